/* pk_fd.h - Unix descriptors of processes (pk_fd.c, pk_rv_fd.c;
 * docs/userland.md, "Descriptors and pipes").
 *
 * Two levels, as in Linux (open(2), "Open file descriptions"): a
 * per-process table of descriptors, each naming an open file description
 * and holding its own close-on-exec flag; and the descriptions, shared by
 * the descriptors dup and fork make, each with one offset, the status
 * flags (O_APPEND, O_NONBLOCK) and the access mode.  A description of a
 * file holds one reference to its inode (pk_fs_get), so an open file
 * outlives its last name; a description of a pipe end holds one
 * reference to the end's kernel object (a pipe socket, pk_socket.c).
 *
 * The descriptor table is separate from the process's handle table
 * (pk_obj.c): descriptor numbers are looked up only here, handle values
 * only there, so neither is ever usable as the other.  Descriptions are
 * named by index (0: none) in one array that moves when it grows, so
 * nothing holds a pointer to one across a call that can make one. */
#ifndef PK_FD_H
#define PK_FD_H

#include <stdint.h>

#define PK_FD_MAX 1024u            /* descriptors per process (RLIMIT_NOFILE) */
#define PK_PIPE_CAPACITY 65536u    /* bytes a pipe buffers (pipe(7))           */
#define PK_PIPE_BUF 4096u          /* writes up to this size are atomic        */

enum { PK_OFD_FILE = 1,            /* an inode: file, directory, device        */
       PK_OFD_STD,                 /* a standard stream of the process: stream
                                      0 reads its stdin bytes, 1 and 2 append
                                      to its stdout and stderr                 */
       PK_OFD_PIPE_R, PK_OFD_PIPE_W };

#define PK_OFD_TTY(o) ((o)->pad[0])  /* a standard stream that is a terminal */
#define PK_OFD_SNAP_TTY 0x80u       /* snapshots: the stream byte with it set */

/* open(2) flags of the asm-generic ABI (include/uapi/asm-generic/fcntl.h) */
#define PK_O_ACCMODE   03
#define PK_O_CREAT     0100
#define PK_O_EXCL      0200
#define PK_O_NOCTTY    0400
#define PK_O_TRUNC     01000
#define PK_O_APPEND    02000
#define PK_O_NONBLOCK  04000
#define PK_O_DSYNC     010000
#define PK_O_LARGEFILE 0100000
#define PK_O_DIRECTORY 0200000
#define PK_O_NOFOLLOW  0400000
#define PK_O_NOATIME   01000000
#define PK_O_CLOEXEC   02000000
#define PK_O_PATH      010000000
#define PK_O_TMPFILE   020000000

typedef struct pk_ofd {
    uint32_t refs;                 /* descriptors naming it, all tables; 0: free */
    uint8_t  kind, stream, pad[2]; /* PK_OFD_*; a standard stream's number;
                                      pad[0] (PK_OFD_TTY): 1 when the stream is
                                      the process's terminal (pk_rv_tty)      */
    uint32_t flags;                /* access mode and status flags (PK_O_*)    */
    uint32_t ino;                  /* PK_OFD_FILE: the inode (one reference)   */
    uint32_t obj;                  /* pipe ends: the end's object (one reference) */
    uint32_t pair;                 /* pipe ends: the read end's object id: the key
                                      threads blocked on the pipe wait on      */
    uint64_t off;                  /* file offset; a directory's readdir cursor */
} pk_ofd;

typedef struct pk_fdent {
    uint32_t ofd;                  /* description index; 0: a free number     */
    uint32_t cloexec;              /* FD_CLOEXEC                               */
} pk_fdent;

typedef struct pk_fdtab {          /* a process's files                        */
    pk_fdent *e;                   /* [0 .. n-1]                               */
    uint32_t  n, cap;
    uint32_t  made;                /* 1 once set up (0, 1, 2 on its streams)   */
    uint32_t  umask;
    uint32_t  pgid, sid;           /* process group and session (Linux ids)    */
    uint64_t  sigpipe;             /* SIGPIPEs its writes to pipes without
                                      readers sent (pk_sig_send)               */
} pk_fdtab;

typedef struct pk_fds {
    pk_ofd   *ofd;                 /* [0] unused                               */
    uint32_t  nofd, ofd_cap;
    uint32_t  free_ofd, pad;       /* free list through .ino                   */
    pk_fdtab *tab;                 /* [pid]                                    */
    uint32_t  ntab, tab_cap;
} pk_fds;

struct pk_kernel;
void pk_fd_fini(struct pk_kernel *k);
/* the process's files, set up at first use: NULL only for want of memory */
pk_fdtab *pk_fd_table(struct pk_kernel *k, uint32_t pid);
/* the description of descriptor fd of pid: its index, or -EBADF */
int64_t pk_fd_get(struct pk_kernel *k, uint32_t pid, uint64_t fd);
/* a new description (refs 0): its index, or -ENOMEM */
int64_t pk_ofd_new(struct pk_kernel *k, uint8_t kind, uint32_t flags);
/* give description ofd the lowest free descriptor >= min: the number, or
 * -EMFILE (-EINVAL past the limit) / -ENOMEM; one more reference */
int64_t pk_fd_install(struct pk_kernel *k, uint32_t pid, uint32_t ofd, uint32_t min, bool cloexec);
/* put description ofd at descriptor fd (closing what was there) */
int pk_fd_install_at(struct pk_kernel *k, uint32_t pid, uint32_t ofd, uint32_t fd, bool cloexec);
int pk_fd_close(struct pk_kernel *k, uint32_t pid, uint64_t fd);
/* drop one reference to a description: the last closes the file or pipe end */
void pk_ofd_unref(struct pk_kernel *k, uint32_t ofd);
/* wake the RISC-V threads blocked on the pipe whose read end is `pair`
 * (0: every thread blocked on any pipe) */
void pk_pipe_wake(struct pk_kernel *k, uint32_t pair);
void pk_fd_proc_exit(struct pk_kernel *k, uint32_t pid);
/* fork and exec of the memory system's processes (pk_fork.c), and the work
 * of pk_fd_fork / pk_fd_exec: a PK status */
int pk_fd_fork_copy(struct pk_kernel *k, uint32_t parent, uint32_t child);
int pk_fd_exec_close(struct pk_kernel *k, uint32_t pid);
/* 1 if pid's table is set up */
static inline int pk_fd_used(const pk_fds *f, uint32_t pid) { return f && pid < f->ntab && f->tab[pid].made; }

/* pk_socket.c: pipe objects without handles */
int pk_pipe_objs(struct pk_kernel *k, uint32_t capacity, uint32_t *rd, uint32_t *wr);
int pk_pipe_obj_read(struct pk_kernel *k, uint32_t rd, uint8_t *buf, uint32_t cap, uint32_t *done);
int pk_pipe_obj_write(struct pk_kernel *k, uint32_t wr, const uint8_t *buf, uint32_t n, uint32_t *done);

/* snapshots: the descriptor section */
struct pk_snap_w;
struct pk_snap_r;
int pk_fd_snap_save(struct pk_kernel *k, struct pk_snap_w *w);
int pk_fd_snap_load(struct pk_kernel *k, struct pk_snap_r *r);

/* the futex key a RISC-V thread blocked on a pipe waits on: (this, pair) */
#define PK_PIPE_WAIT_KEY 0xFFFFFFFFFFFFFFFDull
/* ... and one blocked in ppoll / pselect6 with a timeout: (this, deadline);
 * woken by any pipe's change or at the deadline, it runs the call again */
#define PK_POLL_WAIT_KEY 0xFFFFFFFFFFFFFFFCull
#endif
