"""Snapshots of kernels with virtual memory (docs/snapshot.md, "Memory").

The invariant (issue 8): running to T1, snapshotting, restoring and running
to T2 gives what running to T2 gives: the same digest, the same memory,
TLB and per-process counters, the same fault series, regions and faults.
Each workload below is cut at 20 instants drawn from a seeded generator
(or a few for the matrices of policies and formats). A crafted or damaged
memory section is refused, never crashes, and leaks nothing; a restored
kernel keeps every invariant of csrc/vm/pk_vm_check.c (k.check_memory()).
"""

import random

import pytest

import pykernel as pk
from pykernel import op
from pykernel.snapshot import SnapshotError

PAGE = 4096
BASE = 0x40_0000
HEAP = 0x1000_0000


# ---- workloads ---------------------------------------------------------------

def _kernel(cpus=2, frames=96, swap=64, replacement="clock", fmt="x86_64", asid=True,
            tlb_entries=64, tlb_replacement="lru", track=False, seed=7):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=3_000),
                     costs=pk.Costs(), seed=seed,
                     memory=pk.Memory(frames=frames, swap=swap, replacement=replacement,
                                      track=track, low_watermark=2, high_watermark=4),
                     mmu=pk.MMU(format=fmt, asid=asid, tlb_entries=tlb_entries,
                                tlb_ways=4 if tlb_entries else 1,
                                tlb_replacement=tlb_replacement))


def touches(**kw):
    """Sequential and random touch ranges, single touches, compute."""
    k = _kernel(**kw)
    prog = pk.Program.script("touch", [
        op.map(BASE, 48 * PAGE),
        op.loop(10, [op.touch_range(BASE, 48 * PAGE, pattern="random", write_ratio=0.25),
                     op.compute(1_500),
                     op.touch_range(BASE, 24 * PAGE, stride=2 * PAGE),
                     op.touch(BASE + 5 * PAGE, write=True)]),
        op.exit(0)])
    for i in range(3):
        k.spawn(prog, name=f"t{i}")
    return k


def images(**kw):
    """fork with copy-on-write, exec, brk, map / unmap / protect, exit."""
    k = _kernel(**{"frames": 160, **kw})
    other = pk.Program.script("other", [op.map(BASE, 8 * PAGE),
                                        op.touch_range(BASE, 8 * PAGE, write_ratio=1.0),
                                        op.compute(4_000), op.exit(3)])
    prog = pk.Program.script("image", [
        op.map(BASE, 32 * PAGE),
        op.loop(6, [
            op.touch_range(BASE, 32 * PAGE, pattern="random", write_ratio=0.3),
            op.fork([op.touch_range(BASE, 8 * PAGE, write_ratio=1.0), op.compute(2_000),
                     op.exec(other)]),
            op.touch(BASE, write=True),
            op.unmap(BASE + 8 * PAGE, 4 * PAGE),
            op.map(BASE + 8 * PAGE, 4 * PAGE, populate=True),
            op.map(0x90_0000, 8 * PAGE), op.touch(0x90_0000, write=True),
            op.protect(0x90_0000, 8 * PAGE, "r"), op.touch(0x90_1000),
            op.brk(HEAP + 6 * PAGE), op.touch(HEAP + PAGE, write=True), op.brk(HEAP + 2 * PAGE),
            op.compute(1_000)]),
        op.exit(0)])
    for i in range(2):
        k.spawn(prog, name=f"i{i}")
    return k


def shared(**kw):
    """A shared-memory object mapped by three processes, an anonymous
    shared region across fork, one object closed while mapped."""
    k = _kernel(**kw)
    obj = k.shared_memory(16 * PAGE)
    gone = k.shared_memory(4 * PAGE)
    prog = pk.Program.script("shm", [
        op.map(0x80_0000, 16 * PAGE, shared=obj),
        op.map(0xA0_0000, 4 * PAGE, shared=gone),
        op.touch(0xA0_0000),
        op.map(BASE, 8 * PAGE, shared=True),
        op.touch(BASE, write=True),
        op.fork([op.touch_range(BASE, 8 * PAGE, write_ratio=1.0), op.exit(0)]),
        op.loop(8, [op.touch_range(0x80_0000, 16 * PAGE, pattern="random", write_ratio=0.5),
                    op.touch(0xA0_0000), op.compute(2_500)]),
        op.exit(0)])
    for i in range(3):
        k.spawn(prog, name=f"s{i}")
    k.run(until=15_000)
    gone.close()
    return k


