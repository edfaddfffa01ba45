"""Virtual memory, layer 3: page replacement (local and global), the swap
device, major faults, the out-of-memory rule, thrashing and the
statistics that show it (docs/memory.md, "Replacement and swap").

Reference strings and their fault counts are from Silberschatz, Operating
System Concepts, 10th ed., section 10.4 (page replacement, Belady's
anomaly; docs/references.md [SGG10], [Belady69])."""

import pytest

import pykernel as pk

S = pk.op
PAGE = 4096
BASE = 0x4000_0000
TEXTBOOK = [7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1]
BELADY = [1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5]


def kernel(policy="fifo", frames=1 << 12, swap=64, latency=0, tlb=64, **kw):
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=frames, swap=swap, replacement=policy,
                                      swap_latency=latency, **kw),
                     mmu=pk.MMU(tlb_entries=tlb))


def refs(pages, tail=()):
    """A script touching page BASE + r * PAGE for each r in pages."""
    return pk.Program.script("refs", [S.map(BASE, 16 * PAGE),
                                      *[S.touch(BASE + r * PAGE) for r in pages], *tail])


def faults(policy, pages, limit, **kw):
    k = kernel(policy, **kw)
    p = k.spawn(refs(pages), rss_limit=limit)
    k.run()
    assert p.state == "exited"
    return p.aspace.stats.page_faults


def resident(p, pages):
    return [r for r in pages if p.aspace.translate(BASE + r * PAGE) is not None]


# ---- the textbook strings (local replacement, rss_limit=3) ---------------------------

@pytest.mark.parametrize("policy, expected", [("fifo", 15), ("lru", 12), ("opt", 9)])
def test_textbook_reference_string(policy, expected):
    assert faults(policy, TEXTBOOK, 3) == expected


@pytest.mark.parametrize("policy, expected", [("fifo", 15), ("lru", 12), ("opt", 9)])
def test_textbook_reference_string_without_a_tlb(policy, expected):
    # every access walks: the counts do not depend on the TLB
    assert faults(policy, TEXTBOOK, 3, tlb=0) == expected


def test_beladys_anomaly_under_fifo():
    assert faults("fifo", BELADY, 3) == 9
    assert faults("fifo", BELADY, 4) == 10


def test_lru_has_no_anomaly_on_beladys_string():
    # LRU is a stack algorithm (Silberschatz 10.4.4): more frames never fault more
    assert faults("lru", BELADY, 3) == 10
    assert faults("lru", BELADY, 4) == 8


def test_clock_on_the_textbook_string():
    # Hand-checked with docs/memory.md's rules: a loaded page has its
    # accessed bit set, the hand clears bits until it finds a clear one,
    # the new page takes the victim's place and the hand moves past it.
    # Victims in order: 7 1 2 0 3 4 2 0 3 1 2 -> 3 cold faults + 11 = 14.
    assert faults("clock", TEXTBOOK, 3) == 14


def test_clock_gives_a_referenced_page_a_second_chance():
    # 1 2 3 fill; 4: every bit is set, the hand clears 1 2 3 and takes 1;
    # 2 is used (bit set again); 5: the hand passes 2 (clearing it), takes 3.
    k = kernel("clock")
    p = k.spawn(refs([1, 2, 3, 4, 2, 5], [S.sleep(10**9)]), rss_limit=3)
    k.run(until=10**6)
    assert resident(p, [1, 2, 3, 4, 5]) == [2, 4, 5]


def test_active_inactive_keeps_a_page_used_twice():
    # docs/memory.md's two-list rules, by hand: after 1 2 3 4 the first
    # scan activates 1, 2, 3 (their loads set Accessed), rebalancing moves
    # 1 and 2 back cleared, and 1 goes; 2 is used; at 5, 2 is activated
    # again and 3 (cleared when it was activated) goes.
    k = kernel("active-inactive")
    p = k.spawn(refs([1, 2, 3, 4, 2, 5], [S.sleep(10**9)]), rss_limit=3)
    k.run(until=10**6)
    assert resident(p, [1, 2, 3, 4, 5]) == [2, 4, 5]
    assert p.aspace.stats.page_faults == 5


def test_fifo_evicts_in_load_order_whatever_the_use():
    k = kernel("fifo")
    p = k.spawn(refs([1, 2, 3, 4, 2, 5], [S.sleep(10**9)]), rss_limit=3)
    k.run(until=10**6)
    assert resident(p, [1, 2, 3, 4, 5]) == [3, 4, 5]


