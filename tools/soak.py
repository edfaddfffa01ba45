"""Soak test: a long run that must not grow in memory.

    python tools/soak.py --minutes 20            # as many switches as fit
    python tools/soak.py --switches 1e9          # or stop at a count
    python tools/soak.py --minutes 1 --quiet     # CI-sized

Two kernels share the time, window after window:

* the **steady** kernel lives for the whole run.  Its processes never
  end: scripts that compute, yield and sleep; pairs that ping-pong
  messages over channels; processes that map a region, touch it, unmap
  it, over and over (frames allocated and freed); threads that lock and
  unlock futex mutexes.  Once warm, nothing in it should allocate: the
  bytes the C core holds (``k.stats.memory_bytes``, pk_mem_bytes_of)
  must stay flat.
* a **churn** kernel is made, used and dropped in every window: hundreds
  of processes spawned, forking, exiting and killed, with channels
  carrying handles and memory mapped and touched; it is audited
  (:meth:`pykernel.Kernel.audit`) before it goes.  Pids are indexes and
  are never reused, so one kernel's memory grows with every process
  ever spawned (docs/architecture.md); the host process as a whole
  must not.

After every window a row is printed: wall time, context switches so far
(both kernels) and their rate, simulated time of the steady kernel, the
steady kernel's core bytes and the host's resident set (VmRSS).  The
first ``--warmup`` fraction of the windows is warm-up; afterwards the
run fails (exit status 1) if the core bytes grow by more than
``--core-tolerance`` bytes or the host RSS by more than
``--rss-tolerance`` MiB, or if an audit finds a problem.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import pykernel as pk

S = pk.op
BASE = 0x4000_0000
PAGE = 4096
FOREVER = 10**15


def rss_bytes() -> int:
    """The host process's resident set size (Linux /proc), in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def steady_kernel(seed: int) -> pk.Kernel:
    """The long-lived kernel: nothing in it ever ends."""
    k = pk.Kernel(cpus=2, scheduler=pk.sched.CFS(), memory=pk.Memory(frames=1 << 14, swap=256),
                  seed=seed)
    cpu = pk.Program.script("cpu", [S.loop(FOREVER, [S.compute(700), S.yield_(), S.sleep(300)])])
    mem = pk.Program.script("mem", [S.loop(FOREVER, [
        S.map(BASE, 64 * PAGE), S.touch_range(BASE, 64 * PAGE, write_ratio=0.5),
        S.touch_range(BASE, 64 * PAGE, pattern="random"), S.unmap(BASE, 64 * PAGE),
        S.sleep(2000)])])
    ping = pk.Program.script("ping", [S.loop(FOREVER, [S.write(0, 64), S.read(0)])])
    pong = pk.Program.script("pong", [S.loop(FOREVER, [S.read(0), S.write(0, 64)])])
    lock = pk.Program.script("lock", [S.loop(FOREVER, [S.lock(64), S.compute(500), S.unlock(64),
                                                       S.sleep(200)])])
    for _ in range(8):
        k.spawn(cpu)
    for _ in range(4):
        k.spawn(mem)
    for _ in range(4):
        p = k.spawn(ping)
        _, b = p.channel_create()
        k.spawn(pong, handles=[b])
    p = k.spawn(lock)
    for _ in range(3):
        p.thread_create(lock)
    return k


CHURN_CHILD = pk.Program.script("child", [
    S.map(BASE, 16 * PAGE), S.touch_range(BASE, 16 * PAGE, write_ratio=1.0),
    S.fork([S.touch(BASE, True), S.compute(3000), S.exit(2)]),
    S.write(0, 32), S.read(0, timeout=50_000), S.compute(5000), S.exit(0)])
CHURN_PEER = pk.Program.script("peer", [S.read(0, timeout=50_000), S.write(0, 32),
                                        S.sleep(20_000)])


