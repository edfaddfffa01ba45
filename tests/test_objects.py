"""Kernel objects: handles, rights, channels, events, signals and waiting.

Every rule of Zircon's handles and channels has its own test here; the rules come from Fuchsia's Zircon documentation
(docs/reference/syscalls: handle_close, handle_duplicate, handle_replace,
channel_write, channel_read, object_wait_one; docs/reference/kernel_objects:
channel, event, eventpair) and zircon/rights.h for the default rights.
"""

import pytest

import pykernel as pk
from conftest import make_kernel

R, S, op = pk.Rights, pk.Signals, pk.op
IDLE = pk.Program.script("idle", [op.sleep(10**9)])


def two_procs():
    """A kernel and two processes that stay alive (they sleep 1 s)."""
    k = make_kernel()
    return k, k.spawn(IDLE, name="P"), k.spawn(IDLE, name="Q")


# ---- handles ---------------------------------------------------------------

def test_rights_are_in_zircon_bit_order():
    names = ["DUPLICATE", "TRANSFER", "READ", "WRITE", "EXECUTE", "MAP", "GET_PROPERTY",
             "SET_PROPERTY", "ENUMERATE", "DESTROY", "SET_POLICY", "GET_POLICY", "SIGNAL",
             "SIGNAL_PEER", "WAIT", "INSPECT", "MANAGE_JOB", "MANAGE_PROCESS",
             "MANAGE_THREAD", "APPLY_PROFILE"]
    assert [R[n] for n in names] == [1 << i for i in range(20)]
    assert R.SAME_RIGHTS == 1 << 31


def test_signal_bits_are_zircons():
    assert (S.READABLE, S.WRITABLE, S.PEER_CLOSED, S.SIGNALED) == (1, 2, 4, 8)
    assert S.TERMINATED == S.SIGNALED and S.USER_0 == 1 << 24


def test_default_channel_rights_lack_duplicate():
    # zircon/rights.h: ZX_DEFAULT_CHANNEL_RIGHTS = (BASIC & ~DUPLICATE) | READ | WRITE
    #                  | SIGNAL | SIGNAL_PEER
    k, p, q = two_procs()
    a, b = p.channel_create()
    assert a.rights == (R.TRANSFER | R.WAIT | R.INSPECT | R.READ | R.WRITE | R.SIGNAL
                        | R.SIGNAL_PEER)


def test_default_event_and_eventpair_rights():
    # zircon/rights.h: EVENT = BASIC | SIGNAL; EVENTPAIR = BASIC | SIGNAL | SIGNAL_PEER
    k, p, q = two_procs()
    basic = R.TRANSFER | R.DUPLICATE | R.WAIT | R.INSPECT
    assert p.event_create().rights == basic | R.SIGNAL
    assert p.eventpair_create()[0].rights == basic | R.SIGNAL | R.SIGNAL_PEER


def test_zero_is_never_a_handle_value_and_closing_it_is_ok():
    k, p, q = two_procs()
    e = p.event_create()
    assert e.value != 0
    p.handle(0).close()                      # zx_handle_close(ZX_HANDLE_INVALID) is OK


def test_double_close_is_bad_handle():
    k, p, q = two_procs()
    e = p.event_create()
    e.close()
    with pytest.raises(pk.BadHandle):
        e.close()


def test_handle_values_mean_nothing_in_another_process():
    k, p, q = two_procs()
    e = p.event_create()
    q.event_create()                         # q has a handle in the same slot
    assert q.handles[0].value == e.value
    assert q.handles[0].koid != e.koid
    with pytest.raises(pk.BadHandle):
        pk.Handle(k, 1, e.value + (1 << 20)).rights   # other generation: not q's handle


def test_a_closed_value_stays_invalid_when_its_slot_is_reused():
    k, p, q = two_procs()
    e = p.event_create()
    e.close()
    f = p.event_create()
    assert f.value & 0xFFFFF == e.value & 0xFFFFF        # the same slot, slot 0
    assert f.value != e.value
    with pytest.raises(pk.BadHandle):
        e.signal(set=S.USER_0)


def test_new_handles_take_the_lowest_free_slot():
    k, p, q = two_procs()
    hs = [p.event_create() for _ in range(3)]
    hs[1].close()
    assert p.event_create().value & 0xFFFFF == 2         # slot 1 (value = slot + 1)


def test_duplicate_needs_the_duplicate_right():
    k, p, q = two_procs()
    a, b = p.channel_create()
    with pytest.raises(pk.AccessDenied):
        a.duplicate()


