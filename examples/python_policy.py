"""A scheduling policy written in Python, next to the built-in one.

PyRoundRobin below keeps its own queue of thread ids; the kernel calls its
hooks from C whenever a thread becomes ready or a CPU needs the next one.
It follows the built-in RoundRobin's rules, so both give the same run,
event for event (same digest) -- the Python one is slower.

usage: python examples/python_policy.py [threads]     (default 1000)
"""
import collections
import sys

import pykernel as pk

QUANTUM = 100_000                       # 0.1 ms


class PyRoundRobin(pk.sched.Policy):
    """Round robin: FIFO order; a thread whose slice ends goes to the tail."""

    def __init__(self, quantum):
        self.queue = collections.deque()    # ready thread ids, in order
        self.slice = quantum                # every thread's slice, in ns

    def enqueue(self, tid, why):            # why: "new", "wake", "slice", ...
        self.queue.append(tid)

    def dequeue(self, tid, why):            # killed, moved or changed while queued
        self.queue.remove(tid)

    def pick_next(self):
        return self.queue.popleft()

    def __repr__(self):
        return f"PyRoundRobin(quantum={self.slice})"


def workload(k, n):
    """n processes: a quarter interactive (short bursts, then io), the rest
    CPU-bound, arriving over the first millisecond."""
    cpu = pk.Program.script("cpu", [pk.op.compute(1_500_000)])
    chatty = pk.Program.script("chatty", [pk.op.loop(5, [pk.op.compute(40_000),
                                                         pk.op.io(300_000)])])
    for i in range(n):
        k.spawn(chatty if i % 4 == 0 else cpu, at=i * 1_000_000 // n)


def simulate(policy, n):
    k = pk.Kernel(cpus=2, scheduler=policy)        # calibrated switch costs
    workload(k, n)
    r = k.run()
    return k, r


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"{n} processes on 2 CPUs sharing one run queue, quantum {QUANTUM / 1e3:g} us")
    print(f"{'policy':<28} {'switches':>9} {'avg turnaround':>15} {'host s':>7} "
          f"{'switches/s':>11}")
    digests = []
    for policy in (pk.sched.RoundRobin(quantum=QUANTUM), PyRoundRobin(QUANTUM)):
        k, r = simulate(policy, n)
        avg = k.processes.mean("turnaround")
        digests.append(k.digest())
        print(f"{policy!r:<28} {r.switches:>9,} {avg / 1e6:>12.3f} ms {r.wall:>7.3f} "
              f"{r.switches_per_second:>11,.0f}")
    print("same run, event for event:", digests[0] == digests[1])
