"""Property: any sequence of descriptor operations (open with O_CREAT,
O_EXCL, O_TRUNC, O_APPEND; dup, dup2, dup3, close; fcntl F_DUPFD,
F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_SETPIPE_SZ; read, write, lseek,
ftruncate, fstat, unlink, pipe2, symlink, linkat with and without
AT_SYMLINK_FOLLOW, lstat) gives the same results and errnos on pykernel
as on Linux (qemu-riscv64 passes the calls to the host's kernel).
fdops.c runs the operations and prints each result; hypothesis makes the
sequences. A second property feeds the calls odd arguments."""

from __future__ import annotations

import os
import struct
import subprocess
import tempfile

from hypothesis import given, settings, strategies as st

import rvbuild as build
from rvrun import need_qemu, need_toolchain, pk_kernel

import pykernel as pk

FDS = st.integers(3, 12)
OPS = st.lists(st.tuples(st.integers(0, 25), FDS, FDS), min_size=1, max_size=40)


def script(ops) -> bytes:
    return "".join(f"{op} {a} {b}\n" for op, a, b in ops).encode()


def on_linux(path, stdin: bytes) -> bytes:
    with tempfile.TemporaryDirectory(prefix="pk-fdops-") as tmp:
        r = subprocess.run([build.QEMU, str(path)], input=stdin, capture_output=True,
                           cwd=tmp, env={}, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def on_pykernel(path, stdin: bytes) -> bytes:
    k = pk_kernel()
    k.fs.mkdir("/w")
    p = k.spawn(pk.Program.elf(str(path)), argv=["fdops"], stdin=stdin, cwd="/w")
    k.run()
    assert (p.state, p.exit_code) == ("exited", 0)
    k.audit().check()
    return bytes(p.stdout)


@settings(max_examples=40, deadline=None)
@given(OPS)
def test_descriptor_operations_match_linux(ops):
    need_toolchain()
    need_qemu()
    path = build.build("fdops")
    stdin = script(ops)
    assert on_pykernel(path, stdin) == on_linux(path, stdin)


def test_the_driver_reports_what_linux_says():
    # dup(2): the lowest free number; F_DUPFD: the lowest >= its argument;
    # dup3(2): EINVAL when both are equal; close(2): EBADF when not open
    need_toolchain()
    need_qemu()
    path = build.build("fdops")
    out = on_linux(path, b"0 3 3\n1 3 3\n5 3 9\n3 4 4\n4 7 3\n6 9 3\n")
    assert out == (b"0 3 3 -> 3 0\n1 3 3 -> 4 0\n5 3 9 -> 9 0\n3 4 4 -> -1 22\n"
                   b"4 7 3 -> -1 9\n6 9 3 -> 0 0\n")
    assert on_pykernel(path, b"0 3 3\n1 3 3\n5 3 9\n3 4 4\n4 7 3\n6 9 3\n") == out


# the calls of pk_rv_fd.c, and arguments near their edges
CALLS = [56, 57, 63, 64, 65, 66, 67, 68, 69, 70, 62, 71, 61, 79, 80, 291, 34, 35, 36, 37, 276,
         78, 48, 439, 53, 52, 54, 55, 88, 45, 46, 50, 23, 24, 25, 59, 29, 73, 72, 82, 83, 166,
         154, 155, 156, 157, 17, 49]
AREA = 0xB0 << 56
ARGS = st.one_of(st.integers(-2, 12), st.just(-100), st.sampled_from([0x100, 0x200, 0x1000, 0x5401,
                                                                       0x5413, 0o1102, 0o4000, 0o2000000]),
                 st.integers(0, 0xFFFF).map(lambda o: AREA | o),
                 st.sampled_from([AREA, AREA | 2, AREA | 7, AREA | 11, AREA | 20, AREA | 23,
                                  AREA | 0xFFF0, 1 << 63, (1 << 64) - 1, 1 << 40]),
                 st.integers(0, (1 << 64) - 1))
CALL = st.tuples(st.sampled_from(CALLS), *[ARGS] * 6)


@settings(max_examples=60, deadline=None)
@given(st.lists(CALL, min_size=1, max_size=30))
def test_odd_arguments_never_break_the_books(calls):
    # whatever the arguments: the run ends (a blocking call may leave it
    # waiting), and descriptors, files and objects balance, before and
    # after the process ends and across a snapshot
    need_toolchain()
    path = build.build("sysargs_fs")
    data = b"".join(struct.pack("<7Q", *[v & (2**64 - 1) for v in c]) for c in calls)
    k = pk_kernel()
    k.fs.mkdir("/d")
    k.fs.write("/f", b"0123456789")
    p = k.spawn(pk.Program.elf(str(path)), argv=["sysargs_fs"], stdin=data, cwd="/")
    k.run(until=10**9)
    k.audit().check()
    pk.Kernel.restore(k.snapshot()).audit().check()
    if p.state not in ("exited", "killed", "zombie"):
        p.kill()
    k.audit().check()
    assert k.fs.usage.orphans == 0
