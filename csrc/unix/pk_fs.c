/* pk_fs.c - the in-memory file system of a kernel (docs/userland.md).
 *
 * Path resolution follows path_resolution(7): a path starts at the root
 * if it begins with '/', else at the caller's directory (pk_fs_who.cwd);
 * every directory passed through needs search (x) permission; "." and
 * ".." name the directory and its parent (the root's is itself); a
 * symbolic link in the middle of a path is always followed, a final one
 * unless the call says not to; more than PK_FS_MAXSYMLINKS links in one
 * resolution give ELOOP, a name longer than NAME_MAX or a path of
 * PATH_MAX bytes or more ENAMETOOLONG; a path that ends in '/' must name
 * a directory.  Permission checks are the classic ones of inode(7) and
 * access(2): the owner's bits for the owner, the group's for the group,
 * the others' for everyone else; uid 0 passes every check but execution
 * of a file with no x bit at all.
 *
 * Every entry point validates its arguments and answers 0 (or a count)
 * or a negative Linux errno; none of them crashes on bad input. */
#include <string.h>
#include "pk_core.h"

#define I(fs, i) (&(fs)->ino[i])
#define TYPE(n) ((n)->mode & PK_S_IFMT)
#define ISDIR(n) (TYPE(n) == PK_S_IFDIR)
#define ISREG(n) (TYPE(n) == PK_S_IFREG)
#define ISLNK(n) (TYPE(n) == PK_S_IFLNK)
#define ISCHR(n) (TYPE(n) == PK_S_IFCHR)

