/* pk_periodic.c - periodic tasks (Liu & Layland 1973's task model).
 *
 * A script that begins with PK_OP_TASK declarations (period T, relative
 * deadline D, phase, number of jobs) is a periodic task.  Its thread
 * arrives at the spawn's `at` plus the phase; job j is released at
 * arrival + j*T, needs the CPU time of the instructions between a
 * PK_OP_RELEASE and the next PK_OP_JOB_END, and its absolute deadline is
 * its release + D.  The job state lives in the thread's registers
 * (x[6..13] and the PK_RF_PERIODIC / IN_JOB / JOB_ENDED flags, pk_api.h),
 * set at spawn for job 0 so that a policy sees job 0's deadline from the
 * arrival on.
 *
 * Jobs of one task run one after the other: a job still running at the
 * next release delays the next job, which begins as soon as it finishes
 * (its release and deadline stay the nominal ones).  A job that finishes
 * after its absolute deadline is a deadline miss; it still runs to the
 * end.  Every completed job is counted, and logged (tid, index, release,
 * finish, deadline) up to cfg.job_log_limit records. */
#include <string.h>
#include "pk_core.h"

static inline uint64_t sat_add(uint64_t a, uint64_t b) {
    uint64_t s = a + b;
    return s < a ? PK_FOREVER : s;
}

/* Set up a new thread of a periodic-task program: job 0 is released at
 * its arrival (which pk_spawn has set to `at` + phase). */
void pk_task_start(pk_thread *t, const pk_task *task) {
    uint64_t *x = t->regs.x;
    x[PK_REG_PERIOD] = task->period;
    x[PK_REG_REL_DL] = task->deadline;
    x[PK_REG_RELEASE] = t->arrival;
    x[PK_REG_DEADLINE] = sat_add(t->arrival, task->deadline);
    x[PK_REG_JOB_LIMIT] = task->jobs;
    t->regs.flags |= PK_RF_PERIODIC;
}

/* PK_OP_RELEASE on the live registers r: begin the next job if its
 * release has come, else ask to sleep until it does (*wait_ns).  Inside a
 * job, or in a thread that is not a periodic task, it does nothing. */
int pk_job_release(pk_kernel *k, pk_regs *r, uint64_t *wait_ns) {
    if ((r->flags & (PK_RF_PERIODIC | PK_RF_IN_JOB)) != PK_RF_PERIODIC) return PK_JOB_GO;
    uint64_t release = r->x[PK_REG_RELEASE];
    if (k->now < release) {
        *wait_ns = release - k->now;
        r->flags &= ~(uint64_t)PK_RF_JOB_ENDED;     /* it will be queued afresh */
        return PK_JOB_WAIT;
    }
    bool changed = r->flags & PK_RF_JOB_ENDED;
    r->flags = (r->flags & ~(uint64_t)PK_RF_JOB_ENDED) | PK_RF_IN_JOB;
    r->x[PK_REG_JOBS]++;
    return changed ? PK_JOB_YIELD : PK_JOB_GO;
}

/* Append a record to the job log; beyond the limit count it as dropped.
 * Running out of memory breaks the kernel (a run must not fail silently). */
static void joblog_add(pk_kernel *k, const pk_job_record *rec) {
    pk_joblog *l = &k->jobs;
    if (l->n >= k->cfg.job_log_limit) { l->dropped++; return; }
    if (l->n == l->cap) {
        uint64_t cap = l->cap ? l->cap * 2 : 256;
        if (cap > k->cfg.job_log_limit) cap = k->cfg.job_log_limit;
        if (cap > SIZE_MAX / sizeof *rec) { k->broken = PK_ERR_NO_MEMORY; return; }
        pk_job_record *a = pk_realloc(k, l->rec, l->cap * sizeof *a, cap * sizeof *a);
        if (!a) { k->broken = PK_ERR_NO_MEMORY; return; }
        l->rec = a;
        l->cap = cap;
    }
    l->rec[l->n++] = *rec;
}

/* PK_OP_JOB_END on the live registers r of thread tid: the job in progress
 * is complete now.  Counts it (and a miss if now is past its deadline),
 * logs it, and sets up the next job's release and deadline.  Outside a
 * job it does nothing. */
void pk_job_end(pk_kernel *k, pk_regs *r, uint32_t tid) {
    if (!(r->flags & PK_RF_IN_JOB)) return;
    uint64_t *x = r->x;
    bool miss = k->now > x[PK_REG_DEADLINE];
    pk_job_record rec = { tid, 0, x[PK_REG_JOBS] - 1, x[PK_REG_RELEASE], k->now, x[PK_REG_DEADLINE] };
    x[PK_REG_DONE]++;
    x[PK_REG_MISSES] += miss;
    k->jobs.completed++;
    k->jobs.misses += miss;
    joblog_add(k, &rec);
    x[PK_REG_RELEASE] = sat_add(x[PK_REG_RELEASE], x[PK_REG_PERIOD]);
    x[PK_REG_DEADLINE] = sat_add(x[PK_REG_RELEASE], x[PK_REG_REL_DL]);
    r->flags = (r->flags & ~(uint64_t)PK_RF_IN_JOB) | PK_RF_JOB_ENDED;
}

