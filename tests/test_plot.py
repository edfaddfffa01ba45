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


def ten_jobs_under_two_policies():
    kernels = {}
    for name, sched in [("FIFO", pk.sched.FIFO()), ("RR", pk.sched.RoundRobin(quantum=1000))]:
        k = pk.Kernel(scheduler=sched, costs=pk.Costs.zero())
        for i in range(10):
            k.spawn(pk.Program.script(f"p{i}", [op.compute(1000 * (i + 1))]))
        k.run()
        kernels[name] = k
    return kernels


def test_wait_distribution_draws_one_histogram_per_policy(tmp_path):
    path = tmp_path / "w.png"
    fig = pk.plot.wait_distribution(ten_jobs_under_two_policies(), path=path, dots=5)
    assert len(fig.axes[0].patches) == 2 and path.read_bytes().startswith(PNG_MAGIC)


def test_wait_distribution_of_few_processes_is_a_dot_per_process():
    fig = pk.plot.wait_distribution(ten_jobs_under_two_policies())
    ax = fig.axes[0]
    assert [len(c.get_offsets()) for c in ax.collections] == [10, 10]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["FIFO", "RR"]


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


# ---- legibility: each plot rendered to PNG and checked ----------------------------------

def png_size(path):
    """(width, height) from the IHDR chunk (PNG spec, section 11.2.2)."""
    data = path.read_bytes()
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def saturated_colours(path):
    """The distinct colours of a PNG that are not white, black or grey
    (R, G, B not all within 16 of each other), rounded to 16 levels so
    anti-aliased edges do not count."""
    from matplotlib.image import imread
    img = imread(str(path))[..., :3]
    px = {tuple(int(c * 15 + 0.5) for c in p) for p in img.reshape(-1, 3)}
    return {p for p in px if max(p) - min(p) > 1}


