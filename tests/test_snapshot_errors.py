"""Snapshots that cannot be restored, and kernels that cannot be
snapshotted: each is refused with an error that says why, and nothing
crashes (docs/snapshot.md, "What is refused").

Header layout (csrc/snap/pk_snap_core.c): bytes 0-7 magic, 8-11 format
version, 12-15 zero, 16-23 total length, 24-31 layout fingerprint; the
last 8 bytes are the checksum of everything before them.
"""

import random
import struct

import pytest

import pykernel as pk
from pykernel._ffi import ffi, lib
from snapshot_workloads import CPU, mixed


@pytest.fixture(scope="module")
def snap():
    k = pk.Kernel(cpus=2, scheduler=pk.sched.CFS(), seed=1, trace=True)
    mixed(k, rt=True)
    k.run(until=40_000)
    return k.snapshot()


def reason_of(data):
    with pytest.raises(pk.SnapshotError) as info:
        pk.Kernel.restore(data)
    return info.value.reason


def resealed(data: bytes) -> bytes:
    """data with its checksum recomputed (a crafted snapshot)."""
    body = data[:-8]
    return body + struct.pack("<Q", lib.pk_snapshot_checksum(body, len(body)))


# ---- restore refuses -----------------------------------------------------------

def test_empty_bytes_are_refused():
    assert reason_of(b"") == "empty"


def test_random_bytes_are_refused():
    data = random.Random(5).randbytes(4096)
    assert reason_of(data) == "magic"


def test_wrong_magic_is_refused(snap):
    assert reason_of(b"\x88" + snap[1:]) == "magic"


def test_wrong_version_is_refused_naming_the_version(snap):
    data = snap[:8] + struct.pack("<I", 99) + snap[12:]
    with pytest.raises(pk.SnapshotError, match="format version 99") as info:
        pk.Kernel.restore(data)
    assert info.value.reason == "version"


@pytest.mark.parametrize("keep", [3, 8, 31, 32, 1000, -1])
def test_truncated_snapshot_is_refused(snap, keep):
    assert reason_of(snap[:keep]) == "truncated"


def test_truncation_message_gives_both_lengths(snap):
    with pytest.raises(pk.SnapshotError, match=f"it is 1000 bytes, its header says {len(snap)}"):
        pk.Kernel.restore(snap[:1000])


def test_trailing_bytes_are_refused(snap):
    assert reason_of(snap + b"\0") == "trailing"


@pytest.mark.parametrize("where", ["config", "core", "middle", "checksum"])
def test_a_flipped_byte_is_refused_as_corruption(snap, where):
    at = {"config": 40, "core": 800, "middle": len(snap) // 2, "checksum": len(snap) - 3}[where]
    data = bytearray(snap)
    data[at] ^= 0x5A
    assert reason_of(bytes(data)) == "checksum"


def test_flipped_bytes_anywhere_are_refused():
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=3_000), seed=2)
    mixed(k)
    k.run(until=25_000)
    snap = k.snapshot()
    rng = random.Random(17)
    reasons = set()
    for _ in range(200):
        data = bytearray(snap)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        reasons.add(reason_of(bytes(data)))
    assert reasons <= {"magic", "version", "truncated", "trailing", "checksum"}
    assert "checksum" in reasons


def test_another_layout_is_refused(snap):
    data = bytearray(snap)
    data[24] ^= 1                                 # the layout fingerprint
    assert reason_of(resealed(bytes(data))) == "layout"


CRAFT_POLICIES = [pk.sched.CFS(), pk.sched.EEVDF(), pk.sched.MLFQ(), pk.sched.Lottery(),
                  pk.sched.Priority(), pk.sched.SJF(), pk.sched.RoundRobin(quantum=3_000),
                  pk.sched.Stride()]


