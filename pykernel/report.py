"""Readable reports of a kernel's state: a summary and text tables.

``k.summary()`` and ``k.report(...)`` call these. Everything here reads
the kernel through its public views (``k.stats``, ``k.processes``,
``p.threads``); nothing is cached, so a report is as of ``k.now``.
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["table", "policy_label", "duration", "summary", "report", "memory_figures"]

MS = 1_000_000
US = 1_000


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Format rows of strings as a text table under ``head``: the first
    column left-aligned, the others right-aligned, two spaces apart, a
    rule of dashes under the heading."""
    rows = [list(r) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(head)]

    def fmt(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [fmt(head), "  ".join("-" * w for w in widths)]
    out += [fmt(r) for r in rows]
    return "\n".join(out)


def duration(ns: int | None) -> str:
    """A duration in the largest unit that keeps it readable: "1.500 ms",
    "800 ns", "2.000 s"; "-" for None."""
    if ns is None:
        return "-"
    if ns >= 1_000_000_000:
        return f"{ns / 1e9:.3f} s"
    if ns >= MS:
        return f"{ns / MS:.3f} ms"
    if ns >= US:
        return f"{ns / US:.3f} us"
    return f"{ns} ns"


def policy_label(policy) -> str:
    """A short name for a scheduling policy: its class name, with the
    parameters that tell apart the instances the demo compares."""
    from . import sched
    if isinstance(policy, sched.RoundRobin):
        q = policy.quantum
        unit = f"{q / MS:g} ms" if q >= MS else f"{q / US:g} us" if q >= US else f"{q} ns"
        return f"RoundRobin({unit})"
    if isinstance(policy, sched.MLFQ):
        quanta = "/".join(f"{q / MS:g}" for q in policy.quanta)
        boost = f", boost {policy.boost / MS:g} ms" if policy.boost else ""
        return f"MLFQ({quanta} ms{boost})"
    return type(policy).__name__


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _cpu_rows(k) -> list[list[str]]:
    rows = []
    for c in k.stats.cpus:
        total = c.busy + c.idle + c.overhead
        rows.append([str(c.cpu), duration(c.busy), duration(c.idle), duration(c.overhead),
                     _pct(c.busy, total), str(c.switches), str(c.migrations_in)])
    return rows


CPU_HEAD = ("cpu", "busy", "idle", "overhead", "utilization", "switches", "migrations in")
PROCESS_HEAD = ("process", "pid", "state", "threads", "cpu time", "wait", "blocked",
                "response", "turnaround", "switches (vol/invol)")
THREAD_HEAD = ("thread", "tid", "process", "state", "policy", "nice", "cpu time", "wait",
               "blocked", "switches (vol/invol)")


def _process_rows(k, procs) -> list[list[str]]:
    rows = []
    for p in procs:
        s = p.stats
        rows.append([p.name, str(p.pid), p.state, str(len(p.threads)), duration(s.cpu_time),
                     duration(s.wait), duration(s.blocked), duration(s.response),
                     duration(s.turnaround),
                     f"{s.voluntary_switches}/{s.involuntary_switches}"])
    return rows


def _thread_rows(k, procs) -> list[list[str]]:
    rows = []
    for p in procs:
        for i, t in enumerate(p.threads):
            s = t.stats
            rows.append([f"{p.name}.{i}", str(t.tid), p.name, t.state, t.policy, str(t.nice),
                         duration(s.cpu_time), duration(s.wait), duration(s.blocked),
                         f"{s.voluntary_switches}/{s.involuntary_switches}"])
    return rows


def _top(k, n: int | None):
    """The processes, most CPU time first (ties: lower pid), at most n."""
    procs = sorted(k.processes, key=lambda p: (-p.stats.cpu_time, p.pid))
    return procs if n is None else procs[:n]


def report(k, what: str = "processes", top: int | None = None) -> str:
    """A table of ``what``: "processes" (one row per process), "threads"
    (one per thread) or "cpus" (one per CPU). Processes and threads come
    most CPU time first (ties: lower pid); ``top`` keeps the first ones."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"top must be a positive int or None, got {top!r}")
    if what == "cpus":
        return table(CPU_HEAD, _cpu_rows(k))
    if what == "processes":
        return table(PROCESS_HEAD, _process_rows(k, _top(k, top)))
    if what == "threads":
        rows = _thread_rows(k, _top(k, None))
        return table(THREAD_HEAD, rows if top is None else rows[:top])
    raise ValueError(f"report is of 'processes', 'threads' or 'cpus', not {what!r}")


def memory_figures(k) -> dict | None:
    """The memory pressure of a kernel with memory as one flat dict (None
    without memory): page faults summed over every process (faults that
    brought a page in, their minor and major parts, refused accesses,
    copy-on-write breaks), the TLBs summed over CPUs (hits, misses, hit
    rate, flushes, shootdowns), swap traffic in pages, evictions, reclaim
    passes, OOM kills, and frames (configured and the most ever used)."""
    if k.memory is None:
        return None
    from .process import Process
    totals = dict.fromkeys(("page_faults", "minor_faults", "major_faults", "protection_faults",
                            "cow_breaks"), 0)
    for pid in range(k.stats.processes):
        a = Process(k, pid).aspace.stats
        for name in totals:
            totals[name] += getattr(a, name)
    tlbs = [k.tlb_stats(c) for c in range(k.cpus)]
    hits, misses = sum(t.hits for t in tlbs), sum(t.misses for t in tlbs)
    m = k.memory_stats
    return {**totals, "tlb_hits": hits, "tlb_misses": misses,
            "tlb_hit_rate": hits / (hits + misses) if hits + misses else 0.0,
            "tlb_flushes": sum(t.flushes for t in tlbs),
            "tlb_shootdowns": sum(t.shootdowns for t in tlbs),
            "swap_ins": m.swap_ins, "swap_outs": m.swap_outs, "evictions": m.evictions,
            "reclaims": m.reclaims, "oom_kills": m.oom_kills, "frames": m.frames,
            "frames_used_high": m.used_high}


def memory_lines(k) -> list[str]:
    """The "memory" section of :func:`summary` (empty without memory)."""
    f = memory_figures(k)
    if f is None:
        return []
    return [
        "memory",
        f"  page faults {f['page_faults']:,} ({f['minor_faults']:,} minor, "
        f"{f['major_faults']:,} major), {f['protection_faults']:,} protection faults, "
        f"{f['cow_breaks']:,} copy-on-write breaks",
        f"  TLB {f['tlb_hits']:,} hits, {f['tlb_misses']:,} misses "
        f"({100 * f['tlb_hit_rate']:.1f}% hits), {f['tlb_flushes']:,} flushes, "
        f"{f['tlb_shootdowns']:,} shootdowns",
        f"  swap {f['swap_ins']:,} pages in, {f['swap_outs']:,} out; {f['evictions']:,} evictions, "
        f"{f['reclaims']:,} reclaims, {f['oom_kills']:,} OOM kills",
        f"  frames {f['frames']:,}, at most {f['frames_used_high']:,} used",
    ]


def summary(k, top: int = 5) -> str:
    """A multi-section text summary: the machine, the policy, the time,
    the switches, memory pressure (kernels with memory), a table of the
    CPUs and the ``top`` processes by CPU time."""
    st = k.stats
    busy, idle, over = st.busy, st.idle, st.overhead
    total = busy + idle + over
    mem = "" if k.memory is None else ", virtual memory"
    lines = [
        "machine",
        f"  {k.cpus} CPU(s), run queues {k.runqueues}, seed {k.seed}{mem}",
        f"  costs: switch {k.costs.switch} ns, migrate {k.costs.migrate} ns",
        "policy",
        f"  {policy_label(k.scheduler)}",
        "time",
        f"  simulated {duration(st.now)}; CPU time busy {duration(busy)}, "
        f"idle {duration(idle)}, overhead {duration(over)} ({_pct(busy, total)} busy)",
        "switches",
        f"  {st.context_switches} context switches, {st.migrations} migrations, "
        f"{st.processes} processes, {st.threads} threads ({st.live_threads} live)",
    ]
    lines += memory_lines(k)
    lines.append("cpus")
    lines += ["  " + line for line in table(CPU_HEAD, _cpu_rows(k)).splitlines()]
    procs = _top(k, top)
    lines.append(f"top processes by CPU time ({len(procs)} of {st.processes})")
    lines += ["  " + line for line in table(PROCESS_HEAD, _process_rows(k, procs)).splitlines()]
    return "\n".join(lines) + "\n"
