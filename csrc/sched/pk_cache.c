/* pk_cache.c - an optional model of per-CPU caches and cache affinity, as
 * the multiprocessor-scheduling homework simulator of OSTEP ch. 10
 * describes it (ostep-homework cpu-sched-multi/multi.py):
 *
 *   - a thread may declare a working set (bytes, or any unit the cache
 *     size uses); threads without one are not modelled;
 *   - each CPU's cache holds the working sets of the threads that became
 *     warm there, latest first, up to `size`; when one more becomes warm
 *     and they no longer fit, the one that became warm longest ago is
 *     evicted (and must warm up again);
 *   - a thread becomes warm on a CPU after it has run `warmup` ns there
 *     (its progress towards that is kept per CPU while it runs elsewhere);
 *     a working set larger than the cache never stays: each time it would
 *     become warm it evicts everything, itself included, and warms again;
 *   - while warm, its compute operations progress `speedup` times faster:
 *     a compute op of n ns takes ceil(n / speedup) ns there.  Only compute
 *     operations speed up (not polling, memory costs or machine code).
 *
 * The dispatcher asks pk_cache_time for how long the rest of an operation
 * takes (to set the CPU's timer) and pk_cache_work for how much of it was
 * done in `ran` ns; both are exact integer functions of the thread's state
 * on that CPU, so runs stay deterministic.  Threads that exit stay in the
 * caches until evicted, as in multi.py. */
#include <string.h>
#include "pk_core.h"

typedef struct cache_ent {
    uint32_t tid;
    uint32_t warm;                /* 1: its working set is in this cache   */
    uint64_t left;                /* warming: ns still to run here         */
    uint64_t order;               /* warm: when it became warm (a counter) */
} cache_ent;

typedef struct cache_cpu {
    cache_ent *e;
    uint32_t n, cap;
    uint64_t used;                /* sum of the warm working sets          */
    uint64_t clock;
} cache_cpu;

struct pk_cache {
    uint64_t size, warmup, speedup;
    uint64_t *ws;                 /* working set + 1 by tid, 0: none       */
    uint32_t nws;
    cache_cpu *cpu;
    uint32_t ncpus;
};

int pk_cache_configure(pk_kernel *k, uint64_t size, uint64_t warmup, uint64_t speedup) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->cache || k->threads.count) return PK_ERR_BAD_STATE;      /* once, before any spawn */
    if (size > PK_MAX_TIME || warmup > PK_MAX_TIME || speedup < 1 || speedup > 1024)
        return PK_ERR_OUT_OF_RANGE;
    pk_cache *m = pk_alloc(k, sizeof *m);
    if (!m) return PK_ERR_NO_MEMORY;
    memset(m, 0, sizeof *m);
    m->cpu = pk_alloc(k, (size_t)k->ncpus * sizeof *m->cpu);
    if (!m->cpu) { pk_free(k, m, sizeof *m); return PK_ERR_NO_MEMORY; }
    memset(m->cpu, 0, (size_t)k->ncpus * sizeof *m->cpu);
    m->ncpus = k->ncpus;
    m->size = size;
    m->warmup = warmup;
    m->speedup = speedup;
    k->cache = m;
    pk_xflags_update(k);
    return PK_OK;
}

void pk_cache_fini(pk_kernel *k) {
    pk_cache *m = k->cache;
    if (!m) return;
    for (uint32_t i = 0; i < m->ncpus; i++)
        pk_free(k, m->cpu[i].e, (size_t)m->cpu[i].cap * sizeof(cache_ent));
    pk_free(k, m->cpu, (size_t)m->ncpus * sizeof *m->cpu);
    pk_free(k, m->ws, (size_t)m->nws * sizeof *m->ws);
    pk_free(k, m, sizeof *m);
    k->cache = NULL;
}

