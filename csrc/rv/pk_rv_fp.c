/* pk_rv_fp.c - RISC-V F and D arithmetic for the interpreter (pk_rv_exec.c).
 *
 * The rules are the RISC-V unprivileged ISA's, chapter "F" (and "D"):
 * the five rounding modes (RNE, RTZ, RDN, RUP, RMM), static in the rm field
 * or dynamic (frm); the accrued exception flags NV, DZ, OF, UF, NX of
 * fflags; tininess detected after rounding; NaN results are always the
 * canonical NaN; a signalling NaN operand raises NV; NaN-boxing of single
 * values in the 64-bit registers.
 *
 * How a result is rounded exactly in every mode: special operands (NaN,
 * infinities, zeros, division by zero, invalid operations) are decided
 * here in software.  For finite operands the host computes the operation
 * in a wider format, long double (the x87 64-bit significand; a double
 * fma in __float128, whose 113 bits hold a product of two doubles
 * exactly), rounding toward zero, and the host's inexact flag is ORed
 * into the last bit: "round to odd".  A value rounded to odd with at
 * least two bits more than the target rounds from there to the target,
 * in any mode, exactly as the exact value would (Boldo and Melquiond,
 * "Emulation of FMA and correctly rounded sums: proved algorithms using
 * rounding to odd", IEEE Trans. Computers 57(4), 2008).  round_pack then
 * rounds that value to single or double with the instruction's mode and
 * computes OF, UF (tiny after rounding and inexact) and NX itself, so the
 * host's own tininess rule and NaN payloads never show.  The wide formats'
 * exponent ranges hold every intermediate of single and double operands,
 * so the host step never overflows or underflows.
 *
 * The host's rounding mode is changed only around that one operation,
 * its operands and result are volatile so the compiler can neither fold
 * nor move the operation across fesetround (GCC does not implement
 * FENV_ACCESS), and the previous mode is restored; host flags raised
 * along the way are not read except FE_INEXACT, which is cleared first. */
#include <string.h>
#include <math.h>
#include <fenv.h>
#include <float.h>
#include "pk_core.h"
#include "pk_rv.h"

#if !defined(__x86_64__) || LDBL_MANT_DIG != 64 || !defined(__SIZEOF_FLOAT128__)
#error "pk_rv_fp.c needs x86-64: the x87 long double (64-bit significand) and __float128"
#endif

typedef unsigned __int128 u128;
__extension__ typedef __float128 f128;

#define BOX 0xffffffff00000000ull
#define CANON_S 0x7fc00000u
#define CANON_D 0x7ff8000000000000ull

enum { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 };
enum { RNE = 0, RTZ = 1, RDN = 2, RUP = 3, RMM = 4 };

/* a format: precision p (significand bits, hidden one included), exponent
 * range of normal numbers, fraction bits */
typedef struct fpfmt { int p, emin, emax, bias, fbits; uint64_t canon; } fpfmt;
static const fpfmt FMT[2] = {
    { 24, -126, 127, 127, 23, CANON_S },
    { 53, -1022, 1023, 1023, 52, CANON_D },
};

/* ---- operands as bits ------------------------------------------------------ */

static inline uint64_t unbox(uint64_t v, bool d) {      /* an improperly boxed single is the canonical NaN */
    if (d) return v;
    return (v & BOX) == BOX ? (uint32_t)v : CANON_S;
}
static inline uint64_t sign_of(uint64_t b, bool d) { return d ? b >> 63 : (b >> 31) & 1; }
static inline uint64_t expf_of(uint64_t b, bool d) { return d ? (b >> 52) & 0x7ff : (b >> 23) & 0xff; }
static inline uint64_t frac_of(uint64_t b, bool d) { return d ? b & ((1ull << 52) - 1) : b & ((1u << 23) - 1); }
static inline bool is_nan(uint64_t b, bool d) { return expf_of(b, d) == (d ? 0x7ffu : 0xffu) && frac_of(b, d); }
static inline bool is_snan(uint64_t b, bool d) { return is_nan(b, d) && !((b >> (d ? 51 : 22)) & 1); }
static inline bool is_inf(uint64_t b, bool d) { return expf_of(b, d) == (d ? 0x7ffu : 0xffu) && !frac_of(b, d); }
static inline bool is_zero(uint64_t b, bool d) { return !expf_of(b, d) && !frac_of(b, d); }
static inline uint64_t sbit(bool d) { return d ? 1ull << 63 : 1ull << 31; }
static inline uint64_t inf_bits(uint64_t s, bool d) { return (s ? sbit(d) : 0) | (d ? 0x7ffull << 52 : 0xffull << 23); }
static inline uint64_t zero_bits(uint64_t s, bool d) { return s ? sbit(d) : 0; }
static inline uint64_t put(uint64_t b, bool d) { return d ? b : BOX | b; }

