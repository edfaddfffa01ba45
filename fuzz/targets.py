"""Fuzz targets for pykernel: each takes the fuzzer's bytes and drives one
part of pykernel with them.

A target returns normally when pykernel behaved as documented, including
when it refused the input with an expected error: a
:class:`pykernel.KernelError` (except ``InternalError``), or a
``TypeError`` / ``ValueError`` / ``NotImplementedError`` raised before
anything reaches the core.  For the scenario parser only
:class:`pykernel.scenario.ScenarioError` (and kernel errors of the run) are
expected, since a scenario's mistakes are reported with file, line and
field.  Anything else -- an ``InternalError``, a ``SystemError``, an
``OverflowError`` from cffi, a ``KeyError``, a sanitizer report, a crash --
escapes and is a finding.

Targets:

``script``    the script compiler: ``Program.script`` with random
              operation lists (nested loops, spawn_thread, fork, every kind
              of argument, bad values), then a short run of what compiled.
``scenario``  the scenario-file parser: the bytes as TOML text (seeded with
              examples/*.toml), then build and a short run.
``api``       the C core through the public API: a random sequence of
              spawn, kill, run(until), set_nice / affinity / policy,
              memory map / unmap / protect / translate, shared memory,
              channel, event, event pair, socket, pipe, port and handle
              operations, jobs, fork, thread creation, statistics.
``snapshot``  ``pk.Kernel.restore(bytes)`` on random and mutated
              snapshots; active only when the running pykernel has
              ``Kernel.restore`` (otherwise every input is a no-op).
``elf``       ``Program.elf`` and a short run of ELF images that differ
              from a valid one in one header field at a time (ELF header
              or a program header), set to a boundary or random value, or
              cut short.
``nesting``   deep nesting: arrays, inline tables and operation lists
              nested hundreds to thousands of levels deep, through the
              scenario parser and the script compiler.
``zerotime``  programs whose operations take no simulated time (empty
              loops, compute(0), yield_, sleep(0), io(0), failing
              spawn_thread loops), run under a host-time watchdog: a run
              must end (reason "livelock", "until" or "idle") within
              ``WATCHDOG_S`` seconds of host time.
``rvinsn``    RISC-V programs made of random valid RV64IMAC instructions
              (every format, random registers and immediates, branches
              within the program), run for a bounded simulated time.

The decoding is deterministic (the same bytes drive the same calls), so
a saved input replays exactly: tests/test_fuzz_corpus.py replays every
file under fuzz/corpus/<target>/.
"""

from __future__ import annotations

import math
import signal
import struct
import sys
import threading
import time
from pathlib import Path

import pykernel as pk
from pykernel.scenario import ScenarioError

# Bounds that keep one input fast: simulated time and dispatcher steps.
RUN_NS = 2_000_000
LIVELOCK_STEPS = 2_000          # units of host work at one instant: steps and instructions
MAX_PROCS = 64
MAX_THREADS = 512                # a fork bomb meets this limit (NoMemory) quickly

EXPECTED = (pk.KernelError, TypeError, ValueError, NotImplementedError)

#: None, or a list to which every exception a target catches is appended
#: (tests/test_fuzz_corpus.py reads the messages of every refusal the
#: corpus reaches)
CAUGHT: list | None = None


def expected(exc: BaseException) -> bool:
    """Whether ``exc`` is a documented refusal, not a finding."""
    if CAUGHT is not None:
        CAUGHT.append(exc)
    return isinstance(exc, EXPECTED) and not isinstance(exc, pk.InternalError)


