"""Scenario files: a machine, a policy and a workload described in TOML.

A scenario has the tables ``[machine]`` (cpus, runqueues, seed,
balance_interval, rt_slice, livelock_steps), ``[costs]`` (any :class:`~pykernel.Costs`
field), ``[scheduler]`` (``name``: a policy of :mod:`pykernel.sched`, and
its parameters), optional ``[memory]`` and ``[mmu]`` (the fields of
:class:`~pykernel.Memory` and :class:`~pykernel.MMU`), ``[programs]``
(name = a script as a list of operations) and ``[[processes]]`` (program,
count, name, at, nice, priority, policy, rt_priority, tickets, cpu,
affinity), and ``[run]`` (until). An operation is a list: the name of a
:mod:`pykernel.op` function, then its arguments; ``loop`` and
``spawn_thread`` take a list of operations. Durations are ints of
nanoseconds or strings with a unit ("4 ms", "500 us", "2 s", "800 ns").

Mistakes raise :class:`ScenarioError` naming the file, the line and the
field. TOML parsers report no line for a value, so :func:`locate` finds
it by scanning the source for the key path (tables, arrays of tables,
dotted keys); a field inside an operation list is reported at the line of
its program.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, fields
from fractions import Fraction
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from . import op as _op
from . import sched as _sched
from .costs import Costs
from .errors import InvalidArgs
from .kernel import Kernel
from .limits import Limits
from .memory import MMU, Memory
from .program import Program, op_path

__all__ = ["Scenario", "ScenarioError", "load", "loads", "locate"]

_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)\s*$")
_NUMBER_WORD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([^\d\s.][^\s]*)\s*$")


def unit_error(text: str) -> str | None:
    """If ``text`` is a number with a unit that is not a time unit
    ("40 msec"), the message that says so and lists the units; else None."""
    m = _NUMBER_WORD.match(text)
    if m is None or m.group(2) in _UNITS:
        return None
    return (f"unknown unit {m.group(2)!r} in duration {text!r}; the units are "
            f"{', '.join(_UNITS)} (e.g. \"40 ms\"), or an int of ns")


_TOP = ("machine", "costs", "scheduler", "memory", "mmu", "limits", "programs", "processes",
        "run")
_MACHINE = ("cpus", "runqueues", "seed", "balance_interval", "rt_slice", "trace", "livelock_steps")
_PROCESS = ("program", "count", "name", "at", "nice", "priority", "policy", "rt_priority",
            "tickets", "cpu", "affinity")
_OPS = {"compute", "io", "sleep", "yield", "yield_", "exit", "loop", "touch", "touch_range",
        "map", "unmap", "protect", "write", "read", "wait", "futex_wait", "futex_wake", "lock",
        "unlock", "sem_wait", "sem_post", "cond_wait", "cond_signal", "cond_broadcast",
        "spawn_thread", "thread_exit"}


class ScenarioError(InvalidArgs):
    """A mistake in a scenario: ``path`` (the file or "<string>"),
    ``line`` (1-based, or None if it cannot be found), ``field`` (the key
    path, e.g. "processes[1].program") and the message. A
    :class:`~pykernel.InvalidArgs`, hence also a ``ValueError``."""

    def __init__(self, path: str, line: int | None, field: str, message: str):
        self.path, self.line, self.field, self.message = path, line, field, message
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


def _key_parts(text: str) -> list[str]:
    """Split a TOML key ("a.b", '"x y".z') into its parts."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)', text)
    return [a or b or c for a, b, c in parts]


