/* pk_sched_rt.c - the real-time class: SCHED_FIFO and SCHED_RR with
 * priorities 1..99, as man 7 sched describes them:
 *   - a list per priority; the highest non-empty one is found with a
 *     bitmap and find-first-set;
 *   - a thread preempted by a higher-priority one stays at the head of its
 *     list; one that becomes runnable (arrives or wakes) goes to the tail;
 *     sched_yield moves it to the tail;
 *   - SCHED_RR adds a time slice (rt_slice, 100 ms by default); when it
 *     expires the thread goes to the tail of its list.  A preempted
 *     SCHED_RR thread "will complete the unexpired portion of its
 *     round-robin time quantum" when it runs again: s.rt.left counts down
 *     as it runs (pk_rt_charge) and is kept across the preemption; any
 *     other way into the list starts a fresh quantum;
 *   - real-time runtime may be throttled: at most rt_runtime ns per
 *     rt_period on each run queue (950 ms per 1 s by default, as Linux's
 *     sched_rt_runtime_us / sched_rt_period_us), after which the fair
 *     class runs until the period ends. */
#include "pk_core.h"

static inline void bit_set(pk_rt_rq *r, unsigned p) { r->bitmap[p >> 6] |= 1ull << (p & 63); }
static inline void bit_clear(pk_rt_rq *r, unsigned p) { r->bitmap[p >> 6] &= ~(1ull << (p & 63)); }

/* highest priority with a non-empty list, or 0 */
static inline unsigned highest(const pk_rt_rq *r) {
    if (r->bitmap[1]) return 64 + 63 - (unsigned)__builtin_clzll(r->bitmap[1]);
    if (r->bitmap[0]) return 63 - (unsigned)__builtin_clzll(r->bitmap[0]);
    return 0;
}

static void list_unlink(pk_rt_rq *r, pk_thread *t) {
    unsigned p = t->rt_prio;
    if (t->s.list.prev) t->s.list.prev->s.list.next = t->s.list.next; else r->head[p] = t->s.list.next;
    if (t->s.list.next) t->s.list.next->s.list.prev = t->s.list.prev; else r->tail[p] = t->s.list.prev;
    if (!r->head[p]) bit_clear(r, p);
    t->s.list.next = t->s.list.prev = NULL;
}

void pk_rt_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    pk_rt_rq *r = &rq->rt;
    unsigned p = t->rt_prio;
    bool head = why == PK_ENQ_PREEMPT;
    if (!head) t->s.rt.left = 0;                 /* a fresh quantum when it runs */
    if (head) {
        t->s.list.prev = NULL;
        t->s.list.next = r->head[p];
        if (r->head[p]) r->head[p]->s.list.prev = t; else r->tail[p] = t;
        r->head[p] = t;
    } else {
        t->s.list.next = NULL;
        t->s.list.prev = r->tail[p];
        if (r->tail[p]) r->tail[p]->s.list.next = t; else r->head[p] = t;
        r->tail[p] = t;
    }
    bit_set(r, p);
    r->nr++;
}

void pk_rt_dequeue(pk_rq *rq, pk_thread *t) {
    list_unlink(&rq->rt, t);
    rq->rt.nr--;
}

pk_thread *pk_rt_pick(pk_rq *rq) {
    pk_rt_rq *r = &rq->rt;
    if (r->throttled) return NULL;
    unsigned p = highest(r);
    if (!p) return NULL;
    pk_thread *t = r->head[p];
    list_unlink(r, t);
    r->nr--;
    return t;
}

/* the head-most thread of the highest priority that may run on cpu */
pk_thread *pk_rt_pick_on(pk_rq *rq, uint32_t cpu) {
    pk_rt_rq *r = &rq->rt;
    if (r->throttled) return NULL;
    for (unsigned p = 99; p >= 1; p--)
        for (pk_thread *t = r->head[p]; t; t = t->s.list.next)
            if (pk_cpu_allowed(rq->k, t, cpu)) {
                list_unlink(r, t);
                r->nr--;
                return t;
            }
    return NULL;
}

pk_thread *pk_rt_steal(pk_rq *rq, uint32_t cpu) {
    pk_rt_rq *r = &rq->rt;
    for (unsigned p = 99; p >= 1; p--)
        for (pk_thread *t = r->tail[p]; t; t = t->s.list.prev)
            if (pk_cpu_allowed(rq->k, t, cpu)) {
                list_unlink(r, t);
                r->nr--;
                return t;
            }
    return NULL;
}

/* Real-time runtime allowed per period on rq (0: no throttling).  The
 * shared queue serves every CPU, so its budget is per CPU times CPUs. */
