"""RISC-V machine code: ELF images, their processes' output and counters
(docs/riscv.md).

``pk.Program.elf(path_or_bytes)`` makes a program from a statically
linked RV64 ELF executable; ``k.spawn(prog, argv=[...], env={...},
stdin=b"...")`` runs it as a process whose thread is interpreted by the C
core through the simulated page tables and TLB.
"""

from __future__ import annotations

import os
import struct
from ._ffi import ffi, lib
from .errors import InvalidArgs, NotSupported, check

__all__ = ["check_elf", "ElfInfo", "example_path", "DEFAULT_EPOCH", "epoch_seconds"]

#: The default ``Kernel(epoch=...)``: 2000-01-01T00:00:00Z in seconds since
#: 1970, a fixed date so that runs reading CLOCK_REALTIME stay deterministic.
DEFAULT_EPOCH = 946_684_800

EM_RISCV = 243
PT_LOAD, PT_INTERP = 1, 3
MAX_STRINGS = 256 << 10


class ElfInfo:
    """What :func:`check_elf` found: ``entry`` point, ``segments`` as
    (address, memory size, "rwx" flags) triples, ``type`` ("exec" or
    "dyn" for a static position-independent executable)."""

    __slots__ = ("entry", "segments", "type")

    def __init__(self, entry: int, segments: list, type_: str):
        self.entry = entry
        self.segments = segments
        self.type = type_

    def __repr__(self) -> str:
        return f"ElfInfo(entry={self.entry:#x}, segments={len(self.segments)}, type={self.type!r})"


def _elf_reasons() -> dict:
    """PK_ELF_E_* -> the message's template: ``ph`` is the program header
    at fault, ``other`` the one it overlaps or follows, ``value`` and
    ``limit`` what the core reports, ``len`` the file's length; ``fields``
    the header's fields read back from the bytes (for the message only:
    the rules are the core's, csrc/rv/pk_rv_elf.c)."""
    L = lib
    return {
        L.PK_ELF_E_MAGIC: "not an ELF file (it does not start with \\x7fELF)",
        L.PK_ELF_E_SHORT: "truncated: {len} bytes, shorter than an ELF64 header (64)",
        L.PK_ELF_E_CLASS: "ELF header: e_ident[EI_CLASS] is {value}, not a 64-bit ELF file "
                          "(ELFCLASS64, 2): RV64 is needed",
        L.PK_ELF_E_DATA: "ELF header: e_ident[EI_DATA] is {value}, not little-endian (ELFDATA2LSB, 1)",
        L.PK_ELF_E_VERSION: "ELF header: e_ident[EI_VERSION] is {value}, not EV_CURRENT (1)",
        L.PK_ELF_E_MACHINE: "ELF header: e_machine {value} is not RISC-V ({limit})",
        L.PK_ELF_E_TYPE: "ELF header: e_type {value} is not an executable (ET_EXEC, 2) or "
                         "position-independent executable (ET_DYN, 3)",
        L.PK_ELF_E_PHENTSIZE: "ELF header: e_phentsize is {value}, not {limit} (an ELF64 "
                              "program header)",
        L.PK_ELF_E_PHNUM: "ELF header: e_phnum is {value}; 1 to {limit} program headers are "
                          "accepted",
        L.PK_ELF_E_PHOFF: "truncated: the program headers (e_phoff {value:#x}) run past the end "
                          "of the {len}-byte file",
        L.PK_ELF_E_INTERP: "program header {ph} is PT_INTERP: dynamically linked (it names an "
                           "interpreter); link it statically (gcc -static)",
        L.PK_ELF_E_NLOAD: "{value} PT_LOAD program headers; 1 to {limit} are accepted",
        L.PK_ELF_E_FILESZ: "program header {ph}: p_filesz {value:#x} is larger than p_memsz "
                           "{limit:#x}",
        L.PK_ELF_E_OFFSET: "truncated: program header {ph}: p_offset {value:#x} + p_filesz "
                           "{fields[filesz]:#x} runs past the end of the {len}-byte file",
        L.PK_ELF_E_MEMSZ: "program header {ph}: p_memsz {value:#x} is larger than a segment "
                          "may be ({limit:#x} bytes)",
        L.PK_ELF_E_WRAP: "program header {ph}: p_vaddr {value:#x} + p_memsz {limit:#x} wraps "
                         "around the end of the address space",
        L.PK_ELF_E_KERNEL_HALF: "program header {ph}: the segment at p_vaddr {value:#x} "
                                "(p_memsz {fields[memsz]:#x}) ends above {limit:#x}, in the "
                                "kernel half of the address space",
        L.PK_ELF_E_ALIGN: "program header {ph}: p_vaddr {value:#x} and p_offset {limit:#x} "
                          "differ modulo the page size (4096)",
        L.PK_ELF_E_PAGE_ZERO: "program header {ph}: p_vaddr {value:#x} is in page 0, which is "
                              "never mapped",
        L.PK_ELF_E_OVERLAP: "program header {ph}: the segment at p_vaddr {value:#x} overlaps "
                            "the pages of program header {other}",
        L.PK_ELF_E_ORDER: "program header {ph}: p_vaddr {value:#x} is below that of program "
                          "header {other}: PT_LOAD headers must ascend by p_vaddr",
        L.PK_ELF_E_ENTRY: "ELF header: e_entry {value:#x} is outside every PT_LOAD segment",
        L.PK_ELF_E_ENTRY_NOEXEC: "ELF header: e_entry {value:#x} is in program header {ph}, "
                                 "which is not executable (no PF_X in p_flags)",
        L.PK_ELF_E_SPAN: "the PT_LOAD segments span {value:#x} bytes; at most {limit:#x} are "
                         "accepted",
    }


