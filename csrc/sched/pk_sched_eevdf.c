/* pk_sched_eevdf.c - Earliest Eligible Virtual Deadline First, as Linux
 * 6.6 runs it in its fair class (kernel/sched/fair.c after the EEVDF
 * commit series of 2023; the algorithm is Stoica and Abdel-Wahab's,
 * "Earliest Eligible Virtual Deadline First", 1995).  One instance per
 * run queue.
 *
 *   vruntime    grows by ran * 1024 / weight while the thread runs, as in
 *               CFS (exact, pk_fair.h).
 *   V           the load-weighted average vruntime of the queued threads
 *               and the running one (avg_vruntime), kept as
 *               sum (v_i - v0) * w_i and sum w_i over the queue, v0 being
 *               min_vruntime (avg_vruntime_add/_sub/_update).
 *   lag         V - vruntime; a thread is eligible when its lag >= 0,
 *               i.e. vruntime <= V (entity_eligible, exact in integers).
 *   deadline    vd = vruntime + slice * 1024 / weight; when the running
 *               thread's vruntime reaches it, it gets the next one and
 *               the queue picks again (update_deadline).
 *   pick        the eligible thread with the earliest virtual deadline
 *               (pick_eevdf); equal deadlines: the one queued first.
 *   placement   (place_entity) a thread keeps its lag across sleep,
 *               migration and nice changes (PLACE_LAG): it enters at
 *               vruntime = V - lag * (W + w) / W, W the weight already
 *               there, so that V does not move when it joins and its lag
 *               afterwards is what it was; the lag is clamped to
 *               +-2 * slice in its virtual time when it leaves
 *               (update_entity_lag; Linux also allows at least one tick).
 *               A new thread gets lag 0 and vd = V + vslice / 2
 *               (PLACE_DEADLINE_INITIAL, on by default in 6.6).
 *   wakeup      the woken thread preempts when it is what pick_eevdf
 *               would choose with the running thread taking part: it is
 *               eligible and its deadline is earlier than the running
 *               thread's (or the running one is no longer eligible), and
 *               than every other eligible thread's.  RUN_TO_PARITY is
 *               off: a running thread is not protected until its
 *               deadline.
 *   yield       pushes the thread's deadline one slice later
 *               (yield_task_fair).
 *   nice        a changed weight keeps the lag in real time: vlag is
 *               scaled by old / new weight (reweight_entity).
 *   slice       a thread may have its own slice (Linux 6.12's custom
 *               slices, sched_attr.sched_runtime, 0.1..100 ms, not scaled
 *               by the number of CPUs): it is se->slice in the deadline,
 *               the yield and the lag clamp above.  A shorter slice gives
 *               an earlier deadline at the same weight: lower latency,
 *               more frequent switches, the same share.  The slices live
 *               in a table by tid in run queue 0's state (0: the base
 *               slice), only in kernels that set one.
 *
 * The structure: a treap ordered by (vruntime, order of queueing), each
 * node augmented with the node of earliest (deadline, order) in its
 * subtree.  Eligible threads are a prefix in vruntime order, so the pick
 * walks one root-to-leaf path: O(log n) expected.  Treap priorities are
 * a hash of the thread id with a salt drawn from the kernel's seeded
 * generator, so runs are deterministic.
 *
 * params: [0] base slice (ns, unscaled), [1] scale (PK_SCALE_*). */
#include <stdlib.h>
#include <string.h>
#include "pk_core.h"
#include "pk_fair.h"

#define E(t) ((t)->s.eevdf)

typedef struct eevdf_rq {
    pk_thread *root;              /* treap of the queued threads          */
    uint64_t min_vruntime;        /* v0, only moves forward               */
    uint64_t sum;                 /* sum (v_i - v0) * w_i, two's complement */
    uint64_t load;                /* sum w_i                              */
    uint64_t seq;                 /* order of queueing                    */
    uint64_t salt;                /* treap priorities                     */
    uint64_t slice;               /* base slice, scaled                   */
    uint32_t *tslice;             /* rq 0 only: slice by tid (0: base),    */
    uint32_t ntslice;             /*   SLICE_NEW set until the policy saw it */
} eevdf_rq;

#define SLICE_NEW  0x80000000u    /* set, not yet applied to a running thread */
#define SLICE_NS   0x7fffffffu

