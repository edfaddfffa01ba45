/* pk_futex.c - futexes and the locks built on them (docs/objects.md).
 *
 * In a kernel with memory pk_vfutex.c keys futexes by what the address
 * maps.  Without memory a futex is keyed by (process, address): each process that uses one has a small open-addressing map
 * in its extension from address to a futex object, whose `word` holds the
 * 32-bit value and whose wait queue holds the waiters (wait records and
 * nodes of pk_wait.c, with no handle and no signal: only a wake, a
 * requeue, a deadline or death ends them).  The word stays in the
 * futex object in both cases (not in the page's bytes).
 *
 * Mutex, semaphore and condition variable follow the classic futex
 * algorithms (Drepper, "Futexes Are Tricky", 2011: mutex word 0 free,
 * 1 locked, 2 locked with waiters); each step that user code would do
 * with an atomic instruction is one indivisible step here.  A mutex's
 * object also records its owner (for deadlock reports). */
#include <string.h>
#include "pk_core.h"

static inline uint32_t fhash(uint64_t a, uint32_t cap) {
    a *= 0x9e3779b97f4a7c15ull;
    return (uint32_t)(a >> 32) & (cap - 1);
}

/* Double (or create) x's futex map; -1 if memory ran out. */
static int fmap_grow(pk_kernel *k, pk_pext *x) {
    uint32_t cap = x->fcap ? x->fcap * 2 : 16;
    uint64_t *keys = pk_alloc(k, cap * sizeof(uint64_t));
    uint32_t *objs = pk_alloc(k, cap * sizeof(uint32_t));
    if (!keys || !objs) { pk_free(k, keys, cap * sizeof(uint64_t)); pk_free(k, objs, cap * sizeof(uint32_t)); return -1; }
    for (uint32_t i = 0; i < x->fcap; i++) {
        if (!x->fkeys[i]) continue;
        uint32_t j = fhash(x->fkeys[i], cap);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = x->fkeys[i];
        objs[j] = x->fobjs[i];
    }
    pk_free(k, x->fkeys, x->fcap * sizeof(uint64_t));
    pk_free(k, x->fobjs, x->fcap * sizeof(uint32_t));
    x->fkeys = keys; x->fobjs = objs; x->fcap = cap;
    return 0;
}

/* The futex object of (pid, addr): made if `create`; 0 if there is none
 * (or memory ran out). */
static uint32_t futex_of(pk_kernel *k, uint32_t pid, uint64_t addr, bool create) {
    if (k->mem) {                                    /* keyed by what addr maps */
        uint64_t hi, lo;
        return pk_vfutex_key(k, pid, addr, &hi, &lo) ? 0 : pk_vfutex_of(k, hi, lo, create);
    }
    pk_pext *x = pk_pext_of(k, pid, create);
    if (!x) return 0;
    if (x->fdom) {                                   /* it shares another's words */
        pid = x->fdom - 1;
        x = pk_pext_of(k, pid, false);
    }
    uint64_t key = addr + 1;
    if (x->fcap) {
        for (uint32_t j = fhash(key, x->fcap); x->fkeys[j]; j = (j + 1) & (x->fcap - 1))
            if (x->fkeys[j] == key) return x->fobjs[j];
    }
    if (!create) return 0;
    if (2 * (x->fn + 1) > x->fcap && fmap_grow(k, x)) return 0;
    int64_t id = pk_obj_new(k, PK_OBJ_FUTEX);
    if (id < 0) return 0;
    x = pk_pext_of(k, pid, false);
    pk_obj_at(k, (uint32_t)id)->refs = 1;                /* the map's reference */
    uint32_t j = fhash(key, x->fcap);
    while (x->fkeys[j]) j = (j + 1) & (x->fcap - 1);
    x->fkeys[j] = key;
    x->fobjs[j] = (uint32_t)id;
    x->fn++;
    return (uint32_t)id;
}

/* Process death: its futexes go, unless other processes share them (then
 * they stay until the kernel goes); a sharer stops sharing. */
