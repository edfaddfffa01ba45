"""pk.sched.CFS: Linux's Completely Fair Scheduler (csrc/sched/pk_sched_cfs.c).

Rules and constants, from Linux's kernel/sched/fair.c (2.6.23 .. 6.5) and
kernel/sched/core.c, as listed in docs/scheduling.md ("CFS"):
  - vruntime grows by ran * 1024 / weight (update_curr, calc_delta_fair);
    weights from sched_prio_to_weight: nice 0 = 1024, nice 5 = 335,
    nice 19 = 15;
  - period = latency (6 ms) up to nr_latency = 8 runnable threads, else
    nr * min_granularity (0.75 ms) (__sched_period); slice = period *
    weight / total weight, at least min_granularity (sched_slice);
  - a new thread starts at min_vruntime + its virtual slice (place_entity,
    START_DEBIT); a waking one at max(its vruntime, min_vruntime -
    latency / 2) (GENTLE_FAIR_SLEEPERS);
  - a woken thread preempts when curr.vruntime - its vruntime >
    wakeup_granularity (1 ms) in its virtual time (wakeup_preempt_entity);
  - the tunables are multiplied by 1 + ilog2(min(cpus, 8))
    (get_update_sysctl_factor, SCHED_TUNABLESCALING_LOG).
Times are ns; ``Costs.zero()`` makes switches free, so numbers are exact.
``scale="none"`` keeps the tunables at their 1-CPU values.
"""

import pytest

import pykernel as pk
from conftest import assert_time_conserved

MS = 1_000_000
LONG = 10**12                     # compute that outlasts every test


def cfs_kernel(cpus=1, **kw):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.CFS(**kw), costs=pk.Costs.zero())


def spin(name="spin"):
    return pk.Program.script(name, [pk.op.compute(LONG)])


def cpu_of(p):
    return p.stats.cpu_time


# ---- weights and shares ----------------------------------------------------------

def test_nice0_and_nice5_share_one_cpu_1024_to_335():
    # Weights 1024 and 335 (sched_prio_to_weight): over 10 s the shares are
    # 10 s * 1024 / 1359 = 7,534,952,171 ns and 10 s * 335 / 1359 = 2,465,047,829 ns.
    k = cfs_kernel()
    a = k.spawn(spin(), nice=0)
    b = k.spawn(spin(), nice=5)
    k.run(until=10_000 * MS)
    assert cpu_of(a) + cpu_of(b) == 10_000 * MS
    assert cpu_of(a) == pytest.approx(7_534_952_171, rel=0.02)
    assert cpu_of(b) == pytest.approx(2_465_047_829, rel=0.02)
    assert cpu_of(a) / cpu_of(b) == pytest.approx(1024 / 335, rel=0.02)


def test_three_equal_threads_each_get_a_third():
    k = cfs_kernel()
    ps = [k.spawn(spin()) for _ in range(3)]
    k.run(until=3_000 * MS)
    for p in ps:
        assert cpu_of(p) == pytest.approx(1_000 * MS, rel=0.01)
    assert k.fairness() == pytest.approx(1.0, abs=1e-4)


def test_two_nice0_threads_get_exactly_equal_service():
    # Two threads alternate 3 ms slices (6 ms period / 2); vruntime
    # arithmetic is exact, so at every multiple of 6 ms they are level.
    k = cfs_kernel(scale="none")
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=6_000 * MS)
    assert (cpu_of(a), cpu_of(b)) == (3_000 * MS, 3_000 * MS)


def test_vruntime_conversion_is_exact_for_other_weights():
    # Two nice-5 threads: each slice is 3 ms, each adds 3 ms * 1024 / 335 of
    # vruntime with the remainder carried, so they still end level.
    k = cfs_kernel(scale="none")
    a, b = k.spawn(spin(), nice=5), k.spawn(spin(), nice=5)
    k.run(until=600 * MS)
    assert (cpu_of(a), cpu_of(b)) == (300 * MS, 300 * MS)


# ---- slices ----------------------------------------------------------------------

