/* pk_heap.h - an indexed 4-ary min-heap of threads keyed by (key, seq),
 * for policies that order ready threads by a number (SJF, STCF, CFS,
 * Stride, EDF, ...).  seq is taken at each push: equal keys come out in
 * the order they went in.  The arrays grow on demand; if they cannot, the
 * kernel is marked broken (NO_MEMORY).
 *
 * Four children per node (children of i: 4i+1 .. 4i+4): half the levels
 * of a binary heap, and the four children are compared in a branch-free
 * tournament, so a pop is a short chain of dependent loads (what bounds
 * its speed) rather than a long one.
 *
 * Layout for the cache (with a million queued threads neither the heap
 * nor the control blocks stay in it):
 *   - a[i] holds only the key and seq (16 bytes), and the array is placed
 *     so that every group of four siblings (4i+1 .. 4i+4) is one aligned
 *     64-byte line: a level of the descent is one line, and the
 *     comparisons never read a control block;
 *   - tid[i], a parallel array, names the thread of a[i]; it is read only
 *     for the entry that moves, off the chain of comparisons;
 *   - a thread's index in its heap is kept in one array for the whole
 *     kernel, indexed by tid (k->heap_pos, 4 bytes a thread: a thread is
 *     in at most one heap), not in its control block: the positions
 *     stored as entries move are 16 to a cache line instead of one. */
#ifndef PK_HEAP_H
#define PK_HEAP_H

typedef struct pk_heap_ent { uint64_t key, seq; } pk_heap_ent;

typedef struct pk_heap {
    pk_heap_ent *a;               /* entries; &a[1] is 64-byte aligned      */
    uint32_t *tid;                /* tid[i]: the thread of a[i]             */
    void *block;                  /* the allocation a lies in               */
    uint32_t n, cap;
    uint64_t seq;
    struct pk_kernel *k;          /* set by the first push (or a restore) */
} pk_heap;

#define PK_HEAP_LINE 64

/* The thread of entry i. */
static inline pk_thread *pk_heap_thread(const pk_heap *h, uint32_t i) {
    return pk_thread_at(h->k, h->tid[i]);
}

/* The index of queued thread t in its heap. */
static inline uint32_t pk_heap_pos(const pk_heap *h, const pk_thread *t) {
    return h->k->heap_pos[t->tid];
}

/* Make k->heap_pos cover tid; false if memory ran out. */
static inline bool pk_heap_pos_reserve(struct pk_kernel *k, uint32_t tid) {
    if (PK_LIKELY(tid < k->heap_pos_cap)) return true;
    uint32_t was = k->heap_pos_cap;
    if (pk_vec_grow(k, (void **)&k->heap_pos, &k->heap_pos_cap, tid + 1, sizeof(uint32_t)))
        return false;
    /* 0 for a thread never queued: what its policy data held before the
     * positions moved here, which snapshots still write (pk_kernel_snap.c) */
    memset(k->heap_pos + was, 0, (size_t)(k->heap_pos_cap - was) * sizeof(uint32_t));
    return true;
}

static inline size_t pk_heap_block_bytes(uint32_t cap) {
    return (size_t)cap * sizeof(pk_heap_ent) + PK_HEAP_LINE;
}

/* Give h room for cap entries (cap > h->cap), keeping its n entries;
 * false (h unchanged) if memory ran out. */
static inline bool pk_heap_grow(struct pk_kernel *k, pk_heap *h, uint32_t cap) {
    h->k = k;
    char *block = pk_alloc(k, pk_heap_block_bytes(cap));
    if (!block) return false;
    uint32_t *tid = pk_realloc(k, h->tid, (size_t)h->cap * sizeof *tid, (size_t)cap * sizeof *tid);
    if (!tid) { pk_free(k, block, pk_heap_block_bytes(cap)); return false; }
    /* a + 1 on a line boundary: a = the first address >= block that is
     * sizeof(pk_heap_ent) short of one */
    uintptr_t b = (uintptr_t)block, line = PK_HEAP_LINE;
    uintptr_t at = ((b + sizeof(pk_heap_ent) + line - 1) & ~(line - 1)) - sizeof(pk_heap_ent);
    pk_heap_ent *a = (pk_heap_ent *)at;
    if (h->n) memcpy(a, h->a, (size_t)h->n * sizeof *a);
    if (h->block) pk_free(k, h->block, pk_heap_block_bytes(h->cap));
    h->block = block;
    h->a = a;
    h->tid = tid;
    h->cap = cap;
    return true;
}

/* (key, seq) of x before y's; without branches, since which child is
 * smallest is a coin toss the branch predictor cannot learn. */
static inline bool pk_heap_before(const pk_heap_ent *x, const pk_heap_ent *y) {
#ifdef __SIZEOF_INT128__
    return (((unsigned __int128)x->key << 64) | x->seq) < (((unsigned __int128)y->key << 64) | y->seq);
#else
    return (x->key < y->key) | ((x->key == y->key) & (x->seq < y->seq));
#endif
}

/* a if pick is 0, b if it is 1, without a branch */
static inline uint32_t pk_heap_sel(uint32_t a, uint32_t b, bool pick) {
    return a ^ ((a ^ b) & (0u - (uint32_t)pick));
}

