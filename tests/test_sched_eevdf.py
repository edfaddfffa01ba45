"""pk.sched.EEVDF: Earliest Eligible Virtual Deadline First as Linux 6.6
runs it (csrc/sched/pk_sched_eevdf.c).

Rules, from Linux 6.6 kernel/sched/fair.c (avg_vruntime, entity_eligible,
update_entity_lag, place_entity, update_deadline, pick_eevdf,
check_preempt_wakeup) and Stoica and Abdel-Wahab, "Earliest Eligible
Virtual Deadline First" (1995), as listed in docs/scheduling.md ("EEVDF"):
  - vruntime grows by ran * 1024 / weight (nice 0 = 1024, nice 5 = 335);
  - V = the weight-averaged vruntime of the queued and running threads;
    lag = V - vruntime; eligible when lag >= 0;
  - virtual deadline = vruntime + slice * 1024 / weight; when the running
    thread reaches it, it gets the next one and the queue picks again;
  - pick: the eligible thread with the earliest deadline (ties: queued
    first);
  - a new thread starts at V with half a slice to its deadline
    (PLACE_DEADLINE_INITIAL); a waking one keeps its lag: it enters at
    V - lag * (W + w) / W (PLACE_LAG);
  - a woken thread preempts when it is eligible and its deadline is the
    earliest, the running thread's included (RUN_TO_PARITY off).
Times are ns; ``Costs.zero()`` makes switches free, so numbers are exact.
"""

import random

import pytest

import pykernel as pk
from conftest import assert_time_conserved

MS = 1_000_000
LONG = 10**12


def eevdf_kernel(cpus=1, seed=0, **kw):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.EEVDF(**kw), costs=pk.Costs.zero(), seed=seed)


def spin(name="spin"):
    return pk.Program.script(name, [pk.op.compute(LONG)])


def cpu_of(p):
    return p.stats.cpu_time


def state(p):
    return p.threads[0].state


# ---- service -------------------------------------------------------------------------

def test_equal_weight_threads_get_equal_service():
    # Three nice-0 threads, slice 0.75 ms: first deadlines are half a slice
    # (0.375 ms each, in spawn order), then each runs 0.75 ms in turn. At
    # 1.125 ms + k * 2.25 ms every one has run 0.375 ms + k * 0.75 ms;
    # k = 1332: 2,998.125 ms -> 999.375 ms each.
    k = eevdf_kernel(scale="none")
    ps = [k.spawn(spin()) for _ in range(3)]
    k.run(until=2_998_125_000)
    assert [cpu_of(p) for p in ps] == [999_375_000] * 3


def test_nice0_and_nice5_share_one_cpu_1024_to_335():
    # 10 s * 1024 / 1359 = 7,534,952,171 ns; 10 s * 335 / 1359 = 2,465,047,829 ns.
    k = eevdf_kernel()
    a, b = k.spawn(spin(), nice=0), k.spawn(spin(), nice=5)
    k.run(until=10_000 * MS)
    assert cpu_of(a) == pytest.approx(7_534_952_171, rel=0.02)
    assert cpu_of(b) == pytest.approx(2_465_047_829, rel=0.02)


def test_first_deadline_is_half_a_slice_then_whole_slices():
    # slice 2 ms: A and B start at V with deadlines 1 ms of vruntime away
    # (PLACE_DEADLINE_INITIAL): A runs [0, 1), B [1, 2); both then have
    # vruntime 1 ms and deadline 3 ms: A (queued first) runs [2, 4).
    k = eevdf_kernel(slice=2 * MS, scale="none")
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=4 * MS)
    assert b.stats.first_run == 1 * MS
    assert (cpu_of(a), cpu_of(b)) == (3 * MS, 1 * MS)
    assert k.stats.context_switches == 3


def test_slice_scales_with_the_cpu_count():
    # 2 CPUs, log scaling: base slice 0.75 ms * 2 = 1.5 ms. Two threads
    # pinned to CPU 0 alternate 1.5 ms runs: 40 switches in 60 ms.
    assert pk.sched.EEVDF().scaled(2) == {"slice": 1_500_000}
    assert pk.sched.EEVDF().scaled(8) == {"slice": 3_000_000}
    k = eevdf_kernel(cpus=2)
    k.spawn(spin(), affinity={0})
    k.spawn(spin(), affinity={0})
    k.run(until=60 * MS)
    before = k.cpu_stats(0).switches
    k.run(until=120 * MS)
    assert k.cpu_stats(0).switches - before == 40


# ---- waking: lag and deadlines -----------------------------------------------------------

S = 3_350_000     # a base slice that makes nice 5's virtual slice whole: S * 1024 / 335 = 10,240,000


