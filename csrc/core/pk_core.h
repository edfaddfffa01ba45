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
 * 272-byte register files; with AVX2 that is 9 vector loads and stores
 * instead of SSE2's 17 -- provided the compiler emits vector moves at
 * all: GCC's generic tuning turns such copies into `rep movsq` in every
 * clone, so csrc/build_core.py asks it for vector loops
 * (-mmemcpy-strategy).  Elsewhere it expands to nothing. */
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

/* ---- per-thread state owned by its scheduling policy -----------------------
 * One member at a time: the policy (or the real-time class) that holds the
 * thread initialises its member when the thread enters it (PK_ENQ_NEW,
 * PK_ENQ_MIGRATE or PK_ENQ_CHANGE) and may keep it while the thread runs
 * or sleeps.  56 bytes. */
typedef union pk_sched_data {
    struct { struct pk_thread *next, *prev; } list;          /* FIFO, RR, RT, Priority */
    struct { struct pk_thread *next, *prev;                 /* the real-time class: list */
             uint64_t pad[4], left; } rt;                   /* + SCHED_RR quantum left */
    struct { uint32_t pos; } heap;       /* pk_heap.h; members using it start with pos */
    struct { uint32_t pos, weight; uint64_t vruntime;     /* CFS (pk_sched_cfs.c) */
             uint32_t rem; uint16_t home; uint8_t flags, where;
             struct pk_thread *next, *prev; uint64_t seq, slice; } cfs;
    struct { struct pk_thread *left, *right;              /* EEVDF (pk_sched_eevdf.c) */
             union { struct pk_thread *best; int64_t vlag; };   /* queued: best; else lag */
             uint64_t vruntime, deadline, seq;
             uint32_t weight, rem; } eevdf;
    struct { struct pk_thread *next, *prev;  /* MLFQ (pk_sched_mlfq.c): its level's list */
             uint64_t used, epoch, slice, ran; uint32_t level, flags; } mlfq;
    struct { uint32_t pos, slot;           /* Lottery (slot), Stride (pos, pk_heap.h)  */
             uint64_t pass, stride, rem; uint32_t home; } share;
    struct { uint32_t pos, pad; uint64_t stamp, release; } job;    /* EDF, RM */
    struct { uint32_t queued; } host;    /* written in Python: 1 while queued */
    uint64_t raw[7];
} pk_sched_data;
_Static_assert(sizeof(pk_sched_data) == 56, "pk_sched_data must stay 56 bytes");

/* ---- thread control block ------------------------------------------------
 * 448 bytes, seven cache lines (arena chunks start on a line), laid out
 * by how often they are touched.  Lines 0-4: the register context (272
 * bytes, copied to and from the CPU at every switch) and, in the rest of
 * line 4, every other field a context switch reads or writes.  Line 5:
 * the policy's data (a round robin's list links first).  Line 6 and the
 * rest of line 5: what only arrivals, blocking, exits, queries and policy
 * changes touch.  Wait time is not stored: it is the rest of the thread's
 * lifetime (pk_thread_wait).  Snapshots write the control block field by
 * field in the layout of format version 1 (pk_snap_core.c), so this
 * order is free to change. */
