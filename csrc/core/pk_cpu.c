/* pk_cpu.c - the winner tree that orders CPUs by their next timer.
 * (The context switch itself is pk_cpu_save / pk_cpu_load in pk_cpu.h,
 * used by pk_dispatch.c.) */
#include <string.h>
#include "pk_core.h"

#define NO_CPU 0xffff

static inline uint16_t earlier(const pk_kernel *k, uint16_t a, uint16_t b) {
    if (a == NO_CPU) return b;
    if (b == NO_CPU) return a;
    pk_time ta = k->cpus[a].timer, tb = k->cpus[b].timer;
    return (tb < ta || (tb == ta && b < a)) ? b : a;
}

int pk_cputree_init(pk_kernel *k, pk_cputree *t, uint32_t ncpus) {
    uint32_t size = 1;
    while (size < ncpus) size *= 2;
    t->size = size;
    t->node = pk_alloc(k, 2 * (size_t)size * sizeof(uint16_t));
    if (!t->node) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < size; i++)
        t->node[size + i] = i < ncpus ? (uint16_t)i : NO_CPU;
    if (size == 1) { t->node[1] = 0; return PK_OK; }
    for (uint32_t i = size - 1; i >= 1; i--)
        t->node[i] = earlier(k, t->node[2 * i], t->node[2 * i + 1]);
    return PK_OK;
}

void pk_cputree_fini(pk_kernel *k, pk_cputree *t) {
    pk_free(k, t->node, 2 * (size_t)t->size * sizeof(uint16_t));
    t->node = NULL;
}

void pk_cputree_update(pk_kernel *k, uint32_t cpu) {
    pk_cputree *t = &k->tree;
    for (uint32_t i = (t->size + cpu) / 2; i >= 1; i /= 2)
        t->node[i] = earlier(k, t->node[2 * i], t->node[2 * i + 1]);
}
