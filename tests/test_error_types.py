"""Errors: every pk.KernelError subclass survives pickling (errors cross
process boundaries in pk.sweep), and argument errors are caught both by
``except pk.KernelError`` and by the builtin ``ValueError`` / ``TypeError``.

Pickling rules: the pickle module documentation, "Pickling Class
Instances" (__reduce__ returns a callable and its arguments)."""

import importlib
import inspect
import pickle
import pkgutil

import pytest

import pykernel as pk
from pykernel.scenario import ScenarioError


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _error_classes():
    for mod in pkgutil.walk_packages(pk.__path__, "pykernel."):
        if mod.name.startswith("pykernel.examples") or mod.name.endswith("__main__"):
            continue
        importlib.import_module(mod.name)
    return sorted(set(_all_subclasses(pk.KernelError)) | {pk.KernelError},
                  key=lambda c: f"{c.__module__}.{c.__qualname__}")


def _make(cls):
    """An instance built through the class's own __init__, its required
    parameters given sample values."""
    sig = inspect.signature(cls.__init__)
    args = []
    for name, p in list(sig.parameters.items())[1:]:
        if p.default is not inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        args.append(7 if p.annotation in (int, "int", "int | None") else f"sample {name}")
    return cls(*args)


ERRORS = _error_classes()


def test_discovery_finds_the_errors_of_submodules():
    names = {c.__name__ for c in ERRORS}
    assert {"KernelError", "InvalidArgs", "PolicyError", "ScenarioError", "SnapshotError"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=[c.__name__ for c in ERRORS])
def test_every_kernel_error_survives_pickling(cls):
    exc = _make(cls)
    exc.extra = [1, "two"]
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is cls
    assert str(back) == str(exc)
    assert back.args == exc.args
    assert back.status == exc.status
    assert back.extra == [1, "two"]


def test_scenario_error_keeps_its_fields_through_pickling():
    exc = ScenarioError("base.toml", 3, "machine.cpus", "Kernel cpus must be between 1 and 256, got 0")
    back = pickle.loads(pickle.dumps(exc))
    assert (back.path, back.line, back.field, back.message) == (
        "base.toml", 3, "machine.cpus", "Kernel cpus must be between 1 and 256, got 0")
    assert str(back) == "base.toml:3: machine.cpus: Kernel cpus must be between 1 and 256, got 0"


def test_an_attribute_that_cannot_be_pickled_travels_as_its_repr():
    exc = pk.PolicyError("pick failed")
    exc.value = (lambda: 1)
    back = pickle.loads(pickle.dumps(exc))
    assert isinstance(back.value, str) and back.value.startswith("<function")


def test_scenario_error_is_an_invalid_args_and_a_value_error():
    assert issubclass(ScenarioError, pk.InvalidArgs)
    assert issubclass(ScenarioError, ValueError)


def test_wrong_type_is_also_a_type_error():
    assert issubclass(pk.WrongType, pk.KernelError) and issubclass(pk.WrongType, TypeError)


def test_a_bad_quantum_is_caught_as_kernel_error_and_as_value_error():
    with pytest.raises(pk.KernelError, match="RoundRobin quantum must be between 1"):
        pk.sched.RoundRobin(quantum=0)
    with pytest.raises(ValueError):
        pk.sched.RoundRobin(quantum=-5)


def test_a_quantum_of_the_wrong_type_is_caught_as_kernel_error_and_as_type_error():
    with pytest.raises(pk.WrongType, match="must be an int number of nanoseconds, not str"):
        pk.sched.RoundRobin(quantum="4 ms")
    with pytest.raises(TypeError):
        pk.sched.Stride(quantum=1.5)


def test_a_negative_duration_is_out_of_range():
    with pytest.raises(pk.OutOfRange, match="compute duration must be >= 0 ns, got -1"):
        pk.op.compute(-1)


def test_a_bad_kernel_value_is_a_kernel_error():
    with pytest.raises(pk.OutOfRange, match="Kernel cpus must be between 1 and"):
        pk.Kernel(cpus=0)


@pytest.mark.parametrize("cls, name", [
    (pk.NotFound, "ENOENT"), (pk.FileExists, "EEXIST"), (pk.NotADirectory, "ENOTDIR"),
    (pk.IsADirectory, "EISDIR"), (pk.DirectoryNotEmpty, "ENOTEMPTY"), (pk.SymlinkLoop, "ELOOP"),
    (pk.NameTooLong, "ENAMETOOLONG"), (pk.NoSpace, "ENOSPC"), (pk.FileTooLarge, "EFBIG"),
    (pk.TooManyLinks, "EMLINK"), (pk.NotExecutable, "ENOEXEC"), (pk.NoDevice, "ENXIO"),
    (pk.Busy, "EBUSY")])
def test_file_system_errors_carry_the_linux_errno_of_the_host(cls, name):
    # the core's PK_E* values are Linux's (include/uapi/asm-generic/errno-base.h,
    # errno.h); the host's errno module has the same numbers on Linux
    import errno
    assert cls.name == name
    assert -cls.status == cls().errno == getattr(errno, name)