typedef struct pk_thread {
    pk_regs regs;                 /*   0: saved register context (272 B) */

    /* hot: touched by every context switch */
    uint32_t tid;                 /* 272: set at spawn, never changes    */
    uint8_t  state;               /* 276: PK_TS_*                       */
    uint8_t  kind;                /* 277: PK_BODY_* (set at spawn)      */
    int16_t  cpu;                 /* 278: CPU it runs on, or -1          */
    uint8_t  sclass;              /* 280: PK_CLASS_*                     */
    uint8_t  tflags;              /* 281: PK_TF_*                        */
    uint16_t rq_cpu;              /* 282: run queue holding it, or last  */
    uint32_t prog;                /* 284: its program                    */
    pk_time  since;               /* 288: entered its current state      */
    uint64_t cpu_time;            /* 296 */
    uint64_t nivcsw;              /* 304: involuntary switches           */
    pk_time  first_run;           /* 312 */
    pk_sched_data s;              /* 320: owned by its policy (56 B)     */

    /* cold: identity and scheduling parameters (dispatcher, pk_sched.c) */
    uint32_t pid;                 /* 376 */
    uint8_t  rt_prio;             /* 380: 1..99 for the real-time class   */
    int8_t   nice;                /* 381: -20..19                        */
    uint16_t pad0;                /* 382: 0 (while a snapshot loads: which
                                     words of s hold thread references,
                                     pk_snap_core.c)                    */
    uint32_t affinity;            /* 384: CPU mask id (0: every CPU)     */
    int32_t  priority;            /* 388: static priority                */
    uint64_t burst;               /* 392: declared CPU burst or NO_BURST */
    uint32_t tickets;             /* 400: share of Lottery / Stride      */
    uint32_t migrations;          /* 404: times moved between run queues */

    /* cold: accounting the dispatcher owns */
    pk_time  arrival;             /* 408 */
    pk_time  finish;              /* 416 */
    uint64_t blocked;             /* 424 */
    uint64_t nvcsw;               /* 432: voluntary switches             */
    uint64_t spare;               /* 440: 0; keeps the block at 7 lines  */
} pk_thread;                      /* 448 bytes */
_Static_assert(sizeof(pk_thread) == 448, "pk_thread: seven cache lines");
_Static_assert(offsetof(pk_thread, s) + 16 <= 384 && offsetof(pk_thread, first_run) + 8 <= 320,
               "pk_thread: the hot fields in lines 4 and 5");

#define PK_TF_WOKEN    1          /* ready after io/sleep: latency counts */
#define PK_TF_MIGRATED 2          /* next switch-in pays Costs.migrate    */
#define PK_TF_NEWCLASS 4          /* next enqueue enters its class afresh */

/* ---- process -------------------------------------------------------------
 * A process owns its threads (ids first_tid .. first_tid+nthreads-1); its
 * pid is its index, its arrival its first thread's, its finish its last
 * thread's.  32 bytes: its links in the process tree are kept apart
 * (pk_ptlink), since most spawned processes never have any. */
typedef struct pk_proc {
    uint32_t prog;
    uint32_t first_tid, nthreads;
    uint32_t live_threads;
    uint8_t  state;               /* PK_PS_* */
    uint8_t  ext[3];              /* kernel-object record id, 24 bits little-endian
                                     (pk_obj.h; pk_proc_ext), 0: none     */
    int32_t  exit_code;
    uint32_t as;                  /* address space id (pk_vm.h); 0: none */
    uint8_t  kill_reason;         /* PK_KILL_* (at most PK_KILL_LAST)     */
    uint8_t  tree;                /* PK_PT_ALIVE (also while NEW), ZOMBIE, REAPED */
    uint8_t  tflags;              /* PK_PTF_*                               */
    uint8_t  termsig;             /* the signal that ended it, 0: none recorded */
} pk_proc;                        /* 32 bytes */
_Static_assert(sizeof(pk_proc) == 32, "pk_proc must stay 32 bytes");
_Static_assert(PK_KILL_LAST < 256, "pk_proc.kill_reason is a byte");

/* A process's links in the process tree (pk_proctree.c); links are pids
 * + 1, 0: none.  Children form a doubly linked list in the order they
 * joined the parent (fork order, then adoption order), so a child leaves
 * its parent in O(1).  Kept in chunks of PK_CHUNK records by pid that are
 * allocated when a process of the chunk first joins a parent (pk_ptl_need):
 * a chunk not allocated reads as all zeros (no parent, no children), so a
 * million processes spawned without parents hold none. */
typedef struct pk_ptlink {
    uint32_t parent;
    uint32_t first_child, last_child;
    uint32_t next_sib, prev_sib;
    uint32_t nchildren;
    uint32_t sigchld;             /* SIGCHLD sent to it, counted (a machine-code
                                     parent also gets it as a signal, pk_rv_sig.c) */
    uint32_t pad;                 /* 0 */
} pk_ptlink;                      /* 32 bytes */

#define PK_PTF_SUBREAPER 1        /* prctl(PR_SET_CHILD_SUBREAPER) / p.subreaper */

