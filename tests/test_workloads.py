"""Standard workloads (docs/tools.md, "Standard workloads" and
"Calibration"): each simulated figure follows from the cost model."""

import subprocess
import sys

import pytest

import pykernel as pk
from pykernel import workloads as w

S, C, W, WALK = 1000, 100, 10, 3
HAND = pk.Costs(switch=S, syscall=C, wakeup=W, page_walk=WALK, minor_fault=50)


def per_loop(fn, loops=500, **kw):
    """Simulated ns per loop with setup removed: (T(2L) - T(L)) / L."""
    a, b = fn(loops, **kw), fn(2 * loops, **kw)
    return (b.simulated_ns - a.simulated_ns) / loops


def test_pipe_round_trip_is_the_sum_of_its_parts():
    # two switches, four pipe calls, two reads that waited
    assert per_loop(w.pipe, costs=HAND) == 2 * S + 4 * C + 2 * W


def test_pipe_round_trip_is_the_same_under_every_policy_on_one_cpu():
    for policy in (pk.sched.FIFO(), pk.sched.RoundRobin(quantum=10**6), pk.sched.EEVDF()):
        assert per_loop(w.pipe, costs=HAND, scheduler=policy) == 2 * S + 4 * C + 2 * W


def test_yield_pair_is_two_switches():
    assert per_loop(w.yield_pair, costs=HAND) == 2 * S


def test_default_costs_reproduce_linux_pipe_within_15_percent():
    # docs/references.md [pk-host]: perf bench sched pipe, 2.7 us per round trip
    fig = w.pipe(20_000).figure
    assert abs(fig - 2.7) / 2.7 <= 0.15
    assert fig == pytest.approx(2.7, abs=0.01)


def test_default_costs_reproduce_linux_yield_pair_within_15_percent():
    # docs/references.md [pk-host]: sched_yield between two pinned processes, 1.6 us per pair
    assert abs(w.yield_pair(20_000).figure - 1.6) / 1.6 <= 0.15


def test_pipe_result_reports_us_per_op_and_the_simulators_speed():
    r = w.pipe(1000, costs=HAND)
    assert r.unit == "us/op" and r.figure == r.simulated_ns / 1000 / 1e3
    assert r.switches >= 2000 and r.wall > 0 and r.switches_per_second > 0


def test_messaging_delivers_every_message_and_reports_seconds():
    for kw in ({}, {"pipes": True}, {"threads": True}, {"threads": True, "pipes": True}):
        k = w.messaging_kernel(groups=2, fds=3, loops=4, size=100, costs=HAND, **kw)
        assert k.run().reason == "idle"
        r = w.messaging(groups=2, fds=3, loops=4, costs=HAND, **kw)
        assert r.unit == "s" and r.figure == r.simulated_ns / 1e9


def test_messaging_with_free_switches_costs_one_syscall_per_write_and_read():
    # 2 groups x 3 senders x 3 receivers x 4 loops = 72 messages, each one
    # write and one read; only CPU time of calls, so one CPU is busy for
    # 72 * 2 * C plus the wake-ups of reads that waited
    costs = pk.Costs(switch=0, syscall=C, wakeup=0)
    r = w.messaging(groups=2, fds=3, loops=4, costs=costs)
    assert r.simulated_ns == 72 * 2 * C


def test_lat_ctx_without_a_working_set_is_a_switch_and_a_wakeup():
    # per hop the ring adds one switch and one read that waited, over the
    # overhead run (one process passing the token to itself)
    assert w.lat_ctx(2, 0, loops=200, costs=HAND).simulated_ns == S + W


def test_lat_ctx_switch_time_is_flat_while_working_sets_fit_the_tlb():
    # 2 x 16 KiB = 8 pages in a 64-entry, 4-way TLB with ASIDs (docs/references.md [Intel-Opt])
    assert w.lat_ctx(2, 16384, loops=200, costs=HAND).simulated_ns == S + W


def test_lat_ctx_switch_time_grows_with_the_number_of_processes_beyond_tlb_reach():
    # 64 KiB = 16 pages each, at the same addresses in every process: one
    # page per set of the 16-set, 4-way TLB, so 4 processes fit and 8 do not
    figs = [w.lat_ctx(n, 65536, loops=200, costs=HAND).simulated_ns for n in (2, 4, 8, 16)]
    assert figs[0] == figs[1] == S + W
    assert figs[1] < figs[2] <= figs[3]


def test_lat_ctx_switch_time_grows_with_the_working_set_beyond_tlb_reach():
    # 256 KiB = 64 pages: one process fills the 64-entry TLB exactly; with
    # two, every page misses: 64 walks of 4 levels per hop
    r = w.lat_ctx(2, 262144, loops=200, costs=HAND)
    assert r.simulated_ns == S + W + 64 * 4 * WALK


def test_workload_arguments_are_checked():
    with pytest.raises(ValueError, match="pipe loops must be at least 1"):
        w.pipe(0)
    with pytest.raises(TypeError, match="must be an int"):
        w.yield_pair(1.5)
    with pytest.raises(ValueError, match="lat_ctx processes must be at least 2"):
        w.lat_ctx(1)
    with pytest.raises(ValueError, match="lat_ctx size"):
        w.lat_ctx(2, -1)


def test_cli_bench_prints_the_simulated_figure_and_the_simulators_speed(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pykernel", "bench", "lat_ctx", "--loops", "100"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("simulated: 0.950 us  (lat_ctx, processes=2")
    assert lines[1].startswith("simulator: ") and lines[2].startswith("host: ")


def test_cli_bench_says_why_the_simulated_and_host_figures_differ(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pykernel", "bench", "lat_ctx", "--loops", "100"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    note = r.stdout[r.stdout.index("note:"):]
    assert "default costs" in note and "fitted on" in note and "another machine" in note
    assert "`pykernel calibrate`\n           (docs/tools.md) fits the costs to this one." in note
