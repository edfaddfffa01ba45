"""Python-bodied threads: generator functions driven by the kernel.

Semantics from pykernel/context.py and Program.python: a body is a
generator function ``body(ctx, *args)`` that yields operations made by
``ctx`` and returns its exit code (None means 0); ``ctx.exit(code)`` ends
the process. A body that raises kills its process (kill_reason
"exception", Process.error is the exception) and the kernel goes on; a
body that yields something that is not an operation is killed with
kill_reason "bad operation" (Process.kill_reason docstring).
"""

import pytest

import pykernel as pk
from conftest import assert_time_conserved, cpu_bound


def test_return_value_is_exit_code(zero_kernel):
    def body(ctx):
        yield ctx.compute(3)
        return 42

    k = zero_kernel()
    p = k.spawn(pk.Program.python("ret", body))
    k.run()
    assert p.state == "exited"
    assert p.exit_code == 42
    assert p.stats.cpu_time == 3


def test_returning_none_exits_zero(zero_kernel):
    def body(ctx):
        yield ctx.compute(3)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("none", body))
    k.run()
    assert p.exit_code == 0


def test_ctx_exit_ends_process_with_code(zero_kernel):
    # ctx.exit(7): later operations never run (cpu_time stays 2).
    def body(ctx):
        yield ctx.compute(2)
        yield ctx.exit(7)
        yield ctx.compute(100)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("exit", body))
    k.run()
    assert p.exit_code == 7
    assert p.stats.cpu_time == 2
    assert p.stats.finish == 2


def test_negative_return_code_is_kept(zero_kernel):
    def body(ctx):
        yield ctx.compute(1)
        return -3

    k = zero_kernel()
    p = k.spawn(pk.Program.python("neg", body))
    k.run()
    assert p.exit_code == -3


def test_args_are_passed_after_ctx(zero_kernel):
    seen = []

    def body(ctx, n, tag):
        seen.append((n, tag))
        yield ctx.compute(n)
        return n + 1

    k = zero_kernel()
    p = k.spawn(pk.Program.python("args", body), args=(5, "x"))
    k.run()
    assert seen == [(5, "x")]
    assert p.exit_code == 6
    assert p.stats.cpu_time == 5


def test_ctx_now_advances_with_simulated_time(zero_kernel):
    # compute(3) 0-3, sleep(10) 3-13, io(4) 13-17.
    times = []

    def body(ctx):
        times.append(ctx.now)
        yield ctx.compute(3)
        times.append(ctx.now)
        yield ctx.sleep(10)
        times.append(ctx.now)
        yield ctx.io(4)
        times.append(ctx.now)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("clock", body), at=100)
    k.run()
    assert times == [100, 103, 113, 117]
    assert p.stats.blocked == 14


def test_yield_alternates_two_python_threads(zero_kernel):
    # FIFO, two bodies that compute(1) then yield_, three times each:
    # A 0-1, B 1-2, A 2-3, B 3-4, A 4-5, B 5-6.
    log = []

    def body(ctx, tag):
        for _ in range(3):
            log.append((tag, ctx.now))
            yield ctx.compute(1)
            yield ctx.yield_()

    k = zero_kernel(pk.sched.FIFO())
    a = k.spawn(pk.Program.python("alt", body), args=("A",))
    b = k.spawn(pk.Program.python("alt", body), args=("B",))
    k.run()
    assert log == [("A", 0), ("B", 1), ("A", 2), ("B", 3), ("A", 4), ("B", 5)]
    assert a.stats.voluntary_switches == 3
    assert b.stats.voluntary_switches == 3
    assert_time_conserved(k)


