"""Several CPUs share one run queue.

Dispatcher rules (csrc/core/pk_dispatch.c): a thread that becomes ready kicks
the lowest-numbered idle CPU; if none is idle, a preemptive policy takes
the CPU whose running thread it beats and which every other candidate
beats. CpuStats: busy + idle + overhead equals the elapsed time on each
CPU.
"""

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound


def test_two_cpus_run_two_cpu_bound_threads_in_parallel(zero_kernel):
    # compute(10) and compute(6) on 2 CPUs: elapsed = the longer burst, 10.
    k = zero_kernel(pk.sched.FIFO(), cpus=2)
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(6), name="B")
    r = k.run()
    assert r.elapsed == 10
    assert (a.stats.wait, b.stats.wait) == (0, 0)
    assert (a.stats.finish, b.stats.finish) == (10, 6)
    assert_time_conserved(k)


def test_two_cpus_per_cpu_busy_and_idle(zero_kernel):
    # A goes to CPU 0 (lowest idle), B to CPU 1; CPU 1 idles 6-10.
    k = zero_kernel(pk.sched.FIFO(), cpus=2)
    k.spawn(cpu_bound(10))
    k.spawn(cpu_bound(6))
    k.run()
    c0, c1 = k.cpu_stats(0), k.cpu_stats(1)
    assert (c0.busy, c0.idle, c0.overhead, c0.switches) == (10, 0, 0, 1)
    assert (c1.busy, c1.idle, c1.overhead, c1.switches) == (6, 4, 0, 1)
    assert k.stats.busy == 16
    assert k.stats.idle == 4


def test_threads_go_to_lowest_numbered_idle_cpu(zero_kernel):
    k = zero_kernel(pk.sched.FIFO(), cpus=4)
    a = k.spawn(cpu_bound(10))
    b = k.spawn(cpu_bound(10))
    k.run(until=1)
    assert (a.threads[0].cpu, b.threads[0].cpu) == (0, 1)
    assert [c.running for c in k.stats.cpus] == [a.threads[0].tid, b.threads[0].tid, None, None]


def test_more_threads_than_cpus_queue(zero_kernel):
    # FIFO on 2 CPUs, four compute(5): two start at 0, two at 5; all done at 10.
    k = zero_kernel(pk.sched.FIFO(), cpus=2)
    procs = k.spawn_many(cpu_bound(5), 4)
    k.run()
    t = procs.table()
    assert t["first_run_ns"] == [0, 0, 5, 5]
    assert t["finish_ns"] == [5, 5, 10, 10]
    assert t["wait_ns"] == [0, 0, 5, 5]
    assert k.now == 10


def test_rr_on_two_cpus_rotates_three_threads(zero_kernel):
    # RR q=2 on 2 CPUs, A, B, C = compute(4) at 0.
    # t=0: A on CPU0, B on CPU1, C queued.
    # t=2: both quanta expire; CPU0 is serviced first (lower id): A goes to
    #      the tail and CPU0 picks C; then CPU1: B to the tail, picks A.
    # t=4: CPU0: C's quantum expires (2 left), B is ready -> C to the tail,
    #      CPU0 picks B; CPU1: A finishes, CPU1 picks C. B and C run 4-6.
    k = zero_kernel(pk.sched.RoundRobin(quantum=2), cpus=2)
    a, b, c = (k.spawn(cpu_bound(4), name=n) for n in "ABC")
    k.run()
    assert (a.stats.finish, b.stats.finish, c.stats.finish) == (4, 6, 6)
    assert (a.stats.wait, b.stats.wait, c.stats.wait) == (0, 2, 2)
    assert (a.threads[0].stats.first_run, c.stats.first_run) == (0, 2)
    assert k.now == 6
    assert_time_conserved(k)


def test_stcf_preempts_the_cpu_with_the_most_remaining_work(zero_kernel):
    # STCF on 2 CPUs: A=compute(10) on CPU0, B=compute(20) on CPU1; at 2
    # C=compute(1) arrives. It beats both; the victim is the CPU whose thread
    # every other candidate beats: B (remaining 18 > A's 8). C runs on CPU1
    # 2-3, B resumes 3-21.
    k = zero_kernel(pk.sched.STCF(), cpus=2)
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(20), name="B")
    c = k.spawn(cpu_bound(1), name="C", at=2)
    k.run(until=3)
    assert c.threads[0].cpu == 1
    assert b.threads[0].state == "ready"
    k.run()
    assert (a.stats.finish, b.stats.finish, c.stats.finish) == (10, 21, 3)
    assert a.stats.involuntary_switches == 0
    assert b.stats.involuntary_switches == 1
    assert_time_conserved(k)


def test_idle_cpus_account_idle_time(zero_kernel):
    # Four CPUs and one compute(8): three CPUs idle for all 8 ns.
    k = zero_kernel(pk.sched.FIFO(), cpus=4)
    k.spawn(cpu_bound(8))
    k.run()
    assert [c.busy for c in k.stats.cpus] == [8, 0, 0, 0]
    assert [c.idle for c in k.stats.cpus] == [0, 8, 8, 8]
    assert k.stats.cpus[0].utilization == 1.0
    assert k.stats.cpus[1].utilization == 0.0


def test_woken_thread_uses_a_free_cpu(zero_kernel):
    # 2 CPUs. W=[compute(1), io(3), compute(2)], L=compute(10): W wakes at 4
    # while CPU0 (W's old CPU) is idle; it runs at once, 4-6.
    k = zero_kernel(pk.sched.FIFO(), cpus=2)
    w = k.spawn(pk.Program.script("w", [pk.op.compute(1), pk.op.io(3), pk.op.compute(2)]))
    k.spawn(cpu_bound(10))
    k.run()
    assert w.stats.finish == 6
    assert w.stats.wait == 0
    assert_time_conserved(k)


def test_many_cpus_many_threads_conserve_time(zero_kernel):
    k = zero_kernel(pk.sched.RoundRobin(quantum=3), cpus=8, costs=pk.Costs(switch=1))
    prog = pk.Program.script("mix", [pk.op.loop(3, [pk.op.compute(4), pk.op.io(2)])])
    procs = k.spawn_many(prog, 20)
    k.run()
    assert procs.table()["cpu_time_ns"] == [12] * 20
    assert procs.table()["state"] == ["exited"] * 20
    assert_time_conserved(k)
