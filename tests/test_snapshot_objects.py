"""Snapshots of kernel objects (csrc/snap/pk_obj_snap.c, docs/snapshot.md "Kernel objects").

The invariant of issue 8: "run to T1, snapshot, restore, run to T2" has the
digest of "run to T2", here for workloads that use every kind of kernel
object - channels with handles in flight, events and event pairs, sockets
and pipes with buffered bytes, ports with packets and pending asynchronous
waits, futex waiters, semaphores, priority-inheritance mutexes, thread and
process handles, jobs with limits - and threads sleeping, blocked on a
device and waiting on objects with deadlines.  Handle values, koids and
object ids come back unchanged, so handles made after a restore have the
values they would have had.  A corrupted object section is refused with
:class:`pykernel.snapshot.SnapshotError` (reason "objects"), never a crash.
"""

import random
import struct

import pytest
from hypothesis import given, settings, strategies as st

import pykernel as pk
from pykernel.snapshot import SnapshotError
from conftest import make_kernel

op, S = pk.op, pk.Signals
F, SEM, M = 256, 512, 64          # futex, semaphore and PI-mutex words
T_MID, T_END = 150_000, 300_000   # Python acts at T_MID; every run ends at T_END
TIMED_OUT = 2**64 - 21           # PK_ERR_TIMED_OUT (-21) in a 64-bit register


def workload():
    """Every kind of object at once on 2 CPUs with the calibrated cost
    model; returns the kernel and named views (processes and handles of
    the boot process) that the test keeps using."""
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=3000), seed=11)
    job = k.job_create(max_processes=6, max_handles=40)
    boot = k.spawn(pk.Program.script("boot", [op.sleep(10**9)]), name="boot")
    # request/reply over a channel; the server's reads have a 20 us deadline
    a, b = boot.channel_create()
    k.spawn(pk.Program.script("server", [op.loop(60, [op.read(0, timeout=20_000), op.compute(900),
                                                      op.write(0, 64)])]), handles=[a], job=job)
    k.spawn(pk.Program.script("client", [op.loop(60, [op.write(0, 32), op.read(0), op.compute(400),
                                                      op.sleep(1500)])]), handles=[b], job=job)
    # a message carrying an event and a socket end stays unread until T_MID
    c, d = boot.channel_create()
    ev = boot.event_create()
    s0, s1 = boot.socket_create(capacity=64)
    s0.write(b"bytes in a socket")
    c.write(b"with handles", handles=[ev.duplicate(), s1])
    # futex waiters and wakers, a semaphore, a priority-inheritance mutex
    fw = pk.Program.script("fw", [op.loop(12, [op.futex_wait(F, 0), op.compute(700)])])
    fk = pk.Program.script("fk", [op.loop(14, [op.sleep(9000), op.futex_wake(F, 2)])])
    lk = pk.Program.script("lk", [op.loop(20, [op.lock(M, inherit=True), op.compute(1500),
                                               op.unlock(M), op.io(2500)])])
    sm = pk.Program.script("sm", [op.loop(15, [op.sem_wait(SEM), op.compute(800), op.sem_post(SEM)])])
    home = k.spawn(fw, name="fw0")
    for name, prog, kw in [("fw1", fw, {}), ("fk", fk, {}),
                           ("lk0", lk, dict(policy="fifo", rt_priority=10)),
                           ("lk1", lk, dict(policy="fifo", rt_priority=30, at=4000)),
                           ("lk2", lk, {}), ("sm0", sm, {}), ("sm1", sm, {})]:
        k.spawn(prog, name=name, **kw).share_futexes(home)
    home.futex_set(SEM, 1)
    # a pipe streamed by two scripts, short reads
    rd, wr = boot.pipe_create(capacity=40)
    k.spawn(pk.Program.script("pw", [op.loop(30, [op.write(0, 25), op.compute(1200)])]), handles=[wr])
    k.spawn(pk.Program.script("pr", [op.loop(80, [op.read(0, 10), op.compute(1800)])]), handles=[rd])
    # a port: a user packet queued, an asynchronous wait pending, a script reading packets
    port = boot.port_create()
    ev2 = boot.event_create()
    ev2.wait_async(port, 7, S.SIGNALED)
    port.queue(1, S.USER_1)
    k.spawn(pk.Program.script("portr", [op.loop(2, [op.read(0), op.compute(100)])]),
            handles=[port.duplicate()])
    # an event pair: one wait with a deadline that passes, one without
    ep0, ep1 = boot.eventpair_create()
    w = k.spawn(pk.Program.script("waiter", [op.wait(0, S.SIGNALED, timeout=40_000),
                                             op.wait(0, S.SIGNALED), op.compute(10)]),
                handles=[ep1], name="waiter")
    th, ph = boot.handle_to(w.threads[0]), boot.handle_to(w)
    return k, dict(boot=boot, d=d, ev=ev, ev2=ev2, ep0=ep0, port=port, th=th, ph=ph)


