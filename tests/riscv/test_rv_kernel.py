"""RISC-V processes as the kernel sees them: side records, shared image
frames, instruction timing from the cost model, mixed workloads, system
call counters, and clear errors for files that are not runnable programs.

The programs are assembled here (rvasm), so these tests need neither the
cross compiler nor qemu."""

from __future__ import annotations

import dataclasses
import random
import struct

import pytest

from rvasm import DATA_BASE, TEXT_BASE, Asm, elf64

import pykernel as pk
from pykernel._ffi import ffi, lib

SYS_WRITE, SYS_EXIT, SYS_YIELD = 64, 93, 124
ENOSYS, EBADF = 38, 9


def kernel(**kw) -> pk.Kernel:
    return pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"), **kw)


def exits(code: int) -> bytes:
    a = Asm()
    a.exit(code)
    return a.elf()


def yielder(n: int, code: int = 0) -> bytes:
    """Yields the CPU n times, then exits with code."""
    a = Asm()
    a.li("s0", n)
    a.label("loop")
    a.syscall(SYS_YIELD)
    a.addi("s0", "s0", -1)
    a.bne("s0", "zero", "loop")
    a.exit(code)
    return a.elf()


# ---- side record and floating-point state --------------------------------

def test_integer_only_thread_has_no_floating_point_state():
    k = kernel()
    p = k.spawn(pk.Program.elf(exits(0)))
    k.run()
    assert p.exit_code == 0
    st = ffi.new("pk_rv_stats *")
    assert lib.pk_rv_stats_get(k._kp, p.pid, st) == 0
    assert st.fp_threads == 0


def test_first_fp_instruction_gives_the_thread_fp_state():
    a = Asm()
    a.li("t0", 0x4000_0000_0000_0000)       # 2.0
    a.fmv_d_x(3, "t0")
    a.fmv_x_d("t1", 3)
    a.srli("a0", "t1", 62)                  # 1
    a.syscall(SYS_EXIT)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == 1
    st = ffi.new("pk_rv_stats *")
    lib.pk_rv_stats_get(k._kp, p.pid, st)
    assert st.fp_threads == 1


def test_side_record_id_lives_in_the_upper_half_of_flags():
    k = kernel()
    p = k.spawn(pk.Program.elf(yielder(3)))
    q = k.spawn(pk.Program.elf(yielder(3)))
    ids = {t.registers.flags >> 32 for t in (p.threads[0], q.threads[0])}
    assert len(ids) == 2 and 0 not in ids
    k.run()
    assert (p.exit_code, q.exit_code) == (0, 0)


# ---- images ----------------------------------------------------------------

def test_two_processes_of_one_image_share_its_read_only_frames():
    k = kernel(scheduler=pk.sched.RoundRobin(quantum=2_000))
    prog = pk.Program.elf(yielder(1000))
    p, q = k.spawn(prog), k.spawn(prog)
    k.run(until=20_000)                     # both have run their first instructions
    assert p.state == q.state == "alive"
    assert p.aspace.translate(TEXT_BASE) == q.aspace.translate(TEXT_BASE)
    assert k.memory_stats.shared_frames >= 1
    k.run()
    assert (p.exit_code, q.exit_code) == (0, 0)
    info = ffi.new("pk_elf_info *")            # the image keeps its frame after both exit
    assert lib.pk_rv_image_info(k._kp, k._load(prog), info) == 0
    assert info.shared_frames == 1 and info.segments == 1


def test_the_audit_counts_the_frames_an_image_keeps():
    # k.audit() (docs/trust.md) recounts every frame's references: an ELF
    # image's shared read-only pages are held by the image as well as by
    # the page tables mapping them, and by the image alone once every
    # process running it has exited.
    k = kernel(scheduler=pk.sched.RoundRobin(quantum=2_000))
    prog = pk.Program.elf(yielder(1000))
    k.spawn(prog), k.spawn(prog)
    k.run(until=20_000)
    assert k.audit().problems() == []
    k.run()
    a = k.audit()
    assert a.problems() == []
    assert a.frames_used == a.frames_referenced == 1


