"""The cost model: how much simulated time the kernel's own work takes."""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import MAX_TIME

__all__ = ["Costs"]


def _duration(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Costs.{name} must be an int number of nanoseconds, not {type(value).__name__}")
    if value < 0 or value > MAX_TIME:
        raise ValueError(f"Costs.{name} must be between 0 and {MAX_TIME} ns, got {value}")
    return value


@dataclass(frozen=True)
class Costs:
    """Simulated nanoseconds charged for the kernel's own work.

    ``switch``: time a CPU spends on one context switch (saving one
    thread's registers, choosing the next, loading its registers). It is
    charged to the CPU as *overhead*, not to either thread, and the
    incoming thread starts running when it ends.

    The default, 800 ns, comes from measurements on the project's 2-core
    x86-64 machines (REFERENCE.md): two processes pinned to one CPU that
    call ``sched_yield`` in turn take 1.6 µs per pair of yields, i.e.
    about 0.8 µs per switch including the system call. ``Costs.zero()``
    makes switches free, so textbook examples come out exactly.

    ``migrate``: extra overhead of the first switch that brings in a thread
    just moved to another CPU's run queue (load balancing, idle stealing,
    a changed affinity), standing for the cache refill that follows a
    migration. It defaults to 0 because pykernel has no calibrated figure
    for it yet; set it to study migration-heavy policies.

    Memory (kernels with ``memory=``; docs/memory.md): ``page_walk`` is
    charged per page-table level read by a walk (a TLB miss), 4 ns by
    default: REFERENCE.md measures a bare C 4-level walk at about 60 M
    dependent walks/s, about 16 ns per walk. ``minor_fault``: handling a
    demand-zero fault (default 500 ns, an assumption of the order of a
    Linux minor fault; not calibrated on the project's machines). Both are
    CPU time of the thread that touches. ``tlb_flush``: a full TLB flush
    when a switch changes address space without ASIDs, charged as switch
    overhead; ``ipi``: one inter-processor interrupt of a TLB shootdown
    (defaults 100 ns and 1,000 ns, assumptions, not calibrated).

    Kernel objects (docs/objects.md): ``syscall`` is CPU time of the
    thread for each script ``write`` or ``read`` on a channel, socket or
    pipe once it is done (the system call and the copy), 200 ns by
    default: REFERENCE.md measures a pipe write + read in one thread at
    0.40 µs. ``wakeup`` is added when that instruction had to wait (the
    wake-up of a sleeping thread and its return through the kernel),
    150 ns by default: with two switches (1.6 µs) and four pipe calls
    (0.8 µs), two wake-ups make up the 2.7 µs per round trip that
    REFERENCE.md measures for ``perf bench sched pipe`` (docs/tools.md,
    "Calibration"). Python bodies' ``ctx.write`` / ``ctx.read`` are not
    charged.

    Machine code (docs/riscv.md): each RISC-V instruction takes
    ``insn_cycles`` cycles of a ``clock_hz`` clock; the defaults, 1 cycle
    at 1 GHz (1 ns per instruction), stand for a simple in-order core of
    the class the RV64 boards run at (about 1-1.5 GHz, CPI near 1 on
    integer code); they are assumptions, not calibrated. ``Costs.zero()``
    keeps them: an instruction is the program's own work, not overhead.
    """

    switch: int = 800
    migrate: int = 0
    page_walk: int = 4
    minor_fault: int = 500
    tlb_flush: int = 100
    ipi: int = 1_000
    syscall: int = 200
    wakeup: int = 150
    insn_cycles: int = 1
    clock_hz: int = 1_000_000_000

    def __post_init__(self):
        _duration("switch", self.switch)
        _duration("migrate", self.migrate)
        for name in ("page_walk", "minor_fault"):
            if _duration(name, getattr(self, name)) > MAX_TIME // 8:
                raise ValueError(f"Costs.{name} must be at most {MAX_TIME // 8} ns")
        _duration("tlb_flush", self.tlb_flush)
        _duration("ipi", self.ipi)
        for name in ("syscall", "wakeup"):
            if _duration(name, getattr(self, name)) > MAX_TIME // 4:
                raise ValueError(f"Costs.{name} must be at most {MAX_TIME // 4} ns")
        for name, lo, hi in (("insn_cycles", 1, 1000), ("clock_hz", 1000, 10**12)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"Costs.{name} must be an int, not {type(v).__name__}")
            if not lo <= v <= hi:
                raise ValueError(f"Costs.{name} must be between {lo} and {hi}, got {v}")

    @classmethod
    def zero(cls) -> "Costs":
        """A cost model in which the kernel's own work takes no time."""
        return cls(switch=0, migrate=0, page_walk=0, minor_fault=0, tlb_flush=0, ipi=0,
                   syscall=0, wakeup=0)   # instructions keep their time (insn_cycles, clock_hz)

    def _configure(self, c) -> None:
        """Write this cost model into a C ``pk_costs`` (cffi)."""
        c.switch_ns, c.migrate_ns, c.walk_ns = self.switch, self.migrate, self.page_walk
        c.minor_fault_ns, c.tlb_flush_ns, c.ipi_ns = self.minor_fault, self.tlb_flush, self.ipi
        c.syscall_ns, c.wakeup_ns = self.syscall, self.wakeup
        c.insn_cycles, c.clock_hz = self.insn_cycles, self.clock_hz
