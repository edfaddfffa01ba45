"""Processes: :class:`Process`, a light view over C state.

A :class:`Process` (or a :class:`~pykernel.Thread`, pykernel/thread.py)
object holds only a kernel reference and an id; every attribute is read
from the C core when asked for, so a million simulated threads never mean
a million Python objects. The records they return (:class:`Stats`,
:class:`PeriodicJob`, :class:`JobStats`, :class:`Registers`) are in
pykernel/accounting.py and importable from here too.
"""

from __future__ import annotations

import operator
from dataclasses import replace
from typing import TYPE_CHECKING

from ._ffi import ffi, lib
from ._lock import locked_views
from .accounting import (KILL_REASONS, PROCESS_STATES, THREAD_STATES, JobStats,  # noqa: F401
                         PeriodicJob, Registers, Stats)
from .errors import BadState, InvalidArgs, check
from .signals import Signal, signal_set
from .thread import Thread

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["Process", "Thread", "Stats", "Registers", "PeriodicJob", "JobStats"]


@locked_views()
class Process:
    """A view of one simulated process: a program being executed."""

    __slots__ = ("_k", "pid")

    def __init__(self, kernel: "Kernel", pid: int):
        pid = operator.index(pid)
        if not 0 <= pid <= 0xFFFFFFFF:        # pids are uint32 in the core
            raise InvalidArgs(f"no process with pid {pid}")
        self._k = kernel
        self.pid = pid

    def _info(self):
        info = ffi.new("pk_proc_info *")
        status = lib.pk_proc_info_get(self._k._kp, self.pid, info)
        if status == lib.PK_ERR_INVALID_ARGS:
            raise InvalidArgs(f"no process with pid {self.pid}")
        check(status, "process info")
        return info

    @property
    def name(self) -> str:
        """The name given at spawn, or ``"<program>-<pid>"``."""
        return self._k._proc_name(self.pid)

    @property
    def program(self):
        """The :class:`~pykernel.Program` this process executes."""
        return self._k._program_at(self._info().prog)

    @property
    def state(self) -> str:
        """"new" (not yet arrived), "alive", "zombie" (ended, and its parent
        has not waited for it yet), "exited" or "killed" (ended and
        reaped; a process without a parent is reaped when it ends)."""
        st = PROCESS_STATES[self._info().state]
        if st in ("exited", "killed") and self._tree().tree == lib.PK_PT_ZOMBIE:
            return "zombie"
        return st

    @property
    def exit_code(self) -> int | None:
        """The exit code once the process has exited by itself (also as a
        zombie), else None."""
        info = self._info()
        return info.exit_code if info.state == lib.PK_PS_EXITED else None

    # ---- the process tree (docs/processes.md) ----------------------------

    def _tree(self):
        t = ffi.new("pk_tree_info *")
        status = lib.pk_proc_tree_get(self._k._kp, self.pid, t)
        if status == lib.PK_ERR_INVALID_ARGS:
            raise InvalidArgs(f"no process with pid {self.pid}")
        check(status, "process tree")
        return t

    @property
    def parent(self) -> "Process | None":
        """Its parent: the process that spawned (``parent=``) or forked it,
        or the one that adopted it; None for a process spawned from Python
        without a parent, and once it has been reaped."""
        p = self._tree().parent
        return None if p < 0 else Process(self._k, p)

    @property
    def ppid(self) -> int | None:
        """Its parent's pid (``getppid()``), or None without a parent."""
        p = self._tree().parent
        return None if p < 0 else p

    @property
    def children(self) -> list["Process"]:
        """Its living children and zombies, in the order they became its
        children (fork order, then adoption order)."""
        n = self._tree().nchildren
        buf = ffi.new("uint32_t[]", max(n, 1))
        got = ffi.new("uint32_t *")
        check(lib.pk_proc_children(self._k._kp, self.pid, buf, n, got), "process children")
        return [Process(self._k, buf[i]) for i in range(min(n, got[0]))]

    @property
    def subreaper(self) -> bool:
        """Whether it is a child subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``):
        orphans among its descendants are adopted by the nearest living
        subreaper above them instead of by the root of the tree. Settable."""
        return bool(self._tree().subreaper)

    @subreaper.setter
    def subreaper(self, on: bool) -> None:
        if not isinstance(on, bool):
            raise TypeError(f"subreaper must be a bool, not {type(on).__name__}")
        check(lib.pk_proc_subreaper_set(self._k._kp, self.pid, int(on)), "subreaper")

    @property
    def term_signal(self) -> int | None:
        """The signal that ended it, as Linux's wait status reports it
        (WTERMSIG), a :class:`~pykernel.Signal` (a plain int for an
        unnamed real-time signal): the signal whose action
        ended it (``p.signal``, ``kill(2)``, a fault, ``abort()``), or
        SIGKILL (9) when killed by the host or the kernel (``p.kill()``, out
        of memory); None unless killed."""
        if self._info().state != lib.PK_PS_KILLED:
            return None
        n = self._tree().wstatus & 0x7F
        return Signal(n) if n in Signal._value2member_map_ else n

    def signal(self, sig: int) -> None:
        """Send signal ``sig`` (1..64, e.g. ``pk.SIGTERM``; 0 only checks
        the process) from outside the simulation (si_code SI_USER, si_pid
        0), between runs. A machine-code process takes it as Linux would:
        its handler runs, it is ignored, or it is left pending while
        blocked; a waiting thread's call ends with EINTR. Processes of
        other kinds have no handlers: the default action happens at once
        (terminate, or nothing for the ignored ones such as SIGCHLD). A
        process that has ended accepts and ignores it. A stop signal
        (SIGSTOP, and SIGTSTP, SIGTTIN, SIGTTOU without a handler) stops a
        machine-code process until SIGCONT (``p.stopped``); stopping other
        processes is not modelled: NotImplementedError. See
        docs/signals.md."""
        if isinstance(sig, bool) or not isinstance(sig, int):
            raise TypeError(f"signal must be an int, not {type(sig).__name__}")
        if not 0 <= sig <= 64:
            raise InvalidArgs(f"signal numbers are 0..64, not {sig}")
        with self._k._exclusive("signal"), self._k._hooks_may_run():
            status = lib.pk_proc_signal(self._k._kp, self.pid, int(sig))
        if status == lib.PK_ERR_NOT_SUPPORTED:
            raise NotImplementedError(
                f"signal {int(sig)} would stop process {self.pid}: stopping is modelled "
                f"for machine code only")
        if status == lib.PK_ERR_INVALID_ARGS:
            raise InvalidArgs(f"no process with pid {self.pid}")
        check(status, f"signal {int(sig)} to pid {self.pid}")

    @property
    def stopped(self) -> "Signal | None":
        """The signal that stopped this machine-code process (SIGSTOP,
        SIGTSTP, ...) while it is stopped, else None; SIGCONT continues it."""
        out = ffi.new("uint32_t *")
        check(lib.pk_sig_stopped(self._k._kp, self.pid, out), "signal state")
        return Signal(out[0]) if out[0] else None

    @property
    def pending_signals(self) -> frozenset:
        """Signals pending for the whole process (sent to it, not yet taken
        by one of its threads: all of them block it); each thread's own are
        ``Thread.pending_signals``. Empty for processes without handlers,
        whose signals act at once."""
        pend, blk = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        check(lib.pk_sig_state_get(self._k._kp, self.pid, 0, pend, blk), "signal state")
        return signal_set(pend[0])

    def signal_action(self, sig: int) -> tuple[int, int, frozenset]:
        """The disposition of ``sig`` in this process, as ``rt_sigaction``
        stores it: (handler address, or 0 for SIG_DFL and 1 for SIG_IGN;
        sa_flags; sa_mask as a set of signals)."""
        h, f, m = (ffi.new("uint64_t *") for _ in range(3))
        if not 1 <= int(sig) <= 64:
            raise InvalidArgs(f"signal numbers are 1..64, not {sig}")
        check(lib.pk_sig_action_get(self._k._kp, self.pid, int(sig), h, f, m), "signal action")
        return h[0], f[0], signal_set(m[0])

    @property
    def wait_status(self) -> int | None:
        """How it ended, encoded as Linux's wait status (``wait4(2)``): the
        exit code in bits 8..15, or the terminating signal in bits 0..6;
        None while it has not ended."""
        if self._info().state not in (lib.PK_PS_EXITED, lib.PK_PS_KILLED):
            return None
        return self._tree().wstatus

    @property
    def sigchld(self) -> int:
        """SIGCHLD notifications sent to it (a child ended, or a zombie was
        adopted by it), counted; a machine-code process also receives each
        as a signal (docs/signals.md)."""
        return self._tree().sigchld

    @property
    def kill_reason(self) -> str | None:
        """Why the process was killed ("killed", "exception", "bad
        operation", "segmentation fault", "out of memory", "job memory
        limit"; machine code also "illegal instruction" and "aborted"), or
        None. For a memory fault, ``aspace.fault`` says which and where."""
        return KILL_REASONS.get(self._info().kill_reason)

    @property
    def stdout(self) -> bytes:
        """What a machine-code process (``Program.elf``) wrote to its
        standard output (fd 1) so far. NotSupported for other processes."""
        from . import riscv
        return riscv.output(self._k, self.pid, 1)

    @property
    def terminal(self) -> bytes:
        """What a machine-code process's terminal shows: the bytes every
        process on it wrote to descriptors 1 and 2, in the order written.
        A process spawned from Python gets a terminal of its own; the
        processes it forks (and theirs) write to the same one, so a shell's
        output and that of the commands it runs appear here interleaved as
        on a screen, while each process's :attr:`stdout` keeps its own
        (docs/userland.md, "Processes: fork and exec")."""
        from . import riscv
        return riscv.output(self._k, self.pid, lib.PK_RV_TTY)

    @property
    def stderr(self) -> bytes:
        """What a machine-code process wrote to its standard error (fd 2)."""
        from . import riscv
        return riscv.output(self._k, self.pid, 2)

    def on_stdout(self, fn) -> None:
        """Stream the standard output of a machine-code process to ``fn``
        (a callable taking bytes), like ``spawn(stdout=fn)``: ``fn`` gets
        every byte no callable has been handed yet, at once and then as
        the process writes. A snapshot does not capture callables: on a
        restored kernel this re-attaches the stream where it stopped.
        None detaches it. NotSupported for other processes."""
        from . import riscv
        riscv.attach(self._k, self.pid, 1, fn)

    def on_stderr(self, fn) -> None:
        """Stream the standard error of a machine-code process to ``fn``
        (see :meth:`on_stdout`)."""
        from . import riscv
        riscv.attach(self._k, self.pid, 2, fn)

    @property
    def syscalls_unknown(self) -> dict:
        """``{number: count}`` of the Linux system calls a machine-code
        process made that the kernel does not implement (each returned
        -ENOSYS)."""
        from . import riscv
        return riscv.unknown_syscalls(self._k, self.pid)

    @property
    def instructions(self) -> int:
        """RISC-V instructions a machine-code process's threads executed."""
        from . import riscv
        return riscv.stats(self._k, self.pid).instructions

    @property
    def syscalls(self) -> int:
        """Linux system calls a machine-code process made."""
        from . import riscv
        return riscv.stats(self._k, self.pid).syscalls

    @property
    def error(self) -> BaseException | None:
        """The exception that killed a Python-bodied process, if any (a
        ``SystemExit`` or ``KeyboardInterrupt`` too: those also go on out
        of ``run()``)."""
        return self._k._process_error(self.pid)

    @property
    def threads(self) -> list[Thread]:
        """The threads of this process: its first, then those created
        later (:meth:`thread_create`, ``pk.op.spawn_thread``)."""
        info = self._info()
        if info.nthreads == 1:
            return [Thread(self._k, info.first_tid)]
        buf, count = ffi.new("uint32_t[]", info.nthreads), ffi.new("uint32_t *")
        check(lib.pk_proc_threads(self._k._kp, self.pid, buf, info.nthreads, count), "threads")
        return [Thread(self._k, buf[i]) for i in range(min(count[0], info.nthreads))]

    @property
    def stats(self) -> Stats:
        """Accounting summed over the process's threads; arrival and finish
        are the process's own, first_run its earliest thread's."""
        stats = Stats._from(self._info())
        if self._k.memory is None:
            return stats
        a = self.aspace.stats
        return replace(stats, page_faults=a.page_faults, major_faults=a.major_faults)

    @property
    def job_stats(self) -> JobStats:
        """Job counts summed over its threads (a periodic task's process
        has one thread; see :class:`JobStats`)."""
        total = JobStats()
        for t in self.threads:
            total = total + t.job_stats
        return total

    @property
    def jobs(self) -> list[PeriodicJob]:
        """Its threads' completed jobs (a periodic task's, in order), from
        the kernel's job log (see :class:`PeriodicJob`)."""
        return [j for t in self.threads for j in t.jobs]

    @property
    def deadline_misses(self) -> int:
        """Jobs that finished after their absolute deadline
        (``job_stats.deadline_misses``)."""
        return self.job_stats.deadline_misses

    @property
    def handles(self) -> list:
        """The handles in its table, in slot order (:class:`~pykernel.Handle`)."""
        from .objects import _list
        return _list(self._k, self.pid)

    @property
    def uid(self) -> int:
        """Its user id (0: root)."""
        return self._creds()[0]

    @property
    def gid(self) -> int:
        """Its group id."""
        return self._creds()[1]

    def _creds(self):
        u, g = ffi.new("uint32_t *"), ffi.new("uint32_t *")
        check(lib.pk_proc_creds_get(self._k._kp, self.pid, u, g), "credentials")
        return u[0], g[0]

    def handle_to(self, other: "Process | Thread"):
        """Give this process a handle to process or thread ``other`` (the
        loader's or a parent's act; ``spawn(parent=...)`` does it for a
        child) and return it. Every handle to one process (or thread)
        names one object, which asserts TERMINATED when it ends; a thread
        handle waits for, inspects or kills that thread alone."""
        from .objects import Handle
        if not isinstance(other, (Process, Thread)) or other._k is not self._k:
            raise TypeError("handle_to needs a Process or a Thread of the same kernel")
        out = ffi.new("uint32_t *")
        with self._k._exclusive("make a process or thread handle"):
            if isinstance(other, Thread):
                check(lib.pk_thread_handle_create(self._k._kp, self.pid, other.tid, out),
                      "thread handle")
            else:
                check(lib.pk_proc_handle_create(self._k._kp, self.pid, other.pid, out),
                      "process handle")
        return Handle(self._k, self.pid, out[0])

    def futex_get(self, addr: int) -> int:
        """The 32-bit futex word at ``addr`` (0 until written)."""
        from .objects import _addr
        out = ffi.new("uint32_t *")
        check(lib.pk_futex_get(self._k._kp, self.pid, _addr("futex", addr), out), "futex_get")
        return out[0]

    def futex_set(self, addr: int, value: int) -> None:
        """Store ``value`` in the futex word at ``addr`` (as the process's
        code would: no waiter wakes), e.g. a semaphore's initial count."""
        from .objects import _addr, _u32
        with self._k._exclusive("set a futex word"):
            check(lib.pk_futex_set(self._k._kp, self.pid, _addr("futex", addr),
                                   _u32("futex value", value)), "futex_set")

    def mutex_owner(self, addr: int):
        """The :class:`Thread` holding the mutex at ``addr``, or None."""
        from .objects import _addr
        out = ffi.new("int64_t *")
        check(lib.pk_mutex_owner(self._k._kp, self.pid, _addr("mutex", addr), out), "mutex owner")
        return None if out[0] < 0 else Thread(self._k, out[0])

    def share_futexes(self, owner: "Process") -> None:
        """From now on use ``owner``'s futex words (and so its mutexes,
        semaphores and condition variables): the stand-in for shared
        memory, and for several threads of one process, until address
        spaces exist. The process must not have futex words of its own."""
        if not isinstance(owner, Process) or owner._k is not self._k:
            raise TypeError("share_futexes needs a Process of the same kernel")
        with self._k._exclusive("share futexes"):
            check(lib.pk_futex_share(self._k._kp, self.pid, owner.pid), "share_futexes")

    def thread_create(self, program, args: tuple = ()) -> Thread:
        """Create a thread in this live process running ``program`` (a
        script from its start, or a Python body called with ``args``); it
        shares the process's handles, futex words and address space, has
        the scheduling parameters of the process's first thread and arrives
        now. The process ends with its last thread."""
        return self._k._thread_create(self.pid, program, args)

    def socket_create(self, mode: str = "stream", capacity: int = 65536) -> tuple:
        """Create a socket: two endpoint handles in this process's table,
        each buffering up to ``capacity`` bytes its peer wrote. ``mode``:
        "stream" (short writes) or "datagram" (whole datagrams)."""
        return self._socket(mode, capacity, 0)

    def pipe_create(self, capacity: int = 65536) -> tuple:
        """Create a pipe: ``(read_end, write_end)``, a stream socket whose
        first end may only read and second only write."""
        return self._socket("stream", capacity, 1)

    def _socket(self, mode, capacity, pipe) -> tuple:
        from .objects import Handle
        if mode not in ("stream", "datagram"):
            raise ValueError(f'socket mode must be "stream" or "datagram", not {mode!r}')
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise TypeError(f"capacity must be an int, not {type(capacity).__name__}")
        if not 1 <= capacity <= lib.PK_SOCKET_MAX_CAPACITY:
            raise ValueError(f"capacity must be between 1 and {lib.PK_SOCKET_MAX_CAPACITY} bytes")
        a, b = ffi.new("uint32_t *"), ffi.new("uint32_t *")
        m = lib.PK_SOCKET_DATAGRAM if mode == "datagram" else lib.PK_SOCKET_STREAM
        with self._k._exclusive("create a socket"):
            check(lib.pk_socket_create(self._k._kp, self.pid, m, capacity, pipe, a, b),
                  "socket_create")
        return Handle(self._k, self.pid, a[0]), Handle(self._k, self.pid, b[0])

    def port_create(self):
        """Create a port (a queue of packets for asynchronous waits:
        :meth:`Handle.wait_async`, :meth:`Handle.queue`; read packets with
        ``read()`` or ``ctx.read``)."""
        from .objects import Handle
        out = ffi.new("uint32_t *")
        with self._k._exclusive("create a port"):
            check(lib.pk_port_create(self._k._kp, self.pid, out), "port_create")
        return Handle(self._k, self.pid, out[0])

    def handle(self, value: int):
        """A view of handle ``value`` of this process (checked when used)."""
        from .objects import Handle, _u32
        return Handle(self._k, self.pid, _u32("handle value", value))

    def channel_create(self) -> tuple:
        """Create a channel: two endpoint handles in this process's table."""
        from .objects import _create
        with self._k._exclusive("create a channel"):
            return _create(self._k, self.pid, "channel")

    def event_create(self):
        """Create an event (SIGNALED is its own signal): one handle."""
        from .objects import _create
        with self._k._exclusive("create an event"):
            return _create(self._k, self.pid, "event")[0]

    def eventpair_create(self) -> tuple:
        """Create an event pair: two handles, each the other's peer."""
        from .objects import _create
        with self._k._exclusive("create an event pair"):
            return _create(self._k, self.pid, "eventpair")

    @property
    def aspace(self):
        """Its :class:`~pykernel.AddressSpace` (kernels with ``memory=``)."""
        if self._k.memory is None:
            raise BadState("this kernel has no virtual memory: pk.Kernel(memory=pk.Memory(...))")
        from .memory import AddressSpace
        return AddressSpace(self._k, self.pid)

    def set_nice(self, nice: int) -> None:
        """Change the nice value of every thread of the process now."""
        for t in self.threads:
            t.set_nice(nice)

    def set_priority(self, priority: int) -> None:
        """Change the static priority of every thread of the process now."""
        for t in self.threads:
            t.set_priority(priority)

    def set_policy(self, policy: str, rt_priority: int | None = None) -> None:
        """Change the scheduling class of every thread of the process now."""
        for t in self.threads:
            t.set_policy(policy, rt_priority)

    def set_affinity(self, cpus) -> None:
        """Change the CPUs every thread of the process may run on."""
        for t in self.threads:
            t.set_affinity(cpus)

    def kill(self) -> None:
        """Kill the process now (outside or inside a run). Its threads stop
        wherever they are; ``state`` becomes "killed"."""
        self._k._kill(self.pid)

    def __eq__(self, other) -> bool:
        return isinstance(other, Process) and other._k is self._k and other.pid == self.pid

    def __hash__(self) -> int:
        return hash((id(self._k), self.pid))

    def __repr__(self) -> str:
        return f"<Process pid={self.pid} {self.name!r} {self.state}>"