def rebind(k, views):
    """The same views on kernel k (a restored copy): same pids, same values."""
    return {n: pk.Handle(k, v.pid, v.value) if isinstance(v, pk.Handle) else type(v)(k, v.pid)
            for n, v in views.items()}


def act(k, v):
    """What Python does at T_MID: read the message in flight and use the
    handles it carried, signal objects, make new objects."""
    msg = v["d"].read()
    ev_copy, sock = msg.handles
    ev_copy.signal(set=S.USER_2)
    v["ep0"].signal_peer(set=S.SIGNALED)
    v["ev2"].signal(set=S.SIGNALED)
    e, (x, y) = v["boot"].event_create(), v["boot"].channel_create()
    return [msg.data, sock.read(), v["ev"].signals, [h.value for h in (ev_copy, sock, e, x, y)],
            [h.koid for h in (ev_copy, sock, e, x, y)]]


def observe(k, v):
    """What a run shows: the digest, object counters, every process's
    handles, every thread's state and registers."""
    procs = list(k.processes)
    return dict(digest=k.digest(), objects=k.object_stats,
                handles=[[(h.value, h.kind, h.koid, int(h.rights)) for h in p.handles] for p in procs],
                threads=[(t.tid, t.state, t.registers) for p in procs for t in p.threads],
                exits=[(p.state, p.exit_code, p.stats.finish) for p in procs])


def run(cut=None, after=None):
    """The workload to T_END, snapshotted and restored at `cut` (None:
    uninterrupted); `after(k)` runs on the restored kernel at once."""
    k, v = workload()
    if cut is not None:
        k.run(until=cut)
        k = pk.Kernel.restore(k.snapshot())
        v = rebind(k, v)
        if after:
            after(k)
    k.run(until=T_MID)
    acted = act(k, v)
    k.run(until=T_END)
    return acted, observe(k, v)


@pytest.fixture(scope="module")
def uninterrupted():
    return run()


CUTS = sorted(random.Random(8).sample(range(T_MID), 20))


@pytest.mark.parametrize("cut", CUTS)
def test_snapshot_restore_continue_equals_uninterrupted(cut, uninterrupted):
    assert run(cut) == uninterrupted


def test_the_cuts_find_every_kind_of_object_busy():
    """The workload is not idle at the cuts: at some cut there are waiting
    threads, queued messages, a boosted mutex holder and a deadline armed."""
    seen = set()
    k, v = workload()
    for cut in CUTS:
        k.run(until=cut)
        st = k.object_stats
        threads = [t for p in k.processes for t in p.threads]
        if st.waiting >= 3:
            seen.add("waiting")
        if st.messages >= 2:
            seen.add("messages")
        if any(t.boosted for t in threads):
            seen.add("boosted")
        if any(t.state == "sleeping" for t in threads):
            seen.add("sleeping")
        if any(t.state == "blocked" for t in threads):
            seen.add("blocked")
    assert seen == {"waiting", "messages", "boosted", "sleeping", "blocked"}


def test_handles_made_after_a_restore_have_the_values_they_would_have_had():
    k, v = workload()
    k.run(until=5000)
    k2 = pk.Kernel.restore(k.snapshot())
    boot2 = pk.Process(k2, v["boot"].pid)
    made = [(h.value, h.koid) for h in (*v["boot"].channel_create(), v["boot"].event_create())]
    made2 = [(h.value, h.koid) for h in (*boot2.channel_create(), boot2.event_create())]
    assert made2 == made
    assert [h.value for h in boot2.handles] == [h.value for h in v["boot"].handles]


