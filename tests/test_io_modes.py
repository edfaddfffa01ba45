"""Busy-waiting io (``op.io(ns, poll=True)``) and wake-up preemption
(``FIFO(wake_preempt=True)``, ``RoundRobin(..., wake_preempt=True)``),
replaying OSTEP's homework simulator cpu-intro/process-run.py
(Arpaci-Dusseau, ostep-homework).

process-run.py's model: a program is a list of instructions of one tick
each: ``cN`` is N ticks of CPU, ``i`` is an io instruction (one tick on
the CPU) whose io lasts ``-L`` ticks (default 5) and is followed by an
``io_done`` tick on the CPU. Its switching modes are
  SWITCH_ON_IO   the CPU goes to the next ready process while io is in
                 flight (pykernel's ordinary io);
  SWITCH_ON_END  the process keeps the CPU while its io completes
                 (``io(..., poll=True)``: it polls);
and its io-completion modes are
  IO_RUN_LATER      the process whose io completed waits its turn
                    (pykernel's ordinary FIFO);
  IO_RUN_IMMEDIATE  it runs at once, preempting the running process
                    (``wake_preempt=True``).
The expected timelines below are process-run.py's traces (``-c``), one
character per tick: the pid holding the CPU, ``-`` when it is idle. Under
SWITCH_ON_END process-run.py prints the waiting process as BLOCKED with
an idle CPU; the process still holds the CPU, so the timelines show its
pid there (pykernel charges those ticks as CPU time: it polls).
"""

import pytest

import pykernel as pk

T = 1_000            # one process-run.py tick, in ns
C = pk.op.compute


def program(desc, io_ticks=5, poll=False):
    """A process-run.py program (``-P`` syntax, e.g. "c4,i,c1") as a script."""
    ops = []
    for part in desc.split(","):
        if part[0] == "c":
            ops.append(C(int(part[1:]) * T))
        else:                       # io instruction, the io, io_done
            ops += [C(T), pk.op.io(io_ticks * T, poll=poll), C(T)]
    return pk.Program.script(desc, ops)


