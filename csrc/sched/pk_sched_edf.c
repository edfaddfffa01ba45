/* pk_sched_edf.c - real-time policies for periodic tasks (pk_periodic.c), on
 * one indexed min-heap (pk_heap.h):
 *   EDF  earliest deadline first (Liu & Layland 1973; Buttazzo, Hard
 *        Real-Time Computing Systems, ch. 4): the key is the absolute
 *        deadline of the thread's current job, x[PK_REG_DEADLINE].
 *   RM   rate monotonic (Liu & Layland 1973): fixed priorities, the key is
 *        the period x[PK_REG_PERIOD] (shorter period, higher priority);
 *        with params[0] = 1, deadline monotonic (Leung & Whitehead 1982):
 *        the key is the relative deadline x[PK_REG_REL_DL].
 * Both preempt: a thread that becomes ready with a strictly smaller key
 * takes the CPU.  A thread that is not a periodic task has the key
 * PK_FOREVER: it runs in the background, when no job is ready.
 *
 * Ties go to the job that became ready first: a preempted job keeps its
 * place (the heap sequence number it was first queued with, its "stamp");
 * a new job, a woken or yielding thread, or one moved from another run
 * queue takes a new stamp.
 *
 * On a shared queue with several CPUs (global EDF / RM) the CPUs run the
 * best jobs: no queued thread beats a running one.  A thread that becomes
 * ready preempts the weakest running thread it beats (the dispatcher's
 * check_preempt_shared), and a running thread's key changes only at a job
 * boundary, where it either sleeps until its next release or, if that
 * release has passed, goes back through the queue (PK_ACT_YIELD, pk_periodic.c)
 * while its CPU picks again. */
#include "pk_core.h"
#include "pk_heap.h"

enum { BY_DEADLINE, BY_PERIOD, BY_REL_DEADLINE };

typedef struct job_rq {
    pk_heap h;
    uint32_t by;                  /* BY_*: which register is the key */
} job_rq;

static inline uint64_t job_key(const pk_rq *rq, const pk_thread *t) {
    static const unsigned reg[] = { PK_REG_DEADLINE, PK_REG_PERIOD, PK_REG_REL_DL };
    const pk_regs *r = pk_thread_live_regs(rq->k, t);
    if (!(r->flags & PK_RF_PERIODIC)) return PK_FOREVER;
    return r->x[reg[((const job_rq *)rq->priv)->by]];
}

static int edf_init(pk_rq *rq) {
    ((job_rq *)rq->priv)->by = BY_DEADLINE;
    return PK_OK;
}

/* params[0]: 0 rate monotonic (default), 1 deadline monotonic */
static int rm_init(pk_rq *rq) {
    const pk_config *cfg = &rq->k->cfg;
    uint64_t by = cfg->nparams ? cfg->params[0] : 0;
    if (by > 1) return PK_ERR_INVALID_ARGS;
    ((job_rq *)rq->priv)->by = by ? BY_REL_DEADLINE : BY_PERIOD;
    return PK_OK;
}

static void job_fini(pk_rq *rq) { pk_heap_free(rq->k, &((job_rq *)rq->priv)->h); }

/* Queue t by its key.  It keeps its stamp if it was preempted (or had a
 * parameter changed while queued) in the middle of the same job. */
static void job_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    pk_heap *h = &((job_rq *)rq->priv)->h;
    uint64_t release = pk_thread_live_regs(rq->k, t)->x[PK_REG_RELEASE];
    bool same = (why == PK_ENQ_PREEMPT || (why == PK_ENQ_CHANGE && rq->k->shared))
                && t->s.job.release == release;
    uint64_t stamp = t->s.job.stamp;
    if (!pk_heap_push(rq->k, h, t, job_key(rq, t))) { pk_rq_alloc_failed(rq); return; }
    t->s.job.release = release;
    if (!same) {
        t->s.job.stamp = h->seq - 1;            /* the sequence number just taken */
        return;
    }
    uint32_t i = pk_heap_pos(h, t);
    pk_heap_ent e = h->a[i];                    /* back to its old place among equals */
    e.seq = stamp;
    pk_heap_up(h, i, e, t->tid);
}

static void job_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    pk_heap_remove(&((job_rq *)rq->priv)->h, t);
}

/* The queued thread with the smallest (key, stamp). */
static pk_thread *job_pick(pk_rq *rq) { return pk_heap_pop(&((job_rq *)rq->priv)->h); }

/* The best queued thread that may run on cpu (an idle CPU pulls the most
 * urgent job it can run, as Linux's SCHED_DEADLINE pulls the earliest
 * deadline); a linear scan, used only by load balancing. */
static pk_thread *job_steal(pk_rq *rq, uint32_t cpu) {
    pk_heap *h = &((job_rq *)rq->priv)->h;
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < h->n; i++)
        if ((best == UINT32_MAX || pk_heap_before(&h->a[i], &h->a[best]))
            && pk_cpu_allowed(rq->k, pk_heap_thread(h, i), cpu))
            best = i;
    if (best == UINT32_MAX) return NULL;
    pk_thread *t = pk_heap_thread(h, best);
    pk_heap_remove(h, t);
    return t;
}

static pk_time no_slice(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return PK_FOREVER; }
static bool never(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return false; }

static void job_snap_save(const pk_rq *rq, pk_snap_w *w) {
    pk_snap_heap_save(w, &((const job_rq *)rq->priv)->h);
}
static int job_snap_load(pk_rq *rq, pk_snap_r *r) {
    pk_heap *h = &((job_rq *)rq->priv)->h;
    int s = pk_snap_heap_load(rq, r, h);
    if (!s && h->n != rq->nr - rq->rt.nr) pk_snap_bad(r);
    return s ? s : r->err;
}

/* t, just ready, takes the CPU from curr iff its key is strictly smaller. */
static bool job_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    return job_key(rq, t) < job_key(rq, curr);
}

const pk_policy pk_policy_edf = {
    .name = "EDF", .flags = PK_POL_HEAP, .priv_size = sizeof(job_rq),
    .init = edf_init, .fini = job_fini, .enqueue = job_enqueue, .dequeue = job_dequeue,
    .pick = job_pick, .slice = no_slice, .tick = never, .wakeup_preempt = job_preempt,
    .steal = job_steal, .snap_save = job_snap_save, .snap_load = job_snap_load,
};

const pk_policy pk_policy_rm = {
    .name = "RateMonotonic", .flags = PK_POL_HEAP, .priv_size = sizeof(job_rq),
    .init = rm_init, .fini = job_fini, .enqueue = job_enqueue, .dequeue = job_dequeue,
    .pick = job_pick, .slice = no_slice, .tick = never, .wakeup_preempt = job_preempt,
    .steal = job_steal, .snap_save = job_snap_save, .snap_load = job_snap_load,
};