/* the process tree (pk_proctree.c) */
struct pk_kernel;
int  pk_ptree_link(struct pk_kernel *k, uint32_t child, uint32_t parent);   /* PK_ERR_NO_MEMORY */
void pk_ptree_exit(struct pk_kernel *k, uint32_t pid);   /* p ended (its last thread) */
void pk_ptree_reap(struct pk_kernel *k, uint32_t pid);   /* a zombie is waited for */
int32_t pk_ptree_wstatus(const pk_proc *p);              /* Linux wait status of an ended p */

/* process-lifecycle hooks (pk_hooks.c): one table, walked in order by
 * fork (until a .fork fails: its status), execve and a process's end */
typedef struct pk_proc_hook {
    int  (*fork)(struct pk_kernel *k, uint32_t parent, uint32_t child);
    void (*exec)(struct pk_kernel *k, uint32_t pid);
    void (*exit)(struct pk_kernel *k, uint32_t pid);
} pk_proc_hook;
int  pk_proc_hooks_fork(struct pk_kernel *k, uint32_t parent, uint32_t child);
void pk_proc_hooks_exec(struct pk_kernel *k, uint32_t pid);
void pk_proc_hooks_exit(struct pk_kernel *k, uint32_t pid);
/* a wait through a handle by process `waiter` saw object obj's signals */
void pk_ptree_handle_waited(struct pk_kernel *k, uint32_t waiter, uint32_t obj);
/* count records whose links disagree, and parent chains that do not end */
void pk_ptree_check(struct pk_kernel *k, uint64_t *bad, uint64_t *cycles);

/* the id of p's kernel-object record (0: none), kept in 3 spare bytes */
static inline uint32_t pk_proc_ext(const pk_proc *p) {
    return p->ext[0] | (uint32_t)p->ext[1] << 8 | (uint32_t)p->ext[2] << 16;
}
static inline void pk_proc_set_ext(pk_proc *p, uint32_t id) {
    p->ext[0] = (uint8_t)id; p->ext[1] = (uint8_t)(id >> 8); p->ext[2] = (uint8_t)(id >> 16);
}
#define PK_PROC_EXT_MAX 0xffffffu

/* ---- programs ------------------------------------------------------------ */
typedef struct pk_task {          /* a periodic task's declaration (PK_OP_TASK) */
    uint64_t period;              /* 0: the program is not a periodic task */
    uint64_t deadline, phase, jobs;
} pk_task;

typedef struct pk_prog {
    uint32_t kind;                /* PK_BODY_* */
    uint32_t nops;
    pk_op   *ops;                 /* script instructions (kind SCRIPT)   */
    uint64_t burst;               /* total compute, or PK_NO_BURST       */
    pk_task  task;
    uint32_t vm;                  /* it has memory ops: needs k->mem     */
    uint32_t image;               /* kind RV: its ELF image (pk_rv.h)    */
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
    PK_ACT_WAIT,       /* wait for kernel-object signals (pk_wait.c)      */
    PK_ACT_THREAD_EXIT,/* end this thread only, code *arg (pk_thread.c)   */
};

/* A thread body kind: how a thread of that kind advances.  advance() runs
 * the thread's zero-time instructions on the CPU's live registers until
 * one that takes time or leaves the CPU, and says which (pk_action).
 * flags: what the kind's register file means to the rest of the core. */
typedef struct pk_body_ops {
    int (*advance)(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint64_t *arg);
    uint32_t flags;
    /* a kind whose operations come from the host: validate operation op
     * (arguments b, a as in a script instruction) for thread t, waiting
     * on CPU c for its next one, and store it for advance(); a status */
    int (*deliver)(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint32_t op,
                   uint64_t b, uint64_t a);
} pk_body_ops;

/* x[PK_REG_WAIT] is the thread's wait record + 1 (pk_wait.c).  A kind
 * without it uses x15 for its own purposes (machine code: register a5). */
#define PK_BODY_F_WAIT_REG 1u

#define PK_BODY_KINDS 3
extern const pk_body_ops pk_script_body;
extern const pk_body_ops pk_host_body;
extern const pk_body_ops pk_rv_body;      /* RISC-V machine code (pk_rv_exec.c) */
/* the body kinds, indexed by PK_BODY_* (pk_dispatch.c); t->kind is set
 * from a loaded program's kind and checked on restore, always one of them */
