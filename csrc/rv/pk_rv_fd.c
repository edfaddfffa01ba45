/* pk_rv_fd.c - the Linux system calls of RISC-V processes on descriptors,
 * files and pipes (docs/riscv.md, "System calls"; docs/userland.md).
 *
 * Numbers are asm-generic/unistd.h's, errors those of each call's man
 * page, structures the riscv64 ABI's: struct stat of asm-generic/stat.h,
 * struct statx of linux/stat.h, linux_dirent64, the kernel's struct
 * termios of asm-generic/termbits.h and struct winsize.  Paths go to the
 * file system (pk_fs.c), which answers with Linux errnos.
 *
 * A read from an empty pipe, or a write to a full one, blocks the thread
 * (unless O_NONBLOCK: EAGAIN): it waits with its pc still on the ecall,
 * keyed by the pipe (pk_fd.h, PK_PIPE_WAIT_KEY), and runs the call again
 * when the pipe changes, as Linux restarts a call; the call stays in
 * progress (pk_rvt.in_syscall), so its entry cost is not charged again
 * and it is counted once.  ppoll and pselect6 wait for any
 * pipe to change, and with a timeout also for its deadline (an event of
 * kind PK_EV_RV_TIMEOUT; PK_POLL_WAIT_KEY keeps the deadline for the call
 * run again).  A write to a pipe without readers
 * returns EPIPE and sends SIGPIPE to the writing thread (pk_sig_send:
 * delivered on its way back to user mode; its default action ends the
 * process), as pipe_write does (fs/pipe.c); pk_fdtab.sigpipe counts them.
 * A signal that interrupts a thread blocked here ends the call with
 * EINTR, or (read, write, sendfile, with SA_RESTART) runs it again after
 * the handler; ppoll and pselect6 always end with EINTR (signal(7),
 * "Interruption of system calls"). */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"
#include "pk_sig.h"

enum { EPERM = 1, ENOENT = 2, ESRCH = 3, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
       EFAULT = 14, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, ENOTTY = 25, ESPIPE = 29,
       EPIPE = 32, EBUSY = 16, ERANGE = 34, ENOSYS = 38, ELOOP = 40, EOPNOTSUPP = 95, ENXIO = 6 };

#define AT_FDCWD (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_EACCESS 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_NO_AUTOMOUNT 0x800
#define AT_EMPTY_PATH 0x1000
#define AT_STATX_SYNC_TYPE 0x6000
#define MAX_IO (1ull << 24)               /* bytes one call moves at most */
#define CHUNK 65536u
#define BLOCK (-100000)                   /* internal: the call must wait */
#define FS_DEV 1                          /* st_dev of the file system: 0:1 */

typedef struct fx {
    pk_kernel *k;
    pk_cpu *c;
    pk_thread *t;
    uint32_t pid, rid;
    uint64_t cost;
    uint32_t dead;
    int act;
    bool restart;
} fx;

static int cp(fx *x, uint64_t va, void *buf, uint64_t len, bool write) {
    if (!len) return 0;
    uint32_t reason = 0;
    int v = pk_rv_copy(x->k, x->c, x->pid, va, buf, len, write, &x->cost, &reason);
    if (v == 1) x->dead = reason ? reason : PK_KILL_SEGV;
    return v;
}

static int64_t futimens(fx *x, uint64_t fd, const int64_t *t);
static pk_ofd *OFD(fx *x, int64_t i) { return &x->k->fds->ofd[i]; }
static bool is_pipe(const pk_ofd *o) { return o->kind == PK_OFD_PIPE_R || o->kind == PK_OFD_PIPE_W; }

/* a path from user memory: its length, -EFAULT, -ENAMETOOLONG, or
 * -ENOENT if empty (unless empty_ok) */
static int64_t upath(fx *x, uint64_t va, char *out, bool empty_ok) {
    out[0] = 0;
    if (!va) return empty_ok ? 0 : -EFAULT;
    for (uint64_t i = 0; i < PK_FS_PATH_MAX; i++) {
        if (cp(x, va + i, &out[i], 1, false)) return -EFAULT;
        if (!out[i]) return i || empty_ok ? (int64_t)i : -ENOENT;
    }
    return -PK_ENAMETOOLONG;
}

/* the credentials and the directory a path relative to dirfd starts in */
static int who_at(fx *x, uint64_t dirfd, const char *p, int64_t n, pk_fs_who *w) {
    if (pk_fs_who_of(x->k, x->pid, w)) return -EINVAL;
    if ((n > 0 && p[0] == '/') || (int32_t)dirfd == AT_FDCWD) return 0;
    int64_t o = pk_fd_get(x->k, x->pid, (uint32_t)dirfd == dirfd ? dirfd : ~0ull);
    if (o < 0) return (int)o;
    pk_ofd *d = OFD(x, o);
    pk_fs_stat st;
    if (d->kind != PK_OFD_FILE || pk_fs_stat_get(x->k, d->ino, &st)) return -ENOTDIR;
    if ((st.mode & PK_S_IFMT) != PK_S_IFDIR) return -ENOTDIR;
    w->cwd = d->ino;
    return 0;
}

/* block the thread on the pipe `pair` and run the call again when it changes */
static int64_t wait_pipe(fx *x, uint32_t pair) {
    pk_rvt *rt = &x->k->rv->thr[x->rid];
    rt->futex_waiting = 1;
    rt->futex_hi = PK_PIPE_WAIT_KEY;
    rt->futex_lo = pair;
    rt->futex_seq = ++x->k->rv->futex_seq;
    x->act = PK_ACT_WAIT;
    x->restart = true;
    return 0;
}

static pk_rvp *rvp(fx *x) { return &x->k->rv->procs[x->k->rv->thr[x->rid].proc]; }

/* ---- read and write through a description ------------------------------------------ */

/* read up to len bytes at va through description o (off: NULL for its
 * own offset); BLOCK if it must wait */
static int64_t rd(fx *x, int64_t oi, uint64_t va, uint64_t len, const uint64_t *at) {
    pk_kernel *k = x->k;
    pk_ofd *o = OFD(x, oi);
    if ((o->flags & PK_O_ACCMODE) == 1 || (o->flags & PK_O_PATH)) return -EBADF;
    if (len > MAX_IO) len = MAX_IO;
    uint8_t tmp[4096];
    if (o->kind == PK_OFD_STD) {
        pk_rvp *p = rvp(x);
        uint64_t left = p->in_len - p->in_pos;
        if (len > left) len = left;
        if (cp(x, va, p->in + p->in_pos, len, true)) return -EFAULT;
        rvp(x)->in_pos += len;
        return (int64_t)len;
    }
    if (is_pipe(o)) {
        pk_obj *ob = pk_obj_at(k, o->obj);
        if (!ob->queued) {
            if (!ob->peer) return 0;                               /* no writers: end of file */
            return o->flags & PK_O_NONBLOCK ? -EAGAIN : BLOCK;
        }
        uint64_t n = len < ob->queued ? len : ob->queued, done = 0;
        while (done < n) {                 /* the bytes leave the pipe only once copied */
            uint32_t m = n - done < sizeof tmp ? (uint32_t)(n - done) : (uint32_t)sizeof tmp, got;
            memset(tmp, 0, m);
            if (cp(x, va + done, tmp, m, true)) break;            /* can it take them? */
            pk_pipe_obj_read(k, o->obj, tmp, m, &got);
            if (cp(x, va + done, tmp, got, true)) break;
            done += got;
        }
        if (done) pk_pipe_wake(k, OFD(x, oi)->pair);             /* room for writers */
        return done ? (int64_t)done : -EFAULT;
    }
    pk_fs_stat st;
    if (pk_fs_stat_get(k, o->ino, &st)) return -EBADF;
    if ((st.mode & PK_S_IFMT) == PK_S_IFDIR) return -EISDIR;
    uint64_t off = at ? *at : o->off, done = 0;
    while (done < len) {
        uint64_t m = len - done < sizeof tmp ? len - done : sizeof tmp, got = 0;
        int e = pk_fs_read(k, x->pid, o->ino, off + done, tmp, m, &got);
        if (e) return done ? (int64_t)done : e;
        if (cp(x, va + done, tmp, got, true)) return done ? (int64_t)done : -EFAULT;
        done += got;
        if (got < m) break;
    }
    if (!at && (st.mode & PK_S_IFMT) == PK_S_IFREG) OFD(x, oi)->off = off + done;
    return (int64_t)done;
}

