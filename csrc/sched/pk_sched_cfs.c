/* pk_sched_cfs.c - Linux's Completely Fair Scheduler (CFS), as in
 * kernel/sched/fair.c of Linux 2.6.23 .. 6.5, one instance per run queue.
 *
 *   vruntime    each thread's virtual runtime grows by ran * 1024 / weight
 *               while it runs (update_curr, calc_delta_fair); the weight
 *               comes from its nice value (sched_prio_to_weight).  Exact:
 *               remainders are carried (pk_fair.h).
 *   order       the queued thread with the smallest vruntime runs next
 *               (pick_next_entity); equal vruntimes in the order they
 *               were queued.  O(log n): an indexed min-heap keyed by
 *               vruntime (pk_heap.h), plus a sorted FIFO "run": a thread
 *               whose vruntime is not below that of the run's last one
 *               is appended to the run in O(1).  With threads of equal
 *               weight every requeued thread extends the run (it has the
 *               largest vruntime), so the heap is bypassed; the first
 *               queued thread is the smaller of the run's head and the
 *               heap's top, so the order is exactly (vruntime, queueing).
 *   min_vruntime  per queue, only moves forward: the smaller of the
 *               running thread's and the leftmost queued thread's
 *               vruntime, if that is larger (update_min_vruntime).
 *   slice       period = latency if nr_running <= nr_latency, else
 *               nr_running * min_granularity (__sched_period); a thread's
 *               slice = period * weight / total weight, at least
 *               min_granularity (sched_slice with BASE_SLICE).  When it
 *               ends the thread yields to the leftmost (the hrtick path of
 *               check_preempt_tick); it may be picked again at once.  When
 *               a thread joins the queue, the running thread's slice is
 *               computed again with the new total and ends earlier if it
 *               is now shorter (hrtick_update).
 *   placement   (place_entity) NEW: min_vruntime + its virtual slice
 *               (START_DEBIT); WAKE: max(own, min_vruntime - latency / 2)
 *               (GENTLE_FAIR_SLEEPERS); MIGRATE / CHANGE: the same lag
 *               relative to min_vruntime in the new queue as in the old
 *               (vruntime -= old min_vruntime at dequeue or steal,
 *               += new min_vruntime at enqueue).
 *   wakeup      a woken thread preempts when curr.vruntime - its vruntime
 *               > wakeup_granularity * 1024 / its weight
 *               (check_preempt_wakeup, wakeup_preempt_entity).
 *   yield       the yielding thread is passed over once if the next one
 *               is within the wakeup granularity (the skip buddy).
 * The tunables are scaled by the CPU count (pk_fair_factor).  The "next"
 * and "last" buddies, group scheduling and load tracking (PELT) are not
 * modelled.
 *
 * With one queue shared by several CPUs (which Linux never does) a
 * thread's slice counts every running thread, and min_vruntime follows
 * the thread being charged.
 *
 * params: [0] latency, [1] min_granularity, [2] wakeup_granularity (ns,
 * unscaled), [3] scale (PK_SCALE_*). */
#include "pk_core.h"
#include "pk_heap.h"
#include "pk_fair.h"

#define CFS_REL 1        /* t->s.cfs.flags: vruntime is relative to a min_vruntime */
#define IN_HEAP 1        /* t->s.cfs.where */
#define IN_RUN  2

typedef struct cfs_rq {
    pk_heap q;                    /* queued threads, key = vruntime         */
    pk_thread *head, *tail;       /* the run, in (vruntime, seq) order      */
    uint64_t nrun;                /* threads in the run                     */
    uint64_t min_vruntime;
    uint64_t load;                /* total weight of the queued threads     */
    pk_thread *skip;              /* yielded: passed over once if fair      */
    uint64_t latency, min_gran, wakeup_gran;   /* scaled                   */
    uint64_t nr_latency;
} cfs_rq;

/* Check params[0..3] (pk_params_check) and scale the tunables by the
 * CPU count. */