def test_duplicate_cannot_add_rights():
    k, p, q = two_procs()
    e = p.event_create()
    d = e.duplicate(R.DUPLICATE | R.WAIT)
    assert d.rights == R.DUPLICATE | R.WAIT
    with pytest.raises(pk.InvalidArgs):
        d.duplicate(R.DUPLICATE | R.WAIT | R.SIGNAL)


def test_duplicate_with_same_rights_copies_them_and_names_the_same_object():
    k, p, q = two_procs()
    e = p.event_create()
    d = e.duplicate()
    assert d.rights == e.rights and d.koid == e.koid and d.value != e.value


def test_replace_invalidates_the_source_on_success():
    k, p, q = two_procs()
    e = p.event_create()
    r = e.replace(R.WAIT)
    assert r.rights == R.WAIT and not e.valid


def test_replace_invalidates_the_source_even_when_it_fails():
    k, p, q = two_procs()
    e = p.event_create()
    w = e.replace(R.WAIT)
    with pytest.raises(pk.InvalidArgs):
        w.replace(R.WAIT | R.SIGNAL)         # a superset
    assert not w.valid
    assert p.handles == []


def test_last_handle_closed_destroys_the_object():
    k, p, q = two_procs()
    e = p.event_create()
    d = e.duplicate()
    e.close()
    assert k.object_stats.objects == 1
    d.close()
    assert k.object_stats.objects == 0


def test_process_handles_lists_the_table_in_slot_order():
    k, p, q = two_procs()
    a, b = p.channel_create()
    e = p.event_create()
    assert p.handles == [a, b, e]
    assert [h.kind for h in p.handles] == ["channel", "channel", "event"]


# ---- channels ----------------------------------------------------------------

def test_write_then_read_gives_the_bytes():
    k, p, q = two_procs()
    a, b = p.channel_create()
    a.write(b"hello")
    m = b.read()
    assert (m.data, m.handles, m.txid) == (b"hello", (), 0)


def test_each_direction_is_fifo():
    k, p, q = two_procs()
    a, b = p.channel_create()
    for i in range(5):
        a.write(bytes([i]))
        b.write(bytes([10 + i]))
    assert [b.read().data[0] for _ in range(5)] == [0, 1, 2, 3, 4]
    assert [a.read().data[0] for _ in range(5)] == [10, 11, 12, 13, 14]


def test_reading_an_empty_channel_with_a_live_peer_is_should_wait():
    k, p, q = two_procs()
    a, b = p.channel_create()
    with pytest.raises(pk.ShouldWait):
        b.read()


def test_writing_when_the_peer_is_closed_is_peer_closed():
    k, p, q = two_procs()
    a, b = p.channel_create()
    b.close()
    with pytest.raises(pk.PeerClosed):
        a.write(b"x")


def test_queued_messages_stay_readable_after_the_peer_closes_then_peer_closed():
    k, p, q = two_procs()
    a, b = p.channel_create()
    a.write(b"1")
    a.write(b"2")
    a.close()
    assert b.signals == S.READABLE | S.PEER_CLOSED
    assert [b.read().data, b.read().data] == [b"1", b"2"]
    with pytest.raises(pk.PeerClosed):
        b.read()


def test_65536_bytes_is_the_largest_message():
    k, p, q = two_procs()
    a, b = p.channel_create()
    a.write(bytes(65536))
    assert len(b.read().data) == 65536
    with pytest.raises(pk.OutOfRange):
        a.write(bytes(65537))


def test_more_than_64_handles_is_out_of_range_and_they_leave_the_table():
    k, p, q = two_procs()
    a, b = p.channel_create()
    es = [p.event_create() for _ in range(65)]
    with pytest.raises(pk.OutOfRange):
        a.write(b"", handles=es)
    assert p.handles == [a, b]
    assert k.object_stats.objects == 2


def test_64_handles_travel_in_one_message():
    k, p, q = two_procs()
    a, b = p.channel_create()
    es = [p.event_create() for _ in range(64)]
    koids = [e.koid for e in es]
    a.write(b"", handles=es)
    m = b.read()
    assert [h.koid for h in m.handles] == koids


def test_sending_the_endpoints_own_handle_is_not_supported():
    k, p, q = two_procs()
    a, b = p.channel_create()
    with pytest.raises(pk.NotSupported):
        a.write(b"", handles=[a])
    assert b.queued == 0


