"""Tabular results: processes, threads, CPUs, jobs, sweeps and traces as
columns (docs/observability.md, "Tables and DataFrames").

Every tabular result of pykernel is a :class:`Table`: a dict of
equal-length lists, one per column, whose names carry their unit
(``wait_ns``, ``busy_ns``; counts and names have none). ``to_pandas()``
makes a pandas DataFrame of it, and in Jupyter it shows as an HTML table.
"""

from __future__ import annotations

import html
import warnings

from ._ffi import FOREVER, ffi, lib
from .errors import check

__all__ = ["Table", "process_table", "thread_table", "cpu_table", "job_table",
           "deprecated_to_dataframe"]

HTML_ROWS = 50          # rows a Table shows in Jupyter before "... n more rows"


class Table(dict):
    """Columns of one result: a dict of column name -> list, all lists of
    the same length, in a fixed column order. Times are in ns and their
    columns end in ``_ns``.

    ``t["wait_ns"]`` is a column, ``t.rows()`` the same data as one dict
    per row, ``len(t.rows())`` (or ``t.nrows``) the number of rows,
    ``t.to_pandas()`` a DataFrame (pandas must be installed)."""

    def __init__(self, columns: dict, title: str = ""):
        super().__init__(columns)
        lengths = {len(v) for v in self.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of a table must have the same length, got {sorted(lengths)}")
        self.title = title

    @property
    def nrows(self) -> int:
        """The number of rows."""
        return len(next(iter(self.values()))) if self else 0

    def rows(self) -> list[dict]:
        """One dict per row, keyed by column name."""
        names = list(self)
        return [dict(zip(names, vals)) for vals in zip(*self.values())]

    def to_pandas(self):
        """The table as a pandas DataFrame, one column per key, in order
        (needs pandas: ``pip install 'pykernel-sim[dataframe]'``)."""
        return to_pandas(self, "Table.to_pandas")

    def html(self, max_rows: int | None = None) -> str:
        """The table as an HTML ``<table>`` (numbers right-aligned, None
        shown as empty cells); ``max_rows`` keeps the first rows and says
        how many were left out."""
        return html_table(list(self), list(zip(*self.values())), max_rows, self.title)

    def _repr_html_(self) -> str:
        return self.html(HTML_ROWS)

    def __repr__(self) -> str:
        return f"<Table {self.title + ': ' if self.title else ''}{self.nrows} rows x " \
               f"{len(self)} columns: {', '.join(self)}>"


def to_pandas(columns: dict, who: str):
    """A DataFrame of ``columns`` (a dict of lists), or ImportError naming
    the extra to install."""
    try:
        import pandas
    except ImportError:
        raise ImportError(f"{who} needs pandas: pip install 'pykernel-sim[dataframe]' "
                          "(or pip install pandas)") from None
    return pandas.DataFrame(dict(columns), columns=list(columns))


def deprecated_to_dataframe(obj, cls: str):
    """What a deprecated ``to_dataframe()`` does: warn, then ``to_pandas()``."""
    warnings.warn(f"{cls}.to_dataframe() is deprecated: use {cls}.to_pandas()",
                  DeprecationWarning, stacklevel=3)
    return obj.to_pandas()


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.1f}"
    return html.escape(str(v))


def html_table(head, rows, max_rows: int | None = None, caption: str = "") -> str:
    """An HTML table of ``rows`` (sequences of values) under ``head``."""
    rows = list(rows)
    shown = rows if max_rows is None else rows[:max_rows]
    out = ['<table class="pk-table">']
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head)
               + "</tr></thead><tbody>")
    for r in shown:
        out.append("<tr>" + "".join(
            f'<td style="text-align:{"right" if isinstance(v, (int, float)) else "left"}">'
            f"{_cell(v)}</td>" for v in r) + "</tr>")
    out.append("</tbody></table>")
    if len(shown) < len(rows):
        out.append(f"<p>... {len(rows) - len(shown):,} more rows</p>")
    return "\n".join(out)


def _opt(t: int):
    return None if t == FOREVER else t


PROCESS_COLUMNS = ("pid", "name", "state", "exit_code", "arrival_ns", "first_run_ns",
                   "finish_ns", "cpu_time_ns", "wait_ns", "blocked_ns", "response_ns",
                   "turnaround_ns", "voluntary_switches", "involuntary_switches", "migrations")
MEMORY_PROCESS_COLUMNS = ("page_faults", "major_faults")


