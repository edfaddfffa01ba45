"""Traces: the typed events a kernel made with ``trace=True`` records, as
records, columns, a DataFrame, or Chrome trace-event JSON for the Perfetto
UI and chrome://tracing (docs/observability.md)."""

from __future__ import annotations

import json
import operator
import struct
from collections import deque, namedtuple
from typing import Iterator

from ._ffi import ffi, lib
from .errors import check

__all__ = ["Trace", "TraceEvent", "DEFAULT_TRACE_EVENTS"]

DEFAULT_TRACE_EVENTS = 1_000_000     # trace=True: at most 24 MB of events

KINDS = {lib.PK_TR_SWITCH_IN: "switch_in", lib.PK_TR_SWITCH_OUT: "switch_out",
         lib.PK_TR_WAKE: "wake", lib.PK_TR_BLOCK: "block", lib.PK_TR_FAULT: "fault",
         lib.PK_TR_SEND: "send", lib.PK_TR_RECV: "recv", lib.PK_TR_MIGRATE: "migrate",
         lib.PK_TR_EXIT: "exit"}
_WHAT = {
    "wake": {0: "new", 1: "wake", 2: "preempt", 3: "slice", 4: "yield", 5: "migrate",
             6: "change", 7: "kill"},
    "block": {lib.PK_TR_IO: "io", lib.PK_TR_SLEEP: "sleep", lib.PK_TR_WAIT: "wait"},
    "fault": {lib.PK_TR_MINOR: "minor", lib.PK_TR_MAJOR: "major", lib.PK_TR_PROT: "protection",
              lib.PK_TR_NO_FRAME: "no_frame"},
    "send": {0: "channel", 1: "socket"},
    "recv": {0: "channel", 1: "socket"},
    "exit": {0: "exit", 1: "killed"},
}
_FIELDS = ("time", "kind", "cpu", "tid", "what", "arg", "obj")
COLUMNS = ("time_ns",) + _FIELDS[1:]      # Trace.columns(): the unit in the name
_REC = struct.Struct("<QQIHBB")       # pk_trace_event, 24 bytes
_KERNEL_TRACK = 100_000               # Chrome track of events with no CPU
_READ_CHUNK = 1 << 16


class TraceEvent(namedtuple("TraceEvent", _FIELDS)):
    """One trace event. ``time``: simulated ns. ``kind``: "switch_in",
    "switch_out", "wake", "block", "fault", "send", "recv", "migrate" or
    "exit". ``cpu`` and ``tid``: None when the event has none. ``what``:
    the kind's detail ("io"/"sleep"/"wait" for block, "minor"/"protection"/
    "no_frame" for fault, "channel"/"socket" for send and recv, "new"/"wake"
    for wake, "exit"/"killed" for exit), else None. ``arg``: switch_in: the
    switch cost (ns) before the thread runs; block: its duration (ns, 0 for
    a wait on objects); fault: the virtual address; send/recv: bytes;
    migrate: the run queue left; exit: the exit code. ``obj``: send/recv:
    the id of the queue written or read (a channel or socket endpoint)."""

    __slots__ = ()


def _decode(raw: tuple) -> TraceEvent:
    time, arg, tid, cpu, kind, sub = raw
    name = KINDS.get(kind, str(kind))
    obj = None
    if name in ("send", "recv"):
        obj, arg = arg >> 32, arg & 0xFFFFFFFF
    elif name == "exit":
        arg = arg - (1 << 32) if arg >= 1 << 31 else arg
    what = _WHAT[name].get(sub, str(sub)) if name in _WHAT else None
    return TraceEvent(time, name, None if cpu == lib.PK_TR_NO_CPU else cpu,
                      None if tid == lib.PK_TR_NO_TID else tid, what, arg, obj)


