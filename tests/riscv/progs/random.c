/* getrandom: prints only the lengths returned, and that the bytes are
 * not all zero (the values themselves depend on the generator). */
#include <stdio.h>
#include <sys/random.h>

int main(void)
{
    unsigned char buf[256] = {0};
    ssize_t a = getrandom(buf, 16, 0);
    ssize_t b = getrandom(buf + 16, 240, GRND_NONBLOCK);
    int nonzero = 0;
    for (int i = 0; i < 256; i++)
        nonzero |= buf[i];
    printf("getrandom 16 -> %zd\n", a);
    printf("getrandom 240 -> %zd\n", b);
    printf("not all zero %d\n", nonzero != 0);
    return 0;
}
