/* pk_rv_elf.c - ELF64 RISC-V images and the processes that run them
 * (docs/riscv.md, "Loading").
 *
 * An image is a validated copy of an ELF file, loaded once per kernel.
 * Spawning maps each PT_LOAD segment as a region with the segment's
 * permissions and tags the region with the image; pages are demand-paged:
 * the fault handler (pk_fault.c; pk_page_in in pk_aspace.c) fills a fresh private frame
 * from the image for a writable region, and for a read-only one maps the
 * image's own frame for that page, shared (one frame per image page,
 * reference counted) by every process running the image.  The initial
 * stack holds argc, argv, envp and the auxiliary vector as Linux lays
 * them out. */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"

#define STACK_SIZE (8ull << 20)
#define MMAP_GAP   (16ull << 20)
#define MAX_STRINGS (256u << 10)
#define ET_DYN_BASE 0x2000000000ull        /* where a static-PIE image is placed */

static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint64_t page_up(uint64_t v) { return (v + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1); }
static inline uint64_t page_down(uint64_t v) { return v & ~(PK_PAGE_SIZE - 1); }

int pk_rv_state(pk_kernel *k) {
    if (k->rv) return PK_OK;
    pk_rvstate *rs = pk_alloc(k, sizeof *rs);
    if (!rs) return PK_ERR_NO_MEMORY;
    memset(rs, 0, sizeof *rs);
    rs->nimgs = rs->nprocs = rs->nthr = 1;       /* id 0: none */
    if (pk_vec_grow(k, (void **)&rs->imgs, &rs->imgs_cap, 1, sizeof(pk_rvimg))
        || pk_vec_grow(k, (void **)&rs->procs, &rs->procs_cap, 1, sizeof(pk_rvp))
        || pk_vec_grow(k, (void **)&rs->thr, &rs->thr_cap, 1, sizeof(pk_rvt))
        || !(rs->dc = pk_alloc(k, sizeof(pk_rvdec) << PK_RV_DC_BITS))
        || !(rs->blk = pk_alloc(k, sizeof(pk_rvblk) << PK_RV_BLK_BITS))) {
        k->rv = rs;
        pk_rv_fini(k);
        return PK_ERR_NO_MEMORY;
    }
    memset(rs->dc, 0, sizeof(pk_rvdec) << PK_RV_DC_BITS);   /* raw 0: illegal, decodes so */
    for (uint32_t i = 0; i < 1u << PK_RV_BLK_BITS; i++) rs->blk[i].pc = ~0ull;
    k->rv = rs;
    return PK_OK;
}

void pk_rv_fini(pk_kernel *k) {
    pk_rvstate *rs = k->rv;
    if (!rs) return;
    for (uint32_t i = 1; i < rs->nimgs; i++) {
        pk_rvimg *im = &rs->imgs[i];
        pk_free(k, im->data, im->len);
        pk_free(k, im->seg, im->nseg * sizeof(pk_rvseg));
        pk_free(k, im->frames, im->npages * sizeof(uint32_t));   /* the frames go with k->mem */
    }
    for (uint32_t i = 1; i < rs->nprocs; i++) {
        pk_rvp *p = &rs->procs[i];
        for (int j = 0; j < 2; j++) pk_free(k, p->out[j].b, p->out[j].cap);
        pk_free(k, p->term.b, p->term.cap);
        pk_free(k, p->in, p->in_len);
        pk_free(k, p->unknown, p->unknown_cap * sizeof(pk_rvcount));
        pk_free(k, p->exe, p->exe_len + 1);
    }
    pk_rv_sig_fini(k);
    pk_free(k, rs->imgs, rs->imgs_cap * sizeof(pk_rvimg));
    pk_free(k, rs->procs, rs->procs_cap * sizeof(pk_rvp));
    pk_free(k, rs->thr, rs->thr_cap * sizeof(pk_rvt));
    pk_free(k, rs->fps, rs->fps_cap * sizeof(pk_rvfp));
    pk_free(k, rs->dc, sizeof(pk_rvdec) << PK_RV_DC_BITS);
    pk_free(k, rs->blk, sizeof(pk_rvblk) << PK_RV_BLK_BITS);
    pk_free(k, rs, sizeof *rs);
    k->rv = NULL;
}

