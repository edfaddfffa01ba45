/* pk_obj_snap.c - the kernel-object section of a snapshot (docs/snapshot.md,
 * "Kernel objects"): everything under k->objs.
 *
 * Ids are kept as they were - object ids, handle slots and generations,
 * wait-record and wait-node ids, free lists, hash-map positions - so a
 * restored kernel hands out the same handle values and object ids, and
 * deadline events in the core's event queue (argument seq << 32 | wait
 * id) still name their waits.  Each object's queue of waiters is written
 * as the list of its wait nodes in order and relinked on load.
 *
 * The loader trusts nothing: every id is range-checked, every list is
 * walked at most once (cycles and sharing are refused), reference counts
 * are recomputed from the tables, messages, futex maps and asynchronous
 * waits that hold them and must match, and every thread's wait register
 * must name a wait record of its own.  A malformed section is
 * PK_ERR_INVALID_ARGS; what was built so far hangs off k->objs, which
 * pk_objects_fini frees with the kernel. */
#include <stdlib.h>
#include <string.h>
#include "pk_core.h"
#include "pk_snap.h"
#include "pk_vm.h"

#define OBJ_SNAP_VERSION 1
#define PK_OBJ_KIND_MAX  PK_OBJ_THREAD

typedef struct pk_vfmap {         /* as pk_vfutex.c */
    uint64_t *hi, *lo;
    uint32_t *objs;
    uint32_t cap, n;
} pk_vfmap;

/* ---- records ---------------------------------------------------------------
 * Each kind of fixed record is described once, as the list of its members
 * in the order they are written (each at its own width, little-endian);
 * rec_put writes one, rec_get reads one, recs_put / recs_get a run of
 * them in an array.  What a loader must check about the values stays
 * with the loader. */
