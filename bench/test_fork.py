"""Process creation by machine code (docs/userland.md, "Processes: fork
and exec").

bench/riscv_fork.c (static glibc, compiled here) touches M MiB of heap
and then forks N children that exit at once, waiting for each:

- fork + wait with 1 MiB and with 64 MiB touched: host CPU seconds per
  fork, the run without forks (the touching) subtracted; the ratio says
  how far copy-on-write keeps a fork's cost from the memory's size (fork
  shares the leaf page tables, so it copies one interior entry per 2 MiB
  and no page-table entry; a child that exits at once never copies one).
  ``SIZE_FORKS`` forks per run, so that the forks outweigh the noise of
  touching 64 MiB;
- fork + wait per second against ``qemu-riscv64`` running the same
  binary (qemu forks the host process);
- fork + execve + wait per second in pykernel (the child execs the same
  binary from the kernel's file system). qemu-user runs a RISC-V execve
  only through binfmt_misc, so that rate has no qemu counterpart here.

CPU time, not wall time (shared machines). Skipped without the cross
compiler. No timing assertions."""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import pykernel as pk

HERE = Path(__file__).resolve().parent
CC, QEMU = "riscv64-linux-gnu-gcc", "qemu-riscv64"
FORKS = 200
SIZE_FORKS = 2000


@pytest.fixture(scope="module")
def binary():
    if shutil.which(CC) is None:
        pytest.skip(f"{CC} not found (Debian package gcc-riscv64-linux-gnu)")
    out = Path(tempfile.mkdtemp()) / "riscv_fork"
    subprocess.run([CC, "-O2", "-static", "-o", str(out), str(HERE / "riscv_fork.c")], check=True)
    return out


def cpu_run(binary, *argv):
    """CPU seconds of k.run() for riscv_fork with argv, and its stdout."""
    k = pk.Kernel(memory=pk.Memory(frames=1 << 16), mmu=pk.MMU(format="sv39"))
    k.fs.write("/riscv_fork", binary.read_bytes(), mode=0o755)
    p = k.spawn("/riscv_fork", argv=["riscv_fork", *argv])
    t0 = time.process_time()
    k.run()
    cpu = time.process_time() - t0
    assert p.exit_code == 0, (p.state, p.kill_reason, p.stderr)
    return cpu, p.stdout


def per_fork(binary, mib, *extra, forks=FORKS):
    base, _ = min(cpu_run(binary, str(mib), "0") for _ in range(2))
    cpu, out = min(cpu_run(binary, str(mib), str(forks), *extra) for _ in range(2))
    assert out == b"0\n"
    return (cpu - base) / forks


def test_fork_cost_against_memory_size(benchmark, binary):
    def measure():
        return per_fork(binary, 1, forks=SIZE_FORKS), per_fork(binary, 64, forks=SIZE_FORKS)
    small, big = benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update({"fork_1mib_seconds": small, "fork_64mib_seconds": big})
    print(f"\nfork + wait, machine code: {small * 1e6:.0f} us with 1 MiB touched, "
          f"{big * 1e6:.0f} us with 64 MiB; 64 MiB / 1 MiB = {big / small:.1f} "
          f"(memory 64 x)")


def test_fork_exec_wait_per_second(benchmark, binary):
    def measure():
        fw = per_fork(binary, 1)
        few = per_fork(binary, 1, "/riscv_fork")
        return fw, few
    fw, few = benchmark.pedantic(measure, rounds=1, iterations=1)
    info = {"fork_wait_per_second": 1 / fw, "fork_exec_wait_per_second": 1 / few}
    lines = [f"\npykernel: fork + wait {1 / fw:,.0f}/s, fork + execve + wait {1 / few:,.0f}/s "
             f"(1 MiB touched)"]
    if shutil.which(QEMU):
        def qemu(n):
            u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            r = subprocess.run([QEMU, str(binary), "1", str(n)], capture_output=True, check=True)
            u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            return (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime), r.stdout
        base = min(qemu(0)[0] for _ in range(2))
        runs = [qemu(FORKS) for _ in range(2)]
        assert all(out == b"0\n" for _, out in runs)
        q = (min(c for c, _ in runs) - base) / FORKS
        info["qemu_fork_wait_per_second"] = 1 / q
        lines.append(f"qemu-riscv64, fork + wait: {1 / q:,.0f}/s (CPU time of qemu and its "
                     f"children); pykernel / qemu rate = {q / fw:.2f}")
    benchmark.extra_info.update(info)
    print("\n".join(lines))
