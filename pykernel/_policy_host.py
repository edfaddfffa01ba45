"""Policies written in Python: the callbacks the C core calls.

The run-queue functions of csrc/sched/pk_sched_host.c call the functions below
(declared ``extern "Python+C"`` from csrc/sched/pk_sched_host.h). Each run queue
of a kernel whose scheduler is written in Python has a host id (``hid``);
``_QUEUES[hid]`` holds the hooks of the policy object serving that queue.
Callbacks take and return plain integers (tids, why codes, ns), so a
crossing allocates nothing beyond what the user's hook does.

A callback never lets an exception escape into C: a hook that raises is
recorded on the kernel's :class:`HostPolicy` and answered with
``PK_HP_RAISED``; an answer of the wrong type or range is recorded and
answered with ``PK_HP_BAD``. C then marks the kernel broken
(``PK_ERR_POLICY``), calls no more hooks, and ``Kernel.run`` raises
:class:`~pykernel.errors.PolicyError` built by :meth:`HostPolicy.error`.
"""

from __future__ import annotations

import copy
import itertools
import operator
import weakref

from ._ffi import FOREVER, MAX_TIME, ffi, lib
from .errors import PolicyError

NONE, RAISED, BAD = lib.PK_HP_NONE, lib.PK_HP_RAISED, lib.PK_HP_BAD
MAX_TID = 0xFFFFFFFF

# why a thread is enqueued / dequeued (PK_ENQ_* in csrc/sched/pk_sched.h)
WHY = ("new", "wake", "preempt", "slice", "yield", "migrate", "change", "kill")

REQUIRED = ("enqueue", "dequeue", "pick_next")
OPTIONAL = {"tick": lib.PK_HOOK_TICK, "wakeup_preempt": lib.PK_HOOK_WAKEUP_PREEMPT,
            "charge": lib.PK_HOOK_CHARGE, "steal": lib.PK_HOOK_STEAL,
            "changed": lib.PK_HOOK_CHANGED}
HOOK_NAMES = {lib.PK_HOOK_ENQUEUE: "enqueue", lib.PK_HOOK_DEQUEUE: "dequeue",
              lib.PK_HOOK_PICK: "pick_next", lib.PK_HOOK_SLICE: "slice",
              **{v: k for k, v in OPTIONAL.items()}}

_QUEUES: dict = {}                  # hid -> _Queue
_BLOCKS = itertools.count(1)        # hid blocks of PK_MAX_CPUS, never reused
_ORPHAN: list = [None]              # an exception raised outside any hook


class _Queue:
    """The hooks of the policy object serving one run queue."""

    __slots__ = ("host", "enqueue", "dequeue", "pick_next", "slice", "tick",
                 "wakeup_preempt", "charge", "steal", "changed")

    def __init__(self, host: "HostPolicy", obj):
        self.host = host
        for name in self.__slots__[1:]:
            setattr(self, name, getattr(obj, name, None))


def _name(obj) -> str:
    return type(obj).__name__


def _slice_setting(policy) -> tuple[bool, int]:
    """(has a slice hook, constant slice in ns or FOREVER)."""
    s = getattr(policy, "slice", None)
    if s is None:
        return False, FOREVER
    if callable(s):
        return True, FOREVER
    if isinstance(s, bool) or not isinstance(s, int):
        raise TypeError(f"{_name(policy)}.slice must be a method slice(tid) -> ns, an int "
                        f"(the same slice for every thread) or None, not {type(s).__name__}")
    if not 1 <= s <= MAX_TIME:
        raise ValueError(f"{_name(policy)}.slice must be between 1 and {MAX_TIME} ns, got {s}")
    return False, s


