"""Instruction-level tests: one small program per instruction class,
assembled by rvasm.py (no toolchain needed), run under pykernel and under
qemu-riscv64, each compared with values written out here.

Section numbers cite "The RISC-V Instruction Set Manual, Volume I:
Unprivileged ISA", version 20191213. Most programs store the registers
they test into a result buffer and write it to standard output as
little-endian 64-bit words; a few end with an exit code.
"""

from __future__ import annotations

import struct

import pytest

from rvasm import DATA_BASE, TEXT_BASE, Asm, i_type
from rvrun import run_pykernel, run_qemu

M64 = (1 << 64) - 1
SLOTS = 64                   # result words a program may keep
OUT = DATA_BASE              # the result buffer is the first datum


def u(v: int) -> int:
    """``v`` as an unsigned 64-bit register value."""
    return v & M64


@pytest.fixture(params=["qemu", "pykernel"])
def run(request):
    """``run(elf, stdin=b"")`` -> Outcome, under qemu-riscv64 (the
    reference) or pykernel."""
    def go(elf: bytes, stdin: bytes = b""):
        fn = run_qemu if request.param == "qemu" else run_pykernel
        return fn(elf, ["rvtest"], stdin)
    return go


class Prog(Asm):
    """An Asm whose ``keep(reg)`` appends ``reg`` to the result buffer
    (addressed by s11, which the tests leave alone)."""

    def __init__(self):
        super().__init__()
        assert self.data(bytes(8 * SLOTS)) == OUT
        self.kept = 0
        self.li("s11", OUT)

    def keep(self, *regs):
        for r in regs:
            self.sd(r, "s11", 8 * self.kept)
            self.kept += 1

    def finish(self) -> bytes:
        self.write_out(OUT, 8 * self.kept)
        self.exit(0)
        return self.elf()


def results(run, prog: Prog) -> list[int]:
    """Run ``prog``; the words it kept, as unsigned 64-bit values."""
    elf = prog.finish()
    got = run(elf)
    assert (got.state, got.exit_code, got.stderr) == ("exited", 0, b"")
    assert len(got.stdout) == 8 * prog.kept
    return list(struct.unpack(f"<{prog.kept}Q", got.stdout))


def binary(op: str, pairs) -> Prog:
    """A program applying register-register ``op`` to each (a, b) pair."""
    p = Prog()
    for a, b in pairs:
        p.li("t0", a)
        p.li("t1", b)
        getattr(p, op)("t2", "t0", "t1")
        p.keep("t2")
    return p


# ------------------------------------------------------ integer ALU (2.4, 5.2)

def test_alu_register_register(run):
    """Section 2.4 "Integer Register-Register Operations"."""
    p = Prog()
    p.li("t0", -7)
    p.li("t1", 3)
    for op in ("add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or_", "and_"):
        getattr(p, op)("t2", "t0", "t1")
        p.keep("t2")
    assert results(run, p) == [
        u(-4), u(-10), u(-56),
        1,                      # -7 < 3 signed
        0,                      # 2**64-7 < 3 unsigned: no
        u(-7 ^ 3), u(-7) >> 3, u(-1), u(-7 | 3), u(-7 & 3)]


def test_alu_immediates_are_sign_extended(run):
    """Section 2.4 "Integer Register-Immediate Instructions": the 12-bit
    immediate is sign-extended, also for SLTIU (so ``sltiu rd, rs, -1``
    is 1 unless rs is all ones) and XORI (``xori rd, rs, -1`` is NOT)."""
    p = Prog()
    p.li("t0", 100)
    p.addi("t1", "t0", -2048)
    p.slti("t2", "t0", -1)
    p.sltiu("t3", "t0", -1)
    p.xori("t4", "t0", -1)
    p.ori("t5", "t0", 0x7FF)
    p.andi("t6", "t0", -4)
    p.keep("t1", "t2", "t3", "t4", "t5", "t6")
    p.li("t0", -1)
    p.sltiu("t1", "t0", -1)
    p.keep("t1")
    assert results(run, p) == [u(100 - 2048), 0, 1, u(~100), 0x7FF, 100, 0]


def test_shift_amounts_use_six_bits(run):
    """Section 5.2: on RV64, SLL/SRL/SRA shift by rs2[5:0] and the
    immediate forms take shamt 0..63."""
    p = Prog()
    p.li("t0", 0x8000_0000_0000_0001)
    p.li("t1", 65)                          # shifts by 1
    p.sll("t2", "t0", "t1")
    p.srl("t3", "t0", "t1")
    p.sra("t4", "t0", "t1")
    p.keep("t2", "t3", "t4")
    p.slli("t2", "t0", 63)
    p.srli("t3", "t0", 63)
    p.srai("t4", "t0", 63)
    p.srai("t5", "t0", 0)
    p.keep("t2", "t3", "t4", "t5")
    assert results(run, p) == [2, 0x4000_0000_0000_0000, 0xC000_0000_0000_0000,
                               0x8000_0000_0000_0000, 1, M64, 0x8000_0000_0000_0001]