def pressure(**kw):
    """More pages than frames: eviction to swap, swap-ins, watermarks,
    and out-of-memory kills once swap is full too."""
    k = _kernel(**kw)
    prog = pk.Program.script("big", [
        op.map(BASE, 64 * PAGE),
        op.loop(5, [op.touch_range(BASE, 64 * PAGE, pattern="random", write_ratio=0.3),
                    op.touch_range(BASE, 40 * PAGE), op.compute(3_000)]),
        op.exit(0)])
    for i in range(3):
        k.spawn(prog, name=f"p{i}")
    return k


def limited(**kw):
    """rss_limit: local replacement within each process's own pages."""
    k = _kernel(frames=256, **kw)
    prog = pk.Program.script("lim", [
        op.map(BASE, 32 * PAGE),
        op.loop(6, [op.touch_range(BASE, 32 * PAGE, pattern="random", write_ratio=0.4),
                    op.compute(2_000)]),
        op.exit(0)])
    k.spawn(prog, name="a", rss_limit=6)
    k.spawn(prog, name="b", rss_limit=10)
    k.spawn(prog, name="c")
    return k


def cpus4(**kw):
    """Processes moving between four CPUs: with ASIDs their entries stay
    in the TLBs of CPUs they left, and protect / unmap shoot them down
    there (interrupts)."""
    k = _kernel(cpus=4, frames=256, **kw)
    prog = pk.Program.script("mc", [
        op.map(BASE, 16 * PAGE),
        op.loop(8, [op.touch_range(BASE, 16 * PAGE, write_ratio=0.5),
                    op.protect(BASE, 8 * PAGE, "r"), op.compute(1_500),
                    op.protect(BASE, 8 * PAGE, "rw"), op.io(2_000),
                    op.unmap(BASE + 12 * PAGE, PAGE), op.map(BASE + 12 * PAGE, PAGE)]),
        op.exit(0)])
    for i in range(6):
        k.spawn(prog, name=f"m{i}")
    return k


def threads(**kw):
    """Threads of one process sharing its address space on four CPUs:
    each touches and protects the shared pages, so protect shoots down
    the entries of its siblings' CPUs (needs the memory and the
    kernel-object sections together: spawn_thread makes thread objects)."""
    k = _kernel(cpus=4, frames=256, **kw)
    body = [op.loop(6, [op.touch_range(BASE, 4 * PAGE, write_ratio=0.5),
                        op.touch_range(BASE + 4 * PAGE, 12 * PAGE), op.compute(1_000),
                        op.protect(BASE + 4 * PAGE, 4 * PAGE, "r"), op.io(1_500),
                        op.protect(BASE + 4 * PAGE, 4 * PAGE, "rw")])]
    prog = pk.Program.script("mt", [op.map(BASE, 16 * PAGE),
                                    op.spawn_thread(body), op.spawn_thread(body),
                                    op.spawn_thread(body), *body, op.sleep(20_000), op.exit(0)])
    for i in range(2):
        k.spawn(prog, name=f"mt{i}")
    return k


# ---- the invariant -----------------------------------------------------------

def _state(k):
    """Everything observable about k's memory, and its digest."""
    procs = [(p.pid, p.state, p.exit_code, p.aspace.stats, tuple(p.aspace.regions),
              p.aspace.fault) for p in k.processes]
    return (k.now, k.digest(), k.memory_stats, k.fault_rate,
            tuple(k.tlb_stats(c) for c in range(k.cpus)), procs)


def _end(build, **kw):
    """A reference run to the end; the instant it ends."""
    k = build(**kw)
    k.run()
    return k


def _continues(build, cuts, **kw):
    """Cut build(**kw) at each of `cuts` instants: restored and run to
    the end, it equals the uninterrupted run."""
    ref = _end(build, **kw)
    want = _state(ref)
    rng = random.Random(f"{build.__name__}{sorted(kw.items())}")
    for _ in range(cuts):
        k = build(**kw)
        cut = rng.randrange(k.now + 1, ref.now)
        k.run(until=cut)
        r = pk.Kernel.restore(k.snapshot())
        r.check_memory()
        r.run()
        assert _state(r) == want, f"cut at {cut}"
        r.check_memory()


@pytest.mark.parametrize("build", [touches, images, shared, pressure, limited, cpus4, threads])
def test_memory_workload_continues_as_uninterrupted_across_20_cuts(build):
    _continues(build, 20)


