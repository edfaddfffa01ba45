"""Ports and asynchronous waits (pk_port.c), after Zircon's ports
(docs/reference/syscalls/object_wait_async.md: a one-shot wait queues a
packet with the key and the observed signals when a signal is asserted;
port_queue adds user packets; port_wait takes packets in order)."""

import pytest

import pykernel as pk
from conftest import make_kernel

S, op = pk.Signals, pk.op
IDLE = pk.Program.script("idle", [op.sleep(10**6)])


def setup():
    k = make_kernel()
    p = k.spawn(IDLE)
    return k, p, p.port_create()


def test_an_async_wait_queues_a_packet_when_the_signal_is_asserted():
    k, p, port = setup()
    e = p.event_create()
    e.wait_async(port, 42, S.SIGNALED)
    assert port.queued == 0 and not port.signals & S.READABLE
    e.signal(set=S.SIGNALED)
    assert port.signals & S.READABLE
    assert port.read() == pk.Packet(42, "signal", S.SIGNALED)


def test_an_async_wait_is_one_shot():
    k, p, port = setup()
    e = p.event_create()
    e.wait_async(port, 1, S.USER_0)
    e.signal(set=S.USER_0)
    e.signal(clear=S.USER_0)
    e.signal(set=S.USER_0)
    assert port.queued == 1


def test_an_already_asserted_signal_queues_at_once():
    k, p, port = setup()
    a, b = p.channel_create()
    a.wait_async(port, 3, S.WRITABLE)
    assert port.read().key == 3


def test_packets_come_out_in_order_with_user_packets():
    k, p, port = setup()
    e = p.event_create()
    port.queue(1, S.USER_1)
    e.wait_async(port, 2, S.SIGNALED)
    e.signal(set=S.SIGNALED)
    port.queue(3)
    assert [pkt.key for pkt in (port.read(), port.read(), port.read())] == [1, 2, 3]
    with pytest.raises(pk.ShouldWait):
        port.read()


def test_closing_the_handle_cancels_its_async_wait():
    k, p, port = setup()
    e = p.event_create()
    d = e.duplicate()
    d.wait_async(port, 9, S.SIGNALED)
    d.close()
    e.signal(set=S.SIGNALED)
    assert port.queued == 0


def test_async_waits_need_wait_and_write_on_the_port():
    k, p, port = setup()
    e = p.event_create()
    with pytest.raises(pk.AccessDenied):
        e.replace(pk.Rights.SIGNAL).wait_async(port, 1, S.SIGNALED)
    ro = port.replace(pk.Rights.READ | pk.Rights.WAIT)
    with pytest.raises(pk.AccessDenied):
        p.event_create().wait_async(ro, 1, S.SIGNALED)


def test_a_python_thread_blocks_on_its_port():
    k = make_kernel()
    boot = k.spawn(IDLE)
    port = boot.port_create()
    e = boot.event_create()
    e.wait_async(port, 5, S.SIGNALED)
    got = []

    def server(ctx):
        for _ in range(2):
            pkt = yield ctx.read(ctx.handle(0))
            got.append((ctx.now, pkt.key))

    k.spawn(pk.Program.python("server", server), handles=[port.duplicate()])
    k.run(until=10)
    e.signal(set=S.SIGNALED)
    port.queue(6)
    k.run(until=20)
    assert got == [(10, 5), (10, 6)]


def test_a_script_reads_packets_from_a_port():
    k = make_kernel()
    boot = k.spawn(IDLE)
    port = boot.port_create()
    r = k.spawn(pk.Program.script("r", [op.read(0), op.compute(3)]), handles=[port.duplicate()])
    k.run(until=50)
    port.queue(1)
    k.run(until=100)
    assert r.stats.finish == 53
