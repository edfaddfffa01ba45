"""The same workload written as scripts and as Python generator bodies
gives the same simulation: a lock, a condition wait, a semaphore, a
futex wait with a deadline, a channel read or write and a socket write are the same kernel operation
whichever body kind issues it (the generator's yield runs the script
instruction in the core: csrc/core/pk_host.c; docs/architecture.md,
"Flow of one generator step").

Each test runs one workload twice, once with script threads and once with
generator threads doing the same operations in the same order, and
compares everything the digest-relevant accounting records: per-thread
arrival, first run, finish, CPU time, wait, blocked time and switch
counts, exit codes, the end time and the kernel's switch count.

The futex protocols are Drepper's, "Futexes Are Tricky" (2011): mutex
words 0 / 1 / 2, a condition variable's sequence word; the channel and
socket semantics are those of docs/objects.md (Zircon's zx_channel_write
/ zx_channel_read, zx_socket_write).
"""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

import pykernel as pk
from pykernel import op

MUTEX, CV, SEM = 64, 128, 192


def outcome(k: pk.Kernel, procs) -> dict:
    """What must agree: the run's end, its digest (every switch, exit and
    event, with its instant: Kernel.digest), and every thread's accounting."""
    out = {"now": k.now, "switches": k.stats.context_switches, "digest": k.digest()}
    for i, p in enumerate(procs):
        out[i] = (p.state, p.exit_code,
                  [(s.arrival, s.first_run, s.finish, s.cpu_time, s.wait, s.blocked,
                    s.voluntary_switches, s.involuntary_switches)
                   for s in (t.stats for t in p.threads)])
    return out


def run_both(build) -> tuple[dict, dict]:
    """``build(kind)`` makes a kernel and its processes with bodies of
    ``kind`` ("script" or "python"); run each to the end."""
    results = []
    for kind in ("script", "python"):
        k, procs = build(kind)
        assert k.run().reason == "idle"
        results.append(outcome(k, procs))
    return results[0], results[1]


def shared(k, progs):
    ps = [k.spawn(p) for p in progs]
    for p in ps[1:]:
        p.share_futexes(ps[0])
    return ps


# ---- a mutex-protected counter, contended ------------------------------------

def mutex_workload(kind, cpus=1):
    k = pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=250))
    counter = [0]
    if kind == "script":
        body = [op.loop(30, [op.lock(MUTEX), op.compute(400), op.unlock(MUTEX), op.compute(150)])]
        progs = [pk.Program.script(f"w{i}", body) for i in range(4)]
    else:
        def worker(ctx):
            for _ in range(30):
                yield ctx.lock(MUTEX)
                n = counter[0]
                yield ctx.compute(400)                  # preempted inside: the others wait
                counter[0] = n + 1
                yield ctx.unlock(MUTEX)
                yield ctx.compute(150)
        progs = [pk.Program.python(f"w{i}", worker) for i in range(4)]
    procs = shared(k, progs)
    k._counter = counter
    return k, procs


def test_a_contended_mutex_gives_the_same_run_as_script_and_as_generator():
    script, python = run_both(mutex_workload)
    assert python == script
    assert script["switches"] > 4 * 30                 # preempted holders: contention


def test_a_contended_mutex_on_two_cpus_gives_the_same_run():
    script, python = run_both(lambda kind: mutex_workload(kind, cpus=2))
    assert python == script


def test_the_generators_mutex_protects_their_counter():
    k, procs = mutex_workload("python")
    k.run()
    assert k._counter[0] == 4 * 30                     # no lost update: mutual exclusion


# ---- condition variable, semaphore ---------------------------------------------

