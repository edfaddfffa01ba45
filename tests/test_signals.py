"""Signals sent to processes that are not machine code, the Signal
numbers, and the snapshot format that added signal state
(docs/signals.md). Numbers: include/uapi/asm-generic/signal.h; default
actions: signal(7), "Standard signals"."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk
from pykernel._ffi import lib
from pykernel.signals import default_action, signal_set


def test_signal_numbers_are_linux_asm_generic():
    assert (pk.SIGHUP, pk.SIGINT, pk.SIGKILL, pk.SIGUSR1, pk.SIGSEGV, pk.SIGPIPE, pk.SIGALRM,
            pk.SIGTERM, pk.SIGCHLD, pk.SIGCONT, pk.SIGSTOP, pk.SIGSYS) == \
        (1, 2, 9, 10, 11, 13, 14, 15, 17, 18, 19, 31)
    assert (pk.SIGRTMIN, pk.SIGRTMAX) == (32, 64)
    assert pk.Signal(15) is pk.SIGTERM is pk.Signal.SIGTERM


@pytest.mark.parametrize("sig, action", [
    (pk.SIGTERM, "term"), (pk.SIGALRM, "term"), (pk.SIGPIPE, "term"), (pk.SIGSEGV, "core"),
    (pk.SIGABRT, "core"), (pk.SIGQUIT, "core"), (pk.SIGCHLD, "ignore"), (pk.SIGWINCH, "ignore"),
    (pk.SIGURG, "ignore"), (pk.SIGCONT, "continue"), (pk.SIGSTOP, "stop"), (pk.SIGTSTP, "stop"),
    (40, "term"),
])
def test_default_actions_follow_signal_7(sig, action):
    assert default_action(sig) == action


def test_a_sigset_is_read_bit_n_minus_1_for_signal_n():
    assert signal_set((1 << 9) | (1 << 16) | (1 << 39)) == {pk.SIGUSR1, pk.SIGCHLD, 40}


def script_kernel():
    k = pk.Kernel(cpus=1, scheduler=pk.sched.RoundRobin(quantum=1000), costs=pk.Costs.zero())
    long = pk.Program.script("long", [pk.op.compute(10_000), pk.op.exit(0)])
    return k, k.spawn(long), k.spawn(long)


def test_sigterm_terminates_a_script_process_with_that_signal():
    k, p, other = script_kernel()
    k.run(until=2_000)
    p.signal(pk.SIGTERM)
    k.run()
    assert (p.state, p.kill_reason, p.term_signal, p.wait_status) == ("killed", "signal", 15, 15)
    assert (other.state, other.exit_code) == ("exited", 0)


@pytest.mark.parametrize("sig", [pk.SIGCHLD, pk.SIGURG, pk.SIGWINCH, pk.SIGCONT, 0])
def test_signals_whose_default_is_to_ignore_leave_a_script_running(sig):
    k, p, _ = script_kernel()
    k.run(until=2_000)
    p.signal(sig)
    k.run()
    assert (p.state, p.exit_code, p.pending_signals) == ("exited", 0, frozenset())


@pytest.mark.parametrize("sig", [pk.SIGSTOP, pk.SIGTSTP, pk.SIGTTIN, pk.SIGTTOU])
def test_stopping_a_script_is_not_modelled(sig):
    """Stop and continue are modelled for machine code only
    (tests/riscv/test_rv_signals.py)."""
    k, p, _ = script_kernel()
    with pytest.raises(NotImplementedError, match="stop"):
        p.signal(sig)
    assert p.state == "new"


def test_bad_signal_numbers_are_refused():
    k, p, _ = script_kernel()
    with pytest.raises(pk.InvalidArgs):
        p.signal(65)
    with pytest.raises(TypeError):
        p.signal(True)


def test_sigkill_ends_a_python_bodied_process():
    def body(ctx):
        while True:
            yield ctx.compute(1_000)

    k = pk.Kernel(cpus=1, costs=pk.Costs.zero())
    p = k.spawn(pk.Program.python("forever", body))
    k.run(until=5_000)
    assert p.state == "alive"
    p.signal(pk.SIGKILL)
    assert (p.state, p.term_signal, p.kill_reason) == ("killed", pk.SIGKILL, "signal")


def test_a_signal_to_a_zombie_is_accepted_and_ignored():
    """kill(2) on a zombie succeeds and has no effect; its wait status stays
    that of its exit."""
    k = pk.Kernel(cpus=1, costs=pk.Costs.zero())
    parent = k.spawn(pk.Program.script("parent", [pk.op.compute(100_000)]))
    child = k.spawn(pk.Program.script("child", [pk.op.compute(10), pk.op.exit(7)]), parent=parent)
    k.run(until=50_000)
    assert child.state == "zombie"
    child.signal(pk.SIGKILL)
    assert (child.state, child.exit_code, child.wait_status, child.term_signal) == \
        ("zombie", 7, 7 << 8, None)


def test_kill_from_the_host_is_still_sigkill():
    k, p, _ = script_kernel()
    k.run(until=2_000)
    p.kill()
    assert (p.term_signal, p.kill_reason) == (pk.SIGKILL, "killed")


def test_a_snapshot_of_format_version_2_is_refused():
    """Format version 3 added the signal state of machine code to the
    machine-code section; a version 2 file is refused by its version."""
    k, _, _ = script_kernel()
    k.run(until=2_000)
    data = bytearray(k.snapshot())
    assert struct.unpack_from("<I", data, 8)[0] == 3
    struct.pack_into("<I", data, 8, 2)
    body = bytes(data[:-8])
    data = body + struct.pack("<Q", lib.pk_snapshot_checksum(body, len(body)))
    with pytest.raises(pk.SnapshotError, match="format version 2; this pykernel reads version 3") as info:
        pk.Kernel.restore(data)
    assert info.value.reason == "version"


@settings(max_examples=40, deadline=None)
@given(sig=st.integers(1, 64).filter(lambda s: default_action(s) != "stop"),
       at=st.integers(0, 9_000))
def test_a_script_meets_the_default_action_of_any_signal(sig, at):
    """Property: the core's default actions are signal(7)'s table
    (pykernel.signals.default_action): "term" and "core" end the process
    with that signal, "ignore" and "continue" leave it to exit by itself."""
    k = pk.Kernel(cpus=1, costs=pk.Costs.zero())
    p = k.spawn(pk.Program.script("work", [pk.op.compute(10_000), pk.op.exit(0)]))
    if at:
        k.run(until=at)
    p.signal(sig)
    if p.state not in ("killed", "exited"):
        k.run()
    if default_action(sig) in ("term", "core"):
        assert (p.state, p.term_signal, p.wait_status) == ("killed", sig, sig)
    else:
        assert (p.state, p.exit_code) == ("exited", 0)
