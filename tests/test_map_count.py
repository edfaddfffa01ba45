"""Regions of an address space and their limit, Memory.max_map_count.

Linux bounds the memory map areas of a process by ``vm.max_map_count``,
default 65,530 (Documentation/admin-guide/sysctl/vm.rst, "max_map_count";
DEFAULT_MAX_MAP_COUNT in include/linux/mm.h); mmap, munmap and mprotect
fail with ENOMEM when they would need more (mm/mmap.c: do_mmap, and the
split of an area in __split_vma / do_vmi_align_munmap). pykernel counts
regions the same way but does not merge neighbours: every map is one
region, and cutting one in the middle makes two. A refused operation
changes nothing; from Python it raises NoMemory naming the limit.

Regions are kept in an AVL tree with a sorted list (csrc/vm/pk_aspace.c);
k.check_memory() verifies the tree (heights, balance, order) against the
list, and the property
tests compare every change with a Python model of the region list.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk

op = pk.op
BASE = 0x4000_0000
PAGE = 4096
LONG = 10**9


def kernel(max_map_count=65530, frames=1 << 12):
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=frames, max_map_count=max_map_count),
                     mmu=pk.MMU(format="x86_64"))


def idle(k, ops=()):
    return k.spawn(pk.Program.script("idle", [*ops, op.sleep(LONG)]))


def spans(p):
    return [(r.start, r.end, r.prot) for r in p.aspace.regions]


def pages(n, at=0):
    """n single-page regions with a page of gap between them."""
    return [BASE + (at + 2 * i) * PAGE for i in range(n)]


# ---- the Python model of the region list --------------------------------

def cut(regions, a, b):
    out = []
    for s, e, p in regions:
        if e <= a or s >= b:
            out.append((s, e, p))
            continue
        if s < a:
            out.append((s, a, p))
        if e > b:
            out.append((b, e, p))
    return out


def model_map(regions, a, b, prot):
    return sorted(cut(regions, a, b) + [(a, b, prot)])


def model_protect(regions, a, b, prot):
    out = []
    for s, e, p in regions:
        if e <= a or s >= b:
            out.append((s, e, p))
            continue
        if s < a:
            out.append((s, a, p))
        out.append((max(s, a), min(e, b), prot))
        if e > b:
            out.append((b, e, p))
    return out


def apply(p, model, kind, a, b, prot, limit):
    """Apply one operation to p and to the model; whether it was refused."""
    new = {"map": lambda: model_map(model, a, b, prot),
           "unmap": lambda: cut(model, a, b),
           "protect": lambda: model_protect(model, a, b, prot)}[kind]()
    refused = limit is not None and len(new) > len(model) and len(new) > limit
    call = {"map": lambda: p.aspace.map(a, b - a, prot),
            "unmap": lambda: p.aspace.unmap(a, b - a),
            "protect": lambda: p.aspace.protect(a, b - a, prot)}[kind]
    if refused:
        with pytest.raises(pk.NoMemory) as e:
            call()
        assert e.value.limit == "max_map_count"
        return model, True
    call()
    return new, False


# ---- the limit -------------------------------------------------------------

def test_the_default_is_linuxs_65530():
    assert pk.Memory().max_map_count == 65530


@pytest.mark.parametrize("bad, exc", [(0, ValueError), (-1, ValueError), (2**32 - 1, ValueError),
                                      (True, TypeError), (1.5, TypeError)])
def test_max_map_count_must_be_a_positive_int_or_none(bad, exc):
    with pytest.raises(exc):
        pk.Memory(max_map_count=bad)


def test_65530_regions_map_and_the_next_is_refused_by_default():
    k = kernel()
    p = idle(k)
    for a in pages(65530):
        p.aspace.map(a, PAGE, "r")
    with pytest.raises(pk.NoMemory) as e:
        p.aspace.map(BASE - 2 * PAGE, PAGE)
    assert e.value.limit == "max_map_count"
    assert "max_map_count=65530" in str(e.value)
    assert len(p.aspace.regions) == 65530
    k.check_memory()


def test_without_a_limit_more_than_65530_regions_map():
    k = kernel(max_map_count=None)
    p = idle(k)
    for a in pages(65531):
        p.aspace.map(a, PAGE, "r")
    assert len(p.aspace.regions) == 65531


def test_a_map_past_the_limit_changes_nothing():
    k = kernel(max_map_count=4)
    p = idle(k)
    for a in pages(4):
        p.aspace.map(a, PAGE, populate=True)
    before = (spans(p), p.aspace.stats.rss, k.memory_stats.free)
    with pytest.raises(pk.NoMemory):
        p.aspace.map(pages(5)[4], PAGE, populate=True)
    assert (spans(p), p.aspace.stats.rss, k.memory_stats.free) == before


def test_at_the_limit_a_map_replacing_regions_is_allowed():
    k = kernel(max_map_count=4)
    p = idle(k)
    a = pages(4)
    for x in a:
        p.aspace.map(x, PAGE)
    p.aspace.map(a[1], PAGE, "r")                      # the same range: 4 regions still
    p.aspace.map(a[2], a[3] + PAGE - a[2], "rx")       # two replaced by one: 3
    assert spans(p) == [(a[0], a[0] + PAGE, "rw"), (a[1], a[1] + PAGE, "r"),
                        (a[2], a[3] + PAGE, "rx")]


def test_at_the_limit_an_unmap_that_splits_a_region_is_refused_and_keeps_its_pages():
    k = kernel(max_map_count=2)
    p = idle(k)
    p.aspace.map(BASE, 3 * PAGE, populate=True)
    p.aspace.map(BASE + 8 * PAGE, PAGE)
    with pytest.raises(pk.NoMemory) as e:
        p.aspace.unmap(BASE + PAGE, PAGE)               # 3 regions it would be
    assert e.value.limit == "max_map_count"
    assert spans(p) == [(BASE, BASE + 3 * PAGE, "rw"), (BASE + 8 * PAGE, BASE + 9 * PAGE, "rw")]
    assert p.aspace.stats.rss == 3
    p.aspace.unmap(BASE + 2 * PAGE, PAGE)               # trims the end: still 2
    assert p.aspace.stats.rss == 2


def test_at_the_limit_a_protect_that_splits_a_region_is_refused():
    k = kernel(max_map_count=2)
    p = idle(k)
    p.aspace.map(BASE, 4 * PAGE)
    with pytest.raises(pk.NoMemory):
        p.aspace.protect(BASE + PAGE, PAGE, "r")        # 3 regions it would be
    assert spans(p) == [(BASE, BASE + 4 * PAGE, "rw")]
    p.aspace.protect(BASE, PAGE, "r")                  # 2: allowed
    assert spans(p) == [(BASE, BASE + PAGE, "r"), (BASE + PAGE, BASE + 4 * PAGE, "rw")]


def test_other_errors_are_not_blamed_on_the_limit():
    k = kernel(max_map_count=1, frames=4)
    p = idle(k)
    with pytest.raises(pk.NoMemory) as e:
        p.aspace.map(BASE, 64 * PAGE, populate=True)    # 4 frames: no frame left
    assert e.value.limit != "max_map_count"


def test_a_script_map_past_the_limit_kills_it_out_of_memory():
    k = kernel(max_map_count=2)
    p = k.spawn(pk.Program.script("p", [op.map(a, PAGE) for a in pages(3)]))
    k.run()
    assert (p.state, p.kill_reason) == ("killed", "out of memory")


def test_fork_copies_the_regions_and_each_side_changes_its_own():
    k = kernel()
    parent = k.spawn(pk.Program.script("parent", [
        *[op.map(a, PAGE) for a in pages(40)], op.fork(), op.unmap(pages(40)[7], PAGE),
        op.sleep(LONG)]))
    k.run(until=1000)
    child = k.processes[1]
    want = [(a, a + PAGE, "rw") for a in pages(40)]
    assert spans(child) == spans(parent) == want[:7] + want[8:]
    child.aspace.map(pages(41)[40], PAGE)
    assert spans(child) == want[:7] + want[8:] + [(pages(41)[40], pages(41)[40] + PAGE, "rw")]
    assert spans(parent) == want[:7] + want[8:]
    k.check_memory()


def test_a_restored_kernel_keeps_the_regions_and_the_limit():
    k = kernel(max_map_count=10)
    p = idle(k)
    for a in pages(10):
        p.aspace.map(a, PAGE)
    p.aspace.unmap(pages(10)[3], PAGE)
    r = pk.Kernel.restore(k.snapshot())
    q = r.processes[0]
    assert spans(q) == spans(p)
    assert r.memory.max_map_count == 10
    q.aspace.map(pages(12)[11], PAGE)
    with pytest.raises(pk.NoMemory):
        q.aspace.map(pages(13)[12], PAGE)
    r.check_memory()


# ---- the structure against the model ---------------------------------------

WINDOW = 48                                            # pages

op_strategy = st.tuples(st.sampled_from(["map", "unmap", "protect"]),
                        st.integers(0, WINDOW - 1), st.integers(1, 12),
                        st.sampled_from(["r", "rw", "rx"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(op_strategy, max_size=60), st.sampled_from([None, 3, 8]),
       st.lists(st.integers(0, WINDOW + 11), min_size=1, max_size=8))
def test_regions_follow_the_model_and_lookups_find_them(ops, limit, probes):
    k = kernel(max_map_count=limit)
    model = []
    # first the changes, on a process that has not run yet, then its touches
    touches = [BASE + i * PAGE for i in probes]
    p = k.spawn(pk.Program.script("p", [op.touch(a) for a in touches]))
    for kind, first, n, prot in ops:
        a, b = BASE + first * PAGE, BASE + (first + n) * PAGE
        model, _ = apply(p, model, kind, a, b, prot, limit)
        assert spans(p) == model
    k.check_memory()
    # each touch finds the region by lookup: mapped pages come in, the
    # first unmapped one kills the process with a fault at its address
    inside = [any(s <= a < e for s, e, _ in model) for a in touches]
    k.run()
    if all(inside):
        assert p.state == "exited"
    else:
        miss = touches[inside.index(False)]
        assert (p.state, p.aspace.fault.kind, p.aspace.fault.address) == ("killed", "unmapped", miss)
    assert k.audit().problems() == []


def test_many_random_changes_keep_the_tree_and_the_list_equal_to_the_model():
    rng = random.Random(20240611)
    k = kernel(max_map_count=300, frames=1 << 16)
    p = idle(k)
    model, refused = [], 0
    for _ in range(6000):
        kind = rng.choice(["map", "map", "unmap", "protect"])
        first, n = rng.randrange(4096), rng.choice([1, 1, 2, 3, 8, 40])
        a, b = BASE + first * PAGE, BASE + (first + n) * PAGE
        model, was = apply(p, model, kind, a, b, rng.choice(["r", "rw", "rx"]), 300)
        refused += was
    assert spans(p) == model
    assert refused > 0                                  # the limit was reached on the way
    k.check_memory()
    for s, e, prot in list(model[::25]):                 # whole regions: found, none split
        model, was = apply(p, model, "protect", s, e, "r" if prot != "r" else "rw", 300)
        assert not was
    assert spans(p) == model
