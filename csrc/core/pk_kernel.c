/* pk_kernel.c - kernel lifecycle, spawning, killing and the read-only
 * queries the Python layer uses.  Every entry point validates all of its
 * arguments before touching state. */
#include <stdlib.h>
#include <string.h>
#include "pk_core.h"

/* ---- memory: every byte the core holds is counted ---------------------- */

/* The byte count lives just before the kernel struct in one allocation. */
typedef struct kernel_box { uint64_t bytes; pk_kernel k; } kernel_box;

static uint64_t *mem_counter(pk_kernel *k) {
    return &((kernel_box *)((char *)k - offsetof(kernel_box, k)))->bytes;
}

/* max_memory: would n more bytes pass it?  (Then the allocation fails
 * as if the host had refused it, and the limit is recorded.) */
static inline bool mem_over(pk_kernel *k, size_t n) {
    if (PK_LIKELY(!pk_limit_over(*mem_counter(k), n, k->cfg.max_memory))) return false;
    pk_limit_hit(k, PK_LIMIT_MEMORY);
    return true;
}

void *pk_alloc(pk_kernel *k, size_t n) {
    if (mem_over(k, n)) return NULL;
    void *p = calloc(1, n ? n : 1);
    if (p) *mem_counter(k) += n;
    return p;
}

void *pk_realloc(pk_kernel *k, void *p, size_t old_n, size_t new_n) {
    if (new_n > old_n && mem_over(k, new_n - old_n)) return NULL;
    void *q = realloc(p, new_n ? new_n : 1);
    if (!q) return NULL;
    if (new_n > old_n) memset((char *)q + old_n, 0, new_n - old_n);
    *mem_counter(k) += new_n;
    *mem_counter(k) -= old_n;
    return q;
}

void pk_free(pk_kernel *k, void *p, size_t n) {
    if (!p) return;
    free(p);
    *mem_counter(k) -= n;
}

int pk_vec_grow(pk_kernel *k, void **v, uint32_t *cap, uint32_t want, size_t elem) {
    if (want <= *cap) return 0;
    uint64_t n = *cap ? *cap : 16;
    while (n < want) n *= 2;
    if (n > 0x7fffffffu) return -1;
    void *p = pk_realloc(k, *v, *cap * elem, (size_t)n * elem);
    if (!p) return -1;
    *v = p;
    *cap = (uint32_t)n;
    return 0;
}

uint64_t pk_mem_bytes_of(const pk_kernel *k) {
    return *mem_counter((pk_kernel *)k);
}

/* ---- lifecycle ----------------------------------------------------------- */

/* Fill *why (if given) and return status. */
static int refuse(pk_refusal *why, int status, uint32_t reason, uint32_t field, uint64_t value,
                  uint64_t lo, uint64_t hi) {
    if (why) *why = (pk_refusal){ reason, field, status, 0, value, lo, hi };
    return status;
}

#define RANGE(st, f, v, l, h) refuse(why, (st), PK_R_RANGE, (f), (uint64_t)(v), (uint64_t)(l), (uint64_t)(h))

#define PARAM(i, v, l, h) RANGE(PK_ERR_OUT_OF_RANGE, PK_F_PARAM + (i), (v), (l), (h))

/* The parameters each policy's init takes (pk_sched_*.c), and their
 * ranges: the quantum of RoundRobin, Lottery and Stride 1 .. PK_MAX_TIME;
 * the CFS and EEVDF tunables up to PK_TUNABLE_MAX_NS (sysctl_sched_latency
 * and its kin, kernel/sched/debug.c) and a scaling 0 .. 2; Stride's stride1
 * 1 .. 2^32; MLFQ's 1 .. 16 levels, a boost period up to PK_MAX_TIME, each
 * quantum 1 .. PK_MAX_TIME and each allotment at least 1 with allotment x
 * quantum within PK_MAX_TIME, and its flags within PK_MLFQ_FLAGS.  A
 * parameter missing is INVALID_ARGS, and so is one too many for Lottery and
 * Stride.  The one copy of these rules: config_check asks it, and so does
 * each policy's init (pk_sched_*.c) through pk_rq_params_check; why may be
 * NULL. */
