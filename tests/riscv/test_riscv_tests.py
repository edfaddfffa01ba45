"""The official RISC-V ISA tests (riscv-tests, isa/rv64u{i,m,a,c,f,d})
run under pykernel as under qemu-riscv64.

Each test source is built as a static Linux user program with the test
environment in isa/riscv_test.h (rvbuild.build_isa): it exits with status
0 when every case passed, else with the number of the first failing case.
qemu-riscv64 is the reference: every test it passes must pass under
pykernel with the same status. QEMU_FAILS lists the tests qemu itself
fails (none with qemu-riscv64 7.2); for them only the two statuses are
compared.

The sources are not part of pykernel: they are found at
``$PK_RISCV_TESTS`` or ``../shared/riscv/riscv-tests`` from the repository
root. Without them or the toolchain the tests are skipped (failed under
PK_REQUIRE_RISCV=1).
"""

from __future__ import annotations

import re

import pytest

import rvbuild as build
from rvrun import require, run_pykernel, run_qemu

QEMU_FAILS: dict[str, int] = {}          # "suite-test" -> qemu's exit status

TESTS = build.isa_tests() if build.missing_isa() is None else []


def elf(suite: str, test: str):
    require(build.missing_isa())
    return build.build_isa(suite, test)


def test_riscv_tests_are_present():
    require(build.missing_isa())
    assert TESTS


def test_every_test_named_in_the_makefrags_has_a_source():
    """Each suite's Makefrag lists its tests (``<suite>_sc_tests``); those
    are exactly the sources run here."""
    require(build.missing_isa())
    listed = []
    for suite in build.ISA_SUITES:
        text = (build.isa_root() / "isa" / suite / "Makefrag").read_text()
        body = re.search(rf"{suite}_sc_tests = \\\n(.*?)\n\n", text, re.S).group(1)
        listed += [(suite, t) for t in body.replace("\\", " ").split()]
    assert sorted(listed) == sorted(TESTS)


@pytest.mark.parametrize("suite,test", TESTS, ids=[f"{s}-{t}" for s, t in TESTS])
def test_riscv_test_passes_under_qemu(suite, test):
    got = run_qemu(elf(suite, test), [test])
    assert (got.state, got.exit_code) == ("exited", QEMU_FAILS.get(f"{suite}-{test}", 0))


@pytest.mark.parametrize("suite,test", TESTS, ids=[f"{s}-{t}" for s, t in TESTS])
def test_riscv_test_under_pykernel_matches_qemu(suite, test):
    path = elf(suite, test)
    assert run_pykernel(path, [test]) == run_qemu(path, [test])
