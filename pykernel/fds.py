"""Unix descriptors of processes, seen from Python (docs/userland.md,
"Descriptors and pipes").

A process that makes Linux system calls (machine code, docs/riscv.md) has
a table of descriptors in the C core (csrc/unix/pk_fd.c), set up at its first
use with 0, 1 and 2 on its standard streams. Each descriptor names an
open file description (shared by ``dup`` and ``fork``: one offset, one
set of status flags) and has its own close-on-exec flag. The table is not
the process's handle table (docs/objects.md): a descriptor number is
never a handle value, nor the reverse.

:func:`descriptors` lists a process's table; :func:`fork_descriptors` and
:func:`exec_descriptors` are what ``fork`` and ``execve`` do to it (the
table copied into the child; close-on-exec descriptors closed), for the
code that creates and replaces processes.

Example::

    import pykernel as pk
    from pykernel.fds import descriptors, fork_descriptors
    k = pk.Kernel()
    parent = k.spawn(pk.Program.script("p", [pk.op.compute(1000)]))
    child = k.spawn(pk.Program.script("p", [pk.op.compute(1000)]))
    assert descriptors(child) == []               # not used yet
    fork_descriptors(parent, child)
    assert [d.kind for d in descriptors(child)] == ["stdin", "stdout", "stderr"]
    assert [d.refs for d in descriptors(parent)] == [2, 2, 2]
"""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import ffi, lib
from .errors import check

__all__ = ["Descriptor", "ProcessFiles", "FdAudit", "descriptors", "process_files",
           "fork_descriptors", "exec_descriptors", "audit"]

_KINDS = {lib.PK_FDK_FILE: "file", lib.PK_FDK_PIPE_R: "pipe-read", lib.PK_FDK_PIPE_W: "pipe-write"}
_STREAMS = ("stdin", "stdout", "stderr")


@dataclass(frozen=True)
class Descriptor:
    """One descriptor: its number ``fd``; ``description``, the index of
    the open file description it names (equal for descriptors that share
    one); ``kind`` ("file", "pipe-read", "pipe-write", or "stdin",
    "stdout", "stderr" for the standard streams); ``cloexec``; ``flags``
    (the open(2) access mode and status flags, as F_GETFL returns them);
    ``ino`` (files: the inode); ``refs`` (descriptors, in all processes,
    naming the description); ``offset``; ``pipe_bytes`` (pipes: bytes
    buffered)."""

    fd: int
    description: int
    kind: str
    cloexec: bool
    flags: int
    ino: int
    refs: int
    offset: int
    pipe_bytes: int


@dataclass(frozen=True)
class ProcessFiles:
    """A process's file-creation mask, process group, session (Linux ids)
    and how many SIGPIPEs its writes to pipes without readers sent it
    (docs/signals.md: delivered as any signal, ending the process unless
    it ignores or catches SIGPIPE)."""

    umask: int
    pgid: int
    sid: int
    sigpipe: int


@dataclass(frozen=True)
class FdAudit:
    """The descriptor books recounted: each description's reference count
    against the descriptors naming it, files live and held, pipe ends on
    pipe objects. Every ``bad_*`` is 0 when they balance."""

    descriptors: int
    descriptions: int
    pipe_ends: int
    bad_descriptors: int
    bad_refs: int
    bad_files: int
    bad_pipes: int
    bad_descriptions: int

    def problems(self) -> list[str]:
        """Each broken rule, in words (empty: the books balance)."""
        words = {"bad_descriptors": "descriptors name a free description",
                 "bad_refs": "descriptions have a reference count other than their descriptors",
                 "bad_files": "descriptions name an inode that is gone or not held",
                 "bad_pipes": "pipe ends are not on a pipe object",
                 "bad_descriptions": "descriptions are of no known kind"}
        return [f"{getattr(self, f)} {w}" for f, w in words.items() if getattr(self, f)]


def descriptors(process) -> list[Descriptor]:
    """The descriptors of ``process`` in order of number (empty until its
    table is used)."""
    k, pid = process._k, process.pid
    n = ffi.new("uint32_t *")
    check(lib.pk_fd_list(k._kp, pid, ffi.NULL, 0, n), "descriptors")
    buf = ffi.new("pk_fd_info[]", max(n[0], 1))
    check(lib.pk_fd_list(k._kp, pid, buf, n[0], n), "descriptors")
    out = []
    for i in range(n[0]):
        d = buf[i]
        kind = _STREAMS[d.stream] if d.kind == lib.PK_FDK_STD else _KINDS[d.kind]
        out.append(Descriptor(d.fd, d.description, kind, bool(d.cloexec), d.flags, d.ino,
                              d.refs, d.offset, d.pipe_bytes))
    return out


def process_files(process) -> ProcessFiles:
    """The umask, process group, session and SIGPIPEs sent of ``process``."""
    x = ffi.new("pk_fd_proc *")
    check(lib.pk_fd_proc_get(process._k._kp, process.pid, x), "process_files")
    return ProcessFiles(x.umask, x.pgid, x.sid, x.sigpipe)


def fork_descriptors(parent, child) -> None:
    """What fork(2) does to descriptors: ``child`` (whose table is not set
    up yet; :class:`~pykernel.BadState` otherwise) gets a copy of
    ``parent``'s table, each descriptor naming the same description with
    the same close-on-exec flag; umask, group and session are copied."""
    if parent._k is not child._k:
        raise ValueError("fork_descriptors: the processes are of different kernels")
    check(lib.pk_fd_fork(parent._k._kp, parent.pid, child.pid), "fork_descriptors")


def exec_descriptors(process) -> None:
    """What execve(2) does to descriptors: those with close-on-exec close."""
    check(lib.pk_fd_exec(process._k._kp, process.pid), "exec_descriptors")


def audit(kernel) -> FdAudit:
    """Recount the descriptor books of ``kernel`` (:class:`FdAudit`)."""
    a = ffi.new("pk_fd_audit *")
    check(lib.pk_fd_audit_run(kernel._kp, a), "audit")
    return FdAudit(a.descriptors, a.descriptions, a.pipe_ends, a.bad_descriptors, a.bad_refs,
                   a.bad_files, a.bad_pipes, a.bad_descriptions)
