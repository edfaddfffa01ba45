/* SIGCHLD and signals during wait4 (wait4(2), sigaction(2) SA_RESTART,
 * signal(7) "Interruption of system calls").  argv[1]:
 *   (none)   no children: wait4 fails with ECHILD (the same under qemu)
 *   chld     a SIGCHLD handler; wait4 reaps the child, then the handler
 *            reports what the signal carried
 *   intr     a SIGUSR1 handler without SA_RESTART: the first wait4 fails
 *            with EINTR when SIGUSR1 comes, a second one reaps the child
 *   restart  the same with SA_RESTART: the one wait4 reaps the child
 *   hold     a SIGUSR1 handler (SA_RESTART, sa_mask SIGUSR2), SIGPIPE
 *            ignored, SIGUSR2 blocked; then sigsuspend until SIGUSR1 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int chld, chld_code, chld_pid, chld_status, usr1;

static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    chld += sig == SIGCHLD;
    chld_code = si->si_code;
    chld_pid = si->si_pid;
    chld_status = si->si_status;
}

static void on_usr1(int sig) { usr1 += sig == SIGUSR1; }

int main(int argc, char **argv)
{
    int st = 0;
    if (argc < 2) {
        int r = wait4(-1, &st, 0, NULL);
        printf("wait4 %d errno %d\n", r, errno);
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (!strcmp(argv[1], "chld")) {
        sa.sa_sigaction = on_chld;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGCHLD, &sa, NULL);
        int r = wait4(-1, &st, 0, NULL);
        printf("wait4 %d exited %d code %d\n", r, WIFEXITED(st), WEXITSTATUS(st));
        printf("SIGCHLD %d si_code %d si_pid_is_child %d si_status %d\n", chld, chld_code,
               chld_pid == r, chld_status);
        return 0;
    }
    if (!strcmp(argv[1], "hold")) {
        sa.sa_handler = on_usr1;
        sa.sa_flags = SA_RESTART;
        sigaddset(&sa.sa_mask, SIGUSR2);
        sigaction(SIGUSR1, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        sigset_t m;
        sigemptyset(&m);
        sigaddset(&m, SIGUSR2);
        sigprocmask(SIG_BLOCK, &m, NULL);
        while (!usr1) {
            int r = sigsuspend(&m);
            printf("sigsuspend %d %s\n", r, errno == EINTR ? "EINTR" : "-");
        }
        return 0;
    }
    sa.sa_handler = on_usr1;
    sa.sa_flags = strcmp(argv[1], "restart") ? 0 : SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    int r = wait4(-1, &st, 0, NULL);
    printf("wait4 %d errno %s usr1 %d\n", r, r < 0 && errno == EINTR ? "EINTR" : "-", usr1);
    if (r < 0) {
        r = wait4(-1, &st, 0, NULL);
        printf("wait4 again %s\n", r > 0 ? "reaped" : "failed");
    }
    printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
}
