"""Typed errors.

Every status the C core can return has an exception class here; the class
carries the numeric status (the same numbers as Zircon's ``zx_status_t``),
taken from the C core's ``PK_ERR_*``.
Wrong Python types, and values that do not fit their C field, are
reported with ``TypeError`` or ``ValueError`` before anything reaches the
core; values the core's rules refuse raise the class of its status, with
the reason it gives (pykernel/_refusal.py). ``InvalidArgs`` and
``OutOfRange`` are also ``ValueError`` subclasses and ``WrongType`` a
``TypeError`` subclass, so that either spelling catches them
(``except pk.KernelError`` or ``except ValueError``).

Every error pickles and unpickles to an equal error (same class, message
and attributes), so errors cross process boundaries (``pk.sweep`` on a
process pool or a Dask cluster).
"""

from __future__ import annotations

import pickle

from ._ffi import lib

__all__ = [
    "KernelError", "InternalError", "NotSupported", "NoMemory", "InvalidArgs",
    "BadHandle", "WrongType", "OutOfRange", "BufferTooSmall", "BadState",
    "TimedOut", "ShouldWait", "Canceled", "PeerClosed", "AccessDenied",
    "PolicyError", "check", "error",
    "NotFound", "FileExists", "NotADirectory", "IsADirectory", "DirectoryNotEmpty",
    "SymlinkLoop", "NameTooLong", "NoSpace", "FileTooLarge", "TooManyLinks", "NotExecutable",
    "NoDevice", "Busy", "fs_error",
]


def _status(name: str) -> tuple[int, str]:
    """(number, name) of status ``ERR_<name>``: the number is the C core's
    ``PK_ERR_<name>`` (csrc/core/pk_api.h), the one definition of it."""
    return getattr(lib, f"PK_{name}"), name


class KernelError(Exception):
    """Base of every error the simulated kernel reports.

    ``status`` is the kernel status code (negative, Zircon numbering),
    ``name`` its name there (``"ERR_INVALID_ARGS"``) and ``words`` what a
    message says for it (``"invalid argument"``).
    """

    status, name = _status("ERR_INTERNAL")   # the status's name in Zircon's zx_status_t, for reference
    words = "kernel error"       # what messages say: no message shows a bare status name

    def __init__(self, message: str | None = None, status: int | None = None):
        if status is not None:
            self.status = status
        super().__init__(message or self.words)

    def __reduce__(self):
        # Exception's own reduce calls cls(*args), which fails for classes
        # whose __init__ takes other arguments (ScenarioError): rebuild
        # without __init__, from args and the instance's attributes.
        # Attributes that cannot be pickled travel as their repr.
        state = {}
        for key, value in self.__dict__.items():
            try:
                pickle.dumps(value)
            except Exception:  # noqa: BLE001 - any failure: send its repr
                value = repr(value)
            state[key] = value
        return (_rebuild, (type(self), self.args, state))


def _rebuild(cls, args, state):
    """Unpickle a KernelError (see KernelError.__reduce__)."""
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class InternalError(KernelError):
    """An invariant of the core failed (a bug in pykernel: please report it)."""
    status, name = _status("ERR_INTERNAL")
    words = "an invariant of the core failed (a bug in pykernel)"


class NotSupported(KernelError):
    """The operation is not supported (ZX_ERR_NOT_SUPPORTED)."""
    status, name = _status("ERR_NOT_SUPPORTED")
    words = "not supported"


class NoMemory(KernelError):
    """A configured limit or host memory was exhausted (ZX_ERR_NO_MEMORY).
    ``limit`` names the :class:`~pykernel.Limits` field that was reached
    (e.g. "max_threads"), or is None."""
    status, name = _status("ERR_NO_MEMORY")
    words = "out of memory or past a limit"
    limit: str | None = None


class InvalidArgs(KernelError, ValueError):
    """An argument is invalid (ZX_ERR_INVALID_ARGS)."""
    status, name = _status("ERR_INVALID_ARGS")
    words = "invalid argument"


class BadHandle(KernelError):
    """A handle value is not valid in this process (ZX_ERR_BAD_HANDLE)."""
    status, name = _status("ERR_BAD_HANDLE")
    words = "not a valid handle in this process"


