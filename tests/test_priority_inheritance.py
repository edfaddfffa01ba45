"""Priority inheritance for futex mutexes (csrc/obj/pk_pi.c).

The protocol is the basic priority-inheritance protocol of Sha, Rajkumar
and Lehoczky ("Priority Inheritance Protocols: An Approach to Real-Time
Synchronization", IEEE Transactions on Computers 39(9), 1990): a thread
holding a mutex that a more urgent thread waits for runs with that
thread's priority, transitively along chains of owners, until it
releases the mutex. Linux implements it in rt_mutex (futex(2),
FUTEX_LOCK_PI; pthread_mutexattr_setprotocol(3), PTHREAD_PRIO_INHERIT),
and its absence is the priority inversion that reset the Mars
Pathfinder lander in 1997 (G. Reeves, "What really happened on Mars?",
1997: a low-priority task held a VxWorks mutex the high-priority
bus-management task needed while medium-priority tasks ran).

The classic scenario (OSTEP ch. 28 "Priority inversion", Silberschatz
§6.6 "Priority Inversion"): low locks and computes 10 ns; high arrives at
2 and waits for the lock; medium, CPU-bound for 100 ns, arrives at 3.
Without inheritance medium runs first and high finishes at 115; with it
low finishes its critical section at 10 and high runs 10..15. Times are
exact with Costs.zero()."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op
M, M2 = 64, 128


def shared(k, specs):
    """Spawn (program, spawn kwargs) pairs sharing the first one's futexes."""
    ps = [k.spawn(prog, **kw) for prog, kw in specs]
    for p in ps[1:]:
        p.share_futexes(ps[0])
    return ps


def inversion(inherit, policy="fifo", after=()):
    """The classic three-thread scenario under real-time priorities 10, 30
    and 20 (SCHED_FIFO, man 7 sched: higher rt_priority preempts)."""
    k = make_kernel(pk.sched.CFS())
    low = pk.Program.script("low", [op.lock(M, inherit=inherit), op.compute(10), op.unlock(M),
                                    *after])
    high = pk.Program.script("high", [op.lock(M, inherit=inherit), op.compute(5), op.unlock(M)])
    medium = pk.Program.script("medium", [op.compute(100)])
    ps = shared(k, [(low, dict(policy=policy, rt_priority=10 if policy == "fifo" else None)),
                    (high, dict(at=2, policy="fifo", rt_priority=30)),
                    (medium, dict(at=3, policy="fifo", rt_priority=20))])
    return k, ps


def test_without_inheritance_medium_delays_high_priority_inversion():
    k, (low, high, medium) = inversion(False)
    k.run()
    assert (low.stats.finish, high.stats.finish, medium.stats.finish) == (110, 115, 103)


def test_with_inheritance_high_gets_the_lock_after_lows_critical_section():
    k, (low, high, medium) = inversion(True)
    k.run()
    assert (low.stats.finish, high.stats.finish, medium.stats.finish) == (10, 15, 115)


def test_the_holder_runs_with_the_waiters_priority_while_it_waits():
    k, (low, high, medium) = inversion(True, after=[op.compute(5)])
    k.run(until=5)
    t = low.threads[0]
    assert (t.policy, t.rt_priority, t.boosted) == ("fifo", 30, True)
    assert high.threads[0].state == "waiting" and t.state == "running"


def test_the_holder_gets_its_own_priority_back_when_it_unlocks():
    k, (low, high, medium) = inversion(True, after=[op.compute(5)])
    k.run(until=12)                                 # low unlocked at 10; high runs 10..15
    t = low.threads[0]
    assert (t.rt_priority, t.boosted, t.state) == (10, False, "ready")
    k.run()
    assert (high.stats.finish, medium.stats.finish, low.stats.finish) == (15, 115, 120)


def test_a_real_time_waiter_lifts_a_fair_holder_into_sched_fifo():
    # Linux's rt_mutex_setprio moves a boosted SCHED_OTHER task to the RT class
    k, (low, high, medium) = inversion(True, policy="other", after=[op.compute(5)])
    k.run(until=5)
    assert (low.threads[0].policy, low.threads[0].rt_priority) == ("fifo", 30)
    k.run(until=12)
    assert (low.threads[0].policy, low.threads[0].rt_priority) == ("other", None)
    k.run()
    assert high.stats.finish == 15


