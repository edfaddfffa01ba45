"""The process tree: parents and children, zombies, reaping, and the
adoption of orphans by the nearest living child subreaper or the root.

Sources: fork(2) ("The child's parent process ID is the same as the
parent's process ID"); wait(2), NOTES ("A child that terminates, but has
not been waited for becomes a zombie ... If a parent process terminates,
then its zombie children (if any) are adopted by init(1) ... which
automatically performs a wait to remove the zombies"); prctl(2),
PR_SET_CHILD_SUBREAPER ("When a process becomes orphaned ... it will be
reparented to the nearest still living ancestor subreaper"); Linux
kernel/exit.c, forget_original_parent / find_new_reaper (children join
the end of the new parent's list, list_splice_tail); the wait status
layout of <bits/waitstatus.h> (exit code << 8, or the signal number)."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import pykernel as pk

S, op = pk.Signals, pk.op
MS = 1_000_000
IDLE = pk.Program.script("idle", [op.sleep(10**12)])


def kernel(**kw):
    return pk.Kernel(cpus=4, costs=pk.Costs.zero(), **kw)


def quick(code=0, ns=MS):
    return pk.Program.script(f"exit{code}", [op.compute(ns), op.exit(code)])


def names(ps):
    return [p.name for p in ps]


# ---- links ------------------------------------------------------------------

def test_a_process_spawned_from_python_has_no_parent():
    k = kernel()
    p = k.spawn(IDLE, name="p")
    assert (p.parent, p.ppid, p.children) == (None, None, [])


def test_spawn_with_parent_makes_a_child():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(IDLE, name="b", parent=a)
    assert b.parent == a and b.ppid == a.pid
    assert names(a.children) == ["b"]


def test_children_are_listed_in_the_order_they_were_made():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    for n in "bcd":
        k.spawn(IDLE, name=n, parent=a)
    assert names(a.children) == ["b", "c", "d"]


def test_script_fork_makes_the_forking_process_the_parent():
    k = pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(frames=1 << 10))
    p = k.spawn(pk.Program.script("p", [op.fork([op.sleep(10**9)]), op.fork([op.sleep(10**9)]),
                                         op.sleep(10**9)]), name="p")
    k.run(until=MS)
    assert [c.pid for c in p.children] == [p.pid + 1, p.pid + 2]
    assert pk.Process(k, p.pid + 1).ppid == p.pid


def test_a_parent_that_has_ended_is_refused():
    k = kernel()
    a = k.spawn(quick(), name="a")
    k.run()
    with pytest.raises(pk.BadState):
        k.spawn(IDLE, parent=a)


# ---- zombies and reaping ---------------------------------------------------------

def test_a_child_that_ends_before_its_parent_waits_is_a_zombie():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(quick(3), name="b", parent=a)
    k.run(until=2 * MS)
    assert b.state == "zombie" and b.exit_code == 3
    assert names(a.children) == ["b"]


def test_a_process_without_a_parent_is_reaped_when_it_ends():
    k = kernel()
    a = k.spawn(quick(3), name="a")
    k.run()
    assert a.state == "exited" and a.exit_code == 3


def test_a_parent_waiting_through_its_handle_reaps_the_child():
    k = kernel()
    a = k.spawn(pk.Program.script("a", [op.wait(0, S.TERMINATED), op.sleep(10**12)]), name="a")
    b = k.spawn(quick(5), name="b", parent=a)
    k.run(until=2 * MS)
    assert b.state == "exited" and b.parent is None and a.children == []


def test_a_python_parent_waiting_through_its_handle_reaps_the_child():
    def parent(ctx):
        yield ctx.wait_one(ctx.handles[0], S.TERMINATED)
        yield ctx.sleep(10**12)
    k = kernel()
    a = k.spawn(pk.Program.python("a", parent), name="a")
    b = k.spawn(quick(5), name="b", parent=a)
    k.run(until=2 * MS)
    assert b.state == "exited" and a.children == []


def test_a_wait_by_another_process_does_not_reap():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    other = k.spawn(pk.Program.script("o", [op.wait(0, S.TERMINATED), op.sleep(10**12)]))
    b = k.spawn(quick(), name="b", parent=a)
    other.handle_to(b)
    k.run(until=2 * MS)
    assert b.state == "zombie"


def test_a_wait_for_other_signals_does_not_reap():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(quick(), name="b", parent=a)
    k.run(until=2 * MS)
    (h,) = a.handles
    with pytest.raises(pk.ShouldWait):
        h.wait_one(S.USER_0)
    assert b.state == "zombie"


def test_zombies_of_an_ending_root_are_reaped():
    k = kernel()
    a = k.spawn(quick(ns=5 * MS), name="a")
    b = k.spawn(quick(ns=MS), name="b", parent=a)
    k.run()
    assert (a.state, b.state, b.parent) == ("exited", "exited", None)


# ---- how a process ended ------------------------------------------------------

def test_wait_status_of_an_exit_is_the_code_shifted_by_eight():
    k = kernel()
    a = k.spawn(quick(7), name="a")
    k.run()
    assert (a.wait_status, a.term_signal) == (7 << 8, None)


def test_wait_status_keeps_the_low_eight_bits_of_the_code():
    k = kernel()
    a = k.spawn(quick(257), name="a")
    k.run()
    assert a.wait_status == 1 << 8


def test_a_process_killed_from_the_host_ended_by_sigkill():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    k.run(until=MS)
    a.kill()
    assert (a.term_signal, a.wait_status, a.exit_code) == (9, 9, None)


def test_a_living_process_has_no_wait_status():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    assert (a.wait_status, a.term_signal, a.exit_code) == (None, None, None)


def test_the_parent_is_sent_sigchld_when_a_child_ends():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    k.spawn(quick(), parent=a)
    k.spawn(quick(), parent=a)
    k.run(until=2 * MS)
    assert a.sigchld == 2


# ---- orphans ----------------------------------------------------------------------

def test_an_orphan_is_adopted_by_the_root():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(quick(ns=MS), name="b", parent=a)
    c = k.spawn(IDLE, name="c", parent=b)
    k.run(until=2 * MS)
    assert c.parent == a and names(a.children) == ["b", "c"]


def test_an_orphan_is_adopted_by_the_nearest_living_subreaper():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    s = k.spawn(IDLE, name="s", parent=a)
    s.subreaper = True
    m = k.spawn(IDLE, name="m", parent=s)
    b = k.spawn(quick(ns=MS), name="b", parent=m)
    c = k.spawn(IDLE, name="c", parent=b)
    k.run(until=2 * MS)
    assert c.parent == s and names(s.children) == ["m", "c"]


def test_a_subreaper_that_has_ended_adopts_nothing():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    s = k.spawn(quick(ns=MS), name="s", parent=a)
    s.subreaper = True
    b = k.spawn(quick(ns=3 * MS), name="b", parent=s)   # adopted by a when s ends
    c = k.spawn(IDLE, name="c", parent=b)
    k.run(until=4 * MS)
    assert b.parent == a and c.parent == a


def test_a_zombie_orphan_is_announced_to_its_new_parent():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(quick(ns=3 * MS), name="b", parent=a)
    c = k.spawn(quick(ns=MS), name="c", parent=b)
    k.run(until=4 * MS)
    assert c.state == "zombie" and c.parent == a
    assert a.sigchld == 2                     # b ended; zombie c joined it


def test_orphans_of_a_root_become_roots():
    k = kernel()
    a = k.spawn(quick(ns=MS), name="a")
    b = k.spawn(IDLE, name="b", parent=a)
    k.run(until=2 * MS)
    assert (a.state, b.parent, b.state) == ("exited", None, "alive")


def test_subreaper_is_a_bool():
    k = kernel()
    a = k.spawn(IDLE)
    with pytest.raises(TypeError):
        a.subreaper = 1


# ---- limits, snapshots, audit ------------------------------------------------------

def test_zombies_count_against_max_processes():
    k = kernel(limits=pk.Limits(max_processes=2))
    a = k.spawn(IDLE, name="a")
    k.spawn(quick(), parent=a)
    k.run(until=2 * MS)
    with pytest.raises(pk.NoMemory):
        k.spawn(IDLE, parent=a)


def test_the_tree_survives_a_snapshot():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    s = k.spawn(IDLE, name="s", parent=a)
    s.subreaper = True
    b = k.spawn(quick(4), name="b", parent=s)
    k.spawn(IDLE, name="c", parent=s)
    k.run(until=2 * MS)
    k2 = pk.Kernel.restore(k.snapshot())
    a2, s2, b2 = (k2.process(p.pid) for p in (a, s, b))
    assert [c.pid for c in s2.children] == [c.pid for c in s.children]
    assert (b2.state, b2.exit_code, b2.ppid, s2.subreaper, s2.sigchld) == ("zombie", 4, s.pid, True, 1)
    assert a2.children == [k2.process(s.pid)]


def test_links_between_processes_spawned_thousands_apart():
    # pids 0, 5001, 5002 and 10003: the links of far-apart pids are kept
    # in separate blocks, which adoption (kernel/exit.c) and a snapshot
    # must join up like any others
    k = kernel()
    a = k.spawn(IDLE, name="a")
    k.spawn_many(IDLE, 5000)
    b = k.spawn(quick(ns=MS), name="b", parent=a)
    c = k.spawn(IDLE, name="c", parent=b)
    k.spawn_many(IDLE, 5000)
    d = k.spawn(IDLE, name="d", parent=c)
    assert (a.pid, b.pid, c.pid, d.pid) == (0, 5001, 5002, 10003)
    k.run(until=2 * MS)
    assert names(a.children) == ["b", "c"] and b.state == "zombie"
    assert (c.ppid, d.ppid, names(c.children)) == (a.pid, c.pid, ["d"])
    k2 = pk.Kernel.restore(k.snapshot())
    a2, c2 = k2.process(a.pid), k2.process(c.pid)
    assert [p.pid for p in a2.children] == [b.pid, c.pid]
    assert ([p.pid for p in c2.children], a2.sigchld) == ([d.pid], 1)
    assert (k.audit().problems(), k2.audit().problems()) == ([], [])


def test_a_parent_refused_for_memory_leaves_the_tree_unchanged():
    # the links are made before anything changes: when they cannot be,
    # the child stays a root and the core reports NO_MEMORY (NoMemory)
    probe = kernel()
    probe.spawn(IDLE)
    probe.spawn(IDLE)
    used = probe.stats.memory_bytes               # two processes, no links
    k = kernel(limits=pk.Limits(max_memory=used + 64))
    a = k.spawn(IDLE, name="a")
    with pytest.raises(pk.NoMemory):
        k.spawn(IDLE, name="b", parent=a)
    b = k.process(a.pid + 1)
    assert (a.children, b.parent, k.audit().problems()) == ([], None, [])


def test_a_snapshot_of_the_older_format_is_refused_naming_its_version():
    import struct
    k = kernel()
    k.spawn(IDLE)
    data = k.snapshot()
    old = data[:8] + struct.pack("<I", 1) + data[12:]
    with pytest.raises(pk.SnapshotError, match="format version 1") as info:
        pk.Kernel.restore(old)
    assert info.value.reason == "version"


def test_audit_finds_the_tree_consistent():
    k = kernel()
    a = k.spawn(IDLE, name="a")
    b = k.spawn(quick(ns=MS), name="b", parent=a)
    k.spawn(IDLE, parent=b)
    k.spawn(quick(ns=MS), parent=a)
    k.run(until=2 * MS)
    au = k.audit()
    assert (au.tree_bad_links, au.tree_cycles, au.problems()) == (0, 0, [])


# A random forest: each step spawns a child of a random living process
# (or a root), marks one a subreaper, or lets time pass so that some end.
# The audit must find the tree consistent after every step (every child
# listed by its living parent, no cycle), and once all have ended, roots
# included, every process has been reaped.
@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(1, 4)),
                min_size=1, max_size=40))
def test_random_trees_follow_the_reaper_rule(steps):
    k = kernel()
    procs = []
    for kind, pick, dur in steps:
        living = [p for p in procs if p.state in ("new", "alive")]
        if kind == 0 or not living:
            parent = living[pick % len(living)] if living and pick % 3 else None
            p = k.spawn(quick(ns=dur * MS), parent=parent)
            procs.append(p)
        elif kind == 1:
            living[pick % len(living)].subreaper = True
        else:
            k.run(until=k.now + dur * MS)
        assert k.audit().problems() == []
    if any(p.state in ("new", "alive") for p in procs):
        k.run()
    assert k.audit().problems() == []
    assert all(p.state == "exited" and p.parent is None and p.children == [] for p in procs)


class _Model:
    """The tree as kernel/exit.c's rules say it must be, replayed from the
    order in which processes ended."""

    def __init__(self):
        self.parent, self.kids, self.state, self.sub = {}, {}, {}, set()

    def spawn(self, pid, parent):
        self.parent[pid], self.kids[pid], self.state[pid] = parent, [], "alive"
        if parent is not None:
            self.kids[parent].append(pid)

    def end(self, pid):
        reaper, a = None, self.parent[pid]
        while a is not None:                      # find_new_reaper
            if a in self.sub:
                reaper = a
                break
            reaper, a = a, self.parent[a]
        for c in self.kids[pid]:
            self.parent[c] = reaper
            if reaper is not None:
                self.kids[reaper].append(c)
            elif self.state[c] == "zombie":
                self.state[c] = "exited"
        self.kids[pid] = []
        self.state[pid] = "zombie" if self.parent[pid] is not None else "exited"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 50), st.integers(1, 20)),
                min_size=1, max_size=30))
# root R, subreaper S below it, X below S with a child Y; X ends first and
# S, not R, adopts Y
@example([(0, 0, 20), (0, 1, 20), (1, 1, 1), (0, 5, 10), (0, 2, 20),
          (2, 0, 20), (2, 0, 20), (2, 0, 20), (2, 0, 20), (2, 0, 20)])
def test_random_trees_match_the_reaper_rule_step_by_step(steps):
    # one CPU: processes end one at a time, in the order of their finish;
    # round robin lets a short child end before its long parent
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=MS // 10), costs=pk.Costs.zero())
    m, procs = _Model(), []
    for kind, pick, dur in steps:
        living = [p for p in procs if m.state[p.pid] == "alive"]
        if kind == 0 or not living:
            parent = living[pick % len(living)] if living and pick % 3 else None
            p = k.spawn(quick(ns=dur * MS), parent=parent)
            procs.append(p)
            m.spawn(p.pid, None if parent is None else parent.pid)
        elif kind == 1:
            living[pick % len(living)].subreaper = True
            m.sub.add(living[pick % len(living)].pid)
        else:
            k.run(until=k.now + dur * MS)
            ended = [p for p in living if p.stats.finish is not None]
            for p in sorted(ended, key=lambda p: p.stats.finish):
                m.end(p.pid)
        for p in procs:
            assert p.ppid == m.parent[p.pid], p
            assert [c.pid for c in p.children] == m.kids[p.pid], p
            want = m.state[p.pid]
            assert p.state in (("new", "alive") if want == "alive" else (want,)), p


# ---- the C entry points refuse what would break the tree --------------------------

def test_the_core_refuses_a_second_parent_a_self_parent_and_unknown_pids():
    from pykernel._ffi import lib
    k = kernel()
    a, b = k.spawn(IDLE), k.spawn(IDLE)
    c = k.spawn(IDLE, parent=a)
    assert lib.pk_proc_set_parent(k._kp, c.pid, b.pid) == lib.PK_ERR_BAD_STATE
    assert lib.pk_proc_set_parent(k._kp, b.pid, b.pid) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_proc_set_parent(k._kp, b.pid, 99) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_proc_set_parent(k._kp, a.pid, c.pid) == lib.PK_ERR_BAD_STATE   # a has a child
    assert lib.pk_proc_subreaper_set(k._kp, a.pid, 2) == lib.PK_ERR_INVALID_ARGS
    assert k.audit().problems() == []


def test_the_core_refuses_a_parent_that_has_ended():
    from pykernel._ffi import lib
    k = kernel()
    a = k.spawn(quick(), name="a")
    k.run()
    b = k.spawn(IDLE)
    assert lib.pk_proc_set_parent(k._kp, b.pid, a.pid) == lib.PK_ERR_BAD_STATE
