"""Compile the RISC-V test programs in tests/riscv/progs/ into a cache.

Each ``progs/NAME.c`` becomes one static RV64 executable. Programs whose
name ends in ``_fs`` are freestanding (``-nostdlib -ffreestanding``, their
own ``_start`` and system-call wrappers from ``freestanding.h``); the others
link static glibc. A line ``// cflags: ...`` in a source adds flags.

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
    """Libraries linked after the source (libgcc for freestanding programs)."""
    return ["-lgcc"] if name.endswith("_fs") else []


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
