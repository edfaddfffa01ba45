/* pk_snap_core.c - snapshots of a whole kernel: the file format, the two
 * entry points, and the table of sections both walk (docs/snapshot.md).
 *
 * Layout (all integers little-endian):
 *   header   magic "\x89PKSNAP\n", u32 version, u32 0, u64 total length,
 *            u64 layout fingerprint, the pk_config field by field
 *   sections u32 tag, u32 section version, u64 payload length, payload, in
 *            the order of pk_snap_sections[] below:
 *            CORE (kernel, CPUs, masks, programs, processes, threads, job
 *            log, trace: pk_kernel_snap.c), RV (only with machine code:
 *            pk_rv_snap.c), MEM (only with memory: pk_vm_snap.c), OBJS
 *            (always: whether there are kernel objects, and then them:
 *            pk_obj_snap.c), FS (only once the file system is used:
 *            pk_fs.c), FD (only once a process used descriptors: pk_fd.c),
 *            SCHD (run queues and events: pk_sched_snap.c), HOST (the
 *            host's bytes), END
 *   trailer  u64 pk_snap_checksum of every byte before it
 * The fingerprint (sizes and offsets of the structs CORE writes as they
 * are, pointer size, byte order) makes a build with other layouts refuse
 * a file. */
#include <stdlib.h>
#include "pk_snap_sect.h"

#define SNAP_MAGIC "\x89PKSNAP\n"
#define HEADER_BYTES 32u
#define TAG PK_SNAP_TAG
#define refuse pk_snap_refuse

/* ---- threads by reference (pk_snap.h) -------------------------------------- */

void pk_snap_tref(pk_snap_w *w, const pk_thread *t) { pk_snap_u32(w, t ? t->tid + 1 : 0); }

pk_thread *pk_snap_get_tref(pk_kernel *k, pk_snap_r *r) {
    uint32_t v = pk_snap_get_u32(r);
    if (!v) return NULL;
    if (v > k->threads.count) { pk_snap_bad(r); return NULL; }
    return pk_thread_at(k, v - 1);
}

/* ---- the header --------------------------------------------------------- */