def test_word_shifts_use_five_bits_and_sign_extend(run):
    """Section 5.2 "Integer Register-Register Operations": SLLW, SRLW and
    SRAW shift the low 32 bits by rs2[4:0] and sign-extend the 32-bit
    result; SLLIW/SRLIW/SRAIW likewise with shamt 0..31."""
    p = Prog()
    p.li("t0", 0x1234_5678_8000_0001)
    p.li("t1", 33)                          # shifts by 1
    p.sllw("t2", "t0", "t1")
    p.srlw("t3", "t0", "t1")
    p.sraw("t4", "t0", "t1")
    p.keep("t2", "t3", "t4")
    p.slliw("t2", "t0", 31)
    p.srliw("t3", "t0", 0)                  # sign-extends the low word
    p.sraiw("t4", "t0", 31)
    p.srliw("t5", "t0", 31)
    p.keep("t2", "t3", "t4", "t5")
    assert results(run, p) == [2, 0x4000_0000, u(-0x4000_0000),
                               0xFFFF_FFFF_8000_0000, 0xFFFF_FFFF_8000_0001, M64, 1]


def test_word_arithmetic_wraps_and_sign_extends(run):
    """Section 5.2: ADDW/SUBW/ADDIW compute on 32 bits, ignore overflow and
    sign-extend; ``addiw rd, rs, 0`` is SEXT.W."""
    p = Prog()
    p.li("t0", 0x7FFF_FFFF)
    p.li("t1", 1)
    p.addw("t2", "t0", "t1")
    p.li("t3", 0x5_0000_0000)
    p.subw("t4", "t3", "t1")                # upper bits ignored
    p.addiw("t5", "t0", 1)
    p.li("t6", 0xDEAD_BEEF_F000_0000)
    p.addiw("t6", "t6", 0)
    p.keep("t2", "t4", "t5", "t6")
    assert results(run, p) == [0xFFFF_FFFF_8000_0000, M64, 0xFFFF_FFFF_8000_0000,
                               0xFFFF_FFFF_F000_0000]


def test_lui_and_auipc(run):
    """Section 2.4 and 5.2: LUI places the 20-bit immediate in bits 31:12
    and sign-extends bit 31 to 64 bits; AUIPC adds that to its own pc."""
    p = Prog()
    p.lui("t0", 0x80000)
    p.lui("t1", 0x12345)
    here = p.pc
    p.auipc("t2", 0x1)
    p.auipc("t3", 0xFFFFF)                  # pc - 4096
    p.keep("t0", "t1", "t2", "t3")
    assert results(run, p) == [0xFFFF_FFFF_8000_0000, 0x1234_5000, here + 0x1000,
                               here + 4 - 0x1000]


# ----------------------------------------------------- control transfer (2.5)

BRANCH_CASES = [  # (op, a, b, taken)
    ("beq", 5, 5, 1), ("beq", 5, 6, 0),
    ("bne", 5, 6, 1), ("bne", -1, -1, 0),
    ("blt", -1, 1, 1), ("blt", 1, -1, 0), ("blt", 3, 3, 0),
    ("bltu", 1, -1, 1), ("bltu", -1, 1, 0),
    ("bge", 3, 3, 1), ("bge", -2, 1, 0),
    ("bgeu", -1, 1, 1), ("bgeu", 1, 2, 0),
]


def test_conditional_branches(run):
    """Section 2.5 "Conditional Branches": signed and unsigned compares;
    each case keeps 1 if the branch was taken."""
    p = Prog()
    for i, (op, a, b, _) in enumerate(BRANCH_CASES):
        p.li("t0", a)
        p.li("t1", b)
        p.li("t2", 1)
        getattr(p, op)("t0", "t1", f"taken{i}")
        p.li("t2", 0)
        p.label(f"taken{i}")
        p.keep("t2")
    assert results(run, p) == [c[3] for c in BRANCH_CASES]


def test_backward_branch_loop(run):
    """A loop closed by a backward BNE: 1 + 2 + ... + 100."""
    p = Prog()
    p.li("t0", 100)
    p.li("t1", 0)
    p.label("loop")
    p.add("t1", "t1", "t0")
    p.addi("t0", "t0", -1)
    p.bne("t0", "zero", "loop")
    p.keep("t1")
    assert results(run, p) == [5050]


def test_jal_and_jalr_link_and_target(run):
    """Section 2.5 "Unconditional Jumps": JAL/JALR write pc+4 to rd (not
    when rd is x0); JALR jumps to (rs1 + imm) with bit 0 cleared, using
    rs1's value from before the write when rd == rs1."""
    p = Prog()
    p.li("s1", 0)
    p.jal("ra", "f1")
    link1 = p.pc
    p.keep("ra")
    p.jal("zero", "after")
    p.label("f1")
    p.addi("s1", "s1", 1)
    p.jalr("zero", "ra", 0)                  # return
    p.label("after")
    p.keep("s1")
    # t1 = address of "land" + 1; jalr t1, t1, 0 jumps to "land" and links
    p.auipc("t1", 0)
    p.addi("t1", "t1", 4 * 4 + 1)            # auipc, addi, jalr, li: 4 words
    link2_pc = p.pc + 4
    p.jalr("t1", "t1", 0)
    p.li("t2", 99)                           # skipped
    p.label("land")
    p.keep("t1")
    assert results(run, p) == [link1, 1, link2_pc]


