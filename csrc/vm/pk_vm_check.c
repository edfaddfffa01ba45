/* pk_vm_check.c - the invariants of the memory system, checked in one
 * pass over k->mem (docs/snapshot.md, "Memory").
 *
 * The snapshot loader runs it on what it read, before anything uses it
 * (a section that passes its checksum may still have been crafted), and
 * tests run it after any sequence of operations (no frame leaks).  It
 * holds between runs and after every step:
 *   - every frame handed out is free (ref 0, on the free list once, no
 *     contents), a page-table page (owner 0, with contents, reached once
 *     from one root; a leaf table shared by fork from as many roots as
 *     its ref says), or a page whose ref equals
 *     the leaves mapping it plus the live shared-memory objects holding it
 *     plus the ELF images holding it as a shared read-only page (pk_rv.h);
 *   - each address space's counters (rss, swapped, pt_pages, nlist) equal
 *     what its tables and the lists hold; each process has its own space;
 *   - regions are sorted, disjoint, page-aligned, in the user half, and
 *     name only ELF images that exist;
 *   - the replacement lists are doubly linked, counted, hold only pages;
 *     a page not shared by fork is mapped by its owner at its address;
 *     the clock hands are 0 or on list 0 (a local one: its own page);
 *   - every swap slot is held by exactly one PTE or on the free list once;
 *   - TLB entries, loaded spaces and CPU masks name existing frames,
 *     spaces and CPUs.
 * It allocates (scratch tables) but changes nothing.  A kernel that
 * fails it has a bug; a snapshot that fails it was crafted. */
#include <string.h>
#include "pk_core.h"

#define K_TABLE 1               /* kind[f]: a page-table page                */
#define K_FREE  2               /*          on the free list                 */
#define K_LIST  4               /*          seen on a replacement list       */
#define K_COUNTED 8             /*          a table whose leaves were counted  */

typedef struct chk {
    pk_kernel *k;
    pk_mem *m;
    uint8_t *kind;              /* [hw + 1] K_* bits                          */
    uint32_t *refs;             /* [hw + 1] references found                  */
    uint8_t *slot;              /* [slot_hw + 1] 1: held by a PTE              */
    uint8_t *level;             /* [hw + 1] a table's level                    */
    uint64_t tables, rss, swapped, slots;
    uint64_t as_tables;         /* tables reached from the space being checked */
} chk;

/* ---- page tables ----------------------------------------------------------- */

/* Mark table tab (level) and the tables below it; 0 or -1 (broken). */
static int mark_tables(chk *c, uint32_t tab, uint32_t level) {
    pk_mem *m = c->m;
    const pk_ptfmt *f = m->fmt;
    if (!tab || tab > m->hw) return -1;
    c->as_tables++;
    if (level + 1 == f->levels && c->kind[tab] == K_TABLE && c->level[tab] == level) {
        c->refs[tab]++;                          /* a leaf table shared by fork (pk_fork.c) */
        return m->frames[tab].va < m->nas ? 0 : -1;
    }
    if (c->kind[tab] || m->frames[tab].owner || !m->data[tab]) return -1;
    c->kind[tab] = K_TABLE;
    c->level[tab] = (uint8_t)level;
    c->refs[tab] = 1;
    c->tables++;
    if (level + 1 == f->levels) return 0;
    if (m->frames[tab].ref != 1) return -1;      /* only leaf tables are shared */
    const uint64_t *e = (const uint64_t *)m->data[tab];
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++)
        if ((e[i] & f->valid) && (pk_pte_frame(f, e[i]) > m->hw
                                  || mark_tables(c, (uint32_t)pk_pte_frame(f, e[i]), level + 1)))
            return -1;
    return 0;
}

/* Count the leaves under table tab: references to pages, slots held. */
static int count_leaves(chk *c, uint32_t tab, uint32_t level) {
    pk_mem *m = c->m;
    const pk_ptfmt *f = m->fmt;
    const uint64_t *e = (const uint64_t *)m->data[tab];
    bool counted = c->kind[tab] & K_COUNTED;
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        uint64_t n = pk_pte_frame(f, e[i]);
        if (level + 1 < f->levels) {
            if ((e[i] & f->valid) && count_leaves(c, (uint32_t)n, level + 1)) return -1;
        } else if (e[i] & f->valid) {
            if (!n || n > m->hw || (c->kind[n] & (K_TABLE | K_FREE))) return -1;
            if (!counted && !++c->refs[n]) return -1;
            c->rss++;
        } else if (pk_pte_swapped(f, e[i])) {
            if (!n || n > m->slot_hw || (!counted && c->slot[n])) return -1;
            if (!counted) c->slots++;
            c->slot[n] = 1;
            c->swapped++;
        }
    }
    c->kind[tab] |= K_COUNTED;                   /* a shared one's leaves count once */
    return 0;
}

