/* pk_reclaim.c - page replacement: which resident page leaves memory when
 * a frame is needed, writing it to swap; and the out-of-memory rule
 * (docs/memory.md, "Replacement and swap").
 *
 * Every resident user page is on a list in the order it was loaded
 * (list 0; the two-list policy adds the active list, 1).  Replacement is
 * *local* when a process at its rss_limit faults (only its pages are
 * candidates: the lists are scanned skipping other processes' pages) and
 * *global* when free frames run out or fall below the low watermark (every
 * page is a candidate).  Each policy is one victim function:
 *   fifo    the oldest page;
 *   lru     the least recently used (Memory.track moves a page to the
 *           tail of the list at every access, so the head is the LRU);
 *   clock   a hand sweeps the list as a circle; a page with Accessed set
 *           loses it and is passed over, the first without is the victim;
 *           a new page enters just behind the hand;
 *   random  uniform among the candidates (the kernel's generator);
 *   opt     the page whose next use is furthest away (pk_opt.c);
 *   two-list  Linux-like: new pages enter the inactive list; while it is
 *           shorter than the active list, the oldest active pages move to
 *           it with Accessed cleared; the oldest inactive page is the
 *           victim unless Accessed is set, in which case it is cleared and
 *           the page moves to the active list.
 * Clearing an Accessed bit also invalidates the page's TLB entries (no
 * interrupt is charged), so that its next use walks and sets it again. */
#include "pk_core.h"

static inline pk_frame *fr(pk_mem *m, uint32_t f) { return &m->frames[f]; }

/* ---- lists ----------------------------------------------------------------- */

/* Put f on list l before frame `at` (0: at the tail). */
static void list_insert(pk_mem *m, uint32_t l, uint32_t f, uint32_t at) {
    pk_frame *x = fr(m, f);
    x->next = at;
    x->prev = at ? fr(m, at)->prev : m->tail[l];
    if (x->prev) fr(m, x->prev)->next = f; else m->head[l] = f;
    if (at) fr(m, at)->prev = f; else m->tail[l] = f;
    x->flags = (x->flags & ~PK_FR_ACTIVE) | PK_FR_LISTED | (l ? PK_FR_ACTIVE : 0);
    m->nlist[l]++;
    m->as[x->owner].nlist[l]++;
}

/* The first frame from f on, in list order, of as (of anyone if NULL). */
static uint32_t owned_from(pk_mem *m, uint32_t f, const pk_as *as) {
    while (f && as && &m->as[fr(m, f)->owner] != as) f = fr(m, f)->next;
    return f;
}

/* Take f off its list, moving clock hands that point at it (a local
 * hand only ever points at a frame of its own address space). */
static void list_remove(pk_mem *m, uint32_t f) {
    pk_frame *x = fr(m, f);
    uint32_t l = (x->flags & PK_FR_ACTIVE) ? 1 : 0;
    pk_as *as = &m->as[x->owner];
    if (m->hand == f) m->hand = x->next;
    if (as->hand == f) as->hand = owned_from(m, x->next, as);
    if (x->prev) fr(m, x->prev)->next = x->next; else m->head[l] = x->next;
    if (x->next) fr(m, x->next)->prev = x->prev; else m->tail[l] = x->prev;
    x->flags &= ~(PK_FR_LISTED | PK_FR_ACTIVE);
    x->next = x->prev = 0;
    m->nlist[l]--;
    as->nlist[l]--;
}

void pk_repl_link(pk_kernel *k, uint32_t f) {
    pk_mem *m = k->mem;
    uint32_t at = 0;
    if (m->mcfg.replacement == PK_REPL_CLOCK) {     /* just behind the hand */
        pk_as *as = &m->as[fr(m, f)->owner];
        at = as->st.rss_limit ? as->hand : m->hand;
    }
    list_insert(m, 0, f, at);
    fr(m, f)->last = k->now;
}

void pk_repl_unlink(pk_kernel *k, uint32_t f) {
    if (k->mem->frames[f].flags & PK_FR_LISTED) list_remove(k->mem, f);
}

void pk_repl_used(pk_kernel *k, uint32_t f) {
    pk_mem *m = k->mem;
    pk_frame *x = fr(m, f);
    x->last = k->now;
    if (m->mcfg.replacement == PK_REPL_LRU && m->tail[0] != f && (x->flags & PK_FR_LISTED)) {
        list_remove(m, f);
        list_insert(m, 0, f, 0);
    }
}

