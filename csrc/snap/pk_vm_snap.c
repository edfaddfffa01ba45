/* pk_vm_snap.c - the memory section of a snapshot: everything under
 * k->mem (docs/snapshot.md, "Memory").
 *
 * Saved: the configuration; every frame handed out (reference count,
 * owner, address, list links, flags, OPT mark, last use) and the
 * contents of those that have contents (page-table pages among them, so
 * page tables come back bit for bit, Accessed and Dirty included); the
 * replacement lists, clock hands and OPT generation; address spaces with
 * their regions and counters; every CPU's TLB (valid entries with their
 * LRU stamps, the loaded address space, the clock, counters); swap slots;
 * the fault series; shared-memory objects; the pending pager fault.
 * Free frames keep only their free-list link, slots in use nothing.
 *
 * The loader rebuilds k->mem from scratch (the processes exist already)
 * and then checks that the whole is one the kernel could have reached:
 * page tables form trees of table pages, every reference count equals
 * the mappings found, lists, free lists and hands are consistent, every
 * id is in range.  A crafted section is refused with INVALID_ARGS before
 * anything runs on it; what was built is reachable from k->mem, so the
 * kernel's destruction frees it. */
#include <string.h>
#include "pk_core.h"
#include "pk_snap.h"

#define MEM_SNAP_VERSION 4          /* 4: page caches name their inode; 3: max_map_count; 2: regions carry their ELF image */
#define MAP_COUNT_BEFORE_3 65530    /* what a version 1 or 2 snapshot gets (Memory's default) */
#define NWORDS (PK_MAX_CPUS / 64)

/* ---- save ------------------------------------------------------------------ */

static void put_config(pk_snap_w *w, const pk_mem *m) {
    const pk_mem_config *c = &m->mcfg;
    const pk_mmu_config *u = &m->mmu;
    pk_snap_u64(w, c->frames);
    pk_snap_u32(w, c->replacement);
    pk_snap_u32(w, c->track);
    pk_snap_u64(w, c->swap);
    pk_snap_u64(w, c->swap_latency);
    pk_snap_u64(w, c->low);
    pk_snap_u64(w, c->high);
    pk_snap_u64(w, c->fault_interval);
    pk_snap_u64(w, c->stack);
    pk_snap_u32(w, u->format);
    pk_snap_u32(w, u->tlb_entries);
    pk_snap_u32(w, u->tlb_ways);
    pk_snap_u32(w, u->asid);
    pk_snap_u32(w, u->tlb_random);
    pk_snap_u64(w, c->max_map_count);
}

/* Frames 1..hw: a free one is its free-list link; a used one its fields
 * and, if it has contents, its 4 KiB. */
static void put_frames(pk_snap_w *w, const pk_mem *m) {
    pk_snap_u32(w, m->hw);
    pk_snap_u32(w, m->free_head);
    pk_snap_u64(w, m->nfree);
    pk_snap_u64(w, m->data_pages);
    pk_snap_u64(w, m->pt_pages);
    for (uint32_t f = 1; f <= m->hw; f++) {
        const pk_frame *x = &m->frames[f];
        pk_snap_u32(w, x->ref);
        if (!x->ref) { pk_snap_u32(w, x->next); continue; }
        pk_snap_u32(w, x->owner);
        pk_snap_u64(w, x->va);
        pk_snap_u32(w, x->next);
        pk_snap_u32(w, x->prev);
        pk_snap_u32(w, x->flags);
        pk_snap_u32(w, x->mark);
        pk_snap_u64(w, x->last);
        pk_snap_u8(w, m->data[f] != NULL);
        if (m->data[f]) pk_snap_put(w, m->data[f], PK_PAGE_SIZE);
    }
    for (int l = 0; l < 2; l++) {
        pk_snap_u32(w, m->head[l]);
        pk_snap_u32(w, m->tail[l]);
        pk_snap_u64(w, m->nlist[l]);
    }
    pk_snap_u32(w, m->hand);
    pk_snap_u32(w, m->gen);
}