def locate(source: str) -> dict[tuple, int]:
    """Map each key path of a TOML text to the 1-based line where its key
    is written. Paths are tuples of keys and array-of-table indexes:
    ``("processes", 1, "program")``. Tables map to their header's line."""
    lines: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    table: tuple = ()
    depth = 0                     # open brackets of a multi-line value
    for no, raw in enumerate(source.splitlines(), start=1):
        line = re.sub(r'#.*$', "", raw) if '"' not in raw and "'" not in raw else raw
        stripped = line.strip()
        if depth == 0 and stripped.startswith("[["):
            name = tuple(_key_parts(stripped[2:stripped.index("]]")]))
            counts[name] = counts.get(name, -1) + 1
            table = name + (counts[name],)
            lines.setdefault(name, no)
            lines[table] = no
        elif depth == 0 and stripped.startswith("["):
            table = tuple(_key_parts(stripped[1:stripped.index("]")]))
            lines[table] = no
        elif depth == 0 and "=" in stripped:
            key, _, value = stripped.partition("=")
            lines[table + tuple(_key_parts(key))] = no
            depth = max(0, _brackets(value))
        else:
            depth = max(0, depth + _brackets(stripped))
    return lines


def _brackets(text: str) -> int:
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", text)
    text = text.split("#", 1)[0]
    return text.count("[") + text.count("{") - text.count("]") - text.count("}")


def _field(path: tuple) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


