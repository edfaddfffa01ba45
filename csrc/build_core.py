"""cffi builder for pykernel._core (out-of-line API mode).

setup.py names this file in ``cffi_modules``.  The C declarations given to
cffi are core/pk_api.h itself, so the binding can never drift from the header.
The C files that use the Python C API, those of py/ (the core's stepping
of generator bodies, pk_upcall.c, and its calls of the hooks of policies
written in Python, pk_policy_upcall.c), are compiled with the others and,
like the whole module, within the limited API named below.
Set PYKERNEL_SANITIZE=1 to build with AddressSanitizer and
UndefinedBehaviorSanitizer (and -Werror), as CI does.
"""
import os
import sys
import sysconfig
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
# The C files sit in subsystem folders (core/, sched/, vm/, obj/, unix/,
# rv/, snap/); every folder is an include directory, so a file includes
# any header by its bare name.
SOURCES = sorted(str(p.relative_to(HERE.parent)) for p in HERE.glob("*/pk_*.c"))
INCLUDE_DIRS = sorted(str(d.relative_to(HERE.parent)) for d in HERE.iterdir()
                      if d.is_dir() and any(d.glob("pk_*.[ch]")))

ffibuilder = FFI()
ffibuilder.cdef((HERE / "core" / "pk_api.h").read_text())


def copy_strategy() -> list:
    """GCC on x86-64 expands fixed-size copies of a few hundred bytes (the
    272-byte register files of the context switch, pk_cpu.h) to `rep movsq`
    under its generic tuning, in every target_clones variant; `rep movs`
    has a microcoded start-up cost of tens of cycles on many x86-64 cores.
    Ask for vector-register loops up to 4 KiB instead (tests/
    test_switch_code.py checks the dispatcher).  Clang has no such option
    and already uses vector moves."""
    import platform
    import sysconfig
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    if platform.machine() not in ("x86_64", "AMD64") or "clang" in cc:
        return []
    return ["-mmemcpy-strategy=vector_loop:4096:noalign,libcall:-1:noalign"]


cflags = ["-std=c11", "-O3", "-Wall", "-Wextra"] + copy_strategy()
ldflags = []
if os.environ.get("PYKERNEL_SANITIZE"):
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
           "-fno-sanitize-recover=all", "-g"]
    cflags = ["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror"] + san
    ldflags = san

# Python's limited API, version 3.10 (the wheel is tagged cp310-abi3;
# setup.py): cffi would define Py_LIMITED_API without a version, this
# names the one the tag promises, and the #error below stops a build that
# lost it. Debug and free-threaded interpreters have no limited API.
LIMITED = not hasattr(sys, "gettotalrefcount") and not sysconfig.get_config_var("Py_GIL_DISABLED")
macros = [("Py_LIMITED_API", "0x030A0000"), ("PK_LIMITED_API", "1")] if LIMITED else []
PRELUDE = ('#if defined(PK_LIMITED_API) && !defined(Py_LIMITED_API)\n'
           '#error "pykernel._core must be compiled for the limited API (Py_LIMITED_API)"\n'
           '#endif\n')

ffibuilder.set_source(
    "pykernel._core",
    PRELUDE + '#include "pk_core.h"\n',
    sources=SOURCES,
    include_dirs=INCLUDE_DIRS,
    define_macros=macros,
    extra_compile_args=cflags,
    extra_link_args=ldflags,
    libraries=["m"],                    # pk_rv_fp.c: fenv.h and math.h
    py_limited_api=LIMITED,
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