/* t's slice: its own or the base slice (se->slice) */
static inline uint64_t slice_of(const pk_rq *rq, const pk_thread *t) {
    const eevdf_rq *r0 = rq->k->rqs[0].priv;
    if (PK_UNLIKELY(t->tid < r0->ntslice)) {
        uint32_t s = r0->tslice[t->tid] & SLICE_NS;
        if (s) return s;
    }
    return ((const eevdf_rq *)rq->priv)->slice;
}

int pk_eevdf_slice_reserve(pk_kernel *k, uint32_t tid) {
    eevdf_rq *r0 = k->rqs[0].priv;
    if (tid < r0->ntslice) return PK_OK;
    uint64_t n = r0->ntslice ? r0->ntslice : 64;
    while (n <= tid) n *= 2;
    if (n > k->threads.count) n = k->threads.count;
    uint32_t *a = pk_realloc(k, r0->tslice, (size_t)r0->ntslice * sizeof *a, (size_t)n * sizeof *a);
    if (!a) return PK_ERR_NO_MEMORY;
    memset(a + r0->ntslice, 0, (size_t)(n - r0->ntslice) * sizeof *a);
    r0->tslice = a;
    r0->ntslice = (uint32_t)n;
    return PK_OK;
}

void pk_eevdf_slice_store(pk_kernel *k, pk_thread *t, uint64_t ns) {
    eevdf_rq *r0 = k->rqs[0].priv;
    r0->tslice[t->tid] = (uint32_t)ns | SLICE_NEW;
}

static void eevdf_fini(pk_rq *rq) {
    eevdf_rq *r = rq->priv;
    pk_free(rq->k, r->tslice, (size_t)r->ntslice * sizeof *r->tslice);
    r->tslice = NULL;
    r->ntslice = 0;
}

/* sum (v_i - v0) * w_i and sum w_i over some threads */
typedef struct vavg { int64_t sum, load; } vavg;

/* Check params[0..1] (pk_params_check), scale the base slice, draw the
 * treap's salt from the kernel's generator. */
static int eevdf_init(pk_rq *rq) {
    const pk_config *cfg = &rq->k->cfg;
    int s = pk_rq_params_check(rq);
    if (s) return s;
    eevdf_rq *r = rq->priv;
    r->slice = cfg->params[0] * pk_fair_factor(cfg->params[1], rq->k->ncpus);
    r->min_vruntime = PK_FAIR_V0;
    r->salt = pk_rng_next(&rq->k->rng);
    return PK_OK;
}

/* ---- the treap ------------------------------------------------------------ */

