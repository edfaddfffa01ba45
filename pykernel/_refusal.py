"""Messages for the core's refusals of spawns, kernel configurations and
scripts.

The C core states each rule once (``spawn_check`` and ``config_check`` in
csrc/core/pk_kernel.c, ``script_check`` in csrc/core/pk_script.c) and, through
``pk_spawn_check``, ``pk_config_check`` and ``pk_script_check``, fills a
``pk_refusal`` record saying which rule refused: a reason (``PK_R_*``),
the field refused (``PK_F_*``), its value and the bounds accepted. This
module is the one table that turns those enum values into words; it holds
no rule of its own (docs/architecture.md, "Where rules live").
"""

from __future__ import annotations

from ._ffi import MAX_TIME, NO_BURST, ffi, lib
from ._validate import ctype_bounds
from .errors import error

__all__ = ["FIELDS", "explain", "spawn_error", "config_error", "config_check", "costs_error",
           "script_check", "OP_NAMES"]

_MASK64 = 0xFFFFFFFFFFFFFFFF

# PK_F_* -> (the name a message uses, whether the C field is signed)
FIELDS = {
    lib.PK_F_PROG: ("program", False), lib.PK_F_AT: ("at", False),
    lib.PK_F_NICE: ("nice", True), lib.PK_F_BURST: ("burst", False),
    lib.PK_F_CLASS: ("policy", False), lib.PK_F_RT_PRIO: ("rt_priority", False),
    lib.PK_F_TICKETS: ("tickets", False), lib.PK_F_CPU: ("cpu", True),
    lib.PK_F_PRIORITY: ("priority", True), lib.PK_F_PHASE: ("at + phase", False),
    lib.PK_F_AFFINITY: ("affinity CPU", False), lib.PK_F_COUNT: ("count", False),
    lib.PK_F_TICKETS_GIVEN: ("tickets given", False),
    lib.PK_F_TICKETS_TAKEN: ("tickets held", False), lib.PK_F_TID: ("tid", False),
    lib.PK_F_ATTR: ("thread attribute", False), lib.PK_F_SLICE: ("slice", False),
    lib.PK_F_CPUS: ("Kernel cpus", False), lib.PK_F_POLICY: ("scheduler", False),
    lib.PK_F_QUANTUM: ("RoundRobin quantum", False),
    lib.PK_F_MAX_THREADS: ("max_threads", False),
    lib.PK_F_LIVELOCK: ("Kernel livelock_steps", False),
    lib.PK_F_NPARAMS: ("scheduler parameters", False),
    lib.PK_F_BALANCE: ("balance_interval", False), lib.PK_F_RT_SLICE: ("rt_slice", False),
    lib.PK_F_RT_RUNTIME: ("rt_throttle runtime", False),
    lib.PK_F_RT_PERIOD: ("rt_throttle period", False),
    lib.PK_F_JOB_LOG_LIMIT: ("Kernel job_log_limit", False),
    lib.PK_F_NO_STEAL: ("Kernel steal", False), lib.PK_F_STEAL: ("Kernel steal_interval", False),
    lib.PK_F_EPOCH: ("Kernel epoch", False),
    lib.PK_F_INSTRUCTIONS: ("instructions", False), lib.PK_F_INSN: ("instruction", False),
    lib.PK_F_LOOP_DEPTH: ("loop depth", False),
    lib.PK_F_LOOP_COUNT: ("loop count", False),
    lib.PK_F_TOUCH_LENGTH: ("touch_range length", False),
    lib.PK_F_TOUCH_STRIDE: ("touch_range stride", False),
    lib.PK_F_WRITE_RATIO: ("touch_range write_ratio", False),
    lib.PK_F_SLOT: ("handle slot", False), lib.PK_F_NBYTES: ("nbytes", False),
    lib.PK_F_BRK: ("brk address", False), lib.PK_F_FUTEX_ADDR: ("futex word address", False),
    lib.PK_F_MUTEX_ADDR: ("mutex address", False), lib.PK_F_SIGNALS: ("wait signals", False),
    lib.PK_F_ADDRESS: ("address", False),
}
_LIMIT_NAMES = ("max_memory", "max_threads", "max_processes", "max_handles", "max_messages",
                "max_message_bytes", "max_frames", "max_trace_events")   # PK_LIM_* order
