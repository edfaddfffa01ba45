/* pk_rv_exec.c - the RISC-V RV64IMAC (+ Zicsr, F/D) interpreter: the
 * advance() of PK_BODY_RV threads (docs/riscv.md, "How it runs").
 *
 * advance() runs a block of instructions on the CPU's live registers, up
 * to a budget (at most to the end of the time slice), and stops at an
 * ecall (whose entry cost, Costs.syscall, ends the block), before a fault
 * that must wait, or at the budget; it returns PK_ACT_RUN with the block's
 * time (instructions x Costs.insn_cycles / Costs.clock_hz, plus fault
 * costs), so what follows happens when that time has passed: the next
 * advance() begins by making the system call the side record says was
 * entered (pk_rv_sys.c).  The decoded-instruction cache is described
 * above rv_decode().
 *
 * Memory: every fetch, load and store is translated by the CPU's simulated
 * TLB (pk_tlb.h) and, on a miss, by the page-table walk and fault handler
 * of pk_fault.c.  In front of the TLB sits a host-pointer mirror (a
 * 64-entry direct-mapped table for data, 8 for code) that lives for one
 * advance() only: inside a block nothing but this thread's own misses
 * changes the TLB, and the mirror is emptied at every miss, so a mirror
 * hit is exactly a TLB hit; it updates the entry's LRU stamp and the hit
 * counters like one. */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"

#define BLOCK_MAX 16384u           /* instructions per block at most        */
#define MIRROR 64
/* the data mirror entry of va (entries are 32 bytes: one shift and mask) */
#define MIR_AT(X, va) ((mirror_e *)(void *)((char *)(X).mir + (((va) >> (PK_PAGE_SHIFT - 5)) & ((MIRROR - 1) << 5))))
#define CODE_PAGES 8
#define BLK_SLOT(pc) ((((pc) >> 1) ^ ((pc) >> 10)) & ((1u << PK_RV_BLK_BITS) - 1))
#define PK_NOINLINE_SLOW __attribute__((noinline, cold))

enum { ACC_R = 0, ACC_W = 1, ACC_X = 2 };
enum { RV_OK = 0, RV_LATER, RV_KILL, RV_BLOCK };

/* a data mirror entry (32 bytes): base is its page's address; an empty
 * entry's base is a page of another slot (so no address of its own slot
 * is in that page) and its p is NULL; w: stores may use it */
typedef struct mirror_e { uint64_t base; uint8_t *p; pk_tlbe *e; uint64_t w; } mirror_e;
_Static_assert(sizeof(mirror_e) == 32, "MIR_AT assumes 32-byte entries");
/* a code mirror entry: vpn ~0 when empty */
typedef struct code_e { uint64_t vpn; uint8_t *p; pk_tlbe *e; } code_e;

typedef struct rvx {
    pk_kernel *k;
    pk_cpu *c;
    pk_as *as;
    pk_mem *m;
    pk_tlb *tlb;
    uint32_t asid;
    uint32_t fast;               /* a TLB and no per-access tracking: mirror on */
    uint32_t may_block;          /* first instruction of the block          */
    uint32_t reason;             /* PK_KILL_* when RV_KILL                  */
    uint64_t cost;               /* fault and walk costs of the block (ns)  */
    uint64_t *epoch;             /* the blocks' validation epoch counter     */
    code_e cmir[CODE_PAGES];     /* the code mirror: pages fetched from in this epoch
                                    (direct-mapped by vpn); blocks checked in the epoch
                                    lie there, so data mirror entries never write them */
    uint64_t hits;               /* mirror hits not yet added to the counters */
    uint64_t code_vpn;
    uint8_t *code_p;
    pk_tlbe *code_e;
    mirror_e mir[MIRROR];
} rvx;

static void mirror_clear(rvx *X) {
    for (unsigned i = 0; i < MIRROR; i++) {
        X->mir[i].p = NULL;
        X->mir[i].base = (uint64_t)((i + 1) & (MIRROR - 1)) << PK_PAGE_SHIFT;
    }
    X->code_vpn = ~0ull;
    X->code_p = NULL;
    for (unsigned i = 0; i < CODE_PAGES; i++) X->cmir[i].vpn = ~0ull;
}

static bool code_page(const rvx *X, const uint8_t *p) {
    for (unsigned i = 0; i < CODE_PAGES; i++)
        if (X->cmir[i].vpn != ~0ull && X->cmir[i].p == p) return true;
    return false;
}

/* A new epoch: every block is checked against its bytes again before it
 * runs. */
static void epoch_next(rvx *X) {
    if (X->epoch) ++*X->epoch;
}

/* page vpn (host page p, TLB entry e) enters the code mirror and becomes
 * the current code page; a page it displaces leaves it, and with it the
 * epoch (blocks of that page were checked while its stores were watched) */
static void code_page_add(rvx *X, uint64_t vpn, uint8_t *p, pk_tlbe *e) {
    code_e *ce = &X->cmir[vpn & (CODE_PAGES - 1)];
    if (ce->vpn != ~0ull && ce->vpn != vpn) epoch_next(X);
    ce->vpn = vpn; ce->p = p; ce->e = e;
    X->code_vpn = vpn; X->code_p = p; X->code_e = e;
    for (unsigned i = 0; i < MIRROR; i++)
        if (X->mir[i].p == p) X->mir[i].w = 0;
}

static void hits_flush(rvx *X) {
    if (!X->hits) return;
    X->tlb->st.hits += X->hits;
    X->as->st.touches += X->hits;
    X->hits = 0;
}

static inline uint32_t exec_ok(const pk_ptfmt *f, uint64_t pte) {
    return f->exec ? (pte & f->exec) != 0 : !(pte & f->nx);
}

/* Translate va for an access of kind (ACC_*): the host address of its
 * byte, or NULL with *st set.  The full path: TLB lookup, walk and fault
 * on a miss, fill. */
static uint8_t *xlate_slow(rvx *X, uint64_t va, int kind, int *st) {
    pk_kernel *k = X->k;
    pk_mem *m = X->m;
    uint64_t vpn = va >> PK_PAGE_SHIFT, pte = 0;
    uint32_t frame;
    bool write = kind == ACC_W;
    hits_flush(X);
    pk_tlbe *e = m->sets ? pk_tlb_lookup(X->tlb, m->sets, m->ways, vpn, X->asid, write) : NULL;
    if (e) {
        X->tlb->st.hits++;
        X->as->st.touches++;
        frame = e->frame;
        if (PK_UNLIKELY(m->mcfg.track)) pk_repl_used(k, frame);
        if (kind == ACC_X && !(e->flags & PK_TLBE_EXEC)) goto noexec;
    } else {
        if (m->sets) X->tlb->st.misses++;
        if (X->fast) mirror_clear(X);  /* the fill below may evict a mirrored entry (no mirror without fast) */
        epoch_next(X);                 /* a fault may change mappings and frames */
        int s = pk_as_access(k, X->as, va, write, &X->cost, &X->reason, &pte, X->may_block);
        if (s == PK_ACC_KILL) { *st = RV_KILL; return NULL; }
        if (s == PK_ACC_LATER) { *st = RV_LATER; return NULL; }
        if (s == PK_ACC_BLOCK) { *st = RV_BLOCK; return NULL; }
        if (m->sets) pk_tlb_fill(k, X->tlb, vpn, X->asid, pte);
        frame = (uint32_t)pk_pte_frame(m->fmt, pte);
        if (PK_UNLIKELY(m->mcfg.track)) pk_repl_used(k, frame);
        if (kind == ACC_X && !exec_ok(m->fmt, pte)) goto noexec;
        if (m->sets) e = pk_tlb_lookup(X->tlb, m->sets, m->ways, vpn, X->asid, false);
        if (e) e->stamp = --X->tlb->clock; /* the lookup finds the entry: not an access */
    }
    uint8_t *p = pk_frame_data(k, frame);
    if (!p) { X->reason = PK_KILL_OOM; *st = RV_KILL; return NULL; }
    if (X->fast && e) {
        if (kind == ACC_X) {
            code_page_add(X, vpn, p, e);
        } else {
            mirror_e *me = &X->mir[vpn & (MIRROR - 1)];
            me->base = vpn << PK_PAGE_SHIFT; me->p = p; me->e = e;
            me->w = (e->flags & (PK_TLBE_WRITE | PK_TLBE_DIRTY)) == (PK_TLBE_WRITE | PK_TLBE_DIRTY)
                    && !code_page(X, p);
        }
    }
    return p + (va & (PK_PAGE_SIZE - 1));
noexec:
    X->as->fault_kind = PK_FAULT_EXEC;
    X->as->fault_va = va;
    X->as->st.protection_faults++;
    pk_digest(k, va, 0xfa17u | (uint64_t)PK_FAULT_EXEC << 16);
    X->reason = PK_KILL_SEGV;
    *st = RV_KILL;
    return NULL;
}

/* The counters of mirror hits live in registers inside a block (hot);
 * they go back to the TLB and the address space before anything else
 * looks at them (a slow translation, the end of the block). */
typedef struct hot {
    uint64_t clk, clk0;          /* the TLB's LRU clock; its value at the last sync:
                                    every tick between is one mirror hit */
    uint64_t code_stamp;         /* clock of the last fetch (the code entry's stamp) */
    uint64_t n;                  /* instructions of the block so far */
    uint64_t code_base;          /* address of the mirrored code page (or -4096) */
    uint64_t code_delta;         /* host address - guest address in that page */
    uint64_t ep;                 /* the current validation epoch of blocks */
    const uint8_t *code_p;       /* host address of the mirrored code page (or NULL) */
} hot;

