"""The cache model: ``pk.Kernel(cache=pk.CacheModel(...))`` and
``spawn(..., working_set=...)``, replaying OSTEP's multiprocessor
scheduling homework simulator, ostep-homework cpu-sched-multi/multi.py
(Arpaci-Dusseau, OSTEP ch. 10).

multi.py's model: each CPU's cache holds the working sets of the jobs that
became warm there, latest first, up to -M (default 100); a job is warm on a
CPU after running -w ticks (default 10) there and then runs -r times (default
2) faster; when a newly warm job does not fit, the one warm longest is
evicted. With one central queue (no -p) and a quantum of -q ticks (default
10) every job runs round robin on any CPU, its quanta ending on every CPU at
once (a global timer tick, after which the CPUs take jobs in CPU order):
pykernel's RoundRobin(aligned=True) on a shared run queue. One multi.py tick
is 1 ns here. The expected end times are
multi.py's "Finished time" (-c); the per-job finish times are read from its
trace (-t), the tick after a job's last one.
"""

import pytest

import pykernel as pk


def run(jobs, cpus=2, quantum=10, warmup=10, speedup=2, size=100, affinity=None):
    """jobs: multi.py -L triples (name, run time, working set)."""
    affinity = affinity or {}
    k = pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=quantum, aligned=True),
                  costs=pk.Costs.zero(),
                  runqueues="shared", cache=pk.CacheModel(size=size, warmup=warmup, speedup=speedup))
    procs = {name: k.spawn(pk.Program.script(name, [pk.op.compute(ns)]), working_set=ws,
                           affinity=affinity.get(name))
             for name, ns, ws in jobs}
    k.run()
    return k.now, {name: p.stats.finish for name, p in procs.items()}, procs


def test_working_set_larger_than_the_cache_never_warms():
    # multi.py -n 1 -L a:30:200 -c: Finished time 30
    end, finish, _ = run([("a", 30, 200)], cpus=1)
    assert end == 30


def test_warm_job_runs_twice_as_fast_after_warming_up():
    # multi.py -n 1 -L a:30:200 -M 300 -c: 10 ticks cold, then 20 left at
    # rate 2: Finished time 20; it used 20 ns of CPU for 30 of compute
    end, finish, procs = run([("a", 30, 200)], cpus=1, size=300)
    assert end == 20
    assert procs["a"].stats.cpu_time == 20


def test_three_jobs_bounce_between_two_cpus():
    # multi.py -n 2 -L a:100:100,b:100:50,c:100:50 -c: Finished time 150;
    # the trace ends a at 140, b and c at 150
    end, finish, _ = run([("a", 100, 100), ("b", 100, 50), ("c", 100, 50)])
    assert end == 150
    assert finish == {"a": 140, "b": 150, "c": 150}


def test_four_jobs_that_fit_two_per_cache():
    # multi.py -n 2 -L a:60:50,b:60:50,c:60:50,d:60:50 -c: Finished time 70
    end, finish, _ = run([(n, 60, 50) for n in "abcd"])
    assert end == 70
    assert finish == {"a": 65, "b": 65, "c": 70, "d": 70}


def test_each_warm_up_evicts_the_other_job():
    # multi.py -n 1 -w 5 -L a:50:100,b:50:100 -c: Finished time 70; each
    # job's warm-up evicts the other, so every turn starts cold
    end, finish, _ = run([("a", 50, 100), ("b", 50, 100)], cpus=1, warmup=5)
    assert (end, finish) == (70, {"a": 65, "b": 70})


def test_two_jobs_that_fit_together_stay_warm():
    # multi.py -n 1 -w 5 -L a:50:60,b:50:40 -c: Finished time 56
    end, finish, _ = run([("a", 50, 60), ("b", 50, 40)], cpus=1, warmup=5)
    assert (end, finish) == (56, {"a": 48, "b": 56})


def test_faster_warm_rate():
    # multi.py -n 2 -w 5 -r 3 -L a:40:50,b:40:50,c:40:50 -c: Finished time 30
    end, finish, _ = run([(n, 40, 50) for n in "abc"], warmup=5, speedup=3)
    assert (end, finish) == (30, {"a": 20, "b": 30, "c": 30})


def test_an_idle_cpu_takes_the_job_at_the_tick():
    # multi.py -n 2 -w 5 -r 3 -M 200 -L a:10:50,b:30:60 -c: Finished time
    # 17. At tick 10 b goes back to the queue and idle CPU 0 takes it
    # first: b warms up again there (5 cold ticks, then 3 per tick).
    end, finish, procs = run([("a", 10, 50), ("b", 30, 60)], warmup=5, speedup=3, size=200)
    assert (end, finish) == (17, {"a": 7, "b": 17})
    assert procs["b"].stats.involuntary_switches == 1    # left CPU 1 at the tick


def test_oversized_working_set_flushes_the_cache():
    # multi.py -n 1 -r 3 -L a:50:100,b:30:150 -c: Finished time 74. b never
    # fits, but each time it has warmed up it evicts a from the cache.
    end, finish, _ = run([("a", 50, 100), ("b", 30, 150)], cpus=1, speedup=3)
    assert (end, finish) == (74, {"a": 74, "b": 60})


