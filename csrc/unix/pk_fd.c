/* pk_fd.c - descriptor tables and open file descriptions (pk_fd.h;
 * docs/userland.md, "Descriptors and pipes").
 *
 * A process's table is set up at its first use: descriptors 0, 1 and 2
 * name three descriptions of its standard streams (stdin bytes, stdout,
 * stderr: what pk_rv_output returns).  New descriptors take the lowest
 * free number (open(2)); dup and fork share a description, so its offset
 * and status flags are shared; close-on-exec belongs to the descriptor.
 * The last reference to a description closes its file (pk_fs_put) or its
 * pipe end (the object's reference: when the write end goes, readers see
 * end of file; when the read end goes, writers get EPIPE). */
#include <string.h>
#include "pk_core.h"
#include "pk_snap.h"
#include "pk_fd.h"

enum { EBADF = 9, ENOMEM = 12, EINVAL = 22, EMFILE = 24 };

static int fds_state(pk_kernel *k) {
    if (k->fds) return 0;
    pk_fds *f = pk_alloc(k, sizeof *f);
    if (!f) return -ENOMEM;
    memset(f, 0, sizeof *f);
    f->nofd = 1;
    if (pk_vec_grow(k, (void **)&f->ofd, &f->ofd_cap, 1, sizeof(pk_ofd))) {
        pk_free(k, f, sizeof *f);
        return -ENOMEM;
    }
    memset(f->ofd, 0, sizeof(pk_ofd));
    k->fds = f;
    return 0;
}

void pk_fd_fini(pk_kernel *k) {
    pk_fds *f = k->fds;
    if (!f) return;
    for (uint32_t p = 0; p < f->ntab; p++) pk_free(k, f->tab[p].e, f->tab[p].cap * sizeof(pk_fdent));
    pk_free(k, f->tab, f->tab_cap * sizeof(pk_fdtab));
    pk_free(k, f->ofd, f->ofd_cap * sizeof(pk_ofd));
    pk_free(k, f, sizeof *f);
    k->fds = NULL;
}

int64_t pk_ofd_new(pk_kernel *k, uint8_t kind, uint32_t flags) {
    if (fds_state(k)) return -ENOMEM;
    pk_fds *f = k->fds;
    uint32_t i = f->free_ofd;
    if (i) {
        f->free_ofd = f->ofd[i].ino;
    } else {
        if (f->nofd == UINT32_MAX) return -ENOMEM;
        if (pk_vec_grow(k, (void **)&f->ofd, &f->ofd_cap, f->nofd + 1, sizeof(pk_ofd))) return -ENOMEM;
        i = f->nofd++;
    }
    memset(&f->ofd[i], 0, sizeof(pk_ofd));
    f->ofd[i].kind = kind;
    f->ofd[i].flags = flags;
    return i;
}

/* a description that never got a descriptor goes back to the free list */
static void ofd_release(pk_kernel *k, uint32_t i) {
    pk_fds *f = k->fds;
    memset(&f->ofd[i], 0, sizeof(pk_ofd));
    f->ofd[i].ino = f->free_ofd;
    f->free_ofd = i;
}

void pk_ofd_unref(pk_kernel *k, uint32_t i) {
    pk_ofd *o = &k->fds->ofd[i];
    if (--o->refs) return;
    uint32_t pair = 0;
    if (o->kind == PK_OFD_FILE) pk_fs_put(k, o->ino);
    if (o->kind == PK_OFD_PIPE_R || o->kind == PK_OFD_PIPE_W) {
        pair = o->pair;
        pk_obj_unref(k, o->obj);
        pk_obj_reap(k);
    }
    ofd_release(k, i);
    if (pair) pk_pipe_wake(k, pair);             /* EOF for readers, EPIPE for writers */
}

static int table_grow(pk_kernel *k, pk_fdtab *t, uint32_t n) {
    if (n <= t->n) return 0;
    if (pk_vec_grow(k, (void **)&t->e, &t->cap, n, sizeof(pk_fdent))) return -ENOMEM;
    memset(t->e + t->n, 0, (n - t->n) * sizeof(pk_fdent));
    t->n = n;
    return 0;
}