static uint64_t now_ns(const pk_kernel *k) {
    unsigned __int128 t = (unsigned __int128)k->cfg.epoch * 1000000000u + k->now;
    return t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

/* ---- inodes -------------------------------------------------------------------- */

static bool live(const pk_fs *fs, uint32_t ino) {
    return ino && ino < fs->n && fs->ino[ino].mode;
}

/* a new inode of mode, owned by who: its number, or a negative errno */
static int64_t inode_new(pk_kernel *k, uint32_t mode, uint32_t uid, uint32_t gid) {
    pk_fs *fs = k->fs;
    if (fs->live >= fs->max_inodes) return -PK_ENOSPC;
    uint32_t ino = fs->free_head;
    if (ino) {
        fs->free_head = fs->ino[ino].parent;
    } else {
        if (fs->n == UINT32_MAX) return -PK_ENOSPC;
        if (pk_vec_grow(k, (void **)&fs->ino, &fs->cap, fs->n + 1, sizeof(pk_inode))) return -PK_ENOMEM;
        ino = fs->n++;
    }
    pk_inode *n = I(fs, ino);
    memset(n, 0, sizeof *n);
    n->mode = mode;
    n->uid = uid;
    n->gid = gid;
    n->atime = n->mtime = n->ctime = now_ns(k);
    n->version = ++fs->vseq;
    fs->live++;
    return ino;
}

/* A new zeroed page for slot pg of regular file ino: in a kernel with
 * memory, a frame of the file's page cache (made at its first page), so
 * that read / write and mappings share it; NULL: no memory or frame. */
static uint8_t *page_new(pk_kernel *k, uint32_t ino, uint64_t pg) {
    if (!k->mem) return pk_alloc(k, PK_FS_PAGE);
    pk_inode *n = I(k->fs, ino);
    if (!n->cache && !(n->cache = pk_cache_new(k, ino))) return NULL;
    uint32_t f = pk_cache_page(k, n->cache, pg);
    return f ? k->mem->data[f] : NULL;
}

static void pages_drop(pk_kernel *k, pk_inode *n, uint64_t from) {
    for (uint64_t i = from; i < n->pcap; i++)
        if (n->pages[i]) {
            if (!n->cache) pk_free(k, n->pages[i], PK_FS_PAGE);
            else if (k->mem) pk_cache_drop(k, n->cache, i);   /* mappings keep theirs */
            n->pages[i] = NULL;
            n->held--;
            k->fs->pages--;
        }
}

/* free ino if nothing names or holds it */
static void inode_maybe_free(pk_kernel *k, uint32_t ino) {
    pk_fs *fs = k->fs;
    pk_inode *n = I(fs, ino);
    if (n->nlink || n->refs || ino == PK_FS_ROOT) return;
    pages_drop(k, n, 0);
    if (n->cache && k->mem) pk_cache_release(k, n->cache);
    pk_free(k, n->pages, n->pcap * sizeof(uint8_t *));
    fs->slots -= n->pcap;
    for (uint32_t i = 0; i < n->n; i++) pk_free(k, n->ents[i].name, n->ents[i].len);
    pk_free(k, n->ents, n->cap * sizeof(pk_dent));
    if (ISLNK(n)) pk_free(k, n->target, n->size);
    memset(n, 0, sizeof *n);
    n->parent = fs->free_head;
    fs->free_head = ino;
    fs->live--;
}

static void touch_change(pk_kernel *k, pk_inode *n) {       /* contents changed */
    n->mtime = n->ctime = now_ns(k);
    n->version = ++k->fs->vseq;
}

/* ---- directories ------------------------------------------------------------- */

static int64_t dir_find(const pk_inode *d, const char *name, uint32_t len) {
    for (uint32_t i = 0; i < d->n; i++)
        if (d->ents[i].len == len && !memcmp(d->ents[i].name, name, len)) return i;
    return -1;
}

static int dir_add(pk_kernel *k, uint32_t dir, const char *name, uint32_t len, uint32_t ino) {
    pk_fs *fs = k->fs;
    char *copy = pk_alloc(k, len);
    if (!copy) return -PK_ENOMEM;
    pk_inode *d = I(fs, dir);
    if (pk_vec_grow(k, (void **)&d->ents, &d->cap, d->n + 1, sizeof(pk_dent))) {
        pk_free(k, copy, len);
        return -PK_ENOMEM;
    }
    memcpy(copy, name, len);
    d->ents[d->n++] = (pk_dent){ copy, d->seq++, ino, (uint16_t)len, 0 };
    touch_change(k, d);
    return 0;
}

/* Name a new inode (its first link) in dir; if that fails the inode is
 * freed again and the error returned. */
static int dir_add_new(pk_kernel *k, uint32_t dir, const char *name, uint32_t len, uint32_t ino) {
    I(k->fs, ino)->nlink = 1;
    int e = dir_add(k, dir, name, len, ino);
    if (e) {
        I(k->fs, ino)->nlink = 0;
        inode_maybe_free(k, ino);
    }
    return e;
}

static void dir_remove(pk_kernel *k, uint32_t dir, uint32_t idx) {
    pk_inode *d = I(k->fs, dir);
    pk_free(k, d->ents[idx].name, d->ents[idx].len);
    memmove(&d->ents[idx], &d->ents[idx + 1], (d->n - idx - 1) * sizeof(pk_dent));
    d->n--;
    touch_change(k, d);
}

/* ---- permissions ------------------------------------------------------------- */

static int may(const pk_inode *n, const pk_fs_who *w, uint32_t mask) {
    if (w->uid == 0) {
        if (!(mask & PK_FS_X) || ISDIR(n) || (n->mode & 0111)) return 0;
        return -PK_EACCES;
    }
    uint32_t bits = w->uid == n->uid ? n->mode >> 6 : w->gid == n->gid ? n->mode >> 3 : n->mode;
    return (bits & mask & 7) == mask ? 0 : -PK_EACCES;
}

/* the sticky bit of dir: only the owner of the entry or of dir (or root)
 * removes or renames it */
static int sticky_ok(const pk_inode *d, const pk_inode *victim, const pk_fs_who *w) {
    if (!(d->mode & PK_S_ISVTX) || w->uid == 0 || w->uid == d->uid || w->uid == victim->uid) return 0;
    return -PK_EPERM;
}

/* ---- path resolution --------------------------------------------------------- */

typedef struct wctx {
    pk_fs *fs;
    const pk_fs_who *w;
    uint32_t links;                /* symbolic links followed so far */
} wctx;

static bool is_dot(const char *s, uint32_t n) { return n == 1 && s[0] == '.'; }
static bool is_dotdot(const char *s, uint32_t n) { return n == 2 && s[0] == '.' && s[1] == '.'; }

/* resolve p[0..len) from directory `at` (a path starting with '/' from
 * the root); follow: follow a final symbolic link */
static int walk(wctx *c, uint32_t at, const char *p, uint64_t len, bool follow, uint32_t *out) {
    pk_fs *fs = c->fs;
    uint32_t cur = len && p[0] == '/' ? PK_FS_ROOT : at;
    uint64_t i = 0;
    for (;;) {
        while (i < len && p[i] == '/') i++;
        if (i == len) break;
        uint64_t s = i;
        while (i < len && p[i] != '/') i++;
        uint64_t nl = i - s, j = i;
        while (j < len && p[j] == '/') j++;
        bool last = j == len, slash = i < len;
        if (nl > PK_FS_NAME_MAX) return -PK_ENAMETOOLONG;
        const pk_inode *d = I(fs, cur);
        if (!ISDIR(d)) return -PK_ENOTDIR;
        int e = may(d, c->w, PK_FS_X);
        if (e) return e;
        if (is_dot(p + s, (uint32_t)nl)) continue;
        if (is_dotdot(p + s, (uint32_t)nl)) { cur = d->parent; continue; }
        int64_t idx = dir_find(d, p + s, (uint32_t)nl);
        if (idx < 0) return -PK_ENOENT;
        uint32_t child = d->ents[idx].ino;
        const pk_inode *cn = I(fs, child);
        if (ISLNK(cn) && (!last || follow || slash)) {
            if (++c->links > PK_FS_MAXSYMLINKS) return -PK_ELOOP;
            uint32_t t;
            e = walk(c, cur, cn->target, cn->size, true, &t);
            if (e) return e;
            child = t;
        }
        cur = child;
    }
    if (len && p[len - 1] == '/' && !ISDIR(I(fs, cur))) return -PK_ENOTDIR;
    *out = cur;
    return 0;
}

static int path_ok(const char *p, uint32_t len) {
    if (!len) return -PK_ENOENT;
    if (len >= PK_FS_PATH_MAX) return -PK_ENAMETOOLONG;
    if (memchr(p, 0, len)) return -PK_EINVAL;
    return 0;
}

/* the directory holding the last name of a path, and that name ("." for
 * the root); *slash: the path ends in '/' */
static int walk_parent(wctx *c, const char *p, uint32_t len, uint32_t *dir, const char **name,
                       uint32_t *nl, bool *slash) {
    int e = path_ok(p, len);
    if (e) return e;
    uint32_t end = len;
    while (end > 0 && p[end - 1] == '/') end--;
    *slash = end < len;
    if (end == 0) { *dir = PK_FS_ROOT; *name = "."; *nl = 1; return 0; }
    uint32_t s = end;
    while (s > 0 && p[s - 1] != '/') s--;
    if (end - s > PK_FS_NAME_MAX) return -PK_ENAMETOOLONG;
    e = walk(c, c->w->cwd, p, s, true, dir);
    if (e) return e;
    if (!ISDIR(I(c->fs, *dir))) return -PK_ENOTDIR;
    *name = p + s;
    *nl = end - s;
    return 0;
}

/* ---- set-up ---------------------------------------------------------------------- */

static int mknode(pk_kernel *k, uint32_t dir, const char *name, uint32_t mode, uint32_t rdev) {
    int64_t ino = inode_new(k, mode, 0, 0);
    if (ino < 0) return (int)ino;
    pk_inode *n = I(k->fs, ino);
    n->rdev = rdev;
    n->nlink = 1;
    if (ISDIR(n)) { n->nlink = 2; n->parent = dir; I(k->fs, dir)->nlink++; }
    int e = dir_add(k, dir, name, (uint32_t)strlen(name), (uint32_t)ino);
    return e ? e : (int)ino;
}

int pk_fs_state(pk_kernel *k) {
    if (k->fs) return 0;
    pk_fs *fs = pk_alloc(k, sizeof *fs);
    if (!fs) return -PK_ENOMEM;
    fs->n = 1;                                   /* [0] names no inode */
    fs->max_bytes = PK_FS_DEFAULT_MAX_BYTES;
    fs->max_inodes = PK_FS_DEFAULT_MAX_INODES;
    k->fs = fs;
    int64_t root = inode_new(k, PK_S_IFDIR | 0755, 0, 0);
    if (root != PK_FS_ROOT) { pk_fs_fini(k); return -PK_ENOMEM; }
    I(fs, PK_FS_ROOT)->nlink = 2;
    I(fs, PK_FS_ROOT)->parent = PK_FS_ROOT;
    int dev = mknode(k, PK_FS_ROOT, "dev", PK_S_IFDIR | 0755, 0);
    int e = dev < 0 ? dev : mknode(k, PK_FS_ROOT, "tmp", PK_S_IFDIR | PK_S_ISVTX | 0777, 0);
    if (e >= 0) e = mknode(k, (uint32_t)dev, "null", PK_S_IFCHR | 0666, PK_FS_DEV_NULL);
    if (e >= 0) e = mknode(k, (uint32_t)dev, "zero", PK_S_IFCHR | 0666, PK_FS_DEV_ZERO);
    if (e >= 0) e = mknode(k, (uint32_t)dev, "urandom", PK_S_IFCHR | 0666, PK_FS_DEV_URANDOM);
    if (e >= 0) e = mknode(k, (uint32_t)dev, "tty", PK_S_IFCHR | 0666, PK_FS_DEV_TTY);
    if (e < 0) { pk_fs_fini(k); return e; }
    return 0;
}

void pk_fs_fini(pk_kernel *k) {
    pk_fs *fs = k->fs;
    if (!fs) return;
    for (uint32_t i = 1; i < fs->n; i++) {
        pk_inode *n = I(fs, i);
        if (!n->mode) continue;
        pages_drop(k, n, 0);
        if (n->cache && k->mem) pk_cache_release(k, n->cache);
        pk_free(k, n->pages, n->pcap * sizeof(uint8_t *));
        for (uint32_t j = 0; j < n->n; j++) pk_free(k, n->ents[j].name, n->ents[j].len);
        pk_free(k, n->ents, n->cap * sizeof(pk_dent));
        if (ISLNK(n)) pk_free(k, n->target, n->size);
    }
    pk_free(k, fs->ino, fs->cap * sizeof(pk_inode));
    pk_free(k, fs->cwd, fs->cwd_cap * sizeof(uint32_t));
    pk_free(k, fs, sizeof *fs);
    k->fs = NULL;
}

/* the common start of an entry point: k valid, the file system made */
static int enter(pk_kernel *k, const pk_fs_who *w) {
    if (!k || !w) return -PK_EINVAL;
    if (k->in_hook) return -PK_EBUSY;
    int e = pk_fs_state(k);
    if (e) return e;
    if (w->cwd && !(live(k->fs, w->cwd) && ISDIR(I(k->fs, w->cwd)))) return -PK_ENOTDIR;
    return 0;
}

/* who with cwd 0 replaced by the root */
static pk_fs_who who_of(const pk_fs_who *w) {
    pk_fs_who x = *w;
    if (!x.cwd) x.cwd = PK_FS_ROOT;
    return x;
}

/* ---- lookups ----------------------------------------------------------------------- */

int pk_fs_lookup(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                 uint32_t flags, uint32_t *ino_out) {
    int e = enter(k, who);
    if (e) return e;
    if (!ino_out || (len && !path) || (flags & ~PK_FS_NOFOLLOW)) return -PK_EINVAL;
    if ((e = path_ok(path, len))) return e;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    return walk(&c, w.cwd, path, len, !(flags & PK_FS_NOFOLLOW), ino_out);
}

int pk_fs_access(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t mask) {
    int e = enter(k, who);
    if (e) return e;
    if (!live(k->fs, ino) || mask > 7) return -PK_EINVAL;
    return may(I(k->fs, ino), who, mask);
}

int pk_fs_stat_get(pk_kernel *k, uint32_t ino, pk_fs_stat *out) {
    if (!k || !out) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    if (!live(k->fs, ino)) return -PK_EINVAL;
    const pk_inode *n = I(k->fs, ino);
    *out = (pk_fs_stat){ ino, n->mode, n->nlink, n->uid, n->gid, n->rdev, n->size,
                         n->held * (PK_FS_PAGE / 512), n->atime, n->mtime, n->ctime,
                         n->refs, 0, n->version };
    return 0;
}

/* ---- making names -------------------------------------------------------------------- */

static int create_at(pk_kernel *k, wctx *c, uint32_t at, const char *path, uint32_t len,
                     uint32_t mode, uint32_t flags, uint32_t *ino_out) {
    pk_fs *fs = k->fs;
    pk_fs_who w = *c->w;
    w.cwd = at;
    wctx cc = { fs, &w, c->links };
    uint32_t dir, nl;
    const char *name;
    bool slash;
    int e = walk_parent(&cc, path, len, &dir, &name, &nl, &slash);
    c->links = cc.links;
    if (e) return e;
    if (is_dot(name, nl) || is_dotdot(name, nl)) return flags & PK_FS_EXCL ? -PK_EEXIST : -PK_EISDIR;
    if ((e = may(I(fs, dir), c->w, PK_FS_X))) return e;
    int64_t idx = dir_find(I(fs, dir), name, nl);
    if (idx >= 0) {
        uint32_t ino = I(fs, dir)->ents[idx].ino;
        if (flags & PK_FS_EXCL) return -PK_EEXIST;
        if (ISLNK(I(fs, ino))) {
            if (flags & PK_FS_NOFOLLOW) return -PK_ELOOP;
            if (++c->links > PK_FS_MAXSYMLINKS) return -PK_ELOOP;
            const pk_inode *l = I(fs, ino);
            return create_at(k, c, dir, l->target, (uint32_t)l->size, mode, flags, ino_out);
        }
        if (ISDIR(I(fs, ino)) || slash) return -PK_EISDIR;
        *ino_out = ino;
        return 0;
    }
    if (slash) return -PK_EISDIR;
    if (!I(fs, dir)->nlink) return -PK_ENOENT;
    if ((e = may(I(fs, dir), c->w, PK_FS_W | PK_FS_X))) return e;
    uint32_t gid = I(fs, dir)->mode & PK_S_ISGID ? I(fs, dir)->gid : c->w->gid;
    int64_t ino = inode_new(k, PK_S_IFREG | (mode & 07777), c->w->uid, gid);
    if (ino < 0) return (int)ino;
    if ((e = dir_add_new(k, dir, name, nl, (uint32_t)ino))) return e;
    *ino_out = (uint32_t)ino;
    return 0;
}

int pk_fs_create(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                 uint32_t mode, uint32_t flags, uint32_t *ino_out) {
    int e = enter(k, who);
    if (e) return e;
    if (!ino_out || (len && !path) || mode > 07777 || (flags & ~(PK_FS_EXCL | PK_FS_NOFOLLOW)))
        return -PK_EINVAL;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    return create_at(k, &c, w.cwd, path, len, mode, flags, ino_out);
}

/* the parent and name of a name to make: EEXIST if it exists */
static int new_name(pk_kernel *k, wctx *c, const char *path, uint32_t len, bool dir_ok,
                    uint32_t *dir, const char **name, uint32_t *nl) {
    bool slash;
    int e = walk_parent(c, path, len, dir, name, nl, &slash);
    if (e) return e;
    pk_inode *d = I(k->fs, *dir);
    if (is_dot(*name, *nl) || is_dotdot(*name, *nl)) return -PK_EEXIST;
    if ((e = may(d, c->w, PK_FS_X))) return e;
    if (dir_find(d, *name, *nl) >= 0) return -PK_EEXIST;
    if (slash && !dir_ok) return -PK_ENOENT;
    if (!d->nlink) return -PK_ENOENT;
    return may(d, c->w, PK_FS_W | PK_FS_X);
}

int pk_fs_mkdir(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t mode) {
    int e = enter(k, who);
    if (e) return e;
    if ((len && !path) || mode > 07777) return -PK_EINVAL;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    uint32_t dir, nl;
    const char *name;
    if ((e = new_name(k, &c, path, len, true, &dir, &name, &nl))) return e;
    pk_fs *fs = k->fs;
    if (I(fs, dir)->nlink >= PK_FS_LINK_MAX) return -PK_EMLINK;
    uint32_t sgid = I(fs, dir)->mode & PK_S_ISGID;
    uint32_t gid = sgid ? I(fs, dir)->gid : w.gid;
    int64_t ino = inode_new(k, PK_S_IFDIR | (mode & 07777) | sgid, w.uid, gid);
    if (ino < 0) return (int)ino;
    if ((e = dir_add(k, dir, name, nl, (uint32_t)ino))) { inode_maybe_free(k, (uint32_t)ino); return e; }
    I(fs, ino)->nlink = 2;
    I(fs, ino)->parent = dir;
    I(fs, dir)->nlink++;
    return 0;
}

int pk_fs_symlink(pk_kernel *k, const pk_fs_who *who, const char *target, uint32_t tlen,
                  const char *path, uint32_t len) {
    int e = enter(k, who);
    if (e) return e;
    if ((len && !path) || (tlen && !target)) return -PK_EINVAL;
    if ((e = path_ok(target, tlen))) return e;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    uint32_t dir, nl;
    const char *name;
    if ((e = new_name(k, &c, path, len, false, &dir, &name, &nl))) return e;
    char *copy = pk_alloc(k, tlen);
    if (!copy) return -PK_ENOMEM;
    pk_fs *fs = k->fs;
    uint32_t gid = I(fs, dir)->mode & PK_S_ISGID ? I(fs, dir)->gid : w.gid;
    int64_t ino = inode_new(k, PK_S_IFLNK | 0777, w.uid, gid);
    if (ino < 0) { pk_free(k, copy, tlen); return (int)ino; }
    memcpy(copy, target, tlen);
    I(fs, ino)->target = copy;
    I(fs, ino)->size = tlen;
    if ((e = dir_add_new(k, dir, name, nl, (uint32_t)ino))) return e;
    return 0;
}

int pk_fs_link(pk_kernel *k, const pk_fs_who *from, const char *old, uint32_t olen,
               const pk_fs_who *to, const char *path, uint32_t len) {
    int e = enter(k, from);
    if (!e) e = enter(k, to);
    if (e) return e;
    if ((olen && !old) || (len && !path)) return -PK_EINVAL;
    if ((e = path_ok(old, olen))) return e;
    pk_fs_who wf = who_of(from), wt = who_of(to);
    wctx cf = { k->fs, &wf, 0 }, ct = { k->fs, &wt, 0 };
    uint32_t src;
    if ((e = walk(&cf, wf.cwd, old, olen, false, &src))) return e;
    uint32_t dir, nl;
    const char *name;
    if ((e = new_name(k, &ct, path, len, false, &dir, &name, &nl))) return e;
    pk_fs *fs = k->fs;
    if (ISDIR(I(fs, src))) return -PK_EPERM;
    if (!I(fs, src)->nlink) return -PK_ENOENT;
    if (I(fs, src)->nlink >= PK_FS_LINK_MAX) return -PK_EMLINK;
    if ((e = dir_add(k, dir, name, nl, src))) return e;
    I(fs, src)->nlink++;
    I(fs, src)->ctime = now_ns(k);
    return 0;
}

/* ---- removing names ----------------------------------------------------------------- */

/* the entry a removal or rename names: dir, index; checks search and
 * write permission on dir and its sticky bit */
static int victim(pk_kernel *k, wctx *c, uint32_t dir, const char *name, uint32_t nl,
                  int64_t *idx) {
    pk_inode *d = I(k->fs, dir);
    int e = may(d, c->w, PK_FS_X);
    if (e) return e;
    *idx = dir_find(d, name, nl);
    if (*idx < 0) return -PK_ENOENT;
    if ((e = may(d, c->w, PK_FS_W | PK_FS_X))) return e;
    return sticky_ok(d, I(k->fs, d->ents[*idx].ino), c->w);
}

/* drop the entry idx of dir naming ino (a directory: it must be empty) */
static void unname(pk_kernel *k, uint32_t dir, int64_t idx, uint32_t ino) {
    pk_fs *fs = k->fs;
    dir_remove(k, dir, (uint32_t)idx);
    pk_inode *n = I(fs, ino);
    if (ISDIR(n)) {
        n->nlink = 0;
        n->parent = ino;                         /* its ".." stays in itself */
        I(fs, dir)->nlink--;
    } else {
        n->nlink--;
    }
    n->ctime = now_ns(k);
    inode_maybe_free(k, ino);
}

int pk_fs_unlink(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t flags) {
    int e = enter(k, who);
    if (e) return e;
    if ((len && !path) || (flags & ~PK_FS_REMOVEDIR)) return -PK_EINVAL;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    uint32_t dir, nl;
    const char *name;
    bool slash;
    if ((e = walk_parent(&c, path, len, &dir, &name, &nl, &slash))) return e;
    bool rmdir = flags & PK_FS_REMOVEDIR;
    if (is_dot(name, nl)) return rmdir ? -PK_EINVAL : -PK_EISDIR;
    if (is_dotdot(name, nl)) return rmdir ? -PK_ENOTEMPTY : -PK_EISDIR;
    int64_t idx;
    if ((e = victim(k, &c, dir, name, nl, &idx))) return e;
    pk_fs *fs = k->fs;
    uint32_t ino = I(fs, dir)->ents[idx].ino;
    const pk_inode *n = I(fs, ino);
    if (rmdir) {
        if (!ISDIR(n)) return -PK_ENOTDIR;
        if (n->n) return -PK_ENOTEMPTY;
    } else {
        if (ISDIR(n)) return -PK_EISDIR;
        if (slash) return -PK_ENOTDIR;
    }
    unname(k, dir, idx, ino);
    return 0;
}

int pk_fs_rename(pk_kernel *k, const pk_fs_who *from, const char *old, uint32_t olen,
                 const pk_fs_who *to, const char *path, uint32_t len) {
    int e = enter(k, from);
    if (!e) e = enter(k, to);
    if (e) return e;
    if ((olen && !old) || (len && !path)) return -PK_EINVAL;
    pk_fs_who wf = who_of(from), wt = who_of(to);
    wctx cf = { k->fs, &wf, 0 }, ct = { k->fs, &wt, 0 };
    uint32_t od, nd, onl, nnl;
    const char *on, *nn;
    bool os, ns;
    if ((e = walk_parent(&cf, old, olen, &od, &on, &onl, &os))) return e;
    if ((e = walk_parent(&ct, path, len, &nd, &nn, &nnl, &ns))) return e;
    if (is_dot(on, onl) || is_dotdot(on, onl) || is_dot(nn, nnl) || is_dotdot(nn, nnl))
        return -PK_EBUSY;
    pk_fs *fs = k->fs;
    int64_t oi, ni;
    if ((e = victim(k, &cf, od, on, onl, &oi))) return e;
    if ((e = may(I(fs, nd), &wt, PK_FS_X))) return e;
    ni = dir_find(I(fs, nd), nn, nnl);
    if ((e = may(I(fs, nd), &wt, PK_FS_W | PK_FS_X))) return e;
    uint32_t src = I(fs, od)->ents[oi].ino, dst = ni >= 0 ? I(fs, nd)->ents[ni].ino : 0;
    bool isdir = ISDIR(I(fs, src));
    if (!isdir && (os || ns)) return -PK_ENOTDIR;
    if (dst == src) return 0;                    /* two names of one inode: nothing to do */
    if (dst && (e = sticky_ok(I(fs, nd), I(fs, dst), &wt))) return e;
    if (isdir) {
        if (dst && !ISDIR(I(fs, dst))) return -PK_ENOTDIR;
        if (dst && I(fs, dst)->n) return -PK_ENOTEMPTY;
        for (uint32_t p = nd;; p = I(fs, p)->parent) {      /* not into itself */
            if (p == src) return -PK_EINVAL;
            if (p == PK_FS_ROOT || I(fs, p)->parent == p) break;
        }
        if (od != nd) {
            if ((e = may(I(fs, src), &wf, PK_FS_W))) return e;   /* its ".." changes */
            if (!dst && I(fs, nd)->nlink >= PK_FS_LINK_MAX) return -PK_EMLINK;
        }
    } else if (dst && ISDIR(I(fs, dst))) {
        return -PK_EISDIR;
    }
    if (!I(fs, nd)->nlink) return -PK_ENOENT;
    char *copy = pk_alloc(k, nnl);           /* the only step that can fail: first */
    if (!copy) return -PK_ENOMEM;
    pk_inode *ndir = I(fs, nd);
    if (pk_vec_grow(k, (void **)&ndir->ents, &ndir->cap, ndir->n + 1, sizeof(pk_dent))) {
        pk_free(k, copy, nnl);
        return -PK_ENOMEM;
    }
    if (dst) unname(k, nd, ni, dst);
    oi = dir_find(I(fs, od), on, onl);       /* the indexes moved if od == nd */
    dir_remove(k, od, (uint32_t)oi);
    memcpy(copy, nn, nnl);
    ndir = I(fs, nd);
    ndir->ents[ndir->n++] = (pk_dent){ copy, ndir->seq++, src, (uint16_t)nnl, 0 };
    touch_change(k, ndir);
    if (isdir && od != nd) {
        I(fs, od)->nlink--;
        I(fs, nd)->nlink++;
        I(fs, src)->parent = nd;
    }
    I(fs, src)->ctime = now_ns(k);
    return 0;
}

/* ---- attributes ------------------------------------------------------------------------ */

static int resolve(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                   bool follow, uint32_t *ino) {
    int e = enter(k, who);
    if (e) return e;
    if (len && !path) return -PK_EINVAL;
    if ((e = path_ok(path, len))) return e;
    pk_fs_who w = who_of(who);
    wctx c = { k->fs, &w, 0 };
    return walk(&c, w.cwd, path, len, follow, ino);
}

int pk_fs_readlink(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                   char *buf, uint32_t cap, uint32_t *len_out) {
    uint32_t ino;
    if (!len_out || (cap && !buf)) return -PK_EINVAL;
    int e = resolve(k, who, path, len, false, &ino);
    if (e) return e;
    const pk_inode *n = I(k->fs, ino);
    if (!ISLNK(n)) return -PK_EINVAL;
    if (cap) memcpy(buf, n->target, n->size < cap ? n->size : cap);
    *len_out = (uint32_t)n->size;
    return 0;
}

/* ---- the rules of chmod(2), chown(2) and utimensat(2), for a path or
 * an open file (pk_fs_fchmod, ...: the descriptor calls of pk_rv_fd.c) */

static int chmod_set(pk_kernel *k, const pk_fs_who *who, pk_inode *n, uint32_t mode) {
    if (who->uid && who->uid != n->uid) return -PK_EPERM;
    if (who->uid && who->gid != n->gid) mode &= ~(uint32_t)PK_S_ISGID;   /* chmod(2) */
    n->mode = TYPE(n) | mode;
    n->ctime = now_ns(k);
    return 0;
}

static int chown_set(pk_kernel *k, const pk_fs_who *who, pk_inode *n, uint32_t uid, uint32_t gid) {
    if (who->uid) {                              /* chown(2): only root gives files away */
        if (who->uid != n->uid) return -PK_EPERM;
        if (uid != PK_FS_KEEP && uid != n->uid) return -PK_EPERM;
        if (gid != PK_FS_KEEP && gid != who->gid && gid != n->gid) return -PK_EPERM;
    }
    if (uid != PK_FS_KEEP) n->uid = uid;
    if (gid != PK_FS_KEEP) n->gid = gid;
    if (who->uid && ISREG(n) && (uid != PK_FS_KEEP || gid != PK_FS_KEEP))
        n->mode &= ~(uint32_t)(PK_S_ISUID | PK_S_ISGID);
    n->ctime = now_ns(k);
    return 0;
}

/* times (NULL: both now) into t, if each is a valid timespec or a special value */
static int utimes_of(const int64_t *times, int64_t t[4]) {
    const int64_t now[4] = { 0, PK_FS_UTIME_NOW, 0, PK_FS_UTIME_NOW };
    memcpy(t, times ? times : now, 4 * sizeof *t);
    for (int i = 1; i < 4; i += 2) {
        bool special = t[i] == PK_FS_UTIME_NOW || t[i] == PK_FS_UTIME_OMIT;
        if (!special && (t[i] < 0 || t[i] >= 1000000000 || t[i - 1] < 0
                         || (uint64_t)t[i - 1] > UINT64_MAX / 1000000000u - 1)) return -PK_EINVAL;
    }
    return 0;
}

static int utimens_set(pk_kernel *k, const pk_fs_who *who, pk_inode *n, const int64_t t[4]) {
    if (t[1] == PK_FS_UTIME_OMIT && t[3] == PK_FS_UTIME_OMIT) return 0;
    bool to_now = (t[1] == PK_FS_UTIME_NOW || t[1] == PK_FS_UTIME_OMIT)
                  && (t[3] == PK_FS_UTIME_NOW || t[3] == PK_FS_UTIME_OMIT);
    if (who->uid && who->uid != n->uid) {        /* utimensat(2), "Permissions requirements" */
        if (!to_now) return -PK_EPERM;
        if (may(n, who, PK_FS_W)) return -PK_EACCES;
    }
    uint64_t now = now_ns(k);
    for (int i = 0; i < 2; i++) {
        int64_t ns = t[2 * i + 1];
        if (ns == PK_FS_UTIME_OMIT) continue;
        uint64_t v = ns == PK_FS_UTIME_NOW ? now : (uint64_t)t[2 * i] * 1000000000u + (uint64_t)ns;
        if (i == 0) n->atime = v; else n->mtime = v;
    }
    n->ctime = now;
    return 0;
}

int pk_fs_chmod(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t mode) {
    uint32_t ino;
    if (mode > 07777) return -PK_EINVAL;
    int e = resolve(k, who, path, len, true, &ino);
    return e ? e : chmod_set(k, who, I(k->fs, ino), mode);
}

int pk_fs_chown(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                uint32_t uid, uint32_t gid, uint32_t flags) {
    uint32_t ino;
    if (flags & ~PK_FS_NOFOLLOW) return -PK_EINVAL;
    int e = resolve(k, who, path, len, !(flags & PK_FS_NOFOLLOW), &ino);
    return e ? e : chown_set(k, who, I(k->fs, ino), uid, gid);
}

int pk_fs_utimens(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                  const int64_t *times, uint32_t flags) {
    uint32_t ino;
    int64_t t[4];
    if (flags & ~PK_FS_NOFOLLOW) return -PK_EINVAL;
    int e = utimes_of(times, t);
    if (!e) e = resolve(k, who, path, len, !(flags & PK_FS_NOFOLLOW), &ino);
    return e ? e : utimens_set(k, who, I(k->fs, ino), t);
}

/* the inode of an open file, for the calls on it: 0 or a negative errno
 * (the caller's working directory plays no part, unlike enter()'s) */
static int open_inode(pk_kernel *k, const pk_fs_who *who, uint32_t ino) {
    if (!k || !who) return -PK_EINVAL;
    if (k->in_hook) return -PK_EBUSY;
    int e = pk_fs_state(k);
    return e ? e : live(k->fs, ino) ? 0 : -PK_EINVAL;
}

int pk_fs_fchmod(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t mode) {
    int e = open_inode(k, who, ino);
    return e ? e : chmod_set(k, who, I(k->fs, ino), mode & 07777);
}

int pk_fs_fchown(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t uid, uint32_t gid) {
    int e = open_inode(k, who, ino);
    return e ? e : chown_set(k, who, I(k->fs, ino), uid, gid);
}

int pk_fs_futimens(pk_kernel *k, const pk_fs_who *who, uint32_t ino, const int64_t *times) {
    int64_t t[4];
    int e = open_inode(k, who, ino);
    if (!e) e = utimes_of(times, t);
    return e ? e : utimens_set(k, who, I(k->fs, ino), t);
}

/* ---- contents -------------------------------------------------------------------------- */

static pk_rvp *rv_proc(pk_kernel *k, uint32_t pid) {
    if (!k->rv || pid == PK_FS_NO_PID) return NULL;
    for (uint32_t i = 1; i < k->rv->nprocs; i++)
        if (k->rv->procs[i].pid == pid) return &k->rv->procs[i];
    return NULL;
}

static int dev_read(pk_kernel *k, uint32_t pid, uint32_t rdev, uint8_t *buf, uint64_t len,
                    uint64_t *n_out) {
    switch (rdev) {
    case PK_FS_DEV_NULL: *n_out = 0; return 0;
    case PK_FS_DEV_ZERO: if (len) memset(buf, 0, len); *n_out = len; return 0;
    case PK_FS_DEV_URANDOM:                      /* the kernel's seeded generator */
        for (uint64_t i = 0; i < len; i += 8) {
            uint64_t v = pk_rng_next(&k->rng);
            memcpy(buf + i, &v, len - i < 8 ? len - i : 8);
        }
        *n_out = len;
        return 0;
    case PK_FS_DEV_TTY: {                        /* the process's standard input */
        pk_rvp *p = rv_proc(k, pid);
        if (!p) return -PK_ENXIO;
        uint64_t n = p->in_len - p->in_pos;
        if (n > len) n = len;
        if (n) memcpy(buf, p->in + p->in_pos, n);
        p->in_pos += n;
        *n_out = n;
        return 0;
    }
    }
    return -PK_ENXIO;
}

static int dev_write(pk_kernel *k, uint32_t pid, uint32_t rdev, const uint8_t *buf, uint64_t len,
                     uint64_t *n_out) {
    if (rdev != PK_FS_DEV_TTY) { *n_out = len; return 0; }   /* null, zero, urandom: consumed */
    pk_rvp *p = rv_proc(k, pid);
    if (!p) return -PK_ENXIO;
    if (pk_rv_out_append(k, p, 1, buf, len, false)) return -PK_ENOMEM;   /* its standard output */
    *n_out = len;
    return 0;
}

static int content_check(pk_kernel *k, uint32_t ino, uint64_t len, const void *buf, uint64_t *n_out) {
    if (!k || !n_out || (len && !buf)) return -PK_EINVAL;
    if (k->in_hook) return -PK_EBUSY;
    int e = pk_fs_state(k);
    if (e) return e;
    if (!live(k->fs, ino)) return -PK_EINVAL;
    const pk_inode *n = I(k->fs, ino);
    if (ISDIR(n)) return -PK_EISDIR;
    if (ISLNK(n)) return -PK_EINVAL;
    return 0;
}

int pk_fs_read(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t off, uint8_t *buf,
               uint64_t len, uint64_t *n_out) {
    int e = content_check(k, ino, len, buf, n_out);
    if (e) return e;
    pk_inode *n = I(k->fs, ino);
    if (ISCHR(n)) return dev_read(k, pid, n->rdev, buf, len, n_out);
    uint64_t done = 0;
    if (off < n->size) {
        if (len > n->size - off) len = n->size - off;
        while (done < len) {
            uint64_t at = off + done, pg = at / PK_FS_PAGE, in = at % PK_FS_PAGE;
            uint64_t m = PK_FS_PAGE - in < len - done ? PK_FS_PAGE - in : len - done;
            if (pg < n->pcap && n->pages[pg]) memcpy(buf + done, n->pages[pg] + in, m);
            else memset(buf + done, 0, m);
            done += m;
        }
    }
    /* relatime (mount(8)): atime moves when it is older than the last
     * change or a day old */
    uint64_t now = now_ns(k);
    if (n->atime <= n->mtime || n->atime <= n->ctime || now - n->atime >= 86400000000000ull)
        n->atime = now;
    *n_out = done;
    return 0;
}

int pk_fs_write(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t off, const uint8_t *buf,
                uint64_t len, uint64_t *n_out) {
    int e = content_check(k, ino, len, buf, n_out);
    if (e) return e;
    pk_fs *fs = k->fs;
    pk_inode *n = I(fs, ino);
    if (ISCHR(n)) return dev_write(k, pid, n->rdev, buf, len, n_out);
    if (off > PK_FS_MAX_FILE || len > PK_FS_MAX_FILE - off) return -PK_EFBIG;
    if (!len) { *n_out = 0; return 0; }
    uint64_t first = off / PK_FS_PAGE, end = (off + len + PK_FS_PAGE - 1) / PK_FS_PAGE, need = 0;
    for (uint64_t pg = first; pg < end; pg++) need += !(pg < n->pcap && n->pages[pg]);
    uint64_t cap = n->pcap;
    if (end > cap) {
        cap = cap ? cap : 4;
        while (cap < end) cap *= 2;
    }
    /* the pages and the slots that name them: a write far into a file
     * costs its slots even where it leaves holes */
    if (pk_limit_over(fs->pages * PK_FS_PAGE + fs->slots * 8,
                      need * PK_FS_PAGE + (cap - n->pcap) * 8, fs->max_bytes)) return -PK_ENOSPC;
    if (cap > n->pcap) {                         /* room for the page slots */
        uint8_t **p = pk_realloc(k, n->pages, n->pcap * sizeof *p, cap * sizeof *p);
        if (!p) return -PK_ENOMEM;
        fs->slots += cap - n->pcap;
        n->pages = p;
        n->pcap = cap;
    }
    for (uint64_t pg = first; pg < end; pg++)    /* every page, before any byte moves */
        if (!n->pages[pg]) {
            if (!(n->pages[pg] = page_new(k, ino, pg))) {   /* none past the end stays */
                n = I(fs, ino);
                pages_drop(k, n, (n->size + PK_FS_PAGE - 1) / PK_FS_PAGE);
                return -PK_ENOMEM;
            }
            n->held++;
            fs->pages++;
        }
    for (uint64_t done = 0; done < len;) {
        uint64_t at = off + done, pg = at / PK_FS_PAGE, in = at % PK_FS_PAGE;
        uint64_t m = PK_FS_PAGE - in < len - done ? PK_FS_PAGE - in : len - done;
        memcpy(n->pages[pg] + in, buf + done, m);
        done += m;
    }
    if (off + len > n->size) n->size = off + len;
    touch_change(k, n);
    *n_out = len;
    return 0;
}

int64_t pk_fs_cache_of(pk_kernel *k, uint32_t ino) {
    if (!k->fs || !live(k->fs, ino)) return -PK_ENOENT;
    pk_inode *n = I(k->fs, ino);
    if (!ISREG(n) || !k->mem) return -PK_ENODEV;
    if (!n->cache && !(n->cache = pk_cache_new(k, ino))) return -PK_ENOMEM;
    return n->cache;
}

int pk_fs_cache_beyond(pk_kernel *k, uint32_t ino, uint64_t i) {
    const pk_inode *n = I(k->fs, ino);
    return i >= (n->size + PK_FS_PAGE - 1) / PK_FS_PAGE;
}

/* Page i of ino for a mapping that touches it (a hole becomes a page of
 * the file, as a write would make it), under the limits a write has. */
int pk_fs_cache_fill(pk_kernel *k, uint32_t ino, uint64_t i) {
    pk_fs *fs = k->fs;
    pk_inode *n = I(fs, ino);
    if (i < n->pcap && n->pages[i]) return 0;
    uint64_t cap = n->pcap;
    if (i >= cap) {
        cap = cap ? cap : 4;
        while (cap <= i) cap *= 2;
    }
    if (pk_limit_over(fs->pages * PK_FS_PAGE + fs->slots * 8,
                      PK_FS_PAGE + (cap - n->pcap) * 8, fs->max_bytes)) return -PK_ENOSPC;
    if (cap > n->pcap) {
        uint8_t **p = pk_realloc(k, n->pages, n->pcap * sizeof *p, cap * sizeof *p);
        if (!p) return -PK_ENOMEM;
        memset(p + n->pcap, 0, (cap - n->pcap) * sizeof *p);
        fs->slots += cap - n->pcap;
        n->pages = p;
        n->pcap = cap;
    }
    uint8_t *d = page_new(k, ino, i);
    if (!d) return -PK_ENOMEM;
    n = I(fs, ino);
    n->pages[i] = d;
    n->held++;
    fs->pages++;
    return 0;
}

int pk_fs_truncate(pk_kernel *k, uint32_t ino, uint64_t size) {
    uint64_t dummy;
    int e = content_check(k, ino, 0, NULL, &dummy);
    if (e) return e;
    pk_inode *n = I(k->fs, ino);
    if (!ISREG(n)) return -PK_EINVAL;
    if (size > PK_FS_MAX_FILE) return -PK_EFBIG;
    if (size < n->size) {
        uint64_t from = (size + PK_FS_PAGE - 1) / PK_FS_PAGE;
        if (n->cache && k->mem) pk_as_zap_file(k, n->cache, from);   /* mappings lose them too */
        pages_drop(k, n, from);
        uint64_t pg = size / PK_FS_PAGE, in = size % PK_FS_PAGE;
        if (in && pg < n->pcap && n->pages[pg]) memset(n->pages[pg] + in, 0, PK_FS_PAGE - in);
    }
    n->size = size;
    touch_change(k, n);
    return 0;
}

int pk_fs_readdir(pk_kernel *k, uint32_t ino, uint64_t *cursor, pk_fs_dirent *out) {
    if (!k || !cursor || !out) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    if (!live(k->fs, ino)) return -PK_EINVAL;
    const pk_inode *d = I(k->fs, ino);
    if (!ISDIR(d)) return -PK_ENOTDIR;
    memset(out, 0, sizeof *out);
    out->type = 4;
    if (*cursor < 2) {                           /* "." and ".." */
        out->ino = *cursor ? d->parent : ino;
        out->namelen = (uint16_t)(*cursor + 1);
        memcpy(out->name, "..", out->namelen);
        (*cursor)++;
        return 1;
    }
    uint64_t want = *cursor - 2;
    uint32_t lo = 0, hi = d->n;                  /* the first entry with seq >= want */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (d->ents[mid].seq < want) lo = mid + 1; else hi = mid;
    }
    if (lo == d->n) return 0;
    const pk_dent *de = &d->ents[lo];
    const pk_inode *c = I(k->fs, de->ino);
    out->ino = de->ino;
    out->type = (uint8_t)(TYPE(c) >> 12);        /* DT_* is S_IFMT >> 12 */
    out->namelen = de->len;
    memcpy(out->name, de->name, de->len);
    *cursor = de->seq + 3;
    return 1;
}

