/* pk_rv_snap.c - the machine-code section of a snapshot: everything under
 * k->rv (docs/snapshot.md, "Machine code").
 *
 * Saved: the kernel-wide counters (instructions, futex wait order, timed
 * waits queued); every ELF image as its file's bytes and the frames of its
 * shared read-only pages (image page -> frame number; the frames
 * themselves, contents and reference counts, are in the memory section);
 * every process record (break and mmap bookkeeping, standard input and
 * its read position, standard output and error as kept in the core, the
 * -ENOSYS counts, /proc/self/exe, counters); every thread side record
 * (futex wait state, clear_child_tid, robust list, the system call in
 * progress, the fraction of a nanosecond owed) and every FP register file.
 * Not saved: the decoded-instruction cache (each entry is checked against
 * the bits fetched at its pc, so an empty cache decodes the same
 * instructions) and the host-pointer mirror (it lives for one block).
 *
 * The section comes right after CORE, before MEM: an image is parsed
 * again from its bytes (pk_rv_elf_parse: segments, entry and span are
 * never read from the snapshot), every index is checked here, and the
 * memory loader's check (pk_mem_verify) counts the images' frames as
 * references and checks each region's image id, so a frame number that
 * is not a shared page is refused there.  The threads of kind RV loaded
 * by the core are checked against the side records, and the timed-wait
 * events against both (pk_rv_snap_event_ok, pk_rv_snap_events_loaded). */
#include <string.h>
#include "pk_core.h"
#include "pk_snap.h"

#define BUF_MIN 256u                     /* a byte buffer's first capacity (pk_rv_sys.c) */

/* ---- save ------------------------------------------------------------------ */

static void put_bytes(pk_snap_w *w, const void *p, uint64_t n) {
    pk_snap_u64(w, n);
    if (n) pk_snap_put(w, p, (size_t)n);
}

static void put_image(pk_snap_w *w, const pk_rvimg *im) {
    put_bytes(w, im->data, im->len);
    uint64_t used = 0;
    for (uint64_t i = 0; i < im->npages; i++) used += im->frames[i] != 0;
    pk_snap_u64(w, used);
    for (uint64_t i = 0; i < im->npages; i++) {
        if (!im->frames[i]) continue;
        pk_snap_u64(w, i);
        pk_snap_u32(w, im->frames[i]);
    }
}

static void put_proc(pk_snap_w *w, const pk_rvp *p) {
    pk_snap_u32(w, p->pid);
    pk_snap_u32(w, p->img);
    uint64_t v[6] = { p->brk_start, p->brk, p->brk_mapped, p->mmap_next, p->syscalls, p->insns };
    pk_snap_u64s(w, v, 6);
    for (int j = 0; j < 2; j++) {
        pk_snap_u64(w, p->out[j].cap);
        put_bytes(w, p->out[j].b, p->out[j].n);
    }
    put_bytes(w, p->in, p->in_len);
    pk_snap_u64(w, p->in_pos);
    pk_snap_u32(w, p->nunknown);
    for (uint32_t i = 0; i < p->nunknown; i++) {
        pk_snap_u64(w, p->unknown[i].num);
        pk_snap_u64(w, p->unknown[i].n);
    }
    put_bytes(w, p->exe, p->exe_len);
    pk_snap_u32(w, p->sig);
    pk_snap_u64(w, p->tramp);
    pk_snap_u32(w, p->tty);
    pk_snap_u64(w, p->term.cap);
    put_bytes(w, p->term.b, p->term.n);
}

static void put_thread(pk_snap_w *w, const pk_rvt *t) {
    pk_snap_u32(w, t->tid);
    pk_snap_u32(w, t->proc);
    pk_snap_u32(w, t->fp);
    pk_snap_u32(w, t->futex_waiting);
    uint64_t v[8] = { t->clear_child_tid, t->robust_list, t->robust_len, t->futex_hi,
                      t->futex_lo, t->futex_seq, t->carry, t->in_syscall };
    pk_snap_u64s(w, v, 8);
    uint64_t g[8] = { t->blocked, t->sigpend, t->ss_sp, t->ss_size, t->saved_mask, t->sleep_end,
                      t->sleep_rem, (uint64_t)t->ss_flags | (uint64_t)t->sigflags << 32 };
    pk_snap_u64s(w, g, 8);
    pk_snap_u32(w, t->sleep_gen);
    pk_snap_u64(w, t->wait_set);
    pk_snap_u64(w, t->wait_info);
}

