"""The ``ctx`` object a Python thread body receives.

A Python thread body is a generator function ``body(ctx, *args)``. Each
``yield`` hands one operation to the kernel and resumes when it is done,
in simulated time::

    def worker(ctx, n):
        for _ in range(n):
            yield ctx.compute(1_000)    # 1 µs of CPU time
            yield ctx.io(50_000)        # block 50 µs on a device
        return 0                        # exit code

The operations are those of :mod:`pykernel.op` with the same meaning.

An operation does nothing until it is yielded: ``ctx.compute(5)`` on a
line of its own, without ``yield``, is a mistake. The kernel notices it at
the body's next yield (an operation made before the one yielded and never
yielded itself) or at its end, and kills the process with a
``RuntimeError`` naming the operation and the line that made it
(``p.error``). Operations are yielded in the order they are made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._ffi import MAX_TIME, ffi, lib
from .errors import NotSupported, check
from .op import duration, exit_code

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["Context"]


def ffi_u32(ctx):
    """The kernel's reusable uint32 out-buffer."""
    return ctx._k._obj_u32

COMPUTE, IO, SLEEP = lib.PK_OP_COMPUTE, lib.PK_OP_IO, lib.PK_OP_SLEEP
YIELD, EXIT = lib.PK_OP_YIELD, lib.PK_OP_EXIT
LOCK, UNLOCK, SEM_WAIT, SEM_POST = lib.PK_OP_LOCK, lib.PK_OP_UNLOCK, lib.PK_OP_SEM_WAIT, lib.PK_OP_SEM_POST
FUTEX_WAIT = lib.PK_OP_FUTEX_WAIT
COND_WAIT, COND_SIGNAL, COND_BROADCAST = (lib.PK_OP_COND_WAIT, lib.PK_OP_COND_SIGNAL,
                                          lib.PK_OP_COND_BROADCAST)
CHAN_WRITE, CHAN_READ, WAIT = lib.PK_OP_CHAN_WRITE, lib.PK_OP_CHAN_READ, lib.PK_OP_WAIT
OBJ_WAIT, FUTEX_WAKE = lib.PK_OP_OBJ_WAIT, lib.PK_OP_FUTEX_WAKE


def _pairs(items):
    """wait_many's items as a list of (handle, signals) pairs."""
    out = []
    for item in items:
        try:
            h, sig = item
        except (TypeError, ValueError):
            raise TypeError("wait items are (Handle, signals) pairs") from None
        out.append((h, sig))
    return out


class _NoFrame:
    """Stands for the body's frame until the kernel knows it."""
    f_lasti = -1


_NO_FRAME = _NoFrame()


def line_of(code, offset: int) -> int | None:
    """The source line of the instruction at byte ``offset`` of ``code``
    (a frame's f_lasti), or None."""
    for start, end, line in code.co_lines():
        if start <= offset < end:
            return line
    return None


def _context_core() -> type:
    """The base class whose compute and sleep the core makes
    (csrc/py/pk_upcall.c)."""
    into: dict = {}
    check(lib.pk_host_export(id(into)), "pykernel.context")
    return into["ContextCore"]


