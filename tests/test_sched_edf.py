"""Periodic real-time tasks, EDF, rate-monotonic and deadline-monotonic
scheduling.

Sources of the rules and numbers:
  [LL73]  C. L. Liu and J. W. Layland, "Scheduling Algorithms for
          Multiprogramming in a Hard-Real-Time Environment", JACM 20(1),
          1973: the periodic task model (job j released at phase + j*T,
          deadline at the next release), EDF ("deadline driven") meets every
          deadline iff U <= 1; rate monotonic meets every deadline if
          U <= n(2^(1/n) - 1), 0.828 for n = 2.
  [But]   G. Buttazzo, Hard Real-Time Computing Systems, ch. 4 (EDF, RM),
          and "Rate Monotonic vs. EDF: Judgment Day", Real-Time Systems
          29(1), 2005: tau1 = (C=2, T=5), tau2 = (C=4, T=7), U = 0.971, is
          scheduled by EDF but RM misses tau2's first deadline at t = 7.
  [LW82]  J. Leung and J. Whitehead, "On the complexity of fixed-priority
          scheduling of periodic, real-time tasks", Performance Evaluation
          2(4), 1982: deadline-monotonic priorities.
  [doc]   the semantics documented in Program.periodic, pk.sched.EDF and
          csrc/sched/pk_periodic.c (overruns delay the next job; ties go to the job
          that became ready first; non-periodic threads run in background).
Every schedule below was worked out by hand from those rules, with free
context switches (Costs.zero()); times are plain ns.
"""

import struct

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound
from pykernel._ffi import MAX_TIME, lib


def kernel(policy=None, cpus=1, **kw):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.EDF() if policy is None else policy,
                     costs=kw.pop("costs", pk.Costs.zero()), **kw)


def periodic(k, name, period, wcet, **kw):
    at = kw.pop("at", None)
    return k.spawn(pk.Program.periodic(name, period, wcet, **kw), name=name, at=at)


def finishes(p):
    return [j.finish for j in p.jobs]


def records(p):
    return [(j.index, j.release, j.finish, j.deadline) for j in p.jobs]


# ---- the periodic task model -------------------------------------------------------

def test_job_j_is_released_at_phase_plus_j_periods():
    # [LL73] alone on a CPU, each job runs from its release for wcet.
    k = kernel()
    p = periodic(k, "T", 10, 3, phase=4, jobs=3)
    k.run()
    assert records(p) == [(0, 4, 7, 14), (1, 14, 17, 24), (2, 24, 27, 34)]
    assert [j.response for j in p.jobs] == [3, 3, 3]


def test_deadline_defaults_to_the_period():
    # [doc] implicit deadline: absolute deadline = release + period.
    assert pk.Program.periodic("T", 7, 2).task.deadline == 7
    k = kernel()
    p = periodic(k, "T", 7, 2, jobs=2)
    k.run()
    assert [j.deadline for j in p.jobs] == [7, 14]


def test_process_arrives_at_spawn_at_plus_phase():
    # [doc] the process arrives at its phase; releases count from there.
    k = kernel(pk.sched.RateMonotonic())
    p = periodic(k, "P", 10, 1, phase=3, jobs=2, at=5)
    k.run()
    assert p.stats.arrival == 8
    assert records(p) == [(0, 8, 9, 18), (1, 18, 19, 28)]


def test_jobs_n_exits_with_code_zero_after_n_jobs():
    k = kernel()
    p = periodic(k, "T", 10, 3, jobs=3)
    r = k.run()
    assert (r.reason, k.now) == ("idle", 23)
    assert (p.state, p.exit_code) == ("exited", 0)
    assert finishes(p) == [3, 13, 23]
    assert p.job_stats.completed == 3


def test_jobs_none_runs_until_the_run_stops():
    k = kernel()
    p = periodic(k, "T", 10, 3)
    r = k.run(until=100)
    assert r.reason == "until"
    assert p.state == "alive"
    assert finishes(p) == [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]


def test_zero_jobs_exits_at_arrival():
    k = kernel()
    p = periodic(k, "T", 10, 3, jobs=0)
    k.run()
    assert (p.state, p.exit_code, p.jobs, k.now) == ("exited", 0, [], 0)


