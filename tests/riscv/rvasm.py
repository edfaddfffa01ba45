"""A small RV64 assembler and ELF64 writer for the instruction-level tests.

It encodes the instruction formats of the RISC-V unprivileged ISA
(version 20191213): R, I, S, B, U and J (chapter 2, "RV32I Base Integer
Instruction Set", section 2.2 and 2.3; chapter 5 for the RV64 additions),
M (chapter 7), A (chapter 8), Zicsr (chapter 9), the F/D loads, stores
and moves (chapters 11 and 12) and the compressed forms of chapter 16
("C" Standard Extension) that the tests use.

Usage::

    a = Asm()
    a.li("a0", 42)
    a.label("loop")
    a.addi("a0", "a0", -1)
    a.bne("a0", "zero", "loop")
    a.exit_with("a0")
    image = a.elf()            # bytes of a static ELF64 executable

Branch and jump targets are labels (or absolute byte offsets into the
text); they are resolved when the text is assembled. Data goes in a
separate read-write segment (``a.data(...)`` returns its address).
"""

from __future__ import annotations

import struct

TEXT_BASE = 0x10000          # address of the first instruction
DATA_BASE = 0x100000         # address of the read-write data segment
PAGE = 0x1000

_ABI = ["zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
        "a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
        "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
        "t3", "t4", "t5", "t6"]
_FABI = ["ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1",
         "fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
         "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11",
         "ft8", "ft9", "ft10", "ft11"]
XREG = {name: i for i, name in enumerate(_ABI)} | {f"x{i}": i for i in range(32)} | {"fp": 8}
FREG = {name: i for i, name in enumerate(_FABI)} | {f"f{i}": i for i in range(32)}

CSR = {"fflags": 0x001, "frm": 0x002, "fcsr": 0x003,
       "cycle": 0xC00, "time": 0xC01, "instret": 0xC02}

# Linux system call numbers for RISC-V (asm-generic/unistd.h)
SYS_READ, SYS_WRITE, SYS_EXIT, SYS_EXIT_GROUP = 63, 64, 93, 94


def x(r) -> int:
    """Integer register number of ``r`` ("a0", "x10" or 10)."""
    if isinstance(r, int) and 0 <= r < 32:
        return r
    if isinstance(r, str) and r in XREG:
        return XREG[r]
    raise ValueError(f"not an integer register: {r!r}")


def f(r) -> int:
    """Floating-point register number of ``r`` ("fa0", "f10" or 10)."""
    if isinstance(r, int) and 0 <= r < 32:
        return r
    if isinstance(r, str) and r in FREG:
        return FREG[r]
    raise ValueError(f"not a floating-point register: {r!r}")


def _c(r) -> int:
    """The 3-bit field of a compressed-form register (x8..x15, f8..f15)."""
    n = r if isinstance(r, int) else (XREG.get(r) if r in XREG else FREG.get(r))
    if n is None or not 8 <= n <= 15:
        raise ValueError(f"compressed forms need x8..x15 / f8..f15, not {r!r}")
    return n - 8


def _signed(value: int, bits: int, what: str) -> int:
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if not lo <= value <= hi:
        raise ValueError(f"{what} {value} does not fit in {bits} signed bits")
    return value & ((1 << bits) - 1)


def _unsigned(value: int, bits: int, what: str) -> int:
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{what} {value} does not fit in {bits} unsigned bits")
    return value


def _bits(value: int, hi: int, lo: int) -> int:
    return (value >> lo) & ((1 << (hi - lo + 1)) - 1)


# ---------------------------------------------------------------- formats
# Spec section 2.2, figure 2.3 (base formats) and 2.3, figure 2.4
# (B and J immediates).

def r_type(opcode, funct3, funct7, rd, rs1, rs2) -> int:
    return funct7 << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def i_type(opcode, funct3, rd, rs1, imm) -> int:
    return _signed(imm, 12, "I-immediate") << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode


