"""The ``pykernel`` command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .errors import KernelError


def _cmd_demo(args) -> int:
    from .demo import main
    print(main(cpus=args.cpus, switch_ns=args.switch_cost), end="")
    return 0


def _duration(text: str) -> int:
    """An --until value: ns, or a number with a unit ("200 ms")."""
    from .scenario import _DURATION, _UNITS
    if text.strip().isdigit():
        return int(text)
    m = _DURATION.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"expected ns or a duration such as '200ms', got {text!r}")
    return int(round(float(m.group(1)) * _UNITS[m.group(2)]))


def _param(text: str) -> tuple:
    """A --param value: dotted.key=value, the value read as TOML."""
    from .scenario import tomllib
    key, eq, value = text.partition("=")
    if not eq or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key.strip(), tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return key.strip(), value.strip()


PLOTS = ("gantt", "states", "faults")


def _plot_spec(text: str) -> tuple:
    """A --plot value: OUT.png / OUT.svg (the CPU Gantt chart) or
    KIND=OUT (KIND: gantt, states or faults)."""
    kind, eq, path = text.partition("=")
    if not eq:
        kind, path = "gantt", text
    if kind not in PLOTS:
        raise argparse.ArgumentTypeError(f"plot kind must be one of {', '.join(PLOTS)}, "
                                         f"not {kind!r}")
    if not path.lower().endswith((".png", ".svg")):
        raise argparse.ArgumentTypeError(f"a plot is saved as .png or .svg, not {path!r}")
    return kind, path


def _save_outputs(args, k) -> None:
    """--trace: the Chrome trace-event file; --plot: each plot asked for;
    --html: the report page."""
    if args.trace:
        k.trace.save(args.trace)
        print(f"trace: {len(k.trace):,} events ({k.trace.dropped:,} dropped) -> {args.trace}")
    for kind, path in args.plot or []:
        from . import plot
        if kind == "faults" and k.memory is None:
            raise ValueError("--plot faults=...: this scenario has no [memory]")
        {"gantt": plot.gantt, "states": plot.thread_states,
         "faults": plot.faults_over_time}[kind](k, path=path)
        what = {"gantt": "CPU Gantt chart", "states": "thread states",
                "faults": "page faults over time"}[kind]
        print(f"plot: {what} -> {path}")
    if getattr(args, "html", None):
        k.report_html(args.html)
        print(f"html: report -> {args.html}")


def _cmd_run(args) -> int:
    from .scenario import load
    params = dict(args.param or [])
    if (args.trace or args.plot or args.html) and not params.get("machine.trace"):
        params["machine.trace"] = True        # all read the trace
    if args.plot:
        from .plot import _figure
        _figure()                             # no matplotlib: say so before running
    sc = load(args.scenario, params)
    progress = False if args.no_progress else True if args.progress else None
    k = sc.run(until=args.until, progress=progress)
    print(k.summary(top=args.top), end="")
    if args.report:
        print()
        print(k.report(args.report))
    _save_outputs(args, k)
    return 0


def _perf(argv: list[str]) -> tuple[str | None, str]:
    """Run `perf bench sched ARGV` pinned to one CPU: (its output, what
    ran), or (None, why not)."""
    import os
    import shutil
    import subprocess
    perf = shutil.which("perf")
    if perf is None:
        return None, "perf: not found on this host"
    cmd = [perf, "bench", "sched", *argv]
    cpu = {min(os.sched_getaffinity(0))} if hasattr(os, "sched_getaffinity") else None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                           preexec_fn=(lambda: os.sched_setaffinity(0, cpu)) if cpu else None)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"perf: could not run ({exc})"
    if r.returncode != 0:
        return None, f"perf: failed ({(r.stderr or r.stdout).strip().splitlines()[-1:]})"
    return r.stdout, " ".join(["perf", "bench", "sched", *argv]) + " (pinned to one CPU)"


def _bench_lines(args) -> list[str]:
    import re
    from . import workloads as w
    if args.workload == "pipe":
        res = w.pipe(args.loops or 100_000)
        out, how = _perf(["pipe", "-l", str(args.loops or 100_000)])
        m = out and re.search(r"([\d.]+) usecs/op", out)
        host = [f"host:      {float(m.group(1)):.3f} us/op  ({how})"] if m else [f"host:      {how}"]
        py = w.host_pipe(min(args.loops or 20_000, 20_000))
        if py is not None:
            host.append(f"host:      {py:.3f} us/op  (Python os.pipe + os.fork pinned to one CPU; "
                        "includes the interpreter's time)")
    elif args.workload == "switch":
        res = w.yield_pair(args.loops or 100_000)
        py = w.host_yield_pair(args.loops or 100_000)
        host = [f"host:      {py:.3f} us/op  (Python os.sched_yield in two processes pinned to "
                "one CPU; includes the interpreter's time)" if py is not None
                else "host:      cannot pin processes to a CPU here"]
    elif args.workload == "messaging":
        res = w.messaging(loops=args.loops or 100)
        out, how = _perf(["messaging", "-l", str(args.loops or 100)])
        m = out and re.search(r"Total time: ([\d.]+)", out)
        host = [f"host:      {float(m.group(1)):.3f} s  ({how})" if m else f"host:      {how}"]
    else:
        res = w.lat_ctx(args.processes, args.size, loops=args.loops or 1000)
        host = ["host:      lmbench's lat_ctx not found on this host" if not
                __import__("shutil").which("lat_ctx") else
                f"host:      run `lat_ctx -s {args.size // 1024} {args.processes}` to compare"]
    return [f"simulated: {res.figure:,.3f} {res.unit}  ({res.name}, {_params(res.params)})",
            f"simulator: {res.switches_per_second / 1e6:,.2f} M switches/s "
            f"({res.switches:,} switches in {res.wall:.3f} s)", *host, *COSTS_NOTE]


# why the simulated and the host's figures differ, printed under them
COSTS_NOTE = (
    "note:      the simulated figure uses pykernel's default costs (pk.Costs()), fitted on",
    "           another machine, so it need not match this host's; `pykernel calibrate`",
    "           (docs/tools.md) fits the costs to this one.")


def _params(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items() if not k.endswith("_ns"))


def _cmd_bench(args) -> int:
    print("\n".join(_bench_lines(args)))
    return 0


def _grid(text: str) -> tuple:
    """A --grid value: dotted.key=v1,v2,... (each value read as TOML)."""
    key, eq, values = text.partition("=")
    if not eq or not key.strip() or not values.strip():
        raise argparse.ArgumentTypeError(f"expected key=value,value,..., got {text!r}")
    return key.strip(), [_param(f"{key}={v}")[1] for v in values.split(",")]


def _cmd_sweep(args) -> int:
    from .report import table
    from .sweeps import sweep
    grid = dict(args.grid or [])
    if not grid:
        raise ValueError("pykernel sweep needs at least one --grid key=value,value,...")
    if args.until is not None:
        grid["until"] = [args.until]
    res = sweep(args.scenario, grid, executor="serial" if args.serial else None,
                db=args.db, workers=args.workers, replace=args.replace)
    cols = list(res.rows[0]) if res.rows else []
    fmt = lambda v: (f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}") if isinstance(v, float) \
        else str(v)  # noqa: E731
    print(table(cols, [[fmt(r[c]) for c in cols] for r in res.rows]))
    print(f"{len(res)} points; results in {res.db} (table {res.table}, run_id {res.run_id})")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``pykernel`` command."""
    p = argparse.ArgumentParser(
        prog="pykernel",
        description="pykernel: an operating-system kernel simulator. "
                    "Run `pykernel demo` for a first look.")
    p.add_argument("--version", action="version", version=f"pykernel {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo", help="run a built-in workload under several schedulers and compare them",
        description="Run a built-in workload (CPU-bound batch jobs, an interactive editor, "
                    "a database doing disk I/O) under FIFO, SJF, STCF, round robin, MLFQ, "
                    "CFS and EEVDF, and print a comparison table.")
    demo.add_argument("--cpus", type=int, default=1, help="number of simulated CPUs (default 1)")
    demo.add_argument("--switch-cost", type=int, default=None, metavar="NS",
                      help="context-switch cost in ns (default: the calibrated cost model)")
    demo.set_defaults(func=_cmd_demo)
    run = sub.add_parser(
        "run", help="run a scenario file (TOML) and print a summary",
        description="Build the machine, policy and processes of a scenario file "
                    "(docs/tools.md), run it, and print a summary. A progress line on "
                    "stderr shows simulated time and switches per second during long runs.")
    run.add_argument("scenario", help="the scenario file (.toml)")
    run.add_argument("--until", type=_duration, default=None, metavar="T",
                     help="stop at simulated time T (ns, or e.g. '200ms'); default: the "
                          "scenario's [run] until, else when every process has exited")
    run.add_argument("--param", type=_param, action="append", metavar="KEY=VALUE",
                     help="override a value by dotted path, e.g. machine.cpus=4 (repeatable)")
    run.add_argument("--report", choices=("processes", "threads", "cpus"), default=None,
                     help="also print this table")
    run.add_argument("--top", type=int, default=5, help="processes in the summary (default 5)")
    run.add_argument("--progress", action="store_true",
                     help="show the progress line even when stderr is not a terminal")
    run.add_argument("--no-progress", action="store_true", help="never show the progress line")
    run.add_argument("--trace", metavar="OUT.json", default=None,
                     help="trace the run and save it as Chrome trace-event JSON (Perfetto)")
    run.add_argument("--plot", metavar="[KIND=]OUT.png", type=_plot_spec, action="append",
                     help="trace the run and save a plot (.png or .svg; needs matplotlib: "
                          "pip install 'pykernel-sim[plot]'): the CPU Gantt chart, or KIND "
                          "gantt, states (thread states) or faults (page faults over time); "
                          "repeatable")
    run.add_argument("--html", metavar="OUT.html", default=None,
                     help="trace the run and write a self-contained HTML report: summary, "
                          "tables, plots as inline SVG (with matplotlib), the trace to save")
    run.set_defaults(func=_cmd_run)
    bench = sub.add_parser(
        "bench", help="a standard context-switch benchmark, simulated and on the host",
        description="Run a standard benchmark as a simulated workload (pk.workloads) with the "
                    "default cost model and print its figure in the original tool's unit, the "
                    "simulator's speed, and the figure measured on this host where it can be "
                    "(perf bench sched, or the same exchange in Python).")
    bench.add_argument("workload", choices=("pipe", "messaging", "lat_ctx", "switch"),
                       help="pipe: perf bench sched pipe; messaging: perf bench sched "
                            "messaging; lat_ctx: lmbench lat_ctx; switch: sched_yield pairs")
    bench.add_argument("--loops", type=int, default=None,
                       help="round trips / messages per sender / ring trips")
    bench.add_argument("--processes", type=int, default=2, help="lat_ctx: processes in the ring")
    bench.add_argument("--size", type=int, default=0, help="lat_ctx: working set in bytes")
    bench.set_defaults(func=_cmd_bench)
    sw = sub.add_parser(
        "sweep", help="run a scenario over a grid of parameters, in parallel",
        description="Run a scenario file at every point of a grid of dotted-key overrides "
                    "(pk.sweep) on a local process pool, print a table and write the results "
                    "to an SQLite file.")
    sw.add_argument("scenario", help="the scenario file (.toml)")
    sw.add_argument("--grid", type=_grid, action="append", metavar="KEY=V1,V2,...",
                    help="values of one parameter, e.g. machine.cpus=1,2,4 (repeatable; "
                         "every combination runs)")
    sw.add_argument("--until", type=_duration, default=None, metavar="T",
                    help="stop each run at simulated time T")
    sw.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    sw.add_argument("--serial", action="store_true", help="run in this process, one by one")
    sw.add_argument("--db", default="sweep.sqlite",
                    help="SQLite file to append to (default sweep.sqlite): table runs "
                         "describes each sweep, table points holds a row per point")
    sw.add_argument("--replace", action="store_true",
                    help="empty the SQLite file's runs and points tables first")
    sw.set_defaults(func=_cmd_sweep)
    from .calibrate import add_command as add_calibrate
    add_calibrate(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pykernel`` console script."""
    p = parser()
    args = p.parse_args(argv)
    if not getattr(args, "func", None):
        p.print_help()
        return 2
    try:
        return args.func(args)
    except (ValueError, TypeError, OSError, NotImplementedError, KernelError, ImportError) as exc:
        print(f"pykernel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
