"""Tracing's cost: the same workload with tracing on and off.

10,000 script threads `loop(LARGE, [compute(Q)])`, RoundRobin(Q), one
CPU, zero costs (the script row of test_switch.py).  Each timed round
runs a fresh kernel (built and warmed outside the timed part) for
S_TRACE switches; with tracing on, its buffer holds every event of the
round (two per switch: switch-out and switch-in), so nothing is dropped
and the cost measured includes growing the buffer.  Target: tracing on
costs at most 2x (rate off / rate on <= 2)."""
from __future__ import annotations

import os
import statistics
import time

import pytest

import pykernel as pk

QUANTUM = 1_000
LARGE = 10**15
N = 10_000
S_TRACE = 1_000_000
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "5"))


def _kernel(trace) -> pk.Kernel:
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=QUANTUM), costs=pk.Costs.zero(),
                  trace=trace)
    k.spawn_many(pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])]), N)
    k.run(until=N * QUANTUM)
    return k


def _rate(trace) -> float:
    rates = []
    for _ in range(ROUNDS + 1):                      # the first round warms up
        k = _kernel(trace)
        t0 = time.perf_counter()
        r = k.run(until=k.now + S_TRACE * QUANTUM)
        rates.append(r.switches / (time.perf_counter() - t0))
        if trace:
            assert k.trace.dropped == 0
    return statistics.median(rates[1:])


@pytest.mark.benchmark(group="trace")
def test_tracing_on_against_off(benchmark, pk_results):
    """Switches per second with tracing off and on, same workload, same run."""
    off = _rate(False)
    on = _rate(4 * S_TRACE)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    benchmark.extra_info.update({"off": off, "on": on, "ratio": off / on})
    pk_results[("trace", N)] = {"off": off, "on": on}
