"""Signals of machine code beyond what one program shows under qemu
(test_programs.py runs sig_basic, sig_fault, sig_timer and sig_chld
against qemu-riscv64): SIGCHLD from a child, waits cut short or
restarted, signals sent from Python, dispositions at fork and execve,
zombies, snapshots (docs/signals.md).

The child processes here are scripts given a machine-code parent
(``spawn(parent=)``); a script's Linux pid is its pid + 1 like any
other's."""

from __future__ import annotations

import pytest

from rvasm import Asm
from rvrun import pk_kernel, program, run_pykernel, run_qemu  # noqa: F401 (program: a fixture)

import pykernel as pk
from pykernel._ffi import lib
from pykernel.errors import NotSupported

SA_RESTART = 0x10000000     # include/uapi/asm-generic/signal-defs.h
SIG_IGN = 1


def chld(program, mode, child_ops):
    """sig_chld in ``mode`` with one script child; (kernel, parent, child)."""
    k = pk_kernel()
    par = k.spawn(pk.Program.elf(str(program("sig_chld"))), argv=["sig_chld", mode])
    child = k.spawn(pk.Program.script("child", child_ops), parent=par)
    return k, par, child


def test_sigchld_handler_runs_after_wait4_reaps_the_child(program):
    """do_notify_parent (kernel/signal.c) sends SIGCHLD with CLD_EXITED (1),
    the child's pid and exit status; wait4 returns the child first because
    do_wait finds the zombie before it looks at pending signals."""
    k, par, child = chld(program, "chld", [pk.op.compute(5_000_000), pk.op.exit(0)])
    k.run()
    assert par.exit_code == 0
    assert bytes(par.stdout) == (f"wait4 {child.pid + 1} exited 1 code 0\n"
                                 "SIGCHLD 1 si_code 1 si_pid_is_child 1 si_status 0\n").encode()


def test_a_handler_without_sa_restart_makes_wait4_fail_with_eintr(program):
    """signal(7), "Interruption of system calls by signal handlers": wait4
    is restarted only with SA_RESTART; without it the call fails with
    EINTR after the handler ran."""
    k, par, child = chld(program, "intr", [pk.op.sleep(5_000_000), pk.op.compute(10)])
    k.run(until=2_000_000)
    par.signal(pk.SIGUSR1)
    k.run(until=3_000_000)
    child.signal(pk.SIGTERM)
    k.run()
    assert bytes(par.stdout) == b"wait4 -1 errno EINTR usr1 1\nwait4 again reaped\nchild killed by 15\n"


def test_sa_restart_makes_wait4_go_on_after_the_handler(program):
    """With SA_RESTART, wait4 (-ERESTARTSYS) runs again after the handler
    and returns the child when it ends."""
    k, par, child = chld(program, "restart", [pk.op.sleep(5_000_000), pk.op.compute(10)])
    k.run(until=2_000_000)
    par.signal(pk.SIGUSR1)
    k.run(until=3_000_000)
    child.signal(pk.SIGTERM)
    k.run()
    assert bytes(par.stdout) == f"wait4 {child.pid + 1} errno - usr1 1\nchild killed by 15\n".encode()


def test_sa_mask_is_blocked_while_the_handler_runs(program):
    """signal_delivered (kernel/signal.c) blocks sa_mask and the signal
    itself for the handler; qemu-riscv64 7.2 leaves sa_mask out, native
    Linux does not, so this line is checked here only."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("sig_basic"))), argv=["sig_basic", "mask"])
    k.run()
    assert b"sa_mask blocked in the handler: 1\n" in bytes(p.stdout)


def held(program):
    """sig_chld "hold": waiting in sigsuspend with its dispositions set."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("sig_chld"))), argv=["sig_chld", "hold"])
    k.run(until=5_000_000)
    return k, p


def test_dispositions_masks_and_a_blocked_pending_signal_are_visible(program):
    k, p = held(program)
    handler, flags, mask = p.signal_action(pk.SIGUSR1)
    assert handler > SIG_IGN and flags & SA_RESTART and mask == {pk.SIGUSR2}
    # glibc's signal() has BSD semantics: SA_RESTART, the signal in sa_mask
    assert p.signal_action(pk.SIGPIPE) == (SIG_IGN, SA_RESTART, {pk.SIGPIPE})
    assert p.signal_action(pk.SIGTERM) == (0, 0, frozenset())
    t = p.threads[0]
    assert t.state == "waiting"
    assert t.blocked_signals == {pk.SIGUSR2}           # sigsuspend's mask
    p.signal(pk.SIGUSR2)                               # blocked: stays pending
    assert p.pending_signals == {pk.SIGUSR2}
    k.run(until=6_000_000)
    assert p.state == "alive" and bytes(p.stdout) == b""