int pk_fs_get(pk_kernel *k, uint32_t ino) {
    if (!k) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    if (!live(k->fs, ino) || I(k->fs, ino)->refs == UINT32_MAX) return -PK_EINVAL;
    I(k->fs, ino)->refs++;
    return 0;
}

int pk_fs_put(pk_kernel *k, uint32_t ino) {
    if (!k || !k->fs || !live(k->fs, ino) || !I(k->fs, ino)->refs) return -PK_EINVAL;
    I(k->fs, ino)->refs--;
    inode_maybe_free(k, ino);
    return 0;
}

int pk_fs_path(pk_kernel *k, uint32_t ino, char *buf, uint32_t cap, uint32_t *len_out) {
    if (!k || !len_out || (cap && !buf)) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    pk_fs *fs = k->fs;
    if (!live(fs, ino)) return -PK_EINVAL;
    if (!ISDIR(I(fs, ino))) return -PK_ENOTDIR;
    if (!I(fs, ino)->nlink) return -PK_ENOENT;
    char tmp[PK_FS_PATH_MAX];
    uint32_t at = sizeof tmp;
    for (uint32_t cur = ino; cur != PK_FS_ROOT;) {
        uint32_t up = I(fs, cur)->parent;
        const pk_inode *d = I(fs, up);
        uint32_t i = 0;
        while (i < d->n && d->ents[i].ino != cur) i++;
        if (i == d->n) return -PK_ENOENT;
        if (d->ents[i].len + 1u > at) return -PK_ENAMETOOLONG;
        at -= d->ents[i].len;
        memcpy(tmp + at, d->ents[i].name, d->ents[i].len);
        tmp[--at] = '/';
        cur = up;
    }
    if (at == sizeof tmp) tmp[--at] = '/';
    uint32_t n = (uint32_t)sizeof tmp - at;
    *len_out = n;
    if (cap < n + 1) return -PK_ERANGE;
    memcpy(buf, tmp + at, n);
    buf[n] = 0;
    return 0;
}