class Source:
    """Reads choices from the fuzzer's bytes; past the end every read
    gives the smallest choice, so every input is a complete program."""

    # values that sit on or past a boundary of some argument
    ODD = (0, 1, -1, 2, 7, 4095, 4096, 4097, 2**12 * 512, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
           2**47, 2**48, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -2**31, -2**63, -2**64, 10**30)
    JUNK = (None, "x", "", 1.5, float("nan"), math.inf, True, False, b"\x00", (), [1], {},
            object())

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def more(self) -> bool:
        """Whether unread bytes remain."""
        return self.pos < len(self.data)

    def byte(self) -> int:
        """The next byte (0 past the end)."""
        if self.pos >= len(self.data):
            return 0
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uint(self, nbytes: int) -> int:
        """An unsigned little-endian integer of ``nbytes`` bytes."""
        v = 0
        for i in range(nbytes):
            v |= self.byte() << (8 * i)
        return v

    def below(self, n: int) -> int:
        """An int in 0..n-1 (n >= 1)."""
        return self.uint(1 if n <= 256 else 2 if n <= 65536 else 4) % n

    def pick(self, seq):
        """One element of a non-empty sequence."""
        return seq[self.below(len(seq))]

    def int_(self, lo: int, hi: int):
        """Usually an int in lo..hi; sometimes a boundary value or a value
        of a wrong type (that is the point of fuzzing)."""
        r = self.byte()
        if r < 216:
            return lo + self.uint(4) % (hi - lo + 1)
        if r < 248:
            return self.pick(self.ODD)
        return self.pick(self.JUNK)

    def text(self, maxlen: int) -> str:
        """A short string."""
        n = self.below(maxlen + 1)
        return bytes(self.byte() for _ in range(n)).decode("latin-1")


# ---- (a) the script compiler -------------------------------------------------------

def _op(src: Source, depth: int):
    S = pk.op
    n = src.byte() % 24
    if n == 0:
        return S.compute(src.int_(0, 5000))
    if n == 1:
        return S.io(src.int_(0, 5000))
    if n == 2:
        return S.sleep(src.int_(0, 5000))
    if n == 3:
        return S.yield_()
    if n == 4:
        return S.exit(src.int_(-300, 300))
    if n == 5:
        return S.loop(src.int_(0, 50), _ops(src, depth + 1))
    if n == 6:
        return S.touch(src.int_(0, 1 << 24), bool(src.byte() & 1))
    if n == 7:
        return S.touch_range(src.int_(0, 1 << 24), src.int_(0, 1 << 16), src.int_(1, 8192),
                             src.pick(("seq", "random", "bogus", 3)), src.pick((0.0, 1.0, 0.5, -1.0, 2.0)))
    if n == 8:
        return S.map(src.int_(0, 1 << 24), src.int_(0, 1 << 16),
                     src.pick(("rw", "r", "rx", "", "w", "q", 7)))
    if n == 9:
        return S.unmap(src.int_(0, 1 << 24), src.int_(0, 1 << 16))
    if n == 10:
        return S.protect(src.int_(0, 1 << 24), src.int_(0, 1 << 16), src.pick(("r", "rw", "x", 1)))
    if n == 11:
        return S.write(src.int_(0, 4), src.int_(0, 100))
    if n == 12:
        return S.read(src.int_(0, 4), src.int_(0, 100), src.pick((None, 0, 100, -1)))
    if n == 13:
        return S.futex_wait(src.int_(0, 64) * 4, src.int_(0, 3), src.pick((None, 10, 0)))
    if n == 14:
        return S.futex_wake(src.int_(0, 64) * 4, src.int_(0, 4))
    if n == 15:
        return S.lock(src.int_(0, 16) * 4, bool(src.byte() & 1), src.pick((None, 50)))
    if n == 16:
        return S.unlock(src.int_(0, 16) * 4)
    if n == 17:
        return S.sem_post(src.int_(0, 16) * 4)
    if n == 18:
        return S.sem_wait(src.int_(0, 16) * 4, src.pick((None, 30)))
    if n == 19:
        return S.spawn_thread(_ops(src, depth + 1))
    if n == 20:
        return S.thread_exit(src.int_(-5, 5))
    if n == 21:
        return S.fork(_ops(src, depth + 1) if src.byte() & 1 else None)
    if n == 22:
        return S.brk(src.int_(0, 1 << 24))
    return S.wait(src.int_(0, 4), src.int_(0, 15), src.pick((None, 100)))


def _ops(src: Source, depth: int) -> list:
    if depth > 4:
        return [pk.op.compute(1)]
    return [_op(src, depth) for _ in range(src.byte() % 6)]


