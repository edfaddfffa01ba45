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

import pykernel as pk
from rvasm import DATA_BASE, Asm
from rvrun import pk_kernel, run_pykernel

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


def pair_loop(n: int) -> bytes:
    """A loop of ``n`` iterations made of pairs the block path runs as
    superinstructions (docs/architecture.md, "RISC-V blocks"): slli+srli
    (an index), add+ld (address generation and its load), addi+bne (the
    counter and the branch back).  It writes the sum of
    ``VALUES[i & 3]`` for i = n..1 and exits."""
    a = Asm()
    out = a.data(bytes(8))
    buf = a.data(struct.pack("<4Q", *VALUES))
    a.li("t0", n)
    a.li("s1", 0)
    a.li("s2", buf)
    a.label("loop")
    a.slli("t1", "t0", 62)                # (t0 & 3) << 3: slli 62, srli 59
    a.srli("t1", "t1", 59)
    a.add("t2", "s2", "t1")
    a.ld("t3", "t2", 0)
    a.add("s1", "s1", "t3")
    a.addi("t0", "t0", -1)
    a.bne("t0", "zero", "loop")
    a.li("t4", out)
    a.sd("s1", "t4", 0)
    a.write_out(out, 8)
    a.exit(0)
    return a.elf()


VALUES = (5, 7, 11, 13)
LOOP_BODY = 7                             # instructions from "loop" to the bne


def run_counted(elf: bytes) -> tuple[int, int]:
    """(the 64-bit word written, instructions executed) of one run."""
    k = pk_kernel()
    p = k.spawn(pk.Program.elf(elf), argv=["rvtest"])
    k.run()
    assert (p.state, p.exit_code) == ("exited", 0)
    return struct.unpack("<Q", p.stdout)[0], p.instructions


def test_superinstructions_compute_what_single_instructions_do():
    # 1000 iterations: 250 of each index, so 250 * (5 + 7 + 11 + 13)
    assert run_counted(pair_loop(1000))[0] == 250 * sum(VALUES)
    # 3 iterations: i = 3, 2, 1 -> VALUES[3] + VALUES[2] + VALUES[1]
    assert run_counted(pair_loop(3))[0] == 13 + 11 + 7


def test_superinstructions_count_both_instructions():
    # the program differs only in n: each more iteration is LOOP_BODY more
    # instructions, whether its pairs run as one handler or two
    _, few = run_counted(pair_loop(10))
    _, many = run_counted(pair_loop(1010))
    assert many - few == 1000 * LOOP_BODY
