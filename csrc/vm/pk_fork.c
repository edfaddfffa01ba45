/* pk_fork.c - process images: fork with copy-on-write, the write fault
 * that breaks the sharing, exec, and the heap's break (docs/memory.md,
 * "fork, exec, brk").
 *
 * fork copies the parent's regions and interior page tables into the
 * child's new address space and shares the leaf tables themselves: no
 * page and no leaf entry is touched, so its cost follows the number of
 * tables.  While a leaf table is shared no write goes through it; the
 * first change of one of its entries by a sharer (a write fault, a page
 * brought in, unmap, protect) gives that sharer its own copy of the
 * table, and then its present pages are shared as a copying fork would
 * share them: both leaves lose their write bit and get the software bit
 * ("copy on write"), and the frame's reference count says how many map it.  A write to such a
 * page faults: if the frame is still shared, the writer gets a copy (a
 * COW break); if it is the last mapping, it just gets the write bit back.
 * Pages of regions mapped shared=True stay shared, writable, in both.
 * A page in swap is copied to a new slot for the child. */
#include <string.h>
#include "pk_core.h"

static inline uint32_t as_id(pk_kernel *k, const pk_as *as) { return (uint32_t)(as - k->mem->as); }

/* Make leaf e (at va, present or swapped) of a table being copied shared
 * with its copy ce: a present page gets one more reference and, outside
 * regions mapped shared, both entries become copy-on-write; a page in
 * swap is copied to a new slot.  as: the space whose regions say which
 * (*rc caches the last region found).  NO_MEMORY: swap is full. */
static int share_leaf(pk_kernel *k, const pk_as *as, uint64_t va, uint64_t *e, uint64_t *ce,
                      const pk_region **rc) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    if (pk_pte_swapped(f, *e)) {                 /* a copy in another slot */
        uint32_t slot = pk_swap_alloc(k);
        if (!slot) return PK_ERR_NO_MEMORY;
        *ce = ((uint64_t)slot << f->pfn_shift) | f->soft;
        return PK_OK;
    }
    const pk_region *r = *rc;                    /* the last page's region, if it holds va */
    if (!r || va < r->start || va >= r->end) r = *rc = pk_as_region(as, va);
    if (!r || !(r->flags & PK_MAP_SHARED)) {
        if (*e & (f->write | f->soft)) *e = (*e & ~f->write) | f->soft;   /* COW */
    }
    uint32_t fr = (uint32_t)pk_pte_frame(f, *e);
    m->frames[fr].ref++;
    m->frames[fr].flags |= PK_FR_SHARED;
    *ce = *e & ~(f->accessed | f->dirty);
    return PK_OK;
}

/* Give as its own copy of the leaf table that *slot names (shared by
 * fork), for the pages from base: as share_leaf makes it, entry by entry
 * (Zhao et al., "On-demand-fork", EuroSys 2021: the page-table page is
 * copied on the first change, not at fork).  NO_MEMORY if no frame or
 * swap slot can be had: then nothing changed but copy-on-write bits. */
int pk_pt_unshare(pk_kernel *k, pk_as *as, uint64_t *slot, uint64_t base) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t tab = (uint32_t)pk_pte_frame(f, *slot);
    uint32_t nt = pk_pt_new(k);
    if (!nt) return PK_ERR_NO_MEMORY;
    uint64_t *src = (uint64_t *)m->data[tab], *dst = (uint64_t *)m->data[nt];
    const pk_region *rc = NULL;
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        if (!(src[i] & f->valid) && !pk_pte_swapped(f, src[i])) continue;
        if (share_leaf(k, as, base + ((uint64_t)i << PK_PAGE_SHIFT), &src[i], &dst[i], &rc)) {
            for (uint32_t j = 0; j < i; j++)    /* give back what the copy took */
                if (dst[j] & f->valid) pk_frame_put(k, (uint32_t)pk_pte_frame(f, dst[j]));
                else if (pk_pte_swapped(f, dst[j])) pk_swap_free(k, (uint32_t)pk_pte_frame(f, dst[j]));
            pk_frame_put(k, nt);
            m->pt_pages--;
            return PK_ERR_NO_MEMORY;
        }
        dst[i] |= src[i] & (f->accessed | f->dirty);   /* its own bits stay its own */
    }
    *slot = (*slot & ~(f->pfn_mask << f->pfn_shift)) | ((uint64_t)nt << f->pfn_shift);
    if (m->frames[tab].va == (uint64_t)(as - m->as)) m->frames[tab].va = 0;  /* its pages are shared now */
    m->frames[tab].ref--;
    m->frames[nt].va = 0;
    pk_digest(k, base, 0x7abu | (uint64_t)nt << 16);
    return PK_OK;
}

/* as lets go of leaf table tab that others still share (exit, exec).  If
 * as owns the pages its leaves map, they become shared pages as fork
 * makes them (copy-on-write outside shared regions, PK_FR_SHARED), so
 * that the next write by a sharer takes them over (pk_cow_break). */
