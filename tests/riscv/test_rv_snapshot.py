"""Snapshots of kernels running RISC-V machine code (docs/snapshot.md,
"Machine code").

The property of issue 8 for machine-code processes: "run to T1,
snapshot, restore, run on" observes exactly what "run on" does (digest,
clock, statistics, every process's state, exit code, standard output and
error, instruction and system-call counts, every thread's registers and
every CPU's TLB counters), for 20 random cut points T1 per workload.
The programs compiled from tests/riscv/progs need the cross compiler
(skipped without it, failed under PK_REQUIRE_RISCV=1); those assembled
by rvasm and the bundled example ELF always run.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from rvasm import Asm
from rvrun import pk_kernel, program  # noqa: F401 (program: a fixture)
from test_processes import expected_registers, page_walker, register_keeper

import pykernel as pk
from pykernel._ffi import lib
from pykernel.snapshot import SnapshotError

HELLO = pk.riscv.example_path()
S = pk.op


def observe(k: pk.Kernel) -> dict:
    """Everything readable about ``k``'s past and present."""
    procs, threads = [], []
    for p in k.processes:
        entry = (p.pid, p.name, p.state, p.exit_code, p.kill_reason)
        if p.program.kind == "elf":
            entry += (bytes(p.stdout), bytes(p.stderr), p.instructions, p.syscalls,
                      p.syscalls_unknown)
        procs.append(entry)
        for t in p.threads:
            threads.append((t.tid, t.state, t.cpu, t.stats, t.registers))
    return {
        "digest": k.digest(), "now": k.now,
        "stats": dataclasses.replace(k.stats, memory_bytes=0),
        "procs": procs, "threads": threads,
        "tlb": [k.tlb_stats(c) for c in range(k.cpus)],
    }


def cuts(make, n: int = 20, seed: int = 5) -> list[int]:
    """``n`` random instants strictly inside the run of ``make()``."""
    k = make()
    k.run()
    rng = random.Random(seed)
    return sorted(rng.randrange(1, k.now) for _ in range(n))


def mismatches(make, n: int = 20) -> list[int]:
    """The cut points where "snapshot, restore, run on" differs from the
    uninterrupted run (empty: none).  One kernel is run from cut to cut
    and a copy restored at each runs to the end."""
    ref = make()
    ref.run()
    expected = observe(ref)
    k = make()
    bad = []
    for t1 in cuts(make, n):
        k.run(until=t1)
        copy = pk.Kernel.restore(k.snapshot())
        copy.run()
        if observe(copy) != expected:
            bad.append(t1)
    k.run()
    assert observe(k) == expected            # taking snapshots changed nothing
    return bad


def compiled(program, *names, extra=None):
    """A maker of a kernel running the compiled test programs ``names``
    (each with argv [name]), then ``extra(k)``."""
    progs = [pk.Program.elf(program(name)) for name in names]

    def make():
        k = pk_kernel()
        for i, prog in enumerate(progs):
            k.spawn(prog, argv=[prog.name], stdin=b"", at=i * 20_000)
        if extra:
            extra(k)
        return k
    return make


# ---- programs that need no toolchain -------------------------------------------

def test_live_machine_code_process_is_captured():
    """The snapshot of a kernel with a running RISC-V process restores and
    continues as the original does."""
    prog = pk.Program.elf(HELLO)

    def make():
        k = pk.Kernel()
        k.spawn(prog, argv=["hello"])
        return k
    assert mismatches(make) == []


def test_exited_machine_code_process_restores():
    """After the process has exited the snapshot restores (its program's
    image included) with its output and exit code."""
    k = pk.Kernel()
    p = k.spawn(pk.Program.elf(HELLO), argv=["hello"])
    k.run()
    copy = pk.Kernel.restore(k.snapshot())
    q = copy.process(p.pid)
    assert (q.state, q.exit_code, bytes(q.stdout)) == ("exited", 20, b"hello, world\n")
    assert observe(copy) == observe(k)


