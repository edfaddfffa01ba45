/* pk_pi.c - priority inheritance for futex mutexes (docs/objects.md,
 * "Priority inheritance").
 *
 * The basic priority-inheritance protocol of Sha, Rajkumar and Lehoczky
 * ("Priority Inheritance Protocols: An Approach to Real-Time
 * Synchronization", IEEE Trans. Computers 39(9), 1990), as Linux's
 * rt_mutex and PTHREAD_PRIO_INHERIT do it: while a thread holds a PI
 * mutex that a more urgent thread waits for, the holder runs with the
 * waiter's priority; the boost follows chains of owners (the holder may
 * itself wait for a PI mutex) and ends when the mutexes are released.
 *
 * Urgency is a rank, lower = more urgent, as Linux's prio:
 *   real-time classes (SCHED_FIFO / SCHED_RR)   99 - rt_priority  (0..98)
 *   the Priority policy (pk.sched.Priority)     100 + priority
 *   other policies (CFS, EEVDF, RR, ...)        never boost
 * A real-time waiter puts a holder of another class in SCHED_FIFO with
 * the waiter's rt_priority (as rt_mutex moves it to the RT class); under
 * the Priority policy a waiter lends its static priority.  Fair waiters
 * do not boost, as in Linux, where CFS weights come from the static nice.
 * Every change goes through pk_thread_sched_apply (pk_control.c), the
 * run-time change path, so every policy sees a consistent change.
 *
 * State (k->objs->pi, allocated when the first mutex becomes PI): the
 * PI mutexes that have an owner, and the saved own parameters of each
 * boosted thread.  Both hold at most one entry per PI mutex, so room is
 * reserved when a mutex becomes PI and nothing later can fail. */
#include "pk_core.h"

#define RANK_NONE INT64_MAX
#define MAX_CHAIN 1024          /* Linux's max_lock_depth */

typedef struct sched_params { uint8_t sclass, rt_prio; int32_t priority; } sched_params;

static int64_t rank(const pk_kernel *k, sched_params p) {
    if (p.sclass != PK_CLASS_OTHER) return 99 - (int64_t)p.rt_prio;
    if (k->cfg.policy == PK_POLICY_PRIORITY) return 100 + (int64_t)p.priority;
    return RANK_NONE;
}

static sched_params params_of(const pk_thread *t) {
    return (sched_params){ t->sclass, t->rt_prio, t->priority };
}

/* The boost record of tid, or NULL. */
static pk_piboost *boost_of(pk_pi *pi, uint32_t tid) {
    for (uint32_t i = 0; i < pi->nboosts; i++)
        if (pi->boosts[i].tid == tid) return &pi->boosts[i];
    return NULL;
}

/* t's own parameters: saved while it is boosted, else its current ones. */
static sched_params base_of(pk_pi *pi, const pk_thread *t) {
    const pk_piboost *b = boost_of(pi, t->tid);
    return b ? (sched_params){ b->sclass, b->rt_prio, b->priority } : params_of(t);
}

/* The most urgent thread waiting on PI mutex f (NULL: none), if it is
 * more urgent than *best (then *best is its rank). */
static const pk_thread *top_waiter(pk_kernel *k, uint32_t f, int64_t *best) {
    const pk_thread *top = NULL;
    uint32_t first = pk_obj_at(k, f)->waiters;
    if (!first) return NULL;
    uint32_t x = first;
    do {
        const pk_wnode *nd = &k->objs->nodes[x - 1];
        const pk_wait *wr = &k->objs->waits[nd->wait];
        if (!wr->port) {
            const pk_thread *w = pk_thread_at(k, wr->tid);
            int64_t r = rank(k, params_of(w));
            if (r < *best) { *best = r; top = w; }
        }
        x = nd->next;
    } while (x != first);
    return top;
}

/* The parameters t should run with: its own, or those lent by the most
 * urgent waiter of the PI mutexes it holds. */
