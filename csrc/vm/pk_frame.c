/* pk_frame.c - physical memory: the frame table, its allocator and
 * lazily allocated frame contents (docs/memory.md, "Design").
 *
 * Frames are numbered 1..frames; 0 means "no frame".  The table and the
 * contents pointers grow with the highest frame ever handed out (hw), so
 * memory that is never used costs nothing.  Freed frames are reused
 * first, last freed first. */
#include <string.h>
#include "pk_core.h"

/* Grow the frame table and the contents pointers to hold frame hw + 1. */
static bool frames_grow(pk_kernel *k, pk_mem *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 1024;
    if ((uint64_t)cap > m->mcfg.frames + 1) cap = (uint32_t)(m->mcfg.frames + 1);
    pk_frame *f = pk_realloc(k, m->frames, m->cap * sizeof *f, cap * sizeof *f);
    if (!f) return false;
    m->frames = f;
    uint8_t **d = pk_realloc(k, m->data, m->cap * sizeof *d, cap * sizeof *d);
    if (!d) return false;          /* frames keeps its larger size: harmless */
    m->data = d;
    m->cap = cap;
    return true;
}

/* A free frame owned by address space `owner` (0: a page-table page),
 * mapped at va, with one reference; 0 if every frame is in use and no
 * page can be evicted, or the host refuses memory.  With a swap device,
 * no free frame means a global eviction, and an allocation that leaves
 * free frames below the low watermark reclaims up to the high one. */
uint32_t pk_frame_alloc(pk_kernel *k, uint32_t owner, uint64_t va) {
    pk_mem *m = k->mem;
    if (!m->nfree) {
        if (!m->mcfg.swap) return 0;
        m->reclaims++;
        if (!pk_repl_evict(k, NULL)) return 0;
    }
    uint32_t f = m->free_head;
    if (f) m->free_head = m->frames[f].next;
    else {
        if (m->hw >= m->mcfg.frames) return 0;
        if (m->hw + 1 >= m->cap && !frames_grow(k, m)) return 0;
        f = ++m->hw;
        m->data[f] = NULL;
    }
    m->frames[f] = (pk_frame){ 1, owner, va, 0, 0, 0, 0, 0 };
    m->nfree--;
    if (PK_UNLIKELY(m->nfree < m->mcfg.low)) pk_repl_watermark(k);
    return f;
}

/* Drop one reference to frame f; at zero it is free (its contents too). */
void pk_frame_put(pk_kernel *k, uint32_t f) {
    pk_mem *m = k->mem;
    pk_frame *fr = &m->frames[f];
    if (--fr->ref) return;
    if (fr->flags & PK_FR_LISTED) pk_repl_unlink(k, f);
    if (m->data[f]) {
        pk_free(k, m->data[f], PK_PAGE_SIZE);
        m->data[f] = NULL;
        m->data_pages--;
    }
    fr->owner = 0;
    fr->flags = 0;
    fr->next = m->free_head;
    m->free_head = f;
    m->nfree++;
}

/* The 4 KiB contents of frame f, allocated (zeroed) on first use; NULL
 * if the host refuses memory. */
uint8_t *pk_frame_data(pk_kernel *k, uint32_t f) {
    pk_mem *m = k->mem;
    if (!m->data[f]) {
        m->data[f] = pk_alloc(k, PK_PAGE_SIZE);
        if (m->data[f]) m->data_pages++;
    }
    return m->data[f];
}

/* Set up the memory system of k (no frame is allocated yet). */
int pk_mem_init(pk_kernel *k, const pk_mem_config *mc, const pk_mmu_config *u) {
    const pk_ptfmt *fmt = pk_ptfmt_get(u->format);
    if (!fmt) return PK_ERR_INVALID_ARGS;
    if (mc->frames < 1 || mc->frames > 0xfffffffeull) return PK_ERR_OUT_OF_RANGE;
    if (mc->replacement < PK_REPL_FIFO || mc->replacement > PK_REPL_TWO_LIST || mc->track > 1)
        return PK_ERR_INVALID_ARGS;
    if (mc->replacement == PK_REPL_OPT && mc->track) return PK_ERR_INVALID_ARGS;
    if (mc->swap > 0xfffffffeull || mc->swap_latency > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (mc->low > mc->high || mc->high > mc->frames) return PK_ERR_OUT_OF_RANGE;
    if (mc->fault_interval == 0 || mc->fault_interval > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if ((mc->stack & (PK_PAGE_SIZE - 1)) || mc->stack > (1ull << (fmt->va_bits - 2)))
        return PK_ERR_OUT_OF_RANGE;
    if (mc->max_map_count > 0xfffffffeull) return PK_ERR_OUT_OF_RANGE;
    if (u->tlb_entries > 65536 || u->asid > 1 || u->tlb_random > 1) return PK_ERR_OUT_OF_RANGE;
    if (u->tlb_entries) {
        if (!u->tlb_ways || u->tlb_entries % u->tlb_ways) return PK_ERR_INVALID_ARGS;
        uint32_t sets = u->tlb_entries / u->tlb_ways;
        if (sets & (sets - 1)) return PK_ERR_INVALID_ARGS;
    }
    pk_mem *m = pk_alloc(k, sizeof *m);
    if (!m) return PK_ERR_NO_MEMORY;
    m->mcfg = *mc;
    m->mmu = *u;
    m->fmt = fmt;
    m->nfree = mc->frames;
    m->nas = 1;                    /* id 0: "no address space" */
    m->k = k;
    uint64_t top = 1ull << (fmt->va_bits - 1);
    m->stack = (pk_region){ .start = top - mc->stack, .end = top, .prot = PK_PROT_READ | PK_PROT_WRITE };
    m->width = mc->fault_interval;
    k->mem = m;
    int s = pk_tlbs_init(k);
    if (s) pk_mem_fini(k);
    return s;
}

/* Free the memory system: contents, tables, address spaces. */
void pk_mem_fini(pk_kernel *k) {
    pk_mem *m = k->mem;
    if (!m) return;
    pk_tlbs_fini(k);
    pk_swap_fini(k);
    pk_shm_fini(k);
    for (uint32_t i = 1; i < m->nas; i++) pk_regions_free(k, &m->as[i]);
    pk_free(k, m->as, m->as_cap * sizeof(pk_as));
    for (uint32_t f = 1; f <= m->hw && m->data; f++)
        if (m->data[f]) pk_free(k, m->data[f], PK_PAGE_SIZE);
    pk_free(k, m->frames, m->cap * sizeof(pk_frame));
    pk_free(k, m->data, m->cap * sizeof(uint8_t *));
    pk_free(k, m, sizeof *m);
    k->mem = NULL;
}
