"""Traces: typed events in a bounded buffer, Chrome trace-event JSON that
loads back, columns. Expected lists follow from the rules in
docs/guide.md (RoundRobin, zero costs; OSTEP ch. 7 for round robin) and
the Chrome trace-event format (Google, "Trace Event Format", the JSON
object form: ph, ts in µs, pid, tid; "X" complete events carry dur)."""
import json

import pytest

import pykernel as pk
from pykernel._ffi import ffi, lib

op = pk.op
E = pk.TraceEvent


def rr_pair(trace=True):
    """A: compute 6, io 5, compute 2; B: compute 5; RR quantum 4, free switches."""
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero(), trace=trace)
    k.spawn(pk.Program.script("a", [op.compute(6), op.io(5), op.compute(2)]), name="A")
    k.spawn(pk.Program.script("b", [op.compute(5)]), name="B")
    k.run()
    return k


def ping_pong(cpus=1, trace=True):
    k = pk.Kernel(cpus=cpus, costs=pk.Costs.zero(), trace=trace)
    ping = pk.Program.script("ping", [op.loop(3, [op.compute(10), op.write(0, 4), op.read(0)])])
    pong = pk.Program.script("pong", [op.loop(3, [op.read(0), op.compute(5), op.write(0, 4)])])
    p = k.spawn(ping)
    a, b = p.channel_create()
    k.spawn(pong, handles=[b])
    k.run()
    return k


def test_kernel_without_trace_has_none():
    assert pk.Kernel().trace is None


def test_trace_must_be_bool_or_event_count():
    with pytest.raises(TypeError, match="number of events"):
        pk.Kernel(trace="yes")
    with pytest.raises(ValueError, match="between 1"):
        pk.Kernel(trace=0)


def test_round_robin_pair_gives_exactly_these_events():
    # RR q=4: A 0-4, B 4-8, A 8-10 (its 6 ns done) then blocks for 5 ns,
    # B 10-11 and exits, A wakes at 15, runs 15-17 and exits.
    assert list(rr_pair().trace) == [
        E(0, "wake", None, 0, "new", 0, None), E(0, "wake", None, 1, "new", 0, None),
        E(0, "switch_in", 0, 0, None, 0, None), E(4, "switch_out", 0, 0, None, 0, None),
        E(4, "switch_in", 0, 1, None, 0, None), E(8, "switch_out", 0, 1, None, 0, None),
        E(8, "switch_in", 0, 0, None, 0, None), E(10, "switch_out", 0, 0, None, 0, None),
        E(10, "block", 0, 0, "io", 5, None),
        E(10, "switch_in", 0, 1, None, 0, None), E(11, "switch_out", 0, 1, None, 0, None),
        E(11, "exit", None, 1, "exit", 0, None),
        E(15, "wake", None, 0, "wake", 0, None),
        E(15, "switch_in", 0, 0, None, 0, None), E(17, "switch_out", 0, 0, None, 0, None),
        E(17, "exit", None, 0, "exit", 0, None)]


def test_slices_are_the_running_intervals():
    assert rr_pair().trace.slices() == [(0, 0, 0, 4), (0, 1, 4, 8), (0, 0, 8, 10),
                                        (0, 1, 10, 11), (0, 0, 15, 17)]


def test_switch_in_carries_the_switch_cost():
    k = pk.Kernel(costs=pk.Costs(switch=300), trace=True)
    k.spawn(pk.Program.script("a", [op.compute(1000)]))
    k.run()
    ev = [e for e in k.trace if e.kind == "switch_in"]
    assert [(e.time, e.arg) for e in ev] == [(0, 300)]
    assert k.trace.slices() == [(0, 0, 300, 1300)]


def test_tracing_does_not_change_the_run():
    assert rr_pair(trace=True).digest() == rr_pair(trace=False).digest()
    assert ping_pong(2, trace=True).digest() == ping_pong(2, trace=False).digest()


def test_small_buffer_keeps_the_first_events_and_counts_the_rest():
    # 14 records: a switch-out followed at once by a switch-in on the same
    # CPU (at 4 and 8) is one record; the first 5 records are 7 events
    full = list(rr_pair().trace)
    k = rr_pair(trace=5)
    assert list(k.trace) == full[:7]
    assert k.trace.dropped == 14 - 5 == 9


