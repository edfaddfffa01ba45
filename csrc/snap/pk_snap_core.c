/* pk_snap_core.c - snapshots of a whole kernel: the file format, the two
 * entry points, and the core's own state (docs/snapshot.md).
 *
 * Layout (all integers little-endian):
 *   header   magic "\x89PKSNAP\n", u32 version, u32 0, u64 total length,
 *            u64 layout fingerprint, the pk_config field by field
 *   sections u32 tag, u32 section version, u64 payload length, payload, in
 *            this order:
 *            CORE (kernel, CPUs, masks, programs, processes, threads, job
 *            log, trace), RV (only with machine code: pk_rv_snap.c),
 *            MEM (only with memory), OBJS (always: whether
 *            there are kernel objects, and then them), FS (only once the
 *            file system is used: pk_fs.c), FD (only once a process
 *            used descriptors: pk_fd.c), SCHD (run queues and
 *            events), HOST (the host's
 *            bytes), END
 *   trailer  u64 pk_snap_checksum of every byte before it
 * Thread control blocks are written as their 64-bit words with the zero
 * words left out (a bitmap says which follow), process records as raw
 * bytes, both in one pass over the arenas; the thread pointers inside a
 * thread's policy data become tids.  These are the host's struct layouts:
 * the fingerprint (sizes and offsets of those structs, pointer size,
 * byte order) makes a build with other layouts refuse such a file. */
#include <stdlib.h>
#include "pk_core.h"
#include "pk_heap.h"

#define SNAP_MAGIC "\x89PKSNAP\n"
#define HEADER_BYTES 32u
#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_CORE TAG('C', 'O', 'R', 'E')
#define TAG_RV   TAG('R', 'V', ' ', ' ')
#define TAG_MEM  TAG('M', 'E', 'M', ' ')
#define TAG_OBJS TAG('O', 'B', 'J', 'S')
#define TAG_SCHD TAG('S', 'C', 'H', 'D')
#define TAG_FS   TAG('F', 'S', ' ', ' ')
#define TAG_FD   TAG('F', 'D', ' ', ' ')   /* descriptor tables (pk_fd.c) */
#define TAG_HOST TAG('H', 'O', 'S', 'T')
#define TAG_END  TAG('E', 'N', 'D', ' ')
#define CORE_VERSION 1
#define SCHD_VERSION 1

/* A thread control block as snapshots hold it: the layout of pk_thread in
 * format version 1, whatever the order of the fields in memory.  wait is
 * written as pk_thread_wait() computes it and checked on restore. */
typedef struct snap_thread {
    pk_regs regs;                              /*   0 */
    uint32_t tid, pid, prog;                   /* 272 */
    uint8_t kind, state;                       /* 284 */
    int16_t cpu;                               /* 286 */
    uint8_t sclass, rt_prio;                   /* 288 */
    int8_t nice;                               /* 290 */
    uint8_t tflags;                            /* 291 */
    uint16_t rq_cpu, pad0;                     /* 292 */
    uint32_t affinity;                         /* 296 */
    int32_t priority;                          /* 300 */
    uint64_t burst;                            /* 304 */
    uint32_t tickets, migrations;              /* 312 */
    pk_sched_data s;                           /* 320 */
    pk_time arrival, first_run, finish, since; /* 376 */
    uint64_t cpu_time, wait, blocked, nvcsw, nivcsw;   /* 408 */
} snap_thread;                                 /* 448 */
_Static_assert(sizeof(snap_thread) == 448 && offsetof(snap_thread, s) == 320
               && offsetof(snap_thread, nivcsw) == 440, "snapshot thread layout, version 1");

static void snap_thread_of(const pk_kernel *k, const pk_thread *t, snap_thread *v) {
    memset(v, 0, sizeof *v);
    v->regs = t->regs;
    v->tid = t->tid; v->pid = t->pid; v->prog = t->prog;
    v->kind = t->kind; v->state = t->state; v->cpu = t->cpu;
    v->sclass = t->sclass; v->rt_prio = t->rt_prio; v->nice = t->nice; v->tflags = t->tflags;
    v->rq_cpu = t->rq_cpu; v->pad0 = t->pad0;
    v->affinity = t->affinity; v->priority = t->priority; v->burst = t->burst;
    v->tickets = t->tickets; v->migrations = t->migrations;
    v->s = t->s;
    v->arrival = t->arrival; v->first_run = t->first_run; v->finish = t->finish;
    v->since = t->since;
    v->cpu_time = t->cpu_time; v->wait = pk_thread_wait(k, t); v->blocked = t->blocked;
    v->nvcsw = t->nvcsw; v->nivcsw = t->nivcsw;
}

static void thread_of_snap(const snap_thread *v, pk_thread *t) {
    memset(t, 0, sizeof *t);
    t->regs = v->regs;
    t->tid = v->tid; t->pid = v->pid; t->prog = v->prog;
    t->kind = v->kind; t->state = v->state; t->cpu = v->cpu;
    t->sclass = v->sclass; t->rt_prio = v->rt_prio; t->nice = v->nice; t->tflags = v->tflags;
    t->rq_cpu = v->rq_cpu; t->pad0 = v->pad0;
    t->affinity = v->affinity; t->priority = v->priority; t->burst = v->burst;
    t->tickets = v->tickets; t->migrations = v->migrations;
    t->s = v->s;
    t->arrival = v->arrival; t->first_run = v->first_run; t->finish = v->finish;
    t->since = v->since;
    t->cpu_time = v->cpu_time; t->blocked = v->blocked;
    t->nvcsw = v->nvcsw; t->nivcsw = v->nivcsw;
}

/* words of pk_sched_data that may hold thread pointers: list/mlfq next,
 * prev (0, 1), eevdf left, right, best (0..2), cfs next, prev (3, 4) */
#define PTR_WORDS 5

/* ---- shared helpers (pk_snap.h) ------------------------------------------- */

void pk_snap_tref(pk_snap_w *w, const pk_thread *t) { pk_snap_u32(w, t ? t->tid + 1 : 0); }

pk_thread *pk_snap_get_tref(pk_kernel *k, pk_snap_r *r) {
    uint32_t v = pk_snap_get_u32(r);
    if (!v) return NULL;
    if (v > k->threads.count) { pk_snap_bad(r); return NULL; }
    return pk_thread_at(k, v - 1);
}

void pk_snap_heap_save(pk_snap_w *w, const pk_heap *h) {
    pk_snap_u32(w, h->n);
    pk_snap_u32(w, h->cap);
    pk_snap_u64(w, h->seq);
    pk_snap_w_reserve(w, (size_t)h->n * 20);
    for (uint32_t i = 0; i < h->n; i++) {
        pk_snap_u64(w, h->a[i].key);
        pk_snap_u64(w, h->a[i].seq);
        pk_snap_u32(w, h->tid[i] + 1);          /* a thread reference (pk_snap_tref) */
    }
}

int pk_snap_heap_load(pk_rq *rq, pk_snap_r *r, pk_heap *h) {
    pk_kernel *k = rq->k;
    uint32_t n = pk_snap_get_u32(r), cap = pk_snap_get_u32(r);
    uint64_t seq = pk_snap_get_u64(r);
    if (!pk_snap_count_ok(r, n, 20) || n > cap || cap > 2 * (uint64_t)k->threads.count + 64) {
        pk_snap_bad(r);
        return r->err;
    }
    if (cap > h->cap && !pk_heap_grow(k, h, cap)) return PK_ERR_NO_MEMORY;
    /* positions by tid (pk_heap.h); a thread listed twice is caught after */
    if (k->threads.count && !pk_heap_pos_reserve(k, k->threads.count - 1)) return PK_ERR_NO_MEMORY;
    h->k = k;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        h->a[i].key = pk_snap_get_u64(r);
        h->a[i].seq = pk_snap_get_u64(r);
        pk_thread *t = pk_snap_get_tref(k, r);
        if (!pk_snap_queued(rq, t, 0)) { pk_snap_bad(r); break; }
        h->tid[i] = t->tid;
        k->heap_pos[t->tid] = i;
    }
    for (uint32_t i = 0; i < n && !r->err; i++)
        if (k->heap_pos[h->tid[i]] != i) pk_snap_bad(r);
    h->n = r->err ? 0 : n;
    h->seq = seq;
    return r->err;
}

