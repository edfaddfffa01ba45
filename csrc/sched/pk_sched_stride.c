/* pk_sched_stride.c - stride scheduling (Waldspurger, "Lottery and Stride
 * Scheduling: Flexible Proportional-Share Resource Management", MIT PhD
 * thesis / TR, 1995; OSTEP ch. 9).  Each thread has
 *   stride = stride1 / tickets   (at least 1)
 * and a pass value.  The ready thread with the smallest pass runs for one
 * quantum; its pass grows by its stride per quantum of CPU time, and by
 * the same fraction of its stride for part of a quantum (the fraction is
 * carried exactly in t->s.share.rem, so a thread that blocks early is
 * charged exactly what it ran).  Equal passes run in the order the
 * threads became ready.
 *
 * The run queue's global pass stands for the smallest pass among its
 * runnable threads: it follows the smallest pass picked or charged and
 * never decreases.  A new thread starts at it; a waking thread starts
 * at it if its own pass is behind (it cannot bank CPU time by sleeping,
 * and keeps a debt it ran up before); a thread moved to another run
 * queue keeps its distance from the global pass; a change of tickets
 * scales its distance from the global pass by new stride / old stride
 * (Waldspurger's rule for dynamic ticket changes).  Decisions are taken
 * when a quantum ends or the CPU is free: no wake-up preemption.
 *
 * params: [0] quantum in ns; [1] stride1. */
#include "pk_core.h"
#include "pk_heap.h"

typedef struct stride_rq {
    pk_heap heap;                 /* ready threads keyed by pass           */
    pk_time quantum;
    uint64_t stride1;
    uint64_t global;              /* the global pass                       */
} stride_rq;


/* t's stride for its current tickets */
static inline uint64_t stride_of(const stride_rq *p, const pk_thread *t) {
    uint64_t s = p->stride1 / t->tickets;
    return s ? s : 1;
}

/* d ran for ran ns: its pass grows by stride * ran / quantum, exactly
 * (the remainder is kept in rem). */
static inline void advance(const stride_rq *p, pk_sched_data *d, uint64_t ran) {
    unsigned __int128 x = (unsigned __int128)d->share.stride * ran + d->share.rem;
    if (PK_LIKELY(!(x >> 64))) {
        uint64_t y = (uint64_t)x;
        d->share.pass += y / p->quantum;
        d->share.rem = y % p->quantum;
    } else {
        d->share.pass += (uint64_t)(x / p->quantum);
        d->share.rem = (uint64_t)(x % p->quantum);
    }
}

static inline void raise_global(stride_rq *p, uint64_t pass) {
    if (pass > p->global) p->global = pass;
}

/* base + delta, kept at 0 or above */
static inline uint64_t offset(uint64_t base, int64_t delta) {
    if (delta < 0 && (uint64_t)(-(delta + 1)) + 1 > base) return 0;
    return base + (uint64_t)delta;
}

/* params[0] is the quantum, params[1] stride1 (their rules:
 * pk_params_check). */
static int stride_init(pk_rq *rq) {
    stride_rq *p = rq->priv;
    const pk_config *c = &rq->k->cfg;
    int s = pk_rq_params_check(rq);
    if (s) return s;
    p->quantum = c->params[0];
    p->stride1 = c->params[1];
    return PK_OK;
}

/* Free the heap. */
static void stride_fini(pk_rq *rq) { pk_heap_free(rq->k, &((stride_rq *)rq->priv)->heap); }

/* t's pass is relative to run queue `home`'s global pass: make it
 * relative to rq's, keeping its distance. */
static void move_home(pk_rq *rq, pk_thread *t) {
    stride_rq *p = rq->priv;
    pk_sched_data *d = &t->s;
    if (d->share.home < rq->k->nrqs) {
        const stride_rq *src = rq->k->rqs[d->share.home].priv;
        d->share.pass = offset(p->global, (int64_t)(d->share.pass - src->global));
    }
    d->share.home = rq->cpu;
}

/* Give t the stride of its current tickets; if it changed, scale t's
 * distance from the global pass by new / old stride. */
static void restride(stride_rq *p, pk_thread *t) {
    pk_sched_data *d = &t->s;
    uint64_t s = stride_of(p, t);
    if (s == d->share.stride) return;
    if (PK_UNLIKELY(!d->share.stride)) d->share.stride = s;   /* never set: no scaling */
    __int128 lag = (__int128)(int64_t)(d->share.pass - p->global) * (__int128)s
                   / (__int128)d->share.stride;
    d->share.pass = offset(p->global, (int64_t)lag);
    d->share.rem = 0;
    d->share.stride = s;
}

/* Charge the threads running on rq's CPUs up to now, so that the global
 * pass counts the quanta they are in the middle of. */
