/* pk_sched_mlfq.c - the multi-level feedback queue, with the rules of
 * OSTEP ch. 8 ("Scheduling: The Multi-Level Feedback Queue",
 * Arpaci-Dusseau).  Levels are numbered from 0, the highest priority:
 *   Rule 1  a job at a higher level runs before one at a lower level;
 *   Rule 2  jobs at one level run round robin with that level's quantum;
 *   Rule 3  a new job enters level 0;
 *   Rule 4  once a job has used its allotment at a level (allotment[l]
 *           quanta of CPU time, however often it gave up the CPU in
 *           between) it moves down one level; the lowest level keeps it.
 *           With io_resets_allotment the book's older rules 4a/4b apply
 *           instead: a job that gives up the CPU (io, sleep, yield) before
 *           its allotment is used keeps its level and starts it afresh;
 *   Rule 5  at every multiple of the boost period every job moves to
 *           level 0 with a fresh allotment.
 * What OSTEP leaves open is decided as follows: a job that becomes ready
 * at a higher level than the running job preempts it; a preempted job
 * stays at the head of its level and, when it runs again, finishes the
 * unexpired part of its quantum (as the OSTEP homework simulator mlfq.py
 * does, and as man 7 sched says of a preempted SCHED_RR thread); a job
 * that gives up the CPU otherwise gets a fresh quantum; with io_to_front a job
 * back from io or sleep goes to the head of its level; at a boost the
 * queued jobs keep their order (higher levels first) and a running job
 * keeps its CPU with a fresh level-0 quantum.
 *
 * The boost needs no timer, because boosts happen at fixed instants: a
 * job's level is brought up to date whenever the policy looks at it, a
 * run queue's lists are joined into level 0 at its first use after a
 * boost, and a running job's slice never extends past the next boost, so
 * the dispatcher asks tick() about it exactly then.
 *
 * With MLFQ_OSTEP the remaining conventions of OSTEP's homework simulator
 * (ostep-homework cpu-sched-mlfq/mlfq.py) apply, which runs the head of
 * the highest non-empty queue one tick at a time:
 *   - a job's quantum is a counter kept across io: it runs q - used % q
 *     before its quantum ends, wherever it gave up the CPU (ticksLeft);
 *   - with io_to_front a job back from io goes to the head of its level
 *     and so preempts a job running at that same level, which stays
 *     second (after the jobs put at the head that way) with its quantum;
 *   - at a boost the jobs enter level 0 after those already there,
 *     gathered from the lowest level up, each level in queue order; a job
 *     running at a lower level counts as the head of its level's queue
 *     (the tail if its quantum ended at that instant);
 *   - a job whose quantum expires at the instant another job arrives or
 *     wakes is queued before it (its requeue comes at the end of the
 *     tick, the arrivals at the start of the next).
 *
 * params: [0] levels L (1..16); [1] boost period in ns (0: never);
 * [2] flags (MLFQ_IO_RESETS, MLFQ_IO_FRONT, MLFQ_OSTEP); [3 .. 3+L) quanta in ns;
 * [3+L .. 3+2L) allotments in quanta. */
#include "pk_core.h"

#define MLFQ_MAX_LEVELS PK_MLFQ_MAX_LEVELS
#define MLFQ_IO_RESETS  1      /* rules 4a/4b instead of rule 4           */
#define MLFQ_IO_FRONT   2      /* a job back from io goes to the head     */
#define MLFQ_OSTEP      4      /* mlfq.py's conventions (above)           */
_Static_assert((MLFQ_IO_RESETS | MLFQ_IO_FRONT | MLFQ_OSTEP) == PK_MLFQ_FLAGS,
               "PK_MLFQ_FLAGS (pk_params_check) names every flag");

/* t->s.mlfq.flags */
#define MLFQ_T_RESUME   1      /* preempted: finish slice - ran first     */
#define MLFQ_T_FRONT    2      /* OSTEP: put at the head on waking, not yet run */
#define MLFQ_T_JUST     4      /* OSTEP: put at the tail on arriving / waking */
#define MLFQ_T_BOOSTED  8      /* OSTEP: running at a boost; bits 8..15: its
                                  level just before it                    */