def test_random_is_reproducible_and_no_better_than_opt():
    a = faults("random", TEXTBOOK, 3)
    assert a == faults("random", TEXTBOOK, 3)
    assert 9 <= a <= 20


def test_opt_looks_ahead_through_loops():
    # (1 2 3 4) five times, from a loop: the future comes from replaying
    # the loop; the count is Belady's by definition (belady() below)
    pages = [1, 2, 3, 4] * 5
    loop = pk.Program.script("loop", [S.map(BASE, 16 * PAGE),
                                      S.loop(5, [S.touch(BASE + r * PAGE) for r in (1, 2, 3, 4)])])
    k = kernel("opt")
    p = k.spawn(loop, rss_limit=3)
    k.run()
    assert p.aspace.stats.page_faults == belady(pages, 3)


def belady(pages, frames):
    """Belady's OPT by its definition (evict the page used furthest ahead)."""
    mem, n = [], 0
    for i, r in enumerate(pages):
        if r in mem:
            continue
        n += 1
        if len(mem) == frames:
            ahead = pages[i + 1:]
            mem.remove(max(mem, key=lambda q: ahead.index(q) if q in ahead else len(ahead)))
        mem.append(r)
    return n


def test_opt_sees_the_rest_of_a_touch_range_in_progress():
    # a range over 4 pages with 3 frames, twice: the second pass is known
    prog = pk.Program.script("r", [S.map(BASE, 4 * PAGE),
                                   S.loop(2, [S.touch_range(BASE, 4 * PAGE)])])
    k = kernel("opt")
    p = k.spawn(prog, rss_limit=3)
    k.run()
    assert p.aspace.stats.page_faults == belady([0, 1, 2, 3] * 2, 3) == 5


# ---- swap and major faults --------------------------------------------------------------

def test_evicted_page_goes_to_swap_and_comes_back_by_a_major_fault():
    k = kernel("fifo")
    p = k.spawn(refs([1, 2, 1], [S.sleep(10**9)]), rss_limit=1)
    k.run(until=10**6)
    st = p.aspace.stats
    assert (st.minor_faults, st.major_faults, st.swap_outs, st.swap_ins) == (2, 1, 2, 1)
    assert (st.rss, st.swapped) == (1, 1)
    leaf = p.aspace.walk(BASE + 2 * PAGE)[-1]
    assert leaf.bits["present"] == 0 and leaf.value & (1 << 9)   # software bit: in swap
    ms = k.memory_stats
    assert (ms.swap_used, ms.swap_ins, ms.swap_outs, ms.evictions) == (1, 1, 2, 2)


def test_major_fault_blocks_for_the_swap_latency_and_the_cpu_runs_another():
    k = kernel("fifo", latency=1_000_000)
    p = k.spawn(refs([1, 2, 1, 2]), rss_limit=1)
    q = k.spawn(pk.Program.script("q", [S.compute(300_000)]))
    k.run()
    assert p.stats.major_faults == 2
    assert p.stats.blocked == 2_000_000           # two swap-ins of 1 ms
    assert q.stats.first_run == 0                 # q ran while p waited
    assert q.stats.finish == 300_000
    assert p.stats.finish == 2_000_000
    assert p.threads[0].stats.voluntary_switches == 2


def test_major_fault_in_a_touch_range_charges_the_accesses_before_it():
    costs = pk.Costs(switch=0, page_walk=10, minor_fault=100, tlb_flush=0, ipi=0)
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=costs, mmu=pk.MMU(tlb_entries=0),
                  memory=pk.Memory(swap=8, swap_latency=5_000, replacement="fifo"))
    p = k.spawn(pk.Program.script("r", [S.map(BASE, 2 * PAGE), S.touch(BASE),
                                        S.touch(BASE + PAGE),   # evicts BASE
                                        S.touch_range(BASE + PAGE, PAGE), S.touch_range(BASE, 2 * PAGE)]),
                rss_limit=1)
    k.run()
    # walks of 4 levels x 10 ns: touch BASE (fault: 2 walks + 100), touch
    # BASE+PAGE (2 walks + 100), range on BASE+PAGE (1 walk); the last range:
    # BASE major-faults (blocks 5 us, then 1 walk), BASE+PAGE was evicted by
    # it: another major fault (blocks, 1 walk)
    assert p.aspace.stats.major_faults == 2
    assert p.stats.blocked == 10_000
    assert p.stats.cpu_time == 2 * (2 * 40 + 100) + 40 + 2 * 40


