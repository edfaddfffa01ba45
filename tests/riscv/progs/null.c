/* Static glibc: writes a line with write(2) (unbuffered), then loads
 * through a NULL pointer and is killed by SIGSEGV. */
#include <string.h>
#include <unistd.h>

static int *volatile nowhere;

int main(void)
{
    const char *msg = "about to read *NULL\n";
    write(1, msg, strlen(msg));
    return *nowhere;
}
