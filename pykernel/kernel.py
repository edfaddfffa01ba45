"""The simulated machine and its kernel."""

from __future__ import annotations

import operator
import threading
from contextlib import contextmanager
from dataclasses import replace

from ._ffi import FOREVER, MAX_TIME, NO_BURST, ffi, lib
from ._policy_host import HostPolicy
from .costs import Costs
from .memory import (FORMATS, MMU, Memory, MemoryStats, TlbStats, fault_rate, memory_stats,
                     rss_limit_arg,
                     tlb_stats)
from . import errors as pk_errors
from .errors import BadState, InvalidArgs, NoMemory, OutOfRange, check
from ._lock import KernelLock, locked_views
from .limits import Limits, limit_error, other_limit_error, usage
from .op import duration
from . import _refusal
from ._validate import int_range, integer, put, u32, u64
from .process import PeriodicJob, Process
from ._deprecated import CalledDict, CalledList, warn as _deprecated
from . import objects as _objects
from . import riscv as _riscv
from .program import Program
from .sched import CFS, Policy
from .sched import SchedParams, _merge as _sched_merge
from .sched import by_name as _sched_by_name
from .trace import DEFAULT_TRACE_EVENTS, Trace
from .run import STEP_BUDGET, RunControl, _KILL  # noqa: F401
from .results import CpuStats, KernelStats, Latency, RunResult, jain_index, _bucket_bounds  # noqa: F401
from .groups import ProcessGroup

__all__ = ["Kernel", "RunResult", "KernelStats", "CpuStats", "ProcessGroup", "Latency",
           "jain_index"]

DEFAULT_MAX_THREADS = Limits.max_threads
DEFAULT_JOB_LOG_LIMIT = 1_000_000


_CLASSES = {"other": lib.PK_CLASS_OTHER, "fifo": lib.PK_CLASS_FIFO, "rr": lib.PK_CLASS_RR}


def _sched_class(policy, rt_priority, given: dict) -> tuple[int, int]:
    """("other" | "fifo" | "rr", rt_priority) -> (class id, rt priority);
    the priority's range is the core's (pk_class_check); ``given`` as for
    pykernel._validate.put."""
    if policy not in _CLASSES:
        raise ValueError(f'policy must be "other", "fifo" or "rr", not {policy!r}')
    if policy == "other":
        if rt_priority is not None:
            raise ValueError('rt_priority applies to the real-time policies "fifo" and "rr"')
        return lib.PK_CLASS_OTHER, 0
    if rt_priority is None:
        raise ValueError(f'policy "{policy}" needs rt_priority= 1..99 (99 is the highest)')
    return _CLASSES[policy], put(given, lib.PK_F_RT_PRIO, "rt_priority", rt_priority, "u32")


def _trace_bound(trace) -> int:
    """Kernel(trace=...) -> the most events to keep (0: no tracing)."""
    if trace is True:
        return DEFAULT_TRACE_EVENTS
    if trace is False or trace is None:
        return 0
    if isinstance(trace, bool) or not isinstance(trace, int):
        raise TypeError(f"trace must be True, False or a number of events, "
                        f"not {type(trace).__name__}")
    if not 1 <= trace <= 1 << 40:
        raise ValueError(f"trace must be between 1 and 2**40 events, not {trace}")
    return trace


def _config_value(name, value, lo, hi):
    """An int argument of a Kernel method in [lo, hi] (pykernel._validate)."""
    return int_range(f"Kernel {name}", value, lo, hi)


