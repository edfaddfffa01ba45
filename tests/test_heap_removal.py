"""Taking threads out of the middle of the indexed heap (csrc/sched/pk_heap.h).

A thread's index in its heap is kept in one array by tid; a kill of a
queued thread removes it from there.  Under SJF (non-preemptive shortest
job first: Silberschatz, Operating System Concepts, 10th ed., 5.3.2),
whatever was removed, the survivors must then run to completion one
after another in (burst, order of spawn) order, so their finish times are
running sums of their bursts.
"""

from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk
from conftest import assert_time_conserved, spawn_bursts


def expected_finishes(bursts, killed):
    """Finish times when every thread is spawned at 0, the first by
    (burst, index) starts at once, and `killed` are killed at t = 1."""
    order = sorted(range(len(bursts)), key=lambda i: (bursts[i], i))
    first = order[0]
    finish = {i: 1 for i in killed}
    now = 1 if first in killed else bursts[first]
    finish[first] = now
    for i in order[1:]:
        if i not in killed:
            now += bursts[i]
            finish[i] = now
    return [finish[i] for i in range(len(bursts))]


@settings(max_examples=60, deadline=None, database=None)
@given(st.lists(st.integers(1, 30), min_size=1, max_size=300).flatmap(
    lambda b: st.tuples(st.just(b), st.sets(st.integers(0, len(b) - 1)))))
def test_sjf_survivors_of_kills_from_the_heap_finish_in_burst_order(case):
    bursts, killed = case
    k = pk.Kernel(cpus=1, scheduler=pk.sched.SJF(), costs=pk.Costs.zero())
    procs = spawn_bursts(k, bursts)
    k.run(until=1)
    for i in sorted(killed):
        procs[i].kill()
    if len(killed) < len(bursts):          # else nothing is left to run
        k.run()
    assert [p.stats.finish for p in procs] == expected_finishes(bursts, killed)
    assert_time_conserved(k)


def test_sjf_kills_from_the_middle_of_a_large_heap():
    # 20,000 threads with bursts 1..100 (i * 37 % 100 + 1); every third
    # one killed at t = 1, from all over the heap.
    bursts = [i * 37 % 100 + 1 for i in range(20_000)]
    killed = set(range(0, 20_000, 3))
    k = pk.Kernel(cpus=1, scheduler=pk.sched.SJF(), costs=pk.Costs.zero())
    procs = spawn_bursts(k, bursts)
    k.run(until=1)
    for i in sorted(killed):
        procs[i].kill()
    k.run()
    assert [p.stats.finish for p in procs] == expected_finishes(bursts, killed)
