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
    assert res.rows[0]["now"] == k.now and res.rows[0]["machine.cpus"] == 2


def test_results_go_to_an_sqlite_table(tmp_path):
    db = tmp_path / "out.sqlite"
    pk.sweep(square, {"x": [1, 2]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT point, x, result FROM runs").fetchall() == [(0, 1, 1), (1, 2, 4)]


def test_default_db_is_sweep_sqlite_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = pk.sweep(square, {"x": [2]}, executor="serial")
    assert res.db == "sweep.sqlite" and (tmp_path / "sweep.sqlite").exists()


def test_to_dataframe_needs_pandas():
    res = pk.sweep(square, {"x": [2]}, executor="serial", db=False)
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="needs pandas"):
            res.to_dataframe()
    else:
        assert list(res.to_dataframe()["result"]) == [4]


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
    assert lines[0].split()[:3] == ["machine.cpus", "now", "context_switches"]
    assert lines[-1] == "2 runs; results in sweep.sqlite (table runs)"
    assert (tmp_path / "sweep.sqlite").exists()
