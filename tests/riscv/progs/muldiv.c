/* Multiplication and division with static glibc: the C operators on
 * defined inputs (truncating division, remainder with the sign of the
 * dividend, unsigned wrap-around, 128-bit products) and the RISC-V
 * results for the inputs C leaves undefined, via inline assembly
 * (unprivileged spec, chapter 7, table 7.1). */
#include <inttypes.h>
#include <stdio.h>

static volatile int64_t in[] = {7, -7, 2, -2, INT64_MAX, INT64_MIN, 1000000007, -3};

static int64_t rv_div(int64_t a, int64_t b)
{
    int64_t r;
    __asm__ volatile("div %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static int64_t rv_rem(int64_t a, int64_t b)
{
    int64_t r;
    __asm__ volatile("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static int64_t rv_divw(int64_t a, int64_t b)
{
    int64_t r;
    __asm__ volatile("divw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static int64_t rv_remuw(int64_t a, int64_t b)
{
    int64_t r;
    __asm__ volatile("remuw %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

int main(void)
{
    int n = sizeof in / sizeof in[0];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            printf("%" PRId64 " / %" PRId64 " = %" PRId64 " rem %" PRId64 "\n",
                   in[i], in[j], in[i] / in[j], in[i] % in[j]);
    unsigned __int128 p = (unsigned __int128)(uint64_t)in[4] * (uint64_t)in[6];
    __int128 q = (__int128)in[5] * in[7];
    printf("u128 hi=%016" PRIx64 " lo=%016" PRIx64 "\n", (uint64_t)(p >> 64), (uint64_t)p);
    printf("s128 hi=%016" PRIx64 " lo=%016" PRIx64 "\n", (uint64_t)((unsigned __int128)q >> 64),
           (uint64_t)q);
    printf("u64 wrap=%" PRIu64 "\n", (uint64_t)in[4] * 3u);
    printf("u32 mul=%" PRIu32 " s32 div=%" PRId32 "\n", (uint32_t)in[6] * (uint32_t)in[6],
           (int32_t)in[6] / (int32_t)in[7]);
    printf("INT64_MIN/-1=%" PRId64 " rem=%" PRId64 "\n", rv_div(in[5], -1), rv_rem(in[5], -1));
    printf("x/0=%" PRId64 " x%%0=%" PRId64 "\n", rv_div(in[6], 0), rv_rem(in[6], 0));
    printf("divw INT32_MIN/-1=%" PRId64 " remuw x%%0=%" PRId64 "\n",
           rv_divw(INT32_MIN, -1), rv_remuw((int64_t)0xffffffff80000001LL, 0));
    int64_t acc = 1;
    for (int i = 0; i < n; i++)
        acc = acc * 6364136223846793005LL % 1000000007 + in[i];
    printf("acc=%" PRId64 "\n", acc);
    return (int)(acc & 0x3f);
}
