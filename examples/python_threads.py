"""Python generator thread bodies next to script threads.

A producer-like Python body alternates computing and I/O; a CPU-bound
script shares the CPU with it. The I/O overlaps with the script's compute.
"""
import pykernel as pk

US = 1_000


def interactive(ctx, rounds):
    for _ in range(rounds):
        yield ctx.compute(200 * US)      # handle an input event
        yield ctx.io(800 * US)           # wait for the next one
    return 0


k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=100 * US), costs=pk.Costs.zero())
ui = k.spawn(pk.Program.python("ui", interactive), args=(5,), name="ui")
batch = k.spawn(pk.Program.script("batch", [pk.op.compute(3_000 * US)]), name="batch")
result = k.run()

print(f"finished at {k.now / US:.0f} µs ({result.reason})")
for p in (ui, batch):
    s = p.stats
    print(f"{p.name:<6} cpu {s.cpu_time / US:6.0f} µs  wait {s.wait / US:6.0f} µs  "
          f"blocked {s.blocked / US:6.0f} µs  turnaround {s.turnaround / US:6.0f} µs")
