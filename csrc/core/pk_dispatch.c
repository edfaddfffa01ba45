/* pk_dispatch.c - the dispatcher: the one loop that advances simulated
 * time, for any number of CPUs, any policy and any kind of thread body.
 *
 * Two sources of work, merged by time:
 *   - the event queue (pk_event.h): arrivals, wake-ups; and
 *   - the CPU timers (pk_cpu.h): an operation or a time slice ends, or a
 *     reschedule was requested.
 * At equal times queued events come first, so everything that happens at
 * an instant (arrivals, wake-ups) is in the run queue before any CPU
 * chooses a thread at that instant.  This gives the tie rule: a thread
 * arriving or waking when another's quantum expires is queued first.
 *
 * Flow of one context switch (RoundRobin, slice expiry):
 *   pk_kernel_run -> cpu_service(c): account(c, t) charges t's CPU time;
 *   the body's advance() runs zero-time instructions if t's operation
 *   ended; the policy's tick() says t must yield; pk_rq_enqueue(t),
 *   pk_rq_pick() -> next; switch_to(c, next) saves t's registers, loads
 *   next's, charges the switch cost to c and sets c's timer.
 */
#include "pk_core.h"
#include "pk_script.h"

static inline pk_time sat_add(pk_time a, pk_time b) {
    pk_time s = a + b;
    return s < a ? PK_FOREVER : s;
}

_Static_assert(PK_BODY_RV + 1 == PK_BODY_KINDS, "one pk_bodies entry per PK_BODY_*");
const pk_body_ops *const pk_bodies[PK_BODY_KINDS] = {
    [PK_BODY_SCRIPT] = &pk_script_body, [PK_BODY_HOST] = &pk_host_body, [PK_BODY_RV] = &pk_rv_body,
};

static inline const pk_body_ops *body_of(const pk_thread *t) {
    return pk_bodies[t->kind];
}

/* Charge t the CPU time it has run on c since the last charge. */
static inline void account(pk_kernel *k, pk_cpu *c, pk_thread *t) {
    if (k->now <= c->seg_start) return;
    uint64_t ran = k->now - c->seg_start;
    c->seg_start = k->now;
    c->busy += ran;
    t->cpu_time += ran;
    c->regs.x[PK_REG_REM] -= PK_UNLIKELY(k->xflags & PK_X_CACHE) ? pk_cache_work(k, c, t, ran) : ran;
    pk_rq_charge(pk_cpu_rq(k, c), t, ran);
}

void pk_charge_running(pk_kernel *k, pk_thread *t) {
    if (t->state == PK_TS_RUNNING) account(k, &k->cpus[t->cpu], t);
}

static inline void idle_mark(pk_kernel *k, uint32_t cpu) {
    k->idle_mask[cpu >> 6] |= 1ull << (cpu & 63);
}

static inline bool idle_unkicked(const pk_kernel *k, uint32_t cpu) {
    return (k->idle_mask[cpu >> 6] >> (cpu & 63)) & 1;
}

/* Kick idle CPU cpu: it picks at this instant. */
static void kick(pk_kernel *k, uint32_t cpu) {
    k->idle_mask[cpu >> 6] &= ~(1ull << (cpu & 63));
    pk_cpu_set_timer(k, &k->cpus[cpu], k->now);
}

/* Kick the lowest-numbered idle CPU that t may run on (any CPU if t is
 * NULL), if there is one. */
static bool kick_idle_cpu(pk_kernel *k, const pk_thread *t) {
    for (uint32_t w = 0; w < PK_MAX_CPUS / 64; w++) {
        uint64_t m = k->idle_mask[w];
        if (t && t->affinity) m &= k->masks[t->affinity].bits[w];
        if (!m) continue;
        kick(k, w * 64 + (uint32_t)__builtin_ctzll(m));
        return true;
    }
    return false;
}

/* Ask CPU c to reschedule as soon as it is running. */
void pk_cpu_resched(pk_kernel *k, pk_cpu *c) {
    if (!c->curr) {                        /* idle: just let it pick */
        if (idle_unkicked(k, c->id)) kick(k, c->id);
        return;
    }
    c->resched = 1;
    pk_time when = c->seg_start > k->now ? c->seg_start : k->now;
    if (when < c->timer) pk_cpu_set_timer(k, c, when);
}

/* Should t, just queued in rq, preempt the thread running on c? */
static inline bool beats(pk_kernel *k, pk_rq *rq, pk_cpu *c, pk_thread *t) {
    if (!c->curr || c->resched) return false;
    account(k, c, c->curr);
    return pk_rq_wakeup_preempt(rq, c->curr, t);
}

/* Shared queue: a thread that just became ready may preempt a running
 * one: take the CPU whose thread it beats and which every other candidate
 * beats (the weakest running thread it beats). */