def test_writable_data_pages_of_one_image_stay_private():
    a = Asm()
    cell = a.data(struct.pack("<Q", 5))
    a.li("t0", cell)
    a.ld("t1", "t0", 0)
    a.addi("t1", "t1", 1)
    a.sd("t1", "t0", 0)                     # 6 in this process only
    a.li("s0", 1000)
    a.label("loop")
    a.syscall(SYS_YIELD)
    a.addi("s0", "s0", -1)
    a.bne("s0", "zero", "loop")
    a.li("t0", cell)
    a.ld("a0", "t0", 0)
    a.syscall(SYS_EXIT)
    k = kernel(scheduler=pk.sched.RoundRobin(quantum=2_000))
    prog = pk.Program.elf(a.elf())
    p, q = k.spawn(prog), k.spawn(prog)
    k.run(until=20_000)
    assert p.state == q.state == "alive"
    assert p.aspace.translate(DATA_BASE) != q.aspace.translate(DATA_BASE)
    k.run()
    assert (p.exit_code, q.exit_code) == (6, 6)


# ---- time --------------------------------------------------------------------

def test_instructions_take_insn_cycles_at_clock_hz():
    # Costs.zero(): no fault, walk or system-call time; 3 cycles at 1 GHz
    # is 3 ns an instruction
    costs = dataclasses.replace(pk.Costs.zero(), insn_cycles=3)
    k = kernel(costs=costs)
    a = Asm()
    a.li("t0", 1000)
    a.label("loop")
    a.addi("t0", "t0", -1)
    a.bne("t0", "zero", "loop")
    a.exit(0)
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.instructions == 1 + 2000 + 3          # li, the loop, li a0 + li a7 + ecall
    assert p.stats.cpu_time == 3 * p.instructions


def test_a_faster_clock_halves_the_time():
    costs = dataclasses.replace(pk.Costs.zero(), clock_hz=2_000_000_000)
    k = kernel(costs=costs)
    p = k.spawn(pk.Program.elf(exits(0)))
    k.run()
    assert p.instructions == 3
    assert p.stats.cpu_time == 1             # 1.5 ns: the half ns is carried


def test_costs_reject_zero_cycles_per_instruction():
    with pytest.raises(ValueError, match="insn_cycles"):
        pk.Costs(insn_cycles=0)


def test_system_calls_happen_after_the_instructions_before_them():
    # 100 instructions, then write: the output exists only once their time
    # (100 ns) has passed
    a = Asm()
    msg = a.data(b"x")
    for _ in range(100):
        a.nop()
    a.write_out(msg, 1)
    a.exit(0)
    k = kernel(costs=pk.Costs.zero())
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run(until=100)
    assert p.stdout == b""
    k.run()
    assert p.stdout == b"x"


# ---- mixed workloads ------------------------------------------------------------

def test_machine_code_scripts_and_python_threads_share_one_kernel():
    def body(ctx):
        yield ctx.compute(500)
        return 7

    k = kernel(scheduler=pk.sched.RoundRobin(quantum=100), costs=pk.Costs.zero())
    rv = k.spawn(pk.Program.elf(yielder(10, code=3)))
    sc = k.spawn(pk.Program.script("s", [pk.op.compute(400), pk.op.exit(5)]))
    py = k.spawn(pk.Program.python("py", body))
    k.run()
    assert (rv.exit_code, sc.exit_code, py.exit_code) == (3, 5, 7)
    assert rv.stats.voluntary_switches >= 1       # a sched_yield gave the CPU away
    assert sc.stats.involuntary_switches >= 1     # the script's 400 ns span quanta


# ---- system calls -----------------------------------------------------------------

def test_unknown_system_calls_return_enosys_and_are_counted():
    a = Asm()
    a.syscall(999)
    a.syscall(999)
    a.syscall(500)
    a.sub("a0", "zero", "a0")               # -(-ENOSYS)
    a.syscall(SYS_EXIT)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == ENOSYS
    assert p.syscalls_unknown == {999: 2, 500: 1}
    assert p.syscalls == 4