extern const pk_body_ops *const pk_bodies[PK_BODY_KINDS];

/* Does t keep a wait record in x[PK_REG_WAIT]? */
static inline bool pk_thread_has_wait_reg(const pk_thread *t) {
    return pk_bodies[t->kind]->flags & PK_BODY_F_WAIT_REG;
}

#include "pk_snap.h"
#include "pk_arena.h"
#include "pk_event.h"
#include "pk_rng.h"
#include "pk_sched.h"
#include "pk_cpu.h"
#include "pk_periodic.h"
#include "pk_vm.h"

/* ---- the kernel ---------------------------------------------------------- */
typedef struct pk_mask { uint64_t bits[PK_MAX_CPUS / 64]; } pk_mask;

struct pk_kernel {
    pk_config cfg;
    pk_time   now;

    pk_cpu   *cpus;
    uint32_t  ncpus;
    pk_cputree tree;              /* CPUs ordered by their next timer     */
    uint64_t  idle_mask[PK_MAX_CPUS / 64]; /* idle and not yet kicked      */

    pk_rq    *rqs;                /* one per CPU, or one shared           */
    uint32_t  nrqs;
    uint32_t  shared;             /* 1: every CPU uses rqs[0]             */
    pk_evq    evq;                /* discrete events                      */
    pk_rng    rng;

    pk_arena  threads;            /* of pk_thread                          */
    pk_arena  procs;              /* of pk_proc                            */
    pk_prog  *progs;
    uint32_t  nprogs, progs_cap;
    pk_mask  *masks;              /* affinity masks; masks[0] = every CPU */
    uint32_t  nmasks, masks_cap;

    /* counters */
    uint64_t  context_switches;
    uint64_t  steps, events;
    uint64_t  live_threads;
    uint64_t  migrations, balance_runs;
    uint64_t  digest;
    pk_latency lat;               /* scheduling latency histogram         */
    pk_joblog jobs;               /* periodic jobs: log and counters       */

    /* periodic work that runs only while it has something to do */
    uint8_t   balance_armed;      /* a PK_EV_BALANCE is queued            */
    uint8_t   rt_period_armed;    /* a PK_EV_RT_PERIOD is queued          */
    uint64_t  rt_period_no;       /* throttling period the usage belongs to */
    uint64_t  rt_live;            /* live threads in a real-time class    */

    /* a host thread waiting for its next operation (at most one) */
    pk_thread *host_wait;
    pk_cpu    *host_cpu;
    /* the host's stepping of Python bodies (csrc/py/pk_upcall.c, the one
     * path from C into Python; NULL: none, every step stops the run):
     * host_step gives host_wait its next operation (PK_OK) or leaves it
     * to the caller of pk_kernel_run; host_leave ends a pk_kernel_run */
    int      (*host_step)(struct pk_kernel *k, pk_thread *t);
    void     (*host_leave)(struct pk_kernel *k);
    struct { void *gens, *sent; uint32_t flags; int held, gil; } host_py;
    /* the hooks of a policy written in Python (csrc/py/pk_policy_upcall.c,
     * set by pk_host_policy_attach; NULL: none attached): host_hook calls
     * hook `hook` of run queue rq's object (pk_sched_host.h); host_run:
     * inside pk_kernel_run, where the interpreter lock, once taken, is
     * kept until host_leave */
    int64_t  (*host_hook)(struct pk_kernel *k, uint32_t rq, uint32_t hook,
                          uint64_t a, uint64_t b);
    struct { void *queues, *failure; } host_pol;
    int       host_run;
    /* the CPU of a host thread just given its next operation: serviced
     * next at this instant, before any other, so that the body's zero-time
     * operations run back to back as a script's do in one advance() */
    pk_cpu    *host_resume;

    /* livelock detection: the instant of the last step, and the host work
     * done at it (PK_WORK_HOST in pk_api.h: 1 per dispatcher step, per
     * instruction a body interprets, ...; the bodies add theirs) */
    pk_time   same_time;
    uint64_t  same_steps;

    pk_mem   *mem;                /* virtual memory (pk_vm.h); NULL: none */
    struct pk_trace *trace;       /* event trace (pk_trace.h); NULL: none */

