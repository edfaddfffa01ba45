"""Kernel.audit (pykernel/audit.py; pk_mem_audit_get and pk_obj_audit_get
in pk_api.h): frame references and handles recounted from the core's
structures."""

import dataclasses

import pytest

import pykernel as pk

S = pk.op
BASE = 0x4000_0000
PAGE = 4096
LONG = 10**9


def kernel(**kw):
    return pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=4096), **kw)


def test_a_kernel_without_memory_audits_handles_only():
    k = pk.Kernel()
    a = k.audit()
    assert (a.frames, a.frames_used, a.table_handles, a.flight_handles) == (None, None, 0, 0)
    assert a.problems() == []


def test_touched_pages_and_their_tables_are_the_frames_in_use():
    k = kernel()
    k.spawn(pk.Program.script("p", [S.map(BASE, 8 * PAGE), S.touch_range(BASE, 8 * PAGE),
                                    S.sleep(LONG)]))
    k.run(until=1000)
    a = k.audit()
    # 8 pages + PML4, PDPT, PD, PT (Intel SDM vol. 3A 4.5, 4-level paging)
    assert (a.mappings, a.page_table_pages, a.frames_used, a.frames_referenced) == (8, 4, 12, 12)
    assert (a.frames_free, a.frames_mismatched) == (4096 - 12, 0)


def test_a_fork_shares_frames_each_counted_once_in_use():
    k = kernel()
    k.spawn(pk.Program.script("p", [S.map(BASE, 4 * PAGE), S.touch_range(BASE, 4 * PAGE),
                                    S.fork([S.sleep(LONG)]), S.sleep(LONG)]))
    k.run(until=1000)
    a = k.audit()
    # 4 pages in one leaf table that both name (fork shares leaf tables):
    # 4 mappings, the parent's 4 tables and the child's own 3 interior ones
    assert (a.mappings, a.page_table_pages, a.frames_used, a.frames_mismatched) == (4, 7, 11, 0)


def test_handles_in_tables_and_in_messages_are_counted_apart():
    k = pk.Kernel()
    p = k.spawn(pk.Program.script("p", [S.sleep(LONG)]))
    a, b = p.channel_create()
    e1, e2 = p.event_create(), p.event_create()
    a.write(b"x", handles=[e1, e2])
    au = k.audit()
    assert (au.table_handles, au.flight_handles, au.messages) == (2, 2, 1)
    assert (au.bad_refs, au.short_refs) == (0, 0)


def test_closing_the_reader_end_releases_the_handles_in_flight():
    # docs/references.md [Zircon-channel]: closing an endpoint discards its
    # queue and the handles in it
    k = pk.Kernel()
    p = k.spawn(pk.Program.script("p", [S.sleep(LONG)]))
    a, b = p.channel_create()
    a.write(b"x", handles=[p.event_create()])
    b.close()
    au = k.audit()
    assert (au.table_handles, au.flight_handles, au.messages) == (1, 0, 0)
    assert k.object_stats.objects == 1


def test_problems_name_each_broken_rule():
    k = kernel()
    good = k.audit()
    bad = dataclasses.replace(good, frames_mismatched=2, frames_used=5, handles_counted=3)
    assert bad.problems() == [
        "2 frames have a reference count that differs from the mappings found",
        "5 frames in use but 4096 - 4096 free = 0",
        "5 frames in use, 0 referenced",
        "0 handles in tables, 3 counted",
    ]
    with pytest.raises(pk.InternalError, match="audit: 2 frames"):
        bad.check()
    good.check()