typedef struct fld { uint16_t off; uint8_t size; } fld;     /* a member: offset, 1, 4 or 8 bytes */
typedef struct rec { const fld *f; uint8_t n; } rec;
#define FLD(type, m) { (uint16_t)offsetof(type, m), (uint8_t)sizeof(((type *)0)->m) }
#define REC(name, ...)                                                             \
    static const fld name##_f[] = { __VA_ARGS__ };                                 \
    static const rec name = { name##_f, (uint8_t)(sizeof name##_f / sizeof name##_f[0]) }

/* a live object (its kind and queue are written around it) */
REC(OBJ_REC, FLD(pk_obj, fflags), FLD(pk_obj, pad[0]), FLD(pk_obj, signals), FLD(pk_obj, refs),
    FLD(pk_obj, koid), FLD(pk_obj, peer), FLD(pk_obj, target), FLD(pk_obj, queued));
/* a message's header (its flags come first, its bytes and handles after) */
REC(MSG_REC, FLD(pk_msg, nbytes), FLD(pk_msg, nhandles), FLD(pk_msg, txid), FLD(pk_msg, pad));
REC(XFER_REC, FLD(pk_xfer, obj), FLD(pk_xfer, rights));
/* a process extension: its table's shape, each slot, then the rest */
REC(EXT_HEAD_REC, FLD(pk_pext, cap), FLD(pk_pext, top), FLD(pk_pext, count), FLD(pk_pext, hint));
REC(HENT_REC, FLD(pk_hent, obj), FLD(pk_hent, rights), FLD(pk_hent, gen));
REC(EXT_REST_REC, FLD(pk_pext, self_obj), FLD(pk_pext, uid), FLD(pk_pext, gid),
    FLD(pk_pext, fdom), FLD(pk_pext, fsharers), FLD(pk_pext, job), FLD(pk_pext, mem_pages));
REC(WAIT_REC, FLD(pk_wait, tid), FLD(pk_wait, seq), FLD(pk_wait, first), FLD(pk_wait, n),
    FLD(pk_wait, deadline), FLD(pk_wait, status), FLD(pk_wait, linked), FLD(pk_wait, done),
    FLD(pk_wait, pid), FLD(pk_wait, next_free), FLD(pk_wait, port), FLD(pk_wait, key));
REC(NODE_REC, FLD(pk_wnode, obj), FLD(pk_wnode, handle), FLD(pk_wnode, waitfor),
    FLD(pk_wnode, pending), FLD(pk_wnode, wait), FLD(pk_wnode, sib));
REC(JOB_REC, FLD(pk_jobrec, parent), FLD(pk_jobrec, killed), FLD(pk_jobrec, max_procs),
    FLD(pk_jobrec, max_handles), FLD(pk_jobrec, procs), FLD(pk_jobrec, handles),
    FLD(pk_jobrec, max_pages), FLD(pk_jobrec, pages));
REC(BOOST_REC, FLD(pk_piboost, tid), FLD(pk_piboost, sclass), FLD(pk_piboost, rt_prio),
    FLD(pk_piboost, priority));

/* bytes a record takes in the stream */
static size_t rec_bytes(const rec *d) {
    size_t n = 0;
    for (unsigned i = 0; i < d->n; i++) n += d->f[i].size;
    return n;
}

static void val_put(pk_snap_w *w, const void *m, uint8_t size) {
    uint64_t v = 0;
    if (size == 1) v = *(const uint8_t *)m;
    else if (size == 4) { uint32_t x; memcpy(&x, m, 4); v = x; }
    else memcpy(&v, m, 8);
    if (size == 1) pk_snap_u8(w, (uint8_t)v);
    else if (size == 4) pk_snap_u32(w, (uint32_t)v);
    else pk_snap_u64(w, v);
}

static void val_get(pk_snap_r *r, void *m, uint8_t size) {
    if (size == 1) { uint8_t v = pk_snap_get_u8(r); memcpy(m, &v, 1); }
    else if (size == 4) { uint32_t v = pk_snap_get_u32(r); memcpy(m, &v, 4); }
    else { uint64_t v = pk_snap_get_u64(r); memcpy(m, &v, 8); }
}

static void rec_put(pk_snap_w *w, const rec *d, const void *p) {
    for (unsigned i = 0; i < d->n; i++) val_put(w, (const char *)p + d->f[i].off, d->f[i].size);
}

static void rec_get(pk_snap_r *r, const rec *d, void *p) {
    for (unsigned i = 0; i < d->n; i++) val_get(r, (char *)p + d->f[i].off, d->f[i].size);
}

/* n records of an array whose elements are `stride` bytes apart; the
 * reader clears each element first (padding, members not written) */
static void recs_put(pk_snap_w *w, const rec *d, const void *a, uint32_t n, size_t stride) {
    for (uint32_t i = 0; i < n; i++) rec_put(w, d, (const char *)a + i * stride);
}

static void recs_get(pk_snap_r *r, const rec *d, void *a, uint32_t n, size_t stride) {
    for (uint32_t i = 0; i < n && !r->err; i++) {
        memset((char *)a + i * stride, 0, stride);
        rec_get(r, d, (char *)a + i * stride);
    }
}

/* ---- maps ------------------------------------------------------------------
 * The open-addressing maps (a process's futexes, thread objects, futexes
 * of shared memory) are parallel arrays, "columns", of which the first
 * holds the keys (0: an empty position).  One is written as its capacity,
 * its number of entries, and each entry as its position and a value from
 * each column, so it comes back with every entry where it was. */
#define MAP_COLS 3
typedef struct map_cols {
    void **col[MAP_COLS];         /* where each column's array is */
    uint8_t size[MAP_COLS];       /* its element size, 4 or 8 */
    unsigned n;
} map_cols;

static uint64_t col_at(const void *a, uint8_t size, uint32_t j) {
    return size == 4 ? ((const uint32_t *)a)[j] : ((const uint64_t *)a)[j];
}

static void map_put(pk_snap_w *w, uint32_t cap, uint32_t n, const map_cols *m) {
    pk_snap_u32(w, cap);
    pk_snap_u32(w, n);
    for (uint32_t j = 0; j < cap; j++) {
        if (!col_at(*m->col[0], m->size[0], j)) continue;
        pk_snap_u32(w, j);
        for (unsigned c = 0; c < m->n; c++) {
            uint64_t v = col_at(*m->col[c], m->size[c], j);
            if (m->size[c] == 4) pk_snap_u32(w, (uint32_t)v); else pk_snap_u64(w, v);
        }
    }
}

/* ---- save ----------------------------------------------------------------- */

static uint32_t msg_count(const pk_msg *m) {
    uint32_t n = 0;
    for (; m; m = m->next) n++;
    return n;
}

/* The queue of object ob: channel messages, socket segments or port
 * packets (flags: bit 0 bytes stored, bit 1 handles travel with it). */
static void save_msgs(pk_snap_w *w, const pk_obj *ob) {
    pk_snap_u32(w, msg_count(ob->head));
    for (const pk_msg *m = ob->head; m; m = m->next) {
        bool bytes = m->data != NULL, hs = m->handles != NULL;
        pk_snap_u8(w, (uint8_t)(bytes | hs << 1));
        rec_put(w, &MSG_REC, m);
        if (bytes) pk_snap_put(w, m->data, m->nbytes);
        if (hs) recs_put(w, &XFER_REC, m->handles, m->nhandles, sizeof(pk_xfer));
    }
}

static void save_objects(pk_kernel *k, pk_snap_w *w) {
    pk_objects *o = k->objs;
    pk_snap_u32(w, o->arena.count);
    pk_snap_u32(w, o->free_obj);
    for (uint32_t id = 1; id < o->arena.count; id++) {
        const pk_obj *ob = pk_obj_at(k, id);
        pk_snap_u8(w, ob->kind);
        if (!ob->kind) { pk_snap_u32(w, ob->next_free); continue; }
        rec_put(w, &OBJ_REC, ob);
        save_msgs(w, ob);
    }
}

/* The pid owning extension e (exts[e]), found in one pass over processes. */
static uint32_t *ext_owners(pk_kernel *k) {
    uint32_t n = k->objs->next;
    uint32_t *own = calloc(n ? n : 1, sizeof *own);
    if (!own) return NULL;
    for (uint32_t pid = 0; pid < k->procs.count; pid++) {
        uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
        if (e && e < n) own[e] = pid + 1;
    }
    return own;
}

static void save_ext(pk_snap_w *w, const pk_pext *x, uint32_t owner) {
    pk_snap_u32(w, owner);
    rec_put(w, &EXT_HEAD_REC, x);
    recs_put(w, &HENT_REC, x->ents, x->top, sizeof(pk_hent));
    rec_put(w, &EXT_REST_REC, x);
    map_cols fm = { { (void **)&x->fkeys, (void **)&x->fobjs }, { 8, 4 }, 2 };
    map_put(w, x->fcap, x->fn, &fm);              /* futexes: address + 1 -> object */
    pk_snap_u32(w, x->nx);
    for (uint32_t i = 0; i < x->nx; i++) pk_snap_u32(w, x->xtids[i]);
}

static void save_waits(pk_kernel *k, pk_snap_w *w) {
    pk_objects *o = k->objs;
    pk_snap_u32(w, o->nwaits);
    pk_snap_u32(w, o->free_wait);
    recs_put(w, &WAIT_REC, o->waits + 1, o->nwaits - 1, sizeof(pk_wait));   /* record 0: none */
    pk_snap_u32(w, o->nnodes);
    pk_snap_u32(w, o->free_node);
    recs_put(w, &NODE_REC, o->nodes + 1, o->nnodes - 1, sizeof(pk_wnode));
    for (uint32_t id = 1; id < o->arena.count; id++) {   /* queues of waiters, in order */
        const pk_obj *ob = pk_obj_at(k, id);
        if (!ob->kind || !ob->waiters) continue;
        uint32_t n = 0, x = ob->waiters;
        do { n++; x = o->nodes[x - 1].next; } while (x != ob->waiters);
        pk_snap_u32(w, id);
        pk_snap_u32(w, n);
        x = ob->waiters;
        do { pk_snap_u32(w, x - 1); x = o->nodes[x - 1].next; } while (x != ob->waiters);
    }
    pk_snap_u32(w, 0);
}

static void save_rest(pk_kernel *k, pk_snap_w *w) {
    pk_objects *o = k->objs;
    pk_snap_u32(w, o->njobs);
    recs_put(w, &JOB_REC, o->jobs, o->njobs, sizeof(pk_jobrec));
    pk_snap_u8(w, o->pi != NULL);
    if (o->pi) {
        const pk_pi *pi = o->pi;
        pk_snap_u32(w, pi->marked);
        pk_snap_u32(w, pi->nheld);
        for (uint32_t i = 0; i < pi->nheld; i++) pk_snap_u32(w, pi->held[i]);
        pk_snap_u32(w, pi->nboosts);
        recs_put(w, &BOOST_REC, pi->boosts, pi->nboosts, sizeof(pk_piboost));
    }
    map_cols tm = { { (void **)&o->tkeys, (void **)&o->tobjs }, { 4, 4 }, 2 };
    map_put(w, o->tcap, o->tn, &tm);              /* thread objects: tid + 1 -> object */
    pk_vfmap *m = o->vf;
    pk_snap_u8(w, m != NULL);
    if (m) {                                      /* futexes of shared memory: (hi, lo) -> object */
        map_cols vm = { { (void **)&m->hi, (void **)&m->lo, (void **)&m->objs }, { 8, 8, 4 }, 3 };
        map_put(w, m->cap, m->n, &vm);
    }
}

/* Write the kernel-object section (a present flag, then, if k->objs
 * exists, all of it).  BAD_STATE if an object awaits destruction (never
 * between API calls). */
int pk_obj_snap_save(pk_kernel *k, pk_snap_w *w) {
    pk_snap_u32(w, OBJ_SNAP_VERSION);
    pk_objects *o = k->objs;
    pk_snap_u8(w, o != NULL);
    if (!o) return w->err;
    if (o->ndead) return PK_ERR_BAD_STATE;
    uint32_t *own = ext_owners(k);
    if (!own) return PK_ERR_NO_MEMORY;
    pk_snap_u64(w, o->koid);
    pk_snap_u32(w, o->txid);
    pk_snap_u32(w, o->wait_seq);
    pk_snap_u64(w, o->msgs_allocated);
    uint64_t st[6] = { o->st.objects, o->st.handles, o->st.messages, o->st.waiting, o->st.written,
                       o->st.read };
    pk_snap_u64s(w, st, 6);
    save_objects(k, w);
    pk_snap_u32(w, o->next);
    for (uint32_t e = 1; e < o->next; e++) save_ext(w, &o->ext[e], own[e]);
    free(own);
    save_waits(k, w);
    save_rest(k, w);
    return w->err;
}

/* ---- load ----------------------------------------------------------------- */

/* Bookkeeping of one load: marks and recomputed counts, freed at the end. */
typedef struct ld {
    pk_kernel  *k;
    pk_snap_r  *r;
    uint32_t   *refs;             /* per object: references found            */
    uint8_t    *wmark, *nmark;    /* per wait record / node: 1 free, 2 in use, 3 linked */
} ld;

static int bad(ld *L) { pk_snap_bad(L->r); return PK_ERR_INVALID_ARGS; }

static bool obj_live(pk_kernel *k, uint32_t id) {
    return id && id < k->objs->arena.count && pk_obj_at(k, id)->kind;
}

static bool msg_kind(uint8_t kind) {
    return kind == PK_OBJ_CHANNEL || kind == PK_OBJ_SOCKET || kind == PK_OBJ_PORT;
}

/* Read one message of object ob (kind) and append it to ob's queue. */
static int load_msg(ld *L, pk_obj *ob) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    uint8_t flags = pk_snap_get_u8(r);
    pk_msg hd;
    rec_get(r, &MSG_REC, &hd);
    uint32_t nbytes = hd.nbytes, nh = hd.nhandles, txid = hd.txid, pad = hd.pad;
    if (r->err || flags > 3) return bad(L);
    bool bytes = flags & 1, hs = flags & 2;
    if (ob->kind == PK_OBJ_PORT && (bytes || hs)) return bad(L);
    if (ob->kind == PK_OBJ_SOCKET && (hs || nh || txid || !nbytes || nbytes > PK_SOCKET_MAX_CAPACITY
                                      || pad >= nbytes || (pad && ob->head))) return bad(L);
    if (ob->kind == PK_OBJ_CHANNEL && (nbytes > PK_CHAN_MAX_BYTES || nh > PK_CHAN_MAX_HANDLES
                                       || hs != (nh != 0) || pad)) return bad(L);
    if (bytes && (!nbytes || !pk_snap_count_ok(r, nbytes, 1))) return bad(L);
    if (hs && !pk_snap_count_ok(r, nh, 8)) return bad(L);
    pk_msg *m = pk_alloc(k, sizeof *m);
    if (!m) return PK_ERR_NO_MEMORY;
    m->nbytes = nbytes; m->nhandles = nh; m->txid = txid; m->pad = pad;
    if (ob->tail) ob->tail->next = m; else ob->head = m;    /* owned by ob from here on */
    ob->tail = m;
    if (bytes) {
        if (!(m->data = pk_alloc(k, nbytes))) { m->nbytes = 0; return PK_ERR_NO_MEMORY; }
        pk_snap_get(r, m->data, nbytes);
    }
    if (hs) {
        if (!(m->handles = pk_alloc(k, nh * sizeof(pk_xfer)))) { m->nhandles = 0; return PK_ERR_NO_MEMORY; }
        recs_get(r, &XFER_REC, m->handles, nh, sizeof(pk_xfer));
    }
    return r->err ? bad(L) : PK_OK;
}

