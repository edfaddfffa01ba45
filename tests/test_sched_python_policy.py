"""Policies written in Python (pk.sched.Policy subclasses with pick_next).

The kernel calls their hooks from C through the run-queue interface
(csrc/sched/pk_sched_host.c). Rules tested here:
- a round robin written in Python with the rules of the built-in
  RoundRobin (csrc/sched/pk_sched_list.c: FIFO queue, an expired thread goes to
  the tail, steal from the tail) produces the same run, event for event
  (same ``k.digest()``), with the same statistics;
- hooks are called with the documented ``why`` and the documented
  defaults for hooks that are not defined;
- a hook that raises, or answers a tid that is not queued in its run queue
  (or anything else the kernel refuses), stops the run with
  pk.PolicyError; the kernel cannot run any more but stays readable.
Expected numbers come from the built-in policies on the same workload and,
where cited, from Silberschatz, 10th ed., section 5.3 (docs/references.md [SGG10]).
"""

from __future__ import annotations

import collections
import gc
import heapq
import itertools
import weakref

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound


# ---- policies written in Python used below ------------------------------

class PyFIFO(pk.sched.Policy):
    """First come, first served (no slice)."""

    def __init__(self):
        self.queue = collections.deque()

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()


class PyRR(PyFIFO):
    """Round robin with the built-in RoundRobin's rules: slice = quantum
    (a plain int: no call per dispatch), the default tick (an expired
    thread yields), and steal from the tail of the queue."""

    def __init__(self, quantum):
        super().__init__()
        self.slice = quantum

    def steal(self, cpu):
        for tid in reversed(self.queue):
            if cpu in self.thread(tid).affinity:
                self.queue.remove(tid)
                return tid
        return None


class PyRRSliceHook(PyFIFO):
    """The same round robin with slice as a method."""

    def __init__(self, quantum):
        super().__init__()
        self.quantum = quantum

    def slice(self, tid):
        return self.quantum


class PyPriority(pk.sched.Policy):
    """Static priorities, lowest number first, FIFO among equals (the
    built-in Priority's rules); preemptive if asked."""

    def __init__(self, preemptive=False):
        self.heap, self.seq, self.preemptive = [], itertools.count(), preemptive

    def enqueue(self, tid, why):
        heapq.heappush(self.heap, (self.info(tid).priority, next(self.seq), tid))

    def dequeue(self, tid, why):
        self.heap = [e for e in self.heap if e[2] != tid]
        heapq.heapify(self.heap)

    def pick_next(self):
        return heapq.heappop(self.heap)[2]

    def wakeup_preempt(self, curr, tid):
        return self.preemptive and self.info(tid).priority < self.info(curr).priority


class PySJF(PyPriority):
    """Shortest declared burst first (the built-in SJF's rule)."""

    needs_burst = True

    def enqueue(self, tid, why):
        heapq.heappush(self.heap, (self.info(tid).burst, next(self.seq), tid))


class Recorder(PyFIFO):
    """FIFO with a 4 ns slice that records every hook call."""

    def __init__(self):
        super().__init__()
        self.log = []

    def enqueue(self, tid, why):
        self.log.append(("enqueue", tid, why))
        super().enqueue(tid, why)

    def dequeue(self, tid, why):
        self.log.append(("dequeue", tid, why))
        super().dequeue(tid, why)

    def pick_next(self):
        tid = super().pick_next()
        self.log.append(("pick_next", tid))
        return tid

    def slice(self, tid):
        self.log.append(("slice", tid))
        return 4

    def tick(self, tid):
        self.log.append(("tick", tid))
        return True

    def changed(self, tid):
        self.log.append(("changed", tid))


# ---- workloads -------------------------------------------------------------

def run(policy, spawn, cpus=1, costs=None, **kw):
    k = pk.Kernel(cpus=cpus, scheduler=policy,
                  costs=pk.Costs.zero() if costs is None else costs, **kw)
    spawn(k)
    r = k.run()
    assert r.reason == "idle"
    return k, k.digest(), k.processes.table()


def same_run(builtin, python, spawn, **kw):
    """The built-in and the Python policy give the same run."""
    kb, db, tb = run(builtin, spawn, **kw)
    kp, dp, tp = run(python, spawn, **kw)
    assert dp == db
    assert tp == tb
    assert kp.now == kb.now and kp.stats.context_switches == kb.stats.context_switches
    assert_time_conserved(kp)
    return kp, tp


