import pytest
"""Policy semantics beyond the textbook tables: tie rules, quanta,
preemption, declared bursts, yields and livelock.

The rules come from the policy docstrings (pykernel/sched.py) and the
dispatcher contract (csrc/core/pk_dispatch.c, DESIGN.md "The public API"):
"When a thread arrives or wakes at the same instant that another's
quantum expires, the arriving thread is queued first." Every expected
value below is worked out by hand from those rules.
"""

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound


# ---- tie rule ------------------------------------------------------------------

def test_rr_arrival_at_quantum_expiry_is_queued_before_preempted(zero_kernel):
    # RR q=4. A=compute(8) at 0; C=compute(2) arrives at 4, the instant A's
    # quantum expires. Tie rule (DESIGN.md): C is queued first, so C runs
    # 4-6 and A resumes 6-10. (Queuing A first would run A 4-8, C 8-10.)
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(cpu_bound(8), name="A")
    c = k.spawn(cpu_bound(2), name="C", at=4)
    k.run()
    assert c.stats.first_run == 4
    assert c.stats.finish == 6
    assert a.stats.finish == 10
    assert a.stats.involuntary_switches == 1


def test_rr_wake_at_quantum_expiry_is_queued_before_preempted(zero_kernel):
    # RR q=4. B=[io(4), compute(2)] is dispatched first at 0 and blocks
    # until 4; A=compute(8) runs 0-4. B wakes at 4, the instant A's quantum
    # expires: tie rule (DESIGN.md) -> B runs 4-6, A 6-10.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    b = k.spawn(pk.Program.script("b", [pk.op.io(4), pk.op.compute(2)]), name="B")
    a = k.spawn(cpu_bound(8), name="A")
    k.run()
    assert b.stats.finish == 6
    assert b.stats.wait == 0
    assert a.stats.finish == 10
    assert a.stats.wait == 2


def test_rr_three_way_arrival_at_expiry_goes_between_queue_and_preempted(zero_kernel):
    # RR q=4. A=compute(8), B=compute(8) at 0; C=compute(2) arrives at 8
    # when B's quantum expires. Queue at 8: A (queued at 4), C (arrived),
    # B (preempted). So A 8-12, C 12-14, B 14-18.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(cpu_bound(8), name="A")
    b = k.spawn(cpu_bound(8), name="B")
    c = k.spawn(cpu_bound(2), name="C", at=8)
    k.run()
    assert [a.stats.finish, c.stats.first_run, c.stats.finish, b.stats.finish] == [12, 12, 14, 18]


# ---- round robin ------------------------------------------------------------------

def test_rr_lone_thread_keeps_cpu_after_quantum(zero_kernel):
    # sched.RoundRobin: an expired thread goes to the tail only "if another
    # thread is ready". Alone, compute(10) with q=4 runs 0-10 in one
    # dispatch and is never preempted.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(cpu_bound(10))
    r = k.run()
    assert a.stats.finish == 10
    assert a.stats.involuntary_switches == 0
    assert r.switches == 1


def test_rr_arrival_mid_quantum_waits_for_quantum_end(zero_kernel):
    # RR q=4, A=compute(10) alone runs quanta [0,4) and [4,8). B arrives at
    # 5 (mid-quantum, no preemption in RR): it runs at 8, when A's quantum
    # expires. B=compute(2) runs 8-10, A resumes 10-12.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(2), name="B", at=5)
    k.run()
    assert b.stats.first_run == 8
    assert b.stats.wait == 3
    assert a.stats.finish == 12


def test_rr_fresh_quantum_after_wakeup(zero_kernel):
    # RR q=4 ("a thread gets a fresh quantum each time it is dispatched").
    # A=[compute(2), io(1), compute(4)], B=compute(10).
    # A 0-2, blocks until 3; B 2-6 (A waits from 3, queued); A gets a full
    # quantum 6-10 and finishes its compute(4) exactly at 10; B 10-16.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(pk.Program.script("a", [pk.op.compute(2), pk.op.io(1), pk.op.compute(4)]), name="A")
    b = k.spawn(cpu_bound(10), name="B")
    k.run()
    assert a.stats.finish == 10
    assert a.stats.involuntary_switches == 0
    assert a.stats.wait == 3
    assert b.stats.finish == 16


