"""The ``pykernel`` command line."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def _cmd_demo(args) -> int:
    from .demo import main
    print(main(cpus=args.cpus, switch_ns=args.switch_cost), end="")
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
    except (ValueError, TypeError) as exc:
        print(f"pykernel: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
