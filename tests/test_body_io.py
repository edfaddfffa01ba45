"""The errors a Python body's read, call, wait and socket write raise at
its yield, and the record the core keeps for what they read.

These operations run as the script instructions do (csrc/obj/pk_chan.c,
pk_socket.c, pk_port.c, pk_wait.c; csrc/core/pk_host.c); a status they
end with is raised in the body by its yield. The statuses are Zircon's:
ZX_ERR_BAD_HANDLE for a handle value that names nothing, ZX_ERR_TIMED_OUT
at the deadline, ZX_ERR_PEER_CLOSED once the peer is gone and nothing is
left to read, ZX_ERR_CANCELED when the handle waited on is closed
(Zircon, channel_read.md, object_wait_one.md); BadState for a call while
another message is queued before its reply (docs/objects.md).
"""

from __future__ import annotations

import pytest

import pykernel as pk
from pykernel import op

IDLE = pk.Program.script("idle", [op.sleep(10**9)])


def run_reader(body, until=None, **kw):
    """A kernel with a boot process holding one end of a channel and a
    Python process `body` holding the other in slot 0; run it."""
    k = pk.Kernel(cpus=1, **kw)
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    p = k.spawn(pk.Program.python("reader", body), handles=[b])
    k.run(until=until)
    return k, p, a


def test_a_read_through_a_closed_handle_raises_bad_handle_in_the_body():
    seen = []

    def body(ctx):
        h = ctx.handle(0)
        h.close()
        try:
            yield ctx.read(h)
        except pk.BadHandle as e:
            seen.append(str(e))

    k, p, _ = run_reader(body)
    assert p.state == "exited"
    assert seen == ["read: not a valid handle in this process"]


def test_a_wait_through_a_closed_handle_raises_bad_handle_in_the_body():
    seen = []

    def body(ctx):
        h = ctx.handle(0)
        h.close()
        try:
            yield ctx.wait_one(h, pk.Signals.READABLE)
        except pk.BadHandle as e:
            seen.append(str(e))

    run_reader(body)
    assert seen == ["wait_one: not a valid handle in this process"]


def test_a_read_gives_up_at_its_deadline_with_timed_out():
    seen = []

    def body(ctx):
        t0 = ctx.now
        try:
            yield ctx.read(ctx.handle(0), deadline=t0 + 5_000)
        except pk.TimedOut as e:
            seen.append((str(e), ctx.now - t0))

    k, p, _ = run_reader(body)
    c = k.costs
    # woken at the deadline; switched in, then the read's system call and
    # wake-up costs (pk_obj_op_cost), as a script's read
    assert seen == [("read: timed out", 5_000 + c.switch + c.syscall + c.wakeup)]


def test_a_read_whose_peer_closes_raises_peer_closed():
    seen = []

    def body(ctx):
        try:
            yield ctx.read(ctx.handle(0))
        except pk.PeerClosed as e:
            seen.append(str(e))

    k, p, a = run_reader(body, until=50_000)
    assert p.threads[0].state == "waiting"
    a.close()
    k.run()
    assert seen == ["read: the other end is closed"]


def test_closing_the_handle_a_read_waits_on_cancels_it():
    seen = []

    def body(ctx):
        try:
            yield ctx.read(ctx.handle(0))
        except pk.Canceled as e:
            seen.append(str(e))

    k, p, _ = run_reader(body, until=50_000)
    p.handles[0].close()
    k.run()
    assert seen == ["read: canceled"]


def test_closing_the_handle_a_wait_waits_on_cancels_it():
    seen = []

    def body(ctx):
        try:
            yield ctx.wait_one(ctx.handle(0), pk.Signals.READABLE)
        except pk.Canceled as e:
            seen.append(str(e))

    k, p, _ = run_reader(body, until=50_000)
    p.handles[0].close()
    k.run()
    assert seen == ["wait_one: canceled"]


def test_wait_many_takes_at_most_64_items_when_made():
    seen = []

    def body(ctx):
        h = ctx.handle(0)
        try:
            ctx.wait_many([(h, pk.Signals.READABLE)] * 65)
        except ValueError as e:
            seen.append(str(e))
        yield ctx.compute(1)

    run_reader(body)
    assert seen == ["wait_many takes 1 to 64 items, got 65"]


