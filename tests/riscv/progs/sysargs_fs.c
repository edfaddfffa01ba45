/* Makes the system calls its standard input lists, 56 bytes each: the
 * number and six arguments.  An argument whose top byte is 0xb0 is an
 * address in the program's own 64 KiB area (the low 16 bits are the
 * offset), which starts with a few NUL-terminated paths; anything else
 * is passed as it is.  Results are ignored: a driver for feeding the
 * descriptor and file calls odd arguments (tests/riscv/test_fd_properties.py). */
#include "freestanding.h"

static char area[65536 + 64] = "f\0/tmp\0d/x\0/dev/tty\0..\0/\0";
static unsigned long in[4096 * 7];

static unsigned long arg(unsigned long v) {
    return v >> 56 == 0xb0 ? (unsigned long)(area + (v & 0xffff)) : v;
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned long n = 0;
    for (long r; n < sizeof in && (r = sys_read(0, (char *)in + n, sizeof in - n)) > 0;)
        n += (unsigned long)r;
    for (unsigned long i = 0; i + 7 <= n / 8; i += 7)
        sys_call6((long)in[i], (long)arg(in[i + 1]), (long)arg(in[i + 2]), (long)arg(in[i + 3]),
                  (long)arg(in[i + 4]), (long)arg(in[i + 5]), (long)arg(in[i + 6]));
    return 0;
}
