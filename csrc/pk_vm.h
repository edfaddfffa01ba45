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
    uint32_t next;              /* free list                                  */
    uint32_t pad;
} pk_frame;

/* ---- address spaces (pk_aspace.c) ----------------------------------------- */
typedef struct pk_region {
    uint64_t start, end;        /* [start, end), page-aligned                */
    uint32_t prot;              /* PK_PROT_* bits                             */
    uint32_t flags;             /* PK_MAP_* bits                              */
} pk_region;

typedef struct pk_as {
    uint32_t pid;
    uint32_t root;              /* frame of the root table; 0: none yet      */
    uint32_t nregions, regions_cap;
    pk_region *regions;
    uint32_t alive;             /* 0 once its process has ended              */
    uint32_t fault_kind;        /* PK_FAULT_* of the fatal fault, or 0       */
    uint64_t fault_va;
    uint64_t cpus[PK_MAX_CPUS / 64];  /* CPUs whose TLB may hold its entries */
    uint64_t changed;           /* leaves changed by unmap / protect (shootdowns) */
    pk_as_stats st;
} pk_as;

/* ---- the memory system of a kernel ----------------------------------------- */
typedef struct pk_mem {
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
uint32_t pk_pt_trace(struct pk_kernel *k, const struct pk_as *as, uint64_t va, uint64_t *out);
void pk_pt_free_all(struct pk_kernel *k, struct pk_as *as);   /* tables and leaves */

/* address spaces */
int  pk_as_reserve(struct pk_kernel *k, uint32_t count);        /* room for count more */
uint32_t pk_as_create(struct pk_kernel *k, uint32_t pid);      /* cannot fail after reserve */
void pk_as_destroy(struct pk_kernel *k, pk_as *as);
pk_as *pk_as_of(struct pk_kernel *k, uint32_t pid);           /* NULL: none */
const pk_region *pk_as_region(const pk_as *as, uint64_t va);
int  pk_as_map(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot, uint32_t flags);
int  pk_as_unmap(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len);
int  pk_as_protect(struct pk_kernel *k, pk_as *as, uint64_t va, uint64_t len, uint32_t prot);

/* one access by the running thread's process: PK_ACC_OK (cost added to
 * *cost), PK_ACC_KILL (fault recorded in as; *reason = PK_KILL_*) */
#define PK_ACC_OK   0
#define PK_ACC_KILL 1
int pk_as_access(struct pk_kernel *k, pk_as *as, uint64_t va, bool write, uint64_t *cost,
                 uint32_t *reason, uint64_t *pte_out);

/* hooks used by the dispatcher and the interpreter (pk_vm.c) */
void pk_vm_spawn(struct pk_kernel *k, uint32_t pid0, uint32_t count);  /* after reserve */
void pk_vm_proc_exit(struct pk_kernel *k, uint32_t pid);
uint64_t pk_vm_switch(struct pk_kernel *k, struct pk_cpu *c, const pk_thread *next);
int  pk_vm_script_op(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, const pk_op *op,
                     uint64_t *pc, uint64_t *arg);
#endif
