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
    uint32_t sig;                        /* signal record (pk_rvsigp) id, 0: all default */
    uint32_t sigpad;
    uint64_t tramp;                      /* the sigreturn trampoline page, 0: not mapped */
    uint32_t tty;                        /* the record holding its terminal: its own
                                            (spawned), or the one its forker had */
    uint32_t watch;                      /* bit fd - 1: the host watches fd 1 / 2
                                            (pk_rv_watch); host state, not saved */
    pk_rvbuf term;                       /* the terminal (a record whose tty is itself):
                                            fd 1 and 2 of every process on it, in order */
} pk_rvp;

/* signals of a process (pk_rv_sig.c), made on first use */
typedef struct pk_rvact { uint64_t handler, flags, mask; } pk_rvact;  /* struct sigaction (riscv64: no sa_restorer) */
typedef struct pk_rvsi { int32_t code, pid; uint32_t uid; int32_t status; uint64_t addr; } pk_rvsi;
typedef struct pk_rvsigp {
    pk_rvact act[64];                    /* [signo - 1] */
    pk_rvsi  info[64];                   /* what each process-wide pending signal carries */
    pk_rvsi  tinfo[64];                  /* the same for thread-directed ones (the last sent
                                            of each number to any of its threads) */
    uint64_t pending;                    /* process-wide pending set (bit signo - 1) */
    uint64_t it_end, it_interval;        /* ITIMER_REAL: next expiry (0: disarmed), reload */
    uint64_t it_seq;                     /* the generation of its event */
    uint8_t  stopped;                    /* 1: stopped by a stop signal (group stop) */
    uint8_t  stopsig;                    /* the signal that stopped it */
    uint8_t  report;                     /* for the parent's wait: PK_RVR_* */
    uint8_t  pad[5];
} pk_rvsigp;
/* a real-time signal sent again while one of its number is pending: the
 * instances after the first, in the order sent (pk_rv_sig.c) */
typedef struct pk_rvsq {
    uint32_t pid, tid1, signo, pad;      /* tid1: thread-directed (tid + 1), 0: the process */
    pk_rvsi  si;
} pk_rvsq;
#define PK_RV_SIGQUEUE_MAX 1024          /* real-time signals pending per process (RLIMIT_SIGPENDING) */

#define PK_RVR_STOPPED   1               /* a stop not yet reported (WUNTRACED) */
#define PK_RVR_CONTINUED 2               /* a continue not yet reported (WCONTINUED) */

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
    /* signals (pk_rv_sig.c) */
    uint64_t blocked, sigpend;           /* mask; thread-directed pending set */
    uint64_t ss_sp, ss_size;             /* sigaltstack */
    uint32_t ss_flags;                   /* SS_DISABLE (2) or 0 */
    uint32_t sigpad;
    uint64_t saved_mask;                 /* rt_sigsuspend: the mask its handler's frame restores */
    uint32_t sigflags;                   /* PK_RVS_* */
    uint32_t sleep_gen;                  /* sleeps cut short: a wake event carries it */
    uint64_t sleep_end;                  /* nanosleep: its end; once cut short, the time left */
    uint64_t sleep_rem;                  /* nanosleep: where the time left goes, 0: nowhere */
    uint64_t wait_set, wait_info;        /* rt_sigtimedwait: the set, where its siginfo goes */
} pk_rvt;

#define PK_RVS_SUSPENDED   1             /* waiting in rt_sigsuspend */
#define PK_RVS_RESTORE     2             /* saved_mask goes into the next frame */
#define PK_RVS_WRITE_REM   4             /* a cut-short nanosleep owes *rem */
#define PK_RVS_STOPPED     8             /* parked while its process is stopped */
#define PK_RVS_SIGWAIT    16             /* in rt_sigtimedwait (saved_mask: its mask) */
#define PK_RVS_ALL        31

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

/* a pre-decoded basic block (pk_rv_exec.c, "Blocks"): up to PK_RV_BLK_MAX
 * straight-line instructions in one page, ending at a jump (a taken branch
 * leaves it early; it also ends before an instruction the block handlers
 * do not cover), with the bytes they were decoded from; each instruction
 * names its handler directly */