def test_python_thread_major_fault_blocks():
    def body(ctx):
        yield ctx.map(BASE, 2 * PAGE)
        yield ctx.touch(BASE)
        yield ctx.touch(BASE + PAGE)
        yield ctx.touch(BASE)
        return 0
    k = kernel("fifo", latency=7_000)
    p = k.spawn(pk.Program.python("py", body), rss_limit=1)
    k.run()
    assert p.stats.major_faults == 1
    assert p.stats.blocked == 7_000


def test_global_replacement_when_memory_is_full():
    # 16 frames: 4 page-table pages + 12 user pages; low watermark 0
    k = kernel("fifo", frames=16, low_watermark=0, high_watermark=0)
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 20 * PAGE), S.touch_range(BASE, 20 * PAGE),
                                        S.sleep(10**9)]))
    k.run(until=10**6)
    st = p.aspace.stats
    assert (st.rss, st.swapped, st.page_table_pages) == (12, 8, 4)
    assert k.memory_stats.free == 0
    assert resident(p, range(20)) == list(range(8, 20))      # FIFO: the first 8 went


def test_watermarks_keep_free_frames_between_low_and_high():
    k = kernel("fifo", frames=64, low_watermark=4, high_watermark=8)
    k.spawn(pk.Program.script("p", [S.map(BASE, 100 * PAGE), S.touch_range(BASE, 100 * PAGE),
                                    S.sleep(10**9)]))
    k.run(until=10**6)
    ms = k.memory_stats
    assert 4 <= ms.free <= 8
    assert ms.reclaims >= 1


def test_swap_full_and_memory_full_kills_the_largest_process():
    # Linux's oom_badness: resident + swapped + page-table pages; the
    # largest goes, whoever faulted
    k = kernel("fifo", frames=24, swap=4, low_watermark=0, high_watermark=0)
    big = k.spawn(pk.Program.script("big", [S.map(BASE, 14 * PAGE), S.touch_range(BASE, 14 * PAGE),
                                            S.sleep(10**9)]))
    small = k.spawn(pk.Program.script("small", [S.map(BASE, 8 * PAGE),
                                                S.touch_range(BASE, 8 * PAGE), S.compute(5)]))
    k.run(until=10**6)
    assert big.kill_reason == "out of memory"
    f = big.aspace.fault
    assert f.kind == "out of memory"
    assert f.trigger == small.pid
    assert f.badness == 14 + 4            # 10 resident + 4 swapped + 4 tables
    assert small.state == "exited"
    assert k.memory_stats.oom_kills == 1


def test_exit_returns_every_frame_and_swap_slot():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=50), costs=pk.Costs.zero(),
                  memory=pk.Memory(frames=256, swap=512, replacement="clock"))
    free0 = k.memory_stats.free
    ps = k.spawn_many(pk.Program.script("p", [S.map(BASE, 16 * PAGE),
                                              S.loop(3, [S.touch_range(BASE, 16 * PAGE,
                                                                       write_ratio=0.5)])]),
                      20, rss_limit=5)
    k.run()
    assert all(p.state == "exited" for p in ps)
    ms = k.memory_stats
    assert (ms.free, ms.swap_used, ms.page_table_pages) == (free0, 0, 0)
    assert ms.swap_outs > 0


def test_unmap_frees_swapped_pages():
    k = kernel("fifo")
    p = k.spawn(refs([1, 2, 3], [S.unmap(BASE, 16 * PAGE), S.sleep(10**9)]), rss_limit=1)
    k.run(until=10**6)
    assert (p.aspace.stats.swapped, k.memory_stats.swap_used) == (0, 0)


# ---- thrashing --------------------------------------------------------------------------

def thrash(n):
    """n processes loop over 32 random pages each, 10 us of compute per
    pass, round robin 20 us, in 256 frames (FIFO, swap latency 5 ms); one
    simulated second. Returns (faults, CPU utilisation in %)."""
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=20_000), costs=pk.Costs.zero(),
                  memory=pk.Memory(frames=256, swap=4096, replacement="fifo",
                                   swap_latency=5_000_000, low_watermark=0, high_watermark=0))
    prog = pk.Program.script("w", [S.map(BASE, 32 * PAGE), S.loop(10**9, [
        S.touch_range(BASE, 32 * PAGE, pattern="random"), S.compute(10_000)])])
    ps = k.spawn_many(prog, n)
    k.run(until=10**9)
    return sum(p.stats.page_faults for p in ps), round(100 * k.cpu_stats(0).busy / 10**9, 1)


