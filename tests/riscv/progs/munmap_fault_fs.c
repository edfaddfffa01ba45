/* Maps two anonymous pages, unmaps the second and stores into it: the
 * store is a segmentation fault. */
#include "freestanding.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long m = sys_call6(222, 0, 8192, 3, 0x22, -1, 0);   /* mmap RW, private|anonymous */
    volatile char *p = (volatile char *)m;
    p[0] = 1;
    p[4096] = 2;
    sys_call3(215, m + 4096, 4096, 0);                  /* munmap the second page */
    put_str("first page still there: ");
    put_dec(p[0]);
    put_str("\n");
    p[4096] = 3;
    put_str("not reached\n");
    return 0;
}
