"""The progress line of long runs (Kernel.run(progress=...))."""

import pykernel as pk
from pykernel import run as kernel_module   # the run loop and its progress line


def long_kernel():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("spin", [pk.op.compute(10**12)]), 4)
    return k


def test_progress_line_shows_simulated_time_and_switch_rate(monkeypatch, capsys):
    monkeypatch.setattr(kernel_module._Progress, "delay", 0.0)
    monkeypatch.setattr(kernel_module._Progress, "interval", 0.0)
    monkeypatch.setattr(kernel_module, "STEP_BUDGET", 1000)   # return to Python often
    long_kernel().run(until=1_000_000, progress=True)
    err = capsys.readouterr().err
    assert "ms simulated" in err
    assert "M switches/s" in err
    assert "%" in err                  # a deadline was given: fraction shown
    assert err.endswith("\n")          # the line is closed at the end


def test_progress_false_prints_nothing(monkeypatch, capsys):
    monkeypatch.setattr(kernel_module._Progress, "delay", 0.0)
    monkeypatch.setattr(kernel_module._Progress, "interval", 0.0)
    monkeypatch.setattr(kernel_module, "STEP_BUDGET", 1000)
    long_kernel().run(until=1_000_000, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_defaults_to_off_when_stderr_is_not_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(kernel_module._Progress, "delay", 0.0)
    monkeypatch.setattr(kernel_module._Progress, "interval", 0.0)
    monkeypatch.setattr(kernel_module, "STEP_BUDGET", 1000)
    long_kernel().run(until=1_000_000)          # capsys: stderr is not a tty
    assert capsys.readouterr().err == ""


def test_budgeted_run_equals_one_long_call(monkeypatch):
    """Returning to Python every few steps (for progress and Ctrl-C) does
    not change the simulation."""
    whole = long_kernel()
    whole.run(until=1_000_000)
    monkeypatch.setattr(kernel_module, "STEP_BUDGET", 7)
    pieces = long_kernel()
    pieces.run(until=1_000_000)
    assert pieces.digest() == whole.digest()
    # one switch at the start of every 10 ns quantum in [0, 1 ms): 100,000
    assert pieces.stats.context_switches == whole.stats.context_switches == 100_000
