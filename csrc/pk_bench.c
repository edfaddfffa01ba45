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
