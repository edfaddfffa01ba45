/* pk_aspace.c - address spaces: regions, map / unmap / protect, and
 * bringing a page in (pk_page_in), which the page-fault handler
 * (pk_fault.c) and populating maps share.
 *
 * Regions are kept sorted and disjoint.  The page tables say what the
 * hardware allows; the regions say what the process may do. */
#include <string.h>
#include "pk_core.h"

/* ---- address spaces ------------------------------------------------------- */

/* Room for `count` more address spaces, so that pk_as_create cannot fail. */
int pk_as_reserve(pk_kernel *k, uint32_t count) {
    pk_mem *m = k->mem;
    uint64_t need = (uint64_t)m->nas + count;
    if (need > 0xffffffffull) return PK_ERR_NO_MEMORY;
    if (need <= m->as_cap) return PK_OK;
    uint64_t cap = m->as_cap ? m->as_cap : 64;
    while (cap < need) cap *= 2;
    if (cap > 0xffffffffull) cap = 0xffffffffull;
    pk_as *a = pk_realloc(k, m->as, m->as_cap * sizeof *a, cap * sizeof *a);
    if (!a) return PK_ERR_NO_MEMORY;
    m->as = a;
    m->as_cap = (uint32_t)cap;
    return PK_OK;
}

/* A new, empty address space for process pid (room reserved); its id. */
uint32_t pk_as_create(pk_kernel *k, uint32_t pid) {
    pk_mem *m = k->mem;
    uint32_t id = m->nas++;
    memset(&m->as[id], 0, sizeof(pk_as));
    m->as[id].pid = pid;
    m->as[id].alive = 1;
    m->as[id].st.brk = PK_HEAP_BASE;
    m->live_as++;
    return id;
}

/* Free everything as holds: tables, frames, regions. */
void pk_as_destroy(pk_kernel *k, pk_as *as) {
    if (!as->alive) return;
    pk_pt_free_all(k, as);
    pk_regions_free(k, as);
    as->alive = 0;
    k->mem->live_as--;
}

/* The address space of process pid, or NULL (no memory, bad pid). */
pk_as *pk_as_of(pk_kernel *k, uint32_t pid) {
    if (!k->mem || pid >= k->procs.count) return NULL;
    uint32_t id = pk_proc_at(k, pid)->as;
    return id ? &k->mem->as[id] : NULL;
}

static inline uint32_t as_id(pk_kernel *k, const pk_as *as) {
    return (uint32_t)(as - k->mem->as);
}

/* ---- regions -------------------------------------------------------------- */

/* The regions of an address space are nodes of a pool (as->regions, index
 * 0 unused) in an AVL tree keyed by start (Adelson-Velsky and Landis,
 * 1962; Knuth, TAOCP vol. 3, 6.2.3): the heights of a node's two subtrees
 * differ by at most one, so the depth stays below 1.45 log2(n + 2) and
 * lookup, insert and remove take O(log n) whatever the order of the
 * operations.  The nodes are also linked in address order (prev, next)
 * for walks; regions are disjoint, so ordering by start is ordering by
 * end, and moving a region's start or end within the gap around it
 * keeps both orders. */

/* The first region ending above va, or NULL. */
pk_region *pk_region_from(const pk_as *as, uint64_t va) {
    const pk_region *R = as->regions;
    uint32_t t = as->rroot, best = 0;
    while (t) {
        if (R[t].end > va) { best = t; t = R[t].left; }
        else t = R[t].right;
    }
    return best ? &as->regions[best] : NULL;
}

/* The region containing va, or NULL. */
const pk_region *pk_as_region(const pk_as *as, uint64_t va) {
    const pk_region *r = pk_region_from(as, va);
    return r && r->start <= va ? r : NULL;
}

static inline uint32_t t_height(const pk_region *R, uint32_t t) { return t ? R[t].height : 0; }

static inline void t_fix(pk_region *R, uint32_t t) {
    uint32_t l = t_height(R, R[t].left), r = t_height(R, R[t].right);
    R[t].height = 1 + (l > r ? l : r);
}

static uint32_t t_rot_right(pk_region *R, uint32_t t) {
    uint32_t l = R[t].left;
    R[t].left = R[l].right;
    R[l].right = t;
    t_fix(R, t);
    t_fix(R, l);
    return l;
}