int pk_params_check(uint32_t policy, uint64_t quantum, const uint64_t *p, uint32_t n,
                    pk_refusal *why) {
    static const uint8_t count[] = { [PK_POLICY_CFS] = 4, [PK_POLICY_EEVDF] = 2,
                                     [PK_POLICY_LOTTERY] = 1, [PK_POLICY_STRIDE] = 2,
                                     [PK_POLICY_MLFQ] = 3 };
    if (policy == PK_POLICY_RR && (quantum == 0 || quantum > PK_MAX_TIME))
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_QUANTUM, quantum, 1, PK_MAX_TIME);
    if (n > PK_MAX_PARAMS) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_NPARAMS, n, 0, PK_MAX_PARAMS);
    if (policy < sizeof count && n < count[policy])
        return RANGE(PK_ERR_INVALID_ARGS, PK_F_NPARAMS, n, count[policy], PK_MAX_PARAMS);
    if ((policy == PK_POLICY_LOTTERY || policy == PK_POLICY_STRIDE) && n > count[policy])
        return RANGE(PK_ERR_INVALID_ARGS, PK_F_NPARAMS, n, count[policy], count[policy]);
    switch (policy) {
    case PK_POLICY_CFS:                 /* latency, min_granularity, wakeup_granularity, scale */
        for (uint32_t i = 0; i < 3; i++) {
            uint64_t lo = i < 2 ? 1 : 0;              /* wakeup_granularity may be 0 */
            if (p[i] < lo || p[i] > PK_TUNABLE_MAX_NS) return PARAM(i, p[i], lo, PK_TUNABLE_MAX_NS);
        }
        if (p[3] > 2) return PARAM(3, p[3], 0, 2);
        break;
    case PK_POLICY_EEVDF:               /* slice, scale */
        if (p[0] < 1 || p[0] > PK_TUNABLE_MAX_NS) return PARAM(0, p[0], 1, PK_TUNABLE_MAX_NS);
        if (p[1] > 2) return PARAM(1, p[1], 0, 2);
        break;
    case PK_POLICY_LOTTERY: case PK_POLICY_STRIDE:   /* quantum (, stride1) */
        if (p[0] < 1 || p[0] > PK_MAX_TIME) return PARAM(0, p[0], 1, PK_MAX_TIME);
        if (policy == PK_POLICY_STRIDE && (p[1] < 1 || p[1] > PK_STRIDE1_MAX))
            return PARAM(1, p[1], 1, PK_STRIDE1_MAX);
        break;
    case PK_POLICY_MLFQ: {              /* levels L, boost, flags, L quanta, L allotments */
        uint64_t levels = p[0];
        if (levels < 1 || levels > PK_MLFQ_MAX_LEVELS) return PARAM(0, levels, 1, PK_MLFQ_MAX_LEVELS);
        if (n != 3 + 2 * levels) return RANGE(PK_ERR_INVALID_ARGS, PK_F_NPARAMS, n, 3 + 2 * levels,
                                              3 + 2 * levels);
        if (p[1] > PK_MAX_TIME) return PARAM(1, p[1], 0, PK_MAX_TIME);
        if (p[2] > PK_MLFQ_FLAGS) return PARAM(2, p[2], 0, PK_MLFQ_FLAGS);
        for (uint32_t l = 0; l < levels; l++) {
            uint32_t qi = 3 + l, ai = 3 + (uint32_t)levels + l;
            if (p[qi] < 1 || p[qi] > PK_MAX_TIME) return PARAM(qi, p[qi], 1, PK_MAX_TIME);
            if (p[ai] < 1 || p[ai] > PK_MAX_TIME / p[qi]) return PARAM(ai, p[ai], 1, PK_MAX_TIME / p[qi]);
        }
        break;
    }
    default:
        break;
    }
    return PK_OK;
}

int pk_policy_params_check(uint32_t policy, uint64_t quantum, const uint64_t *params, uint32_t n,
                           pk_refusal *why) {
    if ((n && !params) || !why) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    return pk_params_check(policy, quantum, params, n, why);
}

/* The cost model's fields in pk_costs order, with their ranges. */
static int costs_check(const pk_costs *co, pk_refusal *why) {
    const uint64_t cost[12] = { co->switch_ns, co->migrate_ns, co->walk_ns, co->minor_fault_ns,
                                co->tlb_flush_ns, co->ipi_ns, co->syscall_ns, co->wakeup_ns,
                                co->insn_cycles, co->clock_hz, co->fork_ns, co->socket_ns };
    const uint64_t lo[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1000, 0, 0 };
    const uint64_t hi[12] = { PK_MAX_TIME, PK_MAX_TIME, PK_MAX_TIME / 8, PK_MAX_TIME / 8,
                              PK_MAX_TIME, PK_MAX_TIME, PK_MAX_TIME / 4, PK_MAX_TIME / 4,
                              1000, 1000000000000ull, PK_MAX_TIME, PK_MAX_TIME / 4 };
    for (uint32_t i = 0; i < 12; i++)
        if (cost[i] < lo[i] || cost[i] > hi[i])
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_COST + i, cost[i], lo[i], hi[i]);
    return PK_OK;
}

