"""Plots of a run (matplotlib, the optional extra ``plot``:
``pip install 'pykernel-sim[plot]'``): a CPU Gantt chart, a thread-state
timeline, wait-time distributions per policy, faults over time.

Each function returns a :class:`matplotlib.figure.Figure` (which Jupyter
shows inline) and, given ``path=``, saves it as PNG or SVG (by the file's
suffix). matplotlib is imported when a function is first called, never by
``import pykernel``. Figures are made without pyplot, so no window opens
and no backend needs a display.

Every plot is meant to be read at its default size: colours come from
qualitative palettes (no two neighbours share a hue), a legend or labels
name what they mean, processes are grouped by program (and nice level)
when there are too many to tell apart, counts have integer ticks, titles
name the policy and the machine, and saved files are cropped to what is
drawn (nothing cut off)."""

from __future__ import annotations

import io
from pathlib import Path

__all__ = ["gantt", "thread_states", "wait_distribution", "faults_over_time", "states",
           "process_colors", "MAX_COLORS"]

_STATE_COLORS = {"running": "#2ca02c", "ready": "#ff7f0e", "blocked": "#9a9a9a"}
_FAULT_COLORS = {"minor": "#1f77b4", "major": "#d62728", "protection": "#9467bd",
                 "no_frame": "#8c564b"}
_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))
# Tableau 10 (matplotlib's "tab10"): ten hues that stay distinct for
# colour-blind readers; more groups than this are folded into "other"
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf")
_OTHER = "#c8c8c8"
MAX_COLORS = len(_PALETTE)      # processes (or groups) with a colour of their own
DPI = 100
RASTER_BARS = 3000       # past this many bars, an SVG holds them as one image, not as shapes
BIN_SLICES = 1000        # intervals per row past which a timeline draws columns of shares
COLUMNS = 500            # the columns of such a chart
_FIGURE_CLASS = None


def _figure(**kw):
    """A new figure (a Figure subclass that Jupyter shows inline as PNG)."""
    global _FIGURE_CLASS
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("pykernel.plot needs matplotlib: pip install 'pykernel-sim[plot]'") \
            from None
    if _FIGURE_CLASS is None:
        class PlotFigure(Figure):
            """A matplotlib Figure that Jupyter displays inline (``_repr_png_``)."""

            def _repr_png_(self) -> bytes:
                buf = io.BytesIO()
                self.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
                return buf.getvalue()

        _FIGURE_CLASS = PlotFigure
    return _FIGURE_CLASS(dpi=DPI, **kw)


def _finish(fig, path):
    if path is not None:
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg"):
            raise ValueError(f"path must end in .png or .svg, not {suffix or 'nothing'!r}")
        import matplotlib
        with matplotlib.rc_context({"svg.hashsalt": "pykernel"}):   # SVG ids: the same each time
            fig.savefig(path, format=suffix[1:], dpi=DPI, bbox_inches="tight",
                        metadata={"Date": None} if suffix == ".svg" else None)
    return fig


def _trace(k):
    from .trace import Trace
    tr = k if isinstance(k, Trace) else getattr(k, "trace", None)
    if tr is None:
        raise ValueError("this plot reads the trace: make the kernel with pk.Kernel(trace=True)")
    return tr


def _kernel(k):
    from .kernel import Kernel
    return k if isinstance(k, Kernel) else None


def _unit(end: int) -> tuple[int, str]:
    for scale, name in _UNITS:
        if end >= 10 * scale:
            return scale, name
    return 1, "ns"


def _color(i: int):
    return _PALETTE[i % len(_PALETTE)]