def s_type(opcode, funct3, rs1, rs2, imm) -> int:
    v = _signed(imm, 12, "S-immediate")
    return _bits(v, 11, 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | _bits(v, 4, 0) << 7 | opcode


def b_type(opcode, funct3, rs1, rs2, offset) -> int:
    if offset & 1:
        raise ValueError(f"branch offset {offset} is odd")
    v = _signed(offset, 13, "B-offset")
    return (_bits(v, 12, 12) << 31 | _bits(v, 10, 5) << 25 | rs2 << 20 | rs1 << 15
            | funct3 << 12 | _bits(v, 4, 1) << 8 | _bits(v, 11, 11) << 7 | opcode)


def u_type(opcode, rd, imm20) -> int:
    return (imm20 & 0xFFFFF) << 12 | rd << 7 | opcode


def j_type(opcode, rd, offset) -> int:
    if offset & 1:
        raise ValueError(f"jump offset {offset} is odd")
    v = _signed(offset, 21, "J-offset")
    return (_bits(v, 20, 20) << 31 | _bits(v, 10, 1) << 21 | _bits(v, 11, 11) << 20
            | _bits(v, 19, 12) << 12 | rd << 7 | opcode)


OP_LUI, OP_AUIPC, OP_JAL, OP_JALR, OP_BRANCH = 0x37, 0x17, 0x6F, 0x67, 0x63
OP_LOAD, OP_STORE, OP_IMM, OP_OP, OP_IMM32, OP_OP32 = 0x03, 0x23, 0x13, 0x33, 0x1B, 0x3B
OP_SYSTEM, OP_AMO, OP_LOADFP, OP_STOREFP, OP_FP = 0x73, 0x2F, 0x07, 0x27, 0x53

_BRANCH = {"beq": 0, "bne": 1, "blt": 4, "bge": 5, "bltu": 6, "bgeu": 7}
_LOAD = {"lb": 0, "lh": 1, "lw": 2, "ld": 3, "lbu": 4, "lhu": 5, "lwu": 6}
_STORE = {"sb": 0, "sh": 1, "sw": 2, "sd": 3}
_ALUI = {"addi": 0, "slti": 2, "sltiu": 3, "xori": 4, "ori": 6, "andi": 7}
_ALU = {"add": (0, 0), "sub": (0, 0x20), "sll": (1, 0), "slt": (2, 0), "sltu": (3, 0),
        "xor": (4, 0), "srl": (5, 0), "sra": (5, 0x20), "or": (6, 0), "and": (7, 0),
        "mul": (0, 1), "mulh": (1, 1), "mulhsu": (2, 1), "mulhu": (3, 1),
        "div": (4, 1), "divu": (5, 1), "rem": (6, 1), "remu": (7, 1)}
_ALUW = {"addw": (0, 0), "subw": (0, 0x20), "sllw": (1, 0), "srlw": (5, 0), "sraw": (5, 0x20),
         "mulw": (0, 1), "divw": (4, 1), "divuw": (5, 1), "remw": (6, 1), "remuw": (7, 1)}
_AMO = {"amoadd": 0x00, "amoswap": 0x01, "lr": 0x02, "sc": 0x03, "amoxor": 0x04,
        "amoor": 0x08, "amoand": 0x0C, "amomin": 0x10, "amomax": 0x14,
        "amominu": 0x18, "amomaxu": 0x1C}
_CSR = {"csrrw": 1, "csrrs": 2, "csrrc": 3, "csrrwi": 5, "csrrsi": 6, "csrrci": 7}


class Asm:
    """An RV64 program being assembled: text (instructions) and data."""

    def __init__(self):
        self._items: list = []        # (size, encoder(pc) -> int)
        self._labels: dict[str, int] = {}
        self._size = 0
        self._data = bytearray()
        self._bss = 0

    # ------------------------------------------------------------ plumbing
    @property
    def pc(self) -> int:
        """Address of the next instruction."""
        return TEXT_BASE + self._size

    def label(self, name: str) -> None:
        """Name the address of the next instruction."""
        if name in self._labels:
            raise ValueError(f"label {name!r} defined twice")
        self._labels[name] = self.pc

    def _emit(self, word_or_fn, size: int = 4) -> None:
        fn = word_or_fn if callable(word_or_fn) else (lambda pc, w=word_or_fn: w)
        self._items.append((self.pc, size, fn))
        self._size += size

    def _target(self, target, pc: int) -> int:
        """Offset from ``pc`` to a label or an absolute address."""
        if isinstance(target, str):
            if target not in self._labels:
                raise ValueError(f"undefined label {target!r}")
            return self._labels[target] - pc
        return target - pc

    def word(self, w: int) -> None:
        """Emit a raw 32-bit instruction word."""
        self._emit(w & 0xFFFFFFFF)

    def half(self, h: int) -> None:
        """Emit a raw 16-bit (compressed) instruction parcel."""
        self._emit(h & 0xFFFF, 2)

    def data(self, blob: bytes, align: int = 8) -> int:
        """Append ``blob`` to the data segment; returns its address."""
        while len(self._data) % align:
            self._data.append(0)
        if self._bss:
            raise ValueError("data after bss")
        addr = DATA_BASE + len(self._data)
        self._data += blob
        return addr

    def bss(self, length: int) -> int:
        """Reserve ``length`` zero bytes after the data: in memory only
        (p_memsz > p_filesz), not in the file. Returns their address;
        nothing may be added with ``data`` afterwards."""
        while len(self._data) % 8:
            self._data.append(0)
        addr = DATA_BASE + len(self._data) + self._bss
        self._bss += length
        return addr

    def text(self) -> bytes:
        """The assembled instructions, little-endian."""
        out = bytearray()
        for pc, size, fn in self._items:
            out += fn(pc).to_bytes(size, "little")
        return bytes(out)

    def elf(self) -> bytes:
        """A static ELF64 RISC-V executable of the text and data."""
        data = bytes(self._data) if self._data or self._bss else None
        return elf64(self.text(), data, bss=self._bss)

    # ------------------------------------------------------ RV64I (ch. 2, 5)
    def lui(self, rd, imm20):
        self._emit(u_type(OP_LUI, x(rd), imm20))

    def auipc(self, rd, imm20):
        self._emit(u_type(OP_AUIPC, x(rd), imm20))

    def jal(self, rd, target):
        self._emit(lambda pc: j_type(OP_JAL, x(rd), self._target(target, pc)))

    def jalr(self, rd, rs1, imm=0):
        self._emit(i_type(OP_JALR, 0, x(rd), x(rs1), imm))

    def _branch(self, name, rs1, rs2, target):
        self._emit(lambda pc: b_type(OP_BRANCH, _BRANCH[name], x(rs1), x(rs2),
                                     self._target(target, pc)))

    def _load(self, name, rd, rs1, imm):
        self._emit(i_type(OP_LOAD, _LOAD[name], x(rd), x(rs1), imm))

    def _store(self, name, rs2, rs1, imm):
        self._emit(s_type(OP_STORE, _STORE[name], x(rs1), x(rs2), imm))

    def _alui(self, name, rd, rs1, imm):
        self._emit(i_type(OP_IMM, _ALUI[name], x(rd), x(rs1), imm))

    def _alu(self, name, rd, rs1, rs2):
        f3, f7 = _ALU[name]
        self._emit(r_type(OP_OP, f3, f7, x(rd), x(rs1), x(rs2)))

    def _aluw(self, name, rd, rs1, rs2):
        f3, f7 = _ALUW[name]
        self._emit(r_type(OP_OP32, f3, f7, x(rd), x(rs1), x(rs2)))

    def _shifti(self, funct3, hi6, rd, rs1, shamt):   # RV64: 6-bit shamt (section 5.2)
        sh = _unsigned(shamt, 6, "shamt")
        self._emit(hi6 << 26 | sh << 20 | x(rs1) << 15 | funct3 << 12 | x(rd) << 7 | OP_IMM)

    def slli(self, rd, rs1, shamt):
        self._shifti(1, 0x00, rd, rs1, shamt)

    def srli(self, rd, rs1, shamt):
        self._shifti(5, 0x00, rd, rs1, shamt)

    def srai(self, rd, rs1, shamt):
        self._shifti(5, 0x10, rd, rs1, shamt)

    def addiw(self, rd, rs1, imm):
        self._emit(i_type(OP_IMM32, 0, x(rd), x(rs1), imm))

    def _shiftiw(self, funct3, f7, rd, rs1, shamt):
        sh = _unsigned(shamt, 5, "shamt")
        self._emit(r_type(OP_IMM32, funct3, f7, x(rd), x(rs1), sh))

    def slliw(self, rd, rs1, shamt):
        self._shiftiw(1, 0x00, rd, rs1, shamt)

    def srliw(self, rd, rs1, shamt):
        self._shiftiw(5, 0x00, rd, rs1, shamt)

    def sraiw(self, rd, rs1, shamt):
        self._shiftiw(5, 0x20, rd, rs1, shamt)

    def ecall(self):
        self._emit(0x00000073)

    def ebreak(self):
        self._emit(0x00100073)

    def fence(self):                       # fence iorw, iorw
        self._emit(0x0FF0000F)

    # ---------------------------------------------------------- A (ch. 8)
    def _amo(self, name, width, rd, rs2, rs1, aq=0, rl=0):
        f3 = {"w": 2, "d": 3}[width]
        f7 = _AMO[name] << 2 | aq << 1 | rl
        self._emit(r_type(OP_AMO, f3, f7, x(rd), x(rs1), x(rs2)))

    def lr_w(self, rd, rs1, aq=0, rl=0):
        self._amo("lr", "w", rd, 0, rs1, aq, rl)

    def lr_d(self, rd, rs1, aq=0, rl=0):
        self._amo("lr", "d", rd, 0, rs1, aq, rl)

    def sc_w(self, rd, rs2, rs1, aq=0, rl=0):
        self._amo("sc", "w", rd, rs2, rs1, aq, rl)

    def sc_d(self, rd, rs2, rs1, aq=0, rl=0):
        self._amo("sc", "d", rd, rs2, rs1, aq, rl)

    def amo(self, name, width, rd, rs2, rs1, aq=0, rl=0):
        """``amo("amoadd", "d", rd, rs2, rs1)`` = amoadd.d rd, rs2, (rs1)."""
        if name in ("lr", "sc") or name not in _AMO:
            raise ValueError(f"not an AMO: {name!r}")
        self._amo(name, width, rd, rs2, rs1, aq, rl)

    # ------------------------------------------------------- Zicsr (ch. 9)
    def _csr(self, name, rd, csr, src):
        num = CSR[csr] if isinstance(csr, str) else _unsigned(csr, 12, "csr")
        f3 = _CSR[name]
        s = _unsigned(src, 5, "uimm") if name.endswith("i") else x(src)
        self._emit(num << 20 | s << 15 | f3 << 12 | x(rd) << 7 | OP_SYSTEM)

    def csrrw(self, rd, csr, rs1):
        self._csr("csrrw", rd, csr, rs1)

    def csrrs(self, rd, csr, rs1):
        self._csr("csrrs", rd, csr, rs1)

    def csrrc(self, rd, csr, rs1):
        self._csr("csrrc", rd, csr, rs1)

    def csrrwi(self, rd, csr, uimm):
        self._csr("csrrwi", rd, csr, uimm)

    def csrrsi(self, rd, csr, uimm):
        self._csr("csrrsi", rd, csr, uimm)

    def csrrci(self, rd, csr, uimm):
        self._csr("csrrci", rd, csr, uimm)

    def csrr(self, rd, csr):               # pseudo: csrrs rd, csr, x0
        self.csrrs(rd, csr, "zero")

    # ------------------------------------------- F/D moves (ch. 11, 12)
    def flw(self, fd, rs1, imm):
        self._emit(i_type(OP_LOADFP, 2, f(fd), x(rs1), imm))

    def fld(self, fd, rs1, imm):
        self._emit(i_type(OP_LOADFP, 3, f(fd), x(rs1), imm))

    def fsw(self, fs2, rs1, imm):
        self._emit(s_type(OP_STOREFP, 2, x(rs1), f(fs2), imm))

    def fsd(self, fs2, rs1, imm):
        self._emit(s_type(OP_STOREFP, 3, x(rs1), f(fs2), imm))

    def fmv_x_w(self, rd, fs1):
        self._emit(r_type(OP_FP, 0, 0x70, x(rd), f(fs1), 0))

    def fmv_w_x(self, fd, rs1):
        self._emit(r_type(OP_FP, 0, 0x78, f(fd), x(rs1), 0))

    def fmv_x_d(self, rd, fs1):
        self._emit(r_type(OP_FP, 0, 0x71, x(rd), f(fs1), 0))

    def fmv_d_x(self, fd, rs1):
        self._emit(r_type(OP_FP, 0, 0x79, f(fd), x(rs1), 0))

    def fsgnj_d(self, fd, fs1, fs2):
        self._emit(r_type(OP_FP, 0, 0x11, f(fd), f(fs1), f(fs2)))

    def fsgnjn_d(self, fd, fs1, fs2):
        self._emit(r_type(OP_FP, 1, 0x11, f(fd), f(fs1), f(fs2)))

    def fsgnjx_d(self, fd, fs1, fs2):
        self._emit(r_type(OP_FP, 2, 0x11, f(fd), f(fs1), f(fs2)))

    def fmv_d(self, fd, fs):               # pseudo: fsgnj.d fd, fs, fs
        self.fsgnj_d(fd, fs, fs)

    # ------------------------------------------ compressed (chapter 16)
    # Figures 16.1-16.7 and tables 16.5-16.7 of the spec.
    def _ci(self, quadrant, funct3, rd, imm6):
        return (funct3 << 13 | _bits(imm6, 5, 5) << 12 | rd << 7
                | _bits(imm6, 4, 0) << 2 | quadrant)

    def c_addi(self, rd, imm):
        self._emit(self._ci(1, 0, x(rd), _signed(imm, 6, "c.addi imm")), 2)

    def c_addiw(self, rd, imm):
        if x(rd) == 0:
            raise ValueError("c.addiw rd must not be x0")
        self._emit(self._ci(1, 1, x(rd), _signed(imm, 6, "c.addiw imm")), 2)

    def c_li(self, rd, imm):
        self._emit(self._ci(1, 2, x(rd), _signed(imm, 6, "c.li imm")), 2)

    def c_lui(self, rd, imm6):
        """c.lui rd, imm6: rd = sext(imm6 << 12); imm6 != 0, rd not x0/x2."""
        if x(rd) in (0, 2) or imm6 == 0:
            raise ValueError("c.lui needs rd not x0/sp and a nonzero immediate")
        self._emit(self._ci(1, 3, x(rd), _signed(imm6, 6, "c.lui imm")), 2)

    def c_addi16sp(self, imm):
        v = _signed(imm, 10, "c.addi16sp imm")
        if imm == 0 or imm % 16:
            raise ValueError("c.addi16sp immediate must be a nonzero multiple of 16")
        self._emit(3 << 13 | _bits(v, 9, 9) << 12 | 2 << 7 | _bits(v, 4, 4) << 6
                   | _bits(v, 6, 6) << 5 | _bits(v, 8, 7) << 3 | _bits(v, 5, 5) << 2 | 1, 2)

    def c_addi4spn(self, rd, imm):
        v = _unsigned(imm, 10, "c.addi4spn imm")
        if imm == 0 or imm % 4:
            raise ValueError("c.addi4spn immediate must be a nonzero multiple of 4")
        self._emit(_bits(v, 5, 4) << 11 | _bits(v, 9, 6) << 7 | _bits(v, 2, 2) << 6
                   | _bits(v, 3, 3) << 5 | _c(rd) << 2, 2)

    def _cl_w(self, funct3, quadrant, r, rs1, imm):     # c.lw / c.sw layout
        v = _unsigned(imm, 7, "offset")
        if v % 4:
            raise ValueError("offset must be a multiple of 4")
        self._emit(funct3 << 13 | _bits(v, 5, 3) << 10 | _c(rs1) << 7 | _bits(v, 2, 2) << 6
                   | _bits(v, 6, 6) << 5 | _c(r) << 2 | quadrant, 2)

    def _cl_d(self, funct3, quadrant, r, rs1, imm):     # c.ld / c.sd / c.fld / c.fsd
        v = _unsigned(imm, 8, "offset")
        if v % 8:
            raise ValueError("offset must be a multiple of 8")
        self._emit(funct3 << 13 | _bits(v, 5, 3) << 10 | _c(rs1) << 7 | _bits(v, 7, 6) << 5
                   | _c(r) << 2 | quadrant, 2)

    def c_lw(self, rd, rs1, imm):
        self._cl_w(2, 0, rd, rs1, imm)

    def c_sw(self, rs2, rs1, imm):
        self._cl_w(6, 0, rs2, rs1, imm)

    def c_ld(self, rd, rs1, imm):
        self._cl_d(3, 0, rd, rs1, imm)

    def c_sd(self, rs2, rs1, imm):
        self._cl_d(7, 0, rs2, rs1, imm)

    def c_fld(self, fd, rs1, imm):
        self._cl_d(1, 0, fd, rs1, imm)

    def c_fsd(self, fs2, rs1, imm):
        self._cl_d(5, 0, fs2, rs1, imm)

    def c_lwsp(self, rd, imm):
        v = _unsigned(imm, 8, "offset")
        if v % 4 or x(rd) == 0:
            raise ValueError("c.lwsp: offset a multiple of 4, rd not x0")
        self._emit(2 << 13 | _bits(v, 5, 5) << 12 | x(rd) << 7 | _bits(v, 4, 2) << 4
                   | _bits(v, 7, 6) << 2 | 2, 2)

    def c_ldsp(self, rd, imm):
        v = _unsigned(imm, 9, "offset")
        if v % 8 or x(rd) == 0:
            raise ValueError("c.ldsp: offset a multiple of 8, rd not x0")
        self._emit(3 << 13 | _bits(v, 5, 5) << 12 | x(rd) << 7 | _bits(v, 4, 3) << 5
                   | _bits(v, 8, 6) << 2 | 2, 2)

    def c_swsp(self, rs2, imm):
        v = _unsigned(imm, 8, "offset")
        if v % 4:
            raise ValueError("c.swsp: offset a multiple of 4")
        self._emit(6 << 13 | _bits(v, 5, 2) << 9 | _bits(v, 7, 6) << 7 | x(rs2) << 2 | 2, 2)

    def c_sdsp(self, rs2, imm):
        v = _unsigned(imm, 9, "offset")
        if v % 8:
            raise ValueError("c.sdsp: offset a multiple of 8")
        self._emit(7 << 13 | _bits(v, 5, 3) << 10 | _bits(v, 8, 6) << 7 | x(rs2) << 2 | 2, 2)

    def _cb_imm(self, funct2, rd, imm6):     # c.srli / c.srai / c.andi
        return (4 << 13 | _bits(imm6, 5, 5) << 12 | funct2 << 10 | _c(rd) << 7
                | _bits(imm6, 4, 0) << 2 | 1)

    def c_srli(self, rd, shamt):
        self._emit(self._cb_imm(0, rd, _unsigned(shamt, 6, "shamt")), 2)

    def c_srai(self, rd, shamt):
        self._emit(self._cb_imm(1, rd, _unsigned(shamt, 6, "shamt")), 2)

    def c_andi(self, rd, imm):
        self._emit(self._cb_imm(2, rd, _signed(imm, 6, "c.andi imm")), 2)

    def c_slli(self, rd, shamt):
        self._emit(self._ci(2, 0, x(rd), _unsigned(shamt, 6, "shamt")), 2)

    def _ca(self, bit12, funct2, rd, rs2):
        self._emit(4 << 13 | bit12 << 12 | 3 << 10 | _c(rd) << 7 | funct2 << 5 | _c(rs2) << 2 | 1, 2)

    def c_sub(self, rd, rs2):
        self._ca(0, 0, rd, rs2)

    def c_xor(self, rd, rs2):
        self._ca(0, 1, rd, rs2)

    def c_or(self, rd, rs2):
        self._ca(0, 2, rd, rs2)

    def c_and(self, rd, rs2):
        self._ca(0, 3, rd, rs2)

    def c_subw(self, rd, rs2):
        self._ca(1, 0, rd, rs2)

    def c_addw(self, rd, rs2):
        self._ca(1, 1, rd, rs2)

    def c_mv(self, rd, rs2):
        if x(rs2) == 0:
            raise ValueError("c.mv rs2 must not be x0")
        self._emit(4 << 13 | x(rd) << 7 | x(rs2) << 2 | 2, 2)

    def c_add(self, rd, rs2):
        if x(rs2) == 0:
            raise ValueError("c.add rs2 must not be x0")
        self._emit(4 << 13 | 1 << 12 | x(rd) << 7 | x(rs2) << 2 | 2, 2)

    def c_jr(self, rs1):
        self._emit(4 << 13 | x(rs1) << 7 | 2, 2)

    def c_jalr(self, rs1):
        self._emit(4 << 13 | 1 << 12 | x(rs1) << 7 | 2, 2)

    def c_j(self, target):
        def enc(pc):
            v = _signed(self._target(target, pc), 12, "c.j offset")
            return (5 << 13 | _bits(v, 11, 11) << 12 | _bits(v, 4, 4) << 11 | _bits(v, 9, 8) << 9
                    | _bits(v, 10, 10) << 8 | _bits(v, 6, 6) << 7 | _bits(v, 7, 7) << 6
                    | _bits(v, 3, 1) << 3 | _bits(v, 5, 5) << 2 | 1)
        self._emit(enc, 2)

    def _cbranch(self, funct3, rs1, target):
        def enc(pc):
            v = _signed(self._target(target, pc), 9, "c.beqz/c.bnez offset")
            return (funct3 << 13 | _bits(v, 8, 8) << 12 | _bits(v, 4, 3) << 10 | _c(rs1) << 7
                    | _bits(v, 7, 6) << 5 | _bits(v, 2, 1) << 3 | _bits(v, 5, 5) << 2 | 1)
        self._emit(enc, 2)

    def c_beqz(self, rs1, target):
        self._cbranch(6, rs1, target)

    def c_bnez(self, rs1, target):
        self._cbranch(7, rs1, target)

    # ------------------------------------------------------------ pseudos
    def li(self, rd, value: int):
        """Load any 64-bit constant (signed or unsigned) into ``rd``."""
        value &= (1 << 64) - 1
        if value >= 1 << 63:
            value -= 1 << 64
        if -2048 <= value < 2048:
            self.addi(rd, "zero", value)
        elif -(1 << 31) <= value < (1 << 31):
            lo = ((value & 0xFFF) ^ 0x800) - 0x800
            hi = (value - lo) >> 12
            self.lui(rd, hi & 0xFFFFF)
            if lo:
                self.addiw(rd, rd, lo)
        else:                               # high part, then 11 bits at a time
            lo = value & 0x7FF
            self.li(rd, value >> 11)
            self.slli(rd, rd, 11)
            if lo:
                self.ori(rd, rd, lo)

    def la(self, rd, addr: int):
        """Load an address (of data or text) into ``rd``."""
        self.li(rd, addr)

    def mv(self, rd, rs):
        self.addi(rd, rs, 0)

    def nop(self):
        self.addi("zero", "zero", 0)

    def j(self, target):
        self.jal("zero", target)

    def ret(self):
        self.jalr("zero", "ra", 0)

    def syscall(self, number: int):
        """a7 = number; ecall (arguments already in a0..a5)."""
        self.li("a7", number)
        self.ecall()

    def exit_with(self, reg):
        """exit(reg & 0xff): the exit system call with a computed code."""
        self.mv("a0", reg)
        self.syscall(SYS_EXIT)

    def exit(self, code: int):
        self.li("a0", code)
        self.syscall(SYS_EXIT)

    def write_out(self, addr: int, length: int):
        """write(1, addr, length)."""
        self.li("a0", 1)
        self.li("a1", addr)
        self.li("a2", length)
        self.syscall(SYS_WRITE)


def _bind(table, method):
    for name in table:
        setattr(Asm, name, lambda self, *a, _n=name, **kw: getattr(self, method)(_n, *a, **kw))


_bind(_BRANCH, "_branch")
_bind(_LOAD, "_load")
_bind(_STORE, "_store")
_bind(_ALUI, "_alui")
_bind(_ALUW, "_aluw")
for _name in _ALU:
    setattr(Asm, _name if _name not in ("and", "or") else _name + "_",
            lambda self, *a, _n=_name: self._alu(_n, *a))
setattr(Asm, "and", Asm.and_)
setattr(Asm, "or", Asm.or_)


# ------------------------------------------------------------------- ELF

def elf64(text: bytes, data: bytes | None = None, entry: int = TEXT_BASE,
          bss: int = 0) -> bytes:
    """A static little-endian ELF64 executable for RISC-V (EM_RISCV = 243).

    One PT_LOAD segment maps the text read+execute at TEXT_BASE; with
    ``data``, a second PT_LOAD maps it read+write at DATA_BASE, followed
    by ``bss`` zero bytes that are in memory only (p_memsz > p_filesz).
    The file offset of each segment is congruent to its address modulo
    the page size, as the System V ABI requires of loadable segments.
    With bss, the file goes on after the data with bytes that belong to
    no segment (as section contents do in a real executable): a loader
    must not let them show through as the start of the bss.
    """
    if TEXT_BASE + len(text) > DATA_BASE:
        raise ValueError("text too large for the fixed layout")
    phnum = 2 if data is not None else 1
    ehsize, phentsize = 64, 56
    text_off = PAGE                              # text at file offset 0x1000
    data_off = text_off + (len(text) + PAGE - 1) // PAGE * PAGE
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)   # ELFCLASS64, LSB, SysV
    # e_flags: EF_RISCV_RVC | EF_RISCV_FLOAT_ABI_DOUBLE, as gcc's lp64d output
    ehdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 243, 1, entry, ehsize, 0, 0x5,
                               ehsize, phentsize, phnum, 64, 0, 0)
    phdrs = struct.pack("<IIQQQQQQ", 1, 5, text_off, TEXT_BASE, TEXT_BASE,
                        len(text), len(text), PAGE)
    if data is not None:
        phdrs += struct.pack("<IIQQQQQQ", 1, 6, data_off, DATA_BASE, DATA_BASE,
                             len(data), len(data) + bss, PAGE)
    image = bytearray(ehdr + phdrs)
    image += bytes(text_off - len(image)) + text
    if data is not None:
        image += bytes(data_off - len(image)) + data
        if bss:
            image += b"\xee" * PAGE
    return bytes(image)