/* ---- images ----------------------------------------------------------------- */

#define MAX_SPAN  (1ull << 38)                 /* 2^26 pages: segments, and all of them */
#define USER_TOP  (1ull << 56)                 /* the widest user half (Sv57, 5-level)  */
#define MAX_LOADS 64u

static int elf_refuse(pk_elf_refusal *why, uint32_t reason, uint32_t ph, uint32_t other,
                      uint64_t value, uint64_t limit, int status) {
    *why = (pk_elf_refusal){ reason, ph, other, 0, value, limit };
    return status;
}

/* The rules of a loadable file (the ELF-64 Object File Format and the
 * System V ABI's "Program Loading"; a static RV64 executable), in the
 * order they are checked; nothing is allocated.  Statuses: INVALID_ARGS,
 * NOT_SUPPORTED (dynamically linked), OUT_OF_RANGE (too large a span). */
static int elf_rules(const uint8_t *d, uint64_t len, pk_elf_refusal *why) {
    const int INV = PK_ERR_INVALID_ARGS;
    if (len < 4 || memcmp(d, "\177ELF", 4)) return elf_refuse(why, PK_ELF_E_MAGIC, 0, 0, 0, 0, INV);
    if (len < 64) return elf_refuse(why, PK_ELF_E_SHORT, 0, 0, len, 64, INV);
    if (d[4] != 2) return elf_refuse(why, PK_ELF_E_CLASS, 0, 0, d[4], 2, INV);
    if (d[5] != 1) return elf_refuse(why, PK_ELF_E_DATA, 0, 0, d[5], 1, INV);
    if (d[6] != 1) return elf_refuse(why, PK_ELF_E_VERSION, 0, 0, d[6], 1, INV);
    uint16_t type = rd16(d + 16), machine = rd16(d + 18);
    if (machine != 243) return elf_refuse(why, PK_ELF_E_MACHINE, 0, 0, machine, 243, INV);
    if (type != 2 && type != 3) return elf_refuse(why, PK_ELF_E_TYPE, 0, 0, type, 0, INV);
    uint64_t entry = rd64(d + 24), phoff = rd64(d + 32);
    uint16_t phent = rd16(d + 54), phnum = rd16(d + 56);
    if (phent != 56) return elf_refuse(why, PK_ELF_E_PHENTSIZE, 0, 0, phent, 56, INV);
    if (phnum == 0 || phnum > 256) return elf_refuse(why, PK_ELF_E_PHNUM, 0, 0, phnum, 256, INV);
    if (phoff > len || (uint64_t)phnum * 56 > len - phoff)
        return elf_refuse(why, PK_ELF_E_PHOFF, 0, 0, phoff, len, INV);
    uint32_t nload = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        uint32_t pt = rd32(d + phoff + 56ull * i);
        if (pt == 3) return elf_refuse(why, PK_ELF_E_INTERP, i, 0, pt, 0, PK_ERR_NOT_SUPPORTED);
        nload += pt == 1;
    }
    if (!nload || nload > MAX_LOADS) return elf_refuse(why, PK_ELF_E_NLOAD, 0, 0, nload, MAX_LOADS, INV);
    uint64_t bias = type == 3 ? ET_DYN_BASE : 0, lo = ~0ull, hi = 0;
    uint64_t start[MAX_LOADS], end[MAX_LOADS];    /* page-rounded, biased */
    uint32_t idx[MAX_LOADS], n = 0;
    bool exec[MAX_LOADS];
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + 56ull * i;
        if (rd32(ph) != 1) continue;
        uint32_t fl = rd32(ph + 4);
        uint64_t off = rd64(ph + 8), va = rd64(ph + 16), fsz = rd64(ph + 32), msz = rd64(ph + 40);
        if (fsz > msz) return elf_refuse(why, PK_ELF_E_FILESZ, i, 0, fsz, msz, INV);
        if (off > len || fsz > len - off) return elf_refuse(why, PK_ELF_E_OFFSET, i, 0, off, len, INV);
        if (msz == 0 || msz > MAX_SPAN) return elf_refuse(why, PK_ELF_E_MEMSZ, i, 0, msz, MAX_SPAN, INV);
        if (va > ~0ull - bias || va + bias > ~0ull - msz - (PK_PAGE_SIZE - 1))
            return elf_refuse(why, PK_ELF_E_WRAP, i, 0, va, msz, INV);
        va += bias;
        if (va + msz > USER_TOP) return elf_refuse(why, PK_ELF_E_KERNEL_HALF, i, 0, va, USER_TOP, INV);
        if ((va & (PK_PAGE_SIZE - 1)) != (off & (PK_PAGE_SIZE - 1)))
            return elf_refuse(why, PK_ELF_E_ALIGN, i, 0, va, off, INV);
        if (va < PK_PAGE_SIZE) return elf_refuse(why, PK_ELF_E_PAGE_ZERO, i, 0, va, PK_PAGE_SIZE, INV);
        uint64_t a = page_down(va), e = page_up(va + msz);
        for (uint32_t j = 0; j < n; j++)                       /* pages of two segments overlap */
            if (a < end[j] && start[j] < e) return elf_refuse(why, PK_ELF_E_OVERLAP, i, idx[j], va, 0, INV);
        if (n && a < start[n - 1])                             /* ascending, as ELF requires */
            return elf_refuse(why, PK_ELF_E_ORDER, i, idx[n - 1], va, 0, INV);
        start[n] = a; end[n] = e; idx[n] = i; exec[n] = fl & 1;
        n++;
        if (a < lo) lo = a;
        if (e > hi) hi = e;
    }
    entry += bias;
    for (uint32_t j = 0; j < n; j++) {
        const uint8_t *ph = d + phoff + 56ull * idx[j];
        uint64_t va = rd64(ph + 16) + bias, msz = rd64(ph + 40);
        if (entry >= va && entry - va < msz) {
            if (!exec[j]) return elf_refuse(why, PK_ELF_E_ENTRY_NOEXEC, idx[j], 0, entry, 0, INV);
            if (hi - lo > MAX_SPAN)
                return elf_refuse(why, PK_ELF_E_SPAN, 0, 0, hi - lo, MAX_SPAN, PK_ERR_OUT_OF_RANGE);
            return PK_OK;
        }
    }
    return elf_refuse(why, PK_ELF_E_ENTRY, 0, 0, entry, 0, INV);
}