def test_sigsuspend_returns_eintr_after_the_handler_and_restores_the_mask(program):
    """sigsuspend(2): it waits with the given mask until a handler ran,
    then returns -1 with EINTR and the mask is the one before the call."""
    k, p = held(program)
    p.signal(pk.SIGUSR1)
    k.run()
    assert (p.state, p.exit_code, bytes(p.stdout)) == ("exited", 0, b"sigsuspend -1 EINTR\n")


def test_an_ignored_signal_from_the_host_changes_nothing(program):
    k, p = held(program)
    p.signal(pk.SIGPIPE)
    p.signal(pk.SIGCHLD)                               # default action: ignore
    k.run(until=6_000_000)
    assert p.state == "alive" and p.pending_signals == frozenset()


def test_sigkill_from_the_host_ends_machine_code_at_once(program):
    k, p = held(program)
    p.signal(pk.SIGKILL)
    assert (p.state, p.kill_reason, p.term_signal, p.wait_status) == ("killed", "signal", 9, 9)


def test_fork_copies_dispositions_and_mask_and_exec_resets_handlers(program):
    """fork(2): the child inherits dispositions and the signal mask, not
    the pending signals; execve(2): handled signals return to the default,
    ignored ones stay ignored, the mask is kept."""
    k, p = held(program)
    p.signal(pk.SIGUSR2)
    child = k.spawn(pk.Program.elf(str(program("sig_chld"))), argv=["sig_chld"], at=10_000_000)
    ct = child.threads[0]
    assert lib.pk_sig_fork(k._kp, p.pid, child.pid, ct.tid) == lib.PK_OK
    assert child.signal_action(pk.SIGUSR1) == p.signal_action(pk.SIGUSR1)
    assert child.signal_action(pk.SIGPIPE)[0] == SIG_IGN
    assert ct.blocked_signals == {pk.SIGUSR2}
    assert child.pending_signals == frozenset() and p.pending_signals == {pk.SIGUSR2}
    assert lib.pk_sig_exec(k._kp, child.pid) == lib.PK_OK     # flush_signal_handlers (kernel/signal.c)
    assert child.signal_action(pk.SIGUSR1) == (0, 0, frozenset())
    assert child.signal_action(pk.SIGPIPE) == (SIG_IGN, 0, frozenset())
    assert ct.blocked_signals == {pk.SIGUSR2}
    assert p.signal_action(pk.SIGUSR1)[0] > SIG_IGN               # the parent keeps its own


def test_fork_and_exec_refuse_what_is_not_machine_code():
    k = pk.Kernel(memory=pk.Memory())
    a = k.spawn(pk.Program.script("a", [pk.op.compute(10)]))
    b = k.spawn(pk.Program.script("b", [pk.op.compute(10)]))
    assert lib.pk_sig_fork(k._kp, a.pid, b.pid, b.threads[0].tid) == lib.PK_ERR_NOT_SUPPORTED
    assert lib.pk_sig_exec(k._kp, a.pid) == lib.PK_ERR_NOT_SUPPORTED
    assert lib.pk_sig_exec(k._kp, 99) == lib.PK_ERR_INVALID_ARGS


def test_kill_of_a_zombie_returns_0_and_changes_nothing(program):
    """kill(2) on a zombie succeeds (the process still exists) and has no
    effect: its wait status stays that of its exit."""
    k, par = held(program)
    child = k.spawn(pk.Program.script("child", [pk.op.compute(10), pk.op.exit(3)]), parent=par)
    k.run(until=6_000_000)
    assert child.state == "zombie"
    a = Asm()
    a.li("a0", child.pid + 1)
    a.li("a1", 15)                                     # SIGTERM
    a.syscall(129)                                     # kill
    a.exit_with("a0")
    killer = k.spawn(pk.Program.elf(a.elf()))
    child.signal(pk.SIGKILL)                           # from the host: the same
    k.run(until=7_000_000)
    assert killer.exit_code == 0
    assert (child.state, child.exit_code, child.wait_status) == ("zombie", 3, 3 << 8)


def test_kill_of_a_pid_that_does_not_exist_is_esrch():
    a = Asm()
    a.li("a0", 4000)
    a.li("a1", 15)
    a.syscall(129)
    a.sub("a0", "zero", "a0")
    a.exit_with("a0")
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == 3                            # ESRCH


def test_signal_state_survives_a_snapshot(program):
    """Dispositions, the mask, a blocked pending signal and a thread in
    sigsuspend are saved and restored: the restored kernel goes on as the
    original does."""
    k, p = held(program)
    p.signal(pk.SIGUSR2)
    r = pk.Kernel.restore(k.snapshot())
    q = r.processes[p.pid]
    assert q.pending_signals == {pk.SIGUSR2}
    assert q.signal_action(pk.SIGUSR1) == p.signal_action(pk.SIGUSR1)
    assert q.threads[0].blocked_signals == {pk.SIGUSR2}
    for kk, pp in ((k, p), (r, q)):
        pp.signal(pk.SIGUSR1)
        kk.run()
    assert (q.state, q.exit_code, bytes(q.stdout)) == (p.state, p.exit_code, bytes(p.stdout))
    assert r.digest() == k.digest()