static inline void sync_vals(rvx *X, uint64_t clk, uint64_t clk0, uint64_t code_stamp) {
    X->tlb->clock = clk;
    if (X->code_vpn != ~0ull) X->code_e->stamp = code_stamp;
    X->hits += clk - clk0;
}

static PK_ALWAYS_INLINE void code_refresh(rvx *X, hot *h) {
    h->code_base = X->code_vpn != ~0ull ? X->code_vpn << PK_PAGE_SHIFT : (uint64_t)0 - PK_PAGE_SIZE;
    h->code_delta = (uint64_t)(uintptr_t)X->code_p - h->code_base;
    h->code_p = X->code_p;
}

static PK_ALWAYS_INLINE void hot_sync(rvx *X, hot *h) {
    sync_vals(X, h->clk, h->clk0, h->code_stamp);
    h->clk0 = h->clk;
}

/* pc is in another page of the code mirror: it becomes the current one
 * (the TLB entry of the page left gets the stamp of its last fetch, as a
 * synchronisation would give it); false if pc's page is not mirrored */
static PK_ALWAYS_INLINE bool code_switch(rvx *X, hot *h, uint64_t pc) {
    uint64_t vpn = pc >> PK_PAGE_SHIFT;
    code_e *ce = &X->cmir[vpn & (CODE_PAGES - 1)];
    if (ce->vpn != vpn) return false;
    if (X->code_vpn != ~0ull) X->code_e->stamp = h->code_stamp;
    X->code_vpn = vpn; X->code_p = ce->p; X->code_e = ce->e;
    code_refresh(X, h);
    return true;
}

/* the slow path, with the hot counters synchronised around it (passed by
 * value so that they stay in registers in the block loop) */
static PK_NOINLINE_SLOW uint8_t *xlate_sync_v(rvx *X, uint64_t clk, uint64_t clk0, uint64_t cs,
                                              uint64_t n, uint64_t va, int kind, int *st) {
    sync_vals(X, clk, clk0, cs);
    X->may_block = n == 0;
    return xlate_slow(X, va, kind, st);
}

static PK_ALWAYS_INLINE uint8_t *xlate_sync(rvx *X, hot *h, uint64_t va, int kind, int *st) {
    uint8_t *p = xlate_sync_v(X, h->clk, h->clk0, h->code_stamp, h->n, va, kind, st);
    h->ep = *X->epoch;           /* a miss began a new epoch */
    h->clk = h->clk0 = X->tlb->clock;
    code_refresh(X, h);
    return p;
}

/* The data mirror, then the slow path. */
static PK_ALWAYS_INLINE uint8_t *xlate(rvx *X, hot *h, uint64_t va, int kind, int *st) {
    mirror_e *me = MIR_AT(*X, va);
    if (PK_LIKELY(me->base == (va & ~(uint64_t)(PK_PAGE_SIZE - 1))) && (kind == ACC_R || me->w)) {
        me->e->stamp = ++h->clk;
        return me->p + (va & (PK_PAGE_SIZE - 1));
    }
    return xlate_sync(X, h, va, kind, st);
}

/* Load size bytes at va (little-endian, any alignment): RV_OK or a status. */
static PK_ALWAYS_INLINE int ld(rvx *X, hot *h, uint64_t va, unsigned size, uint64_t *out) {
    int st = RV_OK;
    if (PK_LIKELY((va & (PK_PAGE_SIZE - 1)) <= PK_PAGE_SIZE - size)) {
        uint8_t *p = xlate(X, h, va, ACC_R, &st);
        if (!p) return st;
        uint64_t v = 0;
        memcpy(&v, p, size);
        *out = v;
        return RV_OK;
    }
    uint8_t b[8];                             /* crosses a page: byte by byte */
    for (unsigned i = 0; i < size; i++) {
        uint8_t *p = xlate(X, h, va + i, ACC_R, &st);
        if (!p) return st;
        b[i] = *p;
    }
    uint64_t v = 0;
    memcpy(&v, b, size);
    *out = v;
    return RV_OK;
}

static PK_ALWAYS_INLINE int sto(rvx *X, hot *h, uint64_t va, unsigned size, uint64_t v) {
    int st = RV_OK;
    if (PK_LIKELY((va & (PK_PAGE_SIZE - 1)) <= PK_PAGE_SIZE - size)) {
        uint8_t *p = xlate(X, h, va, ACC_W, &st);
        if (!p) return st;
        memcpy(p, &v, size);
        return RV_OK;
    }
    uint8_t *q[8];                            /* both pages first: no partial store */
    for (unsigned i = 0; i < size; i++)
        if (!(q[i] = xlate(X, h, va + i, ACC_W, &st))) return st;
    for (unsigned i = 0; i < size; i++) *q[i] = (uint8_t)(v >> (8 * i));
    return RV_OK;
}

/* ---- compressed instructions: expanded to their 32-bit equivalents ------- */

#define R_(f7, rs2, rs1, f3, rd, op) ((uint32_t)(f7) << 25 | (uint32_t)(rs2) << 20 | (uint32_t)(rs1) << 15 | (uint32_t)(f3) << 12 | (uint32_t)(rd) << 7 | (op))
#define I_(imm, rs1, f3, rd, op) ((uint32_t)((imm) & 0xfff) << 20 | (uint32_t)(rs1) << 15 | (uint32_t)(f3) << 12 | (uint32_t)(rd) << 7 | (op))
static inline uint32_t S_(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3, uint32_t op) {
    return (uint32_t)((imm >> 5) & 0x7f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (uint32_t)(imm & 31) << 7 | op;
}
static inline uint32_t B_(int32_t imm, uint32_t rs2, uint32_t rs1, uint32_t f3) {
    uint32_t u = (uint32_t)imm;
    return ((u >> 12) & 1) << 31 | ((u >> 5) & 0x3f) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12
         | ((u >> 1) & 0xf) << 8 | ((u >> 11) & 1) << 7 | 0x63;
}
static inline uint32_t J_(int32_t imm, uint32_t rd) {
    uint32_t u = (uint32_t)imm;
    return ((u >> 20) & 1) << 31 | ((u >> 1) & 0x3ff) << 21 | ((u >> 11) & 1) << 20
         | ((u >> 12) & 0xff) << 12 | rd << 7 | 0x6f;
}
static inline int32_t sext(uint32_t v, unsigned bits) {
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}
/* immediates of the 32-bit formats, assembled unsigned and sign-extended
 * (no left shift of a negative value) */
static inline int32_t imm_s(uint32_t insn) { return sext((insn >> 25) << 5 | ((insn >> 7) & 31), 12); }
static inline int32_t imm_b(uint32_t insn) {
    return sext((insn >> 31) << 12 | ((insn >> 7) & 1) << 11 | ((insn >> 25) & 0x3f) << 5
                | ((insn >> 8) & 0xf) << 1, 13);
}
static inline int32_t imm_j(uint32_t insn) {
    return sext((insn >> 31) << 20 | (insn & 0xff000) | ((insn >> 20) & 1) << 11
                | ((insn >> 21) & 0x3ff) << 1, 21);
}
#define BIT(v, i) (((v) >> (i)) & 1u)
#define BITS(v, hi, lo) (((v) >> (lo)) & ((1u << ((hi) - (lo) + 1)) - 1))

/* The 32-bit instruction a compressed one stands for; 0 if illegal. */
static uint32_t rvc_expand(uint32_t c) {
    uint32_t op = c & 3, f3 = c >> 13;
    uint32_t rd = BITS(c, 11, 7), rs2 = BITS(c, 6, 2);
    uint32_t rdp = 8 + BITS(c, 4, 2), rs1p = 8 + BITS(c, 9, 7);
    switch (op << 3 | f3) {
    case 000: {                                         /* c.addi4spn */
        uint32_t imm = BITS(c, 10, 7) << 6 | BITS(c, 12, 11) << 4 | BIT(c, 5) << 3 | BIT(c, 6) << 2;
        return imm ? I_(imm, 2, 0, rdp, 0x13) : 0;
    }
    case 001: return I_(BITS(c, 12, 10) << 3 | BITS(c, 6, 5) << 6, rs1p, 3, rdp, 0x07);   /* c.fld */
    case 002: return I_(BITS(c, 12, 10) << 3 | BIT(c, 6) << 2 | BIT(c, 5) << 6, rs1p, 2, rdp, 0x03); /* c.lw */
    case 003: return I_(BITS(c, 12, 10) << 3 | BITS(c, 6, 5) << 6, rs1p, 3, rdp, 0x03);   /* c.ld */
    case 005: return S_((int32_t)(BITS(c, 12, 10) << 3 | BITS(c, 6, 5) << 6), rdp, rs1p, 3, 0x27); /* c.fsd */
    case 006: return S_((int32_t)(BITS(c, 12, 10) << 3 | BIT(c, 6) << 2 | BIT(c, 5) << 6), rdp, rs1p, 2, 0x23);
    case 007: return S_((int32_t)(BITS(c, 12, 10) << 3 | BITS(c, 6, 5) << 6), rdp, rs1p, 3, 0x23); /* c.sd */
    case 010: return I_(sext(BIT(c, 12) << 5 | rs2, 6), rd, 0, rd, 0x13);           /* c.addi / nop */
    case 011:                                                                        /* c.addiw */
        return rd ? I_(sext(BIT(c, 12) << 5 | rs2, 6), rd, 0, rd, 0x1b) : 0;
    case 012: return I_(sext(BIT(c, 12) << 5 | rs2, 6), 0, 0, rd, 0x13);            /* c.li */
    case 013:
        if (rd == 2) {                                                               /* c.addi16sp */
            int32_t imm = sext(BIT(c, 12) << 9 | BITS(c, 4, 3) << 7 | BIT(c, 5) << 6 | BIT(c, 2) << 5
                               | BIT(c, 6) << 4, 10);
            return imm ? I_(imm, 2, 0, 2, 0x13) : 0;
        } else {                                                                     /* c.lui */
            int32_t imm = sext(BIT(c, 12) << 5 | rs2, 6);
            return imm ? ((uint32_t)imm << 12) | rd << 7 | 0x37 : 0;
        }
    case 014: {
        uint32_t f2 = BITS(c, 11, 10), sh = BIT(c, 12) << 5 | rs2;
        if (f2 == 0) return I_(sh, rs1p, 5, rs1p, 0x13);                             /* c.srli */
        if (f2 == 1) return I_(0x400 | sh, rs1p, 5, rs1p, 0x13);                     /* c.srai */
        if (f2 == 2) return I_(sext(BIT(c, 12) << 5 | rs2, 6), rs1p, 7, rs1p, 0x13); /* c.andi */
        uint32_t r2 = 8 + BITS(c, 4, 2);
        switch (BIT(c, 12) << 2 | BITS(c, 6, 5)) {
        case 0: return R_(0x20, r2, rs1p, 0, rs1p, 0x33);   /* c.sub */
        case 1: return R_(0, r2, rs1p, 4, rs1p, 0x33);      /* c.xor */
        case 2: return R_(0, r2, rs1p, 6, rs1p, 0x33);      /* c.or */
        case 3: return R_(0, r2, rs1p, 7, rs1p, 0x33);      /* c.and */
        case 4: return R_(0x20, r2, rs1p, 0, rs1p, 0x3b);   /* c.subw */
        case 5: return R_(0, r2, rs1p, 0, rs1p, 0x3b);      /* c.addw */
        default: return 0;
        }
    }
    case 015: {                                                                      /* c.j */
        int32_t imm = sext(BIT(c, 12) << 11 | BIT(c, 8) << 10 | BITS(c, 10, 9) << 8 | BIT(c, 6) << 7
                           | BIT(c, 7) << 6 | BIT(c, 2) << 5 | BIT(c, 11) << 4 | BITS(c, 5, 3) << 1, 12);
        return J_(imm, 0);
    }
    case 016: case 017: {                                                            /* c.beqz / c.bnez */
        int32_t imm = sext(BIT(c, 12) << 8 | BITS(c, 6, 5) << 6 | BIT(c, 2) << 5 | BITS(c, 11, 10) << 3
                           | BITS(c, 4, 3) << 1, 9);
        return B_(imm, 0, rs1p, f3 == 6 ? 0 : 1);
    }
    case 020: return I_(BIT(c, 12) << 5 | rs2, rd, 1, rd, 0x13);                    /* c.slli */
    case 021: return I_(BIT(c, 12) << 5 | BITS(c, 6, 5) << 3 | BITS(c, 4, 2) << 6, 2, 3, rd, 0x07); /* c.fldsp */
    case 022: return rd ? I_(BIT(c, 12) << 5 | BITS(c, 6, 4) << 2 | BITS(c, 3, 2) << 6, 2, 2, rd, 0x03) : 0;
    case 023: return rd ? I_(BIT(c, 12) << 5 | BITS(c, 6, 5) << 3 | BITS(c, 4, 2) << 6, 2, 3, rd, 0x03) : 0;
    case 024:
        if (!BIT(c, 12)) {
            if (!rs2) return rd ? I_(0, rd, 0, 0, 0x67) : 0;                         /* c.jr */
            return R_(0, rs2, 0, 0, rd, 0x33);                                       /* c.mv */
        }
        if (!rs2) return rd ? I_(0, rd, 0, 1, 0x67) : 0x00100073;                    /* c.jalr / c.ebreak */
        return R_(0, rs2, rd, 0, rd, 0x33);                                          /* c.add */
    case 025: return S_((int32_t)(BITS(c, 12, 10) << 3 | BITS(c, 9, 7) << 6), rs2, 2, 3, 0x27);   /* c.fsdsp */
    case 026: return S_((int32_t)(BITS(c, 12, 9) << 2 | BITS(c, 8, 7) << 6), rs2, 2, 2, 0x23);    /* c.swsp */
    case 027: return S_((int32_t)(BITS(c, 12, 10) << 3 | BITS(c, 9, 7) << 6), rs2, 2, 3, 0x23);   /* c.sdsp */
    default: return 0;
    }
}

/* ---- helpers -------------------------------------------------------------- */

static inline int64_t mulh(int64_t a, int64_t b) { return (int64_t)(((__int128)a * b) >> 64); }
static inline uint64_t mulhu(uint64_t a, uint64_t b) { return (uint64_t)(((unsigned __int128)a * b) >> 64); }
static inline int64_t mulhsu(int64_t a, uint64_t b) { return (int64_t)(((__int128)a * (unsigned __int128)b) >> 64); }
static inline uint64_t sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }

