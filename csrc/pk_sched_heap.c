/* pk_sched_heap.c - policies on one binary min-heap keyed by (key, seq):
 *   SJF       key = declared burst; non-preemptive (shortest job first).
 *   STCF      key = remaining declared burst; a new or woken thread with
 *             strictly less remaining time preempts the running one
 *             (shortest time-to-completion first, a.k.a. SRTF).
 *   Priority  key = static priority, lower runs first; preemptive or not.
 * seq is taken at every enqueue, so equal keys run in the order they
 * became ready.  O(log n) enqueue, pick and dequeue. */
#include "pk_core.h"

static inline bool he_before(const pk_rq_heapent *a, const pk_rq_heapent *b) {
    return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

static inline void he_set(pk_rq *rq, uint32_t i, pk_rq_heapent e) {
    rq->heap[i] = e;
    e.t->rq_pos = i;
}

static void sift_up(pk_rq *rq, uint32_t i, pk_rq_heapent e) {
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!he_before(&e, &rq->heap[p])) break;
        he_set(rq, i, rq->heap[p]);
        i = p;
    }
    he_set(rq, i, e);
}

static void sift_down(pk_rq *rq, uint32_t i, pk_rq_heapent e) {
    uint32_t n = rq->hn;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && he_before(&rq->heap[c + 1], &rq->heap[c])) c++;
        if (!he_before(&rq->heap[c], &e)) break;
        he_set(rq, i, rq->heap[c]);
        i = c;
    }
    he_set(rq, i, e);
}

static int heap_reserve(pk_kernel *k, pk_rq *rq, uint64_t n) {
    uint64_t want = n;                  /* one slot for every thread that exists */
    if (want > 0xffffffffull) return PK_ERR_NO_MEMORY;
    uint64_t cap = rq->hcap ? rq->hcap : 16;
    while (cap < want) cap *= 2;
    if (cap == rq->hcap) return PK_OK;
    pk_rq_heapent *h = pk_realloc(k, rq->heap, (size_t)rq->hcap * sizeof *h, (size_t)cap * sizeof *h);
    if (!h) return PK_ERR_NO_MEMORY;
    rq->heap = h;
    rq->hcap = (uint32_t)cap;
    return PK_OK;
}

static void heap_fini(pk_kernel *k, pk_rq *rq) {
    pk_free(k, rq->heap, (size_t)rq->hcap * sizeof *rq->heap);
    rq->heap = NULL; rq->hn = rq->hcap = 0;
}

static void heap_push(pk_rq *rq, pk_thread *t, uint64_t key) {
    pk_rq_heapent e = { key, rq->seq++, t };
    sift_up(rq, rq->hn++, e);
}

static void heap_dequeue(pk_rq *rq, pk_thread *t) {
    uint32_t i = t->rq_pos;
    pk_rq_heapent last = rq->heap[--rq->hn];
    if (i == rq->hn) return;
    if (he_before(&last, &rq->heap[i])) sift_up(rq, i, last);
    else sift_down(rq, i, last);
}

static pk_thread *heap_pick(pk_rq *rq) {
    if (!rq->hn) return NULL;
    pk_thread *t = rq->heap[0].t;
    pk_rq_heapent last = rq->heap[--rq->hn];
    if (rq->hn) sift_down(rq, 0, last);
    return t;
}

static uint64_t prio_key(const pk_thread *t) { return (uint64_t)((int64_t)t->priority + 0x80000000ll); }

static void sjf_enqueue(pk_rq *rq, pk_thread *t, unsigned why) { (void)why; heap_push(rq, t, t->burst); }
static void stcf_enqueue(pk_rq *rq, pk_thread *t, unsigned why) { (void)why; heap_push(rq, t, pk_thread_remaining(t)); }
static void prio_enqueue(pk_rq *rq, pk_thread *t, unsigned why) { (void)why; heap_push(rq, t, prio_key(t)); }

static pk_time no_slice(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return PK_FOREVER; }
static bool never(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return false; }
static bool no_preempt(pk_rq *rq, pk_thread *c, pk_thread *t) { (void)rq; (void)c; (void)t; return false; }

static bool stcf_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    (void)rq;
    return pk_thread_remaining(t) < pk_thread_remaining(curr);
}

static bool prio_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    return rq->preemptive && t->priority < curr->priority;
}

const pk_policy pk_policy_sjf = {
    "SJF", PK_POL_NEEDS_BURST, heap_reserve, heap_fini, sjf_enqueue, heap_dequeue, heap_pick,
    no_slice, never, no_preempt,
};

const pk_policy pk_policy_stcf = {
    "STCF", PK_POL_NEEDS_BURST, heap_reserve, heap_fini, stcf_enqueue, heap_dequeue, heap_pick,
    no_slice, never, stcf_preempt,
};

const pk_policy pk_policy_priority = {
    "Priority", 0, heap_reserve, heap_fini, prio_enqueue, heap_dequeue, heap_pick,
    no_slice, never, prio_preempt,
};