def test_system_call_minus_one_returns_enosys_and_the_program_goes_on():
    # syscall(2): an invalid number fails with ENOSYS, whatever its value;
    # -1 is just one more number (qemu-riscv64 answers -ENOSYS too).
    a = Asm()
    a.syscall(-1)
    a.sub("a0", "zero", "a0")
    a.syscall(SYS_EXIT)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    assert k.run(until=10**9).reason == "idle"
    assert p.exit_code == ENOSYS
    assert p.syscalls_unknown == {2**64 - 1: 1}
    assert p.syscalls == 2


def test_unknown_system_call_numbers_keep_all_64_bits():
    # a7 = 2**32 + 64 is not write (64): Linux compares all of a7
    # (arch/riscv/kernel/traps.c, do_trap_ecall_u: `long syscall =
    # regs->a7`), so it is unknown, returns -ENOSYS and writes nothing.
    # (qemu-riscv64 truncates the number to an int and writes "no".)
    a = Asm()
    msg = a.data(b"no")
    a.li("a0", 1)
    a.li("a1", msg)
    a.li("a2", 2)
    a.syscall(2**32 + 64)
    a.sub("a0", "zero", "a0")
    a.syscall(SYS_EXIT)
    k = kernel()
    out = []
    p = k.spawn(pk.Program.elf(a.elf()), stdout=out.append)
    k.run()
    assert p.exit_code == ENOSYS
    assert p.syscalls_unknown == {2**32 + 64: 1}
    assert out == []


def test_writes_to_other_descriptors_are_ebadf():
    a = Asm()
    msg = a.data(b"hi")
    a.li("a0", 3)
    a.li("a1", msg)
    a.li("a2", 2)
    a.syscall(SYS_WRITE)
    a.sub("a0", "zero", "a0")
    a.syscall(SYS_EXIT)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == EBADF
    assert p.stdout == b"" and p.stderr == b""


def test_output_streams_to_a_callable():
    a = Asm()
    msg = a.data(b"ab")
    a.write_out(msg, 1)
    a.syscall(SYS_YIELD)
    a.write_out(msg + 1, 1)
    a.exit(0)
    chunks = []
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()), stdout=chunks.append)
    k.run()
    assert b"".join(chunks) == p.stdout == b"ab"


# ---- faults ------------------------------------------------------------------------

def test_fetch_from_a_page_without_execute_kills_with_segmentation_fault():
    a = Asm()
    a.data(bytes(16))
    a.li("t0", DATA_BASE)
    a.jalr("zero", "t0", 0)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.kill_reason == "segmentation fault"
    assert p.aspace.fault.kind == "execute without permission"
    assert p.aspace.fault.address == DATA_BASE


def test_illegal_instruction_kills_the_process():
    a = Asm()
    a.word(0xFFFFFFFF)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.kill_reason == "illegal instruction"


def test_a_fault_in_one_process_leaves_the_other_running():
    a = Asm()
    a.li("t0", 0)
    a.sd("t0", "t0", 0)                     # store to NULL
    k = kernel()
    bad = k.spawn(pk.Program.elf(a.elf()))
    good = k.spawn(pk.Program.elf(yielder(5, code=4)))
    k.run()
    assert bad.kill_reason == "segmentation fault"
    assert good.exit_code == 4


# ---- kernels and memory -------------------------------------------------------------

def test_kernel_without_memory_gets_sv39_memory_for_its_first_elf_process():
    k = pk.Kernel()
    p = k.spawn(pk.Program.elf(exits(2)))
    k.run()
    assert p.exit_code == 2
    assert k.mmu.format == "sv39"


def test_elf_process_after_other_processes_needs_memory_from_the_start():
    k = pk.Kernel()
    k.spawn(pk.Program.script("s", [pk.op.compute(1)]))
    with pytest.raises(pk.NotSupported, match="memory"):
        k.spawn(pk.Program.elf(exits(0)))


def test_memory_with_swap_is_refused():
    k = pk.Kernel(memory=pk.Memory(swap=64))
    with pytest.raises(pk.NotSupported, match="swap"):
        k.spawn(pk.Program.elf(exits(0)))


def test_random_bytes_come_from_the_kernel_seed():
    a = Asm()
    buf = a.data(bytes(8))
    a.li("a0", buf)
    a.li("a1", 8)
    a.li("a2", 0)
    a.syscall(278)                          # getrandom
    a.write_out(buf, 8)
    a.exit(0)
    prog = pk.Program.elf(a.elf())
    outs = []
    for seed in (1, 1, 2):
        k = kernel(seed=seed)
        p = k.spawn(prog)
        k.run()
        outs.append(p.stdout)
    assert outs[0] == outs[1] != outs[2]
    assert len(outs[0]) == 8