#define PK_RV_BLK_MAX 16
#define PK_RV_BLK_BITS 12                /* 4096 blocks, direct-mapped (pc hashed) */
typedef struct pk_rvbi {
    const void *h;                       /* handler (a label of the block loop) */
    int64_t  imm;                        /* immediate; absolute for auipc and jump targets;
                                            at a block's end: the next block (a cache) */
    uint64_t next;                       /* pc of the next instruction; for a branch
                                            or j: the block its target had (a cache) */
    uint8_t  rd, rs1, rs2, rem;          /* rem: instructions after it in the block */
    uint8_t  fk, len;                    /* fk: fetches since the previous access */
    uint16_t off;                        /* byte offset from the block's pc     */
} pk_rvbi;
typedef struct pk_rvblk {
    uint64_t pc;                         /* ~0: empty                           */
    uint16_t n, bytes;                   /* instructions (0: none fit), bytes   */
    uint16_t tail, pad;                  /* fetches after the last access       */
    uint64_t epoch;                      /* the validation epoch it was last checked in */
    uint8_t  code[PK_RV_BLK_MAX * 4];    /* the bytes they were decoded from    */
    pk_rvbi  i[PK_RV_BLK_MAX + 1];       /* + the end of a block without a jump */
} pk_rvblk;

typedef struct pk_rvstate {
    pk_rvimg *imgs;  uint32_t nimgs, imgs_cap;   /* [0] unused */
    pk_rvp   *procs; uint32_t nprocs, procs_cap; /* [0] unused */
    pk_rvt   *thr;   uint32_t nthr, thr_cap;     /* [0] unused */
    pk_rvfp  *fps;   uint32_t nfps, fps_cap;
    uint64_t  futex_seq;
    uint64_t  timeouts;                  /* PK_EV_RV_TIMEOUT events queued     */
    uint32_t  making;                    /* 1 while pk_rv_spawn or clone makes a thread:
                                            only they give one its side record */
    uint32_t  sig_on;                    /* 1 once any signal state exists (checks
                                            on the way back to user mode) */
    uint64_t  insns;                     /* instructions executed, kernel-wide */
    pk_rvdec *dc;                        /* decoded-instruction cache          */
    pk_rvsigp *sigp; uint32_t nsigp, sigp_cap;   /* [0] unused */
    pk_rvsq  *sigq; uint32_t nsigq, sigq_cap;   /* queued real-time signals, oldest first */
    uint32_t  in_call;                   /* tid + 1 of the thread in pk_rv_syscall, 0 */
    uint64_t  itimers;                   /* PK_EV_RV_ITIMER events queued */
    pk_rvblk *blk;                       /* pre-decoded blocks                  */
    uint64_t  blk_epoch;                 /* validation epochs (pk_rv_exec.c)    */
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
int  pk_rv_image_alloc(struct pk_kernel *k, pk_rvimg *im, uint64_t len);
void pk_rv_fini(struct pk_kernel *k);
/* fill the 4 KiB page at va of image img into dst; the frame of a shared
 * read-only page (one more reference; 0: no frame) */
void pk_rv_image_fill(struct pk_kernel *k, uint32_t img, uint64_t va, uint8_t *dst);
uint32_t pk_rv_image_frame(struct pk_kernel *k, uint32_t img, uint64_t va);
uint32_t pk_rvt_new(struct pk_kernel *k, uint32_t tid, uint32_t proc);   /* 0: no memory */
int  pk_rv_prog_add(struct pk_kernel *k, const uint8_t *d, uint64_t len, uint32_t *prog_out);
int  pk_rv_prog_for(struct pk_kernel *k, const uint8_t *d, uint64_t len, uint32_t *prog_out);
struct pk_as;
/* pk_rv_fd.c: append n bytes to stream `fd` (1, 2) of process record p
 * and, with `term`, to its terminal; a stream the host watches asks the
 * run to stop after this step (PK_STOP_OUTPUT).  0, or -1 for want of
 * memory (nothing appended to the buffer that failed). */
int  pk_rv_out_append(struct pk_kernel *k, pk_rvp *p, uint32_t fd, const uint8_t *d, uint64_t n,
                      bool term);
int  pk_rv_poke(struct pk_kernel *k, struct pk_as *as, uint64_t va, const void *src, uint64_t len);
int  pk_rv_image_setup(struct pk_kernel *k, uint32_t pid, uint32_t img, const char *strs,
                       uint64_t slen, uint32_t argc, uint32_t envc, uint64_t *sp_out);
uint64_t pk_rv_mmap_top(struct pk_kernel *k);
#define PK_RV_MAX_STRINGS (256u << 10)   /* bytes of argv + envp strings (spawn, execve) */

/* pk_rv_proc.c: fork / vfork (clone without CLONE_THREAD) and execve by
 * thread t; the call's result (a Linux pid, 0 or -errno).  *dead: a
 * fatal fault or a failure past execve's point of no return (kill
 * reason).  execve's success: *done = 1 (the registers are the new
 * image's: no result is written) */
int64_t pk_rv_fork(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                   uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls, uint64_t ctid,
                   int *act, uint64_t *cost, uint32_t *dead);
int64_t pk_rv_execve(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                     uint64_t path, uint64_t argv, uint64_t envp, int *done, uint64_t *cost,
                     uint32_t *dead);
/* process pid ended or exec'd: a parent suspended by its vfork goes on */
void pk_rv_vfork_release(struct pk_kernel *k, uint32_t pid);

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
/* reserve event slots for one more timed event of a RISC-V thread or
 * timer: 0, or -1 (no memory) */
int pk_rv_reserve_event(struct pk_kernel *k);

/* pk_rv_sig.c: signals of machine code */
/* the sigreturn trampoline: two pages below the lowest stack page */
#define PK_RV_TRAMP_OFF ((8ull << 20) + 2 * 4096)
/* on the way back to user mode (advance() before its block): deliver what
 * is pending and unblocked; -1 to go on, or PK_ACT_KILL (*arg: reason) */
int pk_rv_sig_entry(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                    uint64_t *arg, uint64_t *cost);
/* a fault of the running thread (SIGSEGV / SIGILL / SIGBUS with si_code and
 * si_addr): a handler runs (-1), else PK_ACT_KILL with *arg the reason */
int pk_rv_sig_fault(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                    uint32_t signo, int32_t code, uint64_t addr, uint32_t reason,
                    uint64_t *arg, uint64_t *cost);
/* the signal system calls (number; registers in r); -1 to go on, or an action */
#define PK_RV_NORET INT64_MIN             /* rt_sigreturn: the registers are set */
int64_t pk_rv_sig_syscall(struct pk_kernel *k, struct pk_cpu *c, pk_thread *t, pk_regs *r,
                          uint64_t num, int *act, uint64_t *arg, uint64_t *cost, uint32_t *dead);
/* something for pk_rv_sig_entry to do on the way back to user mode */
static inline bool pk_rv_sig_ready(const pk_rvstate *rs, const pk_rvt *rt) {
    const pk_rvp *rp = &rs->procs[rt->proc];
    uint64_t pend = rt->sigpend | (rp->sig ? rs->sigp[rp->sig].pending : 0);
    return (pend & ~rt->blocked) || (rt->sigflags & (PK_RVS_WRITE_REM | PK_RVS_RESTORE | PK_RVS_SIGWAIT))
        || (rp->sig && rs->sigp[rp->sig].stopped);
}
/* a wake event of RISC-V thread t carries this tag in its upper 32 bits */
uint64_t pk_rv_sleep_tag(struct pk_kernel *k, const pk_thread *t);
/* PK_EV_RV_ITIMER: arg = pid | generation << 32 */
void pk_rv_itimer_fire(struct pk_kernel *k, const struct pk_event *e);
bool pk_rv_itimer_stale(struct pk_kernel *k, const struct pk_event *e);
void pk_rv_itimer_dropped(struct pk_kernel *k);
/* the SIGCHLD of a child that ended (pk_ptree notify) */
void pk_rv_sigchld(struct pk_kernel *k, uint32_t parent, uint32_t child);
bool pk_rv_autoreap(struct pk_kernel *k, uint32_t parent);   /* SIGCHLD ignored or SA_NOCLDWAIT */
void pk_rv_sig_fini(struct pk_kernel *k);
/* true while a living process has a real-time signal queued behind a
 * pending one of its number (snapshots do not hold the queue) */
bool pk_rv_sig_queued(struct pk_kernel *k);
/* wait4 / waitid: child's stop or continue not yet reported that `options`
 * (WUNTRACED 2, WCONTINUED 8) ask for: 1 with *status (a wait status) and
 * *code (CLD_STOPPED 5 or CLD_CONTINUED 6) and *sig, and taken unless
 * `keep` (WNOWAIT); else 0 */
int pk_rv_sig_report(struct pk_kernel *k, uint32_t child, uint64_t options, bool keep,
                     int32_t *status, int32_t *code, int32_t *sig);
#endif
