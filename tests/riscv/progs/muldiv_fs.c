/* M extension edge cases, executed as the instructions themselves (inline
 * assembly), because in C some of them (INT64_MIN / -1, x / 0) are
 * undefined. RISC-V unprivileged spec, chapter 7, table 7.1: division by
 * zero gives a quotient of all ones and a remainder equal to the dividend;
 * signed overflow gives the dividend as quotient and 0 as remainder. */
#include "freestanding.h"

#define OP2(name)                                                        \
    static long name##_(long a, long b)                                  \
    {                                                                    \
        long r;                                                          \
        __asm__ volatile(#name " %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); \
        return r;                                                        \
    }
OP2(mul) OP2(mulh) OP2(mulhsu) OP2(mulhu) OP2(div) OP2(divu) OP2(rem) OP2(remu)
OP2(mulw) OP2(divw) OP2(divuw) OP2(remw) OP2(remuw)

static const long vals[] = {
    0, 1, -1, 2, -2, 7, -7, 0x7fffffffffffffffL, (long)0x8000000000000000UL,
    0x7fffffff, (long)0xffffffff80000000UL, 0xffffffffL, 0x123456789abcdefL,
};
#define NV (sizeof vals / sizeof vals[0])

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    unsigned long sum = 0;
    for (unsigned i = 0; i < NV; i++) {
        for (unsigned j = 0; j < NV; j++) {
            long a = vals[i], b = vals[j];
            long r[13] = {mul_(a, b), mulh_(a, b), mulhsu_(a, b), mulhu_(a, b),
                          div_(a, b), divu_(a, b), rem_(a, b), remu_(a, b),
                          mulw_(a, b), divw_(a, b), divuw_(a, b), remw_(a, b),
                          remuw_(a, b)};
            for (int k = 0; k < 13; k++)
                sum = sum * 31 + (unsigned long)r[k];
            if (i % 4 == 0 && j % 4 == 0) {
                put_hex((unsigned long)a);
                put_str(" ");
                put_hex((unsigned long)b);
                for (int k = 0; k < 13; k++) {
                    put_str(" ");
                    put_hex((unsigned long)r[k]);
                }
                put_str("\n");
            }
        }
    }
    put_kv("INT64_MIN/-1", (unsigned long)div_((long)0x8000000000000000UL, -1));
    put_kv("INT64_MIN%-1", (unsigned long)rem_((long)0x8000000000000000UL, -1));
    put_kv("5/0", (unsigned long)div_(5, 0));
    put_kv("5%0", (unsigned long)rem_(5, 0));
    put_kv("5/0u", (unsigned long)divu_(5, 0));
    put_kv("5%0u", (unsigned long)remu_(5, 0));
    put_kv("INT32_MIN/-1w", (unsigned long)divw_(-0x80000000L, -1));
    put_kv("INT32_MIN%-1w", (unsigned long)remw_(-0x80000000L, -1));
    put_kv("checksum", sum);
    return (int)(sum & 0x7f);
}
