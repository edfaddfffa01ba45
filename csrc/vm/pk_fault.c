/* pk_fault.c - the page-fault handler behind every access (docs/memory.md,
 * "One touch"): pk_as_access walks the page tables, and an access the
 * tables refuse is a fault.  The handler decides from the region whether
 * it brings a page in (minor or major fault, pk_page_in in pk_aspace.c),
 * breaks a copy-on-write share, fixes a permission, asks a user-space
 * pager, or is fatal to the process. */
#include "pk_core.h"
#include "pk_fs.h"

/* ---- faults --------------------------------------------------------------- */

/* Record a fatal fault of kind at va; *reason says how the process dies. */
static int fatal(pk_kernel *k, pk_as *as, uint32_t kind, uint64_t va, uint32_t *reason) {
    as->fault_kind = kind;
    as->fault_va = va;
    if (kind == PK_FAULT_NO_FRAME) *reason = PK_KILL_OOM;
    else if (kind == PK_FAULT_PAGER || kind == PK_FAULT_BEYOND_EOF) *reason = PK_KILL_SEGV;
    else if (kind == PK_FAULT_JOB_MEMORY) *reason = PK_KILL_JOB_MEMORY;
    else { *reason = PK_KILL_SEGV; as->st.protection_faults++; }
    bool nomem = kind == PK_FAULT_NO_FRAME || kind == PK_FAULT_JOB_MEMORY;
    PK_TRACE_OP(k, PK_TR_FAULT, nomem ? PK_TR_NO_FRAME : PK_TR_PROT, va);
    pk_digest(k, va, 0xfa17u | (uint64_t)kind << 16);
    return PK_ACC_KILL;
}

/* The page-fault handler: the walk of va (leaf entry e, or NULL) did not
 * allow the access.  Brings the page in or fixes a permission (then the
 * access is retried: PK_ACC_OK), or reports a major fault (PK_ACC_BLOCK:
 * the page is mapped, the thread blocks, then retries; PK_ACC_LATER
 * without doing anything if !may_block), or a fatal fault.  With no frame
 * left, the out-of-memory rule kills a process: another one frees its
 * memory and the fault goes on; if it picks this one, it dies. */
