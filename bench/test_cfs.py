"""Context-switch throughput of pykernel under CFS (csrc/sched/pk_sched_cfs.c).

Workload: the same CPU-bound script threads as bench/test_switch.py,
``loop(LARGE, [compute(Q)])`` with Q = 1,000 ns and zero switch cost, under
``CFS(latency=8 * Q, min_granularity=Q, wakeup_granularity=Q,
scale="none")``: with more than 8 runnable threads per CPU every slice is
min_granularity = Q, so every compute ends with a context switch, as under
RoundRobin(Q). Each switch charges vruntime, requeues the thread in vruntime
order and picks the smallest.

- cfs:        N threads on ONE CPU (N = 1,000 and 1,000,000).
- cfs-64cpu:  64 CPUs with per-CPU run queues, 10,000 threads spread over
              them; the rate counts switches on all CPUs.
- cfs-mixed:  1,000,000 threads on one CPU with nice -1, 0 and 1 in turn.
              Their vruntimes advance by different amounts per slice, so the
              queue order keeps changing and many requeued threads (about
              four in ten) go through the vruntime heap (pk_heap.h). With
              equal weights (the cfs rows) a requeued thread always has the
              largest vruntime and is appended to the queue's sorted run in
              O(1) instead (see pk_sched_cfs.c); this row shows the heap.

Warm-up (not timed): 10 rounds, i.e. until each thread has been dispatched
about 10 times. With START_DEBIT the first 8 threads spawned start 8 Q .. Q
of vruntime behind, so the first thread only runs in round 8; after that
the queue is in its steady state. Timed rounds then continue the same
simulation for a fixed number of switches. The figure is simulated
switches per wall-clock second (median over the rounds), recorded in
``benchmark.extra_info`` and in the session summary (bench/conftest.py).

No timing assertions: benchmarks report, they never fail on speed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import pykernel as pk

try:
    from test_switch import LARGE, QUANTUM, ROUNDS, _measure
except ImportError:  # --import-mode=importlib does not put bench/ on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_switch import LARGE, QUANTUM, ROUNDS, _measure

S_SWITCHES = 4_000_000           # switches per timed round
WARMUP_ROUNDS_OF_THREADS = 10    # each thread dispatched ~10 times before timing


def _cfs() -> pk.sched.CFS:
    return pk.sched.CFS(latency=8 * QUANTUM, min_granularity=QUANTUM,
                        wakeup_granularity=QUANTUM, scale="none")


def _spin() -> pk.Program:
    return pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])])


def _warm(k: pk.Kernel, n: int, cpus: int) -> pk.RunResult:
    warm = k.run(until=WARMUP_ROUNDS_OF_THREADS * (n // cpus) * QUANTUM)
    assert warm.reason == "until" and warm.switches >= WARMUP_ROUNDS_OF_THREADS * n * 8 // 10, warm
    return warm


def _bench(benchmark, pk_results, workload, n, cpus, k):
    warm = _warm(k, n, cpus)
    rate, per_round, rates = _measure(
        benchmark, lambda until: k.run(until=until).switches,
        lambda: (k.now + S_SWITCHES * QUANTUM // cpus,), ROUNDS)
    benchmark.extra_info.update({
        "workload": workload, "threads": n, "cpus": cpus, "quantum_ns": QUANTUM,
        "scheduler": repr(k.scheduler), "switches_per_round": per_round,
        "switches_per_second": rate, "switches_per_second_by_round": rates,
        "warmup_switches": warm.switches, "kernel_memory_bytes": k.stats.memory_bytes,
    })
    pk_results[(workload, n)] = {"rate": rate, "switches": per_round, "rounds": len(rates)}


@pytest.mark.benchmark(group="switch: CFS, one CPU")
@pytest.mark.parametrize("n", [1_000, 1_000_000], ids=lambda n: f"N={n}")
def test_cfs_one_cpu(benchmark, pk_results, n):
    """N equal CPU-bound script threads on one CPU under CFS."""
    k = pk.Kernel(cpus=1, scheduler=_cfs(), costs=pk.Costs.zero())
    k.spawn_many(_spin(), n)
    _bench(benchmark, pk_results, "cfs", n, 1, k)


@pytest.mark.benchmark(group="switch: CFS, one CPU")
def test_cfs_one_cpu_mixed_nice(benchmark, pk_results):
    """1,000,000 threads with nice -1, 0, 1 in turn: requeues go through the heap."""
    n = 1_000_000
    k = pk.Kernel(cpus=1, scheduler=_cfs(), costs=pk.Costs.zero())
    prog = _spin()
    for i in range(3):
        k.spawn_many(prog, n // 3 + (i < n % 3), nice=i - 1)
    _bench(benchmark, pk_results, "cfs-mixed", n, 1, k)


@pytest.mark.benchmark(group="switch: CFS, 64 CPUs")
def test_cfs_64_cpus(benchmark, pk_results):
    """10,000 CPU-bound script threads on 64 CPUs with per-CPU run queues."""
    n, cpus = 10_000, 64
    k = pk.Kernel(cpus=cpus, scheduler=_cfs(), costs=pk.Costs.zero())
    k.spawn_many(_spin(), n)
    _bench(benchmark, pk_results, "cfs-64cpu", n, cpus, k)
    busy = [c.busy for c in k.stats.cpus]
    assert min(busy) > 0.99 * max(busy), "some CPU idled: the threads did not spread"
