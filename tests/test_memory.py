"""Virtual memory, layer 1: frames, page tables in hardware formats, walks,
regions, touches, minor and protection faults (docs/memory.md).

PTE bit positions are from the Intel SDM vol. 3A section 4.5 (x86-64 4- and
5-level paging) and the RISC-V privileged specification 20211203, sections
4.4 and 4.5 (Sv39, Sv48) (docs/references.md [Intel-SDM-3A], [RISCV-Priv])."""

import pytest

import pykernel as pk

S = pk.op
BASE = 0x4000_0000            # 1 GiB: a region start aligned to every level
PAGE = 4096
LONG = 10**9                  # a sleep that keeps a process alive for inspection


def kernel(fmt="x86_64", frames=1 << 16, costs=None):
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=costs or pk.Costs.zero(),
                     memory=pk.Memory(frames=frames), mmu=pk.MMU(format=fmt))


def alive(k, ops, **kw):
    """Spawn a script that runs ops then sleeps; run until it sleeps."""
    p = k.spawn(pk.Program.script("p", [*ops, S.sleep(LONG)]), **kw)
    k.run(until=k.now + LONG // 2)
    return p


# ---- PTE formats -------------------------------------------------------------------

def test_x86_64_leaf_bits_after_a_write():
    k = kernel()
    p = alive(k, [S.map(BASE, PAGE, "rw"), S.touch(BASE, write=True)])
    leaf = p.aspace.walk(BASE)[-1]
    # bit 0 P, 1 R/W, 2 U/S, 5 A, 6 D, 63 NX (no "x" in prot)
    assert leaf.value & 0xFFF == 0b0110_0111
    assert leaf.value >> 63 == 1
    assert leaf.bits == {"present": 1, "writable": 1, "user": 1, "pwt": 0, "pcd": 0,
                         "accessed": 1, "dirty": 1, "page_size": 0, "global": 0, "no_execute": 1}
    assert (leaf.value >> 12) & ((1 << 40) - 1) == leaf.frame


def test_x86_64_read_sets_accessed_but_not_dirty():
    k = kernel()
    p = alive(k, [S.map(BASE, PAGE, "rwx"), S.touch(BASE)])
    leaf = p.aspace.walk(BASE)[-1]
    assert (leaf.bits["accessed"], leaf.bits["dirty"], leaf.bits["no_execute"]) == (1, 0, 0)


def test_x86_64_interior_entries_are_present_writable_user_accessed():
    k = kernel()
    p = alive(k, [S.map(BASE, PAGE), S.touch(BASE)])
    for e in p.aspace.walk(BASE)[:-1]:
        assert e.value & 0xFFF == 0b10_0111        # P | RW | US | A


def test_sv39_leaf_and_interior_bits():
    k = kernel("sv39")
    p = alive(k, [S.map(BASE, PAGE, "rw"), S.touch(BASE, write=True)])
    entries = p.aspace.walk(BASE)
    assert len(entries) == 3
    for e in entries[:-1]:
        assert e.value & 0x3FF == 0b1              # V with R = W = X = 0: next level
    leaf = entries[-1]
    # bit 0 V, 1 R, 2 W, 3 X, 4 U, 5 G, 6 A, 7 D; PPN from bit 10
    assert leaf.value & 0x3FF == 0b1101_0111
    assert leaf.value >> 10 == leaf.frame


@pytest.mark.parametrize("fmt,levels", [("x86_64", 4), ("x86_64_5level", 5), ("sv39", 3),
                                        ("sv48", 4)])
def test_a_walk_reads_one_entry_per_level(fmt, levels):
    k = kernel(fmt)
    p = alive(k, [S.map(BASE, PAGE), S.touch(BASE)])
    assert len(p.aspace.walk(BASE)) == levels == k.mmu.levels


def test_four_level_walk_translates_through_every_level():
    # indexes 3, 5, 7, 9 at bits 47-39, 38-30, 29-21, 20-12 (Intel SDM vol. 3A 4.5)
    va = (3 << 39) | (5 << 30) | (7 << 21) | (9 << 12)
    k = kernel()
    p = alive(k, [S.map(va, PAGE), S.touch(va + 0x123)])
    entries = p.aspace.walk(va)
    assert len(entries) == 4
    assert p.aspace.translate(va + 0x123) == (entries[-1].frame << 12) | 0x123
    assert len({e.frame for e in entries}) == 4    # four different tables / frames


def test_translate_of_an_untouched_page_is_none():
    k = kernel()
    p = alive(k, [S.map(BASE, 2 * PAGE), S.touch(BASE)])
    assert p.aspace.translate(BASE + PAGE) is None
    assert p.aspace.walk(BASE + PAGE)[-1].value == 0


# ---- faults ------------------------------------------------------------------------

def test_unmapped_address_kills_only_its_process():
    k = kernel()
    bad = k.spawn(pk.Program.script("bad", [S.touch(BASE), S.compute(5)]))
    good = k.spawn(pk.Program.script("good", [S.map(BASE, PAGE), S.touch(BASE), S.compute(5)]))
    k.run()
    assert (bad.state, bad.kill_reason) == ("killed", "segmentation fault")
    assert bad.aspace.fault == pk.Fault("unmapped", BASE)
    assert (good.state, good.exit_code) == ("exited", 0)


def test_write_to_read_only_page_faults():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, "r"), S.touch(BASE),
                                        S.touch(BASE, write=True)]))
    k.run()
    assert p.kill_reason == "segmentation fault"
    assert p.aspace.fault == pk.Fault("write to read-only", BASE)
    assert p.aspace.stats.protection_faults == 1


