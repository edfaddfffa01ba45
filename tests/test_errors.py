"""Bad input gives a clear exception, and nothing crashes.

Contract (pykernel/errors.py): "Wrong Python types or values are reported
with TypeError or ValueError before anything reaches the core;
InvalidArgs and OutOfRange are also ValueError subclasses." Kernel
limits raise the typed errors (NoMemory, BadState, InvalidArgs).
"""

import math

import pytest

import pykernel as pk
from conftest import cpu_bound, make_kernel

S = pk.op
BAD_TYPES = [1.5, True, "10", None, b"1"]


# ---- durations ----------------------------------------------------------------

@pytest.mark.parametrize("make", [S.compute, S.io, S.sleep], ids=["compute", "io", "sleep"])
def test_negative_duration_is_value_error(make):
    with pytest.raises(ValueError, match=">= 0 ns"):
        make(-1)


@pytest.mark.parametrize("value", BAD_TYPES, ids=repr)
@pytest.mark.parametrize("make", [S.compute, S.io, S.sleep], ids=["compute", "io", "sleep"])
def test_non_int_duration_is_type_error(make, value):
    with pytest.raises(TypeError, match="must be an int"):
        make(value)


@pytest.mark.parametrize("make", [S.compute, S.io, S.sleep], ids=["compute", "io", "sleep"])
def test_duration_beyond_max_time_is_value_error(make):
    # op.duration: an int in [0, 2**62 - 1] (PK_MAX_TIME in pk_api.h).
    make(2**62 - 1)
    with pytest.raises(ValueError):
        make(2**62)


@pytest.mark.parametrize("value", [1.5, True, "10"], ids=repr)
@pytest.mark.parametrize("name", ["compute", "io", "sleep"])
def test_ctx_duration_type_errors(zero_kernel, name, value):
    # Context methods validate like pk.op: the error is raised inside the
    # body, which therefore dies with kill_reason "exception".
    def body(ctx):
        yield getattr(ctx, name)(value)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("bad", body))
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, TypeError)


def test_ctx_negative_duration_is_value_error(zero_kernel):
    def body(ctx):
        yield ctx.compute(-5)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("bad", body))
    q = k.spawn(cpu_bound(3))
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, ValueError)
    assert q.exit_code == 0


# ---- scripts ------------------------------------------------------------------------

def test_non_op_in_script_is_type_error():
    with pytest.raises(TypeError, match="pk.op operations"):
        pk.Program.script("x", [S.compute(1), "compute"])


def test_single_op_instead_of_list_is_type_error():
    with pytest.raises(TypeError, match="list of pk.op operations"):
        pk.Program.script("x", S.compute(1))


def test_non_op_in_loop_body_is_type_error():
    with pytest.raises(TypeError):
        S.loop(2, [S.compute(1), 3])


@pytest.mark.parametrize("n", [-1, 2**62, 2**64])
def test_loop_count_out_of_range_is_refused_by_the_core(n):
    # loop counts are 0 .. PK_MAX_TIME = 2**62 - 1 (pk_script_check, csrc/core/pk_script.c)
    with pytest.raises(pk.OutOfRange) as e:
        pk.Program.script("x", [S.compute(1), S.loop(n, [S.compute(1)])])
    assert str(e.value) == (f"Program.script('x', 4 instructions): instruction 1 (loop): "
                            f"loop count must be between 0 and 4611686018427387903, got {n}")
    assert e.value.instruction == 1


def nested(depth):
    body = [S.compute(1)]
    for _ in range(depth):
        body = [S.loop(1, body)]
    return body


def test_loops_nest_16_deep():
    # op.loop: "Loops nest up to 16 deep" (PK_LOOP_DEPTH).
    k = make_kernel()
    p = k.spawn(pk.Program.script("deep", nested(16)))
    k.run()
    assert p.stats.cpu_time == 1


def test_loops_nested_17_deep_are_value_error():
    with pytest.raises(ValueError, match="16"):
        pk.Program.script("deep", nested(17))


def test_program_name_must_be_str():
    with pytest.raises(TypeError):
        pk.Program.script(3, [])


def test_python_program_needs_a_generator_function():
    with pytest.raises(TypeError, match="generator function"):
        pk.Program.python("f", lambda ctx: 0)
    with pytest.raises(TypeError):
        pk.Program.python("f", 42)


