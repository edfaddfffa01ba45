"""Machine code from the kernel's file system: Kernel.spawn with a path
(resolved as execve(2) resolves it), the working directory (cwd=, getcwd,
chdir), and BusyBox run from /bin.

BusyBox is not part of pykernel: it is found at ``$PK_BUSYBOX`` or
``../shared/riscv/busybox`` from the repository root (a static riscv64
build). Without it the tests that need it are skipped (failed under
PK_REQUIRE_RISCV=1).
"""

from __future__ import annotations

import errno
import os
import struct
from pathlib import Path

import pytest

from rvasm import Asm
from rvrun import require, run_qemu

import pykernel as pk

SYS_GETCWD, SYS_CHDIR = 17, 49          # asm-generic/unistd.h (riscv64)


def busybox() -> bytes:
    env = os.environ.get("PK_BUSYBOX")
    path = Path(env) if env else \
        Path(__file__).resolve().parents[2].parent / "shared" / "riscv" / "busybox"
    require(None if path.is_file() else
            f"BusyBox not found at {path}: set PK_BUSYBOX to a static riscv64 busybox")
    return path.read_bytes()


@pytest.fixture
def k():
    """A kernel whose /bin holds busybox and links named after applets."""
    k = pk.Kernel(costs=pk.Costs.zero())
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox(), mode=0o755)
    for applet in ("echo", "wc", "seq", "pwd"):
        k.fs.symlink("busybox", f"/bin/{applet}")
    return k


def test_echo_through_a_symlink_to_busybox(k):
    p = k.spawn("/bin/echo", argv=["echo", "hi"])
    k.run()
    assert (p.state, p.exit_code, p.stdout) == ("exited", 0, b"hi\n")


def test_wc_reads_stdin(k):
    p = k.spawn("/bin/wc", argv=["wc", "-c"], stdin=b"hello\n")
    k.run()
    assert p.stdout == b"6\n"


def test_pwd_prints_the_cwd_given_to_spawn(k):
    k.fs.mkdir("/home/user", parents=True)
    p = k.spawn("/bin/pwd", argv=["pwd"], cwd="/home/user")
    assert k.fs.cwd_of(p) == "/home/user"
    assert k.fs.stat("/home/user").refs == 1
    k.run()
    assert p.stdout == b"/home/user\n"
    assert k.fs.stat("/home/user").refs == 0          # dropped when the process ended
    with pytest.raises(pk.BadState):
        k.fs.cwd_of(p)


def test_one_file_is_one_program_whose_pages_are_shared(k):
    p = k.spawn("/bin/echo", argv=["echo", "a"])
    q = k.spawn("/bin/seq", argv=["seq", "2"])
    k.run()
    assert (p.stdout, q.stdout) == (b"a\n", b"1\n2\n")
    assert p.program is q.program


def test_a_changed_file_is_loaded_anew(k):
    p = k.spawn("/bin/echo", argv=["echo", "a"])
    k.fs.write("/bin/busybox", busybox(), mode=0o755)          # new contents (the same bytes)
    q = k.spawn("/bin/echo", argv=["echo", "b"])
    assert p.program is not q.program


def test_missing_file_is_enoent(k):
    with pytest.raises(pk.NotFound):
        k.spawn("/bin/nothing")


def test_file_without_x_is_eacces_even_for_root(k):
    # execve(2): EACCES "Execute permission is denied for the file"; root needs
    # an x bit too (inode(7), path_resolution(7) "capabilities")
    k.fs.write("/bin/noexec", busybox(), mode=0o644)
    with pytest.raises(pk.AccessDenied) as e:
        k.spawn("/bin/noexec", argv=["echo"])
    assert e.value.errno == errno.EACCES


def test_directory_is_eacces(k):
    # execve(2): EACCES "The file or a script interpreter is not a regular file"
    with pytest.raises(pk.AccessDenied):
        k.spawn("/bin")


