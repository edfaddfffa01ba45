/* pk_obj.c - kernel objects and handle tables (docs/objects.md).
 *
 * Objects live in a chunked arena named by id (id 0 is never used) and
 * count their references: handles in tables and handles in flight inside
 * channel messages.  When the last reference goes the object is queued
 * on a dead list and destroyed by pk_obj_reap (pk_obj_reap_dead), so that destroying one
 * object (a channel whose queued messages carry handles) never recurses.
 *
 * Handle tables belong to process extensions (pk_pext), allocated the
 * first time a process holds a handle.  A handle value is
 * (generation << 20) | (slot + 1): the slot's generation changes when it
 * is freed, so a stale value is BAD_HANDLE.  New handles take the lowest
 * free slot, like POSIX file descriptors, which lets scripts name the
 * handles they were spawned with by position. */
#include <string.h>
#include "pk_core.h"

#define SLOT_BITS 20
#define GEN_MASK  0x7ffu

static inline uint32_t hval(uint32_t slot, uint32_t gen) {
    return ((gen & GEN_MASK) << SLOT_BITS) | (slot + 1);
}


/* Set up k->objs if it is not yet; NO_MEMORY if the host refuses. */
int pk_objects_init(pk_kernel *k) {
    if (k->objs) return PK_OK;
    pk_objects *o = pk_alloc(k, sizeof *o);
    if (!o) return PK_ERR_NO_MEMORY;
    pk_arena_init(&o->arena, sizeof(pk_obj));
    if (pk_arena_grow(k, &o->arena, 1) < 0) { pk_free(k, o, sizeof *o); return PK_ERR_NO_MEMORY; }
    o->next = o->nnodes = o->nwaits = 1;          /* index 0 of each is unused */
    k->objs = o;
    return PK_OK;
}

static size_t table_bytes(uint32_t cap);

static void msgs_free(pk_kernel *k, pk_msg *m) {
    while (m) {
        pk_msg *n = m->next;
        pk_free(k, m->data, m->nbytes);
        pk_free(k, m->handles, m->nhandles * sizeof(pk_xfer));
        pk_free(k, m, sizeof *m);
        m = n;
    }
}

/* Free everything of the kernel-object subsystem (kernel teardown). */
void pk_objects_fini(pk_kernel *k) {
    pk_objects *o = k->objs;
    if (!o) return;
    for (uint32_t i = 1; i < o->arena.count; i++) msgs_free(k, pk_obj_at(k, i)->head);
    msgs_free(k, o->free_msgs);
    for (uint32_t i = 1; i < o->next; i++) {
        pk_pext *x = &o->ext[i];
        pk_free(k, x->ents, table_bytes(x->cap));
        pk_free(k, x->xtids, x->xcap * sizeof(uint32_t));
        pk_free(k, x->fkeys, x->fcap * sizeof(uint64_t));
        pk_free(k, x->fobjs, x->fcap * sizeof(uint32_t));
    }
    pk_free(k, o->ext, o->next_cap * sizeof(pk_pext));
    pk_free(k, o->nodes, o->nodes_cap * sizeof(pk_wnode));
    pk_free(k, o->waits, o->waits_cap * sizeof(pk_wait));
    pk_free(k, o->dead, o->dead_cap * sizeof(uint32_t));
    pk_free(k, o->jobs, o->jobs_cap * sizeof(pk_jobrec));
    pk_free(k, o->tkeys, o->tcap * sizeof(uint32_t));
    pk_free(k, o->tobjs, o->tcap * sizeof(uint32_t));
    pk_vfutex_fini(k);
    if (o->pi) {
        pk_free(k, o->pi->held, o->pi->cap * sizeof(uint32_t));
        pk_free(k, o->pi->boosts, o->pi->cap * sizeof(pk_piboost));
        pk_free(k, o->pi, sizeof *o->pi);
    }
    pk_arena_fini(k, &o->arena);
    pk_free(k, o, sizeof *o);
    k->objs = NULL;
}

/* A new object of `kind` with no references and no signals: its id, or
 * -1 if memory ran out. */
int64_t pk_obj_new(pk_kernel *k, uint8_t kind) {
    pk_objects *o = k->objs;
    uint32_t id = o->free_obj;
    if (id) {
        o->free_obj = pk_obj_at(k, id)->next_free;
    } else {
        int64_t i = pk_arena_grow(k, &o->arena, 1);
        if (i < 0) return -1;
        id = (uint32_t)i;
    }
    pk_obj *ob = pk_obj_at(k, id);
    memset(ob, 0, sizeof *ob);
    ob->kind = kind;
    ob->koid = ++o->koid;
    o->st.objects++;
    return id;
}