def _kernel(src: Source, memory: bool) -> pk.Kernel:
    policy = src.pick((pk.sched.FIFO(), pk.sched.RoundRobin(quantum=50), pk.sched.CFS(),
                       pk.sched.SJF(), pk.sched.STCF(), pk.sched.EEVDF(), pk.sched.MLFQ(),
                       pk.sched.Lottery(), pk.sched.Stride(), pk.sched.Priority()))
    mem = pk.Memory(frames=64 + src.byte(), swap=src.pick((0, 0, 64))) if memory else None
    return pk.Kernel(cpus=1 + src.byte() % 3, scheduler=policy,
                     costs=src.pick((pk.Costs.zero(), pk.Costs())), memory=mem,
                     seed=src.byte(), livelock_steps=LIVELOCK_STEPS,
                     limits=pk.Limits(max_threads=MAX_THREADS))


def _run(k: pk.Kernel, ns: int = RUN_NS) -> None:
    k.run(until=k.now + ns)


def script(data: bytes) -> None:
    """Target (a): compile random operation lists, run what compiles."""
    src = Source(data)
    try:
        prog = pk.Program.script(src.text(4) or "s", _ops(src, 0))
        k = _kernel(src, prog.uses_memory)
        for _ in range(1 + src.byte() % 3):
            k.spawn(prog)
        _run(k)
        _check_conserved(k)
    except Exception as exc:  # noqa: BLE001 - the filter is the point
        if not expected(exc):
            raise


def _check_conserved(k: pk.Kernel) -> None:
    """The identities every run keeps (CpuStats: busy + idle + overhead
    == now) and the core's books (Kernel.audit: frame references and
    handles); a violation is a finding."""
    s = k.stats
    for c in s.cpus:
        if c.busy + c.idle + c.overhead != k.now:
            raise AssertionError(f"CPU time not conserved: {c} at {k.now}")
    k.audit().check()


# ---- (b) the scenario parser -------------------------------------------------------

def _count_processes(sc) -> int:
    entries = sc.data.get("processes", [])
    total = 0
    if isinstance(entries, list):
        for e in entries:
            c = e.get("count", 1) if isinstance(e, dict) else 1
            total += c if isinstance(c, int) and c > 0 else 1
    return total


def scenario(data: bytes) -> None:
    """Target (b): parse the bytes as a scenario; build and briefly run
    it when it is small enough to be quick."""
    text = data.decode("utf-8", errors="replace")
    try:
        sc = pk.scenario.loads(text)
        sc.until                                     # validates [run]
        if _count_processes(sc) > MAX_PROCS:
            sc.programs()
            return
        k, _ = sc.build()
        _run(k)
    except (ScenarioError, pk.KernelError) as exc:
        if CAUGHT is not None:
            CAUGHT.append(exc)
        if isinstance(exc, pk.InternalError):
            raise


# ---- (c) the C core through the API -------------------------------------------------

