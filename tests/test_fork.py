"""Virtual memory, layer 4: fork with copy-on-write, exec, brk, the stack
region and shared mappings (docs/memory.md, "fork, exec, brk").

Copy-on-write as in Silberschatz, Operating System Concepts, 10th ed.,
10.3 ("Copy-on-Write"): after fork both processes share the parent's
pages, marked copy-on-write; a page is copied only when one of them
writes it. OSTEP ch. 5 for fork / exec."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pykernel as pk

S = pk.op
PAGE = 4096
BASE = 0x4000_0000
LONG = 10**9


def kernel(scheduler=None, **kw):
    return pk.Kernel(scheduler=scheduler or pk.sched.FIFO(), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=1 << 14, **kw))


def forked(child_ops, parent_ops=(), pages=4):
    """A parent that writes `pages` pages, forks a child running
    child_ops, then runs parent_ops; both stay alive."""
    k = kernel()
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, pages * PAGE), S.touch_range(BASE, pages * PAGE, write_ratio=1.0),
        S.fork([*child_ops, S.sleep(LONG)]), *parent_ops, S.sleep(LONG)]))
    k.run(until=LONG // 2)
    return k, p, pk.Process(k, p.pid + 1)


def frames(proc, pages=4):
    return [proc.aspace.translate(BASE + i * PAGE) for i in range(pages)]


def test_after_fork_frames_are_shared_and_read_only():
    # the leaf table itself is shared (Zhao et al., "On-demand-fork",
    # EuroSys 2021): one table frame named by both, its leaves read-only
    # while it is shared
    k, p, c = forked([])
    assert frames(p) == frames(c)
    assert p.aspace.walk(BASE)[-2].frame == c.aspace.walk(BASE)[-2].frame
    assert p.aspace.walk(BASE)[0].frame != c.aspace.walk(BASE)[0].frame      # own roots
    for proc in (p, c):
        assert proc.aspace.walk(BASE)[-1].bits["writable"] == 0
    assert k.memory_stats.shared_frames == 1                                  # the leaf table
    assert c.aspace.stats.rss == 4 and c.aspace.stats.page_faults == 0


def test_the_first_write_copies_the_leaf_table_and_marks_its_pages_copy_on_write():
    k, p, c = forked([S.touch(BASE, write=True)])
    assert p.aspace.walk(BASE)[-2].frame != c.aspace.walk(BASE)[-2].frame
    leaf = p.aspace.walk(BASE + PAGE)[-1]
    assert (leaf.bits["writable"], leaf.value >> 9 & 1) == (0, 1)           # COW: bit 9
    assert k.memory_stats.shared_frames == 3                                  # pages 1 to 3
    assert c.aspace.stats.cow_breaks == 1


def test_child_writes_are_invisible_to_the_parent():
    k, p, c = forked([S.touch(BASE, write=True), S.touch(BASE + 2 * PAGE, write=True)])
    before = frames(p)
    assert frames(p) == before
    mine, theirs = frames(c), frames(p)
    assert mine[0] != theirs[0] and mine[2] != theirs[2]         # copied
    assert mine[1] == theirs[1] and mine[3] == theirs[3]         # still shared
    assert c.aspace.stats.cow_breaks == 2
    assert p.aspace.stats.cow_breaks == 0
    assert k.memory_stats.shared_frames == 2


def test_reads_do_not_break_sharing():
    k, p, c = forked([S.touch_range(BASE, 4 * PAGE)])
    assert frames(p) == frames(c)
    assert c.aspace.stats.cow_breaks == 0


def test_last_sharer_writes_without_a_copy():
    # the child writes page 0 (a copy); the parent is then its only mapper:
    # its write just gets the write bit back
    k = kernel()
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, PAGE), S.touch(BASE, write=True),
        S.fork([S.touch(BASE, write=True)]), S.sleep(1000), S.touch(BASE, write=True),
        S.sleep(LONG)]))
    k.run(until=LONG // 2)
    assert p.aspace.stats.cow_breaks == 0
    assert p.aspace.walk(BASE)[-1].bits["writable"] == 1


def test_parent_write_breaks_sharing_too():
    k, p, c = forked([], [S.touch(BASE + PAGE, write=True)])
    assert p.aspace.stats.cow_breaks == 1
    assert frames(p)[1] != frames(c)[1]


def test_shared_mapping_is_not_copied():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, PAGE, shared=True), S.touch(BASE, write=True),
        S.fork([S.touch(BASE, write=True), S.sleep(LONG)]), S.sleep(LONG)]))
    k.run(until=LONG // 2)
    c = pk.Process(k, p.pid + 1)
    assert p.aspace.translate(BASE) == c.aspace.translate(BASE)
    assert c.aspace.stats.cow_breaks == 0
    assert c.aspace.walk(BASE)[-1].bits["writable"] == 1


def test_fork_without_a_block_runs_the_rest_in_both():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.fork(), S.compute(10)]))
    k.run()
    c = pk.Process(k, p.pid + 1)
    assert (p.stats.cpu_time, c.stats.cpu_time) == (10, 10)
    assert p.aspace.stats.forks == 1 and c.state == "exited"


def test_child_inherits_loop_registers():
    # fork inside a loop of 3: each child runs the rest of the body once
    # and exits; the parent finishes the loop
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.loop(3, [S.fork([S.compute(7)]), S.compute(1)])]))
    k.run()
    kids = [pk.Process(k, p.pid + i) for i in (1, 2, 3)]
    assert [c.stats.cpu_time for c in kids] == [7, 7, 7]
    assert p.stats.cpu_time == 3


def test_no_frame_leaks_after_thousands_of_fork_exit_cycles():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=100), costs=pk.Costs.zero(),
                  memory=pk.Memory(frames=1 << 14, swap=1 << 10, replacement="clock",
                                   swap_latency=10))
    free0 = k.memory_stats.free
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, 8 * PAGE), S.touch_range(BASE, 8 * PAGE, write_ratio=1.0),
        S.loop(3000, [S.fork([S.touch_range(BASE, 4 * PAGE, write_ratio=1.0), S.compute(50)]),
                      S.touch(BASE + 7 * PAGE, write=True), S.sleep(150)])]), rss_limit=6)
    k.run()
    ms = k.memory_stats
    assert k.stats.processes == 3001
    assert (ms.free, ms.page_table_pages, ms.swap_used, ms.address_spaces) == (free0, 0, 0, 0)
    assert p.aspace.stats.forks == 3000


def test_exec_replaces_the_image():
    k = kernel()
    new = pk.Program.script("new", [S.map(BASE + PAGE, PAGE), S.touch(BASE + PAGE, write=True),
                                    S.compute(5), S.sleep(LONG)])
    p = k.spawn(pk.Program.script("old", [S.map(BASE, 4 * PAGE),
                                          S.touch_range(BASE, 4 * PAGE, write_ratio=1.0),
                                          S.exec(new), S.compute(999)]))
    k.run(until=LONG // 2)
    assert p.aspace.regions == [pk.Region(BASE + PAGE, BASE + 2 * PAGE, "rw")]
    assert p.aspace.translate(BASE) is None
    assert p.aspace.stats.rss == 1
    assert p.stats.cpu_time == 5                      # compute(999) never ran


def test_exec_frees_what_the_old_image_held():
    k = kernel()
    free0 = k.memory_stats.free
    p = k.spawn(pk.Program.script("old", [S.map(BASE, 4 * PAGE), S.touch_range(BASE, 4 * PAGE),
                                          S.exec(pk.Program.script("new", [S.sleep(LONG)]))]))
    k.run(until=LONG // 2)
    assert k.memory_stats.free == free0 and p.aspace.stats.rss == 0


def test_brk_grows_and_shrinks_the_heap():
    k = kernel()
    heap = S.HEAP_BASE
    p = k.spawn(pk.Program.script("p", [S.brk(heap + 4 * PAGE), S.touch_range(heap, 4 * PAGE),
                                        S.brk(heap + 8 * PAGE), S.touch(heap + 6 * PAGE),
                                        S.brk(heap + 2 * PAGE), S.sleep(LONG)]))
    k.run(until=LONG // 2)
    assert p.aspace.stats.brk == heap + 2 * PAGE
    assert p.aspace.regions == [pk.Region(heap, heap + 2 * PAGE, "rw")]
    assert p.aspace.stats.rss == 2


def test_brk_over_a_mapping_keeps_the_break():
    k = kernel()
    heap = S.HEAP_BASE
    p = k.spawn(pk.Program.script("p", [S.map(heap + 2 * PAGE, PAGE), S.brk(heap + 4 * PAGE),
                                        S.sleep(LONG)]))
    k.run(until=LONG // 2)
    assert p.aspace.stats.brk == heap
    assert p.kill_reason is None


def test_touch_beyond_the_break_is_a_segmentation_fault():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.brk(S.HEAP_BASE + PAGE), S.touch(S.HEAP_BASE + PAGE)]))
    k.run()
    assert p.kill_reason == "segmentation fault"


def test_stack_region_is_demand_zero_below_the_top():
    k = kernel()
    top = 1 << 47
    p = k.spawn(pk.Program.script("p", [S.touch(top - 8, write=True),
                                        S.touch(top - (8 << 20)), S.sleep(LONG)]))
    k.run(until=LONG // 2)
    assert p.aspace.stack == pk.Region(top - (8 << 20), top, "rw")
    assert p.aspace.stats.rss == 2
    q = k.spawn(pk.Program.script("q", [S.touch(top - (8 << 20) - 1)]))
    k.run(until=k.now + 10)
    assert q.kill_reason == "segmentation fault"


def test_no_stack_when_memory_says_none():
    k = kernel(stack=0)
    p = k.spawn(pk.Program.script("p", [S.touch((1 << 47) - 8)]))
    k.run()
    assert p.kill_reason == "segmentation fault" and p.aspace.stack is None


def test_fork_shares_a_swapped_page_until_the_table_is_copied():
    # the slot is named by the shared leaf table; the child's first write
    # copies the table, and the swapped page into a new slot
    k = kernel(swap=16, replacement="fifo")
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, 3 * PAGE), S.touch_range(BASE, 3 * PAGE, write_ratio=1.0),   # one swapped
        S.fork([S.sleep(LONG // 4), S.touch(BASE + 2 * PAGE, write=True), S.sleep(LONG)]),
        S.sleep(LONG)]), rss_limit=2)
    k.run(until=LONG // 8)
    c = pk.Process(k, p.pid + 1)
    assert (p.aspace.stats.swapped, c.aspace.stats.swapped) == (1, 1)
    assert k.memory_stats.swap_used == 1
    k.run(until=LONG // 2)
    assert (p.aspace.stats.swapped, c.aspace.stats.swapped) == (1, 1)
    assert k.memory_stats.swap_used == 2
    assert k.audit().problems() == []


# ---- isolation ---------------------------------------------------------------------------

@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["fork", "write", "read"]), st.integers(0, 5)),
                min_size=1, max_size=14))
def test_no_address_reaches_another_process_frame_writably(steps):
    # Whatever the forks and writes, a frame mapped by two processes is
    # read-only (copy-on-write) in both, and a write never shows through
    # another process's page table.
    body = [S.map(BASE, 6 * PAGE)]
    for kind, page in steps:
        if kind == "fork":
            body.append(S.fork())
        else:
            body.append(S.touch(BASE + page * PAGE, write=kind == "write"))
    body.append(S.sleep(LONG))
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=1), costs=pk.Costs.zero(),
                  memory=pk.Memory(frames=1 << 12))
    k.spawn(pk.Program.script("p", body))
    k.run(until=LONG // 2)
    owners: dict[int, list] = {}
    for pid in range(k.stats.processes):
        proc = pk.Process(k, pid)
        for i in range(6):
            walk = proc.aspace.walk(BASE + i * PAGE)
            if len(walk) == 4 and walk[-1].bits["present"]:
                owners.setdefault(walk[-1].frame, []).append(walk[-1].bits["writable"])
    for writable in owners.values():
        assert len(writable) == 1 or not any(writable)


# ---- bad input -------------------------------------------------------------------------

def test_a_break_below_the_heap_is_refused_by_the_core_when_the_script_is_made():
    # the heap starts at PK_HEAP_BASE = 0x1000_0000 (csrc/core/pk_api.h), like the
    # start_brk Linux sets above the program's data (fs/binfmt_elf.c)
    with pytest.raises(pk.OutOfRange) as e:
        pk.Program.script("b", [S.brk(0x1000)])
    assert str(e.value) == ("Program.script('b', 1 instructions): instruction 0 (brk): brk address "
                            "must be between 268435456 and 72057594037923840, got 4096")
    assert e.value.instruction == 0


def test_bad_fork_exec_brk_arguments():
    with pytest.raises(TypeError):
        S.fork(S.compute(1))
    with pytest.raises(TypeError):
        S.fork([1])
    with pytest.raises(TypeError):
        S.exec(pk.Program.python("py", lambda ctx: (yield ctx.compute(1))))
    with pytest.raises(TypeError):
        S.exec("prog")
    with pytest.raises(TypeError):
        S.map(BASE, PAGE, shared=1)
    with pytest.raises(ValueError):
        pk.Memory(stack=100)


def test_exec_cycle_is_refused():
    a = pk.Program.script("a", [S.compute(1)])
    b = pk.Program.script("b", [S.exec(a)])
    k = kernel()
    k.spawn(b)                                    # a chain is fine
    k.run()
    loop = pk.Program.script("loop", [S.compute(1)])
    loop._links = ((0, loop),)                    # a program that execs itself
    with pytest.raises(ValueError):
        kernel().spawn(loop)


def test_core_refuses_bad_image_ops():
    from pykernel._ffi import ffi, lib
    k = kernel()
    ops = ffi.new("pk_op[]", [(lib.PK_OP_FORK, 5, 0), (lib.PK_OP_COMPUTE, 0, 1)])
    out = ffi.new("uint32_t *")
    assert lib.pk_prog_load_script(k._kp, ops, 2, out) == lib.PK_ERR_INVALID_ARGS
    ops = ffi.new("pk_op[]", [(lib.PK_OP_EXEC, 99, 0)])
    assert lib.pk_prog_load_script(k._kp, ops, 1, out) == lib.PK_ERR_INVALID_ARGS
    ops = ffi.new("pk_op[]", [(lib.PK_OP_BRK, 0, 0x1000)])
    assert lib.pk_prog_load_script(k._kp, ops, 1, out) == lib.PK_ERR_OUT_OF_RANGE
    ops = ffi.new("pk_op[]", [(lib.PK_OP_FORK, 2, 0), (lib.PK_OP_COMPUTE, 0, 1)])
    assert lib.pk_prog_load_script(k._kp, ops, 2, out) == lib.PK_ERR_INVALID_ARGS
