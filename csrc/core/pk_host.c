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
 * The operations on futexes (futex wait, lock, condition variable,
 * semaphore) are the script instructions, run by the same code (pk_futex.c): a thread
 * that must wait keeps the operation (HOST_READY stays) and runs it again
 * when woken, as a script's pc stays on its instruction; when it is done
 * its status is in x[PK_REG_STATUS] and x[HOST_OP] still names it, for
 * the host to turn into the value (or exception) the body's yield gives.
 * A futex wait may carry a deadline (pk_host_deliver_until): it is put in
 * x[PK_REG_TIMEOUT] as an absolute instant, as a script's TIMEOUT before
 * its wait becomes once the wait begins (pk_wait_script).
 *
 * A write or read on a kernel object (ctx.write, ctx.read, ctx.call) is
 * done by the host when the body makes it or when its wait ends; the
 * body then yields, or the host gives, PK_OP_CHAN_WRITE / PK_OP_CHAN_READ
 * with b = the handle's value and a = PK_HOST_WOKE (it waited) |
 * PK_HOST_HELD (the host holds its result): the thread takes the CPU time
 * a script's write or read takes (pk_obj_op_cost), then needs its next
 * operation. */
#include "pk_core.h"
#include "pk_trace.h"
#include "pk_obj.h"

#define PK_HOST_WOKE 1u
#define PK_HOST_HELD 2u

/* the operations on futexes a host body yields as script instructions
 * (every one but FUTEX_WAKE, which ctx does when the body makes it) */
static inline bool host_futex_op(uint64_t op) {
    return op == PK_OP_FUTEX_WAIT || (op >= PK_OP_LOCK && op <= PK_OP_COND_BROADCAST);
}

static int host_advance(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t *arg) {
    pk_regs *r = &c->regs;
    if (!(r->flags & PK_RF_HOST_READY)) return PK_ACT_HOST;
    r->flags = (r->flags & ~(uint64_t)(PK_RF_POLL | PK_RF_COMPUTE)) | PK_RF_STARTED;
    uint64_t code = r->x[PK_REG_HOST_OP], v = r->x[PK_REG_HOST_ARG];
    r->pc++;                                        /* pc counts operations begun */
    if (host_futex_op(code)) {                      /* pk_futex.c, as for a script */
        pk_op op = { (uint32_t)code, (uint32_t)r->x[PK_REG_HOST_A], v };
        PK_TRACE_CUR(k, t);
        int act = pk_script_obj_op(k, t, r, &op);
        if (act == PK_ACT_WAIT) return act;         /* its wake (pk_wait.c) takes pc
                                                       back: it runs again */
        r->flags &= ~(uint64_t)PK_RF_HOST_READY;
        return act >= 0 ? act : PK_ACT_HOST;        /* done: the next operation */
    }
    r->flags &= ~(uint64_t)PK_RF_HOST_READY;
    switch (code) {
    case PK_OP_CHAN_WRITE: case PK_OP_CHAN_READ: {   /* done: its cost (pk_chan.c) */
        pk_time cost = pk_obj_op_cost(k, t, (v & 0xfffffu) - 1, r->x[PK_REG_HOST_A] & PK_HOST_WOKE);
        if (!cost) return PK_ACT_HOST;
        r->x[PK_REG_REM] = cost;
        return PK_ACT_RUN;
    }
    case PK_OP_COMPUTE: r->x[PK_REG_REM] = v; r->flags |= PK_RF_COMPUTE; return PK_ACT_RUN;
    case PK_OP_IO: *arg = v; return PK_ACT_BLOCK;
    case PK_OP_SLEEP: *arg = v; return PK_ACT_SLEEP;
    case PK_OP_POLL:
        if (!v) return PK_ACT_AGAIN;                /* nothing to wait for */
        pk_poll_begin(k, r, v);
        return PK_ACT_RUN;
    case PK_OP_YIELD: return PK_ACT_YIELD;
    case PK_OP_EXIT: *arg = v; return PK_ACT_EXIT;
    case PK_OP_OBJ_WAIT: {                          /* pk_wait.c */
        int act = pk_wait_host(k, t, r, v);
        if (act == PK_ACT_KILL) *arg = PK_KILL_BAD_OP;
        return act;
    }
    default: *arg = v; return PK_ACT_KILL;          /* PK_OP_KILL */
    }
}

/* Validate operation op (b, a) for host thread t, waiting on CPU c, and
 * store it for host_advance. */
static int host_deliver(pk_kernel *k, pk_cpu *c, pk_thread *t, uint32_t op, uint64_t b,
                        uint64_t a) {
    (void)k; (void)t;
    if (host_futex_op(op)) {
        if (a > UINT32_MAX) return PK_ERR_INVALID_ARGS;
        pk_op check = { op, (uint32_t)a, b };
        if (pk_futex_op_check(&check)) return PK_ERR_INVALID_ARGS;
    } else if (op == PK_OP_CHAN_WRITE || op == PK_OP_CHAN_READ) {
        if (b > UINT32_MAX || a > (PK_HOST_WOKE | PK_HOST_HELD)) return PK_ERR_INVALID_ARGS;
    } else {
        if (a) return PK_ERR_INVALID_ARGS;
        switch (op) {
        case PK_OP_COMPUTE: case PK_OP_IO: case PK_OP_SLEEP: case PK_OP_POLL:
            if (b > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_EXIT:
            if ((int64_t)b < INT32_MIN || (int64_t)b > INT32_MAX) return PK_ERR_OUT_OF_RANGE;
            break;
        case PK_OP_YIELD: case PK_OP_OBJ_WAIT: break;   /* a wait id: pk_wait_host checks it */
        case PK_OP_KILL:
            if (b == PK_KILL_NONE || b > PK_KILL_LAST) return PK_ERR_INVALID_ARGS;
            break;
        default: return PK_ERR_INVALID_ARGS;
        }
    }
    pk_regs *r = &c->regs;
    r->x[PK_REG_HOST_OP] = op;
    r->x[PK_REG_HOST_ARG] = b;
    r->x[PK_REG_HOST_A] = a;
    r->flags |= PK_RF_HOST_READY;
    return PK_OK;
}

const pk_body_ops pk_host_body = { host_advance, PK_BODY_F_WAIT_REG, host_deliver };

int pk_host_give(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a, uint64_t deadline) {
    pk_thread *t = k->host_wait;
    const pk_body_ops *ops = pk_bodies[t->kind];
    if (!ops->deliver) return PK_ERR_INTERNAL;
    if (deadline != PK_FOREVER && (op != PK_OP_FUTEX_WAIT || ops != &pk_host_body))
        return PK_ERR_INVALID_ARGS;                 /* only a wait has a deadline */
    if (deadline != PK_FOREVER && deadline > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    int s = ops->deliver(k, k->host_cpu, t, op, b, a);
    if (s) return s;
    if (deadline != PK_FOREVER)                     /* absolute: pk_wait_script */
        k->host_cpu->regs.x[PK_REG_TIMEOUT] = deadline | (1ull << 63);
    k->host_resume = k->host_cpu;       /* serviced next (pk_kernel_run) */
    k->host_wait = NULL;
    k->host_cpu = NULL;
    k->same_steps += PK_WORK_HOST;      /* host work: the host's time to make it */
    return PK_OK;
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
