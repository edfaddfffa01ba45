"""Snapshot and restore: a restored kernel continues exactly as the
original would have (docs/snapshot.md).

The property tested throughout (issue 8): the observation of "run to
T1, snapshot, restore, run to T2" equals that of "run to T2", for 20
random cut points T1 per workload.  The observation (snapshot_workloads
.observe) is the digest of every event plus every statistic a user can
read.
"""

import pytest

import pykernel as pk
from snapshot_workloads import (CPU, LONG, affinity, continue_matches, cut_points, mixed,
                                observe, periodic)


def kernel(policy, cpus=1, **kw):
    return lambda: pk.Kernel(cpus=cpus, scheduler=policy, seed=11, **kw)


def with_workload(make_kernel, workload, **kw):
    def make():
        k = make_kernel()
        workload(k, **kw)
        return k
    return make


POLICIES = {
    "FIFO": pk.sched.FIFO(),
    "RR": pk.sched.RoundRobin(quantum=4_000),
    "Priority": pk.sched.Priority(),
    "Priority-preemptive": pk.sched.Priority(preemptive=True),
    "SJF": pk.sched.SJF(),
    "STCF": pk.sched.STCF(),
    "CFS": pk.sched.CFS(),
    "EEVDF": pk.sched.EEVDF(),
    "MLFQ": pk.sched.MLFQ(quanta=(2_000, 4_000, 8_000), boost=50_000),
    "Lottery": pk.sched.Lottery(quantum=3_000),
    "Stride": pk.sched.Stride(quantum=3_000),
}


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_continue_equals_uninterrupted_one_cpu(name):
    make = with_workload(kernel(POLICIES[name]), mixed)
    assert continue_matches(make, cut_points(make)) == []


@pytest.mark.parametrize("name", ["RR", "CFS", "EEVDF", "MLFQ", "Lottery", "Stride", "STCF"])
def test_continue_equals_uninterrupted_per_cpu_queues(name):
    make = with_workload(kernel(POLICIES[name], cpus=3, runqueues="per-cpu",
                                balance_interval=20_000), mixed)
    assert continue_matches(make, cut_points(make)) == []


@pytest.mark.parametrize("name", ["FIFO", "RR", "CFS", "Priority-preemptive"])
def test_continue_equals_uninterrupted_shared_queue(name):
    make = with_workload(kernel(POLICIES[name], cpus=2, runqueues="shared"), mixed)
    assert continue_matches(make, cut_points(make)) == []


@pytest.mark.parametrize("name", ["CFS", "RR", "EEVDF"])
def test_continue_equals_uninterrupted_realtime_classes(name):
    make = with_workload(kernel(POLICIES[name], cpus=2, rt_throttle=(30_000, 40_000)), mixed,
                         rt=True)
    assert continue_matches(make, cut_points(make)) == []


@pytest.mark.parametrize("policy", [pk.sched.EDF(), pk.sched.RateMonotonic(),
                                    pk.sched.DeadlineMonotonic()],
                         ids=["EDF", "RM", "DM"])
def test_continue_equals_uninterrupted_periodic_jobs(policy):
    make = with_workload(kernel(policy), periodic)
    assert continue_matches(make, cut_points(make)) == []


def test_continue_equals_uninterrupted_with_affinity():
    make = with_workload(kernel(pk.sched.CFS(), cpus=4, runqueues="per-cpu",
                                balance_interval=15_000), affinity)
    assert continue_matches(make, cut_points(make)) == []


def test_continue_equals_uninterrupted_with_tracing():
    make = with_workload(kernel(pk.sched.CFS(), cpus=2, trace=True), mixed, rt=True)
    assert continue_matches(make, cut_points(make)) == []


def test_continue_equals_uninterrupted_with_a_full_trace_buffer():
    make = with_workload(kernel(pk.sched.RoundRobin(quantum=2_000), trace=50), mixed)
    assert continue_matches(make, cut_points(make)) == []


def test_continue_to_a_deadline_equals_uninterrupted():
    make = with_workload(kernel(pk.sched.CFS(), cpus=2), mixed, rt=True)
    cuts = [t for t in cut_points(make, n=40, seed=3) if t < 150_000][:20]
    assert len(cuts) >= 10
    assert continue_matches(make, cuts, until=150_000) == []


