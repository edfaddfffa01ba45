/* SIGALRM with its default action (signal(7): terminate): a 10 ms
 * ITIMER_REAL ends a process that spins, with the signal as its status. */
#include <stdio.h>
#include <sys/time.h>

int main(void)
{
    struct itimerval it = { { 0, 0 }, { 0, 10000 } };
    printf("arming a 10 ms timer\n");      /* written before it can fire */
    fflush(stdout);
    if (setitimer(ITIMER_REAL, &it, NULL))
        return 1;
    for (volatile unsigned long n = 0;; n++)
        ;
}
