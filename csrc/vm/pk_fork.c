/* pk_fork.c - process images: fork with copy-on-write, the write fault
 * that breaks the sharing, exec, and the heap's break (docs/memory.md,
 * "fork, exec, brk").
 *
 * fork copies the parent's regions and page tables into the child's new
 * address space; present pages are not copied but shared: both leaves
 * lose their write bit and get the software bit ("copy on write"), and
 * the frame's reference count says how many map it.  A write to such a
 * page faults: if the frame is still shared, the writer gets a copy (a
 * COW break); if it is the last mapping, it just gets the write bit back.
 * Pages of regions mapped shared=True stay shared, writable, in both.
 * A page in swap is copied to a new slot for the child. */
#include <string.h>
#include "pk_core.h"

static inline uint32_t as_id(pk_kernel *k, const pk_as *as) { return (uint32_t)(as - k->mem->as); }

/* Make the leaf of the parent at va (e) shared with the child (ce). */
static int share_leaf(pk_kernel *k, pk_as *child, uint64_t va, uint64_t *e, uint64_t *ce,
                      const pk_region **rc) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    if (pk_pte_swapped(f, *e)) {                 /* a copy in another slot */
        uint32_t slot = pk_swap_alloc(k);
        if (!slot) return PK_ERR_NO_MEMORY;
        *ce = ((uint64_t)slot << f->pfn_shift) | f->soft;
        child->st.swapped++;
        return PK_OK;
    }
    const pk_region *r = *rc;                    /* the last page's region, if it holds va */
    if (!r || va < r->start || va >= r->end) r = *rc = pk_as_region(child, va);
    if (!r || !(r->flags & PK_MAP_SHARED)) {
        if (*e & (f->write | f->soft)) *e = (*e & ~f->write) | f->soft;   /* COW */
    }
    uint32_t fr = (uint32_t)pk_pte_frame(f, *e);
    m->frames[fr].ref++;
    m->frames[fr].flags |= PK_FR_SHARED;
    *ce = *e & ~(f->accessed | f->dirty);
    child->st.rss++;
    return PK_OK;
}

/* Copy table `tab` (level, covering addresses from base) of the parent
 * into child. */
static int copy_level(pk_kernel *k, pk_as *child, uint32_t tab, uint32_t level, uint64_t base) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t shift = PK_PAGE_SHIFT + 9 * (f->levels - 1 - level);
    uint64_t *ctab = NULL;                       /* the child's table for this one (leaves) */
    const pk_region *rc = NULL;
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        uint64_t *e = (uint64_t *)m->data[tab] + i, va = base + ((uint64_t)i << shift);
        if (level + 1 < f->levels) {
            if (!(*e & f->valid)) continue;
            int s = copy_level(k, child, (uint32_t)pk_pte_frame(f, *e), level + 1, va);
            if (s) return s;
            continue;
        }
        if (!(*e & f->valid) && !pk_pte_swapped(f, *e)) continue;
        int nomem = 0;
        uint64_t *ce = ctab ? ctab + i : pk_pt_walk(k, child, va, true, &nomem);
        if (!ce) return PK_ERR_NO_MEMORY;
        ctab = ce - i;                           /* its entries are in one table (frame data stays put) */
        int s = share_leaf(k, child, va, e, ce, &rc);
        if (s) return s;
    }
    return PK_OK;
}

/* Give child (empty) a copy-on-write copy of parent's address space. */
static int as_copy(pk_kernel *k, pk_as *parent, pk_as *child) {
    int s = pk_regions_copy(k, child, parent);
    if (s) return s;
    child->st.brk = parent->st.brk;
    child->st.rss_limit = parent->st.rss_limit;
    return parent->root ? copy_level(k, child, parent->root, 0, 0) : PK_OK;
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
    if (!s) s = pk_proc_hooks_fork(k, t->pid, pid);   /* working directory, ... (pk_hooks.c) */
    if (s) {                                     /* it never existed */
        pk_thread_exit(k, ct, -1, PK_KILL_OOM);
        return s;
    }
    pk_ptree_link(k, pid, t->pid);              /* the forking process is its parent */
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
