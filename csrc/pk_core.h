/* pk_core.h - internal definitions shared by the C files of the core.
 *
 * Ownership: one pk_kernel owns everything below it.  Threads and
 * processes live in chunked arenas (pk_arena.h) so their addresses never
 * move and an id names the same object for the kernel's whole life.
 */
#ifndef PK_CORE_H
#define PK_CORE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "pk_api.h"

typedef uint64_t pk_time;

/* PK_HOT_CLONES: compile a hot function for several instruction-set
 * levels and pick one when the library loads (GCC/Clang function
 * multiversioning, via ifunc on Linux/x86-64).  The context switch copies
 * 272-byte register files; with AVX-512 or AVX2 that takes a quarter of
 * the instructions SSE2 needs.  Elsewhere it expands to nothing. */
#if defined(__x86_64__) && defined(__linux__) && (defined(__GNUC__) || defined(__clang__)) \
    && !defined(PK_NO_CLONES)
#define PK_HOT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PK_HOT_CLONES
#endif

#define PK_ALWAYS_INLINE inline __attribute__((always_inline))
#define PK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PK_LIKELY(x)   __builtin_expect(!!(x), 1)

struct pk_kernel;
struct pk_cpu;
struct pk_rq;

/* ---- thread control block ------------------------------------------------
 * Fields are grouped by who may touch them.  The register context comes
 * first; the context switch (pk_cpu.c) copies it to and from the CPU. */
typedef struct pk_thread {
    pk_regs regs;                 /*   0: saved register context (272 B) */

    /* identity (set at spawn, never changes) */
    uint32_t tid, pid;            /* 272 */
    uint32_t prog;                /* 280 */
    uint8_t  kind;                /* 284: PK_BODY_*                     */
    uint8_t  state;               /* 285: PK_TS_*                       */
    int16_t  cpu;                 /* 286: CPU it runs on, or -1          */

    /* run-queue fields: owned by the scheduling policy */
    struct pk_thread *rq_next;    /* 288: list policies                  */
    struct pk_thread *rq_prev;    /* 296                                 */
    uint32_t rq_pos;              /* 304: heap policies: index in heap   */
    int32_t  priority;            /* 308                                 */
    int32_t  nice;                /* 312                                 */
    uint32_t pad0;                /* 316                                 */
    uint64_t burst;               /* 320: declared CPU burst or NO_BURST */

    /* accounting: owned by the dispatcher */
    pk_time  arrival;             /* 328 */
    pk_time  first_run;           /* 336 */
    pk_time  finish;              /* 344 */
    pk_time  since;               /* 352: entered its current state      */
    uint64_t cpu_time;            /* 360 */
    uint64_t wait;                /* 368 */
    uint64_t blocked;             /* 376 */
    uint64_t nvcsw, nivcsw;       /* 384, 392 */
} pk_thread;                      /* 400 bytes */

/* ---- process -------------------------------------------------------------
 * A process owns its threads (ids first_tid .. first_tid+nthreads-1). */
typedef struct pk_proc {
    uint32_t pid, prog;
    uint32_t first_tid, nthreads;
    uint32_t live_threads;
    uint8_t  state;               /* PK_PS_* */
    uint8_t  pad[3];
    int32_t  exit_code;
    uint32_t kill_reason;
    pk_time  arrival, finish;
} pk_proc;

/* ---- programs ------------------------------------------------------------ */
typedef struct pk_prog {
    uint32_t kind;                /* PK_BODY_* */
    uint32_t nops;
    pk_op   *ops;                 /* script instructions (kind SCRIPT)   */
    uint64_t burst;               /* total compute, or PK_NO_BURST       */
} pk_prog;

