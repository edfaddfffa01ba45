/* pk_kernel_snap.c - the CORE section of a snapshot (docs/snapshot.md):
 * the kernel's own state, CPUs, affinity masks, programs, processes,
 * threads, the job log and the trace.  Its loader runs first, on the
 * fresh kernel, and counts the running and ready threads the SCHD
 * loader (pk_sched_snap.c) checks the run queues against.
 *
 * Thread control blocks are written in the version-1 layout
 * (pk_snap_thread, pk_snap_sect.h) as 64-bit words with the zero
 * words left out (a bitmap says which follow), process records as raw
 * bytes, both in one pass over the arenas; the thread pointers inside a
 * thread's policy data become tids.  These are the host's struct
 * layouts: the header's fingerprint (pk_snap_core.c) makes a build with
 * other layouts refuse such a file. */
#include <stdlib.h>
#include "pk_snap_sect.h"
#include "pk_sched.h"
#include "pk_heap.h"

#define PTR_WORDS PK_SNAP_PTR_WORDS
#define refuse pk_snap_refuse

/* ---- threads ------------------------------------------------------ */

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
/* The fields pk_thread and pk_snap_thread share, copied one way on save
 * and the other on restore (wait is derived, pk_thread_wait). */
#define SNAP_THREAD_FIELDS(X)                                                        \
    X(regs) X(tid) X(pid) X(prog) X(kind) X(state) X(cpu) X(sclass) X(rt_prio)     \
    X(nice) X(tflags) X(rq_cpu) X(pad0) X(affinity) X(priority) X(burst) X(tickets) \
    X(migrations) X(s) X(arrival) X(first_run) X(finish) X(since) X(cpu_time)       \
    X(blocked) X(nvcsw) X(nivcsw)

static void snap_thread_of(const pk_kernel *k, const pk_thread *t, pk_snap_thread *v) {
    memset(v, 0, sizeof *v);
#define TO_SNAP(f) v->f = t->f;
    SNAP_THREAD_FIELDS(TO_SNAP)
#undef TO_SNAP
    /* format 1 keeps a heap policy's position of the thread (its last one,
     * once it left the heap) in the first word of the policy data */
    if ((k->rqs[0].pol->flags & PK_POL_HEAP) && !pk_is_rt(t) && t->tid < k->heap_pos_cap)
        v->s.heap.pos = k->heap_pos[t->tid];
    v->wait = pk_thread_wait(k, t);
}

static void thread_of_snap(const pk_snap_thread *v, pk_thread *t) {
    memset(t, 0, sizeof *t);
#define FROM_SNAP(f) t->f = v->f;
    SNAP_THREAD_FIELDS(FROM_SNAP)
#undef FROM_SNAP
}

#define TWORDS (sizeof(pk_snap_thread) / 8)
_Static_assert(sizeof(pk_snap_thread) % 8 == 0 && sizeof(pk_snap_thread) / 8 <= 64, "thread words");

