/* pk_proctree.c - the process tree: parents, children, zombies, reaping
 * and the adoption of orphans (docs/processes.md).
 *
 * Every process has links (pk_ptlink, kept by pid beside the process
 * records): its parent and a doubly linked list of its children in the
 * order they joined it (pids + 1, 0: none), so a child joins or leaves its
 * parent in O(1).  The links of a chunk of pids are allocated when one of
 * them first joins a parent (pk_ptl_need, before anything can change):
 * from then on every process with a parent or a child has them, so the
 * adoptions and notifications of an exit, which cannot fail, write only
 * links that exist.  A process
 * spawned from Python has no parent unless it is given one; fork makes the
 * forking process the parent.
 *
 * When a process ends (its last thread, pk_dispatch.c terminate()):
 *   1. its children are adopted (Linux kernel/exit.c, forget_original_parent
 *      and find_new_reaper): by the nearest living ancestor marked as a child
 *      subreaper (prctl(2) PR_SET_CHILD_SUBREAPER), else by the root of the
 *      tree (the ancestor without a parent, which plays init's role).  They
 *      join the end of the new parent's list in their order, as
 *      list_splice_tail does.  A zombie among them is announced to its new
 *      parent (reparent_leader: do_notify_parent).  When the ended process
 *      is itself the root, there is no one to adopt them: each becomes a
 *      root of its own (a zombie is reaped at once, as init would).
 *   2. it becomes a zombie and its parent is notified (pk_ptree_notify), or,
 *      without a parent, it is reaped at once.
 * A zombie is reaped when its parent waits for it: wait4 / waitid of
 * machine code (pk_rv_sys.c) or a wait for TERMINATED through a handle to
 * it (scripts and Python bodies; pk_ptree_handle_waited).
 *
 * Records are never freed: pids are not reused, so max_procs counts zombies
 * (and reaped processes) as RLIMIT_NPROC counts zombies. */
#include <string.h>
#include "pk_core.h"

const pk_ptlink pk_ptl_none;

int pk_ptl_need(pk_kernel *k, uint32_t pid) {
    uint32_t c = pid >> PK_CHUNK_SHIFT;
    if (c >= k->ptl_n) {
        uint32_t n = k->ptl_n ? k->ptl_n : 8;
        while (n <= c) n *= 2;
        pk_ptlink **v = pk_realloc(k, k->ptl, (size_t)k->ptl_n * sizeof *v, (size_t)n * sizeof *v);
        if (!v) return PK_ERR_NO_MEMORY;
        k->ptl = v;
        k->ptl_n = n;
    }
    if (!k->ptl[c] && !(k->ptl[c] = pk_alloc(k, (size_t)PK_CHUNK * sizeof(pk_ptlink))))
        return PK_ERR_NO_MEMORY;
    return PK_OK;
}

void pk_ptl_fini(pk_kernel *k) {
    for (uint32_t i = 0; i < k->ptl_n; i++)
        pk_free(k, k->ptl[i], (size_t)PK_CHUNK * sizeof(pk_ptlink));
    pk_free(k, k->ptl, (size_t)k->ptl_n * sizeof *k->ptl);
    k->ptl = NULL;
    k->ptl_n = 0;
}

/* the links of pid + 1 = link, to read and to write */
static inline const pk_ptlink *L(const pk_kernel *k, uint32_t link) { return pk_ptl(k, link - 1); }
static inline pk_ptlink *W(pk_kernel *k, uint32_t link) { return pk_ptl_w(k, link - 1); }
static inline pk_proc *P(pk_kernel *k, uint32_t link) { return pk_proc_at(k, link - 1); }

static inline bool ended(const pk_proc *p) {
    return p->state == PK_PS_EXITED || p->state == PK_PS_KILLED;
}

/* append pid (no parent now) to the end of parent's children */
static void link_tail(pk_kernel *k, uint32_t pid, uint32_t parent) {
    pk_ptlink *c = pk_ptl_w(k, pid), *p = pk_ptl_w(k, parent);
    c->parent = parent + 1;
    c->next_sib = 0;
    c->prev_sib = p->last_child;
    if (p->last_child) W(k, p->last_child)->next_sib = pid + 1;
    else p->first_child = pid + 1;
    p->last_child = pid + 1;
    p->nchildren++;
}

/* remove pid from its parent's children */
static void unlink_child(pk_kernel *k, uint32_t pid) {
    if (!pk_ptl(k, pid)->parent) return;
    pk_ptlink *c = pk_ptl_w(k, pid);
    pk_ptlink *p = W(k, c->parent);
    if (c->prev_sib) W(k, c->prev_sib)->next_sib = c->next_sib;
    else p->first_child = c->next_sib;
    if (c->next_sib) W(k, c->next_sib)->prev_sib = c->prev_sib;
    else p->last_child = c->prev_sib;
    p->nchildren--;
    c->parent = c->next_sib = c->prev_sib = 0;
}

