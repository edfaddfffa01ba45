"""Threads: :class:`Thread`, a light view over one simulated thread.

A Thread holds only a kernel reference and a tid; every attribute is read
from the C core when asked for, and every change goes through the kernel
(whose core checks it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._ffi import FOREVER, ffi, lib
from ._lock import locked_views
from .accounting import _CLASS_NAMES, THREAD_STATES, JobStats, PeriodicJob, Registers, Stats
from .errors import check
from .signals import signal_set

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel
    from .process import Process

__all__ = ["Thread"]


@locked_views()
class Thread:
    """A view of one simulated thread."""

    __slots__ = ("_k", "tid")

    def __init__(self, kernel: "Kernel", tid: int):
        self._k = kernel
        self.tid = tid

    def _info(self):
        info = ffi.new("pk_thread_info *")
        check(lib.pk_thread_info_get(self._k._kp, self.tid, info), "thread info")
        return info

    def _sigstate(self) -> tuple[int, int]:
        pend, blk = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        check(lib.pk_sig_state_get(self._k._kp, self._info().pid, self.tid + 1, pend, blk),
              "signal state")
        return pend[0], blk[0]

    @property
    def blocked_signals(self) -> frozenset:
        """Its signal mask (``rt_sigprocmask``): signals it does not take
        now; empty for threads that are not machine code."""
        return signal_set(self._sigstate()[1])

    @property
    def pending_signals(self) -> frozenset:
        """Signals sent to this thread alone (``tkill``, ``tgkill``) and not
        yet taken."""
        return signal_set(self._sigstate()[0])

    @property
    def state(self) -> str:
        """"new", "ready", "running", "blocked" (io), "sleeping", "waiting"
        (on kernel objects) or "exited"."""
        return THREAD_STATES[self._info().state]

    @property
    def cpu(self) -> int | None:
        """The CPU running this thread, or None."""
        c = self._info().cpu
        return None if c < 0 else c

    @property
    def process(self) -> "Process":
        """The process this thread belongs to."""
        from .process import Process
        return Process(self._k, self._info().pid)

    @property
    def stats(self) -> Stats:
        """This thread's accounting (see :class:`Stats`)."""
        return Stats._from(self._info())

    @property
    def policy(self) -> str:
        """Its scheduling class: "other", "fifo" or "rr"."""
        return _CLASS_NAMES[self._info().sclass]

    @property
    def rt_priority(self) -> int | None:
        """Real-time priority 1..99 ("fifo" / "rr"), else None."""
        info = self._info()
        return info.rt_prio if info.sclass else None

    @property
    def nice(self) -> int:
        """Its nice value (-20..19)."""
        return self._info().nice

    @property
    def priority(self) -> int:
        """Its static priority."""
        return self._info().priority

    @property
    def boosted(self) -> bool:
        """True while it runs with a priority lent by a thread waiting for
        a priority-inheritance mutex it holds (``policy``,
        ``rt_priority`` and ``priority`` then show the lent values)."""
        out = ffi.new("uint32_t[2]")
        prio = ffi.new("int32_t *")
        return lib.pk_thread_pi_base(self._k._kp, self.tid, out, out + 1, prio) == 0

    @property
    def tickets(self) -> int:
        """Its Lottery / Stride tickets."""
        return self._info().tickets

    @property
    def level(self) -> int | None:
        """Its MLFQ level as of now, 0 being the highest priority; None
        under other policies, before it arrives, or while it is in a
        real-time class."""
        v = self._info().level
        return None if v == lib.PK_NO_LEVEL else v

    @property
    def pass_value(self) -> int | None:
        """Its Stride pass value as of now (counting the CPU time of its
        current run); None under other policies, before it arrives, or
        while it is in a real-time class."""
        v = self._info().stride_pass
        return None if v == FOREVER else v

    @property
    def affinity(self) -> frozenset:
        """The CPUs it may run on."""
        words = ffi.new("uint64_t[4]")
        check(lib.pk_thread_affinity_get(self._k._kp, self.tid, words), "thread affinity")
        return frozenset(64 * w + b for w in range(4) for b in range(64) if (words[w] >> b) & 1)

    @property
    def run_queue(self) -> int | None:
        """The CPU whose run queue holds it (or last held it)."""
        q = self._info().rq_cpu
        return None if q == 0xFFFF else q

    def set_nice(self, nice: int) -> None:
        """Change its nice value now (-20..19)."""
        self._k._set_attr(self.tid, lib.PK_ATTR_NICE, nice, "nice")

    def set_priority(self, priority: int) -> None:
        """Change its static priority now."""
        self._k._set_attr(self.tid, lib.PK_ATTR_PRIORITY, priority, "priority")

    def set_slice(self, ns: int | None) -> None:
        """Set its own EEVDF slice now (Linux 6.12's custom slices,
        ``sched_attr.sched_runtime``): 100 us .. 100 ms, or None / 0 for
        the policy's base slice. Its virtual deadline is its vruntime plus
        this slice scaled by its weight, so a shorter slice gets the CPU
        sooner after it wakes, at the same share. Other policies raise
        :class:`~pykernel.errors.NotSupported`."""
        ns = self._k._check_slice(0 if ns is None else ns)
        self._k._set_attr(self.tid, lib.PK_ATTR_SLICE, ns, "slice")

    def set_tickets(self, tickets: int) -> None:
        """Change its Lottery / Stride tickets now (>= 1)."""
        self._k._set_attr(self.tid, lib.PK_ATTR_TICKETS, tickets, "tickets")

    def transfer_tickets(self, to: "Thread", n: int) -> None:
        """Move ``n`` of its tickets to thread ``to`` now (Waldspurger and
        Weihl's ticket transfer, done explicitly): it keeps at least one.
        Both threads must be live threads of the same kernel."""
        if not isinstance(to, Thread):
            raise TypeError(f"transfer_tickets needs a Thread to give tickets to, "
                            f"not {type(to).__name__}")
        if to._k is not self._k:
            raise ValueError("transfer_tickets: the threads belong to different kernels")
        self._k._transfer_tickets(self.tid, to.tid, n)

    def set_policy(self, policy: str, rt_priority: int | None = None) -> None:
        """Change its scheduling class now: "other", or "fifo" / "rr" with
        ``rt_priority`` 1..99 (like sched_setscheduler)."""
        self._k._set_class(self.tid, policy, rt_priority)

    def set_affinity(self, cpus) -> None:
        """Change the CPUs it may run on (like sched_setaffinity); a thread
        running or queued on a CPU it may no longer use moves at once."""
        self._k._set_affinity(self.tid, cpus)

    @property
    def job_stats(self) -> JobStats:
        """Its job counts, if it is a periodic task (see :class:`JobStats`)."""
        out = ffi.new("pk_job_stats *")
        check(lib.pk_thread_jobs_get(self._k._kp, self.tid, out), "thread jobs")
        return JobStats._from(out)

    @property
    def jobs(self) -> list[PeriodicJob]:
        """Its completed jobs, in order, from the kernel's job log (see
        :class:`PeriodicJob`; the log keeps at most ``Kernel(job_log_limit=)``
        records)."""
        return self._k._job_log(self.tid, self.job_stats.completed)

    @property
    def registers(self) -> Registers:
        """The saved register context (the live one if it is running)."""
        regs = ffi.new("pk_regs *")
        check(lib.pk_thread_regs_get(self._k._kp, self.tid, regs), "thread registers")
        return Registers(tuple(regs.x), regs.pc, regs.flags)

    def __eq__(self, other) -> bool:
        return isinstance(other, Thread) and other._k is self._k and other.tid == self.tid

    def __hash__(self) -> int:
        return hash((id(self._k), self.tid))

    def __repr__(self) -> str:
        return f"<Thread tid={self.tid} {self.state}>"