@pytest.mark.parametrize("policy", CRAFT_POLICIES, ids=lambda p: type(p).__name__)
def test_crafted_snapshots_never_crash(policy):
    """Bytes changed inside the sections with the checksum made valid
    again (a crafted file): restore either refuses or gives a kernel that
    runs and snapshots again; nothing crashes (run under the sanitizers
    in CI)."""
    k = pk.Kernel(cpus=2, scheduler=policy, seed=1, trace=True)
    mixed(k, rt=True)
    k.run(until=40_000)
    snap = k.snapshot()
    rng = random.Random(23)
    outcomes = set()
    for _ in range(150):
        data = bytearray(snap)
        for _ in range(rng.choice((1, 1, 2, 4))):
            at = rng.randrange(32, len(data) - 8)
            data[at] = rng.randrange(256) if rng.random() < 0.5 else data[at] ^ 1 << rng.randrange(8)
        try:
            copy = pk.Kernel.restore(resealed(bytes(data)))
        except pk.KernelError as exc:
            outcomes.add(type(exc).__name__)
            continue
        outcomes.add("restored")
        try:
            copy.run(until=copy.now + 100_000)
            copy.snapshot()
        except (pk.KernelError, ValueError):
            pass
    assert {"SnapshotError", "restored"} <= outcomes


CORE_LENGTH_AT = 32 + 756 + 8    # after the header and the configuration (756 bytes)


def test_a_section_longer_than_the_snapshot_is_refused(snap):
    assert snap[CORE_LENGTH_AT - 8:CORE_LENGTH_AT - 4] == b"CORE"
    bad = snap[:CORE_LENGTH_AT] + struct.pack("<Q", 1 << 40) + snap[CORE_LENGTH_AT + 8:]
    with pytest.raises(pk.SnapshotError, match="malformed in section") as info:
        pk.Kernel.restore(resealed(bad))
    assert info.value.reason == "section"


def test_restore_needs_bytes_or_a_path():
    with pytest.raises(TypeError, match="bytes of a snapshot or a path"):
        pk.Kernel.restore(12)


def test_restore_from_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        pk.Kernel.restore(tmp_path / "none.pksnap")


# ---- snapshot refuses --------------------------------------------------------------

def body(ctx):
    yield ctx.compute(1_000)
    yield ctx.sleep(5_000)
    yield ctx.compute(1_000)


def test_live_python_thread_bodies_are_refused_by_name():
    k = pk.Kernel()
    k.spawn(CPU)
    p = k.spawn(pk.Program.python("gen", body), name="pyworker")
    k.run(until=1_500)
    named = rf"tid {p.pid} \(process 'pyworker', program 'gen'\)"
    with pytest.raises(pk.NotSupported, match=named):
        k.snapshot()


def test_python_threads_not_yet_started_are_refused():
    k = pk.Kernel()
    k.spawn(pk.Program.python("gen", body), at=10_000)
    with pytest.raises(pk.NotSupported, match="Python generators"):
        k.snapshot()


def test_many_python_threads_are_summarised():
    k = pk.Kernel()
    k.spawn_many(pk.Program.python("gen", body), 8)
    with pytest.raises(pk.NotSupported, match="and 3 more"):
        k.snapshot()


def test_finished_python_threads_do_not_prevent_a_snapshot():
    k = pk.Kernel()
    k.spawn(pk.Program.python("gen", body))
    k.spawn(CPU)
    k.run()
    copy = pk.Kernel.restore(k.snapshot())
    assert copy.processes[0].program.name == "gen"


def test_a_restored_python_program_cannot_be_spawned_again():
    k = pk.Kernel()
    k.spawn(pk.Program.python("gen", body))
    k.run()
    copy = pk.Kernel.restore(k.snapshot())
    with pytest.raises(pk.NotSupported, match="without its Python body"):
        copy.spawn(copy.processes[0].program)


class Fifo(pk.sched.Policy):
    def __init__(self):
        self.q = []

    def enqueue(self, tid, why):
        self.q.append(tid)

    def dequeue(self, tid, why):
        self.q.remove(tid)

    def pick_next(self):
        return self.q.pop(0)


def test_a_policy_written_in_python_is_refused():
    k = pk.Kernel(scheduler=Fifo())
    k.spawn(CPU)
    with pytest.raises(pk.NotSupported, match=r"written in Python \(Fifo\)"):
        k.snapshot()


def test_restoring_under_a_policy_written_in_python_is_not_implemented(snap):
    with pytest.raises(NotImplementedError, match="written in Python"):
        pk.Kernel.restore(snap, scheduler=Fifo())


