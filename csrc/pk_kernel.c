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

static int config_check(const pk_config *c) {
    if (c->cpus < 1 || c->cpus > PK_MAX_CPUS) return PK_ERR_OUT_OF_RANGE;
    if (!pk_policy_find(c->policy)) return PK_ERR_NOT_SUPPORTED;
    if (c->policy == PK_POLICY_RR && (c->quantum == 0 || c->quantum > PK_MAX_TIME))
        return PK_ERR_OUT_OF_RANGE;
    if (c->max_threads == 0) return PK_ERR_OUT_OF_RANGE;
    if (c->livelock_steps == 0) return PK_ERR_OUT_OF_RANGE;
    const pk_costs *co = &c->costs;
    if (co->switch_ns > PK_MAX_TIME || co->migrate_ns > PK_MAX_TIME || co->walk_ns > PK_MAX_TIME / 8
        || co->minor_fault_ns > PK_MAX_TIME / 8 || co->tlb_flush_ns > PK_MAX_TIME
        || co->ipi_ns > PK_MAX_TIME || co->syscall_ns > PK_MAX_TIME / 4
        || co->wakeup_ns > PK_MAX_TIME / 4 || co->fork_ns > PK_MAX_TIME
        || co->socket_ns > PK_MAX_TIME / 4) return PK_ERR_OUT_OF_RANGE;
    if (co->insn_cycles < 1 || co->insn_cycles > 1000 || co->clock_hz < 1000
        || co->clock_hz > 1000000000000ull) return PK_ERR_OUT_OF_RANGE;
    if (c->nparams > PK_MAX_PARAMS) return PK_ERR_OUT_OF_RANGE;
    if (c->balance_ns > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (c->rt_slice == 0 || c->rt_slice > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (c->rt_runtime && (c->rt_period == 0 || c->rt_period > PK_MAX_TIME
                          || c->rt_runtime > c->rt_period)) return PK_ERR_OUT_OF_RANGE;
    if (c->epoch > PK_EPOCH_MAX) return PK_ERR_OUT_OF_RANGE;
    return PK_OK;
}

int pk_kernel_create(const pk_config *cfg, pk_kernel **out) {
    if (!cfg || !out) return PK_ERR_INVALID_ARGS;
    int s = config_check(cfg);
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
    *out = k;
    return PK_OK;
}

void pk_kernel_destroy(pk_kernel *k) {
    if (!k) return;
    if (k->rqs)
        for (uint32_t i = 0; i < k->nrqs; i++) pk_rq_fini(&k->rqs[i]);
    pk_free(k, k->rqs, k->nrqs * sizeof(pk_rq));
    pk_free(k, k->masks, k->masks_cap * sizeof(pk_mask));
    for (uint32_t i = 0; i < k->nprogs; i++)
        pk_free(k, k->progs[i].ops, k->progs[i].nops * sizeof(pk_op));
    pk_free(k, k->progs, k->progs_cap * sizeof(pk_prog));
    pk_joblog_fini(k);
    pk_fd_fini(k);
    pk_objects_fini(k);
    pk_fs_fini(k);
    pk_rv_fini(k);
    pk_mem_fini(k);
    pk_trace_fini(k);
    pk_arena_fini(k, &k->threads);
    pk_arena_fini(k, &k->procs);
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
    return k->nmasks++;
}

/* ---- spawning ------------------------------------------------------------ */

static int spawn_check(pk_kernel *k, const pk_spawn_args *a) {
    if (a->prog >= k->nprogs) return PK_ERR_INVALID_ARGS;
    if (a->at < k->now || a->at > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (a->nice < -20 || a->nice > 19) return PK_ERR_OUT_OF_RANGE;
    if (a->burst != PK_NO_BURST && a->burst > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (a->sclass > PK_CLASS_RR) return PK_ERR_INVALID_ARGS;
    if (a->sclass != PK_CLASS_OTHER && (a->rt_prio < 1 || a->rt_prio > 99)) return PK_ERR_OUT_OF_RANGE;
    if (a->tickets == 0) return PK_ERR_OUT_OF_RANGE;
    if (a->cpu < -1 || a->cpu >= (int32_t)k->ncpus) return PK_ERR_OUT_OF_RANGE;
    if (k->cfg.policy == PK_POLICY_PRIORITY && (a->priority < 0 || a->priority > 139))
        return PK_ERR_OUT_OF_RANGE;
    if (k->progs[a->prog].task.phase > PK_MAX_TIME - a->at) return PK_ERR_OUT_OF_RANGE;
    if (k->progs[a->prog].vm && !k->mem) return PK_ERR_NOT_SUPPORTED;
    if (!pk_rv_may_make(k, k->progs[a->prog].kind)) return PK_ERR_NOT_SUPPORTED;  /* pk_rv_spawn */
    return PK_OK;
}

int pk_spawn(pk_kernel *k, const pk_spawn_args *a, uint32_t count,
             uint32_t *first_pid, uint32_t *first_tid) {
    if (!k || !a || !first_pid || !first_tid || count == 0) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (k->broken) return k->broken;
    int s = spawn_check(k, a);
    if (s) return s;
    const pk_prog *prog = &k->progs[a->prog];
    uint64_t burst = a->burst != PK_NO_BURST ? a->burst : prog->burst;
    pk_time at = a->at + prog->task.phase;     /* a periodic task arrives at its phase */
    if ((k->rqs[0].pol->flags & PK_POL_NEEDS_BURST) && burst == PK_NO_BURST) return PK_ERR_INVALID_ARGS;
    if ((uint64_t)k->threads.count + count > k->cfg.max_threads) return pk_limit_hit(k, PK_LIMIT_THREADS);
    if (pk_limit_over(k->procs.count, count, k->cfg.max_procs)) return pk_limit_hit(k, PK_LIMIT_PROCS);
    uint32_t affinity = 0;
    if (a->has_affinity) {
        int64_t m = pk_mask_intern(k, a->affinity);
        if (m == -1) return PK_ERR_INVALID_ARGS;
        if (m < 0) return PK_ERR_NO_MEMORY;
        affinity = (uint32_t)m;
    }
    if (affinity && k->shared && k->ncpus > 1) return PK_ERR_NOT_SUPPORTED;
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
    o->cpu_time = t->cpu_time; o->wait = t->wait; o->blocked = t->blocked;
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
    if (k->now > c->seg_start) out->x[PK_REG_REM] -= k->now - c->seg_start;
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
