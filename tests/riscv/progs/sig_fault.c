// cflags: -Wno-array-bounds
/* Faults as signals (sigaction(2), siglongjmp(3), sigaltstack(2)): a
 * SIGSEGV handler sees si_code and si_addr of a read of an unmapped page
 * (SEGV_MAPERR) and of a write to a read-only page (SEGV_ACCERR) and jumps
 * out; a handler on an alternate stack runs there; an illegal instruction
 * raises SIGILL with ILL_ILLOPC at its address.  Last, a handler that
 * itself faults: SIGSEGV is blocked in its own handler, so the second
 * fault takes the default action and the process dies by SIGSEGV. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static sigjmp_buf env;
static volatile int got_sig, got_code;
static void *volatile got_addr;
static volatile uintptr_t handler_sp;

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int local;
    got_sig = sig;
    got_code = si->si_code;
    got_addr = si->si_addr;
    handler_sp = (uintptr_t)&local;
    siglongjmp(env, 1);
}

static void on_fault_again(int sig)
{
    (void)sig;
    printf("handler faults too\n");
    fflush(stdout);
    *(volatile int *)16 = 1;
}

extern char bad_insn[];

int main(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);

    volatile int *p = (volatile int *)0x40;
    if (!sigsetjmp(env, 1))
        (void)*p;
    printf("read: sig=%d code=%d addr=%p\n", got_sig, got_code, got_addr);

    char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!sigsetjmp(env, 1))
        ro[100] = 1;
    printf("write: sig=%d code=%d addr_ok=%d\n", got_sig, got_code, got_addr == ro + 100);

    /* the mask saved by sigsetjmp(env, 1) came back: SIGSEGV is unblocked */
    sigset_t cur;
    sigprocmask(SIG_BLOCK, NULL, &cur);
    printf("unblocked after siglongjmp: %d\n", !sigismember(&cur, SIGSEGV));

    static char alt[16384];
    stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0 };
    printf("sigaltstack %d\n", sigaltstack(&ss, NULL));
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, NULL);
    if (!sigsetjmp(env, 1))
        (void)*p;
    printf("on the alternate stack: %d\n",
           handler_sp > (uintptr_t)alt && handler_sp <= (uintptr_t)alt + sizeof alt);

    if (!sigsetjmp(env, 1))
        __asm__ volatile("bad_insn: .word 0");
    printf("illegal: sig=%d code=%d addr_ok=%d\n", got_sig, got_code, got_addr == (void *)bad_insn);

    struct sigaction again;
    memset(&again, 0, sizeof again);
    again.sa_handler = on_fault_again;
    sigaction(SIGSEGV, &again, NULL);
    fflush(stdout);
    (void)*p;
    printf("not reached\n");
    return 0;
}
