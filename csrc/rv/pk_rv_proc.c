/* pk_rv_proc.c - process creation by machine code: clone without
 * CLONE_THREAD (fork, vfork) and execve (docs/userland.md, "Processes:
 * fork and exec").
 *
 * fork is the memory system's copy-on-write fork (pk_fork.c pk_vm_fork):
 * the child gets the parent's regions and page tables with every private
 * page shared read-only, and the image's read-only pages stay the image's
 * shared frames.  Its RISC-V records are the parent's (break, mmap
 * cursor, FP registers) with its own output buffers and an empty robust
 * list (clone(2)).  vfork (CLONE_VM|CLONE_VFORK) is that fork with the
 * parent suspended until the child execs or ends: the child works on a
 * copy, not on the parent's memory, which a correct vfork child (one
 * that only calls execve or _exit) cannot tell apart.
 *
 * execve reads the file from the file system (pk_fs.c) with the caller's
 * credentials and working directory, follows one `#!` line per level
 * (binfmt_script; five levels, then ELOOP, as exec_binprm in fs/exec.c),
 * and replaces the image: other threads end (de_thread), the address
 * space is emptied, the new image's segments and stack are laid out as
 * pk_rv_spawn lays them out, and the exec hooks run (pk_hooks.c). */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"
#include "pk_sig.h"

enum { ENOENT = 2, E2BIG = 7, ENOEXEC = 8, EAGAIN = 11, ENOMEM = 12, EACCES = 13, EFAULT = 14,
       EINVAL = 22, ENAMETOOLONG = 36, ENOSYS = 38, ELOOP = 40 };

#define A0 10
#define CLONE_VM 0x100
#define CLONE_VFORK 0x4000
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_CHILD_SETTID 0x1000000
#define CSIGNAL 0xff
#define BINPRM_BUF_SIZE 256              /* the bytes of a file's head read for #! (Linux) */
#define MAX_INTERP 5                     /* #! rewrites before ELOOP: exec_binprm, fs/exec.c ("depth > 5") */
#define MAX_ARGS 65536                   /* argv + envp entries, as pk_rv_spawn accepts */

typedef struct uctx {
    pk_kernel *k;
    pk_cpu *c;
    pk_thread *t;
    uint64_t *cost;
    uint32_t *dead;
} uctx;

/* copy from / to the caller's memory: 0, -EFAULT, or 1 (fatal: *dead set) */
static int ucp(uctx *u, uint64_t va, void *buf, uint64_t len, bool write) {
    if (!len) return 0;
    uint32_t reason = 0;
    int v = pk_rv_copy(u->k, u->c, u->t->pid, va, buf, len, write, u->cost, &reason);
    if (v == 1) *u->dead = reason ? reason : PK_KILL_SEGV;
    return v;
}

/* a NUL-terminated string at va into out (at most cap bytes with its
 * NUL): its length, -EFAULT, or -ENAMETOOLONG (no NUL within cap) */
static int64_t ustr(uctx *u, uint64_t va, char *out, uint64_t cap) {
    uint64_t n = 0;
    while (n < cap) {
        uint64_t chunk = PK_PAGE_SIZE - ((va + n) & (PK_PAGE_SIZE - 1));
        if (chunk > cap - n) chunk = cap - n;
        if (ucp(u, va + n, out + n, chunk, false)) return -EFAULT;
        const char *z = memchr(out + n, 0, chunk);
        if (z) return z - out;
        n += chunk;
    }
    return -ENAMETOOLONG;
}

/* ---- fork and vfork ------------------------------------------------------------- */

