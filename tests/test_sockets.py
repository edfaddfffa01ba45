"""Sockets and pipes (pk_socket.c), after Zircon's sockets
(docs/reference/kernel_objects/socket.md: stream and datagram modes, a
write on a full socket is SHOULD_WAIT, a stream write may be short, a
datagram goes whole) and POSIX pipes (pipe(7): the read end only reads,
the write end only writes; a read after the writer closed and the data
is drained is end-of-file, here PEER_CLOSED)."""

import pytest

import pykernel as pk
from conftest import make_kernel

op, S = pk.op, pk.Signals
IDLE = pk.Program.script("idle", [op.sleep(10**6)])


def proc():
    k = make_kernel()
    return k, k.spawn(IDLE)


def test_a_stream_write_larger_than_the_room_is_short():
    k, p = proc()
    a, b = p.socket_create(capacity=10)
    assert a.write(b"hello world!") == 10
    assert b.read() == b"hello worl"


def test_a_write_to_a_full_socket_is_should_wait():
    k, p = proc()
    a, b = p.socket_create(capacity=4)
    a.write(b"1234")
    assert not a.signals & S.WRITABLE
    with pytest.raises(pk.ShouldWait):
        a.write(b"5")


def test_reading_makes_the_writer_writable_again():
    k, p = proc()
    a, b = p.socket_create(capacity=4)
    a.write(b"1234")
    assert b.read(max_bytes=1) == b"1"
    assert a.signals & S.WRITABLE
    assert a.write(b"56") == 1


def test_a_stream_keeps_byte_order_across_writes_and_partial_reads():
    k, p = proc()
    a, b = p.socket_create()
    a.write(b"abc")
    a.write(b"defg")
    assert [b.read(max_bytes=2), b.read(max_bytes=4), b.read()] == [b"ab", b"cdef", b"g"]
    assert not b.signals & S.READABLE


def test_a_datagram_goes_whole_or_not_at_all():
    k, p = proc()
    a, b = p.socket_create("datagram", capacity=10)
    a.write(b"abc")
    a.write(b"defg")
    with pytest.raises(pk.ShouldWait):
        a.write(b"12345")                      # 3 bytes of room: not enough
    assert b.read() == b"abc"
    assert b.read(max_bytes=2) == b"de"        # the rest of the datagram is dropped
    with pytest.raises(pk.ShouldWait):
        b.read()


def test_a_datagram_larger_than_the_capacity_is_out_of_range():
    k, p = proc()
    a, b = p.socket_create("datagram", capacity=10)
    with pytest.raises(pk.OutOfRange):
        a.write(bytes(11))


def test_buffered_data_stays_readable_after_the_peer_closes():
    k, p = proc()
    a, b = p.socket_create()
    a.write(b"last words")
    a.close()
    assert b.signals == S.READABLE | S.PEER_CLOSED
    assert b.read() == b"last words"
    with pytest.raises(pk.PeerClosed):
        b.read()


def test_pipe_ends_only_read_and_only_write():
    k, p = proc()
    r, w = p.pipe_create()
    assert w.write(b"x") == 1
    with pytest.raises(pk.AccessDenied):
        r.write(b"y")
    with pytest.raises(pk.AccessDenied):
        w.read()
    assert r.read() == b"x"


def test_script_threads_stream_through_a_pipe_waiting_for_room():
    k = make_kernel(pk.sched.RoundRobin(quantum=1000))
    w = k.spawn(pk.Program.script("w", [op.write(1, 100), op.compute(1)]))
    r_end, w_end = w.pipe_create(capacity=30)        # slots 0 and 1
    rd = k.spawn(pk.Program.script("r", [op.loop(30, [op.read(0, 10), op.compute(2)])]),
                 handles=[r_end])                     # reads may be short: read on
    assert k.run().reason == "idle"
    assert w.threads[0].registers.x[14] == 0          # all 100 bytes written
    assert rd.threads[0].registers.x[14] == 2**64 - 24   # then end of file: PEER_CLOSED
    assert w.stats.voluntary_switches == 3            # it waited for room at 30, 60, 90 bytes


def test_python_threads_write_everything_and_read_what_is_there():
    k = make_kernel()
    boot = k.spawn(IDLE)
    a, b = boot.socket_create(capacity=8)
    got = []

    def writer(ctx):
        got.append(("wrote", (yield ctx.write(ctx.handle(0), b"0123456789abcdef"))))

    def reader(ctx):
        data = b""
        while len(data) < 16:
            yield ctx.compute(5)
            data += yield ctx.read(ctx.handle(0))
        got.append(("read", data))

    k.spawn(pk.Program.python("w", writer), handles=[a])
    k.spawn(pk.Program.python("r", reader), handles=[b])
    k.run(until=10**6)
    assert got == [("wrote", 16), ("read", b"0123456789abcdef")]


def test_socket_handles_can_be_duplicated_and_sent():
    k, p = proc()
    a, b = p.socket_create()
    assert pk.Rights.DUPLICATE in a.rights
    c, d = p.channel_create()
    c.write(b"", handles=[a.duplicate()])
    (a2,) = d.read().handles
    a2.write(b"via copy")
    assert b.read() == b"via copy"


def test_bad_socket_arguments():
    k, p = proc()
    with pytest.raises(ValueError):
        p.socket_create("raw")
    with pytest.raises(ValueError):
        p.socket_create(capacity=0)
    with pytest.raises(TypeError):
        p.pipe_create(capacity="big")
