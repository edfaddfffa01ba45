"""Scheduling decisions per second of a policy written in Python.

Workload (as bench/test_switch.py): N CPU-bound script threads
``loop(LARGE, [compute(Q)])`` on ONE CPU, round robin with quantum Q and
zero switch cost, so every quantum expiry is one scheduling decision: the
kernel (csrc/sched/pk_sched_host.c) hands the expired thread back to the policy
and asks it for the next one -- one ``pick_next()`` call, one context
switch.

- pypolicy:        round robin written in Python (a deque of tids) with
  ``slice`` a plain int: one crossing from C into Python per decision
  (``enqueue`` + ``pick_next`` together).
- pypolicy_slice:  the same with ``slice(tid)`` a method: one more
  crossing per decision.

Each benchmark also times the built-in ``pk.sched.RoundRobin`` on the same
workload in the same test (plain timed rounds, same count), and records
the ratio. Kernels are built and warmed up (every thread dispatched once)
outside the timed part; the rounds continue the same simulation. The
figure is decisions (= pick_next calls = switches, checked before timing)
per wall-clock second, median over the rounds.

No timing assertions: benchmarks report, they never fail on speed.
"""

from __future__ import annotations

import collections
import os
import statistics
import time

import pytest

import pykernel as pk

QUANTUM = 1_000
LARGE = 10**15
S_PYTHON = 300_000              # decisions per timed round, Python policy
S_BUILTIN = 3_000_000           # decisions per timed round, built-in RoundRobin
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "5"))
WARMUP_ROUNDS = 1
NS = [10, 10_000]             # the N at which test_switch.py runs SimPy and the floor


class PyRoundRobin(pk.sched.Policy):
    """Round robin in Python; ``slice`` is an int (no call per dispatch)."""

    def __init__(self, quantum):
        self.queue = collections.deque()
        self.slice = quantum

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()


class PyRoundRobinSliceHook(PyRoundRobin):
    """The same with a slice(tid) method."""

    def __init__(self, quantum):
        super().__init__(quantum)
        del self.slice
        self.quantum = quantum

    def slice(self, tid):
        return self.quantum


VARIANTS = {"pypolicy": PyRoundRobin, "pypolicy_slice": PyRoundRobinSliceHook}


def _warm_kernel(policy, n: int) -> pk.Kernel:
    k = pk.Kernel(cpus=1, scheduler=policy, costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])]), n)
    warm = k.run(until=n * QUANTUM)               # every thread dispatched once
    assert warm.reason == "until" and warm.switches == n, warm
    return k


def _decisions_are_switches(cls, n: int) -> None:
    """One pick_next per switch in this workload (checked, not assumed)."""
    picks = [0]

    class Counting(cls):
        def pick_next(self):
            picks[0] += 1
            return super().pick_next()

    k = _warm_kernel(Counting(QUANTUM), n)
    before = picks[0]
    r = k.run(until=k.now + 1_000 * QUANTUM)
    assert picks[0] - before == r.switches == 1_000


def _builtin_rate(n: int) -> float:
    """Median switches/s of the built-in RoundRobin on the same workload."""
    k = _warm_kernel(pk.sched.RoundRobin(quantum=QUANTUM), n)
    k.run(until=k.now + S_BUILTIN * QUANTUM)      # warm-up round
    rates = []
    for _ in range(max(ROUNDS, 1)):
        t0 = time.perf_counter()
        r = k.run(until=k.now + S_BUILTIN * QUANTUM)
        rates.append(r.switches / (time.perf_counter() - t0))
    return statistics.median(rates)


@pytest.mark.benchmark(group="pypolicy: decisions of a policy written in Python")
@pytest.mark.parametrize("variant,n", [("pypolicy", n) for n in NS] + [("pypolicy_slice", 10)],
                         ids=[f"int-slice-N={n}" for n in NS] + ["slice-hook-N=10"])
def test_python_round_robin_decisions(benchmark, pk_results, variant, n):
    cls = VARIANTS[variant]
    _decisions_are_switches(cls, n)
    k = _warm_kernel(cls(QUANTUM), n)
    counts, own = [], []

    def target(until):
        t0 = time.perf_counter()
        counts.append(k.run(until=until).switches)
        own.append(time.perf_counter() - t0)

    benchmark.pedantic(target, setup=lambda: ((k.now + S_PYTHON * QUANTUM,), {}),
                       rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats and stats.stats.data:                # rounds after the warm-up rounds
        times, first = list(stats.stats.data), WARMUP_ROUNDS
    else:                                         # --benchmark-disable: one plain call
        times, first = own, 0
    used = counts[first:first + len(times)]
    assert all(c == S_PYTHON for c in used), used
    rates = [c / t for c, t in zip(used, times)]
    rate = statistics.median(rates)
    builtin = _builtin_rate(n)
    benchmark.extra_info.update({
        "workload": variant, "threads": n, "quantum_ns": QUANTUM,
        "decisions_per_round": S_PYTHON, "decisions_per_second": rate,
        "decisions_per_second_by_round": rates,
        "builtin_round_robin_switches_per_second": builtin,
        "builtin_over_python": builtin / rate,
    })
    pk_results[(variant, n)] = {"rate": rate, "switches": S_PYTHON, "rounds": len(rates),
                                "builtin_rate": builtin}
