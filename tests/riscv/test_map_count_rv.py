"""mmap of a RISC-V process past Memory.max_map_count returns -ENOMEM
(ENOMEM is 12: include/uapi/asm-generic/errno-base.h; mmap(2), ERRORS:
"The process's maximum number of mappings would have been exceeded"),
and munmap that would split a region past it does too; the process goes
on. System-call numbers: mmap 222, munmap 215 (include/uapi/asm-generic/
unistd.h, used by RISC-V)."""

from __future__ import annotations

import struct

from rvasm import Asm

import pykernel as pk

SYS_MMAP, SYS_MUNMAP = 222, 215
PAGE = 4096
CAP = 100_000          # stops the loop should the limit not hold


def mapper() -> bytes:
    """mmap one anonymous read-write page at a time until mmap fails (or
    CAP maps); then munmap the middle page of a 3-page mapping made
    before the loop.  Writes (the last mmap's result, maps made,
    munmap's result) as three little-endian 64-bit words."""
    a = Asm()
    out = a.data(bytes(24))

    def mmap(pages):
        a.li("a0", 0)
        a.li("a1", pages * PAGE)
        a.li("a2", 3)                        # PROT_READ | PROT_WRITE
        a.li("a3", 0x22)                     # MAP_PRIVATE | MAP_ANONYMOUS
        a.li("a4", -1)
        a.li("a5", 0)
        a.syscall(SYS_MMAP)

    mmap(3)
    a.mv("s2", "a0")                         # the 3-page mapping
    a.li("s1", 0)
    a.li("s3", CAP)
    a.label("loop")
    mmap(1)
    a.blt("a0", "zero", "done")
    a.addi("s1", "s1", 1)
    a.blt("s1", "s3", "loop")
    a.label("done")
    a.li("t0", out)
    a.sd("a0", "t0", 0)
    a.sd("s1", "t0", 8)
    a.li("t1", PAGE)
    a.add("a0", "s2", "t1")                  # munmap(middle page)
    a.li("a1", PAGE)
    a.syscall(SYS_MUNMAP)
    a.li("t0", out)
    a.sd("a0", "t0", 16)
    a.write_out(out, 24)
    a.exit(0)
    return a.elf()


def run(max_map_count):
    k = pk.Kernel(memory=pk.Memory(max_map_count=max_map_count), mmu=pk.MMU(format="sv39"))
    p = k.spawn(pk.Program.elf(mapper()))
    base = len(p.aspace.regions)             # the image and its stack, mapped at spawn
    k.run()
    return p, base, struct.unpack("<qqq", bytes(p.stdout))


def test_mmap_returns_enomem_at_the_limit_and_munmap_that_splits_too():
    p, base, (err, maps, unmap) = run(64)
    assert (p.state, p.exit_code) == ("exited", 0)
    assert (err, maps, unmap) == (-12, 64 - base - 1, -12)


def test_below_the_limit_munmap_splits():
    p, base, (last, maps, unmap) = run(CAP + 50)
    assert (last > 0, maps, unmap) == (True, CAP, 0)   # the loop stopped at CAP: all mapped
