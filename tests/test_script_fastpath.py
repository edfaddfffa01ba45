"""The interpreter's in-line path for a loop whose body begins with a
compute (csrc/core/pk_script.h): when a compute ends at ENDLOOP and the loop
goes round again, the dispatcher starts the next compute without calling
the interpreter.  It must leave exactly the state the interpreter leaves.

Register use from csrc/core/pk_api.h: pc = index of the next instruction,
x[0] = ns left of the compute in progress, x[2] = loop depth, x[16 + i] =
iterations left of the loop at depth i; flags PK_RF_STARTED = 1,
PK_RF_COMPUTE = 1024 (x[0] counts a compute)."""

from hypothesis import given, settings, strategies as st

import pykernel as pk

REM, DEPTH, LOOP0 = 0, 2, 16
RF_STARTED, RF_COMPUTE = 1, 1024


def test_registers_in_the_third_round_of_a_loop(zero_kernel):
    # instructions: 0 LOOP(5), 1 COMPUTE(1000), 2 ENDLOOP.  At t = 2500
    # two computes have ended and the third has 500 ns left; the loop
    # counter went 5 -> 4 -> 3 (decremented at each ENDLOOP that jumps back).
    k = zero_kernel(pk.sched.RoundRobin(quantum=10_000))
    prog = pk.Program.script("l", [pk.op.loop(5, [pk.op.compute(1000)])])
    t = k.spawn(prog).threads[0]
    k.run(until=2500)
    regs = t.registers
    assert regs.pc == 2
    assert regs.x[REM] == 500
    assert regs.x[DEPTH] == 1
    assert regs.x[LOOP0] == 3
    assert regs.flags & (RF_STARTED | RF_COMPUTE) == RF_STARTED | RF_COMPUTE


def test_the_loop_ends_after_its_last_round(zero_kernel):
    # loop(3, [compute(1000)]) then exit: 3000 ns of CPU, finish at 3000.
    k = zero_kernel(pk.sched.RoundRobin(quantum=700))
    prog = pk.Program.script("l", [pk.op.loop(3, [pk.op.compute(1000)])])
    t = k.spawn(prog).threads[0]
    k.run()
    assert t.stats.cpu_time == 3000
    assert t.stats.finish == 3000


def _run(body_prefix, n, q, quantum, threads, inner):
    k = pk.Kernel(cpus=1, scheduler=pk.sched.RoundRobin(quantum=quantum), costs=pk.Costs.zero())
    body = body_prefix + [pk.op.compute(q)]
    ops = [pk.op.loop(n, [pk.op.loop(inner, body)])] if inner else [pk.op.loop(n, body)]
    k.spawn_many(pk.Program.script("l", ops), threads)
    r = k.run()
    return (k.digest(), r.switches, k.now,
            [t.stats for p in k.processes for t in p.threads])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), q=st.integers(1, 3000), quantum=st.integers(1, 4000),
       threads=st.integers(1, 5), inner=st.integers(0, 3))
def test_same_run_as_through_the_interpreter(n, q, quantum, threads, inner):
    # A compute(0) first in the body takes no time, but the in-line path
    # does not apply to it (the loop body does not begin with a compute
    # that takes time), so that run goes through the interpreter on every
    # ENDLOOP: the two runs must agree in digest, switches, end time and
    # every thread's accounting.
    fast = _run([], n, q, quantum, threads, inner)
    slow = _run([pk.op.compute(0)], n, q, quantum, threads, inner)
    assert fast == slow
