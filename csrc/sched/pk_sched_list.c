/* pk_sched_list.c - policies on FIFO lists (intrusive, O(1), allocation
 * free):
 *   FIFO        first come, first served: each thread runs until it
 *               blocks, yields or exits; ready threads wait in order.
 *   RoundRobin  FIFO plus a time quantum (params: quantum); an expired
 *               thread goes to the tail.
 *               Both with cfg.preemptive (wake_preempt): a thread that
 *               wakes from io or sleep goes to the head of the queue and
 *               preempts the running thread, which goes to the tail (the
 *               IO_RUN_IMMEDIATE behaviour of OSTEP's process-run.py).
 *   Priority    140 static priority levels, 0 (best) .. 139, each a FIFO
 *               list; the best non-empty level is found with a bitmap and
 *               find-first-set, as in Linux's O(1) scheduler.  Preemptive
 *               or not (cfg.preemptive). */
#include "pk_core.h"

typedef struct plist { pk_thread *head, *tail; } plist;

static inline void plist_push(plist *l, pk_thread *t) {
    t->s.list.next = NULL;
    t->s.list.prev = l->tail;
    if (l->tail) l->tail->s.list.next = t; else l->head = t;
    l->tail = t;
}

static inline void plist_unlink(plist *l, pk_thread *t) {
    if (t->s.list.prev) t->s.list.prev->s.list.next = t->s.list.next; else l->head = t->s.list.next;
    if (t->s.list.next) t->s.list.next->s.list.prev = t->s.list.prev; else l->tail = t->s.list.prev;
    t->s.list.next = t->s.list.prev = NULL;
}

/* Start loading a control block that will soon be switched in: with
 * thousands of threads it is no longer in the cache. */
static inline void prefetch_thread(const pk_thread *t) {
    for (size_t off = 0; off < sizeof *t; off += 64)
        __builtin_prefetch((const char *)t + off);
}

static inline pk_thread *plist_pop(plist *l) {
    pk_thread *t = l->head;
    if (!t) return NULL;
    l->head = t->s.list.next;
    if (l->head) {
        l->head->s.list.prev = NULL;
        prefetch_thread(l->head);          /* the next one to be picked */
    } else {
        l->tail = NULL;
    }
    t->s.list.next = NULL;
    return t;
}

/* the last queued thread (from the tail) that may run on cpu */
static pk_thread *plist_steal(pk_kernel *k, plist *l, uint32_t cpu) {
    for (pk_thread *t = l->tail; t; t = t->s.list.prev)
        if (pk_cpu_allowed(k, t, cpu)) { plist_unlink(l, t); return t; }
    return NULL;
}

/* snapshots: a list is its two ends (the links are in the threads) */
static void plist_save(const plist *l, pk_snap_w *w) {
    pk_snap_tref(w, l->head);
    pk_snap_tref(w, l->tail);
}

/* Read a list's ends and check it: its threads are queued in rq; returns
 * how many (UINT64_MAX: malformed, or more than max). */
static uint64_t plist_load(pk_rq *rq, plist *l, pk_snap_r *r, uint64_t max) {
    l->head = pk_snap_get_tref(rq->k, r);
    l->tail = pk_snap_get_tref(rq->k, r);
    if (r->err) return UINT64_MAX;
    return pk_snap_list(rq, l->head, l->tail, offsetof(pk_sched_data, list.next),
                        offsetof(pk_sched_data, list.prev), max, 0);
}

/* ---- FIFO and RoundRobin ------------------------------------------------- */

#define RR_WAKE_PREEMPT 1        /* cfg.preemptive bits for FIFO / RR */
#define RR_ALIGNED      2

static void fifo_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    plist *l = rq->priv;
    if (PK_UNLIKELY(why == PK_ENQ_WAKE && (rq->k->cfg.preemptive & RR_WAKE_PREEMPT))) {
        t->s.list.prev = NULL;
        t->s.list.next = l->head;
        if (l->head) l->head->s.list.prev = t; else l->tail = t;
        l->head = t;
        return;
    }
    plist_push(l, t);
}

/* wake_preempt: t, just queued at the head after io or sleep, takes the
 * CPU (a thread that arrives, or comes back any other way, does not). */
