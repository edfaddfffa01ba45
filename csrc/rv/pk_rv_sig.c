/* pk_rv_sig.c - signals (docs/signals.md): sending, default actions,
 * delivery to machine code with a Linux riscv64 signal frame, the signal
 * system calls, ITIMER_REAL, and the default actions for processes of
 * other kinds.
 *
 * State.  A RISC-V process gets a signal record (pk_rvsigp) the first time
 * it needs one: 64 dispositions (struct sigaction as riscv64 passes it:
 * handler, flags, mask; there is no sa_restorer), the process-wide pending
 * set with the siginfo of each pending signal, and ITIMER_REAL.  Each
 * thread's side record (pk_rvt) holds its mask, its thread-directed pending
 * set and its alternate stack.  A standard signal is pending at most once
 * per number; a real-time one (32..64) sent while its number is pending
 * is queued (pk_rvstate.sigq, oldest first) and each instance is delivered
 * once, with its own siginfo (signal(7), "Real-time signals").  A process
 * holds at most PK_RV_SIGQUEUE_MAX pending real-time signals
 * (RLIMIT_SIGPENDING): beyond it kill() sets the signal pending without
 * queueing another (kernel/signal.c __send_signal_locked: "silent loss of
 * information") and the other senders fail with EAGAIN.
 *
 * Delivery (kernel/signal.c get_signal, arch/riscv/kernel/signal.c).  On
 * the way back to user mode (advance() before its block, and after a
 * system call that made a signal deliverable) the thread takes the pending
 * unblocked signals: synchronous ones (SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
 * SIGFPE, SIGSYS) first, then the lowest number, its own before the
 * process's.  Ignored ones are dropped; a default action of terminate or
 * core ends the process with that signal (no core file is written and
 * RLIMIT_CORE counts as 0, so the wait status has no core flag); a handler
 * gets a frame:
 *
 *   struct rt_sigframe { siginfo_t info (128 bytes); struct ucontext uc; }
 *   uc: uc_flags @0, uc_link @8, uc_stack @16 (ss_sp, ss_flags, ss_size),
 *       uc_sigmask @40 (8 bytes, then room to 128), uc_mcontext @176:
 *       sc_regs (pc, x1..x31), then the FP state (f0..f31, fcsr) in a
 *       528-byte union; 960 bytes, so the frame is 1088.
 *
 * placed below the stack pointer (or at the top of the alternate stack
 * with SA_ONSTACK), aligned down to 16; ra points at the sigreturn
 * trampoline (li a7, 139; ecall), one read+execute page mapped at a fixed
 * place, two pages below the stack's lowest page, when the process first
 * installs a handler (Linux uses the vDSO's __vdso_rt_sigreturn; glibc on
 * riscv64 passes no restorer); a0 = signal, a1 = &info, a2 = &uc; the
 * mask gains sa_mask and, without SA_NODEFER, the signal.  rt_sigreturn
 * reads the frame back at sp.  A frame that cannot be written or read
 * ends the process with SIGSEGV (force_sigsegv).
 *
 * Faults (force_sig_fault): a memory fault or illegal instruction with a
 * handler installed runs the handler at once with si_code and si_addr; a
 * handler that returns runs the instruction again.  Blocked or ignored,
 * the disposition becomes SIG_DFL and the process dies as before, with
 * the same kill reasons.
 *
 * Waits cut short: nanosleep / clock_nanosleep (-EINTR, the time left in
 * *rem), futex waits (-EINTR), rt_sigsuspend (-EINTR), wait4 and waitid
 * (-EINTR, or run again after the handler when it has SA_RESTART, as
 * -ERESTARTSYS is). */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"
#include "pk_sig.h"
#include "pk_obj.h"

enum { EPERM = 1, ESRCH = 3, EINTR = 4, EAGAIN = 11, ENOMEM = 12, EFAULT = 14, EINVAL = 22, ENOSYS = 38 };

#define A0 10
#define BIT(s) (1ull << ((s) - 1))
#define UNBLOCKABLE (BIT(9) | BIT(19))                       /* SIGKILL, SIGSTOP */
#define RT_MASK (~0ull << 31)                                /* SIGRTMIN (32) .. 64 */
#define SI_QUEUE (-1)
#define SYNC_MASK (BIT(11) | BIT(7) | BIT(4) | BIT(5) | BIT(8) | BIT(31))
#define SIG_DFL 0
#define SIG_IGN 1
#define SA_NOCLDSTOP 1
#define SA_NOCLDWAIT 2
#define SA_SIGINFO 4
#define SA_ONSTACK 0x08000000ull
#define SA_RESTART 0x10000000ull
#define SA_NODEFER 0x40000000ull
#define SA_RESETHAND 0x80000000ull
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)
#define MINSIGSTKSZ 2048
#define FRAME 1088
#define UC 128
#define MC (UC + 176)
#define FPO (MC + 256)
#define CLD_EXITED 1
#define CLD_KILLED 2

static inline void put32(uint8_t *b, uint32_t o, uint32_t v) { memcpy(b + o, &v, 4); }
static inline void put64(uint8_t *b, uint32_t o, uint64_t v) { memcpy(b + o, &v, 8); }
static inline uint64_t get64(const uint8_t *b, uint32_t o) { uint64_t v; memcpy(&v, b + o, 8); return v; }
static inline uint32_t get32(const uint8_t *b, uint32_t o) { uint32_t v; memcpy(&v, b + o, 4); return v; }

int pk_sig_default(uint32_t s) {
    switch (s) {
    case 17: case 23: case 28: return PK_SIGACT_IGN;          /* SIGCHLD, SIGURG, SIGWINCH */
    case 18: return PK_SIGACT_CONT;                            /* SIGCONT */
    case 19: case 20: case 21: case 22: return PK_SIGACT_STOP; /* SIGSTOP, TSTP, TTIN, TTOU */
    case 3: case 4: case 5: case 6: case 7: case 8: case 11: case 24: case 25: case 31:
        return PK_SIGACT_CORE;            /* QUIT ILL TRAP ABRT BUS FPE SEGV XCPU XFSZ SYS */
    default: return PK_SIGACT_TERM;       /* the rest, real-time signals too (signal(7)) */
    }
}

/* ---- records ------------------------------------------------------------------ */

static pk_rvp *rvp_of(pk_kernel *k, uint32_t pid) {
    if (!k->rv) return NULL;
    for (uint32_t i = 1; i < k->rv->nprocs; i++)
        if (k->rv->procs[i].pid == pid) return &k->rv->procs[i];
    return NULL;
}

static pk_rvsigp *sigp(pk_kernel *k, const pk_rvp *rp) {
    return rp && rp->sig ? &k->rv->sigp[rp->sig] : NULL;
}

static pk_rvsigp *sigp_make(pk_kernel *k, pk_rvp *rp) {
    pk_rvstate *rs = k->rv;
    if (rp->sig) return &rs->sigp[rp->sig];
    uint32_t n = rs->nsigp ? rs->nsigp : 1;
    if (pk_vec_grow(k, (void **)&rs->sigp, &rs->sigp_cap, n + 1, sizeof(pk_rvsigp))) return NULL;
    memset(&rs->sigp[n], 0, sizeof(pk_rvsigp));
    rs->nsigp = n + 1;
    rp->sig = n;
    rs->sig_on = 1;
    return &rs->sigp[n];
}

void pk_rv_sig_fini(pk_kernel *k) {
    pk_rvstate *rs = k->rv;
    pk_free(k, rs->sigp, rs->sigp_cap * sizeof(pk_rvsigp));
    pk_free(k, rs->sigq, rs->sigq_cap * sizeof(pk_rvsq));
    rs->sigq = NULL;
    rs->nsigq = rs->sigq_cap = 0;
    rs->sigp = NULL;
    rs->nsigp = rs->sigp_cap = 0;
}

static const pk_rvact NO_ACT = { 0, 0, 0 };

static const pk_rvact *act_of(pk_kernel *k, const pk_rvp *rp, uint32_t s) {
    const pk_rvsigp *sp = sigp(k, rp);
    return sp ? &sp->act[s - 1] : &NO_ACT;
}

enum { D_IGNORE, D_HANDLER, D_TERM, D_STOP };

static int disp(const pk_rvact *a, uint32_t s) {
    if (s == PK_SIGKILL) return D_TERM;
    if (s == PK_SIGSTOP) return D_STOP;
    if (a->handler == SIG_IGN) return D_IGNORE;
    if (a->handler != SIG_DFL) return D_HANDLER;
    switch (pk_sig_default(s)) {
    case PK_SIGACT_IGN: case PK_SIGACT_CONT: return D_IGNORE;  /* nothing is ever stopped */
    case PK_SIGACT_STOP: return D_STOP;
    default: return D_TERM;
    }
}

