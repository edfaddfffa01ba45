/* Descriptors, files and pipes as Linux defines them (open(2), dup(2),
 * fcntl(2), pipe(7), lseek(2), stat(2), getdents64(2), ...): each line
 * prints a result or an errno name, nothing that depends on the host
 * (inode numbers, times, the path of the directory it runs in). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

static const char *en(long r) {
    if (r >= 0) return "ok";
    switch (errno) {
    case ENOENT: return "ENOENT"; case EEXIST: return "EEXIST"; case EISDIR: return "EISDIR";
    case ENOTDIR: return "ENOTDIR"; case ENOTEMPTY: return "ENOTEMPTY"; case EBADF: return "EBADF";
    case ESPIPE: return "ESPIPE"; case ENOTTY: return "ENOTTY"; case EINVAL: return "EINVAL";
    case EAGAIN: return "EAGAIN"; case EPIPE: return "EPIPE"; case EACCES: return "EACCES";
    case ELOOP: return "ELOOP"; case EXDEV: return "EXDEV";
    }
    return "other";
}
#define SHOW(what, call) do { errno = 0; long r_ = (long)(call); \
    printf("%-28s %ld %s\n", what, r_ < 0 ? -1L : r_, en(r_)); } while (0)

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

int main(void) {
    char buf[256];
    struct stat st;
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    /* lowest free descriptor, O_CREAT | O_EXCL, offsets */
    int fd = open("f", O_CREAT | O_EXCL | O_RDWR, 0666);
    printf("first fd %d\n", fd);
    SHOW("open excl again", open("f", O_CREAT | O_EXCL | O_RDWR, 0666));
    SHOW("write", write(fd, "hello world\n", 12));
    SHOW("lseek cur", lseek(fd, 0, SEEK_CUR));
    SHOW("lseek set 6", lseek(fd, 6, SEEK_SET));
    SHOW("read", read(fd, buf, 5));
    printf("read bytes %.5s\n", buf);
    SHOW("pread 0", pread(fd, buf, 5, 0));
    printf("pread bytes %.5s\n", buf);
    SHOW("offset after pread", lseek(fd, 0, SEEK_CUR));
    SHOW("pwrite", pwrite(fd, "HELLO", 5, 0));
    SHOW("lseek end", lseek(fd, 0, SEEK_END));
    SHOW("lseek negative", lseek(fd, -100, SEEK_SET));
    SHOW("fstat", fstat(fd, &st));
    printf("size %ld mode %o nlink %ld\n", (long)st.st_size, st.st_mode, (long)st.st_nlink);
    /* dup shares the offset; close-on-exec is per descriptor */
    int d = dup(fd);
    printf("dup %d\n", d);
    lseek(fd, 2, SEEK_SET);
    SHOW("dup sees offset", lseek(d, 0, SEEK_CUR));
    SHOW("F_DUPFD 10", fcntl(fd, F_DUPFD, 10));
    SHOW("F_DUPFD_CLOEXEC 10", fcntl(fd, F_DUPFD_CLOEXEC, 10));
    SHOW("F_GETFD 11", fcntl(11, F_GETFD));
    SHOW("F_GETFD 10", fcntl(10, F_GETFD));
    SHOW("dup3 same", dup3(fd, fd, 0));
    SHOW("dup3 bad flags", dup3(fd, 20, 1));
    SHOW("dup2 to 20", dup2(fd, 20));
    SHOW("close 20", close(20));
    SHOW("close 20 again", close(20));
    SHOW("close d", close(d));
    printf("lowest again %d\n", dup(fd));
    SHOW("F_GETFL accmode", fcntl(fd, F_GETFL) & O_ACCMODE);
    SHOW("F_SETFL append", fcntl(fd, F_SETFL, O_APPEND));
    SHOW("F_GETFL append", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    lseek(fd, 0, SEEK_SET);
    SHOW("append write", write(fd, "tail\n", 5));
    SHOW("offset at end", lseek(fd, 0, SEEK_CUR));
    SHOW("ioctl TCGETS file", ioctl(fd, TCGETS, buf));
    close(fd);
    /* O_TRUNC, access modes, read-only descriptors */
    fd = open("f", O_RDONLY);
    SHOW("write on O_RDONLY", write(fd, "x", 1));
    close(fd);
    fd = open("f", O_WRONLY | O_TRUNC);
    SHOW("read on O_WRONLY", read(fd, buf, 1));
    SHOW("stat after trunc", stat("f", &st));
    printf("size %ld\n", (long)st.st_size);
    SHOW("ftruncate 100", ftruncate(fd, 100));
    stat("f", &st);
    printf("size %ld blocks-nonneg %d\n", (long)st.st_size, st.st_blocks >= 0);
    close(fd);
    /* umask, directories, names */
    umask(027);
    SHOW("mkdir", mkdir("dir", 0777));
    stat("dir", &st);
    printf("dir mode %o nlink %ld\n", st.st_mode, (long)st.st_nlink);
    SHOW("open dir for write", open("dir", O_WRONLY));
    SHOW("O_DIRECTORY on file", open("f", O_RDONLY | O_DIRECTORY));
    SHOW("file as dir", open("f/x", O_RDONLY));
    SHOW("missing", open("nope", O_RDONLY));
    SHOW("symlink", symlink("f", "dir/ln"));
    SHOW("readlink", readlink("dir/ln", buf, sizeof buf));
    SHOW("O_NOFOLLOW on link", open("dir/ln", O_RDONLY | O_NOFOLLOW));
    SHOW("lstat link", lstat("dir/ln", &st));
    printf("link is link %d size %ld\n", S_ISLNK(st.st_mode), (long)st.st_size);
    SHOW("link", link("f", "dir/hard"));
    stat("f", &st);
    printf("nlink %ld\n", (long)st.st_nlink);
    SHOW("rename", rename("dir/hard", "dir/moved"));
    SHOW("rename over dir", rename("f", "dir"));
    SHOW("rmdir nonempty", rmdir("dir"));
    SHOW("unlink dir", unlink("dir"));
    SHOW("access R", access("f", R_OK));
    SHOW("access bad mode", access("f", 0100));
    SHOW("chmod 0", chmod("dir/moved", 0));
    stat("dir/moved", &st);
    printf("mode %o\n", st.st_mode);
    for (int i = 0; i < 5; i++) { char n[32]; sprintf(n, "dir/e%d", i); close(open(n, O_CREAT | O_WRONLY, 0600)); }
    DIR *dp = opendir("dir");
    char *names[32];
    int nn = 0;
    for (struct dirent *de; (de = readdir(dp)) && nn < 32;)
        names[nn++] = strdup(de->d_name);
    closedir(dp);
    qsort(names, nn, sizeof *names, cmp);
    printf("entries:");
    for (int i = 0; i < nn; i++) printf(" %s", names[i]);
    printf("\n");
    int dfd = open("dir", O_RDONLY | O_DIRECTORY);
    SHOW("openat in dir", openat(dfd, "e1", O_RDONLY));
    SHOW("fstatat in dir", fstatat(dfd, "e2", &st, 0));
    SHOW("unlinkat in dir", unlinkat(dfd, "e2", 0));
    SHOW("mkdirat in dir", mkdirat(dfd, "sub", 0700));
    SHOW("fchdir", fchdir(dfd));
    SHOW("getcwd", getcwd(buf, sizeof buf) != NULL);
    printf("cwd ends with /dir %d\n", strlen(buf) >= 4 && !strcmp(buf + strlen(buf) - 4, "/dir"));
    SHOW("stat e3 relative", stat("e3", &st));
    SHOW("chdir ..", chdir(".."));
    SHOW("fchdir on file", fchdir(open("f", O_RDONLY)));
    /* utimensat with explicit times */
    struct timespec ts[2] = { { 1000000000, 5 }, { 1234567890, 123456789 } };
    SHOW("utimensat", utimensat(AT_FDCWD, "f", ts, 0));
    stat("f", &st);
    printf("mtime %ld.%09ld atime %ld.%09ld\n", (long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
           (long)st.st_atim.tv_sec, st.st_atim.tv_nsec);
    /* attributes through descriptors, vectors, sendfile, statx */
    int g = open("f", O_RDWR);
    SHOW("fchmod", fchmod(g, 0604));
    SHOW("futimens", futimens(g, ts));
    SHOW("fchown keep", fchown(g, -1, -1));
    fstat(g, &st);
    printf("mode %o mtime %ld\n", st.st_mode, (long)st.st_mtim.tv_sec);
    struct iovec iv[2] = { { "ab", 2 }, { "cdef", 4 } };
    SHOW("pwritev", pwritev(g, iv, 2, 1));
    char v1[3] = { 0 }, v2[4] = { 0 };
    struct iovec ov[2] = { { v1, 2 }, { v2, 3 } };
    SHOW("preadv", preadv(g, ov, 2, 0));
    printf("preadv %s %s\n", v1, v2);
    SHOW("lseek after preadv", lseek(g, 0, SEEK_CUR));
    int h = open("copy", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    off_t so = 1;
    SHOW("sendfile", sendfile(h, g, &so, 5));
    printf("sendfile offset %ld\n", (long)so);
    SHOW("sendfile own offset", sendfile(h, g, NULL, 3));
    SHOW("offset after sendfile", lseek(g, 0, SEEK_CUR));
    SHOW("stat copy", stat("copy", &st));
    printf("copy size %ld\n", (long)st.st_size);
    close(h);
    h = open("f", O_WRONLY | O_APPEND);
    SHOW("pwrite with O_APPEND", pwrite(h, "Z", 1, 0));
    SHOW("size after", lseek(g, 0, SEEK_END));
    close(h);
    struct statx sx;
    SHOW("statx", statx(AT_FDCWD, "f", 0, STATX_BASIC_STATS, &sx));
    printf("statx mask %x size %llu mode %o nlink %u\n", sx.stx_mask & 0x7ff,
           (unsigned long long)sx.stx_size, sx.stx_mode, sx.stx_nlink);
    SHOW("statx empty path", statx(g, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
    printf("statx size %llu\n", (unsigned long long)sx.stx_size);
    SHOW("umask returns old", umask(022));
    close(g);
    /* pipes */
    int p[2];
    SHOW("pipe2 bad flags", pipe2(p, 1));
    SHOW("pipe", pipe(p));
    fstat(p[0], &st);
    printf("fifo %d\n", S_ISFIFO(st.st_mode));
    SHOW("lseek pipe", lseek(p[0], 0, SEEK_SET));
    SHOW("write pipe", write(p[1], "abcdef", 6));
    SHOW("read pipe 4", read(p[0], buf, 4));
    struct pollfd pf[2] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 } };
    SHOW("poll", poll(pf, 2, 0));
    printf("revents %x %x\n", pf[0].revents, pf[1].revents);
    SHOW("read pipe rest", read(p[0], buf, 100));
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    SHOW("read empty nonblock", read(p[0], buf, 100));
    pf[0].revents = 0;
    SHOW("poll empty", poll(pf, 1, 0));
    fd_set rs; FD_ZERO(&rs); FD_SET(p[0], &rs);
    struct timeval tv = { 0, 0 };
    SHOW("select empty", select(p[0] + 1, &rs, NULL, NULL, &tv));
    SHOW("poll 5 ms, nothing", poll(pf, 1, 5));
    FD_ZERO(&rs); FD_SET(p[0], &rs);
    tv.tv_usec = 3000;
    SHOW("select 3 ms, nothing", select(p[0] + 1, &rs, NULL, NULL, &tv));
    printf("left %ld.%06ld set %d\n", (long)tv.tv_sec, (long)tv.tv_usec, FD_ISSET(p[0], &rs));
    SHOW("F_GETPIPE_SZ", fcntl(p[0], F_GETPIPE_SZ));
    int fill = 0;
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    for (long r; (r = write(p[1], buf, sizeof buf)) > 0;) fill += (int)r;
    printf("pipe holds %d then %s\n", fill, en(-1));
    close(p[1]);
    long got = 0;
    for (long r; (r = read(p[0], buf, sizeof buf)) > 0;) got += r;
    printf("drained %ld\n", got);
    SHOW("read at EOF", read(p[0], buf, 10));
    pf[0].revents = 0;
    SHOW("poll EOF", poll(pf, 1, 0));
    printf("revents %x\n", pf[0].revents);
    SHOW("pipe again", pipe(p));
    close(p[0]);
    SHOW("write no readers", write(p[1], "x", 1));
    SHOW("close bad", close(999));
    SHOW("read bad", read(-1, buf, 1));
    return 0;
}