def textbook(k):
    for burst in (24, 3, 3):
        k.spawn(cpu_bound(burst))


def io_mix(k):
    io = pk.Program.script("io", [pk.op.loop(3, [pk.op.compute(5), pk.op.io(7)]), pk.op.compute(3)])
    polite = pk.Program.script("polite", [pk.op.loop(4, [pk.op.compute(3), pk.op.yield_()])])
    k.spawn(cpu_bound(40))
    k.spawn_many(io, 3)
    k.spawn(polite)
    k.spawn(pk.Program.script("sleeper", [pk.op.sleep(9), pk.op.compute(11)]))


def staggered(k):
    for burst, at in ((8, 0), (4, 1), (9, 2), (5, 3), (6, 17)):
        k.spawn(cpu_bound(burst), at=at)


def pinned_pairs(k):
    for cpu in (0, 0, 0, 0, 0, 1):
        k.spawn(cpu_bound(30), cpu=cpu)
    k.spawn(pk.Program.script("io", [pk.op.loop(2, [pk.op.compute(4), pk.op.io(6)])]), cpu=1)


# ---- same schedule as the built-in policies ---------------------------------

def test_python_round_robin_gives_the_textbook_waits():
    # RR quantum 4, bursts 24, 3, 3: waits 6, 4, 7 (Silberschatz 10th ed. 5.3.3)
    _, table = same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), textbook)
    assert table["wait_ns"] == [6, 4, 7]


@pytest.mark.parametrize("workload", [textbook, io_mix, staggered],
                         ids=["cpu-bound", "io-yield-sleep", "arrivals"])
def test_python_round_robin_matches_builtin(workload):
    same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), workload)


def test_python_round_robin_with_slice_hook_matches_builtin():
    same_run(pk.sched.RoundRobin(quantum=3), PyRRSliceHook(3), io_mix)


def test_python_round_robin_matches_builtin_on_two_cpus_sharing_a_queue():
    same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), io_mix, cpus=2, runqueues="shared")


def test_python_round_robin_matches_builtin_with_switch_costs():
    same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), io_mix,
             costs=pk.Costs(switch=2, migrate=1), cpus=2)


def test_python_round_robin_matches_builtin_with_per_cpu_queues_and_stealing():
    # six pinned to CPU 0's queue at spawn, two on CPU 1; CPU 1 steals from
    # CPU 0's tail when idle, and the balancer every 10 ns
    kp, table = same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), pinned_pairs, cpus=2,
                         runqueues="per-cpu", balance_interval=10)
    assert kp.stats.migrations > 0


def test_python_round_robin_matches_builtin_with_python_thread_bodies():
    def body(ctx, n):
        for _ in range(n):
            yield ctx.compute(5)
            yield ctx.io(3)

    def spawn(k):
        prog = pk.Program.python("body", body)
        for n in (1, 2, 3):
            k.spawn(prog, args=(n,))
        k.spawn(cpu_bound(20))

    same_run(pk.sched.RoundRobin(quantum=4), PyRR(4), spawn)


def test_python_fifo_gives_the_textbook_waits():
    # FCFS, bursts 24, 3, 3: waits 0, 24, 27 (Silberschatz 10th ed. 5.3.1)
    _, table = same_run(pk.sched.FIFO(), PyFIFO(), textbook)
    assert table["wait_ns"] == [0, 24, 27]


def test_python_priority_gives_the_textbook_average_wait():
    # non-preemptive priority, bursts/priorities 10/3, 1/1, 2/4, 1/5, 5/2:
    # average wait 8.2 (Silberschatz 10th ed. 5.3.4)
    def spawn(k):
        for burst, prio in ((10, 3), (1, 1), (2, 4), (1, 5), (5, 2)):
            k.spawn(cpu_bound(burst), priority=prio)

    _, table = same_run(pk.sched.Priority(), PyPriority(), spawn, runqueues="shared")
    assert sum(table["wait_ns"]) / 5 == 8.2


