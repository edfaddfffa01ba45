/* pk_sched.h - run queues, scheduling classes and the policy interface.
 *
 * Each CPU has a run queue (pk_rq), or all CPUs share one (the "shared"
 * layout).  A run queue holds ready threads of two scheduling classes, as
 * in Linux: the real-time class (SCHED_FIFO / SCHED_RR, pk_sched_rt.c)
 * always comes first; below it the kernel's policy (the "fair" class:
 * RoundRobin, CFS, MLFQ, ...).  The dispatcher (pk_dispatch.c) only calls
 * the pk_rq_* functions below, which route to the thread's class.
 *
 * A policy is a table of functions (pk_policy) over its private state
 * (rq->priv, priv_size bytes, zeroed, freed by the kernel) and the
 * thread's pk_sched_data member.  Adding a policy means writing one such
 * table, giving it a PK_POLICY_* id and naming it in pk_policy_find();
 * the dispatcher loop does not change.
 *
 * Contract (t is never NULL; rq->k is the kernel):
 *   init(rq)              set up rq->priv from rq->k->cfg (params).
 *   fini(rq)              free what init and the others allocated.
 *   enqueue(t, why)       t becomes ready in rq (why: PK_ENQ_*).  Must not
 *                         fail; on allocation failure set rq->k->broken.
 *   dequeue(t, why)       remove a queued thread (PK_ENQ_KILL, _MIGRATE,
 *                         _CHANGE).
 *   pick()                remove and return the thread to run next, or NULL.
 *   slice(t)              how long t may run once dispatched before tick()
 *                         is asked about it (PK_FOREVER: never).
 *   tick(t)               t's slice ran out: true if it should give the CPU
 *                         to a ready thread.
 *   wakeup_preempt(curr, t)  t just became ready while curr runs on this
 *                         rq's CPU: true if t should take the CPU.
 *   charge(t, ran)        optional: t ran `ran` ns (called as time passes,
 *                         with t running; its cpu_time is already updated).
 *   steal(cpu)            optional: remove and return a queued thread that
 *                         may run on `cpu` (for load balancing), or NULL.
 *   pick_on(cpu)          optional: as pick(), but only a thread that may
 *                         run on `cpu` (a queue shared by CPUs, with
 *                         affinity masks); policies without it refuse masks
 *                         on a shared queue.
 *   changed(t)            optional: a parameter of running or queued t
 *                         changed (nice, priority, tickets); for a queued t
 *                         it is called between dequeue and enqueue.
 *   describe(t, info)     optional: fill the policy's fields of a thread
 *                         query (level, stride_pass) as of rq->k->now, for
 *                         a thread of this policy that has entered it.
 *                         Must not change any state.
 *   snap_save(w)          write rq->priv's state to a snapshot (threads as
 *                         pk_snap_tref), enough to continue bit for bit.
 *   snap_load(r)          after init() on a fresh kernel whose threads are
 *                         loaded: read what snap_save wrote back into
 *                         rq->priv, checking every id, index and count
 *                         and that it holds rq->nr - rq->rt.nr queued
 *                         threads (pk_snap.h); 0 or a PK_ERR_* status.
 *                         Both or neither.
 *   snap_thread(t)        optional: t, a loaded thread that has entered
 *                         this policy, has usable policy data (indexes in
 *                         range).
 */
#ifndef PK_SCHED_H
#define PK_SCHED_H

#define PK_ENQ_NEW     0   /* first arrival                                */
#define PK_ENQ_WAKE    1   /* woke from io or sleep                        */
#define PK_ENQ_PREEMPT 2   /* lost its CPU to a better thread              */
#define PK_ENQ_SLICE   3   /* its time slice ran out                       */
#define PK_ENQ_YIELD   4   /* gave up the CPU voluntarily                  */
#define PK_ENQ_MIGRATE 5   /* moved from another run queue                 */
#define PK_ENQ_CHANGE  6   /* its scheduling parameters changed            */
#define PK_ENQ_KILL    7   /* (dequeue only) it was killed                 */

#define PK_POL_NEEDS_BURST 1   /* threads must declare a CPU burst          */
#define PK_POL_TICK_ALWAYS 2   /* tick() always says yes (the dispatcher skips the call) */
#define PK_POL_HEAP        4   /* queues normal threads in a pk_heap (pk_heap.h): their
                                  position is k->heap_pos[tid]; snapshots write it as the
                                  first word of the policy data, where format 1 keeps it */

#define PK_RQ_NONE 0xffff      /* t->rq_cpu before a thread was ever queued */