@pytest.mark.parametrize("replacement", ["fifo", "lru", "clock", "random", "opt",
                                         "active-inactive"])
def test_swap_under_every_replacement_policy_continues_as_uninterrupted(replacement):
    _continues(pressure, 6, replacement=replacement)


@pytest.mark.parametrize("replacement", ["fifo", "clock", "active-inactive"])
def test_rss_limit_local_replacement_continues_as_uninterrupted(replacement):
    _continues(limited, 5, replacement=replacement)


@pytest.mark.parametrize("fmt", ["x86_64", "x86_64_5level", "sv39", "sv48"])
def test_every_page_table_format_continues_as_uninterrupted(fmt):
    _continues(images, 5, fmt=fmt)


@pytest.mark.parametrize("asid,tlb_replacement", [(True, "lru"), (False, "lru"),
                                                  (True, "random"), (False, "random")])
def test_tlb_with_and_without_asids_continues_as_uninterrupted(asid, tlb_replacement):
    _continues(cpus4, 5, asid=asid, tlb_replacement=tlb_replacement)


def test_without_a_tlb_continues_as_uninterrupted():
    _continues(touches, 5, tlb_entries=0)


def test_tracked_working_sets_continue_as_uninterrupted():
    k = touches(track=True, replacement="lru")
    ref = touches(track=True, replacement="lru")
    k.run(until=40_000)
    ref.run(until=60_000)
    r = pk.Kernel.restore(k.snapshot())
    r.run(until=60_000)
    assert [p.aspace.working_set(20_000) for p in r.processes] == \
           [p.aspace.working_set(20_000) for p in ref.processes]


def test_the_workloads_exercise_what_they_claim():
    # the cut tests mean something only if the workloads do these things
    p = _end(pressure)
    assert p.memory_stats.swap_outs > 0 and p.memory_stats.swap_ins > 0
    i = _end(images)
    assert sum(q.aspace.stats.cow_breaks for q in i.processes) > 0
    assert sum(q.aspace.stats.forks for q in i.processes) == 12
    t = _end(cpus4)
    assert t.memory_stats.ipis > 0
    s = _end(shared)
    assert [q.aspace.fault for q in s.processes[:3]] == [None, None, None]


def test_page_tables_come_back_bit_for_bit():
    k = images(fmt="sv39")
    k.run(until=25_000)
    r = pk.Kernel.restore(k.snapshot())
    for p, q in zip(k.processes, r.processes):
        for va in range(BASE, BASE + 32 * PAGE, PAGE):
            assert q.aspace.walk(va) == p.aspace.walk(va)


# ---- after a restore ----------------------------------------------------------

def test_restored_kernel_frees_every_frame_when_all_processes_end():
    k = images()
    k.run(until=30_000)
    r = pk.Kernel.restore(k.snapshot())
    r.run()
    s = r.memory_stats
    assert (s.free, s.page_table_pages, s.data_pages, s.swap_used, s.address_spaces) == \
           (160, 0, 0, 0, 0)
    r.check_memory()


def test_restored_kernel_keeps_working():
    k = shared()
    k.run(until=20_000)
    r = pk.Kernel.restore(k.snapshot())
    obj = r.shared_memory(2 * PAGE)                   # a new object after the old ones
    late = pk.Program.script("late", [op.map(BASE, 4 * PAGE), op.touch_range(BASE, 4 * PAGE),
                                      op.map(0xC0_0000, 2 * PAGE, shared=obj),
                                      op.touch(0xC0_0000, write=True), op.exit(0)])
    p = r.spawn(late, name="late")
    live = next(q for q in r.processes if q.state != "exited")
    live.aspace.map(0xD0_0000, 3 * PAGE, populate=True)
    r.check_memory()
    r.run()
    assert p.exit_code == 0
    assert p.aspace.stats.page_faults == 5          # its 4 pages and the object's one
    obj.close()
    r.check_memory()
    assert r.memory_stats.free == 96 - 16         # the first object keeps its 16 pages


def test_restored_kernel_lists_and_closes_the_shared_memory_objects_it_had():
    k = shared()
    k.run(until=20_000)                  # object 1 open, object 2 closed at 15,000 ns
    r = pk.Kernel.restore(k.snapshot())
    objs = r.shared_memory_objects()
    assert [(o.id, o.pages) for o in objs] == [(1, 16)]
    r.run()
    objs[0].close()
    assert r.shared_memory_objects() == []
    assert r.memory_stats.free == 96
    r.check_memory()