# ---- exit codes -------------------------------------------------------------------

@pytest.mark.parametrize("code", [2**31, -2**31 - 1], ids=["2**31", "-2**31-1"])
def test_exit_code_out_of_32_bits_is_value_error(code):
    with pytest.raises(ValueError, match="32 bits"):
        S.exit(code)


def test_ctx_exit_code_out_of_range_kills_with_exception(zero_kernel):
    def body(ctx):
        yield ctx.exit(2**31)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("bad", body))
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, ValueError)


def test_exit_code_must_be_int():
    with pytest.raises(TypeError):
        S.exit(1.0)


# ---- kernel configuration ----------------------------------------------------------

@pytest.mark.parametrize("cpus", [0, 257, -1])
def test_cpu_count_out_of_range_is_value_error(cpus):
    # Kernel docstring: cpus 1 to 256 (PK_MAX_CPUS).
    with pytest.raises(ValueError, match="between 1 and 256"):
        pk.Kernel(cpus=cpus)


def test_cpu_count_limits_are_inclusive():
    assert pk.Kernel(cpus=1).cpus == 1
    assert pk.Kernel(cpus=256).cpus == 256


@pytest.mark.parametrize("cpus", [2.0, True, "2"], ids=repr)
def test_cpu_count_must_be_int(cpus):
    with pytest.raises(TypeError):
        pk.Kernel(cpus=cpus)


def test_scheduler_must_be_a_policy():
    with pytest.raises(TypeError, match="pk.sched policy"):
        pk.Kernel(scheduler=42)   # a name is accepted (tests/test_rough_edges.py)


def test_costs_must_be_costs():
    with pytest.raises(TypeError):
        pk.Kernel(costs=0)


@pytest.mark.parametrize("switch,exc", [(-1, ValueError), (1.0, TypeError), (True, TypeError)])
def test_bad_switch_cost(switch, exc):
    with pytest.raises(exc):
        pk.Costs(switch=switch)


@pytest.mark.parametrize("quantum,exc", [(0, ValueError), (-4, ValueError), (4.0, TypeError),
                                         (True, TypeError)])
def test_bad_quantum(quantum, exc):
    with pytest.raises(exc):
        pk.sched.RoundRobin(quantum=quantum)


def test_priority_preemptive_must_be_bool():
    with pytest.raises(TypeError):
        pk.sched.Priority(preemptive=1)


@pytest.mark.parametrize("kw", [{"memory": 1}, {"mmu": 1}], ids=str)
def test_memory_and_mmu_must_be_their_classes(kw):
    with pytest.raises(TypeError):
        pk.Kernel(**kw)


@pytest.mark.parametrize("kw", [{"seed": -1}, {"seed": 2**64},
                                {"livelock_steps": 0}], ids=str)
def test_bad_kernel_limits_are_value_errors(kw):
    with pytest.raises(ValueError):
        pk.Kernel(**kw)


# ---- spawning ---------------------------------------------------------------------

@pytest.mark.parametrize("thing", [b"prog", 42, S.compute(1), lambda ctx: None],
                         ids=["bytes", "int", "op", "function"])
def test_spawning_a_non_program_is_type_error(zero_kernel, thing):
    with pytest.raises(TypeError, match="pk.Program"):
        zero_kernel().spawn(thing)


def test_spawning_a_str_names_a_file_in_the_file_system(zero_kernel):
    with pytest.raises(pk.NotFound, match="'prog'"):
        zero_kernel().spawn("prog")


def test_more_threads_than_max_threads_is_no_memory(zero_kernel):
    k = zero_kernel(limits=pk.Limits(max_threads=2))
    k.spawn(cpu_bound(1))
    k.spawn(cpu_bound(1))
    with pytest.raises(pk.NoMemory, match="max_threads=2"):
        k.spawn(cpu_bound(1))
    assert len(k.processes) == 2


def test_spawn_many_beyond_max_threads_is_no_memory_and_spawns_nothing(zero_kernel):
    k = zero_kernel(limits=pk.Limits(max_threads=3))
    with pytest.raises(pk.NoMemory, match="max_threads=3"):
        k.spawn_many(cpu_bound(1), 4)
    assert len(k.processes) == 0
    assert len(k.spawn_many(cpu_bound(1), 3)) == 3