def replay(descs, policy=None, poll=False):
    """Run the programs from time 0; the per-tick timeline and the end."""
    k = pk.Kernel(scheduler=policy or pk.sched.FIFO(), costs=pk.Costs.zero())
    procs = [k.spawn(program(d, poll=poll)) for d in descs]
    line = []
    while True:
        k.run(until=len(line) * T + T // 2)
        running = [str(i) for i, p in enumerate(procs) if p.threads[0].state == "running"]
        if all(p.state == "exited" for p in procs):
            break
        line.append(running[0] if running else "-")
    return "".join(line), max(p.stats.finish for p in procs), procs


def test_switch_on_io_is_ordinary_io():
    # process-run.py -l 1:0,4:100 -c (SWITCH_ON_IO, IO_RUN_LATER)
    line, end, _ = replay(["i", "c4"])
    assert line == "01111-0"
    assert end == 7 * T


def test_switch_on_end_is_io_by_polling():
    # process-run.py -l 1:0,4:100 -c -S SWITCH_ON_END: P0 keeps the CPU
    # through its 5-tick io, then P1 runs: 11 ticks instead of 7.
    line, end, (p0, p1) = replay(["i", "c4"], poll=True)
    assert line == "00000001111"
    assert end == 11 * T
    assert p0.stats.cpu_time == 7 * T          # io instruction, 5 ticks polling, io_done
    assert p0.stats.voluntary_switches == 0 and p0.stats.blocked == 0


def test_switch_on_end_with_two_io_processes():
    # process-run.py -P c4,i,c1:c3,i,c2 -c -S SWITCH_ON_END
    # trace: 00000-----001111-----111 (the "-" ticks: the process holds
    # the CPU, BLOCKED on its io)
    line, end, _ = replay(["c4,i,c1", "c3,i,c2"], poll=True)
    assert line == "000000000000111111111111"
    assert end == 24 * T


def test_io_run_later_waits_its_turn():
    # process-run.py -l 3:0,5:100,5:100,5:100 -c -S SWITCH_ON_IO -I IO_RUN_LATER
    line, end, _ = replay(["i,i,i", "c5", "c5", "c5"])
    assert line == "011111222223333300-----00-----0"
    assert end == 31 * T


def test_io_run_immediate_is_wake_preemption():
    # process-run.py -l 3:0,5:100,5:100,5:100 -c -S SWITCH_ON_IO -I IO_RUN_IMMEDIATE
    line, end, _ = replay(["i,i,i", "c5", "c5", "c5"], pk.sched.FIFO(wake_preempt=True))
    assert line == "011111002222200333330"
    assert end == 21 * T


def test_io_run_immediate_preempts_a_running_process():
    # process-run.py -P i,c3:c10 -c -I IO_RUN_IMMEDIATE: P0's io ends at
    # tick 7 in the middle of P1's 10 ticks; P0 runs at once, P1 resumes.
    line, end, (p0, p1) = replay(["i,c3", "c10"], pk.sched.FIFO(wake_preempt=True))
    assert line == "011111000011111"
    assert p1.stats.involuntary_switches == 1
    # IO_RUN_LATER: P0 waits for P1 to finish
    line, end, _ = replay(["i,c3", "c10"])
    assert line == "011111111110000"


def test_wake_preempt_with_round_robin():
    # As above with a 4-tick quantum: P1's first slice is ticks 2-5, its
    # second is cut after one tick by P0's wake-up at tick 7; P0 runs
    # io_done and c3 (one quantum), then P1 the rest.
    line, _, (p0, p1) = replay(["i,c3", "c10"], pk.sched.RoundRobin(quantum=4 * T, wake_preempt=True))
    assert line == "011111000011111"
    assert p1.stats.involuntary_switches == 1


def test_arrival_does_not_preempt_under_wake_preempt():
    # only io or sleep completion preempts; a new process waits its turn
    k = pk.Kernel(scheduler=pk.sched.FIFO(wake_preempt=True), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [C(10)]))
    b = k.spawn(pk.Program.script("b", [C(10)]), at=5)
    k.run()
    assert (a.stats.finish, b.stats.first_run) == (10, 10)


def test_polling_thread_preempted_finishes_when_the_io_is_done():
    # A polls for 10 ns from 0 under RoundRobin(quantum=4): it runs 0-4,
    # B 4-8, A 8-10 (the io completes at 10 whatever A's CPU time), B 10-12.
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [pk.op.io(10, poll=True)]))
    b = k.spawn(pk.Program.script("b", [C(6)]))
    k.run()
    assert a.stats.finish == 10 and a.stats.cpu_time == 6
    assert b.stats.finish == 12
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [pk.op.io(10, poll=True)]))
    b = k.spawn(pk.Program.script("b", [C(20)]))
    k.run()
    # A 0-4, B 4-8, A 8-10, B 10-...: A done at 10; polled 6 ns of CPU
    assert a.stats.finish == 10 and a.stats.cpu_time == 6


def test_polling_thread_that_resumes_after_its_io_ends_at_once():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [pk.op.io(5, poll=True), C(1)]))
    b = k.spawn(pk.Program.script("b", [C(8)]))
    k.run()
    # A polls 0-4, B 4-8; the io ended at 5, so A's poll is over when it
    # runs again at 8: its compute runs 8-9.
    assert a.stats.finish == 9 and a.stats.cpu_time == 5


def test_python_body_polls_too():
    def body(ctx):
        yield ctx.io(5, poll=True)
        yield ctx.compute(1)
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    a = k.spawn(pk.Program.python("a", body))
    b = k.spawn(pk.Program.script("b", [C(3)]))
    k.run()
    assert (a.stats.finish, a.stats.cpu_time, b.stats.first_run) == (6, 6, 6)


def test_poll_op_repr_and_validation():
    assert repr(pk.op.io(5, poll=True)) == "io(5, poll=True)"
    assert pk.op.io(5) == pk.op.io(5, poll=False)
    with pytest.raises(TypeError):
        pk.op.io(5, poll=1)
