/* pk_thread_obj.c - threads as kernel objects (docs/objects.md,
 * "Threads"), after Zircon's thread objects: a handle to a thread names
 * one object per thread, which asserts TERMINATED when the thread ends;
 * waiting on it needs WAIT, killing through it DESTROY and the
 * credentials of its process (pk_proc_obj.c checks both).
 *
 * Nothing is kept per thread: a thread gets an object the first time a
 * handle to it is made, and k->objs keeps a map from tid to object
 * (open addressing, linear probing, deletion by backward shift) holding
 * only the threads that have one.  The map's entry goes when the object
 * is destroyed (its last handle closed). */
#include "pk_core.h"

/* default rights of a thread handle, after Zircon's
 * ZX_DEFAULT_THREAD_RIGHTS (zircon/rights.h) */
#define RIGHTS_THREAD (PK_RIGHT_TRANSFER | PK_RIGHT_DUPLICATE | PK_RIGHT_WAIT | PK_RIGHT_INSPECT \
    | PK_RIGHT_READ | PK_RIGHT_WRITE | PK_RIGHT_GET_PROPERTY | PK_RIGHT_SET_PROPERTY \
    | PK_RIGHT_ENUMERATE | PK_RIGHT_DESTROY | PK_RIGHT_SIGNAL | PK_RIGHT_MANAGE_THREAD)

static inline uint32_t thash(uint32_t tid, uint32_t cap) {
    return (uint32_t)(((uint64_t)tid * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

/* The slot of tid in the map, or -1. */
static int64_t tslot(const pk_objects *o, uint32_t tid) {
    if (!o->tcap) return -1;
    for (uint32_t j = thash(tid, o->tcap); o->tkeys[j]; j = (j + 1) & (o->tcap - 1))
        if (o->tkeys[j] == tid + 1) return j;
    return -1;
}

/* Room for one more entry (the map at most half full); -1: no memory. */
static int tgrow(pk_kernel *k, pk_objects *o) {
    if (2 * (o->tn + 1) <= o->tcap) return 0;
    uint32_t cap = o->tcap ? o->tcap * 2 : 16;
    uint32_t *keys = pk_alloc(k, cap * sizeof *keys), *objs = pk_alloc(k, cap * sizeof *objs);
    if (!keys || !objs) { pk_free(k, keys, cap * sizeof *keys); pk_free(k, objs, cap * sizeof *objs); return -1; }
    for (uint32_t i = 0; i < cap; i++) keys[i] = 0;
    for (uint32_t i = 0; i < o->tcap; i++) {
        if (!o->tkeys[i]) continue;
        uint32_t j = thash(o->tkeys[i] - 1, cap);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = o->tkeys[i];
        objs[j] = o->tobjs[i];
    }
    pk_free(k, o->tkeys, o->tcap * sizeof *keys);
    pk_free(k, o->tobjs, o->tcap * sizeof *objs);
    o->tkeys = keys; o->tobjs = objs; o->tcap = cap;
    return 0;
}

/* Thread tid's object is destroyed: its map entry goes. */
void pk_thread_obj_forget(pk_kernel *k, uint32_t tid) {
    pk_objects *o = k->objs;
    int64_t s = tslot(o, tid);
    if (s < 0) return;
    uint32_t i = (uint32_t)s, m = o->tcap - 1;
    o->tkeys[i] = 0;
    o->tn--;
    for (uint32_t j = (i + 1) & m; o->tkeys[j]; j = (j + 1) & m) {   /* backward shift */
        uint32_t home = thash(o->tkeys[j] - 1, o->tcap);
        if (((j - home) & m) >= ((j - i) & m)) {     /* home not in (i, j]: move it to i */
            o->tkeys[i] = o->tkeys[j]; o->tobjs[i] = o->tobjs[j];
            o->tkeys[j] = 0;
            i = j;
        }
    }
}

/* Thread t ended: its object (if any) asserts TERMINATED. */
void pk_thread_obj_terminated(pk_kernel *k, const pk_thread *t) {
    int64_t s = tslot(k->objs, t->tid);
    if (s >= 0) pk_obj_signal_change(k, k->objs->tobjs[s], 0, PK_SIG_TERMINATED);
}

int pk_thread_handle_create(pk_kernel *k, uint32_t holder, uint32_t tid, uint32_t *out) {
    int s = pk_caller_ok(k, holder);
    if (s) return s;
    if (!out || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    pk_pext *hx = pk_pext_of(k, holder, true);
    if (!hx) return PK_ERR_NO_MEMORY;
    pk_objects *o = k->objs;
    int64_t slot = tslot(o, tid);
    uint32_t obj = slot >= 0 ? o->tobjs[slot] : 0;
    if (!obj) {
        if (tgrow(k, o)) return PK_ERR_NO_MEMORY;
        int64_t id = pk_obj_new(k, PK_OBJ_THREAD);
        if (id < 0) return PK_ERR_NO_MEMORY;
        obj = (uint32_t)id;
        pk_obj_at(k, obj)->target = tid;
        if (pk_thread_at(k, tid)->state == PK_TS_EXITED) pk_obj_at(k, obj)->signals = PK_SIG_TERMINATED;
        uint32_t j = thash(tid, o->tcap);
        while (o->tkeys[j]) j = (j + 1) & (o->tcap - 1);
        o->tkeys[j] = tid + 1;
        o->tobjs[j] = obj;
        o->tn++;
    }
    if ((s = pk_handle_add(k, pk_pext_of(k, holder, false), obj, RIGHTS_THREAD, out))) {
        if (slot < 0) { pk_obj_at(k, obj)->refs = 1; pk_obj_unref(k, obj); pk_obj_reap(k); }
        return s;
    }
    pk_obj_at(k, obj)->refs++;
    return PK_OK;
}
