/* pk_sched_lottery.c - lottery scheduling (Waldspurger and Weihl,
 * "Lottery Scheduling: Flexible Proportional-Share Resource Management",
 * OSDI 1994; OSTEP ch. 9).  Each thread holds t->tickets.  At each
 * decision one ticket is drawn uniformly, with the kernel's generator,
 * from the tickets of the ready threads, and its holder runs for one
 * quantum (params[0]); when the quantum ends the holder rejoins the ready
 * threads and the next lottery is held.  A thread that becomes ready
 * waits for the next draw: lotteries are held only when the CPU is free
 * or a quantum ends.
 *
 * The ready threads of a run queue fill slots 0..n-1 of an array; a
 * Fenwick (binary indexed) tree over the slots holds sums of their
 * tickets, so that a draw, an insertion and a removal each take
 * O(log n).  A removed thread's slot is filled by the last one, so the
 * slots stay dense.  A queued thread's slot is t->s.share.slot, and its
 * weight is t->tickets (a change of tickets dequeues it first).
 *
 * The thread queued last is held out of the tree (its tickets count, as
 * the highest-numbered ones) until the next operation: in the common case
 * (a quantum ends, its thread is queued, a lottery is held) it then takes
 * the winner's slot, one tree update instead of three. */
#include <string.h>
#include "pk_core.h"

typedef struct lottery_rq {
    pk_thread **slot;              /* slot[i]: the thread in slot i < n      */
    uint64_t *tree;                /* 1-based: tree[j] sums slots j-lowbit(j) .. j-1 */
    uint32_t n, cap;               /* cap: a power of two                    */
    uint64_t total;                /* tickets of the queued threads          */
    pk_thread *held;               /* queued last, not in the tree, or NULL  */
    pk_time quantum;
} lottery_rq;

#define LOTTERY_CAP0 64

/* add delta (modulo 2^64, so it may be "negative") to slot i's weight */
static void tree_add(lottery_rq *p, uint32_t i, uint64_t delta) {
    for (uint64_t j = (uint64_t)i + 1; j <= p->cap; j += j & (~j + 1)) p->tree[j] += delta;
}

/* the slot holding ticket number r (0 <= r < the tree's total): the first
 * slot whose running sum of tickets exceeds r.  tree[cap] is the total,
 * so the descent starts below it; it is branch free (the comparisons are
 * unpredictable by nature). */
static uint32_t tree_find(const lottery_rq *p, uint64_t r) {
    uint32_t pos = 0;
    for (uint32_t step = p->cap >> 1; step; step >>= 1) {
        uint64_t v = p->tree[pos + step];
        uint64_t go = 0 - (uint64_t)(v <= r);          /* all ones or zero */
        pos += step & (uint32_t)go;
        r -= v & go;
    }
    return pos;
}

/* Recompute the whole tree from the slots, O(cap). */
static void tree_build(lottery_rq *p) {
    memset(p->tree, 0, ((size_t)p->cap + 1) * sizeof *p->tree);
    for (uint64_t j = 1; j <= p->cap; j++) {
        if (j <= p->n) p->tree[j] += p->slot[j - 1]->tickets;
        uint64_t up = j + (j & (~j + 1));
        if (up <= p->cap) p->tree[up] += p->tree[j];
    }
}

/* Make room for cap slots (keeping the current ones); false if memory
 * ran out, leaving p as it was. */
static bool lottery_grow(pk_kernel *k, lottery_rq *p, uint32_t cap) {
    uint64_t *tree = pk_alloc(k, ((size_t)cap + 1) * sizeof *tree);
    if (!tree) return false;
    pk_thread **slot = pk_realloc(k, p->slot, (size_t)p->cap * sizeof *slot,
                                  (size_t)cap * sizeof *slot);
    if (!slot) {
        pk_free(k, tree, ((size_t)cap + 1) * sizeof *tree);
        return false;
    }
    if (p->tree) pk_free(k, p->tree, ((size_t)p->cap + 1) * sizeof *p->tree);
    p->tree = tree;
    p->slot = slot;
    p->cap = cap;
    tree_build(p);
    return true;
}

/* params[0] is the quantum (its rule: pk_params_check); start with room
 * for LOTTERY_CAP0 threads. */
static int lottery_init(pk_rq *rq) {
    lottery_rq *p = rq->priv;
    const pk_config *c = &rq->k->cfg;
    int s = pk_rq_params_check(rq);
    if (s) return s;
    p->quantum = c->params[0];
    return lottery_grow(rq->k, p, LOTTERY_CAP0) ? PK_OK : PK_ERR_NO_MEMORY;
}

/* Free the slots and the tree. */
static void lottery_fini(pk_rq *rq) {
    lottery_rq *p = rq->priv;
    if (p->tree) pk_free(rq->k, p->tree, ((size_t)p->cap + 1) * sizeof *p->tree);
    pk_free(rq->k, p->slot, (size_t)p->cap * sizeof *p->slot);
    p->tree = NULL;
    p->slot = NULL;
}

/* Put the held thread into the tree, in a new slot. */
static void settle(pk_rq *rq) {
    lottery_rq *p = rq->priv;
    pk_thread *t = p->held;
    if (!t) return;
    if (p->n == p->cap && (p->cap > UINT32_MAX / 2 || !lottery_grow(rq->k, p, p->cap * 2))) {
        pk_rq_alloc_failed(rq);
        return;
    }
    p->held = NULL;
    p->slot[p->n] = t;
    t->s.share.slot = p->n;
    tree_add(p, p->n, t->tickets);
    p->n++;
}

/* t becomes ready: it is held, and the one held before goes into the tree. */
static void lottery_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    lottery_rq *p = rq->priv;
    settle(rq);
    p->held = t;
    p->total += t->tickets;
}