int pk_snap_queued(const pk_rq *rq, const pk_thread *t, int rt) {
    return t && t->state == PK_TS_READY && pk_is_rt(t) == !!rt && t->rq_cpu == rq->cpu
           && !(t->tflags & PK_TF_NEWCLASS);
}

int pk_snap_is_link(const pk_thread *t, size_t off) {
    uint64_t v;
    memcpy(&v, (const char *)&t->s + off, sizeof v);
    return !v || (off % 8 == 0 && off / 8 < PTR_WORDS && (t->pad0 >> (off / 8) & 1));
}

static pk_thread *link_at(pk_thread *t, size_t off) {
    pk_thread *v;
    memcpy(&v, (char *)&t->s + off, sizeof v);
    return v;
}

uint64_t pk_snap_list(const pk_rq *rq, pk_thread *head, pk_thread *tail, size_t next_off,
                      size_t prev_off, uint64_t max, int rt) {
    uint64_t n = 0;
    pk_thread *prev = NULL;
    for (pk_thread *t = head; t; prev = t, t = link_at(t, next_off)) {
        if (++n > max || !pk_snap_queued(rq, t, rt) || link_at(t, prev_off) != prev
            || !pk_snap_is_link(t, next_off))
            return UINT64_MAX;
    }
    return prev == tail ? n : UINT64_MAX;
}

/* ---- format helpers --------------------------------------------------------- */

static uint64_t layout_fingerprint(void) {
    const uint16_t one = 1;
    uint64_t v[] = {
        sizeof(snap_thread), offsetof(snap_thread, tid), offsetof(snap_thread, kind),
        offsetof(snap_thread, pad0), offsetof(snap_thread, s), offsetof(snap_thread, arrival),
        offsetof(snap_thread, nivcsw), sizeof(pk_sched_data), sizeof(pk_regs), sizeof(pk_proc),
        offsetof(pk_proc, ext), offsetof(pk_proc, as), offsetof(pk_proc, parent),
        offsetof(pk_proc, sigchld), sizeof(pk_event), sizeof(pk_trace_event),
        sizeof(pk_job_record), sizeof(void *), PK_CHUNK, *(const uint8_t *)&one,
        sizeof(pk_costs),        /* the header's cost fields: a file of other costs is refused */
    };
    return pk_snap_checksum(v, sizeof v);
}

static void config_save(pk_snap_w *w, const pk_config *c) {
    pk_snap_u32(w, c->cpus); pk_snap_u32(w, c->policy); pk_snap_u64(w, c->quantum);
    pk_snap_u32(w, c->preemptive); pk_snap_u32(w, c->max_threads); pk_snap_u64(w, c->seed);
    pk_snap_u64(w, c->livelock_steps);
    const pk_costs *co = &c->costs;
    uint64_t costs[12] = { co->switch_ns, co->migrate_ns, co->walk_ns, co->minor_fault_ns,
                           co->tlb_flush_ns, co->ipi_ns, co->syscall_ns, co->wakeup_ns,
                           co->insn_cycles, co->clock_hz, co->fork_ns, co->socket_ns };
    pk_snap_u64s(w, costs, 12);
    pk_snap_u32(w, c->shared_rq); pk_snap_u32(w, c->nparams); pk_snap_u64(w, c->balance_ns);
    pk_snap_u64(w, c->rt_slice); pk_snap_u64(w, c->rt_runtime); pk_snap_u64(w, c->rt_period);
    pk_snap_u64(w, c->job_log_limit);
    pk_snap_u64s(w, c->params, PK_MAX_PARAMS);
    uint64_t lim[5] = { c->max_memory, c->max_procs, c->max_handles, c->max_messages,
                        c->max_message_bytes };
    pk_snap_u64s(w, lim, 5);
    pk_snap_u64(w, c->epoch);                            /* format version 2 */
    pk_snap_u32(w, c->no_steal);
    pk_snap_u64(w, c->steal_ns);
}

static void config_load(pk_snap_r *r, pk_config *c) {
    memset(c, 0, sizeof *c);
    c->cpus = pk_snap_get_u32(r); c->policy = pk_snap_get_u32(r); c->quantum = pk_snap_get_u64(r);
    c->preemptive = pk_snap_get_u32(r); c->max_threads = pk_snap_get_u32(r);
    c->seed = pk_snap_get_u64(r); c->livelock_steps = pk_snap_get_u64(r);
    uint64_t co[12];
    pk_snap_get_u64s(r, co, 12);
    c->costs = (pk_costs){ co[0], co[1], co[2], co[3], co[4], co[5], co[6], co[7], co[8], co[9],
                           co[10], co[11] };
    c->shared_rq = pk_snap_get_u32(r); c->nparams = pk_snap_get_u32(r);
    c->balance_ns = pk_snap_get_u64(r); c->rt_slice = pk_snap_get_u64(r);
    c->rt_runtime = pk_snap_get_u64(r); c->rt_period = pk_snap_get_u64(r);
    c->job_log_limit = pk_snap_get_u64(r);
    pk_snap_get_u64s(r, c->params, PK_MAX_PARAMS);
    uint64_t lim[5];
    pk_snap_get_u64s(r, lim, 5);
    c->max_memory = lim[0]; c->max_procs = lim[1]; c->max_handles = lim[2];
    c->max_messages = lim[3]; c->max_message_bytes = lim[4];
    c->epoch = pk_snap_get_u64(r);
    c->no_steal = pk_snap_get_u32(r);
    c->steal_ns = pk_snap_get_u64(r);
}

static bool same_policy(const pk_config *a, const pk_config *b) {
    if (a->policy != b->policy || a->quantum != b->quantum || a->preemptive != b->preemptive
        || a->nparams != b->nparams) return false;
    return !memcmp(a->params, b->params, a->nparams * sizeof a->params[0]);
}

/* Start a section; returns where its length goes. */
static size_t section_begin(pk_snap_w *w, uint32_t tag, uint32_t version) {
    pk_snap_u32(w, tag);
    pk_snap_u32(w, version);
    pk_snap_u64(w, 0);
    return w->len;
}

static void section_end(pk_snap_w *w, size_t start) {
    if (w->err) return;
    uint64_t n = w->len - start;
    for (int i = 0; i < 8; i++) w->buf[start - 8 + i] = (uint8_t)(n >> (8 * i));
}

static int refuse(pk_snap_refusal *why, uint32_t reason, uint32_t tid, uint64_t value, int status) {
    why->reason = reason;
    why->tid = tid;
    why->value = value;
    why->status = status;
    return status;
}

/* ---- the core: threads ------------------------------------------------------ */

typedef struct chunk_ref { uintptr_t base; uint32_t index; } chunk_ref;

static int chunk_cmp(const void *a, const void *b) {
    uintptr_t x = ((const chunk_ref *)a)->base, y = ((const chunk_ref *)b)->base;
    return x < y ? -1 : x > y;
}

