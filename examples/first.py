"""The README's first example: round robin, quantum 4, bursts 24, 3, 3."""
import pykernel as pk

k = pk.Kernel(cpus=1, scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero())
procs = [k.spawn(pk.Program.script(f"P{i}", [pk.op.compute(burst)]), name=f"P{i}")
         for i, burst in enumerate([24, 3, 3], start=1)]
result = k.run()

print(result.reason, k.now)                     # idle 30
for p in procs:
    print(p.name, p.stats.wait, p.stats.turnaround)
# P1 6 30
# P2 4 7
# P3 7 10
print(k.stats.context_switches)                 # 4 (from idle to P1, then P1-P2-P3-P1)
