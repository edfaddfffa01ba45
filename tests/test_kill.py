"""Process.kill: "Kill the process now (outside or inside a run). Its
threads stop wherever they are; state becomes "killed"."

Workload used throughout (RR q=4, free switches, one CPU):
  A = compute(10); B = [compute(2), io(20), compute(2)]; C = compute(6);
  N = compute(3) arriving at 100.
Undisturbed schedule, worked out by hand: A 0-4, B 4-6 (io until 26),
C 6-10, A 10-14, C 14-16 (exits), A 16-18 (exits), B 26-28 (exits),
N 100-103 (exits).
"""

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound

S = pk.op


def workload(zero_kernel, costs=None):
    k = zero_kernel(pk.sched.RoundRobin(quantum=4), costs=costs)
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(pk.Program.script("b", [S.compute(2), S.io(20), S.compute(2)]), name="B")
    c = k.spawn(cpu_bound(6), name="C")
    n = k.spawn(cpu_bound(3), name="N", at=100)
    return k, a, b, c, n


def test_undisturbed_workload_schedule(zero_kernel):
    k, a, b, c, n = workload(zero_kernel)
    k.run()
    assert [p.stats.finish for p in (a, b, c, n)] == [18, 28, 16, 103]
    assert_time_conserved(k)


def test_kill_new_process_before_it_arrives(zero_kernel):
    k, a, b, c, n = workload(zero_kernel)
    k.run(until=5)
    assert n.state == "new"
    n.kill()
    assert n.state == "killed"
    assert n.kill_reason == "killed"
    assert n.exit_code is None
    assert n.threads[0].state == "exited"
    assert n.stats.cpu_time == 0
    assert n.stats.first_run is None
    k.run()
    assert n.state == "killed"                       # its arrival does not revive it
    assert [p.stats.finish for p in (a, b, c)] == [18, 28, 16]
    assert [p.state for p in (a, b, c)] == ["exited"] * 3
    assert_time_conserved(k)


def test_kill_new_process_keeps_time_identity(zero_kernel):
    # Stats docstring: for a finished thread cpu_time + wait + blocked ==
    # turnaround. N never ran, waited or blocked, so its turnaround must be 0
    # (and can never be negative).
    k, a, b, c, n = workload(zero_kernel)
    k.run(until=5)
    n.kill()
    s = n.stats
    assert (s.cpu_time, s.wait, s.blocked) == (0, 0, 0)
    assert s.turnaround == 0


def test_killed_pending_process_does_not_extend_the_run(zero_kernel):
    # Kernel.run: simulate "until nothing can run any more". After A exits
    # at 10 nothing can ever run again.
    k = zero_kernel(pk.sched.FIFO())
    k.spawn(cpu_bound(10), name="A")
    n = k.spawn(cpu_bound(3), name="N", at=100)
    n.kill()
    r = k.run()
    assert r.reason == "idle"
    assert r.now == 10
    assert k.cpu_stats(0).idle == 0


def test_killed_sleeping_process_does_not_extend_the_run(zero_kernel):
    # B 0-2 then sleeps until 52; A 2-12. Killing B at 5 leaves A as the
    # only work: the run ends at 12.
    k = zero_kernel(pk.sched.FIFO())
    b = k.spawn(pk.Program.script("b", [S.compute(2), S.sleep(50)]), name="B")
    k.spawn(cpu_bound(10), name="A")
    k.run(until=5)
    b.kill()
    r = k.run()
    assert r.now == 12
    assert k.cpu_stats(0).idle == 0


def test_kill_ready_process(zero_kernel):
    # At t=2, A runs and B, C are ready. Kill C: it waited 2 and never ran.
    # Then A 2-4, B 4-6 (io until 26), A 6-12, B 26-28.
    k, a, b, c, n = workload(zero_kernel)
    k.run(until=2)
    assert c.threads[0].state == "ready"
    c.kill()
    assert c.state == "killed"
    assert c.stats.finish == 2
    assert c.stats.wait == 2
    assert c.stats.first_run is None
    assert k.stats.ready == 1                        # only B left in the queue
    k.run()
    assert [a.stats.finish, b.stats.finish, n.stats.finish] == [12, 28, 103]
    assert_time_conserved(k)


