"""Run control: how :meth:`Kernel.run <pykernel.Kernel.run>` drives the core.

The core runs until it needs the host and says why in a stop record
(``pk_stop``, docs/architecture.md "The stop record"); :class:`RunControl`
is the loop over those records (one ``match``), the stepping of Python
thread bodies (generators) to their next operation, and the progress line
of long runs. :class:`~pykernel.Kernel` inherits it; the public entry
point, ``Kernel.run``, stays on the kernel."""

from __future__ import annotations

import sys
import time

from ._ffi import FOREVER, ffi, lib
from . import _refusal
from . import livelock as _livelock
from . import riscv as _riscv
from .context import Context, line_of
from .errors import BadState, check
from .memory import pager_step
from .objects import Handle, Message, Packet, Signals, _raise
from .op import exit_code
from .results import RunResult

__all__ = ["RunControl", "STEP_BUDGET"]

STEP_BUDGET = 1 << 19          # host work per call into C (PK_WORK_HOST in pk_api.h)

_REASONS = {
    lib.PK_STOP_IDLE: "idle", lib.PK_STOP_UNTIL: "until",
    lib.PK_STOP_DEADLOCK: "deadlock", lib.PK_STOP_LIVELOCK: "livelock",
}
_KILL, _EXIT = lib.PK_OP_KILL, lib.PK_OP_EXIT
# the operation codes a Python body may yield (ctx makes them)
_BODY_OPS = frozenset((lib.PK_OP_COMPUTE, lib.PK_OP_IO, lib.PK_OP_SLEEP, lib.PK_OP_YIELD, _EXIT,
                       _KILL, lib.PK_OP_POLL))   # _KILL: ctx.touch's answer to a fatal fault
_MASK64 = 0xFFFFFFFFFFFFFFFF
# the operations a Python body yields that the core runs with the script
# instructions' code (pk_futex.c, pk_chan.c, pk_socket.c, pk_port.c,
# pk_wait.c; csrc/core/pk_host.c), by the code the core reports one that
# failed with (| PK_HOST_NAME_ALT: a read that is a call, a wake that is a requeue),
# and the ctx methods that make them: their names in the errors
_CALL = lib.PK_HOST_NAME_ALT
_CORE_OP_NAMES = {
    lib.PK_OP_FUTEX_WAIT: "futex wait", lib.PK_OP_LOCK: "lock", lib.PK_OP_UNLOCK: "unlock",
    lib.PK_OP_SEM_WAIT: "sem_wait", lib.PK_OP_SEM_POST: "sem_post",
    lib.PK_OP_COND_WAIT: "cond_wait", lib.PK_OP_COND_SIGNAL: "cond_signal",
    lib.PK_OP_COND_BROADCAST: "cond_broadcast",
    lib.PK_OP_CHAN_READ: "read", lib.PK_OP_CHAN_READ | _CALL: "call",
    lib.PK_OP_WAIT: "wait_one", lib.PK_OP_OBJ_WAIT: "wait_many", lib.PK_OP_CHAN_WRITE: "write",
    lib.PK_OP_FUTEX_WAKE: "futex_wake", lib.PK_OP_FUTEX_WAKE | _CALL: "futex_requeue"}


def _failed(status: int, code: int) -> Exception:
    """The exception the yield of operation ``code`` (as the core reports
    it) raises in the body for ``status``."""
    if status == lib.PK_ERR_BAD_STATE and code == lib.PK_OP_CHAN_READ | _CALL:
        return BadState("call: a message that is not the reply is queued first; "
                        "read it before calling")
    return _raise(status, _CORE_OP_NAMES.get(code, "operation"))


# what the core's upcall (csrc/py/pk_upcall.c) left in Kernel._sent
_SENT_YIELD, _SENT_RETURN, _SENT_RAISE, _SENT_STATUS = 0, 1, 2, 3
_SENT_VALUE = 4              # pk_host_result's: (4, value), what the yield gives


def _run_export() -> object:
    """pk_kernel_run called without giving up the interpreter lock
    (csrc/py/pk_policy_upcall.c), for kernels whose policy is written in
    Python."""
    into: dict = {}
    check(lib.pk_run_export(id(into)), "pykernel.run")
    return into["run_holding"]


