"""Jobs: trees of processes that are killed together and carry limits
(csrc/obj/pk_jobobj.c, after Zircon's jobs; docs/objects.md).

Not to be confused with the jobs of periodic real-time tasks
(:class:`pykernel.PeriodicJob`): this is :class:`JobObject`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._ffi import FOREVER, ffi, lib
from ._lock import locked_views
from .errors import NotSupported, check

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["JobObject"]


@locked_views()
class JobObject:
    """A job: a node in the kernel's tree of jobs. Processes spawned with
    ``job=`` belong to it; ``max_processes`` bounds the live processes of
    its whole subtree and ``max_handles`` the handles they hold (going
    past either is ``NoMemory``, as for Zircon's job policies);
    ``max_memory`` (a kernel with ``pk.Memory`` only) bounds the bytes of
    resident user pages they hold, counted in whole pages: the page-in
    that would pass it kills the faulting process ("job memory limit")
    and a populating ``map`` from Python raises ``NoMemory``. ``kill()``
    kills every process in the subtree; a killed job takes no new ones."""

    __slots__ = ("_k", "id")

    def __init__(self, kernel: "Kernel", job_id: int):
        self._k = kernel
        self.id = job_id

    def _info(self):
        out = ffi.new("pk_jobobj_info *")
        check(lib.pk_jobobj_info_get(self._k._kp, self.id, out), "job info")
        return out

    @property
    def parent(self) -> "JobObject | None":
        """The parent job, or None for a root job."""
        p = self._info().parent
        return JobObject(self._k, p - 1) if p else None

    @property
    def process_count(self) -> int:
        """Live processes in the job and its descendants."""
        return self._info().procs

    @property
    def handle_count(self) -> int:
        """Handles held by those processes."""
        return self._info().handles

    @property
    def max_processes(self) -> int | None:
        """The limit on live processes in the subtree (None: none)."""
        v = self._info().max_procs
        return None if v == FOREVER else v

    @property
    def max_handles(self) -> int | None:
        """The limit on handles held in the subtree (None: none)."""
        v = self._info().max_handles
        return None if v == FOREVER else v

    @property
    def max_memory(self) -> int | None:
        """Bytes of resident user pages its subtree may hold (whole pages),
        or None."""
        v = self._info().max_memory
        return None if v == FOREVER else v

    @property
    def memory(self) -> int:
        """Bytes charged to its subtree: at least the resident user pages
        of its processes (pages freed are subtracted at the next page-in
        that reaches a limit, or when the process ends)."""
        return self._info().memory

    @property
    def killed(self) -> bool:
        """Whether the job (or an ancestor) was killed."""
        return bool(self._info().killed)

    @property
    def processes(self) -> list:
        """The processes that belong to this job itself (ever spawned in it)."""
        from .process import Process
        out = ffi.new("uint32_t *")
        found = []
        for pid in range(self._k._stats_raw().processes):
            check(lib.pk_jobobj_of(self._k._kp, pid, out), "job of")
            if out[0] == self.id + 1:
                found.append(Process(self._k, pid))
        return found

    def kill(self) -> None:
        """Kill every process of the job and its descendants."""
        with self._k._exclusive("kill a job"), self._k._hooks_may_run():
            check(lib.pk_jobobj_kill(self._k._kp, self.id), "kill job")

    def __eq__(self, other) -> bool:
        return isinstance(other, JobObject) and other._k is self._k and other.id == self.id

    def __hash__(self) -> int:
        return hash((id(self._k), self.id))

    def __repr__(self) -> str:
        return f"<JobObject {self.id} processes={self.process_count}>"


def _limit(what: str, v) -> int:
    if v is None:
        return FOREVER
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{what} must be an int or None, not {type(v).__name__}")
    if v < 0:
        raise ValueError(f"{what} must be >= 0, got {v}")
    if v >= FOREVER:
        raise ValueError(f"{what} must be below 2**64 - 1 (None: no limit), got {v}")
    return v


def create(k: "Kernel", parent, max_processes, max_handles, max_memory) -> JobObject:
    if parent is not None and (not isinstance(parent, JobObject) or parent._k is not k):
        raise TypeError("parent must be a JobObject of this kernel")
    out = ffi.new("uint32_t *")
    with k._exclusive("create a job"):
        check(lib.pk_jobobj_create(k._kp, 0 if parent is None else parent.id + 1,
                                   _limit("max_processes", max_processes),
                                   _limit("max_handles", max_handles), out), "job_create")
        if max_memory is not None:
            st = lib.pk_jobobj_limit_memory(k._kp, out[0], _limit("max_memory", max_memory))
            if st == lib.PK_ERR_NOT_SUPPORTED:
                raise NotSupported("job_create: max_memory needs a kernel with memory "
                                   "(pk.Kernel(memory=pk.Memory(...)))", st)
            check(st, "job_create")
    return JobObject(k, out[0])
