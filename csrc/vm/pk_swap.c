/* pk_swap.c - the swap device's slots, and the fault series (docs/memory.md,
 * "Replacement and swap", "Statistics").
 *
 * Slots are numbered 1..Memory.swap; 0 means "none".  Like frames, the
 * slot table grows with the highest slot ever used and freed slots are
 * reused first, so a large device costs nothing until it is used.  A
 * swapped page's PTE is not present, has the software bit set, and holds
 * the slot where a present one holds the frame number.
 *
 * The fault series counts faults (minor and major) per bucket of
 * `width` ns from time 0.  It keeps at most PK_SERIES_MAX buckets: when time
 * outgrows them, neighbours merge and the width doubles, so the series
 * costs at most 16 KiB however long the run. */
#include "pk_core.h"

/* A free swap slot, or 0 if the device is full (or there is none). */
uint32_t pk_swap_alloc(pk_kernel *k) {
    pk_mem *m = k->mem;
    uint32_t s = m->slot_free;
    if (s) m->slot_free = m->slot_next[s];
    else {
        if (m->slot_hw >= m->mcfg.swap) return 0;
        if (m->slot_hw + 1 >= m->slot_cap) {
            uint64_t cap = m->slot_cap ? (uint64_t)m->slot_cap * 2 : 1024;
            if (cap > m->mcfg.swap + 1) cap = m->mcfg.swap + 1;
            uint32_t *n = pk_realloc(k, m->slot_next, m->slot_cap * sizeof *n, cap * sizeof *n);
            if (!n) return 0;
            m->slot_next = n;
            m->slot_cap = (uint32_t)cap;
        }
        s = ++m->slot_hw;
    }
    m->slot_next[s] = 0;
    m->swap_used++;
    return s;
}

/* Slot s holds nothing any more. */
void pk_swap_free(pk_kernel *k, uint32_t s) {
    pk_mem *m = k->mem;
    m->slot_next[s] = m->slot_free;
    m->slot_free = s;
    m->swap_used--;
}

/* Free the slot table and the fault series. */
void pk_swap_fini(pk_kernel *k) {
    pk_mem *m = k->mem;
    pk_free(k, m->slot_next, m->slot_cap * sizeof(uint32_t));
    pk_free(k, m->series, PK_SERIES_MAX * sizeof(uint32_t));
}

/* Count one fault at k->now in the series (allocated on the first). */
void pk_fault_count(pk_kernel *k) {
    pk_mem *m = k->mem;
    if (!m->series && !(m->series = pk_alloc(k, PK_SERIES_MAX * sizeof(uint32_t)))) return;
    uint64_t i = k->now / m->width;
    while (i >= PK_SERIES_MAX) {                 /* merge pairs, double the width */
        for (uint32_t j = 0; j < PK_SERIES_MAX / 2; j++)
            m->series[j] = m->series[2 * j] + m->series[2 * j + 1];
        for (uint32_t j = PK_SERIES_MAX / 2; j < PK_SERIES_MAX; j++) m->series[j] = 0;
        m->width *= 2;
        m->nseries = (m->nseries + 1) / 2;
        i = k->now / m->width;
    }
    if (m->series[i] != UINT32_MAX) m->series[i]++;
    if (i + 1 > m->nseries) m->nseries = (uint32_t)i + 1;
}

int pk_mem_fault_series(pk_kernel *k, uint32_t *out, uint32_t cap, uint32_t *count_out,
                        uint64_t *width_out) {
    if (!k || !count_out || !width_out || (cap && !out)) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    pk_mem *m = k->mem;
    *count_out = m->nseries;
    *width_out = m->width;
    for (uint32_t i = 0; i < m->nseries && i < cap; i++) out[i] = m->series[i];
    return PK_OK;
}