def cond_workload(kind):
    k = pk.Kernel(cpus=1)
    if kind == "script":
        consumer = pk.Program.script("consumer", [op.loop(10, [
            op.lock(MUTEX), op.cond_wait(CV, MUTEX), op.unlock(MUTEX), op.compute(2_000)])])
        producer = pk.Program.script("producer", [op.loop(10, [
            op.sleep(50_000), op.lock(MUTEX), op.cond_broadcast(CV, MUTEX),
            op.unlock(MUTEX)])])
        poster = pk.Program.script("poster", [op.loop(6, [op.compute(3_000), op.sem_post(SEM)])])
        taker = pk.Program.script("taker", [op.loop(6, [op.sem_wait(SEM), op.compute(1_000)])])
    else:
        def consumer_body(ctx):
            for _ in range(10):
                yield ctx.lock(MUTEX)
                yield ctx.cond_wait(CV, MUTEX)
                yield ctx.unlock(MUTEX)
                yield ctx.compute(2_000)

        def producer_body(ctx):
            for _ in range(10):
                yield ctx.sleep(50_000)
                yield ctx.lock(MUTEX)
                yield ctx.cond_broadcast(CV, MUTEX)
                yield ctx.unlock(MUTEX)

        def poster_body(ctx):
            for _ in range(6):
                yield ctx.compute(3_000)
                yield ctx.sem_post(SEM)

        def taker_body(ctx):
            for _ in range(6):
                yield ctx.sem_wait(SEM)
                yield ctx.compute(1_000)

        consumer = pk.Program.python("consumer", consumer_body)
        producer = pk.Program.python("producer", producer_body)
        poster = pk.Program.python("poster", poster_body)
        taker = pk.Program.python("taker", taker_body)
    procs = shared(k, [consumer, consumer, consumer, producer, taker, poster])
    return k, procs


def test_condition_broadcast_and_semaphore_give_the_same_run():
    script, python = run_both(cond_workload)
    assert python == script
    assert all(script[i][1] == 0 for i in range(6))    # every one finished its loops


# ---- channel ping-pong with data -------------------------------------------------

def pingpong_workload(kind, rounds=40):
    k = pk.Kernel(cpus=1)                 # calibrated costs: syscall, wake-up, switch
    got = []
    if kind == "script":
        ping = pk.Program.script("ping", [op.loop(rounds, [op.write(0, 4), op.read(0)])])
        pong = pk.Program.script("pong", [op.loop(rounds, [op.read(0), op.write(0, 4)])])
    else:
        def ping_body(ctx):
            h = ctx.handle(0)
            for i in range(rounds):
                yield ctx.write(h, i.to_bytes(4, "little"))
                got.append((yield ctx.read(h)).data)

        def pong_body(ctx):
            h = ctx.handle(0)
            for _ in range(rounds):
                msg = yield ctx.read(h)
                yield ctx.write(h, msg.data[::-1])
        ping = pk.Program.python("ping", ping_body)
        pong = pk.Program.python("pong", pong_body)
    p = k.spawn(ping)
    a, b = p.channel_create()             # a lands in ping's slot 0
    q = k.spawn(pong, handles=[b])
    k._got = got
    return k, [p, q]


def test_channel_ping_pong_gives_the_same_run_as_script_and_as_generator():
    script, python = run_both(pingpong_workload)
    assert python == script


def test_the_generators_ping_pong_carries_the_data():
    k, _ = pingpong_workload("python", rounds=3)
    k.run()
    assert k._got == [b"\x00\x00\x00\x00", b"\x00\x00\x00\x01", b"\x00\x00\x00\x02"]


# ---- socket writes that wait for room -------------------------------------------------

def socket_workload(kind):
    """A writer (of `kind`) sends 6 x 10,000 bytes through a 4,096-byte
    stream socket to a script reader draining 1,000 bytes at a time: each
    write waits for room (write(2) on a full socket blocks). A read takes
    what is there, up to 1,000 bytes; the reader's reads past the
    writer's exit end at once with PEER_CLOSED (left in x[14])."""
    k = pk.Kernel(cpus=1)
    reader = pk.Program.script("reader", [op.loop(100, [op.read(0, 1_000), op.compute(2_000)])])
    if kind == "script":
        writer = pk.Program.script("writer", [op.loop(6, [op.write(0, 10_000)])])
    else:
        def writer_body(ctx):
            h = ctx.handle(0)
            for _ in range(6):
                n = yield ctx.write(h, bytes(10_000))
                assert n == 10_000
        writer = pk.Program.python("writer", writer_body)
    w = k.spawn(writer)
    a, b = w.socket_create(capacity=4_096)
    r = k.spawn(reader, handles=[b])
    return k, [w, r]