/* The object arena: live objects with their queues, free slots with
 * their free-list links (checked later). */
static int load_objects(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint32_t count = pk_snap_get_u32(r);
    o->free_obj = pk_snap_get_u32(r);
    if (r->err || count < 1 || !pk_snap_count_ok(r, count - 1, 5)) return bad(L);
    if (count > 1 && pk_arena_grow(k, &o->arena, count - 1) < 0) return PK_ERR_NO_MEMORY;
    for (uint32_t id = 1; id < count; id++) {
        pk_obj *ob = pk_obj_at(k, id);
        ob->kind = pk_snap_get_u8(r);
        if (ob->kind > PK_OBJ_KIND_MAX) return bad(L);
        if (!ob->kind) { ob->next_free = pk_snap_get_u32(r); continue; }
        rec_get(r, &OBJ_REC, ob);
        uint32_t nm = pk_snap_get_u32(r);
        if (r->err || !pk_snap_count_ok(r, nm, 17)) return bad(L);
        if (nm && !msg_kind(ob->kind)) return bad(L);
        for (uint32_t i = 0; i < nm; i++) {
            int s = load_msg(L, ob);
            if (s) return s;
        }
    }
    return r->err ? bad(L) : PK_OK;
}

/* An open-addressing map entry position: in range and still empty. */
static bool pos_ok(uint32_t j, uint32_t cap, bool taken) { return j < cap && !taken; }