static void put_as(pk_snap_w *w, const pk_as *as) {
    pk_snap_u32(w, as->pid);
    pk_snap_u32(w, as->root);
    pk_snap_u32(w, as->alive);
    pk_snap_u32(w, as->fault_kind);
    pk_snap_u64(w, as->fault_va);
    pk_snap_u64s(w, as->cpus, NWORDS);
    pk_snap_u64(w, as->changed);
    pk_snap_u32(w, as->hand);
    pk_snap_u32(w, as->oom_trigger);
    pk_snap_u64(w, as->oom_badness);
    pk_snap_u64s(w, as->nlist, 2);
    pk_snap_u64s(w, (const uint64_t *)&as->st, sizeof as->st / 8);
    pk_snap_u32(w, as->nregions);
    for (const pk_region *r = pk_region_first(as); r; r = pk_region_next(as, r)) {
        pk_snap_u64(w, r->start);
        pk_snap_u64(w, r->end);
        pk_snap_u32(w, r->prot);
        pk_snap_u32(w, r->flags);
        pk_snap_u32(w, r->shm);
        pk_snap_u32(w, r->origin);
        pk_snap_u64(w, r->off);
        pk_snap_u32(w, r->img);
    }
}

/* Each CPU's TLB: its state, then its valid entries with their index. */
static void put_tlbs(pk_snap_w *w, const pk_kernel *k, const pk_mem *m) {
    uint32_t n = m->sets * m->ways;
    for (uint32_t c = 0; c < k->ncpus; c++) {
        const pk_tlb *t = &m->tlbs[c];
        uint32_t valid = 0;
        for (uint32_t i = 0; i < n; i++) valid += t->e[i].vpn1 != 0;
        pk_snap_u32(w, t->cur);
        pk_snap_u64(w, t->clock);
        pk_snap_u64s(w, (const uint64_t *)&t->st, sizeof t->st / 8);
        pk_snap_u32(w, valid);
        for (uint32_t i = 0; i < n; i++) {
            const pk_tlbe *e = &t->e[i];
            if (!e->vpn1) continue;
            pk_snap_u32(w, i);
            pk_snap_u64(w, e->vpn1);
            pk_snap_u32(w, e->asid);
            pk_snap_u32(w, e->flags);
            pk_snap_u64(w, e->stamp);
            pk_snap_u32(w, e->frame);
        }
    }
}

static void put_swap(pk_snap_w *w, const pk_mem *m) {
    pk_snap_u32(w, m->slot_hw);
    pk_snap_u32(w, m->slot_free);
    uint64_t c[7] = { m->swap_used, m->swap_ins, m->swap_outs, m->evictions, m->reclaims,
                      m->oom_kills, m->ipis };
    pk_snap_u64s(w, c, 7);
    for (uint32_t s = 1; s <= m->slot_hw; s++) pk_snap_u32(w, m->slot_next[s]);
    pk_snap_u8(w, m->series != NULL);
    pk_snap_u64(w, m->width);
    pk_snap_u32(w, m->nseries);
    for (uint32_t i = 0; i < m->nseries; i++) pk_snap_u32(w, m->series[i]);
}

static void put_shm(pk_snap_w *w, const pk_mem *m) {
    pk_snap_u32(w, m->nshm);
    for (uint32_t i = 1; i < m->nshm; i++) {
        const pk_shm *o = &m->shm[i];
        pk_snap_u64(w, o->pages);
        pk_snap_u8(w, o->alive ? 1 : 0);
        pk_snap_u32(w, o->ino);
        if (o->alive)
            for (uint64_t p = 0; p < o->pages; p++) pk_snap_u32(w, o->frames[p]);
    }
}

static void put_pager(pk_snap_w *w, const pk_mem *m) {
    pk_snap_u32(w, m->pager_pending);
    pk_snap_u32(w, m->pager_answer);
    pk_snap_u32(w, m->pager.pid);
    pk_snap_u32(w, m->pager.tid);
    pk_snap_u64(w, m->pager.va);
    pk_snap_u32(w, m->pager.write);
    pk_snap_u64(w, m->block_ns);
}

/* Write the memory section: a version, then 0 (no memory) or 1 and the
 * state.  BAD_STATE in the middle of an access (never between runs). */
int pk_mem_snap_save(pk_kernel *k, pk_snap_w *w) {
    if (!k || !w) return PK_ERR_INVALID_ARGS;
    pk_mem *m = k->mem;
    pk_snap_u32(w, MEM_SNAP_VERSION);
    pk_snap_u8(w, m != NULL);
    if (!m) return w->err;
    if (m->cur_op || m->in_host_touch) return PK_ERR_BAD_STATE;
    put_config(w, m);
    pk_snap_u32(w, k->ncpus);
    put_frames(w, m);
    pk_snap_u32(w, m->nas);
    pk_snap_u64(w, m->live_as);
    for (uint32_t i = 1; i < m->nas; i++) put_as(w, &m->as[i]);
    put_tlbs(w, k, m);
    put_swap(w, m);
    put_shm(w, m);
    put_pager(w, m);
    return w->err;
}