@locked_views(own=True)
class Kernel(RunControl):
    """A simulated machine (CPUs, cost model) with its kernel (scheduler,
    processes, threads) and a simulated clock in nanoseconds.

    ``cpus``: 1 to 256. ``scheduler``: a :mod:`pykernel.sched` policy
    (default ``CFS()``, Linux's default before 6.6), or a built-in
    policy's name in any case (``"RoundRobin"``: its default parameters;
    :func:`pykernel.sched.by_name`). ``costs``: a
    :class:`~pykernel.Costs` (default: the calibrated model;
    ``Costs.zero()`` for textbook numbers). ``seed``
    seeds the kernel's random generator.

    ``limits``: a :class:`~pykernel.Limits` bounding what the kernel may
    hold (host memory of the core, threads, processes, handles, queued
    messages, frames, trace events); the default protects the host (the
    core may hold at most three quarters of its physical memory).
    Reaching a limit raises ``NoMemory`` naming it ("Limits and memory"
    in docs/guide.md). ``max_threads`` (the threads a kernel may ever
    create) is deprecated: it duplicates ``limits=Limits(max_threads=...)``,
    which it still sets, with a DeprecationWarning.
    ``livelock_steps``: the host work one simulated instant may take
    (plus 64 per thread) before a run stops with reason "livelock"
    (default 1,000,000, milliseconds of host time): one unit per
    dispatcher step, per instruction a script runs at no simulated time or
    a machine-code thread executes, 16 per operation of a Python body
    (docs/guide.md, "Why a run stops").
    ``cache``: a :class:`~pykernel.CacheModel` of per-CPU caches (threads
    declare ``spawn(..., working_set=...)``); None: no cache model.

    ``runqueues``: "per-cpu" (each CPU has its own run queue; threads are
    placed on a CPU, balanced every ``balance_interval`` ns and stolen by
    idle CPUs) or "shared" (one queue for every CPU); the default is the
    policy's own (``scheduler.per_cpu``). Affinity masks need per-CPU
    queues, except under FIFO and RoundRobin, where a CPU takes the first
    queued thread allowed on it. ``steal=False``: a CPU going idle does
    not pull threads from other queues (balancing every
    ``balance_interval`` still does, unless that is 0).
    ``steal_interval=ns``: instead of stealing when idle, at every multiple
    of ``ns`` each CPU whose queue is empty takes the first queued thread it
    may run from the lowest-numbered other CPU that has one (OSTEP's
    multi.py ``-P``; docs/scheduling.md, "Cache affinity").

    ``rt_slice``: the SCHED_RR time slice (default 100 ms, as Linux).
    ``rt_throttle``: real-time runtime allowed per period, as a pair
    ``(runtime, period)`` in ns; True (the default) is Linux's 950 ms per
    1 s, False turns throttling off.

    ``job_log_limit``: how many completed jobs of periodic tasks
    (:meth:`Program.periodic`) the kernel's job log keeps, 40 bytes each
    (default 1,000,000); later jobs are counted (``jobs_dropped``) but not
    logged. Job counts (``job_stats``, ``deadline_misses``) stay exact.

    ``memory``: a :class:`~pykernel.Memory` gives every process an
    address space (``p.aspace``) with page tables in the format of
    ``mmu`` (a :class:`~pykernel.MMU`, default x86-64 4-level); None (the
    default) means no virtual memory, and costs nothing
    (docs/memory.md).

    ``trace``: True records typed events (switches, wake-ups, blocks,
    faults, IPC, migrations, exits) into ``k.trace`` (a
    :class:`~pykernel.Trace`), at most 1,000,000 of them (24 bytes each);
    an int sets that bound. Events beyond it are dropped and counted
    (``k.trace.dropped``). False (the default): ``k.trace`` is None and
    tracing costs nothing (docs/observability.md).

    ``epoch``: the wall-clock time at simulated time 0, for machine-code
    processes (CLOCK_REALTIME, ``time()``): seconds since 1970 or a
    :class:`datetime.datetime` with a time zone; the default is the fixed
    date 2000-01-01T00:00:00Z (946684800), so runs stay deterministic
    (docs/riscv.md).

    A kernel may be used from several host threads: each call holds the
    kernel's lock, and a call from a second thread waits for the first
    (docs/guide.md, "Host threads").
    """

    def __init__(self, cpus: int = 1, scheduler: Policy | str | None = None,
                 costs: Costs | None = None,
                 memory=None, mmu=None, seed: int = 0, trace: bool | int = False,
                 max_threads: int | None = None, livelock_steps: int = 1_000_000,
                 runqueues: str | None = None, balance_interval: int = 4_000_000,
                 rt_slice: int = 100_000_000, rt_throttle=True,
                 job_log_limit: int = DEFAULT_JOB_LOG_LIMIT, limits: Limits | None = None,
                 epoch=_riscv.DEFAULT_EPOCH, cache=None, steal: bool = True,
                 steal_interval: int | None = None):
        from .cache import CacheModel
        if cache is not None and not isinstance(cache, CacheModel):
            raise TypeError(f"cache must be a pk.CacheModel, not {type(cache).__name__}")
        given: dict = {}     # values clamped to their C field (ranges: config_check in C)
        cpus_c = put(given, lib.PK_F_CPUS, "Kernel cpus", cpus, "u32")
        scheduler = CFS() if scheduler is None else scheduler
        if isinstance(scheduler, str):                # a name, with default parameters
            scheduler = _sched_by_name(scheduler)
        if not isinstance(scheduler, Policy):
            raise TypeError(f"scheduler must be a pk.sched policy such as pk.sched.RoundRobin() "
                            f"or its name, not {type(scheduler).__name__}")
        costs = Costs() if costs is None else costs
        if not isinstance(costs, Costs):
            raise TypeError(f"costs must be a pk.Costs, not {type(costs).__name__}")
        if mmu is not None and memory is None:
            memory = Memory()
        if memory is not None and not isinstance(memory, Memory):
            raise TypeError(f"memory must be a pk.Memory, not {type(memory).__name__}")
        if mmu is not None and not isinstance(mmu, MMU):
            raise TypeError(f"mmu must be a pk.MMU, not {type(mmu).__name__}")
        if memory is not None and mmu is None:
            mmu = MMU()
        trace_max = _trace_bound(trace)
        u64("Kernel seed", seed)
        if limits is None:
            limits = Limits()
        elif not isinstance(limits, Limits):
            raise TypeError(f"limits must be a pk.Limits, not {type(limits).__name__}")
        if max_threads is not None:
            _deprecated("Kernel(max_threads=...)", "Kernel(limits=pk.Limits(max_threads=...))")
            u32("Kernel max_threads", max_threads)        # its range: Limits
            limits = replace(limits, max_threads=max_threads)
        max_threads = limits.max_threads
        if limits.max_frames is not None and memory is not None \
                and memory.frames > limits.max_frames:
            raise OutOfRange(f"Memory(frames={memory.frames}) passes the frame limit "
                             f"(max_frames={limits.max_frames})")
        if limits.max_trace_events is not None and trace_max > limits.max_trace_events:
            raise OutOfRange(f"trace={trace_max} events passes the trace limit "
                             f"(max_trace_events={limits.max_trace_events})")
        livelock_steps = put(given, lib.PK_F_LIVELOCK, "Kernel livelock_steps", livelock_steps, "u64")
        job_log_limit = put(given, lib.PK_F_JOB_LOG_LIMIT, "Kernel job_log_limit", job_log_limit,
                            "u64")

        cfg = ffi.new("pk_config *")
        cfg.cpus = cpus_c
        limits._configure(cfg)
        cfg.seed = seed
        cfg.livelock_steps = livelock_steps
        cfg.job_log_limit = job_log_limit
        cfg.epoch = _riscv.epoch_seconds(epoch)
        costs._configure(cfg.costs)
        if runqueues is None:
            runqueues = "per-cpu" if scheduler.per_cpu else "shared"
        if runqueues not in ("per-cpu", "shared"):
            raise ValueError(f'runqueues must be "per-cpu" or "shared", not {runqueues!r}')
        cfg.shared_rq = runqueues == "shared"
        cfg.balance_ns = duration("balance_interval", balance_interval)
        if not isinstance(steal, bool):
            raise TypeError(f"Kernel steal must be a bool, not {type(steal).__name__}")
        cfg.no_steal = not steal
        if steal_interval is not None:
            if not steal:
                raise ValueError("steal=False and steal_interval exclude each other")
            cfg.steal_ns = duration("steal_interval", steal_interval)
            if cfg.steal_ns == 0:
                raise ValueError("steal_interval must be > 0 ns (None: steal when idle)")
            cfg.no_steal = 1                # peeking replaces stealing when idle
        cfg.rt_slice = duration("rt_slice", rt_slice)
        if rt_throttle is True:
            rt_throttle = (950_000_000, 1_000_000_000)
        if rt_throttle is False or rt_throttle is None:
            cfg.rt_runtime = cfg.rt_period = 0
        else:
            try:
                runtime, period = rt_throttle
            except (TypeError, ValueError):
                raise TypeError("rt_throttle must be True, False or a (runtime, period) pair "
                                "of ns") from None
            cfg.rt_runtime = duration("rt_throttle runtime", runtime)
            cfg.rt_period = duration("rt_throttle period", period)
        host = None
        is_host = scheduler._id == lib.PK_POLICY_HOST      # written in Python
        # the core checks the configuration before a Python policy is copied
        # per run queue (its parameters, made by HostPolicy, are not rules)
        scheduler._configure(cfg, [0] * lib.PK_HOST_PARAMS if is_host else None)
        refused = _refusal.config_error(cfg, "", given)   # its message names the field
        if refused is not None:
            raise refused
        if is_host:
            host = HostPolicy(scheduler, 1 if runqueues == "shared" or cpus == 1 else cpus)
            scheduler._configure(cfg, host.params())
        out = ffi.new("pk_kernel **")
        status = lib.pk_kernel_create(cfg, out)
        if status == lib.PK_ERR_NO_MEMORY and limits.max_memory:
            raise limit_error(limits, lib.PK_LIMIT_MEMORY, "create kernel")
        check(status, "create kernel")      # its rules passed above: host memory
        self._kp = ffi.gc(out[0], lib.pk_kernel_destroy)
        self.limits = limits
        if cache is not None:
            check(lib.pk_cache_configure(self._kp, cache.size, cache.warmup, cache.speedup),
                  "configure the cache model")
        self.cache = cache
        try:
            self._configure_parts(memory, mmu, trace_max)
        except NoMemory as exc:
            raise self._limit_reached(str(exc)) or exc from None
        self._host = host
        if host is not None:
            host.bind(self)
        self._init_state(cpus, scheduler, costs, seed, max_threads, runqueues)

    def _configure_parts(self, memory, mmu, trace_max) -> None:
        """Virtual memory and tracing, once the core's kernel exists."""
        if memory is not None:
            m, u = ffi.new("pk_mem_config *"), ffi.new("pk_mmu_config *")
            memory._configure(m)
            u.format = FORMATS[mmu.format]
            u.tlb_entries, u.tlb_ways = mmu.tlb_entries, mmu.tlb_ways
            u.asid, u.tlb_random = mmu.asid, mmu.tlb_replacement == "random"
            check(lib.pk_mem_configure(self._kp, m, u), "configure memory")
        self.memory = memory
        self.mmu = mmu
        self.trace = None
        if trace_max:
            check(lib.pk_trace_enable(self._kp, trace_max), "enable tracing")
            self.trace = Trace(self)

    def _init_state(self, cpus, scheduler, costs, seed, max_threads, runqueues) -> None:
        """The Python side's own state (also of a restored kernel,
        pykernel/snapshot.py, which then fills it in)."""
        self._lock = KernelLock()          # the host-thread rule: pykernel/_lock.py
        self._rlock = self._lock.rlock     # its fast path
        self.cpus = cpus
        self.scheduler = scheduler
        self.costs = costs
        self.seed = seed
        self.max_threads = max_threads
        self.runqueues = runqueues
        self._programs: list[Program] = []   # index = program id in the core
        self._prog_ids: dict[int, int] = {}  # id(Program) -> program id
        self._prog_keys: dict = {}           # restored script programs by content -> id
        self._names: dict[int, str] = {}     # pid -> name given at spawn
        self._hosts: dict[int, tuple] = {}   # tid -> (fn, args, pid), not started
        self._gens: dict[int, tuple] = {}    # tid -> (generator, pid, its Context, ctx._made)
        self._sent: dict[int, tuple] = {}    # tid -> what the core's upcall left (run.py)
        self._errors: dict[int, BaseException] = {}
        self._doomed: dict[int, tuple] = {}  # tid -> kill op of a body whose exception left run()
        self._rv_streams: list = []          # [pid, fd, callable, bytes delivered] (riscv.py)
        self._waiting: int | None = None     # host thread waiting for its op
        self._resume: tuple | None = None    # (op, arg) computed for it
        self._running = False
        self._run_thread = None              # the host thread running it (threading id)
        self._holds = 0                      # depth of hold() blocks (of the lock's holder)
        self._in_core = False                # in a C call that may call policy hooks
        # kernel objects (objects.py): reused out-buffers, blocked host threads
        self._obj_u32 = ffi.new("uint32_t *")
        self._obj_info = ffi.new("pk_handle_info *")
        self._obj_bufs = None
        self._blocked: dict[int, object] = {}   # tid -> the ctx operation it waits in

    def _thread_create(self, pid: int, program, args) -> "Thread":
        from .process import Thread
        if not isinstance(program, Program):
            raise TypeError(f"thread_create needs a pk.Program, not {type(program).__name__}")
        if not isinstance(args, tuple):
            raise TypeError(f"args must be a tuple, not {type(args).__name__}")
        if args and program.kind != "python":
            raise TypeError("args are passed to Python thread bodies; script programs take none")
        if program.kind == "elf":
            raise pk_errors.NotSupported("a machine-code thread is made by its program "
                                         "(clone, e.g. pthread_create), not by thread_create")
        out = ffi.new("uint32_t *")
        with self._exclusive("create a thread"):
            prog = self._load(program)
            check(lib.pk_thread_create(self._kp, pid, prog, 0, out), "thread_create")
            if program.kind == "python":
                self._hosts[out[0]] = (program.fn, args, pid)
        return Thread(self, out[0])

    def _tid_pid(self, tid: int) -> int:
        info = ffi.new("pk_thread_info *")
        check(lib.pk_thread_info_get(self._kp, tid, info), "thread info")
        return info.pid

    def _obj_read_bufs(self):
        """Buffers for channel reads (allocated at the first read)."""
        if self._obj_bufs is None:
            self._obj_bufs = (ffi.new("uint8_t[]", lib.PK_CHAN_MAX_BYTES),
                              ffi.new("uint32_t[]", lib.PK_CHAN_MAX_HANDLES),
                              ffi.new("pk_msg_info *"))
        return self._obj_bufs

    def deadlocks(self) -> list:
        """The cycles of the wait-for graph now (:class:`~pykernel.Deadlock`:
        mutexes, channel reads and waits for a process's end; see
        docs/objects.md), each from its smallest tid."""
        from .deadlock import cycles
        return cycles(self)

    def wait_for_graph(self) -> list:
        """Every edge of the wait-for graph now (:class:`~pykernel.WaitEdge`)."""
        from .deadlock import _edges
        return _edges(self)

    def job_create(self, parent=None, max_processes: int | None = None,
                   max_handles: int | None = None, max_memory: int | None = None):
        """A new job (:class:`~pykernel.JobObject`), a child of ``parent``
        or a root. Limits count over its whole subtree: live processes,
        the handles they hold, and (a kernel with memory only) the bytes of
        their resident user pages."""
        from .jobs import create
        return create(self, parent, max_processes, max_handles, max_memory)

    @property
    def object_stats(self) -> "_objects.ObjectStats":
        """Kernel-object counters (see :class:`~pykernel.ObjectStats`).
        A property; the old call ``k.object_stats()`` still works and
        warns (DeprecationWarning)."""
        return _objects._stats(self)

    @contextmanager
    def _exclusive(self, what: str):
        """Hold the kernel's lock (waiting for another host thread to be
        done with it) to change the kernel; refused inside a policy hook."""
        self._lock.acquire()
        try:
            if self._in_core:
                raise BadState(f"cannot {what} from inside a hook of the scheduling policy: "
                               f"hooks may read the kernel but not change it")
            yield
        finally:
            self._lock.release()

    @contextmanager
    def hold(self):
        """``with k.hold(): ...`` makes a sequence of calls from this host
        thread atomic: other threads that use the kernel wait until the
        block ends, even during a run inside it (which otherwise lets
        them in between two slices). E.g. ``with k.hold(): k.run(until=k.now
        + 1000)`` runs exactly 1000 ns from the time it reads."""
        self._lock.acquire()
        self._holds += 1
        try:
            yield self
        finally:
            self._holds -= 1
            self._lock.release()

    def _limit_reached(self, context: str) -> NoMemory | None:
        """The NoMemory naming the limit that refused the latest operation
        (``context`` says which operation), or None if none did; forgets it."""
        raw = ffi.new("pk_limit_stats *")
        if lib.pk_limits_get(self._kp, raw):
            return None
        context = context.removesuffix(f": {NoMemory.words}")
        if raw.last == lib.PK_LIMIT_NONE:
            return other_limit_error(self, context)
        lib.pk_limit_clear(self._kp)
        return limit_error(self.limits, raw.last, context)

    @property
    def limit_usage(self) -> dict:
        """Each limit the core enforces, by its :class:`~pykernel.Limits`
        field: a :class:`~pykernel.LimitUse` with what it counts now, the
        limit, and how many operations it has refused (in runs too). A
        property; the old call ``k.limit_usage()`` still works and warns."""
        raw = ffi.new("pk_limit_stats *")
        check(lib.pk_limits_get(self._kp, raw), "limit usage")
        return CalledDict("Kernel.limit_usage", usage(self.limits, raw))

    def _pagers(self) -> dict:
        """The fault handlers written in Python, pid -> handler
        (``aspace.set_fault_handler``; pykernel/memory.py reads and sets
        them). Made on first use, so a kernel with none keeps no table."""
        return self.__dict__.setdefault("_pager_table", {})

    @contextmanager
    def _hooks_may_run(self):
        """Around a call into the core that may call hooks of a policy
        written in Python: they may not change the kernel meanwhile, and
        a failure of theirs is raised afterwards."""
        self._in_core = True
        try:
            yield
        finally:
            self._in_core = False
        if self._host is not None and self._host.reported is None:
            f = ffi.new("pk_policy_failure *")
            lib.pk_host_policy_failure(self._kp, f)
            if f.hook:
                raise self._host.error(self._kp)

    @property
    def schedulers(self) -> tuple:
        """The policy object serving each run queue. For a policy written
        in Python with per-CPU queues: the object given (CPU 0's queue),
        then a copy of it per other CPU; otherwise ``(scheduler,)``."""
        if self._host is not None:
            return tuple(self._host.objects)
        return (self.scheduler,)

    # ---- programs and processes -----------------------------------------

    def _load(self, program: Program) -> int:
        if program.kind == "python" and program.fn is None:
            raise pk_errors.NotSupported(
                f"program {program.name!r} came from a snapshot without its Python body "
                f"(generator functions are not captured); spawn a Program.python made anew")
        pid = self._prog_ids.get(id(program))
        if pid is not None and self._programs[pid] is program:
            return pid
        if self._prog_keys and program.kind in ("script", "elf"):   # a restored kernel's copy
            from .snapshot import _program_key
            pid = self._prog_keys.pop(_program_key(program), None)
            if pid is not None:
                self._programs[pid] = program
                self._prog_ids[id(program)] = pid
                return pid
        out = ffi.new("uint32_t *")
        if program.kind == "script":
            n = program.instructions
            ops = ffi.from_buffer("pk_op[]", program._linked_code(self._load)) if n else ffi.NULL
            check(lib.pk_prog_load_script(self._kp, ops, n, out), f"load program {program.name!r}")
        elif program.kind == "elf":
            out[0] = _riscv.load(self, program)
        else:
            check(lib.pk_prog_load_host(self._kp, out), f"load program {program.name!r}")
        if out[0] > len(self._programs):               # programs execve made in between
            self._program_at(out[0] - 1)
        self._programs.append(program)
        self._prog_ids[id(program)] = out[0]
        return out[0]

    def _mask(self, cpus) -> list[int]:
        """An affinity given as CPU numbers -> four 64-bit words (the
        core's rules for it: pk_affinity_check)."""
        if isinstance(cpus, (str, bytes)) or not hasattr(cpus, "__iter__"):
            raise TypeError("affinity must be an iterable of CPU numbers, e.g. {0, 1}")
        words = [0, 0, 0, 0]
        for cpu in cpus:
            cpu = integer("affinity CPU", cpu)
            if not 0 <= cpu < lib.PK_MAX_CPUS:                 # the mask's size
                raise ValueError(f"affinity CPU must be between 0 and {lib.PK_MAX_CPUS - 1} "
                                 f"(the size of a mask), got {cpu}")
            words[cpu >> 6] |= 1 << (cpu & 63)
        return words

    def _spawn(self, program, count, at, nice, priority, burst, args, policy, rt_priority,
               tickets, cpu, affinity, rss_limit=None, rv=(None, None, b"", None, None)):
        if not isinstance(program, Program):
            raise TypeError(f"spawn needs a pk.Program (from Program.script or Program.python) "
                            f"or the path of a file in k.fs, not {type(program).__name__}")
        if rss_limit is not None:
            rss_limit = rss_limit_arg(self.memory, rss_limit)
        # Python checks types and C field sizes; every rule is spawn_check's
        # in C, which pk_spawn_check explains (pykernel/_refusal.py)
        at = self.now if at is None else duration("spawn at", at)
        given: dict = {}             # values clamped to their C field (_validate.put)
        nice = put(given, lib.PK_F_NICE, "nice", nice, "i32")
        priority = put(given, lib.PK_F_PRIORITY, "priority", priority, "i32")
        if burst is None:
            burst = NO_BURST
        else:     # 2**64 - 1 is the core's "none", so it goes in as a value the core refuses
            burst = put(given, lib.PK_F_BURST, "burst", burst, "u64")
            if burst == NO_BURST:
                given[lib.PK_F_BURST] = ("burst", burst, "u64")
                burst -= 1
        if not isinstance(args, tuple):
            raise TypeError(f"args must be a tuple, not {type(args).__name__}")
        if args and program.kind != "python":
            raise TypeError("args are passed to Python thread bodies; script programs take none")
        sclass, rt_priority = _sched_class(policy, rt_priority, given)
        tickets = put(given, lib.PK_F_TICKETS, "tickets", tickets, "u32")
        if cpu is None:
            cpu = -1                    # the core's "any CPU"
        else:                           # so a negative one goes in as one the core refuses
            cpu = put(given, lib.PK_F_CPU, "cpu", cpu, "i32")
            if cpu < 0:
                given.setdefault(lib.PK_F_CPU, ("cpu", cpu, "i32"))
                cpu = -2
        mask = None if affinity is None else self._mask(affinity)
        if program.kind == "elf" and count == 1:
            _riscv._ensure_memory(self)
        what = f"spawn {count} x {program.name!r}" if count > 1 else f"spawn {program.name!r}"
        with self._exclusive("spawn"):
            prog = self._load(program)
            a = ffi.new("pk_spawn_args *")
            a.prog, a.at, a.priority, a.nice, a.burst = prog, at, priority, nice, burst
            a.sclass, a.rt_prio, a.tickets, a.cpu = sclass, rt_priority, tickets, cpu
            if mask is not None:
                a.has_affinity = 1
                for i, w in enumerate(mask):
                    a.affinity[i] = w
            refused = _refusal.spawn_error(self._kp, a, count, what, program.name,
                                           type(self.scheduler).__name__, given)
            if refused is not None:
                raise refused
            if program.kind == "elf":
                return _riscv.spawn(self, program, a, *rv)
            first_pid = ffi.new("uint32_t *")
            first_tid = ffi.new("uint32_t *")
            status = lib.pk_spawn(self._kp, a, count, first_pid, first_tid)
            if status == lib.PK_ERR_POLICY and self._host is not None:
                raise self._host.error(self._kp)
            check(status, what)
            if rss_limit is not None:
                check(lib.pk_as_set_rss_limit(self._kp, first_pid[0], count, rss_limit), "rss_limit")
            if program.kind == "python":
                fn = program.fn
                for i in range(count):
                    self._hosts[first_tid[0] + i] = (fn, args, first_pid[0] + i)
            return first_pid[0]

    def _set_attr(self, tid, attr, value, what) -> None:
        """Set a thread attribute (PK_ATTR_*), named ``what`` in messages;
        its rules are the core's (pk_attr_check)."""
        given: dict = {}
        field = {lib.PK_ATTR_NICE: lib.PK_F_NICE, lib.PK_ATTR_PRIORITY: lib.PK_F_PRIORITY,
                 lib.PK_ATTR_TICKETS: lib.PK_F_TICKETS, lib.PK_ATTR_SLICE: lib.PK_F_SLICE}[attr]
        value = put(given, field, what, value, "i64")
        why = ffi.new("pk_refusal *")
        status = lib.pk_attr_check(self._kp, attr, value, why)
        if status:
            raise pk_errors.error(status, f"set {what} of tid {tid}",
                                  _refusal.explain(why, policy=type(self.scheduler).__name__, given=given))
        with self._exclusive(f"set {what}"), self._hooks_may_run():
            check(lib.pk_thread_set_attr(self._kp, tid, attr, value), f"set {what} of tid {tid}")

    def _transfer_tickets(self, src, dst, n) -> None:
        given: dict = {}
        n = put(given, lib.PK_F_TICKETS_GIVEN, "transfer_tickets n", n, "u32")
        why = ffi.new("pk_refusal *")
        with self._exclusive("transfer tickets"):
            status = lib.pk_tickets_transfer_check(self._kp, src, dst, n, why)
            shown = given[lib.PK_F_TICKETS_GIVEN][1] if given else n
            what = f"transfer {shown} tickets from tid {src} to tid {dst}"
            if status and why.reason:
                raise pk_errors.error(status, what, _refusal.explain(why, given=given))
            check(status, what)
            check(lib.pk_thread_transfer_tickets(self._kp, src, dst, n), what)

    def _set_class(self, tid, policy, rt_priority) -> None:
        given: dict = {}
        sclass, prio = _sched_class(policy, rt_priority, given)
        why = ffi.new("pk_refusal *")
        status = lib.pk_class_check(sclass, prio, why)
        if status:
            raise pk_errors.error(status, f"set policy of tid {tid}",
                                  _refusal.explain(why, given=given))
        with self._exclusive("set policy"), self._hooks_may_run():
            check(lib.pk_thread_set_class(self._kp, tid, sclass, prio), f"set policy of tid {tid}")

    def _set_affinity(self, tid, cpus) -> None:
        words = ffi.new("uint64_t[4]", self._mask(cpus))
        why = ffi.new("pk_refusal *")
        status = lib.pk_affinity_check(self._kp, words, why)
        if status:
            raise pk_errors.error(status, f"set affinity of tid {tid}", _refusal.explain(
                why, policy=type(self.scheduler).__name__))
        with self._exclusive("set affinity"), self._hooks_may_run():
            check(lib.pk_thread_set_affinity(self._kp, tid, words),
                  f"set affinity of tid {tid}")

    def _kill(self, pid: int) -> None:
        with self._exclusive("kill"), self._hooks_may_run():
            check(lib.pk_proc_kill(self._kp, pid, lib.PK_KILL_HOST), f"kill pid {pid}")

    def spawn(self, program: Program, name: str | None = None, at: int | None = None,
              nice: int = 0, priority: int = 0, burst: int | None = None,
              args: tuple = (), policy: str = "other", rt_priority: int | None = None,
              tickets: int = 100, cpu: int | None = None, affinity=None,
              rss_limit: int | None = None, handles=(), parent: Process | None = None,
              uid: int | None = None, gid: int | None = None, job=None,
              argv=None, env=None, stdin=b"", stdout=None, stderr=None,
              slice: int | None = None, working_set: int | None = None,
              sched: SchedParams | None = None, cwd=None) -> Process:
        """Create a process running ``program`` with one thread.

        ``sched``: a :class:`~pykernel.SchedParams` holding the scheduling
        keywords as one object (``nice``, ``priority``, ``burst``,
        ``policy``, ``rt_priority``, ``tickets``, ``cpu``, ``affinity``);
        each may also be given as a keyword, as below (the same field
        given both ways with different values is ``InvalidArgs``).

        ``at``: arrival time in ns (default now; not in the past).
        ``priority``: static priority (Priority policy: 0..139, lower runs
        first). ``nice`` (-20..19): weight for the fair-share policies.
        ``burst`` declares its CPU burst for SJF/STCF (scripts declare
        their total compute by default). ``args`` are passed to a Python
        body after ``ctx``.

        ``policy``: the thread's scheduling class, "other" (the kernel's
        scheduler), or "fifo" / "rr" for Linux's real-time SCHED_FIFO /
        SCHED_RR, which always run before "other" threads; those need
        ``rt_priority`` 1..99 (99 is the highest). ``tickets``: share for
        Lottery and Stride (default 100). ``cpu``: the CPU whose run queue
        it starts on (per-CPU run queues). ``affinity``: the CPUs it may
        run on (an iterable of CPU numbers; default all). ``rss_limit``:
        resident user pages allowed (page-table pages do not count); at the
        limit a fault first sends one of the process's own pages to swap
        (local replacement; needs ``pk.Memory(swap=...)``; docs/memory.md).

        ``handles``: handles (of one other process, each with TRANSFER)
        that move into the new process's table at slots 0, 1, ...; script
        instructions name them by slot (docs/objects.md).
        ``parent``: a process that receives a handle to the new one (to wait
        for its TERMINATED signal, inspect or kill it) and whose
        credentials it inherits. ``uid``, ``gid``: its credentials
        (default the parent's, else root, 0). ``job``: the
        :class:`~pykernel.JobObject` it belongs to (``NoMemory`` if the
        job's process limit is reached, ``BadState`` if it was killed).

        Machine code (``Program.elf``, docs/riscv.md): ``argv`` (default
        ``[program.name]``), ``env`` (a dict or "NAME=value" strings),
        ``stdin`` (bytes it reads from fd 0), and ``stdout`` / ``stderr``:
        callables handed each new chunk of output as bytes while the kernel
        runs (the bytes also stay in ``p.stdout`` / ``p.stderr``). A kernel
        without memory gets ``pk.Memory()`` with Sv39 page tables when its
        first process is machine code.

        ``working_set``: the thread's working set for the kernel's cache
        model (``pk.Kernel(cache=pk.CacheModel(...))``, docs/scheduling.md,
        "Cache affinity").

        ``slice``: under EEVDF, the thread's own slice in ns (Linux 6.12's
        ``sched_attr.sched_runtime``, 100 us .. 100 ms; None: the policy's);
        see :meth:`Thread.set_slice`. Other policies refuse it
        (:class:`~pykernel.errors.NotSupported`).

        A ``str`` program is a path in the kernel's file system
        (:attr:`fs`, docs/userland.md), resolved as execve(2) resolves it
        for the new process's credentials: symbolic links followed,
        execute permission needed (:class:`~pykernel.AccessDenied`), an
        ELF file or a ``#!`` script (:class:`~pykernel.NotExecutable`);
        ``argv`` defaults to ``[path]``. ``cwd``: the process's working
        directory in the file system (default the ``parent``'s, else ``/``).
        """
        if slice is not None:
            slice = self._check_slice(slice)
        if working_set is not None:
            if getattr(self, "cache", None) is None:
                raise ValueError("working_set needs a kernel with a cache model: "
                                 "pk.Kernel(cache=pk.CacheModel(...))")
            working_set = _config_value("working_set", working_set, 0, MAX_TIME)
        if isinstance(program, Program) and program.kind != "elf" and (
                argv is not None or env is not None or stdin != b"" or stdout or stderr):
            raise TypeError("argv, env, stdin, stdout and stderr are for machine-code "
                            "programs (Program.elf)")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        if parent is not None and (not isinstance(parent, Process) or parent._k is not self):
            raise TypeError("parent must be a Process of this kernel")
        pu, pg = parent._creds() if parent is not None else (0, 0)
        uid = pu if uid is None else _config_value("uid", uid, 0, 0xFFFFFFFF)
        gid = pg if gid is None else _config_value("gid", gid, 0, 0xFFFFFFFF)
        cwd_ino = None
        if isinstance(program, str) or cwd is not None:
            from . import fs as _fs
            cwd_ino = _fs.resolve_cwd(self, "/" if cwd is None else cwd, uid, gid)
            if isinstance(program, str):
                program, argv = _fs.executable(self, program, [program] if argv is None else argv,
                                               uid, gid, "/" if cwd is None else cwd)
        if parent is not None and parent.state in ("exited", "killed", "zombie"):
            raise BadState(f"parent {parent.name!r} has ended")
        src, values = _objects._initial_handles(self, handles)
        if job is not None:
            from .jobs import JobObject
            if not isinstance(job, JobObject) or job._k is not self:
                raise TypeError("job must be a JobObject of this kernel")
            check(lib.pk_jobobj_check_spawn(self._kp, job.id), "spawn into job")
            node = job
            while node is not None and values:      # room for the handles it is given
                if node.max_handles is not None and node.handle_count + len(values) > node.max_handles:
                    raise pk_errors.NoMemory(f"spawn: {len(values)} handles would pass the "
                                             f"limit of {node.max_handles} of {node!r}")
                node = node.parent
        sp = _sched_merge(sched, nice=nice, priority=priority, burst=burst, policy=policy,
                          rt_priority=rt_priority, tickets=tickets, cpu=cpu, affinity=affinity)
        pid = self._spawn(program, 1, at, sp.nice, sp.priority, sp.burst, args, sp.policy,
                          sp.rt_priority, sp.tickets, sp.cpu, sp.affinity, rss_limit,
                          (argv, env, stdin, stdout, stderr))
        with self._exclusive("spawn"):
            if job is not None:
                check(lib.pk_jobobj_add(self._kp, job.id, pid), "spawn into job")
            if values:
                _objects._move(self, src, pid, values)
            if uid or gid:
                check(lib.pk_proc_creds_set(self._kp, pid, uid, gid), "credentials")
            if parent is not None:                   # the process tree (docs/processes.md)
                check(lib.pk_proc_set_parent(self._kp, pid, parent.pid), "spawn: parent")
            if cwd is not None:
                _fs.set_cwd(self, pid, cwd_ino)
            elif parent is not None:
                from . import fs as _fs
                _fs.inherit_cwd(self, parent.pid, pid)
        if slice:
            self._set_attr(Process(self, pid).threads[0].tid, lib.PK_ATTR_SLICE, slice, "slice")
        if working_set is not None:
            check(lib.pk_thread_set_working_set(self._kp, Process(self, pid).threads[0].tid,
                                                working_set), "set the working set")
        if parent is not None:
            parent.handle_to(Process(self, pid))
        if name is not None:
            self._names[pid] = name
        return Process(self, pid)

    def _check_slice(self, ns) -> int:
        """A per-thread slice (EEVDF only): 0, or 100 us .. 100 ms; the
        rule is the core's (pk_attr_check), asked before a spawn."""
        given: dict = {}
        ns = put(given, lib.PK_F_SLICE, "slice", ns, "i64")
        why = ffi.new("pk_refusal *")
        status = lib.pk_attr_check(self._kp, lib.PK_ATTR_SLICE, ns, why)
        if status:
            raise pk_errors.error(status, "slice", _refusal.explain(
                why, policy=type(self.scheduler).__name__, given=given))
        return ns

    def spawn_many(self, program: Program, count: int, at: int | None = None, nice: int = 0,
                   priority: int = 0, burst: int | None = None, args: tuple = (),
                   policy: str = "other", rt_priority: int | None = None, tickets: int = 100,
                   cpu: int | None = None, affinity=None,
                   rss_limit: int | None = None,
                   sched: SchedParams | None = None) -> ProcessGroup:
        """Create ``count`` processes of one program in one call into the
        core (fast: a million script processes take well under a second).
        Arguments as for :meth:`spawn` (``sched=`` included); processes are
        named ``"<program>-<pid>"``."""
        count = _config_value("spawn_many count", count, 1, 0xFFFFFFFF)
        sp = _sched_merge(sched, nice=nice, priority=priority, burst=burst, policy=policy,
                          rt_priority=rt_priority, tickets=tickets, cpu=cpu, affinity=affinity)
        pid = self._spawn(program, count, at, sp.nice, sp.priority, sp.burst, args, sp.policy,
                          sp.rt_priority, sp.tickets, sp.cpu, sp.affinity, rss_limit)
        return ProcessGroup(self, pid, count)

    def _proc_name(self, pid: int) -> str:
        name = self._names.get(pid)
        if name is None:
            info = ffi.new("pk_proc_info *")
            check(lib.pk_proc_info_get(self._kp, pid, info), "process info")
            name = f"{self._program_at(info.prog).name}-{pid}"
        return name

    def _program_at(self, prog: int) -> Program:
        """The Program of core program id ``prog``; programs the core made
        itself (execve(2) of a file not yet loaded, docs/userland.md) get
        a Program made from their image's bytes on first use."""
        while len(self._programs) <= prog:
            i = len(self._programs)
            n = ffi.new("uint64_t *")
            check(lib.pk_rv_image_data(self._kp, i, ffi.NULL, 0, n), "program image")
            buf = ffi.new("uint8_t[]", max(n[0], 1))
            check(lib.pk_rv_image_data(self._kp, i, buf, n[0], n), "program image")
            program = Program.elf(bytes(ffi.buffer(buf, n[0])), name=f"exec-{i}")
            self._programs.append(program)
            self._prog_ids[id(program)] = i
        return self._programs[prog]

    def _programs_all(self) -> list:
        """Every program of the core, those execve made included."""
        n = ffi.new("uint64_t *")
        while lib.pk_rv_image_data(self._kp, len(self._programs), ffi.NULL, 0, n) == lib.PK_OK:
            self._program_at(len(self._programs))
        return self._programs

    def process(self, pid: int) -> Process:
        """The process with this pid."""
        pid = operator.index(pid)
        if not 0 <= pid < self._stats_raw().processes:
            raise InvalidArgs(f"no process with pid {pid}")
        return Process(self, pid)

    @property
    def processes(self) -> ProcessGroup:
        """Every process ever spawned, in pid order."""
        return ProcessGroup(self, 0, self._stats_raw().processes)

    # ---- running (the loop itself: run.py) --------------------------------

    def run(self, until: int | None = None, progress: bool | None = None) -> RunResult:
        """Simulate until ``until`` (ns, exclusive: events at exactly
        ``until`` are left for the next run) or until nothing can run any
        more. Returns a :class:`RunResult` whose ``reason`` says which.

        ``progress``: show a progress line on stderr (default: only when
        stderr is a terminal and the run takes more than a second).
        Ctrl-C interrupts a run between two slices (each at most
        ``STEP_BUDGET`` units of host work: dispatcher steps and
        interpreted instructions); the kernel stays usable.
        """
        now = self.now
        if until is None:
            until_c = FOREVER
        else:
            until_c = duration("run until", until)
            if until_c < now:
                raise ValueError(f"run until={until_c} is in the past (now is {now} ns)")
        raw = self._stats_raw()
        if raw.live_threads == 0:
            if raw.threads:
                raise BadState("the kernel has finished: every process has exited. "
                               "Spawn more processes before running it again.")
            raise BadState("nothing to run: spawn processes before running the kernel")
        if self._running and self._run_thread == threading.get_ident():
            raise BadState("this kernel is already running (run() is not re-entrant)")
        with self._exclusive("run"):
            if self._running:
                # another host thread's run let us in between two slices: wait for its end
                self._lock.wait_until(lambda: not self._running)
                return self.run(until, progress)
            self._run_thread = threading.get_ident()
            return self._run(until_c, now, raw, progress)

    # ---- observation ------------------------------------------------------

    def _stats_raw(self):
        s = ffi.new("pk_kernel_stats *")
        check(lib.pk_kernel_stats_get(self._kp, s), "kernel stats")
        return s

    def _switches(self) -> int:
        return self._stats_raw().context_switches

    @property
    def now(self) -> int:
        """The simulated time in ns."""
        return lib.pk_kernel_now(self._kp)

    @property
    def epoch(self) -> int:
        """CLOCK_REALTIME at simulated time 0, in seconds since 1970
        (``Kernel(epoch=...)``)."""
        return lib.pk_kernel_epoch(self._kp)

    def cpu_stats(self, cpu: int) -> CpuStats:
        """Accounting of one CPU (see :class:`CpuStats`)."""
        cpu = _config_value("cpu", cpu, 0, self.cpus - 1)
        c = ffi.new("pk_cpu_stats *")
        check(lib.pk_cpu_stats_get(self._kp, cpu, c), "cpu stats")
        return CpuStats(cpu, c.busy, c.idle, c.overhead, c.switches,
                        None if c.running_tid < 0 else c.running_tid, c.queued, c.migrations_in)

    @property
    def stats(self) -> KernelStats:
        """Kernel-wide counters and per-CPU accounting, as of now."""
        s = self._stats_raw()
        return KernelStats(s.now, s.context_switches, s.steps, s.events, s.threads,
                           s.processes, s.live_threads, s.ready, s.pending_events,
                           s.memory_bytes, tuple(self.cpu_stats(i) for i in range(self.cpus)),
                           s.migrations, s.balance_runs)

    # ---- periodic jobs ----------------------------------------------------

    def _job_totals(self):
        out = ffi.new("pk_job_totals *")
        check(lib.pk_job_totals_get(self._kp, out), "job totals")
        return out

    def _job_log(self, tid: int, cap: int | None = None) -> list[PeriodicJob]:
        """The logged jobs of thread tid (lib.PK_ALL_THREADS: all); cap, if
        given, is at least how many there are (a thread's completed jobs)."""
        count = ffi.new("uint64_t *")
        logged = self._job_totals().logged
        cap = logged if cap is None else min(cap, logged)
        buf = ffi.new("pk_job_record[]", max(cap, 1))
        check(lib.pk_job_log_get(self._kp, tid, buf, cap, count), "job log")
        return [PeriodicJob(r.tid, r.job, r.release, r.finish, r.deadline)
                for r in buf[0:min(count[0], cap)]]

    @property
    def jobs(self) -> list[PeriodicJob]:
        """Every logged job of every periodic task, in the order they
        finished (see :class:`PeriodicJob`). The log keeps at most
        ``job_log_limit`` records (``jobs_dropped`` counts the rest). A
        property, as ``p.jobs``; the old call ``k.jobs()`` still works and
        warns."""
        return CalledList("Kernel.jobs", self._job_log(lib.PK_ALL_THREADS))

    @property
    def jobs_completed(self) -> int:
        """Jobs of periodic tasks completed so far, kernel-wide."""
        return self._job_totals().completed

    @property
    def deadline_misses(self) -> int:
        """Jobs of periodic tasks that finished after their absolute
        deadline, kernel-wide."""
        return self._job_totals().misses

    @property
    def jobs_dropped(self) -> int:
        """Completed jobs not logged because the job log was full
        (``job_log_limit``)."""
        return self._job_totals().dropped

    @property
    def latency(self) -> "Latency":
        """Scheduling latency so far: from becoming ready after an arrival
        or a wake-up to running (including the switch that brings the
        thread in), over every such event in the kernel. A property; the
        old call ``k.latency()`` still works and warns."""
        h = ffi.new("pk_latency *")
        check(lib.pk_latency_get(self._kp, h), "latency")
        return Latency(h.count, h.sum, h.max, tuple(h.buckets))

    def fairness(self, processes=None) -> float:
        """Jain's fairness index of CPU time over ``processes`` (default:
        every process): (sum x)^2 / (n * sum x^2), 1.0 when all got equal
        CPU time, 1/n when one got everything (Jain, Chiu and Hawe, DEC
        TR-301, 1984)."""
        if processes is None:
            values = self.processes.table()["cpu_time_ns"]
        else:
            values = [p.stats.cpu_time for p in processes]
        return jain_index(values)

    @property
    def memory_stats(self) -> MemoryStats:
        """Kernel-wide memory counters (kernels with ``memory=``)."""
        return memory_stats(self)

    def check_memory(self) -> None:
        """Check every invariant of the memory system (kernels with
        ``memory=``): each frame is free, a page-table page, or mapped as
        many times as its reference count says; page tables, replacement
        lists, swap slots and TLBs agree with the counters. Raises
        :class:`~pykernel.InternalError` if one is broken (a bug), so a
        test can assert that nothing leaked (docs/snapshot.md)."""
        from .memory import verify
        verify(self)

    def shared_memory(self, length: int):
        """A new :class:`~pykernel.SharedMemory` object of ``length`` bytes
        (whole pages) that processes of this kernel can map."""
        from .memory import SharedMemory
        return SharedMemory(self, length)

    def shared_memory_objects(self) -> list:
        """The :class:`~pykernel.SharedMemory` objects of this kernel that
        are still open, in the order they were made (kernels with
        ``memory=``; a restored kernel's come back here)."""
        if self.memory is None:
            return []
        from .memory import shared_memory_objects
        return shared_memory_objects(self)

    @property
    def fault_rate(self) -> list:
        """Page faults (minor and major) per interval of simulated time,
        from 0 to the last fault: a list of :class:`~pykernel.FaultSample`
        (kernels with ``memory=``; the width is ``Memory.fault_interval``,
        doubled as often as needed to keep at most 4,096 intervals). A
        property; the old call ``k.fault_rate()`` still works and warns."""
        return CalledList("Kernel.fault_rate", fault_rate(self))

    def tlb_stats(self, cpu: int = 0) -> TlbStats:
        """CPU ``cpu``'s TLB counters (kernels with ``memory=``)."""
        return tlb_stats(self, _config_value("cpu", cpu, 0, self.cpus - 1))

    def summary(self, top: int = 5) -> str:
        """A readable multi-section text: machine, policy, time, switches,
        per-CPU busy/idle/overhead/utilization and the ``top`` processes
        by CPU time (pykernel/report.py)."""
        from .report import summary
        return summary(self, top)

    def report(self, what: str = "processes", top: int | None = None) -> str:
        """A text table of "processes", "threads" or "cpus", most CPU time
        first; ``top`` keeps the first rows (pykernel/report.py)."""
        from .report import report
        return report(self, what, top)

    def table(self, what: str = "processes") -> "Table":
        """The results of "processes", "threads", "cpus" or "jobs" as a
        :class:`~pykernel.tables.Table`: a dict of equal-length column
        lists whose time columns end in ``_ns`` (pykernel/tables.py)."""
        from .tables import table
        return table(self, what)

    def to_pandas(self, what: str = "processes"):
        """:meth:`table` of ``what`` as a pandas DataFrame (needs pandas)."""
        return self.table(what).to_pandas()

    def report_html(self, path=None, title: str | None = None) -> str:
        """A self-contained HTML page of this kernel's results: the
        summary, the process and CPU tables, memory figures when it has
        memory, and, when traced, the Gantt chart and thread states as
        inline SVG and the trace as a download (pykernel/html.py). Written
        to ``path`` if given; returns the page."""
        from .html import report_html
        return report_html(self, path, title)

    def _repr_html_(self) -> str:
        from .html import kernel_html
        return kernel_html(self)

    # ---- snapshots (pykernel/snapshot.py, docs/snapshot.md) --------------

    def snapshot(self) -> bytes:
        """The whole state of this kernel as bytes: restoring them
        (:meth:`restore`) gives a kernel that continues exactly as this one
        would. Refused (``NotSupported`` / ``BadState``, naming what is in
        the way) for threads whose bodies are Python generators, a policy
        written in Python, a run in progress and a policy hook running."""
        from .snapshot import snapshot
        return snapshot(self)

    def save(self, path) -> int:
        """Write :meth:`snapshot` to the file ``path`` (replaced atomically);
        returns the number of bytes written."""
        from .snapshot import save
        return save(self, path)

    @classmethod
    def restore(cls, data_or_path, scheduler: Policy | str | None = None,
                costs: Costs | None = None) -> "Kernel":
        """A new kernel from a snapshot (bytes, or a path to a file that
        :meth:`save` wrote). It continues exactly as the snapshotted one
        would have; restore one snapshot several times to branch it.

        ``scheduler``: a built-in policy, or its name, to continue under
        instead of the snapshot's (its ready threads are taken over in the
        order they became ready, docs/snapshot.md); ``costs``: a cost
        model to continue with. A damaged or foreign snapshot raises
        :class:`~pykernel.snapshot.SnapshotError` saying what is wrong."""
        from .snapshot import restore
        if isinstance(scheduler, str):
            scheduler = _sched_by_name(scheduler)
        return restore(cls, data_or_path, scheduler, costs)

    @property
    def fs(self):
        """The kernel's file system (:class:`~pykernel.fs.FileSystem`,
        acting as root; docs/userland.md)."""
        v = self.__dict__.get("_fs_view")
        if v is None:
            from .fs import FileSystem
            v = self._fs_view = FileSystem(self)
        return v

    def audit(self) -> "Audit":
        """Recount the core's books from its structures: frame references
        against every page table and shared-memory object, handles in
        tables and in queued messages against reference counts
        (:class:`~pykernel.audit.Audit`; ``.check()`` raises if they
        disagree). Costs time in proportion to frames and handles: for
        tests and soak runs (docs/trust.md)."""
        from .audit import audit
        return audit(self)

    def digest(self) -> int:
        """A 64-bit digest of everything that has happened (every event,
        switch and exit with its time). Two runs with the same inputs and
        seed have the same digest."""
        return lib.pk_kernel_digest(self._kp)

    def random(self, n: int = 1) -> list[int]:
        """Draw ``n`` raw 64-bit numbers from the kernel's seeded generator
        (xoshiro256**, seeded by splitmix64 from ``seed``)."""
        n = _config_value("random n", n, 0, 1 << 24)
        buf = ffi.new("uint64_t[]", max(n, 1))
        check(lib.pk_kernel_random(self._kp, buf, n), "random")
        return list(buf[0:n])

    def __repr__(self) -> str:
        return (f"<Kernel cpus={self.cpus} scheduler={self.scheduler!r} now={self.now} ns>")