int pk_fs_proc_fork(pk_kernel *k, uint32_t parent, uint32_t child) {
    pk_fs *fs = k->fs;
    if (parent >= fs->ncwd || !fs->cwd[parent]) return PK_OK;
    return pk_fs_cwd_set(k, child, fs->cwd[parent]) ? PK_ERR_NO_MEMORY : PK_OK;
}

static bool proc_ended(pk_kernel *k, uint32_t pid) {
    uint8_t st = pk_proc_at(k, pid)->state;
    return st == PK_PS_EXITED || st == PK_PS_KILLED;
}

int pk_fs_cwd_set(pk_kernel *k, uint32_t pid, uint32_t ino) {
    if (!k || pid >= k->procs.count) return -PK_EINVAL;
    if (proc_ended(k, pid)) return -PK_ESRCH;
    int e = pk_fs_state(k);
    if (e) return e;
    pk_fs *fs = k->fs;
    if (!live(fs, ino)) return -PK_EINVAL;
    if (!ISDIR(I(fs, ino))) return -PK_ENOTDIR;
    if (pid >= fs->ncwd) {
        if (pk_vec_grow(k, (void **)&fs->cwd, &fs->cwd_cap, pid + 1, sizeof(uint32_t))) return -PK_ENOMEM;
        memset(fs->cwd + fs->ncwd, 0, (pid + 1 - fs->ncwd) * sizeof(uint32_t));
        fs->ncwd = pid + 1;
    }
    uint32_t old = fs->cwd[pid];
    if ((e = pk_fs_get(k, ino))) return e;
    fs->cwd[pid] = ino;
    if (old) pk_fs_put(k, old);
    return 0;
}