    int       broken;             /* 0, or the status of a failure (an invariant
                                     or an allocation in a run): runs refuse */
    int       stop_req;           /* 0, or a PK_STOP_* a step asked for (the
                                     loop stops after the step: pk_pager.c) */
    uint32_t  in_hook;            /* a policy hook written in Python is running:
                                     entry points that change the kernel refuse */
    struct pk_objects *objs;      /* kernel objects (pk_obj.h); NULL until used */

    /* resource limits (pk_config.max_*): which refused last, refusals each */
    uint32_t  limit_last;
    uint64_t  limit_hits[PK_LIMITS];
    uint32_t  nomem_why, nomem_job; /* other refusals: PK_NOMEM_*, the job (pk_nomem_why) */
    struct pk_rvstate *rv;        /* RISC-V images and processes (pk_rv.h); NULL until used */
    struct pk_cache *cache;       /* cache affinity model (pk_cache.c); NULL: none */
    uint32_t  xflags;             /* PK_X_*: rarely used paths of the dispatcher */
    uint8_t   steal_armed;        /* a PK_EV_STEAL is queued (derived on restore) */
    uint32_t  livelock_tid;       /* tid + 1 of the thread a LIVELOCK stop blames; 0: none */
    struct pk_fs *fs;             /* the file system (pk_fs.h); NULL until used */
    struct pk_fds *fds;           /* descriptor tables (pk_fd.h); NULL until used */
    uint32_t *heap_pos;           /* by tid: index in the pk_heap holding it (pk_heap.h) */
    uint32_t  heap_pos_cap;
    pk_ptlink **ptl;              /* tree links by pid, chunked; NULL chunk:
                                     zeros (pk_ptl, pk_ptl_need)          */
    uint32_t  ptl_n;              /* chunk pointers allocated in ptl       */
    /* host-I/O records of Python-bodied threads, by tid, made on a
     * thread's first read, wait or socket write (pk_host.c); NULL: none */
    struct pk_hio **hio;
    uint32_t  hio_cap;
    void     *host_makers;        /* pk_host_attach's makers (pk_upcall.c) */
};

#define PK_X_CACHE        1       /* k->cache is set                          */
#define PK_X_SHARED_MASKS 2       /* a shared queue with affinity masks        */
#define PK_X_GLOBAL_TICK  4       /* RoundRobin(aligned) on a shared queue     */

/* set xflags from the kernel's state (after creation, restore, or a change) */
static inline void pk_xflags_update(pk_kernel *k) {
    uint32_t x = 0;
    if (k->cache) x |= PK_X_CACHE;
    if (k->shared && k->nmasks > 1 && k->rqs && k->rqs[0].pol && k->rqs[0].pol->pick_on)
        x |= PK_X_SHARED_MASKS;                 /* policies without pick_on refuse masks */
    if (k->shared && k->cfg.policy == PK_POLICY_RR && (k->cfg.preemptive & 2)) x |= PK_X_GLOBAL_TICK;
    k->xflags = x;
}

static inline pk_rq *pk_cpu_rq(pk_kernel *k, const pk_cpu *c) {
    return k->shared ? k->rqs : &k->rqs[c->id];
}
static inline pk_rq *pk_thread_rq(pk_kernel *k, const pk_thread *t) {
    return k->shared ? k->rqs : &k->rqs[t->rq_cpu];
}

/* t's current registers: the CPU's live file while t is on a CPU (running,
 * switching in, or being put back in the run queue by that CPU), else the
 * context saved in t.  Policies that key on registers read them here. */
static inline const pk_regs *pk_thread_live_regs(const pk_kernel *k, const pk_thread *t) {
    if (t->cpu >= 0 && k->cpus[t->cpu].curr == t) return &k->cpus[t->cpu].regs;
    return &t->regs;
}

/* affinity masks (pk_kernel.c): the id of a mask (restricted to existing
 * CPUs); -1 if it is empty, -2 if memory ran out */
int64_t pk_mask_intern(pk_kernel *k, const uint64_t *mask4);

