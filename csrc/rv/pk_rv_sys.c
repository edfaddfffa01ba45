/* pk_rv_sys.c - Linux system calls of RISC-V processes (docs/riscv.md,
 * "System calls").
 *
 * Numbers and structures are Linux's for riscv64 (the asm-generic table).
 * The thread's registers carry the call (a7 = number, a0..a5 = arguments)
 * and its result (a0, a negative errno on failure).  Entering the kernel
 * costs Costs.syscall of CPU time, charged before the call is made
 * (pk_rv_exec.c); then a call either goes on at once (the faults of its
 * copies add their time to the block) or leaves the CPU (sleep, yield,
 * futex wait, exit).
 * Calls not listed here return -ENOSYS and are counted per number. */
#include <string.h>
#include "pk_core.h"
#include "pk_rv.h"

enum { EPERM = 1, ENOENT = 2, ESRCH = 3, EBADF = 9, EAGAIN = 11, ENOMEM = 12, EACCES = 13,
       EFAULT = 14, EINVAL = 22, ENOTTY = 25, ESPIPE = 29, ENOSYS = 38, ETIMEDOUT = 110 };

#define A0 10
#define A(i) r->x[10 + (i)]
#define SYS_MAX_IO (1ull << 24)         /* bytes one read / write moves at most */

typedef struct sysctx {
    pk_kernel *k;
    pk_cpu *c;
    pk_thread *t;
    pk_regs *r;
    uint32_t rid, pr;
    uint64_t cost;
    uint32_t dead;                       /* a copy hit a fatal fault: reason */
} sysctx;

static inline pk_rvt *RT(sysctx *s) { return &s->k->rv->thr[s->rid]; }
static inline pk_rvp *RP(sysctx *s) { return &s->k->rv->procs[s->pr]; }

/* copy to / from user memory: 0, -EFAULT, or 1 (fatal: s->dead set) */
static int cp(sysctx *s, uint64_t va, void *buf, uint64_t len, bool write) {
    if (!len) return 0;
    uint32_t reason = 0;
    int v = pk_rv_copy(s->k, s->c, s->t->pid, va, buf, len, write, &s->cost, &reason);
    if (v == 1) s->dead = reason ? reason : PK_KILL_SEGV;
    return v;
}

static void count_unknown(pk_kernel *k, pk_rvp *p, uint64_t num) {
    for (uint32_t i = 0; i < p->nunknown; i++)
        if (p->unknown[i].num == num) { p->unknown[i].n++; return; }
    if (pk_vec_grow(k, (void **)&p->unknown, &p->unknown_cap, p->nunknown + 1, sizeof(pk_rvcount)))
        return;                                    /* not counted: no memory */
    p->unknown[p->nunknown++] = (pk_rvcount){ num, 1 };
}

/* ---- memory ------------------------------------------------------------------- */

static bool region_free(pk_as *as, uint64_t a, uint64_t e) {
    return !pk_regions_meet(as, a, e);
}

/* [a, a+len) changed: if a present leaf changed (as->changed moved past
 * `before`), shoot its translations down; the interrupts are CPU time. */
static void shoot(sysctx *s, pk_as *as, uint64_t a, uint64_t len, uint64_t before) {
    if (as->changed == before) return;
    uint64_t ipis = pk_tlb_shootdown(s->k, as, a, a + len, (int)s->c->id);
    s->cost += ipis * s->k->cfg.costs.ipi_ns;
}

static int64_t sys_brk(sysctx *s, uint64_t want) {
    pk_kernel *k = s->k;
    pk_rvp *p = RP(s);
    pk_as *as = pk_as_of(k, s->t->pid);
    if (want < p->brk_start || want > p->brk_start + (1ull << 32)) return (int64_t)p->brk;
    uint64_t end = (want + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1);
    if (end > p->brk_mapped) {
        if (!region_free(as, p->brk_mapped, end)) return (int64_t)p->brk;
        pk_region *hr = p->brk_mapped ? pk_region_from(as, p->brk_mapped - 1) : NULL;
        if (hr && hr->end == p->brk_mapped && hr->start >= p->brk_start
            && hr->prot == (PK_PROT_READ | PK_PROT_WRITE) && !hr->img) hr->end = end;
        else if (pk_as_map(k, as, p->brk_mapped, end - p->brk_mapped, PK_PROT_READ | PK_PROT_WRITE, 0))
            return (int64_t)p->brk;
    } else if (end < p->brk_mapped) {
        uint64_t before = as->changed;
        if (pk_as_unmap(k, as, end, p->brk_mapped - end)) return (int64_t)p->brk;
        shoot(s, as, end, p->brk_mapped - end, before);
    }
    p->brk_mapped = end;
    p->brk = want;
    return (int64_t)want;
}

/* where mmap puts len bytes without a hint: downwards from mmap_next,
 * below what is there (p->mmap_next moves there); 0, or -1: no room */
static int mmap_place(pk_as *as, pk_rvp *p, uint64_t len, uint64_t *at) {
    if (p->mmap_next < p->brk_mapped + 2 * len) return -1;
    uint64_t a = p->mmap_next - len;
    for (;;) {
        const pk_region *hit = pk_region_from(as, a);     /* first region ending above a */
        if (!hit || hit->start >= a + len) break;
        if (hit->start < p->brk_mapped + 2 * len) return -1;
        a = hit->start - len;
    }
    p->mmap_next = a;
    *at = a;
    return 0;
}

static uint32_t prot_of(uint64_t prot) {
    return PK_PROT_READ | (prot & 2 ? PK_PROT_WRITE : 0) | (prot & 4 ? PK_PROT_EXEC : 0);
}