def test_max_threads_counts_exited_threads_too(zero_kernel):
    # Kernel docstring: max_threads bounds the threads a kernel may *ever*
    # create (ids are never reused, pk_api.h).
    k = zero_kernel(limits=pk.Limits(max_threads=1))
    k.spawn(cpu_bound(1))
    k.run()
    with pytest.raises(pk.NoMemory):
        k.spawn(cpu_bound(1))


def test_spawn_in_the_past_is_value_error(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    k.run(until=5)
    with pytest.raises(ValueError, match="in the past"):
        k.spawn(cpu_bound(1), at=4)
    assert k.spawn(cpu_bound(1), at=5).stats.arrival == 5


@pytest.mark.parametrize("nice", [20, -21])
def test_nice_out_of_range_is_value_error(zero_kernel, nice):
    with pytest.raises(ValueError, match="-20 and 19"):
        zero_kernel().spawn(cpu_bound(1), nice=nice)


def test_nice_limits_are_inclusive(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1), nice=-20)
    k.spawn(cpu_bound(1), nice=19)
    assert k.run().reason == "idle"


def test_priority_beyond_32_bits_is_value_error(zero_kernel):
    with pytest.raises(ValueError):
        zero_kernel(pk.sched.Priority()).spawn(cpu_bound(1), priority=2**31)


@pytest.mark.parametrize("policy", [pk.sched.SJF(), pk.sched.STCF()], ids=repr)
def test_burst_policy_needs_declared_burst_for_python_body(zero_kernel, policy):
    def body(ctx):
        yield ctx.compute(1)

    k = zero_kernel(policy)
    with pytest.raises(pk.InvalidArgs, match="burst="):
        k.spawn(pk.Program.python("py", body))
    p = k.spawn(pk.Program.python("py", body), burst=1)
    k.run()
    assert p.exit_code == 0


def test_invalid_args_is_also_value_error():
    assert issubclass(pk.InvalidArgs, ValueError)
    assert issubclass(pk.OutOfRange, ValueError)
    assert issubclass(pk.InvalidArgs, pk.KernelError)


def test_args_for_a_script_is_type_error(zero_kernel):
    with pytest.raises(TypeError):
        zero_kernel().spawn(cpu_bound(1), args=(1,))


def test_args_must_be_a_tuple(zero_kernel):
    def body(ctx, n):
        yield ctx.compute(n)

    with pytest.raises(TypeError, match="tuple"):
        zero_kernel().spawn(pk.Program.python("py", body), args=[1])


def test_name_must_be_str(zero_kernel):
    with pytest.raises(TypeError):
        zero_kernel().spawn(cpu_bound(1), name=3)


def test_spawn_many_count_zero_is_value_error(zero_kernel):
    with pytest.raises(ValueError):
        zero_kernel().spawn_many(cpu_bound(1), 0)


# ---- running ---------------------------------------------------------------------

def test_running_a_finished_kernel_is_bad_state(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1))
    assert k.run().reason == "idle"
    with pytest.raises(pk.BadState, match="finished"):
        k.run()


def test_running_an_empty_kernel_is_bad_state(zero_kernel):
    with pytest.raises(pk.BadState):
        zero_kernel().run()


def test_finished_kernel_runs_again_after_spawning(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(1))
    k.run()
    p = k.spawn(cpu_bound(4))
    r = k.run()
    assert r.reason == "idle"
    assert (r.start, r.now) == (1, 5)
    assert p.stats.finish == 5


