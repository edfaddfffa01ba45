/* pk_sig.h - signals (docs/signals.md): the interface other C files use.
 *
 * Numbers, default actions and siginfo fields are Linux's (signal(7),
 * include/uapi/asm-generic/signal.h, include/uapi/asm-generic/siginfo.h).
 * Machine-code (RISC-V) processes keep per-process dispositions and a
 * process-wide pending set, per-thread masks and pending sets, and get
 * user handlers with a Linux riscv64 signal frame (pk_rv_sig.c).  Script
 * and Python-bodied processes have no handlers: a signal takes its default
 * action at once (terminate, or ignore); stopping one of them is not
 * modelled (PK_ERR_NOT_SUPPORTED).  A machine-code process stops as a
 * whole (its threads park on their way back to user mode) until SIGCONT. */
#ifndef PK_SIG_H
#define PK_SIG_H
#include <stdint.h>

#define PK_NSIG 64
#define PK_SIGKILL 9
#define PK_SIGPIPE 13
#define PK_SIGALRM 14
#define PK_SIGCHLD 17
#define PK_SIGSTOP 19

/* si_code values (include/uapi/asm-generic/siginfo.h) */
#define PK_SI_USER   0
#define PK_SI_KERNEL 0x80
#define PK_SI_TKILL  (-6)

/* what a sender says about a signal: it becomes the siginfo the handler
 * sees (si_code, si_pid as a Linux pid or 0, si_uid, si_status for
 * SIGCHLD, si_addr for faults) */
typedef struct pk_sigsrc {
    int32_t  code;
    int32_t  pid;
    uint32_t uid;
    int32_t  status;
    uint64_t addr;
} pk_sigsrc;

struct pk_kernel;

/* Send signal signo (1..64; 0 only checks that the target exists) to
 * process pid, or to one thread of it: tid1 = its tid + 1, 0 = the process
 * (any thread that does not block it takes it).  src may be NULL (SI_USER
 * from pid 0).  Usable from any C file at any point of a run, including a
 * system call of the target itself: then the signal stays pending and is
 * delivered when the thread returns to user mode (e.g. SIGPIPE from a
 * write to a pipe with no readers: pk_sig_send(k, pid, tid + 1, PK_SIGPIPE,
 * &(pk_sigsrc){ PK_SI_USER, linux_pid, uid, 0, 0 })).  A process that has
 * ended (a zombie, or reaped) accepts the signal and ignores it, as
 * kill(2) does.  A fatal default action on another process kills it at
 * once.  Interruptible waits of the target (nanosleep, futex, wait4,
 * waitid, rt_sigsuspend) end with -EINTR, or wait4 / waitid restart under
 * SA_RESTART.
 * A real-time signal (32..64) sent while one of its number is pending is
 * queued behind it; past PK_RV_SIGQUEUE_MAX pending in the process, one
 * with si_code SI_USER is not queued (it stays one pending signal) and
 * any other is refused with PK_ERR_SHOULD_WAIT (EAGAIN).
 * Returns PK_OK, PK_ERR_INVALID_ARGS (no such pid or thread, signo out of
 * range), PK_ERR_NOT_SUPPORTED (stopping a process that is not machine
 * code), PK_ERR_SHOULD_WAIT, PK_ERR_NO_MEMORY. */
int pk_sig_send(struct pk_kernel *k, uint32_t pid, uint32_t tid1, uint32_t signo,
                const pk_sigsrc *src);

/* fork(2) of machine code: child process child_pid (thread child_tid)
 * gets a copy of parent_pid's dispositions; the child thread inherits the
 * signal mask and the alternate stack of the parent thread making the call
 * (or of the parent's first living thread from outside a call); pending
 * signals and interval timers are not inherited (fork(2)).  PK_OK,
 * INVALID_ARGS, NOT_SUPPORTED (not machine code), NO_MEMORY. */
int pk_sig_fork(struct pk_kernel *k, uint32_t parent_pid, uint32_t child_pid, uint32_t child_tid);

/* execve(2) of machine code in process pid, after its new image is in
 * place: caught signals return to SIG_DFL, ignored ones stay ignored;
 * masks, pending signals and ITIMER_REAL are kept; the alternate stacks
 * are cleared and the sigreturn trampoline is mapped again when needed
 * (execve(2), "Signals").  PK_OK, INVALID_ARGS, NOT_SUPPORTED. */
int pk_sig_exec(struct pk_kernel *k, uint32_t pid);

/* the default action of a signal (signal(7)) */
enum { PK_SIGACT_TERM, PK_SIGACT_CORE, PK_SIGACT_IGN, PK_SIGACT_STOP, PK_SIGACT_CONT };
int pk_sig_default(uint32_t signo);
#endif