static uint64_t rv_div(unsigned f3, uint64_t a, uint64_t b, bool w) {
    if (w) {
        int32_t sa = (int32_t)a, sb = (int32_t)b;
        uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
        switch (f3) {
        case 4: return sx32(sb == 0 ? (uint32_t)-1 : (sa == INT32_MIN && sb == -1) ? (uint32_t)sa : (uint32_t)(sa / sb));
        case 5: return sx32(ub == 0 ? 0xffffffffu : ua / ub);
        case 6: return sx32(sb == 0 ? (uint32_t)sa : (sa == INT32_MIN && sb == -1) ? 0 : (uint32_t)(sa % sb));
        default: return sx32(ub == 0 ? ua : ua % ub);
        }
    }
    int64_t sa = (int64_t)a, sb = (int64_t)b;
    switch (f3) {
    case 4: return sb == 0 ? ~0ull : (sa == INT64_MIN && sb == -1) ? a : (uint64_t)(sa / sb);
    case 5: return b == 0 ? ~0ull : a / b;
    case 6: return sb == 0 ? a : (sa == INT64_MIN && sb == -1) ? 0 : (uint64_t)(sa % sb);
    default: return b == 0 ? a : a % b;
    }
}

static inline uint64_t amo(unsigned f5, uint64_t old, uint64_t v, bool w) {
    if (w) { old = sx32(old); v = sx32(v); }
    switch (f5) {
    case 0x00: return old + v;
    case 0x01: return v;
    case 0x04: return old ^ v;
    case 0x0c: return old & v;
    case 0x08: return old | v;
    case 0x10: return (int64_t)old < (int64_t)v ? old : v;
    case 0x14: return (int64_t)old > (int64_t)v ? old : v;
    case 0x18: return (w ? (uint32_t)old < (uint32_t)v : old < v) ? old : v;
    default:   return (w ? (uint32_t)old > (uint32_t)v : old > v) ? old : v;
    }
}

/* F/D (pk_rv_fp.c would be the place for more): one OP-FP / FMA instruction;
 * false if illegal. */
bool pk_rv_fp_op(pk_rvfp *F, uint64_t *x, uint32_t insn);

/* ---- the interpreter ------------------------------------------------------ */

static uint64_t block_budget(pk_kernel *k, pk_cpu *c) {
    const pk_costs *co = &k->cfg.costs;
    if (c->slice_end <= k->now) return 1;
    unsigned __int128 ns = c->slice_end - k->now;
    unsigned __int128 n = ns * co->clock_hz / ((unsigned __int128)co->insn_cycles * 1000000000u);
    return n >= BLOCK_MAX ? BLOCK_MAX : n ? (uint64_t)n : 1;
}

/* ns taken by n instructions, carrying the fraction in rt->carry */
static uint64_t insn_time(pk_kernel *k, pk_rvt *rt, uint64_t n) {
    const pk_costs *co = &k->cfg.costs;
    unsigned __int128 v = (unsigned __int128)n * co->insn_cycles * 1000000000u + rt->carry;
    rt->carry = (uint64_t)(v % co->clock_hz);
    return (uint64_t)(v / co->clock_hz);
}

/* ---- the decoded-instruction cache ----------------------------------------
 * Decoding depends on an instruction's bits alone, so a direct-mapped
 * cache indexed by pc and checked against the bits just fetched is always
 * right (self-modifying code included) and needs no invalidation.  The
 * common integer instructions get their own handler; the rest go through
 * the general decoder (OP_GENERIC). */
enum {
    OP_ILLEGAL = 0, OP_GENERIC, OP_LUI, OP_AUIPC, OP_JAL, OP_JALR,
    OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
    OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_SB, OP_SH, OP_SW, OP_SD,
    OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI, OP_SLLI, OP_SRLI, OP_SRAI,
    OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW,
    OP_ADD, OP_SUB, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND,
    OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW, OP_SRAW, OP_MUL, OP_MULW,
    OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU,
    OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW,
    OP_NOP, OP_J, OP_JR,         /* rd = x0: the result is dropped (x0 stays zero) */
    OP_COUNT
};

/* ---- the rules of the integer instructions --------------------------------
 * One definition serves the one-instruction handlers, the block handlers
 * and the general path (each handler passes its constant op, so the switch
 * folds away).  Rules from the RISC-V Unprivileged ISA (20191213),
 * chapters 2 (RV32I), 5 (RV64I) and 7 (M, division by zero and overflow
 * in table 7.1). */

/* the operations whose second operand is the immediate (a shift's: shamt) */
#define RV_ALU_IMM(_) _(ADDI) _(SLTI) _(SLTIU) _(XORI) _(ORI) _(ANDI) _(SLLI) _(SRLI) _(SRAI) \
    _(ADDIW) _(SLLIW) _(SRLIW) _(SRAIW)