@pytest.mark.parametrize("n,switches", [(2, 20), (4, 40), (8, 80), (12, 80), (16, 80)])
def test_slices_follow_the_period_formula(n, switches):
    # n equal threads: slice = period / n with period = 6 ms for n <= 8,
    # n * 0.75 ms beyond: 3, 1.5, 0.75, 0.75, 0.75 ms. In a 60 ms window of
    # the steady state that is 60 ms / slice switches.
    k = cfs_kernel(scale="none")
    k.spawn_many(spin(), n)
    k.run(until=120 * MS)
    assert k.run(until=180 * MS).switches == switches


def test_slice_is_the_period_shared_by_weight():
    # nice 0 (A) and nice 5 (B), period 6 ms: B's slice = 6 ms * 335 / 1359
    # = 1,479,028 ns, A's = 6 ms * 1024 / 1359 = 4,520,971 ns. B starts (its
    # START_DEBIT vslice, 4.52 ms, is below A's 6 ms), then A, then B again.
    k = cfs_kernel(scale="none")
    a = k.spawn(spin(), name="A")
    b = k.spawn(spin(), name="B", nice=5)
    k.run(until=1_479_029)
    assert (b.stats.first_run, a.stats.first_run) == (0, 1_479_028)
    k.run(until=5_999_999)
    assert (cpu_of(a), cpu_of(b)) == (4_520_971, 1_479_028)
    k.run(until=6_000_000)
    assert b.threads[0].state == "running"


def test_slice_is_at_least_min_granularity():
    # nice 19 (weight 15) beside nice 0: 6 ms * 15 / 1039 = 86,621 ns is
    # below min_granularity, so its slice is 750,000 ns. Its START_DEBIT
    # vslice is 750,000 * 1024 / 15 = 51.2 ms of vruntime: A (6 ms, slices
    # of 6 ms * 1024 / 1039 = 5,913,378 ns) runs 8 slices first, until its
    # vruntime 6 ms + 47,307,024 passes 51.2 ms.
    k = cfs_kernel(scale="none")
    a = k.spawn(spin(), name="A")
    b = k.spawn(spin(), name="B", nice=19)
    k.run(until=47_307_024 + 750_000)
    assert b.stats.first_run == 47_307_024
    assert cpu_of(b) == 750_000
    assert cpu_of(a) == 47_307_024


