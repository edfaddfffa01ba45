"""HTML views of results: the report page of ``k.report_html(path)`` and
``pykernel run --html``, and what Jupyter shows for a kernel and a run
(docs/observability.md, "HTML report").

The report is one self-contained file: no scripts, no external style
sheets, fonts or images. Plots are inline SVG (matplotlib draws text as
paths, so no font is needed), the trace is embedded as a ``data:`` URI
that the browser saves as a Chrome trace-event JSON file for Perfetto."""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

from .report import duration, memory_figures, policy_label
from .tables import html_table

__all__ = ["report_html", "kernel_html", "run_result_html", "MAX_PROCESS_ROWS",
           "MAX_EMBEDDED_TRACE"]

MAX_PROCESS_ROWS = 2_000               # process rows in the report (the rest are counted)
MAX_EMBEDDED_TRACE = 16 * 1024 * 1024  # bytes of trace JSON the page may carry
_STATES_THREADS = 40                   # rows of the thread-state plot

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; margin: 2em auto; max-width: 1150px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em;
     border-bottom: 1px solid #ddd; padding-bottom: .2em; }
table.pk-table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
table.pk-table th, table.pk-table td { padding: .2em .6em; border-bottom: 1px solid #eee;
                                      white-space: nowrap; }
table.pk-table th { text-align: left; background: #f4f4f4; position: sticky; top: 0; }
table.pk-table caption { text-align: left; font-weight: bold; padding: .3em 0; }
.pk-scroll { max-height: 32em; overflow: auto; border: 1px solid #eee; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; }
.note { color: #666; font-size: .9em; }
"""


def _esc(v) -> str:
    return html.escape(str(v))


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _figures(k) -> list[tuple[str, str]]:
    """(name, value) rows of the summary of kernel ``k``."""
    st = k.stats
    total = st.busy + st.idle + st.overhead
    return [
        ("policy", policy_label(k.scheduler)),
        ("CPUs", f"{k.cpus} ({k.runqueues} run queues)" if k.cpus > 1 else "1"),
        ("seed", k.seed),
        ("costs", f"switch {k.costs.switch} ns, migrate {k.costs.migrate} ns"),
        ("simulated time", duration(st.now)),
        ("CPU busy / idle / overhead",
         f"{duration(st.busy)} / {duration(st.idle)} / {duration(st.overhead)} "
         f"({_pct(st.busy, total)} busy)"),
        ("context switches", f"{st.context_switches:,}"),
        ("migrations", f"{st.migrations:,}"),
        ("processes", f"{st.processes:,}"),
        ("threads", f"{st.threads:,} ({st.live_threads:,} live)"),
    ]


def _memory_rows(k) -> list[tuple[str, str]]:
    f = memory_figures(k)
    if f is None:
        return []
    return [
        ("page faults", f"{f['page_faults']:,} ({f['minor_faults']:,} minor, "
                        f"{f['major_faults']:,} major)"),
        ("protection faults", f"{f['protection_faults']:,}"),
        ("copy-on-write breaks", f"{f['cow_breaks']:,}"),
        ("TLB hits / misses", f"{f['tlb_hits']:,} / {f['tlb_misses']:,} "
                              f"({100 * f['tlb_hit_rate']:.1f}% hits)"),
        ("TLB flushes / shootdowns", f"{f['tlb_flushes']:,} / {f['tlb_shootdowns']:,}"),
        ("swap in / out (pages)", f"{f['swap_ins']:,} / {f['swap_outs']:,}"),
        ("evictions / reclaims / OOM kills",
         f"{f['evictions']:,} / {f['reclaims']:,} / {f['oom_kills']:,}"),
        ("frames (most used)", f"{f['frames']:,} ({f['frames_used_high']:,})"),
    ]


def _pairs(rows, caption: str = "") -> str:
    return html_table(("", ""), [(n, str(v)) for n, v in rows], caption=caption) \
        .replace("<thead><tr><th></th><th></th></tr></thead>", "")


def _svg(fig) -> str:
    """A matplotlib figure as inline SVG (no XML prolog or DOCTYPE)."""
    import matplotlib
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "pykernel"}):     # the same ids every time
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return re.sub(r"<metadata>.*?</metadata>", "", text[text.index("<svg"):], flags=re.S)


def _plots(k) -> list[str]:
    if k.trace is None:
        return ['<p class="note">No trace: run with <code>trace=True</code> (or '
                "<code>pykernel run --html</code>, which turns it on) for the Gantt chart, "
                "the thread states and the trace.</p>"]
    try:
        from . import plot
        figs = [("CPU Gantt chart", plot.gantt(k)),
                ("thread states", plot.thread_states(k, max_threads=_STATES_THREADS))]
        if k.memory is not None:
            figs.append(("page faults over time", plot.faults_over_time(k)))
    except ImportError as exc:
        return [f'<p class="note">No plots: {_esc(exc)}.</p>']
    return [f'<figure aria-label="{_esc(name)}">{_svg(fig)}</figure>' for name, fig in figs]


def _trace_section(k) -> str:
    tr = k.trace
    if tr is None:
        return ""
    text = tr.to_json()
    head = (f"<p>{len(tr):,} events recorded, {tr.dropped:,} dropped. The trace is in "
            "Chrome trace-event format: open it in the Perfetto UI or chrome://tracing.</p>")
    if len(text) > MAX_EMBEDDED_TRACE:
        return head + (f'<p class="note">The trace ({len(text):,} bytes) is too large to embed; '
                       "save it with <code>pykernel run --trace</code>.</p>")
    data = base64.b64encode(text.encode()).decode("ascii")
    first = [(e.time, e.kind, e.cpu, e.tid, tr.name(e.tid) if e.tid is not None else "",
              e.what, e.arg) for e in list(tr)[:200]]
    return head + (
        f'<p><a download="trace.json" href="data:application/json;base64,{data}">'
        f"Save the trace (trace.json, {len(text):,} bytes)</a></p>"
        f"<details><summary>The first {len(first)} events</summary>"
        + html_table(("time_ns", "kind", "cpu", "tid", "process", "what", "arg"), first)
        + "</details>")


def report_html(k, path=None, title: str | None = None) -> str:
    """The report page of kernel ``k`` (see the module's docstring);
    written to ``path`` (UTF-8) when given. Returns the HTML text."""
    from . import __version__
    if title is None:
        title = f"pykernel report: {policy_label(k.scheduler)}, {k.cpus} CPU" + \
                ("s" if k.cpus > 1 else "")
    procs = k.table("processes")
    nproc = procs.nrows
    if nproc > MAX_PROCESS_ROWS:
        shown = {c: v[:MAX_PROCESS_ROWS] for c, v in procs.items()}
        procs_html = html_table(list(shown), list(zip(*shown.values()))) + \
            f'<p class="note">{nproc - MAX_PROCESS_ROWS:,} more processes not shown.</p>'
    else:
        procs_html = html_table(list(procs), list(zip(*procs.values())))
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<p class="note">pykernel {_esc(__version__)}; times in ns unless a unit is given.</p>',
        '<h2 id="summary">Summary</h2>', _pairs(_figures(k)),
    ]
    mem = _memory_rows(k)
    if mem:
        parts += ['<h2 id="memory">Memory</h2>', _pairs(mem)]
    cpus = k.table("cpus")
    parts += ['<h2 id="cpus">CPUs</h2>',
              f'<div class="pk-scroll">{html_table(list(cpus), list(zip(*cpus.values())))}</div>']
    parts += ['<h2 id="plots">Plots</h2>', *_plots(k)]
    parts += [f'<h2 id="processes">Processes ({nproc:,})</h2>',
              f'<div class="pk-scroll">{procs_html}</div>']
    if k.trace is not None:
        parts += ['<h2 id="trace">Trace</h2>', _trace_section(k)]
    parts += ["</body></html>", ""]
    text = "\n".join(parts)
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text


def kernel_html(k, top: int = 10) -> str:
    """What Jupyter shows for a kernel: its summary figures, memory
    figures when it has memory, the CPU table and the ``top`` processes
    by CPU time."""
    procs = k.table("processes")
    order = sorted(range(procs.nrows), key=lambda i: (-procs["cpu_time_ns"][i], i))[:top]
    rows = [[procs[c][i] for c in procs] for i in order]
    parts = [f"<div><strong>pykernel Kernel</strong> at {_esc(duration(k.now))}",
             _pairs(_figures(k) + _memory_rows(k)), k.table("cpus").html(),
             html_table(list(procs), rows,
                        caption=f"top {len(rows)} of {procs.nrows} processes by CPU time"),
             "</div>"]
    return "\n".join(parts)


def run_result_html(r) -> str:
    """What Jupyter shows for a :class:`~pykernel.RunResult`."""
    rows = [("reason", r.reason), ("simulated", f"{duration(r.start)} to {duration(r.now)} "
                                                 f"({duration(r.elapsed)})"),
            ("context switches", f"{r.switches:,}"), ("steps", f"{r.steps:,}"),
            ("host time", f"{r.wall:.3f} s ({r.switches_per_second / 1e6:,.2f} M switches/s)")]
    if r.deadlock is not None:
        rows.append(("deadlock", str(r.deadlock)))
    return "<div><strong>pykernel RunResult</strong>" + _pairs(rows) + "</div>"
