/* pk_rv.h - RISC-V RV64 machine-code thread bodies (docs/riscv.md).
 *
 * A thread of kind PK_BODY_RV keeps the architectural registers x1..x31
 * and pc in its pk_regs (x[i], pc), so the context switch saves and
 * restores them.  x[0] is the dispatcher's (PK_REG_REM): the interpreter
 * reads x0 as zero.  Everything else a RISC-V thread needs lives in a side
 * record (pk_rvt) whose id is kept in the upper 32 bits of regs.flags, so
 * the 448-byte TCB does not grow; a process's state (image, break, output,
 * counters) lives in a pk_rvp.  Both are plain data named by ids, never
 * pointers, so a snapshot can copy them.
 *
 * Files: pk_rv_exec.c (the interpreter, the MMU path), pk_rv_elf.c (ELF
 * images, the loader, spawn), pk_rv_sys.c (Linux system calls). */
#ifndef PK_RV_H
#define PK_RV_H

#define PK_RV_ID_SHIFT 32                /* regs.flags >> 32: side record id */
#define PK_RV_LINUX_ID_BASE 1            /* Linux pid/tid = pk id + this     */

/* a loaded ELF image (per kernel; programs of kind PK_BODY_RV name one) */
typedef struct pk_rvseg {
    uint64_t vaddr, memsz, off, filesz;
    uint32_t prot;                       /* PK_PROT_* */
    uint32_t pad;
} pk_rvseg;

typedef struct pk_rvimg {
    uint8_t  *data;                      /* the file's bytes (a copy)         */
    uint64_t  len;
    uint64_t  entry, phdr, lo, hi;       /* entry, AT_PHDR, span of the segments */
    uint32_t  phnum, phent;
    uint32_t  nseg, pad;
    pk_rvseg *seg;
    uint32_t *frames;                    /* read-only pages shared by every
                                            process: [(va - lo) >> 12], 0: none */
    uint64_t  npages;
} pk_rvimg;

/* a growable byte buffer (stdout, stderr) */
typedef struct pk_rvbuf {
    uint8_t *b;
    uint64_t n, cap;
} pk_rvbuf;

typedef struct pk_rvcount { uint64_t num, n; } pk_rvcount;   /* a7 as the thread set it, all 64 bits */

/* per process */
typedef struct pk_rvp {
    uint32_t pid, img;
    uint64_t brk_start, brk, brk_mapped; /* the break (bytes) and its pages' end */
    uint64_t mmap_next;                  /* next address mmap hands out (downwards) */
    pk_rvbuf out[2];                     /* fd 1, fd 2                        */
    uint8_t *in;                         /* stdin bytes and read position     */
    uint64_t in_len, in_pos;
    pk_rvcount *unknown;                 /* system calls answered -ENOSYS     */
    uint32_t nunknown, unknown_cap;
    char    *exe;                        /* /proc/self/exe (NUL-terminated)    */
    uint64_t exe_len;
    uint64_t syscalls, insns;            /* counters                           */
} pk_rvp;

/* per thread: the side record */
typedef struct pk_rvt {
    uint32_t tid, proc;                  /* proc: index in pk_rvstate.procs   */
    uint32_t fp;                         /* FP register file id + 1, 0: not used yet */
    uint32_t futex_waiting;              /* 1 while parked in futex wait      */
    uint64_t clear_child_tid;
    uint64_t robust_list, robust_len;
    uint64_t futex_hi, futex_lo;         /* the key it waits on                */
    uint64_t futex_seq;                  /* order of waiting (FIFO wakes)      */
    uint64_t carry;                      /* fraction of a ns owed (x clock_hz) */
    uint64_t in_syscall;                 /* 1: an ecall's entry cost is charged and the call
                                            is made when that time has passed; 0: none.
                                            A flag apart from a7, so no number is special */
} pk_rvt;

typedef struct pk_rvfp { uint64_t f[32]; uint64_t fcsr; } pk_rvfp;

/* a decoded instruction (pk_rv_exec.c): the bits fetched at its pc (a
 * compressed one's and the next parcel's), a handler, operands, length */