struct pk_policy;

/* the real-time class of one run queue (pk_sched_rt.c) */
typedef struct pk_rt_rq {
    struct pk_thread *head[100], *tail[100];   /* index = rt priority 1..99 */
    uint64_t bitmap[2];                         /* bit p: list p non-empty   */
    uint64_t nr;
    uint64_t used;                              /* runtime in this period    */
    uint32_t throttled;
} pk_rt_rq;

typedef struct pk_rq {
    struct pk_kernel *k;
    const struct pk_policy *pol;
    void *priv;                   /* the policy's state                     */
    uint64_t nr;                  /* threads queued, both classes           */
    uint32_t cpu;                 /* owning CPU (0 for the shared queue)    */
    uint32_t pad;
    pk_rt_rq rt;
} pk_rq;

typedef struct pk_policy {
    const char *name;
    unsigned flags;
    size_t priv_size;
    int  (*init)(pk_rq *rq);
    void (*fini)(pk_rq *rq);
    void (*enqueue)(pk_rq *rq, pk_thread *t, unsigned why);
    void (*dequeue)(pk_rq *rq, pk_thread *t, unsigned why);
    pk_thread *(*pick)(pk_rq *rq);
    pk_time (*slice)(pk_rq *rq, pk_thread *t);
    bool (*tick)(pk_rq *rq, pk_thread *t);
    bool (*wakeup_preempt)(pk_rq *rq, pk_thread *curr, pk_thread *t);
    void (*charge)(pk_rq *rq, pk_thread *t, uint64_t ran);
    pk_thread *(*steal)(pk_rq *rq, uint32_t cpu);
    void (*changed)(pk_rq *rq, pk_thread *t);
    void (*describe)(const pk_rq *rq, const pk_thread *t, pk_thread_info *info);
    void (*snap_save)(const pk_rq *rq, pk_snap_w *w);
    int  (*snap_load)(pk_rq *rq, pk_snap_r *r);
    bool (*snap_thread)(const pk_rq *rq, const pk_thread *t);
    pk_thread *(*pick_on)(pk_rq *rq, uint32_t cpu);
    /* optional: enqueue(t, why) then pick(), in one call (the dispatcher's
     * requeue at a context switch) */
    pk_thread *(*requeue_pick)(pk_rq *rq, pk_thread *t, unsigned why);
} pk_policy;

extern const pk_policy pk_policy_fifo, pk_policy_rr;
extern const pk_policy pk_policy_sjf, pk_policy_stcf, pk_policy_priority;
extern const pk_policy pk_policy_edf, pk_policy_rm;
extern const pk_policy pk_policy_host;
extern const pk_policy pk_policy_mlfq, pk_policy_lottery, pk_policy_stride;
extern const pk_policy pk_policy_cfs, pk_policy_eevdf;

/* The policy table for a PK_POLICY_* id, or NULL. */
const pk_policy *pk_policy_find(uint32_t id);

/* Remaining declared burst of t (0 when exhausted or undeclared). */
static inline uint64_t pk_thread_remaining(const pk_thread *t) {
    return t->burst == PK_NO_BURST ? 0 : (t->cpu_time >= t->burst ? 0 : t->burst - t->cpu_time);
}

/* the real-time class (pk_sched_rt.c) */
void pk_rt_enqueue(pk_rq *rq, pk_thread *t, unsigned why);
void pk_rt_dequeue(pk_rq *rq, pk_thread *t);
pk_thread *pk_rt_pick(pk_rq *rq);
pk_thread *pk_rt_steal(pk_rq *rq, uint32_t cpu);
pk_thread *pk_rt_pick_on(pk_rq *rq, uint32_t cpu);
pk_time pk_rt_slice(pk_rq *rq, pk_thread *t);
bool pk_rt_tick(pk_rq *rq, pk_thread *t);
void pk_rt_charge(pk_rq *rq, pk_thread *t, uint64_t ran);
void pk_rt_period(pk_rq *rq);                   /* a throttling period ended */

/* ---- the class chain; the dispatcher uses only these --------------------
 * Every operation goes to the real-time class for SCHED_FIFO / SCHED_RR
 * threads and to the kernel's policy for the others; the real-time class
 * always comes first (Linux's rt_sched_class above fair_sched_class).
 * Inline, so that the dispatcher's hot path makes one indirect call per
 * operation, into the policy. */
/* The rules of a policy's parameters (pk_kernel.c), stated once; each
 * policy's init asks them of its kernel's configuration
 * (pk_rq_params_check) before reading the parameters. */
