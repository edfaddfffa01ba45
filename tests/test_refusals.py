"""Refusals come from the core's one statement of each rule.

spawn_check, config_check / costs_check and script_check (csrc/core/pk_kernel.c,
csrc/core/pk_script.c) fill a pk_refusal record (csrc/core/pk_api.h); Python's
messages are made from it (pykernel/_refusal.py), and values the core
computes (a script's burst, status numbers, latency buckets) are read from
it. docs/architecture.md, "Where rules live".
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings, strategies as st

import pykernel as pk
from pykernel import _refusal
from pykernel._ffi import MAX_TIME, NO_BURST, ffi, lib

from conftest import cpu_bound, make_kernel

SETTINGS = settings(max_examples=60, deadline=None, database=None)
BIG = [pk.op.loop(2**31, [pk.op.loop(2**31, [pk.op.compute(2**40)])])]   # 2**102 ns in all


def spawn_args(k, prog_id, **kw):
    a = ffi.new("pk_spawn_args *")
    a.prog, a.at, a.burst, a.tickets, a.cpu = prog_id, k.now, NO_BURST, 100, -1
    for key, value in kw.items():
        setattr(a, key, value)
    return a


def loaded(k, program) -> int:
    """The program's id in k's core (loading it if need be)."""
    with k._exclusive("load"):
        return k._load(program)


# ---- the burst: Python asks the core ------------------------------------------------

def test_sjf_spawn_of_a_script_whose_total_passes_max_time_names_the_burst():
    # The script asks for 2**31 * 2**31 * 2**40 = 2**102 ns, past PK_MAX_TIME
    # (2**62 - 1, pk_api.h): script_check gives it no burst, and SJF needs one
    # (SJF runs the job with the shortest declared burst: OSTEP ch. 7).
    k = pk.Kernel(scheduler=pk.sched.SJF())
    big = pk.Program.script("big", BIG)
    with pytest.raises(pk.InvalidArgs) as info:
        k.spawn(big)
    msg = str(info.value)
    assert msg.startswith("spawn 'big': SJF schedules by declared CPU burst")
    assert f"passes the largest time, {MAX_TIME} ns" in msg and "burst=" in msg
    assert "ERR_" not in msg
    assert len(k.processes) == 0


def test_a_loop_run_zero_times_adds_nothing_even_if_its_body_passes_max_time():
    # found by the property below: the body's overflow once made the whole
    # script burst-less
    ops = [pk.op.compute(3), pk.op.loop(0, [pk.op.compute(MAX_TIME), pk.op.compute(1)])]
    assert pk.Program.script("p", ops).burst == 3


def test_sjf_spawn_of_a_periodic_task_without_end_says_it_runs_forever():
    k = make_kernel(pk.sched.SJF())
    with pytest.raises(pk.InvalidArgs, match="'T' declares none: it is a periodic task that "
                                             r"runs forever \(jobs=None\); pass burst="):
        k.spawn(pk.Program.periodic("T", period=10, wcet=2))


def test_the_program_burst_is_the_one_the_core_keeps():
    k = pk.Kernel(scheduler=pk.sched.SJF())
    big = pk.Program.script("big", BIG)
    out = ffi.new("uint64_t *")
    assert lib.pk_prog_burst(k._kp, loaded(k, big), out) == 0
    assert out[0] == NO_BURST and big.burst is None


def test_sjf_spawns_the_big_script_with_a_declared_burst():
    k = make_kernel(pk.sched.SJF())
    p = k.spawn(pk.Program.script("big", BIG), burst=10)
    info = ffi.new("pk_thread_info *")
    assert lib.pk_thread_info_get(k._kp, p.threads[0].tid, info) == 0
    assert info.burst == 10


def _total(ops) -> int:
    """Total compute, loops multiplied (the rule of script_check, pk_script.c)."""
    s = 0
    for op in ops:
        if op.name == "compute":
            s += op.args[0]
        elif op.name == "loop":
            s += op.args[0] * _total(op.args[1])
    return s


_LEAF = st.builds(pk.op.compute, st.sampled_from([0, 1, 7, 2**20, 2**40, MAX_TIME]))
_OPS = st.recursive(st.lists(_LEAF, min_size=1, max_size=3),
                    lambda inner: st.lists(st.one_of(
                        _LEAF, st.builds(pk.op.loop, st.sampled_from([0, 1, 3, 2**31]), inner)),
                        min_size=1, max_size=3), max_leaves=8)


@SETTINGS
@given(_OPS)
def test_burst_is_the_total_compute_or_none_past_max_time(ops):
    # script_check (pk_script.c): the exact total, loops multiplied (a loop
    # run 0 times adds 0 whatever its body), or none if it passes PK_MAX_TIME
    total = _total(ops)
    prog = pk.Program.script("p", ops)
    assert prog.burst == (total if total <= MAX_TIME else None)


def test_periodic_task_with_a_job_count_declares_jobs_times_wcet():
    assert pk.Program.periodic("T", period=10, wcet=2, jobs=3).burst == 6


@pytest.mark.parametrize("wcet,burst", [(0, 0), (1, None), (5, None)])
def test_periodic_task_without_end_declares_no_burst_unless_it_computes_nothing(wcet, burst):
    assert pk.Program.periodic("T", period=10, wcet=wcet).burst == burst


def test_uses_memory_is_the_core_s_finding():
    assert pk.Program.script("m", [pk.op.touch(0x10000)]).uses_memory is True
    assert pk.Program.script("c", [pk.op.compute(1)]).uses_memory is False


def test_a_memory_script_in_a_kernel_without_memory_is_not_supported_by_the_core():
    k = make_kernel()
    with pytest.raises(pk.NotSupported, match="'m' touches or maps memory: it needs a kernel "
                                              r"with memory=pk.Memory\(\.\.\.\)"):
        k.spawn(pk.Program.script("m", [pk.op.touch(0x10000)]))


# ---- the record itself ---------------------------------------------------------------

def test_spawn_check_reports_field_value_and_bounds_of_a_range():
    # nice: -20 .. 19 (setpriority(2))
    k = make_kernel()
    a = spawn_args(k, loaded(k, cpu_bound(1)), nice=20)
    why = ffi.new("pk_refusal *")
    assert lib.pk_spawn_check(k._kp, a, 1, why) == lib.PK_ERR_OUT_OF_RANGE
    assert (why.reason, why.field, why.status) == (lib.PK_R_RANGE, lib.PK_F_NICE,
                                                   lib.PK_ERR_OUT_OF_RANGE)
    assert (why.value, why.lo, why.hi) == (20, 2**64 - 20, 19)     # signed: two's complement


def test_spawn_check_accepts_what_pk_spawn_accepts():
    k = make_kernel()
    a = spawn_args(k, loaded(k, cpu_bound(1)))
    why = ffi.new("pk_refusal *")
    assert lib.pk_spawn_check(k._kp, a, 1, why) == 0 and why.reason == 0


def test_config_check_names_the_cpu_count():
    cfg = ffi.new("pk_config *")
    cfg.cpus, cfg.policy = 0, lib.PK_POLICY_FIFO
    why = ffi.new("pk_refusal *")
    assert lib.pk_config_check(cfg, why) == lib.PK_ERR_OUT_OF_RANGE
    assert (why.reason, why.field, why.lo, why.hi) == (lib.PK_R_RANGE, lib.PK_F_CPUS, 1,
                                                       lib.PK_MAX_CPUS)


def test_script_check_names_the_instruction():
    code = struct.pack("<IIQ", lib.PK_OP_YIELD, 0, 0) + \
        struct.pack("<IIQ", lib.PK_OP_COMPUTE, 0, MAX_TIME + 1)
    info, why = ffi.new("pk_script_info *"), ffi.new("pk_refusal *")
    ops = ffi.from_buffer("pk_op[]", code)
    assert lib.pk_script_check(ops, 2, info, why) == lib.PK_ERR_OUT_OF_RANGE
    assert (why.reason, why.index, why.value) == (lib.PK_R_INSN, 1, lib.PK_OP_COMPUTE)


def test_a_hand_made_script_is_refused_when_made_naming_the_instruction():
    code = struct.pack("<IIQ", lib.PK_OP_COMPUTE, 0, MAX_TIME + 1)
    with pytest.raises(pk.OutOfRange, match=r"instruction 0 \(compute\) is refused: an operand "
                                            r"is out of range"):
        pk.Program("bad", "script", code=code)


def test_every_reason_and_field_has_words():
    reasons = [getattr(lib, n) for n in dir(lib) if n.startswith("PK_R_")]
    fields = [getattr(lib, n) for n in dir(lib) if n.startswith("PK_F_")
              and n not in ("PK_F_COST", "PK_F_COST_LAST", "PK_F_PARAM", "PK_F_PARAM_LAST")]
    fields += range(lib.PK_F_COST, lib.PK_F_COST_LAST + 1)
    fields += range(lib.PK_F_PARAM, lib.PK_F_PARAM_LAST + 1)
    assert set(fields) <= set(_refusal.FIELDS)
    for r in reasons:
        for f in fields:
            why = ffi.new("pk_refusal *", {"reason": r, "field": f, "value": 1, "lo": 0, "hi": 2,
                                           "status": lib.PK_ERR_INVALID_ARGS})
            text = _refusal.explain(why, "p", "SJF")
            assert text and "ERR_" not in text and "refused (reason" not in text


# ---- messages built from the record ---------------------------------------------------

@pytest.mark.parametrize("kw,exc,text", [
    (dict(nice=-2**40), pk.OutOfRange, "nice must be between -20 and 19, got -1099511627776"),
    (dict(tickets=0), pk.OutOfRange, "tickets must be between 1 and 4294967295, got 0"),
    (dict(tickets=-1), pk.OutOfRange, "tickets must be between 1 and 4294967295, got -1"),
    (dict(cpu=1), pk.OutOfRange, "cpu must be between 0 and 0 (the kernel has 1 CPUs), got 1"),
    (dict(burst=MAX_TIME + 1), pk.OutOfRange,
     f"burst must be between 0 and {MAX_TIME} ns, got {MAX_TIME + 1} ns"),
    (dict(burst=2**64 - 1), pk.OutOfRange,
     f"burst must be between 0 and {MAX_TIME} ns, got {2**64 - 1} ns"),
    (dict(policy="fifo", rt_priority=100), pk.OutOfRange,        # sched(7): 1 .. 99
     "rt_priority must be between 1 and 99, got 100"),
    (dict(policy="rr", rt_priority=-5), pk.OutOfRange,
     "rt_priority must be between 1 and 99, got -5"),
], ids=lambda v: str(v)[:30])
def test_spawn_refusals_name_the_argument_its_range_and_the_value_given(kw, exc, text):
    k = make_kernel()
    with pytest.raises(exc) as info:
        k.spawn(cpu_bound(1, "p"), **kw)
    assert str(info.value) == f"spawn 'p': {text}"


def test_priority_outside_32_bits_outside_the_priority_policy_is_a_value_error():
    # the core takes any int32 priority when the policy has no use for it
    with pytest.raises(ValueError, match=r"^priority must fit in 32 bits \(signed\), got 2147483648$"):
        make_kernel().spawn(cpu_bound(1), priority=2**31)


def test_priority_policy_range_comes_from_the_core():
    with pytest.raises(pk.OutOfRange, match="Priority has 140 levels: priority must be 0..139, "
                                            "got 140"):
        make_kernel(pk.sched.Priority()).spawn(cpu_bound(1), priority=140)


def test_set_policy_rt_priority_range_comes_from_the_core():
    k = make_kernel()
    t = k.spawn(cpu_bound(5)).threads[0]
    with pytest.raises(pk.OutOfRange) as info:
        t.set_policy("fifo", 0)
    assert str(info.value) == f"set policy of tid {t.tid}: rt_priority must be between 1 and 99, got 0"


@pytest.mark.parametrize("kw,text", [
    (dict(cpus=-1), "Kernel cpus must be between 1 and 256, got -1"),
    (dict(cpus=2**40), "Kernel cpus must be between 1 and 256, got 1099511627776"),
    (dict(livelock_steps=0), f"Kernel livelock_steps must be between 1 and {2**64 - 1}, got 0"),
    (dict(rt_slice=0), f"rt_slice must be between 1 and {MAX_TIME} ns, got 0 ns"),
    (dict(rt_throttle=(5, 3)), "rt_throttle needs 0 < runtime <= period: runtime 5 ns is above "
                               "the period 3 ns"),
], ids=lambda v: str(v)[:30])
def test_kernel_configuration_refusals_come_from_the_core(kw, text):
    with pytest.raises(pk.OutOfRange) as info:
        pk.Kernel(**kw)
    assert str(info.value) == text


@pytest.mark.parametrize("kw,text", [
    (dict(switch=-1), f"Costs.switch must be between 0 and {MAX_TIME} ns, got -1 ns"),
    (dict(page_walk=MAX_TIME // 8 + 1),
     f"Costs.page_walk must be between 0 and {MAX_TIME // 8} ns, got {MAX_TIME // 8 + 1} ns"),
    (dict(clock_hz=999), "Costs.clock_hz must be between 1000 and 1000000000000, got 999"),
], ids=lambda v: str(v)[:30])
def test_cost_refusals_come_from_the_core(kw, text):
    with pytest.raises(pk.OutOfRange) as info:
        pk.Costs(**kw)
    assert str(info.value) == text


# ---- one definition of each number ------------------------------------------------------

def test_error_statuses_are_the_core_s():
    for cls in pk.errors._BY_STATUS.values():
        assert cls.status == getattr(lib, "PK_" + cls.name)


@pytest.mark.parametrize("i,bounds", [(0, (0, 0)), (15, (15, 15)), (16, (16, 16)),
                                      (32, (32, 33)), (16 * 10 + 7, (23 << 9, (24 << 9) - 1))])
def test_latency_bucket_bounds_are_the_core_s(i, bounds):
    # pk_api.h: 0..15 exact, then 16 buckets per power of two
    lo, hi = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    assert lib.pk_latency_bucket_bounds(i, lo, hi) == 0
    assert (lo[0], hi[0]) == bounds


def test_a_latency_bucket_no_64_bit_value_reaches_is_refused():
    lo, hi = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    assert lib.pk_latency_bucket_bounds((63 - 3) * 16 + 15, lo, hi) == 0
    assert hi[0] == 2**64 - 1
    assert lib.pk_latency_bucket_bounds((64 - 3) * 16, lo, hi) == lib.PK_ERR_OUT_OF_RANGE


def test_restore_writes_the_scheduler_like_kernel_creation():
    class TooMany(pk.sched.FIFO):
        def _params(self):
            return [0] * (lib.PK_MAX_PARAMS + 1)

    k = make_kernel()
    k.spawn(cpu_bound(1))
    snap = k.snapshot()
    with pytest.raises(ValueError, match="has 65 parameters; the core takes at most 64"):
        pk.Kernel(scheduler=TooMany())
    with pytest.raises(ValueError, match="has 65 parameters; the core takes at most 64"):
        pk.Kernel.restore(snap, scheduler=TooMany())


# ---- affinity masks and loop depth: the core's rules, named -----------------------------

def test_affinity_naming_a_cpu_the_kernel_lacks_is_refused_by_the_core():
    k = make_kernel(cpus=2, runqueues="per-cpu")
    with pytest.raises(pk.OutOfRange) as info:
        k.spawn(cpu_bound(1, "p"), affinity={0, 5})
    assert str(info.value) == "spawn 'p': affinity CPU must be between 0 and 1, got 5"


def test_set_affinity_takes_the_same_rule():
    k = make_kernel(cpus=2, runqueues="per-cpu")
    t = k.spawn(cpu_bound(5)).threads[0]
    with pytest.raises(pk.OutOfRange, match="affinity CPU must be between 0 and 1, got 3"):
        t.set_affinity({3})
    with pytest.raises(pk.InvalidArgs, match="affinity must name at least one CPU"):
        t.set_affinity(())


def test_affinity_check_reports_the_first_cpu_beyond_the_kernel():
    k = make_kernel(cpus=2, runqueues="per-cpu")
    why = ffi.new("pk_refusal *")
    mask = ffi.new("uint64_t[4]", [0b1, 0, 1 << 3, 0])         # CPUs 0 and 131
    assert lib.pk_affinity_check(k._kp, mask, why) == lib.PK_ERR_OUT_OF_RANGE
    assert (why.field, why.value, why.lo, why.hi) == (lib.PK_F_AFFINITY, 131, 0, 1)


def test_a_mask_short_of_every_cpu_needs_per_cpu_run_queues():
    # FIFO and RoundRobin take masks on a shared queue (tests/test_cache_affinity.py)
    k = make_kernel(pk.sched.Priority(), cpus=2, runqueues="shared")
    with pytest.raises(pk.NotSupported, match='per-CPU run queues: pk.Kernel\\(..., '
                                              'runqueues="per-cpu"\\)'):
        k.spawn(cpu_bound(1), affinity={0})
    assert k.spawn(cpu_bound(1), affinity={0, 1}).pid == 0


def _nested(depth):
    body = [pk.op.compute(1)]
    for _ in range(depth):
        body = [pk.op.loop(1, body)]
    return body


def test_a_loop_nested_past_pk_loop_depth_is_named_by_the_core():
    # PK_LOOP_DEPTH = 16 (pk_api.h); instruction 0 is the yield, 1..16 the
    # accepted loops, 17 the one opened at depth 17
    with pytest.raises(pk.OutOfRange) as info:
        pk.Program.script("deep", [pk.op.yield_()] + _nested(17))
    assert str(info.value).endswith(
        "loops nest at most 16 deep: instruction 17 opens one at depth 17")


def test_a_very_deep_nesting_is_refused_without_compiling_it_all():
    with pytest.raises(pk.OutOfRange, match="loops nest at most 16 deep"):
        pk.Program.script("deeper", _nested(2000))


# ---- ticket transfers (Waldspurger & Weihl 1994: the giver keeps at least one) --------

def _lottery_threads(*tickets):
    k = make_kernel(pk.sched.Lottery())
    return [k.spawn(cpu_bound(5), tickets=t).threads[0] for t in tickets]


def test_giving_every_ticket_is_refused_naming_what_the_giver_holds():
    a, b = _lottery_threads(10, 10)
    with pytest.raises(pk.OutOfRange) as info:
        a.transfer_tickets(b, 10)
    assert str(info.value) == (f"transfer 10 tickets from tid {a.tid} to tid {b.tid}: tid {a.tid} "
                               f"has 10 tickets: it can give 1 to 9 (a thread keeps at least one), "
                               f"not 10")
    assert (a.tickets, b.tickets) == (10, 10)


def test_a_transfer_to_oneself_is_refused_by_the_core():
    a, = _lottery_threads(10)
    with pytest.raises(pk.InvalidArgs, match="a thread cannot transfer tickets to itself"):
        a.transfer_tickets(a, 1)


def test_a_transfer_past_32_bits_of_tickets_is_refused():
    a, b = _lottery_threads(10, 2**32 - 5)
    with pytest.raises(pk.OutOfRange, match=f"tid {b.tid} would hold 4294967300 tickets, "
                                            f"more than 4294967295"):
        a.transfer_tickets(b, 9)


def test_a_transfer_within_the_rules_moves_the_tickets():
    a, b = _lottery_threads(10, 10)
    a.transfer_tickets(b, 9)
    assert (a.tickets, b.tickets) == (1, 19)


# ---- run-time changes share the spawn's rules (pk_attr_check) -------------------------

@pytest.mark.parametrize("setter,value,text", [
    ("set_nice", 25, "nice must be between -20 and 19, got 25"),            # setpriority(2)
    ("set_nice", -2**70, f"nice must be between -20 and 19, got {-2**70}"),
    ("set_priority", 140, "Priority has 140 levels: priority must be 0..139, got 140"),
    ("set_tickets", 0, "tickets must be between 1 and 4294967295, got 0"),
], ids=lambda v: str(v)[:20])
def test_a_refused_run_time_change_names_the_rule(setter, value, text):
    k = make_kernel(pk.sched.Priority())
    t = k.spawn(cpu_bound(5)).threads[0]
    with pytest.raises(pk.OutOfRange) as info:
        getattr(t, setter)(value)
    assert str(info.value) == f"set {setter[4:]} of tid {t.tid}: {text}"


def test_spawn_and_set_nice_refuse_the_same_values():
    k = make_kernel()
    t = k.spawn(cpu_bound(5)).threads[0]
    for nice in (-21, -20, 19, 20):
        why_spawn, why_set = ffi.new("pk_refusal *"), ffi.new("pk_refusal *")
        a = spawn_args(k, loaded(k, cpu_bound(1)), nice=nice)
        s1 = lib.pk_spawn_check(k._kp, a, 1, why_spawn)
        s2 = lib.pk_attr_check(k._kp, lib.PK_ATTR_NICE, nice, why_set)
        assert s1 == s2 == (0 if -20 <= nice <= 19 else lib.PK_ERR_OUT_OF_RANGE)
    t.set_nice(-20)


@pytest.mark.parametrize("decls,index", [
    ([(lib.PK_TASK_PERIOD, 5), (99, 5)], 1),                                  # unknown parameter
    ([(lib.PK_TASK_PERIOD, 5), (lib.PK_TASK_PERIOD, 5), (lib.PK_TASK_PHASE, 5)], 1),  # twice
    ([(lib.PK_TASK_DEADLINE, 5), (lib.PK_TASK_PHASE, 5)], 1),                 # no period
], ids=["unknown", "twice", "no-period"])
def test_a_refused_task_declaration_names_the_declaration_at_fault(decls, index):
    code = b"".join(struct.pack("<IIQ", lib.PK_OP_TASK, p, v) for p, v in decls)
    with pytest.raises(pk.InvalidArgs, match=rf"instruction {index} \(task\) is refused"):
        pk.Program("T", "script", code=code)


# ---- the epoch: pk_config_check (csrc/core/pk_kernel.c), PK_F_EPOCH ---------------

@pytest.mark.parametrize("epoch", [-1, lib.PK_EPOCH_MAX + 1, 2**64])
def test_an_epoch_out_of_range_is_refused_by_the_core_with_the_value_as_given(epoch):
    # 0 (clock_settime(2): EINVAL for a negative time) .. KTIME_SEC_MAX (include/linux/time64.h)
    with pytest.raises(pk.OutOfRange) as e:
        pk.Kernel(epoch=epoch)
    assert str(e.value) == f"Kernel epoch must be between 0 and 9223372036, got {epoch}"


# ---- a policy's parameters: pk_policy_params_check (csrc/core/pk_kernel.c) ------------
# The ranges: CFS's and EEVDF's tunables at most 1 s (Linux's sysctl bound for
# sched_latency_ns and its kin, kernel/sched/debug.c); Stride's stride1 at most
# 2^32; MLFQ 1 .. 16 levels (OSTEP ch. 8 uses 3); durations up to PK_MAX_TIME.

@pytest.mark.parametrize("make, words", [
    (lambda: pk.sched.RoundRobin(quantum=-5),
     f"RoundRobin quantum must be between 1 and {MAX_TIME} ns, got -5 ns"),
    (lambda: pk.sched.CFS(latency=0), "CFS latency must be between 1 and 1000000000 ns, got 0 ns"),
    (lambda: pk.sched.CFS(wakeup_granularity=-1),
     "CFS wakeup_granularity must be between 0 and 1000000000 ns, got -1 ns"),
    (lambda: pk.sched.EEVDF(slice=10**9 + 1),
     "EEVDF slice must be between 1 and 1000000000 ns, got 1000000001 ns"),
    (lambda: pk.sched.MLFQ(quanta=[1] * 17), "MLFQ levels (quanta given) must be between 1 and 16, got 17"),
    (lambda: pk.sched.MLFQ(quanta=[10, 0]),
     f"MLFQ quanta[1] must be between 1 and {MAX_TIME} ns, got 0 ns"),
    (lambda: pk.sched.MLFQ(quanta=[2**61], allotments=[3]),
     "MLFQ allotments[0] (in quanta of quanta[0]) must be between 1 and 1, got 3"),
    (lambda: pk.sched.Lottery(quantum=2**64),
     f"Lottery quantum must be between 1 and {MAX_TIME} ns, got {2**64} ns"),
    (lambda: pk.sched.Stride(stride1=2**32 + 1), "Stride stride1 must be between 1 and 4294967296, got 4294967297"),
])
def test_policy_parameters_out_of_range_are_refused_by_the_core_when_made(make, words):
    with pytest.raises(pk.OutOfRange) as e:
        make()
    assert str(e.value) == words


def test_a_policy_changed_after_it_was_made_is_refused_when_the_kernel_is_made():
    # the same rule, asked again by pk_config_check when a kernel is configured
    rr = pk.sched.RoundRobin(quantum=10)
    rr.quantum = 0
    with pytest.raises(pk.OutOfRange) as e:
        pk.Kernel(scheduler=rr)
    assert str(e.value) == f"RoundRobin quantum must be between 1 and {MAX_TIME} ns, got 0 ns"


def _params_check(policy, params, quantum=0):
    why = ffi.new("pk_refusal *")
    st = lib.pk_policy_params_check(policy, quantum, ffi.new("uint64_t[]", params), len(params),
                                    why)
    return st, (why.reason, why.field, why.value, why.lo, why.hi)


def test_mlfq_flags_beyond_its_three_are_refused_by_the_one_rule():
    # MLFQ's params[2] holds three flags (io_resets 1, io_to_front 2, OSTEP's
    # conventions 4: PK_MLFQ_FLAGS = 7, csrc/sched/pk_sched_mlfq.c); levels 1,
    # boost 0, flags 8, quantum 10, allotment 1
    st, why = _params_check(lib.PK_POLICY_MLFQ, [1, 0, 8, 10, 1])
    assert st == lib.PK_ERR_OUT_OF_RANGE
    assert why == (lib.PK_R_RANGE, lib.PK_F_PARAM + 2, 8, 0, 7)


@pytest.mark.parametrize("policy, params", [(lib.PK_POLICY_LOTTERY, [10, 1]),
                                            (lib.PK_POLICY_STRIDE, [10, 1 << 20, 1])])
def test_lottery_and_stride_take_exactly_their_parameters(policy, params):
    # Lottery takes its quantum, Stride its quantum and stride1: one more is
    # refused by the rule every policy's init asks (pk_params_check)
    st, why = _params_check(policy, params)
    assert st == lib.PK_ERR_INVALID_ARGS
    assert why == (lib.PK_R_RANGE, lib.PK_F_NPARAMS, len(params), len(params) - 1,
                   len(params) - 1)
