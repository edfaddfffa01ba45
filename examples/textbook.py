"""The classic single-CPU scheduling exercises, with free context switches.

Expected averages (Silberschatz, Galvin and Gagne, Operating System
Concepts, ch. 5): FCFS 17, SJF 7, RR(q=4) 17/3, preemptive SJF 6.5,
non-preemptive priority 8.2.
"""
import pykernel as pk


def average_wait(policy, bursts, arrivals=None, priorities=None):
    k = pk.Kernel(scheduler=policy, costs=pk.Costs.zero())
    procs = []
    for i, burst in enumerate(bursts):
        prog = pk.Program.script(f"P{i + 1}", [pk.op.compute(burst)])
        procs.append(k.spawn(prog, at=arrivals[i] if arrivals else 0,
                             priority=priorities[i] if priorities else 0))
    k.run()
    waits = [p.stats.wait for p in procs]
    return waits, sum(waits) / len(waits)


if __name__ == "__main__":
    cases = [
        ("FCFS", pk.sched.FIFO(), [24, 3, 3], None, None),
        ("SJF", pk.sched.SJF(), [6, 8, 7, 3], None, None),
        ("RR q=4", pk.sched.RoundRobin(quantum=4), [24, 3, 3], None, None),
        ("STCF", pk.sched.STCF(), [8, 4, 9, 5], [0, 1, 2, 3], None),
        ("Priority", pk.sched.Priority(), [10, 1, 2, 1, 5], None, [3, 1, 4, 5, 2]),
    ]
    for name, policy, bursts, arrivals, prios in cases:
        waits, avg = average_wait(policy, bursts, arrivals, prios)
        print(f"{name:<9} waits {waits}  average {avg:.2f}")