int64_t pk_rv_fork(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t flags,
                   uint64_t newsp, uint64_t ptid, uint64_t tls, uint64_t ctid, int *act,
                   uint64_t *cost, uint32_t *dead) {
    const uint64_t known = CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID
                           | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
    if (flags & ~known) return -ENOSYS;                  /* CLONE_FILES, CLONE_NEWNS, ...: not modelled */
    if ((flags & CLONE_VM) && !(flags & CLONE_VFORK)) return -ENOSYS;   /* processes sharing memory */
    if ((flags & CSIGNAL) > 64) return -EINVAL;
    pk_rvstate *rs = k->rv;
    uint32_t prid = pk_rvt_id(r), ppr = rs->thr[prid].proc;
    /* everything that can fail for want of memory, before the fork */
    const pk_rvp *pp = &rs->procs[ppr];
    char *exe = pk_alloc(k, pp->exe_len + 1);
    if (!exe || pk_vec_grow(k, (void **)&rs->procs, &rs->procs_cap, rs->nprocs + 1, sizeof(pk_rvp))
        || pk_vec_grow(k, (void **)&rs->thr, &rs->thr_cap, rs->nthr + 1, sizeof(pk_rvt))
        || pk_vec_grow(k, (void **)&rs->fps, &rs->fps_cap, rs->nfps + 1, sizeof(pk_rvfp))) {
        pk_free(k, exe, rs->procs[ppr].exe_len + 1);
        return -ENOMEM;
    }
    uint64_t ipis = 0, limits = k->limit_hits[PK_LIMIT_PROCS] + k->limit_hits[PK_LIMIT_THREADS];
    uint32_t child;
    rs->making = 1;
    int s = pk_vm_fork(k, c, t, r->pc + 4, &ipis, &child);
    rs->making = 0;
    if (s) {                     /* fork(2): EAGAIN at a limit on processes or threads, else ENOMEM */
        pk_free(k, exe, rs->procs[ppr].exe_len + 1);
        bool limit = k->limit_hits[PK_LIMIT_PROCS] + k->limit_hits[PK_LIMIT_THREADS] != limits;
        return s == PK_ERR_NO_MEMORY && !limit ? -ENOMEM : -EAGAIN;
    }
    *cost += ipis * k->cfg.costs.ipi_ns + k->cfg.costs.fork_ns;
    /* the child's process record: the parent's, with its own output */
    uint32_t npr = rs->nprocs++;
    pk_rvp *np = &rs->procs[npr];
    *np = rs->procs[ppr];
    np->pid = child;
    np->sig = 0;                                         /* its own signal record: pk_sig_fork */
    np->watch = 0;                                       /* the host watches the parent's streams */
    memset(np->out, 0, sizeof np->out);
    memset(&np->term, 0, sizeof np->term);               /* tty: the parent's terminal */
    np->in = NULL; np->in_len = np->in_pos = 0;          /* stdin: at its end (docs/userland.md) */
    np->unknown = NULL; np->nunknown = np->unknown_cap = 0;
    memcpy(exe, rs->procs[ppr].exe, rs->procs[ppr].exe_len + 1);
    np->exe = exe;
    np->syscalls = np->insns = 0;
    /* its thread: the caller's registers, a0 = 0, after the ecall */
    pk_proc *cp = pk_proc_at(k, child);
    pk_thread *ct = pk_thread_at(k, cp->first_tid);
    uint32_t nrid = pk_rvt_new(k, ct->tid, npr);         /* room reserved above */
    pk_rvt *pt = &rs->thr[prid], *nt = &rs->thr[nrid];
    nt->carry = pt->carry;
    if (pt->fp) {                                        /* the FP registers too */
        pk_rvfp *f = pk_rv_fp(k, nt);                    /* room reserved above */
        *f = rs->fps[pt->fp - 1];
    }
    ct->regs = *r;
    ct->regs.x[0] = 0;
    ct->regs.x[A0] = 0;
    ct->regs.pc = r->pc + 4;
    ct->regs.flags = (uint64_t)nrid << PK_RV_ID_SHIFT | PK_RF_STARTED;
    if (newsp) ct->regs.x[2] = newsp;
    if (flags & CLONE_SETTLS) ct->regs.x[4] = tls;
    uint32_t lt = child + PK_RV_LINUX_ID_BASE;           /* its one thread's id is its pid's */
    if (flags & CLONE_CHILD_CLEARTID) nt->clear_child_tid = ctid;
    if (flags & CLONE_CHILD_SETTID)                      /* in the child's memory; a failed */
        pk_rv_poke(k, pk_as_of(k, child), ctid, &lt, 4); /* store is ignored, as Linux's
                                                            schedule_tail ignores put_user's */
    if (flags & CLONE_PARENT_SETTID) {
        uctx u = { k, c, t, cost, dead };
        ucp(&u, ptid, &lt, 4, true);
    }
    if (pk_sig_fork(k, t->pid, child, ct->tid)) {       /* dispositions, mask, sigaltstack */
        pk_thread_exit(k, ct, -1, PK_KILL_OOM);          /* host memory ran out: it never ran */
        return -ENOMEM;
    }
    if (flags & CLONE_VFORK) *act = PK_ACT_WAIT;        /* until the child execs or ends */
    return lt;
}