/* A map's capacity: a power of two at least 16, at most half full, and no
 * larger than growth from `most` entries can have made it (a map doubles
 * when half full, so it holds more than a quarter of the most it ever
 * held): a crafted capacity cannot make the loader allocate without bound. */
static bool map_cap_ok(uint32_t cap, uint32_t n, uint64_t most) {
    return (cap == 0 && n == 0)
        || (cap >= 16 && (cap & (cap - 1)) == 0 && 2 * (uint64_t)n <= cap && cap <= 4 * most + 16);
}

static void col_set(void *a, uint8_t size, uint32_t j, uint64_t v) {
    if (size == 4) ((uint32_t *)a)[j] = (uint32_t)v; else ((uint64_t *)a)[j] = v;
}

#define OWN_COUNT UINT64_MAX     /* map_get: bound the capacity by the map's own count */

/* Read a map written by map_put into the columns of m, allocated here:
 * its capacity checked by map_cap_ok against `most` entries (OWN_COUNT:
 * its count), each entry at an empty position with a key, and its values
 * (v[c]: column c) by accept, which may also count the references they
 * hold.  *cap and *n are set as the map is filled. */
static int map_get(ld *L, const map_cols *m, uint32_t *capp, uint32_t *np, uint64_t most,
                   bool (*accept)(ld *L, const uint64_t *v)) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    uint32_t cap = pk_snap_get_u32(r), n = pk_snap_get_u32(r);
    size_t entry = 4;
    for (unsigned c = 0; c < m->n; c++) entry += m->size[c];
    if (r->err || !map_cap_ok(cap, n, most == OWN_COUNT ? n : most) || !pk_snap_count_ok(r, n, entry))
        return bad(L);
    if (cap) {
        bool ok = true;
        for (unsigned c = 0; c < m->n; c++)
            ok &= (*m->col[c] = pk_alloc(k, (size_t)cap * m->size[c])) != NULL;
        if (!ok) {
            for (unsigned c = 0; c < m->n; c++) {
                pk_free(k, *m->col[c], (size_t)cap * m->size[c]);
                *m->col[c] = NULL;
            }
            return PK_ERR_NO_MEMORY;
        }
        *capp = cap;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t j = pk_snap_get_u32(r);
        uint64_t v[MAP_COLS];
        for (unsigned c = 0; c < m->n; c++)
            v[c] = m->size[c] == 4 ? pk_snap_get_u32(r) : pk_snap_get_u64(r);
        if (r->err || !pos_ok(j, cap, j < cap && col_at(*m->col[0], m->size[0], j)) || !v[0])
            return bad(L);
        if (!accept(L, v)) return bad(L);
        for (unsigned c = 0; c < m->n; c++) col_set(*m->col[c], m->size[c], j, v[c]);
    }
    *np = n;
    return PK_OK;
}

/* a futex map's object: a live futex, which the map holds a reference to */
static bool futex_ref(ld *L, uint32_t f) {
    if (!obj_live(L->k, f) || pk_obj_at(L->k, f)->kind != PK_OBJ_FUTEX) return false;
    L->refs[f]++;
    return true;
}
static bool proc_futex_ok(ld *L, const uint64_t *v) { return futex_ref(L, (uint32_t)v[1]); }
static bool shared_futex_ok(ld *L, const uint64_t *v) { return futex_ref(L, (uint32_t)v[2]); }

/* a thread object of the map: key tid + 1, its object names that thread */
static bool thread_obj_ok(ld *L, const uint64_t *v) {
    pk_kernel *k = L->k;
    uint32_t obj = (uint32_t)v[1];
    return v[0] - 1 < k->threads.count && obj_live(k, obj) && pk_obj_at(k, obj)->kind == PK_OBJ_THREAD
           && pk_obj_at(k, obj)->target == v[0] - 1;
}

/* One process extension: its handle table, credentials, futex map and
 * extra threads. */