/* ---- what a thread body asks for when it cannot continue at once ------- */
enum pk_action {
    PK_ACT_RUN,        /* compute: x[REM] ns of CPU time                  */
    PK_ACT_BLOCK,      /* io: blocked for *arg ns                         */
    PK_ACT_SLEEP,      /* sleep for *arg ns                               */
    PK_ACT_YIELD,      /* give the CPU to another ready thread            */
    PK_ACT_EXIT,       /* exit the process with code *arg                 */
    PK_ACT_KILL,       /* killed, *arg = PK_KILL_* reason                 */
    PK_ACT_HOST,       /* needs the host to supply its next operation     */
    PK_ACT_AGAIN,      /* instruction budget spent at this instant        */
};

/* A thread body kind: how a thread of that kind advances.  advance() runs
 * the thread's zero-time instructions on the CPU's live registers until
 * one that takes time or leaves the CPU, and says which (pk_action). */
typedef struct pk_body_ops {
    int (*advance)(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint64_t *arg);
} pk_body_ops;

extern const pk_body_ops pk_script_body;
extern const pk_body_ops pk_host_body;

#include "pk_arena.h"
#include "pk_event.h"
#include "pk_rng.h"
#include "pk_sched.h"
#include "pk_cpu.h"

/* ---- the kernel ---------------------------------------------------------- */
struct pk_kernel {
    pk_config cfg;
    pk_time   now;

    pk_cpu   *cpus;
    uint32_t  ncpus;
    pk_cputree tree;              /* CPUs ordered by their next timer     */
    uint64_t  idle_mask[PK_MAX_CPUS / 64]; /* idle and not yet kicked      */

    pk_rq     rq;                 /* the run queue (policy state)         */
    pk_evq    evq;                /* discrete events                      */
    pk_rng    rng;

    pk_arena  threads;            /* of pk_thread                          */
    pk_arena  procs;              /* of pk_proc                            */
    pk_prog  *progs;
    uint32_t  nprogs, progs_cap;

    /* counters */
    uint64_t  context_switches;
    uint64_t  steps, events;
    uint64_t  live_threads;
    uint64_t  digest;

    /* a host thread waiting for its next operation (at most one) */
    pk_thread *host_wait;
    pk_cpu    *host_cpu;

    /* livelock detection */
    pk_time   same_time;
    uint64_t  same_steps;

    int       broken;             /* an internal invariant failed         */
};

/* memory accounting: every allocation of the core goes through these */
void *pk_alloc(pk_kernel *k, size_t n);
void *pk_realloc(pk_kernel *k, void *p, size_t old_n, size_t new_n);
void  pk_free(pk_kernel *k, void *p, size_t n);
extern uint64_t pk_mem_bytes_of(const pk_kernel *k);

static inline pk_thread *pk_thread_at(pk_kernel *k, uint32_t tid) {
    return (pk_thread *)pk_arena_at(&k->threads, tid);
}
static inline pk_proc *pk_proc_at(pk_kernel *k, uint32_t pid) {
    return (pk_proc *)pk_arena_at(&k->procs, pid);
}

/* digest of the event sequence: one 64-bit mix per recorded fact */
static inline void pk_digest(pk_kernel *k, uint64_t a, uint64_t b) {
    uint64_t h = k->digest ^ (a * 0x9e3779b97f4a7c15ull) ^ (b + 0x632be59bd9b4e019ull);
    h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 32;
    k->digest = h;
}

/* dispatcher services used by bodies and event handlers (pk_dispatch.c) */
void pk_thread_make_ready(pk_kernel *k, pk_thread *t, unsigned why);
void pk_thread_exit(pk_kernel *k, pk_thread *t, int32_t code, uint32_t kill_reason);

/* ---- CPU timers (pk_cpu.h) ------------------------------------------------ */
static inline pk_cpu *pk_cputree_min(pk_kernel *k) {
    return &k->cpus[k->tree.node[1]];
}
static inline void pk_cpu_set_timer(pk_kernel *k, pk_cpu *c, pk_time when) {
    c->timer = when;
    if (k->tree.size > 1) pk_cputree_update(k, c->id);
}

/* event kinds and their handlers (pk_dispatch.c registers them) */
#define PK_EV_ARRIVAL 1
#define PK_EV_WAKE    2
#define PK_EV_KINDS   3

#endif
