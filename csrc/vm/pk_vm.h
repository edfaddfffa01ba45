/* pk_vm.h - virtual memory: frames, page tables in hardware formats,
 * address spaces with regions, faults (docs/memory.md, "Design").
 *
 * Everything here exists only in a kernel configured with memory
 * (k->mem != NULL); a kernel without memory never reaches this code
 * except through `if (k->mem)` hooks. */
#ifndef PK_VM_H
#define PK_VM_H

#define PK_PAGE_SHIFT 12
#define PK_PAGE_SIZE  4096ull
#define PK_REG_RANGE_I 3        /* next index of the touch_range in progress */
#define PK_PT_ENTRIES 512
#include "pk_tlb.h"

/* ---- page-table formats (pk_pt.c) ----------------------------------------- */
typedef struct pk_ptfmt {
    uint32_t levels;            /* 3, 4 or 5                                */
    uint32_t va_bits;           /* 39, 48 or 57                              */
    uint64_t valid;             /* present (x86) / V (RISC-V)                */
    uint64_t read;              /* bit a readable leaf needs (x86: present)  */
    uint64_t write, user, accessed, dirty, global;
    uint64_t nx;                /* x86: no-execute bit (set = not executable) */
    uint64_t exec;              /* RISC-V: X bit                              */
    uint64_t table;             /* the bits of an entry pointing to a table  */
    uint64_t soft;              /* a bit the hardware ignores (kernel's own)  */
    uint32_t pfn_shift;         /* where the frame number starts (12 or 10)  */
    uint32_t a_interior;        /* the walker sets Accessed in interior entries */
    uint64_t pfn_mask;          /* frame-number mask after shifting          */
} pk_ptfmt;

const pk_ptfmt *pk_ptfmt_get(uint32_t format);   /* PK_MMU_*; NULL if unknown */

static inline uint64_t pk_pte_frame(const pk_ptfmt *f, uint64_t e) {
    return (e >> f->pfn_shift) & f->pfn_mask;
}
static inline uint32_t pk_pt_index(const pk_ptfmt *f, uint64_t va, uint32_t level) {
    /* level 0 is the root */
    return (uint32_t)(va >> (PK_PAGE_SHIFT + 9 * (f->levels - 1 - level))) & 511;
}

/* ---- frames (pk_frame.c) --------------------------------------------------- */
typedef struct pk_frame {
    uint32_t ref;               /* mappings (page-table pages: 1); 0 = free  */
    uint32_t owner;             /* address-space id; 0: a page-table page    */
    uint64_t va;                /* page-aligned address it is mapped at      */
    uint32_t next, prev;        /* free list (next), or replacement list     */
    uint32_t flags;             /* PK_FR_*                                    */
    uint32_t mark;              /* OPT: generation of the look-ahead that saw it */
    uint64_t last;              /* last use in ns (Memory.track); OPT: distance */
} pk_frame;

#define PK_FR_LISTED 1          /* on a replacement list (a resident user page) */
#define PK_FR_ACTIVE 2          /* two-list policy: on the active list        */
#define PK_FR_SHARED 4          /* shared by fork: its owner may not map it   */

/* ---- address spaces (pk_aspace.c) ----------------------------------------- */
typedef struct pk_region {
    uint64_t start, end;        /* [start, end), page-aligned                */
    uint32_t prot;              /* PK_PROT_* bits                             */
    uint32_t flags;             /* PK_MAP_* bits                              */
    uint32_t shm;               /* shared-memory object mapped (pk_shm.c); 0: anonymous */
    uint32_t origin;            /* anonymous shared: address space that mapped it
                                   (fork copies it; futex keys, pk_vfutex.c) */
    uint64_t off;               /* its page mapped at start                   */
    uint32_t img;               /* contents from this ELF image (pk_rv.h); 0: zeroed */
    /* links in its address space's regions (indexes into pk_as.regions,
     * 0: none): an AVL tree ordered by start (left, right, and the height
     * of its subtree) and the sorted list (prev, next); unused in a
     * region outside an address space */
    uint32_t left, right, prev, next;
    uint32_t height;
} pk_region;