static pk_fdtab *tab_slot(pk_kernel *k, uint32_t pid) {
    if (fds_state(k) || pid >= k->procs.count) return NULL;
    pk_fds *f = k->fds;
    if (pid >= f->ntab) {
        if (pk_vec_grow(k, (void **)&f->tab, &f->tab_cap, pid + 1, sizeof(pk_fdtab))) return NULL;
        memset(f->tab + f->ntab, 0, (pid + 1 - f->ntab) * sizeof(pk_fdtab));
        f->ntab = pid + 1;
    }
    return &f->tab[pid];
}

pk_fdtab *pk_fd_table(pk_kernel *k, uint32_t pid) {
    pk_fdtab *t = tab_slot(k, pid);
    if (!t || t->made) return t;
    if (table_grow(k, t, 3)) return NULL;
    for (uint32_t s = 0; s < 3; s++) {
        int64_t o = pk_ofd_new(k, PK_OFD_STD, s ? 1 : 0);
        if (o < 0) {
            for (uint32_t j = 0; j < s; j++) { pk_ofd_unref(k, k->fds->tab[pid].e[j].ofd); }
            t = &k->fds->tab[pid];
            memset(t->e, 0, 3 * sizeof(pk_fdent));
            return NULL;
        }
        k->fds->ofd[o].stream = (uint8_t)s;
        k->fds->ofd[o].refs = 1;
        t = &k->fds->tab[pid];
        t->e[s] = (pk_fdent){ (uint32_t)o, 0 };
    }
    t->made = 1;
    t->umask = 022;
    t->pgid = t->sid = pid + PK_RV_LINUX_ID_BASE;
    return t;
}

int64_t pk_fd_get(pk_kernel *k, uint32_t pid, uint64_t fd) {
    pk_fdtab *t = pk_fd_table(k, pid);
    if (!t) return -ENOMEM;
    if (fd >= t->n || !t->e[fd].ofd) return -EBADF;
    return t->e[fd].ofd;
}

int64_t pk_fd_install(pk_kernel *k, uint32_t pid, uint32_t ofd, uint32_t min, bool cloexec) {
    pk_fdtab *t = pk_fd_table(k, pid);
    if (!t) return -ENOMEM;
    if (min >= PK_FD_MAX) return -EINVAL;
    uint32_t fd = min;
    while (fd < t->n && t->e[fd].ofd) fd++;
    if (fd >= PK_FD_MAX) return -EMFILE;
    if (table_grow(k, t, fd + 1)) return -ENOMEM;
    t->e[fd] = (pk_fdent){ ofd, cloexec };
    k->fds->ofd[ofd].refs++;
    return fd;
}

int pk_fd_install_at(pk_kernel *k, uint32_t pid, uint32_t ofd, uint32_t fd, bool cloexec) {
    pk_fdtab *t = pk_fd_table(k, pid);
    if (!t) return -ENOMEM;
    if (fd >= PK_FD_MAX) return -EBADF;
    if (table_grow(k, t, fd + 1)) return -ENOMEM;
    uint32_t old = t->e[fd].ofd;
    k->fds->ofd[ofd].refs++;
    t->e[fd] = (pk_fdent){ ofd, cloexec };
    if (old) pk_ofd_unref(k, old);               /* closed silently (dup2(2)) */
    return 0;
}

int pk_fd_close(pk_kernel *k, uint32_t pid, uint64_t fd) {
    pk_fdtab *t = pk_fd_table(k, pid);
    if (!t) return -ENOMEM;
    if (fd >= t->n || !t->e[fd].ofd) return -EBADF;
    uint32_t o = t->e[fd].ofd;
    t->e[fd] = (pk_fdent){ 0, 0 };
    pk_ofd_unref(k, o);
    return 0;
}

/* every descriptor of pid closes (its last thread ended) */
void pk_fd_proc_exit(pk_kernel *k, uint32_t pid) {
    pk_fds *f = k->fds;
    pk_rvstate *rs = k->rv;
    for (uint32_t i = 1; rs && i < rs->nthr; i++) {   /* its threads wait on no pipe any more */
        pk_rvt *w = &rs->thr[i];
        if (w->futex_waiting && (w->futex_hi == PK_PIPE_WAIT_KEY || w->futex_hi == PK_POLL_WAIT_KEY)
            && pk_thread_at(k, w->tid)->pid == pid)
            w->futex_waiting = 0;
    }
    if (!f || pid >= f->ntab || !f->tab[pid].made) return;
    for (uint32_t fd = 0; fd < f->tab[pid].n; fd++)
        if (f->tab[pid].e[fd].ofd) pk_fd_close(k, pid, fd);
}

