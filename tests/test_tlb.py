"""Virtual memory, layer 2: per-CPU TLBs, ASIDs, flushes and shootdowns
(docs/memory.md). Without PCID/ASID, switching address spaces flushes the
whole TLB except global entries (Intel SDM vol. 3A 4.10.4;
docs/references.md [Intel-SDM-3A])."""

import pykernel as pk

S = pk.op
BASE = 0x4000_0000
PAGE = 4096


def kernel(asid=True, cpus=1, entries=64, ways=4, quantum=1_000, costs=None, **kw):
    return pk.Kernel(cpus=cpus, scheduler=pk.sched.RoundRobin(quantum=quantum),
                     costs=costs or pk.Costs.zero(), memory=pk.Memory(frames=1 << 16),
                     mmu=pk.MMU(tlb_entries=entries, tlb_ways=ways, asid=asid), **kw)


def worker(rounds, pages=8, extra=()):
    """Touch `pages` pages, then compute one quantum; `rounds` times."""
    return pk.Program.script("w", [S.map(BASE, pages * PAGE), *extra,
                                   S.loop(rounds, [S.touch_range(BASE, pages * PAGE),
                                                   S.compute(1_000)])])


def test_repeated_touches_of_one_page_hit_the_tlb():
    k = kernel()
    k.spawn(pk.Program.script("p", [S.map(BASE, PAGE), S.loop(10, [S.touch(BASE)])]))
    k.run()
    t = k.tlb_stats(0)
    assert (t.hits, t.misses) == (9, 1)


def test_lru_set_thrashes_on_one_more_page_than_ways():
    # one set of 4 ways, 5 pages touched in a cycle: LRU evicts each page
    # just before it is needed again, so every access misses
    k = kernel(entries=4, ways=4)
    k.spawn(pk.Program.script("p", [S.map(BASE, 5 * PAGE),
                                    S.loop(3, [S.touch_range(BASE, 5 * PAGE)])]))
    k.run()
    assert (k.tlb_stats(0).hits, k.tlb_stats(0).misses) == (0, 15)


def test_without_asids_every_address_space_switch_flushes_and_misses_rise():
    k = kernel(asid=False)
    k.spawn_many(worker(20), 2)
    k.run()
    t = k.tlb_stats(0)
    # 40 slices alternate between the two processes: 39 switches flush.
    # A process's first slice makes two rounds (the next round's touches
    # take no time and come before the slice ends): 8 misses, 8 hits;
    # each of its 18 later slices starts after a flush: 8 misses.
    assert t.flushes == 39
    assert (t.misses, t.hits) == (2 * (8 + 18 * 8), 2 * 8)


def test_with_asids_switches_keep_the_entries():
    k = kernel(asid=True)
    k.spawn_many(worker(20), 2)
    k.run()
    t = k.tlb_stats(0)
    assert t.flushes == 0
    assert (t.misses, t.hits) == (2 * 8, 2 * 20 * 8 - 2 * 8)   # compulsory misses only


def test_a_flush_is_switch_overhead():
    k = kernel(asid=False, costs=pk.Costs(switch=0, page_walk=0, minor_fault=0, tlb_flush=100))
    k.spawn_many(worker(20), 2)
    k.run()
    assert k.stats.cpus[0].overhead == 39 * 100


def test_global_entries_survive_a_flush():
    k = kernel(asid=False)
    k.spawn_many(pk.Program.script("g", [
        S.map(BASE, PAGE, global_=True),
        S.loop(20, [S.touch(BASE), S.compute(1_000)])]), 2)
    k.run()
    t = k.tlb_stats(0)
    assert t.flushes == 39
    # one miss in all: a global entry matches every address space, so the
    # first process's entry serves the second too (global mappings are
    # meant to be the same everywhere, like the kernel's)
    assert (t.misses, t.hits) == (1, 39)


def test_unmap_shoots_down_the_entries_on_other_cpus():
    k = kernel(cpus=2, runqueues="per-cpu")
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 2 * PAGE), S.touch(BASE),
                                        S.sleep(1_000_000), S.touch(BASE)]),
                cpu=1, affinity={1})
    k.run(until=500_000)
    assert k.tlb_stats(1).misses == 1
    p.aspace.unmap(BASE + PAGE, PAGE)             # no page there: no shootdown
    assert k.memory_stats.ipis == 0
    p.aspace.protect(BASE, PAGE, "r")              # from the host: an IPI to CPU 1
    assert k.tlb_stats(1).shootdowns == 1 and k.memory_stats.ipis == 1
    k.run()
    assert k.tlb_stats(1).misses == 2             # the entry was invalidated


def test_shootdown_interrupts_are_cpu_time_of_the_initiator():
    costs = pk.Costs(switch=0, page_walk=0, minor_fault=0, ipi=1_000)
    k = kernel(cpus=2, costs=costs, runqueues="per-cpu")
    # p runs on CPU 1, then its second half runs on CPU 0: CPU 1 still may
    # hold its entries, so its protect interrupts CPU 1
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE), S.touch(BASE)]), cpu=1)
    k.run()
    assert k.memory_stats.ipis == 0               # it touched and exited on one CPU
    k2 = kernel(cpus=2, costs=costs, runqueues="per-cpu")
    q = k2.spawn(pk.Program.script("q", [S.map(BASE, PAGE), S.touch(BASE), S.sleep(10),
                                         S.protect(BASE, PAGE, "r")]), cpu=1)
    k2.run(until=5)
    q.threads[0].set_affinity({0})
    k2.run()
    assert k2.memory_stats.ipis == 1
    assert q.stats.cpu_time == 1_000


def test_no_tlb_means_every_access_walks():
    k = kernel(entries=0)
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE), S.loop(10, [S.touch(BASE)])]))
    k.run()
    assert p.aspace.stats.walks == 10 + 1         # the first fault retries its walk
    assert k.tlb_stats(0).hits == 0