@pytest.mark.parametrize("affinity, end, finish", [
    # multi.py -n 2 -L a:100:100,b:100:50,c:100:50 -A a:0,b:1,c:1 -c
    ({"a": [0], "b": [1], "c": [1]}, 110, {"a": 55, "b": 105, "c": 110}),
    # ... -A a:0,b:0.1,c:1 -c
    ({"a": [0], "b": [0, 1], "c": [1]}, 100, {"a": 100, "b": 100, "c": 85}),
    # ... -A b:0 -c
    ({"b": [0]}, 125, {"a": 100, "b": 125, "c": 110}),
])
def test_affinity_on_the_central_queue(affinity, end, finish):
    assert run([("a", 100, 100), ("b", 100, 50), ("c", 100, 50)], affinity=affinity)[:2] == \
        (end, finish)


def test_affinity_on_a_shared_queue_needs_fifo_or_round_robin():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.CFS(), runqueues="shared")
    with pytest.raises(pk.errors.NotSupported):
        k.spawn(pk.Program.script("a", [pk.op.compute(10)]), affinity=[0])


def test_aligned_quantum_ends_at_multiples_of_the_quantum():
    # B arrives at 3 behind A: A's first quantum ends at 10, B's at 20
    # (not 13 + 10), A's next at 30
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10, aligned=True), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [pk.op.compute(15)]))
    b = k.spawn(pk.Program.script("b", [pk.op.compute(12)]), at=3)
    k.run()
    assert (b.stats.first_run, a.stats.finish, b.stats.finish) == (10, 25, 27)


def test_threads_without_a_working_set_are_not_modelled():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  cache=pk.CacheModel(size=100, warmup=10, speedup=2))
    p = k.spawn(pk.Program.script("p", [pk.op.compute(50)]))
    k.run()
    assert p.stats.finish == 50 and p.stats.cpu_time == 50


def test_polling_and_io_are_not_sped_up():
    # only compute operations run faster on a warm CPU: A is warm after
    # 10 ns; its 10 ns poll takes 10 ns, its last 20 ns of compute 10 ns
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  cache=pk.CacheModel(size=100, warmup=10, speedup=2))
    a = k.spawn(pk.Program.script("a", [pk.op.compute(10), pk.op.io(10, poll=True),
                                        pk.op.compute(20)]), working_set=10)
    k.run()
    assert a.stats.finish == 30


def test_migration_means_warming_up_again():
    # A (working set 10) computes 40 ns on CPU 0: cold 0-10, warm 10-25.
    # Pinned to CPU 1 at 12 ns (done 14 by then), it warms up there again:
    # 10 ns cold (26 left -> 16), then 8 ns warm: finish 12 + 18 = 30.
    k = pk.Kernel(cpus=2, scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(), runqueues="per-cpu",
                  cache=pk.CacheModel(size=100, warmup=10, speedup=2))
    a = k.spawn(pk.Program.script("a", [pk.op.compute(40)]), working_set=10, cpu=0)
    k.run(until=12)
    a.threads[0].set_affinity([1])
    k.run()
    assert a.stats.finish == 30 and a.stats.migrations == 1


def test_kernel_with_a_cache_model_refuses_snapshots():
    k = pk.Kernel(cache=pk.CacheModel(size=100, warmup=10))
    k.spawn(pk.Program.script("a", [pk.op.compute(40)]), working_set=10)
    with pytest.raises(pk.SnapshotError, match="cache model"):
        k.snapshot()


def test_working_set_needs_a_cache_model():
    k = pk.Kernel()
    with pytest.raises(ValueError, match="cache model"):
        k.spawn(pk.Program.script("a", [pk.op.compute(40)]), working_set=10)
    assert len(k.processes) == 0


@pytest.mark.parametrize("kw", [dict(size=-1, warmup=1), dict(size=1, warmup=-1),
                                dict(size=1, warmup=1, speedup=0),
                                dict(size=1, warmup=1, speedup=1025)])
def test_cache_model_bounds(kw):
    with pytest.raises(ValueError):
        pk.CacheModel(**kw)


# ---- per-CPU queues: multi.py -p (jobs dealt to the CPUs in turn) -----------

def run_per_cpu(jobs, steal, cpus=2):
    k = pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=10, aligned=True),
                  costs=pk.Costs.zero(), runqueues="per-cpu", balance_interval=0, steal=steal,
                  cache=pk.CacheModel(size=100, warmup=10, speedup=2))
    procs = {name: k.spawn(pk.Program.script(name, [pk.op.compute(ns)]), working_set=ws, cpu=i % cpus)
             for i, (name, ns, ws) in enumerate(jobs)}
    k.run()
    return k.now, {name: p.stats.finish for name, p in procs.items()}