class _World:
    """The objects an api input has made so far, for later steps to name."""

    def __init__(self, src: Source):
        self.src = src
        self.memory = bool(src.byte() & 1)
        self.k = _kernel(src, self.memory)
        self.procs: list = []
        self.handles: list = []
        self.progs = [pk.Program.script("c", [pk.op.compute(100)]),
                      pk.Program.script("l", [pk.op.loop(5, [pk.op.compute(30), pk.op.sleep(20)])]),
                      pk.Program.script("r", [pk.op.read(0, 64), pk.op.write(0, 8)]),
                      pk.Program.script("z", [pk.op.sleep(10**7)])]
        if self.memory:
            self.progs.append(pk.Program.script("m", [
                pk.op.map(1 << 20, 1 << 14), pk.op.touch_range(1 << 20, 1 << 14, write_ratio=0.5),
                pk.op.fork([pk.op.touch(1 << 20, True), pk.op.exit(1)]), pk.op.unmap(1 << 20, 4096)]))

    def proc(self):
        src = self.src
        if not self.procs:
            return None
        return self.procs[src.below(len(self.procs))]

    def handle(self):
        if not self.handles:
            return None
        return self.handles[self.src.below(len(self.handles))]

    def step(self) -> None:
        src, k = self.src, self.k
        n = src.byte() % 36
        p = self.proc()
        if n <= 2 or p is None:
            if len(self.procs) < MAX_PROCS:
                prog = self.progs[src.below(len(self.progs))]
                kw = {}
                for key, lo, hi in (("nice", -20, 19), ("priority", 0, 139), ("tickets", 1, 1000),
                                    ("at", 0, 10**6)):
                    if src.byte() & 1:
                        kw[key] = src.int_(lo, hi)
                if src.byte() < 32:
                    kw["policy"], kw["rt_priority"] = src.pick(("fifo", "rr", "other", "x")), \
                        src.int_(1, 99)
                if src.byte() < 32:
                    kw["affinity"] = {src.int_(0, 3) for _ in range(1 + src.byte() % 2)}
                if src.byte() < 16 and self.handles:
                    kw["handles"] = [self.handle()]
                self.procs.append(k.spawn(prog, **kw))
        elif n == 3:
            p.kill()
        elif n == 4:
            _run(k, src.int_(0, 200_000))
        elif n == 5:
            p.threads[src.below(len(p.threads))].set_nice(src.int_(-20, 19))
        elif n == 6:
            p.set_affinity({src.int_(0, 3) for _ in range(1 + src.byte() % 3)})
        elif n == 7:
            p.set_policy(src.pick(("fifo", "rr", "other", "batch", "")), src.int_(1, 99))
        elif n == 8 and self.memory:
            p.aspace.map(src.int_(0, 1 << 22) & ~0xFFF, src.int_(1, 1 << 16),
                         src.pick(("rw", "r", "rx")))
        elif n == 9 and self.memory:
            p.aspace.unmap(src.int_(0, 1 << 22), src.int_(0, 1 << 16))
        elif n == 10 and self.memory:
            p.aspace.protect(src.int_(0, 1 << 22), src.int_(0, 1 << 16), src.pick(("r", "rw", "")))
        elif n == 11 and self.memory:
            p.aspace.translate(src.int_(0, 1 << 22))
            p.aspace.walk(src.int_(0, 1 << 22))
        elif n == 12:
            self.handles.extend(p.channel_create())
        elif n == 13:
            self.handles.append(p.event_create())
        elif n == 14 and self.handles:
            h = self.handle()
            carried = [self.handle() for _ in range(src.byte() % 3)]
            h.write(bytes(src.below(64)), handles=carried)
        elif n == 15 and self.handles:
            m = self.handle().read(src.pick((None, 0, 8, 64)), src.pick((None, 0, 4)))
            if isinstance(m, pk.Message):                # sockets give bytes
                self.handles.extend(m.handles)
        elif n == 16 and self.handles:
            self.handle().close()
        elif n == 17 and self.handles:
            self.handles.append(self.handle().duplicate(src.int_(0, (1 << 20) - 1)))
        elif n == 18 and self.handles:
            self.handles.append(self.handle().replace(src.int_(0, (1 << 20) - 1)))
        elif n == 19:
            p.futex_set(src.int_(0, 64) * 4, src.int_(0, 5))
            p.futex_get(src.int_(0, 64) * 4)
        elif n == 20:
            p.thread_create(self.progs[src.below(len(self.progs))])
        elif n == 21:
            t = p.threads[0]
            t.set_priority(src.int_(0, 139))
            t.set_tickets(src.int_(1, 1000))
        elif n == 22 and self.handles:
            self.handle().signal(src.int_(0, 1 << 8), src.int_(0, 1 << 8))
        elif n == 23:
            a, b = p.socket_create(src.pick(("stream", "datagram", "x")), src.int_(1, 4096))
            self.handles.extend((a, b))
        elif n == 24:
            k.process(src.int_(0, 80))
            k.digest()
            k.object_stats
            if self.memory:
                k.memory_stats()
            p.stats
            p.threads[0].registers
        elif n == 25:
            self.handles.append(p.handle_to(self.proc()))
        elif n == 26:
            self.handles.extend(p.eventpair_create())
        elif n == 27:
            self.handles.append(p.port_create())
        elif n == 28 and self.handles:
            self.handle().wait_async(self.handle(), src.int_(0, 1 << 20), src.int_(1, 1 << 10))
        elif n == 29 and self.handles:
            self.handle().queue(src.int_(0, 1 << 20), src.int_(0, 1 << 10))
        elif n == 30 and self.handles:
            self.handle().wait_one(src.int_(1, 1 << 10), src.pick((None, 0, k.now + 100)))
        elif n == 31 and self.handles:
            h = self.handle()
            h.signal_peer(src.int_(0, 1 << 8), src.int_(0, 1 << 8))
            h.kill() if src.byte() < 64 else h.target()
        elif n == 32:
            self.handles.extend(p.pipe_create(src.int_(1, 8192)))
        elif n == 33 and self.memory:
            shm = self.shm = getattr(self, "shm", None) or k.shared_memory(src.int_(1, 64) * 4096)
            p.aspace.map(src.int_(0, 1 << 22) & ~0xFFF, src.int_(1, 1 << 16), "rw", shared=shm)
            if src.byte() < 32:
                shm.close()
        elif n == 34:
            job = self.job = getattr(self, "job", None) or k.job_create(
                max_processes=src.int_(0, 8), max_handles=src.int_(0, 16))
            if len(self.procs) < MAX_PROCS:
                self.procs.append(k.spawn(self.progs[src.below(len(self.progs))], job=job))
            if src.byte() < 32:
                job.kill()
        else:
            t = p.threads[0]
            t.transfer_tickets(self.proc().threads[0], src.int_(0, 200))
            if self.memory:
                p.aspace.working_set(src.int_(0, 10**6))
                p.aspace.regions
                p.aspace.fault