class HostPolicy:
    """The Python side of one kernel's policy written in Python: the
    objects serving its run queues, their host ids, and the first failure.

    With ``nrqs`` > 1 (per-CPU run queues) the object given serves run
    queue 0 and deep copies of it, made now, serve the others."""

    def __init__(self, policy, nrqs: int):
        cls = _name(policy)
        for hook in REQUIRED:
            if not callable(getattr(policy, hook, None)):
                raise TypeError(f"{cls} is a policy written in Python (it defines pick_next) and "
                                f"must define {hook}(); see pk.sched.Policy")
        for hook in OPTIONAL:
            value = getattr(policy, hook, None)
            if value is not None and not callable(value):
                raise TypeError(f"{cls}.{hook} must be a method, not {type(value).__name__}")
        if "_pk_runqueue" in vars(policy):
            raise ValueError(f"this {cls} object already serves a kernel (its queues hold that "
                             f"kernel's threads); create a new {cls} for each kernel")
        self.slice_hook, self.slice = _slice_setting(policy)
        self.hooks = sum(1 << bit for hook, bit in OPTIONAL.items()
                         if getattr(policy, hook, None) is not None)
        if self.slice_hook:
            self.hooks |= 1 << lib.PK_HOOK_SLICE
        try:
            self.objects = [policy] + [copy.deepcopy(policy) for _ in range(nrqs - 1)]
        except Exception as exc:
            raise TypeError(f"per-CPU run queues need one {cls} per queue, made with "
                            f"copy.deepcopy, which failed ({exc}); use runqueues=\"shared\" or "
                            f"make the object copyable") from exc
        self.base = next(_BLOCKS) * lib.PK_MAX_CPUS
        self.failure = None          # (hook name, exception or None, value) from a callback
        self.reported = None         # the PolicyError raised for it

    def params(self) -> list:
        """pk_config.params for PK_POLICY_HOST (PK_HOST_PARAMS in pk_api.h)."""
        return [self.base, self.hooks, self.slice]

    def bind(self, kernel) -> None:
        """Start serving `kernel`: its callbacks now reach these objects."""
        ref = weakref.ref(kernel)
        hids = []
        for i, obj in enumerate(self.objects):
            vars(obj)["_pk_kernel"] = ref
            vars(obj)["_pk_runqueue"] = i
            vars(obj)["_pk_info"] = (kernel._kp, ffi.new("pk_thread_info *"))
            _QUEUES[self.base + i] = _Queue(self, obj)
            hids.append(self.base + i)
        weakref.finalize(kernel, _unbind, hids)

    # ---- failures -------------------------------------------------------

    def raised(self, hook: str, exc: BaseException) -> int:
        if self.failure is None:
            self.failure = (hook, exc, None)
        return RAISED

    def bad(self, hook: str, value) -> int:
        if self.failure is None:
            self.failure = (hook, None, value)
        return BAD

    def tid_answer(self, hook: str, r) -> int:
        """pick_next / steal answered something other than an int or None."""
        if not isinstance(r, bool):
            try:
                tid = operator.index(r)
            except TypeError:
                pass
            else:
                if 0 <= tid <= MAX_TID:
                    return tid
        return self.bad(hook, r)

    def ns_answer(self, hook: str, r) -> int:
        if not isinstance(r, bool):
            try:
                ns = operator.index(r)
            except TypeError:
                pass
            else:
                if 0 <= ns <= MAX_TIME:
                    return ns
        return self.bad(hook, r)

    def error(self, kp) -> BaseException:
        """The exception for the kernel's policy failure (the first one;
        later calls say that it happened earlier)."""
        if self.reported is not None:
            again = PolicyError(f"{self.reported} (earlier: the kernel cannot run any more)")
            again.hook, again.runqueue, again.value = (
                self.reported.hook, self.reported.runqueue, self.reported.value)
            return again
        f = ffi.new("pk_policy_failure *")
        lib.pk_host_policy_failure(kp, f)
        hook = HOOK_NAMES.get(f.hook, "a hook")
        exc = value = None
        if self.failure is not None:       # recorded by the callback that failed
            hook, exc, value = self.failure
        elif f.reason != lib.PK_PF_RAISED:
            value = f.value
        if exc is None and f.reason == lib.PK_PF_RAISED:
            exc = _ORPHAN[0]
        err = PolicyError(self._message(f, hook, exc, value, kp))
        err.hook, err.runqueue, err.value = hook, f.rq, value
        err.__cause__ = exc
        self.reported = err
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            return exc               # Ctrl-C inside a hook: say so, not "policy error"
        return err

    def _message(self, f, hook, exc, value, kp) -> str:
        from .process import THREAD_STATES
        where = f"{_name(self.objects[0])}.{hook}"
        if len(self.objects) > 1:
            where += f" (run queue {f.rq})"
        reason = f.reason
        if reason == lib.PK_PF_RAISED:
            what = "nothing" if exc is None else f"{type(exc).__name__}: {exc}"
            return f"{where} raised {what}"
        if reason == lib.PK_PF_BAD_VALUE:
            if hook in ("pick_next", "steal"):
                return (f"{where} must return the tid (an int) of a thread queued in its run "
                        f"queue, or None; it returned {value!r}")
            if hook == "slice":
                return (f"{where} must return a slice in ns (an int from 1 to {MAX_TIME}) or "
                        f"None for no limit; it returned {value!r}")
            return f"{where} returned {value!r}, which the kernel refused"
        if reason == lib.PK_PF_NONE:
            return (f"{where} returned None while {f.queued} of its threads are queued; "
                    f"pick_next is called only when a thread is queued and must return one")
        tid = f.value
        head = f"{where} returned tid {tid}"
        if reason == lib.PK_PF_NO_THREAD:
            n = _thread_count(kp)
            return (f"{head}, but there is no such thread (the kernel has {n} "
                    f"thread{'' if n == 1 else 's'})")
        if reason == lib.PK_PF_NOT_READY:
            state = THREAD_STATES.get(f.state, str(f.state))
            if state == "new":
                state = "new (it has not arrived yet)"
            return f"{head}, which is not queued: it is {state}"
        if reason == lib.PK_PF_REALTIME:
            return f"{head}, which is queued in the real-time class, not in this policy"
        if reason == lib.PK_PF_OTHER_RQ:
            return f"{head}, which is queued in run queue {f.thread_rq}, not in run queue {f.rq}"
        if reason == lib.PK_PF_NOT_QUEUED:
            return f"{head}, which is ready but not queued in this policy"
        if reason == lib.PK_PF_NOT_ALLOWED:
            return f"{head}, whose affinity excludes the CPU that steals it"
        return f"{head}, which the kernel refused (reason {reason})"


