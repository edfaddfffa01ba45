"""The real-time scheduling classes SCHED_FIFO and SCHED_RR.

Rules from man 7 sched ("SCHED_FIFO: First in-first out scheduling",
"SCHED_RR: Round-robin scheduling") and Linux's defaults: RR time slice
100 ms (sched_rr_timeslice_ms), real-time throttling 950 ms per 1 s
(sched_rt_runtime_us / sched_rt_period_us). Real-time threads always run
before threads of the kernel's own policy ("other"). Costs are zero so
that the times below are exact.
"""

import pytest

import pykernel as pk
from conftest import assert_cpu_time_conserved

MS = 1_000_000


def script(*ops):
    return pk.Program.script("rt", list(ops))


def kernel(**kw):
    return pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero(), **kw)


C = pk.op.compute


def test_real_time_thread_preempts_a_fair_thread_at_once():
    k = kernel()
    fair = k.spawn(script(C(100)))
    rt = k.spawn(script(C(20)), at=30, policy="fifo", rt_priority=10)
    k.run()
    assert (rt.stats.first_run, rt.stats.finish) == (30, 50)
    assert fair.stats.finish == 120


def test_fair_thread_never_preempts_a_real_time_thread():
    k = kernel()
    rt = k.spawn(script(C(100)), policy="rr", rt_priority=1)
    fair = k.spawn(script(C(5)), at=10)
    k.run()
    assert rt.stats.finish == 100
    assert fair.stats.first_run == 100


def test_preempted_fifo_thread_stays_at_the_head_of_its_list():
    # man 7 sched: "A SCHED_FIFO thread that has been preempted by another
    # thread of higher priority will stay at the head of the list for its
    # priority and will resume execution as soon as all threads of higher
    # priority are blocked again."
    k = kernel()
    a = k.spawn(script(C(50)), policy="fifo", rt_priority=10)
    b = k.spawn(script(C(10)), at=5, policy="fifo", rt_priority=10)
    c = k.spawn(script(C(10)), at=20, policy="fifo", rt_priority=20)
    k.run()
    assert c.stats.finish == 30          # preempts A at 20
    assert a.stats.finish == 60          # A resumes before B, which waited since 5
    assert b.stats.finish == 70


def test_preempted_rr_thread_resumes_at_the_head_with_its_unexpired_quantum():
    # man 7 sched: "A SCHED_RR thread that has been preempted by a higher
    # priority thread and subsequently resumes execution as a running
    # thread will complete the unexpired portion of its round-robin time
    # quantum."  R1 runs 0..4, H 4..7, R1 7..13 (the 6 left of its 10),
    # R2 13..23, R1 23..33.  At the tail R2 would run at 7; with a fresh
    # quantum R1 would run to 17.
    k = kernel(rt_slice=10)
    r1 = k.spawn(script(C(20)), policy="rr", rt_priority=10)
    r2 = k.spawn(script(C(10)), policy="rr", rt_priority=10)
    h = k.spawn(script(C(3)), at=4, policy="fifo", rt_priority=20)
    k.run()
    assert (h.stats.first_run, h.stats.finish) == (4, 7)
    assert (r2.stats.first_run, r2.stats.finish) == (13, 23)
    assert r1.stats.finish == 33
    assert r1.stats.involuntary_switches == 2      # preempted at 4, slice over at 13


def test_rr_thread_preempted_twice_still_gets_one_quantum():
    # man 7 sched, as above: the unexpired portion, however often it is
    # preempted.  R1 0..3, H1 3..5, R1 5..8, H2 8..9, R1 9..13 (3+3+4 = 10),
    # R2 13..18, R1 18..28.
    k = kernel(rt_slice=10)
    r1 = k.spawn(script(C(20)), policy="rr", rt_priority=10)
    r2 = k.spawn(script(C(5)), policy="rr", rt_priority=10)
    k.spawn(script(C(2)), at=3, policy="fifo", rt_priority=20)
    k.spawn(script(C(1)), at=8, policy="fifo", rt_priority=20)
    k.run()
    assert (r2.stats.first_run, r2.stats.finish) == (13, 18)
    assert r1.stats.finish == 28