/* tid + 1 of the thread at address v, or 0 if v is not one */
static uint32_t thread_at_address(const chunk_ref *c, uint32_t n, uint32_t count, uint64_t v) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {                         /* the last chunk with base <= v */
        uint32_t mid = (lo + hi) / 2;
        if (c[mid].base <= v) lo = mid + 1; else hi = mid;
    }
    if (!lo) return 0;
    const chunk_ref *ch = &c[lo - 1];
    uint64_t off = v - ch->base;
    if (off >= (uint64_t)PK_CHUNK * sizeof(pk_thread) || off % sizeof(pk_thread)) return 0;
    uint64_t tid = ((uint64_t)ch->index << PK_CHUNK_SHIFT) + off / sizeof(pk_thread);
    return tid < count ? (uint32_t)tid + 1 : 0;
}

/* The threads, each as its control block's 56 words with the zero words
 * left out: a u64 whose bit i says word i follows, then those words.  In
 * each copy the words of the policy data that point at threads become
 * tid + 1 and pad0 records which words those are (1 << word). */
#define TWORDS (sizeof(snap_thread) / 8)
_Static_assert(sizeof(snap_thread) % 8 == 0 && sizeof(snap_thread) / 8 <= 64, "thread words");

static void thread_put(const pk_kernel *k, pk_snap_w *w, const pk_thread *t, const chunk_ref *c,
                       uint32_t nch, uint32_t count) {
    snap_thread copy;
    snap_thread_of(k, t, &copy);
    uint16_t mask = 0;
    for (int x = 0; x < PTR_WORDS; x++) {
        if (!copy.s.raw[x]) continue;
        uint32_t ref = thread_at_address(c, nch, count, copy.s.raw[x]);
        if (ref) { copy.s.raw[x] = ref; mask |= (uint16_t)(1u << x); }
    }
    copy.pad0 = mask;
    uint64_t word[TWORDS];
    memcpy(word, &copy, sizeof word);
    uint8_t *out = w->buf + w->len, *p = out + 8;
    uint64_t present = 0;
    for (unsigned i = 0; i < TWORDS; i++) {
        uint64_t v = word[i];
        if (!v) continue;
        present |= 1ull << i;
        for (int b = 0; b < 8; b++) p[b] = (uint8_t)(v >> (8 * b));
        p += 8;
    }
    for (int b = 0; b < 8; b++) out[b] = (uint8_t)(present >> (8 * b));
    w->len = (size_t)(p - w->buf);
}

/* Refuses (in the same pass) a live thread whose body cannot be saved. */
static int threads_save(pk_kernel *k, pk_snap_w *w, pk_snap_refusal *why) {
    uint32_t n = k->threads.count, nch = k->threads.nchunks;
    pk_snap_u32(w, n);
    chunk_ref *c = malloc((nch ? nch : 1) * sizeof *c);
    if (!c) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < nch; i++) c[i] = (chunk_ref){ (uintptr_t)k->threads.chunks[i], i };
    qsort(c, nch, sizeof *c, chunk_cmp);
    /* room for the worst case at once: pages never written cost nothing */
    if (pk_snap_w_reserve(w, (size_t)n * (sizeof(pk_thread) + 8))) { free(c); return w->err; }
    for (uint32_t i = 0; i < n; i++) {
        const pk_thread *t = pk_thread_at(k, i);
        if (PK_UNLIKELY(t->kind != PK_BODY_SCRIPT) && t->kind != PK_BODY_RV
            && t->state != PK_TS_EXITED) {
            free(c);
            if (t->kind == PK_BODY_HOST)
                return refuse(why, PK_SNAP_R_HOST_THREAD, i, 0, PK_ERR_NOT_SUPPORTED);
            return refuse(why, PK_SNAP_R_BODY_KIND, i, t->kind, PK_ERR_NOT_SUPPORTED);
        }
        thread_put(k, w, t, c, nch, n);
    }
    free(c);
    return w->err;
}

/* Read one thread written by thread_put into t; false if its wait is not
 * the rest of its lifetime (checked here unless it runs: its CPU's
 * seg_start is read later). */
static bool thread_get(pk_snap_r *r, const pk_kernel *k, pk_thread *t) {
    uint64_t present = pk_snap_get_u64(r);
    unsigned nw = (unsigned)__builtin_popcountll(present);
    if (r->err || present >> TWORDS || (size_t)nw * 8 > pk_snap_left(r)) { pk_snap_bad(r); return false; }
    const uint8_t *p = r->buf + r->off;
    uint64_t word[TWORDS] = { 0 };
    while (present) {
        unsigned i = (unsigned)__builtin_ctzll(present);
        present &= present - 1;
        uint64_t v = 0;
        for (int b = 0; b < 8; b++) v |= (uint64_t)p[b] << (8 * b);
        word[i] = v;
        p += 8;
    }
    snap_thread v;
    memcpy(&v, word, sizeof word);
    thread_of_snap(&v, t);
    r->off += (size_t)nw * 8;
    return t->state == PK_TS_RUNNING || pk_thread_wait(k, t) == v.wait;
}

/* ---- where a script thread may stand ---------------------------------------
 * The interpreter trusts a thread's pc and loop depth (x[PK_REG_DEPTH]
 * indexes the loop counters).  Scripts are structured, so the depth at an
 * instruction is fixed: the loops around it, counted from the start of the
 * innermost thread body (PK_OP_SPAWN_THREAD) that holds it, whose thread
 * starts at depth 0.  depth_map holds that number for every pc of every
 * script program (NO_PC: an argument word, where no thread can stand). */
#define NO_PC 0xff
typedef struct depth_map { uint8_t **at; uint32_t n; } depth_map;

static void depth_map_free(depth_map *m) {
    for (uint32_t i = 0; i < m->n; i++) free(m->at[i]);
    free(m->at);
    m->at = NULL;
    m->n = 0;
}

static uint8_t *prog_depths(const pk_prog *p) {
    uint32_t n = p->nops;
    uint8_t *d = calloc((size_t)n + 1, 1), *base = calloc((size_t)n + 1, 1);
    if (!d || !base) { free(d); free(base); return NULL; }
    int32_t *delta = calloc((size_t)n + 2, sizeof *delta);
    if (!delta) { free(d); free(base); return NULL; }
    for (uint32_t i = 0; i < n; i++)             /* loop i..a covers pcs i+1 .. a */
        if (p->ops[i].code == PK_OP_LOOP) { delta[i + 1]++; delta[p->ops[i].a + 1]--; }
    int32_t run = 0;
    for (uint32_t i = 0; i <= n; i++) { run += delta[i]; d[i] = (uint8_t)run; }
    for (uint32_t i = 0; i < n; i++)             /* bodies in order: inner ones last */
        if (p->ops[i].code == PK_OP_SPAWN_THREAD)
            for (uint32_t j = i + 1; j <= i + p->ops[i].b && j <= n; j++) base[j] = d[i + 1];
    for (uint32_t i = 0; i <= n; i++) d[i] = (uint8_t)(d[i] - base[i]);
    for (uint32_t i = 0; i < n; i++)
        if (p->ops[i].code == PK_OP_ARG) d[i] = NO_PC;
    free(delta);
    free(base);
    return d;
}

static int depth_map_build(pk_kernel *k, depth_map *m) {
    m->n = 0;
    m->at = calloc(k->nprogs ? k->nprogs : 1, sizeof *m->at);
    if (!m->at) return PK_ERR_NO_MEMORY;
    for (; m->n < k->nprogs; m->n++) {
        if (k->progs[m->n].kind != PK_BODY_SCRIPT) continue;
        if (!(m->at[m->n] = prog_depths(&k->progs[m->n]))) return PK_ERR_NO_MEMORY;
    }
    return PK_OK;
}

/* registers g of script thread t stand where its program allows */
static bool regs_ok(const depth_map *m, const pk_kernel *k, const pk_thread *t, const pk_regs *g) {
    if (t->kind != PK_BODY_SCRIPT || t->state == PK_TS_EXITED) return true;
    return g->pc <= k->progs[t->prog].nops && g->x[PK_REG_DEPTH] == m->at[t->prog][g->pc];
}