/* ---- accessed bits --------------------------------------------------------- */

static uint64_t *pte_of(pk_kernel *k, uint32_t f) {
    pk_frame *x = fr(k->mem, f);
    return pk_pt_walk(k, &k->mem->as[x->owner], x->va, false, NULL);
}

/* Test and clear the Accessed bit of f's PTE (and drop its TLB entries). */
static bool young_clear(pk_kernel *k, uint32_t f) {
    const pk_ptfmt *fm = k->mem->fmt;
    uint64_t *e = pte_of(k, f);
    if (!e || !(*e & fm->accessed)) return false;
    *e &= ~fm->accessed;
    pk_frame *x = fr(k->mem, f);
    pk_as *as = &k->mem->as[x->owner];
    uint64_t ipis = k->mem->ipis;
    pk_tlb_shootdown(k, as, x->va, x->va + PK_PAGE_SIZE, -1);
    k->mem->ipis = ipis;                      /* an invalidation, not counted */
    return true;
}

/* ---- victims --------------------------------------------------------------- */

/* Is f a candidate (of as, or any page if as is NULL)?  Shared frames
 * (ref > 1) stay: without reverse maps only a sole mapping can go; a
 * frame shared by fork whose sharers have gone is one again if its owner
 * still maps it (checked by a walk, once). */
static bool candidate(pk_mem *m, uint32_t f, const pk_as *as) {
    pk_frame *x = fr(m, f);
    if ((as && &m->as[x->owner] != as) || x->ref != 1) return false;
    if (!(x->flags & PK_FR_SHARED)) {            /* not while a leaf table shared by fork maps it */
        uint32_t tab = pk_pt_leaf_table(m->k, &m->as[x->owner], x->va, NULL);
        return !tab || m->frames[tab].ref == 1;
    }
    pk_as *o = &m->as[x->owner];
    uint64_t *e = o->alive && o->root ? pk_pt_walk(m->k, o, x->va, false, NULL) : NULL;
    if (!e || !(*e & m->fmt->valid) || pk_pte_frame(m->fmt, *e) != f) return false;
    if (m->frames[pk_pt_leaf_table(m->k, o, x->va, NULL)].ref > 1) return false;
    x->flags &= ~PK_FR_SHARED;
    return true;
}

/* The first candidate from f on along list order (0: none). */
static uint32_t first_from(pk_mem *m, uint32_t f, const pk_as *as) {
    for (; f; f = fr(m, f)->next)
        if (candidate(m, f, as)) return f;
    return 0;
}

static uint32_t victim_fifo(pk_kernel *k, pk_as *as) {
    return first_from(k->mem, k->mem->head[0], as);
}

/* Clock: sweep from the hand (at most twice around the circle); the
 * hand stops just past the victim. */
static uint32_t victim_clock(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    uint32_t *hand = as ? &as->hand : &m->hand;
    uint64_t n = as ? as->nlist[0] : m->nlist[0];
    for (uint64_t step = 0; step <= 2 * n; step++) {
        uint32_t f = owned_from(m, *hand ? *hand : m->head[0], as);
        if (!f) f = owned_from(m, m->head[0], as);    /* wrap around */
        if (!f) return 0;
        *hand = owned_from(m, fr(m, f)->next, as);
        if (candidate(m, f, as) && !young_clear(k, f)) return f;
    }
    return 0;
}

/* Random: draw frame numbers until a candidate (uniform), then fall back
 * to counting along the list. */
static uint32_t victim_random(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    for (int tries = 0; tries < 64; tries++) {
        uint32_t f = 1 + (uint32_t)(pk_rng_next(&k->rng) % m->hw);
        if ((fr(m, f)->flags & PK_FR_LISTED) && candidate(m, f, as)) return f;
    }
    uint64_t n = as ? as->nlist[0] : m->nlist[0];
    if (!n) return 0;
    uint64_t r = pk_rng_next(&k->rng) % n;
    uint32_t f = first_from(m, m->head[0], as), last = f;
    for (; f && r; r--) { last = f; f = first_from(m, fr(m, f)->next, as); }
    return f ? f : last;
}

/* OPT: the candidate with the largest distance (first in list order on
 * ties, i.e. the oldest among pages never used again). */
static uint32_t victim_opt(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    pk_opt_lookahead(k, as);
    uint32_t best = 0;
    for (uint32_t f = first_from(m, m->head[0], as); f; f = first_from(m, fr(m, f)->next, as))
        if (!best || fr(m, f)->last > fr(m, best)->last) best = f;
    return best;
}