int pk_ptree_link(pk_kernel *k, uint32_t child, uint32_t parent) {
    if (pk_ptl_need(k, child) || pk_ptl_need(k, parent)) return PK_ERR_NO_MEMORY;
    link_tail(k, child, parent);
    return PK_OK;
}

/* Linux's encoding of how a process ended (wait(2), <bits/waitstatus.h>):
 * exit code in bits 8..15, or the terminating signal in bits 0..6.  The
 * signal of a kill: the one recorded when a signal ended it, else SIGKILL (9) when the kernel or the host killed it,
 * SIGSEGV (11) for a memory fault, SIGILL (4) for an illegal instruction,
 * SIGABRT (6) for abort(). */
int32_t pk_ptree_wstatus(const pk_proc *p) {
    if (p->state == PK_PS_EXITED) return (int32_t)(((uint32_t)p->exit_code & 0xffu) << 8);
    if (p->state != PK_PS_KILLED) return 0;
    if (p->termsig) return p->termsig;            /* the signal recorded (pk_rv_sig.c) */
    switch (p->kill_reason) {
    case PK_KILL_SEGV: return 11;
    case PK_KILL_ILLEGAL: return 4;
    case PK_KILL_ABORT: return 6;
    default: return 9;
    }
}

/* Child `child` of `parent` ended (or, a zombie, was adopted by it): the
 * parent gets SIGCHLD.  This is the one place where that happens: it is
 * counted in parent->sigchld; threads of the parent blocked in wait4 /
 * waitid are woken to look again, and then a machine-code parent gets the
 * signal (CLD_EXITED or CLD_KILLED, pk_rv_sig.c), as do_notify_parent
 * wakes the waiters and sends it. */
static void notify(pk_kernel *k, uint32_t parent, uint32_t child) {
    pk_ptl_w(k, parent)->sigchld++;           /* it has a child: its links exist */
    pk_digest(k, k->now, 0x5c00000000000000ull | (uint64_t)parent << 24 | child);
    if (k->rv) {
        pk_rv_wake_waiters(k, parent);
        pk_rv_sigchld(k, parent, child);
    }
}

void pk_ptree_reap(pk_kernel *k, uint32_t pid) {
    pk_proc *c = pk_proc_at(k, pid);
    unlink_child(k, pid);
    c->tree = PK_PT_REAPED;
}

/* the new parent of the children of `father` (ending), or UINT32_MAX */
static uint32_t find_new_reaper(pk_kernel *k, uint32_t father) {
    uint32_t top = UINT32_MAX;
    for (uint32_t a = pk_ptl(k, father)->parent; a; a = L(k, a)->parent) {
        const pk_proc *q = P(k, a);
        if (!ended(q) && (q->tflags & PK_PTF_SUBREAPER)) return a - 1;
        top = a - 1;
    }
    return top != UINT32_MAX && !ended(pk_proc_at(k, top)) ? top : UINT32_MAX;
}

void pk_ptree_exit(pk_kernel *k, uint32_t pid) {
    pk_proc *p = pk_proc_at(k, pid);
    if (p->tree != PK_PT_ALIVE) return;
    if (pk_ptl(k, pid)->first_child) {            /* forget_original_parent */
        uint32_t reaper = find_new_reaper(k, pid);
        while (pk_ptl(k, pid)->first_child) {
            uint32_t c = pk_ptl(k, pid)->first_child - 1;
            unlink_child(k, c);
            bool zombie = pk_proc_at(k, c)->tree == PK_PT_ZOMBIE;
            if (reaper == UINT32_MAX) {           /* no one left: a root of its own */
                if (zombie) pk_proc_at(k, c)->tree = PK_PT_REAPED;
                continue;
            }
            link_tail(k, c, reaper);
            if (zombie) {
                notify(k, reaper, c);
                if (k->rv && pk_rv_autoreap(k, reaper)) pk_ptree_reap(k, c);
            }
        }
    }
    p = pk_proc_at(k, pid);
    if (pk_ptl(k, pid)->parent) {
        uint32_t parent = pk_ptl(k, pid)->parent - 1;
        p->tree = PK_PT_ZOMBIE;
        notify(k, parent, pid);
        /* a parent that ignores SIGCHLD (or set SA_NOCLDWAIT) makes no
         * zombie: its wait4 then ends with ECHILD (wait(2)) */
        if (k->rv && pk_rv_autoreap(k, parent)) pk_ptree_reap(k, pid);
    } else {
        p->tree = PK_PT_REAPED;
    }
}

void pk_ptree_handle_waited(pk_kernel *k, uint32_t waiter, uint32_t obj) {
    const pk_obj *ob = pk_obj_at(k, obj);
    if (ob->kind != PK_OBJ_PROCESS || !(ob->signals & PK_SIG_TERMINATED)) return;
    uint32_t target = (uint32_t)ob->target;
    if (target >= k->procs.count) return;
    pk_proc *c = pk_proc_at(k, target);
    if (c->tree == PK_PT_ZOMBIE && pk_ptl(k, target)->parent == waiter + 1) pk_ptree_reap(k, target);
}