static uint32_t reason_of(uint32_t s) {
    switch (s) {
    case 11: return PK_KILL_SEGV;
    case 4: return PK_KILL_ILLEGAL;
    case 6: return PK_KILL_ABORT;
    default: return PK_KILL_SIGNAL;
    }
}

static pk_rvt *rvt_of(pk_kernel *k, const pk_thread *t) {
    uint32_t rid = pk_rvt_id(&t->regs);
    return rid && rid < k->rv->nthr ? &k->rv->thr[rid] : NULL;
}

/* the i-th thread of process p (first its own, then those created later) */
static pk_thread *thread_i(pk_kernel *k, const pk_proc *p, uint32_t i, const uint32_t *xt) {
    return pk_thread_at(k, i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads]);
}

/* end process pid (alive) with signal s, from outside its own advance() */
static void kill_now(pk_kernel *k, uint32_t pid, uint32_t s) {
    pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    pk_thread *victim = NULL;
    for (uint32_t i = 0; i < p->nthreads + nx && !victim; i++) {
        pk_thread *t = thread_i(k, p, i, xt);
        if (t->state != PK_TS_EXITED) victim = t;
    }
    if (!victim) return;
    p->termsig = (uint8_t)s;
    pk_thread_exit(k, victim, -1, reason_of(s));
}

/* signal_wake_up: a thread in an interruptible wait leaves it */
static void interrupt(pk_kernel *k, pk_thread *t, bool restart) {
    if (t->kind != PK_BODY_RV) return;
    pk_rvt *rt = rvt_of(k, t);
    if (!rt) return;
    if (t->state == PK_TS_SLEEPING) {                     /* nanosleep */
        rt->sleep_gen++;                                  /* its wake event is stale now */
        rt->sleep_end = rt->sleep_end > k->now ? rt->sleep_end - k->now : 0;
        if (rt->sleep_rem) rt->sigflags |= PK_RVS_WRITE_REM;
        t->regs.x[A0] = (uint64_t)(int64_t)-EINTR;
    } else if (t->state == PK_TS_WAITING) {
        if (rt->futex_waiting && (rt->futex_hi == PK_PIPE_WAIT_KEY || rt->futex_hi == PK_POLL_WAIT_KEY)) {
            /* blocked on a pipe, or in ppoll / pselect6 (pk_rv_fd.c): its pc
             * is on the ecall; ppoll and pselect6 are never restarted */
            bool poll = t->regs.x[17] == 73 || t->regs.x[17] == 72;
            rt->futex_waiting = 0;
            rt->futex_hi = 0;
            rt->in_syscall = 0;
            if (!restart || poll) {
                t->regs.x[A0] = (uint64_t)(int64_t)-EINTR;
                t->regs.pc += 4;
                k->rv->procs[rt->proc].syscalls++;
            }
        } else if (rt->futex_waiting) {
            rt->futex_waiting = 0;                        /* its timeout is stale now; in
                                                             rt_sigtimedwait the entry decides */
            t->regs.x[A0] = (uint64_t)(int64_t)-EINTR;
        } else if (rt->sigflags & PK_RVS_SUSPENDED) {
            rt->sigflags &= ~(uint32_t)PK_RVS_SUSPENDED;  /* a0 is -EINTR already */
        } else if (rt->in_syscall && (t->regs.x[17] == 260 || t->regs.x[17] == 95)) {
            rt->in_syscall = 0;                           /* wait4, waitid (a7 says which) */
            if (!restart) {                               /* else the ecall runs again */
                t->regs.x[A0] = (uint64_t)(int64_t)-EINTR;
                t->regs.pc += 4;
                k->rv->procs[rt->proc].syscalls++;
            }
        } else return;
    } else return;
    t->blocked += k->now - t->since;
    pk_thread_make_ready(k, t, PK_ENQ_WAKE);
}

/* ---- stop and continue (kernel/signal.c: do_signal_stop, prepare_signal) ---- */

#define STOP_MASK (BIT(19) | BIT(20) | BIT(21) | BIT(22))
#define CLD_STOPPED 5
#define CLD_CONTINUED 6

/* do_notify_parent_cldstop: the parent's waiters look again, and it gets
 * SIGCHLD unless its SIGCHLD action has SA_NOCLDSTOP */
static void notify_parent(pk_kernel *k, uint32_t pid, int32_t code, int32_t status) {
    uint32_t parent = pk_ptl(k, pid)->parent;
    if (!parent) return;
    pk_rv_wake_waiters(k, parent - 1);
    pk_rvp *pp = rvp_of(k, parent - 1);
    if (pp && (act_of(k, pp, PK_SIGCHLD)->flags & SA_NOCLDSTOP)) return;
    uint32_t uid = 0, gid = 0;
    pk_proc_creds_get(k, pid, &uid, &gid);
    pk_sigsrc src = { code, (int32_t)(pid + PK_RV_LINUX_ID_BASE), uid, status, 0 };
    pk_sig_send(k, parent - 1, 0, PK_SIGCHLD, &src);
}

/* the whole process stops: its threads park on their way back to user
 * mode (waits in progress go on and park when they end) */
static int stop_now(pk_kernel *k, uint32_t pid, pk_rvp *rp, uint32_t s) {
    pk_rvsigp *sp = sigp_make(k, rp);
    if (!sp) return PK_ERR_NO_MEMORY;
    if (sp->stopped) return PK_OK;
    sp->stopped = 1;
    sp->stopsig = (uint8_t)s;
    sp->report = PK_RVR_STOPPED;
    pk_digest(k, k->now, 0x5f00000000000000ull | (uint64_t)pid << 24 | s);
    notify_parent(k, pid, CLD_STOPPED, (int32_t)s);
    return PK_OK;
}

static void continue_now(pk_kernel *k, uint32_t pid, pk_rvp *rp) {
    pk_rvsigp *sp = sigp(k, rp);
    sp->stopped = 0;
    sp->report = PK_RVR_CONTINUED;
    pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_thread *t = thread_i(k, p, i, xt);
        pk_rvt *rt = rvt_of(k, t);
        if (!rt || !(rt->sigflags & PK_RVS_STOPPED)) continue;
        rt->sigflags &= ~(uint32_t)PK_RVS_STOPPED;
        if (t->state != PK_TS_WAITING) continue;
        t->blocked += k->now - t->since;
        pk_thread_make_ready(k, t, PK_ENQ_WAKE);
    }
    pk_digest(k, k->now, 0x5f00000000000000ull | (uint64_t)pid << 24 | 18);
    notify_parent(k, pid, CLD_CONTINUED, 18);
}

/* prepare_signal: SIGCONT discards pending stop signals and continues a
 * stopped process; a stop signal discards a pending SIGCONT */
static void prepare(pk_kernel *k, uint32_t pid, pk_rvp *rp, uint32_t s) {
    pk_rvsigp *sp = sigp(k, rp);
    if (!sp || (s != 18 && !(STOP_MASK & BIT(s)))) return;
    uint64_t drop = s == 18 ? STOP_MASK : BIT(18);
    sp->pending &= ~drop;
    pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_rvt *rt = rvt_of(k, thread_i(k, p, i, xt));
        if (rt) rt->sigpend &= ~drop;
    }
    if (s == 18 && sp->stopped) continue_now(k, pid, rp);
}

int pk_rv_sig_report(pk_kernel *k, uint32_t child, uint64_t options, bool keep, int32_t *status,
                     int32_t *code, int32_t *sig) {
    pk_rvsigp *sp = sigp(k, rvp_of(k, child));
    const pk_proc *p = pk_proc_at(k, child);
    if (!sp || p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) return 0;
    if (sp->report == PK_RVR_STOPPED && sp->stopped && (options & 2)) {
        *status = sp->stopsig << 8 | 0x7f;
        *code = CLD_STOPPED;
        *sig = sp->stopsig;
    } else if (sp->report == PK_RVR_CONTINUED && (options & 8)) {
        *status = 0xffff;
        *code = CLD_CONTINUED;
        *sig = 18;
    } else return 0;
    if (!keep) sp->report = 0;
    return 1;
}