def test_inheritance_is_transitive_along_a_chain_of_owners():
    # a holds m; b holds m2 and waits for m; c waits for m2: a runs at c's 30
    k = make_kernel(pk.sched.CFS())
    a = pk.Program.script("a", [op.lock(M, True), op.compute(10), op.unlock(M)])
    b = pk.Program.script("b", [op.lock(M2, True), op.lock(M, True), op.compute(5), op.unlock(M),
                                op.unlock(M2)])
    c = pk.Program.script("c", [op.lock(M2, True), op.compute(5), op.unlock(M2)])
    d = pk.Program.script("d", [op.compute(100)])
    pa, pb, pc, pd = shared(k, [(a, dict(policy="fifo", rt_priority=10)),
                                (b, dict(at=1, policy="fifo", rt_priority=20)),
                                (c, dict(at=2, policy="fifo", rt_priority=30)),
                                (d, dict(at=3, policy="fifo", rt_priority=25))])
    k.run(until=5)
    assert [p.threads[0].rt_priority for p in (pa, pb, pc)] == [30, 30, 30]
    k.run()
    # a's section ends at 10, b's at 15, c's at 20; d (25) only then
    assert [p.stats.finish for p in (pa, pb, pc, pd)] == [10, 15, 20, 120]


def test_without_inheritance_the_chain_waits_for_the_cpu_hog():
    k = make_kernel(pk.sched.CFS())
    a = pk.Program.script("a", [op.lock(M), op.compute(10), op.unlock(M)])
    b = pk.Program.script("b", [op.lock(M2), op.lock(M), op.compute(5), op.unlock(M), op.unlock(M2)])
    c = pk.Program.script("c", [op.lock(M2), op.compute(5), op.unlock(M2)])
    d = pk.Program.script("d", [op.compute(100)])
    pa, pb, pc, pd = shared(k, [(a, dict(policy="fifo", rt_priority=10)),
                                (b, dict(at=1, policy="fifo", rt_priority=20)),
                                (c, dict(at=2, policy="fifo", rt_priority=30)),
                                (d, dict(at=3, policy="fifo", rt_priority=25))])
    k.run()
    assert [p.stats.finish for p in (pa, pb, pc, pd)] == [110, 115, 120, 103]


def test_under_the_priority_policy_the_holder_inherits_the_static_priority():
    # pk.sched.Priority: lower number = higher priority (Silberschatz §5.3.4)
    k = make_kernel(pk.sched.Priority(preemptive=True))
    low = pk.Program.script("low", [op.lock(M, True), op.compute(10), op.unlock(M),
                                    op.compute(5)])
    high = pk.Program.script("high", [op.lock(M, True), op.compute(5), op.unlock(M)])
    medium = pk.Program.script("medium", [op.compute(100)])
    pl, ph, pm = shared(k, [(low, dict(priority=30)), (high, dict(at=2, priority=10)),
                            (medium, dict(at=3, priority=20))])
    k.run(until=5)
    assert (pl.threads[0].priority, pl.threads[0].boosted) == (10, True)
    k.run()
    assert (pl.threads[0].priority, ph.stats.finish, pm.stats.finish) == (30, 15, 115)


def test_fair_waiters_do_not_boost_a_fair_holder():
    # as in Linux, where CFS weights come from the static nice, not from prio
    k = make_kernel(pk.sched.CFS())
    low = pk.Program.script("low", [op.lock(M, True), op.compute(100_000_000), op.unlock(M)])
    high = pk.Program.script("high", [op.lock(M, True), op.compute(5), op.unlock(M)])
    pl, ph = shared(k, [(low, dict(nice=19)), (high, dict(at=2, nice=-20))])
    k.run(until=20_000_000)                         # 20 ms: high has run and waits
    assert (pl.threads[0].boosted, pl.threads[0].nice, ph.threads[0].state) == (False, 19, "waiting")


def test_a_waiter_that_times_out_takes_its_priority_back():
    k = make_kernel(pk.sched.CFS())
    low = pk.Program.script("low", [op.lock(M, True), op.compute(10), op.unlock(M)])
    high = pk.Program.script("high", [op.lock(M, True, timeout=3), op.compute(1)])
    medium = pk.Program.script("medium", [op.compute(100)])
    pl, ph, pm = shared(k, [(low, dict(policy="fifo", rt_priority=10)),
                            (high, dict(at=2, policy="fifo", rt_priority=30)),
                            (medium, dict(at=8, policy="fifo", rt_priority=20))])
    k.run(until=4)
    assert pl.threads[0].rt_priority == 30
    k.run(until=7)                                  # high gave up at 5 and ended at 6
    assert (pl.threads[0].rt_priority, pl.threads[0].boosted, ph.stats.finish) == (10, False, 6)
    k.run()                                         # medium preempts low at 8
    assert (pm.stats.finish, pl.stats.finish) == (108, 111)