def machine_label(k) -> str:
    """"EEVDF, 4 CPUs (per-cpu run queues)": the policy and the machine of
    kernel ``k``, for plot titles ("" for a trace without its kernel)."""
    k = _kernel(k)
    if k is None:
        return ""
    from .report import policy_label
    cpus = f"{k.cpus} CPU" + ("s" if k.cpus > 1 else "")
    rq = f" ({k.runqueues} run queues)" if k.cpus > 1 else ""
    mem = ", virtual memory" if k.memory is not None else ""
    return f"{policy_label(k.scheduler)}, {cpus}{rq}{mem}"


def _title(what: str, k, extra: str = "") -> str:
    where = machine_label(k)
    parts = [p for p in (where, extra) if p]
    return f"{what}: {'; '.join(parts)}" if parts else what


def _group_of(k, tr, tid) -> tuple[str, str]:
    """(process name, group name) of thread tid: the group is the
    program's name, with the nice level when it is not 0."""
    kk = _kernel(k)
    if kk is None:
        name = tr.name(tid)
        base, dash, num = name.rpartition("-")
        return name, base if dash and num.isdigit() else name
    p = kk.process(kk._tid_pid(tid))
    nice = p.threads[0].nice
    return p.name, p.program.name + (f" (nice {nice:+d})" if nice else "")


def process_colors(k, tids, weights=None) -> tuple[dict, dict, str]:
    """The colours of threads ``tids`` of a plot: (tid -> colour,
    legend label -> colour, how they are grouped: "process" or
    "program"). With at most :data:`MAX_COLORS` processes each has its
    own colour; with more, processes are grouped by program (and nice
    level), and past :data:`MAX_COLORS` groups the groups with the least
    weight (e.g. CPU time; ``weights``: tid -> number) share the grey of
    "other"."""
    tr = _trace(k)
    info = {tid: _group_of(k, tr, tid) for tid in tids}
    weights = weights or {}
    procs = list(dict.fromkeys(n for n, _ in info.values()))
    if len(procs) <= MAX_COLORS:
        legend = {n: _color(i) for i, n in enumerate(procs)}
        return {tid: legend[n] for tid, (n, _) in info.items()}, legend, "process"
    total = {}
    for tid, (_, g) in info.items():
        total[g] = total.get(g, 0) + weights.get(tid, 0)
    groups = list(dict.fromkeys(g for _, g in info.values()))
    if len(groups) > MAX_COLORS:
        keep = sorted(groups, key=lambda g: (-total[g], groups.index(g)))[:MAX_COLORS - 1]
        groups = [g for g in groups if g in keep]
    legend = {g: _color(i) for i, g in enumerate(groups)}
    counts = {}
    for _, g in info.values():
        counts[g if g in legend else "other"] = counts.get(g if g in legend else "other", 0) + 1
    colors = {tid: legend.get(g, _OTHER) for tid, (_, g) in info.items()}
    labels = {f"{g} ({counts[g]})": c for g, c in legend.items()}
    if "other" in counts:
        labels[f"other ({counts['other']})"] = _OTHER
    return colors, labels, "program"


def _legend(fig, ax, colors: dict, title: str | None = None) -> None:
    from matplotlib.patches import Patch
    if colors:
        ax.legend(handles=[Patch(facecolor=c, edgecolor="none", label=n)
                           for n, c in colors.items()],
                  loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
                  title=title, title_fontsize="small", frameon=False)


def _gantt_bars(ax, k, tr, slices, colors, how, span, scale) -> None:
    """One bar per running interval (narrow bars of one colour that follow
    each other on a CPU drawn as one)."""
    bars = {}                     # (cpu, colour, wide) -> intervals: one collection each
    last = {}                     # cpu -> the key of its latest bar
    gap = span / 4000             # below the figure's resolution
    for cpu, tid, start, end in slices:
        # a white edge between neighbours of one colour, where it leaves the bar its colour;
        # narrow bars of one colour that follow each other on a CPU are drawn as one
        wide = (end - start) > span / 300
        key = (cpu, colors[tid], wide)
        xs = bars.setdefault(key, [])
        if not wide and last.get(cpu) == key and start - sum(xs[-1]) * scale < gap:
            xs[-1] = (xs[-1][0], end / scale - xs[-1][0])
        else:
            xs.append((start / scale, (end - start) / scale))
        last[cpu] = key
        if how == "process" and (end - start) > span / 25:
            ax.text((start + end) / 2 / scale, cpu, _group_of(k, tr, tid)[0], ha="center",
                    va="center", fontsize=7, color="white", clip_on=True)
    raster = sum(map(len, bars.values())) > RASTER_BARS
    for (cpu, color, wide), xs in bars.items():
        ax.broken_barh(xs, (cpu - 0.4, 0.8), facecolor=color,
                       edgecolor="white" if wide else "none", linewidth=0.4 if wide else 0,
                       rasterized=raster)