for _i, _name in enumerate(_LIMIT_NAMES):
    FIELDS[lib.PK_F_LIMIT + _i] = (f"Limits {_name}", False)
for _i in range(lib.PK_F_PARAM_LAST - lib.PK_F_PARAM + 1):       # named by the policy
    FIELDS[lib.PK_F_PARAM + _i] = (f"scheduler parameter {_i}", False)
# pk_costs fields in their C order (PK_F_COST + i) and their names in pk.Costs
COST_FIELDS = ("switch", "migrate", "page_walk", "minor_fault", "tlb_flush", "ipi", "syscall",
               "wakeup", "insn_cycles", "clock_hz", "fork", "socket")
for _i, _name in enumerate(COST_FIELDS):
    FIELDS[lib.PK_F_COST + _i] = (f"Costs.{_name}", False)
# fields whose values are durations (the message says "ns")
_NS = {lib.PK_F_AT, lib.PK_F_BURST, lib.PK_F_PHASE, lib.PK_F_QUANTUM, lib.PK_F_BALANCE,
       lib.PK_F_SLICE, lib.PK_F_STEAL,
       lib.PK_F_RT_SLICE, lib.PK_F_RT_RUNTIME, lib.PK_F_RT_PERIOD} | {
    lib.PK_F_COST + i for i, n in enumerate(COST_FIELDS) if n not in ("insn_cycles", "clock_hz")}

# PK_OP_* -> the name of the pk.op operation (or instruction) it encodes
OP_NAMES = {getattr(lib, n): n[len("PK_OP_"):].lower() for n in dir(lib)
            if n.startswith("PK_OP_") and n != "PK_OP_LAST"}

# the script fields that are an argument of one instruction -> its PK_OP_*
_SCRIPT_ARGS = {lib.PK_F_LOOP_COUNT: lib.PK_OP_LOOP, lib.PK_F_TOUCH_LENGTH: lib.PK_OP_TOUCH_RANGE,
                lib.PK_F_TOUCH_STRIDE: lib.PK_OP_TOUCH_RANGE,
                lib.PK_F_WRITE_RATIO: lib.PK_OP_TOUCH_RANGE, lib.PK_F_SLOT: None,
                lib.PK_F_NBYTES: None, lib.PK_F_BRK: lib.PK_OP_BRK, lib.PK_F_FUTEX_ADDR: None,
                lib.PK_F_MUTEX_ADDR: None, lib.PK_F_SIGNALS: lib.PK_OP_WAIT,
                lib.PK_F_ADDRESS: None}   # None: the instruction's own

_STATUS_WORDS = {lib.PK_ERR_OUT_OF_RANGE: "an operand is out of range",
                 lib.PK_ERR_INVALID_ARGS: "it is malformed"}


def _signed(v: int) -> int:
    return v - (1 << 64) if v >> 63 else v


def _values(why) -> tuple[int, int, int]:
    """The record's value and bounds as Python ints (signed fields
    converted from two's complement)."""
    signed = FIELDS.get(why.field, ("", False))[1]
    conv = _signed if signed else (lambda v: v)
    return conv(why.value), conv(why.lo), conv(why.hi)