def test_new_threads_start_one_virtual_slice_after_min_vruntime():
    # START_DEBIT: the i-th of four threads spawned at 0 starts at vruntime
    # min + 6 ms / i (its slice among i runnable): 6, 3, 2, 1.5 ms. With
    # 1.5 ms slices the order is D C B D C B D C A (ties: queued first).
    k = cfs_kernel(scale="none")
    ps = [k.spawn(spin(), name=n) for n in "ABCD"]
    k.run(until=13 * MS)
    assert [p.stats.first_run for p in ps] == [12 * MS, 3 * MS, 3 * MS // 2, 0]


def test_equal_vruntimes_run_in_the_order_they_were_queued():
    # 10 threads spawned at once, > 8 runnable: each starts at min + 0.75 ms
    # (except the first 8, whose vslice is 6 ms / i). Threads 9 and 10
    # have equal vruntime and run in spawn order.
    k = cfs_kernel(scale="none")
    ps = k.spawn_many(spin(), 10)
    k.run(until=20 * MS)
    first = ps.table()["first_run_ns"]
    assert first[8] < first[9]


def test_tunables_scale_with_the_cpu_count():
    # get_update_sysctl_factor(): log -> 1 + ilog2(min(cpus, 8)).
    cfs = pk.sched.CFS()
    assert [cfs.scaled(n)["latency"] for n in (1, 2, 3, 4, 8, 64)] == \
        [6 * MS, 12 * MS, 12 * MS, 18 * MS, 24 * MS, 24 * MS]
    linear = pk.sched.CFS(scale="linear")
    assert [linear.scaled(n)["min_granularity"] for n in (1, 2, 3, 8, 64)] == \
        [750_000, 1_500_000, 2_250_000, 6_000_000, 6_000_000]
    assert pk.sched.CFS(scale="none").scaled(64)["wakeup_granularity"] == 1 * MS
    assert cfs.scaled(1)["nr_latency"] == 8


def test_two_cpus_double_the_slice():
    # 2 CPUs, log scaling: latency 12 ms. Two threads pinned to CPU 0
    # alternate 6 ms slices: 10 switches in 60 ms of the steady state.
    k = cfs_kernel(cpus=2)
    k.spawn(spin(), affinity={0})
    k.spawn(spin(), affinity={0})
    k.run(until=60 * MS)
    before = k.cpu_stats(0).switches
    k.run(until=120 * MS)
    assert k.cpu_stats(0).switches - before == 10


# ---- sleeping and waking -----------------------------------------------------------

def test_sleeper_runs_again_at_once_after_each_wake():
    # A thread that sleeps 10 ms at a time is placed at min_vruntime - 3 ms
    # (latency / 2) when it wakes: 3 ms behind the hog, more than the 1 ms
    # wakeup granularity, so it preempts at once, every time.
    k = cfs_kernel()
    hog = k.spawn(spin())
    sleeper = k.spawn(pk.Program.script("sleeper", [
        pk.op.loop(100, [pk.op.compute(100_000), pk.op.sleep(10 * MS)])]))
    k.run(until=2_000 * MS)
    assert sleeper.state == "exited"
    assert sleeper.stats.wait == 0
    assert cpu_of(sleeper) == 10 * MS
    assert cpu_of(hog) == 1_990 * MS
    # Scheduling latency (k.latency): 2 arrivals and 100 wake-ups; only
    # the hog's arrival waited (the sleeper's first 0.1 ms burst).
    lat = k.latency
    assert (lat.count, lat.total, lat.max) == (102, 100_000, 100_000)


def test_sleeper_latency_is_one_context_switch():
    # With 800 ns switches, each time the sleeper becomes ready (its arrival
    # and 100 wake-ups) it runs after just the switch that brings it in.
    k = pk.Kernel(scheduler=pk.sched.CFS(), costs=pk.Costs(switch=800))
    k.spawn(spin())
    sleeper = k.spawn(pk.Program.script("sleeper", [
        pk.op.loop(100, [pk.op.compute(100_000), pk.op.sleep(10 * MS)])]))
    k.run(until=2_000 * MS)
    assert sleeper.state == "exited"
    assert sleeper.stats.wait == 101 * 800


def test_woken_thread_within_wakeup_granularity_waits_for_the_slice():
    # S runs [0, 3 ms) (vruntime 3 -> 6 ms), sleeps 1 ms; H runs from 3 ms.
    # At 4 ms: H's vruntime is 7 ms, S is placed at max(6, 7 - 3) = 6 ms:
    # 1 ms behind, not more than the granularity: S waits until H's 3 ms
    # slice ends at 6 ms.
    k = cfs_kernel(scale="none")
    h = k.spawn(spin(), name="H")
    s = k.spawn(pk.Program.script("S", [pk.op.compute(3 * MS), pk.op.sleep(1 * MS),
                                        pk.op.compute(LONG)]), name="S")
    k.run(until=6 * MS)
    assert (s.threads[0].state, h.threads[0].state) == ("ready", "running")
    assert s.stats.wait == 2 * MS
    k.run(until=6 * MS + 1)
    assert s.threads[0].state == "running"


def test_woken_thread_behind_by_more_than_the_granularity_preempts():
    # As above but S sleeps 2.5 ms: at 5.5 ms H's vruntime is 8.5 ms and S
    # is placed at max(6, 5.5) = 6 ms, 2.5 ms behind: it preempts at once.
    k = cfs_kernel(scale="none")
    h = k.spawn(spin(), name="H")
    s = k.spawn(pk.Program.script("S", [pk.op.compute(3 * MS), pk.op.sleep(2_500_000),
                                        pk.op.compute(LONG)]), name="S")
    k.run(until=5_500_001)
    assert (s.threads[0].state, h.threads[0].state) == ("running", "ready")
    assert s.stats.wait == 0


def test_sleeper_credit_is_half_the_latency():
    # S sleeps at once (it runs first: its START_DEBIT vslice 3 ms is below
    # H's 6 ms) for 100 ms while H runs alone: H's vruntime goes 6 -> 106 ms.
    # S wakes at max(3, 106 - 3) = 103 ms: it runs one 3 ms slice, not the
    # 100 ms it slept, then H runs again.
    k = cfs_kernel(scale="none")
    h = k.spawn(spin(), name="H")
    s = k.spawn(pk.Program.script("S", [pk.op.sleep(100 * MS), pk.op.compute(LONG)]), name="S")
    k.run(until=103 * MS + 1)
    assert (cpu_of(s), cpu_of(h)) == (3 * MS, 100 * MS + 1)
    assert h.threads[0].state == "running"


# ---- changes at run time -------------------------------------------------------------

def test_nice_change_while_running_moves_the_share():
    # Equal until 1 s, then A becomes nice 5: from then on 1024:335 for B:A.
    k = cfs_kernel()
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=1_000 * MS)
    running = a if a.threads[0].state == "running" else b
    other = b if running is a else a
    ra, rb = cpu_of(running), cpu_of(other)
    running.set_nice(5)
    k.run(until=10_000 * MS)
    gained_low, gained_high = cpu_of(running) - ra, cpu_of(other) - rb
    assert gained_low + gained_high == 9_000 * MS
    assert gained_high == pytest.approx(9_000 * MS * 1024 / 1359, rel=0.02)
    assert gained_low == pytest.approx(9_000 * MS * 335 / 1359, rel=0.02)


