"""A million script threads under round robin on one CPU.

Spawns 1,000,000 processes of one program in a single call, runs 10
simulated seconds (10 million quanta of 1 µs), and reports the simulator's
own speed.  `python examples/million.py 1000` runs a smaller version.
"""
import sys
import time

import pykernel as pk

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1_000), costs=pk.Costs.zero())
spin = pk.Program.script("spin", [pk.op.loop(1_000_000, [pk.op.compute(1_000)])])

t0 = time.perf_counter()
group = k.spawn_many(spin, N)
spawn_s = time.perf_counter() - t0
print(f"spawned {len(group):,} processes in {spawn_s:.2f} s, "
      f"{k.stats.memory_bytes / N:.0f} bytes of C memory per thread")

result = k.run(until=10_000_000_000)
print(f"{result.switches:,} context switches in {result.wall:.2f} s: "
      f"{result.switches_per_second / 1e6:.1f} M simulated switches per second")