def test_original_program_spawns_on_the_restored_kernel():
    """The Program object of the original spawns on the restored kernel,
    sharing the image the snapshot brought back (no second image)."""
    prog = pk.Program.elf(HELLO)
    k = pk.Kernel()
    k.spawn(prog, argv=["hello"])
    k.run()
    copy = pk.Kernel.restore(k.snapshot())
    p = copy.spawn(prog, argv=["hello"])
    copy.run()
    assert (p.exit_code, bytes(p.stdout)) == (20, b"hello, world\n")   # sum 1..1000 mod 256
    assert copy.process(p.pid).program is prog
    assert len(copy._programs) == 1


def test_restored_program_is_usable_on_a_fresh_kernel():
    """A restored kernel's own Program.elf holds the file's bytes again."""
    k = pk.Kernel()
    k.spawn(pk.Program.elf(HELLO), argv=["hello"])
    copy = pk.Kernel.restore(k.snapshot())
    prog = copy.processes[0].program
    with open(HELLO, "rb") as f:
        assert prog._code == f.read()
    fresh = pk.Kernel()
    p = fresh.spawn(prog, argv=["hello"])
    fresh.run()
    assert bytes(p.stdout) == b"hello, world\n"


def test_snapshot_holds_the_image_bytes_once():
    """The ELF file is in the core's section only, not again in the
    Python side's JSON (there it would be base64)."""
    import base64
    with open(HELLO, "rb") as f:
        data = f.read()
    k = pk.Kernel()
    k.spawn(pk.Program.elf(HELLO), argv=["hello"])
    snap = k.snapshot()
    assert snap.count(data) == 1
    assert base64.b64encode(data[:300]) not in snap


def test_output_stream_is_reattached_where_it_stopped():
    """A stdout callable is not captured; on_stdout on the restored
    kernel gets exactly the output the original's callable had not yet
    received, so the two together hold it once."""
    keeper = pk.Program.elf(register_keeper())
    k = pk_kernel()
    before = []
    p = k.spawn(keeper, argv=["keeper", "A"], stdin=b"", stdout=before.append)
    k.run(until=1)
    copy = pk.Kernel.restore(k.snapshot())
    after = []
    copy.process(p.pid).on_stdout(after.append)
    copy.run()
    assert b"".join(before) + b"".join(after) == expected_registers(ord("A"))


def test_on_stdout_hands_over_what_was_already_written():
    """Attached after the process has finished, the callable gets its whole
    output at once."""
    k = pk.Kernel()
    p = k.spawn(pk.Program.elf(HELLO), argv=["hello"])
    k.run()
    got = []
    p.on_stdout(got.append)
    assert got == [b"hello, world\n"]


def test_on_stdout_of_a_script_process_is_not_supported():
    k = pk.Kernel()
    p = k.spawn(pk.Program.script("s", [S.compute(10)]))
    with pytest.raises(pk.NotSupported):
        p.on_stdout(print)


def test_fp_registers_survive_a_snapshot():
    """Two processes fill all integer and FP registers, yield to each other
    16 times and print them: cut at 20 points, every register of both
    comes back (a lost FP register file would print zeros)."""
    keeper = pk.Program.elf(register_keeper())

    def make():
        k = pk_kernel()
        k.spawn(keeper, argv=["keeper", "A"], stdin=b"")
        k.spawn(keeper, argv=["keeper", "B"], stdin=b"")
        return k
    assert mismatches(make) == []
    k = make()
    k.run(until=cuts(make, 1, seed=3)[0])
    assert any(pk.riscv.stats(k, p.pid).fp_threads for p in k.processes)   # FP state in flight
    copy = pk.Kernel.restore(k.snapshot())
    copy.run()
    assert [bytes(p.stdout) for p in copy.processes] == [expected_registers(ord("A")),
                                                         expected_registers(ord("B"))]


