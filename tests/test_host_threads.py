"""Host threads (docs/guide.md, "Host threads"; pykernel/_lock.py).

The rule: every public method of a kernel and of its views holds the
kernel's lock; a call from a second host thread waits for the first to be
done (it is never refused, never interleaved inside the core). A run holds
the lock but lets waiting threads in between two slices of simulation.
Calls into the core release the GIL, so other Python threads progress
during a run and separate kernels run in parallel.
"""

import collections
import threading

import pytest

import pykernel as pk
import pykernel.run as pk_kernel   # the run loop: STEP_BUDGET
from conftest import make_kernel
from run_probe import poll_now_during_run

op = pk.op
CPU = pk.Program.script("cpu", [op.compute(10)])
IDLE = pk.Program.script("idle", [op.sleep(10**9)])
# one long run: 200 threads yielding to each other (2,000,000 switches)
SPINNERS = pk.Program.script("spin", [op.loop(10_000, [op.compute(1), op.yield_()])])


class PyFIFO(pk.sched.Policy):
    """First come, first served, written in Python."""

    def __init__(self):
        self.queue = collections.deque()

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()


def run_threads(n, target):
    """Start n host threads on target(i), join them, re-raise the first error."""
    errors = []

    def body(i):
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    if errors:
        raise errors[0]


def test_threads_hammering_one_kernel_each_get_their_own_results():
    k = make_kernel(pk.sched.RoundRobin(quantum=5))
    results = {}

    def work(i):
        mine = [k.spawn(pk.Program.script(f"w{i}", [op.compute(10 + i)]), name=f"T{i}-{j}")
                for j in range(20)]
        owner = k.spawn(IDLE, name=f"owner{i}")
        a, b = owner.channel_create()
        for j in range(50):
            a.write(bytes([i, j]))
        got = [b.read().data for _ in range(50)]
        with k.hold():                                  # runs interleave with others' calls
            k.run(until=k.now + 1000)
        results[i] = ([p.name for p in mine], got, len(owner.handles))

    run_threads(8, work)
    k.run(until=k.now + 10**6)
    for i in range(8):
        names, got, handles = results[i]
        assert names == [f"T{i}-{j}" for j in range(20)]
        assert got == [bytes([i, j]) for j in range(50)]
        assert handles == 2
    assert k.stats.processes == 8 * 21
    done = [p for p in k.processes if not p.name.startswith("owner")]
    assert all(p.state == "exited" for p in done)
    assert sorted(p.stats.cpu_time for p in done) == sorted(10 + i for i in range(8)
                                                            for _ in range(20))


def test_a_second_thread_waits_for_the_kernel_instead_of_failing():
    k = make_kernel()
    entered, release = threading.Event(), threading.Event()
    spawned = []

    def body(ctx):
        entered.set()
        release.wait(30)                   # the run (and its lock) is held here
        yield ctx.compute(5)

    k.spawn(pk.Program.python("holder", body))
    runner = threading.Thread(target=k.run)
    runner.start()
    assert entered.wait(30)
    other = threading.Thread(target=lambda: spawned.append(k.spawn(CPU, name="late")))
    other.start()
    other.join(0.2)
    assert spawned == []                   # still waiting: the run holds the kernel
    release.set()
    runner.join(30)
    other.join(30)
    assert [p.name for p in spawned] == ["late"]
    assert spawned[0].state == "new"       # spawned after the run had ended
    assert k.run().reason == "idle"


def test_a_long_run_in_c_lets_another_python_thread_progress():
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    k.spawn_many(SPINNERS, 200)
    counter = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            counter[0] += 1
    t = threading.Thread(target=count)
    t.start()
    try:
        before = counter[0]
        r = k.run()
        after = counter[0]
    finally:
        stop.set()
        t.join()
    assert r.reason == "idle" and r.switches >= 2_000_000
    assert after > before


def test_a_query_during_a_long_run_gets_in_between_slices(monkeypatch):
    monkeypatch.setattr(pk_kernel, "STEP_BUDGET", 10_000)
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    k.spawn_many(SPINNERS, 200)
    res, seen = poll_now_during_run(k)
    end = res.now
    assert any(0 < v < end for v in seen)
    assert seen == sorted(seen)


def test_hold_keeps_other_threads_out_even_between_slices_of_a_run(monkeypatch):
    monkeypatch.setattr(pk_kernel, "STEP_BUDGET", 10_000)
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    k.spawn_many(SPINNERS, 200)
    started, seen = threading.Event(), []

    def runner():
        with k.hold():
            started.set()
            k.run(until=1_000_000)
            k.run(until=1_500_000)
    t = threading.Thread(target=runner)
    t.start()
    started.wait(30)
    seen.append(k.now)                     # waits for the whole block, not a slice
    t.join()
    assert seen == [1_500_000]


def test_another_threads_run_waits_for_the_current_run_to_end(monkeypatch):
    monkeypatch.setattr(pk_kernel, "STEP_BUDGET", 10_000)
    k = make_kernel(pk.sched.RoundRobin(quantum=1))
    k.spawn_many(SPINNERS, 200)
    first, second = [], []
    t = threading.Thread(target=lambda: first.append(k.run(until=1_000_000)))
    t.start()
    while k.now == 0 and t.is_alive():     # let in between slices of the first run
        pass
    second.append(k.run(until=1_500_000))  # waits for the first run to end, then runs
    t.join(60)
    assert (first[0].start, first[0].now) == (0, 1_000_000)
    assert (second[0].start, second[0].now) == (1_000_000, 1_500_000)


