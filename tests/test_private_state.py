"""The kernel's private state is read by the kernel's own modules only.

A Kernel's private instance attributes (its tables of programs, names,
bodies, its run flags, its lock) are read through documented accessor
methods by the rest of the package (pykernel/snapshot.py, pykernel/_lock.py,
...), so that what each means is said once, in kernel.py. This test reads
every module of the package (ast) and fails on a read of one of those
attributes through another object than ``self``, outside the modules that
make up the Kernel class.
"""

from __future__ import annotations

import ast
import pathlib

import pykernel as pk

PKG = pathlib.Path(pk.__file__).parent

# the modules whose classes make up Kernel (its mixins: Spawning, Observation,
# RunControl, HostThreadRule), and the run loop's machinery for Python bodies
# and policies, which steps them from inside run()
KERNEL_MODULES = {"kernel.py", "spawning.py", "observation.py", "run.py", "_lock.py",
                  "context.py", "_policy_host.py"}

# the core's handle of the kernel: every view passes it to the C entry point it
# calls (csrc/core/pk_api.h), and the core checks it there
SHARED = {"_kp"}


def kernel_private_data() -> set[str]:
    """The private instance attributes a Kernel has: those of a kernel with
    memory and a trace, and those the classes it is made of assign on
    ``self`` (some only when first used)."""
    k = pk.Kernel(memory=pk.Memory(frames=64), trace=True)
    names = {n for n in vars(k) if n.startswith("_") and not n.startswith("__")}
    classes = {c.__name__ for c in type(k).__mro__}
    for name in KERNEL_MODULES:
        for node in ast.walk(ast.parse((PKG / name).read_text())):
            if isinstance(node, ast.ClassDef) and node.name in classes:
                names |= assigned_on_self(node)
    return names


def assigned_on_self(tree: ast.AST) -> set[str]:
    """Private names code assigns as ``self._name``, or keeps in
    ``self.__dict__`` under a literal key (made on first use)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id == "self":
            name = node.attr
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Attribute) \
                and node.func.value.attr == "__dict__" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            name = node.args[0].value
        else:
            continue
        if name.startswith("_") and not name.startswith("__"):
            out.add(name)
    return out


def foreign_reads(source: str, private: set[str]) -> list[tuple[int, str]]:
    """(line, attribute) of each use of a name of ``private`` through
    another object than ``self``/``cls``, leaving out names the module's own
    classes keep on ``self`` (theirs, not the kernel's) and SHARED."""
    tree = ast.parse(source)
    own = assigned_on_self(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in private \
                and node.attr not in own and node.attr not in SHARED \
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            out.append((node.lineno, node.attr))
    return out


def test_the_scanner_finds_a_read_of_the_kernels_private_state():
    # the rule below can fail: a view reading the kernel's table of names
    src = "def name(k, pid):\n    return k._names[pid]\n"
    assert foreign_reads(src, {"_names", "_kp"}) == [(2, "_names")]
    assert foreign_reads("def f(k):\n    return k._kp\n", {"_names", "_kp"}) == []


def test_no_module_outside_the_kernels_reads_its_private_state():
    private = kernel_private_data()
    assert {"_names", "_errors", "_gens", "_running", "_rlock", "_pager_table"} <= private
    found = {}
    for path in sorted(PKG.glob("*.py")):
        if path.name in KERNEL_MODULES:
            continue
        reads = foreign_reads(path.read_text(), private)
        if reads:
            found[path.name] = reads
    assert found == {}