# ---- files that are not runnable programs ------------------------------------------

def test_garbage_is_not_an_elf_file():
    with pytest.raises(pk.InvalidArgs, match="not an ELF file"):
        pk.Program.elf(b"hello world, not a program")


def test_truncated_elf_file_is_reported():
    with pytest.raises(pk.InvalidArgs, match="truncated"):
        pk.Program.elf(exits(0)[:40])


def test_wrong_machine_is_reported():
    data = bytearray(exits(0))
    data[18:20] = struct.pack("<H", 62)     # x86-64
    with pytest.raises(pk.InvalidArgs, match="not RISC-V"):
        pk.Program.elf(bytes(data))


def test_32_bit_elf_is_reported():
    data = bytearray(exits(0))
    data[4] = 1
    with pytest.raises(pk.InvalidArgs, match="64-bit"):
        pk.Program.elf(bytes(data))


def test_dynamically_linked_program_is_not_supported():
    data = bytearray(exits(0))
    phoff = struct.unpack_from("<Q", data, 32)[0]
    struct.pack_into("<I", data, phoff, 3)   # the first program header becomes PT_INTERP
    with pytest.raises(pk.NotSupported, match="statically"):
        pk.Program.elf(bytes(data))


def test_core_rejects_bad_images_that_skip_the_python_checks():
    k = kernel()
    out = ffi.new("uint32_t *")
    good = exits(0)
    for bad in (b"", b"\x7fELF", good[:63], good[:100]):
        assert lib.pk_prog_load_elf(k._kp, bad, len(bad), out) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_prog_load_elf(k._kp, good, len(good), out) == 0


# Malformed program headers, refused when the program is made (Program.elf),
# naming the header and field. Field names and meanings: the ELF-64 Object
# File Format (version 1.5) and the System V ABI, "Program Loading": PT_LOAD
# segments must not overlap and ascend by p_vaddr, p_filesz <= p_memsz,
# p_vaddr = p_offset modulo the page size; PF_X = 1 marks an executable one.

def _with_phdr(data: bytes, i: int, **fields) -> bytes:
    names = ("type", "flags", "offset", "vaddr", "paddr", "filesz", "memsz", "align")
    d = bytearray(data)
    at = struct.unpack_from("<Q", d, 32)[0] + 56 * i
    values = dict(zip(names, struct.unpack_from("<IIQQQQQQ", d, at)))
    values.update(fields)
    struct.pack_into("<IIQQQQQQ", d, at, *(values[n] for n in names))
    return bytes(d)


def _with_entry(data: bytes, entry: int) -> bytes:
    return data[:24] + struct.pack("<Q", entry) + data[32:]


def _refusal(data: bytes) -> str:
    with pytest.raises(pk.InvalidArgs) as info:
        pk.Program.elf(data)
    return str(info.value)


@pytest.mark.parametrize("memsz", [2**62, 2**40], ids=["2^62", "2^40"])
def test_a_segment_larger_than_the_loader_accepts_names_p_memsz(memsz):
    # a segment may span 2^38 bytes (2^26 pages, csrc/rv/pk_rv_elf.c MAX_SPAN)
    assert _refusal(_with_phdr(exits(0), 0, memsz=memsz)) == (
        f"Program.elf('a.out'): program header 0: p_memsz {memsz:#x} is larger than a "
        f"segment may be (0x4000000000 bytes)")


def test_a_segment_wrapping_the_address_space_is_refused():
    data = _with_entry(_with_phdr(exits(0), 0, vaddr=2**64 - 4096, memsz=8192), 2**64 - 4096)
    assert _refusal(data) == ("Program.elf('a.out'): program header 0: p_vaddr "
                              "0xfffffffffffff000 + p_memsz 0x2000 wraps around the end of "
                              "the address space")


