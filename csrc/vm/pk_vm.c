/* pk_vm.c - virtual memory seen from the rest of the core: configuration,
 * the hooks the dispatcher and spawn call, the script ops that touch and
 * map memory, and the entry points Python uses (docs/memory.md).
 *
 * How touches take time: the accesses of an op are made when it begins;
 * their costs are summed and the thread then runs that long (x[REM]), so
 * the time is its CPU time, exactly.  A touch_range keeps its progress in
 * x[RANGE_I] and resumes there. */
#include <string.h>
#include "pk_core.h"

#define REG_RANGE_I  PK_REG_RANGE_I
#define RANGE_CHUNK  4096       /* costly accesses per step of a touch_range */
#define RANGE_FREE   65536      /* accesses per step of one that costs nothing */

int pk_mem_configure(pk_kernel *k, const pk_mem_config *m, const pk_mmu_config *u) {
    if (!k || !m || !u) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (k->mem || k->procs.count) return PK_ERR_BAD_STATE;   /* once, before any spawn */
    return pk_mem_init(k, m, u);
}

/* The address space of next is loaded on c (CR3 / satp).  Without ASIDs
 * a change flushes c's TLB: returns the flush's cost (switch overhead). */
uint64_t pk_vm_switch(pk_kernel *k, pk_cpu *c, const pk_thread *next) {
    pk_mem *m = k->mem;
    pk_tlb *t = &m->tlbs[c->id];
    uint32_t id = pk_proc_at(k, next->pid)->as, prev = t->cur;
    if (prev == id) return 0;
    t->cur = id;
    t->st.switches++;
    m->as[id].cpus[c->id >> 6] |= 1ull << (c->id & 63);
    if (m->mmu.asid || !m->sets || !prev) return 0;
    m->as[prev].cpus[c->id >> 6] &= ~(1ull << (c->id & 63));   /* nothing of it left here */
    pk_tlb_flush(m, t);
    return k->cfg.costs.tlb_flush_ns;
}

/* One access of va by a thread of as running on c: its TLB, then on a
 * miss the walk (and faults), whose result fills the TLB.  With
 * Memory.track every access records the page's use (exact LRU, working
 * sets); otherwise a hit costs one predictable branch more. */
static inline int vm_access(pk_kernel *k, pk_cpu *c, pk_as *as, uint64_t va, bool write,
                            uint64_t *cost, uint32_t *reason, bool may_block) {
    pk_mem *m = k->mem;
    uint64_t vpn = va >> PK_PAGE_SHIFT, pte;
    int s;
    if (!m->sets) {
        s = pk_as_access(k, as, va, write, cost, reason, &pte, may_block);
    } else {
        pk_tlb *t = &m->tlbs[c->id];
        uint32_t asid = m->mmu.asid ? (uint32_t)(as - m->as) : 0;
        pk_tlbe *e = pk_tlb_lookup(t, m->sets, m->ways, vpn, asid, write);
        if (e) {
            t->st.hits++;
            as->st.touches++;
            if (PK_UNLIKELY(m->mcfg.track)) pk_repl_used(k, e->frame);
            return PK_ACC_OK;
        }
        t->st.misses++;
        s = pk_as_access(k, as, va, write, cost, reason, &pte, may_block);
        if (s == PK_ACC_OK) pk_tlb_fill(k, t, vpn, asid, pte);
    }
    if (PK_UNLIKELY(m->mcfg.track) && s == PK_ACC_OK)
        pk_repl_used(k, (uint32_t)pk_pte_frame(m->fmt, pte));
    return s;
}

/* Give processes pid0 .. pid0+count-1 an address space each (room was
 * reserved by pk_as_reserve). */
void pk_vm_spawn(pk_kernel *k, uint32_t pid0, uint32_t count) {
    for (uint32_t i = 0; i < count; i++)
        pk_proc_at(k, pid0 + i)->as = pk_as_create(k, pid0 + i);
}

/* Process pid has ended: free its address space. */
void pk_vm_proc_exit(pk_kernel *k, uint32_t pid) {
    pk_as *as = pk_as_of(k, pid);
    if (as) pk_as_destroy(k, as);
}

/* ---- script ops ----------------------------------------------------------- */

/* Address of access i of a touch_range (start, n accesses, stride). */
static inline uint64_t range_va(pk_kernel *k, const pk_op *op, uint64_t i, uint64_t n,
                                uint64_t stride) {
    if (op->a == PK_PAT_RANDOM)
        i = (uint64_t)(((unsigned __int128)pk_rng_next(&k->rng) * n) >> 64);
    return op->b + i * stride;
}

