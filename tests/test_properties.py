"""Properties that hold for every workload (hypothesis).

Random scripts and Python bodies (compute / io / sleep / yield_ / loop,
optionally ending in exit), random arrival times, 1-4 CPUs, every policy,
random switch costs, runs split into random pieces with run(until=...).

Invariants checked (their sources):
  - nothing crashes, and a run to completion ends with reason "idle";
  - each CPU: busy + idle + overhead == now (CpuStats docstring);
  - each finished thread: cpu_time + wait + blocked == turnaround (Stats);
  - a process that exits by itself got exactly its script's total compute
    as cpu_time (op.compute: "resumes with exactly the remaining time"),
    and was blocked exactly its total io + sleep (op.io, op.sleep: each
    request takes its duration; devices never queue);
  - splitting a run into pieces changes nothing: same digest, same
    statistics (Kernel.run: until only stops the clock).
The expected totals are computed by walking the generated operations in
this file, not by pykernel.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pykernel as pk
from conftest import assert_cpu_time_conserved, assert_thread_time_conserved

S = pk.op
SETTINGS = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---- workload generation -----------------------------------------------------------

LEAF = st.one_of(
    st.builds(S.compute, st.integers(0, 20)),
    st.builds(S.io, st.integers(0, 20)),
    st.builds(S.sleep, st.integers(0, 20)),
    st.just(S.yield_()),
)


def op_strategy(depth):
    if depth == 0:
        return LEAF
    loop = st.builds(S.loop, st.integers(0, 3), st.lists(op_strategy(depth - 1), min_size=1, max_size=3))
    return st.one_of(LEAF, loop)


OPS = st.lists(op_strategy(2), max_size=6)

PROCESS = st.fixed_dictionaries({
    "ops": OPS,
    "exit": st.one_of(st.none(), st.integers(-5, 5)),
    "at": st.integers(0, 40),
    "priority": st.integers(0, 3),
    "python": st.booleans(),
})

POLICY = st.one_of(
    st.just(pk.sched.FIFO()),
    st.just(pk.sched.SJF()),
    st.just(pk.sched.STCF()),
    st.builds(pk.sched.RoundRobin, st.integers(1, 10)),
    st.builds(pk.sched.Priority, st.booleans()),
)

WORKLOAD = st.fixed_dictionaries({
    "procs": st.lists(PROCESS, min_size=1, max_size=6),
    "policy": POLICY,
    "cpus": st.integers(1, 4),
    "switch": st.integers(0, 5),
    "splits": st.lists(st.integers(0, 300), max_size=4).map(sorted),
})


def total(ops, name):
    """Total ns of operation ``name`` in ``ops``, loops multiplied."""
    s = 0
    for op in ops:
        if op.name == "loop":
            n, body = op.args
            s += n * total(body, name)
        elif op.name == name:
            s += op.args[0]
    return s


def interpret(ctx, ops):
    """Yield the operations of a script from a Python body."""
    for op in ops:
        if op.name == "loop":
            n, body = op.args
            for _ in range(n):
                yield from interpret(ctx, body)
        elif op.name == "compute":
            yield ctx.compute(op.args[0])
        elif op.name == "io":
            yield ctx.io(op.args[0])
        elif op.name == "sleep":
            yield ctx.sleep(op.args[0])
        elif op.name == "yield_":
            yield ctx.yield_()


def python_body(ctx, ops, code):
    yield from interpret(ctx, ops)
    if code is not None and code % 2:
        yield ctx.exit(code)        # odd codes: ctx.exit
    return code                     # even codes and None: return value


PY_PROGRAM = pk.Program.python("py", python_body)


def build(w):
    """A kernel with workload ``w`` spawned (nothing run yet)."""
    k = pk.Kernel(cpus=w["cpus"], scheduler=w["policy"], costs=pk.Costs(switch=w["switch"]))
    for i, spec in enumerate(w["procs"]):
        if spec["python"]:
            burst = total(spec["ops"], "compute") if w["policy"].needs_burst else None
            k.spawn(PY_PROGRAM, at=spec["at"], priority=spec["priority"], burst=burst,
                    args=(spec["ops"], spec["exit"]))
        else:
            ops = list(spec["ops"]) + ([S.exit(spec["exit"])] if spec["exit"] is not None else [])
            k.spawn(pk.Program.script(f"s{i}", ops), at=spec["at"], priority=spec["priority"])
    return k


def run_in_pieces(k, splits, check=None):
    """run(until=u) for each split not in the past, then run() to the end."""
    for u in splits:
        if u < k.now:
            continue
        r = k.run(until=u)
        if check:
            check(k)
        if r.reason == "idle":
            return r
        assert r.reason == "until"
        assert k.now == u
    return k.run()


def snapshot(k):
    s = k.stats
    return (k.digest(), k.now, k.processes.table(), s.context_switches, s.events, s.steps,
            s.live_threads, s.cpus)


# ---- properties ---------------------------------------------------------------------

@SETTINGS
@given(WORKLOAD)
def test_random_workloads_finish_and_conserve_time(w):
    k = build(w)
    r = run_in_pieces(k, w["splits"], check=assert_cpu_time_conserved)
    assert r.reason == "idle"
    assert k.stats.live_threads == 0
    assert_cpu_time_conserved(k)
    assert_thread_time_conserved(k.processes)
    for p, spec in zip(k.processes, w["procs"]):
        s = p.stats
        assert p.state == "exited"
        assert p.exit_code == (spec["exit"] or 0)
        assert s.cpu_time == total(spec["ops"], "compute")
        assert s.blocked == total(spec["ops"], "io") + total(spec["ops"], "sleep")
        assert s.arrival == spec["at"]
        assert s.arrival <= s.first_run <= s.finish
    assert k.stats.busy == sum(total(spec["ops"], "compute") for spec in w["procs"])
    assert k.stats.overhead == w["switch"] * k.stats.context_switches


@SETTINGS
@given(WORKLOAD)
def test_splitting_a_run_gives_the_same_digest_and_stats(w):
    whole = build(w)
    whole.run()
    pieces = build(w)
    run_in_pieces(pieces, w["splits"])
    assert snapshot(pieces) == snapshot(whole)


@SETTINGS
@given(WORKLOAD, st.data())
def test_random_kills_conserve_time(w, data):
    # Kill a random live process at each split point; the run still ends
    # "idle", CPUs account for every ns, survivors get all their compute,
    # and every killed process obeys the time identity (even one killed
    # before it arrived) and never shows a first run after its end.
    k = build(w)
    killed = set()
    for u in w["splits"]:
        if u < k.now:
            continue
        if k.stats.live_threads == 0:
            break                   # everything ended: run() would be BadState
        r = k.run(until=u)
        if r.reason == "idle":
            break
        alive = [p for p in k.processes if p.state in ("new", "alive")]
        if alive:
            victim = data.draw(st.sampled_from(alive))
            victim.kill()
            killed.add(victim.pid)
    if k.stats.live_threads:
        assert k.run().reason == "idle"
    assert_cpu_time_conserved(k)
    for p, spec in zip(k.processes, w["procs"]):
        s = p.stats
        if p.pid in killed:
            assert p.state == "killed"
            assert p.kill_reason == "killed"
            assert s.cpu_time + s.wait + s.blocked == s.turnaround
            assert s.first_run is None or s.arrival <= s.first_run <= s.finish
            assert s.cpu_time <= total(spec["ops"], "compute")
        else:
            assert p.state == "exited"
            assert s.cpu_time == total(spec["ops"], "compute")
            assert s.cpu_time + s.wait + s.blocked == s.turnaround


@SETTINGS
@given(WORKLOAD)
def test_identical_workloads_are_deterministic(w):
    a, b = build(w), build(w)
    a.run()
    b.run()
    assert snapshot(a) == snapshot(b)
