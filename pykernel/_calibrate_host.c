/* _calibrate_host.c - the host side of `pykernel calibrate`: the
 * workloads that pykernel.calibrate simulates, run on the real kernel.
 * Compiled at run time with the host's cc; one workload per run:
 *
 *   pk_calibrate CPU rw LOOPS
 *   pk_calibrate CPU pipe LOOPS
 *   pk_calibrate CPU yield LOOPS
 *   pk_calibrate CPU messaging GROUPS FDS LOOPS SIZE PIPES
 *   pk_calibrate CPU fault PAGES PASSES
 *   pk_calibrate CPU fork LOOPS
 *
 * Every process is pinned to CPU with sched_setaffinity(2) before it
 * starts. Output, one line: "<cpu ns> <wall ns>" for the measured part
 * (fault: per pass, the mean of PASSES fresh mappings of PAGES pages).
 * The CPU figure is the sum over the workload's processes of their CPU
 * time (CLOCK_PROCESS_CPUTIME_ID, clock_gettime(2): the scheduler's
 * per-task runtime in ns) from the start signal to their end, plus, for
 * fork, the reaped children's (getrusage(2) RUSAGE_CHILDREN). On a CPU
 * shared with other jobs the wall time also counts their time slices;
 * the CPU time does not. Exit status 0, or 1 with a message on stderr. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PROCS 4096

static int cpu;
static volatile int64_t *spent;   /* shared: CPU ns of each worker */
static int start_r, start_w;      /* the start signal: EOF on this pipe */

static void die(const char *what) {
    fprintf(stderr, "pk_calibrate: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int64_t clock_ns(clockid_t id) {
    struct timespec ts;
    if (clock_gettime(id, &ts)) die("clock_gettime");
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set)) die("sched_setaffinity");
}

static void full_write(int fd, const char *buf, size_t n) {
    while (n) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) die("write");
        buf += w; n -= (size_t)w;
    }
}

static void full_read(int fd, char *buf, size_t n) {
    while (n) {
        ssize_t r = read(fd, buf, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) die("read");
        buf += r; n -= (size_t)r;
    }
}

/* Wait for the start signal (the parent closes start_w). */
static void await_start(void) {
    char c;
    close(start_w);
    while (read(start_r, &c, 1) < 0 && errno == EINTR) {}
}

typedef void (*work_fn)(long a, long b, long c, int *fds);

/* Fork worker idx running fn after the start signal; its CPU time from
 * the signal to the end goes to spent[idx]. */
static pid_t worker(int idx, work_fn fn, long a, long b, long c, int *fds) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid) return pid;
    prctl(PR_SET_PDEATHSIG, SIGKILL);   /* no orphan blocks forever if the parent dies */
    pin();
    await_start();
    int64_t t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    fn(a, b, c, fds);
    spent[idx] = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
    _exit(0);
}

/* Start the workers, wait for n of them; print CPU and wall ns. */
static void run(int n, pid_t *pids) {
    int64_t w0 = clock_ns(CLOCK_MONOTONIC);
    close(start_w);
    int64_t total = 0;
    for (int i = 0; i < n; i++) {
        int st;
        if (waitpid(pids[i], &st, 0) < 0) die("waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "pk_calibrate: a worker failed\n"); exit(1); }
    }
    int64_t wall = clock_ns(CLOCK_MONOTONIC) - w0;
    for (int i = 0; i < n; i++) total += spent[i];
    printf("%lld %lld\n", (long long)total, (long long)wall);
}

/* pipe: A writes 4 bytes to pipe 1 and reads 4 from pipe 2, B the reverse. */
static void pipe_a(long loops, long b, long c, int *fds) {
    char buf[4] = {'p', 'i', 'n', 'g'};
    (void)b; (void)c;
    for (long i = 0; i < loops; i++) { full_write(fds[1], buf, 4); full_read(fds[2], buf, 4); }
}

static void pipe_b(long loops, long b, long c, int *fds) {
    char buf[4];
    (void)b; (void)c;
    for (long i = 0; i < loops; i++) { full_read(fds[0], buf, 4); full_write(fds[3], buf, 4); }
}

static void yielder(long loops, long b, long c, int *fds) {
    (void)b; (void)c; (void)fds;
    for (long i = 0; i < loops; i++) sched_yield();
}

/* messaging: a receiver reads fds*loops messages of size bytes from its
 * socket; a sender writes loops messages to each of the group's fds. */
static void receiver(long j, long total, long size, int *fds) {
    char buf[4096];
    for (long i = 0; i < total; i++) full_read(fds[j], buf, (size_t)size);
}

static void sender(long loops, long size, long nfds, int *fds) {
    char buf[4096];
    memset(buf, 'x', sizeof buf);
    for (long i = 0; i < loops; i++)
        for (long j = 0; j < nfds; j++) full_write(fds[j], buf, (size_t)size);
}

static void messaging(long groups, long nfds, long loops, long size, int pipes) {
    static pid_t pids[MAX_PROCS];
    int n = 0;
    if (nfds > 512 || groups * nfds * 2 > MAX_PROCS || size < 1 || size > 4096) {
        fprintf(stderr, "pk_calibrate: messaging: too many processes or size out of 1..4096\n");
        exit(1);
    }
    for (long g = 0; g < groups; g++) {
        int rd[512], wr[512];
        for (long j = 0; j < nfds; j++) {
            int sv[2];
            if (pipes ? pipe(sv) : socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) die("socketpair or pipe");
            rd[j] = sv[0]; wr[j] = sv[1];
        }
        for (long j = 0; j < nfds; j++, n++) pids[n] = worker(n, receiver, j, nfds * loops, size, rd);
        for (long j = 0; j < nfds; j++) { pids[n] = worker(n, sender, loops, size, nfds, wr); n++; }
        for (long j = 0; j < nfds; j++) { close(rd[j]); close(wr[j]); }
    }
    run(n, pids);
}

static void fault(long pages, long passes) {
    int64_t c = 0, wall = 0;
    size_t len = (size_t)pages * 4096;
    for (long p = 0; p < passes; p++) {
        char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) die("mmap");
#ifdef MADV_NOHUGEPAGE
        madvise(m, len, MADV_NOHUGEPAGE);      /* one fault per 4 KiB page */
#endif
        int64_t t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), m0 = clock_ns(CLOCK_MONOTONIC);
        for (size_t off = 0; off < len; off += 4096) m[off] = 1;
        c += clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
        wall += clock_ns(CLOCK_MONOTONIC) - m0;
        munmap(m, len);
    }
    printf("%lld %lld\n", (long long)(c / passes), (long long)(wall / passes));   /* one pass */
}

