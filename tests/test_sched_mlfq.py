"""MLFQ, as OSTEP ch. 8 ("Scheduling: The Multi-Level Feedback Queue",
Arpaci-Dusseau) states its rules, with free context switches.

Levels are numbered from 0, the highest priority (OSTEP draws the same
three queues as Q2 on top, Q0 at the bottom). Unless stated, three levels
with a 10 ms quantum each and an allotment of one quantum, as in the
book's figures 8.2-8.6. Times are ns; MS = one millisecond.
"""

import pytest
from hypothesis import given, strategies as st

import pykernel as pk
from conftest import assert_time_conserved, make_kernel
from test_properties import PROCESS, SETTINGS, build, run_in_pieces, snapshot, total

MS = 1_000_000


def mlfq(**kw):
    kw.setdefault("quanta", [10 * MS] * 3)
    return pk.sched.MLFQ(**kw)


def job(name, ms):
    return pk.Program.script(name, [pk.op.compute(ms * MS)])


def running(procs):
    """Name of the process whose thread is running, or None."""
    names = [p.name for p in procs if p.threads[0].state == "running"]
    return names[0] if names else None


def level_at(k, proc, ms):
    k.run(until=int(ms * MS))
    return proc.threads[0].level


# ---- Rules 1-4 ----------------------------------------------------------------

def test_long_job_alone_descends_one_level_per_allotment(zero_kernel):
    # OSTEP Figure 8.2 "Long-running Job Over Time": the job enters the top
    # queue, is demoted after each 10 ms time slice, and stays in the
    # lowest queue; alone, it finishes after exactly its 200 ms.
    k = zero_kernel(mlfq())
    a = k.spawn(job("A", 200), name="A")
    assert [level_at(k, a, t) for t in (5, 15, 25, 100, 199)] == [0, 1, 2, 2, 2]
    k.run()
    assert a.stats.finish == 200 * MS
    assert a.threads[0].level == 2


def test_short_job_arriving_later_enters_top_and_finishes_first(zero_kernel):
    # OSTEP Figure 8.3 "Along Came An Interactive Job": A (long, 200 ms)
    # is in the lowest queue when B (20 ms) arrives at T=100 ms; B enters
    # the top queue (Rule 3), preempts A, runs 10 ms in each of the two
    # upper queues and completes at 120 ms; A then finishes at 220 ms.
    k = zero_kernel(mlfq())
    a = k.spawn(job("A", 200), name="A")
    b = k.spawn(job("B", 20), name="B", at=100 * MS)
    assert level_at(k, b, 105) == 0 and running([a, b]) == "B"
    assert level_at(k, b, 115) == 1 and a.threads[0].level == 2
    k.run()
    assert b.stats.response == 0
    assert b.stats.finish == 120 * MS
    assert a.stats.finish == 220 * MS
    assert_time_conserved(k)


def gaming(k):
    """OSTEP Figure 8.6: A is CPU-bound; G runs 9 ms of its 10 ms slice,
    then does 1 ms of io, over and over."""
    a = k.spawn(job("A", 1000), name="A")
    g = k.spawn(pk.Program.script("G", [pk.op.loop(100, [pk.op.compute(9 * MS),
                                                          pk.op.io(1 * MS)])]), name="G")
    return a, g


def test_io_job_keeps_its_level_under_the_old_rules(zero_kernel):
    # OSTEP Figure 8.6 (left), rules 4a/4b: G gives up the CPU before its
    # slice ends, so it stays in the top queue and takes 90% of the CPU.
    # A: 0-10 (then queue 1), G: 10-19, A: 19-20, G: 20-29, A: 29-30, ...
    # At 60 ms A has run 10 + 5 * 1 = 15 ms, G 5 * 9 = 45 ms.
    k = zero_kernel(mlfq(io_resets_allotment=True))
    a, g = gaming(k)
    k.run(until=60 * MS)
    assert g.threads[0].level == 0 and a.threads[0].level == 1
    assert (a.stats.cpu_time, g.stats.cpu_time) == (15 * MS, 45 * MS)


