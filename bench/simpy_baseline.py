"""The round-robin workload of bench/test_switch.py, written in SimPy.

N processes share one CPU, modelled as ``simpy.Resource(env, capacity=1)``.
Each process loops forever: request the CPU, hold it for one quantum
(``env.timeout(quantum)``), release it.  A released CPU goes to the
process at the head of the resource's FIFO queue, and the releasing
process queues again at the tail, so the CPU goes round the N processes
in order: one CPU handoff per hold.  That is what pykernel does for N
CPU-bound threads under ``RoundRobin(quantum)`` with free switches (one
context switch per quantum), so handoffs/s here and switches/s there are
the same measure.

Used by the benchmarks as the SimPy baseline, and runnable on its own::

    python bench/simpy_baseline.py 10000 100000
"""

from __future__ import annotations

import simpy

QUANTUM = 1_000   # ns of simulated time per hold; the same as the pykernel benchmarks

__all__ = ["QUANTUM", "RoundRobinCPU", "round_robin"]


class RoundRobinCPU:
    """N processes taking turns on a one-slot CPU resource.

    ``warm_up()`` runs until every process has held the CPU once;
    ``run_handoffs(count)`` then runs exactly ``count`` more holds and
    returns the number of handoffs it did (``count``)."""

    def __init__(self, n: int, quantum: int = QUANTUM):
        if n < 1:
            raise ValueError(f"need at least one process, got {n}")
        self.n = n
        self.quantum = quantum
        self.handoffs = 0                      # holds completed so far
        self.env = simpy.Environment()
        self.cpu = simpy.Resource(self.env, capacity=1)
        for _ in range(n):
            self.env.process(self._spin())

    def _spin(self):
        env, cpu, q = self.env, self.cpu, self.quantum
        while True:
            with cpu.request() as req:
                yield req
                yield env.timeout(q)
            self.handoffs += 1

    def warm_up(self) -> int:
        """Run until every process has been granted the CPU once (the
        last of them is still holding it). Returns the handoffs done."""
        before = self.handoffs
        self.env.run(until=self.env.now + self.n * self.quantum)
        return self.handoffs - before

    def run_handoffs(self, count: int) -> int:
        """Run ``count`` more quanta of simulated time: ``count`` CPU
        handoffs. Returns the number actually done."""
        before = self.handoffs
        self.env.run(until=self.env.now + count * self.quantum)
        return self.handoffs - before


def round_robin(n: int, handoffs: int, quantum: int = QUANTUM, warm_up: bool = True) -> int:
    """Build the N-process model, optionally warm it up, run ``handoffs``
    CPU handoffs and return the number done (the warm-up is not counted)."""
    model = RoundRobinCPU(n, quantum)
    if warm_up:
        model.warm_up()
    return model.run_handoffs(handoffs)


if __name__ == "__main__":  # pragma: no cover - manual use
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    model = RoundRobinCPU(n)
    model.warm_up()
    t0 = time.perf_counter()
    done = model.run_handoffs(count)
    wall = time.perf_counter() - t0
    print(f"SimPy, N={n:,}: {done:,} handoffs in {wall:.3f} s = {done / wall:,.0f} handoffs/s")