/* The vfork parent of pid (if it is suspended) goes on: its thread waits
 * in clone (a7 = 220) with the child's pid already its result (a0). */
void pk_rv_vfork_release(pk_kernel *k, uint32_t pid) {
    uint32_t parent = pk_ptl(k, pid)->parent;
    if (!parent) return;
    pk_proc *pp = pk_proc_at(k, parent - 1);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(pp) ? pk_proc_xtids(k, pp, &nx) : NULL;
    for (uint32_t i = 0; i < pp->nthreads + nx; i++) {
        pk_thread *t = pk_thread_at(k, i < pp->nthreads ? pp->first_tid + i : xt[i - pp->nthreads]);
        if (t->kind != PK_BODY_RV || t->state != PK_TS_WAITING) continue;
        const pk_rvt *rt = &k->rv->thr[pk_rvt_id(&t->regs)];
        if (rt->futex_waiting || rt->in_syscall || t->regs.x[17] != 220
            || t->regs.x[A0] != (uint64_t)pid + PK_RV_LINUX_ID_BASE) continue;
        t->blocked += k->now - t->since;
        pk_thread_make_ready(k, t, PK_ENQ_WAKE);
    }
}

/* ---- execve ------------------------------------------------------------------- */

/* the argument strings being built: argv, then envp, then execfn */
typedef struct args {
    char *b;                             /* PK_RV_MAX_STRINGS bytes */
    uint64_t n;
    uint32_t argc, envc;
} args;

static int64_t args_put(args *a, const char *s, uint64_t len) {
    if (a->n + len + 1 > PK_RV_MAX_STRINGS) return -E2BIG;
    memcpy(a->b + a->n, s, len);
    a->b[a->n + len] = 0;
    a->n += len + 1;
    return 0;
}

/* copy the NULL-terminated vector of strings at va (argv or envp) */
static int64_t args_user(uctx *u, args *a, uint64_t va, uint32_t *count) {
    *count = 0;
    if (!va) return 0;                                   /* Linux takes NULL as empty */
    for (;;) {
        uint64_t p;
        if (ucp(u, va + 8ull * *count, &p, 8, false)) return -EFAULT;
        if (!p) return 0;
        if (a->argc + a->envc + *count >= MAX_ARGS) return -E2BIG;
        int64_t n = ustr(u, p, a->b + a->n, PK_RV_MAX_STRINGS - a->n);
        if (n == -ENAMETOOLONG) return -E2BIG;
        if (n < 0) return n;
        a->n += (uint64_t)n + 1;
        (*count)++;
    }
}

/* The #! line in head (n bytes): the interpreter and its optional one
 * argument (binfmt_script: blanks around them dropped, everything after
 * the first blank past the name is the argument).  -ENOEXEC if the line
 * is empty or runs past the head without its end. */
static int shebang(const char *head, uint64_t n, const char **interp, uint64_t *ilen,
                   const char **arg, uint64_t *alen) {
    const char *e = memchr(head, '\n', n), *end = e ? e : head + n;
    if (!e && n == BINPRM_BUF_SIZE) return -ENOEXEC;     /* the line does not fit */
    const char *p = head + 2;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    const char *q = p;
    while (q < end && *q != ' ' && *q != '\t' && *q) q++;
    if (q == p) return -ENOEXEC;
    *interp = p; *ilen = (uint64_t)(q - p);
    while (q < end && (*q == ' ' || *q == '\t')) q++;
    const char *ae = end;
    while (ae > q && (ae[-1] == ' ' || ae[-1] == '\t' || ae[-1] == '\r' || !ae[-1])) ae--;
    *arg = q; *alen = (uint64_t)(ae - q);
    return 0;
}

