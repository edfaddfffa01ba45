"""Proportional share: Lottery (Waldspurger and Weihl, OSDI 1994) and
Stride (Waldspurger, "Lottery and Stride Scheduling", MIT 1995), as OSTEP
ch. 9 ("Scheduling: Proportional Share") presents them, with free context
switches. Times are ns; Q is the quantum.
"""

import pytest
from hypothesis import given, strategies as st

import pykernel as pk
from conftest import assert_time_conserved, make_kernel
from test_properties import PROCESS, SETTINGS, build, run_in_pieces, snapshot, total

Q = 1_000_000


def long_job(name="J"):
    return pk.Program.script(name, [pk.op.compute(10 ** 6 * Q)])


def cpu_times(procs):
    return [p.stats.cpu_time for p in procs]


# ---- Lottery -------------------------------------------------------------------

def lottery_pair(seed, tickets=(100, 50), quanta=10_000):
    k = make_kernel(pk.sched.Lottery(quantum=Q), seed=seed)
    procs = [k.spawn(long_job(), tickets=t) for t in tickets]
    k.run(until=quanta * Q)
    return k, procs


def test_lottery_100_vs_50_tickets_converges_to_2_to_1():
    # OSTEP ch. 9: a job's share of the CPU is its share of the tickets,
    # probabilistically; over 10,000 quanta 100 vs 50 tickets come within
    # 5% of 2:1.
    k, (a, b) = lottery_pair(seed=0)
    assert a.stats.cpu_time + b.stats.cpu_time == 10_000 * Q
    assert abs(a.stats.cpu_time / b.stats.cpu_time - 2) < 0.1


def test_lottery_winner_runs_whole_quanta():
    # Lotteries are held only at quantum boundaries (or on an idle CPU).
    k, procs = lottery_pair(seed=3, quanta=100)
    assert all(t % Q == 0 for t in cpu_times(procs))


def test_lottery_same_seed_same_schedule():
    k1, p1 = lottery_pair(seed=42, quanta=1000)
    k2, p2 = lottery_pair(seed=42, quanta=1000)
    assert k1.digest() == k2.digest()
    assert cpu_times(p1) == cpu_times(p2)


def test_lottery_different_seed_different_schedule():
    k1, p1 = lottery_pair(seed=1, quanta=1000)
    k2, p2 = lottery_pair(seed=2, quanta=1000)
    assert k1.digest() != k2.digest()
    assert cpu_times(p1) != cpu_times(p2)


def test_lottery_single_job_keeps_the_cpu(zero_kernel):
    k = zero_kernel(pk.sched.Lottery(quantum=Q))
    p = k.spawn(pk.Program.script("A", [pk.op.compute(10 * Q)]))
    k.run()
    assert p.stats.finish == 10 * Q and k.stats.context_switches == 1


def test_lottery_many_threads_all_finish_and_more_tickets_finish_sooner(zero_kernel):
    # 300 ready threads (the ticket tree grows past its first 64 slots),
    # each needing one quantum: 300 lotteries, one per quantum; threads
    # with more tickets tend to win earlier.
    k = zero_kernel(pk.sched.Lottery(quantum=Q), seed=5)
    one = pk.Program.script("one", [pk.op.compute(Q)])
    procs = [k.spawn(one, tickets=1 + 10 * i) for i in range(300)]
    k.run()
    finishes = sorted(p.stats.finish for p in procs)
    assert finishes == [(i + 1) * Q for i in range(300)]
    low = sum(p.stats.finish for p in procs[:150])
    high = sum(p.stats.finish for p in procs[150:])
    assert high < low


def test_lottery_set_tickets_changes_the_share():
    # 100 vs 100, then A gets 300: over the next 6,000 quanta A's share
    # is 3:1, within 5%.
    k = make_kernel(pk.sched.Lottery(quantum=Q), seed=11)
    a, b = k.spawn(long_job()), k.spawn(long_job())
    k.run(until=100 * Q)
    a.threads[0].set_tickets(300)
    before = cpu_times([a, b])
    k.run(until=6_100 * Q)
    da, db = (x - y for x, y in zip(cpu_times([a, b]), before))
    assert a.threads[0].tickets == 300
    assert abs(da / db - 3) < 0.15