# ---------------------------------------------------------- loads/stores (2.6)

PATTERN = bytes([0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88])


def test_loads_sign_and_zero_extend_every_width(run):
    """Sections 2.6 and 5.3: LB/LH/LW sign-extend, LBU/LHU/LWU zero-extend,
    LD loads 64 bits (little-endian)."""
    p = Prog()
    addr = p.data(PATTERN)
    p.li("t0", addr)
    for op in ("lb", "lbu", "lh", "lhu", "lw", "lwu", "ld"):
        getattr(p, op)("t1", "t0", 0)
        p.keep("t1")
    p.lb("t1", "t0", 7)                      # positive offset
    p.addi("t2", "t0", 8)
    p.lhu("t3", "t2", -2)                    # negative offset
    p.keep("t1", "t3")
    assert results(run, p) == [
        u(-0x7F), 0x81, u(0x8281 - 0x10000), 0x8281, u(0x84838281 - 0x1_0000_0000),
        0x84838281, 0x8887868584838281, u(0x88 - 0x100), 0x8887]


def test_stores_write_only_their_width(run):
    """Section 2.6: SB, SH, SW store the low 8, 16, 32 bits; SD all 64."""
    p = Prog()
    addr = p.data(b"\xff" * 32)
    p.li("t0", addr)
    p.li("t1", 0x1122_3344_5566_7788)
    p.sb("t1", "t0", 0)
    p.sh("t1", "t0", 8)
    p.sw("t1", "t0", 16)
    p.sd("t1", "t0", 24)
    for off in (0, 8, 16, 24):
        p.ld("t2", "t0", off)
        p.keep("t2")
    assert results(run, p) == [0xFFFF_FFFF_FFFF_FF88, 0xFFFF_FFFF_FFFF_7788,
                               0xFFFF_FFFF_5566_7788, 0x1122_3344_5566_7788]


def test_misaligned_loads_and_stores_complete(run):
    """Section 2.6 leaves misaligned accesses to the execution environment;
    Linux user mode (as qemu-riscv64 runs it) completes them, so pykernel
    does too: a word stored at offset 3 and a doubleword loaded from 1."""
    p = Prog()
    addr = p.data(bytes(range(1, 17)))
    p.li("t0", addr)
    p.ld("t1", "t0", 1)
    p.lh("t2", "t0", 7)
    p.li("t3", 0xAABB_CCDD)
    p.sw("t3", "t0", 3)
    p.ld("t4", "t0", 0)
    p.keep("t1", "t2", "t4")
    assert results(run, p) == [0x0908_0706_0504_0302, 0x0908, 0x08AA_BBCC_DD03_0201]


def test_misaligned_access_across_a_page_boundary(run):
    """A misaligned doubleword stored and loaded across the boundary of two
    mapped pages touches both (each byte lands where a byte store would
    put it)."""
    p = Prog()
    p.bss(2 * 4096)                          # data + bss span DATA_BASE .. +3 pages
    boundary = DATA_BASE + 4096
    p.li("t0", boundary - 3)
    p.li("t1", 0x1122_3344_5566_7788)
    p.sd("t1", "t0", 0)
    p.ld("t2", "t0", 0)
    p.lbu("t3", "t0", 2)                     # last byte before the boundary
    p.lbu("t4", "t0", 3)                     # first byte after it
    p.lw("t5", "t0", 1)
    p.keep("t2", "t3", "t4", "t5")
    assert results(run, p) == [0x1122_3344_5566_7788, 0x66, 0x55, 0x4455_6677]


def test_misaligned_load_into_an_unmapped_page_is_a_fault(run):
    """A doubleword load that starts 4 bytes before the end of the data
    segment's last page reaches into the unmapped page after it: a
    segmentation fault, though its first bytes are mapped."""
    p = Asm()
    p.data(bytes(16))
    end = p.bss(4096 - 16) + 4096 - 16       # the page after the data segment
    p.li("t0", end - 4)
    p.lw("t1", "t0", 0)                       # all four bytes mapped: fine
    p.ld("t1", "t0", 0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason) == ("killed", "segmentation fault")


# ---------------------------------------------------------------- M (ch. 7)