def test_fifo_thread_that_wakes_goes_to_the_tail():
    # man 7 sched: "When a blocked SCHED_FIFO thread becomes runnable, it
    # will be inserted at the end of the list for its priority."
    k = kernel()
    a = k.spawn(script(C(10), pk.op.io(5), C(10)), policy="fifo", rt_priority=10)
    b = k.spawn(script(C(20)), policy="fifo", rt_priority=10)
    c = k.spawn(script(C(20)), policy="fifo", rt_priority=10)
    k.run()
    # A wakes at 15 behind C (queued since 0): B 10..30, C 30..50, A 50..60
    assert (b.stats.finish, c.stats.finish, a.stats.finish) == (30, 50, 60)


def test_sched_yield_moves_a_fifo_thread_to_the_tail():
    # man 7 sched: "A thread calling sched_yield(2) will be put at the end
    # of the list."
    k = kernel()
    a = k.spawn(script(C(10), pk.op.yield_(), C(10)), policy="fifo", rt_priority=10)
    b = k.spawn(script(C(10)), policy="fifo", rt_priority=10)
    k.run()
    assert (b.stats.finish, a.stats.finish) == (20, 30)


def test_fifo_thread_of_equal_priority_is_not_preempted():
    k = kernel()
    a = k.spawn(script(C(50)), policy="fifo", rt_priority=10)
    b = k.spawn(script(C(10)), at=5, policy="fifo", rt_priority=10)
    k.run()
    assert (a.stats.finish, b.stats.finish) == (50, 60)


def test_sched_rr_slice_is_100_ms_by_default():
    # sched_rr_timeslice_ms defaults to 100 (Linux, kernel/sched/rt.c)
    k = kernel()
    a = k.spawn(script(C(250 * MS)), policy="rr", rt_priority=10)
    b = k.spawn(script(C(250 * MS)), policy="rr", rt_priority=10)
    k.run()
    # A 0-100, B 100-200, A 200-300, B 300-400, A 400-450, B 450-500
    assert (a.stats.finish, b.stats.finish) == (450 * MS, 500 * MS)
    assert a.stats.involuntary_switches == 2


def test_sched_rr_slice_is_configurable():
    k = kernel(rt_slice=30)
    a = k.spawn(script(C(50)), policy="rr", rt_priority=10)
    b = k.spawn(script(C(50)), policy="rr", rt_priority=10)
    k.run()
    # A 0-30, B 30-60, A 60-80, B 80-100
    assert (a.stats.finish, b.stats.finish) == (80, 100)


def test_higher_real_time_priority_preempts_lower():
    k = kernel()
    low = k.spawn(script(C(40)), policy="rr", rt_priority=10)
    high = k.spawn(script(C(10)), at=5, policy="fifo", rt_priority=50)
    k.run()
    assert (high.stats.first_run, high.stats.finish) == (5, 15)
    assert low.stats.finish == 50


def test_throttling_gives_fair_threads_50_ms_per_second():
    # sched_rt_runtime_us = 950000 of sched_rt_period_us = 1000000 (Linux defaults)
    k = kernel()
    rt = k.spawn(script(C(2000 * MS)), policy="fifo", rt_priority=10)
    fair = k.spawn(script(C(100 * MS)))
    k.run()
    # RT 0-950, fair 950-1000, RT 1000-1950, fair 1950-2000, RT 2000-2100 (ms)
    assert fair.stats.finish == 2000 * MS
    assert rt.stats.finish == 2100 * MS
    assert_cpu_time_conserved(k)


def test_throttled_cpu_idles_rather_than_run_real_time_threads():
    k = kernel()
    rt = k.spawn(script(C(2000 * MS)), policy="fifo", rt_priority=10)
    k.run()
    assert rt.stats.finish == 2100 * MS
    assert k.stats.idle == 100 * MS          # 950-1000 and 1950-2000


def test_throttling_can_be_turned_off():
    k = kernel(rt_throttle=False)
    rt = k.spawn(script(C(2000 * MS)), policy="fifo", rt_priority=10)
    fair = k.spawn(script(C(100 * MS)))
    k.run()
    assert (rt.stats.finish, fair.stats.finish) == (2000 * MS, 2100 * MS)