/* ... and those whose second operand is x[rs2] */
#define RV_ALU_REG(_) _(ADD) _(SUB) _(SLL) _(SLT) _(SLTU) _(XOR) _(SRL) _(SRA) _(OR) _(AND) \
    _(ADDW) _(SUBW) _(SLLW) _(SRLW) _(SRAW) _(MUL) _(MULW) _(MULH) _(MULHSU) _(MULHU) \
    _(DIV) _(DIVU) _(REM) _(REMU) _(DIVW) _(DIVUW) _(REMW) _(REMUW)
#define RV_BRANCHES(_) _(BEQ) _(BNE) _(BLT) _(BGE) _(BLTU) _(BGEU)
#define RV_LOADS(_) _(LB) _(LH) _(LW) _(LD) _(LBU) _(LHU) _(LWU)
#define RV_STORES(_) _(SB) _(SH) _(SW) _(SD)

/* superinstructions of the block path (docs/architecture.md, "RISC-V
 * blocks"): pairs of adjacent instructions run by one handler, chosen by
 * how often they follow each other in riscv_compute and CoreMark.  Each
 * pair is (kind, op, kind, op), kinds as in the BODY_* macros of the
 * block loop. */
#define RV_PAIR_BR(_, k, a) _(k, a, B, BEQ) _(k, a, B, BNE) _(k, a, B, BLT) _(k, a, B, BGE) \
    _(k, a, B, BLTU) _(k, a, B, BGEU)
#define RV_PAIRS(_) \
    RV_PAIR_BR(_, I, ADDI) RV_PAIR_BR(_, I, ADDIW) RV_PAIR_BR(_, I, ANDI) \
    RV_PAIR_BR(_, R, ADD) RV_PAIR_BR(_, R, ADDW) RV_PAIR_BR(_, R, SUB) \
    _(R, XOR, B, BNE) _(R, MUL, B, BNE) _(R, AND, B, BEQ) _(R, AND, B, BNE) \
    _(B, BNE, I, ADDI) _(B, BEQ, I, ADDI) _(B, BGE, I, ADDI) _(B, BLT, I, ADDI) \
    _(B, BEQ, L, LD) _(B, BNE, L, LD) _(B, BEQ, I, SLLI) _(B, BEQ, I, SRAIW) \
    _(B, BNE, S, SW) _(B, BNE, B, BEQ) _(B, BNE, U, AUIPC) _(B, BGE, U, AUIPC) \
    _(I, ADDI, I, ADDI) _(I, SLLI, I, SRLI) _(R, ADD, R, ADD) _(I, ADDI, R, MUL) \
    _(R, XOR, I, ADDI) _(I, ADDI, I, ADDIW) _(I, SRAIW, I, ANDI) _(I, ANDI, I, ANDI) \
    _(I, ADDIW, R, ADDW) _(I, SRLI, R, ADD) _(I, ANDI, I, ADDI) _(R, ADDW, I, SLLI) \
    _(I, SLLI, R, ADD) _(R, ADD, I, ADDI) _(I, ADDI, R, ADD) _(R, MUL, R, ADD) \
    _(I, SRLI, I, ANDI) _(I, ANDI, R, ADDW) _(I, SLLI, I, SRAI) _(I, SLLI, I, SRLIW) \
    _(R, ADD, L, LD) _(R, ADD, L, LH) _(R, ADD, L, LW) _(R, ADD, L, LBU) \
    _(I, SRLI, L, LD) _(I, ADDI, L, LD) _(I, SLLI, L, LD) _(I, ADDI, L, LBU) \
    _(L, LD, L, LH) _(L, LH, L, LH) _(L, LD, S, SD) _(L, LD, L, LD) _(L, LD, I, ADDI) \
    _(L, LH, I, ANDI) _(L, LD, U, AUIPC) _(L, LBU, I, ADDI) _(L, LW, I, ADDIW) \
    _(S, SD, R, ADD) _(S, SD, I, ADDI) _(S, SB, R, ADD) _(R, ADD, S, SB) _(R, ADD, S, SD) \
    _(S, SD, S, SD) _(S, SW, I, ADDI) \
    _(U, AUIPC, I, ADDI) _(U, AUIPC, L, LD) _(U, AUIPC, J, JALR) _(U, LUI, I, ADDI) \
    _(U, LUI, I, ADDIW) \
    _(I, ADDI, J, J) _(I, ADDI, J, JAL) _(I, ADDI, J, JR) _(L, LD, J, JR) _(R, ADD, J, J) \
    _(R, XOR, I, SRLI) _(I, ANDI, R, XOR) _(R, XOR, I, ADDIW) _(I, SRLI, B, BNE) \
    _(B, BNE, U, LUI) _(U, LUI, I, SRLI) _(B, BEQ, I, ADDIW) _(L, LD, B, BEQ) \
    _(I, ANDI, R, MULW) _(R, MULW, I, SRAIW) _(L, LBU, B, BNE) _(B, BNE, J, J) \
    _(B, BNE, J, JR) _(I, ADDIW, S, SW) _(I, ADDIW, I, SRAIW) _(I, SLLIW, I, ADDIW) \
    _(S, SD, J, JR) _(R, SLT, R, ADDW) _(S, SW, B, BNE) _(R, ADD, I, ADDIW) \
    _(I, ADDIW, L, LD) _(L, LD, L, LW) _(L, LBU, I, ADDIW) _(L, LW, L, LBU) \
    _(B, BNE, R, ADD) _(S, SW, L, LBU) _(B, BGE, I, SLLIW) _(L, LH, I, ADDIW) \
    _(S, SW, J, J) _(L, LBU, B, BEQ)

/* a superinstruction: the ops it covers and its handler */
typedef struct rv_pair { uint8_t a, b; const void *h; } rv_pair;

/* x[rd] of ALU operation op on a = x[rs1] and b (x[rs2] or the immediate) */
static PK_ALWAYS_INLINE uint64_t rv_alu(unsigned op, uint64_t a, uint64_t b) {
    switch (op) {
    case OP_ADDI: case OP_ADD: return a + b;
    case OP_SUB:               return a - b;
    case OP_SLTI: case OP_SLT: return (int64_t)a < (int64_t)b;
    case OP_SLTIU: case OP_SLTU: return a < b;
    case OP_XORI: case OP_XOR: return a ^ b;
    case OP_ORI: case OP_OR:   return a | b;
    case OP_ANDI: case OP_AND: return a & b;
    case OP_SLLI: case OP_SLL: return a << (b & 63);
    case OP_SRLI: case OP_SRL: return a >> (b & 63);
    case OP_SRAI: case OP_SRA: return (uint64_t)((int64_t)a >> (b & 63));
    case OP_ADDIW: case OP_ADDW: return sx32(a + b);
    case OP_SUBW:              return sx32(a - b);
    case OP_SLLIW: case OP_SLLW: return sx32((uint32_t)a << (b & 31));
    case OP_SRLIW: case OP_SRLW: return sx32((uint32_t)a >> (b & 31));
    case OP_SRAIW: case OP_SRAW: return sx32((uint32_t)((int32_t)a >> (b & 31)));
    case OP_MUL:               return a * b;
    case OP_MULW:              return sx32((uint32_t)a * (uint32_t)b);
    case OP_MULH:              return (uint64_t)mulh((int64_t)a, (int64_t)b);
    case OP_MULHSU:            return (uint64_t)mulhsu((int64_t)a, b);
    case OP_MULHU:             return mulhu(a, b);
    case OP_DIV:               return rv_div(4, a, b, false);
    case OP_DIVU:              return rv_div(5, a, b, false);
    case OP_REM:               return rv_div(6, a, b, false);
    case OP_REMU:              return rv_div(7, a, b, false);
    case OP_DIVW:              return rv_div(4, a, b, true);
    case OP_DIVUW:             return rv_div(5, a, b, true);
    case OP_REMW:              return rv_div(6, a, b, true);
    default:                   return rv_div(7, a, b, true);   /* OP_REMUW */
    }
}

/* branch op is taken for a = x[rs1], b = x[rs2] */
static PK_ALWAYS_INLINE bool rv_taken(unsigned op, uint64_t a, uint64_t b) {
    switch (op) {
    case OP_BEQ:  return a == b;
    case OP_BNE:  return a != b;
    case OP_BLT:  return (int64_t)a < (int64_t)b;
    case OP_BGE:  return (int64_t)a >= (int64_t)b;
    case OP_BLTU: return a < b;
    default:      return a >= b;                              /* OP_BGEU */
    }
}

/* bytes a load or store op accesses; a load's value, extended to 64 bits */
static PK_ALWAYS_INLINE unsigned rv_size(unsigned op) {
    return op >= OP_SB ? 1u << (op - OP_SB) : 1u << ((op - OP_LB) & 3);
}
static PK_ALWAYS_INLINE uint64_t rv_ext(unsigned op, uint64_t v) {
    switch (op) {
    case OP_LB: return (uint64_t)(int64_t)(int8_t)v;
    case OP_LH: return (uint64_t)(int64_t)(int16_t)v;
    case OP_LW: return sx32(v);
    default:    return v;                                     /* LD, LBU, LHU, LWU */
    }
}

/* The 32-bit form of the instruction whose bits (and maybe the next
 * instruction's, for a compressed one) are raw. */
static inline uint32_t rv_insn(uint32_t raw) {
    return (raw & 3) == 3 ? raw : rvc_expand(raw & 0xffff);
}

static void rv_decode_ops(uint32_t insn, pk_rvdec *d);

/* the instruction may write memory or mappings: an FP store, an atomic,
 * a system instruction (ecall) */
static inline bool rv_writes(uint32_t raw) {
    uint32_t op = rv_insn(raw) & 0x7f;
    return op == 0x27 || op == 0x2f || op == 0x73;
}