def test_zero_wcet_job_finishes_at_its_release():
    k = kernel()
    p = periodic(k, "T", 4, 0, jobs=3)
    k.run()
    assert records(p) == [(0, 0, 0, 4), (1, 4, 4, 8), (2, 8, 8, 12)]


def test_overrunning_job_delays_the_next_without_losing_its_release():
    # [doc] T=4, C=6: job 0 runs 0-6 (deadline 4: miss); job 1, released
    # at 4, begins at 6 and runs to 12 (deadline 8); job 2 (release 8)
    # runs 12-18 (deadline 12). Releases and deadlines stay nominal.
    k = kernel()
    p = periodic(k, "O", 4, 6, jobs=3)
    k.run()
    assert records(p) == [(0, 0, 6, 4), (1, 4, 12, 8), (2, 8, 18, 12)]
    assert [j.response for j in p.jobs] == [6, 8, 10]
    assert [j.lateness for j in p.jobs] == [2, 4, 6]
    assert p.deadline_misses == 3


def test_wcet_beyond_the_deadline_is_allowed_and_every_job_misses():
    # Decision [doc]: wcet > deadline is accepted; each job finishes
    # wcet after its release, 1 ns past a deadline of 2.
    k = kernel()
    p = periodic(k, "T", 10, 3, deadline=2, jobs=2)
    k.run()
    assert records(p) == [(0, 0, 3, 2), (1, 10, 13, 12)]
    assert [j.missed for j in p.jobs] == [True, True]
    assert p.deadline_misses == 2


def test_finishing_exactly_at_the_deadline_is_not_a_miss():
    # [LL73] a job must complete by its deadline; wcet == period.
    k = kernel()
    p = periodic(k, "T", 4, 4, jobs=3)
    k.run()
    assert finishes(p) == [4, 8, 12]
    assert p.deadline_misses == 0


def test_job_stats_mid_run_count_released_completed_and_overdue():
    # T=4, C=6, forever, stopped at t=10: releases at 0, 4, 8 (3 released);
    # job 0 completed at 6 (a miss); job 1 runs since 6 and its deadline 8
    # has passed (overdue); job 2's deadline 12 has not.
    k = kernel()
    p = periodic(k, "O", 4, 6)
    k.run(until=10)
    assert p.job_stats == pk.JobStats(period=4, deadline=4, released=3, completed=1,
                                      deadline_misses=1, overdue=1)


def test_registers_hold_the_job_state():
    # csrc/core/pk_api.h: x[6] period, x[7] relative deadline, x[8] release,
    # x[9] absolute deadline, x[10] jobs begun, x[11] completed, x[12]
    # misses, x[13] jobs in all. At t=12 job 1 (release 10) is running.
    k = kernel()
    p = periodic(k, "T", 10, 4, deadline=8, jobs=5)
    k.run(until=12)
    regs = p.threads[0].registers
    assert regs.x[6:14] == (10, 8, 10, 18, 2, 1, 0, 5)
    assert regs.flags & lib.PK_RF_PERIODIC and regs.flags & lib.PK_RF_IN_JOB


def test_periodic_program_burst_and_repr():
    prog = pk.Program.periodic("T", 5, 2, deadline=4, phase=1, jobs=3)
    assert prog.burst == 6
    assert pk.Program.periodic("T", 5, 2).burst is None
    assert repr(prog) == "Program.periodic('T', period=5, wcet=2, deadline=4, phase=1, jobs=3)"
    assert prog.task == pk.PeriodicTask(period=5, wcet=2, deadline=4, phase=1, jobs=3)


def test_periodic_tasks_run_under_other_policies_too():
    # FIFO: the tasks' jobs run in release order, to completion.
    k = kernel(pk.sched.FIFO())
    a = periodic(k, "A", 10, 4, jobs=2)
    b = periodic(k, "B", 5, 1, jobs=2)
    k.run()
    assert finishes(a) == [4, 14]
    assert finishes(b) == [5, 6]


# ---- EDF ----------------------------------------------------------------------------

