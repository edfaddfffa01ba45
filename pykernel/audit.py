"""Audits: the core's own books, recounted from its structures.

:meth:`pykernel.Kernel.audit` walks every page table, shared-memory
object, handle table and channel queue and compares what it finds with the
reference counts and counters the core keeps.  It costs time in
proportion to the frames, objects and handles, so it is meant for tests,
fuzzing and soak runs, not for every step of a simulation
(docs/trust.md)."""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import ffi, lib
from .errors import InternalError, check

__all__ = ["Audit", "audit"]


@dataclass(frozen=True)
class Audit:
    """What an audit found.

    Memory (None in a kernel without ``memory=``): ``frames_used`` (frames
    with a reference count), ``frames_referenced`` (frames some page table,
    shared-memory object or ELF image's page cache refers to), ``frames_mismatched`` (frames whose
    count differs from the references found: a leak or a dangling
    mapping), ``frames_free`` (the free count the core keeps),
    ``frames`` (configured), ``page_table_pages`` (found by the walk) and
    ``page_table_pages_counted`` (the core's counter), ``mappings``
    (present leaves), ``swapped`` (swapped-out leaves).

    Handles: ``table_handles`` (in process tables), ``handles_counted``
    (the core's counter of the same), ``flight_handles`` (inside queued
    messages), ``messages`` (found in queues) and ``messages_counted``,
    ``bad_refs`` (channels, events and event pairs whose reference count
    is not the number of handles to them), ``short_refs`` (objects of any
    kind with fewer references than handles).

    Process tree: ``tree_bad_links`` (processes whose links disagree: a
    child its parent does not list, a child count that differs, a zombie
    without a parent, a reaped process still linked) and ``tree_cycles``
    (processes whose chain of parents does not end).

    File system (None until it is used): ``fs``, a
    :class:`~pykernel.fs.FsAudit` (link counts against directory entries,
    references against working directories, data pages). Descriptors
    (None until a process uses them): ``fds``, a
    :class:`~pykernel.fds.FdAudit` (descriptions' reference counts against
    descriptors, the files and pipe objects they hold).

    Signals: ``signal_bad`` (machine-code signal state that breaks its
    rules: SIGKILL or SIGSTOP in a mask, a signal record shared or named by
    no process, timer events counted wrong; docs/signals.md)."""

    frames: int | None
    frames_free: int | None
    frames_used: int | None
    frames_referenced: int | None
    frames_mismatched: int | None
    page_table_pages: int | None
    page_table_pages_counted: int | None
    mappings: int | None
    swapped: int | None
    table_handles: int
    handles_counted: int
    flight_handles: int
    messages: int
    messages_counted: int
    bad_refs: int
    short_refs: int
    tree_bad_links: int = 0
    tree_cycles: int = 0
    signal_bad: int = 0
    fs: object = None           # the file system's (pykernel.fs.FsAudit), None if unused
    fds: object = None          # descriptors' (pykernel.fds.FdAudit), None if unused

    def problems(self) -> list[str]:
        """Each broken rule, in words (empty: the books balance)."""
        out = []
        if self.frames is not None:
            if self.frames_mismatched:
                out.append(f"{self.frames_mismatched} frames have a reference count that "
                           f"differs from the mappings found")
            if self.frames_used != self.frames - self.frames_free:
                out.append(f"{self.frames_used} frames in use but {self.frames} - "
                           f"{self.frames_free} free = {self.frames - self.frames_free}")
            if self.frames_used != self.frames_referenced:
                out.append(f"{self.frames_used} frames in use, {self.frames_referenced} "
                           f"referenced")
            if self.page_table_pages != self.page_table_pages_counted:
                out.append(f"{self.page_table_pages} page-table pages found, "
                           f"{self.page_table_pages_counted} counted")
        if self.table_handles != self.handles_counted:
            out.append(f"{self.table_handles} handles in tables, {self.handles_counted} counted")
        if self.messages != self.messages_counted:
            out.append(f"{self.messages} messages queued, {self.messages_counted} counted")
        if self.bad_refs:
            out.append(f"{self.bad_refs} objects have a reference count other than their handles")
        if self.short_refs:
            out.append(f"{self.short_refs} objects have fewer references than handles")
        if self.tree_bad_links:
            out.append(f"{self.tree_bad_links} processes have tree links that disagree")
        if self.tree_cycles:
            out.append(f"{self.tree_cycles} processes have a chain of parents that does not end")
        if self.signal_bad:
            out.append(f"{self.signal_bad} signal records break their rules")
        if self.fs is not None:
            out += ["file system: " + p for p in self.fs.problems()]
        if self.fds is not None:
            out += ["descriptors: " + p for p in self.fds.problems()]
        return out

    def check(self) -> None:
        """Raise :class:`~pykernel.InternalError` naming every problem."""
        p = self.problems()
        if p:
            raise InternalError("audit: " + "; ".join(p))


def audit(k) -> Audit:
    """Audit kernel ``k`` (see :class:`Audit`)."""
    kp = k._kp
    o, st = ffi.new("pk_obj_audit *"), ffi.new("pk_obj_stats *")
    check(lib.pk_obj_audit_get(kp, o), "audit")
    check(lib.pk_obj_stats_get(kp, st), "audit")
    mem = [None] * 9
    if k.memory is not None:
        m, ms = ffi.new("pk_mem_audit *"), ffi.new("pk_mem_stats *")
        check(lib.pk_mem_audit_get(kp, m), "audit")
        check(lib.pk_mem_stats_get(kp, ms), "audit")
        mem = [ms.frames, ms.free, m.used, m.referenced, m.mismatched, m.pt_pages, ms.pt_pages,
               m.mappings, m.swapped]
    tr = ffi.new("pk_tree_audit *")
    check(lib.pk_tree_audit_get(kp, tr), "audit")
    sig = ffi.new("uint64_t *")
    check(lib.pk_sig_audit_get(kp, sig), "audit")
    fs = k.fs.audit()                    # counts nothing (0 inodes) until the file system is used
    return Audit(*mem, o.table_handles, st.handles, o.flight_handles, o.messages, st.messages,
                 o.bad_refs, o.short_refs, tr.bad_links, tr.cycles, sig[0],
                 fs if fs.inodes else None, _fds_audit(k))


def _fds_audit(k):
    from .fds import audit as fd_audit
    a = fd_audit(k)
    return a if a.descriptors or a.descriptions else None
