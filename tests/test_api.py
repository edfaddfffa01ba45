"""The public surface: views, ProcessGroup, statistics objects, reprs and
documentation (DESIGN.md "The public API (contract)": "document every
public name")."""

import inspect

import pytest

import pykernel as pk
from conftest import cpu_bound

S = pk.op


# ---- documentation ---------------------------------------------------------------

PUBLIC = [n for n in pk.__all__ if n != "__version__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_every_public_name_has_a_docstring(name):
    obj = getattr(pk, name)
    assert inspect.getdoc(obj), name
    if inspect.isclass(obj):
        assert obj.__doc__, f"{name} inherits its docstring"


@pytest.mark.parametrize("module", [pk.op, pk.sched], ids=["op", "sched"])
def test_every_name_of_op_and_sched_has_a_docstring(module):
    undocumented = [n for n in module.__all__ if not getattr(module, n).__doc__]
    assert undocumented == []


@pytest.mark.parametrize("cls", [pk.Kernel, pk.Program, pk.Process, pk.Thread, pk.Context,
                                 pk.ProcessGroup, pk.Costs, pk.Stats, pk.Registers,
                                 pk.RunResult, pk.KernelStats, pk.CpuStats],
                         ids=lambda c: c.__name__)
def test_public_methods_and_properties_have_docstrings(cls):
    undocumented = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (classmethod, staticmethod)):
            member = member.__func__
        if isinstance(member, property) or inspect.isfunction(member):
            if not member.__doc__:
                undocumented.append(name)
    assert undocumented == []


def test_version_is_a_string():
    assert isinstance(pk.__version__, str)
    assert pk.__version__.count(".") >= 1


def test_all_names_exist():
    for name in pk.__all__:
        assert hasattr(pk, name), name


# ---- programs and ops ----------------------------------------------------------------

def test_program_burst_multiplies_loops():
    prog = pk.Program.script("p", [S.compute(1), S.loop(3, [S.compute(2), S.loop(2, [S.compute(1)])]),
                                   S.io(100)])
    assert prog.burst == 1 + 3 * (2 + 2 * 1)
    assert prog.kind == "script"


def test_program_instructions_count_loop_markers():
    # A loop compiles to LOOP + body + ENDLOOP (csrc/core/pk_api.h).
    prog = pk.Program.script("p", [S.loop(3, [S.compute(2), S.io(1)])])
    assert prog.instructions == 4
    assert pk.Program.script("e", []).instructions == 0


def test_python_program_has_no_burst_or_instructions():
    def body(ctx):
        yield ctx.compute(1)

    prog = pk.Program.python("py", body)
    assert prog.burst is None
    assert prog.instructions == 0
    assert prog.kind == "python"
    assert prog.fn is body


def test_ops_are_immutable_values():
    assert S.compute(5) == S.compute(5)
    assert S.compute(5) != S.io(5)
    assert hash(S.loop(2, [S.yield_()])) == hash(S.loop(2, (S.yield_(),)))
    with pytest.raises(AttributeError):
        S.compute(5).name = "io"


def test_op_reprs():
    assert repr(S.compute(5)) == "compute(5)"
    assert repr(S.yield_()) == "yield_()"
    assert repr(S.loop(2, [S.compute(1), S.exit(3)])) == "loop(2, [compute(1), exit(3)])"


def test_program_reprs():
    def body(ctx):
        yield ctx.compute(1)

    assert repr(pk.Program.script("cpu", [S.compute(24)])) == "Program.script('cpu', 1 instructions)"
    assert "body" in repr(pk.Program.python("py", body))


def test_one_program_runs_in_two_kernels(zero_kernel):
    prog = cpu_bound(7)
    k1, k2 = zero_kernel(), zero_kernel(pk.sched.RoundRobin(quantum=2))
    p1, p2 = k1.spawn(prog), k2.spawn(prog)
    k1.run()
    k2.run()
    assert p1.stats.finish == p2.stats.finish == 7
    assert p1.program is prog and p2.program is prog


# ---- policies --------------------------------------------------------------------

