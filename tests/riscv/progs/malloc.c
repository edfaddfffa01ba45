/* malloc, realloc and free: many small blocks (brk heap), large blocks
 * above the mmap threshold, growth by realloc with content kept, and a
 * second round after freeing. Prints checksums of what it read back. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fill_sum(unsigned char *p, size_t n, unsigned seed)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 131 + seed);
    for (size_t i = 0; i < n; i++)
        s = s * 1099511628211ULL + p[i];
    return s;
}

int main(void)
{
    enum { N = 500 };
    static unsigned char *blocks[N];
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 37 % 1000);
        blocks[i] = malloc(n);
        if (!blocks[i])
            return 1;
        sum += fill_sum(blocks[i], n, (unsigned)i);
    }
    printf("small blocks: %d, checksum %016llx\n", N, (unsigned long long)sum);
    for (int i = 0; i < N; i += 2)
        free(blocks[i]);
    int distinct = 1;
    for (int i = 1; i < N; i += 2)
        for (int j = i + 2; j < N && j < i + 20; j += 2)
            distinct &= blocks[i] != blocks[j];
    printf("odd blocks distinct: %d\n", distinct);

    size_t big = 8u << 20;                      /* mmap-backed */
    unsigned char *b = malloc(big);
    if (!b)
        return 2;
    printf("big block: %zu bytes, checksum %016llx\n", big,
           (unsigned long long)fill_sum(b, big, 7));
    unsigned char *z = calloc(1 << 20, 1);
    size_t zeros = 0;
    for (size_t i = 0; i < (1u << 20); i++)
        zeros += z[i] == 0;
    printf("calloc zeros: %zu\n", zeros);

    char *s = malloc(16);
    strcpy(s, "grow me");
    size_t len = 7;
    int preserved = 1;
    for (size_t n = 32; n <= (4u << 20); n *= 4) {
        s = realloc(s, n);
        if (!s)
            return 3;
        preserved &= strlen(s) == len;           /* realloc kept the old contents */
        memset(s + len, 'x', n - 1 - len);
        s[n - 1] = 0;
        len = n - 1;
    }
    printf("realloc kept: %.7s, length %zu, preserved %d\n", s, strlen(s), preserved);
    free(s);
    free(b);
    free(z);
    for (int i = 1; i < N; i += 2)
        free(blocks[i]);

    uint64_t again = 0;
    for (int i = 0; i < N; i++) {
        size_t n = 1 + (size_t)(i * 37 % 1000);
        blocks[i] = malloc(n);
        again += fill_sum(blocks[i], n, (unsigned)i);
    }
    printf("second round equal: %d\n", again == sum);
    return 0;
}
