"""The process tree from machine code: getppid, wait4, waitid and
prctl(PR_SET_CHILD_SUBREAPER / PR_GET_CHILD_SUBREAPER).

Children of a RISC-V process are made with ``k.spawn(prog, parent=q)``.
Linux pids are pykernel pids + 1. Expected values from the man pages:
getppid(2); wait4(2) (returns the child's pid, 0 with WNOHANG while
children live, -ECHILD (-10) without children, -EINVAL (-22) for unknown
options); waitid(2) (siginfo: si_signo SIGCHLD (17), si_code CLD_EXITED
(1) / CLD_KILLED (2), si_pid, si_status the exit code or the signal;
WNOWAIT leaves the child waitable); the wait status of
<bits/waitstatus.h> (exit code << 8, or the terminating signal);
prctl(2) PR_GET_CHILD_SUBREAPER stores 0 or 1 in the int it is given.
qemu-riscv64 refuses the subreaper options (-EINVAL), so those are
checked against prctl(2) alone; the calls without children are also
compared with qemu."""

from __future__ import annotations

from rvrun import pk_kernel, program, run_pykernel, run_qemu  # noqa: F401 (program: a fixture)

import pykernel as pk

MS = 1_000_000
NOCHILD = (b"wait4 -10\nwait4-nohang -10\nwait4-badopt -22\nwaitid -10\n"
           b"waitid-noopt -22\n")


def lpid(p) -> int:
    return p.pid + 1


def waiter(program, k, mode, *more, parent=None, at=None):
    prog = pk.Program.elf(str(program("wait_fs")))
    return k.spawn(prog, argv=["wait_fs", mode, *more], parent=parent, at=at)


def test_waits_without_children_under_qemu(program):
    got = run_qemu(program("wait_fs"), ["wait_fs", "nochild"])
    assert (got.state, got.exit_code, got.stdout) == ("exited", 0, NOCHILD)


def test_waits_without_children_match_qemu(program):
    argv = ["wait_fs", "nochild"]
    assert run_pykernel(program("wait_fs"), argv) == run_qemu(program("wait_fs"), argv)


def test_prctl_sets_and_reads_the_child_subreaper_flag(program):
    got = run_pykernel(program("wait_fs"), ["wait_fs", "prctl"])
    assert got.stdout == (b"get 0\nsubreaper 0\nset 0\nsubreaper 1\nclear 0\nsubreaper 0\n")


def test_prctl_flag_is_the_one_python_sees(program):
    k = pk_kernel()
    p = waiter(program, k, "prctl")
    k.run(until=1)
    p.subreaper = True                        # cleared again by the program's last call
    k.run()
    assert p.subreaper is False


def test_getppid_of_a_child_is_its_parents_linux_pid(program):
    k = pk_kernel()
    q = waiter(program, k, "reap")
    c = waiter(program, k, "ppid", parent=q)
    k.run()
    assert bytes(c.stdout) == b"ppid %d\n" % lpid(q)


def test_getppid_without_a_parent_is_zero(program):
    assert run_pykernel(program("wait_fs"), ["wait_fs", "ppid"]).stdout == b"ppid 0\n"


def test_wait4_blocks_the_thread_until_a_child_ends(program):
    k = pk_kernel()
    q = waiter(program, k, "reap")
    waiter(program, k, "exit", "7", parent=q, at=5 * MS)
    k.run(until=MS)
    assert q.threads[0].state == "waiting"


def test_wait4_reports_each_child_with_its_wait_status_then_echild(program):
    k = pk_kernel()
    q = waiter(program, k, "reap")
    c1 = waiter(program, k, "exit", "7", parent=q, at=MS)
    c2 = k.spawn(pk.Program.elf(str(program("null_fs"))), argv=["null_fs"], parent=q,
                 at=3 * MS)
    k.run()
    assert bytes(q.stdout) == b"wait4 %d %d\nwait4 %d %d\nwait4 -10\n" % (
        lpid(c1), 7 << 8, lpid(c2), 11)          # SIGSEGV is 11
    assert (c1.state, c2.state, q.children) == ("exited", "killed", [])


def test_wait4_reaps_a_script_child(program):
    k = pk_kernel()
    q = waiter(program, k, "reap")
    c = k.spawn(pk.Program.script("s", [pk.op.compute(MS), pk.op.exit(300)]), parent=q)
    k.run()
    assert bytes(q.stdout) == b"wait4 %d %d\nwait4 -10\n" % (lpid(c), (300 & 0xFF) << 8)


def test_wait4_with_wnohang_returns_zero_while_children_live(program):
    k = pk_kernel()
    q = waiter(program, k, "nohang")
    c = k.spawn(pk.Program.script("s", [pk.op.compute(MS)]), parent=q, at=MS)
    k.run()
    assert bytes(q.stdout) == b"nohang 0\nstatus -1\nwait4 %d 0\nwait4 -10\n" % lpid(c)