static int buf_append(pk_kernel *k, pk_rvbuf *b, const uint8_t *d, uint64_t n) {
    if (b->n + n > b->cap) {
        uint64_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        uint8_t *nb = pk_realloc(k, b->b, b->cap, cap);
        if (!nb) return -1;
        b->b = nb;
        b->cap = cap;
    }
    if (n) memcpy(b->b + b->n, d, n);
    b->n += n;
    return 0;
}

int pk_rv_out_append(pk_kernel *k, pk_rvp *p, uint32_t fd, const uint8_t *d, uint64_t n, bool term) {
    if (buf_append(k, &p->out[fd - 1], d, n)
        || (term && buf_append(k, &k->rv->procs[p->tty].term, d, n)))
        return -1;
    if (PK_UNLIKELY(p->watch >> (fd - 1) & 1) && n && !k->stop_req)
        k->stop_req = PK_STOP_OUTPUT;           /* the loop stops after this step */
    return 0;
}

int pk_rv_watch(pk_kernel *k, uint32_t pid, uint32_t fd, uint32_t on) {
    if (!k || fd < 1 || fd > 2 || on > 1) return PK_ERR_INVALID_ARGS;
    if (!k->rv || pid >= k->procs.count) return PK_ERR_NOT_SUPPORTED;
    for (uint32_t i = 1; i < k->rv->nprocs; i++) {
        pk_rvp *p = &k->rv->procs[i];
        if (p->pid != pid) continue;
        p->watch = (p->watch & ~(1u << (fd - 1))) | on << (fd - 1);
        return PK_OK;
    }
    return PK_ERR_NOT_SUPPORTED;
}

int pk_rv_tty(pk_kernel *k, uint32_t pid) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (!k->rv || pid >= k->procs.count) return PK_ERR_NOT_SUPPORTED;
    bool rv = false;
    for (uint32_t i = 1; i < k->rv->nprocs; i++) rv |= k->rv->procs[i].pid == pid;
    if (!rv) return PK_ERR_NOT_SUPPORTED;
    pk_proc *p = pk_proc_at(k, pid);
    if (p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) return PK_ERR_BAD_STATE;
    if (!pk_fd_table(k, pid)) return PK_ERR_NO_MEMORY;
    for (uint64_t fd = 0; fd < 3; fd++) {
        int64_t o = pk_fd_get(k, pid, fd);
        if (o > 0 && k->fds->ofd[o].kind == PK_OFD_STD) PK_OFD_TTY(&k->fds->ofd[o]) = 1;
    }
    return PK_OK;
}

/* the bytes to write: from user memory at va, or from kbuf (sendfile) */
static int src(fx *x, uint64_t va, const uint8_t *kbuf, uint64_t done, uint8_t *tmp, uint64_t n) {
    if (kbuf) { memcpy(tmp, kbuf + done, n); return 0; }
    return cp(x, va + done, tmp, n, false);
}

static int64_t wr_from(fx *x, int64_t oi, uint64_t va, const uint8_t *kbuf, uint64_t len,
                       const uint64_t *at);

static int64_t wr(fx *x, int64_t oi, uint64_t va, uint64_t len, const uint64_t *at) {
    return wr_from(x, oi, va, NULL, len, at);
}

static int64_t wr_from(fx *x, int64_t oi, uint64_t va, const uint8_t *kbuf, uint64_t len,
                       const uint64_t *at) {
    pk_kernel *k = x->k;
    pk_ofd *o = OFD(x, oi);
    if ((o->flags & PK_O_ACCMODE) == 0 || (o->flags & PK_O_PATH)) return -EBADF;
    if (len > MAX_IO) len = MAX_IO;
    uint8_t tmp[4096];
    uint64_t done = 0;
    if (o->kind == PK_OFD_STD) {
        uint32_t s = o->stream;
        while (done < len) {
            uint64_t n = len - done < sizeof tmp ? len - done : sizeof tmp;
            if (src(x, va, kbuf, done, tmp, n)) return done ? (int64_t)done : -EFAULT;
            if (pk_rv_out_append(k, rvp(x), s, tmp, n, true))   /* and the terminal */
                return done ? (int64_t)done : -ENOMEM;
            done += n;
        }
        return (int64_t)done;
    }
    if (is_pipe(o)) {
        pk_obj *ob = pk_obj_at(k, o->obj);
        if (!ob->peer) {                          /* no readers: SIGPIPE to the writer, and EPIPE */
            uint32_t uid = 0, gid = 0;
            pk_proc_creds_get(k, x->pid, &uid, &gid);
            pk_fd_table(k, x->pid)->sigpipe++;
            pk_sig_send(k, x->pid, x->t->tid + 1, PK_SIGPIPE,
                        &(pk_sigsrc){ PK_SI_USER, (int32_t)(x->pid + PK_RV_LINUX_ID_BASE), uid, 0, 0 });
            return -EPIPE;
        }
        pk_obj *peer = pk_obj_at(k, ob->peer);
        uint64_t room = peer->target - peer->queued;
        if (!len) return 0;
        if (room < len && (len <= PK_PIPE_BUF || !room))         /* atomic up to PIPE_BUF */
            return o->flags & PK_O_NONBLOCK ? -EAGAIN : BLOCK;
        uint64_t n = len < room ? len : room;
        uint32_t pair = o->pair;
        while (done < n) {
            uint32_t m = n - done < sizeof tmp ? (uint32_t)(n - done) : (uint32_t)sizeof tmp, put;
            if (src(x, va, kbuf, done, tmp, m)) break;
            if (pk_pipe_obj_write(k, OFD(x, oi)->obj, tmp, m, &put) || !put) break;
            done += put;
            if (put < m) break;
        }
        if (done) pk_pipe_wake(k, pair);
        return done ? (int64_t)done : -EFAULT;
    }
    pk_fs_stat st;
    if (pk_fs_stat_get(k, o->ino, &st)) return -EBADF;
    uint64_t off = at ? *at : o->off;
    if (o->flags & PK_O_APPEND) off = st.size;    /* pwrite too (pwrite(2), BUGS) */
    while (done < len) {
        uint64_t n = len - done < sizeof tmp ? len - done : sizeof tmp, put = 0;
        if (src(x, va, kbuf, done, tmp, n)) return done ? (int64_t)done : -EFAULT;
        int e = pk_fs_write(k, x->pid, o->ino, off + done, tmp, n, &put);
        if (e) return done ? (int64_t)done : e;
        done += put;
    }
    if ((!at || (o->flags & PK_O_APPEND)) && (st.mode & PK_S_IFMT) == PK_S_IFREG)
        OFD(x, oi)->off = off + done;
    return (int64_t)done;
}

static int64_t finish_io(fx *x, int64_t oi, int64_t v) {
    if (v == BLOCK) return wait_pipe(x, OFD(x, oi)->pair);
    return v;
}

static int64_t sys_rw(fx *x, uint64_t fd, uint64_t va, uint64_t len, bool write) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    return finish_io(x, o, write ? wr(x, o, va, len, NULL) : rd(x, o, va, len, NULL));
}

static int64_t sys_rwv(fx *x, uint64_t fd, uint64_t iov, uint64_t cnt, bool write,
                       const uint64_t *at) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    if (cnt > 1024) return -EINVAL;
    if (at && (is_pipe(OFD(x, o)) || OFD(x, o)->kind == PK_OFD_STD)) return -ESPIPE;
    int64_t total = 0;
    uint64_t pos = at ? *at : 0;
    for (uint64_t i = 0; i < cnt; i++) {
        uint64_t v[2];
        if (cp(x, iov + 16 * i, v, 16, false)) return total ? total : -EFAULT;
        if ((int64_t)v[1] < 0) return total ? total : -EINVAL;
        if (!v[1]) continue;
        int64_t n = write ? wr(x, o, v[0], v[1], at ? &pos : NULL) : rd(x, o, v[0], v[1], at ? &pos : NULL);
        if (n == BLOCK && total) return total;
        if (n < 0) return total ? total : finish_io(x, o, n);
        total += n;
        pos += (uint64_t)n;
        if ((uint64_t)n < v[1]) break;
    }
    return total;
}

static int64_t sys_prw(fx *x, uint64_t fd, uint64_t va, uint64_t len, uint64_t off, bool write) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    pk_ofd *d = OFD(x, o);
    if (is_pipe(d) || d->kind == PK_OFD_STD) return -ESPIPE;
    if ((int64_t)off < 0) return -EINVAL;
    return write ? wr(x, o, va, len, &off) : rd(x, o, va, len, &off);
}

