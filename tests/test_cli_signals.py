"""The pykernel command and signals (docs/tools.md, "The command line"):
Ctrl-C (SIGINT) stops a run with the summary so far and status 130, a
closed stdout ends the command silently as SIGPIPE ends Unix tools, and
--until 0 is refused.

Status 130 = 128 + SIGINT (2) is how POSIX shells report a command ended
by that signal (bash(1), "EXIT STATUS"); SIGPIPE's default action ends
the process (signal(7))."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import pykernel as pk
from pykernel import cli

from cli_child import ENDLESS, child_env, read_until, start

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "examples" / "demo.toml")


def test_ctrl_c_during_run_prints_the_summary_marked_interrupted_and_exits_130(tmp_path):
    scenario = tmp_path / "endless.toml"
    scenario.write_text(ENDLESS)
    p = start(["run", str(scenario), "--progress"], cwd=tmp_path)
    read_until(p, "simulated")              # the progress line: the run is under way
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130
    assert out.startswith("interrupted (Ctrl-C) at t = ")
    assert "context switches" in out and "spin-0" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_ctrl_c_in_another_command_exits_130_without_a_traceback(monkeypatch, capsys):
    def interrupted(**kw):
        raise KeyboardInterrupt
    monkeypatch.setattr("pykernel.demo.main", interrupted)
    assert cli.main(["demo"]) == 130
    assert capsys.readouterr().err == "pykernel: interrupted\n"


@pytest.mark.parametrize("argv", [["demo"], ["bench", "pipe", "--loops", "2000"]],
                         ids=["demo", "bench-pipe"])
def test_a_closed_stdout_ends_the_command_by_sigpipe_silently(argv, tmp_path):
    r, w = os.pipe()
    os.close(r)                   # no reader: the first write meets a broken pipe
    try:
        p = subprocess.run([sys.executable, "-m", "pykernel", *argv], stdout=w,
                           stderr=subprocess.PIPE, text=True, env=child_env(), cwd=tmp_path,
                           timeout=300)
    finally:
        os.close(w)
    assert p.returncode == -signal.SIGPIPE
    assert p.stderr == ""


def test_main_called_from_python_leaves_sigpipe_alone(capsys):
    before = signal.getsignal(signal.SIGPIPE)
    assert cli.main(["run", DEMO, "--no-progress"]) == 0
    assert signal.getsignal(signal.SIGPIPE) == before


@pytest.mark.parametrize("value", ["0", "0 ms"])
def test_until_zero_is_refused(value, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["run", DEMO, "--until", value])
    assert info.value.code == 2
    assert "would simulate nothing: give a time > 0" in capsys.readouterr().err


def test_until_with_an_unknown_unit_names_it_and_lists_the_units(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", DEMO, "--until", "5 msec"])
    assert "unknown unit 'msec' in duration '5 msec'; the units are ns, us, µs, ms, s" in \
        capsys.readouterr().err


def test_run_help_shows_the_scenario_format_without_pointing_to_docs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    for needle in ("[machine]", "[scheduler]", "[programs]", "[[processes]]", "[run]",
                   "rt_priority, tickets, cpu, affinity", "exit status: 0 done, 2 error"):
        assert needle in out
    assert "docs/" not in out


def test_the_example_in_run_help_is_a_valid_scenario(capsys, tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    lines = out[out.index("\nexample:\n") + 10:out.index("\nexit status:")].splitlines()
    scenario = tmp_path / "help.toml"
    scenario.write_text("\n".join(line[2:] for line in lines))
    k = pk.scenario.load(scenario).run()
    assert [p.name for p in k.processes] == ["batch-0", "batch-1", "editor-2"]
    assert all(p.state == "exited" for p in k.processes)
