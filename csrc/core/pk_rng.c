/* pk_rng.c - seeding and bounded draws for the kernel's generator. */
#include "pk_core.h"

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void pk_rng_seed(pk_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

uint64_t pk_rng_below(pk_rng *r, uint64_t bound) {
    /* rejection sampling: discard the top partial block of 2^64 */
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t x;
    do x = pk_rng_next(r); while (x >= limit);
    return x % bound;
}
