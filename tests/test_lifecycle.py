"""Processes as kernel objects: handles to processes, TERMINATED, waiting
for a child, killing and inspecting with rights and credentials, and
isolation (process death closes every handle in its table and asserts
TERMINATED; its return code stays readable: docs/references.md
[Zircon-process]; Zircon
zx_task_kill needs ZX_RIGHT_DESTROY; the uid rule is the issue's: only
root or the same uid may kill or inspect)."""

import pytest

import pykernel as pk
from conftest import make_kernel

R, S, op = pk.Rights, pk.Signals, pk.op
IDLE = pk.Program.script("idle", [op.sleep(10**9)])


def test_a_parent_gets_a_handle_to_its_child():
    k = make_kernel()
    p = k.spawn(IDLE)
    c = k.spawn(IDLE, parent=p)
    (h,) = p.handles
    assert h.kind == "process" and h.target == c
    assert R.DESTROY in h.rights and R.INSPECT in h.rights


def test_a_script_parent_waits_for_its_child_to_terminate():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    p = k.spawn(pk.Program.script("parent", [op.wait(0, S.TERMINATED), op.compute(3)]))
    c = k.spawn(pk.Program.script("child", [op.compute(20), op.exit(9)]), parent=p)
    k.run()
    assert c.stats.finish == 20 and p.stats.finish == 23
    assert p.handles == [] and c.exit_code == 9


def test_a_python_parent_reads_the_exit_code_after_waiting():
    k = make_kernel()
    got = []

    def parent(ctx):
        h = ctx.handle(0)
        yield ctx.wait_one(h, S.TERMINATED)
        got.append((ctx.now, h.target.exit_code))

    p = k.spawn(pk.Program.python("parent", parent))
    k.spawn(pk.Program.script("child", [op.compute(40), op.exit(-3)]), parent=p)
    k.run()
    assert got == [(40, -3)]


def test_a_handle_made_after_death_is_already_terminated():
    k = make_kernel()
    c = k.spawn(pk.Program.script("c", [op.exit(5)]))
    p = k.spawn(IDLE)
    k.run(until=1)
    h = p.handle_to(c)
    assert h.signals == S.TERMINATED and h.target.exit_code == 5


def test_all_handles_to_one_process_name_one_object():
    k = make_kernel()
    p, q, c = k.spawn(IDLE), k.spawn(IDLE), k.spawn(IDLE)
    assert p.handle_to(c).koid == q.handle_to(c).koid


def test_kill_through_a_handle_needs_destroy():
    k = make_kernel()
    p = k.spawn(IDLE)
    c = k.spawn(IDLE, parent=p)
    weak = p.handles[0].replace(R.WAIT | R.INSPECT)
    with pytest.raises(pk.AccessDenied):
        weak.kill()
    assert c.state != "killed"


def test_kill_through_a_handle_ends_the_child_and_asserts_terminated():
    k = make_kernel()
    p = k.spawn(IDLE)
    c = k.spawn(IDLE, parent=p)
    k.run(until=10)
    (h,) = p.handles
    h.kill()
    # its parent lives and has not waited for it: a zombie (wait(2), NOTES)
    assert c.state == "zombie" and c.kill_reason == "killed" and h.signals == S.TERMINATED
    h.kill()                                  # a dead process: nothing to do


def test_another_uid_may_not_kill_or_inspect():
    k = make_kernel()
    alice = k.spawn(IDLE, uid=1000, gid=100)
    bob = k.spawn(IDLE, uid=1001, gid=100)
    h = alice.handle_to(bob)
    with pytest.raises(pk.AccessDenied):
        h.kill()
    with pytest.raises(pk.AccessDenied):
        h.target
    assert bob.state != "killed"


def test_the_same_uid_may_kill():
    k = make_kernel()
    a = k.spawn(IDLE, uid=1000)
    b = k.spawn(IDLE, uid=1000)
    a.handle_to(b).kill()
    assert b.state == "killed"


def test_root_may_kill_anyone():
    k = make_kernel()
    root = k.spawn(IDLE)
    user = k.spawn(IDLE, uid=1000)
    assert root.uid == 0
    root.handle_to(user).kill()
    assert user.state == "killed"


def test_a_child_inherits_its_parents_credentials():
    k = make_kernel()
    p = k.spawn(IDLE, uid=1000, gid=50)
    c = k.spawn(IDLE, parent=p)
    assert (c.uid, c.gid) == (1000, 50)
    assert (k.spawn(IDLE, parent=p, uid=7).uid, k.spawn(IDLE).uid) == (7, 0)


def test_a_user_cannot_kill_root_even_with_a_full_handle_from_root():
    k = make_kernel()
    root = k.spawn(IDLE)
    a, b = root.channel_create()
    user = k.spawn(IDLE, uid=1000, handles=[b])
    a.write(b"", handles=[root.handle_to(root)])     # root gives away a full handle
    (gift,) = user.handles[0].read().handles
    assert R.DESTROY in gift.rights and gift.pid == user.pid
    with pytest.raises(pk.AccessDenied):
        gift.kill()
    with pytest.raises(pk.AccessDenied):
        gift.target
    assert root.state != "killed"


def test_forged_handle_values_name_nothing_in_a_process_without_handles():
    k = make_kernel()
    victim = k.spawn(IDLE)
    for _ in range(5):
        victim.event_create()
    victim.channel_create()
    thief = k.spawn(IDLE, uid=1000)
    thief.event_create()                     # it has a table, with one handle
    valid = [v for gen in range(4) for slot in range(64)
             for v in [(gen << 20) | (slot + 1)] if thief.handle(v).valid]
    assert valid == [1]                      # only its own handle


def test_a_handle_passed_on_never_gains_rights():
    k = make_kernel()
    p = k.spawn(IDLE)
    a, b = p.channel_create()
    e = p.event_create().replace(R.WAIT | R.TRANSFER)
    a.write(b"", handles=[e])
    q = k.spawn(IDLE, handles=[b])
    (got,) = q.handles[0].read().handles
    assert got.rights == R.WAIT | R.TRANSFER
    with pytest.raises(pk.AccessDenied):
        got.signal(set=S.SIGNALED)
    with pytest.raises(pk.AccessDenied):
        got.duplicate()


def test_a_dead_process_can_no_longer_use_handles():
    k = make_kernel()
    p = k.spawn(pk.Program.script("x", [op.compute(1)]))
    e = p.event_create()
    k.run()
    assert p.handles == []                   # its table was closed at death
    with pytest.raises(pk.BadState):
        e.signal(set=S.SIGNALED)
    with pytest.raises(pk.BadState):
        p.event_create()


def test_a_process_handle_of_another_kernel_is_refused():
    k1, k2 = make_kernel(), make_kernel()
    a, b = k1.spawn(IDLE), k2.spawn(IDLE)
    with pytest.raises(TypeError):
        a.handle_to(b)
    with pytest.raises(TypeError):
        k1.spawn(IDLE, parent=b)


def test_bad_credentials_are_value_errors():
    k = make_kernel()
    with pytest.raises(ValueError):
        k.spawn(IDLE, uid=-1)
    with pytest.raises(TypeError):
        k.spawn(IDLE, gid="staff")
