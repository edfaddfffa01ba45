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

__all__ = ["Policy", "FIFO", "SJF", "STCF", "RoundRobin", "Priority", "CFS",
           "MLFQ", "Lottery", "Stride"]


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
        return (type(self) is type(other) and self._config() == other._config()
                and self._params() == other._params())

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self._config().items())),
                     tuple(self._params())))


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


class CFS(Policy):
    """Linux's Completely Fair Scheduler: not implemented yet.

    It is planned (with EEVDF, the real-time classes, MLFQ, lottery,
    stride and EDF) together with per-CPU run queues; constructing it
    raises ``NotImplementedError`` until then."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "pk.sched.CFS is not implemented yet; available policies are "
            "FIFO, SJF, STCF, RoundRobin and Priority")


def _flag(what: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _positive_ints(what: str, values, unit: str, bound: int) -> list:
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list of ints ({unit}), not {type(values).__name__}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{what} must hold ints ({unit}), not {type(v).__name__}")
        if not 1 <= v <= bound:
            raise ValueError(f"each of {what} must be between 1 and {bound} {unit}, got {v}")
        out.append(v)
    return out


class MLFQ(Policy):
    """Multi-level feedback queue, with the rules of OSTEP ch. 8
    ("Scheduling: The Multi-Level Feedback Queue", Arpaci-Dusseau).

    ``quanta``: one time quantum (ns) per level, from the highest
    priority (level 0) to the lowest; 1 to 16 levels. ``allotments``:
    per level, how many quanta of CPU time a job may use at that level
    before it moves down one level (default 1 each; the lowest level
    keeps its jobs, so its allotment is not used).

    - Rule 1 and 2: a job at a higher level runs first; jobs at one level
      run round robin with that level's quantum.
    - Rule 3: a new job enters level 0.
    - Rule 4: the time a job uses at a level adds up across io, sleeps and
      yields; once its allotment is used it moves down one level (the
      book's anti-gaming rule). With ``io_resets_allotment=True`` the
      older rules 4a/4b apply: a job that gives up the CPU before its
      allotment is used keeps its level and starts its allotment afresh.
    - Rule 5: every ``boost`` ns (at ``boost``, ``2 * boost``, ...;
      None: never) every job moves to level 0 with a fresh allotment.

    A job that becomes ready at a higher level than the running job
    preempts it; a preempted job goes to the tail of its level and gets a
    fresh quantum (like SCHED_RR). ``io_to_front=True`` puts a job that
    comes back from io or sleep at the head of its level instead of the
    tail. At a boost the queued jobs keep their order (higher levels
    first) and a running job keeps its CPU with a fresh level-0 quantum.
    ``Thread.level`` shows a thread's current level.
    """

    _id = lib.PK_POLICY_MLFQ
    MAX_LEVELS = 16

    def __init__(self, quanta=(10_000_000, 20_000_000, 40_000_000), allotments=None,
                 boost: int | None = None, io_resets_allotment: bool = False,
                 io_to_front: bool = False):
        quanta = _positive_ints("MLFQ quanta", quanta, "ns", MAX_TIME)
        if not 1 <= len(quanta) <= self.MAX_LEVELS:
            raise ValueError(f"MLFQ needs 1 to {self.MAX_LEVELS} levels (one quantum each), "
                             f"got {len(quanta)}")
        if allotments is None:
            allotments = [1] * len(quanta)
        allotments = _positive_ints("MLFQ allotments", allotments, "quanta", MAX_TIME)
        if len(allotments) != len(quanta):
            raise ValueError(f"MLFQ needs one allotment per level: {len(quanta)} quanta but "
                             f"{len(allotments)} allotments")
        for q, a in zip(quanta, allotments):
            if q * a > MAX_TIME:
                raise ValueError(f"MLFQ allotment {a} x quantum {q} ns exceeds {MAX_TIME} ns")
        self.quanta = quanta
        self.allotments = allotments
        self.boost = None if boost is None else _positive_ns("MLFQ boost", boost)
        self.io_resets_allotment = _flag("MLFQ io_resets_allotment", io_resets_allotment)
        self.io_to_front = _flag("MLFQ io_to_front", io_to_front)

    @property
    def levels(self) -> int:
        """Number of levels (queues)."""
        return len(self.quanta)

    def _params(self) -> list:
        flags = int(self.io_resets_allotment) | (2 if self.io_to_front else 0)
        return [len(self.quanta), self.boost or 0, flags, *self.quanta, *self.allotments]

    def __repr__(self) -> str:
        return (f"MLFQ(quanta={self.quanta}, allotments={self.allotments}, boost={self.boost}, "
                f"io_resets_allotment={self.io_resets_allotment}, io_to_front={self.io_to_front})")


class Lottery(Policy):
    """Lottery scheduling (Waldspurger and Weihl, "Lottery Scheduling:
    Flexible Proportional-Share Resource Management", OSDI 1994; OSTEP
    ch. 9).

    Each thread holds ``tickets`` (``spawn(..., tickets=100)``,
    ``Thread.set_tickets``). At each decision a winning ticket is drawn
    uniformly from the tickets of the ready threads with the kernel's
    seeded generator; the winner runs for ``quantum`` ns (default 10 ms),
    then a new lottery is held among the ready threads (the winner
    included). A thread that becomes ready waits for the next lottery.
    Each draw takes O(log n) (a Fenwick tree of ticket sums). The same
    seed gives the same schedule.

    ``transfer``: the paper's automatic ticket transfer (a client blocked
    on a server lends it its tickets) needs threads that block on other
    threads (locks, channels), which pykernel does not have yet, so
    ``transfer=True`` raises NotImplementedError. Tickets can be moved
    explicitly with ``Thread.transfer_tickets(to, n)`` under any policy.
    """

    _id = lib.PK_POLICY_LOTTERY

    def __init__(self, quantum: int = 10_000_000, transfer: bool = False):
        self.quantum = _positive_ns("Lottery quantum", quantum)
        if _flag("Lottery transfer", transfer):
            raise NotImplementedError(
                "Lottery(transfer=True): automatic ticket transfer to the thread a blocked "
                "thread waits for needs locks or channels, which are not implemented yet; "
                "move tickets explicitly with Thread.transfer_tickets(to, n)")
        self.transfer = False

    def _params(self) -> list:
        return [self.quantum]

    def __repr__(self) -> str:
        return f"Lottery(quantum={self.quantum}, transfer={self.transfer})"


class Stride(Policy):
    """Stride scheduling (Waldspurger, "Lottery and Stride Scheduling:
    Flexible Proportional-Share Resource Management", MIT PhD thesis,
    1995; OSTEP ch. 9): the deterministic counterpart of :class:`Lottery`.

    Each thread has ``stride = stride1 // tickets`` (at least 1) and a
    pass value. The ready thread with the smallest pass runs for
    ``quantum`` ns (default 10 ms); its pass grows by its stride per
    quantum of CPU time it uses, and by the same fraction of its stride
    for part of a quantum (a thread that blocks early is charged exactly
    what it ran). Equal passes run in the order the threads became ready.

    ``stride1`` (default 2**20, at most 2**32) is the large constant the
    strides divide; OSTEP's example uses 10,000. A new thread starts at
    the run queue's global pass (the smallest pass among its runnable
    threads, never decreasing); a waking thread too, if its own pass is
    behind it. A change of tickets scales the thread's distance from the
    global pass by new stride / old stride. ``Thread.pass_value`` shows a
    thread's pass.
    """

    _id = lib.PK_POLICY_STRIDE
    STRIDE1_MAX = 1 << 32

    def __init__(self, quantum: int = 10_000_000, stride1: int = 1 << 20):
        self.quantum = _positive_ns("Stride quantum", quantum)
        if isinstance(stride1, bool) or not isinstance(stride1, int):
            raise TypeError(f"Stride stride1 must be an int, not {type(stride1).__name__}")
        if not 1 <= stride1 <= self.STRIDE1_MAX:
            raise ValueError(f"Stride stride1 must be between 1 and 2**32, got {stride1}")
        self.stride1 = stride1

    def _params(self) -> list:
        return [self.quantum, self.stride1]

    def __repr__(self) -> str:
        return f"Stride(quantum={self.quantum}, stride1={self.stride1})"