def test_a_message_with_handles_in_flight_arrives_after_a_restore():
    k = make_kernel()
    p = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    c, d = p.channel_create()
    e = p.event_create()
    s0, s1 = p.socket_create(capacity=16)
    s0.write(b"abc")
    c.write(b"hello", handles=[e.duplicate(), s1])
    assert len(p.handles) == 4                     # c, d, e, s0: s1 and the copy travel
    k2 = pk.Kernel.restore(k.snapshot())
    msg = pk.Handle(k2, p.pid, d.value).read()
    ev_copy, sock = msg.handles
    assert msg.data == b"hello"
    assert (ev_copy.kind, sock.kind) == ("event", "socket")
    assert sock.read() == b"abc"
    ev_copy.signal(set=S.SIGNALED)
    assert pk.Handle(k2, p.pid, e.value).signals & S.SIGNALED


def test_a_futex_waiter_is_still_waiting_and_is_woken_after_a_restore():
    def build():
        k = make_kernel()
        w = k.spawn(pk.Program.script("w", [op.futex_wait(F, 0), op.compute(5)]))
        k.spawn(pk.Program.script("k", [op.sleep(100), op.futex_wake(F, 1)])).share_futexes(w)
        return k, w
    k, w = build()
    k.run(until=50)
    k2 = pk.Kernel.restore(k.snapshot())
    w2 = pk.Process(k2, w.pid)
    assert w2.threads[0].state == "waiting"
    assert k2.object_stats.waiting == 1
    k2.run()
    assert (w2.state, w2.stats.finish) == ("exited", 105)   # woken at 100, computes 5


def test_a_wait_deadline_fires_at_its_time_after_a_restore():
    def build():
        k = make_kernel()
        p = k.spawn(pk.Program.script("w", [op.wait(0, S.SIGNALED, timeout=1000), op.compute(7)]))
        p.event_create()                           # slot 0: never signaled
        return k, p
    k, p = build()
    k.run(until=400)
    k2 = pk.Kernel.restore(k.snapshot())
    p2 = pk.Process(k2, p.pid)
    k.run()
    k2.run()
    assert p2.stats.finish == p.stats.finish
    assert p2.threads[0].registers.x[14] == p.threads[0].registers.x[14] == TIMED_OUT
    assert k2.digest() == k.digest()


def inversion():
    """The classic priority inversion with inheritance (test_priority_inheritance):
    low (rt 10) locks at 0 and computes 10, high (rt 30) arrives at 2."""
    k = make_kernel(pk.sched.CFS())
    low = k.spawn(pk.Program.script("low", [op.lock(M, inherit=True), op.compute(10), op.unlock(M)]),
                  policy="fifo", rt_priority=10)
    high = k.spawn(pk.Program.script("high", [op.lock(M, inherit=True), op.compute(5), op.unlock(M)]),
                   at=2, policy="fifo", rt_priority=30)
    medium = k.spawn(pk.Program.script("medium", [op.compute(100)]), at=3, policy="fifo",
                     rt_priority=20)
    high.share_futexes(low)
    medium.share_futexes(low)
    return k, (low, high, medium)


def test_a_priority_inheritance_boost_survives_a_restore():
    k, (low, high, medium) = inversion()
    k.run(until=5)
    k2 = pk.Kernel.restore(k.snapshot())
    low2, high2 = pk.Process(k2, low.pid), pk.Process(k2, high.pid)
    t = low2.threads[0]
    assert (t.boosted, t.rt_priority) == (True, 30)
    assert high2.threads[0].state == "waiting"
    k2.run()
    assert (low2.stats.finish, high2.stats.finish) == (10, 15)
    assert not t.boosted and t.rt_priority == 10


