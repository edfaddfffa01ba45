/* pk_sched_host.c - a scheduling policy written in Python (PK_POLICY_HOST),
 * the way sched_ext lets a policy be written outside the kernel proper.
 *
 * Each function of the table calls the matching hook of the Python object
 * serving this run queue and checks what comes back before the core uses
 * it.  The call goes through k->host_hook (pk_sched_host.h), which
 * csrc/py/pk_policy_upcall.c -- with pk_upcall.c, the C that touches
 * Python objects -- sets when the kernel's policy objects are attached
 * (pk_host_policy_attach); it calls the bound method, turns the answer
 * into an integer or PK_HP_NONE / PK_HP_RAISED / PK_HP_BAD, and keeps the
 * exception or the refused answer for the Python side.  Inside
 * pk_kernel_run the interpreter lock is taken once for the whole run
 * (shared with the stepping of generator bodies); a hook called from
 * another entry point (spawn, kill, a change of nice ...) takes it around
 * the call.  The ready threads wait
 * in the Python object's own data structure; C keeps a membership flag per
 * thread (t->s.host.queued) and a count per run queue, so that a thread
 * the host names can be checked: it exists, is ready, belongs to the fair
 * class and is queued in this run queue (and, for a steal, may run on the
 * stealing CPU).
 *
 * To save a call per context switch, the enqueue of a thread whose slice
 * ended, that was preempted or that yielded is held back: the dispatcher
 * calls pick() on the same run queue right after it (cpu_service), and
 * the two hooks are called together (PK_HP_ENQUEUE_PICK).  Any other call
 * into the policy delivers a held-back enqueue first, so the hooks see
 * the same calls in the same order, at the same simulated instant.
 *
 * Optional hooks the object does not define are not called: the slice is
 * then params[1] (PK_FOREVER: none), tick() is true (an expired thread
 * yields to a ready one), wakeup_preempt() false.  pick() is called only
 * while a thread of the policy is queued here, and must name one.
 *
 * Failure: a hook that raised or answered something invalid marks the
 * kernel broken with PK_ERR_POLICY and records what happened (first
 * failure only; pk_host_policy_failure reads it).  So does a hook called
 * while no objects are attached (PK_PF_RAISED, with no exception).  From
 * then on no hook is called: the functions keep C's bookkeeping
 * consistent and answer neutrally (pick nothing, slice forever), and
 * pk_kernel_run stops with PK_ERR_POLICY at the end of the step and
 * refuses to run again.
 */
#include "pk_core.h"
#include "pk_sched_host.h"

#define HOOK(h) (1ull << (h))
#define OPTIONAL_HOOKS (HOOK(PK_HOOK_SLICE) | HOOK(PK_HOOK_TICK) | HOOK(PK_HOOK_WAKEUP_PREEMPT) \
                        | HOOK(PK_HOOK_CHARGE) | HOOK(PK_HOOK_STEAL) | HOOK(PK_HOOK_CHANGED))

typedef struct host_rq {
    uint64_t hooks;            /* HOOK() bits of the optional hooks defined */
    pk_time  slice;            /* every slice, without a slice hook         */
    uint64_t nr;               /* threads of this policy queued here        */
    pk_thread *held;           /* enqueued, not yet told to the host        */
    uint32_t held_why;
    pk_time  held_at;          /* when (it must be told at the same instant) */
    pk_policy_failure fail;    /* the first failure (hook 0: none)          */
} host_rq;

/* Set up run queue rq from params (PK_HOST_PARAMS in pk_api.h). */
static int host_init(pk_rq *rq) {
    const pk_config *cfg = &rq->k->cfg;
    host_rq *h = rq->priv;
    if (cfg->nparams < PK_HOST_PARAMS) return PK_ERR_INVALID_ARGS;
    h->hooks = cfg->params[0];
    h->slice = cfg->params[1];
    if (h->hooks & ~OPTIONAL_HOOKS) return PK_ERR_INVALID_ARGS;
    if (h->slice == 0 || (h->slice > PK_MAX_TIME && h->slice != PK_FOREVER)) return PK_ERR_OUT_OF_RANGE;
    return PK_OK;
}

/* Whether hook `hook` may be called now: the object defines it (required
 * hooks always do) and the kernel has not failed. */
static inline bool callable_now(const pk_rq *rq, unsigned hook) {
    const host_rq *h = rq->priv;
    return !rq->k->broken && (hook <= PK_HOOK_PICK || (h->hooks & HOOK(hook)));
}

/* Call hook `hook` of rq's object (pk_sched_host.h): the kernel refuses
 * changes meanwhile, and the call counts PK_WORK_HOST units of host work
 * (pk_kernel_run: the budget of the run's slice and of one instant). */