def test_python_preemptive_priority_matches_builtin():
    def spawn(k):
        for burst, prio, at in ((10, 3, 0), (4, 1, 2), (6, 2, 3), (2, 0, 5)):
            k.spawn(cpu_bound(burst), priority=prio, at=at)

    _, table = same_run(pk.sched.Priority(preemptive=True), PyPriority(preemptive=True), spawn,
                        runqueues="shared")
    # priority 1 preempts 3 at 2; priority 0 preempts 1 at 5 and runs 5..7;
    # 1 finishes 7..8; only then does priority 2 (ready since 3) first run
    assert table["first_run_ns"] == [0, 2, 8, 5]


def test_python_preemptive_priority_takes_the_weakest_cpu_like_builtin():
    # 2 CPUs sharing a queue run priorities 3 and 5; priority 1 arrives at 4
    # and takes the CPU of the weaker (5), which the dispatcher finds by
    # asking wakeup_preempt about the two running threads (csrc/core/pk_dispatch.c)
    def spawn(k):
        k.spawn(cpu_bound(10), priority=3)
        k.spawn(cpu_bound(10), priority=5)
        k.spawn(cpu_bound(3), priority=1, at=4)

    _, table = same_run(pk.sched.Priority(preemptive=True), PyPriority(preemptive=True), spawn,
                        cpus=2, runqueues="shared")
    assert table["finish_ns"] == [10, 13, 7]


def test_python_sjf_gives_the_textbook_average_wait():
    # SJF, bursts 6, 8, 7, 3: average wait 7 (Silberschatz 10th ed. 5.3.2)
    def spawn(k):
        for burst in (6, 8, 7, 3):
            k.spawn(cpu_bound(burst))

    _, table = same_run(pk.sched.SJF(), PySJF(), spawn)
    assert sum(table["wait_ns"]) / 4 == 7


def test_real_time_threads_run_before_a_python_policy_and_it_never_sees_them():
    rec = Recorder()
    k = pk.Kernel(scheduler=rec, costs=pk.Costs.zero())
    a = k.spawn(cpu_bound(10))
    rt = k.spawn(cpu_bound(5), policy="fifo", rt_priority=10, at=1)
    k.run()
    assert rt.stats.first_run == 1 and rt.stats.finish == 6     # man 7 sched: RT first
    assert a.stats.finish == 15
    rt_tid = rt.threads[0].tid
    assert all(entry[1] != rt_tid for entry in rec.log)


# ---- hooks and their arguments ----------------------------------------------

def test_hook_calls_for_the_textbook_round_robin():
    # the dispatcher (csrc/core/pk_dispatch.c): tids 0, 1, 2 arrive at 0; slice 4;
    # tick() when a slice ends, enqueue(slice) + pick_next() if it yields;
    # a thread alone keeps its CPU and gets a new slice
    rec = Recorder()
    k = pk.Kernel(scheduler=rec, costs=pk.Costs.zero())
    textbook(k)
    k.run()
    assert rec.log == [
        ("enqueue", 0, "new"), ("enqueue", 1, "new"), ("enqueue", 2, "new"),
        ("pick_next", 0), ("slice", 0),                       # t=0
        ("tick", 0), ("enqueue", 0, "slice"), ("pick_next", 1), ("slice", 1),   # t=4
        ("pick_next", 2), ("slice", 2),                       # t=7: tid 1 exited
        ("pick_next", 0), ("slice", 0),                       # t=10
        ("tick", 0), ("slice", 0), ("tick", 0), ("slice", 0),  # t=14, 18
        ("tick", 0), ("slice", 0), ("tick", 0), ("slice", 0),  # t=22, 26; exits at 30
    ]


def test_enqueue_reasons_wake_and_yield():
    rec = Recorder()
    k = pk.Kernel(scheduler=rec, costs=pk.Costs.zero())
    # tid 0 blocks at once for 1 ns; tid 1 runs 0..1 and yields while 2 and
    # the woken 0 are ready (a yield with nothing ready keeps the CPU)
    k.spawn(pk.Program.script("io", [pk.op.io(1), pk.op.compute(1)]))
    k.spawn(pk.Program.script("yield", [pk.op.compute(1), pk.op.yield_(), pk.op.compute(1)]))
    k.spawn(cpu_bound(1))
    k.run()
    reasons = [(e[1], e[2]) for e in rec.log if e[0] == "enqueue"]
    assert reasons == [(0, "new"), (1, "new"), (2, "new"), (0, "wake"), (1, "yield")]


