/* The wall clock, sched_getaffinity and mremap.
 *
 * Without arguments it prints relations that hold on any Linux (so qemu
 * and pykernel print the same); "raw" as argv[1] prints the clock
 * readings, the affinity mask and its size as numbers instead (pykernel's
 * tests check those against the kernel's epoch and CPUs). */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096L

static long call_mremap(void *old, long old_len, long new_len, long flags, void *new_addr) {
    long r = syscall(SYS_mremap, old, old_len, new_len, flags, new_addr);
    return r < 0 ? -errno : r;
}

static void fill(unsigned char *p, long n, int seed) {
    for (long i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
}

static int same(const unsigned char *p, long n, int seed) {
    for (long i = 0; i < n; i++) if (p[i] != (unsigned char)(i * 7 + seed)) return 0;
    return 1;
}

static int zero(const unsigned char *p, long n) {
    for (long i = 0; i < n; i++) if (p[i]) return 0;
    return 1;
}

static void clocks(int raw) {
    struct timespec rt, mono, tai, coarse;
    struct timeval tv;
    time_t t = time(NULL);
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_TAI, &tai);
    clock_gettime(CLOCK_REALTIME_COARSE, &coarse);
    gettimeofday(&tv, NULL);
    if (raw) {
        printf("time %lld\nrealtime %lld %ld\nmonotonic %lld %ld\ntai %lld\ngettimeofday %lld %ld\n",
               (long long)t, (long long)rt.tv_sec, rt.tv_nsec, (long long)mono.tv_sec,
               mono.tv_nsec, (long long)tai.tv_sec, (long long)tv.tv_sec, (long)tv.tv_usec);
        return;
    }
    printf("time after 2000-01-01 %d\n", t >= 946684800);
    printf("realtime seconds agree with time %d\n", rt.tv_sec >= t && rt.tv_sec - t <= 1);
    printf("gettimeofday agrees %d\n", tv.tv_sec >= rt.tv_sec && tv.tv_sec - rt.tv_sec <= 1
           && tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    printf("coarse and tai follow realtime %d\n", coarse.tv_sec - rt.tv_sec <= 1
           && coarse.tv_sec >= rt.tv_sec - 1 && tai.tv_sec >= rt.tv_sec && tai.tv_sec - rt.tv_sec <= 40);
    printf("monotonic is not the wall clock %d\n", mono.tv_sec < rt.tv_sec - 86400);
    struct timespec deadline = rt;
    deadline.tv_nsec += 1000000;                                  /* 1 ms ahead, absolute */
    if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    int r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &deadline, NULL);
    struct timespec after;
    clock_gettime(CLOCK_REALTIME, &after);
    printf("absolute realtime sleep %d woke after the deadline %d\n", r,
           after.tv_sec > deadline.tv_sec
           || (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec));
    /* sem_timedwait: a futex wait with an absolute CLOCK_REALTIME deadline */
    sem_t sem;
    sem_init(&sem, 0, 0);
    deadline = after;
    deadline.tv_nsec += 2000000;
    if (deadline.tv_nsec >= 1000000000L) { deadline.tv_sec++; deadline.tv_nsec -= 1000000000L; }
    errno = 0;
    r = sem_timedwait(&sem, &deadline);
    int err = errno;
    clock_gettime(CLOCK_REALTIME, &after);
    printf("sem_timedwait %d (ETIMEDOUT is 110) %d woke after the deadline %d\n", r, err,
           after.tv_sec > deadline.tv_sec
           || (after.tv_sec == deadline.tv_sec && after.tv_nsec >= deadline.tv_nsec));
}

static void affinity(int raw) {
    unsigned long mask[16];
    memset(mask, 0xff, sizeof mask);
    long n = syscall(SYS_sched_getaffinity, 0, sizeof mask, mask);
    long cpus = 0;
    for (long i = 0; i < n / 8; i++) cpus += __builtin_popcountl(mask[i]);
    if (raw) {
        printf("affinity bytes %ld mask", n);
        for (long i = 0; i < n / 8; i++) printf(" %016lx", mask[i]);
        printf("\n");
        return;
    }
    printf("sched_getaffinity returns whole longs %d\n", n > 0 && n % 8 == 0 && n <= (long)sizeof mask);
    printf("at least one CPU %d\n", cpus >= 1);
    cpu_set_t set;
    CPU_ZERO(&set);
    printf("glibc sched_getaffinity %d count agrees %d\n", sched_getaffinity(0, sizeof set, &set),
           CPU_COUNT(&set) == cpus);
    printf("gettid names the caller %d\n",
           syscall(SYS_sched_getaffinity, syscall(SYS_gettid), sizeof mask, mask) == n);
    errno = 0;
    long bad = syscall(SYS_sched_getaffinity, 0, 4, mask);
    printf("size not a multiple of 8 (EINVAL is 22) %ld %d\n", bad, errno);
    errno = 0;
    bad = syscall(SYS_sched_getaffinity, 0, 0, mask);
    printf("size 0 %ld %d\n", bad, errno);
    errno = 0;
    bad = syscall(SYS_sched_getaffinity, -1, sizeof mask, mask);
    printf("no such thread (ESRCH is 3) %ld %d\n", bad, errno);
}

