/* pk_snap.h - snapshot streams: the byte writer and reader every part of
 * the core uses to save its state into a snapshot and load it back
 * (docs/snapshot.md).
 *
 * A snapshot is a header followed by tagged sections; each subsystem owns
 * its sections and writes them with the primitives below:
 *
 *     int pk_X_snap_save(pk_kernel *k, pk_snap_w *w);   -- 0 or a PK_ERR_* status
 *     int pk_X_snap_load(pk_kernel *k, pk_snap_r *r);   -- 0 or a PK_ERR_* status
 *
 * Values are written little-endian at fixed widths, so a snapshot does not
 * depend on the host's struct layout or padding.  Pointers are never
 * written: a thread is written as its tid, an object as its id.
 *
 * Errors are sticky: the first failure (out of memory while writing, a
 * short or malformed stream while reading) is kept in w->err / r->err,
 * later calls do nothing (reads return 0), and the caller checks once at
 * the end.  A loader must validate every value it reads before using it
 * as an index or a size (pk_snap_bad() marks the stream malformed): a
 * snapshot that passes its checksum may still have been crafted. */
#ifndef PK_SNAP_H
#define PK_SNAP_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

struct pk_kernel;

typedef struct pk_snap_w {
    uint8_t *buf;
    size_t   len, cap;
    int      err;                 /* 0, or PK_ERR_NO_MEMORY */
} pk_snap_w;

typedef struct pk_snap_r {
    const uint8_t *buf;
    size_t   len, off;
    int      err;                 /* 0, or PK_ERR_INVALID_ARGS: short or malformed */
} pk_snap_r;

/* writer (pk_snap_io.c); the buffer is malloc'd, not charged to a kernel */
int  pk_snap_w_init(pk_snap_w *w, size_t hint);
void pk_snap_w_free(pk_snap_w *w);
int  pk_snap_w_reserve(pk_snap_w *w, size_t more);   /* 0, or sets err */
void pk_snap_put(pk_snap_w *w, const void *p, size_t n);

static inline void pk_snap_u8(pk_snap_w *w, uint8_t v) { pk_snap_put(w, &v, 1); }
static inline void pk_snap_u16(pk_snap_w *w, uint16_t v) {
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    pk_snap_put(w, b, 2);
}
static inline void pk_snap_u32(pk_snap_w *w, uint32_t v) {
    uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    pk_snap_put(w, b, 4);
}
static inline void pk_snap_u64(pk_snap_w *w, uint64_t v) {
    pk_snap_u32(w, (uint32_t)v);
    pk_snap_u32(w, (uint32_t)(v >> 32));
}
/* n 64-bit values (arrays of counters, register files) */
void pk_snap_u64s(pk_snap_w *w, const uint64_t *v, size_t n);

/* reader */
void pk_snap_r_init(pk_snap_r *r, const void *buf, size_t len);
void pk_snap_get(pk_snap_r *r, void *p, size_t n);   /* zero-fills on error */
uint8_t  pk_snap_get_u8(pk_snap_r *r);
uint16_t pk_snap_get_u16(pk_snap_r *r);
uint32_t pk_snap_get_u32(pk_snap_r *r);
uint64_t pk_snap_get_u64(pk_snap_r *r);
void pk_snap_get_u64s(pk_snap_r *r, uint64_t *v, size_t n);
/* bytes left to read */
static inline size_t pk_snap_left(const pk_snap_r *r) { return r->err ? 0 : r->len - r->off; }
/* a count of items of at least `min_item` bytes each that claims more
 * than the stream can hold is malformed: check before allocating */
int  pk_snap_count_ok(pk_snap_r *r, uint64_t count, size_t min_item);
void pk_snap_bad(pk_snap_r *r);               /* mark the stream malformed */

/* 64-bit checksum of a byte range (used for the snapshot trailer) */
uint64_t pk_snap_checksum(const void *buf, size_t len);

/* ---- threads by reference (pk_snap_core.c; heaps: pk_sched_snap.c) ---------
 * A pointer to a thread is written as its tid + 1 (0: NULL).  The reader
 * checks the tid against the threads loaded so far. */
