/* pk_host.c - thread bodies that run in the host (Python generators).
 *
 * The core cannot run such a body itself; when one needs its next
 * operation, advance() says PK_ACT_HOST and the thread waits for it
 * (k->host_wait).  The operation comes from the host's stepping of the
 * generator: the upcall (csrc/py/pk_upcall.c, through k->host_step) within
 * the same pk_kernel_run, or the caller of pk_kernel_run after a stop
 * with PK_STOP_HOST.  Either way deliver() validates it and stores it in
 * x[HOST_OP] / x[HOST_ARG] / x[HOST_A] with the HOST_READY flag, and
 * advance() turns it into an action.
 *
 * The blocking operations on kernel objects are the script instructions,
 * run by the same code as a script's: futex wait, lock, condition
 * variable, semaphore (pk_futex.c); a read of a channel, socket or port
 * (PK_OP_CHAN_READ), a wait for one handle's signals (PK_OP_WAIT), a
 * socket write that waits for room (PK_OP_CHAN_WRITE) (pk_chan.c,
 * pk_socket.c, pk_port.c).  The body names a handle by its value; deliver
 * checks it for the thread's process and stores the slot the instruction
 * uses (an invalid one if the value names no handle: the instruction then
 * ends in BAD_HANDLE, as a script's).  A thread that must wait keeps the
 * operation (HOST_READY stays) and runs it again when woken, as a
 * script's pc stays on its instruction; when it is done its status is in
 * x[PK_REG_STATUS] and x[HOST_OP] still names it.  A read or write that
 * is done takes the CPU time a script's does (pk_obj_op_cost), then the
 * thread needs its next operation.  A read, a wait, a wait on several
 * handles and a wake may carry a deadline: it is put in x[PK_REG_TIMEOUT]
 * as an absolute instant, as a script's TIMEOUT before its wait becomes
 * once the wait begins (pk_wait_script).
 *
 * What a script drops and a body needs (the message read, with its
 * handles installed in the table and its txid; a socket's bytes; a port's
 * packet; the signals a wait observed; a socket write's byte count; a
 * wake's count) is kept in the thread's host-I/O record (pk_hio), taken
 * at the moment the instruction's code reads, so no other reader takes it
 * in between.  The upcall turns the record, or the status, into what the
 * body's yield gives (pk_upcall.c, host_result).  A wait on several
 * handles (ctx.wait_many: the items in the record) is the C wait record of
 * pk_wait.c (pk_wait_host_many), run as an instruction too.
 *
 * A channel write from a body is done when the body makes it
 * (Handle.write); the body then yields PK_OP_CHAN_WRITE with b = the
 * handle's value and a = 0 for its CPU time (x[HOST_A] = PK_HOST_COST). */
#include <string.h>
#include "pk_core.h"
#include "pk_trace.h"
#include "pk_obj.h"

#define NO_SLOT 0xffffffffu         /* a slot no table has: the instruction says BAD_HANDLE */

/* ---- the host-I/O records -------------------------------------------------- */

pk_hio *pk_hio_of(pk_kernel *k, const pk_thread *t) {
    if (!k->hio || t->tid >= k->hio_cap || t->kind != PK_BODY_HOST) return NULL;
    return k->hio[t->tid];
}