/* the signal records (pk_rv_sig.c) */
static void put_si(pk_snap_w *w, const pk_rvsi *si) {
    pk_snap_u32(w, (uint32_t)si->code); pk_snap_u32(w, (uint32_t)si->pid);
    pk_snap_u32(w, si->uid); pk_snap_u32(w, (uint32_t)si->status);
    pk_snap_u64(w, si->addr);
}

static void put_sigs(pk_snap_w *w, const pk_rvstate *rs) {
    pk_snap_u32(w, rs->sig_on);
    pk_snap_u64(w, rs->itimers);
    pk_snap_u32(w, rs->nsigp);
    for (uint32_t i = 1; i < rs->nsigp; i++) {
        const pk_rvsigp *sp = &rs->sigp[i];
        for (int s = 0; s < 64; s++) {
            uint64_t a[3] = { sp->act[s].handler, sp->act[s].flags, sp->act[s].mask };
            pk_snap_u64s(w, a, 3);
            put_si(w, &sp->info[s]);
            put_si(w, &sp->tinfo[s]);
        }
        uint64_t v[5] = { sp->pending, sp->it_end, sp->it_interval, sp->it_seq,
                          sp->stopped | (uint64_t)sp->stopsig << 8 | (uint64_t)sp->report << 16 };
        pk_snap_u64s(w, v, 5);
    }
}

int pk_rv_snap_save(pk_kernel *k, pk_snap_w *w) {
    if (!k || !w) return PK_ERR_INVALID_ARGS;
    const pk_rvstate *rs = k->rv;
    pk_snap_u8(w, rs != NULL);
    if (!rs) return w->err;
    if (rs->making) return PK_ERR_BAD_STATE;      /* never between runs */
    if (pk_rv_sig_queued(k)) return PK_ERR_NOT_SUPPORTED;   /* queued real-time signals */
    pk_snap_u64(w, rs->insns);
    pk_snap_u64(w, rs->futex_seq);
    pk_snap_u64(w, rs->timeouts);
    pk_snap_u32(w, rs->nimgs);
    for (uint32_t i = 1; i < rs->nimgs; i++) put_image(w, &rs->imgs[i]);
    pk_snap_u32(w, rs->nprocs);
    for (uint32_t i = 1; i < rs->nprocs; i++) put_proc(w, &rs->procs[i]);
    pk_snap_u32(w, rs->nthr);
    for (uint32_t i = 1; i < rs->nthr; i++) put_thread(w, &rs->thr[i]);
    pk_snap_u32(w, rs->nfps);
    for (uint32_t i = 0; i < rs->nfps; i++) {
        pk_snap_u64s(w, rs->fps[i].f, 32);
        pk_snap_u64(w, rs->fps[i].fcsr);
    }
    put_sigs(w, rs);
    return w->err;
}

/* ---- load ------------------------------------------------------------------ */

/* n bytes from r into a fresh buffer of cap >= n bytes (NULL when cap is 0) */
static int get_bytes(pk_kernel *k, pk_snap_r *r, uint64_t n, uint64_t cap, uint8_t **out) {
    *out = NULL;
    if (!pk_snap_count_ok(r, n, 1) || cap < n) { pk_snap_bad(r); return r->err; }
    if (!cap) return PK_OK;
    if (!(*out = pk_alloc(k, (size_t)cap))) return PK_ERR_NO_MEMORY;
    pk_snap_get(r, *out, (size_t)n);
    if (cap > n) memset(*out + n, 0, (size_t)(cap - n));
    return r->err;
}