static sched_params wanted(pk_kernel *k, const pk_thread *t) {
    pk_pi *pi = k->objs->pi;
    sched_params base = base_of(pi, t), p = base;
    int64_t best = rank(k, base);
    const pk_thread *top = NULL;
    for (uint32_t i = 0; i < pi->nheld; i++) {
        if (pk_obj_at(k, pi->held[i])->target != t->tid + 1) continue;
        const pk_thread *w = top_waiter(k, pi->held[i], &best);
        if (w) top = w;
    }
    if (!top) return p;
    if (top->sclass != PK_CLASS_OTHER) {
        p.sclass = base.sclass != PK_CLASS_OTHER ? base.sclass : PK_CLASS_FIFO;
        p.rt_prio = top->rt_prio;
    } else {
        p.priority = top->priority;
    }
    return p;
}

static bool same(sched_params a, sched_params b) {
    return a.sclass == b.sclass && a.rt_prio == b.rt_prio && a.priority == b.priority;
}

/* Give t the parameters it should have now; keep its boost record in
 * step (made at the first boost, dropped when it runs as itself).
 * True if its parameters changed. */
static bool reapply(pk_kernel *k, pk_thread *t) {
    pk_pi *pi = k->objs->pi;
    if (t->state == PK_TS_EXITED) return false;
    sched_params want = wanted(k, t), base = base_of(pi, t);
    pk_piboost *b = boost_of(pi, t->tid);
    if (same(want, base) && b) *b = pi->boosts[--pi->nboosts];
    else if (!same(want, base) && !b)
        pi->boosts[pi->nboosts++] = (pk_piboost){ t->tid, base.sclass, base.rt_prio, {0, 0}, base.priority };
    if (same(want, params_of(t))) return false;
    pk_digest(k, k->now, 0x9b00000000000000ull | (uint64_t)want.sclass << 40
              | (uint64_t)want.rt_prio << 32 | t->tid);
    pk_thread_sched_apply(k, t, want.sclass, want.rt_prio, want.priority);
    return true;
}

/* The owner (a live thread) of the PI mutex that waiting thread t waits
 * for, or NULL. */
static pk_thread *blocker_of(pk_kernel *k, const pk_thread *t) {
    if (t->state != PK_TS_WAITING || !pk_thread_has_wait_reg(t) || !t->regs.x[PK_REG_WAIT]) return NULL;
    const pk_wait *wr = &k->objs->waits[t->regs.x[PK_REG_WAIT] - 1];
    if (!wr->linked) return NULL;
    for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib) {
        const pk_obj *ob = pk_obj_at(k, k->objs->nodes[x - 1].obj);
        if (ob->kind == PK_OBJ_FUTEX && (ob->fflags & PK_FUTEX_PI) && ob->target)
            return pk_thread_at(k, ob->target - 1);
    }
    return NULL;
}

/* Recompute t, then each owner down the chain while something changes
 * (at most MAX_CHAIN links: a deadlock cycle ends there). */
static void propagate(pk_kernel *k, pk_thread *t) {
    for (uint32_t n = 0; t && n < MAX_CHAIN; n++) {
        if (!reapply(k, t) && n) return;
        t = blocker_of(k, t);
    }
}

/* Make futex f a PI mutex (once); NO_MEMORY if the room its entries may
 * need cannot be reserved. */