void pk_futex_release(pk_kernel *k, pk_pext *x) {
    if (x->fdom) {
        k->objs->ext[pk_proc_ext(pk_proc_at(k, x->fdom - 1))].fsharers--;
        x->fdom = 0;
        return;
    }
    if (x->fsharers) return;
    for (uint32_t i = 0; i < x->fcap; i++)
        if (x->fkeys[i]) pk_obj_unref(k, x->fobjs[i]);
    pk_free(k, x->fkeys, x->fcap * sizeof(uint64_t));
    pk_free(k, x->fobjs, x->fcap * sizeof(uint32_t));
    x->fkeys = NULL; x->fobjs = NULL; x->fcap = x->fn = 0;
}

static int addr_ok(uint64_t addr) {
    return addr <= PK_FUTEX_ADDR_MAX && !(addr & 3) ? PK_OK : PK_ERR_INVALID_ARGS;
}

/* addr_ok, and with memory: something in pid's address space maps addr
 * (INVALID_ARGS otherwise, pk_vfutex.c). */
static int addr_in(pk_kernel *k, uint32_t pid, uint64_t addr) {
    uint64_t hi, lo;
    int s = addr_ok(addr);
    return s || !k->mem ? s : pk_vfutex_key(k, pid, addr, &hi, &lo);
}

/* ---- the steps, shared by scripts and Python thread bodies ----------------- */

/* Mutex lock step for t: OK (t owns it) or SHOULD_WAIT (wait while the
 * word is *expect).  `woken`: t was woken from this mutex's queue, so it
 * takes it as contended (word 2), as Drepper's mutex does after a wait. */
static int mutex_step(pk_kernel *k, pk_thread *t, uint32_t f, bool woken, uint32_t *expect) {
    pk_obj *ob = pk_obj_at(k, f);
    if (ob->word == 0) {
        ob->word = woken ? 2 : 1;
        ob->target = t->tid + 1;
        if (ob->fflags & PK_FUTEX_PI) pk_pi_acquired(k, t, f);
        return PK_OK;
    }
    ob->word = 2;
    *expect = 2;
    return PK_ERR_SHOULD_WAIT;
}

/* Unlock by t: BAD_STATE if the mutex is not locked, ACCESS_DENIED if t
 * does not own it. */
static int unlock_step(pk_kernel *k, pk_thread *t, uint32_t f) {
    pk_obj *ob = f ? pk_obj_at(k, f) : NULL;
    if (!ob || ob->word == 0) return PK_ERR_BAD_STATE;
    if (ob->target != t->tid + 1) return PK_ERR_ACCESS_DENIED;
    uint64_t old = ob->word;
    ob->word = 0;
    ob->target = 0;
    if (ob->fflags & PK_FUTEX_PI) pk_pi_released(k, t, f);
    if (old == 2) pk_wait_wake_n(k, f, 1);
    return PK_OK;
}

static int sem_step(pk_obj *ob, uint32_t *expect) {
    if (ob->word > 0) { ob->word--; return PK_OK; }
    *expect = 0;
    return PK_ERR_SHOULD_WAIT;
}

static void sem_post_step(pk_kernel *k, uint32_t f) {
    pk_obj *ob = pk_obj_at(k, f);
    if (ob->word < 0xffffffffu) ob->word++;
    pk_wait_wake_n(k, f, 1);
}

/* Signal condition variable cv: its sequence word changes and one waiter
 * wakes; a broadcast (m != 0) moves the others onto mutex m's queue,
 * where unlocks wake them one at a time (no thundering herd). */
static void cond_signal(pk_kernel *k, uint32_t cv, uint32_t m) {
    pk_obj_at(k, cv)->word = (pk_obj_at(k, cv)->word + 1) & 0xffffffffu;
    pk_wait_wake_n(k, cv, 1);
    if (m && pk_wait_requeue(k, cv, m, 0xffffffffu) && pk_obj_at(k, m)->word == 1)
        pk_obj_at(k, m)->word = 2;                 /* its unlock must wake them */
}

/* ---- script instructions ---------------------------------------------------- */

static int sdone(pk_regs *r, int st) {
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
    return -1;
}

