"""Context-switch cost: Costs(switch=ns).

pykernel/costs.py: the switch time "is charged to the CPU as overhead,
not to either thread, and the incoming thread starts running when it
ends". Stats: wait includes "the context switch that finally brings the
thread in". A switch happens each time a CPU starts running a thread it
was not already running, including from idle (csrc/core/pk_dispatch.c
switch_to). Expected values are worked out by hand from these rules.
"""

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound, spawn_bursts


def test_default_switch_cost_is_800ns():
    # Costs docstring, docs/references.md [pk-host]: ~0.8 µs per switch
    # (sched_yield pairs at 1.6 µs).
    assert pk.Costs().switch == 800
    assert pk.Costs.zero().switch == 0
    assert pk.Kernel().costs == pk.Costs()


def test_fcfs_textbook_with_switch_cost_100(zero_kernel):
    # FCFS 24, 3, 3 with switch=100:
    #   0-100 switch to P1, P1 100-124; 124-224 switch to P2, P2 224-227;
    #   227-327 switch to P3, P3 327-330.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    procs = spawn_bursts(k, [24, 3, 3])
    r = k.run()
    assert r.switches == 3
    assert r.elapsed == 330
    c = k.cpu_stats(0)
    assert (c.busy, c.idle, c.overhead, c.switches) == (30, 0, 300, 3)
    assert [p.stats.wait for p in procs] == [100, 224, 327]
    assert [p.stats.first_run for p in procs] == [100, 224, 327]
    assert [p.stats.finish for p in procs] == [124, 227, 330]
    assert_time_conserved(k)


def test_rr_textbook_with_switch_cost_1(zero_kernel):
    # RR q=4, bursts 24, 3, 3, switch=1:
    #   0-1 sw, P1 1-5; 5-6 sw, P2 6-9; 9-10 sw, P3 10-13; 13-14 sw,
    #   P1 14-34 (alone: no more switches).
    # Waits: P1 1 + (14-5) = 10, P2 6, P3 10.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4), costs=pk.Costs(switch=1))
    procs = spawn_bursts(k, [24, 3, 3])
    r = k.run()
    assert r.switches == 4
    assert r.elapsed == 34
    assert k.stats.overhead == 4
    assert [p.stats.wait for p in procs] == [10, 6, 10]
    assert [p.stats.finish for p in procs] == [34, 9, 13]
    assert_time_conserved(k)


def test_rr_lone_thread_pays_one_switch(zero_kernel):
    # compute(10), q=4, switch=5: one switch from idle, then it keeps the
    # CPU through expired quanta. Ends at 15.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4), costs=pk.Costs(switch=5))
    p = k.spawn(cpu_bound(10))
    r = k.run()
    assert r.switches == 1
    assert r.elapsed == 15
    assert p.stats.wait == 5
    assert p.stats.cpu_time == 10


def test_switch_back_in_after_io_costs_again(zero_kernel):
    # [compute(2), io(10), compute(3)] alone, switch=5:
    # 0-5 sw, 5-7 run, blocked 7-17, 17-22 sw, 22-25 run.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=5))
    p = k.spawn(pk.Program.script("io", [pk.op.compute(2), pk.op.io(10), pk.op.compute(3)]))
    k.run()
    assert p.stats.finish == 25
    assert (p.stats.cpu_time, p.stats.wait, p.stats.blocked) == (5, 10, 10)
    c = k.cpu_stats(0)
    assert (c.busy, c.idle, c.overhead, c.switches) == (5, 10, 10, 2)


def test_yield_to_another_thread_costs_a_switch(zero_kernel):
    # FIFO, switch=2. A=[compute(1), yield, compute(1)], B=compute(1):
    # 0-2 sw, A 2-3, 3-5 sw, B 5-6, 6-8 sw, A 8-9.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=2))
    a = k.spawn(pk.Program.script("a", [pk.op.compute(1), pk.op.yield_(), pk.op.compute(1)]))
    b = k.spawn(cpu_bound(1))
    r = k.run()
    assert r.switches == 3
    assert (a.stats.finish, b.stats.finish) == (9, 6)
    assert (a.stats.wait, b.stats.wait) == (2 + 5, 5)
    assert k.stats.overhead == 6


def test_stats_while_switching_in(zero_kernel):
    # switch=100, compute(10): at t=40 the CPU is mid-switch. The thread has
    # not run yet (first_run hidden, cpu_time 0), it has waited 40, and the
    # CPU has 40 of overhead so far.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    p = k.spawn(cpu_bound(10))
    k.run(until=40)
    t = p.threads[0]
    assert t.stats.first_run is None
    assert t.stats.cpu_time == 0
    assert t.stats.wait == 40
    c = k.cpu_stats(0)
    assert (c.busy, c.idle, c.overhead) == (0, 0, 40)
    k.run()
    assert p.stats.finish == 110
    assert p.stats.first_run == 100


def test_preemption_during_switch_in_waits_for_the_switch(zero_kernel):
    # Priority(preemptive=True), switch=10. L (prio 5, compute(20)) switches
    # in 0-10; H (prio 1, compute(3)) arrives at 5. L's switch completes,
    # then H preempts at 10: 10-20 switch to H, H 20-23, 23-33 switch to L,
    # L 33-53.
    k = zero_kernel(pk.sched.Priority(preemptive=True), costs=pk.Costs(switch=10))
    low = k.spawn(cpu_bound(20), name="L", priority=5)
    high = k.spawn(cpu_bound(3), name="H", priority=1, at=5)
    k.run()
    assert high.stats.first_run == 20
    assert high.stats.finish == 23
    assert low.stats.finish == 53
    assert k.stats.overhead == 30
    assert_time_conserved(k)


def test_default_object_call_costs_are_200ns_and_150ns_per_wakeup():
    # docs/tools.md, "Calibration", docs/references.md [pk-host]: a pipe write + read in one
    # thread, 0.40 us; (2.7 - 2 x 0.8 - 4 x 0.2) / 2 per wake-up
    c = pk.Costs()
    assert (c.syscall, c.wakeup) == (200, 150)
    assert (pk.Costs.zero().syscall, pk.Costs.zero().wakeup) == (0, 0)


def test_object_call_costs_are_checked():
    with pytest.raises(ValueError, match="Costs.syscall must be"):
        pk.Costs(syscall=-1)
    with pytest.raises(TypeError, match="Costs.wakeup must be an int"):
        pk.Costs(wakeup=1.5)


def test_script_write_and_read_take_syscall_cpu_time():
    op = pk.op
    k = pk.Kernel(costs=pk.Costs(switch=0, syscall=30, wakeup=7))
    p = k.spawn(pk.Program.script("w", [op.write(0, 4), op.read(1)]))
    p.channel_create()
    k.run()
    # a write on one end, a read of it on the other that does not wait
    assert p.stats.cpu_time == 2 * 30