def test_multiplication(run):
    """Section 7.1: MUL keeps the low 64 bits; MULH, MULHSU, MULHU the high
    64 bits of the signed x signed, signed x unsigned and unsigned x
    unsigned 128-bit products; MULW multiplies the low words and
    sign-extends."""
    a, b = -3, 0x7FFF_FFFF_FFFF_FFFF
    p = Prog()
    p.li("t0", a)
    p.li("t1", b)
    for op in ("mul", "mulh", "mulhsu", "mulhu", "mulw"):
        getattr(p, op)("t2", "t0", "t1")
        p.keep("t2")
    p.li("t0", -1)
    p.li("t1", -1)
    p.mulhsu("t2", "t0", "t1")                # -1 * (2**64-1)
    p.mulhu("t3", "t0", "t1")
    p.keep("t2", "t3")
    assert results(run, p) == [
        u(a * b), u((a * b) >> 64), u((a * b) >> 64), u((u(a) * b) >> 64),
        u(-3 * -1),                             # low words: -3 * -1 = 3
        u((-1 * M64) >> 64), u((M64 * M64) >> 64)]


def test_division_edge_cases(run):
    """Section 7.2, table 7.1: division by zero gives all ones (DIV, DIVU)
    and the dividend as remainder; INT64_MIN / -1 gives INT64_MIN with
    remainder 0; the quotient rounds toward zero and the remainder has
    the dividend's sign. The W forms do the same on 32 bits and
    sign-extend."""
    imin = -(1 << 63)
    cases = [("div", 7, -2), ("rem", 7, -2), ("rem", -7, 2), ("divu", 7, 2),
             ("div", 5, 0), ("divu", 5, 0), ("rem", -5, 0), ("remu", 5, 0),
             ("div", imin, -1), ("rem", imin, -1),
             ("divw", -(1 << 31), -1), ("remw", -(1 << 31), -1), ("divw", 5, 0),
             ("divuw", 5, 0), ("remw", 0x1_8000_0005, 0), ("remuw", 0xFFFF_FFFF, 0),
             ("divuw", 0xFFFF_FFFE, 2)]
    p = Prog()
    for op, a, b in cases:
        p.li("t0", a)
        p.li("t1", b)
        getattr(p, op)("t2", "t0", "t1")
        p.keep("t2")
    assert results(run, p) == [
        u(-3), 1, u(-1), 3,
        M64, M64, u(-5), 5,
        u(imin), 0,
        u(-(1 << 31)), 0, M64,
        M64, u(-0x7FFF_FFFB), M64,
        0x7FFF_FFFF]


# ---------------------------------------------------------------- A (ch. 8)

def test_lr_sc_succeeds_then_fails_without_reservation(run):
    """Section 8.2: SC writes 0 to rd and stores when the reservation from
    LR holds; after it (the reservation is used up), a second SC fails,
    writes 1 (table 8.1: failure code 1, "unspecified failure") and
    stores nothing. LR.W sign-extends."""
    p = Prog()
    addr = p.data(struct.pack("<qq", -2, 10))
    p.li("t0", addr)
    p.lr_d("t1", "t0")
    p.li("t2", 42)
    p.sc_d("t3", "t2", "t0")
    p.li("t2", 43)
    p.sc_d("t4", "t2", "t0")
    p.ld("t5", "t0", 0)
    p.keep("t1", "t3", "t4", "t5")
    p.addi("t0", "t0", 8)
    p.lw("t1", "t0", 0)
    p.li("t1", 0x8000_0000)
    p.sw("t1", "t0", 0)
    p.lr_w("t1", "t0")
    p.li("t2", 7)
    p.sc_w("t3", "t2", "t0")
    p.lw("t5", "t0", 0)
    p.keep("t1", "t3", "t5")
    assert results(run, p) == [u(-2), 0, 1, 42, 0xFFFF_FFFF_8000_0000, 0, 7]


def test_sc_to_another_address_fails(run):
    """Section 8.2: SC succeeds only if the reservation set holds the bytes
    written, and leaves the set's size to the implementation; qemu-riscv64
    reserves exactly the address LR read, and pykernel does the same: after
    LR.D on one doubleword, SC.D to the next one fails with 1 and leaves
    memory alone."""
    p = Prog()
    addr = p.data(struct.pack("<qq", 1, 2), align=64)
    p.li("t0", addr)
    p.lr_d("t1", "t0")
    p.addi("t2", "t0", 8)
    p.li("t3", 99)
    p.sc_d("t4", "t3", "t2")
    p.ld("t5", "t2", 0)
    p.keep("t1", "t4", "t5")
    assert results(run, p) == [1, 1, 2]


AMO_CASES = [  # (op, width, memory, operand, new memory value)
    ("amoswap", "d", 5, -9, u(-9)),
    ("amoadd", "d", 5, -9, u(-4)),
    ("amoxor", "d", 0b1100, 0b1010, 0b0110),
    ("amoand", "d", 0b1100, 0b1010, 0b1000),
    ("amoor", "d", 0b1100, 0b1010, 0b1110),
    ("amomin", "d", 5, -9, u(-9)),
    ("amomax", "d", 5, -9, 5),
    ("amominu", "d", 5, -9, 5),
    ("amomaxu", "d", 5, -9, u(-9)),
    ("amoadd", "w", 0x7FFF_FFFF, 1, 0x8000_0000),
    ("amoswap", "w", 0x8000_0000, 3, 3),
    ("amomin", "w", 0x8000_0000, 1, 0x8000_0000),
    ("amominu", "w", 0x8000_0000, 1, 1),
]