/* Put entry e of thread tid at index i. */
static inline void pk_heap_place(pk_heap *h, uint32_t *pos, uint32_t i, pk_heap_ent e, uint32_t tid) {
    h->a[i] = e;
    h->tid[i] = tid;
    pos[tid] = i;
}

/* The smallest of the children of i (which has at least one), or of its
 * first four when it has them all. */
static inline uint32_t pk_heap_min_child(const pk_heap *h, uint32_t i) {
    uint32_t c = 4 * i + 1;
    const pk_heap_ent *a = h->a;
    if (PK_LIKELY(c + 3 < h->n)) {
        uint32_t x = c + pk_heap_before(&a[c + 1], &a[c]);
        uint32_t y = c + 2 + pk_heap_before(&a[c + 3], &a[c + 2]);
        return pk_heap_sel(x, y, pk_heap_before(&a[y], &a[x]));
    }
    uint32_t best = c;
    for (uint32_t j = c + 1; j < h->n; j++)
        if (pk_heap_before(&a[j], &a[best])) best = j;
    return best;
}

static inline void pk_heap_up(pk_heap *h, uint32_t i, pk_heap_ent e, uint32_t tid) {
    uint32_t *pos = h->k->heap_pos;
    while (i > 0) {
        uint32_t p = (i - 1) / 4;
        if (!pk_heap_before(&e, &h->a[p])) break;
        pk_heap_place(h, pos, i, h->a[p], h->tid[p]);
        i = p;
    }
    pk_heap_place(h, pos, i, e, tid);
}

static inline void pk_heap_down(pk_heap *h, uint32_t i, pk_heap_ent e, uint32_t tid) {
    uint32_t *pos = h->k->heap_pos;
    while (4 * i + 1 < h->n) {
        uint32_t c = pk_heap_min_child(h, i);
        if (!pk_heap_before(&h->a[c], &e)) break;
        pk_heap_place(h, pos, i, h->a[c], h->tid[c]);
        i = c;
    }
    pk_heap_place(h, pos, i, e, tid);
}

/* Insert t with key; false (and nothing inserted) if memory ran out. */
static inline bool pk_heap_push(struct pk_kernel *k, pk_heap *h, pk_thread *t, uint64_t key) {
    if (PK_UNLIKELY(!pk_heap_pos_reserve(k, t->tid))) return false;
    h->k = k;
    if (PK_UNLIKELY(h->n == h->cap)) {
        uint32_t cap = h->cap ? h->cap * 2 : 64;
        if (cap <= h->cap || !pk_heap_grow(k, h, cap)) return false;
    }
    pk_heap_ent e = { key, h->seq++ };
    pk_heap_up(h, h->n++, e, t->tid);
    return true;
}

static inline pk_thread *pk_heap_top(const pk_heap *h) { return h->n ? pk_heap_thread(h, 0) : NULL; }
static inline uint64_t pk_heap_top_key(const pk_heap *h) { return h->a[0].key; }

static inline void pk_heap_remove(pk_heap *h, pk_thread *t) {
    uint32_t i = pk_heap_pos(h, t);
    uint32_t n = --h->n;
    if (i == n) return;
    pk_heap_ent last = h->a[n];
    if (pk_heap_before(&last, &h->a[i])) pk_heap_up(h, i, last, h->tid[n]);
    else pk_heap_down(h, i, last, h->tid[n]);
}

/* Remove and return the first thread.  Bottom-up (Floyd): the hole at
 * the root moves down along the smallest children to a leaf, then the
 * last entry fills it and moves up; the last entry is usually among the
 * largest, so it seldom moves far. */
static inline pk_thread *pk_heap_pop(pk_heap *h) {
    if (!h->n) return NULL;
    pk_thread *t = pk_heap_thread(h, 0);
    uint32_t n = --h->n, i = 0, *pos = h->k->heap_pos;
    if (!n) return t;
    pk_heap_ent last = h->a[n], moved = last;
    uint32_t last_tid = h->tid[n];
    while (4 * i + 1 < n) {
        uint32_t c = pk_heap_min_child(h, i);
        moved = h->a[c];
        pk_heap_place(h, pos, i, moved, h->tid[c]);
        i = c;
    }
    if (i == 0 || !pk_heap_before(&last, &moved)) pk_heap_place(h, pos, i, last, last_tid);  /* the usual case */
    else pk_heap_up(h, i, last, last_tid);
    return t;
}

static inline void pk_heap_free(struct pk_kernel *k, pk_heap *h) {
    if (h->block) pk_free(k, h->block, pk_heap_block_bytes(h->cap));
    pk_free(k, h->tid, (size_t)h->cap * sizeof *h->tid);
    h->a = NULL; h->tid = NULL; h->block = NULL; h->n = h->cap = 0;
}

/* Remove and return the queued thread with the largest (key, seq) that
 * may run on cpu: the largest key, queued last among equal keys (a
 * linear scan: used only by load balancing). */
static inline pk_thread *pk_heap_steal(struct pk_kernel *k, pk_heap *h, uint32_t cpu) {
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < h->n; i++)
        if ((best == UINT32_MAX || pk_heap_before(&h->a[best], &h->a[i]))
            && pk_cpu_allowed(k, pk_heap_thread(h, i), cpu))
            best = i;
    if (best == UINT32_MAX) return NULL;
    pk_thread *t = pk_heap_thread(h, best);
    pk_heap_remove(h, t);
    return t;
}
#endif