def test_a_segment_in_the_kernel_half_is_refused():
    # RISC-V Sv39 puts the kernel at 0xffffffc000000000 and above (privileged
    # spec, "Sv39"); no user half of any format reaches above 2^56
    data = _with_entry(_with_phdr(exits(0), 0, vaddr=0xffffffc000000000), 0xffffffc000000000)
    assert _refusal(data) == ("Program.elf('a.out'): program header 0: the segment at p_vaddr "
                              "0xffffffc000000000 (p_memsz 0xc) ends above 0x100000000000000, "
                              "in the kernel half of the address space")


def test_a_segment_at_address_0_is_refused():
    data = _with_entry(_with_phdr(exits(0), 0, vaddr=0), 0)
    assert _refusal(data) == ("Program.elf('a.out'): program header 0: p_vaddr 0x0 is in "
                              "page 0, which is never mapped")


def test_overlapping_segments_name_both_headers():
    data = _with_phdr(elf64(bytes(16), bytes(16)), 1, vaddr=TEXT_BASE)
    assert _refusal(data) == ("Program.elf('a.out'): program header 1: the segment at p_vaddr "
                              "0x10000 overlaps the pages of program header 0")


def test_an_entry_point_outside_every_segment_is_refused():
    assert _refusal(_with_entry(exits(0), 0x500000)) == (
        "Program.elf('a.out'): ELF header: e_entry 0x500000 is outside every PT_LOAD segment")


def test_a_text_segment_without_execute_is_refused():
    data = _with_phdr(exits(0), 0, flags=4)          # PF_R only
    assert _refusal(data) == ("Program.elf('a.out'): ELF header: e_entry 0x10000 is in program "
                              "header 0, which is not executable (no PF_X in p_flags)")


def test_the_core_loader_applies_the_same_rules_as_the_check():
    # the rules live once, in csrc/rv/pk_rv_elf.c: pk_prog_load_elf refuses
    # what pk_elf_check refuses, with the same status
    k = kernel()
    out = ffi.new("uint32_t *")
    why = ffi.new("pk_elf_refusal *")
    bad = _with_entry(exits(0), 0x500000)
    assert lib.pk_elf_check(bad, len(bad), why) == lib.PK_ERR_INVALID_ARGS
    assert (why.reason, why.value) == (lib.PK_ELF_E_ENTRY, 0x500000)
    assert lib.pk_prog_load_elf(k._kp, bad, len(bad), out) == lib.PK_ERR_INVALID_ARGS
    good = exits(0)
    assert lib.pk_elf_check(good, len(good), why) == 0 and why.reason == 0


def test_mutated_images_never_crash_the_core():
    # random byte flips in the headers and code: each image is either
    # refused or runs to some end within a bounded time
    rng = random.Random(7)
    good = bytearray(yielder(3))
    for _ in range(150):
        data = bytearray(good)
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(data)) if rng.random() < 0.5 else rng.randrange(200)
            data[i] = rng.randrange(256)
        k = kernel()
        out = ffi.new("uint32_t *")
        if lib.pk_prog_load_elf(k._kp, bytes(data), len(data), out) != 0:
            continue
        try:
            p = k.spawn(pk.Program.elf(bytes(data)))
        except (pk.KernelError, ValueError):
            continue
        k.run(until=200_000)
        assert p.state in ("alive", "exited", "killed")


# ---- futexes ----------------------------------------------------------------

def test_timed_futex_wait_ends_with_etimedout_at_its_deadline():
    a = Asm()
    word = a.data(struct.pack("<I", 7))
    ts = a.data(struct.pack("<QQ", 0, 2_000_000))   # 2 ms, relative (FUTEX_WAIT)
    a.li("a0", word)
    a.li("a1", 128)                         # FUTEX_WAIT | FUTEX_PRIVATE_FLAG
    a.li("a2", 7)                           # the word's value: it waits
    a.li("a3", ts)
    a.syscall(98)
    a.sub("a0", "zero", "a0")
    a.syscall(SYS_EXIT)
    k = kernel(costs=pk.Costs.zero())
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == 110               # ETIMEDOUT
    assert 2_000_000 <= p.stats.finish < 2_001_000