def test_per_cpu_queues_without_stealing():
    # multi.py -n 2 -p -P 0 -L a:100:100,b:100:50,c:100:50 -c: Finished
    # time 200. CPU 0 holds a and c, which do not fit its cache together
    # and keep evicting each other; CPU 1 finishes b at 55 and then idles.
    end, finish = run_per_cpu([("a", 100, 100), ("b", 100, 50), ("c", 100, 50)], steal=False)
    assert (end, finish) == (200, {"a": 190, "b": 55, "c": 200})


def test_per_cpu_queues_that_fit_stay_warm():
    # multi.py -n 2 -p -P 0 -L a:100:50,b:100:50,c:100:50,d:100:50 -c: 110
    end, finish = run_per_cpu([(n, 100, 50) for n in "abcd"], steal=False)
    assert (end, finish) == (110, {"a": 105, "b": 105, "c": 110, "d": 110})


def test_idle_stealing_moves_work_to_the_idle_cpu():
    # the same as the first case with pykernel's idle stealing on: CPU 1,
    # idle at 55, pulls a job from CPU 0 and everything ends sooner
    end, finish = run_per_cpu([("a", 100, 100), ("b", 100, 50), ("c", 100, 50)], steal=True)
    assert end < 200 and finish["b"] == 55


def run_peeking(jobs, interval, cpus=2):
    k = pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=10, aligned=True),
                  costs=pk.Costs.zero(), runqueues="per-cpu", balance_interval=0,
                  steal_interval=interval, cache=pk.CacheModel(size=100, warmup=10, speedup=2))
    procs = {name: k.spawn(pk.Program.script(name, [pk.op.compute(ns)]), working_set=ws, cpu=i % cpus)
             for i, (name, ns, ws) in enumerate(jobs)}
    return k, procs


def test_periodic_peeking_as_multi_py_does_by_default():
    # multi.py -n 2 -p -L a:100:100,b:100:50,c:100:50 -c (-P 30 by
    # default): Finished time 100. CPU 1 finishes b at 55; at 60 CPU 0's
    # quantum ends (c goes back behind a) and CPU 1 takes a, the first in
    # CPU 0's queue, which must warm up on CPU 1.
    k, procs = run_peeking([("a", 100, 100), ("b", 100, 50), ("c", 100, 50)], 30)
    k.run()
    assert (k.now, {n: p.stats.finish for n, p in procs.items()}) == \
        (100, {"a": 100, "b": 55, "c": 95})
    assert (procs["a"].stats.migrations, procs["c"].stats.migrations) == (1, 0)


def test_periodic_peeking_takes_a_job_whose_quantum_ends_then():
    # multi.py -n 2 -p -P 30 -L a:60:50,b:20:50,c:60:50,d:60:50 -c:
    # Finished time 70
    k, procs = run_peeking([("a", 60, 50), ("b", 20, 50), ("c", 60, 50), ("d", 60, 50)], 30)
    k.run()
    assert (k.now, {n: p.stats.finish for n, p in procs.items()}) == \
        (70, {"a": 70, "b": 25, "c": 65, "d": 50})


def test_periodic_peeking_continues_bit_for_bit_after_restore():
    jobs = [("a", 60, 50), ("b", 20, 50), ("c", 60, 50), ("d", 60, 50)]
    k, _ = run_peeking(jobs, 30)
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=10, aligned=True),
                  costs=pk.Costs.zero(), runqueues="per-cpu", balance_interval=0, steal_interval=30)
    ref = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=10, aligned=True),
                    costs=pk.Costs.zero(), runqueues="per-cpu", balance_interval=0, steal_interval=30)
    for kk in (k, ref):
        for i, (name, ns, _) in enumerate(jobs):
            kk.spawn(pk.Program.script(name, [pk.op.compute(ns)]), cpu=i % 2)
    ref.run()
    k.run(until=45)
    copy = pk.Kernel.restore(k.snapshot())
    copy.run()
    assert copy.digest() == ref.digest()


def test_steal_interval_excludes_steal_false():
    with pytest.raises(ValueError):
        pk.Kernel(cpus=2, steal=False, steal_interval=30)
    with pytest.raises(ValueError):
        pk.Kernel(cpus=2, steal_interval=0)


def test_steal_must_be_a_bool():
    with pytest.raises(TypeError):
        pk.Kernel(steal=0)


def test_masks_on_a_shared_queue_survive_a_snapshot_and_need_pick_on_after_restore():
    def make():
        k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=10, aligned=True),
                      runqueues="shared", costs=pk.Costs.zero())
        for name, cpus in (("a", [1]), ("b", [1]), ("c", None)):
            k.spawn(pk.Program.script(name, [pk.op.compute(40)]), affinity=cpus)
        return k
    ref = make()
    ref.run()
    k = make()
    k.run(until=15)
    data = k.snapshot()
    copy = pk.Kernel.restore(data)
    copy.run()
    assert copy.digest() == ref.digest()
    with pytest.raises(pk.KernelError):           # CFS cannot honour masks on a shared queue
        pk.Kernel.restore(data, scheduler=pk.sched.CFS())
