// cflags: -march=rv64imafdc_zicsr -mabi=lp64d
/* F/D loads, stores and moves only (no floating-point arithmetic): bit
 * patterns travel through fld/fsd, flw/fsw, fmv.x.d/fmv.d.x,
 * fmv.x.w/fmv.w.x and fsgnj.d (fmv.d), and are printed as hex. */
#include "freestanding.h"

static volatile double dmem[4] = {1.5, -0.0, 1e300, -3.25};
static volatile float fmem[2] = {2.5f, -1.0f};
static volatile double dout[4];
static volatile float fout[2];

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    for (int i = 0; i < 4; i++) {
        double d = dmem[i];                     /* fld */
        unsigned long bits, back;
        double copy, moved;
        __asm__ volatile("fmv.x.d %0, %1" : "=r"(bits) : "f"(d));
        __asm__ volatile("fmv.d.x %0, %1" : "=f"(copy) : "r"(bits ^ (1UL << 63)));
        __asm__ volatile("fmv.d %0, %1" : "=f"(moved) : "f"(copy));
        dout[3 - i] = moved;                    /* fsd */
        __asm__ volatile("fmv.x.d %0, %1" : "=r"(back) : "f"(dout[3 - i]));
        put_kv("d.bits", bits);
        put_kv("d.negated", back);
    }
    for (int i = 0; i < 2; i++) {
        float s = fmem[i];                      /* flw */
        unsigned long bits;
        float t;
        __asm__ volatile("fmv.x.w %0, %1" : "=r"(bits) : "f"(s));
        __asm__ volatile("fmv.w.x %0, %1" : "=f"(t) : "r"(bits | 0x80000000UL));
        fout[i] = t;                            /* fsw */
        put_kv("s.bits", bits);                 /* sign-extended per fmv.x.w */
        unsigned long again;
        __asm__ volatile("fmv.x.w %0, %1" : "=r"(again) : "f"(fout[i]));
        put_kv("s.negated", again);
    }
    return 0;
}
