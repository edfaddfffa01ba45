"""Every module of the package imports on its own in a fresh interpreter.

A module that is imported while another module it needs is still
half-initialised (a runtime import cycle) fails with ImportError or
AttributeError depending on which module the interpreter meets first
(Python Language Reference, 5. "The import system", 5.3.1 "The module
cache": a module is in sys.modules before its body has run). Importing
each submodule as the first thing a new interpreter does checks every
such order.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pykernel

# the pykernel this suite tests (installed, or the source tree with its
# core built in place): the fresh interpreters import the same one
PACKAGE = Path(pykernel.__file__).resolve().parent
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py")
                 if p.stem not in ("__init__", "__main__"))


def test_the_package_has_the_split_modules():
    # the records, process groups and run loop have modules of their own
    assert {"results", "groups", "run"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_submodule_imports_first_in_a_fresh_interpreter(name, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(PACKAGE.parent), *filter(None, [os.environ.get("PYTHONPATH")])]))
    r = subprocess.run([sys.executable, "-c", f"import pykernel.{name}"], cwd=tmp_path, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("old, new", [
    ("pykernel.kernel", "pykernel.results"),
    ("pykernel", "pykernel.results"),
])
def test_records_keep_their_old_import_paths(old, new):
    import importlib
    a, b = importlib.import_module(old), importlib.import_module(new)
    for name in ("RunResult", "KernelStats", "CpuStats", "Latency", "jain_index"):
        assert getattr(a, name) is getattr(b, name)


def test_process_group_keeps_its_old_import_path():
    import pykernel
    from pykernel import groups, kernel
    assert kernel.ProcessGroup is groups.ProcessGroup is pykernel.ProcessGroup


def test_no_module_of_the_package_passes_800_lines():
    # a module past 800 lines holds more than one responsibility: split it
    # (docs/architecture.md names what each module holds)
    long = {p.name: n for p in PACKAGE.glob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 800}
    assert long == {}


@pytest.mark.parametrize("name", ["Thread", "Stats", "Registers", "PeriodicJob", "JobStats"])
def test_thread_and_records_keep_their_old_import_paths(name):
    from pykernel import accounting, process, thread
    where = thread if name == "Thread" else accounting
    assert getattr(process, name) is getattr(where, name) is getattr(pykernel, name)