void pk_fs_proc_exit(pk_kernel *k, uint32_t pid) {
    pk_fs *fs = k->fs;
    if (pid >= fs->ncwd || !fs->cwd[pid]) return;
    uint32_t ino = fs->cwd[pid];
    fs->cwd[pid] = 0;
    pk_fs_put(k, ino);
}

int pk_fs_cwd_get(pk_kernel *k, uint32_t pid, uint32_t *ino_out) {
    if (!k || !ino_out || pid >= k->procs.count) return -PK_EINVAL;
    if (proc_ended(k, pid)) return -PK_ESRCH;
    *ino_out = k->fs && pid < k->fs->ncwd && k->fs->cwd[pid] ? k->fs->cwd[pid] : PK_FS_ROOT;
    return 0;
}

int pk_fs_who_of(pk_kernel *k, uint32_t pid, pk_fs_who *out) {
    if (!k || !out || pid >= k->procs.count) return -PK_EINVAL;
    memset(out, 0, sizeof *out);
    if (pk_proc_creds_get(k, pid, &out->uid, &out->gid)) return -PK_EINVAL;
    return pk_fs_cwd_get(k, pid, &out->cwd);
}

int pk_fs_usage_get(pk_kernel *k, pk_fs_usage *out) {
    if (!k || !out) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    pk_fs *fs = k->fs;
    memset(out, 0, sizeof *out);
    for (uint32_t i = 1; i < fs->n; i++) {
        const pk_inode *n = I(fs, i);
        if (!n->mode) continue;
        out->inodes++;
        out->files += ISREG(n);
        out->dirs += ISDIR(n);
        out->symlinks += ISLNK(n);
        out->devices += ISCHR(n);
        if (ISREG(n)) out->bytes += n->size;
        out->orphans += !n->nlink;
    }
    out->pages = fs->pages;
    out->slots = fs->slots;
    out->max_bytes = fs->max_bytes;
    out->max_inodes = fs->max_inodes;
    return 0;
}

