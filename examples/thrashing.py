"""Thrashing: sweep the number of processes of examples/thrashing.toml and
print page faults and useful CPU time; past seven working sets the faults
jump and the CPU mostly waits for swap (docs/memory.md, "Thrashing")."""

from pathlib import Path

import pykernel as pk

SCENARIO = Path(__file__).with_name("thrashing.toml")

res = pk.sweep(str(SCENARIO), {"processes.0.count": [4, 7, 8, 10, 16]}, executor="serial",
               db=False)
print(pk.report.table(
    ["processes", "page faults", "major faults", "CPU busy"],
    [[str(r["processes.0.count"]), f"{r['page_faults']:,}", f"{r['major_faults']:,}",
      f"{100 * r['utilization']:.1f}%"] for r in res]))