static bool fifo_wake_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    (void)curr;
    return (rq->k->cfg.preemptive & RR_WAKE_PREEMPT) && ((plist *)rq->priv)->head == t
        && (t->tflags & PK_TF_WOKEN)
        && t->first_run != PK_FOREVER && t->since == rq->k->now;
}
static void fifo_dequeue(pk_rq *rq, pk_thread *t, unsigned why) { (void)why; plist_unlink(rq->priv, t); }
static pk_thread *fifo_pick(pk_rq *rq) { return plist_pop(rq->priv); }
static pk_thread *fifo_requeue_pick(pk_rq *rq, pk_thread *t, unsigned why) {
    fifo_enqueue(rq, t, why);
    return plist_pop(rq->priv);
}
static pk_thread *fifo_steal(pk_rq *rq, uint32_t cpu) { return plist_steal(rq->k, rq->priv, cpu); }

/* the first queued thread that may run on cpu (OSTEP multi.py's get_job) */
static pk_thread *fifo_pick_on(pk_rq *rq, uint32_t cpu) {
    plist *l = rq->priv;
    for (pk_thread *t = l->head; t; t = t->s.list.next)
        if (pk_cpu_allowed(rq->k, t, cpu)) { plist_unlink(l, t); return t; }
    return NULL;
}

static pk_time fifo_slice(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return PK_FOREVER; }
/* RR_ALIGNED (cfg.preemptive bit 1): quanta end at multiples of the
 * quantum on every CPU at once, as the global timer interrupt of OSTEP's
 * multi.py ends them; a thread dispatched in between gets the rest. */
static pk_time rr_slice(pk_rq *rq, pk_thread *t) {
    (void)t;
    pk_time q = rq->k->cfg.quantum;
    if (PK_UNLIKELY(rq->k->cfg.preemptive & RR_ALIGNED)) return q - rq->k->now % q;
    return q;
}
static bool never(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return false; }
static bool always(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }
static void fifo_snap_save(const pk_rq *rq, pk_snap_w *w) { plist_save(rq->priv, w); }
static int fifo_snap_load(pk_rq *rq, pk_snap_r *r) {
    uint64_t want = rq->nr - rq->rt.nr;
    if (plist_load(rq, rq->priv, r, want) != want) pk_snap_bad(r);
    return r->err;
}

const pk_policy pk_policy_fifo = {
    .name = "FIFO", .priv_size = sizeof(plist),
    .enqueue = fifo_enqueue, .dequeue = fifo_dequeue, .pick = fifo_pick,
    .slice = fifo_slice, .tick = never, .wakeup_preempt = fifo_wake_preempt, .steal = fifo_steal,
    .snap_save = fifo_snap_save, .snap_load = fifo_snap_load, .pick_on = fifo_pick_on,
    .requeue_pick = fifo_requeue_pick,
};

const pk_policy pk_policy_rr = {
    .name = "RoundRobin", .flags = PK_POL_TICK_ALWAYS, .priv_size = sizeof(plist),
    .enqueue = fifo_enqueue, .dequeue = fifo_dequeue, .pick = fifo_pick,
    .slice = rr_slice, .tick = always, .wakeup_preempt = fifo_wake_preempt, .steal = fifo_steal,
    .snap_save = fifo_snap_save, .snap_load = fifo_snap_load, .pick_on = fifo_pick_on,
    .requeue_pick = fifo_requeue_pick,
};

/* ---- Priority: 140 levels, bitmap and find-first-set -------------------- */

#define PRIO_LEVELS 140

typedef struct prio_rq {
    plist level[PRIO_LEVELS];
    uint64_t bitmap[3];               /* bit p: level p non-empty */
} prio_rq;

static void prio_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    prio_rq *p = rq->priv;
    unsigned l = (unsigned)t->priority;     /* 0..139, checked at spawn */
    plist_push(&p->level[l], t);
    p->bitmap[l >> 6] |= 1ull << (l & 63);
}

static void prio_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    prio_rq *p = rq->priv;
    unsigned l = (unsigned)t->priority;
    plist_unlink(&p->level[l], t);
    if (!p->level[l].head) p->bitmap[l >> 6] &= ~(1ull << (l & 63));
}

