/* A pipe between a parent and its forked child (pipe(7), fork(2)): the
 * child inherits both ends, closes the write end and counts what it reads
 * until end of file, which comes only once the parent closed its write
 * end too; a close-on-exec descriptor survives fork (execve closes it).
 * Only the parent prints: each process's output is its own here. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int p[2];
    if (pipe(p)) return 1;
    int ce = open("/", O_RDONLY | O_CLOEXEC);
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        char b[1000];
        long got = 0, r;
        while ((r = read(p[0], b, sizeof b)) > 0) got += r;
        return (got == 100000 ? 1 : 0) | (fcntl(ce, F_GETFD) == FD_CLOEXEC ? 2 : 0);
    }
    close(p[0]);
    static char data[100000];
    for (size_t off = 0; off < sizeof data;) {
        long w = write(p[1], data + off, sizeof data - off);
        if (w <= 0) return 2;
        off += (size_t)w;
    }
    close(p[1]);
    int st;
    waitpid(c, &st, 0);
    printf("child read all %d, close-on-exec descriptor inherited %d\n",
           WEXITSTATUS(st) & 1, WEXITSTATUS(st) >> 1 & 1);
    return 0;
}