#define MLFQ_T_PRE(f)   (((f) >> 8) & 0xffu)
#define MLFQ_T_ALL      0xff0fu

typedef struct mlfq_list { pk_thread *head, *tail; } mlfq_list;

typedef struct mlfq_rq {
    mlfq_list q[MLFQ_MAX_LEVELS];
    uint32_t bitmap;                      /* bit l: q[l] is not empty       */
    uint32_t levels, flags, pad;
    pk_time  boost;                       /* period, 0: never               */
    uint64_t epoch;                       /* boosts applied to q[]          */
    uint64_t prev_epoch;                  /* epoch before the last catch-up */
    pk_time  next_boost;                  /* (epoch + 1) * boost, or FOREVER */
    pk_time  quantum[MLFQ_MAX_LEVELS];
    pk_time  allot[MLFQ_MAX_LEVELS];      /* ns: allotment x quantum        */
} mlfq_rq;

/* ---- a job's level and allotment (pure functions of its state) --------- */

static inline uint64_t epoch_at(const mlfq_rq *p, pk_time now) {
    return p->boost ? now / p->boost : 0;
}

/* Apply the boosts up to epoch e to job state d: a job that has not been
 * looked at since a boost is at level 0 with a fresh allotment. */
static inline void normalise(pk_sched_data *d, uint64_t e) {
    if (e > d->mlfq.epoch) {
        d->mlfq.level = 0;
        d->mlfq.used = 0;
        d->mlfq.epoch = e;
        d->mlfq.flags &= ~MLFQ_T_RESUME;          /* a fresh level-0 quantum */
    }
}

/* d used ns of CPU time at its level: it moves down a level each time an
 * allotment is used up (Rule 4); the rest counts at the new level. */
static void use(const mlfq_rq *p, pk_sched_data *d, uint64_t ns) {
    while (d->mlfq.level + 1 < p->levels) {
        uint64_t left = p->allot[d->mlfq.level] - d->mlfq.used;
        if (ns < left) break;
        ns -= left;
        d->mlfq.level++;
        d->mlfq.used = 0;
    }
    d->mlfq.used += ns;
}

/* d ran for the ran ns that end at now, in boost epoch e (now's): the
 * part before the epoch began counts at its old level, the rest at
 * level 0 if a boost came in between. */
static void account(const mlfq_rq *p, pk_sched_data *d, pk_time now, uint64_t ran, uint64_t e) {
    if (e > d->mlfq.epoch) {
        pk_time b = e * p->boost, start = now - ran;
        uint64_t before = b > start ? b - start : 0;
        use(p, d, before);
        normalise(d, e);
        ran -= before;
    }
    use(p, d, ran);
}

/* ---- the lists ----------------------------------------------------------- */

/* Start loading the control block of the next job to be picked. */
static inline void prefetch_thread(const pk_thread *t) {
    for (size_t off = 0; off < sizeof *t; off += 64) __builtin_prefetch((const char *)t + off);
}

static void push(mlfq_rq *p, pk_thread *t, unsigned l, bool front) {
    mlfq_list *q = &p->q[l];
    if (front) {
        t->s.mlfq.prev = NULL;
        t->s.mlfq.next = q->head;
        if (q->head) q->head->s.mlfq.prev = t; else q->tail = t;
        q->head = t;
    } else {
        t->s.mlfq.next = NULL;
        t->s.mlfq.prev = q->tail;
        if (q->tail) q->tail->s.mlfq.next = t; else q->head = t;
        q->tail = t;
    }
    p->bitmap |= 1u << l;
}

static void unlink_at(mlfq_rq *p, pk_thread *t, unsigned l) {
    mlfq_list *q = &p->q[l];
    if (t->s.mlfq.prev) t->s.mlfq.prev->s.mlfq.next = t->s.mlfq.next; else q->head = t->s.mlfq.next;
    if (t->s.mlfq.next) t->s.mlfq.next->s.mlfq.prev = t->s.mlfq.prev; else q->tail = t->s.mlfq.prev;
    t->s.mlfq.next = t->s.mlfq.prev = NULL;
    if (!q->head) p->bitmap &= ~(1u << l);
}

