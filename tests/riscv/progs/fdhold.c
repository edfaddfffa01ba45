/* Holds descriptors of every kind: a file open twice (one close-on-exec)
 * and duplicated, then unlinked; a close-on-exec pipe with two bytes in
 * it.  With an argument it then blocks for ever reading a pipe it also
 * writes, so a test can look at its table, snapshot it, or fork it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    (void)argv;
    int f = open("held", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (write(f, "abcdef", 6) != 6) return 1;
    int c = open("held", O_RDONLY | O_CLOEXEC);
    int p[2];
    if (pipe2(p, O_CLOEXEC)) return 2;
    if (write(p[1], "xy", 2) != 2) return 3;
    int d = dup(f);
    lseek(f, 2, SEEK_SET);
    unlink("held");
    printf("%d %d %d %d %d\n", f, c, p[0], p[1], d);
    fflush(stdout);
    if (argc > 1) {
        int q[2];
        char b;
        if (pipe(q)) return 4;
        return (int)read(q[0], &b, 1);       /* nothing ever comes */
    }
    return 0;
}
