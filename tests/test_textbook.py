"""The classic scheduling examples, reproduced exactly with free switches.

Sources: Silberschatz, Galvin & Gagne, Operating System Concepts, 10th ed.,
§5.3 (FCFS §5.3.1, SJF and shortest-remaining-time-first §5.3.2, RR
§5.3.3, Priority §5.3.4); OSTEP (Arpaci-Dusseau) ch. 7 (docs/references.md [SGG10], [OSTEP]).
All processes arrive at 0 in the order
listed unless stated; times are ns.
"""

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound, spawn_bursts


def waits(procs):
    return [p.stats.wait for p in procs]


# ---- FCFS -----------------------------------------------------------------

def test_fcfs_24_3_3_textbook_waits(zero_kernel):
    # Silberschatz §5.3.1: P1=24, P2=3, P3=3 -> waits 0, 24, 27; average 17.
    k = zero_kernel(pk.sched.FIFO())
    procs = spawn_bursts(k, [24, 3, 3])
    r = k.run()
    assert r.reason == "idle"
    assert waits(procs) == [0, 24, 27]
    assert k.processes.mean("wait") == 17
    assert_time_conserved(k)


def test_fcfs_24_3_3_textbook_turnaround_and_response(zero_kernel):
    # Silberschatz §5.3.1 Gantt chart: P1 0-24, P2 24-27, P3 27-30.
    # Without preemption response == wait; turnaround == finish here.
    k = zero_kernel(pk.sched.FIFO())
    procs = spawn_bursts(k, [24, 3, 3])
    k.run()
    assert [p.stats.first_run for p in procs] == [0, 24, 27]
    assert [p.stats.response for p in procs] == [0, 24, 27]
    assert [p.stats.finish for p in procs] == [24, 27, 30]
    assert [p.stats.turnaround for p in procs] == [24, 27, 30]
    assert k.now == 30


def test_fcfs_short_jobs_first_order_textbook_waits(zero_kernel):
    # Silberschatz §5.3.1: arriving in the order P2, P3, P1 the waits are
    # P1=6, P2=0, P3=3, average 3 (the convoy effect disappears).
    k = zero_kernel(pk.sched.FIFO())
    p2 = k.spawn(cpu_bound(3), name="P2")
    p3 = k.spawn(cpu_bound(3), name="P3")
    p1 = k.spawn(cpu_bound(24), name="P1")
    k.run()
    assert [p1.stats.wait, p2.stats.wait, p3.stats.wait] == [6, 0, 3]
    assert k.processes.mean("wait") == 3


# ---- SJF ------------------------------------------------------------------

def test_sjf_6_8_7_3_textbook_waits(zero_kernel):
    # Silberschatz §5.3.2: P1=6, P2=8, P3=7, P4=3 -> runs P4, P1, P3, P2;
    # waits P1=3, P2=16, P3=9, P4=0; average 7.
    k = zero_kernel(pk.sched.SJF())
    procs = spawn_bursts(k, [6, 8, 7, 3])
    k.run()
    assert waits(procs) == [3, 16, 9, 0]
    assert k.processes.mean("wait") == 7
    assert_time_conserved(k)


def test_sjf_6_8_7_3_textbook_finish_order(zero_kernel):
    # Silberschatz §5.3.2 Gantt chart: P4 0-3, P1 3-9, P3 9-16, P2 16-24.
    k = zero_kernel(pk.sched.SJF())
    procs = spawn_bursts(k, [6, 8, 7, 3])
    k.run()
    assert [p.stats.finish for p in procs] == [9, 24, 16, 3]
    assert [p.stats.turnaround for p in procs] == [9, 24, 16, 3]


# ---- Round robin -------------------------------------------------------------

def test_rr_quantum_4_textbook_waits(zero_kernel):
    # Silberschatz §5.3.3: q=4, P1=24, P2=3, P3=3 -> waits 6, 4, 7;
    # average 17/3.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    procs = spawn_bursts(k, [24, 3, 3])
    k.run()
    assert waits(procs) == [6, 4, 7]
    assert k.processes.mean("wait") == pytest.approx(17 / 3)
    assert_time_conserved(k)


