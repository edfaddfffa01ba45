/* pk_proc_obj.c - processes as kernel objects, and credentials
 * (docs/objects.md).
 *
 * A process gets an object the first time a handle to it is made; the
 * object's `target` is its pid and the process's extension remembers it
 * (self_obj), so every handle to one process names one object.  When the
 * process ends the object asserts TERMINATED; the process's record (state,
 * exit code) stays readable for ever.
 *
 * Credentials are a uid and a gid in the extension; a process without
 * one is root (0, 0).  Killing or inspecting a process through a handle
 * needs the right (DESTROY, INSPECT) and that the caller be root or have
 * the target's uid. */
#include "pk_core.h"

/* default rights of a process handle, after Zircon's
 * ZX_DEFAULT_PROCESS_RIGHTS (zircon/rights.h) */
#define RIGHTS_PROCESS (PK_RIGHT_TRANSFER | PK_RIGHT_DUPLICATE | PK_RIGHT_WAIT | PK_RIGHT_INSPECT \
    | PK_RIGHT_READ | PK_RIGHT_WRITE | PK_RIGHT_GET_PROPERTY | PK_RIGHT_SET_PROPERTY \
    | PK_RIGHT_ENUMERATE | PK_RIGHT_DESTROY | PK_RIGHT_SIGNAL | PK_RIGHT_MANAGE_PROCESS \
    | PK_RIGHT_MANAGE_THREAD)

static bool ended(const pk_proc *p) {
    return p->state == PK_PS_EXITED || p->state == PK_PS_KILLED;
}

/* The process of extension x ended: its object (if any) is TERMINATED. */
void pk_proc_obj_terminated(pk_kernel *k, pk_pext *x) {
    if (x->self_obj) pk_obj_signal_change(k, x->self_obj, 0, PK_SIG_TERMINATED);
}

static void creds_of(pk_kernel *k, uint32_t pid, uint32_t *uid, uint32_t *gid) {
    pk_proc *p = pk_proc_at(k, pid);
    *uid = *gid = 0;
    if (pk_proc_ext(p)) { *uid = k->objs->ext[pk_proc_ext(p)].uid; *gid = k->objs->ext[pk_proc_ext(p)].gid; }
}

int pk_proc_creds_set(pk_kernel *k, uint32_t pid, uint32_t uid, uint32_t gid) {
    if (!k || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (!uid && !gid && !pk_proc_ext(pk_proc_at(k, pid))) return PK_OK;   /* root already */
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    x->uid = uid;
    x->gid = gid;
    return PK_OK;
}

int pk_proc_creds_get(pk_kernel *k, uint32_t pid, uint32_t *uid, uint32_t *gid) {
    if (!k || !uid || !gid || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    creds_of(k, pid, uid, gid);
    return PK_OK;
}

int pk_proc_handle_create(pk_kernel *k, uint32_t holder, uint32_t target, uint32_t *out) {
    int s = pk_caller_ok(k, holder);
    if (s) return s;
    if (!out || target >= k->procs.count) return PK_ERR_INVALID_ARGS;
    pk_pext *tx = pk_pext_of(k, target, true);
    pk_pext *hx = tx ? pk_pext_of(k, holder, true) : NULL;
    if (!hx) return PK_ERR_NO_MEMORY;
    tx = pk_pext_of(k, target, false);                /* the vector may have moved */
    uint32_t obj = tx->self_obj;
    bool fresh = !obj;
    if (fresh) {
        int64_t id = pk_obj_new(k, PK_OBJ_PROCESS);
        if (id < 0) return PK_ERR_NO_MEMORY;
        obj = (uint32_t)id;
        pk_obj_at(k, obj)->target = target;
        if (ended(pk_proc_at(k, target))) pk_obj_at(k, obj)->signals = PK_SIG_TERMINATED;
    }
    if ((s = pk_handle_add(k, hx, obj, RIGHTS_PROCESS, out))) {
        if (fresh) { pk_obj_at(k, obj)->refs = 1; pk_obj_unref(k, obj); pk_obj_reap(k); }
        return s;
    }
    pk_obj_at(k, obj)->refs++;
    pk_pext_of(k, target, false)->self_obj = obj;
    return PK_OK;
}

/* The target of caller's process or thread handle h (*kind says which;
 * *id is a pid or a tid), if `right` and the credentials allow: the
 * caller must be root or have the uid of the target (or its process). */
static int target_of(pk_kernel *k, uint32_t caller, uint32_t h, uint32_t right, uint8_t *kind,
                     uint32_t *id) {
    pk_hent *e;
    int s = pk_handle_use(k, caller, h, right, PK_OBJ_KIND(PK_OBJ_PROCESS) | PK_OBJ_KIND(PK_OBJ_THREAD),
                          &e);
    if (s) return s;
    pk_obj *ob = pk_obj_at(k, e->obj);
    uint32_t pid = ob->kind == PK_OBJ_PROCESS ? ob->target : pk_thread_at(k, ob->target)->pid;
    uint32_t cu, cg, tu, tg;
    creds_of(k, caller, &cu, &cg);
    creds_of(k, pid, &tu, &tg);
    if (cu != 0 && cu != tu) return PK_ERR_ACCESS_DENIED;
    *kind = ob->kind;
    *id = ob->target;
    return PK_OK;
}

int pk_proc_handle_kill(pk_kernel *k, uint32_t caller, uint32_t h) {
    int s = pk_caller_ok(k, caller);
    if (s) return s;
    uint32_t id;
    uint8_t kind;
    if ((s = target_of(k, caller, h, PK_RIGHT_DESTROY, &kind, &id))) return s;
    if (kind == PK_OBJ_THREAD) {                    /* the thread only */
        pk_thread *t = pk_thread_at(k, id);
        if (t->state != PK_TS_EXITED) pk_thread_terminate(k, t, -1, PK_KILL_HOST);
        return PK_OK;
    }
    pk_proc *p = pk_proc_at(k, id);
    if (ended(p)) return PK_OK;                     /* already dead: nothing to do */
    pk_thread_exit(k, pk_thread_at(k, p->first_tid), -1, PK_KILL_HOST);
    return PK_OK;
}

static int target_kind(pk_kernel *k, uint32_t caller, uint32_t h, uint8_t want, uint32_t *out) {
    if (!k || !out || caller >= k->procs.count) return PK_ERR_INVALID_ARGS;
    uint8_t kind;
    int s = target_of(k, caller, h, PK_RIGHT_INSPECT, &kind, out);
    return s ? s : kind == want ? PK_OK : PK_ERR_WRONG_TYPE;
}

int pk_proc_handle_target(pk_kernel *k, uint32_t caller, uint32_t h, uint32_t *pid_out) {
    return target_kind(k, caller, h, PK_OBJ_PROCESS, pid_out);
}

int pk_thread_handle_target(pk_kernel *k, uint32_t caller, uint32_t h, uint32_t *tid_out) {
    return target_kind(k, caller, h, PK_OBJ_THREAD, tid_out);
}
