/* Maps a page, writes it, makes it read-only with mprotect, reads it,
 * then writes it again: that write is a segmentation fault. */
#include "freestanding.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    long m = sys_call6(222, 0, 4096, 3, 0x22, -1, 0);   /* mmap RW, private|anonymous */
    volatile char *p = (volatile char *)m;
    p[100] = 7;
    put_str("mprotect: ");
    put_dec(sys_call3(226, m, 4096, 1));                /* PROT_READ */
    put_str("\nread back: ");
    put_dec(p[100]);
    put_str("\n");
    p[100] = 8;
    put_str("not reached\n");
    return 0;
}