def test_sleeping_machine_code_process_continues():
    """A process asleep in nanosleep (50 ms) at most cut points."""
    walker = pk.Program.elf(page_walker())

    def make():
        k = pk_kernel()
        k.spawn(walker, argv=["walker"], stdin=b"")
        return k
    assert mismatches(make) == []


def timed_futex_waiter() -> bytes:
    """A program that waits on a futex word (0) with a 3 ms timeout,
    prints the result (-ETIMEDOUT: 0xffffff92 as its low byte, 0x92) and
    exits with it."""
    a = Asm()
    word = a.data(bytes(4))
    ts = a.data((0).to_bytes(8, "little") + (3_000_000).to_bytes(8, "little"))
    a.li("a0", word)
    a.li("a1", 0)                           # FUTEX_WAIT
    a.li("a2", 0)                           # expected value
    a.li("a3", ts)
    a.syscall(98)                           # futex
    a.exit_with("a0")
    return a.elf()


def test_timed_futex_wait_continues():
    """A thread in a timed futex wait: its timeout event comes back with
    the side record it belongs to, and fires at the same instant."""
    waiter = pk.Program.elf(timed_futex_waiter())

    def make():
        k = pk_kernel()
        k.spawn(waiter, argv=["waiter"], stdin=b"")
        k.spawn(pk.Program.script("cpu", [S.loop(30, [S.compute(200_000), S.yield_()])]))
        return k
    ref = make()
    ref.run()
    assert ref.processes[0].exit_code == (-110) & 0xFF      # ETIMEDOUT
    assert mismatches(make) == []


def test_branching_into_two_policies():
    """One snapshot of three RISC-V processes restored under FIFO and under
    round robin: identical pasts, different schedules, same outputs."""
    prog = pk.Program.elf(register_keeper())
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"),
                  scheduler=pk.sched.RoundRobin(quantum=2_000))
    for tag in "ABC":
        k.spawn(prog, argv=["keeper", tag], stdin=b"")
    k.run(until=3_000)
    snap = k.snapshot()
    fifo = pk.Kernel.restore(snap, scheduler=pk.sched.FIFO())
    rr = pk.Kernel.restore(snap, scheduler=pk.sched.RoundRobin(quantum=500))
    assert fifo.digest() == rr.digest() == k.digest()
    fifo.run()
    rr.run()
    assert fifo.digest() != rr.digest()
    for kern in (fifo, rr):
        assert [bytes(p.stdout) for p in kern.processes] == [expected_registers(ord(t))
                                                             for t in "ABC"]


# ---- crafted sections ------------------------------------------------------------

def _resealed(data) -> bytes:
    body = bytes(data[:-8])
    return body + lib.pk_snapshot_checksum(body, len(body)).to_bytes(8, "little")


def _rv_section(data) -> tuple[int, int]:
    """(start, end) of the machine-code section's payload."""
    at = data.index(b"RV  \x02\x00\x00\x00")
    n = int.from_bytes(data[at + 8:at + 16], "little")
    return at + 16, at + 16 + n


def _hello_snapshot(run_until=2_000) -> bytes:
    k = pk.Kernel()
    k.spawn(pk.Program.elf(HELLO), argv=["hello"])
    k.run(until=run_until)
    return k.snapshot()


def _image_end(data, start) -> int:
    """Offset just after the (only) image's bytes and frame map."""
    at = start + 1 + 24 + 4                  # present, counters, image count
    n = int.from_bytes(data[at:at + 8], "little")
    at += 8 + n
    used = int.from_bytes(data[at:at + 8], "little")
    return at + 8 + 12 * used


def _refused(data, reason):
    with pytest.raises(SnapshotError) as e:
        pk.Kernel.restore(_resealed(data))
    assert e.value.reason == reason


