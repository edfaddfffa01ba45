"""Snapshot and restore of a kernel whose memory is full.

Workload: a machine of 2^18 frames (1 GiB) and 64 Ki pages of swap, 48
processes that each map 16 MiB, touch all of it (half of the accesses
writes) and fork a child that writes a quarter of it, copy on write;
run to t = 200 ms, when about 226,000 frames are in use and nearly 1,000
of them are page tables.  Timed, in the same run:

- baseline: the run that built that state (spawn and run to 200 ms);
- ``k.snapshot()``;
- ``pk.Kernel.restore(data)``, which checks the whole memory system it
  read (csrc/vm/pk_vm_check.c) before it returns.

Reported: median seconds of each over the rounds, their ratios to the
baseline, and the snapshot's size against the C memory of the kernel
(``k.stats.memory_bytes``).  Before timing, the restored kernel's digest
and memory counters after 50 ms more are checked against the original's.
"""
from __future__ import annotations

import os
import statistics
import time

import pytest

import pykernel as pk
from conftest import time_snapshot_restore
from pykernel import op

FRAMES = 1 << 18
PAGES = 4096                 # per process
PROCS = 48
CUT = 200_000_000
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "5"))


def _full_kernel() -> tuple[pk.Kernel, float]:
    k = pk.Kernel(cpus=4, memory=pk.Memory(frames=FRAMES, swap=1 << 16), seed=1)
    prog = pk.Program.script("big", [
        op.map(0x40_0000, PAGES * 4096),
        op.touch_range(0x40_0000, PAGES * 4096, write_ratio=0.5),
        op.fork([op.touch_range(0x40_0000, PAGES // 4 * 4096, write_ratio=1.0),
                 op.compute(10**9)]),
        op.compute(10**9)])
    t0 = time.perf_counter()
    k.spawn_many(prog, PROCS)
    k.run(until=CUT)
    return k, time.perf_counter() - t0


@pytest.mark.benchmark(group="snapshot")
def test_snapshot_restore_full_memory(benchmark, pk_results):
    """Snapshot and restore times of a kernel with 1 GiB of memory in use,
    against the time of the run that built it, and the snapshot's size."""
    k, built = _full_kernel()
    builds = [built]
    data = k.snapshot()
    copy = pk.Kernel.restore(data)
    k.run(until=CUT + 50_000_000)
    copy.run(until=CUT + 50_000_000)
    assert copy.digest() == k.digest() and copy.memory_stats == k.memory_stats
    del copy
    k, _ = _full_kernel()
    snaps, restores, size = time_snapshot_restore(k, ROUNDS)
    for _ in range(max(ROUNDS - 1, 0)):
        builds.append(_full_kernel()[1])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    s = k.memory_stats
    result = {"build": statistics.median(builds), "snapshot": statistics.median(snaps),
              "restore": statistics.median(restores), "bytes": size,
              "memory_bytes": k.stats.memory_bytes, "frames_used": s.frames - s.free,
              "page_tables": s.page_table_pages}
    benchmark.extra_info.update(result)
    pk_results[("snapshot-memory", FRAMES)] = result