def api(data: bytes) -> None:
    """Target (c): a random sequence of API calls on one kernel; every
    step may be refused, and the kernel must stay consistent."""
    src = Source(data)
    try:
        w = _World(src)
    except Exception as exc:  # noqa: BLE001
        if expected(exc):
            return
        raise
    for _ in range(200):
        if not src.more():
            break
        try:
            w.step()
        except Exception as exc:  # noqa: BLE001
            if not expected(exc):
                raise
    try:
        _run(w.k)
    except Exception as exc:  # noqa: BLE001
        if not expected(exc):
            raise
    _check_conserved(w.k)


# ---- (d) snapshot restore ---------------------------------------------------------

def snapshot_available() -> bool:
    """Whether this pykernel has ``Kernel.restore`` (snapshots)."""
    return hasattr(pk.Kernel, "restore")


def snapshot(data: bytes) -> None:
    """Target (d): ``pk.Kernel.restore`` on the bytes, and on a real
    snapshot with the bytes' edits applied; a refused snapshot must raise
    an expected error, an accepted one must run.  A no-op until snapshots
    exist."""
    if not snapshot_available():
        return
    src = Source(data)
    candidates = [data]
    try:
        k = _kernel(src, bool(src.byte() & 1))
        k.spawn(pk.Program.script("c", [pk.op.loop(3, [pk.op.compute(40), pk.op.sleep(10)])]))
        _run(k, src.int_(0, 500))
        snap = bytearray(k.snapshot())
        for _ in range(src.byte() % 8):
            if snap:
                snap[src.below(len(snap))] = src.byte()
        if src.byte() & 1 and snap:
            del snap[src.below(len(snap)):]
        candidates.append(bytes(snap))
    except Exception as exc:  # noqa: BLE001
        if not expected(exc):
            raise
    for blob in candidates:
        try:
            r = pk.Kernel.restore(blob)
            _run(r)
        except Exception as exc:  # noqa: BLE001
            if not expected(exc):
                raise



# ---- (e) ELF images, one field at a time --------------------------------------------

_RVASM_DIR = Path(__file__).resolve().parent.parent / "tests" / "riscv"


def _rvasm():
    """The test suite's small RV64 assembler and ELF writer."""
    if str(_RVASM_DIR) not in sys.path:
        sys.path.insert(0, str(_RVASM_DIR))
    import rvasm
    return rvasm


def _rv_kernel() -> pk.Kernel:
    return pk.Kernel(memory=pk.Memory(frames=512), mmu=pk.MMU(format="sv39"),
                     livelock_steps=LIVELOCK_STEPS,
                     limits=pk.Limits(max_threads=MAX_THREADS))


_ELF_BASES: list = []


