"""Per-CPU run queues: placement, periodic load balancing, idle stealing,
affinity and migrations. The rules are pykernel's own, modelled on
Linux's (select_task_rq_fair, load_balance, newidle_balance) and
documented in docs/scheduling.md."""

import pytest

import pykernel as pk
from conftest import assert_cpu_time_conserved

MS = 1_000_000
C = pk.op.compute


def script(*ops):
    return pk.Program.script("w", list(ops))


def per_cpu(cpus, costs=None, **kw):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=MS), runqueues="per-cpu",
                     costs=pk.Costs.zero() if costs is None else costs, **kw)


def test_layout_default_follows_the_policy():
    assert pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin()).runqueues == "shared"
    assert pk.Kernel(cpus=2, scheduler=pk.sched.Priority()).runqueues == "per-cpu"


def test_eight_threads_started_on_cpu_0_of_4_end_up_balanced():
    k = per_cpu(4)                       # balance every 4 ms (default)
    procs = k.spawn_many(script(C(1000 * MS)), 8, cpu=0)
    k.run(until=3 * MS)
    assert [c.queued for c in k.stats.cpus] == [7, 0, 0, 0]
    k.run(until=5 * MS)                  # the first balancing pass ran at 4 ms
    assert [c.queued for c in k.stats.cpus] == [1, 1, 1, 1]
    assert all(c.running is not None for c in k.stats.cpus)
    assert k.stats.migrations == 6       # 8 threads, 2 per CPU: six moved once
    k.run()
    assert k.now == 2003 * MS            # 3 ms alone on CPU 0, then 2 per CPU
    assert k.fairness(procs) == 1.0
    assert_cpu_time_conserved(k)


def test_balancing_can_be_turned_off():
    k = per_cpu(2, balance_interval=0)
    k.spawn_many(script(C(10 * MS)), 2, cpu=0)
    k.run(until=5 * MS)
    assert [c.queued for c in k.stats.cpus] == [1, 0]
    assert k.stats.balance_runs == 0


def test_an_idle_cpu_steals_from_the_busiest_queue():
    k = per_cpu(2, balance_interval=0)
    a = k.spawn(script(C(10)), cpu=0)
    b = k.spawn(script(C(10)), cpu=0)
    c = k.spawn(script(C(2)), cpu=1)
    k.run()
    # CPU 1 finishes C at 2 and, about to go idle, pulls B from CPU 0
    assert (a.stats.finish, b.stats.finish, c.stats.finish) == (10, 12, 2)
    assert b.stats.migrations == 1 and k.stats.migrations == 1
    assert k.cpu_stats(1).migrations_in == 1


def test_migration_cost_is_paid_by_the_cpu_on_the_next_switch_in():
    k = per_cpu(2, costs=pk.Costs(switch=0, migrate=5), balance_interval=0)
    k.spawn(script(C(10)), cpu=0)
    b = k.spawn(script(C(10)), cpu=0)
    k.spawn(script(C(2)), cpu=1)
    k.run()
    assert b.stats.finish == 17              # 2 + 5 of migration overhead + 10
    assert k.cpu_stats(1).overhead == 5
    assert_cpu_time_conserved(k)


def test_new_threads_go_to_idle_cpus_first():
    k = per_cpu(3)
    procs = [k.spawn(script(C(10))) for _ in range(3)]
    k.run(until=1)
    assert sorted(p.threads[0].cpu for p in procs) == [0, 1, 2]


def test_waking_thread_returns_to_its_idle_previous_cpu():
    k = per_cpu(2, balance_interval=0)
    k.spawn(script(C(100)), cpu=0)
    sleeper = k.spawn(script(C(10), pk.op.sleep(10), C(10)), cpu=1)
    k.run()
    assert sleeper.stats.migrations == 0
    assert sleeper.threads[0].run_queue == 1