struct pk_thread;
struct pk_heap;
struct pk_rq;
void pk_snap_tref(pk_snap_w *w, const struct pk_thread *t);
struct pk_thread *pk_snap_get_tref(struct pk_kernel *k, pk_snap_r *r);
/* a pk_heap of threads (pk_heap.h): entries in array order, so the heap's
 * shape and tie order come back exactly; the loader checks that each
 * thread's heap position matches its slot */
void pk_snap_heap_save(pk_snap_w *w, const struct pk_heap *h);
int  pk_snap_heap_load(struct pk_rq *rq, pk_snap_r *r, struct pk_heap *h);

/* ---- checks of loaded run queues (pk_sched_snap.c) -------------------------
 * A run queue's structures must hold exactly its ready threads: a policy's
 * snap_load checks each thread it finds with pk_snap_queued (ready, of the
 * fair class or, with rt, a real-time one, queued in rq) and that it found
 * rq->nr - rq->rt.nr of them.  pk_snap_list walks a list linked through the
 * thread pointers at byte offsets next_off / prev_off of pk_sched_data,
 * checking each thread, each back link and the tail; it returns how many
 * it holds, or UINT64_MAX if it is malformed or longer than max.  The
 * SCHD loader (pk_sched_snap.c) checks that the run queues hold every
 * ready thread. */
struct pk_rq;
int pk_snap_queued(const struct pk_rq *rq, const struct pk_thread *t, int rt);
/* While a snapshot loads, t->pad0 says which 8-byte words of t's policy
 * data (bit i: word i) were written as thread references; a word that a
 * structure follows as a thread pointer must be one of them or NULL
 * before it is followed.  off: byte offset in pk_sched_data. */
int pk_snap_is_link(const struct pk_thread *t, size_t off);
uint64_t pk_snap_list(const struct pk_rq *rq, struct pk_thread *head, struct pk_thread *tail,
                      size_t next_off, size_t prev_off, uint64_t max, int rt);

/* ---- sections of other parts (rows of pk_snap_sections[], pk_snap_sect.h) --
 * Each loader runs on the fresh kernel after the core has recreated the
 * threads and processes and before run queues and events are rebuilt.
 * pk_mem_snap_load is called with k->mem NULL (it configures memory from
 * what it saved), pk_obj_snap_load with k->objs NULL.  The object
 * section is always there (pk_obj_snap.c: it says whether k->objs exists,
 * and its loader checks every thread's wait register); the memory section
 * is pk_vm_snap.c's.  Without a section, the core refuses any reference
 * to it (a process's address space, a program with memory instructions);
 * with one, its loader checks those references: pk_proc.as, pk_proc ext,
 * x[PK_REG_WAIT] of every live thread and of every CPU's live registers. */
int pk_mem_snap_save(struct pk_kernel *k, pk_snap_w *w);
int pk_mem_snap_load(struct pk_kernel *k, pk_snap_r *r);
int pk_obj_snap_save(struct pk_kernel *k, pk_snap_w *w);
int pk_obj_snap_load(struct pk_kernel *k, pk_snap_r *r);
/* machine code (pk_rv_snap.c): everything under k->rv.  The loader runs
 * after CORE and before MEM (`mem`: that section follows); pk_mem_verify
 * then checks the images' frames.  Events of kind PK_EV_RV_TIMEOUT are
 * checked with pk_rv_snap_event_ok, and their number, once all are
 * loaded, with pk_rv_snap_events_loaded (which also refuses images
 * holding frames or processes when there turned out to be no memory). */
#include <stdbool.h>
int  pk_rv_snap_save(struct pk_kernel *k, pk_snap_w *w);
int  pk_rv_snap_load(struct pk_kernel *k, pk_snap_r *r, bool mem);
bool pk_rv_snap_event_ok(struct pk_kernel *k, uint64_t arg);
bool pk_rv_snap_events_loaded(struct pk_kernel *k);
bool pk_rv_snap_itimer_ok(struct pk_kernel *k, uint64_t arg);
bool pk_rv_snap_wake_ok(struct pk_kernel *k, uint64_t arg);
/* the trace buffer (pk_trace.c) and the job log (pk_periodic.c) */
void pk_trace_snap_save(struct pk_kernel *k, pk_snap_w *w);
int  pk_trace_snap_load(struct pk_kernel *k, pk_snap_r *r);
void pk_joblog_snap_save(struct pk_kernel *k, pk_snap_w *w);
int  pk_joblog_snap_load(struct pk_kernel *k, pk_snap_r *r);

#endif