int pk_sig_stopped(pk_kernel *k, uint32_t pid, uint32_t *stopped) {
    if (!k || !stopped || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    const pk_rvsigp *sp = sigp(k, rvp_of(k, pid));
    *stopped = sp && sp->stopped ? sp->stopsig : 0;
    return PK_OK;
}

/* signals that have no handlers: default actions at once */
static int send_plain(pk_kernel *k, uint32_t pid, uint32_t s) {
    pk_proc *p = pk_proc_at(k, pid);
    int d = disp(&NO_ACT, s);
    if (d == D_STOP) return PK_ERR_NOT_SUPPORTED;
    if (d == D_TERM && p->state != PK_PS_EXITED && p->state != PK_PS_KILLED) kill_now(k, pid, s);
    return PK_OK;
}

/* ---- the real-time queue ---------------------------------------------------------- */

/* drop the entries of threads and processes that have ended */
static void sq_purge(pk_kernel *k) {
    pk_rvstate *rs = k->rv;
    uint32_t n = 0;
    for (uint32_t i = 0; i < rs->nsigq; i++) {
        const pk_rvsq *q = &rs->sigq[i];
        const pk_proc *p = pk_proc_at(k, q->pid);
        bool gone = p->state == PK_PS_EXITED || p->state == PK_PS_KILLED
                 || (q->tid1 && pk_thread_at(k, q->tid1 - 1)->state == PK_TS_EXITED);
        if (!gone) rs->sigq[n++] = *q;
    }
    rs->nsigq = n;
}

/* the real-time signals pending in process pid, each instance counted */
static uint32_t rt_count(pk_kernel *k, pk_proc *p, const pk_rvsigp *sp, uint32_t pid) {
    uint32_t n = (uint32_t)__builtin_popcountll(sp->pending & RT_MASK), nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        const pk_rvt *rt = rvt_of(k, thread_i(k, p, i, xt));
        if (rt) n += (uint32_t)__builtin_popcountll(rt->sigpend & RT_MASK);
    }
    for (uint32_t i = 0; i < k->rv->nsigq; i++) n += k->rv->sigq[i].pid == pid;
    return n;
}

static int sq_push(pk_kernel *k, uint32_t pid, uint32_t tid1, uint32_t s, const pk_rvsi *si) {
    pk_rvstate *rs = k->rv;
    sq_purge(k);
    if (pk_vec_grow(k, (void **)&rs->sigq, &rs->sigq_cap, rs->nsigq + 1, sizeof(pk_rvsq)))
        return PK_ERR_NO_MEMORY;
    rs->sigq[rs->nsigq++] = (pk_rvsq){ pid, tid1, s, 0, *si };
    return PK_OK;
}

/* the next queued instance of s for (pid, tid1) into *si, removed: true;
 * false when none is left */
static bool sq_take(pk_kernel *k, uint32_t pid, uint32_t tid1, uint32_t s, pk_rvsi *si) {
    pk_rvstate *rs = k->rv;
    for (uint32_t i = 0; i < rs->nsigq; i++) {
        const pk_rvsq *q = &rs->sigq[i];
        if (q->pid != pid || q->tid1 != tid1 || q->signo != s) continue;
        *si = q->si;
        memmove(&rs->sigq[i], &rs->sigq[i + 1], (rs->nsigq - i - 1) * sizeof(pk_rvsq));
        rs->nsigq--;
        return true;
    }
    return false;
}

/* discard every queued instance of s in process pid */
static void sq_drop(pk_kernel *k, uint32_t pid, uint32_t s) {
    pk_rvstate *rs = k->rv;
    uint32_t n = 0;
    for (uint32_t i = 0; i < rs->nsigq; i++)
        if (rs->sigq[i].pid != pid || rs->sigq[i].signo != s) rs->sigq[n++] = rs->sigq[i];
    rs->nsigq = n;
}

bool pk_rv_sig_queued(pk_kernel *k) {
    if (!k->rv) return false;
    sq_purge(k);
    return k->rv->nsigq != 0;
}

int pk_sig_send(pk_kernel *k, uint32_t pid, uint32_t tid1, uint32_t s, const pk_sigsrc *src) {
    if (!k || pid >= k->procs.count || s > PK_NSIG) return PK_ERR_INVALID_ARGS;
    pk_proc *p = pk_proc_at(k, pid);
    pk_thread *target = NULL;
    if (tid1) {
        if (tid1 - 1 >= k->threads.count) return PK_ERR_INVALID_ARGS;
        target = pk_thread_at(k, tid1 - 1);
        if (target->pid != pid) return PK_ERR_INVALID_ARGS;
    }
    if (!s) return PK_OK;
    if (p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) return PK_OK;   /* a zombie */
    pk_rvp *rp = rvp_of(k, pid);
    if (!rp) return send_plain(k, pid, s);
    prepare(k, pid, rp, s);
    const pk_rvact *a = act_of(k, rp, s);
    int d = disp(a, s);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    /* the thread to take it: the target, or the first living one not blocking it */
    pk_thread *taker = target;
    bool blocked_all = true;
    for (uint32_t i = 0; !target && i < p->nthreads + nx; i++) {
        pk_thread *t = thread_i(k, p, i, xt);
        pk_rvt *rt = rvt_of(k, t);
        if (t->state == PK_TS_EXITED || !rt) continue;
        if (!(rt->blocked & BIT(s))) { blocked_all = false; taker = t; break; }
    }
    if (target) {
        pk_rvt *rt = rvt_of(k, target);
        if (target->state == PK_TS_EXITED || !rt) return PK_OK;
        blocked_all = (rt->blocked & BIT(s)) != 0;
    }
    if (s == PK_SIGKILL || s == PK_SIGSTOP) blocked_all = false;
    if (d == D_STOP && !blocked_all) return stop_now(k, pid, rp, s);
    if (d == D_IGNORE && !blocked_all) return PK_OK;      /* dropped (sig_ignored) */
    bool self = k->rv->in_call && pk_thread_at(k, k->rv->in_call - 1)->pid == pid;
    /* fatal: the whole process, now; not when the thread taking it only
     * waits for it in rt_sigtimedwait (complete_signal: real_blocked) */
    const pk_rvt *trt = taker ? rvt_of(k, taker) : NULL;
    uint64_t real = trt ? trt->blocked | ((trt->sigflags & PK_RVS_SIGWAIT) ? trt->saved_mask : 0) : 0;
    if (d == D_TERM && !blocked_all && !self && (s == PK_SIGKILL || !(real & BIT(s)))) {
        kill_now(k, pid, s);
        return PK_OK;
    }
    pk_rvsigp *sp = sigp_make(k, rp);
    if (!sp) return PK_ERR_NO_MEMORY;
    pk_rvsi si = { src ? src->code : PK_SI_USER, src ? src->pid : 0, src ? src->uid : 0,
                   src ? src->status : 0, src ? src->addr : 0 };
    if (BIT(s) & RT_MASK) {
        uint64_t have = target ? rvt_of(k, target)->sigpend : sp->pending;
        if (rt_count(k, p, sp, pid) >= PK_RV_SIGQUEUE_MAX) {
            if (si.code != PK_SI_USER) return PK_ERR_SHOULD_WAIT;     /* -EAGAIN */
            if (have & BIT(s)) return PK_OK;                          /* lost */
            si = (pk_rvsi){ PK_SI_USER, 0, 0, 0, 0 };                 /* no queue entry: no details */
        } else if (have & BIT(s)) {
            int st = sq_push(k, pid, target ? target->tid + 1 : 0, s, &si);
            if (st) return st;
            pk_digest(k, k->now, 0x5d00000000000000ull | (uint64_t)pid << 24 | 1u << 8 | s);
            return PK_OK;      /* its number is pending: whoever takes it was told then */
        }
    }
    if (target) {
        pk_rvt *rt = rvt_of(k, target);
        rt->sigpend |= BIT(s);
        sp->tinfo[s - 1] = si;
    } else {
        sp->pending |= BIT(s);
        sp->info[s - 1] = si;
    }
    pk_digest(k, k->now, 0x5d00000000000000ull | (uint64_t)pid << 24 | s);
    if (taker && !blocked_all) interrupt(k, taker, (a->flags & SA_RESTART) != 0);
    return PK_OK;
}

/* ---- the trampoline ------------------------------------------------------------- */

static uint64_t tramp_va(pk_kernel *k) {
    return (1ull << (k->mem->fmt->va_bits - 1)) - PK_RV_TRAMP_OFF;
}