def test_custom_throttle_runtime_and_period():
    k = kernel(rt_throttle=(60, 100))
    rt = k.spawn(script(C(120)), policy="fifo", rt_priority=10)
    fair = k.spawn(script(C(80)))
    k.run()
    # RT 0-60, fair 60-100, RT 100-160, fair 160-200
    assert (rt.stats.finish, fair.stats.finish) == (160, 200)


def test_real_time_threads_with_python_bodies():
    def body(ctx):
        yield ctx.compute(10)
        yield ctx.sleep(5)
        yield ctx.compute(10)

    k = kernel()
    fair = k.spawn(script(C(30)))
    rt = k.spawn(pk.Program.python("rt", body), at=3, policy="rr", rt_priority=5)
    k.run()
    assert rt.stats.finish == 28                 # 3-13, sleeps 13-18, 18-28
    assert fair.stats.finish == 50


@pytest.mark.parametrize("kwargs, error", [
    ({"policy": "fifo"}, ValueError),                        # no rt_priority
    ({"policy": "rr", "rt_priority": 0}, ValueError),
    ({"policy": "rr", "rt_priority": 100}, ValueError),
    ({"policy": "other", "rt_priority": 5}, ValueError),
    ({"policy": "batch"}, ValueError),
    ({"policy": "fifo", "rt_priority": 5.0}, TypeError),
])
def test_bad_real_time_arguments_are_refused(kwargs, error):
    k = kernel()
    with pytest.raises(error):
        k.spawn(script(C(1)), **kwargs)


@pytest.mark.parametrize("throttle", [(0, 100), (101, 100), (5,), "yes"])
def test_bad_throttle_is_refused(throttle):
    with pytest.raises((ValueError, TypeError)):
        kernel(rt_throttle=throttle)


def test_thread_reports_its_class_and_priority():
    k = kernel()
    p = k.spawn(script(C(1)), policy="rr", rt_priority=42)
    q = k.spawn(script(C(1)))
    assert (p.threads[0].policy, p.threads[0].rt_priority) == ("rr", 42)
    assert (q.threads[0].policy, q.threads[0].rt_priority) == ("other", None)


def test_throttling_usage_is_forgotten_after_a_period_without_real_time_work():
    k = kernel()
    rt = k.spawn(script(C(900 * MS), pk.op.sleep(600 * MS), C(960 * MS)), policy="fifo", rt_priority=10)
    k.run()
    # 0-900 ms; asleep until 1500, in a new period: 1500-2000 (500 of 950), 2000-2460
    assert rt.stats.finish == 2460 * MS


def test_throttling_usage_carries_across_a_sleep_within_the_period():
    k = kernel()
    rt = k.spawn(script(C(900 * MS), pk.op.sleep(20 * MS), C(100 * MS)), policy="fifo", rt_priority=10)
    k.run()
    # 0-900, asleep 900-920, 920-970 uses the last 50 ms of 950, idle to 1000, 1000-1050
    assert rt.stats.finish == 1050 * MS
    assert k.stats.idle == 20 * MS + 30 * MS


def test_deadlocked_real_time_threads_end_the_run_with_deadlock():
    # the throttling period must not keep a run going when no real-time
    # thread can run
    op = pk.op
    k = kernel()
    a = k.spawn(script(op.lock(0x100), op.yield_(), op.lock(0x200)), policy="fifo", rt_priority=10)
    b = k.spawn(script(op.lock(0x200), op.yield_(), op.lock(0x100)), policy="fifo", rt_priority=10)
    a.share_futexes(b)
    r = k.run()
    assert (r.reason, k.now) == ("deadlock", 0)


def test_rr_threads_across_a_throttling_period():
    k = kernel(rt_slice=300 * MS)
    a = k.spawn(script(C(600 * MS)), policy="rr", rt_priority=10)
    b = k.spawn(script(C(600 * MS)), policy="rr", rt_priority=10)
    k.run()
    # A 0-300, B 300-600, A 600-900 (done), B 900-950: 950 ms used, idle to
    # 1000, then B's last 250 ms in the new period
    assert (a.stats.finish, b.stats.finish) == (900 * MS, 1250 * MS)
    assert k.stats.idle == 50 * MS
