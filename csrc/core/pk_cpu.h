/* pk_cpu.h - simulated CPUs: the live register file, the context switch,
 * and the tree that finds the CPU whose timer fires next.
 *
 * A CPU is in one of three states:
 *   idle       curr == NULL; timer = PK_FOREVER unless it was kicked
 *   switching  curr != NULL and now < seg_start: the switch cost is being
 *              paid (charged to `overhead`, not to any thread)
 *   running    curr != NULL and now >= seg_start: curr's body executes;
 *              time from seg_start on is curr's CPU time and `busy`
 * `timer` is the next instant the dispatcher must look at this CPU: the
 * end of the current operation, the end of the time slice, or now when a
 * reschedule was requested. */
#ifndef PK_CPU_H
#define PK_CPU_H

typedef struct pk_cpu {
    pk_regs   regs;             /* live register file of curr            */
    pk_thread *curr;            /* running (or switching-in) thread      */
    pk_time   timer;            /* next instant this CPU needs attention */
    pk_time   seg_start;        /* curr started (or resumes) running     */
    pk_time   slice_start;      /* curr's time slice began               */
    pk_time   slice_end;        /* curr's time slice ends                */
    pk_time   idle_since;
    uint64_t  busy, idle, overhead, switches;
    uint64_t  migrations_in;       /* threads moved to this CPU's queue */
    uint32_t  id;
    uint32_t  resched;          /* a reschedule was requested            */
} pk_cpu;

/* A winner tree over the CPUs keyed by (timer, id): node 1 is the root,
 * leaves are nodes size .. 2*size-1; each node holds the CPU index of
 * the earlier of its children.  Update is O(log ncpus), min is O(1). */
typedef struct pk_cputree {
    uint16_t *node;
    uint32_t size;              /* a power of two >= ncpus               */
} pk_cputree;

struct pk_kernel;
int  pk_cputree_init(struct pk_kernel *k, pk_cputree *t, uint32_t ncpus);
void pk_cputree_fini(struct pk_kernel *k, pk_cputree *t);
void pk_cputree_update(struct pk_kernel *k, uint32_t cpu);

/* pk_cputree_min(k) and pk_cpu_set_timer(k, c, when) are defined in
 * pk_core.h once struct pk_kernel is complete. */

/* Save the live registers of c into t (t leaves the CPU). */
static inline void pk_cpu_save(pk_cpu *c, pk_thread *t) { t->regs = c->regs; }
/* Load t's registers into c (t is about to run on c). */
static inline void pk_cpu_load(pk_cpu *c, pk_thread *t) { c->regs = t->regs; }
#endif
