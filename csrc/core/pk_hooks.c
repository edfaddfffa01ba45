/* pk_hooks.c - the process-lifecycle hooks: what each subsystem does when
 * a process forks, execs or ends (docs/processes.md, "Lifecycle hooks").
 *
 * One table, walked in order: fork (by a script's fork or a machine-code
 * clone) calls every .fork(k, parent, child) until one fails; execve calls
 * every .exec(k, pid) after the new image is in place; a process's last
 * thread ending calls every .exit(k, pid).  A subsystem plugs in with one
 * line here; an entry may leave any of the three NULL.  Order matters for
 * exit: handles are released while the address space still exists, and
 * the process tree comes last, because making a zombie wakes its parent's
 * waiters, which must see everything else already gone. */
#include "pk_core.h"
#include "pk_rv.h"
#include "pk_sig.h"

static void objects_exit(pk_kernel *k, uint32_t pid) {
    pk_proc *p = pk_proc_at(k, pid);
    if (pk_proc_ext(p)) pk_proc_objects_release(k, p, pid);
}

static void vm_exit(pk_kernel *k, uint32_t pid) { if (k->mem) pk_vm_proc_exit(k, pid); }

static int fs_fork(pk_kernel *k, uint32_t parent, uint32_t child) {
    return k->fs ? pk_fs_proc_fork(k, parent, child) : PK_OK;
}

static void fs_exit(pk_kernel *k, uint32_t pid) { if (k->fs) pk_fs_proc_exit(k, pid); }

/* signal dispositions at execve: caught ones back to default (pk_rv_sig.c);
 * at fork pk_rv_fork copies them itself, once the child's thread exists */
static void sig_exec(pk_kernel *k, uint32_t pid) { if (k->rv) (void)pk_sig_exec(k, pid); }

/* a vfork child that ends releases its parent (pk_rv_proc.c) */
static void rv_exit(pk_kernel *k, uint32_t pid) { if (k->rv) pk_rv_vfork_release(k, pid); }

/* descriptors (pk_fd.c): a table is copied at fork only once the parent
 * has one; close-on-exec descriptors close at execve; at exit every
 * descriptor closes first, so pipe ends go before the objects they are */
static int fd_fork(pk_kernel *k, uint32_t parent, uint32_t child) {
    return pk_fd_used(k->fds, parent) ? pk_fd_fork_copy(k, parent, child) : PK_OK;
}
static void fd_exec(pk_kernel *k, uint32_t pid) { if (pk_fd_used(k->fds, pid)) pk_fd_exec_close(k, pid); }
static void fd_exit(pk_kernel *k, uint32_t pid) { if (k->fds) pk_fd_proc_exit(k, pid); }

static const pk_proc_hook hooks[] = {
    /* fork       exec   exit */
    { fd_fork,    fd_exec, fd_exit },              /* descriptors (pk_fd.c): first */
    { NULL,       NULL,  objects_exit },           /* handles (pk_obj.c) */
    { NULL,       NULL,  vm_exit },                /* the address space (pk_vm.c) */
    { fs_fork,    NULL,  fs_exit },                /* the working directory (pk_fs.c) */
    { NULL,       sig_exec, NULL },                /* signal dispositions (pk_rv_sig.c) */
    { NULL,       NULL,  rv_exit },                /* a parent suspended by vfork (pk_rv_proc.c) */
    { NULL,       NULL,  pk_ptree_exit },          /* zombie or reaped, orphans adopted: last */
};

int pk_proc_hooks_fork(pk_kernel *k, uint32_t parent, uint32_t child) {
    for (uint32_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++) {
        if (!hooks[i].fork) continue;
        int s = hooks[i].fork(k, parent, child);
        if (s) return s;
    }
    return PK_OK;
}

void pk_proc_hooks_exec(pk_kernel *k, uint32_t pid) {
    for (uint32_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (hooks[i].exec) hooks[i].exec(k, pid);
}

void pk_proc_hooks_exit(pk_kernel *k, uint32_t pid) {
    for (uint32_t i = 0; i < sizeof hooks / sizeof hooks[0]; i++)
        if (hooks[i].exit) hooks[i].exit(k, pid);
}