def test_thrashing_knee():
    # 256 frames hold 7 working sets of 32 pages (+ 4 table pages each)
    # with room to spare, not 8: below the knee every fault is a first
    # touch and the CPU is always busy; past it faults jump and useful CPU
    # time collapses (the CPU waits for swap).
    figures = {n: thrash(n) for n in (4, 7, 8, 10, 16)}
    assert figures == {4: (128, 100.0), 7: (224, 100.0), 8: (1308, 73.5), 10: (2219, 13.8),
                       16: (3679, 5.6)}


# ---- statistics ------------------------------------------------------------------------

def test_fault_rate_over_time():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  memory=pk.Memory(fault_interval=1_000))
    k.spawn(pk.Program.script("p", [S.map(BASE, 8 * PAGE), S.touch_range(BASE, 3 * PAGE),
                                    S.sleep(2_500), S.touch_range(BASE, 8 * PAGE)]))
    k.run()
    series = k.fault_rate
    assert [(s.start, s.end, s.faults) for s in series] == [(0, 1000, 3), (1000, 2000, 0),
                                                            (2000, 3000, 5)]
    assert series[0].per_second == 3e6


def test_fault_rate_buckets_widen_for_long_runs():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  memory=pk.Memory(fault_interval=1))
    k.spawn(pk.Program.script("p", [S.map(BASE, 2 * PAGE), S.touch(BASE),
                                    S.sleep(10_000), S.touch(BASE + PAGE)]))
    k.run()
    series = k.fault_rate
    assert len(series) <= 4096
    assert series[-1].end - series[-1].start == 4           # 1 ns doubled twice
    assert sum(s.faults for s in series) == 2


def test_working_set_over_a_window():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                  memory=pk.Memory(track=True))
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 8 * PAGE), S.touch_range(BASE, 8 * PAGE),
                                        S.sleep(1_000), S.touch_range(BASE, 2 * PAGE),
                                        S.sleep(10**9)]))
    k.run(until=5_000)
    assert p.aspace.working_set(10_000) == 8
    assert p.aspace.working_set(4_500) == 2      # used at t=1000; the others at 0
    assert p.aspace.rss == 8


def test_working_set_needs_tracking():
    k = kernel("fifo")
    p = k.spawn(refs([1], [S.sleep(10**9)]))
    k.run(until=10)
    with pytest.raises(pk.BadState):
        p.aspace.working_set(100)


# ---- bad input --------------------------------------------------------------------------

def test_bad_replacement_and_swap_arguments():
    with pytest.raises(ValueError):
        pk.Memory(replacement="second-chance")
    with pytest.raises(TypeError):
        pk.Memory(swap="8")
    with pytest.raises(ValueError):
        pk.Memory(frames=16, low_watermark=8, high_watermark=4)
    with pytest.raises(ValueError):
        pk.Memory(replacement="opt", track=True)
    with pytest.raises(ValueError):
        pk.Memory(fault_interval=0)


def test_rss_limit_needs_memory_and_swap():
    prog = pk.Program.script("p", [S.compute(1)])
    with pytest.raises(pk.BadState):
        pk.Kernel().spawn(prog, rss_limit=3)
    with pytest.raises(pk.BadState):
        pk.Kernel(memory=pk.Memory()).spawn(prog, rss_limit=3)
    k = kernel()
    with pytest.raises(ValueError):
        k.spawn(prog, rss_limit=0)
    with pytest.raises(TypeError):
        k.spawn(prog, rss_limit=2.5)


def test_replacement_is_deterministic():
    def run():
        k = kernel("random", frames=40, low_watermark=2, high_watermark=4)
        k.spawn_many(pk.Program.script("p", [S.map(BASE, 16 * PAGE), S.loop(4, [
            S.touch_range(BASE, 16 * PAGE, pattern="random", write_ratio=0.3)])]), 4)
        k.run()
        return k.digest(), k.memory_stats.swap_outs
    assert run() == run()
