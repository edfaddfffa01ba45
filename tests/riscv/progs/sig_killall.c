/* kill(2) with pid -1: "sig is sent to every process for which the
 * calling process has permission to send signals, except for process 1
 * (init)" (and, as kernel/signal.c's kill_something_info, not to the
 * caller); ESRCH when there is none.  Only with the argument "all": on a
 * host (under qemu) it would signal every process of the user, so the
 * test under qemu runs it without arguments, doing nothing. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "all") != 0) return 0;
    errno = 0;
    int r = kill(-1, 0);
    printf("alone: kill(-1, 0) %d ESRCH %d\n", r, errno == ESRCH);
    for (int i = 0; i < 2; i++)
        if (fork() == 0) {
            for (;;) pause();
        }
    r = kill(-1, SIGUSR1);
    int killed = 0, st;
    while (wait(&st) > 0)
        killed += WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1;
    printf("kill(-1, SIGUSR1) %d, children killed by it %d, the caller still here\n", r, killed);
    return 0;
}