_run_holding = _run_export()


class _Progress:
    """A one-line progress display on stderr for long runs: simulated time
    (and the fraction of ``until`` done) and simulated switches per host
    second. Shown after ``delay`` host seconds, refreshed every
    ``interval``."""

    delay = 1.0
    interval = 0.5

    def __init__(self, kernel: "Kernel", enabled: bool | None, until: int):
        self.k = kernel
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.until = until
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.sw0 = kernel._switches()
        self.shown = False

    def update(self) -> None:
        if not self.enabled:
            return
        t = time.perf_counter()
        if t - self.last < self.interval or (not self.shown and t - self.t0 < self.delay):
            return
        self.last = t
        self.shown = True
        now = self.k.now
        rate = (self.k._switches() - self.sw0) / (t - self.t0)
        if self.until != FOREVER and self.until > 0:
            frac = min(1.0, now / self.until)
            bar = "#" * int(frac * 20)
            head = f"[{bar:<20}] {frac * 100:5.1f}%"
        else:
            head = "[running]"
        sys.stderr.write(f"\r{head}  t = {now / 1e6:,.3f} ms simulated  "
                         f"{rate / 1e6:,.2f} M switches/s  ")
        sys.stderr.flush()

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _unyielded(ctx: Context, y) -> bool:
    """A body just yielded ``y``; ``ctx`` holds the operations it made and
    has not yielded, in order. Forget ``y``; true if one made before it
    was never yielded (those made after it may be yielded next)."""
    made = ctx._pending()
    for i, entry in enumerate(made):
        if entry[0] is y:
            if i:
                return True            # made[0], the oldest, stays for the message
            del made[0]
            break
    else:
        return False                   # y was not made since the last yield
    if made:
        ctx._op, ctx._at = made.pop()
    else:
        ctx._op = None
    ctx._older = made or None
    return False


def _script_reason(op, b, a) -> str | None:
    """The core's words for refusing instruction (op, b, a) as a
    one-instruction script, or None if it would accept it there (or the
    values do not fit an instruction's words)."""
    if not (type(op) is int and type(b) is int and type(a) is int
            and 0 <= op <= 0xFFFFFFFF and 0 <= a <= 0xFFFFFFFF and 0 <= b <= _MASK64):
        return None
    ins = ffi.new("pk_op[1]", [{"code": op, "a": a, "b": b}])
    why = ffi.new("pk_refusal *")
    if lib.pk_script_check(ins, 1, ffi.new("pk_script_info *"), why) == 0:
        return None
    text = _refusal.explain(why)       # "instruction 0: ...": there is one
    return text.split(": ", 1)[1] if text.startswith("instruction 0: ") else text


