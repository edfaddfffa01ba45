"""Snapshot and restore of a kernel with a million threads.

Workload: N = 1,000,000 script threads ``loop(LARGE, [compute(Q)])``
under RoundRobin(Q) on one CPU, zero costs (the script row of
test_switch.py), run until every thread has been dispatched once, so the
run queue holds a million threads in a definite order.  Timed, in the
same run:

- baseline: ``k.spawn_many(prog, N)`` into an empty kernel;
- ``k.snapshot()`` (bytes in Python's hands);
- ``pk.Kernel.restore(data)`` (a kernel ready to run).

Reported: median seconds of each over the rounds, their ratios to the
spawn baseline, and the snapshot's size against the C memory of the
kernel (``k.stats.memory_bytes``).  Targets (issue 8): snapshot and
restore <= 1 s each, size <= 1.2x the C memory.  Before timing, the
restored kernel's digest after 1,000 more switches is checked against
the original's.
"""
from __future__ import annotations

import os
import statistics
import time

import pytest

import pykernel as pk
from conftest import time_snapshot_restore

QUANTUM = 1_000
LARGE = 10**15
N = 1_000_000
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "5"))


def _warm_kernel() -> tuple[pk.Kernel, float]:
    prog = pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])])
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=QUANTUM), costs=pk.Costs.zero())
    t0 = time.perf_counter()
    k.spawn_many(prog, N)
    spawn = time.perf_counter() - t0
    k.run(until=N * QUANTUM)
    return k, spawn


@pytest.mark.benchmark(group="snapshot")
def test_snapshot_restore_million_threads(benchmark, pk_results):
    """Snapshot and restore times of a million-thread kernel, against the
    time to spawn those threads, and the snapshot's size."""
    k, spawn = _warm_kernel()
    spawns = [spawn]
    data = k.snapshot()
    copy = pk.Kernel.restore(data)
    k.run(until=k.now + 1_000 * QUANTUM)
    copy.run(until=copy.now + 1_000 * QUANTUM)
    assert copy.digest() == k.digest()
    del copy, data
    snaps, restores, size = time_snapshot_restore(k, ROUNDS)
    for _ in range(max(ROUNDS - 1, 0)):        # more baseline rounds, each a fresh kernel
        spawns.append(_warm_kernel()[1])
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    result = {"spawn": statistics.median(spawns), "snapshot": statistics.median(snaps),
              "restore": statistics.median(restores), "bytes": size,
              "memory_bytes": k.stats.memory_bytes}
    benchmark.extra_info.update(result)
    pk_results[("snapshot", N)] = result