class Context(_context_core()):
    """Operations and information for one Python-bodied thread.

    ``compute(ns)``: run on the CPU for ``ns`` ns (see
    :func:`pykernel.op.compute`); ``sleep(ns)``: sleep for ``ns`` ns (see
    :func:`pykernel.op.sleep`). Both are made in C."""

    __slots__ = ("_k", "pid", "tid")

    def __init__(self, kernel: "Kernel", pid: int, tid: int):
        self._k = kernel
        self.pid = pid
        self.tid = tid
        # _made = [op, at, older]. op: the last operation made and not yet
        # yielded; at: where the body was then, the body frame's
        # instruction offset (f_lasti: cheaper to read than a line number,
        # turned into one only for an error), or (method name, offset) for
        # the methods other than compute, io and sleep, whose names the
        # op's code gives; older: None, or the older ones still not
        # yielded, as (op, at). The kernel checks them at every yield (the
        # core's upcall, csrc/py/pk_upcall.c, reads and clears the list
        # itself; Kernel._host_step otherwise) and sets _frame to the
        # body's frame.
        self._made: list = [None, None, None]
        self._frame = _NO_FRAME

    # the three parts of _made by name (the stepping's slow paths)
    _op = property(lambda self: self._made[0],
                   lambda self, v: self._made.__setitem__(0, v))
    _at = property(lambda self: self._made[1],
                   lambda self, v: self._made.__setitem__(1, v))
    _older = property(lambda self: self._made[2],
                      lambda self, v: self._made.__setitem__(2, v))

    def _push(self) -> None:
        """A new operation is made while the last one is not yielded yet."""
        if self._older is None:
            self._older = []
        self._older.append((self._op, self._at))

    def _pending(self) -> list:
        """The operations made and not yet yielded, oldest first, as
        (op, at) pairs."""
        out = list(self._older or ())
        if self._op is not None:
            out.append((self._op, self._at))
        return out

    @staticmethod
    def _made_where(op, at) -> tuple:
        """(method name, frame offset) of a pending operation."""
        if type(at) is tuple:
            return at
        return {COMPUTE: "compute", IO: "io", SLEEP: "sleep"}.get(op[0], "operation"), at

    def _track(self, op, what: str):
        """Record ``op`` as made by ``ctx.<what>`` at the caller's line."""
        m = self._made
        if m[0] is not None:
            self._push()
        m[0] = op
        m[1] = (what, self._frame.f_lasti)
        return op

    @property
    def now(self) -> int:
        """The current simulated time in ns."""
        return lib.pk_kernel_now(self._k._kp)

    @property
    def kernel(self) -> "Kernel":
        """The kernel this thread runs in."""
        return self._k

    @property
    def process(self):
        """This thread's :class:`~pykernel.Process`."""
        from .process import Process
        return Process(self._k, self.pid)

    # compute(ns) and sleep(ns) are ContextCore's, made in C
    # (csrc/py/pk_upcall.c): they are the operations bodies make most.
    # What it does not handle itself comes here.

    def _timed_slow(self, what: str, ns):
        """ctx.compute or ctx.sleep (``what``) when the C method leaves it
        to Python: ns not a plain int in range (the error), or another
        operation made and not yet yielded."""
        if type(ns) is not int or not 0 <= ns <= MAX_TIME:
            ns = duration(what, ns)
        op = (COMPUTE if what == "compute" else SLEEP, ns)
        m = self._made
        if m[0] is not None:
            self._push()
        m[0] = op
        m[1] = self._frame.f_lasti
        return op

    def io(self, ns: int, poll: bool = False):
        """Block on a device for ``ns`` ns, or with ``poll=True`` poll for
        it on the CPU (see :func:`pykernel.op.io`)."""
        if type(ns) is not int or not 0 <= ns <= MAX_TIME:
            ns = duration("io", ns)
        if poll is not False:
            if not isinstance(poll, bool):
                raise TypeError(f"io poll must be a bool, not {type(poll).__name__}")
        op = (lib.PK_OP_POLL, ns) if poll else (IO, ns)
        m = self._made
        if m[0] is not None:
            self._push()
        m[0] = op
        m[1] = self._frame.f_lasti
        return op

    def yield_(self):
        """Give the CPU to another ready thread (see :func:`pykernel.op.yield_`)."""
        return self._track((YIELD, 0), "yield_")   # a new tuple each time: told apart by identity

    # ---- memory (a kernel with pk.Memory; docs/memory.md) -------------------

    def touch(self, addr: int, write: bool = False):
        """Access ``addr`` now (see :func:`pykernel.op.touch`); yield the
        result, which takes the access's cost as CPU time (or kills the
        process on a fatal fault)."""
        from .op import touch
        addr, write = touch(addr, write).args
        k = self._k
        if k.memory is None:
            raise NotSupported("ctx.touch needs a kernel with memory=pk.Memory(...)")
        op, arg = ffi.new("uint32_t *"), ffi.new("uint64_t *")
        check(lib.pk_vm_touch_host(k._kp, self.tid, addr, int(write), op, arg), "touch")
        return self._track((op[0], arg[0]), "touch")

    def map(self, addr: int, length: int, prot: str = "rw", user: bool = True,
            populate: bool = False, shared=False):
        """Map memory now (see :func:`pykernel.op.map`); takes no time."""
        self.process.aspace.map(addr, length, prot, user, populate, shared)
        return (COMPUTE, 0)

    def unmap(self, addr: int, length: int):
        """Unmap memory now (see :func:`pykernel.op.unmap`); takes no time."""
        self.process.aspace.unmap(addr, length)
        return (COMPUTE, 0)

    def protect(self, addr: int, length: int, prot: str):
        """Change protection now (see :func:`pykernel.op.protect`); takes no time."""
        self.process.aspace.protect(addr, length, prot)
        return (COMPUTE, 0)

    def exit(self, code: int = 0):
        """End the process with ``code`` (``return code`` does the same)."""
        return self._track((EXIT, exit_code(code) & 0xFFFFFFFFFFFFFFFF), "exit")

    # ---- kernel objects (docs/objects.md) -------------------------------
    # These return operations to yield; those that may block, block this
    # simulated thread (never the host) and the yield evaluates to their
    # result, or raises the kernel's error inside the body.

    @property
    def handles(self) -> list:
        """The handles of this thread's process, in slot order."""
        return self.process.handles

    def handle(self, slot: int):
        """The handle in slot ``slot`` of this process's table (the
        handles given at spawn are in slots 0, 1, ...)."""
        from .objects import Handle, _u32
        out = self._k._obj_u32
        from .errors import check
        check(lib.pk_handle_at(self._k._kp, self.pid, _u32("slot", slot), out), f"slot {slot}")
        return Handle(self._k, self.pid, out[0])

    def _own(self, h):
        from .objects import Handle
        if not isinstance(h, Handle):
            raise TypeError(f"expected a pk.Handle, not {type(h).__name__}")
        if h._k is not self._k or h.pid != self.pid:
            from .objects import _elsewhere
            raise _elsewhere(h, self._k, f"this thread's process {self.pid}")
        return h

    def write(self, h, data: bytes = b"", handles=(), txid: int = 0):
        """``yield ctx.write(h, data)``. A channel: write a message now (see
        :meth:`pykernel.Handle.write`; a server answers a call with
        ``txid=request.txid``); never blocks, and the yield takes the
        write's CPU time. A socket or pipe: write every byte, blocking
        while the peer's buffer is full; the yield gives the byte count,
        or raises the write's error (``PeerClosed``, ``AccessDenied``...).
        The core runs it as the script instruction
        :func:`pykernel.op.write` does (csrc/obj/pk_socket.c), with the
        bytes copied when it is yielded."""
        h = self._own(h)
        k = self._k
        if (not handles and not txid and isinstance(data, (bytes, bytearray, memoryview))
                and lib.pk_handle_info_get(k._kp, self.pid, h.value, k._out_handle_info()) == 0
                and k._out_handle_info().kind == lib.PK_OBJ_SOCKET):
            # a socket or pipe: the core writes it, waiting for room
            return self._track((CHAN_WRITE, h.value, bytes(data)), "write")
        h.write(data, handles, txid)                 # a channel: its CPU time, in the core
        return self._track((CHAN_WRITE, h.value, 0), "write")

    def read(self, h, deadline: int | None = None):
        """``msg = yield ctx.read(h)``: read, waiting while there is
        nothing to read (until ``deadline``, absolute ns: then
        ``TimedOut``). A channel gives a :class:`~pykernel.Message`, a
        socket or pipe ``bytes`` (up to 65,536), a port a
        :class:`~pykernel.Packet`. ``PeerClosed`` once the peer is closed
        and nothing is left; ``Canceled`` if h is closed meanwhile. The
        core runs it as the script instruction :func:`pykernel.op.read`
        (csrc/obj/pk_chan.c) and keeps what it read for the body."""
        from .objects import _deadline
        return self._track((CHAN_READ, 0, self._own(h).value, _deadline(deadline)), "read")

    def call(self, h, data: bytes = b"", handles=(), deadline: int | None = None):
        """``reply = yield ctx.call(h, data)``: write a request with a new
        transaction id now and wait for the reply carrying the same id (the
        server writes it with ``h.write(..., txid=msg.txid)``). While the
        reply is not there, another message queued first is ``BadState``
        (read it before calling)."""
        from .objects import _deadline
        h = self._own(h)
        deadline = _deadline(deadline)
        txid = lib.pk_channel_txid(self._k._kp)
        h.write(data, handles, txid)
        return self._track((CHAN_READ, txid, h.value, deadline), "call")

    def wait_one(self, h, signals, deadline: int | None = None):
        """``pending = yield ctx.wait_one(h, signals)``: wait until one of
        ``signals`` is asserted on h's object (at once if it already is);
        the yield gives the signals then asserted. ``TimedOut`` at
        ``deadline``; ``Canceled`` if h is closed meanwhile. Needs WAIT.
        The core runs it as the script instruction :func:`pykernel.op.wait`."""
        from .objects import _deadline, _signals
        return self._track((WAIT, _signals(signals), self._own(h).value, _deadline(deadline)),
                           "wait_one")

    def wait_many(self, items, deadline: int | None = None):
        """``pendings = yield ctx.wait_many([(h1, s1), (h2, s2)])``: wait
        until one item's signals are asserted (1 to 64 items, else
        ``ValueError``); the result lists each item's asserted signals.
        The core waits with one wait record on every object (csrc/obj/pk_wait.c)."""
        from .objects import _deadline, _items
        arr = _items(self._k, self.pid, [(self._own(h), sig) for h, sig in _pairs(items)])
        pairs = tuple((arr[i].handle, arr[i].waitfor) for i in range(len(arr)))
        return self._track((OBJ_WAIT, pairs, _deadline(deadline)), "wait_many")

    # ---- futexes and locks (pk_futex.c); addresses are per process
    # (or shared with Process.share_futexes) until address spaces exist

    def futex_wait(self, addr: int, expected: int, deadline: int | None = None):
        """``yield ctx.futex_wait(addr, expected)``: wait while the futex
        word at ``addr`` equals ``expected``; ``BadState`` at once if it
        does not (Linux: EAGAIN); ``TimedOut`` at ``deadline``. The core
        runs it as the script instruction :func:`pykernel.op.futex_wait`
        (pk_futex.c), with ``deadline`` as an absolute instant."""
        from .objects import _addr, _deadline, _u32
        return self._track((FUTEX_WAIT, _addr("futex", addr), _u32("expected", expected),
                            _deadline(deadline)), "futex_wait")

    def futex_wake(self, addr: int, n: int = 1):
        """``woken = yield ctx.futex_wake(addr, n)``: wake at most n
        waiters; the yield gives how many woke. The core does it when it
        is yielded (csrc/core/pk_host.c, pk_futex_wake)."""
        from .objects import _addr, _u32
        return self._track((FUTEX_WAKE, _addr("futex", addr), _u32("n", n)), "futex_wake")

    def futex_requeue(self, addr: int, nwake: int, addr2: int, nrequeue: int):
        """``woken = yield ctx.futex_requeue(a, nwake, b, nrequeue)``: wake
        at most nwake waiters of a and move at most nrequeue others to b;
        the yield gives how many woke. ``InvalidArgs`` if a == b."""
        from .objects import _addr, _u32
        return self._track((FUTEX_WAKE, _addr("futex", addr), _u32("nwake", nwake),
                            _addr("futex", addr2), _u32("nrequeue", nrequeue)), "futex_requeue")

    # The operations below are the script instructions (pykernel.op) as
    # (op, b, a) tuples: the core runs them when they are yielded, with
    # the code that runs a script's (pk_futex.c), and the yield raises the
    # kernel's error in the body if one fails.

    def lock(self, addr: int, inherit: bool = False):
        """``yield ctx.lock(addr)``: take the mutex at ``addr`` (see
        :func:`pykernel.op.lock`), waiting while another thread holds it.
        ``inherit=True`` makes it a priority-inheritance mutex."""
        from .objects import _addr
        if not isinstance(inherit, bool):
            raise TypeError(f"lock inherit must be True or False, not {type(inherit).__name__}")
        return self._track((LOCK, _addr("mutex", addr), lib.PK_LOCK_INHERIT if inherit else 0),
                           "lock")

    def unlock(self, addr: int):
        """``yield ctx.unlock(addr)``: release the mutex (AccessDenied if
        this thread does not hold it, BadState if it is not locked)."""
        from .objects import _addr
        return self._track((UNLOCK, _addr("mutex", addr), 0), "unlock")

    def sem_wait(self, addr: int):
        """``yield ctx.sem_wait(addr)``: take a unit of the semaphore."""
        from .objects import _addr
        return self._track((SEM_WAIT, _addr("semaphore", addr), 0), "sem_wait")

    def sem_post(self, addr: int):
        """``yield ctx.sem_post(addr)``: give a unit back; one waiter wakes."""
        from .objects import _addr
        return self._track((SEM_POST, _addr("semaphore", addr), 0), "sem_post")

    def cond_wait(self, cv: int, mutex: int):
        """``yield ctx.cond_wait(cv, mutex)``: release the mutex, wait for a
        signal on cv, take the mutex again. As in scripts
        (:func:`pykernel.op.cond_wait`), the mutex address must differ
        from cv and be below 2**32."""
        from .op import cond_wait
        cv, mutex = cond_wait(cv, mutex).args
        return self._track((COND_WAIT, cv, mutex), "cond_wait")

    def cond_signal(self, cv: int):
        """``yield ctx.cond_signal(cv)``: wake one waiter of cv."""
        from .objects import _addr
        return self._track((COND_SIGNAL, _addr("condition", cv), 0), "cond_signal")

    def cond_broadcast(self, cv: int, mutex: int):
        """``yield ctx.cond_broadcast(cv, mutex)``: wake every waiter of cv
        (one at once, the others as the mutex is released); as in scripts,
        the mutex address must differ from cv and be below 2**32."""
        from .op import cond_broadcast
        cv, mutex = cond_broadcast(cv, mutex).args
        return self._track((COND_BROADCAST, cv, mutex), "cond_broadcast")

    def __repr__(self) -> str:
        return f"<Context pid={self.pid} tid={self.tid}>"