/* Drop one reference to object id; at zero it is queued for destruction
 * (pk_obj_reap runs it).  If the dead list cannot grow, the object is
 * destroyed at once. */
void pk_obj_unref(pk_kernel *k, uint32_t id) {
    pk_obj *ob = pk_obj_at(k, id);
    if (--ob->refs) return;
    pk_objects *o = k->objs;
    if (pk_vec_grow(k, (void **)&o->dead, &o->dead_cap, o->ndead + 1, sizeof(uint32_t))) {
        k->broken = PK_ERR_NO_MEMORY;
        return;
    }
    o->dead[o->ndead++] = id;
}

/* Destroy every object whose last reference went, including those that
 * die because of it: its peer learns PEER_CLOSED, its queued messages
 * and the handles inside them are discarded. */
void pk_obj_reap_dead(pk_kernel *k) {
    pk_objects *o = k->objs;
    while (o->ndead) {
        uint32_t id = o->dead[--o->ndead];
        pk_obj *ob = pk_obj_at(k, id);
        if (ob->kind == PK_OBJ_PROCESS) o->ext[pk_proc_ext(pk_proc_at(k, ob->target))].self_obj = 0;
        if (ob->fflags & PK_FUTEX_PI) pk_pi_forget(k, id);
        if (ob->kind == PK_OBJ_THREAD) pk_thread_obj_forget(k, ob->target);
        if (ob->peer) {
            pk_obj *peer = pk_obj_at(k, ob->peer);
            peer->peer = 0;
            pk_obj_signal_change(k, ob->peer, PK_SIG_WRITABLE, PK_SIG_PEER_CLOSED);
        }
        if (ob->kind == PK_OBJ_CHANNEL) pk_chan_destroy(k, ob, id);
        if (ob->kind == PK_OBJ_SOCKET) pk_socket_destroy(k, ob);
        if (ob->kind == PK_OBJ_PORT) pk_port_destroy(k, ob);
        ob->kind = 0;
        ob->next_free = o->free_obj;
        o->free_obj = id;
        o->st.objects--;
    }
}

/* ---- process extensions and handle tables ------------------------------- */