static int64_t sys_mmap(sysctx *s, uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags,
                        uint64_t fd, uint64_t off) {
    pk_kernel *k = s->k;
    pk_as *as = pk_as_of(k, s->t->pid);
    pk_rvp *p = RP(s);
    if ((flags & 3) != 2 && (flags & 3) != 1) return -EINVAL;
    if (!len || (addr & (PK_PAGE_SIZE - 1)) || len > (1ull << 36)) return -EINVAL;
    uint32_t ino = 0;
    bool rdwr = false;
    if (!(flags & 0x20)) {                       /* a file: mmap(2)'s errors, in its order */
        if (off & (PK_PAGE_SIZE - 1)) return -EINVAL;
        int64_t o = pk_fd_get(k, s->t->pid, fd);
        if (o < 0) return o;
        const pk_ofd *d = &k->fds->ofd[o];
        if (d->flags & PK_O_PATH) return -EBADF;
        if (d->kind != PK_OFD_FILE) return -PK_ENODEV;                 /* pipes, streams */
        pk_fs_stat st;
        if (pk_fs_stat_get(k, d->ino, &st)) return -PK_ENODEV;
        uint32_t acc = d->flags & PK_O_ACCMODE;
        rdwr = acc == 2;
        if (acc == 1) return -EACCES;                                  /* O_WRONLY */
        if ((flags & 3) == 1 && (prot & 2) && acc != 2) return -EACCES;  /* shared, writable, not O_RDWR */
        if ((st.mode & PK_S_IFMT) == PK_S_IFCHR && st.rdev == PK_FS_DEV_ZERO) ino = 0;  /* /dev/zero: zeroes */
        else if ((st.mode & PK_S_IFMT) != PK_S_IFREG) return -PK_ENODEV;
        else ino = d->ino;
    }
    len = (len + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1);
    uint64_t a;
    if (flags & 0x10) a = addr;                                        /* MAP_FIXED */
    else if (addr && region_free(as, addr, addr + len) && addr + len < p->mmap_next && addr >= p->brk_mapped + (1ull << 30))
        a = addr;
    else if (mmap_place(as, p, len, &a)) return -ENOMEM;
    uint32_t fl = (flags & 3) == 1 ? PK_MAP_SHARED : 0;
    uint64_t before = as->changed;
    if (ino) {
        int e = pk_as_map_file(k, as, ino, a, len, prot_of(prot), fl != 0, rdwr, off >> PK_PAGE_SHIFT);
        if (e) return e;
        shoot(s, as, a, len, before);
        return (int64_t)a;
    }
    int st = pk_as_map(k, as, a, len, prot_of(prot), fl);
    if (st) return st == PK_ERR_NO_MEMORY ? -ENOMEM : -EINVAL;
    shoot(s, as, a, len, before);
    return (int64_t)a;
}

/* msync(2): the page cache is the file (there is no disk behind it), so
 * a valid call has nothing to write: EINVAL for an unaligned address,
 * unknown flags or both MS_ASYNC and MS_SYNC, ENOMEM if part of the
 * range is not mapped. */
static int64_t sys_msync(sysctx *s, uint64_t a, uint64_t len, uint64_t flags) {
    pk_as *as = pk_as_of(s->k, s->t->pid);
    if ((a & (PK_PAGE_SIZE - 1)) || (flags & ~7ull) || (flags & 5) == 5) return -EINVAL;
    uint64_t end = (a + len + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1);
    if (end < a) return -ENOMEM;
    for (uint64_t v = a; v < end;) {
        const pk_region *r = pk_as_region(as, v);
        if (!r) return -ENOMEM;
        v = r->end;
    }
    return 0;
}

static int64_t sys_munmap(sysctx *s, uint64_t a, uint64_t len) {
    pk_as *as = pk_as_of(s->k, s->t->pid);
    if ((a & (PK_PAGE_SIZE - 1)) || !len) return -EINVAL;
    len = (len + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1);
    uint64_t before = as->changed;
    int st = pk_as_unmap(s->k, as, a, len);      /* NO_MEMORY: a split past max_map_count */
    if (st) return st == PK_ERR_NO_MEMORY ? -ENOMEM : -EINVAL;
    shoot(s, as, a, len, before);
    return 0;
}

static int64_t sys_mprotect(sysctx *s, uint64_t a, uint64_t len, uint64_t prot) {
    pk_kernel *k = s->k;
    pk_as *as = pk_as_of(k, s->t->pid);
    if ((a & (PK_PAGE_SIZE - 1))) return -EINVAL;
    if (!len) return 0;
    len = (len + PK_PAGE_SIZE - 1) & ~(PK_PAGE_SIZE - 1);
    uint32_t pr = prot_of(prot);
    for (uint64_t v = a; v < a + len; v += PK_PAGE_SIZE) {
        const pk_region *rg = pk_as_region(as, v);
        if (!rg) return -ENOMEM;
        /* an image's read-only pages are shared frames: never writable */
        if ((pr & PK_PROT_WRITE) && rg->img && !(rg->prot & PK_PROT_WRITE)) return -EACCES;
        /* a MAP_SHARED file mapping of a descriptor not opened O_RDWR (mprotect(2)) */
        if ((pr & PK_PROT_WRITE) && (rg->flags & PK_MAP_NOMAYWRITE)) return -EACCES;
    }
    uint64_t before = as->changed;
    int st = pk_as_protect(k, as, a, len, pr);   /* NO_MEMORY: a split past max_map_count */
    if (st) return st == PK_ERR_NO_MEMORY ? -ENOMEM : -EINVAL;
    shoot(s, as, a, len, before);
    return 0;
}

/* mremap(2) (mm/mremap.c).  A mapping is a run of adjacent regions with the
 * same attributes (Linux merges such areas into one).  It grows in place when
 * the pages after it are free, else moves (MREMAP_MAYMOVE) to where mmap
 * would put it, or to new_addr (MREMAP_FIXED); moving copies the pages that
 * exist (untouched ones stay demand-zero) and unmaps the old range, or with
 * MREMAP_DONTUNMAP leaves it mapped and empty.  Only private anonymous
 * mappings grow or move: others give EINVAL (documented in docs/riscv.md). */
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define MREMAP_DONTUNMAP 4

static bool same_kind(const pk_region *a, const pk_region *b) {
    return a->prot == b->prot && a->flags == b->flags && a->shm == b->shm && a->img == b->img;
}

/* the mapping holding va: its attributes (*kind) and end; false if none */
static bool mapping_at(pk_as *as, uint64_t va, pk_region *kind, uint64_t *end) {
    const pk_region *r = pk_as_region(as, va);
    if (!r) return false;
    *kind = *r;
    uint64_t e = r->end;
    for (const pk_region *n; (n = pk_as_region(as, e)) && n->start == e && same_kind(n, kind); )
        e = n->end;
    *end = e;
    return true;
}

static bool range_free(sysctx *s, pk_as *as, uint64_t a, uint64_t e) {
    const pk_region *st = &s->k->mem->stack;
    if (e < a || (a < st->end && e > st->start)) return false;
    for (uint64_t v = a; v < e; v += PK_PAGE_SIZE)
        if (pk_as_region(as, v)) return false;
    return true;
}

/* move [old, old+len) to [to, to+len), mapped already with prot | WRITE:
 * copy the pages that exist, then set prot */