def lag_kernel(x_program):
    """W: nice 5, spins. X: nice 0, spawned second. Slice S."""
    k = eevdf_kernel(slice=S, scale="none")
    w = k.spawn(spin("W"), name="W", nice=5)
    x = k.spawn(pk.Program.script("X", x_program), name="X")
    return k, w, x


def test_waking_thread_with_an_earlier_deadline_preempts():
    # t=0: both start at V = 0; deadlines W 5,120,000, X 1,675,000: X runs
    # first and sleeps at once (lag 0). W runs alone; at 1.675 ms it
    # reaches its deadline: the next is 15,360,000. X wakes at 2.675 ms:
    # W's vruntime is 2,675,000 * 1024 / 335 = 8,176,716 = V; X enters at V
    # (lag 0) with deadline V + 3,350,000 = 11,526,716 < 15,360,000, and is
    # eligible: it preempts W at once.
    k, w, x = lag_kernel([pk.op.sleep(2_675_000), pk.op.compute(10 * MS)])
    k.run(until=2_675_001)
    assert (state(x), state(w)) == ("running", "ready")
    assert x.stats.wait == 0


def test_thread_with_negative_lag_is_not_picked_while_an_eligible_one_exists():
    # X runs first until its deadline 1,675,000 (t = 1.675 ms) and sleeps
    # there: V = 1,675,000 * 1024 / 1359 = 1,262,104, lag -412,896. W runs
    # from 1.675 ms: at 3.35 ms its vruntime reaches its deadline 5,120,000
    # and the next is 15,360,000; at 4.35 ms, when X wakes, its vruntime is
    # 2,675,000 * 1024 / 335 = 8,176,716 = V. X enters at V - lag * (335 +
    # 1024) / 335 = 8,176,716 + 1,675,001 = 9,851,717 with deadline
    # 13,201,717: earlier than W's 15,360,000, but X is not eligible (V is
    # now 9,438,820). So X does not preempt, and W keeps the CPU until its
    # deadline at 6.7 ms, when X is picked.
    k, w, x = lag_kernel([pk.op.compute(1_675_000), pk.op.sleep(2_675_000),
                          pk.op.compute(10 * MS)])
    k.run(until=4_350_001)
    assert (state(x), state(w)) == ("ready", "running")
    k.run(until=6_700_000)
    assert (state(x), state(w)) == ("ready", "running")
    assert x.stats.wait == 2_350_000
    k.run(until=6_700_001)
    assert (state(x), state(w)) == ("running", "ready")
    assert (cpu_of(x), cpu_of(w)) == (1_675_001, 5_025_000)


def test_lag_is_kept_across_a_sleep():
    # Two nice-0 threads, slice 2 ms. A runs [0, 1) and [2, 3) and sleeps
    # 1 ms at 3 ms: its vruntime is 2 ms, B's 1 ms, V = 1.5 ms, lag -0.5 ms.
    # At 4 ms B's vruntime is 2 ms = V; A enters at 2 + 0.5 * 2 = 3 ms
    # (deadline 5 ms), not eligible: B runs on to its deadline, 3 ms of
    # vruntime, at 5 ms; then both are at 3 ms and A (queued first) runs.
    k = eevdf_kernel(slice=2 * MS, scale="none")
    a = k.spawn(pk.Program.script("A", [pk.op.compute(2 * MS), pk.op.sleep(1 * MS),
                                        pk.op.compute(LONG)]))
    b = k.spawn(spin())
    k.run(until=5 * MS)
    assert (state(a), state(b)) == ("ready", "running")
    assert a.stats.wait == 1 * MS + 1 * MS        # [1, 2) before the sleep, [4, 5) after
    k.run(until=5 * MS + 1)
    assert state(a) == "running"


def test_yield_moves_the_deadline_a_slice_later():
    # Y computes 0.1 ms and yields, 5 times, beside H: each yield pushes Y's
    # deadline one slice later (yield_task_fair), so H runs in between.
    k = eevdf_kernel(scale="none")
    y = k.spawn(pk.Program.script("Y", [pk.op.loop(5, [pk.op.compute(100_000), pk.op.yield_()])]))
    h = k.spawn(spin())
    k.run(until=20 * MS)
    assert y.state == "exited"
    assert cpu_of(y) == 500_000
    assert cpu_of(h) > 0


# ---- changes at run time ----------------------------------------------------------------

def test_nice_change_while_running_moves_the_share():
    k = eevdf_kernel()
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=1_000 * MS)
    running = a if state(a) == "running" else b
    other = b if running is a else a
    r0, o0 = cpu_of(running), cpu_of(other)
    running.set_nice(5)
    k.run(until=10_000 * MS)
    assert cpu_of(other) - o0 == pytest.approx(9_000 * MS * 1024 / 1359, rel=0.02)
    assert cpu_of(running) - r0 == pytest.approx(9_000 * MS * 335 / 1359, rel=0.02)


