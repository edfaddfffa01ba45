/* pk_event.h - the discrete-event queue.
 *
 * A binary min-heap of events ordered by (time, seq): seq is a kernel-wide
 * counter taken when the event is posted, so events at the same instant
 * are handled in the order they were posted.  Deterministic by design. */
#ifndef PK_EVENT_H
#define PK_EVENT_H

typedef struct pk_event {
    uint64_t time;
    uint64_t order;          /* seq << 8 | kind: compares as seq          */
    uint64_t arg;            /* kind-specific (a tid for the first kinds) */
} pk_event;

typedef struct pk_evq {
    pk_event *heap;
    uint32_t  n, cap;
    uint64_t  seq;
} pk_evq;

static inline unsigned pk_event_kind(const pk_event *e) { return (unsigned)(e->order & 0xff); }
static inline uint64_t pk_evq_top_time(const pk_evq *q) {
    return q->n ? q->heap[0].time : PK_FOREVER;
}

struct pk_kernel;
void pk_evq_init(pk_evq *q);
void pk_evq_fini(struct pk_kernel *k, pk_evq *q);
/* Post an event; PK_ERR_NO_MEMORY if the heap cannot grow. */
int  pk_evq_post(struct pk_kernel *k, pk_evq *q, uint64_t time, unsigned kind, uint64_t arg);
/* Make room for n more events so that the next n posts cannot fail. */
int  pk_evq_reserve(struct pk_kernel *k, pk_evq *q, uint32_t n);
/* Remove the earliest event into *out; the queue must not be empty. */
void pk_evq_pop(pk_evq *q, pk_event *out);
#endif