class Trace:
    """The events a kernel recorded (``k.trace``), in the order they
    happened, or a trace loaded from a file (:meth:`load`). Iterable,
    indexable and sized; ``dropped`` counts the events not kept because
    the buffer was full (the first events of a run are kept)."""

    def __init__(self, kernel=None, *, events=None, dropped: int = 0, names=None, end: int = 0):
        self._k = kernel
        self._events: list[TraceEvent] = list(events or [])
        self._dropped = dropped
        self._names = dict(names or {})
        self._end = end
        self._on_cpu: dict[int, int] = {}     # CPU -> tid running there (decoding)

    def _sync(self) -> list[TraceEvent]:
        """Read the events recorded since the last read (one crossing per
        64 K events; events are only ever appended)."""
        if self._k is None:
            return self._events
        with self._k.hold():                  # the host-thread rule (pykernel/_lock.py)
            return self._sync_locked()

    def _sync_locked(self) -> list[TraceEvent]:
        kp = self._k._kp
        count, dropped = ffi.new("uint64_t *"), ffi.new("uint64_t *")
        check(lib.pk_trace_counts(kp, count, dropped), "trace counts")
        self._dropped = dropped[0]
        n = ffi.new("uint64_t *")
        while len(self._events) < count[0]:
            want = min(_READ_CHUNK, count[0] - len(self._events))
            buf = ffi.new("pk_trace_event[]", want)
            check(lib.pk_trace_read(kp, len(self._events), buf, want, n), "trace read")
            self._decode_into(_REC.iter_unpack(ffi.buffer(buf, n[0] * _REC.size)))
        return self._events

    def _decode_into(self, raws) -> None:
        """Append decoded records; a switch-in that says the CPU's previous
        thread left at that instant (PK_TR_PREV_OUT: the core records one
        event for both) becomes that thread's switch-out, then the switch-in."""
        on_cpu, out = self._on_cpu, self._events
        sw_in, sw_out, prev_out = lib.PK_TR_SWITCH_IN, lib.PK_TR_SWITCH_OUT, lib.PK_TR_PREV_OUT
        for raw in raws:
            kind = raw[4]
            if kind == sw_in:
                if raw[5] == prev_out and raw[3] in on_cpu:
                    out.append(TraceEvent(raw[0], "switch_out", raw[3], on_cpu[raw[3]], None, 0, None))
                on_cpu[raw[3]] = raw[2]
                out.append(TraceEvent(raw[0], "switch_in", raw[3], raw[2], None, raw[1], None))
                continue
            if kind == sw_out:
                on_cpu.pop(raw[3], None)
            out.append(_decode(raw))

    def __iter__(self) -> Iterator[TraceEvent]:
        return iter(list(self._sync()))

    def __len__(self) -> int:
        return len(self._sync())

    def __getitem__(self, i):
        return self._sync()[i]

    @property
    def dropped(self) -> int:
        """Events not recorded because the buffer was full."""
        self._sync()
        return self._dropped

    @property
    def end(self) -> int:
        """The simulated time (ns) the trace runs to: the kernel's clock."""
        return self._k.now if self._k is not None else self._end

    def name(self, tid) -> str:
        """The name shown for thread tid: its process's name."""
        if tid is None:
            return "kernel"
        if tid not in self._names and self._k is not None:
            self._names[tid] = self._k._proc_name(self._k._tid_pid(tid))
        return self._names.get(tid, f"thread-{tid}")

    def columns(self) -> "Table":
        """The events as a :class:`~pykernel.tables.Table` (a dict of
        equal-length lists), one column per field of :class:`TraceEvent`
        with the time named ``time_ns`` (None where a field does not
        apply)."""
        from .tables import Table
        evs = self._sync()
        return Table({COLUMNS[i]: [e[i] for e in evs] for i in range(len(_FIELDS))}, "trace")

    def to_pandas(self):
        """The events as a pandas DataFrame with the columns of
        :meth:`columns` (needs pandas)."""
        return self.columns().to_pandas()

    def slices(self) -> list[tuple]:
        """Running intervals as (cpu, tid, start, end) in ns, in order of
        start: from a switch-in plus its switch cost to the switch-out (or
        the end of the trace for a thread still running)."""
        out, open_ = [], {}
        for e in self._sync():
            if e.kind == "switch_in":
                open_[e.cpu] = (e.tid, e.time + e.arg)
            elif e.kind == "switch_out" and e.cpu in open_:
                tid, start = open_.pop(e.cpu)
                out.append((e.cpu, tid, min(start, e.time), e.time))
        end = self.end
        out.extend((cpu, tid, min(start, end), end) for cpu, (tid, start) in open_.items())
        out.sort(key=lambda s: s[2])
        return out

    # ---- Chrome trace-event JSON ------------------------------------------

    def chrome_events(self) -> list[dict]:
        """The trace as Chrome trace-event dicts: one track (tid) per CPU
        with a complete ("X") slice per running interval named after the
        thread's process, instant ("i") events for wake-ups, blocks, faults,
        migrations, exits and IPC, and flow arrows ("s" -> "f") from each
        write to the read that takes it. Times: ``ts`` and ``dur`` in µs
        (ns / 1000, fractions kept); args keep the exact ns."""
        evs, out, open_, cpus = self._sync(), [], {}, set()
        for seq, e in enumerate(evs):
            if e.cpu is not None:
                cpus.add(e.cpu)
            if e.kind == "switch_in":
                open_[e.cpu] = (seq, e)
            elif e.kind == "switch_out" and e.cpu in open_:
                out.append(_slice(self, *open_.pop(e.cpu), seq, e))
            else:
                out.append(_instant(self, seq, e))
        for cpu, (seq, e) in open_.items():
            out.append(_slice(self, seq, e, None, None))
        out.extend(_flows(evs))
        out.sort(key=lambda d: d["ts"])
        meta = [{"ph": "M", "name": "process_name", "pid": 0, "tid": 0,
                 "args": {"name": "CPUs"}}]
        meta += [{"ph": "M", "name": "thread_name", "pid": 0, "tid": c,
                  "args": {"name": f"CPU {c}"}} for c in sorted(cpus)]
        meta.append({"ph": "M", "name": "thread_name", "pid": 0, "tid": _KERNEL_TRACK,
                     "args": {"name": "no CPU"}})
        return meta + out

    def to_json(self) -> str:
        """The trace as Chrome trace-event JSON (object form), the text
        :meth:`save` writes."""
        names = {str(t): self.name(t) for t in {e.tid for e in self._sync()} if t is not None}
        doc = {"traceEvents": self.chrome_events(), "displayTimeUnit": "ns",
               "otherData": {"pykernel": {"dropped": self.dropped, "end_ns": self.end,
                                          "names": names}}}
        return json.dumps(doc)

    def save(self, path) -> None:
        """Write the trace as Chrome trace-event JSON (object form), which
        the Perfetto UI (ui.perfetto.dev) and chrome://tracing open;
        :meth:`load` reads it back."""
        text = self.to_json()
        with open(path, "w") as f:
            f.write(text)

    @classmethod
    def load(cls, path) -> "Trace":
        """A trace saved by :meth:`save`, with the same events."""
        with open(path) as f:
            doc = json.load(f)
        meta = doc.get("otherData", {}).get("pykernel")
        if not isinstance(meta, dict):
            raise ValueError(f"{path} is not a trace saved by pykernel (no otherData.pykernel)")
        recs = []
        for d in doc["traceEvents"]:
            a = d.get("args", {})
            if d["ph"] == "X":
                recs.append(tuple(a["in"]))
                if a.get("out") is not None:
                    recs.append(tuple(a["out"]))
            elif d["ph"] == "i":
                recs.append(tuple(a["event"]))
        recs.sort(key=operator.itemgetter(0))
        events = [TraceEvent(*r[1:]) for r in recs]
        names = {int(t): n for t, n in meta["names"].items()}
        return cls(events=events, dropped=meta["dropped"], names=names, end=meta["end_ns"])

    def __repr__(self) -> str:
        return f"<Trace {len(self)} events, {self.dropped} dropped>"