def test_user_bit_clear_makes_a_user_access_fault():
    k = kernel()
    p = alive(k, [S.map(BASE, PAGE, user=False, populate=True)])
    assert p.aspace.walk(BASE)[-1].bits["user"] == 0
    assert p.aspace.walk(BASE)[-1].bits["present"] == 1
    q = k.spawn(pk.Program.script("q", [S.map(BASE, PAGE, user=False, populate=True),
                                        S.touch(BASE)]))
    k.run(until=k.now + 10)
    assert q.aspace.fault == pk.Fault("supervisor page", BASE)


def test_protect_read_only_clears_the_writable_bit():
    k = kernel()
    p = alive(k, [S.map(BASE, PAGE), S.touch(BASE, write=True), S.protect(BASE, PAGE, "r")])
    assert p.aspace.walk(BASE)[-1].bits["writable"] == 0
    assert p.aspace.regions == [pk.Region(BASE, BASE + PAGE, "r")]


def test_a_minor_fault_counts_once_per_page():
    k = kernel()
    p = alive(k, [S.map(BASE, 4 * PAGE), S.touch_range(BASE, 4 * PAGE, stride=512)])
    st = p.aspace.stats
    assert (st.touches, st.page_faults, st.minor_faults, st.rss) == (32, 4, 4, 4)
    assert p.stats.page_faults == 4


def test_touch_cost_is_cpu_time_of_the_thread():
    # 2 touches of new pages: each walk, minor fault, walk again;
    # 4 walks x 4 levels x 3 ns + 2 x 100 ns + compute 10 = 258
    costs = pk.Costs(switch=0, page_walk=3, minor_fault=100)
    k = kernel(costs=costs)
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 2 * PAGE), S.touch(BASE),
                                        S.touch(BASE + PAGE), S.touch(BASE), S.compute(10)]))
    k.run()
    # the third touch hits the TLB: it costs nothing
    assert p.stats.cpu_time == 4 * 12 + 2 * 100 + 10
    assert p.aspace.stats.walks == 4


def test_out_of_frames_kills_with_out_of_memory():
    k = kernel(frames=8)        # 4 page-table pages leave 4 frames
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 16 * PAGE), S.touch_range(BASE, 16 * PAGE)]))
    k.run()
    assert p.kill_reason == "out of memory"
    assert p.aspace.fault.kind == "out of memory"      # the OOM rule chose it: the only process


