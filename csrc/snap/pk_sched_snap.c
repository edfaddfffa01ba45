/* pk_sched_snap.c - the SCHD section of a snapshot (docs/snapshot.md):
 * each run queue's real-time lists and its policy's own sub-section, then
 * the event queue; and the helpers policies use to save and check their
 * structures (pk_snap.h).  Its loader runs after every other part is
 * back, checks that the run queues hold exactly the ready threads the
 * CORE loader counted, and, when the restore changes the policy, hands
 * the threads to the new one. */
#include <stdlib.h>
#include "pk_snap_sect.h"
#include "pk_heap.h"

#define PTR_WORDS PK_SNAP_PTR_WORDS

/* ---- helpers of the policies' sections (pk_snap.h) ------------------------ */

void pk_snap_heap_save(pk_snap_w *w, const pk_heap *h) {
    pk_snap_u32(w, h->n);
    pk_snap_u32(w, h->cap);
    pk_snap_u64(w, h->seq);
    pk_snap_w_reserve(w, (size_t)h->n * 20);
    for (uint32_t i = 0; i < h->n; i++) {
        pk_snap_u64(w, h->a[i].key);
        pk_snap_u64(w, h->a[i].seq);
        pk_snap_u32(w, h->tid[i] + 1);          /* a thread reference (pk_snap_tref) */
    }
}

int pk_snap_heap_load(pk_rq *rq, pk_snap_r *r, pk_heap *h) {
    pk_kernel *k = rq->k;
    uint32_t n = pk_snap_get_u32(r), cap = pk_snap_get_u32(r);
    uint64_t seq = pk_snap_get_u64(r);
    if (!pk_snap_count_ok(r, n, 20) || n > cap || cap > 2 * (uint64_t)k->threads.count + 64) {
        pk_snap_bad(r);
        return r->err;
    }
    if (cap > h->cap && !pk_heap_grow(k, h, cap)) return PK_ERR_NO_MEMORY;
    /* positions by tid (pk_heap.h); a thread listed twice is caught after */
    if (k->threads.count && !pk_heap_pos_reserve(k, k->threads.count - 1)) return PK_ERR_NO_MEMORY;
    h->k = k;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        h->a[i].key = pk_snap_get_u64(r);
        h->a[i].seq = pk_snap_get_u64(r);
        pk_thread *t = pk_snap_get_tref(k, r);
        if (!pk_snap_queued(rq, t, 0)) { pk_snap_bad(r); break; }
        h->tid[i] = t->tid;
        k->heap_pos[t->tid] = i;
    }
    for (uint32_t i = 0; i < n && !r->err; i++)
        if (k->heap_pos[h->tid[i]] != i) pk_snap_bad(r);
    h->n = r->err ? 0 : n;
    h->seq = seq;
    return r->err;
}

int pk_snap_queued(const pk_rq *rq, const pk_thread *t, int rt) {
    return t && t->state == PK_TS_READY && pk_is_rt(t) == !!rt && t->rq_cpu == rq->cpu
           && !(t->tflags & PK_TF_NEWCLASS);
}

int pk_snap_is_link(const pk_thread *t, size_t off) {
    uint64_t v;
    memcpy(&v, (const char *)&t->s + off, sizeof v);
    return !v || (off % 8 == 0 && off / 8 < PTR_WORDS && (t->pad0 >> (off / 8) & 1));
}

static pk_thread *link_at(pk_thread *t, size_t off) {
    pk_thread *v;
    memcpy(&v, (char *)&t->s + off, sizeof v);
    return v;
}

uint64_t pk_snap_list(const pk_rq *rq, pk_thread *head, pk_thread *tail, size_t next_off,
                      size_t prev_off, uint64_t max, int rt) {
    uint64_t n = 0;
    pk_thread *prev = NULL;
    for (pk_thread *t = head; t; prev = t, t = link_at(t, next_off)) {
        if (++n > max || !pk_snap_queued(rq, t, rt) || link_at(t, prev_off) != prev
            || !pk_snap_is_link(t, next_off))
            return UINT64_MAX;
    }
    return prev == tail ? n : UINT64_MAX;
}

/* ---- run queues and events ------------------------------------------------- */

