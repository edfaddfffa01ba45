"""Kernels whose snapshots pin the snapshot format (docs/snapshot.md).

``KERNELS`` names a set of kernels, each stopped mid-run with something of
every section in flight: run queues of every policy, the job log, the
trace, memory with swap and shared objects, kernel objects with messages
and waits, the file system, descriptor tables with pipe bytes, zombies
and pending signals of machine-code processes.  ``tests/data/snapshot_format/``
holds what the build of format version 3 (memory section version 4)
wrote for them: the SHA-256 of
the core's bytes of each (``core_bytes``: the whole file but the HOST
section's payload, which is the Python side's, and the length and
checksum that cover it) and a few whole snapshots that must still load;
``mem3/`` keeps two written before the memory section's version 4.

Run this file as a script to write them again after a deliberate change
of the format (which also bumps ``PK_SNAP_VERSION``):

    PYTHONPATH=tests:tests/riscv python tests/snapshot_format.py
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path

import pykernel as pk
import snapshot_workloads as wl

DATA = Path(__file__).parent / "data" / "snapshot_format"
#: kernels whose whole snapshots are kept as files (small ones)
FILES = ("fifo", "cfs_rt_trace", "edf_periodic", "objects_small", "fs_small", "memory_touches",
         "rv_hello")

op = pk.op
PAGE, BASE = 4096, 0x40_0000


def core_bytes(data: bytes) -> bytes:
    """``data`` without what the Python side wrote: the HOST section's
    payload, the total length in the header and the trailing checksum."""
    off = data.index(b"CORE\x01\x00\x00\x00", 32)     # after the configuration
    while True:
        tag, _, n = struct.unpack_from("<4sIQ", data, off)
        off += 16
        if tag == b"HOST":
            return data[:16] + data[24:off] + data[off + n:-8]
        off += n


def _policy_kernel(policy, cpus=1, trace=False, rt=False, until=40_000):
    k = pk.Kernel(cpus=cpus, scheduler=policy, seed=3, trace=trace)
    wl.mixed(k, rt=rt)
    k.run(until=until)
    return k


def _periodic(policy):
    k = pk.Kernel(scheduler=policy, seed=4)
    wl.periodic(k)
    k.run(until=170_000)
    return k


def _affinity(policy):
    k = pk.Kernel(cpus=4, scheduler=policy, seed=5, runqueues="per-cpu")
    wl.affinity(k)
    k.run(until=25_000)
    return k


def _objects_small():
    S = pk.Signals
    k = pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=50), costs=pk.Costs.zero())
    p = k.spawn(pk.Program.script("w", [op.wait(0, S.SIGNALED, timeout=500),
                                        op.futex_wait(256, 0)]))
    q = k.spawn(pk.Program.script("idle", [op.sleep(10**6)]))
    q.share_futexes(p)
    p.event_create()
    c, _ = q.channel_create()
    c.write(b"xy", handles=[q.event_create()])
    port = q.port_create()
    q.event_create().wait_async(port, 5, S.USER_0)
    a, _ = q.socket_create(capacity=8)
    a.write(b"1234")
    q.handle_to(p.threads[0])
    k.run(until=100)
    return k


def _objects_busy():
    from test_snapshot_objects import workload
    k, _ = workload()
    k.run(until=90_000)
    return k


def _fs_small():
    k = pk.Kernel()
    k.fs.mkdir("/etc/conf.d", parents=True)
    k.fs.write("/etc/hostname", b"pk\n")
    k.fs.link("/etc/hostname", "/etc/name")
    k.fs.symlink("../etc/hostname", "/tmp/h")
    k.fs.write("/tmp/x", b"")
    k.fs.remove("/tmp/x")
    return k


def _memory(build, until):
    def make():
        import test_snapshot_memory as m
        k = getattr(m, build)()
        k.run(until=until)
        return k
    return make


def _zombie_and_pending(k, p):
    """A child of `p` that ends unreaped, and SIGUSR2, which `p` blocks."""
    k.spawn(pk.Program.script("quick", [op.compute(1_000), op.exit(3)]), name="child", parent=p)
    p.signal(pk.SIGUSR2)


# Machine code is loaded from its bytes, not a path: the path would be
# in the snapshot (/proc/self/exe), and it depends on the checkout.
def _rv_hello():
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    k.spawn(pk.Program.elf(Path(pk.riscv.example_path()).read_bytes()), argv=["hello"])
    k.run(until=1_000)
    return k


def _rv(name, argv, until=None, then=None):
    """A compiled test program (tests/riscv/progs) on the RISC-V test
    kernel, stopped at `until` (None: where the run stops); then
    ``then(k, p)`` and a run to the next millisecond."""
    def make(program):
        k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
        p = k.spawn(pk.Program.elf(Path(program(name)).read_bytes()), argv=argv)
        k.run(until=until)
        if then:
            then(k, p)
            k.run(until=k.now + 1_000_000)
        return k
    make.needs_program = True
    return make


KERNELS = {
    "fifo": lambda: _policy_kernel(pk.sched.FIFO()),
    "rr_2cpu": lambda: _policy_kernel(pk.sched.RoundRobin(quantum=2_000), cpus=2),
    "priority": lambda: _policy_kernel(pk.sched.Priority()),
    "sjf": lambda: _policy_kernel(pk.sched.SJF()),
    "stcf_2cpu": lambda: _policy_kernel(pk.sched.STCF(), cpus=2),
    "cfs_rt_trace": lambda: _policy_kernel(pk.sched.CFS(), cpus=2, trace=True, rt=True),
    "eevdf": lambda: _policy_kernel(pk.sched.EEVDF(), cpus=2),
    "mlfq": lambda: _policy_kernel(pk.sched.MLFQ()),
    "lottery": lambda: _policy_kernel(pk.sched.Lottery()),
    "stride_4cpu": lambda: _affinity(pk.sched.Stride()),
    "edf_periodic": lambda: _periodic(pk.sched.EDF()),
    "rm_periodic": lambda: _periodic(pk.sched.RateMonotonic()),
    "objects_small": _objects_small,
    "objects_busy": _objects_busy,
    "fs_small": _fs_small,
    "memory_touches": _memory("touches", 30_000),
    "memory_images": _memory("images", 40_000),
    "memory_shared": _memory("shared", 40_000),
    "memory_pressure": _memory("pressure", 60_000),
    "memory_threads": _memory("threads", 30_000),
    "rv_hello": _rv_hello,
    "rv_pipe_in_flight": _rv("fdhold", ["fdhold", "wait"]),
    "rv_zombie_pending": _rv("sig_chld", ["sig_chld", "hold"], until=5_000_000,
                             then=_zombie_and_pending),
    "rv_pipe_signals": _rv("pipe_signals", ["pipe_signals"], until=15_000_000),
}


def build(name, program=None):
    make = KERNELS[name]
    return make(program) if getattr(make, "needs_program", False) else make()


def digest(data: bytes) -> str:
    return hashlib.sha256(core_bytes(data)).hexdigest()


def main():
    from rvrun import build as rvbuild
    DATA.mkdir(parents=True, exist_ok=True)
    sums = {}
    for name in KERNELS:
        data = build(name, rvbuild.build).snapshot()
        sums[name] = {"sha256": digest(data), "bytes": len(core_bytes(data))}
        if name in FILES:
            (DATA / f"{name}.snap.gz").write_bytes(gzip.compress(data, mtime=0))
    (DATA / "core_sha256.json").write_text(json.dumps(sums, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