/* ---- entry points ------------------------------------------------------------ */

int pk_proc_tree_get(pk_kernel *k, uint32_t pid, pk_tree_info *out) {
    if (!k || !out || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    const pk_proc *p = pk_proc_at(k, pid);
    const pk_ptlink *l = pk_ptl(k, pid);
    memset(out, 0, sizeof *out);
    out->parent = l->parent ? (int64_t)l->parent - 1 : -1;
    out->tree = p->tree;
    out->nchildren = l->nchildren;
    out->subreaper = (p->tflags & PK_PTF_SUBREAPER) != 0;
    out->sigchld = l->sigchld;
    out->wstatus = pk_ptree_wstatus(p);
    return PK_OK;
}

int pk_proc_children(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *n) {
    if (!k || !n || (cap && !out) || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    const pk_ptlink *p = pk_ptl(k, pid);
    uint32_t i = 0;
    for (uint32_t c = p->first_child; c && i < cap; c = L(k, c)->next_sib) out[i++] = c - 1;
    *n = p->nchildren;
    return PK_OK;
}

int pk_proc_set_parent(pk_kernel *k, uint32_t child, uint32_t parent) {
    if (!k || child >= k->procs.count || parent >= k->procs.count || child == parent)
        return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    pk_proc *c = pk_proc_at(k, child), *p = pk_proc_at(k, parent);
    if (pk_ptl(k, child)->parent || pk_ptl(k, child)->first_child || c->state != PK_PS_NEW
        || c->tree != PK_PT_ALIVE)
        return PK_ERR_BAD_STATE;
    if (ended(p) || p->tree != PK_PT_ALIVE) return PK_ERR_BAD_STATE;
    return pk_ptree_link(k, child, parent);
}

int pk_proc_subreaper_set(pk_kernel *k, uint32_t pid, uint32_t on) {
    if (!k || pid >= k->procs.count || on > 1) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    pk_proc *p = pk_proc_at(k, pid);
    if (on) p->tflags |= PK_PTF_SUBREAPER;
    else p->tflags &= (uint8_t)~PK_PTF_SUBREAPER;
    return PK_OK;
}

/* Check every record's links; used by the audit and on restore.  A bad
 * link (out of range, or one the other end does not return) counts once
 * per record; a parent chain longer than the number of processes is a
 * cycle. */
void pk_ptree_check(pk_kernel *k, uint64_t *bad, uint64_t *cycles) {
    uint32_t n = k->procs.count;
    *bad = *cycles = 0;
    for (uint32_t pid = 0; pid < n; pid++) {
        const pk_proc *pr = pk_proc_at(k, pid);
        const pk_ptlink *p = pk_ptl(k, pid);
        bool ok = p->parent <= n && p->first_child <= n && p->last_child <= n
            && p->next_sib <= n && p->prev_sib <= n && pr->tree <= PK_PT_REAPED
            && p->parent != pid + 1 && !(pr->tflags & ~PK_PTF_SUBREAPER) && !p->pad;
        if (ok && pr->tree == PK_PT_ALIVE && ended(pr)) ok = false;
        if (ok && pr->tree != PK_PT_ALIVE && !ended(pr)) ok = false;
        if (ok && pr->tree == PK_PT_REAPED && (p->parent || p->first_child)) ok = false;
        if (ok && pr->tree == PK_PT_ZOMBIE && (!p->parent || p->first_child)) ok = false;
        if (ok && p->parent) {                    /* a living parent lists it */
            const pk_ptlink *q = L(k, p->parent);
            ok = !ended(P(k, p->parent))
                && (p->prev_sib ? L(k, p->prev_sib)->next_sib == pid + 1 && L(k, p->prev_sib)->parent == p->parent
                                : q->first_child == pid + 1)
                && (p->next_sib ? L(k, p->next_sib)->prev_sib == pid + 1 && L(k, p->next_sib)->parent == p->parent
                                : q->last_child == pid + 1);
        } else if (ok) ok = !p->next_sib && !p->prev_sib;
        if (ok) {                                 /* its list is as long as it says */
            uint32_t cnt = 0;
            for (uint32_t c = p->first_child; c && cnt <= n; c = L(k, c)->next_sib) {
                if (c > n || L(k, c)->parent != pid + 1) { ok = false; break; }
                cnt++;
            }
            ok = ok && cnt == p->nchildren && (p->first_child == 0) == (p->last_child == 0);
        }
        if (!ok) { (*bad)++; continue; }
        uint32_t steps = 0;
        for (uint32_t a = p->parent; a && a <= n && steps <= n; a = L(k, a)->parent) steps++;
        if (steps > n) (*cycles)++;
    }
}

int pk_tree_audit_get(pk_kernel *k, pk_tree_audit *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    pk_ptree_check(k, &out->bad_links, &out->cycles);
    return PK_OK;
}
