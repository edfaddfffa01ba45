/* Sorting 20000 pseudo-random integers with qsort and with a hand-written
 * merge sort; prints checksums of both results and whether they agree. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 20000 };
static int64_t a[N], b[N], tmp[N];

static int cmp(const void *x, const void *y)
{
    int64_t p = *(const int64_t *)x, q = *(const int64_t *)y;
    return (p > q) - (p < q);
}

static void merge_sort(int64_t *v, int lo, int hi)
{
    if (hi - lo < 2)
        return;
    int mid = lo + (hi - lo) / 2;
    merge_sort(v, lo, mid);
    merge_sort(v, mid, hi);
    int i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        tmp[k++] = v[i] <= v[j] ? v[i++] : v[j++];
    while (i < mid)
        tmp[k++] = v[i++];
    while (j < hi)
        tmp[k++] = v[j++];
    memcpy(v + lo, tmp + lo, (size_t)(hi - lo) * sizeof *v);
}

static uint64_t checksum(const int64_t *v)
{
    uint64_t h = 14695981039346656037ULL;
    for (int i = 0; i < N; i++)
        h = (h ^ (uint64_t)v[i]) * 1099511628211ULL;
    return h;
}

int main(void)
{
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a[i] = b[i] = (int64_t)(x % 2000001) - 1000000;
    }
    printf("input checksum %016llx\n", (unsigned long long)checksum(a));
    qsort(a, N, sizeof a[0], cmp);
    merge_sort(b, 0, N);
    int sorted = 1;
    for (int i = 1; i < N; i++)
        sorted &= a[i - 1] <= a[i];
    printf("qsort checksum %016llx sorted %d\n", (unsigned long long)checksum(a), sorted);
    printf("merge checksum %016llx equal %d\n", (unsigned long long)checksum(b),
           memcmp(a, b, sizeof a) == 0);
    printf("min %lld median %lld max %lld\n", (long long)a[0], (long long)a[N / 2],
           (long long)a[N - 1]);
    return 0;
}