static int load_ext(ld *L, uint32_t e, uint32_t *owner) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_pext *x = &k->objs->ext[e];
    *owner = pk_snap_get_u32(r);
    pk_pext hd;
    rec_get(r, &EXT_HEAD_REC, &hd);
    uint32_t cap = hd.cap, top = hd.top;
    x->count = hd.count;
    x->hint = hd.hint;
    if (r->err || *owner == 0 || *owner > k->procs.count) return bad(L);
    /* a table doubles when full, so it is at most twice its highest slot */
    if (cap % 64 || cap > PK_HANDLE_SLOTS || top > cap || x->hint > cap / 64
        || cap > 2 * (uint64_t)top + 64) return bad(L);
    if (!pk_snap_count_ok(r, top, rec_bytes(&HENT_REC))) return bad(L);
    if (cap) {
        size_t bytes = (size_t)cap * sizeof(pk_hent) + (size_t)(cap / 64) * sizeof(uint64_t);
        char *b = pk_alloc(k, bytes);
        if (!b) return PK_ERR_NO_MEMORY;
        x->ents = (pk_hent *)b;
        x->used = (uint64_t *)(b + (size_t)cap * sizeof(pk_hent));
        x->cap = cap;
    }
    x->top = top;
    uint32_t used = 0;
    for (uint32_t s = 0; s < top; s++) {
        pk_hent *h = &x->ents[s];
        rec_get(r, &HENT_REC, h);
        if (!h->obj) continue;
        if (!obj_live(k, h->obj)) return bad(L);
        L->refs[h->obj]++;
        x->used[s >> 6] |= 1ull << (s & 63);
        used++;
    }
    if (used != x->count || (top && !x->ents[top - 1].obj && !x->ents[top - 1].gen)) return bad(L);
    rec_get(r, &EXT_REST_REC, x);
    if (r->err || x->fdom > k->procs.count || x->fdom == *owner) return bad(L);
    map_cols fm = { { (void **)&x->fkeys, (void **)&x->fobjs }, { 8, 4 }, 2 };
    int s = map_get(L, &fm, &x->fcap, &x->fn, OWN_COUNT, proc_futex_ok);
    if (s) return s;
    uint32_t nx = pk_snap_get_u32(r);
    if (r->err || !pk_snap_count_ok(r, nx, 4)) return bad(L);
    if (nx) {
        if (!(x->xtids = pk_alloc(k, nx * sizeof(uint32_t)))) return PK_ERR_NO_MEMORY;
        x->xcap = nx;
    }
    for (uint32_t i = 0; i < nx; i++) {
        x->xtids[i] = pk_snap_get_u32(r);
        if (x->xtids[i] >= k->threads.count || pk_thread_at(k, x->xtids[i])->pid != *owner - 1)
            return bad(L);
    }
    x->nx = nx;
    return r->err ? bad(L) : PK_OK;
}

static int load_exts(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint32_t next = pk_snap_get_u32(r);
    if (r->err || next < 1 || next - 1 > PK_PROC_EXT_MAX || next - 1 > k->procs.count
        || !pk_snap_count_ok(r, next - 1, 48)) return bad(L);
    if (pk_vec_grow(k, (void **)&o->ext, &o->next_cap, next, sizeof(pk_pext))) return PK_ERR_NO_MEMORY;
    memset(o->ext, 0, (size_t)o->next_cap * sizeof(pk_pext));
    for (uint32_t e = 1; e < next; e++) {
        uint32_t owner = 0;
        o->next = e + 1;                           /* fini frees what load_ext allocated */
        int s = load_ext(L, e, &owner);
        if (s) return s;
        pk_proc *p = pk_proc_at(k, owner - 1);
        if (pk_proc_ext(p)) return bad(L);           /* one extension per process */
        pk_proc_set_ext(p, e);
    }
    o->next = next;
    return PK_OK;
}

/* Cross-checks of extensions once all are in: self objects, futex
 * domains, jobs. */
static int check_exts(ld *L) {
    pk_kernel *k = L->k;
    pk_objects *o = k->objs;
    for (uint32_t pid = 0; pid < k->procs.count; pid++) {
        uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
        if (!e) continue;
        const pk_pext *x = &o->ext[e];
        if (x->self_obj && (!obj_live(k, x->self_obj) || pk_obj_at(k, x->self_obj)->kind != PK_OBJ_PROCESS
                            || pk_obj_at(k, x->self_obj)->target != pid)) return bad(L);
        if (x->fdom) {
            uint32_t de = pk_proc_ext(pk_proc_at(k, x->fdom - 1));
            if (!de || o->ext[de].fdom) return bad(L);   /* a domain is never itself a sharer */
        }
        if (x->job > o->njobs) return bad(L);
    }
    return PK_OK;
}

static int load_waits(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint32_t nw = pk_snap_get_u32(r);
    uint32_t free_wait = pk_snap_get_u32(r);
    if (r->err || nw < 1 || !pk_snap_count_ok(r, nw - 1, rec_bytes(&WAIT_REC))) return bad(L);
    if (pk_vec_grow(k, (void **)&o->waits, &o->waits_cap, nw, sizeof(pk_wait))) return PK_ERR_NO_MEMORY;
    recs_get(r, &WAIT_REC, o->waits + 1, nw - 1, sizeof(pk_wait));
    o->nwaits = nw;
    o->free_wait = free_wait;
    uint32_t nn = pk_snap_get_u32(r);
    uint32_t free_node = pk_snap_get_u32(r);
    if (r->err || nn < 1 || !pk_snap_count_ok(r, nn - 1, rec_bytes(&NODE_REC))) return bad(L);
    if (pk_vec_grow(k, (void **)&o->nodes, &o->nodes_cap, nn, sizeof(pk_wnode))) return PK_ERR_NO_MEMORY;
    recs_get(r, &NODE_REC, o->nodes + 1, nn - 1, sizeof(pk_wnode));
    o->nnodes = nn;
    o->free_node = free_node;
    return r->err ? bad(L) : PK_OK;
}

/* Free lists of wait records and nodes, then every record in use: its
 * chain of nodes, its thread or port. */
