"""Shared machinery of the RISC-V tests (each test module imports what
it needs from here, the ``program`` fixture included; there is no
conftest.py in this folder, so ``from conftest import ...`` in the other
tests keeps naming tests/conftest.py): running one executable under
``qemu-riscv64`` (the reference) and under pykernel, with the outcome of
each run in the same form so the two can be compared field by field.

Without the cross compiler or qemu-user, the tests that need them are
skipped with the reason; with ``PK_REQUIRE_RISCV=1`` in the environment
(CI sets it) they fail instead, so they cannot silently vanish.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

import rvbuild as build
import pykernel as pk

# signals qemu-riscv64 reports, and pykernel's kill reason for each
KILL_REASON = {11: "segmentation fault", 4: "illegal instruction", 6: "aborted"}


@dataclass(frozen=True)
class Outcome:
    """How a run ended and what it wrote."""

    state: str                  # "exited" or "killed"
    exit_code: int | None       # for "exited"
    kill_reason: str | None     # for "killed"
    stdout: bytes
    stderr: bytes


def require(tool_problem: str | None) -> None:
    """Skip (or, with PK_REQUIRE_RISCV=1, fail) when a tool is missing."""
    if tool_problem is None:
        return
    if os.environ.get("PK_REQUIRE_RISCV") == "1":
        pytest.fail(f"PK_REQUIRE_RISCV=1 but {tool_problem}", pytrace=False)
    pytest.skip(tool_problem)


def need_qemu() -> None:
    require(None if shutil.which(build.QEMU) else
            f"{build.QEMU} not found: install the Debian package qemu-user")


def need_toolchain() -> None:
    require(build.missing_tools())


def need_binutils() -> None:
    gone = [t for t in ("riscv64-linux-gnu-as", "riscv64-linux-gnu-objdump")
            if shutil.which(t) is None]
    require(f"{' and '.join(gone)} not found: install the Debian package "
            f"binutils-riscv64-linux-gnu" if gone else None)


def _no_core_dumps():
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_qemu(elf: Path | bytes, argv: list[str], stdin: bytes = b"") -> Outcome:
    """Run ``elf`` under qemu-riscv64 with ``argv`` (argv[0] included), an
    empty environment and ``stdin``."""
    need_qemu()
    with tempfile.TemporaryDirectory(prefix="pk-qemu-") as tmp:
        if isinstance(elf, bytes):
            path = Path(tmp) / "prog"
            path.write_bytes(elf)
            path.chmod(0o755)
        else:
            path = Path(elf)
        res = subprocess.run([build.QEMU, "-0", argv[0], str(path), *argv[1:]],
                             input=stdin, capture_output=True, env={}, cwd=tmp,
                             timeout=120, preexec_fn=_no_core_dumps)
    # qemu-user reports an uncaught guest signal on its own stderr
    err = b"".join(line for line in res.stderr.splitlines(keepends=True)
                   if not line.startswith(b"qemu: "))
    if res.returncode >= 0:
        return Outcome("exited", res.returncode, None, res.stdout, err)
    sig = -res.returncode
    reason = KILL_REASON.get(sig, f"signal {sig}")
    return Outcome("killed", None, reason, res.stdout, err)


def pk_kernel() -> "pk.Kernel":
    """The kernel the RISC-V programs run on: paging with Sv39 tables."""
    return pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))


def outcome(p) -> Outcome:
    """The :class:`Outcome` of a finished pykernel process."""
    reason = p.kill_reason
    if reason == "signal":                  # the form run_qemu gives other signals
        reason = f"signal {int(p.term_signal)}"
    return Outcome(p.state, p.exit_code, reason, bytes(p.stdout), bytes(p.stderr))


def run_pykernel(elf: Path | bytes, argv: list[str], stdin: bytes = b"") -> Outcome:
    """Run ``elf`` as the only process of a fresh pykernel kernel."""
    prog = pk.Program.elf(str(elf) if isinstance(elf, Path) else elf)
    k = pk_kernel()
    p = k.spawn(prog, argv=argv, stdin=stdin)
    k.run()
    return outcome(p)


@pytest.fixture(scope="session")
def program():
    """``program(name)`` -> path of the compiled test program ``name``
    (skipped, or failed under PK_REQUIRE_RISCV=1, without the toolchain)."""
    def get(name: str) -> Path:
        need_toolchain()
        return build.build(name)
    return get