/* t's treap priority: a bijective hash of its id and the queue's salt. */
static inline uint64_t prio(const eevdf_rq *r, const pk_thread *t) {
    uint64_t z = t->tid ^ r->salt;                      /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* tree order: (vruntime, order of queueing) */
static inline bool v_before(const pk_thread *a, const pk_thread *b) {
    int64_t d = (int64_t)(E(a).vruntime - E(b).vruntime);
    return d < 0 || (d == 0 && E(a).seq < E(b).seq);
}

/* pick order: (deadline, order of queueing) */
static inline bool dl_before(const pk_thread *a, const pk_thread *b) {
    int64_t d = (int64_t)(E(a).deadline - E(b).deadline);
    return d < 0 || (d == 0 && E(a).seq < E(b).seq);
}

/* Recompute n's subtree best from its children. */
static inline void pull(pk_thread *n) {
    pk_thread *b = n;
    if (E(n).left && dl_before(E(E(n).left).best, b)) b = E(E(n).left).best;
    if (E(n).right && dl_before(E(E(n).right).best, b)) b = E(E(n).right).best;
    E(n).best = b;
}

/* Split subtree t into the nodes before n (*l) and the others (*r). */
static void tr_split(pk_thread *t, const pk_thread *n, pk_thread **l, pk_thread **r) {
    if (!t) { *l = *r = NULL; return; }
    if (v_before(t, n)) { tr_split(E(t).right, n, &E(t).right, r); *l = t; }
    else { tr_split(E(t).left, n, l, &E(t).left); *r = t; }
    pull(t);
}

/* Join subtrees a and b, every node of a before every node of b. */
static pk_thread *tr_merge(const eevdf_rq *q, pk_thread *a, pk_thread *b) {
    if (!a) return b;
    if (!b) return a;
    if (prio(q, a) > prio(q, b)) { E(a).right = tr_merge(q, E(a).right, b); pull(a); return a; }
    E(b).left = tr_merge(q, a, E(b).left);
    pull(b);
    return b;
}

/* Insert n (priority pn) into subtree t; returns the new subtree. */
static pk_thread *tr_insert(const eevdf_rq *q, pk_thread *t, pk_thread *n, uint64_t pn) {
    if (!t || pn > prio(q, t)) {
        tr_split(t, n, &E(n).left, &E(n).right);
        pull(n);
        return n;
    }
    if (v_before(n, t)) E(t).left = tr_insert(q, E(t).left, n, pn);
    else E(t).right = tr_insert(q, E(t).right, n, pn);
    pull(t);
    return t;
}

/* Remove n from subtree t; returns the new subtree. */
static pk_thread *tr_remove(const eevdf_rq *q, pk_thread *t, pk_thread *n) {
    if (!t) return NULL;                                 /* not there: leave the tree */
    if (t == n) return tr_merge(q, E(n).left, E(n).right);
    if (v_before(n, t)) E(t).left = tr_remove(q, E(t).left, n);
    else E(t).right = tr_remove(q, E(t).right, n);
    pull(t);
    return t;
}

/* The first node of subtree t in vruntime order, or NULL. */
static pk_thread *tr_leftmost(pk_thread *t) {
    while (t && E(t).left) t = E(t).left;
    return t;
}

/* The last node in vruntime order that may run on cpu, or NULL. */
static pk_thread *tr_last_allowed(pk_kernel *k, pk_thread *t, uint32_t cpu) {
    if (!t) return NULL;
    pk_thread *x = tr_last_allowed(k, E(t).right, cpu);
    if (x) return x;
    if (pk_cpu_allowed(k, t, cpu)) return t;
    return tr_last_allowed(k, E(t).left, cpu);
}

/* ---- V, eligibility, lag --------------------------------------------------- */

/* t's vruntime relative to v0 (entity_key) */
static inline int64_t key(const eevdf_rq *r, const pk_thread *t) {
    return (int64_t)(E(t).vruntime - r->min_vruntime);
}

/* The queue's totals plus the running threads of rq's CPUs except skip. */
static vavg totals(pk_rq *rq, const pk_thread *skip) {
    eevdf_rq *r = rq->priv;
    uint64_t sum = r->sum, load = r->load;
    uint32_t lo, hi;
    pk_fair_cpus(rq, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        pk_thread *c = pk_fair_running(rq->k, i);
        if (!c || c == skip) continue;
        sum += (uint64_t)key(r, c) * E(c).weight;
        load += E(c).weight;
    }
    return (vavg){ (int64_t)sum, (int64_t)load };
}

/* avg_vruntime(): V, rounded down; v0 when nothing is there. */
static uint64_t vtime(const eevdf_rq *r, vavg a) {
    int64_t x = 0;
    if (a.load) {
        x = a.sum;
        if (x < 0) x -= a.load - 1;                      /* floor, not truncation */
        x /= a.load;
    }
    return r->min_vruntime + (uint64_t)x;
}

/* entity_eligible(): vruntime <= V, i.e. (v - v0) * load <= sum. */
static inline bool eligible(const eevdf_rq *r, const pk_thread *t, vavg a) {
    return a.sum >= (int64_t)((uint64_t)key(r, t) * (uint64_t)a.load);
}

/* update_entity_lag(): t's lag against V, clamped. */
static void set_lag(const pk_rq *rq, pk_thread *t, uint64_t v) {
    int64_t lag = (int64_t)(v - E(t).vruntime);
    int64_t lim = (int64_t)pk_fair_virt(2 * slice_of(rq, t), E(t).weight);
    E(t).vlag = lag > lim ? lim : lag < -lim ? -lim : lag;
}

/* update_min_vruntime(): curr (may be NULL) is the running thread. */
static void update_min(eevdf_rq *r, const pk_thread *curr) {
    pk_thread *left = tr_leftmost(r->root);
    uint64_t v;
    if (curr) {
        v = E(curr).vruntime;
        if (left && pk_fair_before(E(left).vruntime, v)) v = E(left).vruntime;
    } else if (left) {
        v = E(left).vruntime;
    } else {
        return;
    }
    if (pk_fair_before(r->min_vruntime, v)) {
        r->sum -= r->load * (v - r->min_vruntime);
        r->min_vruntime = v;
    }
}

/* The eligible queued thread with the earliest deadline, or NULL. */
static pk_thread *tr_pick(const eevdf_rq *r, vavg a) {
    pk_thread *best = NULL;
    for (pk_thread *n = r->root; n; ) {
        if (!eligible(r, n, a)) { n = E(n).left; continue; }
        pk_thread *c = n;                                /* n and its left subtree are eligible */
        if (E(n).left && dl_before(E(E(n).left).best, c)) c = E(E(n).left).best;
        if (!best || dl_before(c, best)) best = c;
        n = E(n).right;
    }
    return best;
}

/* Put t into the tree and the sums (avg_vruntime_add). */
static void queue_add(eevdf_rq *r, pk_thread *t) {
    E(t).seq = r->seq++;
    r->root = tr_insert(r, r->root, t, prio(r, t));
    r->sum += (uint64_t)key(r, t) * E(t).weight;
    r->load += E(t).weight;
}

/* Take t out of the tree and the sums (avg_vruntime_sub). */
static void queue_del(eevdf_rq *r, pk_thread *t) {
    r->root = tr_remove(r, r->root, t);
    r->sum -= (uint64_t)key(r, t) * E(t).weight;
    r->load -= E(t).weight;
}

/* ---- the policy ------------------------------------------------------------- */

/* place_entity(): vruntime and deadline of t entering rq (t is not queued
 * and not counted as running). */
static void place(pk_rq *rq, eevdf_rq *r, pk_thread *t, bool initial) {
    vavg a = totals(rq, t);
    int64_t lag = 0;
    if (!initial && a.load) {                            /* PLACE_LAG */
        int64_t p = (int64_t)((uint64_t)E(t).vlag * (uint64_t)(a.load + E(t).weight));
        lag = p / a.load;
    }
    E(t).vruntime = vtime(r, a) - (uint64_t)lag;
    uint64_t vslice = pk_fair_virt(slice_of(rq, t), E(t).weight);
    if (initial) vslice /= 2;                            /* PLACE_DEADLINE_INITIAL */
    E(t).deadline = E(t).vruntime + vslice;
}

/* reweight_entity() for a thread out of the queue: same lag in real time. */
static void reweight(pk_thread *t, uint32_t w) {
    if (E(t).weight) E(t).vlag = E(t).vlag * (int64_t)E(t).weight / (int64_t)w;
    E(t).weight = w;
    E(t).rem = 0;
}

/* Queue t: a thread put back after running keeps its vruntime and
 * deadline (put_prev_entity; a yield first moves the deadline a slice
 * on); any other is placed (place_entity). */
static void eevdf_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    eevdf_rq *r = rq->priv;
    uint32_t w = pk_fair_weight(t);
    if (why == PK_ENQ_NEW) {
        E(t).weight = w;
        E(t).rem = 0;
        E(t).vlag = 0;
    } else if (PK_UNLIKELY(w != E(t).weight)) {
        reweight(t, w);                                  /* nice changed while away */
    }
    if (why == PK_ENQ_YIELD) {
        E(t).deadline += pk_fair_virt(slice_of(rq, t), w);
    } else if (why != PK_ENQ_SLICE && why != PK_ENQ_PREEMPT) {
        pk_fair_update_curr(rq, t);
        place(rq, r, t, why == PK_ENQ_NEW);
    }
    queue_add(r, t);
}

