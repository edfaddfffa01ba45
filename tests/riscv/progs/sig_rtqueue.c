/* Real-time signals are queued, standard ones are not (signal(7),
 * "Real-time signals" and "Queueing and delivery semantics for standard
 * signals"): with the signals blocked, each sigqueue(3), kill(2) and
 * tgkill(2) of a real-time signal leaves one more instance pending, each
 * with its own siginfo (si_code SI_QUEUE -1 and si_value from sigqueue,
 * SI_USER 0 from kill, SI_TKILL -6 from tgkill); two kills of SIGUSR1
 * leave one.  They are taken lowest number first, the instances of one
 * number in the order sent, the thread's own (tgkill) before the
 * process's (kernel/signal.c dequeue_signal): by sigtimedwait(2) until
 * EAGAIN (glibc reports SI_TKILL as SI_USER there), or with the argument
 * "handlers" by handlers once unblocked (sa_mask full, so one handler runs
 * at a time; qemu-user delivers these in another order).
 *
 * With the argument "flood" (pykernel only: the limit is the host's under
 * qemu): sigqueue until it fails, then kill once more, and print the count
 * and the errors. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int got_sig[32], got_code[32], got_val[32], ngot;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    if (ngot < 32) {
        got_sig[ngot] = sig;
        got_code[ngot] = si->si_code;
        got_val[ngot] = si->si_code == SI_QUEUE ? si->si_value.sival_int : 0;
        ngot++;
    }
}

static const char *name(int sig)
{
    static char b[32];
    if (sig == SIGUSR1) return "SIGUSR1";
    snprintf(b, sizeof b, "SIGRTMIN+%d", sig - SIGRTMIN);
    return b;
}

static void send_all(void)
{
    int me = getpid(), tid = (int)syscall(SYS_gettid);
    sigqueue(me, SIGRTMIN + 2, (union sigval){ .sival_int = 1 });
    sigqueue(me, SIGRTMIN, (union sigval){ .sival_int = 2 });
    kill(me, SIGUSR1);
    sigqueue(me, SIGRTMIN + 2, (union sigval){ .sival_int = 3 });
    kill(me, SIGRTMIN);
    syscall(SYS_tgkill, me, tid, SIGRTMIN + 1);
    kill(me, SIGUSR1);
    sigqueue(me, SIGRTMIN, (union sigval){ .sival_int = 4 });
    syscall(SYS_tgkill, me, tid, SIGRTMIN + 1);
}

static void blockset(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGUSR1);
    for (int s = SIGRTMIN; s <= SIGRTMIN + 2; s++) sigaddset(set, s);
}

static int flood(void)
{
    sigset_t set;
    blockset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int n = 0;
    while (n < 100000 && sigqueue(getpid(), SIGRTMIN, (union sigval){ .sival_int = n }) == 0) n++;
    int e = errno;
    int k = kill(getpid(), SIGRTMIN);
    printf("queued %d then %s; kill %d\n", n, e == EAGAIN ? "EAGAIN" : strerror(e), k);
    siginfo_t si;
    struct timespec zero = { 0, 0 };
    int taken = 0, in_order = 1;
    while (sigtimedwait(&set, &si, &zero) == SIGRTMIN) {
        if (si.si_value.sival_int != taken) in_order = 0;
        taken++;
    }
    printf("taken %d in order %d\n", taken, in_order);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "flood") == 0) return flood();
    int handlers = argc > 1 && strcmp(argv[1], "handlers") == 0;
    sigset_t set, pend;
    blockset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (handlers) goto catch;

    send_all();
    sigpending(&pend);
    printf("pending:");
    for (int s = 1; s <= SIGRTMIN + 2; s++)
        if (sigismember(&pend, s)) printf(" %s", name(s));
    printf("\n");
    siginfo_t si;
    struct timespec zero = { 0, 0 };
    int r;
    while ((r = sigtimedwait(&set, &si, &zero)) > 0)
        printf("sigtimedwait: %s code %d value %d\n", name(r),
               si.si_code, si.si_code == SI_QUEUE ? si.si_value.sival_int : 0);
    printf("then %s\n", errno == EAGAIN ? "EAGAIN" : "-");
    return 0;

catch:;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    for (int s = SIGRTMIN; s <= SIGRTMIN + 2; s++) sigaction(s, &sa, NULL);
    send_all();
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    for (int i = 0; i < ngot; i++)
        printf("handler: %s code %d value %d\n", name(got_sig[i]), got_code[i], got_val[i]);
    return 0;
}
