"""hypothesis: random sends, receives, duplicates, transfers and closes
across processes never lose or duplicate a message or a handle, and never
crash (issue: "Tests must show"). A Python model of Zircon's
rules (tests/handle_model.py) predicts every outcome; after each step every process's table must
hold exactly the objects the model says, and messages arrive once, in
order, with the handles they carried."""

from collections import Counter

from hypothesis import given, settings, strategies as st

import pykernel as pk
from conftest import make_kernel
from handle_model import HandleModel

IDLE = pk.Program.script("idle", [pk.op.sleep(10**9)])
NPROC = 3

ops = st.lists(st.tuples(st.sampled_from(["event", "channel", "write", "write_h", "read",
                                          "dup", "close"]),
                         st.integers(0, NPROC - 1), st.integers(0, 1000), st.integers(0, 1000)),
               max_size=60)


class Model(HandleModel):
    def __init__(self, k):
        super().__init__()
        self.k = k
        self.procs = [k.spawn(IDLE) for _ in range(NPROC)]
        for i in range(NPROC):
            self.tables[i] = []

    def pick(self, i, n, kind=None):
        hs = [h for h in self.tables[i] if kind is None or self.kind[self.ko(h)] == kind]
        return hs[n % len(hs)] if hs else None

    def step(self, what, i, x, y):
        t = self.tables[i]
        if what == "event":
            self.add(i, self.procs[i].event_create(), "event")
        elif what == "channel":
            self.channel(i, *self.procs[i].channel_create())
        elif what in ("write", "write_h"):
            ch = self.pick(i, x, "channel")
            if ch is None:
                return
            others = [h for h in t if h != ch] if what == "write_h" else []
            self.write(i, ch, others[y % len(others)] if others else None)
        elif what == "read":
            ch = self.pick(i, x, "channel")
            if ch is not None:
                self.read(i, ch)
        elif what == "dup":
            h = self.pick(i, x, "event")
            if h is not None:
                self.add(i, h.duplicate(), "event")
        elif what == "close" and t:
            self.close(i, t[x % len(t)])

    def check(self):
        for i, p in enumerate(self.procs):
            assert Counter(h.koid for h in p.handles) == Counter(map(self.ko, self.tables[i]))
        s = self.k.object_stats
        assert s.objects == len(self.refs)
        assert s.handles == sum(len(t) for t in self.tables.values())
        assert s.messages == self.messages()


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_object_operations_never_lose_or_duplicate_messages_or_handles(steps):
    m = Model(make_kernel())
    for step in steps:
        m.step(*step)
        m.check()
    for p in m.procs:                               # process death closes everything
        p.kill()
    m.k.object_stats
    assert m.k.object_stats.handles == 0
