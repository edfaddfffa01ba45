"""Tables (docs/observability.md, "Tables and DataFrames"): every tabular result is a
pk.tables.Table, a dict of equal-length column lists whose time columns
carry their unit (``_ns``), with ``to_pandas()`` and an HTML view.

The figures are the textbook ones of FIFO on one CPU with free switches
(OSTEP ch. 7: a job waits for the ones before it) and of a periodic task
(Liu & Layland 1973: job j released at j*T, deadline (j+1)*T)."""

import sys

import pytest

import pykernel as pk
from pykernel.tables import Table

op = pk.op


def fifo_three():
    # FIFO, free switches: A (10), B (20), C (5) arrive at 0; they run
    # back to back, so B waits 10 and C waits 30 (OSTEP ch. 7, FIFO)
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    for name, burst in (("A", 10), ("B", 20), ("C", 5)):
        k.spawn(pk.Program.script("job", [op.compute(burst)]), name=name)
    k.run()
    return k


def test_process_table_names_each_process_and_puts_units_in_column_names():
    t = fifo_three().table("processes")
    assert isinstance(t, Table)
    assert list(t) == ["pid", "name", "state", "exit_code", "arrival_ns", "first_run_ns",
                       "finish_ns", "cpu_time_ns", "wait_ns", "blocked_ns", "response_ns",
                       "turnaround_ns", "voluntary_switches", "involuntary_switches",
                       "migrations"]
    assert t["name"] == ["A", "B", "C"]
    assert t["wait_ns"] == [0, 10, 30]
    assert t["turnaround_ns"] == [10, 30, 35]


def test_unnamed_processes_are_named_after_their_program_and_pid():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("w", [op.compute(1)]), 2)
    assert k.processes.table()["name"] == ["w-0", "w-1"]


def test_rows_are_the_same_data_one_dict_per_row():
    t = fifo_three().table()
    assert t.nrows == 3
    assert {k: t.rows()[1][k] for k in ("pid", "name", "wait_ns")} == {
        "pid": 1, "name": "B", "wait_ns": 10}


def test_thread_table_has_one_row_per_thread():
    # FIFO: main computes 10 and ends its thread; the thread it spawned at
    # 0 waits for it, then computes 20
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("main", [op.spawn_thread([op.compute(20)]), op.compute(10),
                                       op.thread_exit()]), name="main")
    k.run()
    t = k.table("threads")
    assert t["tid"] == [0, 1] and t["process"] == ["main", "main"]
    assert t["cpu_time_ns"] == [10, 20]
    assert t["wait_ns"] == [0, 10]
    assert t["finish_ns"] == [10, 30]


def test_cpu_table_has_busy_idle_and_overhead_in_ns():
    # two CPUs, one job of 10: CPU 0 busy 10, CPU 1 idle 10
    k = pk.Kernel(cpus=2, scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("j", [op.compute(10)]))
    k.run()
    t = k.table("cpus")
    assert t["cpu"] == [0, 1]
    assert t["busy_ns"] == [10, 0] and t["idle_ns"] == [0, 10] and t["overhead_ns"] == [0, 0]
    assert t["utilization"] == [1.0, 0.0]


def test_job_table_of_a_periodic_task():
    # period 10, wcet 3, three jobs alone on a CPU: released 0, 10, 20,
    # finished 3, 13, 23, deadlines 10, 20, 30 (implicit deadlines)
    k = pk.Kernel(scheduler=pk.sched.EDF(), costs=pk.Costs.zero())
    k.spawn(pk.Program.periodic("rt", period=10, wcet=3, jobs=3))
    k.run()
    t = k.table("jobs")
    assert t["index"] == [0, 1, 2]
    assert t["release_ns"] == [0, 10, 20] and t["finish_ns"] == [3, 13, 23]
    assert t["deadline_ns"] == [10, 20, 30]
    assert t["response_ns"] == [3, 3, 3] and t["lateness_ns"] == [-7, -7, -7]
    assert t["missed"] == [False, False, False]


