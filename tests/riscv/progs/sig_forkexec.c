/* What fork(2) and execve(2) do to signal state (signal(7), "Signal
 * dispositions": "A child created via fork(2) inherits a copy of its
 * parent's signal dispositions.  During an execve(2), the dispositions of
 * handled signals are reset to the default; the dispositions of ignored
 * signals are left unchanged"; "Signal mask and pending signals": "A child
 * created via fork(2) inherits a copy of its parent's signal mask; the
 * signal mask is preserved across execve(2)"; fork(2): "The child's set
 * of pending signals is initially empty").
 *
 * The state is a number: 1 SIGUSR1 has the handler, 2 SIGUSR1 is SIG_DFL,
 * 4 SIGUSR2 is SIG_IGN, 8 SIGINT is blocked, 16 SIGTERM is pending.  The
 * parent prints its own and the child's (its exit status).  With the
 * argument "exec" the child first re-executes the program through
 * /proc/self/exe with the argument "report", which exits with its state
 * (qemu-user cannot execve a RISC-V program, so only pykernel runs that). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int s) { (void)s; }

static int state(void) {
    struct sigaction a1, a2;
    sigset_t mask, pend;
    sigaction(SIGUSR1, NULL, &a1);
    sigaction(SIGUSR2, NULL, &a2);
    sigprocmask(SIG_BLOCK, NULL, &mask);
    sigpending(&pend);
    return (a1.sa_handler == on_usr1) | (a1.sa_handler == SIG_DFL) << 1
           | (a2.sa_handler == SIG_IGN) << 2 | sigismember(&mask, SIGINT) << 3
           | sigismember(&pend, SIGTERM) << 4;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "report") == 0) return state();
    signal(SIGUSR1, on_usr1);
    signal(SIGUSR2, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
    raise(SIGTERM);                                  /* pending in the parent only */
    printf("parent %d\n", state());
    fflush(stdout);
    pid_t c = fork();
    if (c == 0) {
        if (argc > 1 && strcmp(argv[1], "exec") == 0) {
            char *args[] = { argv[0], "report", NULL };
            execv("/proc/self/exe", args);
            _exit(127);
        }
        _exit(state());
    }
    int st;
    waitpid(c, &st, 0);
    printf("child %d\n", WEXITSTATUS(st));
    return 0;
}
