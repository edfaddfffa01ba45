// libs: -lm
/* F and D arithmetic in every rounding mode, with the exception flags.
 *
 * Part 1 prints named cases whose results the RISC-V unprivileged ISA
 * (chapter "F", with IEEE 754-2008) fixes: "op mode result fflags".
 * Part 2 runs every F/D instruction that rounds or raises flags over
 * operand pairs drawn from special values (zeros, subnormals, the
 * extremes, infinities, quiet and signalling NaNs, ties) and a
 * deterministic generator, in each static rounding mode (rne, rtz, rdn,
 * rup, rmm in the instruction) and in the dynamic mode (frm set by
 * fesetround, or by fsrm for rmm, which fenv.h has no name for), and
 * prints one FNV-1a hash of (result bits, fflags) per instruction and
 * mode. */
#include <fenv.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint64_t u64;
typedef uint32_t u32;

static double D(u64 b) { double d; memcpy(&d, &b, 8); return d; }
static u64 BD(double d) { u64 b; memcpy(&b, &d, 8); return b; }
static float S(u32 b) { float f; memcpy(&f, &b, 4); return f; }
static u32 BS(float f) { u32 b; memcpy(&b, &f, 4); return b; }

static const char *MODE[6] = { "rne", "rtz", "rdn", "rup", "rmm", "dyn" };

/* one instruction in static mode m (0..4) or dynamic (5); fflags cleared
 * before, read after */
#define ASM_BIN(INS, rm) __asm__ volatile("fsflags zero\n\t" INS " %0, %2, %3, " rm "\n\tfrflags %1" \
                                          : "=&f"(r), "=r"(f) : "f"(a), "f"(b))
#define ASM_UN(INS, rm) __asm__ volatile("fsflags zero\n\t" INS " %0, %2, " rm "\n\tfrflags %1" \
                                         : "=&f"(r), "=r"(f) : "f"(a))
#define ASM_FMA(INS, rm) __asm__ volatile("fsflags zero\n\t" INS " %0, %2, %3, %4, " rm "\n\tfrflags %1" \
                                          : "=&f"(r), "=r"(f) : "f"(a), "f"(b), "f"(c))
#define ASM_TOI(INS, rm) __asm__ volatile("fsflags zero\n\t" INS " %0, %2, " rm "\n\tfrflags %1" \
                                          : "=&r"(r), "=r"(f) : "f"(a))
#define ASM_FROMI(INS, rm) __asm__ volatile("fsflags zero\n\t" INS " %0, %2, " rm "\n\tfrflags %1" \
                                            : "=&f"(r), "=r"(f) : "r"(a))

#define DEF2(NAME, INS, T)                                                     \
    static T NAME(int m, T a, T b, unsigned *fl) {                            \
        T r; unsigned f;                                                       \
        switch (m) {                                                           \
        case 0: ASM_BIN(INS, "rne"); break;                                    \
        case 1: ASM_BIN(INS, "rtz"); break;                                    \
        case 2: ASM_BIN(INS, "rdn"); break;                                    \
        case 3: ASM_BIN(INS, "rup"); break;                                    \
        case 4: ASM_BIN(INS, "rmm"); break;                                    \
        default: ASM_BIN(INS, "dyn"); break;                                   \
        }                                                                      \
        *fl = f; return r;                                                     \
    }
#define DEF1(NAME, INS, T)                                                     \
    static T NAME(int m, T a, unsigned *fl) {                                 \
        T r; unsigned f;                                                       \
        switch (m) {                                                           \
        case 0: ASM_UN(INS, "rne"); break;                                     \
        case 1: ASM_UN(INS, "rtz"); break;                                     \
        case 2: ASM_UN(INS, "rdn"); break;                                     \
        case 3: ASM_UN(INS, "rup"); break;                                     \
        case 4: ASM_UN(INS, "rmm"); break;                                     \
        default: ASM_UN(INS, "dyn"); break;                                    \
        }                                                                      \
        *fl = f; return r;                                                     \
    }