static void rt_save(const pk_rq *rq, pk_snap_w *w) {
    const pk_rt_rq *t = &rq->rt;
    for (int p = 1; p < 100; p++) { pk_snap_tref(w, t->head[p]); pk_snap_tref(w, t->tail[p]); }
    pk_snap_u64s(w, t->bitmap, 2);
    pk_snap_u64(w, t->nr);
    pk_snap_u64(w, t->used);
    pk_snap_u32(w, t->throttled);
}

static void rt_load(pk_kernel *k, pk_rq *rq, pk_snap_r *r) {
    pk_rt_rq *t = &rq->rt;
    for (int p = 1; p < 100; p++) {
        t->head[p] = pk_snap_get_tref(k, r);
        t->tail[p] = pk_snap_get_tref(k, r);
        if (!t->head[p] != !t->tail[p]) pk_snap_bad(r);
    }
    pk_snap_get_u64s(r, t->bitmap, 2);
    t->nr = pk_snap_get_u64(r);
    t->used = pk_snap_get_u64(r);
    t->throttled = pk_snap_get_u32(r);
    if (t->bitmap[0] & 1 || t->bitmap[1] >> (100 - 64) || t->nr > k->threads.count)
        pk_snap_bad(r);                        /* bits for priorities 1..99 only */
    uint64_t found = 0;
    for (int p = 1; p < 100 && !r->err; p++) {
        if (!t->head[p] != !(t->bitmap[p >> 6] >> (p & 63) & 1)) pk_snap_bad(r);
        uint64_t n = pk_snap_list(rq, t->head[p], t->tail[p], offsetof(pk_sched_data, list.next),
                                  offsetof(pk_sched_data, list.prev), t->nr - found, 1);
        if (n == UINT64_MAX) { pk_snap_bad(r); break; }
        for (pk_thread *x = t->head[p]; x; x = x->s.list.next)
            if (x->rt_prio != p) pk_snap_bad(r);
        found += n;
    }
    if (found != t->nr) pk_snap_bad(r);
}

int pk_snap_schd_save(pk_snap_ctx *c, pk_snap_w *w) {
    pk_kernel *k = c->k;
    for (uint32_t i = 0; i < k->nrqs; i++) {
        const pk_rq *rq = &k->rqs[i];
        pk_snap_u64(w, rq->nr);
        rt_save(rq, w);
        size_t pat = pk_snap_section_begin(w, rq->pol->snap_save ? k->cfg.policy : 0, 1);
        if (rq->pol->snap_save) rq->pol->snap_save(rq, w);
        pk_snap_section_end(w, pat);
    }
    const pk_evq *q = &k->evq;
    pk_snap_u32(w, q->n);
    pk_snap_w_reserve(w, (size_t)q->n * 24);
    for (uint32_t i = 0; i < q->n; i++) {
        pk_snap_u64(w, q->heap[i].time);
        pk_snap_u64(w, q->heap[i].order);
        pk_snap_u64(w, q->heap[i].arg);
    }
    return w->err;
}

static bool event_ok(pk_kernel *k, const pk_event *e) {
    unsigned kind = pk_event_kind(e);
    if (e->time > PK_MAX_TIME && e->time != PK_FOREVER) return false;
    switch (kind) {
    case PK_EV_ARRIVAL: return e->arg < k->threads.count;
    case PK_EV_WAKE: return pk_rv_snap_wake_ok(k, e->arg);
    case PK_EV_BALANCE: case PK_EV_RT_PERIOD: return true;
    case PK_EV_STEAL: return k->cfg.steal_ns != 0 && !k->steal_armed++;   /* at most one */
    case PK_EV_WAIT_DEADLINE:
        return k->objs && (uint32_t)e->arg < k->objs->nwaits && (uint32_t)e->arg != 0;
    case PK_EV_RV_TIMEOUT: return pk_rv_snap_event_ok(k, e->arg);
    case PK_EV_RV_ITIMER: return pk_rv_snap_itimer_ok(k, e->arg);
    default: return false;
    }
}

static int events_load(pk_kernel *k, pk_snap_r *r) {
    pk_evq *q = &k->evq;
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 24)) return r->err;
    if (pk_evq_reserve(k, q, n)) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        pk_event *e = &q->heap[i];
        e->time = pk_snap_get_u64(r);
        e->order = pk_snap_get_u64(r);
        e->arg = pk_snap_get_u64(r);
        if (!event_ok(k, e) || (e->order >> 8) >= q->seq) pk_snap_bad(r);
        if (i) {                                  /* heap order */
            const pk_event *p = &q->heap[(i - 1) / 2];
            if (p->time > e->time || (p->time == e->time && p->order > e->order)) pk_snap_bad(r);
        }
    }
    q->n = r->err ? 0 : n;
    k->steal_armed = k->steal_armed && !r->err;       /* counted by event_ok */
    pk_obj_snap_events_loaded(k);             /* k->objs counts its deadline events */
    if (!r->err && !pk_rv_snap_events_loaded(k)) pk_snap_bad(r);
    return r->err;
}