def test_snapshot_of_a_restored_kernel_is_the_same_bytes():
    k = with_workload(kernel(pk.sched.EEVDF(), cpus=2, trace=True), mixed, rt=True)()
    k.run(until=70_000)
    data = k.snapshot()
    assert pk.Kernel.restore(data).snapshot() == data


def test_snapshot_does_not_change_the_kernel():
    make = with_workload(kernel(pk.sched.Lottery(quantum=3_000)), mixed)
    ref, k = make(), make()
    ref.run()
    k.run(until=40_000)
    k.snapshot()
    k.run()
    assert k.digest() == ref.digest()


def test_restore_twice_gives_two_identical_futures():
    k = with_workload(kernel(pk.sched.Lottery(quantum=3_000), cpus=2), mixed)()
    k.run(until=50_000)
    data = k.snapshot()
    a, b = pk.Kernel.restore(data), pk.Kernel.restore(data)
    a.run()
    b.run()
    assert observe(a) == observe(b)


def test_restored_random_generator_continues_the_sequence():
    k = pk.Kernel(seed=99)
    k.random(5)
    copy = pk.Kernel.restore(k.snapshot())
    assert copy.random(3) == k.random(3)


def test_restored_kernel_keeps_the_python_side():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=7_000),
                  costs=pk.Costs(switch=123), seed=5,
                  limits=pk.Limits(max_threads=1000))
    p = k.spawn(CPU, name="worker")
    k.spawn(LONG)
    k.run(until=10_000)
    copy = pk.Kernel.restore(k.snapshot())
    assert (copy.cpus, copy.scheduler, copy.costs, copy.seed, copy.max_threads, copy.runqueues) \
        == (2, pk.sched.RoundRobin(quantum=7_000), pk.Costs(switch=123), 5, 1000, "shared")
    assert copy.process(p.pid).name == "worker"
    assert copy.process(1).name == "long-1"
    assert copy.process(p.pid).program.ops == CPU.ops


def test_restored_kernel_spawns_more_and_runs():
    make = with_workload(kernel(pk.sched.CFS()), mixed)
    ref, k = make(), make()
    ref.run(until=30_000)
    ref.spawn(CPU, name="late")
    ref.run()
    k.run(until=30_000)
    copy = pk.Kernel.restore(k.snapshot())
    copy.spawn(CPU, name="late")
    copy.run()
    assert observe(copy) == observe(ref)


def test_restored_kernel_reuses_the_program_it_already_holds():
    k = pk.Kernel()
    k.spawn(CPU)
    copy = pk.Kernel.restore(k.snapshot())
    copy.spawn(CPU)
    assert copy.process(1).program is CPU
    assert copy.process(0).program is CPU


def test_run_time_changes_after_restore_behave_as_in_the_original():
    make = with_workload(kernel(pk.sched.CFS(), cpus=2), mixed)
    ref, k = make(), make()
    k.run(until=20_000)
    copy = pk.Kernel.restore(k.snapshot())
    for kk in (ref, copy):
        if kk is ref:
            kk.run(until=20_000)
        kk.process(3).threads[0].set_nice(10)
        kk.process(5).threads[0].set_policy("rr", rt_priority=5)
        kk.run()
    assert observe(copy) == observe(ref)


def test_killed_and_exited_processes_come_back():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=2_000))
    a = k.spawn(LONG)
    b = k.spawn(pk.Program.script("quick", [pk.op.compute(100), pk.op.exit(7)]))
    k.run(until=5_000)
    a.kill()
    copy = pk.Kernel.restore(k.snapshot())
    assert (copy.process(a.pid).state, copy.process(a.pid).kill_reason) == ("killed", "killed")
    assert (copy.process(b.pid).state, copy.process(b.pid).exit_code) == ("exited", 7)


def test_save_and_restore_through_a_file(tmp_path):
    make = with_workload(kernel(pk.sched.MLFQ()), mixed)
    ref, k = make(), make()
    ref.run()
    k.run(until=33_000)
    path = tmp_path / "warm.pksnap"
    n = k.save(path)
    assert n == path.stat().st_size
    copy = pk.Kernel.restore(path)
    copy.run()
    assert copy.digest() == ref.digest()