void pk_pipe_wake(pk_kernel *k, uint32_t pair) {
    pk_rvstate *rs = k->rv;
    if (!rs) return;
    for (uint32_t i = 1; i < rs->nthr; i++) {
        pk_rvt *w = &rs->thr[i];
        if (!w->futex_waiting || (w->futex_hi != PK_PIPE_WAIT_KEY && w->futex_hi != PK_POLL_WAIT_KEY))
            continue;
        if (w->futex_hi == PK_PIPE_WAIT_KEY && pair && w->futex_lo && w->futex_lo != pair) continue;
        w->futex_waiting = 0;
        pk_thread *wt = pk_thread_at(k, w->tid);
        if (wt->state != PK_TS_WAITING) continue;
        wt->blocked += k->now - wt->since;
        pk_thread_make_ready(k, wt, PK_ENQ_WAKE);
    }
}

/* ---- the entry points of pk_api.h ---------------------------------------------- */

static bool proc_ok(pk_kernel *k, uint32_t pid) {
    return k && pid < k->procs.count;
}

int pk_fd_fork(pk_kernel *k, uint32_t parent, uint32_t child) {
    if (!proc_ok(k, parent) || !proc_ok(k, child) || parent == child) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    return pk_fd_fork_copy(k, parent, child);
}

/* the fork of pk_vm_fork, and pk_fd_fork's work: ids checked */
int pk_fd_fork_copy(pk_kernel *k, uint32_t parent, uint32_t child) {
    if (k->fds && child < k->fds->ntab && k->fds->tab[child].made) return PK_ERR_BAD_STATE;
    pk_fdtab *pt = pk_fd_table(k, parent);
    if (!pt) return PK_ERR_NO_MEMORY;
    uint32_t n = pt->n;
    pk_fdtab *ct = tab_slot(k, child);
    if (!ct || table_grow(k, ct, n)) return PK_ERR_NO_MEMORY;
    pt = &k->fds->tab[parent];
    memcpy(ct->e, pt->e, n * sizeof(pk_fdent));
    for (uint32_t fd = 0; fd < n; fd++)
        if (ct->e[fd].ofd) k->fds->ofd[ct->e[fd].ofd].refs++;
    ct->made = 1;
    ct->umask = pt->umask;
    ct->pgid = pt->pgid;
    ct->sid = pt->sid;
    return PK_OK;
}

int pk_fd_exec(pk_kernel *k, uint32_t pid) {
    if (!proc_ok(k, pid)) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    return pk_fd_exec_close(k, pid);
}

int pk_fd_exec_close(pk_kernel *k, uint32_t pid) {
    pk_fdtab *t = pk_fd_table(k, pid);
    if (!t) return PK_ERR_NO_MEMORY;
    for (uint32_t fd = 0; fd < k->fds->tab[pid].n; fd++)
        if (k->fds->tab[pid].e[fd].ofd && k->fds->tab[pid].e[fd].cloexec) pk_fd_close(k, pid, fd);
    return PK_OK;
}

int pk_fd_list(pk_kernel *k, uint32_t pid, pk_fd_info *out, uint32_t cap, uint32_t *n_out) {
    if (!proc_ok(k, pid) || !n_out || (cap && !out)) return PK_ERR_INVALID_ARGS;
    *n_out = 0;
    if (!k->fds || pid >= k->fds->ntab || !k->fds->tab[pid].made) return PK_OK;
    const pk_fdtab *t = &k->fds->tab[pid];
    uint32_t n = 0;
    for (uint32_t fd = 0; fd < t->n; fd++) {
        if (!t->e[fd].ofd) continue;
        if (n < cap) {
            const pk_ofd *o = &k->fds->ofd[t->e[fd].ofd];
            pk_fd_info *x = &out[n];
            memset(x, 0, sizeof *x);
            x->fd = fd;
            x->description = t->e[fd].ofd;
            x->kind = o->kind;
            x->cloexec = t->e[fd].cloexec;
            x->flags = o->flags;
            x->ino = o->kind == PK_OFD_FILE ? o->ino : 0;
            x->stream = o->stream;
            x->refs = o->refs;
            x->offset = o->off;
            if (o->kind == PK_OFD_PIPE_R || o->kind == PK_OFD_PIPE_W) {
                const pk_obj *rd = pk_obj_at(k, o->pair);
                x->pipe_bytes = rd->kind ? rd->queued : 0;
            }
        }
        n++;
    }
    *n_out = n;
    return PK_OK;
}