def test_job_counts_and_limits_survive_a_restore():
    k = make_kernel()
    job = k.job_create(max_processes=2, max_handles=3)
    idle = pk.Program.script("idle", [op.sleep(10**6)])
    p = k.spawn(idle, job=job)
    k.spawn(idle, job=job)
    p.event_create()
    p.channel_create()
    k2 = pk.Kernel.restore(k.snapshot())
    job2 = pk.JobObject(k2, job.id)
    assert (job2.process_count, job2.handle_count) == (2, 3)
    with pytest.raises(pk.NoMemory):
        k2.spawn(idle, job=job2)
    with pytest.raises(pk.NoMemory):
        pk.Process(k2, p.pid).event_create()


def test_port_packets_and_pending_async_waits_survive_a_restore():
    k = make_kernel()
    p = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    port = p.port_create()
    e = p.event_create()
    port.queue(1, S.USER_1)
    e.wait_async(port, 2, S.SIGNALED)
    k2 = pk.Kernel.restore(k.snapshot())
    port2, e2 = pk.Handle(k2, p.pid, port.value), pk.Handle(k2, p.pid, e.value)
    assert port2.queued == 1
    e2.signal(set=S.SIGNALED)
    assert [port2.read(), port2.read()] == [pk.Packet(1, "user", S.USER_1),
                                            pk.Packet(2, "signal", S.SIGNALED)]


def test_a_partly_read_stream_continues_where_it_was_after_a_restore():
    k = make_kernel()
    p = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    a, b = p.socket_create(capacity=32)
    a.write(b"0123")
    a.write(b"456789")
    assert b.read(3) == b"012"
    k2 = pk.Kernel.restore(k.snapshot())
    b2 = pk.Handle(k2, p.pid, b.value)
    assert b2.queued == 7
    assert b2.read() == b"3456789"


def test_a_python_thread_blocked_on_an_object_is_refused_by_name():
    k = make_kernel()
    boot = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    a, b = boot.channel_create()

    def reader(ctx):
        yield ctx.read(ctx.handle(0))

    r = k.spawn(pk.Program.python("reader", reader), handles=[b], name="R")
    k.run(until=100)
    tid = r.threads[0].tid
    with pytest.raises(pk.NotSupported, match=rf"tid {tid} \(process 'R'\) waits in ctx\.read"):
        k.snapshot()


def test_a_restored_kernel_keeps_working_with_new_objects_and_processes():
    def more(k, boot):
        a, b = boot.channel_create()
        k.spawn(pk.Program.script("ping", [op.loop(5, [op.write(0, 8), op.read(0)])]), handles=[a])
        k.spawn(pk.Program.script("pong", [op.loop(5, [op.read(0), op.write(0, 8)])]), handles=[b])
        k.run()
        return k.digest(), k.object_stats
    k, v = workload()
    k.run(until=20_000)
    k2 = pk.Kernel.restore(k.snapshot())
    boot2 = pk.Process(k2, v["boot"].pid)
    got = more(k2, boot2)
    assert got == more(k, v["boot"])
    assert got[1].read >= 10


def test_a_kernel_without_objects_restores_without_them():
    k = make_kernel()
    p = k.spawn(pk.Program.script("c", [op.compute(10)]))
    k2 = pk.Kernel.restore(k.snapshot())
    assert k2.object_stats == pk.ObjectStats(0, 0, 0, 0, 0, 0)
    h = pk.Process(k2, p.pid).event_create()
    assert (h.value, h.koid) == (p.event_create().value, 1)


@settings(max_examples=40, deadline=None)
@given(msgs=st.lists(st.tuples(st.binary(max_size=40), st.integers(0, 3)), min_size=1, max_size=12),
       cut=st.integers(0, 12))
