/* pk_bench.c - the bare context-switch loop used as the in-process
 * baseline of bench/: save 32 registers + pc + sp + page-table root of
 * the outgoing context into its control block, pick the next from a ring,
 * restore it.  No events, no policy, no accounting: the floor that the
 * dispatcher's own switch rate is compared against.  It is compiled with
 * the same instruction-set clones as pk_kernel_run, so the comparison is
 * like for like. */
#include <stdlib.h>
#include "pk_core.h"

typedef struct bare_ctx {
    uint64_t x[32], pc, sp, root;
    struct bare_ctx *next;
} bare_ctx;

PK_HOT_CLONES
uint64_t pk_bench_bare_switch(uint32_t n, uint64_t switches) {
    if (n == 0 || n > (1u << 24)) return 0;
    bare_ctx *ctx = calloc(n, sizeof *ctx);
    if (!ctx) return 0;
    for (uint32_t i = 0; i < n; i++) {
        ctx[i].next = &ctx[(i + 1) % n];
        ctx[i].pc = i;
    }
    bare_ctx live = ctx[0], *cur = &ctx[0];
    for (uint64_t s = 0; s < switches; s++) {
        live.x[1]++;                      /* the "work" between switches */
        bare_ctx *next = cur->next;
        live.next = next;
        *cur = live;                      /* save */
        live = *next;                     /* restore */
        cur = next;
    }
    uint64_t sum = live.x[1];
    for (uint32_t i = 0; i < n; i++) sum += ctx[i].x[1] * (i + 1);
    free(ctx);
    return sum;
}

/* The shuffled floor: n records, each a pk_regs (32 registers, pc, flags:
 * the 272 bytes a pykernel thread saves) and a link to the next, visited
 * in a seeded random cyclic order, so that successive records are far
 * apart in memory, as the control blocks of a round robin over threads
 * spawned in one order but run in another are.  Save and restore are
 * whole-struct copies, which the build turns into vector moves (the same
 * -mmemcpy-strategy as the dispatcher, tests/test_switch_code.py). */
typedef struct bare_rec {
    pk_regs regs;
    struct bare_rec *next;
} bare_rec;

PK_HOT_CLONES
uint64_t pk_bench_bare_switch_shuffled(uint32_t n, uint64_t switches, uint64_t seed) {
    if (n == 0 || n > (1u << 24)) return 0;
    bare_rec *rec = calloc(n, sizeof *rec);
    uint32_t *order = malloc((size_t)n * sizeof *order);
    if (!rec || !order) { free(rec); free(order); return 0; }
    pk_rng rng;
    pk_rng_seed(&rng, seed);
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    for (uint32_t i = n - 1; i > 0; i--) {              /* Fisher-Yates */
        uint32_t j = (uint32_t)pk_rng_below(&rng, (uint64_t)i + 1);
        uint32_t tmp = order[i]; order[i] = order[j]; order[j] = tmp;
    }
    for (uint32_t i = 0; i < n; i++) {                  /* one cycle through all */
        rec[order[i]].next = &rec[order[(i + 1) % n]];
        rec[order[i]].regs.pc = i;
    }
    free(order);
    bare_rec *cur = &rec[0];
    pk_regs live = cur->regs;
    for (uint64_t s = 0; s < switches; s++) {
        live.x[1]++;                      /* the "work" between switches */
        bare_rec *next = cur->next;
        cur->regs = live;                 /* save */
        live = next->regs;                /* restore */
        cur = next;
    }
    uint64_t sum = live.x[1];
    for (uint32_t i = 0; i < n; i++) sum += rec[i].regs.x[1] * (i + 1);
    free(rec);
    return sum;
}