static void check_preempt_shared(pk_kernel *k, pk_thread *t) {
    pk_rq *rq = k->rqs;
    pk_cpu *victim = NULL;
    for (uint32_t i = 0; i < k->ncpus; i++) {
        pk_cpu *c = &k->cpus[i];
        if (!pk_cpu_allowed(k, t, i) || !beats(k, rq, c, t)) continue;
        if (!victim || pk_rq_wakeup_preempt(rq, c->curr, victim->curr)) victim = c;
    }
    if (victim) pk_cpu_resched(k, victim);
}

void pk_thread_make_ready(pk_kernel *k, pk_thread *t, unsigned why) {
    t->state = PK_TS_READY;
    t->since = k->now;
    if (why == PK_ENQ_NEW || why == PK_ENQ_WAKE) t->tflags |= PK_TF_WOKEN;
    PK_TRACE(k, PK_TR_WAKE, why, t->tid, PK_TR_NO_CPU, 0);
    if (t->sclass != PK_CLASS_OTHER) pk_rt_arm(k);
    if (k->shared) {
        pk_rq_enqueue(k->rqs, t, why);
        if (!kick_idle_cpu(k, t)) check_preempt_shared(k, t);
        return;
    }
    uint32_t cpu = pk_select_cpu(k, t, why);
    pk_rq *rq = &k->rqs[cpu];
    if (t->rq_cpu != PK_RQ_NONE && t->rq_cpu != cpu) {
        PK_TRACE(k, PK_TR_MIGRATE, 0, t->tid, cpu, t->rq_cpu);
        t->migrations++;
        t->tflags |= PK_TF_MIGRATED;
        k->migrations++;
        k->cpus[cpu].migrations_in++;
    }
    pk_rq_enqueue(rq, t, why);
    pk_cpu *c = &k->cpus[cpu];
    if (idle_unkicked(k, cpu)) kick(k, cpu);
    else if (beats(k, rq, c, t)) pk_cpu_resched(k, c);
    pk_balance_arm(k);
    if (PK_UNLIKELY(k->cfg.steal_ns)) pk_steal_arm(k);
}

/* Make CPU c idle from now on. */
static void cpu_go_idle(pk_kernel *k, pk_cpu *c) {
    c->curr = NULL;
    c->idle_since = k->now;
    c->resched = 0;
    idle_mark(k, c->id);
    pk_cpu_set_timer(k, c, PK_FOREVER);
}

/* The bucket of latency v: v itself below 16; above, 16 per power of two. */
static inline unsigned latency_bucket(uint64_t v) {
    if (v < 16) return (unsigned)v;
    unsigned e = 63 - (unsigned)__builtin_clzll(v);               /* e >= 4 */
    return (e - 3) * 16 + (unsigned)((v >> (e - 4)) & 15);
}

int pk_latency_bucket_bounds(uint32_t i, uint64_t *lo, uint64_t *hi) {
    if (!lo || !hi || i >= PK_LAT_BUCKETS) return PK_ERR_INVALID_ARGS;
    if (i < 16) { *lo = *hi = i; return PK_OK; }
    unsigned e = i / 16 + 3, sub = i % 16;                        /* inverse of latency_bucket */
    if (e > 63) return PK_ERR_OUT_OF_RANGE;                       /* no 64-bit value lands there */
    *lo = (uint64_t)(16 + sub) << (e - 4);
    *hi = *lo + ((1ull << (e - 4)) - 1);
    return PK_OK;
}