int pk_costs_check(const pk_costs *costs, pk_refusal *why) {
    if (!costs || !why) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    return costs_check(costs, why);
}

int pk_limits_check(const pk_limits *l, uint64_t frames, uint64_t trace_events, pk_refusal *why) {
    if (!l || !why || l->given >> 8) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    for (uint32_t i = 0; i < 8; i++) {
        uint64_t hi = i == PK_LIM_THREADS ? UINT32_MAX
                    : i == PK_LIM_TRACE_EVENTS ? PK_TRACE_MAX_EVENTS : UINT64_MAX;
        if (l->given >> i & 1 && (l->value[i] == 0 || l->value[i] > hi))
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_LIMIT + i, l->value[i], 1, hi);
    }
    const uint64_t asked[2] = { frames, trace_events };
    for (uint32_t j = 0; j < 2; j++) {
        uint32_t i = PK_LIM_FRAMES + j;
        if (l->given >> i & 1 && asked[j] > l->value[i])
            return refuse(why, PK_ERR_OUT_OF_RANGE, PK_R_ORDER, PK_F_LIMIT + i, asked[j], 1,
                          l->value[i]);
    }
    return PK_OK;
}

static int config_check(const pk_config *c, pk_refusal *why) {
    if (c->cpus < 1 || c->cpus > PK_MAX_CPUS) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_CPUS, c->cpus, 1, PK_MAX_CPUS);
    if (!pk_policy_find(c->policy))
        return refuse(why, PK_ERR_NOT_SUPPORTED, PK_R_UNKNOWN, PK_F_POLICY, c->policy, 0, 0);
    if (c->max_threads == 0) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_MAX_THREADS, 0, 1, UINT32_MAX);
    if (c->livelock_steps == 0) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_LIVELOCK, 0, 1, UINT64_MAX);
    if (c->job_log_limit > PK_JOB_LOG_MAX)
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_JOB_LOG_LIMIT, c->job_log_limit, 0, PK_JOB_LOG_MAX);
    int s = costs_check(&c->costs, why);
    if (s) return s;
    if ((s = pk_params_check(c->policy, c->quantum, c->params, c->nparams, why))) return s;
    if (c->balance_ns > PK_MAX_TIME) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_BALANCE, c->balance_ns, 0, PK_MAX_TIME);
    if (c->rt_slice == 0 || c->rt_slice > PK_MAX_TIME)
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_RT_SLICE, c->rt_slice, 1, PK_MAX_TIME);
    /* throttling: both 0 (off), or 0 < runtime <= period <= PK_MAX_TIME */
    if (c->rt_runtime || c->rt_period) {
        if (c->rt_period == 0 || c->rt_period > PK_MAX_TIME)
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_RT_PERIOD, c->rt_period, 1, PK_MAX_TIME);
        if (c->rt_runtime == 0) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_RT_RUNTIME, 0, 1, c->rt_period);
        if (c->rt_runtime > c->rt_period)
            return refuse(why, PK_ERR_OUT_OF_RANGE, PK_R_ORDER, PK_F_RT_RUNTIME, c->rt_runtime, 1,
                          c->rt_period);
    }
    if (c->no_steal > 1) return RANGE(PK_ERR_INVALID_ARGS, PK_F_NO_STEAL, c->no_steal, 0, 1);
    if (c->steal_ns > PK_MAX_TIME) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_STEAL, c->steal_ns, 0, PK_MAX_TIME);
    if (c->epoch > PK_EPOCH_MAX) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_EPOCH, c->epoch, 0, PK_EPOCH_MAX);
    return PK_OK;
}

int pk_config_check(const pk_config *cfg, pk_refusal *why) {
    if (!cfg || !why) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    return config_check(cfg, why);
}

