"""Zero-time progress: a run whose simulated time stands still stops with
reason "livelock" after a bounded amount of host work, and says which
thread repeats which operation (docs/guide.md, "Why a run stops";
csrc/core/pk_api.h, PK_WORK_HOST).

The budget is ``Kernel(livelock_steps=...)`` units of host work at one
instant, plus 64 per thread: one unit per dispatcher step, per instruction
a script runs at no simulated time, per machine-code instruction, and 16
per operation a Python body yields.
"""

import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

import pykernel as pk
from conftest import make_kernel

op = pk.op
FOREVER = 2**62 - 1            # the largest loop count pk.op.loop accepts (MAX_TIME)


def one(body, **kw) -> tuple[pk.Kernel, pk.Process]:
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1_000), **kw)
    return k, k.spawn(pk.Program.script("spin", body))


# ---- script threads: every kind of zero-time loop -----------------------------------

def test_an_empty_loop_stops_with_livelock_naming_the_loop():
    k, p = one([op.loop(FOREVER, [])])
    r = k.run(until=1_000)
    assert r.reason == "livelock"
    assert (r.livelock.tid, r.livelock.pid, r.livelock.program) == (0, 0, "spin")
    # compiled: LOOP (0), ENDLOOP (1); the ENDLOOP jumps back past the LOOP
    assert r.livelock.operation == f"loop({FOREVER}, []) (instruction 0)"
    assert p.state == "alive"


def test_a_loop_of_zero_length_computes_stops_with_livelock():
    k, p = one([op.loop(FOREVER, [op.compute(0)])])
    r = k.run(until=1_000)
    assert r.reason == "livelock"
    assert r.livelock.operation == "compute(0) (instruction 1)"


def test_nested_empty_loops_stop_with_livelock_naming_the_innermost():
    k, p = one([op.loop(FOREVER, [op.loop(FOREVER, [op.loop(FOREVER, [])])])])
    r = k.run(until=1_000)
    assert r.reason == "livelock"
    # LOOP 0, LOOP 1, LOOP 2, ENDLOOP 3, ENDLOOP 4, ENDLOOP 5: the inner one spins
    assert r.livelock.operation == f"loop({FOREVER}, []) (instruction 2)"


def test_a_spawn_thread_loop_failing_on_its_limit_stops_with_livelock():
    # max_threads = 4: three spawns succeed, every later one fails at once
    # (a failed spawn_thread goes on, pk_thread.c), so time never moves.
    k, p = one([op.loop(FOREVER, [op.spawn_thread([op.compute(10**12)])])],
               limits=pk.Limits(max_threads=4))
    r = k.run(until=1_000)
    assert r.reason == "livelock"
    assert r.livelock.tid == 0
    assert r.livelock.operation.startswith("spawn_thread(")
    assert k.stats.threads == 4


BASE = 0x4000_0000
PAGE = 4096


def test_a_loop_of_free_touch_ranges_stops_with_livelock():
    # With free costs every access of a resident page takes no time; one
    # touch_range of 131,072 accesses is host work all the same, counted
    # access by access (and cut into steps of 65,536, csrc/vm/pk_vm.c).
    k = pk.Kernel(memory=pk.Memory(frames=4096), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("t", [op.map(BASE, 32 * PAGE),
                                    op.loop(FOREVER, [op.touch_range(BASE, 32 * PAGE, stride=1)])]))
    r = k.run(until=1_000)
    assert r.reason == "livelock" and r.now == 0
    assert "touch_range(1073741824, 131072, 1, 'seq', 0.0)" in r.livelock.operation


def test_a_free_touch_range_longer_than_a_step_runs_to_its_end():
    # 131,072 accesses at time 0 (two steps of 65,536), 32 pages faulted
    # in; then compute(5)
    k = pk.Kernel(memory=pk.Memory(frames=4096), costs=pk.Costs.zero())
    p = k.spawn(pk.Program.script("t", [op.map(BASE, 32 * PAGE),
                                        op.touch_range(BASE, 32 * PAGE, stride=1),
                                        op.compute(5)]))
    assert k.run().reason == "idle"
    assert (p.stats.finish, p.stats.page_faults) == (5, 32)


@pytest.mark.parametrize("name, make", [("yield_()", op.yield_), ("sleep(0)", lambda: op.sleep(0)),
                                        ("io(0)", lambda: op.io(0))])
def test_zero_time_operations_in_a_loop_stop_with_livelock(name, make):
    # free switches: nothing the thread does advances time
    k = make_kernel(pk.sched.RoundRobin(quantum=1_000), costs=pk.Costs.zero())
    p = k.spawn(pk.Program.script("spin", [op.loop(FOREVER, [make()])]))
    r = k.run(until=1_000)
    assert r.reason == "livelock" and r.now == 0
    assert r.livelock.operation == f"{name} (instruction 1)"
    assert (r.livelock.tid, p.state) == (0, "alive")


def test_python_bodies_yielding_forever_stop_with_livelock_naming_the_operation():
    def spin(ctx):
        while True:
            yield ctx.sleep(0)

    k = make_kernel(pk.sched.RoundRobin(quantum=1_000), costs=pk.Costs.zero())
    k.spawn(pk.Program.python("py", spin))
    r = k.run(until=1_000)
    assert r.reason == "livelock" and r.now == 0
    assert (r.livelock.tid, r.livelock.program, r.livelock.operation) == (0, "py", "sleep(0)")


def test_the_message_is_one_line_naming_thread_process_program_and_operation():
    k, p = one([op.compute(50), op.loop(FOREVER, [])])
    r = k.run(until=10**6)
    assert str(r.livelock) == (
        f"livelock at {r.now} ns: thread 0 of process 0 ('spin') repeats "
        f"loop({FOREVER}, []) (instruction 1) without simulated time advancing "
        f"(Kernel(livelock_steps=...) sets how much host work one instant may take)")
    assert r.now >= 50                   # the compute ran first: the stop is after it


