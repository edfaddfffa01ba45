"""Changing a live thread's scheduling: nice, static priority, tickets,
class (like sched_setscheduler) and affinity (like sched_setaffinity)."""

import pytest

import pykernel as pk
from conftest import assert_cpu_time_conserved

C = pk.op.compute


def script(*ops):
    return pk.Program.script("w", list(ops))


def test_raising_the_priority_of_a_queued_thread_reorders_the_queue():
    k = pk.Kernel(scheduler=pk.sched.Priority(), costs=pk.Costs.zero())
    a = k.spawn(script(C(10)), priority=5)
    b = k.spawn(script(C(10)), priority=5)
    c = k.spawn(script(C(10)), priority=5)
    k.run(until=1)                       # A runs, B and C queued in that order
    c.set_priority(1)
    k.run()
    assert (a.stats.finish, c.stats.finish, b.stats.finish) == (10, 20, 30)
    assert c.threads[0].priority == 1


def test_lowering_the_running_threads_priority_lets_a_better_one_in():
    k = pk.Kernel(scheduler=pk.sched.Priority(preemptive=True), costs=pk.Costs.zero())
    a = k.spawn(script(C(10)), priority=1)
    b = k.spawn(script(C(10)), priority=5)
    k.run(until=4)
    a.set_priority(9)
    k.run()
    assert (b.stats.finish, a.stats.finish) == (14, 20)


def test_making_a_queued_thread_real_time_preempts_the_running_one():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=100), costs=pk.Costs.zero())
    a = k.spawn(script(C(50)))
    b = k.spawn(script(C(20)))
    k.run(until=10)
    b.set_policy("fifo", rt_priority=1)
    assert b.threads[0].policy == "fifo"
    k.run()
    assert (b.stats.finish, a.stats.finish) == (30, 70)


def test_a_running_real_time_thread_made_fair_again_shares_the_cpu():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero())
    a = k.spawn(script(C(100)), policy="rr", rt_priority=5)
    b = k.spawn(script(C(20)))
    k.run(until=50)
    assert b.stats.first_run is None
    a.set_policy("other")
    k.run()
    # at 50 A re-enters the fair class at the tail, behind B (queued since 0):
    # B 50-60, A 60-70, B 70-80, A 80-120
    assert b.stats.first_run == 50
    assert (b.stats.finish, a.stats.finish) == (80, 120)
    assert_cpu_time_conserved(k)


def test_changing_affinity_of_a_running_thread_moves_it():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=1000), runqueues="per-cpu",
                  costs=pk.Costs.zero(), balance_interval=0)
    a = k.spawn(script(C(100)), cpu=0)
    k.run(until=10)
    a.set_affinity({1})
    k.run(until=11)
    t = a.threads[0]
    assert (t.cpu, t.run_queue, t.stats.migrations) == (1, 1, 1)
    k.run()
    assert a.stats.finish == 100
    assert k.cpu_stats(0).busy == 10 and k.cpu_stats(1).busy == 90


def test_changing_affinity_of_a_queued_thread_moves_it():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=1000), runqueues="per-cpu",
                  costs=pk.Costs.zero(), balance_interval=0)
    k.spawn(script(C(100)), cpu=0)
    k.spawn(script(C(100)), cpu=1)
    b = k.spawn(script(C(10)), cpu=0)
    k.run(until=5)
    b.set_affinity([1])
    assert b.threads[0].run_queue == 1
    k.run()
    assert b.stats.finish == 110             # behind the thread running on CPU 1


def test_nice_and_tickets_are_recorded():
    k = pk.Kernel(costs=pk.Costs.zero())
    p = k.spawn(script(C(10)))
    t = p.threads[0]
    t.set_nice(7)
    t.set_tickets(300)
    assert (t.nice, t.tickets) == (7, 300)
    p.set_nice(-3)
    assert t.nice == -3


@pytest.mark.parametrize("call, error", [
    (lambda t: t.set_nice(20), ValueError),
    (lambda t: t.set_nice(-21), ValueError),
    (lambda t: t.set_nice(1.5), TypeError),
    (lambda t: t.set_tickets(0), ValueError),
    (lambda t: t.set_policy("rr"), ValueError),
    (lambda t: t.set_policy("rr", rt_priority=100), ValueError),
    (lambda t: t.set_affinity([]), ValueError),
])
def test_bad_changes_are_refused(call, error):
    k = pk.Kernel(cpus=2, costs=pk.Costs.zero(), runqueues="per-cpu")
    t = k.spawn(script(C(10))).threads[0]
    with pytest.raises(error):
        call(t)


def test_changing_an_exited_thread_is_a_bad_state():
    k = pk.Kernel(costs=pk.Costs.zero())
    p = k.spawn(script(C(10)))
    k.run()
    with pytest.raises(pk.BadState):
        p.threads[0].set_nice(1)


def test_priority_outside_the_levels_is_refused_at_run_time():
    k = pk.Kernel(scheduler=pk.sched.Priority(), costs=pk.Costs.zero())
    p = k.spawn(script(C(10)))
    with pytest.raises(pk.OutOfRange):
        p.threads[0].set_priority(140)