int pk_fs_limits_set(pk_kernel *k, uint64_t max_bytes, uint64_t max_inodes) {
    if (!k) return -PK_EINVAL;
    int e = pk_fs_state(k);
    if (e) return e;
    if (max_bytes) k->fs->max_bytes = max_bytes;
    if (max_inodes) k->fs->max_inodes = max_inodes;
    return 0;
}

/* ---- the audit -------------------------------------------------------------------------- */

int pk_fs_audit_run(pk_kernel *k, pk_fs_audit *out) {
    if (!k || !out) return -PK_EINVAL;
    memset(out, 0, sizeof *out);
    pk_fs *fs = k->fs;
    if (!fs) return 0;
    uint64_t *named = pk_alloc(k, (uint64_t)fs->n * 16);
    if (!named) return -PK_ENOMEM;
    uint64_t *subdirs = named + fs->n;
    uint64_t pages = 0;
#define BAD(field, i) do { out->field++; if (!out->first_bad) out->first_bad = (i); } while (0)
    for (uint32_t i = 1; i < fs->n; i++) {
        const pk_inode *n = I(fs, i);
        if (!n->mode) continue;
        out->inodes++;
        uint64_t held = 0;
        for (uint64_t p = 0; p < n->pcap; p++) held += n->pages[p] != NULL;
        if (held != n->held) BAD(bad_pages, i);
        pages += held;
        for (uint32_t j = 0; j < n->n; j++) {
            uint32_t c = n->ents[j].ino;
            out->entries++;
            if (j && n->ents[j].seq <= n->ents[j - 1].seq) BAD(bad_order, i);
            if (!live(fs, c)) { BAD(bad_links, i); continue; }
            named[c]++;
            if (ISDIR(I(fs, c))) {
                subdirs[i]++;
                if (I(fs, c)->parent != i) BAD(bad_links, c);
            }
        }
    }
    if (pages != fs->pages) BAD(bad_pages, 0);
    for (uint32_t i = 1; i < fs->n; i++) {
        const pk_inode *n = I(fs, i);
        if (!n->mode) continue;
        uint64_t want = named[i];
        if (ISDIR(n) && named[i] > 1) BAD(bad_links, i);       /* no hard links to directories */
        if (ISDIR(n)) want = i == PK_FS_ROOT ? 2 + subdirs[i] : named[i] ? named[i] + 1 + subdirs[i] : 0;
        if (n->nlink != want) BAD(bad_links, i);
        if (!n->nlink && !n->refs && i != PK_FS_ROOT) BAD(leaked, i);
    }
    memset(named, 0, (uint64_t)fs->n * 8);       /* now: working directories per inode */
    for (uint32_t p = 0; p < fs->ncwd; p++)
        if (fs->cwd[p]) {
            if (!live(fs, fs->cwd[p])) { BAD(bad_refs, fs->cwd[p]); continue; }
            named[fs->cwd[p]]++;
        }
    for (uint32_t i = 1; i < fs->n; i++)
        if (I(fs, i)->mode && I(fs, i)->refs < named[i]) BAD(bad_refs, i);
#undef BAD
    pk_free(k, named, (uint64_t)fs->n * 16);
    return 0;
}