# ---- FIFO and yield -------------------------------------------------------------------

def test_fifo_yield_moves_thread_behind_ready_ones(zero_kernel):
    # sched.FIFO: a thread runs until it blocks, yields or exits; op.yield_
    # gives the CPU to another ready thread. A=[compute(2), yield, compute(2)],
    # B=compute(3): A 0-2, B 2-5, A 5-7.
    k = zero_kernel(pk.sched.FIFO())
    a = k.spawn(pk.Program.script("a", [pk.op.compute(2), pk.op.yield_(), pk.op.compute(2)]), name="A")
    b = k.spawn(cpu_bound(3), name="B")
    k.run()
    assert b.stats.first_run == 2
    assert a.stats.finish == 7
    assert a.stats.voluntary_switches == 1
    assert a.stats.involuntary_switches == 0


def test_yield_with_nothing_else_ready_keeps_cpu(zero_kernel):
    # op.yield_: gives the CPU "to another ready thread, if there is one".
    # Alone, [compute(2), yield, compute(2)] runs 0-4 in one dispatch, and
    # the yield is not counted as a switch (Stats docstring: "a yield that
    # let another thread run").
    k = zero_kernel(pk.sched.FIFO())
    a = k.spawn(pk.Program.script("a", [pk.op.compute(2), pk.op.yield_(), pk.op.compute(2)]))
    r = k.run()
    assert a.stats.finish == 4
    assert a.stats.voluntary_switches == 0
    assert r.switches == 1


# ---- priority ------------------------------------------------------------------------

def test_priority_nonpreemptive_better_arrival_waits(zero_kernel):
    # sched.Priority(preemptive=False): the running thread keeps the CPU.
    # A prio 5 compute(10) at 0; B prio 1 compute(2) at 3 -> B runs 10-12.
    k = zero_kernel(pk.sched.Priority(preemptive=False))
    a = k.spawn(cpu_bound(10), name="A", priority=5)
    b = k.spawn(cpu_bound(2), name="B", priority=1, at=3)
    k.run()
    assert a.stats.finish == 10
    assert b.stats.first_run == 10
    assert b.stats.finish == 12


def test_priority_preemptive_better_arrival_preempts(zero_kernel):
    # sched.Priority(preemptive=True): "a thread that becomes ready with a
    # strictly lower number preempts the running thread". Same workload:
    # A 0-3, B 3-5, A 5-12.
    k = zero_kernel(pk.sched.Priority(preemptive=True))
    a = k.spawn(cpu_bound(10), name="A", priority=5)
    b = k.spawn(cpu_bound(2), name="B", priority=1, at=3)
    k.run()
    assert b.stats.first_run == 3
    assert b.stats.finish == 5
    assert a.stats.finish == 12
    assert a.stats.involuntary_switches == 1


def test_priority_preemptive_equal_priority_does_not_preempt(zero_kernel):
    # "strictly lower number": equal priorities run in FIFO order.
    k = zero_kernel(pk.sched.Priority(preemptive=True))
    a = k.spawn(cpu_bound(10), name="A", priority=2)
    b = k.spawn(cpu_bound(2), name="B", priority=2, at=3)
    k.run()
    assert a.stats.finish == 10
    assert b.stats.first_run == 10


def test_priority_default_is_zero_the_best_level(zero_kernel):
    # sched.Priority: 140 levels 0..139 (the O(1) scheduler's range), lower
    # first; the default 0 is the best level, so B at 1 waits for A.
    k = zero_kernel(pk.sched.Priority())
    b = k.spawn(cpu_bound(5), name="B", priority=1)
    a = k.spawn(cpu_bound(5), name="A")
    k.run()
    assert a.stats.finish == 5
    assert b.stats.finish == 10


def test_priority_level_139_runs_last(zero_kernel):
    k = zero_kernel(pk.sched.Priority())
    last = k.spawn(cpu_bound(5), name="last", priority=139)
    mid = k.spawn(cpu_bound(5), name="mid", priority=70)
    k.run()
    assert (mid.stats.finish, last.stats.finish) == (5, 10)


@pytest.mark.parametrize("priority", [-1, 140])
def test_priority_outside_the_140_levels_is_refused(zero_kernel, priority):
    k = zero_kernel(pk.sched.Priority())
    with pytest.raises(ValueError, match="0..139"):
        k.spawn(cpu_bound(5), priority=priority)