static uint64_t rt_budget(const pk_rq *rq) {
    const pk_config *cfg = &rq->k->cfg;
    if (!cfg->rt_runtime || cfg->rt_runtime >= cfg->rt_period) return 0;
    return cfg->rt_runtime * (rq->k->shared ? rq->k->ncpus : 1);
}

/* SCHED_RR: the unexpired part of its quantum, or a fresh one. */
pk_time pk_rt_slice(pk_rq *rq, pk_thread *t) {
    pk_time s = PK_FOREVER;
    if (t->sclass == PK_CLASS_RR) {
        if (!t->s.rt.left) t->s.rt.left = rq->k->cfg.rt_slice;
        s = t->s.rt.left;
    }
    uint64_t budget = rt_budget(rq);
    if (budget) {
        pk_time left = rq->rt.used >= budget ? 0 : budget - rq->rt.used;
        if (left < s) s = left;
    }
    return s;
}

bool pk_rt_tick(pk_rq *rq, pk_thread *t) {
    (void)rq; (void)t;
    return true;     /* RR slice over, or throttled: let the queue decide */
}

void pk_rt_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    if (t->sclass == PK_CLASS_RR) t->s.rt.left = t->s.rt.left > ran ? t->s.rt.left - ran : 0;
    uint64_t budget = rt_budget(rq);
    if (!budget) return;
    rq->rt.used += ran;
    if (rq->rt.used >= budget) rq->rt.throttled = 1;
}

void pk_rt_period(pk_rq *rq) {
    rq->rt.used = 0;
    rq->rt.throttled = 0;
}

/* ---- the throttling period: event kind PK_EV_RT_PERIOD ----------------------
 * One event at each multiple of rt_period while throttling is configured
 * (rt_runtime < rt_period) and a real-time thread lives; at it every run
 * queue's usage starts again from 0 (pk_rt_period). */

/* the period runs only while a real-time thread is queued or running (so
 * blocked or deadlocked ones do not keep a run going); usage of a period
 * that ended meanwhile is forgotten at re-arm */
bool pk_rt_period_stale(pk_kernel *k, const pk_event *e) {
    (void)e;
    for (uint32_t i = 0; i < k->nrqs; i++)
        if (k->rqs[i].rt.nr) return false;
    for (uint32_t i = 0; i < k->ncpus; i++)
        if (k->cpus[i].curr && pk_is_rt(k->cpus[i].curr)) return false;
    return true;
}

void pk_rt_period_dropped(pk_kernel *k) { k->rt_period_armed = 0; }

static void new_period(pk_kernel *k) {
    for (uint32_t i = 0; i < k->nrqs; i++) pk_rt_period(&k->rqs[i]);
    k->rt_period_no = k->now / k->cfg.rt_period;
}

void pk_rt_period_fire(pk_kernel *k, const pk_event *e) {
    (void)e;
    k->rt_period_armed = 0;
    for (uint32_t i = 0; i < k->ncpus; i++) {      /* usage up to now: old period */
        pk_thread *t = k->cpus[i].curr;
        if (t && pk_is_rt(t)) pk_charge_running(k, t);
    }
    new_period(k);
    for (uint32_t i = 0; i < k->ncpus; i++) {      /* running ones get the new budget */
        pk_cpu *c = &k->cpus[i];
        pk_thread *t = c->curr;
        if (!t || !pk_is_rt(t) || k->now < c->seg_start) continue;
        /* an RR slice keeps what is left of its quantum (ends now if none) */
        pk_time end = k->now;
        if (t->sclass != PK_CLASS_RR || t->s.rt.left) {
            pk_time s = pk_rq_slice(pk_cpu_rq(k, c), t);
            end = k->now + s < k->now ? PK_FOREVER : k->now + s;
        }
        c->slice_end = end;
        pk_cpu_keep_running(k, c);
    }
    for (uint32_t i = 0; i < k->ncpus; i++) {      /* unthrottled RT threads may run */
        pk_cpu *c = &k->cpus[i];
        if (pk_cpu_rq(k, c)->rt.nr && (!c->curr || c->curr->sclass == PK_CLASS_OTHER))
            pk_cpu_resched(k, c);
    }
    pk_rt_arm(k);
}

void pk_rt_arm(pk_kernel *k) {
    const pk_config *cfg = &k->cfg;
    if (k->rt_period_armed || !k->rt_live || !cfg->rt_runtime || cfg->rt_runtime >= cfg->rt_period)
        return;
    if (k->now / cfg->rt_period != k->rt_period_no) new_period(k);   /* after a gap */
    pk_time next = (k->now / cfg->rt_period + 1) * cfg->rt_period;
    if (pk_evq_post(k, &k->evq, next, PK_EV_RT_PERIOD, 0) == PK_OK) k->rt_period_armed = 1;
    else k->broken = PK_ERR_NO_MEMORY;
}
