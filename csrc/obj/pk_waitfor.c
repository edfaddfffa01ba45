/* pk_waitfor.c - the wait-for graph, for deadlock reports
 * (docs/objects.md).  Built on demand from the wait queues: nothing is
 * kept up to date while the simulation runs.  A waiting thread points at
 *   - the owner of a mutex it waits to lock (pk_futex.c records owners),
 *   - every live thread of every process that holds a handle to the other
 *     end of a channel it waits to read from,
 *   - every live thread of a process whose TERMINATED it waits for.
 * Waits on events, semaphores, condition variables and plain futexes
 * name no thread and give no edge. */
#include "pk_core.h"

typedef struct sink { pk_wf_edge *out; uint64_t cap, n; } sink;

static void emit(sink *s, pk_wf_edge e) {
    if (s->n < s->cap) s->out[s->n] = e;
    s->n++;
}

/* Edges to every live thread of process pid. */
static void to_process(pk_kernel *k, sink *s, pk_wf_edge e, uint32_t pid) {
    const pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        const pk_thread *t = pk_thread_at(k, i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads]);
        if (t->state == PK_TS_EXITED) continue;
        e.holder = t->tid;
        emit(s, e);
    }
}

/* The address under which futex object f is known in process pid's
 * words (or its domain's); with memory, futexes are keyed by what the
 * address maps (pk_vfutex.c) and a process may have no word table. */
static uint64_t futex_addr(pk_kernel *k, uint32_t pid, uint32_t f, uint32_t *dom) {
    *dom = pid;
    if (k->mem) return pk_vfutex_addr(k, pid, f);
    if (!pk_proc_ext(pk_proc_at(k, pid))) return 0;
    pk_pext *x = &k->objs->ext[pk_proc_ext(pk_proc_at(k, pid))];
    if (x->fdom) { pid = x->fdom - 1; x = &k->objs->ext[pk_proc_ext(pk_proc_at(k, pid))]; }
    *dom = pid;
    for (uint32_t i = 0; i < x->fcap; i++)
        if (x->fkeys[i] && x->fobjs[i] == f) return x->fkeys[i] - 1;
    return 0;
}

/* Edges of thread t waiting on object obj for `want` signals. */
static void node_edges(pk_kernel *k, sink *s, const pk_thread *t, uint32_t obj, uint32_t want) {
    const pk_obj *ob = pk_obj_at(k, obj);
    pk_wf_edge e = { t->tid, 0, 0, 0, 0 };   /* waiter, holder, kind, pid, what */
    if (ob->kind == PK_OBJ_FUTEX && ob->target) {
        e.kind = PK_WF_MUTEX;
        e.what = futex_addr(k, t->pid, obj, &e.pid);
        e.holder = ob->target - 1;
        emit(s, e);
    } else if (ob->kind == PK_OBJ_CHANNEL && (want & PK_SIG_READABLE) && ob->peer) {
        e.kind = PK_WF_CHANNEL;
        e.what = ob->koid;
        for (uint32_t pid = 0; pid < k->procs.count; pid++) {
            const pk_proc *p = pk_proc_at(k, pid);
            if (!pk_proc_ext(p) || p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) continue;
            const pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
            for (uint32_t sl = 0; sl < x->top; sl++)
                if (x->ents[sl].obj == ob->peer) { to_process(k, s, e, pid); break; }
        }
    } else if (ob->kind == PK_OBJ_PROCESS && (want & PK_SIG_TERMINATED)) {
        e.kind = PK_WF_PROCESS;
        e.what = ob->target;
        to_process(k, s, e, ob->target);
    }
}

int pk_waitfor_edges(pk_kernel *k, pk_wf_edge *out, uint64_t cap, uint64_t *count) {
    if (!k || !count || (cap && !out)) return PK_ERR_INVALID_ARGS;
    sink s = { out, cap, 0 };
    for (uint32_t tid = 0; k->objs && tid < k->threads.count; tid++) {
        const pk_thread *t = pk_thread_at(k, tid);
        if (t->state != PK_TS_WAITING || !pk_thread_has_wait_reg(t) || !t->regs.x[PK_REG_WAIT]) continue;
        const pk_wait *wr = &k->objs->waits[t->regs.x[PK_REG_WAIT] - 1];
        for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib)
            node_edges(k, &s, t, k->objs->nodes[x - 1].obj, k->objs->nodes[x - 1].waitfor);
    }
    *count = s.n;
    return PK_OK;
}
