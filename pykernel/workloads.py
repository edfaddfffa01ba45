"""The standard Linux context-switch benchmarks as simulated workloads.

Each function builds a kernel and its processes from script threads and
the kernel-object pipes and sockets (docs/objects.md), runs it, and
returns a :class:`Result`: the figure in the original tool's unit
(``perf bench sched pipe``: µs per round trip; ``perf bench sched
messaging``: seconds; lmbench ``lat_ctx``: µs per switch) and the
simulator's own speed. docs/references.md [perf-bench], [lmbench]
describes the originals; docs/tools.md compares the figures
with those measured on the project's machines.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from . import op
from .costs import Costs
from .kernel import Kernel
from .memory import MMU, Memory
from .program import Program
from .sched import Policy, RoundRobin

__all__ = ["Result", "pipe", "messaging", "lat_ctx", "yield_pair", "host_pipe", "host_yield_pair"]


@dataclass(frozen=True)
class Result:
    """What a simulated benchmark measured.

    ``figure`` in ``unit`` (the original tool's: "us/op", "s", "us");
    ``simulated_ns``: simulated time of the measured part; ``switches``
    and ``wall`` (host seconds): the simulator's work, from which
    :attr:`switches_per_second`; ``params``: the arguments."""

    name: str
    figure: float
    unit: str
    simulated_ns: int
    switches: int
    wall: float
    params: dict = field(default_factory=dict)

    @property
    def switches_per_second(self) -> float:
        """Simulated context switches per host second."""
        return self.switches / self.wall if self.wall > 0 else 0.0

    def __str__(self) -> str:
        return (f"{self.name}: {self.figure:,.3f} {self.unit} (simulated; "
                f"{self.switches:,} switches in {self.wall:.3f} s = "
                f"{self.switches_per_second / 1e6:,.2f} M switches/s)")


def _loops(name: str, value, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


def _kernel(cpus: int, costs: Costs | None, scheduler: Policy | None, **kw) -> Kernel:
    return Kernel(cpus=cpus, costs=costs, scheduler=scheduler, **kw)


def _timed(k: Kernel) -> tuple[int, int, float]:
    """Run k until idle: (simulated ns, switches, host seconds)."""
    t0, sw0 = k.now, k.stats.context_switches
    r = k.run()
    if r.reason != "idle":
        raise RuntimeError(f"the workload stopped with reason {r.reason!r}")
    return k.now - t0, k.stats.context_switches - sw0, r.wall


def pipe_kernel(loops: int, cpus: int = 1, costs: Costs | None = None,
                scheduler: Policy | None = None) -> Kernel:
    """``perf bench sched pipe``'s processes, ready to run: A writes 4
    bytes to pipe 1 and reads 4 from pipe 2, ``loops`` times; B reads
    pipe 1 and writes pipe 2."""
    k = _kernel(cpus, costs, scheduler)
    boot = k.spawn(Program.script("boot", []), name="boot")
    r1, w1 = boot.pipe_create()
    r2, w2 = boot.pipe_create()
    a = Program.script("pipe-a", [op.loop(loops, [op.write(0, 4), op.read(1, 4)])])
    b = Program.script("pipe-b", [op.loop(loops, [op.read(0, 4), op.write(1, 4)])])
    k.spawn(a, name="A", handles=[w1, r2])
    k.spawn(b, name="B", handles=[r1, w2])
    return k


def pipe(loops: int = 100_000, cpus: int = 1, costs: Costs | None = None,
         scheduler: Policy | None = None) -> Result:
    """``perf bench sched pipe``: two processes ping-pong a 4-byte value
    over two pipes ``loops`` times, on one CPU by default (perf pinned with
    taskset). Figure: µs per round trip, the whole run's simulated time
    divided by ``loops``, as perf reports it. Each round trip is two
    switches, four pipe calls (``costs.syscall`` each) and two wake-ups
    (``costs.wakeup``)."""
    loops = _loops("pipe loops", loops)
    ns, sw, wall = _timed(pipe_kernel(loops, cpus, costs, scheduler))
    return Result("pipe", ns / loops / 1e3, "us/op", ns, sw, wall, {"loops": loops, "cpus": cpus})


def yield_pair(loops: int = 100_000, cpus: int = 1, costs: Costs | None = None,
               scheduler: Policy | None = None) -> Result:
    """Two processes on one CPU that call ``sched_yield`` in turn,
    ``loops`` times each. Figure: µs per pair of yields (two switches).
    The default policy is ``RoundRobin()``, where a yield goes to the
    tail (man 7 sched). Under ``CFS()`` a yield that takes no CPU time
    never advances the yielder's vruntime, so the skip buddy never finds
    the other thread fair to run (it starts a slice behind): they do not
    alternate."""
    loops = _loops("yield_pair loops", loops)
    k = _kernel(cpus, costs, RoundRobin() if scheduler is None else scheduler)
    prog = Program.script("yielder", [op.loop(loops, [op.yield_()])])
    k.spawn(prog, name="A")
    k.spawn(prog, name="B")
    ns, sw, wall = _timed(k)
    return Result("yield_pair", ns / loops / 1e3, "us/op", ns, sw, wall,
                  {"loops": loops, "cpus": cpus})


def messaging_kernel(groups: int = 10, fds: int = 20, loops: int = 100, size: int = 100,
                     pipes: bool = False, threads: bool = False, cpus: int = 1,
                     costs: Costs | None = None, scheduler: Policy | None = None) -> Kernel:
    """``perf bench sched messaging``'s processes, ready to run: per
    group, ``fds`` receivers each owning a socket (or a pipe) whose write
    end every one of the group's ``fds`` senders holds; each sender writes
    ``loops`` messages of ``size`` bytes to each receiver. With
    ``threads`` a group is one process whose threads are its senders and
    receivers."""
    k = _kernel(cpus, costs, scheduler)
    send = [op.loop(loops, [op.write(fds + i, size) for i in range(fds)])]
    for _ in range(groups):
        boot = k.spawn(Program.script("boot", []), name="boot")
        ends = [boot.pipe_create() if pipes else boot.socket_create() for _ in range(fds)]
        if threads:
            bodies = [[op.loop(loops * fds, [op.read(i, size)])] for i in range(fds)]
            bodies += [send] * fds
            leader = Program.script("group", [op.spawn_thread(b) for b in bodies]
                                    + [op.thread_exit(0)])
            k.spawn(leader, handles=[r for r, _ in ends] + [w for _, w in ends])
            continue
        recv = Program.script("receiver", [op.loop(loops * fds, [op.read(0, size)])])
        sender = Program.script("sender", [op.loop(loops, [op.write(i, size) for i in range(fds)])])
        for r, _ in ends:
            k.spawn(recv, handles=[r])
        for _ in range(fds):
            k.spawn(sender, handles=[w.duplicate() for _, w in ends])
        for _, w in ends:
            w.close()
    return k


def messaging(groups: int = 10, fds: int = 20, loops: int = 100, size: int = 100,
              pipes: bool = False, threads: bool = False, cpus: int = 1,
              costs: Costs | None = None, scheduler: Policy | None = None) -> Result:
    """``perf bench sched messaging`` (hackbench): ``groups`` groups of
    ``fds`` senders and ``fds`` receivers over sockets (``pipes``: pipes;
    ``threads``: threads of one process per group, else processes).
    Figure: total simulated seconds, as perf's "Total time"."""
    for name, v in (("groups", groups), ("fds", fds), ("loops", loops), ("size", size)):
        _loops(f"messaging {name}", v)
    k = messaging_kernel(groups, fds, loops, size, pipes, threads, cpus, costs, scheduler)
    ns, sw, wall = _timed(k)
    return Result("messaging", ns / 1e9, "s", ns, sw, wall,
                  {"groups": groups, "fds": fds, "loops": loops, "size": size,
                   "pipes": pipes, "threads": threads, "cpus": cpus})


_BASE = 0x10000000
_STRIDE = 4096


def _lat_ctx_run(processes: int, size: int, loops: int, costs, mmu, memory) -> tuple:
    """(ns per token hop, switches, wall) of a ring of ``processes``
    processes over pipes, each summing ``size`` bytes per hop; one
    process passes the token to itself (the overhead run)."""
    def ring(n_loops: int) -> Kernel:
        k = Kernel(cpus=1, costs=costs, memory=memory, mmu=mmu)
        boot = k.spawn(Program.script("boot", []), name="boot")
        pipes = [boot.pipe_create() for _ in range(processes)]
        work = [op.touch_range(_BASE, size, _STRIDE)] if size else []
        warm = [op.map(_BASE, max(size, _STRIDE))] + work
        for i in range(processes):
            r, w = pipes[i]
            _, w_next = pipes[(i + 1) % processes]
            hop = [op.read(0, 4)] + work + [op.write(1, 4)]
            first = [op.write(1, 4)] if i == 0 else []
            body = warm + first + [op.loop(n_loops, hop)]
            if i == 0:           # the token ends with process 0: take it back
                body = warm + [op.write(1, 4), op.loop(n_loops - 1, hop), op.read(0, 4)] \
                    if n_loops > 1 else warm + [op.write(1, 4), op.read(0, 4)]
            k.spawn(Program.script(f"ring-{i}", body), handles=[r, w_next])
        return k
    # the difference between two loop counts removes setup and warm-up
    k1, k2 = ring(loops), ring(2 * loops)
    ns1, sw1, wall1 = _timed(k1)
    ns2, sw2, wall2 = _timed(k2)
    return (ns2 - ns1) / (loops * processes), sw1 + sw2, wall1 + wall2


def lat_ctx(processes: int = 2, size: int = 0, loops: int = 1000, costs: Costs | None = None,
            mmu: MMU | None = None, memory: Memory | None = None) -> Result:
    """lmbench ``lat_ctx -s size processes``: a ring of ``processes``
    processes on one CPU passes a token over pipes; each sums (touches,
    ``touch_range``) a private working set of ``size`` bytes before
    passing it on. Figure: µs per context switch, the time per hop minus
    the overhead, which is the same ring with one process (pipe calls and
    summing, no switch), as lmbench subtracts it. Every figure is the
    difference between ``loops`` and ``2 * loops`` trips, so setup and the
    first touches (page faults) do not count. Needs virtual memory:
    ``mmu`` defaults to pk.MMU() (64-entry TLB with ASIDs), so the switch
    time grows once the working sets exceed the TLB's reach."""
    _loops("lat_ctx processes", processes, 2)
    _loops("lat_ctx loops", loops)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"lat_ctx size must be a non-negative int of bytes, got {size!r}")
    mmu = MMU() if mmu is None else mmu
    memory = Memory() if memory is None else memory
    hop, sw, wall = _lat_ctx_run(processes, size, loops, costs, mmu, memory)
    base, sw0, wall0 = _lat_ctx_run(1, size, loops, costs, mmu, memory)
    ns = int(hop - base)
    return Result("lat_ctx", (hop - base) / 1e3, "us", ns, sw + sw0, wall + wall0,
                  {"processes": processes, "size": size, "loops": loops,
                   "hop_ns": hop, "overhead_ns": base})


