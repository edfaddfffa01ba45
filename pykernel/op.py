"""Script instructions.

A script is a list of these operations, compiled once by
``pk.Program.script`` and interpreted by the C core: no Python runs while
a script thread executes.  Durations are integer nanoseconds of simulated
time.

>>> import pykernel as pk
>>> pk.Program.script("io-bound", [pk.op.loop(3, [pk.op.compute(1_000), pk.op.io(5_000)])])
Program.script('io-bound', 7 instructions)
"""

from __future__ import annotations

from typing import Iterable

from ._ffi import lib
from ._validate import duration, integer as _int, u32 as _u32, u64 as _u64

__all__ = ["Op", "compute", "io", "sleep", "yield_", "exit", "loop", "touch", "touch_range",
           "map", "unmap", "protect", "fork", "exec", "brk", "write", "read", "wait",
           "futex_wait", "futex_wake", "lock", "unlock", "sem_wait", "sem_post", "cond_wait",
           "cond_signal", "cond_broadcast", "spawn_thread", "thread_exit"]


class Op:
    """One script instruction: a name and its arguments (immutable)."""

    __slots__ = ("name", "args")

    def __init__(self, name: str, args: tuple):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", args)

    def __setattr__(self, key, value):
        raise AttributeError("Op is immutable")

    def __eq__(self, other) -> bool:
        return isinstance(other, Op) and (self.name, self.args) == (other.name, other.args)

    def __hash__(self) -> int:
        return hash((self.name, self.args))

    def __repr__(self) -> str:
        if self.name == "loop":
            n, body = self.args
            return f"loop({n}, [{', '.join(repr(b) for b in body)}])"
        if self.name == "io" and len(self.args) == 2:
            return f"io({self.args[0]!r}, poll=True)"
        return f"{self.name}({', '.join(repr(a) for a in self.args)})"


def exit_code(code) -> int:
    """Validate an exit code: an int that fits in 32 bits (signed)."""
    code = _int("exit code", code)
    if not -2**31 <= code < 2**31:
        raise ValueError(f"exit code must fit in 32 bits (signed), got {code}")
    return code


def compute(ns: int) -> Op:
    """Run on the CPU for ``ns`` nanoseconds of CPU time. If preempted,
    the thread later resumes with exactly the remaining time."""
    return Op("compute", (duration("compute", ns),))


def io(ns: int, poll: bool = False) -> Op:
    """Block on a device for ``ns`` nanoseconds, then become ready again.
    Devices serve every request at once: requests never queue behind
    each other.

    ``poll=True``: wait for the device by polling instead of blocking
    (the SWITCH_ON_END behaviour of OSTEP's process-run.py): the thread
    keeps its CPU and is charged CPU time until ``ns`` ns of wall time
    have passed; no switch happens unless the policy preempts it, and a
    thread preempted meanwhile finishes polling as soon as it runs again
    after that instant."""
    if not isinstance(poll, bool):
        raise TypeError(f"io poll must be a bool, not {type(poll).__name__}")
    ns = duration("io", ns)
    return Op("io", (ns, True)) if poll else Op("io", (ns,))


def sleep(ns: int) -> Op:
    """Sleep for ``ns`` nanoseconds, then become ready again."""
    return Op("sleep", (duration("sleep", ns),))


def yield_() -> Op:
    """Give the CPU to another ready thread, if there is one; the thread
    goes back to the run queue as its policy places yielders."""
    return Op("yield_", ())


def exit(code: int = 0) -> Op:  # noqa: A001 - mirrors the system call's name
    """End the process with ``code``. A script that runs past its last
    instruction exits with code 0."""
    return Op("exit", (exit_code(code),))


def loop(n: int, body: Iterable[Op]) -> Op:
    """Repeat ``body`` (a list of operations) ``n`` times. Loops nest up
    to 16 deep; ``n`` is 0 to 2**62 - 1 (the largest time). Both are the
    core's rules, checked when the script is made: ``Program.script``
    raises :class:`~pykernel.OutOfRange` naming the instruction."""
    n = _int("loop count", n)            # its range is the core's (pk_script_check)
    if isinstance(body, Op) or isinstance(body, (str, bytes)):
        raise TypeError("loop body must be a list of operations, e.g. loop(3, [compute(10)])")
    body = tuple(body)
    for item in body:
        if not isinstance(item, Op):
            raise TypeError(f"loop body items must be pk.op operations, not {type(item).__name__}")
    return Op("loop", (n, body))


