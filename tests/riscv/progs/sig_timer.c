/* Interval timers and waits cut short (setitimer(2), alarm(2) (which
 * glibc makes of setitimer on riscv64), sigsuspend(2), nanosleep(2)):
 * three SIGALRMs of a 20 ms ITIMER_REAL taken in sigsuspend; a 2 s
 * nanosleep cut short by a 50 ms timer returns EINTR with the time left in
 * *rem; without SA_RESTART a handler makes the call fail, the timer's
 * siginfo says SI_KERNEL; ITIMER_REAL's value counts down. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile int alarms, code;

static void on_alarm(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    alarms += sig == SIGALRM;
    code = si->si_code;
}

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGALRM, &sa, NULL);

    sigset_t block, old, none;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    sigprocmask(SIG_BLOCK, &block, &old);
    struct itimerval it = { { 0, 20000 }, { 0, 20000 } };
    printf("setitimer %d\n", setitimer(ITIMER_REAL, &it, NULL));
    struct itimerval now;
    getitimer(ITIMER_REAL, &now);
    printf("interval %ld.%06ld value<=20ms %d\n", (long)now.it_interval.tv_sec,
           (long)now.it_interval.tv_usec, now.it_value.tv_sec == 0 && now.it_value.tv_usec <= 20000);
    sigemptyset(&none);
    int rounds = 0;
    while (alarms < 3) {
        int r = sigsuspend(&none);
        rounds += r == -1 && errno == EINTR;
    }
    printf("alarms %d sigsuspend EINTR %d si_code %d\n", alarms, rounds >= 3, code);
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, &now);
    sigprocmask(SIG_SETMASK, &old, NULL);
    getitimer(ITIMER_REAL, &now);
    printf("disarmed %d\n", now.it_value.tv_sec == 0 && now.it_value.tv_usec == 0);

    int before = alarms;
    struct itimerval once = { { 0, 0 }, { 0, 50000 } };
    setitimer(ITIMER_REAL, &once, NULL);
    struct timespec req = { 2, 0 }, rem = { 0, 0 };
    int r = nanosleep(&req, &rem);
    int e = errno;
    long left_ms = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
    printf("nanosleep %d EINTR %d handler ran %d rem in (1.5, 1.96) %d\n", r, e == EINTR,
           alarms == before + 1, left_ms > 1500 && left_ms < 1960);

    printf("ITIMER_VIRTUAL or an unknown timer: %d\n", setitimer(5, &once, NULL));
    /* alarm(): the seconds left of the previous one */
    alarm(100);
    printf("alarm left %u\n", alarm(0));
    return 0;
}
