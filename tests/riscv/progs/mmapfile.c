/* mmap(2) of a file: MAP_SHARED mappings share the file's pages with
 * read(2) / write(2) and with other mappings, also across fork(2);
 * MAP_PRIVATE mappings copy a page on its first write (mmap(2): "Updates
 * to the mapping are not visible to other processes mapping the same
 * file, and are not carried through to the underlying file"); a mapping
 * outlives the descriptor it was made from (mmap(2): "closing the file
 * descriptor does not unmap the region").  Each line prints a result or
 * an errno name. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *en(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case EACCES: return "EACCES"; case EBADF: return "EBADF"; case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV"; case ENOMEM: return "ENOMEM";
    }
    return "other";
}
#define MAPS(what, call) do { errno = 0; void *m_ = (call); \
    printf("%-30s %s\n", what, m_ == MAP_FAILED ? en(-1) : "ok"); \
    if (m_ != MAP_FAILED) munmap(m_, 4096); } while (0)

int main(void) {
    char buf[16] = { 0 };
    int fd = open("m", O_CREAT | O_TRUNC | O_RDWR, 0644);
    write(fd, "hello file\n", 11);
    ftruncate(fd, 8192);
    char *s = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    printf("shared mapping %s, first bytes %.5s\n", s == MAP_FAILED ? "failed" : "ok", s);
    /* a write through a shared mapping is the file's byte */
    s[0] = 'H';
    memcpy(s + 4096, "page two", 8);
    pread(fd, buf, 5, 0);
    printf("read after shared write: %.5s\n", buf);
    pread(fd, buf, 8, 4096);
    printf("second page by read: %.8s\n", buf);
    /* a write to the file shows in the mapping */
    pwrite(fd, "FILE", 4, 6);
    printf("mapping after write: %.10s\n", s);
    /* a private mapping copies a page on its first write */
    char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("private sees %.5s\n", p);
    p[0] = 'P';
    pread(fd, buf, 5, 0);
    printf("private write: private %.5s, file %.5s, shared %.5s\n", p, buf, s);
    /* an offset maps from that page on */
    char *o = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
    printf("offset 4096: %.8s\n", o);
    munmap(o, 4096);
    /* fork: the child's shared writes reach the parent, private ones do not */
    pid_t c = fork();
    if (c == 0) {
        s[1] = 'E';
        p[1] = 'Q';
        _exit(0);
    }
    waitpid(c, NULL, 0);
    printf("after the child: shared %.2s, private %.2s\n", s, p);
    munmap(p, 8192);
    /* the mapping outlives its descriptor */
    close(fd);
    s[2] = 'L';
    munmap(s, 8192);
    fd = open("m", O_RDONLY);
    pread(fd, buf, 10, 0);
    printf("after close and munmap: %.10s\n", buf);
    /* the access mode of the descriptor decides what may be mapped */
    MAPS("private writable of O_RDONLY", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    MAPS("shared writable of O_RDONLY", mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
    MAPS("shared read-only of O_RDONLY", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
    MAPS("offset not page-aligned", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 100));
    close(fd);
    fd = open("m", O_WRONLY);
    MAPS("O_WRONLY", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
    close(fd);
    MAPS("closed descriptor", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
    int pfd[2];
    pipe(pfd);
    MAPS("pipe", mmap(NULL, 4096, PROT_READ, MAP_SHARED, pfd[0], 0));
    fd = open(".", O_RDONLY | O_DIRECTORY);
    MAPS("directory", mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0));
    fd = open("/dev/zero", O_RDWR);
    char *z = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    printf("/dev/zero: %d\n", z != MAP_FAILED && z[0] == 0 && z[4095] == 0);
    fd = open("m", O_RDWR);
    char *t = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    t[3] = '!';
    errno = 0;
    long r = msync(t, 4096, MS_SYNC);
    printf("msync %ld %s\n", r, en(r));
    errno = 0;
    r = msync(t + 1, 4096, MS_SYNC);
    printf("msync unaligned %ld %s\n", r, en(r));
    pread(fd, buf, 5, 0);
    printf("final %.5s\n", buf);
    return 0;
}
