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

__all__ = ["check_elf", "ElfInfo", "example_path"]

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


def check_elf(data: bytes, what: str = "ELF file") -> ElfInfo:
    """Check that ``data`` is an executable pykernel can run (ELF64,
    little-endian, RISC-V, statically linked, with consistent program
    headers); raise :class:`~pykernel.InvalidArgs` (or
    :class:`~pykernel.NotSupported` for a dynamically linked one) saying
    what is wrong."""
    def bad(msg):
        raise InvalidArgs(f"{what}: {msg}")
    if len(data) < 4 or data[:4] != b"\x7fELF":
        bad("not an ELF file (it does not start with \\x7fELF)")
    if len(data) < 64:
        bad(f"truncated: {len(data)} bytes, shorter than an ELF64 header (64)")
    if data[4] != 2:
        bad("not a 64-bit ELF file (RV64 is needed)")
    if data[5] != 1:
        bad("not little-endian")
    etype, machine = struct.unpack_from("<HH", data, 16)
    if machine != EM_RISCV:
        bad(f"machine {machine} is not RISC-V ({EM_RISCV})")
    if etype not in (2, 3):
        bad(f"ELF type {etype} is not an executable (2) or position-independent executable (3)")
    entry, phoff = struct.unpack_from("<QQ", data, 24)
    phent, phnum = struct.unpack_from("<HH", data, 54)
    if phent != 56 or not 0 < phnum <= 256:
        bad(f"bad program headers (entry size {phent}, count {phnum})")
    if phoff + 56 * phnum > len(data):
        bad(f"truncated: program headers end at byte {phoff + 56 * phnum}, "
            f"the file has {len(data)}")
    segs = []
    for i in range(phnum):
        pt, flags, off, va, _pa, fsz, msz = struct.unpack_from("<IIQQQQQ", data, phoff + 56 * i)
        if pt == PT_INTERP:
            raise NotSupported(f"{what}: dynamically linked (it names an interpreter); "
                               f"link it statically (gcc -static)")
        if pt != PT_LOAD:
            continue
        if fsz > msz or off + fsz > len(data):
            bad(f"truncated or inconsistent: segment {i} needs bytes {off}..{off + fsz} "
                f"of a {len(data)}-byte file")
        if va % 4096 != off % 4096:
            bad(f"segment {i}: address {va:#x} and file offset {off:#x} differ modulo the page size")
        segs.append((va, msz, ("r" if flags & 4 else "-") + ("w" if flags & 2 else "-")
                     + ("x" if flags & 1 else "-")))
    if not segs:
        bad("no loadable segment")
    return ElfInfo(entry, segs, "exec" if etype == 2 else "dyn")


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
            kernel._rv_streams.append([pid[0], fd, fn, 0])
    return pid[0]


def _check(status: int, kernel, pid: int, what: str) -> None:
    if status == lib.PK_ERR_NOT_SUPPORTED:
        raise NotSupported(f"{what}: {kernel._proc_name(pid)!r} (pid {pid}) is not a "
                           f"machine-code process (Program.elf)")
    check(status, what)


def output(kernel, pid: int, fd: int, offset: int = 0) -> bytes:
    """Bytes process ``pid`` wrote to ``fd`` (1 or 2) from ``offset`` on."""
    total = ffi.new("uint64_t *")
    _check(lib.pk_rv_output(kernel._kp, pid, fd, offset, ffi.NULL, 0, total), kernel, pid,
           "standard output" if fd == 1 else "standard error")
    n = total[0] - offset
    if n <= 0:
        return b""
    buf = ffi.new("uint8_t[]", n)
    check(lib.pk_rv_output(kernel._kp, pid, fd, offset, buf, n, total), "output")
    return bytes(ffi.buffer(buf, n))


def deliver(kernel) -> None:
    """Hand new output to the callables given as spawn(stdout=, stderr=)
    or attached with Process.on_stdout / on_stderr."""
    for entry in kernel._rv_streams:
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
    for entry in kernel._rv_streams:
        if entry[0] == pid and entry[1] == fd:
            entry[2] = fn
            break
    else:
        if fn is None:
            return
        entry = [pid, fd, fn, 0]
        kernel._rv_streams.append(entry)
    _deliver_one(kernel, entry)


def streams_state(kernel) -> list:
    """[[pid, fd, bytes delivered], ...]: the streams without their
    callables (a snapshot's Python side)."""
    return [[pid, fd, off] for pid, fd, _fn, off in kernel._rv_streams]


def streams_restore(kernel, data) -> None:
    """The streams of a restored kernel, detached until re-attached."""
    for pid, fd, off in data:
        if not (isinstance(pid, int) and fd in (1, 2) and isinstance(off, int) and off >= 0):
            raise ValueError(f"malformed output stream {[pid, fd, off]!r}")
        kernel._rv_streams.append([pid, fd, None, off])


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