/* One image; `mem`: the snapshot has a memory section (else no frames). */
static int get_image(pk_kernel *k, pk_snap_r *r, bool mem) {
    pk_rvstate *rs = k->rv;
    uint64_t len = pk_snap_get_u64(r);
    if (!pk_snap_count_ok(r, len, 1) || len > (1ull << 32)) { pk_snap_bad(r); return r->err; }
    pk_rvimg im;
    int s = pk_rv_elf_parse(k, r->buf + r->off, len, &im);
    if (s) {
        if (s == PK_ERR_NO_MEMORY) return s;
        pk_snap_bad(r);
        return r->err;
    }
    if (im.npages > (1u << 26)) { pk_free(k, im.seg, im.nseg * sizeof(pk_rvseg)); pk_snap_bad(r); return r->err; }
    if ((s = pk_rv_image_alloc(k, &im, len))) return s;
    pk_snap_get(r, im.data, len);
    rs->imgs[rs->nimgs++] = im;                 /* from here on, pk_rv_fini frees it */
    uint64_t used = pk_snap_get_u64(r);
    if (used > im.npages || !pk_snap_count_ok(r, used, 12) || (used && !mem)) {
        pk_snap_bad(r);
        return r->err;
    }
    for (uint64_t j = 0, last = 0; j < used && !r->err; j++) {
        uint64_t i = pk_snap_get_u64(r);
        uint32_t f = pk_snap_get_u32(r);
        if (i >= im.npages || (j && i <= last) || !f) { pk_snap_bad(r); break; }   /* ascending */
        last = i;
        im.frames[i] = f;                       /* checked by pk_mem_verify */
    }
    return r->err;
}

static int get_proc(pk_kernel *k, pk_snap_r *r, pk_rvp *p) {
    memset(p, 0, sizeof *p);
    p->pid = pk_snap_get_u32(r);
    p->img = pk_snap_get_u32(r);
    uint64_t v[6];
    pk_snap_get_u64s(r, v, 6);
    p->brk_start = v[0]; p->brk = v[1]; p->brk_mapped = v[2]; p->mmap_next = v[3];
    p->syscalls = v[4]; p->insns = v[5];
    int s;
    for (int j = 0; j < 2; j++) {
        uint64_t cap = pk_snap_get_u64(r), n = pk_snap_get_u64(r);
        /* a capacity the buffer could have grown to: BUF_MIN doubled */
        if (cap && (cap < BUF_MIN || (cap & (cap - 1)) || (cap > BUF_MIN && cap / 2 >= n))) {
            pk_snap_bad(r);
            return r->err;
        }
        if ((s = get_bytes(k, r, n, cap, &p->out[j].b))) return s;
        p->out[j].n = n;
        p->out[j].cap = cap;
    }
    uint64_t n = pk_snap_get_u64(r);
    if ((s = get_bytes(k, r, n, n, &p->in))) return s;
    p->in_len = n;
    p->in_pos = pk_snap_get_u64(r);
    uint32_t nu = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, nu, 12)) return r->err;
    if (nu) {
        if (!(p->unknown = pk_alloc(k, (size_t)nu * sizeof(pk_rvcount)))) return PK_ERR_NO_MEMORY;
        p->unknown_cap = p->nunknown = nu;
    }
    for (uint32_t i = 0; i < nu; i++) {
        p->unknown[i].num = pk_snap_get_u64(r);
        p->unknown[i].n = pk_snap_get_u64(r);
        if (!p->unknown[i].n) pk_snap_bad(r);
        for (uint32_t j = 0; j < i; j++)             /* one count per number */
            if (p->unknown[j].num == p->unknown[i].num) pk_snap_bad(r);
    }
    n = pk_snap_get_u64(r);
    if (!pk_snap_count_ok(r, n, 1)) return r->err;
    if (!(p->exe = pk_alloc(k, (size_t)n + 1))) return PK_ERR_NO_MEMORY;
    p->exe_len = n;
    pk_snap_get(r, p->exe, (size_t)n);
    p->exe[n] = 0;
    if (memchr(p->exe, 0, (size_t)n)) pk_snap_bad(r);
    p->sig = pk_snap_get_u32(r);                     /* checked against the records later */
    p->tramp = pk_snap_get_u64(r);
    if (p->tramp & (PK_PAGE_SIZE - 1)) pk_snap_bad(r);
    p->tty = pk_snap_get_u32(r);                  /* checked with every record (rv_verify) */
    uint64_t tcap = pk_snap_get_u64(r);
    n = pk_snap_get_u64(r);
    if (tcap && (tcap < BUF_MIN || (tcap & (tcap - 1)) || (tcap > BUF_MIN && tcap / 2 >= n))) {
        pk_snap_bad(r);
        return r->err;
    }
    if ((s = get_bytes(k, r, n, tcap, &p->term.b))) return s;
    p->term.n = n;
    p->term.cap = tcap;
    /* the break: start <= brk <= its pages' end, within the 4 GiB allowed */
    if (p->brk < p->brk_start || p->brk_mapped < p->brk || p->brk - p->brk_start > (1ull << 32)
        || ((p->brk_start | p->brk_mapped | p->mmap_next) & (PK_PAGE_SIZE - 1))
        || p->brk_mapped - p->brk >= PK_PAGE_SIZE || p->in_pos > p->in_len)
        pk_snap_bad(r);
    return r->err;
}