/* Apply the boosts up to now to rq's lists: every list joins the end of
 * level 0, in level order.  Afterwards a queued job whose epoch is older
 * than p->epoch is in q[0] whatever its level field says. */
static inline void catch_up(pk_rq *rq) {
    mlfq_rq *p = rq->priv;
    if (PK_LIKELY(rq->k->now < p->next_boost)) return;
    uint64_t e = epoch_at(p, rq->k->now);
    p->prev_epoch = p->epoch;
    p->epoch = e;
    p->next_boost = (e + 1) * p->boost;
    mlfq_list *top = &p->q[0];
    bool up = p->flags & MLFQ_OSTEP;                  /* lowest level first */
    for (unsigned i = 1; i < p->levels; i++) {
        mlfq_list *q = &p->q[up ? p->levels - i : i];
        if (!q->head) continue;
        if (top->tail) {
            top->tail->s.mlfq.next = q->head;
            q->head->s.mlfq.prev = top->tail;
        } else {
            top->head = q->head;
        }
        top->tail = q->tail;
        q->head = q->tail = NULL;
    }
    p->bitmap = top->head ? 1u : 0u;
}

/* the list holding queued t (rq caught up) */
static inline unsigned queued_level(const mlfq_rq *p, const pk_thread *t) {
    return t->s.mlfq.epoch < p->epoch ? 0 : t->s.mlfq.level;
}

/* Put t into list l right before x (x NULL: at the tail). */
static void insert_before(mlfq_rq *p, pk_thread *t, unsigned l, pk_thread *x) {
    if (!x) { push(p, t, l, false); return; }
    mlfq_list *q = &p->q[l];
    t->s.mlfq.next = x;
    t->s.mlfq.prev = x->s.mlfq.prev;
    if (x->s.mlfq.prev) x->s.mlfq.prev->s.mlfq.next = t; else q->head = t;
    x->s.mlfq.prev = t;
    p->bitmap |= 1u << l;
}

/* the first job of list l after those put at its head on waking just
 * now (ahead of a job that was running at l: any such job woken earlier
 * would have preempted it then, so those behind were there before it ran) */
static pk_thread *after_front(const mlfq_rq *p, unsigned l, pk_time now) {
    pk_thread *x = p->q[l].head;
    while (x && (x->s.mlfq.flags & MLFQ_T_FRONT) && x->since == now) x = x->s.mlfq.next;
    return x;
}

/* OSTEP boost order of a job in level 0 just after a boost: 0 for those
 * there before it, then the gathered levels from the lowest up, then
 * those queued since. */
static unsigned boost_rank(const mlfq_rq *p, const pk_thread *x) {
    if (x->s.mlfq.epoch >= p->epoch) return p->levels;
    if (x->s.mlfq.epoch != p->prev_epoch || !x->s.mlfq.level) return 0;
    return p->levels - x->s.mlfq.level;
}

/* OSTEP -S (rule 4b in mlfq.py): issuing io resets the job's ticks and
 * allotment at its level, but when its quantum ended with that same tick
 * the quantum still counts: one allotment step is used (and with an
 * allotment of one, it moves down). */
static void ostep_stay(const mlfq_rq *p, pk_sched_data *d) {
    if (!d->mlfq.slice || d->mlfq.ran < d->mlfq.slice) { d->mlfq.used = 0; return; }
    unsigned l = d->mlfq.level;
    if (!d->mlfq.used && l > 0 && p->allot[l - 1] > p->quantum[l - 1]) {
        d->mlfq.level = l - 1;                        /* charge() moved it down: undo */
        d->mlfq.used = p->quantum[l - 1];
    } else if (d->mlfq.used) {
        d->mlfq.used = p->quantum[l];
    }
}

/* ---- the policy ------------------------------------------------------------ */

