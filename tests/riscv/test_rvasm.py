"""The test assembler (rvasm.py) encodes like the GNU assembler and its
output disassembles, with riscv64-linux-gnu-objdump, to the instructions
it was asked for. Needs binutils-riscv64-linux-gnu (installed with the
cross compiler)."""

from __future__ import annotations

import re
import subprocess

import pytest

import rvasm
from rvasm import Asm
from rvrun import need_binutils

# (emit on an Asm, the same instruction in GNU assembler syntax, the
# mnemonic objdump -M no-aliases prints). Branch and jump targets are
# offsets from the instruction ("." in GNU syntax).
CASES = [
    (lambda a: a.lui("a0", 0x80000), "lui a0, 0x80000", "lui"),
    (lambda a: a.auipc("t1", 0xFFFFF), "auipc t1, 0xfffff", "auipc"),
    (lambda a: a.jal("ra", a.pc + 2044), "jal ra, .+2044", "jal"),
    (lambda a: a.jal("zero", a.pc - 1048576), "jal zero, .-1048576", "jal"),
    (lambda a: a.jalr("t0", "t1", -2048), "jalr t0, -2048(t1)", "jalr"),
    (lambda a: a.beq("a0", "a1", a.pc + 4094), "beq a0, a1, .+4094", "beq"),
    (lambda a: a.bne("s0", "zero", a.pc - 4096), "bne s0, zero, .-4096", "bne"),
    (lambda a: a.blt("t0", "t1", a.pc + 8), "blt t0, t1, .+8", "blt"),
    (lambda a: a.bge("t0", "t1", a.pc - 8), "bge t0, t1, .-8", "bge"),
    (lambda a: a.bltu("a5", "a6", a.pc + 2), "bltu a5, a6, .+2", "bltu"),
    (lambda a: a.bgeu("a5", "a6", a.pc + 2048), "bgeu a5, a6, .+2048", "bgeu"),
    (lambda a: a.lb("a0", "sp", -1), "lb a0, -1(sp)", "lb"),
    (lambda a: a.lh("a0", "sp", 2), "lh a0, 2(sp)", "lh"),
    (lambda a: a.lw("a0", "sp", 2047), "lw a0, 2047(sp)", "lw"),
    (lambda a: a.ld("a0", "sp", -2048), "ld a0, -2048(sp)", "ld"),
    (lambda a: a.lbu("t6", "s11", 0), "lbu t6, 0(s11)", "lbu"),
    (lambda a: a.lhu("t6", "s11", 6), "lhu t6, 6(s11)", "lhu"),
    (lambda a: a.lwu("t6", "s11", 12), "lwu t6, 12(s11)", "lwu"),
    (lambda a: a.sb("a1", "a2", -5), "sb a1, -5(a2)", "sb"),
    (lambda a: a.sh("a1", "a2", 100), "sh a1, 100(a2)", "sh"),
    (lambda a: a.sw("a1", "a2", -2048), "sw a1, -2048(a2)", "sw"),
    (lambda a: a.sd("a1", "a2", 2047), "sd a1, 2047(a2)", "sd"),
    (lambda a: a.addi("a0", "a1", -1), "addi a0, a1, -1", "addi"),
    (lambda a: a.slti("a0", "a1", 5), "slti a0, a1, 5", "slti"),
    (lambda a: a.sltiu("a0", "a1", -1), "sltiu a0, a1, -1", "sltiu"),
    (lambda a: a.xori("a0", "a1", -1), "xori a0, a1, -1", "xori"),
    (lambda a: a.ori("a0", "a1", 0x7FF), "ori a0, a1, 2047", "ori"),
    (lambda a: a.andi("a0", "a1", -16), "andi a0, a1, -16", "andi"),
    (lambda a: a.slli("a0", "a1", 63), "slli a0, a1, 63", "slli"),
    (lambda a: a.srli("a0", "a1", 32), "srli a0, a1, 32", "srli"),
    (lambda a: a.srai("a0", "a1", 1), "srai a0, a1, 1", "srai"),
    (lambda a: a.addiw("a0", "a1", -2048), "addiw a0, a1, -2048", "addiw"),
    (lambda a: a.slliw("a0", "a1", 31), "slliw a0, a1, 31", "slliw"),
    (lambda a: a.srliw("a0", "a1", 0), "srliw a0, a1, 0", "srliw"),
    (lambda a: a.sraiw("a0", "a1", 17), "sraiw a0, a1, 17", "sraiw"),
] + [
    (lambda a, op=op: getattr(a, op + ("_" if op in ("and", "or") else ""))("s2", "s3", "s4"),
     f"{op} s2, s3, s4", op)
    for op in ("add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and",
               "mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu")
] + [
    (lambda a, op=op: getattr(a, op)("t3", "t4", "t5"), f"{op} t3, t4, t5", op)
    for op in ("addw", "subw", "sllw", "srlw", "sraw",
               "mulw", "divw", "divuw", "remw", "remuw")
] + [
    (lambda a: a.ecall(), "ecall", "ecall"),
    (lambda a: a.ebreak(), "ebreak", "ebreak"),
    (lambda a: a.fence(), "fence iorw, iorw", "fence"),
    (lambda a: a.lr_w("a0", "a1"), "lr.w a0, (a1)", "lr.w"),
    (lambda a: a.lr_d("a0", "a1", aq=1), "lr.d.aq a0, (a1)", "lr.d.aq"),
    (lambda a: a.sc_w("a0", "a2", "a1", rl=1), "sc.w.rl a0, a2, (a1)", "sc.w.rl"),
    (lambda a: a.sc_d("a0", "a2", "a1"), "sc.d a0, a2, (a1)", "sc.d"),
] + [
    (lambda a, op=op, w=w: a.amo(op, w, "a0", "a2", "a1", aq=1, rl=1),
     f"{op}.{w}.aqrl a0, a2, (a1)", f"{op}.{w}.aqrl")
    for op in ("amoswap", "amoadd", "amoxor", "amoand", "amoor",
               "amomin", "amomax", "amominu", "amomaxu") for w in ("w", "d")
] + [
    (lambda a: a.csrrw("a0", "fcsr", "a1"), "csrrw a0, fcsr, a1", "csrrw"),
    (lambda a: a.csrrs("a0", "cycle", "zero"), "csrrs a0, cycle, zero", "csrrs"),
    (lambda a: a.csrrs("a0", "time", "zero"), "csrrs a0, time, zero", "csrrs"),
    (lambda a: a.csrrs("a0", "instret", "zero"), "csrrs a0, instret, zero", "csrrs"),
    (lambda a: a.csrrc("a0", "fflags", "a1"), "csrrc a0, fflags, a1", "csrrc"),
    (lambda a: a.csrrwi("a0", "frm", 3), "csrrwi a0, frm, 3", "csrrwi"),
    (lambda a: a.csrrsi("zero", "fflags", 31), "csrrsi zero, fflags, 31", "csrrsi"),
    (lambda a: a.csrrci("a0", "fcsr", 1), "csrrci a0, fcsr, 1", "csrrci"),
    (lambda a: a.flw("fa0", "a1", -4), "flw fa0, -4(a1)", "flw"),
    (lambda a: a.fld("fs11", "sp", 8), "fld fs11, 8(sp)", "fld"),
    (lambda a: a.fsw("ft0", "a1", 12), "fsw ft0, 12(a1)", "fsw"),
    (lambda a: a.fsd("ft11", "a1", -8), "fsd ft11, -8(a1)", "fsd"),
    (lambda a: a.fmv_x_w("a0", "fa1"), "fmv.x.w a0, fa1", "fmv.x.w"),
    (lambda a: a.fmv_w_x("fa0", "a1"), "fmv.w.x fa0, a1", "fmv.w.x"),
    (lambda a: a.fmv_x_d("a0", "fa1"), "fmv.x.d a0, fa1", "fmv.x.d"),
    (lambda a: a.fmv_d_x("fa0", "a1"), "fmv.d.x fa0, a1", "fmv.d.x"),
    (lambda a: a.fsgnj_d("fa0", "fa1", "fa2"), "fsgnj.d fa0, fa1, fa2", "fsgnj.d"),
    (lambda a: a.fsgnjn_d("fa0", "fa1", "fa1"), "fsgnjn.d fa0, fa1, fa1", "fsgnjn.d"),
    (lambda a: a.fsgnjx_d("fa0", "fa1", "fa1"), "fsgnjx.d fa0, fa1, fa1", "fsgnjx.d"),
    # compressed (chapter 16)
    (lambda a: a.c_addi("a0", -32), "c.addi a0, -32", "c.addi"),
    (lambda a: a.c_addiw("a0", 31), "c.addiw a0, 31", "c.addiw"),
    (lambda a: a.c_li("t0", -1), "c.li t0, -1", "c.li"),
    (lambda a: a.c_lui("a5", -1), "c.lui a5, 0xfffff", "c.lui"),
    (lambda a: a.c_lui("a5", 31), "c.lui a5, 31", "c.lui"),
    (lambda a: a.c_addi16sp(-512), "c.addi16sp sp, -512", "c.addi16sp"),
    (lambda a: a.c_addi16sp(496), "c.addi16sp sp, 496", "c.addi16sp"),
    (lambda a: a.c_addi4spn("a0", 1020), "c.addi4spn a0, sp, 1020", "c.addi4spn"),
    (lambda a: a.c_lw("a0", "s1", 124), "c.lw a0, 124(s1)", "c.lw"),
    (lambda a: a.c_sw("a5", "s0", 4), "c.sw a5, 4(s0)", "c.sw"),
    (lambda a: a.c_ld("a0", "s1", 248), "c.ld a0, 248(s1)", "c.ld"),
    (lambda a: a.c_sd("a5", "s0", 8), "c.sd a5, 8(s0)", "c.sd"),
    (lambda a: a.c_fld("fa0", "s1", 248), "c.fld fa0, 248(s1)", "c.fld"),
    (lambda a: a.c_fsd("fs1", "a2", 16), "c.fsd fs1, 16(a2)", "c.fsd"),
    (lambda a: a.c_lwsp("ra", 252), "c.lwsp ra, 252(sp)", "c.lwsp"),
    (lambda a: a.c_ldsp("t6", 504), "c.ldsp t6, 504(sp)", "c.ldsp"),
    (lambda a: a.c_swsp("t6", 252), "c.swsp t6, 252(sp)", "c.swsp"),
    (lambda a: a.c_sdsp("ra", 504), "c.sdsp ra, 504(sp)", "c.sdsp"),
    (lambda a: a.c_srli("a0", 63), "c.srli a0, 63", "c.srli"),
    (lambda a: a.c_srai("s1", 1), "c.srai s1, 1", "c.srai"),
    (lambda a: a.c_andi("a2", -32), "c.andi a2, -32", "c.andi"),
    (lambda a: a.c_slli("t2", 33), "c.slli t2, 33", "c.slli"),
    (lambda a: a.c_sub("a0", "a5"), "c.sub a0, a5", "c.sub"),
    (lambda a: a.c_xor("a0", "a5"), "c.xor a0, a5", "c.xor"),
    (lambda a: a.c_or("a0", "a5"), "c.or a0, a5", "c.or"),
    (lambda a: a.c_and("a0", "a5"), "c.and a0, a5", "c.and"),
    (lambda a: a.c_subw("s0", "s1"), "c.subw s0, s1", "c.subw"),
    (lambda a: a.c_addw("s0", "s1"), "c.addw s0, s1", "c.addw"),
    (lambda a: a.c_mv("a0", "t6"), "c.mv a0, t6", "c.mv"),
    (lambda a: a.c_add("a0", "t6"), "c.add a0, t6", "c.add"),
    (lambda a: a.c_jr("ra"), "c.jr ra", "c.jr"),
    (lambda a: a.c_jalr("t0"), "c.jalr t0", "c.jalr"),
    (lambda a: a.c_j(a.pc + 2046), "c.j .+2046", "c.j"),
    (lambda a: a.c_j(a.pc - 2048), "c.j .-2048", "c.j"),
    (lambda a: a.c_beqz("a0", a.pc + 254), "c.beqz a0, .+254", "c.beqz"),
    (lambda a: a.c_bnez("s1", a.pc - 256), "c.bnez s1, .-256", "c.bnez"),
]