def test_run_until_in_the_past_is_value_error(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    k.run(until=5)
    with pytest.raises(ValueError, match="in the past"):
        k.run(until=4)
    assert k.now == 5


def test_run_until_now_is_an_empty_run(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    k.run(until=5)
    r = k.run(until=5)
    assert (r.reason, r.start, r.now, r.switches) == ("until", 5, 5, 0)


@pytest.mark.parametrize("until,exc", [(-1, ValueError), (1.5, TypeError), ("9", TypeError)])
def test_bad_until_values(zero_kernel, until, exc):
    k = zero_kernel()
    k.spawn(cpu_bound(10))
    with pytest.raises(exc):
        k.run(until=until)


def test_kernel_stays_usable_after_a_rejected_call(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(10))
    for bad in (lambda: k.run(until=-1), lambda: k.spawn(42), lambda: k.spawn(cpu_bound(1), nice=99)):
        with pytest.raises((TypeError, ValueError)):
            bad()
    assert k.run().reason == "idle"
    assert p.stats.finish == 10


# ---- queries ------------------------------------------------------------------------

def test_unknown_pid_is_invalid_args(zero_kernel):
    with pytest.raises(pk.InvalidArgs):
        zero_kernel().process(0)


def test_cpu_index_out_of_range_is_value_error(zero_kernel):
    with pytest.raises(ValueError):
        zero_kernel(cpus=2).cpu_stats(2)


def test_random_count_out_of_range_is_value_error():
    with pytest.raises(ValueError):
        pk.Kernel().random(-1)


def test_killing_an_exited_process_is_bad_state(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(1))
    k.run()
    with pytest.raises(pk.BadState):
        p.kill()


def test_aspace_without_memory_is_bad_state(zero_kernel):
    p = zero_kernel().spawn(cpu_bound(1))
    with pytest.raises(pk.BadState):
        p.aspace


def test_error_status_numbers_follow_zircon():
    # zircon/system/public/zircon/errors.h (docs/references.md [Zircon-errors])
    assert [pk.NotSupported.status, pk.NoMemory.status, pk.InvalidArgs.status,
            pk.BadHandle.status, pk.WrongType.status, pk.OutOfRange.status,
            pk.BufferTooSmall.status, pk.BadState.status, pk.TimedOut.status,
            pk.ShouldWait.status, pk.Canceled.status, pk.PeerClosed.status,
            pk.AccessDenied.status] == [-2, -4, -10, -11, -12, -14, -15, -20, -21, -22,
                                        -23, -24, -30]


@pytest.mark.parametrize("signals", [math.inf, 1.5, "1"])
def test_wait_signals_that_are_not_an_int_are_type_errors(signals):
    # found by fuzzing: int(inf) raised OverflowError (fuzz/corpus/script/)
    with pytest.raises(TypeError, match="wait signals must be an int"):
        pk.op.wait(0, signals)


# ---- views made by hand: typed errors, never cffi's OverflowError ---------------------
# pids and handle values are uint32_t in the core (csrc/core/pk_api.h); a value that
# does not fit is refused before cffi converts it.

@pytest.mark.parametrize("pid", [-1, 2**32, 10**12], ids=["-1", "2**32", "10**12"])
def test_a_process_view_of_a_pid_past_32_bits_is_invalid_args(zero_kernel, pid):
    k = zero_kernel()
    with pytest.raises(pk.InvalidArgs) as info:
        pk.Process(k, pid)
    assert str(info.value) == f"no process with pid {pid}"


def test_a_process_view_of_a_pid_not_yet_spawned_is_invalid_args_when_read(zero_kernel):
    k = zero_kernel()
    k.spawn(cpu_bound(5))
    with pytest.raises(pk.InvalidArgs) as info:
        pk.Process(k, 5).state
    assert str(info.value) == "no process with pid 5"


def test_a_handle_view_of_a_value_past_32_bits_is_bad_handle(zero_kernel):
    k = zero_kernel()
    p = k.spawn(cpu_bound(5))
    with pytest.raises(pk.BadHandle) as info:
        pk.Handle(k, p.pid, 2**40)
    assert str(info.value) == "handle 0x10000000000 is not a valid handle value (32 bits)"


@pytest.mark.parametrize("pid", [-1, 2**32])
def test_a_handle_view_in_a_pid_past_32_bits_is_invalid_args(zero_kernel, pid):
    k = zero_kernel()
    with pytest.raises(pk.InvalidArgs, match=f"^no process with pid {pid}$"):
        pk.Handle(k, pid, 1)


def test_a_status_becomes_its_class_and_words_not_its_name():
    # ZX_ERR_INVALID_ARGS: "an argument is invalid" (Zircon, zx_status_t)
    with pytest.raises(pk.InvalidArgs) as info:
        pk.errors.check(-10, "spawn")
    assert str(info.value) == "spawn: invalid argument"
    assert info.value.status == -10 and info.value.name == "ERR_INVALID_ARGS"
    for cls in pk.errors._BY_STATUS.values():
        assert cls.words and "ERR_" not in cls.words
