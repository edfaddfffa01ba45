/* pk_trace.c - the trace buffer: typed events in the order they happen.
 *
 * The buffer is a list of chunks of 65,536 events (24 bytes each), added
 * as needed up to its bound (max events); once full, new events are dropped and counted, so a trace
 * always holds the beginning of a run, complete.  Recording never changes
 * what the simulation does (the digest does not see it). */
#include <string.h>
#include "pk_core.h"

int pk_trace_enable(pk_kernel *k, uint64_t max_events) {
    if (!k || max_events == 0 || max_events > (UINT64_MAX / sizeof(pk_trace_event)) / 4)
        return PK_ERR_INVALID_ARGS;
    if (k->trace || k->procs.count) return PK_ERR_BAD_STATE;   /* once, before any spawn */
    pk_trace *tr = pk_alloc(k, sizeof *tr);
    if (!tr) return PK_ERR_NO_MEMORY;
    memset(tr, 0, sizeof *tr);
    tr->max = max_events;
    k->trace = tr;
    return PK_OK;
}

/* Make room for one more event: a new chunk (never copied, never
 * cleared: fresh pages cost only when first written); false if the bound
 * or memory says no. */
static bool trace_grow(pk_kernel *k, pk_trace *tr) {
    if (tr->cap >= tr->max) return false;
    if (tr->nchunks == tr->chunks_cap) {
        uint64_t ncap = tr->chunks_cap ? tr->chunks_cap * 2 : 16;
        pk_trace_event **p = pk_realloc(k, tr->chunks, tr->chunks_cap * sizeof *p, ncap * sizeof *p);
        if (!p) return false;
        tr->chunks = p;
        tr->chunks_cap = ncap;
    }
    uint64_t room = tr->max - tr->cap < PK_TRACE_CHUNK ? tr->max - tr->cap : PK_TRACE_CHUNK;
    pk_trace_event *c = pk_alloc(k, room * sizeof *c);
    if (!c) return false;
    tr->chunks[tr->nchunks++] = c;
    tr->cap += room;
    return true;
}

void pk_trace_rec(pk_kernel *k, unsigned kind, unsigned sub, uint32_t tid, uint32_t cpu,
                  uint64_t arg) {
    pk_trace *tr = k->trace;
    if (tr->n == tr->cap && !trace_grow(k, tr)) { tr->dropped++; return; }
    tr->chunks[tr->n >> PK_TRACE_CHUNK_SHIFT][tr->n & (PK_TRACE_CHUNK - 1)] =
        (pk_trace_event){ k->now, arg, tid, (uint16_t)cpu, (uint8_t)kind, (uint8_t)sub };
    tr->n++;
}

void pk_trace_op(pk_kernel *k, unsigned kind, unsigned sub, uint64_t arg) {
    const pk_thread *t = k->trace->cur;
    bool ours = t && t->state == PK_TS_RUNNING;
    pk_trace_rec(k, kind, sub, ours ? t->tid : PK_TR_NO_TID,
                 ours ? (uint32_t)t->cpu : PK_TR_NO_CPU, arg);
}

int pk_trace_read(pk_kernel *k, uint64_t start, pk_trace_event *out, uint64_t cap, uint64_t *n) {
    if (!k || !n || (cap && !out)) return PK_ERR_INVALID_ARGS;
    if (!k->trace) return PK_ERR_BAD_STATE;
    const pk_trace *tr = k->trace;
    if (start > tr->n) return PK_ERR_OUT_OF_RANGE;
    uint64_t m = tr->n - start < cap ? tr->n - start : cap;
    for (uint64_t done = 0; done < m; ) {        /* chunk by chunk */
        uint64_t i = start + done, off = i & (PK_TRACE_CHUNK - 1);
        uint64_t run = PK_TRACE_CHUNK - off < m - done ? PK_TRACE_CHUNK - off : m - done;
        memcpy(out + done, tr->chunks[i >> PK_TRACE_CHUNK_SHIFT] + off, run * sizeof *out);
        done += run;
    }
    *n = m;
    return PK_OK;
}

