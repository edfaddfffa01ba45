/* pk_shm.c - shared-memory objects: pages that several processes map
 * (docs/memory.md, "Shared memory").
 *
 * An object is a number of pages whose frames are allocated when some
 * process first touches them; the object holds one reference to each and
 * every mapping one more, so a frame lives while the object or a mapping
 * does.  Objects' pages are not on the replacement lists: they stay
 * resident.  Object ids start at 1 and are never reused.
 *
 * A regular file's pages in a kernel with memory are such an object too,
 * its page cache (pk_cache_*): the file system keeps its bytes in the
 * cache's frames (pk_fs.c), so read / write and every mapping of the file
 * see the same frames, and the frames count in the memory figures.  A
 * cache grows with its file; its frames are made by the file system,
 * which keeps the books of the file's pages. */
#include <string.h>
#include "pk_core.h"
#include "pk_fs.h"

uint32_t pk_shm_frame(pk_kernel *k, uint32_t id, uint64_t i) {
    pk_mem *m = k->mem;
    pk_shm *o = &m->shm[id];
    if (o->ino) {                                /* a file's page: through its books */
        if ((i >= o->pages || !o->frames[i]) && pk_fs_cache_fill(k, o->ino, i)) return 0;
        o = &m->shm[id];
    }
    if (i >= o->pages) return 0;
    if (!o->frames[i]) {
        uint32_t f = pk_frame_alloc(k, 0, i << PK_PAGE_SHIFT);
        if (!f) return 0;
        m->frames[f].flags |= PK_FR_SHARED;
        o->frames[i] = f;
    }
    m->frames[o->frames[i]].ref++;
    return o->frames[i];
}

/* Drop the object's references (its mappings keep theirs). */
static void shm_close(pk_kernel *k, pk_shm *o) {
    if (!o->alive) return;
    for (uint64_t i = 0; i < o->pages; i++)
        if (o->frames[i]) pk_frame_put(k, o->frames[i]);
    pk_free(k, o->frames, o->pages * sizeof(uint32_t));
    o->frames = NULL;
    o->alive = 0;
}

/* Room for one more object. */
static int shm_room(pk_kernel *k) {
    pk_mem *m = k->mem;
    if (!m->nshm) m->nshm = 1;
    if (m->nshm < m->shm_cap) return PK_OK;
    uint32_t cap = m->shm_cap ? m->shm_cap * 2 : 8;
    pk_shm *n = pk_realloc(k, m->shm, m->shm_cap * sizeof *n, cap * sizeof *n);
    if (!n) return PK_ERR_NO_MEMORY;
    m->shm = n;
    m->shm_cap = cap;
    return PK_OK;
}

uint32_t pk_cache_new(pk_kernel *k, uint32_t ino) {
    pk_mem *m = k->mem;
    if (shm_room(k)) return 0;
    uint32_t *frames = pk_alloc(k, 4 * sizeof(uint32_t));
    if (!frames) return 0;
    memset(frames, 0, 4 * sizeof(uint32_t));
    m->shm[m->nshm] = (pk_shm){ 4, frames, 1, ino };
    return m->nshm++;
}

uint32_t pk_cache_page(pk_kernel *k, uint32_t id, uint64_t i) {
    pk_mem *m = k->mem;
    pk_shm *o = &m->shm[id];
    if (i >= o->pages) {
        uint64_t cap = o->pages;
        while (cap <= i) cap *= 2;
        uint32_t *fr = pk_realloc(k, o->frames, o->pages * sizeof *fr, cap * sizeof *fr);
        if (!fr) return 0;
        memset(fr + o->pages, 0, (cap - o->pages) * sizeof *fr);
        o->frames = fr;
        o->pages = cap;
    }
    if (o->frames[i]) return o->frames[i];
    uint32_t f = pk_frame_alloc(k, 0, i << PK_PAGE_SHIFT);
    if (!f) return 0;
    o = &m->shm[id];
    if (!pk_frame_data(k, f)) { pk_frame_put(k, f); return 0; }
    m->frames[f].flags |= PK_FR_SHARED;
    o->frames[i] = f;
    return f;
}

void pk_cache_drop(pk_kernel *k, uint32_t id, uint64_t i) {
    pk_shm *o = &k->mem->shm[id];
    if (i >= o->pages || !o->frames[i]) return;
    pk_frame_put(k, o->frames[i]);
    o->frames[i] = 0;
}

void pk_cache_release(pk_kernel *k, uint32_t id) {
    shm_close(k, &k->mem->shm[id]);
}

void pk_shm_fini(pk_kernel *k) {
    pk_mem *m = k->mem;
    for (uint32_t i = 1; i < m->nshm; i++)
        pk_free(k, m->shm[i].frames, m->shm[i].pages * sizeof(uint32_t));
    pk_free(k, m->shm, m->shm_cap * sizeof(pk_shm));
}