def test_branches_of_one_snapshot_are_identical():
    k = pressure(replacement="random")
    k.run(until=50_000)
    data = k.snapshot()
    a, b = pk.Kernel.restore(data), pk.Kernel.restore(data)
    a.run()
    b.run()
    assert _state(a) == _state(b)


def test_branches_under_two_policies_share_the_past_and_free_all_memory():
    k = touches(cpus=1)                  # one CPU: the order of the processes matters
    k.run(until=30_000)
    data = k.snapshot()
    past = k.memory_stats
    rr = pk.Kernel.restore(data)
    fifo = pk.Kernel.restore(data, scheduler=pk.sched.FIFO())
    assert rr.memory_stats == fifo.memory_stats == past
    rr.run()
    fifo.run()
    assert rr.digest() != fifo.digest()
    assert rr.memory_stats.swap_outs != fifo.memory_stats.swap_outs   # memory differs too
    for b in (rr, fifo):
        b.check_memory()
        assert (b.memory_stats.free, b.memory_stats.swap_used) == (96, 0)


def test_snapshot_of_a_restored_kernel_is_the_same_bytes():
    k = images()
    k.run(until=45_000)
    data = k.snapshot()
    assert pk.Kernel.restore(data).snapshot() == data


def test_snapshot_refuses_a_fault_handler_written_in_python_and_names_it():
    k = pk.Kernel(memory=pk.Memory(frames=64))
    p = k.spawn(pk.Program.script("uf", [op.map(BASE, PAGE, userfault=True), op.touch(BASE),
                                         op.exit(0)]), name="uf")

    def grant(request):
        return True

    p.aspace.set_fault_handler(grant)
    with pytest.raises(pk.NotSupported, match=r"process 0 \('uf'\): .*grant"):
        k.snapshot()


def test_fault_handler_set_again_after_restore_continues_as_uninterrupted():
    asked = []

    def grant(request):
        asked.append(request.address)
        return True

    def build():
        k = pk.Kernel(memory=pk.Memory(frames=64))
        prog = pk.Program.script("uf", [op.map(BASE, 4 * PAGE, userfault=True),
                                        op.loop(4, [op.touch_range(BASE, 4 * PAGE),
                                                    op.compute(1_000)]), op.exit(0)])
        k.spawn(prog, name="uf").aspace.set_fault_handler(grant)
        return k

    ref = build()
    ref.run()
    k = build()
    k.run(until=2_000)
    k.processes[0].aspace.set_fault_handler(None)      # the documented way
    r = pk.Kernel.restore(k.snapshot())
    r.processes[0].aspace.set_fault_handler(grant)
    asked.clear()
    r.run()
    assert asked == [BASE + PAGE, BASE + 2 * PAGE, BASE + 3 * PAGE]
    assert _state(r) == _state(ref)


# ---- damaged and crafted memory sections ----------------------------------------

_M = (1 << 64) - 1


def _mix64(h):
    h ^= h >> 33
    h = h * 0xFF51AFD7ED558CCD & _M
    h ^= h >> 33
    h = h * 0xC4CEB9FE1A85EC53 & _M
    return h ^ (h >> 33)


def _checksum(buf):
    """pk_snap_checksum (csrc/snap/pk_snap_io.c), so a test can craft a
    snapshot whose checksum is right and whose contents are wrong."""
    lanes = [0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89]
    n, i = len(buf), 0
    while i + 32 <= n:
        for j in range(4):
            v = int.from_bytes(buf[i + 8 * j:i + 8 * j + 8], "little")
            x = (lanes[j] ^ v) * 0x9E3779B97F4A7C15 & _M
            lanes[j] = x ^ (x >> 29)
        i += 32
    h = n * 0x9E3779B97F4A7C15 & _M
    for lane in lanes:
        h = _mix64(h ^ lane)
    for b in buf[i:]:
        h = _mix64(h ^ b)
    return _mix64(h)


def _resealed(data):
    """data with its checksum trailer recomputed."""
    body = bytes(data[:-8])
    return body + _checksum(body).to_bytes(8, "little")


def _mem_section(data):
    """(start, end) of the memory section's payload in snapshot data."""
    at = data.index(b"MEM \x01\x00\x00\x00")
    n = int.from_bytes(data[at + 8:at + 16], "little")
    return at + 16, at + 16 + n