def _elf_bases() -> list:
    """Valid images to mutate: a text-only program, one with data and
    bss (both from the assembler), and the bundled example."""
    if not _ELF_BASES:
        rv = _rvasm()
        a = rv.Asm()
        a.li("a0", 1)
        a.exit_with("a0")
        _ELF_BASES.append(a.elf())
        b = rv.Asm()
        addr = b.data(b"pykernel\n")
        b.bss(8192)
        b.write_out(addr, 9)
        b.exit(0)
        _ELF_BASES.append(b.elf())
        _ELF_BASES.append(Path(pk.riscv.example_path()).read_bytes())
    return _ELF_BASES


# (offset, size) of every field of the ELF64 header (System V ABI, "ELF Header")
_EHDR_FIELDS = [(0, 4), (4, 1), (5, 1), (6, 1), (7, 1), (16, 2), (18, 2), (20, 4), (24, 8),
                (32, 8), (40, 8), (48, 4), (52, 2), (54, 2), (56, 2), (58, 2), (60, 2), (62, 2)]
# (offset, size) within one program header (System V ABI, "Program Header")
_PHDR_FIELDS = [(0, 4), (4, 4), (8, 8), (16, 8), (24, 8), (32, 8), (40, 8), (48, 8)]


def _mutate_elf(src: Source, image: bytes) -> bytes:
    img = bytearray(image)
    phoff = struct.unpack_from("<Q", img, 32)[0]
    phnum = struct.unpack_from("<H", img, 56)[0]
    fields = list(_EHDR_FIELDS)
    for i in range(min(phnum, 8)):
        fields += [(phoff + 56 * i + off, size) for off, size in _PHDR_FIELDS]
    how = src.byte() % 8
    if how == 7:                                   # cut short
        return bytes(img[:src.below(len(img) + 1)])
    off, size = src.pick(fields)
    if off + size > len(img):
        return bytes(img)
    old = int.from_bytes(img[off:off + size], "little")
    mask = (1 << (8 * size)) - 1
    if how <= 2:
        new = src.pick(Source.ODD)
    elif how == 3:
        new = old ^ (1 << src.below(8 * size))
    elif how == 4:
        new = old + src.pick((1, -1, 4096, -4096, 1 << 40, 1 << 62))
    elif how == 5:
        new = (old << src.below(16)) | src.uint(size)
    else:
        new = src.uint(size)
    img[off:off + size] = (new & mask).to_bytes(size, "little")
    return bytes(img)


def elf(data: bytes) -> None:
    """Target (e): an ELF image with one field changed (or cut short) is
    either refused by ``Program.elf`` / ``spawn`` with a typed error, or
    runs (for a bounded simulated time) and ends as a process ends."""
    src = Source(data)
    bases = _elf_bases()
    image = _mutate_elf(src, bases[src.below(len(bases))])
    try:
        prog = pk.Program.elf(image)
        k = _rv_kernel()
        p = k.spawn(prog, argv=["a.out"])
        _run(k)
        p.state
        _check_conserved(k)
    except Exception as exc:  # noqa: BLE001
        if not expected(exc):
            raise


# ---- (f) deep nesting ---------------------------------------------------------------

def nesting(data: bytes) -> None:
    """Target (f): structures nested far deeper than any real input, through
    the scenario parser (arrays, inline tables, operation lists) and the
    script compiler; each is refused with a typed error or accepted."""
    src = Source(data)
    kind = src.byte() % 4
    depth = 1 + src.uint(2) % 4000
    if kind == 0:
        text = "[run]\nuntil = " + "[" * depth + "1" + "]" * depth + "\n"
    elif kind == 1:
        text = "[machine]\nx = " + "{a = " * depth + "1" + "}" * depth + "\n"
    elif kind == 2:
        body = '["compute", 10]'
        for _ in range(min(depth, 1500)):
            body = f'["loop", 2, [{body}]]'
        text = ("[machine]\ncpus = 1\n[scheduler]\nname = \"FIFO\"\n"
                f"[[processes]]\nname = \"p\"\nops = [{body}]\n")
    else:
        body = [pk.op.compute(1)]
        try:
            for _ in range(min(depth, 3000)):
                body = [pk.op.loop(2, body)]
            prog = pk.Program.script("deep", body)
            k = pk.Kernel(costs=pk.Costs.zero(), livelock_steps=LIVELOCK_STEPS)
            k.spawn(prog)
            _run(k, 10_000)
        except Exception as exc:  # noqa: BLE001
            if not expected(exc):
                raise
        return
    try:
        sc = pk.scenario.loads(text)
        sc.until
        k, _ = sc.build()
        _run(k, 10_000)
    except (ScenarioError, pk.KernelError) as exc:
        if isinstance(exc, pk.InternalError):
            raise