static void get_thread(pk_snap_r *r, pk_rvt *t) {
    t->tid = pk_snap_get_u32(r);
    t->proc = pk_snap_get_u32(r);
    t->fp = pk_snap_get_u32(r);
    t->futex_waiting = pk_snap_get_u32(r);
    uint64_t v[8];
    pk_snap_get_u64s(r, v, 8);
    t->clear_child_tid = v[0]; t->robust_list = v[1]; t->robust_len = v[2]; t->futex_hi = v[3];
    t->futex_lo = v[4]; t->futex_seq = v[5]; t->carry = v[6]; t->in_syscall = v[7];
    uint64_t g[8];
    pk_snap_get_u64s(r, g, 8);
    t->blocked = g[0]; t->sigpend = g[1]; t->ss_sp = g[2]; t->ss_size = g[3];
    t->saved_mask = g[4]; t->sleep_end = g[5]; t->sleep_rem = g[6];
    t->ss_flags = (uint32_t)g[7]; t->sigflags = (uint32_t)(g[7] >> 32);
    t->sleep_gen = pk_snap_get_u32(r);
    t->wait_set = pk_snap_get_u64(r);
    t->wait_info = pk_snap_get_u64(r);
    const uint64_t unblockable = (1ull << 8) | (1ull << 18);          /* SIGKILL, SIGSTOP */
    if ((t->blocked & unblockable) || (t->saved_mask & unblockable)
        || t->sigflags > PK_RVS_ALL
        || (t->ss_flags & ~(2u | (1u << 31)))) pk_snap_bad(r);
}

static void get_si(pk_snap_r *r, pk_rvsi *si) {
    si->code = (int32_t)pk_snap_get_u32(r); si->pid = (int32_t)pk_snap_get_u32(r);
    si->uid = pk_snap_get_u32(r); si->status = (int32_t)pk_snap_get_u32(r);
    si->addr = pk_snap_get_u64(r);
}

static int get_sigs(pk_kernel *k, pk_snap_r *r) {
    pk_rvstate *rs = k->rv;
    rs->sig_on = pk_snap_get_u32(r);
    rs->itimers = pk_snap_get_u64(r);
    uint32_t n = pk_snap_get_u32(r);
    if (rs->sig_on > 1 || (n && !pk_snap_count_ok(r, n - 1, 64 * 72 + 40))) {
        pk_snap_bad(r);
        return r->err;
    }
    if (n && pk_vec_grow(k, (void **)&rs->sigp, &rs->sigp_cap, n, sizeof(pk_rvsigp)))
        return PK_ERR_NO_MEMORY;
    rs->nsigp = n;
    for (uint32_t i = 1; i < n && !r->err; i++) {
        pk_rvsigp *sp = &rs->sigp[i];
        memset(sp, 0, sizeof *sp);
        for (int s = 0; s < 64; s++) {
            uint64_t a[3];
            pk_snap_get_u64s(r, a, 3);
            sp->act[s] = (pk_rvact){ a[0], a[1], a[2] };
            if ((a[2] & ((1ull << 8) | (1ull << 18))) || (a[1] >> 32)) pk_snap_bad(r);
            get_si(r, &sp->info[s]);
            get_si(r, &sp->tinfo[s]);
        }
        uint64_t v[5];
        pk_snap_get_u64s(r, v, 5);
        sp->pending = v[0]; sp->it_end = v[1]; sp->it_interval = v[2]; sp->it_seq = v[3];
        sp->stopped = (uint8_t)v[4]; sp->stopsig = (uint8_t)(v[4] >> 8);
        sp->report = (uint8_t)(v[4] >> 16);
        if ((v[4] >> 24) || sp->stopped > 1 || sp->stopsig > 64 || sp->report > PK_RVR_CONTINUED)
            pk_snap_bad(r);
    }
    /* each process names its own record; records exist only with sig_on */
    uint8_t *used = n ? pk_alloc(k, n) : NULL;
    if (n && !used) return PK_ERR_NO_MEMORY;
    if (used) memset(used, 0, n);
    bool ok = !r->err && (n <= 1 || rs->sig_on);
    for (uint32_t i = 1; ok && i < rs->nprocs; i++) {
        uint32_t id = rs->procs[i].sig;
        if (id && (id >= n || used[id])) ok = false;
        else if (id) used[id] = 1;
    }
    pk_free(k, used, n);
    if (!ok) pk_snap_bad(r);
    return r->err;
}

