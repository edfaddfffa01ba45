/* pk_tlb.h - per-CPU TLBs (pk_tlb.c; docs/memory.md, "Design").
 * Included by pk_vm.h. */
#ifndef PK_TLB_H
#define PK_TLB_H

#define PK_TLBE_WRITE  1        /* the PTE allows writes                     */
#define PK_TLBE_USER   2        /* the PTE allows user access                */
#define PK_TLBE_DIRTY  4        /* the PTE's dirty bit is set                */
#define PK_TLBE_GLOBAL 8        /* matches every address space               */
#define PK_TLBE_EXEC  16        /* the PTE allows instruction fetches        */
#define PK_TLBE_ALL   31        /* every bit above                           */

typedef struct pk_tlbe {
    uint64_t vpn1;              /* virtual page number + 1; 0: invalid       */
    uint32_t asid;              /* address-space id (with ASIDs on)          */
    uint32_t flags;             /* PK_TLBE_*                                  */
    uint64_t stamp;             /* last use (LRU)                             */
    uint32_t frame;             /* the frame it translates to                */
    uint32_t pad;
} pk_tlbe;

typedef struct pk_tlb {
    pk_tlbe *e;                 /* sets x ways                               */
    uint32_t cur;               /* address space loaded (CR3 / satp); 0 none */
    uint32_t pad;
    uint64_t clock;
    pk_tlb_stats st;
} pk_tlb;

/* Look vpn up for address space asid in t (sets x ways, sets a power of
 * two): the entry, if one matches and allows the access (a write needs
 * WRITE and DIRTY: setting the dirty bit takes a walk); else NULL. */
static inline pk_tlbe *pk_tlb_lookup(pk_tlb *t, uint32_t sets, uint32_t ways, uint64_t vpn,
                                     uint32_t asid, bool write) {
    pk_tlbe *e = &t->e[(vpn & (sets - 1)) * ways];
    uint32_t need = PK_TLBE_USER | (write ? PK_TLBE_WRITE | PK_TLBE_DIRTY : 0);
    for (uint32_t w = 0; w < ways; w++, e++) {
        if (e->vpn1 != vpn + 1 || (e->asid != asid && !(e->flags & PK_TLBE_GLOBAL))) continue;
        if ((e->flags & need) != need) return NULL;
        e->stamp = ++t->clock;
        return e;
    }
    return NULL;
}

struct pk_kernel;
struct pk_as;
struct pk_mem;
void pk_tlb_flush(struct pk_mem *m, pk_tlb *t);   /* every entry but the global ones */
int  pk_tlbs_init(struct pk_kernel *k);
void pk_tlbs_fini(struct pk_kernel *k);
void pk_tlb_fill(struct pk_kernel *k, pk_tlb *t, uint64_t vpn, uint32_t asid, uint64_t pte);
/* Invalidate as's entries for [va, end) on every CPU that may hold them;
 * returns the IPIs sent (CPUs other than `self`, which may be -1). */
uint64_t pk_tlb_shootdown(struct pk_kernel *k, struct pk_as *as, uint64_t va, uint64_t end,
                          int self);
#endif