static int check_waits(ld *L) {
    pk_kernel *k = L->k;
    pk_objects *o = k->objs;
    L->wmark = calloc(o->nwaits, 1);
    L->nmark = calloc(o->nnodes, 1);
    if (!L->wmark || !L->nmark) return PK_ERR_NO_MEMORY;
    for (uint32_t w = o->free_wait; w; w = o->waits[w].next_free) {
        if (w >= o->nwaits || L->wmark[w]) return bad(L);
        L->wmark[w] = 1;
    }
    for (uint32_t x = o->free_node; x; x = o->nodes[x].sib - 1) {
        if (x >= o->nnodes || L->nmark[x]) return bad(L);
        L->nmark[x] = 1;
        if (!o->nodes[x].sib) return bad(L);
    }
    uint64_t waiting = 0;
    for (uint32_t w = 1; w < o->nwaits; w++) {
        if (L->wmark[w]) continue;
        pk_wait *wr = &o->waits[w];
        if (wr->linked > 1 || wr->done > 1 || (wr->linked && wr->done)) return bad(L);
        if (wr->pid >= k->procs.count || !wr->n || wr->n > PK_WAIT_MANY_MAX) return bad(L);
        uint32_t n = 0;
        for (uint32_t x = wr->first; x; x = o->nodes[x - 1].sib) {
            if (x - 1 >= o->nnodes || x == 1 || L->nmark[x - 1] || ++n > wr->n) return bad(L);
            L->nmark[x - 1] = 2;
            const pk_wnode *nd = &o->nodes[x - 1];
            if (nd->wait != w || !obj_live(k, nd->obj)) return bad(L);
        }
        if (n != wr->n) return bad(L);
        if (wr->port) {                            /* asynchronous: linked, one node */
            if (!obj_live(k, wr->port) || pk_obj_at(k, wr->port)->kind != PK_OBJ_PORT
                || wr->tid != 0xffffffffu || !wr->linked || wr->n != 1) return bad(L);
            L->refs[wr->port]++;
        } else {
            if (wr->tid >= k->threads.count || pk_thread_at(k, wr->tid)->pid != wr->pid) return bad(L);
            const pk_thread *t = pk_thread_at(k, wr->tid);
            if (!pk_thread_has_wait_reg(t)) return bad(L);   /* e.g. machine code */
            if (t->regs.x[PK_REG_WAIT] != w + 1) {
                bool on_cpu = false;            /* its live registers may be a CPU's */
                for (uint32_t c = 0; c < k->ncpus; c++)
                    on_cpu |= k->cpus[c].curr == t && k->cpus[c].regs.x[PK_REG_WAIT] == w + 1;
                if (!on_cpu) return bad(L);
            }
            if (wr->linked && t->state != PK_TS_WAITING) return bad(L);
            waiting += wr->linked;
        }
    }
    for (uint32_t x = 1; x < o->nnodes; x++) if (!L->nmark[x]) return bad(L);   /* leaked node */
    if (waiting != o->st.waiting) return bad(L);
    return PK_OK;
}

/* A thread's wait register: 0, or a record in use that names it. */
static bool wait_reg_ok(ld *L, uint32_t tid, uint64_t v) {
    pk_objects *o = L->k->objs;
    if (!v) return true;
    if (!o || v - 1 >= o->nwaits || v == 1) return false;
    uint32_t w = (uint32_t)(v - 1);
    return L->wmark[w] != 1 && !o->waits[w].port && o->waits[w].tid == tid;
}

static int check_thread_regs(ld *L) {
    pk_kernel *k = L->k;
    for (uint32_t tid = 0; tid < k->threads.count; tid++) {
        const pk_thread *t = pk_thread_at(k, tid);
        if (pk_thread_has_wait_reg(t) && !wait_reg_ok(L, tid, t->regs.x[PK_REG_WAIT])) return bad(L);
    }
    for (uint32_t c = 0; c < k->ncpus; c++) {
        const pk_thread *t = k->cpus[c].curr;
        if (t && pk_thread_has_wait_reg(t) && !wait_reg_ok(L, t->tid, k->cpus[c].regs.x[PK_REG_WAIT]))
            return bad(L);
    }
    return PK_OK;
}

/* Each object's queue of waiters, relinked from the node ids in order;
 * every node of a linked record must be queued exactly once, on its
 * own object. */
static int load_rings(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    for (;;) {
        uint32_t id = pk_snap_get_u32(r);
        if (r->err) return bad(L);
        if (!id) break;
        uint32_t n = pk_snap_get_u32(r);
        if (!obj_live(k, id) || pk_obj_at(k, id)->waiters || !n || !pk_snap_count_ok(r, n, 4))
            return bad(L);
        pk_obj *ob = pk_obj_at(k, id);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t x = pk_snap_get_u32(r);
            if (r->err || x == 0 || x >= o->nnodes || L->nmark[x] != 2) return bad(L);
            pk_wnode *nd = &o->nodes[x];
            if (nd->obj != id || !o->waits[nd->wait].linked) return bad(L);
            L->nmark[x] = 3;
            if (!ob->waiters) { nd->next = nd->prev = x + 1; ob->waiters = x + 1; continue; }
            pk_wnode *head = &o->nodes[ob->waiters - 1];
            nd->next = ob->waiters;
            nd->prev = head->prev;
            o->nodes[head->prev - 1].next = x + 1;
            head->prev = x + 1;
        }
    }
    for (uint32_t x = 1; x < o->nnodes; x++)
        if (L->nmark[x] == 2 && o->waits[o->nodes[x].wait].linked) return bad(L);
    return PK_OK;
}

static int load_jobs(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint32_t nj = pk_snap_get_u32(r);
    if (r->err || !pk_snap_count_ok(r, nj, rec_bytes(&JOB_REC))) return bad(L);
    if (nj) {
        if (!(o->jobs = pk_alloc(k, nj * sizeof(pk_jobrec)))) return PK_ERR_NO_MEMORY;
        o->jobs_cap = nj;
    }
    recs_get(r, &JOB_REC, o->jobs, nj, sizeof(pk_jobrec));
    for (uint32_t i = 0; i < nj; i++) {
        const pk_jobrec *j = &o->jobs[i];
        if (j->parent > i || j->killed > 1) return bad(L);   /* a parent is older than its child */
    }
    o->njobs = nj;
    return r->err ? bad(L) : PK_OK;
}

