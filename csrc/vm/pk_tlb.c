/* pk_tlb.c - per-CPU TLBs: set-associative caches of translations, tagged
 * with the address space (ASID / PCID) when asid is on, flushed on an
 * address-space switch when it is off; shootdowns by inter-processor
 * interrupt when a mapping changes (docs/memory.md). */
#include <string.h>
#include "pk_core.h"

/* Allocate the TLBs of every CPU (none if tlb_entries is 0). */
int pk_tlbs_init(pk_kernel *k) {
    pk_mem *m = k->mem;
    const pk_mmu_config *u = &m->mmu;
    m->tlbs = pk_alloc(k, k->ncpus * sizeof(pk_tlb));
    if (!m->tlbs) return PK_ERR_NO_MEMORY;
    if (!u->tlb_entries) return PK_OK;
    m->ways = u->tlb_ways;
    m->sets = u->tlb_entries / u->tlb_ways;
    for (uint32_t i = 0; i < k->ncpus; i++) {
        m->tlbs[i].e = pk_alloc(k, u->tlb_entries * sizeof(pk_tlbe));
        if (!m->tlbs[i].e) return PK_ERR_NO_MEMORY;
    }
    return PK_OK;
}

void pk_tlbs_fini(pk_kernel *k) {
    pk_mem *m = k->mem;
    if (!m->tlbs) return;
    for (uint32_t i = 0; i < k->ncpus; i++)
        pk_free(k, m->tlbs[i].e, (size_t)m->sets * m->ways * sizeof(pk_tlbe));
    pk_free(k, m->tlbs, k->ncpus * sizeof(pk_tlb));
}

static inline uint32_t flags_of(const pk_ptfmt *f, uint64_t pte) {
    return (pte & f->write ? PK_TLBE_WRITE : 0) | (pte & f->user ? PK_TLBE_USER : 0)
         | (pte & f->dirty ? PK_TLBE_DIRTY : 0) | (pte & f->global ? PK_TLBE_GLOBAL : 0)
         | ((f->exec ? (pte & f->exec) != 0 : !(pte & f->nx)) ? PK_TLBE_EXEC : 0);
}

/* Enter the translation pte of vpn for asid in t: over an entry for the
 * same page, else an invalid way, else the set's least recently used (or
 * a random one: the kernel's generator). */
void pk_tlb_fill(pk_kernel *k, pk_tlb *t, uint64_t vpn, uint32_t asid, uint64_t pte) {
    pk_mem *m = k->mem;
    if (!m->sets) return;
    pk_tlbe *set = &t->e[(vpn & (m->sets - 1)) * m->ways], *v = NULL;
    for (uint32_t w = 0; w < m->ways && !v; w++)
        if (set[w].vpn1 == vpn + 1 && (set[w].asid == asid || (set[w].flags & PK_TLBE_GLOBAL)))
            v = &set[w];
    for (uint32_t w = 0; w < m->ways && !v; w++)
        if (!set[w].vpn1) v = &set[w];
    if (!v && m->mmu.tlb_random) v = &set[pk_rng_next(&k->rng) % m->ways];
    if (!v) {                                   /* LRU: the oldest way */
        v = set;
        for (uint32_t w = 1; w < m->ways; w++)
            if (set[w].stamp < v->stamp) v = &set[w];
    }
    *v = (pk_tlbe){ vpn + 1, asid, flags_of(m->fmt, pte), ++t->clock,
                     (uint32_t)pk_pte_frame(m->fmt, pte), 0 };
}

/* Invalidate every entry of t but the global ones. */
void pk_tlb_flush(pk_mem *m, pk_tlb *t) {
    uint64_t n = (uint64_t)m->sets * m->ways;
    for (uint64_t i = 0; i < n; i++)
        if (!(t->e[i].flags & PK_TLBE_GLOBAL)) t->e[i].vpn1 = 0;
    t->st.flushes++;
}

/* Invalidate the entries of asid for pages [va, end) in t. */
static void tlb_invalidate(pk_mem *m, pk_tlb *t, uint32_t asid, uint64_t va, uint64_t end) {
    uint64_t n = (uint64_t)m->sets * m->ways;
    uint64_t lo = (va >> PK_PAGE_SHIFT) + 1, hi = (end >> PK_PAGE_SHIFT) + 1;
    for (uint64_t i = 0; i < n; i++) {
        pk_tlbe *e = &t->e[i];
        if (e->vpn1 >= lo && e->vpn1 < hi && (e->asid == asid || (e->flags & PK_TLBE_GLOBAL)))
            e->vpn1 = 0;
    }
}

uint64_t pk_tlb_shootdown(pk_kernel *k, pk_as *as, uint64_t va, uint64_t end, int self) {
    pk_mem *m = k->mem;
    if (!m->sets) return 0;
    uint32_t id = (uint32_t)(as - m->as);
    uint64_t ipis = 0;
    for (uint32_t w = 0; w < PK_MAX_CPUS / 64; w++)
        for (uint64_t bits = as->cpus[w]; bits; bits &= bits - 1) {
            uint32_t cpu = w * 64 + (uint32_t)__builtin_ctzll(bits);
            tlb_invalidate(m, &m->tlbs[cpu], id, va, end);
            if ((int)cpu == self) continue;
            m->tlbs[cpu].st.shootdowns++;
            ipis++;
        }
    m->ipis += ipis;
    return ipis;
}
