"""A sweep of 64 independent runs (pk.sweep) on a local process pool of
2 workers against the same sweep run serially in this process. Each run
is ``pk.workloads.pipe(200_000)`` (400,000 switches, about 0.1 s).
Target: the pool takes close to half the serial time (ratio ~0.5 on a
2-core machine). Reported under the session summary; no assertion on
speed."""

from __future__ import annotations

import time

import pytest

import pykernel as pk

RUNS = 64


def pipe_point(seed: int) -> dict:
    """One sweep point: a simulated perf-bench pipe run."""
    r = pk.workloads.pipe(200_000)
    return {"us_per_op": r.figure, "switches": r.switches}


@pytest.mark.benchmark(group="sweeps")
def test_sweep_64_runs_pool_of_2_vs_serial(benchmark, request):
    grid = {"seed": list(range(RUNS))}
    t0 = time.perf_counter()
    serial = pk.sweep(pipe_point, grid, executor="serial", db=False)
    t_serial = time.perf_counter() - t0
    times = []

    def one_round():
        t = time.perf_counter()
        res = pk.sweep(pipe_point, grid, workers=2, db=False)
        times.append(time.perf_counter() - t)
        assert res.rows == serial.rows

    benchmark.pedantic(one_round, rounds=1, iterations=1)
    ratio = min(times) / t_serial
    benchmark.extra_info.update({"serial_s": t_serial, "pool2_s": min(times), "ratio": ratio})
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None:
        tr.write_line(f"\nsweep of {RUNS} runs: serial {t_serial:.2f} s, pool of 2 "
                      f"{min(times):.2f} s, ratio {ratio:.2f} (target close to 0.5)")
