"""A populating map that cannot bring every page in changes nothing
(docs/memory.md, "Map, unmap, protect"): the region is not there, no page
it brought in stays resident, the frames and page tables it took are free
again, the fault counters are as before, and a job's charge is back.

Three limits can stop it: the machine's frames, ``Limits(max_memory)``
(host bytes of the core: frame table, page tables), and a job's
``max_memory``. Pages are 4 KiB and an x86-64 table maps 512 entries
(Intel SDM vol. 3A, 4.5 "4-level paging"), so 2 GiB is 524,288 pages.
"""

import pytest

import pykernel as pk

op = pk.op
BASE = 0x4000_0000
PAGE = 4096
TWO_GIB = 2 << 30
LONG = 10**9


def idle(k, **kw):
    return k.spawn(pk.Program.script("idle", [op.sleep(LONG)]), **kw)


def state(k, p):
    """What a failed populating map must leave as it found it."""
    st = p.aspace.stats
    ms = k.memory_stats
    return {"regions": p.aspace.regions, "rss": st.rss, "free": ms.free,
            "page_tables": ms.page_table_pages, "as_page_tables": st.page_table_pages,
            "faults": (st.page_faults, st.minor_faults), "fault_rate": k.fault_rate}


def kernel(**kw):
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                     mmu=pk.MMU(format="x86_64"), **kw)


def test_no_frame_left_leaves_no_region_no_page_and_no_frame_used():
    k = kernel(memory=pk.Memory(frames=4096))
    p = idle(k)
    before = state(k, p)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)
    assert state(k, p) == before
    assert k.audit().problems() == []
    k.check_memory()


def test_after_the_failure_the_process_runs_on_and_is_not_oom_killed():
    k = kernel(memory=pk.Memory(frames=4096))
    p = k.spawn(pk.Program.script("p", [op.sleep(1000), op.map(BASE + TWO_GIB, 64 * PAGE),
                                        op.touch_range(BASE + TWO_GIB, 64 * PAGE, write_ratio=1.0)]))
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)
    k.run()
    assert (p.state, p.exit_code, k.memory_stats.oom_kills) == ("exited", 0, 0)


def test_a_region_already_in_the_address_space_keeps_its_pages():
    k = kernel(memory=pk.Memory(frames=4096))
    p = idle(k)
    p.aspace.map(BASE - 16 * PAGE, 16 * PAGE, populate=True)
    before = state(k, p)
    assert before["rss"] == 16
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)
    assert state(k, p) == before
    assert k.audit().problems() == []


def test_the_host_memory_limit_leaves_nothing_behind_and_names_the_limit():
    probe = kernel(memory=pk.Memory(frames=1 << 20))
    idle(probe)
    limit = probe.stats.memory_bytes + (1 << 20)        # 1 MiB more than a kernel with one process
    k = kernel(memory=pk.Memory(frames=1 << 20), limits=pk.Limits(max_memory=limit))
    p = idle(k)
    before = state(k, p)
    with pytest.raises(pk.NoMemory) as e:
        p.aspace.map(BASE, TWO_GIB, populate=True)
    assert e.value.limit == "max_memory"
    assert state(k, p) == before
    assert k.audit().problems() == []


def test_a_job_memory_limit_leaves_the_charge_as_it_was():
    k = kernel(memory=pk.Memory(frames=1 << 20))
    j = k.job_create(max_memory=256 * PAGE)
    p = idle(k, job=j)
    p.aspace.map(BASE - 8 * PAGE, 8 * PAGE, populate=True)
    before, charge = state(k, p), j.memory
    assert charge == 8 * PAGE
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)
    assert (state(k, p), j.memory) == (before, charge)
    assert p.aspace.fault is None
    assert k.audit().problems() == []


def test_the_job_can_still_use_its_whole_limit_after_the_failure():
    k = kernel(memory=pk.Memory(frames=1 << 20))
    j = k.job_create(max_memory=256 * PAGE)
    p = idle(k, job=j)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)
    p.aspace.map(BASE, 256 * PAGE, populate=True)
    assert (p.aspace.stats.rss, j.memory) == (256, 256 * PAGE)


def test_a_script_whose_populating_map_fails_is_killed_out_of_memory():
    k = kernel(memory=pk.Memory(frames=4096))
    p = k.spawn(pk.Program.script("big", [op.map(BASE, TWO_GIB, populate=True)]))
    free = k.memory_stats.free
    k.run()
    assert (p.state, p.kill_reason) == ("killed", "out of memory")
    assert k.memory_stats.free == free
    assert k.audit().problems() == []


def test_the_trace_keeps_no_fault_of_the_failed_map():
    k = kernel(memory=pk.Memory(frames=64), trace=True)
    p = idle(k)
    p.aspace.map(BASE - PAGE, PAGE, populate=True)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, 1 << 20, populate=True)       # 256 pages, 64 frames
    assert [(e.what, e.arg) for e in k.trace if e.kind == "fault"] == [("minor", BASE - PAGE)]


def frames_of(p, start, pages):
    return [p.aspace.translate(start + i * PAGE) for i in range(pages)]


def test_a_failed_map_over_a_mapped_range_keeps_the_old_region_and_its_frames():
    k = kernel(memory=pk.Memory(frames=4096))
    p = idle(k)
    p.aspace.map(BASE, 64 * PAGE, "r", populate=True)
    before, old = state(k, p), frames_of(p, BASE, 64)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, TWO_GIB, populate=True)          # over the old region and beyond
    assert state(k, p) == before
    assert frames_of(p, BASE, 64) == old
    assert k.audit().problems() == []


def test_a_map_over_a_mapped_range_replaces_it_with_new_pages():
    k = kernel(memory=pk.Memory(frames=4096))
    p = idle(k)
    p.aspace.map(BASE, 8 * PAGE, "r", populate=True)
    free = k.memory_stats.free
    p.aspace.map(BASE + 4 * PAGE, 8 * PAGE, "rw", populate=True)
    assert spans_of(p) == [(BASE, BASE + 4 * PAGE, "r"), (BASE + 4 * PAGE, BASE + 12 * PAGE, "rw")]
    assert p.aspace.stats.rss == 12
    assert k.memory_stats.free == free - 4                   # 4 pages more, same table
    bits = [p.aspace.walk(BASE + i * PAGE)[-1].bits["writable"] for i in (3, 4, 11)]
    assert bits == [0, 1, 1]                                 # the new pages are the new prot's
    assert k.audit().problems() == []


def test_a_map_over_a_mapped_range_needs_frames_for_old_and_new_pages_at_once():
    # the old pages go only once every new one is in: 40 old + 40 new > 64 frames - tables
    k = kernel(memory=pk.Memory(frames=64))
    p = idle(k)
    p.aspace.map(BASE, 40 * PAGE, populate=True)
    old = frames_of(p, BASE, 40)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(BASE, 40 * PAGE, populate=True)
    assert frames_of(p, BASE, 40) == old


def spans_of(p):
    return [(r.start, r.end, r.prot) for r in p.aspace.regions]