def test_io_job_is_demoted_when_its_allotment_is_used(zero_kernel):
    # OSTEP Figure 8.6 (right), Rule 4: G's time at a level adds up across
    # its io. A: 0-10 (-> queue 1); G: 10-19 (9 ms used), io 19-20, A:
    # 19-20; G wakes at 20, preempts A, uses its last 1 ms: queue 1 at 21.
    # A (queue 1, 1 ms used) runs 21-30 (-> queue 2); G: 30-38, io; A:
    # 38-39; G: 39-41 uses its queue-1 allotment (8 + 2 ms): queue 2 at 41.
    # From then on A and G share the lowest queue round robin.
    k = zero_kernel(mlfq())
    a, g = gaming(k)
    assert level_at(k, g, 20.5) == 0
    assert level_at(k, g, 21.5) == 1
    assert level_at(k, g, 40.5) == 1
    assert level_at(k, g, 41.5) == 2
    k.run(until=60 * MS)
    assert (a.stats.cpu_time, g.stats.cpu_time) == (33 * MS, 27 * MS)


def test_preempted_job_resumes_at_the_head_with_the_rest_of_its_quantum(zero_kernel):
    # OSTEP's homework simulator (cpu-sched-mlfq/mlfq.py) runs the head of
    # the highest non-empty queue each tick and keeps a job's ticksLeft
    # while a higher queue runs: a preempted job stays at the head of its
    # queue and finishes the unexpired part of its quantum (as man 7 sched
    # says of SCHED_RR). Queue 1 has an allotment of 5 quanta. A and X
    # alternate in queue 1 from 20 ms; N arrives at 45 ms and preempts A
    # (5 ms into its slice); N runs 45-50, A 50-55 (its 5 ms left), X
    # 55-65, A 65-75, X from 75.
    k = zero_kernel(mlfq(allotments=[1, 5, 1]))
    a = k.spawn(job("A", 500), name="A")
    x = k.spawn(job("X", 500), name="X")
    n = k.spawn(job("N", 5), name="N", at=45 * MS)
    procs = [a, x, n]
    k.run(until=47 * MS)
    assert running(procs) == "N"
    k.run(until=52 * MS)
    assert running(procs) == "A"
    k.run(until=57 * MS)
    assert running(procs) == "X"
    k.run(until=70 * MS)
    assert running(procs) == "A"
    k.run(until=76 * MS)
    assert running(procs) == "X"
    assert a.stats.cpu_time == 40 * MS and n.stats.finish == 50 * MS


def test_lower_levels_with_longer_quanta(zero_kernel):
    # OSTEP Figure 8.7 "Lower Priority, Longer Quanta": 10, 20 and 40 ms.
    # Two long jobs: A 0-10, B 10-20 (queue 0); A 20-40, B 40-60 (queue
    # 1); then 40 ms turns in queue 2: A 60-100, B 100-140.
    k = zero_kernel(pk.sched.MLFQ(quanta=[10 * MS, 20 * MS, 40 * MS]))
    a = k.spawn(job("A", 500), name="A")
    b = k.spawn(job("B", 500), name="B")
    k.run(until=140 * MS)
    assert (a.stats.cpu_time, b.stats.cpu_time) == (70 * MS, 70 * MS)
    assert b.stats.involuntary_switches == 2 and a.stats.involuntary_switches == 3


def test_io_to_front_puts_a_returning_job_at_the_head(zero_kernel):
    # C does 5 ms of io, then 1 ms of CPU; A and B are long. A runs 0-10
    # while C is away; C returns at 5 ms to queue 0, behind B (tail) or
    # ahead of it (io_to_front). Head: C runs 10-11. Tail: B 10-20, C 20-21.
    for front, finish in ((True, 11 * MS), (False, 21 * MS)):
        k = make_kernel(mlfq(io_to_front=front))
        c = k.spawn(pk.Program.script("C", [pk.op.io(5 * MS), pk.op.compute(1 * MS)]), name="C")
        k.spawn(job("A", 100), name="A")
        k.spawn(job("B", 100), name="B")
        k.run(until=30 * MS)
        assert c.stats.finish == finish


