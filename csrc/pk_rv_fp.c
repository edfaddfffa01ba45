/* pk_rv_fp.c - RISC-V F and D arithmetic for the interpreter (pk_rv_exec.c).
 *
 * The host's IEEE 754 operations in round-to-nearest-even; the static
 * rounding modes are honoured by conversions to integers (where C code
 * depends on them: casts use RTZ).  The accrued exception flags (fflags)
 * are not computed: they read as zero.  Single-precision values are
 * NaN-boxed in the 64-bit registers as the specification requires. */
#include <string.h>
#include <math.h>
#include "pk_core.h"
#include "pk_rv.h"

#define BOX 0xffffffff00000000ull
#define CANON_S 0x7fc00000u
#define CANON_D 0x7ff8000000000000ull

static inline float  getf(uint64_t v) {
    uint32_t u = (v & BOX) == BOX ? (uint32_t)v : CANON_S;
    float f; memcpy(&f, &u, 4); return f;
}
static inline double getd(uint64_t v) { double d; memcpy(&d, &v, 8); return d; }
static inline uint64_t putf(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if (f != f) u = CANON_S;
    return BOX | u;
}
static inline uint64_t putd(double d) {
    uint64_t u; memcpy(&u, &d, 8);
    if (d != d) u = CANON_D;
    return u;
}
static inline uint64_t sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }

static double round_rm(double v, unsigned rm) {
    switch (rm) {
    case 1: return trunc(v);
    case 2: return floor(v);
    case 3: return ceil(v);
    case 4: return round(v);
    default: return nearbyint(v);        /* RNE (the host's default mode) */
    }
}

/* v converted to an integer of the given kind (0 w, 1 wu, 2 l, 3 lu),
 * saturating as the specification says (NaN -> the largest value) */
static uint64_t to_int(double v, unsigned kind, unsigned rm) {
    if (v != v) return kind == 0 ? sx32(INT32_MAX) : kind == 1 ? ~0ull : kind == 2 ? (uint64_t)INT64_MAX : ~0ull;
    double r = round_rm(v, rm);
    switch (kind) {
    case 0:
        if (r < (double)INT32_MIN) return sx32((uint32_t)INT32_MIN);
        if (r > (double)INT32_MAX) return sx32(INT32_MAX);
        return sx32((uint32_t)(int32_t)r);
    case 1:
        if (r <= -1.0 || r < 0) return 0;
        if (r > (double)UINT32_MAX) return ~0ull;
        return sx32((uint32_t)r);
    case 2:
        if (r < -9223372036854775808.0) return (uint64_t)INT64_MIN;
        if (r >= 9223372036854775808.0) return (uint64_t)INT64_MAX;
        return (uint64_t)(int64_t)r;
    default:
        if (r < 0) return 0;
        if (r >= 18446744073709551616.0) return ~0ull;
        return (uint64_t)r;
    }
}

static uint64_t fclass(uint64_t bits, bool dbl) {
    int neg; int cls;
    if (dbl) { double d = getd(bits); neg = signbit(d) != 0; cls = fpclassify(d);
        if (cls == FP_NAN) return (bits >> 51) & 1 ? 1u << 9 : 1u << 8; }
    else { float f = getf(bits); uint32_t u = (uint32_t)bits; if ((bits & BOX) != BOX) u = CANON_S;
        neg = signbit(f) != 0; cls = fpclassify(f);
        if (cls == FP_NAN) return (u >> 22) & 1 ? 1u << 9 : 1u << 8; }
    switch (cls) {
    case FP_INFINITE: return neg ? 1u : 1u << 7;
    case FP_NORMAL: return neg ? 1u << 1 : 1u << 6;
    case FP_SUBNORMAL: return neg ? 1u << 2 : 1u << 5;
    default: return neg ? 1u << 3 : 1u << 4;
    }
}

static inline double fminmax(double a, double b, bool mx) {
    if (a != a) return b;
    if (b != b) return a;
    if (a == b) return mx ? (signbit(a) ? b : a) : (signbit(a) ? a : b);
    return mx ? (a > b ? a : b) : (a < b ? a : b);
}

