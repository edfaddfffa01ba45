"""Calibration: fit the cost model (:class:`~pykernel.Costs`) to this host.

Seven small workloads run twice: on the host, as a C program compiled at
run time with the host's ``cc`` (pykernel/_calibrate_host.c), and in
pykernel, built from the same script operations as :mod:`pykernel.workloads`.
Each gives one figure, nanoseconds per operation:

- ``syscall``: one process writes 4 bytes to a pipe and reads them
  back (fields: syscall);
- ``pipe``: ``perf bench sched pipe``, a 4-byte ping-pong between two
  processes (switch, syscall, wakeup);
- ``yield``: two processes call ``sched_yield`` in turn (switch);
- ``messaging``: ``perf bench sched messaging`` over sockets (switch,
  syscall, wakeup, socket); ``messaging-p``: the same over pipes, perf's
  ``-p`` (switch, syscall, wakeup);
- ``fault``: write one byte to each page of a fresh anonymous mapping
  (minor_fault);
- ``fork``: fork a child that exits at once and reap it (fork, switch).

Every process is pinned to one CPU.

:func:`fit` chooses the fields that minimise the sum of squared relative
errors ``simulated / measured - 1`` over the workloads (Gauss-Newton
steps: the simulated figures are linear in the costs while the schedule
does not change, so each step's Jacobian comes from finite differences,
and a bounded linear least-squares solve keeps every cost >= 0). A small
pull towards the starting costs decides what the measurements leave open.

Why C and CPU time: Python's ``os.read``/``os.write`` add about a
microsecond of interpreter per call, as much as the kernel's work being
measured; a C loop adds a few nanoseconds. Every process is pinned with
``sched_setaffinity`` so switches happen on one CPU, as in the simulated
runs. The figure is the CPU time of the workload's processes
(``CLOCK_PROCESS_CPUTIME_ID``, the scheduler's per-task runtime), not the
wall time: on a CPU shared with other jobs the wall time also counts their
time slices, the CPU time only the workload's own work, its switches
included. Each host figure is the smallest of ``repeat`` runs: other
jobs can only add to it (the caches and TLB they disturb).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable

from . import op
from .costs import Costs
from .kernel import Kernel
from .memory import Memory
from .program import Program
from .sched import RoundRobin
from . import workloads as _w

__all__ = ["Workload", "WORKLOADS", "FIELDS", "Fit", "workloads", "simulate", "measure_host",
           "fit", "compile_host", "format_table", "format_costs", "main", "add_command",
           "HostError"]

#: the cost fields calibration fits, in order
FIELDS = ("switch", "syscall", "wakeup", "socket", "minor_fault", "fork")

_BASE = 0x1000_0000


class HostError(OSError):
    """The host cannot be measured: no C compiler, not Linux, or the
    measuring program failed."""


@dataclass(frozen=True)
class Workload:
    """One calibration workload: ``name``; ``fields``, the cost fields its
    simulated figure depends on; ``args``, the host program's arguments;
    ``ops``, operations per run (the figure is ns per operation);
    ``simulate(costs)``, the simulated ns of one run."""

    name: str
    fields: tuple
    args: tuple
    ops: int
    simulate: Callable[[Costs], int]
    what: str = ""

    def simulated(self, costs: Costs) -> float:
        """The simulated figure under ``costs``: ns per operation."""
        return self.simulate(costs) / self.ops


def _syscall_ns(loops: int, costs: Costs) -> int:
    k = Kernel(cpus=1, costs=costs)
    boot = k.spawn(Program.script("boot", []), name="boot")
    r, w = boot.pipe_create()
    k.spawn(Program.script("rw", [op.loop(loops, [op.write(1, 4), op.read(0, 4)])]),
            handles=[r, w])
    return _run(k)


def _fault_ns(pages: int, costs: Costs) -> int:
    k = Kernel(cpus=1, costs=costs, memory=Memory(frames=max(1 << 12, 2 * pages)))
    k.spawn(Program.script("faults", [op.map(_BASE, pages * 4096),
                                      op.touch_range(_BASE, pages * 4096, 4096, write_ratio=1.0)]))
    return _run(k) - costs.switch         # the one switch that brings it in


def _fork_ns(loops: int, costs: Costs) -> int:
    k = Kernel(cpus=1, costs=costs, memory=Memory(), scheduler=RoundRobin())
    body = [op.map(_BASE, 16 * 4096), op.touch_range(_BASE, 16 * 4096, 4096, write_ratio=1.0)]
    k.spawn(Program.script("forker", body + [op.loop(loops, [op.fork([]), op.yield_()])]))
    return _run(k)


def _run(k: Kernel) -> int:
    r = k.run()
    if r.reason != "idle":
        raise RuntimeError(f"a calibration workload stopped with reason {r.reason!r}")
    return k.now


def workloads(quick: bool = False) -> list[Workload]:
    """The seven calibration workloads; ``quick``: smaller runs (about a
    fifth) for a check in a few seconds."""
    n = 5 if quick else 1
    loops, pairs, pages, forks = 50_000 // n, 100_000 // n, 16_384 // n, 2_000 // n
    groups, mloops = (2, 20) if quick else (10, 100)
    msgs = groups * 20 * 20 * mloops
    return [
        Workload("syscall", ("syscall",), ("rw", loops), 2 * loops,
                 lambda c: _syscall_ns(loops, c), "ns per pipe write or read, one process"),
        Workload("pipe", ("switch", "syscall", "wakeup"), ("pipe", loops), loops,
                 lambda c: _w.pipe(loops, costs=c).simulated_ns, "ns per pipe round trip"),
        Workload("yield", ("switch",), ("yield", pairs), pairs,
                 lambda c: _w.yield_pair(pairs, costs=c).simulated_ns, "ns per pair of yields"),
        Workload("messaging", ("switch", "syscall", "wakeup", "socket"),
                 ("messaging", groups, 20, mloops, 100, 0), msgs,
                 lambda c: _w.messaging(groups, 20, mloops, 100, costs=c).simulated_ns,
                 f"ns per message, {groups} groups of 20+20 over sockets"),
        Workload("messaging-p", ("switch", "syscall", "wakeup"),
                 ("messaging", groups, 20, mloops, 100, 1), msgs,
                 lambda c: _w.messaging(groups, 20, mloops, 100, pipes=True, costs=c).simulated_ns,
                 "the same over pipes (perf's -p)"),
        Workload("fault", ("minor_fault",), ("fault", pages, 4), pages,
                 lambda c: _fault_ns(pages, c), "ns per first write to a page"),
        Workload("fork", ("fork", "switch"), ("fork", forks), forks,
                 lambda c: _fork_ns(forks, c), "ns per fork + exit + wait"),
    ]


#: the workloads of a full calibration
WORKLOADS = workloads()


def simulate(costs: Costs, wls: list[Workload] | None = None) -> dict[str, float]:
    """The simulated figure (ns per operation) of each workload under
    ``costs``."""
    return {w.name: w.simulated(costs) for w in (WORKLOADS if wls is None else wls)}


# ---- the host ----------------------------------------------------------------------


def compile_host(directory) -> Path:
    """Compile the host program into ``directory`` with the host's C
    compiler (``$CC``, else ``cc``); its path. HostError if there is no
    compiler or the host is not Linux."""
    if not sys.platform.startswith("linux"):
        raise HostError(f"pykernel calibrate measures the host with Linux system calls "
                        f"(sched_setaffinity, CLOCK_PROCESS_CPUTIME_ID); this host is {sys.platform}")
    cc = shutil.which(os.environ.get("CC", "cc"))
    if cc is None:
        raise HostError("pykernel calibrate compiles its host workloads at run time and needs a "
                        f"C compiler: {os.environ.get('CC', 'cc')!r} was not found (install gcc or "
                        "clang, or set CC)")
    src = Path(__file__).with_name("_calibrate_host.c")
    exe = Path(directory) / "pk_calibrate"
    r = subprocess.run([cc, "-O2", "-o", str(exe), str(src)], capture_output=True, text=True)
    if r.returncode != 0:
        raise HostError(f"compiling {src.name} with {cc} failed:\n{r.stderr.strip()}")
    return exe


def _host_cpu() -> int:
    return min(os.sched_getaffinity(0))


def _measure_once(exe: Path, w: Workload, cpu: int) -> float:
    try:
        r = subprocess.run([str(exe), str(cpu), *map(str, w.args)], capture_output=True,
                           text=True, timeout=300)
    except subprocess.TimeoutExpired:
        raise HostError(f"the host workload {w.name} took more than 300 s") from None
    if r.returncode != 0:
        raise HostError(f"the host workload {w.name} failed: {r.stderr.strip()}")
    cpu_ns, _wall = (int(v) for v in r.stdout.split())
    return cpu_ns / w.ops


def measure_host(wls: list[Workload] | None = None, repeat: int = 5, progress=None) -> dict:
    """Measure each workload on the host ``repeat`` times (in rounds of
    one run of each); the smallest
    figure (CPU ns per operation) of each: other jobs on the CPU only add
    time (cache and TLB misses), so the least disturbed run is the
    workload's own cost. ``progress(done, total, name)``
    is called before each run."""
    wls = WORKLOADS if wls is None else wls
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat must be an int >= 1, got {repeat!r}")
    runs: dict[str, list] = {w.name: [] for w in wls}
    total = len(wls) * repeat
    with tempfile.TemporaryDirectory(prefix="pykernel-calibrate-") as tmp:
        exe, cpu = compile_host(tmp), _host_cpu()
        for j in range(repeat):                 # rounds: a burst of load spoils one run of each
            for i, w in enumerate(wls):
                if progress:
                    progress(j * len(wls) + i, total, w.name)
                runs[w.name].append(_measure_once(exe, w, cpu))
    if progress:
        progress(total, total, "")
    return {name: min(v) for name, v in runs.items()}


# ---- the fit -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """The result of :func:`fit`: the fitted ``costs``; ``measured``,
    ``before`` and ``after`` (ns per operation by workload: the host, the
    starting costs, the fitted costs); ``iterations``."""

    costs: Costs
    measured: dict
    before: dict
    after: dict
    iterations: int

    def ratio(self, name: str, after: bool = True) -> float:
        """simulated / measured of workload ``name`` with the fitted (or,
        ``after=False``, the starting) costs."""
        return (self.after if after else self.before)[name] / self.measured[name]

    @property
    def worst(self) -> float:
        """The largest relative error after the fit, |ratio - 1|."""
        return max(abs(self.ratio(n) - 1) for n in self.measured)


def _scales(start: Costs, measured: dict, wls) -> list[float]:
    """Each field's size for the prior: its starting value, or the largest
    figure it is part of, or 100 ns, whichever is largest."""
    return [float(max([getattr(start, f), 100] + [measured[w.name] for w in wls if f in w.fields]))
            for f in FIELDS]


def _costs(start: Costs, x: list[float]) -> Costs:
    return replace(start, **{f: max(0, round(v)) for f, v in zip(FIELDS, x)})


def _jacobian(wls, x, start, base) -> list[list[float]]:
    """d figure / d field (ns per op per ns), by a forward difference per
    field each workload depends on."""
    rows = []
    for w in wls:
        row = []
        for i, f in enumerate(FIELDS):
            if f not in w.fields:
                row.append(0.0)
                continue
            h = max(50.0, 0.25 * x[i])
            xs = list(x)
            xs[i] += h
            row.append((w.simulated(_costs(start, xs)) - base[w.name]) / (round(xs[i]) - round(x[i])))
        rows.append(row)
    return rows


def _nnls(a: list[list[float]], b: list[float], sweeps: int = 20_000) -> list[float]:
    """argmin ||a x - b|| with x >= 0, by projected Gauss-Seidel on the
    normal equations (a's columns are scaled to comparable sizes)."""
    n = len(a[0])
    q = [[sum(r[i] * r[j] for r in a) for j in range(n)] for i in range(n)]
    g = [sum(r[i] * bi for r, bi in zip(a, b)) for i in range(n)]
    x = [0.0] * n
    for _ in range(sweeps):
        change = 0.0
        for i in range(n):
            if q[i][i] <= 0:
                continue
            v = max(0.0, (g[i] - sum(q[i][j] * x[j] for j in range(n) if j != i)) / q[i][i])
            change = max(change, abs(v - x[i]))
            x[i] = v
        if change < 1e-12:
            break
    return x


def _objective(wls, measured, figures, x, x0, scales, prior) -> float:
    err = sum((figures[w.name] / measured[w.name] - 1) ** 2 for w in wls)
    return err + prior * sum(((a - b) / s) ** 2 for a, b, s in zip(x, x0, scales))


def _step(wls, measured, start, x, x0, scales, prior, figures) -> list[float]:
    """One Gauss-Newton step from x: the linearised bounded least squares
    in scaled variables."""
    jac = _jacobian(wls, x, start, figures)
    a, b = [], []
    for w, row in zip(wls, jac):
        m = measured[w.name]
        a.append([row[i] * scales[i] / m for i in range(len(FIELDS))])
        b.append(1 - figures[w.name] / m + sum(row[i] * x[i] for i in range(len(FIELDS))) / m)
    for i in range(len(FIELDS)):
        a.append([prior ** 0.5 if j == i else 0.0 for j in range(len(FIELDS))])
        b.append(prior ** 0.5 * x0[i] / scales[i])
    return [v * s for v, s in zip(_nnls(a, b), scales)]


def fit(measured: dict, start: Costs | None = None, wls: list[Workload] | None = None,
        prior: float = 1e-4, iterations: int = 8) -> Fit:
    """Fit the fields in :data:`FIELDS` to ``measured`` (workload name ->
    ns per operation, e.g. from :func:`measure_host`) from ``start``
    (default ``Costs()``); the other fields keep ``start``'s values.
    ``prior`` weighs the pull towards ``start`` (relative to each field's
    size: the largest figure it is part of) against the squared relative
    errors."""
    start = Costs() if start is None else start
    wls = [w for w in (WORKLOADS if wls is None else wls) if w.name in measured]
    for name, v in measured.items():
        if not isinstance(v, (int, float)) or not v > 0:
            raise ValueError(f"measured figure of {name} must be a positive number, got {v!r}")
    if not wls:
        raise ValueError("fit needs the measured figure of at least one workload")
    x0 = [float(getattr(start, f)) for f in FIELDS]
    scales = _scales(start, measured, wls)
    x, figures = list(x0), simulate(start, wls)
    before, best = dict(figures), _objective(wls, measured, figures, x0, x0, scales, prior)
    done = 0
    for done in range(1, iterations + 1):
        target = _step(wls, measured, start, x, x0, scales, prior, figures)
        for damp in (1.0, 0.5, 0.25, 0.125):         # back off if the step overshoots
            trial = [a + damp * (t - a) for a, t in zip(x, target)]
            trial = [float(getattr(_costs(start, trial), f)) for f in FIELDS]
            tf = simulate(_costs(start, trial), wls)
            obj = _objective(wls, measured, tf, trial, x0, scales, prior)
            if obj < best:
                break
        else:
            break
        moved = max(abs(a - b) / s for a, b, s in zip(trial, x, scales))
        x, figures, best = trial, tf, obj
        if moved < 1e-3:
            break
    return Fit(_costs(start, x), dict(measured), before, figures, done)


# ---- presentation ------------------------------------------------------------------


def format_table(result: Fit, wls: list[Workload] | None = None) -> str:
    """The per-workload table: measured, simulated before and after, and
    the ratios simulated / measured."""
    from .report import table
    wls = [w for w in (WORKLOADS if wls is None else wls) if w.name in result.measured]
    rows = [[w.name, f"{result.measured[w.name]:,.1f}", f"{result.before[w.name]:,.1f}",
             f"{result.ratio(w.name, False):.2f}", f"{result.after[w.name]:,.1f}",
             f"{result.ratio(w.name):.2f}", w.what] for w in wls]
    return table(["workload", "host ns/op", "before", "ratio", "after", "ratio", "figure"], rows)


def format_costs(before: Costs, after: Costs) -> str:
    """The fitted fields, before -> after."""
    return "\n".join(f"  {f:<12} {getattr(before, f):>9,} -> {getattr(after, f):>9,} ns"
                     for f in FIELDS)


class _Progress:
    """A one-line progress display on stderr while it is a terminal."""

    def __init__(self, enabled: bool | None = None):
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.t0 = time.monotonic()

    def __call__(self, done: int, total: int, name: str) -> None:
        if not self.enabled:
            return
        bar = "#" * (20 * done // total) + "-" * (20 - 20 * done // total)
        line = f"\rmeasuring the host [{bar}] {done}/{total} {name:<10} {time.monotonic() - self.t0:5.1f} s"
        sys.stderr.write(line if done < total else "\r" + " " * len(line) + "\r")
        sys.stderr.flush()


def main(quick: bool = False, out: str | None = None, repeat: int | None = None,
         start: Costs | None = None, progress: bool | None = None) -> str:
    """What ``pykernel calibrate`` does: measure, fit, save ``out`` if
    given; the report as text."""
    wls = workloads(quick)
    repeat = (2 if quick else 5) if repeat is None else repeat
    start = Costs() if start is None else start
    t0 = time.monotonic()
    measured = measure_host(wls, repeat, _Progress(progress))
    result = fit(measured, start, wls)
    lines = [f"host: {len(wls)} workloads x {repeat} run(s) pinned to CPU {_host_cpu()}, "
             f"CPU time per operation (least of the runs); {time.monotonic() - t0:.1f} s",
             format_table(result, wls),
             f"fitted ({result.iterations} Gauss-Newton steps; worst error "
             f"{100 * result.worst:.1f}%):", format_costs(start, result.costs)]
    if out:
        note = (f"pykernel calibrate{' --quick' if quick else ''}: fitted to this host's "
                f"measurements (ns per op): "
                + ", ".join(f"{n} {v:,.1f}" for n, v in measured.items()))
        result.costs.save(out, comment=note)
        lines.append(f"saved -> {out} (pk.Costs.load, or [costs] file = ... in a scenario)")
    return "\n".join(lines)


def _command(args) -> int:
    start = Costs.load(args.start) if args.start else None
    progress = False if args.no_progress else True if args.progress else None
    print(main(quick=args.quick, out=args.out, repeat=args.repeat, start=start, progress=progress))
    return 0


def add_command(sub) -> None:
    """Register ``pykernel calibrate`` on the command line's subparsers."""
    p = sub.add_parser(
        "calibrate", help="measure this host and fit the cost model (pk.Costs) to it",
        description="Run seven small workloads on this host (a C program compiled with the "
                    "host's cc, every process pinned to one CPU, CPU time measured) and in the "
                    "simulator, fit pk.Costs's switch, syscall, wakeup, socket, minor_fault and "
                    "fork to the measurements (least squares on relative error), print each "
                    "workload's simulated/measured ratio before and after, and save the fitted "
                    "costs as TOML (pk.Costs.load; [costs] file = ... in a scenario).")
    p.add_argument("--quick", action="store_true",
                   help="smaller workloads, two runs each: a few seconds, rougher figures")
    p.add_argument("--out", default="costs.toml", metavar="FILE",
                   help="where to save the fitted costs (default costs.toml)")
    p.add_argument("--repeat", type=int, default=None, metavar="N",
                   help="host runs per workload, the least kept (default 5; 2 with --quick)")
    p.add_argument("--start", default=None, metavar="FILE",
                   help="a costs file to start from (default pk.Costs()); its other fields are kept")
    p.add_argument("--progress", action="store_true",
                   help="show the progress line even when stderr is not a terminal")
    p.add_argument("--no-progress", action="store_true", help="never show the progress line")
    p.set_defaults(func=_command)