/* a thread as loaded: every field used as an index is in range */
static bool thread_ok(pk_kernel *k, const pk_thread *t, uint32_t tid, bool rv) {
    if (t->tid != tid || t->pid >= k->procs.count || t->prog >= k->nprogs) return false;
    const pk_prog *p = &k->progs[t->prog];
    if (t->kind != p->kind) return false;
    if (t->state > PK_TS_WAITING) return false;
    if (t->kind != PK_BODY_SCRIPT && !(t->kind == PK_BODY_HOST && t->state == PK_TS_EXITED)
        && !(t->kind == PK_BODY_RV && rv))
        return false;                         /* kinds this build cannot run from a snapshot;
                                                 machine code: checked by pk_rv_snap_load */
    if (t->cpu < -1 || t->cpu >= (int32_t)k->ncpus) return false;
    if ((t->state == PK_TS_RUNNING) != (t->cpu >= 0)) return false;
    if (t->sclass > PK_CLASS_RR || t->rt_prio > 99 || (t->sclass && !t->rt_prio)) return false;
    if (t->nice < -20 || t->nice > 19 || t->tickets == 0) return false;
    if (t->rq_cpu != PK_RQ_NONE && t->rq_cpu >= k->ncpus) return false;
    if (t->affinity >= k->nmasks) return false;
    return true;
}

/* Threads; counts the running ones and the ready ones of each class, and
 * (unless a new policy takes them over) checks each one's policy data. */
typedef struct thread_counts {
    uint32_t running;
    uint64_t ready, ready_rt;
    bool mem, objs, rv;         /* the snapshot has those sections */
    depth_map depths;
} thread_counts;

static bool policy_data_ok(pk_kernel *k, const pk_thread *t) {
    const pk_policy *pol = k->rqs[0].pol;
    if (!pol->snap_thread || t->sclass != PK_CLASS_OTHER || (t->tflags & PK_TF_NEWCLASS)
        || t->state == PK_TS_NEW || t->state == PK_TS_EXITED || t->rq_cpu == PK_RQ_NONE)
        return true;
    return pol->snap_thread(pk_thread_rq(k, t), t);
}

static int threads_load(pk_kernel *k, pk_snap_r *r, thread_counts *tc, bool new_policy) {
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 8) || n > k->cfg.max_threads) {
        pk_snap_bad(r);
        return r->err;
    }
    if (n && pk_arena_grow(k, &k->threads, n) < 0) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i += PK_CHUNK) {
        uint32_t m = n - i < PK_CHUNK ? n - i : PK_CHUNK;
        pk_thread *t = pk_thread_at(k, i);
        for (uint32_t j = 0; j < m && !r->err; j++, t++) {
            bool wait_ok = thread_get(r, k, t);
            if (r->err) break;
            uint16_t mask = t->pad0;       /* kept until the run queues are checked */
            if (mask >> PTR_WORDS || !thread_ok(k, t, i + j, tc->rv) || !wait_ok) { pk_snap_bad(r); break; }
            tc->running += t->state == PK_TS_RUNNING;
            if (t->state == PK_TS_READY) {
                if (pk_is_rt(t)) tc->ready_rt++; else tc->ready++;
            }
            for (int x = 0; x < PTR_WORDS; x++) {
                if (!(mask >> x & 1)) continue;
                uint64_t ref = t->s.raw[x];
                if (!ref || ref > n) { pk_snap_bad(r); break; }
                pk_thread *to = pk_thread_at(k, (uint32_t)(ref - 1));
                memcpy(&t->s.raw[x], &to, sizeof to);
            }
            if (!new_policy && !policy_data_ok(k, t)) pk_snap_bad(r);
            if (t->state != PK_TS_RUNNING && !regs_ok(&tc->depths, k, t, &t->regs)) pk_snap_bad(r);
            if (t->state != PK_TS_EXITED && ((!tc->objs && pk_thread_has_wait_reg(t)
                                              && t->regs.x[PK_REG_WAIT])
                                             || (!tc->mem && k->progs[t->prog].vm)))
                pk_snap_bad(r);             /* refers to a part the snapshot lacks */
        }
    }
    return r->err;
}

/* ---- the core: the rest ----------------------------------------------------- */

static void regs_save(pk_snap_w *w, const pk_regs *g) {
    pk_snap_u64s(w, g->x, 32);
    pk_snap_u64(w, g->pc);
    pk_snap_u64(w, g->flags);
}

static void regs_load(pk_snap_r *r, pk_regs *g) {
    pk_snap_get_u64s(r, g->x, 32);
    g->pc = pk_snap_get_u64(r);
    g->flags = pk_snap_get_u64(r);
}

static void cpus_save(pk_kernel *k, pk_snap_w *w) {
    for (uint32_t i = 0; i < k->ncpus; i++) {
        const pk_cpu *c = &k->cpus[i];
        regs_save(w, &c->regs);
        pk_snap_tref(w, c->curr);
        uint64_t v[11] = { c->timer, c->seg_start, c->slice_start, c->slice_end, c->idle_since,
                           c->busy, c->idle, c->overhead, c->switches, c->migrations_in,
                           c->resched };
        pk_snap_u64s(w, v, 11);
    }
}

/* CPUs; each running thread (`running` of them) must be its CPU's curr. */
static int cpus_load(pk_kernel *k, pk_snap_r *r, const thread_counts *tc) {
    uint32_t running = tc->running;
    bool objs = tc->objs;
    uint32_t busy = 0;
    for (uint32_t i = 0; i < k->ncpus && !r->err; i++) {
        pk_cpu *c = &k->cpus[i];
        regs_load(r, &c->regs);
        c->curr = pk_snap_get_tref(k, r);
        uint64_t v[11];
        pk_snap_get_u64s(r, v, 11);
        c->timer = v[0]; c->seg_start = v[1]; c->slice_start = v[2]; c->slice_end = v[3];
        c->idle_since = v[4]; c->busy = v[5]; c->idle = v[6]; c->overhead = v[7];
        c->switches = v[8]; c->migrations_in = v[9]; c->resched = (uint32_t)v[10];
        if (c->curr && (c->curr->state != PK_TS_RUNNING || c->curr->cpu != (int32_t)i))
            pk_snap_bad(r);
        busy += c->curr != NULL;
        if (c->curr && !regs_ok(&tc->depths, k, c->curr, &c->regs)) pk_snap_bad(r);
        if (!objs && c->curr && pk_thread_has_wait_reg(c->curr) && c->regs.x[PK_REG_WAIT])
            pk_snap_bad(r);                    /* no wait records */
        if (k->tree.size > 1) pk_cputree_update(k, i);
    }
    if (busy != running) pk_snap_bad(r);     /* each curr is a distinct running thread */
    return r->err;
}

static void progs_save(pk_kernel *k, pk_snap_w *w) {
    pk_snap_u32(w, k->nprogs);
    for (uint32_t i = 0; i < k->nprogs; i++) {
        const pk_prog *p = &k->progs[i];
        pk_snap_u32(w, p->kind);
        pk_snap_u32(w, p->nops);
        if (p->kind == PK_BODY_RV) pk_snap_u32(w, p->image);   /* no ops: its image */
        for (uint32_t j = 0; j < p->nops; j++) {
            pk_snap_u32(w, p->ops[j].code);
            pk_snap_u32(w, p->ops[j].a);
            pk_snap_u64(w, p->ops[j].b);
        }
    }
}