def test_amos_return_the_old_value_and_store_the_result(run):
    """Section 8.4: an AMO loads the old value into rd (sign-extended for
    .W), applies the operation with rs2 and stores the result; MIN/MAX
    compare signed, MINU/MAXU unsigned, .W on 32 bits."""
    p = Prog()
    for op, width, mem, operand, _ in AMO_CASES:
        addr = p.data(struct.pack("<Q", u(mem)))
        p.li("t0", addr)
        p.li("t1", operand)
        p.amo(op, width, "t2", "t1", "t0", aq=1, rl=1)
        (p.ld if width == "d" else p.lwu)("t3", "t0", 0)
        p.keep("t2", "t3")
    expect = []
    for _, width, mem, _, new in AMO_CASES:
        old = u(mem) if width == "d" else u(mem - (mem & 0x8000_0000) * 2)   # sign-extended word
        expect += [old, new]
    assert results(run, p) == expect


# ------------------------------------------------------- Zicsr (ch. 9, 10)

def test_fcsr_fields_through_csr_instructions(run):
    """Chapter 9 and section 11.2: fcsr holds frm (bits 7:5) and fflags
    (4:0); CSRRW/CSRRS/CSRRC and their immediate forms return the old
    value and write, set or clear bits; x0 as source reads without
    writing."""
    p = Prog()
    p.csrrwi("t0", "fcsr", 0)                 # old value (0 at start), clear
    p.csrrwi("zero", "frm", 3)
    p.csrrsi("t1", "fflags", 0x11)            # old fflags 0
    p.csrr("t2", "fcsr")                      # 3 << 5 | 0x11
    p.li("t3", 0x5)
    p.csrrc("t4", "fflags", "t3")             # old 0x11, clears bit 0
    p.csrr("t5", "fflags")
    p.csrrci("t6", "frm", 1)                  # old 3 -> 2
    p.keep("t0", "t1", "t2", "t4", "t5", "t6")
    p.li("t0", 0x3E)
    p.csrrw("t1", "fcsr", "t0")
    p.csrr("t2", "frm")
    p.csrr("t3", "fflags")
    p.keep("t1", "t2", "t3")
    assert results(run, p) == [0, 0, 0x71, 0x11, 0x10, 3, 0x50, 1, 0x1E]


def test_counters_do_not_go_back(run):
    """Chapter 10 ("Counters"): rdcycle, rdtime and rdinstret (CSRRS from
    cycle, time, instret) read 64-bit counters that do not decrease; the
    instructions between two instret reads are counted. Kept: 1 per
    relation that holds."""
    p = Prog()
    for csr in ("cycle", "time", "instret"):
        p.csrr("t0", csr)
        for _ in range(20):
            p.addi("t2", "t2", 1)
        p.csrr("t1", csr)
        p.sltu("t3", "t1", "t0")               # 1 if it went back
        p.xori("t3", "t3", 1)
        p.keep("t3")
    p.csrr("t0", "instret")
    for _ in range(20):
        p.nop()
    p.csrr("t1", "instret")
    p.sub("t1", "t1", "t0")
    p.sltiu("t1", "t1", 20)                    # 0 if at least 20 counted
    p.keep("t1")
    assert results(run, p) == [1, 1, 1, 0]


# ------------------------------------------------ F/D moves (ch. 11 and 12)

def test_fp_loads_stores_and_moves_keep_bit_patterns(run):
    """Sections 11.5-11.7 and 12.3-12.6: FLD/FSD and FLW/FSW move bits
    unchanged; FMV.X.D / FMV.D.X copy 64 bits; FMV.X.W sign-extends bit 31
    of the single; FLW NaN-boxes (section 12.2: the upper 32 bits become
    ones, seen through FMV.X.D); FSGNJ.D fd, fs, fs is FMV.D and
    FSGNJN/FSGNJX flip the sign."""
    p = Prog()
    dbl, sgl = 0xC00A_0000_0000_0000, 0xBF80_0000          # -3.25, -1.0f
    addr = p.data(struct.pack("<QI", dbl, sgl) + bytes(20))
    p.li("t0", addr)
    p.fld("fa0", "t0", 0)
    p.fmv_x_d("t1", "fa0")
    p.flw("fa1", "t0", 8)
    p.fmv_x_w("t2", "fa1")
    p.fmv_x_d("t3", "fa1")
    p.keep("t1", "t2", "t3")
    p.fmv_d("fa2", "fa0")
    p.fsd("fa2", "t0", 16)
    p.ld("t1", "t0", 16)
    p.fsgnjn_d("fa3", "fa0", "fa0")
    p.fmv_x_d("t2", "fa3")
    p.fsgnjx_d("fa4", "fa0", "fa0")         # sign xor sign = positive
    p.fmv_x_d("t3", "fa4")
    p.keep("t1", "t2", "t3")
    p.li("t4", 0x4000_0000)                 # 2.0f
    p.fmv_w_x("fa5", "t4")
    p.fsw("fa5", "t0", 24)
    p.lwu("t5", "t0", 24)
    p.li("t4", 0x1234_5678_9ABC_DEF0)
    p.fmv_d_x("fa6", "t4")
    p.fmv_x_d("t6", "fa6")
    p.keep("t5", "t6")
    assert results(run, p) == [dbl, 0xFFFF_FFFF_BF80_0000, 0xFFFF_FFFF_BF80_0000,
                               dbl, 0x400A_0000_0000_0000, 0x400A_0000_0000_0000,
                               0x4000_0000, 0x1234_5678_9ABC_DEF0]


