/* Touching a file mapping past the end of the file (mmap(2), "SIGBUS":
 * "Attempted access to a page of the buffer that lies beyond the end of
 * the mapped file"): SIGBUS with si_code BUS_ADRERR and si_addr the
 * address, for a page that was past the end from the start and for one a
 * truncation cut off (truncate(2); mm/truncate.c truncate_pagecache
 * unmaps it); the bytes of the last page past the end read 0 (mmap(2)).
 * mprotect(2): EACCES for PROT_WRITE on a MAP_SHARED mapping of a file
 * opened read-only; a MAP_PRIVATE one may be made writable.
 * With the argument "die": the same touch without a handler ends the
 * process with SIGBUS. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static sigjmp_buf back;
static volatile int got_sig, got_code;
static volatile char *got_addr;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    siglongjmp(back, 1);
}

/* read the byte at p: its value, or -1 after a signal (reported) */
static int touch(const char *what, volatile char *p)
{
    got_sig = 0;
    if (sigsetjmp(back, 1) == 0) {
        int v = *p;
        printf("%s: read %d\n", what, v);
        return v;
    }
    printf("%s: signal %d code %d at the byte %d\n", what, got_sig, got_code, got_addr == p);
    return -1;
}

int main(int argc, char **argv)
{
    const char *path = "mmap_bus.tmp";
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    char page[8192];
    memset(page, 'x', sizeof page);
    write(fd, page, 5000);                        /* two pages, the second partly */
    char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); return 1; }
    if (argc > 1 && strcmp(argv[1], "die") == 0) {
        printf("touching page 2\n");
        fflush(stdout);
        unlink(path);
        return m[2 * 4096];
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_bus;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGSEGV, &sa, NULL);

    touch("page 0", m);
    touch("page 1, past the end in its page", m + 4096 + 1000);
    touch("page 2, past the end", m + 2 * 4096 + 5);
    m[4096] = 'y';                                /* page 1 now in memory */
    ftruncate(fd, 100);
    touch("page 1 after truncating to 100", m + 4096);
    touch("page 0 past the new end", m + 200);
    touch("page 0 before it", m + 50);
    ftruncate(fd, 8192);
    touch("page 1 after growing again", m + 4096);

    int ro = open(path, O_RDONLY);
    char *s = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
    int r = mprotect(s, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect write, shared of O_RDONLY: %d %s\n", r, r ? strerror(errno) : "");
    char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ro, 0);
    r = mprotect(p, 4096, PROT_READ | PROT_WRITE);
    printf("mprotect write, private of O_RDONLY: %d\n", r);
    r = mprotect(s, 4096, PROT_READ);
    printf("mprotect read, shared of O_RDONLY: %d\n", r);
    unlink(path);
    return 0;
}