int pk_elf_check(const uint8_t *data, uint64_t len, pk_elf_refusal *why) {
    if (!why || (len && !data)) return PK_ERR_INVALID_ARGS;
    memset(why, 0, sizeof *why);
    return elf_rules(data, len, why);
}

/* Parse the ELF file (data, len): PK_OK and the image's description in
 * *im (segments allocated), or the status of the rule it breaks
 * (elf_rules).  The snapshot loader (pk_rv_snap.c) parses saved images
 * with it too, so what it derives from the bytes is never read from a
 * file. */
int pk_rv_elf_parse(pk_kernel *k, const uint8_t *d, uint64_t len, pk_rvimg *im) {
    pk_elf_refusal why;
    int s = elf_rules(d, len, &why);
    if (s) return s;
    uint16_t type = rd16(d + 16), phent = rd16(d + 54), phnum = rd16(d + 56);
    uint64_t entry = rd64(d + 24), phoff = rd64(d + 32);
    uint64_t bias = type == 3 ? ET_DYN_BASE : 0, lo = ~0ull, hi = 0, phdr = 0;
    uint32_t nload = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + 56ull * i;
        uint32_t pt = rd32(ph);
        if (pt == 6) phdr = rd64(ph + 16) + bias;              /* PT_PHDR */
        if (pt == 1) nload++;
    }
    pk_rvseg *seg = pk_alloc(k, nload * sizeof *seg);
    if (!seg) return PK_ERR_NO_MEMORY;
    uint32_t n = 0;
    for (uint32_t i = 0; i < phnum; i++) {
        const uint8_t *ph = d + phoff + 56ull * i;
        if (rd32(ph) != 1) continue;
        uint32_t fl = rd32(ph + 4);
        uint64_t off = rd64(ph + 8), va = rd64(ph + 16) + bias, fsz = rd64(ph + 32), msz = rd64(ph + 40);
        uint32_t prot = PK_PROT_READ | (fl & 2 ? PK_PROT_WRITE : 0) | (fl & 1 ? PK_PROT_EXEC : 0);
        seg[n++] = (pk_rvseg){ va, msz, off, fsz, prot, 0 };
        if (page_down(va) < lo) lo = page_down(va);
        if (page_up(va + msz) > hi) hi = page_up(va + msz);
        if (!phdr && phoff >= off && phoff - off < fsz) phdr = va + (phoff - off);
    }
    *im = (pk_rvimg){ NULL, len, entry + bias, phdr, lo, hi, phnum, phent, n, 0, seg, NULL,
                      (hi - lo) >> PK_PAGE_SHIFT };
    return PK_OK;
}

