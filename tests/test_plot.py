"""Plots (pk.plot): each returns a matplotlib Figure and saves a
non-empty PNG or SVG. Skipped when matplotlib is absent (CI installs it
through the test extra)."""
import sys

import pytest

import pykernel as pk

op = pk.op
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"      # the PNG signature (PNG spec, section 5.2)


def rr_pair():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero(), trace=True)
    k.spawn(pk.Program.script("a", [op.compute(6), op.io(5), op.compute(2)]), name="A")
    k.spawn(pk.Program.script("b", [op.compute(5)]), name="B")
    k.run()
    return k


def test_plot_without_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pykernel-sim\[plot\]"):
        pk.plot.gantt(rr_pair())


def test_thread_states_follow_the_trace():
    # RR q=4 (tests/test_trace.py): A runs 0-4, 8-10, blocked 10-15, runs 15-17
    st = pk.plot.states(rr_pair().trace)
    assert st[0] == [("running", 0, 4), ("ready", 4, 8), ("running", 8, 10),
                     ("blocked", 10, 15), ("running", 15, 17)]
    assert st[1] == [("ready", 0, 4), ("running", 4, 8), ("ready", 8, 10), ("running", 10, 11)]


mpl = pytest.importorskip("matplotlib")
from matplotlib.figure import Figure  # noqa: E402


def test_gantt_saves_a_non_empty_png(tmp_path):
    path = tmp_path / "g.png"
    fig = pk.plot.gantt(rr_pair(), path=path)
    assert isinstance(fig, Figure)
    data = path.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 2000


def test_gantt_has_one_bar_per_running_interval():
    fig = pk.plot.gantt(rr_pair())
    (ax,) = [a for a in fig.axes]
    bars = sum(len(c.get_paths()) for c in ax.collections)
    assert bars == 5


def test_thread_states_saves_an_svg(tmp_path):
    path = tmp_path / "s.svg"
    pk.plot.thread_states(rr_pair(), path=path)
    assert "<svg" in path.read_text()


def test_wait_distribution_draws_one_histogram_per_policy(tmp_path):
    kernels = {}
    for name, sched in [("FIFO", pk.sched.FIFO()), ("RR", pk.sched.RoundRobin(quantum=1000))]:
        k = pk.Kernel(scheduler=sched, costs=pk.Costs.zero())
        for i in range(10):
            k.spawn(pk.Program.script(f"p{i}", [op.compute(1000 * (i + 1))]))
        k.run()
        kernels[name] = k
    path = tmp_path / "w.png"
    fig = pk.plot.wait_distribution(kernels, path=path)
    assert len(fig.axes[0].patches) == 2 and path.read_bytes().startswith(PNG_MAGIC)


def test_faults_over_time_counts_every_fault(tmp_path):
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(frames=256), trace=True)
    k.spawn(pk.Program.script("t", [op.map(0x10000, 64 * 4096),
                                    op.touch_range(0x10000, 64 * 4096)]))
    k.run()
    path = tmp_path / "f.png"
    fig = pk.plot.faults_over_time(k, path=path)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert sum(heights) == 64 and path.stat().st_size > 2000


def test_plots_of_the_trace_need_a_traced_kernel():
    with pytest.raises(ValueError, match="trace=True"):
        pk.plot.gantt(pk.Kernel())


def test_plots_save_only_png_or_svg(tmp_path):
    with pytest.raises(ValueError, match=".png or .svg"):
        pk.plot.gantt(rr_pair(), path=tmp_path / "g.jpg")


def test_wait_distribution_needs_a_dict_of_kernels():
    with pytest.raises(TypeError, match="dict"):
        pk.plot.wait_distribution([pk.Kernel()])


def test_cli_run_plot_saves_a_gantt_chart(tmp_path):
    from pykernel.cli import main
    (tmp_path / "s.toml").write_text('[scheduler]\nname = "RoundRobin"\nquantum = 4\n'
                                     '[programs]\na = [["compute", 10]]\n'
                                     '[[processes]]\nprogram = "a"\ncount = 2\n')
    out = tmp_path / "g.png"
    assert main(["run", str(tmp_path / "s.toml"), "--no-progress", "--plot", str(out)]) == 0
    assert out.read_bytes().startswith(PNG_MAGIC)