int pk_kernel_create(const pk_config *cfg, pk_kernel **out) {
    if (!cfg || !out) return PK_ERR_INVALID_ARGS;
    int s = config_check(cfg, NULL);
    if (s) return s;
    kernel_box *box = calloc(1, sizeof *box);
    if (!box) return PK_ERR_NO_MEMORY;
    box->bytes = sizeof *box;
    pk_kernel *k = &box->k;
    k->cfg = *cfg;
    k->ncpus = cfg->cpus;
    k->same_time = PK_FOREVER;
    pk_arena_init(&k->threads, sizeof(pk_thread));
    pk_arena_init(&k->procs, sizeof(pk_proc));
    pk_evq_init(&k->evq);
    pk_rng_seed(&k->rng, cfg->seed);
    k->cpus = pk_alloc(k, k->ncpus * sizeof(pk_cpu));
    k->shared = cfg->shared_rq || k->ncpus == 1;
    k->nrqs = k->shared ? 1 : k->ncpus;
    k->rqs = pk_alloc(k, k->nrqs * sizeof(pk_rq));
    k->masks = pk_alloc(k, 8 * sizeof(pk_mask));
    if (!k->cpus || !k->rqs || !k->masks) { pk_kernel_destroy(k); return PK_ERR_NO_MEMORY; }
    k->masks_cap = 8;
    k->nmasks = 1;                          /* masks[0]: every CPU */
    for (uint32_t i = 0; i < k->ncpus; i++) {
        k->cpus[i].id = i;
        k->cpus[i].timer = PK_FOREVER;
        k->idle_mask[i >> 6] |= 1ull << (i & 63);
        k->masks[0].bits[i >> 6] |= 1ull << (i & 63);
    }
    for (uint32_t i = 0; i < k->nrqs; i++) {
        s = pk_rq_init(k, &k->rqs[i], i);
        if (s) { pk_kernel_destroy(k); return s; }
    }
    if (pk_cputree_init(k, &k->tree, k->ncpus)) { pk_kernel_destroy(k); return PK_ERR_NO_MEMORY; }
    pk_xflags_update(k);
    *out = k;
    return PK_OK;
}

void pk_kernel_destroy(pk_kernel *k) {
    if (!k) return;
    if (k->rqs)
        for (uint32_t i = 0; i < k->nrqs; i++) pk_rq_fini(&k->rqs[i]);
    pk_free(k, k->rqs, k->nrqs * sizeof(pk_rq));
    pk_free(k, k->heap_pos, (size_t)k->heap_pos_cap * sizeof *k->heap_pos);
    pk_free(k, k->masks, k->masks_cap * sizeof(pk_mask));
    for (uint32_t i = 0; i < k->nprogs; i++)
        pk_free(k, k->progs[i].ops, k->progs[i].nops * sizeof(pk_op));
    pk_free(k, k->progs, k->progs_cap * sizeof(pk_prog));
    pk_joblog_fini(k);
    pk_fd_fini(k);
    pk_objects_fini(k);
    pk_hio_fini(k);
    pk_fs_fini(k);
    pk_rv_fini(k);
    pk_mem_fini(k);
    pk_trace_fini(k);
    pk_cache_fini(k);
    pk_arena_fini(k, &k->threads);
    pk_arena_fini(k, &k->procs);
    pk_ptl_fini(k);
    pk_evq_fini(k, &k->evq);
    pk_cputree_fini(k, &k->tree);
    pk_free(k, k->cpus, k->ncpus * sizeof(pk_cpu));
    free((char *)k - offsetof(kernel_box, k));
}

/* ---- affinity masks: interned, so threads name them by a small id ------- */

/* The id of `mask` restricted to existing CPUs, or -1 (empty mask: an
 * error; no memory: -2). */
int64_t pk_mask_intern(pk_kernel *k, const uint64_t *mask4) {
    pk_mask m = { { 0 } };
    bool any = false;
    for (uint32_t w = 0; w < PK_MAX_CPUS / 64; w++) {
        m.bits[w] = mask4[w] & k->masks[0].bits[w];
        any |= m.bits[w] != 0;
    }
    if (!any) return -1;
    for (uint32_t i = 0; i < k->nmasks; i++)
        if (!memcmp(&k->masks[i], &m, sizeof m)) return i;
    if (k->nmasks == k->masks_cap) {
        pk_mask *n = pk_realloc(k, k->masks, k->masks_cap * sizeof(pk_mask), 2 * k->masks_cap * sizeof(pk_mask));
        if (!n) return -2;
        k->masks = n;
        k->masks_cap *= 2;
    }
    k->masks[k->nmasks] = m;
    k->nmasks++;
    pk_xflags_update(k);
    return k->nmasks - 1;
}

/* ---- spawning ------------------------------------------------------------ */

int pk_attr_check(pk_kernel *k, uint32_t attr, int64_t value, pk_refusal *why) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (why) *why = (pk_refusal){ 0 };
    switch (attr) {
    case PK_ATTR_NICE:
        if (value < -20 || value > 19) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_NICE, value, -20, 19);
        return PK_OK;
    case PK_ATTR_PRIORITY:
        if (value < INT32_MIN || value > INT32_MAX)
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_PRIORITY, value, INT32_MIN, INT32_MAX);
        if (k->cfg.policy == PK_POLICY_PRIORITY && (value < 0 || value > 139))
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_PRIORITY, value, 0, 139);
        return PK_OK;
    case PK_ATTR_TICKETS:
        if (value < 1 || value > UINT32_MAX) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_TICKETS, value, 1, UINT32_MAX);
        return PK_OK;
    case PK_ATTR_SLICE:                      /* EEVDF's custom slices; 0: the default */
        if (k->cfg.policy != PK_POLICY_EEVDF)
            return refuse(why, PK_ERR_NOT_SUPPORTED, PK_R_NEEDS_EEVDF, PK_F_SLICE, (uint64_t)value, 0, 0);
        if (value != 0 && (value < (int64_t)PK_SLICE_MIN || value > (int64_t)PK_SLICE_MAX))
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_SLICE, value, PK_SLICE_MIN, PK_SLICE_MAX);
        return PK_OK;
    default:
        return refuse(why, PK_ERR_INVALID_ARGS, PK_R_UNKNOWN, PK_F_ATTR, (uint64_t)attr, 0, 0);
    }
}