# ---- Rule 5: priority boost ---------------------------------------------------

def starvation(k):
    """OSTEP Figure 8.5: A (long) is alone until two interactive jobs
    arrive at 100 ms; each runs 5 ms, then waits 5 ms for io, so the two
    keep the CPU busy between them. Rules 4a/4b keep them in queue 0."""
    a = k.spawn(job("A", 1000), name="A")
    inter = pk.Program.script("I", [pk.op.loop(50, [pk.op.compute(5 * MS), pk.op.io(5 * MS)])])
    k.spawn(inter, name="B", at=100 * MS)
    k.spawn(inter, name="C", at=100 * MS)
    return a


def test_without_boost_a_long_job_starves(zero_kernel):
    # OSTEP Figure 8.5 (left): A gets no CPU once B and C arrive.
    k = zero_kernel(mlfq(io_resets_allotment=True))
    a = starvation(k)
    k.run(until=300 * MS)
    assert a.stats.cpu_time == 100 * MS


def test_boost_ends_starvation(zero_kernel):
    # OSTEP Figure 8.5 (right), boost every 50 ms: each boost brings A to
    # queue 0, where it runs one 10 ms quantum before it is demoted and
    # starves again: 110-120 (boosted at 100), 150-160, 200-210, 250-260.
    k = zero_kernel(mlfq(io_resets_allotment=True, boost=50 * MS))
    a = starvation(k)
    assert level_at(k, a, 119.5) == 0
    assert level_at(k, a, 120.5) == 1
    assert level_at(k, a, 150.5) == 0
    k.run(until=300 * MS)
    assert a.stats.cpu_time == 140 * MS


def test_boost_happens_at_its_instant_for_a_running_job(zero_kernel):
    # Alone, A reaches the lowest queue at 20 ms; the boost at 55 ms (not
    # a slice boundary) puts it back in queue 0 for a new 10 ms quantum.
    k = zero_kernel(mlfq(boost=55 * MS))
    a = k.spawn(job("A", 200), name="A")
    assert [level_at(k, a, t) for t in (54.5, 55.5, 64.5, 65.5, 75.5)] == [2, 0, 0, 1, 2]


def test_boost_reaches_a_blocked_job(zero_kernel):
    # Rule 5 moves *all* jobs: J reaches queue 2, then waits 100 ms for io;
    # the boost at 50 ms lifts it while it is blocked, and it returns at
    # 130 ms to queue 0.
    k = zero_kernel(mlfq(boost=50 * MS))
    j = k.spawn(pk.Program.script("J", [pk.op.compute(30 * MS), pk.op.io(100 * MS),
                                        pk.op.compute(30 * MS)]), name="J")
    assert level_at(k, j, 40) == 2 and j.threads[0].state == "blocked"
    assert level_at(k, j, 60) == 0
    assert level_at(k, j, 135) == 0
    assert level_at(k, j, 145) == 1


def test_boost_does_not_extend_a_run(zero_kernel):
    # No timer is left behind: the run ends when the last job does.
    k = zero_kernel(mlfq(boost=7 * MS))
    a = k.spawn(job("A", 30), name="A")
    r = k.run()
    assert r.reason == "idle" and k.now == 30 * MS and a.stats.finish == 30 * MS


# ---- queues, levels, CPUs --------------------------------------------------------

def test_level_is_none_under_other_policies_and_before_arrival(zero_kernel):
    k = zero_kernel(pk.sched.RoundRobin(quantum=MS))
    p = k.spawn(job("A", 5))
    k.run()
    assert p.threads[0].level is None
    k = zero_kernel(mlfq())
    p = k.spawn(job("A", 5), at=MS)
    assert p.threads[0].level is None
    k.run()
    assert p.threads[0].level == 0


def test_real_time_thread_runs_before_mlfq_jobs(zero_kernel):
    # The real-time class comes first (man 7 sched); MLFQ runs below it.
    k = zero_kernel(mlfq())
    a = k.spawn(job("A", 10), name="A")
    rt = k.spawn(job("RT", 10), name="RT", policy="fifo", rt_priority=10, at=5 * MS)
    k.run()
    assert rt.stats.finish == 15 * MS and a.stats.finish == 20 * MS
    assert rt.threads[0].level is None