def test_futex_wait_on_a_changed_word_is_eagain():
    a = Asm()
    word = a.data(struct.pack("<I", 7))
    a.li("a0", word)
    a.li("a1", 128)
    a.li("a2", 8)                           # not the word's value
    a.li("a3", 0)
    a.syscall(98)
    a.sub("a0", "zero", "a0")
    a.syscall(SYS_EXIT)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.exit_code == 11                # EAGAIN


# ---- position-independent images ---------------------------------------------

def test_position_independent_image_is_placed_at_its_base():
    data = bytearray(exits(9))
    data[16:18] = struct.pack("<H", 3)      # ET_DYN: the code uses no absolute address
    k = kernel()
    prog = pk.Program.elf(bytes(data))
    assert prog.elf_info.type == "dyn"
    p = k.spawn(prog)
    assert p.threads[0].registers.pc == 0x20_0000_0000 + TEXT_BASE
    k.run()
    assert p.exit_code == 9


def test_output_of_a_script_process_is_not_supported():
    k = kernel()
    p = k.spawn(pk.Program.script("s", [pk.op.compute(1)]), name="s")
    with pytest.raises(pk.NotSupported, match="not a machine-code process"):
        p.stdout


def test_machine_code_arguments_are_refused_for_scripts():
    k = kernel()
    with pytest.raises(TypeError, match="machine-code"):
        k.spawn(pk.Program.script("s", [pk.op.compute(1)]), argv=["s"])


# ---- the host-pointer mirror is exact ------------------------------------------

def page_walker() -> bytes:
    """Stores to 100 pages of the stack region and loads them back, three
    times: more pages than a 64-entry TLB holds."""
    a = Asm()
    a.li("s1", 3)
    a.label("round")
    a.li("t0", 0x3F_FF90_0000)              # in the stack region (the 8 MiB below 2^38)
    a.li("t1", 100)
    a.label("page")
    a.sd("t1", "t0", 0)
    a.ld("t2", "t0", 0)
    a.li("t3", 4096)
    a.add("t0", "t0", "t3")
    a.addi("t1", "t1", -1)
    a.bne("t1", "zero", "page")
    a.addi("s1", "s1", -1)
    a.bne("s1", "zero", "round")
    a.exit(0)
    return a.elf()


@pytest.mark.parametrize("asid", [True, False])
def test_mirror_counts_tlb_hits_and_misses_like_the_full_path(asid):
    # Memory(track=True) turns the mirror off (every access takes the full
    # TLB path); the counters and the LRU choices must come out the same
    prog = pk.Program.elf(page_walker())
    seen = []
    for track in (False, True):
        k = pk.Kernel(memory=pk.Memory(track=track), mmu=pk.MMU(format="sv39", asid=asid))
        p = k.spawn(prog)
        q = k.spawn(prog)
        at_spawn = p.aspace.stats.touches + q.aspace.stats.touches   # the initial stacks
        k.run()
        assert (p.exit_code, q.exit_code) == (0, 0)
        t = k.tlb_stats(0)
        seen.append((t.hits, t.misses, p.aspace.stats.touches + q.aspace.stats.touches - at_spawn,
                     p.aspace.stats.walks, k.now))
    assert seen[0] == seen[1]
    hits, misses, touches, _, _ = seen[0]
    assert hits + misses == touches
    assert misses > 600                     # 3 rounds x 100 pages x 2 processes miss


def test_machine_code_threads_come_only_from_spawn_and_clone():
    k = kernel()
    host = k.spawn(pk.Program.script("s", [pk.op.sleep(10)]))
    prog = pk.Program.elf(exits(0))
    with pytest.raises(pk.NotSupported, match="clone"):
        host.thread_create(prog)
    out = ffi.new("uint32_t *")                 # the core refuses too, without side record
    pid = ffi.new("uint32_t *")
    a = ffi.new("pk_spawn_args *")
    a.prog = k._load(prog)
    a.tickets, a.cpu, a.burst = 100, -1, 2**64 - 1
    assert lib.pk_thread_create(k._kp, host.pid, a.prog, 0, out) == lib.PK_ERR_NOT_SUPPORTED
    assert lib.pk_spawn(k._kp, a, 1, pid, out) == lib.PK_ERR_NOT_SUPPORTED
    k.run()