/* ---- load ------------------------------------------------------------------ */

static void get_config(pk_snap_r *r, pk_mem_config *c, pk_mmu_config *u, uint32_t version) {
    memset(c, 0, sizeof *c);
    memset(u, 0, sizeof *u);
    c->frames = pk_snap_get_u64(r);
    c->replacement = pk_snap_get_u32(r);
    c->track = pk_snap_get_u32(r);
    c->swap = pk_snap_get_u64(r);
    c->swap_latency = pk_snap_get_u64(r);
    c->low = pk_snap_get_u64(r);
    c->high = pk_snap_get_u64(r);
    c->fault_interval = pk_snap_get_u64(r);
    c->stack = pk_snap_get_u64(r);
    u->format = pk_snap_get_u32(r);
    u->tlb_entries = pk_snap_get_u32(r);
    u->tlb_ways = pk_snap_get_u32(r);
    u->asid = pk_snap_get_u32(r);
    u->tlb_random = pk_snap_get_u32(r);
    c->max_map_count = version >= 3 ? pk_snap_get_u64(r) : MAP_COUNT_BEFORE_3;
}

/* A used frame's fields and contents (the record after its count). */
static int get_frame(pk_kernel *k, pk_snap_r *r, uint32_t f) {
    pk_mem *m = k->mem;
    pk_frame *x = &m->frames[f];
    x->owner = pk_snap_get_u32(r);
    x->va = pk_snap_get_u64(r);
    x->next = pk_snap_get_u32(r);
    x->prev = pk_snap_get_u32(r);
    x->flags = pk_snap_get_u32(r);
    x->mark = pk_snap_get_u32(r);
    x->last = pk_snap_get_u64(r);
    uint8_t has = pk_snap_get_u8(r);
    if (has > 1) pk_snap_bad(r);
    if (has != 1 || !pk_snap_count_ok(r, 1, PK_PAGE_SIZE)) return r->err;
    if (!(m->data[f] = pk_alloc(k, PK_PAGE_SIZE))) return PK_ERR_NO_MEMORY;
    pk_snap_get(r, m->data[f], PK_PAGE_SIZE);
    return r->err;
}

static int get_frames(pk_kernel *k, pk_snap_r *r) {
    pk_mem *m = k->mem;
    uint32_t hw = pk_snap_get_u32(r);
    m->free_head = pk_snap_get_u32(r);
    m->nfree = pk_snap_get_u64(r);
    m->data_pages = pk_snap_get_u64(r);
    m->pt_pages = pk_snap_get_u64(r);
    if (hw > m->mcfg.frames) pk_snap_bad(r);
    if (!pk_snap_count_ok(r, hw, 8)) return r->err;
    if (hw) {
        m->frames = pk_alloc(k, ((size_t)hw + 1) * sizeof(pk_frame));
        m->data = pk_alloc(k, ((size_t)hw + 1) * sizeof(uint8_t *));
        if (!m->frames || !m->data) return PK_ERR_NO_MEMORY;   /* fini frees either */
        m->cap = hw + 1;
        m->hw = hw;
    }
    for (uint32_t f = 1; f <= hw && !r->err; f++) {
        pk_frame *x = &m->frames[f];
        x->ref = pk_snap_get_u32(r);
        if (!x->ref) x->next = pk_snap_get_u32(r);
        else {
            int s = get_frame(k, r, f);
            if (s) return s;
        }
    }
    for (int l = 0; l < 2; l++) {
        m->head[l] = pk_snap_get_u32(r);
        m->tail[l] = pk_snap_get_u32(r);
        m->nlist[l] = pk_snap_get_u64(r);
    }
    m->hand = pk_snap_get_u32(r);
    m->gen = pk_snap_get_u32(r);
    return r->err;
}