def _us(ns: int) -> float:
    return ns / 1000


def _track(e: TraceEvent) -> int:
    return _KERNEL_TRACK if e.cpu is None else e.cpu


def _slice(tr: Trace, seq: int, ein: TraceEvent, oseq, eout) -> dict:
    end = tr.end if eout is None else eout.time
    start = min(ein.time + ein.arg, end)
    return {"ph": "X", "name": tr.name(ein.tid), "cat": "run", "pid": 0, "tid": ein.cpu,
            "ts": _us(start), "dur": _us(end - start),
            "args": {"tid": ein.tid, "in": [seq, *ein],
                     "out": None if eout is None else [oseq, *eout]}}


def _instant(tr: Trace, seq: int, e: TraceEvent) -> dict:
    label = e.kind if e.what is None else f"{e.kind} {e.what}"
    return {"ph": "i", "s": "t", "name": f"{label}: {tr.name(e.tid)}", "cat": e.kind, "pid": 0,
            "tid": _track(e), "ts": _us(e.time), "args": {"event": [seq, *e]}}


def _flows(evs: list[TraceEvent]) -> list[dict]:
    """Flow arrows: each read is joined to the earliest write on the same
    queue not yet joined (messages are read in the order written)."""
    pending: dict[int, deque] = {}
    out, fid = [], 0
    for e in evs:
        if e.kind == "send":
            pending.setdefault(e.obj, deque()).append(e)
        elif e.kind == "recv" and pending.get(e.obj):
            s = pending[e.obj].popleft()
            fid += 1
            out.append({"ph": "s", "name": "ipc", "cat": "ipc", "id": fid, "pid": 0,
                        "tid": _track(s), "ts": _us(s.time)})
            out.append({"ph": "f", "bp": "e", "name": "ipc", "cat": "ipc", "id": fid, "pid": 0,
                        "tid": _track(e), "ts": _us(e.time)})
    return out