def _range_text(why, name: str, value: int, lo: int, hi: int) -> str:
    unit = " ns" if why.field in _NS else ""
    f = why.field
    if f == lib.PK_F_AT and value < lo:
        return f"spawn at={value} is in the past (now is {lo} ns)"
    if f == lib.PK_F_PHASE:
        return (f"a periodic task arrives at at + phase = {value} ns, beyond the largest time "
                f"{hi}")
    if f == lib.PK_F_PRIORITY and lo >= 0:          # the Priority policy's levels
        return f"Priority has {hi - lo + 1} levels: priority must be {lo}..{hi}, got {value}"
    if f == lib.PK_F_CPU:
        return f"cpu must be between {lo} and {hi} (the kernel has {hi + 1} CPUs), got {value}"
    if f == lib.PK_F_LIMIT + lib.PK_LIM_FRAMES and why.reason == lib.PK_R_ORDER:
        return f"Memory(frames={value}) passes the frame limit (max_frames={hi})"
    if f == lib.PK_F_LIMIT + lib.PK_LIM_TRACE_EVENTS and why.reason == lib.PK_R_ORDER:
        return f"trace={value} events passes the trace limit (max_trace_events={hi})"
    if f == lib.PK_F_RT_RUNTIME and why.reason == lib.PK_R_ORDER:
        return f"rt_throttle needs 0 < runtime <= period: runtime {value} ns is above the period {hi} ns"
    if f == lib.PK_F_TICKETS_GIVEN:
        return (f"tid {why.index} has {hi + 1} tickets: it can give 1 to {hi} (a thread keeps at "
                f"least one), not {value}")
    if f == lib.PK_F_TICKETS_TAKEN:
        return f"tid {why.index} would hold {value} tickets, more than {hi}"
    if f == lib.PK_F_LOOP_DEPTH:
        return f"loops nest at most {hi} deep: instruction {why.index} opens one at depth {value}"
    if f in _SCRIPT_ARGS:                       # an argument of instruction why.index
        code = _SCRIPT_ARGS[f]
        at = f"instruction {why.index}" + (f" ({OP_NAMES[code]})" if code is not None else "")
        if f == lib.PK_F_WRITE_RATIO:           # in 1/65536ths in the core
            shown = value if isinstance(value, float) else value / 65536
            return f"{at}: {name} must be between {lo / 65536} and {hi / 65536}, got {shown}"
        return f"{at}: {name} must be between {lo} and {hi}, got {value}"
    if f == lib.PK_F_INSTRUCTIONS:
        return f"a script has at most {hi} instructions, got {value}"
    return f"{name} must be between {lo} and {hi}{unit}, got {value}{unit}"


def explain(why, program: str | None = None, policy: str | None = None,
            given: dict | None = None) -> str:
    """The words for a ``pk_refusal`` record. ``program`` (the program's
    name) and ``policy`` (the scheduler's) complete spawn messages;
    ``given`` holds values clamped to fit their C field
    (:func:`pykernel._validate.put`), named as given."""
    r = why.reason
    name = FIELDS.get(why.field, (f"field {why.field}", False))[0]
    value, lo, hi = _values(why)
    if given and why.field in given:
        value = given[why.field][1]
    prog = repr(program) if program is not None else "the program"
    if r == lib.PK_R_RANGE or r == lib.PK_R_ORDER:
        return _range_text(why, name, value, lo, hi)
    if r == lib.PK_R_NEEDS_BURST:
        pol = policy or "this scheduler"
        if value == 2:
            return (f"{pol} schedules by declared CPU burst, and {prog} declares none: it is a "
                    f"periodic task that runs forever (jobs=None); pass burst= to spawn it")
        if value:
            return (f"{pol} schedules by declared CPU burst, and {prog} declares none: its total "
                    f"compute (loops multiplied) passes the largest time, {MAX_TIME} ns; "
                    f"pass burst= to spawn it")
        return f"{pol} schedules by declared CPU burst: pass burst= to spawn {prog}"
    if r == lib.PK_R_NEEDS_MEMORY:
        return f"{prog} touches or maps memory: it needs a kernel with memory=pk.Memory(...)"
    if r == lib.PK_R_MACHINE_CODE:
        return "machine-code programs are spawned one at a time (Kernel.spawn)"
    if r == lib.PK_R_NO_PROGRAM:
        return f"program {value} is not loaded in this kernel ({hi} are)"
    if r == lib.PK_R_UNKNOWN:
        return f"{name} {value} does not exist in this build"
    if r == lib.PK_R_AFFINITY_EMPTY:
        return "affinity must name at least one CPU"
    if r == lib.PK_R_AFFINITY_SHARED:
        return (f"affinity masks on a shared run queue need FIFO or RoundRobin, not "
                f"{policy or 'this scheduler'}; or per-CPU run queues: "
                'pk.Kernel(..., runqueues="per-cpu")')
    if r == lib.PK_R_NEEDS_EEVDF:
        return (f"a thread's own slice is EEVDF's (Linux's sched_attr.sched_runtime); "
                f"{policy or 'this scheduler'} has none")
    if r == lib.PK_R_NOT_IN_MASK:
        return f"cpu={value} is not in the affinity mask"
    if r == lib.PK_R_SAME_THREAD:
        return "a thread cannot transfer tickets to itself"
    if r == lib.PK_R_ALIGN:
        return (f"instruction {why.index}: {name} must be a multiple of {lo} between 0 and {hi}, "
                f"got {value}")
    if r == lib.PK_R_SAME_WORD:
        return (f"instruction {why.index}: {name} {value} is the condition variable's address; "
                f"a mutex is another word")
    if r == lib.PK_R_INSN:
        op = OP_NAMES.get(value, f"code {value}")
        return (f"instruction {why.index} ({op}) is refused: "
                f"{_STATUS_WORDS.get(why.status, 'it breaks a rule of its kind')}")
    return f"refused (reason {r}, field {why.field})"


