"""Machine code as processes: the RISC-V program examples/hello_rv64.elf
(built from examples/hello_rv64.c) run twice in one kernel, beside a
script process, on Sv39 page tables (docs/riscv.md)."""

import pykernel as pk
from pykernel.riscv import example_path

prog = pk.Program.elf(example_path("hello_rv64.elf"))
k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=20), memory=pk.Memory(),
              mmu=pk.MMU(format="sv39"))
a = k.spawn(prog, argv=["hello", "first"])
b = k.spawn(prog, argv=["hello", "second"])
s = k.spawn(pk.Program.script("script", [pk.op.compute(500)]))
k.run()
for p in (a, b):
    print(f"{p.name}: {p.stdout!r}, exit code {p.exit_code}, "
          f"{p.instructions} instructions, {p.syscalls} system calls, "
          f"{p.aspace.stats.page_faults} page faults")
print(f"script: exit code {s.exit_code}; context switches: {k.stats.context_switches}; "
      f"TLB: {k.tlb_stats(0)}")
