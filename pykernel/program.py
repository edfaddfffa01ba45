"""Programs: passive images that processes execute."""

from __future__ import annotations

import inspect
import struct
from typing import Callable, Sequence

from ._ffi import lib
from .op import Op

__all__ = ["Program"]

_CODES = {
    "compute": lib.PK_OP_COMPUTE, "io": lib.PK_OP_IO, "sleep": lib.PK_OP_SLEEP,
    "yield_": lib.PK_OP_YIELD, "exit": lib.PK_OP_EXIT,
}
_OP = struct.Struct("<IIQ")         # pk_op: code, a, b
MAX_LOOP_DEPTH = lib.PK_LOOP_DEPTH
MAX_INSTRUCTIONS = 1 << 24


def _compile(ops: Sequence[Op]) -> list[tuple[int, int, int]]:
    """Flatten operations into pk_op triples (code, a, b)."""
    out: list[tuple[int, int, int]] = []

    def emit(seq, depth):
        for op in seq:
            if not isinstance(op, Op):
                raise TypeError(
                    f"a script is a list of pk.op operations; got {type(op).__name__} {op!r}")
            if op.name == "loop":
                if depth == MAX_LOOP_DEPTH:
                    raise ValueError(f"loops nest at most {MAX_LOOP_DEPTH} deep")
                n, body = op.args
                start = len(out)
                out.append(None)                    # patched below
                emit(body, depth + 1)
                end = len(out)
                out[start] = (lib.PK_OP_LOOP, end, n)
                out.append((lib.PK_OP_ENDLOOP, start, 0))
            elif op.name == "exit":
                out.append((_CODES["exit"], 0, op.args[0] & 0xFFFFFFFFFFFFFFFF))
            elif op.name in _CODES:
                out.append((_CODES[op.name], 0, op.args[0] if op.args else 0))
            else:  # pragma: no cover - Op names come from pk.op
                raise ValueError(f"unknown operation {op.name!r}")
            if len(out) > MAX_INSTRUCTIONS:
                raise ValueError(f"a script compiles to at most {MAX_INSTRUCTIONS} instructions")

    emit(ops, 0)
    return out


class Program:
    """A passive image that processes execute.

    Make one with :meth:`Program.script` (instructions interpreted by the
    C core) or :meth:`Program.python` (a generator function). One program
    can be spawned any number of times, in any number of kernels.
    """

    __slots__ = ("name", "kind", "ops", "fn", "_code", "__weakref__")

    def __init__(self, name: str, kind: str, ops=(), fn=None, code=b""):
        if not isinstance(name, str):
            raise TypeError(f"program name must be a str, not {type(name).__name__}")
        self.name = name
        self.kind = kind
        self.ops = tuple(ops)
        self.fn = fn
        self._code = code

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
        triples = _compile(ops)
        code = b"".join(_OP.pack(*t) for t in triples)
        return cls(name, "script", ops=ops, code=code)

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

    @property
    def instructions(self) -> int:
        """Number of compiled instructions (scripts; 0 for Python bodies)."""
        return len(self._code) // _OP.size

    @property
    def burst(self) -> int | None:
        """Total CPU time a script asks for (loops multiplied), or None for
        Python bodies. SJF and STCF use it as the declared burst."""
        if self.kind != "script":
            return None
        def walk(seq):  # loops multiply their body's compute
            s = 0
            for op in seq:
                if op.name == "compute":
                    s += op.args[0]
                elif op.name == "loop":
                    s += op.args[0] * walk(op.args[1])
            return s
        return walk(self.ops)

    def __repr__(self) -> str:
        if self.kind == "script":
            return f"Program.script({self.name!r}, {self.instructions} instructions)"
        return f"Program.python({self.name!r}, {getattr(self.fn, '__qualname__', self.fn)!r})"