void pk_pt_leave(pk_kernel *k, pk_as *as, uint32_t tab, uint64_t base) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    if (m->frames[tab].va == (uint64_t)(as - m->as)) {
        uint64_t *e = (uint64_t *)m->data[tab];
        const pk_region *rc = NULL;
        for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
            if (!(e[i] & f->valid)) continue;
            uint32_t fr = (uint32_t)pk_pte_frame(f, e[i]);
            uint64_t va = base + ((uint64_t)i << PK_PAGE_SHIFT);
            const pk_region *r = rc && va >= rc->start && va < rc->end ? rc : (rc = pk_as_region(as, va));
            if ((!r || !(r->flags & PK_MAP_SHARED)) && (e[i] & (f->write | f->soft)))
                e[i] = (e[i] & ~f->write) | f->soft;
            m->frames[fr].flags |= PK_FR_SHARED;
        }
        m->frames[tab].va = 0;
    }
    pk_frame_put(k, tab);
}

/* The child's entry at `level` for va, making the tables above it. */
static uint64_t *child_slot(pk_kernel *k, pk_as *child, uint64_t va, uint32_t level) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    if (!child->root) {
        if (!(child->root = pk_pt_new(k))) return NULL;
        child->st.pt_pages++;
    }
    uint32_t tab = child->root;
    for (uint32_t l = 0; l < level; l++) {
        uint64_t *e = (uint64_t *)m->data[tab] + pk_pt_index(f, va, l);
        if (!(*e & f->valid)) {
            uint32_t nt = pk_pt_new(k);
            if (!nt) return NULL;
            child->st.pt_pages++;
            *e = ((uint64_t)nt << f->pfn_shift) | f->table;
        }
        tab = (uint32_t)pk_pte_frame(f, *e);
    }
    return (uint64_t *)m->data[tab] + pk_pt_index(f, va, level);
}

/* Copy table `tab` (level, covering addresses from base) of the parent
 * into child: the interior tables are copied, the leaf tables shared. */
static int copy_level(pk_kernel *k, pk_as *parent, pk_as *child, uint32_t tab, uint32_t level,
                      uint64_t base) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t shift = PK_PAGE_SHIFT + 9 * (f->levels - 1 - level);
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        uint64_t e = ((uint64_t *)m->data[tab])[i], va = base + ((uint64_t)i << shift);
        if (!(e & f->valid)) continue;
        uint32_t next = (uint32_t)pk_pte_frame(f, e);
        if (level + 2 < f->levels) {
            int s = copy_level(k, parent, child, next, level + 1, va);
            if (s) return s;
            continue;
        }
        uint64_t *ce = child_slot(k, child, va, level);
        if (!ce) return PK_ERR_NO_MEMORY;
        *ce = e & ~f->accessed;
        if (m->frames[next].ref == 1) m->frames[next].va = (uint64_t)(parent - m->as);
        m->frames[next].ref++;
        child->st.pt_pages++;
    }
    return PK_OK;
}

/* Give child (empty) a copy-on-write copy of parent's address space: its
 * own interior tables, the parent's leaf tables shared (so a fork's cost
 * follows the tables, not the pages), the same counts of pages. */
static int as_copy(pk_kernel *k, pk_as *parent, pk_as *child) {
    int s = pk_regions_copy(k, child, parent);
    if (s) return s;
    child->st.brk = parent->st.brk;
    child->st.rss_limit = parent->st.rss_limit;
    s = parent->root ? copy_level(k, parent, child, parent->root, 0, 0) : PK_OK;
    if (!s) {
        child->st.rss = parent->st.rss;
        child->st.swapped = parent->st.swapped;
    }
    return s;
}

/* fork by thread t (running on c, live registers there): a child process
 * whose thread starts at child_pc with t's registers.  Returns a status;
 * *ipis = shootdown interrupts (the parent's writable entries went);
 * *child_out: the child's pid. */
int pk_vm_fork(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t child_pc, uint64_t *ipis,
               uint32_t *child_out) {
    pk_as *parent = pk_as_of(k, t->pid);
    *ipis = 0;
    pk_spawn_args a = { .prog = t->prog, .sclass = t->sclass, .at = k->now,
                        .priority = t->priority, .nice = t->nice, .burst = t->burst,
                        .rt_prio = t->sclass ? t->rt_prio : 0, .tickets = t->tickets, .cpu = -1 };
    uint32_t pid, tid;
    int s = pk_spawn(k, &a, 1, &pid, &tid);
    if (s) return s;
    pk_thread *ct = pk_thread_at(k, tid);
    ct->regs = c->regs;
    ct->regs.pc = child_pc;
    ct->regs.x[PK_REG_REM] = 0;
    ct->regs.x[PK_REG_RANGE_I] = 0;
    ct->affinity = t->affinity;
    parent = pk_as_of(k, t->pid);               /* the address spaces may have moved */
    pk_as *child = pk_as_of(k, pid);
    s = as_copy(k, parent, child);
    if (!s && (pk_ptl_need(k, pid) || pk_ptl_need(k, t->pid)))   /* their tree links */
        s = PK_ERR_NO_MEMORY;
    if (!s) s = pk_proc_hooks_fork(k, t->pid, pid);   /* working directory, ... (pk_hooks.c) */
    if (s) {                                     /* it never existed */
        pk_thread_exit(k, ct, -1, PK_KILL_OOM);
        return s;
    }
    pk_ptree_link(k, pid, t->pid);              /* the forking process is its parent (links made above) */
    *child_out = pid;
    parent->st.forks++;
    *ipis = pk_tlb_shootdown(k, parent, 0, 1ull << (k->mem->fmt->va_bits - 1), (int)c->id);
    return PK_OK;
}