def test_snapshot_during_a_run_is_refused():
    k = pk.Kernel()
    seen = []

    def snapper(ctx):
        try:
            k.snapshot()
        except pk.BadState as exc:
            seen.append(str(exc))
        yield ctx.compute(10)

    k.spawn(pk.Program.python("snapper", snapper))
    k.run()
    assert len(seen) == 1 and "while it runs" in seen[0]


def test_snapshot_from_a_policy_hook_is_refused():
    class Snapping(Fifo):
        def enqueue(self, tid, why):
            self.kernel.snapshot()

    k = pk.Kernel(scheduler=Snapping())
    k.spawn(CPU)
    with pytest.raises(pk.PolicyError) as info:
        k.run()
    assert isinstance(info.value.__cause__, pk.BadState)


def test_restore_refuses_a_policy_that_cannot_take_the_threads(snap):
    k = pk.Kernel(scheduler=pk.sched.CFS())
    k.spawn(CPU, priority=500)
    with pytest.raises(pk.OutOfRange, match="cannot take thread 0"):
        pk.Kernel.restore(k.snapshot(), scheduler=pk.sched.Priority())


def test_restore_checks_argument_types(snap):
    with pytest.raises(TypeError, match="pk.sched policy"):
        pk.Kernel.restore(snap, scheduler=42)   # a name is accepted (test_rough_edges.py)
    with pytest.raises(TypeError, match="pk.Costs"):
        pk.Kernel.restore(snap, costs={"switch": 1})


def test_c_entry_points_refuse_null_arguments():
    out, n = ffi.new("uint8_t **"), ffi.new("uint64_t *")
    why = ffi.new("pk_snap_refusal *")
    assert lib.pk_kernel_snapshot(ffi.NULL, ffi.NULL, 0, out, n, why) == lib.PK_ERR_INVALID_ARGS
    kp = ffi.new("pk_kernel **")
    off = ffi.new("uint64_t *")
    status = lib.pk_kernel_restore(ffi.NULL, 0, ffi.NULL, 0, kp, off, n, why)
    assert status == lib.PK_ERR_INVALID_ARGS
    assert why.reason == lib.PK_SNAP_E_EMPTY
    assert lib.pk_kernel_restore(b"x", 1, ffi.NULL, lib.PK_RESTORE_POLICY, kp, off, n, why) \
        == lib.PK_ERR_INVALID_ARGS


def test_the_configuration_can_be_read_without_restoring(snap):
    cfg = ffi.new("pk_config *")
    why = ffi.new("pk_snap_refusal *")
    assert lib.pk_snapshot_config(snap, len(snap), cfg, why) == 0
    assert (cfg.cpus, cfg.policy, cfg.seed) == (2, lib.PK_POLICY_CFS, 1)
    assert lib.pk_snapshot_config(snap[:100], 100, cfg, why) == lib.PK_ERR_INVALID_ARGS
    assert why.reason == lib.PK_SNAP_E_TRUNCATED


def test_a_configuration_the_core_refuses_is_a_snapshot_error(snap):
    # cpus is 1..PK_MAX_CPUS (csrc/core/pk_api.h, pk_config); 0 is refused as out of range
    data = bytearray(snap)
    struct.pack_into("<I", data, 32 + ffi.offsetof("pk_config", "cpus"), 0)
    with pytest.raises(pk.SnapshotError) as info:
        pk.Kernel.restore(resealed(bytes(data)))
    assert info.value.reason == "config"
    assert str(info.value) == "the snapshot's configuration was refused: argument out of range"


def test_format_version_1_before_the_epoch_is_refused(snap):
    """Format version 2 added the configuration's epoch and the socket and
    fork costs, with the stealing options 756 bytes of configuration
    (720 in version 1): a file
    written by version 1, with its own length and checksum right, is
    refused by its version, not misread."""
    body = snap[:8] + struct.pack("<I", 1) + snap[12:32 + 720] + snap[32 + 756:-8]
    body = body[:16] + struct.pack("<Q", len(body) + 8) + body[24:]
    data = body + struct.pack("<Q", lib.pk_snapshot_checksum(body, len(body)))
    with pytest.raises(pk.SnapshotError, match="format version 1; this pykernel reads version 3") as info:
        pk.Kernel.restore(data)
    assert info.value.reason == "version"