/* ---- address spaces -------------------------------------------------------- */

/* The AVL tree below node t: visited in order, it is the list walked
 * from *cur; each node's height is right and its subtrees' heights differ
 * by at most one (so the recursion is shallow: 64 levels hold more nodes
 * than a pool can). */
static int region_tree_ok(const pk_as *as, uint32_t t, uint32_t *cur, uint32_t *seen, uint32_t depth) {
    if (!t) return 1;
    const pk_region *R = as->regions;
    if (t > as->rhw || depth > 64 || ++*seen > as->nregions) return 0;
    uint32_t l = R[t].left ? R[R[t].left].height : 0, r = R[t].right ? R[R[t].right].height : 0;
    if (l > as->rhw || r > as->rhw || l > r + 1 || r > l + 1 || R[t].height != 1 + (l > r ? l : r))
        return 0;
    if (!region_tree_ok(as, R[t].left, cur, seen, depth + 1) || *cur != t) return 0;
    *cur = R[t].next;
    return region_tree_ok(as, R[t].right, cur, seen, depth + 1);
}

static int regions_ok(const pk_kernel *k, const pk_mem *m, const pk_as *as) {
    uint64_t top = 1ull << (m->fmt->va_bits - 1), prev = 0;
    if (!as->regions) return !as->nregions && !as->regions_cap && !as->rhw && !as->rroot;
    if (as->rhw >= as->regions_cap || as->nregions > as->rhw) return 0;
    if (m->mcfg.max_map_count && as->nregions > m->mcfg.max_map_count) return 0;
    uint32_t n = 0, before = 0;
    for (uint32_t i = as->rfirst; i; before = i, i = as->regions[i].next) {   /* the list */
        if (i > as->rhw || ++n > as->nregions || as->regions[i].prev != before) return 0;
        const pk_region *r = &as->regions[i];
        if (r->start < prev || r->start >= r->end || r->end > top
            || ((r->start | r->end) & (PK_PAGE_SIZE - 1))) return 0;
        if (!(r->prot & PK_PROT_READ) || r->prot > 7 || r->flags > 31 + PK_MAP_NOMAYWRITE) return 0;
        if ((r->flags & PK_MAP_NOMAYWRITE) && (!r->shm || !(r->flags & PK_MAP_SHARED)
                                               || (r->prot & PK_PROT_WRITE))) return 0;
        if ((r->shm && r->shm >= m->nshm) || r->origin >= m->nas) return 0;
        if (r->img && (r->shm || !k->rv || r->img >= k->rv->nimgs)) return 0;
        prev = r->end;
    }
    if (n != as->nregions || as->rlast != before) return 0;
    uint32_t cur = as->rfirst, seen = 0, nfree = 0;
    if (!region_tree_ok(as, as->rroot, &cur, &seen, 0) || cur || seen != n) return 0;
    for (uint32_t i = as->rfree; i; i = as->regions[i].next)          /* the free nodes */
        if (i > as->rhw || ++nfree > as->rhw - n) return 0;
    return nfree == as->rhw - n;
}

/* One address space's fields and tables (marked tables: pass 1). */
static int as_ok(chk *c, uint32_t id, bool leaves) {
    pk_mem *m = c->m;
    pk_kernel *k = c->k;
    pk_as *as = &m->as[id];
    if (!leaves) {
        if (as->pid >= k->procs.count || pk_proc_at(k, as->pid)->as != id) return 0;
        if (as->alive > 1 || as->fault_kind > PK_FAULT_BEYOND_EOF || !regions_ok(k, m, as)) return 0;
        if (!as->alive && (as->root || as->nregions)) return 0;
        for (uint32_t cpu = k->ncpus; cpu < PK_MAX_CPUS; cpu++)
            if (as->cpus[cpu >> 6] >> (cpu & 63) & 1) return 0;
        uint64_t top = 1ull << (m->fmt->va_bits - 1);
        if (as->st.brk < PK_HEAP_BASE || as->st.brk >= top) return 0;
        c->as_tables = 0;
        if (as->root && mark_tables(c, as->root, 0)) return 0;
        return as->st.pt_pages == c->as_tables;
    }
    c->rss = c->swapped = 0;
    if (as->root && count_leaves(c, as->root, 0)) return 0;
    return as->st.rss == c->rss && as->st.swapped == c->swapped;
}

