/* pk_shm.c - shared-memory objects: pages that several processes map
 * (docs/memory.md, "Shared memory").
 *
 * An object is a number of pages whose frames are allocated when some
 * process first touches them; the object holds one reference to each and
 * every mapping one more, so a frame lives while the object or a mapping
 * does.  Objects' pages are not on the replacement lists: they stay
 * resident.  Object ids start at 1 and are never reused. */
#include "pk_core.h"

uint32_t pk_shm_frame(pk_kernel *k, uint32_t id, uint64_t i) {
    pk_mem *m = k->mem;
    pk_shm *o = &m->shm[id];
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
    if (!m->nshm) m->nshm = 1;
    if (m->nshm >= m->shm_cap) {
        uint32_t cap = m->shm_cap ? m->shm_cap * 2 : 8;
        pk_shm *n = pk_realloc(k, m->shm, m->shm_cap * sizeof *n, cap * sizeof *n);
        if (!n) return PK_ERR_NO_MEMORY;
        m->shm = n;
        m->shm_cap = cap;
    }
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
    if (id == 0 || id >= k->mem->nshm) return PK_ERR_INVALID_ARGS;
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
    if (id == 0 || id >= k->mem->nshm) return PK_ERR_INVALID_ARGS;
    uint64_t before = as->changed;
    int s = pk_as_map_object(k, as, va, len, prot, 0, id);
    if (as->changed != before) pk_tlb_shootdown(k, as, va, va + len, -1);
    return s;
}