static void rv_decode(uint32_t raw, pk_rvdec *d) {
    uint32_t insn = rv_insn(raw);
    d->raw = raw;
    d->len = (raw & 3) == 3 ? 4 : 2;
    rv_decode_ops(insn, d);
    if (d->rd || d->op <= OP_GENERIC) return;
    if (d->op == OP_JAL) d->op = OP_J;
    else if (d->op == OP_JALR) d->op = OP_JR;
    else if (d->op >= OP_BEQ && d->op <= OP_BGEU) return;
    else if (d->op >= OP_SB && d->op <= OP_SD) return;
    else if (d->op >= OP_LB && d->op <= OP_LWU) d->op = OP_GENERIC;   /* the access still happens */
    else d->op = OP_NOP;
}

static void rv_decode_ops(uint32_t insn, pk_rvdec *d) {
    d->rd = (insn >> 7) & 31;
    d->rs1 = (insn >> 15) & 31;
    d->rs2 = (insn >> 20) & 31;
    d->imm = (int32_t)insn >> 20;
    d->op = insn ? OP_GENERIC : OP_ILLEGAL;
    if (!insn) return;
    uint32_t f3 = (insn >> 12) & 7, f7 = insn >> 25;
    switch (insn & 0x7f) {
    case 0x37: d->op = OP_LUI; d->imm = (int32_t)(insn & 0xfffff000u); break;
    case 0x17: d->op = OP_AUIPC; d->imm = (int32_t)(insn & 0xfffff000u); break;
    case 0x6f:
        d->op = OP_JAL;
        d->imm = imm_j(insn);
        break;
    case 0x67: if (f3 == 0) d->op = OP_JALR; break;
    case 0x63:
        if (f3 == 2 || f3 == 3) break;
        d->op = (uint8_t)(f3 < 2 ? OP_BEQ + f3 : OP_BLT + (f3 - 4));
        d->imm = imm_b(insn);
        break;
    case 0x03: if (f3 != 7) d->op = (uint8_t)(OP_LB + f3); break;
    case 0x23:
        if (f3 > 3) break;
        d->op = (uint8_t)(OP_SB + f3);
        d->imm = imm_s(insn);
        break;
    case 0x13:
        switch (f3) {
        case 0: d->op = OP_ADDI; break;
        case 2: d->op = OP_SLTI; break;
        case 3: d->op = OP_SLTIU; break;
        case 4: d->op = OP_XORI; break;
        case 6: d->op = OP_ORI; break;
        case 7: d->op = OP_ANDI; break;
        case 1: if (!(insn >> 26)) { d->op = OP_SLLI; d->imm = (insn >> 20) & 63; } break;
        default:
            if ((insn >> 26) == 0) { d->op = OP_SRLI; d->imm = (insn >> 20) & 63; }
            else if ((insn >> 26) == 0x10) { d->op = OP_SRAI; d->imm = (insn >> 20) & 63; }
        }
        break;
    case 0x1b:
        if (f3 == 0) d->op = OP_ADDIW;
        else if (f3 == 1 && !f7) { d->op = OP_SLLIW; d->imm = (insn >> 20) & 31; }
        else if (f3 == 5 && !f7) { d->op = OP_SRLIW; d->imm = (insn >> 20) & 31; }
        else if (f3 == 5 && f7 == 0x20) { d->op = OP_SRAIW; d->imm = (insn >> 20) & 31; }
        break;
    case 0x33:
        if (f7 == 0) {
            static const uint8_t ops[8] = { OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND };
            d->op = ops[f3];
        } else if (f7 == 0x20 && f3 == 0) d->op = OP_SUB;
        else if (f7 == 0x20 && f3 == 5) d->op = OP_SRA;
        else if (f7 == 1) d->op = (uint8_t)(f3 == 0 ? OP_MUL : OP_MULH + (f3 - 1));
        break;
    case 0x3b:
        if (f7 == 0 && f3 == 0) d->op = OP_ADDW;
        else if (f7 == 0x20 && f3 == 0) d->op = OP_SUBW;
        else if (f7 == 0 && f3 == 1) d->op = OP_SLLW;
        else if (f7 == 0 && f3 == 5) d->op = OP_SRLW;
        else if (f7 == 0x20 && f3 == 5) d->op = OP_SRAW;
        else if (f7 == 1 && f3 == 0) d->op = OP_MULW;
        else if (f7 == 1 && f3 >= 4) d->op = (uint8_t)(OP_DIVW + (f3 - 4));
        break;
    default: break;
    }
}

/* ---- blocks ----------------------------------------------------------------
 * A block (pk_rvblk) is a run of instructions from one pc to the first
 * jump (a taken branch leaves it early), the end of its page,
 * PK_RV_BLK_MAX instructions, or an
 * instruction without a block handler (system, atomics, FP, division, ...,
 * which the one-instruction path runs), decoded once into an array whose
 * entries name their handler (direct threading).  A block is entered only
 * when its page is the code mirror's and the bytes at its pc still equal
 * the bytes it was decoded from, so it is always what fetching and
 * decoding one instruction at a time would execute; each of its fetches
 * is then a hit of the code page's TLB entry, counted as one.  The TLB's
 * clock advances exactly as it would one instruction at a time: each
 * access adds the fetches before it (fk) and its own tick. */
/* what a block's cache of its successor holds at first: no block (pc ~0
 * is odd, so no pc matches it) */
static const pk_rvblk blk_none = { .pc = ~0ull };

/* the handlers a block is built with: one per op (NULL: none), the end of
 * a block without a jump, the superinstructions */
typedef struct blk_hs {
    const void *const *bh;
    const void *end;
    const rv_pair *pairs;
    uint32_t npairs;
} blk_hs;

static void blk_build(pk_rvblk *b, uint64_t pc, const uint8_t *p, uint32_t room, const blk_hs *hs) {
    const void *const *bh = hs->bh;
    const void *end = hs->end;
    uint8_t ops[PK_RV_BLK_MAX];
    uint32_t off = 0, n = 0, fk = 0;
    bool jump = false;
    while (n < PK_RV_BLK_MAX && room - off >= 2) {
        uint16_t lo, hi = 0;
        memcpy(&lo, p + off, 2);
        uint32_t len = (lo & 3) == 3 ? 4 : 2;
        if (len > room - off) break;
        if (len == 4) memcpy(&hi, p + off + 2, 2);
        pk_rvdec dd;
        rv_decode((uint32_t)lo | (uint32_t)hi << 16, &dd);
        if (!bh[dd.op]) break;
        pk_rvbi *e = &b->i[n];
        uint64_t at = pc + off;
        ops[n] = dd.op;
        e->h = bh[dd.op];
        e->imm = dd.imm;
        e->rd = dd.rd; e->rs1 = dd.rs1; e->rs2 = dd.rs2;
        e->len = (uint8_t)len; e->off = (uint16_t)off;
        e->next = at + len;
        e->fk = 0;
        fk++;
        if (dd.op >= OP_BEQ && dd.op <= OP_BGEU) e->fk = (uint8_t)fk;        /* for a taken exit */
        if (dd.op >= OP_LB && dd.op <= OP_SD) { e->fk = (uint8_t)fk; fk = 0; }
        else if (dd.op == OP_AUIPC) e->imm = (int64_t)(at + (uint64_t)(int64_t)dd.imm);
        else if (dd.op == OP_JAL || dd.op == OP_J || (dd.op >= OP_BEQ && dd.op <= OP_BGEU))
            e->imm = (int64_t)(at + (uint64_t)(int64_t)dd.imm);
        if (dd.op == OP_J || (dd.op >= OP_BEQ && dd.op <= OP_BGEU))
            e->next = (uint64_t)(uintptr_t)&blk_none;
        off += len;
        n++;
        if (dd.op == OP_JAL || dd.op == OP_J || dd.op == OP_JALR || dd.op == OP_JR) { jump = true; break; }
    }
    for (uint32_t j = 0; j < n; j++) b->i[j].rem = (uint8_t)(n - j - 1);
    for (uint32_t j = 0; j + 1 < n; j++)             /* superinstructions, from the left */
        for (uint32_t q = 0; q < hs->npairs; q++)
            if (hs->pairs[q].a == ops[j] && hs->pairs[q].b == ops[j + 1]) {
                b->i[j++].h = hs->pairs[q].h;
                break;
            }
    b->pc = pc;
    b->n = (uint16_t)n;
    b->bytes = (uint16_t)off;
    b->tail = (uint16_t)fk;
    memcpy(b->code, p, off);
    if (!jump) {
        pk_rvbi *e = &b->i[n];
        e->h = end; e->off = (uint16_t)off; e->next = pc + off; e->rem = 0; e->fk = 0;
        e->imm = (int64_t)(uintptr_t)&blk_none;
    }
}

/* the bytes at p are still the block's */
static PK_ALWAYS_INLINE bool blk_same(const pk_rvblk *b, const uint8_t *p) {
    uint32_t nb = b->bytes;
    if (nb >= 8) {
        uint64_t u, v;
        for (uint32_t o = 0; o + 8 <= nb; o += 8) {
            memcpy(&u, b->code + o, 8); memcpy(&v, p + o, 8);
            if (u != v) return false;
        }
        memcpy(&u, b->code + nb - 8, 8); memcpy(&v, p + nb - 8, 8);
        return u == v;
    }
    for (uint32_t o = 0; o < nb; o += 2) {
        uint16_t u, v;
        memcpy(&u, b->code + o, 2); memcpy(&v, p + o, 2);
        if (u != v) return false;
    }
    return true;
}

/* b is the block at pc (decoded again if its bytes changed), checked
 * in the current epoch; pc lies in the code mirror's page */