def test_text_without_interpreter_is_enoexec(k):
    k.fs.write("/bin/text", b"just words\n", mode=0o755)
    with pytest.raises(pk.NotExecutable) as e:
        k.spawn("/bin/text")
    assert e.value.errno == errno.ENOEXEC


def test_user_without_permission_is_eacces(k):
    k.fs.chmod("/bin/busybox", 0o750)
    with pytest.raises(pk.AccessDenied):
        k.spawn("/bin/echo", argv=["echo"], uid=1000, gid=1000)


def test_script_runs_its_interpreter(k):
    # execve(2), "Interpreter scripts": argv becomes interpreter, optional
    # argument, the script's path, then the original argv[1:]
    k.fs.write("/bin/hello", b"#!/bin/echo hello\n", mode=0o755)
    p = k.spawn("/bin/hello", argv=["hello", "world"])
    k.run()
    assert p.stdout == b"hello /bin/hello world\n"


def test_cwd_must_be_a_searchable_directory(k):
    k.fs.mkdir("/private", mode=0o700)
    with pytest.raises(pk.AccessDenied):
        k.spawn("/bin/pwd", cwd="/private", uid=1000)
    with pytest.raises(pk.NotADirectory):
        k.spawn("/bin/pwd", cwd="/bin/busybox")


# ---- chdir and getcwd in machine code, against qemu-riscv64 ------------------------------

def chdir_program() -> bytes:
    """chdir("/nonexistent-pk"), chdir("/dev/null"), chdir("/tmp"),
    getcwd(buf, 64): writes the four results (8 bytes each) and buf."""
    a = Asm()
    paths = [a.data(p + b"\0") for p in (b"/nonexistent-pk", b"/dev/null", b"/tmp")]
    res = a.data(bytes(32))
    buf = a.data(bytes(64))
    for i, p in enumerate(paths):
        a.li("a0", p)
        a.syscall(SYS_CHDIR)
        a.li("t0", res)
        a.sd("a0", "t0", 8 * i)
    a.li("a0", buf)
    a.li("a1", 64)
    a.syscall(SYS_GETCWD)
    a.li("t0", res)
    a.sd("a0", "t0", 24)
    a.write_out(res, 32 + 64)
    a.exit(0)
    return a.elf()


def expected_chdir_output() -> bytes:
    # chdir(2): ENOENT, ENOTDIR, then 0; getcwd(2) (the system call) returns
    # the length of the path with its NUL
    words = struct.pack("<4q", -errno.ENOENT, -errno.ENOTDIR, 0, 5)
    return words + b"/tmp\0" + bytes(59)


def test_chdir_program_under_qemu():
    out = run_qemu(chdir_program(), ["chdir"])
    assert out.stdout == expected_chdir_output()


def test_chdir_and_getcwd_under_pykernel():
    k = pk.Kernel(costs=pk.Costs.zero())
    k.fs.write("/chdir", chdir_program(), mode=0o755)
    p = k.spawn("/chdir")
    k.run()
    assert (p.state, p.stdout) == ("exited", expected_chdir_output())
    assert k.fs.stat("/tmp").refs == 0 and k.audit().problems() == []


def test_getcwd_of_a_removed_directory_is_enoent():
    # getcwd(3) / Linux's getcwd system call: ENOENT "The current working
    # directory has been unlinked"
    a = Asm()
    buf = a.data(bytes(64))
    a.li("a0", buf)
    a.li("a1", 64)
    a.syscall(SYS_GETCWD)
    a.li("t0", 0)
    a.sub("a0", "t0", "a0")
    a.exit_with("a0")
    k = pk.Kernel(costs=pk.Costs.zero())
    k.fs.write("/getcwd", a.elf(), mode=0o755)
    k.fs.mkdir("/gone")
    p = k.spawn("/getcwd", cwd="/gone")
    k.fs.remove("/gone")
    assert k.fs.usage.orphans == 1                    # kept by the working directory
    k.run()
    assert p.exit_code == errno.ENOENT
    assert k.fs.usage.orphans == 0                    # freed with the process's reference
    assert k.audit().problems() == []
