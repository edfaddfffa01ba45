"""Calibration: the cost fields it fits, costs files, the fit, the command.

pykernel/costs.py: ``socket`` is added to ``syscall`` for a script write
or read on a socket that is not a pipe; ``fork`` is CPU time of the
thread whose script fork made a child. pykernel/calibrate.py: the fit
minimises squared relative errors of simulated against measured figures.
The fit is checked on synthetic measurements (figures simulated with
known costs), never on host timings.
"""

import os
import re
import shutil
import sys
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk
from pykernel import calibrate as cal
from pykernel import op
from pykernel.scenario import ScenarioError, loads

BASE = 0x1000_0000


# ---- the new cost fields, charged where the C core does the work ------------------


def _write_read(kind: str, costs: pk.Costs) -> pk.Kernel:
    """One process writes 4 bytes to its own socket or pipe and reads them."""
    k = pk.Kernel(cpus=1, costs=costs)
    boot = k.spawn(pk.Program.script("boot", []), name="boot")
    a, b = boot.pipe_create() if kind == "pipe" else boot.socket_create()
    # pipe: a reads, b writes; socket: b writes to a's buffer, a reads it
    k.spawn(pk.Program.script("rw", [op.write(1, 4), op.read(0, 4)]), handles=[a, b])
    k.run()
    return k


def test_socket_cost_is_added_to_each_socket_write_and_read():
    # 2 calls x (syscall 10 + socket 100); switches free: 220 ns.
    k = _write_read("socket", replace(pk.Costs.zero(), syscall=10, socket=100))
    assert k.now == 220


def test_socket_cost_is_not_charged_on_a_pipe():
    # pipes copy into pages they have (fs/pipe.c): 2 calls x syscall 10 = 20 ns.
    costs = replace(pk.Costs.zero(), syscall=10, socket=100)
    assert _write_read("pipe", costs).now == 20


def test_socket_cost_defaults_to_zero_and_changes_nothing():
    assert pk.Costs().socket == 0 and pk.Costs().fork == 0
    default = _write_read("socket", pk.Costs())
    # two switches of 800 (the empty boot process, then rw), 2 x syscall 200
    assert default.now == 2000


def test_fork_cost_is_the_parents_cpu_time():
    # RoundRobin on one CPU: the parent forks (fork = 1000 ns of its CPU
    # time), computes 5 and exits at 1005; the child, queued behind it,
    # exits at once. Free switches, no page touched: nothing else costs.
    k = pk.Kernel(cpus=1, costs=replace(pk.Costs.zero(), fork=1000),
                  memory=pk.Memory(), scheduler=pk.sched.RoundRobin())
    parent = k.spawn(pk.Program.script("p", [op.fork([]), op.compute(5)]))
    k.run()
    assert k.now == 1005
    assert parent.stats.cpu_time == 1005


def test_a_failed_fork_costs_nothing():
    # max_processes 1: the fork makes no child (x[14] = NO_MEMORY), no fork cost.
    k = pk.Kernel(cpus=1, costs=replace(pk.Costs.zero(), fork=1000),
                  memory=pk.Memory(), limits=pk.Limits(max_processes=1))
    p = k.spawn(pk.Program.script("p", [op.fork([]), op.compute(5)]))
    k.run()
    assert p.stats.cpu_time == 5


def test_snapshots_carry_the_new_fields():
    k = pk.Kernel(costs=pk.Costs(fork=7, socket=9))
    k.spawn(pk.Program.script("a", [op.compute(10)]))
    k.run(until=5)
    assert pk.Kernel.restore(k.snapshot()).costs == pk.Costs(fork=7, socket=9)


# ---- costs files ------------------------------------------------------------------------


durations = st.integers(0, 10**9)


@settings(max_examples=50, deadline=None)
@given(st.builds(pk.Costs, switch=durations, migrate=durations, page_walk=durations,
                 minor_fault=durations, tlb_flush=durations, ipi=durations, syscall=durations,
                 wakeup=durations, insn_cycles=st.integers(1, 1000),
                 clock_hz=st.integers(1000, 10**12), fork=durations, socket=durations))