def test_socket_writes_that_wait_for_room_give_the_same_run():
    script, python = run_both(socket_workload)
    assert python == script
    assert script[0][:2] == ("exited", 0)
    assert script[0][2][0][6] > 0                     # the writer did wait for room


# ---- a wait for signals that times out, and one that is satisfied ------------------
# zx_object_wait_one: ZX_ERR_TIMED_OUT at the deadline; the signals
# observed when one of those wanted is asserted (Zircon, object_wait_one.md)

def wait_workload(kind, seen=None):
    """A waiter waits for READABLE on its channel end twice: first with a
    5,000 ns timeout that passes, then without one, until a script on the
    other CPU writes at 20,000 ns; then it reads. The script's timeout is
    relative, the body's deadline absolute from the same instant: the
    same wait."""
    k = pk.Kernel(cpus=2)
    if kind == "script":
        waiter = pk.Program.script("waiter", [op.compute(100),
                                              op.wait(0, pk.Signals.READABLE, timeout=5_000),
                                              op.compute(100), op.wait(0, pk.Signals.READABLE),
                                              op.read(0), op.compute(100)])
    else:
        def body(ctx):
            h = ctx.handle(0)
            yield ctx.compute(100)
            t0 = ctx.now
            try:
                yield ctx.wait_one(h, pk.Signals.READABLE, t0 + 5_000)
                seen.append("satisfied")
            except pk.TimedOut:
                seen.append(("timed out", ctx.now - t0))
            yield ctx.compute(100)
            seen.append((yield ctx.wait_one(h, pk.Signals.READABLE)))
            yield ctx.read(h)
            yield ctx.compute(100)
        waiter = pk.Program.python("waiter", body)
    sender = pk.Program.script("sender", [op.compute(20_000), op.write(0, 8)])
    w = k.spawn(waiter)
    a, b = w.channel_create()             # a: the waiter's slot 0
    s = k.spawn(sender, handles=[b])
    return k, [w, s]


def test_a_wait_that_times_out_then_one_satisfied_give_the_same_run():
    script, python = run_both(lambda kind: wait_workload(kind, []))
    assert python == script


def test_the_generators_wait_times_out_at_its_deadline_then_sees_readable():
    seen = []
    k, _ = wait_workload("python", seen)
    k.run()
    (what, after), signals = seen
    # it gave up at the deadline, 5,000 ns after it began, and ran again
    # after one context switch (Costs.switch: the CPU was idle meanwhile)
    assert (what, after) == ("timed out", 5_000 + k.costs.switch)
    # what a channel end with a message queued and its peer open asserts
    assert signals == pk.Signals.READABLE | pk.Signals.WRITABLE


def timed_pingpong_workload(kind, rounds=20):
    """Ping-pong on two CPUs where pong, after each reply, waits up to
    1,000 ns for USER_0, which nobody sets: the deadline events of the
    waits, counted in the digest, come from the same wait records."""
    k = pk.Kernel(cpus=2)
    if kind == "script":
        ping = pk.Program.script("ping", [op.loop(rounds, [op.write(0, 4), op.read(0)])])
        pong = pk.Program.script("pong", [op.loop(rounds, [
            op.read(0), op.write(0, 4), op.wait(0, pk.Signals.USER_0, timeout=1_000)])])
    else:
        def ping_body(ctx):
            h = ctx.handle(0)
            for _ in range(rounds):
                yield ctx.write(h, bytes(4))
                yield ctx.read(h)

        def pong_body(ctx):
            h = ctx.handle(0)
            for _ in range(rounds):
                msg = yield ctx.read(h)
                yield ctx.write(h, msg.data)
                try:
                    yield ctx.wait_one(h, pk.Signals.USER_0, ctx.now + 1_000)
                except pk.TimedOut:
                    pass
        ping = pk.Program.python("ping", ping_body)
        pong = pk.Program.python("pong", pong_body)
    p = k.spawn(ping)
    a, b = p.channel_create()
    q = k.spawn(pong, handles=[b])
    return k, [p, q]


