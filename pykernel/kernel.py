"""The simulated machine and its kernel."""

from __future__ import annotations

import operator
import threading
from contextlib import contextmanager
from dataclasses import replace

from ._ffi import FOREVER, ffi, lib
from ._policy_host import HostPolicy
from .costs import Costs
from .memory import FORMATS, MMU, Memory
from .errors import BadState, InvalidArgs, NoMemory, check
from ._lock import HostThreadRule, KernelLock, locked_views
from .limits import Limits, limit_error, other_limit_error, usage
from .op import duration
from . import _refusal
from ._validate import int_range, put, u32, u64
from .process import Process
from .program import Program
from ._deprecated import CalledDict, warn as _deprecated
from . import objects as _objects
from . import riscv as _riscv
from .sched import CFS, Policy
from .sched import by_name as _sched_by_name
from .trace import DEFAULT_TRACE_EVENTS, Trace
from .run import STEP_BUDGET, RunControl, _KILL  # noqa: F401
from .results import CpuStats, KernelStats, Latency, RunResult, jain_index, _bucket_bounds  # noqa: F401
from .groups import ProcessGroup
from .observation import Observation
from .spawning import Spawning, _sched_class  # noqa: F401

__all__ = ["Kernel", "RunResult", "KernelStats", "CpuStats", "ProcessGroup", "Latency",
           "jain_index"]

DEFAULT_MAX_THREADS = Limits.max_threads
DEFAULT_JOB_LOG_LIMIT = 1_000_000


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
class Kernel(Spawning, Observation, RunControl, HostThreadRule):
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
        err = limits.check(0 if memory is None else memory.frames, trace_max)
        if err is not None:                             # the core's rule (pk_limits_check)
            raise err
        livelock_steps = put(given, lib.PK_F_LIVELOCK, "Kernel livelock_steps", livelock_steps, "u64")
        job_log_limit = put(given, lib.PK_F_JOB_LOG_LIMIT, "Kernel job_log_limit", job_log_limit,
                            "u64")

        cfg = ffi.new("pk_config *")
        cfg.cpus = cpus_c
        limits._configure(cfg)
        cfg.seed = seed
        cfg.livelock_steps = livelock_steps
        cfg.job_log_limit = job_log_limit
        cfg.epoch = put(given, lib.PK_F_EPOCH, "Kernel epoch", _riscv.epoch_seconds(epoch), "u64")
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
        self._init_lock()                  # the host-thread rule: pykernel/_lock.py
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
        # kernel objects (objects.py): reused out-buffers
        self._obj_u32 = ffi.new("uint32_t *")
        self._obj_info = ffi.new("pk_handle_info *")
        self._obj_bufs = None

    def _tid_pid(self, tid: int) -> int:
        info = ffi.new("pk_thread_info *")
        check(lib.pk_thread_info_get(self._kp, tid, info), "thread info")
        return info.pid

    def _out_u32(self):
        """A ``uint32_t *`` reused as the out-argument of core calls that
        return one number (a handle value, a wait id); read it before the
        next such call."""
        return self._obj_u32

    def _out_handle_info(self):
        """A ``pk_handle_info *`` reused as the out-argument of
        ``pk_handle_info_get``; read it before the next such call."""
        return self._obj_info

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

    def _output_streams(self) -> list:
        """The output streams of machine-code processes, each
        ``[pid, fd, callable or None, bytes handed over]``
        (``spawn(stdout=...)``, ``Process.on_stdout``; pykernel/riscv.py
        reads and extends it, the run loop delivers after each return)."""
        return self._rv_streams

    def _process_error(self, pid: int) -> BaseException | None:
        """The exception that killed process ``pid``'s Python body, if any."""
        return self._errors.get(pid)

    def _given_names(self) -> dict:
        """The names given at spawn (``spawn(name=)``), pid -> name; a
        process not in it is named "<program>-<pid>" (:meth:`_proc_name`)."""
        return self._names

    def _known_program(self, prog: int) -> Program | None:
        """The Program of core program id ``prog`` if Python holds it
        already, else None (unlike :meth:`_program_at`, which makes the
        Program of an image execve loaded)."""
        return self._programs[prog] if 0 <= prog < len(self._programs) else None

    def _host_lock(self) -> KernelLock:
        """The kernel's lock (pykernel/_lock.py): every call from a host
        thread holds it; its ``rlock`` is the fast path."""
        return self._lock

    def _hook_running(self) -> bool:
        """True while the core runs hooks of a policy written in Python
        (they may read the kernel, not change it)."""
        return self._in_core

    def _process_errors(self) -> dict:
        """The exceptions that killed processes' Python bodies, pid ->
        exception (:meth:`_process_error` reads one)."""
        return self._errors

    def _generator_tids(self) -> tuple[set, set]:
        """The threads whose bodies are Python generators: (tids of those
        started, tids of those not started yet, which may have exited
        since without running)."""
        return set(self._gens), set(self._hosts)

    def _program_index(self, prog: Program) -> int:
        """The core's id of ``prog``, a Program loaded in this kernel
        (KeyError if it is not)."""
        return self._prog_ids[id(prog)]

    def _is_running(self) -> bool:
        """True while a ``run()`` of this kernel is under way (also
        between two of its slices, when other host threads get in)."""
        return self._running

    def _wait_for_other_run(self) -> None:
        """With the lock held: if another host thread's run let this one in
        between two slices, wait until that run ends."""
        if self._running and self._run_thread != threading.get_ident():
            self._lock.wait_until(lambda: not self._running)

    def _adopt_core(self, kp, memory, mmu) -> None:
        """Make a kernel object (made without ``__init__``, by
        pykernel/snapshot.py) the Python side of core kernel ``kp``, with
        its memory configuration; no tracing and no Python policy yet."""
        self._kp = kp
        self.memory, self.mmu, self.trace, self._host = memory, mmu, None, None

    def _restore_programs(self, progs: list, key) -> None:
        """Take the programs of a restored kernel, in core id order;
        ``key(p)`` is the content key a script or ELF program is found by
        again when it is spawned (pykernel/snapshot.py)."""
        self._programs.extend(progs)
        for i, p in enumerate(progs):
            self._prog_ids[id(p)] = i
            if p.kind in ("script", "elf"):
                self._prog_keys[key(p)] = i

    def _restore_processes(self, names: dict, errors: dict) -> None:
        """Take a restored kernel's names given at spawn (pid -> name) and
        the exceptions that killed its processes' bodies (pid -> exception)."""
        self._names.update(names)
        self._errors.update(errors)

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
