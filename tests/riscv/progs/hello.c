/* Static glibc: printf to a pipe (fully buffered, flushed at exit) and
 * a line on standard error (unbuffered). */
#include <stdio.h>

int main(void)
{
    printf("hello, world\n");
    fprintf(stderr, "hello, standard error\n");
    printf("%d %s %c %ld\n", 42, "str", 'c', -1234567890123L);
    return 3;
}