/* map process pid's trampoline page if it is not there: 0, or -1 */
static int tramp_map(pk_kernel *k, pk_cpu *c, uint32_t pid, pk_rvp *rp, uint64_t *cost) {
    if (rp->tramp) return 0;
    pk_as *as = pk_as_of(k, pid);
    uint64_t va = tramp_va(k);
    if (!as || pk_as_map(k, as, va, PK_PAGE_SIZE, PK_PROT_READ | PK_PROT_WRITE, 0)) return -1;
    uint32_t code[2] = { 0x08b00893u, 0x00000073u };         /* li a7, 139; ecall */
    uint32_t reason = 0;
    if (pk_rv_copy(k, c, pid, va, code, sizeof code, true, cost, &reason)) {
        pk_as_unmap(k, as, va, PK_PAGE_SIZE);
        return -1;
    }
    if (pk_as_protect(k, as, va, PK_PAGE_SIZE, PK_PROT_READ | PK_PROT_EXEC)) return -1;
    pk_tlb_shootdown(k, as, va, va + PK_PAGE_SIZE, c ? (int)c->id : -1);
    rp->tramp = va;
    return 0;
}

/* ---- delivery ------------------------------------------------------------------- */

static bool on_altstack(const pk_rvt *rt, uint64_t sp) {
    return rt->ss_size && sp > rt->ss_sp && sp - rt->ss_sp <= rt->ss_size;
}

/* the 128-byte siginfo_t of signal s at b (zeroed) */
static void fill_info(uint8_t *b, uint32_t s, const pk_rvsi *si) {
    put32(b, 0, s);
    put32(b, 8, (uint32_t)si->code);
    bool fault = si->code > 0 && (s == 11 || s == 7 || s == 4 || s == 8 || s == 5);
    if (fault) put64(b, 16, si->addr);
    else {
        put32(b, 16, (uint32_t)si->pid);
        put32(b, 20, si->uid);
        if (s == PK_SIGCHLD && si->code > 0) put32(b, 24, (uint32_t)si->status);
        if (si->code == SI_QUEUE) put64(b, 24, si->addr);           /* si_value */
    }
}

/* take the first pending signal of `mask`: the thread's own before the
 * process's, in each synchronous ones first, then the lowest
 * (kernel/signal.c dequeue_signal, next_signal): its number, 0: none */
static uint32_t dequeue(pk_kernel *k, pk_rvt *rt, pk_rvsigp *sp, uint64_t mask, pk_rvsi *si) {
    /* the thread's own first, then the process's (dequeue_signal) */
    uint64_t ready = rt->sigpend & mask;
    if (!ready) ready = (sp ? sp->pending : 0) & mask;
    if (!ready) return 0;
    uint64_t pick = (ready & SYNC_MASK) ? ready & SYNC_MASK : ready;
    uint32_t s = (uint32_t)__builtin_ctzll(pick) + 1;
    uint32_t pid = pk_thread_at(k, rt->tid)->pid;
    bool rtsig = (BIT(s) & RT_MASK) && k->rv->nsigq;
    if (rt->sigpend & BIT(s)) {
        *si = sp->tinfo[s - 1];
        /* the next instance, if one is queued, stays pending (collect_signal) */
        if (!rtsig || !sq_take(k, pid, rt->tid + 1, s, &sp->tinfo[s - 1])) rt->sigpend &= ~BIT(s);
    } else {
        *si = sp->info[s - 1];
        if (!rtsig || !sq_take(k, pid, 0, s, &sp->info[s - 1])) sp->pending &= ~BIT(s);
    }
    return s;
}

static int die(pk_kernel *k, pk_thread *t, uint32_t s, uint64_t *arg) {
    pk_proc_at(k, t->pid)->termsig = (uint8_t)s;
    *arg = reason_of(s);
    return PK_ACT_KILL;
}

/* build the frame of signal s (disposition a) and enter its handler */
static int enter_handler(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, pk_rvt *rt,
                         pk_rvp *rp, uint32_t s, const pk_rvsi *si, uint64_t *arg, uint64_t *cost) {
    pk_rvsigp *sp = sigp(k, rp);
    pk_rvact a = sp->act[s - 1];
    uint64_t usp = r->x[2];
    bool was_on = on_altstack(rt, usp);
    uint64_t top = usp;
    if ((a.flags & SA_ONSTACK) && rt->ss_size && !(rt->ss_flags & SS_DISABLE) && !was_on)
        top = rt->ss_sp + rt->ss_size;
    uint64_t fr = (top - FRAME) & ~15ull;
    if (was_on && !on_altstack(rt, fr)) return die(k, t, 11, arg);   /* it would overflow */
    if (tramp_map(k, c, t->pid, rp, cost)) return die(k, t, 11, arg);
    uint8_t b[FRAME];
    memset(b, 0, sizeof b);
    fill_info(b, s, si);
    put64(b, UC + 16, rt->ss_sp);
    put32(b, UC + 24, rt->ss_size ? (was_on ? SS_ONSTACK : 0) : SS_DISABLE);
    put64(b, UC + 32, rt->ss_size);
    uint64_t old_mask = rt->blocked;
    if (rt->sigflags & PK_RVS_RESTORE) {
        old_mask = rt->saved_mask;
        rt->sigflags &= ~(uint32_t)PK_RVS_RESTORE;
    }
    put64(b, UC + 40, old_mask);
    put64(b, MC, r->pc);
    for (int i = 1; i < 32; i++) put64(b, MC + 8 * (uint32_t)i, r->x[i]);
    if (rt->fp) {
        const pk_rvfp *f = &k->rv->fps[rt->fp - 1];
        memcpy(b + FPO, f->f, 256);
        put32(b, FPO + 256, (uint32_t)f->fcsr);
    }
    uint32_t reason = 0;
    if (pk_rv_copy(k, c, t->pid, fr, b, FRAME, true, cost, &reason)) {
        rt->blocked = old_mask;
        return die(k, t, 11, arg);
    }
    rt->blocked = (old_mask | a.mask | ((a.flags & SA_NODEFER) ? 0 : BIT(s))) & ~UNBLOCKABLE;
    if ((a.flags & SA_ONSTACK) && (rt->ss_flags & SS_AUTODISARM) && !was_on && top != usp) {
        rt->ss_sp = rt->ss_size = 0;
        rt->ss_flags = SS_DISABLE;
    }
    sp = sigp(k, rp);
    if (a.flags & SA_RESETHAND) sp->act[s - 1] = NO_ACT;
    r->x[1] = rp->tramp;
    r->x[2] = fr;
    r->x[10] = s;
    r->x[11] = fr;
    r->x[12] = fr + UC;
    r->pc = a.handler;
    pk_digest(k, k->now, 0x5e00000000000000ull | (uint64_t)t->tid << 24 | s);
    return -1;
}

int pk_rv_sig_entry(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t *arg,
                    uint64_t *cost) {
    pk_rvstate *rs = k->rv;
    pk_rvt *rt = &rs->thr[pk_rvt_id(r)];
    pk_rvp *rp = &rs->procs[rt->proc];
    if (rt->sigflags & PK_RVS_WRITE_REM) {                /* a nanosleep cut short: *rem */
        rt->sigflags &= ~(uint32_t)PK_RVS_WRITE_REM;
        uint64_t ts[2] = { rt->sleep_end / 1000000000u, rt->sleep_end % 1000000000u };
        uint32_t reason = 0;
        int v = pk_rv_copy(k, c, t->pid, rt->sleep_rem, ts, 16, true, cost, &reason);
        if (v == 1) { *arg = reason ? reason : PK_KILL_SEGV; return PK_ACT_KILL; }
        if (v) r->x[A0] = (uint64_t)(int64_t)-EFAULT;
    }
    const pk_rvsigp *sp0 = sigp(k, rp);
    if (sp0 && sp0->stopped) {                            /* park until SIGCONT */
        rt->sigflags |= PK_RVS_STOPPED;
        return PK_ACT_WAIT;
    }
    if (rt->sigflags & PK_RVS_SIGWAIT) {                  /* rt_sigtimedwait ends */
        rt->sigflags &= ~(uint32_t)PK_RVS_SIGWAIT;
        rt->blocked = rt->saved_mask;
        bool timed_out = r->x[A0] == (uint64_t)(int64_t)-110;           /* -ETIMEDOUT */
        pk_rvsi si;
        uint32_t s = dequeue(k, rt, sigp(k, rp), rt->wait_set, &si);
        if (s) {
            r->x[A0] = s;
            if (rt->wait_info) {
                uint8_t b[128] = { 0 };
                fill_info(b, s, &si);
                uint32_t reason = 0;
                int v = pk_rv_copy(k, c, t->pid, rt->wait_info, b, 128, true, cost, &reason);
                if (v == 1) { *arg = reason ? reason : PK_KILL_SEGV; return PK_ACT_KILL; }
                if (v) r->x[A0] = (uint64_t)(int64_t)-EFAULT;
            }
        } else r->x[A0] = (uint64_t)(int64_t)(timed_out ? -EAGAIN : -EINTR);
    }
    for (;;) {
        pk_rvsigp *sp = sigp(k, rp);
        if (!sp) break;
        pk_rvsi si;
        uint32_t s = dequeue(k, rt, sp, ~rt->blocked, &si);
        if (!s) break;
        int d = disp(&sp->act[s - 1], s);
        if (d == D_IGNORE) continue;
        if (d == D_STOP) {                                /* a stop signal unblocked late */
            if (stop_now(k, t->pid, rp, s)) return die(k, t, PK_SIGKILL, arg);
            rt->sigflags |= PK_RVS_STOPPED;
            return PK_ACT_WAIT;
        }
        if (d == D_TERM) return die(k, t, s, arg);
        return enter_handler(k, c, t, r, rt, rp, s, &si, arg, cost);
    }
    if (rt->sigflags & PK_RVS_RESTORE) {                  /* rt_sigsuspend ran no handler */
        rt->blocked = rt->saved_mask;
        rt->sigflags &= ~(uint32_t)PK_RVS_RESTORE;
    }
    return -1;
}

