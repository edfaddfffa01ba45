"""Snapshots of a whole simulation (docs/snapshot.md).

``Kernel.snapshot()`` returns bytes, ``Kernel.save(path)`` writes them to a
file, and ``Kernel.restore(data_or_path)`` builds a kernel that continues
exactly as the original would have, optionally under another scheduling
policy or cost model (branching).  The C core writes its own state
(csrc/snap/pk_snap_core.c); this module adds the Python side of the kernel
(program objects, process names, the scheduler and cost objects, errors
of Python bodies) as plain data in the snapshot's HOST section: JSON with
tagged values, never pickle.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import json
import os

from ._ffi import ffi, lib
from . import errors as pk_errors
from .costs import Costs
from .limits import Limits
from .memory import MMU, Memory
from .memory import refuse_snapshot as refuse_memory_snapshot
from .op import Op
from .program import PeriodicTask, Program
from . import riscv as _riscv
from . import sched as _sched

__all__ = ["SnapshotError", "PARTS"]

HOST_FORMAT = 1          # version of the Python-side data
_MAX_NAMED = 5           # threads named in a refusal before "and N more"

#: Python-side parts other modules add to a snapshot: name -> (save, load),
#: ``save(kernel) -> plain data`` and ``load(kernel, data)`` (called after
#: the kernel's own Python state is back).  Plain data: None, bool, int,
#: str, bytes, lists, tuples, dicts, :class:`~pykernel.op.Op` and programs.
PARTS: dict = {}


class SnapshotError(pk_errors.InvalidArgs):
    """A snapshot that cannot be restored: empty, not a snapshot, truncated,
    corrupted (checksum), written in another format version or by a build
    with another thread layout, or malformed inside. ``reason`` is one of
    "empty", "magic", "truncated", "trailing", "version", "checksum",
    "layout", "config", "section", "memory", "objects"."""

    reason: str = ""


_RESTORE_REASONS = {
    lib.PK_SNAP_E_EMPTY: ("empty", "the snapshot is empty (0 bytes)"),
    lib.PK_SNAP_E_MAGIC: ("magic", "these bytes are not a pykernel snapshot (wrong magic number)"),
    lib.PK_SNAP_E_TRUNCATED: ("truncated", "the snapshot is truncated: it is {len} bytes, its "
                              "header says {value}"),
    lib.PK_SNAP_E_TRAILING: ("trailing", "the snapshot has extra bytes: it is {len} bytes, its "
                             "header says {value}"),
    lib.PK_SNAP_E_VERSION: ("version", "the snapshot is in format version {value}; this pykernel "
                            "reads version {version}"),
    lib.PK_SNAP_E_CHECKSUM: ("checksum", "the snapshot is corrupted: its checksum does not match"),
    lib.PK_SNAP_E_LAYOUT: ("layout", "the snapshot was written by a pykernel build with another "
                           "thread layout; restore it with the build that wrote it"),
    lib.PK_SNAP_E_CONFIG: ("config", "the snapshot's configuration was refused: {words}"),
    lib.PK_SNAP_E_SECTION: ("section", "the snapshot is malformed in section {tag}"),
    lib.PK_SNAP_E_MEMORY: ("memory", "the memory section could not be restored: {words}"),
    lib.PK_SNAP_E_OBJECTS: ("objects", "the kernel-object section could not be restored: "
                            "{words}"),
}


def _tag(value: int) -> str:
    return repr(bytes((value >> (8 * i)) & 0xFF for i in range(4)).decode("latin-1"))


# ---- plain-data encoding ----------------------------------------------------

def encode(value, prog_id=None):
    """``value`` as JSON-ready plain data. ``prog_id(program)`` names a
    :class:`Program` by its id in the kernel."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return {"f": repr(value)}
    if isinstance(value, (bytes, bytearray)):
        return {"b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, tuple):
        return {"t": [encode(v, prog_id) for v in value]}
    if isinstance(value, list):
        return [encode(v, prog_id) for v in value]
    if isinstance(value, dict):
        return {"d": [[encode(k, prog_id), encode(v, prog_id)] for k, v in value.items()]}
    if isinstance(value, Op):
        return {"op": value.name, "args": encode(value.args, prog_id)}
    if isinstance(value, Program):
        if prog_id is None:
            raise TypeError("a program can only be encoded by reference to its kernel")
        return {"prog": prog_id(value)}
    raise TypeError(f"cannot put a {type(value).__name__} in a snapshot (plain data only)")


def decode(value, programs=None):
    """The inverse of :func:`encode`; ``programs`` maps ids to programs."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, list):
        return [decode(v, programs) for v in value]
    if not isinstance(value, dict) or len(value) > 2:
        raise ValueError(f"malformed snapshot value {value!r}")
    if "t" in value:
        return tuple(decode(v, programs) for v in value["t"])
    if "d" in value:
        return {decode(k, programs): decode(v, programs) for k, v in value["d"]}
    if "b" in value:
        return base64.b64decode(value["b"])
    if "f" in value:
        return float(value["f"])
    if "op" in value:
        return Op(value["op"], decode(value["args"], programs))
    if "prog" in value:
        return programs[value["prog"]]
    raise ValueError(f"malformed snapshot value {value!r}")


def _dataclass_data(obj):
    return None if obj is None else {f.name: encode(getattr(obj, f.name))
                                     for f in dataclasses.fields(obj)}


def _dataclass_from(cls, data):
    return None if data is None else cls(**{key: decode(v) for key, v in data.items()})


def _policy_data(policy) -> dict:
    return {"class": type(policy).__name__, "fields": encode(policy._fields())}


def _policy_from(data):
    cls = getattr(_sched, data["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, _sched.Policy)):
        raise ValueError(f"unknown policy {data['class']!r} in snapshot")
    return cls._from_fields(decode(data["fields"]))


def _program_data(k, prog: Program) -> dict:
    def prog_id(p):
        return k._program_index(p)
    elf = prog.kind == "elf"             # its file's bytes: in the core's RV section only
    return {
        "name": prog.name, "kind": prog.kind, "exe": prog._exe if elf else "",
        "ops": encode(prog.ops, prog_id), "code": None if elf else encode(prog._code),
        "task": None if prog.task is None else list(prog.task),
        "links": [[i, prog_id(target)] for i, target in prog._links],
    }


def _programs_from(kp, data: list) -> list:
    from . import riscv
    progs = []
    for i, d in enumerate(data):
        task = None if d["task"] is None else PeriodicTask(*d["task"])
        n = ffi.new("uint64_t *")
        if (lib.pk_rv_image_data(kp, i, ffi.NULL, 0, n) == 0) != (d["kind"] == "elf"):
            raise ValueError(f"program {i} ({d['name']!r}) is not of kind {d['kind']!r} "
                             f"in the core")
        if d["kind"] == "elf":
            code = riscv.image_bytes(kp, i)
            prog = Program(d["name"], "elf", code=code)
            prog._exe = d["exe"] if isinstance(d["exe"], str) else ""
            prog.elf_info = riscv.check_elf(code, f"Program.elf({d['name']!r})")
            progs.append(prog)
            continue
        progs.append(Program(d["name"], d["kind"], code=decode(d["code"]), task=task))
    for prog, d in zip(progs, data):
        prog.ops = decode(d["ops"], progs)
        prog._links = tuple((i, progs[j]) for i, j in d["links"])
    return progs


def _error_data(exc: BaseException) -> list:
    return [type(exc).__name__, str(exc)]


def _error_from(data) -> BaseException:
    name, msg = data
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(msg)
    return RuntimeError(f"{name}: {msg}")


def host_state(k) -> bytes:
    """The Python side of kernel ``k`` as bytes (the HOST section)."""
    state = {
        "format": HOST_FORMAT,
        "cpus": k.cpus, "seed": k.seed, "max_threads": k.max_threads,
        "runqueues": k.runqueues,
        "scheduler": _policy_data(k.scheduler),
        "costs": _dataclass_data(k.costs), "limits": _dataclass_data(k.limits),
        "memory": _dataclass_data(k.memory), "mmu": _dataclass_data(k.mmu),
        "trace": k.trace is not None,
        "programs": [_program_data(k, p) for p in k._programs_all()],
        "names": [[pid, name] for pid, name in sorted(k._given_names().items())],
        "errors": [[pid, _error_data(e)] for pid, e in sorted(k._process_errors().items())],
        "streams": _riscv.streams_state(k),
        "parts": {name: encode(save(k)) for name, (save, _load) in sorted(PARTS.items())},
    }
    return json.dumps(state, sort_keys=True, separators=(",", ":")).encode()


def _live_tids(k) -> set:
    """tids of live threads whose bodies are Python generators."""
    tids, unstarted = k._generator_tids()
    info = ffi.new("pk_thread_info *")
    for tid in unstarted:
        if lib.pk_thread_info_get(k._kp, tid, info) == 0 and info.state != lib.PK_TS_EXITED:
            tids.add(tid)
    return tids


def _thread_names(k, tids) -> str:
    info = ffi.new("pk_thread_info *")
    out = []
    for tid in sorted(tids)[:_MAX_NAMED]:
        lib.pk_thread_info_get(k._kp, tid, info)
        pinfo = ffi.new("pk_proc_info *")
        lib.pk_proc_info_get(k._kp, info.pid, pinfo)
        out.append(f"tid {tid} (process {k._proc_name(info.pid)!r}, program "
                   f"{k._program_at(pinfo.prog).name!r})")
    more = len(tids) - _MAX_NAMED
    return ", ".join(out) + (f" and {more} more" if more > 0 else "")


def _refuse_snapshot(k) -> None:
    """Raise if kernel ``k`` cannot be captured now (checked before the
    core's own checks, to name what is in the way)."""
    if k._is_running():
        raise pk_errors.BadState("cannot snapshot a kernel while it runs (from a Python thread "
                                 "body or a hook): snapshot it between runs")
    if k._hook_running():
        raise pk_errors.BadState("cannot snapshot a kernel from inside a hook of its "
                                 "scheduling policy")
    if k.scheduler._id == lib.PK_POLICY_HOST:
        raise pk_errors.NotSupported(
            f"cannot snapshot a kernel whose scheduling policy is written in Python "
            f"({type(k.scheduler).__name__}): its state lives in Python objects")
    from .objects import _snapshot_refusal
    blocked = _snapshot_refusal(k)
    if blocked:
        raise pk_errors.NotSupported(f"cannot snapshot: {blocked}")
    if k.memory is not None:
        refuse_memory_snapshot(k)
    tids = _live_tids(k)
    if tids:
        raise pk_errors.NotSupported(
            f"cannot snapshot threads whose bodies are Python generators: "
            f"{_thread_names(k, tids)}; a generator's state cannot be captured "
            f"(use script programs, pk.Program.script)")


def snapshot(k) -> bytes:
    """The bytes of a snapshot of kernel ``k`` (see ``Kernel.snapshot``)."""
    with k._exclusive("snapshot"):
        k._wait_for_other_run()
        _refuse_snapshot(k)
        extra = host_state(k)
        out, n = ffi.new("uint8_t **"), ffi.new("uint64_t *")
        why = ffi.new("pk_snap_refusal *")
        status = lib.pk_kernel_snapshot(k._kp, extra, len(extra), out, n, why)
        if status:
            raise _snapshot_error(k, status, why)
        try:
            return bytes(ffi.buffer(out[0], n[0]))
        finally:
            lib.pk_snapshot_free(out[0])


def _snapshot_error(k, status, why) -> Exception:
    reason = why.reason
    if reason == lib.PK_SNAP_R_HOST_THREAD:
        msg = (f"cannot snapshot a thread whose body is a Python generator: "
               f"{_thread_names(k, [why.tid])}")
    elif reason == lib.PK_SNAP_R_BODY_KIND:
        msg = (f"cannot snapshot thread {why.tid}: its body is of kind {why.value}, which this "
               f"version cannot capture")
    elif reason == lib.PK_SNAP_R_HOST_POLICY:
        msg = "cannot snapshot a kernel whose scheduling policy is written in Python"
    elif reason == lib.PK_SNAP_R_CACHE:
        return SnapshotError("cannot snapshot a kernel with a cache model (pk.CacheModel): "
                             "the caches' contents are not saved")
    elif reason == lib.PK_SNAP_R_IN_HOOK:
        msg = "cannot snapshot a kernel from inside a hook of its scheduling policy"
    elif reason == lib.PK_SNAP_R_BROKEN:
        msg = (f"cannot snapshot a kernel that has failed ({_words(-why.value)}); "
               f"it cannot run any more")
    elif reason == lib.PK_SNAP_R_HOST_WAIT:
        msg = f"cannot snapshot while thread {why.tid} waits for its next operation from Python"
    elif reason == lib.PK_SNAP_R_MEMORY:
        msg = (f"cannot snapshot the memory system ({_words(status)}): it is in the middle "
               f"of an access; snapshot between runs")
    elif reason == lib.PK_SNAP_R_OBJECTS:
        msg = f"the kernel objects could not be captured: {_words(status)}"
    else:
        msg = "snapshot failed"
    return _typed(status, msg)


def _words(status: int) -> str:
    """A status as messages say it (pykernel/errors.py)."""
    return str(pk_errors.error(status, "")).removeprefix(": ")


def _typed(status: int, msg: str) -> Exception:
    cls = pk_errors._BY_STATUS.get(status, pk_errors.KernelError)
    return cls(msg, status)


def save(k, path) -> int:
    """Write a snapshot of ``k`` to ``path``; returns the bytes written."""
    data = snapshot(k)
    tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data)


def _read(data_or_path) -> bytes:
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        return bytes(data_or_path)
    if isinstance(data_or_path, (str, os.PathLike)):
        with open(data_or_path, "rb") as f:
            return f.read()
    raise TypeError(f"restore needs the bytes of a snapshot or a path to one, not "
                    f"{type(data_or_path).__name__}")


def _restore_error(status, why, length) -> Exception:
    entry = _RESTORE_REASONS.get(why.reason)
    if why.reason == lib.PK_SNAP_E_POLICY:
        return _typed(status, f"the new scheduling policy cannot take thread {why.tid} "
                              f"({_words(status)}): e.g. SJF and STCF need a declared burst, "
                              f"Priority a priority in 0..139")
    words = _words(status)
    if entry is None:
        return _typed(status, f"restore failed: {words}")
    reason, text = entry
    msg = text.format(len=length, value=why.value, version=lib.PK_SNAP_VERSION,
                      words=words, tag=_tag(why.value))
    if status in (lib.PK_ERR_INVALID_ARGS, lib.PK_ERR_OUT_OF_RANGE):   # what the bytes say is wrong
        exc = SnapshotError(msg, status)
        exc.reason = reason
        return exc
    return _typed(status, msg)


def restore(cls, data_or_path, scheduler=None, costs=None):
    """A kernel rebuilt from a snapshot (see ``Kernel.restore``)."""
    data = _read(data_or_path)
    if scheduler is not None and not isinstance(scheduler, _sched.Policy):
        raise TypeError(f"scheduler must be a pk.sched policy, not {type(scheduler).__name__}")
    if costs is not None and not isinstance(costs, Costs):
        raise TypeError(f"costs must be a pk.Costs, not {type(costs).__name__}")
    if scheduler is not None and scheduler._id == lib.PK_POLICY_HOST:
        raise NotImplementedError(
            "restoring under a scheduling policy written in Python is not implemented: "
            "choose a built-in policy from pk.sched")
    cfg = ffi.new("pk_config *")
    change = 0
    if scheduler is not None:
        change |= lib.PK_RESTORE_POLICY
        scheduler._configure(cfg)
    if costs is not None:
        change |= lib.PK_RESTORE_COSTS
        costs._configure(cfg.costs)
    buf = ffi.from_buffer("uint8_t[]", data) if data else ffi.NULL
    out = ffi.new("pk_kernel **")
    off, n = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    why = ffi.new("pk_snap_refusal *")
    status = lib.pk_kernel_restore(buf, len(data), cfg if change else ffi.NULL, change, out,
                                   off, n, why)
    if status:
        raise _restore_error(status, why, len(data))
    kp = ffi.gc(out[0], lib.pk_kernel_destroy)
    try:
        state = json.loads(data[off[0]:off[0] + n[0]])
        if state.get("format") != HOST_FORMAT:
            raise ValueError(f"Python-side data in format {state.get('format')!r}")
        k = cls.__new__(cls)
        _fill(k, kp, state, scheduler, costs)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, OverflowError,
            RecursionError) as exc:
        err = SnapshotError(f"the snapshot's Python-side data is malformed: {exc}")
        err.reason = "section"
        raise err from exc
    return k


