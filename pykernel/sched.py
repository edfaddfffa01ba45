"""Scheduling policies.

A policy object only *configures* a policy; the policy itself runs in the
C core behind the run-queue interface (csrc/pk_sched.h).  Pass one to
``pk.Kernel(scheduler=...)``.

All policies break ties by the order in which threads became ready, and a
thread that arrives or wakes at the instant another's slice expires is
queued first.
"""

from __future__ import annotations

from ._ffi import MAX_TIME, lib

__all__ = ["Policy", "FIFO", "SJF", "STCF", "RoundRobin", "Priority", "CFS", "EEVDF"]


class Policy:
    """Base class of the policy configurations.

    ``per_cpu``: whether the policy runs with one run queue per CPU by
    default (as the Linux schedulers do) rather than one queue shared by
    every CPU (as the textbook policies are usually described); a kernel
    can choose either with ``pk.Kernel(runqueues=...)``.
    """

    _id = 0
    needs_burst = False
    per_cpu = False

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": 0, "preemptive": 0}

    def _params(self) -> list:
        """Policy-specific integers passed to the core (pk_config.params)."""
        return []

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._config() == other._config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._config().items()))))


class FIFO(Policy):
    """First come, first served: each thread runs until it blocks, yields
    or exits; ready threads wait in arrival order (OSTEP ch. 7 "FIFO",
    Silberschatz "FCFS")."""

    _id = lib.PK_POLICY_FIFO


class SJF(Policy):
    """Shortest job first, non-preemptive: when the CPU is free, the ready
    thread with the smallest declared burst runs.

    The burst of a thread is ``burst=`` given at spawn, or else the total
    compute of its script (loops multiplied). Python-bodied threads must
    pass ``burst=``."""

    _id = lib.PK_POLICY_SJF
    needs_burst = True


class STCF(Policy):
    """Shortest time-to-completion first (preemptive SJF, also called
    shortest remaining time first): a thread that becomes ready with
    strictly less remaining declared burst than the running one preempts
    it. Bursts are declared as for :class:`SJF`."""

    _id = lib.PK_POLICY_STCF
    needs_burst = True


def _positive_ns(what: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int number of nanoseconds, not {type(value).__name__}")
    if value <= 0 or value > MAX_TIME:
        raise ValueError(f"{what} must be between 1 and {MAX_TIME} ns, got {value}")
    return value


class RoundRobin(Policy):
    """Round robin: FIFO order with a time quantum. A thread whose quantum
    expires goes to the tail of the queue if another thread is ready; a
    thread gets a fresh quantum each time it is dispatched.

    ``quantum`` is in nanoseconds (default 10 ms)."""

    _id = lib.PK_POLICY_RR

    def __init__(self, quantum: int = 10_000_000):
        self.quantum = _positive_ns("RoundRobin quantum", quantum)

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": self.quantum, "preemptive": 0}

    def __repr__(self) -> str:
        return f"RoundRobin(quantum={self.quantum})"


class Priority(Policy):
    """Static priorities, 140 levels: the ready thread with the lowest
    ``priority`` number (0..139, given at spawn, default 0) runs first;
    equal priorities run in FIFO order. Like Linux's O(1) scheduler, each
    level is a list and the best non-empty one is found with a bitmap and
    a find-first-set instruction; like it, each CPU has its own queue by
    default.

    With ``preemptive=True`` a thread that becomes ready with a strictly
    lower number preempts the running thread; otherwise the running thread
    keeps the CPU until it blocks, yields or exits."""

    _id = lib.PK_POLICY_PRIORITY
    per_cpu = True

    def __init__(self, preemptive: bool = False):
        if not isinstance(preemptive, bool):
            raise TypeError(f"Priority preemptive must be a bool, not {type(preemptive).__name__}")
        self.preemptive = preemptive

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": 0, "preemptive": int(self.preemptive)}

    def __repr__(self) -> str:
        return f"Priority(preemptive={self.preemptive})"


_SCALES = {"none": 0, "log": 1, "linear": 2}
_MAX_TUNABLE = 1_000_000_000     # ns: Linux's sysctl bound for these tunables (1 s)


def _tunable_ns(what: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int number of nanoseconds, not {type(value).__name__}")
    if not minimum <= value <= _MAX_TUNABLE:
        raise ValueError(f"{what} must be between {minimum} and {_MAX_TUNABLE} ns, got {value}")
    return value


def _scale(owner: str, scale) -> str:
    if not isinstance(scale, str):
        raise TypeError(f'{owner} scale must be "none", "log" or "linear", '
                        f"not {type(scale).__name__}")
    if scale not in _SCALES:
        raise ValueError(f'{owner} scale must be "none", "log" or "linear", not {scale!r}')
    return scale


def _cpu_factor(scale: str, cpus: int) -> int:
    """Linux's get_update_sysctl_factor() for ``cpus`` CPUs."""
    n = min(cpus, 8)
    return {"none": 1, "log": 1 + n.bit_length() - 1, "linear": n}[scale]


class _Tunable(Policy):
    """Policies configured by integer tunables (equality and hashing
    include them)."""

    per_cpu = True

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self._params() == other._params()

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(self._params())))