def test_python_thread_preempted_by_rr_like_a_script(zero_kernel):
    # Python bodies are scheduled exactly like scripts: the RR q=4 textbook
    # case (Silberschatz §5.3.3) with P1 as a Python body gives waits 6, 4, 7.
    def p1(ctx):
        yield ctx.compute(24)

    k = zero_kernel(pk.sched.RoundRobin(quantum=4))
    a = k.spawn(pk.Program.python("P1", p1))
    b = k.spawn(cpu_bound(3))
    c = k.spawn(cpu_bound(3))
    k.run()
    assert [a.stats.wait, b.stats.wait, c.stats.wait] == [6, 4, 7]


def test_ctx_identifies_its_process_and_thread(zero_kernel):
    seen = []

    def body(ctx):
        seen.append((ctx.pid, ctx.tid, ctx.process, ctx.kernel))
        yield ctx.compute(1)

    k = zero_kernel()
    k.spawn(cpu_bound(1))
    p = k.spawn(pk.Program.python("who", body), name="who")
    k.run()
    assert seen == [(p.pid, p.threads[0].tid, p, k)]
    assert seen[0][2].name == "who"


def test_body_starts_only_when_first_dispatched(zero_kernel):
    started = []

    def body(ctx):
        started.append(ctx.now)
        yield ctx.compute(1)

    k = zero_kernel()
    k.spawn(pk.Program.python("late", body), at=50)
    k.run(until=49)
    assert started == []
    k.run()
    assert started == [50]


def test_body_that_raises_kills_only_its_process(zero_kernel):
    boom = RuntimeError("boom")

    def body(ctx):
        yield ctx.compute(3)
        raise boom

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("raiser", body))
    q = k.spawn(cpu_bound(10), name="other")
    r = k.run()
    assert r.reason == "idle"
    assert p.state == "killed"
    assert p.kill_reason == "exception"
    assert p.error is boom
    assert p.exit_code is None
    assert p.stats.finish == 3
    assert q.state == "exited"
    assert q.exit_code == 0
    assert q.stats.finish == 13
    assert_time_conserved(k)


def test_body_that_raises_before_first_yield_is_killed(zero_kernel):
    def body(ctx):
        raise KeyError("early")
        yield  # pragma: no cover - makes this a generator function

    k = zero_kernel()
    p = k.spawn(pk.Program.python("early", body))
    q = k.spawn(cpu_bound(4))
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, KeyError)
    assert p.stats.cpu_time == 0
    assert q.stats.finish == 4


@pytest.mark.parametrize("exc", [SystemExit(3), KeyboardInterrupt()],
                         ids=["SystemExit", "KeyboardInterrupt"])
def test_body_raising_a_base_exception_is_killed_and_the_exception_escapes(zero_kernel, exc):
    # SystemExit and KeyboardInterrupt are not Exception subclasses (Python
    # library reference, "Exception hierarchy"): they go on out of run(), as
    # they would out of any call; the process still dies of them
    def body(ctx):
        yield ctx.compute(3)
        raise exc

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("raiser", body))
    q = k.spawn(cpu_bound(10), name="other")
    with pytest.raises(type(exc)):
        k.run()
    assert k.run().reason == "idle"
    assert p.state == "killed"
    assert p.kill_reason == "exception"
    assert p.error is exc
    assert p.exit_code is None
    assert p.stats.finish == 3
    assert q.state == "exited"
    assert q.stats.finish == 13
    assert_time_conserved(k)


def test_body_raising_a_base_exception_before_first_yield_is_killed(zero_kernel):
    def body(ctx):
        raise SystemExit(0)
        yield  # pragma: no cover - makes this a generator function

    k = zero_kernel()
    p = k.spawn(pk.Program.python("early", body))
    with pytest.raises(SystemExit):
        k.run()
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, SystemExit)
    assert p.stats.cpu_time == 0


def test_body_spawned_with_wrong_number_of_args_keeps_the_type_error(zero_kernel):
    # calling a function with too many positional arguments raises TypeError
    # (Python language reference, "Calls"); that is the body's exception
    def body(ctx, a):
        yield ctx.compute(1)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("args", body), args=(1, 2))
    k.run()
    assert p.kill_reason == "exception"
    assert isinstance(p.error, TypeError)
    assert "positional argument" in str(p.error)