/* Wait on futex f unless its word differs from expect (then BAD_STATE). */
static int swait(pk_kernel *k, pk_thread *t, pk_regs *r, uint32_t f, uint32_t expect) {
    if (pk_obj_at(k, f)->word != expect) return sdone(r, PK_ERR_BAD_STATE);
    return pk_wait_script(k, t, r, f, 0, 0);
}

/* Condition wait: phase 0 releases the mutex and waits on the condition's
 * sequence word; phase 1 (woken, or requeued onto the mutex) takes the
 * mutex again. */
static int cond_wait(pk_kernel *k, pk_thread *t, pk_regs *r, uint32_t cv, uint32_t m, bool woke) {
    uint32_t expect;
    if (!(r->flags & PK_RF_COND_WAIT)) {
        int st = unlock_step(k, t, m);
        if (st) return sdone(r, st);
        r->flags |= PK_RF_COND_WAIT;
        int act = pk_wait_script(k, t, r, cv, 0, 0);
        if (act >= 0) return act;
        woke = false;                              /* no wait: take the mutex now */
    }
    if (mutex_step(k, t, m, woke, &expect) == PK_OK) { r->flags &= ~(uint64_t)PK_RF_COND_WAIT; return sdone(r, PK_OK); }
    return pk_wait_script(k, t, r, m, 0, 0);
}

int pk_script_futex_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, bool woke) {
    if (k->mem) {                                  /* addresses must be mapped */
        int s = addr_in(k, t->pid, op->b);
        if (!s && (op->code == PK_OP_COND_WAIT || op->code == PK_OP_COND_BROADCAST))
            s = addr_in(k, t->pid, op->a);
        if (s) return sdone(r, s);
    }
    uint32_t f = futex_of(k, t->pid, op->b, true), expect;
    if (!f) return sdone(r, PK_ERR_NO_MEMORY);
    switch (op->code) {
    case PK_OP_FUTEX_WAIT: return swait(k, t, r, f, op->a);
    case PK_OP_FUTEX_WAKE: pk_wait_wake_n(k, f, op->a); return sdone(r, PK_OK);
    case PK_OP_LOCK:
        if ((op->a & PK_LOCK_INHERIT) && pk_pi_mark(k, f)) return sdone(r, PK_ERR_NO_MEMORY);
        if (mutex_step(k, t, f, woke, &expect) == PK_OK) return sdone(r, PK_OK);
        return pk_wait_script(k, t, r, f, 0, 0);
    case PK_OP_UNLOCK: return sdone(r, unlock_step(k, t, f));
    case PK_OP_SEM_WAIT:
        if (sem_step(pk_obj_at(k, f), &expect) == PK_OK) return sdone(r, PK_OK);
        return pk_wait_script(k, t, r, f, 0, 0);
    case PK_OP_SEM_POST: sem_post_step(k, f); return sdone(r, PK_OK);
    case PK_OP_COND_SIGNAL: cond_signal(k, f, 0); return sdone(r, PK_OK);
    default: {                                     /* COND_WAIT, COND_BROADCAST */
        uint32_t m = futex_of(k, t->pid, op->a, true);
        if (!m) return sdone(r, PK_ERR_NO_MEMORY);
        if (op->code == PK_OP_COND_WAIT) return cond_wait(k, t, r, f, m, woke);
        cond_signal(k, f, m);
        return sdone(r, PK_OK);
    }
    }
}

/* ---- entry points ------------------------------------------------------------- */

int pk_futex_get(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t *value) {
    if (!k || !value || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    int s = addr_in(k, pid, addr);
    if (s) return s;
    uint32_t f = k->objs ? futex_of(k, pid, addr, false) : 0;
    *value = f ? (uint32_t)pk_obj_at(k, f)->word : 0;
    return PK_OK;
}

int pk_futex_set(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t value) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr))) return s;
    uint32_t f = futex_of(k, pid, addr, true);
    if (!f) return PK_ERR_NO_MEMORY;
    pk_obj_at(k, f)->word = value;
    return PK_OK;
}