def test_no_message_or_handle_is_lost_or_duplicated_across_a_snapshot(msgs, cut):
    """Messages written before and after a snapshot all come out once, in
    order, each with the events it carried; the tables then hold every
    handle once."""
    k = make_kernel()
    p = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    a, b = p.channel_create()
    sent = []
    for i, (data, nh) in enumerate(msgs):
        if i == cut:
            k = pk.Kernel.restore(k.snapshot())
            p, a, b = pk.Process(k, p.pid), pk.Handle(k, p.pid, a.value), pk.Handle(k, p.pid, b.value)
        evs = [p.event_create() for _ in range(nh)]
        sent.append((data, [e.koid for e in evs]))
        a.write(data, handles=evs)
    if cut >= len(msgs):
        k = pk.Kernel.restore(k.snapshot())
        p, b = pk.Process(k, p.pid), pk.Handle(k, p.pid, b.value)
    got = []
    for _ in sent:
        m = b.read()
        got.append((m.data, [h.koid for h in m.handles]))
    assert got == sent
    st_ = k.object_stats
    n_events = sum(nh for _, nh in msgs)
    assert (st_.messages, st_.handles, st_.objects) == (0, 2 + n_events, 2 + n_events)
    assert len({h.koid for h in p.handles}) == 2 + n_events


# ---- damaged object sections ------------------------------------------------

def checksum(buf: bytes) -> int:
    """pk_snap_checksum (csrc/snap/pk_snap_io.c), to re-seal a crafted snapshot."""
    mask = (1 << 64) - 1

    def mix(h):
        h ^= h >> 33
        h = (h * 0xff51afd7ed558ccd) & mask
        h ^= h >> 33
        h = (h * 0xc4ceb9fe1a85ec53) & mask
        return h ^ (h >> 33)
    lane = [0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89]
    n = len(buf) // 32 * 32
    words = struct.unpack_from(f"<{n // 8}Q", buf)
    for i in range(0, len(words), 4):
        for j in range(4):
            v = ((lane[j] ^ words[i + j]) * 0x9e3779b97f4a7c15) & mask
            lane[j] = v ^ (v >> 29)
    h = (len(buf) * 0x9e3779b97f4a7c15) & mask
    for j in range(4):
        h = mix(h ^ lane[j])
    for byte in buf[n:]:
        h = mix(h ^ byte)
    return mix(h)


def objs_section(data: bytes) -> tuple[int, int]:
    """(start, end) of the object section's payload in a snapshot."""
    at = data.index(b"OBJS\x01\x00\x00\x00")
    (n,) = struct.unpack_from("<Q", data, at + 8)
    start = at + 16
    assert data[start + n:start + n + 4] == b"SCHD"
    return start, start + n


def sealed(data: bytes) -> bytes:
    return data[:-8] + struct.pack("<Q", checksum(data[:-8]))


def small():
    """A small kernel with a bit of everything, snapshotted."""
    k = make_kernel(pk.sched.RoundRobin(quantum=50))
    p = k.spawn(pk.Program.script("w", [op.wait(0, S.SIGNALED, timeout=500), op.futex_wait(F, 0)]))
    q = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    q.share_futexes(p)
    e = p.event_create()
    c, d = q.channel_create()
    c.write(b"xy", handles=[q.event_create()])
    port = q.port_create()
    q.event_create().wait_async(port, 5, S.USER_0)
    a, b = q.socket_create(capacity=8)
    a.write(b"1234")
    q.handle_to(p.threads[0])
    k.run(until=100)
    assert e.valid and k.object_stats.waiting == 1
    return k.snapshot()


def test_the_re_sealed_snapshot_is_accepted_as_is():
    data = small()
    assert sealed(data) == data
    pk.Kernel.restore(data).run()


def test_a_reference_count_that_does_not_match_the_handles_is_refused():
    data = bytearray(small())
    start, _ = objs_section(data)
    # version, present, koid, txid, wait_seq, msgs_allocated, 6 stats, count, free_obj
    first = start + struct.calcsize("<IBQIIQ6QII")
    assert data[first] == 2                        # object 1: the event p made first
    refs_at = first + 1 + 1 + 1 + 4               # kind, fflags, mode, signals
    data[refs_at] += 1
    with pytest.raises(SnapshotError) as err:
        pk.Kernel.restore(sealed(bytes(data)))
    assert err.value.reason == "objects"


def test_a_truncated_object_section_is_refused():
    data = small()
    start, end = objs_section(data)
    cut = data[:end - 9] + data[end:]              # 9 bytes short, lengths fixed up
    cut = bytearray(cut)
    struct.pack_into("<Q", cut, start - 8, end - 9 - start)
    struct.pack_into("<Q", cut, 16, len(cut))
    with pytest.raises(SnapshotError) as err:
        pk.Kernel.restore(sealed(bytes(cut)))
    assert err.value.reason in ("objects", "section")


