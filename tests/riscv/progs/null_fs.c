/* Writes a line, then stores through a NULL pointer: the process is
 * killed by SIGSEGV and never reaches the exit call. */
#include "freestanding.h"

int main(int argc, char **argv)
{
    (void)argv;
    put_str("before the NULL store\n");
    volatile int *p = (volatile int *)(long)(argc - 1);   /* 0 when run without arguments */
    *p = 42;
    put_str("after the NULL store\n");
    return 0;
}