static pk_thread *prio_pick(pk_rq *rq) {
    prio_rq *p = rq->priv;
    for (unsigned w = 0; w < 3; w++) {
        if (!p->bitmap[w]) continue;
        unsigned l = w * 64 + (unsigned)__builtin_ctzll(p->bitmap[w]);
        pk_thread *t = plist_pop(&p->level[l]);
        if (!p->level[l].head) p->bitmap[w] &= ~(1ull << (l & 63));
        return t;
    }
    return NULL;
}

static pk_thread *prio_steal(pk_rq *rq, uint32_t cpu) {
    prio_rq *p = rq->priv;
    for (int l = PRIO_LEVELS - 1; l >= 0; l--) {
        if (!p->level[l].head) continue;
        pk_thread *t = plist_steal(rq->k, &p->level[l], cpu);
        if (!t) continue;
        if (!p->level[l].head) p->bitmap[l >> 6] &= ~(1ull << (l & 63));
        return t;
    }
    return NULL;
}

static bool prio_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    return rq->k->cfg.preemptive && t->priority < curr->priority;
}

/* its level is its priority */
static bool prio_snap_thread(const pk_rq *rq, const pk_thread *t) {
    (void)rq;
    return t->priority >= 0 && t->priority < PRIO_LEVELS;
}

static void prio_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const prio_rq *p = rq->priv;
    for (unsigned l = 0; l < PRIO_LEVELS; l++) plist_save(&p->level[l], w);
    pk_snap_u64s(w, p->bitmap, 3);
}

static int prio_snap_load(pk_rq *rq, pk_snap_r *r) {
    prio_rq *p = rq->priv;
    uint64_t want = rq->nr - rq->rt.nr, found = 0;
    for (unsigned l = 0; l < PRIO_LEVELS; l++) {
        uint64_t n = plist_load(rq, &p->level[l], r, want - found);
        if (n == UINT64_MAX) { pk_snap_bad(r); return r->err; }
        for (const pk_thread *t = p->level[l].head; t; t = t->s.list.next)
            if (t->priority != (int32_t)l) pk_snap_bad(r);
        found += n;
    }
    if (found != want) pk_snap_bad(r);
    pk_snap_get_u64s(r, p->bitmap, 3);
    for (unsigned l = 0; l < PRIO_LEVELS; l++)
        if (!p->level[l].head != !(p->bitmap[l >> 6] >> (l & 63) & 1)) pk_snap_bad(r);
    if (p->bitmap[2] >> (PRIO_LEVELS - 128)) pk_snap_bad(r);
    return r->err;
}

const pk_policy pk_policy_priority = {
    .name = "Priority", .priv_size = sizeof(prio_rq),
    .enqueue = prio_enqueue, .dequeue = prio_dequeue, .pick = prio_pick,
    .slice = fifo_slice, .tick = never, .wakeup_preempt = prio_preempt, .steal = prio_steal,
    .snap_save = prio_snap_save, .snap_load = prio_snap_load, .snap_thread = prio_snap_thread,
};

const pk_policy *pk_policy_find(uint32_t id) {
    switch (id) {
    case PK_POLICY_FIFO: return &pk_policy_fifo;
    case PK_POLICY_RR: return &pk_policy_rr;
    case PK_POLICY_SJF: return &pk_policy_sjf;
    case PK_POLICY_STCF: return &pk_policy_stcf;
    case PK_POLICY_PRIORITY: return &pk_policy_priority;
    case PK_POLICY_CFS: return &pk_policy_cfs;
    case PK_POLICY_EEVDF: return &pk_policy_eevdf;
    case PK_POLICY_EDF: return &pk_policy_edf;
    case PK_POLICY_RM: return &pk_policy_rm;
    case PK_POLICY_MLFQ: return &pk_policy_mlfq;
    case PK_POLICY_LOTTERY: return &pk_policy_lottery;
    case PK_POLICY_STRIDE: return &pk_policy_stride;
    case PK_POLICY_HOST: return &pk_policy_host;
    default: return NULL;
    }
}
