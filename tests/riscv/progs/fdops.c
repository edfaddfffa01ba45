/* Runs descriptor operations read from standard input, one per line
 * "op a b", and prints each result and errno: a driver for comparing the
 * descriptor table with Linux's (tests/riscv/test_fd_properties.py).
 * Descriptors 0-2 are never touched; pipes are non-blocking. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char in[1 << 16];

int main(void) {
    size_t n = 0;
    for (ssize_t r; n < sizeof in - 1 && (r = read(0, in + n, sizeof in - 1 - n)) > 0;) n += (size_t)r;
    in[n] = 0;
    char name[16], b1;
    int p[2];
    for (char *line = strtok(in, "\n"); line; line = strtok(NULL, "\n")) {
        int op, a, b;
        if (sscanf(line, "%d %d %d", &op, &a, &b) != 3 || a < 3 || b < 3) return 2;
        long r = 0;
        errno = 0;
        switch (op) {
        case 0: sprintf(name, "f%d", a % 4); r = open(name, O_CREAT | O_RDWR, 0644); break;
        case 1: r = dup(a); break;
        case 2: r = dup2(a, b); break;
        case 3: r = dup3(a, b, O_CLOEXEC); break;
        case 4: r = close(a); break;
        case 5: r = fcntl(a, F_DUPFD, b); break;
        case 6: r = fcntl(a, F_GETFD); break;
        case 7: r = fcntl(a, F_SETFD, b & 1); break;
        case 8: r = write(a, "xyz", 3); break;
        case 9: r = lseek(a, 0, SEEK_CUR); break;
        case 10: r = pipe2(p, O_NONBLOCK); if (!r) r = p[0] * 100 + p[1]; break;
        case 11: r = read(a, &b1, 1); break;
        case 12: r = lseek(a, b, SEEK_SET); break;
        case 13: r = fcntl(a, F_GETFL) & (O_ACCMODE | O_APPEND | O_NONBLOCK); break;
        case 14: sprintf(name, "f%d", a % 4); r = open(name, O_CREAT | O_EXCL | O_WRONLY, 0600); break;
        case 15: sprintf(name, "f%d", a % 4); r = open(name, O_WRONLY | O_APPEND | O_TRUNC); break;
        case 16: sprintf(name, "f%d", a % 4); r = unlink(name); break;
        case 17: r = fcntl(a, F_SETFL, (b & 1 ? O_APPEND : 0) | (b & 2 ? O_NONBLOCK : 0)); break;
        case 18: { char t[10]; r = read(a, t, sizeof t); break; }
        case 19: r = ftruncate(a, b); break;
        case 20: { struct stat st; r = fstat(a, &st);
                   if (!r) r = st.st_size * 1000 + S_ISREG(st.st_mode) * 100 + S_ISFIFO(st.st_mode) * 10
                              + (long)st.st_nlink;
                   break; }
        case 21: sprintf(name, "f%d", a % 4); r = open(name, O_RDONLY); break;
        case 22: r = fcntl(a, F_SETPIPE_SZ, b * 5000); if (r >= 0) r = fcntl(a, F_GETPIPE_SZ); break;
        case 23: { char t[16]; sprintf(t, b & 1 ? "f%d" : "l%d", a % 4); sprintf(name, "l%d", b % 4);
                   r = symlink(t, name); break; }
        case 24: { char t[16]; sprintf(t, "l%d", a % 4); sprintf(name, "h%d", b % 4);
                   r = linkat(AT_FDCWD, t, AT_FDCWD, name, b & 1 ? AT_SYMLINK_FOLLOW : 0); break; }
        case 25: { struct stat st; sprintf(name, "h%d", a % 4); r = lstat(name, &st);
                   if (!r) r = S_ISREG(st.st_mode) * 100 + S_ISLNK(st.st_mode) * 10 + (long)st.st_nlink;
                   break; }
        default: return 3;
        }
        printf("%d %d %d -> %ld %d\n", op, a, b, r, r < 0 ? errno : 0);
    }
    return 0;
}