static int get_as(pk_kernel *k, pk_snap_r *r, pk_as *as, uint32_t version) {
    as->pid = pk_snap_get_u32(r);
    as->root = pk_snap_get_u32(r);
    as->alive = pk_snap_get_u32(r);
    as->fault_kind = pk_snap_get_u32(r);
    as->fault_va = pk_snap_get_u64(r);
    pk_snap_get_u64s(r, as->cpus, NWORDS);
    as->changed = pk_snap_get_u64(r);
    as->hand = pk_snap_get_u32(r);
    as->oom_trigger = pk_snap_get_u32(r);
    as->oom_badness = pk_snap_get_u64(r);
    pk_snap_get_u64s(r, as->nlist, 2);
    pk_snap_get_u64s(r, (uint64_t *)&as->st, sizeof as->st / 8);
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 40) || !n) return r->err;
    if (n > 0xfffffffeu) { pk_snap_bad(r); return r->err; }
    for (uint32_t i = 0; i < n && !r->err; i++) {     /* in address order (pk_mem_verify checks) */
        pk_region g = { 0 };
        g.start = pk_snap_get_u64(r);
        g.end = pk_snap_get_u64(r);
        g.prot = pk_snap_get_u32(r);
        g.flags = pk_snap_get_u32(r);
        g.shm = pk_snap_get_u32(r);
        g.origin = pk_snap_get_u32(r);
        g.off = pk_snap_get_u64(r);
        g.img = version >= 2 ? pk_snap_get_u32(r) : 0;   /* checked by pk_mem_verify */
        int s = pk_regions_append(k, as, &g);
        if (s) return s;
    }
    return r->err;
}

static int get_spaces(pk_kernel *k, pk_snap_r *r, uint32_t version) {
    pk_mem *m = k->mem;
    uint32_t nas = pk_snap_get_u32(r);
    m->live_as = pk_snap_get_u64(r);
    if (nas == 0) pk_snap_bad(r);
    if (!pk_snap_count_ok(r, nas - 1, 200)) return r->err;
    if (!(m->as = pk_alloc(k, (size_t)nas * sizeof(pk_as)))) return PK_ERR_NO_MEMORY;
    m->as_cap = m->nas = nas;
    for (uint32_t i = 1; i < nas; i++) {
        int s = get_as(k, r, &m->as[i], version);
        if (s) return s;
    }
    return PK_OK;
}

static void get_tlbs(pk_kernel *k, pk_snap_r *r) {
    pk_mem *m = k->mem;
    uint32_t n = m->sets * m->ways;
    for (uint32_t c = 0; c < k->ncpus && !r->err; c++) {
        pk_tlb *t = &m->tlbs[c];
        t->cur = pk_snap_get_u32(r);
        t->clock = pk_snap_get_u64(r);
        pk_snap_get_u64s(r, (uint64_t *)&t->st, sizeof t->st / 8);
        uint32_t valid = pk_snap_get_u32(r);
        if (valid > n || !pk_snap_count_ok(r, valid, 32)) { pk_snap_bad(r); return; }
        for (uint32_t j = 0, last = 0; j < valid; j++) {
            uint32_t i = pk_snap_get_u32(r);
            if (i >= n || (j && i <= last)) { pk_snap_bad(r); return; }   /* ascending */
            last = i;
            pk_tlbe *e = &t->e[i];
            e->vpn1 = pk_snap_get_u64(r);
            e->asid = pk_snap_get_u32(r);
            e->flags = pk_snap_get_u32(r);
            e->stamp = pk_snap_get_u64(r);
            e->frame = pk_snap_get_u32(r);
            if (!e->vpn1 || e->flags > PK_TLBE_ALL || !e->frame || e->frame > m->hw) pk_snap_bad(r);
        }
    }
}

static int get_swap(pk_kernel *k, pk_snap_r *r) {
    pk_mem *m = k->mem;
    uint32_t hw = pk_snap_get_u32(r);
    m->slot_free = pk_snap_get_u32(r);
    uint64_t c[7];
    pk_snap_get_u64s(r, c, 7);
    m->swap_used = c[0]; m->swap_ins = c[1]; m->swap_outs = c[2]; m->evictions = c[3];
    m->reclaims = c[4]; m->oom_kills = c[5]; m->ipis = c[6];
    if (hw > m->mcfg.swap || m->slot_free > hw) pk_snap_bad(r);
    if (!pk_snap_count_ok(r, hw, 4)) return r->err;
    if (hw) {
        if (!(m->slot_next = pk_alloc(k, ((size_t)hw + 1) * sizeof(uint32_t)))) return PK_ERR_NO_MEMORY;
        m->slot_cap = hw + 1;
        m->slot_hw = hw;
    }
    for (uint32_t s = 1; s <= hw; s++)
        if ((m->slot_next[s] = pk_snap_get_u32(r)) > hw) pk_snap_bad(r);
    uint8_t has = pk_snap_get_u8(r);
    m->width = pk_snap_get_u64(r);
    m->nseries = pk_snap_get_u32(r);
    if (has > 1 || m->width < m->mcfg.fault_interval || m->width > PK_MAX_TIME
        || m->nseries > PK_SERIES_MAX || (!has && m->nseries)) pk_snap_bad(r);
    if (!pk_snap_count_ok(r, m->nseries, 4) || !has) return r->err;
    if (!(m->series = pk_alloc(k, PK_SERIES_MAX * sizeof(uint32_t)))) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < m->nseries; i++) m->series[i] = pk_snap_get_u32(r);
    return r->err;
}

