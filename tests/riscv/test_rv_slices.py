"""A run of machine code returns to the host often (docs/guide.md, "Host
threads"): the budget of each call into the core counts the instructions
executed, not only the dispatcher steps (one of which may execute 16,384
instructions), so other host threads get the kernel's lock and Ctrl-C
interrupts the run between two slices.

The programs are assembled here (rvasm); no cross compiler is needed."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from rvasm import Asm
from run_probe import poll_now_during_run

import pykernel as pk


def busy(iterations: int) -> bytes:
    """Counts down from ``iterations`` (two instructions per turn), then
    exits with 0: no system call, no fault, nothing but instructions."""
    a = Asm()
    a.li("s0", iterations)
    a.label("loop")
    a.addi("s0", "s0", -1)
    a.bne("s0", "zero", "loop")
    a.exit(0)
    return a.elf()


def kernel() -> pk.Kernel:
    return pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))


def test_a_second_thread_reads_the_clock_during_a_machine_code_run():
    # 50,000,000 instructions: about a hundred slices of 2^19 units each
    # (pykernel/run.py, STEP_BUDGET); the reader gets in at the
    # boundaries, not only at the end.
    k = kernel()
    p = k.spawn(pk.Program.elf(busy(25_000_000)))
    res, seen = poll_now_during_run(k)
    end = res.now
    assert res.reason == "idle" and p.exit_code == 0
    # li s0 (lui, addiw), the loop, then li a0, li a7, ecall
    assert p.instructions == 2 + 2 * 25_000_000 + 3
    inside = sorted({v for v in seen if 0 < v < end})
    assert len(inside) >= 10
    assert seen == sorted(seen)


def test_ctrl_c_interrupts_a_machine_code_run_between_slices():
    # 2 * 10^9 instructions take seconds; SIGINT after 0.2 s must end the
    # run long before the program does (KeyboardInterrupt, the kernel
    # usable afterwards: Kernel.run's docstring).
    k = kernel()
    p = k.spawn(pk.Program.elf(busy(10**9)))
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            k.run()
    finally:
        timer.cancel()
    assert p.state == "alive"
    assert 0 < p.instructions < 2 * 10**9
    now = k.now
    assert k.run(until=now + 1_000).reason == "until"
    assert p.instructions > 0 and p.state == "alive"