def test_a_handle_sent_leaves_the_senders_table_even_when_the_write_fails():
    k, p, q = two_procs()
    a, b = p.channel_create()
    e = p.event_create()
    b.close()
    with pytest.raises(pk.PeerClosed):
        a.write(b"x", handles=[e])
    assert not e.valid
    assert k.object_stats.objects == 1     # the event went with its last handle


def test_sending_a_handle_needs_transfer():
    k, p, q = two_procs()
    a, b = p.channel_create()
    e = p.event_create().replace(R.WAIT)
    with pytest.raises(pk.AccessDenied):
        a.write(b"", handles=[e])
    assert not e.valid and b.queued == 0


def test_write_needs_write_and_read_needs_read():
    k, p, q = two_procs()
    a, b = p.channel_create()
    ro = a.replace(R.READ | R.WAIT)
    with pytest.raises(pk.AccessDenied):
        ro.write(b"x")
    wo = b.replace(R.WRITE)
    wo.write(b"x")
    with pytest.raises(pk.AccessDenied):
        wo.read()


def test_a_transferred_handle_moves_to_the_readers_table_with_its_rights():
    k, p, q = two_procs()
    a, b = p.channel_create()
    _, _ = a, b
    e = p.event_create().replace(R.WAIT | R.TRANSFER)
    koid = e.koid
    a.write(b"", handles=[e])
    m = b.read()
    (h,) = m.handles
    assert h.koid == koid and h.rights == R.WAIT | R.TRANSFER


def test_buffer_too_small_keeps_the_message():
    k, p, q = two_procs()
    a, b = p.channel_create()
    a.write(b"12345")
    with pytest.raises(pk.BufferTooSmall):
        b.read(max_bytes=4)
    assert b.queued == 1
    assert b.read().data == b"12345"


def test_readable_is_asserted_exactly_while_the_queue_is_non_empty():
    k, p, q = two_procs()
    a, b = p.channel_create()
    assert b.signals == S.WRITABLE
    a.write(b"1")
    a.write(b"2")
    assert b.signals & S.READABLE
    b.read()
    assert b.signals & S.READABLE
    b.read()
    assert not b.signals & S.READABLE


def test_closing_an_endpoint_closes_the_handles_queued_to_it():
    k, p, q = two_procs()
    a, b = p.channel_create()
    x, y = p.eventpair_create()
    a.write(b"", handles=[x])
    b.close()                                # discards the message and x inside it
    assert y.signals == S.PEER_CLOSED


def test_peer_closed_clears_writable():
    k, p, q = two_procs()
    a, b = p.channel_create()
    b.close()
    assert a.signals == S.PEER_CLOSED


def test_writing_to_an_event_is_wrong_type():
    k, p, q = two_procs()
    with pytest.raises(pk.WrongType):
        p.event_create().write(b"x")


# ---- signals and waiting ---------------------------------------------------

def test_wait_one_returns_at_once_when_a_signal_is_asserted():
    k, p, q = two_procs()
    e = p.event_create()
    e.signal(set=S.SIGNALED)
    assert e.wait_one(S.SIGNALED) == S.SIGNALED


def test_a_wait_that_would_block_outside_a_run_is_should_wait():
    k, p, q = two_procs()
    with pytest.raises(pk.ShouldWait):
        p.event_create().wait_one(S.SIGNALED)


def test_only_user_signals_and_signaled_can_be_set():
    k, p, q = two_procs()
    a, b = p.channel_create()
    with pytest.raises(pk.InvalidArgs):
        a.signal(set=S.READABLE)
    a.signal(set=S.USER_3)
    assert a.signals == S.WRITABLE | S.USER_3


def test_signal_peer_sets_the_other_end():
    k, p, q = two_procs()
    x, y = p.eventpair_create()
    x.signal_peer(set=S.SIGNALED)
    assert (x.signals, y.signals) == (S.NONE, S.SIGNALED)
    y.close()
    with pytest.raises(pk.PeerClosed):
        x.signal_peer(set=S.USER_0)


def test_waiting_needs_the_wait_right():
    k, p, q = two_procs()
    e = p.event_create().replace(R.SIGNAL)
    with pytest.raises(pk.AccessDenied):
        e.wait_one(S.SIGNALED)


def _waiter(ctx, signals, deadline, out):
    try:
        out.append((yield ctx.wait_one(ctx.handle(0), signals, deadline=deadline)))
    except pk.KernelError as exc:
        out.append(type(exc))
    out.append(ctx.now)