MARCH = "-march=rv64imafdc_zicsr"


def _gnu_bytes(lines: list[str], tmp_path) -> bytes:
    src = tmp_path / "ref.s"
    obj = tmp_path / "ref.o"
    out = tmp_path / "ref.bin"
    body = [".text", ".option norelax"]
    for line in lines:
        body += [".option rvc" if line.startswith("c.") else ".option norvc", line]
    src.write_text("\n".join(body) + "\n")
    subprocess.run(["riscv64-linux-gnu-as", MARCH, "-mabi=lp64d", "-o", str(obj), str(src)],
                   check=True, capture_output=True, text=True)
    subprocess.run(["riscv64-linux-gnu-objcopy", "-O", "binary", "-j", ".text",
                    str(obj), str(out)], check=True)
    return out.read_bytes()


def _assemble_each():
    """[(gnu text, mnemonic, our bytes)] for every case."""
    out = []
    for emit, text, mnemonic in CASES:
        a = Asm()
        emit(a)
        out.append((text, mnemonic, a.text()))
    return out


def test_encodings_equal_the_gnu_assembler(tmp_path):
    need_binutils()
    ours = _assemble_each()
    ref = _gnu_bytes([text for text, _, _ in ours], tmp_path)
    pos, wrong = 0, []
    for text, _, mine in ours:
        theirs = ref[pos:pos + len(mine)]
        if theirs != mine:
            wrong.append(f"{text}: ours {mine.hex()} gnu {theirs.hex()}")
        pos += len(mine)
    assert wrong == []
    assert pos == len(ref)