/* region flag beside the PK_MAP_* of pk_api.h (never passed in): a
 * MAP_SHARED file mapping that may not become writable (Linux: no
 * VM_MAYWRITE; mprotect(2) EACCES) */
#define PK_MAP_NOMAYWRITE 32

/* Keep r's object offset right when its start moves to `start`. */
static inline void pk_region_move_start(pk_region *r, uint64_t start) {
    if (r->shm) r->off += (start - r->start) >> PK_PAGE_SHIFT;
    r->start = start;
}

typedef struct pk_shm {         /* a shared-memory object                     */
    uint64_t pages;
    uint32_t *frames;           /* [pages]; 0: not yet touched                */
    uint32_t alive;             /* 0 once closed (its mappings keep their pages) */
    uint32_t ino;               /* a file's page cache: the inode (pk_fs.c); 0: an
                                   object of pk_shm_create                     */
} pk_shm;

typedef struct pk_as {
    uint32_t pid;
    uint32_t root;              /* frame of the root table; 0: none yet      */
    /* regions (pk_aspace.c): a pool of nodes (index 0 unused), linked
     * into an AVL tree by start (O(log n) lookup, insert, remove) and into
     * a sorted list for walks; nregions of them in use, free ones chained
     * through next from rfree */
    uint32_t nregions, regions_cap;
    pk_region *regions;
    uint32_t rroot, rfirst, rlast, rfree, rhw;
    uint32_t alive;             /* 0 once its process has ended              */
    uint32_t fault_kind;        /* PK_FAULT_* of the fatal fault, or 0       */
    uint64_t fault_va;
    uint64_t cpus[PK_MAX_CPUS / 64];  /* CPUs whose TLB may hold its entries */
    uint64_t changed;           /* leaves changed by unmap / protect (shootdowns) */
    uint32_t hand;              /* local clock hand (a frame), 0: the oldest  */
    uint32_t oom_trigger;       /* OOM-killed: the pid whose fault chose it   */
    uint64_t oom_badness;
    uint64_t nlist[2];          /* its frames on lists [0] and [1]            */
    pk_as_stats st;
} pk_as;

/* ---- the memory system of a kernel ----------------------------------------- */
typedef struct pk_mem {
    struct pk_kernel *k;        /* the kernel it belongs to                   */
    pk_mem_config mcfg;
    pk_mmu_config mmu;
    const pk_ptfmt *fmt;
    pk_frame *frames;           /* [0 .. hw]; frames[0] unused               */
    uint8_t **data;             /* contents, NULL until they exist            */
    uint32_t hw, cap;           /* highest frame handed out; capacity        */
    uint32_t free_head;         /* free list of frames <= hw                  */
    uint64_t nfree;             /* frames free (never used ones included)     */
    uint64_t data_pages;        /* frames with contents                       */
    pk_as   *as;                /* address spaces, [0] unused                 */
    uint32_t nas, as_cap;
    uint64_t live_as;           /* address spaces of live processes          */
    uint64_t pt_pages;          /* page-table pages in use, kernel-wide      */
    pk_tlb  *tlbs;              /* one per CPU                                */
    uint32_t sets, ways;        /* TLB geometry; sets == 0: no TLB           */
    uint64_t ipis;
    /* replacement (pk_reclaim.c): resident user frames in lists, oldest
     * first: [0] the one list (the inactive list of PK_REPL_TWO_LIST),
     * [1] the active list */
    uint32_t head[2], tail[2];
    uint64_t nlist[2];
    uint32_t hand;              /* global clock hand, 0: the oldest          */
    uint32_t gen;               /* OPT look-ahead generation                  */
    const pk_op *cur_op;        /* the op making the access (OPT), or NULL    */
    const uint64_t *cur_i;      /* its touch_range index                      */
    /* swap (pk_swap.c): slots 1..mcfg.swap, a free list over those used */
    uint32_t *slot_next;
    uint32_t slot_hw, slot_cap, slot_free;
    uint64_t swap_used, swap_ins, swap_outs, evictions, reclaims, oom_kills;
    /* faults per time bucket (pk_swap.c) */
    uint32_t *series;
    uint32_t nseries;
    uint64_t width;
    pk_region stack;            /* every process's stack region (Memory.stack) */
    pk_shm  *shm;               /* shared-memory objects, [0] unused          */
    uint64_t block_ns;          /* how long the PK_ACC_BLOCK just returned blocks */
    uint32_t pager_pending;     /* a fault waits for the host's pager: 1, then
                                   2 once read (pk_vm_pager_next)          */
    uint32_t pager_answer;      /* 1 + the answer given for it, or 0          */
    pk_pager_fault pager;       /* that fault                                 */
    uint32_t in_host_touch;     /* ctx.touch: pager regions act as demand-zero */
    uint32_t nshm, shm_cap;
    uint32_t map_count_refused; /* the latest host map / unmap / protect
                                   was refused by max_map_count */
    uint32_t pad2;
} pk_mem;

