"""Shared set-up for tests that run ``python -m pykernel`` as a child
process and signal it (tests/test_cli_signals.py, tests/test_sweep_failures.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pykernel as pk

# A scenario that runs far longer than any test waits: two threads
# computing 10^9 times 1 ms under round robin.
ENDLESS = """
[scheduler]
name = "RoundRobin"
quantum = 1000

[programs]
spin = [["loop", 1000000000, [["compute", "1 ms"]]]]

[[processes]]
program = "spin"
count = 2
"""


def child_env() -> dict:
    """The environment of a child `python -m pykernel`, run in a temporary
    folder: it imports the pykernel these tests import (the installed
    one, or a built tree), not a source tree in the current folder."""
    env = dict(os.environ)
    here = str(Path(pk.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    return env


def start(args: list[str], cwd, new_session: bool = False) -> subprocess.Popen:
    """Start ``python -m pykernel ARGS`` with pipes for stdout and stderr.

    SIGINT is put back to its default in the child, so that Python installs
    its KeyboardInterrupt handler even if the tests run with SIGINT ignored;
    ``new_session`` gives it a process group of its own, as a terminal's
    Ctrl-C reaches a whole group."""
    return subprocess.Popen([sys.executable, "-m", "pykernel", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=child_env(), cwd=cwd, start_new_session=new_session,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def read_until(p: subprocess.Popen, marker: str) -> str:
    """Read the child's stderr until ``marker`` appears (failing if the
    child ends first); return what was read."""
    seen = ""
    while marker not in seen:
        c = p.stderr.read(1)
        assert c, f"the child ended before printing {marker!r}: {seen!r}"
        seen += c
    return seen