# ---- (g) zero-time programs under a watchdog ------------------------------------------

WATCHDOG_S = 20.0       # host seconds one zero-time input may take (sanitizer build included)


class WatchdogExpired(Exception):
    """A run did not end within WATCHDOG_S seconds of host time: a finding
    (not one of the EXPECTED refusals)."""


def _zero_op(src: Source, depth: int):
    S = pk.op
    n = src.byte() % 9
    if n == 0:
        return S.compute(0)
    if n == 1:
        return S.yield_()
    if n == 2:
        return S.sleep(0)
    if n == 3:
        return S.io(0)
    if n == 4 and depth < 3:
        return S.loop(src.pick((2**62 - 1, 2**31, 10**9, 1000, 0)), _zero_ops(src, depth + 1))
    if n == 5 and depth < 3:
        return S.spawn_thread(_zero_ops(src, depth + 1))
    if n == 6:
        return S.loop(src.pick((2**62 - 1, 2**40)), [])
    if n == 7:
        return S.compute(src.pick((0, 0, 1)))
    return S.yield_()


def _zero_ops(src: Source, depth: int) -> list:
    return [_zero_op(src, depth) for _ in range(1 + src.byte() % 4)]


def _with_watchdog(fn) -> None:
    """Run fn(); in the main thread an interval timer raises WatchdogExpired
    after WATCHDOG_S seconds (the kernel lets signal handlers in between its
    run slices); elsewhere the elapsed time is checked afterwards."""
    start = time.monotonic()
    main = threading.current_thread() is threading.main_thread()
    if main:
        def expire(signum, frame):
            raise WatchdogExpired(f"no end after {WATCHDOG_S} s of host time")
        old = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, WATCHDOG_S)
    try:
        fn()
    finally:
        if main:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    if time.monotonic() - start > WATCHDOG_S:
        raise WatchdogExpired(f"took {time.monotonic() - start:.1f} s of host time")


def zerotime(data: bytes) -> None:
    """Target (g): programs whose steps take no simulated time must still end
    promptly: reason "livelock" (or "until"/"idle" when some step does take
    time), never a hang."""
    src = Source(data)

    def body():
        try:
            prog = pk.Program.script("z", _zero_ops(src, 0))
            k = pk.Kernel(cpus=1 + src.byte() % 2, costs=src.pick((pk.Costs.zero(), pk.Costs())),
                          limits=pk.Limits(max_threads=src.pick((4, 64, MAX_THREADS))))
            k.spawn(prog)
            r = k.run(until=src.pick((1000, 10**6)))
            if r.reason not in ("livelock", "until", "idle", "deadlock"):
                raise AssertionError(f"unexpected run end {r.reason!r}")
        except Exception as exc:  # noqa: BLE001
            if not expected(exc):
                raise

    _with_watchdog(body)


# ---- (h) random valid RISC-V instructions -------------------------------------------

_RV_REGS = list(range(1, 32))
# (funct3, funct7) of the valid OP and OP-32 instructions (RV64I and M)
_ALU_R = [(f3, 0) for f3 in range(8)] + [(0, 0x20), (5, 0x20)]
_ALU_RW = [(0, 0), (1, 0), (5, 0), (0, 0x20), (5, 0x20)]


