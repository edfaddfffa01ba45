/* pk_opt.c - Belady's optimal replacement needs the future: for a script
 * it is in the script (docs/memory.md, "How OPT knows the future").
 *
 * The look-ahead replays a process's script from its thread's current
 * state (pc, loop counters, the index of a touch_range in progress; for
 * the thread making the faulting access, from the access after it)
 * without running it: it follows loops, and every touch, and every access
 * of a sequential touch_range, is a future reference.  What a script
 * cannot tell is skipped: random touch_ranges (their addresses come from
 * the generator at run time), and the timing between processes.  The
 * distance of a page is the number of its process's own accesses before
 * its next use; a page not used within the horizon (or ever) is at
 * distance "infinite".  A Python-bodied process has no known future: its
 * pages are all at infinity.  The look-ahead stops after HORIZON
 * accesses or STEPS instructions per process. */
#include "pk_core.h"

#define HORIZON  (1u << 20)
#define STEPS    (1u << 22)
#define INFINITE UINT64_MAX

typedef struct opt_scan {
    pk_kernel *k;
    pk_as *as;
    uint64_t n;                 /* accesses seen so far                      */
} opt_scan;

/* One future access of va: mark its frame with its distance if first. */
static void seen(opt_scan *s, uint64_t va) {
    pk_mem *m = s->k->mem;
    uint64_t *e = pk_pt_walk(s->k, s->as, va, false, NULL);
    s->n++;
    if (!e || !(*e & m->fmt->valid)) return;
    pk_frame *x = &m->frames[pk_pte_frame(m->fmt, *e)];
    if (x->mark == m->gen) return;
    x->mark = m->gen;
    x->last = s->n;
}

/* Accesses of sequential touch_range op from index i on. */
static void range_from(opt_scan *s, const pk_op *op, uint64_t i) {
    if (op->a != PK_PAT_SEQ) return;
    uint64_t len = op[1].b, stride = op[2].b, n = (len + stride - 1) / stride;
    for (; i < n && s->n < HORIZON; i++) seen(s, op->b + i * stride);
}

/* Replay ops from pc with the loop state of r (pc at a touch_range in
 * progress resumes it at index first). */
static void replay(opt_scan *s, const pk_prog *p, const pk_regs *r, uint64_t pc, uint64_t first) {
    uint64_t loops[PK_LOOP_DEPTH], depth = r->x[PK_REG_DEPTH];
    for (uint64_t d = 0; d < depth && d < PK_LOOP_DEPTH; d++) loops[d] = r->x[PK_REG_LOOP0 + d];
    for (uint32_t step = 0; step < STEPS && s->n < HORIZON && pc < p->nops; step++) {
        const pk_op *op = &p->ops[pc++];
        switch (op->code) {
        case PK_OP_TOUCH: seen(s, op->b); break;
        case PK_OP_TOUCH_RANGE: range_from(s, op, first); pc += 2; break;
        case PK_OP_MAP: case PK_OP_UNMAP: case PK_OP_PROTECT: pc++; break;
        case PK_OP_EXIT: case PK_OP_EXEC: return;
        case PK_OP_FORK: pc = op->a; break;            /* the parent's way */
        case PK_OP_LOOP:
            if (op->b == 0) pc = (uint64_t)op->a + 1;
            else if (depth < PK_LOOP_DEPTH) loops[depth++] = op->b;
            break;
        case PK_OP_ENDLOOP:
            if (depth && --loops[depth - 1]) pc = (uint64_t)op->a + 1;
            else if (depth) depth--;
            break;
        default: break;
        }
        first = 0;
    }
}

/* Distances for the pages of one address space (its first thread). */
static void lookahead_one(pk_kernel *k, pk_as *as) {
    pk_proc *p = pk_proc_at(k, as->pid);
    pk_thread *t = pk_thread_at(k, p->first_tid);
    if (t->kind != PK_BODY_SCRIPT || t->state == PK_TS_EXITED) return;
    const pk_prog *prog = &k->progs[t->prog];
    const pk_regs *r = pk_thread_live_regs(k, t);
    opt_scan s = { k, as, 0 };
    const pk_mem *m = k->mem;
    if (t->state == PK_TS_RUNNING && m->cur_op && m->cur_op >= prog->ops
        && m->cur_op < prog->ops + prog->nops) {      /* the access in progress */
        uint64_t at = (uint64_t)(m->cur_op - prog->ops);
        if (m->cur_op->code == PK_OP_TOUCH_RANGE) replay(&s, prog, r, at, *m->cur_i);
        else replay(&s, prog, r, at + 1, 0);
        return;
    }
    uint64_t pc = r->pc;
    replay(&s, prog, r, pc, pc < prog->nops && prog->ops[pc].code == PK_OP_TOUCH_RANGE ? r->x[PK_REG_RANGE_I] : 0);
}

/* Set frames[f].last to the distance of every candidate page (of as, or
 * of every process if as is NULL); INFINITE for pages not seen. */
void pk_opt_lookahead(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    if (++m->gen == 0) {                         /* wrapped: forget old marks */
        for (uint32_t f = 1; f <= m->hw; f++) m->frames[f].mark = 0;
        m->gen = 1;
    }
    if (as) lookahead_one(k, as);
    else
        for (uint32_t i = 1; i < m->nas; i++)
            if (m->as[i].alive && m->as[i].st.rss) lookahead_one(k, &m->as[i]);
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t f = m->head[l]; f; f = m->frames[f].next)
            if (m->frames[f].mark != m->gen) m->frames[f].last = INFINITE;
}