static int64_t sys_lseek(fx *x, uint64_t fd, uint64_t off, uint64_t whence) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    pk_ofd *d = OFD(x, o);
    if (d->kind != PK_OFD_FILE) return -ESPIPE;
    pk_fs_stat st;
    if (pk_fs_stat_get(x->k, d->ino, &st)) return -EBADF;
    uint32_t type = st.mode & PK_S_IFMT;
    if (type == PK_S_IFCHR) return whence > 2 ? -EINVAL : 0;       /* devices: no position */
    int64_t base;
    switch (whence) {
    case 0: base = 0; break;
    case 1: base = (int64_t)d->off; break;
    case 2: if (type == PK_S_IFDIR) return -EINVAL; base = (int64_t)st.size; break;
    case 3: case 4:                                                 /* SEEK_DATA, SEEK_HOLE */
        if (type != PK_S_IFREG) return -EINVAL;
        if ((int64_t)off < 0 || off >= st.size) return -ENXIO;
        d->off = whence == 3 ? off : st.size;                       /* holes read as data */
        return (int64_t)d->off;
    default: return -EINVAL;
    }
    int64_t r = base + (int64_t)off;
    if ((int64_t)off > 0 && r < base) return -EINVAL;               /* overflow */
    if (r < 0) return -EINVAL;
    d->off = (uint64_t)r;
    return r;
}

/* sendfile(2): up to count bytes from the regular file in (at *offp, or
 * its offset) to out, through a kernel buffer */
static int64_t sys_sendfile(fx *x, uint64_t out, uint64_t in, uint64_t offp, uint64_t count) {
    pk_kernel *k = x->k;
    int64_t oo = pk_fd_get(k, x->pid, out), io = pk_fd_get(k, x->pid, in);
    if (oo < 0) return oo;
    if (io < 0) return io;
    pk_ofd *d = OFD(x, io);
    if ((d->flags & PK_O_ACCMODE) == 1 || (OFD(x, oo)->flags & PK_O_ACCMODE) == 0) return -EBADF;
    if (OFD(x, oo)->flags & PK_O_APPEND) return -EINVAL;
    pk_fs_stat st;
    if (d->kind != PK_OFD_FILE || pk_fs_stat_get(k, d->ino, &st) || (st.mode & PK_S_IFMT) != PK_S_IFREG)
        return -EINVAL;
    uint64_t off = d->off;
    if (offp) {
        if (cp(x, offp, &off, 8, false)) return -EFAULT;
        if ((int64_t)off < 0) return -EINVAL;
    }
    if (count > 0x7ffff000u) count = 0x7ffff000u;       /* MAX_RW_COUNT */
    uint8_t buf[4096];
    uint64_t done = 0;
    int64_t err = 0;
    while (done < count) {
        uint64_t m = count - done < sizeof buf ? count - done : sizeof buf, got = 0;
        int e = pk_fs_read(k, x->pid, d->ino, off + done, buf, m, &got);
        if (e) { err = e; break; }
        if (!got) break;
        int64_t put = wr_from(x, oo, 0, buf, got, NULL);
        if (put == BLOCK && !done) return wait_pipe(x, OFD(x, oo)->pair);
        if (put < 0) { err = put == BLOCK ? 0 : put; break; }
        done += (uint64_t)put;
        if ((uint64_t)put < got) break;
    }
    if (!done && err) return err;
    off += done;
    if (offp) { if (cp(x, offp, &off, 8, true)) return -EFAULT; }
    else OFD(x, io)->off = off;
    return (int64_t)done;
}

/* ---- stat --------------------------------------------------------------------------- */

typedef struct attrs {
    uint64_t dev, ino, size, blocks, rdev;
    uint32_t mode, nlink, uid, gid;
    uint64_t at, mt, ct;                           /* ns since the epoch */
} attrs;

static int attrs_of_ofd(fx *x, int64_t oi, attrs *a) {
    pk_ofd *o = OFD(x, oi);
    memset(a, 0, sizeof *a);
    if (o->kind == PK_OFD_FILE) {
        pk_fs_stat st;
        if (pk_fs_stat_get(x->k, o->ino, &st)) return -EBADF;
        *a = (attrs){ FS_DEV, st.ino, st.size, st.blocks, st.rdev, st.mode, st.nlink, st.uid,
                      st.gid, st.atime, st.mtime, st.ctime };
        return 0;
    }
    uint32_t uid = 0, gid = 0;
    pk_proc_creds_get(x->k, x->pid, &uid, &gid);
    a->mode = 0010000 | 0600;                      /* S_IFIFO: pipes, and the collected streams */
    if (o->kind == PK_OFD_STD && PK_OFD_TTY(o)) {  /* a terminal: /dev/tty's character device */
        a->mode = 0020000 | 0620;
        a->rdev = PK_FS_DEV_TTY;
    }
    a->nlink = 1;
    a->uid = uid;
    a->gid = gid;
    a->ino = o->kind == PK_OFD_STD ? o->stream + 1u : pk_obj_at(x->k, o->pair)->koid;
    return 0;
}

static int attrs_of_ino(fx *x, uint32_t ino, attrs *a) {
    pk_fs_stat st;
    if (pk_fs_stat_get(x->k, ino, &st)) return -EBADF;
    *a = (attrs){ FS_DEV, st.ino, st.size, st.blocks, st.rdev, st.mode, st.nlink, st.uid,
                  st.gid, st.atime, st.mtime, st.ctime };
    return 0;
}

/* attributes of (dirfd, path) with AT_* flags */
static int attrs_at(fx *x, uint64_t dirfd, uint64_t path, uint64_t flags, attrs *a) {
    char p[PK_FS_PATH_MAX];
    int64_t n = upath(x, path, p, flags & AT_EMPTY_PATH);
    if (n < 0) return (int)n;
    if (n == 0) {                                  /* AT_EMPTY_PATH: dirfd itself */
        if ((int32_t)dirfd == AT_FDCWD) {
            uint32_t cwd;
            pk_fs_cwd_get(x->k, x->pid, &cwd);
            return attrs_of_ino(x, cwd, a);
        }
        int64_t o = pk_fd_get(x->k, x->pid, (uint32_t)dirfd == dirfd ? dirfd : ~0ull);
        return o < 0 ? (int)o : attrs_of_ofd(x, o, a);
    }
    pk_fs_who w;
    int e = who_at(x, dirfd, p, n, &w);
    if (e) return e;
    uint32_t ino;
    e = pk_fs_lookup(x->k, &w, p, (uint32_t)n, flags & AT_SYMLINK_NOFOLLOW ? PK_FS_NOFOLLOW : 0, &ino);
    return e ? e : attrs_of_ino(x, ino, a);
}

static int64_t put_stat(fx *x, uint64_t va, const attrs *a) {
    uint8_t b[128];
    memset(b, 0, sizeof b);
    uint32_t blksize = 4096;
    int64_t t[6] = { (int64_t)(a->at / 1000000000u), (int64_t)(a->at % 1000000000u),
                     (int64_t)(a->mt / 1000000000u), (int64_t)(a->mt % 1000000000u),
                     (int64_t)(a->ct / 1000000000u), (int64_t)(a->ct % 1000000000u) };
    memcpy(b + 0, &a->dev, 8);
    memcpy(b + 8, &a->ino, 8);
    memcpy(b + 16, &a->mode, 4);
    memcpy(b + 20, &a->nlink, 4);
    memcpy(b + 24, &a->uid, 4);
    memcpy(b + 28, &a->gid, 4);
    memcpy(b + 32, &a->rdev, 8);
    memcpy(b + 48, &a->size, 8);
    memcpy(b + 56, &blksize, 4);
    memcpy(b + 64, &a->blocks, 8);
    memcpy(b + 72, t, sizeof t);
    return cp(x, va, b, sizeof b, true) ? -EFAULT : 0;
}

static int64_t sys_fstatat(fx *x, uint64_t dirfd, uint64_t path, uint64_t va, uint64_t flags) {
    if (flags & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT)) return -EINVAL;
    attrs a;
    int e = attrs_at(x, dirfd, path, flags, &a);
    return e ? e : put_stat(x, va, &a);
}

static int64_t sys_fstat(fx *x, uint64_t fd, uint64_t va) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    attrs a;
    int e = attrs_of_ofd(x, o, &a);
    return e ? e : put_stat(x, va, &a);
}