def _frames(data):
    """Offsets in data of each used frame's record, by frame number, and
    of the frame section's header fields (layout in csrc/snap/pk_vm_snap.c)."""
    start, _ = _mem_section(data)
    at = start + 4 + 1 + 92 + 4          # version, present, configuration, CPUs
    hw = int.from_bytes(data[at:at + 4], "little")
    fields = {"hw": at, "free_head": at + 4}
    at += 4 + 4 + 8 + 8 + 8
    used = {}
    for f in range(1, hw + 1):
        ref = int.from_bytes(data[at:at + 4], "little")
        if not ref:
            at += 8
            continue
        used[f] = at
        has = data[at + 40]
        at += 41 + (4096 if has else 0)
    return fields, used


def _snapshot():
    k = images()
    k.run(until=30_000)
    return k.snapshot()


def _refused(data):
    with pytest.raises(SnapshotError) as e:
        pk.Kernel.restore(_resealed(data))
    assert e.value.reason == "memory"


def test_checksum_of_the_tests_matches_the_cores():
    data = _snapshot()
    assert _resealed(data) == data


def test_reference_count_off_by_one_is_refused():
    data = bytearray(_snapshot())
    _, used = _frames(data)
    at = used[max(used)]
    data[at:at + 4] = (int.from_bytes(data[at:at + 4], "little") + 1).to_bytes(4, "little")
    _refused(data)


def test_page_table_entry_naming_a_frame_never_handed_out_is_refused():
    data = bytearray(_snapshot())
    _, used = _frames(data)
    table = next(at for at in used.values() if data[at + 40])        # has contents
    page = table + 41
    i = next(i for i in range(0, 4096, 8) if data[page + i] & 1)     # a present entry
    data[page + i + 4:page + i + 8] = (0x7_0000).to_bytes(4, "little")  # frame bits far above hw
    _refused(data)


def test_free_list_through_a_used_frame_is_refused():
    data = bytearray(_snapshot())
    fields, used = _frames(data)
    data[fields["free_head"]:fields["free_head"] + 4] = min(used).to_bytes(4, "little")
    _refused(data)


def test_memory_section_of_another_version_is_refused():
    data = bytearray(_snapshot())
    start, _ = _mem_section(data)
    data[start:start + 4] = (5).to_bytes(4, "little")   # the next version: 4 is this one
    _refused(data)


def test_memory_section_of_version_2_is_restored_with_the_default_map_count():
    # version 2 had no max_map_count (the last 8 bytes of the configuration,
    # csrc/snap/pk_vm_snap.c); such a section restores with Memory's default 65,530
    k = images()
    k.run(until=30_000)
    data = bytearray(k.snapshot())
    head = data.index(b"MEM \x01\x00\x00\x00")
    start, end = _mem_section(data)
    cfg_end = start + 4 + 1 + 92
    assert int.from_bytes(data[cfg_end - 8:cfg_end], "little") == 65530
    old = data[:start] + (2).to_bytes(4, "little") + data[start + 4:cfg_end - 8] + data[cfg_end:]
    old[head + 8:head + 16] = (end - start - 8).to_bytes(8, "little")
    old[16:24] = (len(old)).to_bytes(8, "little")       # the header's total length
    r = pk.Kernel.restore(_resealed(old))
    assert r.memory.max_map_count == 65530
    k.run(until=200_000)
    r.run(until=200_000)
    assert r.digest() == k.digest()


def test_more_frames_than_the_machine_has_is_refused():
    data = bytearray(_snapshot())
    fields, _ = _frames(data)
    data[fields["hw"]:fields["hw"] + 4] = (161).to_bytes(4, "little")   # it has 160
    _refused(data)


def test_damaged_memory_sections_are_refused_or_stay_consistent():
    # flip bits anywhere in the memory section, checksum made right: the
    # restore is refused, or what it accepts keeps every invariant and runs
    data = _snapshot()
    start, end = _mem_section(data)
    rng = random.Random(8)
    refused = accepted = 0
    for _ in range(60):
        bad = bytearray(data)
        for _ in range(rng.randrange(1, 4)):
            bad[rng.randrange(start, end)] ^= 1 << rng.randrange(8)
        try:
            r = pk.Kernel.restore(_resealed(bad))
        except SnapshotError as e:
            assert e.reason == "memory"
            refused += 1
            continue
        accepted += 1
        r.check_memory()
        r.run(until=60_000)
        r.check_memory()
    assert refused > 0 and accepted > 0