def inside_figure(fig, artist):
    """Whether an artist's drawn extent lies within the figure (nothing cut off)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    box, page = artist.get_window_extent(), fig.bbox
    return (box.x0 >= page.x0 - 1 and box.y0 >= page.y0 - 1 and box.x1 <= page.x1 + 1
            and box.y1 <= page.y1 + 1)


def five_processes():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=3), costs=pk.Costs.zero(), trace=True)
    for i, name in enumerate(["editor", "batch", "db", "short-1", "short-2"]):
        k.spawn(pk.Program.script("p", [op.compute(6 + i)]), name=name)
    k.run()
    return k


def test_gantt_gives_each_of_a_few_processes_its_own_colour_and_legend_entry(tmp_path):
    path = tmp_path / "g.png"
    fig = pk.plot.gantt(five_processes(), path=path)
    ax = fig.axes[0]
    faces = {tuple(c.get_facecolor()[0]) for c in ax.collections}
    assert len(faces) == 5
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "editor", "batch", "db", "short-1", "short-2"]
    assert len(saturated_colours(path)) >= 5
    width, height = png_size(path)
    assert width >= 800 and height >= 200


def test_gantt_title_names_the_policy_and_the_machine():
    fig = pk.plot.gantt(five_processes())
    assert fig.axes[0].get_title() == "CPU Gantt chart: RoundRobin(3 ns), 1 CPU; 5 processes"


def test_gantt_axis_label_and_legend_are_not_cut_off():
    fig = pk.plot.gantt(five_processes())
    ax = fig.axes[0]
    assert inside_figure(fig, ax.xaxis.label) and inside_figure(fig, ax.get_legend())


def many_processes(groups):
    """groups: (program, nice, count); 1 CPU, RR, traced."""
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=5), costs=pk.Costs.zero(), trace=True)
    for prog, nice, count in groups:
        k.spawn_many(pk.Program.script(prog, [op.compute(10)]), count, nice=nice)
    k.run()
    return k


def test_gantt_of_many_processes_colours_them_by_program_and_nice():
    # 80 processes are too many colours to tell apart: one per group
    k = many_processes([("worker", 0, 32), ("worker", 5, 16), ("worker", -5, 16),
                        ("interactive", 0, 16)])
    ax = pk.plot.gantt(k).axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "worker (32)", "worker (nice +5) (16)", "worker (nice -5) (16)", "interactive (16)"]
    assert len({tuple(c.get_facecolor()[0]) for c in ax.collections}) == 4


def test_gantt_folds_groups_past_ten_into_other():
    k = many_processes([(f"prog{i:02}", 0, 2) for i in range(12)])
    labels = [t.get_text() for t in pk.plot.gantt(k).axes[0].get_legend().get_texts()]
    assert len(labels) == pk.plot.MAX_COLORS and labels[-1] == "other (6)"


def test_thread_states_title_says_how_many_threads_are_shown(tmp_path):
    k = many_processes([("w", 0, 50)])
    path = tmp_path / "s.png"
    fig = pk.plot.thread_states(k, path=path)
    assert fig.axes[0].get_title() == \
        "thread states: RoundRobin(5 ns), 1 CPU; first 40 of 50 threads"
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "running", "ready", "blocked"]
    assert len(saturated_colours(path)) >= 2
    assert inside_figure(fig, fig.axes[0].xaxis.label)


def test_count_axes_have_integer_ticks():
    hist = pk.plot.wait_distribution(ten_jobs_under_two_policies(), dots=5)
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(frames=256), trace=True)
    k.spawn(pk.Program.script("t", [op.map(0x10000, 3 * 4096), op.touch_range(0x10000, 3 * 4096)]))
    k.run()
    faults = pk.plot.faults_over_time(k)
    for fig in (hist, faults):
        ticks = fig.axes[0].get_yticks()
        assert all(float(t).is_integer() for t in ticks), ticks


def test_wait_distribution_renders_distinct_colours(tmp_path):
    path = tmp_path / "w.png"
    pk.plot.wait_distribution(ten_jobs_under_two_policies(), path=path)
    assert len(saturated_colours(path)) >= 2 and png_size(path)[0] >= 800


def test_figures_show_inline_in_jupyter():
    # IPython displays an object's _repr_png_ (IPython docs, "Rich display")
    png = pk.plot.gantt(rr_pair())._repr_png_()
    assert png.startswith(PNG_MAGIC) and len(png) > 2000


def test_cli_run_saves_every_plot_asked_for(tmp_path):
    from pykernel.cli import main
    (tmp_path / "s.toml").write_text('[scheduler]\nname = "RoundRobin"\nquantum = 4\n'
                                     '[programs]\na = [["compute", 10]]\n'
                                     '[[processes]]\nprogram = "a"\ncount = 2\n')
    a, b = tmp_path / "a.png", tmp_path / "b.svg"
    assert main(["run", str(tmp_path / "s.toml"), "--no-progress", "--plot", str(a),
                 "--plot", f"states={b}"]) == 0
    assert a.read_bytes().startswith(PNG_MAGIC) and "<svg" in b.read_text()


def test_cli_plot_of_an_unknown_kind_is_refused(capsys):
    from pykernel.cli import main
    with pytest.raises(SystemExit):
        main(["run", "x.toml", "--plot", "pie=x.png"])
    assert "plot kind must be one of gantt, states, faults" in capsys.readouterr().err


def test_gantt_of_more_intervals_than_pixels_draws_shares_per_column():
    # RR with a 1 ns quantum: 3 x 1000 ns of work in 3000 one-ns slices on
    # one CPU, more than the figure can show one by one; the columns'
    # areas add up to the CPU time of each process
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1), costs=pk.Costs.zero(), trace=True)
    for name in ("a", "b", "c"):
        k.spawn(pk.Program.script("p", [op.compute(1000)]), name=name)
    k.run()
    assert len(k.trace.slices()) > pk.plot.BIN_SLICES
    ax = pk.plot.gantt(k).axes[0]
    area = {}
    for patch in ax.patches:
        c = patch.get_facecolor()
        area[c] = area.get(c, 0) + patch.get_width() * patch.get_height() / 0.8
    assert sorted(round(a, 6) for a in area.values()) == [1000.0] * 3   # ns (a 3 µs run)
    assert "each column shows the shares" in ax.get_xlabel()


def test_thread_states_of_many_intervals_draw_shares_per_column():
    # the same 1 ns round robin: each thread alternates running and ready
    # some 2,000 times; the columns' areas are its CPU time and its wait
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1), costs=pk.Costs.zero(), trace=True)
    ps = [k.spawn(pk.Program.script("p", [op.compute(1000)])) for _ in range(3)]
    k.run()
    ax = pk.plot.thread_states(k).axes[0]
    from matplotlib.colors import to_hex
    area = {}
    for patch in ax.patches:
        c = to_hex(patch.get_facecolor())
        area[c] = area.get(c, 0) + patch.get_width() * patch.get_height() / 0.8
    assert round(area["#2ca02c"], 6) == sum(p.stats.cpu_time for p in ps) == 3000   # running
    assert round(area["#ff7f0e"], 6) == sum(p.stats.wait for p in ps)                # ready
    assert "each column shows the shares" in ax.get_xlabel()