int pk_fd_proc_get(pk_kernel *k, uint32_t pid, pk_fd_proc *out) {
    if (!proc_ok(k, pid) || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    out->umask = 022;
    out->pgid = out->sid = pid + PK_RV_LINUX_ID_BASE;
    if (!k->fds || pid >= k->fds->ntab || !k->fds->tab[pid].made) return PK_OK;
    const pk_fdtab *t = &k->fds->tab[pid];
    out->umask = t->umask;
    out->pgid = t->pgid;
    out->sid = t->sid;
    out->sigpipe = t->sigpipe;
    return PK_OK;
}

/* ---- the audit --------------------------------------------------------------------- */

int pk_fd_audit_run(pk_kernel *k, pk_fd_audit *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    pk_fds *f = k->fds;
    if (!f) return PK_OK;
    uint32_t *found = pk_alloc(k, (uint64_t)f->nofd * 4);
    if (!found) return PK_ERR_NO_MEMORY;
    memset(found, 0, (uint64_t)f->nofd * 4);
    for (uint32_t p = 0; p < f->ntab; p++)
        for (uint32_t fd = 0; fd < f->tab[p].n; fd++) {
            uint32_t o = f->tab[p].e[fd].ofd;
            if (!o) continue;
            out->descriptors++;
            if (o >= f->nofd || !f->ofd[o].refs) { out->bad_descriptors++; continue; }
            found[o]++;
        }
    for (uint32_t i = 1; i < f->nofd; i++) {
        const pk_ofd *o = &f->ofd[i];
        if (!o->refs) continue;
        out->descriptions++;
        if (o->refs != found[i]) out->bad_refs++;
        if (o->kind == PK_OFD_FILE) {
            pk_fs_stat st;
            if (pk_fs_stat_get(k, o->ino, &st)) out->bad_files++;
        } else if (o->kind == PK_OFD_PIPE_R || o->kind == PK_OFD_PIPE_W) {
            out->pipe_ends++;
            if (!k->objs || !o->obj || o->obj >= k->objs->arena.count
                || pk_obj_at(k, o->obj)->kind != PK_OBJ_SOCKET
                || !(pk_obj_at(k, o->obj)->pad[0] & PK_SOCK_PIPE)) out->bad_pipes++;
        } else if (o->kind != PK_OFD_STD) {
            out->bad_descriptions++;
        }
    }
    /* an inode is held at least once per description of it */
    if (k->fs) {
        uint32_t *held = pk_alloc(k, (uint64_t)k->fs->n * 4);
        if (!held) { pk_free(k, found, (uint64_t)f->nofd * 4); return PK_ERR_NO_MEMORY; }
        memset(held, 0, (uint64_t)k->fs->n * 4);
        for (uint32_t i = 1; i < f->nofd; i++)
            if (f->ofd[i].refs && f->ofd[i].kind == PK_OFD_FILE && f->ofd[i].ino < k->fs->n)
                held[f->ofd[i].ino]++;
        for (uint32_t i = 1; i < k->fs->n; i++)
            if (k->fs->ino[i].mode && k->fs->ino[i].refs < held[i]) out->bad_files++;
        pk_free(k, held, (uint64_t)k->fs->n * 4);
    }
    pk_free(k, found, (uint64_t)f->nofd * 4);
    return PK_OK;
}

/* ---- snapshots ---------------------------------------------------------------------- */

int pk_fd_snap_save(pk_kernel *k, pk_snap_w *w) {
    pk_fds *f = k->fds;
    pk_snap_u32(w, f->nofd);
    pk_snap_u32(w, f->free_ofd);
    for (uint32_t i = 1; i < f->nofd; i++) {
        const pk_ofd *o = &f->ofd[i];
        pk_snap_u32(w, o->refs);
        if (!o->refs) { pk_snap_u32(w, o->ino); continue; }
        pk_snap_u8(w, o->kind);
        pk_snap_u8(w, (uint8_t)(o->stream | (PK_OFD_TTY(o) ? PK_OFD_SNAP_TTY : 0)));
        pk_snap_u32(w, o->flags);
        pk_snap_u32(w, o->ino);
        pk_snap_u32(w, o->obj);
        pk_snap_u32(w, o->pair);
        pk_snap_u64(w, o->off);
    }
    pk_snap_u32(w, f->ntab);
    for (uint32_t p = 0; p < f->ntab; p++) {
        const pk_fdtab *t = &f->tab[p];
        pk_snap_u32(w, t->made);
        if (!t->made) continue;
        pk_snap_u32(w, t->umask);
        pk_snap_u32(w, t->pgid);
        pk_snap_u32(w, t->sid);
        pk_snap_u64(w, t->sigpipe);
        pk_snap_u32(w, t->n);
        for (uint32_t fd = 0; fd < t->n; fd++) {
            pk_snap_u32(w, t->e[fd].ofd);
            pk_snap_u8(w, (uint8_t)t->e[fd].cloexec);
        }
    }
    return w->err;
}

/* Load the descriptor section into k (none yet; the objects and the file
 * system are loaded): every index is checked, then the references. */
int pk_fd_snap_load(pk_kernel *k, pk_snap_r *r) {
    if (k->fds) return PK_ERR_INVALID_ARGS;
    if (fds_state(k)) return PK_ERR_NO_MEMORY;
    pk_fds *f = k->fds;
    uint32_t n = pk_snap_get_u32(r);
    f->free_ofd = pk_snap_get_u32(r);
    if (r->err || n < 1 || !pk_snap_count_ok(r, n - 1, 8)) return PK_ERR_INVALID_ARGS;
    if (pk_vec_grow(k, (void **)&f->ofd, &f->ofd_cap, n, sizeof(pk_ofd))) return PK_ERR_NO_MEMORY;
    memset(f->ofd, 0, (size_t)f->ofd_cap * sizeof(pk_ofd));
    f->nofd = n;
    for (uint32_t i = 1; i < n && !r->err; i++) {
        pk_ofd *o = &f->ofd[i];
        o->refs = pk_snap_get_u32(r);
        if (!o->refs) { o->ino = pk_snap_get_u32(r); continue; }
        o->kind = pk_snap_get_u8(r);
        o->stream = pk_snap_get_u8(r);
        if (o->kind == PK_OFD_STD && (o->stream & PK_OFD_SNAP_TTY)) {
            o->stream &= (uint8_t)~PK_OFD_SNAP_TTY;
            PK_OFD_TTY(o) = 1;
        }
        o->flags = pk_snap_get_u32(r);
        o->ino = pk_snap_get_u32(r);
        o->obj = pk_snap_get_u32(r);
        o->pair = pk_snap_get_u32(r);
        o->off = pk_snap_get_u64(r);
        bool pipe = o->kind == PK_OFD_PIPE_R || o->kind == PK_OFD_PIPE_W;
        uint32_t acc = o->flags & PK_O_ACCMODE;      /* what reads and writes rely on */
        if (o->kind < PK_OFD_FILE || o->kind > PK_OFD_PIPE_W || o->stream > 2 || acc == 3
            || (o->kind == PK_OFD_STD && acc != (o->stream ? 1u : 0u))
            || (o->kind != PK_OFD_STD && o->stream)
            || (o->kind == PK_OFD_PIPE_R && acc != 0) || (o->kind == PK_OFD_PIPE_W && acc != 1))
            pk_snap_bad(r);
        else if (o->kind == PK_OFD_FILE && (!k->fs || !o->ino || o->ino >= k->fs->n
                                            || !k->fs->ino[o->ino].mode)) pk_snap_bad(r);
        else if (pipe) {
            uint32_t want = o->kind == PK_OFD_PIPE_R ? o->obj : 0;
            if (!k->objs || !o->obj || o->obj >= k->objs->arena.count || !o->pair
                || o->pair >= k->objs->arena.count) { pk_snap_bad(r); break; }
            const pk_obj *ob = pk_obj_at(k, o->obj);
            if (ob->kind != PK_OBJ_SOCKET || !(ob->pad[0] & PK_SOCK_PIPE)
                || (want && o->pair != want)
                || (!want && ob->peer && ob->peer != o->pair)) pk_snap_bad(r);
        }
    }
    uint32_t ntab = pk_snap_get_u32(r);
    if (r->err || ntab > k->procs.count || !pk_snap_count_ok(r, ntab, 4)) return PK_ERR_INVALID_ARGS;
    if (ntab && pk_vec_grow(k, (void **)&f->tab, &f->tab_cap, ntab, sizeof(pk_fdtab))) return PK_ERR_NO_MEMORY;
    if (ntab) memset(f->tab, 0, (size_t)ntab * sizeof(pk_fdtab));
    f->ntab = ntab;
    uint32_t *found = pk_alloc(k, (uint64_t)n * 4);
    if (!found) return PK_ERR_NO_MEMORY;
    memset(found, 0, (uint64_t)n * 4);
    int s = PK_OK;
    for (uint32_t p = 0; p < ntab && !r->err && !s; p++) {
        pk_fdtab *t = &f->tab[p];
        t->made = pk_snap_get_u32(r);
        if (!t->made) continue;
        t->umask = pk_snap_get_u32(r);
        t->pgid = pk_snap_get_u32(r);
        t->sid = pk_snap_get_u32(r);
        t->sigpipe = pk_snap_get_u64(r);
        uint32_t cnt = pk_snap_get_u32(r);
        if (t->made != 1 || t->umask > 0777 || cnt > PK_FD_MAX || !pk_snap_count_ok(r, cnt, 5)) { pk_snap_bad(r); break; }
        if (table_grow(k, t, cnt)) { s = PK_ERR_NO_MEMORY; break; }
        for (uint32_t fd = 0; fd < cnt; fd++) {
            uint32_t o = pk_snap_get_u32(r);
            uint8_t ce = pk_snap_get_u8(r);
            if (o >= n || ce > 1 || (o && !f->ofd[o].refs) || (!o && ce)) { pk_snap_bad(r); break; }
            t->e[fd] = (pk_fdent){ o, ce };
            if (o) found[o]++;
        }
    }
    if (!s && !r->err) {
        uint64_t nfree = 0, live = 0;
        for (uint32_t i = 1; i < n; i++) {
            if (f->ofd[i].refs) { live++; if (found[i] != f->ofd[i].refs) pk_snap_bad(r); }
        }
        for (uint32_t x = f->free_ofd; x; x = f->ofd[x].ino)
            if (x >= n || f->ofd[x].refs || ++nfree > n) { pk_snap_bad(r); break; }
        if (nfree + live != n - 1u) pk_snap_bad(r);
    }
    if (!s && !r->err && k->objs) {               /* one description per pipe object of descriptors */
        uint8_t *seen = pk_alloc(k, k->objs->arena.count);
        if (!seen) s = PK_ERR_NO_MEMORY;
        else {
            memset(seen, 0, k->objs->arena.count);
            for (uint32_t i = 1; i < n && !r->err; i++) {
                const pk_ofd *o = &f->ofd[i];
                if (!o->refs || (o->kind != PK_OFD_PIPE_R && o->kind != PK_OFD_PIPE_W)) continue;
                if (seen[o->obj]++ || !(pk_obj_at(k, o->obj)->pad[0] & PK_SOCK_FD)) pk_snap_bad(r);
            }
            for (uint32_t id = 1; id < k->objs->arena.count && !r->err; id++) {
                const pk_obj *ob = pk_obj_at(k, id);
                if (ob->kind == PK_OBJ_SOCKET && (ob->pad[0] & PK_SOCK_FD) && !seen[id]) pk_snap_bad(r);
            }
            pk_free(k, seen, k->objs->arena.count);
        }
    }
    pk_free(k, found, (uint64_t)n * 4);
    if (s) return s;
    return r->err ? PK_ERR_INVALID_ARGS : PK_OK;
}