/* Record a scheduling latency (ready after arrival or wake-up -> running). */
static void latency_record(pk_latency *h, uint64_t v) {
    h->buckets[latency_bucket(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max) h->max = v;
}

/* Start running next on c: the context switch.  The switch cost (and the
 * migration cost if next just moved here) is the CPU's overhead; next's
 * wait ends when it actually starts to run (seg_start: pk_thread_wait).  out: PK_TR_PREV_OUT if the
 * thread that ran on c left it just now untraced (one trace event then
 * says both), else 0. */
static PK_ALWAYS_INLINE void switch_to(pk_kernel *k, pk_cpu *c, pk_thread *next, unsigned out) {
    pk_time cost = k->cfg.costs.switch_ns;
    if (PK_UNLIKELY(next->tflags & (PK_TF_MIGRATED | PK_TF_WOKEN))) {
        if (next->tflags & PK_TF_MIGRATED) cost = sat_add(cost, k->cfg.costs.migrate_ns);
        if (next->tflags & PK_TF_WOKEN) latency_record(&k->lat, sat_add(k->now, cost) - next->since);
        next->tflags &= (uint8_t)~(PK_TF_MIGRATED | PK_TF_WOKEN);
    }
    if (PK_UNLIKELY(k->mem)) cost = sat_add(cost, pk_vm_switch(k, c, next));  /* CR3 / satp */
    pk_time start = sat_add(k->now, cost);
    k->context_switches++;
    c->switches++;
    c->overhead += start - k->now;
    pk_cpu_load(c, next);
    if (PK_UNLIKELY(c->regs.flags & PK_RF_POLL)) {   /* polling: until its instant */
        pk_time until = c->regs.x[PK_REG_POLL_END];
        c->regs.x[PK_REG_REM] = until > start ? until - start : 0;
    }
    next->state = PK_TS_RUNNING;
    next->cpu = (int16_t)c->id;
    if (next->first_run == PK_FOREVER) next->first_run = start;
    c->curr = next;
    c->seg_start = start;
    c->slice_start = start;
    c->slice_end = sat_add(start, pk_rq_slice(pk_cpu_rq(k, c), next));
    pk_time end = sat_add(start, c->regs.x[PK_REG_REM]);
    if (PK_UNLIKELY(k->xflags & PK_X_CACHE)) {         /* warm compute runs faster */
        pk_cache_dispatch(k, c, next);
        end = sat_add(start, pk_cache_time(k, c, next, c->regs.x[PK_REG_REM]));
    }
    pk_cpu_set_timer(k, c, end < c->slice_end ? end : c->slice_end);
    pk_digest(k, k->now, ((uint64_t)c->id << 32) | next->tid);
    PK_TRACE(k, PK_TR_SWITCH_IN, out, next->tid, c->id, start - k->now);
}

/* t stops running on c (it blocks, exits or is killed). */
static void leave_cpu(pk_kernel *k, pk_cpu *c, pk_thread *t) {
    if (k->now < c->seg_start) {           /* cut short while switching in */
        if (t->first_run == c->seg_start) t->first_run = PK_FOREVER;  /* never ran */
        c->overhead -= c->seg_start - k->now;   /* and its wait ends now (pk_thread_wait) */
        c->seg_start = k->now;
    }
    PK_TRACE(k, PK_TR_SWITCH_OUT, 0, t->tid, c->id, 0);
    pk_cpu_save(c, t);
    t->cpu = -1;
    c->curr = NULL;
    if (k->host_wait == t) k->host_wait = NULL, k->host_cpu = NULL;
}

/* Take the running thread off c now (it is preempted: the caller queues
 * it somewhere); c becomes idle and picks again at this instant. */
pk_thread *pk_cpu_evict(pk_kernel *k, pk_cpu *c) {
    pk_thread *t = c->curr;
    account(k, c, t);
    leave_cpu(k, c, t);
    t->nivcsw++;
    t->state = PK_TS_READY;
    t->since = k->now;
    cpu_go_idle(k, c);
    kick(k, c->id);
    return t;
}

/* t leaves c to wait in `state`; c is idle until it picks again. */
static void park(pk_kernel *k, pk_cpu *c, pk_thread *t, uint8_t state) {
    leave_cpu(k, c, t);
    t->state = state;
    t->since = k->now;
    t->nvcsw++;
    c->idle_since = k->now;
}

static void block(pk_kernel *k, pk_cpu *c, pk_thread *t, uint8_t state, uint64_t ns) {
    park(k, c, t, state);
    PK_TRACE(k, PK_TR_BLOCK, state == PK_TS_BLOCKED ? PK_TR_IO : PK_TR_SLEEP, t->tid, c->id, ns);
    /* cannot fail: pk_spawn reserved one event slot per thread.  A RISC-V
     * thread's sleep cut short by a signal leaves a stale event: the tag
     * (0 until that happens) tells it from the next one's */
    uint64_t tag = PK_UNLIKELY(t->kind == PK_BODY_RV) ? pk_rv_sleep_tag(k, t) : 0;
    pk_evq_post(k, &k->evq, sat_add(k->now, ns), PK_EV_WAKE, t->tid | tag);
}

/* End thread t (in any state) with exit code `code`, or killed for
 * `reason` when reason != PK_KILL_NONE. */
static void terminate(pk_kernel *k, pk_thread *t, int32_t code, uint32_t reason) {
    switch (t->state) {
    case PK_TS_EXITED: return;
    case PK_TS_READY:
        pk_rq_dequeue(pk_thread_rq(k, t), t, PK_ENQ_KILL);
        break;
    case PK_TS_BLOCKED: case PK_TS_SLEEPING:
        t->blocked += k->now - t->since;  /* its wake event becomes stale */
        break;
    case PK_TS_WAITING:
        t->blocked += k->now - t->since;
        break;
    case PK_TS_RUNNING: {
        pk_cpu *c = &k->cpus[t->cpu];
        account(k, c, t);
        leave_cpu(k, c, t);
        cpu_go_idle(k, c);
        kick(k, c->id);                    /* let c pick at once */
        break;
    }
    default: break;                        /* NEW: its arrival becomes stale */
    }
    /* a thread killed before it arrived never existed: an empty lifetime */
    t->finish = t->state == PK_TS_NEW ? t->arrival : k->now;
    t->state = PK_TS_EXITED;
    k->live_threads--;
    if (t->sclass != PK_CLASS_OTHER) k->rt_live--;
    PK_TRACE(k, PK_TR_EXIT, reason != PK_KILL_NONE, t->tid, PK_TR_NO_CPU, (uint32_t)code);
    pk_digest(k, k->now, ((uint64_t)(uint32_t)code << 32) | t->tid);
    if (pk_thread_has_wait_reg(t) && t->regs.x[PK_REG_WAIT]) pk_wait_thread_gone(k, t);
    if (PK_UNLIKELY(k->hio != NULL)) pk_hio_thread_gone(k, t);     /* pk_host.c */
    if (PK_UNLIKELY(k->objs && k->objs->tn)) pk_thread_obj_terminated(k, t);

    pk_proc *p = pk_proc_at(k, t->pid);
    if (--p->live_threads == 0) {
        p->exit_code = code;
        p->kill_reason = reason;
        p->state = reason ? PK_PS_KILLED : PK_PS_EXITED;
        pk_proc_hooks_exit(k, t->pid);             /* objects, memory, fs, ..., tree (pk_hooks.c) */
    }
}

/* Thread t alone ends (killed through a thread handle, pk_proc_obj.c);
 * its process ends with its last thread. */
void pk_thread_terminate(pk_kernel *k, pk_thread *t, int32_t code, uint32_t reason) {
    terminate(k, t, code, reason);
}

/* The process of t ends: every thread in it terminates. */
void pk_thread_exit(pk_kernel *k, pk_thread *t, int32_t code, uint32_t reason) {
    pk_proc *p = pk_proc_at(k, t->pid);
    for (uint32_t i = 0; i < p->nthreads; i++)
        terminate(k, pk_thread_at(k, p->first_tid + i), code, reason);
    uint32_t nx;                                   /* threads created later (pk_thread.c) */
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; xt && i < nx; i++) terminate(k, pk_thread_at(k, xt[i]), code, reason);
}