/* Take queued t out, recording its lag (dequeue_entity). */
static void eevdf_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    eevdf_rq *r = rq->priv;
    set_lag(rq, t, vtime(r, totals(rq, NULL)));
    queue_del(r, t);
}

/* Load balancing takes the last thread in vruntime order that may run
 * on cpu (the least owed); its lag goes with it. */
static pk_thread *eevdf_steal(pk_rq *rq, uint32_t cpu) {
    pk_thread *t = tr_last_allowed(rq->k, ((eevdf_rq *)rq->priv)->root, cpu);
    if (t) eevdf_dequeue(rq, t, PK_ENQ_MIGRATE);
    return t;
}

/* Remove and return the eligible thread with the earliest deadline
 * (pick_eevdf), recording its lag, or NULL. */
static pk_thread *eevdf_pick(pk_rq *rq) {
    eevdf_rq *r = rq->priv;
    if (!r->root) return NULL;
    vavg a = totals(rq, NULL);
    pk_thread *t = tr_pick(r, a);
    if (!t) t = tr_leftmost(r->root);    /* only with a queue shared by several CPUs */
    set_lag(rq, t, vtime(r, a));
    queue_del(r, t);
    return t;
}

/* Run until the vruntime reaches the deadline: ceil((vd - v) * w / 1024)
 * less what the carried remainder already holds. */
