/* pk_arena.h - chunked arenas of fixed-size objects named by index.
 *
 * Objects never move once allocated (chunks are never reallocated), so a
 * pointer to one stays valid for the arena's life.  Index i lives in chunk
 * i >> PK_CHUNK_SHIFT at slot i & (PK_CHUNK - 1). */
#ifndef PK_ARENA_H
#define PK_ARENA_H

#define PK_CHUNK_SHIFT 12
#define PK_CHUNK (1u << PK_CHUNK_SHIFT)

typedef struct pk_arena {
    char   **chunks;
    uint32_t nchunks, chunks_cap;
    uint32_t count;          /* objects allocated: indexes 0 .. count-1 */
    uint32_t size;           /* bytes per object                         */
} pk_arena;

struct pk_kernel;
void pk_arena_init(pk_arena *a, uint32_t size);
void pk_arena_fini(struct pk_kernel *k, pk_arena *a);
/* Make room for n more objects (zeroed); returns the first new index or
 * -1 when memory is exhausted (nothing is allocated then). */
int64_t pk_arena_grow(struct pk_kernel *k, pk_arena *a, uint32_t n);

static inline void *pk_arena_at(const pk_arena *a, uint32_t i) {
    return a->chunks[i >> PK_CHUNK_SHIFT] + (size_t)(i & (PK_CHUNK - 1)) * a->size;
}
#endif