def test_ping_pong_with_timed_waits_on_two_cpus_gives_the_same_run():
    script, python = run_both(timed_pingpong_workload)
    assert python == script


# ---- a call/reply server ---------------------------------------------------------------
# zx_channel_call: write a message with a new txid and wait for the reply with
# that txid (Zircon, channel_call.md). A script writes and reads; a body's
# ctx.call is one call, and a server's reads and writes are the same.

def server_workload(kind, rounds=10):
    """A script client writes a request and reads the reply; the server
    (of `kind`) reads each request and writes the reply with the
    request's txid, computing 700 ns in between."""
    k = pk.Kernel(cpus=2)
    client = pk.Program.script("client", [op.loop(rounds, [op.write(0, 16), op.read(0),
                                                           op.compute(300)])])
    if kind == "script":
        server = pk.Program.script("server", [op.loop(rounds, [op.read(0), op.compute(700),
                                                               op.write(0, 32)])])
    else:
        def body(ctx):
            h = ctx.handle(0)
            for _ in range(rounds):
                msg = yield ctx.read(h)
                yield ctx.compute(700)
                yield ctx.write(h, bytes(32), txid=msg.txid)
        server = pk.Program.python("server", body)
    c = k.spawn(client)
    a, b = c.channel_create()
    s = k.spawn(server, handles=[b])
    return k, [c, s]


def test_a_call_reply_server_gives_the_same_run_as_script_and_as_generator():
    script, python = run_both(server_workload)
    assert python == script


def test_a_generators_calls_get_their_replies_in_order():
    k = pk.Kernel(cpus=2)
    got = []

    def client(ctx):
        h = ctx.handle(0)
        for i in range(3):
            reply = yield ctx.call(h, bytes([i]))
            got.append(reply.data)

    def server(ctx):
        h = ctx.handle(0)
        for _ in range(3):
            msg = yield ctx.read(h)
            assert msg.txid >= 0x80000000                 # kernel-made ids have the top bit
            yield ctx.write(h, msg.data * 2, txid=msg.txid)

    c = k.spawn(pk.Program.python("client", client))
    a, b = c.channel_create()
    s = k.spawn(pk.Program.python("server", server), handles=[b])
    assert k.run().reason == "idle"
    assert (c.state, s.state) == ("exited", "exited")
    assert got == [b"\x00\x00", b"\x01\x01", b"\x02\x02"]


# ---- a port read ----------------------------------------------------------------------
# zx_port_wait: the first queued packet, waiting while there is none; a
# signal packet from zx_object_wait_async (Zircon, port_wait.md)

def port_workload(kind, seen=None):
    """Two user packets are queued before the run, and an asynchronous
    wait on a channel end queues a third when a script writes to the
    channel at 30,000 ns; the reader (of `kind`) reads three packets,
    computing 1,000 ns after each, on the other CPU: the third read
    waits."""
    k = pk.Kernel(cpus=2)
    if kind == "script":
        reader = pk.Program.script("reader", [op.loop(3, [op.read(0), op.compute(1_000)])])
    else:
        def body(ctx):
            h = ctx.handle(0)
            for _ in range(3):
                pkt = yield ctx.read(h)
                seen.append((pkt.key, pkt.type))
                yield ctx.compute(1_000)
        reader = pk.Program.python("reader", body)
    r = k.spawn(reader)
    port = r.port_create()                  # the reader's slot 0
    a, b = r.channel_create()
    for key in (1, 2):
        port.queue(key)
    b.wait_async(port, 3, pk.Signals.READABLE)
    sender = k.spawn(pk.Program.script("sender", [op.compute(30_000), op.write(0, 4)]),
                     handles=[a])
    return k, [r, sender]


