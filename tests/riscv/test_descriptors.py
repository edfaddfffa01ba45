"""Descriptor tables of RISC-V processes (docs/userland.md, "Descriptors
and pipes"): what the table holds after real system calls, what fork and
execve do to it (pk_fd_fork, pk_fd_exec, through pykernel.fds), the books
the audit recounts, snapshots of tables, descriptions and pipe contents,
and SIGPIPE kept pending until signals exist.

fdhold.c (tests/riscv/progs) opens, in order: "held" read-write (3) and
read-only with O_CLOEXEC (4), a pipe with O_CLOEXEC (5, 6) holding "xy",
dup(3) (7), seeks 3 to offset 2, unlinks "held", and with an argument
blocks reading a second pipe (8, 9) that nothing writes."""

from __future__ import annotations

import struct

import pytest

from rvrun import pk_kernel, program  # noqa: F401 (program: a fixture)

import pykernel as pk
from pykernel._ffi import lib
from pykernel.fds import descriptors, exec_descriptors, fork_descriptors, process_files

O_RDONLY, O_WRONLY, O_RDWR, O_LARGEFILE = 0, 1, 2, 0o100000


def held(program):
    """A kernel with fdhold blocked in its read, and the process."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("fdhold"))), argv=["fdhold", "wait"])
    r = k.run()
    assert r.reason == "deadlock"                  # its only thread waits on the empty pipe
    assert p.threads[0].state == "waiting"
    assert bytes(p.stdout) == b"3 4 5 6 7\n"
    return k, p


def table(p):
    return [(d.fd, d.kind, d.cloexec, d.flags, d.refs, d.offset, d.pipe_bytes)
            for d in descriptors(p)]


def test_table_after_the_calls(program):
    k, p = held(program)
    # open(2): F_GETFL shows the access mode and O_LARGEFILE (64-bit Linux
    # forces it), not O_CREAT/O_TRUNC/O_CLOEXEC; dup(2): 3 and 7 share one
    # description (refs 2, one offset); pipe(7): "xy" waits in the pipe
    assert table(p) == [
        (0, "stdin", False, O_RDONLY, 1, 0, 0),
        (1, "stdout", False, O_WRONLY, 1, 0, 0),
        (2, "stderr", False, O_WRONLY, 1, 0, 0),
        (3, "file", False, O_RDWR | O_LARGEFILE, 2, 2, 0),
        (4, "file", True, O_RDONLY | O_LARGEFILE, 1, 0, 0),
        (5, "pipe-read", True, O_RDONLY, 1, 0, 2),
        (6, "pipe-write", True, O_WRONLY, 1, 0, 2),
        (7, "file", False, O_RDWR | O_LARGEFILE, 2, 2, 0),
        (8, "pipe-read", False, O_RDONLY, 1, 0, 0),
        (9, "pipe-write", False, O_WRONLY, 1, 0, 0),
    ]
    d = descriptors(p)
    assert d[3].description == d[7].description != d[4].description
    assert d[3].ino == d[4].ino                    # one inode, two descriptions


def test_an_unlinked_open_file_lives_until_its_last_close(program):
    k, p = held(program)
    assert k.fs.usage.orphans == 1                 # "held": no name, held open
    p.kill()
    assert descriptors(p) == []
    assert k.fs.usage.orphans == 0
    k.audit().check()


def test_a_process_killed_while_blocked_on_a_pipe_snapshots(program):
    # the other end stays open in a second process: nothing wakes the
    # blocked thread, its wait ends with its process
    k, p = held(program)
    other = k.spawn(pk.Program.script("other", [pk.op.compute(10)]))
    fork_descriptors(p, other)
    p.kill()
    k2 = pk.Kernel.restore(k.snapshot())
    k2.audit().check()
    assert [d.fd for d in descriptors(k2.process(other.pid))] == list(range(10))


def test_fork_shares_every_description(program):
    k, p = held(program)
    child = k.spawn(pk.Program.script("child", [pk.op.compute(10)]))
    fork_descriptors(p, child)
    before = descriptors(p)
    after = descriptors(child)
    # fork(2): "the child inherits copies of the parent's set of open file
    # descriptors ... refer to the same open file descriptions"
    assert [(d.fd, d.description, d.cloexec) for d in after] == \
        [(d.fd, d.description, d.cloexec) for d in before]
    assert [d.refs for d in before] == [2, 2, 2, 4, 2, 2, 2, 4, 2, 2]
    k.audit().check()


def test_fork_needs_a_child_without_a_table(program):
    k, p = held(program)
    child = k.spawn(pk.Program.script("child", [pk.op.compute(10)]))
    fork_descriptors(p, child)
    with pytest.raises(pk.BadState):
        fork_descriptors(p, child)


def test_exec_closes_the_close_on_exec_descriptors(program):
    k, p = held(program)
    child = k.spawn(pk.Program.script("child", [pk.op.compute(10)]))
    fork_descriptors(p, child)
    exec_descriptors(child)
    # execve(2): descriptors with FD_CLOEXEC are closed; the others stay
    assert [d.fd for d in descriptors(child)] == [0, 1, 2, 3, 7, 8, 9]
    assert [d.refs for d in descriptors(p)] == [2, 2, 2, 4, 1, 1, 1, 4, 2, 2]
    k.audit().check()


def test_a_process_s_umask_group_and_session(program):
    k, p = held(program)
    # a spawned process leads its own group and session; umask 022
    assert process_files(p) == pk.fds.ProcessFiles(0o022, p.pid + 1, p.pid + 1, 0)


def test_a_write_without_readers_leaves_sigpipe_pending(program):
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("files"))), argv=["files"])
    k.run()
    assert p.exit_code == 0
    assert process_files(p).sigpipe == 1           # files.c writes once to a pipe with no reader


def test_snapshot_keeps_tables_descriptions_and_pipe_bytes(program):
    k, p = held(program)
    k2 = pk.Kernel.restore(k.snapshot())
    p2 = k2.process(p.pid)
    assert table(p2) == table(p)
    assert [d.description for d in descriptors(p2)] == [d.description for d in descriptors(p)]
    assert k2.fs.usage == k.fs.usage
    k2.audit().check()
    p2.kill()
    assert k2.fs.usage.orphans == 0
    k2.audit().check()


def test_blocking_pipe_between_threads_is_deterministic(program):
    outs = []
    for _ in range(2):
        k = pk_kernel()
        p = k.spawn(pk.Program.elf(str(program("pipe_threads"))), argv=["pipe_threads"])
        k.run()
        outs.append((bytes(p.stdout), p.exit_code, k.digest()))
    assert outs[0] == outs[1]
    assert outs[0][:2] == (b"poll 1 revents 1\nreceived 200000 bytes, same 1\n", 0)


def fd_section(snap: bytes) -> tuple[int, int]:
    """Where the payload of the descriptor section ("FD  ", version 1) is."""
    at = snap.find(b"FD  \x01\x00\x00\x00")
    assert at > 0
    (n,) = struct.unpack_from("<Q", snap, at + 8)
    return at + 16, at + 16 + n


def resealed(data: bytes) -> bytes:
    body = data[:-8]
    return body + struct.pack("<Q", lib.pk_snapshot_checksum(body, len(body)))


def test_a_damaged_descriptor_section_is_refused_or_balanced(program):
    # every single-byte change of the section: restore refuses it, or the
    # kernel it makes passes the audit (a changed offset, flag or umask)
    k, p = held(program)
    snap = k.snapshot()
    start, end = fd_section(snap)
    refused = 0
    for i in range(start, end):
        for bit in (0x01, 0x80):
            data = bytearray(snap)
            data[i] ^= bit
            try:
                k2 = pk.Kernel.restore(resealed(bytes(data)))
            except pk.SnapshotError:
                refused += 1
                continue
            k2.audit().check()
    assert refused > 0


@pytest.mark.parametrize("until", [500_000, 1_500_000, 3_000_000])
def test_a_snapshot_mid_run_goes_on_as_the_run_does(program, until):
    # threads blocked in poll (with a deadline) and on the pipe, bytes in
    # the pipe: the restored kernel ends exactly as the original does
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("pipe_threads"))), argv=["pipe_threads"])
    k.run(until=until)
    k2 = pk.Kernel.restore(k.snapshot())
    k2.audit().check()
    k.run()
    k2.run()
    p2 = k2.process(p.pid)
    assert (bytes(p2.stdout), p2.exit_code, k2.digest()) == (bytes(p.stdout), p.exit_code, k.digest())


def test_descriptors_and_handles_are_two_tables(program):
    k, p = held(program)
    # pipe2's ends are not handles: the process holds none
    assert p.handles == []
    with pytest.raises(pk.BadHandle):
        p.handle(3).rights                     # descriptor 3 names no handle
    before = descriptors(p)
    e = p.event_create()
    assert [h.koid for h in p.handles] == [e.koid]
    assert e.value in range(10)                # a number a descriptor also has ...
    assert descriptors(p) == before            # ... which still names what it did