@dataclass
class Scenario:
    """A parsed scenario: its data (``data``, the TOML as dicts) and where
    each key is (``lines``). :meth:`build` makes a kernel and spawns the
    processes; :meth:`run` builds and runs."""

    data: dict
    lines: dict
    path: str = "<string>"

    def error(self, path: tuple, message: str) -> ScenarioError:
        """A ScenarioError for the key path ``path`` at its line (or the
        line of its nearest enclosing key)."""
        for n in range(len(path), -1, -1):
            if path[:n] in self.lines:
                return ScenarioError(self.path, self.lines[path[:n]], _field(path), message)
        return ScenarioError(self.path, None, _field(path), message)

    def _table(self, name: str) -> dict:
        t = self.data.get(name, {})
        if not isinstance(t, dict):
            raise self.error((name,), f"must be a table ([{name}])")
        return t

    def _value(self, path: tuple, value):
        """Durations with a unit become ints of ns, recursively."""
        if isinstance(value, str):
            m = _DURATION.match(value)
            if m:                                    # exact: no float overflow or rounding
                try:
                    return round(Fraction(m.group(1)) * _UNITS[m.group(2)])
                except ValueError:                   # more digits than Python converts
                    raise self.error(path, f"duration {value[:20]}... has too many digits") from None
            why = unit_error(value)
            if why:
                raise self.error(path, why)
        if isinstance(value, list):
            return [self._value(path + (i,), v) for i, v in enumerate(value)]
        return value

    def _kwargs(self, name: str, allowed, skip=()) -> dict:
        t = self._table(name)
        out = {}
        for key, value in t.items():
            if key in skip:
                continue
            if key not in allowed:
                raise self.error((name, key), f"unknown field; expected one of {', '.join(allowed)}")
            out[key] = self._value((name, key), value)
        return out

    def _make(self, name: str, cls, kwargs: dict):
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            bad = [k for k in kwargs if k in str(exc)]
            raise self.error((name, bad[0]) if bad else (name,), str(exc)) from None

    def costs(self) -> Costs:
        """The [costs] table as a pk.Costs (defaults for missing fields;
        with ``file = "path.toml"``, a costs file such as ``pykernel
        calibrate`` writes, relative to this file, gives them)."""
        names = [f.name for f in fields(Costs)]
        kwargs = self._kwargs("costs", names + ["file"])
        base = {}
        if "file" in kwargs:
            base = self._costs_file(kwargs.pop("file"))
        return self._make("costs", Costs, {**base, **kwargs})

    def _costs_file(self, name) -> dict:
        if not isinstance(name, str):
            raise self.error(("costs", "file"), "must be the path of a costs file (a string)")
        where = Path(self.path).parent if self.path != "<string>" else Path(".")
        try:
            base = Costs.load(where / name)
        except (OSError, ValueError) as exc:
            raise self.error(("costs", "file"), str(exc)) from None
        return {f.name: getattr(base, f.name) for f in fields(Costs)}

    def scheduler(self) -> _sched.Policy:
        """The [scheduler] table as a pk.sched policy (default CFS)."""
        t = self._table("scheduler")
        name = t.get("name", "CFS")
        policies = _sched._builtin_policies()
        cls = policies.get(str(name).lower())
        if cls is None:
            raise self.error(("scheduler", "name"), f"unknown policy {name!r}; expected one of "
                             f"{', '.join(sorted(c.__name__ for c in policies.values()))}")
        allowed = _sched.parameters(cls)
        for key in t:
            if key != "name" and key not in allowed:
                raise self.error(("scheduler", key), f"unknown field for {cls.__name__}; expected "
                                 f"one of {', '.join(['name', *allowed])}")
        kwargs = {k: self._value(("scheduler", k), v) for k, v in t.items() if k != "name"}
        return self._make("scheduler", cls, kwargs)

    def op(self, path: tuple, spec, loops: int = 0) -> _op.Op:
        """One operation from its list form, e.g. ["compute", 1000].
        ``loops``: how many loops enclose it."""
        if not isinstance(spec, list) or not spec or not isinstance(spec[0], str):
            raise self.error(path, f'an operation is a list such as ["compute", 1000], got {spec!r}')
        name = spec[0]
        if name not in _OPS:
            raise self.error(path, f"unknown operation {name!r}; expected one of "
                             f"{', '.join(sorted(_OPS - {'yield_'}))}")
        if name == "loop":
            loops += 1
        fn = getattr(_op, "yield_" if name == "yield" else name)
        if name in ("loop", "spawn_thread"):
            if len(spec) < 2 or not isinstance(spec[-1], list):
                raise self.error(path, f"{name} takes a list of operations last")
            args = self._value(path, spec[1:-1]) + [self.ops(path, spec[-1], loops)]
        else:
            args = self._value(path, spec[1:])
        try:
            return fn(*args)
        except (TypeError, ValueError) as exc:
            raise self.error(path, f"{name}: {exc}") from None

    def ops(self, path: tuple, specs, loops: int = 0) -> list:
        """A list of operations (``loops``: how many loops enclose it)."""
        if not isinstance(specs, list):
            raise self.error(path, "a script is a list of operations")
        return [self.op(path + (i,), s, loops) for i, s in enumerate(specs)]

    def programs(self) -> dict[str, Program]:
        """The [programs] table: name -> script Program."""
        out = {}
        for name, spec in self._table("programs").items():
            path = ("programs", name)
            ops = None
            try:
                ops = self.ops(path, spec)
                out[name] = Program.script(name, ops)
            except RecursionError:                # e.g. spawn_thread inside spawn_thread...
                raise self.error(path, "operations nest too deeply") from None
            except (TypeError, ValueError) as exc:
                if isinstance(exc, ScenarioError):
                    raise
                at = getattr(exc, "instruction", None)     # the core's refusal names it
                if at is not None and ops is not None:
                    raise self.error(path + op_path(ops, at), exc.explanation) from None
                raise self.error(path, str(exc)) from None
        return out

    def kernel(self) -> Kernel:
        """A kernel with the scenario's machine, costs, policy, memory and
        limits."""
        kw = self._kwargs("machine", _MACHINE)
        mem = self._make("memory", Memory, self._kwargs("memory", [f.name for f in fields(Memory)])) \
            if "memory" in self.data else None
        mmu = self._make("mmu", MMU, self._kwargs("mmu", [f.name for f in fields(MMU)])) \
            if "mmu" in self.data else None
        limits = self._make("limits", Limits, self._kwargs("limits", [f.name for f in fields(Limits)])) \
            if "limits" in self.data else None
        policy, costs = self.scheduler(), self.costs()
        try:
            return Kernel(scheduler=policy, costs=costs, memory=mem, mmu=mmu, limits=limits, **kw)
        except (TypeError, ValueError) as exc:
            bad = [k for k in kw if k in str(exc)]
            raise self.error(("machine", bad[0]) if bad else ("machine",), str(exc)) from None

    def spawn(self, k: Kernel, programs: dict) -> list:
        """Spawn the [[processes]] entries; the list of processes."""
        entries = self.data.get("processes", [])
        if not isinstance(entries, list):
            raise self.error(("processes",), "must be an array of tables ([[processes]])")
        out = []
        for i, entry in enumerate(entries):
            path = ("processes", i)
            if not isinstance(entry, dict):
                raise self.error(path, f"a process is a table ([[processes]]), got {entry!r}")
            for key in entry:
                if key not in _PROCESS:
                    raise self.error(path + (key,), f"unknown field; expected one of {', '.join(_PROCESS)}")
            kw = {key: v if key in ("name", "program") else self._value(path + (key,), v)
                  for key, v in entry.items()}
            if "program" not in kw:
                raise self.error(path, "a process needs a program")
            prog = kw.pop("program")
            prog = programs.get(prog) if isinstance(prog, str) else None
            if prog is None:
                raise self.error(path + ("program",), f"unknown program {entry['program']!r}; "
                                 f"expected one of {', '.join(programs) or '(no [programs])'}")
            count = kw.pop("count", 1)
            name = kw.pop("name", None)
            try:
                if count == 1:
                    out.append(k.spawn(prog, name=name, **kw))
                else:
                    if name is not None:
                        raise ValueError("name is for count = 1 (processes of a count are named "
                                         "<program>-<pid>)")
                    out.extend(k.spawn_many(prog, count, **kw))
            except (TypeError, ValueError) as exc:
                keys = ["count", "name", *kw]
                bad = [key for key in keys if key in str(exc) and key in entry]
                raise self.error(path + ((bad[0],) if bad else ()), str(exc)) from None
        return out

    def build(self) -> tuple[Kernel, list]:
        """(kernel, processes): the machine with every process spawned."""
        for key in self.data:
            if key not in _TOP:
                raise self.error((key,), f"unknown table; expected one of {', '.join(_TOP)}")
        k = self.kernel()
        return k, self.spawn(k, self.programs())

    @property
    def until(self) -> int | None:
        """[run] until (ns), or None."""
        until = self._kwargs("run", ("until",)).get("until")
        if until is None:
            return None
        try:
            return _op.duration("until", until)
        except (TypeError, ValueError) as exc:
            raise self.error(("run", "until"), str(exc)) from None

    def run(self, until: int | None = None, progress: bool | None = None) -> Kernel:
        """Build, run until ``until`` (default: [run] until, else idle)
        and return the kernel."""
        k, _ = self.build()
        until = self.until if until is None else until
        k.run(until=until, progress=progress)
        return k