def test_transfer_tickets_moves_them_between_threads():
    # Waldspurger and Weihl §3.1: a transfer moves tickets from one client
    # to another; here it is explicit. 100/100 -> 40/160: then 1:4.
    k = make_kernel(pk.sched.Lottery(quantum=Q), seed=2)
    a, b = k.spawn(long_job()), k.spawn(long_job())
    ta, tb = a.threads[0], b.threads[0]
    ta.transfer_tickets(tb, 60)
    assert (ta.tickets, tb.tickets) == (40, 160)
    k.run(until=10_000 * Q)
    assert abs(b.stats.cpu_time / a.stats.cpu_time - 4) < 0.2


def test_transfer_tickets_bad_input():
    k = make_kernel(pk.sched.Lottery(quantum=Q))
    a, b = k.spawn(long_job(), tickets=10), k.spawn(long_job())
    ta, tb = a.threads[0], b.threads[0]
    with pytest.raises(ValueError):
        ta.transfer_tickets(tb, 10)          # must keep one
    with pytest.raises(ValueError):
        ta.transfer_tickets(tb, 0)
    with pytest.raises(ValueError):
        ta.transfer_tickets(ta, 1)
    with pytest.raises(TypeError):
        ta.transfer_tickets(b, 1)            # a Process, not a Thread
    with pytest.raises(TypeError):
        ta.transfer_tickets(tb, 1.5)
    other = make_kernel(pk.sched.Lottery(quantum=Q)).spawn(long_job()).threads[0]
    with pytest.raises(ValueError):
        ta.transfer_tickets(other, 1)
    assert (ta.tickets, tb.tickets) == (10, 100)


def test_transfer_tickets_core_refuses_bad_input():
    from pykernel._ffi import lib
    k = make_kernel(pk.sched.Lottery(quantum=Q))
    k.spawn(long_job(), tickets=5)
    k.spawn(long_job(), tickets=2 ** 32 - 1)
    kp = k._kp
    assert lib.pk_thread_transfer_tickets(kp, 0, 0, 1) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_transfer_tickets(kp, 0, 9, 1) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_transfer_tickets(kp, 0, 1, 5) == lib.PK_ERR_OUT_OF_RANGE
    assert lib.pk_thread_transfer_tickets(kp, 0, 1, 1) == lib.PK_ERR_OUT_OF_RANGE  # overflow
    assert lib.pk_thread_transfer_tickets(kp, 0, 1, 0) == lib.PK_ERR_INVALID_ARGS


def test_lottery_automatic_transfer_is_not_implemented():
    with pytest.raises(NotImplementedError, match="transfer_tickets"):
        pk.sched.Lottery(transfer=True)


def test_lottery_per_cpu_queues(zero_kernel):
    k = zero_kernel(pk.sched.Lottery(quantum=Q), cpus=2, runqueues="per-cpu")
    job = pk.Program.script("J", [pk.op.compute(20 * Q)])
    procs = [k.spawn(job, cpu=0) for _ in range(4)]
    assert k.run().reason == "idle"
    assert all(p.state == "exited" for p in procs)
    assert k.stats.busy == 80 * Q and k.cpu_stats(1).busy > 0
    assert_time_conserved(k)


# ---- Stride ---------------------------------------------------------------------

def ostep_abc(stride1=10_000):
    k = make_kernel(pk.sched.Stride(quantum=Q, stride1=stride1))
    procs = [k.spawn(long_job(n), name=n, tickets=t) for n, t in (("A", 100), ("B", 50),
                                                                 ("C", 250))]
    return k, procs


