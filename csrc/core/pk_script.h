/* pk_script.h - the script interpreter's fast path, inlined into the
 * dispatcher.
 *
 * The commonest thing a CPU-bound script does when its compute ends is
 * `ENDLOOP` back to a loop whose body begins with a `COMPUTE`: one jump
 * and one new compute.  pk_script_advance handles exactly that case in
 * line (no indirect call, no instruction switch) and hands every other
 * case to the interpreter (script_advance in pk_script.c).  The result is
 * the interpreter's, bit for bit: the same registers, pc, flags and host
 * work (one unit: the ENDLOOP; the COMPUTE that ends the advance is not
 * counted, as in the interpreter's loop). */
#ifndef PK_SCRIPT_H
#define PK_SCRIPT_H
#include "pk_core.h"

static PK_ALWAYS_INLINE int pk_script_advance(pk_kernel *k, pk_cpu *c, pk_thread *t,
                                              uint64_t *arg) {
    pk_regs *r = &c->regs;
    const pk_prog *p = &k->progs[t->prog];
    uint64_t pc = r->pc;
    if (PK_LIKELY(pc < p->nops)) {
        const pk_op *op = &p->ops[pc];
        if (op->code == PK_OP_ENDLOOP) {
            uint64_t *count = &r->x[PK_REG_LOOP0 + r->x[PK_REG_DEPTH] - 1];
            uint64_t body = (uint64_t)op->a + 1;          /* the loop's first instruction */
            if (*count > 1 && body < p->nops) {
                const pk_op *b = &p->ops[body];
                if (b->code == PK_OP_COMPUTE && b->b) {
                    --*count;
                    r->x[PK_REG_REM] = b->b;
                    r->pc = body + 1;
                    r->flags = (r->flags | PK_RF_STARTED | PK_RF_COMPUTE) & ~(uint64_t)PK_RF_POLL;
                    k->same_steps += 1;
                    return PK_ACT_RUN;
                }
            }
        }
    }
    return pk_script_body.advance(k, c, t, arg);
}
#endif
