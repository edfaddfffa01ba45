"""Pre-decoded blocks of the RISC-V interpreter (docs/riscv.md, "How it
runs"; docs/architecture.md, "RISC-V blocks"): a block runs exactly what
fetching and decoding one instruction at a time would run, so a store that
rewrites code takes effect at the next fetch of the rewritten instruction,
even inside the straight-line run that made the store.

pykernel fetches every instruction through the simulated TLB at the moment
it executes it; the RISC-V ISA only promises that a store is seen by
instruction fetches after a FENCE.I ("The RISC-V Instruction Set Manual,
Volume I", version 20191213, section 3.2, "Instruction-Fetch Fence"), so
the first two tests check pykernel's own rule (qemu's translation blocks
need not agree), the third the ISA's, with the FENCE.I.
"""

from __future__ import annotations

import struct

from rvasm import DATA_BASE, Asm
from rvrun import run_pykernel

SYS_MMAP = 222                 # asm-generic/unistd.h
PROT_RWX = 7                   # PROT_READ | PROT_WRITE | PROT_EXEC
MAP_PRIVATE_ANON = 0x22        # MAP_PRIVATE | MAP_ANONYMOUS


def routine(body) -> list[int]:
    """The 32-bit words of a position-independent routine built by ``body(asm)``."""
    a = Asm()
    body(a)
    text = a.text()
    return list(struct.unpack(f"<{len(text) // 4}I", text))


def addi_word(rd: str, imm: int) -> int:
    return routine(lambda a: a.addi(rd, "zero", imm))[0]


def program(words: list[int], main) -> bytes:
    """mmap an RWX page (address in s0), copy ``words`` there, then ``main(asm)``;
    a0..: results written out as 64-bit words by ``main`` into OUT."""
    a = Asm()
    out = a.data(bytes(64))
    src = a.data(struct.pack(f"<{len(words)}I", *words))
    a.li("a0", 0)
    a.li("a1", 4096)
    a.li("a2", PROT_RWX)
    a.li("a3", MAP_PRIVATE_ANON)
    a.li("a4", -1)
    a.li("a5", 0)
    a.syscall(SYS_MMAP)
    a.mv("s0", "a0")
    a.li("t2", src)
    for i in range(len(words)):
        a.lw("t3", "t2", 4 * i)
        a.sw("t3", "s0", 4 * i)
    a.li("s11", out)
    main(a)
    a.write_out(out, 64)
    a.exit(0)
    assert out == DATA_BASE
    return a.elf()


def results(elf: bytes) -> list[int]:
    o = run_pykernel(elf, ["rvtest"])
    assert (o.state, o.exit_code) == ("exited", 0)
    return list(struct.unpack("<8Q", o.stdout))


def test_a_store_rewrites_the_next_instruction_of_its_own_block():
    # sw over P+12 while P..P+16 runs straight through (the nops put the
    # store inside a run, not first after the jump): the rewritten addi runs
    words = routine(lambda a: (a.addi("zero", "zero", 0), a.sw("t1", "a0", 12),
                               a.addi("zero", "zero", 0), a.addi("a0", "zero", 1), a.ret()))
    def main(a):
        a.li("t1", addi_word("a0", 2))
        a.mv("a0", "s0")
        a.jalr("ra", "s0", 0)
        a.sd("a0", "s11", 0)
    assert results(program(words, main))[0] == 2


def test_a_block_run_many_times_sees_a_later_rewrite():
    # the routine returns 1 twenty times (its block is decoded and reused),
    # then main rewrites its addi: the next call returns 7
    words = routine(lambda a: (a.addi("a0", "zero", 1), a.ret()))
    def main(a):
        a.li("s1", 0)
        a.li("s2", 20)
        a.label("loop")
        a.jalr("ra", "s0", 0)
        a.add("s1", "s1", "a0")
        a.addi("s2", "s2", -1)
        a.bne("s2", "zero", "loop")
        a.li("t1", addi_word("a0", 7))
        a.sw("t1", "s0", 0)
        a.jalr("ra", "s0", 0)
        a.sd("s1", "s11", 0)
        a.sd("a0", "s11", 8)
    assert results(program(words, main))[:2] == [20, 7]


def test_a_rewrite_after_fence_i_is_fetched():
    # section 3.2: after FENCE.I the hart's fetches see its earlier stores
    words = routine(lambda a: (a.addi("a0", "zero", 3), a.ret()))
    def main(a):
        a.jalr("ra", "s0", 0)
        a.sd("a0", "s11", 0)
        a.li("t1", addi_word("a0", 4))
        a.sw("t1", "s0", 0)
        a.word(0x0000100F)                      # fence.i
        a.jalr("ra", "s0", 0)
        a.sd("a0", "s11", 8)
    assert results(program(words, main))[:2] == [3, 4]