def test_nice_change_while_queued_moves_the_share():
    k = eevdf_kernel()
    a, b = k.spawn(spin()), k.spawn(spin())
    k.run(until=1_000 * MS)
    queued = a if state(a) == "ready" else b
    other = b if queued is a else a
    q0, o0 = cpu_of(queued), cpu_of(other)
    queued.set_nice(-5)
    k.run(until=10_000 * MS)
    assert cpu_of(queued) - q0 == pytest.approx(9_000 * MS * 3121 / 4145, rel=0.02)
    assert cpu_of(other) - o0 == pytest.approx(9_000 * MS * 1024 / 4145, rel=0.02)


# ---- several CPUs, determinism ----------------------------------------------------------

@pytest.mark.parametrize("cpus,threads", [(2, 4), (3, 6), (4, 8)])
def test_threads_spread_over_cpus_and_share_fairly(cpus, threads):
    k = eevdf_kernel(cpus=cpus)
    ps = k.spawn_many(spin(), threads)
    k.run(until=2_000 * MS)
    assert k.fairness() == pytest.approx(1.0, abs=1e-3)
    for p in ps:
        assert cpu_of(p) == pytest.approx(2_000 * MS * cpus / threads, rel=0.02)
    assert_time_conserved(k)


def test_schedule_does_not_depend_on_the_treap_priorities():
    # The treap's shape comes from priorities drawn from the kernel's
    # seeded generator; the picks depend only on vruntimes and deadlines,
    # so every seed gives the same run (the digest covers every event and
    # switch).
    def run(seed):
        k = eevdf_kernel(cpus=3, seed=seed)
        k.spawn_many(pk.Program.script("w", [pk.op.loop(50, [pk.op.compute(300_000),
                                                              pk.op.sleep(700_000)])]), 7)
        k.spawn_many(spin(), 3, nice=3)
        k.spawn_many(spin(), 2, nice=-2)
        k.run(until=200 * MS)
        return k.digest()
    assert run(0) == run(1) == run(2) == run(12345)


@pytest.mark.parametrize("policy", [pk.sched.EEVDF(), pk.sched.CFS()], ids=repr)
def test_random_workload_keeps_every_invariant(policy):
    # Sleepers, spinners and short jobs on 3 CPUs; between runs, nice
    # changes, affinity changes and kills. Nothing may crash and time must
    # be conserved (tests/conftest.py).
    rng = random.Random(7)
    k = pk.Kernel(cpus=3, scheduler=policy, costs=pk.Costs(), seed=3)
    progs = [spin(),
             pk.Program.script("io", [pk.op.loop(200, [pk.op.compute(150_000), pk.op.io(400_000)])]),
             pk.Program.script("short", [pk.op.compute(2 * MS)]),
             pk.Program.script("y", [pk.op.loop(100, [pk.op.compute(50_000), pk.op.yield_()])])]
    procs = [k.spawn(rng.choice(progs), nice=rng.randint(-20, 19), at=rng.randrange(20 * MS))
             for _ in range(40)]
    for step in range(1, 40):
        k.run(until=step * 5 * MS)
        for p in rng.sample(procs, 4):
            if p.state in ("exited", "killed"):
                continue
            what = rng.randrange(3)
            if what == 0:
                p.set_nice(rng.randint(-20, 19))
            elif what == 1:
                p.set_affinity(rng.sample(range(3), rng.randint(1, 3)))
            elif rng.random() < 0.3:
                p.kill()
    assert_time_conserved(k)


# ---- bad input ----------------------------------------------------------------------------

@pytest.mark.parametrize("kw,exc", [
    ({"slice": -1}, ValueError), ({"slice": 0}, ValueError), ({"slice": 10**9 + 1}, ValueError),
    ({"slice": 7.5e5}, TypeError), ({"slice": "750000"}, TypeError), ({"slice": False}, TypeError),
    ({"scale": "lin"}, ValueError), ({"scale": None}, TypeError),
], ids=str)
def test_bad_parameters_are_rejected(kw, exc):
    with pytest.raises(exc):
        pk.sched.EEVDF(**kw)


def test_repr_and_equality():
    e = pk.sched.EEVDF(slice=1_000, scale="linear")
    assert repr(e) == "EEVDF(slice=1000, scale='linear')"
    assert e == pk.sched.EEVDF(slice=1_000, scale="linear")
    assert e != pk.sched.EEVDF()
    assert pk.sched.EEVDF() != pk.sched.CFS()
    assert pk.sched.EEVDF.per_cpu


def test_core_rejects_bad_parameters_without_crashing():
    class Broken(pk.sched.EEVDF):
        def _params(self):
            return [0, 7]
    with pytest.raises(pk.KernelError):
        pk.Kernel(scheduler=Broken())


