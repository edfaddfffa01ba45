"""Resource limits of a kernel (docs/guide.md, "Limits and memory").

A :class:`Limits` bounds what one kernel may hold: host memory of the C
core, threads, processes, handles, queued messages and their bytes,
simulated frames and trace events. Reaching a limit is an error of the
simulated kernel, never a host out-of-memory: the operation fails with
:class:`~pykernel.NoMemory` (or, for a configuration that asks for more
than a limit allows, :class:`~pykernel.OutOfRange`), whose message names
the limit and its value, and the kernel stays usable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields

from ._ffi import ffi, lib
from ._refusal import explain
from .errors import NoMemory, error

__all__ = ["Limits", "LimitUse", "host_memory_bytes", "default_max_memory"]


def host_memory_bytes() -> int | None:
    """Physical memory of the host in bytes, or None if the system does
    not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def default_max_memory() -> int | None:
    """The default ``Limits.max_memory``: three quarters of the host's
    physical memory (None, no limit, where the system does not say)."""
    total = host_memory_bytes()
    return None if total is None else total * 3 // 4


def _int_or_none(name, value):
    # What stays in Python: the type. The ranges, and whether a Memory or a
    # trace passes its limit, are the core's (pk_limits_check).
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"Limits {name} must be an int or None, not {type(value).__name__}")


_U64 = (1 << 64) - 1
# the Limits fields in the order of PK_LIM_* (csrc/core/pk_api.h)
LIMIT_FIELDS = ("max_memory", "max_threads", "max_processes", "max_handles", "max_messages",
                "max_message_bytes", "max_frames", "max_trace_events")


