"""Mistakes a user makes, and the errors that say so: an operation made in
a Python body and never yielded, a policy named by a string, a duration
with an unknown unit, a misspelt scheduler field."""

import pytest

import pykernel as pk
from pykernel.scenario import ScenarioError, loads


def _run(*bodies):
    k = pk.Kernel(costs=pk.Costs.zero())
    procs = [k.spawn(pk.Program.python(f"b{i}", b)) for i, b in enumerate(bodies)]
    k.run()
    return procs


def forgets_compute(ctx):
    yield ctx.compute(10)
    ctx.compute(5)                          # line +2: never yielded
    yield ctx.io(3)


def forgets_sleep_at_the_end(ctx):
    yield ctx.compute(10)
    ctx.sleep(5)                            # line +2: never yielded


def forgets_yield_(ctx):
    ctx.yield_()                            # line +1
    yield ctx.compute(1)


def yields_in_the_order_made(ctx):
    a, b = ctx.compute(1), ctx.io(2)
    yield a
    yield b
    op = ctx.compute(4)
    yield op
    yield op                                # the same operation twice: 4 ns more
    return 3


def yields_in_another_order(ctx):
    a, b = ctx.compute(1), ctx.io(2)
    yield b                                 # a was made first and is skipped
    yield a


def _line(fn, offset):
    return fn.__code__.co_firstlineno + offset


def test_an_operation_not_yielded_before_the_next_yield_kills_with_its_line():
    (p,) = _run(forgets_compute)
    assert p.state == "killed" and isinstance(p.error, RuntimeError)
    assert str(p.error) == (
        f"ctx.compute(...) made at line {_line(forgets_compute, 2)} of forgets_compute "
        f"({__file__}) was never yielded, so it did nothing: write `yield ctx.compute(...)`")
    assert p.stats.cpu_time == 10          # the forgotten 5 ns never ran


def test_an_operation_not_yielded_at_the_body_end_kills_with_its_line():
    (p,) = _run(forgets_sleep_at_the_end)
    assert p.state == "killed"
    assert f"ctx.sleep(...) made at line {_line(forgets_sleep_at_the_end, 2)} " in str(p.error)


def test_a_forgotten_yield_op_is_named():
    (p,) = _run(forgets_yield_)
    assert f"ctx.yield_(...) made at line {_line(forgets_yield_, 1)} " in str(p.error)


def test_operations_yielded_in_the_order_made_are_fine():
    (p,) = _run(yields_in_the_order_made)
    assert p.state == "exited" and p.exit_code == 3
    assert p.stats.cpu_time == 1 + 4 + 4


def test_an_operation_skipped_by_a_later_one_is_reported():
    (p,) = _run(yields_in_another_order)
    assert p.state == "killed"
    assert f"ctx.compute(...) made at line {_line(yields_in_another_order, 1)} " in str(p.error)


def test_other_bodies_run_on_when_one_forgets_a_yield():
    bad, good = _run(forgets_compute, yields_in_the_order_made)
    assert bad.state == "killed" and good.state == "exited"


# ---- a policy by name ----------------------------------------------------

def test_kernel_accepts_a_policy_name_with_its_defaults():
    k = pk.Kernel(scheduler="RoundRobin")
    assert isinstance(k.scheduler, pk.sched.RoundRobin)
    assert k.scheduler.quantum == pk.sched.RoundRobin().quantum == 10_000_000


def test_a_policy_name_is_case_insensitive_as_in_scenario_files():
    assert isinstance(pk.Kernel(scheduler="eevdf").scheduler, pk.sched.EEVDF)


def test_a_named_policy_runs_like_the_policy_object():
    def run(policy):
        k = pk.Kernel(scheduler=policy, costs=pk.Costs.zero())
        for burst in (24, 3, 3):
            k.spawn(pk.Program.script("p", [pk.op.compute(burst)]))
        k.run()
        return k.digest()
    assert run("RoundRobin") == run(pk.sched.RoundRobin())


def test_an_unknown_policy_name_lists_the_policies():
    with pytest.raises(pk.InvalidArgs, match="unknown policy 'RR'; expected one of CFS, "
                                            "DeadlineMonotonic, EDF, EEVDF, FIFO"):
        pk.Kernel(scheduler="RR")


def test_by_name_passes_parameters_and_names_an_unknown_one():
    assert pk.sched.by_name("roundrobin", quantum=4_000).quantum == 4_000
    with pytest.raises(pk.InvalidArgs, match="RoundRobin has no parameter 'quantm'; its "
                                            "parameters are quantum"):
        pk.sched.by_name("RoundRobin", quantm=4_000)


# ---- scenario files --------------------------------------------------------

SCENARIO = """
[scheduler]
name = "RoundRobin"
{field} = "4 ms"

[programs]
cpu = [["compute", {duration}]]

[[processes]]
program = "cpu"
"""