def test_random_instruction_streams_never_crash_the_core():
    # random 16- and 32-bit parcels as code, with random registers: each run
    # ends (killed, exited) or is still going at the bound; the core survives
    rng = random.Random(11)
    for _ in range(200):
        a = Asm()
        a.data(bytes(64))
        for r in range(1, 32):
            a.li(r, rng.choice([0, DATA_BASE, DATA_BASE + 8 * rng.randrange(8),
                                rng.getrandbits(64), rng.randrange(-4, 4)]))
        for _ in range(48):
            if rng.random() < 0.5:
                a.half(rng.getrandbits(16))
            else:
                a.word(rng.getrandbits(32) | 3)
        k = kernel()
        p = k.spawn(pk.Program.elf(a.elf()))
        k.run(until=100_000)
        assert p.state in ("alive", "exited", "killed")


IMPLEMENTED = [63, 64, 66, 57, 62, 29, 214, 222, 215, 226, 233, 113, 114, 101, 115, 124, 172,
               173, 178, 174, 96, 99, 134, 135, 261, 278, 78, 79, 160, 179, 98, 220, 259]


def test_system_calls_with_random_arguments_never_crash_the_core():
    rng = random.Random(5)
    for _ in range(150):
        a = Asm()
        a.data(bytes(256))
        for _ in range(6):
            num = rng.choice(IMPLEMENTED)
            for r in range(10, 16):         # a0..a5
                a.li(r, rng.choice([0, 1, 2, 3, DATA_BASE, DATA_BASE + 128, 4096, 1 << 20,
                                    rng.getrandbits(64), rng.getrandbits(12), -1]))
            a.syscall(num)
        a.exit(0)
        k = kernel()
        p = k.spawn(pk.Program.elf(a.elf()), stdin=b"some input")
        k.run(until=50_000_000)
        assert p.state in ("alive", "exited", "killed")


def test_kernel_object_layer_ignores_the_registers_of_a_waiting_riscv_thread():
    # x1, x14 and x15 are the kernel-object layer's registers in script
    # threads (timeout, status, wait record): a RISC-V thread parked in a
    # futex wait with garbage there must not be read as having a wait record
    a = Asm()
    word = a.data(struct.pack("<I", 0))
    a.li("x1", 0xDEAD_BEEF)
    a.li("x14", 0x1234_5678)
    a.li("x15", 0x7777)                     # a "wait record id + 1" that does not exist
    a.li("a0", word)
    a.li("a1", 128)
    a.li("a2", 0)
    a.li("a3", 0)
    a.syscall(98)                           # futex wait, nobody wakes it
    a.exit(0)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    r = k.run()
    assert r.reason == "deadlock"
    assert p.threads[0].state == "waiting"
    assert p.threads[0].registers.x[15] == 0x7777
    assert k.deadlocks() == []
    p.kill()
    assert p.kill_reason == "killed"


# ---- signals ----------------------------------------------------------------------

def test_sigabrt_to_itself_kills_the_process_as_aborted():
    a = Asm()
    a.syscall(172)                          # getpid
    a.mv("s0", "a0")
    a.syscall(178)                          # gettid
    a.mv("a1", "a0")
    a.mv("a0", "s0")
    a.li("a2", 6)                           # SIGABRT
    a.syscall(131)                          # tgkill (what abort() calls)
    a.exit(0)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.kill_reason == "aborted"


def test_sigterm_to_its_own_group_ends_it_with_sigterm():
    """kill(0, SIGTERM) signals the caller's process group (kill(2)), here
    the caller alone; SIGTERM's default action terminates (signal(7)), so
    the process never reaches its exit and its wait status is 15."""
    a = Asm()
    a.li("a0", 0)
    a.li("a1", 15)
    a.syscall(129)
    a.exit(0)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    k.run()
    assert p.state == "killed"
    assert p.kill_reason == "signal"
    assert p.term_signal == pk.SIGTERM == 15
    assert p.wait_status == 15
    assert p.syscalls_unknown == {}


@pytest.mark.parametrize("fmt", ["sv39", "sv48", "x86_64"])
def test_machine_code_runs_on_every_page_table_format(fmt):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format=fmt))
    p = k.spawn(pk.Program.elf(yielder(3, code=5)))
    k.run()
    assert p.exit_code == 5
    assert p.aspace.format == fmt
