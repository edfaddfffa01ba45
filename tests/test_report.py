"""Reports: k.summary() and k.report(...) (docs/tools.md, "Reports").

The scenario: two CPUs sharing one round-robin queue (quantum 4 us), a
switch costing 100 ns; "cpu" computes 20 us, "io" computes 3 us then
waits 5 us twice, "short" arrives at 1 us and computes 1.5 us. The
figures follow from the costs: busy = 20 + 6 + 1.5 = 27.5 us; 6 switches
x 100 ns = 600 ns of overhead; busy + idle + overhead = 2 CPUs x 20.2 us.
"""

import pytest

import pykernel as pk
from pykernel.report import duration, table

op = pk.op


@pytest.fixture
def k():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=4000),
                  costs=pk.Costs(switch=100), seed=1)
    k.spawn(pk.Program.script("cpu", [op.compute(20_000)]), name="cpu")
    k.spawn(pk.Program.script("io", [op.loop(2, [op.compute(3000), op.io(5000)])]), name="io")
    k.spawn(pk.Program.script("short", [op.compute(1500)]), name="short", at=1000)
    k.run()
    return k


SUMMARY = """\
machine
  2 CPU(s), run queues shared, seed 1
  costs: switch 100 ns, migrate 0 ns
policy
  RoundRobin(4 us)
time
  simulated 20.200 us; CPU time busy 27.500 us, idle 12.300 us, overhead 600 ns (68.1% busy)
switches
  6 context switches, 0 migrations, 3 processes, 3 threads (0 live)
cpus
  cpu       busy      idle  overhead  utilization  switches  migrations in
  ---  ---------  --------  --------  -----------  --------  -------------
  0    11.000 us  8.900 us    300 ns        54.5%         3              0
  1    16.500 us  3.400 us    300 ns        81.7%         3              0
top processes by CPU time (2 of 3)
  process  pid   state  threads   cpu time    wait    blocked  response  turnaround  switches (vol/invol)
  -------  ---  ------  -------  ---------  ------  ---------  --------  ----------  --------------------
  cpu        0  exited        1  20.000 us  200 ns       0 ns    100 ns   20.200 us                   0/1
  io         1  exited        1   6.000 us  300 ns  10.000 us    100 ns   16.300 us                   2/0
"""


def test_summary_is_the_exact_text_for_a_small_scenario(k):
    assert k.summary(top=2) == SUMMARY


def test_report_threads_lists_each_thread_most_cpu_time_first(k):
    assert k.report("threads") == """\
thread   tid  process   state  policy  nice   cpu time      wait    blocked  switches (vol/invol)
-------  ---  -------  ------  ------  ----  ---------  --------  ---------  --------------------
cpu.0      0      cpu  exited   other     0  20.000 us    200 ns       0 ns                   0/1
io.0       1       io  exited   other     0   6.000 us    300 ns  10.000 us                   2/0
short.0    2    short  exited   other     0   1.500 us  2.200 us       0 ns                   0/0"""


def test_report_cpus_times_add_up_to_elapsed_on_each_cpu(k):
    lines = k.report("cpus").splitlines()
    assert lines[2].split()[:4] == ["0", "11.000", "us", "8.900"]
    for c in k.stats.cpus:
        assert c.busy + c.idle + c.overhead == k.now


def test_report_processes_top_keeps_the_first_rows(k):
    lines = k.report("processes", top=1).splitlines()
    assert len(lines) == 3 and lines[2].startswith("cpu ")


def test_report_of_an_unknown_table_is_a_value_error(k):
    with pytest.raises(ValueError, match="'processes', 'threads' or 'cpus'"):
        k.report("disks")
    with pytest.raises(ValueError, match="top must be a positive int"):
        k.report("processes", top=0)


def test_duration_picks_a_readable_unit():
    assert [duration(x) for x in (None, 800, 1500, 2_000_000, 3_000_000_000)] == \
        ["-", "800 ns", "1.500 us", "2.000 ms", "3.000 s"]


def test_table_aligns_first_column_left_and_others_right():
    assert table(("a", "bb"), [["x", "1"], ["yyy", "22"]]) == "a    bb\n---  --\nx     1\nyyy  22"


def test_summary_has_no_memory_section_without_memory(k):
    assert "\nmemory\n" not in k.summary()


def test_summary_shows_memory_pressure_of_a_kernel_with_memory():
    # one process maps 8 pages and touches 3: three first-touch (minor)
    # faults, nothing swapped (docs/memory.md); the TLB line is the sum of
    # the CPUs' counters
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  memory=pk.Memory(frames=64))
    base = 0x4000_0000
    k.spawn(pk.Program.script("m", [op.map(base, 8 * 4096), op.touch_range(base, 3 * 4096)]))
    k.run()
    tlb = k.tlb_stats(0)
    text = k.summary()
    section = text[text.index("\nmemory\n") + 1:text.index("\ncpus\n")].splitlines()
    assert section == [
        "memory",
        "  page faults 3 (3 minor, 0 major), 0 protection faults, 0 copy-on-write breaks",
        f"  TLB {tlb.hits:,} hits, {tlb.misses:,} misses ({100 * tlb.hit_rate:.1f}% hits), "
        f"{tlb.flushes:,} flushes, 0 shootdowns",
        "  swap 0 pages in, 0 out; 0 evictions, 0 reclaims, 0 OOM kills",
        f"  frames 64, at most {k.memory_stats.used_high} used",
    ]


def test_memory_figures_count_major_faults_under_pressure():
    # examples/thrashing.toml with 8 working sets in 256 frames: past the
    # knee (docs/memory.md, "Thrashing"); the figures are the public
    # views' sums
    from pathlib import Path
    from pykernel.report import memory_figures
    path = Path(__file__).resolve().parent.parent / "examples" / "thrashing.toml"
    k = pk.scenario.load(path).run()
    f = memory_figures(k)
    assert f["page_faults"] == sum(p.stats.page_faults for p in k.processes) == 1308
    assert f["major_faults"] == sum(p.stats.major_faults for p in k.processes) > 0
    assert f["swap_ins"] == k.memory_stats.swap_ins == f["major_faults"]
    assert memory_figures(pk.Kernel()) is None


def test_cli_run_of_the_memory_example_prints_its_faults(capsys):
    # examples/memory.toml: 8 processes each map 2 MiB (512 pages of
    # 4 KiB) and sum it ten times; only the first pass faults, once per
    # page: 8 x 512 = 4,096 minor faults, and 256 MiB of frames never run out
    from pathlib import Path
    from pykernel.cli import main
    path = Path(__file__).resolve().parent.parent / "examples" / "memory.toml"
    assert main(["run", str(path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "\nmemory\n  page faults 4,096 (4,096 minor, 0 major)," in out
    assert "\n  swap 0 pages in, 0 out; 0 evictions, 0 reclaims, 0 OOM kills\n" in out
