/* pk_thread.c - threads created in a running process (docs/objects.md).
 *
 * A process's first thread comes with it from pk_spawn (pk_proc's
 * first_tid range); threads created later get the next free tids and are
 * listed in the process's extension (pk_pext.xtids), so only processes
 * that create threads pay for the list.  A new thread has the scheduling
 * parameters of the process's first thread and arrives at once (an
 * arrival event now, as a spawn's).  All threads of a process share its
 * handle table, futex words and address space; the process ends with its
 * last thread, and an exit or a kill ends them all. */
#include <string.h>
#include "pk_core.h"

const uint32_t *pk_proc_xtids(pk_kernel *k, const pk_proc *p, uint32_t *n) {
    const pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
    *n = x->nx;
    return x->xtids;
}

/* Make thread control block t a fresh thread of process p like `model`. */
static void thread_init(pk_kernel *k, pk_thread *t, uint32_t tid, const pk_thread *model,
                        uint32_t prog, uint32_t pc) {
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->pid = model->pid;
    t->prog = prog;
    t->kind = (uint8_t)k->progs[prog].kind;
    t->state = PK_TS_NEW;
    t->cpu = -1;
    t->sclass = model->sclass;
    t->rt_prio = model->rt_prio;
    t->nice = model->nice;
    t->rq_cpu = PK_RQ_NONE;
    t->affinity = model->affinity;
    t->priority = model->priority;
    t->burst = PK_NO_BURST;
    t->tickets = model->tickets;
    t->arrival = t->since = k->now;
    t->first_run = t->finish = PK_FOREVER;
    t->regs.pc = pc;
}

int pk_thread_create(pk_kernel *k, uint32_t pid, uint32_t prog, uint32_t pc, uint32_t *tid_out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!tid_out || prog >= k->nprogs) return PK_ERR_INVALID_ARGS;
    if (k->broken) return k->broken;
    const pk_prog *pr = &k->progs[prog];
    if (pr->task.period || (pr->kind == PK_BODY_SCRIPT && pc > pr->nops) || (pr->kind != PK_BODY_SCRIPT && pc))
        return PK_ERR_INVALID_ARGS;
    if ((k->rqs[0].pol->flags & PK_POL_NEEDS_BURST)) return PK_ERR_NOT_SUPPORTED;
    if (!pk_rv_may_make(k, pr->kind)) return PK_ERR_NOT_SUPPORTED;   /* machine code: clone */
    if ((uint64_t)k->threads.count + 1 > k->cfg.max_threads) return pk_limit_hit(k, PK_LIMIT_THREADS);
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    if (x->nx == x->xcap) {
        uint32_t cap = x->xcap ? x->xcap * 2 : 4;
        uint32_t *v = pk_realloc(k, x->xtids, x->xcap * sizeof *v, cap * sizeof *v);
        if (!v) return PK_ERR_NO_MEMORY;
        x->xtids = v;
        x->xcap = cap;
    }
    uint64_t events = (uint64_t)k->threads.count + 1 + 8 + (k->objs ? k->objs->deadlines : 0);
    if (events > k->evq.n && pk_evq_reserve(k, &k->evq, (uint32_t)(events - k->evq.n)))
        return PK_ERR_NO_MEMORY;
    int64_t tid = pk_arena_grow(k, &k->threads, 1);
    if (tid < 0) return PK_ERR_NO_MEMORY;
    pk_proc *p = pk_proc_at(k, pid);
    thread_init(k, pk_thread_at(k, (uint32_t)tid), (uint32_t)tid, pk_thread_at(k, p->first_tid),
                prog, pc);
    x->xtids[x->nx++] = (uint32_t)tid;
    p->live_threads++;
    k->live_threads++;
    if (pk_thread_at(k, (uint32_t)tid)->sclass != PK_CLASS_OTHER) k->rt_live++;
    pk_evq_post(k, &k->evq, k->now, PK_EV_ARRIVAL, (uint64_t)tid);
    *tid_out = (uint32_t)tid;
    return PK_OK;
}

int pk_proc_threads(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *count) {
    if (!k || !count || (cap && !out) || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    const pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    *count = p->nthreads + nx;
    for (uint32_t i = 0; i < *count && i < cap; i++)
        out[i] = i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads];
    return PK_OK;
}

/* Script instructions: SPAWN_THREAD starts a thread at the body that
 * follows and skips it; THREAD_EXIT ends this thread.  An action, or -1
 * to go on (x[STATUS] says whether the thread was made). */
int pk_script_thread_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, uint64_t *arg) {
    if (op->code == PK_OP_THREAD_EXIT) { *arg = op->b; return PK_ACT_THREAD_EXIT; }
    uint32_t tid;
    int s = pk_thread_create(k, t->pid, t->prog, op->a, &tid);
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)s;
    r->pc += op->b;                                   /* past the new thread's body */
    return -1;
}
