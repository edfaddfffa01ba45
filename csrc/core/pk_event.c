/* pk_event.c - the discrete-event queue (see pk_event.h). */
#include "pk_core.h"

static inline bool ev_before(const pk_event *a, const pk_event *b) {
    return a->time < b->time || (a->time == b->time && a->order < b->order);
}

void pk_evq_init(pk_evq *q) { q->heap = NULL; q->n = q->cap = 0; q->seq = 0; }

void pk_evq_fini(pk_kernel *k, pk_evq *q) {
    pk_free(k, q->heap, (size_t)q->cap * sizeof(pk_event));
    pk_evq_init(q);
}

int pk_evq_reserve(pk_kernel *k, pk_evq *q, uint32_t n) {
    uint64_t want = (uint64_t)q->n + n;
    if (want <= q->cap) return PK_OK;
    if (want > 0xffffffffull) return PK_ERR_NO_MEMORY;
    uint64_t cap = q->cap ? q->cap : 64;
    while (cap < want) cap *= 2;
    if (cap > 0xffffffffull) cap = 0xffffffffull;
    pk_event *h = pk_realloc(k, q->heap, (size_t)q->cap * sizeof(pk_event),
                             (size_t)cap * sizeof(pk_event));
    if (!h) return PK_ERR_NO_MEMORY;
    q->heap = h;
    q->cap = (uint32_t)cap;
    return PK_OK;
}

int pk_evq_post(pk_kernel *k, pk_evq *q, uint64_t time, unsigned kind, uint64_t arg) {
    if (PK_UNLIKELY(q->n == q->cap)) {
        int s = pk_evq_reserve(k, q, 1);
        if (s) return s;
    }
    pk_event e = { time, (q->seq++ << 8) | (kind & 0xff), arg };
    uint32_t i = q->n++;
    while (i > 0) {                           /* sift up */
        uint32_t p = (i - 1) / 2;
        if (!ev_before(&e, &q->heap[p])) break;
        q->heap[i] = q->heap[p];
        i = p;
    }
    q->heap[i] = e;
    return PK_OK;
}

void pk_evq_pop(pk_evq *q, pk_event *out) {
    *out = q->heap[0];
    pk_event last = q->heap[--q->n];
    uint32_t i = 0, n = q->n;
    for (;;) {                                /* sift down */
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && ev_before(&q->heap[c + 1], &q->heap[c])) c++;
        if (!ev_before(&q->heap[c], &last)) break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (n) q->heap[i] = last;
}
