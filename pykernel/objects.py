"""Kernel objects: handles with rights, channels, events, signals and waiting.

Modelled on Fuchsia's Zircon (docs/references.md [Zircon-handles],
[Zircon-channel]). A process names kernel objects through *handles* in its own
handle table; each handle carries *rights* that every operation checks.
The rules live once, in the C core (csrc/obj/pk_obj.c, pk_chan.c, pk_wait.c);
this module is a thin view over them, and script instructions
(:func:`pykernel.op.write`, :func:`pykernel.op.read`, ...) use the same
code. See docs/objects.md.

Called from outside a run, an operation that would block raises
:class:`~pykernel.ShouldWait`; inside a Python thread body, the ``ctx``
methods (``ctx.read``, ``ctx.wait_one``, ...) block the simulated thread.
"""

from __future__ import annotations

import enum
import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

from ._ffi import FOREVER, MAX_TIME, ffi, lib
from ._lock import locked as _locked, locked_views
# validators (context.py and process.py import them from here too)
from ._validate import futex_addr as _addr, u32 as _u32, u64 as _u64
from .errors import BadHandle, BadState, InvalidArgs, ShouldWait, TimedOut, check
from ._deprecated import CalledProperty
from .errors import error as _error

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["Rights", "Signals", "Handle", "Message", "ObjectStats", "Packet"]

_OK, _SHOULD_WAIT = lib.PK_OK, lib.PK_ERR_SHOULD_WAIT
_KINDS = {lib.PK_OBJ_CHANNEL: "channel", lib.PK_OBJ_EVENT: "event",
          lib.PK_OBJ_EVENTPAIR: "eventpair", lib.PK_OBJ_PROCESS: "process",
          lib.PK_OBJ_SOCKET: "socket", lib.PK_OBJ_PORT: "port", lib.PK_OBJ_THREAD: "thread"}
_WRONG_TYPE = lib.PK_ERR_WRONG_TYPE


def _flag_names(flag) -> str:
    """'A|B' for the single-bit members set in flag (first name of each bit)."""
    seen, names = set(), []
    for name, m in type(flag).__members__.items():
        v = int(m)
        if v and not v & (v - 1) and v not in seen and int(flag) & v:
            seen.add(v)
            names.append(name)
    return "|".join(names) or "NONE"


class Rights(enum.IntFlag):
    """Rights of a handle, with Zircon's bit numbers (zircon/rights.h,
    docs/references.md [Zircon-rights]). ``SAME_RIGHTS`` (bit 31) means "the
    rights of the source handle" in :meth:`Handle.duplicate` and
    :meth:`Handle.replace`."""

    NONE = 0
    DUPLICATE = 1 << 0
    TRANSFER = 1 << 1
    READ = 1 << 2
    WRITE = 1 << 3
    EXECUTE = 1 << 4
    MAP = 1 << 5
    GET_PROPERTY = 1 << 6
    SET_PROPERTY = 1 << 7
    ENUMERATE = 1 << 8
    DESTROY = 1 << 9
    SET_POLICY = 1 << 10
    GET_POLICY = 1 << 11
    SIGNAL = 1 << 12
    SIGNAL_PEER = 1 << 13
    WAIT = 1 << 14
    INSPECT = 1 << 15
    MANAGE_JOB = 1 << 16
    MANAGE_PROCESS = 1 << 17
    MANAGE_THREAD = 1 << 18
    APPLY_PROFILE = 1 << 19
    SAME_RIGHTS = 1 << 31

    def __str__(self) -> str:
        return _flag_names(self)

    def __repr__(self) -> str:
        return f"Rights.{_flag_names(self)}"


class Signals(enum.IntFlag):
    """Signals an object asserts (Zircon's bit numbers): READABLE (a
    channel's queue is non-empty), WRITABLE, PEER_CLOSED, SIGNALED (an
    event), TERMINATED (a process or thread; the same bit as SIGNALED, as
    in Zircon) and the user signals USER_0 .. USER_7 (bits 24-31)."""

    NONE = 0
    READABLE = 1 << 0
    WRITABLE = 1 << 1
    PEER_CLOSED = 1 << 2
    SIGNALED = 1 << 3
    TERMINATED = 1 << 3
    USER_0 = 1 << 24
    USER_1 = 1 << 25
    USER_2 = 1 << 26
    USER_3 = 1 << 27
    USER_4 = 1 << 28
    USER_5 = 1 << 29
    USER_6 = 1 << 30
    USER_7 = 1 << 31

    def __str__(self) -> str:
        return _flag_names(self)

    def __repr__(self) -> str:
        return f"Signals.{_flag_names(self)}"