_ELF_REASONS: dict = {}


def elf_refusal(data: bytes, status: int, why) -> str:
    """The message for a refusal of the core's ELF rules (pk_elf_refusal)."""
    if not _ELF_REASONS:
        _ELF_REASONS.update(_elf_reasons())
    template = _ELF_REASONS.get(why.reason)
    if why.reason == lib.PK_ELF_E_MEMSZ and why.value == 0:
        template = "program header {ph}: p_memsz is 0 (an empty loadable segment)"
    if template is None:
        return f"refused by the loader (reason {why.reason})"
    fields = {"filesz": 0, "memsz": 0}
    if why.reason in (lib.PK_ELF_E_OFFSET, lib.PK_ELF_E_KERNEL_HALF):
        phoff = struct.unpack_from("<Q", data, 32)[0]
        fields["filesz"], fields["memsz"] = struct.unpack_from("<QQ", data, phoff + 56 * why.phdr + 32)
    return template.format(ph=why.phdr, other=why.other, value=why.value, limit=why.limit,
                           len=len(data), fields=fields)


def check_elf(data: bytes, what: str = "ELF file") -> ElfInfo:
    """Check that ``data`` is an executable pykernel can run (ELF64,
    little-endian, RISC-V, statically linked, with consistent program
    headers: the core's rules, ``pk_elf_check``); raise
    :class:`~pykernel.InvalidArgs` (or :class:`~pykernel.NotSupported`
    for a dynamically linked one) naming the header and field that are
    wrong."""
    why = ffi.new("pk_elf_refusal *")
    status = lib.pk_elf_check(data, len(data), why)
    if status:
        msg = f"{what}: {elf_refusal(data, status, why)}"
        raise NotSupported(msg) if status == lib.PK_ERR_NOT_SUPPORTED else InvalidArgs(msg)
    etype = struct.unpack_from("<H", data, 16)[0]
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phnum = struct.unpack_from("<H", data, 56)[0]
    segs = []
    for i in range(phnum):
        pt, flags, _off, va, _pa, _fsz, msz = struct.unpack_from("<IIQQQQQ", data, phoff + 56 * i)
        if pt == PT_LOAD:
            segs.append((va, msz, ("r" if flags & 4 else "-") + ("w" if flags & 2 else "-")
                         + ("x" if flags & 1 else "-")))
    return ElfInfo(entry, segs, "exec" if etype == 2 else "dyn")


