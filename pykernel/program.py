"""Programs: passive images that processes execute."""

from __future__ import annotations

import inspect
import math
import struct
from typing import Callable, NamedTuple, Sequence

from ._ffi import MAX_TIME, lib
from ._refusal import script_check
from ._validate import integer as _int
from .op import Op

__all__ = ["Program", "PeriodicTask"]

_CODES = {
    "compute": lib.PK_OP_COMPUTE, "io": lib.PK_OP_IO, "sleep": lib.PK_OP_SLEEP,
    "yield_": lib.PK_OP_YIELD, "exit": lib.PK_OP_EXIT,
}
_OP = struct.Struct("<IIQ")         # pk_op: code, a, b
MAX_LOOP_DEPTH = lib.PK_LOOP_DEPTH
MAX_INSTRUCTIONS = lib.PK_SCRIPT_MAX_INSNS   # the core refuses longer scripts (PK_F_INSTRUCTIONS)
_U32, _U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


def _word(given: dict | None, at: int, field: int, value, mask: int, refused: int) -> int:
    """An argument of instruction ``at`` for its compiled word: itself if
    it fits the word (``mask``), else ``refused``, a value the core refuses
    for ``field``, with the value as given kept in ``given`` for the
    message (pykernel._refusal.script_check). The range is the core's."""
    if 0 <= value <= mask:
        return value
    if given is not None:
        given[at, field] = value
    return refused


def _compile(ops: Sequence[Op], links: list | None = None, given: dict | None = None,
             paths: dict | None = None) -> list[tuple[int, int, int]]:
    """Flatten operations into pk_op triples (code, a, b). ``links``
    receives (index, program) for each exec, whose program id is set when
    the script is loaded into a kernel; ``given`` the arguments that do
    not fit their words (:func:`_word`); ``paths`` maps each instruction's
    index to the operation it comes from, as the indices of the lists it
    is in (e.g. (2, 0): the first operation of the body of the third)."""
    out: list[tuple[int, int, int]] = []
    links = [] if links is None else links

    def emit(seq, depth, where=()):
        for j, op in enumerate(seq):
            start = len(out)
            if paths is not None:
                paths.setdefault(start, where + (j,))
            emit_one(op, depth, where + (j,))
            if paths is not None:
                for i in range(start, len(out)):
                    paths.setdefault(i, where + (j,))

    def emit_one(op, depth, where):
        if not isinstance(op, Op):
            raise TypeError(
                f"a script is a list of pk.op operations; got {type(op).__name__} {op!r}")
        if op.name == "loop":
            n, body = op.args
            start = len(out)
            n = _word(given, start, lib.PK_F_LOOP_COUNT, n, _U64, _U64)
            if depth == MAX_LOOP_DEPTH:     # the core refuses this loop (script_check,
                                            # naming it): its body is not compiled
                out.extend([(lib.PK_OP_LOOP, start + 1, n), (lib.PK_OP_ENDLOOP, start, 0)])
                return
            out.append(None)                    # patched below
            emit(body, depth + 1, where)
            end = len(out)
            out[start] = (lib.PK_OP_LOOP, end, n)
            out.append((lib.PK_OP_ENDLOOP, start, 0))
        elif op.name == "spawn_thread":
            start = len(out)
            out.append(None)                    # patched below
            emit(op.args[0], depth, where)      # nested as written (the C check agrees)
            out.append((lib.PK_OP_THREAD_EXIT, 0, 0))
            out[start] = (lib.PK_OP_SPAWN_THREAD, start + 1, len(out) - start - 1)
        elif op.name == "thread_exit":
            out.append((lib.PK_OP_THREAD_EXIT, 0, op.args[0] & 0xFFFFFFFFFFFFFFFF))
        elif op.name in _FUTEX_OPS:
            _compile_futex(op, out, given)
        elif op.name in ("write", "read", "wait"):
            _compile_obj(op, out, given)
        elif op.name in _MEMORY:
            out.extend(_memory_op(op, len(out), given))
        elif op.name == "fork":
            start = len(out)
            out.append(None)                    # patched below
            if op.args[0] is not None:
                emit(op.args[0], depth, where)
                out.append((_CODES["exit"], 0, 0))
                out[start] = (lib.PK_OP_FORK, len(out), 0)
            else:                               # the child goes on like the parent
                out[start] = (lib.PK_OP_FORK, start + 1, 0)
        elif op.name == "exec":
            links.append((len(out), op.args[0]))
            out.append((lib.PK_OP_EXEC, 0, 0))
        elif op.name == "brk":
            out.append((lib.PK_OP_BRK, 0, _word(given, len(out), lib.PK_F_BRK, op.args[0], _U64, 0)))
        elif op.name == "exit":
            out.append((_CODES["exit"], 0, op.args[0] & 0xFFFFFFFFFFFFFFFF))
        elif op.name == "io" and len(op.args) == 2:      # io(ns, poll=True)
            out.append((lib.PK_OP_POLL, 0, op.args[0]))
        elif op.name in _CODES:
            out.append((_CODES[op.name], 0, op.args[0] if op.args else 0))
        else:  # pragma: no cover - Op names come from pk.op
            raise ValueError(f"unknown operation {op.name!r}")

    emit(ops, 0)
    return out