/* A machine-code program naming image `image` (pk_rv_elf.c makes them so). */
static int rv_prog_add(pk_kernel *k, uint32_t image) {
    if (k->nprogs == k->progs_cap) {
        uint32_t cap = k->progs_cap ? k->progs_cap * 2 : 16;
        pk_prog *p = pk_realloc(k, k->progs, k->progs_cap * sizeof *p, cap * sizeof *p);
        if (!p) return PK_ERR_NO_MEMORY;
        k->progs = p;
        k->progs_cap = cap;
    }
    k->progs[k->nprogs++] = (pk_prog){ PK_BODY_RV, 0, NULL, PK_NO_BURST, { 0, 0, 0, 0 }, 1, image };
    return PK_OK;
}

/* Programs are loaded again through the loaders, which check them. */
static int progs_load(pk_kernel *k, pk_snap_r *r) {
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 8)) return r->err;
    pk_op *ops = NULL;
    uint32_t cap = 0;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        uint32_t kind = pk_snap_get_u32(r), nops = pk_snap_get_u32(r), id = 0;
        if (!pk_snap_count_ok(r, nops, 16)) break;
        if (kind == PK_BODY_HOST && nops == 0) {
            int s = pk_prog_load_host(k, &id);
            if (s) { free(ops); return s; }
            continue;
        }
        if (kind == PK_BODY_RV && nops == 0) {    /* its image: checked by pk_rv_snap_load */
            int s = rv_prog_add(k, pk_snap_get_u32(r));
            if (s) { free(ops); return s; }
            continue;
        }
        if (kind != PK_BODY_SCRIPT) { pk_snap_bad(r); break; }
        if (nops > cap) {
            pk_op *o = realloc(ops, (size_t)nops * sizeof *o);
            if (!o) { free(ops); return PK_ERR_NO_MEMORY; }
            ops = o;
            cap = nops;
        }
        for (uint32_t j = 0; j < nops; j++) {
            ops[j].code = pk_snap_get_u32(r);
            ops[j].a = pk_snap_get_u32(r);
            ops[j].b = pk_snap_get_u64(r);
        }
        if (!r->err && pk_prog_load_script(k, ops, nops, &id)) pk_snap_bad(r);
    }
    free(ops);
    return r->err;
}

static int procs_save(pk_kernel *k, pk_snap_w *w) {
    uint32_t n = k->procs.count;
    pk_snap_u32(w, n);
    for (uint32_t i = 0; i < n; i += PK_CHUNK) {
        uint32_t m = n - i < PK_CHUNK ? n - i : PK_CHUNK;
        pk_snap_put(w, pk_proc_at(k, i), (size_t)m * sizeof(pk_proc));
    }
    return w->err;
}

static int procs_load(pk_kernel *k, pk_snap_r *r, uint32_t nthreads, bool mem, bool objs) {
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, sizeof(pk_proc))) return r->err;
    if (n && pk_arena_grow(k, &k->procs, n) < 0) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i += PK_CHUNK) {
        uint32_t m = n - i < PK_CHUNK ? n - i : PK_CHUNK;
        pk_proc *p = pk_proc_at(k, i);
        pk_snap_get(r, p, (size_t)m * sizeof(pk_proc));
        for (uint32_t j = 0; j < m; j++, p++)
            if (p->prog >= k->nprogs || p->state > PK_PS_KILLED || p->nthreads > nthreads
                || p->first_tid > nthreads - p->nthreads
                || (!mem && p->as) || (!objs && pk_proc_ext(p))) { pk_snap_bad(r); break; }
    }
    if (!r->err) {                     /* the tree's links agree and every chain ends */
        uint64_t bad, cycles;
        pk_ptree_check(k, &bad, &cycles);
        if (bad || cycles) pk_snap_bad(r);
    }
    return r->err;
}

static void kernel_save(pk_kernel *k, pk_snap_w *w) {
    pk_snap_u64(w, k->now);
    pk_snap_u64s(w, k->idle_mask, PK_MAX_CPUS / 64);
    pk_snap_u64s(w, k->rng.s, 4);
    uint64_t v[12] = { k->context_switches, k->steps, k->events, k->live_threads, k->migrations,
                       k->balance_runs, k->digest, k->rt_period_no, k->rt_live, k->same_time,
                       k->same_steps, k->evq.seq };
    pk_snap_u64s(w, v, 12);
    pk_snap_u8(w, k->balance_armed);
    pk_snap_u8(w, k->rt_period_armed);
    pk_snap_u64(w, k->lat.count); pk_snap_u64(w, k->lat.sum); pk_snap_u64(w, k->lat.max);
    pk_snap_u64s(w, k->lat.buckets, PK_LAT_BUCKETS);
    pk_snap_u32(w, k->limit_last);
    pk_snap_u64s(w, k->limit_hits, PK_LIMITS);
    pk_snap_u32(w, k->nmasks);
    for (uint32_t i = 0; i < k->nmasks; i++) pk_snap_u64s(w, k->masks[i].bits, PK_MAX_CPUS / 64);
}

static int kernel_load(pk_kernel *k, pk_snap_r *r) {
    k->now = pk_snap_get_u64(r);
    pk_snap_get_u64s(r, k->idle_mask, PK_MAX_CPUS / 64);
    pk_snap_get_u64s(r, k->rng.s, 4);
    uint64_t v[12];
    pk_snap_get_u64s(r, v, 12);
    k->context_switches = v[0]; k->steps = v[1]; k->events = v[2]; k->live_threads = v[3];
    k->migrations = v[4]; k->balance_runs = v[5]; k->digest = v[6]; k->rt_period_no = v[7];
    k->rt_live = v[8]; k->same_time = v[9]; k->same_steps = v[10]; k->evq.seq = v[11];
    k->balance_armed = pk_snap_get_u8(r);
    k->rt_period_armed = pk_snap_get_u8(r);
    k->lat.count = pk_snap_get_u64(r); k->lat.sum = pk_snap_get_u64(r);
    k->lat.max = pk_snap_get_u64(r);
    pk_snap_get_u64s(r, k->lat.buckets, PK_LAT_BUCKETS);
    k->limit_last = pk_snap_get_u32(r);
    pk_snap_get_u64s(r, k->limit_hits, PK_LIMITS);
    if (k->now > PK_MAX_TIME || k->limit_last >= PK_LIMITS) pk_snap_bad(r);
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 32) || n < 1) { pk_snap_bad(r); return r->err; }
    if (n > k->masks_cap) {
        pk_mask *m = pk_realloc(k, k->masks, k->masks_cap * sizeof *m, (size_t)n * sizeof *m);
        if (!m) return PK_ERR_NO_MEMORY;
        k->masks = m;
        k->masks_cap = n;
    }
    pk_mask all = k->masks[0];
    for (uint32_t i = 0; i < n; i++) {                /* each a non-empty set of CPUs */
        uint64_t any = 0, *b = k->masks[i].bits;
        pk_snap_get_u64s(r, b, PK_MAX_CPUS / 64);
        for (uint32_t j = 0; j < PK_MAX_CPUS / 64; j++) {
            if (b[j] & ~all.bits[j]) pk_snap_bad(r);
            any |= b[j];
        }
        if (!any) pk_snap_bad(r);
    }
    if (memcmp(&all, &k->masks[0], sizeof all)) pk_snap_bad(r);
    for (uint32_t j = 0; j < PK_MAX_CPUS / 64; j++)
        if (k->idle_mask[j] & ~all.bits[j]) pk_snap_bad(r);
    k->nmasks = n;
    pk_xflags_update(k);
    return r->err;
}