def test_memory_kernels_add_faults_and_tlb_columns():
    # one process maps 8 pages and touches 3 of them: 3 first-touch faults
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(), memory=pk.Memory())
    base = 0x4000_0000
    k.spawn(pk.Program.script("m", [op.map(base, 8 * 4096), op.touch_range(base, 3 * 4096)]))
    k.run()
    assert k.table("processes")["page_faults"] == [3]
    assert k.table("processes")["major_faults"] == [0]
    cpus = k.table("cpus")
    assert cpus["tlb_misses"] == [k.tlb_stats(0).misses]
    assert "page_faults" not in fifo_three().table("processes")


def test_unknown_table_is_a_value_error():
    with pytest.raises(ValueError, match="'processes', 'threads', 'cpus', 'jobs'"):
        fifo_three().table("disks")


def test_group_mean_takes_a_column_with_or_without_its_unit():
    ps = fifo_three().processes
    assert ps.mean("wait_ns") == ps.mean("wait") == 40 / 3
    with pytest.raises(ValueError, match="no column 'colour'"):
        ps.mean("colour")


def test_trace_columns_name_the_time_unit():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero(), trace=True)
    k.spawn(pk.Program.script("a", [op.compute(10)]))
    k.run()
    cols = k.trace.columns()
    assert list(cols) == ["time_ns", "kind", "cpu", "tid", "what", "arg", "obj"]
    assert cols["time_ns"] == [e.time for e in k.trace]


def test_to_pandas_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    k = fifo_three()
    for call in (k.processes.to_pandas, lambda: k.to_pandas("cpus"),
                 lambda: pk.sweep(lambda x: x, {"x": [1]}, executor="serial",
                                  db=False).to_pandas()):
        with pytest.raises(ImportError, match=r"pykernel-sim\[dataframe\]"):
            call()


def test_to_pandas_gives_the_same_columns():
    pd = pytest.importorskip("pandas")
    k = fifo_three()
    df = k.to_pandas("processes")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == list(k.table("processes"))
    assert list(df["wait_ns"]) == [0, 10, 30]


def test_tables_show_as_html_in_jupyter():
    # IPython's rich display calls _repr_html_ (IPython docs, "Rich display")
    k = fifo_three()
    page = k.processes._repr_html_()
    assert page.startswith('<table class="pk-table">')
    assert "<th>wait_ns</th>" in page and "<td style=\"text-align:left\">B</td>" in page
    assert page.count("<tr>") == 1 + 3                       # the heading and three rows


def test_long_tables_show_their_first_rows_in_jupyter():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn_many(pk.Program.script("w", [op.compute(1)]), 60)
    page = k.processes._repr_html_()
    assert page.count("<tr>") == 1 + 50 and "... 10 more rows" in page


def test_kernel_and_run_result_show_as_html():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("job", [op.compute(10)]), name="A")
    r = k.run()
    page = k._repr_html_()
    assert "FIFO" in page and "<th>busy_ns</th>" in page and ">A</td>" in page
    run = r._repr_html_()
    assert "<td style=\"text-align:left\">idle</td>" in run


def test_escaped_names_in_html():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    k.spawn(pk.Program.script("job", [op.compute(1)]), name="<b>&")
    assert "&lt;b&gt;&amp;" in k.processes._repr_html_()
    assert "<b>&" not in k.processes._repr_html_()


def test_columns_of_unequal_length_are_refused():
    with pytest.raises(ValueError, match="same length"):
        Table({"a": [1, 2], "b": [1]})


def test_sweep_result_shows_as_html():
    res = pk.sweep(lambda x: 2 * x, {"x": [1, 2]}, executor="serial", db=False)
    page = res._repr_html_()
    assert "<th>x</th>" in page and "<th>result</th>" in page and page.count("<tr>") == 3