def test_preempted_thread_is_enqueued_with_preempt():
    pol = PyPriority(preemptive=True)
    seen = []
    enqueue = pol.enqueue
    pol.enqueue = lambda tid, why: (seen.append((tid, why)), enqueue(tid, why))
    k = pk.Kernel(scheduler=pol, costs=pk.Costs.zero())
    k.spawn(cpu_bound(10), priority=5)
    k.spawn(cpu_bound(2), priority=1, at=3)
    k.run()
    assert seen == [(0, "new"), (1, "new"), (0, "preempt")]


def test_kill_of_a_queued_thread_dequeues_it_with_kill():
    rec = Recorder()
    k = pk.Kernel(scheduler=rec, costs=pk.Costs.zero())
    k.spawn(cpu_bound(10))
    victim = k.spawn(cpu_bound(10))
    k.run(until=1)
    victim.kill()
    assert rec.log[-1] == ("dequeue", 1, "kill")
    assert list(rec.queue) == []


def test_a_change_of_nice_dequeues_calls_changed_and_enqueues():
    # csrc/core/pk_control.c: a queued thread is taken out, changed, put back
    rec = Recorder()
    k = pk.Kernel(scheduler=rec, costs=pk.Costs.zero())
    k.spawn(cpu_bound(10))
    p = k.spawn(cpu_bound(10))
    k.run(until=1)
    del rec.log[:]
    p.set_nice(5)
    assert rec.log == [("dequeue", 1, "change"), ("changed", 1), ("enqueue", 1, "change")]
    assert rec.thread(1).nice == 5


def test_migrations_between_per_cpu_queues_enqueue_with_migrate():
    whys = collections.Counter()

    class Counting(PyRR):
        def enqueue(self, tid, why):
            whys[why] += 1
            super().enqueue(tid, why)

    k = pk.Kernel(cpus=2, scheduler=Counting(4), costs=pk.Costs.zero(), runqueues="per-cpu",
                  balance_interval=10)
    pinned_pairs(k)
    k.run()
    assert whys["migrate"] == k.stats.migrations > 0


def test_charge_reports_every_nanosecond_run():
    ran = collections.Counter()

    class Charging(PyRR):
        def charge(self, tid, ns):
            ran[tid] += ns

    k = pk.Kernel(scheduler=Charging(4), costs=pk.Costs.zero())
    io_mix(k)
    k.run()
    assert dict(ran) == {t.tid: t.stats.cpu_time for p in k.processes for t in p.threads}


def test_tick_false_keeps_the_thread_running():
    # a slice that never yields is FIFO: waits 0, 24, 27 (Silberschatz 10th ed. 5.3.1)
    class Stubborn(PyRR):
        def tick(self, tid):
            return False

    _, _, table = run(Stubborn(4), textbook)
    assert table["wait_ns"] == [0, 24, 27]


def test_without_a_slice_a_thread_runs_until_it_blocks():
    _, _, table = run(PyFIFO(), textbook)
    assert table["wait_ns"] == [0, 24, 27]