static int64_t call(pk_rq *rq, uint32_t hook, uint64_t a, uint64_t b) {
    pk_kernel *k = rq->k;
    if (PK_UNLIKELY(!k->host_hook)) return PK_HP_RAISED;     /* no objects attached */
    k->in_hook++;
    k->same_steps += PK_WORK_HOST;
    int64_t r = k->host_hook(k, rq->cpu, hook, a, b);
    k->in_hook--;
    return r;
}

/* Record the first failure of the policy and mark the kernel broken. */
static void fail(pk_rq *rq, uint32_t hook, uint32_t reason, int64_t value, const pk_thread *t) {
    pk_kernel *k = rq->k;
    host_rq *h = rq->priv;
    if (k->broken) return;
    k->broken = PK_ERR_POLICY;
    h->fail = (pk_policy_failure){ .hook = hook, .reason = reason, .value = value, .rq = rq->cpu,
                                   .state = t ? t->state : 0, .thread_rq = t ? t->rq_cpu : 0,
                                   .queued = h->nr };
}

/* A callback answered `r` to a hook without a result: fail if it raised. */
static inline void check_done(pk_rq *rq, uint32_t hook, int64_t r, const pk_thread *t) {
    if (PK_UNLIKELY(r != 0)) fail(rq, hook, r == PK_HP_RAISED ? PK_PF_RAISED : PK_PF_BAD_VALUE, r, t);
}

/* The reason thread t, named by a hook of rq's policy, may not be taken
 * from rq, or 0 if it may. */
static uint32_t refusal(pk_rq *rq, const pk_thread *t) {
    if (t->state != PK_TS_READY) return PK_PF_NOT_READY;
    if (t->sclass != PK_CLASS_OTHER) return PK_PF_REALTIME;
    if (pk_thread_rq(rq->k, t) != rq) return PK_PF_OTHER_RQ;
    if (!t->s.host.queued) return PK_PF_NOT_QUEUED;
    return 0;
}

/* The thread a hook named by answering r (a tid), taken out of rq's
 * membership, or NULL after recording why it cannot be.  A thread stolen
 * for `cpu` must also be allowed to run there. */
static pk_thread *take_named(pk_rq *rq, uint32_t hook, int64_t r, uint32_t cpu) {
    pk_kernel *k = rq->k;
    host_rq *h = rq->priv;
    if (r < 0) {
        fail(rq, hook, r == PK_HP_RAISED ? PK_PF_RAISED : PK_PF_BAD_VALUE, r, NULL);
        return NULL;
    }
    if ((uint64_t)r >= k->threads.count) {
        fail(rq, hook, PK_PF_NO_THREAD, r, NULL);
        return NULL;
    }
    pk_thread *t = pk_thread_at(k, (uint32_t)r);
    uint32_t why = refusal(rq, t);
    if (!why && hook == PK_HOOK_STEAL && !pk_cpu_allowed(k, t, cpu)) why = PK_PF_NOT_ALLOWED;
    if (why) {
        fail(rq, hook, why, r, t);
        return NULL;
    }
    t->s.host.queued = 0;
    h->nr--;
    return t;
}

/* Call the enqueue hook for t. */
static void tell_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    if (!callable_now(rq, PK_HOOK_ENQUEUE)) return;
    int64_t r = call(rq, PK_HOOK_ENQUEUE, t->tid, why);
    check_done(rq, PK_HOOK_ENQUEUE, r, t);
}

/* Tell the host about a held-back enqueue, before any other hook.  It is
 * always told at the instant it happened; if not, the dispatcher no
 * longer picks right after such an enqueue: an internal error. */
static inline void tell_held(pk_rq *rq) {
    host_rq *h = rq->priv;
    pk_thread *t = h->held;
    if (PK_LIKELY(!t)) return;
    h->held = NULL;
    if (h->held_at != rq->k->now) {
        if (!rq->k->broken) rq->k->broken = PK_ERR_INTERNAL;
        return;
    }
    tell_enqueue(rq, t, h->held_why);
}

static void host_enqueue(pk_rq *rq, pk_thread *t, unsigned why) {
    host_rq *h = rq->priv;
    tell_held(rq);
    t->s.host.queued = 1;
    h->nr++;
    bool picked_next = why == PK_ENQ_SLICE || why == PK_ENQ_PREEMPT || why == PK_ENQ_YIELD;
    if (picked_next && !rq->rt.nr && !rq->k->broken) {   /* pk_rq_pick calls host_pick next */
        h->held = t;
        h->held_why = why;
        h->held_at = rq->k->now;
        return;
    }
    tell_enqueue(rq, t, why);
}

static void host_dequeue(pk_rq *rq, pk_thread *t, unsigned why) {
    host_rq *h = rq->priv;
    tell_held(rq);
    t->s.host.queued = 0;
    h->nr--;
    if (!callable_now(rq, PK_HOOK_DEQUEUE)) return;
    int64_t r = call(rq, PK_HOOK_DEQUEUE, t->tid, why);
    check_done(rq, PK_HOOK_DEQUEUE, r, t);
}