def test_objdump_disassembles_each_instruction_as_asked(tmp_path):
    need_binutils()
    ours = _assemble_each()
    blob = tmp_path / "ours.bin"
    blob.write_bytes(b"".join(b for _, _, b in ours))
    res = subprocess.run(["riscv64-linux-gnu-objdump", "-D", "-b", "binary", "-m", "riscv:rv64",
                          "-M", "no-aliases", str(blob)],
                         check=True, capture_output=True, text=True)
    # "   0:\t80000537          \tlui\ta0,0x80000"
    got = [m.group(1) for m in re.finditer(r"^\s*[0-9a-f]+:\s+[0-9a-f]+\s+(\S+)", res.stdout, re.M)]
    assert got == [mnemonic for _, mnemonic, _ in ours]


@pytest.mark.parametrize("value", [0, 1, -1, 2047, -2048, 2048, 0x7FFF_FFFF, -(1 << 31),
                                   0x8000_0000, 0xFFFF_FFFF, 0x1234_5678_9ABC_DEF0,
                                   -(1 << 63), (1 << 63) - 1, 0xFFFF_FFFF_FFFF_F800])
def test_li_loads_any_64_bit_constant(value):
    """``li`` expands to LUI/ADDIW/SLLI/ORI/ADDI sequences; evaluated
    here by a tiny model of those five instructions."""
    a = Asm()
    a.li("a0", value)
    code = a.text()
    reg = 0
    m = (1 << 64) - 1

    def sext(v, bits):
        return v - (1 << bits) if v & (1 << (bits - 1)) else v
    for i in range(0, len(code), 4):
        w = int.from_bytes(code[i:i + 4], "little")
        op, f3, imm = w & 0x7F, (w >> 12) & 7, sext(w >> 20, 12)
        if op == rvasm.OP_LUI:
            reg = sext(w & 0xFFFFF000, 32) & m
        elif op == rvasm.OP_IMM32:
            reg = sext((reg + imm) & 0xFFFF_FFFF, 32) & m
        elif op == rvasm.OP_IMM and f3 == 1:
            reg = (reg << ((w >> 20) & 63)) & m
        elif op == rvasm.OP_IMM and f3 == 6:
            reg = (reg | imm) & m
        elif op == rvasm.OP_IMM and f3 == 0:
            rs1 = (w >> 15) & 31
            reg = ((reg if rs1 else 0) + imm) & m
        else:
            raise AssertionError(f"unexpected instruction {w:08x}")
    assert reg == value & m