/* memory accounting: every allocation of the core goes through these */
void *pk_alloc(pk_kernel *k, size_t n);
void *pk_realloc(pk_kernel *k, void *p, size_t old_n, size_t new_n);
void  pk_free(pk_kernel *k, void *p, size_t n);
/* Grow the array *v of elem-byte items (capacity *cap, doubling from 16)
 * to hold at least want items; 0, or -1 if memory ran out (*v unchanged). */
int   pk_vec_grow(pk_kernel *k, void **v, uint32_t *cap, uint32_t want, size_t elem);
extern uint64_t pk_mem_bytes_of(const pk_kernel *k);

/* Record that limit PK_LIMIT_* refused an operation (the caller then
 * fails with NO_MEMORY). */
static inline int pk_limit_hit(pk_kernel *k, uint32_t which) {
    k->limit_last = which;
    k->limit_hits[which]++;
    return PK_ERR_NO_MEMORY;
}
/* Record why a NO_MEMORY that is no pk_config limit's was refused. */
static inline int pk_nomem_note(pk_kernel *k, uint32_t why, uint32_t job) {
    k->nomem_why = why;
    k->nomem_job = job;
    return PK_ERR_NO_MEMORY;
}
/* Would n more pass limit `max` (0: none) with `used` counted now? */
static inline bool pk_limit_over(uint64_t used, uint64_t n, uint64_t max) {
    return max && (n > max || used > max - n);
}

static inline pk_thread *pk_thread_at(pk_kernel *k, uint32_t tid) {
    return (pk_thread *)pk_arena_at(&k->threads, tid);
}
static inline pk_proc *pk_proc_at(pk_kernel *k, uint32_t pid) {
    return (pk_proc *)pk_arena_at(&k->procs, pid);
}
/* The tree links of process pid (pk_ptlink), to read: zeros when its
 * chunk was never needed. */
extern const pk_ptlink pk_ptl_none;
static inline const pk_ptlink *pk_ptl(const pk_kernel *k, uint32_t pid) {
    uint32_t c = pid >> PK_CHUNK_SHIFT;
    return c < k->ptl_n && k->ptl[c] ? &k->ptl[c][pid & (PK_CHUNK - 1)] : &pk_ptl_none;
}
/* ... to write: only for a process whose chunk pk_ptl_need made (every
 * process with a parent or a child has it). */
static inline pk_ptlink *pk_ptl_w(pk_kernel *k, uint32_t pid) {
    return &k->ptl[pid >> PK_CHUNK_SHIFT][pid & (PK_CHUNK - 1)];
}
/* Make the chunk of pid's links (pk_proctree.c); PK_ERR_NO_MEMORY. */
int  pk_ptl_need(pk_kernel *k, uint32_t pid);
void pk_ptl_fini(pk_kernel *k);

/* Time t has spent ready to run, up to the instant its time is accounted
 * to.  Not stored: every instant from its arrival to that instant is CPU
 * time, wait or blocked time, so wait is the rest.  The instant is when
 * it ended (exited), its CPU's seg_start (running: the switch-in cost
 * counts as wait, and CPU time is charged up to seg_start), or when it
 * entered its present state (new, ready, blocked, sleeping, waiting). */
static inline uint64_t pk_thread_wait(const pk_kernel *k, const pk_thread *t) {
    pk_time upto = t->state == PK_TS_RUNNING ? k->cpus[t->cpu].seg_start
                 : t->state == PK_TS_EXITED ? t->finish : t->since;
    return upto - t->arrival - t->cpu_time - t->blocked;
}

/* digest of the event sequence: one 64-bit mix per recorded fact */
static inline void pk_digest(pk_kernel *k, uint64_t a, uint64_t b) {
    uint64_t h = k->digest ^ (a * 0x9e3779b97f4a7c15ull) ^ (b + 0x632be59bd9b4e019ull);
    h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ull; h ^= h >> 32;
    k->digest = h;
}

/* dispatcher services used by bodies, events and policies (pk_dispatch.c) */
void pk_thread_make_ready(pk_kernel *k, pk_thread *t, unsigned why);
void pk_thread_exit(pk_kernel *k, pk_thread *t, int32_t code, uint32_t kill_reason);
void pk_cpu_resched(pk_kernel *k, pk_cpu *c);        /* curr should yield soon */
pk_thread *pk_cpu_evict(pk_kernel *k, pk_cpu *c);    /* curr leaves c now */
void pk_charge_running(pk_kernel *k, pk_thread *t);  /* account t up to now */
/* c's thread goes on: c's timer to the end of its operation or c->slice_end */
void pk_cpu_keep_running(pk_kernel *k, pk_cpu *c);