static void thread_put(const pk_kernel *k, pk_snap_w *w, const pk_thread *t, const chunk_ref *c,
                       uint32_t nch, uint32_t count) {
    pk_snap_thread copy;
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
    pk_snap_thread v;
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
    pk_snap_ctx *c;             /* counts running, ready and ready_rt */
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
            tc->c->running += t->state == PK_TS_RUNNING;
            if (t->state == PK_TS_READY) {
                if (pk_is_rt(t)) tc->c->ready_rt++; else tc->c->ready++;
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
    /* a heap policy's positions, kept by tid (pk_heap.h), start as the
     * file has them (the first word of the policy data, written by
     * snap_thread_of); the SCHD loader checks those of queued threads */
    if (!r->err && !new_policy && (k->rqs[0].pol->flags & PK_POL_HEAP) && n) {
        if (!pk_heap_pos_reserve(k, n - 1)) return PK_ERR_NO_MEMORY;
        for (uint32_t i = 0; i < n; i++) {
            const pk_thread *t = pk_thread_at(k, i);
            if (!pk_is_rt(t)) k->heap_pos[i] = t->s.heap.pos;
        }
    }
    return r->err;
}

/* ---- the rest ----------------------------------------------------- */

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
    uint32_t running = tc->c->running;
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

/* A process record in the layout of format version 1 (pk_snap_proc). */
static void proc_to_snap(pk_kernel *k, uint32_t pid, pk_snap_proc *o) {
    const pk_proc *p = pk_proc_at(k, pid);
    const pk_ptlink *l = pk_ptl(k, pid);
    *o = (pk_snap_proc){ .prog = p->prog, .first_tid = p->first_tid, .nthreads = p->nthreads,
                         .live_threads = p->live_threads, .state = p->state,
                         .ext = { p->ext[0], p->ext[1], p->ext[2] }, .exit_code = p->exit_code,
                         .kill_reason = p->kill_reason, .as = p->as, .parent = l->parent,
                         .first_child = l->first_child, .last_child = l->last_child,
                         .next_sib = l->next_sib, .prev_sib = l->prev_sib,
                         .nchildren = l->nchildren, .tree = p->tree, .tflags = p->tflags,
                         .termsig = p->termsig, .pad = 0, .sigchld = l->sigchld };
}

static int procs_save(pk_kernel *k, pk_snap_w *w) {
    uint32_t n = k->procs.count;
    pk_snap_u32(w, n);
    pk_snap_proc buf[64];
    for (uint32_t i = 0; i < n; i += 64) {
        uint32_t m = n - i < 64 ? n - i : 64;
        for (uint32_t j = 0; j < m; j++) proc_to_snap(k, i + j, &buf[j]);
        pk_snap_put(w, buf, (size_t)m * sizeof *buf);
    }
    return w->err;
}

static int procs_load(pk_kernel *k, pk_snap_r *r, uint32_t nthreads, bool mem, bool objs) {
    uint32_t n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, sizeof(pk_snap_proc))) return r->err;
    if (n && pk_arena_grow(k, &k->procs, n) < 0) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n && !r->err; i++) {
        pk_snap_proc o;
        pk_snap_get(r, &o, sizeof o);
        if (r->err) break;
        if (o.prog >= k->nprogs || o.state > PK_PS_KILLED || o.nthreads > nthreads
            || o.first_tid > nthreads - o.nthreads || o.kill_reason > PK_KILL_LAST || o.pad
            || (!mem && o.as) || (!objs && (o.ext[0] | o.ext[1] | o.ext[2]))) {
            pk_snap_bad(r);
            break;
        }
        pk_proc *p = pk_proc_at(k, i);
        *p = (pk_proc){ .prog = o.prog, .first_tid = o.first_tid, .nthreads = o.nthreads,
                        .live_threads = o.live_threads, .state = o.state,
                        .ext = { o.ext[0], o.ext[1], o.ext[2] }, .exit_code = o.exit_code,
                        .as = o.as, .kill_reason = (uint8_t)o.kill_reason, .tree = o.tree,
                        .tflags = o.tflags, .termsig = o.termsig };
        if (o.parent | o.first_child | o.last_child | o.next_sib | o.prev_sib | o.nchildren
            | o.sigchld) {
            if (pk_ptl_need(k, i)) return PK_ERR_NO_MEMORY;
            *pk_ptl_w(k, i) = (pk_ptlink){ o.parent, o.first_child, o.last_child, o.next_sib,
                                           o.prev_sib, o.nchildren, o.sigchld, 0 };
        }
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

int pk_snap_core_save(pk_snap_ctx *c, pk_snap_w *w) {
    pk_kernel *k = c->k;
    kernel_save(k, w);
    progs_save(k, w);
    procs_save(k, w);
    int s = threads_save(k, w, c->why);
    if (s) return s;
    cpus_save(k, w);
    pk_joblog_snap_save(k, w);
    pk_snap_u8(w, k->trace != NULL);
    if (k->trace) pk_trace_snap_save(k, w);
    return w->err;
}

static int core_load(pk_kernel *k, pk_snap_r *r, thread_counts *tc, bool new_policy) {
    int s = kernel_load(k, r);
    if (!s) s = progs_load(k, r);
    if (s) return s;
    /* processes refer to threads by index: read the thread count first */
    size_t procs_at = r->off;
    uint32_t nprocs = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, nprocs, sizeof(pk_snap_proc))) return r->err;
    r->off += (size_t)nprocs * sizeof(pk_snap_proc);
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

int pk_snap_core_load(pk_snap_ctx *c, pk_snap_r *r) {
    thread_counts tc = { c, pk_snap_has(c, PK_SEC_MEM), pk_snap_has(c, PK_SEC_OBJS),
                         pk_snap_has(c, PK_SEC_RV), { NULL, 0 } };
    int s = core_load(c->k, r, &tc, c->new_policy);
    depth_map_free(&tc.depths);
    return s;
}