/* Two lists: balance, then second chance on the inactive list. */
static uint32_t victim_two_list(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    uint64_t *n = as ? as->nlist : m->nlist;
    for (uint64_t step = 0; step <= 4 * (n[0] + n[1]) + 2; step++) {
        if (n[0] < n[1]) {                          /* deactivate the oldest active */
            uint32_t f = first_from(m, m->head[1], as);
            if (f) { young_clear(k, f); list_remove(m, f); list_insert(m, 0, f, 0); continue; }
        }
        uint32_t f = first_from(m, m->head[0], as);
        if (!f) return 0;
        if (!young_clear(k, f)) return f;
        list_remove(m, f);                          /* referenced: activate */
        list_insert(m, 1, f, 0);
    }
    return 0;
}

static uint32_t victim(pk_kernel *k, pk_as *as) {
    switch (k->mem->mcfg.replacement) {
    case PK_REPL_CLOCK: return victim_clock(k, as);
    case PK_REPL_RANDOM: return victim_random(k, as);
    case PK_REPL_OPT: return victim_opt(k, as);
    case PK_REPL_TWO_LIST: return victim_two_list(k, as);
    default: return victim_fifo(k, as);             /* FIFO and LRU: the head */
    }
}

/* ---- eviction -------------------------------------------------------------- */

/* Write page f to a free swap slot and free its frame; false if swap is
 * full.  Its TLB entries are shot down (interrupts counted, not charged). */
static bool evict(pk_kernel *k, uint32_t f) {
    pk_mem *m = k->mem;
    pk_frame *x = fr(m, f);
    pk_as *as = &m->as[x->owner];
    uint64_t va = x->va, *e = pte_of(k, f);
    if (!e) { k->broken = PK_ERR_INTERNAL; return false; }
    uint32_t slot = pk_swap_alloc(k);
    if (!slot) return false;
    *e = ((uint64_t)slot << m->fmt->pfn_shift) | m->fmt->soft;
    as->st.rss--;
    as->st.swapped++;
    as->st.swap_outs++;
    m->swap_outs++;
    m->evictions++;
    pk_frame_put(k, f);
    pk_tlb_shootdown(k, as, va, va + PK_PAGE_SIZE, -1);
    pk_digest(k, va, 0x5a0u | (uint64_t)slot << 16);
    return true;
}

bool pk_repl_evict(pk_kernel *k, pk_as *as) {
    pk_mem *m = k->mem;
    if (!m->mcfg.swap || m->swap_used >= m->mcfg.swap) return false;
    uint32_t f = victim(k, as);
    return f && evict(k, f);
}

/* Below the low watermark: reclaim globally up to the high one. */
void pk_repl_watermark(pk_kernel *k) {
    pk_mem *m = k->mem;
    if (m->nfree >= m->mcfg.low || !m->mcfg.swap) return;
    m->reclaims++;
    while (m->nfree < m->mcfg.high && pk_repl_evict(k, NULL)) {}
}

/* ---- out of memory ----------------------------------------------------------- */

/* Kill the live process with the largest badness = resident pages +
 * pages in swap + page-table pages (Linux's oom_badness, without its
 * adjustments); the lowest pid on ties.  Records why in its address
 * space. */
pk_as *pk_oom_kill(pk_kernel *k, pk_as *faulting, uint64_t va) {
    pk_mem *m = k->mem;
    pk_as *worst = NULL;
    uint64_t most = 0;
    for (uint32_t i = 1; i < m->nas; i++) {
        pk_as *as = &m->as[i];
        uint64_t b = as->st.rss + as->st.swapped + as->st.pt_pages;
        if (as->alive && pk_proc_at(k, as->pid)->state != PK_PS_NEW && (!worst || b > most)) {
            worst = as;
            most = b;
        }
    }
    if (!worst) return NULL;
    worst->fault_kind = PK_FAULT_OOM_KILLED;
    worst->fault_va = va;
    worst->oom_trigger = faulting->pid;
    worst->oom_badness = most;
    m->oom_kills++;
    pk_digest(k, worst->pid, 0x00e1u | most << 16);
    if (worst != faulting)
        pk_thread_exit(k, pk_thread_at(k, pk_proc_at(k, worst->pid)->first_tid), -1, PK_KILL_OOM);
    return worst;
}
