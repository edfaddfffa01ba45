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
    """An --until value: ns, or a number with a unit ("200 ms"); > 0
    (a run until 0 would simulate nothing)."""
    from .scenario import _DURATION, _UNITS, unit_error
    if text.strip().isdigit():
        ns = int(text)
    else:
        m = _DURATION.match(text)
        if not m:
            why = unit_error(text)
            raise argparse.ArgumentTypeError(why or f"expected ns or a duration such as "
                                                    f"'200ms', got {text!r}")
        ns = int(round(float(m.group(1)) * _UNITS[m.group(2)]))
    if ns <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} would simulate nothing: give a time > 0 "
                                         f"(ns, or e.g. '200ms')")
    return ns


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
    k, _ = sc.build()
    try:
        r = k.run(until=sc.until if args.until is None else args.until, progress=progress)
    except KeyboardInterrupt:
        return _interrupted(k, args)
    if r.reason == "livelock":                # a zero-time loop: say where, in one line
        print(f"pykernel: {r.livelock}", file=sys.stderr)
        return 1
    print(k.summary(top=args.top), end="")
    if args.report:
        print()
        print(k.report(args.report))
    _save_outputs(args, k)
    return 0


def _interrupted(k, args) -> int:
    """Ctrl-C during `pykernel run`: the summary of what was simulated so
    far, marked interrupted; exit status 130 (128 + SIGINT, as shells
    report a command ended by Ctrl-C)."""
    print(f"interrupted (Ctrl-C) at t = {k.now:,} ns simulated: the summary covers the run "
          f"so far")
    print(k.summary(top=args.top), end="")
    if args.report or args.trace or args.plot:
        print("(--report, --trace and --plot are skipped after an interrupt)")
    sys.stdout.flush()
    return 130


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
    progress = False if args.no_progress else True if args.progress else None
    res = sweep(args.scenario, grid, executor="serial" if args.serial else None,
                db=args.db, workers=args.workers, replace=args.replace, progress=progress)
    return _print_sweep(res, table)


def _print_sweep(res, table) -> int:
    """The table of the points that ran, then the failed ones on stderr;
    1 if any failed."""
    bad = {f["point"] for f in res.failed}
    ok = [r for i, r in enumerate(res.rows) if i not in bad]
    cols = list(dict.fromkeys(c for r in ok for c in r))
    def fmt(v) -> str:
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.3g}"
        return str(v)
    if ok:
        print(table(cols, [[fmt(r.get(c)) for c in cols] for r in ok]))
    print(f"{len(ok)} points" + (f", {len(bad)} failed" if bad else "")
          + f"; results in {res.db} (table {res.table}, run_id {res.run_id})")
    for f in res.failed:
        params = ", ".join(f"{k}={v}" for k, v in f["params"].items())
        print(f"pykernel: point {f['point']} ({params}) failed: {f['error']}: {f['message']}",
              file=sys.stderr)
    return 1 if bad else 0


def _scenario_help() -> str:
    """The essentials of the scenario format, for `pykernel run --help`
    (the field lists come from pykernel.scenario itself)."""
    import textwrap
    from .scenario import _MACHINE, _PROCESS, _UNITS
    from .sched import _builtin_policies

    def fill(text: str) -> str:
        return textwrap.fill(text, 78, initial_indent=" " * 17,
                             subsequent_indent=" " * 17).lstrip()
    names = fill("name = one of " + ", ".join(c.__name__ for c in _builtin_policies().values())
                 + ' (any case), then its parameters, e.g. quantum = "4 ms"')
    return f"""\
scenario file (TOML):
  [machine]      {fill(", ".join(_MACHINE))}
  [costs]        fields of pk.Costs: switch, migrate, ... (ns)
  [scheduler]    {names}
  [memory] [mmu] [limits]   optional: the fields of pk.Memory, pk.MMU, pk.Limits
  [programs]     NAME = a list of operations, each a list: the name of a
                 pk.op function, then its arguments: ["compute", "1 ms"],
                 ["io", "2 ms"], ["yield"], ["loop", 3, [["compute", 500]]]
  [[processes]]  {fill(", ".join(_PROCESS) + " (program is required)")}
  [run]          until = "200 ms" (default: when every process has exited)
durations are ints of ns or strings with a unit: {", ".join(_UNITS)}

example:
  [scheduler]
  name = "RoundRobin"
  quantum = "4 ms"

  [programs]
  batch = [["compute", "40 ms"]]
  editor = [["loop", 20, [["compute", "1 ms"], ["io", "10 ms"]]]]

  [[processes]]
  program = "batch"
  count = 2

  [[processes]]
  program = "editor"

exit status: 0 done, 2 error (one line on stderr), 130 interrupted by Ctrl-C"""


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
        description="Build the machine, policy and processes of a scenario file, run it, "
                    "and print a summary. A progress line on stderr shows simulated time "
                    "and switches per second during long runs. Ctrl-C stops the run and "
                    "prints the summary so far, marked interrupted (exit status 130).",
        epilog=_scenario_help(), formatter_class=argparse.RawDescriptionHelpFormatter)
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
                    "to an SQLite file. On a terminal a progress line on stderr shows the "
                    "points done, the elapsed time and an estimate of the time left. A point "
                    "that fails does not stop the others: it is listed on stderr with its "
                    "error and the exit status is 1.")
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
    sw.add_argument("--progress", action="store_true",
                    help="show the progress line even when stderr is not a terminal")
    sw.add_argument("--no-progress", action="store_true", help="never show the progress line")
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
    if argv is None and args.func is not _cmd_sweep:
        # not for sweep: its process pool talks to its workers through
        # pipes, and a worker terminated on Ctrl-C must not kill the
        # command with SIGPIPE (BrokenPipeError below covers its stdout)
        _default_sigpipe()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("pykernel: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`pykernel ... | head`): stop quietly; point
        # stdout at /dev/null so that the flush at exit does not fail again
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13                      # 128 + SIGPIPE, as a shell reports it
    except (ValueError, TypeError, OSError, NotImplementedError, KernelError, ImportError) as exc:
        print(f"pykernel: error: {exc}", file=sys.stderr)
        return 2


def _default_sigpipe() -> None:
    """As a command, end silently when the reader of stdout goes away, as
    Unix tools do: the default action of SIGPIPE (Python ignores it and
    raises BrokenPipeError instead)."""
    import signal
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