static inline bool range_write(pk_kernel *k, uint32_t ratio) {
    if (ratio == 0) return false;
    if (ratio >= 65536) return true;
    return (pk_rng_next(&k->rng) >> 48) < ratio;
}

/* The accesses of touch_range op (at index at) from x[RANGE_I] on, up to
 * RANGE_CHUNK costly ones; *pc moves past its ARGs once it is done.  A
 * major fault first charges the accesses before it (the access is made
 * again in the next step), then blocks the thread for the swap latency
 * with the range's position kept.  Accesses that cost nothing (free
 * costs, resident pages) take no time: after RANGE_FREE of them the step
 * ends (PK_ACT_AGAIN) and the range goes on in the next one, so that the
 * dispatcher's budget of host work and livelock detector see them. */
static int touch_range(pk_kernel *k, pk_cpu *c, pk_as *as, const pk_op *op, uint64_t at,
                       uint64_t *pc, uint64_t *arg) {
    pk_regs *r = &c->regs;
    uint64_t len = op[1].b, stride = op[2].b;
    uint64_t n = (len + stride - 1) / stride, i = r->x[REG_RANGE_I], cost = 0, costly = 0;
    const uint64_t i0 = i;
    uint32_t reason;
    int s = PK_ACC_OK;
    k->mem->cur_op = op;
    k->mem->cur_i = &i;
    while (i < n) {
        uint64_t before = cost;
        uint64_t va = range_va(k, op, i++, n, stride);
        s = vm_access(k, c, as, va, range_write(k, op[2].a), &cost, &reason, cost == 0);
        if (s != PK_ACC_OK) break;
        if (cost != before && ++costly == RANGE_CHUNK) break;
        if (!cost && i - i0 == RANGE_FREE) break;
    }
    k->mem->cur_op = NULL;
    k->same_steps += i - i0;                     /* host work (pk_kernel_run) */
    if (s == PK_ACC_KILL) { *arg = reason; return PK_ACT_KILL; }
    if (s != PK_ACC_OK) i--;                     /* made again after the block */
    r->x[REG_RANGE_I] = i < n ? i : 0;
    *pc = i < n ? at : at + 3;
    if (s == PK_ACC_BLOCK) { *arg = k->mem->block_ns; return PK_ACT_BLOCK; }
    if (!cost) return i < n ? PK_ACT_AGAIN : -1;
    r->x[PK_REG_REM] = cost;
    return PK_ACT_RUN;
}

/* Map, unmap or protect (code) [va, va+len) in as for a thread on CPU
 * self (-1: the host); shoots down the TLB entries of changed pages.
 * Returns a status; *ipis = interrupts sent to other CPUs. */
static int vm_change(pk_kernel *k, pk_as *as, uint32_t code, uint64_t va, uint64_t len,
                     uint32_t a, uint32_t obj, int self, uint64_t *ipis) {
    uint64_t before = as->changed;
    int s;
    switch (code) {
    case PK_OP_MAP: s = pk_as_map_object(k, as, va, len, a & 0xff, a >> 8, obj); break;
    case PK_OP_UNMAP: s = pk_as_unmap(k, as, va, len); break;
    default: s = pk_as_protect(k, as, va, len, a); break;
    }
    *ipis = as->changed != before ? pk_tlb_shootdown(k, as, va, va + len, self) : 0;
    return s;
}

/* map / unmap / protect from a script: the shootdown's interrupts are
 * the thread's CPU time (it waits for them); a failure kills it. */
static int map_op(pk_kernel *k, pk_cpu *c, pk_as *as, const pk_op *op, uint64_t *arg) {
    uint64_t ipis;
    int s = vm_change(k, as, op->code, op->b, op[1].b, op->a, op[1].a, (int)c->id, &ipis);
    if (!s && ipis && k->cfg.costs.ipi_ns) {
        c->regs.x[PK_REG_REM] = ipis * k->cfg.costs.ipi_ns;
        return PK_ACT_RUN;
    }
    if (!s) return -1;
    *arg = s != PK_ERR_NO_MEMORY ? PK_KILL_SEGV
         : as->fault_kind == PK_FAULT_JOB_MEMORY ? PK_KILL_JOB_MEMORY : PK_KILL_OOM;
    if (s != PK_ERR_NO_MEMORY) { as->fault_kind = PK_FAULT_UNMAPPED; as->fault_va = op->b; }
    return PK_ACT_KILL;
}

