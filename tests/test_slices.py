"""The slices of a run are bounded by host work, not by dispatcher steps
alone (docs/guide.md, "Why a run stops" and "Host threads"): a step that
calls a scheduling policy written in Python costs a thousand times more
host time than one in C, so each hook call counts 16 units
(PK_WORK_HOST in csrc/core/pk_api.h) against the slice's 2^19, and another host
thread gets the kernel's lock between slices. The same units count
towards livelock, within the 64 a thread may take at one instant.
(Machine code: tests/riscv/test_rv_slices.py.)"""

import collections
import threading

import pykernel as pk

op = pk.op


class PyRR(pk.sched.Policy):
    """Round robin written in Python: a deque of tids, a fixed slice."""

    slice = 1_000

    def __init__(self):
        self.queue = collections.deque()

    def enqueue(self, tid, why):
        self.queue.append(tid)

    def dequeue(self, tid, why):
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()


def test_a_second_thread_reads_the_clock_during_a_run_with_a_python_policy():
    # 10 threads, 1 us slices, 1 s simulated: 1,000,000 switches, each at
    # least two hook calls (enqueue and pick), so well over 32,000,000 units:
    # sixty slices or more; 1,000,000 steps alone would be two. (A run of a
    # few slices can end within the interpreter's switch interval, 5 ms,
    # before the reading thread gets in at all.)
    k = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("s", [op.loop(10**15, [op.compute(1_000)])]), 10)
    started, seen, result = threading.Event(), [], []

    def runner():
        started.set()
        result.append(k.run(until=1_000_000_000))
    t = threading.Thread(target=runner)
    t.start()
    started.wait(30)
    while t.is_alive():
        seen.append(k.now)               # waits for a slice boundary, never for the end
    t.join()
    assert result[0].reason == "until" and result[0].switches >= 1_000_000
    inside = {v for v in seen if 0 < v < 1_000_000_000}
    assert len(inside) >= 5
    assert seen == sorted(seen)


def test_many_threads_starting_at_one_instant_under_a_python_policy_are_not_a_livelock():
    # 2,000 threads arrive at 0, each costs an enqueue and a pick hook (32
    # units) and a few steps before it sleeps: within 64 per thread even
    # with a base budget of 1; then each computes 5 ns.
    k = pk.Kernel(scheduler=PyRR(), costs=pk.Costs.zero(), livelock_steps=1)
    k.spawn_many(pk.Program.script("s", [op.sleep(10), op.compute(5)]), 2_000)
    r = k.run()
    assert (r.reason, r.now) == ("idle", 10 + 2_000 * 5)


def test_a_budget_of_one_unit_still_makes_progress_and_the_same_run(monkeypatch):
    """Every call into the core takes at least one step, whatever the budget
    (pk_kernel_run), and where the run is cut does not change it."""
    import pykernel.run as kernel_module

    def body(ctx):
        for _ in range(50):
            yield ctx.compute(3)
            yield ctx.sleep(0)

    def make():
        k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=2), costs=pk.Costs.zero())
        k.spawn(pk.Program.python("py", body))
        k.spawn(pk.Program.script("s", [op.loop(40, [op.compute(0), op.compute(5)])]))
        return k

    whole = make()
    assert whole.run().reason == "idle"
    monkeypatch.setattr(kernel_module, "STEP_BUDGET", 1)
    cut = make()
    assert cut.run().reason == "idle"
    assert (cut.now, cut.digest()) == (whole.now, whole.digest())
    assert cut.now == 50 * 3 + 40 * 5        # one CPU, free switches: the sum of the computes