static pk_thread *host_pick(pk_rq *rq) {
    host_rq *h = rq->priv;
    pk_thread *held = h->held;
    if (held && h->held_at != rq->k->now) tell_held(rq);   /* internal error */
    if (!h->nr || !callable_now(rq, PK_HOOK_PICK)) return NULL;
    h->held = NULL;
    int64_t r = held ? call(rq, PK_HP_ENQUEUE_PICK, held->tid, h->held_why)
                     : call(rq, PK_HOOK_PICK, 0, 0);
    if (r == PK_HP_NONE) {
        fail(rq, PK_HOOK_PICK, PK_PF_NONE, r, NULL);
        return NULL;
    }
    return take_named(rq, PK_HOOK_PICK, r, rq->cpu);
}

static pk_time host_slice(pk_rq *rq, pk_thread *t) {
    host_rq *h = rq->priv;
    tell_held(rq);
    if (!callable_now(rq, PK_HOOK_SLICE)) return h->slice;
    int64_t r = call(rq, PK_HOOK_SLICE, t->tid, 0);
    if (r == PK_HP_NONE) return PK_FOREVER;
    if (r >= 1 && r <= (int64_t)PK_MAX_TIME) return (pk_time)r;
    fail(rq, PK_HOOK_SLICE, r == PK_HP_RAISED ? PK_PF_RAISED : PK_PF_BAD_VALUE, r, t);
    return PK_FOREVER;
}

/* the answer of a yes/no hook, or `dflt` after a failure */
static inline bool yes_no(pk_rq *rq, uint32_t hook, int64_t r, const pk_thread *t, bool dflt) {
    if (PK_LIKELY(r == 0 || r == 1)) return r == 1;
    fail(rq, hook, r == PK_HP_RAISED ? PK_PF_RAISED : PK_PF_BAD_VALUE, r, t);
    return dflt;
}

static bool host_tick(pk_rq *rq, pk_thread *t) {
    host_rq *h = rq->priv;
    tell_held(rq);
    if (!callable_now(rq, PK_HOOK_TICK)) return !(h->hooks & HOOK(PK_HOOK_TICK));
    int64_t r = call(rq, PK_HOOK_TICK, t->tid, 0);
    return yes_no(rq, PK_HOOK_TICK, r, t, false);
}

static bool host_wakeup_preempt(pk_rq *rq, pk_thread *curr, pk_thread *t) {
    tell_held(rq);
    if (!callable_now(rq, PK_HOOK_WAKEUP_PREEMPT)) return false;
    int64_t r = call(rq, PK_HOOK_WAKEUP_PREEMPT, curr->tid, t->tid);
    return yes_no(rq, PK_HOOK_WAKEUP_PREEMPT, r, t, false);
}

static void host_charge(pk_rq *rq, pk_thread *t, uint64_t ran) {
    tell_held(rq);
    if (!callable_now(rq, PK_HOOK_CHARGE)) return;
    int64_t r = call(rq, PK_HOOK_CHARGE, t->tid, ran);
    check_done(rq, PK_HOOK_CHARGE, r, t);
}

static pk_thread *host_steal(pk_rq *rq, uint32_t cpu) {
    host_rq *h = rq->priv;
    tell_held(rq);
    if (!h->nr || !callable_now(rq, PK_HOOK_STEAL)) return NULL;
    int64_t r = call(rq, PK_HOOK_STEAL, cpu, 0);
    return r == PK_HP_NONE ? NULL : take_named(rq, PK_HOOK_STEAL, r, cpu);
}

static void host_changed(pk_rq *rq, pk_thread *t) {
    tell_held(rq);
    if (!callable_now(rq, PK_HOOK_CHANGED)) return;
    int64_t r = call(rq, PK_HOOK_CHANGED, t->tid, 0);
    check_done(rq, PK_HOOK_CHANGED, r, t);
}

const pk_policy pk_policy_host = {
    .name = "Python", .priv_size = sizeof(host_rq), .init = host_init,
    .enqueue = host_enqueue, .dequeue = host_dequeue, .pick = host_pick,
    .slice = host_slice, .tick = host_tick, .wakeup_preempt = host_wakeup_preempt,
    .charge = host_charge, .steal = host_steal, .changed = host_changed,
};

int pk_host_policy_failure(pk_kernel *k, pk_policy_failure *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (k->cfg.policy != PK_POLICY_HOST) return PK_ERR_NOT_SUPPORTED;
    *out = (pk_policy_failure){ 0 };
    for (uint32_t i = 0; i < k->nrqs; i++) {
        const host_rq *h = k->rqs[i].priv;
        if (h && h->fail.hook) { *out = h->fail; break; }
    }
    return PK_OK;
}