/* statx(2): the basic fields (STATX_BASIC_STATS), no birth time */
static int64_t sys_statx(fx *x, uint64_t dirfd, uint64_t path, uint64_t flags, uint64_t mask,
                         uint64_t va) {
    (void)mask;
    if (flags & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
        return -EINVAL;
    if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE) return -EINVAL;
    if (mask & 0x80000000u) return -EINVAL;                /* STATX__RESERVED */
    attrs a;
    int e = attrs_at(x, dirfd, path, flags, &a);
    if (e) return e;
    uint8_t b[256];
    memset(b, 0, sizeof b);
    uint32_t m = 0x7ff, blksize = 4096;                    /* STATX_BASIC_STATS */
    uint16_t mode = (uint16_t)a.mode;
    memcpy(b + 0, &m, 4);
    memcpy(b + 4, &blksize, 4);
    memcpy(b + 16, &a.nlink, 4);
    memcpy(b + 20, &a.uid, 4);
    memcpy(b + 24, &a.gid, 4);
    memcpy(b + 28, &mode, 2);
    memcpy(b + 32, &a.ino, 8);
    memcpy(b + 40, &a.size, 8);
    memcpy(b + 48, &a.blocks, 8);
    uint64_t ts[3] = { a.at, a.ct, a.mt };
    uint32_t where[3] = { 64, 96, 112 };                   /* atime, ctime, mtime */
    for (int i = 0; i < 3; i++) {
        int64_t sec = (int64_t)(ts[i] / 1000000000u);
        uint32_t ns = (uint32_t)(ts[i] % 1000000000u);
        memcpy(b + where[i], &sec, 8);
        memcpy(b + where[i] + 8, &ns, 4);
    }
    uint32_t dev[4] = { (uint32_t)(a.rdev >> 8), (uint32_t)(a.rdev & 0xff),
                        (uint32_t)(a.dev >> 8), (uint32_t)(a.dev & 0xff) };
    memcpy(b + 128, dev, 16);
    return cp(x, va, b, sizeof b, true) ? -EFAULT : 0;
}

/* ---- directories -------------------------------------------------------------------- */

static int64_t sys_getdents64(fx *x, uint64_t fd, uint64_t va, uint64_t cap) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    pk_ofd *d = OFD(x, o);
    if (d->kind != PK_OFD_FILE || (d->flags & PK_O_PATH)) return d->kind == PK_OFD_FILE ? -EBADF : -ENOTDIR;
    uint32_t ino = d->ino;
    uint64_t cur = d->off, done = 0;
    if (cap > MAX_IO) cap = MAX_IO;
    for (;;) {
        pk_fs_dirent de;
        uint64_t next = cur;
        int r = pk_fs_readdir(x->k, ino, &next, &de);
        if (r < 0) return done ? (int64_t)done : r;
        if (r == 0) break;
        uint64_t reclen = (19u + de.namelen + 1u + 7u) & ~7ull;
        if (done + reclen > cap) {
            if (!done) return -EINVAL;
            break;
        }
        uint8_t b[19 + 256 + 8];
        memset(b, 0, sizeof b);
        uint64_t dino = de.ino;
        int64_t doff = (int64_t)next;
        uint16_t rl = (uint16_t)reclen;
        memcpy(b, &dino, 8);
        memcpy(b + 8, &doff, 8);
        memcpy(b + 16, &rl, 2);
        b[18] = de.type;
        memcpy(b + 19, de.name, de.namelen);
        if (cp(x, va + done, b, reclen, true)) return done ? (int64_t)done : -EFAULT;
        done += reclen;
        cur = next;
    }
    OFD(x, o)->off = cur;
    return (int64_t)done;
}

/* ---- opening, closing, duplicating ----------------------------------------------------- */

static int64_t sys_openat(fx *x, uint64_t dirfd, uint64_t path, uint64_t flags, uint64_t mode) {
    pk_kernel *k = x->k;
    char p[PK_FS_PATH_MAX];
    int64_t n = upath(x, path, p, false);
    if (n < 0) return n;
    if ((flags & PK_O_TMPFILE) == PK_O_TMPFILE || (flags & PK_O_TMPFILE)) return -EOPNOTSUPP;
    uint32_t acc = flags & PK_O_ACCMODE;
    if (acc == 3 && !(flags & PK_O_PATH)) return -EINVAL;
    pk_fs_who w;
    int e = who_at(x, dirfd, p, n, &w);
    if (e) return e;
    pk_fdtab *tab = pk_fd_table(k, x->pid);
    if (!tab) return -ENOMEM;
    uint32_t umask = tab->umask, ino;
    bool created = false;
    if ((flags & PK_O_CREAT) && !(flags & PK_O_PATH)) {
        uint32_t probe;
        int le = pk_fs_lookup(k, &w, p, (uint32_t)n, 0, &probe);
        created = le == -PK_ENOENT;
        e = pk_fs_create(k, &w, p, (uint32_t)n, (uint32_t)(mode & 07777) & ~umask,
                         flags & PK_O_EXCL ? PK_FS_EXCL | PK_FS_NOFOLLOW : 0, &ino);
        if (e) return e;
    } else {
        e = pk_fs_lookup(k, &w, p, (uint32_t)n, flags & PK_O_NOFOLLOW ? PK_FS_NOFOLLOW : 0, &ino);
        if (e) return e;
    }
    pk_fs_stat st;
    pk_fs_stat_get(k, ino, &st);
    uint32_t type = st.mode & PK_S_IFMT;
    if (type == PK_S_IFLNK && !(flags & PK_O_PATH)) return -ELOOP;         /* O_NOFOLLOW */
    if ((flags & PK_O_DIRECTORY) && type != PK_S_IFDIR) return -ENOTDIR;
    if (!(flags & PK_O_PATH)) {
        if (type == PK_S_IFDIR && (acc != 0 || (flags & PK_O_TRUNC) || (flags & PK_O_CREAT)))
            return -EISDIR;
        if (!created) {
            uint32_t mask = (acc != 1 ? PK_FS_R : 0) | (acc != 0 ? PK_FS_W : 0)
                          | ((flags & PK_O_TRUNC) && type == PK_S_IFREG ? PK_FS_W : 0);
            if (mask && (e = pk_fs_access(k, &w, ino, mask))) return e;
        }
        if ((flags & PK_O_TRUNC) && type == PK_S_IFREG && st.size && (e = pk_fs_truncate(k, ino, 0)))
            return e;
    }
    uint32_t keep = (flags & PK_O_PATH) ? PK_O_PATH | PK_O_DIRECTORY | PK_O_NOFOLLOW
                  : (uint32_t)flags & ~(uint32_t)(PK_O_CREAT | PK_O_EXCL | PK_O_NOCTTY | PK_O_TRUNC | PK_O_CLOEXEC);
    int64_t o = pk_ofd_new(k, PK_OFD_FILE, keep | PK_O_LARGEFILE);
    if (o < 0) return o;
    if (pk_fs_get(k, ino)) {                      /* no more references to it */
        OFD(x, o)->refs = 1;
        OFD(x, o)->kind = PK_OFD_STD;
        pk_ofd_unref(k, (uint32_t)o);
        return -ENOMEM;
    }
    OFD(x, o)->ino = ino;
    int64_t fd = pk_fd_install(k, x->pid, (uint32_t)o, 0, flags & PK_O_CLOEXEC);
    if (fd < 0) {                                 /* no descriptor: the description goes */
        OFD(x, o)->refs = 1;
        pk_ofd_unref(k, (uint32_t)o);
    }
    return fd;
}

static int64_t sys_dup3(fx *x, uint64_t old, uint64_t nfd, uint64_t flags, bool is_dup3) {
    if (flags & ~(uint64_t)PK_O_CLOEXEC) return -EINVAL;
    if (is_dup3 && old == nfd) return -EINVAL;            /* before the fd is looked at */
    if (nfd >= PK_FD_MAX) return -EBADF;
    int64_t o = pk_fd_get(x->k, x->pid, old);
    if (o < 0) return o;
    if (old == nfd) return (int64_t)nfd;
    int e = pk_fd_install_at(x->k, x->pid, (uint32_t)o, (uint32_t)nfd, flags & PK_O_CLOEXEC);
    return e ? e : (int64_t)nfd;
}

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define PK_PIPE_MAX_SIZE 1048576u                 /* /proc/sys/fs/pipe-max-size */