int pk_class_check(uint32_t sclass, uint32_t rt_prio, pk_refusal *why) {
    if (why) *why = (pk_refusal){ 0 };
    if (sclass > PK_CLASS_RR)
        return refuse(why, PK_ERR_INVALID_ARGS, PK_R_UNKNOWN, PK_F_CLASS, sclass, 0, 0);
    if (sclass != PK_CLASS_OTHER && (rt_prio < 1 || rt_prio > 99))
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_RT_PRIO, rt_prio, 1, 99);
    return PK_OK;
}

int pk_affinity_check(pk_kernel *k, const uint64_t *mask4, pk_refusal *why) {
    if (!k || !mask4) return PK_ERR_INVALID_ARGS;
    if (why) *why = (pk_refusal){ 0 };
    bool any = false, all = true;
    for (uint32_t w = 0; w < PK_MAX_CPUS / 64; w++) {
        uint64_t beyond = mask4[w] & ~k->masks[0].bits[w];
        if (beyond)
            return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_AFFINITY, w * 64 + (uint32_t)__builtin_ctzll(beyond),
                         0, k->ncpus - 1);
        any |= mask4[w] != 0;
        all &= mask4[w] == k->masks[0].bits[w];
    }
    if (!any) return refuse(why, PK_ERR_INVALID_ARGS, PK_R_AFFINITY_EMPTY, PK_F_AFFINITY, 0, 0, 0);
    /* a shared queue: only policies that pick the first thread a CPU may
     * run (pick_on: FIFO and RoundRobin) take masks */
    if (!all && k->shared && k->ncpus > 1 && !(k->rqs && k->rqs[0].pol && k->rqs[0].pol->pick_on))
        return refuse(why, PK_ERR_NOT_SUPPORTED, PK_R_AFFINITY_SHARED, PK_F_AFFINITY, 0, 0, 0);
    return PK_OK;
}

/* Every rule of a spawn but the limits and host memory; rv: the spawn
 * is pk_rv_spawn's (machine code allowed, one process). */
static int spawn_check(pk_kernel *k, const pk_spawn_args *a, uint32_t count, bool rv,
                       pk_refusal *why) {
    if (count == 0) return RANGE(PK_ERR_INVALID_ARGS, PK_F_COUNT, 0, 1, UINT32_MAX);
    if (a->prog >= k->nprogs)
        return refuse(why, PK_ERR_INVALID_ARGS, PK_R_NO_PROGRAM, PK_F_PROG, a->prog, 0, k->nprogs);
    if (a->at < k->now || a->at > PK_MAX_TIME) return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_AT, a->at, k->now, PK_MAX_TIME);
    int s = pk_attr_check(k, PK_ATTR_NICE, a->nice, why);
    if (s || (s = pk_attr_check(k, PK_ATTR_PRIORITY, a->priority, why))
        || (s = pk_attr_check(k, PK_ATTR_TICKETS, a->tickets, why))) return s;
    if (a->burst != PK_NO_BURST && a->burst > PK_MAX_TIME)
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_BURST, a->burst, 0, PK_MAX_TIME);
    if ((s = pk_class_check(a->sclass, a->rt_prio, why))) return s;
    if (a->cpu < -1 || a->cpu >= (int32_t)k->ncpus)
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_CPU, (int64_t)a->cpu, 0, k->ncpus - 1);
    const pk_prog *prog = &k->progs[a->prog];
    if (prog->task.phase > PK_MAX_TIME - a->at)
        return RANGE(PK_ERR_OUT_OF_RANGE, PK_F_PHASE, a->at + prog->task.phase, 0, PK_MAX_TIME);
    if ((prog->vm || prog->kind == PK_BODY_RV) && !k->mem)
        return refuse(why, PK_ERR_NOT_SUPPORTED, PK_R_NEEDS_MEMORY, PK_F_PROG, a->prog, 0, 0);
    if (prog->kind == PK_BODY_RV && (!rv || count != 1))
        return refuse(why, PK_ERR_NOT_SUPPORTED, PK_R_MACHINE_CODE, PK_F_COUNT, count, 1, 1);
    uint64_t burst = a->burst != PK_NO_BURST ? a->burst : prog->burst;
    if ((k->rqs[0].pol->flags & PK_POL_NEEDS_BURST) && burst == PK_NO_BURST)
        return refuse(why, PK_ERR_INVALID_ARGS, PK_R_NEEDS_BURST, PK_F_BURST,
                      prog->kind != PK_BODY_SCRIPT ? 0
                      : prog->task.period && prog->task.jobs == PK_MAX_TIME ? 2 : 1, 0, PK_MAX_TIME);
    if (a->has_affinity) {
        if ((s = pk_affinity_check(k, a->affinity, why))) return s;
        if (a->cpu >= 0 && !((a->affinity[a->cpu >> 6] >> (a->cpu & 63)) & 1))
            return refuse(why, PK_ERR_INVALID_ARGS, PK_R_NOT_IN_MASK, PK_F_CPU, (uint64_t)a->cpu, 0, 0);
    }
    return PK_OK;
}