int pk_rv_sig_fault(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint32_t s, int32_t code,
                    uint64_t addr, uint32_t reason, uint64_t *arg, uint64_t *cost) {
    pk_rvstate *rs = k->rv;
    pk_rvt *rt = &rs->thr[pk_rvt_id(r)];
    pk_rvp *rp = &rs->procs[rt->proc];
    pk_rvsigp *sp = sigp(k, rp);
    if (!sp || disp(&sp->act[s - 1], s) != D_HANDLER || (rt->blocked & BIT(s))) {
        if (sp) sp->act[s - 1] = NO_ACT;                  /* force_sig_info: SIG_DFL */
        rt->blocked &= ~BIT(s);
        pk_proc_at(k, t->pid)->termsig = (uint8_t)s;
        *arg = reason;
        return PK_ACT_KILL;
    }
    pk_rvsi si = { code, 0, 0, 0, addr };
    return enter_handler(k, c, t, r, rt, rp, s, &si, arg, cost);
}

/* ---- the system calls -------------------------------------------------------------- */

typedef struct sigctx {
    pk_kernel *k;
    pk_cpu *c;
    pk_thread *t;
    pk_regs *r;
    pk_rvt *rt;
    pk_rvp *rp;
    uint64_t *cost;
    uint32_t *dead;
} sigctx;

static int cp(sigctx *x, uint64_t va, void *buf, uint64_t len, bool write) {
    uint32_t reason = 0;
    int v = pk_rv_copy(x->k, x->c, x->t->pid, va, buf, len, write, x->cost, &reason);
    if (v == 1) *x->dead = reason ? reason : PK_KILL_SEGV;
    return v;
}

/* rt_sigaction(sig, act, oact, sigsetsize) */
static int64_t sys_sigaction(sigctx *x, uint64_t s, uint64_t act, uint64_t oact, uint64_t size) {
    pk_kernel *k = x->k;
    if (size != 8) return -EINVAL;
    if (s < 1 || s > PK_NSIG || (act && (s == PK_SIGKILL || s == PK_SIGSTOP))) return -EINVAL;
    uint64_t nv[3];
    if (act && cp(x, act, nv, 24, false)) return -EFAULT;
    pk_rvact old = *act_of(k, x->rp, (uint32_t)s);
    uint64_t ov[3] = { old.handler, old.flags, old.mask };
    if (oact && cp(x, oact, ov, 24, true)) return -EFAULT;
    if (!act) return 0;
    pk_rvsigp *sp = sigp_make(k, x->rp);
    if (!sp) return -ENOMEM;
    sp->act[s - 1] = (pk_rvact){ nv[0], nv[1] & 0xffffffffull, nv[2] & ~UNBLOCKABLE };
    if (nv[0] > SIG_IGN && tramp_map(k, x->c, x->t->pid, x->rp, x->cost)) return -ENOMEM;
    if (disp(&sp->act[s - 1], (uint32_t)s) == D_IGNORE) {     /* pending ones are discarded */
        sp->pending &= ~BIT(s);
        sq_drop(k, x->t->pid, (uint32_t)s);
        pk_proc *p = pk_proc_at(k, x->t->pid);
        uint32_t nx = 0;
        const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
        for (uint32_t i = 0; i < p->nthreads + nx; i++) {
            pk_rvt *rt = rvt_of(k, thread_i(k, p, i, xt));
            if (rt) rt->sigpend &= ~BIT(s);
        }
    }
    return 0;
}

/* rt_sigprocmask(how, set, oset, sigsetsize) */
static int64_t sys_sigprocmask(sigctx *x, uint64_t how, uint64_t set, uint64_t oset, uint64_t size) {
    if (size != 8) return -EINVAL;
    uint64_t nv = 0, old = x->rt->blocked;
    if (set) {
        if (how > 2) return -EINVAL;
        if (cp(x, set, &nv, 8, false)) return -EFAULT;
    }
    if (oset && cp(x, oset, &old, 8, true)) return -EFAULT;
    if (!set) return 0;
    uint64_t m = how == 0 ? x->rt->blocked | nv : how == 1 ? x->rt->blocked & ~nv : nv;
    x->rt->blocked = m & ~UNBLOCKABLE;
    if (x->rt->blocked) x->k->rv->sig_on = 1;
    return 0;
}

static int64_t sys_sigpending(sigctx *x, uint64_t set, uint64_t size) {
    if (size > 8) return -EINVAL;
    const pk_rvsigp *sp = sigp(x->k, x->rp);
    uint64_t v = (x->rt->sigpend | (sp ? sp->pending : 0)) & x->rt->blocked;
    return cp(x, set, &v, size, true) ? -EFAULT : 0;
}

static int64_t sys_sigsuspend(sigctx *x, uint64_t set, uint64_t size, int *act) {
    if (size != 8) return -EINVAL;
    uint64_t nv;
    if (cp(x, set, &nv, 8, false)) return -EFAULT;
    pk_rvt *rt = x->rt;
    rt->saved_mask = rt->blocked;
    rt->blocked = nv & ~UNBLOCKABLE;
    rt->sigflags |= PK_RVS_RESTORE;
    x->k->rv->sig_on = 1;
    const pk_rvsigp *sp = sigp(x->k, x->rp);
    if (!((rt->sigpend | (sp ? sp->pending : 0)) & ~rt->blocked)) {
        rt->sigflags |= PK_RVS_SUSPENDED;
        *act = PK_ACT_WAIT;
    }
    return -EINTR;
}

/* rt_sigtimedwait(set, info, timeout, sigsetsize) (sigwaitinfo(2)): a
 * pending signal of the set at once; else, with a timeout of zero,
 * -EAGAIN; else the set is unblocked and the thread waits (a futex-style
 * wait that no futex key matches, with PK_EV_RV_TIMEOUT for the timeout)
 * until a signal comes; pk_rv_sig_entry then restores the mask and
 * answers: the signal of the set, -EAGAIN at the timeout, or -EINTR for
 * another signal (whose handler then runs). */
static int64_t sys_sigtimedwait(sigctx *x, uint64_t set, uint64_t info, uint64_t uts,
                                uint64_t size, int *act) {
    pk_kernel *k = x->k;
    if (size != 8) return -EINVAL;
    uint64_t mask;
    if (cp(x, set, &mask, 8, false)) return -EFAULT;
    mask &= ~UNBLOCKABLE;
    pk_time deadline = PK_FOREVER;
    if (uts) {
        uint64_t ts[2];
        if (cp(x, uts, ts, 16, false)) return -EFAULT;
        if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0) return -EINVAL;
        uint64_t ns = ts[0] > PK_MAX_TIME / 2000000000u ? PK_MAX_TIME / 2 : ts[0] * 1000000000u + ts[1];
        deadline = k->now + ns;
    }
    pk_rvt *rt = x->rt;
    pk_rvsi si;
    uint32_t s = dequeue(k, rt, sigp(k, x->rp), mask, &si);
    if (s) {
        if (info) {
            uint8_t b[128] = { 0 };
            fill_info(b, s, &si);
            if (cp(x, info, b, 128, true)) return -EFAULT;
        }
        return s;
    }
    if (deadline == k->now) return -EAGAIN;
    if (deadline != PK_FOREVER && pk_rv_reserve_event(k)) return -ENOMEM;
    if (!sigp_make(k, x->rp)) return -ENOMEM;
    rt->saved_mask = rt->blocked;
    rt->blocked &= ~mask;
    rt->wait_set = mask;
    rt->wait_info = info;
    rt->sigflags |= PK_RVS_SIGWAIT;
    rt->futex_waiting = 1;
    rt->futex_hi = rt->futex_lo = ~0ull;                  /* no futex has this key */
    rt->futex_seq = ++k->rv->futex_seq;
    if (deadline != PK_FOREVER) {                         /* cannot fail: reserved above */
        pk_evq_post(k, &k->evq, deadline, PK_EV_RV_TIMEOUT,
                    (uint64_t)x->t->tid | (rt->futex_seq & 0xffffffffu) << 32);
        k->rv->timeouts++;
    }
    *act = PK_ACT_WAIT;
    return -EINTR;
}