def test_a_running_interval_timer_survives_a_snapshot(program):
    k = pk_kernel()
    elf = pk.Program.elf(str(program("sig_timer")))
    p = k.spawn(elf, argv=["sig_timer"])
    k.run(until=30_000_000)                            # inside the 20 ms timer's rounds
    r = pk.Kernel.restore(k.snapshot())
    k.run()
    r.run()
    q = r.processes[p.pid]
    assert (q.exit_code, bytes(q.stdout)) == (p.exit_code, bytes(p.stdout)) == (0, bytes(p.stdout))
    assert b"alarms 3" in bytes(q.stdout)
    assert r.digest() == k.digest()


def test_the_audit_finds_signal_state_in_order(program):
    """k.audit() checks the signal records (docs/signals.md): in a held
    process with a pending signal, after its handler ran, and while an
    interval timer's event is queued."""
    k, p = held(program)
    p.signal(pk.SIGUSR2)
    assert k.audit().signal_bad == 0
    p.signal(pk.SIGUSR1)
    k.run()
    assert k.audit().problems() == []
    t = pk_kernel()
    t.spawn(pk.Program.elf(str(program("sig_timer"))), argv=["sig_timer"])
    t.run(until=30_000_000)
    assert t.audit().signal_bad == 0


def stop_family(program, *extra):
    """sig_stop as a parent (waiting in wait4) of a spinning sig_stop."""
    k = pk_kernel()
    elf = pk.Program.elf(str(program("sig_stop")))
    par = k.spawn(elf, argv=["sig_stop", *extra])
    child = k.spawn(elf, argv=["sig_stop", "spin"], parent=par)
    k.run(until=50_000_000)
    assert par.threads[0].state == "waiting"
    return k, par, child


def test_a_stopped_process_runs_no_instructions_until_sigcont(program):
    """signal(7): SIGSTOP stops the process, SIGCONT continues it."""
    k, par, child = stop_family(program, "parent")
    child.signal(pk.SIGSTOP)
    k.run(until=55_000_000)
    assert child.stopped == pk.SIGSTOP and child.threads[0].state == "waiting"
    before = child.threads[0].stats.cpu_time
    k.run(until=60_000_000)
    assert child.threads[0].stats.cpu_time == before
    child.signal(pk.SIGCONT)
    k.run(until=70_000_000)
    assert child.stopped is None and child.threads[0].stats.cpu_time > before


def test_wait4_reports_stop_continue_and_end_and_sigchld_carries_each(program):
    """wait4(2) with WUNTRACED | WCONTINUED: WIFSTOPPED / WSTOPSIG, then
    WIFCONTINUED, then WIFSIGNALED; SIGCHLD comes with CLD_STOPPED (5),
    CLD_CONTINUED (6), CLD_KILLED (2) (asm-generic/siginfo.h)."""
    k, par, child = stop_family(program, "parent")
    child.signal(pk.SIGSTOP)
    k.run(until=60_000_000)
    child.signal(pk.SIGCONT)
    k.run(until=70_000_000)
    child.signal(pk.SIGTERM)
    k.run()
    assert bytes(par.stdout) == (b"stopped by 19\ncontinued\nkilled by 15\n"
                                 b"SIGCHLD codes: 5 6 2\n")


def test_sa_nocldstop_leaves_only_the_end_to_sigchld(program):
    """sigaction(2), SA_NOCLDSTOP: no SIGCHLD when a child stops or
    continues; wait4 still reports both."""
    k, par, child = stop_family(program, "parent", "nocldstop")
    child.signal(pk.SIGSTOP)
    k.run(until=60_000_000)
    child.signal(pk.SIGCONT)
    k.run(until=70_000_000)
    child.signal(pk.SIGTERM)
    k.run()
    assert bytes(par.stdout) == b"stopped by 19\ncontinued\nkilled by 15\nSIGCHLD codes: 2\n"


def test_waitid_wnowait_leaves_a_stop_to_report_again(program):
    """waitid(2): WSTOPPED reports CLD_STOPPED with the stopping signal in
    si_status; WNOWAIT leaves it to be reported again."""
    k, par, child = stop_family(program, "waitid")
    child.signal(pk.SIGTSTP)                           # no handler: it stops
    k.run(until=60_000_000)
    assert bytes(par.stdout) == b"waitid 0 code 5 status 20\n" * 3
    assert child.stopped == pk.SIGTSTP
    child.signal(pk.SIGKILL)                           # kills a stopped process
    assert child.state in ("zombie", "killed") and child.term_signal == pk.SIGKILL