int pk_spawn_check(pk_kernel *k, const pk_spawn_args *a, uint32_t count, pk_refusal *why) {
    if (!k || !a || !why) return PK_ERR_INVALID_ARGS;
    *why = (pk_refusal){ 0 };
    return spawn_check(k, a, count, true, why);
}

int pk_spawn(pk_kernel *k, const pk_spawn_args *a, uint32_t count,
             uint32_t *first_pid, uint32_t *first_tid) {
    if (!k || !a || !first_pid || !first_tid) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (k->broken) return k->broken;
    int s = spawn_check(k, a, count, pk_rv_may_make(k, PK_BODY_RV), NULL);
    if (s) return s;
    const pk_prog *prog = &k->progs[a->prog];
    uint64_t burst = a->burst != PK_NO_BURST ? a->burst : prog->burst;
    pk_time at = a->at + prog->task.phase;     /* a periodic task arrives at its phase */
    if ((uint64_t)k->threads.count + count > k->cfg.max_threads) return pk_limit_hit(k, PK_LIMIT_THREADS);
    if (pk_limit_over(k->procs.count, count, k->cfg.max_procs)) return pk_limit_hit(k, PK_LIMIT_PROCS);
    uint32_t affinity = 0;
    if (a->has_affinity) {
        int64_t m = pk_mask_intern(k, a->affinity);
        if (m == -1) return PK_ERR_INVALID_ARGS;
        if (m < 0) return PK_ERR_NO_MEMORY;
        affinity = (uint32_t)m;
    }
    if (affinity && k->shared && k->ncpus > 1 && !k->rqs[0].pol->pick_on) return PK_ERR_NOT_SUPPORTED;
    if (a->cpu >= 0 && affinity && !((k->masks[affinity].bits[a->cpu >> 6] >> (a->cpu & 63)) & 1))
        return PK_ERR_INVALID_ARGS;

    /* reserve first so that nothing below (or in a run) can fail: every
     * thread has at most one pending event, plus the periodic ones */
    uint64_t events = (uint64_t)k->threads.count + count + 8;
    if (events > k->evq.n && pk_evq_reserve(k, &k->evq, (uint32_t)(events - k->evq.n)))
        return PK_ERR_NO_MEMORY;
    if (k->mem && pk_as_reserve(k, count)) return PK_ERR_NO_MEMORY;
    int64_t tid0 = pk_arena_grow(k, &k->threads, count);
    if (tid0 < 0) return PK_ERR_NO_MEMORY;
    int64_t pid0 = pk_arena_grow(k, &k->procs, count);
    if (pid0 < 0) { k->threads.count -= count; return PK_ERR_NO_MEMORY; }

    for (uint32_t i = 0; i < count; i++) {
        pk_thread *t = pk_thread_at(k, (uint32_t)tid0 + i);
        pk_proc *p = pk_proc_at(k, (uint32_t)pid0 + i);
        memset(t, 0, sizeof *t);
        t->tid = (uint32_t)tid0 + i;
        t->pid = (uint32_t)pid0 + i;
        t->prog = a->prog;
        t->kind = (uint8_t)prog->kind;
        t->state = PK_TS_NEW;
        t->cpu = -1;
        t->sclass = (uint8_t)a->sclass;
        t->rt_prio = (uint8_t)(a->sclass ? a->rt_prio : 0);
        t->nice = (int8_t)a->nice;
        t->rq_cpu = a->cpu >= 0 ? (uint16_t)a->cpu : PK_RQ_NONE;
        t->affinity = affinity;
        t->priority = a->priority;
        t->burst = burst;
        t->tickets = a->tickets;
        t->arrival = at;
        t->first_run = t->finish = PK_FOREVER;
        t->since = at;
        if (prog->task.period) pk_task_start(t, &prog->task);
        memset(p, 0, sizeof *p);
        p->prog = a->prog;
        p->first_tid = t->tid;
        p->nthreads = p->live_threads = 1;
        p->state = PK_PS_NEW;
        pk_evq_post(k, &k->evq, at, PK_EV_ARRIVAL, t->tid);
    }
    if (k->mem) pk_vm_spawn(k, (uint32_t)pid0, count);
    k->live_threads += count;
    if (a->sclass != PK_CLASS_OTHER) k->rt_live += count;
    *first_pid = (uint32_t)pid0;
    *first_tid = (uint32_t)tid0;
    return PK_OK;
}

