"""Resource limits (pk.Limits; docs/guide.md, "Limits and memory").

Each limit, once reached, refuses the operation with NoMemory (or, for a
configuration asking for more than a limit allows, OutOfRange) whose
message names the limit and its value; the refused operation changes
nothing, inside a run the simulated thread sees the status, and the
kernel stays usable. Zircon reports exhausted kernel resources as
ZX_ERR_NO_MEMORY (docs/references.md [Zircon-errors]).
"""

import pytest

import pykernel as pk
from conftest import make_kernel

op = pk.op
CPU = pk.Program.script("cpu", [op.compute(10)])
IDLE = pk.Program.script("idle", [op.sleep(10**9)])
NO_MEMORY = (1 << 64) + pk.NoMemory.status          # -4 in a 64-bit register


# ---- configuration -----------------------------------------------------------

def test_default_limits_cap_the_core_at_three_quarters_of_host_memory():
    total = pk.limits.host_memory_bytes()
    assert total is not None                           # Linux says
    assert pk.Limits().max_memory == total * 3 // 4
    assert pk.Kernel().limits.max_memory == total * 3 // 4


def test_default_limits_bound_only_threads_besides_memory():
    lim = pk.Limits()
    assert lim.max_threads == 1 << 22
    assert (lim.max_processes, lim.max_handles, lim.max_messages, lim.max_message_bytes,
            lim.max_frames, lim.max_trace_events) == (None,) * 6


def test_max_threads_keyword_is_deprecated_and_still_sets_the_limit():
    with pytest.warns(DeprecationWarning, match=r"limits=pk\.Limits\(max_threads="):
        k = pk.Kernel(max_threads=3, limits=pk.Limits(max_handles=7))
    assert (k.limits.max_threads, k.limits.max_handles, k.max_threads) == (3, 7, 3)


def test_limits_read_back_from_a_kernel_config_are_the_ones_given():
    from pykernel._ffi import ffi
    given = pk.Limits(max_memory=1 << 30, max_threads=99, max_processes=7, max_handles=None,
                      max_messages=5, max_message_bytes=1000)
    cfg = ffi.new("pk_config *")
    given._configure(cfg)
    assert pk.Limits._from_config(cfg) == given


@pytest.mark.parametrize("kw", [{"max_handles": 0}, {"max_memory": -1},
                                {"max_threads": 2**32}, {"max_threads": 0},
                                {"max_trace_events": 2**41}])
def test_limits_out_of_range_are_value_errors(kw):
    with pytest.raises(ValueError, match=next(iter(kw))):
        pk.Limits(**kw)


# a limit is 1 .. the C field's largest value (pk_limits_check, csrc/core/pk_kernel.c):
# pk_config reads 0 as "no limit", so a limit of 0 is refused; max_threads is a
# uint32_t; a trace keeps at most 2**40 events (PK_TRACE_MAX_EVENTS)
@pytest.mark.parametrize("kw, words", [
    ({"max_handles": 0}, "Limits max_handles must be between 1 and 18446744073709551615, got 0"),
    ({"max_memory": -1}, "Limits max_memory must be between 1 and 18446744073709551615, got -1"),
    ({"max_threads": 2**32}, "Limits max_threads must be between 1 and 4294967295, got 4294967296"),
    ({"max_trace_events": 2**41}, "Limits max_trace_events must be between 1 and 1099511627776, "
                                  "got 2199023255552"),
])
def test_limit_ranges_are_the_cores_and_the_message_names_the_field(kw, words):
    with pytest.raises(pk.OutOfRange) as e:
        pk.Limits(**kw)
    assert str(e.value) == words


def test_a_limit_no_uint64_holds_is_refused_by_its_c_field_size():
    with pytest.raises(ValueError, match=r"Limits max_frames must fit in 64 bits \(unsigned\), "
                                         r"got 18446744073709551616"):
        pk.Limits(max_frames=2**64)


def test_the_core_compares_frames_and_trace_events_with_their_limits():
    from pykernel._ffi import ffi, lib
    lim = ffi.new("pk_limits *")
    lim.given = 1 << lib.PK_LIM_FRAMES
    lim.value[lib.PK_LIM_FRAMES] = 512
    why = ffi.new("pk_refusal *")
    assert lib.pk_limits_check(lim, 512, 0, why) == 0       # at the limit: accepted
    assert lib.pk_limits_check(lim, 513, 0, why) == lib.PK_ERR_OUT_OF_RANGE
    assert (why.reason, why.field, why.value, why.hi) == (
        lib.PK_R_ORDER, lib.PK_F_LIMIT + lib.PK_LIM_FRAMES, 513, 512)