static inline long double to_ld(uint64_t b, bool d) {   /* finite, exact */
    if (d) { double x; memcpy(&x, &b, 8); return x; }
    uint32_t u = (uint32_t)b; float x; memcpy(&x, &u, 4); return x;
}

/* the order of two non-NaN values as integers (-0 == +0): no host
 * comparison, so a host running with denormals-are-zero cannot change it */
static inline int64_t order_key(uint64_t b, bool d) {
    uint64_t mag = b & (sbit(d) - 1);
    return sign_of(b, d) ? -(int64_t)mag : (int64_t)mag;
}

/* ---- rounding a wide value to the target ---------------------------------- */

static inline int msb128(u128 v) {
    uint64_t hi = (uint64_t)(v >> 64);
    return hi ? 127 - __builtin_clzll(hi) : 63 - __builtin_clzll((uint64_t)v);
}

/* sig >> sh with the first bit shifted out (*r) and whether any below it is 1 (*s) */
static u128 shr_rs(u128 sig, int sh, int *r, int *s) {
    if (sh <= 0) { *r = *s = 0; return sig << -sh; }
    *r = sh - 1 < 128 ? (int)((sig >> (sh - 1)) & 1) : 0;
    u128 below = sh - 1 >= 128 ? sig : sig & (((u128)1 << (sh - 1)) - 1);
    *s = below != 0;
    return sh >= 128 ? 0 : sig >> sh;
}

static inline int round_up(unsigned rm, uint64_t sign, u128 q, int r, int s) {
    switch (rm) {
    case RNE: return r && (s || (q & 1));
    case RTZ: return 0;
    case RDN: return (r || s) && sign;
    case RUP: return (r || s) && !sign;
    default:  return r;                                          /* RMM: ties away from zero */
    }
}

/* (-1)^sign * sig * 2^exp (sig > 0) rounded to format d in mode rm; the
 * flags it raises are ORed into *fl */
static uint64_t round_pack(bool d, uint64_t sign, int exp, u128 sig, unsigned rm, unsigned *fl) {
    const fpfmt *f = &FMT[d];
    int E = exp + msb128(sig);                                   /* 2^E <= |v| < 2^(E+1) */
    int lsb = (E >= f->emin ? E : f->emin) - (f->p - 1);
    int r, s;
    u128 q = shr_rs(sig, lsb - exp, &r, &s);
    bool inexact = r || s, tiny = false;
    if (E < f->emin) {              /* tininess after rounding: as if the exponent were unbounded */
        int r2, s2;
        u128 q2 = shr_rs(sig, E - (f->p - 1) - exp, &r2, &s2);
        q2 += (u128)round_up(rm, sign, q2, r2, s2);
        tiny = !(E == f->emin - 1 && (q2 >> f->p));
    }
    q += (u128)round_up(rm, sign, q, r, s);
    if (q >> f->p) { q >>= 1; lsb++; }
    if (inexact) *fl |= NX | (tiny ? UF : 0);
    uint64_t sb = sign ? sbit(d) : 0;
    if (q >> (f->p - 1)) {                                       /* normal */
        int e = lsb + f->p - 1;
        if (e > f->emax) {
            *fl |= OF | NX;
            bool to_inf = rm == RNE || rm == RMM || (rm == RDN && sign) || (rm == RUP && !sign);
            if (to_inf) return inf_bits(sign, d);
            return sb | ((uint64_t)(f->emax + f->bias) << f->fbits) | ((1ull << f->fbits) - 1);
        }
        return sb | ((uint64_t)(e + f->bias) << f->fbits) | ((uint64_t)q & ((1ull << f->fbits) - 1));
    }
    return sb | (uint64_t)q;                                     /* subnormal or zero */
}