static PK_NOINLINE_SLOW bool blk_check_slow(pk_rvblk *b, uint64_t pc, const uint8_t *hp, uint64_t ep,
                                            const blk_hs *hs) {
    if (b->pc != pc || !blk_same(b, hp))
        blk_build(b, pc, hp, (uint32_t)(PK_PAGE_SIZE - (pc & (PK_PAGE_SIZE - 1))), hs);
    b->epoch = ep;
    return true;
}
#define blk_check(b, pc, h, hs) \
    blk_check_slow((b), (pc), (const uint8_t *)(uintptr_t)((pc) + (h)->code_delta), (h)->ep, (hs))

#define RD   ((insn >> 7) & 31)
#define RS1  ((insn >> 15) & 31)
#define RS2  ((insn >> 20) & 31)
#define F3   ((insn >> 12) & 7)
#define F7   (insn >> 25)
#define IMMI ((int64_t)(int32_t)insn >> 20)
#define IMMS ((int64_t)imm_s(insn))
#define IMMB ((int64_t)imm_b(insn))
#define IMMU ((int64_t)(int32_t)(insn & 0xfffff000u))
#define IMMJ ((int64_t)imm_j(insn))

/* Stop the block at this instruction because of access status st. */
#define FAULT(st) do { stop = (st); goto out; } while (0)
#define LD(va, size, dst) do { int s_ = ld(&X, &H, (va), (size), &(dst)); if (PK_UNLIKELY(s_)) FAULT(s_); } while (0)
#define ST(va, size, v) do { int s_ = sto(&X, &H, (va), (size), (v)); if (PK_UNLIKELY(s_)) FAULT(s_); } while (0)
#define ILLEGAL() do { stop = -1; goto out; } while (0)
#define NEXT goto next

/* no cross-jumping: each handler keeps its own indirect jump, which the host
 * predicts separately (one shared jump would mispredict at every block end) */
__attribute__((optimize("no-crossjumping", "no-gcse")))
static int rv_advance(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t *arg) {
#define L_ENTRY(n) [OP_##n] = &&L_##n,
#define B_ENTRY(n) [OP_##n] = &&B_##n,
    static const void *const handlers[OP_COUNT] = {
        [OP_ILLEGAL] = &&L_ILLEGAL, [OP_GENERIC] = &&L_GENERIC, [OP_LUI] = &&L_LUI,
        [OP_AUIPC] = &&L_AUIPC, [OP_JAL] = &&L_JAL, [OP_JALR] = &&L_JALR,
        RV_BRANCHES(L_ENTRY) RV_LOADS(L_ENTRY) RV_STORES(L_ENTRY)
        RV_ALU_IMM(L_ENTRY) RV_ALU_REG(L_ENTRY)
        [OP_NOP] = &&L_NOP, [OP_J] = &&L_J, [OP_JR] = &&L_JR,
    };
    static const void *const bh[OP_COUNT] = {    /* block handlers (NULL: none) */
        [OP_LUI] = &&B_LUI, [OP_AUIPC] = &&B_AUIPC, [OP_JAL] = &&B_JAL, [OP_JALR] = &&B_JALR,
        RV_BRANCHES(B_ENTRY) RV_LOADS(B_ENTRY) RV_STORES(B_ENTRY)
        RV_ALU_IMM(B_ENTRY) RV_ALU_REG(B_ENTRY)
        [OP_NOP] = &&B_NOP, [OP_J] = &&B_J, [OP_JR] = &&B_JR,
    };
#define P_ENTRY(ka, a, kb, b) { OP_##a, OP_##b, &&F_##a##_##b },
    static const rv_pair pairs[] = { RV_PAIRS(P_ENTRY) };
    const blk_hs hs = { bh, &&B_END, pairs, sizeof pairs / sizeof pairs[0] };
    pk_regs *r = &c->regs;
    uint64_t *x = r->x;
    uint32_t rid = pk_rvt_id(r);
    pk_rvstate *rs = k->rv;
    if (PK_UNLIKELY(!rs || !rid || rid >= rs->nthr || !k->mem)) { k->broken = PK_ERR_INTERNAL; return PK_ACT_KILL; }
    uint64_t sigcost = 0;
    if (PK_UNLIKELY(rs->sig_on) && !rs->thr[rid].in_syscall && pk_rv_sig_ready(rs, &rs->thr[rid])) {
        int a = pk_rv_sig_entry(k, c, t, r, arg, &sigcost);   /* back to user mode: signals */
        if (a >= 0) return a;
    }
    rvx X;
    X.k = k; X.c = c; X.m = k->mem;
    X.as = pk_as_of(k, t->pid);
    X.tlb = &X.m->tlbs[c->id];
    X.asid = X.m->mmu.asid ? pk_proc_at(k, t->pid)->as : 0;
    X.fast = X.m->sets && !X.m->mcfg.track;
    X.may_block = 1;
    X.cost = 0; X.hits = 0; X.reason = 0;
    mirror_clear(&X);
    X.epoch = &rs->blk_epoch;
    hot H = { X.tlb->clock, X.tlb->clock, 0, 0, 0, 0, ++rs->blk_epoch, NULL };
    code_refresh(&X, &H);
    pk_rvdec *const dc = rs->dc;
    pk_rvblk *const blks = rs->blk;
    const pk_rvbi *bi = NULL;                    /* the block instruction running      */
    const pk_rvblk *cb = NULL;               /* its block                           */
    r->flags |= PK_RF_STARTED;

    uint64_t pc = r->pc, npc = 0, budget = block_budget(k, c), extra = sigcost;
    uint64_t resv = ~0ull;                   /* LR reservation (this block only) */
    int stop = 0, act = PK_ACT_RUN;
    pk_rvfp *F = NULL;
    const pk_rvdec *d = NULL;
    uint32_t insn;
    x[0] = 0;                                /* x0 reads as zero; only the general path
                                                can write it, and it clears it again */
    if (PK_UNLIKELY(pc & 1)) ILLEGAL();      /* every later pc is even by construction */
    while (H.n < budget) {
        /* ---- a block, when pc lies in the code mirror's page and it fits the budget */
        if (PK_UNLIKELY(pc - H.code_base >= PK_PAGE_SIZE)) code_switch(&X, &H, pc);
        pk_rvblk *b = &blks[BLK_SLOT(pc)];
        if (PK_LIKELY(b->pc == pc && b->epoch == H.ep && pc - H.code_base < PK_PAGE_SIZE)
            || (pc - H.code_base <= PK_PAGE_SIZE - 2 && X.code_vpn != ~0ull && blk_check(b, pc, &H, &hs))) {
            if (PK_LIKELY(b->n) && H.n + b->n <= budget) {
                cb = b;
                H.n += b->n;
                bi = b->i;
                goto *bi->h;
            }
        }
        /* ---- one instruction.  Fetch: the code mirror when the 4 bytes at pc lie in its page */
        uint32_t raw;
        if (PK_LIKELY(pc - H.code_base <= PK_PAGE_SIZE - 4)) {
            H.code_stamp = ++H.clk;
            memcpy(&raw, (const uint8_t *)(uintptr_t)(pc + H.code_delta), 4);
        } else {
            int st = RV_OK;
            const uint8_t *ip = xlate_sync(&X, &H, pc, ACC_X, &st);
            if (!ip) FAULT(st);
            H.code_stamp = H.clk;
            if ((pc & (PK_PAGE_SIZE - 1)) <= PK_PAGE_SIZE - 4) memcpy(&raw, ip, 4);
            else {
                uint16_t lo16, hi16;
                memcpy(&lo16, ip, 2);
                raw = lo16;
                if ((lo16 & 3) == 3) {               /* the second half is on the next page */
                    const uint8_t *q = xlate_sync(&X, &H, pc + 2, ACC_X, &st);
                    if (!q) FAULT(st);
                    memcpy(&hi16, q, 2);
                    raw |= (uint32_t)hi16 << 16;
                }
            }
        }
        d = &dc[(pc >> 1) & ((1u << PK_RV_DC_BITS) - 1)];
        if (PK_UNLIKELY(d->raw != raw)) rv_decode(raw, (pk_rvdec *)d);
        npc = pc + d->len;
        if ((d->op >= OP_SB && d->op <= OP_SD) || (d->op == OP_GENERIC && rv_writes(raw))) {
            epoch_next(&X);                  /* it may write memory: code, mappings */
            H.ep = *X.epoch;
        }
        goto *handlers[d->op];

#define XRD x[d->rd]
#define XS1 x[d->rs1]
#define XS2 x[d->rs2]
#define IMM ((uint64_t)(int64_t)d->imm)
    L_LUI:   XRD = IMM; NEXT;
    L_AUIPC: XRD = pc + IMM; NEXT;
    L_JAL:   XRD = npc; npc = pc + IMM; NEXT;
    L_JALR:  { uint64_t tg = (XS1 + IMM) & ~1ull; XRD = npc; npc = tg; NEXT; }
#define L_BRANCH(n) L_##n: if (rv_taken(OP_##n, XS1, XS2)) npc = pc + IMM; NEXT;
#define L_LOAD(n) L_##n: { uint64_t v = 0; LD(XS1 + IMM, rv_size(OP_##n), v); XRD = rv_ext(OP_##n, v); NEXT; }
#define L_STORE(n) L_##n: ST(XS1 + IMM, rv_size(OP_##n), XS2); NEXT;
#define L_ALU_I(n) L_##n: XRD = rv_alu(OP_##n, XS1, IMM); NEXT;
#define L_ALU_R(n) L_##n: XRD = rv_alu(OP_##n, XS1, XS2); NEXT;
    RV_BRANCHES(L_BRANCH)
    RV_LOADS(L_LOAD)
    RV_STORES(L_STORE)
    RV_ALU_IMM(L_ALU_I)
    RV_ALU_REG(L_ALU_R)
    L_NOP:   NEXT;
    L_J:     npc = pc + IMM; NEXT;
    L_JR:    npc = (XS1 + IMM) & ~1ull; NEXT;
    L_ILLEGAL: ILLEGAL();

    /* ---- block handlers: x[rd] is never x0 (rv_decode turns those into
     * NOP / J / JR, or the general path for loads) */
#define BXRD x[bi->rd]
#define BXS1 x[bi->rs1]
#define BXS2 x[bi->rs2]
#define BIMM ((uint64_t)bi->imm)
#define BNEXT do { bi++; goto *bi->h; } while (0)
/* the end of a block: the next one is entered here if it is valid and fits */
#define BEND(target) do {                                                              \
        pc = (target); H.clk += cb->tail; H.code_stamp = H.clk - (cb->tail == 0);      \
        BCHAIN; } while (0)
#define BEND_C(target, cache) do {                                                     \
        pc = (target); H.clk += cb->tail; H.code_stamp = H.clk - (cb->tail == 0);      \
        BCHAIN_C(cache); } while (0)