def test_channel_writes_and_reads_are_send_and_recv_events():
    k = ping_pong()
    ipc = [(e.kind, e.tid, e.arg) for e in k.trace if e.kind in ("send", "recv")]
    # three round trips: ping sends 4 bytes, pong reads, pong sends, ping reads
    assert ipc == [("send", 0, 4), ("recv", 1, 4), ("send", 1, 4), ("recv", 0, 4)] * 3
    assert k.object_stats.read == 6


def test_socket_writes_and_reads_are_traced_with_their_bytes():
    k = pk.Kernel(costs=pk.Costs.zero(), trace=True)
    w = pk.Program.script("w", [op.write(0, 10)])
    r = pk.Program.script("r", [op.read(0, 4), op.read(0)])
    p = k.spawn(w)
    a, b = p.socket_create()
    k.spawn(r, handles=[b])
    k.run()
    ev = [(e.kind, e.what, e.tid, e.arg) for e in k.trace if e.kind in ("send", "recv")]
    assert ev == [("send", "socket", 0, 10), ("recv", "socket", 1, 4), ("recv", "socket", 1, 6)]


def test_waiting_read_is_a_block_of_kind_wait():
    k = ping_pong()
    waits = [e for e in k.trace if e.kind == "block"]
    assert waits and all(e.what == "wait" for e in waits)


def test_page_faults_are_minor_fault_events_at_their_addresses():
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(frames=64), trace=True)
    prog = pk.Program.script("t", [op.map(0x10000, 3 * 4096), op.touch(0x10000),
                                   op.touch(0x11000, write=True), op.touch(0x10008)])
    p = k.spawn(prog)
    k.run()
    faults = [(e.tid, e.what, e.arg) for e in k.trace if e.kind == "fault"]
    assert faults == [(0, "minor", 0x10000), (0, "minor", 0x11000)]
    assert p.aspace.stats.minor_faults == 2


def test_fatal_fault_is_a_protection_fault_then_a_kill():
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(frames=64), trace=True)
    k.spawn(pk.Program.script("t", [op.touch(0x5000)]))
    k.run()
    ev = [(e.kind, e.what) for e in k.trace if e.kind in ("fault", "exit")]
    assert ev == [("fault", "protection"), ("exit", "killed")]


def test_an_idle_cpu_stealing_a_thread_is_a_migrate_event():
    # as tests/test_runqueues.py: CPU 1 finishes C at 2 and pulls B from CPU 0
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(), runqueues="per-cpu",
                  costs=pk.Costs.zero(), balance_interval=0, trace=True)
    k.spawn(pk.Program.script("a", [op.compute(10)]), cpu=0)
    k.spawn(pk.Program.script("b", [op.compute(10)]), cpu=0)
    k.spawn(pk.Program.script("c", [op.compute(2)]), cpu=1)
    k.run()
    assert [e for e in k.trace if e.kind == "migrate"] == [E(2, "migrate", 1, 1, None, 0, None)]
    assert k.stats.migrations == 1


def test_columns_are_equal_length_lists_of_the_fields():
    k = rr_pair()
    cols = k.trace.columns()
    assert list(cols) == ["time_ns", "kind", "cpu", "tid", "what", "arg", "obj"]
    assert cols["time_ns"][:3] == [0, 0, 0] and len(cols["kind"]) == len(k.trace) == 16


def test_to_pandas_gives_a_frame_when_pandas_is_installed():
    pd = pytest.importorskip("pandas")
    df = rr_pair().trace.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 16


def _saved(k, tmp_path):
    path = tmp_path / "t.json"
    k.trace.save(path)
    return path, json.loads(path.read_text())


def test_saved_trace_is_valid_trace_event_json(tmp_path):
    _, doc = _saved(ping_pong(cpus=2), tmp_path)
    evs = doc["traceEvents"]
    last = {}
    for d in evs:
        assert {"ph", "pid", "tid", "name"} <= set(d)
        if d["ph"] == "M":
            continue
        assert d["ph"] in ("X", "i", "s", "f") and isinstance(d["ts"], (int, float))
        if d["ph"] == "X":
            assert d["dur"] >= 0              # every slice is complete: closed
        track = (d["pid"], d["tid"])
        assert d["ts"] >= last.get(track, 0)  # non-decreasing per track
        last[track] = d["ts"]
    assert {d["ph"] for d in evs} == {"M", "X", "i", "s", "f"}
    starts = sorted(d["id"] for d in evs if d["ph"] == "s")
    assert starts == sorted(d["id"] for d in evs if d["ph"] == "f") == [1, 2, 3, 4, 5, 6]


