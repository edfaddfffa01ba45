"""Branching: one snapshot restored several times, under other
scheduling policies or cost models, gives futures that differ from an
identical past (docs/snapshot.md, "Branching").

Under a new policy the ready threads of the fair class enter it as new
arrivals in the order they became ready, running ones are rescheduled at
once, blocked and sleeping ones enter it when they wake; real-time
threads keep their queues.
"""

import pytest

import pykernel as pk
from snapshot_workloads import CPU, LONG, SLEEPER, mixed, observe

WORK = {"cpu": 8 * 5_000, "sleeper": 6 * 2_000, "long": 60_000, "short": 9_000}


def warm(cpus=1, rt=False, **kw):
    k = pk.Kernel(cpus=cpus, scheduler=pk.sched.CFS(), seed=7, **kw)
    mixed(k, rt=rt)
    k.run(until=45_000)
    return k


def past(k):
    """What a kernel has done so far, without what depends on its policy
    (MLFQ level, Stride pass)."""
    o = observe(k)
    o["threads"] = [t[:9] + t[11:] for t in o["threads"]]
    return o


POLICIES = [pk.sched.FIFO(), pk.sched.RoundRobin(quantum=3_000), pk.sched.Priority(),
            pk.sched.Priority(preemptive=True), pk.sched.SJF(), pk.sched.STCF(),
            pk.sched.EEVDF(), pk.sched.MLFQ(quanta=(2_000, 4_000)),
            pk.sched.Lottery(quantum=2_000), pk.sched.Stride(quantum=2_000),
            pk.sched.EDF(), pk.sched.RateMonotonic(), pk.sched.CFS(latency=1_000_000)]


def test_two_branches_have_an_identical_past():
    data = warm().snapshot()
    rr = pk.Kernel.restore(data, scheduler=pk.sched.RoundRobin(quantum=3_000))
    fifo = pk.Kernel.restore(data, scheduler=pk.sched.FIFO())
    assert past(rr) == past(fifo)


def test_the_past_of_a_branch_is_the_original_past():
    k = warm(cpus=2, rt=True)
    branch = pk.Kernel.restore(k.snapshot(), scheduler=pk.sched.STCF())
    assert past(branch) == past(k)


def test_two_branches_have_different_futures():
    data = warm().snapshot()
    rr = pk.Kernel.restore(data, scheduler=pk.sched.RoundRobin(quantum=3_000))
    fifo = pk.Kernel.restore(data, scheduler=pk.sched.FIFO())
    rr.run()
    fifo.run()
    assert rr.digest() != fifo.digest()
    assert rr.processes.table()["finish_ns"] != fifo.processes.table()["finish_ns"]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: repr(p)[:40])
def test_every_policy_can_take_over_and_finish_the_work(policy):
    k = warm(cpus=2, rt=True)
    branch = pk.Kernel.restore(k.snapshot(), scheduler=policy)
    assert branch.scheduler == policy
    r = branch.run()
    assert r.reason == "idle"
    table = branch.processes.table()
    assert set(table["state"]) == {"exited"}
    expected = [WORK[p.program.name] for p in branch.processes]
    assert table["cpu_time_ns"] == expected


def test_a_branch_under_the_same_policy_continues_exactly():
    k = warm()
    data = k.snapshot()
    same = pk.Kernel.restore(data, scheduler=pk.sched.CFS())
    plain = pk.Kernel.restore(data)
    same.run()
    plain.run()
    assert same.digest() == plain.digest()


def test_a_branch_is_deterministic():
    data = warm(cpus=2).snapshot()
    a = pk.Kernel.restore(data, scheduler=pk.sched.Lottery(quantum=2_000))
    b = pk.Kernel.restore(data, scheduler=pk.sched.Lottery(quantum=2_000))
    a.run()
    b.run()
    assert observe(a) == observe(b)


def test_ready_threads_enter_the_new_policy_in_the_order_they_became_ready():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1_000), costs=pk.Costs.zero())
    k.spawn(LONG)                      # runs first
    k.spawn(CPU, at=100)
    k.spawn(SLEEPER, at=200)
    k.run(until=500)                   # 1 and 2 ready since 100 and 200
    branch = pk.Kernel.restore(k.snapshot(), scheduler=pk.sched.FIFO())
    branch.run()
    first_runs = branch.processes.table()["first_run_ns"]
    assert first_runs[0] == 0
    assert first_runs[1] < first_runs[2]


def test_cost_model_branches_differ_in_overhead_only():
    data = warm().snapshot()
    zero = pk.Kernel.restore(data, costs=pk.Costs.zero())
    dear = pk.Kernel.restore(data, costs=pk.Costs(switch=5_000))
    assert past(zero) == past(dear)
    zero.run()
    dear.run()
    assert dear.costs == pk.Costs(switch=5_000)
    assert dear.stats.overhead > zero.stats.overhead
    assert zero.processes.table()["cpu_time_ns"] == dear.processes.table()["cpu_time_ns"]


def test_restore_keeps_the_run_queue_layout():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.CFS(), runqueues="per-cpu")
    k.spawn_many(CPU, 4)
    k.run(until=3_000)
    branch = pk.Kernel.restore(k.snapshot(), scheduler=pk.sched.RoundRobin(quantum=2_000))
    assert branch.runqueues == "per-cpu"
    assert branch.run().reason == "idle"