/* ---- snapshots: the FS section ------------------------------------------------------------ */

int pk_fs_snap_save(pk_kernel *k, pk_snap_w *w) {
    pk_fs *fs = k->fs;
    pk_snap_u32(w, fs->n);
    pk_snap_u32(w, fs->free_head);
    pk_snap_u64(w, fs->max_bytes);
    pk_snap_u64(w, fs->max_inodes);
    pk_snap_u64(w, fs->vseq);
    for (uint32_t i = 1; i < fs->n; i++) {
        const pk_inode *n = I(fs, i);
        pk_snap_u32(w, n->mode);
        if (!n->mode) { pk_snap_u32(w, n->parent); continue; }
        pk_snap_u32(w, n->uid); pk_snap_u32(w, n->gid); pk_snap_u32(w, n->nlink);
        pk_snap_u32(w, n->refs); pk_snap_u32(w, n->rdev); pk_snap_u32(w, n->parent);
        pk_snap_u64(w, n->size);
        pk_snap_u64(w, n->atime); pk_snap_u64(w, n->mtime); pk_snap_u64(w, n->ctime);
        pk_snap_u64(w, n->version);
        if (ISREG(n)) {
            pk_snap_u64(w, n->held);
            for (uint64_t p = 0; p < n->pcap; p++)
                if (n->pages[p]) { pk_snap_u64(w, p); pk_snap_put(w, n->pages[p], PK_FS_PAGE); }
        } else if (ISDIR(n)) {
            pk_snap_u32(w, n->n);
            pk_snap_u64(w, n->seq);
            for (uint32_t j = 0; j < n->n; j++) {
                pk_snap_u32(w, n->ents[j].ino);
                pk_snap_u64(w, n->ents[j].seq);
                pk_snap_u16(w, n->ents[j].len);
                pk_snap_put(w, n->ents[j].name, n->ents[j].len);
            }
        } else if (ISLNK(n)) {
            pk_snap_put(w, n->target, n->size);
        }
    }
    pk_snap_u32(w, fs->ncwd);
    for (uint32_t p = 0; p < fs->ncwd; p++) pk_snap_u32(w, fs->cwd[p]);
    return w->err;
}

/* In a kernel with memory, the pages of each regular file are the frames
 * of its page cache, restored by the memory section before this one: bind
 * each file to its cache, after checking that they hold the same pages. */
static int caches_bind(pk_kernel *k) {
    pk_fs *fs = k->fs;
    pk_mem *m = k->mem;
    if (!m) return PK_OK;
    for (uint32_t id = 1; id < m->nshm; id++) {
        const pk_shm *o = &m->shm[id];
        if (!o->ino) continue;
        if (!o->alive || o->ino >= fs->n) return PK_ERR_INVALID_ARGS;
        pk_inode *x = I(fs, o->ino);
        if (!ISREG(x) || x->cache) return PK_ERR_INVALID_ARGS;
        for (uint64_t p = 0; p < x->pcap; p++)
            if (x->pages[p] && (p >= o->pages || !o->frames[p] || !m->data[o->frames[p]]))
                return PK_ERR_INVALID_ARGS;
        for (uint64_t p = 0; p < o->pages; p++)
            if (o->frames[p] && (p >= x->pcap || !x->pages[p])) return PK_ERR_INVALID_ARGS;
        x->cache = id;
        for (uint64_t p = 0; p < x->pcap; p++)
            if (x->pages[p]) {
                uint8_t *d = m->data[o->frames[p]];
                memcpy(d, x->pages[p], PK_FS_PAGE);
                pk_free(k, x->pages[p], PK_FS_PAGE);
                x->pages[p] = d;
            }
    }
    for (uint32_t i = 1; i < fs->n; i++)          /* no file keeps pages outside frames */
        if (I(fs, i)->held && !I(fs, i)->cache) return PK_ERR_INVALID_ARGS;
    return PK_OK;
}

