"""Deadlock detection: the wait-for graph over mutexes, channel reads and
process ends, its cycles, and the Banker's algorithm.

Sources: Silberschatz, Galvin and Gagne, Operating System Concepts, 10th
ed.: §8.2 (the four conditions; dining philosophers, §7.1.3), §8.7.1 (with
single-instance resources a cycle in the wait-for graph is a deadlock),
§8.6.3 (the Banker's algorithm and its worked example)."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op


def philosophers(k, n=5, ordered=False):
    ps = []
    for i in range(n):
        left, right = 4 * i, 4 * ((i + 1) % n)
        first, second = (min(left, right), max(left, right)) if ordered else (left, right)
        ps.append(k.spawn(pk.Program.script(f"phil{i}", [
            op.lock(first), op.compute(10), op.lock(second), op.compute(5),
            op.unlock(second), op.unlock(first)])))
    for p in ps[1:]:
        p.share_futexes(ps[0])
    return ps


def test_dining_philosophers_with_five_threads_deadlock_with_a_five_edge_cycle():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    philosophers(k)
    r = k.run()
    assert r.reason == "deadlock"
    assert len(r.deadlock) == 5
    assert r.deadlock.threads == (0, 1, 2, 3, 4)
    assert [(e.waiter, e.holder, e.kind, e.what) for e in r.deadlock.edges] == [
        (0, 1, "mutex", 4), (1, 2, "mutex", 8), (2, 3, "mutex", 12), (3, 4, "mutex", 16),
        (4, 0, "mutex", 0)]


def test_ordering_the_forks_prevents_the_deadlock():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    philosophers(k, ordered=True)              # breaks circular wait (§8.5.4)
    r = k.run()
    assert r.reason == "idle" and r.deadlock is None


def test_deadlocks_can_be_asked_at_any_time():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    philosophers(k)
    extra = k.spawn(pk.Program.script("busy", [op.compute(1000)]))
    k.run(until=200)                            # the philosophers are stuck, busy runs
    (d,) = k.deadlocks()
    assert len(d) == 5 and extra.threads[0].state in ("running", "ready")


def test_two_readers_that_should_answer_each_other_form_a_channel_cycle():
    k = make_kernel()
    a = k.spawn(pk.Program.script("a", [op.read(0), op.write(0, 4)]))
    x, y = a.channel_create()
    k.spawn(pk.Program.script("b", [op.read(0), op.write(0, 4)]), handles=[y])
    r = k.run()
    assert r.reason == "deadlock"
    assert [(e.waiter, e.holder, e.kind) for e in r.deadlock.edges] == [
        (0, 1, "channel"), (1, 0, "channel")]


def test_a_parent_waiting_for_a_child_that_waits_for_the_parent():
    k = make_kernel()
    parent = k.spawn(pk.Program.script("parent", [op.wait(1, pk.Signals.TERMINATED),
                                                  op.write(0, 4)]))
    mine, theirs = parent.channel_create()                # slots 0 and 1
    k.spawn(pk.Program.script("child", [op.read(0)]), handles=[theirs], parent=parent)
    assert [h.kind for h in parent.handles] == ["channel", "process"]   # slot 1 reused
    r = k.run()
    assert r.reason == "deadlock"
    assert [(e.waiter, e.holder, e.kind) for e in r.deadlock.edges] == [
        (0, 1, "process"), (1, 0, "channel")]
    assert "waits for the end of pid 1" in str(r.deadlock)


def test_waits_that_name_no_thread_give_no_cycle():
    k = make_kernel()
    k.spawn(pk.Program.script("s", [op.sem_wait(8)]))
    r = k.run()
    assert r.reason == "deadlock" and r.deadlock is None
    assert k.wait_for_graph() == []


# ---- the Banker's algorithm (Silberschatz §8.6.3.3, the worked example) ------

def textbook():
    # five processes P0..P4, resources A (10), B (5), C (7); snapshot at T0
    return pk.Banker(available=[3, 3, 2],
                     maximum=[[7, 5, 3], [3, 2, 2], [9, 0, 2], [2, 2, 2], [4, 3, 3]],
                     allocation=[[0, 1, 0], [2, 0, 0], [3, 0, 2], [2, 1, 1], [0, 0, 2]])


def test_banker_need_is_maximum_minus_allocation():
    assert textbook().need == [[7, 4, 3], [1, 2, 2], [6, 0, 0], [0, 1, 1], [4, 3, 1]]


def test_banker_finds_the_textbook_state_safe():
    b = textbook()
    seq = b.safe_sequence()
    assert b.is_safe() and sorted(seq) == [0, 1, 2, 3, 4] and seq[0] == 1


def test_banker_grants_p1s_request_and_refuses_p4s_and_p0s():
    b = textbook()
    assert b.request(1, [1, 0, 2])              # the book: granted, <P1, P3, P4, P0, P2>
    assert b.available == [2, 3, 0]
    assert not b.request(4, [3, 3, 0])          # the book: resources not available
    assert not b.request(0, [0, 2, 0])          # the book: the state would be unsafe
    assert b.available == [2, 3, 0]


def test_banker_rejects_requests_beyond_the_claim():
    with pytest.raises(ValueError):
        textbook().request(3, [1, 1, 1])
    with pytest.raises(ValueError):
        pk.Banker([1], [[1]], [[2]])


def test_a_deadlock_on_a_mutex_in_mapped_memory_names_its_address():
    # found by fuzzing (fuzz/corpus/script/regression-deadlock-report-futex-
    # with-memory): with memory, futexes are keyed by what the address maps,
    # and building this report read a null word table and crashed
    k = pk.Kernel(scheduler=pk.sched.FIFO(), memory=pk.Memory(frames=64))
    k.spawn(pk.Program.script("twice", [op.map(0x10000, 4096), op.lock(0x10000), op.lock(0x10000)]))
    assert k.run().reason == "deadlock"
    assert k.deadlocks() == [pk.Deadlock((pk.WaitEdge(0, 0, "mutex", 0x10000, 0),))]


def test_a_deadlock_on_a_mutex_in_shared_memory_names_the_address_it_is_mapped_at():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), memory=pk.Memory(frames=64))
    shm = k.shared_memory(2 * 4096)
    p = k.spawn(pk.Program.script("twice", [op.lock(0x20000 + 4100), op.lock(0x20000 + 4100)]))
    p.aspace.map(0x20000, 2 * 4096, shared=shm)
    assert k.run().reason == "deadlock"
    assert k.wait_for_graph() == [pk.WaitEdge(0, 0, "mutex", 0x20000 + 4100, 0)]