@pytest.mark.parametrize("bad", ["compute", None, 3, [1, 2], (1, 2, 3)],
                         ids=["str", "None", "int", "list", "3-tuple"])
def test_yielding_a_non_operation_kills_with_bad_operation(zero_kernel, bad):
    def body(ctx):
        yield ctx.compute(5)
        yield bad

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("bad", body))
    q = k.spawn(cpu_bound(10))
    r = k.run()
    assert r.reason == "idle"
    assert p.state == "killed"
    assert p.kill_reason == "bad operation"
    assert isinstance(p.error, TypeError)
    assert p.stats.finish == 5
    assert q.state == "exited"
    assert q.stats.finish == 15


@pytest.mark.parametrize("ret", ["x", 2**40], ids=["str", "too-big"])
def test_returning_an_invalid_exit_code_kills_with_bad_operation(zero_kernel, ret):
    def body(ctx):
        yield ctx.compute(1)
        return ret

    k = zero_kernel()
    p = k.spawn(pk.Program.python("ret", body))
    q = k.spawn(cpu_bound(10))
    k.run()
    assert p.kill_reason == "bad operation"
    assert isinstance(p.error, (TypeError, ValueError))
    assert q.stats.finish == 11


@pytest.mark.parametrize("op", [(1, 2**62), (5, 2**31)], ids=["compute-too-long", "exit-too-big"])
def test_out_of_range_raw_operation_kills_with_bad_operation(zero_kernel, op):
    # A hand-made tuple that the core refuses (duration > PK_MAX_TIME,
    # exit code beyond int32) kills the body's process, not the kernel.
    def body(ctx):
        yield ctx.compute(1)
        yield op

    k = zero_kernel()
    p = k.spawn(pk.Program.python("raw", body))
    q = k.spawn(cpu_bound(10))
    r = k.run()
    assert r.reason == "idle"
    assert p.kill_reason == "bad operation"
    assert isinstance(p.error, ValueError)
    assert q.stats.finish == 11


@pytest.mark.parametrize("op", [(1, -5), (1, "x"), (1, 1.5), (2**32 + 1, 3), (0, 0)],
                         ids=["negative-arg", "str-arg", "float-arg", "huge-code", "code-0"])
def test_malformed_raw_operation_kills_with_bad_operation(zero_kernel, op):
    def body(ctx):
        yield ctx.compute(1)
        yield op

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("raw", body))
    q = k.spawn(cpu_bound(10))
    r = k.run()
    assert r.reason == "idle"
    assert p.state == "killed"
    assert p.kill_reason == "bad operation"
    assert q.state == "exited"
    assert q.stats.finish == 11


def test_yielding_internal_kill_code_is_a_bad_operation(zero_kernel):
    def body(ctx):
        yield ctx.compute(1)
        yield (8, 99)

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("raw", body))
    k.spawn(cpu_bound(10))
    k.run()
    assert p.state == "killed"
    assert p.kill_reason == "bad operation"


def test_run_is_not_reentrant_from_a_body(zero_kernel):
    errors = []

    def body(ctx):
        yield ctx.compute(1)
        try:
            ctx.kernel.run()
        except pk.BadState as exc:
            errors.append(exc)
        yield ctx.compute(1)

    k = zero_kernel()
    p = k.spawn(pk.Program.python("reenter", body))
    k.run()
    assert len(errors) == 1
    assert p.exit_code == 0
    assert p.stats.cpu_time == 2