def test_every_corrupted_byte_of_the_object_section_is_refused_or_harmless():
    """Each byte of the section flipped in turn, the checksum re-sealed: the
    restore refuses (SnapshotError) or gives a kernel that runs on without
    crashing; most flips are refused."""
    data = small()
    start, end = objs_section(data)
    refused = 0
    for at in range(start, end):
        bad = bytearray(data)
        bad[at] ^= 0x41
        try:
            k = pk.Kernel.restore(sealed(bytes(bad)))
        except SnapshotError as exc:
            assert exc.reason == "objects"
            refused += 1
            continue
        try:
            k.run(until=10**6)
        except pk.KernelError:
            pass
    assert refused >= (end - start) // 3


def test_a_deadlock_found_before_a_snapshot_is_found_after_it():
    """Dining philosophers (Silberschatz §7.1.3): five threads each hold a
    fork and wait for the next; the wait-for graph is rebuilt from the
    restored wait queues and mutex owners."""
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    ps = []
    for i in range(5):
        left, right = 4 * i, 4 * ((i + 1) % 5)
        ps.append(k.spawn(pk.Program.script(f"phil{i}", [
            op.lock(left), op.compute(10), op.lock(right), op.unlock(right), op.unlock(left)])))
    for p in ps[1:]:
        p.share_futexes(ps[0])
    k.spawn(pk.Program.script("busy", [op.compute(1000)]))
    k.run(until=200)
    k2 = pk.Kernel.restore(k.snapshot())
    (d,) = k2.deadlocks()
    assert d.threads == (0, 1, 2, 3, 4)
    assert [(e.waiter, e.holder, e.what) for e in d.edges] == [
        (0, 1, 4), (1, 2, 8), (2, 3, 12), (3, 4, 16), (4, 0, 0)]
    assert k2.run().reason == "deadlock"


def test_one_snapshot_branches_into_two_policies_with_the_same_objects():
    """The objects at the cut are the shared past (the same handles in
    both branches); the futures under two policies differ."""
    k, v = workload()
    k.run(until=60_000)
    data = k.snapshot()
    futures = []
    for policy in (pk.sched.RoundRobin(quantum=3000), pk.sched.CFS()):
        k2 = pk.Kernel.restore(data, scheduler=policy)
        assert [h.value for h in pk.Process(k2, v["boot"].pid).handles] == \
            [h.value for h in v["boot"].handles]
        act(k2, rebind(k2, v))
        k2.run(until=T_END)
        futures.append(k2.digest())
    assert futures[0] != futures[1]


def test_message_limit_counters_come_back_with_the_queues():
    # pk_obj_snap.c recomputes the counters Limits(max_messages=,
    # max_message_bytes=) are checked against from what is queued:
    # 2 channel messages (30 bytes), 50 socket bytes, 1 port packet and
    # 1 packet promised by an armed asynchronous wait.
    k = make_kernel(limits=pk.Limits(max_messages=5, max_message_bytes=100))
    p = k.spawn(pk.Program.script("idle", [op.sleep(10**9)]))
    a, b = p.channel_create()
    a.write(b"x" * 10)
    a.write(b"y" * 20)
    s, t = p.socket_create()
    s.write(b"z" * 50)
    port, e = p.port_create(), p.event_create()
    port.queue(key=1)
    e.wait_async(port, key=2, signals=S.SIGNALED)
    k2 = pk.Kernel.restore(k.snapshot())
    for name, used in (("max_messages", 4), ("max_message_bytes", 80)):
        assert k.limit_usage[name].used == used
        assert k2.limit_usage[name].used == used
    a2 = k2.processes[0].handle(a.value)
    with pytest.raises(pk.NoMemory, match=r"max_message_bytes=100"):
        a2.write(b"w" * 21)
    a2.write(b"w" * 20)                           # 100 bytes: exactly at the limit
    with pytest.raises(pk.NoMemory, match=r"max_messages=5"):
        a2.write(b"")