static int load_pi(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint8_t has = pk_snap_get_u8(r);
    if (r->err || has > 1) return bad(L);
    uint32_t marked = 0;
    for (uint32_t id = 1; id < o->arena.count; id++) {
        const pk_obj *ob = pk_obj_at(k, id);
        if (ob->fflags & ~PK_FUTEX_PI || (ob->fflags && ob->kind != PK_OBJ_FUTEX)) return bad(L);
        marked += ob->fflags != 0;
    }
    if (!has) return marked ? bad(L) : PK_OK;
    if (!(o->pi = pk_alloc(k, sizeof *o->pi))) return PK_ERR_NO_MEMORY;
    pk_pi *pi = o->pi;
    uint32_t m = pk_snap_get_u32(r), nheld = pk_snap_get_u32(r);
    if (r->err || m != marked || nheld > m || !pk_snap_count_ok(r, nheld, 4)) return bad(L);
    uint32_t cap = 8;
    while (cap < m) cap *= 2;
    pi->held = pk_alloc(k, cap * sizeof *pi->held);
    pi->boosts = pk_alloc(k, cap * sizeof *pi->boosts);
    if (!pi->held || !pi->boosts) {
        pk_free(k, pi->held, cap * sizeof *pi->held); pk_free(k, pi->boosts, cap * sizeof *pi->boosts);
        pi->held = NULL; pi->boosts = NULL;
        return PK_ERR_NO_MEMORY;
    }
    pi->cap = cap;
    pi->marked = m;
    for (uint32_t i = 0; i < nheld; i++) {
        uint32_t f = pk_snap_get_u32(r);
        if (!obj_live(k, f) || !(pk_obj_at(k, f)->fflags & PK_FUTEX_PI) || !pk_obj_at(k, f)->target)
            return bad(L);
        for (uint32_t j = 0; j < i; j++) if (pi->held[j] == f) return bad(L);
        pi->held[pi->nheld++] = f;
    }
    uint32_t owned = 0;                            /* every owned PI mutex is held */
    for (uint32_t id = 1; id < o->arena.count; id++)
        owned += (pk_obj_at(k, id)->fflags & PK_FUTEX_PI) && pk_obj_at(k, id)->target;
    if (owned != nheld) return bad(L);
    uint32_t nb = pk_snap_get_u32(r);
    if (r->err || nb > m || !pk_snap_count_ok(r, nb, rec_bytes(&BOOST_REC))) return bad(L);
    recs_get(r, &BOOST_REC, pi->boosts, nb, sizeof(pk_piboost));
    for (uint32_t i = 0; i < nb && !r->err; i++) {
        const pk_piboost *b = &pi->boosts[i];
        if (b->tid >= k->threads.count || b->sclass > PK_CLASS_RR || b->rt_prio > 99) return bad(L);
        for (uint32_t j = 0; j < i; j++) if (pi->boosts[j].tid == b->tid) return bad(L);
        pi->nboosts++;
    }
    return r->err ? bad(L) : PK_OK;
}

static int load_tmap(ld *L) {
    pk_objects *o = L->k->objs;
    map_cols tm = { { (void **)&o->tkeys, (void **)&o->tobjs }, { 4, 4 }, 2 };
    return map_get(L, &tm, &o->tcap, &o->tn, L->k->threads.count, thread_obj_ok);
}

static int load_vf(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    uint8_t has = pk_snap_get_u8(r);
    if (r->err || has > 1 || (has && !k->mem)) return bad(L);
    if (!has) return PK_OK;
    pk_vfmap *m = pk_alloc(k, sizeof *m);
    if (!m) return PK_ERR_NO_MEMORY;
    o->vf = m;
    map_cols vm = { { (void **)&m->hi, (void **)&m->lo, (void **)&m->objs }, { 8, 8, 4 }, 3 };
    return map_get(L, &vm, &m->cap, &m->n, OWN_COUNT, shared_futex_ok);
}

/* The counters the message limits are checked against (pk_chan.c,
 * pk_socket.c, pk_port.c) follow from what is queued, so they are
 * recomputed rather than trusted: bytes in channel messages and socket
 * buffers; packets queued in ports or promised by armed asynchronous
 * waits. */
static void recount_limits(pk_kernel *k) {
    pk_objects *o = k->objs;
    uint64_t qbytes = 0, packets = 0;
    for (uint32_t id = 1; id < o->arena.count; id++) {
        const pk_obj *ob = pk_obj_at(k, id);
        if (ob->kind == PK_OBJ_CHANNEL)
            for (const pk_msg *m = ob->head; m; m = m->next) qbytes += m->nbytes;
        else if (ob->kind == PK_OBJ_SOCKET) qbytes += ob->queued;
        else if (ob->kind == PK_OBJ_PORT) packets += ob->queued;
    }
    for (uint32_t w = 0; w < o->nwaits; w++)
        if (o->waits[w].port && o->waits[w].linked) packets++;
    o->qbytes = qbytes;
    o->packets = packets;
}

/* Per object: the free list covers exactly the free slots; each live
 * object's references, peer, target and queue agree with the rest. */