static int64_t move_pages(sysctx *s, pk_as *as, uint64_t old, uint64_t to, uint64_t len,
                          uint32_t prot) {
    pk_kernel *k = s->k;
    uint8_t page[PK_PAGE_SIZE];
    for (uint64_t off = 0; off < len; ) {
        uint64_t next = 0;
        uint64_t *e = pk_pt_lookup(k, as, old + off, &next);
        if (!e) {                                         /* no table: skip its span */
            if (!next || next <= old + off) break;
            off = next - old;
            continue;
        }
        if (*e & k->mem->fmt->valid) {
            if (cp(s, old + off, page, PK_PAGE_SIZE, false) || cp(s, to + off, page, PK_PAGE_SIZE, true))
                return s->dead ? 0 : -ENOMEM;
        }
        off += PK_PAGE_SIZE;
    }
    if (!(prot & PK_PROT_WRITE)) {
        uint64_t before = as->changed;
        if (pk_as_protect(k, as, to, len, prot)) return -ENOMEM;
        shoot(s, as, to, len, before);
    }
    return 0;
}

static int64_t sys_mremap(sysctx *s, uint64_t old, uint64_t old_len, uint64_t new_len,
                          uint64_t flags, uint64_t new_addr) {
    pk_kernel *k = s->k;
    pk_as *as = pk_as_of(k, s->t->pid);
    const uint64_t P = PK_PAGE_SIZE;
    if (flags & ~(uint64_t)(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -EINVAL;
    if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
    if ((flags & MREMAP_DONTUNMAP) && (!(flags & MREMAP_MAYMOVE) || old_len != new_len))
        return -EINVAL;
    if (old & (P - 1)) return -EINVAL;
    if (old_len > (1ull << 40) || new_len > (1ull << 40)) return -ENOMEM;
    old_len = (old_len + P - 1) & ~(P - 1);
    new_len = (new_len + P - 1) & ~(P - 1);
    if (!new_len) return -EINVAL;
    if (!old_len) return -EINVAL;          /* a second mapping of shared pages: not modelled */
    bool fixed = flags & MREMAP_FIXED;
    if (fixed && ((new_addr & (P - 1)) || (old + old_len > new_addr && new_addr + new_len > old)))
        return -EINVAL;
    if (!fixed && !(flags & MREMAP_DONTUNMAP) && new_len <= old_len) {   /* shrink */
        if (new_len < old_len) {
            uint64_t before = as->changed;
            if (pk_as_unmap(k, as, old + new_len, old_len - new_len)) return -EINVAL;
            shoot(s, as, old + new_len, old_len - new_len, before);
        }
        return (int64_t)old;
    }
    pk_region kind;
    uint64_t end;
    if (!mapping_at(as, old, &kind, &end) || old + old_len > end) return -EFAULT;
    if (kind.shm || kind.img || (kind.flags & PK_MAP_SHARED) || (kind.flags & PK_MAP_SUPERVISOR))
        return -EINVAL;
    if (!fixed && !(flags & MREMAP_DONTUNMAP) && old + old_len == end
        && range_free(s, as, end, old + new_len)) {                   /* grow in place */
        int st = pk_as_map(k, as, end, new_len - old_len, kind.prot, kind.flags);
        if (!st) return (int64_t)old;
        if (st == PK_ERR_NO_MEMORY) return -ENOMEM;
        /* past the top of the user address space: it has to move */
    }
    if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
    uint64_t to;
    if (fixed) to = new_addr;
    else if (mmap_place(as, RP(s), new_len, &to)) return -ENOMEM;
    uint64_t before = as->changed;
    int st = pk_as_map(k, as, to, new_len, kind.prot | PK_PROT_WRITE, kind.flags);
    if (st) return st == PK_ERR_NO_MEMORY ? -ENOMEM : -EINVAL;
    shoot(s, as, to, new_len, before);
    uint64_t moved = old_len < new_len ? old_len : new_len;
    int64_t v = move_pages(s, as, old, to, moved, kind.prot);
    if (v || s->dead) {
        pk_as_unmap(k, as, to, new_len);
        return v;
    }
    before = as->changed;
    pk_as_unmap(k, as, old, old_len);
    if (flags & MREMAP_DONTUNMAP)            /* the old range stays, empty: zero on next touch */
        pk_as_map(k, as, old, old_len, kind.prot, kind.flags);
    shoot(s, as, old, old_len, before);
    return (int64_t)to;
}

/* ---- time, identity, limits -------------------------------------------------- */

static int64_t put_timespec(sysctx *s, uint64_t va, uint64_t ns) {
    uint64_t ts[2] = { ns / 1000000000u, ns % 1000000000u };
    return cp(s, va, ts, 16, true) ? -EFAULT : 0;
}

uint64_t pk_kernel_epoch(pk_kernel *k) { return k->cfg.epoch; }

/* The clocks of clock_gettime (include/uapi/linux/time.h).  CLOCK_REALTIME
 * and the clocks that follow it (REALTIME_COARSE, REALTIME_ALARM, TAI, whose
 * offset Linux starts at 0) read epoch + now; the others read now. */
static bool realtime_clock(uint64_t id) { return id == 0 || id == 5 || id == 8 || id == 11; }

static int64_t put_clock(sysctx *s, uint64_t id, uint64_t va) {
    uint64_t ns = s->k->now;
    uint64_t ts[2] = { ns / 1000000000u, ns % 1000000000u };
    if (realtime_clock(id)) ts[0] += s->k->cfg.epoch;
    return cp(s, va, ts, 16, true) ? -EFAULT : 0;
}

/* an absolute time of clock id (seconds, ns) as ns from now, 0 if past */
static uint64_t until(sysctx *s, uint64_t id, uint64_t sec, uint64_t nsec) {
    unsigned __int128 t = (unsigned __int128)sec * 1000000000u + nsec;
    unsigned __int128 cur = s->k->now;
    if (realtime_clock(id)) cur += (unsigned __int128)s->k->cfg.epoch * 1000000000u;
    if (t <= cur) return 0;
    return t - cur > PK_MAX_TIME ? PK_MAX_TIME : (uint64_t)(t - cur);
}

/* sched_getaffinity(2) (kernel/sched/core.c): the CPUs thread pid (0: the
 * caller; one of its process's threads) may run on, as a mask of
 * nr_cpu_ids bits rounded up to whole longs (the kernel's CPU count, as
 * with CONFIG_CPUMASK_OFFSTACK); returns the bytes written. */
static int64_t sys_sched_getaffinity(sysctx *s, uint64_t pid, uint64_t len, uint64_t va) {
    pk_kernel *k = s->k;
    uint32_t ncpu = k->ncpus;
    len = (uint32_t)len;                                  /* the call's len is an unsigned int */
    if (len * 8 < ncpu) return -EINVAL;
    if (len & 7) return -EINVAL;
    uint32_t tid = s->t->tid;
    if (pid) {
        if (pid < PK_RV_LINUX_ID_BASE || pid - PK_RV_LINUX_ID_BASE >= k->threads.count) return -ESRCH;
        tid = (uint32_t)(pid - PK_RV_LINUX_ID_BASE);
        pk_thread *o = pk_thread_at(k, tid);
        if (o->pid != s->t->pid || o->state == PK_TS_EXITED || o->kind != PK_BODY_RV) return -ESRCH;
    }
    uint64_t mask[PK_MAX_CPUS / 64];
    if (pk_thread_affinity_get(k, tid, mask)) return -ESRCH;
    uint64_t size = (ncpu + 63) / 64 * 8;
    for (uint32_t i = ncpu; i < PK_MAX_CPUS; i++) mask[i / 64] &= ~(1ull << (i % 64));
    uint64_t n = len < size ? len : size;
    return cp(s, va, mask, n, true) ? -EFAULT : (int64_t)n;
}

static int64_t sys_uname(sysctx *s, uint64_t va) {
    char u[6][65];
    memset(u, 0, sizeof u);
    strcpy(u[0], "Linux");
    strcpy(u[1], "pykernel");
    strcpy(u[2], "6.1.0-pykernel");
    strcpy(u[3], "#1 SMP");
    strcpy(u[4], "riscv64");
    strcpy(u[5], "(none)");
    return cp(s, va, u, sizeof u, true) ? -EFAULT : 0;
}

static int64_t sys_prlimit(sysctx *s, uint64_t pid, uint64_t res, uint64_t nlim, uint64_t olim) {
    (void)nlim;
    if (pid && pid != s->t->pid + PK_RV_LINUX_ID_BASE) return -ESRCH;
    if (res > 15) return -EINVAL;
    uint64_t v[2] = { ~0ull, ~0ull };
    if (res == 3) v[0] = 8ull << 20;                        /* RLIMIT_STACK: 8 MiB soft */
    if (res == 7) v[0] = v[1] = 1024;                       /* RLIMIT_NOFILE */
    if (olim && cp(s, olim, v, 16, true)) return -EFAULT;
    return 0;
}

static int64_t sys_getrandom(sysctx *s, uint64_t va, uint64_t len) {
    if (len > 1u << 20) len = 1u << 20;
    uint8_t tmp[256];
    uint64_t done = 0;
    while (done < len) {
        uint64_t n = len - done < sizeof tmp ? len - done : sizeof tmp;
        for (uint64_t i = 0; i < n; i += 8) {
            uint64_t v = pk_rng_next(&s->k->rng);
            memcpy(tmp + i, &v, n - i < 8 ? n - i : 8);
        }
        if (cp(s, va + done, tmp, n, true)) return done ? (int64_t)done : -EFAULT;
        done += n;
    }
    return (int64_t)done;
}

static int64_t user_string(sysctx *s, uint64_t va, char *out, uint64_t cap) {
    for (uint64_t i = 0; i < cap; i++) {
        if (cp(s, va + i, &out[i], 1, false)) return -EFAULT;
        if (!out[i]) return (int64_t)i;
    }
    return -ENOENT;
}

/* struct sysinfo: uptime, loads, RAM from the memory's frames */
static int64_t sys_sysinfo(sysctx *s, uint64_t va) {
    pk_mem *m = s->k->mem;
    uint8_t b[112];
    memset(b, 0, sizeof b);
    uint64_t up = s->k->now / 1000000000u, total = m->mcfg.frames, fr = m->nfree;
    uint16_t procs = (uint16_t)(s->k->live_threads > 65535 ? 65535 : s->k->live_threads);
    uint32_t unit = PK_PAGE_SIZE;
    memcpy(b, &up, 8);
    memcpy(b + 32, &total, 8);
    memcpy(b + 40, &fr, 8);
    memcpy(b + 80, &procs, 2);
    memcpy(b + 104, &unit, 4);
    return cp(s, va, b, sizeof b, true) ? -EFAULT : 0;
}

static int64_t zero_out(sysctx *s, uint64_t va, uint64_t len) {
    uint8_t z[128] = { 0 };
    if (!va) return 0;
    return cp(s, va, z, len > sizeof z ? sizeof z : len, true) ? -EFAULT : 0;
}

/* ---- futexes ------------------------------------------------------------------ */

/* futex words live in simulated memory: the key is the vfutex key of the
 * address (pk_vfutex.c), the comparison reads the page's bytes */
static int64_t sys_futex(sysctx *s, uint64_t uaddr, uint64_t op, uint64_t val, uint64_t timeout,
                         int *act) {
    pk_kernel *k = s->k;
    unsigned cmd = op & 127;
    if (uaddr & 3) return -EINVAL;
    uint64_t hi, lo;
    if (pk_vfutex_key(k, s->t->pid, uaddr, &hi, &lo)) return -EFAULT;
    if (cmd == 0 || cmd == 9) {                           /* WAIT, WAIT_BITSET */
        uint32_t cur;
        int v = cp(s, uaddr, &cur, 4, false);
        if (v) return -EFAULT;
        if (cur != (uint32_t)val) return -EAGAIN;
        pk_time deadline = PK_FOREVER;
        if (timeout) {                                    /* WAIT: relative; WAIT_BITSET: absolute */
            uint64_t ts[2];
            if (cp(s, timeout, ts, 16, false)) return -EFAULT;
            if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0) return -EINVAL;
            uint64_t ns = ts[0] > PK_MAX_TIME / 2000000000u ? PK_MAX_TIME / 2 : ts[0] * 1000000000u + ts[1];
            /* WAIT: relative; WAIT_BITSET: absolute, on CLOCK_REALTIME with
             * FUTEX_CLOCK_REALTIME (256), else CLOCK_MONOTONIC (futex(2)) */
            deadline = cmd == 0 ? k->now + ns
                     : (op & 256) ? k->now + until(s, 0, ts[0], ts[1]) : ns;
            if (deadline <= k->now) return -ETIMEDOUT;
            if (pk_rv_reserve_event(k)) return -ENOMEM;
        }
        pk_rvt *rt = RT(s);
        rt->futex_waiting = 1;
        rt->futex_hi = hi;
        rt->futex_lo = lo;
        rt->futex_seq = ++k->rv->futex_seq;
        if (deadline != PK_FOREVER) {                     /* cannot fail: reserved above */
            pk_evq_post(k, &k->evq, deadline, PK_EV_RV_TIMEOUT,
                        (uint64_t)s->t->tid | (rt->futex_seq & 0xffffffffu) << 32);
            k->rv->timeouts++;
        }
        *act = PK_ACT_WAIT;
        return 0;
    }
    if (cmd == 1 || cmd == 10) {                          /* WAKE, WAKE_BITSET */
        uint64_t woken = 0;
        uint32_t n = val > 0x7fffffff ? 0x7fffffff : (uint32_t)val;
        while (woken < n) {
            pk_rvt *best = NULL;
            pk_rvstate *rs = k->rv;
            for (uint32_t i = 1; i < rs->nthr; i++) {
                pk_rvt *w = &rs->thr[i];
                if (!w->futex_waiting || w->futex_hi != hi || w->futex_lo != lo) continue;
                if (pk_thread_at(k, w->tid)->state != PK_TS_WAITING) { w->futex_waiting = 0; continue; }
                if (!best || w->futex_seq < best->futex_seq) best = w;
            }
            if (!best) break;
            best->futex_waiting = 0;
            pk_thread *wt = pk_thread_at(k, best->tid);
            wt->blocked += k->now - wt->since;
            pk_thread_make_ready(k, wt, PK_ENQ_WAKE);
            woken++;
        }
        return (int64_t)woken;
    }
    return -ENOSYS;
}

/* Room in the event queue for one more timed event of machine code (a
 * futex deadline, an interval timer) on top of everything that may be
 * queued: each thread's slot, the periodic ones, the kernel objects'
 * deadlines and the timed events queued already. */
int pk_rv_reserve_event(pk_kernel *k) {
    pk_rvstate *rs = k->rv;
    uint64_t want = (uint64_t)k->threads.count + 9 + (k->objs ? k->objs->deadlines : 0)
                  + rs->timeouts + rs->itimers + 1;
    if (want > 0xffffffffull
        || pk_evq_reserve(k, &k->evq, (uint32_t)(want > k->evq.n ? want - k->evq.n : 0)))
        return -1;
    return 0;
}

/* A timed futex wait's deadline: stale once the wait it belongs to has
 * ended (woken, killed, or a later wait of the same thread). */
bool pk_rv_timeout_stale(pk_kernel *k, const pk_event *e) {
    uint32_t tid = (uint32_t)e->arg;
    pk_thread *t = pk_thread_at(k, tid);
    uint32_t rid = pk_rvt_id(&t->regs);
    const pk_rvt *rt = &k->rv->thr[rid];
    return t->state != PK_TS_WAITING || !rt->futex_waiting
        || (rt->futex_seq & 0xffffffffu) != e->arg >> 32;
}

void pk_rv_timeout_dropped(pk_kernel *k) { k->rv->timeouts--; }

void pk_rv_timeout_fire(pk_kernel *k, const pk_event *e) {
    pk_thread *t = pk_thread_at(k, (uint32_t)e->arg);
    k->rv->timeouts--;
    pk_rvt *rt = &k->rv->thr[pk_rvt_id(&t->regs)];
    rt->futex_waiting = 0;
    if (rt->futex_hi != PK_POLL_WAIT_KEY)         /* ppoll, pselect6: run again, past the deadline */
        t->regs.x[A0] = (uint64_t)(int64_t)-ETIMEDOUT;
    t->blocked += k->now - t->since;
    pk_thread_make_ready(k, t, PK_ENQ_WAKE);
}

/* thread exit: *clear_child_tid = 0 and a futex wake on it */
static void clear_tid(sysctx *s) {
    pk_rvt *rt = RT(s);
    uint64_t a = rt->clear_child_tid;
    if (!a) return;
    uint32_t z = 0;
    if (cp(s, a, &z, 4, true)) { s->dead = 0; return; }
    int act = -1;
    sys_futex(s, a, 1, 1, 0, &act);
}

/* ---- threads ------------------------------------------------------------------- */

#define CLONE_VM 0x100
#define CLONE_THREAD 0x10000
#define CLONE_SETTLS 0x80000
#define CLONE_PARENT_SETTID 0x100000
#define CLONE_CHILD_CLEARTID 0x200000
#define CLONE_CHILD_SETTID 0x1000000

static int64_t sys_clone(sysctx *s, uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t tls,
                         uint64_t ctid) {
    pk_kernel *k = s->k;
    if ((flags & (CLONE_VM | CLONE_THREAD)) != (CLONE_VM | CLONE_THREAD)) return -ENOSYS;   /* no fork */
    uint32_t tid;
    k->rv->making = 1;
    int st = pk_thread_create(k, s->t->pid, s->t->prog, 0, &tid);
    k->rv->making = 0;
    if (st) return -EAGAIN;
    uint32_t rid = pk_rvt_new(k, tid, s->pr);
    pk_thread *nt = pk_thread_at(k, tid);
    if (!rid) {                                           /* no memory: the new thread never runs */
        pk_thread_terminate(k, nt, 0, PK_KILL_NONE);
        return -EAGAIN;
    }
    uint32_t lt = tid + PK_RV_LINUX_ID_BASE;
    nt->regs = *s->r;
    nt->regs.x[0] = 0;
    nt->regs.x[A0] = 0;
    nt->regs.pc = s->r->pc + 4;
    nt->regs.flags = (uint64_t)rid << PK_RV_ID_SHIFT | PK_RF_STARTED;
    if (newsp) nt->regs.x[2] = newsp;
    if (flags & CLONE_SETTLS) nt->regs.x[4] = tls;
    pk_rvt *nr = &k->rv->thr[rid];
    if (flags & CLONE_CHILD_CLEARTID) nr->clear_child_tid = ctid;
    if (flags & CLONE_PARENT_SETTID) cp(s, ptid, &lt, 4, true);
    if (flags & CLONE_CHILD_SETTID) cp(s, ctid, &lt, 4, true);
    return lt;
}

/* ---- the working directory (pk_fs.c) --------------------------------------------------- */

/* getcwd: the path and its NUL, as Linux's system call returns it */
static int64_t sys_getcwd(sysctx *s, uint64_t va, uint64_t size) {
    char p[PK_FS_PATH_MAX];
    uint32_t cwd, n;
    pk_fs_cwd_get(s->k, s->t->pid, &cwd);
    int e = pk_fs_path(s->k, cwd, p, sizeof p, &n);
    if (e) return e;
    if (size < (uint64_t)n + 1) return -PK_ERANGE;
    if (cp(s, va, p, n + 1, true)) return -EFAULT;
    return n + 1;
}

static int64_t sys_chdir(sysctx *s, uint64_t path) {
    char p[PK_FS_PATH_MAX];
    int64_t n = user_string(s, path, p, sizeof p);
    if (n == -ENOENT) return -PK_ENAMETOOLONG;            /* no NUL within PATH_MAX */
    if (n < 0) return n;
    pk_fs_who w;
    uint32_t ino;
    pk_fs_stat st;
    int e = pk_fs_who_of(s->k, s->t->pid, &w);
    if (!e) e = pk_fs_lookup(s->k, &w, p, (uint32_t)n, 0, &ino);
    if (!e) e = pk_fs_stat_get(s->k, ino, &st);
    if (!e && (st.mode & PK_S_IFMT) != PK_S_IFDIR) e = -PK_ENOTDIR;
    if (!e) e = pk_fs_access(s->k, &w, ino, PK_FS_X);
    if (!e) e = pk_fs_cwd_set(s->k, s->t->pid, ino);
    return e;
}

/* ---- signals: pk_rv_sig.c ------------------------------------------------------------ */

/* ---- the process tree: getppid, wait4, waitid, prctl ------------------------------ */

#define WNOHANG 1
#define WUNTRACED 2                      /* = WSTOPPED */
#define WEXITED 4
#define WCONTINUED 8
#define WNOWAIT 0x01000000
#define WNOTHREAD_ 0x20000000u           /* __WNOTHREAD, __WALL, __WCLONE */
#define WALL_ 0x40000000u
#define WCLONE_ 0x80000000u
#define ECHILD 10
#define SIGCHLD 17
#define RUSAGE_BYTES 144                 /* struct rusage on a 64-bit target */

/* The first child of the caller's process that `sel` selects (-1: any;
 * else a Linux pid), preferring a zombie: *zombie says which it found.
 * -1: no child matches.  Process groups do not exist yet, so wait4's
 * pid 0 and pid < -1 and waitid's P_PGID select any child (as if every
 * process were in one group). */
static int64_t find_child(pk_kernel *k, uint32_t pid, int64_t sel, bool *zombie) {
    int64_t any = -1;
    *zombie = false;
    for (uint32_t c = pk_ptl(k, pid)->first_child; c; c = pk_ptl(k, c - 1)->next_sib) {
        if (sel >= 0 && (int64_t)(c - 1) + PK_RV_LINUX_ID_BASE != sel) continue;
        if (pk_proc_at(k, c - 1)->tree == PK_PT_ZOMBIE) { *zombie = true; return c - 1; }
        if (any < 0) any = c - 1;
    }
    return any;
}

/* The first child that `sel` selects with a stop or continue to report
 * that `options` asks for (pk_rv_sig_report): its pid, or -1. */
static int64_t find_report(pk_kernel *k, uint32_t pid, int64_t sel, uint64_t options, bool keep,
                           int32_t *status, int32_t *code, int32_t *sig) {
    if (!(options & (WUNTRACED | WCONTINUED))) return -1;
    for (uint32_t c = pk_ptl(k, pid)->first_child; c; c = pk_ptl(k, c - 1)->next_sib) {
        if (sel >= 0 && (int64_t)(c - 1) + PK_RV_LINUX_ID_BASE != sel) continue;
        if (pk_rv_sig_report(k, c - 1, options, keep, status, code, sig)) return c - 1;
    }
    return -1;
}

/* Nothing to report yet: block (the call runs again when a child ends:
 * pk_rv_wake_waiters), or with WNOHANG return 0. */
static int64_t wait_block(uint64_t options, int *act) {
    if (options & WNOHANG) return 0;
    *act = PK_ACT_WAIT;
    return 0;
}

/* wait4(pid, wstatus, options, rusage) (wait4(2)): the child's Linux pid
 * and its wait status; the rusage is zero-filled (resource use per child
 * is not kept). */
static int64_t sys_wait4(sysctx *s, int64_t pid, uint64_t wstatus, uint64_t options,
                         uint64_t rusage, int *act) {
    if (options & ~(uint64_t)(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD_ | WALL_ | WCLONE_))
        return -EINVAL;
    if (pid == INT32_MIN) return -ESRCH;                  /* -INT_MIN overflows (kernel/exit.c) */
    bool zombie;
    int64_t c = find_child(s->k, s->t->pid, pid > 0 ? pid : -1, &zombie);
    if (c < 0) return -ECHILD;
    if (!zombie) {                                        /* a stop or a continue? */
        int32_t st, code, sig;
        int64_t r = find_report(s->k, s->t->pid, pid > 0 ? pid : -1, options, false, &st, &code, &sig);
        if (r < 0) return wait_block(options, act);
        if (wstatus && cp(s, wstatus, &st, 4, true)) return -EFAULT;
        if (rusage && zero_out(s, rusage, RUSAGE_BYTES)) return -EFAULT;
        return r + PK_RV_LINUX_ID_BASE;
    }
    int32_t st = pk_ptree_wstatus(pk_proc_at(s->k, (uint32_t)c));
    pk_ptree_reap(s->k, (uint32_t)c);
    if (wstatus && cp(s, wstatus, &st, 4, true)) return -EFAULT;
    if (rusage && zero_out(s, rusage, RUSAGE_BYTES)) return -EFAULT;
    return c + PK_RV_LINUX_ID_BASE;
}

/* waitid(idtype, id, infop, options, rusage) (waitid(2)): 0, with the
 * child's siginfo (SIGCHLD, CLD_EXITED or CLD_KILLED, pid, uid, status);
 * WNOWAIT leaves it a zombie.  P_PIDFD: no pidfds yet (-EINVAL). */
static int64_t sys_waitid(sysctx *s, uint64_t idtype, uint64_t id, uint64_t infop,
                          uint64_t options, uint64_t rusage, int *act) {
    if (options & ~(uint64_t)(WNOHANG | WNOWAIT | WEXITED | WUNTRACED | WCONTINUED
                              | WNOTHREAD_ | WALL_ | WCLONE_))
        return -EINVAL;
    if (!(options & (WEXITED | WUNTRACED | WCONTINUED))) return -EINVAL;
    int64_t sel;
    switch (idtype) {
    case 0: sel = -1; break;                              /* P_ALL */
    case 1:                                               /* P_PID */
        if ((int32_t)id <= 0) return -EINVAL;
        sel = (int32_t)id;
        break;
    case 2:                                               /* P_PGID: one group, see find_child */
        if ((int32_t)id < 0) return -EINVAL;
        sel = -1;
        break;
    default: return -EINVAL;                              /* P_PIDFD and others */
    }
    bool zombie;
    int64_t c = find_child(s->k, s->t->pid, sel, &zombie);
    if (c < 0) return -ECHILD;
    int32_t rst, rcode, rsig;
    int64_t rc = (!zombie || !(options & WEXITED))
        ? find_report(s->k, s->t->pid, sel, options, (options & WNOWAIT) != 0, &rst, &rcode, &rsig) : -1;
    if (rc >= 0) {                                        /* CLD_STOPPED, CLD_CONTINUED */
        uint32_t uid, gid;
        pk_proc_creds_get(s->k, (uint32_t)rc, &uid, &gid);
        int32_t info[7] = { SIGCHLD, 0, rcode, 0, (int32_t)(rc + PK_RV_LINUX_ID_BASE), (int32_t)uid, rsig };
        uint64_t times[2] = { 0, 0 };
        if (infop && (cp(s, infop, info, 12, true) || cp(s, infop + 16, &info[4], 12, true)
                      || cp(s, infop + 32, times, 16, true))) return -EFAULT;
        if (rusage && zero_out(s, rusage, RUSAGE_BYTES)) return -EFAULT;
        return 0;
    }
    if (!zombie || !(options & WEXITED)) {                /* nothing to report yet */
        int64_t v = wait_block(options, act);
        if (*act < 0 && infop) {                          /* WNOHANG: a zeroed siginfo */
            int32_t z[6] = { 0 };
            uint64_t zl[2] = { 0 };
            if (cp(s, infop, z, 24, true) || cp(s, infop + 24, &z[5], 4, true)
                || cp(s, infop + 32, zl, 16, true)) return -EFAULT;
        }
        return v;
    }
    const pk_proc *p = pk_proc_at(s->k, (uint32_t)c);
    int32_t info[7] = { SIGCHLD, 0, p->state == PK_PS_EXITED ? 1 : 2,   /* CLD_EXITED, CLD_KILLED */
                        0, (int32_t)(c + PK_RV_LINUX_ID_BASE), 0, 0 };
    int32_t ws = pk_ptree_wstatus(p);
    info[6] = p->state == PK_PS_EXITED ? (ws >> 8) & 0xff : ws & 0x7f;
    uint32_t uid, gid;
    pk_proc_creds_get(s->k, (uint32_t)c, &uid, &gid);
    info[5] = (int32_t)uid;
    if (!(options & WNOWAIT)) pk_ptree_reap(s->k, (uint32_t)c);
    uint64_t times[2] = { 0, 0 };                         /* si_utime, si_stime */
    if (infop && (cp(s, infop, info, 12, true) || cp(s, infop + 16, &info[4], 12, true)
                  || cp(s, infop + 32, times, 16, true))) return -EFAULT;
    if (rusage && zero_out(s, rusage, RUSAGE_BYTES)) return -EFAULT;
    return 0;
}

#define PR_SET_CHILD_SUBREAPER 36
#define PR_GET_CHILD_SUBREAPER 37

/* prctl(option, ...) (prctl(2)): the child-subreaper flag; other options
 * are not modelled (-EINVAL, counted). */
static int64_t sys_prctl(sysctx *s, uint64_t option, uint64_t arg2) {
    pk_proc *p = pk_proc_at(s->k, s->t->pid);
    if (option == PR_SET_CHILD_SUBREAPER) {
        if (arg2) p->tflags |= PK_PTF_SUBREAPER;
        else p->tflags &= (uint8_t)~PK_PTF_SUBREAPER;
        return 0;
    }
    if (option == PR_GET_CHILD_SUBREAPER) {
        int32_t v = (p->tflags & PK_PTF_SUBREAPER) != 0;
        return cp(s, arg2, &v, 4, true) ? -EFAULT : 0;
    }
    count_unknown(s->k, RP(s), 167);
    return -EINVAL;
}

void pk_rv_wake_waiters(pk_kernel *k, uint32_t pid) {
    pk_proc *p = pk_proc_at(k, pid);
    uint32_t nx = 0;
    const uint32_t *xt = pk_proc_ext(p) ? pk_proc_xtids(k, p, &nx) : NULL;
    for (uint32_t i = 0; i < p->nthreads + nx; i++) {
        pk_thread *t = pk_thread_at(k, i < p->nthreads ? p->first_tid + i : xt[i - p->nthreads]);
        if (t->kind != PK_BODY_RV || t->state != PK_TS_WAITING) continue;
        const pk_rvt *rt = &k->rv->thr[pk_rvt_id(&t->regs)];
        if (rt->futex_waiting || !rt->in_syscall                  /* parked in wait4 / waitid */
            || (t->regs.x[17] != 260 && t->regs.x[17] != 95)) continue;
        t->blocked += k->now - t->since;
        pk_thread_make_ready(k, t, PK_ENQ_WAKE);
    }
}

/* a sleep of ns that a signal may cut short: when it ends, and where the
 * time left goes (pk_rv_sig.c) */
static void sleep_note(sysctx *s, uint64_t ns, uint64_t rem) {
    RT(s)->sleep_end = s->k->now + ns;
    RT(s)->sleep_rem = rem;
}

/* ---- the dispatcher of calls ------------------------------------------------------ */

static int syscall_body(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t *arg,
                        uint64_t *cost) {
    sysctx S = { k, c, t, r, pk_rvt_id(r), 0, 0, 0 };
    sysctx *s = &S;
    S.pr = RT(s)->proc;
    uint64_t num = r->x[17];
    int act = -1;
    int64_t v;
    PK_TRACE_CUR(k, t);
    RP(s)->syscalls++;
    switch (num) {
    case 93:                                                                 /* exit */
        clear_tid(s);
        *arg = A(0) & 0xff;
        act = PK_ACT_THREAD_EXIT;
        v = 0;
        break;
    case 94:                                                                 /* exit_group */
        *arg = A(0) & 0xff;
        act = PK_ACT_EXIT;
        v = 0;
        break;
    case 214: v = sys_brk(s, A(0)); break;
    case 222: v = sys_mmap(s, A(0), A(1), A(2), A(3), A(4), A(5)); break;
    case 215: v = sys_munmap(s, A(0), A(1)); break;
    case 227: v = sys_msync(s, A(0), A(1), A(2)); break;
    case 226: v = sys_mprotect(s, A(0), A(1), A(2)); break;
    case 233: v = 0; break;                                                  /* madvise: advice only */
    case 113:                                                                /* clock_gettime */
        v = A(0) > 11 ? -EINVAL : put_clock(s, A(0), A(1));
        break;
    case 169: {                                                              /* gettimeofday */
        uint64_t tv[2] = { k->cfg.epoch + k->now / 1000000000u, k->now % 1000000000u / 1000u };
        uint32_t tz[2] = { 0, 0 };                                           /* UTC, no DST */
        v = 0;
        if (A(0) && cp(s, A(0), tv, 16, true)) v = -EFAULT;
        if (!v && A(1) && cp(s, A(1), tz, 8, true)) v = -EFAULT;
        break;
    }
    case 123: v = sys_sched_getaffinity(s, A(0), A(1), A(2)); break;
    case 216: v = sys_mremap(s, A(0), A(1), A(2), A(3), A(4)); break;
    case 114: v = A(1) ? put_timespec(s, A(1), 1) : 0; break;                /* clock_getres: 1 ns */
    case 101: {                                                              /* nanosleep */
        uint64_t ts[2];
        if (cp(s, A(0), ts, 16, false)) { v = -EFAULT; break; }
        if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0) { v = -EINVAL; break; }
        uint64_t ns = ts[0] > PK_MAX_TIME / 1000000000u ? PK_MAX_TIME : ts[0] * 1000000000u + ts[1];
        v = 0;
        if (ns) { *arg = ns; act = PK_ACT_SLEEP; sleep_note(s, ns, A(1)); }
        break;
    }
    case 115: {                                                              /* clock_nanosleep */
        uint64_t ts[2];
        if (A(0) > 11) { v = -EINVAL; break; }
        if (cp(s, A(2), ts, 16, false)) { v = -EFAULT; break; }
        if (ts[1] >= 1000000000u || (int64_t)ts[0] < 0) { v = -EINVAL; break; }
        uint64_t ns = ts[0] > PK_MAX_TIME / 1000000000u ? PK_MAX_TIME : ts[0] * 1000000000u + ts[1];
        if (A(1) & 1) ns = until(s, A(0), ts[0], ts[1]);                   /* TIMER_ABSTIME */
        v = 0;
        if (ns) { *arg = ns; act = PK_ACT_SLEEP; sleep_note(s, ns, A(1) & 1 ? 0 : A(3)); }
        break;
    }
    case 179: v = sys_sysinfo(s, A(0)); break;
    case 124: v = 0; act = PK_ACT_YIELD; break;                              /* sched_yield */
    case 172: v = t->pid + PK_RV_LINUX_ID_BASE; break;                       /* getpid */
    case 173: {                                                              /* getppid */
        uint32_t pp = pk_ptl(k, t->pid)->parent;                             /* 0: none */
        v = pp ? (int64_t)pp - 1 + PK_RV_LINUX_ID_BASE : 0;
        break;
    }
    case 260: v = sys_wait4(s, (int32_t)A(0), A(1), (uint32_t)A(2), A(3), &act); break;
    case 95: v = sys_waitid(s, (uint32_t)A(0), A(1), A(2), (uint32_t)A(3), A(4), &act); break;
    case 167: v = sys_prctl(s, (uint32_t)A(0), A(1)); break;
    case 178: v = t->tid + PK_RV_LINUX_ID_BASE; break;                       /* gettid */
    case 174: case 175: case 176: case 177: v = 0; break;                    /* get[e]uid, get[e]gid */
    case 96: RT(s)->clear_child_tid = A(0); v = t->tid + PK_RV_LINUX_ID_BASE; break;   /* set_tid_address */
    case 99:                                                                 /* set_robust_list */
        if (A(1) != 24) { v = -EINVAL; break; }
        RT(s)->robust_list = A(0); RT(s)->robust_len = A(1); v = 0;
        break;
    case 102: case 103: case 129: case 130: case 131: case 132: case 133: case 134: case 135:
    case 136: case 137: case 138: case 139: case 240:                        /* pk_rv_sig.c */
        v = pk_rv_sig_syscall(k, c, t, r, num, &act, arg, &S.cost, &S.dead);
        break;
    case 261: v = sys_prlimit(s, A(0), A(1), A(2), A(3)); break;
    case 278: v = sys_getrandom(s, A(0), A(1)); break;
    case 160: v = sys_uname(s, A(0)); break;
    case 17: v = sys_getcwd(s, A(0), A(1)); break;
    case 49: v = sys_chdir(s, A(0)); break;
    case 98: v = sys_futex(s, A(0), A(1), A(2), A(3), &act); break;
    case 220:                                                                /* clone */
        v = A(0) & CLONE_THREAD ? sys_clone(s, A(0), A(1), A(2), A(3), A(4))
                                : pk_rv_fork(k, c, t, r, A(0), A(1), A(2), A(3), A(4), &act, &S.cost, &S.dead);
        break;
    case 221: {                                                              /* execve */
        int done = 0;
        v = pk_rv_execve(k, c, t, r, A(0), A(1), A(2), &done, &S.cost, &S.dead);
        if (done && !S.dead) {                            /* the new image's registers: no result */
            RT(s)->in_syscall = 0;
            *cost = S.cost;
            return -1;
        }
        break;
    }
    case 259: v = 0; break;                                                  /* riscv_flush_icache */
    default: {                                   /* descriptors, files, pipes: pk_rv_fd.c */
        bool known = false, restart = false;
        uint64_t fcost = 0;
        uint32_t dead = 0;
        v = pk_rv_fd_syscall(k, c, t, S.rid, num, &r->x[10], &fcost, &dead, &act, &restart, &known);
        S.cost += fcost;
        if (dead) S.dead = dead;
        if (!known || v == -ENOSYS) count_unknown(k, RP(s), num);
        if (restart && !dead) {                   /* blocked on a pipe: as wait4 below, the */
            RP(s)->syscalls--;                    /* call stays in progress and runs (and   */
            *cost = S.cost;                       /* counts) again when woken               */
            return act;
        }
        break;
    }
    }
    if (act == PK_ACT_WAIT && (num == 260 || num == 95) && !S.dead) {
        RP(s)->syscalls--;                                /* wait4 / waitid block: the call */
        *cost = S.cost;                                   /* stays in progress and runs (and */
        return act;                                       /* counts) again when woken        */
    }
    RT(s)->in_syscall = 0;
    if (v == PK_RV_NORET && !S.dead) {                    /* rt_sigreturn set the registers */
        *cost = S.cost;
        return act;
    }
    if (S.dead) {                                         /* a copy had no frame to use */
        *arg = S.dead;
        *cost = S.cost;
        return PK_ACT_KILL;
    }
    r->x[A0] = (uint64_t)v;
    r->pc += 4;
    *cost = S.cost;                                       /* Costs.syscall was charged on entry */
    return act;
}

/* While a call runs, signals sent to the caller's own process stay pending
 * (pk_sig_send) and are delivered on the way back to user mode. */
int pk_rv_syscall(pk_kernel *k, pk_cpu *c, pk_thread *t, pk_regs *r, uint64_t *arg, uint64_t *cost) {
    k->rv->in_call = t->tid + 1;
    int a = syscall_body(k, c, t, r, arg, cost);
    k->rv->in_call = 0;
    return a;
}