static int64_t sys_fcntl(fx *x, uint64_t fd, uint64_t cmd, uint64_t arg) {
    pk_kernel *k = x->k;
    int64_t o = pk_fd_get(k, x->pid, fd);
    if (o < 0) return o;
    pk_fdtab *t = pk_fd_table(k, x->pid);
    switch ((uint32_t)cmd) {
    case F_DUPFD: case F_DUPFD_CLOEXEC:
        if ((uint32_t)arg >= PK_FD_MAX) return -EINVAL;
        return pk_fd_install(k, x->pid, (uint32_t)o, (uint32_t)arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD: return t->e[fd].cloexec;
    case F_SETFD: t->e[fd].cloexec = arg & 1; return 0;
    case F_GETFL: return OFD(x, o)->flags;
    case F_SETFL: {                               /* only these status flags change (fcntl(2)) */
        uint32_t ch = PK_O_APPEND | PK_O_NONBLOCK | PK_O_NOATIME;
        if (OFD(x, o)->flags & PK_O_PATH) return -EBADF;
        OFD(x, o)->flags = (OFD(x, o)->flags & ~ch) | ((uint32_t)arg & ch);
        return 0;
    }
    case F_GETPIPE_SZ:
        if (!is_pipe(OFD(x, o))) return -EBADF;
        return pk_obj_at(k, OFD(x, o)->pair)->target;
    case F_SETPIPE_SZ: {                          /* fs/pipe.c: whole pages, a power of two */
        if (!is_pipe(OFD(x, o))) return -EBADF;
        uint32_t uid = 0, gid = 0;
        pk_proc_creds_get(k, x->pid, &uid, &gid);
        if ((uint32_t)arg > PK_PIPE_MAX_SIZE && uid) return -EPERM;   /* pipe-max-size */
        if ((uint32_t)arg > (1u << 31)) return -EINVAL;
        uint64_t n = 4096;
        while (n < (uint32_t)arg) n <<= 1;
        if (n > PK_SOCKET_MAX_CAPACITY) return -EINVAL;
        uint32_t pair = OFD(x, o)->pair;
        pk_obj *rd = pk_obj_at(k, pair);
        if (rd->queued > n) return -EBUSY;
        rd->target = (uint32_t)n;
        if (rd->peer) pk_obj_at(k, rd->peer)->target = (uint32_t)n;
        pk_pipe_wake(k, pair);                    /* writers may find room now */
        return (int64_t)n;
    }
    }
    return -EINVAL;
}

static int64_t sys_pipe2(fx *x, uint64_t va, uint64_t flags) {
    pk_kernel *k = x->k;
    if (flags & ~(uint64_t)(PK_O_CLOEXEC | PK_O_NONBLOCK)) return -EINVAL;
    uint32_t nb = flags & PK_O_NONBLOCK, ce = (flags & PK_O_CLOEXEC) != 0;
    if (!pk_fd_table(k, x->pid)) return -ENOMEM;
    uint32_t ro, wo;
    if (pk_pipe_objs(k, PK_PIPE_CAPACITY, &ro, &wo)) return -ENOMEM;
    int64_t a = pk_ofd_new(k, PK_OFD_PIPE_R, 0 | nb), b = a < 0 ? a : pk_ofd_new(k, PK_OFD_PIPE_W, 1 | nb);
    if (b < 0) {
        if (a >= 0) { OFD(x, a)->refs = 1; OFD(x, a)->kind = PK_OFD_STD; pk_ofd_unref(k, (uint32_t)a); }
        pk_obj_unref(k, ro); pk_obj_unref(k, wo); pk_obj_reap(k);
        return -ENOMEM;
    }
    *OFD(x, a) = (pk_ofd){ 0, PK_OFD_PIPE_R, 0, {0, 0}, nb, 0, ro, ro, 0 };
    *OFD(x, b) = (pk_ofd){ 0, PK_OFD_PIPE_W, 0, {0, 0}, 1 | nb, 0, wo, ro, 0 };
    int64_t f0 = pk_fd_install(k, x->pid, (uint32_t)a, 0, ce);
    if (f0 < 0) {
        OFD(x, a)->refs = 1; pk_ofd_unref(k, (uint32_t)a);
        OFD(x, b)->refs = 1; pk_ofd_unref(k, (uint32_t)b);
        return f0;
    }
    int64_t f1 = pk_fd_install(k, x->pid, (uint32_t)b, 0, ce);
    if (f1 < 0) {
        pk_fd_close(k, x->pid, (uint64_t)f0);
        OFD(x, b)->refs = 1; pk_ofd_unref(k, (uint32_t)b);
        return f1;
    }
    int32_t v[2] = { (int32_t)f0, (int32_t)f1 };
    if (cp(x, va, v, 8, true)) {
        pk_fd_close(k, x->pid, (uint64_t)f0);
        pk_fd_close(k, x->pid, (uint64_t)f1);
        return -EFAULT;
    }
    return 0;
}

/* ---- terminals and readiness ------------------------------------------------------------ */

static bool is_tty(fx *x, int64_t o) {
    pk_fs_stat st;
    if (OFD(x, o)->kind == PK_OFD_STD) return PK_OFD_TTY(OFD(x, o)) != 0;
    return OFD(x, o)->kind == PK_OFD_FILE && !pk_fs_stat_get(x->k, OFD(x, o)->ino, &st)
        && (st.mode & PK_S_IFMT) == PK_S_IFCHR && st.rdev == PK_FS_DEV_TTY;
}

static int64_t sys_ioctl(fx *x, uint64_t fd, uint64_t req, uint64_t arg) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    req = (uint32_t)req;
    if (req == 0x541B && OFD(x, o)->kind == PK_OFD_PIPE_R) {          /* FIONREAD */
        int32_t n = (int32_t)pk_obj_at(x->k, OFD(x, o)->obj)->queued;
        return cp(x, arg, &n, 4, true) ? -EFAULT : 0;
    }
    if (!is_tty(x, o)) return -ENOTTY;
    if (req == 0x5401) {                          /* TCGETS: as `stty sane` leaves a terminal (coreutils stty.c) */
        uint8_t b[36];
        memset(b, 0, sizeof b);
        uint32_t fl[4] = { 0x2502,                /* BRKINT ICRNL IXON IMAXBEL */
                           0x5,                   /* OPOST | ONLCR */
                           0xbf,                  /* B38400 | CS8 | CREAD | HUPCL */
                           0x8a3b };              /* ISIG ICANON ECHO ECHOE ECHOK ECHOCTL ECHOKE IEXTEN */
        static const uint8_t cc[17] = { 3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0 };
        memcpy(b, fl, 16);
        memcpy(b + 17, cc, sizeof cc);            /* c_line 0, then c_cc (INIT_C_CC) */
        return cp(x, arg, b, sizeof b, true) ? -EFAULT : 0;
    }
    if (req == 0x5413) {                          /* TIOCGWINSZ: 24 rows, 80 columns */
        uint16_t ws[4] = { 24, 80, 0, 0 };
        return cp(x, arg, ws, 8, true) ? -EFAULT : 0;
    }
    return -ENOTTY;
}

#define POLLIN 1
#define POLLOUT 4
#define POLLERR 8
#define POLLHUP 0x10
#define POLLNVAL 0x20

/* what descriptor fd is ready for (POLL* bits), POLLNVAL if not open */
static uint32_t ready(fx *x, int32_t fd) {
    int64_t o = pk_fd_get(x->k, x->pid, (uint32_t)fd);
    if (o < 0) return POLLNVAL;
    pk_ofd *d = OFD(x, o);
    if (d->kind == PK_OFD_PIPE_R) {
        const pk_obj *ob = pk_obj_at(x->k, d->obj);
        return (ob->queued ? POLLIN : 0) | (ob->peer ? 0 : POLLHUP);
    }
    if (d->kind == PK_OFD_PIPE_W) {
        const pk_obj *ob = pk_obj_at(x->k, d->obj);
        if (!ob->peer) return POLLOUT | POLLERR;
        const pk_obj *pe = pk_obj_at(x->k, ob->peer);
        return pe->queued < pe->target ? POLLOUT : 0;
    }
    return POLLIN | POLLOUT;                      /* files, devices, streams: always */
}

/* The deadline of a ppoll / pselect6 with timeout tmo (user timespec;
 * 0: none, PK_FOREVER): a call run again after its wait keeps the deadline
 * it had (PK_POLL_WAIT_KEY); a fresh one starts its timeout now. */
static int poll_deadline(fx *x, uint64_t tmo, uint64_t *deadline) {
    pk_rvt *rt = &x->k->rv->thr[x->rid];
    if (rt->futex_hi == PK_POLL_WAIT_KEY && !rt->futex_waiting) {
        *deadline = rt->futex_lo;
        rt->futex_hi = 0;
        return 0;
    }
    *deadline = PK_FOREVER;
    if (!tmo) return 0;
    uint64_t ts[2];
    if (cp(x, tmo, ts, 16, false)) return -EFAULT;
    if ((int64_t)ts[0] < 0 || ts[1] >= 1000000000u) return -EINVAL;
    uint64_t ns = ts[0] > PK_MAX_TIME / 2000000000u ? PK_MAX_TIME / 2 : ts[0] * 1000000000u + ts[1];
    *deadline = x->k->now + ns;
    return 0;
}

