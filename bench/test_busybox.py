"""A BusyBox shell pipeline of three processes (docs/userland.md, "A shell
on a small root file system").

``sh -c 'seq 1 50000 | sort -rn | head -1'``: the shell forks three
children, each execs BusyBox from the kernel's file system; seq writes
288,894 bytes into the first pipe, sort its first line into the second,
which head reads and exits (sort may then get SIGPIPE). Reported: the simulated time of the run
(``k.now``, the kernel's default costs), the host CPU seconds of
``k.run()`` (user + system of this process; wall time is stretched on a
shared machine), and the processes made. The output is checked
(``50000``); the binary is found at ``$PK_BUSYBOX``, else
``../shared/riscv/busybox``, and the benchmark is skipped without it. No
timing assertions."""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

import pykernel as pk

ROOT = Path(__file__).resolve().parents[1]
RV = Path(os.environ.get("PK_BUSYBOX", ROOT.parent / "shared" / "riscv" / "busybox"))
SCRIPT = "seq 1 50000 | sort -rn | head -1"
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "3"))


def once(busybox: bytes):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, mode=0o755)
    for applet in ("sh", "seq", "sort", "head"):
        k.fs.symlink("busybox", f"/bin/{applet}")
    sh = k.spawn("/bin/sh", argv=["sh", "-c", SCRIPT], env={"PATH": "/bin"}, cwd="/tmp")
    t0 = time.process_time()
    k.run()
    cpu = time.process_time() - t0
    assert (sh.exit_code, bytes(sh.terminal)) == (0, b"50000\n")
    return cpu, k.now, len(k.processes), k.digest()


def test_busybox_three_process_pipeline(benchmark):
    if not RV.is_file():
        pytest.skip(f"BusyBox not found at {RV}: set PK_BUSYBOX")
    busybox = RV.read_bytes()
    runs = benchmark.pedantic(lambda: [once(busybox) for _ in range(ROUNDS)],
                              rounds=1, iterations=1)
    assert len({(now, n, d) for _, now, n, d in runs}) == 1     # the same run each time
    cpu = statistics.median(c for c, *_ in runs)
    _, now, nprocs, _ = runs[0]
    benchmark.extra_info.update({"simulated_seconds": now / 1e9, "host_cpu_seconds": cpu,
                                 "processes": nprocs})
    print(f"\nsh -c '{SCRIPT}': {nprocs} processes, {now / 1e6:.1f} ms simulated, "
          f"{cpu:.3f} s host CPU (median of {ROUNDS}); simulated / host = {now / 1e9 / cpu:.2f}")


# ---- fork + exec + wait: a shell loop, in pykernel and under qemu-riscv64 ----------------

QEMU = "qemu-riscv64"
LOOPS = int(os.environ.get("PK_BENCH_EXEC_LOOPS", "200"))


def loop_script(n: int, command: str) -> str:
    """A shell loop that runs `command` (a path: fork + execve) n times."""
    return f"i=0; while [ $i -lt {n} ]; do {command} true; i=$((i+1)); done"


def pk_loop(busybox: bytes, n: int) -> float:
    """Host CPU seconds of k.run() for the loop with n iterations of
    /bin/busybox true, each a fork, an execve of BusyBox and a wait."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, mode=0o755)
    k.fs.symlink("busybox", "/bin/sh")
    sh = k.spawn("/bin/sh", argv=["sh", "-c", loop_script(n, "/bin/busybox")],
                 env={"PATH": "/bin"}, cwd="/tmp")
    t0 = time.process_time()
    k.run()
    cpu = time.process_time() - t0
    assert sh.exit_code == 0 and len(k.processes) == n + 1, (sh.state, bytes(sh.terminal))
    return cpu


def qemu_loop(qemu: str, n: int) -> float:
    """CPU seconds (user + system of qemu and everything it started) of
    BusyBox's shell under qemu-riscv64 running the loop with n iterations
    of `qemu-riscv64 busybox true`: the guest shell forks (qemu forks the
    host process), the child execs the host's qemu-riscv64 (qemu-user
    cannot exec a RISC-V binary itself without binfmt_misc), which loads
    and runs BusyBox's `true` from the start, and the shell waits."""
    import resource
    import subprocess
    u0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([qemu, str(RV), "sh", "-c", loop_script(n, f"{qemu} {RV}")],
                       capture_output=True, check=True, env={"PATH": "/usr/bin:/bin"})
    u1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert r.stdout == b"" and r.stderr == b""
    return (u1.ru_utime + u1.ru_stime) - (u0.ru_utime + u0.ru_stime)


def test_busybox_fork_exec_wait_per_second(benchmark):
    import shutil
    if not RV.is_file():
        pytest.skip(f"BusyBox not found at {RV}: set PK_BUSYBOX")
    busybox = RV.read_bytes()

    def measure():
        base = min(pk_loop(busybox, 0) for _ in range(2))
        cpu = min(pk_loop(busybox, LOOPS) for _ in range(2))
        return (cpu - base) / LOOPS
    per = benchmark.pedantic(measure, rounds=1, iterations=1)
    info = {"busybox_fork_exec_wait_per_second": 1 / per}
    lines = [f"\nsh loop of /bin/busybox true (fork + execve + wait), pykernel: "
             f"{1 / per:,.0f}/s ({LOOPS} iterations, host CPU, the loop without them subtracted)"]
    qemu = shutil.which(QEMU)
    if qemu:
        qbase = min(qemu_loop(qemu, 0) for _ in range(2))
        q = (min(qemu_loop(qemu, LOOPS) for _ in range(2)) - qbase) / LOOPS
        info["qemu_busybox_fork_exec_wait_per_second"] = 1 / q
        info["pykernel_over_qemu_rate"] = q / per
        lines.append(f"qemu-riscv64, the same loop running `qemu-riscv64 busybox true`: "
                     f"{1 / q:,.0f}/s (CPU of qemu and its children, a new qemu per exec); "
                     f"pykernel / qemu rate = {q / per:.2f}")
    benchmark.extra_info.update(info)
    print("\n".join(lines))