def test_stride_ostep_pass_table():
    # OSTEP ch. 9, Figure 9.3 "Stride Scheduling: A Trace": A, B, C with
    # 100, 50, 250 tickets; strides 10,000 / tickets = 100, 200, 40.
    # (pass A, pass B, pass C, who runs), one row per quantum.
    # Each row is checked 1 ns into the quantum it decides.
    table = [(0, 0, 0, "A"), (100, 0, 0, "B"), (100, 200, 0, "C"), (100, 200, 40, "C"),
             (100, 200, 80, "C"), (100, 200, 120, "A"), (200, 200, 120, "C"),
             (200, 200, 160, "C"), (200, 200, 200, "B")]
    k, procs = ostep_abc()
    ran = {"A": 0, "B": 0, "C": 0}
    for row, (pa, pb, pc, who) in enumerate(table):
        k.run(until=row * Q)
        assert cpu_times(procs) == [ran["A"] * Q, ran["B"] * Q, ran["C"] * Q]
        k.run(until=row * Q + 1)
        assert [p.threads[0].pass_value for p in procs] == [pa, pb, pc]
        assert [p.name for p in procs if p.threads[0].state == "running"] == [who]
        ran[who] += 1
        if row == 7:
            # "C ran five times, A twice, and B just once, exactly in
            # proportion to their ticket values of 250, 100, and 50."
            assert ran == {"A": 2, "B": 1, "C": 5}
    # At 200, 200, 200 the tie goes to B, which has waited longest.


def test_stride_3_2_1_tickets_exact_at_every_round():
    # Stride gives exact proportions at the end of each round of 6 quanta.
    k = make_kernel(pk.sched.Stride(quantum=Q))
    procs = [k.spawn(long_job(), tickets=t) for t in (3, 2, 1)]
    for r in range(1, 201):
        k.run(until=6 * r * Q)
        assert cpu_times(procs) == [3 * r * Q, 2 * r * Q, r * Q]