/* fork (the parent goes on after the child's block with the status in
 * x[STATUS]; a fork that fails for want of memory or at a limit creates
 * no child; one that made a child costs the parent Costs.fork and the
 * shootdown's interrupts), exec (the program is replaced:
 * PK_VM_NEW_IMAGE), brk (a break that would overlap a mapping stays). */
static int image_op(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_as *as, const pk_op *op,
                    uint64_t at, uint64_t *pc, uint64_t *arg) {
    uint64_t ipis = 0;
    int s;
    switch (op->code) {
    case PK_OP_FORK: {
        *pc = op->a;
        uint32_t child;
        s = pk_vm_fork(k, c, t, at + 1, &ipis, &child);
        c->regs.x[PK_REG_STATUS] = (uint64_t)(int64_t)s;     /* the parent's: made or not */
        uint64_t cost = s == PK_OK ? ipis * k->cfg.costs.ipi_ns + k->cfg.costs.fork_ns : 0;
        if (!cost) return -1;
        c->regs.x[PK_REG_REM] = cost;
        return PK_ACT_RUN;
    }
    case PK_OP_EXEC:
        pk_vm_exec(k, c, t, op->a);
        return PK_VM_NEW_IMAGE;
    default:
        if (pk_as_brk(k, as, op->b) == PK_ERR_NO_MEMORY) { *arg = PK_KILL_OOM; return PK_ACT_KILL; }
        return -1;
    }
}

/* Run memory op ops[*pc - 1] for thread t on c.  Returns an action
 * (PK_ACT_RUN with x[REM] set, PK_ACT_KILL with *arg = reason), or -1:
 * done in zero time, go on at *pc. */
int pk_vm_script_op(pk_kernel *k, pk_cpu *c, pk_thread *t, const pk_op *op, uint64_t *pc,
                    uint64_t *arg) {
    pk_as *as = pk_as_of(k, t->pid);
    if (!as) { *arg = PK_KILL_SEGV; return PK_ACT_KILL; }   /* unreachable: spawn checks */
    uint64_t at = *pc - 1, cost = 0;
    uint32_t reason;
    switch (op->code) {
    case PK_OP_TOUCH: {
        k->mem->cur_op = op;
        int s = vm_access(k, c, as, op->b, op->a, &cost, &reason, true);
        k->mem->cur_op = NULL;
        if (s == PK_ACC_KILL) { *arg = reason; return PK_ACT_KILL; }
        if (s == PK_ACC_BLOCK) {                 /* made again when it wakes */
            *pc = at;
            *arg = k->mem->block_ns;
            return PK_ACT_BLOCK;
        }
        if (!cost) return -1;
        c->regs.x[PK_REG_REM] = cost;
        return PK_ACT_RUN;
    }
    case PK_OP_TOUCH_RANGE:
        return touch_range(k, c, as, op, at, pc, arg);
    case PK_OP_FORK: case PK_OP_EXEC: case PK_OP_BRK:
        return image_op(k, c, t, as, op, at, pc, arg);
    default:
        *pc = at + 2;
        return map_op(k, c, as, op, arg);
    }
}

/* ---- entry points for the host ------------------------------------------- */

static pk_as *live_as(pk_kernel *k, uint32_t pid, int *s) {
    pk_as *as = k ? pk_as_of(k, pid) : NULL;
    *s = !k || !k->mem || pid >= k->procs.count ? PK_ERR_INVALID_ARGS
       : !as || !as->alive ? PK_ERR_BAD_STATE : PK_OK;
    return *s ? NULL : as;
}

int pk_vm_map(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot, uint32_t flags) {
    int s;
    pk_as *as = live_as(k, pid, &s);
    if (!as) return s;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (prot > 0xff || flags > 31) return PK_ERR_INVALID_ARGS;
    uint64_t ipis;
    s = vm_change(k, as, PK_OP_MAP, va, len, prot | flags << 8, 0, -1, &ipis);
    if (s) as->fault_kind = PK_FAULT_NONE;   /* a live process: the host sees the error */
    return s;
}

int pk_vm_map_count_refused(pk_kernel *k, uint32_t *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    *out = k->mem->map_count_refused;
    return PK_OK;
}

int pk_vm_unmap(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len) {
    int s;
    pk_as *as = live_as(k, pid, &s);
    if (!as) return s;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    uint64_t ipis;
    return vm_change(k, as, PK_OP_UNMAP, va, len, 0, 0, -1, &ipis);
}

int pk_vm_protect(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot) {
    int s;
    pk_as *as = live_as(k, pid, &s);
    if (!as) return s;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (prot > 0xff) return PK_ERR_INVALID_ARGS;
    uint64_t ipis;
    return vm_change(k, as, PK_OP_PROTECT, va, len, prot, 0, -1, &ipis);
}