/* Is pid a process that may act (exists and has not ended)? */
int pk_caller_ok(pk_kernel *k, uint32_t pid) {
    if (!k || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    uint8_t st = pk_proc_at(k, pid)->state;
    if (st == PK_PS_EXITED || st == PK_PS_KILLED) return PK_ERR_BAD_STATE;
    return PK_OK;
}

/* pid's extension; with create, made (with k->objs) if missing.  NULL if
 * it has none (or memory ran out). */
pk_pext *pk_pext_of(pk_kernel *k, uint32_t pid, bool create) {
    pk_proc *p = pk_proc_at(k, pid);
    if (pk_proc_ext(p)) return &k->objs->ext[pk_proc_ext(p)];
    if (!create || pk_objects_init(k)) return NULL;
    pk_objects *o = k->objs;
    if (o->next > PK_PROC_EXT_MAX) return NULL;
    if (pk_vec_grow(k, (void **)&o->ext, &o->next_cap, o->next + 1, sizeof(pk_pext))) return NULL;
    pk_proc_set_ext(p, o->next++);
    return &o->ext[pk_proc_ext(p)];
}

/* Bytes of a table block of cap slots: the entries, then the bitmap of
 * used slots (cap is a multiple of 64). */
static size_t table_bytes(uint32_t cap) {
    return (size_t)cap * sizeof(pk_hent) + (size_t)(cap / 64) * sizeof(uint64_t);
}

/* Double x's table (one block: entries, then the used bitmap); -1 if
 * memory ran out or it is at its limit. */
static int table_grow(pk_kernel *k, pk_pext *x) {
    if (x->cap >= PK_HANDLE_SLOTS) return pk_nomem_note(k, PK_NOMEM_HANDLE_TABLE, 0), -1;
    uint32_t cap = x->cap ? x->cap * 2 : 64;
    if (cap > PK_HANDLE_SLOTS) cap = PK_HANDLE_SLOTS;
    char *b = pk_realloc(k, x->ents, table_bytes(x->cap), table_bytes(cap));
    if (!b) return -1;
    uint64_t *used = (uint64_t *)(b + (size_t)cap * sizeof(pk_hent));
    memmove(used, b + (size_t)x->cap * sizeof(pk_hent), (x->cap / 64) * sizeof(uint64_t));
    memset((char *)used + (x->cap / 64) * sizeof(uint64_t), 0, ((cap - x->cap) / 64) * sizeof(uint64_t));
    memset(b + (size_t)x->cap * sizeof(pk_hent), 0, (size_t)(cap - x->cap) * sizeof(pk_hent));
    x->ents = (pk_hent *)b;
    x->used = used;
    x->cap = cap;
    return 0;
}

/* The lowest free slot of x, the table grown if needed; -1: no memory or
 * the table is full. */
static int64_t slot_alloc(pk_kernel *k, pk_pext *x) {
    uint32_t words = x->cap / 64;
    for (uint32_t w = x->hint; w < words; w++) {
        uint64_t freebits = ~x->used[w];
        if (!freebits) continue;
        x->hint = w;
        return w * 64 + (uint32_t)__builtin_ctzll(freebits);
    }
    uint32_t s = x->cap;
    if (table_grow(k, x)) return -1;
    x->hint = s / 64;
    return s;
}

/* Put a handle to obj with `rights` in table x (taking a reference is the
 * caller's business); *out = its value.  NO_MEMORY if it cannot. */
int pk_handle_add(pk_kernel *k, pk_pext *x, uint32_t obj, uint32_t rights, uint32_t *out) {
    if (PK_UNLIKELY(pk_limit_over(k->objs->st.handles, 1, k->cfg.max_handles)))
        return pk_limit_hit(k, PK_LIMIT_HANDLES);
    if (x->job && pk_jobobj_handle_charge(k, x)) return PK_ERR_NO_MEMORY;
    int64_t s = slot_alloc(k, x);
    if (s < 0) { if (x->job) pk_jobobj_handle_release(k, x); return PK_ERR_NO_MEMORY; }
    pk_hent *e = &x->ents[s];
    e->obj = obj;
    e->rights = rights;
    x->used[s >> 6] |= 1ull << (s & 63);
    if ((uint32_t)s >= x->top) x->top = (uint32_t)s + 1;
    x->count++;
    k->objs->st.handles++;
    *out = hval((uint32_t)s, e->gen);
    return PK_OK;
}

/* The entry handle value h names in pid's table, or BAD_HANDLE. */
int pk_handle_get(pk_kernel *k, uint32_t pid, uint32_t h, pk_hent **out) {
    pk_proc *p = pk_proc_at(k, pid);
    if (!pk_proc_ext(p) || h == 0) return PK_ERR_BAD_HANDLE;
    pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
    uint32_t s = (h & ((1u << SLOT_BITS) - 1)) - 1;
    if (s >= x->top || (h >> SLOT_BITS) != (x->ents[s].gen & GEN_MASK) || !x->ents[s].obj)
        return PK_ERR_BAD_HANDLE;
    *out = &x->ents[s];
    return PK_OK;
}

/* Whether entry e may be used for an operation that needs `rights` on an
 * object of one of `kinds` (0: any kind): the check of every operation
 * through a handle, a wrong type before missing rights (docs/objects.md,
 * "Rights on every operation"). */
int pk_hent_check(pk_kernel *k, const pk_hent *e, uint32_t rights, uint32_t kinds) {
    if (kinds && !(kinds & PK_OBJ_KIND(pk_obj_at(k, e->obj)->kind))) return PK_ERR_WRONG_TYPE;
    return (e->rights & rights) == rights ? PK_OK : PK_ERR_ACCESS_DENIED;
}

/* Handle value h of process pid, for a use pk_hent_check allows. */
int pk_handle_use(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t kinds,
                  pk_hent **out) {
    *out = NULL;
    int s = pk_handle_get(k, pid, h, out);
    return s ? s : pk_hent_check(k, *out, rights, kinds);
}

/* Remove entry e from table x of process pid without touching the
 * object's reference count (the caller moves or drops it); waits made
 * through it are canceled. */
static void slot_free(pk_kernel *k, pk_pext *x, pk_hent *e, uint32_t pid) {
    uint32_t s = (uint32_t)(e - x->ents);
    uint32_t h = hval(s, e->gen);
    uint32_t obj = e->obj;
    e->obj = 0;
    e->gen++;
    x->used[s >> 6] &= ~(1ull << (s & 63));
    if (s / 64 < x->hint) x->hint = s / 64;
    x->count--;
    k->objs->st.handles--;
    if (x->job) pk_jobobj_handle_release(k, x);
    if (pk_obj_at(k, obj)->waiters) pk_wait_cancel_handle(k, obj, pid, h);
}

/* Close entry e: free its slot and drop its reference (reap afterwards). */
void pk_handle_drop(pk_kernel *k, pk_pext *x, pk_hent *e, uint32_t pid) {
    uint32_t obj = e->obj;
    slot_free(k, x, e, pid);
    pk_obj_unref(k, obj);
}

/* ---- entry points --------------------------------------------------------- */

int pk_handle_close(pk_kernel *k, uint32_t pid, uint32_t h) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (h == PK_HANDLE_INVALID) return PK_OK;             /* closing 0 is OK */
    pk_hent *e;
    if ((s = pk_handle_get(k, pid, h, &e))) return s;
    pk_handle_drop(k, pk_pext_of(k, pid, false), e, pid);
    pk_obj_reap(k);
    return PK_OK;
}