def test_limits_of_the_wrong_type_are_type_errors():
    with pytest.raises(TypeError, match="max_messages"):
        pk.Limits(max_messages="10")
    with pytest.raises(TypeError, match="pk.Limits"):
        pk.Kernel(limits={"max_threads": 3})


def test_memory_larger_than_the_frame_limit_is_out_of_range():
    with pytest.raises(pk.OutOfRange, match=r"frame limit \(max_frames=512\)"):
        pk.Kernel(memory=pk.Memory(frames=1024), limits=pk.Limits(max_frames=512))


def test_a_trace_larger_than_the_trace_limit_is_out_of_range():
    with pytest.raises(pk.OutOfRange, match=r"trace limit \(max_trace_events=100\)"):
        pk.Kernel(trace=1000, limits=pk.Limits(max_trace_events=100))


@pytest.mark.parametrize("max_memory", [100, 5000])
def test_a_memory_limit_too_small_to_create_the_kernel_names_it(max_memory):
    with pytest.raises(pk.NoMemory,
                       match=rf"memory limit reached \(max_memory={max_memory} bytes\)"):
        pk.Kernel(limits=pk.Limits(max_memory=max_memory))


# ---- each limit, reached outside a run ------------------------------------------

def test_thread_limit_names_it_and_spawns_nothing():
    k = make_kernel(limits=pk.Limits(max_threads=4))
    with pytest.raises(pk.NoMemory, match=r"thread limit reached \(max_threads=4\)") as e:
        k.spawn_many(CPU, 5)
    assert e.value.limit == "max_threads"
    assert k.stats.threads == 0


def test_thread_limit_refuses_thread_create():
    k = make_kernel(limits=pk.Limits(max_threads=2))
    p = k.spawn(IDLE)
    p.thread_create(CPU)
    with pytest.raises(pk.NoMemory, match=r"max_threads=2"):
        p.thread_create(CPU)
    assert k.stats.threads == 2


def test_process_limit_names_it():
    k = make_kernel(limits=pk.Limits(max_processes=2))
    k.spawn_many(CPU, 2)
    with pytest.raises(pk.NoMemory, match=r"process limit reached \(max_processes=2\)") as e:
        k.spawn(CPU)
    assert e.value.limit == "max_processes"
    assert k.stats.processes == 2


def test_handle_limit_names_it_and_creates_nothing():
    k = make_kernel(limits=pk.Limits(max_handles=3))
    p = k.spawn(IDLE)
    p.channel_create()
    p.event_create()
    with pytest.raises(pk.NoMemory, match=r"handle limit reached \(max_handles=3\)"):
        p.event_create()
    assert (k.object_stats.handles, len(p.handles)) == (3, 3)


def test_handle_limit_refuses_duplicate():
    k = make_kernel(limits=pk.Limits(max_handles=1))
    e = k.spawn(IDLE).event_create()
    with pytest.raises(pk.NoMemory, match=r"max_handles=1"):
        e.duplicate()


def test_message_limit_counts_every_channel():
    k = make_kernel(limits=pk.Limits(max_messages=5))
    p = k.spawn(IDLE)
    a, b = p.channel_create()
    c, d = p.channel_create()
    for _ in range(3):
        a.write(b"x")
    for _ in range(2):
        c.write(b"y")
    with pytest.raises(pk.NoMemory, match=r"queued message limit reached \(max_messages=5\)"):
        b.write(b"z")
    assert (a.queued, b.queued, c.queued, d.queued) == (0, 3, 0, 2)


def test_port_packets_and_armed_waits_count_as_messages():
    k = make_kernel(limits=pk.Limits(max_messages=3))
    p = k.spawn(IDLE)
    a, b = p.channel_create()
    port = p.port_create()
    e = p.event_create()
    a.write(b"m")                                 # 1 message
    port.queue(key=1)                             # 1 packet
    e.wait_async(port, key=2, signals=pk.Signals.SIGNALED)   # 1 promised packet
    with pytest.raises(pk.NoMemory, match=r"max_messages=3"):
        port.queue(key=3)
    with pytest.raises(pk.NoMemory, match=r"max_messages=3"):
        a.write(b"n")
    e.signal(set=pk.Signals.SIGNALED)             # the promise becomes a packet
    assert [port.read().key for _ in range(2)] == [1, 2]
    assert k.limit_usage["max_messages"].used == 1
    port.queue(key=4)
    a.write(b"o")
    assert k.limit_usage["max_messages"].used == 3


