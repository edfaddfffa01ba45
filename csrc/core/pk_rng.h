/* pk_rng.h - the kernel's one seeded pseudo-random generator.
 *
 * xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", 2018), its state seeded from one 64-bit seed by splitmix64
 * as the authors recommend.  Every random choice pykernel makes comes from
 * here, so a seed fixes a whole run. */
#ifndef PK_RNG_H
#define PK_RNG_H

typedef struct pk_rng { uint64_t s[4]; } pk_rng;

void pk_rng_seed(pk_rng *r, uint64_t seed);

static inline uint64_t pk_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t pk_rng_next(pk_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = pk_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t;
    s[3] = pk_rng_rotl(s[3], 45);
    return result;
}

/* A uniform integer in [0, bound) without modulo bias (bound > 0). */
uint64_t pk_rng_below(pk_rng *r, uint64_t bound);
#endif
