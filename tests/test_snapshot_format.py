"""The snapshot format stays what it was (docs/snapshot.md, "Format").

tests/data/snapshot_format/ holds what the build of format version 3
wrote for the kernels of tests/snapshot_format.py: the SHA-256 of each
snapshot's core bytes, and a few whole snapshots.  A snapshot of the same
kernel written now must be byte-identical, and the kept files must load,
write themselves again unchanged and go on as a kernel built afresh does.
"""

from __future__ import annotations

import gzip
import json

import pytest

import pykernel as pk
import snapshot_format as fmt

SUMS = json.loads((fmt.DATA / "core_sha256.json").read_text())
PLAIN = sorted(n for n, make in fmt.KERNELS.items() if not getattr(make, "needs_program", False))


def kept(name: str) -> bytes:
    return gzip.decompress((fmt.DATA / f"{name}.snap.gz").read_bytes())


def test_every_kernel_has_a_recorded_sum():
    assert sorted(SUMS) == sorted(fmt.KERNELS)


@pytest.mark.parametrize("name", PLAIN)
def test_a_snapshot_is_byte_identical_to_the_recorded_one(name):
    data = fmt.build(name).snapshot()
    assert len(fmt.core_bytes(data)) == SUMS[name]["bytes"]
    assert fmt.digest(data) == SUMS[name]["sha256"]


@pytest.mark.parametrize("name", [n for n in fmt.FILES if n in PLAIN])
def test_a_kept_snapshot_loads_and_writes_itself_again_unchanged(name):
    data = kept(name)
    assert pk.Kernel.restore(data).snapshot() == data


@pytest.mark.parametrize("name", [n for n in fmt.FILES if n in PLAIN and n != "fs_small"])
def test_a_kept_snapshot_goes_on_as_the_kernel_built_afresh(name):
    # (fs_small has no process to run: its file system is compared whole above)
    restored, fresh = pk.Kernel.restore(kept(name)), fmt.build(name)
    restored.run()
    fresh.run()
    assert (restored.now, restored.digest()) == (fresh.now, fresh.digest())



def test_a_section_of_another_version_is_refused_by_its_tag():
    # each section is read only at the version its row of the section table
    # names (csrc/snap/pk_snap_core.c); FS is version 1
    from test_snapshot_objects import sealed
    data = kept("fs_small")
    at = data.index(b"FS  \x01\x00\x00\x00")
    bumped = sealed(data[:at + 4] + b"\x02" + data[at + 5:])
    with pytest.raises(pk.SnapshotError, match="malformed in section 'FS  '") as info:
        pk.Kernel.restore(bumped)
    assert info.value.reason == "section"


# Snapshots written before the memory section's version 4 (which added the
# inode of a page cache to each shared-memory object, docs/snapshot.md):
# they still load, and go on as the kernel built afresh; written again they
# carry the current version.
MEM3 = fmt.DATA / "mem3"


@pytest.mark.parametrize("name", ["memory_touches"])
def test_a_memory_section_of_version_3_still_loads_and_goes_on_alike(name):
    data = gzip.decompress((MEM3 / f"{name}.snap.gz").read_bytes())
    restored, fresh = pk.Kernel.restore(data), fmt.build(name)
    assert fmt.core_bytes(restored.snapshot()) == fmt.core_bytes(fresh.snapshot())
    restored.run()
    fresh.run()
    assert (restored.now, restored.digest()) == (fresh.now, fresh.digest())