def spawn_waiter(k, h, signals=S.SIGNALED, deadline=None):
    out = []
    k.spawn(pk.Program.python("waiter", _waiter), args=(signals, deadline, out), handles=[h])
    return out


def test_wait_one_times_out_at_the_deadline():
    k, p, q = two_procs()
    out = spawn_waiter(k, p.event_create(), deadline=500)
    k.run(until=10_000)
    assert out == [pk.TimedOut, 500]


def test_wait_one_wakes_when_the_signal_is_asserted():
    k, p, q = two_procs()
    e = p.event_create()
    out = spawn_waiter(k, e.duplicate())
    k.run(until=100)
    assert k.processes[2].threads[0].state == "waiting"
    e.signal(set=S.SIGNALED)
    k.run(until=200)
    assert out == [S.SIGNALED, 100]


def test_wait_one_is_canceled_when_the_handle_is_closed_while_waiting():
    k, p, q = two_procs()
    out = spawn_waiter(k, p.event_create())
    k.run(until=100)
    w = k.processes[2]
    w.handles[0].close()
    k.run(until=200)
    assert out == [pk.Canceled, 100]


def test_wait_many_reports_each_items_signals():
    k, p, q = two_procs()
    e1, e2 = p.event_create(), p.event_create()
    out = []

    def body(ctx):
        h1, h2 = ctx.handle(0), ctx.handle(1)
        out.append((yield ctx.wait_many([(h1, S.SIGNALED), (h2, S.SIGNALED)])))

    k.spawn(pk.Program.python("many", body), handles=[e1.duplicate(), e2.duplicate()])
    k.run(until=50)
    e2.signal(set=S.SIGNALED | S.USER_1)
    k.run(until=60)
    assert out == [[S.NONE, S.SIGNALED | S.USER_1]]


# ---- Python thread bodies and scripts ----------------------------------------

def test_python_threads_ping_pong_over_a_channel():
    k = make_kernel()
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    got = []

    def ping(ctx):
        h = ctx.handle(0)
        for i in range(3):
            yield ctx.compute(10)
            yield ctx.write(h, b"ping%d" % i)
            got.append(((yield ctx.read(h)).data, ctx.now))

    def pong(ctx):
        h = ctx.handle(0)
        while True:
            try:
                m = yield ctx.read(h)
            except pk.PeerClosed:
                return 3
            yield ctx.compute(5)
            yield ctx.write(h, m.data.upper())

    k.spawn(pk.Program.python("ping", ping), handles=[a])
    pong_p = k.spawn(pk.Program.python("pong", pong), handles=[b])
    k.run(until=10**6)
    assert got == [(b"PING0", 15), (b"PING1", 30), (b"PING2", 45)]
    assert pong_p.exit_code == 3             # its read saw PEER_CLOSED when ping exited


def test_call_waits_for_the_reply_with_its_transaction_id():
    k = make_kernel()
    boot = k.spawn(IDLE)
    a, b = boot.channel_create()
    got = []

    def client(ctx):
        reply = yield ctx.call(ctx.handle(0), b"req")
        got.append((reply.data, ctx.now, reply.txid >> 31))

    def server(ctx):
        h = ctx.handle(0)
        m = yield ctx.read(h)
        yield ctx.compute(70)
        yield ctx.write(h, b"re:" + m.data, txid=m.txid)

    k.spawn(pk.Program.python("client", client), handles=[a])
    k.spawn(pk.Program.python("server", server), handles=[b])
    k.run(until=10**6)
    assert got == [(b"re:req", 70, 1)]       # kernel-made txids have the top bit set


def test_script_threads_ping_pong_and_wait_while_the_channel_is_empty():
    k = make_kernel(pk.sched.RoundRobin(quantum=1000))
    ping = pk.Program.script("ping", [op.loop(4, [op.compute(10), op.write(0, 4), op.read(0)])])
    pong = pk.Program.script("pong", [op.loop(4, [op.read(0), op.compute(5), op.write(0, 4)])])
    p = k.spawn(ping)
    a, b = p.channel_create()
    q = k.spawn(pong, handles=[b])
    r = k.run()
    assert (r.reason, k.now) == ("idle", 60)
    # ping waits 5 ns per round for pong's compute; pong is ready (not
    # waiting) until ping's first compute ends, then waits 10 ns per round
    assert p.stats.blocked == 4 * 5
    assert (q.stats.wait, q.stats.blocked) == (10, 3 * 10)
    s = k.object_stats
    assert (s.written, s.read, s.objects, s.handles) == (8, 8, 0, 0)


