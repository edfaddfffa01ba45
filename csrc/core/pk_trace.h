/* pk_trace.h - the trace buffer (pk_trace.c): typed events recorded by
 * the dispatcher and the subsystems, kept in a bounded buffer.
 *
 * Every recording site is one PK_TRACE(...) line: a predicted-not-taken
 * test of k->trace, so a kernel without tracing pays one load and branch
 * per site and calls nothing. */
#ifndef PK_TRACE_H
#define PK_TRACE_H

#define PK_TRACE_CHUNK_SHIFT 16     /* 65,536 events (1.5 MB) per chunk */
#define PK_TRACE_CHUNK (1u << PK_TRACE_CHUNK_SHIFT)

typedef struct pk_trace {
    pk_trace_event **chunks;      /* n events in chunks of PK_TRACE_CHUNK */
    uint64_t nchunks, chunks_cap; /* chunks allocated, room for pointers   */
    uint64_t n, cap, max;         /* events kept, room, bound              */
    uint64_t dropped;             /* events not kept: the buffer was full */
    const pk_thread *cur;         /* thread whose operation runs now (IPC, faults):
                                     set by the interpreter before an object or
                                     memory instruction, and at the end of each
                                     run to the host thread waiting for its
                                     next operation (its ctx calls come next) */
} pk_trace;

/* Append one event at k->now (dropped and counted if the buffer is full). */
void pk_trace_rec(pk_kernel *k, unsigned kind, unsigned sub, uint32_t tid, uint32_t cpu,
                  uint64_t arg);
/* An event of the thread whose operation is running (pk_trace.cur), else
 * of no thread (PK_TR_NO_TID). */
void pk_trace_op(pk_kernel *k, unsigned kind, unsigned sub, uint64_t arg);
/* Forget the minor faults at [va, end) recorded since event `from`. */
void pk_trace_forget_faults(pk_kernel *k, uint64_t from, uint64_t va, uint64_t end);
/* Free the buffer (pk_kernel_destroy). */
void pk_trace_fini(pk_kernel *k);

#define PK_TRACE(k, ...) do { if (PK_UNLIKELY((k)->trace)) pk_trace_rec((k), __VA_ARGS__); } while (0)
#define PK_TRACE_CUR(k, t) do { if (PK_UNLIKELY((k)->trace)) (k)->trace->cur = (t); } while (0)
#define PK_TRACE_OP(k, ...) do { if (PK_UNLIKELY((k)->trace)) pk_trace_op((k), __VA_ARGS__); } while (0)

#endif
