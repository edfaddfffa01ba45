/* pk_script.c - script programs: validation of compiled instructions and
 * the interpreter that runs them on a CPU's live register file.
 *
 * Register use (also in pk_api.h): pc = index of the next instruction,
 * x[REM] = remaining ns of the compute in progress, x[DEPTH] = active
 * loops, x[LOOP0 + i] = iterations left of the loop at depth i; periodic
 * tasks keep their job state in x[6..13] (pk_periodic.c). */
#include <string.h>
#include "pk_core.h"

#define AGAIN_BUDGET 4096          /* zero-time instructions per advance */

/* Record the periodic-task declaration op (PK_OP_TASK) in *task.  Each
 * parameter may be declared once; see pk_api.h for the ranges. */
static int task_declare(pk_task *task, const pk_op *op, uint32_t *seen) {
    if (op->a < PK_TASK_PERIOD || op->a > PK_TASK_JOBS) return PK_ERR_INVALID_ARGS;
    if (*seen & (1u << op->a)) return PK_ERR_INVALID_ARGS;
    *seen |= 1u << op->a;
    if (op->b > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    bool positive = op->a == PK_TASK_PERIOD || op->a == PK_TASK_DEADLINE;
    if (positive && op->b == 0) return PK_ERR_OUT_OF_RANGE;
    switch (op->a) {
    case PK_TASK_PERIOD: task->period = op->b; break;
    case PK_TASK_DEADLINE: task->deadline = op->b; break;
    case PK_TASK_PHASE: task->phase = op->b; break;
    default: task->jobs = op->b; break;
    }
    return PK_OK;
}

/* The declaration at the start of ops[0..n-1] (PK_OP_TASK instructions),
 * with defaults filled in; task->period stays 0 if there is none.  A
 * declaration without a period is invalid.  On a refusal *at is the
 * instruction at fault (the last declaration if the period is missing). */
static int task_check(const pk_op *ops, uint32_t n, pk_task *task, uint32_t *at) {
    uint32_t seen = 0, i = 0;
    *task = (pk_task){ 0, 0, 0, PK_MAX_TIME };
    for (; i < n && ops[i].code == PK_OP_TASK; i++) {
        int s = task_declare(task, &ops[i], &seen);
        if (s) { *at = i; return s; }
    }
    if (seen && !task->period) { *at = i - 1; return PK_ERR_INVALID_ARGS; }
    if (!task->deadline) task->deadline = task->period;
    return PK_OK;
}

/* Check fork / exec / brk op ops[i] (exec: program a must be a script
 * of k that is not a periodic task). */
static int image_op_check(const pk_kernel *k, const pk_op *ops, uint32_t n, uint32_t i) {
    const pk_op *op = &ops[i];
    switch (op->code) {
    case PK_OP_FORK:
        if (op->b || op->a <= i || op->a > n) return PK_ERR_INVALID_ARGS;
        if (op->a > i + 1 && ops[op->a - 1].code != PK_OP_EXIT) return PK_ERR_INVALID_ARGS;
        return PK_OK;
    case PK_OP_EXEC:
        if (op->b || op->a >= k->nprogs || k->progs[op->a].kind != PK_BODY_SCRIPT
            || k->progs[op->a].task.period) return PK_ERR_INVALID_ARGS;
        return PK_OK;
    default:                    /* BRK: its range is brk_check's */
        return op->a || (op->b & (PK_PAGE_SIZE - 1)) ? PK_ERR_INVALID_ARGS : PK_OK;
    }
}

/* A SPAWN_THREAD at i: its body ops[i+1 .. i+b] ends with THREAD_EXIT and
 * its loops close inside it (the new thread starts with no loop). */
static int thread_body_check(const pk_op *ops, uint32_t n, uint32_t i) {
    const pk_op *op = &ops[i];
    if (op->a != i + 1 || op->b == 0 || op->b >= n - i) return PK_ERR_INVALID_ARGS;
    uint32_t end = i + (uint32_t)op->b;
    if (ops[end].code != PK_OP_THREAD_EXIT) return PK_ERR_INVALID_ARGS;
    for (uint32_t j = i + 1; j <= end; j++) {
        bool loopish = ops[j].code == PK_OP_LOOP || ops[j].code == PK_OP_ENDLOOP;
        if (loopish && (ops[j].a <= i || ops[j].a > end)) return PK_ERR_INVALID_ARGS;
    }
    return PK_OK;
}

/* Record that instruction i (code) broke a rule with status st. */
static int insn_refuse(pk_refusal *why, int st, uint32_t i, uint32_t code) {
    if (why) *why = (pk_refusal){ PK_R_INSN, PK_F_INSN, st, i, code, 0, 0 };
    return st;
}

/* Record that an argument (field) of instruction i is outside [lo, hi]. */
static int insn_range(pk_refusal *why, uint32_t i, uint32_t field, uint64_t v, uint64_t lo,
                      uint64_t hi) {
    if (why) *why = (pk_refusal){ PK_R_RANGE, field, PK_ERR_OUT_OF_RANGE, i, v, lo, hi };
    return PK_ERR_OUT_OF_RANGE;
}

/* Record that a futex word's address (field) of instruction i is not a
 * multiple of 4 (a futex word is a 32-bit word, futex(2)). */
static int insn_align(pk_refusal *why, uint32_t i, uint32_t field, uint64_t v) {
    if (why) *why = (pk_refusal){ PK_R_ALIGN, field, PK_ERR_INVALID_ARGS, i, v, 4,
                                  PK_FUTEX_ADDR_MAX };
    return PK_ERR_INVALID_ARGS;
}

/* The rules of a futex instruction at i (pk_futex.c runs them): its word's
 * address a multiple of 4 up to PK_FUTEX_ADDR_MAX; a condition variable's
 * mutex (in a) likewise and another word; LOCK's flags; why may be NULL. */
static int futex_op_refusal(const pk_op *op, uint32_t i, pk_refusal *why) {
    if (op->b > PK_FUTEX_ADDR_MAX) return insn_range(why, i, PK_F_FUTEX_ADDR, op->b, 0,
                                                     PK_FUTEX_ADDR_MAX);
    if (op->b & 3) return insn_align(why, i, PK_F_FUTEX_ADDR, op->b);
    switch (op->code) {
    case PK_OP_FUTEX_WAIT: case PK_OP_FUTEX_WAKE: return PK_OK;
    case PK_OP_COND_WAIT: case PK_OP_COND_BROADCAST:
        if (op->a & 3) return insn_align(why, i, PK_F_MUTEX_ADDR, op->a);
        if (op->a == op->b) {
            if (why) *why = (pk_refusal){ PK_R_SAME_WORD, PK_F_MUTEX_ADDR, PK_ERR_INVALID_ARGS, i,
                                          op->a, 0, 0 };
            return PK_ERR_INVALID_ARGS;
        }
        return PK_OK;
    case PK_OP_LOCK:
        if (op->a & ~(uint32_t)PK_LOCK_INHERIT) break;
        return PK_OK;
    default:
        if (op->a) break;
        return PK_OK;
    }
    return insn_refuse(why, PK_ERR_INVALID_ARGS, i, op->code);
}

/* Check an instruction on a futex (pk_futex.c runs them). */
int pk_futex_op_check(const pk_op *op) { return futex_op_refusal(op, 0, NULL); }

/* Check an instruction on kernel objects (pk_chan.c runs them) at i:
 * a WAIT's signal set is not empty and fits 32 bits; a refusal is
 * recorded in why (may be NULL). */
static int obj_op_check(const pk_op *op, uint32_t i, pk_refusal *why) {
    if (op->code >= PK_OP_FUTEX_WAIT) return futex_op_refusal(op, i, why);
    if (op->code == PK_OP_TIMEOUT) {
        int st = op->a ? PK_ERR_INVALID_ARGS : op->b > PK_MAX_TIME ? PK_ERR_OUT_OF_RANGE : PK_OK;
        return st ? insn_refuse(why, st, i, op->code) : PK_OK;
    }
    if (op->code != PK_OP_WAIT) return PK_OK;   /* WRITE, READ: ranges in obj_range_check */
    if (op->b == 0 || op->b > 0xffffffffu)
        return insn_range(why, i, PK_F_SIGNALS, op->b, 1, 0xffffffffu);
    return PK_OK;
}

/* Check memory op ops[i] and its ARG words; *args = how many follow it. */
static int vm_op_check(const pk_op *ops, uint32_t n, uint32_t i, uint32_t *args) {
    const pk_op *op = &ops[i];
    *args = op->code == PK_OP_TOUCH ? 0 : op->code == PK_OP_TOUCH_RANGE ? 2 : 1;
    if (i + *args >= n) return PK_ERR_INVALID_ARGS;
    for (uint32_t j = 1; j <= *args; j++)
        if (ops[i + j].code != PK_OP_ARG) return PK_ERR_INVALID_ARGS;
    switch (op->code) {
    case PK_OP_TOUCH: return op->a > 1 ? PK_ERR_INVALID_ARGS : PK_OK;
    case PK_OP_TOUCH_RANGE:          /* the ranges of its arguments: touch_range_check */
        return op->a > PK_PAT_RANDOM || ops[i + 1].a ? PK_ERR_INVALID_ARGS : PK_OK;
    case PK_OP_MAP: return (op->a & ~0x1fffu) ? PK_ERR_INVALID_ARGS : PK_OK;   /* ARG.a: object */
    case PK_OP_PROTECT: return op->a > 7 || ops[i + 1].a ? PK_ERR_INVALID_ARGS : PK_OK;
    default: return op->a || ops[i + 1].a ? PK_ERR_INVALID_ARGS : PK_OK;
    }
}

/* The ranges of the arguments of the object instruction (WRITE, READ,
 * WAIT) at i: its handle slot, and the byte count of a write or a read. */
static int obj_range_check(const pk_op *op, uint32_t i, pk_refusal *why) {
    if (op->a >= PK_HANDLE_SLOTS) return insn_range(why, i, PK_F_SLOT, op->a, 0, PK_HANDLE_SLOTS - 1);
    if (op->code != PK_OP_WAIT && op->b > PK_SOCKET_MAX_CAPACITY)
        return insn_range(why, i, PK_F_NBYTES, op->b, 0, PK_SOCKET_MAX_CAPACITY);
    return PK_OK;
}

/* The range of the BRK at i (its shape passed image_op_check): the heap
 * starts at PK_HEAP_BASE, and user addresses stay below 2^56. */
static int brk_check(const pk_op *op, uint32_t i, pk_refusal *why) {
    if (op->b < PK_HEAP_BASE || op->b >= (1ull << 56))
        return insn_range(why, i, PK_F_BRK, op->b, PK_HEAP_BASE, (1ull << 56) - PK_PAGE_SIZE);
    return PK_OK;
}

/* The ranges of the arguments of the TOUCH_RANGE at i (its shape passed
 * vm_op_check): length and stride 1 .. PK_MAX_TIME, the write ratio
 * 0 .. 65536 sixty-five-thousand-five-hundred-and-thirty-sixths. */
static int touch_range_check(const pk_op *ops, uint32_t i, pk_refusal *why) {
    uint64_t length = ops[i + 1].b, ratio = ops[i + 2].a, stride = ops[i + 2].b;
    if (length == 0 || length > PK_MAX_TIME)
        return insn_range(why, i, PK_F_TOUCH_LENGTH, length, 1, PK_MAX_TIME);
    if (stride == 0 || stride > PK_MAX_TIME)
        return insn_range(why, i, PK_F_TOUCH_STRIDE, stride, 1, PK_MAX_TIME);
    if (ratio > 65536) return insn_range(why, i, PK_F_WRITE_RATIO, ratio, 0, 65536);
    return PK_OK;
}

/* Check a compiled script: known codes, durations in range, loops that
 * nest properly no deeper than PK_LOOP_DEPTH, a periodic-task declaration
 * only at the start and job instructions only after one.  Also computes
 * the total CPU time the script asks for (loops multiplied), or
 * PK_NO_BURST if it does not fit in PK_MAX_TIME or a periodic task with
 * CPU time runs forever, and the declaration.  k NULL: exec targets are
 * not checked (pk_script_check). */
static int script_check(const pk_kernel *k, const pk_op *ops, uint32_t n, uint64_t *burst_out,
                        pk_task *task, uint32_t *vm, pk_refusal *why) {
    uint32_t stack[PK_LOOP_DEPTH];
    uint64_t sum[PK_LOOP_DEPTH + 1];        /* compute so far at each depth...        */
    bool over[PK_LOOP_DEPTH + 1];           /* ...or: it passed PK_MAX_TIME            */
    uint32_t depth = 0;
    if (n > PK_SCRIPT_MAX_INSNS) {
        if (why) *why = (pk_refusal){ PK_R_RANGE, PK_F_INSTRUCTIONS, PK_ERR_OUT_OF_RANGE, 0, n, 0,
                                      PK_SCRIPT_MAX_INSNS };
        return PK_ERR_OUT_OF_RANGE;
    }
    uint32_t at = 0;
    int s = task_check(ops, n, task, &at);
    if (s) return insn_refuse(why, s, at, PK_OP_TASK);
    sum[0] = 0;
    over[0] = false;
    for (uint32_t i = 0; i < n; i++) {
        const pk_op *op = &ops[i];
        uint32_t args = 0;
        switch (op->code) {
        case PK_OP_TASK:                       /* checked above, if a prefix */
            if (i && ops[i - 1].code != PK_OP_TASK) s = PK_ERR_INVALID_ARGS;
            break;
        case PK_OP_RELEASE: case PK_OP_JOB_END:
            if (!task->period || op->a || op->b) s = PK_ERR_INVALID_ARGS;
            break;
        case PK_OP_COMPUTE:
            if (op->b > PK_MAX_TIME) { s = PK_ERR_OUT_OF_RANGE; break; }
            if (!over[depth]) sum[depth] += op->b;           /* both <= 2^62: no wrap */
            if (sum[depth] > PK_MAX_TIME) over[depth] = true;
            break;
        case PK_OP_IO: case PK_OP_SLEEP:
            if (op->b > PK_MAX_TIME) s = PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_POLL:                       /* CPU time, if not preempted */
            if (op->b > PK_MAX_TIME) { s = PK_ERR_OUT_OF_RANGE; break; }
            if (!over[depth]) sum[depth] += op->b;
            if (sum[depth] > PK_MAX_TIME) over[depth] = true;
            break;
        case PK_OP_YIELD:
            break;
        case PK_OP_SPAWN_THREAD:
            s = thread_body_check(ops, n, i);
            break;
        case PK_OP_THREAD_EXIT: case PK_OP_EXIT:
            if ((int64_t)op->b < INT32_MIN || (int64_t)op->b > INT32_MAX) s = PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_CHAN_WRITE: case PK_OP_CHAN_READ: case PK_OP_WAIT:
            if ((s = obj_range_check(op, i, why))) return s;
            if ((s = obj_op_check(op, i, why))) return s;
            break;
        case PK_OP_TIMEOUT:
        case PK_OP_FUTEX_WAIT: case PK_OP_FUTEX_WAKE: case PK_OP_LOCK: case PK_OP_UNLOCK:
        case PK_OP_SEM_WAIT: case PK_OP_SEM_POST: case PK_OP_COND_WAIT: case PK_OP_COND_SIGNAL:
        case PK_OP_COND_BROADCAST:
            if ((s = obj_op_check(op, i, why))) return s;
            break;
        case PK_OP_TOUCH: case PK_OP_TOUCH_RANGE: case PK_OP_MAP: case PK_OP_UNMAP:
        case PK_OP_PROTECT:
            s = vm_op_check(ops, n, i, &args);
            if (!s && (op->code == PK_OP_TOUCH || op->code == PK_OP_TOUCH_RANGE)
                && op->b > PK_TOUCH_ADDR_MAX)          /* the first byte touched */
                return insn_range(why, i, PK_F_ADDRESS, op->b, 0, PK_TOUCH_ADDR_MAX);
            if (!s && op->code == PK_OP_TOUCH_RANGE && (s = touch_range_check(ops, i, why)))
                return s;
            *vm = 1;
            break;
        case PK_OP_FORK: case PK_OP_EXEC: case PK_OP_BRK:
            if (k || op->code != PK_OP_EXEC) s = image_op_check(k, ops, n, i);
            else if (op->b) s = PK_ERR_INVALID_ARGS;
            if (!s && op->code == PK_OP_BRK && (s = brk_check(op, i, why))) return s;
            *vm = 1;
            break;
        case PK_OP_LOOP:
            if (depth == PK_LOOP_DEPTH) {
                if (why) *why = (pk_refusal){ PK_R_RANGE, PK_F_LOOP_DEPTH, PK_ERR_OUT_OF_RANGE, i,
                                              depth + 1, 1, PK_LOOP_DEPTH };
                return PK_ERR_OUT_OF_RANGE;
            }
            if (op->a <= i || op->a >= n || ops[op->a].code != PK_OP_ENDLOOP || ops[op->a].a != i) {
                s = PK_ERR_INVALID_ARGS;
                break;
            }
            if (op->b > PK_MAX_TIME) return insn_range(why, i, PK_F_LOOP_COUNT, op->b, 0, PK_MAX_TIME);
            stack[depth++] = i;
            sum[depth] = 0;
            over[depth] = false;
            break;
        case PK_OP_ENDLOOP: {
            if (depth == 0 || op->a != stack[depth - 1]) { s = PK_ERR_INVALID_ARGS; break; }
            uint64_t body = sum[depth], count = ops[op->a].b;
            bool body_over = over[depth--];
            if (count == 0 || over[depth]) break;            /* a loop run 0 times adds 0 */
            if (body_over || (body && count > PK_MAX_TIME / body)) over[depth] = true;
            else sum[depth] += body * count;
            if (sum[depth] > PK_MAX_TIME) over[depth] = true;
            break;
        }
        default:
            s = PK_ERR_INVALID_ARGS;
        }
        if (s) return insn_refuse(why, s, i, op->code);
        i += args;
    }
    if (depth) return insn_refuse(why, PK_ERR_INVALID_ARGS, stack[depth - 1], PK_OP_LOOP);
    bool none = over[0] || (task->period && task->jobs == PK_MAX_TIME && sum[0]);  /* forever */
    *burst_out = none ? PK_NO_BURST : sum[0];
    return PK_OK;
}

int pk_script_check(const pk_op *ops, uint32_t n, pk_script_info *info, pk_refusal *why) {
    if ((n && !ops) || !info || !why) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    pk_task task;
    uint32_t vm = 0;
    uint64_t burst = PK_NO_BURST;
    int s = script_check(NULL, ops, n, &burst, &task, &vm, why);
    if (s) return s;
    *info = (pk_script_info){ burst, vm, 0 };
    return PK_OK;
}

static int prog_add(pk_kernel *k, uint32_t kind, pk_op *ops, uint32_t n, uint64_t burst,
                    const pk_task *task, uint32_t vm, uint32_t *out) {
    if (k->nprogs == k->progs_cap) {
        uint32_t cap = k->progs_cap ? k->progs_cap * 2 : 16;
        pk_prog *p = pk_realloc(k, k->progs, k->progs_cap * sizeof *p, cap * sizeof *p);
        if (!p) return PK_ERR_NO_MEMORY;
        k->progs = p;
        k->progs_cap = cap;
    }
    k->progs[k->nprogs] = (pk_prog){ kind, n, ops, burst, *task, vm, 0 };
    *out = k->nprogs++;
    return PK_OK;
}

int pk_prog_load_script(pk_kernel *k, const pk_op *ops, uint32_t n, uint32_t *prog_out) {
    if (!k || !prog_out || (n && !ops)) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    uint64_t burst;
    pk_task task;
    uint32_t vm = 0;
    int s = script_check(k, ops, n, &burst, &task, &vm, NULL);
    if (s) return s;
    pk_op *copy = NULL;
    if (n) {
        copy = pk_alloc(k, n * sizeof *copy);
        if (!copy) return PK_ERR_NO_MEMORY;
        memcpy(copy, ops, n * sizeof *copy);
    }
    s = prog_add(k, PK_BODY_SCRIPT, copy, n, burst, &task, vm, prog_out);
    if (s) pk_free(k, copy, n * sizeof *copy);
    return s;
}

int pk_prog_load_host(pk_kernel *k, uint32_t *prog_out) {
    if (!k || !prog_out) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    static const pk_task none = { 0, 0, 0, 0 };
    return prog_add(k, PK_BODY_HOST, NULL, 0, PK_NO_BURST, &none, 0, prog_out);
}

int pk_prog_burst(pk_kernel *k, uint32_t prog, uint64_t *burst_out) {
    if (!k || !burst_out || prog >= k->nprogs) return PK_ERR_INVALID_ARGS;
    *burst_out = k->progs[prog].burst;
    return PK_OK;
}

/* Run t's instructions from its pc until one that takes time. */
static int script_advance(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t *arg) {
    pk_regs *r = &c->regs;
    const pk_prog *p = &k->progs[t->prog];
    const pk_op *ops = p->ops;
    const uint64_t n = p->nops;
    uint64_t pc = r->pc;
    int act = PK_ACT_AGAIN;
    unsigned budget;
    r->flags = (r->flags | PK_RF_STARTED) & ~(uint64_t)(PK_RF_POLL | PK_RF_COMPUTE);
    for (budget = AGAIN_BUDGET; budget; budget--) {
        if (pc >= n) { *arg = 0; act = PK_ACT_EXIT; break; }  /* ran off the end: exit(0) */
        const pk_op *op = &ops[pc++];
        switch (op->code) {
        case PK_OP_COMPUTE:
            if (!op->b) continue;
            r->x[PK_REG_REM] = op->b;
            r->flags |= PK_RF_COMPUTE;
            act = PK_ACT_RUN;
            break;
        case PK_OP_IO: *arg = op->b; act = PK_ACT_BLOCK; break;
        case PK_OP_SLEEP: *arg = op->b; act = PK_ACT_SLEEP; break;
        case PK_OP_POLL:
            if (!op->b) continue;
            pk_poll_begin(k, r, op->b);
            act = PK_ACT_RUN;
            break;
        case PK_OP_YIELD: act = PK_ACT_YIELD; break;
        case PK_OP_EXIT: *arg = op->b; act = PK_ACT_EXIT; break;
        case PK_OP_LOOP:
            if (op->b == 0) pc = (uint64_t)op->a + 1;
            else r->x[PK_REG_LOOP0 + r->x[PK_REG_DEPTH]++] = op->b;
            continue;
        case PK_OP_ENDLOOP: {
            uint64_t d = r->x[PK_REG_DEPTH] - 1;
            if (--r->x[PK_REG_LOOP0 + d]) pc = (uint64_t)op->a + 1;
            else r->x[PK_REG_DEPTH] = d;
            continue;
        }
        case PK_OP_TASK: continue;            /* a declaration, applied at spawn */
        case PK_OP_RELEASE:
            switch (pk_job_release(k, r, arg)) {
            case PK_JOB_WAIT: pc--; act = PK_ACT_SLEEP; break;   /* begin it on waking */
            case PK_JOB_YIELD: act = PK_ACT_YIELD; break;
            default: continue;
            }
            break;
        case PK_OP_JOB_END: pk_job_end(k, r, t->tid); continue;
        case PK_OP_SPAWN_THREAD: case PK_OP_THREAD_EXIT: {
            r->pc = pc;
            int a = pk_script_thread_op(k, t, r, op, arg);   /* pk_thread.c */
            pc = r->pc;
            if (a < 0) continue;
            act = a;
            break;
        }
        case PK_OP_CHAN_WRITE: case PK_OP_CHAN_READ: case PK_OP_WAIT: case PK_OP_TIMEOUT:
        case PK_OP_FUTEX_WAIT: case PK_OP_FUTEX_WAKE: case PK_OP_LOCK: case PK_OP_UNLOCK:
        case PK_OP_SEM_WAIT: case PK_OP_SEM_POST: case PK_OP_COND_WAIT: case PK_OP_COND_SIGNAL:
        case PK_OP_COND_BROADCAST: {
            r->pc = pc;
            PK_TRACE_CUR(k, t);                      /* IPC events name t */
            int a = pk_script_obj_op(k, t, r, op);   /* pk_chan.c */
            pc = r->pc;
            if (a < 0) continue;
            act = a;
            break;
        }
        case PK_OP_TOUCH: case PK_OP_TOUCH_RANGE: case PK_OP_MAP: case PK_OP_UNMAP:
        case PK_OP_PROTECT: case PK_OP_FORK: case PK_OP_EXEC: case PK_OP_BRK:
            PK_TRACE_CUR(k, t);                      /* fault events name t */
            act = pk_vm_script_op(k, c, t, op, &pc, arg);
            if (act == PK_VM_NEW_IMAGE) { pc = 0; act = PK_ACT_AGAIN; break; }   /* exec */
            if (act < 0) { act = PK_ACT_AGAIN; continue; }
            break;
        default:                      /* unreachable: validated at load */
            k->broken = PK_ERR_INTERNAL;
            break;
        }
        break;
    }
    r->pc = pc;
    k->same_steps += AGAIN_BUDGET - budget;   /* host work: the zero-time instructions run
                                                 (pk_kernel_run) */
    return act;
}

const pk_body_ops pk_script_body = { script_advance, PK_BODY_F_WAIT_REG, NULL };
