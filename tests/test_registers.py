"""Register contexts: what a context switch saves and restores.

Layout from csrc/core/pk_api.h: 32 general registers, pc, flags. For scripts
pc is the index of the next instruction, x[1] the remaining ns of the
compute in progress, x[2] the loop depth and x[16 + i] the iterations
left of the loop at depth i; flags bit 0 (PK_RF_STARTED) is set once the thread has begun its body.
Thread.registers is "the saved register context (the live one if it is
running)"; op.compute: "If preempted, the thread later resumes with
exactly the remaining time."
"""

import pykernel as pk
from conftest import cpu_bound

REM, DEPTH, LOOP0 = 0, 2, 16   # csrc/core/pk_api.h: register use of script threads
RF_STARTED = 1


def two_rr_threads(zero_kernel):
    # RR q=4, A=compute(10) and B=compute(10): A 0-4, B 4-8, A 8-12,
    # B 12-16, A 16-18, B 18-20.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(cpu_bound(10), name="A")
    b = k.spawn(cpu_bound(10), name="B")
    return k, a.threads[0], b.threads[0]


def test_registers_layout_is_32_general_plus_pc_and_flags(zero_kernel):
    k = zero_kernel()
    t = k.spawn(cpu_bound(10)).threads[0]
    regs = t.registers
    assert len(regs.x) == 32
    assert regs.x == (0,) * 32
    assert (regs.pc, regs.flags) == (0, 0)


def test_running_script_pc_points_past_current_compute(zero_kernel):
    # compute(10) is instruction 0, so while it runs pc == 1.
    k, a, _ = two_rr_threads(zero_kernel)
    k.run(until=2)
    assert a.state == "running"
    assert a.registers.pc == 1
    assert a.registers.flags & RF_STARTED


def test_preempted_thread_saves_remaining_compute(zero_kernel):
    # At t=6 A was preempted at 4 after 4 of its 10 ns: x[0] == 6, pc == 1.
    k, a, b = two_rr_threads(zero_kernel)
    k.run(until=6)
    assert a.state == "ready"
    assert a.registers.remaining == 6
    assert a.registers.x[REM] == 6
    assert a.registers.pc == 1
    assert a.stats.cpu_time == 4
    assert b.state == "running"


def test_preempted_thread_resumes_with_exactly_the_remaining_time(zero_kernel):
    # Schedule above: A resumes at 8 with 6 left, runs 8-12 (2 left), 16-18.
    k, a, b = two_rr_threads(zero_kernel)
    k.run(until=14)
    assert a.state == "ready"
    assert a.registers.remaining == 2
    k.run()
    assert a.stats.cpu_time == 10
    assert a.stats.finish == 18
    assert b.stats.cpu_time == 10
    assert b.stats.finish == 20


def test_running_thread_remaining_is_current(zero_kernel):
    # Thread.registers is "the live one if it is running" and x[1] is "the
    # remaining ns of the timed operation in progress": at t=2 A has run
    # 2 ns of its compute(10), so 8 remain (cpu_time + remaining == 10).
    k, a, _ = two_rr_threads(zero_kernel)
    k.run(until=2)
    assert a.state == "running"
    assert a.stats.cpu_time == 2
    assert a.registers.remaining == 8


def test_pc_indexes_the_next_script_instruction(zero_kernel):
    # [compute(2), io(5), compute(3)] = instructions 0, 1, 2.
    # Running compute(2): pc 1; blocked in io: pc 2; running compute(3): pc 3.
    k = zero_kernel()
    t = k.spawn(pk.Program.script("s", [pk.op.compute(2), pk.op.io(5), pk.op.compute(3)])).threads[0]
    k.run(until=1)
    assert t.registers.pc == 1
    k.run(until=4)
    assert t.state == "blocked"
    assert t.registers.pc == 2
    k.run(until=8)
    assert t.state == "running"
    assert t.registers.pc == 3


def test_loop_registers_track_depth_and_iterations(zero_kernel):
    # loop(3, [compute(5)]) compiles to LOOP(0), COMPUTE(1), ENDLOOP(2).
    # RR q=5 with a competitor compute(100). L's first compute ends at 5,
    # exactly when its quantum expires: at 5 the interpreter first runs the
    # zero-time ENDLOOP (iterations left 3 -> 2, jump back) and starts the
    # second compute(5) (pc 2, remaining 5), then the expired quantum
    # preempts it. Saved context: depth 1, x[16] == 2, pc 2, remaining 5.
    k = zero_kernel(pk.sched.RoundRobin(quantum=5))
    t = k.spawn(pk.Program.script("l", [pk.op.loop(3, [pk.op.compute(5)])])).threads[0]
    k.spawn(cpu_bound(100))
    k.run(until=7)
    regs = t.registers
    assert t.state == "ready"
    assert regs.x[DEPTH] == 1
    assert regs.x[LOOP0] == 2
    assert regs.pc == 2
    assert regs.remaining == 5
    k.run()
    assert t.stats.cpu_time == 15


def test_python_thread_preempted_mid_compute_saves_remaining(zero_kernel):
    # csrc/core/pk_api.h: host threads use x[1] the same way. RR q=4, a Python
    # body compute(10) and a script compute(10): at t=6 the body was
    # preempted at 4 with 6 left; pc counts operations taken (1).
    def body(ctx):
        yield ctx.compute(10)

    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    t = k.spawn(pk.Program.python("py", body)).threads[0]
    k.spawn(cpu_bound(10))
    k.run(until=6)
    assert t.state == "ready"
    assert t.registers.remaining == 6
    assert t.registers.pc == 1
    k.run()
    assert t.stats.cpu_time == 10
    assert t.stats.finish == 18


def test_registers_survive_many_switches(zero_kernel):
    # RR q=1, five threads of compute(7): each is switched in and out many
    # times and still gets exactly 7 ns; finish times 31..35 (all five take
    # turns for 6 rounds = 30 ns, then one ns each in round 7).
    k = zero_kernel(pk.sched.RoundRobin(quantum=1))
    procs = k.spawn_many(cpu_bound(7), 5)
    k.run()
    assert procs.table()["cpu_time_ns"] == [7] * 5
    assert procs.table()["finish_ns"] == [31, 32, 33, 34, 35]