int pk_trace_counts(pk_kernel *k, uint64_t *count, uint64_t *dropped) {
    if (!k || !count || !dropped) return PK_ERR_INVALID_ARGS;
    if (!k->trace) return PK_ERR_BAD_STATE;
    *count = k->trace->n;
    *dropped = k->trace->dropped;
    return PK_OK;
}

void pk_trace_fini(pk_kernel *k) {
    pk_trace *tr = k->trace;
    if (!tr) return;
    for (uint64_t i = 0; i < tr->nchunks; i++) {
        uint64_t room = tr->max - i * PK_TRACE_CHUNK;
        pk_free(k, tr->chunks[i], (room < PK_TRACE_CHUNK ? room : PK_TRACE_CHUNK) * sizeof **tr->chunks);
    }
    pk_free(k, tr->chunks, tr->chunks_cap * sizeof *tr->chunks);
    pk_free(k, tr, sizeof *tr);
    k->trace = NULL;
}

/* ---- snapshots (pk_snap.h) -------------------------------------------------- */

void pk_trace_snap_save(pk_kernel *k, pk_snap_w *w) {
    const pk_trace *tr = k->trace;
    pk_snap_u64(w, tr->max);
    pk_snap_u64(w, tr->n);
    pk_snap_u64(w, tr->dropped);
    pk_snap_tref(w, tr->cur);
    for (uint64_t i = 0; i < tr->n; i += PK_TRACE_CHUNK) {
        uint64_t m = tr->n - i < PK_TRACE_CHUNK ? tr->n - i : PK_TRACE_CHUNK;
        pk_snap_put(w, tr->chunks[i >> PK_TRACE_CHUNK_SHIFT], m * sizeof(pk_trace_event));
    }
}

/* Tracing is enabled again with the same bound and the events kept are
 * read back into chunks allocated as recording allocated them. */
int pk_trace_snap_load(pk_kernel *k, pk_snap_r *r) {
    uint64_t max = pk_snap_get_u64(r), n = pk_snap_get_u64(r), dropped = pk_snap_get_u64(r);
    const pk_thread *cur = pk_snap_get_tref(k, r);
    if (r->err || n > max || !pk_snap_count_ok(r, n, sizeof(pk_trace_event))) {
        pk_snap_bad(r);
        return r->err;
    }
    uint32_t procs = k->procs.count;
    k->procs.count = 0;                        /* pk_trace_enable wants no spawn yet */
    int s = pk_trace_enable(k, max);
    k->procs.count = procs;
    if (s) return s == PK_ERR_INVALID_ARGS ? (pk_snap_bad(r), r->err) : s;
    pk_trace *tr = k->trace;
    while (tr->cap < n)
        if (!trace_grow(k, tr)) return PK_ERR_NO_MEMORY;
    for (uint64_t i = 0; i < n && !r->err; i += PK_TRACE_CHUNK) {
        uint64_t m = n - i < PK_TRACE_CHUNK ? n - i : PK_TRACE_CHUNK;
        pk_snap_get(r, tr->chunks[i >> PK_TRACE_CHUNK_SHIFT], m * sizeof(pk_trace_event));
    }
    tr->n = r->err ? 0 : n;
    tr->dropped = dropped;
    tr->cur = cur;
    return r->err;
}

/* A populating map failed and gave its pages back (pk_aspace.c): forget
 * the minor faults at [va, end) recorded from event `from` on, keeping
 * every other event in order. */
void pk_trace_forget_faults(pk_kernel *k, uint64_t from, uint64_t va, uint64_t end) {
    pk_trace *tr = k->trace;
    uint64_t j = from;
    for (uint64_t i = from; i < tr->n; i++) {
        pk_trace_event e = tr->chunks[i >> PK_TRACE_CHUNK_SHIFT][i & (PK_TRACE_CHUNK - 1)];
        if (e.kind == PK_TR_FAULT && e.sub == PK_TR_MINOR && e.arg >= va && e.arg < end) continue;
        tr->chunks[j >> PK_TRACE_CHUNK_SHIFT][j & (PK_TRACE_CHUNK - 1)] = e;
        j++;
    }
    tr->n = j;
}