def test_wait_many_gives_each_items_signals_when_one_is_asserted():
    seen = []

    def body(ctx):
        h = ctx.handle(0)
        e = ctx.process.event_create()
        seen.append((yield ctx.wait_many([(e, pk.Signals.SIGNALED), (h, pk.Signals.READABLE)])))

    k, p, a = run_reader(body, until=50_000)
    assert p.threads[0].state == "waiting"
    a.write(b"x")
    k.run()
    assert seen == [[pk.Signals.NONE, pk.Signals.READABLE | pk.Signals.WRITABLE]]


def test_a_call_with_another_message_queued_first_raises_bad_state():
    seen = []

    def body(ctx):
        try:
            yield ctx.call(ctx.handle(0), b"request")
        except pk.BadState as e:
            seen.append(str(e))

    k = pk.Kernel(cpus=1)
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    a.write(b"not the reply")
    k.spawn(pk.Program.python("client", body), handles=[b])
    k.run()
    assert seen == ["call: a message that is not the reply is queued first; read it before calling"]


def test_a_socket_write_to_a_closed_peer_raises_peer_closed_with_the_bytes_left():
    seen = []

    def body(ctx):
        try:
            yield ctx.write(ctx.handle(0), bytes(10_000))   # 4,096 fit, then it waits
        except pk.PeerClosed as e:
            seen.append(str(e))

    k = pk.Kernel(cpus=1)
    boot = k.spawn(IDLE)
    a, b = boot.socket_create(capacity=4_096)
    p = k.spawn(pk.Program.python("writer", body), handles=[b])
    k.run(until=50_000)
    assert p.threads[0].state == "waiting" and a.queued == 4_096
    a.close()
    k.run()
    assert seen == ["write: the other end is closed"]


def test_a_socket_read_gives_the_bytes_written():
    seen = []

    def body(ctx):
        seen.append((yield ctx.read(ctx.handle(0))))

    k = pk.Kernel(cpus=1)
    boot = k.spawn(IDLE)
    a, b = boot.socket_create(capacity=4_096)
    k.spawn(pk.Program.python("reader", body), handles=[b])
    k.run(until=50_000)
    a.write(b"hello")
    k.run()
    assert seen == [b"hello"]


def test_a_message_read_brings_its_handles_into_the_readers_table():
    seen = []

    def body(ctx):
        msg = yield ctx.read(ctx.handle(0))
        seen.append((msg.data, [h.kind for h in msg.handles], ctx.handles[1:] == list(msg.handles)))

    k = pk.Kernel(cpus=1)
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    k.spawn(pk.Program.python("reader", body), handles=[b])
    k.run(until=50_000)
    a.write(b"ev", handles=[boot.event_create()])
    k.run()
    assert seen == [(b"ev", ["event"], True)]


# ---- the host-I/O record ------------------------------------------------------------

def read_big_then_sleep(size):
    """A kernel whose Python reader has read a `size`-byte message and
    sleeps; the reader's process."""
    def body(ctx):
        yield ctx.read(ctx.handle(0))
        yield ctx.sleep(10**9)

    k = pk.Kernel(cpus=1)
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    a.write(bytes(size))
    p = k.spawn(pk.Program.python("reader", body), handles=[b])
    k.run(until=100_000)
    return k, p


def test_a_killed_reader_frees_the_bytes_it_read():
    # the record keeps the 60,000 bytes read while the thread lives, and
    # frees them when it ends: then the core holds what it holds after a
    # 1-byte read
    k_small, p_small = read_big_then_sleep(1)
    k_big, p_big = read_big_then_sleep(60_000)
    held = k_big.stats.memory_bytes - k_small.stats.memory_bytes
    assert held >= 60_000 - 1
    p_small.kill()
    p_big.kill()
    k_small.run()
    k_big.run()
    assert k_big.stats.memory_bytes == k_small.stats.memory_bytes
    assert k_big.object_stats == k_small.object_stats


def test_a_kernel_is_refused_while_a_python_reader_lives_and_captured_once_it_ends():
    def body(ctx):
        yield ctx.read(ctx.handle(0))
        yield ctx.sleep(50_000)

    k, p, a = run_reader(body, until=10_000)
    a.write(b"x" * 100)
    k.run(until=20_000)                    # read: its record holds the 100 bytes
    with pytest.raises(pk.NotSupported, match="Python generators"):
        k.snapshot()
    k.run()                                # the reader ends: its record goes
    assert p.state == "exited"
    k2 = pk.Kernel.restore(k.snapshot())
    assert k2.object_stats == k.object_stats