/* sigaltstack(ss, old_ss): stack_t is { ss_sp, ss_flags (int), ss_size } */
static int64_t sys_sigaltstack(sigctx *x, uint64_t ss, uint64_t old) {
    pk_rvt *rt = x->rt;
    bool on = on_altstack(rt, x->r->x[2]);
    if (old) {
        uint8_t b[24] = { 0 };
        put64(b, 0, rt->ss_sp);
        put32(b, 8, on ? SS_ONSTACK : rt->ss_size ? (rt->ss_flags & SS_AUTODISARM) : SS_DISABLE);
        put64(b, 16, rt->ss_size);
        if (cp(x, old, b, 24, true)) return -EFAULT;
    }
    if (!ss) return 0;
    uint8_t b[24];
    if (cp(x, ss, b, 24, false)) return -EFAULT;
    if (on) return -EPERM;
    uint32_t fl = get32(b, 8), mode = fl & ~SS_AUTODISARM;
    if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0) return -EINVAL;
    if (mode == SS_DISABLE) {
        rt->ss_sp = rt->ss_size = 0;
        rt->ss_flags = SS_DISABLE;
        return 0;
    }
    uint64_t size = get64(b, 16);
    if (size < MINSIGSTKSZ) return -ENOMEM;
    rt->ss_sp = get64(b, 0);
    rt->ss_size = size;
    rt->ss_flags = fl & SS_AUTODISARM;
    x->k->rv->sig_on = 1;
    return 0;
}

static int sigreturn(sigctx *x, uint64_t *arg) {
    pk_rvt *rt = x->rt;
    pk_regs *r = x->r;
    uint64_t fr = r->x[2];
    uint8_t b[FRAME];
    if (cp(x, fr, b, FRAME, false)) {
        *x->dead = 0;
        return die(x->k, x->t, 11, arg);
    }
    rt->blocked = get64(b, UC + 40) & ~UNBLOCKABLE;
    r->pc = get64(b, MC) & ~1ull;
    for (uint32_t i = 1; i < 32; i++) r->x[i] = get64(b, MC + 8 * i);
    if (rt->fp) {
        pk_rvfp *f = &x->k->rv->fps[rt->fp - 1];
        memcpy(f->f, b + FPO, 256);
        f->fcsr = get32(b, FPO + 256) & 0xff;
    }
    if (!on_altstack(rt, fr)) {                           /* restore_altstack */
        uint32_t fl = get32(b, UC + 24), mode = fl & ~SS_AUTODISARM;
        uint64_t size = get64(b, UC + 32);
        if (mode == SS_DISABLE || !size) { rt->ss_sp = rt->ss_size = 0; rt->ss_flags = SS_DISABLE; }
        else if ((mode == 0 || mode == SS_ONSTACK) && size >= MINSIGSTKSZ) {
            rt->ss_sp = get64(b, UC + 16);
            rt->ss_size = size;
            rt->ss_flags = fl & SS_AUTODISARM;
        }
    }
    return -1;
}

/* kill(pid, sig): a Linux pid, 0 or -(own pid) for the caller's process
 * (each process is its own group), -1 (every process) is not modelled */
/* kill(-1, sig), kill(2): every process the caller may signal but
 * itself and process 1 (kill_something_info in kernel/signal.c), here the
 * machine-code processes that have not ended; permission: the caller is
 * root or has the target's uid.  ESRCH if there is none. */
static int64_t kill_all(sigctx *x, uint64_t s) {
    pk_kernel *k = x->k;
    uint32_t me = x->t->pid, uid = 0, gid = 0, n = 0;
    pk_proc_creds_get(k, me, &uid, &gid);
    pk_sigsrc src = { PK_SI_USER, (int32_t)(me + PK_RV_LINUX_ID_BASE), uid, 0, 0 };
    int64_t err = 0;
    for (uint32_t q = 0; q < k->procs.count; q++) {
        if (q == me || q + PK_RV_LINUX_ID_BASE == 1 || !rvp_of(k, q)) continue;
        if (pk_proc_at(k, q)->tree != PK_PT_ALIVE) continue;
        uint32_t tu = 0, tg = 0;
        pk_proc_creds_get(k, q, &tu, &tg);
        if (uid && tu != uid) continue;
        n++;
        if (s && pk_sig_send(k, q, 0, (uint32_t)s, &src) != PK_OK) err = -ENOMEM;
    }
    return n ? err : -ESRCH;
}

static int64_t sys_kill(sigctx *x, int64_t pid, uint64_t s) {
    pk_kernel *k = x->k;
    if (s > PK_NSIG) return -EINVAL;
    uint32_t me = x->t->pid;
    uint32_t target;
    if (pid == -1) return kill_all(x, s);         /* before -pgid: process 1's own group */
    if (pid == 0 || pid == -(int64_t)(me + PK_RV_LINUX_ID_BASE)) target = me;
    else if (pid < 0) return -ESRCH;
    else {
        if ((uint64_t)pid - PK_RV_LINUX_ID_BASE >= k->procs.count) return -ESRCH;
        target = (uint32_t)(pid - PK_RV_LINUX_ID_BASE);
        if (pk_proc_at(k, target)->tree == PK_PT_REAPED) return -ESRCH;
    }
    uint32_t uid = 0, gid = 0;
    pk_proc_creds_get(k, me, &uid, &gid);
    pk_sigsrc src = { PK_SI_USER, (int32_t)(me + PK_RV_LINUX_ID_BASE), uid, 0, 0 };
    int st = pk_sig_send(k, target, 0, (uint32_t)s, &src);
    return st == PK_OK ? 0 : st == PK_ERR_NOT_SUPPORTED ? -ENOSYS
         : st == PK_ERR_SHOULD_WAIT ? -EAGAIN : -ENOMEM;
}

/* tkill(tid, sig) / tgkill(tgid, tid, sig); tgid < 0: any process */
static int64_t sys_tgkill(sigctx *x, int64_t tgid, int64_t tid, uint64_t s) {
    pk_kernel *k = x->k;
    if (s > PK_NSIG || tid <= 0) return -EINVAL;
    if ((uint64_t)tid - PK_RV_LINUX_ID_BASE >= k->threads.count) return -ESRCH;
    pk_thread *t = pk_thread_at(k, (uint32_t)(tid - PK_RV_LINUX_ID_BASE));
    if (t->state == PK_TS_EXITED) return -ESRCH;
    if (tgid >= 0 && (int64_t)t->pid + PK_RV_LINUX_ID_BASE != tgid) return -ESRCH;
    uint32_t uid = 0, gid = 0;
    pk_proc_creds_get(k, x->t->pid, &uid, &gid);
    pk_sigsrc src = { PK_SI_TKILL, (int32_t)(x->t->pid + PK_RV_LINUX_ID_BASE), uid, 0, 0 };
    int st = pk_sig_send(k, t->pid, t->tid + 1, (uint32_t)s, &src);
    return st == PK_OK ? 0 : st == PK_ERR_NOT_SUPPORTED ? -ENOSYS
         : st == PK_ERR_SHOULD_WAIT ? -EAGAIN : -ENOMEM;
}

/* rt_sigqueueinfo(tgid, sig, uinfo) / rt_tgsigqueueinfo(tgid, tid, sig, uinfo)
 * (rt_sigqueueinfo(2), kernel/signal.c do_rt_sigqueueinfo): the sender's
 * siginfo (si_code at 8, si_pid at 16, si_uid at 20, si_value at 24); one
 * that claims to come from the kernel or from kill / tgkill (si_code >= 0
 * or SI_TKILL) may only go to the caller itself (-EPERM).  tid < 0: to the
 * process. */