def test_a_port_read_gives_the_same_run_as_script_and_as_generator():
    script, python = run_both(lambda kind: port_workload(kind, []))
    assert python == script
    assert script[0][2][0][6] > 0                     # the third read waited


def test_the_generators_port_reads_give_the_packets_in_order():
    seen = []
    k, _ = port_workload("python", seen)
    k.run()
    assert seen == [(1, "user"), (2, "user"), (3, "signal")]


# ---- futex waits with and without deadlines ----------------------------------------
# futex(2) FUTEX_WAIT: sleep while the word equals the expected value,
# until a FUTEX_WAKE or the timeout (ETIMEDOUT); a stale value: EAGAIN
# (BadState here) at once.

WORD = 256


def futex_workload(kind, seen=None):
    """Four waiters on WORD: none, a 500 ns and a 10 ms timeout (the
    second times out before the wake), and one whose timeout is 0 (it
    gives up at once); a waker wakes two after 200,000 ns of compute."""
    k = pk.Kernel(cpus=1, scheduler=pk.sched.FIFO())   # the waiters run first
    timeouts = [None, 500, 10_000_000, 0]
    if kind == "script":
        waiters = [pk.Program.script(f"w{i}", [op.compute(i + 1), op.futex_wait(WORD, 0, timeout=to),
                                               op.compute(100)])
                   for i, to in enumerate(timeouts)]
        waker = pk.Program.script("waker", [op.compute(200_000), op.futex_wake(WORD, 2),
                                            op.compute(10)])
    else:
        def waiter(i, to):
            def body(ctx):
                yield ctx.compute(i + 1)
                t0 = ctx.now
                try:
                    yield ctx.futex_wait(WORD, 0, None if to is None else t0 + to)
                    seen[i] = ("woken", ctx.now - t0)
                except pk.TimedOut:
                    seen[i] = ("timed out", ctx.now - t0)
                yield ctx.compute(100)
            return body

        def waker_body(ctx):
            yield ctx.compute(200_000)
            seen["woken"] = yield ctx.futex_wake(WORD, 2)
            yield ctx.compute(10)
        waiters = [pk.Program.python(f"w{i}", waiter(i, to)) for i, to in enumerate(timeouts)]
        waker = pk.Program.python("waker", waker_body)
    return k, shared(k, waiters + [waker])


def test_futex_waits_with_deadlines_give_the_same_run_as_script_and_as_generator():
    script, python = run_both(lambda kind: futex_workload(kind, {}))
    assert python == script


def test_the_generators_futex_waits_end_woken_or_timed_out():
    seen = {}
    k, _ = futex_workload("python", seen)
    k.run()
    assert seen["woken"] == 2
    assert [seen[i][0] for i in range(4)] == ["woken", "timed out", "woken", "timed out"]
    assert seen[1][1] >= 500 and seen[3][1] == 0     # gave up at (after) the deadline
    assert seen[0][1] > 200_000 and seen[2][1] > 200_000   # the waker's compute first


# ---- errors: the yield raises what the script instruction leaves in x[14] ------------
# (an unlock by a thread that does not own the mutex: EPERM in
# pthread_mutex_unlock(3p) for an error-checking mutex; of a free mutex:
# BAD_STATE, as the script instruction reports)

def run_body(body, *others):
    """Run Python body ``body`` with script processes ``others``, all on
    the same futexes; its process."""
    k = pk.Kernel(cpus=1)
    procs = shared(k, [pk.Program.python("body", body)]
                   + [pk.Program.script(f"o{i}", o) for i, o in enumerate(others)])
    k.run()
    return procs[0]


def test_unlock_of_a_mutex_another_thread_holds_raises_access_denied_in_the_body():
    seen = []

    def body(ctx):
        yield ctx.compute(5)
        try:
            yield ctx.unlock(MUTEX)
        except pk.AccessDenied as e:
            seen.append(str(e))
        yield ctx.compute(1)
    p = run_body(body, [op.lock(MUTEX), op.compute(100)])
    assert seen == ["unlock: access denied: the handle lacks a right"]   # errors.py words
    assert p.exit_code == 0


