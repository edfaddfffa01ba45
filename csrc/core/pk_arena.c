/* pk_arena.c - chunked arenas (see pk_arena.h). */
#include <string.h>
#include "pk_core.h"

void pk_arena_init(pk_arena *a, uint32_t size) {
    memset(a, 0, sizeof *a);
    a->size = size;
}

/* Chunks start on a cache-line boundary, so that an object whose size is
 * a multiple of PK_ARENA_ALIGN (a thread control block) spans exactly
 * size / PK_ARENA_ALIGN lines, and its register file's vector moves never
 * straddle two.  The byte before a chunk says how far the allocation
 * starts before it (1 .. PK_ARENA_ALIGN). */
#define PK_ARENA_ALIGN 64u

static char *chunk_alloc(pk_kernel *k, size_t n) {
    char *raw = pk_alloc(k, n + PK_ARENA_ALIGN);
    if (!raw) return NULL;
    char *c = (char *)(((uintptr_t)raw + PK_ARENA_ALIGN) & ~(uintptr_t)(PK_ARENA_ALIGN - 1));
    c[-1] = (char)(uint8_t)(c - raw);
    return c;
}

static void chunk_free(pk_kernel *k, char *c, size_t n) {
    uint8_t back = (uint8_t)c[-1];
    pk_free(k, c - (back ? back : PK_ARENA_ALIGN), n + PK_ARENA_ALIGN);
}

void pk_arena_fini(pk_kernel *k, pk_arena *a) {
    for (uint32_t i = 0; i < a->nchunks; i++)
        chunk_free(k, a->chunks[i], (size_t)PK_CHUNK * a->size);
    pk_free(k, a->chunks, (size_t)a->chunks_cap * sizeof(char *));
    a->chunks = NULL;
    a->nchunks = a->chunks_cap = a->count = 0;
}

int64_t pk_arena_grow(pk_kernel *k, pk_arena *a, uint32_t n) {
    uint64_t want = (uint64_t)a->count + n;
    if (want > 0xffffffffull) return -1;
    uint64_t need_chunks = (want + PK_CHUNK - 1) >> PK_CHUNK_SHIFT;
    if (need_chunks > a->chunks_cap) {
        uint64_t cap = a->chunks_cap ? a->chunks_cap : 8;
        while (cap < need_chunks) cap *= 2;
        char **c = pk_realloc(k, a->chunks, (size_t)a->chunks_cap * sizeof(char *),
                              (size_t)cap * sizeof(char *));
        if (!c) return -1;
        a->chunks = c;
        a->chunks_cap = (uint32_t)cap;
    }
    uint32_t first_new_chunk = a->nchunks;
    while (a->nchunks < need_chunks) {
        char *chunk = chunk_alloc(k, (size_t)PK_CHUNK * a->size);
        if (!chunk) {                       /* undo: leave the arena as it was */
            while (a->nchunks > first_new_chunk)
                chunk_free(k, a->chunks[--a->nchunks], (size_t)PK_CHUNK * a->size);
            return -1;
        }
        a->chunks[a->nchunks++] = chunk;
    }
    int64_t first = a->count;
    a->count = (uint32_t)want;
    return first;
}