def test_python_thread_touches_through_ctx():
    def body(ctx):
        yield ctx.map(BASE, PAGE)
        yield ctx.touch(BASE, write=True)
        yield ctx.touch(BASE + PAGE)           # unmapped: the process dies

    k = kernel(costs=pk.Costs(switch=0, page_walk=1, minor_fault=10))
    p = k.spawn(pk.Program.python("py", body))
    k.run()
    assert p.kill_reason == "segmentation fault"
    assert p.stats.page_faults == 1
    # walk, fault, walk; the fatal access dies at its instant, uncharged
    assert p.stats.cpu_time == 4 + 10 + 4


# ---- isolation and accounting ----------------------------------------------------

def test_no_address_of_one_process_reaches_anothers_frames():
    k = kernel()
    ops = [S.map(BASE, 64 * PAGE), S.touch_range(BASE, 64 * PAGE, write_ratio=1.0)]
    a, b = alive(k, ops), alive(k, ops)
    fa = {a.aspace.translate(BASE + i * PAGE) >> 12 for i in range(64)}
    fb = {b.aspace.translate(BASE + i * PAGE) >> 12 for i in range(64)}
    assert len(fa) == len(fb) == 64 and not fa & fb
    tables_a = {e.frame for i in range(64) for e in a.aspace.walk(BASE + i * PAGE)[:-1]}
    assert not tables_a & fb


def test_page_table_memory_follows_what_is_touched_not_what_is_mapped():
    k = kernel()
    p = alive(k, [S.map(BASE, 1 << 30), S.touch_range(BASE, 1 << 20)])
    # 1 MiB inside one 2 MiB-aligned range: PML4, PDPT, PD, one PT
    assert p.aspace.stats.page_table_pages == 4
    assert k.memory_stats.page_table_pages == 4
    assert p.aspace.rss == 256


def test_exit_frees_every_frame():
    k = kernel(frames=4096)
    k.spawn_many(pk.Program.script("p", [S.map(BASE, 1 << 20), S.touch_range(BASE, 1 << 20)]), 8)
    k.run()
    m = k.memory_stats
    assert (m.free, m.page_table_pages, m.address_spaces) == (4096, 0, 0)


def test_unmap_frees_its_pages_and_later_touches_fault():
    k = kernel()
    p = alive(k, [S.map(BASE, 8 * PAGE), S.touch_range(BASE, 8 * PAGE), S.unmap(BASE, 4 * PAGE)])
    assert p.aspace.rss == 4
    assert p.aspace.regions == [pk.Region(BASE + 4 * PAGE, BASE + 8 * PAGE, "rw")]
    assert k.memory_stats.free == (1 << 16) - 4 - 4


def test_protect_and_unmap_of_a_huge_sparse_range_reach_every_page():
    # 64 TiB mapped, two pages touched in different top-level tables
    # (PML4 slots 0 and 64): the scan skips the missing tables and still
    # finds both leaves (found by fuzzing: a page-by-page scan took minutes)
    far = BASE + (1 << 45)
    k = kernel()
    p = alive(k, [S.map(BASE, 1 << 46), S.touch(BASE, True), S.touch(far, True)])
    assert p.aspace.rss == 2
    p.aspace.protect(BASE, 1 << 46, "r")
    assert [p.aspace.walk(va)[-1].bits["writable"] for va in (BASE, far)] == [0, 0]
    p.aspace.unmap(BASE, 1 << 46)
    assert p.aspace.rss == 0
    assert [p.aspace.translate(va) for va in (BASE, far)] == [None, None]


def test_random_touches_are_deterministic():
    def run():
        k = kernel()
        k.spawn(pk.Program.script("r", [S.map(BASE, 1 << 24),
                                        S.touch_range(BASE, 1 << 24, pattern="random",
                                                      write_ratio=0.5)]))
        k.run()
        return k.digest(), k.processes[0].aspace.stats.page_faults
    assert run() == run()


# ---- bad input ---------------------------------------------------------------------

def test_memory_program_needs_a_kernel_with_memory():
    k = pk.Kernel(costs=pk.Costs.zero())
    with pytest.raises(pk.NotSupported):
        k.spawn(pk.Program.script("t", [S.touch(0)]))