def test_kill_running_process_frees_its_cpu(zero_kernel):
    # At t=2 A runs (2 ns done). Kill it: the CPU picks B at once.
    # B 2-4 (io until 24), C 4-10, B 24-26.
    k, a, b, c, n = workload(zero_kernel)
    k.run(until=2)
    assert a.threads[0].state == "running"
    a.kill()
    assert a.state == "killed"
    assert a.stats.cpu_time == 2
    assert a.stats.finish == 2
    assert a.threads[0].cpu is None
    k.run()
    assert b.stats.first_run == 2
    assert [b.stats.finish, c.stats.finish, n.stats.finish] == [26, 10, 103]
    assert_time_conserved(k)


def test_kill_blocked_process(zero_kernel):
    # At t=8 B is blocked in io (since 6). Kill it: blocked 2, and its later
    # wake-up at 26 does not revive it. C 6-10, A 10-14, C 14-16, A 16-18.
    k, a, b, c, n = workload(zero_kernel)
    k.run(until=8)
    assert b.threads[0].state == "blocked"
    b.kill()
    assert b.state == "killed"
    assert (b.stats.cpu_time, b.stats.wait, b.stats.blocked) == (2, 4, 2)
    k.run()
    assert b.state == "killed"
    assert b.stats.finish == 8
    assert [a.stats.finish, c.stats.finish, n.stats.finish] == [18, 16, 103]
    assert_time_conserved(k)


def test_kill_python_process_between_runs(zero_kernel):
    steps = []

    def body(ctx):
        for i in range(5):
            steps.append(i)
            yield ctx.compute(3)

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("py", body))
    q = k.spawn(cpu_bound(4))
    k.run(until=4)                                   # p is in its second compute
    p.kill()
    k.run()
    assert steps == [0, 1]
    assert p.state == "killed"
    assert p.stats.cpu_time == 4
    assert q.stats.finish == 8
    assert_time_conserved(k)


def test_kill_from_inside_a_python_body(zero_kernel):
    # FIFO: the killer runs 0-1 and kills V (ready); V never runs.
    victims = []

    def killer(ctx):
        yield ctx.compute(1)
        victims[0].kill()
        yield ctx.compute(1)

    k = zero_kernel(pk.sched.FIFO())
    kp = k.spawn(pk.Program.python("killer", killer))
    v = k.spawn(cpu_bound(5), name="V")
    victims.append(v)
    k.run()
    assert v.state == "killed"
    assert v.stats.finish == 1
    assert v.stats.cpu_time == 0
    assert kp.exit_code == 0
    assert kp.stats.finish == 2
    assert_time_conserved(k)


def test_python_body_killing_its_own_process_stops_it(zero_kernel):
    after = []

    def body(ctx):
        yield ctx.compute(2)
        ctx.process.kill()
        after.append(ctx.now)
        yield ctx.compute(5)
        after.append("resumed")

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("self", body))
    q = k.spawn(cpu_bound(3))
    k.run()
    assert p.state == "killed"
    assert p.kill_reason == "killed"
    assert p.stats.cpu_time == 2
    assert after == [2]
    assert q.stats.finish == 5


def test_kill_while_switching_in_charges_only_overhead(zero_kernel):
    # Costs(switch=100): A starts switching in at 0, would run from 100.
    # Killed at 50: the CPU spent 50 on overhead, A ran 0 and waited 50.
    k, a, b, c, n = workload(zero_kernel, costs=pk.Costs(switch=100))
    k.run(until=50)
    a.kill()
    assert a.stats.cpu_time == 0
    assert a.stats.wait == 50
    assert a.stats.finish == 50
    c0 = k.cpu_stats(0)
    assert (c0.busy, c0.overhead, c0.idle) == (0, 50, 0)
    k.run()
    assert [p.state for p in (b, c, n)] == ["exited"] * 3
    assert_time_conserved(k)


def test_kill_while_switching_in_never_ran(zero_kernel):
    k, a, b, c, n = workload(zero_kernel, costs=pk.Costs(switch=100))
    k.run(until=50)
    assert a.stats.first_run is None                 # hidden while switching in
    a.kill()
    assert a.stats.first_run is None
    assert a.stats.response is None


def test_killing_twice_is_bad_state(zero_kernel):
    k, a, b, c, n = workload(zero_kernel)
    n.kill()
    with pytest.raises(pk.BadState):
        n.kill()


def test_killing_everything_finishes_the_kernel(zero_kernel):
    k = zero_kernel(pk.sched.FIFO())
    procs = k.spawn_many(cpu_bound(10), 3)
    k.run(until=5)
    for p in procs:
        p.kill()
    assert k.stats.live_threads == 0
    assert procs.table()["state"] == ["killed"] * 3
    assert procs.table()["cpu_time_ns"] == [5, 0, 0]
    assert_time_conserved(k)
