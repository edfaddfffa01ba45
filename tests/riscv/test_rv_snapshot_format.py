"""The snapshot format of kernels running machine code stays what it was
(docs/snapshot.md, "Format"): the kernels of tests/snapshot_format.py
that run compiled test programs (a pipe with bytes in flight, a zombie
and a blocked pending signal, a thread asleep beside one waiting on a
pipe) write snapshots whose core bytes have the recorded SHA-256, and
the kept snapshot of the bundled example loads and writes itself again
unchanged."""

from __future__ import annotations

import gzip
import json

import pytest

from rvrun import program  # noqa: F401 (a fixture)

import pykernel as pk
import snapshot_format as fmt

SUMS = json.loads((fmt.DATA / "core_sha256.json").read_text())
RV = sorted(n for n in fmt.KERNELS if n.startswith("rv_"))


@pytest.mark.parametrize("name", RV)
def test_a_machine_code_snapshot_is_byte_identical_to_the_recorded_one(name, program):
    data = fmt.build(name, program).snapshot()
    assert len(fmt.core_bytes(data)) == SUMS[name]["bytes"]
    assert fmt.digest(data) == SUMS[name]["sha256"]


def test_the_kept_machine_code_snapshot_loads_and_goes_on_as_built_afresh():
    data = gzip.decompress((fmt.DATA / "rv_hello.snap.gz").read_bytes())
    restored = pk.Kernel.restore(data)
    assert restored.snapshot() == data
    fresh = fmt.build("rv_hello")
    restored.run()
    fresh.run()
    assert bytes(restored.process(0).stdout) == bytes(fresh.process(0).stdout) == b"hello, world\n"
    assert (restored.now, restored.digest()) == (fresh.now, fresh.digest())


def test_the_machine_code_snapshot_of_memory_version_3_still_loads_and_goes_on_alike():
    # written before the memory section's version 4 (tests/test_snapshot_format.py)
    data = gzip.decompress((fmt.DATA / "mem3" / "rv_hello.snap.gz").read_bytes())
    restored, fresh = pk.Kernel.restore(data), fmt.build("rv_hello")
    assert fmt.core_bytes(restored.snapshot()) == fmt.core_bytes(fresh.snapshot())
    restored.run()
    fresh.run()
    assert bytes(restored.process(0).stdout) == bytes(fresh.process(0).stdout) == b"hello, world\n"
    assert (restored.now, restored.digest()) == (fresh.now, fresh.digest())