static int cfs_init(pk_rq *rq) {
    const pk_config *cfg = &rq->k->cfg;
    int s = pk_rq_params_check(rq);
    if (s) return s;
    uint64_t lat = cfg->params[0], gran = cfg->params[1], wgran = cfg->params[2];
    cfs_rq *c = rq->priv;
    uint64_t f = pk_fair_factor(cfg->params[3], rq->k->ncpus);
    c->latency = lat * f;
    c->min_gran = gran * f;
    c->wakeup_gran = wgran * f;
    c->nr_latency = (lat + gran - 1) / gran;      /* DIV_ROUND_UP, 8 by default */
    c->min_vruntime = PK_FAIR_V0;
    return PK_OK;
}

/* Free the heap's array. */
static void cfs_fini(pk_rq *rq) { pk_heap_free(rq->k, &((cfs_rq *)rq->priv)->q); }

/* ---- the queue: the heap and the run ------------------------------------- */

static inline uint64_t q_count(const cfs_rq *c) { return c->q.n + c->nrun; }

/* Start loading a control block that will soon be switched in: with
 * thousands of threads it is no longer in the cache. */
static inline void prefetch_thread(const pk_thread *t) {
    for (size_t off = 0; off < sizeof *t; off += 64)
        __builtin_prefetch((const char *)t + off);
}

/* (key, seq) order, the heap's */
static inline bool q_before(uint64_t k1, uint64_t s1, uint64_t k2, uint64_t s2) {
    return k1 < k2 || (k1 == k2 && s1 < s2);
}

static inline bool t_before(const pk_thread *a, const pk_thread *b) {
    return q_before(a->s.cfs.vruntime, a->s.cfs.seq, b->s.cfs.vruntime, b->s.cfs.seq);
}

/* The earlier of heap entry i (UINT32_MAX: none) and run thread r (may be NULL). */
static inline pk_thread *q_min(const pk_heap *h, uint32_t i, pk_thread *r) {
    if (i == UINT32_MAX) return r;
    if (!r) return pk_heap_thread(h, i);
    const pk_heap_ent *e = &h->a[i];
    return q_before(e->key, e->seq, r->s.cfs.vruntime, r->s.cfs.seq) ? pk_heap_thread(h, i) : r;
}

/* The first queued thread, or NULL. */
static inline pk_thread *q_first(const cfs_rq *c) {
    return q_min(&c->q, c->q.n ? 0 : UINT32_MAX, c->head);
}

/* The queued thread after first (the first queued thread), or NULL. */
static pk_thread *q_second(const cfs_rq *c, const pk_thread *first) {
    if (first->s.cfs.where == IN_RUN)
        return q_min(&c->q, c->q.n ? 0 : UINT32_MAX, first->s.cfs.next);
    return q_min(&c->q, c->q.n > 1 ? pk_heap_min_child(&c->q, 0) : UINT32_MAX, c->head);
}

/* Queue t (key = its vruntime); false if memory ran out. */
static inline bool q_push(pk_rq *rq, cfs_rq *c, pk_thread *t) {
    if (!c->tail || c->tail->s.cfs.vruntime <= t->s.cfs.vruntime) {    /* extends the run */
        t->s.cfs.seq = c->q.seq++;
        t->s.cfs.next = NULL;
        t->s.cfs.prev = c->tail;
        if (c->tail) c->tail->s.cfs.next = t; else c->head = t;
        c->tail = t;
        c->nrun++;
        t->s.cfs.where = IN_RUN;
        return true;
    }
    t->s.cfs.seq = c->q.seq;                       /* the seq the heap gives it */
    if (!pk_heap_push(rq->k, &c->q, t, t->s.cfs.vruntime)) return false;
    t->s.cfs.where = IN_HEAP;
    return true;
}

/* Take queued t out of the queue. */
static inline void q_remove(cfs_rq *c, pk_thread *t) {
    if (t->s.cfs.where == IN_HEAP) {
        if (t->tid == c->q.tid[0]) {
            pk_heap_pop(&c->q);

        } else {
            pk_heap_remove(&c->q, t);
        }
    } else {
        pk_thread *n = t->s.cfs.next, *p = t->s.cfs.prev;
        if (p) p->s.cfs.next = n; else c->head = n;
        if (n) n->s.cfs.prev = p; else c->tail = p;
        if (!p && n) prefetch_thread(n);          /* the next one to be picked */
        c->nrun--;
    }
    t->s.cfs.where = 0;
}

