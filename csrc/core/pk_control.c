/* pk_control.c - run-time changes of a live thread's scheduling: nice,
 * static priority, tickets, scheduling class (SCHED_OTHER / FIFO / RR)
 * and CPU affinity.  A queued thread is taken out of its run queue,
 * changed and put back; a running one is charged up to now, changed, and
 * its CPU is asked to reschedule so that the policy can decide again. */
#include <string.h>
#include "pk_core.h"

static int live_thread(pk_kernel *k, uint32_t tid, pk_thread **out) {
    if (!k || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;    /* called from a policy hook */
    pk_thread *t = pk_thread_at(k, tid);
    if (t->state == PK_TS_EXITED) return PK_ERR_BAD_STATE;
    *out = t;
    return PK_OK;
}

/* Tell t's policy that a parameter changed, unless t is about to enter
 * the policy afresh (its policy state is set up then). */
static void notify(pk_rq *rq, pk_thread *t) {
    if (rq->pol->changed && t->sclass == PK_CLASS_OTHER && !(t->tflags & PK_TF_NEWCLASS))
        rq->pol->changed(rq, t);
}

/* Apply change(t, ...) with t out of its run queue if it is queued. */
static void requeue_around(pk_kernel *k, pk_thread *t, void (*change)(pk_kernel *, pk_thread *, int64_t, int64_t),
                           int64_t a, int64_t b) {
    if (t->state == PK_TS_READY) {
        pk_rq *rq = pk_thread_rq(k, t);
        pk_rq_dequeue(rq, t, PK_ENQ_CHANGE);
        change(k, t, a, b);
        notify(rq, t);
        pk_thread_make_ready(k, t, PK_ENQ_CHANGE);
        t->tflags &= (uint8_t)~PK_TF_WOKEN;
        return;
    }
    if (t->state == PK_TS_RUNNING) {
        pk_charge_running(k, t);
        change(k, t, a, b);
        pk_cpu *c = &k->cpus[t->cpu];
        notify(pk_cpu_rq(k, c), t);
        pk_cpu_resched(k, c);
        return;
    }
    change(k, t, a, b);                /* new, blocked or asleep */
}

static void set_attr(pk_kernel *k, pk_thread *t, int64_t attr, int64_t v) {
    (void)k;
    if (attr == PK_ATTR_NICE) t->nice = (int8_t)v;
    else if (attr == PK_ATTR_PRIORITY) t->priority = (int32_t)v;
    else if (attr == PK_ATTR_SLICE) pk_eevdf_slice_store(k, t, (uint64_t)v);
    else t->tickets = (uint32_t)v;
}

int pk_thread_set_attr(pk_kernel *k, uint32_t tid, uint32_t attr, int64_t value) {
    pk_thread *t;
    int s = live_thread(k, tid, &t);
    if (s) return s;
    if ((s = pk_attr_check(k, attr, value, NULL))) return s;
    if (attr == PK_ATTR_SLICE && (s = pk_eevdf_slice_reserve(k, tid))) return s;
    if (attr == PK_ATTR_PRIORITY && k->objs && k->objs->pi
        && pk_pi_rebase(k, t, -1, value)) return PK_OK;   /* boosted */
    requeue_around(k, t, set_attr, attr, value);
    return PK_OK;
}

/* The rules of a ticket transfer (Waldspurger and Weihl): both threads
 * live, distinct, `from` keeps at least one ticket and `to` stays within
 * 32 bits. */
int pk_tickets_transfer_check(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n, pk_refusal *why) {
    pk_thread *a, *b;
    if (why) *why = (pk_refusal){ 0 };
    int s = live_thread(k, from, &a);
    if (s) return s;
    if ((s = live_thread(k, to, &b))) return s;
    int st = 0;
    pk_refusal r = { 0 };
    if (from == to)
        st = PK_ERR_INVALID_ARGS, r = (pk_refusal){ PK_R_SAME_THREAD, PK_F_TID, st, from, to, 0, 0 };
    else if (n == 0 || n >= a->tickets)       /* the giver keeps at least one */
        st = n ? PK_ERR_OUT_OF_RANGE : PK_ERR_INVALID_ARGS,
        r = (pk_refusal){ PK_R_RANGE, PK_F_TICKETS_GIVEN, st, from, n, 1, a->tickets - 1 };
    else if ((uint64_t)b->tickets + n > UINT32_MAX)
        st = PK_ERR_OUT_OF_RANGE,
        r = (pk_refusal){ PK_R_RANGE, PK_F_TICKETS_TAKEN, st, to, (uint64_t)b->tickets + n, 1,
                          UINT32_MAX };
    if (st && why) *why = r;
    return st;
}

/* Move n tickets from thread `from` to thread `to`.  Both are requeued as
 * by pk_thread_set_attr, so the policy sees the new counts at once. */
int pk_thread_transfer_tickets(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n) {
    int s = pk_tickets_transfer_check(k, from, to, n, NULL);
    if (s) return s;
    pk_thread *a = pk_thread_at(k, from), *b = pk_thread_at(k, to);   /* both live */
    requeue_around(k, a, set_attr, PK_ATTR_TICKETS, (int64_t)a->tickets - n);
    requeue_around(k, b, set_attr, PK_ATTR_TICKETS, (int64_t)b->tickets + n);
    return PK_OK;
}

static void set_class(pk_kernel *k, pk_thread *t, int64_t sclass, int64_t prio) {
    bool was_rt = t->sclass != PK_CLASS_OTHER, is_rt = sclass != PK_CLASS_OTHER;
    if (was_rt != is_rt) {
        if (is_rt) k->rt_live++; else k->rt_live--;
        t->tflags |= PK_TF_NEWCLASS;   /* the other class's state starts afresh */
    }
    t->sclass = (uint8_t)sclass;
    t->rt_prio = (uint8_t)(is_rt ? prio : 0);
}

int pk_thread_set_class(pk_kernel *k, uint32_t tid, uint32_t sclass, uint32_t rt_prio) {
    pk_thread *t;
    int s = live_thread(k, tid, &t);
    if (s) return s;
    if ((s = pk_class_check(sclass, rt_prio, NULL))) return s;
    if (sclass == PK_CLASS_OTHER) rt_prio = 0;
    if (k->objs && k->objs->pi && pk_pi_rebase(k, t, sclass, rt_prio)) return PK_OK;   /* boosted */
    requeue_around(k, t, set_class, sclass, rt_prio);
    if (sclass != PK_CLASS_OTHER) pk_rt_arm(k);
    return PK_OK;
}

static void set_sched(pk_kernel *k, pk_thread *t, int64_t cls_rt, int64_t priority) {
    set_class(k, t, cls_rt >> 8, cls_rt & 0xff);
    t->priority = (int32_t)priority;
}

/* Priority inheritance (pk_pi.c) lends or takes back class, real-time
 * priority and static priority at once, as a run-time change does. */
void pk_thread_sched_apply(pk_kernel *k, pk_thread *t, uint32_t sclass, uint32_t rt_prio,
                           int32_t priority) {
    requeue_around(k, t, set_sched, (int64_t)(sclass << 8 | rt_prio), priority);
    if (sclass != PK_CLASS_OTHER) pk_rt_arm(k);
}

/* (a blocked thread is placed on an allowed CPU when it wakes) */
static void set_affinity(pk_kernel *k, pk_thread *t, int64_t id, int64_t unused) {
    (void)k; (void)unused;
    t->affinity = (uint32_t)id;
}

int pk_thread_set_affinity(pk_kernel *k, uint32_t tid, const uint64_t *mask4) {
    pk_thread *t;
    int s = live_thread(k, tid, &t);
    if (s) return s;
    if ((s = pk_affinity_check(k, mask4, NULL))) return s;
    int64_t id = pk_mask_intern(k, mask4);
    if (id < 0) return PK_ERR_NO_MEMORY;
    if (t->state == PK_TS_RUNNING) {
        t->affinity = (uint32_t)id;
        if (pk_cpu_allowed(k, t, (uint32_t)t->cpu)) return PK_OK;
        if (k->host_wait == t) {       /* mid-step of its Python body: */
            pk_cpu_resched(k, &k->cpus[t->cpu]);   /* cpu_service moves it */
            return PK_OK;
        }
        pk_cpu_evict(k, &k->cpus[t->cpu]);
        pk_thread_make_ready(k, t, PK_ENQ_MIGRATE);   /* on an allowed CPU */
        return PK_OK;
    }
    requeue_around(k, t, set_affinity, id, 0);
    return PK_OK;
}

int pk_thread_affinity_get(pk_kernel *k, uint32_t tid, uint64_t *mask4) {
    if (!k || !mask4 || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    memcpy(mask4, k->masks[pk_thread_at(k, tid)->affinity].bits, sizeof(pk_mask));
    return PK_OK;
}

/* A kernel restored from a snapshot under another policy (pk_snap_core.c):
 * the threads of the fair class enter the new policy afresh, as after a
 * change of class.  Queued ones (ready[0..n-1], in that order) are
 * enqueued as new arrivals in the run queue that held them; running ones
 * are told (changed) and their CPUs reschedule at once, so the new policy
 * decides; blocked, sleeping and waiting ones enter when they wake. */
void pk_policy_takeover(pk_kernel *k, pk_thread **ready, uint64_t n) {
    for (uint32_t i = 0; i < k->threads.count; i++) {
        pk_thread *t = pk_thread_at(k, i);
        if (t->state == PK_TS_EXITED || t->state == PK_TS_NEW || t->sclass != PK_CLASS_OTHER)
            continue;
        memset(&t->s, 0, sizeof t->s);          /* the old policy's data */
        t->tflags |= PK_TF_NEWCLASS;
    }
    for (uint64_t i = 0; i < n; i++) {
        pk_thread *t = ready[i];
        pk_rq_enqueue(k->shared ? k->rqs : &k->rqs[t->rq_cpu], t, PK_ENQ_NEW);
    }
    for (uint32_t i = 0; i < k->ncpus; i++) {
        pk_cpu *c = &k->cpus[i];
        pk_thread *t = c->curr;
        if (!t || t->sclass != PK_CLASS_OTHER) continue;
        pk_rq *rq = pk_cpu_rq(k, c);
        if (rq->pol->changed) rq->pol->changed(rq, t);
        pk_cpu_resched(k, c);
    }
}