static uint32_t t_rot_left(pk_region *R, uint32_t t) {
    uint32_t r = R[t].right;
    R[t].right = R[r].left;
    R[r].left = t;
    t_fix(R, t);
    t_fix(R, r);
    return r;
}

/* t, whose subtrees are AVL trees of heights differing by at most 2,
 * rebalanced by one or two rotations; the new root of its subtree. */
static uint32_t t_balance(pk_region *R, uint32_t t) {
    int64_t d = (int64_t)t_height(R, R[t].left) - t_height(R, R[t].right);
    if (d > 1) {
        uint32_t l = R[t].left;
        if (t_height(R, R[l].left) < t_height(R, R[l].right)) R[t].left = t_rot_left(R, l);
        return t_rot_right(R, t);
    }
    if (d < -1) {
        uint32_t r = R[t].right;
        if (t_height(R, R[r].right) < t_height(R, R[r].left)) R[t].right = t_rot_right(R, r);
        return t_rot_left(R, t);
    }
    t_fix(R, t);
    return t;
}

static uint32_t t_insert(pk_region *R, uint32_t t, uint32_t n) {
    if (!t) {
        R[n].left = R[n].right = 0;
        R[n].height = 1;
        return n;
    }
    if (R[n].start < R[t].start) R[t].left = t_insert(R, R[t].left, n);
    else R[t].right = t_insert(R, R[t].right, n);
    return t_balance(R, t);
}

/* Take the first node out of subtree t (into *first); the new root. */
static uint32_t t_take_first(pk_region *R, uint32_t t, uint32_t *first) {
    if (!R[t].left) { *first = t; return R[t].right; }
    R[t].left = t_take_first(R, R[t].left, first);
    return t_balance(R, t);
}

static uint32_t t_remove(pk_region *R, uint32_t t, uint32_t n) {
    if (!t) return 0;
    if (t == n) {
        uint32_t l = R[n].left, r = R[n].right, m;
        if (!r) return l;
        r = t_take_first(R, r, &m);                  /* n's successor takes its place */
        R[m].left = l;
        R[m].right = r;
        return t_balance(R, m);
    }
    if (R[n].start < R[t].start) R[t].left = t_remove(R, R[t].left, n);
    else R[t].right = t_remove(R, R[t].right, n);
    return t_balance(R, t);
}

/* Room for n more regions, so that region_add cannot fail. */
static int regions_reserve(pk_kernel *k, pk_as *as, uint32_t n) {
    uint64_t need = (uint64_t)as->nregions + n + 1;          /* + node 0 */
    if (need <= as->regions_cap) return PK_OK;
    if (need > 0xffffffffull) return PK_ERR_NO_MEMORY;
    uint64_t cap = as->regions_cap ? as->regions_cap : 8;
    while (cap < need) cap *= 2;
    if (cap > 0xffffffffull) cap = 0xffffffffull;
    pk_region *p = pk_realloc(k, as->regions, as->regions_cap * sizeof *p, cap * sizeof *p);
    if (!p) return PK_ERR_NO_MEMORY;
    if (!as->regions_cap) memset(p, 0, sizeof *p);
    as->regions = p;
    as->regions_cap = (uint32_t)cap;
    return PK_OK;
}

/* Link a node holding r (room reserved; r overlaps no region) in place. */
static pk_region *region_add(pk_as *as, pk_region r) {
    pk_region *R = as->regions;
    uint32_t i = as->rfree;
    if (i) as->rfree = R[i].next;
    else i = ++as->rhw;
    const pk_region *succ = pk_region_from(as, r.start);    /* starts at or after r.end */
    r.left = r.right = 0;
    r.next = succ ? (uint32_t)(succ - R) : 0;
    r.prev = r.next ? R[r.next].prev : as->rlast;
    R[i] = r;
    if (r.prev) R[r.prev].next = i; else as->rfirst = i;
    if (r.next) R[r.next].prev = i; else as->rlast = i;
    as->rroot = t_insert(R, as->rroot, i);
    as->nregions++;
    return &R[i];
}

/* Unlink region r and give its node back to the pool. */
static void region_remove(pk_as *as, pk_region *r) {
    pk_region *R = as->regions;
    uint32_t i = (uint32_t)(r - R);
    as->rroot = t_remove(R, as->rroot, i);
    if (r->prev) R[r->prev].next = r->next; else as->rfirst = r->next;
    if (r->next) R[r->next].prev = r->prev; else as->rlast = r->prev;
    memset(r, 0, sizeof *r);
    r->next = as->rfree;
    as->rfree = i;
    as->nregions--;
}