static int check_objects(ld *L) {
    pk_kernel *k = L->k;
    pk_objects *o = k->objs;
    uint32_t count = o->arena.count;
    uint8_t *freed = calloc(count, 1);
    if (!freed) return PK_ERR_NO_MEMORY;
    int s = PK_OK;
    for (uint32_t id = o->free_obj; id; id = pk_obj_at(k, id)->next_free) {
        if (id >= count || freed[id] || pk_obj_at(k, id)->kind) { s = bad(L); break; }
        freed[id] = 1;
    }
    uint64_t live = 0, msgs = 0;
    for (uint32_t id = 1; id < count && !s; id++) {
        pk_obj *ob = pk_obj_at(k, id);
        if (!ob->kind) { if (!freed[id]) s = bad(L); continue; }
        live++;
        for (pk_msg *m = ob->head; m && !s; m = m->next)     /* handles in flight */
            for (uint32_t i = 0; m->handles && i < m->nhandles; i++) {
                if (!obj_live(k, m->handles[i].obj)) { s = bad(L); break; }
                L->refs[m->handles[i].obj]++;
            }
        if (ob->kind == PK_OBJ_CHANNEL) msgs += ob->queued;
    }
    for (uint32_t id = 1; id < count && !s; id++) {
        pk_obj *ob = pk_obj_at(k, id);
        if (!ob->kind) continue;
        uint64_t nm = msg_count(ob->head), bytes = 0;
        for (const pk_msg *m = ob->head; m; m = m->next) bytes += m->nbytes - m->pad;
        bool paired = ob->kind == PK_OBJ_CHANNEL || ob->kind == PK_OBJ_EVENTPAIR || ob->kind == PK_OBJ_SOCKET;
        bool by_fd = ob->kind == PK_OBJ_SOCKET && (ob->pad[0] & PK_SOCK_FD);   /* pk_fd_snap_load checks */
        if (by_fd ? ob->refs != 1 || L->refs[id] : ob->refs != L->refs[id] || !ob->refs) s = bad(L);
        else if (ob->peer && (!paired || !obj_live(k, ob->peer) || ob->peer == id
                              || pk_obj_at(k, ob->peer)->peer != id
                              || pk_obj_at(k, ob->peer)->kind != ob->kind)) s = bad(L);
        else if ((ob->kind == PK_OBJ_CHANNEL || ob->kind == PK_OBJ_PORT) && ob->queued != nm) s = bad(L);
        else if (ob->kind == PK_OBJ_SOCKET && (ob->queued != bytes || ob->queued > ob->target
                 || ob->target == 0 || ob->target > PK_SOCKET_MAX_CAPACITY
                 || (ob->pad[0] & ~(PK_SOCK_PIPE | PK_SOCK_FD)) > PK_SOCKET_DATAGRAM
                 || ((ob->pad[0] & PK_SOCK_FD) && !(ob->pad[0] & PK_SOCK_PIPE))
                 || ob->pad[0] == (PK_SOCK_PIPE | PK_SOCKET_DATAGRAM))) s = bad(L);
        else if (ob->kind == PK_OBJ_PROCESS && (ob->target >= k->procs.count
                 || !pk_proc_ext(pk_proc_at(k, ob->target))
                 || o->ext[pk_proc_ext(pk_proc_at(k, ob->target))].self_obj != id)) s = bad(L);
        else if (ob->kind == PK_OBJ_THREAD && ob->target >= k->threads.count) s = bad(L);
        else if (ob->kind == PK_OBJ_FUTEX && ob->target > k->threads.count) s = bad(L);
    }
    if (!s && (live != o->st.objects || msgs != o->st.messages)) s = bad(L);
    free(freed);
    if (!s) recount_limits(k);
    return s;
}

/* The handles counted in tables must be the sum of every table's. */
static int check_counts(ld *L) {
    pk_objects *o = L->k->objs;
    uint64_t handles = 0;
    for (uint32_t e = 1; e < o->next; e++) handles += o->ext[e].count;
    return handles == o->st.handles ? PK_OK : bad(L);
}

static int load_body(ld *L) {
    pk_kernel *k = L->k;
    pk_snap_r *r = L->r;
    pk_objects *o = k->objs;
    o->koid = pk_snap_get_u64(r);
    o->txid = pk_snap_get_u32(r);
    o->wait_seq = pk_snap_get_u32(r);
    o->msgs_allocated = pk_snap_get_u64(r);
    uint64_t st[6];
    pk_snap_get_u64s(r, st, 6);
    o->st = (pk_obj_stats){ st[0], st[1], st[2], st[3], st[4], st[5] };
    if (r->err || o->txid >= 0x80000000u) return bad(L);
    int s = load_objects(L);
    if (s) return s;
    if (!(L->refs = calloc(o->arena.count, sizeof *L->refs))) return PK_ERR_NO_MEMORY;
    if ((s = load_exts(L)) || (s = load_waits(L)) || (s = check_waits(L)) || (s = check_thread_regs(L))
        || (s = load_rings(L)) || (s = load_jobs(L)) || (s = check_exts(L)) || (s = load_pi(L))
        || (s = load_tmap(L)) || (s = load_vf(L)) || (s = check_objects(L)) || (s = check_counts(L)))
        return s;
    return PK_OK;
}

/* Read the kernel-object section into kernel k, whose threads and
 * processes the core section has recreated.  0, INVALID_ARGS for a
 * malformed or inconsistent section, NO_MEMORY. */
int pk_obj_snap_load(pk_kernel *k, pk_snap_r *r) {
    uint32_t version = pk_snap_get_u32(r);
    uint8_t present = pk_snap_get_u8(r);
    if (r->err || version != OBJ_SNAP_VERSION || present > 1) { pk_snap_bad(r); return PK_ERR_INVALID_ARGS; }
    pk_objects_fini(k);                            /* a fresh kernel: nothing to keep */
    for (uint32_t pid = 0; pid < k->procs.count; pid++) pk_proc_set_ext(pk_proc_at(k, pid), 0);
    ld L = { k, r, NULL, NULL, NULL };
    if (!present) {
        int s = check_thread_regs(&L);             /* no records: every register is 0 */
        return s;
    }
    int s = pk_objects_init(k);
    if (!s) s = load_body(&L);
    free(L.refs);
    free(L.wmark);
    free(L.nmark);
    if (s && !r->err && s == PK_ERR_INVALID_ARGS) pk_snap_bad(r);
    return s;
}

/* The core's events are back: the deadline events among them are what
 * k->objs counts (pk_wait.c keeps the count to reserve room for more). */
void pk_obj_snap_events_loaded(pk_kernel *k) {
    if (!k->objs) return;
    uint64_t n = 0;
    for (uint32_t i = 0; i < k->evq.n; i++) n += pk_event_kind(&k->evq.heap[i]) == PK_EV_WAIT_DEADLINE;
    k->objs->deadlines = n;
}
