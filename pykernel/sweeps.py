"""Parameter sweeps: many independent simulations over a grid.

``pk.sweep(run, grid)`` calls ``run(**point)`` for every point of the
grid on an executor and gathers the results, in grid order, into a
:class:`SweepResult` that is also written to an SQLite file. ``run`` is
a function (it must be picklable, i.e. defined at the top level of a
module, for a process pool or a Dask cluster) or the path of a scenario
file, whose points are dotted-key overrides (``{"machine.cpus": 4}``).
Each simulation is deterministic, so the results do not depend on the
executor.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import sys
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

__all__ = ["sweep", "SweepResult", "grid_points", "scenario_run", "write_db", "sql_name",
           "sql_type"]

DEFAULT_DB = "sweep.sqlite"


def grid_points(grid) -> list[dict]:
    """The points of a grid: a dict of name -> list of values (their
    cartesian product, the last name varying fastest) or a list of dicts
    (the points themselves)."""
    if isinstance(grid, dict):
        for name, values in grid.items():
            if not isinstance(name, str):
                raise TypeError(f"grid names must be str, not {type(name).__name__}")
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise TypeError(f"grid[{name!r}] must be a list of values, not {values!r}")
        names = list(grid)
        return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]
    if isinstance(grid, (list, tuple)) and all(isinstance(p, dict) for p in grid):
        return [dict(p) for p in grid]
    raise TypeError("grid must be a dict of name -> list of values, or a list of dicts")


def scenario_run(path: str, until: int | None = None, **params) -> dict:
    """Run the scenario file ``path`` with ``params`` as dotted-key
    overrides; its figures: simulated time (``now_ns``), context switches,
    CPU ``busy_ns`` / ``idle_ns`` / ``overhead_ns`` summed over CPUs,
    ``utilization`` (busy / (busy + idle + overhead)), and the mean wait,
    response and turnaround of the processes that have them
    (``mean_wait_ns``, ...). A kernel with memory adds the figures of
    :func:`pykernel.report.memory_figures` (page faults, TLB, swap)."""
    from .report import memory_figures
    from .scenario import load
    sc = load(path, params)
    k, procs = sc.build()
    k.run(until=sc.until if until is None else until, progress=False)
    st = k.stats
    total = st.busy + st.idle + st.overhead
    out = {"now_ns": st.now, "context_switches": st.context_switches, "busy_ns": st.busy,
           "idle_ns": st.idle, "overhead_ns": st.overhead,
           "utilization": st.busy / total if total else 0.0}
    stats = [p.stats for p in procs]
    for name in ("wait", "response", "turnaround"):
        vals = [getattr(s, name) for s in stats if getattr(s, name) is not None]
        out[f"mean_{name}_ns"] = sum(vals) / len(vals) if vals else None
    mem = memory_figures(k)
    if mem is not None:
        out.update((name, mem[name]) for name in MEMORY_COLUMNS)
    return out


MEMORY_COLUMNS = ("page_faults", "minor_faults", "major_faults", "tlb_hits", "tlb_misses",
                  "tlb_hit_rate", "swap_ins", "swap_outs", "evictions", "oom_kills")


class _Failed:
    """A point whose run raised: the exception's class name and message
    (plain strings, so that any failure crosses a process boundary)."""

    __slots__ = ("error", "message")

    def __init__(self, error: str, message: str):
        self.error, self.message = error, message

    def __reduce__(self):
        return (_Failed, (self.error, self.message))


def _call(run, point: dict):
    """Run one point; a non-dict result becomes {"result": value}; an
    exception becomes a _Failed (the other points go on)."""
    try:
        if isinstance(run, (str, os.PathLike)):
            value = scenario_run(str(run), **point)
        else:
            value = run(**point)
    except Exception as exc:  # noqa: BLE001 - recorded as the point's failure
        return _Failed(type(exc).__name__, str(exc))
    return value if isinstance(value, dict) else {"result": value}


def _worker_init() -> None:
    """A worker of sweep's own pool ignores SIGINT: Ctrl-C reaches the
    whole process group, and the sweep itself stops the workers."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool at once: cancel the points not started and terminate
    the workers running the others (a shutdown would wait for them)."""
    workers = dict(getattr(pool, "_processes", None) or {})  # no public API before 3.14
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in workers.values():
        if proc.is_alive():
            proc.terminate()
    for proc in workers.values():
        proc.join(5)


class _SweepProgress:
    """The progress line of a sweep on stderr: points done / total,
    elapsed time and an estimate of the time left (from the mean time
    per point so far)."""

    def __init__(self, total: int, enabled: bool | None):
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.t0 = time.perf_counter()
        self.shown = False

    def update(self, done: int, failed: int) -> None:
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / done * (self.total - done) if done else None
        bar = "#" * (20 * done // max(1, self.total))
        sys.stderr.write(f"\r[{bar:<20}] {done}/{self.total} points"
                         + (f" ({failed} failed)" if failed else "")
                         + f"  elapsed {elapsed:,.1f} s"
                         + (f"  about {left:,.1f} s left  " if left is not None else "  "))
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Serial(Executor):
    """Runs each call at once in this process."""

    def submit(self, fn, *args, **kwargs):
        from concurrent.futures import Future
        f = Future()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            f.set_exception(exc)
        return f


@dataclass
class SweepResult:
    """The rows of a sweep, one per point in grid order: the point's
    parameters and its results in one dict. ``db``: the SQLite file they
    were written to (table ``table``, one row per point, each naming its
    run in ``run_id``: the row of table ``runs`` that describes this
    sweep), or None.

    ``failed``: the points whose run raised, in grid order, each a dict
    ``{"point": index, "params": {...}, "error": class name, "message":
    text}``; their rows hold the parameters and ``"error"`` (the class
    name and message), and no results."""

    rows: list
    db: str | None = None
    table: str = "points"
    run_id: int | None = None
    failed: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def column(self, name: str) -> list:
        """One column (a parameter or a result) over the rows."""
        return [row.get(name) for row in self.rows]

    def columns(self):
        """The rows as a :class:`~pykernel.tables.Table`: one column per
        parameter and result, in order of first appearance (None where a
        row has no value)."""
        from .tables import Table
        names = list(dict.fromkeys(k for row in self.rows for k in row))
        return Table({n: self.column(n) for n in names}, "sweep")

    def to_pandas(self):
        """The rows as a pandas DataFrame (pandas must be installed)."""
        from .tables import to_pandas
        return to_pandas(self.columns(), "SweepResult.to_pandas")

    def to_dataframe(self):
        """Deprecated: :meth:`to_pandas`."""
        from .tables import deprecated_to_dataframe
        return deprecated_to_dataframe(self, "SweepResult")

    def _repr_html_(self) -> str:
        return self.columns()._repr_html_()


def _sql_value(v):
    if v is None or isinstance(v, (int, float, str)) and not isinstance(v, bool):
        return v
    if isinstance(v, bool):
        return int(v)
    return json.dumps(v, default=str)


def sql_name(key: str) -> str:
    """The SQL column of a row key: every character that is not a letter,
    digit or underscore becomes "_" ("scheduler.name" -> scheduler_name),
    and a leading digit gets a "_" before it."""
    name = re.sub(r"\W", "_", key, flags=re.ASCII)
    return f"_{name}" if not name or name[0].isdigit() else name


def sql_type(values) -> str:
    """The SQLite type of a column: INTEGER if every value is an int (or
    bool), REAL if they are numbers with a float among them, TEXT
    otherwise (strings, and JSON text for lists and dicts); None values
    do not count."""
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, (int, bool)) for v in vals):
        return "INTEGER"
    if vals and all(isinstance(v, (int, float)) for v in vals):
        return "REAL"
    return "TEXT"


RUNS_SCHEMA = """CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,
    pykernel_version TEXT NOT NULL,
    scenario_path TEXT,
    scenario TEXT,
    function TEXT,
    grid TEXT NOT NULL,
    seed INTEGER,
    points INTEGER NOT NULL
)"""


def write_db(rows: list[dict], path: str, table: str = "points", run: dict | None = None,
             replace: bool = False) -> int:
    """Append rows to the SQLite file ``path`` and return their run id.

    Table ``runs`` gets one row describing the sweep (``run``: a dict of
    its columns, see :data:`RUNS_SCHEMA`: start time, pykernel version,
    scenario path and text or the function, the grid as JSON, the seed);
    table ``table`` one row per point: ``run_id`` (the run it belongs to,
    a foreign key), ``point`` (its index in grid order), then one typed
    column per key (:func:`sql_name`, :func:`sql_type`); columns a new
    sweep brings are added. ``replace``: drop both tables first."""
    if not table.isidentifier() or table == "runs":
        raise ValueError(f"table must be an identifier other than 'runs', got {table!r}")
    keys = list(dict.fromkeys(k for row in rows for k in row))
    names = {}
    for k in keys:
        n = sql_name(k)
        if n in ("run_id", "point") or n in names.values():
            raise ValueError(f"column {k!r} would be stored as {n!r}, which another column "
                             "already uses")
        names[k] = n
    run = dict(run or {})
    run.setdefault("started", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    run.setdefault("pykernel_version", _version())
    run.setdefault("grid", "[]")
    run["points"] = len(rows)
    with sqlite3.connect(path) as con:
        if replace:
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
            con.execute("DROP TABLE IF EXISTS runs")
        con.execute(RUNS_SCHEMA)
        cols = ", ".join(run)
        cur = con.execute(f"INSERT INTO runs ({cols}) VALUES ({', '.join('?' * len(run))})",
                          [_sql_value(v) for v in run.values()])
        run_id = cur.lastrowid
        types = {k: sql_type(row.get(k) for row in rows) for k in keys}
        defs = ", ".join(f'"{names[k]}" {types[k]}' for k in keys)
        con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (run_id INTEGER NOT NULL '
                    f'REFERENCES runs(run_id), point INTEGER NOT NULL'
                    f'{", " + defs if defs else ""}, PRIMARY KEY (run_id, point))')
        have = {r[1] for r in con.execute(f'PRAGMA table_info("{table}")')}
        for k in keys:
            if names[k] not in have:
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{names[k]}" {types[k]}')
        cols = ", ".join(["run_id", "point", *(f'"{names[k]}"' for k in keys)])
        marks = ", ".join("?" * (len(keys) + 2))
        con.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})',
                        [[run_id, i, *(_sql_value(row.get(k)) for k in keys)]
                         for i, row in enumerate(rows)])
    return run_id


def _version() -> str:
    from . import __version__
    return __version__


def _run_record(run, grid, table: str) -> dict:
    """The row of table ``runs`` describing a sweep of ``run`` over
    ``grid`` (whose points go to table ``table``), made as it starts."""
    if not table.isidentifier() or table == "runs":
        raise ValueError(f"table must be an identifier other than 'runs', got {table!r}")
    rec = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
           "grid": json.dumps(grid, default=str)}
    if isinstance(run, (str, os.PathLike)):
        from .scenario import load
        rec["scenario_path"] = str(run)
        rec["scenario"] = Path(run).read_text(encoding="utf-8")
        seed = load(run).data.get("machine", {}).get("seed", 0)
        rec["seed"] = seed if isinstance(seed, int) else None
    else:
        rec["function"] = f"{getattr(run, '__module__', '?')}.{getattr(run, '__qualname__', run)}"
    return rec


def sweep(run: Callable[..., Any] | str | os.PathLike, grid, executor: Executor | str | None = None,
          db: str | os.PathLike | bool | None = None, table: str = "points",
          workers: int | None = None, replace: bool = False,
          progress: bool | None = None) -> SweepResult:
    """Run ``run`` at every point of ``grid`` and gather the results.

    ``run``: a function called as ``run(**point)`` returning a dict (or a
    value, stored as "result"), or a scenario file's path (see
    :func:`scenario_run`). ``grid``: see :func:`grid_points`.
    ``executor``: any ``concurrent.futures.Executor`` (a Dask
    distributed client's ``client.get_executor()`` included), "serial"
    (in this process), or None: a local process pool of ``workers``
    processes (default: the CPU count) made and shut down here.
    ``db``: the SQLite file to append to (default "sweep.sqlite" in the
    current directory; False: none): one row in table ``runs`` for the
    sweep and one per point in table ``table`` (:func:`write_db`);
    ``replace=True`` empties both first.
    ``progress``: a line on stderr with the points done, the elapsed
    time and an estimate of the time left (default: only when stderr is
    a terminal).
    A point whose run raises does not stop the others: it is recorded in
    ``failed`` with its message (see :class:`SweepResult`).
    Returns a :class:`SweepResult` (``to_pandas()`` for pandas)."""
    if not callable(run) and not isinstance(run, (str, os.PathLike)):
        raise TypeError(f"run must be a function or a scenario path, not {type(run).__name__}")
    if isinstance(run, (str, os.PathLike)) and not Path(run).exists():
        raise FileNotFoundError(f"no scenario file {str(run)!r}")
    points = grid_points(grid)
    record = None if db is False else _run_record(run, grid, table)
    own = None
    if executor is None:
        n = workers or os.cpu_count() or 1
        executor = own = ProcessPoolExecutor(max_workers=max(1, min(n, len(points) or 1)),
                                             initializer=_worker_init)
    elif executor == "serial":
        executor = _Serial()
    elif not isinstance(executor, Executor):
        raise TypeError(f'executor must be a concurrent.futures.Executor, "serial" or None, '
                        f"not {type(executor).__name__}")
    bar = _SweepProgress(len(points), progress)
    serial = isinstance(executor, _Serial)
    outcomes: list = [None] * len(points)
    try:
        futures = {}
        failed = 0
        for i, p in enumerate(points):
            f = executor.submit(_call, run, p)
            futures[f] = i
            if serial:                           # done at once: show it now
                failed += isinstance(f.result(), _Failed)
                bar.update(i + 1, failed)
        if not serial:
            bar.update(0, 0)                     # every point is submitted
        order = (as_completed(futures) if all(isinstance(f, Future) for f in futures)
                 else list(futures))
        done = failed = 0
        for f in order:
            i = futures[f]
            try:
                outcomes[i] = f.result()
            except Exception as exc:  # noqa: BLE001 - the executor failed this point
                outcomes[i] = _Failed(type(exc).__name__, str(exc))
            done += 1
            failed += isinstance(outcomes[i], _Failed)
            if not serial:
                bar.update(done, failed)
    except BaseException:                      # Ctrl-C: stop the pool's workers now
        if own is not None:
            _stop(own)
            own = None
        raise
    finally:
        bar.close()
        if own is not None:
            own.shutdown()
    rows, failures = [], []
    for i, (p, out) in enumerate(zip(points, outcomes)):
        if isinstance(out, _Failed):
            failures.append({"point": i, "params": dict(p), "error": out.error,
                             "message": out.message})
            rows.append({**p, "error": f"{out.error}: {out.message}"})
        else:
            rows.append({**p, **out})
    path = run_id = None
    if db is not False:
        path = str(DEFAULT_DB if db is None or db is True else db)
        run_id = write_db(rows, path, table, record, replace)
    return SweepResult(rows, path, table, run_id, failures)