int pk_prog_load_elf(pk_kernel *k, const uint8_t *data, uint64_t len, uint32_t *prog_out) {
    if (!k || !prog_out || (len && !data)) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (len > (1ull << 32)) return PK_ERR_OUT_OF_RANGE;
    int s = pk_rv_state(k);
    if (s) return s;
    return pk_rv_prog_add(k, data, len, prog_out);
}

/* The program of ELF file (data, len): an existing machine-code program
 * with the same bytes (its processes share the read-only pages), else a
 * new one.  execve (pk_rv_proc.c) calls it with k->rv made. */
int pk_rv_prog_for(pk_kernel *k, const uint8_t *data, uint64_t len, uint32_t *prog_out) {
    for (uint32_t i = 0; i < k->nprogs; i++) {
        const pk_prog *pg = &k->progs[i];
        if (pg->kind != PK_BODY_RV) continue;
        const pk_rvimg *im = &k->rv->imgs[pg->image];
        if (im->len == len && !memcmp(im->data, data, len)) { *prog_out = i; return PK_OK; }
    }
    return pk_rv_prog_add(k, data, len, prog_out);
}

/* Room for parsed image im: its copy of the file (len bytes, filled by
 * the caller), its frame table (no page loaded yet) and a slot in
 * k->rv->imgs.  On failure im's parts are freed and NO_MEMORY returned. */
int pk_rv_image_alloc(pk_kernel *k, pk_rvimg *im, uint64_t len) {
    pk_rvstate *rs = k->rv;
    im->data = pk_alloc(k, len);
    im->frames = pk_alloc(k, im->npages * sizeof(uint32_t));
    if (!im->data || !im->frames
        || pk_vec_grow(k, (void **)&rs->imgs, &rs->imgs_cap, rs->nimgs + 1, sizeof(pk_rvimg))) {
        pk_free(k, im->data, len);
        pk_free(k, im->frames, im->npages * sizeof(uint32_t));
        pk_free(k, im->seg, im->nseg * sizeof(pk_rvseg));
        return PK_ERR_NO_MEMORY;
    }
    memset(im->frames, 0, im->npages * sizeof(uint32_t));
    return PK_OK;
}

int pk_rv_prog_add(pk_kernel *k, const uint8_t *data, uint64_t len, uint32_t *prog_out) {
    int s;
    pk_rvstate *rs = k->rv;
    pk_rvimg im;
    if ((s = pk_rv_elf_parse(k, data, len, &im))) return s;
    if ((s = pk_rv_image_alloc(k, &im, len))) return s;
    memcpy(im.data, data, len);
    uint32_t id = rs->nimgs;
    rs->imgs[id] = im;
    /* the program: kind RV, its image id kept in nops (it has no ops) */
    uint32_t prog;
    if (k->nprogs == k->progs_cap) {
        uint32_t cap = k->progs_cap ? k->progs_cap * 2 : 16;
        pk_prog *p = pk_realloc(k, k->progs, k->progs_cap * sizeof *p, cap * sizeof *p);
        if (!p) return PK_ERR_NO_MEMORY;          /* the image stays, unused */
        k->progs = p;
        k->progs_cap = cap;
    }
    rs->nimgs++;
    prog = k->nprogs++;
    k->progs[prog] = (pk_prog){ PK_BODY_RV, 0, NULL, PK_NO_BURST, { 0, 0, 0, 0 }, 1, id };
    *prog_out = prog;
    return PK_OK;
}

