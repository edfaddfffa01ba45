"""RISC-V processes inside one pykernel kernel: a context switch keeps each
process's whole register file, runs are deterministic, and several
processes run one image side by side."""

from __future__ import annotations

import struct

import pytest

from rvasm import DATA_BASE, Asm
from rvrun import pk_kernel, program, run_qemu  # noqa: F401 (program: a fixture)

import pykernel as pk

SYS_SCHED_YIELD = 124
YIELDS = 16
# every integer register but a0 (the system-call result) and a7 (the
# system-call number, checked separately)
XREGS = [r for r in range(1, 32) if r not in (10, 17)]
FREGS = list(range(32))


def pattern(tag: int, reg: int, fp: bool = False) -> int:
    """The value register ``reg`` holds in the process tagged ``tag``."""
    v = (tag * 0x0101_0101_0101_0101) ^ (reg << 48) ^ (reg * 0x1_0003) ^ (0x8000 if fp else 0)
    return v & ((1 << 64) - 1)


def register_keeper() -> bytes:
    """A program that fills x1..x31 (but a0) and f0..f31 with values made
    from the first byte of argv[1] (its tag), yields the CPU 16 times
    with sched_yield, then writes every register to standard output (as
    little-endian 64-bit words: x registers, a7, f registers)."""
    a = Asm()
    out = a.data(bytes(8 * 64))
    a.ld("t0", "sp", 16)                    # argv[1] (sp -> argc, argv[0], argv[1])
    a.lbu("t0", "t0", 0)                    # the tag
    a.li("t1", 0x0101_0101_0101_0101)
    a.mul("t0", "t0", "t1")                 # tag * 0x0101..01
    for r in FREGS:                         # f registers first (t0 still holds the base)
        a.li("t2", ((r << 48) ^ (r * 0x1_0003) ^ 0x8000) & ((1 << 64) - 1))
        a.xor("t2", "t2", "t0")
        a.fmv_d_x(r, "t2")
    for r in [r for r in XREGS if r != 5] + [5]:   # t0 (x5) last: it holds the base
        a.li("a0", (r << 48) ^ (r * 0x1_0003))
        a.xor(r, "a0", "t0")
    a.li("a7", SYS_SCHED_YIELD)
    for _ in range(YIELDS):
        a.ecall()
    a.li("a0", out)                         # a0 is free: the base for the stores
    for i, r in enumerate(XREGS):
        a.sd(r, "a0", 8 * i)
    a.sd("a7", "a0", 8 * len(XREGS))
    for i, r in enumerate(FREGS):
        a.fsd(r, "a0", 8 * (len(XREGS) + 1 + i))
    a.write_out(out, 8 * (len(XREGS) + 1 + len(FREGS)))
    a.exit(0)
    return a.elf()


def expected_registers(tag: int) -> bytes:
    words = [pattern(tag, r) for r in XREGS] + [SYS_SCHED_YIELD]
    words += [pattern(tag, r, fp=True) for r in FREGS]
    return struct.pack(f"<{len(words)}Q", *words)


def test_register_keeper_under_qemu():
    """The program itself, checked against the reference."""
    got = run_qemu(register_keeper(), ["keeper", "A"])
    assert (got.state, got.exit_code) == ("exited", 0)
    assert got.stdout == expected_registers(ord("A"))


def test_context_switch_keeps_the_whole_register_file():
    """Two processes of one image yield to each other 16 times each; each
    ends with exactly the register values it set, integer and floating
    point, so no register leaked from the other one."""
    k = pk_kernel()
    prog = pk.Program.elf(register_keeper())
    a = k.spawn(prog, argv=["keeper", "A"], stdin=b"")
    b = k.spawn(prog, argv=["keeper", "B"], stdin=b"")
    k.run()
    assert (a.state, a.exit_code, bytes(a.stdout)) == ("exited", 0, expected_registers(ord("A")))
    assert (b.state, b.exit_code, bytes(b.stdout)) == ("exited", 0, expected_registers(ord("B")))


TEXT_PAGES = 16
SYS_NANOSLEEP = 101


