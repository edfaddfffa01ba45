"""Properties of multi-CPU scheduling (hypothesis): random workloads with
real-time and fair threads, per-CPU or shared run queues, affinity masks,
and random run-time changes (nice, priority, class, affinity) and kills
between pieces of a run.

Invariants after every piece: nothing crashes; each CPU's busy + idle +
overhead == now; a running thread is on a CPU its affinity allows and is
queued nowhere else; every finished thread's cpu_time + wait + blocked ==
turnaround; a run to completion ends "idle" with every thread exited; the
same inputs give the same digest."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pykernel as pk
from conftest import assert_cpu_time_conserved, assert_thread_time_conserved

SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
S = pk.op

LEAF = st.one_of(st.builds(S.compute, st.integers(0, 30)), st.builds(S.io, st.integers(0, 30)),
                 st.builds(S.sleep, st.integers(0, 30)), st.just(S.yield_()))
OPS = st.lists(st.one_of(LEAF, st.builds(S.loop, st.integers(0, 3), st.lists(LEAF, min_size=1, max_size=3))),
               max_size=5)

THREAD = st.fixed_dictionaries({
    "ops": OPS,
    "at": st.integers(0, 50),
    "cls": st.sampled_from(["other", "other", "fifo", "rr"]),
    "rt": st.integers(1, 99),
    "prio": st.integers(0, 139),
    "cpus": st.lists(st.integers(0, 7), min_size=1, max_size=3),
})

CHANGE = st.tuples(st.sampled_from(["nice", "priority", "policy", "affinity", "kill"]),
                   st.integers(0, 1000), st.integers(0, 139))

WORLD = st.fixed_dictionaries({
    "cpus": st.integers(1, 8),
    "layout": st.sampled_from(["per-cpu", "shared"]),
    "policy": st.sampled_from(["rr", "priority", "fifo", "cfs", "eevdf"]),
    "threads": st.lists(THREAD, min_size=1, max_size=10),
    "pieces": st.lists(st.tuples(st.integers(1, 60), st.lists(CHANGE, max_size=2)), max_size=5),
    "throttle": st.sampled_from([False, (40, 100)]),
    "balance": st.sampled_from([0, 7, 50]),
    "switch": st.integers(0, 3),
    "migrate": st.integers(0, 3),
})


def policy_of(name):
    return {"rr": pk.sched.RoundRobin(quantum=7), "priority": pk.sched.Priority(preemptive=True),
            "fifo": pk.sched.FIFO(),
            "cfs": pk.sched.CFS(latency=24, min_granularity=3, wakeup_granularity=4),
            "eevdf": pk.sched.EEVDF(slice=5)}[name]


def build(w):
    k = pk.Kernel(cpus=w["cpus"], scheduler=policy_of(w["policy"]), runqueues=w["layout"],
                  costs=pk.Costs(switch=w["switch"], migrate=w["migrate"]), rt_slice=11,
                  rt_throttle=w["throttle"], balance_interval=w["balance"])
    procs = []
    for t in w["threads"]:
        kw = {"at": t["at"], "priority": t["prio"], "policy": t["cls"]}
        if t["cls"] != "other":
            kw["rt_priority"] = t["rt"]
        if w["layout"] == "per-cpu":
            kw["affinity"] = {c % w["cpus"] for c in t["cpus"]}
        procs.append(k.spawn(pk.Program.script("t", t["ops"]), **kw))
    return k, procs


def apply(k, w, procs, change):
    what, a, b = change
    p = procs[a % len(procs)]
    if p.state in ("exited", "killed"):
        return
    t = p.threads[0]
    if what == "nice":
        t.set_nice(a % 40 - 20)
    elif what == "priority":
        t.set_priority(b)
    elif what == "policy":
        t.set_policy(["other", "fifo", "rr"][a % 3], None if a % 3 == 0 else b % 99 + 1)
    elif what == "affinity" and w["layout"] == "per-cpu":
        t.set_affinity({a % w["cpus"], b % w["cpus"]})
    elif what == "kill":
        p.kill()


def check(k, procs):
    assert_cpu_time_conserved(k)
    for c in k.stats.cpus:
        if c.running is not None:
            t = pk.Thread(k, c.running)
            assert c.cpu in t.affinity
            assert t.state == "running" and t.cpu == c.cpu
    assert_thread_time_conserved([p for p in procs if p.state in ("exited", "killed")])


def run_world(w):
    k, procs = build(w)
    for length, changes in w["pieces"]:
        if not k.stats.live_threads:
            break
        k.run(until=k.now + length)
        for change in changes:
            apply(k, w, procs, change)
        check(k, procs)
    if k.stats.live_threads:
        r = k.run()
        assert r.reason == "idle", r
    check(k, procs)
    assert all(p.state in ("exited", "killed") for p in procs)
    return k


@SETTINGS
@given(WORLD)
def test_random_multi_cpu_worlds_conserve_time_and_respect_affinity(w):
    run_world(w)


@SETTINGS
@given(WORLD)
def test_random_multi_cpu_worlds_are_deterministic(w):
    assert run_world(w).digest() == run_world(w).digest()