def test_policy_equality_and_repr():
    assert pk.sched.RoundRobin(4) == pk.sched.RoundRobin(quantum=4)
    assert pk.sched.RoundRobin(4) != pk.sched.RoundRobin(5)
    assert pk.sched.FIFO() == pk.sched.FIFO()
    assert pk.sched.FIFO() != pk.sched.SJF()
    assert pk.sched.Priority(preemptive=True) != pk.sched.Priority()
    assert hash(pk.sched.RoundRobin(4)) == hash(pk.sched.RoundRobin(4))
    assert repr(pk.sched.RoundRobin(quantum=4)) == "RoundRobin(quantum=4)"
    assert repr(pk.sched.Priority(preemptive=True)) == "Priority(preemptive=True)"
    assert repr(pk.sched.STCF()) == "STCF()"


def test_default_policy_is_cfs_with_linux_defaults():
    # DESIGN.md and the Kernel docstring: default CFS(), with Linux's tunables
    # (6 ms, 0.75 ms, 1 ms, log scaling) and a run queue per CPU.
    k = pk.Kernel()
    assert k.scheduler == pk.sched.CFS(latency=6_000_000, min_granularity=750_000,
                                       wakeup_granularity=1_000_000, scale="log")
    assert k.runqueues == "per-cpu"


def test_costs_are_frozen():
    with pytest.raises(Exception):
        pk.Costs().switch = 1


# ---- processes and threads ---------------------------------------------------------

def test_process_before_run(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(5), name="P1", at=3)
    assert (p.pid, p.name, p.state, p.exit_code, p.kill_reason, p.error) == (0, "P1", "new", None,
                                                                             None, None)
    s = p.stats
    assert (s.arrival, s.first_run, s.finish, s.cpu_time, s.wait, s.blocked) == (3, None, None, 0, 0, 0)
    assert (s.response, s.turnaround) == (None, None)
    (t,) = p.threads
    assert (t.tid, t.state, t.cpu) == (0, "new", None)
    assert t.process == p


def test_process_states_through_a_run(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(5), at=3)
    k.run(until=4)
    assert p.state == "alive"
    assert p.threads[0].state == "running"
    assert p.threads[0].cpu == 0
    k.run()
    assert p.state == "exited"
    assert p.threads[0].state == "exited"


def test_default_process_name_is_program_dash_pid(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1, name="cpu"), name="first")
    p = k.spawn(cpu_bound(1, name="cpu"))
    assert p.name == "cpu-1"


def test_pids_and_tids_are_consecutive(zero_kernel):
    k = zero_kernel()
    procs = [k.spawn(cpu_bound(1)) for _ in range(3)]
    assert [p.pid for p in procs] == [0, 1, 2]
    assert [p.threads[0].tid for p in procs] == [0, 1, 2]


def test_views_compare_by_kernel_and_id(zero_kernel):
    k, other = zero_kernel(), zero_kernel()
    p = k.spawn(cpu_bound(1))
    q = other.spawn(cpu_bound(1))
    assert k.process(0) == p
    assert hash(k.process(0)) == hash(p)
    assert p != q                                    # same pid, other kernel
    assert p.threads[0] == k.process(0).threads[0]
    assert len({p, k.process(0)}) == 1


def test_view_reprs(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(1), name="P1")
    assert repr(p) == "<Process pid=0 'P1' new>"
    assert repr(p.threads[0]) == "<Thread tid=0 new>"
    k.run()
    assert repr(p) == "<Process pid=0 'P1' exited>"
    assert repr(k) == "<Kernel cpus=1 scheduler=FIFO() now=1 ns>"


def test_thread_stats_match_process_stats_for_one_thread(zero_kernel):
    k = zero_kernel(pk.sched.RoundRobin(quantum=2))
    procs = [k.spawn(cpu_bound(5)) for _ in range(3)]
    k.run()
    for p in procs:
        assert p.stats == p.threads[0].stats


# ---- ProcessGroup ------------------------------------------------------------------

def test_spawn_many_group_is_a_sequence(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1))
    group = k.spawn_many(cpu_bound(2, name="w"), 4)
    assert len(group) == 4
    assert [p.pid for p in group] == [1, 2, 3, 4]
    assert group[0].pid == 1
    assert group[-1].pid == 4
    assert [p.pid for p in group[1:3]] == [2, 3]
    assert [p.pid for p in group[::2]] == [1, 3]
    assert group[0].name == "w-1"
    with pytest.raises(IndexError):
        group[4]
    assert repr(group) == "<ProcessGroup pids 1..4>"


