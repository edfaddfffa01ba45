/* pk_sched_list.c - policies on one FIFO list: FIFO (first come, first
 * served; runs each thread until it blocks, yields or exits) and
 * RoundRobin (FIFO plus a time quantum; an expired thread goes to the
 * tail).  The list is intrusive (rq_next / rq_prev), so enqueue, pick and
 * dequeue are O(1) and allocate nothing. */
#include "pk_core.h"

static int list_reserve(pk_kernel *k, pk_rq *rq, uint64_t n) { (void)k; (void)rq; (void)n; return PK_OK; }
static void list_fini(pk_kernel *k, pk_rq *rq) { (void)k; rq->head = rq->tail = NULL; }

static void list_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;                           /* every reason queues at the tail */
    t->rq_next = NULL;
    t->rq_prev = rq->tail;
    if (rq->tail) rq->tail->rq_next = t; else rq->head = t;
    rq->tail = t;
}

static void list_dequeue(pk_rq *rq, pk_thread *t) {
    if (t->rq_prev) t->rq_prev->rq_next = t->rq_next; else rq->head = t->rq_next;
    if (t->rq_next) t->rq_next->rq_prev = t->rq_prev; else rq->tail = t->rq_prev;
    t->rq_next = t->rq_prev = NULL;
}

/* Start loading a control block that will soon be switched in: with
 * thousands of threads it is no longer in the cache. */
static inline void prefetch_thread(const pk_thread *t) {
    for (size_t off = 0; off < sizeof *t; off += 64)
        __builtin_prefetch((const char *)t + off);
}

static pk_thread *list_pick(pk_rq *rq) {
    pk_thread *t = rq->head;
    if (!t) return NULL;
    rq->head = t->rq_next;
    if (rq->head) {
        rq->head->rq_prev = NULL;
        prefetch_thread(rq->head);         /* the next one to be picked */
    } else {
        rq->tail = NULL;
    }
    t->rq_next = NULL;
    return t;
}

static pk_time fifo_slice(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return PK_FOREVER; }
static pk_time rr_slice(pk_rq *rq, pk_thread *t) { (void)t; return rq->quantum; }
static bool never(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return false; }
static bool always(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }
static bool no_preempt(pk_rq *rq, pk_thread *c, pk_thread *t) { (void)rq; (void)c; (void)t; return false; }

const pk_policy pk_policy_fifo = {
    "FIFO", 0, list_reserve, list_fini, list_enqueue, list_dequeue, list_pick,
    fifo_slice, never, no_preempt,
};

const pk_policy pk_policy_rr = {
    "RoundRobin", 0, list_reserve, list_fini, list_enqueue, list_dequeue, list_pick,
    rr_slice, always, no_preempt,
};

const pk_policy *pk_policy_find(uint32_t id) {
    switch (id) {
    case PK_POLICY_FIFO: return &pk_policy_fifo;
    case PK_POLICY_RR: return &pk_policy_rr;
    case PK_POLICY_SJF: return &pk_policy_sjf;
    case PK_POLICY_STCF: return &pk_policy_stcf;
    case PK_POLICY_PRIORITY: return &pk_policy_priority;
    default: return NULL;
    }
}