def test_rr_quantum_4_textbook_turnaround_and_response(zero_kernel):
    # Silberschatz §5.3.3 Gantt chart: P1 0-4, P2 4-7, P3 7-10, P1 10-30.
    # Response 0, 4, 7; turnaround 30, 7, 10.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    procs = spawn_bursts(k, [24, 3, 3])
    k.run()
    assert [p.stats.response for p in procs] == [0, 4, 7]
    assert [p.stats.turnaround for p in procs] == [30, 7, 10]


def test_rr_quantum_4_textbook_switch_counts(zero_kernel):
    # Gantt chart above: 4 dispatches (P1, P2, P3, P1); P1 is preempted once
    # at t=4; after t=10 it is alone and keeps the CPU through its later
    # quanta without being switched out.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    p1, p2, p3 = spawn_bursts(k, [24, 3, 3])
    r = k.run()
    assert r.switches == 4
    assert p1.stats.involuntary_switches == 1
    assert p2.stats.involuntary_switches == 0
    assert p3.stats.involuntary_switches == 0


# ---- STCF / SRTF ---------------------------------------------------------------

def test_stcf_textbook_waits(zero_kernel):
    # Silberschatz §5.3.2 (preemptive SJF): arrival/burst P1 0/8, P2 1/4,
    # P3 2/9, P4 3/5 -> waits P1=9, P2=0, P3=15, P4=2; average 6.5.
    k = zero_kernel(pk.sched.STCF())
    procs = spawn_bursts(k, [8, 4, 9, 5], arrivals=[0, 1, 2, 3])
    k.run()
    assert waits(procs) == [9, 0, 15, 2]
    assert k.processes.mean("wait") == 6.5
    assert_time_conserved(k)


def test_stcf_textbook_gantt_chart(zero_kernel):
    # Silberschatz §5.3.2 Gantt chart: P1 0-1, P2 1-5, P4 5-10, P1 10-17,
    # P3 17-26. Turnaround 17, 4, 24, 7; response 0, 0, 15, 2.
    k = zero_kernel(pk.sched.STCF())
    procs = spawn_bursts(k, [8, 4, 9, 5], arrivals=[0, 1, 2, 3])
    k.run()
    assert [p.stats.first_run for p in procs] == [0, 1, 17, 5]
    assert [p.stats.finish for p in procs] == [17, 5, 26, 10]
    assert [p.stats.turnaround for p in procs] == [17, 4, 24, 7]
    assert [p.stats.response for p in procs] == [0, 0, 15, 2]
    assert procs[0].stats.involuntary_switches == 1


# ---- Priority ------------------------------------------------------------------

def test_priority_nonpreemptive_textbook_waits(zero_kernel):
    # Silberschatz §5.3.4: burst/priority P1 10/3, P2 1/1, P3 2/4, P4 1/5,
    # P5 5/2 (lower number first) -> waits 6, 0, 16, 18, 1; average 8.2.
    k = zero_kernel(pk.sched.Priority(preemptive=False))
    procs = spawn_bursts(k, [10, 1, 2, 1, 5], priorities=[3, 1, 4, 5, 2])
    k.run()
    assert waits(procs) == [6, 0, 16, 18, 1]
    assert k.processes.mean("wait") == pytest.approx(8.2)
    assert_time_conserved(k)


def test_priority_nonpreemptive_textbook_finish_times(zero_kernel):
    # Silberschatz §5.3.4 Gantt chart: P2 0-1, P5 1-6, P1 6-16, P3 16-18,
    # P4 18-19.
    k = zero_kernel(pk.sched.Priority(preemptive=False))
    procs = spawn_bursts(k, [10, 1, 2, 1, 5], priorities=[3, 1, 4, 5, 2])
    k.run()
    assert [p.stats.finish for p in procs] == [16, 1, 18, 19, 6]
    assert [p.stats.turnaround for p in procs] == [16, 1, 18, 19, 6]