def test_other_reasons_have_no_livelock():
    k, p = one([op.compute(10)])
    r = k.run()
    assert (r.reason, r.livelock) == ("idle", None)


# ---- the budget -------------------------------------------------------------------

def test_a_finite_zero_time_loop_within_the_budget_runs_to_its_end():
    # loop(10_000, [compute(0)]) is 1 + 2 * 10,000 = 20,001 instructions at
    # time 0 (five advances of at most 4,096), plus a few steps: within
    # 30,000 units, it ends and the compute(5) after it runs.
    k, p = one([op.loop(10_000, [op.compute(0)]), op.compute(5)], livelock_steps=30_000,
               costs=pk.Costs.zero())
    assert k.run().reason == "idle"
    assert p.stats.finish == 5


def test_the_same_loop_past_a_smaller_budget_is_a_livelock():
    # after the first advance (4,096 instructions) 1,000 + 64 units are spent
    k, p = one([op.loop(10_000, [op.compute(0)]), op.compute(5)], livelock_steps=1_000,
               costs=pk.Costs.zero())
    r = k.run()
    assert r.reason == "livelock" and r.now == 0


def test_a_run_after_a_livelock_stop_has_a_budget_of_its_own():
    # 20,001 units of zero-time work against 12,064: the first run stops
    # after three advances (3 * 4,097 units), the second does the last
    # two (about 8,200) and runs on.
    k, p = one([op.loop(10_000, [op.compute(0)]), op.compute(5)], livelock_steps=12_000,
               costs=pk.Costs.zero())
    assert k.run().reason == "livelock"
    assert k.run().reason == "idle"
    assert p.stats.finish == 5


def test_many_python_threads_starting_at_one_instant_are_not_a_livelock():
    # Each of 2,000 threads arrives, is switched in, yields sleep(10) (16
    # units) and blocks at time 0: within the 64 per thread even with a
    # base budget of 1; then each computes 5 ns.
    def body(ctx):
        yield ctx.sleep(10)
        yield ctx.compute(5)

    k = make_kernel(pk.sched.FIFO(), costs=pk.Costs.zero(), livelock_steps=1)
    k.spawn_many(pk.Program.python("b", body), 2_000)
    r = k.run()
    assert (r.reason, r.now) == ("idle", 10 + 2_000 * 5)


def test_many_scripts_running_zero_time_prologues_at_one_instant_are_not_a_livelock():
    # 1 + 2 * 20 zero-time instructions, then sleep(10): 41 units and a few
    # steps per thread at time 0, within the 64 per thread
    k = make_kernel(pk.sched.FIFO(), costs=pk.Costs.zero(), livelock_steps=1)
    k.spawn_many(pk.Program.script("s", [op.loop(20, [op.compute(0)]), op.sleep(10),
                                         op.compute(5)]), 2_000)
    r = k.run()
    assert (r.reason, r.now) == ("idle", 10 + 2_000 * 5)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 20_000), budget=st.integers(1, 50_000))
def test_a_zero_time_loop_ends_exactly_when_its_work_fits_the_budget(n, budget):
    # Work at time 0: LOOP + n * (compute(0) + ENDLOOP) instructions plus a
    # few dispatcher steps. The check is made between steps, and a step
    # runs at most 4,096 instructions (pk_script.c, AGAIN_BUDGET): a loop
    # whose work fits the budget ends; one whose work passes it by more
    # than a step's is a livelock.
    k, p = one([op.loop(n, [op.compute(0)]), op.compute(5)], livelock_steps=budget,
               costs=pk.Costs.zero())
    r = k.run()
    work = 1 + 2 * n
    if work + 16 < budget:
        assert r.reason == "idle" and p.stats.finish == 5
    elif work > budget + 64 + 4_096 + 16:
        assert r.reason == "livelock" and r.now == 0


def test_livelock_steps_must_be_positive():
    with pytest.raises(ValueError, match="livelock_steps"):
        pk.Kernel(livelock_steps=0)


def test_a_livelock_stop_is_deterministic():
    def run():
        k, p = one([op.loop(3, [op.compute(7)]), op.loop(FOREVER, [op.yield_()])], seed=3)
        r = k.run(until=10**6)
        return r.reason, r.now, r.steps, str(r.livelock), k.digest()

    assert run() == run()


# ---- the command line ---------------------------------------------------------------

SPIN = """
[machine]
cpus = 1

[scheduler]
name = "RoundRobin"
quantum = "1 ms"

[programs]
spin = [["loop", 4611686018427387903, []]]

[[processes]]
program = "spin"
"""


def test_pykernel_run_of_a_zero_time_loop_exits_with_one_line(tmp_path):
    (tmp_path / "s.toml").write_text(SPIN)
    r = subprocess.run([sys.executable, "-m", "pykernel", "run", "s.toml", "--until", "1000",
                        "--no-progress"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("pykernel: livelock at ")
    assert f"thread 0 of process 0 ('spin') repeats loop({FOREVER}, [])" in r.stderr


def test_a_scenario_sets_livelock_steps_in_its_machine_table():
    from pykernel.scenario import loads
    k, _ = loads(SPIN.replace("cpus = 1", "cpus = 1\nlivelock_steps = 500")).build()
    r = k.run(until=1_000)
    # 500 + 64 units: the first advance (4,096 instructions) spends them;
    # the arrival, the switch in and two advances are the steps
    assert r.reason == "livelock" and r.steps <= 4