@pytest.mark.parametrize("make", [lambda: S.map(1, PAGE), lambda: S.map(0, 0),
                                  lambda: S.map(0, PAGE, "w"), lambda: S.map(0, PAGE, "rq"),
                                  lambda: S.touch_range(0, 10, pattern="zigzag")])
def test_bad_memory_ops_are_value_errors(make):
    with pytest.raises(ValueError):
        make()


# a touched address is in [0, 2**63) (PK_F_ADDRESS): the core's rule, refused by
# pk_script_check when the script is made
@pytest.mark.parametrize("ops, words", [
    ([S.compute(1), S.touch(2**63, True)], "instruction 1: address must be between 0 and "
                                           "9223372036854775807, got 9223372036854775808"),
    ([S.touch_range(2**63 + 4096, 10)], "instruction 0: address must be between 0 and "
                                        "9223372036854775807, got 9223372036854779904"),
])
def test_touched_addresses_are_the_cores_range(ops, words):
    with pytest.raises(pk.OutOfRange) as e:
        pk.Program.script("t", ops)
    assert str(e.value).endswith(": " + words)


def test_a_touch_address_must_fit_its_64_bit_word():
    with pytest.raises(pk.OutOfRange, match=r"touch address must fit in 64 bits \(unsigned\), got -1"):
        S.touch(-1)


def test_a_python_body_touching_above_2_63_is_refused_as_a_script_is():
    # the same rule (PK_TOUCH_ADDR_MAX) in pk_vm_touch_host: ctx.touch raises in the body
    k = pk.Kernel(memory=pk.Memory(frames=64), costs=pk.Costs.zero())

    def body(ctx):
        yield ctx.touch(2**63)
    p = k.spawn(pk.Program.python("b", body))
    k.run()
    assert isinstance(p.error, pk.OutOfRange)


# touch_range's ranges are the core's (pk_script_check, csrc/core/pk_script.c):
# length and stride 1 .. PK_MAX_TIME = 2**62 - 1, the write ratio 0 .. 65536
# 65536ths; Program.script raises OutOfRange naming instruction and argument
@pytest.mark.parametrize("op, words", [
    (S.touch_range(0, 0), "touch_range length must be between 1 and 4611686018427387903, got 0"),
    (S.touch_range(0, 2**62), "touch_range length must be between 1 and 4611686018427387903, "
                              "got 4611686018427387904"),
    (S.touch_range(0, 10, stride=-3), "touch_range stride must be between 1 and "
                                      "4611686018427387903, got -3"),
    (S.touch_range(0, 10, write_ratio=2.0), "touch_range write_ratio must be between 0.0 and 1.0, "
                                            "got 2.0"),
    (S.touch_range(0, 10, write_ratio=-0.5), "touch_range write_ratio must be between 0.0 and "
                                             "1.0, got -0.5"),
])
def test_touch_range_arguments_out_of_range_are_refused_by_the_core(op, words):
    with pytest.raises(pk.OutOfRange) as e:
        pk.Program.script("t", [S.compute(1), op])
    assert str(e.value) == f"Program.script('t', 4 instructions): instruction 1 (touch_range): {words}"
    assert e.value.instruction == 1


def test_bad_memory_op_types_are_type_errors():
    for make in (lambda: S.touch("0"), lambda: S.map(0, PAGE, 7), lambda: S.touch(0, write=1)):
        with pytest.raises(TypeError):
            make()


def test_map_beyond_the_user_half_kills_the_process():
    k = kernel("sv39")
    p = k.spawn(pk.Program.script("p", [S.map(1 << 38, PAGE)]))
    k.run()
    assert p.kill_reason == "segmentation fault"


def test_aspace_of_an_exited_process_refuses_changes():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.compute(1)]))
    k.run()
    with pytest.raises(pk.BadState):
        p.aspace.map(BASE, PAGE)
    with pytest.raises(ValueError):
        p.aspace.walk(1 << 60)


def test_fault_handler_must_be_callable():
    k = kernel()
    p = alive(k, [S.compute(1)])
    with pytest.raises(TypeError):
        p.aspace.set_fault_handler(42)