/* Append r after every region (restoring a snapshot: regions come in
 * address order; pk_mem_verify checks it). */
int pk_regions_append(pk_kernel *k, pk_as *as, const pk_region *r) {
    int s = regions_reserve(k, as, 1);
    if (s) return s;
    pk_region *R = as->regions;
    uint32_t i = ++as->rhw;
    R[i] = *r;
    R[i].left = R[i].right = R[i].next = 0;
    R[i].prev = as->rlast;
    if (as->rlast) R[as->rlast].next = i; else as->rfirst = i;
    as->rlast = i;
    as->rroot = t_insert(R, as->rroot, i);
    as->nregions++;
    return PK_OK;
}

/* dst (with no regions) gets a copy of src's: the same pool, node for node. */
int pk_regions_copy(pk_kernel *k, pk_as *dst, const pk_as *src) {
    if (!src->nregions) return PK_OK;
    uint32_t n = src->rhw + 1;
    if (!(dst->regions = pk_alloc(k, (size_t)n * sizeof(pk_region)))) return PK_ERR_NO_MEMORY;
    memcpy(dst->regions, src->regions, (size_t)n * sizeof(pk_region));
    dst->regions_cap = n;
    dst->nregions = src->nregions;
    dst->rroot = src->rroot;
    dst->rfirst = src->rfirst;
    dst->rlast = src->rlast;
    dst->rfree = src->rfree;
    dst->rhw = src->rhw;
    return PK_OK;
}

void pk_regions_clear(pk_as *as) {
    as->nregions = as->rroot = as->rfirst = as->rlast = as->rfree = as->rhw = 0;
}

void pk_regions_free(pk_kernel *k, pk_as *as) {
    pk_free(k, as->regions, as->regions_cap * sizeof(pk_region));
    as->regions = NULL;
    as->regions_cap = 0;
    pk_regions_clear(as);
}

/* How the number of regions changes if [va, end) is cut out of them: +1
 * if one straddles it (it splits in two), minus those inside it. */
static int64_t cut_delta(const pk_as *as, uint64_t va, uint64_t end) {
    int64_t d = 0;
    for (const pk_region *r = pk_region_from(as, va); r && r->start < end; r = pk_region_next(as, r)) {
        if (r->start < va && r->end > end) return 1;
        if (r->start >= va && r->end <= end) d--;
    }
    return d;
}

/* Cut [va, end) out of the regions (room reserved for a split). */
static void regions_cut(pk_as *as, uint64_t va, uint64_t end) {
    pk_region *r = pk_region_from(as, va);
    while (r && r->start < end) {
        pk_region *next = pk_region_next(as, r);
        if (r->start < va && r->end > end) {          /* split in two */
            pk_region tail = *r;
            pk_region_move_start(&tail, end);
            r->end = va;
            region_add(as, tail);
            return;
        }
        if (r->start < va) r->end = va;
        else if (r->end > end) pk_region_move_start(r, end);
        else region_remove(as, r);
        r = next;
    }
}

/* An operation that adds `more` regions to as: NO_MEMORY if that passes
 * Memory.max_map_count (Linux's vm.max_map_count: do_mmap and the VMA
 * split in mm/mmap.c fail with ENOMEM), else room is made for them. */
static int regions_grow(pk_kernel *k, pk_as *as, int64_t more) {
    if (more <= 0) return PK_OK;
    uint64_t max = k->mem->mcfg.max_map_count;
    if (max && as->nregions + (uint64_t)more > max) {
        k->mem->map_count_refused = 1;
        return PK_ERR_NO_MEMORY;
    }
    return regions_reserve(k, as, (uint32_t)more);
}

/* ---- page entries --------------------------------------------------------- */

uint64_t pk_leaf_entry(const pk_ptfmt *f, uint32_t frame, uint32_t prot, uint32_t flags) {
    uint64_t e = ((uint64_t)frame << f->pfn_shift) | f->valid | f->read;
    if (prot & PK_PROT_WRITE) e |= f->write;
    if (!(flags & PK_MAP_SUPERVISOR)) e |= f->user;
    if (flags & PK_MAP_GLOBAL) e |= f->global;
    if (prot & PK_PROT_EXEC) e |= f->exec; else e |= f->nx;
    return e;
}

/* A frame for a page of as at va: at its rss_limit, one of its own pages
 * goes to swap first (local replacement; if swap is full the process
 * goes over its limit).  0 if there is no frame. */