/* Take the thread in slot i out; the last slot's thread moves into i. */
static pk_thread *lottery_remove(lottery_rq *p, uint32_t i) {
    pk_thread *t = p->slot[i];
    uint32_t last = p->n - 1;
    if (i != last) {
        pk_thread *m = p->slot[last];
        tree_add(p, last, 0 - (uint64_t)m->tickets);
        tree_add(p, i, (uint64_t)m->tickets - t->tickets);
        p->slot[i] = m;
        m->s.share.slot = i;
    } else {
        tree_add(p, i, 0 - (uint64_t)t->tickets);
    }
    p->n--;
    p->total -= t->tickets;
    return t;
}

/* Take the held thread out. */
static pk_thread *unhold(lottery_rq *p) {
    pk_thread *t = p->held;
    p->held = NULL;
    p->total -= t->tickets;
    return t;
}

/* Remove queued t. */
static void lottery_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    (void)why;
    lottery_rq *p = rq->priv;
    if (t == p->held) unhold(p);
    else lottery_remove(p, t->s.share.slot);
}

/* Hold a lottery among the queued threads: ticket r < total wins; the
 * held thread owns the last tickets, and otherwise takes the slot of the
 * winner. */
static pk_thread *lottery_pick(pk_rq *rq) {
    lottery_rq *p = rq->priv;
    pk_thread *h = p->held;
    uint64_t count = p->n + (h ? 1 : 0);
    if (!count) return NULL;
    uint64_t r = count == 1 ? 0 : pk_rng_below(&rq->k->rng, p->total);
    if (h && r >= p->total - h->tickets) return unhold(p);
    uint32_t i = tree_find(p, r);
    if (!h) return lottery_remove(p, i);
    pk_thread *t = p->slot[i];
    tree_add(p, i, (uint64_t)h->tickets - t->tickets);
    p->slot[i] = h;
    h->s.share.slot = i;
    p->held = NULL;
    p->total -= t->tickets;
    return t;
}

/* the last-placed queued thread that may run on cpu */
static pk_thread *lottery_steal(pk_rq *rq, uint32_t cpu) {
    lottery_rq *p = rq->priv;
    if (p->held && pk_cpu_allowed(rq->k, p->held, cpu)) return unhold(p);
    for (uint32_t i = p->n; i-- > 0;)
        if (pk_cpu_allowed(rq->k, p->slot[i], cpu)) return lottery_remove(p, i);
    return NULL;
}

/* One quantum; at its end tick() asks for a new lottery. */
static pk_time lottery_slice(pk_rq *rq, pk_thread *t) {
    (void)t;
    return ((lottery_rq *)rq->priv)->quantum;
}

static bool lottery_tick(pk_rq *rq, pk_thread *t) { (void)rq; (void)t; return true; }

/* A thread that becomes ready waits for the next lottery. */
static bool lottery_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    (void)rq; (void)curr; (void)t;
    return false;
}

/* snapshots: the slots in order, the held thread, the ticket total (the
 * tree is rebuilt from the slots: it is a function of them) */
static void lottery_snap_save(const pk_rq *rq, pk_snap_w *w) {
    const lottery_rq *p = rq->priv;
    pk_snap_u32(w, p->n);
    pk_snap_u32(w, p->cap);
    pk_snap_u64(w, p->total);
    pk_snap_tref(w, p->held);
    for (uint32_t i = 0; i < p->n; i++) pk_snap_tref(w, p->slot[i]);
}

static int lottery_snap_load(pk_rq *rq, pk_snap_r *r) {
    lottery_rq *p = rq->priv;
    uint32_t n = pk_snap_get_u32(r), cap = pk_snap_get_u32(r);
    uint64_t total = pk_snap_get_u64(r);
    pk_thread *held = pk_snap_get_tref(rq->k, r);
    if (r->err || !pk_snap_count_ok(r, n, 4) || n > cap || cap < LOTTERY_CAP0 || (cap & (cap - 1))
        || cap > 2 * (uint64_t)rq->k->threads.count + LOTTERY_CAP0) {
        pk_snap_bad(r);
        return r->err;
    }
    if (cap != p->cap && !lottery_grow(rq->k, p, cap)) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        p->slot[i] = pk_snap_get_tref(rq->k, r);
        if (!pk_snap_queued(rq, p->slot[i], 0) || p->slot[i]->s.share.slot != i) pk_snap_bad(r);
    }
    if (held && (!pk_snap_queued(rq, held, 0)          /* queued, and not in a slot too */
                 || (held->s.share.slot < n && p->slot[held->s.share.slot] == held)))
        pk_snap_bad(r);
    if (n + (held != NULL) != rq->nr - rq->rt.nr) pk_snap_bad(r);
    uint64_t sum = held && !r->err ? held->tickets : 0;   /* draws are below the total */
    for (uint32_t i = 0; i < n && !r->err; i++) sum += p->slot[i]->tickets;
    if (sum != total) pk_snap_bad(r);
    p->n = r->err ? 0 : n;
    p->held = r->err ? NULL : held;
    p->total = total;
    tree_build(p);
    return r->err;
}

const pk_policy pk_policy_lottery = {
    .name = "Lottery", .priv_size = sizeof(lottery_rq),
    .init = lottery_init, .fini = lottery_fini,
    .enqueue = lottery_enqueue, .dequeue = lottery_dequeue, .pick = lottery_pick,
    .slice = lottery_slice, .tick = lottery_tick, .wakeup_preempt = lottery_preempt,
    .steal = lottery_steal, .snap_save = lottery_snap_save, .snap_load = lottery_snap_load,
};
