"""A Python model of Zircon's handle and channel rules (docs/references.md
[Zircon-handles], [Zircon-channel], [Zircon-syscalls]),
shared by the property tests (test_objects_property.py, test_stateful.py).

It predicts, for every owner (a process, under whatever key the test
uses), which objects its handle table holds, and for every channel end
the messages queued for it and the handles they carry: a handle sent in
a message leaves its table whether or not the write succeeds; a write to
a channel whose peer is closed fails with PEER_CLOSED and the handle sent
is closed; an object goes when its last handle does, and a channel end
takes its queue (and the handles in it) with it."""

from collections import Counter, deque

import pykernel as pk


class HandleModel:
    def __init__(self):
        self.tables = {}                     # owner -> [Handle]
        self.kind, self.refs, self.peer, self.queue = {}, Counter(), {}, {}
        self.koids = {}                      # Handle -> koid, noted while valid
        self.next_msg = 0

    def ko(self, h):
        if h not in self.koids:
            self.koids[h] = h.koid
        return self.koids[h]

    def add(self, owner, h, kind):
        self.tables[owner].append(h)
        self.kind[self.ko(h)] = kind
        self.refs[self.ko(h)] += 1
        if kind == "channel" and self.ko(h) not in self.queue:
            self.queue[self.ko(h)] = deque()

    def unref(self, koid):
        self.refs[koid] -= 1
        if self.refs[koid]:
            return
        del self.refs[koid]
        if self.kind[koid] == "channel":     # its queue goes, and what it carried
            for _, carried in self.queue.pop(koid):
                for c in carried:
                    self.unref(c)
            p = self.peer.pop(koid, None)
            if p is not None:
                self.peer.pop(p, None)

    def channel(self, owner, a, b):
        """The two ends of a channel just created by owner."""
        self.add(owner, a, "channel")
        self.add(owner, b, "channel")
        self.peer[self.ko(a)], self.peer[self.ko(b)] = self.ko(b), self.ko(a)

    def write(self, owner, ch, sent=None):
        """Write a new numbered message on ch, carrying handle `sent` (or
        none), and check the outcome against the model."""
        data = self.next_msg.to_bytes(4, "little")
        self.next_msg += 1
        sent_koid = None
        if sent is not None:                 # it leaves the table whether or not the write works
            self.tables[owner].remove(sent)
            sent_koid = self.koids.pop(sent)
        peer = self.peer.get(self.ko(ch))
        try:
            ch.write(data, handles=[sent] if sent is not None else [])
        except pk.PeerClosed:
            assert peer is None
            if sent_koid is not None:
                self.unref(sent_koid)
            return
        assert peer is not None
        self.queue[peer].append((data, [sent_koid] if sent_koid is not None else []))

    def read(self, owner, ch):
        """Read from ch: the oldest message queued for it arrives, with the
        handles it carried, which join owner's table."""
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
        self.tables[owner].extend(m.handles)

    def close(self, owner, h):
        self.tables[owner].remove(h)
        h.close()
        self.unref(self.koids.pop(h))

    def drop_table(self, owner):
        """Process death closes every handle in its table."""
        for h in self.tables.pop(owner, []):
            self.unref(self.koids.pop(h))

    def messages(self):
        return sum(len(q) for q in self.queue.values())

    def handles_in_flight(self):
        return sum(len(c) for q in self.queue.values() for _, c in q)