def op_path(ops: Sequence[Op], instruction: int) -> tuple:
    """Where in ``ops`` the compiled instruction ``instruction`` comes
    from, as the indices of the lists it is in (see :func:`_compile`);
    () if the script has no such instruction. A refusal of
    ``Program.script`` names its instruction (``exc.instruction``)."""
    paths: dict = {}
    _compile(ops, paths=paths)
    return paths.get(instruction, ())


_FUTEX_OPS = {"futex_wait": lib.PK_OP_FUTEX_WAIT, "futex_wake": lib.PK_OP_FUTEX_WAKE,
              "lock": lib.PK_OP_LOCK, "unlock": lib.PK_OP_UNLOCK, "sem_wait": lib.PK_OP_SEM_WAIT,
              "sem_post": lib.PK_OP_SEM_POST, "cond_wait": lib.PK_OP_COND_WAIT,
              "cond_signal": lib.PK_OP_COND_SIGNAL, "cond_broadcast": lib.PK_OP_COND_BROADCAST}


def _compile_futex(op: Op, out: list, given: dict | None) -> None:
    """Futex instructions: b = address, a = the second argument (expected
    word, wake count or mutex address); a TIMEOUT first if one is given;
    ``given`` as for :func:`_word`."""
    args = op.args
    if op.name in ("futex_wait", "lock", "sem_wait") and args[-1] is not None:
        out.append((lib.PK_OP_TIMEOUT, 0, args[-1]))
    a = args[1] if op.name in ("futex_wait", "futex_wake", "cond_wait", "cond_broadcast") else 0
    if op.name == "lock" and args[1]:
        a = lib.PK_LOCK_INHERIT
    addr = _word(given, len(out), lib.PK_F_FUTEX_ADDR, args[0], _U64, _U64)
    out.append((_FUTEX_OPS[op.name], a, addr))


def _compile_obj(op: Op, out: list, given: dict | None) -> None:
    """Instructions on kernel objects: a TIMEOUT first if one is given;
    ``given`` as for :func:`_word`."""
    if op.name != "write" and op.args[-1] is not None:
        out.append((lib.PK_OP_TIMEOUT, 0, op.args[-1]))
    at = len(out)
    slot = _word(given, at, lib.PK_F_SLOT, op.args[0], _U32, _U32)
    code = {"write": lib.PK_OP_CHAN_WRITE, "read": lib.PK_OP_CHAN_READ}.get(op.name, lib.PK_OP_WAIT)
    b = op.args[1]
    if code != lib.PK_OP_WAIT:                  # a byte count
        b = _word(given, at, lib.PK_F_NBYTES, b, _U64, _U64)
    else:                                       # a signal set
        b = _word(given, at, lib.PK_F_SIGNALS, b, _U64, 0)
    out.append((code, slot, b))


_MEMORY = ("touch", "touch_range", "map", "unmap", "protect")
_LINKING: set = set()            # programs whose exec targets are being loaded


def _memory_op(op: Op, at: int, given: dict | None) -> list[tuple[int, int, int]]:
    """A memory op at instruction ``at`` -> its instruction and ARG words
    (csrc/core/pk_api.h); ``given`` as for :func:`_word`."""
    a = op.args
    arg = lib.PK_OP_ARG
    if op.name == "touch":
        return [(lib.PK_OP_TOUCH, int(a[1]), _word(given, at, lib.PK_F_ADDRESS, a[0], _U64, _U64))]
    if op.name == "touch_range":
        start, length, stride, pattern, ratio = a
        pat = lib.PK_PAT_RANDOM if pattern == "random" else lib.PK_PAT_SEQ
        start = _word(given, at, lib.PK_F_ADDRESS, start, _U64, _U64)
        length = _word(given, at, lib.PK_F_TOUCH_LENGTH, length, _U64, 0)
        stride = _word(given, at, lib.PK_F_TOUCH_STRIDE, stride, _U64, 0)
        parts = round(ratio * 65536) if math.isfinite(ratio) else -1   # in 1/65536ths
        if not 0 <= parts <= _U32 and given is not None:
            given[at, lib.PK_F_WRITE_RATIO] = ratio
        ratio = parts if 0 <= parts <= _U32 else _U32
        return [(lib.PK_OP_TOUCH_RANGE, pat, start), (arg, 0, length), (arg, ratio, stride)]
    if op.name == "map":
        addr, length, prot, flags, obj = a
        return [(lib.PK_OP_MAP, prot | flags << 8, addr), (arg, obj, length)]
    if op.name == "unmap":
        return [(lib.PK_OP_UNMAP, 0, a[0]), (arg, 0, a[1])]
    return [(lib.PK_OP_PROTECT, a[2], a[0]), (arg, 0, a[1])]