class WrongType(KernelError, TypeError):
    """The object is of the wrong type for the operation (ZX_ERR_WRONG_TYPE);
    also an argument of the wrong Python type. A ``TypeError`` too."""
    status, name = _status("ERR_WRONG_TYPE")
    words = "wrong type of object"


class OutOfRange(KernelError, ValueError):
    """An argument is outside the accepted range (ZX_ERR_OUT_OF_RANGE)."""
    status, name = _status("ERR_OUT_OF_RANGE")
    words = "argument out of range"


class BufferTooSmall(KernelError):
    """The buffer is too small for the data (ZX_ERR_BUFFER_TOO_SMALL)."""
    status, name = _status("ERR_BUFFER_TOO_SMALL")
    words = "buffer too small"


class BadState(KernelError):
    """The object is not in a state that allows the operation (ZX_ERR_BAD_STATE)."""
    status, name = _status("ERR_BAD_STATE")
    words = "not possible in the present state"


class TimedOut(KernelError):
    """The deadline passed (ZX_ERR_TIMED_OUT)."""
    status, name = _status("ERR_TIMED_OUT")
    words = "timed out"


class ShouldWait(KernelError):
    """The operation would block (ZX_ERR_SHOULD_WAIT)."""
    status, name = _status("ERR_SHOULD_WAIT")
    words = "would have to wait"


class Canceled(KernelError):
    """The wait was canceled (ZX_ERR_CANCELED)."""
    status, name = _status("ERR_CANCELED")
    words = "canceled"


class PeerClosed(KernelError):
    """The other end is closed (ZX_ERR_PEER_CLOSED)."""
    status, name = _status("ERR_PEER_CLOSED")
    words = "the other end is closed"


class AccessDenied(KernelError, PermissionError):
    """The handle lacks a right the operation needs (ZX_ERR_ACCESS_DENIED),
    or the file system refused the caller's credentials (EACCES, EPERM:
    then ``errno`` says which). Also a :class:`PermissionError`."""
    status, name = _status("ERR_ACCESS_DENIED")
    words = "access denied: the handle lacks a right"


class PolicyError(KernelError):
    """A scheduling policy written in Python failed: a hook raised (the
    exception is ``__cause__``), or returned something the kernel refused
    (a tid that is not queued in its run queue, a slice out of range...).
    ``hook`` names the hook, ``runqueue`` the run queue it served,
    ``value`` what it returned (None if it raised). The kernel cannot run
    any more; its state stays readable. pykernel's own status, -90."""
    status, name = _status("ERR_POLICY")
    words = "the scheduling policy failed"
    hook: str | None = None
    runqueue: int | None = None
    value = None


_BY_STATUS = {cls.status: cls for cls in (
    InternalError, NotSupported, NoMemory, InvalidArgs, BadHandle, WrongType,
    OutOfRange, BufferTooSmall, BadState, TimedOut, ShouldWait, Canceled,
    PeerClosed, AccessDenied, PolicyError)}


def error(status: int, what: str, why: str | None = None) -> KernelError:
    """The exception for a (negative) core status: its class, and the
    message ``"<what>: <why>"`` (``why`` alone if ``what`` is empty), by
    default the status in words."""
    cls = _BY_STATUS.get(status, KernelError)
    if why is None:
        why = cls.words if cls is not KernelError else f"kernel error (status {status})"
    return cls(f"{what}: {why}" if what else why, status)


def check(status: int, what: str) -> None:
    """Raise the exception for a core status (no-op for 0 = OK)."""
    if status >= 0:
        return
    raise error(status, what)


# ---- file-system errors (pykernel/fs.py) ----------------------------------------
# The file system answers with Linux errno values (errno(3)), the C core's
# PK_E* constants (csrc/core/pk_api.h, read here through cffi); each has a
# class that is also the matching builtin OSError subclass, so both
# ``except pk.NotFound`` and ``except FileNotFoundError`` work.  ``status``
# is -errno, ``errno`` the errno, ``path`` the path the call named.

class _FsError(KernelError):
    def __init__(self, message: str | None = None, status: int | None = None):
        super().__init__(message, status)
        self.errno = -self.status
        self.path = None


class NotFound(_FsError, FileNotFoundError):
    """No such file or directory (ENOENT)."""
    status, name, words = -lib.PK_ENOENT, "ENOENT", "no such file or directory"


class FileExists(_FsError, FileExistsError):
    """The name exists already (EEXIST)."""
    status, name, words = -lib.PK_EEXIST, "EEXIST", "file exists"