def test_a_duration_with_an_unknown_unit_names_it_and_lists_the_units():
    text = SCENARIO.format(field="quantum", duration='"40 msec"')
    with pytest.raises(ScenarioError) as info:
        loads(text, path="s.toml").build()
    assert str(info.value) == ('s.toml:7: programs.cpu[0][0]: unknown unit \'msec\' in duration '
                               '\'40 msec\'; the units are ns, us, µs, ms, s (e.g. "40 ms"), '
                               'or an int of ns')


def test_a_misspelt_scheduler_field_lists_the_valid_ones():
    text = SCENARIO.format(field="quantm", duration='"40 ms"')
    with pytest.raises(ScenarioError) as info:
        loads(text, path="s.toml").build()
    assert str(info.value) == ("s.toml:4: scheduler.quantm: unknown field for RoundRobin; "
                               "expected one of name, quantum, wake_preempt, aligned")


def test_a_process_name_that_starts_with_a_digit_is_not_a_duration():
    text = SCENARIO.format(field="quantum", duration='"40 ms"') + 'name = "2nd"\n'
    k, procs = loads(text).build()
    assert procs[0].name == "2nd"


# ---- spawn's scheduling keywords as one object -------------------------------

def _digest(**spawn_kw):
    k = pk.Kernel(cpus=2, costs=pk.Costs.zero())
    prog = pk.Program.script("p", [pk.op.loop(3, [pk.op.compute(5), pk.op.io(7)])])
    k.spawn(prog, **spawn_kw)
    k.spawn_many(prog, 3, **spawn_kw)
    k.run()
    return k.digest()


def test_sched_params_schedule_as_the_same_keywords():
    assert _digest(sched=pk.SchedParams(policy="rr", rt_priority=10, cpu=1)) == \
        _digest(policy="rr", rt_priority=10, cpu=1)


def test_sched_params_fields_reach_the_thread():
    k = pk.Kernel(cpus=2)
    p = k.spawn(pk.Program.script("p", [pk.op.compute(1)]),
                sched=pk.SchedParams(policy="fifo", rt_priority=50, nice=3))
    t = p.threads[0]
    assert (t.policy, t.rt_priority, t.nice) == ("fifo", 50, 3)


def test_a_keyword_and_sched_params_combine_when_they_set_different_fields():
    k = pk.Kernel()
    p = k.spawn(pk.Program.script("p", [pk.op.compute(1)]), nice=5,
                sched=pk.SchedParams(tickets=7))
    assert (p.threads[0].nice, p.threads[0].tickets) == (5, 7)


def test_one_field_given_both_ways_with_different_values_is_refused():
    k = pk.Kernel()
    with pytest.raises(pk.InvalidArgs, match=r"nice is given twice, as nice=4 and in sched= "
                                            r"\(nice=3\): give it once"):
        k.spawn(pk.Program.script("p", [pk.op.compute(1)]), nice=4,
                sched=pk.SchedParams(nice=3))


def test_sched_must_be_sched_params():
    with pytest.raises(TypeError, match="sched must be a pk.SchedParams, not dict"):
        pk.Kernel().spawn(pk.Program.script("p", [pk.op.compute(1)]), sched={"nice": 1})


def test_sched_params_defaults_are_spawns_defaults():
    import inspect
    sig = inspect.signature(pk.Kernel.spawn).parameters
    for field in ("nice", "priority", "burst", "policy", "rt_priority", "tickets", "cpu",
                  "affinity"):
        assert getattr(pk.SchedParams(), field) == sig[field].default, field


def test_restore_accepts_a_policy_name_too():
    k = pk.Kernel(scheduler=pk.sched.FIFO(), costs=pk.Costs.zero())
    for burst in (24, 3, 3):
        k.spawn(pk.Program.script("p", [pk.op.compute(burst)]))
    k.run(until=5)
    snap = k.snapshot()
    by_name = pk.Kernel.restore(snap, scheduler="roundrobin")
    by_object = pk.Kernel.restore(snap, scheduler=pk.sched.RoundRobin())
    assert isinstance(by_name.scheduler, pk.sched.RoundRobin)
    by_name.run()
    by_object.run()
    assert by_name.digest() == by_object.digest()


def test_a_string_duration_in_python_says_how_to_write_it():
    # durations in the Python API are ints of ns; "40 ms" belongs in scenario files
    with pytest.raises(pk.WrongType) as info:
        pk.op.compute("40 ms")
    assert str(info.value) == ("compute duration must be an int of ns, not str ('40 ms'): in "
                               "Python write ns, e.g. 40_000_000 for 40 ms; strings with a unit "
                               "(ns, us, ms, s) are for scenario files")
    assert isinstance(info.value, TypeError)
