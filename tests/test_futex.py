"""Futexes and the locks built on them (pk_futex.c).

Rules: wait(addr, expected) sleeps only if the word still equals expected
(otherwise BAD_STATE / EAGAIN); wake(addr, n) wakes at most n waiters
(zx_futex_wait, zx_futex_wake; futex(2): FUTEX_WAIT, FUTEX_WAKE, FUTEX_CMP_REQUEUE);
the mutex is Drepper's ("Futexes Are Tricky", 2011, mutex with states
0/1/2); semaphores and condition variables as in OSTEP ch. 30-31."""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op


def shared(k, progs):
    """Spawn one process per program, all using the first one's futexes."""
    ps = [k.spawn(p) for p in progs]
    for p in ps[1:]:
        p.share_futexes(ps[0])
    return ps


def test_a_futex_wait_with_a_stale_expected_value_returns_bad_state_at_once():
    k = make_kernel()
    p = k.spawn(pk.Program.script("f", [op.futex_wait(8, 1), op.compute(5)]))
    k.run()
    assert k.now == 5 and p.threads[0].registers.x[14] == 2**64 - 20   # BAD_STATE


def test_a_python_futex_wait_with_a_stale_value_raises_bad_state():
    k = make_kernel()
    got = []

    def body(ctx):
        ctx.process.futex_set(8, 3)
        try:
            yield ctx.futex_wait(8, 0)
        except pk.BadState:
            got.append(ctx.now)

    k.spawn(pk.Program.python("f", body))
    k.run()
    assert got == [0]


def test_futex_wake_wakes_at_most_n_waiters_in_the_order_they_waited():
    k = make_kernel()
    ps = shared(k, [pk.Program.script(f"w{i}", [op.compute(i + 1), op.futex_wait(8, 0),
                                                op.compute(10)]) for i in range(3)])
    assert k.run().reason == "deadlock" and k.now == 6     # all three wait
    woke = []

    def waker(ctx):
        woke.append((yield ctx.futex_wake(8, 2)))

    shared_with(k, ps[0], [pk.Program.python("waker", waker)])
    k.run(until=1000)
    assert woke == [2]
    assert [p.state for p in ps] == ["exited", "exited", "alive"]
    assert [p.stats.finish for p in ps[:2]] == [16, 26]


def shared_with(k, owner, progs):
    ps = [k.spawn(p) for p in progs]
    for p in ps:
        p.share_futexes(owner)
    return ps


def test_a_futex_wait_times_out():
    k = make_kernel()
    p = k.spawn(pk.Program.script("f", [op.futex_wait(8, 0, timeout=70), op.compute(1)]))
    k.run()
    assert p.stats.finish == 71 and p.threads[0].registers.x[14] == 2**64 - 21


def test_requeue_wakes_some_and_moves_the_rest():
    k = make_kernel()
    ps = shared(k, [pk.Program.script(f"w{i}", [op.futex_wait(8, 0)]) for i in range(3)])
    k.run(until=10)
    got = []

    def body(ctx):
        got.append((yield ctx.futex_requeue(8, 1, 12, 5)))
        got.append((yield ctx.futex_wake(8, 5)))       # none left on 8
        got.append((yield ctx.futex_wake(12, 5)))      # the two moved

    shared_with(k, ps[0], [pk.Program.python("rq", body)])
    k.run(until=100)
    assert got == [1, 0, 2]
    assert all(p.state == "exited" for p in ps)


def test_a_mutex_gives_mutual_exclusion():
    k = make_kernel(pk.sched.RoundRobin(quantum=3))
    spans = []

    def worker(ctx):
        for _ in range(3):
            yield ctx.lock(64)
            start = ctx.now
            yield ctx.compute(10)                   # preempted inside: others must wait
            spans.append((start, ctx.now))
            yield ctx.unlock(64)

    shared(k, [pk.Program.python("w", worker)] * 3)
    assert k.run().reason == "idle"
    spans.sort()
    assert len(spans) == 9
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_script_threads_take_turns_on_a_mutex():
    k = make_kernel(pk.sched.RoundRobin(quantum=3))
    w = pk.Program.script("w", [op.loop(3, [op.lock(64), op.compute(10), op.unlock(64),
                                            op.compute(1)])])
    ps = shared(k, [w] * 3)
    assert k.run().reason == "idle" and k.now == 99
    assert [p.threads[0].registers.x[14] for p in ps] == [0, 0, 0]


def test_unlocking_a_mutex_another_thread_holds_is_access_denied():
    k = make_kernel()
    a, b = shared(k, [pk.Program.script("a", [op.lock(64), op.sleep(100)]),
                      pk.Program.script("b", [op.compute(5), op.unlock(64), op.compute(1)])])
    k.run(until=50)
    assert b.threads[0].registers.x[14] == 2**64 - 30
    assert a.mutex_owner(64) == a.threads[0]