def _rv_program(src: Source) -> bytes:
    """A program of random valid instructions of every base format and
    extension, with branch and jump targets inside the program, then an
    exit; the stack pointer is kept (sp is never written)."""
    rv = _rvasm()
    a = rv.Asm()
    buf = a.data(bytes(4096))
    n = 1 + src.byte() % 64
    a.li("s0", buf)
    regs = [r for r in _RV_REGS if r not in (2, 8)]          # keep sp and s0
    for i in range(n):
        a.label(f"L{i}")
        rd, r1, r2 = src.pick(regs), src.pick(regs), src.pick(regs)
        imm = src.uint(2) - 32768
        k = src.byte() % 16
        if k == 0:
            f3, f7 = src.pick(_ALU_R)
            a.word(rv.r_type(0x33, f3, f7, rd, r1, r2))
        elif k == 1:
            f3, f7 = src.pick(_ALU_RW)
            a.word(rv.r_type(0x3B, f3, f7, rd, r1, r2))
        elif k == 2:
            f3 = src.byte() % 8
            a.word(rv.i_type(0x13, f3, rd, r1, (imm % 64) if f3 in (1, 5) else (imm % 4096) - 2048))
        elif k == 3:
            a.word(rv.r_type(0x33, src.byte() % 8, 1, rd, r1, r2))          # M
        elif k == 4:
            a.word(rv.r_type(0x3B, src.pick((0, 4, 5, 6, 7)), 1, rd, r1, r2))  # M, W forms
        elif k == 5:                                   # load from the buffer
            a.word(rv.i_type(0x03, src.pick((0, 1, 2, 3, 4, 5, 6)), rd, 8, src.below(2040)))
        elif k == 6:                                   # store to the buffer
            a.word(rv.s_type(0x23, src.pick((0, 1, 2, 3)), 8, r2, src.below(2040)))
        elif k == 7:
            a.word(rv.u_type(src.pick((0x37, 0x17)), rd, src.uint(3) % (1 << 20)))
        elif k == 8 and i + 1 < n:                     # forward branch within the program
            tgt = f"L{i + 1 + src.below(n - i - 1)}"
            getattr(a, src.pick(("beq", "bne", "blt", "bge", "bltu", "bgeu")))(
                rv._ABI[r1], rv._ABI[r2], tgt)
        elif k == 9:                                   # atomics on the buffer
            a.word(rv.r_type(0x2F, src.pick((2, 3)),
                             src.pick((0x00, 0x04, 0x0C, 0x08, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70)),
                             rd, 8, r2))
        elif k == 10:                                  # csr reads of counters
            csr = src.pick((0xC00, 0xC01, 0xC02, 0x001, 0x002, 0x003))
            a.word(rv.i_type(0x73, 2, rd, 0, csr - 4096 if csr >= 2048 else csr))
        elif k == 11:
            a.half(src.pick((0x0001, 0x4501, 0x0505, 0x157D)))  # c.nop, c.li a0,0, c.addi a0,1, c.addi a0,-1
        elif k == 12:
            a.word(rv.i_type(0x1B, src.pick((0, 1, 5)), rd, r1, imm % 32))
        elif k == 13:                                  # fence
            a.word(0x0FF0000F)
        elif k == 14 and src.byte() < 16:              # an arbitrary 32-bit word (may be illegal)
            a.word(src.uint(4) | 3)
        elif k == 14:
            a.word(rv.i_type(0x13, 0, rd, r1, (imm % 4096) - 2048))
        else:                                          # a system call with random a7
            a.li("a7", src.pick((-1, 2**32 + 64, 64, 172, 4096, 0)))
            a.word(0x00000073)
    a.exit(0)
    return a.elf()


def rvinsn(data: bytes) -> None:
    """Target (h): random valid RISC-V instructions run in a bounded
    simulated time and end (exit, a fault signal, livelock or the time
    limit), with the kernel's books in order."""
    src = Source(data)

    def body():
        try:
            image = _rv_program(src)
        except ValueError:
            return                                      # an encoding the assembler refuses
        try:
            k = _rv_kernel()
            p = k.spawn(pk.Program.elf(image), argv=["r"])
            k.run(until=10**6)
            p.state
            _check_conserved(k)
        except Exception as exc:  # noqa: BLE001
            if not expected(exc):
                raise

    _with_watchdog(body)


TARGETS = {"script": script, "scenario": scenario, "api": api, "snapshot": snapshot,
           "elf": elf, "nesting": nesting, "zerotime": zerotime, "rvinsn": rvinsn}