/* A write to present page e at va whose leaf is copy-on-write, in region
 * r: the writer gets its own frame (or the write bit, if it is the last
 * mapping).  *cost += Costs.minor_fault for a copy.  NO_MEMORY: no frame. */
int pk_cow_break(pk_kernel *k, pk_as *as, const pk_region *r, uint64_t va, uint64_t *e,
                 uint64_t *cost) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t old = (uint32_t)pk_pte_frame(f, *e);
    uint64_t page = va & ~(PK_PAGE_SIZE - 1);
    if (m->frames[old].ref == 1) {               /* the last mapping: reuse it */
        pk_repl_unlink(k, old);
        m->frames[old].owner = as_id(k, as);
        m->frames[old].va = page;
        m->frames[old].flags &= ~PK_FR_SHARED;
        pk_repl_link(k, old);
        *e = (*e | f->write) & ~f->soft;
        return PK_OK;
    }
    if (as->st.rss_limit && as->st.rss >= as->st.rss_limit) pk_repl_evict(k, as);
    uint32_t nf = pk_frame_alloc(k, as_id(k, as), page);
    if (!nf) return PK_ERR_NO_MEMORY;
    if (m->data[old] && pk_frame_data(k, nf)) memcpy(m->data[nf], m->data[old], PK_PAGE_SIZE);
    pk_frame_put(k, old);
    *e = pk_leaf_entry(f, nf, r->prot, r->flags);
    pk_repl_link(k, nf);
    as->st.cow_breaks++;
    *cost += k->cfg.costs.minor_fault_ns;
    uint64_t ipis = m->ipis;                     /* the old translation goes */
    pk_tlb_shootdown(k, as, page, page + PK_PAGE_SIZE, -1);
    m->ipis = ipis;
    pk_digest(k, va, 0xc0u | (uint64_t)nf << 16);
    return PK_OK;
}

/* exec by thread t on c: the address space is emptied and t runs script
 * program prog from its start with cleared registers. */
void pk_vm_exec(pk_kernel *k, pk_cpu *c, pk_thread *t, uint32_t prog) {
    pk_as *as = pk_as_of(k, t->pid);
    pk_pt_free_all(k, as);
    pk_regions_clear(as);
    as->st.brk = PK_HEAP_BASE;
    pk_tlb_shootdown(k, as, 0, 1ull << (k->mem->fmt->va_bits - 1), (int)c->id);
    t->prog = prog;
    pk_proc_at(k, t->pid)->prog = prog;
    uint64_t flags = c->regs.flags;
    memset(&c->regs, 0, sizeof c->regs);
    c->regs.flags = flags;
    if (pk_fd_used(k->fds, t->pid)) pk_fd_exec_close(k, t->pid);   /* close-on-exec */
    pk_digest(k, t->tid, 0xe7ecu | (uint64_t)prog << 16);
}

/* Set the break of as to end (page-aligned): the heap [PK_HEAP_BASE, end)
 * grows (if nothing else is mapped there) or shrinks (its pages go).
 * BAD_STATE: it would overlap another region; the break stays. */
int pk_as_brk(pk_kernel *k, pk_as *as, uint64_t end) {
    uint64_t cur = as->st.brk;
    if (end < PK_HEAP_BASE || end >> (k->mem->fmt->va_bits - 1)) return PK_ERR_OUT_OF_RANGE;
    if (end == cur) return PK_OK;
    if (end < cur) {
        int s = pk_as_unmap(k, as, end, cur - end);
        if (!s) as->st.brk = end;
        return s;
    }
    if (pk_regions_meet(as, cur, end)) return PK_ERR_BAD_STATE;
    pk_region *r = cur > PK_HEAP_BASE ? pk_region_from(as, cur - 1) : NULL;
    if (r && r->end == cur && r->start >= PK_HEAP_BASE          /* extend the heap region */
        && r->prot == (PK_PROT_READ | PK_PROT_WRITE) && r->flags == 0) {
        r->end = end;
        as->st.brk = end;
        return PK_OK;
    }
    int s = pk_as_map(k, as, cur, end - cur, PK_PROT_READ | PK_PROT_WRITE, 0);
    if (!s) as->st.brk = end;
    return s;
}
