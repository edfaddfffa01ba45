"""The records of processes and threads: their states, their accounting
(:class:`Stats`), the jobs of periodic tasks (:class:`PeriodicJob`,
:class:`JobStats`) and saved registers (:class:`Registers`). Plain values
read from the core; the views that make them are in pykernel/process.py
and pykernel/thread.py."""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import FOREVER, lib

__all__ = ["Stats", "PeriodicJob", "JobStats", "Registers", "THREAD_STATES", "PROCESS_STATES",
           "KILL_REASONS"]

THREAD_STATES = {
    lib.PK_TS_NEW: "new", lib.PK_TS_READY: "ready", lib.PK_TS_RUNNING: "running",
    lib.PK_TS_BLOCKED: "blocked", lib.PK_TS_SLEEPING: "sleeping", lib.PK_TS_EXITED: "exited",
    lib.PK_TS_WAITING: "waiting",
}
PROCESS_STATES = {
    lib.PK_PS_NEW: "new", lib.PK_PS_ALIVE: "alive",
    lib.PK_PS_EXITED: "exited", lib.PK_PS_KILLED: "killed",
}
_CLASS_NAMES = {lib.PK_CLASS_OTHER: "other", lib.PK_CLASS_FIFO: "fifo", lib.PK_CLASS_RR: "rr"}
KILL_REASONS = {
    lib.PK_KILL_NONE: None, lib.PK_KILL_HOST: "killed",
    lib.PK_KILL_EXCEPTION: "exception", lib.PK_KILL_BAD_OP: "bad operation",
    lib.PK_KILL_SEGV: "segmentation fault", lib.PK_KILL_OOM: "out of memory",
    lib.PK_KILL_JOB_MEMORY: "job memory limit", lib.PK_KILL_ILLEGAL: "illegal instruction",
    lib.PK_KILL_ABORT: "aborted", lib.PK_KILL_SIGNAL: "signal",
}


def _opt(t: int) -> int | None:
    return None if t == FOREVER else t


@dataclass(frozen=True)
class Stats:
    """Accounting of a thread or a process, in simulated nanoseconds, as of
    the kernel's current time.

    ``response = first_run - arrival``, ``turnaround = finish - arrival``,
    ``wait`` = total time ready but not running (including the context
    switch that finally brings the thread in), ``blocked`` = total time in
    io or sleep. For a finished thread ``cpu_time + wait + blocked ==
    turnaround``. Fields that have not happened yet are None. A process
    killed before it arrived has an empty lifetime: ``finish == arrival``.

    ``voluntary_switches`` counts the times the thread gave up the CPU
    itself (io, sleep, a yield that let another thread run);
    ``involuntary_switches`` the times it was preempted. (Linux counts a
    yield as involuntary; pykernel follows the textbook meaning.)
    ``migrations``: times it was moved to another CPU's run queue.
    ``page_faults`` (faults that brought a page in, minor plus major) and
    ``major_faults`` are the process's (kernels with memory; 0 for a
    thread's stats and without memory).
    """

    arrival: int
    first_run: int | None
    finish: int | None
    cpu_time: int
    wait: int
    blocked: int
    voluntary_switches: int
    involuntary_switches: int
    migrations: int = 0
    page_faults: int = 0
    major_faults: int = 0

    @property
    def response(self) -> int | None:
        """first_run - arrival (None until the first run)."""
        return None if self.first_run is None else self.first_run - self.arrival

    @property
    def turnaround(self) -> int | None:
        """finish - arrival (None until it finishes)."""
        return None if self.finish is None else self.finish - self.arrival

    @classmethod
    def _from(cls, info) -> "Stats":
        return cls(info.arrival, _opt(info.first_run), _opt(info.finish), info.cpu_time,
                   info.wait, info.blocked, info.voluntary_switches, info.involuntary_switches,
                   info.migrations)


@dataclass(frozen=True)
class PeriodicJob:
    """One completed job of a periodic task (:meth:`Program.periodic
    <pykernel.Program.periodic>`), from the kernel's job log. Times in ns.
    (Not a :class:`~pykernel.JobObject`, a Zircon-style group of processes;
    ``pk.Job`` is a deprecated alias of this class.)

    ``index`` counts the task's jobs from 0; ``release`` is its nominal
    release instant (``arrival + index * period``), ``deadline`` its
    absolute deadline, ``finish`` when it completed."""

    tid: int
    index: int
    release: int
    finish: int
    deadline: int

    @property
    def response(self) -> int:
        """Response time: finish - release."""
        return self.finish - self.release

    @property
    def lateness(self) -> int:
        """finish - deadline: > 0 for a deadline miss, <= 0 otherwise."""
        return self.finish - self.deadline

    @property
    def missed(self) -> bool:
        """Whether it finished after its deadline."""
        return self.finish > self.deadline


@dataclass(frozen=True)
class JobStats:
    """Job counts of a periodic task, as of the kernel's current time (all
    zero for a thread that is not one).

    ``released``: release instants that have come (a job released while
    the one before it still runs counts, though it has not begun);
    ``completed``: jobs finished; ``deadline_misses``: completed jobs that
    finished after their absolute deadline (a miss is counted when the
    late job finishes); ``overdue``: released jobs not yet completed whose
    deadline has passed (misses to come; 0 once the task has exited).
    ``period`` and ``deadline`` are the task's (relative deadline)."""

    period: int = 0
    deadline: int = 0
    released: int = 0
    completed: int = 0
    deadline_misses: int = 0
    overdue: int = 0

    @classmethod
    def _from(cls, s) -> "JobStats":
        return cls(s.period, s.deadline, s.released, s.completed, s.misses, s.overdue)

    def __add__(self, other: "JobStats") -> "JobStats":
        return JobStats(self.period or other.period, self.deadline or other.deadline,
                        self.released + other.released, self.completed + other.completed,
                        self.deadline_misses + other.deadline_misses,
                        self.overdue + other.overdue)


@dataclass(frozen=True)
class Registers:
    """A thread's register context: 32 general registers, pc and flags.

    For script threads ``pc`` is the index of the next instruction and
    ``x[0]`` the remaining nanoseconds of the compute in progress
    (csrc/core/pk_api.h documents the layout)."""

    x: tuple
    pc: int
    flags: int

    @property
    def remaining(self) -> int:
        """Remaining ns of the timed operation in progress (x[0])."""
        return self.x[lib.PK_REG_REM]
