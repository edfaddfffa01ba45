"""hypothesis: random sends, receives, duplicates, transfers and closes
across processes never lose or duplicate a message or a handle, and never
crash (issue: "Tests must show"). A Python model of REFERENCE.md's Zircon
rules predicts every outcome; after each step every process's table must
hold exactly the objects the model says, and messages arrive once, in
order, with the handles they carried."""

from collections import Counter, deque

from hypothesis import given, settings, strategies as st

import pykernel as pk
from conftest import make_kernel

IDLE = pk.Program.script("idle", [pk.op.sleep(10**9)])
NPROC = 3

ops = st.lists(st.tuples(st.sampled_from(["event", "channel", "write", "write_h", "read",
                                          "dup", "close"]),
                         st.integers(0, NPROC - 1), st.integers(0, 1000), st.integers(0, 1000)),
               max_size=60)


class Model:
    def __init__(self, k):
        self.k = k
        self.procs = [k.spawn(IDLE) for _ in range(NPROC)]
        self.tables = [[] for _ in range(NPROC)]     # Handle views per process
        self.kind, self.refs, self.peer, self.queue = {}, Counter(), {}, {}
        self.next_msg = 0
        self.koids = {}                                # Handle -> koid, noted while valid

    def ko(self, h):
        if h not in self.koids:
            self.koids[h] = h.koid
        return self.koids[h]

    def add(self, i, h, kind):
        self.tables[i].append(h)
        self.kind[self.ko(h)] = kind
        self.refs[self.ko(h)] += 1
        if kind == "channel":
            self.queue[self.ko(h)] = deque()

    def unref(self, koid):
        self.refs[koid] -= 1
        if self.refs[koid]:
            return
        del self.refs[koid]
        if self.kind[koid] == "channel":           # its queue goes, and what it carried
            for _, carried in self.queue.pop(koid):
                for c in carried:
                    self.unref(c)
            p = self.peer.pop(koid, None)
            if p is not None:
                self.peer.pop(p, None)

    def pick(self, i, n, kind=None):
        hs = [h for h in self.tables[i] if kind is None or self.kind[self.ko(h)] == kind]
        return hs[n % len(hs)] if hs else None

    def step(self, what, i, x, y):
        t = self.tables[i]
        if what == "event":
            self.add(i, self.procs[i].event_create(), "event")
        elif what == "channel":
            a, b = self.procs[i].channel_create()
            self.add(i, a, "channel")
            self.add(i, b, "channel")
            self.peer[self.ko(a)], self.peer[self.ko(b)] = self.ko(b), self.ko(a)
        elif what in ("write", "write_h"):
            self.write(i, x, y, what == "write_h")
        elif what == "read":
            self.read(i, x)
        elif what == "dup":
            h = self.pick(i, x, "event")
            if h is not None:
                self.add(i, h.duplicate(), "event")
        elif what == "close" and t:
            h = t.pop(x % len(t))
            h.close()
            self.unref(self.koids.pop(h))

    def write(self, i, x, y, with_handle):
        ch = self.pick(i, x, "channel")
        if ch is None:
            return
        sent = None
        if with_handle:
            others = [h for h in self.tables[i] if h != ch]
            sent = others[y % len(others)] if others else None
        data = self.next_msg.to_bytes(4, "little")
        self.next_msg += 1
        if sent is not None:
            self.tables[i].remove(sent)                # it leaves the table either way
        peer = self.peer.get(self.ko(ch))
        sent_koid = self.koids.pop(sent) if sent is not None else None
        try:
            ch.write(data, handles=[sent] if sent is not None else [])
        except pk.PeerClosed:
            assert peer is None
            if sent is not None:
                self.unref(sent_koid)
            return
        assert peer is not None
        self.queue[peer].append((data, [sent_koid] if sent is not None else []))

    def read(self, i, x):
        ch = self.pick(i, x, "channel")
        if ch is None:
            return
        q = self.queue[self.ko(ch)]
        try:
            m = ch.read()
        except pk.ShouldWait:
            assert not q and self.ko(ch) in self.peer
            return
        except pk.PeerClosed:
            assert not q and self.ko(ch) not in self.peer
            return
        data, carried = q.popleft()
        assert m.data == data
        assert [self.ko(h) for h in m.handles] == carried
        self.tables[i].extend(m.handles)

    def check(self):
        for i, p in enumerate(self.procs):
            assert Counter(h.koid for h in p.handles) == Counter(map(self.ko, self.tables[i]))
        s = self.k.object_stats()
        assert s.objects == len(self.refs)
        assert s.handles == sum(len(t) for t in self.tables)
        assert s.messages == sum(len(q) for q in self.queue.values())


@settings(max_examples=300, deadline=None)
@given(ops)
def test_random_object_operations_never_lose_or_duplicate_messages_or_handles(steps):
    m = Model(make_kernel())
    for step in steps:
        m.step(*step)
        m.check()
    for p in m.procs:                               # process death closes everything
        p.kill()
    m.k.object_stats()
    assert m.k.object_stats().handles == 0
