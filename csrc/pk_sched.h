/* pk_sched.h - the run-queue interface every scheduling policy implements.
 *
 * The dispatcher (pk_dispatch.c) never looks inside a run queue: it calls
 * the policy's table of functions.  A policy owns the rq_* fields of the
 * threads it holds and the state in pk_rq.  Adding a policy means writing
 * one such table and naming it in pk_policy_find(); the dispatcher loop
 * does not change.
 *
 * Contract
 *   enqueue(t, why)   t becomes ready (why: PK_ENQ_*); never fails, because
 *                     reserve() was called for every thread that exists.
 *   dequeue(t)        remove a queued thread (it was killed).
 *   pick()            remove and return the thread to run next, or NULL.
 *   slice(t)          how long t may run once dispatched before tick() is
 *                     asked about it (PK_FOREVER: never).
 *   tick(t)           t's slice ran out: true if it should yield the CPU to
 *                     a ready thread.
 *   wakeup_preempt(curr, t)  t just became ready while curr runs: true if t
 *                     should take curr's CPU.  curr's cpu_time is current.
 *   reserve(n)        make room for n threads in all (every thread that
 *                     exists could be ready at once).
 */
#ifndef PK_SCHED_H
#define PK_SCHED_H

#define PK_ENQ_NEW     0   /* first arrival                                */
#define PK_ENQ_WAKE    1   /* woke from io or sleep                        */
#define PK_ENQ_PREEMPT 2   /* lost its CPU to a better thread              */
#define PK_ENQ_SLICE   3   /* its time slice ran out                       */
#define PK_ENQ_YIELD   4   /* gave up the CPU voluntarily                  */

#define PK_POL_NEEDS_BURST 1   /* threads must declare a CPU burst          */

typedef struct pk_rq_heapent {
    uint64_t key, seq;
    pk_thread *t;
} pk_rq_heapent;

typedef struct pk_rq {
    const struct pk_policy *pol;
    uint64_t nr;                    /* threads queued (kept by pk_rq_*)    */
    /* list policies */
    pk_thread *head, *tail;
    /* heap policies */
    pk_rq_heapent *heap;
    uint32_t hn, hcap;
    uint64_t seq;
    /* configuration */
    uint64_t quantum;
    uint32_t preemptive;
} pk_rq;

typedef struct pk_policy {
    const char *name;
    unsigned flags;
    int  (*reserve)(struct pk_kernel *k, pk_rq *rq, uint64_t nthreads);
    void (*fini)(struct pk_kernel *k, pk_rq *rq);
    void (*enqueue)(pk_rq *rq, pk_thread *t, unsigned why);
    void (*dequeue)(pk_rq *rq, pk_thread *t);
    pk_thread *(*pick)(pk_rq *rq);
    pk_time (*slice)(pk_rq *rq, pk_thread *t);
    bool (*tick)(pk_rq *rq, pk_thread *t);
    bool (*wakeup_preempt)(pk_rq *rq, pk_thread *curr, pk_thread *t);
} pk_policy;

extern const pk_policy pk_policy_fifo, pk_policy_rr;
extern const pk_policy pk_policy_sjf, pk_policy_stcf, pk_policy_priority;

/* The policy table for a PK_POLICY_* id, or NULL. */
const pk_policy *pk_policy_find(uint32_t id);

/* Remaining declared burst of t (0 when exhausted or undeclared). */
static inline uint64_t pk_thread_remaining(const pk_thread *t) {
    return t->burst == PK_NO_BURST ? 0 : (t->cpu_time >= t->burst ? 0 : t->burst - t->cpu_time);
}

/* Thin wrappers that keep rq->nr; the dispatcher uses only these. */
static inline void pk_rq_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    rq->pol->enqueue(rq, t, why); rq->nr++;
}
static inline pk_thread *pk_rq_pick(pk_rq *rq) {
    pk_thread *t = rq->pol->pick(rq);
    if (t) rq->nr--;
    return t;
}
static inline void pk_rq_dequeue(pk_rq *rq, pk_thread *t) {
    rq->pol->dequeue(rq, t); rq->nr--;
}
#endif
