"""The machine code of the context switch: the dispatcher's register-file
copies (pk_cpu.h) are vector moves, not `rep movs`, whose microcoded
start-up costs tens of cycles on many x86-64 cores (AMD, "Software
Optimization Guide for AMD Family 19h Processors", section 2.13 on string
instructions; Intel, "Optimization Reference Manual", 3.7.6 "Enhanced REP
MOVSB and STOSB").  csrc/build_core.py sets GCC's copy strategy for this."""

import os
import platform
import re
import shutil
import subprocess

import pytest

import pykernel._ffi as ffi_mod

pytestmark = [
    pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 code only"),
    pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) is missing"),
    pytest.mark.skipif(bool(os.environ.get("PYKERNEL_SANITIZED")),
                       reason="the sanitizer build is compiled with other flags"),
]


def _functions(names_re: str) -> dict:
    """Disassembly of the extension's functions whose names match."""
    so = ffi_mod.lib.__file__ if hasattr(ffi_mod.lib, "__file__") else None
    if so is None:
        import pykernel._core as core
        so = core.__file__
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", so], capture_output=True,
                         text=True, check=True).stdout
    funcs, name = {}, None
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            name = m.group(1) if re.fullmatch(names_re, m.group(1)) else None
            if name:
                funcs[name] = []
        elif name and line.strip():
            funcs[name].append(line)
    return funcs


def test_the_dispatcher_has_no_rep_movs():
    funcs = _functions(r"pk_kernel_run(\..*)?")
    assert funcs, "pk_kernel_run not found in the extension's symbols"
    for name, lines in funcs.items():
        reps = [ln for ln in lines if "rep movs" in ln]
        assert not reps, f"{name}: {reps[:3]}"


def test_the_bare_floor_copies_the_same_way():
    funcs = _functions(r"pk_bench_bare_switch(\..*)?")
    assert funcs
    for name, lines in funcs.items():
        assert not [ln for ln in lines if "rep movs" in ln], name


def test_the_shuffled_floor_copies_the_same_way():
    funcs = _functions(r"pk_bench_bare_switch_shuffled(\..*)?")
    assert funcs, "pk_bench_bare_switch_shuffled not found in the extension's symbols"
    for name, lines in funcs.items():
        assert not [ln for ln in lines if "rep movs" in ln], name