/* a finite nonzero value of format d as sign, exponent, significand */
static void unpack(uint64_t b, bool d, uint64_t *sign, int *exp, u128 *sig) {
    const fpfmt *f = &FMT[d];
    uint64_t e = expf_of(b, d), fr = frac_of(b, d);
    *sign = sign_of(b, d);
    *sig = e ? fr | (1ull << f->fbits) : fr;
    *exp = (int)(e ? e : 1) - f->bias - f->fbits;
}

/* ---- the host's wide operations, rounded to odd ----------------------------- */

enum { W_ADD, W_MUL, W_DIV, W_SQRT };

/* a op b in long double, rounded toward zero; the host's inexact flag.
 * The x87 must round to its full 64-bit significand (precision control
 * "extended", the default of Linux on x86-64): set here if something in
 * the process changed it, and put back. */
static long double wide_ld(int op, long double a, long double b, int *nx) {
    volatile long double va = a, vb = b, vr;
    uint16_t cw, ext;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    ext = cw | 0x300;
    if (ext != cw) __asm__ volatile("fldcw %0" : : "m"(ext));
    int old = fegetround();
    fesetround(FE_TOWARDZERO);
    feclearexcept(FE_INEXACT);
    switch (op) {
    case W_ADD: vr = va + vb; break;
    case W_MUL: vr = va * vb; break;
    case W_DIV: vr = va / vb; break;
    default:    vr = sqrtl(va); break;
    }
    *nx = fetestexcept(FE_INEXACT) != 0;
    fesetround(old);
    if (ext != cw) __asm__ volatile("fldcw %0" : : "m"(cw));
    return vr;
}

/* a * b + c in __float128 (the product is exact), rounded toward zero */
static f128 wide_fma_q(double a, double b, double c, int *nx) {
    volatile f128 va = a, vb = b, vc = c, vp, vr;
    int old = fegetround();
    fesetround(FE_TOWARDZERO);
    feclearexcept(FE_INEXACT);
    vp = va * vb;
    vr = vp + vc;
    *nx = fetestexcept(FE_INEXACT) != 0;
    fesetround(old);
    return vr;
}

/* a single's a * b + c in long double (the product is exact), rounded toward zero */
static long double wide_fma_ld(long double a, long double b, long double c, int *nx) {
    volatile long double va = a, vb = b, vc = c, vp, vr;
    uint16_t cw, ext;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    ext = cw | 0x300;
    if (ext != cw) __asm__ volatile("fldcw %0" : : "m"(ext));
    int old = fegetround();
    fesetround(FE_TOWARDZERO);
    feclearexcept(FE_INEXACT);
    vp = va * vb;
    vr = vp + vc;
    *nx = fetestexcept(FE_INEXACT) != 0;
    fesetround(old);
    if (ext != cw) __asm__ volatile("fldcw %0" : : "m"(cw));
    return vr;
}

/* a nonzero finite long double, rounded to odd with nx, then to format d */
static uint64_t pack_ld(long double v, int nx, bool d, unsigned rm, unsigned *fl) {
    uint8_t raw[16] = { 0 };
    memcpy(raw, &v, 10);
    uint64_t m; uint16_t se;
    memcpy(&m, raw, 8);
    memcpy(&se, raw + 8, 2);
    int e = se & 0x7fff;
    m |= (uint64_t)nx;
    return round_pack(d, se >> 15, (e ? e : 1) - 16383 - 63, m, rm, fl);
}