/* t keeps running on c: start a new slice if asked, and set c's timer to
 * the end of t's operation or of its slice, whichever is first. */
static inline void keep_running(pk_kernel *k, pk_cpu *c, pk_thread *t, bool new_slice) {
    if (new_slice) {
        c->slice_start = k->now;
        c->slice_end = sat_add(k->now, pk_rq_slice(pk_cpu_rq(k, c), t));
    }
    uint64_t rem = c->regs.x[PK_REG_REM];
    pk_time end = sat_add(k->now, PK_UNLIKELY(k->xflags & PK_X_CACHE) ? pk_cache_time(k, c, t, rem) : rem);
    pk_cpu_set_timer(k, c, end < c->slice_end ? end : c->slice_end);
}

void pk_cpu_keep_running(pk_kernel *k, pk_cpu *c) {
    keep_running(k, c, c->curr, false);
}

/* Nothing else is queued: may t go on running on c?  Not if its class is
 * throttled, its affinity no longer includes c, or it must (re)enter its
 * class through the run queue (its policy state is set up there). */
static inline bool may_stay(pk_kernel *k, pk_rq *rq, pk_cpu *c, pk_thread *t) {
    if (PK_UNLIKELY(rq->rt.throttled) && pk_is_rt(t)) return false;
    if (PK_UNLIKELY(t->tflags & PK_TF_NEWCLASS)) return false;
    return !t->affinity || pk_cpu_allowed(k, t, c->id);
}

/* RoundRobin(aligned=True): quanta end on every CPU at once, a global
 * tick, after which (as in OSTEP's multi.py) every thread is back in the
 * shared queue and the CPUs take threads in CPU order, idle ones too. */
static inline bool global_tick(const pk_kernel *k) {
    return k->xflags & PK_X_GLOBAL_TICK;
}

static bool idle_below(const pk_kernel *k, uint32_t cpu) {
    for (uint32_t d = 0; d < cpu; d++)
        if (idle_unkicked(k, d)) return true;
    return false;
}

/* At a global tick with an idle CPU numbered below c: t goes back to the
 * queue and c picks after those CPUs, at this same instant. */
static void requeue_for_lower(pk_kernel *k, pk_cpu *c, pk_rq *rq, pk_thread *t) {
    c->resched = 0;
    t->state = PK_TS_READY;
    t->since = k->now;
    pk_rq_enqueue(rq, t, PK_ENQ_SLICE);
    PK_TRACE(k, PK_TR_SWITCH_OUT, 0, t->tid, c->id, 0);
    pk_cpu_save(c, t);
    t->cpu = -1;
    t->nivcsw++;
    c->curr = NULL;
    c->idle_since = k->now;
    for (uint32_t d = 0; d < c->id; d++)
        if (idle_unkicked(k, d)) kick(k, d);
    pk_cpu_set_timer(k, c, k->now);
}

/* Service CPU c at k->now.  Returns -1, or the tid of a host-bodied
 * thread that needs its next operation (c's timer stays at now, so the
 * service resumes exactly here on the next pk_kernel_run, which stops
 * with PK_STOP_HOST meanwhile). */
