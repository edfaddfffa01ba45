"""Access to the compiled core (``pykernel._core``), built by cffi."""

try:
    from ._core import ffi, lib  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "pykernel's C core (pykernel._core) is not built. Install the package "
        "with `pip install .` (this needs a C compiler and the Python headers)."
    ) from exc

FOREVER = 0xFFFFFFFFFFFFFFFF
MAX_TIME = lib.PK_MAX_TIME
NO_BURST = 0xFFFFFFFFFFFFFFFF