typedef struct pk_rvdec {
    uint32_t raw;                        /* the 32 bits fetched at its pc       */
    int32_t  imm;
    uint8_t  op, rd, rs1, rs2;
    uint8_t  len, pad[3];                /* 2 (compressed) or 4                 */
} pk_rvdec;
#define PK_RV_DC_BITS 14                 /* 16384 entries: pc bits 1..14 */

typedef struct pk_rvstate {
    pk_rvimg *imgs;  uint32_t nimgs, imgs_cap;   /* [0] unused */
    pk_rvp   *procs; uint32_t nprocs, procs_cap; /* [0] unused */
    pk_rvt   *thr;   uint32_t nthr, thr_cap;     /* [0] unused */
    pk_rvfp  *fps;   uint32_t nfps, fps_cap;
    uint64_t  futex_seq;
    uint64_t  timeouts;                  /* PK_EV_RV_TIMEOUT events queued     */
    uint32_t  making;                    /* 1 while pk_rv_spawn or clone makes a thread:
                                            only they give one its side record */
    uint32_t  pad;
    uint64_t  insns;                     /* instructions executed, kernel-wide */
    pk_rvdec *dc;                        /* decoded-instruction cache          */
} pk_rvstate;

static inline uint32_t pk_rvt_id(const pk_regs *r) { return (uint32_t)(r->flags >> PK_RV_ID_SHIFT); }

struct pk_kernel;
struct pk_cpu;
extern const pk_body_ops pk_rv_body;

/* pk_rv_elf.c */
int  pk_rv_state(struct pk_kernel *k);                 /* make k->rv; status */
/* validate an ELF file and describe it in *im (im->seg allocated; data,
 * frames not): PK_OK, INVALID_ARGS, NOT_SUPPORTED or NO_MEMORY */
int  pk_rv_elf_parse(struct pk_kernel *k, const uint8_t *d, uint64_t len, pk_rvimg *im);
void pk_rv_fini(struct pk_kernel *k);
/* fill the 4 KiB page at va of image img into dst; the frame of a shared
 * read-only page (one more reference; 0: no frame) */
void pk_rv_image_fill(struct pk_kernel *k, uint32_t img, uint64_t va, uint8_t *dst);
uint32_t pk_rv_image_frame(struct pk_kernel *k, uint32_t img, uint64_t va);
uint32_t pk_rvt_new(struct pk_kernel *k, uint32_t tid, uint32_t proc);   /* 0: no memory */

/* pk_rv_exec.c: user-memory copies for system calls (0, or -EFAULT; a
 * fatal fault (no frame) gives 1 with *reason set) */
int pk_rv_copy(struct pk_kernel *k, struct pk_cpu *c, uint32_t pid, uint64_t va, void *buf,
               uint64_t len, bool write, uint64_t *cost, uint32_t *reason);
pk_rvfp *pk_rv_fp(struct pk_kernel *k, pk_rvt *rt);    /* NULL: no memory */

/* pk_rv_sys.c: perform the system call of thread t (registers r); an
 * action (PK_ACT_*) or -1 to go on; *cost: CPU time it took */
int pk_rv_syscall(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                  uint64_t *arg, uint64_t *cost);
/* pk_rv_fd.c: the calls on descriptors, files and pipes (a = a0..a5); *known:
 * the number is one of them; *restart: the thread waits (*act) and runs the
 * ecall again when woken */
int64_t pk_rv_fd_syscall(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, uint32_t rid,
                         uint64_t num, const uint64_t *a, uint64_t *cost, uint32_t *dead, int *act,
                         bool *restart, bool *known);
/* the event of a timed futex wait (PK_EV_RV_TIMEOUT; arg = tid | wait order << 32) */
struct pk_event;
void pk_rv_timeout_fire(struct pk_kernel *k, const struct pk_event *e);
bool pk_rv_timeout_stale(struct pk_kernel *k, const struct pk_event *e);
void pk_rv_timeout_dropped(struct pk_kernel *k);
/* a child of process pid ended or was adopted: its threads blocked in
 * wait4 / waitid run the call again */
void pk_rv_wake_waiters(struct pk_kernel *k, uint32_t pid);
#endif