# the C struct member each field is, for asking the core about a value
# clamped to its type (pk_spawn_args, pk_config)
_SPAWN_MEMBERS = {lib.PK_F_NICE: "nice", lib.PK_F_PRIORITY: "priority", lib.PK_F_BURST: "burst",
                  lib.PK_F_TICKETS: "tickets", lib.PK_F_RT_PRIO: "rt_prio", lib.PK_F_CPU: "cpu"}
_CONFIG_MEMBERS = {lib.PK_F_CPUS: "cpus", lib.PK_F_LIVELOCK: "livelock_steps",
                   lib.PK_F_JOB_LOG_LIMIT: "job_log_limit", lib.PK_F_EPOCH: "epoch"}
_C_COSTS = ("switch_ns", "migrate_ns", "walk_ns", "minor_fault_ns", "tlb_flush_ns", "ipi_ns",
            "syscall_ns", "wakeup_ns", "insn_cycles", "clock_hz", "fork_ns", "socket_ns")
_CONFIG_MEMBERS.update({lib.PK_F_COST + i: "costs." + m for i, m in enumerate(_C_COSTS)})


def _unfit(given: dict, target, members: dict, check, what: str = "") -> Exception | None:
    """The error for the first value of ``given`` that did not fit its C
    field although the core accepted it clamped: the core's bounds for
    the field if its other end is refused (``check()`` -> (status,
    record)), else the size of the C type. None if ``given`` is empty."""
    for field, (name, value, ctype) in given.items():
        lo, hi, words = ctype_bounds(ctype)
        path = members.get(field, "").split(".")
        if path != [""]:
            obj = target
            for part in path[:-1]:
                obj = getattr(obj, part)
            old = getattr(obj, path[-1])
            # the type's other end (its all-ones value less one: the core
            # reads all ones as "none" in some fields, e.g. PK_NO_BURST)
            setattr(obj, path[-1], hi - 1 if value < lo else lo)
            try:
                status, why = check()
            finally:
                setattr(obj, path[-1], old)
            if status and why.reason == lib.PK_R_RANGE and why.field == field:
                _, rlo, rhi = _values(why)
                unit = " ns" if field in _NS else ""
                return error(status, what, f"{name} must be between {rlo} and {rhi}{unit}, "
                                           f"got {value}{unit}")
        return ValueError(f"{name} must fit in {words}, got {value}")
    return None


def spawn_error(kp, args, count: int, what: str, program: str, policy: str,
                given: dict | None = None) -> Exception | None:
    """The exception for a spawn the core refuses (``pk_spawn_check``), or
    for a value that does not fit its C field; None if the spawn passes
    every rule (a limit or host memory may still refuse it)."""
    why = ffi.new("pk_refusal *")
    status = lib.pk_spawn_check(kp, args, count, why)
    if status == 0:
        def check():
            return lib.pk_spawn_check(kp, args, count, why), why
        return _unfit(given or {}, args, _SPAWN_MEMBERS, check, what)
    return error(status, what, explain(why, program, policy, given))


