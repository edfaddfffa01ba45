/* wait(2), NOTES: "if the disposition of SIGCHLD is set to SIG_IGN or the
 * SA_NOCLDWAIT flag is set for SIGCHLD, then children that terminate do
 * not become zombies and a call to wait() or waitpid() will block until
 * all children have terminated, and then fail with errno set to ECHILD".
 * Setting SIGCHLD back to SIG_DFL makes zombies again.  (SA_NOCLDWAIT is
 * the same rule, but qemu-user does not pass it to the host, so this
 * program, compared with qemu, leaves it out.) */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void child(int ms, int code) {
    if (fork() == 0) {
        struct timespec ts = { 0, ms * 1000000L };
        nanosleep(&ts, NULL);
        _exit(code);
    }
}

int main(void) {
    signal(SIGCHLD, SIG_IGN);
    child(0, 3);
    child(20, 4);
    errno = 0;
    int r = wait(NULL);
    printf("SIG_IGN: wait %d ECHILD %d\n", r, errno == ECHILD);

    signal(SIGCHLD, SIG_DFL);
    child(0, 6);
    int st = 0;
    r = wait(&st);
    printf("SIG_DFL: waited for a child %d status %d\n", r > 0, WEXITSTATUS(st));
    return 0;
}