/* the regular, executable file at path for the caller: its inode */
static int find_exec(pk_kernel *k, uint32_t pid, const char *path, uint64_t len, uint32_t *ino,
                     pk_fs_stat *st) {
    if (!k->fs) return -ENOENT;
    pk_fs_who w;
    int e = pk_fs_who_of(k, pid, &w);
    if (!e) e = pk_fs_lookup(k, &w, path, (uint32_t)len, 0, ino);
    if (!e) e = pk_fs_stat_get(k, *ino, st);
    if (!e && (st->mode & PK_S_IFMT) != PK_S_IFREG) e = -EACCES;   /* execve(2): not a regular file */
    if (!e) e = pk_fs_access(k, &w, *ino, PK_FS_X);
    return e;
}

/* The terminal part of execve: the process of t becomes program prog
 * (image img).  Past the point of no return: a failure kills it. */
static void exec_image(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint32_t prog,
                       const args *a, char *exe, uint64_t exe_len, uint32_t *dead) {
    pk_rvstate *rs = k->rv;
    pk_proc *p = pk_proc_at(k, t->pid);
    /* the other threads end (de_thread) */
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_thread *o = pk_thread_at(k, i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads]);
        if (o != t && o->state != PK_TS_EXITED) pk_thread_terminate(k, o, 0, PK_KILL_NONE);
    }
    uint32_t rid = pk_rvt_id(r);
    pk_rvt *rt = &rs->thr[rid];
    pk_rvp *rp = &rs->procs[rt->proc];
    uint32_t img = k->progs[prog].image;
    const pk_rvimg *im = &rs->imgs[img];
    uint64_t flags = r->flags;
    pk_vm_exec(k, c, t, prog);                           /* the address space emptied, registers cleared */
    rp->img = img;
    rp->brk_start = rp->brk = rp->brk_mapped = im->hi;
    rp->mmap_next = pk_rv_mmap_top(k);
    pk_free(k, rp->exe, rp->exe_len + 1);
    rp->exe = exe; rp->exe_len = exe_len;
    rt->clear_child_tid = 0;
    rt->robust_list = rt->robust_len = 0;
    if (rt->fp) memset(&rs->fps[rt->fp - 1], 0, sizeof(pk_rvfp));
    uint64_t sp = 0;
    int s = pk_rv_image_setup(k, t->pid, img, a->b, a->n, a->argc, a->envc, &sp);
    r->flags = flags;
    r->x[2] = sp;
    r->pc = im->entry;
    if (s) { *dead = PK_KILL_OOM; return; }
    pk_proc_hooks_exec(k, t->pid);
    pk_rv_vfork_release(k, t->pid);
}