def test_affinity_is_never_violated():
    k = per_cpu(4, balance_interval=MS // 2)
    allowed = {}
    for i in range(12):
        cpus = {i % 4, (i + 1) % 4} if i % 3 else {i % 4}
        p = k.spawn(script(pk.op.loop(20, [C(300_000), pk.op.sleep(200_000)])), affinity=cpus)
        allowed[p.threads[0].tid] = frozenset(cpus)
    while k.stats.live_threads:
        k.run(until=k.now + 100_000)
        for c in k.stats.cpus:
            if c.running is not None:
                assert c.cpu in allowed[c.running]
        for tid, cpus in allowed.items():
            rq = pk.Thread(k, tid).run_queue
            assert rq is None or rq in cpus
    assert k.stats.migrations > 0            # there was balancing to respect


def test_thread_reports_its_affinity():
    k = per_cpu(4)
    p = k.spawn(script(C(1)), affinity=[1, 3])
    q = k.spawn(script(C(1)))
    assert p.threads[0].affinity == frozenset({1, 3})
    assert q.threads[0].affinity == frozenset({0, 1, 2, 3})


def test_affinity_needs_per_cpu_queues_except_under_fifo_and_round_robin():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.Priority(), runqueues="shared")
    with pytest.raises(pk.NotSupported, match="per-CPU"):
        k.spawn(script(C(1)), affinity={0})
    k.spawn(script(C(1)), affinity={0, 1})   # every CPU: fine
    # FIFO and RoundRobin give each CPU the first queued thread allowed there
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(), runqueues="shared",
                  costs=pk.Costs.zero())
    a = k.spawn(script(C(10)), affinity={1})
    b = k.spawn(script(C(10)), affinity={1})
    k.run()
    assert (a.stats.finish, b.stats.finish) == (10, 20)


@pytest.mark.parametrize("kwargs, error", [
    ({"affinity": set()}, ValueError),
    ({"affinity": {4}}, ValueError),
    ({"affinity": "0"}, TypeError),
    ({"cpu": 4}, ValueError),
    ({"cpu": 0, "affinity": {1}}, ValueError),
])
def test_bad_placement_arguments_are_refused(kwargs, error):
    k = per_cpu(4)
    with pytest.raises(error):
        k.spawn(script(C(1)), **kwargs)


def test_bad_runqueues_value_is_refused():
    with pytest.raises(ValueError, match="per-cpu"):
        pk.Kernel(runqueues="global")


def test_per_cpu_and_shared_layouts_agree_on_one_cpu():
    def run(layout):
        k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero(),
                      runqueues=layout)
        for b in (24, 3, 3):
            k.spawn(script(C(b)))
        k.run()
        return k.digest()
    assert run("per-cpu") == run("shared")


def test_many_cpus_many_threads_conserve_time():
    k = per_cpu(64, balance_interval=MS)
    k.spawn_many(script(pk.op.loop(5, [C(200_000), pk.op.io(100_000)])), 500)
    k.run()
    assert k.stats.live_threads == 0
    assert_cpu_time_conserved(k)


def test_256_cpus_with_per_cpu_queues_under_cfs():
    k = pk.Kernel(cpus=256, scheduler=pk.sched.CFS(), costs=pk.Costs.zero())
    procs = k.spawn_many(script(C(3 * MS)), 512, cpu=255, affinity=range(128, 256))
    k.run(until=4 * MS + 1)                  # just after the first balancing pass
    loads = [c.queued + (c.running is not None) for c in k.stats.cpus]
    assert set(loads[:128]) == {0}           # outside the affinity mask: never used
    assert max(loads[128:]) - min(loads[128:]) <= 1
    k.run()
    # 1536 ms of work, 4 ms of it on CPU 255 alone, then 128 CPUs: >= 15.97 ms
    assert 15_970_000 <= k.now <= 16_000_000
    assert all(c.cpu >= 128 for c in k.stats.cpus if c.busy)
    assert k.fairness(procs) == 1.0
    assert_cpu_time_conserved(k)