void pk_joblog_fini(pk_kernel *k) {
    pk_free(k, k->jobs.rec, k->jobs.cap * sizeof *k->jobs.rec);
    memset(&k->jobs, 0, sizeof k->jobs);
}

/* ---- queries: values as of k->now ---------------------------------------- */

/* Released jobs: those begun, or more if release instants have passed
 * while an earlier job still ran (not once the thread has exited). */
static uint64_t jobs_released(const pk_kernel *k, const pk_thread *t, const uint64_t *x) {
    uint64_t released = x[PK_REG_JOBS];
    if (t->state == PK_TS_EXITED || k->now < t->arrival) return released;
    uint64_t due = (k->now - t->arrival) / x[PK_REG_PERIOD] + 1;
    if (due > x[PK_REG_JOB_LIMIT]) due = x[PK_REG_JOB_LIMIT];
    return due > released ? due : released;
}

/* Released jobs not completed whose deadline arrival + j*T + D is before
 * now (a live thread's; 0 once it has exited). */
static uint64_t jobs_overdue(const pk_kernel *k, const pk_thread *t, const uint64_t *x,
                             uint64_t released) {
    uint64_t first_deadline = sat_add(t->arrival, x[PK_REG_REL_DL]);
    if (t->state == PK_TS_EXITED || k->now <= first_deadline) return 0;
    uint64_t passed = (k->now - first_deadline - 1) / x[PK_REG_PERIOD] + 1;
    if (passed > released) passed = released;
    return passed > x[PK_REG_DONE] ? passed - x[PK_REG_DONE] : 0;
}

int pk_thread_jobs_get(pk_kernel *k, uint32_t tid, pk_job_stats *out) {
    if (!k || !out || tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    const pk_thread *t = pk_thread_at(k, tid);
    const pk_regs *r = pk_thread_live_regs(k, t);
    memset(out, 0, sizeof *out);
    if (!(r->flags & PK_RF_PERIODIC) || !r->x[PK_REG_PERIOD]) return PK_OK;
    const uint64_t *x = r->x;
    out->period = x[PK_REG_PERIOD];
    out->deadline = x[PK_REG_REL_DL];
    out->completed = x[PK_REG_DONE];
    out->misses = x[PK_REG_MISSES];
    out->released = jobs_released(k, t, x);
    out->overdue = jobs_overdue(k, t, x, out->released);
    return PK_OK;
}

int pk_job_totals_get(pk_kernel *k, pk_job_totals *out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    memset(out, 0, sizeof *out);
    out->completed = k->jobs.completed;
    out->misses = k->jobs.misses;
    out->logged = k->jobs.n;
    out->dropped = k->jobs.dropped;
    out->limit = k->cfg.job_log_limit;
    return PK_OK;
}

int pk_job_log_get(pk_kernel *k, uint32_t tid, pk_job_record *out, uint64_t cap,
                   uint64_t *count_out) {
    if (!k || !count_out || (cap && !out)) return PK_ERR_INVALID_ARGS;
    if (tid != PK_ALL_THREADS && tid >= k->threads.count) return PK_ERR_INVALID_ARGS;
    const pk_joblog *l = &k->jobs;
    uint64_t found = 0;
    for (uint64_t i = 0; i < l->n; i++) {
        if (tid != PK_ALL_THREADS && l->rec[i].tid != tid) continue;
        if (found < cap) out[found] = l->rec[i];
        found++;
    }
    *count_out = found;
    return PK_OK;
}

/* ---- snapshots (pk_snap.h) -------------------------------------------------- */

void pk_joblog_snap_save(pk_kernel *k, pk_snap_w *w) {
    const pk_joblog *l = &k->jobs;
    uint64_t v[5] = { l->n, l->cap, l->dropped, l->completed, l->misses };
    pk_snap_u64s(w, v, 5);
    pk_snap_put(w, l->rec, l->n * sizeof *l->rec);
}

int pk_joblog_snap_load(pk_kernel *k, pk_snap_r *r) {
    pk_joblog *l = &k->jobs;
    uint64_t v[5];
    pk_snap_get_u64s(r, v, 5);
    if (r->err || v[0] > v[1] || v[1] > k->cfg.job_log_limit
        || !pk_snap_count_ok(r, v[0], sizeof *l->rec)) {
        pk_snap_bad(r);
        return r->err;
    }
    if (v[1]) {
        l->rec = pk_alloc(k, v[1] * sizeof *l->rec);
        if (!l->rec) return PK_ERR_NO_MEMORY;
        l->cap = v[1];
    }
    pk_snap_get(r, l->rec, v[0] * sizeof *l->rec);
    l->n = r->err ? 0 : v[0];
    l->dropped = v[2];
    l->completed = v[3];
    l->misses = v[4];
    for (uint64_t i = 0; i < l->n; i++)
        if (l->rec[i].tid >= k->threads.count) { pk_snap_bad(r); break; }
    return r->err;
}