def _fill(k, kp, state, scheduler, costs) -> None:
    """Set the Python state of restored kernel ``k`` (core pointer kp)."""
    from .trace import Trace
    memory = _dataclass_from(Memory, state["memory"])
    mmu = _dataclass_from(MMU, state["mmu"])
    k._adopt_core(kp, memory, mmu)
    k.limits = _dataclass_from(Limits, state["limits"])
    k._init_state(cpus=state["cpus"], seed=state["seed"], max_threads=state["max_threads"],
                  runqueues=state["runqueues"],
                  scheduler=_policy_from(state["scheduler"]) if scheduler is None else scheduler,
                  costs=_dataclass_from(Costs, state["costs"]) if costs is None else costs)
    if state["trace"]:
        k.trace = Trace(k)
    progs = _programs_from(kp, state["programs"])
    k._restore_programs(progs, _program_key)
    k._restore_processes({pid: name for pid, name in state["names"]},
                         {pid: _error_from(e) for pid, e in state["errors"]})
    _riscv.streams_restore(k, state.get("streams", []))
    for name, data in sorted(state["parts"].items()):
        part = PARTS.get(name)
        if part is None:
            raise ValueError(f"the snapshot has Python-side part {name!r}, which this "
                             f"version does not know")
        part[1](k, decode(data))


def _program_key(p: Program):
    """What makes two script programs interchangeable in one kernel."""
    links = tuple((i, _program_key(t)) for i, t in p._links)
    return (p.name, p.kind, p._code, p.task, links)