/* a taken branch leaves its block: the instructions after it did not run */
#define BEXIT(target) do {                                                             \
        pc = (target); H.n -= bi->rem;                                                 \
        H.clk += bi->fk; H.code_stamp = H.clk;                                         \
        BCHAIN_C(((pk_rvbi *)bi)->next); } while (0)
#define BCHAIN do {                                                                    \
        const pk_rvblk *nb_ = &blks[BLK_SLOT(pc)];                                     \
        if (PK_LIKELY(nb_->pc == pc && nb_->epoch == H.ep && pc - H.code_base < PK_PAGE_SIZE \
                      && nb_->n) && H.n + nb_->n <= budget) {                          \
            cb = nb_; H.n += nb_->n; bi = nb_->i; goto *bi->h;                         \
        }                                                                              \
        goto bcont; } while (0)
/* the same with a cache of the target's block (a field of the instruction),
 * kept only for targets in the block's own page, the code page while the
 * block runs */
#define BCHAIN_C(cache) do {                                                           \
        const pk_rvblk *nb_ = (const pk_rvblk *)(uintptr_t)(cache);                    \
        if (PK_LIKELY(nb_->pc == pc && nb_->epoch == H.ep && nb_->n) && H.n + nb_->n <= budget) { \
            cb = nb_; H.n += nb_->n; bi = nb_->i; goto *bi->h;                         \
        }                                                                              \
        nb_ = &blks[BLK_SLOT(pc)];                                                     \
        if (PK_LIKELY(nb_->pc == pc && nb_->epoch == H.ep && pc - H.code_base < PK_PAGE_SIZE \
                      && nb_->n) && H.n + nb_->n <= budget) {                          \
            if (((pc ^ cb->pc) >> PK_PAGE_SHIFT) == 0) (cache) = (uint64_t)(uintptr_t)nb_; \
            cb = nb_; H.n += nb_->n; bi = nb_->i; goto *bi->h;                         \
        }                                                                              \
        goto bcont; } while (0)
/* an access that misses the data mirror takes the one-instruction path's
 * slow path at the state of this instruction; if that emptied the code
 * mirror (a TLB miss) or a store went to the code page, the block ends
 * after this instruction */
#define BLD(op) do {                                                                   \
        const unsigned size = rv_size(op);                                             \
        uint64_t va_ = BXS1 + BIMM, v_ = 0;                                            \
        mirror_e *me_ = MIR_AT(X, va_);                                                \
        uint64_t o_ = va_ - me_->base;                                                 \
        H.clk += bi->fk;                                                               \
        if (PK_LIKELY(o_ <= PK_PAGE_SIZE - (size))) {                                  \
            me_->e->stamp = ++H.clk;                                                   \
            memcpy(&v_, me_->p + o_, size);                                            \
        } else {                                                                       \
            uint64_t nend_ = H.n, cbase_ = H.code_base;                                \
            H.n = nend_ - bi->rem - 1; H.code_stamp = H.clk; pc = bi->next - bi->len; \
            int s_ = ld(&X, &H, va_, size, &v_);                                       \
            if (PK_UNLIKELY(s_)) FAULT(s_);                                            \
            if (PK_UNLIKELY(H.code_base != cbase_)) { BXRD = rv_ext(op, v_); H.n++; pc = bi->next; goto bcont; } \
            H.n = nend_;                                                               \
        }                                                                              \
        BXRD = rv_ext(op, v_); } while (0)
#define BST(size) do {                                                                 \
        uint64_t va_ = BXS1 + BIMM, v_ = BXS2;                                         \
        mirror_e *me_ = MIR_AT(X, va_);                                                \
        uint64_t o_ = va_ - me_->base;                                                 \
        H.clk += bi->fk;                                                               \
        if (PK_LIKELY(o_ <= PK_PAGE_SIZE - (size) && me_->w)) {                        \
            me_->e->stamp = ++H.clk;                                                   \
            memcpy(me_->p + o_, &v_, size);                                            \
        } else {                                                                       \
            H.n = H.n - bi->rem - 1; H.code_stamp = H.clk; pc = bi->next - bi->len; \
            int s_ = sto(&X, &H, va_, size, v_);                                       \
            if (PK_UNLIKELY(s_)) FAULT(s_);                                            \
            epoch_next(&X); H.ep = *X.epoch;   /* it may have written code */          \
            H.n++; pc = bi->next; goto bcont;                                          \
        }                                                                              \
        } while (0)
/* each instruction's operation on the entry bi, by kind (U: lui and
 * auipc, whose value the block holds; I, R: ALU with an immediate or
 * x[rs2]; B: branch; L, S: load, store; J: jump, which ends the block) */
#define BODY_U(n) BXRD = BIMM
#define BODY_I(n) BXRD = rv_alu(OP_##n, BXS1, BIMM)
#define BODY_R(n) BXRD = rv_alu(OP_##n, BXS1, BXS2)
#define BODY_B(n) do { if (rv_taken(OP_##n, BXS1, BXS2)) BEXIT(BIMM); } while (0)
#define BODY_L(n) BLD(OP_##n)
#define BODY_S(n) BST(rv_size(OP_##n))
#define BODY_J(n) BODY_J_##n
#define BODY_J_JAL  do { BXRD = bi->next; BEND(BIMM); } while (0)
#define BODY_J_JALR do { uint64_t tg = (BXS1 + BIMM) & ~1ull; BXRD = bi->next; BEND(tg); } while (0)
#define BODY_J_J    BEND_C(BIMM, ((pk_rvbi *)bi)->next)
#define BODY_J_JR   BEND((BXS1 + BIMM) & ~1ull)
#define B_ONE(k, n) B_##n: BODY_##k(n); BNEXT;
    B_ONE(U, LUI) B_ONE(U, AUIPC)
    B_ONE(J, JAL) B_ONE(J, JALR) B_ONE(J, J) B_ONE(J, JR)
#define B_BRANCH(n) B_ONE(B, n)
#define B_LOAD(n) B_ONE(L, n)
#define B_STORE(n) B_ONE(S, n)
#define B_ALU_I(n) B_ONE(I, n)
#define B_ALU_R(n) B_ONE(R, n)
    RV_BRANCHES(B_BRANCH)
    RV_LOADS(B_LOAD)
    RV_STORES(B_STORE)
    RV_ALU_IMM(B_ALU_I)
    RV_ALU_REG(B_ALU_R)
    B_END:   BEND_C(bi->next, ((pk_rvbi *)bi)->imm);
    B_NOP:   BNEXT;
    /* superinstructions: two entries' operations in one handler (one
     * dispatch; the second entry is passed over, never dispatched) */