static uint64_t layout_fingerprint(void) {
    const uint16_t one = 1;
    uint64_t v[] = {
        sizeof(pk_snap_thread), offsetof(pk_snap_thread, tid), offsetof(pk_snap_thread, kind),
        offsetof(pk_snap_thread, pad0), offsetof(pk_snap_thread, s),
        offsetof(pk_snap_thread, arrival), offsetof(pk_snap_thread, nivcsw), sizeof(pk_sched_data), sizeof(pk_regs), sizeof(pk_snap_proc),
        offsetof(pk_snap_proc, ext), offsetof(pk_snap_proc, as), offsetof(pk_snap_proc, parent),
        offsetof(pk_snap_proc, sigchld), sizeof(pk_event), sizeof(pk_trace_event),
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
size_t pk_snap_section_begin(pk_snap_w *w, uint32_t tag, uint32_t version) {
    pk_snap_u32(w, tag);
    pk_snap_u32(w, version);
    pk_snap_u64(w, 0);
    return w->len;
}

void pk_snap_section_end(pk_snap_w *w, size_t start) {
    if (w->err) return;
    uint64_t n = w->len - start;
    for (int i = 0; i < 8; i++) w->buf[start - 8 + i] = (uint8_t)(n >> (8 * i));
}

int pk_snap_refuse(pk_snap_refusal *why, uint32_t reason, uint32_t tid, uint64_t value,
                   int status) {
    why->reason = reason;
    why->tid = tid;
    why->value = value;
    why->status = status;
    return status;
}
/* ---- the sections ------------------------------------------------------------ */

static bool has_rv(const pk_kernel *k) { return k->rv != NULL; }
static bool has_mem(const pk_kernel *k) { return k->mem != NULL; }
static bool has_fs(const pk_kernel *k) { return k->fs != NULL; }      /* once the file system is used */
static bool has_fds(const pk_kernel *k) { return k->fds != NULL; }    /* once a process used descriptors */

static int rv_save(pk_snap_ctx *c, pk_snap_w *w) { return pk_rv_snap_save(c->k, w); }
static int rv_load(pk_snap_ctx *c, pk_snap_r *r) {
    return pk_rv_snap_load(c->k, r, pk_snap_has(c, PK_SEC_MEM));
}
/* without machine code, no program may name an image */
static int rv_absent(pk_snap_ctx *c) {
    for (uint32_t i = 0; i < c->k->nprogs; i++)
        if (c->k->progs[i].kind == PK_BODY_RV) return PK_ERR_INVALID_ARGS;
    return PK_OK;
}
static int mem_save(pk_snap_ctx *c, pk_snap_w *w) { return pk_mem_snap_save(c->k, w); }
static int mem_load(pk_snap_ctx *c, pk_snap_r *r) { return pk_mem_snap_load(c->k, r); }
/* always there: it says whether k->objs exists; its loader also checks
 * every thread's wait register */
static int objs_save(pk_snap_ctx *c, pk_snap_w *w) { return pk_obj_snap_save(c->k, w); }
static int objs_load(pk_snap_ctx *c, pk_snap_r *r) { return pk_obj_snap_load(c->k, r); }
static int fs_save(pk_snap_ctx *c, pk_snap_w *w) { return pk_fs_snap_save(c->k, w); }
static int fs_load(pk_snap_ctx *c, pk_snap_r *r) { return pk_fs_snap_load(c->k, r); }
static int fd_save(pk_snap_ctx *c, pk_snap_w *w) { return pk_fd_snap_save(c->k, w); }
static int fd_load(pk_snap_ctx *c, pk_snap_r *r) { return pk_fd_snap_load(c->k, r); }

static int host_save(pk_snap_ctx *c, pk_snap_w *w) {
    pk_snap_put(w, c->extra, c->extra_len);
    return w->err;
}
/* the host's bytes are the host's to check: note where they are */
static int host_load(pk_snap_ctx *c, pk_snap_r *r) {
    c->extra_off = r->off;
    c->extra_len = pk_snap_left(r);
    r->off = r->len;
    return r->err;
}
/* END is empty, and the last section (the walk checks it ends the file) */
static int end_load(pk_snap_ctx *c, pk_snap_r *r) {
    (void)c;
    if (pk_snap_left(r)) pk_snap_bad(r);
    return r->err;
}

const pk_snap_section pk_snap_sections[PK_SEC_COUNT] = {
    [PK_SEC_CORE] = { TAG('C', 'O', 'R', 'E'), "CORE", 1, NULL, pk_snap_core_save,
                      pk_snap_core_load, NULL, 0, PK_SNAP_E_SECTION },
    [PK_SEC_RV]   = { TAG('R', 'V', ' ', ' '), "RV", 2, has_rv, rv_save, rv_load, rv_absent,
                      0, PK_SNAP_E_SECTION },
    [PK_SEC_MEM]  = { TAG('M', 'E', 'M', ' '), "MEM", 1, has_mem, mem_save, mem_load, NULL,
                      PK_SNAP_R_MEMORY, PK_SNAP_E_MEMORY },
    [PK_SEC_OBJS] = { TAG('O', 'B', 'J', 'S'), "OBJS", 1, NULL, objs_save, objs_load, NULL,
                      PK_SNAP_R_OBJECTS, PK_SNAP_E_OBJECTS },
    [PK_SEC_FS]   = { TAG('F', 'S', ' ', ' '), "FS", 1, has_fs, fs_save, fs_load, NULL,
                      0, PK_SNAP_E_SECTION },
    [PK_SEC_FD]   = { TAG('F', 'D', ' ', ' '), "FD", 1, has_fds, fd_save, fd_load, NULL,
                      0, PK_SNAP_E_SECTION },
    [PK_SEC_SCHD] = { TAG('S', 'C', 'H', 'D'), "SCHD", 1, NULL, pk_snap_schd_save,
                      pk_snap_schd_load, NULL, 0, PK_SNAP_E_SECTION },
    [PK_SEC_HOST] = { TAG('H', 'O', 'S', 'T'), "HOST", 1, NULL, host_save, host_load, NULL,
                      0, PK_SNAP_E_SECTION },
    [PK_SEC_END]  = { TAG('E', 'N', 'D', ' '), "END", 1, NULL, NULL, end_load, NULL,
                      0, PK_SNAP_E_SECTION },
};

/* Write every section the kernel has, in table order. */
static int sections_save(pk_snap_ctx *c, pk_snap_w *w) {
    for (unsigned i = 0; i < PK_SEC_COUNT; i++) {
        const pk_snap_section *sec = &pk_snap_sections[i];
        if (sec->present && !sec->present(c->k)) continue;
        size_t at = pk_snap_section_begin(w, sec->tag, sec->version);
        int s = sec->save ? sec->save(c, w) : w->err;
        if (s) {
            if (sec->save_refusal && !c->why->reason) refuse(c->why, sec->save_refusal, 0, 0, s);
            return s;
        }
        pk_snap_section_end(w, at);
    }
    return w->err;
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
    size_t hint = (size_t)k->threads.count * sizeof(pk_thread) + (size_t)k->procs.count * sizeof(pk_snap_proc)
                  + (size_t)k->evq.n * 24 + (k->trace ? k->trace->n * 24 : 0) + extra_len + 65536;
    if (pk_snap_w_init(&w, hint)) return PK_ERR_NO_MEMORY;
    pk_snap_put(&w, SNAP_MAGIC, 8);
    pk_snap_u32(&w, PK_SNAP_VERSION);
    pk_snap_u32(&w, 0);
    pk_snap_u64(&w, 0);                        /* total length, filled in below */
    pk_snap_u64(&w, layout_fingerprint());
    config_save(&w, &k->cfg);
    pk_snap_ctx c = { .k = k, .why = why, .extra = extra, .extra_len = extra_len };
    s = sections_save(&c, &w);
    if (!s) {
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
static uint32_t section_next(pk_snap_r *r, size_t *end, uint32_t *version) {
    uint32_t tag = pk_snap_get_u32(r);
    *version = pk_snap_get_u32(r);
    uint64_t n = pk_snap_get_u64(r);
    if (n > pk_snap_left(r)) { pk_snap_bad(r); return 0; }
    *end = r->off + n;
    return tag;
}

/* Which rows of the table the file has (bit PK_SEC_x); unknown tags are
 * left to the walk, which refuses them. */
static uint32_t sections_there(pk_snap_r *r) {
    size_t start = r->off, end = 0;
    uint32_t has = 0, version, t;
    while (!r->err && (t = section_next(r, &end, &version)) != pk_snap_sections[PK_SEC_END].tag) {
        for (unsigned i = 0; i < PK_SEC_COUNT; i++)
            if (pk_snap_sections[i].tag == t) has |= 1u << i;
        if (!r->err) r->off = end;
    }
    r->off = start;
    return has;
}

/* Read the sections in table order.  A loader sees only its payload:
 * r->len is the payload's end while it runs. */
static int sections_load(pk_snap_ctx *c, pk_snap_r *r) {
    pk_snap_refusal *why = c->why;
    c->has = sections_there(r);
    if (r->err) return refuse(why, PK_SNAP_E_SECTION, 0, 0, PK_ERR_INVALID_ARGS);
    size_t end = 0, file_end = r->len;
    uint32_t version = 0, tag = section_next(r, &end, &version);
    for (unsigned i = 0; i < PK_SEC_COUNT; i++) {
        const pk_snap_section *sec = &pk_snap_sections[i];
        if (tag != sec->tag || r->err) {
            if (!sec->present && !r->err)       /* a section every snapshot has */
                return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
            int s = sec->absent && !r->err ? sec->absent(c) : PK_OK;
            if (s || r->err)
                return refuse(why, PK_SNAP_E_SECTION, 0, r->err ? 0 : sec->tag,
                              PK_ERR_INVALID_ARGS);
            continue;
        }
        if (version != sec->version)
            return refuse(why, PK_SNAP_E_SECTION, 0, tag, PK_ERR_INVALID_ARGS);
        r->len = end;
        int s = sec->load(c, r);
        bool short_read = !r->err && r->off != end;
        r->len = file_end;
        if (why->reason) {                     /* the loader said why itself */
            why->status = s ? s : PK_ERR_INVALID_ARGS;
            return why->status;
        }
        if (s || r->err || short_read)
            return refuse(why, sec->load_refusal, 0, sec->tag, s ? s : PK_ERR_INVALID_ARGS);
        if (i + 1 < PK_SEC_COUNT) tag = section_next(r, &end, &version);
    }
    if (end != file_end)                       /* END is the last thing before the checksum */
        return refuse(why, PK_SNAP_E_SECTION, 0, pk_snap_sections[PK_SEC_END].tag,
                      PK_ERR_INVALID_ARGS);
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
    pk_snap_ctx c = { .k = k, .why = why, .new_policy = new_policy };
    s = sections_load(&c, &r);
    if (s) {
        pk_kernel_destroy(k);
        if (!why->reason) refuse(why, PK_SNAP_E_SECTION, 0, 0, s);
        why->status = s;
        return s;
    }
    *extra_off = c.extra_off;
    *extra_len = c.extra_len;
    *out = k;
    return PK_OK;
}