def test_a_script_read_with_a_timeout_leaves_timed_out_in_x14():
    k = make_kernel()
    p = k.spawn(pk.Program.script("r", [op.read(0, timeout=300), op.compute(1)]))
    a, b = p.channel_create()
    k.run(until=301)
    assert k.now == 301 and p.threads[0].registers.x[14] == 2**64 - 21   # TIMED_OUT
    assert p.threads[0].stats.blocked == 300


def test_a_script_read_of_an_empty_slot_leaves_bad_handle_in_x14():
    k = make_kernel()
    p = k.spawn(pk.Program.script("r", [op.read(5), op.compute(1)]))
    k.run(until=1)
    assert p.threads[0].registers.x[14] == 2**64 - 11                     # BAD_HANDLE


def test_a_script_wait_wakes_when_an_event_is_signaled():
    k = make_kernel()
    boot = k.spawn(IDLE)
    e = boot.event_create()
    w = k.spawn(pk.Program.script("w", [op.wait(0, S.SIGNALED), op.compute(7)]),
                handles=[e.duplicate()])
    k.run(until=40)
    e.signal(set=S.SIGNALED)
    k.run(until=10**6)
    assert w.stats.finish == 47 and w.threads[0].registers.x[14] == 0


def test_a_blocked_reader_sees_peer_closed_when_the_writer_dies():
    k = make_kernel()
    w = k.spawn(pk.Program.script("w", [op.compute(100)]))
    a, b = w.channel_create()
    r = k.spawn(pk.Program.script("r", [op.read(0), op.compute(1)]), handles=[b])
    k.run()
    assert r.stats.finish == 101
    assert r.threads[0].registers.x[14] == 2**64 - 24                     # PEER_CLOSED


def test_two_readers_waiting_on_each_other_deadlock():
    k = make_kernel()
    p = k.spawn(pk.Program.script("r", [op.read(0)]))
    a, b = p.channel_create()
    k.spawn(pk.Program.script("r", [op.read(0)]), handles=[b])
    assert k.run().reason == "deadlock"


def test_a_dead_process_handles_are_closed_and_its_exit_code_stays_readable():
    k = make_kernel()
    p = k.spawn(pk.Program.script("x", [op.compute(10), op.exit(42)]))
    e = p.event_create()
    a, b = p.channel_create()
    keep = k.spawn(IDLE, handles=[b])
    k.run(until=20)
    assert p.exit_code == 42 and p.handles == []
    assert keep.handles[0].signals == S.PEER_CLOSED
    assert k.object_stats.objects == 1     # only keep's endpoint is left
    del e


def test_a_killed_waiting_thread_leaves_no_waiter_behind():
    k = make_kernel()
    p = k.spawn(pk.Program.script("r", [op.read(0)]))
    a, b = p.channel_create()
    keep = k.spawn(IDLE, handles=[b])
    k.run(until=10)
    p.kill()
    assert k.object_stats.waiting == 0
    assert keep.handles[0].signals == S.PEER_CLOSED


# ---- bad input -----------------------------------------------------------------

def test_handle_operations_reject_bad_python_values():
    k, p, q = two_procs()
    e = p.event_create()
    with pytest.raises(TypeError):
        e.duplicate("all")
    with pytest.raises(ValueError):
        e.duplicate(-1)
    a, b = p.channel_create()
    with pytest.raises(TypeError):
        a.write("text")
    with pytest.raises(TypeError):
        a.write(b"", handles=[1])
    with pytest.raises(pk.BadHandle):
        a.write(b"", handles=[q.event_create()])


def test_operations_for_a_process_that_ended_are_bad_state():
    k = make_kernel()
    p = k.spawn(pk.Program.script("x", [op.compute(1)]))
    k.run()
    with pytest.raises(pk.BadState):
        p.event_create()