/* Read params (see the top of this file; their rules: pk_params_check). */
static int mlfq_init(pk_rq *rq) {
    mlfq_rq *p = rq->priv;
    const pk_config *c = &rq->k->cfg;
    int s = pk_rq_params_check(rq);
    if (s) return s;
    uint64_t levels = c->params[0];
    p->levels = (uint32_t)levels;
    p->boost = c->params[1];
    p->flags = (uint32_t)c->params[2];
    p->next_boost = p->boost ? p->boost : PK_FOREVER;
    for (unsigned l = 0; l < levels; l++) {
        uint64_t q = c->params[3 + l], a = c->params[3 + levels + l];
        p->quantum[l] = q;
        p->allot[l] = a * q;
    }
    return PK_OK;
}

/* t becomes ready: a new job at level 0 (Rule 3), any other at its level
 * as of now; the tail of its list, or the head for io_to_front. */
static void mlfq_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    mlfq_rq *p = rq->priv;
    catch_up(rq);
    if (why == PK_ENQ_NEW) {                          /* Rule 3 */
        t->s.mlfq.level = 0;
        t->s.mlfq.used = t->s.mlfq.slice = t->s.mlfq.ran = 0;
        t->s.mlfq.epoch = p->epoch;
        t->s.mlfq.flags = 0;
    } else {
        bool reset = (why == PK_ENQ_WAKE || why == PK_ENQ_YIELD) && (p->flags & MLFQ_IO_RESETS);
        if (reset && (p->flags & MLFQ_OSTEP) && t->s.mlfq.epoch == p->epoch) {
            ostep_stay(p, &t->s);
        } else {
            normalise(&t->s, p->epoch);
            if (reset) t->s.mlfq.used = 0;            /* rule 4b */
        }
    }
    uint32_t f = t->s.mlfq.flags;
    t->s.mlfq.flags = 0;
    unsigned l = t->s.mlfq.level;
    if (why == PK_ENQ_PREEMPT && t->s.mlfq.ran >= t->s.mlfq.slice)
        why = PK_ENQ_SLICE;                           /* its quantum ended anyway */
    bool front = why == PK_ENQ_WAKE && (p->flags & MLFQ_IO_FRONT);
    if (!(p->flags & MLFQ_OSTEP)) {
        if (why == PK_ENQ_PREEMPT) {                  /* head, the rest of its quantum */
            t->s.mlfq.flags = MLFQ_T_RESUME;
            push(p, t, l, true);
            return;
        }
        push(p, t, l, front);
        return;
    }
    if ((f & MLFQ_T_BOOSTED) && (why == PK_ENQ_PREEMPT || why == PK_ENQ_SLICE)) {
        /* it ran through a boost just now: where mlfq.py's boost put it,
         * the head (or, its quantum over, the tail) of its old level's run */
        unsigned r = MLFQ_T_PRE(f) ? p->levels - MLFQ_T_PRE(f) : 0;
        pk_thread *x = after_front(p, 0, rq->k->now);
        while (x && (boost_rank(p, x) < r || (why == PK_ENQ_SLICE && boost_rank(p, x) == r)))
            x = x->s.mlfq.next;
        insert_before(p, t, 0, x);
        return;
    }
    switch (why) {
    case PK_ENQ_PREEMPT:                              /* second, after woken ones */
        insert_before(p, t, l, after_front(p, l, rq->k->now));
        return;
    case PK_ENQ_SLICE: {                              /* before this instant's arrivals */
        pk_thread *x = p->q[l].tail, *before = NULL;
        while (x && (x->s.mlfq.flags & MLFQ_T_JUST) && x->since == rq->k->now) {
            before = x;
            x = x->s.mlfq.prev;
        }
        insert_before(p, t, l, before);
        return;
    }
    case PK_ENQ_NEW: case PK_ENQ_WAKE:
        t->s.mlfq.flags = front ? MLFQ_T_FRONT : MLFQ_T_JUST;
        push(p, t, l, front);
        return;
    default:
        push(p, t, l, false);
        return;
    }
}

/* Remove queued t from its list. */
static void mlfq_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    catch_up(rq);
    unlink_at(rq->priv, t, queued_level(rq->priv, t));
}