static PK_ALWAYS_INLINE int64_t cpu_service(pk_kernel *k, pk_cpu *c) {
    pk_thread *t = c->curr;
    pk_rq *rq = pk_cpu_rq(k, c);
    unsigned why = 0;                       /* PK_ENQ_* if t leaves running */
    pk_thread *next;
    if (t) {
        if (k->now < c->seg_start) {        /* still switching in */
            pk_cpu_set_timer(k, c, c->seg_start);
            return -1;
        }
        account(k, c, t);
        if (c->regs.x[PK_REG_REM] == 0) {
            uint64_t arg = 0;
            switch (t->kind == PK_BODY_SCRIPT ? pk_script_advance(k, c, t, &arg)   /* in line */
                                              : body_of(t)->advance(k, c, t, &arg)) {
            case PK_ACT_RUN: break;
            case PK_ACT_HOST:
                k->host_wait = t; k->host_cpu = c;
                return t->tid;
            case PK_ACT_AGAIN:              /* zero-time instructions pending */
                pk_cpu_set_timer(k, c, k->now);
                return -1;
            case PK_ACT_BLOCK: block(k, c, t, PK_TS_BLOCKED, arg); t = NULL; break;
            case PK_ACT_SLEEP: block(k, c, t, PK_TS_SLEEPING, arg); t = NULL; break;
            case PK_ACT_WAIT:
                park(k, c, t, PK_TS_WAITING);
                PK_TRACE(k, PK_TR_BLOCK, PK_TR_WAIT, t->tid, c->id, 0);
                t = NULL;
                break;
            case PK_ACT_YIELD: why = PK_ENQ_YIELD; break;
            case PK_ACT_EXIT:
                pk_thread_exit(k, t, (int32_t)(uint32_t)arg, PK_KILL_NONE);
                return -1;                  /* terminate() left c idle and kicked */
            case PK_ACT_KILL:
                pk_thread_exit(k, t, -1, (uint32_t)arg);
                return -1;
            case PK_ACT_THREAD_EXIT:
                terminate(k, t, (int32_t)(uint32_t)arg, PK_KILL_NONE);
                return -1;
            default:
                k->broken = PK_ERR_INTERNAL;
                return -1;
            }
        }
        if (t && !why) {
            if (c->resched) why = PK_ENQ_PREEMPT;
            else if (k->now >= c->slice_end && pk_rq_tick(rq, t)) why = PK_ENQ_SLICE;
        }
        if (PK_UNLIKELY(global_tick(k)) && why == PK_ENQ_SLICE && idle_below(k, c->id)) {
            requeue_for_lower(k, c, rq, t);
            return -1;
        }
        if (t && (!why || (rq->nr == 0 && may_stay(k, rq, c, t)))) {   /* t keeps the CPU */
            c->resched = 0;
            keep_running(k, c, t, why == PK_ENQ_YIELD || k->now >= c->slice_end);
            return -1;
        }
    }
    c->resched = 0;
    if (t) {                                /* t goes back to the run queue */
        t->state = PK_TS_READY;
        t->since = k->now;
        if (PK_UNLIKELY(t->affinity && !pk_cpu_allowed(k, t, c->id))) {
            PK_TRACE(k, PK_TR_SWITCH_OUT, 0, t->tid, c->id, 0);
            pk_cpu_save(c, t);              /* its affinity changed: move it */
            t->cpu = -1;
            t->nivcsw++;
            c->curr = NULL;
            c->idle_since = k->now;
            pk_thread_make_ready(k, t, PK_ENQ_MIGRATE);
            t = NULL;
        } else if (PK_LIKELY(!(k->xflags & PK_X_SHARED_MASKS))) {
            next = pk_rq_requeue_pick(rq, t, why);   /* queue t and choose: one call */
            goto picked;
        } else {
            pk_rq_enqueue(rq, t, why);
        }
    }
    next = PK_UNLIKELY(k->xflags & PK_X_SHARED_MASKS) ? pk_rq_pick_on(rq, c->id)
                                                      : pk_rq_pick(rq);
picked:
    if (!next && !k->shared && !k->cfg.no_steal) next = pk_idle_steal(k, c);
    if (t) {
        if (next == t) {                    /* the policy chose t again */
            t->state = PK_TS_RUNNING;
            keep_running(k, c, t, true);
            return -1;
        }
        pk_cpu_save(c, t);
        t->cpu = -1;
        if (why == PK_ENQ_YIELD) t->nvcsw++; else t->nivcsw++;
        c->curr = NULL;
        /* shared queue with masks: a CPU may idle beside threads it may not
         * run; t, queued again, may be one it can */
        if (PK_UNLIKELY(k->xflags & PK_X_SHARED_MASKS)) kick_idle_cpu(k, t);
        if (next) {
            switch_to(k, c, next, PK_TR_PREV_OUT);   /* the trace's switch-in says t left */
            return -1;
        }
        PK_TRACE(k, PK_TR_SWITCH_OUT, 0, t->tid, c->id, 0);
        c->idle_since = k->now;             /* t queued but not runnable here */
    }
    if (!next) {                            /* nothing to run: c is idle */
        idle_mark(k, c->id);
        pk_cpu_set_timer(k, c, PK_FOREVER);
        return -1;
    }
    c->idle += k->now - c->idle_since;      /* c was idle since then */
    switch_to(k, c, next, 0);
    return -1;
}

