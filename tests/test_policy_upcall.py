"""How the core calls the hooks of a policy written in Python
(csrc/py/pk_policy_upcall.c, attached by pk_host_policy_attach).

Rules tested here:
- a hook is called from entry points other than a run (a change of nice
  -> dequeue, enqueue, changed) and its failure is raised by that call;
- answers are taken as the documented rules say: an int tid or slice may
  be any object ``operator.index`` accepts (Python language reference,
  "object.__index__"), never a bool; an ``__index__`` or ``__bool__`` that
  raises is the hook raising; SystemExit inside a hook leaves as itself;
- the core holds the hooks only as long as the kernel: a collected kernel
  lets its policy objects go, and a new kernel with a policy runs as
  before; two kernels with policies written in Python, run in turns, one
  inside the other's hook, or in two host threads at once, each run as
  they would alone (the same ``k.digest()``);
- pk_host_policy_attach checks its arguments.
Expected runs are those of the built-in RoundRobin on the same workload,
whose rules (csrc/sched/pk_sched_list.c) the round robin below follows.
"""

from __future__ import annotations

import collections
import gc
import threading
import weakref

import pytest

import pykernel as pk
from pykernel._ffi import ffi, lib
from conftest import cpu_bound


class PyRR(pk.sched.Policy):
    """Round robin with the built-in RoundRobin's rules; slice an int."""

    def __init__(self, quantum=4):
        self.queue = collections.deque()
        self.slice = quantum

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()


def workload(k):
    for burst in (24, 3, 3, 17, 9):
        k.spawn(cpu_bound(burst))


def digest_of(policy, until=None):
    k = pk.Kernel(scheduler=policy, costs=pk.Costs.zero())
    workload(k)
    k.run(until=until)
    return k.digest()


BUILTIN = digest_of(pk.sched.RoundRobin(quantum=4))


# ---- hooks called outside a run --------------------------------------------