# ---- the same on the host ----------------------------------------------------


def _host_ok() -> bool:
    return hasattr(os, "fork") and hasattr(os, "sched_setaffinity")


def host_pipe(loops: int = 20_000) -> float | None:
    """µs per round trip of a pipe ping-pong between two host processes
    (``os.pipe`` + ``os.fork``) pinned to one CPU with
    ``os.sched_setaffinity``, or None where the host cannot pin. The
    figure includes the Python interpreter's own time per call, so it is
    an upper bound of what ``perf bench sched pipe`` reports."""
    loops = _loops("host_pipe loops", loops)
    if not _host_ok():
        return None
    saved = os.sched_getaffinity(0)
    cpu = {min(saved)}
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # pragma: no cover - the child
        try:
            os.sched_setaffinity(0, cpu)
            for _ in range(loops):
                os.read(r1, 4)
                os.write(w2, b"ping")
        finally:
            os._exit(0)
    try:
        os.sched_setaffinity(0, cpu)
        t0 = time.perf_counter()
        for _ in range(loops):
            os.write(w1, b"ping")
            os.read(r2, 4)
        dt = time.perf_counter() - t0
    finally:
        os.waitpid(pid, 0)
        os.sched_setaffinity(0, saved)
        for fd in (r1, w1, r2, w2):
            os.close(fd)
    return dt / loops * 1e6


def host_yield_pair(loops: int = 100_000) -> float | None:
    """µs per pair of ``sched_yield`` calls by two host processes pinned
    to one CPU (the time until both are done, over ``loops``), or None
    where the host cannot pin. Includes the interpreter's loop."""
    loops = _loops("host_yield_pair loops", loops)
    if not _host_ok():
        return None
    cpu = {min(os.sched_getaffinity(0))}
    go_r, go_w = os.pipe()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:                               # pragma: no cover - the child
            try:
                os.sched_setaffinity(0, cpu)
                os.read(go_r, 1)
                for _ in range(loops):
                    os.sched_yield()
            finally:
                os._exit(0)
        pids.append(pid)
    time.sleep(0.05)
    t0 = time.perf_counter()
    os.write(go_w, b"xx")
    for pid in pids:
        os.waitpid(pid, 0)
    dt = time.perf_counter() - t0
    os.close(go_r)
    os.close(go_w)
    return dt / loops * 1e6
