"""The ``ctx`` object a Python thread body receives.

A Python thread body is a generator function ``body(ctx, *args)``. Each
``yield`` hands one operation to the kernel and resumes when it is done,
in simulated time::

    def worker(ctx, n):
        for _ in range(n):
            yield ctx.compute(1_000)    # 1 µs of CPU time
            yield ctx.io(50_000)        # block 50 µs on a device
        return 0                        # exit code

The operations are those of :mod:`pykernel.op` with the same meaning.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._ffi import MAX_TIME, ffi, lib
from .errors import NotSupported, check
from .op import duration, exit_code

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel

__all__ = ["Context"]

COMPUTE, IO, SLEEP = lib.PK_OP_COMPUTE, lib.PK_OP_IO, lib.PK_OP_SLEEP
YIELD, EXIT = lib.PK_OP_YIELD, lib.PK_OP_EXIT
_YIELD_OP = (YIELD, 0)


class Context:
    """Operations and information for one Python-bodied thread."""

    __slots__ = ("_k", "pid", "tid")

    def __init__(self, kernel: "Kernel", pid: int, tid: int):
        self._k = kernel
        self.pid = pid
        self.tid = tid

    @property
    def now(self) -> int:
        """The current simulated time in ns."""
        return lib.pk_kernel_now(self._k._kp)

    @property
    def kernel(self) -> "Kernel":
        """The kernel this thread runs in."""
        return self._k

    @property
    def process(self):
        """This thread's :class:`~pykernel.Process`."""
        from .process import Process
        return Process(self._k, self.pid)

    def compute(self, ns: int):
        """Run on the CPU for ``ns`` ns (see :func:`pykernel.op.compute`)."""
        if type(ns) is not int or not 0 <= ns <= MAX_TIME:
            ns = duration("compute", ns)
        return (COMPUTE, ns)

    def io(self, ns: int):
        """Block on a device for ``ns`` ns (see :func:`pykernel.op.io`)."""
        if type(ns) is not int or not 0 <= ns <= MAX_TIME:
            ns = duration("io", ns)
        return (IO, ns)

    def sleep(self, ns: int):
        """Sleep for ``ns`` ns (see :func:`pykernel.op.sleep`)."""
        if type(ns) is not int or not 0 <= ns <= MAX_TIME:
            ns = duration("sleep", ns)
        return (SLEEP, ns)

    def yield_(self):
        """Give the CPU to another ready thread (see :func:`pykernel.op.yield_`)."""
        return _YIELD_OP

    # ---- memory (a kernel with pk.Memory; docs/memory.md) -------------------

    def touch(self, addr: int, write: bool = False):
        """Access ``addr`` now (see :func:`pykernel.op.touch`); yield the
        result, which takes the access's cost as CPU time (or kills the
        process on a fatal fault)."""
        from .op import touch
        addr, write = touch(addr, write).args
        k = self._k
        if k.memory is None:
            raise NotSupported("ctx.touch needs a kernel with memory=pk.Memory(...)")
        op, arg = ffi.new("uint32_t *"), ffi.new("uint64_t *")
        check(lib.pk_vm_touch_host(k._kp, self.tid, addr, int(write), op, arg), "touch")
        return (op[0], arg[0])

    def map(self, addr: int, length: int, prot: str = "rw", user: bool = True,
            populate: bool = False, shared=False):
        """Map memory now (see :func:`pykernel.op.map`); takes no time."""
        self.process.aspace.map(addr, length, prot, user, populate, shared)
        return (COMPUTE, 0)

    def unmap(self, addr: int, length: int):
        """Unmap memory now (see :func:`pykernel.op.unmap`); takes no time."""
        self.process.aspace.unmap(addr, length)
        return (COMPUTE, 0)

    def protect(self, addr: int, length: int, prot: str):
        """Change protection now (see :func:`pykernel.op.protect`); takes no time."""
        self.process.aspace.protect(addr, length, prot)
        return (COMPUTE, 0)

    def exit(self, code: int = 0):
        """End the process with ``code`` (``return code`` does the same)."""
        return (EXIT, exit_code(code) & 0xFFFFFFFFFFFFFFFF)

    def __repr__(self) -> str:
        return f"<Context pid={self.pid} tid={self.tid}>"