bool pk_rv_fp_op(pk_rvfp *F, uint64_t *x, uint32_t insn) {
    unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    unsigned rm = (insn >> 12) & 7, fmt = (insn >> 25) & 3, op = insn & 0x7f;
    if (rm == 7) rm = (unsigned)(F->fcsr >> 5) & 7;
    uint64_t *f = F->f;
    if (fmt > 1) return false;
    bool d = fmt == 1;
    if (op != 0x53) {                                      /* fused multiply-add */
        unsigned rs3 = insn >> 27;
        if (d) {
            double a = getd(f[rs1]), b = getd(f[rs2]), c = getd(f[rs3]);
            double v = op == 0x43 ? fma(a, b, c) : op == 0x47 ? fma(a, b, -c)
                     : op == 0x4b ? fma(-a, b, c) : fma(-a, b, -c);
            f[rd] = putd(v);
        } else {
            float a = getf(f[rs1]), b = getf(f[rs2]), c = getf(f[rs3]);
            float v = op == 0x43 ? fmaf(a, b, c) : op == 0x47 ? fmaf(a, b, -c)
                    : op == 0x4b ? fmaf(-a, b, c) : fmaf(-a, b, -c);
            f[rd] = putf(v);
        }
        return true;
    }
    unsigned f5 = insn >> 27;
    double a = d ? getd(f[rs1]) : getf(f[rs1]), b = d ? getd(f[rs2]) : getf(f[rs2]);
    switch (f5) {
    case 0x00: case 0x01: case 0x02: case 0x03: {
        if (d) {
            double v = f5 == 0 ? a + b : f5 == 1 ? a - b : f5 == 2 ? a * b : a / b;
            f[rd] = putd(v);
        } else {
            float fa = (float)a, fb = (float)b;
            float v = f5 == 0 ? fa + fb : f5 == 1 ? fa - fb : f5 == 2 ? fa * fb : fa / fb;
            f[rd] = putf(v);
        }
        return true;
    }
    case 0x0b:
        if (rs2) return false;
        f[rd] = d ? putd(sqrt(a)) : putf(sqrtf((float)a));
        return true;
    case 0x04: {                                           /* fsgnj, fsgnjn, fsgnjx */
        if (d) {
            uint64_t x1 = f[rs1], s2 = f[rs2] & (1ull << 63), s1 = x1 & (1ull << 63);
            uint64_t s = rm == 0 ? s2 : rm == 1 ? s2 ^ (1ull << 63) : rm == 2 ? s1 ^ s2 : 2;
            if (s == 2) return false;
            f[rd] = (x1 & ~(1ull << 63)) | s;
        } else {
            uint32_t x1 = (f[rs1] & BOX) == BOX ? (uint32_t)f[rs1] : CANON_S;
            uint32_t x2 = (f[rs2] & BOX) == BOX ? (uint32_t)f[rs2] : CANON_S;
            uint32_t s2 = x2 & 0x80000000u, s1 = x1 & 0x80000000u;
            uint32_t s = rm == 0 ? s2 : rm == 1 ? s2 ^ 0x80000000u : rm == 2 ? s1 ^ s2 : 2;
            if (s == 2) return false;
            f[rd] = BOX | (x1 & 0x7fffffffu) | s;
        }
        return true;
    }
    case 0x05:                                             /* fmin, fmax */
        if (rm > 1) return false;
        f[rd] = d ? putd(fminmax(a, b, rm == 1)) : putf((float)fminmax(a, b, rm == 1));
        return true;
    case 0x08:                                             /* fcvt.s.d / fcvt.d.s */
        if (d && rs2 == 0) { f[rd] = putd((double)getf(f[rs1])); return true; }
        if (!d && rs2 == 1) { f[rd] = putf((float)getd(f[rs1])); return true; }
        return false;
    case 0x14:                                             /* feq, flt, fle */
        if (rm == 2) x[rd] = a == b;
        else if (rm == 1) x[rd] = a < b;
        else if (rm == 0) x[rd] = a <= b;
        else return false;
        return true;
    case 0x18:                                             /* fcvt.{w,wu,l,lu}.{s,d} */
        if (rs2 > 3) return false;
        x[rd] = to_int(a, rs2, rm);
        return true;
    case 0x1a: {                                           /* fcvt.{s,d}.{w,wu,l,lu} */
        uint64_t v = x[rs1];
        if (rs2 > 3) return false;
        if (d) {
            double r = rs2 == 0 ? (double)(int32_t)v : rs2 == 1 ? (double)(uint32_t)v
                     : rs2 == 2 ? (double)(int64_t)v : (double)v;
            f[rd] = putd(r);
        } else {
            float r = rs2 == 0 ? (float)(int32_t)v : rs2 == 1 ? (float)(uint32_t)v
                    : rs2 == 2 ? (float)(int64_t)v : (float)v;
            f[rd] = putf(r);
        }
        return true;
    }
    case 0x1c:                                             /* fmv.x.{w,d}, fclass */
        if (rs2) return false;
        if (rm == 0) x[rd] = d ? f[rs1] : sx32(f[rs1]);
        else if (rm == 1) x[rd] = fclass(f[rs1], d);
        else return false;
        return true;
    case 0x1e:                                             /* fmv.{w,d}.x */
        if (rs2 || rm) return false;
        f[rd] = d ? x[rs1] : BOX | (uint32_t)x[rs1];
        return true;
    default:
        return false;
    }
}