class PeriodicTask(NamedTuple):
    """The parameters of a periodic task (:meth:`Program.periodic`), in ns;
    ``jobs`` is None for a task that runs until the simulation stops."""

    period: int
    wcet: int
    deadline: int
    phase: int
    jobs: int | None


def _task_ns(what: str, value, low: int) -> int:
    value = _int(f"Program.periodic {what}", value)
    if not low <= value <= MAX_TIME:
        raise ValueError(f"Program.periodic {what} must be between {low} and {MAX_TIME} ns, "
                         f"got {value}")
    return value


def _task_code(task: PeriodicTask) -> bytes:
    """Compile a periodic task: its declaration (applied at spawn), then
    a loop of jobs: wait for the release, compute wcet, end the job."""
    jobs = MAX_TIME if task.jobs is None else task.jobs
    decl = [(lib.PK_OP_TASK, lib.PK_TASK_PERIOD, task.period),
            (lib.PK_OP_TASK, lib.PK_TASK_DEADLINE, task.deadline),
            (lib.PK_OP_TASK, lib.PK_TASK_PHASE, task.phase),
            (lib.PK_OP_TASK, lib.PK_TASK_JOBS, jobs)]
    loop = len(decl)
    body = [(lib.PK_OP_LOOP, loop + 4, jobs),
            (lib.PK_OP_RELEASE, 0, 0),
            (lib.PK_OP_COMPUTE, 0, task.wcet),
            (lib.PK_OP_JOB_END, 0, 0),
            (lib.PK_OP_ENDLOOP, loop, 0),
            (lib.PK_OP_EXIT, 0, 0)]
    return b"".join(_OP.pack(*t) for t in decl + body)