def test_saved_times_are_microseconds_with_fractions(tmp_path):
    k = pk.Kernel(costs=pk.Costs(switch=250), trace=True)
    k.spawn(pk.Program.script("a", [op.compute(1500)]), name="A")
    k.run()
    _, doc = _saved(k, tmp_path)
    (x,) = [d for d in doc["traceEvents"] if d["ph"] == "X"]
    assert (x["name"], x["ts"], x["dur"], x["tid"]) == ("A", 0.25, 1.5, 0)


def test_a_thread_still_running_gets_a_slice_to_the_end(tmp_path):
    k = pk.Kernel(costs=pk.Costs.zero(), trace=True)
    k.spawn(pk.Program.script("a", [op.compute(1000)]))
    k.run(until=400)
    _, doc = _saved(k, tmp_path)
    (x,) = [d for d in doc["traceEvents"] if d["ph"] == "X"]
    assert (x["ts"], x["dur"]) == (0, 0.4)


@pytest.mark.parametrize("make", [rr_pair, lambda: ping_pong(cpus=2)])
def test_saved_trace_loads_back_with_the_same_events(tmp_path, make):
    k = make()
    path, _ = _saved(k, tmp_path)
    t = pk.Trace.load(path)
    assert list(t) == list(k.trace)
    assert t.dropped == k.trace.dropped and t.end == k.now
    assert t.slices() == k.trace.slices()


def test_loading_a_file_not_saved_by_pykernel_says_so(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"traceEvents": []}')
    with pytest.raises(ValueError, match="not a trace saved by pykernel"):
        pk.Trace.load(path)


def test_trace_entry_points_refuse_bad_arguments():
    k = pk.Kernel(trace=True)
    n = ffi.new("uint64_t *")
    assert lib.pk_trace_read(ffi.NULL, 0, ffi.NULL, 0, n) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_trace_read(k._kp, 0, ffi.NULL, 4, n) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_trace_read(k._kp, 5, ffi.NULL, 0, n) == lib.PK_ERR_OUT_OF_RANGE
    assert lib.pk_trace_counts(k._kp, n, ffi.NULL) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_trace_enable(k._kp, 10) == lib.PK_ERR_BAD_STATE      # already on
    plain = pk.Kernel()
    assert lib.pk_trace_enable(plain._kp, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_trace_counts(plain._kp, n, n) == lib.PK_ERR_BAD_STATE


def test_python_bodies_ipc_names_their_thread_and_top_level_calls_none():
    def writer(ctx):
        yield ctx.compute(10)
        yield ctx.write(ctx.handle(0), b"abc")

    k = pk.Kernel(costs=pk.Costs.zero(), trace=True)
    p = k.spawn(pk.Program.script("idle", [op.compute(1)]))
    a, b = p.channel_create()
    a.write(b"xy")                            # from Python, outside any thread
    k.spawn(pk.Program.python("w", writer), handles=[b])
    k.run()
    ipc = [(e.kind, e.tid, e.arg) for e in k.trace if e.kind == "send"]
    assert ipc == [("send", None, 2), ("send", 1, 3)]


SCENARIO = """\
[costs]
switch = 0

[scheduler]
name = "RoundRobin"
quantum = 4

[programs]
a = [["compute", 6], ["io", 5], ["compute", 2]]
b = [["compute", 5]]

[[processes]]
program = "a"
name = "A"

[[processes]]
program = "b"
name = "B"
"""


def test_cli_run_trace_saves_the_runs_trace(tmp_path, capsys):
    from pykernel.cli import main
    (tmp_path / "s.toml").write_text(SCENARIO)
    out = tmp_path / "t.json"
    assert main(["run", str(tmp_path / "s.toml"), "--no-progress", "--trace", str(out)]) == 0
    assert f"trace: 16 events (0 dropped) -> {out}" in capsys.readouterr().out
    t = pk.Trace.load(out)
    assert list(t) == list(rr_pair().trace)      # the same scenario written in Python


def test_scenario_machine_may_turn_tracing_on(tmp_path):
    from pykernel.scenario import loads
    k = loads("[machine]\ntrace = 3\n" + SCENARIO).run()
    assert k.trace.dropped == 11