/* Load the FS section into a fresh k (no file system yet): every value is
 * checked before it is used, and the books are audited at the end. */
int pk_fs_snap_load(pk_kernel *k, pk_snap_r *r) {
    if (k->fs) return PK_ERR_INVALID_ARGS;
    pk_fs *fs = pk_alloc(k, sizeof *fs);
    if (!fs) return PK_ERR_NO_MEMORY;
    k->fs = fs;
    uint32_t n = pk_snap_get_u32(r);
    fs->free_head = pk_snap_get_u32(r);
    fs->max_bytes = pk_snap_get_u64(r);
    fs->max_inodes = pk_snap_get_u64(r);
    fs->vseq = pk_snap_get_u64(r);
    if (r->err || n < 2 || !pk_snap_count_ok(r, n - 1, 8)) return PK_ERR_INVALID_ARGS;
    if (pk_vec_grow(k, (void **)&fs->ino, &fs->cap, n, sizeof(pk_inode))) return PK_ERR_NO_MEMORY;
    memset(fs->ino, 0, (size_t)fs->cap * sizeof(pk_inode));
    fs->n = n;
    int s = PK_OK;
    for (uint32_t i = 1; i < n && !r->err && !s; i++) {
        pk_inode *x = I(fs, i);
        uint32_t mode = pk_snap_get_u32(r);
        if (!mode) { x->parent = pk_snap_get_u32(r); continue; }
        uint32_t t = mode & PK_S_IFMT;
        if ((t != PK_S_IFREG && t != PK_S_IFDIR && t != PK_S_IFLNK && t != PK_S_IFCHR)
            || (i == PK_FS_ROOT && t != PK_S_IFDIR)) { pk_snap_bad(r); break; }
        x->mode = mode;
        fs->live++;
        x->uid = pk_snap_get_u32(r); x->gid = pk_snap_get_u32(r); x->nlink = pk_snap_get_u32(r);
        x->refs = pk_snap_get_u32(r); x->rdev = pk_snap_get_u32(r); x->parent = pk_snap_get_u32(r);
        x->size = pk_snap_get_u64(r);
        x->atime = pk_snap_get_u64(r); x->mtime = pk_snap_get_u64(r); x->ctime = pk_snap_get_u64(r);
        x->version = pk_snap_get_u64(r);
        if (x->version > fs->vseq) { pk_snap_bad(r); break; }
        if (t == PK_S_IFREG) {
            uint64_t held = pk_snap_get_u64(r), last = 0;
            if (x->size > PK_FS_MAX_FILE || !pk_snap_count_ok(r, held, PK_FS_PAGE + 8)) { pk_snap_bad(r); break; }
            for (uint64_t h = 0; h < held && !r->err && !s; h++) {
                uint64_t p = pk_snap_get_u64(r);
                if ((h && p <= last) || p >= (x->size + PK_FS_PAGE - 1) / PK_FS_PAGE) { pk_snap_bad(r); break; }
                last = p;
                if (p >= x->pcap) {
                    uint64_t cap = x->pcap ? x->pcap : 4;
                    while (cap <= p) cap *= 2;
                    uint8_t **pp = pk_realloc(k, x->pages, x->pcap * sizeof *pp, cap * sizeof *pp);
                    if (!pp) { s = PK_ERR_NO_MEMORY; break; }
                    fs->slots += cap - x->pcap;
                    x->pages = pp;
                    x->pcap = cap;
                }
                if (!(x->pages[p] = pk_alloc(k, PK_FS_PAGE))) { s = PK_ERR_NO_MEMORY; break; }
                pk_snap_get(r, x->pages[p], PK_FS_PAGE);
                x->held++;
                fs->pages++;
            }
        } else if (t == PK_S_IFDIR) {
            uint32_t cnt = pk_snap_get_u32(r);
            x->seq = pk_snap_get_u64(r);
            if (x->size || !pk_snap_count_ok(r, cnt, 15)) { pk_snap_bad(r); break; }
            if (cnt && pk_vec_grow(k, (void **)&x->ents, &x->cap, cnt, sizeof(pk_dent))) { s = PK_ERR_NO_MEMORY; break; }
            for (uint32_t j = 0; j < cnt && !r->err; j++) {
                uint32_t c = pk_snap_get_u32(r);
                uint64_t seq = pk_snap_get_u64(r);
                uint16_t len = pk_snap_get_u16(r);
                if (!c || c >= n || !len || len > PK_FS_NAME_MAX || seq >= x->seq
                    || (j && seq <= x->ents[j - 1].seq) || pk_snap_left(r) < len) { pk_snap_bad(r); break; }
                char *name = pk_alloc(k, len);
                if (!name) { s = PK_ERR_NO_MEMORY; break; }
                pk_snap_get(r, name, len);
                x->ents[x->n++] = (pk_dent){ name, seq, c, len, 0 };
                if (memchr(name, '/', len) || memchr(name, 0, len) || is_dot(name, len)
                    || is_dotdot(name, len) || dir_find(x, name, len) != (int64_t)j) pk_snap_bad(r);
            }
        } else if (t == PK_S_IFLNK) {
            if (!x->size || x->size >= PK_FS_PATH_MAX || pk_snap_left(r) < x->size) { pk_snap_bad(r); break; }
            if (!(x->target = pk_alloc(k, x->size))) { s = PK_ERR_NO_MEMORY; break; }
            pk_snap_get(r, x->target, x->size);
        } else if (x->size) {
            pk_snap_bad(r);
        }
    }
    uint32_t ncwd = pk_snap_get_u32(r);
    if (!s && !r->err && (ncwd > k->procs.count || !pk_snap_count_ok(r, ncwd, 4))) pk_snap_bad(r);
    if (!s && !r->err && ncwd) {
        if (pk_vec_grow(k, (void **)&fs->cwd, &fs->cwd_cap, ncwd, sizeof(uint32_t))) s = PK_ERR_NO_MEMORY;
        for (uint32_t p = 0; !s && p < ncwd; p++) fs->cwd[p] = pk_snap_get_u32(r);
        fs->ncwd = ncwd;
    }
    if (s) return s;
    if (r->err) return PK_ERR_INVALID_ARGS;
    if ((s = caches_bind(k))) return s;
    /* the references between inodes: live targets, free list, books */
    uint64_t nfree = 0;
    for (uint32_t f = fs->free_head; f; f = I(fs, f)->parent) {
        if (f >= n || I(fs, f)->mode || ++nfree > n) return PK_ERR_INVALID_ARGS;
    }
    if (nfree + fs->live != n - 1u || !live(fs, PK_FS_ROOT) || I(fs, PK_FS_ROOT)->parent != PK_FS_ROOT)
        return PK_ERR_INVALID_ARGS;
    for (uint32_t i = 1; i < n; i++) {
        const pk_inode *x = I(fs, i);
        if (!x->mode) continue;
        if (ISDIR(x) && !live(fs, x->parent)) return PK_ERR_INVALID_ARGS;
        if (ISDIR(x) && !ISDIR(I(fs, x->parent))) return PK_ERR_INVALID_ARGS;
        if (ISDIR(x) && !x->nlink && i != PK_FS_ROOT && x->parent != i) return PK_ERR_INVALID_ARGS;
        if (ISDIR(x) && x->nlink) {               /* its parents lead to the root */
            uint32_t p = i, steps = 0;
            while (p != PK_FS_ROOT && ++steps < n) p = I(fs, p)->parent;
            if (p != PK_FS_ROOT) return PK_ERR_INVALID_ARGS;
        }
    }
    pk_fs_audit a;
    if (pk_fs_audit_run(k, &a)) return PK_ERR_NO_MEMORY;
    if (a.first_bad || a.bad_links || a.bad_refs || a.leaked || a.bad_pages || a.bad_order
        || pk_limit_over(0, fs->pages * PK_FS_PAGE + fs->slots * 8, fs->max_bytes)
        || fs->live > fs->max_inodes
        || !fs->max_bytes || !fs->max_inodes)
        return PK_ERR_INVALID_ARGS;
    return PK_OK;
}