@dataclass(frozen=True)
class Message:
    """A message read from a channel: its bytes, the handles it carried
    (now in the reader's table) and its transaction id (0: none). Bytes
    written by a script are zeros."""

    data: bytes
    handles: tuple
    txid: int = 0


@dataclass(frozen=True)
class Packet:
    """A packet read from a port: ``key`` as given, ``type`` "signal" (an
    asynchronous wait was satisfied; ``signals`` are those observed) or
    "user" (queued with :meth:`Handle.queue`; ``signals`` as given)."""

    key: int
    type: str
    signals: "Signals"


@dataclass(frozen=True)
class ObjectStats(CalledProperty):
    """Kernel-object counters: live objects, handles in all tables,
    messages queued, threads waiting on objects, messages ever written and
    read. The value of :attr:`Kernel.object_stats <pykernel.Kernel.object_stats>`."""

    _called_as = "Kernel.object_stats"

    objects: int
    handles: int
    messages: int
    waiting: int
    written: int
    read: int


def _rights(v) -> int:
    return _u32("rights", int(v) if isinstance(v, Rights) else v)


def _signals(v) -> int:
    return _u32("signals", int(v) if isinstance(v, Signals) else v)


def _deadline(d) -> int:
    if d is None:
        return FOREVER
    if isinstance(d, bool) or not isinstance(d, int):
        raise TypeError(f"deadline must be an int (absolute ns) or None, not {type(d).__name__}")
    if not 0 <= d <= MAX_TIME:
        raise ValueError(f"deadline must be between 0 and {MAX_TIME} ns, got {d}")
    return d


def _guarded(what: str):
    """Run the method holding the kernel's lock (pykernel/_lock.py: a call
    from another host thread waits), never from inside a hook of the
    scheduling policy (hooks may read the kernel but not change it).
    Python thread bodies run inside the run, in the thread that holds the
    lock, and may. A NoMemory names the limit reached."""
    return functools.partial(_locked, hook_refuses=what)


def _busy(k, what: str):
    """Raise why the kernel cannot be changed now: a policy hook is
    running (see _guarded); called with the lock acquired."""
    k._host_lock().release()
    raise BadState(f"cannot {what} from inside a hook of the scheduling policy")


def _failed(k, status: int, what: str):
    """The exception for a status, naming the limit reached for NoMemory
    (call it holding the kernel's lock)."""
    if status == lib.PK_ERR_NO_MEMORY:
        err = k._limit_reached(what)
        if err is not None:
            return err
    return _raise(status, what)


def _elsewhere(h: "Handle", k, where: str) -> BadHandle:
    """The BadHandle for handle ``h`` used in ``where`` (a process of
    kernel ``k``), to which it does not belong."""
    if h._k is not k:
        return BadHandle(f"handle {h.value:#x} belongs to another kernel, not to the one of "
                         f"{where}: handles are per kernel and per process")
    return BadHandle(f"handle {h.value:#x} belongs to process {h.pid}, not to {where}: "
                     f"handles are per process")


def _raise(status: int, what: str):
    return _error(status, what)