static uint32_t frame_for(pk_kernel *k, pk_as *as, uint64_t va) {
    if (as->st.rss_limit && as->st.rss >= as->st.rss_limit) pk_repl_evict(k, as);
    return pk_frame_alloc(k, as_id(k, as), va & ~(PK_PAGE_SIZE - 1));
}

/* Bring the page at va under region r in: a zeroed frame (minor fault,
 * *cost += Costs.minor_fault), or its copy in swap (major fault, *major
 * set: the caller blocks the thread).  NO_MEMORY if there is no frame. */
int pk_page_in(pk_kernel *k, pk_as *as, const pk_region *r, uint64_t va, uint64_t *cost,
               bool *major) {
    int nomem = 0;
    uint64_t *e = pk_pt_walk(k, as, va, true, &nomem);
    if (!e) return PK_ERR_NO_MEMORY;
    const pk_ptfmt *f = k->mem->fmt;
    /* an ELF image's read-only pages: the image's shared frame (pk_rv_elf.c) */
    bool img_shared = r->img && !(r->prot & PK_PROT_WRITE);
    /* a private mapping of an object (a file's MAP_PRIVATE): its frame,
     * copy-on-write; a page of it in swap was the process's own copy */
    bool copy = r->shm && !(r->flags & PK_MAP_SHARED), own = copy && pk_pte_swapped(f, *e);
    uint32_t fr = r->shm && !own ? pk_shm_frame(k, r->shm, r->off + ((va - r->start) >> PK_PAGE_SHIFT))
                : img_shared ? pk_rv_image_frame(k, r->img, va) : frame_for(k, as, va);
    if (!fr) return PK_ERR_NO_MEMORY;
    if (r->img && !img_shared) {                 /* a private page filled from the image */
        uint8_t *d = pk_frame_data(k, fr);
        if (!d) { pk_frame_put(k, fr); return PK_ERR_NO_MEMORY; }
        pk_rv_image_fill(k, r->img, va, d);
    }
    *major = pk_pte_swapped(f, *e);
    if (*major) {                                /* swap-in */
        pk_swap_free(k, (uint32_t)pk_pte_frame(f, *e));
        as->st.swapped--;
        as->st.swap_ins++;
        as->st.major_faults++;
        k->mem->swap_ins++;
    } else {
        as->st.minor_faults++;
        *cost += k->cfg.costs.minor_fault_ns;
    }
    *e = pk_leaf_entry(f, fr, r->prot, r->flags);
    if (copy && !own) *e = (*e & ~f->write) | f->soft;   /* a write copies it (pk_cow_break) */
    if (*major) *e |= f->accessed;     /* in use once the thread wakes: not a victim yet */
    if ((!r->shm || own) && !img_shared) pk_repl_link(k, fr);  /* an object's pages stay resident */
    as->st.rss++;
    as->st.page_faults++;
    pk_fault_count(k);
    PK_TRACE_OP(k, PK_TR_FAULT, *major ? PK_TR_MAJOR : PK_TR_MINOR, va);
    return PK_OK;
}

/* Apply f(entry) to every leaf in [va, end) that is present or swapped.
 * Spans whose tables do not exist are skipped whole, so the cost follows
 * the tables, not the length (a map of the whole user half is quick). */
static void leaves_each(pk_kernel *k, pk_as *as, uint64_t va, uint64_t end,
                        void (*fn)(pk_kernel *, pk_as *, uint64_t *, uint64_t), uint64_t arg) {
    const pk_ptfmt *f = k->mem->fmt;
    while (va < end) {
        uint64_t next = 0;
        uint64_t *e = pk_pt_lookup(k, as, va, &next);
        if (!e) {
            if (next <= va) return;                  /* past the top */
            va = next;
            continue;
        }
        if ((*e & f->valid) || pk_pte_swapped(f, *e)) fn(k, as, e, arg);
        va += PK_PAGE_SIZE;
    }
}

/* Drop the page of leaf e: its frame reference, or its swap slot. */
void pk_leaf_drop(pk_kernel *k, pk_as *as, uint64_t *e) {
    const pk_ptfmt *f = k->mem->fmt;
    if (pk_pte_swapped(f, *e)) {
        pk_swap_free(k, (uint32_t)pk_pte_frame(f, *e));
        as->st.swapped--;
    } else {
        pk_frame_put(k, (uint32_t)pk_pte_frame(f, *e));
        as->st.rss--;
    }
    *e = 0;
}