void pk_rv_image_fill(pk_kernel *k, uint32_t img, uint64_t va, uint8_t *dst) {
    const pk_rvimg *im = &k->rv->imgs[img];
    va = page_down(va);
    memset(dst, 0, PK_PAGE_SIZE);
    for (uint32_t i = 0; i < im->nseg; i++) {
        const pk_rvseg *s = &im->seg[i];
        uint64_t a = s->vaddr > va ? s->vaddr : va;
        uint64_t e = s->vaddr + s->filesz < va + PK_PAGE_SIZE ? s->vaddr + s->filesz : va + PK_PAGE_SIZE;
        if (a < e) memcpy(dst + (a - va), im->data + s->off + (a - s->vaddr), e - a);
    }
}

uint32_t pk_rv_image_frame(pk_kernel *k, uint32_t img, uint64_t va) {
    pk_rvimg *im = &k->rv->imgs[img];
    pk_mem *m = k->mem;
    if (va < im->lo || va >= im->hi) return 0;
    uint64_t i = (va - im->lo) >> PK_PAGE_SHIFT;
    if (!im->frames[i]) {
        uint32_t f = pk_frame_alloc(k, 0, page_down(va));
        if (!f) return 0;
        uint8_t *d = pk_frame_data(k, f);
        if (!d) { pk_frame_put(k, f); return 0; }
        pk_rv_image_fill(k, img, va, d);
        m->frames[f].flags |= PK_FR_SHARED;
        im->frames[i] = f;
    }
    m->frames[im->frames[i]].ref++;
    return im->frames[i];
}

uint32_t pk_rvt_new(pk_kernel *k, uint32_t tid, uint32_t proc) {
    pk_rvstate *rs = k->rv;
    if (pk_vec_grow(k, (void **)&rs->thr, &rs->thr_cap, rs->nthr + 1, sizeof(pk_rvt))) return 0;
    memset(&rs->thr[rs->nthr], 0, sizeof(pk_rvt));
    rs->thr[rs->nthr].tid = tid;
    rs->thr[rs->nthr].proc = proc;
    return rs->nthr++;
}

/* ---- spawning --------------------------------------------------------------- */

/* Write len bytes at va of as from the kernel (spawn: no CPU): through
 * the page tables, faulting pages in. */
int pk_rv_poke(pk_kernel *k, pk_as *as, uint64_t va, const void *src, uint64_t len) {
    const uint8_t *b = src;
    while (len) {
        uint64_t cost = 0, pte = 0, chunk = PK_PAGE_SIZE - (va & (PK_PAGE_SIZE - 1));
        uint32_t reason;
        if (chunk > len) chunk = len;
        if (pk_as_access(k, as, va, true, &cost, &reason, &pte, true) != PK_ACC_OK) return PK_ERR_NO_MEMORY;
        uint8_t *d = pk_frame_data(k, (uint32_t)pk_pte_frame(k->mem->fmt, pte));
        if (!d) return PK_ERR_NO_MEMORY;
        memcpy(d + (va & (PK_PAGE_SIZE - 1)), b, chunk);
        va += chunk; b += chunk; len -= chunk;
    }
    return PK_OK;
}

/* The initial stack (Linux's layout, top down: the execfn, environment and
 * argument strings, 16 random bytes, then 16-byte aligned: auxv, envp,
 * argv, argc at sp).  *sp_out: the initial sp. */