def test_wait4_for_one_pid_waits_for_that_child(program):
    k = pk_kernel()
    q = waiter(program, k, "pid", "3")            # Linux pid 3: its second child
    c1 = waiter(program, k, "exit", "1", parent=q, at=MS)
    c2 = waiter(program, k, "exit", "2", parent=q, at=3 * MS)
    k.run()
    assert (lpid(c1), lpid(c2)) == (2, 3)
    assert bytes(q.stdout) == b"wait4 3 512\nwait4 2 256\nwait4 -10\n"


def test_wait4_for_a_pid_that_is_no_child_is_echild(program):
    k = pk_kernel()
    q = waiter(program, k, "pid", "9")
    c = waiter(program, k, "exit", "1", parent=q, at=MS)
    k.run()
    assert bytes(q.stdout) == b"wait4 -10 -1\nwait4 %d 256\nwait4 -10\n" % lpid(c)


def test_waitid_with_wnowait_leaves_the_child_waitable(program):
    k = pk_kernel()
    q = waiter(program, k, "waitid")
    c = waiter(program, k, "exit", "5", parent=q, at=MS)
    k.run()
    p = lpid(c)
    assert bytes(q.stdout) == (
        b"waitid-nowait 0 signo 17 code 1 pid %d status 5\n"
        b"waitid 0 signo 17 code 1 pid %d status 5\nwait4 -10\n" % (p, p))


def test_waitid_reports_a_killed_child_with_its_signal(program):
    k = pk_kernel()
    q = waiter(program, k, "waitid")
    c = k.spawn(pk.Program.elf(str(program("null_fs"))), argv=["null_fs"], parent=q, at=MS)
    k.run()
    p = lpid(c)
    assert bytes(q.stdout) == (
        b"waitid-nowait 0 signo 17 code 2 pid %d status 11\n"
        b"waitid 0 signo 17 code 2 pid %d status 11\nwait4 -10\n" % (p, p))


def test_a_subreaper_reaps_its_orphaned_grandchild(program):
    k = pk_kernel()
    root = k.spawn(pk.Program.script("init", [pk.op.sleep(10**12)]), name="init")
    r = waiter(program, k, "reap", parent=root)
    r.subreaper = True
    m = k.spawn(pk.Program.script("m", [pk.op.compute(MS), pk.op.exit(1)]), parent=r)
    g = k.spawn(pk.Program.script("g", [pk.op.compute(5 * MS), pk.op.exit(2)]), parent=m)
    k.run(until=50 * MS)
    assert bytes(r.stdout) == b"wait4 %d 256\nwait4 %d 512\nwait4 -10\n" % (lpid(m), lpid(g))
    assert g.state == "exited"


def test_without_a_subreaper_the_orphan_goes_to_the_root(program):
    k = pk_kernel()
    root = k.spawn(pk.Program.script("init", [pk.op.sleep(10**12)]), name="init")
    r = waiter(program, k, "reap", parent=root)
    m = k.spawn(pk.Program.script("m", [pk.op.compute(MS), pk.op.exit(1)]), parent=r)
    g = k.spawn(pk.Program.script("g", [pk.op.compute(5 * MS), pk.op.exit(2)]), parent=m)
    k.run(until=50 * MS)
    assert bytes(r.stdout) == b"wait4 %d 256\nwait4 -10\n" % lpid(m)
    assert (g.state, g.parent) == ("zombie", root)


def test_a_parent_blocked_in_wait4_survives_a_snapshot(program):
    k = pk_kernel()
    q = waiter(program, k, "reap")
    c = waiter(program, k, "exit", "6", parent=q, at=5 * MS)
    k.run(until=MS)
    k2 = pk.Kernel.restore(k.snapshot())
    k.run()
    k2.run()
    want = b"wait4 %d %d\nwait4 -10\n" % (lpid(c), 6 << 8)
    assert bytes(q.stdout) == bytes(k2.process(q.pid).stdout) == want
    assert k.digest() == k2.digest()


def test_a_wait4_that_blocked_counts_as_one_system_call(program):
    k = pk_kernel()
    blocked = waiter(program, k, "reap")
    waiter(program, k, "exit", "0", parent=blocked, at=5 * MS)
    early = waiter(program, k, "reap", at=20 * MS)
    c = waiter(program, k, "exit", "0", parent=early, at=10 * MS)
    k.run()
    assert c.stats.finish < early.stats.arrival                 # a zombie before the wait
    assert bytes(blocked.stdout).count(b"\n") == bytes(early.stdout).count(b"\n") == 2
    assert blocked.syscalls == early.syscalls