#define DEF3(NAME, INS, T)                                                     \
    static T NAME(int m, T a, T b, T c, unsigned *fl) {                       \
        T r; unsigned f;                                                       \
        switch (m) {                                                           \
        case 0: ASM_FMA(INS, "rne"); break;                                    \
        case 1: ASM_FMA(INS, "rtz"); break;                                    \
        case 2: ASM_FMA(INS, "rdn"); break;                                    \
        case 3: ASM_FMA(INS, "rup"); break;                                    \
        case 4: ASM_FMA(INS, "rmm"); break;                                    \
        default: ASM_FMA(INS, "dyn"); break;                                   \
        }                                                                      \
        *fl = f; return r;                                                     \
    }
#define DEFTOI(NAME, INS, T)                                                   \
    static long NAME(int m, T a, unsigned *fl) {                              \
        long r; unsigned f;                                                    \
        switch (m) {                                                           \
        case 0: ASM_TOI(INS, "rne"); break;                                    \
        case 1: ASM_TOI(INS, "rtz"); break;                                    \
        case 2: ASM_TOI(INS, "rdn"); break;                                    \
        case 3: ASM_TOI(INS, "rup"); break;                                    \
        case 4: ASM_TOI(INS, "rmm"); break;                                    \
        default: ASM_TOI(INS, "dyn"); break;                                   \
        }                                                                      \
        *fl = f; return r;                                                     \
    }
#define DEFFROMI(NAME, INS, T)                                                 \
    static T NAME(int m, long a, unsigned *fl) {                              \
        T r; unsigned f;                                                       \
        switch (m) {                                                           \
        case 0: ASM_FROMI(INS, "rne"); break;                                  \
        case 1: ASM_FROMI(INS, "rtz"); break;                                  \
        case 2: ASM_FROMI(INS, "rdn"); break;                                  \
        case 3: ASM_FROMI(INS, "rup"); break;                                  \
        case 4: ASM_FROMI(INS, "rmm"); break;                                  \
        default: ASM_FROMI(INS, "dyn"); break;                                 \
        }                                                                      \
        *fl = f; return r;                                                     \
    }

DEF2(fadd_d, "fadd.d", double) DEF2(fsub_d, "fsub.d", double)
DEF2(fmul_d, "fmul.d", double) DEF2(fdiv_d, "fdiv.d", double)
DEF2(fadd_s, "fadd.s", float) DEF2(fsub_s, "fsub.s", float)
DEF2(fmul_s, "fmul.s", float) DEF2(fdiv_s, "fdiv.s", float)
DEF1(fsqrt_d, "fsqrt.d", double) DEF1(fsqrt_s, "fsqrt.s", float)
DEF3(fmadd_d, "fmadd.d", double) DEF3(fmsub_d, "fmsub.d", double)
DEF3(fnmadd_d, "fnmadd.d", double) DEF3(fnmsub_d, "fnmsub.d", double)
DEF3(fmadd_s, "fmadd.s", float) DEF3(fmsub_s, "fmsub.s", float)
DEF3(fnmadd_s, "fnmadd.s", float) DEF3(fnmsub_s, "fnmsub.s", float)
DEFTOI(fcvt_w_d, "fcvt.w.d", double) DEFTOI(fcvt_wu_d, "fcvt.wu.d", double)
DEFTOI(fcvt_l_d, "fcvt.l.d", double) DEFTOI(fcvt_lu_d, "fcvt.lu.d", double)
DEFTOI(fcvt_w_s, "fcvt.w.s", float) DEFTOI(fcvt_wu_s, "fcvt.wu.s", float)
DEFTOI(fcvt_l_s, "fcvt.l.s", float) DEFTOI(fcvt_lu_s, "fcvt.lu.s", float)
DEFFROMI(fcvt_d_l, "fcvt.d.l", double) DEFFROMI(fcvt_d_lu, "fcvt.d.lu", double)
DEFFROMI(fcvt_s_l, "fcvt.s.l", float) DEFFROMI(fcvt_s_lu, "fcvt.s.lu", float)
DEFFROMI(fcvt_s_w, "fcvt.s.w", float) DEFFROMI(fcvt_s_wu, "fcvt.s.wu", float)