def _draw_columns(ax, rows: dict, span: int, scale: int) -> None:
    """More intervals than the figure can show one by one: time is cut
    into :data:`COLUMNS` columns, and each column of a row is split by
    how much of it each colour covers (blank: none). ``rows``: y ->
    [(colour, start, end), ...] in ns."""
    import numpy as np
    width = span / COLUMNS
    left = np.arange(COLUMNS) * width / scale
    for y, intervals in rows.items():
        palette = list(dict.fromkeys(c for c, _, _ in intervals))
        share = np.zeros((len(palette), COLUMNS))
        ci = {c: i for i, c in enumerate(palette)}
        for color, start, end in intervals:
            c = ci[color]
            while start < end:
                b = min(int(start // width), COLUMNS - 1)
                stop = min(end, (b + 1) * width) if b < COLUMNS - 1 else end
                share[c, b] += stop - start
                start = stop
        share /= width
        bottom = np.full(COLUMNS, y - 0.4)
        for c, color in enumerate(palette):
            h = share[c] * 0.8
            keep = h > 0
            ax.bar(left[keep], h[keep], width=width / scale, bottom=bottom[keep], align="edge",
                   color=color, linewidth=0, rasterized=True)
            bottom = bottom + h


def gantt(k, path=None):
    """A CPU Gantt chart from the trace of ``k`` (a kernel made with
    ``trace=True``, or a :class:`~pykernel.Trace`): one row per CPU, one
    bar per running interval. Up to :data:`MAX_COLORS` processes each
    get a colour, a legend entry and, where the bar is wide enough, their
    name on the bar; more are coloured by program and nice level (see
    :func:`process_colors`). The title names the policy and the machine."""
    tr = _trace(k)
    slices = tr.slices()
    scale, unit = _unit(tr.end)
    cpus = sorted({s[0] for s in slices}) or [0]
    if _kernel(k) is not None:
        cpus = list(range(k.cpus))
    ran = {}
    for _, tid, start, end in slices:
        ran[tid] = ran.get(tid, 0) + end - start
    colors, legend, how = process_colors(k, sorted(ran), ran)
    nproc = len({_group_of(k, tr, t)[0] for t in ran})
    height = max(2.4, 1.1 + 0.42 * len(cpus), 0.6 + 0.2 * len(legend))
    fig = _figure(figsize=(10, height))
    ax = fig.add_subplot()
    span = max(tr.end, 1)
    binned = len(slices) > BIN_SLICES * len(cpus)
    if binned:
        rows = {c: [] for c in cpus}
        for cpu, tid, start, end in slices:
            rows[cpu].append((colors[tid], start, end))
        _draw_columns(ax, rows, span, scale)
    else:
        _gantt_bars(ax, k, tr, slices, colors, how, span, scale)
    ax.set_yticks(cpus, [f"CPU {c}" for c in cpus])
    ax.set_ylim(max(cpus) + 0.6, min(cpus) - 0.6)
    ax.set_xlim(0, span / scale)
    ax.set_xlabel(f"simulated time ({unit})" + (
        f"; each column shows the shares of {span / COLUMNS / scale:.3g} {unit}"
        if binned else ""))
    ax.set_title(_title("CPU Gantt chart", k, f"{nproc} processes"), fontsize="medium")
    _legend(fig, ax, legend, "process" if how == "process" else "program (processes)")
    fig.set_layout_engine("constrained")
    return _finish(fig, path)


def states(tr) -> dict:
    """Per thread (tid), its intervals as (state, start, end) in ns:
    "ready" from a wake-up or a preemption to its switch-in, "running"
    from the end of the switch to its switch-out, "blocked" from a block
    to its wake-up. The last interval of a live thread ends at the end."""
    out, cur = {}, {}                       # tid -> [(state, start)]

    def enter(tid, state, t):
        if tid in cur:
            s, t0 = cur[tid]
            if t > t0:
                out.setdefault(tid, []).append((s, t0, t))
        if state is None:
            cur.pop(tid, None)
        else:
            cur[tid] = (state, t)

    for e in tr:
        if e.tid is None:
            continue
        if e.kind == "wake":
            enter(e.tid, "ready", e.time)
        elif e.kind == "switch_in":
            enter(e.tid, "ready", e.time)
            enter(e.tid, "running", e.time + e.arg)
        elif e.kind == "switch_out":
            enter(e.tid, "ready", e.time)
        elif e.kind == "block":
            enter(e.tid, "blocked", e.time)
        elif e.kind == "exit":
            enter(e.tid, None, e.time)
    for tid in list(cur):
        enter(tid, None, max(tr.end, cur[tid][1]))
    return out


def thread_states(k, path=None, max_threads: int = 40):
    """A timeline of thread states from the trace of ``k``: one row per
    thread (the first ``max_threads`` tids), running / ready / blocked in
    three colours with a legend; the title names the policy, the machine
    and how many threads are shown. A thread with more intervals than
    :data:`BIN_SLICES` makes every row columns of state shares, as in
    :func:`gantt`."""
    tr = _trace(k)
    st = states(tr)
    tids = sorted(st)[:max_threads]
    scale, unit = _unit(tr.end)
    fig = _figure(figsize=(10, max(2.4, 1.2 + 0.22 * len(tids))))
    ax = fig.add_subplot()
    span = max(tr.end, 1)
    binned = max((len(st[t]) for t in tids), default=0) > BIN_SLICES
    if binned:
        _draw_columns(ax, {row: [(_STATE_COLORS[s], t0, t1) for s, t0, t1 in st[tid]]
                           for row, tid in enumerate(tids)}, span, scale)
    raster = sum(len(st[t]) for t in tids) > RASTER_BARS
    for row, tid in enumerate(tids if not binned else ()):
        by = {}                   # state -> intervals: one collection per row and state
        for s, t0, t1 in st[tid]:
            by.setdefault(s, []).append((t0 / scale, (t1 - t0) / scale))
        for s, xs in by.items():
            ax.broken_barh(xs, (row - 0.4, 0.8), color=_STATE_COLORS[s], rasterized=raster)
    ax.set_yticks(range(len(tids)), [f"{tr.name(t)} ({t})" for t in tids],
                  fontsize="small" if len(tids) > 12 else None)
    ax.set_ylim(max(len(tids), 1) - 0.5, -0.5)
    ax.set_xlim(0, span / scale)
    ax.set_xlabel(f"simulated time ({unit})" + (
        f"; each column shows the shares of {span / COLUMNS / scale:.3g} {unit}"
        if binned else ""))
    shown = f"first {len(tids)} of {len(st)} threads" if len(tids) < len(st) else \
        f"{len(st)} threads"
    ax.set_title(_title("thread states", k, shown), fontsize="medium")
    _legend(fig, ax, _STATE_COLORS, "state")
    fig.set_layout_engine("constrained")
    return _finish(fig, path)


def _integer_counts(ax) -> None:
    from matplotlib.ticker import MaxNLocator
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def wait_distribution(kernels: dict, path=None, bins: int = 30, dots: int = 30):
    """The distribution of processes' waiting time (time ready, not
    running) per policy: ``kernels`` maps a label (e.g. the policy's name)
    to a kernel that has run. With at most ``dots`` processes per kernel,
    one row per kernel with a dot per process and a bar at the mean;
    with more, one step histogram per kernel (the y axis counts
    processes, integer ticks). Each kernel has its own colour and its
    mean in the legend."""
    if not isinstance(kernels, dict) or not kernels:
        raise TypeError("wait_distribution needs a dict {label: kernel}, not "
                        f"{type(kernels).__name__}" if not isinstance(kernels, dict)
                        else "wait_distribution needs at least one kernel")
    waits = {name: [p.stats.wait for p in k.processes] for name, k in kernels.items()}
    top = max((max(w) for w in waits.values() if w), default=0)
    scale, unit = _unit(top)
    strip = max(len(w) for w in waits.values()) <= dots
    fig = _figure(figsize=(9, max(3.2, 1.4 + 0.42 * len(waits)) if strip else 4.8))
    ax = fig.add_subplot()
    edges = [top / scale * i / bins for i in range(bins + 1)] if top else bins
    for i, (name, w) in enumerate(waits.items()):
        if not w:
            continue
        mean = sum(w) / len(w) / scale
        label = f"{name} (mean {mean:.3g} {unit})"
        if strip:
            ax.scatter([v / scale for v in w], [i] * len(w), s=36, color=_color(i), alpha=0.8,
                       label=label, zorder=3)
            ax.plot([mean, mean], [i - 0.3, i + 0.3], color=_color(i), linewidth=2.5, zorder=2)
        else:
            ax.hist([v / scale for v in w], bins=edges, histtype="step", linewidth=1.6,
                    color=_color(i), label=label)
    ax.set_xlabel(f"waiting time per process ({unit})")
    if strip:
        ax.set_yticks(range(len(waits)), list(waits))
        ax.set_ylim(max(len(waits), 1) - 0.5, -0.5)
        ax.grid(axis="x", alpha=0.3)
    else:
        ax.set_ylabel("processes")
        _integer_counts(ax)
    first = next(iter(kernels.values()))
    n = len(first.processes)
    cpus = f"{first.cpus} CPU" + ("s" if first.cpus > 1 else "")
    how = "a dot per process, a bar at the mean" if strip else "histogram"
    ax.set_title(f"waiting time by policy: {n} processes, {cpus} ({how})", fontsize="medium")
    if any(waits.values()):
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    fig.set_layout_engine("constrained")
    return _finish(fig, path)


def faults_over_time(k, path=None, bins: int = 50):
    """Page faults per interval of simulated time from the trace of ``k``
    (a kernel with memory), one stacked series per kind of fault, each
    kind in a fixed colour; integer counts on the y axis."""
    tr = _trace(k)
    by = {}
    for e in tr:
        if e.kind == "fault":
            by.setdefault(e.what, []).append(e.time)
    scale, unit = _unit(tr.end)
    fig = _figure(figsize=(9, 4.5))
    ax = fig.add_subplot()
    if by:
        ax.hist([[t / scale for t in v] for v in by.values()], bins=bins, stacked=True,
                range=(0, max(tr.end, 1) / scale), label=list(by),
                color=[_FAULT_COLORS.get(w, _OTHER) for w in by])
        ax.legend(fontsize="small", title="fault", title_fontsize="small",
                  loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    ax.set_xlim(0, max(tr.end, 1) / scale)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel(f"page faults per {max(tr.end, 1) / bins / scale:.3g} {unit}")
    _integer_counts(ax)
    total = sum(len(v) for v in by.values())
    ax.set_title(_title("page faults over time", k, f"{total:,} faults"), fontsize="medium")
    fig.set_layout_engine("constrained")
    return _finish(fig, path)
