"""io and sleep: threads leave the CPU, wake at the right instant, and
overlap with CPU-bound work.

Semantics from pykernel/op.py: io(ns) blocks "on a device for ns
nanoseconds, then become ready again. Devices serve every request at
once"; sleep(ns) sleeps for ns. Thread states from Thread.state: "blocked"
(io) and "sleeping". run(until=u) is exclusive: events at u are left for
the next run and k.now becomes u.
"""

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound

S = pk.op


def test_io_thread_is_blocked_until_its_device_finishes(zero_kernel):
    # [compute(2), io(5), compute(1)]: runs 0-2, blocked 2-7, runs 7-8.
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("io", [S.compute(2), S.io(5), S.compute(1)]))
    t = p.threads[0]
    k.run(until=3)
    assert t.state == "blocked"
    assert t.cpu is None
    k.run(until=7)                      # the wake-up at 7 is not yet processed
    assert t.state == "blocked"
    assert t.stats.blocked == 5
    k.run(until=8)
    assert t.state == "running"
    k.run()
    assert p.stats.finish == 8
    assert p.stats.blocked == 5
    assert p.stats.cpu_time == 3


def test_sleep_thread_is_sleeping_until_its_timer(zero_kernel):
    # [compute(2), sleep(10), compute(3)]: runs 0-2, sleeps 2-12, runs 12-15.
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("nap", [S.compute(2), S.sleep(10), S.compute(3)]))
    t = p.threads[0]
    k.run(until=5)
    assert t.state == "sleeping"
    assert t.stats.blocked == 3          # Stats: blocked = time in io or sleep
    k.run(until=13)
    assert t.state == "running"
    k.run()
    assert p.stats.finish == 15
    assert p.stats.blocked == 10
    assert p.stats.voluntary_switches == 1


def test_cpu_idles_while_only_thread_blocks(zero_kernel):
    # Same script as above: the CPU is busy 0-2 and 12-15, idle 2-12.
    k = zero_kernel(pk.sched.FIFO())
    k.spawn(pk.Program.script("nap", [S.compute(2), S.sleep(10), S.compute(3)]))
    k.run()
    c = k.cpu_stats(0)
    assert (c.busy, c.idle, c.overhead) == (5, 10, 0)
    assert c.switches == 2              # dispatched at 0 and again at 12


def test_cpu_and_io_bound_processes_overlap_on_one_cpu(zero_kernel):
    # FIFO, one CPU. IO=[compute(2), io(10), compute(2)], CPU=compute(10).
    # IO 0-2 then its device works 2-12 while CPU computes 2-12; IO 12-14.
    # Alone they would take 14 + 10 = 24; together the run ends at 14.
    k = zero_kernel(pk.sched.FIFO())
    io_p = k.spawn(pk.Program.script("io", [S.compute(2), S.io(10), S.compute(2)]), name="IO")
    cpu_p = k.spawn(cpu_bound(10), name="CPU")
    r = k.run()
    assert r.elapsed == 14
    assert cpu_p.stats.finish == 12
    assert io_p.stats.finish == 14
    assert io_p.stats.wait == 0
    assert cpu_p.stats.wait == 2
    assert k.cpu_stats(0).idle == 0
    assert_time_conserved(k)


def test_devices_serve_io_requests_concurrently(zero_kernel):
    # op.io: "requests never queue behind each other". Three threads each
    # doing io(10) at 0 all wake at 10.
    k = zero_kernel(pk.sched.FIFO())
    procs = k.spawn_many(pk.Program.script("io", [S.io(10)]), 3)
    k.run()
    assert procs.table()["finish_ns"] == [10, 10, 10]
    assert procs.table()["blocked_ns"] == [10, 10, 10]


def test_io_zero_gives_up_the_cpu_and_requeues(zero_kernel):
    # io(0) still blocks: the thread leaves the CPU and wakes at once, behind
    # the threads already ready. A=[compute(1), io(0), compute(1)],
    # B=compute(3): A 0-1, B 1-4, A 4-5.
    k = zero_kernel(pk.sched.FIFO())
    a = k.spawn(pk.Program.script("a", [S.compute(1), S.io(0), S.compute(1)]), name="A")
    b = k.spawn(cpu_bound(3), name="B")
    k.run()
    assert b.stats.finish == 4
    assert a.stats.finish == 5
    assert a.stats.voluntary_switches == 1


def test_loop_of_compute_and_io(zero_kernel):
    # loop(3, [compute(1), io(4)]) alone: each iteration 1 busy + 4 blocked;
    # finishes at 15 with cpu_time 3 and blocked 12.
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("io", [S.loop(3, [S.compute(1), S.io(4)])]))
    k.run()
    assert (p.stats.finish, p.stats.cpu_time, p.stats.blocked) == (15, 3, 12)
    assert p.stats.voluntary_switches == 3


def test_sleepers_wake_in_time_order(zero_kernel):
    # Three sleeps of 30, 10, 20 then compute(1): they run at 10, 20, 30.
    k = zero_kernel(pk.sched.FIFO())
    procs = [k.spawn(pk.Program.script("s", [S.sleep(d), S.compute(1)])) for d in (30, 10, 20)]
    k.run()
    assert [p.stats.finish for p in procs] == [31, 11, 21]


def test_exit_op_ends_script_with_code(zero_kernel):
    # op.exit: "End the process with code"; later instructions never run.
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("e", [S.compute(5), S.exit(3), S.compute(100)]))
    k.run()
    assert p.state == "exited"
    assert p.exit_code == 3
    assert p.stats.cpu_time == 5
    assert p.stats.finish == 5


def test_script_falling_off_the_end_exits_zero(zero_kernel):
    # op.exit: "A script that runs past its last instruction exits with code 0."
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("e", [S.compute(5)]))
    k.run()
    assert p.exit_code == 0


def test_negative_exit_code_round_trips(zero_kernel):
    # op.exit_code: a signed 32-bit value; -1 and -2**31 are kept as given.
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("e", [S.exit(-1)]))
    q = k.spawn(pk.Program.script("e", [S.exit(-2**31)]))
    k.run()
    assert p.exit_code == -1
    assert q.exit_code == -2**31


def test_empty_script_exits_at_arrival(zero_kernel):
    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.script("empty", []), at=7)
    k.run()
    assert p.state == "exited"
    assert p.stats.finish == 7
    assert p.stats.cpu_time == 0
