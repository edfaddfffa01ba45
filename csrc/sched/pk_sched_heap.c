/* pk_sched_heap.c - policies on one indexed min-heap keyed by a number
 * (pk_heap.h):
 *   SJF   key = declared burst; non-preemptive (shortest job first).
 *   STCF  key = remaining declared burst; a new or woken thread with
 *         strictly less remaining time preempts the running one (shortest
 *         time-to-completion first, a.k.a. shortest remaining time first).
 * Equal keys run in the order they became ready.  O(log n). */
#include "pk_core.h"
#include "pk_heap.h"

static void heap_fini(pk_rq *rq) { pk_heap_free(rq->k, rq->priv); }

static void sjf_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    if (!pk_heap_push(rq->k, rq->priv, t, t->burst)) pk_rq_alloc_failed(rq);
}

static void stcf_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    if (!pk_heap_push(rq->k, rq->priv, t, pk_thread_remaining(t))) pk_rq_alloc_failed(rq);
}

static void heap_dequeue(pk_rq *rq, pk_thread *t, unsigned why) { (void)why; pk_heap_remove(rq->priv, t); }
static pk_thread *heap_pick(pk_rq *rq) { return pk_heap_pop(rq->priv); }
static pk_thread *heap_steal(pk_rq *rq, uint32_t cpu) { return pk_heap_steal(rq->k, rq->priv, cpu); }

static pk_time no_slice(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return PK_FOREVER; }
static bool never(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return false; }
static bool no_preempt(pk_rq *rq, pk_thread *c, pk_thread *t) { (void)rq; (void)c; (void)t; return false; }

static void heap_snap_save(const pk_rq *rq, pk_snap_w *w) { pk_snap_heap_save(w, rq->priv); }
static int heap_snap_load(pk_rq *rq, pk_snap_r *r) {
    int s = pk_snap_heap_load(rq, r, rq->priv);
    if (!s && ((pk_heap *)rq->priv)->n != rq->nr - rq->rt.nr) pk_snap_bad(r);
    return s ? s : r->err;
}

static bool stcf_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    (void)rq;
    return pk_thread_remaining(t) < pk_thread_remaining(curr);
}

const pk_policy pk_policy_sjf = {
    .name = "SJF", .flags = PK_POL_NEEDS_BURST | PK_POL_HEAP, .priv_size = sizeof(pk_heap),
    .fini = heap_fini, .enqueue = sjf_enqueue, .dequeue = heap_dequeue, .pick = heap_pick,
    .slice = no_slice, .tick = never, .wakeup_preempt = no_preempt, .steal = heap_steal,
    .snap_save = heap_snap_save, .snap_load = heap_snap_load,
};

const pk_policy pk_policy_stcf = {
    .name = "STCF", .flags = PK_POL_NEEDS_BURST | PK_POL_HEAP, .priv_size = sizeof(pk_heap),
    .fini = heap_fini, .enqueue = stcf_enqueue, .dequeue = heap_dequeue, .pick = heap_pick,
    .slice = no_slice, .tick = never, .wakeup_preempt = stcf_preempt, .steal = heap_steal,
    .snap_save = heap_snap_save, .snap_load = heap_snap_load,
};