/* frames */
int  pk_mem_init(struct pk_kernel *k, const pk_mem_config *m, const pk_mmu_config *u);
void pk_mem_fini(struct pk_kernel *k);
uint32_t pk_frame_alloc(struct pk_kernel *k, uint32_t owner, uint64_t va);  /* 0: none */
void pk_frame_put(struct pk_kernel *k, uint32_t f);           /* drop one reference */
uint8_t *pk_frame_data(struct pk_kernel *k, uint32_t f);      /* NULL: no memory    */

/* page tables */
uint32_t pk_pt_new(struct pk_kernel *k);                      /* a zeroed table     */
/* The leaf entry for va, creating missing tables if alloc (NULL if a
 * table is missing and !alloc, or no frame is left: *nomem then 1). */
struct pk_as;
uint64_t *pk_pt_walk(struct pk_kernel *k, struct pk_as *as, uint64_t va, bool alloc, int *nomem);
uint64_t *pk_pt_walk_leaf(struct pk_kernel *k, struct pk_as *as, uint64_t va, bool alloc, int *nomem,
                          uint32_t *tab_out);
uint64_t *pk_pt_lookup(struct pk_kernel *k, struct pk_as *as, uint64_t va, uint64_t *next);
uint32_t pk_pt_trace(struct pk_kernel *k, const struct pk_as *as, uint64_t va, uint64_t *out);
void pk_pt_free_all(struct pk_kernel *k, struct pk_as *as);   /* tables and leaves */
/* leaf tables shared by fork (pk_fork.c): frames[tab].ref counts the
 * address spaces whose tables name it; frames[tab].va is the id of the
 * space that owns the pages its leaves map (0: none, they are marked
 * PK_FR_SHARED).  While shared its entries allow no write, whatever their
 * bits; a change to one gives the changing space its own copy first. */
uint32_t pk_pt_leaf_table(struct pk_kernel *k, const struct pk_as *as, uint64_t va, uint64_t **slot);
int  pk_pt_unshare(struct pk_kernel *k, struct pk_as *as, uint64_t *slot, uint64_t base);
int  pk_pt_unshare_range(struct pk_kernel *k, struct pk_as *as, uint64_t va, uint64_t end);
void pk_pt_leave(struct pk_kernel *k, struct pk_as *as, uint32_t tab, uint64_t base);
void pk_pt_prune(struct pk_kernel *k, struct pk_as *as, uint64_t va, uint64_t end, bool free_root);