class NotADirectory(_FsError, NotADirectoryError):
    """A component used as a directory is not one (ENOTDIR)."""
    status, name, words = -lib.PK_ENOTDIR, "ENOTDIR", "not a directory"


class IsADirectory(_FsError, IsADirectoryError):
    """The operation needs a non-directory (EISDIR)."""
    status, name, words = -lib.PK_EISDIR, "EISDIR", "is a directory"


class DirectoryNotEmpty(_FsError, OSError):
    """The directory has entries (ENOTEMPTY)."""
    status, name, words = -lib.PK_ENOTEMPTY, "ENOTEMPTY", "directory not empty"


class SymlinkLoop(_FsError, OSError):
    """More than 40 symbolic links in one path resolution, or a final
    symbolic link where none may be (ELOOP; path_resolution(7))."""
    status, name, words = -lib.PK_ELOOP, "ELOOP", "too many levels of symbolic links"


class NameTooLong(_FsError, OSError):
    """A name longer than 255 bytes or a path of 4096 bytes or more
    (ENAMETOOLONG)."""
    status, name, words = -lib.PK_ENAMETOOLONG, "ENAMETOOLONG", "file name too long"


class NoSpace(_FsError, OSError):
    """The file system's byte or inode limit is reached (ENOSPC)."""
    status, name, words = -lib.PK_ENOSPC, "ENOSPC", "no space left on the file system"


class FileTooLarge(_FsError, OSError):
    """A file would pass the largest size, 2**40 bytes (EFBIG)."""
    status, name, words = -lib.PK_EFBIG, "EFBIG", "file too large"


class TooManyLinks(_FsError, OSError):
    """An inode has 65,000 links already (EMLINK)."""
    status, name, words = -lib.PK_EMLINK, "EMLINK", "too many links"


class NotExecutable(_FsError, OSError):
    """The file is not in a format the kernel runs (ENOEXEC)."""
    status, name, words = -lib.PK_ENOEXEC, "ENOEXEC", "exec format error"


class NoDevice(_FsError, OSError):
    """The device has nothing behind it, e.g. /dev/tty without a process
    (ENXIO)."""
    status, name, words = -lib.PK_ENXIO, "ENXIO", "no such device or address"


class Busy(_FsError, OSError):
    """The name is in use and cannot go, e.g. renaming "." (EBUSY)."""
    status, name, words = -lib.PK_EBUSY, "EBUSY", "device or resource busy"


_BY_ERRNO = {-cls.status: cls for cls in (
    NotFound, FileExists, NotADirectory, IsADirectory, DirectoryNotEmpty, SymlinkLoop,
    NameTooLong, NoSpace, FileTooLarge, TooManyLinks, NotExecutable, NoDevice, Busy)}
# the other errno values the file system answers with (csrc/core/pk_api.h, PK_E*)
_ERRNO_WORDS = {lib.PK_EPERM: "operation not permitted", lib.PK_EACCES: "permission denied",
                lib.PK_EINVAL: "invalid argument", lib.PK_ENOMEM: "out of memory",
                lib.PK_ERANGE: "result too large", lib.PK_EIO: "input/output error",
                lib.PK_ESRCH: "the process has ended", lib.PK_ENODEV: "no such device"}
_ERRNO_CLASSES = {lib.PK_EPERM: AccessDenied, lib.PK_EACCES: AccessDenied,
                  lib.PK_EINVAL: InvalidArgs, lib.PK_ENOMEM: NoMemory,
                  lib.PK_ERANGE: OutOfRange, lib.PK_ESRCH: BadState, lib.PK_ENODEV: NoDevice}


def fs_error(neg_errno: int, what: str, path: str | None = None) -> KernelError:
    """The exception for a negative errno the file system returned:
    ``"<what> '<path>': <words>"``; ``errno`` and ``path`` attributes."""
    e = -neg_errno
    cls = _BY_ERRNO.get(e)
    if cls is None:
        cls = _ERRNO_CLASSES.get(e, KernelError)
        words = _ERRNO_WORDS.get(e, f"errno {e}")
    else:
        words = cls.words
    where = f" {path!r}" if path is not None else ""
    exc = cls(f"{what}{where}: {words}", cls.status if cls in _BY_ERRNO.values() else None)
    exc.errno = e
    exc.path = path
    return exc