pk_hio *pk_hio_make(pk_kernel *k, const pk_thread *t) {
    pk_hio *h = pk_hio_of(k, t);
    if (h) return h;
    if (t->tid >= k->hio_cap) {
        uint32_t cap = k->hio_cap ? k->hio_cap : 16;
        while (cap <= t->tid) cap *= 2;
        pk_hio **n = pk_realloc(k, k->hio, (size_t)k->hio_cap * sizeof *n, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        memset(n + k->hio_cap, 0, (size_t)(cap - k->hio_cap) * sizeof *n);
        k->hio = n;
        k->hio_cap = cap;
    }
    h = pk_alloc(k, sizeof *h);
    if (!h) return NULL;
    memset(h, 0, sizeof *h);
    k->hio[t->tid] = h;
    return h;
}

uint8_t *pk_hio_room(pk_kernel *k, pk_hio *h, uint32_t n) {
    if (n <= h->cap) return h->data;
    uint8_t *d = pk_realloc(k, h->data, h->cap, n);
    if (!d) return NULL;
    h->data = d;
    h->cap = n;
    return d;
}

static void hio_free(pk_kernel *k, uint32_t tid) {
    pk_hio *h = k->hio[tid];
    if (!h) return;
    if (h->data) pk_free(k, h->data, h->cap);
    pk_free(k, h, sizeof *h);
    k->hio[tid] = NULL;
}

void pk_hio_thread_gone(pk_kernel *k, pk_thread *t) {
    if (t->tid < k->hio_cap) hio_free(k, t->tid);
}

void pk_hio_fini(pk_kernel *k) {
    for (uint32_t i = 0; i < k->hio_cap; i++) hio_free(k, i);
    pk_free(k, k->hio, (size_t)k->hio_cap * sizeof *k->hio);
    k->hio = NULL;
    k->hio_cap = 0;
}

/* ---- stepping ---------------------------------------------------------------- */

/* the operations on futexes a host body yields as script instructions
 * (FUTEX_WAKE is run by host_advance itself: its count is the result) */
static inline bool host_futex_op(uint64_t op) {
    return op == PK_OP_FUTEX_WAIT || (op >= PK_OP_LOCK && op <= PK_OP_COND_BROADCAST);
}

/* the instructions on handles a host body yields, run by pk_chan.c */
static inline bool host_obj_op(uint64_t op, uint64_t a) {
    return op == PK_OP_CHAN_READ || op == PK_OP_WAIT || (op == PK_OP_CHAN_WRITE && !(a & PK_HOST_COST));
}

bool pk_host_waiting_op(uint64_t op, uint64_t a) {
    return host_obj_op(op, a) || (op == PK_OP_OBJ_WAIT && a == PK_HOST_MANY);
}

uint32_t pk_host_op_name(pk_kernel *k, const pk_thread *t, uint64_t op, uint64_t a) {
    const pk_hio *h = pk_hio_of(k, t);
    bool alt = h && ((op == PK_OP_CHAN_READ && h->rtxid) || (op == PK_OP_FUTEX_WAKE && (a & PK_HOST_REQUEUE)));
    return (uint32_t)op | (alt ? PK_HOST_NAME_ALT : 0);
}

static int host_advance(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t *arg) {
    pk_regs *r = &c->regs;
    if (!(r->flags & PK_RF_HOST_READY)) return PK_ACT_HOST;
    r->flags = (r->flags & ~(uint64_t)(PK_RF_POLL | PK_RF_COMPUTE)) | PK_RF_STARTED;
    uint64_t code = r->x[PK_REG_HOST_OP], v = r->x[PK_REG_HOST_ARG], a = r->x[PK_REG_HOST_A];
    r->pc++;                                        /* pc counts operations begun */
    if (PK_LIKELY(code == PK_OP_COMPUTE)) {         /* the most common: first */
        r->flags &= ~(uint64_t)PK_RF_HOST_READY;
        r->x[PK_REG_REM] = v;
        r->flags |= PK_RF_COMPUTE;
        return PK_ACT_RUN;
    }
    int act = -2;
    if (host_futex_op(code) || host_obj_op(code, a)) {   /* as for a script */
        pk_op op = { (uint32_t)code, (uint32_t)a, v };
        PK_TRACE_CUR(k, t);
        act = pk_script_obj_op(k, t, r, &op);
    } else if (code == PK_OP_OBJ_WAIT && a == PK_HOST_MANY) {   /* pk_wait.c */
        pk_hio *h = pk_hio_of(k, t);
        act = h ? pk_wait_host_many(k, t, r, h) : (*arg = PK_KILL_BAD_OP, PK_ACT_KILL);
    }
    if (act != -2) {
        if (act == PK_ACT_WAIT) return act;         /* its wake (pk_wait.c) takes pc
                                                       back: it runs again */
        r->flags &= ~(uint64_t)PK_RF_HOST_READY;
        return act >= 0 ? act : PK_ACT_HOST;        /* done: the next operation */
    }
    r->flags &= ~(uint64_t)PK_RF_HOST_READY;
    switch (code) {
    case PK_OP_CHAN_WRITE: {                        /* done by the host: its cost (pk_chan.c) */
        pk_time cost = pk_obj_op_cost(k, t, (v & 0xfffffu) - 1, false);
        if (!cost) return PK_ACT_HOST;
        r->x[PK_REG_REM] = cost;
        return PK_ACT_RUN;
    }
    case PK_OP_FUTEX_WAKE: {                        /* pk_futex.c; the count is the result */
        pk_hio *h = pk_hio_of(k, t);
        uint32_t n = 0;
        int st = !h ? PK_ERR_INTERNAL
               : a & PK_HOST_REQUEUE ? pk_futex_requeue(k, t->pid, v, (uint32_t)a, h->key,
                                                     (uint32_t)h->count, &n)
               : pk_futex_wake(k, t->pid, v, (uint32_t)a, &n);
        r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
        if (h) { h->kind = PK_HIO_COUNT; h->count = n; }
        return PK_ACT_HOST;
    }
    case PK_OP_IO: *arg = v; return PK_ACT_BLOCK;
    case PK_OP_SLEEP: *arg = v; return PK_ACT_SLEEP;
    case PK_OP_POLL:
        if (!v) return PK_ACT_AGAIN;                /* nothing to wait for */
        pk_poll_begin(k, r, v);
        return PK_ACT_RUN;
    case PK_OP_YIELD: return PK_ACT_YIELD;
    case PK_OP_EXIT: *arg = v; return PK_ACT_EXIT;
    default: *arg = v; return PK_ACT_KILL;          /* PK_OP_KILL */
    }
}

/* The slot of handle value h in t's process, or NO_SLOT. */
static uint32_t slot_of(pk_kernel *k, const pk_thread *t, uint64_t h) {
    pk_hent *e;
    if (h > UINT32_MAX || !k->objs || pk_handle_get(k, t->pid, (uint32_t)h, &e) != PK_OK)
        return NO_SLOT;
    return (h & 0xfffffu) - 1;
}

/* Store operation op (b, a) in registers r for host_advance. */
static void host_store(pk_regs *r, uint64_t op, uint64_t b, uint64_t a) {
    r->x[PK_REG_HOST_OP] = op;
    r->x[PK_REG_HOST_ARG] = b;
    r->x[PK_REG_HOST_A] = a;
    r->x[PK_REG_TIMEOUT] = 0;
    r->flags |= PK_RF_HOST_READY;
}

/* Validate operation op (b, a) for host thread t, waiting on CPU c, and
 * store it for host_advance.  A read (b = the reply's txid for a call, a
 * = the handle's value) and a wait (b = signals, a = the handle's value)
 * are stored with the handle's slot. */
static int host_deliver(pk_kernel *k, pk_cpu *c, pk_thread *t, uint32_t op, uint64_t b,
                        uint64_t a) {
    if (host_futex_op(op)) {
        if (a > UINT32_MAX) return PK_ERR_INVALID_ARGS;
        pk_op check = { op, (uint32_t)a, b };
        if (pk_futex_op_check(&check)) return PK_ERR_INVALID_ARGS;
    } else if (op == PK_OP_CHAN_READ || op == PK_OP_WAIT) {
        if (b > UINT32_MAX || a > UINT32_MAX) return PK_ERR_INVALID_ARGS;
        pk_hio *h = pk_hio_make(k, t);
        if (!h) return PK_ERR_NO_MEMORY;
        h->kind = op == PK_OP_WAIT ? PK_HIO_SIGNALS : PK_HIO_NONE;
        h->signals = 0;
        h->rtxid = op == PK_OP_CHAN_READ ? (uint32_t)b : 0;
        if (op == PK_OP_CHAN_READ) b = 0;          /* a script's read of a channel has no count */
        a = slot_of(k, t, a);
    } else if (op == PK_OP_CHAN_WRITE) {            /* a channel write the host did: its cost */
        if (b > UINT32_MAX || a) return PK_ERR_INVALID_ARGS;
        a = PK_HOST_COST;
    } else if (op == PK_OP_FUTEX_WAKE) {            /* b = address, a = n */
        if (a > UINT32_MAX) return PK_ERR_INVALID_ARGS;
        pk_hio *h = pk_hio_make(k, t);
        if (!h) return PK_ERR_NO_MEMORY;
    } else {
        if (a) return PK_ERR_INVALID_ARGS;
        switch (op) {
        case PK_OP_COMPUTE: case PK_OP_IO: case PK_OP_SLEEP: case PK_OP_POLL:
            if (b > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_EXIT:
            if ((int64_t)b < INT32_MIN || (int64_t)b > INT32_MAX) return PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_YIELD: break;
        case PK_OP_KILL:
            if (b == PK_KILL_NONE || b > PK_KILL_LAST) return PK_ERR_INVALID_ARGS;
            break;
        default: return PK_ERR_INVALID_ARGS;
        }
    }
    host_store(&c->regs, op, b, a);
    return PK_OK;
}

const pk_body_ops pk_host_body = { host_advance, PK_BODY_F_WAIT_REG, host_deliver };

/* the operations pk_host_give may give with a deadline (a wait on
 * several handles has its own entry point, pk_host_deliver_wait) */
static inline bool timed_op(uint32_t op) {
    return op == PK_OP_FUTEX_WAIT || op == PK_OP_CHAN_READ || op == PK_OP_WAIT;
}

/* The waiting thread was given its operation: it is serviced next. */
static int given(pk_kernel *k, uint64_t deadline) {
    if (deadline != PK_FOREVER)                     /* absolute: pk_wait_script */
        k->host_cpu->regs.x[PK_REG_TIMEOUT] = deadline | (1ull << 63);
    k->host_resume = k->host_cpu;       /* serviced next (pk_kernel_run) */
    k->host_wait = NULL;
    k->host_cpu = NULL;
    k->same_steps += PK_WORK_HOST;      /* host work: the host's time to make it */
    return PK_OK;
}

int pk_host_give(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a, uint64_t deadline) {
    pk_thread *t = k->host_wait;
    const pk_body_ops *ops = pk_bodies[t->kind];
    if (!ops->deliver) return PK_ERR_INTERNAL;
    if (deadline != PK_FOREVER && (!timed_op(op) || ops != &pk_host_body))
        return PK_ERR_INVALID_ARGS;                 /* only a wait or read has a deadline */
    if (deadline != PK_FOREVER && deadline > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    int s = ops->deliver(k, k->host_cpu, t, op, b, a);
    return s ? s : given(k, deadline);
}

/* Is a host thread waiting for its next operation? */
static int host_waits(pk_kernel *k) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->in_hook || k->broken || !k->host_wait) return PK_ERR_BAD_STATE;
    return k->host_wait->kind == PK_BODY_HOST ? PK_OK : PK_ERR_INVALID_ARGS;
}

int pk_host_deliver(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->in_hook || k->broken || !k->host_wait) return PK_ERR_BAD_STATE;
    return pk_host_give(k, op, b, a, PK_FOREVER);
}