static int64_t sys_sigqueueinfo(sigctx *x, int64_t tgid, int64_t tid, uint64_t s, uint64_t uinfo) {
    pk_kernel *k = x->k;
    if (s > PK_NSIG) return -EINVAL;
    uint8_t b[32];
    if (cp(x, uinfo, b, sizeof b, false)) return -EFAULT;
    int32_t code, spid;
    uint32_t suid;
    uint64_t val;
    memcpy(&code, b + 8, 4); memcpy(&spid, b + 16, 4); memcpy(&suid, b + 20, 4); memcpy(&val, b + 24, 8);
    if (tgid <= 0) return -ESRCH;
    if ((uint64_t)tgid - PK_RV_LINUX_ID_BASE >= k->procs.count) return -ESRCH;
    uint32_t target = (uint32_t)(tgid - PK_RV_LINUX_ID_BASE);
    if (pk_proc_at(k, target)->tree == PK_PT_REAPED) return -ESRCH;
    uint32_t tid1 = 0;
    if (tid >= 0) {
        if (tid == 0) return -EINVAL;
        if ((uint64_t)tid - PK_RV_LINUX_ID_BASE >= k->threads.count) return -ESRCH;
        pk_thread *t = pk_thread_at(k, (uint32_t)(tid - PK_RV_LINUX_ID_BASE));
        if (t->state == PK_TS_EXITED || t->pid != target) return -ESRCH;
        tid1 = t->tid + 1;
    }
    bool self = tid1 ? tid1 == x->t->tid + 1 : target == x->t->pid;
    if ((code >= 0 || code == PK_SI_TKILL) && !self) return -EPERM;
    pk_sigsrc src = { code, spid, suid, 0, val };
    int st = pk_sig_send(k, target, tid1, (uint32_t)s, &src);
    return st == PK_OK ? 0 : st == PK_ERR_NOT_SUPPORTED ? -ENOSYS
         : st == PK_ERR_SHOULD_WAIT ? -EAGAIN : -ENOMEM;
}

/* getitimer / setitimer: struct itimerval { timeval it_interval, it_value } */
static int64_t put_itimer(sigctx *x, uint64_t va) {
    const pk_rvsigp *sp = sigp(x->k, x->rp);
    uint64_t left = sp && sp->it_end > x->k->now ? sp->it_end - x->k->now : 0;
    uint64_t iv = sp && sp->it_end ? sp->it_interval : 0;
    uint64_t v[4] = { iv / 1000000000u, iv % 1000000000u / 1000u,
                      left / 1000000000u, (left % 1000000000u + 999u) / 1000u };
    if (v[3] == 1000000u) { v[2]++; v[3] = 0; }
    return cp(x, va, v, 32, true) ? -EFAULT : 0;
}

static int64_t sys_getitimer(sigctx *x, uint64_t which, uint64_t va) {
    if (which > 2) return -EINVAL;
    if (which) return -EINVAL;                        /* ITIMER_VIRTUAL, ITIMER_PROF: not kept */
    return put_itimer(x, va);
}

static int64_t sys_setitimer(sigctx *x, uint64_t which, uint64_t nva, uint64_t ova) {
    pk_kernel *k = x->k;
    if (which != 0) return -EINVAL;
    uint64_t v[4] = { 0, 0, 0, 0 };
    if (nva && cp(x, nva, v, 32, false)) return -EFAULT;
    if (v[1] >= 1000000u || v[3] >= 1000000u || (int64_t)v[0] < 0 || (int64_t)v[2] < 0)
        return -EINVAL;
    if (ova && put_itimer(x, ova)) return -EFAULT;
    pk_rvsigp *sp = sigp_make(k, x->rp);
    if (!sp) return -ENOMEM;
    const uint64_t cap = PK_MAX_TIME / 4;
    uint64_t iv = v[0] > cap / 1000000000u ? cap : v[0] * 1000000000u + v[1] * 1000u;
    uint64_t val = v[2] > cap / 1000000000u ? cap : v[2] * 1000000000u + v[3] * 1000u;
    sp->it_seq++;                                     /* an armed event goes stale */
    sp->it_interval = iv;
    sp->it_end = 0;
    if (!val) return 0;
    if (pk_rv_reserve_event(k)) return -ENOMEM;
    sp = sigp(k, x->rp);
    sp->it_end = k->now + val;
    pk_evq_post(k, &k->evq, sp->it_end, PK_EV_RV_ITIMER,
                (uint64_t)x->t->pid | (sp->it_seq & 0xffffffffu) << 32);
    k->rv->itimers++;
    return 0;
}

int64_t pk_rv_sig_syscall(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t num,
                          int *act, uint64_t *arg, uint64_t *cost, uint32_t *dead) {
    pk_rvt *rt = &k->rv->thr[pk_rvt_id(r)];
    sigctx X = { k, c, t, r, rt, &k->rv->procs[rt->proc], cost, dead };
    uint64_t *a = &r->x[10];
    switch (num) {
    case 129: return sys_kill(&X, (int32_t)a[0], (uint32_t)a[1]);
    case 130: return sys_tgkill(&X, -1, (int32_t)a[0], (uint32_t)a[1]);
    case 131:
        if ((int32_t)a[0] <= 0) return -EINVAL;
        return sys_tgkill(&X, (int32_t)a[0], (int32_t)a[1], (uint32_t)a[2]);
    case 138: return sys_sigqueueinfo(&X, (int32_t)a[0], -1, (uint32_t)a[1], a[2]);
    case 240:
        if ((int32_t)a[0] <= 0 || (int32_t)a[1] <= 0) return -EINVAL;
        return sys_sigqueueinfo(&X, (int32_t)a[0], (int32_t)a[1], (uint32_t)a[2], a[3]);
    case 132: return sys_sigaltstack(&X, a[0], a[1]);
    case 133: return sys_sigsuspend(&X, a[0], a[1], act);
    case 134: return sys_sigaction(&X, (uint32_t)a[0], a[1], a[2], a[3]);
    case 135: return sys_sigprocmask(&X, (uint32_t)a[0], a[1], a[2], a[3]);
    case 136: return sys_sigpending(&X, a[0], a[1]);
    case 137: return sys_sigtimedwait(&X, a[0], a[1], a[2], a[3], act);
    case 139: *act = sigreturn(&X, arg); return PK_RV_NORET;
    case 102: return sys_getitimer(&X, (uint32_t)a[0], a[1]);
    case 103: return sys_setitimer(&X, (uint32_t)a[0], a[1], a[2]);
    default: return -ENOSYS;
    }
}

/* ---- ITIMER_REAL ------------------------------------------------------------------ */

bool pk_rv_itimer_stale(pk_kernel *k, const pk_event *e) {
    uint32_t pid = (uint32_t)e->arg;
    if (pid >= k->procs.count) return true;
    const pk_proc *p = pk_proc_at(k, pid);
    const pk_rvsigp *sp = sigp(k, rvp_of(k, pid));
    return p->state == PK_PS_EXITED || p->state == PK_PS_KILLED || !sp || !sp->it_end
        || (sp->it_seq & 0xffffffffu) != e->arg >> 32;
}

void pk_rv_itimer_dropped(pk_kernel *k) { k->rv->itimers--; }

void pk_rv_itimer_fire(pk_kernel *k, const pk_event *e) {
    uint32_t pid = (uint32_t)e->arg;
    pk_rvsigp *sp = sigp(k, rvp_of(k, pid));
    k->rv->itimers--;
    if (sp->it_interval) {                            /* its slot is reserved: it was just freed */
        sp->it_end += sp->it_interval;
        pk_evq_post(k, &k->evq, sp->it_end, PK_EV_RV_ITIMER, e->arg);
        k->rv->itimers++;
    } else sp->it_end = 0;
    pk_sigsrc src = { PK_SI_KERNEL, 0, 0, 0, 0 };
    pk_sig_send(k, pid, 0, PK_SIGALRM, &src);
}

/* ---- SIGCHLD, fork, exec, queries -------------------------------------------------- */

/* Does a child of machine-code process `parent` that ends go without a
 * zombie?  wait(2): when SIGCHLD's disposition is SIG_IGN or its action
 * has SA_NOCLDWAIT (do_notify_parent in kernel/signal.c: autoreap). */