static int stack_build(pk_kernel *k, pk_as *as, const pk_rvimg *im, uint64_t top,
                       const char *strs, uint64_t slen, uint32_t argc, uint32_t envc, uint64_t *sp_out) {
    uint64_t sp = top - 16;                       /* a little headroom, like Linux's NULL end marker */
    uint32_t nstr = argc + envc + 1;
    uint64_t ptrs_n = nstr;
    uint64_t addrs_stack[64], *addrs = addrs_stack;
    if (nstr > 64) {
        addrs = pk_alloc(k, nstr * sizeof(uint64_t));
        if (!addrs) return PK_ERR_NO_MEMORY;
    }
    sp -= slen;                                   /* every string, in order */
    uint64_t base = sp;
    int s = pk_rv_poke(k, as, base, strs, slen);
    uint64_t o = 0;
    for (uint32_t i = 0; i < nstr && !s; i++) {
        addrs[i] = base + o;
        o += strlen(strs + o) + 1;
    }
    uint8_t rnd[16];
    for (int i = 0; i < 16; i += 8) { uint64_t v = pk_rng_next(&k->rng); memcpy(rnd + i, &v, 8); }
    sp = (sp - 16) & ~15ull;
    uint64_t at_random = sp;
    if (!s) s = pk_rv_poke(k, as, at_random, rnd, 16);
    uint64_t aux[][2] = {
        { 3, im->phdr }, { 4, im->phent }, { 5, im->phnum }, { 6, PK_PAGE_SIZE },
        { 7, 0 }, { 8, 0 }, { 9, im->entry }, { 11, 0 }, { 12, 0 }, { 13, 0 }, { 14, 0 },
        { 16, 0x112d }, { 17, 100 }, { 23, 0 }, { 25, at_random }, { 31, addrs[nstr - 1] },
        { 0, 0 },
    };                                            /* AT_HWCAP: the letters I M A F D C */
    uint64_t words = 1 + argc + 1 + envc + 1 + 2 * (sizeof aux / sizeof aux[0]);
    sp = (sp - words * 8) & ~15ull;
    uint64_t w = sp;
    uint64_t v = argc;
    if (!s) s = pk_rv_poke(k, as, w, &v, 8);
    w += 8;
    for (uint32_t i = 0; i < argc && !s; i++, w += 8) s = pk_rv_poke(k, as, w, &addrs[i], 8);
    v = 0;
    if (!s) s = pk_rv_poke(k, as, w, &v, 8);
    w += 8;
    for (uint32_t i = 0; i < envc && !s; i++, w += 8) s = pk_rv_poke(k, as, w, &addrs[argc + i], 8);
    if (!s) s = pk_rv_poke(k, as, w, &v, 8);
    w += 8;
    if (!s) s = pk_rv_poke(k, as, w, aux, sizeof aux);
    if (addrs != addrs_stack) pk_free(k, addrs, ptrs_n * sizeof(uint64_t));
    *sp_out = sp;
    return s;
}

/* Map the image's segments into as and tag the regions with it. */
static int image_map(pk_kernel *k, pk_as *as, uint32_t img) {
    const pk_rvimg *im = &k->rv->imgs[img];
    for (uint32_t i = 0; i < im->nseg; i++) {
        const pk_rvseg *sg = &im->seg[i];
        uint64_t a = page_down(sg->vaddr), e = page_up(sg->vaddr + sg->memsz);
        int s = pk_as_map(k, as, a, e - a, sg->prot, 0);
        if (s) return s;
        pk_region *g = pk_region_from(as, a);
        if (g && g->start == a) g->img = img;
    }
    return PK_OK;
}

/* Into the (empty) address space of process pid: image img's segments,
 * the stack, and on it the strings (argc + envc + execfn) as Linux lays
 * them out; *sp_out: the initial sp.  Spawn and execve. */
int pk_rv_image_setup(pk_kernel *k, uint32_t pid, uint32_t img, const char *strs, uint64_t slen,
                      uint32_t argc, uint32_t envc, uint64_t *sp_out) {
    uint64_t top = 1ull << (k->mem->fmt->va_bits - 1);
    pk_as *as = pk_as_of(k, pid);
    int s = image_map(k, as, img);
    if (!s) s = pk_as_map(k, as, top - STACK_SIZE, STACK_SIZE, PK_PROT_READ | PK_PROT_WRITE, 0);
    if (!s) s = stack_build(k, as, &k->rv->imgs[img], top, strs, slen, argc, envc, sp_out);
    return s;
}