def test_a_canceled_wait_gives_back_its_promised_packet():
    k = make_kernel(limits=pk.Limits(max_messages=1))
    p = k.spawn(IDLE)
    port, e = p.port_create(), p.event_create()
    e.wait_async(port, key=1, signals=pk.Signals.SIGNALED)
    with pytest.raises(pk.NoMemory):
        port.queue(key=2)
    e.close()                                     # cancels the wait: no packet comes
    port.queue(key=3)
    assert port.read().key == 3


def test_reading_a_message_makes_room_under_the_message_limit():
    k = make_kernel(limits=pk.Limits(max_messages=1))
    a, b = k.spawn(IDLE).channel_create()
    a.write(b"1")
    with pytest.raises(pk.NoMemory):
        a.write(b"2")
    assert b.read().data == b"1"
    a.write(b"3")
    assert b.read().data == b"3"


def test_message_byte_limit_counts_channel_bytes():
    k = make_kernel(limits=pk.Limits(max_message_bytes=100))
    a, b = k.spawn(IDLE).channel_create()
    a.write(b"x" * 60)
    with pytest.raises(pk.NoMemory,
                       match=r"queued byte limit reached \(max_message_bytes=100\)") as e:
        a.write(b"x" * 41)
    assert e.value.limit == "max_message_bytes"
    a.write(b"x" * 40)
    assert b.queued == 2


def test_socket_bytes_count_towards_the_message_byte_limit():
    k = make_kernel(limits=pk.Limits(max_message_bytes=100))
    p = k.spawn(IDLE)
    a, b = p.channel_create()
    s, t = p.socket_create()
    a.write(b"x" * 70)
    assert s.write(b"y" * 30) == 30
    with pytest.raises(pk.NoMemory, match=r"max_message_bytes=100"):
        s.write(b"y")
    assert t.read() == b"y" * 30
    assert s.write(b"y" * 50) == 30                 # a short write: what the limit leaves


def test_memory_limit_names_it():
    k = make_kernel(limits=pk.Limits(max_memory=1 << 20))
    with pytest.raises(pk.NoMemory, match=r"memory limit reached \(max_memory=1048576 bytes\)"):
        k.spawn_many(CPU, 10_000)
    assert k.stats.memory_bytes <= 1 << 20


def test_limit_usage_reports_use_limit_and_refusals():
    k = make_kernel(limits=pk.Limits(max_messages=2))
    a, b = k.spawn(IDLE).channel_create()
    a.write(b"1")
    a.write(b"2")
    for _ in range(3):
        with pytest.raises(pk.NoMemory):
            a.write(b"3")
    use = k.limit_usage
    assert use["max_messages"] == pk.LimitUse(used=2, limit=2, refused=3)
    assert use["max_handles"] == pk.LimitUse(used=2, limit=None, refused=0)
    assert use["max_threads"] == pk.LimitUse(used=1, limit=1 << 22, refused=0)


# ---- limits inside a run --------------------------------------------------------

def test_script_writes_beyond_the_message_limit_fail_and_the_thread_goes_on():
    k = make_kernel(limits=pk.Limits(max_messages=8))
    p = k.spawn(pk.Program.script("w", [op.loop(20, [op.write(0, 16)]), op.sleep(10**6)]))
    a, b = p.channel_create()
    assert k.run(until=1000).reason == "until"
    assert b.queued == 8
    assert p.threads[0].registers.x[14] == NO_MEMORY     # the last write's status
    assert p.threads[0].state == "sleeping"                # past the loop
    assert k.limit_usage["max_messages"].refused == 12


def test_a_refusal_inside_a_run_is_not_blamed_for_a_later_error():
    k = make_kernel(limits=pk.Limits(max_messages=1))
    p = k.spawn(pk.Program.script("w", [op.write(0, 1), op.write(0, 1), op.sleep(100)]))
    p.channel_create()
    k.run(until=50)
    job = k.job_create(max_processes=0)
    with pytest.raises(pk.NoMemory) as e:
        k.spawn(CPU, job=job)
    assert e.value.limit is None and "max_messages" not in str(e.value)


def test_a_spawn_thread_beyond_the_thread_limit_fails_in_the_thread():
    k = make_kernel(limits=pk.Limits(max_threads=2))
    body = [op.compute(1)]
    p = k.spawn(pk.Program.script("s", [op.spawn_thread(body), op.spawn_thread(body),
                                        op.compute(5)]))
    assert k.run().reason == "idle"
    assert k.stats.threads == 2
    assert p.threads[0].registers.x[14] == NO_MEMORY
    assert k.limit_usage["max_threads"].refused == 1
    assert p.exit_code == 0


