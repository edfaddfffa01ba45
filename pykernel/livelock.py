"""What a run that stopped with reason "livelock" was doing.

The core counts host work at each simulated instant (csrc/core/pk_api.h,
PK_WORK_HOST: one unit per dispatcher step, per instruction a script runs
at no simulated time or a machine-code thread executes, 16 per operation
of a Python body). When the work done at one instant passes the kernel's
``livelock_steps`` (plus 64 per thread) the run stops with reason
"livelock", and the core names the thread that ran last at that instant
(``pk_livelock_thread``). This module turns that into a :class:`Livelock`:
the thread, its process and program, and the operation it was at.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._ffi import ffi, lib

__all__ = ["Livelock"]

# pk.op names of the script instruction codes (csrc/core/pk_api.h, PK_OP_*)
_NAMES = {
    lib.PK_OP_COMPUTE: "compute", lib.PK_OP_IO: "io", lib.PK_OP_SLEEP: "sleep",
    lib.PK_OP_YIELD: "yield_", lib.PK_OP_EXIT: "exit", lib.PK_OP_LOOP: "loop",
    lib.PK_OP_ENDLOOP: "the end of a loop", lib.PK_OP_RELEASE: "a job release",
    lib.PK_OP_JOB_END: "the end of a job", lib.PK_OP_TOUCH: "touch",
    lib.PK_OP_TOUCH_RANGE: "touch_range", lib.PK_OP_MAP: "map", lib.PK_OP_UNMAP: "unmap",
    lib.PK_OP_PROTECT: "protect", lib.PK_OP_FORK: "fork", lib.PK_OP_EXEC: "exec",
    lib.PK_OP_BRK: "brk", lib.PK_OP_CHAN_WRITE: "write", lib.PK_OP_CHAN_READ: "read",
    lib.PK_OP_WAIT: "wait", lib.PK_OP_TIMEOUT: "a timeout", lib.PK_OP_FUTEX_WAIT: "futex_wait",
    lib.PK_OP_FUTEX_WAKE: "futex_wake", lib.PK_OP_LOCK: "lock", lib.PK_OP_UNLOCK: "unlock",
    lib.PK_OP_SEM_WAIT: "sem_wait", lib.PK_OP_SEM_POST: "sem_post",
    lib.PK_OP_COND_WAIT: "cond_wait", lib.PK_OP_COND_SIGNAL: "cond_signal",
    lib.PK_OP_COND_BROADCAST: "cond_broadcast", lib.PK_OP_SPAWN_THREAD: "spawn_thread",
    lib.PK_OP_THREAD_EXIT: "thread_exit",
}
# what a Python body yields (ctx.compute(ns), ...) and the core keeps in x[4], x[5]
_HOST = {lib.PK_OP_COMPUTE: "compute({})", lib.PK_OP_IO: "io({})", lib.PK_OP_SLEEP: "sleep({})",
         lib.PK_OP_YIELD: "yield_()", lib.PK_OP_EXIT: "exit({})",
         lib.PK_OP_OBJ_WAIT: "a wait on kernel objects"}
_LONGEST = 120                  # characters of an operation's repr shown
_RANGE_I = 3                    # x[3]: next access of a touch_range in progress (csrc/vm/pk_vm.h)


@dataclass(frozen=True)
class Livelock:
    """Why a run stopped with reason "livelock" (``RunResult.livelock``):
    simulated time stood still at ``now`` ns while the kernel did more
    host work than ``Kernel(livelock_steps=...)`` allows at one instant.

    ``tid``, ``pid`` and ``program`` name the thread that ran last at that
    instant (None if no thread ran there, e.g. events alone); ``operation``
    says what it was doing: a script's instruction as ``pk.op`` writes it
    (an empty loop is its ``loop(...)``) and its index among the compiled
    instructions, the last operation a Python body yielded, or the pc of
    machine code. ``str()`` gives one line that says all of it.
    """

    now: int
    tid: int | None
    pid: int | None
    program: str | None
    operation: str

    def __str__(self) -> str:
        who = ("no thread" if self.tid is None else
               f"thread {self.tid} of process {self.pid} ({self.program!r})")
        return (f"livelock at {self.now} ns: {who} repeats {self.operation} without "
                f"simulated time advancing (Kernel(livelock_steps=...) sets how much "
                f"host work one instant may take)")


def describe(k) -> Livelock:
    """The Livelock of kernel ``k``, whose last pk_kernel_run returned
    PK_STOP_LIVELOCK (called with its lock held)."""
    kp, now = k._kp, lib.pk_kernel_now(k._kp)
    out = ffi.new("uint32_t *")
    if lib.pk_livelock_thread(kp, out) != 0:
        return Livelock(now, None, None, None, "events")
    tid = out[0]
    info, pinfo, regs = ffi.new("pk_thread_info *"), ffi.new("pk_proc_info *"), ffi.new("pk_regs *")
    if (lib.pk_thread_info_get(kp, tid, info) or lib.pk_proc_info_get(kp, info.pid, pinfo)
            or lib.pk_thread_regs_get(kp, tid, regs)):
        return Livelock(now, tid, None, None, "an unknown operation")
    prog = k._known_program(pinfo.prog)
    return Livelock(now, tid, info.pid, prog.name if prog else None, _operation(prog, regs))


def _operation(prog, regs) -> str:
    """What a thread with registers ``regs`` running ``prog`` is doing."""
    if prog is None:
        return "an unknown operation"
    if prog.kind == "python":
        form = _HOST.get(regs.x[lib.PK_REG_HOST_OP], "an unknown operation")
        return form.format(regs.x[lib.PK_REG_HOST_ARG])
    if prog.kind == "elf":
        return f"machine code at pc {regs.pc:#x}"
    code = prog._code
    index = max(regs.pc, 1) - 1           # the instruction it ran last,
    if _code_at(code, regs.pc) == lib.PK_OP_TOUCH_RANGE and regs.x[_RANGE_I]:
        index = regs.pc                   # or the touch_range it is part of the way through
    op = _op_at(prog.ops, index)
    if op is not None:
        text = repr(op)
        if len(text) > _LONGEST:
            text = text[:_LONGEST - 3] + "..."
        return f"{text} (instruction {index})"
    name = _NAMES.get(_code_at(code, index))
    if name is not None:                  # a periodic task: no pk.op list
        return f"{name} (instruction {index})"
    return f"instruction {index}"


def _code_at(code: bytes, index: int) -> int | None:
    """The instruction code (PK_OP_*) of compiled instruction ``index``
    (16 bytes each: code, a, b), or None past the end."""
    if index < 0 or (index + 1) * 16 > len(code):
        return None
    return int.from_bytes(code[index * 16:index * 16 + 4], "little")


def _body(op):
    """The operations nested in ``op`` (a loop's, a new thread's, a fork
    child's), or None."""
    if op.name == "loop":
        return op.args[1]
    if op.name in ("spawn_thread", "fork"):
        return op.args[0]
    return None


def _op_at(ops, index: int):
    """The innermost operation of ``ops`` that compiled to instruction
    ``index`` (pykernel/program.py lays each operation's instructions out
    in order, a nested body right after its first instruction)."""
    from .program import _compile
    start = 0
    for op in ops:
        n = len(_compile([op]))
        if start <= index < start + n:
            body = _body(op)
            if body:
                inner = len(_compile(list(body)))
                if start < index <= start + inner:
                    return _op_at(body, index - start - 1)
            return op
        start += n
    return None