int pk_futex_wake(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t n, uint32_t *woken) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr))) return s;
    if (!woken) return PK_ERR_INVALID_ARGS;
    uint32_t f = k->objs ? futex_of(k, pid, addr, false) : 0;
    *woken = f ? pk_wait_wake_n(k, f, n) : 0;
    return PK_OK;
}

int pk_futex_requeue(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t nwake, uint64_t addr2,
                     uint32_t nrequeue, uint32_t *woken) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr)) || (s = addr_in(k, pid, addr2))) return s;
    if (!woken || addr == addr2) return PK_ERR_INVALID_ARGS;
    uint32_t f = k->objs ? futex_of(k, pid, addr, false) : 0;
    *woken = 0;
    if (!f) return PK_OK;
    *woken = pk_wait_wake_n(k, f, nwake);
    if (!nrequeue || !pk_obj_at(k, f)->waiters) return PK_OK;
    uint32_t g = futex_of(k, pid, addr2, true);
    if (!g) return PK_ERR_NO_MEMORY;
    pk_wait_requeue(k, futex_of(k, pid, addr, false), g, nrequeue);
    return PK_OK;
}

int pk_mutex_mark_pi(pk_kernel *k, uint32_t pid, uint64_t addr) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr))) return s;
    uint32_t f = futex_of(k, pid, addr, true);
    if (!f) return PK_ERR_NO_MEMORY;
    return pk_pi_mark(k, f);
}

int pk_sem_try(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t *expect) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr))) return s;
    if (!expect) return PK_ERR_INVALID_ARGS;
    uint32_t f = futex_of(k, pid, addr, true);
    if (!f) return PK_ERR_NO_MEMORY;
    return sem_step(pk_obj_at(k, f), expect);
}

int pk_sem_post(pk_kernel *k, uint32_t pid, uint64_t addr) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, addr))) return s;
    uint32_t f = futex_of(k, pid, addr, true);
    if (!f) return PK_ERR_NO_MEMORY;
    sem_post_step(k, f);
    return PK_OK;
}

int pk_mutex_owner(pk_kernel *k, uint32_t pid, uint64_t addr, int64_t *tid) {
    if (!k || !tid || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    int s = addr_in(k, pid, addr);
    if (s) return s;
    uint32_t f = k->objs ? futex_of(k, pid, addr, false) : 0;
    *tid = f && pk_obj_at(k, f)->target ? (int64_t)pk_obj_at(k, f)->target - 1 : -1;
    return PK_OK;
}

int pk_cond_signal(pk_kernel *k, uint32_t pid, uint64_t cv, uint64_t mutex, uint32_t broadcast) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = addr_in(k, pid, cv)) || (broadcast && (s = addr_in(k, pid, mutex)))) return s;
    if (broadcast && mutex == cv) return PK_ERR_INVALID_ARGS;
    uint32_t f = futex_of(k, pid, cv, true), m = broadcast ? futex_of(k, pid, mutex, true) : 0;
    if (!f || (broadcast && !m)) return PK_ERR_NO_MEMORY;
    cond_signal(k, f, m);
    return PK_OK;
}

int pk_futex_share(pk_kernel *k, uint32_t pid, uint32_t owner) {
    int s = pk_caller_ok(k, pid);
    if (s || (s = pk_caller_ok(k, owner))) return s;
    if (pid == owner) return PK_ERR_INVALID_ARGS;
    if (k->mem) return PK_ERR_NOT_SUPPORTED;        /* shared memory says what is shared */
    if (!pk_pext_of(k, owner, true) || !pk_pext_of(k, pid, true)) return PK_ERR_NO_MEMORY;
    pk_pext *x = pk_pext_of(k, pid, false), *o = pk_pext_of(k, owner, false);
    if (x->fdom || x->fn || x->fsharers) return PK_ERR_BAD_STATE;   /* has its own words */
    uint32_t root = o->fdom ? o->fdom - 1 : owner;
    if (root == pid) return PK_ERR_INVALID_ARGS;
    x->fdom = root + 1;
    k->objs->ext[pk_proc_ext(pk_proc_at(k, root))].fsharers++;
    return PK_OK;
}