static uint64_t pack_q(f128 v, int nx, unsigned rm, unsigned *fl) {
    u128 u;
    memcpy(&u, &v, 16);
    int e = (int)((u >> 112) & 0x7fff);
    u128 sig = u & (((u128)1 << 112) - 1);
    if (e) sig |= (u128)1 << 112;
    sig |= (u128)nx;
    return round_pack(true, (uint64_t)(u >> 127), (e ? e : 1) - 16383 - 112, sig, rm, fl);
}

static inline bool ld_zero(long double v) { return v == 0; }

/* an exact zero sum of nonzero or opposite-signed terms: -0 only in RDN */
static inline uint64_t zero_sum(unsigned rm, bool d) { return zero_bits(rm == RDN, d); }

/* ---- the operations ----------------------------------------------------------- */

static uint64_t canon(bool d, unsigned *fl, bool nv) { if (nv) *fl |= NV; return FMT[d].canon; }

static uint64_t op_add(uint64_t a, uint64_t b, bool d, unsigned rm, unsigned *fl) {
    if (is_nan(a, d) || is_nan(b, d)) return canon(d, fl, is_snan(a, d) || is_snan(b, d));
    uint64_t sa = sign_of(a, d), sb = sign_of(b, d);
    if (is_inf(a, d) && is_inf(b, d) && sa != sb) return canon(d, fl, true);
    if (is_inf(a, d)) return a;
    if (is_inf(b, d)) return b;
    if (is_zero(a, d) && is_zero(b, d))
        return zero_bits(rm == RDN ? (sa | sb) : (sa & sb), d);
    int nx;
    long double v = wide_ld(W_ADD, to_ld(a, d), to_ld(b, d), &nx);
    if (ld_zero(v)) return zero_sum(rm, d);
    return pack_ld(v, nx, d, rm, fl);
}

static uint64_t op_mul(uint64_t a, uint64_t b, bool d, unsigned rm, unsigned *fl) {
    if (is_nan(a, d) || is_nan(b, d)) return canon(d, fl, is_snan(a, d) || is_snan(b, d));
    uint64_t s = sign_of(a, d) ^ sign_of(b, d);
    if ((is_inf(a, d) && is_zero(b, d)) || (is_zero(a, d) && is_inf(b, d))) return canon(d, fl, true);
    if (is_inf(a, d) || is_inf(b, d)) return inf_bits(s, d);
    if (is_zero(a, d) || is_zero(b, d)) return zero_bits(s, d);
    int nx;
    long double v = wide_ld(W_MUL, to_ld(a, d), to_ld(b, d), &nx);
    return pack_ld(v, nx, d, rm, fl);
}

static uint64_t op_div(uint64_t a, uint64_t b, bool d, unsigned rm, unsigned *fl) {
    if (is_nan(a, d) || is_nan(b, d)) return canon(d, fl, is_snan(a, d) || is_snan(b, d));
    uint64_t s = sign_of(a, d) ^ sign_of(b, d);
    if ((is_inf(a, d) && is_inf(b, d)) || (is_zero(a, d) && is_zero(b, d))) return canon(d, fl, true);
    if (is_inf(a, d)) return inf_bits(s, d);
    if (is_inf(b, d) || is_zero(a, d)) return zero_bits(s, d);
    if (is_zero(b, d)) { *fl |= DZ; return inf_bits(s, d); }
    int nx;
    long double v = wide_ld(W_DIV, to_ld(a, d), to_ld(b, d), &nx);
    return pack_ld(v, nx, d, rm, fl);
}

static uint64_t op_sqrt(uint64_t a, bool d, unsigned rm, unsigned *fl) {
    if (is_nan(a, d)) return canon(d, fl, is_snan(a, d));
    if (is_zero(a, d)) return a;
    if (sign_of(a, d)) return canon(d, fl, true);
    if (is_inf(a, d)) return a;
    int nx;
    long double v = wide_ld(W_SQRT, to_ld(a, d), 0, &nx);
    return pack_ld(v, nx, d, rm, fl);
}

