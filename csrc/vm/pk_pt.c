/* pk_pt.c - page tables in the hardware formats (docs/references.md), and the
 * walker.  A table is a frame whose contents are 512 eight-byte entries.
 *
 * x86-64 (Intel SDM vol. 3A, 4.5): 0 Present, 1 R/W, 2 U/S, 5 Accessed,
 * 6 Dirty, 8 Global, 12-51 frame, 63 XD; interior entries carry
 * P|RW|US (the leaf decides).  RISC-V Sv39/Sv48 (privileged spec,
 * "Sv39"): 0 V, 1 R, 2 W, 3 X, 4 U, 5 G, 6 A, 7 D, PPN from bit 10; an
 * interior entry is V with R=W=X=0. */
#include "pk_core.h"

#define PFN40 ((1ull << 40) - 1)
#define PFN44 ((1ull << 44) - 1)

static const pk_ptfmt formats[] = {
    [PK_MMU_X86_64]   = { 4, 48, 1, 1, 2, 4, 0x20, 0x40, 0x100, 1ull << 63, 0, 0x7, 1u << 9, 12, 1, PFN40 },
    [PK_MMU_X86_64_5] = { 5, 57, 1, 1, 2, 4, 0x20, 0x40, 0x100, 1ull << 63, 0, 0x7, 1u << 9, 12, 1, PFN40 },
    [PK_MMU_SV39]     = { 3, 39, 1, 2, 4, 0x10, 0x40, 0x80, 0x20, 0, 8, 0x1, 1u << 8, 10, 0, PFN44 },
    [PK_MMU_SV48]     = { 4, 48, 1, 2, 4, 0x10, 0x40, 0x80, 0x20, 0, 8, 0x1, 1u << 8, 10, 0, PFN44 },
};

/* The format with id `format` (PK_MMU_*), or NULL. */
const pk_ptfmt *pk_ptfmt_get(uint32_t format) {
    if (format < PK_MMU_X86_64 || format > PK_MMU_SV48) return NULL;
    return &formats[format];
}

/* A new, zeroed page-table page (a frame with contents); 0 if none. */
uint32_t pk_pt_new(pk_kernel *k) {
    uint32_t f = pk_frame_alloc(k, 0, 0);
    if (!f) return 0;
    if (!pk_frame_data(k, f)) { pk_frame_put(k, f); return 0; }
    k->mem->pt_pages++;
    return f;
}

/* The entry for va in table frame tab at `level` (0 = root). */
static inline uint64_t *entry_at(pk_mem *m, uint32_t tab, uint64_t va, uint32_t level) {
    return (uint64_t *)m->data[tab] + pk_pt_index(m->fmt, va, level);
}

/* The leaf entry for va in as, creating the root and missing tables if
 * alloc; NULL if a table is missing and !alloc, or if no frame is left
 * (then *nomem = 1).  Sets Accessed in the interior entries it reads. */
uint64_t *pk_pt_walk(pk_kernel *k, pk_as *as, uint64_t va, bool alloc, int *nomem) {
    uint32_t tab;
    return pk_pt_walk_leaf(k, as, va, alloc, nomem, &tab);
}

/* pk_pt_walk that also gives the leaf table (*tab_out) */
uint64_t *pk_pt_walk_leaf(pk_kernel *k, pk_as *as, uint64_t va, bool alloc, int *nomem,
                          uint32_t *tab_out) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    if (!as->root) {
        if (!alloc || !(as->root = pk_pt_new(k))) { if (alloc) *nomem = 1; return NULL; }
        as->st.pt_pages++;
    }
    uint32_t tab = as->root;
    uint64_t *e = NULL;
    for (uint32_t level = 0; level + 1 < f->levels; level++) {
        e = entry_at(m, tab, va, level);
        if (!(*e & f->valid)) {
            if (!alloc) return NULL;
            uint32_t nt = pk_pt_new(k);
            if (!nt) { *nomem = 1; return NULL; }
            as->st.pt_pages++;
            *e = ((uint64_t)nt << f->pfn_shift) | f->table;
        }
        if (f->a_interior) *e |= f->accessed;     /* x86 sets A at every level */
        tab = (uint32_t)pk_pte_frame(f, *e);
    }
    if (alloc && m->frames[tab].ref > 1) {       /* a leaf table shared by fork: a copy first */
        if (pk_pt_unshare(k, as, e, va & ~((PK_PAGE_SIZE << 9) - 1))) { *nomem = 1; return NULL; }
        tab = (uint32_t)pk_pte_frame(f, *e);
    }
    *tab_out = tab;
    return entry_at(m, tab, va, f->levels - 1);
}

/* The leaf table of va in as (0 if a table on the way is missing) and,
 * in *slot, the entry of the level above naming it. */
uint32_t pk_pt_leaf_table(pk_kernel *k, const pk_as *as, uint64_t va, uint64_t **slot) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t tab = as->root;
    for (uint32_t level = 0; tab && level + 1 < f->levels; level++) {
        uint64_t *e = entry_at(m, tab, va, level);
        if (!(*e & f->valid)) return 0;
        if (slot) *slot = e;
        tab = (uint32_t)pk_pte_frame(f, *e);
    }
    return tab;
}

/* Give as its own copy of every leaf table it shares (by fork) over
 * [va, end), before their entries change: NO_MEMORY (nothing undone; the
 * copies made stay, which changes nothing the process sees). */
