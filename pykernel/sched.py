"""Scheduling policies.

A policy object only *configures* a policy; the policy itself runs in the
C core behind the run-queue interface (csrc/sched/pk_sched.h).  Pass one to
``pk.Kernel(scheduler=...)``.  A subclass of :class:`Policy` that defines
``pick_next`` is a policy written in Python: the kernel calls its hooks
through the same interface (see :class:`Policy`; slower).

All policies break ties by the order in which threads became ready, and a
thread that arrives or wakes at the instant another's slice expires is
queued first (except under ``MLFQ(compat="ostep")``, which follows
OSTEP's mlfq.py there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._ffi import lib
from .errors import OutOfRange, WrongType, check
from .process import Thread

__all__ = ["Policy", "FIFO", "SJF", "STCF", "RoundRobin", "Priority", "CFS", "EEVDF", "EDF",
           "RateMonotonic", "DeadlineMonotonic", "MLFQ", "Lottery", "Stride", "SchedParams",
           "by_name", "parameters"]


class Policy:
    """Base class of the policies: the configurations of the built-in ones,
    and policies written in Python.

    ``per_cpu``: whether the policy runs with one run queue per CPU by
    default (as the Linux schedulers do) rather than one queue shared by
    every CPU (as the textbook policies are usually described); a kernel
    can choose either with ``pk.Kernel(runqueues=...)``.

    **Writing a policy in Python** (like Linux's sched_ext, which loads a
    policy into the kernel behind the scheduler-class hooks): subclass
    Policy and define ``pick_next``; the kernel then calls these hooks of
    the object, from C, through the run-queue interface
    (csrc/sched/pk_sched.h). Threads are named by their tid (an int).

    - ``enqueue(tid, why)`` (required): the thread became ready; keep it
      in your own queue. ``why`` is "new" (arrived, or back from the
      real-time class), "wake", "preempt" (it lost its
      CPU to a woken thread), "slice" (its slice ran out), "yield",
      "migrate" (moved from another run queue) or "change" (its nice,
      priority, tickets or class changed).
    - ``dequeue(tid, why)`` (required): remove a queued thread; ``why`` is
      "kill", "migrate" or "change".
    - ``pick_next()`` (required): remove and return the tid to run next.
      Called only while one of your threads is queued; must return one of
      them.
    - ``slice``: a method ``slice(tid)`` returning how long the thread may
      run once dispatched (ns, or None: no limit), or a plain int, the same
      slice for every thread (read once, when the kernel is made; no call
      per dispatch). Default: no limit.
    - ``tick(tid)``: its slice ran out; true if it should give the CPU to a
      ready thread. Default: true.
    - ``wakeup_preempt(curr, tid)``: ``tid`` just became ready while
      ``curr`` runs on this run queue's CPU; true if it should take the
      CPU (with a queue shared by several CPUs, also asked about two
      running threads to find the weakest one). Default: false.
    - ``charge(tid, ran)``: the running thread ran ``ran`` more ns.
    - ``steal(cpu)``: per-CPU queues only: remove and return a queued tid
      that may run on ``cpu`` (for load balancing), or None (the default).
    - ``changed(tid)``: the thread's nice, priority or tickets changed (a
      queued one is dequeued before and enqueued after).

    Hooks that are not defined are not called, which saves the crossing.
    Inside a hook, ``self.kernel`` is the kernel (read it freely: ``now``,
    ``self.thread(tid).nice``, ``self.kernel.random()``...; changing it,
    e.g. spawning, raises BadState). A run queue is served by one object:
    with a shared queue (the default for Python policies) the object
    given; with per-CPU queues the object given serves CPU 0's queue and
    deep copies of it serve the others (``Kernel.schedulers``;
    ``self.runqueue`` says which). An object serves one kernel only.

    Errors: a hook that raises, or returns something the kernel refuses
    (a tid that is not queued in its run queue, None from pick_next while
    threads are queued, a slice out of range, a wrong type), stops the run:
    ``Kernel.run`` raises :class:`~pykernel.errors.PolicyError` (the hook's
    exception is its ``__cause__``). The C core is left consistent, but
    the policy object's state is unknown, so the kernel cannot run any
    more; its processes and statistics stay readable.
    """

    _id = 0
    needs_burst = False
    per_cpu = False

    def _fields(self) -> dict:
        """The policy's attributes by name (what a snapshot saves of it)."""
        return dict(vars(self))

    @classmethod
    def _from_fields(cls, fields: dict) -> "Policy":
        """A policy of this class with ``fields`` as its attributes, made
        without ``__init__`` (a policy read back from a snapshot)."""
        policy = cls.__new__(cls)
        vars(policy).update(fields)
        return policy

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if callable(getattr(cls, "pick_next", None)):
            cls._id = lib.PK_POLICY_HOST     # written in Python (csrc/sched/pk_sched_host.c)

    @property
    def kernel(self):
        """The kernel this policy written in Python serves (None before a
        kernel is made with it, and for the built-in policies)."""
        ref = vars(self).get("_pk_kernel")
        return ref() if ref is not None else None

    @property
    def runqueue(self) -> int | None:
        """The run queue this object serves (its CPU; 0 for a shared
        queue), or None if it serves no kernel."""
        return vars(self).get("_pk_runqueue")

    def thread(self, tid: int) -> Thread:
        """A :class:`~pykernel.Thread` view of ``tid`` in the kernel this
        policy serves (each attribute read is a call into the core)."""
        k = self.kernel
        if k is None:
            raise RuntimeError(f"{type(self).__name__} serves no kernel")
        return Thread(k, tid)

    def info(self, tid: int):
        """A fast snapshot of thread ``tid``, for hooks: the core's
        ``pk_thread_info`` struct (fields ``tid``, ``pid``, ``state``,
        ``cpu``, ``priority``, ``nice``, ``tickets``, ``burst``,
        ``arrival``, ``cpu_time``, ``wait``, ``blocked``... as in
        csrc/core/pk_api.h; times in ns as of now). The same struct is
        refilled by the next ``info()`` call of this object: read what
        you need from it at once. About 3 times cheaper than
        :meth:`thread`."""
        kp_buf = vars(self).get("_pk_info")
        if kp_buf is None:
            raise RuntimeError(f"{type(self).__name__} serves no kernel")
        check(lib.pk_thread_info_get(kp_buf[0], tid, kp_buf[1]), f"info of tid {tid}")
        return kp_buf[1]

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": 0, "preemptive": 0}

    def _params(self) -> list:
        """Policy-specific integers passed to the core (pk_config.params)."""
        return []

    def _param_names(self) -> list:
        """(name, whether it is in ns) of each of :meth:`_params`, as
        messages name them."""
        return []

    def _check(self) -> None:
        """Ask the core whether it takes these parameters
        (``pk_policy_params_check``, csrc/core/pk_kernel.c: their ranges
        are its rules, checked again when a kernel is made); raises the
        error it gives (e.g. :class:`~pykernel.OutOfRange`) naming the
        parameter."""
        from . import _refusal
        refused = _refusal.policy_error(self._id, self._config().get("quantum", 0),
                                        self._params(), self._param_names())
        if refused is not None:
            raise refused

    def _configure(self, cfg, params=None) -> None:
        """Write this policy into a C ``pk_config`` (cffi): its id, quantum,
        preemption and ``params`` (default ``self._params()``). The one
        place a kernel's and a restore's configuration take a policy."""
        for key, value in self._config().items():
            setattr(cfg, key, value)
        params = self._params() if params is None else params
        if len(params) > len(cfg.params):       # the C array's size (PK_MAX_PARAMS)
            raise ValueError(f"{self!r} has {len(params)} parameters; the core takes at most "
                             f"{len(cfg.params)}")
        cfg.nparams = len(params)
        for i, v in enumerate(params):
            cfg.params[i] = v

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __eq__(self, other) -> bool:
        if self._id == lib.PK_POLICY_HOST:       # an object with its own state
            return self is other
        return (type(self) is type(other) and self._config() == other._config()
                and self._params() == other._params())

    def __hash__(self) -> int:
        if self._id == lib.PK_POLICY_HOST:
            return object.__hash__(self)
        return hash((type(self).__name__, tuple(sorted(self._config().items())),
                     tuple(self._params())))


