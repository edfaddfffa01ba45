"""Per-run statistics: scheduling latency (ready after arrival or wake-up
-> running) with percentiles, and Jain's fairness index."""

import pytest

import pykernel as pk
from pykernel.kernel import _bucket_bounds

C = pk.op.compute


def script(*ops):
    return pk.Program.script("w", list(ops))


def test_latency_counts_every_arrival_and_wake_up():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero())
    k.spawn(script(C(10)))                            # runs at once: latency 0
    k.spawn(script(C(10)))                            # waits 10
    k.spawn(script(C(5), pk.op.io(1), C(5)), at=5)    # waits 15, wakes at 26 and waits 0
    k.run()
    lat = k.latency
    assert (lat.count, lat.total, lat.max) == (4, 25, 15)
    assert lat.mean == 6.25
    assert lat.percentile(50) == 0 and lat.p99 == 15


def test_latency_includes_the_switch_that_brings_the_thread_in():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs(switch=3))
    k.spawn(script(C(10)))
    k.spawn(script(C(10)))
    k.run()
    # first: switch 0-3; second waits 13 then switches in until 16
    assert k.latency.total == 3 + 16


def test_latency_histogram_is_exact_below_16_and_within_a_sixteenth_above():
    assert _bucket_bounds(15) == (15, 15)
    assert _bucket_bounds(16) == (16, 16)
    low, high = _bucket_bounds(16 * 10 + 7)             # e = 13: width 512
    assert (low, high) == (23 << 9, (24 << 9) - 1)
    for i in range(16, 900):
        low, high = _bucket_bounds(i)
        assert (high - low + 1) * 16 <= low


def test_percentile_never_exceeds_the_maximum():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn(script(C(1000)))
    k.spawn(script(C(1)))                              # waits 1000
    k.run()
    assert k.latency.p99 == 1000


def test_bad_percentile_is_refused():
    k = pk.Kernel()
    with pytest.raises(ValueError):
        k.latency.percentile(0)


@pytest.mark.parametrize("values, index", [
    ([1, 1, 1, 1], 1.0),
    ([1, 0, 0, 0], 0.25),                 # one takes everything: 1/n
    ([2, 1], 0.9),                        # 9 / (2 * 5)
    ([0, 0], 1.0),
])
def test_jain_index(values, index):
    # Jain, Chiu and Hawe, DEC-TR-301 (1984): (sum x)^2 / (n sum x^2)
    assert pk.jain_index(values) == pytest.approx(index)


def test_fairness_of_a_round_robin_run_is_one():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero())
    k.spawn_many(script(C(1000)), 5)
    k.run(until=2000)
    assert k.fairness() == 1.0


def test_fairness_of_fifo_midway_is_low():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    procs = k.spawn_many(script(C(1000)), 4)
    k.run(until=1000)
    assert k.fairness(procs) == 0.25