def test_edf_meets_every_deadline_at_utilization_one():
    # [LL73] U = 2/4 + 3/6 = 1. Hyperperiod 12, by hand: T1 0-2, T2 2-5
    # (T1's job 1, deadline 8, does not beat T2's 6), T1 5-7, T2 7-10
    # (at 8 T1's job 2 has deadline 12 = T2's: T2's job, ready since 6,
    # goes on), T1 10-12. The CPU never idles; three hyperperiods.
    k = kernel()
    t1 = periodic(k, "T1", 4, 2, jobs=9)
    t2 = periodic(k, "T2", 6, 3, jobs=6)
    k.run()
    assert finishes(t1) == [2, 7, 12, 14, 19, 24, 26, 31, 36]
    assert finishes(t2) == [5, 10, 17, 22, 29, 34]
    assert [j.response for j in t1.jobs[:3]] == [2, 3, 4]
    assert [j.response for j in t2.jobs[:2]] == [5, 4]
    assert k.deadline_misses == 0
    assert k.stats.idle == 0 and k.now == 36
    assert_time_conserved(k)


def test_edf_schedules_buttazzo_set_that_rm_cannot():
    # [But] tau1 = (2, 5), tau2 = (4, 7), U = 0.971. EDF by hand over the
    # hyperperiod 35: tau2 runs 2-6 (its deadline 7 beats tau1's 10 at 5);
    # ... at 30 tau1's deadline 35 ties tau2's (released at 28): tau2 goes
    # on. One idle ns, 34-35.
    k = kernel()
    t1 = periodic(k, "T1", 5, 2, jobs=7)
    t2 = periodic(k, "T2", 7, 4, jobs=5)
    k.run()
    assert finishes(t1) == [2, 8, 14, 17, 22, 28, 34]
    assert finishes(t2) == [6, 12, 20, 26, 32]
    assert k.deadline_misses == 0
    assert k.jobs_completed == 12


def test_rm_misses_t2_first_deadline_on_buttazzo_set():
    # [But] RM (tau1 first, shorter period): tau1 0-2, tau2 2-5, tau1 5-7;
    # at 7 tau2's job 0 still needs 1 ns: it finishes at 8 > 7, the only
    # miss of the hyperperiod. Its job 1 (released 7) begins at 8.
    k = kernel(pk.sched.RateMonotonic())
    t1 = periodic(k, "T1", 5, 2, jobs=7)
    t2 = periodic(k, "T2", 7, 4, jobs=5)
    k.run()
    assert finishes(t1) == [2, 7, 12, 17, 22, 27, 32]
    assert records(t2)[0] == (0, 0, 8, 7)
    assert finishes(t2) == [8, 14, 20, 28, 34]
    assert [j for j in k.jobs if j.missed] == [pk.PeriodicJob(tid=1, index=0, release=0, finish=8,
                                                                deadline=7)]
    assert (k.deadline_misses, t1.deadline_misses, t2.deadline_misses) == (1, 0, 1)


def test_rm_meets_every_deadline_under_the_liu_layland_bound():
    # [LL73] U = 1/3 + 2/5 = 0.733 <= 0.828. By hand (hyperperiod 15):
    # T1 0-1, T2 1-3; T1 3-4; T2 5-6, T1 preempts at 6 (6-7), T2 7-8;
    # T1 9-10; T2 10-12; T1 12-13.
    k = kernel(pk.sched.RateMonotonic())
    t1 = periodic(k, "T1", 3, 1, jobs=5)
    t2 = periodic(k, "T2", 5, 2, jobs=3)
    k.run()
    assert [j.response for j in t1.jobs] == [1, 1, 1, 1, 1]
    assert [j.response for j in t2.jobs] == [3, 3, 2]
    assert t2.stats.involuntary_switches == 1
    assert k.deadline_misses == 0


def test_edf_release_with_earlier_deadline_preempts():
    # A (C=5, T=20) runs 0-1; B (C=1, T=3, phase 1: deadlines 4, 7, 10)
    # takes the CPU at each release: B 1-2, A 2-4, B 4-5, A 5-7, B 7-8.
    k = kernel()
    a = periodic(k, "A", 20, 5, jobs=1)
    b = periodic(k, "B", 3, 1, phase=1, jobs=3)
    k.run()
    assert finishes(a) == [7]
    assert finishes(b) == [2, 5, 8]
    assert a.stats.involuntary_switches == 2