static int get_shm(pk_kernel *k, pk_snap_r *r, uint32_t version) {
    pk_mem *m = k->mem;
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 9) || !n) return r->err;
    if (!(m->shm = pk_alloc(k, (size_t)n * sizeof(pk_shm)))) return PK_ERR_NO_MEMORY;
    m->shm_cap = m->nshm = n;
    for (uint32_t i = 1; i < n && !r->err; i++) {
        pk_shm *o = &m->shm[i];
        o->pages = pk_snap_get_u64(r);
        uint8_t alive = pk_snap_get_u8(r);
        o->ino = version >= 4 ? pk_snap_get_u32(r) : 0;   /* a page cache: checked with the FS */
        if (!o->pages || (!o->ino && o->pages > m->mcfg.frames) || alive > 1) { pk_snap_bad(r); break; }
        if (!alive || !pk_snap_count_ok(r, o->pages, 4)) continue;
        if (!(o->frames = pk_alloc(k, o->pages * sizeof(uint32_t)))) return PK_ERR_NO_MEMORY;
        o->alive = 1;
        for (uint64_t p = 0; p < o->pages; p++) o->frames[p] = pk_snap_get_u32(r);
    }
    return r->err;
}

static void get_pager(pk_snap_r *r, pk_mem *m) {
    m->pager_pending = pk_snap_get_u32(r);
    m->pager_answer = pk_snap_get_u32(r);
    m->pager.pid = pk_snap_get_u32(r);
    m->pager.tid = pk_snap_get_u32(r);
    m->pager.va = pk_snap_get_u64(r);
    m->pager.write = pk_snap_get_u32(r);
    m->block_ns = pk_snap_get_u64(r);
    if (m->pager_pending > 2 || m->pager_answer > 2 || m->pager.write > 1) pk_snap_bad(r);
}

/* Give every process the address space that names it (pk_mem_verify
 * then checks that each has exactly one). */
static void attach_spaces(pk_kernel *k) {
    pk_mem *m = k->mem;
    for (uint32_t pid = 0; pid < k->procs.count; pid++) pk_proc_at(k, pid)->as = 0;
    for (uint32_t id = 1; id < m->nas; id++)
        if (m->as[id].pid < k->procs.count) pk_proc_at(k, m->as[id].pid)->as = id;
}

/* Read the memory section into k, whose processes exist: k->mem is
 * rebuilt from the snapshot (a memory system k already has is replaced)
 * and every process is given its address space. */
int pk_mem_snap_load(pk_kernel *k, pk_snap_r *r) {
    if (!k || !r) return PK_ERR_INVALID_ARGS;
    uint32_t version = pk_snap_get_u32(r);
    if (version < 1 || version > MEM_SNAP_VERSION) { pk_snap_bad(r); return r->err; }
    uint8_t present = pk_snap_get_u8(r);
    if (present > 1 || r->err) { pk_snap_bad(r); return r->err; }
    if (k->mem) pk_mem_fini(k);
    if (!present) return PK_OK;
    pk_mem_config mc;
    pk_mmu_config u;
    get_config(r, &mc, &u, version);
    if (r->err) return r->err;
    int s = pk_mem_init(k, &mc, &u);
    if (s) return s == PK_ERR_NO_MEMORY ? s : PK_ERR_INVALID_ARGS;
    if (pk_snap_get_u32(r) != k->ncpus) pk_snap_bad(r);
    if ((s = get_frames(k, r)) || (s = get_spaces(k, r, version))) return s;
    get_tlbs(k, r);
    if ((s = get_swap(k, r)) || (s = get_shm(k, r, version))) return s;
    get_pager(r, k->mem);
    if (r->err) return r->err;
    attach_spaces(k);
    s = pk_mem_verify(k);
    if (s == PK_ERR_INTERNAL) { pk_snap_bad(r); s = r->err; }
    return s;
}