/* the time left written back to the caller's timespec, as Linux does
 * (fs/select.c, poll_select_finish) */
static int put_left(fx *x, uint64_t tmo, uint64_t deadline) {
    if (!tmo || deadline == PK_FOREVER) return 0;
    uint64_t left = deadline > x->k->now ? deadline - x->k->now : 0;
    uint64_t ts[2] = { left / 1000000000u, left % 1000000000u };
    return cp(x, tmo, ts, 16, true) ? -EFAULT : 0;
}

/* nothing ready before the deadline: wait until a pipe changes (no
 * deadline) or until either a pipe changes or the deadline passes */
static int64_t poll_block(fx *x, uint64_t deadline) {
    pk_kernel *k = x->k;
    if (deadline == PK_FOREVER) return wait_pipe(x, 0);
    pk_rvstate *rs = k->rv;
    uint64_t want = (uint64_t)k->threads.count + 9 + (k->objs ? k->objs->deadlines : 0) + rs->timeouts + 1;
    if (want > 0xffffffffull
        || pk_evq_reserve(k, &k->evq, (uint32_t)(want > k->evq.n ? want - k->evq.n : 0)))
        return -ENOMEM;
    pk_rvt *rt = &rs->thr[x->rid];
    rt->futex_waiting = 1;
    rt->futex_hi = PK_POLL_WAIT_KEY;
    rt->futex_lo = deadline;
    rt->futex_seq = ++rs->futex_seq;
    pk_evq_post(k, &k->evq, deadline, PK_EV_RV_TIMEOUT,
                (uint64_t)x->t->tid | (rt->futex_seq & 0xffffffffu) << 32);
    rs->timeouts++;
    x->act = PK_ACT_WAIT;
    x->restart = true;
    return 0;
}

static int64_t sys_ppoll(fx *x, uint64_t fds, uint64_t nfds, uint64_t tmo) {
    if (nfds > PK_FD_MAX) return -EINVAL;
    uint64_t deadline;
    int e = poll_deadline(x, tmo, &deadline);
    if (e) return e;
    bool due = deadline <= x->k->now;
    uint8_t b[8 * 64];
    int64_t nready = 0;
    for (uint64_t i = 0; i < nfds; i += 64) {
        uint64_t m = nfds - i < 64 ? nfds - i : 64;
        if (cp(x, fds + 8 * i, b, 8 * m, false)) return -EFAULT;
        for (uint64_t j = 0; j < m; j++) {
            int32_t fd;
            int16_t ev;
            memcpy(&fd, b + 8 * j, 4);
            memcpy(&ev, b + 8 * j + 4, 2);
            uint16_t re = 0;
            if (fd >= 0) {
                uint32_t r = ready(x, fd);
                re = (uint16_t)(r & ((uint16_t)ev | POLLERR | POLLHUP | POLLNVAL));
            }
            memcpy(b + 8 * j + 6, &re, 2);
            nready += re != 0;
        }
        if (cp(x, fds + 8 * i, b, 8 * m, true)) return -EFAULT;
    }
    if (!nready && !due) return poll_block(x, deadline);
    e = put_left(x, tmo, deadline);
    return e ? e : nready;
}

static int64_t sys_pselect6(fx *x, uint64_t nfds, uint64_t rs, uint64_t ws, uint64_t es, uint64_t tmo) {
    if ((int64_t)(int32_t)nfds < 0) return -EINVAL;
    if (nfds > PK_FD_MAX) nfds = PK_FD_MAX;
    uint64_t words = (nfds + 63) / 64;
    uint64_t in[3][PK_FD_MAX / 64], out[3][PK_FD_MAX / 64];
    uint64_t va[3] = { rs, ws, es };
    memset(in, 0, sizeof in);
    memset(out, 0, sizeof out);
    for (int s = 0; s < 3; s++)
        if (va[s] && cp(x, va[s], in[s], words * 8, false)) return -EFAULT;
    uint64_t deadline;
    int e = poll_deadline(x, tmo, &deadline);
    if (e) return e;
    bool due = deadline <= x->k->now;
    int64_t n = 0;
    for (uint32_t fd = 0; fd < nfds; fd++) {
        uint64_t bit = 1ull << (fd % 64);
        bool any = (in[0][fd / 64] | in[1][fd / 64] | in[2][fd / 64]) & bit;
        if (!any) continue;
        uint32_t r = ready(x, (int32_t)fd);
        if (r & POLLNVAL) return -EBADF;
        if ((in[0][fd / 64] & bit) && (r & (POLLIN | POLLHUP))) { out[0][fd / 64] |= bit; n++; }
        if ((in[1][fd / 64] & bit) && (r & (POLLOUT | POLLERR))) { out[1][fd / 64] |= bit; n++; }
    }
    if (!n && !due) return poll_block(x, deadline);
    for (int s = 0; s < 3; s++)
        if (va[s] && cp(x, va[s], out[s], words * 8, true)) return -EFAULT;
    e = put_left(x, tmo, deadline);
    return e ? e : n;
}

/* ---- names -------------------------------------------------------------------------------- */

/* read path argument `path` and the credentials for it from dirfd */
#define PATH_AT(dirfd, path, empty_ok)                        \
    char p[PK_FS_PATH_MAX];                                   \
    int64_t n = upath(x, path, p, empty_ok);                  \
    if (n < 0) return n;                                      \
    pk_fs_who w;                                              \
    { int e_ = who_at(x, dirfd, p, n, &w); if (e_) return e_; }

static int64_t sys_mkdirat(fx *x, uint64_t dirfd, uint64_t path, uint64_t mode) {
    PATH_AT(dirfd, path, false);
    uint32_t um = pk_fd_table(x->k, x->pid)->umask;
    return pk_fs_mkdir(x->k, &w, p, (uint32_t)n, (uint32_t)(mode & 01777) & ~um);
}

static int64_t sys_unlinkat(fx *x, uint64_t dirfd, uint64_t path, uint64_t flags) {
    if (flags & ~(uint64_t)AT_REMOVEDIR) return -EINVAL;
    PATH_AT(dirfd, path, false);
    return pk_fs_unlink(x->k, &w, p, (uint32_t)n, flags & AT_REMOVEDIR ? PK_FS_REMOVEDIR : 0);
}

static int64_t sys_symlinkat(fx *x, uint64_t target, uint64_t dirfd, uint64_t path) {
    char tg[PK_FS_PATH_MAX];
    int64_t tn = upath(x, target, tg, false);
    if (tn < 0) return tn;
    PATH_AT(dirfd, path, false);
    return pk_fs_symlink(x->k, &w, tg, (uint32_t)tn, p, (uint32_t)n);
}

static int64_t sys_linkat(fx *x, uint64_t ofd, uint64_t old, uint64_t nfd, uint64_t path,
                          uint64_t flags) {
    if (flags & ~(uint64_t)AT_SYMLINK_FOLLOW) return -EINVAL;
    char op[PK_FS_PATH_MAX];
    int64_t on = upath(x, old, op, false);
    if (on < 0) return on;
    pk_fs_who wf;
    int e = who_at(x, ofd, op, on, &wf);
    if (e) return e;
    PATH_AT(nfd, path, false);
    if (flags & AT_SYMLINK_FOLLOW) {              /* a final symbolic link: its target instead */
        for (uint32_t hops = 0;; hops++) {
            uint32_t ino, tl;
            pk_fs_stat st;
            e = pk_fs_lookup(x->k, &wf, op, (uint32_t)on, PK_FS_NOFOLLOW, &ino);
            if (e) return e;
            pk_fs_stat_get(x->k, ino, &st);
            if ((st.mode & PK_S_IFMT) != PK_S_IFLNK) break;
            if (hops == PK_FS_MAXSYMLINKS) return -ELOOP;
            char t[PK_FS_PATH_MAX];
            e = pk_fs_readlink(x->k, &wf, op, (uint32_t)on, t, sizeof t, &tl);
            if (e) return e;
            int64_t d = on;                       /* a relative target starts in the link's directory */
            while (d > 0 && op[d - 1] != '/') d--;
            if (t[0] == '/') d = 0;
            if (d + tl >= PK_FS_PATH_MAX) return -PK_ENAMETOOLONG;
            memcpy(op + d, t, tl);
            on = d + tl;
            op[on] = 0;
        }
    }
    return pk_fs_link(x->k, &wf, op, (uint32_t)on, &w, p, (uint32_t)n);
}