static int fault(pk_kernel *k, pk_as *as, uint64_t va, bool write, uint64_t *e,
                 uint64_t *cost, uint32_t *reason, bool may_block) {
    const pk_ptfmt *f = k->mem->fmt;
    const pk_region *r = pk_as_region(as, va);
    const pk_region *st = &k->mem->stack;
    if (!r && va >= st->start && va < st->end) r = st;          /* the stack region */
    if (!r) return fatal(k, as, PK_FAULT_UNMAPPED, va, reason);
    if (write && !(r->prot & PK_PROT_WRITE)) return fatal(k, as, PK_FAULT_WRITE, va, reason);
    if (r->flags & PK_MAP_SUPERVISOR) return fatal(k, as, PK_FAULT_SUPERVISOR, va, reason);
    uint64_t *slot = NULL;
    uint32_t tab = e ? pk_pt_leaf_table(k, as, va, &slot) : 0;
    if (tab && k->mem->frames[tab].ref > 1) {       /* a leaf table shared by fork: a copy first */
        while (pk_pt_unshare(k, as, slot, va & ~((PK_PAGE_SIZE << 9) - 1))) {
            pk_as *victim = pk_oom_kill(k, as, va);
            if (!victim) return fatal(k, as, PK_FAULT_NO_FRAME, va, reason);
            if (victim == as) { *reason = PK_KILL_OOM; return PK_ACC_KILL; }
        }
        e = pk_pt_walk(k, as, va, false, NULL);
    }
    if (e && (*e & f->valid) && (*e & f->soft)) {   /* copy on write */
        while (pk_cow_break(k, as, r, va, e, cost)) {
            pk_as *victim = pk_oom_kill(k, as, va);
            if (!victim) return fatal(k, as, PK_FAULT_NO_FRAME, va, reason);
            if (victim == as) { *reason = PK_KILL_OOM; return PK_ACC_KILL; }
        }
        return PK_ACC_OK;
    }
    if (e && (*e & f->valid)) {                  /* present: a write the PTE lacks */
        *e |= f->write;
        return PK_ACC_OK;
    }
    if (e && pk_pte_swapped(f, *e) && !may_block) return PK_ACC_LATER;
    if (r->shm && !k->mem->shm[r->shm].alive)      /* closed: untouched pages are gone */
        return fatal(k, as, PK_FAULT_UNMAPPED, va, reason);
    if (r->shm && k->mem->shm[r->shm].ino && !(e && pk_pte_swapped(f, *e))   /* a file's page */
        && pk_fs_cache_beyond(k, k->mem->shm[r->shm].ino, r->off + ((va - r->start) >> PK_PAGE_SHIFT)))
        return fatal(k, as, PK_FAULT_BEYOND_EOF, va, reason);      /* mmap(2): SIGBUS */
    if ((r->flags & PK_MAP_USERFAULT) && !(e && pk_pte_swapped(f, *e))) {
        int s = pk_pager_ask(k, as, va, write, may_block);
        if (s == PK_PAGER_KILL) return fatal(k, as, PK_FAULT_PAGER, va, reason);
        if (s != PK_OK) return s;                 /* PK_ACC_BLOCK / LATER: asked */
    }
    if (k->objs && pk_jobobj_mem_charge(k, as->pid)) return fatal(k, as, PK_FAULT_JOB_MEMORY, va, reason);
    bool major = false;
    while (pk_page_in(k, as, r, va, cost, &major)) {
        pk_as *victim = pk_oom_kill(k, as, va);
        if (!victim) return fatal(k, as, PK_FAULT_NO_FRAME, va, reason);
        if (victim == as) { *reason = PK_KILL_OOM; return PK_ACC_KILL; }
    }
    if (major) k->mem->block_ns = k->mem->mcfg.swap_latency;
    return major ? PK_ACC_BLOCK : PK_ACC_OK;
}

/* One access of va by a user thread of as: walk (levels x Costs.walk),
 * set Accessed / Dirty, fault and retry as needed.  A major fault
 * (PK_ACC_BLOCK) or PK_ACC_LATER leaves *cost and the counters of the
 * access as they were: the access happens again when the thread retries. */
int pk_as_access(pk_kernel *k, pk_as *as, uint64_t va, bool write, uint64_t *cost,
                 uint32_t *reason, uint64_t *pte_out, bool may_block) {
    const pk_ptfmt *f = k->mem->fmt;
    uint64_t need = f->valid | f->read | f->user | (write ? f->write : 0);
    uint64_t cost0 = *cost, walks0 = as->st.walks;
    as->st.touches++;
    if (va >> (f->va_bits - 1)) return fatal(k, as, PK_FAULT_UNMAPPED, va, reason);
    for (;;) {
        as->st.walks++;
        *cost += f->levels * k->cfg.costs.walk_ns;
        uint32_t tab = 0;
        uint64_t *e = pk_pt_walk_leaf(k, as, va, false, NULL, &tab);
        /* a leaf table shared by fork allows no write (pk_fork.c) */
        uint64_t deny = e && k->mem->frames[tab].ref > 1 ? f->write : 0;
        if (e && (*e & need & ~deny) == need) {
            *e |= f->accessed | (write ? f->dirty : 0);
            if (pte_out) *pte_out = *e & ~deny;
            return PK_ACC_OK;
        }
        int s = fault(k, as, va, write, e, cost, reason, may_block);
        if (s == PK_ACC_BLOCK || s == PK_ACC_LATER) {
            *cost = cost0;
            as->st.walks = walks0;
            as->st.touches--;
        }
        if (s != PK_ACC_OK) return s;
    }
}