class Program:
    """A passive image that processes execute.

    Make one with :meth:`Program.script` (instructions interpreted by the
    C core), :meth:`Program.periodic` (a periodic real-time task, also run
    by the C core) or :meth:`Program.python` (a generator function). One
    program can be spawned any number of times, in any number of kernels.

    ``task`` is the :class:`PeriodicTask` of a periodic program, else None.
    """

    __slots__ = ("name", "kind", "ops", "fn", "task", "_code", "_links", "_exe", "elf_info",
                 "_burst", "_memory", "__weakref__")

    def __init__(self, name: str, kind: str, ops=(), fn=None, code=b"", task=None, given=None):
        if not isinstance(name, str):
            raise TypeError(f"program name must be a str, not {type(name).__name__}")
        self.name = name
        self.kind = kind
        self.ops = tuple(ops)
        self.fn = fn
        self.task = task
        self._code = code
        self._links = ()
        self._exe = ""
        self.elf_info = None
        self._burst, self._memory = None, kind == "elf"
        if kind == "script":      # the core's rules and its burst (pk_script_check)
            self._burst, self._memory = script_check(code, len(code) // _OP.size, repr(self),
                                                     given)

    @classmethod
    def script(cls, name: str, ops: Sequence[Op]) -> "Program":
        """A program whose thread runs ``ops`` (a list of ``pk.op``
        operations) in the C core.

        >>> import pykernel as pk
        >>> pk.Program.script("cpu", [pk.op.compute(24)]).burst
        24
        """
        if isinstance(ops, Op) or isinstance(ops, (str, bytes)) or not hasattr(ops, "__iter__"):
            raise TypeError("Program.script needs a list of pk.op operations, e.g. [pk.op.compute(10)]")
        ops = tuple(ops)
        links: list = []
        given: dict = {}
        triples = _compile(ops, links, given)
        code = b"".join(_OP.pack(*t) for t in triples)
        prog = cls(name, "script", ops=ops, code=code, given=given)
        prog._links = tuple(links)
        return prog

    def _linked_code(self, load: Callable[["Program"], int]) -> bytes:
        """The compiled script with the ids (from ``load``, which loads a
        program into a kernel) of the programs it execs."""
        if not self._links:
            return self._code
        if id(self) in _LINKING:
            raise ValueError(f"exec cycle through {self.name!r}: programs that exec each "
                             f"other are not supported")
        _LINKING.add(id(self))
        try:
            code = bytearray(self._code)
            for index, target in self._links:
                _OP.pack_into(code, index * _OP.size, lib.PK_OP_EXEC, load(target), 0)
            return bytes(code)
        finally:
            _LINKING.discard(id(self))

    @classmethod
    def periodic(cls, name: str, period: int, wcet: int, deadline: int | None = None,
                 phase: int = 0, jobs: int | None = None) -> "Program":
        """A periodic real-time task (Liu & Layland 1973), run by the C core
        with no Python per job. Times are in ns.

        The process arrives at the spawn's ``at`` plus ``phase``, and job
        ``j`` (0, 1, 2, ...) is released at ``arrival + j * period``; it
        needs ``wcet`` ns of CPU time, and its absolute deadline is its
        release plus ``deadline`` (default: the period, an implicit
        deadline). Between jobs the thread sleeps until the next release.
        ``jobs``: how many jobs, after which the process exits with 0;
        None (the default) runs jobs until the simulation stops.

        A job still running at the next release delays the next job, which
        begins as soon as it finishes (releases are never lost, and keep
        their nominal times and deadlines). A job that finishes after its
        absolute deadline is a deadline miss; it still runs to the end.
        ``wcet`` may exceed the deadline or the period (the task then
        misses deadlines). Per-job records are in ``Process.jobs``, counts
        in ``Process.job_stats``.

        >>> import pykernel as pk
        >>> pk.Program.periodic("T1", period=5, wcet=2).task
        PeriodicTask(period=5, wcet=2, deadline=5, phase=0, jobs=None)
        """
        period = _task_ns("period", period, 1)
        wcet = _task_ns("wcet", wcet, 0)
        deadline = period if deadline is None else _task_ns("deadline", deadline, 1)
        phase = _task_ns("phase", phase, 0)
        if jobs is not None:
            jobs = _int("Program.periodic jobs", jobs)
            if not 0 <= jobs <= MAX_TIME:
                raise ValueError(f"Program.periodic jobs must be None (forever) or between 0 "
                                 f"and {MAX_TIME}, got {jobs}")
        task = PeriodicTask(period, wcet, deadline, phase, jobs)
        return cls(name, "script", code=_task_code(task), task=task)

    @classmethod
    def python(cls, name: str, fn: Callable) -> "Program":
        """A program whose thread body is the generator function
        ``fn(ctx, *args)``. It yields operations made by ``ctx``
        (``ctx.compute(ns)``, ``ctx.io(ns)``, ``ctx.sleep(ns)``,
        ``ctx.yield_()``) and returns its exit code (None means 0)."""
        if not callable(fn):
            raise TypeError(f"Program.python needs a generator function, not {type(fn).__name__}")
        if not inspect.isgeneratorfunction(fn):
            raise TypeError(
                f"Program.python needs a generator function (a def containing `yield`); "
                f"{getattr(fn, '__name__', fn)!r} is not one")
        return cls(name, "python", fn=fn)

    @classmethod
    def elf(cls, path_or_bytes, name: str | None = None) -> "Program":
        """A program of RISC-V RV64 machine code: a statically linked ELF
        executable, given as a path or as the file's bytes
        (docs/riscv.md). ``name`` defaults to the file's name ("a.out"
        for bytes). A file that is not such an executable raises
        :class:`~pykernel.InvalidArgs` saying why (a dynamically linked
        one :class:`~pykernel.NotSupported`). ``prog.elf_info`` describes it
        (entry point, segments)."""
        from . import riscv
        data, name, exe = riscv.exe_name(path_or_bytes, name)
        info = riscv.check_elf(data, f"Program.elf({name!r})")
        prog = cls(name, "elf", code=data)
        prog._exe = exe
        prog.elf_info = info
        return prog

    @property
    def uses_memory(self) -> bool:
        """Whether the script has memory operations (touch, map, fork,
        exec, brk), which need a kernel with ``memory=pk.Memory(...)``, as
        the core's script check finds. Machine code always does."""
        return self._memory

    @property
    def instructions(self) -> int:
        """Number of compiled instructions (scripts; 0 for Python bodies
        and machine code)."""
        return len(self._code) // _OP.size if self.kind == "script" else 0

    @property
    def burst(self) -> int | None:
        """Total CPU time a script asks for (loops multiplied), as the core
        computes it; SJF and STCF use it as the declared burst. None for
        Python bodies and machine code, for a script whose total passes
        the largest time (2**62 - 1 ns), and for a periodic task with CPU
        time that runs forever."""
        return self._burst

    def __repr__(self) -> str:
        if self.task is not None:
            t = self.task
            return (f"Program.periodic({self.name!r}, period={t.period}, wcet={t.wcet}, "
                    f"deadline={t.deadline}, phase={t.phase}, jobs={t.jobs})")
        if self.kind == "script":
            return f"Program.script({self.name!r}, {self.instructions} instructions)"
        if self.kind == "elf":
            return f"Program.elf({self.name!r}, {len(self._code)} bytes)"
        return f"Program.python({self.name!r}, {getattr(self.fn, '__qualname__', self.fn)!r})"