/* The queued thread with the largest (vruntime, seq) that may run on
 * cpu, or NULL (a linear scan of the heap: load balancing only). */
static pk_thread *q_last_allowed(pk_kernel *k, const cfs_rq *c, uint32_t cpu) {
    pk_thread *best = c->tail;
    while (best && !pk_cpu_allowed(k, best, cpu)) best = best->s.cfs.prev;
    for (uint32_t i = 0; i < c->q.n; i++) {
        pk_thread *t = pk_heap_thread(&c->q, i);
        if ((!best || t_before(best, t)) && pk_cpu_allowed(k, t, cpu)) best = t;
    }
    return best;
}

/* Linux's sched_slice(): the share of the period of a thread of weight w
 * among nr runnable threads of total weight load (w included). */
static pk_time slice_of(const cfs_rq *c, uint64_t nr, uint64_t load, uint32_t w) {
    uint64_t period = c->latency;
    if (nr > c->nr_latency && __builtin_mul_overflow(nr, c->min_gran, &period)) period = UINT64_MAX;
    uint64_t s = pk_fair_muldiv(period, w, load);
    return s < c->min_gran ? c->min_gran : s;
}

/* update_min_vruntime(): curr (may be NULL) is the running thread. */
static inline void update_min(cfs_rq *c, const pk_thread *curr) {
    const pk_thread *left = q_first(c);
    uint64_t v;
    if (curr) {
        v = curr->s.cfs.vruntime;
        if (left && pk_fair_before(left->s.cfs.vruntime, v)) v = left->s.cfs.vruntime;
    } else if (left) {
        v = left->s.cfs.vruntime;
    } else {
        return;
    }
    if (pk_fair_before(c->min_vruntime, v)) c->min_vruntime = v;
}

/* Bring t's vruntime into rq's frame: it may be relative (after a dequeue
 * or steal) or absolute in another queue (it slept or ran there). */
static void rebase(pk_rq *rq, cfs_rq *c, pk_thread *t) {
    if (!(t->s.cfs.flags & CFS_REL) && t->s.cfs.home != rq->cpu && t->s.cfs.home < rq->k->nrqs) {
        const cfs_rq *old = rq->k->rqs[t->s.cfs.home].priv;
        t->s.cfs.vruntime -= old->min_vruntime;
        t->s.cfs.flags |= CFS_REL;
    }
    if (t->s.cfs.flags & CFS_REL) t->s.cfs.vruntime += c->min_vruntime;
    t->s.cfs.flags &= (uint8_t)~CFS_REL;
}

/* place_entity(): where a thread entering the queue starts. */
static void place(pk_rq *rq, cfs_rq *c, pk_thread *t, unsigned why) {
    pk_fair_update_curr(rq, t);
    if (why == PK_ENQ_NEW) {                     /* START_DEBIT */
        uint64_t nr = q_count(c) + 1, load = c->load + t->s.cfs.weight;
        pk_fair_running_load(rq, t, &nr, &load);
        uint64_t vslice = pk_fair_virt(slice_of(c, nr, load, t->s.cfs.weight), t->s.cfs.weight);
        t->s.cfs.vruntime = c->min_vruntime + vslice;
        t->s.cfs.rem = 0;
        t->s.cfs.flags = 0;
        return;
    }
    rebase(rq, c, t);
    if (why == PK_ENQ_WAKE) {                    /* GENTLE_FAIR_SLEEPERS */
        uint64_t floor = c->min_vruntime - c->latency / 2;
        if (pk_fair_before(t->s.cfs.vruntime, floor)) t->s.cfs.vruntime = floor;
    }
}

/* A thread joined rq: the running thread's slice, computed again with
 * the new total, may end sooner (per-CPU or one-CPU queues). */
static void recut(pk_rq *rq, cfs_rq *c) {
    if (rq->k->shared && rq->k->ncpus > 1) return;
    pk_thread *curr = pk_fair_running(rq->k, rq->cpu);
    if (!curr) return;
    pk_cpu *cpu = &rq->k->cpus[rq->cpu];
    pk_time start = cpu->slice_end - curr->s.cfs.slice;
    pk_time s = slice_of(c, q_count(c) + 1, c->load + curr->s.cfs.weight, curr->s.cfs.weight);
    if (s < curr->s.cfs.slice) {
        curr->s.cfs.slice = s;
        pk_fair_cut_slice(rq->k, cpu, start + s);
    }
}