static int spaces_ok(chk *c) {
    pk_mem *m = c->m;
    pk_kernel *k = c->k;
    uint64_t live = 0;
    if (!m->nas || m->nas > m->as_cap || !m->as) return 0;
    for (uint32_t pid = 0; pid < k->procs.count; pid++) {
        uint32_t id = pk_proc_at(k, pid)->as;
        if (!id || id >= m->nas || m->as[id].pid != pid) return 0;
    }
    for (uint32_t id = 1; id < m->nas; id++) {
        if (!as_ok(c, id, false)) return 0;
        live += m->as[id].alive;
    }
    for (uint32_t id = 1; id < m->nas; id++)
        if (!as_ok(c, id, true)) return 0;
    return live == m->live_as && c->tables == m->pt_pages;
}

/* ---- frames, shared memory, lists ------------------------------------------ */

static int free_list_ok(chk *c) {
    pk_mem *m = c->m;
    uint64_t zero = 0, n = 0;
    for (uint32_t f = 1; f <= m->hw; f++) {
        if (m->frames[f].ref) continue;
        if (m->data[f]) return 0;
        zero++;
    }
    for (uint32_t f = m->free_head; f; f = m->frames[f].next, n++)
        if (f > m->hw || m->frames[f].ref || c->kind[f] || n >= zero) return 0;
        else c->kind[f] = K_FREE;
    return n == zero && m->nfree == m->mcfg.frames - m->hw + zero;
}

static int shm_ok(chk *c) {
    pk_mem *m = c->m;
    if (m->nshm > m->shm_cap || (m->nshm && !m->shm)) return 0;
    for (uint32_t i = 1; i < m->nshm; i++) {
        const pk_shm *o = &m->shm[i];
        if (!o->alive) continue;
        if (o->alive > 1 || !o->frames) return 0;
        for (uint64_t p = 0; p < o->pages; p++) {
            uint32_t f = o->frames[p];
            if (f && (f > m->hw || (c->kind[f] & (K_TABLE | K_FREE)) || !++c->refs[f])) return 0;
        }
    }
    return 1;
}

/* The shared read-only pages of ELF images: one reference each, pages
 * (not tables, not free) marked shared, with contents. */
static int images_ok(chk *c) {
    const pk_rvstate *rs = c->k->rv;
    pk_mem *m = c->m;
    if (!rs) return 1;
    for (uint32_t i = 1; i < rs->nimgs; i++) {
        const pk_rvimg *im = &rs->imgs[i];
        for (uint64_t p = 0; p < im->npages; p++) {
            uint32_t f = im->frames[p];
            if (f && (f > m->hw || (c->kind[f] & (K_TABLE | K_FREE)) || !m->data[f]
                      || !(m->frames[f].flags & PK_FR_SHARED) || !++c->refs[f])) return 0;
        }
    }
    return 1;
}

/* Used frames: references as counted, owners in range, contents counted. */
static int frames_ok(chk *c) {
    pk_mem *m = c->m;
    uint64_t data = 0;
    for (uint32_t f = 1; f <= m->hw; f++) {
        const pk_frame *x = &m->frames[f];
        data += m->data[f] != NULL;
        if (!x->ref) continue;
        if (x->owner >= m->nas || x->flags > 7) return 0;
        if (x->ref != c->refs[f]) return 0;      /* tables: the spaces naming them */
    }
    return data == m->data_pages;
}

/* A listed page not shared by fork is its owner's, mapped at its va. */
static int sole_ok(chk *c, uint32_t f) {
    pk_mem *m = c->m;
    const pk_frame *x = &m->frames[f];
    if (x->flags & PK_FR_SHARED) return 1;
    pk_as *o = &m->as[x->owner];
    if (x->ref != 1 || !o->alive || !o->root) return 0;
    uint64_t e[5];                       /* a walk that sets no Accessed bit */
    uint32_t n = pk_pt_trace(c->k, o, x->va, e);
    return n == m->fmt->levels && (e[n - 1] & m->fmt->valid) && pk_pte_frame(m->fmt, e[n - 1]) == f;
}

static int list_ok(chk *c, uint32_t l, uint64_t *per_as) {
    pk_mem *m = c->m;
    uint32_t prev = 0;
    uint64_t n = 0;
    for (uint32_t f = m->head[l]; f; prev = f, f = m->frames[f].next, n++) {
        const pk_frame *x = &m->frames[f];
        if (f > m->hw || n >= m->nlist[l] || (c->kind[f] & (K_TABLE | K_FREE | K_LIST))) return 0;
        if (!x->ref || !x->owner || x->prev != prev) return 0;
        if (!(x->flags & PK_FR_LISTED) || !(x->flags & PK_FR_ACTIVE) != !l) return 0;
        if (!sole_ok(c, f)) return 0;
        c->kind[f] |= K_LIST;
        per_as[2 * (uint64_t)x->owner + l]++;
    }
    return n == m->nlist[l] && m->tail[l] == prev;
}

