"""Workloads and observations shared by the snapshot tests.

A workload is a function kernel -> None that spawns processes; each
exercises one scheduling policy or feature with a mix of CPU-bound,
io-bound and sleeping threads arriving over time.  ``observe`` collects
everything a user can read about a kernel's past (the digest, clock,
counters, per-process and per-thread statistics, latency histogram, job
log and trace), except ``memory_bytes``, which measures the host memory
of the kernel object itself.
"""

from __future__ import annotations

import dataclasses
import random

import pykernel as pk

S = pk.op

CPU = pk.Program.script("cpu", [S.loop(8, [S.compute(5_000), S.io(3_000)])])
SLEEPER = pk.Program.script("sleeper", [S.loop(6, [S.compute(2_000), S.sleep(7_000), S.yield_()])])
LONG = pk.Program.script("long", [S.compute(60_000)])
SHORT = pk.Program.script("short", [S.compute(9_000), S.exit(3)])


def mixed(k: pk.Kernel, rt: bool = False) -> None:
    """Twelve processes of four programs arriving over 40 us, with
    different nice values, priorities and tickets; with ``rt``, three
    more in the real-time classes."""
    for i in range(12):
        prog = (CPU, SLEEPER, LONG, SHORT)[i % 4]
        k.spawn(prog, at=i * 3_300, nice=(i % 5) - 2, priority=(i * 7) % 140,
                tickets=50 + 25 * (i % 4))
    if rt:
        k.spawn(CPU, at=5_000, policy="fifo", rt_priority=10)
        k.spawn(SLEEPER, at=9_000, policy="rr", rt_priority=10)
        k.spawn(LONG, at=12_000, policy="rr", rt_priority=20)


def periodic(k: pk.Kernel) -> None:
    """Three periodic tasks (one overloaded, so deadlines are missed) and
    a background CPU-bound process."""
    k.spawn(pk.Program.periodic("T1", period=20_000, wcet=6_000, jobs=12))
    k.spawn(pk.Program.periodic("T2", period=30_000, wcet=11_000, deadline=25_000, jobs=8))
    k.spawn(pk.Program.periodic("T3", period=50_000, wcet=16_000, phase=5_000, jobs=5))
    k.spawn(LONG, at=1_000)


def affinity(k: pk.Kernel) -> None:
    """Processes pinned to subsets of four CPUs, plus free ones."""
    for i in range(10):
        prog = (CPU, SLEEPER, LONG)[i % 3]
        mask = ({0}, {1, 2}, {3}, None, {0, 3})[i % 5]
        k.spawn(prog, at=i * 2_000, affinity=mask, nice=i % 3)


def observe(k: pk.Kernel) -> dict:
    """Everything readable about ``k``'s past and present."""
    st = k.stats
    out = {
        "digest": k.digest(), "now": k.now,
        "stats": dataclasses.replace(st, memory_bytes=0),
        "table": k.processes.table(),
        "latency": k.latency,
        "jobs": k.jobs, "jobs_completed": k.jobs_completed,
        "misses": k.deadline_misses,
    }
    threads = []
    for p in k.processes:
        out.setdefault("procs", []).append((p.pid, p.name, p.state, p.exit_code, p.kill_reason,
                                            p.program.name))
        for t in p.threads:
            threads.append((t.tid, t.state, t.cpu, t.stats, t.policy, t.rt_priority, t.nice,
                            t.priority, t.tickets, t.level, t.pass_value, t.run_queue,
                            t.registers))
    out["threads"] = threads
    if k.trace is not None:
        out["trace"] = list(k.trace)
        out["trace_dropped"] = k.trace.dropped
    return out


def end_time(make) -> int:
    """When the workload of ``make()`` finishes when run to the end."""
    k = make()
    k.run()
    return k.now


def cut_points(make, n: int = 20, seed: int = 8) -> list[int]:
    """``n`` random instants strictly inside the run of ``make()``."""
    end = end_time(make)
    rng = random.Random(seed)
    return sorted(rng.randrange(1, end) for _ in range(n))


def continue_matches(make, cuts, until=None) -> list:
    """For each cut point T1: run a fresh kernel to T1, snapshot it,
    restore the snapshot and run the copy on (to ``until``, or the end).
    Returns the cut points where the copy's observation differs from
    the uninterrupted run's (empty: every one matched)."""
    ref = make()
    ref.run(until=until)
    expected = observe(ref)
    bad = []
    for t1 in cuts:
        k = make()
        k.run(until=t1)
        copy = pk.Kernel.restore(k.snapshot())
        copy.run(until=until)
        if observe(copy) != expected:
            bad.append(t1)
    return bad