static int64_t sys_renameat2(fx *x, uint64_t ofd, uint64_t old, uint64_t nfd, uint64_t path,
                             uint64_t flags) {
    if (flags & ~(uint64_t)1) return -EINVAL;     /* RENAME_EXCHANGE, WHITEOUT: not modelled */
    char op[PK_FS_PATH_MAX];
    int64_t on = upath(x, old, op, false);
    if (on < 0) return on;
    pk_fs_who wf;
    int e = who_at(x, ofd, op, on, &wf);
    if (e) return e;
    PATH_AT(nfd, path, false);
    uint32_t ino;
    if ((flags & 1) && !pk_fs_lookup(x->k, &w, p, (uint32_t)n, PK_FS_NOFOLLOW, &ino)) {
        if (pk_fs_lookup(x->k, &wf, op, (uint32_t)on, PK_FS_NOFOLLOW, &ino)) return -ENOENT;
        return -PK_EEXIST;                        /* RENAME_NOREPLACE */
    }
    return pk_fs_rename(x->k, &wf, op, (uint32_t)on, &w, p, (uint32_t)n);
}

static int64_t sys_readlinkat(fx *x, uint64_t dirfd, uint64_t path, uint64_t buf, uint64_t size) {
    if ((int32_t)size <= 0) return -EINVAL;
    PATH_AT(dirfd, path, false);
    if (!strcmp(p, "/proc/self/exe")) {           /* the program's path */
        pk_rvp *pr = rvp(x);
        uint64_t len = pr->exe_len < size ? pr->exe_len : size;
        return cp(x, buf, pr->exe, len, true) ? -EFAULT : (int64_t)len;
    }
    char t[PK_FS_PATH_MAX];
    uint32_t len;
    int e = pk_fs_readlink(x->k, &w, p, (uint32_t)n, t, sizeof t, &len);
    if (e) return e;
    if (len > size) len = (uint32_t)size;
    return cp(x, buf, t, len, true) ? -EFAULT : (int64_t)len;
}