/* ---- events ------------------------------------------------------------- */

static bool arrival_stale(pk_kernel *k, const pk_event *e) {
    return pk_thread_at(k, (uint32_t)e->arg)->state != PK_TS_NEW;   /* killed before */
}

static void on_arrival(pk_kernel *k, const pk_event *e) {
    pk_thread *t = pk_thread_at(k, (uint32_t)e->arg);
    pk_proc *p = pk_proc_at(k, t->pid);
    if (p->state == PK_PS_NEW) p->state = PK_PS_ALIVE;
    pk_thread_make_ready(k, t, PK_ENQ_NEW);
}

static bool wake_stale(pk_kernel *k, const pk_event *e) {
    const pk_thread *t = pk_thread_at(k, (uint32_t)e->arg);
    if (t->state != PK_TS_BLOCKED && t->state != PK_TS_SLEEPING) return true;   /* killed meanwhile */
    return PK_UNLIKELY(t->kind == PK_BODY_RV) && (e->arg >> 32) != pk_rv_sleep_tag(k, t) >> 32;
}

static void on_wake(pk_kernel *k, const pk_event *e) {
    pk_thread *t = pk_thread_at(k, (uint32_t)e->arg);
    t->blocked += k->now - t->since;
    pk_thread_make_ready(k, t, PK_ENQ_WAKE);
}

/* load balancing runs only while some thread waits in a run queue */
static bool balance_stale(pk_kernel *k, const pk_event *e) {
    (void)e;
    for (uint32_t i = 0; i < k->nrqs; i++)
        if (k->rqs[i].nr) return false;
    return true;
}

static void balance_dropped(pk_kernel *k) { k->balance_armed = 0; }

static void on_balance(pk_kernel *k, const pk_event *e) {
    (void)e;
    k->balance_armed = 0;
    pk_balance_run(k);
    pk_balance_arm(k);
}

/* ---- periodic peeking (cfg.steal_ns; OSTEP's multi.py -P) -------------------
 * At every multiple of steal_ns each CPU whose queue is empty takes the
 * first queued thread it may run from the lowest-numbered other CPU that
 * has one.  multi.py ends quanta (its timer interrupt) before it peeks, so
 * a running thread whose slice ends at this instant and that has work left
 * counts as queued at the tail of its CPU's queue: its CPU does not peek,
 * and it may be taken when its queue is otherwise empty. */
static bool requeued_now(pk_kernel *k, const pk_cpu *c) {
    return c->curr && k->now >= c->seg_start && c->slice_end <= k->now && c->regs.x[PK_REG_REM];
}

/* the first queued thread of rq that may run on cpu (policies without
 * pick_on: what their load balancing would take) */
static pk_thread *first_allowed(pk_rq *rq, uint32_t cpu) {
    if (!rq->nr) return NULL;
    if (!rq->pol->pick_on) return pk_rq_steal(rq, cpu);
    pk_thread *t = rq->rt.nr ? pk_rt_pick_on(rq, cpu) : NULL;   /* real-time first */
    if (!t) t = rq->pol->pick_on(rq, cpu);
    if (t) rq->nr--;
    return t;
}

static bool steal_stale(pk_kernel *k, const pk_event *e) {
    (void)e;
    for (uint32_t i = 0; i < k->nrqs; i++)
        if (k->rqs[i].nr) return false;
    for (uint32_t i = 0; i < k->ncpus; i++)
        if (k->cpus[i].curr) return false;
    return true;
}
static void steal_dropped(pk_kernel *k) { k->steal_armed = 0; }

static void on_steal(pk_kernel *k, const pk_event *e) {
    (void)e;
    k->steal_armed = 0;
    for (uint32_t i = 0; i < k->ncpus; i++) {
        pk_cpu *c = &k->cpus[i];
        if (c->curr && k->now > c->seg_start) account(k, c, c->curr);
    }
    for (uint32_t i = 0; i < k->ncpus; i++) {
        pk_cpu *c = &k->cpus[i];
        if (k->rqs[i].nr || requeued_now(k, c)) continue;
        for (uint32_t o = 0; o < k->ncpus; o++) {
            if (o == i) continue;
            pk_cpu *oc = &k->cpus[o];
            pk_thread *t = first_allowed(&k->rqs[o], i);
            if (!t && !k->rqs[o].nr && requeued_now(k, oc) && pk_cpu_allowed(k, oc->curr, i))
                t = pk_cpu_evict(k, oc);            /* its slice ends now: as if queued */
            if (!t) continue;
            pk_migrate(k, t, &k->rqs[o], &k->rqs[i]);
            if (idle_unkicked(k, i)) kick(k, i);
            break;
        }
    }
    pk_steal_arm(k);
}