int64_t pk_rv_execve(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t upath,
                     uint64_t uargv, uint64_t uenvp, int *done, uint64_t *cost, uint32_t *dead) {
    uctx u = { k, c, t, cost, dead };
    char path[PK_FS_PATH_MAX];
    int64_t n = ustr(&u, upath, path, sizeof path);
    if (n < 0) return n;
    if (n == 0) return -ENOENT;
    args a = { pk_alloc(k, PK_RV_MAX_STRINGS), 0, 0, 0 }, b = { NULL, 0, 0, 0 };
    if (!a.b) return -ENOMEM;
    uint8_t *data = NULL;
    uint64_t dlen = 0;
    char *exe = NULL;
    uint64_t exe_len = 0;
    int64_t e = args_user(&u, &a, uargv, &a.argc);
    if (!e) e = args_user(&u, &a, uenvp, &a.envc);
    uint32_t ino = 0;
    pk_fs_stat st;
    char file[PK_FS_PATH_MAX];                           /* the file run: path or an interpreter */
    uint64_t flen = (uint64_t)n;
    memcpy(file, path, flen + 1);
    if (!e && !strcmp(path, "/proc/self/exe")) {         /* proc(5): the file the caller runs */
        const pk_rvp *rp = &k->rv->procs[k->rv->thr[pk_rvt_id(r)].proc];
        if (!rp->exe || rp->exe_len >= PK_FS_PATH_MAX) e = -ENOENT;
        else { memcpy(file, rp->exe, rp->exe_len + 1); flen = rp->exe_len; }
    }
    for (uint32_t depth = 0; !e; depth++) {
        e = find_exec(k, t->pid, file, flen, &ino, &st);
        if (e) break;
        char head[BINPRM_BUF_SIZE];
        uint64_t got = 0;
        e = pk_fs_read(k, t->pid, ino, 0, (uint8_t *)head, sizeof head, &got);
        if (e) break;
        if (got < 2 || head[0] != '#' || head[1] != '!') break;
        if (depth == MAX_INTERP) { e = -ELOOP; break; }
        const char *ip, *ap;
        uint64_t il, al;
        if ((e = shebang(head, got, &ip, &il, &ap, &al))) break;
        if (il >= PK_FS_PATH_MAX) { e = -ENAMETOOLONG; break; }
        /* argv becomes: interpreter, [argument], the script's path, argv[1..] */
        if (!b.b && !(b.b = pk_alloc(k, PK_RV_MAX_STRINGS))) { e = -ENOMEM; break; }
        b.n = 0; b.argc = 0; b.envc = a.envc;
        e = args_put(&b, ip, il);
        b.argc++;
        if (!e && al) { e = args_put(&b, ap, al); b.argc++; }
        if (!e) { e = args_put(&b, file, flen); b.argc++; }
        uint64_t skip = a.argc ? strlen(a.b) + 1 : 0;   /* argv[0] goes */
        if (!e && b.n + (a.n - skip) > PK_RV_MAX_STRINGS) e = -E2BIG;
        if (e) break;
        memcpy(b.b + b.n, a.b + skip, a.n - skip);
        b.n += a.n - skip;
        b.argc += a.argc ? a.argc - 1 : 0;
        args tmp = a; a = b; b = tmp;
        memcpy(file, ip, il);
        file[il] = 0;
        flen = il;
    }
    if (!e && a.argc == 0) {                             /* an empty argv gets "" as argv[0] */
        if (a.n + 1 > PK_RV_MAX_STRINGS) e = -E2BIG;     /* (do_execveat_common, since 5.18) */
        else {
            memmove(a.b + 1, a.b, a.n);
            a.b[0] = 0;
            a.n++;
            a.argc = 1;
        }
    }
    if (!e) e = args_put(&a, path, (uint64_t)n);         /* execfn (AT_EXECFN) */
    if (!e) {
        dlen = st.size;
        if (dlen > (1ull << 32)) e = -ENOMEM;
        else if (!(data = pk_alloc(k, dlen ? dlen : 1))) e = -ENOMEM;
    }
    if (!e) {
        uint64_t got = 0;
        e = pk_fs_read(k, t->pid, ino, 0, data, dlen, &got);
        if (!e && got != dlen) e = -ENOEXEC;
    }
    uint32_t prog = 0;
    if (!e) {
        int s = pk_rv_prog_for(k, data, dlen, &prog);
        e = s == PK_OK ? 0 : s == PK_ERR_NO_MEMORY ? -ENOMEM : -ENOEXEC;
    }
    if (!e) {                                            /* it must fit below the mmap area */
        const pk_rvimg *im = &k->rv->imgs[k->progs[prog].image];
        if (im->hi + (1ull << 30) > pk_rv_mmap_top(k)) e = -ENOMEM;
    }
    if (!e) {                                            /* /proc/self/exe: the file run */
        char cwd[PK_FS_PATH_MAX];
        uint32_t cl = 0, cino = 1;
        if (file[0] != '/') {
            pk_fs_cwd_get(k, t->pid, &cino);
            if (pk_fs_path(k, cino, cwd, sizeof cwd, &cl)) cl = 0;
        }
        bool slash = cl && cwd[cl - 1] != '/';
        exe_len = cl + slash + flen;
        if (!(exe = pk_alloc(k, exe_len + 1))) e = -ENOMEM;
        else {
            memcpy(exe, cwd, cl);
            if (slash) exe[cl] = '/';
            memcpy(exe + cl + slash, file, flen + 1);
        }
    }
    pk_free(k, data, dlen ? dlen : 1);
    pk_free(k, b.b, b.b ? PK_RV_MAX_STRINGS : 0);
    if (!e) {
        exec_image(k, c, t, r, prog, &a, exe, exe_len, dead);
        *done = 1;
    }
    pk_free(k, a.b, PK_RV_MAX_STRINGS);
    return e;
}
