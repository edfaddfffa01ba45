"""The cost model: how much simulated time the kernel's own work takes."""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from . import _refusal
from ._ffi import ffi, lib
from ._validate import put

__all__ = ["Costs"]


def _write(c, switch, migrate, page_walk, minor_fault, tlb_flush, ipi, syscall, wakeup,
           insn_cycles, clock_hz, fork, socket) -> None:
    """The fields of a Costs, in their order, into a C ``pk_costs``."""
    c.switch_ns, c.migrate_ns, c.walk_ns = switch, migrate, page_walk
    c.minor_fault_ns, c.tlb_flush_ns, c.ipi_ns = minor_fault, tlb_flush, ipi
    c.syscall_ns, c.wakeup_ns = syscall, wakeup
    c.insn_cycles, c.clock_hz = insn_cycles, clock_hz
    c.fork_ns, c.socket_ns = fork, socket


@dataclass(frozen=True)
class Costs:
    """Simulated nanoseconds charged for the kernel's own work.

    ``switch``: time a CPU spends on one context switch (saving one
    thread's registers, choosing the next, loading its registers). It is
    charged to the CPU as *overhead*, not to either thread, and the
    incoming thread starts running when it ends.

    The default, 800 ns, comes from measurements on the project's 2-core
    x86-64 machines (docs/references.md [pk-host]): two processes pinned to one CPU that
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
    default: a bare C 4-level walk runs at about 60 M
    dependent walks/s on those machines, about 16 ns per walk. ``minor_fault``: handling a
    demand-zero fault (default 500 ns, an assumption of the order of a
    Linux minor fault; not calibrated on the project's machines). Both are
    CPU time of the thread that touches. ``tlb_flush``: a full TLB flush
    when a switch changes address space without ASIDs, charged as switch
    overhead; ``ipi``: one inter-processor interrupt of a TLB shootdown
    (defaults 100 ns and 1,000 ns, assumptions, not calibrated).

    Kernel objects (docs/objects.md): ``syscall`` is CPU time of the
    thread for each script ``write`` or ``read`` on a channel, socket or
    pipe once it is done (the system call and the copy), 200 ns by
    default: a pipe write + read in one thread takes 0.40 µs there. ``wakeup`` is added when that instruction had to wait (the
    wake-up of a sleeping thread and its return through the kernel),
    150 ns by default: with two switches (1.6 µs) and four pipe calls
    (0.8 µs), two wake-ups make up the 2.7 µs per round trip measured
    there for ``perf bench sched pipe`` (docs/tools.md,
    "Calibration"). Python bodies' ``ctx.write`` / ``ctx.read`` are not
    charged.

    ``socket``: added to ``syscall`` for a script ``write`` or ``read`` on
    a stream or datagram socket (not a pipe), 0 by default. Linux's
    AF_UNIX sockets allocate and free a socket buffer (``sk_buff``) per
    write and take the socket locks (net/unix/af_unix.c), where a pipe
    copies into pages it already has (fs/pipe.c); ``pykernel calibrate``
    measures the difference on the host (docs/tools.md, "Calibration").

    ``fork``: CPU time of the thread that runs a script ``fork`` that
    makes a child (copying the regions and page tables, creating the
    process), 0 by default. ``pykernel calibrate`` fits it to a loop of
    fork, exit and reaping, so a fitted figure also holds the child's exit
    and the parent's wait.

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
    fork: int = 0
    socket: int = 0

    def __post_init__(self):
        # Python checks the types; the ranges are the core's (pk_costs_check)
        given: dict = {}
        values = []
        for i, f in enumerate(fields(self)):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int):
                unit = " number of nanoseconds" if f.name not in ("insn_cycles", "clock_hz") else ""
                raise TypeError(f"Costs.{f.name} must be an int{unit}, not {type(v).__name__}")
            values.append(put(given, lib.PK_F_COST + i, f"Costs.{f.name}", v, "u64"))
        c = ffi.new("pk_costs *")
        _write(c, *values)
        refused = _refusal.costs_error(c, given)
        if refused is not None:
            raise refused

    @classmethod
    def zero(cls) -> "Costs":
        """A cost model in which the kernel's own work takes no time."""
        return cls(switch=0, migrate=0, page_walk=0, minor_fault=0, tlb_flush=0, ipi=0,
                   syscall=0, wakeup=0)   # instructions keep their time (insn_cycles, clock_hz)

    def _configure(self, c) -> None:
        """Write this cost model into a C ``pk_costs`` (cffi)."""
        _write(c, *(getattr(self, f.name) for f in fields(self)))

    def to_toml(self) -> str:
        """This cost model as TOML: a ``[costs]`` table with every field,
        the form :meth:`loads` reads and scenario files accept."""
        lines = ["[costs]"] + [f"{f.name} = {getattr(self, f.name)}" for f in fields(self)]
        return "\n".join(lines) + "\n"

    def save(self, path, comment: str | None = None) -> None:
        """Write :meth:`to_toml` to ``path``, after ``comment`` (each of
        its lines becomes a TOML comment) if given."""
        head = "".join(f"# {line}".rstrip() + "\n" for line in comment.splitlines()) if comment else ""
        Path(path).write_text(head + self.to_toml())

    @classmethod
    def loads(cls, text: str, path: str = "<string>") -> "Costs":
        """A cost model from TOML text: the fields of its ``[costs]``
        table; missing fields keep their defaults, durations may carry a
        unit ("800 ns", "2 us"). A mistake (bad TOML, another table, an
        unknown field, a bad value) raises ValueError naming ``path`` and
        the line."""
        from .scenario import Scenario, ScenarioError, locate
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(path, None, "", str(exc)) from None
        sc = Scenario(data, locate(text), path)
        if set(data) != {"costs"}:
            other = sorted(set(data) - {"costs"})
            raise sc.error((other[0],) if other else (), "a costs file holds one [costs] table")
        if isinstance(data["costs"], dict) and "file" in data["costs"]:
            raise sc.error(("costs", "file"), "a costs file cannot name another")
        return sc.costs()

    @classmethod
    def load(cls, path) -> "Costs":
        """A cost model from the TOML file ``path`` (see :meth:`loads`),
        such as :meth:`save` and ``pykernel calibrate`` write."""
        return cls.loads(Path(path).read_text(), str(path))
