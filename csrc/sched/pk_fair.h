/* pk_fair.h - what the two Linux fair-class policies share (CFS in
 * pk_sched_cfs.c, EEVDF in pk_sched_eevdf.c): the nice-to-weight table,
 * the CPU-count scaling of the tunables, virtual time, and the threads a
 * run queue's CPUs are running.
 *
 * Virtual time: a thread of weight w that runs for d ns advances its
 * vruntime by d * 1024 / w (Linux's calc_delta_fair).  pykernel keeps the
 * remainder of that division in the thread and carries it into the next
 * charge, so the conversion is exact over any run: two nice-0 threads get
 * exactly equal service.  vruntimes are unsigned 64-bit numbers compared
 * through their signed difference, as Linux does; they start at
 * PK_FAIR_V0 = 2^62 so that values a little below a queue's start never
 * wrap around zero. */
#ifndef PK_FAIR_H
#define PK_FAIR_H

#define PK_FAIR_NICE0   1024u            /* weight of nice 0 (NICE_0_LOAD) */
#define PK_FAIR_V0      (1ull << 62)     /* every queue's first min_vruntime */

#define PK_SCALE_NONE   0                /* SCHED_TUNABLESCALING_NONE   */
#define PK_SCALE_LOG    1                /* SCHED_TUNABLESCALING_LOG    */
#define PK_SCALE_LINEAR 2                /* SCHED_TUNABLESCALING_LINEAR */

/* Linux's sched_prio_to_weight[] (kernel/sched/core.c), nice -20 .. 19:
 * each step is a factor of about 1.25. */
static const uint32_t pk_prio_to_weight[40] = {
    88761, 71755, 56483, 46273, 36291,
    29154, 23254, 18705, 14949, 11916,
     9548,  7620,  6100,  4904,  3906,
     3121,  2501,  1991,  1586,  1277,
     1024,   820,   655,   526,   423,
      335,   272,   215,   172,   137,
      110,    87,    70,    56,    45,
       36,    29,    23,    18,    15,
};

/* The weight of t's nice value (clamped to -20..19). */
static inline uint32_t pk_fair_weight(const pk_thread *t) {
    int n = t->nice < -20 ? -20 : t->nice > 19 ? 19 : t->nice;
    return pk_prio_to_weight[n + 20];
}

/* Linux's get_update_sysctl_factor(): the tunables are multiplied by
 * 1 + ilog2(min(ncpus, 8)) (log, the default), min(ncpus, 8) (linear) or
 * 1 (none). */
static inline uint64_t pk_fair_factor(uint64_t scale, uint32_t ncpus) {
    uint32_t cpus = ncpus < 8 ? ncpus : 8;
    if (scale == PK_SCALE_NONE) return 1;
    if (scale == PK_SCALE_LINEAR) return cpus;
    return 1 + (uint64_t)(31 - __builtin_clz(cpus));
}

/* a * b / c rounded down, saturating at UINT64_MAX (c > 0). */
static inline uint64_t pk_fair_muldiv(uint64_t a, uint64_t b, uint64_t c) {
    uint64_t p;
    if (!__builtin_mul_overflow(a, b, &p)) return p / c;
#ifdef __SIZEOF_INT128__
    unsigned __int128 q = (unsigned __int128)a * b / c;
    return q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
#else
    return a / c * b;                    /* approximate; only for absurd inputs */
#endif
}

/* ns of real time as virtual time at weight w: ns * 1024 / w. */
static inline uint64_t pk_fair_virt(uint64_t ns, uint32_t w) {
    return w == PK_FAIR_NICE0 ? ns : pk_fair_muldiv(ns, PK_FAIR_NICE0, w);
}

/* The virtual time of `ran` ns at weight w, exact: *rem carries what the
 * division left over from one call to the next (*rem < w). */
static inline uint64_t pk_fair_vdelta(uint64_t ran, uint32_t w, uint32_t *rem) {
    if (w == PK_FAIR_NICE0) return ran;
    uint64_t num = (ran % w) * PK_FAIR_NICE0 + *rem;
    *rem = (uint32_t)(num % w);
    return ran / w * PK_FAIR_NICE0 + num / w;
}

/* true if vruntime a is before b (signed difference, as Linux's
 * entity_before) */
static inline bool pk_fair_before(uint64_t a, uint64_t b) { return (int64_t)(a - b) < 0; }

/* The CPUs whose running threads belong to rq: its own CPU for a per-CPU
 * queue, every CPU for a shared one ([*lo, *hi)). */
static inline void pk_fair_cpus(const pk_rq *rq, uint32_t *lo, uint32_t *hi) {
    if (rq->k->shared) { *lo = 0; *hi = rq->k->ncpus; }
    else { *lo = rq->cpu; *hi = rq->cpu + 1; }
}

/* The thread of the policy running on CPU cpu, or NULL (also while the
 * running thread has just come back to the policy's class and has not
 * entered it yet: its policy state is not set up). */
static inline pk_thread *pk_fair_running(pk_kernel *k, uint32_t cpu) {
    pk_thread *t = k->cpus[cpu].curr;
    return t && t->state == PK_TS_RUNNING && t->sclass == PK_CLASS_OTHER
           && !(t->tflags & PK_TF_NEWCLASS) ? t : NULL;
}

/* Account every fair thread running on rq's CPUs up to now, except t
 * (Linux's update_curr() before an enqueue): their virtual time is then
 * current when a thread is placed among them. */
static inline void pk_fair_update_curr(pk_rq *rq, const pk_thread *t) {
    uint32_t lo, hi;
    pk_fair_cpus(rq, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        pk_thread *c = pk_fair_running(rq->k, i);
        if (c && c != t) pk_charge_running(rq->k, c);
    }
}

/* Number and total weight of the fair threads running on rq's CPUs,
 * except `skip` (may be NULL). */
static inline void pk_fair_running_load(pk_rq *rq, const pk_thread *skip,
                                        uint64_t *nr, uint64_t *load) {
    uint32_t lo, hi;
    pk_fair_cpus(rq, &lo, &hi);
    for (uint32_t i = lo; i < hi; i++) {
        pk_thread *c = pk_fair_running(rq->k, i);
        if (c && c != skip) { (*nr)++; *load += pk_fair_weight(c); }
    }
}

/* CPU c's running thread should stop at `end` if that is before its
 * current slice end (end <= now: at once). */
static inline void pk_fair_cut_slice(pk_kernel *k, pk_cpu *c, pk_time end) {
    if (end >= c->slice_end) return;
    c->slice_end = end;
    pk_time when = end > k->now ? end : k->now;
    if (when < c->timer) pk_cpu_set_timer(k, c, when);
}

#endif