static int unshare_level(pk_kernel *k, pk_as *as, uint32_t tab, uint32_t level, uint64_t base,
                         uint64_t va, uint64_t end) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t shift = PK_PAGE_SHIFT + 9 * (f->levels - 1 - level);
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        uint64_t lo = base + ((uint64_t)i << shift), hi = lo + (1ull << shift);
        uint64_t *e = (uint64_t *)m->data[tab] + i;
        if (!(*e & f->valid) || lo >= end || hi <= va) continue;
        uint32_t child = (uint32_t)pk_pte_frame(f, *e);
        int s = level + 2 == f->levels
                ? (m->frames[child].ref > 1 ? pk_pt_unshare(k, as, e, lo) : PK_OK)
                : unshare_level(k, as, child, level + 1, lo, va, end);
        if (s) return s;
    }
    return PK_OK;
}

int pk_pt_unshare_range(pk_kernel *k, pk_as *as, uint64_t va, uint64_t end) {
    return as->root ? unshare_level(k, as, as->root, 0, 0, va, end) : PK_OK;
}

/* The leaf entry for va in as if every table on the way exists (setting
 * Accessed in the interior entries read, as pk_pt_walk does); else NULL,
 * and *next = the first address past the missing table's span, where a
 * scan of a range may resume (0 if that is past the top of the space). */
uint64_t *pk_pt_lookup(pk_kernel *k, pk_as *as, uint64_t va, uint64_t *next) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t shift = PK_PAGE_SHIFT + 9 * f->levels;     /* the root's span */
    uint32_t tab = as->root;
    for (uint32_t level = 0; level + 1 < f->levels && tab; level++) {
        shift -= 9;
        uint64_t *e = entry_at(m, tab, va, level);
        if (!(*e & f->valid)) { tab = 0; break; }
        if (f->a_interior) *e |= f->accessed;
        tab = (uint32_t)pk_pte_frame(f, *e);
    }
    if (tab) return entry_at(m, tab, va, f->levels - 1);
    uint64_t span = shift >= 64 ? 0 : 1ull << shift;
    *next = span ? (va & ~(span - 1)) + span : 0;
    return NULL;
}

/* Copy the entries a walk of va reads into out[0..], root first; the
 * count (stops at the first entry that is not valid, which is included). */
uint32_t pk_pt_trace(pk_kernel *k, const pk_as *as, uint64_t va, uint64_t *out) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint32_t tab = as->root, n = 0;
    if (!tab) return 0;
    for (uint32_t level = 0; level < f->levels; level++) {
        uint64_t e = *entry_at(m, tab, va, level);
        out[n++] = e;
        if (!(e & f->valid) || level + 1 == f->levels) break;
        tab = (uint32_t)pk_pte_frame(f, e);
    }
    return n;
}

/* Free table `tab` at `level` and everything below it: tables, and one
 * reference to each mapped frame (counted out of as's rss). */
static void free_level(pk_kernel *k, pk_as *as, uint32_t tab, uint32_t level, uint64_t base) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint64_t *e = (uint64_t *)m->data[tab];
    uint32_t shift = PK_PAGE_SHIFT + 9 * (f->levels - 1 - level);   /* one entry's span */
    if (m->frames[tab].ref > 1) {                /* a leaf table others share: let go of it */
        pk_pt_leave(k, as, tab, base);
        as->st.pt_pages--;
        return;
    }
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        if (level + 1 == f->levels) {
            if ((e[i] & f->valid) || pk_pte_swapped(f, e[i])) pk_leaf_drop(k, as, &e[i]);
        } else if (e[i] & f->valid) {
            free_level(k, as, (uint32_t)pk_pte_frame(f, e[i]), level + 1, base + ((uint64_t)i << shift));
        }
    }
    pk_frame_put(k, tab);
    m->pt_pages--;
    as->st.pt_pages--;
}

/* Free every table of as and drop its mappings. */
void pk_pt_free_all(pk_kernel *k, pk_as *as) {
    if (!as->root) return;
    free_level(k, as, as->root, 0, 0);
    as->root = 0;
    as->st.rss = as->st.swapped = 0;             /* shared tables' pages were not counted out */
}

/* Free the tables below `tab` (at `level`, spanning from base) that meet
 * [va, end) and hold no entry; whether tab itself holds none now. */
static bool prune_level(pk_kernel *k, pk_as *as, uint32_t tab, uint32_t level, uint64_t base,
                        uint64_t va, uint64_t end) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint64_t *e = (uint64_t *)m->data[tab];
    uint32_t shift = PK_PAGE_SHIFT + 9 * (f->levels - 1 - level);   /* one entry's span */
    bool empty = true;
    for (uint32_t i = 0; i < PK_PT_ENTRIES; i++) {
        uint64_t lo = base + ((uint64_t)i << shift), hi = lo + (1ull << shift);
        if (level + 1 < f->levels && (e[i] & f->valid) && lo < end && hi > va) {
            uint32_t child = (uint32_t)pk_pte_frame(f, e[i]);
            if (prune_level(k, as, child, level + 1, lo, va, end)) {
                m->pt_pages -= m->frames[child].ref == 1;   /* a shared one stays for the others */
                pk_frame_put(k, child);
                as->st.pt_pages--;
                e[i] = 0;
            }
        }
        if (e[i]) empty = false;
    }
    return empty;
}

/* Free the page tables of as over [va, end) that hold nothing (a failed
 * populate gives back what it made); the root too if free_root and it
 * holds nothing.  No TLB holds a table, so nothing is shot down. */
void pk_pt_prune(pk_kernel *k, pk_as *as, uint64_t va, uint64_t end, bool free_root) {
    if (!as->root) return;
    if (prune_level(k, as, as->root, 0, 0, va, end) && free_root) {
        pk_frame_put(k, as->root);
        k->mem->pt_pages--;
        as->st.pt_pages--;
        as->root = 0;
    }
}