static pk_time eevdf_slice(pk_rq *rq, pk_thread *t) {
    (void)rq;
    int64_t left = (int64_t)(E(t).deadline - E(t).vruntime);
    if (left <= 0) return 1;
    uint32_t w = E(t).weight;
    if (w == PK_FAIR_NICE0) return (pk_time)left;
    uint64_t need;
    if (__builtin_mul_overflow((uint64_t)left, w, &need)) return PK_MAX_TIME;
    need -= E(t).rem;
    return (need + PK_FAIR_NICE0 - 1) / PK_FAIR_NICE0;
}

/* t reached its deadline (charge gave it the next): pick again. */
static bool eevdf_tick(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }

/* check_preempt_wakeup(): t (just queued) takes the CPU if the pick,
 * with curr taking part, would choose it. */
static bool eevdf_wakeup_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    eevdf_rq *r = rq->priv;
    vavg a = totals(rq, NULL);
    if (!eligible(r, t, a)) return false;
    pk_thread *best = tr_pick(r, a);
    if (eligible(r, curr, a) && (!best || dl_before(curr, best))) best = curr;
    return best == t;
}

/* update_curr(): running t ran `ran` ns more; its deadline and lag
 * follow (the lag is what it keeps if it leaves now). */
static void eevdf_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    eevdf_rq *r = rq->priv;
    if (PK_UNLIKELY(t->tflags & PK_TF_NEWCLASS)) return; /* not placed yet */
    E(t).vruntime += pk_fair_vdelta(ran, E(t).weight, &E(t).rem);
    update_min(r, t);
    if (!pk_fair_before(E(t).vruntime, E(t).deadline))  /* update_deadline */
        E(t).deadline = E(t).vruntime + pk_fair_virt(slice_of(rq, t), E(t).weight);
    set_lag(rq, t, vtime(r, totals(rq, NULL)));           /* its lag if it leaves now */
}

/* t's nice changed (running, or between dequeue and enqueue).  Running:
 * the kernel dequeues, reweights and places it again with its lag
 * (set_user_nice); queued: its enqueue places it. */
static void eevdf_changed(pk_rq *rq, pk_thread *t) {
    eevdf_rq *r = rq->priv;
    uint32_t w = pk_fair_weight(t);
    if ((t->tflags & PK_TF_NEWCLASS) || !E(t).weight) {  /* entering afresh: valid until placed */
        E(t).weight = w;
        E(t).rem = 0;
        E(t).vlag = 0;
        E(t).vruntime = vtime(r, totals(rq, t));
        E(t).deadline = E(t).vruntime + pk_fair_virt(slice_of(rq, t), w);
        return;
    }
    const eevdf_rq *r0 = rq->k->rqs[0].priv;
    if (t->tid < r0->ntslice && (r0->tslice[t->tid] & SLICE_NEW)) {
        r0->tslice[t->tid] &= SLICE_NS;                  /* its slice changed */
        if (w == E(t).weight) {                          /* __setparam_fair: placed again */
            if (t->state == PK_TS_RUNNING) place(rq, r, t, false);
            return;
        }
    }
    if (w == E(t).weight) return;
    reweight(t, w);
    if (t->state == PK_TS_RUNNING) place(rq, r, t, false);
}

/* snapshots: the treap as it is (its links are in the threads) */
static void eevdf_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const eevdf_rq *r = rq->priv;
    pk_snap_tref(w, r->root);
    uint64_t v[5] = { r->min_vruntime, r->sum, r->load, r->seq, r->salt };
    pk_snap_u64s(w, v, 5);
    if (rq != rq->k->rqs) return;                     /* the slice table: rq 0 */
    pk_snap_u32(w, r->ntslice);
    for (uint32_t i = 0; i < r->ntslice; i++) pk_snap_u32(w, r->tslice[i]);
}