def test_unlocking_a_free_mutex_is_bad_state():
    k = make_kernel()
    p = k.spawn(pk.Program.script("u", [op.unlock(64), op.compute(1)]))
    k.run()
    assert p.threads[0].registers.x[14] == 2**64 - 20


def test_a_semaphore_lets_count_holders_in():
    k = make_kernel(cpus=2)
    got = []

    def user(ctx):
        yield ctx.sem_wait(8)
        got.append(ctx.now)
        yield ctx.compute(10)
        yield ctx.sem_post(8)

    ps = [k.spawn(pk.Program.python("u", user)) for _ in range(3)]
    ps[0].futex_set(8, 2)                           # two units
    for p in ps[1:]:
        p.share_futexes(ps[0])
    k.run()
    assert sorted(got) == [0, 0, 10]


def test_a_condition_variable_wakes_one_on_signal_and_all_on_broadcast():
    k = make_kernel()
    woke = []

    def waiter(ctx):
        yield ctx.lock(0)
        yield ctx.cond_wait(4, 0)
        woke.append(ctx.now)
        yield ctx.unlock(0)

    def signaller(ctx):
        yield ctx.compute(10)
        yield ctx.cond_signal(4)
        yield ctx.sleep(10)
        yield ctx.lock(0)
        yield ctx.cond_broadcast(4, 0)
        yield ctx.unlock(0)

    shared(k, [pk.Program.python("w", waiter)] * 3 + [pk.Program.python("s", signaller)])
    assert k.run().reason == "idle"
    assert sorted(woke) == [10, 20, 20]


def test_script_condition_wait_and_broadcast():
    k = make_kernel()
    w = pk.Program.script("w", [op.lock(0), op.cond_wait(4, 0), op.unlock(0), op.compute(1)])
    s = pk.Program.script("s", [op.compute(30), op.lock(0), op.cond_broadcast(4, 0),
                                op.unlock(0)])
    ps = shared(k, [w, w, s])
    assert k.run().reason == "idle"
    assert sorted(p.stats.finish for p in ps[:2]) == [31, 32]


def test_futex_words_are_per_process_unless_shared():
    k = make_kernel()
    idle = pk.Program.script("i", [op.sleep(100)])
    a, b, c = k.spawn(idle), k.spawn(idle), k.spawn(idle)
    c.share_futexes(a)
    a.futex_set(8, 7)
    assert (a.futex_get(8), b.futex_get(8), c.futex_get(8)) == (7, 0, 7)
    with pytest.raises(pk.BadState):
        b.futex_set(16, 1) or b.share_futexes(a)    # b has words of its own


# a futex word is a 32-bit word at a 4-byte-aligned address (futex(2): "the
# futex word ... must be aligned to a four-byte boundary"); addresses are
# below 2**48 (PK_FUTEX_ADDR_MAX, csrc/core/pk_api.h): the core's rules,
# refused by pk_script_check when the script is made, naming the instruction
@pytest.mark.parametrize("ops, error, words", [
    ([op.futex_wait(6, 0)], pk.InvalidArgs, "instruction 0: futex word address must be a "
                                            "multiple of 4 between 0 and 281474976710655, got 6"),
    ([op.compute(1), op.lock(2**48)], pk.OutOfRange,
     "instruction 1: futex word address must be between 0 and 281474976710655, "
     "got 281474976710656"),
    ([op.sem_wait(-4, timeout=5)], pk.OutOfRange,
     "instruction 1: futex word address must be between 0 and 281474976710655, got -4"),
    ([op.cond_wait(8, 6)], pk.InvalidArgs, "instruction 0: mutex address must be a multiple of 4 "
                                           "between 0 and 281474976710655, got 6"),
    ([op.cond_broadcast(8, 8)], pk.InvalidArgs,
     "instruction 0: mutex address 8 is the condition variable's address; a mutex is another "
     "word"),
])
def test_script_futex_addresses_are_the_cores_rule(ops, error, words):
    with pytest.raises(error) as e:
        pk.Program.script("f", ops)
    assert str(e.value).endswith(": " + words)


def test_a_cond_wait_mutex_must_fit_its_32_bit_word():
    with pytest.raises(pk.OutOfRange, match="cond_wait mutex address must fit in 32 bits"):
        op.cond_wait(8, 2**32)


def test_futex_addresses_are_validated():
    k = make_kernel()
    p = k.spawn(pk.Program.script("i", [op.sleep(1)]))
    with pytest.raises(ValueError):
        p.futex_get(3)