def _thread_count(kp) -> int:
    s = ffi.new("pk_kernel_stats *")
    lib.pk_kernel_stats_get(kp, s)
    return s.threads


def _unbind(hids) -> None:
    for hid in hids:
        _QUEUES.pop(hid, None)


def _orphan(exc_type, exc, tb):
    """A callback raised outside its hook (e.g. an unknown hid)."""
    _ORPHAN[0] = exc
    return None                      # the callback then answers RAISED


# ---- the callbacks (csrc/sched/pk_sched_host.h) ----------------------------------

@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_enqueue(hid, tid, why):
    q = _QUEUES[hid]
    try:
        q.enqueue(tid, WHY[why])
    except BaseException as exc:
        return q.host.raised("enqueue", exc)
    return 0


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_dequeue(hid, tid, why):
    q = _QUEUES[hid]
    try:
        q.dequeue(tid, WHY[why])
    except BaseException as exc:
        return q.host.raised("dequeue", exc)
    return 0


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_pick(hid):
    q = _QUEUES[hid]
    try:
        r = q.pick_next()
    except BaseException as exc:
        return q.host.raised("pick_next", exc)
    if type(r) is int and 0 <= r <= MAX_TID:
        return r
    if r is None:
        return NONE
    return q.host.tid_answer("pick_next", r)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_enqueue_pick(hid, tid, why):
    """enqueue(tid, why) then pick_next(), in one crossing (the dispatcher
    picks right after putting back a thread whose slice ended, that was
    preempted or that yielded)."""
    q = _QUEUES[hid]
    try:
        q.enqueue(tid, WHY[why])
    except BaseException as exc:
        return q.host.raised("enqueue", exc)
    try:
        r = q.pick_next()
    except BaseException as exc:
        return q.host.raised("pick_next", exc)
    if type(r) is int and 0 <= r <= MAX_TID:
        return r
    if r is None:
        return NONE
    return q.host.tid_answer("pick_next", r)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_slice(hid, tid):
    q = _QUEUES[hid]
    try:
        r = q.slice(tid)
    except BaseException as exc:
        return q.host.raised("slice", exc)
    if type(r) is int and 0 <= r <= MAX_TIME:
        return r
    if r is None:
        return NONE
    return q.host.ns_answer("slice", r)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_tick(hid, tid):
    q = _QUEUES[hid]
    try:
        return 1 if q.tick(tid) else 0
    except BaseException as exc:
        return q.host.raised("tick", exc)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_wakeup_preempt(hid, curr, tid):
    q = _QUEUES[hid]
    try:
        return 1 if q.wakeup_preempt(curr, tid) else 0
    except BaseException as exc:
        return q.host.raised("wakeup_preempt", exc)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_charge(hid, tid, ran):
    q = _QUEUES[hid]
    try:
        q.charge(tid, ran)
    except BaseException as exc:
        return q.host.raised("charge", exc)
    return 0


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_steal(hid, cpu):
    q = _QUEUES[hid]
    try:
        r = q.steal(cpu)
    except BaseException as exc:
        return q.host.raised("steal", exc)
    if type(r) is int and 0 <= r <= MAX_TID:
        return r
    if r is None:
        return NONE
    return q.host.tid_answer("steal", r)


@ffi.def_extern(error=RAISED, onerror=_orphan)
def pk_hp_changed(hid, tid):
    q = _QUEUES[hid]
    try:
        q.changed(tid)
    except BaseException as exc:
        return q.host.raised("changed", exc)
    return 0