static void charge_running(pk_rq *rq) {
    pk_kernel *k = rq->k;
    uint32_t first = k->shared ? 0 : rq->cpu, end = k->shared ? k->ncpus : rq->cpu + 1;
    for (uint32_t i = first; i < end; i++) {
        pk_thread *c = k->cpus[i].curr;
        if (c && c->sclass == PK_CLASS_OTHER) pk_charge_running(k, c);
    }
}

/* t becomes ready: a new thread starts at the global pass, a waking one
 * no earlier than it, a moved one at its distance from it; then it is
 * queued by pass. */
static void stride_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    stride_rq *p = rq->priv;
    pk_sched_data *d = &t->s;
    if (why == PK_ENQ_NEW || why == PK_ENQ_WAKE) charge_running(rq);
    if (why == PK_ENQ_NEW) {
        d->share.stride = stride_of(p, t);
        d->share.pass = p->global;
        d->share.rem = 0;
        d->share.home = rq->cpu;
    } else {
        if (d->share.home != rq->cpu) move_home(rq, t);
        restride(p, t);                 /* tickets changed while it slept */
        if (why == PK_ENQ_WAKE && d->share.pass < p->global) {
            d->share.pass = p->global;
            d->share.rem = 0;
        }
    }
    if (!pk_heap_push(rq->k, &p->heap, t, d->share.pass)) pk_rq_alloc_failed(rq);
}

/* Remove queued t. */
static void stride_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    pk_heap_remove(&((stride_rq *)rq->priv)->heap, t);
}

/* The queued thread with the smallest pass (the earliest queued among
 * equals), or NULL; the global pass follows it. */
static pk_thread *stride_pick(pk_rq *rq) {
    stride_rq *p = rq->priv;
    pk_thread *t = pk_heap_pop(&p->heap);
    if (t) raise_global(p, t->s.share.pass);
    return t;
}

/* Running t used ran more ns: advance its pass, and the global pass up
 * to the smaller of its pass and the smallest queued one. */
static void stride_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    stride_rq *p = rq->priv;
    advance(p, &t->s, ran);
    uint64_t low = t->s.share.pass;
    if (p->heap.n && pk_heap_top_key(&p->heap) < low) low = pk_heap_top_key(&p->heap);
    raise_global(p, low);
}

/* t's tickets (or another parameter) changed. */
static void stride_changed(pk_rq *rq, pk_thread *t) { restride(rq->priv, t); }

/* The queued thread with the largest pass that may run on cpu. */
static pk_thread *stride_steal(pk_rq *rq, uint32_t cpu) {
    return pk_heap_steal(rq->k, &((stride_rq *)rq->priv)->heap, cpu);
}

/* One quantum; at its end tick() asks for a new choice. */
static pk_time stride_slice(pk_rq *rq, pk_thread *t) {
    (void)t;
    return ((stride_rq *)rq->priv)->quantum;
}

static bool stride_tick(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }

/* A thread that becomes ready waits for the end of the quantum. */
static bool stride_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    (void)rq; (void)curr; (void)t;
    return false;
}

/* t's pass as of now, counting CPU time not yet charged */
static void stride_describe(const pk_rq *rq, const pk_thread *t, pk_thread_info *o) {
    const stride_rq *p = rq->priv;
    const pk_kernel *k = rq->k;
    pk_sched_data d = t->s;
    if (t->state == PK_TS_RUNNING) {
        const pk_cpu *c = &k->cpus[t->cpu];
        if (k->now > c->seg_start) advance(p, &d, k->now - c->seg_start);
    }
    o->stride_pass = d.share.pass;
}

/* snapshots: the heap in array order and the global pass */
static void stride_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const stride_rq *p = rq->priv;
    pk_snap_heap_save(w, &p->heap);
    pk_snap_u64(w, p->global);
}

static int stride_snap_load(pk_rq *rq, pk_snap_r *r) {
    stride_rq *p = rq->priv;
    int s = pk_snap_heap_load(rq, r, &p->heap);
    p->global = pk_snap_get_u64(r);
    if (!s && p->heap.n != rq->nr - rq->rt.nr) pk_snap_bad(r);
    return s ? s : r->err;
}

const pk_policy pk_policy_stride = {
    .name = "Stride", .flags = PK_POL_HEAP, .priv_size = sizeof(stride_rq),
    .init = stride_init, .fini = stride_fini,
    .enqueue = stride_enqueue, .dequeue = stride_dequeue, .pick = stride_pick,
    .slice = stride_slice, .tick = stride_tick, .wakeup_preempt = stride_preempt,
    .charge = stride_charge, .steal = stride_steal, .changed = stride_changed,
    .describe = stride_describe, .snap_save = stride_snap_save, .snap_load = stride_snap_load,
};