/* The registers of thread t as the dispatcher will use them. */
static const pk_regs *live_regs(pk_kernel *k, const pk_thread *t) {
    return t->state == PK_TS_RUNNING ? &k->cpus[t->cpu].regs : &t->regs;
}

/* Every reference between the records, the programs, processes and
 * threads of the core. */
static bool cross_ok(pk_kernel *k) {
    pk_rvstate *rs = k->rv;
    for (uint32_t i = 0; i < k->nprogs; i++) {
        const pk_prog *p = &k->progs[i];
        if (p->kind == PK_BODY_RV && (!p->image || p->image >= rs->nimgs)) return false;
    }
    uint8_t *seen = k->procs.count ? pk_alloc(k, k->procs.count) : NULL;
    if (k->procs.count && !seen) return false;
    if (seen) memset(seen, 0, k->procs.count);
    bool ok = true;
    for (uint32_t i = 1; ok && i < rs->nprocs; i++) {
        const pk_rvp *p = &rs->procs[i];
        if (p->pid >= k->procs.count || seen[p->pid]) { ok = false; break; }
        seen[p->pid] = 1;
        const pk_prog *pg = &k->progs[pk_proc_at(k, p->pid)->prog];
        ok = pg->kind == PK_BODY_RV && pg->image == p->img
             && p->tty && p->tty < rs->nprocs && rs->procs[p->tty].tty == p->tty
             && (p->tty == i || !p->term.n);
    }
    pk_free(k, seen, k->procs.count);
    if (!ok) return false;
    for (uint32_t i = 1; i < rs->nthr; i++) {
        const pk_rvt *t = &rs->thr[i];
        if (t->tid >= k->threads.count || !t->proc || t->proc >= rs->nprocs || t->fp > rs->nfps
            || t->futex_waiting > 1 || t->futex_seq > rs->futex_seq || t->in_syscall > 1)
            return false;
        const pk_thread *th = pk_thread_at(k, t->tid);
        if (th->kind != PK_BODY_RV || th->pid != rs->procs[t->proc].pid) return false;
        if (t->futex_waiting && (th->state != PK_TS_WAITING || pk_rvt_id(&th->regs) != i))
            return false;
    }
    for (uint32_t tid = 0; tid < k->threads.count; tid++) {
        const pk_thread *t = pk_thread_at(k, tid);
        if (t->kind != PK_BODY_RV) continue;
        uint32_t rid = pk_rvt_id(live_regs(k, t));
        if (rid != pk_rvt_id(&t->regs)) return false;
        if (!rid && t->state == PK_TS_EXITED) continue;   /* a clone that got no record */
        if (!rid || rid >= rs->nthr || rs->thr[rid].tid != tid) return false;
    }
    return true;
}