/* rq 0: the slice table; every entry 0 or a slice in range */
static void slices_load(pk_rq *rq, eevdf_rq *e, pk_snap_r *r) {
    uint32_t n = pk_snap_get_u32(r);
    if (!n || r->err) return;
    if (n > rq->k->threads.count || !pk_snap_count_ok(r, n, 4)) { pk_snap_bad(r); return; }
    e->tslice = pk_alloc(rq->k, (size_t)n * sizeof *e->tslice);
    if (!e->tslice) { r->err = PK_ERR_NO_MEMORY; return; }
    e->ntslice = n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = pk_snap_get_u32(r), ns = v & SLICE_NS;
        if (ns && (ns < PK_SLICE_MIN || ns > PK_SLICE_MAX)) pk_snap_bad(r);
        e->tslice[i] = v;
    }
}

/* The treap must hold exactly the want queued threads of rq, each once,
 * as a treap: a walk from the root (bounded, so a cycle cannot trap it)
 * meets want nodes whose links are thread references, each with a lower
 * priority than its parent; in order they come in strictly increasing
 * (vruntime, seq), which rules out a node met twice; and each node's best
 * is what pull() makes of its children. */
static bool treap_ok(const eevdf_rq *q, pk_rq *rq, pk_thread *root, uint64_t want) {
    if (!root) return want == 0;
    pk_thread **order = malloc((size_t)want * sizeof *order);
    pk_thread **stack = malloc((size_t)want * sizeof *stack);
    bool ok = order && stack;
    uint64_t seen = 0, top = 0;
    if (ok) stack[top++] = root;
    while (ok && top) {                               /* pre-order */
        pk_thread *t = stack[--top];
        if (seen == want || !pk_snap_queued(rq, t, 0)
            || !pk_snap_is_link(t, offsetof(pk_sched_data, eevdf.left))
            || !pk_snap_is_link(t, offsetof(pk_sched_data, eevdf.right))
            || !pk_snap_is_link(t, offsetof(pk_sched_data, eevdf.best)) || !E(t).best) {
            ok = false;
            break;
        }
        order[seen++] = t;
        pk_thread *kid[2] = { E(t).left, E(t).right };
        for (int c = 0; c < 2 && ok; c++) {
            if (!kid[c]) continue;
            if (top == want || prio(q, kid[c]) >= prio(q, t)) ok = false;
            else stack[top++] = kid[c];
        }
    }
    ok = ok && seen == want;
    pk_thread *t = root, *prev = NULL;               /* in order */
    for (top = 0; ok && (t || top); t = E(t).right) {
        for (; t; t = E(t).left) {
            if (top == want) { ok = false; break; }
            stack[top++] = t;
        }
        if (!ok) break;
        t = stack[--top];
        if (prev && !v_before(prev, t)) ok = false;
        prev = t;
    }
    for (uint64_t i = seen; ok && i-- > 0; ) {       /* children before parents */
        pk_thread *n = order[i], *best = E(n).best;
        pull(n);
        ok = E(n).best == best;
    }
    free(order);
    free(stack);
    return ok;
}

static int eevdf_snap_load(pk_rq *rq, pk_snap_r *r) {
    eevdf_rq *e = rq->priv;
    e->root = pk_snap_get_tref(rq->k, r);
    uint64_t v[5];
    pk_snap_get_u64s(r, v, 5);
    e->min_vruntime = v[0]; e->sum = v[1]; e->load = v[2]; e->seq = v[3]; e->salt = v[4];
    if (rq == rq->k->rqs) slices_load(rq, e, r);
    if (!r->err && !treap_ok(e, rq, e->root, rq->nr - rq->rt.nr)) pk_snap_bad(r);
    return r->err;
}

const pk_policy pk_policy_eevdf = {
    .name = "EEVDF", .priv_size = sizeof(eevdf_rq),
    .init = eevdf_init, .fini = eevdf_fini,
    .enqueue = eevdf_enqueue, .dequeue = eevdf_dequeue, .pick = eevdf_pick,
    .slice = eevdf_slice, .tick = eevdf_tick, .wakeup_preempt = eevdf_wakeup_preempt,
    .charge = eevdf_charge, .steal = eevdf_steal, .changed = eevdf_changed,
    .snap_save = eevdf_snap_save, .snap_load = eevdf_snap_load,
};