int pk_vm_touch_host(pk_kernel *k, uint32_t tid, uint64_t va, uint32_t write,
                     uint32_t *op_out, uint64_t *arg_out) {
    if (!k || !op_out || !arg_out || write > 1) return PK_ERR_INVALID_ARGS;
    if (va > PK_TOUCH_ADDR_MAX) return PK_ERR_OUT_OF_RANGE;     /* as a script's TOUCH */
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    if (!k->host_wait || k->host_wait->tid != tid) return PK_ERR_BAD_STATE;
    int s;
    pk_as *as = live_as(k, k->host_wait->pid, &s);
    if (!as) return s;
    uint64_t cost = 0;
    uint32_t reason;
    k->mem->in_host_touch = 1;
    s = vm_access(k, k->host_cpu, as, va, write, &cost, &reason, true);
    k->mem->in_host_touch = 0;
    if (s == PK_ACC_KILL) {
        *op_out = PK_OP_KILL;
        *arg_out = reason;
    } else if (s == PK_ACC_BLOCK) {              /* a major fault: blocked, like io */
        *op_out = PK_OP_IO;
        *arg_out = k->mem->block_ns;
    } else {
        *op_out = PK_OP_COMPUTE;
        *arg_out = cost;
    }
    return PK_OK;
}

/* ---- queries --------------------------------------------------------------- */

int pk_mem_stats_get(pk_kernel *k, pk_mem_stats *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    const pk_mem *m = k->mem;
    *out = (pk_mem_stats){ m->mcfg.frames, m->nfree, m->hw, m->pt_pages, m->data_pages,
                           m->live_as, m->ipis, m->mcfg.swap, m->swap_used, m->swap_ins,
                           m->swap_outs, m->evictions, m->reclaims, m->oom_kills, 0,
                           m->mcfg.stack };
    for (uint32_t f = 1; f <= m->hw; f++) out->shared_frames += m->frames[f].ref > 1;
    return PK_OK;
}

/* Count the references below table `tab` at `level` into found[]. */
static void audit_level(const pk_mem *m, uint32_t tab, uint32_t level, uint32_t *found,
                        pk_mem_audit *out) {
    const pk_ptfmt *f = m->fmt;
    const uint64_t *e = (const uint64_t *)m->data[tab];
    if (found[tab]++) return;                    /* a leaf table shared by fork: counted once */
    out->pt_pages++;
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        if (level + 1 < f->levels) {
            if (e[i] & f->valid) audit_level(m, (uint32_t)pk_pte_frame(f, e[i]), level + 1, found, out);
        } else if (e[i] & f->valid) {
            uint64_t fr = pk_pte_frame(f, e[i]);
            if (fr >= 1 && fr <= m->hw) found[fr]++;
            else out->mismatched++;                  /* points outside the frame table */
            out->mappings++;
        } else if (pk_pte_swapped(f, e[i])) {
            out->swapped++;
        }
    }
}

int pk_mem_audit_get(pk_kernel *k, pk_mem_audit *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    const pk_mem *m = k->mem;
    *out = (pk_mem_audit){ 0 };
    size_t bytes = ((size_t)m->hw + 1) * sizeof(uint32_t);
    uint32_t *found = pk_alloc(k, bytes);
    if (!found) return PK_ERR_NO_MEMORY;
    memset(found, 0, bytes);
    for (uint32_t a = 1; a < m->nas; a++)
        if (m->as[a].root) audit_level(m, m->as[a].root, 0, found, out);
    for (uint32_t i = 1; i < m->nshm; i++)
        if (m->shm[i].alive)
            for (uint64_t j = 0; j < m->shm[i].pages; j++)
                if (m->shm[i].frames[j]) found[m->shm[i].frames[j]]++;
    if (k->rv)                                   /* ELF images hold their shared pages */
        for (uint32_t i = 1; i < k->rv->nimgs; i++)
            for (uint64_t j = 0; j < k->rv->imgs[i].npages; j++) {
                uint32_t f = k->rv->imgs[i].frames[j];
                if (f >= 1 && f <= m->hw) found[f]++;
                else if (f) out->mismatched++;
            }
    for (uint32_t f = 1; f <= m->hw; f++) {
        out->used += m->frames[f].ref > 0;
        out->referenced += found[f] > 0;
        out->mismatched += m->frames[f].ref != found[f];
    }
    pk_free(k, found, bytes);
    return PK_OK;
}

int pk_tlb_stats_get(pk_kernel *k, uint32_t cpu, pk_tlb_stats *out) {
    if (!k || !out || cpu >= k->ncpus) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    *out = k->mem->tlbs[cpu].st;
    return PK_OK;
}