def test_unlock_of_a_free_mutex_raises_bad_state_in_the_body():
    seen = []

    def body(ctx):
        try:
            yield ctx.unlock(MUTEX)
        except pk.BadState as e:
            seen.append(str(e))
    p = run_body(body)
    assert seen == ["unlock: not possible in the present state"]


def test_cond_wait_without_the_mutex_raises_in_the_body_and_an_uncaught_one_kills():
    def body(ctx):
        yield ctx.cond_wait(CV, MUTEX)
    p = run_body(body)
    assert p.state == "killed"
    assert isinstance(p.error, pk.BadState)
    assert str(p.error) == "cond_wait: not possible in the present state"


def test_a_lock_made_and_not_yielded_is_reported_with_its_line():
    def body(ctx):
        ctx.lock(MUTEX)
        yield ctx.compute(1)
    p = run_body(body)
    assert isinstance(p.error, RuntimeError)
    assert str(p.error).startswith("ctx.lock(...) made at line ")
    assert str(p.error).endswith("was never yielded, so it did nothing: write `yield ctx.lock(...)`")


def test_cond_wait_refuses_the_mutex_addresses_scripts_refuse():
    k = pk.Kernel()

    def body(ctx):
        yield ctx.cond_wait(CV, 2**32)
    p = k.spawn(pk.Program.python("b", body))
    k.run()
    assert isinstance(p.error, pk.OutOfRange)
    assert str(p.error) == "cond_wait mutex address must fit in 32 bits (unsigned), got 4294967296"


def test_a_generators_refused_futex_instruction_gets_the_script_rules_words():
    # the same rule refuses op.cond_broadcast(8, 8) in a script
    # (tests/test_futex.py): the mutex must be another word than the
    # condition variable (futex(2), FUTEX_CMP_REQUEUE: uaddr2 names another word)
    k = pk.Kernel()

    def body(ctx):
        yield ctx.cond_wait(8, 8)
    p = k.spawn(pk.Program.python("b", body))
    k.run()
    assert isinstance(p.error, ValueError)
    assert str(p.error).endswith(
        "which the kernel refused: mutex address 8 is the condition variable's address; "
        "a mutex is another word")


# ---- property: any mix of computes, locks, sleeps and yields agrees -------------


_STEP = st.one_of(
    st.tuples(st.just("compute"), st.integers(1, 3_000)),
    st.tuples(st.just("sleep"), st.integers(1, 3_000)),
    st.tuples(st.just("locked"), st.integers(1, 3_000)),     # lock, compute, unlock
    st.tuples(st.just("yield"), st.just(0)),
)


def _script_of(steps):
    ops = []
    for what, ns in steps:
        if what == "locked":
            ops += [op.lock(MUTEX), op.compute(ns), op.unlock(MUTEX)]
        elif what == "yield":
            ops.append(op.yield_())
        else:
            ops.append(getattr(op, what)(ns))
    return ops


def _body_of(steps):
    def body(ctx):
        for what, ns in steps:
            if what == "locked":
                yield ctx.lock(MUTEX)
                yield ctx.compute(ns)
                yield ctx.unlock(MUTEX)
            elif what == "yield":
                yield ctx.yield_()
            else:
                yield getattr(ctx, what)(ns)
    return body


@settings(max_examples=40, deadline=None)
@given(threads=st.lists(st.lists(_STEP, min_size=1, max_size=8), min_size=1, max_size=4),
       cpus=st.integers(1, 3), quantum=st.integers(100, 2_000))
def test_any_mix_of_operations_gives_the_same_run_as_script_and_as_generator(threads, cpus,
                                                                             quantum):
    def build(kind):
        k = pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=quantum))
        progs = [pk.Program.script(f"t{i}", _script_of(s)) if kind == "script"
                 else pk.Program.python(f"t{i}", _body_of(s)) for i, s in enumerate(threads)]
        return k, shared(k, progs)
    script, python = run_both(build)
    assert python == script