/* the cache model (pk_cache.c) */
typedef struct pk_cache pk_cache;
void pk_cache_fini(pk_kernel *k);
void pk_cache_dispatch(pk_kernel *k, pk_cpu *c, pk_thread *t);
pk_time pk_cache_time(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t rem);
uint64_t pk_cache_work(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t ran);
uint64_t pk_cache_peek(pk_kernel *k, const pk_cpu *c, const pk_thread *t, uint64_t ran);

/* A thread on a CPU (its live registers r) starts polling for ns of wall
 * time (PK_OP_POLL): it runs until then; switch_to recomputes what is
 * left if it was preempted meanwhile. */
/* give the thread waiting for its next operation operation op (b, a):
 * the body kind's deliver, then it no longer waits (pk_host.c) */
int pk_host_give(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a, uint64_t deadline);
/* the rules of an instruction on a futex (pk_script.c) */
int pk_futex_op_check(const pk_op *op);

static inline void pk_poll_begin(const pk_kernel *k, pk_regs *r, uint64_t ns) {
    r->x[PK_REG_REM] = ns;
    r->x[PK_REG_POLL_END] = k->now + ns;
    r->flags |= PK_RF_POLL;
}
/* a restored kernel's new policy takes over its threads (pk_control.c) */
void pk_policy_takeover(pk_kernel *k, pk_thread **ready, uint64_t n);

/* multi-CPU placement and balancing (pk_balance.c) */
uint32_t pk_select_cpu(pk_kernel *k, pk_thread *t, unsigned why);
void pk_migrate(pk_kernel *k, pk_thread *t, pk_rq *from, pk_rq *to);
pk_thread *pk_idle_steal(pk_kernel *k, pk_cpu *c);
void pk_balance_arm(pk_kernel *k);
void pk_balance_run(pk_kernel *k);
void pk_steal_arm(pk_kernel *k);
/* the real-time throttling period, event kind PK_EV_RT_PERIOD (pk_sched_rt.c) */
void pk_rt_arm(pk_kernel *k);
void pk_rt_period_fire(pk_kernel *k, const pk_event *e);
bool pk_rt_period_stale(pk_kernel *k, const pk_event *e);
void pk_rt_period_dropped(pk_kernel *k);

/* ---- CPU timers (pk_cpu.h) ------------------------------------------------ */
static inline pk_cpu *pk_cputree_min(pk_kernel *k) {
    return &k->cpus[k->tree.node[1]];
}
static inline void pk_cpu_set_timer(pk_kernel *k, pk_cpu *c, pk_time when) {
    c->timer = when;
    if (k->tree.size > 1) pk_cputree_update(k, c->id);
}

/* event kinds and their handlers (pk_dispatch.c registers them) */
#define PK_EV_ARRIVAL   1
#define PK_EV_WAKE      2
#define PK_EV_BALANCE   3
#define PK_EV_RT_PERIOD 4
#define PK_EV_WAIT_DEADLINE 5   /* pk_wait.c: a wait's deadline */
#define PK_EV_RV_TIMEOUT 6      /* pk_rv_sys.c: a timed futex wait of a RISC-V thread */
#define PK_EV_STEAL     7       /* periodic peeking at other queues (cfg.steal_ns) */
#define PK_EV_RV_ITIMER 8       /* pk_rv_sig.c: ITIMER_REAL of a RISC-V process */
#define PK_EV_KINDS     9

#include "pk_obj.h"
#include "pk_trace.h"
#include "pk_rv.h"
#include "pk_fs.h"
#include "pk_fd.h"

/* May a thread of program kind `kind` be made now?  RISC-V threads only
 * by pk_rv_spawn and clone (pk_rv_*.c), which give them side records. */
static inline bool pk_rv_may_make(const pk_kernel *k, uint32_t kind) {
    return kind != PK_BODY_RV || (k->rv && k->rv->making);
}

#endif
