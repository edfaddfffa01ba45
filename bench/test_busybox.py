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