def test_per_cpu_queues_balance_and_keep_levels(zero_kernel):
    # Four 30 ms jobs placed on CPU 0's queue: CPU 1 pulls work (steal),
    # both CPUs finish 120 ms of work between them, nothing is lost.
    k = zero_kernel(mlfq(), cpus=2, runqueues="per-cpu")
    procs = [k.spawn(job(f"J{i}", 30), name=f"J{i}", cpu=0) for i in range(4)]
    r = k.run()
    assert r.reason == "idle"
    assert all(p.state == "exited" for p in procs)
    assert k.stats.busy == 120 * MS
    assert k.cpu_stats(1).busy > 0 and k.stats.migrations > 0
    assert {p.threads[0].level for p in procs} == {2}
    assert_time_conserved(k)


def test_shared_queue_with_two_cpus(zero_kernel):
    # Two CPUs, one queue: the long jobs run in parallel and descend
    # together; a new job preempts one of them.
    k = zero_kernel(mlfq(), cpus=2)
    a = k.spawn(job("A", 100), name="A")
    b = k.spawn(job("B", 100), name="B")
    c = k.spawn(job("C", 10), name="C", at=50 * MS)
    k.run()
    assert c.stats.response == 0 and c.stats.finish == 60 * MS
    assert a.stats.finish + b.stats.finish == 110 * MS + 100 * MS
    assert_time_conserved(k)


# ---- configuration -------------------------------------------------------------

def test_defaults_and_repr():
    m = pk.sched.MLFQ()
    assert m.quanta == [10 * MS, 20 * MS, 40 * MS] and m.allotments == [1, 1, 1]
    assert m.boost is None and m.levels == 3
    assert repr(m) == ("MLFQ(quanta=[10000000, 20000000, 40000000], allotments=[1, 1, 1], "
                       "boost=None, io_resets_allotment=False, io_to_front=False)")
    assert pk.sched.MLFQ(quanta=[5, 6]) == pk.sched.MLFQ(quanta=(5, 6))
    assert pk.sched.MLFQ(quanta=[5, 6]) != pk.sched.MLFQ(quanta=[5, 7])
    assert pk.sched.MLFQ(boost=100) != pk.sched.MLFQ(boost=200)


@pytest.mark.parametrize("kwargs,exc", [
    ({"quanta": []}, ValueError),
    ({"quanta": [10] * 17}, ValueError),
    ({"quanta": [0, 10]}, ValueError),
    ({"quanta": [-10]}, ValueError),
    ({"quanta": [2 ** 62]}, ValueError),
    ({"quanta": [1.5]}, TypeError),
    ({"quanta": [True]}, TypeError),
    ({"quanta": "10"}, TypeError),
    ({"quanta": 10}, TypeError),
    ({"quanta": [10, 20], "allotments": [1]}, ValueError),
    ({"quanta": [10], "allotments": [1, 2]}, ValueError),
    ({"quanta": [10], "allotments": [0]}, ValueError),
    ({"quanta": [10], "allotments": [-1]}, ValueError),
    ({"quanta": [10], "allotments": [2.0]}, TypeError),
    ({"quanta": [2 ** 40], "allotments": [2 ** 30]}, ValueError),
    ({"boost": 0}, ValueError),
    ({"boost": -5}, ValueError),
    ({"boost": 1.5}, TypeError),
    ({"io_resets_allotment": 1}, TypeError),
    ({"io_to_front": "yes"}, TypeError),
])
def test_bad_configuration_is_refused(kwargs, exc):
    with pytest.raises(exc):
        pk.sched.MLFQ(**kwargs)


@pytest.mark.parametrize("params", [
    [], [0, 0, 0], [17] + [0] * 36, [1, 0, 0, 10], [1, 0, 0, 0, 1], [1, 0, 0, 10, 0],
    [1, 0, 8, 10, 1], [1, 2 ** 63, 0, 10, 1], [2, 0, 0, 10, 10, 1],
])
def test_core_refuses_malformed_parameters(params):
    # The C core validates what reaches it, whatever Python sends.
    class Raw(pk.sched.MLFQ):
        def _params(self):
            return params
    with pytest.raises(pk.KernelError):
        pk.Kernel(scheduler=Raw())