def test_a_python_reader_waiting_is_refused_by_name():
    def body(ctx):
        yield ctx.wait_one(ctx.handle(0), pk.Signals.READABLE)

    k, p, _ = run_reader(body, until=50_000)
    tid = p.threads[0].tid
    with pytest.raises(pk.NotSupported, match=rf"tid {tid} \(process 'reader-1'\) waits in ctx\.wait_one"):
        k.snapshot()


# ---- the Python stepping gives the same values ------------------------------------------

class PyFIFO(pk.sched.Policy):
    """First come, first served, written in Python: the core then leaves
    every step of a body to Kernel._host_step (no upcall sends)."""

    def __init__(self):
        self.queue = []

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.pop(0)


def every_value(scheduler):
    """One body doing each operation once, with what each yield gave."""
    seen = []

    def body(ctx):
        ch, sock, port = ctx.handle(0), ctx.handle(1), ctx.handle(2)
        msg = yield ctx.read(ch)
        seen.append(("message", msg.data, msg.txid, len(msg.handles)))
        seen.append(("bytes", (yield ctx.read(sock))))
        pkt = yield ctx.read(port)
        seen.append(("packet", pkt.key, pkt.type, pkt.signals))
        seen.append(("signals", (yield ctx.wait_one(ch, pk.Signals.WRITABLE))))
        seen.append(("pending", (yield ctx.wait_many([(ch, pk.Signals.USER_0),
                                                      (sock, pk.Signals.WRITABLE)]))))
        seen.append(("written", (yield ctx.write(sock, bytes(3_000)))))
        seen.append(("woken", (yield ctx.futex_wake(64, 5))))
        try:
            yield ctx.read(ch, deadline=ctx.now + 1_000)
        except pk.TimedOut as e:
            seen.append(("error", str(e)))
        seen.append(("requeued", (yield ctx.futex_requeue(64, 1, 128, 1))))
        seen.append(("end", ctx.now))

    k = pk.Kernel(cpus=1, scheduler=scheduler)
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    s, t = boot.socket_create(capacity=2_000)
    port = boot.port_create()
    a.write(b"request", handles=[boot.event_create()])
    s.write(b"stream")
    port.queue(7, pk.Signals.USER_1)
    k.spawn(pk.Program.python("body", body), handles=[b, t, port])
    k.run(until=10**6)
    s.read()                               # room for the rest of the 3,000 bytes
    k.run()
    return seen


def test_the_python_stepping_gives_a_body_the_values_the_upcall_gives():
    built_in = every_value(pk.sched.FIFO())
    assert every_value(PyFIFO()) == built_in
    assert [v[0] for v in built_in] == ["message", "bytes", "packet", "signals", "pending",
                                        "written", "woken", "error", "requeued", "end"]
    assert built_in[:3] == [("message", b"request", 0, 1), ("bytes", b"stream"),
                            ("packet", 7, "user", pk.Signals.USER_1)]
    assert built_in[5:9] == [("written", 3_000), ("woken", 0), ("error", "read: timed out"),
                             ("requeued", 0)]


def test_the_host_entry_points_refuse_bad_arguments_with_a_status():
    from pykernel._ffi import ffi, lib
    k = pk.Kernel(cpus=1)
    kp, out = k._kp, ffi.new("uint32_t *")
    k.spawn(IDLE)
    # no thread waits for its next operation: nothing to give or to ask
    assert lib.pk_host_deliver_write(kp, 1, b"ab", 2) == lib.PK_ERR_BAD_STATE
    assert lib.pk_host_deliver_requeue(kp, 64, 1, 128, 1) == lib.PK_ERR_BAD_STATE
    assert lib.pk_host_result(kp, 0, id([])) == lib.PK_ERR_BAD_STATE
    assert lib.pk_host_result(kp, 0, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_host_blocked(kp, 10**6, out) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_host_blocked(kp, 0, ffi.NULL) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_host_blocked(kp, 0, out) == lib.PK_ERR_BAD_STATE     # a script thread
    assert lib.pk_host_give_yield(kp, id((lib.PK_OP_LOCK, 64, 0))) == lib.PK_ERR_BAD_STATE
    assert lib.pk_host_give_yield(kp, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_host_give_yield(ffi.NULL, id((lib.PK_OP_LOCK, 64, 0))) == lib.PK_ERR_INVALID_ARGS