/* The head of the highest non-empty level (Rules 1 and 2), or NULL. */
static pk_thread *mlfq_pick(pk_rq *rq) {
    mlfq_rq *p = rq->priv;
    catch_up(rq);
    if (!p->bitmap) return NULL;
    unsigned l = (unsigned)__builtin_ctz(p->bitmap);   /* Rule 1 */
    pk_thread *t = p->q[l].head;
    unlink_at(p, t, l);
    if (p->q[l].head) prefetch_thread(p->q[l].head);
    normalise(&t->s, p->epoch);
    t->s.mlfq.flags &= ~(uint32_t)(MLFQ_T_FRONT | MLFQ_T_JUST);
    return t;
}

/* A quantum of t's level, cut short where its allotment ends and at the
 * next boost (the only slices that end early). */
static pk_time mlfq_slice(pk_rq *rq, pk_thread *t) {
    const mlfq_rq *p = rq->priv;
    catch_up(rq);
    normalise(&t->s, p->epoch);
    unsigned l = t->s.mlfq.level;
    pk_time len = p->quantum[l];
    if (l + 1 < p->levels && p->allot[l] - t->s.mlfq.used < len) len = p->allot[l] - t->s.mlfq.used;
    if (p->flags & MLFQ_OSTEP) {                      /* ticksLeft: kept across io */
        len = p->quantum[l] - t->s.mlfq.used % p->quantum[l];
    } else if (t->s.mlfq.flags & MLFQ_T_RESUME) {     /* preempted: what is left */
        len = t->s.mlfq.slice - t->s.mlfq.ran;
    }
    t->s.mlfq.flags &= (uint32_t)(MLFQ_T_FRONT | MLFQ_T_JUST);
    t->s.mlfq.slice = len;
    t->s.mlfq.ran = 0;
    pk_time to_boost = p->next_boost - rq->k->now;   /* huge if never */
    return to_boost < len ? to_boost : len;
}

/* Its quantum or its allotment is used up: round robin (Rule 2) or, if
 * charge() moved it down, the levels above it first.  A slice cut short
 * by a boost ends here too: t keeps the CPU with a fresh quantum. */
static bool mlfq_tick(pk_rq *rq, pk_thread *t) {
    (void)rq;
    uint32_t f = t->s.mlfq.flags;
    if ((f & MLFQ_T_BOOSTED) && MLFQ_T_PRE(f)) return true;   /* OSTEP: boost order */
    return t->s.mlfq.ran >= t->s.mlfq.slice;
}

/* Running t used ran more ns: count them against its allotment (Rule 4). */
static void mlfq_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    const mlfq_rq *p = rq->priv;
    catch_up(rq);
    if ((p->flags & MLFQ_OSTEP) && p->epoch > t->s.mlfq.epoch) {
        pk_sched_data d = t->s;                       /* its level just before the boost */
        pk_time b = p->epoch * p->boost, start = rq->k->now - ran;
        use(p, &d, b > start ? b - start : 0);
        t->s.mlfq.flags = (t->s.mlfq.flags & 0xffu) | MLFQ_T_BOOSTED | d.mlfq.level << 8;
    }
    account(p, &t->s, rq->k->now, ran, p->epoch);
    t->s.mlfq.ran += ran;
}

/* t, just ready, preempts curr if it is at a higher level. */
static bool mlfq_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    const mlfq_rq *p = rq->priv;
    catch_up(rq);
    normalise(&curr->s, p->epoch);
    normalise(&t->s, p->epoch);
    if ((t->s.mlfq.flags & MLFQ_T_FRONT) && t->s.mlfq.level == curr->s.mlfq.level)
        return true;                                  /* OSTEP io_to_front: head runs */
    return t->s.mlfq.level < curr->s.mlfq.level;
}

/* the queued job that may run on cpu at the lowest level, latest first */
static pk_thread *mlfq_steal(pk_rq *rq, uint32_t cpu) {
    mlfq_rq *p = rq->priv;
    catch_up(rq);
    for (int l = (int)p->levels - 1; l >= 0; l--)
        for (pk_thread *t = p->q[l].tail; t; t = t->s.mlfq.prev)
            if (pk_cpu_allowed(rq->k, t, cpu)) {
                unlink_at(p, t, (unsigned)l);
                return t;
            }
    return NULL;
}