def test_nice_change_while_queued_moves_the_share():
    k = cfs_kernel()
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=1_000 * MS)
    queued = a if a.threads[0].state == "ready" else b
    other = b if queued is a else a
    q0, o0 = cpu_of(queued), cpu_of(other)
    queued.set_nice(-5)                    # weight 3121 against 1024
    k.run(until=10_000 * MS)
    assert cpu_of(queued) - q0 == pytest.approx(9_000 * MS * 3121 / 4145, rel=0.02)
    assert cpu_of(other) - o0 == pytest.approx(9_000 * MS * 1024 / 4145, rel=0.02)


@pytest.mark.parametrize("policy", [pk.sched.RoundRobin(quantum=1_000), pk.sched.CFS()], ids=repr)
def test_changing_a_queued_threads_nice_keeps_its_wait(policy):
    # A queued thread is taken out of its run queue and put back
    # (pk_control.c): the time it had already waited still counts.
    # RoundRobin q=1000, two compute(10,000) threads: at 2,500 the queued
    # one has waited 1,500; after the change it still has.
    k = pk.Kernel(scheduler=policy, costs=pk.Costs.zero())
    ps = [k.spawn(pk.Program.script("c", [pk.op.compute(10_000)])) for _ in range(2)]
    k.run(until=2_500)
    queued = next(p for p in ps if p.threads[0].state == "ready")
    waited = queued.stats.wait
    queued.set_nice(3)
    assert queued.stats.wait == waited
    if isinstance(policy, pk.sched.RoundRobin):
        assert waited == 1_500
    k.run()
    assert_time_conserved(k)


def test_killing_a_queued_thread_leaves_the_others_fair():
    k = cfs_kernel()
    ps = [k.spawn(spin()) for _ in range(4)]
    k.run(until=100 * MS)
    victim = next(p for p in ps if p.threads[0].state == "ready")
    victim.kill()
    rest = [p for p in ps if p is not victim]
    before = [cpu_of(p) for p in rest]
    k.run(until=3_100 * MS)
    for p, b in zip(rest, before):
        assert cpu_of(p) - b == pytest.approx(1_000 * MS, rel=0.01)


def test_yield_gives_the_cpu_to_a_thread_within_the_granularity():
    # Y computes 0.1 ms and yields, 10 times; H spins. Each yield passes
    # the CPU to H when H is not more than 1 ms of vruntime ahead (the skip
    # buddy), so Y cannot keep the CPU by yielding: H runs meanwhile.
    k = cfs_kernel(scale="none")
    y = k.spawn(pk.Program.script("Y", [pk.op.loop(10, [pk.op.compute(100_000), pk.op.yield_()])]))
    h = k.spawn(spin())
    k.run(until=20 * MS)
    assert y.state == "exited"
    assert cpu_of(h) > 0
    assert cpu_of(y) == 1 * MS
    assert y.stats.voluntary_switches > 0


# ---- several CPUs ----------------------------------------------------------------------

@pytest.mark.parametrize("cpus,threads", [(2, 4), (2, 6), (4, 8), (4, 12)])
def test_threads_spread_over_cpus_and_share_fairly(cpus, threads):
    k = cfs_kernel(cpus=cpus)
    ps = k.spawn_many(spin(), threads)
    k.run(until=2_000 * MS)
    assert all(c.busy == 2_000 * MS for c in k.stats.cpus)
    assert k.fairness() == pytest.approx(1.0, abs=1e-3)
    for p in ps:
        assert cpu_of(p) == pytest.approx(2_000 * MS * cpus / threads, rel=0.02)
    assert_time_conserved(k)