def _set(data: dict, dotted: str, value) -> None:
    parts = dotted.split(".")
    node = data
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def loads(text: str, params: dict | None = None, path: str = "<string>") -> Scenario:
    """Parse a scenario from TOML text. ``params`` overrides values by
    dotted key path ({"machine.cpus": 4, "processes.0.count": 10})."""
    try:
        data = tomllib.loads(text)
    except ValueError as exc:     # TOMLDecodeError, or an int past Python's limit on digits
        m = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(path, int(m.group(1)) if m else None, "",
                            f"not valid TOML: {exc}") from None
    except RecursionError:        # the parser recurses once per nested array or table
        raise ScenarioError(path, _deepest_line(text), "",
                            "arrays or inline tables nest too deeply to parse") from None
    for key, value in (params or {}).items():
        try:
            _set(data, key, value)
        except (KeyError, IndexError, ValueError, TypeError):
            raise ScenarioError(path, None, key, "no such place to set a parameter") from None
    return Scenario(data, locate(text), path)


def _deepest_line(text: str) -> int | None:
    """The first line where brackets and braces nest deepest (strings
    and comments on one line are skipped), or None for an empty text."""
    depth = best = 0
    where = None
    for no, line in enumerate(text.splitlines(), start=1):
        stripped = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", line).split("#", 1)[0]
        for ch in stripped:
            depth += 1 if ch in "[{" else -1 if ch in "]}" else 0
            if depth > best:
                best, where = depth, no
    return where


def load(path, params: dict | None = None) -> Scenario:
    """Parse a scenario file (see :func:`loads`). A TOML file is UTF-8
    (TOML v1.0.0, "Spec"): other bytes raise ScenarioError at their line."""
    p = Path(path)
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise ScenarioError(str(p), line, "", f"not UTF-8 (a TOML file must be): byte "
                            f"0x{raw[exc.start]:02x} at column {column}") from None
    return loads(text, params, str(p))