/* where mmap starts handing out addresses, below the stack */
uint64_t pk_rv_mmap_top(pk_kernel *k) {
    return (1ull << (k->mem->fmt->va_bits - 1)) - STACK_SIZE - MMAP_GAP;
}

int pk_rv_spawn(pk_kernel *k, const pk_spawn_args *a, const char *strs, uint64_t slen,
                uint32_t argc, uint32_t envc, const uint8_t *in, uint64_t in_len,
                uint32_t *pid_out, uint32_t *tid_out) {
    if (!k || !a || !pid_out || !tid_out || (slen && !strs) || (in_len && !in)) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (a->prog >= k->nprogs || k->progs[a->prog].kind != PK_BODY_RV) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    if (k->mem->mcfg.swap) return PK_ERR_NOT_SUPPORTED;     /* swapped pages lose their bytes */
    /* strings: argc + envc + 1 (execfn) NUL-terminated ones */
    if (slen == 0 || slen > MAX_STRINGS || strs[slen - 1] || argc < 1 || (uint64_t)argc + envc > 65536)
        return PK_ERR_INVALID_ARGS;
    uint64_t nul = 0;
    for (uint64_t i = 0; i < slen; i++) nul += !strs[i];
    if (nul != (uint64_t)argc + envc + 1) return PK_ERR_INVALID_ARGS;
    if (in_len > (1ull << 32)) return PK_ERR_OUT_OF_RANGE;
    pk_rvstate *rs = k->rv;
    uint32_t img = k->progs[a->prog].image;
    const pk_rvimg *im = &rs->imgs[img];
    uint64_t top = 1ull << (k->mem->fmt->va_bits - 1);
    if (im->hi + (1ull << 30) > top - STACK_SIZE - MMAP_GAP) return PK_ERR_OUT_OF_RANGE;
    /* everything that can fail for want of memory, before the spawn */
    if (pk_vec_grow(k, (void **)&rs->procs, &rs->procs_cap, rs->nprocs + 1, sizeof(pk_rvp))
        || pk_vec_grow(k, (void **)&rs->thr, &rs->thr_cap, rs->nthr + 1, sizeof(pk_rvt)))
        return PK_ERR_NO_MEMORY;
    const char *execfn = strs;
    for (uint32_t i = 0; i < argc + envc; i++) execfn += strlen(execfn) + 1;
    uint64_t exe_len = strlen(execfn);
    char *exe = pk_alloc(k, exe_len + 1);
    uint8_t *inb = in_len ? pk_alloc(k, in_len) : NULL;
    if (!exe || (in_len && !inb)) {
        pk_free(k, exe, exe_len + 1);
        pk_free(k, inb, in_len);
        return PK_ERR_NO_MEMORY;
    }
    uint32_t pid, tid;
    rs->making = 1;
    int s = pk_spawn(k, a, 1, &pid, &tid);
    rs->making = 0;
    if (s) { pk_free(k, exe, exe_len + 1); pk_free(k, inb, in_len); return s; }
    memcpy(exe, execfn, exe_len + 1);
    if (in_len) memcpy(inb, in, in_len);
    uint32_t pr = rs->nprocs++;
    pk_rvp *p = &rs->procs[pr];
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->img = img;
    p->brk_start = p->brk = p->brk_mapped = im->hi;
    p->mmap_next = top - STACK_SIZE - MMAP_GAP;
    p->in = inb; p->in_len = in_len;
    p->exe = exe; p->exe_len = exe_len;
    p->tty = pr;                                   /* a terminal of its own */
    uint32_t rid = pk_rvt_new(k, tid, pr);         /* room reserved above */
    pk_thread *t = pk_thread_at(k, tid);
    uint64_t sp = 0;
    s = pk_rv_image_setup(k, pid, img, strs, slen, argc, envc, &sp);
    t->regs.x[2] = sp;
    t->regs.pc = im->entry;
    t->regs.flags = (uint64_t)rid << PK_RV_ID_SHIFT;
    *pid_out = pid;
    *tid_out = tid;
    if (s) pk_thread_exit(k, t, -1, PK_KILL_OOM);  /* no memory for its image or stack */
    return PK_OK;
}