static int64_t sys_faccessat(fx *x, uint64_t dirfd, uint64_t path, uint64_t mode, uint64_t flags) {
    if (mode & ~7ull) return -EINVAL;
    if (flags & ~(uint64_t)(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
    PATH_AT(dirfd, path, false);
    uint32_t ino;
    int e = pk_fs_lookup(x->k, &w, p, (uint32_t)n, flags & AT_SYMLINK_NOFOLLOW ? PK_FS_NOFOLLOW : 0, &ino);
    if (e || !mode) return e;
    return pk_fs_access(x->k, &w, ino, (uint32_t)mode);
}

static int64_t sys_fchmodat(fx *x, uint64_t dirfd, uint64_t path, uint64_t mode) {
    PATH_AT(dirfd, path, false);
    return pk_fs_chmod(x->k, &w, p, (uint32_t)n, (uint32_t)mode & 07777);
}

static int64_t sys_fchownat(fx *x, uint64_t dirfd, uint64_t path, uint64_t uid, uint64_t gid,
                            uint64_t flags) {
    if (flags & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
    PATH_AT(dirfd, path, (flags & AT_EMPTY_PATH) != 0);
    if (!n) { p[0] = '.'; n = 1; }                /* the directory dirfd itself */
    return pk_fs_chown(x->k, &w, p, (uint32_t)n, (uint32_t)uid, (uint32_t)gid,
                       flags & AT_SYMLINK_NOFOLLOW ? PK_FS_NOFOLLOW : 0);
}

static int64_t sys_utimensat(fx *x, uint64_t dirfd, uint64_t path, uint64_t times, uint64_t flags) {
    if (flags & ~(uint64_t)(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return -EINVAL;
    int64_t t[4] = { 0, PK_FS_UTIME_NOW, 0, PK_FS_UTIME_NOW };
    if (times && cp(x, times, t, sizeof t, false)) return -EFAULT;
    if (!path) {                                  /* futimens(fd) */
        if ((int32_t)dirfd == AT_FDCWD) return -EFAULT;
        return futimens(x, dirfd, t);
    }
    PATH_AT(dirfd, path, false);
    return pk_fs_utimens(x->k, &w, p, (uint32_t)n, t, flags & AT_SYMLINK_NOFOLLOW ? PK_FS_NOFOLLOW : 0);
}

static int64_t sys_truncate(fx *x, uint64_t path, uint64_t len) {
    if ((int64_t)len < 0) return -EINVAL;
    PATH_AT((uint64_t)(int64_t)AT_FDCWD, path, false);
    uint32_t ino;
    int e = pk_fs_lookup(x->k, &w, p, (uint32_t)n, 0, &ino);
    pk_fs_stat st;
    if (!e) e = pk_fs_stat_get(x->k, ino, &st);
    if (!e && (st.mode & PK_S_IFMT) == PK_S_IFDIR) return -EISDIR;
    if (!e && (st.mode & PK_S_IFMT) != PK_S_IFREG) return -EINVAL;
    if (!e) e = pk_fs_access(x->k, &w, ino, PK_FS_W);
    return e ? e : pk_fs_truncate(x->k, ino, len);
}

static int64_t sys_ftruncate(fx *x, uint64_t fd, uint64_t len) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    pk_ofd *d = OFD(x, o);
    if ((int64_t)len < 0 || d->kind != PK_OFD_FILE || !(d->flags & PK_O_ACCMODE) || (d->flags & PK_O_PATH))
        return (d->flags & PK_O_PATH) ? -EBADF : -EINVAL;
    pk_fs_stat st;
    if (pk_fs_stat_get(x->k, d->ino, &st) || (st.mode & PK_S_IFMT) != PK_S_IFREG) return -EINVAL;
    return pk_fs_truncate(x->k, d->ino, len);
}

static int64_t sys_fchdir(fx *x, uint64_t fd) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return o;
    if (OFD(x, o)->kind != PK_OFD_FILE) return -ENOTDIR;
    uint32_t ino = OFD(x, o)->ino;
    pk_fs_stat st;
    pk_fs_who w;
    if (pk_fs_stat_get(x->k, ino, &st) || (st.mode & PK_S_IFMT) != PK_S_IFDIR) return -ENOTDIR;
    if (pk_fs_who_of(x->k, x->pid, &w)) return -EINVAL;
    int e = pk_fs_access(x->k, &w, ino, PK_FS_X);
    return e ? e : pk_fs_cwd_set(x->k, x->pid, ino);
}

/* ---- attributes of an open file (fchmod, fchown, futimens) ----------------------------
 * The rules of chmod(2), chown(2) and utimensat(2) are pk_fs.c's, applied
 * to the inode of a description (pk_fs_fchmod, pk_fs_fchown, pk_fs_futimens). */

/* the inode of descriptor fd (O_PATH ones too) and the caller's
 * credentials; EINVAL for a descriptor with no inode (pipes, streams) */
static int fd_inode(fx *x, uint64_t fd, uint32_t *ino, pk_fs_who *w) {
    int64_t o = pk_fd_get(x->k, x->pid, fd);
    if (o < 0) return (int)o;
    if (OFD(x, o)->kind != PK_OFD_FILE) return -EINVAL;       /* pipes, streams: no inode */
    if (pk_fs_who_of(x->k, x->pid, w)) return -EINVAL;
    *ino = OFD(x, o)->ino;
    return 0;
}

static int64_t sys_fchmod(fx *x, uint64_t fd, uint64_t mode) {
    uint32_t ino = 0;
    pk_fs_who w;
    int e = fd_inode(x, fd, &ino, &w);
    return e ? e : pk_fs_fchmod(x->k, &w, ino, (uint32_t)(mode & 07777));
}

static int64_t sys_fchown(fx *x, uint64_t fd, uint64_t uid, uint64_t gid) {
    uint32_t ino = 0;
    pk_fs_who w;
    int e = fd_inode(x, fd, &ino, &w);
    return e ? e : pk_fs_fchown(x->k, &w, ino, (uint32_t)uid, (uint32_t)gid);
}

static int64_t futimens(fx *x, uint64_t fd, const int64_t *t) {
    uint32_t ino = 0;
    pk_fs_who w;
    int e = fd_inode(x, fd, &ino, &w);
    if (e) return e == -EINVAL ? -EBADF : e;
    return pk_fs_futimens(x->k, &w, ino, t);
}

/* ---- process groups, sessions, umask ------------------------------------------------------ */

/* the pk pid of Linux pid `lp` (0: the caller), or -ESRCH */
static int64_t proc_of(fx *x, uint64_t lp) {
    if (!lp) return x->pid;
    if ((int64_t)lp < 0) return -ESRCH;
    uint64_t p = lp - PK_RV_LINUX_ID_BASE;
    if (lp < PK_RV_LINUX_ID_BASE || p >= x->k->procs.count) return -ESRCH;
    const pk_proc *pr = pk_proc_at(x->k, (uint32_t)p);
    if (pr->state != PK_PS_ALIVE && pr->state != PK_PS_NEW && pr->tree != PK_PT_ZOMBIE) return -ESRCH;
    return (int64_t)p;
}

static int64_t sys_getpgid(fx *x, uint64_t lp, bool sid) {
    int64_t p = proc_of(x, lp);
    if (p < 0) return p;
    pk_fd_proc fp;                                /* another process's table stays as it is */
    if (pk_fd_proc_get(x->k, (uint32_t)p, &fp)) return -ESRCH;
    return sid ? fp.sid : fp.pgid;
}

static int64_t sys_setpgid(fx *x, uint64_t lp, uint64_t pgid) {
    if ((int64_t)pgid < 0) return -EINVAL;
    int64_t p = proc_of(x, lp);
    if (p < 0) return p;
    /* the caller or one of its children (setpgid(2); a child's execve is
     * not tracked, so EACCES is never answered) */
    if ((uint32_t)p != x->pid && pk_ptl(x->k, (uint32_t)p)->parent != x->pid + 1) return -ESRCH;
    pk_fdtab *mine = pk_fd_table(x->k, x->pid);
    if (!mine) return -ENOMEM;
    uint32_t my_sid = mine->sid;
    pk_fdtab *t = pk_fd_table(x->k, (uint32_t)p);
    if (!t) return -ENOMEM;
    uint32_t me = (uint32_t)p + PK_RV_LINUX_ID_BASE;
    if (!pgid) pgid = me;
    if (t->sid != my_sid) return -EPERM;          /* a child in another session */
    if (t->sid == me) return -EPERM;              /* a session leader stays in its group */
    if (pgid != me) {                             /* an existing group of its session */
        pk_fds *f = x->k->fds;
        bool found = false;
        for (uint32_t q = 0; q < f->ntab && !found; q++)
            found = f->tab[q].made && f->tab[q].pgid == pgid && f->tab[q].sid == t->sid
                 && pk_proc_at(x->k, q)->state == PK_PS_ALIVE;
        if (!found) return -EPERM;
    }
    t->pgid = (uint32_t)pgid;
    return 0;
}

static int64_t sys_setsid(fx *x) {
    pk_fdtab *t = pk_fd_table(x->k, x->pid);
    if (!t) return -ENOMEM;
    uint32_t me = x->pid + PK_RV_LINUX_ID_BASE;
    pk_fds *f = x->k->fds;
    for (uint32_t q = 0; q < f->ntab; q++)        /* a group leader cannot (setsid(2)) */
        if (f->tab[q].made && f->tab[q].pgid == me && pk_proc_at(x->k, q)->state == PK_PS_ALIVE)
            return -EPERM;
    t = pk_fd_table(x->k, x->pid);
    t->sid = t->pgid = me;
    return me;
}

/* ---- the calls ------------------------------------------------------------------------------ */

int64_t pk_rv_fd_syscall(pk_kernel *k, pk_cpu *c, pk_thread *t, uint32_t rid, uint64_t num,
                         const uint64_t *a, uint64_t *cost, uint32_t *dead, int *act,
                         bool *restart, bool *known) {
    fx X = { k, c, t, t->pid, rid, 0, 0, -1, false };
    fx *x = &X;
    int64_t v;
    *known = true;
    if (!pk_fd_table(k, t->pid)) { *cost = 0; return -ENOMEM; }
    switch (num) {
    case 56: v = sys_openat(x, a[0], a[1], a[2], a[3]); break;
    case 57: v = pk_fd_close(k, t->pid, a[0]); break;
    case 63: v = sys_rw(x, a[0], a[1], a[2], false); break;
    case 64: v = sys_rw(x, a[0], a[1], a[2], true); break;
    case 65: v = sys_rwv(x, a[0], a[1], a[2], false, NULL); break;
    case 66: v = sys_rwv(x, a[0], a[1], a[2], true, NULL); break;
    case 67: v = sys_prw(x, a[0], a[1], a[2], a[3], false); break;
    case 68: v = sys_prw(x, a[0], a[1], a[2], a[3], true); break;
    case 69: case 70: {                                          /* preadv, pwritev */
        int64_t o = pk_fd_get(k, t->pid, a[0]);
        if (o >= 0 && (int64_t)a[3] < 0) { v = -EINVAL; break; }
        v = o < 0 ? o : sys_rwv(x, a[0], a[1], a[2], num == 70, &a[3]);
        break;
    }
    case 62: v = sys_lseek(x, a[0], a[1], a[2]); break;
    case 71: v = sys_sendfile(x, a[0], a[1], a[2], a[3]); break;
    case 61: v = sys_getdents64(x, a[0], a[1], a[2]); break;
    case 79: v = sys_fstatat(x, a[0], a[1], a[2], a[3]); break;
    case 80: v = sys_fstat(x, a[0], a[1]); break;
    case 291: v = sys_statx(x, a[0], a[1], a[2], a[3], a[4]); break;
    case 34: v = sys_mkdirat(x, a[0], a[1], a[2]); break;
    case 35: v = sys_unlinkat(x, a[0], a[1], a[2]); break;
    case 36: v = sys_symlinkat(x, a[0], a[1], a[2]); break;
    case 37: v = sys_linkat(x, a[0], a[1], a[2], a[3], a[4]); break;
    case 276: v = sys_renameat2(x, a[0], a[1], a[2], a[3], a[4]); break;
    case 78: v = sys_readlinkat(x, a[0], a[1], a[2], a[3]); break;
    case 48: v = sys_faccessat(x, a[0], a[1], a[2], 0); break;
    case 439: v = sys_faccessat(x, a[0], a[1], a[2], a[3]); break;
    case 53: v = sys_fchmodat(x, a[0], a[1], a[2]); break;
    case 54: v = sys_fchownat(x, a[0], a[1], a[2], a[3], a[4]); break;
    case 52: v = sys_fchmod(x, a[0], a[1]); break;
    case 55: v = sys_fchown(x, a[0], a[1], a[2]); break;
    case 88: v = sys_utimensat(x, a[0], a[1], a[2], a[3]); break;
    case 45: v = sys_truncate(x, a[0], a[1]); break;
    case 46: v = sys_ftruncate(x, a[0], a[1]); break;
    case 50: v = sys_fchdir(x, a[0]); break;
    case 23: {                                                   /* dup */
        int64_t o = pk_fd_get(k, t->pid, a[0]);
        v = o < 0 ? o : pk_fd_install(k, t->pid, (uint32_t)o, 0, false);
        break;
    }
    case 24: v = sys_dup3(x, a[0], a[1], a[2], true); break;
    case 25: v = sys_fcntl(x, a[0], a[1], a[2]); break;
    case 59: v = sys_pipe2(x, a[0], a[1]); break;
    case 29: v = sys_ioctl(x, a[0], a[1], a[2]); break;
    case 73: v = sys_ppoll(x, a[0], a[1], a[2]); break;
    case 72: v = sys_pselect6(x, a[0], a[1], a[2], a[3], a[4]); break;
    case 82: case 83: {                                          /* fsync, fdatasync: in memory */
        int64_t o = pk_fd_get(k, t->pid, a[0]);
        v = o < 0 ? o : is_pipe(OFD(x, o)) || OFD(x, o)->kind == PK_OFD_STD ? -EINVAL : 0;
        break;
    }
    case 166: {                                                  /* umask */
        pk_fdtab *tb = pk_fd_table(k, t->pid);
        v = tb->umask;
        tb->umask = (uint32_t)a[0] & 0777;
        break;
    }
    case 154: v = sys_setpgid(x, a[0], a[1]); break;
    case 155: v = sys_getpgid(x, a[0], false); break;
    case 156: v = sys_getpgid(x, a[0], true); break;
    case 157: v = sys_setsid(x); break;
    default: *known = false; v = -ENOSYS; break;
    }
    *cost = x->cost;
    *dead = x->dead;
    *act = x->act;
    *restart = x->restart;
    return v;
}