/* The threads a new policy must take over, ready ones in the order they
 * became ready (since, then tid). */
static int since_cmp(const void *a, const void *b) {
    const pk_thread *x = *(pk_thread *const *)a, *y = *(pk_thread *const *)b;
    if (x->since != y->since) return x->since < y->since ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int schd_load(pk_kernel *k, pk_snap_r *r, bool new_policy, const pk_snap_ctx *tc,
                     pk_snap_refusal *why) {
    uint64_t queued = 0, queued_rt = 0;
    for (uint32_t i = 0; i < k->nrqs && !r->err; i++) {
        pk_rq *rq = &k->rqs[i];
        uint64_t nr = pk_snap_get_u64(r);
        rt_load(k, rq, r);
        uint32_t tag = pk_snap_get_u32(r);
        (void)pk_snap_get_u32(r);
        uint64_t len = pk_snap_get_u64(r);
        if (len > pk_snap_left(r)) { pk_snap_bad(r); break; }
        queued_rt += rq->rt.nr;
        if (new_policy) {
            r->off += len;
            rq->nr = rq->rt.nr;
            continue;
        }
        queued += nr - (nr >= rq->rt.nr ? rq->rt.nr : 0);
        rq->nr = nr;
        if (nr > k->threads.count || nr < rq->rt.nr) pk_snap_bad(r);
        size_t end = r->off + len;
        if (tag != (rq->pol->snap_save ? k->cfg.policy : 0)) { pk_snap_bad(r); break; }
        if (rq->pol->snap_load) {
            int s = rq->pol->snap_load(rq, r);
            if (s && s != r->err) return s;
        }
        if (!r->err && r->off != end) pk_snap_bad(r);
    }
    /* the run queues hold every ready thread (each structure holds only
     * distinct ready threads of its queue: the counts make it exact) */
    if (queued_rt != tc->ready_rt || (!new_policy && queued != tc->ready)) pk_snap_bad(r);
    if (r->err) return r->err;
    int s = events_load(k, r);
    if (s || !new_policy) return s;
    /* a new policy: it takes the ready threads of the fair class in the
     * order they became ready, and decides afresh on the running ones */
    uint32_t n = k->threads.count, nready = 0;
    pk_thread **ready = malloc((n ? n : 1) * sizeof *ready);
    if (!ready) return PK_ERR_NO_MEMORY;
    const pk_policy *pol = k->rqs[0].pol;
    for (uint32_t i = 0; i < n; i++) {
        pk_thread *t = pk_thread_at(k, i);
        if (t->state == PK_TS_EXITED || t->sclass != PK_CLASS_OTHER) continue;
        if ((pol->flags & PK_POL_NEEDS_BURST) && t->burst == PK_NO_BURST)
            s = PK_ERR_INVALID_ARGS;
        else if (k->cfg.policy == PK_POLICY_PRIORITY && (t->priority < 0 || t->priority > 139))
            s = PK_ERR_OUT_OF_RANGE;
        else if (t->affinity && k->shared && k->ncpus > 1 && !pol->pick_on)
            s = PK_ERR_NOT_SUPPORTED;          /* masks on a shared queue: FIFO, RR only */
        if (s) {
            why->reason = PK_SNAP_E_POLICY;
            why->tid = t->tid;
            free(ready);
            return s;
        }
        if (t->state == PK_TS_READY) ready[nready++] = t;
    }
    qsort(ready, nready, sizeof *ready, since_cmp);
    pk_policy_takeover(k, ready, nready);
    free(ready);
    return k->broken;
}

int pk_snap_schd_load(pk_snap_ctx *c, pk_snap_r *r) {
    pk_kernel *k = c->k;
    int s = schd_load(k, r, c->new_policy, c, c->why);
    for (uint32_t i = 0; i < k->threads.count; i++) pk_thread_at(k, i)->pad0 = 0;
    return s;
}