# ---- random workloads (hypothesis), as in test_properties.py --------------------------


MLFQ_POLICY = st.builds(
    lambda quanta, allot, boost, resets, front: pk.sched.MLFQ(
        quanta=quanta, allotments=allot[:len(quanta)] + [1] * (len(quanta) - len(allot)),
        boost=boost, io_resets_allotment=resets, io_to_front=front),
    st.lists(st.integers(1, 12), min_size=1, max_size=4),
    st.lists(st.integers(1, 3), max_size=4),
    st.one_of(st.none(), st.integers(1, 40)),
    st.booleans(), st.booleans())

WORKLOAD = st.fixed_dictionaries({
    "procs": st.lists(PROCESS, min_size=1, max_size=6),
    "policy": MLFQ_POLICY,
    "cpus": st.integers(1, 3),
    "switch": st.integers(0, 3),
    "splits": st.lists(st.integers(0, 300), max_size=4).map(sorted),
    "per_cpu": st.booleans(),
})


def build_mlfq(w):
    """test_properties.build, or the same scripts on per-CPU run queues."""
    if not w["per_cpu"]:
        return build(w)
    k = pk.Kernel(cpus=w["cpus"], scheduler=w["policy"], costs=pk.Costs(switch=w["switch"]),
                  runqueues="per-cpu", balance_interval=7)
    for i, spec in enumerate(w["procs"]):
        k.spawn(pk.Program.script(f"s{i}", spec["ops"]), at=spec["at"])
    return k


def levels_in_range(k):
    for p in k.processes:
        level = p.threads[0].level
        assert level is None or 0 <= level < k.scheduler.levels


@SETTINGS
@given(WORKLOAD)
def test_random_workloads_finish_and_conserve_time(w):
    k = build_mlfq(w)
    r = run_in_pieces(k, w["splits"], check=levels_in_range)
    assert r.reason == "idle"
    assert_time_conserved(k)
    for p, spec in zip(k.processes, w["procs"]):
        assert p.stats.cpu_time == total(spec["ops"], "compute")


@SETTINGS
@given(WORKLOAD)
def test_splitting_a_run_and_reading_levels_change_nothing(w):
    # Boosts are applied lazily: a run cut into pieces, with every level
    # read at each cut, must be the same run.
    whole = build_mlfq(w)
    whole.run()
    pieces = build_mlfq(w)
    run_in_pieces(pieces, w["splits"], check=levels_in_range)
    assert snapshot(pieces) == snapshot(whole)


# ---- compat="ostep": the conventions of OSTEP's mlfq.py ----------------------
# ostep-homework cpu-sched-mlfq/mlfq.py runs, each tick, the head of the
# highest non-empty queue; a job is (start, run time, io frequency): it
# issues an io of -i ticks (default 5) after every ioFreq ticks it runs.
# The expected (response, turnaround) pairs below are what `mlfq.py ... -c`
# prints as "Final statistics" for the command line quoted (one tick =
# 1 ms here); the second pair list is pykernel's default MLFQ, to show
# that the convention matters.