def test_restore_from_a_path_given_as_str(tmp_path):
    k = pk.Kernel()
    k.spawn(CPU)
    path = str(tmp_path / "k.pksnap")
    k.save(path)
    assert pk.Kernel.restore(path).processes[0].name == "cpu-0"


def test_snapshot_of_a_kernel_before_any_spawn():
    k = pk.Kernel(cpus=3, seed=4)
    copy = pk.Kernel.restore(k.snapshot())
    copy.spawn(CPU)
    ref = pk.Kernel(cpus=3, seed=4)
    ref.spawn(CPU)
    copy.run()
    ref.run()
    assert copy.digest() == ref.digest()


@pytest.mark.parametrize("policy", [pk.sched.SJF(), pk.sched.CFS(), pk.sched.Stride(quantum=2_000),
                                    pk.sched.Lottery(quantum=2_000), pk.sched.EEVDF()],
                         ids=["SJF", "CFS", "Stride", "Lottery", "EEVDF"])
def test_thousands_of_queued_threads_come_back(policy):
    """Run queues past their growth steps: 1,100 threads queued at once
    make heaps and slot arrays double from 64 to 2,048 entries."""
    def make():
        k = pk.Kernel(scheduler=policy, seed=2)
        k.spawn_many(CPU, 1_100)
        k.spawn_many(LONG, 20, at=5_000)
        return k
    ref, k = make(), make()
    ref.run(until=800_000)
    k.run(until=200_000)
    copy = pk.Kernel.restore(k.snapshot())
    copy.run(until=800_000)
    assert observe(copy) == observe(ref)


def test_python_parts_travel_in_the_snapshot():
    from pykernel import snapshot
    seen = []
    snapshot.PARTS["test-part"] = (lambda k: {"now": k.now, "tag": (1, b"x", None)},
                                   lambda k, data: seen.append((k.now, data)))
    try:
        k = pk.Kernel()
        k.spawn(CPU)
        k.run(until=7_000)
        pk.Kernel.restore(k.snapshot())
    finally:
        del snapshot.PARTS["test-part"]
    assert seen == [(7_000, {"now": 7_000, "tag": (1, b"x", None)})]


def test_a_python_part_this_version_does_not_know_is_refused():
    from pykernel import snapshot
    snapshot.PARTS["future-part"] = (lambda k: 1, lambda k, data: None)
    try:
        data = pk.Kernel().snapshot()
    finally:
        del snapshot.PARTS["future-part"]
    with pytest.raises(pk.SnapshotError, match="'future-part'"):
        pk.Kernel.restore(data)


def test_python_parts_hold_plain_data_only():
    from pykernel import snapshot
    snapshot.PARTS["bad-part"] = (lambda k: object(), lambda k, data: None)
    try:
        with pytest.raises(TypeError, match="plain data only"):
            pk.Kernel().snapshot()
    finally:
        del snapshot.PARTS["bad-part"]


def test_limits_and_their_refusals_come_back():
    k = pk.Kernel(limits=pk.Limits(max_threads=5, max_processes=4))
    k.spawn_many(CPU, 4)
    with pytest.raises(pk.NoMemory):
        k.spawn(CPU)
    copy = pk.Kernel.restore(k.snapshot())
    assert copy.limits == pk.Limits(max_threads=5, max_processes=4)
    used = {name: (u.used, u.limit, u.refused) for name, u in copy.limit_usage.items()
            if name != "max_memory"}
    assert used == {name: (u.used, u.limit, u.refused) for name, u in k.limit_usage.items()
                    if name != "max_memory"}
    assert used["max_processes"] == (4, 4, 1)
    with pytest.raises(pk.NoMemory, match="process limit"):
        copy.spawn(CPU)


def test_snapshot_from_another_host_thread_waits_for_the_run_to_end():
    import threading
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1_000), costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("spin", [pk.op.loop(10**9, [pk.op.compute(1_000)])]), 10)
    end = 3_000_000 * 1_000                      # 3 M switches: several slices of a run
    runner = threading.Thread(target=lambda: k.run(until=end))
    runner.start()
    while k.now == 0:                            # the run has begun (read between slices)
        pass
    data = k.snapshot()
    runner.join(60)
    assert pk.Kernel.restore(data).now == end