int pk_thread_set_working_set(pk_kernel *k, uint32_t tid, uint64_t ws) {
    if (!k || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    pk_cache *m = k->cache;
    if (!m) return PK_ERR_BAD_STATE;                                 /* no cache model */
    if (ws > PK_MAX_TIME) return PK_ERR_OUT_OF_RANGE;
    if (tid >= m->nws) {
        uint64_t n = m->nws ? m->nws : 16;
        while (n <= tid) n *= 2;
        uint64_t *a = pk_realloc(k, m->ws, (size_t)m->nws * sizeof *a, (size_t)n * sizeof *a);
        if (!a) return PK_ERR_NO_MEMORY;
        memset(a + m->nws, 0, (size_t)(n - m->nws) * sizeof *a);
        m->ws = a;
        m->nws = (uint32_t)n;
    }
    if (m->ws[tid]) return PK_ERR_BAD_STATE;                         /* set once */
    m->ws[tid] = ws + 1;
    return PK_OK;
}

/* t's working set + 1, 0 when it has none */
static inline uint64_t ws_of(const pk_cache *m, const pk_thread *t) {
    return t->tid < m->nws ? m->ws[t->tid] : 0;
}

static cache_ent *find(cache_cpu *cc, uint32_t tid) {
    for (uint32_t i = 0; i < cc->n; i++)
        if (cc->e[i].tid == tid) return &cc->e[i];
    return NULL;
}

/* e's working set enters the cache (the latest); evict the earliest
 * warmed until the sum fits: a working set larger than the cache evicts
 * every other and then itself (it warms up again). */
static void make_warm(const pk_cache *m, cache_cpu *cc, cache_ent *e, uint64_t ws) {
    e->warm = 1;
    e->left = 0;
    e->order = ++cc->clock;
    cc->used += ws;
    while (cc->used > m->size) {
        cache_ent *v = NULL;
        for (uint32_t i = 0; i < cc->n; i++)
            if (cc->e[i].warm && (!v || cc->e[i].order < v->order)) v = &cc->e[i];
        if (!v) break;
        v->warm = 0;
        v->left = m->warmup;
        cc->used -= m->ws[v->tid] - 1;
    }
}

/* it never fits: it runs cold */
static inline bool oversize(const pk_cache *m, uint64_t w) { return w - 1 > m->size; }

/* t is switched in on c: it starts warming there unless it is warm or
 * warming already. */
void pk_cache_dispatch(pk_kernel *k, pk_cpu *c, pk_thread *t) {
    pk_cache *m = k->cache;
    uint64_t w = ws_of(m, t);
    if (!w) return;
    cache_cpu *cc = &m->cpu[c->id];
    if (find(cc, t->tid)) return;
    if (cc->n == cc->cap) {
        uint32_t n = cc->cap ? cc->cap * 2 : 8;
        cache_ent *a = pk_realloc(k, cc->e, (size_t)cc->cap * sizeof *a, (size_t)n * sizeof *a);
        if (!a) { k->broken = PK_ERR_NO_MEMORY; return; }
        cc->e = a;
        cc->cap = n;
    }
    cache_ent *e = &cc->e[cc->n++];
    e->tid = t->tid;
    e->warm = 0;
    e->left = m->warmup;
    e->order = 0;
    if (!m->warmup) make_warm(m, cc, e, w - 1);
}

static inline uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static inline bool modelled(const pk_cpu *c) {
    return (c->regs.flags & (PK_RF_COMPUTE | PK_RF_POLL)) == PK_RF_COMPUTE;
}

/* How long running t on c takes to do `rem` ns of compute from now. */
pk_time pk_cache_time(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t rem) {
    pk_cache *m = k->cache;
    uint64_t w = ws_of(m, t);
    if (!modelled(c) || !w || oversize(m, w)) return rem;
    cache_ent *e = find(&m->cpu[c->id], t->tid);
    if (!e) return rem;
    if (e->warm) return div_up(rem, m->speedup);
    if (rem <= e->left) return rem;
    return e->left + div_up(rem - e->left, m->speedup);
}

/* t ran `ran` ns on c: how much of its compute that did (at most what is
 * left of it); with commit, it becomes warm on the way if it has warmed up
 * (without, nothing changes: for queries). */
static uint64_t work(pk_kernel *k, const pk_cpu *c, const pk_thread *t, uint64_t ran, bool commit) {
    pk_cache *m = k->cache;
    uint64_t rem = c->regs.x[PK_REG_REM];
    uint64_t w = ws_of(m, t);
    if (!w || !(c->regs.flags & PK_RF_COMPUTE) || (c->regs.flags & PK_RF_POLL)) return ran;
    cache_cpu *cc = &m->cpu[c->id];
    cache_ent *e = find(cc, t->tid);
    if (!e) return ran;
    if (oversize(m, w)) {                             /* cold; flushes the cache as it warms */
        if (!commit) return ran < rem ? ran : rem;
        if (!m->warmup) { make_warm(m, cc, e, w - 1); return ran < rem ? ran : rem; }
        uint64_t r = ran;
        if (r >= e->left) {                           /* evicts all, then itself; */
            r -= e->left;                             /* later rounds change nothing */
            make_warm(m, cc, e, w - 1);
            r %= m->warmup;
        }
        e->left -= r;
        return ran < rem ? ran : rem;
    }
    uint64_t done = 0;
    if (!e->warm) {
        if (ran < e->left) {
            if (commit) e->left -= ran;
            return ran;
        }
        done = e->left;
        ran -= e->left;
        if (commit) make_warm(m, cc, e, w - 1);
    }
    uint64_t fast;
    if (__builtin_mul_overflow(ran, m->speedup, &fast)) fast = UINT64_MAX;
    done = fast > UINT64_MAX - done ? UINT64_MAX : done + fast;
    return done < rem ? done : rem;
}

uint64_t pk_cache_work(pk_kernel *k, pk_cpu *c, pk_thread *t, uint64_t ran) {
    return work(k, c, t, ran, true);
}

uint64_t pk_cache_peek(pk_kernel *k, const pk_cpu *c, const pk_thread *t, uint64_t ran) {
    return work(k, c, t, ran, false);
}