static void leaf_drop(pk_kernel *k, pk_as *as, uint64_t *e, uint64_t arg) {
    (void)arg;
    if (*e & k->mem->fmt->valid) as->changed++;
    pk_leaf_drop(k, as, e);
}

static void leaf_protect(pk_kernel *k, pk_as *as, uint64_t *e, uint64_t prot) {
    const pk_ptfmt *f = k->mem->fmt;
    if (!(*e & f->valid)) return;                    /* swapped: set when it comes back */
    as->changed++;
    if (!(prot & PK_PROT_WRITE)) *e &= ~f->write;     /* a write upgrade comes by fault */
    if (prot & PK_PROT_EXEC) *e = (*e | f->exec) & ~f->nx;
    else *e = (*e & ~f->exec) | f->nx;
}

/* ---- map, unmap, protect -------------------------------------------------- */

static int range_check(pk_kernel *k, uint64_t va, uint64_t len) {
    uint64_t top = 1ull << (k->mem->fmt->va_bits - 1);     /* the user half */
    if (len == 0 || (va & (PK_PAGE_SIZE - 1)) || (len & (PK_PAGE_SIZE - 1))) return PK_ERR_INVALID_ARGS;
    if (va >= top || len > top - va) return PK_ERR_OUT_OF_RANGE;
    return PK_OK;
}

/* Give back what a populating map brought in at [va, a) when it fails at
 * a: its pages (frames, their replacement-list places), the page tables
 * it created that now hold nothing, the fault counters, the fault series
 * and the faults' trace events (from event trace0 on), and its jobs'
 * charges (they follow rss again).  Pages that reclaim sent to swap on
 * the way stay there. */
static void populate_undo(pk_kernel *k, pk_as *as, uint64_t va, uint64_t a, const pk_as_stats *st0,
                          uint32_t root0, uint64_t width0, uint32_t nseries0, uint64_t trace0) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint64_t n = 0;
    for (uint64_t p = va; p < a; p += PK_PAGE_SIZE) {
        uint64_t next = 0, *e = pk_pt_lookup(k, as, p, &next);
        if (e && (*e & f->valid)) { pk_leaf_drop(k, as, e); n++; }
    }
    pk_pt_prune(k, as, va, a + PK_PAGE_SIZE, !root0);   /* a's walk may have made tables */
    as->st.page_faults = st0->page_faults;
    as->st.minor_faults = st0->minor_faults;
    if (m->series && n) {                       /* its faults, all counted now */
        uint64_t i = k->now / m->width;
        if (i < PK_SERIES_MAX) m->series[i] = m->series[i] > n ? m->series[i] - (uint32_t)n : 0;
        if (m->width == width0) m->nseries = nseries0;
    }
    if (k->objs) pk_jobobj_mem_sync(k, as->pid);
    if (k->trace) pk_trace_forget_faults(k, trace0, va, a);
}

/* Bring every page of the new region r = [va, end) in (map with
 * populate): all of them, or none (populate_undo) and NO_MEMORY. */
static int populate(pk_kernel *k, pk_as *as, pk_region *r) {
    pk_mem *m = k->mem;
    pk_as_stats st0 = as->st;
    uint32_t root0 = as->root, nseries0 = m->nseries;
    uint64_t width0 = m->width, cost = 0, trace0 = k->trace ? k->trace->n : 0;
    bool major;
    for (uint64_t a = r->start; a < r->end; a += PK_PAGE_SIZE) {
        int s = PK_OK;
        if (k->objs && pk_jobobj_mem_charge(k, as->pid)) {   /* its job's max_memory */
            as->fault_kind = PK_FAULT_JOB_MEMORY;
            as->fault_va = a;
            s = PK_ERR_NO_MEMORY;
        }
        if (!s) s = pk_page_in(k, as, r, a, &cost, &major);
        if (s) {
            populate_undo(k, as, r->start, a, &st0, root0, width0, nseries0, trace0);
            region_remove(as, r);
            return s;
        }
    }
    return PK_OK;
}

/* A populating map over pages already mapped, [va, end) (room for its
 * region made): first every page gets its tables and frame (charged to
 * its jobs and counted in rss) while the old mapping stays whole; only
 * then, where nothing can fail, the old mapping goes and the frames are
 * mapped.  If a frame cannot be had, the frames and empty tables taken go
 * back and nothing changed but reclaim (NO_MEMORY). */