/* address spaces */
int  pk_as_reserve(struct pk_kernel *k, uint32_t count);        /* room for count more */
uint32_t pk_as_create(struct pk_kernel *k, uint32_t pid);      /* cannot fail after reserve */
void pk_as_destroy(struct pk_kernel *k, pk_as *as);
pk_as *pk_as_of(struct pk_kernel *k, uint32_t pid);           /* NULL: none */
const pk_region *pk_as_region(const pk_as *as, uint64_t va);
/* regions in address order: the first, the one after r (NULL: none) */
static inline pk_region *pk_region_first(const pk_as *as) {
    return as->rfirst ? &as->regions[as->rfirst] : NULL;
}
static inline pk_region *pk_region_next(const pk_as *as, const pk_region *r) {
    return r->next ? &as->regions[r->next] : NULL;
}
/* the first region ending above va (NULL: none); O(log n) */
pk_region *pk_region_from(const pk_as *as, uint64_t va);
/* does any region meet [va, end)? */
static inline bool pk_regions_meet(const pk_as *as, uint64_t va, uint64_t end) {
    const pk_region *r = pk_region_from(as, va);
    return r && r->start < end;
}
int  pk_regions_copy(struct pk_kernel *k, pk_as *dst, const pk_as *src);  /* dst has none */
void pk_regions_clear(pk_as *as);                     /* all go; the pool stays */
void pk_regions_free(struct pk_kernel *k, pk_as *as); /* all go with the pool    */
/* append r after every region (restore; the caller keeps the order) */
int  pk_regions_append(struct pk_kernel *k, pk_as *as, const pk_region *r);
int  pk_as_map(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot, uint32_t flags);
int  pk_as_map_object(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot,
                      uint32_t flags, uint32_t shm);
int  pk_as_unmap(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len);
int  pk_as_protect(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot);

/* bring the page at va under region r in (pk_aspace.c): a zeroed or
 * shared frame (minor fault), or its copy in swap (major fault, *major
 * set); NO_MEMORY if there is no frame */
int pk_page_in(struct pk_kernel *k, pk_as *as, const pk_region *r, uint64_t va, uint64_t *cost,
               bool *major);
/* one access by the running thread's process (pk_fault.c): PK_ACC_OK (cost added to
 * *cost), PK_ACC_KILL (fault recorded in as; *reason = PK_KILL_*) */
#define PK_ACC_OK    0
#define PK_ACC_KILL  1
#define PK_ACC_BLOCK 2          /* a major fault: block swap_latency, then retry */
#define PK_ACC_LATER 3          /* would block: charge what came before first */
int pk_as_access(struct pk_kernel *k, pk_as *as, uint64_t va, bool write, uint64_t *cost,
                 uint32_t *reason, uint64_t *pte_out, bool may_block);
/* the leaf entry mapping frame with prot and flags (PK_PROT_*, PK_MAP_*) */
uint64_t pk_leaf_entry(const pk_ptfmt *f, uint32_t frame, uint32_t prot, uint32_t flags);

/* drop the page of leaf e (present or swapped) from as; e becomes 0 */
void pk_leaf_drop(struct pk_kernel *k, pk_as *as, uint64_t *e);

/* user-space pager (pk_pager.c): a fault in a PK_MAP_USERFAULT region.
 * PK_OK: go on (a page was granted: bring it in), PK_PAGER_KILL, or
 * PK_ACC_BLOCK / PK_ACC_LATER: the host was asked. */
#define PK_PAGER_KILL 9
int pk_pager_ask(struct pk_kernel *k, pk_as *as, uint64_t va, bool write, bool may_block);

/* shared-memory objects (pk_shm.c): the frame of page i of object id,
 * with one more reference (allocated on first use; 0: no frame) */
uint32_t pk_shm_frame(struct pk_kernel *k, uint32_t id, uint64_t i);
void pk_shm_fini(struct pk_kernel *k);
/* page caches of regular files (pk_shm.c): a new one for inode ino (its
 * id, 0: no memory); the frame of page i held by the cache alone (made on
 * first use, zeroed; 0: no frame); drop page i; release the cache (its
 * mappings keep the pages they hold) */