@dataclass(frozen=True)
class Limits:
    """What one kernel may hold; None means no limit of that kind.

    ``max_memory``: bytes of host memory the C core may hold for this
    kernel (threads, processes, page tables, frame contents, messages,
    trace...; ``k.stats.memory_bytes`` counts them). Default: three
    quarters of the host's physical memory, so that a simulation fails
    with ``NoMemory`` before the host runs out (each kernel has its own
    cap: several large kernels in one process should share it out).
    ``max_threads``: threads ever created (default 4,194,304).
    ``max_processes``: processes ever created (forks included).
    ``max_handles``: handles held in all handle tables at once.
    ``max_messages``: messages queued in all channels, and packets queued
    in all ports (or promised to one by an armed ``wait_async``), at once.
    ``max_message_bytes``: bytes queued in all channels and sockets at once.
    ``max_frames``: the largest ``Memory(frames=)`` accepted.
    ``max_trace_events``: the largest ``trace=`` bound accepted (24 bytes
    per event).

    Outside a run, an operation that would pass a limit raises
    ``NoMemory`` naming it, e.g. "thread limit reached (max_threads=8)",
    and changes nothing. Inside a run, a simulated thread's operation
    fails as in a real kernel: its status register (or the ``ctx`` call)
    gets NO_MEMORY and the thread goes on.
    """

    max_memory: int | None = field(default_factory=default_max_memory)
    max_threads: int = 1 << 22
    max_processes: int | None = None
    max_handles: int | None = None
    max_messages: int | None = None
    max_message_bytes: int | None = None
    max_frames: int | None = None
    max_trace_events: int | None = None

    def __post_init__(self):
        if self.max_threads is None:
            raise TypeError("Limits max_threads must be an int (threads need a bound)")
        for name in LIMIT_FIELDS:
            _int_or_none(name, getattr(self, name))
        err = self.check()
        if err is not None:
            raise err

    def check(self, frames: int = 0, trace_events: int = 0) -> Exception | None:
        """The error for these limits, or for a kernel asking for
        ``frames`` (a Memory's) or keeping ``trace_events`` (its trace's
        bound) beyond them (0: nothing asked), as the core's rules say
        (``pk_limits_check``, csrc/core/pk_kernel.c); None if they pass."""
        lim = ffi.new("pk_limits *")
        given = {}
        for i, name in enumerate(LIMIT_FIELDS):
            v = getattr(self, name)
            if v is None:
                continue
            lim.given |= 1 << i
            lim.value[i] = min(max(v, 0), _U64)      # clamped to its C field; shown as given
            if lim.value[i] != v:
                given[lib.PK_F_LIMIT + i] = (f"Limits {name}", v, "u64")
        why = ffi.new("pk_refusal *")
        status = lib.pk_limits_check(lim, frames, trace_events, why)
        if status:
            return error(status, "", explain(why, given=given))
        for field, (name, v, _) in given.items():
            return ValueError(f"{name} must fit in 64 bits (unsigned), got {v}")
        return None

    def _configure(self, cfg) -> None:
        """Copy the limits the C core enforces into a pk_config."""
        cfg.max_threads = self.max_threads
        cfg.max_memory = self.max_memory or 0
        cfg.max_procs = self.max_processes or 0
        cfg.max_handles = self.max_handles or 0
        cfg.max_messages = self.max_messages or 0
        cfg.max_message_bytes = self.max_message_bytes or 0

    @classmethod
    def _from_config(cls, cfg, max_frames=None, max_trace_events=None) -> "Limits":
        """The limits a pk_config holds (e.g. one read back from a saved
        kernel); the last two are not in it."""
        def opt(v):
            return v or None
        return cls(max_memory=opt(cfg.max_memory), max_threads=cfg.max_threads,
                   max_processes=opt(cfg.max_procs), max_handles=opt(cfg.max_handles),
                   max_messages=opt(cfg.max_messages),
                   max_message_bytes=opt(cfg.max_message_bytes),
                   max_frames=max_frames, max_trace_events=max_trace_events)

    def as_dict(self) -> dict:
        """The limits by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class LimitUse:
    """One limit of a kernel now: ``used`` (what it counts), ``limit``
    (None: none) and ``refused`` (operations it has refused so far)."""

    used: int
    limit: int | None
    refused: int


# PK_LIMIT_* -> (Limits field, what reaching it is called, unit)
_NAMES = {
    lib.PK_LIMIT_MEMORY: ("max_memory", "memory limit", " bytes"),
    lib.PK_LIMIT_THREADS: ("max_threads", "thread limit", ""),
    lib.PK_LIMIT_PROCS: ("max_processes", "process limit", ""),
    lib.PK_LIMIT_HANDLES: ("max_handles", "handle limit", ""),
    lib.PK_LIMIT_MESSAGES: ("max_messages", "queued message limit", ""),
    lib.PK_LIMIT_MESSAGE_BYTES: ("max_message_bytes", "queued byte limit", ""),
}


def limit_message(limits: Limits, which: int) -> tuple[str, str]:
    """(Limits field, "thread limit reached (max_threads=8)") for PK_LIMIT_*."""
    name, what, unit = _NAMES[which]
    return name, f"{what} reached ({name}={getattr(limits, name)}{unit})"


def limit_error(limits: Limits, which: int, context: str) -> NoMemory:
    """The NoMemory for an operation (``context``) that limit ``which``
    refused; its ``limit`` attribute is the Limits field."""
    name, text = limit_message(limits, which)
    err = NoMemory(f"{context}: {text}")
    err.limit = name
    return err


# PK_NOMEM_JOB_* -> (JobObject field, what reaching it is called, unit)
_JOB_NAMES = {
    lib.PK_NOMEM_JOB_PROCS: ("max_processes", "process limit", ""),
    lib.PK_NOMEM_JOB_HANDLES: ("max_handles", "handle limit", ""),
    lib.PK_NOMEM_JOB_MEMORY: ("max_memory", "memory limit", " bytes"),
}


def other_limit_error(k, context: str) -> NoMemory | None:
    """The NoMemory for an operation (``context``) that a limit outside
    :class:`Limits` refused (a job's, or a full handle table:
    pk_nomem_why), or None if none did; forgets it."""
    why, job = ffi.new("uint32_t *"), ffi.new("uint32_t *")
    if lib.pk_nomem_why(k._kp, why, job) or why[0] == lib.PK_NOMEM_NONE:
        return None
    lib.pk_limit_clear(k._kp)
    if why[0] in _JOB_NAMES:
        from .jobs import JobObject
        name, what, unit = _JOB_NAMES[why[0]]
        value = getattr(JobObject(k, job[0]), name)
        return NoMemory(f"{context}: {what} of job {job[0]} reached ({name}={value}{unit})")
    return NoMemory(f"{context}: the process's handle table is full "
                    f"({lib.PK_HANDLE_SLOTS:,} handles)")


def usage(limits: Limits, raw) -> dict:
    """{Limits field: LimitUse} from a pk_limit_stats."""
    return {name: LimitUse(raw.used[which], getattr(limits, name), raw.hits[which])
            for which, (name, _, _) in _NAMES.items()}