/* rights for a copy of e: SAME_RIGHTS or a subset of e's */
static int derived_rights(const pk_hent *e, uint32_t rights, uint32_t *out) {
    if (rights == PK_RIGHT_SAME_RIGHTS) { *out = e->rights; return PK_OK; }
    if (rights & ~e->rights) return PK_ERR_INVALID_ARGS;  /* cannot add rights */
    *out = rights;
    return PK_OK;
}

int pk_handle_duplicate(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t *out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!out) return PK_ERR_INVALID_ARGS;
    pk_hent *e;
    if ((s = pk_handle_use(k, pid, h, PK_RIGHT_DUPLICATE, 0, &e))) return s;
    uint32_t r;
    if ((s = derived_rights(e, rights, &r))) return s;
    uint32_t obj = e->obj;
    if ((s = pk_handle_add(k, pk_pext_of(k, pid, false), obj, r, out))) return s;
    pk_obj_at(k, obj)->refs++;
    return PK_OK;
}

/* Replace invalidates h in every case (Zircon's zx_handle_replace). */
int pk_handle_replace(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t *out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!out) return PK_ERR_INVALID_ARGS;
    pk_hent *e;
    if ((s = pk_handle_get(k, pid, h, &e))) return s;
    pk_pext *x = pk_pext_of(k, pid, false);
    uint32_t r, obj = e->obj;
    s = derived_rights(e, rights, &r);
    slot_free(k, x, e, pid);                      /* the source goes either way */
    if (!s) s = pk_handle_add(k, x, obj, r, out);
    if (s) { pk_obj_unref(k, obj); pk_obj_reap(k); }
    return s;
}