def test_edf_equal_deadlines_keep_the_preempted_job_first():
    # [doc] A (release 0, deadline 10) runs 0-2; B (release 1, deadline
    # 10) does not preempt it; C (release 2, deadline 3) does, 2-3. Then A,
    # ready before B, resumes 3-5, and B runs 5-7.
    k = kernel()
    a = periodic(k, "A", 10, 4, jobs=1)
    b = periodic(k, "B", 9, 2, phase=1, jobs=1)
    c = periodic(k, "C", 5, 1, deadline=1, phase=2, jobs=1)
    k.run()
    assert (finishes(a), finishes(b), finishes(c)) == ([5], [7], [3])


def test_edf_non_periodic_threads_run_in_the_background():
    # [doc] deadline = infinity: a compute(10) thread runs only between
    # the jobs of T (C=1, T=4): T 0-1, bg 1-4, T 4-5, bg 5-8, T 8-9, bg 9-13.
    k = kernel()
    bg = k.spawn(cpu_bound(10), name="bg")
    t = periodic(k, "T", 4, 1, jobs=3)
    k.run()
    assert finishes(t) == [1, 5, 9]
    assert bg.stats.finish == 13
    assert bg.job_stats == pk.JobStats()


def test_edf_python_bodies_run_in_the_background():
    def body(ctx):
        yield ctx.compute(10)
    k = kernel()
    bg = k.spawn(pk.Program.python("bg", body))
    t = periodic(k, "T", 4, 1, jobs=3)
    k.run()
    assert finishes(t) == [1, 5, 9]
    assert bg.stats.finish == 13


def test_edf_job_beginning_late_gives_way_to_an_earlier_deadline():
    # [doc] A (C=5, T=4) overruns: job 0 runs 0-5. B (C=1, T=3, phase 4)
    # was released at 4 with deadline 7, after A's 4. At 5 A's job 1
    # begins with deadline 8: B now goes first, 5-6, then A 6-11.
    k = kernel()
    a = periodic(k, "A", 4, 5, jobs=2)
    b = periodic(k, "B", 3, 1, phase=4, jobs=1)
    k.run()
    assert records(a) == [(0, 0, 5, 4), (1, 4, 11, 8)]
    assert records(b) == [(0, 4, 6, 7)]


def test_job_beginning_at_once_on_its_cpu_costs_no_switch():
    # Costs.switch = 1: the first dispatch costs 1 (job 0 runs 1-7); job 1
    # begins at once on the same CPU (no other thread): no second switch.
    k = kernel(costs=pk.Costs(switch=1))
    p = periodic(k, "O", 4, 6, jobs=2)
    k.run()
    assert finishes(p) == [7, 13]
    assert k.stats.context_switches == 1


def test_global_edf_runs_three_tasks_on_two_cpus():
    # [doc] shared queue: at each release (0, 4, 8) A and B run first (ties
    # in the order they became ready); C runs when a CPU frees up, and
    # meets its deadline exactly. U = 1.5 <= 2.
    k = kernel(cpus=2)
    a = periodic(k, "A", 4, 2, jobs=3)
    b = periodic(k, "B", 4, 2, jobs=3)
    c = periodic(k, "C", 4, 2, jobs=3)
    k.run()
    assert finishes(a) == [2, 6, 10]
    assert finishes(b) == [2, 6, 10]
    assert finishes(c) == [4, 8, 12]
    assert k.deadline_misses == 0
    assert_time_conserved(k)


def test_edf_with_per_cpu_queues_completes_every_job():
    # Four light tasks (U = 2/4 + 2/5 + 2/6 + 2/7 = 1.52) on two CPUs with
    # per-CPU queues and balancing: every job completes, by the last
    # release of the slowest task (19 * 7) plus its wcet.
    k = kernel(cpus=2, runqueues="per-cpu")
    ps = [periodic(k, f"T{i}", 4 + i, 2, jobs=20) for i in range(4)]
    k.run()
    assert [p.job_stats.completed for p in ps] == [20, 20, 20, 20]
    assert k.now == 19 * 7 + 2
    assert_time_conserved(k)


