/* pk_host.c - thread bodies that run in the host (Python generators).
 *
 * The C core cannot run such a body; when one needs its next operation
 * the dispatcher stops with PK_STOP_HOST, the thread in its stop record.  The
 * host computes the operation and passes it to the next pk_kernel_run,
 * which validates it and stores it in x[HOST_OP] / x[HOST_ARG] with the
 * HOST_READY flag; advance() then turns it into an action. */
#include "pk_core.h"

static int host_advance(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t *arg) {
    pk_regs *r = &c->regs;
    if (!(r->flags & PK_RF_HOST_READY)) return PK_ACT_HOST;
    r->flags = (r->flags & ~(uint64_t)(PK_RF_HOST_READY | PK_RF_POLL | PK_RF_COMPUTE)) | PK_RF_STARTED;
    r->pc++;
    uint64_t v = r->x[PK_REG_HOST_ARG];
    switch (r->x[PK_REG_HOST_OP]) {
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

const pk_body_ops pk_host_body = { host_advance, PK_BODY_F_WAIT_REG };
