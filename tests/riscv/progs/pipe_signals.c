/* Signals and pipes (pipe(7), signal(7) "Interruption of system calls"):
 * a read of an empty pipe interrupted by SIGALRM ends with EINTR when the
 * handler has no SA_RESTART, and goes on to read the data a thread writes
 * later when it has; then a write to a pipe without readers ends the
 * process with SIGPIPE, its default action. */
// cflags: -pthread
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int p[2];
static volatile int alarms;

static void on_alarm(int s) { (void)s; alarms++; }

static void *late_writer(void *arg) {
    (void)arg;
    struct timespec ts = { 0, 30000000 };               /* 30 ms, after the 10 ms alarm */
    nanosleep(&ts, NULL);
    if (write(p[1], "late", 4) != 4) return arg;
    return NULL;
}

static void alarm_in_10ms(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 0 }, { 0, 10000 } };
    setitimer(ITIMER_REAL, &it, NULL);
}

int main(void) {
    char b[8] = { 0 };
    if (pipe(p)) return 1;
    alarm_in_10ms(0);
    long r = read(p[0], b, sizeof b);
    printf("no SA_RESTART: read %ld %s, alarms %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "?", alarms);
    pthread_t t;
    pthread_create(&t, NULL, late_writer, NULL);
    alarm_in_10ms(1);
    r = read(p[0], b, sizeof b);
    printf("SA_RESTART: read %ld \"%.4s\", alarms %d\n", r, b, alarms);
    pthread_join(t, NULL);
    fflush(stdout);
    close(p[0]);
    write(p[1], "x", 1);                                /* SIGPIPE: the process ends */
    printf("not reached\n");
    return 0;
}
