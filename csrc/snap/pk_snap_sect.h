/* pk_snap_sect.h - the section table of a snapshot file (docs/snapshot.md,
 * "Format"), shared by the driver (pk_snap_core.c) and the section files
 * of csrc/snap/.
 *
 * A snapshot is a header, then sections in the order of pk_snap_sections[],
 * then a checksum.  Each row of the table names a section (its tag, four
 * ASCII bytes), its version, whether a kernel has it (`present`: NULL for
 * a section every snapshot has), and the functions that write and read its
 * payload.  pk_kernel_snapshot walks the rows writing each present
 * section; pk_kernel_restore walks the same rows reading them: a section
 * whose row has `present` may be missing (its `absent` check runs
 * instead), any other must be next in the file, at the row's version.
 * While a payload loads, the reader is bounded to it (r->len is the
 * payload's end), and the loader must read it to the end. */
#ifndef PK_SNAP_SECT_H
#define PK_SNAP_SECT_H

#include <stdbool.h>
#include "pk_core.h"
#include "pk_snap.h"

#define PK_SNAP_TAG(a, b, c, d) \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

/* words of pk_sched_data that may hold thread pointers: list/mlfq next,
 * prev (0, 1), eevdf left, right, best (0..2), cfs next, prev (3, 4) */
#define PK_SNAP_PTR_WORDS 5

/* A thread control block as snapshots hold it: the layout of pk_thread in
 * format version 1, whatever the order of the fields in memory
 * (pk_kernel_snap.c converts).  wait is written as pk_thread_wait()
 * computes it and checked on restore. */
typedef struct pk_snap_thread {
    pk_regs regs;                              /*   0 */
    uint32_t tid, pid, prog;                   /* 272 */
    uint8_t kind, state;                       /* 284 */
    int16_t cpu;                               /* 286 */
    uint8_t sclass, rt_prio;                   /* 288 */
    int8_t nice;                               /* 290 */
    uint8_t tflags;                            /* 291 */
    uint16_t rq_cpu, pad0;                     /* 292 */
    uint32_t affinity;                         /* 296 */
    int32_t priority;                          /* 300 */
    uint64_t burst;                            /* 304 */
    uint32_t tickets, migrations;              /* 312 */
    pk_sched_data s;                           /* 320 */
    pk_time arrival, first_run, finish, since; /* 376 */
    uint64_t cpu_time, wait, blocked, nvcsw, nivcsw;   /* 408 */
} pk_snap_thread;                              /* 448 */
_Static_assert(sizeof(pk_snap_thread) == 448 && offsetof(pk_snap_thread, s) == 320
               && offsetof(pk_snap_thread, nivcsw) == 440, "snapshot thread layout, version 1");

/* A process record as snapshots hold it: the layout of pk_proc in format
 * version 1, which held the tree links in the record (pk_kernel_snap.c
 * converts to and from pk_proc and pk_ptlink). */
typedef struct pk_snap_proc {
    uint32_t prog, first_tid, nthreads, live_threads;   /*  0 */
    uint8_t state, ext[3];                              /* 16 */
    int32_t exit_code;                                  /* 20 */
    uint32_t kill_reason, as;                           /* 24 */
    uint32_t parent, first_child, last_child;           /* 32 */
    uint32_t next_sib, prev_sib, nchildren;             /* 44 */
    uint8_t tree, tflags, termsig, pad;                 /* 56 */
    uint32_t sigchld;                                   /* 60 */
} pk_snap_proc;                                         /* 64 */
_Static_assert(sizeof(pk_snap_proc) == 64 && offsetof(pk_snap_proc, parent) == 32
               && offsetof(pk_snap_proc, sigchld) == 60, "snapshot process layout, version 1");

/* the rows of pk_snap_sections[], in file order */
enum {
    PK_SEC_CORE, PK_SEC_RV, PK_SEC_MEM, PK_SEC_OBJS, PK_SEC_FS, PK_SEC_FD, PK_SEC_SCHD,
    PK_SEC_HOST, PK_SEC_END, PK_SEC_COUNT
};

/* What the sections of one snapshot or restore share. */
typedef struct pk_snap_ctx {
    pk_kernel *k;
    pk_snap_refusal *why;
    const uint8_t *extra;        /* save: the HOST payload */
    uint64_t extra_len;          /* save: its length; load: the payload's length */
    uint64_t extra_off;          /* load: where the HOST payload starts */
    uint32_t has;                /* load: bit PK_SEC_x: the file has that section */
    bool new_policy;             /* load: another policy takes over the threads */
    /* counted by the CORE loader, checked by the SCHD loader */
    uint32_t running;
    uint64_t ready, ready_rt;
} pk_snap_ctx;

typedef struct pk_snap_section {
    uint32_t tag;
    const char *name;            /* the tag as text */
    uint32_t version;            /* written, and the only one read */
    bool (*present)(const pk_kernel *k);     /* NULL: always written, always read */
    int  (*save)(pk_snap_ctx *c, pk_snap_w *w);   /* NULL: an empty payload */
    int  (*load)(pk_snap_ctx *c, pk_snap_r *r);
    int  (*absent)(pk_snap_ctx *c);          /* on restore without it; NULL: nothing to check */
    uint32_t save_refusal;       /* PK_SNAP_R_* recorded if save fails (0: none, or its own) */
    uint32_t load_refusal;       /* PK_SNAP_E_* recorded if load fails */
} pk_snap_section;

extern const pk_snap_section pk_snap_sections[PK_SEC_COUNT];

static inline bool pk_snap_has(const pk_snap_ctx *c, unsigned sec) { return c->has >> sec & 1; }

/* pk_snap_core.c: section framing and refusal records */
size_t pk_snap_section_begin(pk_snap_w *w, uint32_t tag, uint32_t version);
void   pk_snap_section_end(pk_snap_w *w, size_t start);
int    pk_snap_refuse(pk_snap_refusal *why, uint32_t reason, uint32_t tid, uint64_t value,
                      int status);

/* pk_kernel_snap.c: CORE (the kernel, CPUs, masks, programs, processes,
 * threads, job log, trace) */
int pk_snap_core_save(pk_snap_ctx *c, pk_snap_w *w);
int pk_snap_core_load(pk_snap_ctx *c, pk_snap_r *r);
/* pk_sched_snap.c: SCHD (run queues and events) */
int pk_snap_schd_save(pk_snap_ctx *c, pk_snap_w *w);
int pk_snap_schd_load(pk_snap_ctx *c, pk_snap_r *r);

#endif