/* (-1)^np * a * b + (-1)^nc * c: fmadd (0,0), fmsub (0,1), fnmsub (1,0), fnmadd (1,1) */
static uint64_t op_fma(uint64_t a, uint64_t b, uint64_t c, bool d, unsigned np, unsigned nc,
                       unsigned rm, unsigned *fl) {
    bool bad = (is_inf(a, d) && is_zero(b, d)) || (is_zero(a, d) && is_inf(b, d));
    /* the spec: inf * 0 raises NV even when the addend is a quiet NaN */
    if (is_nan(a, d) || is_nan(b, d) || is_nan(c, d))
        return canon(d, fl, bad || is_snan(a, d) || is_snan(b, d) || is_snan(c, d));
    if (bad) return canon(d, fl, true);
    uint64_t ps = sign_of(a, d) ^ sign_of(b, d) ^ np, cs = sign_of(c, d) ^ nc;
    bool pinf = is_inf(a, d) || is_inf(b, d);
    if (pinf && is_inf(c, d) && ps != cs) return canon(d, fl, true);
    if (pinf) return inf_bits(ps, d);
    if (is_inf(c, d)) return inf_bits(cs, d);
    bool pzero = is_zero(a, d) || is_zero(b, d);
    if (pzero && is_zero(c, d)) return zero_bits(rm == RDN ? (ps | cs) : (ps & cs), d);
    if (pzero) return c ^ (nc ? sbit(d) : 0);
    int nx;
    long double la = to_ld(a, d), lb = to_ld(b, d), lc = to_ld(c, d);
    if (np) la = -la;
    if (nc) lc = -lc;
    if (d) {
        f128 v = wide_fma_q((double)la, (double)lb, (double)lc, &nx);
        if (v == 0) return zero_sum(rm, d);
        return pack_q(v, nx, rm, fl);
    }
    long double v = wide_fma_ld(la, lb, lc, &nx);
    if (ld_zero(v)) return zero_sum(rm, d);
    return pack_ld(v, nx, d, rm, fl);
}

/* fmin / fmax: -0 < +0; a NaN operand gives the other; two give the canonical NaN */
static uint64_t op_minmax(uint64_t a, uint64_t b, bool d, bool mx, unsigned *fl) {
    if (is_snan(a, d) || is_snan(b, d)) *fl |= NV;
    bool na = is_nan(a, d), nb = is_nan(b, d);
    if (na && nb) return FMT[d].canon;
    if (na) return b;
    if (nb) return a;
    int64_t x = order_key(a, d), y = order_key(b, d);
    bool a_less = x < y || (x == y && sign_of(a, d) && !sign_of(b, d));
    return mx ? (a_less ? b : a) : (a_less ? a : b);
}

/* feq (quiet: NV for signalling NaNs only), flt, fle (signalling: NV for any NaN) */
static uint64_t op_cmp(uint64_t a, uint64_t b, bool d, unsigned which, unsigned *fl) {
    bool na = is_nan(a, d), nb = is_nan(b, d);
    if (na || nb) {
        if (which != 2 || is_snan(a, d) || is_snan(b, d)) *fl |= NV;
        return 0;
    }
    int64_t x = order_key(a, d), y = order_key(b, d);
    return which == 2 ? x == y : which == 1 ? x < y : x <= y;
}

/* v rounded to an integral value in mode rm (exact: no host mode involved) */
static double round_int(double v, unsigned rm) {
    double fl = floor(v), fr = v - fl;                 /* exact: 0 <= fr < 1 */
    switch (rm) {
    case RTZ: return trunc(v);
    case RDN: return fl;
    case RUP: return ceil(v);
    case RMM: return round(v);
    default:
        if (fr > 0.5 || (fr == 0.5 && fmod(fl, 2.0) != 0)) return fl + 1;
        return fr == 0 ? v : fl;
    }
}

static inline uint64_t sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }

/* fcvt.{w,wu,l,lu} (kind 0..3): saturating, NV out of range or NaN, NX if inexact */
static uint64_t op_to_int(uint64_t a, bool d, unsigned kind, unsigned rm, unsigned *fl) {
    static const double lo[4] = { -2147483648.0, 0.0, -9223372036854775808.0, 0.0 };
    static const double hi[4] = { 2147483648.0, 4294967296.0, 9223372036854775808.0, 18446744073709551616.0 };
    static const uint64_t min[4] = { 0xffffffff80000000ull, 0, 1ull << 63, 0 };
    static const uint64_t max[4] = { 0x7fffffff, ~0ull, (1ull << 63) - 1, ~0ull };
    if (is_nan(a, d)) { *fl |= NV; return max[kind]; }
    if (is_zero(a, d)) return 0;
    if (!expf_of(a, d)) {                 /* subnormal: 0 < |a| < 0.5, decided here */
        uint64_t s = sign_of(a, d);
        *fl |= NX;
        if (rm == RDN && s) {
            if (kind & 1) { *fl = (*fl & ~(unsigned)NX) | NV; return 0; }   /* -1 unsigned */
            return ~0ull;
        }
        return rm == RUP && !s ? 1 : 0;
    }
    double v = (double)to_ld(a, d);
    double r = is_inf(a, d) ? v : round_int(v, rm);
    if (r < lo[kind]) { *fl |= NV; return min[kind]; }
    if (r >= hi[kind]) { *fl |= NV; return max[kind]; }
    if (r != v) *fl |= NX;
    switch (kind) {
    case 0: return sx32((uint32_t)(int32_t)r);
    case 1: return sx32((uint32_t)r);
    case 2: return (uint64_t)(int64_t)r;
    default: return (uint64_t)r;
    }
}

/* fcvt.{s,d}.{w,wu,l,lu} */
static uint64_t op_from_int(uint64_t v, bool d, unsigned kind, unsigned rm, unsigned *fl) {
    uint64_t sign = 0, mag;
    switch (kind) {
    case 0: { int64_t i = (int32_t)v; sign = i < 0; mag = sign ? (uint64_t)0 - (uint64_t)i : (uint64_t)i; break; }
    case 1: mag = (uint32_t)v; break;
    case 2: sign = (int64_t)v < 0; mag = sign ? (uint64_t)0 - v : v; break;
    default: mag = v; break;
    }
    if (!mag) return 0;
    return round_pack(d, sign, 0, mag, rm, fl);
}

/* fcvt.s.d (rounds) and fcvt.d.s (exact) */
static uint64_t op_convert(uint64_t a, bool from_d, unsigned rm, unsigned *fl) {
    bool to_d = !from_d;
    if (is_nan(a, from_d)) return canon(to_d, fl, is_snan(a, from_d));
    uint64_t s = sign_of(a, from_d);
    if (is_inf(a, from_d)) return inf_bits(s, to_d);
    if (is_zero(a, from_d)) return zero_bits(s, to_d);
    int exp; u128 sig;
    unpack(a, from_d, &s, &exp, &sig);
    return round_pack(to_d, s, exp, sig, rm, fl);
}

static uint64_t fclass(uint64_t b, bool d) {
    uint64_t neg = sign_of(b, d);
    if (is_nan(b, d)) return is_snan(b, d) ? 1u << 8 : 1u << 9;
    if (is_inf(b, d)) return neg ? 1u : 1u << 7;
    if (is_zero(b, d)) return neg ? 1u << 3 : 1u << 4;
    if (!expf_of(b, d)) return neg ? 1u << 2 : 1u << 5;
    return neg ? 1u << 1 : 1u << 6;
}

/* the instruction's rounding mode, or -1 if it is reserved (illegal) */
static inline int rm_of(const pk_rvfp *F, unsigned rm) {
    if (rm == 7) rm = (unsigned)(F->fcsr >> 5) & 7;
    return rm <= RMM ? (int)rm : -1;
}