def test_enqueue_raising_during_a_change_of_nice_is_raised_by_set_nice():
    # a queued thread whose nice changes is dequeued and enqueued again
    # with "change" (docs/scheduling.md, the hooks)
    class NoReturn(PyRR):
        def enqueue(self, tid, why):
            if why == "change":
                raise OverflowError(f"no room for {tid}")
            super().enqueue(tid, why)

    k = pk.Kernel(scheduler=NoReturn(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(5))
    queued = k.spawn(cpu_bound(5))
    k.run(until=1)                               # tid 0 runs, tid 1 is queued
    with pytest.raises(pk.PolicyError, match=r"^NoReturn\.enqueue raised OverflowError: "
                                             r"no room for 1$") as info:
        queued.set_nice(3)
    assert isinstance(info.value.__cause__, OverflowError)
    assert info.value.hook == "enqueue"
    assert k.schedulers[0].thread(1).nice == 3   # the change itself happened
    with pytest.raises(pk.PolicyError, match="earlier: the kernel cannot run any more"):
        k.run()


def test_changed_raising_during_set_nice_is_raised_by_set_nice():
    class Fussy(PyRR):
        def changed(self, tid):
            raise RuntimeError(f"nice of {tid} changed")

    k = pk.Kernel(scheduler=Fussy(), costs=pk.Costs.zero())
    p = k.spawn(cpu_bound(5))
    k.run(until=1)                               # it runs
    with pytest.raises(pk.PolicyError, match=r"^Fussy\.changed raised RuntimeError: "
                                             r"nice of 0 changed$"):
        p.set_nice(3)
    assert k.schedulers[0].thread(0).nice == 3


# ---- answers ----------------------------------------------------------------

class Index:
    """An int-like object: operator.index(Index(3)) == 3."""

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


def test_int_like_answers_are_taken_as_ints():
    class IndexRR(PyRR):
        def pick_next(self):
            return Index(super().pick_next())

        def slice(self, tid):
            return Index(4)

    pol = IndexRR()
    del pol.slice                                # the method, not the int
    assert digest_of(pol) == BUILTIN


def test_an_index_method_that_raises_is_the_hook_raising():
    class Broken(Index):
        def __index__(self):
            raise ValueError("no index")

    class BadIndex(PyRR):
        def pick_next(self):
            super().pick_next()
            return Broken(0)

    k = pk.Kernel(scheduler=BadIndex(), costs=pk.Costs.zero())
    workload(k)
    with pytest.raises(pk.PolicyError, match=r"^BadIndex\.pick_next raised ValueError: "
                                             r"no index$") as info:
        k.run()
    assert isinstance(info.value.__cause__, ValueError) and info.value.value is None


def test_a_tick_answer_whose_truth_raises_is_the_hook_raising():
    class Undecided:
        def __bool__(self):
            raise TypeError("undecided")

    class Ticker(PyRR):
        def tick(self, tid):
            return Undecided()

    k = pk.Kernel(scheduler=Ticker(), costs=pk.Costs.zero())
    workload(k)
    with pytest.raises(pk.PolicyError, match=r"^Ticker\.tick raised TypeError: undecided$"):
        k.run()


def test_a_bool_slice_is_refused():
    class BoolSlice(PyRR):
        def slice(self, tid):
            return True

    pol = BoolSlice()
    del pol.slice
    k = pk.Kernel(scheduler=pol, costs=pk.Costs.zero())
    workload(k)
    with pytest.raises(pk.PolicyError, match=r"BoolSlice\.slice must return a slice in ns .* "
                                             r"it returned True$") as info:
        k.run()
    assert info.value.value is True


def test_system_exit_in_a_hook_leaves_as_itself():
    class Quitter(PyRR):
        def pick_next(self):
            raise SystemExit(3)

    k = pk.Kernel(scheduler=Quitter(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(3))
    with pytest.raises(SystemExit) as info:
        k.run()
    assert info.value.code == 3


# ---- lifetime, and several kernels ------------------------------------------------

def test_a_new_kernel_runs_as_before_after_one_was_collected():
    pol = PyRR()
    k = pk.Kernel(scheduler=pol, costs=pk.Costs.zero())
    workload(k)
    k.run(until=10)
    ref = weakref.ref(pol)
    del k, pol
    gc.collect()
    assert ref() is None
    assert digest_of(PyRR()) == BUILTIN


def test_a_policy_object_can_outlive_its_kernel():
    # the object holds the kernel's core (self.info); once the kernel is
    # collected the core calls none of its hooks
    pol = PyRR()
    k = pk.Kernel(scheduler=pol, costs=pk.Costs.zero())
    workload(k)
    k.run(until=10)
    del k
    gc.collect()
    assert pol.kernel is None
    assert digest_of(PyRR()) == BUILTIN


def test_two_kernels_run_in_turns_run_as_alone():
    a = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    b = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    workload(a)
    workload(b)
    for until in range(3, 45, 3):            # the five finish at 56
        a.run(until=until)
        b.run(until=until)
    a.run()
    b.run()
    assert a.digest() == b.digest() == BUILTIN


def test_a_hook_that_runs_another_kernel():
    inner = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    workload(inner)

    class Driver(PyRR):
        def pick_next(self):
            inner.run(until=inner.now + 2)       # a different kernel: allowed
            return super().pick_next()

    assert digest_of(Driver()) == BUILTIN
    inner.run()
    assert inner.digest() == BUILTIN


def test_two_host_threads_run_kernels_with_python_policies_at_once():
    digests, errors = [], []

    def run():
        try:
            for _ in range(20):
                digests.append(digest_of(PyRR()))
        except BaseException as exc:             # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert digests == [BUILTIN] * 40


# ---- pk_host_policy_attach ---------------------------------------------------------

def hooks_of(k):
    return k._host.hook_table(), [None]


def test_attach_refuses_a_kernel_whose_policy_is_not_written_in_python():
    k = pk.Kernel(scheduler=pk.sched.FIFO())
    table, failure = [(None,) * lib.PK_HOOKS], [None]
    assert lib.pk_host_policy_attach(k._kp, id(table), id(failure)) == lib.PK_ERR_NOT_SUPPORTED


@pytest.mark.parametrize("change", ["one entry too many", "a missing required hook",
                                    "an optional hook not configured", "a short tuple",
                                    "no failure list"])
def test_attach_refuses_hooks_that_do_not_match_the_configuration(change):
    k = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    table, failure = hooks_of(k)
    if change == "one entry too many":
        table.append(table[0])
    elif change == "a missing required hook":
        table[0] = (table[0][0], None) + table[0][2:]
    elif change == "an optional hook not configured":         # PyRR defines no tick
        table[0] = table[0][:4] + (table[0][0],) + table[0][5:]
    elif change == "a short tuple":
        table[0] = table[0][:3]
    else:
        failure = []
    assert lib.pk_host_policy_attach(k._kp, id(table), id(failure)) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_host_policy_attach(k._kp, id(table), 0) == lib.PK_ERR_INVALID_ARGS
    workload(k)                                  # still attached to its own hooks
    k.run()
    assert k.digest() == BUILTIN


def test_attach_is_refused_inside_a_hook():
    answers = []

    class Reattach(PyRR):
        def pick_next(self):
            if not answers:
                k = self.kernel
                answers.append(lib.pk_host_policy_attach(k._kp, *map(id, hooks_of(k))))
            return super().pick_next()

    assert digest_of(Reattach()) == BUILTIN
    assert answers == [lib.PK_ERR_BAD_STATE]


def test_a_kernel_whose_hooks_are_detached_fails_at_the_next_hook():
    k = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    assert lib.pk_host_policy_attach(k._kp, 0, 0) == lib.PK_OK
    k.spawn(cpu_bound(3))
    with pytest.raises(pk.PolicyError, match=r"^PyRR\.enqueue raised nothing$"):
        k.run()
    f = ffi.new("pk_policy_failure *")
    assert lib.pk_host_policy_failure(k._kp, f) == lib.PK_OK
    assert (f.hook, f.reason) == (lib.PK_HOOK_ENQUEUE, lib.PK_PF_RAISED)
