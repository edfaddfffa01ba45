"""Kernel objects (docs/objects.md): channel ping-pong between script
threads, and handle operations called from Python.

- pingpong: two script threads on ONE CPU, the default kernel (CFS, the
  calibrated cost model: each switch costs 800 ns of simulated time),
  ``ping: loop(write(0, 4), read(0))`` and ``pong: loop(read(0),
  write(0, 4))`` over one channel, as ``perf bench sched pipe`` does over
  two pipes (docs/references.md [perf-bench]). Every
  round trip is two writes, two reads, two waits, two wake-ups and two
  context switches, all in C. Target: >= 5 M round trips/s.
- pingpong-gen: the same ping-pong between two Python generator bodies,
  ``yield ctx.write(h, data)`` and ``msg = yield ctx.read(h)``: each read
  and write is the script instruction run by the core (csrc/core/pk_host.c),
  each yield one generator step, the message's bytes given to the body.
  No target: it shows the cost of the generator steps and of the Message
  objects over the script threads' figure.
- hackbench: ``perf bench sched messaging``'s shape (docs/references.md
  [perf-bench]): 10
  groups of 20 senders and 20 receivers, one CPU, the default kernel;
  each receiver owns a stream socket (64 KiB buffer) whose write end every
  sender of its group holds (a duplicate); each sender writes 100
  messages of 100 bytes to each receiver of its group, each receiver
  reads 2,000 of them: 400,000 messages, all script threads. Target:
  >= 10 M messages/s.
- handle-ops: ``d = e.duplicate(); d.close()`` on an event from Python,
  two handle operations per iteration, each one call into the core.
  Target: >= 1 M operations/s.

The figure is the median over the rounds (after one warm-up round), in
``benchmark.extra_info`` and in the session summary (bench/conftest.py).
No timing assertions.
"""

from __future__ import annotations

import statistics
import time

import pytest

import pykernel as pk

try:
    from test_switch import ROUNDS
except ImportError:  # --import-mode=importlib does not put bench/ on sys.path
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_switch import ROUNDS

ROUND_TRIPS = 2_000_000        # per timed round
HANDLE_ITERS = 200_000         # duplicate + close pairs per timed round
LARGE = 10**15


def _pingpong_kernel() -> pk.Kernel:
    k = pk.Kernel(cpus=1)
    op = pk.op
    ping = pk.Program.script("ping", [op.loop(LARGE, [op.write(0, 4), op.read(0)])])
    pong = pk.Program.script("pong", [op.loop(LARGE, [op.read(0), op.write(0, 4)])])
    p = k.spawn(ping)
    a, b = p.channel_create()
    k.spawn(pong, handles=[b])
    return k


@pytest.mark.benchmark(group="kernel objects")
def test_channel_ping_pong_script_threads(benchmark, pk_results):
    """Round trips per second between two script threads over a channel."""
    k = _pingpong_kernel()
    per_rt = 2 * k.costs.switch                  # simulated ns per round trip
    k.run(until=10_000 * per_rt)                 # warm up
    rates = []

    def one_round():
        w0 = k.object_stats.written
        t0 = time.perf_counter()
        k.run(until=k.now + ROUND_TRIPS * per_rt)
        dt = time.perf_counter() - t0
        rates.append((k.object_stats.written - w0) / 2 / dt)

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    rate = statistics.median(rates[-ROUNDS:])
    benchmark.extra_info.update({"workload": "pingpong", "round_trips_per_second": rate})
    pk_results[("objects", "pingpong")] = {"rate": rate}


GEN_ROUND_TRIPS = 100_000     # per timed round, generator bodies


def _pingpong_generators() -> pk.Kernel:
    def ping(ctx):
        h = ctx.handle(0)
        data = bytes(4)
        while True:
            yield ctx.write(h, data)
            yield ctx.read(h)

    def pong(ctx):
        h = ctx.handle(0)
        while True:
            msg = yield ctx.read(h)
            yield ctx.write(h, msg.data)

    k = pk.Kernel(cpus=1)
    p = k.spawn(pk.Program.python("ping", ping))
    a, b = p.channel_create()
    k.spawn(pk.Program.python("pong", pong), handles=[b])
    return k


@pytest.mark.benchmark(group="kernel objects")
def test_channel_ping_pong_generator_threads(benchmark, pk_results):
    """Round trips per second between two Python generator bodies over a channel."""
    k = _pingpong_generators()
    k.run(until=1_000_000)                       # warm up: both started
    rates = []

    def one_round():
        w0 = k.object_stats.written
        t0 = time.perf_counter()
        while k.object_stats.written - w0 < 2 * GEN_ROUND_TRIPS:
            k.run(until=k.now + 10_000_000)
        dt = time.perf_counter() - t0
        rates.append((k.object_stats.written - w0) / 2 / dt)

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    rate = statistics.median(rates[-ROUNDS:])
    benchmark.extra_info.update({"workload": "pingpong-gen", "round_trips_per_second": rate})
    pk_results[("objects", "pingpong-gen")] = {"rate": rate}


HB_GROUPS, HB_FDS, HB_LOOPS, HB_SIZE = 10, 20, 100, 100


def hackbench_kernel() -> pk.Kernel:
    """10 groups x (20 senders, 20 receivers) over sockets, ready to run."""
    op = pk.op
    k = pk.Kernel(cpus=1)
    send = pk.Program.script("sender", [op.loop(HB_LOOPS, [op.write(i, HB_SIZE)
                                                          for i in range(HB_FDS)])])
    recv = pk.Program.script("receiver", [op.loop(HB_LOOPS * HB_FDS, [op.read(0, HB_SIZE)])])
    for _ in range(HB_GROUPS):
        boot = k.spawn(pk.Program.script("boot", []))
        ends = [boot.socket_create(capacity=65536) for _ in range(HB_FDS)]
        for a, _b in ends:
            k.spawn(recv, handles=[a])
        for _ in range(HB_FDS):
            k.spawn(send, handles=[b.duplicate() for _a, b in ends])
        for _a, b in ends:
            b.close()
    return k


@pytest.mark.benchmark(group="kernel objects")
def test_hackbench_messaging(benchmark, pk_results):
    """Messages per second of a hackbench-like run (building not timed)."""
    msgs = HB_GROUPS * HB_FDS * HB_FDS * HB_LOOPS
    rates = []

    def setup():
        return (hackbench_kernel(),), {}

    def one_round(k):
        t0 = time.perf_counter()
        r = k.run()
        rates.append(msgs / (time.perf_counter() - t0))
        assert r.reason == "idle"

    benchmark.pedantic(one_round, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    rate = statistics.median(rates[-ROUNDS:])
    benchmark.extra_info.update({"workload": "hackbench", "messages_per_second": rate})
    pk_results[("objects", "hackbench")] = {"rate": rate}


@pytest.mark.benchmark(group="kernel objects")
def test_handle_operations_from_python(benchmark, pk_results):
    """Handle duplicate + close pairs from Python, operations per second."""
    k = pk.Kernel(cpus=1)
    p = k.spawn(pk.Program.script("holder", [pk.op.sleep(10**9)]))
    e = p.event_create()
    rates = []

    def one_round():
        t0 = time.perf_counter()
        for _ in range(HANDLE_ITERS):
            e.duplicate().close()
        rates.append(2 * HANDLE_ITERS / (time.perf_counter() - t0))

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    rate = statistics.median(rates[-ROUNDS:])
    benchmark.extra_info.update({"workload": "handle-ops", "ops_per_second": rate})
    pk_results[("objects", "handle-ops")] = {"rate": rate}
