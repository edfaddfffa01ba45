"""Wait time is the rest of a thread's life (csrc/core/pk_core.h,
pk_thread_wait): every instant from its arrival to the instant its time is
accounted to is CPU time, wait or blocked time, so the core does not store
wait but computes it.  These tests pin the cases where a stored counter
needed corrections: queries in the middle of a run, a kill while ready or
while switching in, and a requeue of a ready thread by a nice change.

Rules (pykernel/costs.py, docs/guide.md): the switch cost is the CPU's
overhead, and the incoming thread's wait includes the switch that brings
it in; a thread killed while switching in never ran (first_run None).
Expected values are worked out by hand from these rules.
"""

from pathlib import Path

import pykernel as pk
from conftest import assert_time_conserved, spawn_bursts

DATA = Path(__file__).resolve().parent / "data"


def test_wait_of_a_thread_switching_in_counts_up_to_now(zero_kernel):
    # FIFO, bursts 24 and 3, switch=100: at t=50 P1 is halfway through
    # the switch that brings it in (0-100), P2 has been ready since 0.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    p1, p2 = spawn_bursts(k, [24, 3])
    k.run(until=50)
    assert (p1.stats.wait, p1.stats.cpu_time, p1.stats.first_run) == (50, 0, None)
    assert (p2.stats.wait, p2.stats.cpu_time) == (50, 0)


def test_wait_of_a_running_thread_stops_at_its_switch(zero_kernel):
    # At t=110 P1 has run 100-110: wait 100 (the switch), CPU time 10.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    p1, p2 = spawn_bursts(k, [24, 3])
    k.run(until=110)
    assert (p1.stats.wait, p1.stats.cpu_time, p1.stats.first_run) == (100, 10, 100)
    assert p2.stats.wait == 110


def test_kill_while_switching_in_ends_the_wait_at_the_kill(zero_kernel):
    # P1 killed at 50, inside its switch: it never ran, waited 50.  The CPU
    # switches to P2 at 50 (50-150) and P2 runs 150-153.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    p1, p2 = spawn_bursts(k, [24, 3])
    k.run(until=50)
    p1.kill()
    k.run()
    assert (p1.stats.wait, p1.stats.cpu_time, p1.stats.finish, p1.stats.first_run) == (50, 0, 50, None)
    assert (p2.stats.wait, p2.stats.cpu_time, p2.stats.finish) == (150, 3, 153)
    assert_time_conserved(k)


def test_kill_while_ready_ends_the_wait_at_the_kill(zero_kernel):
    # P2, ready since 0, killed at 50: waited 50 and ended at 50.
    k = zero_kernel(pk.sched.FIFO(), costs=pk.Costs(switch=100))
    p1, p2 = spawn_bursts(k, [24, 3])
    k.run(until=50)
    p2.kill()
    k.run()
    assert (p2.stats.wait, p2.stats.cpu_time, p2.stats.finish) == (50, 0, 50)
    assert (p1.stats.wait, p1.stats.finish) == (100, 124)
    assert_time_conserved(k)


def test_a_nice_change_while_ready_keeps_the_wait(zero_kernel):
    # RoundRobin(4), bursts 24 and 3, no switch cost: P2 waits 0-4 and
    # runs 4-7.  Its nice changes at 2, while it is ready (it is taken
    # out of the queue and put back): round robin ignores nice, so the
    # schedule and its wait of 4 are unchanged.
    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    p1, p2 = spawn_bursts(k, [24, 3])
    k.run(until=2)
    p2.threads[0].set_nice(5)
    k.run()
    assert (p2.stats.wait, p2.stats.finish) == (4, 7)
    assert (p1.stats.wait, p1.stats.finish) == (3, 27)
    assert_time_conserved(k)


def test_a_snapshot_of_the_earlier_layout_restores_and_saves_unchanged():
    # tests/data/snapshot_v1_cfs.pksnap was saved by the build before the
    # control block's fields were reordered and wait stopped being
    # stored (same format version): CFS on 2 CPUs, 15 script threads with
    # nice -1, 0, 1, each loop(50, [compute(3000), sleep(2000)]), run to
    # t = 40,000 ns.  Saved again, it is the same bytes; run on to
    # 400,000 ns it reaches the digest that build printed.
    data = (DATA / "snapshot_v1_cfs.pksnap").read_bytes()
    k = pk.Kernel.restore(data)
    assert k.snapshot() == data
    k.run(until=400_000)
    assert k.digest() == 9928346867711758136
