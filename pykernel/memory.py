"""Virtual memory: physical memory (:class:`Memory`), the MMU and its
page-table format (:class:`MMU`), and the address space of a process
(:class:`AddressSpace`, ``p.aspace``). docs/memory.md explains the model.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._ffi import ffi, lib
from ._lock import locked_views
from ._validate import int_range as _int
from .errors import BadState, InternalError, NoMemory, NotSupported, OutOfRange, check
from .errors import error as _status_error

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["Memory", "MMU", "AddressSpace", "AddressSpaceStats", "MemoryStats", "TlbStats", "Region",
           "Fault", "PageEntry", "FaultSample", "SharedMemory", "PageRequest", "PAGE_SIZE"]

PAGE_SIZE = 4096
FORMATS = {"x86_64": lib.PK_MMU_X86_64, "x86_64_5level": lib.PK_MMU_X86_64_5,
           "sv39": lib.PK_MMU_SV39, "sv48": lib.PK_MMU_SV48}
LEVELS = {"x86_64": 4, "x86_64_5level": 5, "sv39": 3, "sv48": 4}
VA_BITS = {"x86_64": 48, "x86_64_5level": 57, "sv39": 39, "sv48": 48}
REPLACEMENT = {"fifo": lib.PK_REPL_FIFO, "lru": lib.PK_REPL_LRU, "clock": lib.PK_REPL_CLOCK,
               "random": lib.PK_REPL_RANDOM, "opt": lib.PK_REPL_OPT,
               "active-inactive": lib.PK_REPL_TWO_LIST}
_PROT = {"r": lib.PK_PROT_READ, "w": lib.PK_PROT_WRITE, "x": lib.PK_PROT_EXEC}
FAULT_KINDS = {lib.PK_FAULT_NONE: None, lib.PK_FAULT_UNMAPPED: "unmapped",
               lib.PK_FAULT_WRITE: "write to read-only", lib.PK_FAULT_SUPERVISOR: "supervisor page",
               lib.PK_FAULT_NO_FRAME: "no frame", lib.PK_FAULT_JOB_MEMORY: "job memory limit",
               lib.PK_FAULT_OOM_KILLED: "out of memory",
               lib.PK_FAULT_PAGER: "no page from the fault handler",
               lib.PK_FAULT_EXEC: "execute without permission",
               lib.PK_FAULT_BEYOND_EOF: "past the end of the mapped file"}
# (name, bit) of each format's PTE, from Intel SDM vol. 3A 4.5 and the
# RISC-V privileged spec 20211203, 4.4 (docs/references.md [Intel-SDM-3A], [RISCV-Priv])
PTE_BITS = {
    "x86_64": (("present", 0), ("writable", 1), ("user", 2), ("pwt", 3), ("pcd", 4),
               ("accessed", 5), ("dirty", 6), ("page_size", 7), ("global", 8),
               ("no_execute", 63)),
    "sv39": (("valid", 0), ("read", 1), ("write", 2), ("execute", 3), ("user", 4),
             ("global", 5), ("accessed", 6), ("dirty", 7)),
}
PTE_BITS["x86_64_5level"] = PTE_BITS["x86_64"]
PTE_BITS["sv48"] = PTE_BITS["sv39"]
PFN_SHIFT = {"x86_64": 12, "x86_64_5level": 12, "sv39": 10, "sv48": 10}
PFN_MASK = {"x86_64": (1 << 40) - 1, "x86_64_5level": (1 << 40) - 1,
            "sv39": (1 << 44) - 1, "sv48": (1 << 44) - 1}


def prot_bits(prot) -> int:
    """A protection string ("r", "rw", "rx", "rwx") -> PK_PROT_* bits.
    Every mapping is readable (x86-64 has no write-only pages)."""
    if not isinstance(prot, str):
        raise TypeError(f'prot must be a string such as "rw", not {type(prot).__name__}')
    if not prot or any(c not in _PROT for c in prot) or len(set(prot)) != len(prot):
        raise ValueError(f'prot must be made of the letters r, w, x (e.g. "rw"), got {prot!r}')
    if "r" not in prot:
        raise ValueError(f'prot must include "r": every mapping is readable, got {prot!r}')
    bits = 0
    for c in prot:
        bits |= _PROT[c]
    return bits


def prot_str(bits: int) -> str:
    """PK_PROT_* bits -> "rw"-style string."""
    return "".join(c for c in "rwx" if bits & _PROT[c])


@dataclass(frozen=True)
class Memory:
    """Physical memory of the simulated machine, and its swap device.

    ``frames``: physical frames of 4 KiB (default 2^18 = 1 GiB). Frames are
    handed out on demand and their contents exist only once written, so a
    large machine costs host memory only for what is used.

    ``swap``: the swap device's capacity in pages (0: no swap, the
    default); ``swap_latency``: ns a major fault blocks the faulting thread
    (default 100,000 ns, an assumption of the order of an SSD read).
    With swap, a fault that finds no free frame sends a page to swap
    (global replacement), and so does an allocation that leaves fewer than
    ``low_watermark`` frames free, until ``high_watermark`` are free
    (defaults: frames // 256 and frames // 128, Linux's "low" and "high"
    idea without its "min"). ``replacement`` picks the page: "fifo",
    "lru" (exact), "clock" (second chance, the default), "random"
    (seeded), "opt" (Belady, from the scripts' future) or
    "active-inactive" (Linux-like two lists); docs/memory.md gives the
    rules. When no frame can be freed, the out-of-memory rule kills the
    process with the largest resident + swapped + page-table pages.

    ``stack``: bytes of every process's stack region, just below the top
    of the user half (default 8 MiB, Linux's usual RLIMIT_STACK): always
    there, demand-zero, read-write (``p.aspace.stack``).

    ``track``: record every page's last use (one store per access), which
    ``p.aspace.working_set(window)`` needs; "lru" always tracks; "opt"
    cannot (it keeps its distances there). ``fault_interval``: ns per
    bucket of :meth:`pykernel.Kernel.fault_rate` (default 1 ms; the
    buckets widen as the run grows, see docs/memory.md).

    ``max_map_count``: regions one address space may hold (default
    65,530, Linux's ``vm.max_map_count``, Documentation/admin-guide/sysctl/vm.rst;
    None: no limit). A map, unmap or protect that would pass it fails
    (``NoMemory`` naming it, ``ENOMEM`` for machine code) and changes
    nothing. pykernel does not merge adjacent regions, so every map
    call is one region (and splits count, as in Linux).
    """

    frames: int = 1 << 18
    replacement: str = "clock"
    swap: int = 0
    swap_latency: int = 100_000
    low_watermark: int | None = None
    high_watermark: int | None = None
    track: bool = False
    fault_interval: int = 1_000_000
    stack: int = 8 << 20
    max_map_count: int | None = 65530

    def __post_init__(self):
        _int("Memory frames", self.frames, 1, 0xFFFFFFFE)
        if self.replacement not in REPLACEMENT:
            raise ValueError(f"Memory replacement must be one of {', '.join(REPLACEMENT)}, "
                             f"not {self.replacement!r}")
        _int("Memory swap", self.swap, 0, 0xFFFFFFFE)
        _int("Memory swap_latency", self.swap_latency, 0, (1 << 62) - 1)
        if not isinstance(self.track, bool):
            raise TypeError(f"Memory track must be a bool, not {type(self.track).__name__}")
        if self.track and self.replacement == "opt":
            raise ValueError('Memory track=True cannot be combined with replacement="opt"')
        _int("Memory fault_interval", self.fault_interval, 1, (1 << 62) - 1)
        if _int("Memory stack", self.stack, 0, 1 << 37) % PAGE_SIZE:
            raise ValueError(f"Memory stack must be a multiple of {PAGE_SIZE} bytes, got {self.stack}")
        if self.max_map_count is not None:
            _int("Memory max_map_count", self.max_map_count, 1, 0xFFFFFFFE)
        low, high = self.watermarks
        if not 0 <= low <= high <= self.frames:
            raise ValueError(f"Memory watermarks must satisfy 0 <= low <= high <= frames, "
                             f"got low={low}, high={high}")

    @property
    def watermarks(self) -> tuple[int, int]:
        """(low, high): free frames below which global reclaim starts, and
        up to which it goes."""
        low = self.frames // 256 if self.low_watermark is None else \
            _int("Memory low_watermark", self.low_watermark, 0, self.frames)
        high = max(low, self.frames // 128) if self.high_watermark is None else \
            _int("Memory high_watermark", self.high_watermark, 0, self.frames)
        return low, high

    def _configure(self, m) -> None:
        """Fill a pk_mem_config."""
        m.frames, m.replacement = self.frames, REPLACEMENT[self.replacement]
        m.track = self.track or self.replacement == "lru"
        m.swap, m.swap_latency = self.swap, self.swap_latency
        m.low, m.high = self.watermarks
        m.fault_interval = self.fault_interval
        m.stack = self.stack
        m.max_map_count = self.max_map_count or 0


def rss_limit_arg(memory: Memory | None, limit) -> int:
    """Validate spawn's rss_limit against the kernel's memory."""
    if memory is None:
        raise BadState("rss_limit needs a kernel with memory=pk.Memory(...)")
    limit = _int("rss_limit", limit, 1, 1 << 62)
    if not memory.swap:
        raise BadState("rss_limit needs a swap device to send pages to: pk.Memory(swap=...)")
    return limit


@dataclass(frozen=True)
class MMU:
    """The memory-management unit: the page-table format and the TLBs.

    ``format``: "x86_64" (4-level, the default), "x86_64_5level",
    "sv39" or "sv48" (RISC-V); page-table entries are bit-exact with
    the Intel SDM and the RISC-V privileged spec (docs/references.md). Each CPU has a TLB of ``tlb_entries`` entries (0: no
    TLB, every access walks) in sets of ``tlb_ways`` (the number of sets
    must be a power of two), replacing the least recently used entry of a
    set (``tlb_replacement="lru"``) or a random one ("random"). Defaults:
    64 entries, 4-way, a typical first-level data TLB (docs/references.md
    [Intel-Opt]).
    ``asid``: entries are tagged with their address space (PCID / ASID),
    so a switch keeps them; with ``asid=False`` a switch to another
    address space flushes the TLB (global entries excepted).
    """

    format: str = "x86_64"
    tlb_entries: int = 64
    tlb_ways: int = 4
    asid: bool = True
    tlb_replacement: str = "lru"

    def __post_init__(self):
        if self.format not in FORMATS:
            raise ValueError(f"MMU format must be one of {', '.join(FORMATS)}, "
                             f"not {self.format!r}")
        _int("MMU tlb_entries", self.tlb_entries, 0, 65536)
        _int("MMU tlb_ways", self.tlb_ways, 1, 65536)
        if self.tlb_entries:
            sets, rem = divmod(self.tlb_entries, self.tlb_ways)
            if rem or sets & (sets - 1):
                raise ValueError(f"MMU tlb_entries / tlb_ways must be a power of two, got "
                                 f"{self.tlb_entries} / {self.tlb_ways}")
        if not isinstance(self.asid, bool):
            raise TypeError(f"MMU asid must be a bool, not {type(self.asid).__name__}")
        if self.tlb_replacement not in ("lru", "random"):
            raise ValueError(f'MMU tlb_replacement must be "lru" or "random", '
                             f'not {self.tlb_replacement!r}')

    @property
    def levels(self) -> int:
        """Levels of page table a walk reads."""
        return LEVELS[self.format]

    @property
    def va_bits(self) -> int:
        """Width of a virtual address; user addresses are below 2**(va_bits - 1)."""
        return VA_BITS[self.format]


@dataclass(frozen=True)
class AddressSpaceStats:
    """Counters of one address space. ``page_faults`` counts faults that
    brought a page in (``minor_faults + major_faults``);
    ``protection_faults`` accesses refused (fatal to the process);
    ``rss`` resident user pages; ``page_table_pages`` its page-table
    pages; ``walks`` page walks (every access that missed the TLB, and
    the retry after a fault); ``swapped`` its pages now in swap,
    ``swap_ins`` and ``swap_outs`` its pages read from and written to
    swap; ``rss_limit`` (0: none); ``brk`` the program break (the heap
    is [0x1000_0000, brk)); ``forks`` children it forked; ``cow_breaks``
    writes that copied a page shared by fork."""

    touches: int
    walks: int
    page_faults: int
    minor_faults: int
    major_faults: int
    protection_faults: int
    cow_breaks: int
    rss: int
    page_table_pages: int
    swapped: int = 0
    swap_ins: int = 0
    swap_outs: int = 0
    rss_limit: int = 0
    brk: int = 0x1000_0000
    forks: int = 0


@dataclass(frozen=True)
class MemoryStats:
    """Kernel-wide memory counters: ``frames`` configured, ``free`` now,
    ``used_high`` the highest frame ever used, ``page_table_pages`` in
    use, ``data_pages`` frames whose contents exist in host memory,
    ``address_spaces`` of live processes, ``ipis`` TLB-shootdown
    interrupts sent; ``swap`` pages of swap and ``swap_used``;
    ``swap_ins`` / ``swap_outs`` pages read / written; ``evictions`` pages
    taken from processes; ``reclaims`` global reclaim passes (no free
    frame, or below the low watermark); ``oom_kills``; ``shared_frames``
    frames mapped by more than one page (fork, shared mappings)."""

    frames: int
    free: int
    used_high: int
    page_table_pages: int
    data_pages: int
    address_spaces: int
    ipis: int = 0
    swap: int = 0
    swap_used: int = 0
    swap_ins: int = 0
    swap_outs: int = 0
    evictions: int = 0
    reclaims: int = 0
    oom_kills: int = 0
    shared_frames: int = 0


@dataclass(frozen=True)
class TlbStats:
    """One CPU's TLB: ``hits``, ``misses`` (each miss is a page walk;
    a write to an entry whose dirty bit is clear counts as a miss, as it
    walks to set the bit), ``flushes`` (address-space switches without
    ASIDs), ``shootdowns`` (interrupts received to invalidate entries),
    ``switches`` (address-space loads: CR3 / satp writes)."""

    cpu: int
    hits: int
    misses: int
    flushes: int
    shootdowns: int
    switches: int

    @property
    def hit_rate(self) -> float:
        """hits / (hits + misses), 0.0 before any access."""
        n = self.hits + self.misses
        return self.hits / n if n else 0.0


@dataclass(frozen=True)
class Region:
    """A mapped range [start, end) with its protection ("rw"...), and
    whether its pages are supervisor-only (``user`` False)."""

    start: int
    end: int
    prot: str
    user: bool = True


@dataclass(frozen=True)
class Fault:
    """Why a process died of memory: ``kind`` ("unmapped", "write to
    read-only", "supervisor page", "no frame", "job memory limit", "out of
    memory") and the address. For "out of memory", the out-of-memory rule
    chose it: ``trigger`` is the pid whose fault found no frame
    (``address`` is in that process), ``badness`` its score (resident +
    swapped + page-table pages, the largest of all processes)."""

    kind: str
    address: int
    trigger: int | None = None
    badness: int | None = None


@dataclass(frozen=True)
class FaultSample:
    """Faults (minor and major) in [start, end) ns, and their rate."""

    start: int
    end: int
    faults: int

    @property
    def per_second(self) -> float:
        """Faults per simulated second in this interval."""
        return self.faults * 1e9 / (self.end - self.start)


@dataclass(frozen=True)
class PageEntry:
    """One page-table entry read by a walk: its level (0 = root), its raw
    64-bit value, its bits by name (the format's, as in its specification) and
    the frame it points to."""

    level: int
    value: int
    bits: dict
    frame: int


@locked_views()
class AddressSpace:
    """The address space of a process (``p.aspace``): a light view."""

    __slots__ = ("_k", "pid")

    def __init__(self, kernel: "Kernel", pid: int):
        self._k = kernel
        self.pid = pid

    @property
    def format(self) -> str:
        """The page-table format."""
        return self._k.mmu.format

    @property
    def stats(self) -> AddressSpaceStats:
        """Its counters (see :class:`AddressSpaceStats`)."""
        s = ffi.new("pk_as_stats *")
        check(lib.pk_as_stats_get(self._k._kp, self.pid, s), "address-space stats")
        return AddressSpaceStats(s.touches, s.walks, s.page_faults, s.minor_faults,
                                 s.major_faults, s.protection_faults, s.cow_breaks, s.rss,
                                 s.pt_pages, s.swapped, s.swap_ins, s.swap_outs, s.rss_limit,
                                 s.brk, s.forks)

    @property
    def stack(self) -> Region | None:
        """The stack region (the same in every process: ``Memory.stack``
        bytes below the top of the user half), or None without one."""
        size = self._k.memory.stack
        top = 1 << (self._k.mmu.va_bits - 1)
        return Region(top - size, top, "rw") if size else None

    def set_fault_handler(self, handler) -> None:
        """Install ``handler(request)``, a page-fault handler written in
        Python (a user-space pager, like Linux's userfaultfd): a script
        thread's fault on a missing page of a region mapped with
        ``userfault=True`` stops the simulation at that instant and calls
        it with a :class:`PageRequest`. Returning True (or None) maps a
        zero-filled page and the access goes on; False kills the process
        (its ``aspace.fault`` says "no page from the fault handler"); an
        exception does the same, then propagates out of ``k.run``.
        ``None`` removes the handler (such faults then kill)."""
        if handler is not None and not callable(handler):
            raise TypeError(f"a fault handler must be callable, not {type(handler).__name__}")
        pagers = self._k._pagers()
        if handler is None:
            pagers.pop(self.pid, None)
        else:
            pagers[self.pid] = handler

    def working_set(self, window: int) -> int:
        """Resident pages used within the last ``window`` ns (Denning's
        working set, W(t, window), counting resident pages only). Needs
        ``pk.Memory(track=True)`` or "lru"."""
        window = _int("working_set window", window, 0, (1 << 62) - 1)
        out = ffi.new("uint64_t *")
        s = lib.pk_as_working_set(self._k._kp, self.pid, window, out)
        if s == lib.PK_ERR_NOT_SUPPORTED:
            raise BadState("working sets need page uses recorded: pk.Memory(track=True)")
        check(s, "working set")
        return out[0]

    @property
    def rss(self) -> int:
        """Resident user pages."""
        return self.stats.rss

    @property
    def regions(self) -> list[Region]:
        """Its mapped regions, in address order."""
        n = ffi.new("uint32_t *")
        check(lib.pk_as_regions_get(self._k._kp, self.pid, ffi.NULL, 0, n), "regions")
        buf = ffi.new("pk_region_info[]", max(n[0], 1))
        check(lib.pk_as_regions_get(self._k._kp, self.pid, buf, n[0], n), "regions")
        return [Region(r.start, r.end, prot_str(r.prot), not r.flags & lib.PK_MAP_SUPERVISOR)
                for r in buf[0:n[0]]]

    @property
    def fault(self) -> Fault | None:
        """The fault that killed the process, or None."""
        f = ffi.new("pk_fault_info *")
        check(lib.pk_as_fault_get(self._k._kp, self.pid, f), "fault")
        if f.kind == lib.PK_FAULT_OOM_KILLED:
            return Fault(FAULT_KINDS[f.kind], f.va, f.trigger, f.badness)
        return None if f.kind == lib.PK_FAULT_NONE else Fault(FAULT_KINDS[f.kind], f.va)

    def _va(self, va) -> int:
        va = operator.index(va) if not isinstance(va, bool) else None
        if va is None or not 0 <= va < 1 << (self._k.mmu.va_bits - 1):
            raise ValueError(f"a user virtual address is an int in [0, 2**{self._k.mmu.va_bits - 1})")
        return va

    def walk(self, va: int) -> list[PageEntry]:
        """The page-table entries a walk of ``va`` reads, root first; the
        list stops early at an entry that is not present (empty if the
        address space has no page table yet)."""
        va = self._va(va)
        fmt = self._k.mmu.format
        e, n = ffi.new("uint64_t[5]"), ffi.new("uint32_t *")
        check(lib.pk_as_walk(self._k._kp, self.pid, va, e, n), f"walk {va:#x}")
        return [PageEntry(i, e[i], {name: (e[i] >> bit) & 1 for name, bit in PTE_BITS[fmt]},
                          (e[i] >> PFN_SHIFT[fmt]) & PFN_MASK[fmt]) for i in range(n[0])]

    def translate(self, va: int) -> int | None:
        """The physical address ``va`` maps to, or None if no page is
        present there."""
        va = self._va(va)
        out = ffi.new("uint64_t *")
        s = lib.pk_as_translate(self._k._kp, self.pid, va, out)
        if s == lib.PK_ERR_BAD_STATE:
            return None
        check(s, f"translate {va:#x}")
        return out[0]

    def map(self, addr: int, length: int, prot: str = "rw", user: bool = True,
            populate: bool = False, shared=False, userfault: bool = False,
            file=None, offset: int = 0) -> None:
        """Map [addr, addr + length) now (see :func:`pykernel.op.map`);
        ``shared`` may be a :class:`SharedMemory` of this kernel;
        ``userfault=True``: missing pages are asked of the process's fault
        handler (:meth:`set_fault_handler`).

        ``file`` (a path in ``k.fs``) maps that regular file from byte
        ``offset`` (page-aligned) on, as mmap(2) does: ``shared=True``
        shares its page cache (MAP_SHARED: writes through the mapping are
        the file's bytes, and ``write`` to the file shows in the mapping),
        ``shared=False`` copies a page when it is first written
        (MAP_PRIVATE). The process must be allowed to read the file (and,
        for a shared writable mapping, to write it); errors are the file
        system's (``pk.NotFound``, ``pk.AccessDenied``, ``pk.NoDevice``
        for a file that is not regular). Touching a page past the end of
        the file is a fatal fault (SIGBUS on Linux)."""
        if file is not None:
            self._map_file(addr, length, prot, user, populate, shared, userfault, file, offset)
            return
        if offset != 0:
            raise ValueError("map offset is for a file mapping (file=...)")
        if not isinstance(userfault, bool):
            raise TypeError(f"map userfault must be a bool, not {type(userfault).__name__}")
        *a, obj = map_args(addr, length, prot, user, populate, shared=shared)
        if userfault:
            a[3] |= lib.PK_MAP_USERFAULT
        if obj:
            if shared._k is not self._k:
                raise ValueError("that shared-memory object belongs to another kernel")
            st = lib.pk_vm_map_shm(self._k._kp, self.pid, a[0], a[1], a[2], obj)
            if st and _shm_closed(self._k, obj):
                raise _status_error(st, f"map {addr:#x}", f"shared-memory object {obj} is closed")
            self._changed(st, f"map {addr:#x}")
            return
        self._changed(lib.pk_vm_map(self._k._kp, self.pid, *a), f"map {addr:#x}")

    def _map_file(self, addr, length, prot, user, populate, shared, userfault, file,
                  offset) -> None:
        """map(file=...): resolve the path in k.fs and map the file."""
        from .errors import fs_error
        if not isinstance(shared, bool):
            raise TypeError(f"map of a file: shared must be a bool, not {type(shared).__name__}")
        if populate or userfault or user is not True:
            raise ValueError("map of a file takes neither populate, userfault nor user=False")
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise TypeError(f"map offset must be an int, not {type(offset).__name__}")
        if offset < 0 or offset % 4096 or offset >= 1 << 52:
            raise ValueError(f"map offset must be a multiple of 4096 in [0, 2**52), not {offset}")
        a, n = range_args("map", addr, length)
        ino = self._k.fs._lookup(file, what="map")
        err = ffi.new("int32_t *")
        st = lib.pk_vm_map_file(self._k._kp, self.pid, ino, a, n, prot_bits(prot), int(shared),
                                offset, err)
        check(st, f"map {addr:#x}")
        if err[0] == -lib.PK_ENOMEM:
            self._changed(lib.PK_ERR_NO_MEMORY, f"map {addr:#x}")
        if err[0]:
            raise fs_error(err[0], "map", str(file))

    def unmap(self, addr: int, length: int) -> None:
        """Unmap [addr, addr + length) now (see :func:`pykernel.op.unmap`)."""
        a, n = range_args("unmap", addr, length)
        self._changed(lib.pk_vm_unmap(self._k._kp, self.pid, a, n), f"unmap {addr:#x}")

    def protect(self, addr: int, length: int, prot: str) -> None:
        """Change the protection of [addr, addr + length) now."""
        a, n = range_args("protect", addr, length)
        self._changed(lib.pk_vm_protect(self._k._kp, self.pid, a, n, prot_bits(prot)),
                      f"protect {addr:#x}")

    def _changed(self, status: int, what: str) -> None:
        """Raise for the status of a map / unmap / protect; a NoMemory
        that Memory.max_map_count caused names it."""
        if status == lib.PK_ERR_NO_MEMORY:
            refused = ffi.new("uint32_t *")
            if lib.pk_vm_map_count_refused(self._k._kp, refused) == 0 and refused[0]:
                limit = self._k.memory.max_map_count
                err = NoMemory(f"{what}: map count limit reached (max_map_count={limit}): "
                               f"an address space holds at most {limit} regions")
                err.limit = "max_map_count"
                raise err
        check(status, what)

    def __repr__(self) -> str:
        return f"<AddressSpace pid={self.pid} {self.format}>"


def range_args(what: str, addr, length) -> tuple[int, int]:
    """Validate a page-aligned address and a length (rounded up to pages)."""
    if isinstance(addr, bool) or not isinstance(addr, int):
        raise TypeError(f"{what} address must be an int, not {type(addr).__name__}")
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"{what} length must be an int, not {type(length).__name__}")
    if addr < 0 or addr % PAGE_SIZE:
        raise ValueError(f"{what} address must be a non-negative multiple of {PAGE_SIZE}, "
                         f"got {addr:#x}")
    if length <= 0 or addr + length > 1 << 63:
        raise ValueError(f"{what} length must be > 0 (and the range below 2**63), got {length}")
    return addr, -(-length // PAGE_SIZE) * PAGE_SIZE


@locked_views()
class SharedMemory:
    """A shared-memory object of a kernel (``k.shared_memory(length)``):
    pages that several processes map (``pk.op.map(addr, length,
    shared=obj)`` or ``p.aspace.map(..., shared=obj)``), each seeing the
    others' writes. Its frames are allocated when first touched and stay
    resident (never swapped). :meth:`close` drops the object: mappings
    keep the pages already touched; touching a page that never was then
    kills the toucher, like a SIGBUS."""

    __slots__ = ("_k", "id", "pages")

    def __init__(self, kernel: "Kernel", length):
        if isinstance(length, bool) or not isinstance(length, int) or length <= 0:
            raise ValueError(f"shared_memory length must be an int > 0 bytes, got {length!r}")
        self._k = kernel
        self.pages = -(-length // PAGE_SIZE)
        out = ffi.new("uint32_t *")
        if kernel.memory is None:
            raise BadState("shared memory needs a kernel with memory=pk.Memory(...)")
        if self.pages > kernel.memory.frames:        # also keeps it within 64 bits for the core
            raise OutOfRange(f"shared_memory of {self.pages} pages is larger than the "
                             f"machine's memory ({kernel.memory.frames} frames)")
        check(lib.pk_shm_create(kernel._kp, self.pages, out), "shared_memory")
        self.id = out[0]

    @classmethod
    def _existing(cls, kernel: "Kernel", id_: int, pages: int) -> "SharedMemory":
        """A view of object ``id_`` that the kernel already has."""
        obj = cls.__new__(cls)
        obj._k, obj.id, obj.pages = kernel, id_, pages
        return obj

    @property
    def length(self) -> int:
        """Its size in bytes (whole pages)."""
        return self.pages * PAGE_SIZE

    def close(self) -> None:
        """Drop the object (see the class)."""
        check(lib.pk_shm_close(self._k._kp, self.id), "close shared memory")

    def __repr__(self) -> str:
        return f"<SharedMemory id={self.id} pages={self.pages}>"


@dataclass(frozen=True)
class PageRequest:
    """A fault waiting for a fault handler written in Python: the process,
    the thread (tid), the page-aligned address, whether the access is a
    write, and the CPU the thread was running on (None if the core no
    longer knows it: a fault left unanswered by an earlier run)."""

    process: object
    tid: int
    address: int
    write: bool
    cpu: int | None = None


def _shm_closed(kernel: "Kernel", id_: int) -> bool:
    pages, alive = ffi.new("uint64_t *"), ffi.new("uint32_t *")
    return lib.pk_shm_info_get(kernel._kp, id_, pages, alive) == 0 and not alive[0]


def shared_memory_objects(kernel: "Kernel") -> list:
    """The kernel's shared-memory objects that are still open, by id."""
    out = []
    pages, alive = ffi.new("uint64_t *"), ffi.new("uint32_t *")
    for id_ in range(1, 1 << 32):
        status = lib.pk_shm_info_get(kernel._kp, id_, pages, alive)
        if status == lib.PK_ERR_OUT_OF_RANGE:
            break
        check(status, "shared-memory objects")
        if alive[0]:
            out.append(SharedMemory._existing(kernel, id_, pages[0]))
    return out


def pager_step(kernel: "Kernel", stop=None) -> None:
    """The run stopped for a fault in a userfault region (``stop``: its
    stop record, which names the faulting thread): ask the process's
    handler and give the core its answer."""
    from .process import Process
    f = ffi.new("pk_pager_fault *")
    check(lib.pk_vm_pager_next(kernel._kp, f), "pager")
    handler = kernel._pagers().get(f.pid)
    answer, error = 0, None
    if handler is not None:
        try:
            cpu = stop.cpu if stop is not None and stop.cpu != lib.PK_ALL_THREADS else None
            answer = 0 if handler(PageRequest(Process(kernel, f.pid), f.tid, f.va,
                                              bool(f.write), cpu)) is False else 1
        except Exception as e:  # noqa: BLE001 - re-raised below, after the answer
            error = e
    check(lib.pk_vm_pager_answer(kernel._kp, answer), "pager answer")
    if error is not None:
        raise error


def refuse_snapshot(kernel: "Kernel") -> None:
    """Raise NotSupported if a live process of ``kernel`` has a fault
    handler written in Python: a Python callable cannot be put in a
    snapshot (docs/snapshot.md says how to take one anyway)."""
    from .process import Process
    live = []
    for pid, handler in sorted(kernel._pagers().items()):
        if Process(kernel, pid)._info().state != lib.PK_PS_EXITED:   # a zombie has exited too
            live.append(f"process {pid} ({kernel._proc_name(pid)!r}): "
                        f"{getattr(handler, '__qualname__', type(handler).__name__)}")
    if live:
        raise NotSupported(
            f"cannot snapshot a kernel whose processes have page-fault handlers written in "
            f"Python: {'; '.join(live)}; remove them with "
            f"p.aspace.set_fault_handler(None) before the snapshot and set them again on "
            f"both kernels after it")


def verify(kernel: "Kernel") -> None:
    """Raise InternalError if the memory system breaks one of its invariants
    (see :meth:`pykernel.Kernel.check_memory`)."""
    status = lib.pk_mem_verify(kernel._kp)
    if status == lib.PK_ERR_INTERNAL:
        raise InternalError("the memory system is inconsistent (a frame, page table, list, "
                            "swap slot or TLB entry breaks an invariant of csrc/vm/pk_vm_check.c)")
    check(status, "check memory")


def map_args(addr, length, prot, user, populate, global_=False,
             shared=False) -> tuple[int, int, int, int, int]:
    """(addr, length, prot bits, flags, object id) for a map."""
    addr, length = range_args("map", addr, length)
    obj = 0
    if isinstance(shared, SharedMemory):
        if length > shared.length:
            raise ValueError(f"map length {length} exceeds the shared-memory object "
                             f"({shared.length} bytes)")
        obj, shared = shared.id, True
    elif not isinstance(shared, bool):
        raise TypeError(f"map shared must be a bool or a pk.SharedMemory, not "
                        f"{type(shared).__name__}")
    flags = (0 if user else lib.PK_MAP_SUPERVISOR) | (lib.PK_MAP_POPULATE if populate else 0)
    flags |= lib.PK_MAP_GLOBAL if global_ else 0
    flags |= lib.PK_MAP_SHARED if shared else 0
    return addr, length, prot_bits(prot), flags, obj


def memory_stats(kernel: "Kernel") -> MemoryStats:
    """Kernel-wide memory counters (see :class:`MemoryStats`)."""
    s = ffi.new("pk_mem_stats *")
    if lib.pk_mem_stats_get(kernel._kp, s) == lib.PK_ERR_NOT_SUPPORTED:
        raise BadState("this kernel has no virtual memory: pk.Kernel(memory=pk.Memory(...))")
    return MemoryStats(s.frames, s.free, s.used_high, s.pt_pages, s.data_pages, s.address_spaces,
                       s.ipis, s.swap, s.swap_used, s.swap_ins, s.swap_outs, s.evictions,
                       s.reclaims, s.oom_kills, s.shared_frames)


def fault_rate(kernel: "Kernel") -> list[FaultSample]:
    """Faults per interval from time 0 to the last fault."""
    n, w = ffi.new("uint32_t *"), ffi.new("uint64_t *")
    if lib.pk_mem_fault_series(kernel._kp, ffi.NULL, 0, n, w) == lib.PK_ERR_NOT_SUPPORTED:
        raise BadState("this kernel has no virtual memory: pk.Kernel(memory=pk.Memory(...))")
    buf = ffi.new("uint32_t[]", max(n[0], 1))
    check(lib.pk_mem_fault_series(kernel._kp, buf, n[0], n, w), "fault series")
    return [FaultSample(i * w[0], (i + 1) * w[0], buf[i]) for i in range(n[0])]


def tlb_stats(kernel: "Kernel", cpu: int) -> TlbStats:
    """CPU ``cpu``'s TLB counters."""
    s = ffi.new("pk_tlb_stats *")
    st = lib.pk_tlb_stats_get(kernel._kp, cpu, s)
    if st == lib.PK_ERR_NOT_SUPPORTED:
        raise BadState("this kernel has no virtual memory: pk.Kernel(memory=pk.Memory(...))")
    check(st, "tlb stats")
    return TlbStats(cpu, s.hits, s.misses, s.flushes, s.shootdowns, s.switches)
