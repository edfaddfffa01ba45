/* pk_fs.h - the in-memory file system of a kernel (pk_fs.c, docs/userland.md).
 *
 * Inodes live in one array and are named by their index (1: the root;
 * 0 names none); a freed inode goes on a free list and its number is
 * given out again (last freed, first reused).  A directory keeps its
 * entries in the order they were made, each with a sequence number that
 * readdir cursors name, so iteration is deterministic and a cursor stays
 * valid while entries come and go.  A regular file's data is an array of
 * 4 KiB pages (NULL: a hole, read as zeros) allocated through pk_alloc,
 * so k.stats.memory_bytes counts them; in a kernel with memory they are
 * the frames of the file's page cache (pk_shm.c), which mmap shares.  Nothing holds a pointer into the
 * inode array across a call that can grow it. */
#ifndef PK_FS_H
#define PK_FS_H

#include <stdint.h>

#define PK_FS_ROOT 1u
#define PK_FS_PAGE 4096u
#define PK_FS_MAX_FILE (1ull << 40)          /* EFBIG past this size           */
#define PK_FS_DEFAULT_MAX_BYTES (256ull << 20)  /* data pages: 256 MiB       */
#define PK_FS_DEFAULT_MAX_INODES (1ull << 20)

typedef struct pk_dent {
    char    *name;                           /* not NUL-terminated           */
    uint64_t seq;                            /* order of making, per directory */
    uint32_t ino;
    uint16_t len;
    uint16_t pad;
} pk_dent;

typedef struct pk_inode {
    uint32_t mode;                           /* PK_S_IF* | permissions; 0: free */
    uint32_t uid, gid, nlink;
    uint32_t refs;                           /* pk_fs_get references, working
                                                directories included          */
    uint32_t rdev;
    uint32_t parent;                         /* directories: where its ".." goes
                                                (itself once removed); free
                                                inodes: the next free one     */
    uint32_t cache;                          /* regular files in a kernel with
                                                memory: the page cache (a
                                                pk_shm id) whose frames hold
                                                the pages; 0: none yet        */
    uint64_t size;
    uint64_t atime, mtime, ctime;            /* ns since 1970-01-01 UTC      */
    uint64_t version;                        /* fs-wide change sequence       */
    uint8_t **pages;                         /* regular files: [pcap]         */
    uint64_t  pcap, held;                    /* slots, pages allocated        */
    pk_dent  *ents;                          /* directories                   */
    uint32_t  n, cap;
    uint64_t  seq;                           /* next entry's sequence number  */
    char     *target;                        /* symbolic links: size bytes    */
} pk_inode;

typedef struct pk_fs {
    pk_inode *ino;                           /* [0 .. n-1], [0] unused        */
    uint32_t  n, cap;
    uint32_t  free_head, pad;
    uint64_t  live;                          /* inodes in use                 */
    uint64_t  pages;                         /* data pages held, all files    */
    uint64_t  slots;                         /* page slots (pcap), all files:
                                                8 bytes each count against
                                                max_bytes with the pages      */
    uint64_t  max_bytes, max_inodes;
    uint64_t  vseq;                          /* last version handed out       */
    uint32_t *cwd;                           /* [pid]: working directory, 0: root */
    uint32_t  ncwd, cwd_cap;
} pk_fs;

struct pk_kernel;
int  pk_fs_state(struct pk_kernel *k);       /* make k->fs: 0 or -PK_ENOMEM */
void pk_fs_fini(struct pk_kernel *k);
void pk_fs_proc_exit(struct pk_kernel *k, uint32_t pid);   /* drops its working directory */
/* child inherits parent's working directory (chdir(2)): a status */
int  pk_fs_proc_fork(struct pk_kernel *k, uint32_t parent, uint32_t child);
/* page caches (pk_shm.c): give regular file ino its page i (a hole gets
 * a zeroed page; ENOSPC past the limits, ENOMEM without a frame): 0 or a
 * negative errno; is page i past the end of the file? */
int  pk_fs_cache_fill(struct pk_kernel *k, uint32_t ino, uint64_t i);
int  pk_fs_cache_beyond(struct pk_kernel *k, uint32_t ino, uint64_t i);
/* the page cache of ino (made if it has none): its id, or -ENODEV (not a
 * regular file), -ENOMEM */
int64_t pk_fs_cache_of(struct pk_kernel *k, uint32_t ino);
/* snapshots (pk_fs.c): the FS section */
struct pk_snap_w;
struct pk_snap_r;
int  pk_fs_snap_save(struct pk_kernel *k, struct pk_snap_w *w);
int  pk_fs_snap_load(struct pk_kernel *k, struct pk_snap_r *r);

#endif