# ---- memory (a kernel with pk.Memory; docs/memory.md) ---------------------------

_PATTERNS = ("seq", "random")


def _address(what: str, addr) -> int:
    """An address as an int that fits its 64-bit C field; its range,
    [0, 2**63), is the core's (PK_TOUCH_ADDR_MAX: pk_script_check, field
    PK_F_ADDRESS, when the script is made; pk_vm_touch_host for ctx.touch)."""
    return _u64(f"{what} address", addr)


def _addr(what: str, addr) -> int:
    """A futex word's address as an int; that it is a multiple of 4 up to
    PK_FUTEX_ADDR_MAX is the core's rule (pk_script_check, field
    PK_F_FUTEX_ADDR, when the script is made)."""
    return _int(f"{what} address", addr)


def touch(addr: int, write: bool = False) -> Op:
    """Access the byte at ``addr`` (a read, or a write if ``write``): the
    CPU's TLB, then a page walk that sets the accessed (and dirty) bits,
    and a fault if the page is not present. Its cost is CPU time of the
    thread (docs/memory.md). An access the process may not make kills it
    ("segmentation fault")."""
    if not isinstance(write, bool):
        raise TypeError(f"touch write must be a bool, not {type(write).__name__}")
    return Op("touch", (_address("touch", addr), write))


def touch_range(start: int, length: int, stride: int = 4096, pattern: str = "seq",
                write_ratio: float = 0.0) -> Op:
    """Make ceil(length / stride) accesses in [start, start + length):
    ``pattern`` "seq" touches start, start + stride, ... in order;
    "random" makes as many accesses, each at a position drawn uniformly
    from the kernel's seeded generator. Each access is a write with
    probability ``write_ratio`` (0.0 to 1.0, in steps of 1/65536).
    ``length`` and ``stride`` are 1 to 2**62 - 1; out-of-range values are
    refused by the core when the script is made (``Program.script`` raises
    :class:`~pykernel.OutOfRange` naming the instruction and the argument)."""
    start = _address("touch_range start", start)
    length = _int("touch_range length", length)      # the ranges of these three are
    stride = _int("touch_range stride", stride)      # the core's (pk_script_check)
    if pattern not in _PATTERNS:
        raise ValueError(f'touch_range pattern must be "seq" or "random", not {pattern!r}')
    if isinstance(write_ratio, bool) or not isinstance(write_ratio, (int, float)):
        raise TypeError(f"touch_range write_ratio must be a number, not {type(write_ratio).__name__}")
    return Op("touch_range", (start, length, stride, pattern, float(write_ratio)))


def map(addr: int, length: int, prot: str = "rw", user: bool = True,  # noqa: A001
        populate: bool = False, global_: bool = False, shared=False,
        userfault: bool = False) -> Op:
    """Map anonymous, demand-zero memory at [addr, addr + length) (addr a
    multiple of 4096; length rounded up to whole pages) with protection
    ``prot`` ("r", "rw", "rx", "rwx"), replacing what was mapped there.
    ``user=False`` maps supervisor pages (the PTE's user bit clear: a
    user access faults); ``populate=True`` brings every page in now;
    ``global_=True`` sets the PTEs' global bit: their TLB entries match
    every address space and survive flushes (kernel-like mappings).
    ``shared=True``: the pages are shared with children after ``fork``
    (both see each other's writes), not copied on write; ``shared=obj``
    (a :class:`pykernel.SharedMemory`, from ``k.shared_memory``) maps
    that object from its first page (spawn the script in obj's kernel).
    ``userfault=True``: a missing page is asked of the process's fault
    handler written in Python (``p.aspace.set_fault_handler``), a
    user-space pager."""
    from .memory import map_args
    for name, v in (("user", user), ("populate", populate), ("global_", global_),
                    ("userfault", userfault)):
        if not isinstance(v, bool):
            raise TypeError(f"map {name} must be a bool, not {type(v).__name__}")
    addr, length, prot, flags, obj = map_args(addr, length, prot, user, populate, global_, shared)
    return Op("map", (addr, length, prot, flags | (16 if userfault else 0), obj))


def unmap(addr: int, length: int) -> Op:
    """Unmap [addr, addr + length): its pages are freed."""
    from .memory import range_args
    return Op("unmap", range_args("unmap", addr, length))


