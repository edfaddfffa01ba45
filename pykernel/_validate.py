"""Argument validation shared by every module (a leaf: it imports only the
core's binding and the error classes).

What Python checks is what the C core cannot see: the Python type of a
value and whether it fits the C field it goes into. The rules themselves
(ranges of meaning, cross-field rules) are the core's, stated once in C
and explained through its refusal record (:mod:`pykernel._refusal`);
docs/architecture.md, "Where rules live".
"""

from __future__ import annotations

import operator

from ._ffi import MAX_TIME, lib
from .errors import OutOfRange, WrongType

__all__ = ["integer", "int_range", "u32", "u64", "i32", "duration", "futex_addr", "put",
           "ctype_bounds"]

# C integer types: (lowest, highest, how messages say it)
_CTYPES = {"u32": (0, 0xFFFFFFFF, "32 bits (unsigned)"), "i32": (-2**31, 2**31 - 1, "32 bits (signed)"),
           "u64": (0, 0xFFFFFFFFFFFFFFFF, "64 bits (unsigned)"),
           "i64": (-2**63, 2**63 - 1, "64 bits (signed)")}


def integer(what: str, value) -> int:
    """``value`` as an int (anything with ``__index__``, not a bool)."""
    if isinstance(value, bool):
        raise WrongType(f"{what} must be an int, not bool")
    try:
        return operator.index(value)
    except TypeError:
        raise WrongType(f"{what} must be an int, not {type(value).__name__}") from None


def int_range(what: str, value, lo: int, hi: int) -> int:
    """``value`` as an int in [lo, hi] (for bounds the C core does not
    check: sizes of Python-side tables, counts of a loop in Python)."""
    value = integer(what, value)
    if not lo <= value <= hi:
        raise OutOfRange(f"{what} must be between {lo} and {hi}, got {value}")
    return value


def u32(what: str, value) -> int:
    """An int that fits a C ``uint32_t``."""
    value = integer(what, value)
    if not 0 <= value <= 0xFFFFFFFF:
        raise OutOfRange(f"{what} must fit in 32 bits (unsigned), got {value}")
    return value


def u64(what: str, value) -> int:
    """An int that fits a C ``uint64_t``."""
    value = integer(what, value)
    if not 0 <= value <= 0xFFFFFFFFFFFFFFFF:
        raise OutOfRange(f"{what} must fit in 64 bits (unsigned), got {value}")
    return value


def i32(what: str, value) -> int:
    """An int that fits a C ``int32_t``."""
    value = integer(what, value)
    if not -2**31 <= value < 2**31:
        raise OutOfRange(f"{what} must fit in 32 bits (signed), got {value}")
    return value


def duration(what: str, ns) -> int:
    """A duration in nanoseconds: an int in [0, 2**62 - 1] (PK_MAX_TIME,
    the largest the core accepts anywhere). A string such as "40 ms" is
    refused with a hint: units are for scenario files."""
    if isinstance(ns, str):
        raise WrongType(f"{what} duration must be an int of ns, not str ({ns!r}): in Python "
                        f"write ns, e.g. 40_000_000 for 40 ms; strings with a unit "
                        f"(ns, us, ms, s) are for scenario files")
    ns = integer(f"{what} duration", ns)
    if ns < 0:
        raise OutOfRange(f"{what} duration must be >= 0 ns, got {ns}")
    if ns > MAX_TIME:
        raise OutOfRange(f"{what} duration must be <= {MAX_TIME} ns, got {ns}")
    return ns


def futex_addr(what: str, addr) -> int:
    """A futex word's address: a multiple of 4 up to PK_FUTEX_ADDR_MAX."""
    addr = integer(f"{what} address", addr)
    if not 0 <= addr <= lib.PK_FUTEX_ADDR_MAX or addr % 4:
        raise OutOfRange(f"{what} address must be a multiple of 4 below 2**48, got {addr}")
    return addr


def put(given: dict, field: int, what: str, value, ctype: str) -> int:
    """``value`` (an int) for a C field of type ``ctype`` ("u32", "i32",
    "u64", "i64") whose rules the core checks: a value the type cannot hold is
    clamped to the type's nearest end -- so the core can still say which
    of its rules refuses it -- and recorded in ``given`` under the core's
    field id ``field``. Refusal messages then name the value as given
    (pykernel/_refusal.py; if the core accepts the clamped value, it is
    asked for the field's bounds with the type's other end)."""
    value = integer(what, value)
    lo, hi, _ = _CTYPES[ctype]
    if lo <= value <= hi:
        return value
    given[field] = (what, value, ctype)
    return min(max(value, lo), hi)


def ctype_bounds(ctype: str) -> tuple[int, int, str]:
    """(lowest, highest, words) of a C integer type named as in :func:`put`."""
    return _CTYPES[ctype]