/* rw: one process writes 4 bytes to a pipe and reads them back. */
static void rw(long loops) {
    int p[2];
    char buf[4] = {'p', 'i', 'n', 'g'};
    if (pipe(p)) die("pipe");
    int64_t t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < loops; i++) { full_write(p[1], buf, 4); full_read(p[0], buf, 4); }
    printf("%lld %lld\n", (long long)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0),
           (long long)(clock_ns(CLOCK_MONOTONIC) - w0));
}

static int64_t children_ns(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru)) die("getrusage");
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000
         + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* fork: fork a child that exits at once, reap it; loops times. */
static void forks(long loops) {
    int64_t c0 = children_ns(), s0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
    for (long i = 0; i < loops; i++) {
        pid_t p = fork();
        if (p < 0) die("fork");
        if (p == 0) _exit(0);
        if (waitpid(p, NULL, 0) < 0) die("waitpid");
    }
    int64_t self = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - s0, wall = clock_ns(CLOCK_MONOTONIC) - w0;
    printf("%lld %lld\n", (long long)(self + children_ns() - c0), (long long)wall);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: pk_calibrate CPU WORKLOAD ARGS...\n"); return 1; }
    cpu = atoi(argv[1]);
    long a = atol(argv[3]), b = argc > 4 ? atol(argv[4]) : 0;
    long c = argc > 5 ? atol(argv[5]) : 0, d = argc > 6 ? atol(argv[6]) : 0;
    if (a < 1) { fprintf(stderr, "pk_calibrate: counts must be positive\n"); return 1; }
    pin();
    spent = mmap(NULL, MAX_PROCS * sizeof(int64_t), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (spent == MAP_FAILED) die("mmap");
    int sp[2];
    if (pipe(sp)) die("pipe");
    start_r = sp[0]; start_w = sp[1];
    const char *w = argv[2];
    if (!strcmp(w, "pipe") || !strcmp(w, "yield")) {
        int fds[4], p1[2], p2[2];
        if (pipe(p1) || pipe(p2)) die("pipe");
        fds[0] = p1[0]; fds[1] = p1[1]; fds[2] = p2[0]; fds[3] = p2[1];
        pid_t pids[2];
        int y = !strcmp(w, "yield");
        pids[0] = worker(0, y ? yielder : pipe_a, a, 0, 0, fds);
        pids[1] = worker(1, y ? yielder : pipe_b, a, 0, 0, fds);
        run(2, pids);
    } else if (!strcmp(w, "messaging") && argc == 8) {
        messaging(a, b, c, d, atoi(argv[7]) != 0);
    } else if (!strcmp(w, "fault") && argc == 5) {
        fault(a, b);
    } else if (!strcmp(w, "rw")) {
        rw(a);
    } else if (!strcmp(w, "fork")) {
        forks(a);
    } else {
        fprintf(stderr, "pk_calibrate: unknown workload or wrong arguments: %s\n", w);
        return 1;
    }
    return 0;
}