# ------------------------------------------------- compressed (chapter 16)

def test_compressed_arithmetic(run):
    """Sections 16.5 "Integer Computational Instructions": C.LI, C.ADDI,
    C.ADDIW, C.LUI, C.SLLI/C.SRLI/C.SRAI, C.ANDI, C.MV, C.ADD and the
    CA-format C.SUB/XOR/OR/AND/SUBW/ADDW (on x8..x15)."""
    p = Prog()
    p.c_li("a0", -32)
    p.c_addi("a0", 31)                      # -1
    p.c_li("a1", 1)
    p.c_slli("a1", 63)                      # 0x8000...0
    p.c_mv("a2", "a1")
    p.c_srai("a2", 62)                      # 0xE000...0 >> ... = -2
    p.c_mv("a3", "a1")
    p.c_srli("a3", 63)                      # 1
    p.keep("a0", "a1", "a2", "a3")
    p.c_lui("a4", -1)                       # 0xFFFF_FFFF_FFFF_F000
    p.c_li("a5", 31)
    p.c_addiw("a5", -32)                    # -1
    p.c_andi("a4", -16)
    p.keep("a4", "a5")
    p.li("s0", 0x1_0000_000F)
    p.li("s1", 0x3)
    p.c_mv("a0", "s0")
    p.c_sub("a0", "s1")
    p.c_mv("a1", "s0")
    p.c_xor("a1", "s1")
    p.c_mv("a2", "s0")
    p.c_or("a2", "s1")
    p.c_mv("a3", "s0")
    p.c_and("a3", "s1")
    p.c_mv("a4", "s0")
    p.c_subw("a4", "s1")
    p.c_mv("a5", "s0")
    p.c_addw("a5", "s1")
    p.c_add("a5", "s1")
    p.keep("a0", "a1", "a2", "a3", "a4", "a5")
    assert results(run, p) == [
        M64, 1 << 63, u(-2), 1, 0xFFFF_FFFF_FFFF_F000, M64,
        0x1_0000_000C, 0x1_0000_000C, 0x1_0000_000F, 3, 0xC, 0x12 + 3]


def test_compressed_loads_and_stores(run):
    """Section 16.3-16.4: C.LW/C.SW/C.LD/C.SD (base x8..x15, scaled
    offsets), the stack-pointer forms C.LWSP/C.SWSP/C.LDSP/C.SDSP,
    C.ADDI16SP and C.ADDI4SPN, C.FLD/C.FSD. C.LW sign-extends."""
    p = Prog()
    addr = p.data(struct.pack("<qq", -5, 0x1122_3344_5566_7788) + bytes(48))
    p.li("s0", addr)
    p.c_lw("a0", "s0", 0)                   # low word of -5
    p.c_ld("a1", "s0", 8)
    p.c_sw("a1", "s0", 16)
    p.c_sd("a1", "s0", 24)
    p.ld("a2", "s0", 16)
    p.ld("a3", "s0", 24)
    p.keep("a0", "a1", "a2", "a3")
    p.mv("s1", "sp")                        # keep the real stack pointer
    p.addi("sp", "s0", 32)
    p.c_sdsp("a1", 8)                       # addr+40
    p.c_swsp("a0", 4)                       # addr+36
    p.c_ldsp("a4", 8)
    p.c_lwsp("a5", 4)
    p.c_addi16sp(-32)                       # sp = addr
    p.c_addi4spn("s0", 8)                   # s0 = addr + 8
    p.c_fld("fa0", "s0", 0)
    p.c_fsd("fa0", "s0", 40)                # addr+48
    p.ld("a2", "s0", 40)
    p.mv("a3", "sp")
    p.mv("sp", "s1")
    p.li("t0", addr)
    p.sub("a3", "a3", "t0")
    p.keep("a4", "a5", "a2", "a3")
    assert results(run, p) == [u(-5), 0x1122_3344_5566_7788, 0x5566_7788,
                               0x1122_3344_5566_7788, 0x1122_3344_5566_7788, u(-5),
                               0x1122_3344_5566_7788, 0]