bool pk_rv_autoreap(pk_kernel *k, uint32_t parent) {
    const pk_rvp *rp = rvp_of(k, parent);
    if (!rp) return false;
    const pk_rvact *a = act_of(k, rp, PK_SIGCHLD);
    return a->handler == 1 || (a->flags & SA_NOCLDWAIT);        /* SIG_IGN */
}

void pk_rv_sigchld(pk_kernel *k, uint32_t parent, uint32_t child) {
    if (!rvp_of(k, parent)) return;
    const pk_proc *c = pk_proc_at(k, child);
    int32_t ws = pk_ptree_wstatus(c);
    uint32_t uid = 0, gid = 0;
    pk_proc_creds_get(k, child, &uid, &gid);
    pk_sigsrc src = { c->state == PK_PS_EXITED ? CLD_EXITED : CLD_KILLED,
                      (int32_t)(child + PK_RV_LINUX_ID_BASE), uid,
                      c->state == PK_PS_EXITED ? (ws >> 8) & 0xff : ws & 0x7f, 0 };
    pk_sig_send(k, parent, 0, PK_SIGCHLD, &src);
}

uint64_t pk_rv_sleep_tag(pk_kernel *k, const pk_thread *t) {
    const pk_rvt *rt = k->rv ? rvt_of(k, t) : NULL;
    return rt ? (uint64_t)rt->sleep_gen << 32 : 0;
}

int pk_sig_fork(pk_kernel *k, uint32_t parent_pid, uint32_t child_pid, uint32_t child_tid) {
    if (!k || parent_pid >= k->procs.count || child_pid >= k->procs.count
        || child_tid >= k->threads.count || parent_pid == child_pid)
        return PK_ERR_INVALID_ARGS;
    pk_rvp *pp = rvp_of(k, parent_pid), *cp_ = rvp_of(k, child_pid);
    pk_thread *ct = pk_thread_at(k, child_tid);
    if (!pp || !cp_ || ct->pid != child_pid || ct->kind != PK_BODY_RV) return PK_ERR_NOT_SUPPORTED;
    pk_rvt *crt = rvt_of(k, ct);
    if (!crt) return PK_ERR_NOT_SUPPORTED;
    /* the parent thread: the one in a system call, else the first living one */
    pk_rvt *prt = NULL;
    if (k->rv->in_call && pk_thread_at(k, k->rv->in_call - 1)->pid == parent_pid)
        prt = rvt_of(k, pk_thread_at(k, k->rv->in_call - 1));
    const pk_proc *p = pk_proc_at(k, parent_pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; !prt && i < p->nthreads + nx; i++) {
        pk_thread *t = thread_i(k, p, i, xt);
        if (t->state != PK_TS_EXITED) prt = rvt_of(k, t);
    }
    if (prt) {
        crt->blocked = prt->blocked;
        crt->ss_sp = prt->ss_sp; crt->ss_size = prt->ss_size; crt->ss_flags = prt->ss_flags;
    }
    crt->sigpend = 0;
    crt->sigflags = 0;
    cp_->tramp = pp->tramp;                           /* the page is copied with the memory */
    if (pp->sig) {
        pk_rvsigp *cs = sigp_make(k, cp_);            /* may move the records */
        if (!cs) return PK_ERR_NO_MEMORY;
        const pk_rvsigp *ps = &k->rv->sigp[rvp_of(k, parent_pid)->sig];
        memcpy(cs->act, ps->act, sizeof cs->act);
        cs->pending = 0;
        cs->it_end = cs->it_interval = 0;
    }
    return PK_OK;
}

int pk_sig_exec(pk_kernel *k, uint32_t pid) {
    if (!k || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    pk_rvp *rp = rvp_of(k, pid);
    if (!rp) return PK_ERR_NOT_SUPPORTED;
    rp->tramp = 0;                                    /* the old address space is gone */
    pk_rvsigp *sp = sigp(k, rp);
    if (sp)
        for (uint32_t s = 1; s <= PK_NSIG; s++) {
            pk_rvact *a = &sp->act[s - 1];
            if (a->handler > SIG_IGN) *a = NO_ACT;    /* caught: default; ignored stay */
            else a->flags = a->mask = 0;
        }
    const pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_rvt *rt = rvt_of(k, thread_i(k, p, i, xt));
        if (rt) { rt->ss_sp = rt->ss_size = 0; rt->ss_flags = 0; }
    }
    return PK_OK;
}

int pk_proc_signal(pk_kernel *k, uint32_t pid, uint32_t signo) {
    if (!k || pid >= k->procs.count || signo > PK_NSIG) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    return pk_sig_send(k, pid, 0, signo, NULL);
}

int pk_sig_state_get(pk_kernel *k, uint32_t pid, uint32_t tid1, uint64_t *pending,
                     uint64_t *blocked) {
    if (!k || !pending || !blocked || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    *pending = *blocked = 0;
    pk_rvp *rp = rvp_of(k, pid);
    if (tid1) {
        if (tid1 - 1 >= k->threads.count || pk_thread_at(k, tid1 - 1)->pid != pid)
            return PK_ERR_INVALID_ARGS;
        const pk_rvt *rt = rp ? rvt_of(k, pk_thread_at(k, tid1 - 1)) : NULL;
        if (rt) { *pending = rt->sigpend; *blocked = rt->blocked; }
        return PK_OK;
    }
    const pk_rvsigp *sp = sigp(k, rp);
    if (sp) *pending = sp->pending;
    return PK_OK;
}

int pk_sig_action_get(pk_kernel *k, uint32_t pid, uint32_t signo, uint64_t *handler,
                      uint64_t *flags, uint64_t *mask) {
    if (!k || !handler || !flags || !mask || pid >= k->procs.count || signo < 1 || signo > PK_NSIG)
        return PK_ERR_INVALID_ARGS;
    pk_rvp *rp = rvp_of(k, pid);
    const pk_rvact *a = rp ? act_of(k, rp, signo) : &NO_ACT;
    *handler = a->handler; *flags = a->flags; *mask = a->mask;
    return PK_OK;
}

int pk_sig_audit_get(pk_kernel *k, uint64_t *bad) {
    if (!k || !bad) return PK_ERR_INVALID_ARGS;
    *bad = 0;
    pk_rvstate *rs = k->rv;
    if (!rs) return PK_OK;
    for (uint32_t i = 1; i < rs->nthr; i++) {
        const pk_rvt *t = &rs->thr[i];
        *bad += (t->blocked & UNBLOCKABLE) || (t->saved_mask & UNBLOCKABLE)
             || t->sigflags > PK_RVS_ALL;
    }
    uint32_t n = rs->nsigp;
    for (uint32_t id = 1; id < n; id++) {
        uint32_t users = 0;
        for (uint32_t i = 1; i < rs->nprocs; i++) users += rs->procs[i].sig == id;
        bool ok = users == 1;
        for (int s = 0; ok && s < PK_NSIG; s++) ok = !(rs->sigp[id].act[s].mask & UNBLOCKABLE);
        *bad += !ok;
    }
    for (uint32_t i = 1; i < rs->nprocs; i++) *bad += rs->procs[i].sig >= (n ? n : 1);
    /* a queued real-time signal waits behind a pending one of its number */
    for (uint32_t i = 0; i < rs->nsigq; i++) {
        const pk_rvsq *q = &rs->sigq[i];
        if (q->pid >= k->procs.count || !(BIT(q->signo) & RT_MASK) || q->signo > PK_NSIG
            || (q->tid1 && (q->tid1 - 1 >= k->threads.count
                            || pk_thread_at(k, q->tid1 - 1)->pid != q->pid))) { *bad += 1; continue; }
        const pk_proc *p = pk_proc_at(k, q->pid);
        if (p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) continue;   /* dropped later */
        pk_rvp *rp = rvp_of(k, q->pid);
        const pk_rvsigp *sp = rp ? sigp(k, rp) : NULL;
        const pk_rvt *rt = q->tid1 ? rvt_of(k, pk_thread_at(k, q->tid1 - 1)) : NULL;
        if (q->tid1 && pk_thread_at(k, q->tid1 - 1)->state == PK_TS_EXITED) continue;
        *bad += !sp || !(q->tid1 ? rt && (rt->sigpend & BIT(q->signo)) : (sp->pending & BIT(q->signo)));
    }
    uint64_t ev = 0;
    for (uint32_t i = 0; i < k->evq.n; i++) ev += pk_event_kind(&k->evq.heap[i]) == PK_EV_RV_ITIMER;
    *bad += ev != rs->itimers;
    return PK_OK;
}