def test_group_table_columns(zero_kernel):
    # FIFO, four compute(2) at 0: finish 2, 4, 6, 8; waits 0, 2, 4, 6.
    k = zero_kernel()
    group = k.spawn_many(cpu_bound(2), 4)
    before = group.table()
    assert before["state"] == ["new"] * 4
    assert before["first_run_ns"] == [None] * 4
    k.run()
    t = group.table()
    assert list(t) == ["pid", "name", "state", "exit_code", "arrival_ns", "first_run_ns",
                       "finish_ns", "cpu_time_ns", "wait_ns", "blocked_ns", "response_ns",
                       "turnaround_ns", "voluntary_switches", "involuntary_switches", "migrations"]
    assert t["name"] == ["cpu-0", "cpu-1", "cpu-2", "cpu-3"]
    assert t["pid"] == [0, 1, 2, 3]
    assert t["state"] == ["exited"] * 4
    assert t["exit_code"] == [0] * 4
    assert t["finish_ns"] == [2, 4, 6, 8]
    assert t["wait_ns"] == [0, 2, 4, 6]
    assert t["turnaround_ns"] == [2, 4, 6, 8]
    assert group.mean("wait_ns") == 3
    assert group.mean("turnaround") == 5


def test_group_table_agrees_with_process_views(zero_kernel):
    k = zero_kernel(pk.sched.RoundRobin(quantum=3))
    group = k.spawn_many(pk.Program.script("m", [S.compute(4), S.io(2), S.compute(3)]), 3)
    k.run()
    t = group.table()
    for i, p in enumerate(group):
        s = p.stats
        assert (t["cpu_time_ns"][i], t["wait_ns"][i], t["blocked_ns"][i], t["finish_ns"][i]) == (
            s.cpu_time, s.wait, s.blocked, s.finish)


def test_group_mean_without_values_is_value_error(zero_kernel):
    k = zero_kernel()
    group = k.spawn_many(cpu_bound(2), 2)
    with pytest.raises(ValueError):
        group.mean("finish")


def test_kernel_processes_lists_everything(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1))
    k.spawn_many(cpu_bound(1), 2)
    assert len(k.processes) == 3
    assert [p.pid for p in k.processes] == [0, 1, 2]


# ---- run results and statistics ------------------------------------------------------

def test_run_result_fields(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    r1 = k.run(until=4)
    assert (r1.reason, r1.start, r1.now, r1.elapsed, r1.switches) == ("until", 0, 4, 4, 1)
    r2 = k.run()
    assert (r2.reason, r2.start, r2.now, r2.elapsed, r2.switches) == ("idle", 4, 10, 6, 0)
    assert r1.steps + r2.steps == k.stats.steps
    assert r2.wall >= 0
    assert r2.switches_per_second >= 0


def test_run_until_sets_now_exactly(zero_kernel):
    # Kernel.run: until is exclusive; the kernel stops at exactly until.
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    k.run(until=7)
    assert k.now == 7
    assert k.processes[0].stats.cpu_time == 7


def test_kernel_stats_counters(zero_kernel):
    # FIFO, two compute(5) then [io(3)]: 0-5, 5-10, io 10-13, and the io
    # thread is dispatched again at 13 to exit: 4 switches; 3 arrivals + 1
    # wake-up = 4 events.
    k = zero_kernel()
    k.spawn(cpu_bound(5))
    k.spawn(cpu_bound(5))
    k.spawn(pk.Program.script("io", [S.io(3)]))
    s0 = k.stats
    assert (s0.now, s0.threads, s0.processes, s0.live_threads, s0.pending_events) == (0, 3, 3, 3, 3)
    k.run()
    s = k.stats
    assert (s.now, s.threads, s.processes, s.live_threads, s.ready, s.pending_events) == (
        13, 3, 3, 0, 0, 0)
    assert s.events == 4
    assert s.context_switches == 4
    assert s.memory_bytes > 0
    assert len(s.cpus) == 1
    assert s.cpus[0] == k.cpu_stats(0)


def test_cpu_stats_utilization(zero_kernel):
    k = zero_kernel()
    assert k.cpu_stats(0).utilization == 0.0        # time 0
    k.spawn(pk.Program.script("half", [S.compute(5), S.sleep(5)]))
    k.run()
    c = k.cpu_stats(0)
    assert (c.busy, c.idle) == (5, 5)
    assert c.utilization == 0.5
    assert c.running is None


def test_stats_are_frozen_dataclasses(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(1))
    with pytest.raises(Exception):
        p.stats.wait = 5
    with pytest.raises(Exception):
        k.stats.now = 5