def churn(seed: int, n: int) -> tuple[int, list]:
    """Make a kernel, spawn n pairs that fork, talk, exit or are killed,
    run it out, audit it; (context switches, audit problems)."""
    k = pk.Kernel(cpus=2, scheduler=pk.sched.RoundRobin(quantum=4000),
                  memory=pk.Memory(frames=1 << 13, swap=128), seed=seed)
    holder = k.spawn(pk.Program.script("holder", [S.sleep(200_000)]))
    victims = []
    for i in range(n):
        a, b = holder.channel_create()
        e = holder.event_create()
        a.write(b"hello", handles=[e])          # a handle in flight when the peer dies
        c = k.spawn(CHURN_CHILD, handles=[a], at=i * 500)
        victims.append(k.spawn(CHURN_PEER, handles=[b], at=i * 500))
        if i % 7 == 3:
            victims.append(c)
    k.run(until=n * 250)
    for v in victims[::5]:
        if v.state not in ("exited", "killed"):
            v.kill()
    k.run()
    audit = k.audit()
    return k.stats.context_switches, audit.problems()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="pykernel soak test (see the module docstring)")
    ap.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget")
    ap.add_argument("--switches", type=float, default=1e9, help="stop after this many switches")
    ap.add_argument("--windows", type=int, default=40, help="samples over the run")
    ap.add_argument("--warmup", type=float, default=0.25, help="fraction of windows that warm up")
    ap.add_argument("--core-tolerance", type=int, default=0,
                    help="bytes the steady kernel's core may grow after warm-up")
    ap.add_argument("--rss-tolerance", type=float, default=8.0,
                    help="MiB the host RSS may grow after warm-up")
    ap.add_argument("--churn", type=int, default=300, help="process pairs per churn kernel")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quiet", action="store_true", help="print only the verdict")
    a = ap.parse_args(argv)

    budget = a.minutes * 60
    window = budget / a.windows
    k = steady_kernel(a.seed)
    chunk = 1_000_000                         # simulated ns per run() call, adapted below
    start = time.monotonic()
    churn_switches, rows, problems = 0, [], []
    say = (lambda *x: None) if a.quiet else print
    say(f"{'window':>6} {'wall s':>7} {'switches':>13} {'sw/s':>10} {'sim ms':>10} "
        f"{'core B':>10} {'RSS MiB':>8}  audit")
    for w in range(a.windows):
        end = start + window * (w + 1)
        while time.monotonic() < end:
            t0 = time.monotonic()
            k.run(until=k.now + chunk)
            took = time.monotonic() - t0
            chunk = max(10_000, min(chunk * 2, chunk * 0.2 / took if took > 0 else chunk * 2))
            chunk = int(chunk)
            if k.stats.context_switches + churn_switches >= a.switches:
                break
        n, bad = churn(a.seed + w, a.churn)
        churn_switches += n
        steady_audit = k.audit().problems()
        problems += [f"window {w} churn: {p}" for p in bad]
        problems += [f"window {w} steady: {p}" for p in steady_audit]
        s = k.stats
        total = s.context_switches + churn_switches
        wall = time.monotonic() - start
        rows.append((w, wall, total, s.memory_bytes, rss_bytes()))
        say(f"{w:6d} {wall:7.1f} {total:13,d} {total / wall:10,.0f} {k.now / 1e6:10.1f} "
            f"{s.memory_bytes:10,d} {rss_bytes() / 2**20:8.1f}  "
            f"{'ok' if not bad and not steady_audit else 'PROBLEM'}")
        if total >= a.switches:
            break
    warm = rows[min(len(rows) - 1, int(len(rows) * a.warmup)):]
    core_growth = max(r[3] for r in warm) - warm[0][3]
    rss_growth = (max(r[4] for r in warm) - warm[0][4]) / 2**20
    print(f"{rows[-1][2]:,d} context switches in {rows[-1][1]:.0f} s "
          f"({rows[-1][2] / rows[-1][1]:,.0f}/s); after warm-up (window {warm[0][0]}): "
          f"core bytes +{core_growth:,d} (tolerance {a.core_tolerance:,d}), "
          f"host RSS +{rss_growth:.1f} MiB (tolerance {a.rss_tolerance} MiB)")
    if core_growth > a.core_tolerance:
        problems.append(f"the steady kernel's core grew by {core_growth} bytes after warm-up")
    if rss_growth > a.rss_tolerance:
        problems.append(f"host RSS grew by {rss_growth:.1f} MiB after warm-up")
    for p in problems:
        print("FAIL:", p)
    print("soak:", "FAIL" if problems else "ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