class RunControl:
    """The run loop and the stepping of Python thread bodies, as methods
    of :class:`~pykernel.Kernel` (which holds the state they use: the
    generators, the blocked operations, the thread waiting for its next
    operation)."""

    __slots__ = ()


    def _host_step(self, tid: int) -> tuple:
        """Advance a Python thread body to its next operation, from where
        the core's upcall left it (``_sent``: the upcall steps bodies
        itself and leaves here what it could not finish). Otherwise the
        body gets what its last operation gave, made by the core
        (``pk_host_result``, csrc/py/pk_upcall.c, as the upcall makes
        it): a value, or the error of an operation that failed, which its
        yield raises."""
        entry = self._gens.get(tid)
        sent = self._sent.pop(tid, None)
        pid = None
        try:
            if entry is None:
                fn, args, pid = self._hosts.pop(tid)
                ctx = Context(self, pid, tid)
                gen = fn(ctx, *args)
                ctx._frame = getattr(gen, "gi_frame", None) or ctx._frame
                entry = self._gens[tid] = (gen, pid, ctx, ctx._made)
                sent = (_SENT_VALUE, None)
            elif sent is None:                       # what the last operation gave
                res = []
                lib.pk_host_result(self._kp, tid, id(res))
                sent = res[0] if res else (_SENT_STATUS, lib.PK_ERR_NO_MEMORY, 0)
            kind, y = sent[0], sent[1]
            if kind == _SENT_STATUS:                 # an operation failed: the yield raises
                y = entry[0].throw(_failed(sent[1], sent[2]))
            elif kind == _SENT_VALUE:
                y = entry[0].send(y)
            elif kind == _SENT_RETURN:               # the upcall sent already
                raise StopIteration(y)
            elif kind == _SENT_RAISE:
                raise y
            c = entry[2]                 # ops made since the last yield
            if c._op is y and c._older is None:
                c._op = None
            elif (c._op is not None or c._older is not None) and _unyielded(c, y):
                return self._not_yielded(tid, entry)
        except StopIteration as stop:
            self._gens.pop(tid, None)
            if entry[2]._op is not None or entry[2]._older:
                self._gens[tid] = entry
                return self._not_yielded(tid, entry)
            try:
                code = 0 if stop.value is None else exit_code(stop.value)
            except (TypeError, ValueError) as exc:
                self._errors[entry[1]] = exc
                return (_KILL, lib.PK_KILL_BAD_OP)
            return (_EXIT, code & _MASK64)
        except Exception as exc:  # the body raised: its process dies, not the kernel
            self._gens.pop(tid, None)
            self._errors[entry[1] if entry else pid] = exc
            return (_KILL, lib.PK_KILL_EXCEPTION)
        except BaseException as exc:
            # SystemExit, KeyboardInterrupt...: the process dies of it as of any
            # exception, and the exception goes on out of run(); the kill is
            # delivered when the kernel runs again (_run keeps it in _doomed)
            self._gens.pop(tid, None)
            self._errors[entry[1] if entry else pid] = exc
            self._doomed[tid] = (_KILL, lib.PK_KILL_EXCEPTION)
            raise
        if type(y) is tuple and len(y) == 2 and y[0] in _BODY_OPS:
            return y                                 # given with the next run
        st = lib.pk_host_give_yield(self._kp, id(y))   # decoded as the upcall decodes it
        if st == lib.PK_OK:
            return (0, 0)
        if st != lib.PK_ERR_WRONG_TYPE:
            a = y[2] if len(y) > 2 and type(y[2]) is int else 0
            return self._bad_op(tid, st, y[0], y[1], a)
        entry[0].close()
        self._gens.pop(tid, None)
        self._errors[entry[1]] = TypeError(
            f"a Python thread body must yield operations made by ctx (e.g. ctx.compute(10)); "
            f"it yielded {y!r}")
        return (_KILL, lib.PK_KILL_BAD_OP)

    def _not_yielded(self, tid: int, entry) -> tuple:
        """A Python body made an operation it never yielded (``ctx.compute(5)``
        without ``yield``): kill its process with an error naming the
        operation and the line that made it."""
        gen, pid, ctx = entry[:3]
        what, at = ctx._made_where(*ctx._pending()[0])
        code = getattr(gen, "gi_code", None)
        line = line_of(code, at) if code is not None and at >= 0 else None
        where = (f"line {line} of {code.co_name} ({code.co_filename})" if line is not None
                 else "an unknown line")
        gen.close()
        self._gens.pop(tid, None)
        ctx._op = ctx._older = None
        self._errors[pid] = RuntimeError(
            f"ctx.{what}(...) made at {where} was never yielded, so it did nothing: "
            f"write `yield ctx.{what}(...)`")
        return (_KILL, lib.PK_KILL_BAD_OP)

    def _bad_op(self, tid: int, status: int, op: int, arg: int, a: int = 0) -> tuple:
        """A body yielded an operation the core refused: kill its process,
        with the core's reason when the operation is a script instruction
        it refuses (``pk_script_check``: the same rule as for scripts)."""
        entry = self._gens.pop(tid, None)
        if entry is not None:
            entry[0].close()
            reason = _script_reason(op, arg, a)
            self._errors[entry[1]] = ValueError(
                f"a Python thread body yielded operation ({op!r}, {arg!r}), which the kernel "
                + (f"refused: {reason}" if reason else
                   f"refused (status {status}); yield operations made by ctx, e.g. ctx.compute(10)"))
        return (_KILL, lib.PK_KILL_BAD_OP)

    def _run(self, until_c: int, now: int, raw, progress) -> RunResult:
        """The run loop: call the core until a stop it cannot handle, and
        handle each stop record (``pk_stop``) in one ``match``."""
        self._running = True
        bar = _Progress(self, progress, until_c)
        sw0, steps0, t0 = raw.context_switches, raw.steps, time.perf_counter()
        run, kp, step, budget = lib.pk_kernel_run, self._kp, self._host_step, STEP_BUDGET
        stop = ffi.new("pk_stop *")
        lib.pk_limit_clear(kp)
        # the core steps Python bodies itself (csrc/py/pk_upcall.c) unless
        # a policy written in Python may run hooks meanwhile: a body then
        # runs here, outside the core (_in_core says so to the kernel's methods)
        hooks = self._host is not None
        kp_c, stop_c = kp, stop
        if hooks:                        # the interpreter lock is held throughout: see
            run = _run_holding           # pk_run_export in csrc/core/pk_api.h
            kp_c, stop_c = int(ffi.cast("uintptr_t", kp)), int(ffi.cast("uintptr_t", stop))
        # what the core makes the values of bodies' reads and waits with
        # (csrc/py/pk_upcall.c), kept alive for the run; forgotten after it
        makers = (Message, Handle, Packet, Signals, self)
        flags = 0 if hooks else lib.PK_HOST_SEND
        check(lib.pk_host_attach(kp, id(self._gens), id(self._sent), flags, id(makers)), "run")
        op = arg = 0
        r = lib.PK_STOP_HOST if self._waiting is not None else lib.PK_STOP_IDLE
        tid = self._waiting
        try:
            if tid is not None:
                op, arg = self._resume or self._doomed.pop(tid, None) or step(tid)
            while True:
                self._in_core = hooks            # policy hooks may run: they may not change k
                try:
                    r = run(kp_c, until_c, budget, op, arg, stop_c); delivered = op; op = 0  # noqa: E702
                except (OverflowError, TypeError):   # argument not a uint64: never reached C
                    r = lib.PK_STOP_HOST
                    op, arg = self._bad_op(tid, lib.PK_ERR_OUT_OF_RANGE, op, arg)
                    continue
                finally:
                    self._in_core = False
                match r:
                    case lib.PK_STOP_HOST:               # a Python body's next operation
                        tid = stop.tid
                        op, arg = step(tid)
                    case lib.PK_STOP_BUDGET:             # a slice of host work is done
                        bar.update()
                        if not self._holds:
                            self._lock.let_waiters_in()  # other host threads: see _lock.py
                    case lib.PK_STOP_PAGER:              # a fault for a pager in Python
                        pager_step(self, stop)
                    case lib.PK_STOP_OUTPUT:             # bytes for a stream Python reads
                        _riscv.deliver(self)
                    case lib.PK_ERR_OUT_OF_RANGE | lib.PK_ERR_INVALID_ARGS if delivered and tid is not None:
                        status, r = r, lib.PK_STOP_HOST  # the operation delivered was refused
                        op, arg = self._bad_op(tid, status, delivered, arg)
                    case lib.PK_ERR_POLICY if self._host is not None:
                        raise self._host.error(kp)
                    case _ if r in _REASONS:             # idle, until, deadlock, livelock
                        break
                    case _:
                        check(r, "run")
        finally:
            self._running = False
            lib.pk_host_attach(kp, id(self._gens), id(self._sent), flags, 0)
            del makers
            bar.close()
            if r == lib.PK_STOP_HOST:
                self._waiting, self._resume = tid, ((op, arg) if op else self._doomed.pop(tid, None))
            else:
                self._waiting = self._resume = None
        lib.pk_limit_clear(kp)        # refusals inside the run were the threads' business
        end = self._stats_raw()
        wall = time.perf_counter() - t0
        cycle = None
        if r == lib.PK_STOP_DEADLOCK:
            found = self.deadlocks()
            cycle = found[0] if found else None
        stall = _livelock.describe(self) if r == lib.PK_STOP_LIVELOCK else None
        return RunResult(_REASONS[r], now, end.now, end.context_switches - sw0,
                         end.steps - steps0, wall, cycle, stall)