# ---- per-thread slices (Linux 6.12 custom slices) ---------------------------
# Linux 6.12 (commit "sched/eevdf: Allow shorter slices to wakeup-preempt"
# and __setparam_fair in kernel/sched/syscalls.c): sched_attr.sched_runtime
# sets se->slice, clamped to 0.1 .. 100 ms; the virtual deadline is
# vruntime + slice * 1024 / weight, so a shorter slice gives an earlier
# deadline at the same weight.

US = 1_000


def periodic_among_hogs(slice_ns):
    """Four CPU hogs and a thread that computes 1 us after each 1 ms
    sleep, 100 times; its mean wait for the CPU per wake-up, and it."""
    k = eevdf_kernel()
    for _ in range(4):
        k.spawn(spin("hog"))
    per = k.spawn(pk.Program.script("per", [pk.op.sleep(MS), pk.op.compute(US)] * 100),
                  at=10 * MS, slice=slice_ns)
    k.run(until=400 * MS)
    return per.threads[0].stats.wait / 100, per


def test_short_slice_halves_the_wait_of_a_periodic_thread_among_hogs():
    default_wait, a = periodic_among_hogs(None)
    short_wait, b = periodic_among_hogs(100 * US)
    assert a.state == b.state == "exited"
    assert a.stats.cpu_time == b.stats.cpu_time == 100 * US
    assert short_wait * 2 <= default_wait


def test_short_slice_makes_a_woken_thread_preempt_where_the_default_does_not():
    # Base slice 3 ms. The hog arrives at 0 with vruntime v0 and deadline
    # v0 + 1.5 ms (half a slice, PLACE_DEADLINE_INITIAL). T arrives at
    # 1 ms with lag 0: vruntime V = v0 + 1 ms, deadline V + slice / 2.
    # Base slice: v0 + 2.5 ms, later than the hog's, so no preemption; at
    # 1.5 ms the hog reaches its deadline and is no longer eligible (V =
    # v0 + 1.25 ms), so T runs from 1.5 ms. A 0.2 ms slice: v0 + 1.1 ms,
    # earlier than the hog's: T preempts at 1 ms.
    for slice_ns, first_run in ((None, 1_500_000), (200 * US, 1 * MS)):
        k = eevdf_kernel(slice=3 * MS)
        hog = k.spawn(spin("hog"))
        t = k.spawn(pk.Program.script("t", [pk.op.compute(10 * US)]), at=1 * MS, slice=slice_ns)
        k.run(until=10 * MS)
        assert t.stats.first_run == first_run, slice_ns
        assert hog.threads[0].state == "running"


def test_set_slice_of_a_queued_thread_places_it_again():
    # Base slice 3 ms; A and B arrive at 0 with deadline v0 + 1.5 ms each
    # (PLACE_DEADLINE_INITIAL); A runs first. At 1 ms B, queued with lag
    # V - v0 = 0.5 ms, gets a 0.1 ms slice: it is dequeued and placed
    # again with its lag (vruntime v0) and the new deadline v0 + 0.1 ms,
    # earlier than A's: it preempts A at 1 ms. Without the change it runs
    # when A reaches its deadline, at 1.5 ms.
    for change, first_run in ((False, 1_500_000), (True, 1 * MS)):
        k = eevdf_kernel(slice=3 * MS)
        k.spawn(spin("A"))
        b = k.spawn(spin("B")).threads[0]
        k.run(until=1 * MS)
        if change:
            b.set_slice(100 * US)
        k.run(until=2 * MS)
        assert b.stats.first_run == first_run


def test_slice_is_refused_by_other_policies():
    k = pk.Kernel(scheduler=pk.sched.CFS(), costs=pk.Costs.zero())
    with pytest.raises(pk.errors.NotSupported):
        k.spawn(spin(), slice=100 * US)
    t = k.spawn(spin()).threads[0]
    with pytest.raises(pk.errors.NotSupported):
        t.set_slice(100 * US)
    assert len(k.processes) == 1


@pytest.mark.parametrize("ns", [1, 99_999, 100_000_001])
def test_slice_outside_linux_bounds_is_refused(ns):
    # __setparam_fair clamps sched_runtime to [NSEC_PER_MSEC / 10, NSEC_PER_MSEC * 100]
    k = eevdf_kernel()
    with pytest.raises(ValueError):
        k.spawn(spin(), slice=ns)
    assert len(k.processes) == 0


def test_slice_survives_snapshot_and_restore():
    def make():
        k = eevdf_kernel(cpus=2)
        for i in range(3):
            k.spawn(spin("hog"))
        k.spawn(pk.Program.script("per", [pk.op.sleep(MS), pk.op.compute(20 * US)] * 50),
                slice=100 * US)
        return k
    ref = make()
    ref.run(until=60 * MS)
    k = make()
    k.run(until=7 * MS)
    copy = pk.Kernel.restore(k.snapshot())
    copy.run(until=60 * MS)
    assert copy.digest() == ref.digest()
