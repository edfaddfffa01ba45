"""Files in a kernel with memory: their pages are frames of a page cache,
and mapping a file shares them (docs/userland.md, "Page cache and mmap";
mmap(2): MAP_SHARED "Updates to the mapping are visible to other processes
mapping the same region, and ... carried through to the underlying file";
MAP_PRIVATE "copy-on-write mapping ... not carried through to the
underlying file"; Bovet & Cesati, Understanding the Linux Kernel, ch. 15
"The Page Cache" and ch. 16 "Memory Mapping"). The bytes seen through
mappings are checked by the RISC-V program tests/riscv/progs/mmapfile.c;
here the frames behind the pages."""

import pytest

import pykernel as pk

S = pk.op
PAGE = 4096
LONG = 10**9


def kernel():
    return pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=1 << 12))


def sleeper(k, ops=(), uid=0):
    return k.spawn(pk.Program.script("s", [*ops, S.sleep(LONG)]), uid=uid, gid=uid)


def test_file_pages_are_frames_of_the_kernel():
    k = kernel()
    free0 = k.memory_stats.free
    k.fs.write("/tmp/f", b"x" * (3 * PAGE))          # three pages of data
    assert free0 - k.memory_stats.free == 3
    k.fs.write("/tmp/f", b"x", append=True)          # a fourth page
    assert free0 - k.memory_stats.free == 4


def test_a_hole_holds_no_frame():
    k = kernel()
    free0 = k.memory_stats.free
    k.fs.write("/tmp/f", b"")
    k.fs.truncate("/tmp/f", 10 * PAGE)               # truncate(2): the new bytes read as zeros
    assert k.memory_stats.free == free0
    assert k.fs.read("/tmp/f", 4, 5 * PAGE) == b"\0\0\0\0"


def test_removing_or_truncating_a_file_frees_its_frames():
    k = kernel()
    free0 = k.memory_stats.free
    k.fs.write("/tmp/f", b"x" * (4 * PAGE))
    k.fs.truncate("/tmp/f", PAGE)
    assert free0 - k.memory_stats.free == 1
    k.fs.remove("/tmp/f")
    assert k.memory_stats.free == free0
    assert k.audit().problems() == []