static int populate_replacing(pk_kernel *k, pk_as *as, uint64_t va, uint64_t end, uint32_t prot,
                              uint32_t flags, uint32_t shm, uint64_t off) {
    pk_mem *m = k->mem;
    const pk_ptfmt *f = m->fmt;
    uint64_t n = (end - va) >> PK_PAGE_SHIFT, i = 0;
    if (n > m->mcfg.frames) return PK_ERR_NO_MEMORY;       /* a distinct frame per page */
    uint32_t *fr = pk_alloc(k, (size_t)n * sizeof *fr), root0 = as->root;
    if (!fr) return PK_ERR_NO_MEMORY;
    int s = PK_OK;
    for (; i < n && !s; i++) {
        uint64_t a = va + (i << PK_PAGE_SHIFT);
        int nomem = 0;
        if (k->objs && pk_jobobj_mem_charge(k, as->pid)) {   /* its job's max_memory */
            as->fault_kind = PK_FAULT_JOB_MEMORY;
            as->fault_va = a;
            s = PK_ERR_NO_MEMORY;
        } else if (!pk_pt_walk(k, as, a, true, &nomem)) {
            s = PK_ERR_NO_MEMORY;
        } else if (!(fr[i] = shm ? pk_shm_frame(k, shm, off + i) : frame_for(k, as, a))) {
            s = PK_ERR_NO_MEMORY;
        } else {
            as->st.rss++;
        }
    }
    if (s) {                                   /* i - 1 pages have frames */
        for (uint64_t j = 0; j + 1 < i; j++) pk_frame_put(k, fr[j]);
        as->st.rss -= i - 1;
        pk_pt_prune(k, as, va, va + (i << PK_PAGE_SHIFT), !root0);
        if (k->objs) pk_jobobj_mem_sync(k, as->pid);
        pk_free(k, fr, (size_t)n * sizeof *fr);
        return s;
    }
    regions_cut(as, va, end);
    leaves_each(k, as, va, end, leaf_drop, 0);
    pk_region *r = region_add(as, (pk_region){ .start = va, .end = end, .prot = prot, .flags = flags,
                                                .shm = shm, .origin = as_id(k, as), .off = off });
    for (i = 0; i < n; i++) {
        uint64_t a = va + (i << PK_PAGE_SHIFT);
        uint64_t *e = pk_pt_walk(k, as, a, false, NULL);      /* made above */
        *e = pk_leaf_entry(f, fr[i], r->prot, r->flags);
        if (shm && !(flags & PK_MAP_SHARED)) *e = (*e & ~f->write) | f->soft;   /* private */
        if (!shm) pk_repl_link(k, fr[i]);
        as->st.minor_faults++;
        as->st.page_faults++;
        pk_fault_count(k);
        PK_TRACE_OP(k, PK_TR_FAULT, PK_TR_MINOR, a);
    }
    pk_free(k, fr, (size_t)n * sizeof *fr);
    return PK_OK;
}

/* Map [va, va+len) with prot (must include READ) and flags, replacing
 * whatever was mapped there. */
int pk_as_map(pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot, uint32_t flags) {
    return pk_as_map_object(k, as, va, len, prot, flags, 0);
}

/* The same, mapping shared-memory object shm (0: anonymous) from its
 * first page: the region is shared across fork. */
int pk_as_map_object(pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot,
                     uint32_t flags, uint32_t shm) {
    return pk_as_map_at(k, as, va, len, prot, flags | (shm ? PK_MAP_SHARED : 0), shm, 0);
}

/* The same from page off of the object; a file's page cache grows with
 * its file, so a mapping of it may reach past its pages (pk_fault.c
 * refuses a touch past the end of the file). */