def page_walker() -> bytes:
    """A program whose text is 16 pages, each executed (a jump at the start
    of every page to the next); then it sleeps 50 ms (nanosleep) and
    exits with code 0."""
    a = Asm()
    ts = a.data(struct.pack("<qq", 0, 50_000_000))
    for page in range(TEXT_PAGES):
        a.label(f"page{page}")
        if page + 1 < TEXT_PAGES:
            a.j(f"page{page + 1}")
            for _ in range(4096 // 4 - 1):
                a.word(0x13)                # nop, never executed
    a.li("a0", ts)
    a.li("a1", 0)
    a.syscall(SYS_NANOSLEEP)
    a.exit_with("a0")                       # nanosleep's result: 0
    return a.elf()


def test_page_walker_under_qemu():
    got = run_qemu(page_walker(), ["walker"])
    assert (got.state, got.exit_code, got.stdout) == ("exited", 0, b"")


def used_frames(k) -> int:
    s = k.memory_stats
    return s.frames - s.free


def test_processes_of_one_image_share_its_read_only_frames():
    """A second process of the same image, alive at the same time as the
    first, adds at least 16 frames fewer than the first did: the 16 text
    pages both executed are the same frames, mapped twice."""
    k = pk_kernel()
    prog = pk.Program.elf(page_walker())
    before = used_frames(k)
    first = k.spawn(prog, argv=["walker"], stdin=b"")
    k.run(until=10_000_000)                 # both sleep until at least 50 ms
    one = used_frames(k)
    second = k.spawn(prog, argv=["walker"], stdin=b"")
    k.run(until=20_000_000)
    two = used_frames(k)
    assert first.state == second.state == "alive"
    assert two - one <= (one - before) - TEXT_PAGES
    assert k.memory_stats.shared_frames >= TEXT_PAGES
    k.run()
    assert (first.exit_code, second.exit_code) == (0, 0)


def test_riscv_script_and_python_processes_share_one_kernel(program):
    """A RISC-V process runs beside a script process and a Python-bodied
    one in the same kernel; each ends as it would alone."""
    path = program("hello")
    ref = run_qemu(path, ["hello"])
    k = pk_kernel()

    def body(ctx):
        yield ctx.compute(5_000)

    script = k.spawn(pk.Program.script("cpu", [pk.op.compute(20_000)]))
    python = k.spawn(pk.Program.python("py", body))
    rv = k.spawn(pk.Program.elf(str(path)), argv=["hello"], stdin=b"")
    k.run()
    assert (rv.state, rv.exit_code, bytes(rv.stdout), bytes(rv.stderr)) == \
        ("exited", ref.exit_code, ref.stdout, ref.stderr)
    assert (script.state, script.exit_code) == ("exited", 0)
    assert (python.state, python.exit_code) == ("exited", 0)
    assert script.stats.cpu_time == 20_000
    assert python.stats.cpu_time == 5_000


def _pthreads_run(path):
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(path)), argv=["pthreads"], stdin=b"")
    k.run()
    return bytes(p.stdout), p.exit_code, k.now, k.digest()


def test_runs_are_deterministic(program):
    """The same threaded program run twice gives the same output, the same
    simulated end time and the same digest."""
    path = program("pthreads")
    assert _pthreads_run(path) == _pthreads_run(path)


def test_processes_of_one_image_run_side_by_side(program):
    """Four processes of the sort program in one kernel all finish with the
    output qemu gives for one."""
    path = program("sort")
    ref = run_qemu(path, ["sort"])
    k = pk_kernel()
    prog = pk.Program.elf(str(path))
    procs = [k.spawn(prog, argv=["sort"], stdin=b"") for _ in range(4)]
    k.run()
    for p in procs:
        assert (p.state, p.exit_code, bytes(p.stdout)) == ("exited", ref.exit_code, ref.stdout)


@pytest.mark.parametrize("stdin", [b"", b"x", b"a\nb\n" * 1000])
def test_standard_input_of_any_size(program, stdin):
    """stdin is delivered whole, in as many reads as the program makes."""
    path = program("stdin_fs")
    ref = run_qemu(path, ["stdin_fs"], stdin)
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(str(path)), argv=["stdin_fs"], stdin=stdin)
    k.run()
    assert (p.state, p.exit_code, bytes(p.stdout)) == (ref.state, ref.exit_code, ref.stdout)