def test_threads_made_inside_a_run_stop_at_the_memory_limit():
    k = make_kernel(limits=pk.Limits(max_threads=10**7, max_memory=8 << 20))
    p = k.spawn(pk.Program.script("s", [op.loop(100_000, [op.spawn_thread([op.sleep(10)])]),
                                        op.compute(5)]))
    assert k.run().reason == "idle"
    use = k.limit_usage["max_memory"]
    assert use.refused > 0 and use.used <= 8 << 20
    assert k.stats.threads + use.refused == 100_001       # each spawn_thread made or refused
    assert (p.state, p.exit_code) == ("exited", 0)


def test_a_fork_beyond_the_process_limit_fails_in_the_parent():
    k = make_kernel(memory=pk.Memory(frames=64), limits=pk.Limits(max_processes=2))
    p = k.spawn(pk.Program.script("f", [op.fork([op.compute(1)]), op.fork([op.compute(1)]),
                                        op.compute(5)]))
    assert k.run().reason == "idle"
    assert k.stats.processes == 2
    assert p.threads[0].registers.x[14] == NO_MEMORY
    assert k.limit_usage["max_processes"].refused == 1
    assert p.exit_code == 0


def test_a_python_body_sees_the_limit_as_a_named_error():
    seen = []

    def writer(ctx):
        h = ctx.handle(0)
        for i in range(3):
            try:
                yield ctx.write(h, b"m")
            except pk.NoMemory as e:
                seen.append((i, e.limit, str(e).endswith("(max_messages=2)")))
        return 0

    k = make_kernel(limits=pk.Limits(max_messages=2))
    owner = k.spawn(IDLE)
    a, b = owner.channel_create()
    k.spawn(pk.Program.python("writer", writer), handles=[a])
    k.run(until=100)
    assert seen == [(2, "max_messages", True)]
    assert b.queued == 2


def test_limits_not_reached_do_not_change_the_run():
    def digest(limits):
        k = pk.Kernel(cpus=2, limits=limits, seed=3)
        p = k.spawn(pk.Program.script("w", [op.loop(50, [op.write(0, 8), op.compute(100)])]))
        p.channel_create()
        k.spawn_many(pk.Program.script("c", [op.compute(10_000)]), 20)
        k.run()
        return k.digest()
    roomy = pk.Limits(max_memory=1 << 30, max_threads=100, max_processes=100, max_handles=100,
                      max_messages=100, max_message_bytes=1000)
    assert digest(roomy) == digest(pk.Limits(max_memory=None))


# ---- huge requests fail cleanly --------------------------------------------------

def test_spawning_a_billion_threads_fails_with_the_memory_limit_and_the_kernel_goes_on():
    k = make_kernel(limits=pk.Limits(max_threads=10**9, max_memory=1 << 30))
    with pytest.raises(pk.NoMemory, match=r"max_memory=1073741824 bytes"):
        k.spawn_many(CPU, 10**9)
    assert k.stats.memory_bytes <= 1 << 30
    group = k.spawn_many(CPU, 10)
    assert k.run().reason == "idle"
    assert [p.state for p in group] == ["exited"] * 10


def test_touching_a_tebibyte_kills_the_process_out_of_memory_not_the_host():
    k = make_kernel(memory=pk.Memory(frames=0xFFFFFFFE), limits=pk.Limits(max_memory=16 << 20))
    tib = 1 << 40
    p = k.spawn(pk.Program.script("hog", [op.map(1 << 30, tib), op.touch_range(1 << 30, tib)]))
    assert k.run().reason == "idle"
    assert (p.state, p.kill_reason) == ("killed", "out of memory")
    assert k.limit_usage["max_memory"].refused >= 1
    assert k.stats.memory_bytes <= 16 << 20
    q = k.spawn(CPU)
    assert k.run().reason == "idle"
    assert q.state == "exited"


def test_writing_until_the_message_limit_stops_exactly_there():
    k = make_kernel(limits=pk.Limits(max_messages=10_000))
    a, b = k.spawn(IDLE).channel_create()
    written = 0
    with pytest.raises(pk.NoMemory, match=r"max_messages=10000"):
        while True:
            a.write(b"payload")
            written += 1
    assert (written, b.queued) == (10_000, 10_000)
    b.read()
    a.write(b"again")
    assert b.queued == 10_000