def epoch_seconds(epoch) -> int:
    """``Kernel(epoch=...)`` as whole seconds since 1970-01-01T00:00:00Z:
    an int, or a :class:`datetime.datetime` with a time zone and no
    fraction of a second. Its range is the core's (``pk_config_check``):
    0 (clock_settime(2) refuses a negative time) to ``PK_EPOCH_MAX``
    (KTIME_SEC_MAX, 2262-04-11)."""
    import datetime
    if isinstance(epoch, datetime.datetime):
        if epoch.tzinfo is None or epoch.utcoffset() is None:
            raise ValueError(f"Kernel epoch {epoch.isoformat()} has no time zone: give one, "
                             f"e.g. datetime(..., tzinfo=datetime.timezone.utc)")
        if epoch.microsecond:
            raise ValueError(f"Kernel epoch {epoch.isoformat()} is not a whole second")
        delta = epoch - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        epoch = delta.days * 86400 + delta.seconds
    elif isinstance(epoch, bool) or not isinstance(epoch, int):
        raise TypeError(f"Kernel epoch must be an int (seconds since 1970) or a datetime, "
                        f"not {type(epoch).__name__}")
    return epoch


def _strings(argv, env, exe: str) -> tuple[bytes, int, int]:
    """argv, env and the executable's path as one NUL-separated blob."""
    if isinstance(argv, (str, bytes)) or not hasattr(argv, "__iter__"):
        raise TypeError("argv must be a list of strings, e.g. ['prog', 'arg1']")
    argv = list(argv)
    if not argv:
        raise ValueError("argv must have at least one string (argv[0], the program's name)")
    if env is None:
        env = {}
    if isinstance(env, dict):
        env = [f"{k}={v}" for k, v in env.items()]
    elif isinstance(env, (str, bytes)) or not hasattr(env, "__iter__"):
        raise TypeError("env must be a dict or a list of 'NAME=value' strings")
    parts = []
    for what, items in (("argv", argv), ("env", list(env))):
        for s in items:
            if isinstance(s, str):
                s = s.encode()
            if not isinstance(s, bytes):
                raise TypeError(f"{what} items must be str or bytes, not {type(s).__name__}")
            if b"\0" in s:
                raise ValueError(f"{what} items may not contain NUL bytes")
            parts.append(s)
    blob = b"\0".join(parts + [exe.encode()]) + b"\0"
    if len(blob) > MAX_STRINGS:
        raise ValueError(f"argv and env take {len(blob)} bytes, more than {MAX_STRINGS}")
    return blob, len(argv), len(parts) - len(argv)


def _ensure_memory(kernel) -> None:
    """A kernel without memory gets the default memory with Sv39 page
    tables when its first process is an ELF program."""
    from .memory import FORMATS, MMU, Memory
    if kernel.memory is not None:
        if kernel.memory.swap:
            raise NotSupported("RISC-V processes need memory without swap "
                               "(pages sent to swap do not keep their bytes): "
                               "pass pk.Memory(swap=0)")
        return
    if kernel._stats_raw().processes:
        raise NotSupported("this kernel has no memory: an ELF program needs "
                           "pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format='sv39'))")
    memory, mmu = Memory(), MMU(format="sv39")
    m, u = ffi.new("pk_mem_config *"), ffi.new("pk_mmu_config *")
    memory._configure(m)
    u.format = FORMATS[mmu.format]
    u.tlb_entries, u.tlb_ways = mmu.tlb_entries, mmu.tlb_ways
    u.asid, u.tlb_random = mmu.asid, mmu.tlb_replacement == "random"
    check(lib.pk_mem_configure(kernel._kp, m, u), "configure memory")
    kernel.memory, kernel.mmu = memory, mmu


