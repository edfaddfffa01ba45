/* riscv_compute.c - the compute-heavy RISC-V program of bench/test_riscv.py:
 * a sieve of Eratosthenes, an integer matrix product and an FNV-1a hash
 * loop, scaled by argv[1] (default 1).  Static glibc; its output is a
 * checksum, so that every configuration can be checked to compute the
 * same thing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 96 };
static int64_t a[N][N], b[N][N], c[N][N];

int main(int argc, char **argv) {
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    int n = 400000 * scale, primes = 0;
    char *composite = calloc((size_t)n + 1, 1);
    for (int i = 2; i <= n; i++) {
        if (composite[i]) continue;
        primes++;
        for (int64_t j = (int64_t)i * i; j <= n; j += i) composite[j] = 1;
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) { a[i][j] = i + j; b[i][j] = i - j; }
    for (int r = 0; r < scale; r++)
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                int64_t acc = 0;
                for (int k = 0; k < N; k++) acc += a[i][k] * b[k][j];
                c[i][j] = acc + r;
            }
    uint64_t h = 1469598103934665603ull;
    for (int r = 0; r < 40 * scale; r++)
        for (int i = 0; i < 100000; i++) { h ^= (uint64_t)(i + r); h *= 1099511628211ull; }
    printf("%d %lld %llx\n", primes, (long long)c[N - 1][N - 2], (unsigned long long)h);
    return 0;
}