uint32_t pk_cache_new(struct pk_kernel *k, uint32_t ino);
uint32_t pk_cache_page(struct pk_kernel *k, uint32_t id, uint64_t i);
void pk_cache_drop(struct pk_kernel *k, uint32_t id, uint64_t i);
/* every mapping of page cache id drops its pages from page `from` on
 * (a truncation: the next touch is SIGBUS) */
void pk_as_zap_file(struct pk_kernel *k, uint32_t id, uint64_t from);
void pk_cache_release(struct pk_kernel *k, uint32_t id);
/* may_write: the file may be written through it (a MAP_SHARED mapping
 * of a descriptor opened O_RDWR); without it a shared mapping is
 * PK_MAP_NOMAYWRITE: -EACCES for PROT_WRITE, now or by mprotect(2) */
int  pk_as_map_file(struct pk_kernel *k, pk_as *as, uint32_t ino, uint64_t va, uint64_t len,
                    uint32_t prot, bool shared, bool may_write, uint64_t off);    /* 0 or -errno */
/* map pages [off, off + len) of object or cache shm at va; flags without
 * PK_MAP_SHARED: a private copy-on-write mapping of it (MAP_PRIVATE) */
int  pk_as_map_at(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot,
                  uint32_t flags, uint32_t shm, uint64_t off);

/* fork, copy-on-write, exec, brk (pk_fork.c) */
int  pk_vm_fork(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint64_t child_pc,
                uint64_t *ipis, uint32_t *child_out);
int  pk_cow_break(struct pk_kernel *k, pk_as *as, const pk_region *r, uint64_t va, uint64_t *e,
                  uint64_t *cost);
void pk_vm_exec(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint32_t prog);
int  pk_as_brk(struct pk_kernel *k, pk_as *as, uint64_t end);

/* replacement (pk_reclaim.c) */
void pk_repl_link(struct pk_kernel *k, uint32_t f);     /* a new resident user page */
void pk_repl_unlink(struct pk_kernel *k, uint32_t f);   /* it leaves memory        */
void pk_repl_used(struct pk_kernel *k, uint32_t f);     /* an access (m->track)    */
/* Free one frame of as (local, as != NULL) or of anyone (global) by
 * writing a page to swap; false if no page can go. */
bool pk_repl_evict(struct pk_kernel *k, pk_as *as);
void pk_repl_watermark(struct pk_kernel *k);            /* after an allocation     */
/* No frame and no page to evict: the out-of-memory rule kills a process;
 * returns the victim (which may be `faulting`), or NULL if none. */
pk_as *pk_oom_kill(struct pk_kernel *k, pk_as *faulting, uint64_t va);
/* OPT: distance of each candidate frame to its next use (pk_opt.c) */
void pk_opt_lookahead(struct pk_kernel *k, pk_as *as);

/* swap slots and the fault series (pk_swap.c) */
uint32_t pk_swap_alloc(struct pk_kernel *k);            /* 0: swap full or none */
void pk_swap_free(struct pk_kernel *k, uint32_t slot);
void pk_swap_fini(struct pk_kernel *k);
void pk_fault_count(struct pk_kernel *k);               /* one fault, now       */
#define PK_SERIES_MAX 4096      /* buckets of the fault series at most */
static inline bool pk_pte_swapped(const pk_ptfmt *f, uint64_t e) {
    return !(e & f->valid) && (e & f->soft);
}

/* hooks used by the dispatcher and the interpreter (pk_vm.c) */
void pk_vm_spawn(struct pk_kernel *k, uint32_t pid0, uint32_t count);  /* after reserve */
void pk_vm_proc_exit(struct pk_kernel *k, uint32_t pid);
uint64_t pk_vm_switch(struct pk_kernel *k, struct pk_cpu *c, const pk_thread *next);
#define PK_VM_NEW_IMAGE (-2)    /* pk_vm_script_op: exec replaced the program */
int  pk_vm_script_op(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, const pk_op *op,
                     uint64_t *pc, uint64_t *arg);
#endif