int pk_host_deliver_until(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a, uint64_t deadline) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->in_hook || k->broken || !k->host_wait) return PK_ERR_BAD_STATE;
    return pk_host_give(k, op, b, a, deadline);
}

int pk_host_deliver_write(pk_kernel *k, uint32_t h, const uint8_t *data, uint32_t n) {
    int s = host_waits(k);
    if (s) return s;
    if ((n && !data) || n > PK_SOCKET_MAX_CAPACITY) return PK_ERR_INVALID_ARGS;
    pk_thread *t = k->host_wait;
    pk_hio *r = pk_hio_make(k, t);
    if (!r || (n && !pk_hio_room(k, r, n))) return PK_ERR_NO_MEMORY;
    if (n) memcpy(r->data, data, n);               /* the bytes, copied now */
    r->kind = PK_HIO_COUNT;
    r->count = n;
    pk_regs *x = &k->host_cpu->regs;
    x->flags &= ~(uint64_t)PK_RF_PARTIAL;
    host_store(x, PK_OP_CHAN_WRITE, n, slot_of(k, t, h));
    return given(k, PK_FOREVER);
}

int pk_host_deliver_wait(pk_kernel *k, const pk_wait_item *items, uint32_t n, uint64_t deadline) {
    int s = host_waits(k);
    if (s) return s;
    if (!items || n == 0 || n > PK_WAIT_MANY_MAX) return PK_ERR_INVALID_ARGS;
    if (deadline != PK_FOREVER && deadline > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    pk_hio *r = pk_hio_make(k, k->host_wait);
    if (!r) return PK_ERR_NO_MEMORY;
    memcpy(r->items, items, n * sizeof *items);
    for (uint32_t i = 0; i < n; i++) r->items[i].pending = 0;
    r->n = n;
    r->kind = PK_HIO_PENDING;
    host_store(&k->host_cpu->regs, PK_OP_OBJ_WAIT, 0, PK_HOST_MANY);
    return given(k, deadline);
}

int pk_host_deliver_requeue(pk_kernel *k, uint64_t addr, uint32_t nwake, uint64_t addr2,
                            uint32_t nrequeue) {
    int s = host_waits(k);
    if (s) return s;
    pk_hio *r = pk_hio_make(k, k->host_wait);
    if (!r) return PK_ERR_NO_MEMORY;
    r->key = addr2;
    r->count = nrequeue;
    host_store(&k->host_cpu->regs, PK_OP_FUTEX_WAKE, addr, PK_HOST_REQUEUE | nwake);
    return given(k, PK_FOREVER);
}

int pk_host_blocked(pk_kernel *k, uint32_t tid, uint32_t *code) {
    if (!k || !code || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    pk_thread *t = pk_thread_at(k, tid);
    if (t->kind != PK_BODY_HOST || t->state != PK_TS_WAITING) return PK_ERR_BAD_STATE;
    const pk_regs *r = pk_thread_live_regs(k, t);
    uint64_t op = r->x[PK_REG_HOST_OP], a = r->x[PK_REG_HOST_A];
    if (!(r->flags & PK_RF_HOST_READY) || !pk_host_waiting_op(op, a)) return PK_ERR_BAD_STATE;
    *code = pk_host_op_name(k, t, op, a);
    return PK_OK;
}
