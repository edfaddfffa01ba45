"""What a kernel reports: its clock, counters, per-CPU accounting, the
job log of periodic tasks, latency and fairness, memory counters, and the
text, table and HTML reports built on them.

:class:`Observation` is a part of :class:`~pykernel.Kernel` (a mixin it
inherits); it only reads the core."""

from __future__ import annotations

from ._ffi import ffi, lib
from ._deprecated import CalledList
from ._lock import locked_views
from ._validate import int_range
from .accounting import PeriodicJob
from .errors import check
from .memory import MemoryStats, TlbStats, fault_rate, memory_stats, tlb_stats
from .results import CpuStats, KernelStats, Latency, jain_index

__all__ = ["Observation"]


@locked_views(own=True)
class Observation:
    """The read-only queries of :class:`~pykernel.Kernel`: statistics,
    the job log, latency, fairness, memory counters and reports."""

    __slots__ = ()

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
        cpu = int_range("Kernel cpu", cpu, 0, self.cpus - 1)
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
        return tlb_stats(self, int_range("Kernel cpu", cpu, 0, self.cpus - 1))

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