/* fcvt.s.d reads a double and writes a single: its own wrapper */
static float fcvt_s_d(int m, double a, unsigned *fl) {
    float r; unsigned f;
    switch (m) {
    case 0: ASM_UN("fcvt.s.d", "rne"); break;
    case 1: ASM_UN("fcvt.s.d", "rtz"); break;
    case 2: ASM_UN("fcvt.s.d", "rdn"); break;
    case 3: ASM_UN("fcvt.s.d", "rup"); break;
    case 4: ASM_UN("fcvt.s.d", "rmm"); break;
    default: ASM_UN("fcvt.s.d", "dyn"); break;
    }
    *fl = f; return r;
}

/* instructions without a rounding mode */
#define NORM2(NAME, INS, T, R, C)                                              \
    static R NAME(T a, T b, unsigned *fl) {                                    \
        R r; unsigned f;                                                       \
        __asm__ volatile("fsflags zero\n\t" INS " %0, %2, %3\n\tfrflags %1"    \
                         : "=&" C(r), "=r"(f) : "f"(a), "f"(b));               \
        *fl = f; return r;                                                     \
    }
NORM2(fmin_d, "fmin.d", double, double, "f") NORM2(fmax_d, "fmax.d", double, double, "f")
NORM2(fmin_s, "fmin.s", float, float, "f") NORM2(fmax_s, "fmax.s", float, float, "f")
NORM2(feq_d, "feq.d", double, long, "r") NORM2(flt_d, "flt.d", double, long, "r")
NORM2(fle_d, "fle.d", double, long, "r") NORM2(feq_s, "feq.s", float, long, "r")
NORM2(flt_s, "flt.s", float, long, "r") NORM2(fle_s, "fle.s", float, long, "r")

static double fcvt_d_s(float a, unsigned *fl) {
    double r; unsigned f;
    __asm__ volatile("fsflags zero\n\tfcvt.d.s %0, %2\n\tfrflags %1" : "=&f"(r), "=r"(f) : "f"(a));
    *fl = f; return r;
}

static void set_dynamic(int m) {
    static const int fe[4] = { FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD };
    if (m < 4) fesetround(fe[m]);
    else __asm__ volatile("fsrmi 4");                   /* rmm */
}

/* ---- part 1: named cases ---------------------------------------------------------- */

