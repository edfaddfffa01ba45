"""The file system's snapshot section (csrc/unix/pk_fs.c, the FS section): a
restored kernel has the same tree, and a damaged section is refused or
loads into a file system whose books balance, never a crash.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pykernel as pk
from pykernel.snapshot import SnapshotError
from test_snapshot_objects import sealed


def small() -> bytes:
    k = pk.Kernel()
    k.fs.mkdir("/etc/conf.d", parents=True)
    k.fs.write("/etc/hostname", b"pk\n")
    k.fs.link("/etc/hostname", "/etc/name")
    k.fs.symlink("../etc/hostname", "/tmp/h")
    k.fs.write("/tmp/x", b"")
    k.fs.remove("/tmp/x")
    return k.snapshot()


def fs_section(data: bytes) -> tuple[int, int]:
    """(start, end) of the FS section's payload."""
    at = data.index(b"FS  \x01\x00\x00\x00")
    (n,) = struct.unpack_from("<Q", data, at + 8)
    assert data[at + 16 + n:at + 16 + n + 4] == b"SCHD"
    return at + 16, at + 16 + n


def test_two_kernels_built_alike_snapshot_alike():
    assert small() == small()


def test_the_section_follows_the_objects_section():
    data = small()
    start, _ = fs_section(data)
    assert data.rindex(b"OBJS", 0, start) < start


def test_a_link_count_that_does_not_match_the_names_is_refused():
    data = bytearray(small())
    start, _ = fs_section(data)
    # n, free_head, max_bytes, max_inodes, vseq; then inode 1 (the root): mode, uid, gid, nlink
    root = start + struct.calcsize("<IIQQQ")
    assert struct.unpack_from("<I", data, root)[0] == 0o40755
    struct.pack_into("<I", data, root + 12, struct.unpack_from("<I", data, root + 12)[0] + 1)
    with pytest.raises(SnapshotError) as err:
        pk.Kernel.restore(sealed(bytes(data)))
    assert err.value.reason == "section"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_flipped_byte_is_refused_or_loads_balanced(data):
    snap = small()
    start, end = fs_section(snap)
    i = data.draw(st.integers(start, end - 1))
    b = bytearray(snap)
    b[i] ^= data.draw(st.integers(1, 255))
    try:
        k = pk.Kernel.restore(sealed(bytes(b)))
    except SnapshotError:
        return
    assert k.audit().problems() == []
    k.fs.listdir("/")
    # in the root: a flip in a name byte gives a valid tree in which
    # /tmp may be called something else
    k.fs.write("/after", b"ok")
    assert k.fs.read("/after") == b"ok"
