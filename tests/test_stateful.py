"""Stateful property test (hypothesis RuleBasedStateMachine) over the
public API: spawn, kill, fork, exit, map, unmap, touch, channel create,
write, read and close, event create and duplicate, runs of random length.

After every step the invariants must hold (docs/trust.md, "Stateful
tests"):
  - time is conserved: on each CPU busy + idle + overhead == now
    (CpuStats), and for every finished thread cpu_time + wait + blocked
    == turnaround (Stats);
  - statistics add up: the CPUs' switches sum to the kernel's
    context_switches, live_threads is the number of threads that have not
    exited, and the kernel counts every process;
  - no frame leaks: Kernel.audit() recounts frame references from every
    page table and finds each frame's count, frames in use == frames -
    free, and the page-table pages counted;
  - every handle is in exactly one table or one message: the audit finds
    the tables and queues agree with the reference counts, and a Python
    model of Zircon's rules (tests/handle_model.py)
    predicts each table's objects, the messages queued and the handles
    they carry;
  - nothing crashes (any unexpected exception fails the test).
"""

from collections import Counter

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import pykernel as pk
from conftest import assert_time_conserved
from handle_model import HandleModel

S = pk.op
BASE = 0x4000_0000
PAGE = 4096
MAX_LIVE = 8

PROGRAMS = {
    # maps and touches 16 pages, then computes and sleeps for a long time
    "worker": pk.Program.script("worker", [
        S.map(BASE, 16 * PAGE), S.touch_range(BASE, 16 * PAGE, write_ratio=0.5),
        S.loop(200, [S.compute(3000), S.sleep(7000)])]),
    # forks a child that writes to the shared pages (copy-on-write) and exits
    "forker": pk.Program.script("forker", [
        S.map(BASE, 8 * PAGE), S.touch_range(BASE, 8 * PAGE, write_ratio=1.0),
        S.fork([S.touch(BASE, True), S.compute(2000), S.exit(3)]),
        S.loop(100, [S.compute(2000), S.sleep(9000)])]),
    # exits by itself soon
    "short": pk.Program.script("short", [S.compute(4000), S.exit(1)]),
}
# a thread that touches memory in an existing process; a page outside
# every region kills its process (a fatal fault)
TOUCHERS = [pk.Program.script(f"touch{n}", [S.touch_range(BASE, n * PAGE, write_ratio=1.0),
                                            S.thread_exit(0)]) for n in (1, 8, 32)]


class KernelMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=5000),
                           memory=pk.Memory(frames=1024, swap=64), seed=7)
        self.procs = []                      # processes the test spawned
        self.ended = set()                   # pids whose tables the model emptied
        self.model = HandleModel()           # tables keyed by pid

    def ko(self, h):
        return self.model.ko(h)

    def live(self):
        return [p for p in self.procs if p.state not in ("exited", "killed")]

    def reap(self):
        """Process death closes every handle in its table."""
        for p in self.procs:
            if p.pid not in self.ended and p.state in ("exited", "killed"):
                self.ended.add(p.pid)
                self.model.drop_table(p.pid)

    def handles_of(self, data, kind=None):
        pairs = [(pid, h) for pid, t in sorted(self.model.tables.items()) for h in t
                 if kind is None or self.model.kind[self.ko(h)] == kind]
        return data.draw(st.sampled_from(pairs)) if pairs else (None, None)

    # ---- rules ---------------------------------------------------------------

    @precondition(lambda self: len(self.live()) < MAX_LIVE)
    @rule(name=st.sampled_from(sorted(PROGRAMS)), at=st.integers(0, 20_000))
    def spawn(self, name, at):
        p = self.k.spawn(PROGRAMS[name], at=self.k.now + at)
        self.procs.append(p)
        self.model.tables[p.pid] = []

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def kill(self, data):
        data.draw(st.sampled_from(self.live())).kill()
        self.reap()

    @precondition(lambda self: self.k.stats.live_threads)     # else run() is BadState
    @rule(ns=st.integers(0, 60_000))
    def run(self, ns):
        self.k.run(until=self.k.now + ns)
        self.reap()

    @precondition(lambda self: self.live())
    @rule(data=st.data(), n=st.sampled_from(range(len(TOUCHERS))))
    def touch(self, data, n):
        data.draw(st.sampled_from(self.live())).thread_create(TOUCHERS[n])

    @precondition(lambda self: self.live())
    @rule(data=st.data(), page=st.integers(0, 40), pages=st.integers(1, 24))
    def map(self, data, page, pages):
        p = data.draw(st.sampled_from(self.live()))
        p.aspace.map(BASE + page * PAGE, pages * PAGE)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), page=st.integers(0, 40), pages=st.integers(1, 24))
    def unmap(self, data, page, pages):
        p = data.draw(st.sampled_from(self.live()))
        p.aspace.unmap(BASE + page * PAGE, pages * PAGE)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def channel_create(self, data):
        p = data.draw(st.sampled_from(self.live()))
        self.model.channel(p.pid, *p.channel_create())

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def event_create(self, data):
        p = data.draw(st.sampled_from(self.live()))
        self.model.add(p.pid, p.event_create(), "event")

    @rule(data=st.data(), carry=st.booleans())
    def write(self, data, carry):
        pid, ch = self.handles_of(data, "channel")
        if ch is None:
            return
        sent = None
        if carry:
            others = [h for h in self.model.tables[pid] if h is not ch]
            sent = data.draw(st.sampled_from(others)) if others else None
        self.model.write(pid, ch, sent)

    @rule(data=st.data())
    def read(self, data):
        pid, ch = self.handles_of(data, "channel")
        if ch is not None:
            self.model.read(pid, ch)

    @rule(data=st.data())
    def close(self, data):
        pid, h = self.handles_of(data)
        if h is not None:
            self.model.close(pid, h)

    @rule(data=st.data())
    def duplicate(self, data):
        pid, h = self.handles_of(data, "event")
        if h is not None:
            self.model.add(pid, h.duplicate(), "event")

    # ---- invariants -------------------------------------------------------------

    @invariant()
    def time_is_conserved(self):
        assert_time_conserved(self.k)

    @invariant()
    def statistics_add_up(self):
        s = self.k.stats
        assert sum(c.switches for c in s.cpus) == s.context_switches
        procs = self.k.processes
        assert len(procs) == s.processes
        threads = [t for p in procs for t in p.threads]
        assert len(threads) == s.threads
        assert sum(t.state != "exited" for t in threads) == s.live_threads

    @invariant()
    def no_frame_or_handle_leaks(self):
        a = self.k.audit()
        assert a.problems() == []
        assert a.flight_handles == self.model.handles_in_flight()
        assert a.messages == self.model.messages()

    @invariant()
    def every_table_holds_what_the_model_says(self):
        tracked = {p.pid for p in self.procs}
        for p in self.k.processes:
            want = Counter(map(self.ko, self.model.tables.get(p.pid, []))) if p.pid in tracked \
                else Counter()
            assert Counter(h.koid for h in p.handles) == want, p
        assert self.k.object_stats.objects == len(self.model.refs)


KernelMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_kernel_state_machine = KernelMachine.TestCase