def test_costs_round_trip_through_toml(costs):
    assert pk.Costs.loads(costs.to_toml()) == costs


def test_save_writes_a_commented_costs_table(tmp_path):
    path = tmp_path / "c.toml"
    pk.Costs(switch=1234).save(path, comment="fitted\non this host")
    text = path.read_text()
    assert text.startswith("# fitted\n# on this host\n[costs]\nswitch = 1234\n")
    assert pk.Costs.load(path) == pk.Costs(switch=1234)


def test_loads_takes_units_and_keeps_defaults_for_missing_fields():
    assert pk.Costs.loads('[costs]\nswitch = "2 us"\n') == pk.Costs(switch=2000)


@pytest.mark.parametrize("text,message", [
    ("[costs]\nswich = 3\n", "c.toml:2: costs.swich: unknown field"),
    ("[costs]\nswitch = -1\n", "c.toml:2: costs.switch: Costs.switch must be between 0"),
    ("[machine]\ncpus = 1\n[costs]\n", "c.toml:1: machine: a costs file holds one [costs] table"),
    ('[costs]\nfile = "x.toml"\n', "c.toml:2: costs.file: a costs file cannot name another"),
    ("[costs\n", "c.toml: "),
])
def test_a_bad_costs_file_names_the_file_and_line(text, message):
    with pytest.raises(ValueError) as info:
        pk.Costs.loads(text, "c.toml")
    assert str(info.value).startswith(message)


SCENARIO = """
[costs]
file = "fitted.toml"
syscall = 5

[programs]
a = [["compute", 1]]

[[processes]]
program = "a"
"""


def test_a_scenario_takes_its_costs_from_a_costs_file(tmp_path):
    pk.Costs(switch=1234, fork=99).save(tmp_path / "fitted.toml")
    (tmp_path / "s.toml").write_text(SCENARIO)
    # the file gives the fields, the table's own keys override them
    assert pk.scenario.load(tmp_path / "s.toml").costs() == pk.Costs(switch=1234, fork=99, syscall=5)


def test_a_missing_costs_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match=r"^s.toml:3: costs.file: .*fitted.toml"):
        loads(SCENARIO, path="s.toml").costs()


# ---- the fit, on synthetic measurements ------------------------------------------------


TRUE = pk.Costs(switch=1500, syscall=300, wakeup=400, socket=900, minor_fault=1200, fork=90_000)
QUICK = cal.workloads(quick=True)


@pytest.fixture(scope="module")
def synthetic_fit():
    measured = cal.simulate(TRUE, QUICK)
    return cal.fit(measured, pk.Costs(), QUICK), measured


def test_fit_recovers_the_costs_that_made_the_figures(synthetic_fit):
    result, _ = synthetic_fit
    for f in cal.FIELDS:
        assert getattr(result.costs, f) == pytest.approx(getattr(TRUE, f), rel=0.02), f


def test_fit_leaves_the_fields_it_does_not_fit(synthetic_fit):
    result, _ = synthetic_fit
    for f in ("migrate", "page_walk", "tlb_flush", "ipi", "insn_cycles", "clock_hz"):
        assert getattr(result.costs, f) == getattr(pk.Costs(), f)


def test_fit_reports_figures_before_and_after(synthetic_fit):
    result, measured = synthetic_fit
    assert result.before == cal.simulate(pk.Costs(), QUICK)
    assert result.after == cal.simulate(result.costs, QUICK)
    assert result.worst < 0.02
    # pipe: 2 switches + 4 calls + 2 wake-ups; the defaults give 2,700 ns
    assert result.before["pipe"] == pytest.approx(2700, abs=1)
    assert measured["pipe"] == pytest.approx(2 * 1500 + 4 * 300 + 2 * 400, abs=1)


