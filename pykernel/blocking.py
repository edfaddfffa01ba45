"""The blocking operations of Python thread bodies: what ``ctx.read``,
``ctx.write``, ``ctx.wait_one``, ``ctx.lock``, ``ctx.cond_wait`` and the
other blocking ``ctx`` methods yield. Each is a small state machine over
the core's wait records (csrc/obj/pk_wait.c, csrc/obj/pk_futex.c): ``start`` tries
the operation, and when it must wait returns the wait for the core;
``resume`` collects the wait's result and tries again or finishes.
The objects they act on are :mod:`pykernel.objects`. The operations on
futexes that scripts also have (futex wait, lock, unlock, semaphores,
condition variables) are not here: ctx makes them as script instructions and the
core runs them (csrc/core/pk_host.c)."""

from __future__ import annotations

from ._ffi import FOREVER, ffi, lib
from .errors import BadState
from .objects import Signals, _items, _raise, _read

__all__ = ["WaitOp", "ReadOp", "SocketWriteOp", "DoneOp", "Then", "CallOp"]

_OK, _SHOULD_WAIT = lib.PK_OK, lib.PK_ERR_SHOULD_WAIT


# ---- blocking operations of Python thread bodies (ctx methods) ----------------

class _Blocking:
    """An operation a Python thread body yields that may block its
    simulated thread. ``start``/``resume`` return ("done", value),
    ("raise", exception) or ("wait", (op, arg)) for the core.
    ``_cost``: the script instruction whose CPU time the thread takes when
    the operation ends, before the body gets its result (a read or a
    write: PK_OP_CHAN_READ or PK_OP_CHAN_WRITE, on ``self.handle``), or
    None."""

    __slots__ = ()
    _cost = None

    def _wait(self, k, tid: int, pid: int, items, deadline: int):
        arr = _items(k, pid, items)
        st = lib.pk_wait_check(k._kp, pid, arr, len(items))
        if st == _OK:
            return "ready", [Signals(arr[i].pending) for i in range(len(items))]
        if st != _SHOULD_WAIT:
            return "raise", _raise(st, "wait")
        if deadline <= k.now:
            return "raise", _raise(lib.PK_ERR_TIMED_OUT, "wait")
        wid = k._obj_u32
        st = lib.pk_wait_prepare(k._kp, tid, arr, len(items), deadline, wid)
        if st:
            return "raise", _raise(st, "wait")
        self._arr = arr
        return "wait", (lib.PK_OP_OBJ_WAIT, wid[0])

    def _result(self, k, tid: int):
        arr = self._arr
        n = len(arr)
        st = lib.pk_wait_result(k._kp, tid, arr, n)
        return st, [Signals(arr[i].pending) for i in range(n)]


class WaitOp(_Blocking):
    """ctx.wait_one / ctx.wait_many."""

    __slots__ = ("pid", "items", "deadline", "one", "_arr")

    def __init__(self, pid, items, deadline, one):
        self.pid, self.items, self.deadline, self.one = pid, items, deadline, one

    def _value(self, pending):
        return pending[0] if self.one else pending

    def start(self, k, tid):
        what, v = self._wait(k, tid, self.pid, self.items, self.deadline)
        return ("done", self._value(v)) if what == "ready" else (what, v)

    def resume(self, k, tid):
        st, pending = self._result(k, tid)
        if st:
            return "raise", _raise(st, "wait_one" if self.one else "wait_many")
        return "done", self._value(pending)


class ReadOp(_Blocking):
    """ctx.read and ctx.call: read (the message with txid), waiting for
    READABLE or PEER_CLOSED while there is none."""

    __slots__ = ("handle", "deadline", "txid", "_arr")
    _cost = lib.PK_OP_CHAN_READ

    def __init__(self, handle, deadline, txid=0):
        self.handle, self.deadline, self.txid = handle, deadline, txid

    def start(self, k, tid):
        h = self.handle
        st, msg = _read(k, h.pid, h.value, self.txid, None, None)
        if st == _OK:
            return "done", msg
        if st != _SHOULD_WAIT:
            return "raise", _raise(st, "read")
        if self.txid and h.queued:
            return "raise", BadState("call: a message that is not the reply is queued first; "
                                     "read it before calling")
        what, v = self._wait(k, tid, h.pid, [(h, Signals.READABLE | Signals.PEER_CLOSED)],
                             self.deadline)
        if what == "ready":         # cannot happen: the read just found nothing
            return "raise", BadState("read: inconsistent channel state")
        return what, v

    def resume(self, k, tid):
        st, _ = self._result(k, tid)
        if st:
            return "raise", _raise(st, "read")
        return self.start(k, tid)


class SocketWriteOp(_Blocking):
    """ctx.write on a socket or pipe: every byte, waiting for room."""

    __slots__ = ("handle", "data", "done", "_arr")
    _cost = lib.PK_OP_CHAN_WRITE

    def __init__(self, handle, data, done):
        self.handle, self.data, self.done = handle, data, done

    def start(self, k, tid):
        h = self.handle
        while self.done < len(self.data):
            rest = self.data[self.done:]
            st = lib.pk_socket_write(k._kp, h.pid, h.value, ffi.from_buffer(rest), len(rest),
                                     k._obj_u32)
            if st == _SHOULD_WAIT:
                what, v = self._wait(k, tid, h.pid, [(h, Signals.WRITABLE | Signals.PEER_CLOSED)],
                                     FOREVER)
                if what == "ready":
                    continue                    # room appeared meanwhile: cannot, but retry
                return what, v
            if st:
                return "raise", _raise(st, "write")
            self.done += k._obj_u32[0]
        return "done", self.done

    def resume(self, k, tid):
        st, _ = self._result(k, tid)
        if st:
            return "raise", _raise(st, "write")
        return self.start(k, tid)


class DoneOp(_Blocking):
    """An operation already done when made (ctx.futex_wake): its value."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def start(self, k, tid):
        return "done", self.value


class Then(_Blocking):
    """What a read or write that ended gives the body, ("done", value) or
    ("raise", exception), held while the thread takes its CPU time."""

    __slots__ = ("how", "value")

    def __init__(self, how, value):
        self.how, self.value = how, value

    def resume(self, k, tid):
        return self.how, self.value


class CallOp(ReadOp):
    """ctx.call: the request is written when made; waits for the reply."""

    __slots__ = ()


def _op_name(blocked) -> str:
    """The ctx method a blocked operation came from."""
    if isinstance(blocked, WaitOp):
        return "ctx.wait_one" if blocked.one else "ctx.wait_many"
    names = {CallOp: "ctx.call", ReadOp: "ctx.read", SocketWriteOp: "ctx.write"}
    return names.get(type(blocked), type(blocked).__name__)
