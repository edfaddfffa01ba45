"""BusyBox applets that touch files, run on pykernel's file system and
compared with the same BusyBox (same source and configuration) built for
x86-64 and run natively in a scratch directory laid out the same way.

Both trees are made from one description: the same names, contents,
permission bits, owner (the test's own uid and gid, so ``ls -ln`` prints
the same numbers) and modification times (set equal on both sides). What
cannot agree is filtered and said so where it is: the sizes of
directories (ext4 or tmpfs report their own; pykernel's are 0) and the
"total" line that sums blocks, times of entries a command made now, and
the order of ``find`` (readdir order is the host file system's own:
sorted on both sides).

The programs are found at ``$PK_BUSYBOX`` and ``$PK_BUSYBOX_NATIVE``, else
``../shared/riscv/busybox`` and ``busybox-x86_64`` next to it from the
repository root; without them the tests are skipped (failed under
PK_REQUIRE_RISCV=1).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import pykernel as pk

from rvrun import pk_kernel, require

ROOT = Path(__file__).resolve().parents[2]
RV = Path(os.environ.get("PK_BUSYBOX", ROOT.parent / "shared" / "riscv" / "busybox"))
NATIVE = Path(os.environ.get("PK_BUSYBOX_NATIVE", RV.parent / "busybox-x86_64"))
ENV = {"TZ": "UTC", "LC_ALL": "C", "PATH": "/bin"}
MTIME_NS = 1_600_000_000_123_456_789           # 2020-09-13 12:26:40 UTC

# the tree: path -> (contents or None for a directory or "->target", mode)
TREE = {
    "a.txt": (b"pear\napple\nfig\nbanana\n", 0o644),
    "notes": (None, 0o755),
    "notes/b.txt": (b"one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\neleven\n", 0o600),
    "notes/empty": (b"", 0o640),
    "link": ("->a.txt", 0o777),
}


@pytest.fixture(scope="module")
def busybox():
    if not RV.is_file() or not NATIVE.is_file():
        require(f"BusyBox not found at {RV} and {NATIVE}: set PK_BUSYBOX and PK_BUSYBOX_NATIVE")
    return RV.read_bytes()


def host_tree(tmp: Path) -> Path:
    top = tmp / "w"
    top.mkdir()
    for name, (data, mode) in TREE.items():
        p = top / name
        if data is None:
            p.mkdir()
        elif isinstance(data, str):
            p.symlink_to(data[2:])
        else:
            p.write_bytes(data)
    for name, (data, mode) in sorted(TREE.items(), key=lambda kv: -kv[0].count("/")):
        p = top / name
        if isinstance(data, str):
            continue
        p.chmod(mode)
        os.utime(p, ns=(MTIME_NS, MTIME_NS))
    os.utime(top, ns=(MTIME_NS, MTIME_NS))
    return top


def pk_tree(k) -> None:
    uid, gid = os.getuid(), os.getgid()
    k.fs.mkdir("/w")
    for name, (data, mode) in TREE.items():
        p = "/w/" + name
        if data is None:
            k.fs.mkdir(p, mode)
        elif isinstance(data, str):
            k.fs.symlink(data[2:], p)
        else:
            k.fs.write(p, data, mode)
        k.fs.chown(p, uid, gid, follow_symlinks=False)
    for name, (data, mode) in sorted(TREE.items(), key=lambda kv: -kv[0].count("/")):
        if not isinstance(data, str):
            k.fs.utime("/w/" + name, (MTIME_NS, MTIME_NS))
    k.fs.chown("/w", uid, gid)
    k.fs.utime("/w", (MTIME_NS, MTIME_NS))


def run_native(top: Path, argv: list[str]):
    r = subprocess.run([str(NATIVE), *argv], cwd=top, env=ENV, capture_output=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def run_pk(k, argv: list[str]):
    p = k.spawn("/bin/busybox", argv=["busybox", *argv], env=ENV, cwd="/w",
                uid=os.getuid(), gid=os.getgid())
    k.run()
    assert p.state == "exited", (argv, p.state, p.kill_reason)
    assert p.syscalls_unknown == {}, (argv, p.syscalls_unknown)
    return p.exit_code, bytes(p.stdout), bytes(p.stderr)


def tidy(out: bytes, sort: bool = False) -> bytes:
    """Directory sizes and block totals masked (see the module's note)."""
    lines = []
    for line in out.splitlines(keepends=True):
        if line.startswith(b"total "):
            line = b"total *\n"
        elif line.startswith(b"d"):
            line = re.sub(rb"^(d\S+\s+\d+\s+\d+\s+\d+)\s+\d+", rb"\1 *", line)
        elif line.startswith(b"l"):                      # a symbolic link's own time
            line = re.sub(rb"^(l\S+\s+\d+\s+\d+\s+\d+\s+\d+) .{12} ", rb"\1 * ", line)
        lines.append(line)
    return b"".join(sorted(lines) if sort else lines)


def both(tmp_path, busybox, steps, sort=False):
    """Run each step on both sides; compare exit code, output, errors."""
    top = host_tree(tmp_path)
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    pk_tree(k)
    for argv in steps:
        code_n, out_n, err_n = run_native(top, argv)
        code_p, out_p, err_p = run_pk(k, argv)
        assert (code_p, tidy(out_p, sort), err_p) == (code_n, tidy(out_n, sort), err_n), argv
    return k


def test_cat_wc_md5sum_head_tail_sort(tmp_path, busybox):
    both(tmp_path, busybox, [["cat", "a.txt", "link", "notes/b.txt"], ["wc", "a.txt", "notes/b.txt"],
                             ["md5sum", "a.txt", "notes/b.txt", "notes/empty"],
                             ["head", "-n", "3", "notes/b.txt"], ["tail", "-n", "2", "notes/b.txt"],
                             ["tail", "-c", "5", "a.txt"], ["sort", "a.txt"], ["sort", "-r", "a.txt"],
                             ["cat", "missing"]])


def test_ls_long_listing_with_equal_times(tmp_path, busybox):
    both(tmp_path, busybox, [["ls", "-ln"], ["ls", "-lnR"], ["ls", "-lna", "notes"], ["ls", "-1"],
                             ["ls", "-ln", "--full-time", "a.txt", "notes/b.txt"], ["ls", "nothing"]])


def test_stat_with_a_format(tmp_path, busybox):
    both(tmp_path, busybox, [["stat", "-c", "%n %s %a %F %h %u %g %Y", "a.txt",
                              "notes/b.txt", "notes/empty"],
                             ["stat", "-c", "%n %a %F %h %u %g %Y", "notes", "."],
                             ["stat", "-L", "-c", "%n %s %F", "link"],
                             ["stat", "-c", "%n %s %F %N", "link"]])


def test_mkdir_p_and_rm_r(tmp_path, busybox):
    both(tmp_path, busybox, [["mkdir", "-p", "x/y/z"], ["mkdir", "notes"], ["find", "."],
                             ["rm", "-r", "x", "notes"], ["find", "."], ["rmdir", "a.txt"]],
         sort=True)


def test_ln_cp_mv(tmp_path, busybox):
    both(tmp_path, busybox, [["ln", "-s", "notes/b.txt", "s"], ["ln", "a.txt", "hard"],
                             ["cp", "a.txt", "notes/copy"], ["cp", "-r", "notes", "n2"],
                             ["mv", "hard", "n2/moved"], ["cat", "s", "notes/copy", "n2/moved"],
                             ["stat", "-c", "%n %h %s", "a.txt", "n2/moved"],
                             ["readlink", "s"], ["find", "."], ["mv", "missing", "x"]],
         sort=True)


def test_touch_and_chmod(tmp_path, busybox):
    both(tmp_path, busybox, [["touch", "-d", "2001-02-03 04:05:06", "a.txt"], ["touch", "new"],
                             ["chmod", "640", "a.txt"], ["chmod", "u+x,g-r", "notes/b.txt"],
                             ["stat", "-c", "%n %a %s %Y", "a.txt"],
                             ["stat", "-c", "%n %a %s", "notes/b.txt", "new"],
                             ["chmod", "600", "missing"]])


def test_find_by_name_and_type(tmp_path, busybox):
    both(tmp_path, busybox, [["find", ".", "-name", "*.txt"], ["find", ".", "-type", "d"],
                             ["find", ".", "-type", "l"], ["find", "notes", "-type", "f", "-size", "-1"]],
         sort=True)


def test_standard_streams_are_not_terminals(tmp_path, busybox):
    # tty(1): "not a tty" and status 1 when standard input is not one; the
    # streams are collected like pipes on both sides
    both(tmp_path, busybox, [["tty"]])


def test_dev_tty_is_a_terminal(busybox):
    # TIOCGWINSZ on /dev/tty: 24 rows, 80 columns; TCGETS: B38400
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    k.fs.mkdir("/w")
    out = []
    for argv in (["stty", "-F", "/dev/tty", "size"], ["stty", "-F", "/dev/tty", "speed"]):
        p = k.spawn("/bin/busybox", argv=["busybox", *argv], env=ENV, cwd="/w")
        k.run()
        out.append((p.exit_code, bytes(p.stdout)))
    assert out == [(0, b"24 80\n"), (0, b"38400\n")]


def test_dd_cmp_sed_in_place_cut_uniq_od(tmp_path, busybox):
    both(tmp_path, busybox, [["dd", "if=a.txt", "of=d.txt", "bs=5", "status=none"],
                             ["cmp", "a.txt", "d.txt"], ["sed", "-i", "s/apple/APPLE/", "a.txt"],
                             ["cmp", "a.txt", "d.txt"], ["cat", "a.txt"],
                             ["stat", "-c", "%n %a %s", "a.txt"], ["cut", "-c1-3", "a.txt"],
                             ["uniq", "-c", "notes/b.txt"], ["od", "-c", "a.txt"],
                             ["dd", "if=notes/b.txt", "of=part", "bs=4", "skip=2", "count=3",
                              "status=none"], ["cat", "part"]])


def test_shell_pipelines_and_redirections(busybox):
    # sh(1p): "a | b" connects a's standard output to b's standard input
    # through a pipe, "> file" opens file for writing on descriptor 1; the
    # shell forks and execs each command (fork, execve: docs/userland.md).
    # "hello world\n" is 12 bytes; sort(1) orders the lines.
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    for applet in ("sh", "cat", "echo", "wc", "sort", "printf"):
        k.fs.symlink("busybox", f"/bin/{applet}")
    k.fs.mkdir("/w")
    p = k.spawn("/bin/sh", argv=["sh", "-c", "echo hello world | wc -c; printf 'b\\na\\n' | sort; "
                                 "echo hi > /w/f; cat /w/f; cat < /w/f | cat"],
                env=ENV, cwd="/w")
    k.run()
    assert (p.state, p.exit_code) == ("exited", 0)
    assert bytes(p.terminal) == b"12\na\nb\nhi\nhi\n"
    assert k.fs.read("/w/f") == b"hi\n"
    k.audit().check()


def tty_kernel(busybox):
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/busybox", busybox, 0o755)
    for applet in ("sh", "stty"):
        k.fs.symlink("busybox", f"/bin/{applet}")
    return k


def test_standard_streams_of_a_tty_spawn_answer_tcgets_as_stty_sane(busybox):
    # stty -g prints c_iflag:c_oflag:c_cflag:c_lflag:c_cc in hex; expected:
    # `stty sane; stty -g` by BusyBox x86-64 on a Linux pseudo-terminal
    # (script(1)): BRKINT ICRNL IXON IMAXBEL, OPOST ONLCR, B38400 CS8 CREAD
    # HUPCL, ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN, INIT_C_CC
    k = tty_kernel(busybox)
    p = k.spawn("/bin/stty", argv=["stty", "-g"], env=ENV, tty=True)
    k.run()
    assert (p.exit_code, bytes(p.stdout)) == (
        0, b"2502:5:bf:8a3b:3:1c:7f:15:4:0:1:0:11:13:1a:0:12:f:17:16:0"
           b":0:0:0:0:0:0:0:0:0:0:0:0:0:0:0\n")


def test_standard_streams_of_a_tty_spawn_have_a_window_size(busybox):
    # TIOCGWINSZ (ioctl_tty(2)): pykernel's terminal is 24 rows, 80 columns
    k = tty_kernel(busybox)
    p = k.spawn("/bin/stty", argv=["stty", "size"], env=ENV, tty=True)
    k.run()
    assert (p.exit_code, bytes(p.stdout)) == (0, b"24 80\n")


def test_without_tty_the_standard_streams_stay_enotty(busybox):
    # ioctl(2): ENOTTY "fd is not associated with a character special
    # device"; the default spawn collects the streams like pipes
    k = tty_kernel(busybox)
    p = k.spawn("/bin/stty", argv=["stty", "size"], env=ENV)
    k.run()
    assert (p.exit_code, bytes(p.stderr)) == (
        1, b"stty: standard input: Inappropriate ioctl for device\n")


def test_only_descriptors_naming_the_terminal_are_terminals(busybox):
    # test(1) -t: isatty(3); a file opened on descriptor 3 is not a
    # terminal, the inherited standard streams of the forked test are
    k = tty_kernel(busybox)
    script = "test -t 0 && echo t0; test -t 1 && echo t1; test -t 2 && echo t2; " \
             "exec 3</dev/null; test -t 3 || echo not3"
    p = k.spawn("/bin/sh", argv=["sh", "-c", script], env=ENV, tty=True)
    k.run()
    assert bytes(p.stdout) == b"t0\nt1\nt2\nnot3\n"


def test_a_shell_on_a_terminal_is_interactive(busybox):
    # sh(1p), "-i": a shell whose standard input and error are terminals is
    # interactive: it prompts ("/ # " for root in /) before each command
    # it reads; job control needs TIOCSPGRP, which pykernel does not have
    k = tty_kernel(busybox)
    p = k.spawn("/bin/sh", argv=["sh"], env=ENV, stdin=b"echo hi\nexit 3\n", tty=True)
    k.run()
    assert p.exit_code == 3
    assert bytes(p.stdout) == b"/ # echo hi\nhi\n/ # exit 3\n"


def test_the_terminal_survives_a_snapshot(busybox):
    k = tty_kernel(busybox)
    p = k.spawn("/bin/stty", argv=["stty", "size"], env=ENV, tty=True)
    r = pk.Kernel.restore(k.snapshot())
    q = r.processes[p.pid]
    r.run()
    assert bytes(q.stdout) == b"24 80\n"


def test_tty_is_for_machine_code():
    k = pk.Kernel()
    with pytest.raises(TypeError):
        k.spawn(pk.Program.script("s", [pk.op.exit(0)]), tty=True)