static pk_as *any_as(pk_kernel *k, uint32_t pid, int *s) {
    pk_as *as = k ? pk_as_of(k, pid) : NULL;
    *s = !k || pid >= k->procs.count ? PK_ERR_INVALID_ARGS : !as ? PK_ERR_NOT_SUPPORTED : PK_OK;
    return as;
}

int pk_as_stats_get(pk_kernel *k, uint32_t pid, pk_as_stats *out) {
    int s;
    pk_as *as = any_as(k, pid, &s);
    if (!as || !out) return out ? s : PK_ERR_INVALID_ARGS;
    *out = as->st;
    return PK_OK;
}

int pk_as_walk(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t *entries5, uint32_t *depth) {
    int s;
    pk_as *as = any_as(k, pid, &s);
    if (!as || !entries5 || !depth) return as ? PK_ERR_INVALID_ARGS : s;
    if (va >> (k->mem->fmt->va_bits - 1)) return PK_ERR_OUT_OF_RANGE;
    for (int i = 0; i < 5; i++) entries5[i] = 0;
    *depth = pk_pt_trace(k, as, va, entries5);
    uint32_t tab = *depth == k->mem->fmt->levels ? pk_pt_leaf_table(k, as, va, NULL) : 0;
    if (tab && k->mem->frames[tab].ref > 1) entries5[*depth - 1] &= ~k->mem->fmt->write;
    return PK_OK;
}

int pk_as_translate(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t *pa_out) {
    uint64_t e[5];
    uint32_t n;
    int s = pk_as_walk(k, pid, va, e, &n);
    if (s) return s;
    if (!pa_out) return PK_ERR_INVALID_ARGS;
    const pk_ptfmt *f = k->mem->fmt;
    if (n < f->levels || !(e[n - 1] & f->valid)) return PK_ERR_BAD_STATE;   /* not mapped */
    *pa_out = (pk_pte_frame(f, e[n - 1]) << PK_PAGE_SHIFT) | (va & (PK_PAGE_SIZE - 1));
    return PK_OK;
}

int pk_as_regions_get(pk_kernel *k, uint32_t pid, pk_region_info *out, uint32_t cap,
                      uint32_t *count_out) {
    int s;
    pk_as *as = any_as(k, pid, &s);
    if (!as || !count_out || (cap && !out)) return as ? PK_ERR_INVALID_ARGS : s;
    *count_out = as->nregions;
    uint32_t i = 0;
    for (const pk_region *r = pk_region_first(as); r && i < cap; r = pk_region_next(as, r))
        out[i++] = (pk_region_info){ r->start, r->end, r->prot, r->flags };
    return PK_OK;
}

int pk_as_fault_get(pk_kernel *k, uint32_t pid, pk_fault_info *out) {
    int s;
    pk_as *as = any_as(k, pid, &s);
    if (!as || !out) return as ? PK_ERR_INVALID_ARGS : s;
    *out = (pk_fault_info){ as->fault_kind, as->oom_trigger, as->fault_va, as->oom_badness };
    return PK_OK;
}

int pk_as_set_rss_limit(pk_kernel *k, uint32_t pid0, uint32_t count, uint64_t limit) {
    if (!k || !count || limit == 0) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    if ((uint64_t)pid0 + count > k->procs.count) return PK_ERR_OUT_OF_RANGE;
    if (!k->mem->mcfg.swap) return PK_ERR_BAD_STATE;          /* nowhere to put pages */
    for (uint32_t i = 0; i < count; i++)
        if (!pk_as_of(k, pid0 + i)) return PK_ERR_BAD_STATE;
    for (uint32_t i = 0; i < count; i++) pk_as_of(k, pid0 + i)->st.rss_limit = limit;
    return PK_OK;
}

int pk_as_working_set(pk_kernel *k, uint32_t pid, uint64_t window, uint64_t *out) {
    int s;
    pk_as *as = any_as(k, pid, &s);
    if (!as || !out) return as ? PK_ERR_INVALID_ARGS : s;
    pk_mem *m = k->mem;
    if (!m->mcfg.track) return PK_ERR_NOT_SUPPORTED;
    uint64_t since = k->now > window ? k->now - window : 0, n = 0;
    for (uint32_t l = 0; l < 2; l++)
        for (uint32_t f = m->head[l]; f; f = m->frames[f].next)
            if (&m->as[m->frames[f].owner] == as && m->frames[f].last >= since) n++;
    *out = n;
    return PK_OK;
}