static void remap(void) {
    unsigned char *a = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(a, 3 * PAGE, 1);
    /* a guard mapping right after it: growing in place is impossible */
    void *guard = mmap(a + 3 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("guard placed %d\n", guard == a + 3 * PAGE);
    printf("grow without MREMAP_MAYMOVE (ENOMEM is 12) %ld\n", call_mremap(a, 3 * PAGE, 5 * PAGE, 0, NULL));
    unsigned char *b = (unsigned char *)call_mremap(a, 3 * PAGE, 8 * PAGE, MREMAP_MAYMOVE, NULL);
    printf("moved %d contents kept %d new pages zero %d\n", b != a, same(b, 3 * PAGE, 1),
           zero(b + 3 * PAGE, 5 * PAGE));
    printf("old range gone (EFAULT is 14) %ld\n", call_mremap(a, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL));
    fill(b, 8 * PAGE, 2);
    printf("shrink in place %d\n", call_mremap(b, 8 * PAGE, 2 * PAGE, 0, NULL) == (long)b);
    printf("shrunk keeps %d\n", same(b, 2 * PAGE, 2));
    /* grow in place: the pages after it are free once the tail is unmapped */
    munmap(b + 2 * PAGE, 6 * PAGE);
    printf("grow in place %d\n", call_mremap(b, 2 * PAGE, 4 * PAGE, 0, NULL) == (long)b);
    printf("grown keeps %d zero after %d\n", same(b, 2 * PAGE, 2), zero(b + 2 * PAGE, 2 * PAGE));
    b[4 * PAGE - 1] = 9;
    printf("grown writable %d\n", b[4 * PAGE - 1] == 9);
    /* MREMAP_FIXED: to an address of our choosing, unmapping what was there */
    unsigned char *c = mmap(NULL, 6 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(c, 6 * PAGE, 3);
    long r = call_mremap(b, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, c + PAGE);
    printf("fixed move %d\n", r == (long)(c + PAGE));
    int around = 1;
    for (long i = 0; i < PAGE; i++)
        around &= c[i] == (unsigned char)(i * 7 + 3) && c[5 * PAGE + i] == (unsigned char)((5 * PAGE + i) * 7 + 3);
    printf("fixed keeps %d %d around it kept %d\n", same(c + PAGE, 2 * PAGE, 2),
           (c + PAGE)[4 * PAGE - 1] == 9, around);
    printf("fixed source gone %ld\n", call_mremap(b, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL));
    /* read-only mappings move with their protection and contents */
    unsigned char *d = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(d, 2 * PAGE, 4);
    mprotect(d, 2 * PAGE, PROT_READ);
    mmap(d + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    unsigned char *e = (unsigned char *)call_mremap(d, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, NULL);
    printf("read-only moved keeps %d\n", e != d && same(e, 2 * PAGE, 4));
    printf("misaligned (EINVAL is 22) %ld\n", call_mremap(e + 1, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL));
    printf("unknown flag %ld\n", call_mremap(e, PAGE, 2 * PAGE, 64, NULL));
    printf("fixed without maymove %ld\n", call_mremap(e, PAGE, 2 * PAGE, MREMAP_FIXED, c));
    printf("fixed overlapping %ld\n", call_mremap(c, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, c + PAGE));
    printf("dontunmap needs equal sizes %ld\n", call_mremap(c, PAGE, 2 * PAGE, MREMAP_MAYMOVE | 4, NULL));
    printf("unmapped old, growing (EFAULT is 14) %ld\n", call_mremap(a, PAGE, 2 * PAGE, MREMAP_MAYMOVE, NULL));
    printf("old range past its mapping %ld\n", call_mremap(e, 4 * PAGE, 5 * PAGE, MREMAP_MAYMOVE, NULL));
}

/* mremap cases where qemu-riscv64 7.2's own emulation of the call differs
 * from Linux: a new size of 0 (qemu: ENOMEM; Linux, mremap(2): EINVAL), and
 * MREMAP_DONTUNMAP (Linux 5.7) */
static void remap_raw(void) {
    unsigned char *a = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    fill(a, 2 * PAGE, 5);
    printf("mremap new size 0 %ld\n", call_mremap(a, PAGE, 0, MREMAP_MAYMOVE, NULL));
    long r = call_mremap(a, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | 4, NULL);
    unsigned char *b = (unsigned char *)r;
    printf("dontunmap moved %d keeps %d old range mapped and zero %d\n", r > 0 && b != a,
           r > 0 && same(b, 2 * PAGE, 5), r > 0 && zero(a, 2 * PAGE));
}

int main(int argc, char **argv) {
    int raw = argc > 1 && !strcmp(argv[1], "raw");
    clocks(raw);
    affinity(raw);
    if (raw) remap_raw();
    else remap();
    return 0;
}