def protect(addr: int, length: int, prot: str) -> Op:
    """Change the protection of the mapped parts of [addr, addr + length)."""
    from .memory import prot_bits, range_args
    return Op("protect", (*range_args("protect", addr, length), prot_bits(prot)))


def fork(child: Iterable[Op] | None = None) -> Op:
    """Create a child process whose address space is a copy-on-write copy
    of this one's (docs/memory.md): pages are shared until one side
    writes. With ``child`` (a list of operations), the child runs those
    and exits (code 0 unless they exit otherwise) while the parent goes
    on after the fork, like ``if (fork() == 0) { ...; exit(0); }``;
    without it, both go on with the next operation. The child has the
    parent's registers (loop counters), scheduling parameters and
    ``rss_limit``. The parent's x[14] says whether the child was made (0,
    or NO_MEMORY: no memory, or a limit such as ``max_processes``).
    Scripts only."""
    if child is not None:
        if isinstance(child, Op) or isinstance(child, (str, bytes)) or not hasattr(child, "__iter__"):
            raise TypeError("fork child must be a list of operations, e.g. fork([touch(a, True)])")
        child = tuple(child)
        for item in child:
            if not isinstance(item, Op):
                raise TypeError(f"fork child items must be pk.op operations, not {type(item).__name__}")
    return Op("fork", (child,))


def exec(program) -> Op:  # noqa: A001 - mirrors the system call's name
    """Replace the process image: its address space is emptied (every
    mapping and page goes) and its thread runs ``program`` (a script
    that is not a periodic task) from the start, registers cleared."""
    from .program import Program
    if not isinstance(program, Program) or program.kind != "script" or program.task is not None:
        raise TypeError("exec needs a pk.Program.script (not a Python body or periodic task)")
    return Op("exec", (program,))


HEAP_BASE = lib.PK_HEAP_BASE      # 0x1000_0000 (csrc/core/pk_api.h)