void pk_steal_arm(pk_kernel *k) {
    if (!k->cfg.steal_ns || k->shared || k->ncpus < 2 || k->steal_armed) return;
    pk_time next = (k->now / k->cfg.steal_ns + 1) * k->cfg.steal_ns;
    if (next > PK_MAX_TIME) return;
    if (pk_evq_post(k, &k->evq, next, PK_EV_STEAL, 0) == PK_OK) k->steal_armed = 1;
    else k->broken = PK_ERR_NO_MEMORY;
}

/* One entry per event kind; subsystems add their kinds here.  stale()
 * says that an event no longer applies (its thread was killed, or the
 * periodic work has nothing to do); stale events are dropped without
 * advancing time, so they never extend a run, and dropped() is told. */
static const struct {
    void (*handle)(pk_kernel *, const pk_event *);
    bool (*stale)(pk_kernel *, const pk_event *);
    void (*dropped)(pk_kernel *);
} event_kinds[PK_EV_KINDS] = {
    [PK_EV_ARRIVAL] = { on_arrival, arrival_stale, NULL },
    [PK_EV_WAKE] = { on_wake, wake_stale, NULL },
    [PK_EV_BALANCE] = { on_balance, balance_stale, balance_dropped },
    [PK_EV_RT_PERIOD] = { pk_rt_period_fire, pk_rt_period_stale, pk_rt_period_dropped },
    [PK_EV_WAIT_DEADLINE] = { pk_wait_deadline_fire, pk_wait_deadline_stale,
                              pk_wait_deadline_dropped },
    [PK_EV_RV_TIMEOUT] = { pk_rv_timeout_fire, pk_rv_timeout_stale, pk_rv_timeout_dropped },
    [PK_EV_STEAL] = { on_steal, steal_stale, steal_dropped },
    [PK_EV_RV_ITIMER] = { pk_rv_itimer_fire, pk_rv_itimer_stale, pk_rv_itimer_dropped },
};

/* Earliest event time, after dropping stale events from the front. */
static inline pk_time next_event_time(pk_kernel *k) {
    pk_evq *q = &k->evq;
    while (q->n) {
        unsigned kind = pk_event_kind(&q->heap[0]);
        if (!event_kinds[kind].stale(k, &q->heap[0])) break;
        pk_event e;
        pk_evq_pop(q, &e);
        if (event_kinds[kind].dropped) event_kinds[kind].dropped(k);
    }
    return pk_evq_top_time(q);
}

/* ---- the loop ----------------------------------------------------------- */

int pk_livelock_thread(pk_kernel *k, uint32_t *tid_out) {
    if (!k || !tid_out) return PK_ERR_INVALID_ARGS;
    if (!k->livelock_tid) return PK_ERR_BAD_STATE;
    *tid_out = k->livelock_tid - 1;
    return PK_OK;
}

/* The stop record of a run that stopped for `why` about thread t (on
 * CPU c), or about no thread. */
static int stop_with(pk_kernel *k, pk_stop *stop, int why, const pk_thread *t, const pk_cpu *c,
                     uint64_t arg) {
    *stop = (pk_stop){ why, t ? t->tid : PK_ALL_THREADS, c ? c->id : PK_ALL_THREADS,
                       t ? t->pid : PK_ALL_THREADS, arg, k->now };
    return why;
}

static int run_refused(pk_stop *stop, int status) {
    if (stop) *stop = (pk_stop){ status, PK_ALL_THREADS, PK_ALL_THREADS, PK_ALL_THREADS, 0, 0 };
    return status;
}