static int core_save(pk_kernel *k, pk_snap_w *w, pk_snap_refusal *why) {
    size_t at = section_begin(w, TAG_CORE, CORE_VERSION);
    kernel_save(k, w);
    progs_save(k, w);
    procs_save(k, w);
    int s = threads_save(k, w, why);
    if (s) return s;
    cpus_save(k, w);
    pk_joblog_snap_save(k, w);
    pk_snap_u8(w, k->trace != NULL);
    if (k->trace) pk_trace_snap_save(k, w);
    section_end(w, at);
    return w->err;
}

static int core_load(pk_kernel *k, pk_snap_r *r, thread_counts *tc, bool new_policy) {
    int s = kernel_load(k, r);
    if (!s) s = progs_load(k, r);
    if (s) return s;
    /* processes refer to threads by index: read the thread count first */
    size_t procs_at = r->off;
    uint32_t nprocs = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, nprocs, sizeof(pk_proc))) return r->err;
    r->off += (size_t)nprocs * sizeof(pk_proc);
    size_t threads_at = r->off;
    uint32_t nthreads = pk_snap_get_u32(r);
    r->off = procs_at;
    if (r->err) return r->err;
    if ((s = procs_load(k, r, nthreads, tc->mem, tc->objs))) return s;
    if ((s = depth_map_build(k, &tc->depths))) return s;
    if (r->off != threads_at) { pk_snap_bad(r); return r->err; }
    if ((s = threads_load(k, r, tc, new_policy))) return s;
    if ((s = cpus_load(k, r, tc))) return s;
    if ((s = pk_joblog_snap_load(k, r))) return s;
    if (pk_snap_get_u8(r)) {
        if ((s = pk_trace_snap_load(k, r))) return s;
    }
    return r->err;
}

/* ---- run queues and events ------------------------------------------------- */

static void rt_save(const pk_rq *rq, pk_snap_w *w) {
    const pk_rt_rq *t = &rq->rt;
    for (int p = 1; p < 100; p++) { pk_snap_tref(w, t->head[p]); pk_snap_tref(w, t->tail[p]); }
    pk_snap_u64s(w, t->bitmap, 2);
    pk_snap_u64(w, t->nr);
    pk_snap_u64(w, t->used);
    pk_snap_u32(w, t->throttled);
}

static void rt_load(pk_kernel *k, pk_rq *rq, pk_snap_r *r) {
    pk_rt_rq *t = &rq->rt;
    for (int p = 1; p < 100; p++) {
        t->head[p] = pk_snap_get_tref(k, r);
        t->tail[p] = pk_snap_get_tref(k, r);
        if (!t->head[p] != !t->tail[p]) pk_snap_bad(r);
    }
    pk_snap_get_u64s(r, t->bitmap, 2);
    t->nr = pk_snap_get_u64(r);
    t->used = pk_snap_get_u64(r);
    t->throttled = pk_snap_get_u32(r);
    if (t->bitmap[0] & 1 || t->bitmap[1] >> (100 - 64) || t->nr > k->threads.count)
        pk_snap_bad(r);                        /* bits for priorities 1..99 only */
    uint64_t found = 0;
    for (int p = 1; p < 100 && !r->err; p++) {
        if (!t->head[p] != !(t->bitmap[p >> 6] >> (p & 63) & 1)) pk_snap_bad(r);
        uint64_t n = pk_snap_list(rq, t->head[p], t->tail[p], offsetof(pk_sched_data, list.next),
                                  offsetof(pk_sched_data, list.prev), t->nr - found, 1);
        if (n == UINT64_MAX) { pk_snap_bad(r); break; }
        for (pk_thread *x = t->head[p]; x; x = x->s.list.next)
            if (x->rt_prio != p) pk_snap_bad(r);
        found += n;
    }
    if (found != t->nr) pk_snap_bad(r);
}

static int schd_save(pk_kernel *k, pk_snap_w *w) {
    size_t at = section_begin(w, TAG_SCHD, SCHD_VERSION);
    for (uint32_t i = 0; i < k->nrqs; i++) {
        const pk_rq *rq = &k->rqs[i];
        pk_snap_u64(w, rq->nr);
        rt_save(rq, w);
        size_t pat = section_begin(w, rq->pol->snap_save ? k->cfg.policy : 0, 1);
        if (rq->pol->snap_save) rq->pol->snap_save(rq, w);
        section_end(w, pat);
    }
    const pk_evq *q = &k->evq;
    pk_snap_u32(w, q->n);
    pk_snap_w_reserve(w, (size_t)q->n * 24);
    for (uint32_t i = 0; i < q->n; i++) {
        pk_snap_u64(w, q->heap[i].time);
        pk_snap_u64(w, q->heap[i].order);
        pk_snap_u64(w, q->heap[i].arg);
    }
    section_end(w, at);
    return w->err;
}

static bool event_ok(pk_kernel *k, const pk_event *e) {
    unsigned kind = pk_event_kind(e);
    if (e->time > PK_MAX_TIME && e->time != PK_FOREVER) return false;
    switch (kind) {
    case PK_EV_ARRIVAL: return e->arg < k->threads.count;
    case PK_EV_WAKE: return pk_rv_snap_wake_ok(k, e->arg);
    case PK_EV_BALANCE: case PK_EV_RT_PERIOD: return true;
    case PK_EV_STEAL: return k->cfg.steal_ns != 0 && !k->steal_armed++;   /* at most one */
    case PK_EV_WAIT_DEADLINE:
        return k->objs && (uint32_t)e->arg < k->objs->nwaits && (uint32_t)e->arg != 0;
    case PK_EV_RV_TIMEOUT: return pk_rv_snap_event_ok(k, e->arg);
    case PK_EV_RV_ITIMER: return pk_rv_snap_itimer_ok(k, e->arg);
    default: return false;
    }
}

static int events_load(pk_kernel *k, pk_snap_r *r) {
    pk_evq *q = &k->evq;
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 24)) return r->err;
    if (pk_evq_reserve(k, q, n)) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        pk_event *e = &q->heap[i];
        e->time = pk_snap_get_u64(r);
        e->order = pk_snap_get_u64(r);
        e->arg = pk_snap_get_u64(r);
        if (!event_ok(k, e) || (e->order >> 8) >= q->seq) pk_snap_bad(r);
        if (i) {                                  /* heap order */
            const pk_event *p = &q->heap[(i - 1) / 2];
            if (p->time > e->time || (p->time == e->time && p->order > e->order)) pk_snap_bad(r);
        }
    }
    q->n = r->err ? 0 : n;
    k->steal_armed = k->steal_armed && !r->err;       /* counted by event_ok */
    pk_obj_snap_events_loaded(k);             /* k->objs counts its deadline events */
    if (!r->err && !pk_rv_snap_events_loaded(k)) pk_snap_bad(r);
    return r->err;
}

/* The threads a new policy must take over, ready ones in the order they
 * became ready (since, then tid). */