def test_edf_and_rm_are_deterministic():
    def digest(policy):
        k = kernel(policy, cpus=2)
        for i in range(6):
            periodic(k, f"T{i}", 5 + i, 2 + i % 3, phase=i, jobs=30)
        k.run()
        return k.digest(), [(j.tid, j.finish) for j in k.jobs]
    assert digest(pk.sched.EDF()) == digest(pk.sched.EDF())
    assert digest(pk.sched.RateMonotonic()) == digest(pk.sched.RateMonotonic())


# ---- RM and DM ------------------------------------------------------------------------

def test_rm_non_periodic_threads_have_the_lowest_priority():
    k = kernel(pk.sched.RateMonotonic())
    bg = k.spawn(cpu_bound(10), name="bg")
    t = periodic(k, "T", 4, 1, jobs=3)
    k.run()
    assert finishes(t) == [1, 5, 9]
    assert bg.stats.finish == 13


def test_deadline_monotonic_orders_by_relative_deadline():
    # [LW82] A (T=10, D=3, C=2), B (T=5, D=5, C=2), both released at 0.
    # RM runs B first (shorter period) and A misses (finish 4 > 3); DM runs
    # A first (shorter deadline) and both meet their deadlines.
    def run(policy):
        k = kernel(policy)
        a = periodic(k, "A", 10, 2, deadline=3, jobs=1)
        b = periodic(k, "B", 5, 2, jobs=1)
        k.run()
        return finishes(a) + finishes(b), k.deadline_misses
    assert run(pk.sched.RateMonotonic()) == ([4, 2], 1)
    assert run(pk.sched.DeadlineMonotonic()) == ([2, 4], 0)


def test_policies_share_one_queue_by_default():
    for policy in (pk.sched.EDF(), pk.sched.RateMonotonic(), pk.sched.DeadlineMonotonic()):
        assert policy.per_cpu is False
        assert pk.Kernel(cpus=2, scheduler=policy).runqueues == "shared"
    assert [repr(p) for p in (pk.sched.EDF(), pk.sched.RateMonotonic(),
                              pk.sched.DeadlineMonotonic())] == \
        ["EDF()", "RateMonotonic()", "DeadlineMonotonic()"]
    assert pk.sched.RateMonotonic() != pk.sched.DeadlineMonotonic()


# ---- the job log and the counts ----------------------------------------------------

def test_kernel_job_log_lists_every_job_in_finish_order():
    k = kernel(pk.sched.RateMonotonic())
    t1 = periodic(k, "T1", 3, 1, jobs=2)
    t2 = periodic(k, "T2", 5, 2, jobs=1)
    k.run()
    tid1, tid2 = t1.threads[0].tid, t2.threads[0].tid
    assert [(j.tid, j.index, j.finish) for j in k.jobs] == \
        [(tid1, 0, 1), (tid2, 0, 3), (tid1, 1, 4)]
    assert (k.jobs_completed, k.deadline_misses, k.jobs_dropped) == (3, 0, 0)
    assert t1.threads[0].jobs == t1.jobs


def test_job_log_limit_keeps_the_first_records_and_counts_the_rest():
    k = kernel(job_log_limit=2)
    p = periodic(k, "T", 4, 1, jobs=5)
    k.run()
    assert [j.index for j in k.jobs] == [0, 1]
    assert [j.index for j in p.jobs] == [0, 1]
    assert (k.jobs_completed, k.jobs_dropped) == (5, 3)
    assert p.job_stats.completed == 5


def test_job_log_limit_zero_logs_nothing_but_counts_everything():
    k = kernel(job_log_limit=0)
    p = periodic(k, "T", 4, 5, jobs=2)
    k.run()
    assert (k.jobs, p.jobs) == ([], [])
    assert (k.jobs_completed, k.deadline_misses, k.jobs_dropped) == (2, 2, 2)


def test_killed_task_keeps_its_completed_jobs():
    # at 12 job 1 (release 10) has run 2 of its 4 ns; the kill ends it.
    k = kernel()
    p = periodic(k, "T", 10, 4)
    k.run(until=12)
    p.kill()
    assert p.state == "killed"
    assert records(p) == [(0, 0, 4, 10)]
    assert p.job_stats == pk.JobStats(period=10, deadline=10, released=2, completed=1)


