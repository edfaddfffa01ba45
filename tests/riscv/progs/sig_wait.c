/* Waiting for signals instead of catching them (sigtimedwait(2),
 * sigwaitinfo(2), sigwait(3)): with the signals blocked, a wait times out
 * with EAGAIN, returns a pending SIGUSR1 with its siginfo at once, and
 * waits for a SIGALRM from a 20 ms timer (whose default action would end
 * the process: waiting for it is not taking that action); a zero timeout
 * answers EAGAIN at once. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, NULL);

    struct timespec ts = { 0, 10000000 };
    siginfo_t si;
    int r = sigtimedwait(&set, &si, &ts);
    printf("timeout: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "-");

    kill(getpid(), SIGUSR1);
    memset(&si, 0, sizeof si);
    r = sigwaitinfo(&set, &si);
    printf("pending: %d signo %d code %d pid_ok %d\n", r, si.si_signo, si.si_code, si.si_pid == getpid());

    struct itimerval it = { { 0, 0 }, { 0, 20000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    int sig = 0;
    r = sigwait(&set, &sig);
    printf("sigwait: %d sig %d\n", r, sig);

    struct itimerval later = { { 0, 0 }, { 0, 30000 } };
    setitimer(ITIMER_REAL, &later, NULL);
    struct timespec zero = { 0, 0 };
    r = sigtimedwait(&set, &si, &zero);
    printf("zero timeout: %d %s\n", r, r < 0 && errno == EAGAIN ? "EAGAIN" : "-");
    r = sigwaitinfo(&set, &si);
    printf("alarm: %d code %d\n", r, si.si_code);
    return 0;
}