int pk_rv_snap_load(pk_kernel *k, pk_snap_r *r, bool mem) {
    if (!k || !r) return PK_ERR_INVALID_ARGS;
    uint8_t present = pk_snap_get_u8(r);
    if (present > 1 || r->err) { pk_snap_bad(r); return r->err; }
    if (!present) return PK_OK;
    int s = pk_rv_state(k);
    if (s) return s;
    pk_rvstate *rs = k->rv;
    rs->insns = pk_snap_get_u64(r);
    rs->futex_seq = pk_snap_get_u64(r);
    rs->timeouts = pk_snap_get_u64(r);
    uint32_t n = pk_snap_get_u32(r);
    if (!n || !pk_snap_count_ok(r, n - 1, 16)) { pk_snap_bad(r); return r->err; }
    for (uint32_t i = 1; i < n; i++)
        if ((s = get_image(k, r, mem))) return s;
    n = pk_snap_get_u32(r);
    if (!n || !pk_snap_count_ok(r, n - 1, 80) || (n > 1 && !mem)) { pk_snap_bad(r); return r->err; }
    if (pk_vec_grow(k, (void **)&rs->procs, &rs->procs_cap, n, sizeof(pk_rvp))) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 1; i < n; i++) {
        s = get_proc(k, r, &rs->procs[i]);
        rs->nprocs = i + 1;                         /* pk_rv_fini frees what it holds */
        if (s) return s;
        if (!rs->procs[i].img || rs->procs[i].img >= rs->nimgs) { pk_snap_bad(r); return r->err; }
    }
    n = pk_snap_get_u32(r);
    if (!n || !pk_snap_count_ok(r, n - 1, 80)) { pk_snap_bad(r); return r->err; }
    if (pk_vec_grow(k, (void **)&rs->thr, &rs->thr_cap, n, sizeof(pk_rvt))) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 1; i < n && !r->err; i++) {
        memset(&rs->thr[i], 0, sizeof(pk_rvt));
        get_thread(r, &rs->thr[i]);
    }
    rs->nthr = n;
    n = pk_snap_get_u32(r);
    if (!pk_snap_count_ok(r, n, 33 * 8)) return r->err;
    if (n && pk_vec_grow(k, (void **)&rs->fps, &rs->fps_cap, n, sizeof(pk_rvfp))) return PK_ERR_NO_MEMORY;
    for (uint32_t i = 0; i < n; i++) {
        pk_snap_get_u64s(r, rs->fps[i].f, 32);
        rs->fps[i].fcsr = pk_snap_get_u64(r);
        if (rs->fps[i].fcsr >> 8) pk_snap_bad(r);   /* frm and fflags only */
    }
    rs->nfps = n;
    if (!r->err && (s = get_sigs(k, r))) return s;
    if (!r->err && !cross_ok(k)) pk_snap_bad(r);
    return r->err;
}

/* A PK_EV_RV_TIMEOUT event as loaded: its thread is a RISC-V one with a
 * side record (what pk_rv_timeout_stale and _fire read). */
bool pk_rv_snap_event_ok(pk_kernel *k, uint64_t arg) {
    uint32_t tid = (uint32_t)arg;
    if (!k->rv || tid >= k->threads.count) return false;
    const pk_thread *t = pk_thread_at(k, tid);
    uint32_t rid = pk_rvt_id(&t->regs);
    return t->kind == PK_BODY_RV && rid && rid < k->rv->nthr && k->rv->thr[rid].tid == tid;
}

/* After the events are loaded (every section before them too): the count
 * of timed waits queued is the number of their events (each one's firing
 * or dropping takes one off), and without memory (a memory section that
 * says there is none) no image holds a frame and no process exists. */
bool pk_rv_snap_events_loaded(pk_kernel *k) {
    const pk_rvstate *rs = k->rv;
    if (!rs) return true;
    if (!k->mem) {
        if (rs->nprocs != 1) return false;
        for (uint32_t i = 1; i < rs->nimgs; i++)
            for (uint64_t p = 0; p < rs->imgs[i].npages; p++)
                if (rs->imgs[i].frames[p]) return false;
    }
    uint64_t n = 0, nt = 0;
    for (uint32_t i = 0; i < k->evq.n; i++) {
        n += pk_event_kind(&k->evq.heap[i]) == PK_EV_RV_TIMEOUT;
        nt += pk_event_kind(&k->evq.heap[i]) == PK_EV_RV_ITIMER;
    }
    return n == k->rv->timeouts && nt == k->rv->itimers;
}

/* A PK_EV_RV_ITIMER event as loaded: its process is a RISC-V one (what
 * pk_rv_itimer_stale reads); a PK_EV_WAKE event's tag (upper 32 bits) is
 * 0 or names a RISC-V thread. */
bool pk_rv_snap_itimer_ok(pk_kernel *k, uint64_t arg) {
    uint32_t pid = (uint32_t)arg;
    if (!k->rv || pid >= k->procs.count) return false;
    for (uint32_t i = 1; i < k->rv->nprocs; i++)
        if (k->rv->procs[i].pid == pid) return true;
    return false;
}

bool pk_rv_snap_wake_ok(pk_kernel *k, uint64_t arg) {
    uint32_t tid = (uint32_t)arg;
    if (tid >= k->threads.count) return false;
    return !(arg >> 32) || (k->rv && pk_thread_at(k, tid)->kind == PK_BODY_RV);
}