#define B_PAIR(ka, a, kb, b) F_##a##_##b: BODY_##ka(a); bi++; BODY_##kb(b); BNEXT;
    RV_PAIRS(B_PAIR)
    L_GENERIC:
        insn = rv_insn(d->raw);
        /* the decoder gives every legal lui, auipc, jal, jalr, branch, store
         * and integer ALU instruction a handler of its own (with rd = x0:
         * NOP, J or JR), so what comes here of those opcodes is illegal */
        switch (insn & 0x7f) {
        case 0x03: {                                /* a load to x0: the access still happens */
            if (F3 == 7) ILLEGAL();
            uint64_t va = x[RS1] + (uint64_t)IMMI, v = 0;
            switch (rv_size(OP_LB + F3)) {
            case 1: LD(va, 1, v); break;
            case 2: LD(va, 2, v); break;
            case 4: LD(va, 4, v); break;
            default: LD(va, 8, v); break;
            }
            break;                                  /* x[RD] is x0 */
        }
        case 0x0f: break;                                                  /* fence, fence.i */
        case 0x2f: {                                                       /* atomics */
            unsigned f5 = insn >> 27;
            bool w = F3 == 2;
            if (F3 != 2 && F3 != 3) ILLEGAL();
            uint64_t va = x[RS1], old = 0;
            unsigned size = w ? 4 : 8;
            if (va & (size - 1)) {                 /* misaligned atomics fault */
                X.as->fault_kind = PK_FAULT_UNMAPPED; X.as->fault_va = va;
                X.reason = PK_KILL_SEGV; FAULT(RV_KILL);
            }
            if (f5 == 0x02) {                      /* lr */
                LD(va, size, old);
                x[RD] = w ? sx32(old) : old;
                resv = va;
            } else if (f5 == 0x03) {               /* sc */
                if (resv == va) { ST(va, size, x[RS2]); x[RD] = 0; }
                else x[RD] = 1;
                resv = ~0ull;
            } else {
                int st = RV_OK;
                uint8_t *p = xlate(&X, &H, va, ACC_W, &st);
                if (!p) FAULT(st);
                memcpy(&old, p, size);
                uint64_t nv = amo(f5, old, x[RS2], w);
                if (f5 != 0x00 && f5 != 0x01 && f5 != 0x04 && f5 != 0x0c && f5 != 0x08 && f5 != 0x10
                    && f5 != 0x14 && f5 != 0x18 && f5 != 0x1c) ILLEGAL();
                memcpy(p, &nv, size);
                x[RD] = w ? sx32(old) : old;
            }
            break;
        }
        case 0x73: {                                                       /* system */
            if (insn == 0x00000073) {                                      /* ecall */
                if (!rs->thr[rid].in_syscall) {      /* entering: the block ends with the call's */
                    rs->thr[rid].in_syscall = 1;         /* cost; it is made when that has passed */
                    extra += k->cfg.costs.syscall_ns;
                    H.n++;
                    goto out;
                }
                r->pc = pc;
                hot_sync(&X, &H);
                hits_flush(&X);
                uint64_t cost = 0;
                int a = pk_rv_syscall(k, c, t, r, arg, &cost);
                pc = r->pc;
                extra += cost;
                if (a >= 0) { act = a; stop = -2; goto done; }
                X.as = pk_as_of(k, t->pid);          /* a fork may have moved the address spaces */
                if (PK_UNLIKELY(rs->sig_on) && pk_rv_sig_ready(rs, &rs->thr[rid]))
                    goto out;                        /* a signal to take first */
                mirror_clear(&X);                    /* the call may have changed mappings */
                H.clk = H.clk0 = X.tlb->clock;
                code_refresh(&X, &H);
                F = NULL;
                continue;
            }
            if (insn == 0x00100073) ILLEGAL();                            /* ebreak */
            unsigned csr = insn >> 20, f3 = F3;
            if (f3 == 0 || f3 == 4) ILLEGAL();
            uint64_t src = f3 >= 5 ? RS1 : x[RS1], old;
            switch (csr) {
            case 0x001: case 0x002: case 0x003:                            /* fflags, frm, fcsr */
                if (!F && !(F = pk_rv_fp(k, &rs->thr[rid]))) { X.reason = PK_KILL_OOM; FAULT(RV_KILL); }
                old = csr == 1 ? F->fcsr & 31 : csr == 2 ? (F->fcsr >> 5) & 7 : F->fcsr & 0xff;
                break;
            case 0xc00: case 0xc01: old = k->now + insn_time(k, &(pk_rvt){ .carry = 0 }, H.n); break;  /* cycle, time (ns) */
            case 0xc02: old = rs->procs[rs->thr[rid].proc].insns + H.n; break;               /* instret */
            default: ILLEGAL();
            }
            if (csr <= 3) {
                uint64_t v = old;
                if ((f3 & 3) == 1) v = src;
                else if ((f3 & 3) == 2) v = old | src;
                else v = old & ~src;
                if (((f3 & 3) == 1) || RS1) {
                    if (csr == 1) F->fcsr = (F->fcsr & ~31ull) | (v & 31);
                    else if (csr == 2) F->fcsr = (F->fcsr & 31) | (v & 7) << 5;
                    else F->fcsr = v & 0xff;
                }
            } else if (((f3 & 3) != 1 && RS1) || (f3 & 3) == 1) ILLEGAL();   /* read-only */
            x[RD] = old;
            break;
        }
        case 0x07: case 0x27: {                                            /* FP loads, stores */
            if (!F && !(F = pk_rv_fp(k, &rs->thr[rid]))) { X.reason = PK_KILL_OOM; FAULT(RV_KILL); }
            if (F3 != 2 && F3 != 3) ILLEGAL();
            unsigned size = F3 == 2 ? 4 : 8;
            if ((insn & 0x7f) == 0x07) {                  /* constant sizes: inlined copies */
                uint64_t v = 0;
                if (size == 4) { LD(x[RS1] + (uint64_t)IMMI, 4, v); v |= 0xffffffff00000000ull; }
                else LD(x[RS1] + (uint64_t)IMMI, 8, v);
                F->f[RD] = v;
            } else if (size == 4) ST(x[RS1] + (uint64_t)IMMS, 4, F->f[RS2]);
            else ST(x[RS1] + (uint64_t)IMMS, 8, F->f[RS2]);
            break;
        }
        case 0x53: case 0x43: case 0x47: case 0x4b: case 0x4f:
            if (!F && !(F = pk_rv_fp(k, &rs->thr[rid]))) { X.reason = PK_KILL_OOM; FAULT(RV_KILL); }
            if (!pk_rv_fp_op(F, x, insn)) ILLEGAL();
            break;
        default:
            ILLEGAL();
        }
        x[0] = 0;                            /* the general path may have written x0 */
    next:
        pc = npc;
        H.n++;
    bcont:;
    }
out:
done:
    hot_sync(&X, &H);
    hits_flush(&X);
    x[0] = 0;
    rs->insns += H.n;
    rs->procs[rs->thr[rid].proc].insns += H.n;
    k->same_steps += H.n;                        /* host work (pk_kernel_run) */
    if (stop == -2) return act;                  /* a system call left the CPU */
    r->pc = pc;
    if (stop == -1) {                            /* illegal instruction: SIGILL, ILL_ILLOPC */
        X.as->fault_va = pc;
        if (!rs->sig_on
            || pk_rv_sig_fault(k, c, t, r, 4, 1, pc, PK_KILL_ILLEGAL, arg, &X.cost) >= 0) {
            *arg = PK_KILL_ILLEGAL;
            return PK_ACT_KILL;
        }
        pc = r->pc;                              /* its handler */
    } else if (stop == RV_KILL) {                /* SIGSEGV, SEGV_MAPERR or SEGV_ACCERR */
        /* a page of a file mapping past the end of the file: SIGBUS,
         * BUS_ADRERR (mmap(2), "SIGBUS"; mm/filemap.c filemap_fault) */
        bool bus = X.reason == PK_KILL_SEGV && X.as->fault_kind == PK_FAULT_BEYOND_EOF;
        if (bus) {
            X.reason = PK_KILL_SIGNAL;
            pk_proc_at(k, t->pid)->termsig = 7;
        }
        if ((X.reason != PK_KILL_SEGV && !bus) || !rs->sig_on
            || pk_rv_sig_fault(k, c, t, r, bus ? 7 : 11,
                               bus ? 2 : X.as->fault_kind == PK_FAULT_UNMAPPED ? 1 : 2,
                               X.as->fault_va, X.reason, arg, &X.cost) >= 0) {
            *arg = X.reason;
            return PK_ACT_KILL;
        }
        if (bus) pk_proc_at(k, t->pid)->termsig = 0;    /* its handler runs */
        pc = r->pc;
    }
    if (stop == RV_BLOCK) { *arg = X.m->block_ns; return PK_ACT_BLOCK; }
    uint64_t ns = insn_time(k, &rs->thr[rid], H.n) + X.cost + extra;
    x[PK_REG_REM] = ns;
    return ns ? PK_ACT_RUN : PK_ACT_AGAIN;
}

const pk_body_ops pk_rv_body = { rv_advance, 0, NULL };   /* x15 is a5: no wait register */

/* ---- user memory for system calls ------------------------------------------ */

pk_rvfp *pk_rv_fp(pk_kernel *k, pk_rvt *rt) {
    pk_rvstate *rs = k->rv;
    if (rt->fp) return &rs->fps[rt->fp - 1];
    if (pk_vec_grow(k, (void **)&rs->fps, &rs->fps_cap, rs->nfps + 1, sizeof(pk_rvfp))) return NULL;
    memset(&rs->fps[rs->nfps], 0, sizeof(pk_rvfp));
    rt->fp = ++rs->nfps;
    return &rs->fps[rt->fp - 1];
}

int pk_rv_copy(pk_kernel *k, pk_cpu *c, uint32_t pid, uint64_t va, void *buf, uint64_t len,
               bool write, uint64_t *cost, uint32_t *reason) {
    pk_as *as = pk_as_of(k, pid);
    if (!as) return -14;
    /* every page must be in a region allowing the access: else -EFAULT */
    const pk_region *st = &k->mem->stack;
    for (uint64_t a = va & ~(PK_PAGE_SIZE - 1); len && a < va + len; a += PK_PAGE_SIZE) {
        if (a + PK_PAGE_SIZE < a) return -14;
        const pk_region *rg = pk_as_region(as, a);
        if (!rg && a >= st->start && a < st->end) rg = st;
        if (!rg || (write && !(rg->prot & PK_PROT_WRITE)) || (rg->flags & PK_MAP_SUPERVISOR)) return -14;
    }
    if (va + len < va) return -14;
    rvx X;
    X.k = k; X.c = c; X.m = k->mem; X.as = as;
    X.tlb = &X.m->tlbs[c->id];
    X.asid = X.m->mmu.asid ? pk_proc_at(k, pid)->as : 0;
    X.fast = 0;
    X.epoch = NULL;
    X.may_block = 1;
    X.cost = 0; X.hits = 0; X.reason = 0;
    mirror_clear(&X);
    uint8_t *b = buf;
    uint64_t done = 0;
    while (done < len) {
        uint64_t a = va + done;
        uint64_t chunk = PK_PAGE_SIZE - (a & (PK_PAGE_SIZE - 1));
        if (chunk > len - done) chunk = len - done;
        int s = RV_OK;
        uint8_t *p = xlate_slow(&X, a, write ? ACC_W : ACC_R, &s);
        if (!p) {
            *cost += X.cost;
            if (s == RV_KILL) { *reason = X.reason; return 1; }
            *reason = PK_KILL_SEGV;       /* a major fault: pages of RISC-V processes never swap */
            return 1;
        }
        if (write) memcpy(p, b + done, chunk); else memcpy(b + done, p, chunk);
        done += chunk;
    }
    *cost += X.cost;
    return 0;
}
