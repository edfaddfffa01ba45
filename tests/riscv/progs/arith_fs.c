/* Integer arithmetic in plain C: gcd, Collatz, Fibonacci modulo a prime,
 * popcount and bit reversal by hand, signed/unsigned comparisons and
 * shifts. The exit code is computed from the results. */
#include "freestanding.h"

static volatile long seed = 27;

static unsigned long gcd(unsigned long a, unsigned long b)
{
    while (b) {
        unsigned long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static long collatz_steps(long n)
{
    long steps = 0;
    while (n != 1) {
        n = (n & 1) ? 3 * n + 1 : n / 2;
        steps++;
    }
    return steps;
}

static unsigned long fib_mod(int n, unsigned long m)
{
    unsigned long a = 0, b = 1;
    for (int i = 0; i < n; i++) {
        unsigned long t = (a + b) % m;
        a = b;
        b = t;
    }
    return a;
}

static int popcount(unsigned long v)
{
    int c = 0;
    while (v) {
        v &= v - 1;
        c++;
    }
    return c;
}

static unsigned long bitrev(unsigned long v)
{
    unsigned long r = 0;
    for (int i = 0; i < 64; i++, v >>= 1)
        r = (r << 1) | (v & 1);
    return r;
}

int main(int argc, char **argv)
{
    (void)argv;
    long s = seed;
    put_str("gcd(1071,462)=");
    put_dec((long)gcd(1071, 462));
    put_str("\ncollatz(27)=");
    put_dec(collatz_steps(s));
    put_str("\nfib(1000) mod 1000000007=");
    put_dec((long)fib_mod(1000, 1000000007UL));
    put_str("\npopcount=");
    put_dec(popcount(0xdeadbeefcafebabeUL ^ (unsigned long)s));
    put_str("\n");
    put_kv("bitrev", bitrev(0x0123456789abcdefUL + (unsigned long)s));
    long neg = -s * 1000003;
    put_str("neg>>3=");
    put_dec(neg >> 3);
    put_str(" (unsigned)neg>>60=");
    put_dec((long)((unsigned long)neg >> 60));
    put_str(" neg<0u:");
    put_dec((unsigned long)neg < 10UL);
    put_str(" neg<0:");
    put_dec(neg < 10);
    put_str("\nint32 wrap=");
    put_dec((long)(int)((unsigned)0x7fffffff + (unsigned)s));
    put_str("\nargc=");
    put_dec(argc);
    put_str("\n");
    return (int)((collatz_steps(s) + gcd(1071, 462)) % 256);
}
