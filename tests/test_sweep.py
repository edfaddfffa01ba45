"""Sweeps (docs/tools.md, "Sweeps"): the same results serially, on a
process pool and on a Dask distributed LocalCluster."""

import sqlite3
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import pykernel as pk
from pykernel.sweeps import grid_points, scenario_run

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "examples" / "demo.toml")
GRID = {"scheduler.name": ["FIFO", "RoundRobin", "CFS"], "machine.cpus": [1, 2]}


def square(x, y=0):
    return x * x + y


def test_grid_points_are_the_product_with_the_last_name_fastest():
    assert grid_points({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert grid_points([{"a": 1}, {"a": 5}]) == [{"a": 1}, {"a": 5}]


def test_bad_grid_and_executor_are_type_errors():
    with pytest.raises(TypeError, match="list of values"):
        pk.sweep(square, {"x": 3}, executor="serial", db=False)
    with pytest.raises(TypeError, match="concurrent.futures.Executor"):
        pk.sweep(square, {"x": [3]}, executor=4, db=False)
    with pytest.raises(FileNotFoundError, match="no scenario file"):
        pk.sweep("missing.toml", {"x": [3]}, executor="serial", db=False)


def test_function_results_come_back_in_grid_order():
    res = pk.sweep(square, {"x": [1, 2, 3], "y": [10]}, executor="serial", db=False)
    assert res.column("result") == [11, 14, 19] and res.db is None


def test_scenario_point_is_the_scenario_run_with_overrides():
    res = pk.sweep(DEMO, [{"machine.cpus": 2}], executor="serial", db=False)
    k, _ = pk.scenario.load(DEMO, {"machine.cpus": 2}).build()
    k.run()
    assert res.rows[0]["now_ns"] == k.now and res.rows[0]["machine.cpus"] == 2


def test_results_go_to_an_sqlite_table(tmp_path):
    db = tmp_path / "out.sqlite"
    res = pk.sweep(square, {"x": [1, 2]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT run_id, point, x, result FROM points").fetchall() == [
            (1, 0, 1, 1), (1, 1, 2, 4)]
    assert (res.table, res.run_id) == ("points", 1)


def test_sqlite_columns_are_typed_and_named_with_underscores(tmp_path):
    # SQLite column types (https://sqlite.org/datatype3.html): the declared
    # type gives the column its affinity; PRAGMA table_info reports it
    db = tmp_path / "out.sqlite"
    pk.sweep(DEMO, {"scheduler.name": ["FIFO"], "machine.cpus": [1]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        cols = {r[1]: r[2] for r in con.execute('PRAGMA table_info("points")')}
        name, cpus = con.execute("SELECT scheduler_name, machine_cpus FROM points").fetchone()
    assert (name, cpus) == ("FIFO", 1)
    assert {c: cols[c] for c in ("run_id", "point", "scheduler_name", "machine_cpus", "now_ns",
                                 "mean_wait_ns")} == {
        "run_id": "INTEGER", "point": "INTEGER", "scheduler_name": "TEXT",
        "machine_cpus": "INTEGER", "now_ns": "INTEGER", "mean_wait_ns": "REAL"}


def test_runs_table_describes_each_sweep_and_points_reference_it(tmp_path):
    db = tmp_path / "out.sqlite"
    pk.sweep(DEMO, {"machine.cpus": [1, 2]}, executor="serial", db=db)
    pk.sweep(DEMO, {"machine.cpus": [4]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        runs = con.execute("SELECT run_id, pykernel_version, scenario, grid, seed, points, "
                           "started FROM runs").fetchall()
        points = con.execute("SELECT p.run_id, p.point, p.machine_cpus, r.grid FROM points p "
                             "JOIN runs r ON r.run_id = p.run_id").fetchall()
    text = Path(DEMO).read_text()
    assert [r[:6] for r in runs] == [
        (1, pk.__version__, text, '{"machine.cpus": [1, 2]}', 0, 2),
        (2, pk.__version__, text, '{"machine.cpus": [4]}', 0, 1)]
    assert all(r[6].endswith("+00:00") for r in runs)           # ISO 8601, UTC
    assert points == [(1, 0, 1, '{"machine.cpus": [1, 2]}'), (1, 1, 2, '{"machine.cpus": [1, 2]}'),
                      (2, 0, 4, '{"machine.cpus": [4]}')]


def test_replace_starts_the_file_over(tmp_path):
    db = tmp_path / "out.sqlite"
    pk.sweep(square, {"x": [1, 2]}, executor="serial", db=db)
    res = pk.sweep(square, {"x": [3]}, executor="serial", db=db, replace=True)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT run_id, point, x, result FROM points").fetchall() == [
            (1, 0, 3, 9)]
        assert con.execute("SELECT run_id, function FROM runs").fetchall() == [
            (1, "test_sweep.square")]
    assert res.run_id == 1


def test_a_later_sweep_adds_its_new_columns(tmp_path):
    db = tmp_path / "out.sqlite"
    pk.sweep(square, {"x": [1]}, executor="serial", db=db)
    pk.sweep(square, {"x": [2], "y": [10]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT run_id, x, y, result FROM points").fetchall() == [
            (1, 1, None, 1), (2, 2, 10, 14)]


def test_keys_that_collide_as_sql_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="a_b"):
        pk.sweep(lambda **kw: 0, [{"a.b": 1, "a_b": 2}], executor="serial",
                 db=tmp_path / "out.sqlite")
    with pytest.raises(ValueError, match="other than 'runs'"):
        pk.sweep(square, {"x": [1]}, executor="serial", db=tmp_path / "o.sqlite", table="runs")


def test_memory_scenarios_have_fault_columns():
    res = pk.sweep(str(ROOT / "examples" / "memory.toml"), [{}], executor="serial", db=False)
    k = pk.scenario.load(ROOT / "examples" / "memory.toml").run()
    row = res.rows[0]
    assert row["page_faults"] == sum(p.stats.page_faults for p in k.processes)
    assert row["tlb_misses"] == sum(k.tlb_stats(c).misses for c in range(k.cpus))
    assert {"major_faults", "swap_ins", "swap_outs", "evictions", "tlb_hit_rate"} <= set(row)


def test_scenarios_without_memory_have_no_fault_columns():
    res = pk.sweep(DEMO, [{}], executor="serial", db=False)
    assert "page_faults" not in res.rows[0]


def test_default_db_is_sweep_sqlite_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = pk.sweep(square, {"x": [2]}, executor="serial")
    assert res.db == "sweep.sqlite" and (tmp_path / "sweep.sqlite").exists()


def test_to_pandas_needs_pandas():
    res = pk.sweep(square, {"x": [2]}, executor="serial", db=False)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            res.to_pandas()
    else:
        assert list(res.to_pandas()["result"]) == [4]


def test_to_dataframe_is_a_deprecated_alias():
    res = pk.sweep(square, {"x": [2]}, executor="serial", db=False)
    with pytest.warns(DeprecationWarning, match=r"use SweepResult.to_pandas\(\)"):
        try:
            res.to_dataframe()
        except ImportError:
            pass


def test_sweep_columns_are_a_table():
    res = pk.sweep(square, {"x": [1, 2]}, executor="serial", db=False)
    assert res.columns() == {"x": [1, 2], "result": [1, 4]}


@pytest.fixture(scope="module")
def serial_rows():
    return pk.sweep(DEMO, GRID, executor="serial", db=False).rows


def test_process_pool_gives_the_serial_results(serial_rows):
    with ProcessPoolExecutor(max_workers=2) as ex:
        assert pk.sweep(DEMO, GRID, executor=ex, db=False).rows == serial_rows


def test_default_local_pool_gives_the_serial_results(serial_rows):
    assert pk.sweep(DEMO, GRID, db=False, workers=2).rows == serial_rows


def test_thread_pool_gives_the_serial_results(serial_rows):
    with ThreadPoolExecutor(max_workers=2) as ex:
        assert pk.sweep(DEMO, GRID, executor=ex, db=False).rows == serial_rows


def test_dask_local_cluster_gives_the_serial_results(serial_rows):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        rows = pk.sweep(DEMO, GRID, executor=client.get_executor(), db=False).rows
    assert rows == serial_rows


def test_cli_sweep_prints_a_table_and_writes_the_db(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pykernel", "sweep", DEMO, "--serial",
                        "--grid", "machine.cpus=1,2"], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["machine.cpus", "now_ns", "context_switches"]
    assert lines[-1] == "2 points; results in sweep.sqlite (table points, run_id 1)"
    assert (tmp_path / "sweep.sqlite").exists()