int pk_handle_info_get(pk_kernel *k, uint32_t pid, uint32_t h, pk_handle_info *out) {
    if (!k || !out || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    pk_hent *e;
    int s = pk_handle_get(k, pid, h, &e);
    if (s) return s;
    const pk_obj *ob = pk_obj_at(k, e->obj);
    memset(out, 0, sizeof *out);
    out->handle = h;
    out->kind = ob->kind;
    out->rights = e->rights;
    out->signals = ob->signals;
    out->koid = ob->koid;
    out->related_koid = ob->peer ? pk_obj_at(k, ob->peer)->koid : 0;
    out->queued = ob->queued;
    return PK_OK;
}

int pk_handle_list(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *count) {
    if (!k || !count || (cap && !out) || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    *count = 0;
    pk_proc *p = pk_proc_at(k, pid);
    if (!pk_proc_ext(p)) return PK_OK;
    pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
    for (uint32_t s = 0; s < x->top; s++) {
        if (!x->ents[s].obj) continue;
        if (*count < cap) out[*count] = hval(s, x->ents[s].gen);
        ++*count;
    }
    return PK_OK;
}

int pk_handle_at(pk_kernel *k, uint32_t pid, uint32_t slot, uint32_t *out) {
    if (!k || !out || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    pk_proc *p = pk_proc_at(k, pid);
    if (!pk_proc_ext(p)) return PK_ERR_BAD_HANDLE;
    pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
    if (slot >= x->top || !x->ents[slot].obj) return PK_ERR_BAD_HANDLE;
    *out = hval(slot, x->ents[slot].gen);
    return PK_OK;
}

/* Check handles hs[0..n-1] of process from: valid, distinct, TRANSFER. */
static int move_check(pk_kernel *k, uint32_t from, const uint32_t *hs, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        pk_hent *e;                 /* a repeated value was checked the first time */
        int s = pk_handle_use(k, from, hs[i], PK_RIGHT_TRANSFER, 0, &e);
        if (s) return s;
        for (uint32_t j = 0; j < i; j++) if (hs[j] == hs[i]) return PK_ERR_INVALID_ARGS;
    }
    return PK_OK;
}

int pk_handle_move(pk_kernel *k, uint32_t from, uint32_t to, const uint32_t *hs, uint32_t n,
                   uint32_t check_only) {
    int s = pk_caller_ok(k, from);
    if (s) return s;
    if ((s = pk_caller_ok(k, to))) return s;
    if ((n && !hs) || n > PK_CHAN_MAX_HANDLES) return PK_ERR_INVALID_ARGS;
    s = move_check(k, from, hs, n);
    if (check_only) return s;
    pk_pext *dst = s ? NULL : pk_pext_of(k, to, true);
    if (!s && !dst) s = PK_ERR_NO_MEMORY;
    pk_pext *src = pk_pext_of(k, from, false);
    for (uint32_t i = 0; i < n; i++) {            /* they leave `from` either way */
        pk_hent *e;
        if (pk_handle_get(k, from, hs[i], &e)) continue;
        uint32_t obj = e->obj, rights = e->rights, v;
        slot_free(k, src, e, from);
        if (s || pk_handle_add(k, dst, obj, rights, &v)) {
            if (!s) s = PK_ERR_NO_MEMORY;
            pk_obj_unref(k, obj);
        }
    }
    pk_obj_reap(k);
    return s;
}

/* Process death: its object asserts TERMINATED, every handle in its
 * table closes. */
void pk_proc_objects_release(pk_kernel *k, pk_proc *p, uint32_t pid) {
    pk_pext *x = &k->objs->ext[pk_proc_ext(p)];
    pk_proc_obj_terminated(k, x);
    pk_futex_release(k, x);
    if (x->job) pk_jobobj_proc_exit(k, x);
    for (uint32_t s = 0; s < x->top; s++)
        if (x->ents[s].obj) pk_handle_drop(k, x, &x->ents[s], pid);
    pk_obj_reap(k);
}

int pk_obj_audit_get(pk_kernel *k, pk_obj_audit *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    pk_objects *o = k->objs;
    if (!o) return PK_OK;
    uint32_t n = o->arena.count;
    size_t bytes = ((size_t)n + 1) * sizeof(uint32_t);
    uint32_t *found = pk_alloc(k, bytes);
    if (!found) return PK_ERR_NO_MEMORY;
    memset(found, 0, bytes);
    for (uint32_t x = 1; x < o->next; x++) {
        const pk_pext *e = &o->ext[x];
        for (uint32_t i = 0; i < e->top; i++)
            if (e->ents[i].obj) {
                out->table_handles++;
                if (e->ents[i].obj < n) found[e->ents[i].obj]++;
                else out->short_refs++;
            }
    }
    for (uint32_t id = 1; id < n; id++) {
        const pk_obj *ob = pk_obj_at(k, id);
        if (ob->kind != PK_OBJ_CHANNEL) continue;
        for (const pk_msg *msg = ob->head; msg; msg = msg->next) {
            out->messages++;
            for (uint32_t j = 0; j < msg->nhandles; j++) {
                out->flight_handles++;
                if (msg->handles[j].obj < n) found[msg->handles[j].obj]++;
                else out->short_refs++;
            }
        }
    }
    for (uint32_t id = 1; id < n; id++) {
        const pk_obj *ob = pk_obj_at(k, id);
        if (!ob->kind) {
            out->short_refs += found[id] > 0;          /* a handle to a freed object */
            continue;
        }
        out->short_refs += ob->refs < found[id];
        if (ob->kind == PK_OBJ_CHANNEL || ob->kind == PK_OBJ_EVENT || ob->kind == PK_OBJ_EVENTPAIR)
            out->bad_refs += ob->refs != found[id];
    }
    pk_free(k, found, bytes);
    return PK_OK;
}

int pk_obj_stats_get(pk_kernel *k, pk_obj_stats *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    if (k->objs) *out = k->objs->st;
    return PK_OK;
}