int pk_as_map_at(pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot,
                 uint32_t flags, uint32_t shm, uint64_t off) {
    k->mem->map_count_refused = 0;
    int s = range_check(k, va, len);
    if (s) return s;
    if (!(prot & PK_PROT_READ) || prot > 7 || flags > 31) return PK_ERR_INVALID_ARGS;
    if (shm && (shm >= k->mem->nshm || !k->mem->shm[shm].alive)) return PK_ERR_OUT_OF_RANGE;
    if (shm && !k->mem->shm[shm].ino && (off > k->mem->shm[shm].pages
                                         || len >> PK_PAGE_SHIFT > k->mem->shm[shm].pages - off))
        return PK_ERR_OUT_OF_RANGE;
    if (off > (1ull << 40) || (!shm && off)) return PK_ERR_OUT_OF_RANGE;
    uint64_t end = va + len;
    if ((s = regions_grow(k, as, cut_delta(as, va, end) + 1))) return s;
    if ((s = pk_pt_unshare_range(k, as, va, end))) return s;     /* leaves change below */
    if ((flags & PK_MAP_POPULATE) && pk_regions_meet(as, va, end))
        return populate_replacing(k, as, va, end, prot, flags, shm, off);
    regions_cut(as, va, end);
    leaves_each(k, as, va, end, leaf_drop, 0);
    pk_region *r = region_add(as, (pk_region){ .start = va, .end = end, .prot = prot, .flags = flags,
                                                .shm = shm, .origin = as_id(k, as), .off = off });
    return flags & PK_MAP_POPULATE ? populate(k, as, r) : PK_OK;
}

int pk_as_unmap(pk_kernel *k, pk_as *as, uint64_t va, uint64_t len) {
    k->mem->map_count_refused = 0;
    int s = range_check(k, va, len);
    if (s) return s;
    if ((s = regions_grow(k, as, cut_delta(as, va, va + len)))) return s;
    if ((s = pk_pt_unshare_range(k, as, va, va + len))) return s;
    regions_cut(as, va, va + len);
    leaves_each(k, as, va, va + len, leaf_drop, 0);
    return PK_OK;
}

/* A file's page cache (object shm) lost its pages from page `from` on (a
 * truncation): every mapping of them, shared or private, drops them, so
 * the next touch faults and finds them past the end of the file (SIGBUS),
 * as truncate_pagecache (mm/truncate.c) unmaps them, private copies
 * included.  A leaf table still shared by fork that cannot be copied
 * (no frame) keeps its entries. */
void pk_as_zap_file(pk_kernel *k, uint32_t shm, uint64_t from) {
    pk_mem *m = k->mem;
    for (uint32_t i = 1; i < m->nas; i++) {
        pk_as *as = &m->as[i];
        if (!as->alive) continue;
        for (pk_region *r = pk_region_first(as); r; r = pk_region_next(as, r)) {
            if (r->shm != shm) continue;
            uint64_t skip = from > r->off ? from - r->off : 0;
            if (skip >= (r->end - r->start) >> PK_PAGE_SHIFT) continue;
            uint64_t va = r->start + (skip << PK_PAGE_SHIFT), before = as->changed;
            if (pk_pt_unshare_range(k, as, va, r->end)) continue;
            leaves_each(k, as, va, r->end, leaf_drop, 0);
            if (as->changed != before) pk_tlb_shootdown(k, as, va, r->end, -1);
        }
    }
}

/* Split the region straddling `at` (if one does) in two there (room reserved). */
static void region_split(pk_as *as, uint64_t at) {
    pk_region *r = pk_region_from(as, at);
    if (!r || r->start >= at) return;
    pk_region tail = *r;
    pk_region_move_start(&tail, at);
    r->end = at;
    region_add(as, tail);
}

/* Change the protection of the mapped parts of [va, va+len); PROT_WRITE
 * over a PK_MAP_NOMAYWRITE region is ACCESS_DENIED (nothing changes). */
int pk_as_protect(pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot) {
    k->mem->map_count_refused = 0;
    int s = range_check(k, va, len);
    if (s) return s;
    if (!(prot & PK_PROT_READ) || prot > 7) return PK_ERR_INVALID_ARGS;
    uint64_t end = va + len;
    for (const pk_region *r = pk_region_from(as, va); (prot & PK_PROT_WRITE) && r && r->start < end;
         r = pk_region_next(as, r))
        if (r->flags & PK_MAP_NOMAYWRITE) return PK_ERR_ACCESS_DENIED;   /* mprotect(2): EACCES */
    const pk_region *a = pk_region_from(as, va), *b = pk_region_from(as, end);
    int64_t splits = (a && a->start < va) + (b && b->start < end);
    if ((s = regions_grow(k, as, splits))) return s;
    if ((s = pk_pt_unshare_range(k, as, va, end))) return s;
    region_split(as, va);
    region_split(as, end);
    for (pk_region *r = pk_region_from(as, va); r && r->start < end; r = pk_region_next(as, r))
        r->prot = prot;
    leaves_each(k, as, va, end, leaf_protect, prot);
    return PK_OK;
}