bool pk_rv_fp_op(pk_rvfp *F, uint64_t *x, uint32_t insn) {
    unsigned rd = (insn >> 7) & 31, rs1 = (insn >> 15) & 31, rs2 = (insn >> 20) & 31;
    unsigned f3 = (insn >> 12) & 7, fmt = (insn >> 25) & 3, op = insn & 0x7f;
    uint64_t *f = F->f;
    if (fmt > 1) return false;
    bool d = fmt == 1;
    unsigned fl = 0;
    int rm;
    if (op != 0x53) {                                      /* fused multiply-add */
        if ((rm = rm_of(F, f3)) < 0) return false;
        unsigned k = (op >> 2) & 3;                        /* 0 fmadd, 1 fmsub, 2 fnmsub, 3 fnmadd */
        uint64_t r = op_fma(unbox(f[rs1], d), unbox(f[rs2], d), unbox(f[insn >> 27], d), d,
                            k >= 2, k == 1 || k == 3, (unsigned)rm, &fl);
        f[rd] = put(r, d);
        F->fcsr |= fl;
        return true;
    }
    unsigned f5 = insn >> 27;
    uint64_t a = unbox(f[rs1], d), b = unbox(f[rs2], d);
    switch (f5) {
    case 0x00: case 0x01: case 0x02: case 0x03: {         /* fadd, fsub, fmul, fdiv */
        if ((rm = rm_of(F, f3)) < 0) return false;
        uint64_t r = f5 == 0 ? op_add(a, b, d, (unsigned)rm, &fl)
                   : f5 == 1 ? op_add(a, b ^ sbit(d), d, (unsigned)rm, &fl)
                   : f5 == 2 ? op_mul(a, b, d, (unsigned)rm, &fl) : op_div(a, b, d, (unsigned)rm, &fl);
        f[rd] = put(r, d);
        break;
    }
    case 0x0b:                                             /* fsqrt */
        if (rs2 || (rm = rm_of(F, f3)) < 0) return false;
        f[rd] = put(op_sqrt(a, d, (unsigned)rm, &fl), d);
        break;
    case 0x04: {                                           /* fsgnj, fsgnjn, fsgnjx */
        if (f3 > 2) return false;
        uint64_t sb = sbit(d), s2 = b & sb;
        uint64_t s = f3 == 0 ? s2 : f3 == 1 ? s2 ^ sb : (a & sb) ^ s2;
        f[rd] = put((a & ~sb) | s, d);
        break;
    }
    case 0x05:                                             /* fmin, fmax */
        if (f3 > 1) return false;
        f[rd] = put(op_minmax(a, b, d, f3 == 1, &fl), d);
        break;
    case 0x08:                                             /* fcvt.s.d / fcvt.d.s */
        if ((d && rs2 != 0) || (!d && rs2 != 1) || (rm = rm_of(F, f3)) < 0) return false;
        f[rd] = put(op_convert(unbox(f[rs1], !d), !d, (unsigned)rm, &fl), d);
        break;
    case 0x14:                                             /* fle, flt, feq */
        if (f3 > 2) return false;
        x[rd] = op_cmp(a, b, d, f3, &fl);
        break;
    case 0x18:                                             /* fcvt.{w,wu,l,lu}.{s,d} */
        if (rs2 > 3 || (rm = rm_of(F, f3)) < 0) return false;
        x[rd] = op_to_int(a, d, rs2, (unsigned)rm, &fl);
        break;
    case 0x1a:                                             /* fcvt.{s,d}.{w,wu,l,lu} */
        if (rs2 > 3 || (rm = rm_of(F, f3)) < 0) return false;
        f[rd] = put(op_from_int(x[rs1], d, rs2, (unsigned)rm, &fl), d);
        break;
    case 0x1c:                                             /* fmv.x.{w,d}, fclass */
        if (rs2) return false;
        if (f3 == 0) x[rd] = d ? f[rs1] : sx32(f[rs1]);
        else if (f3 == 1) x[rd] = fclass(a, d);
        else return false;
        break;
    case 0x1e:                                             /* fmv.{w,d}.x */
        if (rs2 || f3) return false;
        f[rd] = d ? x[rs1] : BOX | (uint32_t)x[rs1];
        break;
    default:
        return false;
    }
    F->fcsr |= fl;
    return true;
}
