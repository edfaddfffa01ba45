"""Plots of a run (matplotlib, the optional extra ``plot``:
``pip install 'pykernel-sim[plot]'``): a CPU Gantt chart, a thread-state
timeline, wait-time distributions per policy, faults over time.

Each function returns a :class:`matplotlib.figure.Figure` and, given
``path=``, saves it as PNG or SVG (by the file's suffix). matplotlib is
imported when a function is first called, never by ``import pykernel``.
Figures are made without pyplot, so no window opens and no backend needs
a display."""

from __future__ import annotations

from pathlib import Path

__all__ = ["gantt", "thread_states", "wait_distribution", "faults_over_time", "states"]

_STATE_COLORS = {"running": "tab:green", "ready": "tab:orange", "blocked": "tab:gray"}
_UNITS = ((1_000_000_000, "s"), (1_000_000, "ms"), (1_000, "µs"), (1, "ns"))


def _figure(**kw):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("pykernel.plot needs matplotlib: pip install 'pykernel-sim[plot]'") from None
    return Figure(**kw)


def _finish(fig, path):
    if path is not None:
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg"):
            raise ValueError(f"path must end in .png or .svg, not {suffix or 'nothing'!r}")
        fig.savefig(path, format=suffix[1:])
    return fig


def _trace(k):
    from .trace import Trace
    tr = k if isinstance(k, Trace) else getattr(k, "trace", None)
    if tr is None:
        raise ValueError("this plot reads the trace: make the kernel with pk.Kernel(trace=True)")
    return tr


def _unit(end: int) -> tuple[int, str]:
    for scale, name in _UNITS:
        if end >= 10 * scale:
            return scale, name
    return 1, "ns"


def _color(i: int):
    from matplotlib import colormaps
    return colormaps["tab20"](i % 20)


def gantt(k, path=None):
    """A CPU Gantt chart from the trace of ``k`` (a kernel made with
    ``trace=True``, or a :class:`~pykernel.Trace`): one row per CPU, one
    bar per running interval, coloured and labelled by process."""
    tr = _trace(k)
    slices = tr.slices()
    scale, unit = _unit(tr.end)
    fig = _figure(figsize=(10, 1.2 + 0.5 * max(1, len({s[0] for s in slices}))))
    ax = fig.add_subplot()
    colors = {}
    for cpu, tid, start, end in slices:
        c = colors.setdefault(tr.name(tid), _color(len(colors)))
        ax.broken_barh([(start / scale, (end - start) / scale)], (cpu - 0.4, 0.8), color=c)
    cpus = sorted({s[0] for s in slices})
    ax.set_yticks(cpus, [f"CPU {c}" for c in cpus])
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_title("CPU Gantt chart")
    ax.invert_yaxis()
    _legend(fig, ax, colors)
    return _finish(fig, path)


def _legend(fig, ax, colors: dict) -> None:
    from matplotlib.patches import Patch
    if 0 < len(colors) <= 20:
        ax.legend(handles=[Patch(color=c, label=n) for n, c in colors.items()],
                  loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small")
        fig.tight_layout()


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


def thread_states(k, path=None, max_threads: int = 50):
    """A timeline of thread states from the trace of ``k``: one row per
    thread (the first ``max_threads`` tids), running / ready / blocked."""
    tr = _trace(k)
    st = states(tr)
    tids = sorted(st)[:max_threads]
    scale, unit = _unit(tr.end)
    fig = _figure(figsize=(10, 1.2 + 0.35 * max(1, len(tids))))
    ax = fig.add_subplot()
    for row, tid in enumerate(tids):
        for s, t0, t1 in st[tid]:
            ax.broken_barh([(t0 / scale, (t1 - t0) / scale)], (row - 0.4, 0.8),
                           color=_STATE_COLORS[s])
    ax.set_yticks(range(len(tids)), [f"{tr.name(t)} ({t})" for t in tids])
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_title("thread states")
    ax.invert_yaxis()
    _legend(fig, ax, _STATE_COLORS)
    return _finish(fig, path)


def wait_distribution(kernels: dict, path=None, bins: int = 30):
    """The distribution of processes' waiting time (time ready, not
    running) per policy: ``kernels`` maps a label (e.g. the policy's name)
    to a kernel that has run; one step histogram per kernel."""
    if not isinstance(kernels, dict) or not kernels:
        raise TypeError("wait_distribution needs a dict {label: kernel}, not "
                        f"{type(kernels).__name__}" if not isinstance(kernels, dict)
                        else "wait_distribution needs at least one kernel")
    waits = {name: [p.stats.wait for p in k.processes] for name, k in kernels.items()}
    top = max((max(w) for w in waits.values() if w), default=0)
    scale, unit = _unit(top)
    fig = _figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    for i, (name, w) in enumerate(waits.items()):
        if w:
            ax.hist([v / scale for v in w], bins=bins, histtype="step", linewidth=1.5,
                    color=_color(2 * i), label=f"{name} (mean {sum(w) / len(w) / scale:.3g} {unit})")
    ax.set_xlabel(f"waiting time per process ({unit})")
    ax.set_ylabel("processes")
    ax.set_title("waiting time by policy")
    ax.legend(fontsize="small")
    return _finish(fig, path)


def faults_over_time(k, path=None, bins: int = 50):
    """Page faults per interval of simulated time from the trace of ``k``
    (a kernel with memory), one stacked series per kind of fault."""
    tr = _trace(k)
    by = {}
    for e in tr:
        if e.kind == "fault":
            by.setdefault(e.what, []).append(e.time)
    scale, unit = _unit(tr.end)
    fig = _figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    if by:
        ax.hist([[t / scale for t in v] for v in by.values()], bins=bins, stacked=True,
                range=(0, max(tr.end, 1) / scale), label=list(by))
        ax.legend(fontsize="small")
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("page faults")
    ax.set_title("page faults over time")
    return _finish(fig, path)