# ---- SJF / STCF -----------------------------------------------------------------------

def test_sjf_declared_burst_overrides_script_total(zero_kernel):
    # sched.SJF: the burst is burst= given at spawn, else the script total.
    # A computes 10 but declares 1; B computes 2 (declared 2) -> A first.
    k = zero_kernel(pk.sched.SJF())
    b = k.spawn(cpu_bound(2), name="B")
    a = k.spawn(cpu_bound(10), name="A", burst=1)
    k.run()
    assert a.stats.first_run == 0
    assert b.stats.first_run == 10


def test_sjf_burst_of_script_counts_loops(zero_kernel):
    # Program.burst: loops multiply their body's compute. A = loop(3,
    # [compute(2)]) declares 6; B = compute(5) declares 5 -> B first.
    k = zero_kernel(pk.sched.SJF())
    a = k.spawn(pk.Program.script("a", [pk.op.loop(3, [pk.op.compute(2)])]), name="A")
    b = k.spawn(cpu_bound(5), name="B")
    k.run()
    assert b.stats.finish == 5
    assert a.stats.finish == 11


def test_sjf_equal_bursts_run_in_arrival_order(zero_kernel):
    # sched module docstring: ties are broken by the order in which threads
    # became ready.
    k = zero_kernel(pk.sched.SJF())
    procs = [k.spawn(cpu_bound(4), name=f"P{i}") for i in range(4)]
    k.run()
    assert [p.stats.finish for p in procs] == [4, 8, 12, 16]


def test_sjf_is_not_preemptive(zero_kernel):
    # sched.SJF is non-preemptive: A=compute(10) at 0 keeps the CPU when
    # B=compute(1) arrives at 2; B runs 10-11.
    k = zero_kernel(pk.sched.SJF())
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(1), name="B", at=2)
    k.run()
    assert a.stats.finish == 10
    assert b.stats.finish == 11


def test_stcf_equal_remaining_does_not_preempt(zero_kernel):
    # sched.STCF preempts on "strictly less remaining declared burst".
    # A=compute(10); at 2 its remaining is 8 and B=compute(8) arrives: no
    # preemption, B runs 10-18.
    k = zero_kernel(pk.sched.STCF())
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(8), name="B", at=2)
    k.run()
    assert a.stats.finish == 10
    assert b.stats.first_run == 10
    assert a.stats.involuntary_switches == 0


def test_stcf_shorter_wakeup_preempts(zero_kernel):
    # sched.STCF: a *woken* thread with less remaining burst also preempts.
    # W=[compute(1), io(2), compute(1)] (burst 2) runs 0-1, sleeps on io
    # until 3; L=compute(10) runs 1-3 and is preempted at 3 (remaining 8 >
    # W's 1). W 3-4, L 4-12.
    k = zero_kernel(pk.sched.STCF())
    w = k.spawn(pk.Program.script("w", [pk.op.compute(1), pk.op.io(2), pk.op.compute(1)]), name="W")
    long_ = k.spawn(cpu_bound(10), name="L")
    k.run()
    assert w.stats.finish == 4
    assert long_.stats.finish == 12
    assert long_.stats.involuntary_switches == 1
    assert_time_conserved(k)


# ---- livelock -------------------------------------------------------------------------

def test_yielding_forever_stops_with_livelock(zero_kernel):
    # Kernel docstring: livelock_steps units of host work at one simulated
    # instant (plus 64 per thread) stop the run with reason "livelock".
    # Two scripts that only yield, with free switches, never advance time.
    k = zero_kernel(pk.sched.FIFO(), livelock_steps=1000)
    spinner = pk.Program.script("spin", [pk.op.loop(10**15, [pk.op.yield_()])])
    a = k.spawn(spinner)
    b = k.spawn(spinner)
    r = k.run()
    assert r.reason == "livelock"
    assert r.now == 0
    assert a.state == "alive" and b.state == "alive"


def test_zero_time_loop_stops_with_livelock(zero_kernel):
    # A loop of zero-length computes never advances time either.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4), livelock_steps=500)
    k.spawn(pk.Program.script("busy", [pk.op.loop(10**15, [pk.op.compute(0)])]))
    r = k.run()
    assert r.reason == "livelock"
    assert r.now == 0