def test_balancing_spreads_threads_started_on_one_cpu():
    # All 8 start in CPU 0's queue; idle CPUs steal and the periodic
    # balancer spreads them (pk_balance.c): every CPU ends up busy.
    k = cfs_kernel(cpus=4)
    k.spawn_many(spin(), 8, cpu=0)
    k.run(until=2_000 * MS)
    assert k.stats.migrations >= 6
    assert all(c.busy > 1_990 * MS for c in k.stats.cpus)
    assert k.fairness() > 0.99


def test_migrated_thread_keeps_its_lag():
    # CPU 1 has run one thread alone for 1 s (its min_vruntime is ~1 s
    # ahead of... nothing; CPU 0's three threads have ~1/3 s each). Moving
    # one of CPU 0's threads to CPU 1 keeps its vruntime relative to the
    # queue's min_vruntime (dequeue/steal subtract, enqueue adds), so the
    # two then share CPU 1 half and half; with absolute vruntimes the newcomer
    # would be ~0.67 s "behind" and hog CPU 1.
    k = cfs_kernel(cpus=2, scale="none")
    alone = k.spawn(spin(), affinity={1})
    three = [k.spawn(spin(), affinity={0}) for _ in range(3)]
    k.run(until=1_000 * MS)
    mover = three[0]
    mover.set_affinity({1})
    a0, m0 = cpu_of(alone), cpu_of(mover)
    k.run(until=2_000 * MS)
    assert cpu_of(alone) - a0 == pytest.approx(500 * MS, rel=0.02)
    assert cpu_of(mover) - m0 == pytest.approx(500 * MS, rel=0.02)


def test_same_inputs_give_the_same_run():
    def run():
        k = cfs_kernel(cpus=3)
        k.spawn_many(pk.Program.script("w", [pk.op.loop(50, [pk.op.compute(300_000),
                                                              pk.op.sleep(700_000)])]), 7)
        k.spawn_many(spin(), 3, nice=3)
        k.run(until=200 * MS)
        return k.digest(), k.processes.table()["cpu_time_ns"]
    assert run() == run()


# ---- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("kw,exc", [
    ({"latency": -1}, ValueError), ({"latency": 0}, ValueError),
    ({"min_granularity": -750_000}, ValueError), ({"min_granularity": 0}, ValueError),
    ({"wakeup_granularity": -1}, ValueError), ({"latency": 10**9 + 1}, ValueError),
    ({"latency": 6e6}, TypeError), ({"min_granularity": "750000"}, TypeError),
    ({"wakeup_granularity": 1.5}, TypeError), ({"latency": True}, TypeError),
    ({"scale": "logarithmic"}, ValueError), ({"scale": 1}, TypeError),
], ids=str)
def test_bad_tunables_are_rejected(kw, exc):
    with pytest.raises(exc):
        pk.sched.CFS(**kw)


def test_zero_wakeup_granularity_is_allowed():
    # Linux's sysctl allows 0: any woken thread that is behind preempts.
    k = cfs_kernel(wakeup_granularity=0)
    k.spawn_many(spin(), 2)
    k.run(until=10 * MS)


def test_repr_and_equality():
    c = pk.sched.CFS(latency=8_000, min_granularity=1_000, wakeup_granularity=0, scale="none")
    assert repr(c) == ("CFS(latency=8000, min_granularity=1000, wakeup_granularity=0, "
                       "scale='none')")
    assert c == pk.sched.CFS(latency=8_000, min_granularity=1_000, wakeup_granularity=0,
                             scale="none")
    assert c != pk.sched.CFS()
    assert hash(pk.sched.CFS()) == hash(pk.sched.CFS())
    assert pk.sched.CFS.per_cpu


def test_core_rejects_bad_parameters_without_crashing():
    # The C side checks params itself: a policy object that lies about its
    # parameters gets an error status, not a crash.
    class Broken(pk.sched.CFS):
        def _params(self):
            return [0, 0, 0, 9]
    with pytest.raises(pk.KernelError):
        pk.Kernel(scheduler=Broken())

    class Short(pk.sched.CFS):
        def _params(self):
            return [6_000_000]
    with pytest.raises(pk.KernelError):
        pk.Kernel(scheduler=Short())