def test_compressed_control_flow(run):
    """Section 16.4 "Control Transfer Instructions": C.J, C.BEQZ, C.BNEZ,
    C.JR, and C.JALR, which links pc + 2 into ra."""
    p = Prog()
    p.c_li("a0", 0)
    p.c_j("over")
    p.c_li("a0", 9)                         # skipped
    p.label("over")
    p.c_li("s0", 0)
    p.c_li("a1", 1)
    p.c_beqz("s0", "z")
    p.c_li("a1", 9)                         # skipped
    p.label("z")
    p.c_li("a2", 0)
    p.c_bnez("s0", "nz")                    # not taken
    p.c_li("a2", 2)
    p.label("nz")
    p.keep("a0", "a1", "a2")
    p.auipc("t0", 0)
    p.addi("t0", "t0", 4 + 4 + 2 + 2)       # -> "fn" (auipc, addi, c.jalr, c.j)
    p.c_jalr("t0")
    link = p.pc
    p.c_j("done")
    p.label("fn")
    p.c_mv("a3", "ra")
    p.c_jr("ra")
    p.label("done")
    p.keep("a3")
    assert results(run, p) == [0, 1, 2, link]


# --------------------------------------------------------- initial stack

AT_NULL, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_ENTRY, AT_RANDOM = 0, 4, 5, 6, 9, 25


def test_initial_stack_holds_argc_argv_envp_and_auxv(run):
    """System V ABI for RISC-V, "Process Initialization" (as Linux lays it
    out): sp is 16-byte aligned and points at argc, then the argv
    pointers and a NULL, the envp pointers (none here) and a NULL, then
    the auxiliary vector of (type, value) pairs up to AT_NULL, with
    AT_PAGESZ 4096, AT_ENTRY the entry point, AT_PHENT 56 and AT_PHNUM the
    program headers, and AT_RANDOM pointing at 16 readable bytes."""
    p = Prog()
    p.mv("s0", "sp")
    p.andi("t0", "s0", 15)
    p.ld("t1", "s0", 0)                     # argc
    p.ld("t2", "s0", 8)                     # argv[0] -> "rvtest"
    p.lwu("t3", "t2", 0)
    p.lhu("t4", "t2", 4)
    p.lbu("t5", "t2", 6)
    p.keep("t0", "t1", "t3", "t4", "t5")
    p.ld("t0", "s0", 16)                    # argv[1] = NULL
    p.ld("t1", "s0", 24)                    # envp[0] = NULL
    p.keep("t0", "t1")
    p.addi("s1", "s0", 32)                  # auxv
    for r in ("t3", "t4", "t5", "t6", "s2"):
        p.li(r, 0)
    p.label("aux")
    p.ld("a0", "s1", 0)
    p.ld("a1", "s1", 8)
    p.addi("s1", "s1", 16)
    p.beq("a0", "zero", "aux_end")
    for i, (kind, reg) in enumerate([(AT_PAGESZ, "t3"), (AT_ENTRY, "t4"),
                                     (AT_PHENT, "t6"), (AT_PHNUM, "s2")]):
        p.li("a2", kind)
        p.bne("a0", "a2", f"not{i}")
        p.mv(reg, "a1")
        p.label(f"not{i}")
    p.li("a2", AT_RANDOM)
    p.bne("a0", "a2", "aux")
    p.ld("a3", "a1", 0)                     # the 16 bytes are readable
    p.ld("a3", "a1", 8)
    p.li("t5", 1)
    p.j("aux")
    p.label("aux_end")
    p.keep("t3", "t4", "t5", "t6", "s2")
    assert results(run, p) == [0, 1, int.from_bytes(b"rvte", "little"),
                               int.from_bytes(b"st", "little"), 0, 0, 0,
                               4096, TEXT_BASE, 1, 56, 2]


# ------------------------------------------------------- x0 and the ecall

def test_x0_is_hardwired_to_zero(run):
    """Section 2.1: x0 reads as zero; writes to it (ALU results, LUI,
    loads, JAL links, CSR reads, AMO results) are discarded."""
    p = Prog()
    addr = p.data(struct.pack("<q", 77))
    p.addi("zero", "zero", 5)
    p.lui("zero", 0x12345)
    p.li("t0", addr)
    p.ld("zero", "t0", 0)
    p.csrr("zero", "cycle")
    p.li("t1", 1)
    p.amo("amoadd", "d", "zero", "t1", "t0")    # memory still updated
    p.jal("zero", "next")
    p.label("next")
    p.add("t2", "zero", "zero")
    p.mv("t3", "zero")
    p.ld("t4", "t0", 0)
    p.keep("t2", "t3", "zero", "t4")
    assert results(run, p) == [0, 0, 0, 78]


def test_ecall_exit_with_a_computed_code(run):
    """Section 2.8 "Environment Call": ECALL with a7 = 93 (exit) ends the
    process with the code in a0; here 3 * 7 + 21 = 42."""
    p = Asm()
    p.li("t0", 3)
    p.li("t1", 7)
    p.mul("t2", "t0", "t1")
    p.addi("t2", "t2", 21)
    p.exit_with("t2")
    got = run(p.elf())
    assert (got.state, got.exit_code, got.stdout) == ("exited", 42, b"")