int pk_pi_mark(pk_kernel *k, uint32_t f) {
    pk_obj *ob = pk_obj_at(k, f);
    if (ob->fflags & PK_FUTEX_PI) return PK_OK;
    pk_objects *o = k->objs;
    if (!o->pi && !(o->pi = pk_alloc(k, sizeof *o->pi))) return PK_ERR_NO_MEMORY;
    pk_pi *pi = o->pi;
    if (pi->marked == pi->cap) {
        uint32_t cap = pi->cap ? pi->cap * 2 : 8;
        uint32_t *held = pk_realloc(k, pi->held, pi->cap * sizeof *held, cap * sizeof *held);
        if (!held) return PK_ERR_NO_MEMORY;
        pi->held = held;
        pk_piboost *b = pk_realloc(k, pi->boosts, pi->cap * sizeof *b, cap * sizeof *b);
        if (!b) { pi->held = pk_realloc(k, held, cap * sizeof *held, pi->cap * sizeof *held); return PK_ERR_NO_MEMORY; }
        pi->boosts = b;
        pi->cap = cap;
    }
    pi->marked++;
    ob->fflags |= PK_FUTEX_PI;
    if (ob->target) pi->held[pi->nheld++] = f;       /* already locked */
    return PK_OK;
}

static void held_remove(pk_pi *pi, uint32_t f) {
    for (uint32_t i = 0; i < pi->nheld; i++)
        if (pi->held[i] == f) { pi->held[i] = pi->held[--pi->nheld]; return; }
}

/* Thread t has just taken PI mutex f: the waiters still queued lend it
 * their priority.  f is listed once however it was taken: a word also
 * used as a semaphore can let its owner take it again, and held[] has
 * room for each PI mutex once. */
void pk_pi_acquired(pk_kernel *k, pk_thread *t, uint32_t f) {
    pk_pi *pi = k->objs->pi;
    held_remove(pi, f);
    pi->held[pi->nheld++] = f;
    if (pk_obj_at(k, f)->waiters) propagate(k, t);
}

/* Thread t has released PI mutex f (f has no owner now): t drops what
 * f's waiters lent it. */
void pk_pi_released(pk_kernel *k, pk_thread *t, uint32_t f) {
    held_remove(k->objs->pi, f);
    if (boost_of(k->objs->pi, t->tid)) reapply(k, t);
}

/* A thread began or stopped waiting on PI mutex f (or its urgency
 * changed): f's owner, and the owners down its chain, are recomputed. */
void pk_pi_waiters_changed(pk_kernel *k, uint32_t f) {
    uint32_t owner = pk_obj_at(k, f)->target;
    if (owner) propagate(k, pk_thread_at(k, owner - 1));
}

/* PI mutex f is being destroyed (its process's futexes go). */
void pk_pi_forget(pk_kernel *k, uint32_t f) {
    pk_pi *pi = k->objs->pi;
    held_remove(pi, f);
    pi->marked--;
    for (uint32_t i = 0; i < pi->nboosts; )          /* records of dead owners */
        if (pk_thread_at(k, pi->boosts[i].tid)->state == PK_TS_EXITED) pi->boosts[i] = pi->boosts[--pi->nboosts];
        else i++;
}

/* A run-time change of t's own class and real-time priority (a >= 0:
 * sclass = a, rt_prio = b) or static priority (a < 0: priority = b): if
 * t is boosted it changes the saved parameters and the boost is
 * recomputed (true); false if t is not boosted (the caller applies it). */
bool pk_pi_rebase(pk_kernel *k, pk_thread *t, int64_t a, int64_t b) {
    pk_piboost *r = boost_of(k->objs->pi, t->tid);
    if (!r) return false;
    if (a >= 0) { r->sclass = (uint8_t)a; r->rt_prio = (uint8_t)b; }
    else r->priority = (int32_t)b;
    propagate(k, t);                  /* applies the boost, or the new base */
    return true;
}

/* A boosted thread's own parameters (for views): OK and *_out, or
 * BAD_STATE if tid is not boosted now. */
int pk_thread_pi_base(pk_kernel *k, uint32_t tid, uint32_t *sclass, uint32_t *rt_prio,
                      int32_t *priority) {
    if (!k || !sclass || !rt_prio || !priority || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    const pk_piboost *b = k->objs && k->objs->pi ? boost_of(k->objs->pi, tid) : NULL;
    if (!b) return PK_ERR_BAD_STATE;
    *sclass = b->sclass;
    *rt_prio = b->rt_prio;
    *priority = b->priority;
    return PK_OK;
}