static int since_cmp(const void *a, const void *b) {
    const pk_thread *x = *(pk_thread *const *)a, *y = *(pk_thread *const *)b;
    if (x->since != y->since) return x->since < y->since ? -1 : 1;
    return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int schd_load(pk_kernel *k, pk_snap_r *r, bool new_policy, const thread_counts *tc,
                     pk_snap_refusal *why) {
    uint64_t queued = 0, queued_rt = 0;
    for (uint32_t i = 0; i < k->nrqs && !r->err; i++) {
        pk_rq *rq = &k->rqs[i];
        uint64_t nr = pk_snap_get_u64(r);
        rt_load(k, rq, r);
        uint32_t tag = pk_snap_get_u32(r);
        (void)pk_snap_get_u32(r);
        uint64_t len = pk_snap_get_u64(r);
        if (len > pk_snap_left(r)) { pk_snap_bad(r); break; }
        queued_rt += rq->rt.nr;
        if (new_policy) {
            r->off += len;
            rq->nr = rq->rt.nr;
            continue;
        }
        queued += nr - (nr >= rq->rt.nr ? rq->rt.nr : 0);
        rq->nr = nr;
        if (nr > k->threads.count || nr < rq->rt.nr) pk_snap_bad(r);
        size_t end = r->off + len;
        if (tag != (rq->pol->snap_save ? k->cfg.policy : 0)) { pk_snap_bad(r); break; }
        if (rq->pol->snap_load) {
            int s = rq->pol->snap_load(rq, r);
            if (s && s != r->err) return s;
        }
        if (!r->err && r->off != end) pk_snap_bad(r);
    }
    /* the run queues hold every ready thread (each structure holds only
     * distinct ready threads of its queue: the counts make it exact) */
    if (queued_rt != tc->ready_rt || (!new_policy && queued != tc->ready)) pk_snap_bad(r);
    if (r->err) return r->err;
    int s = events_load(k, r);
    if (s || !new_policy) return s;
    /* a new policy: it takes the ready threads of the fair class in the
     * order they became ready, and decides afresh on the running ones */
    uint32_t n = k->threads.count, nready = 0;
    pk_thread **ready = malloc((n ? n : 1) * sizeof *ready);
    if (!ready) return PK_ERR_NO_MEMORY;
    const pk_policy *pol = k->rqs[0].pol;
    for (uint32_t i = 0; i < n; i++) {
        pk_thread *t = pk_thread_at(k, i);
        if (t->state == PK_TS_EXITED || t->sclass != PK_CLASS_OTHER) continue;
        if ((pol->flags & PK_POL_NEEDS_BURST) && t->burst == PK_NO_BURST)
            s = PK_ERR_INVALID_ARGS;
        else if (k->cfg.policy == PK_POLICY_PRIORITY && (t->priority < 0 || t->priority > 139))
            s = PK_ERR_OUT_OF_RANGE;
        else if (t->affinity && k->shared && k->ncpus > 1 && !pol->pick_on)
            s = PK_ERR_NOT_SUPPORTED;          /* masks on a shared queue: FIFO, RR only */
        if (s) {
            why->reason = PK_SNAP_E_POLICY;
            why->tid = t->tid;
            free(ready);
            return s;
        }
        if (t->state == PK_TS_READY) ready[nready++] = t;
    }
    qsort(ready, nready, sizeof *ready, since_cmp);
    pk_policy_takeover(k, ready, nready);
    free(ready);
    return k->broken;
}

/* ---- entry points ------------------------------------------------------------ */


static int snapshot_check(pk_kernel *k, pk_snap_refusal *why) {
    if (k->in_hook) return refuse(why, PK_SNAP_R_IN_HOOK, 0, 0, PK_ERR_BAD_STATE);
    if (k->broken) return refuse(why, PK_SNAP_R_BROKEN, 0, (uint64_t)-(int64_t)k->broken, PK_ERR_BAD_STATE);
    if (k->cfg.policy == PK_POLICY_HOST) return refuse(why, PK_SNAP_R_HOST_POLICY, 0, 0, PK_ERR_NOT_SUPPORTED);
    if (k->host_wait) return refuse(why, PK_SNAP_R_HOST_WAIT, k->host_wait->tid, 0, PK_ERR_BAD_STATE);
    if (k->cache) return refuse(why, PK_SNAP_R_CACHE, 0, 0, PK_ERR_NOT_SUPPORTED);
    return PK_OK;                      /* threads are checked as they are written */
}

int pk_kernel_snapshot(pk_kernel *k, const uint8_t *extra, uint64_t extra_len, uint8_t **out,
                       uint64_t *len, pk_snap_refusal *why) {
    if (!k || !out || !len || !why || (extra_len && !extra)) return PK_ERR_INVALID_ARGS;
    memset(why, 0, sizeof *why);
    int s = snapshot_check(k, why);
    if (s) return s;
    pk_snap_w w;
    size_t hint = (size_t)k->threads.count * sizeof(pk_thread) + (size_t)k->procs.count * sizeof(pk_proc)
                  + (size_t)k->evq.n * 24 + (k->trace ? k->trace->n * 24 : 0) + extra_len + 65536;
    if (pk_snap_w_init(&w, hint)) return PK_ERR_NO_MEMORY;
    pk_snap_put(&w, SNAP_MAGIC, 8);
    pk_snap_u32(&w, PK_SNAP_VERSION);
    pk_snap_u32(&w, 0);
    pk_snap_u64(&w, 0);                        /* total length, filled in below */
    pk_snap_u64(&w, layout_fingerprint());
    config_save(&w, &k->cfg);
    s = core_save(k, &w, why);
    if (!s && k->rv) {
        size_t at = section_begin(&w, TAG_RV, 2);
        s = pk_rv_snap_save(k, &w);           /* fails only for want of host memory */
        section_end(&w, at);
    }
    if (!s && k->mem) {
        size_t at = section_begin(&w, TAG_MEM, 1);
        s = pk_mem_snap_save(k, &w);
        if (s) refuse(why, PK_SNAP_R_MEMORY, 0, 0, s);
        section_end(&w, at);
    }
    if (!s) {                                  /* always: it says whether k->objs exists */
        size_t at = section_begin(&w, TAG_OBJS, 1);
        s = pk_obj_snap_save(k, &w);
        if (s) refuse(why, PK_SNAP_R_OBJECTS, 0, 0, s);
        section_end(&w, at);
    }
    if (!s && k->fs) {                         /* only once the file system is used */
        size_t at = section_begin(&w, TAG_FS, 1);
        s = pk_fs_snap_save(k, &w);
        section_end(&w, at);
    }
    if (!s && k->fds) {                        /* only once a process used descriptors */
        size_t at = section_begin(&w, TAG_FD, 1);
        s = pk_fd_snap_save(k, &w);
        section_end(&w, at);
    }
    if (!s) s = schd_save(k, &w);
    if (!s) {
        size_t at = section_begin(&w, TAG_HOST, 1);
        pk_snap_put(&w, extra, extra_len);
        section_end(&w, at);
        section_end(&w, section_begin(&w, TAG_END, 1));
        pk_snap_w_reserve(&w, 8);
        s = w.err;
    }
    if (s) { pk_snap_w_free(&w); return s; }
    uint64_t total = w.len + 8;
    for (int i = 0; i < 8; i++) w.buf[16 + i] = (uint8_t)(total >> (8 * i));
    pk_snap_u64(&w, pk_snap_checksum(w.buf, w.len));
    *out = w.buf;
    *len = w.len;
    return PK_OK;
}

void pk_snapshot_free(uint8_t *buf) { free(buf); }

uint64_t pk_snapshot_checksum(const uint8_t *buf, uint64_t len) {
    return buf || !len ? pk_snap_checksum(buf, len) : 0;
}

/* Check the header, length and checksum; on success r is positioned
 * after the configuration, which is in *cfg. */
static int header_check(const uint8_t *buf, uint64_t len, pk_snap_r *r, pk_config *cfg,
                        pk_snap_refusal *why) {
    const int bad = PK_ERR_INVALID_ARGS;
    if (!buf || len == 0) return refuse(why, PK_SNAP_E_EMPTY, 0, 0, bad);
    if (memcmp(buf, SNAP_MAGIC, len < 8 ? len : 8))
        return refuse(why, PK_SNAP_E_MAGIC, 0, 0, bad);
    if (len < HEADER_BYTES) return refuse(why, PK_SNAP_E_TRUNCATED, 0, 0, bad);
    pk_snap_r_init(r, buf, len);
    r->off = 8;
    uint32_t version = pk_snap_get_u32(r);
    (void)pk_snap_get_u32(r);
    uint64_t total = pk_snap_get_u64(r), fingerprint = pk_snap_get_u64(r);
    if (version != PK_SNAP_VERSION) return refuse(why, PK_SNAP_E_VERSION, 0, version, bad);
    if (total > len) return refuse(why, PK_SNAP_E_TRUNCATED, 0, total, bad);
    if (total < len) return refuse(why, PK_SNAP_E_TRAILING, 0, total, bad);
    if (total < HEADER_BYTES + 8) return refuse(why, PK_SNAP_E_CHECKSUM, 0, 0, bad);
    uint64_t sum;
    pk_snap_r t;
    pk_snap_r_init(&t, buf + total - 8, 8);
    sum = pk_snap_get_u64(&t);
    if (sum != pk_snap_checksum(buf, total - 8)) return refuse(why, PK_SNAP_E_CHECKSUM, 0, 0, bad);
    if (fingerprint != layout_fingerprint()) return refuse(why, PK_SNAP_E_LAYOUT, 0, 0, bad);
    r->len = total - 8;
    config_load(r, cfg);
    if (r->err) return refuse(why, PK_SNAP_E_SECTION, 0, 0, bad);
    return PK_OK;
}

int pk_snapshot_config(const uint8_t *buf, uint64_t len, pk_config *out, pk_snap_refusal *why) {
    if (!out || !why) return PK_ERR_INVALID_ARGS;
    memset(why, 0, sizeof *why);
    pk_snap_r r;
    return header_check(buf, len, &r, out, why);
}

/* Read the next section's header; its payload is r->off .. *end. */
static uint32_t section_next(pk_snap_r *r, size_t *end) {
    uint32_t tag = pk_snap_get_u32(r);
    (void)pk_snap_get_u32(r);
    uint64_t n = pk_snap_get_u64(r);
    if (n > pk_snap_left(r)) { pk_snap_bad(r); return 0; }
    *end = r->off + n;
    return tag;
}

static int restore_sections(pk_kernel *k, pk_snap_r *r, bool new_policy, uint64_t *extra_off,
                            uint64_t *extra_len, pk_snap_refusal *why) {
    size_t end = 0;
    thread_counts tc = { 0, 0, 0, false, false, false, { NULL, 0 } };
    size_t start = r->off;                     /* which sections are there? */
    for (uint32_t t = section_next(r, &end); !r->err && t != TAG_END; t = section_next(r, &end)) {
        tc.mem |= t == TAG_MEM;
        tc.objs |= t == TAG_OBJS;
        tc.rv |= t == TAG_RV;
        r->off = end;
    }
    if (r->err) return refuse(why, PK_SNAP_E_SECTION, 0, 0, PK_ERR_INVALID_ARGS);
    r->off = start;
    uint32_t tag = section_next(r, &end);
    if (tag != TAG_CORE) return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
    int s = core_load(k, r, &tc, new_policy);
    depth_map_free(&tc.depths);
    if (s || r->off != end)
        return refuse(why, PK_SNAP_E_SECTION, 0, TAG_CORE, s && s != r->err ? s : PK_ERR_INVALID_ARGS);
    tag = section_next(r, &end);
    if (tag == TAG_RV) {
        s = pk_rv_snap_load(k, r, tc.mem);
        if (s || r->err || r->off != end)
            return refuse(why, PK_SNAP_E_SECTION, 0, TAG_RV, s && s != r->err ? s : PK_ERR_INVALID_ARGS);
        tag = section_next(r, &end);
    } else {
        for (uint32_t i = 0; i < k->nprogs; i++)    /* programs naming images it lacks */
            if (k->progs[i].kind == PK_BODY_RV)
                return refuse(why, PK_SNAP_E_SECTION, 0, TAG_RV, PK_ERR_INVALID_ARGS);
    }
    if (tag == TAG_MEM) {
        s = pk_mem_snap_load(k, r);
        if (s || r->err || r->off != end)
            return refuse(why, PK_SNAP_E_MEMORY, 0, TAG_MEM, s ? s : PK_ERR_INVALID_ARGS);
        tag = section_next(r, &end);
    }
    if (tag != TAG_OBJS) return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
    s = pk_obj_snap_load(k, r);                /* also checks every thread's wait register */
    if (s || r->err || r->off != end)
        return refuse(why, PK_SNAP_E_OBJECTS, 0, TAG_OBJS, s ? s : PK_ERR_INVALID_ARGS);
    tag = section_next(r, &end);
    if (tag == TAG_FS) {
        s = pk_fs_snap_load(k, r);
        if (s || r->err || r->off != end)
            return refuse(why, PK_SNAP_E_SECTION, 0, TAG_FS, s && s != r->err ? s : PK_ERR_INVALID_ARGS);
        tag = section_next(r, &end);
    }
    if (tag == TAG_FD) {
        s = pk_fd_snap_load(k, r);
        if (s || r->err || r->off != end)
            return refuse(why, PK_SNAP_E_SECTION, 0, TAG_FD, s && s != r->err ? s : PK_ERR_INVALID_ARGS);
        tag = section_next(r, &end);
    }
    if (tag != TAG_SCHD) return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
    s = schd_load(k, r, new_policy, &tc, why);
    for (uint32_t i = 0; i < k->threads.count; i++) pk_thread_at(k, i)->pad0 = 0;
    if (why->reason) { why->status = s; return s; }
    if (s || r->err || r->off != end)
        return refuse(why, PK_SNAP_E_SECTION, 0, TAG_SCHD, s && s != r->err ? s : PK_ERR_INVALID_ARGS);
    tag = section_next(r, &end);
    if (tag != TAG_HOST) return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
    *extra_off = r->off;
    *extra_len = end - r->off;
    r->off = end;
    tag = section_next(r, &end);
    if (tag != TAG_END || end != r->len || r->err)
        return refuse(why, PK_SNAP_E_SECTION, 0, TAG_END, PK_ERR_INVALID_ARGS);
    return PK_OK;
}

int pk_kernel_restore(const uint8_t *buf, uint64_t len, const pk_config *with, uint32_t change,
                      pk_kernel **out, uint64_t *extra_off, uint64_t *extra_len,
                      pk_snap_refusal *why) {
    if (!out || !why || !extra_off || !extra_len || (change && !with)
        || change > (PK_RESTORE_POLICY | PK_RESTORE_COSTS)) return PK_ERR_INVALID_ARGS;
    memset(why, 0, sizeof *why);
    pk_snap_r r;
    pk_config cfg;
    int s = header_check(buf, len, &r, &cfg, why);
    if (s) return s;
    bool new_policy = false;
    if (change & PK_RESTORE_POLICY) {
        new_policy = !same_policy(&cfg, with);
        cfg.policy = with->policy; cfg.quantum = with->quantum; cfg.preemptive = with->preemptive;
        cfg.nparams = with->nparams;
        memcpy(cfg.params, with->params, sizeof cfg.params);
        if (new_policy && cfg.policy == PK_POLICY_HOST)
            return refuse(why, PK_SNAP_E_CONFIG, 0, 0, PK_ERR_NOT_SUPPORTED);
    }
    if (change & PK_RESTORE_COSTS) cfg.costs = with->costs;
    if (cfg.policy == PK_POLICY_HOST) return refuse(why, PK_SNAP_E_CONFIG, 0, 0, PK_ERR_NOT_SUPPORTED);
    pk_kernel *k = NULL;
    s = pk_kernel_create(&cfg, &k);
    if (s) return refuse(why, PK_SNAP_E_CONFIG, 0, 0, s);
    s = restore_sections(k, &r, new_policy, extra_off, extra_len, why);
    if (s) {
        pk_kernel_destroy(k);
        if (!why->reason) refuse(why, PK_SNAP_E_SECTION, 0, 0, s);
        why->status = s;
        return s;
    }
    *out = k;
    return PK_OK;
}
