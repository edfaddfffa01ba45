/* pk_vfutex.c - futex keys in a kernel with memory (docs/objects.md,
 * "Futexes on address spaces").
 *
 * When k->mem exists a futex is named by what the address means, not by
 * the process: a word in a private mapping by (address space, virtual
 * address); in a shared-memory object by (object, byte offset), so two
 * processes mapping the object at different addresses meet on one futex;
 * in an anonymous region mapped shared=True by (the address space that
 * mapped it, virtual address) - fork keeps such a region at the same
 * address in the child, and the region records its origin.  One
 * kernel-wide open-addressing map (two 64-bit key halves) leads to the
 * futex objects, which still hold the 32-bit word (it is not stored in
 * the page's bytes).  An address no region (nor the stack) covers is
 * INVALID_ARGS, as Zircon's zx_futex_wait answers for a pointer that is
 * not valid user memory. */
#include <string.h>
#include "pk_core.h"
#include "pk_vm.h"

#define VF_SHM     1ull
#define VF_SHARED  2ull
#define VF_PRIVATE 3ull

typedef struct pk_vfmap {
    uint64_t *hi, *lo;            /* key; hi == 0: free slot                */
    uint32_t *objs;
    uint32_t cap, n;
} pk_vfmap;

/* The key of (pid, addr): PK_OK, or INVALID_ARGS if nothing maps addr. */
int pk_vfutex_key(pk_kernel *k, uint32_t pid, uint64_t addr, uint64_t *hi, uint64_t *lo) {
    pk_as *as = pk_as_of(k, pid);
    if (!as || !as->alive) return PK_ERR_INVALID_ARGS;
    const pk_region *r = pk_as_region(as, addr);
    uint32_t asid = (uint32_t)(as - k->mem->as);
    const pk_region *st = &k->mem->stack;
    if (!r && !(addr >= st->start && addr < st->end)) return PK_ERR_INVALID_ARGS;
    if (r && r->shm) {
        *hi = VF_SHM << 32 | r->shm;
        *lo = (r->off << PK_PAGE_SHIFT) + (addr - r->start);
    } else if (r && (r->flags & PK_MAP_SHARED)) {
        *hi = VF_SHARED << 32 | r->origin;
        *lo = addr;
    } else {
        *hi = VF_PRIVATE << 32 | asid;
        *lo = addr;
    }
    return PK_OK;
}

static inline uint32_t vhash(uint64_t hi, uint64_t lo, uint32_t cap) {
    uint64_t a = (lo ^ (hi * 0xc2b2ae3d27d4eb4full)) * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(a >> 32) & (cap - 1);
}

/* Double (or create) the map; -1 if memory ran out. */
static int vf_grow(pk_kernel *k, pk_vfmap *m) {
    uint32_t cap = m->cap ? m->cap * 2 : 16;
    uint64_t *hi = pk_alloc(k, cap * sizeof(uint64_t)), *lo = pk_alloc(k, cap * sizeof(uint64_t));
    uint32_t *objs = pk_alloc(k, cap * sizeof(uint32_t));
    if (!hi || !lo || !objs) {
        pk_free(k, hi, cap * sizeof(uint64_t)); pk_free(k, lo, cap * sizeof(uint64_t));
        pk_free(k, objs, cap * sizeof(uint32_t));
        return -1;
    }
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->hi[i]) continue;
        uint32_t j = vhash(m->hi[i], m->lo[i], cap);
        while (hi[j]) j = (j + 1) & (cap - 1);
        hi[j] = m->hi[i]; lo[j] = m->lo[i]; objs[j] = m->objs[i];
    }
    pk_free(k, m->hi, m->cap * sizeof(uint64_t)); pk_free(k, m->lo, m->cap * sizeof(uint64_t));
    pk_free(k, m->objs, m->cap * sizeof(uint32_t));
    m->hi = hi; m->lo = lo; m->objs = objs; m->cap = cap;
    return 0;
}

/* The futex object of key (hi, lo): made if `create`; 0 if there is none
 * (or memory ran out). */
uint32_t pk_vfutex_of(pk_kernel *k, uint64_t hi, uint64_t lo, bool create) {
    if (!k->objs && (!create || pk_objects_init(k))) return 0;
    pk_vfmap *m = k->objs->vf;
    if (m && m->cap) {
        for (uint32_t j = vhash(hi, lo, m->cap); m->hi[j]; j = (j + 1) & (m->cap - 1))
            if (m->hi[j] == hi && m->lo[j] == lo) return m->objs[j];
    }
    if (!create) return 0;
    if (!m) {
        if (!(m = pk_alloc(k, sizeof *m))) return 0;
        memset(m, 0, sizeof *m);
        k->objs->vf = m;
    }
    if (2 * (m->n + 1) > m->cap && vf_grow(k, m)) return 0;
    int64_t id = pk_obj_new(k, PK_OBJ_FUTEX);
    if (id < 0) return 0;
    pk_obj_at(k, (uint32_t)id)->refs = 1;                /* the map's reference */
    uint32_t j = vhash(hi, lo, m->cap);
    while (m->hi[j]) j = (j + 1) & (m->cap - 1);
    m->hi[j] = hi; m->lo[j] = lo; m->objs[j] = (uint32_t)id;
    m->n++;
    return (uint32_t)id;
}

/* The address at which process pid reaches futex object f (0 if it is
 * not a futex of the map, or pid maps it nowhere): the inverse of
 * pk_vfutex_key, for deadlock reports. */
uint64_t pk_vfutex_addr(pk_kernel *k, uint32_t pid, uint32_t f) {
    const pk_vfmap *m = k->objs ? k->objs->vf : NULL;
    for (uint32_t j = 0; m && j < m->cap; j++) {
        if (!m->hi[j] || m->objs[j] != f) continue;
        if (m->hi[j] >> 32 != VF_SHM) return m->lo[j];
        const pk_as *as = pk_as_of(k, pid);          /* shared memory: find its mapping */
        uint32_t shm = (uint32_t)m->hi[j];
        for (const pk_region *r = as ? pk_region_first(as) : NULL; r; r = pk_region_next(as, r)) {
            uint64_t off = r->off << PK_PAGE_SHIFT;
            if (r->shm == shm && m->lo[j] >= off && m->lo[j] - off < r->end - r->start)
                return r->start + (m->lo[j] - off);
        }
        return 0;
    }
    return 0;
}

/* The kernel goes: the map goes (its futexes go with the object arena). */
void pk_vfutex_fini(pk_kernel *k) {
    pk_vfmap *m = k->objs ? k->objs->vf : NULL;
    if (!m) return;
    pk_free(k, m->hi, m->cap * sizeof(uint64_t)); pk_free(k, m->lo, m->cap * sizeof(uint64_t));
    pk_free(k, m->objs, m->cap * sizeof(uint32_t));
    pk_free(k, m, sizeof *m);
    k->objs->vf = NULL;
}
