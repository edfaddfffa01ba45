/* Signals caught by handlers (signal(7), sigaction(2), sigprocmask(2),
 * sigpending(2), kill(2), tgkill(2)): each line is a fact a handler or the
 * main program saw.  The exit code is the number of handler calls.  With
 * an argument it also says whether sa_mask was blocked in the handler. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static volatile int calls, last_sig, last_code, pid_ok, mask_has_self, mask_has_extra;

static void on_info(int sig, siginfo_t *si, void *uc_)
{
    ucontext_t *uc = uc_;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    calls++;
    last_sig = si->si_signo == sig ? sig : -1;
    last_code = si->si_code;
    pid_ok = si->si_pid == getpid();
    mask_has_self = sigismember(&cur, sig);
    mask_has_extra = sigismember(&cur, SIGUSR2);
    /* the interrupted context's mask: what rt_sigreturn restores */
    if (sigismember(&uc->uc_sigmask, sig))
        last_code = 1000;
}

static volatile int plain_calls;
static void on_plain(int sig) { plain_calls += sig == SIGUSR2; calls++; }

int main(int argc, char **argv)
{
    (void)argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGUSR2);
    printf("sigaction %d\n", sigaction(SIGUSR1, &sa, NULL));

    raise(SIGUSR1);                                   /* tgkill: SI_TKILL */
    printf("raise: calls=%d sig=%d code=%d pid_ok=%d self_blocked=%d\n",
           calls, last_sig, last_code, pid_ok, mask_has_self);

    kill(getpid(), SIGUSR1);                          /* kill: SI_USER */
    printf("kill: calls=%d code=%d pid_ok=%d\n", calls, last_code, pid_ok);
    if (argc > 1)           /* qemu-riscv64 7.2 leaves sa_mask out of the handler's mask */
        printf("sa_mask blocked in the handler: %d\n", mask_has_extra);

    sigset_t set, old, pend;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    kill(getpid(), SIGUSR1);
    sigpending(&pend);
    printf("blocked: calls=%d pending=%d\n", calls, sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    sigpending(&pend);
    printf("unblocked: calls=%d pending=%d\n", calls, sigismember(&pend, SIGUSR1));

    /* a blocked signal sent twice is pending once (standard signals do not queue) */
    sigprocmask(SIG_BLOCK, &set, NULL);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    printf("twice while blocked: calls=%d\n", calls);

    signal(SIGUSR2, SIG_IGN);
    kill(getpid(), SIGUSR2);
    printf("ignored: calls=%d\n", calls);

    struct sigaction one;
    memset(&one, 0, sizeof one);
    one.sa_handler = on_plain;
    one.sa_flags = SA_RESETHAND;
    sigaction(SIGUSR2, &one, NULL);
    raise(SIGUSR2);
    struct sigaction now;
    sigaction(SIGUSR2, NULL, &now);
    printf("resethand: plain=%d reset_to_default=%d\n", plain_calls, now.sa_handler == SIG_DFL);

    /* SIGKILL and SIGSTOP cannot be caught */
    printf("catch SIGKILL: %d\n", sigaction(SIGKILL, &one, NULL));
    /* signal 0 checks that the process exists; a bad number is EINVAL */
    printf("kill 0: %d\n", kill(getpid(), 0));
    printf("kill 65: %d\n", kill(getpid(), 65));
    printf("tgkill wrong tgid: %ld\n", syscall(SYS_tgkill, getpid() + 1000, (int)syscall(SYS_gettid), SIGUSR1));
    fflush(stdout);
    return calls;
}
