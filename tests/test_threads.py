"""Threads created in a running process (pk_thread.c): they share the
process's handles and futex words, the process ends with its last thread
(OSTEP ch. 26-27: threads share an address space; pthread_exit ends one
thread, exit ends the process), and an exit or a kill ends them all."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op


def test_a_script_spawns_a_thread_that_runs_its_body():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    p = k.spawn(pk.Program.script("main", [op.spawn_thread([op.compute(20)]), op.compute(10),
                                           op.thread_exit()]))     # not exit(): that ends both
    k.run()
    a, b = p.threads
    assert (a.stats.cpu_time, b.stats.cpu_time) == (10, 20)
    assert p.state == "exited" and p.stats.cpu_time == 30


def test_the_process_ends_with_its_last_thread():
    k = make_kernel()
    p = k.spawn(pk.Program.script("main", [op.spawn_thread([op.sleep(50), op.thread_exit(4)]),
                                           op.thread_exit(1)]))
    k.run(until=10)
    assert p.state == "alive" and [t.state for t in p.threads] == ["exited", "sleeping"]
    k.run()
    assert p.exit_code == 4 and p.stats.finish == 50


def test_exit_ends_every_thread_of_the_process():
    k = make_kernel()
    p = k.spawn(pk.Program.script("main", [op.spawn_thread([op.sleep(1000)]), op.compute(5),
                                           op.exit(2)]))
    k.run()
    assert p.exit_code == 2 and k.now == 5
    assert [t.state for t in p.threads] == ["exited", "exited"]


def test_threads_share_handles_and_futex_words():
    k = make_kernel(pk.sched.RoundRobin(quantum=3))
    body = [op.lock(64), op.compute(10), op.unlock(64)]
    p = k.spawn(pk.Program.script("main", [op.spawn_thread(body), op.spawn_thread(body)] + body
                                  + [op.wait(0, pk.Signals.SIGNALED)]))
    e = p.event_create()                     # slot 0 of the one table all threads use
    got = []

    def waiter(ctx):
        yield ctx.wait_one(ctx.handle(0), pk.Signals.SIGNALED)
        got.append(ctx.now)

    p.thread_create(pk.Program.python("w", waiter))
    r = k.run()
    assert (r.reason, k.now) == ("deadlock", 30)       # three critical sections, one at a time
    e.signal(set=pk.Signals.SIGNALED)
    k.run()
    assert len(p.threads) == 4 and got == [30] and p.state == "exited"


def test_dining_philosophers_as_threads_of_one_process():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    phil = [[op.lock(4 * i), op.compute(10), op.lock(4 * ((i + 1) % 5)), op.compute(5)]
            for i in range(5)]
    k.spawn(pk.Program.script("table", [op.spawn_thread(b) for b in phil[1:]] + phil[0]))
    r = k.run()
    assert r.reason == "deadlock" and len(r.deadlock) == 5


def test_killing_the_process_kills_created_threads():
    k = make_kernel()
    p = k.spawn(pk.Program.script("main", [op.sleep(1000)]))
    t = p.thread_create(pk.Program.script("t", [op.sleep(1000)]))
    k.run(until=10)
    p.kill()
    assert t.state == "exited" and p.state == "killed"


def test_thread_body_loops_must_close_inside_it():
    from pykernel._ffi import ffi, lib
    k = make_kernel()
    bad = ffi.new("pk_op[]", [(lib.PK_OP_LOOP, 2, 3), (lib.PK_OP_SPAWN_THREAD, 2, 1),
                              (lib.PK_OP_ENDLOOP, 0, 0)])
    out = ffi.new("uint32_t *")
    assert lib.pk_prog_load_script(k._kp, bad, 3, out) == lib.PK_ERR_INVALID_ARGS


def test_a_thread_cannot_be_created_in_an_ended_process():
    k = make_kernel()
    p = k.spawn(pk.Program.script("x", [op.compute(1)]))
    k.run()
    with pytest.raises(pk.BadState):
        p.thread_create(pk.Program.script("t", []))