# slots are 0 .. PK_HANDLE_SLOTS - 1 = 1,048,511 and byte counts 0 .. 2**30
# (PK_SOCKET_MAX_CAPACITY, csrc/core/pk_api.h): the core's rules, checked by
# pk_script_check when the script is made, naming the instruction
@pytest.mark.parametrize("ops, words", [
    ([op.write(0, 2**30 + 1)], "instruction 0: nbytes must be between 0 and 1073741824, got 1073741825"),
    ([op.compute(1), op.read(-1)], "instruction 1: handle slot must be between 0 and 1048511, got -1"),
    ([op.read(2**20, timeout=5)], "instruction 1: handle slot must be between 0 and 1048511, "
                                  "got 1048576"),
    # a wait needs a non-empty set of signals in 32 bits (PK_F_SIGNALS; zx_object_wait_one
    # waits for "any of the signals in signals")
    ([op.wait(0, 0)], "instruction 0 (wait): wait signals must be between 1 and 4294967295, got 0"),
    ([op.wait(0, 2**32)], "instruction 0 (wait): wait signals must be between 1 and 4294967295, "
                          "got 4294967296"),
])
def test_script_object_argument_ranges_are_the_cores(ops, words):
    with pytest.raises(pk.OutOfRange) as e:
        pk.Program.script("o", ops)
    assert str(e.value).endswith(": " + words)


def test_spawn_handles_need_transfer_and_one_source_process():
    k, p, q = two_procs()
    e = p.event_create().replace(R.WAIT)
    with pytest.raises(pk.AccessDenied):
        k.spawn(IDLE, handles=[e])
    with pytest.raises(ValueError):
        k.spawn(IDLE, handles=[p.event_create(), q.event_create()])


def test_c_entry_points_refuse_bad_arguments_with_a_status():
    from pykernel._ffi import ffi, lib
    k, p, q = two_procs()
    kp, out = k._kp, ffi.new("uint32_t *")
    assert lib.pk_handle_close(kp, 10**6, 1) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_event_create(kp, 0, ffi.NULL) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_handle_duplicate(kp, 0, 12345, lib.PK_RIGHT_SAME_RIGHTS, out) == lib.PK_ERR_BAD_HANDLE
    a, b = p.channel_create()
    assert lib.pk_channel_read(kp, 0, a.value, 0, ffi.NULL, 10, ffi.NULL, 0, ffi.NULL) \
        == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_channel_write(kp, 0, a.value, ffi.NULL, 0, ffi.NULL, 3, 0) == lib.PK_ERR_INVALID_ARGS
    items = ffi.new("pk_wait_item[1]")
    items[0].handle, items[0].waitfor = a.value, lib.PK_SIG_READABLE
    assert lib.pk_host_deliver_wait(kp, items, 1, 100) == lib.PK_ERR_BAD_STATE  # none asks
    assert lib.pk_wait_check(kp, 0, items, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_handle_move(kp, 0, 1, ffi.NULL, 1, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_handle_list(kp, 0, ffi.NULL, 5, out) == lib.PK_ERR_INVALID_ARGS


def test_a_python_body_that_yields_a_raw_wait_operation_is_killed():
    k = make_kernel()

    def body(ctx):
        yield (lib_obj_wait(), 12345)

    p = k.spawn(pk.Program.python("bad", body))
    k.run()
    assert p.kill_reason == "bad operation"


def lib_obj_wait():
    from pykernel._ffi import lib
    return lib.PK_OP_OBJ_WAIT


# ---- refusals in words --------------------------------------------------------------

def test_a_full_handle_table_says_so():
    # a table holds PK_HANDLE_SLOTS = 1,048,512 handles (csrc/core/pk_api.h)
    from pykernel._ffi import ffi, lib
    k = make_kernel()
    p = k.spawn(IDLE)
    out = ffi.new("uint32_t *")
    made = 0
    while lib.pk_event_create(k._kp, p.pid, out) == 0:
        made += 1
    assert made == lib.PK_HANDLE_SLOTS == 1_048_512
    with pytest.raises(pk.NoMemory) as info:
        p.event_create()
    assert str(info.value) == "event_create: the process's handle table is full (1,048,512 handles)"


def test_a_handle_of_another_kernel_is_called_so():
    k1, k2 = make_kernel(), make_kernel()
    p1, p2 = k1.spawn(IDLE), k2.spawn(IDLE)
    a, _ = p1.channel_create()
    e = p2.event_create()
    with pytest.raises(pk.BadHandle) as info:
        a.write(b"x", handles=[e])
    assert str(info.value) == ("handle 0x1 belongs to another kernel, not to the one of the "
                               "writer's process 0: handles are per kernel and per process")


def test_a_refusal_gives_the_status_in_words():
    # ZX_ERR_BAD_HANDLE: "a handle value is not valid" (Zircon, errors.md)
    k, p, _ = two_procs()
    e = p.event_create()
    e.close()
    with pytest.raises(pk.BadHandle) as info:
        e.signal(0, 1)
    assert str(info.value) == "signal: not a valid handle in this process"