static void named(void) {
    unsigned fl;
    for (int m = 0; m < 5; m++) {
        double r = fdiv_d(m, 1.0, 3.0, &fl);
        printf("fdiv.d 1/3 %s %016llx %02x\n", MODE[m], (unsigned long long)BD(r), fl);
    }
    for (int m = 0; m < 5; m++) {
        float r = fadd_s(m, 1.0f, S(0x33800000), &fl);          /* 1 + 2^-24: a tie */
        printf("fadd.s 1+2^-24 %s %08x %02x\n", MODE[m], BS(r), fl);
    }
    for (int m = 0; m < 5; m++) {
        long p = fcvt_w_d(m, 2.5, &fl);
        unsigned fp = fl;
        long n = fcvt_w_d(m, -2.5, &fl);
        printf("fcvt.w.d 2.5 -2.5 %s %ld %ld %02x %02x\n", MODE[m], p, n, fp, fl);
    }
    for (int m = 0; m < 5; m++) {
        double r = fmul_d(m, D(0x7fefffffffffffffull), 2.0, &fl);
        unsigned f1 = fl;
        double n = fmul_d(m, D(0xffefffffffffffffull), 2.0, &fl);
        printf("fmul.d max*2 %s %016llx %016llx %02x %02x\n", MODE[m],
               (unsigned long long)BD(r), (unsigned long long)BD(n), f1, fl);
    }
    for (int m = 0; m < 5; m++) {   /* (1 - 2^-52)(1 + 2^-52) 2^-1022 = (1 - 2^-104) 2^-1022 */
        double r = fmul_d(m, D(0x3feffffffffffffeull), D(0x0010000000000001ull), &fl);
        printf("fmul.d below-min %s %016llx %02x\n", MODE[m], (unsigned long long)BD(r), fl);
    }
    for (int m = 0; m < 5; m++) {
        double r = fmadd_d(m, 1.0, 1.0, -1.0, &fl);
        printf("fmadd.d 1*1-1 %s %016llx %02x\n", MODE[m], (unsigned long long)BD(r), fl);
    }
    for (int m = 0; m < 5; m++) {
        float r = fcvt_s_d(m, D(0x3ff0000010000000ull), &fl);   /* 1 + 2^-24 */
        printf("fcvt.s.d 1+2^-24 %s %08x %02x\n", MODE[m], BS(r), fl);
    }
    double r = fadd_d(0, D(0x7ff8000000000123ull), 1.0, &fl);
    printf("fadd.d qnan+1 %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fadd_d(0, D(0x7ff0000000000001ull), 1.0, &fl);
    printf("fadd.d snan+1 %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fdiv_d(0, 1.0, 0.0, &fl);
    printf("fdiv.d 1/0 %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fsqrt_d(0, -1.0, &fl);
    printf("fsqrt.d -1 %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fmin_d(D(0x7ff0000000000001ull), 1.0, &fl);
    printf("fmin.d snan 1 %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fmax_d(D(0x7ff8000000000000ull), D(0xfff8000000000001ull), &fl);
    printf("fmax.d qnan qnan %016llx %02x\n", (unsigned long long)BD(r), fl);
    r = fmin_d(-0.0, 0.0, &fl);
    printf("fmin.d -0 +0 %016llx %02x\n", (unsigned long long)BD(r), fl);
    long c = feq_d(D(0x7ff8000000000000ull), 1.0, &fl);
    printf("feq.d qnan 1 %ld %02x\n", c, fl);
    c = flt_d(D(0x7ff8000000000000ull), 1.0, &fl);
    printf("flt.d qnan 1 %ld %02x\n", c, fl);
    c = fcvt_w_d(1, 3e9, &fl);
    printf("fcvt.w.d 3e9 %ld %02x\n", c, fl);
    c = fcvt_wu_d(1, -0.5, &fl);
    printf("fcvt.wu.d -0.5 %ld %02x\n", c, fl);
    c = fcvt_lu_d(1, -1.0, &fl);
    printf("fcvt.lu.d -1 %ld %02x\n", c, fl);
    r = fmadd_d(0, D(0x7ff0000000000000ull), 0.0, D(0x7ff8000000000000ull), &fl);
    printf("fmadd.d inf*0+qnan %016llx %02x\n", (unsigned long long)BD(r), fl);
}

/* ---- part 2: sweeps --------------------------------------------------------------- */

static u64 rng = 0x9e3779b97f4a7c15ull;
static u64 next(void) {                                 /* xorshift64* */
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static const u64 SPECIAL_D[] = {
    0, 1ull << 63, 0x3ff0000000000000ull, 0xbff0000000000000ull, 0x3ff0000000000001ull,
    0x3fefffffffffffffull, 0x4004000000000000ull, 0x3fe0000000000000ull, 0x0000000000000001ull,
    0x000fffffffffffffull, 0x0010000000000000ull, 0x8010000000000000ull, 0x7fefffffffffffffull,
    0xffefffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
    0x7ff0000000000001ull, 0xfff4000000000000ull, 0x3ca0000000000000ull, 0x41dfffffffc00000ull,
    0x43e0000000000000ull, 0xc3e0000000000000ull, 0x41f0000000000000ull, 0x4330000000000001ull,
};
static const u32 SPECIAL_S[] = {
    0, 0x80000000u, 0x3f800000u, 0xbf800000u, 0x3f800001u, 0x3f7fffffu, 0x40200000u,
    0x3f000000u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x80800000u, 0x7f7fffffu, 0xff7fffffu,
    0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7f800001u, 0xffa00000u, 0x33800000u, 0x4f000000u,
    0xcf000000u, 0x5f000000u, 0x4b000001u,
};
#define NSD (sizeof SPECIAL_D / sizeof SPECIAL_D[0])
#define NSS (sizeof SPECIAL_S / sizeof SPECIAL_S[0])

/* a double: a special value, or random bits with the exponent drawn to
 * land often near 1, near the extremes, and in the subnormals */
static u64 pick_d(void) {
    u64 v = next();
    switch (v & 7) {
    case 0: return SPECIAL_D[(v >> 8) % NSD];
    case 1: return (v & 0x800fffffffffffffull) | ((u64)(1023 + (int)((v >> 20) % 7) - 3) << 52);
    case 2: return v & 0x800fffffffffffffull;                                 /* subnormal */
    case 3: return (v & 0x800fffffffffffffull) | ((u64)(2046 - (v >> 13) % 3) << 52);
    case 4: return (v & 0x800fffffffffffffull) | ((u64)(1 + (v >> 13) % 3) << 52);
    case 5: return (v & 0x800fffffff000000ull) | ((u64)(1023 + (int)((v >> 20) % 60)) << 52);  /* short significands */
    default: return v;
    }
}
static u32 pick_s(void) {
    u64 v = next();
    u32 w = (u32)(v >> 32);
    switch (v & 7) {
    case 0: return SPECIAL_S[(v >> 8) % NSS];
    case 1: return (w & 0x807fffffu) | ((u32)(127 + (int)((v >> 20) % 7) - 3) << 23);
    case 2: return w & 0x807fffffu;
    case 3: return (w & 0x807fffffu) | ((u32)(254 - (v >> 13) % 3) << 23);
    case 4: return (w & 0x807fffffu) | ((u32)(1 + (v >> 13) % 3) << 23);
    case 5: return (w & 0x807ff000u) | ((u32)(127 + (int)((v >> 20) % 40)) << 23);
    default: return w;
    }
}
static long pick_i(void) {
    u64 v = next();
    switch (v & 3) {
    case 0: return (long)(v >> (v >> 58));
    case 1: return -(long)(v >> (4 + ((v >> 8) & 31)));
    case 2: return (long)(int32_t)(v >> 32);
    default: return (long)v;
    }
}

static void mix(u64 *h, u64 v) {
    for (int i = 0; i < 8; i++) { *h ^= (v >> (8 * i)) & 0xff; *h *= 0x100000001b3ull; }
}

#define N 1200

static void sweep(void) {
    static const char *names[] = {
        "fadd.d", "fsub.d", "fmul.d", "fdiv.d", "fsqrt.d", "fmadd.d", "fmsub.d", "fnmadd.d",
        "fnmsub.d", "fadd.s", "fsub.s", "fmul.s", "fdiv.s", "fsqrt.s", "fmadd.s", "fmsub.s",
        "fnmadd.s", "fnmsub.s", "fcvt.w.d", "fcvt.wu.d", "fcvt.l.d", "fcvt.lu.d", "fcvt.w.s",
        "fcvt.wu.s", "fcvt.l.s", "fcvt.lu.s", "fcvt.d.l", "fcvt.d.lu", "fcvt.s.l", "fcvt.s.lu",
        "fcvt.s.w", "fcvt.s.wu", "fcvt.s.d",
    };
    enum { NOPS = sizeof names / sizeof names[0] };
    for (int m = 0; m < 6; m++) {
        u64 h[NOPS];
        for (int i = 0; i < NOPS; i++) h[i] = 0xcbf29ce484222325ull;
        rng = 0x9e3779b97f4a7c15ull;
        for (int dm = 0; dm < (m == 5 ? 5 : 1); dm++) {
            if (m == 5) set_dynamic(dm);
            for (int i = 0; i < N; i++) {
                unsigned fl;
                double a = D(pick_d()), b = D(pick_d()), c = D(pick_d());
                float x = S(pick_s()), y = S(pick_s()), z = S(pick_s());
                long n = pick_i();
                int k = 0;
#define H(v) do { mix(&h[k], (v)); mix(&h[k], fl); k++; } while (0)
                H(BD(fadd_d(m, a, b, &fl))); H(BD(fsub_d(m, a, b, &fl)));
                H(BD(fmul_d(m, a, b, &fl))); H(BD(fdiv_d(m, a, b, &fl)));
                H(BD(fsqrt_d(m, a, &fl))); H(BD(fmadd_d(m, a, b, c, &fl)));
                H(BD(fmsub_d(m, a, b, c, &fl))); H(BD(fnmadd_d(m, a, b, c, &fl)));
                H(BD(fnmsub_d(m, a, b, c, &fl)));
                H(BS(fadd_s(m, x, y, &fl))); H(BS(fsub_s(m, x, y, &fl)));
                H(BS(fmul_s(m, x, y, &fl))); H(BS(fdiv_s(m, x, y, &fl)));
                H(BS(fsqrt_s(m, x, &fl))); H(BS(fmadd_s(m, x, y, z, &fl)));
                H(BS(fmsub_s(m, x, y, z, &fl))); H(BS(fnmadd_s(m, x, y, z, &fl)));
                H(BS(fnmsub_s(m, x, y, z, &fl)));
                H((u64)fcvt_w_d(m, a, &fl)); H((u64)fcvt_wu_d(m, a, &fl));
                H((u64)fcvt_l_d(m, a, &fl)); H((u64)fcvt_lu_d(m, a, &fl));
                H((u64)fcvt_w_s(m, x, &fl)); H((u64)fcvt_wu_s(m, x, &fl));
                H((u64)fcvt_l_s(m, x, &fl)); H((u64)fcvt_lu_s(m, x, &fl));
                H(BD(fcvt_d_l(m, n, &fl))); H(BD(fcvt_d_lu(m, n, &fl)));
                H(BS(fcvt_s_l(m, n, &fl))); H(BS(fcvt_s_lu(m, n, &fl)));
                H(BS(fcvt_s_w(m, n, &fl))); H(BS(fcvt_s_wu(m, n, &fl)));
                H(BS(fcvt_s_d(m, a, &fl)));
#undef H
            }
        }
        for (int i = 0; i < NOPS; i++) printf("%s %s %016llx\n", names[i], MODE[m], (unsigned long long)h[i]);
    }
    /* without a rounding mode */
    u64 h[11];
    for (int i = 0; i < 11; i++) h[i] = 0xcbf29ce484222325ull;
    rng = 0x0123456789abcdefull;
    for (int i = 0; i < N; i++) {
        unsigned fl;
        double a = D(pick_d()), b = D(pick_d());
        float x = S(pick_s()), y = S(pick_s());
        int k = 0;
#define H(v) do { mix(&h[k], (v)); mix(&h[k], fl); k++; } while (0)
        H(BD(fmin_d(a, b, &fl))); H(BD(fmax_d(a, b, &fl)));
        H(BS(fmin_s(x, y, &fl))); H(BS(fmax_s(x, y, &fl)));
        H((u64)feq_d(a, b, &fl)); H((u64)flt_d(a, b, &fl)); H((u64)fle_d(a, b, &fl));
        H((u64)feq_s(x, y, &fl)); H((u64)flt_s(x, y, &fl)); H((u64)fle_s(x, y, &fl));
        H(BD(fcvt_d_s(x, &fl)));
#undef H
    }
    static const char *other[] = { "fmin.d", "fmax.d", "fmin.s", "fmax.s", "feq.d", "flt.d",
                                   "fle.d", "feq.s", "flt.s", "fle.s", "fcvt.d.s" };
    for (int i = 0; i < 11; i++) printf("%s %016llx\n", other[i], (unsigned long long)h[i]);
}

int main(void) {
    named();
    sweep();
    return 0;
}