class FIFO(Policy):
    """First come, first served: each thread runs until it blocks, yields
    or exits; ready threads wait in arrival order (OSTEP ch. 7 "FIFO",
    Silberschatz "FCFS").

    ``wake_preempt=True``: a thread that wakes from io or sleep goes to
    the head of the queue and preempts the running thread, which goes to
    the tail (the IO_RUN_IMMEDIATE behaviour of OSTEP's process-run.py;
    an arriving thread does not preempt)."""

    _id = lib.PK_POLICY_FIFO

    def __init__(self, wake_preempt: bool = False):
        self.wake_preempt = _flag("FIFO wake_preempt", wake_preempt)

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": 0, "preemptive": int(self.wake_preempt)}

    def __repr__(self) -> str:
        return "FIFO(wake_preempt=True)" if self.wake_preempt else "FIFO()"


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


def _ns(what: str, value) -> int:
    """A duration argument of a policy: an int (its range is the core's,
    :meth:`Policy._check`; WrongType is also a TypeError)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongType(f"{what} must be an int number of nanoseconds, not {type(value).__name__}")
    return value


class RoundRobin(Policy):
    """Round robin: FIFO order with a time quantum. A thread whose quantum
    expires goes to the tail of the queue if another thread is ready; a
    thread gets a fresh quantum each time it is dispatched.

    ``quantum`` is in nanoseconds (default 10 ms). ``wake_preempt=True``:
    as for :class:`FIFO`, a thread back from io or sleep goes to the head
    and preempts the running thread, which goes to the tail.
    ``aligned=True``: quanta end at the multiples of ``quantum`` on every
    CPU at once (a global timer tick, as in OSTEP's multi.py); a thread
    dispatched in between runs to the next multiple."""

    _id = lib.PK_POLICY_RR

    def __init__(self, quantum: int = 10_000_000, wake_preempt: bool = False,
                 aligned: bool = False):
        self.quantum = _ns("RoundRobin quantum", quantum)
        self.wake_preempt = _flag("RoundRobin wake_preempt", wake_preempt)
        self.aligned = _flag("RoundRobin aligned", aligned)
        self._check()

    def _config(self) -> dict:
        return {"policy": self._id, "quantum": self.quantum,
                "preemptive": int(self.wake_preempt) | (2 if self.aligned else 0)}

    def __repr__(self) -> str:
        extra = (", wake_preempt=True" if self.wake_preempt else "") + \
                (", aligned=True" if self.aligned else "")
        return f"RoundRobin(quantum={self.quantum}{extra})"


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


class CFS(Policy):
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
    per_cpu = True

    def __init__(self, latency: int = 6_000_000, min_granularity: int = 750_000,
                 wakeup_granularity: int = 1_000_000, scale: str = "log"):
        self.latency = _ns("CFS latency", latency)
        self.min_granularity = _ns("CFS min_granularity", min_granularity)
        self.wakeup_granularity = _ns("CFS wakeup_granularity", wakeup_granularity)
        self.scale = _scale("CFS", scale)
        self._check()

    def _params(self) -> list:
        return [self.latency, self.min_granularity, self.wakeup_granularity, _SCALES[self.scale]]

    def _param_names(self) -> list:
        return [("CFS latency", True), ("CFS min_granularity", True),
                ("CFS wakeup_granularity", True), ("CFS scale", False)]

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


class EEVDF(Policy):
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
    "linear" or "none"); at most 1 s. A thread may have its own slice
    (Linux 6.12's ``sched_attr.sched_runtime``, 0.1 .. 100 ms, not
    scaled): ``spawn(..., slice=ns)``, ``Thread.set_slice(ns)``. See
    docs/scheduling.md, "EEVDF".
    """

    _id = lib.PK_POLICY_EEVDF
    per_cpu = True

    def __init__(self, slice: int = 750_000, scale: str = "log"):  # noqa: A002 - Linux's name
        self.slice = _ns("EEVDF slice", slice)
        self.scale = _scale("EEVDF", scale)
        self._check()

    def _params(self) -> list:
        return [self.slice, _SCALES[self.scale]]

    def _param_names(self) -> list:
        return [("EEVDF slice", True), ("EEVDF scale", False)]

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


class EDF(Policy):
    """Earliest deadline first (Liu & Layland 1973; Buttazzo, *Hard
    Real-Time Computing Systems*, ch. 4), for periodic tasks made with
    :meth:`pykernel.Program.periodic`: the ready job with the earliest
    absolute deadline runs. Preemptive: a job released with a strictly
    earlier deadline than the running one's takes the CPU at once. Equal
    deadlines go to the job that became ready first (a preempted job keeps
    its place).

    On one CPU, EDF meets every deadline of a periodic task set whose
    utilization ``sum(wcet / period)`` is at most 1 (implicit deadlines,
    free context switches).

    Threads that are not periodic tasks have an infinite deadline: they run
    in the background, when no job is ready, in the order they became
    ready.

    ``per_cpu`` is False: by default every CPU takes work from one shared
    queue (global EDF: the CPUs run the jobs with the earliest deadlines);
    ``pk.Kernel(runqueues="per-cpu")`` gives each CPU its own EDF queue,
    with the kernel's placement and balancing (an idle CPU pulls the most
    urgent job it may run)."""

    _id = lib.PK_POLICY_EDF


class RateMonotonic(Policy):
    """Rate-monotonic scheduling (Liu & Layland 1973): fixed priorities by
    period, for periodic tasks made with :meth:`pykernel.Program.periodic`;
    the shorter the period, the higher the priority. Preemptive: a job of
    a task with a strictly shorter period takes the CPU at once. Equal
    periods go to the job that became ready first.

    On one CPU, ``n`` tasks with implicit deadlines meet every deadline if
    their utilization is at most ``n * (2 ** (1 / n) - 1)`` (0.828 for two
    tasks, about 0.693 for many); above that bound a set may miss.

    Threads that are not periodic tasks have the lowest priority (they run
    in the background). ``per_cpu`` is False: one shared queue (global RM)
    by default, as for :class:`EDF`."""

    _id = lib.PK_POLICY_RM

    def _params(self) -> list:
        return [0]


class DeadlineMonotonic(RateMonotonic):
    """Deadline-monotonic scheduling (Leung & Whitehead 1982): like
    :class:`RateMonotonic`, but the priority is given by the relative
    deadline instead of the period (the shorter, the higher). It is the
    same as rate monotonic for tasks whose deadline equals their period,
    and is the optimal fixed-priority order when deadlines are shorter
    than periods."""

    def _params(self) -> list:
        return [1]


def _flag(what: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return value


def _ints(what: str, values, unit: str) -> list:
    """A list of ints (their ranges are the core's, :meth:`Policy._check`)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{what} must be a list of ints ({unit}), not {type(values).__name__}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{what} must hold ints ({unit}), not {type(v).__name__}")
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
    preempts it; a preempted job stays at the head of its level and
    finishes the unexpired part of its quantum when it runs again (as
    OSTEP's simulator mlfq.py, and SCHED_RR in man 7 sched); other jobs
    get a fresh quantum each time they run. ``io_to_front=True`` puts a job that
    comes back from io or sleep at the head of its level instead of the
    tail. At a boost the queued jobs keep their order (higher levels
    first) and a running job keeps its CPU with a fresh level-0 quantum.
    ``Thread.level`` shows a thread's current level.

    ``compat="ostep"`` follows the remaining conventions of OSTEP's
    homework simulator (ostep-homework ``cpu-sched-mlfq/mlfq.py``): a
    job's quantum is a counter kept across io (it runs ``q - used % q``
    whenever it is dispatched); with ``io_to_front`` a job back from io
    preempts a job running at its own level, which stays second with its
    quantum; at a boost the jobs join level 0 after those there, from the
    lowest level up, a job running at a lower level counting as the head
    of its level; a job whose quantum expires at the instant another job
    arrives or wakes is queued before it. See docs/scheduling.md, "MLFQ".
    """

    _id = lib.PK_POLICY_MLFQ
    MAX_LEVELS = lib.PK_MLFQ_MAX_LEVELS

    def __init__(self, quanta=(10_000_000, 20_000_000, 40_000_000), allotments=None,
                 boost: int | None = None, io_resets_allotment: bool = False,
                 io_to_front: bool = False, compat: str | None = None):
        quanta = _ints("MLFQ quanta", quanta, "ns")
        if allotments is None:
            allotments = [1] * len(quanta)
        allotments = _ints("MLFQ allotments", allotments, "quanta")
        if len(allotments) != len(quanta):          # the shape of the arguments
            raise ValueError(f"MLFQ needs one allotment per level: {len(quanta)} quanta but "
                             f"{len(allotments)} allotments")
        self.quanta = quanta
        self.allotments = allotments
        if boost is not None and _ns("MLFQ boost", boost) == 0:   # the core reads 0 as None
            raise OutOfRange("MLFQ boost must be a period of at least 1 ns, or None (never)")
        self.boost = boost
        self.io_resets_allotment = _flag("MLFQ io_resets_allotment", io_resets_allotment)
        self.io_to_front = _flag("MLFQ io_to_front", io_to_front)
        if compat not in (None, "ostep"):
            raise ValueError(f"MLFQ compat must be None or \"ostep\", got {compat!r}")
        self.compat = compat
        self._check()

    @property
    def levels(self) -> int:
        """Number of levels (queues)."""
        return len(self.quanta)

    def _params(self) -> list:
        flags = (int(self.io_resets_allotment) | (2 if self.io_to_front else 0)
                 | (4 if self.compat == "ostep" else 0))
        return [len(self.quanta), self.boost or 0, flags, *self.quanta, *self.allotments]

    def _param_names(self) -> list:
        n = len(self.quanta)
        return ([("MLFQ levels (quanta given)", False), ("MLFQ boost", True),
                 ("MLFQ flags", False)] + [(f"MLFQ quanta[{i}]", True) for i in range(n)]
                + [(f"MLFQ allotments[{i}] (in quanta of quanta[{i}])", False) for i in range(n)])

    def __repr__(self) -> str:
        return (f"MLFQ(quanta={self.quanta}, allotments={self.allotments}, boost={self.boost}, "
                f"io_resets_allotment={self.io_resets_allotment}, io_to_front={self.io_to_front}"
                + (f", compat={self.compat!r})" if self.compat else ")"))


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
        self.quantum = _ns("Lottery quantum", quantum)
        if _flag("Lottery transfer", transfer):
            raise NotImplementedError(
                "Lottery(transfer=True): automatic ticket transfer to the thread a blocked "
                "thread waits for needs locks or channels, which are not implemented yet; "
                "move tickets explicitly with Thread.transfer_tickets(to, n)")
        self.transfer = False
        self._check()

    def _params(self) -> list:
        return [self.quantum]

    def _param_names(self) -> list:
        return [("Lottery quantum", True)]

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
    STRIDE1_MAX = lib.PK_STRIDE1_MAX

    def __init__(self, quantum: int = 10_000_000, stride1: int = 1 << 20):
        self.quantum = _ns("Stride quantum", quantum)
        if isinstance(stride1, bool) or not isinstance(stride1, int):
            raise TypeError(f"Stride stride1 must be an int, not {type(stride1).__name__}")
        self.stride1 = stride1
        self._check()

    def _params(self) -> list:
        return [self.quantum, self.stride1]

    def _param_names(self) -> list:
        return [("Stride quantum", True), ("Stride stride1", False)]

    def __repr__(self) -> str:
        return f"Stride(quantum={self.quantum}, stride1={self.stride1})"


def _builtin_policies() -> dict:
    """Lower-case name -> class of every built-in policy."""
    g = globals()
    return {n.lower(): g[n] for n in __all__
            if isinstance(g[n], type) and issubclass(g[n], Policy) and n != "Policy"}


def parameters(cls) -> list[str]:
    """The parameters a policy class takes (its constructor's keywords)."""
    import inspect
    return [n for n, p in inspect.signature(cls.__init__).parameters.items()
            if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def by_name(name: str, **params) -> Policy:
    """A built-in policy from its name, in any case (``"RoundRobin"``,
    ``"cfs"``), with ``params`` for its constructor (defaults for the
    others), as scenario files name them::

        by_name("RoundRobin", quantum=4_000_000) == RoundRobin(quantum=4_000_000)

    ``pk.Kernel(scheduler="RoundRobin")`` calls it. An unknown name or
    parameter raises :class:`~pykernel.InvalidArgs` listing the valid ones."""
    from .errors import InvalidArgs
    if not isinstance(name, str):
        raise WrongType(f"a policy name must be a str, not {type(name).__name__}")
    policies = _builtin_policies()
    cls = policies.get(name.lower())
    if cls is None:
        raise InvalidArgs(f"unknown policy {name!r}; expected one of "
                          f"{', '.join(sorted(c.__name__ for c in policies.values()))}")
    allowed = parameters(cls)
    for key in params:
        if key not in allowed:
            raise InvalidArgs(f"{cls.__name__} has no parameter {key!r}; its parameters are "
                              f"{', '.join(allowed) or '(none)'}")
    return cls(**params)


@dataclass(frozen=True)
class SchedParams:
    """How a process is scheduled, as one object for
    ``k.spawn(program, sched=...)`` and ``k.spawn_many``: the same fields
    as spawn's keywords of the same names, with the same defaults and
    meaning (``nice``, ``priority``, ``burst``, ``policy``,
    ``rt_priority``, ``tickets``, ``cpu``, ``affinity``). One object can
    serve many spawns::

        rt = pk.SchedParams(policy="fifo", rt_priority=50)
        k.spawn(prog, sched=rt)

    Values are checked by spawn."""

    nice: int = 0
    priority: int = 0
    burst: int | None = None
    policy: str = "other"
    rt_priority: int | None = None
    tickets: int = 100
    cpu: int | None = None
    affinity: Any = None


_SPAWN_DEFAULTS = SchedParams()


def _merge(sched, **given) -> SchedParams:
    """spawn's scheduling keywords and its ``sched=``: a keyword that is
    not at its default wins over sched's default; both set and different
    is an error."""
    if sched is None:
        return SchedParams(**given)
    if not isinstance(sched, SchedParams):
        raise WrongType(f"sched must be a pk.SchedParams, not {type(sched).__name__}")
    from .errors import InvalidArgs
    out = {}
    for key, value in given.items():
        mine, default = getattr(sched, key), getattr(_SPAWN_DEFAULTS, key)
        if value != default and mine != default and value != mine:
            raise InvalidArgs(f"{key} is given twice, as {key}={value!r} and in sched= "
                              f"({key}={mine!r}): give it once")
        out[key] = value if value != default else mine
    return SchedParams(**out)
