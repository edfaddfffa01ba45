"""The file system against a model: random sequences of k.fs operations
(write, read, mkdir, remove, rename, link, truncate, listdir) on a small
tree, each compared with a Python model of a Unix file system, outcome by
outcome (the bytes, or the errno), and the whole tree compared after every
step: names in the order they were made, contents, link counts.

The model's rules are those of the man pages: path_resolution(7) (ENOTDIR
for a non-directory in the middle, ENOENT for a missing name), open(2)
(EISDIR), mkdir(2) (EEXIST), unlink(2) / rmdir(2) (ENOTEMPTY), rename(2)
(EISDIR, ENOTDIR, ENOTEMPTY, EINVAL into itself, nothing for two names of
one inode), link(2) (EPERM for directories).
"""

from __future__ import annotations

import errno

from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk


class Dir:
    def __init__(self):
        self.entries: dict = {}


class File:
    def __init__(self):
        self.data = b""


class Fail(Exception):
    def __init__(self, code: int):
        self.code = code


class Model:
    def __init__(self):
        self.root = Dir()
        self.root.entries["dev"] = Dir()
        self.root.entries["tmp"] = Dir()
        self.parent_of = {}

    def walk(self, parts):
        cur = self.root
        for c in parts:
            if not isinstance(cur, Dir):
                raise Fail(errno.ENOTDIR)
            if c not in cur.entries:
                raise Fail(errno.ENOENT)
            cur = cur.entries[c]
        return cur

    def parent(self, parts):
        d = self.walk(parts[:-1])
        if not isinstance(d, Dir):
            raise Fail(errno.ENOTDIR)
        return d, parts[-1]

    def write(self, parts, data):
        d, name = self.parent(parts)
        node = d.entries.get(name)
        if isinstance(node, Dir):
            raise Fail(errno.EISDIR)
        if node is None:
            node = d.entries[name] = File()
        node.data = data

    def read(self, parts):
        node = self.walk(parts)
        if isinstance(node, Dir):
            raise Fail(errno.EISDIR)
        return node.data

    def mkdir(self, parts):
        d, name = self.parent(parts)
        if name in d.entries:
            raise Fail(errno.EEXIST)
        d.entries[name] = Dir()

    def remove(self, parts):
        d, name = self.parent(parts)
        node = d.entries.get(name)
        if node is None:
            raise Fail(errno.ENOENT)
        if isinstance(node, Dir) and node.entries:
            raise Fail(errno.ENOTEMPTY)
        del d.entries[name]

    def inside(self, d, ancestor) -> bool:
        """Whether directory d is ancestor or below it."""
        stack = [ancestor]
        while stack:
            x = stack.pop()
            if x is d:
                return True
            stack += [c for c in x.entries.values() if isinstance(c, Dir)]
        return False

    def rename(self, old, new):
        od, on = self.parent(old)
        nd, nn = self.parent(new)
        src = od.entries.get(on)
        if src is None:
            raise Fail(errno.ENOENT)
        dst = nd.entries.get(nn)
        if dst is src:
            return
        if isinstance(src, Dir):
            if dst is not None and not isinstance(dst, Dir):
                raise Fail(errno.ENOTDIR)
            if dst is not None and dst.entries:
                raise Fail(errno.ENOTEMPTY)
            if self.inside(nd, src):
                raise Fail(errno.EINVAL)
        elif isinstance(dst, Dir):
            raise Fail(errno.EISDIR)
        if dst is not None:
            del nd.entries[nn]
        del od.entries[on]
        nd.entries[nn] = src

    def link(self, old, new):
        src = self.walk(old)
        nd, nn = self.parent(new)
        if nn in nd.entries:
            raise Fail(errno.EEXIST)
        if isinstance(src, Dir):
            raise Fail(errno.EPERM)
        nd.entries[nn] = src

    def truncate(self, parts, size):
        node = self.walk(parts)
        if isinstance(node, Dir):
            raise Fail(errno.EISDIR)
        node.data = node.data[:size] + bytes(max(0, size - len(node.data)))

    def listdir(self, parts):
        node = self.walk(parts)
        if not isinstance(node, Dir):
            raise Fail(errno.ENOTDIR)
        return list(node.entries)

    def links(self, node) -> int:
        """st_nlink the model expects."""
        count, subdirs, stack = 0, 0, [self.root]
        while stack:
            d = stack.pop()
            for c in d.entries.values():
                if c is node:
                    count += 1
                if isinstance(c, Dir):
                    stack.append(c)
        if isinstance(node, Dir):
            subdirs = sum(isinstance(c, Dir) for c in node.entries.values())
            return 2 + subdirs if node is self.root else count + 1 + subdirs
        return count


# a few paths, so that operations meet each other's names often
PATHS = st.sampled_from([["a"], ["b"], ["x"], ["a", "x"], ["a", "b"], ["b", "a"], ["a", "x", "a"],
                         ["x", "a"], ["tmp", "a"]])
DATA = st.binary(max_size=9000)
OPS = st.one_of(
    st.tuples(st.just("write"), PATHS, DATA),
    st.tuples(st.just("read"), PATHS),
    st.tuples(st.just("mkdir"), PATHS),
    st.tuples(st.just("remove"), PATHS),
    st.tuples(st.just("rename"), PATHS, PATHS),
    st.tuples(st.just("link"), PATHS, PATHS),
    st.tuples(st.just("truncate"), PATHS, st.integers(0, 9000)),
    st.tuples(st.just("listdir"), PATHS),
)


def path(parts) -> str:
    return "/" + "/".join(parts)


def run_real(fs, op):
    name, args = op[0], op[1:]
    if name in ("rename", "link"):
        return getattr(fs, name)(path(args[0]), path(args[1]))
    if name in ("write", "truncate"):
        return getattr(fs, name)(path(args[0]), args[1]) if name == "truncate" else \
            fs.write(path(args[0]), args[1])
    return getattr(fs, name)(path(args[0]))


def run_model(m, op):
    name, args = op[0], op[1:]
    if name in ("rename", "link"):
        return getattr(m, name)(args[0], args[1])
    if name in ("write", "truncate"):
        return getattr(m, name)(args[0], args[1])
    return getattr(m, name)(args[0])


def compare_tree(k, m):
    stack = [("/", m.root)]
    while stack:
        p, node = stack.pop()
        st_ = k.fs.stat(p)
        assert st_.nlink == m.links(node), p
        if isinstance(node, Dir):
            assert k.fs.listdir(p) == list(node.entries), p
            for name, child in node.entries.items():
                if p != "/" or name not in ("dev", "tmp"):
                    stack.append((p.rstrip("/") + "/" + name, child))
        else:
            assert k.fs.read(p) == node.data, p


@settings(max_examples=200, deadline=None)
@given(st.lists(OPS, min_size=5, max_size=40))
def test_file_system_matches_the_model(ops):
    k, m = pk.Kernel(), Model()
    start = [("mkdir", ["a"]), ("mkdir", ["b"]), ("write", ["x"], b"x"), ("write", ["a", "b"], b"ab")]
    for op in start + ops:
        try:
            want, want_err = run_model(m, op), None
        except Fail as f:
            want, want_err = None, f.code
        try:
            got, got_err = run_real(k.fs, op), None
        except pk.KernelError as e:
            got, got_err = None, e.errno
        assert got_err == want_err, op
        if op[0] in ("read", "listdir"):
            assert got == want, op
        compare_tree(k, m)
    assert k.audit().problems() == []
    r = pk.Kernel.restore(k.snapshot())
    compare_tree(r, m)
