"""The built-in demo: one workload under several policies, compared.

Five processes share one CPU: a long batch job, two short ones, an
interactive editor (short bursts, long waits for input) and a database
(medium bursts, disk I/O). The same workload runs under each policy with
the default cost model, and the table shows what each policy trades.
"""

from __future__ import annotations

from pathlib import Path

from . import sched
from .costs import Costs
from .kernel import Kernel
from .program import Program
from .scenario import load
from .report import policy_label, table as text_table

MS = 1_000_000
US = 1_000


def scenario_path() -> Path:
    """examples/demo.toml: in the source tree, or installed with the package
    as pykernel/examples/demo.toml."""
    here = Path(__file__).resolve().parent
    for p in (here / "examples" / "demo.toml", here.parent / "examples" / "demo.toml"):
        if p.exists():
            return p
    raise FileNotFoundError("examples/demo.toml is missing from this installation")


def workload() -> list[tuple[str, Program, int]]:
    """(name, program, arrival ns) of the demo's processes, from
    examples/demo.toml."""
    sc = load(scenario_path())
    programs = sc.programs()
    return [(p["name"], programs[p["program"]], sc._value((), p.get("at", 0)))
            for p in sc.data["processes"]]


def policies() -> list[sched.Policy]:
    """The policies the demo compares."""
    return [sched.FIFO(), sched.SJF(), sched.STCF(), sched.RoundRobin(quantum=4 * MS),
            sched.RoundRobin(quantum=1 * MS),
            sched.MLFQ(quanta=[1 * MS, 4 * MS, 16 * MS], boost=50 * MS),
            sched.CFS(), sched.EEVDF()]


def label(policy: sched.Policy) -> str:
    """A short name for a policy in the table (pykernel.report.policy_label)."""
    return policy_label(policy)


def run_policy(policy: sched.Policy, cpus: int = 1, costs: Costs | None = None, seed: int = 0) -> dict:
    """Run the demo workload under one policy; return its figures (ms)."""
    k = Kernel(cpus=cpus, scheduler=policy, costs=costs, seed=seed)
    procs = {name: k.spawn(prog, name=name, at=at) for name, prog, at in workload()}
    result = k.run()
    stats = {name: p.stats for name, p in procs.items()}
    n = len(stats)
    ks = k.stats
    return {
        "policy": label(policy),
        "turnaround": sum(s.turnaround for s in stats.values()) / n / MS,
        "response": sum(s.response for s in stats.values()) / n / MS,
        "wait": sum(s.wait for s in stats.values()) / n / MS,
        "editor_wait": stats["editor"].wait / MS,
        "makespan": result.now / MS,
        "switches": ks.context_switches,
        "utilization": ks.busy / (ks.busy + ks.idle + ks.overhead),
        "reason": result.reason,
    }


def table(rows: list[dict]) -> str:
    """Format run_policy() results as a text table."""
    head = ("policy", "avg turnaround", "avg response", "avg wait", "editor wait",
            "makespan", "switches", "CPU busy")
    lines = [[r["policy"], f"{r['turnaround']:.2f} ms", f"{r['response']:.2f} ms",
              f"{r['wait']:.2f} ms", f"{r['editor_wait']:.2f} ms", f"{r['makespan']:.2f} ms",
              str(r["switches"]), f"{r['utilization'] * 100:.1f}%"] for r in rows]
    return text_table(head, lines)


def main(cpus: int = 1, switch_ns: int | None = None) -> str:
    """Run every policy and return the report text."""
    costs = Costs() if switch_ns is None else Costs(switch=switch_ns)
    rows = [run_policy(p, cpus=cpus, costs=costs) for p in policies()]
    intro = [
        "pykernel demo: one workload, several schedulers",
        f"  {cpus} CPU(s), context switch {costs.switch} ns; processes:",
    ]
    for name, prog, at in workload():
        intro.append(f"    {name:<8} arrives {at / MS:4.1f} ms  {prog.burst / MS:5.1f} ms of CPU  "
                     f"{'+ I/O' if any(o.name == 'loop' for o in prog.ops) else ''}")
    return "\n".join(intro) + "\n\n" + table(rows) + "\n"
