/* pk_snap_io.c - the byte writer and reader of snapshots (pk_snap.h). */
#include <stdlib.h>
#include "pk_core.h"
#include "pk_snap.h"

int pk_snap_w_init(pk_snap_w *w, size_t hint) {
    w->len = 0;
    w->err = 0;
    w->cap = hint < 4096 ? 4096 : hint;
    w->buf = malloc(w->cap);
    if (!w->buf) { w->cap = 0; w->err = PK_ERR_NO_MEMORY; }
    return w->err;
}

void pk_snap_w_free(pk_snap_w *w) {
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

int pk_snap_w_reserve(pk_snap_w *w, size_t more) {
    if (w->err) return w->err;
    if (more <= w->cap - w->len) return 0;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < more) {
        if (cap > SIZE_MAX / 2) { w->err = PK_ERR_NO_MEMORY; return w->err; }
        cap *= 2;
    }
    uint8_t *b = realloc(w->buf, cap);
    if (!b) { w->err = PK_ERR_NO_MEMORY; return w->err; }
    w->buf = b;
    w->cap = cap;
    return 0;
}

void pk_snap_put(pk_snap_w *w, const void *p, size_t n) {
    if (!n || pk_snap_w_reserve(w, n)) return;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void pk_snap_u64s(pk_snap_w *w, const uint64_t *v, size_t n) {
    if (n > SIZE_MAX / 8) { w->err = PK_ERR_NO_MEMORY; return; }
    if (pk_snap_w_reserve(w, n * 8)) return;
    for (size_t i = 0; i < n; i++) pk_snap_u64(w, v[i]);
}

void pk_snap_r_init(pk_snap_r *r, const void *buf, size_t len) {
    r->buf = buf;
    r->len = buf ? len : 0;
    r->off = 0;
    r->err = 0;
}

void pk_snap_bad(pk_snap_r *r) {
    if (!r->err) r->err = PK_ERR_INVALID_ARGS;
}

void pk_snap_get(pk_snap_r *r, void *p, size_t n) {
    if (r->err || n > r->len - r->off) {
        pk_snap_bad(r);
        if (n) memset(p, 0, n);
        return;
    }
    if (n) memcpy(p, r->buf + r->off, n);
    r->off += n;
}

uint8_t pk_snap_get_u8(pk_snap_r *r) {
    uint8_t b = 0;
    pk_snap_get(r, &b, 1);
    return b;
}

uint16_t pk_snap_get_u16(pk_snap_r *r) {
    uint8_t b[2];
    pk_snap_get(r, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t pk_snap_get_u32(pk_snap_r *r) {
    uint8_t b[4];
    pk_snap_get(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t pk_snap_get_u64(pk_snap_r *r) {
    uint64_t lo = pk_snap_get_u32(r);
    return lo | (uint64_t)pk_snap_get_u32(r) << 32;
}

void pk_snap_get_u64s(pk_snap_r *r, uint64_t *v, size_t n) {
    if (n > SIZE_MAX / 8 || n * 8 > pk_snap_left(r)) {
        pk_snap_bad(r);
        memset(v, 0, n * sizeof *v);
        return;
    }
    for (size_t i = 0; i < n; i++) v[i] = pk_snap_get_u64(r);
}

int pk_snap_count_ok(pk_snap_r *r, uint64_t count, size_t min_item) {
    if (r->err) return 0;
    if (min_item && count > pk_snap_left(r) / min_item) { pk_snap_bad(r); return 0; }
    return 1;
}

/* 64-bit checksum: four interleaved multiply-xorshift lanes over 8-byte
 * words (fast enough for gigabyte snapshots), folded with the length.
 * It detects corruption and truncation; it is not cryptographic. */
static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33; h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33; h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

uint64_t pk_snap_checksum(const void *buf, size_t len) {
    const uint8_t *p = buf;
    uint64_t lane[4] = { 0x243f6a8885a308d3ull, 0x13198a2e03707344ull,
                         0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull };
    size_t i = 0;
    for (; i + 32 <= len; i += 32)
        for (int j = 0; j < 4; j++) {
            uint64_t v;
            memcpy(&v, p + i + 8 * j, 8);
            lane[j] = (lane[j] ^ v) * 0x9e3779b97f4a7c15ull;
            lane[j] ^= lane[j] >> 29;
        }
    uint64_t h = (uint64_t)len * 0x9e3779b97f4a7c15ull;
    for (int j = 0; j < 4; j++) h = mix64(h ^ lane[j]);
    for (; i < len; i++) h = mix64(h ^ p[i]);
    return mix64(h);
}