@locked_views(skip=("duplicate", "close"))
class Handle:
    """A handle in one process's table: a view holding the kernel, the
    pid and the handle value (an int, meaningful only in that process).

    Every operation goes to the C core, which checks that the value is
    still valid in the process (``BadHandle`` otherwise) and that the
    handle has the rights the operation needs (``AccessDenied``)."""

    __slots__ = ("_k", "pid", "value")

    def __init__(self, kernel: "Kernel", pid: int, value: int):
        pid, value = operator.index(pid), operator.index(value)
        if not 0 <= pid <= 0xFFFFFFFF:        # pids and handle values are uint32 in the core
            raise InvalidArgs(f"no process with pid {pid}")
        if not 0 <= value <= 0xFFFFFFFF:
            raise BadHandle(f"handle {value:#x} is not a valid handle value (32 bits)")
        self._k = kernel
        self.pid = pid
        self.value = value

    def _info(self):
        k = self._k
        out = k._out_handle_info()
        check(lib.pk_handle_info_get(k._kp, self.pid, self.value, out), "handle info")
        return out

    @property
    def rights(self) -> Rights:
        """The handle's rights."""
        return Rights(self._info().rights)

    @property
    def signals(self) -> Signals:
        """The signals its object asserts now."""
        return Signals(self._info().signals)

    @property
    def kind(self) -> str:
        """The object's type: "channel", "event", "eventpair", "process" or
        "socket" (pipes are sockets)."""
        return _KINDS[self._info().kind]

    @property
    def koid(self) -> int:
        """The object's id, unique in the kernel (like Zircon's koid)."""
        return self._info().koid

    @property
    def peer_koid(self) -> int | None:
        """The koid of the other end (channels, event pairs) while it
        exists, else None."""
        r = self._info().related_koid
        return r or None

    @property
    def queued(self) -> int:
        """A channel endpoint: messages waiting to be read from it."""
        return self._info().queued

    @property
    def valid(self) -> bool:
        """Whether the value still names a handle in the process."""
        return lib.pk_handle_info_get(self._k._kp, self.pid, self.value, self._k._out_handle_info()) == _OK

    @property
    def process(self):
        """The process whose table holds the handle."""
        from .process import Process
        return Process(self._k, self.pid)

    def duplicate(self, rights=Rights.SAME_RIGHTS) -> "Handle":
        """A new handle to the same object with ``rights`` (a subset of
        this one's; SAME_RIGHTS copies them). Needs DUPLICATE; asking for
        a right this handle lacks is ``InvalidArgs``."""
        k = self._k
        if type(rights) is not int or not 0 <= rights <= 0xFFFFFFFF:
            rights = _rights(rights)
        lock = k._host_lock()
        rlock = lock.rlock
        if not rlock.acquire(False):                    # inline _guarded: hot
            lock.acquire()
        if k._hook_running():
            _busy(k, "duplicate a handle")
        try:
            out = k._out_u32()
            st = lib.pk_handle_duplicate(k._kp, self.pid, self.value, rights, out)
            v = out[0]
            if st:
                raise _failed(k, st, "duplicate")
        finally:
            rlock.release()
        return Handle(k, self.pid, v)

    @_guarded("replace a handle")
    def replace(self, rights=Rights.SAME_RIGHTS) -> "Handle":
        """A new handle with ``rights`` (a subset) in place of this one,
        which is invalid afterwards in every case, even when the
        replacement fails."""
        k = self._k
        if type(rights) is not int or not 0 <= rights <= 0xFFFFFFFF:
            rights = _rights(rights)
        out = k._out_u32()
        st = lib.pk_handle_replace(k._kp, self.pid, self.value, rights, out)
        if st:
            check(st, "replace")
        return Handle(k, self.pid, out[0])

    def close(self) -> None:
        """Close the handle. Closing a closed handle is ``BadHandle``.
        When the last handle to an object closes, the object goes (a
        channel's peer then sees PEER_CLOSED)."""
        k = self._k
        lock = k._host_lock()
        rlock = lock.rlock
        if not rlock.acquire(False):                    # inline _guarded: hot
            lock.acquire()
        if k._hook_running():
            _busy(k, "close a handle")
        try:
            st = lib.pk_handle_close(k._kp, self.pid, self.value)
        finally:
            rlock.release()
        if st:
            check(st, "close")

    def _values(self, handles) -> list[int]:
        if isinstance(handles, Handle):
            raise TypeError("handles must be a sequence of Handle, e.g. handles=[h]")
        out = []
        for h in handles:
            if not isinstance(h, Handle):
                raise TypeError(f"handles must be Handle objects, not {type(h).__name__}")
            if h._k is not self._k or h.pid != self.pid:
                raise _elsewhere(h, self._k, f"the writer's process {self.pid}")
            out.append(h.value)
        return out

    @_guarded("write")
    def write(self, data: bytes = b"", handles: Iterable["Handle"] = (), txid: int = 0):
        """Write ``data``. A channel: one message (at most 65,536 bytes and
        64 handles), which its peer reads; needs WRITE, and TRANSFER on each
        handle sent, and the handles sent leave this process's table
        whether or not the write succeeds. A socket or pipe: as many bytes
        as fit in the peer's buffer, returned (a short write);
        ``ShouldWait`` when none fit (a datagram: unless all of it fits).
        At a limit of the kernel (``max_messages``, ``max_message_bytes``,
        ``max_handles``: :class:`~pykernel.Limits`), ``NoMemory`` naming it."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        values = self._values(handles)
        txid = _u32("txid", txid)
        k = self._k
        hs = ffi.new("uint32_t[]", values) if values else ffi.NULL
        buf = ffi.from_buffer(data) if len(data) else ffi.NULL
        st = lib.pk_channel_write(k._kp, self.pid, self.value, buf, len(data), hs, len(values),
                                  txid)
        if st == _WRONG_TYPE and not values and not txid:
            out = k._out_u32()
            st = lib.pk_socket_write(k._kp, self.pid, self.value, buf, len(data), out)
            if st == _OK:
                return out[0]
        if st:
            check(st, "write")
        return None

    @_guarded("read")
    def read(self, max_bytes: int | None = None, max_handles: int | None = None,
             txid: int = 0):
        """Read. A port: its first packet (a :class:`Packet`). A channel:
        the first message (or, with ``txid``, the
        first with that transaction id) as a :class:`Message`; with
        ``max_bytes`` / ``max_handles`` smaller than it, ``BufferTooSmall``
        and the message stays queued. A socket or pipe: up to ``max_bytes``
        bytes (default 65,536; a datagram socket: one datagram, truncated),
        as ``bytes``. Empty with a live peer: ``ShouldWait``; empty with the
        peer closed: ``PeerClosed``. Needs READ."""
        st, msg = _read(self._k, self.pid, self.value, txid, max_bytes, max_handles)
        if st:
            check(st, "read")
        return msg

    @_guarded("call over a channel")
    def call(self, data: bytes = b"", handles: Iterable["Handle"] = ()) -> Message:
        """Outside a run: write a request with a new transaction id and
        read the reply with that id if it is already there; otherwise
        raise ``ShouldWait`` (the request stays written; read the reply
        later with ``read(txid=...)``). Python thread bodies use
        ``ctx.call``, which waits."""
        txid = lib.pk_channel_txid(self._k._kp)
        self.write(data, handles, txid)
        st, msg = _read(self._k, self.pid, self.value, txid, None, None)
        if st == _SHOULD_WAIT:
            raise ShouldWait(f"call: the reply (txid {txid:#x}) has not arrived; the "
                             f"simulation must run first", _SHOULD_WAIT)
        if st:
            check(st, "call")
        return msg

    def wait_one(self, signals, deadline: int | None = None) -> Signals:
        """Outside a run: the signals asserted now if one of ``signals``
        is; ``TimedOut`` if ``deadline`` (absolute ns) is not after now;
        else ``ShouldWait``. Needs WAIT. (ctx.wait_one blocks instead.)"""
        st, pending = _wait_check(self._k, self.pid, [(self, signals)])
        if st == _SHOULD_WAIT and deadline is not None and _deadline(deadline) <= self._k.now:
            raise TimedOut("wait_one: the deadline has passed", lib.PK_ERR_TIMED_OUT)
        if st:
            check(st, "wait_one")
        return pending[0]

    @_guarded("wait asynchronously")
    def wait_async(self, port: "Handle", key: int, signals) -> None:
        """When one of ``signals`` is asserted on this handle's object,
        queue a packet with ``key`` on ``port`` (once; at once if one is
        asserted now). Needs WAIT here and WRITE on the port; closing this
        handle cancels it (Zircon's object_wait_async)."""
        if not isinstance(port, Handle) or port._k is not self._k or port.pid != self.pid:
            raise TypeError("wait_async needs a port Handle of the same process")
        key = _u64("key", key)
        check(lib.pk_wait_async(self._k._kp, self.pid, self.value, port.value, key,
                                _signals(signals)), "wait_async")

    @_guarded("queue a packet")
    def queue(self, key: int, signals=0) -> None:
        """A port: queue a user packet with ``key`` (and ``signals`` as
        data). Needs WRITE."""
        check(lib.pk_port_queue(self._k._kp, self.pid, self.value, _u64("key", key),
                                _signals(signals)), "port queue")

    @_guarded("signal an object")
    def signal(self, clear=0, set=0) -> None:  # noqa: A002 - Zircon's names
        """Clear, then set, user signals (USER_0..7; SIGNALED on events)
        of the object. Needs SIGNAL."""
        check(lib.pk_object_signal(self._k._kp, self.pid, self.value, _signals(clear),
                                   _signals(set)), "signal")

    @_guarded("signal an object's peer")
    def signal_peer(self, clear=0, set=0) -> None:  # noqa: A002
        """Clear, then set, user signals of the other end of a channel or
        event pair. Needs SIGNAL_PEER; ``PeerClosed`` if it is gone."""
        check(lib.pk_object_signal_peer(self._k._kp, self.pid, self.value, _signals(clear),
                                        _signals(set)), "signal_peer")

    @property
    def target(self):
        """A process handle: the process it names (a :class:`~pykernel.Process`,
        whose ``state`` and ``exit_code`` stay readable after it ends); a
        thread handle: the :class:`~pykernel.Thread`. Needs INSPECT, and
        the holder must be root or have the uid of the target's process."""
        out = self._k._out_u32()
        from .process import Process, Thread
        st = lib.pk_proc_handle_target(self._k._kp, self.pid, self.value, out)
        if st == _WRONG_TYPE:
            st = lib.pk_thread_handle_target(self._k._kp, self.pid, self.value, out)
            if st == 0:
                return Thread(self._k, out[0])
        check(st, "inspect")
        return Process(self._k, out[0])

    @_guarded("kill a process")
    def kill(self) -> None:
        """A process handle: kill the process it names; a thread handle:
        that thread alone (its process ends with its last thread). Needs
        DESTROY, and the holder must be root (uid 0) or have the uid of
        the target's process (``AccessDenied`` otherwise). Killing what is
        already dead does nothing."""
        check(lib.pk_proc_handle_kill(self._k._kp, self.pid, self.value), "kill")

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __eq__(self, other) -> bool:
        return (isinstance(other, Handle) and other._k is self._k and other.pid == self.pid
                and other.value == self.value)

    def __hash__(self) -> int:
        return hash((id(self._k), self.pid, self.value))

    def __repr__(self) -> str:
        k = self._k
        if lib.pk_handle_info_get(k._kp, self.pid, self.value, k._out_handle_info()) != _OK:
            return f"<Handle {self.value:#x} pid={self.pid} (invalid)>"
        i = k._out_handle_info()
        return f"<Handle {self.value:#x} pid={self.pid} {_KINDS[i.kind]} koid={i.koid}>"


def _read(k, pid: int, value: int, txid: int, max_bytes, max_handles):
    """One channel read: (status, Message or None)."""
    bcap = lib.PK_CHAN_MAX_BYTES if max_bytes is None else _u32("max_bytes", max_bytes)
    hcap = lib.PK_CHAN_MAX_HANDLES if max_handles is None else _u32("max_handles", max_handles)
    bcap = min(bcap, lib.PK_CHAN_MAX_BYTES)
    hcap = min(hcap, lib.PK_CHAN_MAX_HANDLES)
    buf, hs, info = k._obj_read_bufs()
    st = lib.pk_channel_read(k._kp, pid, value, _u32("txid", txid), buf, bcap, hs, hcap, info)
    if st == _WRONG_TYPE and not txid:
        out = k._out_u32()
        st = lib.pk_socket_read(k._kp, pid, value, buf, bcap, out)
        if st == _WRONG_TYPE:
            pkt = ffi.new("pk_packet *")
            st = lib.pk_port_read(k._kp, pid, value, pkt)
            return (st, None) if st else (_OK, Packet(
                pkt.key, "signal" if pkt.type == lib.PK_PACKET_SIGNAL else "user",
                Signals(pkt.signals)))
        return (st, None) if st else (_OK, bytes(ffi.buffer(buf, out[0])))
    if st:
        return st, None
    n, nh = info.nbytes, info.nhandles
    data = bytes(ffi.buffer(buf, n)) if n else b""
    return _OK, Message(data, tuple(Handle(k, pid, hs[i]) for i in range(nh)), info.txid)


def _wait_check(k, pid: int, items):
    """(status, [Signals]) of a non-blocking check of (Handle, signals) items."""
    arr = _items(k, pid, items)
    st = lib.pk_wait_check(k._kp, pid, arr, len(items))
    return st, [Signals(arr[i].pending) for i in range(len(items))]


def _items(k, pid: int, items):
    if not 1 <= len(items) <= lib.PK_WAIT_MANY_MAX:
        raise ValueError(f"wait_many takes 1 to {lib.PK_WAIT_MANY_MAX} items, got {len(items)}")
    arr = ffi.new("pk_wait_item[]", len(items))
    for i, item in enumerate(items):
        try:
            h, sig = item
        except (TypeError, ValueError):
            raise TypeError("wait items are (Handle, signals) pairs") from None
        if not isinstance(h, Handle):
            raise TypeError(f"wait items are (Handle, signals) pairs, not ({type(h).__name__}, ...)")
        if h._k is not k or h.pid != pid:
            raise _elsewhere(h, k, f"the waiter's process {pid}")
        arr[i].handle = h.value
        arr[i].waitfor = _signals(sig)
    return arr


def _stats(k) -> ObjectStats:
    out = ffi.new("pk_obj_stats *")
    check(lib.pk_obj_stats_get(k._kp, out), "object stats")
    return ObjectStats(out.objects, out.handles, out.messages, out.waiting, out.written, out.read)


def _list(k, pid: int) -> list[Handle]:
    count = ffi.new("uint32_t *")
    check(lib.pk_handle_list(k._kp, pid, ffi.NULL, 0, count), "handle list")
    n = count[0]
    buf = ffi.new("uint32_t[]", max(n, 1))
    check(lib.pk_handle_list(k._kp, pid, buf, n, count), "handle list")
    return [Handle(k, pid, buf[i]) for i in range(n)]


def _create(k, pid: int, what: str) -> tuple:
    a, b = ffi.new("uint32_t *"), ffi.new("uint32_t *")
    if what == "channel":
        check(lib.pk_channel_create(k._kp, pid, a, b), "channel_create")
    elif what == "eventpair":
        check(lib.pk_eventpair_create(k._kp, pid, a, b), "eventpair_create")
    else:
        check(lib.pk_event_create(k._kp, pid, a), "event_create")
        return (Handle(k, pid, a[0]),)
    return Handle(k, pid, a[0]), Handle(k, pid, b[0])


def _initial_handles(k, handles) -> tuple[int | None, list[int]]:
    """Validate spawn(handles=...): Handles of one process of this kernel."""
    if isinstance(handles, Handle):
        raise TypeError("handles must be a sequence of Handle, e.g. handles=[h]")
    handles = list(handles)
    if not handles:
        return None, []
    pid = None
    for h in handles:
        if not isinstance(h, Handle) or h._k is not k:
            raise TypeError("spawn handles must be Handle objects of this kernel")
        if pid is not None and h.pid != pid:
            raise ValueError("spawn handles must all come from one process")
        pid = h.pid
    if len(handles) > lib.PK_CHAN_MAX_HANDLES:
        raise ValueError(f"spawn passes at most {lib.PK_CHAN_MAX_HANDLES} handles")
    values = [h.value for h in handles]
    hs = ffi.new("uint32_t[]", values)
    check(lib.pk_handle_move(k._kp, pid, pid, hs, len(values), 1), "spawn handles")
    return pid, values


def _move(k, src: int, dst: int, values: list[int]) -> None:
    hs = ffi.new("uint32_t[]", values)
    check(lib.pk_handle_move(k._kp, src, dst, hs, len(values), 0), "spawn handles")


# ---- snapshots (docs/snapshot.md, "Kernel objects") ---------------------------

def _snapshot_refusal(k) -> str | None:
    """Why the kernel objects of ``k`` cannot be captured now, or None.

    A Python thread blocked in a ``ctx`` read, wait or socket write
    (``pk_host_blocked``) resumes in a Python frame, which a snapshot
    cannot hold: the refusal names every such thread."""
    from .run import _CORE_OP_NAMES
    out, parts = k._out_u32(), []
    for tid in sorted(k._generator_tids()[0]):
        if lib.pk_host_blocked(k._kp, tid, out) == _OK:
            pid = k._tid_pid(tid)
            parts.append(f"tid {tid} (process {k._proc_name(pid)!r}) waits in "
                         f"ctx.{_CORE_OP_NAMES.get(out[0], 'operation')}")
    if not parts:
        return None
    return ("Python threads blocked on kernel objects cannot be captured: "
            + "; ".join(parts))