static int hand_ok(const chk *c, uint32_t hand, uint32_t owner) {
    const pk_mem *m = c->m;
    if (!hand) return 1;
    if (hand > m->hw || !(c->kind[hand] & K_LIST) || (m->frames[hand].flags & PK_FR_ACTIVE))
        return 0;
    return !owner || m->frames[hand].owner == owner;
}

static int lists_ok(chk *c) {
    pk_kernel *k = c->k;
    pk_mem *m = c->m;
    uint64_t *per_as = pk_alloc(k, (size_t)m->nas * 2 * sizeof(uint64_t));
    if (!per_as) return -1;
    int ok = list_ok(c, 0, per_as) && list_ok(c, 1, per_as) && hand_ok(c, m->hand, 0);
    for (uint32_t id = 1; ok && id < m->nas; id++)
        ok = per_as[2 * id] == m->as[id].nlist[0] && per_as[2 * id + 1] == m->as[id].nlist[1]
             && hand_ok(c, m->as[id].hand, id);
    for (uint32_t f = 1; ok && f <= m->hw; f++)      /* listed flag <=> on a list */
        ok = !(m->frames[f].flags & PK_FR_LISTED) == !(c->kind[f] & K_LIST);
    pk_free(k, per_as, (size_t)m->nas * 2 * sizeof(uint64_t));
    return ok;
}

/* ---- swap and TLBs ----------------------------------------------------------- */

static int swap_ok(chk *c) {
    pk_mem *m = c->m;
    uint64_t n = 0;
    for (uint32_t s = m->slot_free; s; s = m->slot_next[s], n++)
        if (s > m->slot_hw || c->slot[s] || n >= m->slot_hw) return 0;
        else c->slot[s] = 2;
    return c->slots == m->swap_used && c->slots + n == m->slot_hw
           && m->slot_hw <= m->mcfg.swap && m->swap_used <= m->mcfg.swap;
}

static int tlbs_ok(const chk *c) {
    const pk_mem *m = c->m;
    uint64_t n = (uint64_t)m->sets * m->ways;
    for (uint32_t cpu = 0; cpu < c->k->ncpus; cpu++) {
        const pk_tlb *t = &m->tlbs[cpu];
        if (t->cur >= m->nas) return 0;
        for (uint64_t i = 0; i < n; i++)
            if (t->e[i].vpn1 && (!t->e[i].frame || t->e[i].frame > m->hw || t->e[i].flags > PK_TLBE_ALL))
                return 0;
    }
    return 1;
}

/* ---- all of it --------------------------------------------------------------- */

static int check_all(chk *c) {
    pk_mem *m = c->m;
    if (m->hw > m->mcfg.frames || (m->hw && (!m->frames || !m->data || m->cap <= m->hw)))
        return 0;
    if (m->slot_hw && (!m->slot_next || m->slot_cap <= m->slot_hw)) return 0;
    if (!m->width || m->nseries > PK_SERIES_MAX || (m->nseries && !m->series)) return 0;
    if (m->pager_pending > 2 || m->pager_answer > 2) return 0;
    int l;
    if (!free_list_ok(c) || !spaces_ok(c) || !shm_ok(c) || !images_ok(c) || !frames_ok(c) || !swap_ok(c)
        || !tlbs_ok(c)) return 0;
    if ((l = lists_ok(c)) < 0) return -1;
    return l;
}

/* PK_OK if k's memory system keeps every invariant above; INTERNAL if
 * not; NO_MEMORY if the scratch tables cannot be had. */
int pk_mem_verify(pk_kernel *k) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    pk_mem *m = k->mem;
    chk c = { k, m, NULL, NULL, NULL, NULL, 0, 0, 0, 0, 0 };
    size_t nf = (size_t)m->hw + 1, ns = (size_t)m->slot_hw + 1;
    c.kind = pk_alloc(k, nf);
    c.refs = pk_alloc(k, nf * sizeof(uint32_t));
    c.slot = pk_alloc(k, ns);
    c.level = pk_alloc(k, nf);
    int ok = c.kind && c.refs && c.slot && c.level ? check_all(&c) : -1;
    pk_free(k, c.level, nf);
    pk_free(k, c.kind, nf);
    pk_free(k, c.refs, nf * sizeof(uint32_t));
    pk_free(k, c.slot, ns);
    return ok < 0 ? PK_ERR_NO_MEMORY : ok ? PK_OK : PK_ERR_INTERNAL;
}