class CFS(_Tunable):
    """Linux's Completely Fair Scheduler (kernel/sched/fair.c, Linux
    2.6.23 to 6.5), with a run queue per CPU.

    Each thread's virtual runtime grows by ``ran * 1024 / weight`` while
    it runs, its weight coming from its nice value (Linux's
    ``sched_prio_to_weight``: 1024 at nice 0, about 1.25 times less per
    step); the ready thread with the smallest virtual runtime runs. A
    thread runs for its share of the period, ``period * weight /
    total weight`` and at least ``min_granularity``, where the period is
    ``latency`` for up to ``ceil(latency / min_granularity)`` (8) runnable
    threads and ``min_granularity`` per thread beyond. A new thread starts
    one virtual slice after the queue's ``min_vruntime``; a waking thread
    at least at ``min_vruntime - latency / 2``; a woken thread preempts
    the running one when it is behind it by more than
    ``wakeup_granularity`` (in its own virtual time).

    Times are in ns (defaults: Linux's 6 ms, 0.75 ms and 1 ms). ``scale``
    multiplies them by the CPU count factor of Linux's
    ``sched_tunable_scaling``: "log" (the default, ``1 + log2(min(cpus,
    8))``), "linear" (``min(cpus, 8)``) or "none". Each is at most 1 s
    (Linux's sysctl bound); unlike Linux, values below 100 us are
    allowed. See docs/scheduling.md, "CFS".
    """

    _id = lib.PK_POLICY_CFS

    def __init__(self, latency: int = 6_000_000, min_granularity: int = 750_000,
                 wakeup_granularity: int = 1_000_000, scale: str = "log"):
        self.latency = _tunable_ns("CFS latency", latency)
        self.min_granularity = _tunable_ns("CFS min_granularity", min_granularity)
        self.wakeup_granularity = _tunable_ns("CFS wakeup_granularity", wakeup_granularity, 0)
        self.scale = _scale("CFS", scale)

    def _params(self) -> list:
        return [self.latency, self.min_granularity, self.wakeup_granularity, _SCALES[self.scale]]

    def scaled(self, cpus: int) -> dict:
        """The tunables a kernel with ``cpus`` CPUs uses (ns), after the
        CPU-count scaling, and ``nr_latency``."""
        f = _cpu_factor(self.scale, _cpus(cpus))
        return {"latency": self.latency * f, "min_granularity": self.min_granularity * f,
                "wakeup_granularity": self.wakeup_granularity * f,
                "nr_latency": -(-self.latency // self.min_granularity)}

    def __repr__(self) -> str:
        return (f"CFS(latency={self.latency}, min_granularity={self.min_granularity}, "
                f"wakeup_granularity={self.wakeup_granularity}, scale={self.scale!r})")


class EEVDF(_Tunable):
    """Earliest Eligible Virtual Deadline First, Linux's fair scheduler
    since 6.6 (kernel/sched/fair.c; Stoica and Abdel-Wahab, 1995), with a
    run queue per CPU.

    Virtual runtime grows as in :class:`CFS`. A thread's lag is how far
    its virtual runtime is behind the load-weighted average ``V`` of the
    queue (the running thread included); threads with lag >= 0 are
    eligible, and among them the one with the earliest virtual deadline
    ``vruntime + slice * 1024 / weight`` runs. When the running thread
    reaches its deadline it gets the next one and the queue picks again.
    Threads keep their lag across sleeps, migrations and nice changes
    (clamped to two slices); a new thread starts at ``V`` with half a
    slice to its first deadline; a waking thread preempts when it is
    eligible with the earliest deadline.

    ``slice`` is the base slice in ns (default Linux 6.6's 0.75 ms),
    scaled by the CPU count like CFS's tunables (``scale``: "log",
    "linear" or "none"); at most 1 s. See docs/scheduling.md, "EEVDF".
    """

    _id = lib.PK_POLICY_EEVDF

    def __init__(self, slice: int = 750_000, scale: str = "log"):  # noqa: A002 - Linux's name
        self.slice = _tunable_ns("EEVDF slice", slice)
        self.scale = _scale("EEVDF", scale)

    def _params(self) -> list:
        return [self.slice, _SCALES[self.scale]]

    def scaled(self, cpus: int) -> dict:
        """The base slice a kernel with ``cpus`` CPUs uses (ns)."""
        return {"slice": self.slice * _cpu_factor(self.scale, _cpus(cpus))}

    def __repr__(self) -> str:
        return f"EEVDF(slice={self.slice}, scale={self.scale!r})"


def _cpus(cpus) -> int:
    if isinstance(cpus, bool) or not isinstance(cpus, int):
        raise TypeError(f"cpus must be an int, not {type(cpus).__name__}")
    if not 1 <= cpus <= lib.PK_MAX_CPUS:
        raise ValueError(f"cpus must be between 1 and {lib.PK_MAX_CPUS}, got {cpus}")
    return cpus