def spawn(kernel, program, spawn_args, argv, env, stdin, stdout, stderr) -> int:
    """Spawn one process of ELF ``program`` with the scheduling parameters
    in ``spawn_args`` (a pk_spawn_args): its pid (see Kernel.spawn)."""
    if argv is None:
        argv = [program.name]
    if isinstance(stdin, str):
        stdin = stdin.encode()
    if not isinstance(stdin, (bytes, bytearray, memoryview)):
        raise TypeError(f"stdin must be bytes, not {type(stdin).__name__}")
    for what, fn in (("stdout", stdout), ("stderr", stderr)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{what} must be a callable taking bytes, or None")
    blob, argc, envc = _strings(argv, env, program._exe)
    _ensure_memory(kernel)
    a = spawn_args
    pid, tid = ffi.new("uint32_t *"), ffi.new("uint32_t *")
    data = bytes(stdin)
    check(lib.pk_rv_spawn(kernel._kp, a, blob, len(blob), argc, envc, data, len(data), pid, tid),
          f"spawn {program.name!r}")
    for fd, fn in ((1, stdout), (2, stderr)):
        if fn is not None:
            kernel._output_streams().append([pid[0], fd, fn, 0])
            check(lib.pk_rv_watch(kernel._kp, pid[0], fd, 1), "output stream")
    return pid[0]


def _check(status: int, kernel, pid: int, what: str) -> None:
    if status == lib.PK_ERR_NOT_SUPPORTED:
        raise NotSupported(f"{what}: {kernel._proc_name(pid)!r} (pid {pid}) is not a "
                           f"machine-code process (Program.elf)")
    check(status, what)


def output(kernel, pid: int, fd: int, offset: int = 0) -> bytes:
    """Bytes process ``pid`` wrote to ``fd`` (1 or 2) from ``offset`` on;
    fd ``lib.PK_RV_TTY``: its terminal's bytes."""
    total = ffi.new("uint64_t *")
    _check(lib.pk_rv_output(kernel._kp, pid, fd, offset, ffi.NULL, 0, total), kernel, pid,
           "standard output" if fd == 1 else "standard error" if fd == 2 else "terminal")
    n = total[0] - offset
    if n <= 0:
        return b""
    buf = ffi.new("uint8_t[]", n)
    check(lib.pk_rv_output(kernel._kp, pid, fd, offset, buf, n, total), "output")
    return bytes(ffi.buffer(buf, n))


def deliver(kernel) -> None:
    """Hand new output to the callables given as spawn(stdout=, stderr=)
    or attached with Process.on_stdout / on_stderr. The core watches
    those streams (``pk_rv_watch``) and stops the run with
    ``PK_STOP_OUTPUT`` after each step that writes to one; the run loop
    calls this then, so each callable gets the bytes in the order they
    were written, before the simulation goes on."""
    for entry in kernel._output_streams():
        _deliver_one(kernel, entry)


def _deliver_one(kernel, entry) -> None:
    pid, fd, fn, off = entry
    if fn is None:                       # detached (e.g. restored from a snapshot)
        return
    data = output(kernel, pid, fd, off)
    if data:
        entry[3] = off + len(data)
        fn(data)


def attach(kernel, pid: int, fd: int, fn) -> None:
    """Stream what process ``pid`` writes to ``fd`` (1 or 2) to ``fn``
    from the first byte no callable has been handed yet; None detaches."""
    if fn is not None and not callable(fn):
        raise TypeError(f"{'stdout' if fd == 1 else 'stderr'} must be a callable taking bytes, "
                        f"or None")
    output(kernel, pid, fd, 0)           # NotSupported unless machine code
    for entry in kernel._output_streams():
        if entry[0] == pid and entry[1] == fd:
            entry[2] = fn
            break
    else:
        if fn is None:
            return
        entry = [pid, fd, fn, 0]
        kernel._output_streams().append(entry)
    check(lib.pk_rv_watch(kernel._kp, pid, fd, int(fn is not None)), "output stream")
    _deliver_one(kernel, entry)


def streams_state(kernel) -> list:
    """[[pid, fd, bytes delivered], ...]: the streams without their
    callables (a snapshot's Python side)."""
    return [[pid, fd, off] for pid, fd, _fn, off in kernel._output_streams()]


def streams_restore(kernel, data) -> None:
    """The streams of a restored kernel, detached until re-attached."""
    for pid, fd, off in data:
        if not (isinstance(pid, int) and fd in (1, 2) and isinstance(off, int) and off >= 0):
            raise ValueError(f"malformed output stream {[pid, fd, off]!r}")
        kernel._output_streams().append([pid, fd, None, off])


def image_bytes(kp, prog_id: int) -> bytes:
    """The ELF file program ``prog_id`` of core kernel ``kp`` was loaded
    from (the core keeps the only copy in a snapshot)."""
    n = ffi.new("uint64_t *")
    check(lib.pk_rv_image_data(kp, prog_id, ffi.NULL, 0, n), "ELF image")
    buf = ffi.new("uint8_t[]", n[0])
    check(lib.pk_rv_image_data(kp, prog_id, buf, n[0], n), "ELF image")
    return bytes(ffi.buffer(buf, n[0]))


def unknown_syscalls(kernel, pid: int) -> dict[int, int]:
    """{number: count} of the system calls pid made that returned -ENOSYS;
    a number is a7 as the program set it, all 64 bits."""
    n = ffi.new("uint32_t *")
    _check(lib.pk_rv_unknown_syscalls(kernel._kp, pid, ffi.NULL, ffi.NULL, 0, n), kernel, pid,
           "system calls")
    if not n[0]:
        return {}
    nums, counts = ffi.new("uint64_t[]", n[0]), ffi.new("uint64_t[]", n[0])
    check(lib.pk_rv_unknown_syscalls(kernel._kp, pid, nums, counts, n[0], n), "syscalls")
    return {nums[i]: counts[i] for i in range(n[0])}


def stats(kernel, pid: int):
    """pk_rv_stats of pid."""
    out = ffi.new("pk_rv_stats *")
    _check(lib.pk_rv_stats_get(kernel._kp, pid, out), kernel, pid, "instructions")
    return out


def load(kernel, program) -> int:
    """Load ELF ``program`` into the kernel: its program id."""
    out = ffi.new("uint32_t *")
    check(lib.pk_prog_load_elf(kernel._kp, program._code, len(program._code), out),
          f"load ELF program {program.name!r}")
    return out[0]


def exe_name(path_or_bytes, name: str | None) -> tuple[bytes, str, str]:
    """(bytes, program name, path reported as /proc/self/exe)."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        data = bytes(path_or_bytes)
        name = name or "a.out"
        return data, name, f"/{name}"
    if isinstance(path_or_bytes, (str, os.PathLike)):
        path = os.fspath(path_or_bytes)
        with open(path, "rb") as f:
            data = f.read()
        return data, name or os.path.basename(path), os.path.abspath(path)
    raise TypeError(f"Program.elf needs a path or the bytes of an ELF file, "
                    f"not {type(path_or_bytes).__name__}")



def example_path(name: str = "hello_rv64.elf") -> str:
    """The path of an example file shipped in examples/ (in the source
    tree, or installed with the package as pykernel/examples/):
    ``hello_rv64.elf`` is the RISC-V program of docs/riscv.md."""
    here = os.path.dirname(os.path.abspath(__file__))
    for d in (os.path.join(here, "examples"), os.path.join(os.path.dirname(here), "examples")):
        path = os.path.join(d, name)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(f"examples/{name} is missing from this installation")