def test_shared_mappings_use_the_file_frames():
    k = kernel()
    k.fs.write("/tmp/f", b"y" * (2 * PAGE))
    free0 = k.memory_stats.free
    a = sleeper(k, [S.touch(0x10000, write=True), S.touch(0x11000)])
    b = sleeper(k, [S.touch(0x70000), S.touch(0x71000, write=True)])
    a.aspace.map(0x10000, 2 * PAGE, file="/tmp/f", shared=True)
    b.aspace.map(0x70000, 2 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    assert a.aspace.translate(0x10000) == b.aspace.translate(0x70000)
    assert a.aspace.translate(0x11000) == b.aspace.translate(0x71000)
    # no data frame was made for the mappings: only page tables
    assert free0 - k.memory_stats.free == k.memory_stats.page_table_pages
    assert a.aspace.stats.cow_breaks == b.aspace.stats.cow_breaks == 0
    assert k.audit().problems() == []


def test_private_mapping_copies_a_page_on_its_first_write():
    k = kernel()
    k.fs.write("/tmp/f", b"z" * (2 * PAGE))
    s = sleeper(k, [S.touch(0x10000), S.touch(0x11000)])
    p = sleeper(k, [S.touch(0x20000), S.touch(0x21000, write=True)])
    s.aspace.map(0x10000, 2 * PAGE, file="/tmp/f", shared=True)
    p.aspace.map(0x20000, 2 * PAGE, file="/tmp/f", shared=False)
    k.run(until=LONG // 2)
    assert p.aspace.translate(0x20000) == s.aspace.translate(0x10000)   # read: the file's page
    assert p.aspace.translate(0x21000) != s.aspace.translate(0x11000)   # written: its own copy
    assert p.aspace.stats.cow_breaks == 1
    assert k.audit().problems() == []


def test_mapping_an_offset_starts_at_that_page():
    k = kernel()
    k.fs.write("/tmp/f", b"o" * (3 * PAGE))
    a = sleeper(k, [S.touch(0x10000)])
    b = sleeper(k, [S.touch(0x40000 + 2 * PAGE)])
    a.aspace.map(0x10000, PAGE, file="/tmp/f", shared=True, offset=2 * PAGE)
    b.aspace.map(0x40000, 3 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    assert a.aspace.translate(0x10000) == b.aspace.translate(0x40000 + 2 * PAGE)


def test_touching_a_hole_through_a_mapping_gives_the_file_a_page():
    k = kernel()
    k.fs.write("/tmp/f", b"")
    k.fs.truncate("/tmp/f", 4 * PAGE)
    p = sleeper(k, [S.touch(0x10000 + PAGE, write=True)])
    p.aspace.map(0x10000, 4 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    assert k.fs.usage.pages == 1
    assert k.fs.stat("/tmp/f").blocks == PAGE // 512
    assert k.audit().problems() == []


def test_touching_past_the_end_of_the_file_is_fatal():
    # mmap(2): "Use of a mapped region can result in ... SIGBUS: Attempted
    # access to a page of the buffer that lies beyond the end of the mapped file"
    k = kernel()
    k.fs.write("/tmp/f", b"e" * 100)
    p = sleeper(k, [S.touch(0x10000), S.touch(0x11000)])
    p.aspace.map(0x10000, 2 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    assert p.state == "killed"
    f = p.aspace.fault
    assert (f.kind, f.address) == ("past the end of the mapped file", 0x11000)


def test_the_mapping_outlives_the_name_for_the_pages_it_holds():
    k = kernel()
    k.fs.write("/tmp/f", b"n" * PAGE)
    p = sleeper(k, [S.touch(0x10000)])
    p.aspace.map(0x10000, PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    frame = p.aspace.translate(0x10000)
    k.fs.remove("/tmp/f")                            # the file goes; the mapping keeps its frame
    assert p.aspace.translate(0x10000) == frame
    assert k.audit().problems() == []


def test_map_needs_a_regular_file_the_process_may_read():
    k = kernel()
    k.fs.write("/tmp/secret", b"s", mode=0o600)
    k.fs.write("/tmp/ro", b"r", mode=0o644)
    p = sleeper(k, uid=1000)
    with pytest.raises(pk.NotFound):
        p.aspace.map(0x10000, PAGE, file="/tmp/missing")
    with pytest.raises(pk.NoDevice):                 # mmap(2): ENODEV
        p.aspace.map(0x10000, PAGE, file="/tmp")
    with pytest.raises(pk.AccessDenied):             # open(2) for reading: EACCES
        p.aspace.map(0x10000, PAGE, file="/tmp/secret")
    with pytest.raises(pk.AccessDenied):             # MAP_SHARED + PROT_WRITE needs O_RDWR
        p.aspace.map(0x10000, PAGE, prot="rw", file="/tmp/ro", shared=True)
    p.aspace.map(0x10000, PAGE, prot="rw", file="/tmp/ro", shared=False)
    p.aspace.map(0x20000, PAGE, prot="r", file="/tmp/ro", shared=True)


def test_map_file_arguments_are_checked():
    k = kernel()
    k.fs.write("/tmp/f", b"a")
    p = sleeper(k)
    with pytest.raises(ValueError):
        p.aspace.map(0x10000, PAGE, file="/tmp/f", offset=100)
    with pytest.raises(TypeError):
        p.aspace.map(0x10000, PAGE, file="/tmp/f", shared=k.shared_memory(PAGE))
    with pytest.raises(ValueError):
        p.aspace.map(0x10000, PAGE, file="/tmp/f", populate=True)
    with pytest.raises(ValueError):
        p.aspace.map(0x10000, PAGE, offset=PAGE)


def test_a_snapshot_keeps_files_in_their_page_cache():
    k = kernel()
    k.fs.write("/tmp/f", b"snap" * PAGE)
    p = sleeper(k, [S.touch(0x10000, write=True)])
    p.aspace.map(0x10000, 4 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 2)
    r = pk.Kernel.restore(k.snapshot())
    assert r.fs.read("/tmp/f") == b"snap" * PAGE
    assert r.memory_stats == k.memory_stats
    assert r.audit().problems() == []
    q = r.processes[p.pid]
    assert q.aspace.translate(0x10000) == p.aspace.translate(0x10000)
    r.fs.write("/tmp/f", b"more")                    # the restored file writes into its frames
    assert r.fs.read("/tmp/f", 4) == b"more"
    r.fs.remove("/tmp/f")
    assert r.audit().problems() == []


def test_a_shared_mapping_of_a_file_it_may_not_write_cannot_become_writable():
    # mprotect(2), EACCES: "the memory cannot be given the specified
    # access ... if you mmap(2) a file to which you have read-only access,
    # then ask mprotect() to mark it PROT_WRITE"; a private mapping may
    # (its writes are copies); the rule survives a snapshot
    k = kernel()
    k.fs.write("/tmp/ro", b"r", mode=0o644)
    p = sleeper(k, uid=1000)
    p.aspace.map(0x10000, 2 * PAGE, prot="r", file="/tmp/ro", shared=True)
    p.aspace.map(0x20000, PAGE, prot="r", file="/tmp/ro", shared=False)
    with pytest.raises(pk.AccessDenied):
        p.aspace.protect(0x10000, PAGE, "rw")
    p.aspace.protect(0x20000, PAGE, "rw")
    p.aspace.protect(0x10000, PAGE, "rx")
    r = pk.Kernel.restore(k.snapshot())
    assert r.audit().problems() == []
    with pytest.raises(pk.AccessDenied):
        r.processes[p.pid].aspace.protect(0x11000, PAGE, "rw")


def test_truncating_a_mapped_file_unmaps_the_pages_past_its_new_end():
    # truncate(2) / mm/truncate.c truncate_pagecache: the pages past the
    # new end leave every mapping; a touch of one is then past the end of
    # the file (SIGBUS on Linux)
    k = kernel()
    k.fs.write("/tmp/f", b"x" * (2 * PAGE))
    p = sleeper(k, [S.touch(0x10000), S.touch(0x11000), S.sleep(LONG // 4), S.touch(0x11000)])
    p.aspace.map(0x10000, 2 * PAGE, file="/tmp/f", shared=True)
    k.run(until=LONG // 8)
    assert p.aspace.translate(0x11000) is not None
    k.fs.truncate("/tmp/f", 100)
    assert p.aspace.translate(0x11000) is None
    assert p.aspace.translate(0x10000) is not None
    k.run()
    assert p.state == "killed"
    assert p.aspace.fault.kind == "past the end of the mapped file"