def test_execve_resets_handled_signals_and_keeps_ignored_ones_and_the_mask(program):
    # signal(7): "During an execve(2), the dispositions of handled signals
    # are reset to the default; the dispositions of ignored signals are left
    # unchanged ... the signal mask is preserved across execve(2)".
    # sig_forkexec.c's child execs itself (/proc/self/exe) and exits with
    # its state: 2 SIGUSR1 is SIG_DFL again, 4 SIGUSR2 still ignored, 8
    # SIGINT still blocked (qemu-user cannot run this execve)
    k = pk_kernel()
    k.fs.mkdir("/bin")
    k.fs.write("/bin/sfe", program("sig_forkexec").read_bytes(), mode=0o755)
    p = k.spawn("/bin/sfe", argv=["sfe", "exec"])
    k.run()
    assert (p.exit_code, bytes(p.stdout)) == (0, b"parent 29\nchild 14\n")


def test_kill_minus_one_signals_every_other_process(program):
    # kill(2): pid -1 reaches every process the caller may signal except
    # itself and process 1; ESRCH when there is none
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("sig_killall"))), argv=["sig_killall", "all"])
    k.run()
    assert (p.exit_code, bytes(p.stdout)) == (
        0, b"alone: kill(-1, 0) -1 ESRCH 1\n"
           b"kill(-1, SIGUSR1) 0, children killed by it 2, the caller still here\n")


def test_queued_real_time_signals_reach_their_handlers_once_each_in_order(program):
    """signal(7), "Real-time signals": multiple instances of a real-time
    signal are queued and delivered in the order sent, lower numbers
    first; the thread's own (tgkill) before the process's (dequeue_signal,
    kernel/signal.c).  Expected: the same source built for x86-64 Linux
    6.18 (qemu-user delivers these handlers in another order)."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("sig_rtqueue"))), argv=["sig_rtqueue", "handlers"])
    k.run()
    assert p.exit_code == 0
    assert bytes(p.stdout) == (b"handler: SIGRTMIN+1 code -6 value 0\n"
                               b"handler: SIGRTMIN+1 code -6 value 0\n"
                               b"handler: SIGUSR1 code 0 value 0\n"
                               b"handler: SIGRTMIN+0 code -1 value 2\n"
                               b"handler: SIGRTMIN+0 code 0 value 0\n"
                               b"handler: SIGRTMIN+0 code -1 value 4\n"
                               b"handler: SIGRTMIN+2 code -1 value 1\n"
                               b"handler: SIGRTMIN+2 code -1 value 3\n")


def test_a_flood_of_real_time_signals_stops_at_the_limit_with_eagain(program):
    """A process holds at most 1024 pending real-time signals (pykernel's
    RLIMIT_SIGPENDING, docs/signals.md); beyond it sigqueue fails with
    EAGAIN and kill still succeeds without queueing another
    (kernel/signal.c __send_signal_locked; sigqueue(3), "EAGAIN"). The
    1024 queued are taken in the order sent."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(program("sig_rtqueue"))), argv=["sig_rtqueue", "flood"])
    k.run()
    assert p.exit_code == 0
    assert bytes(p.stdout) == b"queued 1024 then EAGAIN; kill 0\ntaken 1024 in order 1\n"


def test_queued_real_time_signals_refuse_a_snapshot_and_repeat(program):
    """The queue behind a pending real-time signal is not part of the
    snapshot format: a snapshot then is refused (NotSupported); the audit
    finds the queue in order; two runs give the same digest."""
    runs = []
    for _ in range(2):
        k = pk_kernel()
        p = k.spawn(pk.Program.elf(str(program("sig_rtqueue"))), argv=["sig_rtqueue", "flood"])
        k.run(until=300_000)             # in its loop of sigqueue calls
        assert p.state == "alive" and p.pending_signals == {34}
        assert k.audit().problems() == []
        with pytest.raises(NotSupported):
            k.snapshot()
        k.run()
        runs.append((bytes(p.stdout), k.digest()))
    assert runs[0] == runs[1]


def test_a_touch_past_the_end_of_a_mapped_file_without_a_handler_is_sigbus(program):
    """mmap(2), "SIGBUS": the default action of SIGBUS (core) ends the
    process with signal 7, as under qemu-riscv64 (wait status 7)."""
    path = program("mmap_bus")
    got = run_pykernel(path, ["mmap_bus", "die"], b"")
    assert (got.state, got.kill_reason, got.stdout) == ("killed", "signal 7", b"touching page 2\n")
    assert got == run_qemu(path, ["mmap_bus", "die"], b"")
