"""Virtual memory, layer 4: shared-memory objects that several processes
map (docs/memory.md, "Shared memory"), as POSIX shm_open + mmap(MAP_SHARED)
(OSTEP ch. 13 / Silberschatz 3.5: a region of memory shared by cooperating
processes)."""

import pytest

import pykernel as pk

S = pk.op
PAGE = 4096
LONG = 10**9


def kernel():
    return pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=1 << 12))


def test_two_processes_mapping_an_object_share_its_frames():
    k = kernel()
    shm = k.shared_memory(4 * PAGE)
    a = k.spawn(pk.Program.script("a", [S.map(0x10000, 4 * PAGE, shared=shm),
                                        S.touch(0x10000, write=True), S.sleep(LONG)]))
    b = k.spawn(pk.Program.script("b", [S.map(0x70000, 4 * PAGE, shared=shm),
                                        S.touch(0x70000), S.touch(0x71000, write=True),
                                        S.sleep(LONG)]))
    k.run(until=LONG // 2)
    assert a.aspace.translate(0x10000) == b.aspace.translate(0x70000)
    assert a.aspace.translate(0x11000) is None          # not touched by a yet
    assert (a.aspace.stats.rss, b.aspace.stats.rss) == (1, 2)
    assert k.memory_stats.shared_frames == 2    # page 0: object + a + b; page 1: object + b


def test_host_maps_an_object_before_the_run():
    k = kernel()
    shm = k.shared_memory(PAGE)
    ps = [k.spawn(pk.Program.script("w", [S.touch(0x20000, write=True), S.sleep(LONG)]))
          for _ in range(3)]
    for p in ps:
        p.aspace.map(0x20000, PAGE, shared=shm)
    k.run(until=LONG // 2)
    assert len({p.aspace.translate(0x20000) for p in ps}) == 1


def test_object_pages_survive_fork_shared():
    k = kernel()
    shm = k.shared_memory(PAGE)
    p = k.spawn(pk.Program.script("p", [S.map(0x10000, PAGE, shared=shm), S.touch(0x10000),
                                        S.fork([S.touch(0x10000, write=True), S.sleep(LONG)]),
                                        S.sleep(LONG)]))
    k.run(until=LONG // 2)
    c = pk.Process(k, p.pid + 1)
    assert p.aspace.translate(0x10000) == c.aspace.translate(0x10000)
    assert c.aspace.stats.cow_breaks == 0


def test_frames_return_when_the_object_and_its_mappings_are_gone():
    k = kernel()
    free0 = k.memory_stats.free
    shm = k.shared_memory(8 * PAGE)
    k.spawn_many(pk.Program.script("w", [S.map(0x10000, 8 * PAGE, shared=shm),
                                         S.touch_range(0x10000, 8 * PAGE, write_ratio=1.0)]), 4)
    k.run()
    assert k.memory_stats.free == free0 - 8              # the object still holds its pages
    shm.close()
    assert k.memory_stats.free == free0


def test_untouched_page_of_a_closed_object_kills_the_toucher():
    k = kernel()
    shm = k.shared_memory(2 * PAGE)
    p = k.spawn(pk.Program.script("p", [S.map(0x10000, 2 * PAGE, shared=shm), S.touch(0x10000),
                                        S.sleep(100), S.touch(0x10000), S.touch(0x11000)]))
    k.run(until=50)
    shm.close()
    k.run()
    assert p.kill_reason == "segmentation fault"
    assert p.aspace.fault == pk.Fault("unmapped", 0x11000)


def test_bad_shared_memory_arguments():
    k = kernel()
    with pytest.raises(ValueError):
        k.shared_memory(0)
    with pytest.raises(pk.BadState):
        pk.Kernel().shared_memory(PAGE)
    shm = k.shared_memory(PAGE)
    with pytest.raises(ValueError):
        S.map(0x10000, 2 * PAGE, shared=shm)
    with pytest.raises(TypeError):
        S.map(0x10000, PAGE, shared="yes")
    shm.close()
    with pytest.raises(pk.BadState):
        shm.close()
    p = k.spawn(pk.Program.script("p", [S.sleep(LONG)]))
    with pytest.raises(pk.KernelError):
        p.aspace.map(0x10000, PAGE, shared=shm)          # closed
    other = kernel().shared_memory(PAGE)
    with pytest.raises(ValueError):
        p.aspace.map(0x10000, PAGE, shared=other)


def test_script_mapping_a_bad_object_id_is_killed():
    from pykernel._ffi import ffi, lib
    k = kernel()
    ops = ffi.new("pk_op[]", [(lib.PK_OP_MAP, lib.PK_PROT_READ, 0x10000), (lib.PK_OP_ARG, 77, PAGE)])
    out = ffi.new("uint32_t *")
    assert lib.pk_prog_load_script(k._kp, ops, 2, out) == lib.PK_OK
    assert lib.pk_shm_close(k._kp, 0) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_vm_map_shm(k._kp, 999, 0x10000, PAGE, 1, 1) == lib.PK_ERR_INVALID_ARGS


def test_an_object_larger_than_memory_is_out_of_range():
    # found by fuzzing (fuzz/corpus/api/regression-shared-memory-2-76-bytes):
    # 2**76 bytes raised OverflowError from cffi; 4,097 pages of a
    # 4,096-frame machine is refused the same way
    k = kernel()
    for length in (2**76, 4097 * 4096):
        with pytest.raises(pk.OutOfRange, match="larger than the machine's memory"):
            k.shared_memory(length)


def test_mapping_a_closed_object_says_it_is_closed():
    k = kernel()
    shm = k.shared_memory(PAGE)
    shm.close()
    p = k.spawn(pk.Program.script("p", [S.sleep(LONG)]))
    with pytest.raises(pk.KernelError) as info:
        p.aspace.map(0x10000, PAGE, shared=shm)
    assert str(info.value) == f"map 0x10000: shared-memory object {shm.id} is closed"
