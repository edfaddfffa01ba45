// cflags: -pthread
/* Process creation through glibc: fork(2), vfork(2), execve(2) and
 * waitpid(2).  Everything is printed by the first process (a child's
 * own output would interleave differently under another kernel); a child
 * reports through its exit status.  argv[1] picks what it does:
 *   cow            the child writes a global and a heap byte and exits
 *                  with what it read back; the parent prints its own copy
 *   status N       a child exits with N; the parent prints WEXITSTATUS
 *   exec PATH ...  a forked child execve's PATH with argv PATH ...;
 *                  the parent prints the child's wait status
 *   vexec PATH ... the same with vfork
 *   spawn PATH ... the same with posix_spawn (the parent prints its result)
 *   errno PATH     execve(PATH) in the process itself: prints the errno
 *   big PATH       the same with a 300 KiB environment string
 *   noargv PATH    execve(PATH, NULL, NULL)
 *   bomb           forks children that sleep 1 s until fork fails; prints
 *                  how many were made and the errno, then reaps them all
 *   self           the child exits 3 if getpid() and getppid() are two
 *                  different positive pids (4 otherwise)
 *   threxec PATH   starts a thread that spins forever, then execve's PATH
 *                  (argv: PATH): the spinning thread must end */
#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int global = 1;
static volatile int spin = 1;

static void *spinner(void *arg)
{
    while (spin)
        ;
    return arg;
}

static void report(const char *what, int st)
{
    if (WIFEXITED(st))
        printf("%s exited %d\n", what, WEXITSTATUS(st));
    else
        printf("%s killed %d\n", what, WTERMSIG(st));
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2)
        return 2;
    if (!strcmp(argv[1], "cow")) {
        char *heap = malloc(64);
        heap[0] = 'p';
        pid_t c = fork();
        if (c == 0) {
            global = 42;
            heap[0] = 'c';
            _exit(global + (heap[0] == 'c'));
        }
        int st;
        pid_t w = waitpid(c, &st, 0);
        printf("waited for the child: %d\n", w == c);
        report("child", st);
        printf("parent global %d heap %c\n", global, heap[0]);
        return 0;
    }
    if (!strcmp(argv[1], "status") && argc > 2) {
        pid_t c = fork();
        if (c == 0)
            _exit(atoi(argv[2]));
        int st;
        waitpid(c, &st, 0);
        report("child", st);
        return 0;
    }
    if ((!strcmp(argv[1], "exec") || !strcmp(argv[1], "vexec")) && argc > 2) {
        char *env[] = { "FROM=forkexec", NULL };
        pid_t c = argv[1][0] == 'v' ? vfork() : fork();
        if (c == 0) {
            execve(argv[2], argv + 2, env);
            _exit(100 + errno);
        }
        int st;
        waitpid(c, &st, 0);
        report("child", st);
        return 0;
    }
    if (!strcmp(argv[1], "spawn") && argc > 2) {
        char *env[] = { "FROM=forkexec", NULL };
        pid_t c;
        int r = posix_spawn(&c, argv[2], NULL, NULL, argv + 2, env);
        printf("posix_spawn %d\n", r);
        int st;
        waitpid(c, &st, 0);
        report("child", st);
        return 0;
    }
    if (!strcmp(argv[1], "big") && argc > 2) {
        size_t n = 300 << 10;
        char *s = malloc(n + 1);
        memset(s, 'x', n);
        s[0] = 'B', s[1] = '=', s[n] = 0;
        char *args[] = { argv[2], NULL }, *env[] = { s, NULL };
        execve(argv[2], args, env);
        printf("execve %s: errno %d\n", argv[2], errno);
        return 0;
    }
    if (!strcmp(argv[1], "noargv") && argc > 2) {
        execve(argv[2], NULL, NULL);
        printf("execve %s: errno %d\n", argv[2], errno);
        return 0;
    }
    if (!strcmp(argv[1], "errno") && argc > 2) {
        char *args[] = { argv[2], NULL };
        execve(argv[2], args, NULL);
        printf("execve %s: errno %d\n", argv[2], errno);
        return 0;
    }
    if (!strcmp(argv[1], "bomb")) {
        int made = 0;
        for (;;) {
            pid_t c = fork();
            if (c == 0) {
                struct timespec ts = { 1, 0 };
                nanosleep(&ts, NULL);
                _exit(0);
            }
            if (c < 0)
                break;
            made++;
        }
        int e = errno;
        int reaped = 0;
        while (wait(NULL) > 0)
            reaped++;
        printf("made %d, then errno %d; reaped %d\n", made, e, reaped);
        return 0;
    }
    if (!strcmp(argv[1], "self")) {
        pid_t c = fork();
        if (c == 0)
            _exit(getppid() > 0 && getpid() != getppid() ? 3 : 4);
        int st;
        waitpid(c, &st, 0);
        report("child", st);
        return 0;
    }
    if (!strcmp(argv[1], "threxec") && argc > 2) {
        pthread_t th;
        pthread_create(&th, NULL, spinner, NULL);
        char *args[] = { argv[2], NULL };
        execve(argv[2], args, NULL);
        printf("execve %s: errno %d\n", argv[2], errno);
        return 1;
    }
    return 2;
}