PK_HOT_CLONES
int pk_kernel_run(pk_kernel *k, uint64_t until, uint64_t max_steps,
                  uint32_t host_op, uint64_t host_arg, pk_stop *stop) {
    if (!k || !stop) return run_refused(stop, PK_ERR_INVALID_ARGS);
    if (k->in_hook) return run_refused(stop, PK_ERR_BAD_STATE);   /* called from a policy hook */
    if (k->broken) return run_refused(stop, k->broken);
    if (until < k->now) return run_refused(stop, PK_ERR_OUT_OF_RANGE);
    if (max_steps == 0) return run_refused(stop, PK_ERR_INVALID_ARGS);
    if (PK_UNLIKELY(k->mem && k->mem->pager_pending)) {   /* a fault not yet answered */
        if (k->mem->pager_pending != 1) return run_refused(stop, PK_ERR_BAD_STATE);
        const pk_pager_fault *f = &k->mem->pager;       /* not yet read: the same stop */
        *stop = (pk_stop){ PK_STOP_PAGER, f->tid, PK_ALL_THREADS, f->pid, f->va, k->now };
        return PK_STOP_PAGER;
    }
    /* Host work (PK_WORK_HOST) bounds both the call (max_steps) and the
     * time spent at one instant (livelock_steps): a step that interprets
     * thousands of zero-time instructions counts them all, so a run
     * returns to the host, and a zero-time loop is caught, after a
     * bounded amount of host time whatever the bodies are.  Bodies add
     * their work to k->same_steps (the work at the current instant), which
     * the loop already keeps in a cache line it touches at every step;
     * `done` sums the instants this call has finished. */
    k->livelock_tid = 0;
    if (k->host_wait) {
        if (!host_op) return run_refused(stop, PK_ERR_BAD_STATE);
        int s = pk_host_give(k, host_op, host_arg, 0, PK_FOREVER);   /* its body kind's deliver */
        if (s) return run_refused(stop, s);
    }   /* else an operation for a thread killed during its step: dropped */
    const uint64_t s0 = k->same_steps;  /* the current instant's work before this call */
    uint64_t done = 0;

    uint64_t limit = k->cfg.livelock_steps + (uint64_t)PK_LIVELOCK_PER_THREAD * k->threads.count;
    uint64_t steps = 0;
    pk_thread *last = NULL;             /* the thread of the last CPU step */
    int ret;
    pk_thread *about = NULL;            /* the thread the stop is about, and its CPU */
    pk_cpu *on = NULL;
    k->host_run = 1;                    /* hooks keep the interpreter lock (pk_policy_upcall.c) */
    for (;;) {
        pk_time te = next_event_time(k);
        pk_cpu *c = pk_cputree_min(k);
        if (PK_UNLIKELY(k->host_resume)) {  /* a host thread got its next operation: */
            pk_cpu *h = k->host_resume;     /* its CPU goes on first, as a script's */
            if (h->timer == k->now) c = h, te = PK_FOREVER;   /* advance() would */
            else k->host_resume = NULL;
        }
        pk_time tc = c->timer;
        pk_time t = te <= tc ? te : tc;
        if (t == PK_FOREVER) {
            ret = k->live_threads ? PK_STOP_DEADLOCK : PK_STOP_IDLE;
            break;
        }
        if (t >= until) {
            k->now = until;
            ret = PK_STOP_UNTIL;
            break;
        }
        /* the budget is checked before a step (which then runs in the next
         * call), never before the first: every call makes progress */
        if (t != k->same_time) {
            done += k->same_steps + 1;  /* the last instant's work and this step */
            k->same_time = t;
            k->same_steps = 0;
            if (PK_UNLIKELY(done - s0 > max_steps)) { ret = PK_STOP_BUDGET; break; }
        } else if (PK_UNLIKELY(++k->same_steps > limit)) {
            pk_thread *b = tc < te && c->curr ? c->curr : last;   /* the one due next */
            k->livelock_tid = b ? b->tid + 1 : 0;
            about = b;
            k->same_steps = 0;          /* a later run (the host may have killed
                                           the spinner) gets a budget of its own */
            ret = PK_STOP_LIVELOCK;
            break;
        } else if (PK_UNLIKELY(done + k->same_steps - s0 > max_steps)) {
            ret = PK_STOP_BUDGET;
            break;
        }
        k->now = t;
        steps++;
        if (te <= tc) {
            pk_event e;
            pk_evq_pop(&k->evq, &e);
            k->events++;
            pk_digest(k, e.time, (e.arg << 8) | pk_event_kind(&e));
            event_kinds[pk_event_kind(&e)].handle(k, &e);
        } else {
            pk_thread *cur = c->curr;
            if (cur) last = cur;
            k->host_resume = NULL;
            if (cpu_service(k, c) >= 0) {   /* a host thread needs its next operation */
                if (!k->host_step || k->host_step(k, k->host_wait) != PK_OK) {
                    ret = PK_STOP_HOST; about = cur; on = c;
                    break;
                }   /* the upcall gave it (pk_upcall.c): go on as a new call would */
                limit = k->cfg.livelock_steps + (uint64_t)PK_LIVELOCK_PER_THREAD * k->threads.count;
            }
            if (PK_UNLIKELY(k->broken | k->stop_req)) {
                about = cur; on = c;            /* a stop a step asked for is about its thread */
                ret = k->broken ? k->broken : k->stop_req;
                k->stop_req = 0;
                break;
            }
            continue;
        }
        if (PK_UNLIKELY(k->broken | k->stop_req)) {   /* also from a policy */
            ret = k->broken ? k->broken : k->stop_req;
            k->stop_req = 0;
            break;
        }
    }
    k->steps += steps;
    k->host_run = 0;
    if (k->host_leave) k->host_leave(k);    /* the upcall's interpreter lock, if taken */
    if (PK_UNLIKELY(k->trace)) k->trace->cur = k->host_wait;
    uint64_t arg = 0;
    if (ret == PK_STOP_PAGER) {
        k->mem->pager.tid = about ? about->tid : PK_ALL_THREADS;   /* pk_pager.c */
        arg = k->mem->pager.va;
    } else if (ret != PK_STOP_HOST && ret != PK_STOP_LIVELOCK && ret != PK_STOP_OUTPUT) {
        about = NULL, on = NULL;
    }
    return stop_with(k, stop, ret, about, ret == PK_STOP_LIVELOCK ? NULL : on, arg);
}