def brk(addr: int) -> Op:
    """Set the program break: the heap is the region [HEAP_BASE, addr)
    (HEAP_BASE = 0x1000_0000; ``addr`` rounded up to a page), demand-zero
    and read-write. Growing it over another mapping fails (the break
    stays, as Linux's brk returns the old break); shrinking frees the
    pages above ``addr``."""
    addr = _int("brk address", addr)     # its range is the core's (pk_script_check)
    return Op("brk", (-(-addr // 4096) * 4096,))


# ---- kernel objects (docs/objects.md) -------------------------------------------
# Scripts name handles by slot: the position in the process's handle table
# (spawn(..., handles=[...]) fills slots 0, 1, ...). Each instruction
# leaves its status in register x[14] (0 or a negative status).

def _slot(slot) -> int:
    """A handle slot: an int; 0 .. 1,048,511 (PK_HANDLE_SLOTS - 1) is the
    core's rule, checked when the script is made."""
    return _int("handle slot", slot)


def _timeout(timeout):
    if timeout is None:
        return None
    return duration("timeout", timeout)


def write(slot: int, nbytes: int) -> Op:
    """Write ``nbytes`` bytes (their content is not simulated, their
    length is) to the object in handle slot ``slot``. A channel: one
    message of at most 65,536 bytes (more: OUT_OF_RANGE in x[14]); never
    waits. A socket or pipe: all ``nbytes`` (up to 2**30), waiting for
    room as the reader drains it, like a blocking write(2). A failed
    write (e.g. PEER_CLOSED) leaves its status in x[14]."""
    nbytes = _int("write nbytes", nbytes)   # 0 .. 2**30: the core's rule (Program.script)
    return Op("write", (_slot(slot), nbytes))


def read(slot: int, nbytes: int = 0, timeout: int | None = None) -> Op:
    """Read from the object in handle slot ``slot``, waiting while there
    is nothing (at most ``timeout`` ns, then TIMED_OUT in x[14]). A
    channel: one message (``nbytes`` must be 0); handles in it land in the
    process's table. A socket or pipe: up to ``nbytes`` bytes (0: all
    there are; a datagram socket: one datagram)."""
    nbytes = _int("read nbytes", nbytes)    # 0 .. 2**30: the core's rule (Program.script)
    return Op("read", (_slot(slot), nbytes, _timeout(timeout)))


def wait(slot: int, signals, timeout: int | None = None) -> Op:
    """Wait until one of ``signals`` (a pk.Signals value) is asserted on
    the object in handle slot ``slot`` (at once if it is), at most
    ``timeout`` ns."""
    sig = _int("wait signals", signals)   # non-empty, 32 bits: the core's rule (PK_F_SIGNALS)
    return Op("wait", (_slot(slot), sig, _timeout(timeout)))


def _later(what: str):
    raise NotImplementedError(f"{what} is not implemented yet (docs/objects.md, "
                              f"\"Not implemented yet\")")


def futex_wait(addr: int, expected: int, timeout: int | None = None) -> Op:
    """Wait on the futex word at ``addr`` if it still equals ``expected``;
    otherwise go on at once with BAD_STATE in x[14] (Linux: EAGAIN). A
    wake, or ``timeout`` ns (TIMED_OUT), ends the wait. Futex words are
    32 bits, per process, and read 0 until written (docs/objects.md)."""
    return Op("futex_wait", (_addr("futex", addr), _u32("expected", expected), _timeout(timeout)))


def futex_wake(addr: int, n: int = 1) -> Op:
    """Wake at most ``n`` threads waiting on the futex at ``addr``, in the
    order they began waiting."""
    return Op("futex_wake", (_addr("futex", addr), _u32("futex_wake n", n)))


def lock(addr: int, inherit: bool = False, timeout: int | None = None) -> Op:
    """Lock the mutex whose futex word is at ``addr`` (0 free, 1 locked,
    2 locked with waiters: Drepper's futex mutex), waiting while another
    thread holds it. ``inherit=True`` makes it a priority-inheritance
    mutex (for good, as PTHREAD_PRIO_INHERIT): while a more urgent thread
    waits for it, its owner runs with that thread's priority
    (docs/objects.md, "Priority inheritance")."""
    if not isinstance(inherit, bool):
        raise TypeError(f"lock inherit must be True or False, not {type(inherit).__name__}")
    return Op("lock", (_addr("mutex", addr), inherit, _timeout(timeout)))


def unlock(addr: int) -> Op:
    """Unlock the mutex at ``addr`` (the caller must own it: else
    ACCESS_DENIED in x[14]; BAD_STATE if it is not locked); one waiter
    wakes."""
    return Op("unlock", (_addr("mutex", addr),))


def sem_wait(addr: int, timeout: int | None = None) -> Op:
    """Take one unit of the semaphore whose count is at ``addr``, waiting
    while it is 0 (set the count first with ``Process.futex_set``)."""
    return Op("sem_wait", (_addr("semaphore", addr), _timeout(timeout)))


def sem_post(addr: int) -> Op:
    """Give one unit back to the semaphore at ``addr``; one waiter wakes."""
    return Op("sem_post", (_addr("semaphore", addr),))


def cond_wait(cv: int, mutex: int) -> Op:
    """Release ``mutex`` (which the thread must hold), wait on condition
    variable ``cv``, and take the mutex again before going on. In scripts
    the mutex address must be below 2**32."""
    mutex = _u32("cond_wait mutex address", mutex)     # its C field's size; the rest is the core's
    return Op("cond_wait", (_addr("condition", cv), mutex))


def cond_signal(cv: int) -> Op:
    """Wake one thread waiting on condition variable ``cv``."""
    return Op("cond_signal", (_addr("condition", cv),))


def cond_broadcast(cv: int, mutex: int) -> Op:
    """Wake every thread waiting on ``cv``: one wakes, the others move to
    ``mutex``'s queue and wake one by one as it is unlocked."""
    mutex = _u32("cond_broadcast mutex address", mutex)
    return Op("cond_broadcast", (_addr("condition", cv), mutex))


def spawn_thread(body: Iterable[Op]) -> Op:
    """Start a new thread in this process that runs ``body`` (a list of
    operations) and then ends; the creating thread goes on after it. The
    new thread shares the process's handles, futex words and address
    space. x[14] says whether it was made (0, or NO_MEMORY...)."""
    if isinstance(body, Op) or isinstance(body, (str, bytes)):
        raise TypeError("spawn_thread body must be a list of operations")
    body = tuple(body)
    for item in body:
        if not isinstance(item, Op):
            raise TypeError(f"spawn_thread body items must be pk.op operations, "
                            f"not {type(item).__name__}")
    return Op("spawn_thread", (body,))


def thread_exit(code: int = 0) -> Op:
    """End this thread only; the process ends with its last thread (and
    then has this exit code)."""
    return Op("thread_exit", (exit_code(code),))
