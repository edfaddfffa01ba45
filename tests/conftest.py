"""Shared helpers for the pykernel test suite.

Durations in the scheduling tests are plain integers of simulated
nanoseconds; a textbook's "24 ms" burst is written ``compute(24)``. With
``pk.Costs.zero()`` context switches are free, so textbook figures come
out exactly (docs/references.md [SGG10]).
"""

from __future__ import annotations

import pytest

import pykernel as pk


def make_kernel(policy=None, cpus=1, costs=None, **kwargs) -> pk.Kernel:
    """A kernel with free context switches unless ``costs`` is given."""
    return pk.Kernel(cpus=cpus,
                     scheduler=pk.sched.FIFO() if policy is None else policy,
                     costs=pk.Costs.zero() if costs is None else costs,
                     **kwargs)


@pytest.fixture
def zero_kernel():
    """Factory fixture: ``zero_kernel(policy, cpus=1, **kw)`` -> Kernel with
    ``Costs.zero()``."""
    return make_kernel


def cpu_bound(burst: int, name: str = "cpu") -> pk.Program:
    """A script that computes for ``burst`` ns and exits."""
    return pk.Program.script(name, [pk.op.compute(burst)])


def spawn_bursts(k: pk.Kernel, bursts, arrivals=None, priorities=None):
    """Spawn processes P1, P2, ... with the given CPU bursts (and optional
    arrival times and priorities); returns them in order."""
    procs = []
    for i, burst in enumerate(bursts):
        at = arrivals[i] if arrivals is not None else 0
        prio = priorities[i] if priorities is not None else 0
        procs.append(k.spawn(cpu_bound(burst), name=f"P{i + 1}", at=at, priority=prio))
    return procs


def assert_cpu_time_conserved(k: pk.Kernel) -> None:
    """Every CPU accounts for every nanosecond: busy + idle + overhead ==
    now on each CPU, hence cpus * now in total."""
    stats = k.stats
    for c in stats.cpus:
        assert c.busy + c.idle + c.overhead == k.now, c
    assert stats.busy + stats.idle + stats.overhead == k.cpus * k.now


def assert_thread_time_conserved(processes) -> None:
    """For every finished thread: cpu_time + wait + blocked == turnaround
    (Stats docstring)."""
    for p in processes:
        for t in p.threads:
            s = t.stats
            if s.finish is None:
                continue
            assert s.cpu_time + s.wait + s.blocked == s.turnaround, (p, s)


def assert_time_conserved(k: pk.Kernel, processes=None) -> None:
    """Both conservation identities (all processes unless given)."""
    assert_cpu_time_conserved(k)
    assert_thread_time_conserved(k.processes if processes is None else processes)