/* Queue t: a thread put back after running (slice, preemption, yield)
 * keeps its vruntime (put_prev_entity); any other is placed first
 * (place_entity), and the running thread's slice may then shrink. */
static void cfs_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    cfs_rq *c = rq->priv;
    uint32_t w = pk_fair_weight(t);
    if (PK_UNLIKELY(w != t->s.cfs.weight)) {     /* new, or nice changed while away */
        t->s.cfs.weight = w;
        t->s.cfs.rem = 0;
    }
    bool placed = why != PK_ENQ_SLICE && why != PK_ENQ_PREEMPT && why != PK_ENQ_YIELD;
    if (why == PK_ENQ_YIELD) c->skip = t;
    else if (placed) place(rq, c, t, why);
    t->s.cfs.home = (uint16_t)rq->cpu;
    if (!q_push(rq, c, t)) { pk_rq_alloc_failed(rq); return; }
    c->load += w;
    if (placed) recut(rq, c);
}

/* t has left the heap other than by pick: the queue forgets it and, unless
 * it was killed, its vruntime becomes relative (its lag is kept for the
 * queue it enters next). */
static void forget(pk_rq *rq, cfs_rq *c, pk_thread *t, unsigned why) {
    c->load -= t->s.cfs.weight;
    if (c->skip == t) c->skip = NULL;
    if (why != PK_ENQ_KILL) {
        t->s.cfs.vruntime -= c->min_vruntime;
        t->s.cfs.flags |= CFS_REL;
    }
    uint32_t lo, hi;
    pk_fair_cpus(rq, &lo, &hi);
    if (hi - lo == 1) update_min(c, pk_fair_running(rq->k, lo));
}

/* Take queued t out (killed, moved, or changed). */
static void cfs_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    cfs_rq *c = rq->priv;
    q_remove(c, t);
    forget(rq, c, t, why);
}

/* Load balancing takes the thread that would wait longest here. */
static pk_thread *cfs_steal(pk_rq *rq, uint32_t cpu) {
    cfs_rq *c = rq->priv;
    pk_thread *t = q_last_allowed(rq->k, c, cpu);
    if (t) cfs_dequeue(rq, t, PK_ENQ_MIGRATE);
    return t;
}

/* wakeup_preempt_entity(curr, se) == 1: curr is ahead of se by more than
 * the wakeup granularity in se's virtual time. */
static inline bool unfair_to(const cfs_rq *c, const pk_thread *curr, const pk_thread *se) {
    int64_t vdiff = (int64_t)(curr->s.cfs.vruntime - se->s.cfs.vruntime);
    return vdiff > 0 && (uint64_t)vdiff > pk_fair_virt(c->wakeup_gran, se->s.cfs.weight);
}

/* The leftmost thread, or the one after it if the leftmost yielded and
 * running the other is not too unfair (pick_next_entity's skip buddy). */
static pk_thread *choose(cfs_rq *c) {
    pk_thread *left = q_first(c);
    if (PK_LIKELY(c->skip != left)) return left;
    pk_thread *second = q_second(c, left);
    return !second || unfair_to(c, second, left) ? left : second;
}

/* Remove and return the thread with the smallest vruntime (or the one
 * after a yielder), or NULL. */
static pk_thread *cfs_pick(pk_rq *rq) {
    cfs_rq *c = rq->priv;
    if (!q_count(c)) return NULL;
    if (PK_LIKELY(!rq->k->shared || rq->k->ncpus == 1)) update_min(c, NULL);
    pk_thread *t = choose(c);
    if (c->skip == t) c->skip = NULL;
    q_remove(c, t);
    c->load -= t->s.cfs.weight;
    return t;
}

/* t's slice as it starts to run (t is the running thread): remembered
 * so that a later enqueue can shorten it. */
