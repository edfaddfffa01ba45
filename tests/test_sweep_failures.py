"""Sweeps whose points fail (docs/tools.md, "Sweeps"): a failing point is
recorded with its message and the others complete, on every executor;
the progress line (points done / total, elapsed, estimate)."""

import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pykernel as pk
from pykernel import cli

from cli_child import ENDLESS, read_until, start

ROOT = Path(__file__).resolve().parent.parent
DEMO = str(ROOT / "examples" / "demo.toml")


class Unpicklable(Exception):
    """An exception that cannot cross a process boundary."""

    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")
        self.lock = __import__("threading").Lock()


def fragile(x):
    if x == 2:
        raise RuntimeError("x = 2 is not allowed")
    return {"double": 2 * x}


def unpicklable(x):
    if x == 1:
        raise Unpicklable("one", x)
    return x


def test_a_failing_point_is_recorded_and_the_others_complete():
    res = pk.sweep(fragile, {"x": [1, 2, 3]}, executor="serial", db=False)
    assert res.column("double") == [2, None, 6]
    assert res.failed == [{"point": 1, "params": {"x": 2}, "error": "RuntimeError",
                           "message": "x = 2 is not allowed"}]
    assert res.rows[1] == {"x": 2, "error": "RuntimeError: x = 2 is not allowed"}


def test_a_scenario_error_on_the_default_pool_fails_only_its_point():
    # machine.cpus = 0 is refused by Kernel (1..256): the point fails with
    # the scenario's message, the point with 1 CPU runs
    res = pk.sweep(DEMO, {"machine.cpus": [1, 0]}, db=False, workers=2)
    assert [f["point"] for f in res.failed] == [1]
    assert res.failed[0]["error"] == "ScenarioError"
    assert "machine.cpus: Kernel cpus must be between 1 and 256, got 0" in res.failed[0]["message"]
    assert res.rows[0]["now_ns"] > 0


def test_an_exception_that_cannot_be_pickled_still_fails_only_its_point():
    res = pk.sweep(unpicklable, {"x": [0, 1, 2]}, db=False, workers=2)
    assert res.column("result") == [0, None, 2]
    assert res.failed[0]["error"] == "Unpicklable" and res.failed[0]["message"] == "one/1"


def test_a_thread_pool_records_failures_too():
    with ThreadPoolExecutor(2) as ex:
        res = pk.sweep(fragile, {"x": [2, 4]}, executor=ex, db=False)
    assert [f["point"] for f in res.failed] == [0] and res.rows[1]["double"] == 8


def test_a_failed_point_has_its_error_in_the_sqlite_table(tmp_path):
    db = tmp_path / "s.sqlite"
    pk.sweep(fragile, {"x": [2, 3]}, executor="serial", db=db)
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT point, x, double, error FROM points").fetchall() == [
            (0, 2, None, "RuntimeError: x = 2 is not allowed"), (1, 3, 6, None)]


def test_progress_shows_points_done_elapsed_and_an_estimate(capsys):
    pk.sweep(fragile, {"x": [1, 3]}, executor="serial", db=False, progress=True)
    err = capsys.readouterr().err
    assert "1/2 points" in err and "2/2 points" in err
    assert "elapsed" in err and "s left" in err


def test_no_progress_when_stderr_is_not_a_terminal(capsys):
    assert not sys.stderr.isatty()
    pk.sweep(fragile, {"x": [1, 3]}, executor="serial", db=False)
    assert capsys.readouterr().err == ""


def test_cli_sweep_lists_failed_points_and_exits_1(tmp_path, capsys):
    rc = cli.main(["sweep", DEMO, "--grid", "machine.cpus=1,0", "--serial",
                   "--db", str(tmp_path / "s.sqlite")])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "1 points, 1 failed" in out
    assert "point 1 (machine.cpus=0) failed: ScenarioError:" in err
    assert "Traceback" not in err


def test_ctrl_c_stops_a_sweep_and_its_workers_at_once(tmp_path):
    import os
    import signal
    import time
    scenario = tmp_path / "endless.toml"
    scenario.write_text(ENDLESS)
    p = start(["sweep", str(scenario), "--grid", "machine.cpus=1,2,3", "--workers", "2",
               "--progress", "--db", str(tmp_path / "s.sqlite")], cwd=tmp_path, new_session=True)
    try:
        read_until(p, "0/3 points")              # every point is submitted
        time.sleep(1.0)                          # the workers are past their start
        os.killpg(p.pid, signal.SIGINT)
        # communicate ends only when every holder of the pipes, the
        # workers included, has exited
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
    assert p.returncode == 130
    assert err.endswith("pykernel: interrupted\n") and "Traceback" not in err