def process_table(k, first: int, count: int) -> Table:
    """Processes first..first+count-1 of ``k`` as a :class:`Table` with
    :data:`PROCESS_COLUMNS` (and, in a kernel with memory, page_faults
    and major_faults), read in one call into the core."""
    from .process import PROCESS_STATES
    buf = ffi.new("pk_proc_info[]", max(count, 1))
    check(lib.pk_proc_info_bulk(k._kp, first, count, buf), "process table")
    cols = {c: [] for c in PROCESS_COLUMNS}
    progs, names = k._programs_all(), k._given_names()
    for i in range(count):
        p = buf[i]
        fr, fin = _opt(p.first_run), _opt(p.finish)
        vals = (p.pid, names.get(p.pid) or f"{progs[p.prog].name}-{p.pid}",
                PROCESS_STATES[p.state], p.exit_code if p.state == lib.PK_PS_EXITED else None,
                p.arrival, fr, fin, p.cpu_time, p.wait, p.blocked,
                None if fr is None else fr - p.arrival, None if fin is None else fin - p.arrival,
                p.voluntary_switches, p.involuntary_switches, p.migrations)
        for c, v in zip(PROCESS_COLUMNS, vals):
            cols[c].append(v)
    if k.memory is not None:
        from .process import Process
        faults = [Process(k, first + i).aspace.stats for i in range(count)]
        cols["page_faults"] = [a.page_faults for a in faults]
        cols["major_faults"] = [a.major_faults for a in faults]
    return Table(cols, "processes")


THREAD_COLUMNS = ("tid", "pid", "process", "state", "policy", "nice", "arrival_ns",
                  "first_run_ns", "finish_ns", "cpu_time_ns", "wait_ns", "blocked_ns",
                  "response_ns", "turnaround_ns", "voluntary_switches", "involuntary_switches",
                  "migrations")


def thread_table(k) -> Table:
    """Every thread of ``k``, in pid order then creation order, as a
    :class:`Table` with :data:`THREAD_COLUMNS`."""
    cols = {c: [] for c in THREAD_COLUMNS}
    for p in k.processes:
        name = p.name
        for t in p.threads:
            s = t.stats
            vals = (t.tid, p.pid, name, t.state, t.policy, t.nice, s.arrival, s.first_run,
                    s.finish, s.cpu_time, s.wait, s.blocked, s.response, s.turnaround,
                    s.voluntary_switches, s.involuntary_switches, s.migrations)
            for c, v in zip(THREAD_COLUMNS, vals):
                cols[c].append(v)
    return Table(cols, "threads")


CPU_COLUMNS = ("cpu", "busy_ns", "idle_ns", "overhead_ns", "utilization", "switches",
               "migrations_in")
MEMORY_CPU_COLUMNS = ("tlb_hits", "tlb_misses", "tlb_hit_rate", "tlb_flushes",
                      "tlb_shootdowns")


def cpu_table(k) -> Table:
    """Every CPU of ``k`` as a :class:`Table` with :data:`CPU_COLUMNS`
    (utilization is busy / (busy + idle + overhead), a fraction) and, in a
    kernel with memory, the TLB counters of :data:`MEMORY_CPU_COLUMNS`."""
    cpus = k.stats.cpus
    cols = {"cpu": [c.cpu for c in cpus], "busy_ns": [c.busy for c in cpus],
            "idle_ns": [c.idle for c in cpus], "overhead_ns": [c.overhead for c in cpus],
            "utilization": [c.utilization for c in cpus], "switches": [c.switches for c in cpus],
            "migrations_in": [c.migrations_in for c in cpus]}
    if k.memory is not None:
        tlbs = [k.tlb_stats(c.cpu) for c in cpus]
        cols.update(tlb_hits=[t.hits for t in tlbs], tlb_misses=[t.misses for t in tlbs],
                    tlb_hit_rate=[t.hit_rate for t in tlbs],
                    tlb_flushes=[t.flushes for t in tlbs],
                    tlb_shootdowns=[t.shootdowns for t in tlbs])
    return Table(cols, "cpus")


JOB_COLUMNS = ("tid", "index", "release_ns", "finish_ns", "deadline_ns", "response_ns",
               "lateness_ns", "missed")


def job_table(k) -> Table:
    """The logged jobs of periodic tasks (``k.jobs``), in the order they
    finished, as a :class:`Table` with :data:`JOB_COLUMNS`."""
    jobs = k.jobs
    return Table({"tid": [j.tid for j in jobs], "index": [j.index for j in jobs],
                  "release_ns": [j.release for j in jobs], "finish_ns": [j.finish for j in jobs],
                  "deadline_ns": [j.deadline for j in jobs],
                  "response_ns": [j.response for j in jobs],
                  "lateness_ns": [j.lateness for j in jobs], "missed": [j.missed for j in jobs]},
                 "jobs")


TABLES = {"processes": lambda k: k.processes.table(), "threads": thread_table, "cpus": cpu_table,
          "jobs": job_table}


def table(k, what: str) -> Table:
    """The :class:`Table` of ``what``: "processes", "threads", "cpus" or
    "jobs"."""
    try:
        return TABLES[what](k)
    except KeyError:
        raise ValueError(f"table is of {', '.join(map(repr, TABLES))}, not {what!r}") from None