static pk_time cfs_slice(pk_rq *rq, pk_thread *t) {
    cfs_rq *c = rq->priv;
    uint64_t nr = q_count(c), load = c->load;
    if (PK_LIKELY(!rq->k->shared || rq->k->ncpus == 1)) {
        nr++;                                    /* t runs on rq's one CPU */
        load += t->s.cfs.weight;
    } else {
        pk_fair_running_load(rq, NULL, &nr, &load);
    }
    return t->s.cfs.slice = slice_of(c, nr, load, t->s.cfs.weight);
}

/* The slice is over: give the CPU to the leftmost (possibly t again). */
static bool cfs_tick(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }

/* check_preempt_wakeup(): t (just queued) takes the CPU from curr when
 * curr is ahead of it by more than the wakeup granularity. */
static bool cfs_wakeup_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    return unfair_to(rq->priv, curr, t);
}

/* update_curr(): running t ran `ran` ns more. */
static void cfs_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    cfs_rq *c = rq->priv;
    if (PK_UNLIKELY(t->tflags & PK_TF_NEWCLASS)) return;   /* not placed yet */
    t->s.cfs.vruntime += pk_fair_vdelta(ran, t->s.cfs.weight, &t->s.cfs.rem);
    update_min(c, t);
}

/* t's nice changed (running, or between dequeue and enqueue): new weight,
 * same vruntime.  (A thread coming back to the class is not told: it is
 * placed as new by its next enqueue; should it be, its state is made
 * valid until then.) */
static void cfs_changed(pk_rq *rq, pk_thread *t) {
    cfs_rq *c = rq->priv;
    if (t->tflags & PK_TF_NEWCLASS) {
        t->s.cfs.vruntime = c->min_vruntime;
        t->s.cfs.flags = 0;
        t->s.cfs.home = (uint16_t)rq->cpu;
        t->s.cfs.slice = 0;                      /* its slice is not ours: never cut */
    }
    uint32_t w = pk_fair_weight(t);
    if (w != t->s.cfs.weight) {
        t->s.cfs.weight = w;
        t->s.cfs.rem = 0;
    }
}

/* snapshots: the heap in array order, the run, the counters */
static void cfs_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const cfs_rq *c = rq->priv;
    pk_snap_heap_save(w, &c->q);
    pk_snap_tref(w, c->head);
    pk_snap_tref(w, c->tail);
    pk_snap_tref(w, c->skip);
    pk_snap_u64(w, c->nrun);
    pk_snap_u64(w, c->min_vruntime);
    pk_snap_u64(w, c->load);
}

static int cfs_snap_load(pk_rq *rq, pk_snap_r *r) {
    cfs_rq *c = rq->priv;
    int s = pk_snap_heap_load(rq, r, &c->q);
    if (s) return s;
    c->head = pk_snap_get_tref(rq->k, r);
    c->tail = pk_snap_get_tref(rq->k, r);
    c->skip = pk_snap_get_tref(rq->k, r);
    c->nrun = pk_snap_get_u64(r);
    c->min_vruntime = pk_snap_get_u64(r);
    c->load = pk_snap_get_u64(r);
    if (r->err) return r->err;
    for (uint32_t i = 0; i < c->q.n; i++)
        if (pk_heap_thread(&c->q, i)->s.cfs.where != IN_HEAP) pk_snap_bad(r);
    uint64_t want = rq->nr - rq->rt.nr;
    uint64_t n = pk_snap_list(rq, c->head, c->tail, offsetof(pk_sched_data, cfs.next),
                              offsetof(pk_sched_data, cfs.prev), want, 0);
    if (n != c->nrun || c->q.n + n != want) { pk_snap_bad(r); return r->err; }
    for (const pk_thread *t = c->head; t; t = t->s.cfs.next)
        if (t->s.cfs.where != IN_RUN) pk_snap_bad(r);
    return r->err;
}

const pk_policy pk_policy_cfs = {
    .name = "CFS", .flags = PK_POL_HEAP, .priv_size = sizeof(cfs_rq),
    .init = cfs_init, .fini = cfs_fini,
    .enqueue = cfs_enqueue, .dequeue = cfs_dequeue, .pick = cfs_pick,
    .slice = cfs_slice, .tick = cfs_tick, .wakeup_preempt = cfs_wakeup_preempt,
    .charge = cfs_charge, .steal = cfs_steal, .changed = cfs_changed,
    .snap_save = cfs_snap_save, .snap_load = cfs_snap_load,
};