int pk_proc_kill(pk_kernel *k, uint32_t pid, uint32_t reason) {
    if (!k || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (reason == PK_KILL_NONE || reason > PK_KILL_BAD_OP) return PK_ERR_INVALID_ARGS;
    pk_proc *p = pk_proc_at(k, pid);
    if (p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) return PK_ERR_BAD_STATE;
    pk_thread_exit(k, pk_thread_at(k, p->first_tid), -1, reason);
    return PK_OK;
}

/* ---- queries: values as of k->now --------------------------------------- */

static void thread_now(pk_kernel *k, const pk_thread *t, pk_thread_info *o) {
    memset(o, 0, sizeof *o);
    o->tid = t->tid; o->pid = t->pid; o->state = t->state; o->cpu = t->cpu;
    o->priority = t->priority; o->nice = t->nice; o->burst = t->burst;
    o->arrival = t->arrival; o->first_run = t->first_run; o->finish = t->finish;
    o->cpu_time = t->cpu_time; o->wait = pk_thread_wait(k, t); o->blocked = t->blocked;
    o->voluntary_switches = t->nvcsw; o->involuntary_switches = t->nivcsw;
    o->sclass = t->sclass; o->rt_prio = t->rt_prio; o->rq_cpu = t->rq_cpu;
    o->migrations = t->migrations; o->tickets = t->tickets;
    o->level = PK_NO_LEVEL; o->stride_pass = PK_FOREVER;
    if (t->sclass == PK_CLASS_OTHER && t->rq_cpu != PK_RQ_NONE && t->state != PK_TS_NEW
        && !(t->tflags & PK_TF_NEWCLASS)) {      /* it has entered the policy */
        const pk_rq *rq = pk_thread_rq(k, t);
        if (rq->pol->describe) rq->pol->describe(rq, t, o);
    }
    switch (t->state) {
    case PK_TS_READY: o->wait += k->now - t->since; break;
    case PK_TS_BLOCKED: case PK_TS_SLEEPING: case PK_TS_WAITING:
        o->blocked += k->now - t->since;
        break;
    case PK_TS_RUNNING: {
        const pk_cpu *c = &k->cpus[t->cpu];
        if (k->now > c->seg_start) o->cpu_time += k->now - c->seg_start;
        else o->wait -= c->seg_start - k->now;   /* still switching in */
        if (o->first_run > k->now) o->first_run = PK_FOREVER;
        break;
    }
    default: break;
    }
}

int pk_thread_info_get(pk_kernel *k, uint32_t tid, pk_thread_info *out) {
    if (!k || !out || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    thread_now(k, pk_thread_at(k, tid), out);
    return PK_OK;
}

int pk_thread_regs_get(pk_kernel *k, uint32_t tid, pk_regs *out) {
    if (!k || !out || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    const pk_thread *t = pk_thread_at(k, tid);
    if (t->state != PK_TS_RUNNING) { *out = t->regs; return PK_OK; }
    const pk_cpu *c = &k->cpus[t->cpu];
    *out = c->regs;                       /* live, less what ran since the last charge */
    if (k->now > c->seg_start)
        out->x[PK_REG_REM] -= k->cache ? pk_cache_peek(k, c, t, k->now - c->seg_start)
                                       : k->now - c->seg_start;
    return PK_OK;
}

static void proc_now(pk_kernel *k, uint32_t pid, pk_proc_info *o) {
    const pk_proc *p = pk_proc_at(k, pid);
    memset(o, 0, sizeof *o);
    o->pid = pid; o->prog = p->prog; o->state = p->state;
    o->nthreads = p->nthreads; o->first_tid = p->first_tid;
    o->exit_code = p->exit_code; o->kill_reason = p->kill_reason;
    o->first_run = PK_FOREVER;
    o->arrival = PK_FOREVER;
    o->finish = 0;
    uint32_t nx = 0;                               /* threads created later (pk_thread.c) */
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    o->nthreads += nx;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_thread_info ti;
        thread_now(k, pk_thread_at(k, i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads]), &ti);
        if (ti.first_run < o->first_run) o->first_run = ti.first_run;
        if (ti.arrival < o->arrival) o->arrival = ti.arrival;
        if (ti.finish > o->finish) o->finish = ti.finish;   /* FOREVER while one lives */
        o->cpu_time += ti.cpu_time; o->wait += ti.wait; o->blocked += ti.blocked;
        o->voluntary_switches += ti.voluntary_switches;
        o->involuntary_switches += ti.involuntary_switches;
        o->migrations += ti.migrations;
    }
}

int pk_proc_info_get(pk_kernel *k, uint32_t pid, pk_proc_info *out) {
    if (!k || !out || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    proc_now(k, pid, out);
    return PK_OK;
}

int pk_proc_info_bulk(pk_kernel *k, uint32_t first_pid, uint32_t count, pk_proc_info *out) {
    if (!k || (count && !out)) return PK_ERR_INVALID_ARGS;
    if ((uint64_t)first_pid + count > k->procs.count) return PK_ERR_OUT_OF_RANGE;
    for (uint32_t i = 0; i < count; i++) proc_now(k, first_pid + i, &out[i]);
    return PK_OK;
}

int pk_cpu_stats_get(pk_kernel *k, uint32_t cpu, pk_cpu_stats *out) {
    if (!k || !out || cpu >= k->ncpus) return PK_ERR_INVALID_ARGS;
    const pk_cpu *c = &k->cpus[cpu];
    memset(out, 0, sizeof *out);
    out->busy = c->busy; out->idle = c->idle; out->overhead = c->overhead;
    out->switches = c->switches;
    out->running_tid = c->curr ? (int32_t)c->curr->tid : -1;
    out->queued = k->shared ? (cpu == 0 ? k->rqs[0].nr : 0) : k->rqs[cpu].nr;
    out->migrations_in = c->migrations_in;
    if (!c->curr) out->idle += k->now - c->idle_since;
    else if (k->now > c->seg_start) out->busy += k->now - c->seg_start;
    else out->overhead -= c->seg_start - k->now;
    return PK_OK;
}

int pk_kernel_stats_get(pk_kernel *k, pk_kernel_stats *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    out->now = k->now;
    out->context_switches = k->context_switches;
    out->steps = k->steps;
    out->events = k->events;
    out->threads = k->threads.count;
    out->processes = k->procs.count;
    out->live_threads = k->live_threads;
    for (uint32_t i = 0; i < k->nrqs; i++) out->ready += k->rqs[i].nr;
    out->migrations = k->migrations;
    out->balance_runs = k->balance_runs;
    out->pending_events = k->evq.n;
    out->memory_bytes = pk_mem_bytes_of(k);
    return PK_OK;
}

int pk_limits_get(pk_kernel *k, pk_limit_stats *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    out->last = k->limit_last;
    for (uint32_t i = 0; i < PK_LIMITS; i++) out->hits[i] = k->limit_hits[i];
    out->used[PK_LIMIT_MEMORY] = pk_mem_bytes_of(k);
    out->used[PK_LIMIT_THREADS] = k->threads.count;
    out->used[PK_LIMIT_PROCS] = k->procs.count;
    if (k->objs) {
        out->used[PK_LIMIT_HANDLES] = k->objs->st.handles;
        out->used[PK_LIMIT_MESSAGES] = k->objs->st.messages + k->objs->packets;
        out->used[PK_LIMIT_MESSAGE_BYTES] = k->objs->qbytes;
    }
    return PK_OK;
}

int pk_limit_clear(pk_kernel *k) {
    if (!k) return PK_ERR_INVALID_ARGS;
    k->limit_last = PK_LIMIT_NONE;
    k->nomem_why = PK_NOMEM_NONE;
    return PK_OK;
}

int pk_nomem_why(pk_kernel *k, uint32_t *why_out, uint32_t *job_out) {
    if (!k || !why_out || !job_out) return PK_ERR_INVALID_ARGS;
    *why_out = k->nomem_why;
    *job_out = k->nomem_job;
    return PK_OK;
}

int pk_latency_get(pk_kernel *k, pk_latency *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    *out = k->lat;
    return PK_OK;
}

uint64_t pk_kernel_digest(pk_kernel *k) { return k ? k->digest : 0; }
uint64_t pk_kernel_now(pk_kernel *k) { return k ? k->now : 0; }

int pk_kernel_random(pk_kernel *k, uint64_t *out, uint32_t count) {
    if (!k || (count && !out)) return PK_ERR_INVALID_ARGS;
    for (uint32_t i = 0; i < count; i++) out[i] = pk_rng_next(&k->rng);
    return PK_OK;
}
