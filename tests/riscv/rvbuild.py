"""Compile the RISC-V test programs in tests/riscv/progs/ into a cache.

Each ``progs/NAME.c`` becomes one static RV64 executable. Programs whose
name ends in ``_fs`` are freestanding (``-nostdlib -ffreestanding``, their
own ``_start`` and system-call wrappers from ``freestanding.h``); the others
link static glibc. A line ``// cflags: ...`` in a source adds flags, a line
``// libs: ...`` libraries after it.

The output file is named after a hash of everything that determines it
(compiler identity, flags, the source and the shared header), so a build
whose inputs did not change is skipped. The cache folder is
``$PK_RISCV_CACHE`` if set, else ``pykernel-riscv-<uid>`` in the system's
temporary folder; it is never committed.

Run ``python tests/riscv/rvbuild.py`` to build every program and print the
paths (CI does this once before the test runs).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROGS = Path(__file__).resolve().parent / "progs"
CC = "riscv64-linux-gnu-gcc"
QEMU = "qemu-riscv64"
HEADER = PROGS / "freestanding.h"

COMMON = ["-O2", "-Wall", "-Wextra", "-static", "-fno-pie", "-no-pie"]
FREESTANDING = ["-nostdlib", "-ffreestanding", "-fno-stack-protector",
                "-march=rv64imac_zicsr", "-mabi=lp64"]
GLIBC: list[str] = []


def missing_tools() -> str | None:
    """Why RISC-V programs cannot be built and run here, or None."""
    gone = [t for t in (CC, QEMU) if shutil.which(t) is None]
    if gone:
        return (f"{' and '.join(gone)} not found: install the Debian packages "
                f"gcc-riscv64-linux-gnu and qemu-user")
    return None


def cache_dir() -> Path:
    """The folder compiled programs are kept in."""
    env = os.environ.get("PK_RISCV_CACHE")
    path = Path(env) if env else Path(tempfile.gettempdir()) / f"pykernel-riscv-{os.getuid()}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def programs() -> list[str]:
    """Names of all test programs (source files without ``.c``)."""
    return sorted(p.stem for p in PROGS.glob("*.c"))


def flags(name: str) -> list[str]:
    """Compiler flags for program ``name``."""
    src = (PROGS / f"{name}.c").read_text()
    extra = []
    for line in src.splitlines():
        if line.startswith("// cflags:"):
            extra += line.split(":", 1)[1].split()
    kind = FREESTANDING if name.endswith("_fs") else GLIBC
    return COMMON + kind + extra


def libs(name: str) -> list[str]:
    """Libraries linked after the source: libgcc for freestanding programs,
    and those a line ``// libs: ...`` in the source names."""
    extra = []
    for line in (PROGS / f"{name}.c").read_text().splitlines():
        if line.startswith("// libs:"):
            extra += line.split(":", 1)[1].split()
    return (["-lgcc"] if name.endswith("_fs") else []) + extra


@functools.lru_cache(maxsize=None)
def _compiler_identity() -> str:
    return subprocess.run([CC, "--version"], capture_output=True, text=True,
                          check=True).stdout


def build(name: str) -> Path:
    """Path of the compiled program ``name``, compiling it if needed."""
    src = PROGS / f"{name}.c"
    if not src.is_file():
        raise FileNotFoundError(f"no test program {src}")
    args = flags(name)
    h = hashlib.sha256()
    for part in (_compiler_identity(), " ".join(args + libs(name)), src.read_text(), HEADER.read_text()):
        h.update(part.encode())
        h.update(b"\0")
    out = cache_dir() / f"{name}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{name}-")
    os.close(fd)
    try:
        cmd = [CC, *args, "-o", tmp, str(src), *libs(name)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"compiling {src.name} failed:\n{' '.join(cmd)}\n{res.stderr}")
        os.replace(tmp, out)            # atomic: concurrent builds agree
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


# The official riscv-tests (isa/rv64u*): their sources stay outside the
# repository (``$PK_RISCV_TESTS``, else ``../shared/riscv/riscv-tests`` from
# the repository's root); the test environment is ours (isa/riscv_test.h).
ISA_ENV = Path(__file__).resolve().parent / "isa" / "riscv_test.h"
ISA_SUITES = ("rv64ui", "rv64um", "rv64ua", "rv64uc", "rv64uf", "rv64ud")
# one segment readable, writable and executable (-N), as the bare-machine
# environments have it: rv64ui/fence_i rewrites its own instructions
ISA_FLAGS = ["-march=rv64gc", "-mabi=lp64d", "-mno-relax", "-static", "-nostdlib",
             "-nostartfiles", "-Wl,--no-relax", "-Wl,-N"]


def isa_root() -> Path:
    """Where the riscv-tests sources are (it may not exist)."""
    env = os.environ.get("PK_RISCV_TESTS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "riscv" / "riscv-tests"


def missing_isa() -> str | None:
    """Why the riscv-tests cannot be built here, or None."""
    root = isa_root()
    if not (root / "isa" / "macros" / "scalar" / "test_macros.h").is_file():
        return (f"riscv-tests sources not found at {root}: set PK_RISCV_TESTS to a "
                f"checkout of github.com/riscv-software-src/riscv-tests")
    return missing_tools()


def isa_tests() -> list[tuple[str, str]]:
    """(suite, test) of every riscv-tests source present, e.g. ("rv64ui", "add")."""
    root = isa_root() / "isa"
    return [(suite, p.stem) for suite in ISA_SUITES for p in sorted((root / suite).glob("*.S"))]


def build_isa(suite: str, test: str) -> Path:
    """Path of riscv-tests ``isa/<suite>/<test>.S`` built with our
    environment, compiling it if needed (cached like the programs)."""
    root = isa_root() / "isa"
    src = root / suite / f"{test}.S"
    macros = root / "macros" / "scalar"
    args = ISA_FLAGS + [f"-I{ISA_ENV.parent}", f"-I{macros}"]
    h = hashlib.sha256()
    for part in (_compiler_identity(), " ".join(ISA_FLAGS), src.read_text(),
                 ISA_ENV.read_text(), (macros / "test_macros.h").read_text()):
        h.update(part.encode())
        h.update(b"\0")
    out = cache_dir() / f"{suite}-{test}-{h.hexdigest()[:16]}"
    if out.exists():
        return out
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{suite}-{test}-")
    os.close(fd)
    try:
        cmd = [CC, *args, "-o", tmp, str(src)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode:
            raise RuntimeError(f"compiling {src} failed:\n{' '.join(cmd)}\n{res.stderr}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def main(argv: list[str]) -> int:
    why = missing_tools()
    if why:
        print(why, file=sys.stderr)
        return 1
    for name in argv or programs():
        print(build(name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
