"""Threads as kernel objects (csrc/obj/pk_thread_obj.c), after Zircon's
thread objects (Zircon docs, "Thread" object and zx_task_kill: a thread
handle is waitable, asserts ZX_THREAD_TERMINATED when the thread ends,
and killing through it needs ZX_RIGHT_DESTROY; default rights are
ZX_DEFAULT_THREAD_RIGHTS). Credentials as for process handles
(only root or the same uid may kill or inspect, as kill(2) and
ptrace(2) access mode checking; docs/references.md [kill(2)], [ptrace(2)])."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op
R = pk.Rights
LONG = 10**6


def process_with_thread(k, thread_ops, main_ops=(op.sleep(LONG),), **kw):
    p = k.spawn(pk.Program.script("main", list(main_ops)), **kw)
    k.run(until=1)
    t = p.thread_create(pk.Program.script("worker", [*thread_ops, op.thread_exit()]))
    return p, t


def test_a_thread_handle_asserts_terminated_when_the_thread_ends_not_its_process():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(10)])
    h = p.handle_to(t)
    assert (h.kind, pk.Signals.TERMINATED in h.signals) == ("thread", False)
    k.run(until=100)
    assert pk.Signals.TERMINATED in h.signals and p.state == "alive"


def test_a_script_waits_for_the_end_of_one_thread():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    p, t = process_with_thread(k, [op.compute(30)])
    boot = k.spawn(pk.Program.script("boot", [op.sleep(LONG)]))
    h = boot.handle_to(t)
    w = k.spawn(pk.Program.script("waiter", [op.wait(0, pk.Signals.TERMINATED), op.compute(1)]),
                handles=[h])
    k.run(until=1000)
    assert (t.stats.finish, w.stats.finish, p.state) == (31, 32, "alive")   # created at 1


def test_a_python_body_waits_for_a_thread_it_created():
    k = make_kernel()
    seen = []

    def main(ctx):
        t = ctx.process.thread_create(pk.Program.script("w", [op.compute(25), op.thread_exit()]))
        h = ctx.process.handle_to(t)
        yield ctx.wait_one(h, pk.Signals.TERMINATED)
        seen.append((ctx.now, t.state))

    k.spawn(pk.Program.python("main", main))
    k.run()
    assert seen == [(25, "exited")]


def test_thread_handles_have_zircons_default_thread_rights():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(10)])
    assert p.handle_to(t).rights == (R.TRANSFER | R.DUPLICATE | R.WAIT | R.INSPECT | R.READ
                                     | R.WRITE | R.GET_PROPERTY | R.SET_PROPERTY | R.ENUMERATE
                                     | R.DESTROY | R.SIGNAL | R.MANAGE_THREAD)


def test_every_handle_to_one_thread_names_one_object():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(10)])
    q = k.spawn(pk.Program.script("q", [op.sleep(LONG)]))
    assert p.handle_to(t).koid == q.handle_to(t).koid
    assert p.handle_to(t).target.tid == t.tid


def test_killing_through_a_thread_handle_ends_that_thread_only():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(LONG)])
    h = p.handle_to(t)
    h.kill()
    assert (t.state, p.state, pk.Signals.TERMINATED in h.signals) == ("exited", "alive", True)


def test_killing_the_last_thread_ends_the_process():
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    p, t = process_with_thread(k, [op.compute(LONG)], main_ops=[op.sleep(5), op.thread_exit(0)])
    k.run(until=10)
    assert p.threads[0].state == "exited" and p.state == "alive"
    p.handle_to(t).kill()
    assert (p.state, p.kill_reason) == ("killed", "killed")


def test_kill_through_a_thread_handle_needs_destroy():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(LONG)])
    h = p.handle_to(t).replace(R.WAIT | R.INSPECT)
    with pytest.raises(pk.AccessDenied):
        h.kill()
    assert t.state != "exited"


def test_kill_through_a_thread_handle_needs_the_credentials():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(LONG)], uid=2000)
    other = k.spawn(pk.Program.script("other", [op.sleep(LONG)]), uid=1000)
    h = other.handle_to(t)
    with pytest.raises(pk.AccessDenied):
        h.kill()
    with pytest.raises(pk.AccessDenied):
        h.target
    root = k.spawn(pk.Program.script("root", [op.sleep(LONG)]))
    root.handle_to(t).kill()
    assert t.state == "exited"


def test_a_handle_to_an_exited_thread_is_terminated_at_once():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(3)])
    k.run(until=100)
    assert pk.Signals.TERMINATED in p.handle_to(t).signals


def test_the_last_handle_closed_destroys_the_thread_object():
    k = make_kernel()
    p, t = process_with_thread(k, [op.compute(10)])
    h = p.handle_to(t)
    koid = h.koid
    h.close()
    assert p.handle_to(t).koid != koid


def test_many_thread_objects_come_and_go_and_each_sees_its_own_end():
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    p = k.spawn(pk.Program.script("main", [op.sleep(LONG)]))
    k.run(until=1)
    threads = [p.thread_create(pk.Program.script(f"w{i}", [op.compute(i + 1), op.thread_exit()])) for i in range(60)]
    handles = [p.handle_to(t) for t in threads]
    for h in handles[::2]:
        h.close()
    k.run(until=10_000)                             # 1 + 2 + ... + 60 = 1830 ns of work
    for i, h in enumerate(handles[1::2]):
        assert h.target.tid == threads[2 * i + 1].tid and pk.Signals.TERMINATED in h.signals
    again = [p.handle_to(t) for t in threads[::2]]
    assert all(pk.Signals.TERMINATED in h.signals for h in again)


def test_handle_to_needs_a_process_or_a_thread():
    k = make_kernel()
    p = k.spawn(pk.Program.script("p", [op.sleep(1)]))
    with pytest.raises(TypeError):
        p.handle_to(3)


def test_the_thread_handle_entry_points_refuse_bad_arguments():
    from pykernel._ffi import ffi, lib
    k = make_kernel()
    k.spawn(pk.Program.script("p", [op.sleep(LONG)]))
    out = ffi.new("uint32_t *")
    assert lib.pk_thread_handle_create(k._kp, 0, 99, out) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_handle_create(k._kp, 7, 0, out) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_handle_create(k._kp, 0, 0, ffi.NULL) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_thread_handle_target(k._kp, 0, 12345, out) == lib.PK_ERR_BAD_HANDLE
    assert lib.pk_thread_handle_target(k._kp, 99, 1, out) == lib.PK_ERR_INVALID_ARGS
