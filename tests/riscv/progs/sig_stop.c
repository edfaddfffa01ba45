/* Stopped and continued children seen by their parent (wait4(2) with
 * WUNTRACED and WCONTINUED, sigaction(2) SA_NOCLDSTOP, waitid(2)).  argv[1]:
 *   (none)  no children: WUNTRACED | WCONTINUED waits fail with ECHILD
 *   parent  print each wait4 status of its child until it ends, and the
 *           si_code of each SIGCHLD (with SA_NOCLDSTOP when argv[2] is
 *           "nocldstop": then only the end sends one)
 *   waitid  waitid(WSTOPPED | WNOWAIT) twice, then (WSTOPPED) once
 *   spin    count forever */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int codes[16], ncodes;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    if (ncodes < 16)
        codes[ncodes++] = si->si_code;
}

int main(int argc, char **argv)
{
    int st = 0;
    if (argc < 2) {
        printf("wait4 %d errno %d\n", wait4(-1, &st, WUNTRACED | WCONTINUED, NULL), errno);
        return 0;
    }
    if (!strcmp(argv[1], "spin"))
        for (volatile unsigned long n = 0;; n++)
            ;
    if (!strcmp(argv[1], "waitid")) {
        siginfo_t si;
        for (int i = 0; i < 3; i++) {
            memset(&si, 0, sizeof si);
            int r = waitid(P_ALL, 0, &si, WSTOPPED | (i < 2 ? WNOWAIT : 0));
            printf("waitid %d code %d status %d\n", r, si.si_code, si.si_status);
        }
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART | (argc > 2 && !strcmp(argv[2], "nocldstop") ? SA_NOCLDSTOP : 0);
    sigaction(SIGCHLD, &sa, NULL);
    for (;;) {
        int r = wait4(-1, &st, WUNTRACED | WCONTINUED, NULL);
        if (r < 0)
            break;
        if (WIFSTOPPED(st))
            printf("stopped by %d\n", WSTOPSIG(st));
        else if (WIFCONTINUED(st))
            printf("continued\n");
        else if (WIFSIGNALED(st))
            printf("killed by %d\n", WTERMSIG(st));
        else
            printf("exited %d\n", WEXITSTATUS(st));
    }
    printf("SIGCHLD codes:");
    for (int i = 0; i < ncodes; i++)
        printf(" %d", codes[i]);
    printf("\n");
    return 0;
}