def test_stride_charges_part_of_a_quantum_proportionally(zero_kernel):
    # Stride 10,000 / 100 = 100 per quantum: 0.25 quantum of CPU adds 25,
    # then 0.5 more adds 50 (Waldspurger: the pass advances by the fraction
    # of the quantum used).
    k = zero_kernel(pk.sched.Stride(quantum=Q, stride1=10_000))
    p = k.spawn(pk.Program.script("io", [pk.op.compute(Q // 4), pk.op.io(Q),
                                         pk.op.compute(Q // 2), pk.op.io(Q)]))
    k.run(until=Q)
    assert p.threads[0].pass_value == 25
    k.run(until=2 * Q)
    assert p.threads[0].pass_value == 75


def test_stride_new_job_starts_at_the_global_pass(zero_kernel):
    # OSTEP ch. 9: a new job's pass is set to the minimum pass, so it
    # cannot monopolise the CPU. A runs alone for 100 quanta (pass 10,000);
    # B arrives with pass 10,000 and the two alternate.
    k = zero_kernel(pk.sched.Stride(quantum=Q, stride1=10_000))
    a = k.spawn(long_job("A"), name="A")
    b = k.spawn(long_job("B"), name="B", at=100 * Q)
    k.run(until=100 * Q + 1)
    assert (a.threads[0].pass_value, b.threads[0].pass_value) == (10_000, 10_000)
    k.run(until=110 * Q)
    assert cpu_times([a, b]) == [105 * Q, 5 * Q]


def test_stride_sleeper_cannot_bank_cpu_time(zero_kernel):
    # B sleeps 50 quanta while A runs; it wakes at the global pass, so it
    # gets half the CPU from then on, not 50 quanta in a row.
    k = zero_kernel(pk.sched.Stride(quantum=Q, stride1=10_000))
    a = k.spawn(long_job("A"), name="A")
    b = k.spawn(pk.Program.script("B", [pk.op.sleep(50 * Q), pk.op.compute(10 ** 6 * Q)]), name="B")
    k.run(until=50 * Q)
    assert a.stats.cpu_time == 50 * Q
    k.run(until=60 * Q)
    assert cpu_times([a, b]) == [55 * Q, 5 * Q]


def test_stride_set_tickets_takes_effect(zero_kernel):
    # 100/100, then A gets 200: A's stride halves and it runs 2 of every 3
    # quanta from the next round on.
    k = zero_kernel(pk.sched.Stride(quantum=Q, stride1=10_000))
    a, b = k.spawn(long_job("A")), k.spawn(long_job("B"))
    k.run(until=10 * Q)
    a.threads[0].set_tickets(200)
    before = cpu_times([a, b])
    k.run(until=310 * Q)
    da, db = (x - y for x, y in zip(cpu_times([a, b]), before))
    assert abs(da - 200 * Q) <= Q and abs(db - 100 * Q) <= Q


def test_stride_ignores_the_seed():
    # Stride is deterministic: no random draw at all.
    digests = set()
    for seed in (1, 2):
        k = make_kernel(pk.sched.Stride(quantum=Q), seed=seed)
        for t in (10, 20, 30):
            k.spawn(long_job(), tickets=t)
        k.run(until=500 * Q)
        digests.add(k.digest())
    assert len(digests) == 1


def test_stride_per_cpu_queues(zero_kernel):
    k = zero_kernel(pk.sched.Stride(quantum=Q), cpus=2, runqueues="per-cpu")
    job = pk.Program.script("J", [pk.op.compute(20 * Q)])
    procs = [k.spawn(job, cpu=0, tickets=100 * (i + 1)) for i in range(4)]
    assert k.run().reason == "idle"
    assert all(p.state == "exited" for p in procs)
    assert k.stats.busy == 80 * Q and k.cpu_stats(1).busy > 0 and k.stats.migrations > 0
    assert_time_conserved(k)


def test_pass_value_is_none_under_other_policies(zero_kernel):
    k = zero_kernel(pk.sched.Lottery(quantum=Q))
    p = k.spawn(long_job())
    k.run(until=Q)
    assert p.threads[0].pass_value is None and p.threads[0].level is None


# ---- configuration -----------------------------------------------------------------

def test_share_policies_defaults_and_repr():
    assert repr(pk.sched.Lottery()) == "Lottery(quantum=10000000, transfer=False)"
    assert repr(pk.sched.Stride()) == "Stride(quantum=10000000, stride1=1048576)"
    assert pk.sched.Stride(stride1=10) != pk.sched.Stride(stride1=20)
    assert pk.sched.Lottery(quantum=5) == pk.sched.Lottery(quantum=5)
    assert not pk.sched.Lottery.per_cpu and not pk.sched.Stride.per_cpu


@pytest.mark.parametrize("make,exc", [
    (lambda: pk.sched.Lottery(quantum=0), ValueError),
    (lambda: pk.sched.Lottery(quantum=-1), ValueError),
    (lambda: pk.sched.Lottery(quantum=1.5), TypeError),
    (lambda: pk.sched.Lottery(transfer="no"), TypeError),
    (lambda: pk.sched.Stride(quantum=0), ValueError),
    (lambda: pk.sched.Stride(quantum="1"), TypeError),
    (lambda: pk.sched.Stride(stride1=0), ValueError),
    (lambda: pk.sched.Stride(stride1=2 ** 32 + 1), ValueError),
    (lambda: pk.sched.Stride(stride1=10.0), TypeError),
    (lambda: pk.sched.Stride(stride1=True), TypeError),
])
def test_bad_configuration_is_refused(make, exc):
    with pytest.raises(exc):
        make()


@pytest.mark.parametrize("cls,params", [
    (pk.sched.Lottery, []), (pk.sched.Lottery, [0]), (pk.sched.Lottery, [1, 2]),
    (pk.sched.Lottery, [2 ** 63]),
    (pk.sched.Stride, [Q]), (pk.sched.Stride, [0, 10]), (pk.sched.Stride, [Q, 0]),
    (pk.sched.Stride, [Q, 2 ** 33]),
])
def test_core_refuses_malformed_parameters(cls, params):
    class Raw(cls):
        def _params(self):
            return params
    with pytest.raises(pk.KernelError):
        pk.Kernel(scheduler=Raw())


def test_tickets_must_be_positive(zero_kernel):
    k = zero_kernel(pk.sched.Stride(quantum=Q))
    with pytest.raises(ValueError):
        k.spawn(long_job(), tickets=0)
    p = k.spawn(long_job(), tickets=2 ** 32 - 1)     # stride 0 would be 1
    k.run(until=3 * Q)
    assert p.stats.cpu_time == 3 * Q


# ---- random workloads (hypothesis), as in test_properties.py --------------------------


SHARE_POLICY = st.one_of(
    st.builds(pk.sched.Lottery, st.integers(1, 12)),
    st.builds(pk.sched.Stride, st.integers(1, 12), st.integers(1, 2 ** 20)),
)

WORKLOAD = st.fixed_dictionaries({
    "procs": st.lists(PROCESS, min_size=1, max_size=6),
    "tickets": st.lists(st.integers(1, 1000), min_size=6, max_size=6),
    "policy": SHARE_POLICY,
    "cpus": st.integers(1, 3),
    "switch": st.integers(0, 3),
    "splits": st.lists(st.integers(0, 300), max_size=4).map(sorted),
    "per_cpu": st.booleans(),
})


def build_share(w):
    """test_properties.build (or its scripts on per-CPU run queues), with
    the workload's tickets."""
    if w["per_cpu"]:
        k = pk.Kernel(cpus=w["cpus"], scheduler=w["policy"], costs=pk.Costs(switch=w["switch"]),
                      runqueues="per-cpu", balance_interval=7)
        for i, spec in enumerate(w["procs"]):
            k.spawn(pk.Program.script(f"s{i}", spec["ops"]), at=spec["at"])
    else:
        k = build(w)
    for p, t in zip(k.processes, w["tickets"]):
        p.threads[0].set_tickets(t)
    return k


def read_passes(k):
    for p in k.processes:
        p.threads[0].pass_value


@SETTINGS
@given(WORKLOAD)
def test_random_workloads_finish_and_conserve_time(w):
    k = build_share(w)
    r = run_in_pieces(k, w["splits"], check=read_passes)
    assert r.reason == "idle"
    assert_time_conserved(k)
    for p, spec in zip(k.processes, w["procs"]):
        assert p.stats.cpu_time == total(spec["ops"], "compute")


@SETTINGS
@given(WORKLOAD)
def test_splitting_a_run_changes_nothing(w):
    whole = build_share(w)
    whole.run()
    pieces = build_share(w)
    run_in_pieces(pieces, w["splits"], check=read_passes)
    assert snapshot(pieces) == snapshot(whole)


@pytest.mark.parametrize("policy", [pk.sched.Lottery(quantum=Q), pk.sched.Stride(quantum=Q),
                                    pk.sched.MLFQ(quanta=[Q] * 3)], ids=repr)
def test_running_thread_leaving_real_time_enters_the_policy_afresh(policy):
    # A SCHED_FIFO thread made "other" while it runs alone enters the
    # policy at that instant (as a new thread), although no other thread
    # is ready to make it pass through the run queue.
    k = make_kernel(policy)
    p = k.spawn(pk.Program.script("A", [pk.op.compute(10 * Q)]), policy="fifo", rt_priority=5)
    k.run(until=2 * Q)
    t = p.threads[0]
    t.set_policy("other")
    assert t.level is None and t.pass_value is None      # not entered yet
    k.run(until=5 * Q)
    if isinstance(policy, pk.sched.Stride):
        assert t.pass_value == 3 * (2 ** 20 // 100)       # 3 quanta since it entered
    if isinstance(policy, pk.sched.MLFQ):
        assert t.level == 2                              # entered at 0 at 2 Q
    k.run()
    assert p.stats.finish == 10 * Q
    assert_time_conserved(k)
