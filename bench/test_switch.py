"""Context-switch throughput of pykernel, against SimPy and the bare C floor.

Workload (every benchmark): N CPU-bound threads on ONE CPU under round
robin with quantum Q and zero switch cost, so each quantum expiry is one
context switch.

- script:  ``Program.script("spin", [loop(LARGE, [compute(Q)])])``; every
  switch also runs the C script interpreter (end of compute, ENDLOOP,
  LOOP, next compute).
- python:  ``Program.python("spin", body)`` with ``body`` yielding
  ``ctx.compute(Q)`` forever: one generator step per switch.
- simpy:   the same round robin in SimPy (bench/simpy_baseline.py): one
  CPU handoff per hold of a 1-slot Resource.
- bare:    ``pk_bench_bare_switch(N, S)``: the bare C save/pick/restore
  ring loop (no events, policy or accounting), the floor.
- bare-shuffled: ``pk_bench_bare_switch_shuffled(N, S, seed)``: the same
  over pk_regs records visited in a seeded random order, vector copies.

Each kernel / model is built and warmed up outside the timed part (every
thread dispatched once; for N = 1,000,000 that is a million switches).
Each timed round then continues the same simulation for a fixed number
of switches, so the rounds measure the steady state.  The figure is
simulated switches per wall-clock second (median over the rounds), put
in ``benchmark.extra_info["switches_per_second"]`` and in the summary
table printed at the end of the session (bench/conftest.py).

No timing assertions: benchmarks report, they never fail on speed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import pytest

import pykernel as pk
from pykernel._ffi import lib

try:
    from simpy_baseline import RoundRobinCPU
except ImportError:  # --import-mode=importlib does not put bench/ on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from simpy_baseline import RoundRobinCPU

QUANTUM = 1_000                 # ns: the round-robin quantum and each compute
LARGE = 10**15                  # loop count: the threads never finish
S_SCRIPT = 4_000_000            # switches per timed round, script threads and bare C
S_PYTHON = 500_000              # switches per timed round, Python generator threads
S_SIMPY = 100_000               # CPU handoffs per timed round, SimPy
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "5"))
SLOW_ROUNDS = int(os.environ.get("PK_BENCH_SLOW_ROUNDS", "3"))   # SimPy
WARMUP_ROUNDS = 1
SPAWN_N = 1_000_000

SCRIPT_NS = [10, 10_000, 1_000_000]
PYTHON_NS = [10, 10_000]
SIMPY_NS = [10, 10_000, 100_000]  # not 1,000,000: too slow (SimPy builds 1M generators)
BARE_NS = SCRIPT_NS


@pytest.fixture(autouse=True)
def _suite_meta(pk_results):
    pk_results.setdefault("meta", {"quantum": QUANTUM, "rounds": ROUNDS,
                                   "slow_rounds": SLOW_ROUNDS, "warmup_rounds": WARMUP_ROUNDS})


def _ids(ns):
    return [f"N={n}" for n in ns]


def _round_robin_kernel() -> pk.Kernel:
    return pk.Kernel(cpus=1, scheduler=pk.sched.RoundRobin(quantum=QUANTUM),
                     costs=pk.Costs.zero())


def _spin(ctx):
    while True:
        yield ctx.compute(QUANTUM)


def _measure(benchmark, op, make_args, rounds, baseline=None):
    """Time ``op(*make_args())`` with pytest-benchmark's pedantic mode.

    ``op`` returns the number of switches it did.  ``make_args`` runs
    before each round, outside the timed part.  ``baseline``, if given, is
    a list that ``make_args`` fills with one fixed-overhead time per call,
    subtracted from that round's time (used for the bare C loop, whose
    timed call also allocates and initialises its N contexts).

    Returns (median switches/s, median switches per round, per-round
    rates)."""
    counts, own_times = [], []

    def target(*args):
        t0 = time.perf_counter()
        n = op(*args)
        own_times.append(time.perf_counter() - t0)
        counts.append(n)

    benchmark.pedantic(target, setup=lambda: (make_args(), {}), rounds=rounds,
                       warmup_rounds=WARMUP_ROUNDS, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats and stats.stats.data:                     # rounds after the warm-up rounds
        times, first = list(stats.stats.data), WARMUP_ROUNDS
    else:                                              # --benchmark-disable: one plain call
        times, first = own_times, 0
    counts_used = counts[first:first + len(times)]
    offsets = (baseline[first:first + len(times)] if baseline is not None
               else [0.0] * len(times))
    rates = [c / max(t - o, 1e-9) for c, t, o in zip(counts_used, times, offsets)]
    assert all(c > 0 for c in counts_used), "a timed round did no switches: the workload is broken"
    return statistics.median(rates), statistics.median(counts_used), rates


def _record(benchmark, pk_results, workload, n, rate, per_round, rates, **extra):
    benchmark.extra_info.update({
        "workload": workload,
        "threads": n,
        "quantum_ns": QUANTUM,
        "switches_per_round": per_round,
        "switches_per_second": rate,
        "switches_per_second_by_round": rates,
        **extra,
    })
    pk_results[(workload, n)] = {"rate": rate, "switches": per_round, "rounds": len(rates)}


# ---- pykernel ---------------------------------------------------------------

@pytest.mark.benchmark(group="switch: pykernel script threads")
@pytest.mark.parametrize("n", SCRIPT_NS, ids=_ids(SCRIPT_NS))
def test_script_threads(benchmark, pk_results, n):
    """N script threads `loop(LARGE, [compute(Q)])`, RoundRobin(Q): each
    switch runs the dispatcher and the script interpreter in C."""
    k = _round_robin_kernel()
    prog = pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])])
    k.spawn_many(prog, n)
    warm = k.run(until=n * QUANTUM)                  # every thread dispatched once
    assert warm.reason == "until" and warm.switches == n, warm
    memory = k.stats.memory_bytes

    rate, per_round, rates = _measure(
        benchmark, lambda until: k.run(until=until).switches,
        lambda: (k.now + S_SCRIPT * QUANTUM,), ROUNDS)
    _record(benchmark, pk_results, "script", n, rate, per_round, rates,
            kernel_memory_bytes=memory, warmup_switches=warm.switches)


@pytest.mark.benchmark(group="switch: pykernel Python generator threads")
@pytest.mark.parametrize("n", PYTHON_NS, ids=_ids(PYTHON_NS))
def test_python_threads(benchmark, pk_results, n):
    """N Python-bodied threads yielding ctx.compute(Q) forever: each switch
    is one generator step, which the core drives itself (the upcall,
    csrc/py/pk_upcall.c)."""
    k = _round_robin_kernel()
    prog = pk.Program.python("spin", _spin)
    k.spawn_many(prog, n)
    warm = k.run(until=n * QUANTUM)                  # every generator started
    assert warm.reason == "until" and warm.switches == n, warm

    rate, per_round, rates = _measure(
        benchmark, lambda until: k.run(until=until).switches,
        lambda: (k.now + S_PYTHON * QUANTUM,), ROUNDS)
    _record(benchmark, pk_results, "python", n, rate, per_round, rates,
            warmup_switches=warm.switches)


# ---- baselines -----------------------------------------------------------------

@pytest.mark.benchmark(group="switch: SimPy baseline")
@pytest.mark.parametrize("n", SIMPY_NS, ids=_ids(SIMPY_NS))
def test_simpy_round_robin(benchmark, pk_results, n):
    """The same round robin in SimPy: N processes, 1-slot Resource, each
    holding it for one quantum per request."""
    model = RoundRobinCPU(n, QUANTUM)
    model.warm_up()                                  # every process granted the CPU once

    rate, per_round, rates = _measure(
        benchmark, model.run_handoffs, lambda: (S_SIMPY if n < 100_000 else S_SIMPY // 4,),
        SLOW_ROUNDS)
    _record(benchmark, pk_results, "simpy", n, rate, per_round, rates)


@pytest.mark.benchmark(group="switch: bare C floor")
@pytest.mark.parametrize("n", BARE_NS, ids=_ids(BARE_NS))
def test_bare_c_floor(benchmark, pk_results, n):
    """pk_bench_bare_switch(N, S): save 32 registers + pc + sp + root,
    pick the next context from a ring, restore; no events, no policy.

    The C function allocates and initialises its N contexts inside the
    call, so before each round the same call with 0 switches is timed
    (outside the benchmark) and subtracted from that round: the recorded
    rate is switches / (time(N, S) - time(N, 0))."""
    bare = lib.pk_bench_bare_switch
    setup_times = []

    def make_args():
        t0 = time.perf_counter()
        bare(n, 0)
        setup_times.append(time.perf_counter() - t0)
        return (n, S_SCRIPT)

    def op(count, switches):
        bare(count, switches)
        return switches

    rate, per_round, rates = _measure(benchmark, op, make_args, ROUNDS, baseline=setup_times)
    _record(benchmark, pk_results, "bare", n, rate, per_round, rates,
            setup_seconds_median=statistics.median(setup_times),
            note="rate excludes the allocation of the N contexts (timed separately)")


@pytest.mark.benchmark(group="switch: bare C floor, shuffled records")
@pytest.mark.parametrize("n", BARE_NS, ids=_ids(BARE_NS))
def test_bare_c_floor_shuffled(benchmark, pk_results, n):
    """pk_bench_bare_switch_shuffled(N, S, seed): N records of pk_regs
    (272 bytes, what a pykernel thread saves) plus a link, visited in a
    seeded random cycle, saved and restored by vector copies.  Like the
    dispatcher's control blocks, successive records are not neighbours in
    memory.  Setup (allocation, shuffle) is timed separately and
    subtracted, as for test_bare_c_floor."""
    bare = lib.pk_bench_bare_switch_shuffled
    setup_times = []

    def make_args():
        t0 = time.perf_counter()
        bare(n, 0, 1)
        setup_times.append(time.perf_counter() - t0)
        return (n, S_SCRIPT)

    def op(count, switches):
        bare(count, switches, 1)
        return switches

    rate, per_round, rates = _measure(benchmark, op, make_args, ROUNDS, baseline=setup_times)
    _record(benchmark, pk_results, "bare-shuffled", n, rate, per_round, rates,
            setup_seconds_median=statistics.median(setup_times),
            note="rate excludes the allocation and shuffle of the N records (timed separately)")


# ---- spawning --------------------------------------------------------------

@pytest.mark.benchmark(group="spawn")
def test_spawn_million(benchmark, pk_results):
    """`k.spawn_many(script_prog, 1_000_000)` into a fresh, empty kernel, and
    the C memory the kernel then holds per thread (k.stats.memory_bytes /
    1e6).

    Each round's kernel is destroyed in the round's teardown (outside the
    timed part), so every measured round spawns into an allocator that has
    just released the previous kernel's memory: the steady state of a
    program that builds kernel after kernel.  The first (warm-up) round,
    which may have to get fresh pages from the OS, is reported separately
    as ``first_round_seconds``."""
    prog = pk.Program.script("spin", [pk.op.loop(LARGE, [pk.op.compute(QUANTUM)])])
    own, final = [], []

    def make_args():
        return ([_round_robin_kernel()],)     # a box, so teardown can drop the kernel

    def target(box):
        t0 = time.perf_counter()
        box[0].spawn_many(prog, SPAWN_N)
        own.append(time.perf_counter() - t0)

    def teardown(box):
        s = box[0].stats
        final[:] = [s.memory_bytes, s.threads]
        box.clear()                           # last reference: the core frees it now

    empty = _round_robin_kernel().stats.memory_bytes
    benchmark.pedantic(target, setup=lambda: (make_args(), {}), teardown=teardown,
                       rounds=ROUNDS, warmup_rounds=WARMUP_ROUNDS, iterations=1)
    stats = getattr(benchmark, "stats", None)
    if stats and stats.stats.data:
        times = list(stats.stats.data)
    else:                                     # --benchmark-disable: no setup/teardown either
        times = own
    seconds = statistics.median(times)
    if final:
        total, threads = final
    else:
        k = _round_robin_kernel()
        k.spawn_many(prog, SPAWN_N)
        total, threads = k.stats.memory_bytes, k.stats.threads
        del k
    assert threads == SPAWN_N
    bytes_per_thread = total / SPAWN_N
    benchmark.extra_info.update({
        "threads": SPAWN_N,
        "spawn_seconds": seconds,
        "first_round_seconds": own[0],
        "threads_per_second": SPAWN_N / seconds,
        "memory_bytes": total,
        "bytes_per_thread": bytes_per_thread,
        "empty_kernel_memory_bytes": empty,
        "bytes_per_thread_excluding_empty_kernel": (total - empty) / SPAWN_N,
    })
    pk_results[("spawn", SPAWN_N)] = {"seconds": seconds, "first_round_seconds": own[0],
                                      "memory_bytes": total,
                                      "bytes_per_thread": bytes_per_thread}