/* ---- queries ----------------------------------------------------------------- */

static pk_rvp *proc_of(pk_kernel *k, uint32_t pid) {
    if (!k || !k->rv || pid >= k->procs.count) return NULL;
    for (uint32_t i = 1; i < k->rv->nprocs; i++)
        if (k->rv->procs[i].pid == pid) return &k->rv->procs[i];
    return NULL;
}

int pk_rv_output(pk_kernel *k, uint32_t pid, uint32_t fd, uint64_t offset, uint8_t *out,
                 uint64_t cap, uint64_t *total_out) {
    if (!k || !total_out || (cap && !out) || fd > 2) return PK_ERR_INVALID_ARGS;
    pk_rvp *p = proc_of(k, pid);
    if (!p) return PK_ERR_NOT_SUPPORTED;
    const pk_rvbuf *b = fd == PK_RV_TTY ? &k->rv->procs[p->tty].term : &p->out[fd - 1];
    *total_out = b->n;
    if (offset > b->n) return PK_ERR_OUT_OF_RANGE;
    uint64_t n = b->n - offset < cap ? b->n - offset : cap;
    if (n) memcpy(out, b->b + offset, n);
    return PK_OK;
}

int pk_rv_unknown_syscalls(pk_kernel *k, uint32_t pid, uint64_t *nums, uint64_t *counts,
                           uint32_t cap, uint32_t *n_out) {
    if (!k || !n_out || (cap && (!nums || !counts))) return PK_ERR_INVALID_ARGS;
    pk_rvp *p = proc_of(k, pid);
    if (!p) return PK_ERR_NOT_SUPPORTED;
    *n_out = p->nunknown;
    for (uint32_t i = 0; i < p->nunknown && i < cap; i++) {
        nums[i] = p->unknown[i].num;
        counts[i] = p->unknown[i].n;
    }
    return PK_OK;
}

int pk_rv_stats_get(pk_kernel *k, uint32_t pid, pk_rv_stats *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    pk_rvp *p = proc_of(k, pid);
    if (!p) return PK_ERR_NOT_SUPPORTED;
    uint64_t fp = 0;
    uint32_t me = (uint32_t)(p - k->rv->procs);
    for (uint32_t i = 1; i < k->rv->nthr; i++) fp += k->rv->thr[i].proc == me && k->rv->thr[i].fp;
    *out = (pk_rv_stats){ p->insns, p->syscalls, p->brk, p->in_pos, fp };
    return PK_OK;
}

int pk_rv_image_info(pk_kernel *k, uint32_t prog, pk_elf_info *out) {
    if (!k || !out || prog >= k->nprogs || k->progs[prog].kind != PK_BODY_RV) return PK_ERR_INVALID_ARGS;
    const pk_rvimg *im = &k->rv->imgs[k->progs[prog].image];
    uint64_t shared = 0;
    for (uint64_t i = 0; i < im->npages; i++) shared += im->frames[i] != 0;
    *out = (pk_elf_info){ im->entry, im->lo, im->hi, im->nseg, 0, shared };
    return PK_OK;
}

int pk_rv_image_data(pk_kernel *k, uint32_t prog, uint8_t *out, uint64_t cap, uint64_t *len_out) {
    if (!k || !len_out || (cap && !out) || prog >= k->nprogs || k->progs[prog].kind != PK_BODY_RV)
        return PK_ERR_INVALID_ARGS;
    const pk_rvimg *im = &k->rv->imgs[k->progs[prog].image];
    *len_out = im->len;
    if (cap) memcpy(out, im->data, cap < im->len ? cap : im->len);
    return PK_OK;
}

int pk_rv_kernel_insns(pk_kernel *k, uint64_t *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    *out = k->rv ? k->rv->insns : 0;
    return PK_OK;
}