int  pk_params_check(uint32_t policy, uint64_t quantum, const uint64_t *params, uint32_t n,
                     pk_refusal *why);
int  pk_rq_params_check(const pk_rq *rq);
int  pk_rq_init(struct pk_kernel *k, pk_rq *rq, uint32_t cpu);
void pk_rq_fini(pk_rq *rq);
void pk_rq_dequeue(pk_rq *rq, pk_thread *t, unsigned why);
pk_thread *pk_rq_steal(pk_rq *rq, uint32_t cpu);

static inline bool pk_is_rt(const pk_thread *t) { return t->sclass != PK_CLASS_OTHER; }

static inline void pk_rq_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    t->rq_cpu = (uint16_t)rq->cpu;
    if (PK_UNLIKELY(t->tflags & PK_TF_NEWCLASS)) {   /* entering a class afresh */
        t->tflags &= (uint8_t)~PK_TF_NEWCLASS;
        why = PK_ENQ_NEW;
    }
    if (PK_UNLIKELY(pk_is_rt(t))) pk_rt_enqueue(rq, t, why);
    else rq->pol->enqueue(rq, t, why);
    rq->nr++;
}

static inline pk_thread *pk_rq_pick(pk_rq *rq) {
    if (!rq->nr) return NULL;
    pk_thread *t = PK_UNLIKELY(rq->rt.nr) ? pk_rt_pick(rq) : NULL;
    if (!t) t = rq->pol->pick(rq);
    if (t) rq->nr--;
    return t;
}

/* pk_rq_enqueue(rq, t, why) then pk_rq_pick(rq): one call into the policy
 * when it has requeue_pick and no real-time thread is involved. */
static inline pk_thread *pk_rq_requeue_pick(pk_rq *rq, pk_thread *t, unsigned why) {
    if (PK_LIKELY(rq->pol->requeue_pick && !rq->rt.nr && !pk_is_rt(t)
                  && !(t->tflags & PK_TF_NEWCLASS))) {
        t->rq_cpu = (uint16_t)rq->cpu;
        return rq->pol->requeue_pick(rq, t, why);   /* nr unchanged: one in, one out */
    }
    pk_rq_enqueue(rq, t, why);
    return pk_rq_pick(rq);
}

/* A queue shared by CPUs where threads have affinity masks: the thread
 * to run next on cpu, skipping those that may not run there (the policy
 * has pick_on; pk_kernel.c refuses masks otherwise). */
static inline pk_thread *pk_rq_pick_on(pk_rq *rq, uint32_t cpu) {
    if (!rq->nr) return NULL;
    pk_thread *t = PK_UNLIKELY(rq->rt.nr) ? pk_rt_pick_on(rq, cpu) : NULL;
    if (!t) t = rq->pol->pick_on(rq, cpu);
    if (t) rq->nr--;
    return t;
}

static inline pk_time pk_rq_slice(pk_rq *rq, pk_thread *t) {
    return PK_UNLIKELY(pk_is_rt(t)) ? pk_rt_slice(rq, t) : rq->pol->slice(rq, t);
}

static inline bool pk_rq_tick(pk_rq *rq, pk_thread *t) {
    if (PK_UNLIKELY(pk_is_rt(t))) return pk_rt_tick(rq, t);
    return (rq->pol->flags & PK_POL_TICK_ALWAYS) || rq->pol->tick(rq, t);
}

static inline bool pk_rq_wakeup_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    if (pk_is_rt(t)) {
        if (!pk_is_rt(curr)) return !rq->rt.throttled;
        return t->rt_prio > curr->rt_prio;     /* 99 is the highest */
    }
    if (pk_is_rt(curr)) return false;
    return rq->pol->wakeup_preempt(rq, curr, t);
}

static inline void pk_rq_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    if (PK_UNLIKELY(pk_is_rt(t))) pk_rt_charge(rq, t, ran);
    else if (rq->pol->charge) rq->pol->charge(rq, t, ran);
}

/* EEVDF's per-thread slices (pk_sched_eevdf.c): make room for tid's
 * entry (PK_OK or PK_ERR_NO_MEMORY), then store ns (0: the policy's). */
int  pk_eevdf_slice_reserve(struct pk_kernel *k, uint32_t tid);
void pk_eevdf_slice_store(struct pk_kernel *k, pk_thread *t, uint64_t ns);

/* helpers for policies */
bool pk_cpu_allowed(const struct pk_kernel *k, const pk_thread *t, uint32_t cpu);
void pk_rq_alloc_failed(pk_rq *rq);              /* mark the kernel broken */
#endif
