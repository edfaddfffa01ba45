"""Job memory limits (csrc/obj/pk_jobobj.c): the processes of a job's subtree
together hold at most ``max_memory`` bytes of resident user pages.

Pages are 4 KiB (Intel SDM vol. 3A 4.5: x86-64 4-level paging);
only user pages count, not page-table pages (docs/objects.md, "Jobs").
Going past the limit fails the way running out of frames does (docs/
memory.md): the faulting process is killed, here with the reason "job
memory limit", or a populating map from Python raises NoMemory; Zircon
reports a job policy violation as NO_MEMORY too (zx_job_set_policy)."""

import pytest

import pykernel as pk

op = pk.op
BASE = 0x4000_0000
PAGE = 4096
LONG = 10**9


def kernel():
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=1 << 12), mmu=pk.MMU(format="x86_64"))


def toucher(pages, then_sleep=True):
    ops = [op.map(BASE, 64 * PAGE, "rw"), op.touch_range(BASE, pages * PAGE, write_ratio=1.0)]
    return pk.Program.script(f"touch{pages}", ops + ([op.sleep(LONG)] if then_sleep else []))


def test_a_job_holds_up_to_max_memory_bytes_of_resident_pages():
    k = kernel()
    j = k.job_create(max_memory=8 * PAGE)
    p = k.spawn(toucher(8), job=j)
    k.run(until=LONG // 2)
    assert (p.state, p.aspace.stats.rss, j.memory, j.max_memory) == ("alive", 8, 8 * PAGE, 8 * PAGE)


def test_the_page_past_the_limit_kills_the_faulting_process_naming_the_job_limit():
    k = kernel()
    j = k.job_create(max_memory=8 * PAGE)
    p = k.spawn(toucher(9), job=j)
    k.run()
    assert (p.state, p.kill_reason) == ("killed", "job memory limit")
    assert p.aspace.fault.kind == "job memory limit" and p.aspace.fault.address == BASE + 8 * PAGE


def test_the_limit_counts_every_process_of_the_subtree():
    k = kernel()
    root = k.job_create(max_memory=10 * PAGE)
    child = k.job_create(parent=root)
    a = k.spawn(toucher(6), job=root)
    b = k.spawn(toucher(6), job=child, at=1)
    k.run(until=LONG // 2)
    assert (a.state, b.state, b.kill_reason) == ("alive", "killed", "job memory limit")
    assert root.memory == 6 * PAGE                  # b got 4 before its fifth; they went with it


def test_pages_freed_by_unmap_or_exit_make_room_again():
    k = kernel()
    j = k.job_create(max_memory=8 * PAGE)
    a = k.spawn(pk.Program.script("a", [op.map(BASE, 8 * PAGE, "rw"),
                                         op.touch_range(BASE, 8 * PAGE, write_ratio=1.0),
                                         op.unmap(BASE, 4 * PAGE), op.sleep(100)]), job=j)
    b = k.spawn(pk.Program.script("b", [op.sleep(10), op.map(BASE, 4 * PAGE, "rw"),
                                         op.touch_range(BASE, 4 * PAGE), op.sleep(200),
                                         op.map(BASE + 4 * PAGE, 4 * PAGE, "rw"),
                                         op.touch_range(BASE + 4 * PAGE, 4 * PAGE)]), job=j)
    k.run()
    assert (a.state, b.state) == ("exited", "exited")   # b's second 4 pages came after a ended
    assert j.memory == 0


def test_a_populating_map_from_python_raises_no_memory():
    k = kernel()
    j = k.job_create(max_memory=4 * PAGE)
    p = k.spawn(pk.Program.script("idle", [op.sleep(LONG)]), job=j)
    p.aspace.map(BASE, 4 * PAGE, populate=True)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE + 4 * PAGE, PAGE, populate=True)
    assert (p.aspace.stats.rss, p.aspace.fault, j.memory) == (4, None, 4 * PAGE)


def test_a_populating_map_in_a_script_past_the_limit_kills_with_the_job_reason():
    k = kernel()
    j = k.job_create(max_memory=4 * PAGE)
    p = k.spawn(pk.Program.script("big", [op.map(BASE, 5 * PAGE, populate=True)]), job=j)
    k.run()
    assert p.kill_reason == "job memory limit"


def test_processes_outside_the_job_are_not_limited():
    k = kernel()
    k.job_create(max_memory=PAGE)
    p = k.spawn(toucher(16))
    k.run(until=LONG // 2)
    assert (p.state, p.aspace.stats.rss) == ("alive", 16)


def test_max_memory_needs_a_kernel_with_memory():
    k = pk.Kernel(costs=pk.Costs.zero())
    with pytest.raises(pk.NotSupported, match="pk.Memory"):
        k.job_create(max_memory=1 << 20)


def test_max_memory_is_rounded_down_to_whole_pages():
    k = kernel()
    assert k.job_create(max_memory=3 * PAGE + 100).max_memory == 3 * PAGE
    assert k.job_create().max_memory is None


def test_max_memory_must_be_a_non_negative_int():
    k = kernel()
    with pytest.raises(TypeError):
        k.job_create(max_memory="1M")
    with pytest.raises(ValueError):
        k.job_create(max_memory=-1)


def test_the_memory_limit_entry_point_refuses_bad_arguments():
    from pykernel._ffi import lib
    k = kernel()
    j = k.job_create(max_memory=PAGE)
    assert lib.pk_jobobj_limit_memory(k._kp, 99, PAGE) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_jobobj_limit_memory(k._kp, j.id, PAGE) == lib.PK_ERR_BAD_STATE   # set already


def test_a_populating_map_past_the_limit_names_the_job_and_its_limit():
    k = kernel()
    j = k.job_create(max_memory=4 * PAGE)
    p = k.spawn(pk.Program.script("idle", [op.sleep(LONG)]), job=j)
    p.aspace.map(BASE, 4 * PAGE, populate=True)
    with pytest.raises(pk.NoMemory) as info:
        p.aspace.map(BASE + 4 * PAGE, PAGE, populate=True)
    assert str(info.value) == (f"map {BASE + 4 * PAGE:#x}: memory limit of job {j.id} reached "
                               f"(max_memory=16384 bytes)")
