"""The records a kernel returns: what a run did (:class:`RunResult`), kernel
and CPU counters (:class:`KernelStats`, :class:`CpuStats`), scheduling
latencies (:class:`Latency`), and Jain's fairness index."""

from __future__ import annotations

from dataclasses import dataclass

from ._deprecated import CalledProperty
from ._ffi import ffi, lib
from .errors import check

__all__ = ["RunResult", "KernelStats", "CpuStats", "Latency", "jain_index"]


@dataclass(frozen=True)
class RunResult:
    """What one :meth:`Kernel.run` did.

    ``reason``: "idle" (every process has exited), "until" (the deadline
    was reached), "deadlock" (threads remain but nothing can ever wake
    them) or "livelock" (more host work at one simulated instant than
    ``Kernel(livelock_steps=...)`` allows: a zero-time loop, or threads
    yielding to each other forever with free switches).
    ``deadlock``: with reason "deadlock", a cycle of the wait-for graph
    that explains it (a :class:`~pykernel.Deadlock`), if there is one.
    ``livelock``: with reason "livelock", the thread and the operation it
    repeats (a :class:`~pykernel.Livelock`; ``str()`` says it in
    one line).
    ``start`` and ``now`` are the simulated times (ns) at which the run
    began and ended; ``switches`` and ``steps`` count context switches and
    dispatcher steps during the run; ``wall`` is host seconds.
    """

    reason: str
    start: int
    now: int
    switches: int
    steps: int
    wall: float
    deadlock: object = None
    livelock: object = None

    @property
    def elapsed(self) -> int:
        """Simulated ns covered by the run (now - start)."""
        return self.now - self.start

    @property
    def switches_per_second(self) -> float:
        """Simulated context switches per host second."""
        return self.switches / self.wall if self.wall > 0 else 0.0

    def _repr_html_(self) -> str:
        from .html import run_result_html
        return run_result_html(self)


@dataclass(frozen=True)
class CpuStats:
    """Time accounting of one simulated CPU (ns). ``busy + idle +
    overhead`` equals the kernel's elapsed time; ``overhead`` is time
    spent switching contexts. ``running`` is the tid it runs (or None),
    ``queued`` the threads waiting in its run queue (per-CPU queues; with
    a shared queue, CPU 0 reports it), ``migrations_in`` the threads moved
    to its queue from another."""

    cpu: int
    busy: int
    idle: int
    overhead: int
    switches: int
    running: int | None
    queued: int = 0
    migrations_in: int = 0

    @property
    def utilization(self) -> float:
        """busy / (busy + idle + overhead), 0.0 at time 0."""
        total = self.busy + self.idle + self.overhead
        return self.busy / total if total else 0.0


@dataclass(frozen=True)
class KernelStats:
    """Kernel-wide counters, as of the kernel's current time."""

    now: int
    context_switches: int
    steps: int
    events: int
    threads: int
    processes: int
    live_threads: int
    ready: int
    pending_events: int
    memory_bytes: int
    cpus: tuple
    migrations: int = 0
    balance_runs: int = 0

    @property
    def busy(self) -> int:
        """Busy time summed over CPUs."""
        return sum(c.busy for c in self.cpus)

    @property
    def idle(self) -> int:
        """Idle time summed over CPUs."""
        return sum(c.idle for c in self.cpus)

    @property
    def overhead(self) -> int:
        """Context-switch overhead summed over CPUs."""
        return sum(c.overhead for c in self.cpus)


def jain_index(values) -> float:
    """Jain's fairness index of a sequence of non-negative numbers."""
    values = list(values)
    if not values:
        raise ValueError("Jain's index needs at least one value")
    total = sum(values)
    squares = sum(v * v for v in values)
    if squares == 0:
        return 1.0
    return total * total / (len(values) * squares)


def _bucket_bounds(i: int) -> tuple[int, int]:
    """[low, high] of latency histogram bucket i, from the core (the
    function its histogram files latencies with, csrc/core/pk_dispatch.c)."""
    low, high = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    check(lib.pk_latency_bucket_bounds(i, low, high), f"latency bucket {i}")
    return low[0], high[0]


@dataclass(frozen=True)
class Latency(CalledProperty):
    """Scheduling latencies (ns) as a log-linear histogram: exact below
    16 ns, within 1/16 (6.25%) above. ``percentile(p)`` returns the upper
    bound of the bucket holding the p-th percentile (never more than
    ``max``). The value of :attr:`Kernel.latency`."""

    _called_as = "Kernel.latency"

    count: int
    total: int
    max: int
    buckets: tuple

    @property
    def mean(self) -> float:
        """Mean latency (exact)."""
        return self.total / self.count if self.count else 0.0

    def percentile(self, p: float) -> int:
        """The p-th percentile (0 < p <= 100), to the histogram's precision."""
        if not 0 < p <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {p}")
        if not self.count:
            return 0
        rank = -(-self.count * p // 100)          # ceil(count * p / 100)
        seen = 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(_bucket_bounds(i)[1], self.max)
        return self.max

    @property
    def p50(self) -> int:
        """Median."""
        return self.percentile(50)

    @property
    def p99(self) -> int:
        """99th percentile."""
        return self.percentile(99)
