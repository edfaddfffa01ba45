"""Policies written in Python: the objects whose hooks the C core calls.

The run-queue functions of csrc/sched/pk_sched_host.c call the hooks of
the policy object serving each run queue through csrc/py/pk_policy_upcall.c,
the C that calls into Python (with csrc/py/pk_upcall.c, which steps
generator bodies). :meth:`HostPolicy.bind` gives the core, through
``pk_host_policy_attach``, one tuple of bound hook methods per run queue
(None for an optional hook the object does not define) and a one-entry
list where the core leaves the first failure. The core passes tids, why
names and ns as Python ints and strs, and checks every answer itself.

A hook that raises is recorded there as (hook name, exception, None) and
answered ``PK_HP_RAISED``; an answer of the wrong type or range as
(hook name, None, answer) and answered ``PK_HP_BAD``. C then marks the
kernel broken (``PK_ERR_POLICY``), calls no more hooks, and ``Kernel.run``
raises :class:`~pykernel.errors.PolicyError` built by :meth:`HostPolicy.error`.
"""

from __future__ import annotations

import copy
import weakref

from ._ffi import FOREVER, MAX_TIME, ffi, lib
from .errors import PolicyError, check

REQUIRED = ("enqueue", "dequeue", "pick_next")
OPTIONAL = {"tick": lib.PK_HOOK_TICK, "wakeup_preempt": lib.PK_HOOK_WAKEUP_PREEMPT,
            "charge": lib.PK_HOOK_CHARGE, "steal": lib.PK_HOOK_STEAL,
            "changed": lib.PK_HOOK_CHANGED}
HOOK_NAMES = {lib.PK_HOOK_ENQUEUE: "enqueue", lib.PK_HOOK_DEQUEUE: "dequeue",
              lib.PK_HOOK_PICK: "pick_next", lib.PK_HOOK_SLICE: "slice",
              **{v: k for k, v in OPTIONAL.items()}}
# the hooks of one run queue as the core takes them: entry h - 1 is hook h
HOOK_ORDER = tuple(HOOK_NAMES[h] for h in range(1, lib.PK_HOOKS + 1))


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
    objects serving its run queues and the first failure.

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
        self._failure = [None]       # the core leaves (hook name, exception, answer) here
        self.reported = None         # the PolicyError raised for it

    @property
    def failure(self):
        """(hook name, exception or None, answer or None) of the first hook
        call that failed, as the core recorded it; None if none did."""
        return self._failure[0]

    def params(self) -> list:
        """pk_config.params for PK_POLICY_HOST (PK_HOST_PARAMS in pk_api.h)."""
        return [self.hooks, self.slice]

    def hook_table(self) -> list:
        """One tuple per run queue of its object's bound hook methods, in
        hook id order (HOOK_ORDER), None for the hooks it does not define
        (a slice given as an int is not a hook)."""
        return [tuple(None if name == "slice" and not self.slice_hook
                      else getattr(obj, name, None) for name in HOOK_ORDER)
                for obj in self.objects]

    def bind(self, kernel) -> None:
        """Start serving `kernel`: the core now calls these objects' hooks.
        They are detached from it when `kernel` is collected."""
        ref = weakref.ref(kernel)
        for i, obj in enumerate(self.objects):
            vars(obj)["_pk_kernel"] = ref
            vars(obj)["_pk_runqueue"] = i
            vars(obj)["_pk_info"] = (kernel._kp, ffi.new("pk_thread_info *"))
        hooks = self.hook_table()           # the core keeps a reference from here on
        check(lib.pk_host_policy_attach(kernel._kp, id(hooks), id(self._failure)),
              "attach the policy's hooks")
        weakref.finalize(kernel, _detach, kernel._kp)

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
        if self.failure is not None:       # recorded by the call that failed
            hook, exc, value = self.failure
        elif f.reason != lib.PK_PF_RAISED:
            value = f.value
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


def _detach(kp) -> None:
    """The kernel's Python side is gone: the core lets go of the hooks
    (and so of the policy objects), and calls none any more."""
    lib.pk_host_policy_attach(kp, 0, 0)
