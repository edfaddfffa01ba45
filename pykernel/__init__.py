"""pykernel: an operating-system kernel simulator with a C core.

Build a machine and a workload in a few lines, run it for simulated
seconds, and read the results::

    import pykernel as pk

    k = pk.Kernel(cpus=1, scheduler=pk.sched.RoundRobin(quantum=4), costs=pk.Costs.zero())
    cpu = pk.Program.script("cpu", [pk.op.compute(24)])
    p = k.spawn(cpu, name="P1")
    k.run()
    print(p.stats.turnaround)

Public names: :class:`Kernel`, :class:`Program`, :class:`Process`,
:class:`Thread`, :class:`Costs`, the modules :mod:`pykernel.sched` and
:mod:`pykernel.op`, and the errors in :mod:`pykernel.errors`.
"""

from . import op, plot, sched
from .context import Context
from .costs import Costs
from .errors import (AccessDenied, BadHandle, BadState, BufferTooSmall, Canceled,
                     InternalError, InvalidArgs, KernelError, NoMemory, NotSupported,
                     OutOfRange, PeerClosed, PolicyError, ShouldWait, TimedOut, WrongType)
from .errors import (Busy, DirectoryNotEmpty, FileExists, FileTooLarge, IsADirectory, NameTooLong,
                     NoDevice, NoSpace, NotADirectory, NotExecutable, NotFound, SymlinkLoop,
                     TooManyLinks)
from .fs import FileSystem, FsAudit, FsUsage, Stat
from .memory import (MMU, AddressSpace, AddressSpaceStats, Fault, FaultSample, Memory, MemoryStats,
                     PageRequest, SharedMemory,
                     PageEntry, Region, TlbStats)
from .limits import LimitUse, Limits
from .kernel import CpuStats, Kernel, KernelStats, Latency, ProcessGroup, RunResult, jain_index
from .process import JobStats, PeriodicJob, Process, Registers, Stats, Thread
from .program import PeriodicTask, Program
from .objects import Handle, Message, ObjectStats, Packet, Rights, Signals
from .deadlock import Banker, Deadlock, WaitEdge
from .livelock import Livelock
from .jobs import JobObject
from .trace import Trace, TraceEvent
from . import audit, report, riscv, scenario, tables, workloads
from .sweeps import SweepResult, sweep
from .snapshot import SnapshotError
from .cache import CacheModel
from .sched import SchedParams
from . import signals
from .signals import Signal
from .signals import *  # noqa: F401,F403  (SIGHUP .. SIGRTMAX)

__version__ = "0.1.0"

__all__ = [
    "Kernel", "CacheModel", "Limits", "LimitUse", "Program", "Process", "Thread", "Context", "Costs", "Stats", "Registers",
    "PeriodicJob", "JobStats", "PeriodicTask", "Handle", "Message", "Rights", "Signals", "ObjectStats",
    "Deadlock", "Livelock", "WaitEdge", "Banker", "JobObject", "Packet",
    "Memory", "MMU", "AddressSpace", "AddressSpaceStats", "MemoryStats", "Region", "Fault",
    "FaultSample", "SharedMemory", "PageRequest",
    "PageEntry", "TlbStats", "Trace", "TraceEvent",
    "RunResult", "KernelStats", "CpuStats", "ProcessGroup", "Latency", "jain_index", "op", "sched",
    "plot", "audit", "report", "riscv", "scenario", "tables", "workloads", "sweep", "SweepResult",
    "KernelError", "InternalError", "NotSupported", "NoMemory", "InvalidArgs", "BadHandle",
    "WrongType", "OutOfRange", "BufferTooSmall", "BadState", "TimedOut", "ShouldWait",
    "Canceled", "PeerClosed", "AccessDenied", "PolicyError", "SnapshotError", "SchedParams",
    "__version__",
    "FileSystem", "Stat", "FsUsage", "FsAudit", "NotFound", "FileExists", "NotADirectory",
    "IsADirectory", "DirectoryNotEmpty", "SymlinkLoop", "NameTooLong", "NoSpace", "FileTooLarge",
    "TooManyLinks", "NotExecutable", "NoDevice", "Busy",
    "Signal", "signals",
] + [s.name for s in Signal]


def __getattr__(name: str):
    """Deprecated names: ``pk.Job`` is :class:`PeriodicJob` (a job of a
    periodic task, not a :class:`JobObject`); using it warns."""
    if name == "Job":
        from ._deprecated import warn
        warn("pykernel.Job", "pykernel.PeriodicJob (a periodic task's job; "
             "pykernel.JobObject is a job of processes)")
        return PeriodicJob
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