def test_a_killed_waiter_takes_its_priority_back():
    k, (low, high, medium) = inversion(True)
    k.run(until=3)
    assert low.threads[0].rt_priority == 30
    high.kill()
    assert (low.threads[0].rt_priority, low.threads[0].boosted) == (10, False)


def test_a_run_time_change_of_a_boosted_thread_changes_its_own_priority():
    k, (low, high, medium) = inversion(True, after=[op.compute(5)])
    k.run(until=5)
    t = low.threads[0]
    t.set_policy("fifo", 5)                         # its own; the boost stays on top
    assert t.rt_priority == 30
    k.run(until=12)
    assert (t.rt_priority, t.boosted) == (5, False)


def test_a_python_body_locks_with_inheritance_too():
    k = make_kernel(pk.sched.CFS())

    def low(ctx):
        yield ctx.lock(M, inherit=True)
        yield ctx.compute(10)
        yield ctx.unlock(M)

    def high(ctx):
        yield ctx.lock(M, inherit=True)
        yield ctx.compute(5)
        yield ctx.unlock(M)

    pl, ph, pm = shared(k, [(pk.Program.python("low", low), dict(policy="fifo", rt_priority=10)),
                            (pk.Program.python("high", high), dict(at=2, policy="fifo", rt_priority=30)),
                            (pk.Program.script("medium", [op.compute(100)]),
                             dict(at=3, policy="fifo", rt_priority=20))])
    k.run()
    assert (pl.stats.finish, ph.stats.finish, pm.stats.finish) == (10, 15, 115)


def test_lock_inherit_must_be_a_bool():
    with pytest.raises(TypeError):
        op.lock(M, inherit=1)


def test_inheritance_runs_are_deterministic():
    digests = set()
    for _ in range(2):
        k, _ps = inversion(True)
        k.run()
        digests.add(k.digest())
    assert len(digests) == 1


def test_a_deadlock_between_inheriting_mutexes_is_still_reported():
    # Silberschatz §8.7.1: a cycle in the wait-for graph; the boost stops
    # going round it (at most 1024 links, Linux's max_lock_depth)
    k = make_kernel(pk.sched.CFS())
    a = pk.Program.script("a", [op.lock(M, True), op.compute(10), op.lock(M2, True)])
    b = pk.Program.script("b", [op.lock(M2, True), op.compute(10), op.lock(M, True)])
    pa, pb = shared(k, [(a, dict(policy="fifo", rt_priority=10)),
                        (b, dict(at=1, policy="fifo", rt_priority=20))])
    k.run(until=1_000)
    assert [len(cycle) for cycle in k.deadlocks()] == [2]
    assert [p.threads[0].rt_priority for p in (pa, pb)] == [20, 20]


def test_the_inheritance_entry_points_refuse_bad_arguments():
    from pykernel._ffi import ffi, lib
    k = make_kernel()
    k.spawn(pk.Program.script("i", [op.sleep(1)]))
    assert lib.pk_mutex_mark_pi(k._kp, 99, M) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_mutex_mark_pi(k._kp, 0, 6) == lib.PK_ERR_INVALID_ARGS
    u = ffi.new("uint32_t[2]")
    p = ffi.new("int32_t *")
    assert lib.pk_thread_pi_base(k._kp, 99, u, u + 1, p) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_pi_base(k._kp, 0, ffi.NULL, u + 1, p) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_pi_base(k._kp, 0, u, u + 1, p) == lib.PK_ERR_BAD_STATE


def test_a_pi_mutex_word_also_used_as_a_semaphore_can_be_taken_again_safely():
    # found by fuzzing (fuzz/corpus/script/regression-pi-mutex-taken-twice):
    # sem_wait on the word of a held mutex takes the lock's value as a
    # count and leaves 0, so the owner's next lock takes it again; each time
    # the mutex was appended to the held list, written past its end after 8.
    # The first sem_wait times out at 30 ns; the nine others find the word
    # set by the lock and return at once.
    k = make_kernel(pk.sched.FIFO())
    op = pk.op
    p = k.spawn(pk.Program.script("mixed", [
        op.loop(10, [op.sem_wait(36, timeout=30), op.lock(36, inherit=True, timeout=50)])]))
    assert k.run().reason == "idle"
    assert (p.exit_code, k.now) == (0, 30)