def test_hooks_can_read_the_kernel():
    seen = []

    class Reader(PyFIFO):
        def enqueue(self, tid, why):
            t = self.thread(tid)
            seen.append((self.kernel.now, tid, t.state, self.info(tid).nice, self.runqueue))
            super().enqueue(tid, why)

    k = pk.Kernel(scheduler=Reader(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(3), nice=2)
    k.spawn(cpu_bound(3), at=5, nice=-1)
    k.run()
    assert seen == [(0, 0, "ready", 2, 0), (5, 1, "ready", -1, 0)]


def test_hooks_cannot_change_the_kernel():
    refused = []

    class Meddler(PyFIFO):
        def enqueue(self, tid, why):
            for attempt in (lambda: self.kernel.spawn(cpu_bound(1)),
                            lambda: self.thread(tid).set_nice(3),
                            lambda: self.kernel.run()):
                try:
                    attempt()
                except pk.BadState as exc:
                    refused.append(str(exc))
            super().enqueue(tid, why)

    k = pk.Kernel(scheduler=Meddler(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(3))
    k.run()
    assert len(refused) == 3
    assert "cannot spawn from inside a hook of the scheduling policy" in refused[0]
    assert "cannot set nice from inside a hook" in refused[1]
    assert "already running" in refused[2]
    assert k.processes.table()["finish_ns"] == [3]


# ---- layout: one object per run queue ----------------------------------------

def test_shared_queue_is_served_by_the_object_given():
    pol = PyRR(4)
    k = pk.Kernel(cpus=2, scheduler=pol)
    assert k.runqueues == "shared"                   # Policy.per_cpu is False
    assert k.schedulers == (pol,)
    assert pol.kernel is k and pol.runqueue == 0


def test_per_cpu_queues_are_served_by_copies():
    pol = PyRR(4)
    k = pk.Kernel(cpus=3, scheduler=pol, runqueues="per-cpu")
    objs = k.schedulers
    assert objs[0] is pol and len(objs) == 3
    assert [o.runqueue for o in objs] == [0, 1, 2]
    assert all(type(o) is PyRR and o.kernel is k for o in objs)
    assert objs[1].queue is not pol.queue


def test_a_policy_object_serves_one_kernel():
    pol = PyRR(4)
    pk.Kernel(scheduler=pol)
    with pytest.raises(ValueError, match="already serves a kernel"):
        pk.Kernel(scheduler=pol)


def test_python_policies_compare_by_identity():
    assert PyRR(4) != PyRR(4)
    a = PyRR(4)
    assert a == a and len({a, PyRR(4)}) == 2


def test_builtin_policies_are_not_python_policies():
    from pykernel._ffi import lib

    class MyRoundRobin(pk.sched.RoundRobin):
        pass

    assert MyRoundRobin(quantum=4)._id == lib.PK_POLICY_RR
    assert PyRR(4)._id == lib.PK_POLICY_HOST
    assert pk.sched.FIFO().kernel is None


def test_policy_objects_are_let_go_when_the_kernel_is_collected():
    # the core holds the hooks while the kernel lives (pk_host_policy_attach)
    # and lets go of them when its Python side is collected
    k = pk.Kernel(scheduler=PyRR(4), cpus=2, runqueues="per-cpu")
    k.spawn_many(pk.Program.script("cpu", [pk.op.compute(10)]), 3)
    refs = [weakref.ref(obj) for obj in k.schedulers]
    del k
    gc.collect()
    assert [r() for r in refs] == [None, None]


# ---- bad policies: refused when the kernel is made ------------------------------

def test_missing_required_hook_is_a_type_error():
    class NoDequeue(pk.sched.Policy):
        def enqueue(self, tid, why):
            pass

        def pick_next(self):
            return None

    with pytest.raises(TypeError, match=r"must define dequeue\(\)"):
        pk.Kernel(scheduler=NoDequeue())


@pytest.mark.parametrize("value,exc,match", [
    (True, TypeError, "slice must be a method"),
    ("4", TypeError, "slice must be a method"),
    (0, ValueError, "slice must be between 1 and"),
])
def test_bad_constant_slice_is_refused(value, exc, match):
    pol = PyFIFO()
    pol.slice = value
    with pytest.raises(exc, match=match):
        pk.Kernel(scheduler=pol)


def test_optional_hook_that_is_not_callable_is_a_type_error():
    pol = PyFIFO()
    pol.tick = 5
    with pytest.raises(TypeError, match="tick must be a method, not int"):
        pk.Kernel(scheduler=pol)


# ---- hooks that fail stop the run ------------------------------------------------

class Boom(PyRRSliceHook):
    """Round robin whose hook `hook` raises ZeroDivisionError."""

    def __init__(self, hook):
        super().__init__(4)
        self.hook = hook

    def _maybe(self, name):
        if name == self.hook:
            raise ZeroDivisionError(f"boom in {name}")

    def enqueue(self, tid, why):
        self._maybe("enqueue")
        super().enqueue(tid, why)

    def pick_next(self):
        self._maybe("pick_next")
        return super().pick_next()

    def tick(self, tid):
        self._maybe("tick")
        return True

    def wakeup_preempt(self, curr, tid):
        self._maybe("wakeup_preempt")
        return False

    def charge(self, tid, ran):
        self._maybe("charge")

    def slice(self, tid):
        self._maybe("slice")
        return self.quantum


@pytest.mark.parametrize("hook", ["enqueue", "pick_next", "slice", "tick", "wakeup_preempt",
                                  "charge"])
def test_exception_in_a_hook_stops_the_run_with_policy_error(hook):
    k = pk.Kernel(scheduler=Boom(hook), costs=pk.Costs.zero())
    io_mix(k)
    with pytest.raises(pk.PolicyError, match=rf"Boom\.{hook} raised ZeroDivisionError: "
                                             rf"boom in {hook}") as info:
        k.run()
    err = info.value
    assert isinstance(err.__cause__, ZeroDivisionError)
    assert err.hook == hook and err.runqueue == 0 and err.value is None
    assert err.status == -90 and isinstance(err, pk.KernelError)


def test_after_a_policy_failure_the_kernel_is_readable_but_cannot_run():
    k = pk.Kernel(scheduler=Boom("tick"), costs=pk.Costs.zero())
    procs = [k.spawn(cpu_bound(b)) for b in (24, 3, 3)]
    with pytest.raises(pk.PolicyError):
        k.run()
    assert k.now == 4                                     # the first slice ended at 4
    assert [p.state for p in procs] == ["alive"] * 3
    assert procs[0].stats.cpu_time == 4
    assert_time_conserved(k)
    with pytest.raises(pk.PolicyError, match="earlier: the kernel cannot run any more"):
        k.run()
    with pytest.raises(pk.PolicyError, match="Boom.tick raised"):
        k.spawn(cpu_bound(1))


def test_exception_in_dequeue_during_a_kill_is_raised_by_the_kill():
    class BadDequeue(PyFIFO):
        def dequeue(self, tid, why):
            raise KeyError(tid)

    k = pk.Kernel(scheduler=BadDequeue(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(10))
    p = k.spawn(cpu_bound(10))
    k.run(until=1)
    with pytest.raises(pk.PolicyError, match="BadDequeue.dequeue raised KeyError: 1"):
        p.kill()
    assert p.state == "killed"                          # the kill itself happened
    with pytest.raises(pk.PolicyError):
        k.run()


def test_keyboard_interrupt_in_a_hook_is_raised_as_such():
    class Interrupted(PyFIFO):
        def pick_next(self):
            raise KeyboardInterrupt

    k = pk.Kernel(scheduler=Interrupted(), costs=pk.Costs.zero())
    k.spawn(cpu_bound(3))
    with pytest.raises(KeyboardInterrupt):
        k.run()
    with pytest.raises(pk.PolicyError, match="Interrupted.pick_next raised KeyboardInterrupt"):
        k.run()


# ---- pick_next answers the kernel refuses -------------------------------------------

class Liar(PyFIFO):
    """FIFO whose pick number `at` answers `lie` (on run queue 0)."""

    def __init__(self, at, lie):
        super().__init__()
        self.at, self.lie, self.picks = at, lie, 0

    def pick_next(self):
        tid = super().pick_next()
        self.picks += 1
        return self.lie if self.picks == self.at and self.runqueue == 0 else tid


def refused(policy, spawn, match, cpus=1, **kw):
    k = pk.Kernel(cpus=cpus, scheduler=policy, costs=pk.Costs.zero(), **kw)
    spawn(k)
    with pytest.raises(pk.PolicyError, match=match) as info:
        k.run()
    return k, info.value


def two(k):
    k.spawn(cpu_bound(2))
    k.spawn(cpu_bound(10))


def test_pick_next_returning_an_exited_thread_is_refused():
    # tid 0 ran 0..2 and exited; the next pick names it again
    _, err = refused(Liar(2, 0), two, r"Liar\.pick_next returned tid 0, which is not queued: "
                                      r"it is exited")
    assert err.hook == "pick_next" and err.value == 0


def test_pick_next_returning_the_running_thread_is_refused():
    def spawn(k):
        k.spawn(cpu_bound(10))
        k.spawn(cpu_bound(10))

    refused(Liar(2, 0), spawn, "returned tid 0, which is not queued: it is running", cpus=2)


def test_pick_next_returning_a_blocked_thread_is_refused():
    def spawn(k):
        k.spawn(pk.Program.script("io", [pk.op.io(5), pk.op.compute(1)]))
        k.spawn(cpu_bound(10))

    refused(Liar(2, 0), spawn, "returned tid 0, which is not queued: it is blocked")


def test_pick_next_returning_a_thread_not_arrived_yet_is_refused():
    def spawn(k):
        k.spawn(cpu_bound(5))
        k.spawn(cpu_bound(5))
        k.spawn(cpu_bound(5), at=100)

    refused(Liar(2, 2), spawn, r"returned tid 2, which is not queued: it is new \(it has not "
                               r"arrived yet\)")


def test_pick_next_returning_a_tid_out_of_range_is_refused():
    _, err = refused(Liar(1, 10**6), two, r"returned tid 1000000, but there is no such thread "
                                          r"\(the kernel has 2 threads\)")
    assert err.value == 10**6


@pytest.mark.parametrize("lie", [-1, 2**32, 2**70, "abc", 1.5, True, (0,)],
                         ids=["negative", "2**32", "2**70", "str", "float", "bool", "tuple"])
def test_pick_next_returning_a_non_tid_is_refused(lie):
    _, err = refused(Liar(1, lie), two, r"must return the tid \(an int\) of a thread queued in "
                                        r"its run queue, or None; it returned ")
    assert err.value == lie and err.__cause__ is None


def test_pick_next_returning_none_with_threads_queued_is_refused():
    refused(Liar(1, None), two, "returned None while 2 of its threads are queued")


def test_pick_next_returning_a_thread_of_another_run_queue_is_refused():
    # per-CPU queues: tids 0, 1 on CPU 0's, 2, 3 on CPU 1's; at 10 CPU 0 picks
    # first (CPUs are served in id order) and names tid 3, still queued on CPU 1
    def spawn(k):
        for cpu in (0, 0, 1, 1):
            k.spawn(cpu_bound(10), cpu=cpu)

    k, err = refused(Liar(2, 3), spawn, r"Liar\.pick_next \(run queue 0\) returned tid 3, which "
                                        r"is queued in run queue 1, not in run queue 0",
                     cpus=2, runqueues="per-cpu")
    assert err.runqueue == 0
    assert k.now == 10


def test_pick_next_returning_a_queued_real_time_thread_is_refused():
    # the real-time class is throttled to 5 ns per 10: at 5 its thread goes
    # back to its queue and the fair class picks (csrc/sched/pk_sched_rt.c)
    def spawn(k):
        k.spawn(cpu_bound(20))
        k.spawn(cpu_bound(20), policy="fifo", rt_priority=1)

    refused(Liar(1, 1), spawn, "returned tid 1, which is queued in the real-time class",
            rt_throttle=(5, 10))


def test_steal_returning_a_thread_that_may_not_run_there_is_refused():
    class CarelessSteal(PyFIFO):
        def steal(self, cpu):
            return self.queue.pop() if self.queue else None

    def spawn(k):
        k.spawn(cpu_bound(100), cpu=0, affinity={0})
        k.spawn(cpu_bound(100), cpu=0, affinity={0})

    _, err = refused(CarelessSteal(), spawn, r"CarelessSteal\.steal \(run queue 0\) returned "
                                             r"tid 1, whose affinity excludes the CPU",
                     cpus=2, runqueues="per-cpu", balance_interval=5)
    assert err.hook == "steal"


@pytest.mark.parametrize("answer", [0, -3, 2**62, "5", 2.0])
def test_slice_out_of_range_or_of_the_wrong_type_is_refused(answer):
    class BadSlice(PyFIFO):
        def slice(self, tid):
            return answer

    _, err = refused(BadSlice(), textbook, r"BadSlice\.slice must return a slice in ns \(an "
                                           r"int from 1 to \d+\) or None")
    assert err.value == answer


def test_a_failed_run_leaves_nothing_queued_twice():
    # the C core keeps its own count: the threads it queued are still
    # ready, each once, and none was lost
    k, _ = refused(Liar(2, 0), two, "is exited")
    assert k.stats.ready == 1 and k.stats.live_threads == 1


# ---- determinism ---------------------------------------------------------------------

class PyLottery(PyFIFO):
    """Lottery on the kernel's random generator: tickets from spawn."""

    slice = 3

    def pick_next(self):
        tickets = [self.info(t).tickets for t in self.queue]
        draw = self.kernel.random()[0] % sum(tickets)
        for i, n in enumerate(tickets):
            if draw < n:
                tid = self.queue[i]
                del self.queue[i]
                return tid
            draw -= n


def lottery_run(seed):
    k = pk.Kernel(scheduler=PyLottery(), costs=pk.Costs.zero(), seed=seed)
    for tickets in (100, 200, 300, 400):
        k.spawn(cpu_bound(60), tickets=tickets)
    k.run()
    return k.digest(), k.processes.table()["finish_ns"]


def test_python_policy_runs_are_deterministic():
    assert lottery_run(7) == lottery_run(7)
    assert lottery_run(7)[0] != lottery_run(8)[0]
