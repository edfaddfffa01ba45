"""The rule for host threads: one lock per kernel (docs/guide.md,
"Host threads").

Every public method of a kernel and of its views (processes, threads,
address spaces, handles, jobs, the trace) holds the kernel's lock while
it works. The lock is reentrant (a Python thread body or a policy hook,
which run inside ``run()`` on the thread that holds it, may call the
kernel) and blocking: a call from a second host thread waits until the
first is done. ``run()`` holds the lock while it simulates, but between
two slices of simulation (every ``STEP_BUDGET`` units of host work:
dispatcher steps and interpreted instructions, PK_WORK_HOST in
csrc/core/pk_api.h) it lets the threads that wait in, so they are never stuck
behind a long run, whatever the threads' bodies are.

The C core never sees two host threads at once, so concurrent use cannot
corrupt it; separate kernels have separate locks and run in parallel (a
call into the core releases the GIL).
"""

from __future__ import annotations

import functools
import threading

from .errors import BadState, NoMemory

__all__ = ["KernelLock", "HostThreadRule", "locked", "locked_views"]


class KernelLock:
    """A kernel's lock: reentrant and blocking, with a count of the host
    threads waiting for it so that a long run can let them in."""

    __slots__ = ("rlock", "_cond", "waiting", "admitted")

    def __init__(self):
        self.rlock = threading.RLock()        # the fast path takes this alone
        self._cond = threading.Condition(threading.Lock())
        self.waiting = 0                      # threads blocked in acquire()
        self.admitted = 0                     # of those, how many got the lock

    def acquire(self) -> None:
        """Take the lock, waiting for another host thread to be done with
        the kernel if need be (interruptible: KeyboardInterrupt leaves the
        lock as it was)."""
        if self.rlock.acquire(False):
            return
        with self._cond:
            self.waiting += 1
        got = False
        try:
            self.rlock.acquire()
            got = True
        finally:
            with self._cond:
                self.waiting -= 1
                if got:
                    self.admitted += 1
                self._cond.notify_all()

    def release(self) -> None:
        """Release one level of the lock."""
        self.rlock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.rlock.release()

    # RLock._release_save / _acquire_restore (what threading.Condition
    # uses) release and retake every level of a reentrant lock at once.

    def _take_back(self, state, interrupted: bool) -> None:
        """Retake the lock released with _release_save, even through
        Ctrl-C (the holder's callers release it on their way out); then
        raise the KeyboardInterrupt, if one came."""
        while True:
            try:
                self.rlock._acquire_restore(state)
                break
            except KeyboardInterrupt:
                interrupted = True
        if interrupted:
            raise KeyboardInterrupt

    def let_waiters_in(self) -> None:
        """Called by the holder at a point where the kernel is consistent
        (between two calls into the core): if other host threads wait,
        release the lock entirely until one of them has had it (or none
        waits any more), then take it back at the same depth."""
        if not self.waiting:
            return
        interrupted = False
        with self._cond:
            if not self.waiting:
                return
            seen = self.admitted
            state = self.rlock._release_save()
            try:
                while self.waiting and self.admitted == seen:
                    self._cond.wait(0.05)
            except KeyboardInterrupt:
                interrupted = True
        self._take_back(state, interrupted)

    def wait_until(self, done) -> None:
        """Called by the holder: release the lock entirely until done()
        (checked with the lock held) is true, then hold it as before."""
        while not done():
            state = self.rlock._release_save()
            interrupted = False
            try:
                with self._cond:
                    self._cond.wait(0.01)
            except KeyboardInterrupt:
                interrupted = True
            self._take_back(state, interrupted)


class HostThreadRule:
    """The part of a :class:`~pykernel.Kernel` that this module owns: the
    kernel's lock (``_lock``, a :class:`KernelLock`) and its fast path
    (``_rlock``), which every method wrapped by :func:`locked` takes."""

    __slots__ = ()

    def _init_lock(self) -> None:
        """Give the kernel its lock (a new kernel's, or a restored one's)."""
        self._lock = KernelLock()
        self._rlock = self._lock.rlock


def _limit_error(k, exc: NoMemory) -> NoMemory:
    """exc, or a NoMemory whose message names the limit that refused the
    operation, if one did (Kernel._limit_reached)."""
    if getattr(exc, "limit", None) is not None:
        return exc
    named = k._limit_reached(str(exc))
    return exc if named is None else named


def _raise_named(k, exc: NoMemory):
    """Raise exc, or in its place a NoMemory naming the limit reached."""
    new = _limit_error(k, exc)
    if new is exc:
        raise exc
    raise new from None


def locked(fn, own: bool = False, hook_refuses: str | None = None, getter: bool = False):
    """Wrap a method so that it holds its kernel's lock (``self._k``'s;
    ``own``: self is the kernel), and so that a NoMemory it raises names the
    resource limit reached (if any). ``hook_refuses``: the method changes
    the kernel, so it is refused (BadState) from inside a policy hook; the
    text names the operation. ``getter``: fn takes self alone."""
    if getattr(fn, "_pk_locked", False):
        return fn
    if hook_refuses is None and getter:
        def method(self):                  # a property: the fast case
            k = self if own else self._k
            rlock = k._rlock
            if not rlock.acquire(False):
                k._lock.acquire()
            try:
                return fn(self)
            except NoMemory as exc:
                _raise_named(k, exc)
            finally:
                rlock.release()
    else:
        def method(self, *args, **kwargs):
            k = self if own else self._k
            rlock = k._rlock
            if not rlock.acquire(False):
                k._lock.acquire()
            try:
                if hook_refuses is not None and k._hook_running():
                    raise BadState(f"cannot {hook_refuses} from inside a hook of the "
                                   f"scheduling policy")
                return fn(self, *args, **kwargs)
            except NoMemory as exc:
                _raise_named(k, exc)
            finally:
                rlock.release()
    functools.update_wrapper(method, fn)
    method._pk_locked = True
    return method


_DUNDERS = frozenset(("__repr__", "__str__", "__len__", "__getitem__", "__contains__"))


def locked_views(own: bool = False, skip=()):
    """Class decorator: every public method and property of the class
    (and the dunders that read the kernel) holds the kernel's lock."""
    def deco(cls):
        for name, value in list(vars(cls).items()):
            if name in skip or (name.startswith("_") and name not in _DUNDERS):
                continue
            if isinstance(value, property):
                fget = value.fget and locked(value.fget, own, getter=True)
                fset = value.fset and locked(value.fset, own)
                setattr(cls, name, property(fget, fset, value.fdel, value.__doc__))
            elif callable(value) and not isinstance(value, (type, staticmethod, classmethod)):
                setattr(cls, name, locked(value, own))
        return cls
    return deco