def test_exit_code_keeps_its_low_eight_bits(run):
    """Linux exit(2)/exit_group(2): the parent sees ``status & 0xff``."""
    p = Asm()
    p.li("a0", 0x1234)
    p.syscall(94)                           # exit_group
    got = run(p.elf())
    assert (got.state, got.exit_code) == ("exited", 0x34)


def test_read_and_write_system_calls(run):
    """read(0, buf, 64) then write(1, buf, n): a7 = 63 and 64, the result
    (bytes transferred) in a0; the exit code is that count."""
    p = Asm()
    buf = p.data(bytes(64))
    p.li("a0", 0)
    p.li("a1", buf)
    p.li("a2", 64)
    p.syscall(63)
    p.mv("s0", "a0")
    p.li("a0", 1)
    p.li("a1", buf)
    p.mv("a2", "s0")
    p.syscall(64)
    p.exit_with("a0")
    got = run(p.elf(), stdin=b"twelve bytes")
    assert (got.state, got.exit_code, got.stdout) == ("exited", 12, b"twelve bytes")


def test_unknown_system_call_returns_enosys(run):
    """An unimplemented system call number returns -ENOSYS (-38) in a0."""
    p = Prog()
    p.li("a0", 1)
    p.syscall(1999)
    p.keep("a0")
    assert results(run, p) == [u(-38)]


def test_bss_is_zero_and_writable(run):
    """A PT_LOAD segment whose p_memsz exceeds p_filesz is zero-filled past
    the file bytes (System V ABI, "Program Header"), even though the file
    goes on with other bytes; the zeroed part is writable like the rest."""
    p = Prog()
    bss = p.bss(3 * 4096)
    p.li("t0", bss)
    p.ld("t1", "t0", 0)                     # first bss word: right after the file bytes
    p.li("t2", 4096 - 8)
    p.add("t2", "t0", "t2")
    p.ld("t3", "t2", 0)                       # last word of the first bss page
    p.li("t4", 3 * 4096 - 8)
    p.add("t4", "t0", "t4")
    p.ld("t5", "t4", 0)                     # last bss word
    p.li("t6", 0x5A)
    p.sd("t6", "t4", 0)
    p.ld("t6", "t4", 0)
    p.keep("t1", "t3", "t5", "t6")
    assert results(run, p) == [0, 0, 0, 0x5A]


def test_fetch_from_a_data_page_is_a_fault(run):
    """Instruction fetch checks the execute permission: the data segment is
    mapped read+write only (its PT_LOAD flags), so jumping into it is a
    segmentation fault even though it holds valid instructions."""
    p = Asm()
    addr = p.data(struct.pack("<4I", 0x13, 0x13, 0x13, 0x13))    # nops
    p.li("t0", addr)
    p.jalr("zero", "t0", 0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason, got.stdout) == ("killed", "segmentation fault", b"")


def test_jump_to_address_zero_is_a_fault(run):
    """Nothing is mapped at address 0: fetching there is a segmentation
    fault."""
    p = Asm()
    p.jalr("ra", "zero", 0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason) == ("killed", "segmentation fault")


def test_load_from_an_unmapped_address_is_a_fault(run):
    """A load from an address no segment, stack or mapping covers."""
    p = Asm()
    p.li("t0", 0x3F_0000_0000)
    p.ld("t1", "t0", 0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason) == ("killed", "segmentation fault")


def test_all_zero_instruction_is_illegal(run):
    """Section 1.5: an encoding whose bits [15:0] are all zero is an
    illegal instruction; the process is killed (SIGILL under Linux)
    after the output written before it."""
    p = Asm()
    msg = p.data(b"before\n")
    p.write_out(msg, 7)
    p.word(0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason, got.stdout) == ("killed", "illegal instruction",
                                                        b"before\n")


def test_text_is_not_writable(run):
    """The text segment is mapped read+execute (its PT_LOAD flags): a
    store into it is a segmentation fault."""
    p = Asm()
    p.li("t0", TEXT_BASE)
    p.sw("zero", "t0", 0)
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason) == ("killed", "segmentation fault")


def test_jalr_with_a_nonzero_funct3_is_illegal(run):
    """Section 2.5 and chapter 24 (opcode map): JALR is I-type with
    funct3 = 000; the other funct3 values of opcode 1100111 are reserved,
    so the instruction is illegal (SIGILL under Linux)."""
    p = Asm()
    msg = p.data(b"before\n")
    p.write_out(msg, 7)
    p.word(i_type(0x67, 1, 1, 1, 0))      # jalr ra, 0(ra) with funct3 = 001
    p.exit(0)
    got = run(p.elf())
    assert (got.state, got.kill_reason, got.stdout) == ("killed", "illegal instruction",
                                                        b"before\n")