def costs_error(costs, given: dict) -> Exception | None:
    """The exception for a cost model (a filled ``pk_costs``) the core
    refuses (``pk_costs_check``), or None."""
    why = ffi.new("pk_refusal *")

    def check():
        return lib.pk_costs_check(costs, why), why
    status, _ = check()
    if status == 0:
        members = {lib.PK_F_COST + i: m for i, m in enumerate(_C_COSTS)}
        return _unfit(given, costs, members, check)
    return error(status, "", explain(why, given=given))


_U64 = (1 << 64) - 1


def policy_error(policy: int, quantum, params: list, names: list) -> Exception | None:
    """The exception for a policy's parameters the core refuses
    (``pk_policy_params_check``), or None. ``quantum``: RoundRobin's (else
    0); ``params``: what the policy passes in ``pk_config.params``;
    ``names``: (name, in ns) of each of them, for the message. A value no
    uint64 holds goes in as 2**64 - 1 (above every parameter's range) and
    the message shows it as given."""
    given = {}
    if not 0 <= quantum <= _U64:
        given[lib.PK_F_QUANTUM] = ("quantum", quantum, "u64")
        quantum = _U64
    words = []
    for i, v in enumerate(params):
        if not 0 <= v <= _U64:
            given[lib.PK_F_PARAM + i] = (names[i][0], v, "u64")
            v = _U64
        words.append(v)
    why = ffi.new("pk_refusal *")
    arr = ffi.new("uint64_t[]", words) if words else ffi.NULL
    status = lib.pk_policy_params_check(policy, quantum, arr, len(words), why)
    if status == 0:
        return None
    i = why.field - lib.PK_F_PARAM
    if 0 <= i < len(names) and why.reason == lib.PK_R_RANGE:
        name, ns = names[i]
        value = given[why.field][1] if why.field in given else why.value
        unit = " ns" if ns else ""
        return error(status, "", f"{name} must be between {why.lo} and {why.hi}{unit}, "
                                 f"got {value}{unit}")
    return error(status, "", explain(why, given=given))


def config_check(cfg) -> tuple[int, object]:
    """``pk_config_check`` on a filled ``pk_config``: (status, record)."""
    why = ffi.new("pk_refusal *")
    return lib.pk_config_check(cfg, why), why


def config_error(cfg, what: str, given: dict | None = None) -> Exception | None:
    """The exception for a configuration the core refuses, or for a value
    that does not fit its C field; None if it passes."""
    status, why = config_check(cfg)
    if status == 0:
        return _unfit(given or {}, cfg, _CONFIG_MEMBERS, lambda: config_check(cfg))
    return error(status, what, explain(why, given=given))


def script_check(code: bytes, n: int, what: str,
                 given: dict | None = None) -> tuple[int | None, bool]:
    """Check a compiled script with the core's rules (``pk_script_check``,
    exec targets aside) and return (burst or None, whether it needs
    memory); a refusal raises the typed error naming the instruction, with
    the instruction's index as its ``instruction`` attribute (None if the
    refusal is about the whole script) and the words of the refusal alone
    as its ``explanation``. ``given``: (instruction index,
    PK_F_*) -> an argument as given, where the compiled word holds a value
    the core refuses in its place (it did not fit the word)."""
    why = ffi.new("pk_refusal *")
    info = ffi.new("pk_script_info *")
    ops = ffi.from_buffer("pk_op[]", code) if n else ffi.NULL
    status = lib.pk_script_check(ops, n, info, why)
    if status:
        shown = {}
        if given and (why.index, why.field) in given:
            shown[why.field] = (FIELDS[why.field][0], given[why.index, why.field], "u64")
        text = explain(why, given=shown)
        exc = error(status, what, text)
        exc.instruction = why.index if why.field != lib.PK_F_INSTRUCTIONS else None
        exc.explanation = text
        raise exc
    return (None if info.burst == NO_BURST else info.burst), bool(info.memory)