def test_separate_kernels_run_in_parallel_and_stay_deterministic():
    def make():
        k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1), seed=7)
        k.spawn_many(SPINNERS, 100)
        return k
    ref = make()
    ref.run()
    kernels = [make(), make()]
    barrier = threading.Barrier(2)
    overlapped = [False, False]

    def work(i):
        k, other = kernels[i], kernels[1 - i]
        barrier.wait()
        step = ref.now // 40 + 1
        while k.run(until=k.now + step).reason == "until":
            overlapped[i] |= other._running        # the other is inside a run now
    run_threads(2, work)
    assert [k.digest() for k in kernels] == [ref.digest()] * 2
    assert overlapped == [True, True]


def test_an_exception_in_a_python_body_does_not_wedge_a_waiting_thread():
    k = make_kernel()
    entered, release = threading.Event(), threading.Event()

    def body(ctx):
        entered.set()
        release.wait(30)
        raise KeyboardInterrupt            # not a body error: it ends the run
        yield ctx.compute(1)

    k.spawn(pk.Program.python("boom", body))
    k.spawn(CPU)
    caught, spawned = [], []

    def runner():
        try:
            k.run()
        except KeyboardInterrupt:
            caught.append(True)
    t = threading.Thread(target=runner)
    t.start()
    assert entered.wait(30)
    other = threading.Thread(target=lambda: spawned.append(k.spawn(CPU)))
    other.start()
    release.set()
    t.join(30)
    other.join(30)
    assert caught == [True] and len(spawned) == 1
    assert k.run().reason == "idle"        # the kernel goes on after the interrupt


def test_a_failing_policy_hook_does_not_wedge_a_waiting_thread():
    class Failing(PyFIFO):
        def enqueue(self, tid, why):
            if self.kernel.now > 0:
                raise RuntimeError("hook failed")
            super().enqueue(tid, why)

    k = make_kernel(Failing())
    k.spawn_many(pk.Program.script("y", [op.compute(5), op.yield_(), op.compute(5)]), 2)
    errors, answers = [], []

    def runner():
        try:
            k.run()
        except pk.PolicyError as exc:
            errors.append(exc)
    t = threading.Thread(target=runner)
    t.start()
    other = threading.Thread(target=lambda: answers.append(k.stats.processes))
    other.start()
    t.join(30)
    other.join(30)
    assert len(errors) == 1 and answers == [2]
    assert k.stats.processes == 2          # the kernel's state stays readable


def test_a_policy_hook_may_still_read_the_kernel():
    reads = []

    class Reader(PyFIFO):
        def enqueue(self, tid, why):
            reads.append(self.kernel.stats.threads)
            super().enqueue(tid, why)

    k = make_kernel(Reader())
    k.spawn_many(CPU, 3)
    assert k.run().reason == "idle"
    assert reads == [3, 3, 3]


def test_ctrl_c_in_a_policy_hook_does_not_wedge_a_waiting_thread():
    entered, release = threading.Event(), threading.Event()

    class Interrupted(PyFIFO):
        def enqueue(self, tid, why):
            if tid == 1:
                entered.set()
                release.wait(30)
                raise KeyboardInterrupt
            super().enqueue(tid, why)

    k = make_kernel(Interrupted())
    k.spawn(CPU)
    k.spawn(CPU, at=5)
    caught, answers = [], []

    def runner():
        try:
            k.run()
        except KeyboardInterrupt:
            caught.append(True)
    t = threading.Thread(target=runner)
    t.start()
    assert entered.wait(30)
    other = threading.Thread(target=lambda: answers.append(k.stats.processes))
    other.start()
    release.set()
    t.join(30)
    other.join(30)
    assert caught == [True] and answers == [2]


@pytest.mark.parametrize("cls", [pk.Kernel, pk.ProcessGroup, pk.Process, pk.Thread,
                                 pk.AddressSpace, pk.SharedMemory, pk.Handle, pk.JobObject])
def test_every_public_method_of_a_kernel_or_view_holds_the_lock(cls):
    inline = {(pk.Handle, "duplicate"), (pk.Handle, "close")}   # lock taken in their body
    unlocked = []
    # the class's own methods and those of the parts it inherits (Kernel's mixins)
    own = [c for c in cls.__mro__ if c.__module__.startswith("pykernel.")]
    for name, value in [item for c in own for item in vars(c).items()]:
        if name.startswith("_") or (cls, name) in inline:
            continue
        fn = value.fget if isinstance(value, property) else value
        if callable(fn) and not isinstance(value, (type, staticmethod, classmethod)) \
                and not getattr(fn, "_pk_locked", False):
            unlocked.append(name)
    assert unlocked == []


def test_inline_locked_handle_operations_wait_for_another_thread():
    k = make_kernel()
    e = k.spawn(IDLE).event_create()
    entered, release = threading.Event(), threading.Event()
    done = []

    def body(ctx):
        entered.set()
        release.wait(30)
        yield ctx.compute(1)

    k.spawn(pk.Program.python("holder", body))
    runner = threading.Thread(target=lambda: k.run(until=10))
    runner.start()
    assert entered.wait(30)
    other = threading.Thread(target=lambda: done.append(e.duplicate().close()))
    other.start()
    other.join(0.2)
    assert done == []                      # waiting for the run to let go
    release.set()
    runner.join(30)
    other.join(30)
    assert done == [None] and len(e.process.handles) == 1
