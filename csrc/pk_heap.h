/* pk_heap.h - an indexed binary min-heap of threads keyed by (key, seq),
 * for policies that order ready threads by a number (SJF, STCF, CFS,
 * Stride, EDF, ...).  A thread's index in the heap is t->s.heap.pos (every
 * pk_sched_data member that uses this heap starts with that field), so
 * any queued thread can be removed in O(log n).  seq is taken at each
 * push: equal keys come out in the order they went in.  The array grows
 * on demand; if it cannot, the kernel is marked broken (NO_MEMORY). */
#ifndef PK_HEAP_H
#define PK_HEAP_H

typedef struct pk_heap_ent { uint64_t key, seq; pk_thread *t; } pk_heap_ent;

typedef struct pk_heap {
    pk_heap_ent *a;
    uint32_t n, cap;
    uint64_t seq;
} pk_heap;

static inline bool pk_heap_before(const pk_heap_ent *x, const pk_heap_ent *y) {
    return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static inline void pk_heap_place(pk_heap *h, uint32_t i, pk_heap_ent e) {
    h->a[i] = e;
    e.t->s.heap.pos = i;
}

static inline void pk_heap_up(pk_heap *h, uint32_t i, pk_heap_ent e) {
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!pk_heap_before(&e, &h->a[p])) break;
        pk_heap_place(h, i, h->a[p]);
        i = p;
    }
    pk_heap_place(h, i, e);
}

static inline void pk_heap_down(pk_heap *h, uint32_t i, pk_heap_ent e) {
    uint32_t n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pk_heap_before(&h->a[c + 1], &h->a[c])) c++;
        if (!pk_heap_before(&h->a[c], &e)) break;
        pk_heap_place(h, i, h->a[c]);
        i = c;
    }
    pk_heap_place(h, i, e);
}

/* Insert t with key; false (and nothing inserted) if memory ran out. */
static inline bool pk_heap_push(struct pk_kernel *k, pk_heap *h, pk_thread *t, uint64_t key) {
    if (PK_UNLIKELY(h->n == h->cap)) {
        uint32_t cap = h->cap ? h->cap * 2 : 64;
        if (cap <= h->cap) return false;
        pk_heap_ent *a = pk_realloc(k, h->a, (size_t)h->cap * sizeof *a, (size_t)cap * sizeof *a);
        if (!a) return false;
        h->a = a;
        h->cap = cap;
    }
    pk_heap_ent e = { key, h->seq++, t };
    pk_heap_up(h, h->n++, e);
    return true;
}

static inline pk_thread *pk_heap_top(const pk_heap *h) { return h->n ? h->a[0].t : NULL; }
static inline uint64_t pk_heap_top_key(const pk_heap *h) { return h->a[0].key; }

static inline void pk_heap_remove(pk_heap *h, pk_thread *t) {
    uint32_t i = t->s.heap.pos;
    pk_heap_ent last = h->a[--h->n];
    if (i == h->n) return;
    if (pk_heap_before(&last, &h->a[i])) pk_heap_up(h, i, last);
    else pk_heap_down(h, i, last);
}

static inline pk_thread *pk_heap_pop(pk_heap *h) {
    if (!h->n) return NULL;
    pk_thread *t = h->a[0].t;
    pk_heap_ent last = h->a[--h->n];
    if (h->n) pk_heap_down(h, 0, last);
    return t;
}

static inline void pk_heap_free(struct pk_kernel *k, pk_heap *h) {
    pk_free(k, h->a, (size_t)h->cap * sizeof *h->a);
    h->a = NULL; h->n = h->cap = 0;
}

/* Remove and return the queued thread with the largest key that may run
 * on cpu (a linear scan: used only by load balancing). */
static inline pk_thread *pk_heap_steal(struct pk_kernel *k, pk_heap *h, uint32_t cpu) {
    pk_thread *best = NULL;
    uint64_t bk = 0;
    for (uint32_t i = 0; i < h->n; i++) {
        pk_heap_ent *e = &h->a[i];
        if ((!best || e->key > bk) && pk_cpu_allowed(k, e->t, cpu)) { best = e->t; bk = e->key; }
    }
    if (best) pk_heap_remove(h, best);
    return best;
}
#endif