/* t's level as of now, counting the CPU time it has run but not yet been
 * charged for; an exited job keeps its last level. */
static void mlfq_describe(const pk_rq *rq, const pk_thread *t, pk_thread_info *o) {
    const mlfq_rq *p = rq->priv;
    const pk_kernel *k = rq->k;
    pk_sched_data d = t->s;
    uint64_t e = epoch_at(p, k->now);
    if (t->state == PK_TS_RUNNING) {
        const pk_cpu *c = &k->cpus[t->cpu];
        if (k->now > c->seg_start) account(p, &d, k->now, k->now - c->seg_start, e);
    }
    if (t->state != PK_TS_EXITED) normalise(&d, e);
    o->level = d.mlfq.level;
}

/* snapshots: the lists' ends (links are in the threads), boost epoch */
static void mlfq_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const mlfq_rq *p = rq->priv;
    for (unsigned l = 0; l < p->levels; l++) {
        pk_snap_tref(w, p->q[l].head);
        pk_snap_tref(w, p->q[l].tail);
    }
    pk_snap_u32(w, p->bitmap);
    pk_snap_u64(w, p->epoch);
    pk_snap_u64(w, p->next_boost);
    pk_snap_u64(w, p->prev_epoch);
}

static int mlfq_snap_load(pk_rq *rq, pk_snap_r *r) {
    mlfq_rq *p = rq->priv;
    for (unsigned l = 0; l < p->levels; l++) {
        p->q[l].head = pk_snap_get_tref(rq->k, r);
        p->q[l].tail = pk_snap_get_tref(rq->k, r);
    }
    p->bitmap = pk_snap_get_u32(r);
    p->epoch = pk_snap_get_u64(r);
    p->next_boost = pk_snap_get_u64(r);
    p->prev_epoch = pk_snap_get_u64(r);
    if (p->prev_epoch > p->epoch) pk_snap_bad(r);
    if (p->levels < 32 && p->bitmap >> p->levels) pk_snap_bad(r);
    uint64_t want = rq->nr - rq->rt.nr, found = 0;
    for (unsigned l = 0; l < p->levels && !r->err; l++) {
        if (!p->q[l].head != !(p->bitmap >> l & 1)) pk_snap_bad(r);
        uint64_t n = pk_snap_list(rq, p->q[l].head, p->q[l].tail, offsetof(pk_sched_data, mlfq.next),
                                  offsetof(pk_sched_data, mlfq.prev), want - found, 0);
        if (n == UINT64_MAX) { pk_snap_bad(r); break; }
        for (const pk_thread *t = p->q[l].head; t; t = t->s.mlfq.next)
            if (queued_level(p, t) != l) pk_snap_bad(r);
        found += n;
    }
    if (found != want) pk_snap_bad(r);
    return r->err;
}

/* its level indexes the quanta and allotments */
static bool mlfq_snap_thread(const pk_rq *rq, const pk_thread *t) {
    const pk_sched_data *d = &t->s;
    if (d->mlfq.flags & ~(uint32_t)MLFQ_T_ALL) return false;
    if (MLFQ_T_PRE(d->mlfq.flags) >= ((const mlfq_rq *)rq->priv)->levels) return false;
    if ((d->mlfq.flags & MLFQ_T_RESUME) && d->mlfq.ran >= d->mlfq.slice) return false;
    return d->mlfq.level < ((const mlfq_rq *)rq->priv)->levels;
}

const pk_policy pk_policy_mlfq = {
    .name = "MLFQ", .priv_size = sizeof(mlfq_rq), .init = mlfq_init,
    .enqueue = mlfq_enqueue, .dequeue = mlfq_dequeue, .pick = mlfq_pick,
    .slice = mlfq_slice, .tick = mlfq_tick, .wakeup_preempt = mlfq_preempt,
    .charge = mlfq_charge, .steal = mlfq_steal, .describe = mlfq_describe,
    .snap_save = mlfq_snap_save, .snap_load = mlfq_snap_load, .snap_thread = mlfq_snap_thread,
};
