/* The process tree seen from machine code: getppid, wait4, waitid and
 * prctl(PR_SET_CHILD_SUBREAPER / PR_GET_CHILD_SUBREAPER), each result
 * printed as a number.  argv[1] picks what it does:
 *   nochild  the waits of a process without children (the same under
 *            qemu-riscv64, where it is a child of the test runner)
 *   prctl    get, set, get, clear, get the child-subreaper flag
 *   ppid     print getppid()
 *   reap     print "wait4 <pid> <status>" for each child until ECHILD
 *   nohang   wait4 with WNOHANG once, then reap all (blocking)
 *   waitid   waitid(P_ALL, WEXITED | WNOWAIT), then waitid(P_PID) on that
 *            pid, printing the siginfo fields, then wait4 until ECHILD
 *   pid N    wait4 for Linux pid N only, then for any
 *   exit N   exit with code N */
#include "freestanding.h"

#define SYS_getppid 173
#define SYS_wait4 260
#define SYS_waitid 95
#define SYS_prctl 167
#define WNOHANG 1
#define WEXITED 4
#define WNOWAIT 0x01000000
#define P_ALL 0
#define P_PID 1
#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37

struct siginfo { int signo, err, code, pad; int pid, uid, status, pad2; long utime, stime;
                 char rest[80]; };

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

static long num(const char *s)
{
    long v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}

static long wait4(long pid, int *st, long options)
{
    return sys_call6(SYS_wait4, pid, (long)st, options, 0, 0, 0);
}

static void reap_all(void)
{
    for (;;) {
        int st = -1;
        long r = wait4(-1, &st, 0);
        if (r < 0) {
            show("wait4", r);
            return;
        }
        put_str("wait4 ");
        put_dec(r);
        put_str(" ");
        put_dec(st);
        put_str("\n");
    }
}

static void show_info(const char *what, long r, const struct siginfo *si)
{
    put_str(what);
    put_str(" ");
    put_dec(r);
    put_str(" signo ");
    put_dec(si->signo);
    put_str(" code ");
    put_dec(si->code);
    put_str(" pid ");
    put_dec(si->pid);
    put_str(" status ");
    put_dec(si->status);
    put_str("\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 100;
    const char *mode = argv[1];
    if (same(mode, "exit"))
        return (int)num(argv[2]);
    if (same(mode, "ppid")) {
        show("ppid", sys_call3(SYS_getppid, 0, 0, 0));
        return 0;
    }
    if (same(mode, "prctl")) {
        int v = 7;
        show("get", sys_call6(SYS_prctl, PR_GET_CHILD_SUBREAPER, (long)&v, 0, 0, 0, 0));
        show("subreaper", v);
        show("set", sys_call6(SYS_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0, 0));
        sys_call6(SYS_prctl, PR_GET_CHILD_SUBREAPER, (long)&v, 0, 0, 0, 0);
        show("subreaper", v);
        show("clear", sys_call6(SYS_prctl, PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0, 0));
        sys_call6(SYS_prctl, PR_GET_CHILD_SUBREAPER, (long)&v, 0, 0, 0, 0);
        show("subreaper", v);
        return 0;
    }
    if (same(mode, "nochild")) {
        int st = 0;
        show("wait4", wait4(-1, &st, 0));
        show("wait4-nohang", wait4(-1, &st, WNOHANG));
        show("wait4-badopt", wait4(-1, &st, 0x100));
        struct siginfo si;
        show("waitid", sys_call6(SYS_waitid, P_ALL, 0, (long)&si, WEXITED, 0, 0));
        show("waitid-noopt", sys_call6(SYS_waitid, P_ALL, 0, (long)&si, 0, 0, 0));
        return 0;
    }
    if (same(mode, "nohang")) {
        int st = -1;
        show("nohang", wait4(-1, &st, WNOHANG));
        show("status", st);
        reap_all();
        return 0;
    }
    if (same(mode, "waitid")) {
        struct siginfo si;
        memset(&si, 0, sizeof si);
        long r = sys_call6(SYS_waitid, P_ALL, 0, (long)&si, WEXITED | WNOWAIT, 0, 0);
        show_info("waitid-nowait", r, &si);
        int pid = si.pid;
        memset(&si, 0, sizeof si);
        r = sys_call6(SYS_waitid, P_PID, pid, (long)&si, WEXITED, 0, 0);
        show_info("waitid", r, &si);
        reap_all();
        return 0;
    }
    if (same(mode, "pid")) {
        int st = -1;
        long r = wait4(num(argv[2]), &st, 0);
        put_str("wait4 ");
        put_dec(r);
        put_str(" ");
        put_dec(st);
        put_str("\n");
        reap_all();
        return 0;
    }
    if (same(mode, "reap")) {
        reap_all();
        return 0;
    }
    return 101;
}
