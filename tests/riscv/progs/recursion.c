/* Deep recursion: a non-inlined function recursing 100000 levels with a
 * local array in every frame (several megabytes of stack), plus the
 * Ackermann function and a recursive Fibonacci. */
#include <stdio.h>

static volatile int depth_in = 100000;

__attribute__((noinline)) static long deep(int n, long acc)
{
    volatile char pad[48];
    pad[n % 48] = (char)n;
    if (n == 0)
        return acc;
    long r = deep(n - 1, acc + n) + pad[n % 48] - (char)n;
    return r;
}

__attribute__((noinline)) static long ack(long m, long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

__attribute__((noinline)) static long fib(int n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(void)
{
    printf("deep(%d)=%ld\n", depth_in, deep(depth_in, 0));
    printf("ack(2,3)=%ld ack(3,5)=%ld\n", ack(2, 3), ack(3, 5));
    printf("fib(24)=%ld\n", fib(24));
    return (int)(fib(10) % 256);
}