def ostep_run(jobs, quanta, allots, compat="ostep", boost=None, io_time=5, **kw):
    """Jobs in mlfq.py's -l form; (response, turnaround) per job, in ticks."""
    k = pk.Kernel(scheduler=pk.sched.MLFQ(
        quanta=[q * MS for q in quanta], allotments=allots, compat=compat,
        boost=boost and boost * MS, **kw), costs=pk.Costs.zero())
    procs = []
    for start, run, freq in jobs:
        ops, left = [], run
        while freq and left > freq:           # io after every `freq` ticks, not after the last
            ops += [pk.op.compute(freq * MS), pk.op.io(io_time * MS)]
            left -= freq
        ops.append(pk.op.compute(left * MS))
        procs.append(k.spawn(pk.Program.script("job", ops), at=start * MS))
    k.run()
    return [((p.stats.first_run - p.stats.arrival) // MS, (p.stats.finish - p.stats.arrival) // MS)
            for p in procs]


def test_ostep_job_back_from_io_at_the_front_preempts_its_own_level():
    # mlfq.py -Q 10,10 -A 5,5 -I -l 0,40,0:0,20,3 -c
    jobs = [(0, 40, 0), (0, 20, 3)]
    assert ostep_run(jobs, [10, 10], [5, 5], io_to_front=True) == [(0, 55), (10, 65)]
    assert ostep_run(jobs, [10, 10], [5, 5], compat=None, io_to_front=True) == [(0, 49), (10, 75)]


def test_ostep_expired_job_is_queued_before_a_job_arriving_then():
    # mlfq.py -Q 10,10,10 -A 2,2,2 -l 0,30,0:10,10,0 -c: A's first quantum
    # ends at 10 as B arrives; A is queued first and runs 10-20.
    jobs = [(0, 30, 0), (10, 10, 0)]
    assert ostep_run(jobs, [10, 10, 10], [2, 2, 2]) == [(0, 40), (10, 20)]
    assert ostep_run(jobs, [10, 10, 10], [2, 2, 2], compat=None) == [(0, 40), (0, 10)]


def test_ostep_quantum_is_kept_across_io():
    # mlfq.py -Q 10,10 -A 3,3 -l 0,30,7:0,30,0 -c: after its io, A runs
    # the 3 ticks left of its quantum, not a new one.
    jobs = [(0, 30, 7), (0, 30, 0)]
    assert ostep_run(jobs, [10, 10], [3, 3]) == [(0, 70), (7, 44)]
    assert ostep_run(jobs, [10, 10], [3, 3], compat=None) == [(0, 65), (7, 51)]


def test_ostep_boost_gathers_the_lowest_level_first():
    # mlfq.py -n 3 -q 1 -a 1 -B 5 -l 0,10,0:3,8,0:3,13,0 -c
    jobs = [(0, 10, 0), (3, 8, 0), (3, 13, 0)]
    assert ostep_run(jobs, [1, 1, 1], [1, 1, 1], boost=5) == [(0, 21), (0, 19), (1, 28)]
    assert ostep_run(jobs, [1, 1, 1], [1, 1, 1], boost=5, compat=None) == [(0, 25), (0, 21), (1, 28)]


def test_ostep_stay_after_io_still_counts_a_quantum_that_ended_then():
    # mlfq.py -Q 5,5,5 -A 2,2,2 -S -l 0,30,5:0,30,0 -c
    jobs = [(0, 30, 5), (0, 30, 0)]
    assert ostep_run(jobs, [5, 5, 5], [2, 2, 2], io_resets_allotment=True) == [(0, 60), (5, 55)]
    assert ostep_run(jobs, [5, 5, 5], [2, 2, 2], compat=None,
                     io_resets_allotment=True) == [(0, 55), (5, 60)]


def test_ostep_compat_is_checked_and_shown():
    assert "compat='ostep'" in repr(pk.sched.MLFQ(compat="ostep"))
    with pytest.raises(ValueError):
        pk.sched.MLFQ(compat="linux")


def test_ostep_mlfq_continues_bit_for_bit_after_restore():
    def make():
        k = pk.Kernel(scheduler=pk.sched.MLFQ(quanta=[MS, MS, MS], boost=5 * MS, io_to_front=True,
                                              compat="ostep"), costs=pk.Costs.zero())
        for start, run, freq in [(0, 10, 0), (3, 8, 2), (3, 13, 3)]:
            ops = [pk.op.loop(run, [pk.op.compute(MS), pk.op.io(freq * MS)])] if freq else \
                  [pk.op.compute(run * MS)]
            k.spawn(pk.Program.script("job", ops), at=start * MS)
        return k
    ref = make()
    ref.run()
    for cut in (3 * MS, 5 * MS, 7 * MS + 1):
        k = make()
        k.run(until=cut)
        copy = pk.Kernel.restore(k.snapshot())
        copy.run()
        assert copy.digest() == ref.digest(), cut