def test_simulated_figures_are_the_sums_of_their_costs():
    c = pk.Costs(switch=1000, syscall=100, wakeup=10, socket=50, minor_fault=700, fork=5000,
                 page_walk=4)
    got = cal.simulate(c, QUICK)
    assert got["syscall"] == pytest.approx(100, abs=1)        # one call, no switch
    assert got["yield"] == pytest.approx(2 * 1000, abs=1)     # two switches per pair
    # docs/memory.md: a fault, then the walk is retried: 2 walks x 4 levels x 4 ns
    assert got["fault"] == pytest.approx(700 + 2 * 4 * 4)
    assert got["fork"] == pytest.approx(5000 + 2 * 1000, rel=0.01)   # fork + 2 switches


def test_the_bounded_solve_stops_at_zero():
    # min (x - (-1))^2 + (y - 2)^2 + (x + y - 1)^2 with x, y >= 0:
    # x = 0 at the bound, then y minimises (y - 2)^2 + (y - 1)^2: y = 1.5
    x, y = cal._nnls([[1, 0], [0, 1], [1, 1]], [-1, 2, 1])
    assert x == 0 and y == pytest.approx(1.5)


def test_fit_refuses_bad_measurements():
    with pytest.raises(ValueError, match="positive"):
        cal.fit({"pipe": -1.0}, wls=QUICK)
    with pytest.raises(ValueError, match="at least one"):
        cal.fit({}, wls=QUICK)


# ---- the host and the command --------------------------------------------------------------


needs_cc = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("cc") is None,
                              reason="calibrate compiles its host workloads with cc on Linux")


def test_no_compiler_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("CC", "no-such-compiler-here")
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux check comes first")
    with pytest.raises(cal.HostError, match="needs a C compiler: 'no-such-compiler-here'"):
        cal.compile_host(tmp_path)


def test_the_command_says_so_without_a_compiler(monkeypatch, tmp_path, capsys):
    from pykernel.cli import main
    monkeypatch.setenv("CC", "no-such-compiler-here")
    assert main(["calibrate", "--quick", "--out", str(tmp_path / "c.toml")]) == 2
    assert "pykernel: error: " in capsys.readouterr().err
    assert not (tmp_path / "c.toml").exists()


@needs_cc
def test_calibrate_quick_prints_ratios_and_saves_what_it_printed(tmp_path, capsys):
    from pykernel.cli import main
    out = tmp_path / "fitted.toml"
    assert main(["calibrate", "--quick", "--repeat", "1", "--out", str(out), "--no-progress"]) == 0
    text = capsys.readouterr().out
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^(\S+)\s+([\d,.]+)\s+([\d,.]+)\s+([\d.]+)\s+([\d,.]+)\s+([\d.]+)\s", text, re.M)}
    assert set(rows) == {w.name for w in QUICK}
    saved = pk.Costs.load(out)
    after = cal.simulate(saved, QUICK)
    before = cal.simulate(pk.Costs(), QUICK)
    num = lambda s: float(s.replace(",", ""))  # noqa: E731
    for name, (host, b, rb, a, ra) in rows.items():
        assert num(b) == pytest.approx(before[name], abs=0.1)
        assert num(a) == pytest.approx(after[name], abs=0.1)     # the saved costs are the fit
        assert num(ra) == pytest.approx(after[name] / num(host), abs=0.006)
    for f in cal.FIELDS:                                      # printed before -> after
        assert re.search(rf"{f}\s+[\d,]+ ->\s+{getattr(saved, f):,} ns", text), f


@needs_cc
def test_host_figures_are_positive_per_operation(tmp_path):
    wl = [w for w in QUICK if w.name in ("syscall", "fault")]
    got = cal.measure_host(wl, repeat=1)
    assert set(got) == {"syscall", "fault"} and all(v > 0 for v in got.values())


def test_measure_host_refuses_a_bad_repeat():
    with pytest.raises(ValueError, match="repeat"):
        cal.measure_host(QUICK, repeat=0)


def test_calibrate_is_registered_on_the_command_line():
    from pykernel.cli import parser
    args = parser().parse_args(["calibrate", "--quick"])
    assert args.quick and args.out == "costs.toml" and args.repeat is None
    assert os.path.basename(args.func.__code__.co_filename) == "calibrate.py"
