"""Programs and processes of a kernel: loading programs into the core,
spawning processes and threads, and changing a thread's scheduling
attributes later.

:class:`Spawning` is a part of :class:`~pykernel.Kernel` (a mixin it
inherits): ``Kernel.spawn`` and ``Kernel.spawn_many`` live here. Python
checks the types of the arguments and fits them to their C fields; every
rule of a spawn is the core's ``spawn_check`` (csrc/core/pk_kernel.c), and
a refusal is explained from its record (pykernel/_refusal.py)."""

from __future__ import annotations

from ._ffi import MAX_TIME, NO_BURST, ffi, lib
from ._lock import locked_views
from . import _refusal
from . import errors as pk_errors
from . import objects as _objects
from . import riscv as _riscv
from ._validate import int_range, integer, put
from .errors import BadState, check
from .groups import ProcessGroup
from .memory import rss_limit_arg
from .op import duration
from .process import Process
from .program import Program
from .sched import SchedParams, _merge as _sched_merge
from .thread import Thread

__all__ = ["Spawning"]

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


@locked_views(own=True)
class Spawning:
    """Loading programs, spawning processes and threads, and the
    scheduling attributes of threads, as methods of
    :class:`~pykernel.Kernel` (which holds the tables they fill: programs,
    process names, Python bodies not yet started)."""

    __slots__ = ()

    def _thread_create(self, pid: int, program, args) -> Thread:
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
              sched: SchedParams | None = None, cwd=None, tty: bool = False) -> Process:
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
        first process is machine code. ``tty=True``: its standard streams
        are its terminal, for it and the processes forked from it: ioctl
        ``TCGETS`` and ``TIOCGWINSZ`` on descriptors 0-2 answer (termios
        as ``stty sane``, 24 rows of 80 columns) where they are otherwise
        ``ENOTTY``, and ``fstat`` says character device (docs/userland.md,
        "Descriptors"); a shell then sees a terminal and is interactive.

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
            working_set = int_range("Kernel working_set", working_set, 0, MAX_TIME)
        if isinstance(program, Program) and program.kind != "elf" and (
                argv is not None or env is not None or stdin != b"" or stdout or stderr or tty):
            raise TypeError("argv, env, stdin, stdout, stderr and tty are for machine-code "
                            "programs (Program.elf)")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        if parent is not None and (not isinstance(parent, Process) or parent._k is not self):
            raise TypeError("parent must be a Process of this kernel")
        pu, pg = parent._creds() if parent is not None else (0, 0)
        uid = pu if uid is None else int_range("Kernel uid", uid, 0, 0xFFFFFFFF)
        gid = pg if gid is None else int_range("Kernel gid", gid, 0, 0xFFFFFFFF)
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
            # room in the job and its ancestors for one more process and its handles
            check(lib.pk_jobobj_check_spawn(self._kp, job.id, len(values)), "spawn into job")
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
            if tty:
                check(lib.pk_rv_tty(self._kp, pid), "spawn: tty")
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
        count = int_range("Kernel spawn_many count", count, 1, 0xFFFFFFFF)
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
