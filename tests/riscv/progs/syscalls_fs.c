/* System calls by their Linux RISC-V numbers, each result printed as a
 * number or a relation (never a host-dependent value such as a pid or an
 * address): writev, write to a bad descriptor, brk, mmap / munmap /
 * mprotect, getpid / gettid / set_tid_address, uname, sched_yield,
 * clock_gettime, rt_sigprocmask, rt_sigaction, prlimit64. */
#include "freestanding.h"

#define SYS_writev 66
#define SYS_brk 214
#define SYS_mmap 222
#define SYS_munmap 215
#define SYS_mprotect 226
#define SYS_getpid 172
#define SYS_gettid 178
#define SYS_set_tid_address 96
#define SYS_uname 160
#define SYS_sched_yield 124
#define SYS_clock_gettime 113
#define SYS_rt_sigprocmask 135
#define SYS_rt_sigaction 134
#define SYS_prlimit64 261

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_PRIVATE 2
#define MAP_ANONYMOUS 0x20
#define PAGE 4096L

struct iovec { const void *base; size_t len; };
struct timespec { long sec, nsec; };
struct rlimit { unsigned long cur, max; };

static void show(const char *what, long v)
{
    put_str(what);
    put_str(" ");
    put_dec(v);
    put_str("\n");
}

static int same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    struct iovec iov[3] = {{"writev: ", 8}, {"", 0}, {"two parts\n", 10}};
    show("writev returned", sys_call3(SYS_writev, 1, (long)iov, 3));
    show("write to fd 9 (EBADF is -9)", sys_write(9, "x", 1));

    long cur = sys_call3(SYS_brk, 0, 0, 0);
    long grown = sys_call3(SYS_brk, cur + 16 * PAGE, 0, 0);
    show("brk grows by 16 pages", grown - cur);
    volatile char *heap = (volatile char *)cur;
    long sum = 0;
    for (long i = 0; i < 16 * PAGE; i += 512)
        heap[i] = (char)(i / 512);
    for (long i = 0; i < 16 * PAGE; i += 512)
        sum += heap[i];
    show("brk memory sum", sum);
    show("brk shrinks back", sys_call3(SYS_brk, cur, 0, 0) == cur);

    long m = sys_call6(SYS_mmap, 0, 3 * PAGE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    show("mmap page aligned", m > 0 && m % PAGE == 0);
    volatile long *w = (volatile long *)m;
    long zeros = 0;
    for (long i = 0; i < 3 * PAGE / 8; i++)
        zeros += w[i] == 0;
    show("mmap zero words", zeros);
    w[0] = 11;
    w[2 * PAGE / 8] = 22;
    show("munmap middle page", sys_call3(SYS_munmap, m + PAGE, PAGE, 0));
    show("mprotect first page read-only", sys_call3(SYS_mprotect, m, PAGE, PROT_READ));
    show("values kept", w[0] + w[2 * PAGE / 8]);
    show("mmap length 0 (EINVAL is -22)",
         sys_call6(SYS_mmap, 0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    show("munmap unaligned (EINVAL is -22)", sys_call3(SYS_munmap, m + 1, PAGE, 0));
    show("munmap rest", sys_call3(SYS_munmap, m, 3 * PAGE, 0));

    long pid = sys_call3(SYS_getpid, 0, 0, 0), tid = sys_call3(SYS_gettid, 0, 0, 0);
    int tidword;
    show("getpid > 0", pid > 0);
    show("gettid == getpid in the first thread", tid == pid);
    show("set_tid_address returns the tid", sys_call3(SYS_set_tid_address, (long)&tidword, 0, 0) == tid);

    static char uts[6][65];
    show("uname", sys_call3(SYS_uname, (long)uts, 0, 0));
    put_str("sysname ");
    put_str(uts[0]);
    put_str("\nmachine ");
    put_str(uts[4]);
    put_str("\n");
    show("sysname is Linux", same(uts[0], "Linux"));

    show("sched_yield", sys_call3(SYS_sched_yield, 0, 0, 0));
    struct timespec a, b;
    show("clock_gettime MONOTONIC", sys_call3(SYS_clock_gettime, 1, (long)&a, 0));
    sys_call3(SYS_clock_gettime, 1, (long)&b, 0);
    show("monotonic does not go back", b.sec > a.sec || (b.sec == a.sec && b.nsec >= a.nsec));
    show("clock_gettime bad clock (EINVAL is -22)", sys_call3(SYS_clock_gettime, 1000, (long)&a, 0));

    unsigned long set = 0, old = 1;
    show("rt_sigprocmask", sys_call6(SYS_rt_sigprocmask, 0, (long)&set, (long)&old, 8, 0, 0));
    long oldact[4] = {0};
    show("rt_sigaction query SIGUSR1", sys_call6(SYS_rt_sigaction, 10, 0, (long)oldact, 8, 0, 0));
    struct rlimit rl = {0, 0};
    show("prlimit64 RLIMIT_STACK", sys_call6(SYS_prlimit64, 0, 3, 0, (long)&rl, 0, 0));
    show("stack limit > 0", rl.cur > 0);
    return 0;
}