def test_body_can_spawn_a_process_that_arrives_now(zero_kernel):
    # FIFO: the parent computes 0-2, spawns a child compute(3) at 2, computes
    # 2-4 and exits; the child runs 4-7.
    children = []

    def parent(ctx):
        yield ctx.compute(2)
        children.append(ctx.kernel.spawn(cpu_bound(3), name="kid"))
        yield ctx.compute(2)

    k = zero_kernel(pk.sched.FIFO())
    p = k.spawn(pk.Program.python("parent", parent))
    k.run()
    (kid,) = children
    assert kid.stats.arrival == 2
    assert kid.stats.first_run == 4
    assert kid.stats.finish == 7
    assert p.stats.finish == 4
    assert_time_conserved(k)


def test_one_program_spawned_many_times_runs_independent_generators(zero_kernel):
    def body(ctx, n):
        for _ in range(n):
            yield ctx.compute(1)
        return n

    prog = pk.Program.python("count", body)
    k = zero_kernel(pk.sched.RoundRobin(quantum=1))
    procs = [k.spawn(prog, args=(n,)) for n in (1, 2, 3)]
    k.run()
    assert [p.exit_code for p in procs] == [1, 2, 3]
    assert [p.stats.cpu_time for p in procs] == [1, 2, 3]


def test_python_threads_yielding_forever_stop_with_livelock(zero_kernel):
    # Kernel docstring: "livelock" = too many steps without simulated time
    # advancing, "e.g. threads yielding to each other forever with free
    # switches". The run must return, not hang.
    def spin(ctx):
        while True:
            yield ctx.yield_()

    k = zero_kernel(pk.sched.RoundRobin(quantum=4), livelock_steps=1000)
    a = k.spawn(pk.Program.python("spin", spin))
    b = k.spawn(pk.Program.python("spin", spin))
    r = k.run()
    assert r.reason == "livelock"
    assert r.now == 0
    assert (a.state, b.state) == ("alive", "alive")


def test_kernel_is_usable_after_livelock(zero_kernel):
    # After a livelock stop the spinners can be killed and new work run.
    def spin(ctx):
        while True:
            yield ctx.yield_()

    k = zero_kernel(pk.sched.FIFO(), livelock_steps=200)
    spinners = [k.spawn(pk.Program.python("spin", spin)) for _ in range(2)]
    assert k.run().reason == "livelock"
    for p in spinners:
        p.kill()
    q = k.spawn(cpu_bound(5))
    r = k.run()
    assert r.reason == "idle"
    assert q.stats.finish == 5
    assert [p.state for p in spinners] == ["killed", "killed"]


def test_a_python_thread_needing_its_next_operation_stops_the_core_with_a_stop_record():
    # pk_kernel_run (csrc/core/pk_api.h, pk_stop): PK_STOP_HOST names the thread,
    # its CPU and its process; the operation goes to the next call
    from pykernel._ffi import ffi, lib

    def body(ctx):
        yield ctx.compute(10)

    k = pk.Kernel(cpus=2, costs=pk.Costs.zero())
    k.spawn(pk.Program.script("s", [pk.op.compute(50)]))
    k.spawn(pk.Program.python("py", body))
    stop = ffi.new("pk_stop *")
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_STOP_HOST
    assert (stop.why, stop.tid, stop.cpu, stop.pid, stop.arg, stop.now) == (
        lib.PK_STOP_HOST, 1, 1, 1, 0, 0)
    # its operation is required: none given is refused, the stop stays
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_ERR_BAD_STATE
    assert stop.why == lib.PK_ERR_BAD_STATE
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, lib.PK_OP_EXIT, 3, stop) == lib.PK_STOP_IDLE
    assert (stop.tid, stop.cpu, stop.now) == (lib.PK_ALL_THREADS, lib.PK_ALL_THREADS, 50)
    assert k.process(1).exit_code == 3


def test_the_core_refuses_a_run_without_a_stop_record():
    from pykernel._ffi import ffi, lib
    k = pk.Kernel(costs=pk.Costs.zero())
    k.spawn(pk.Program.script("s", [pk.op.compute(50)]))
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, ffi.NULL) == lib.PK_ERR_INVALID_ARGS
    assert k.run().reason == "idle" and k.now == 50