def test_non_periodic_threads_have_no_jobs():
    k = kernel(pk.sched.FIFO())
    p = k.spawn(cpu_bound(5))
    k.run()
    assert (p.jobs, p.job_stats, p.deadline_misses) == ([], pk.JobStats(), 0)


# ---- bad input -------------------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(period=0), dict(period=-5), dict(deadline=0),
                                dict(deadline=-1), dict(wcet=-1), dict(phase=-1),
                                dict(jobs=-1), dict(period=MAX_TIME + 1)], ids=str)
def test_out_of_range_task_parameters_are_value_errors(kw):
    args = dict(period=10, wcet=2) | kw
    with pytest.raises(ValueError, match="Program.periodic"):
        pk.Program.periodic("T", **args)


@pytest.mark.parametrize("kw", [dict(period=2.5), dict(wcet="3"), dict(deadline=True),
                                dict(phase=None), dict(jobs=1.0), dict(period=None)], ids=str)
def test_non_int_task_parameters_are_type_errors(kw):
    args = dict(period=10, wcet=2) | kw
    with pytest.raises(TypeError, match="must be an int"):
        pk.Program.periodic("T", **args)


def test_periodic_task_name_must_be_str():
    with pytest.raises(TypeError, match="name"):
        pk.Program.periodic(7, 10, 2)


def test_arrival_beyond_max_time_is_value_error():
    k = kernel()
    with pytest.raises(ValueError, match="phase"):
        k.spawn(pk.Program.periodic("T", 10, 2, phase=MAX_TIME), at=1)


@pytest.mark.parametrize("limit,exc", [(-1, ValueError), (1.5, TypeError), (True, TypeError)],
                         ids=str)
def test_bad_job_log_limit(limit, exc):
    with pytest.raises(exc, match="job_log_limit"):
        pk.Kernel(job_log_limit=limit)


_OP = struct.Struct("<IIQ")
_T, _P, _D = lib.PK_OP_TASK, lib.PK_TASK_PERIOD, lib.PK_TASK_DEADLINE
MALFORMED = {
    "declaration-not-first": ([(lib.PK_OP_COMPUTE, 0, 1), (_T, _P, 5)], pk.InvalidArgs),
    "no-period": ([(_T, _D, 5)], pk.InvalidArgs),
    "period-zero": ([(_T, _P, 0)], pk.OutOfRange),
    "declared-twice": ([(_T, _P, 5), (_T, _P, 5)], pk.InvalidArgs),
    "unknown-parameter": ([(_T, 99, 5)], pk.InvalidArgs),
    "period-beyond-max-time": ([(_T, _P, 1 << 63)], pk.OutOfRange),
    "release-without-task": ([(lib.PK_OP_RELEASE, 0, 0)], pk.InvalidArgs),
    "job-end-without-task": ([(lib.PK_OP_JOB_END, 0, 0)], pk.InvalidArgs),
    "release-with-argument": ([(_T, _P, 5), (lib.PK_OP_RELEASE, 1, 0)], pk.InvalidArgs),
}


@pytest.mark.parametrize("name", MALFORMED)
def test_core_rejects_malformed_task_code(name):
    # the core validates compiled programs itself (script_check in
    # csrc/core/pk_script.c), when the program is made, naming the instruction
    ops, exc = MALFORMED[name]
    with pytest.raises(exc, match=r"instruction \d+ \((task|release|job_end)\) is refused"):
        pk.Program(name, "script", code=b"".join(_OP.pack(*op) for op in ops))


def test_job_instructions_out_of_order_are_harmless():
    # a JOB_END outside a job and a RELEASE inside one do nothing
    ops = [(_T, _P, 5), (lib.PK_OP_JOB_END, 0, 0), (lib.PK_OP_RELEASE, 0, 0),
           (lib.PK_OP_RELEASE, 0, 0), (lib.PK_OP_COMPUTE, 0, 2), (lib.PK_OP_JOB_END, 0, 0),
           (lib.PK_OP_JOB_END, 0, 0)]
    k = kernel()
    p = k.spawn(pk.Program("odd", "script", code=b"".join(_OP.pack(*op) for op in ops)))
    assert k.run().reason == "idle"
    assert records(p) == [(0, 0, 2, 5)]