def test_corrupted_elf_image_is_refused():
    data = bytearray(_hello_snapshot())
    start, _ = _rv_section(data)
    data[start + 1 + 24 + 4 + 8] ^= 0xFF     # the image's first byte: ELF magic
    _refused(data, "section")


def test_image_frame_that_is_not_a_shared_page_is_refused():
    """An image page linked to frame 1 (a page-table page) is caught by the
    memory section's check."""
    data = bytearray(_hello_snapshot())
    start, _ = _rv_section(data)
    at = start + 1 + 24 + 4
    at += 8 + int.from_bytes(data[at:at + 8], "little")
    assert int.from_bytes(data[at:at + 8], "little") > 0      # the run shared some pages
    data[at + 16:at + 20] = (1).to_bytes(4, "little")
    _refused(data, "memory")


def test_process_record_naming_another_pid_is_refused():
    data = bytearray(_hello_snapshot())
    start, _ = _rv_section(data)
    at = _image_end(data, start) + 4        # the process count, then the first record's pid
    data[at:at + 4] = (7).to_bytes(4, "little")
    _refused(data, "section")


def test_missing_machine_code_section_is_refused():
    """Programs of machine code without the section that holds their
    images: refused, not restored into a kernel that would crash."""
    data = _hello_snapshot()
    at = data.index(b"RV  \x02\x00\x00\x00")
    n = int.from_bytes(data[at + 8:at + 16], "little")
    cut = bytearray(data[:at] + data[at + 16 + n:])
    cut[16:24] = len(cut).to_bytes(8, "little")
    _refused(cut, "section")


def test_random_corruptions_never_crash():
    """300 single-byte changes in the section after the image bytes (the
    records): each restores to a kernel that runs to its end, or is
    refused with SnapshotError."""
    data = _hello_snapshot()
    start, end = _rv_section(data)
    lo = _image_end(data, start)
    rng = random.Random(12)
    refused = 0
    for _ in range(300):
        bad = bytearray(data)
        bad[rng.randrange(lo, end)] ^= 1 << rng.randrange(8)
        try:
            k = pk.Kernel.restore(_resealed(bad))
        except SnapshotError:
            refused += 1
            continue
        k.run(until=10_000_000)
    assert refused > 0


# ---- compiled programs (toolchain) ------------------------------------------------

def test_static_glibc_programs(program):
    """hello, sort and malloc side by side."""
    assert mismatches(compiled(program, "hello", "sort", "malloc")) == []


def test_pthreads_with_futex_waiters(program):
    """Four workers on a mutex, a producer and a consumer on a condition
    variable: threads parked in futex waits at the cut points."""
    assert mismatches(compiled(program, "pthreads")) == []


def test_nanosleep_program(program):
    assert mismatches(compiled(program, "clock")) == []


def test_null_dereference_kill(program):
    """The NULL dereference is killed with its reason after restore; hello
    beside it goes on."""
    make = compiled(program, "null", "hello")
    assert mismatches(make) == []
    k = make()
    k.run(until=1)
    copy = pk.Kernel.restore(k.snapshot())
    copy.run()
    assert [(p.state, p.kill_reason) for p in copy.processes] == [
        ("killed", "segmentation fault"), ("exited", None)]


def test_machine_code_mixed_with_script_threads(program):
    """RISC-V processes and script processes (compute, io, sleep) on two
    CPUs."""
    def scripts(k):
        k.spawn(pk.Program.script("cpu", [S.loop(8, [S.compute(50_000), S.io(30_000)])]))
        k.spawn(pk.Program.script("sleeper", [S.loop(6, [S.compute(20_000), S.sleep(70_000)])]),
                at=10_000)

    def make():
        k = pk.Kernel(cpus=2, memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
        for i, name in enumerate(("hello", "pthreads")):
            prog = pk.Program.elf(program(name))
            k.spawn(prog, argv=[name], stdin=b"", at=i * 15_000)
        scripts(k)
        return k
    assert mismatches(make) == []