int pk_shm_create(pk_kernel *k, uint64_t pages, uint32_t *id_out) {
    if (!k || !id_out || pages == 0) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    pk_mem *m = k->mem;
    if (pages > m->mcfg.frames) return PK_ERR_OUT_OF_RANGE;
    if (shm_room(k)) return PK_ERR_NO_MEMORY;
    uint32_t *frames = pk_alloc(k, pages * sizeof(uint32_t));
    if (!frames) return PK_ERR_NO_MEMORY;
    m->shm[m->nshm] = (pk_shm){ pages, frames, 1, 0 };
    *id_out = m->nshm++;
    return PK_OK;
}

int pk_shm_close(pk_kernel *k, uint32_t id) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    if (id == 0 || id >= k->mem->nshm || k->mem->shm[id].ino) return PK_ERR_INVALID_ARGS;
    if (!k->mem->shm[id].alive) return PK_ERR_BAD_STATE;
    shm_close(k, &k->mem->shm[id]);
    return PK_OK;
}

int pk_shm_info_get(pk_kernel *k, uint32_t id, uint64_t *pages_out, uint32_t *alive_out) {
    if (!k || !pages_out || !alive_out || id == 0) return PK_ERR_INVALID_ARGS;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    if (id >= k->mem->nshm) return PK_ERR_OUT_OF_RANGE;
    *pages_out = k->mem->shm[id].pages;
    *alive_out = k->mem->shm[id].alive;
    return PK_OK;
}

int pk_vm_map_shm(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot,
                  uint32_t id) {
    if (!k || !k->mem || pid >= k->procs.count || prot > 7) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    pk_as *as = pk_as_of(k, pid);
    if (!as || !as->alive) return PK_ERR_BAD_STATE;
    if (id == 0 || id >= k->mem->nshm || k->mem->shm[id].ino) return PK_ERR_INVALID_ARGS;
    uint64_t before = as->changed;
    int s = pk_as_map_object(k, as, va, len, prot, 0, id);
    if (as->changed != before) pk_tlb_shootdown(k, as, va, va + len, -1);
    return s;
}

/* mmap(2) of regular file ino by process pid, whose address space is as:
 * [va, va + len) shows the file's pages from page off on, sharing the
 * page cache (MAP_SHARED: writes reach the file and every mapping) or
 * copying a page when it is first written (MAP_PRIVATE).  The caller has
 * checked the access mode of its descriptor (or the path's permissions).
 * A negative errno: ENODEV (not a regular file, or no memory system),
 * ENOMEM (no memory, max_map_count), EINVAL (a range the core refuses). */
int pk_as_map_file(pk_kernel *k, pk_as *as, uint32_t ino, uint64_t va, uint64_t len,
                   uint32_t prot, bool shared, bool may_write, uint64_t off) {
    if (!k->mem) return -PK_ENODEV;
    if (shared && !may_write && (prot & PK_PROT_WRITE)) return -PK_EACCES;
    int64_t id = pk_fs_cache_of(k, ino);
    if (id < 0) return (int)id;
    int s = pk_as_map_at(k, as, va, len, prot, shared ? PK_MAP_SHARED : 0, (uint32_t)id, off);
    if (s == PK_OK && shared && !may_write)         /* mprotect(2) may not add PROT_WRITE */
        for (pk_region *r = pk_region_from(as, va); r && r->start < va + len; r = pk_region_next(as, r))
            r->flags |= PK_MAP_NOMAYWRITE;
    return s == PK_OK ? 0 : s == PK_ERR_NO_MEMORY ? -PK_ENOMEM : -PK_EINVAL;
}

int pk_vm_map_file(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t va, uint64_t len,
                   uint32_t prot, uint32_t shared, uint64_t off, int32_t *err_out) {
    if (!k || !err_out || !k->mem || pid >= k->procs.count || prot > 7 || shared > 1)
        return PK_ERR_INVALID_ARGS;
    *err_out = 0;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    pk_as *as = pk_as_of(k, pid);
    if (!as || !as->alive) return PK_ERR_BAD_STATE;
    if ((va | len | off) & (PK_PAGE_SIZE - 1) || !len) return PK_ERR_INVALID_ARGS;
    pk_fs_who who;
    int e = pk_fs_who_of(k, pid, &who);
    pk_fs_stat st;
    if (!e) e = pk_fs_stat_get(k, ino, &st);
    if (!e && (st.mode & PK_S_IFMT) != PK_S_IFREG) e = -PK_ENODEV;   /* mmap(2): ENODEV */
    /* open(2) for reading; a shared writable mapping needs O_RDWR */
    if (!e) e = pk_fs_access(k, &who, ino, PK_FS_R | (shared && (prot & PK_PROT_WRITE) ? PK_FS_W : 0));
    bool may_write = !e && pk_fs_access(k, &who, ino, PK_FS_W) == 0;   /* as if opened O_RDWR */
    uint64_t before = as->changed;
    if (!e) e = pk_as_map_file(k, as, ino, va, len, prot, shared, may_write, off >> PK_PAGE_SHIFT);
    if (as->changed != before) pk_tlb_shootdown(k, as, va, va + len, -1);
    *err_out = e;
    return PK_OK;
}
