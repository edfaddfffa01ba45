/* The smallest program: one write, exit code 0. */
#include "freestanding.h"

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    put_str("hello from a freestanding RISC-V program\n");
    return 0;
}
