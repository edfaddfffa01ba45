/* pk_jobobj.c - jobs: a tree of groups of processes, killed together and
 * bounded by limits (docs/objects.md), after Zircon's jobs.  (Periodic
 * real-time jobs are another thing: pk_job.c.)
 *
 * A job counts the live processes of its subtree and the handles they
 * hold; a process belongs to at most one job, named in its extension
 * (pk_pext.job).  Charging a handle walks up the chain and refuses
 * (NO_MEMORY) if any ancestor is at its limit; nothing is charged for
 * processes outside jobs. */
#include "pk_core.h"

static pk_jobrec *job_at(pk_kernel *k, uint32_t id1) { return &k->objs->jobs[id1 - 1]; }

int pk_jobobj_handle_charge(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent)
        if (job_at(k, j)->handles >= job_at(k, j)->max_handles) return PK_ERR_NO_MEMORY;
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->handles++;
    return PK_OK;
}

void pk_jobobj_handle_release(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->handles--;
}

/* The process of x ended: it leaves its jobs' process counts (its handles
 * leave as they close). */
void pk_jobobj_proc_exit(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->procs--;
}

static int job_ok(pk_kernel *k, uint32_t job) {
    if (!k) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    return k->objs && job < k->objs->njobs ? PK_OK : PK_ERR_INVALID_ARGS;
}

int pk_jobobj_create(pk_kernel *k, uint32_t parent, uint64_t max_procs, uint64_t max_handles,
                     uint32_t *job_out) {
    if (!k || !job_out) return PK_ERR_INVALID_ARGS;
    if (k->in_hook) return PK_ERR_BAD_STATE;
    if (pk_objects_init(k)) return PK_ERR_NO_MEMORY;
    pk_objects *o = k->objs;
    if (parent && parent > o->njobs) return PK_ERR_INVALID_ARGS;
    if (parent && o->jobs[parent - 1].killed) return PK_ERR_BAD_STATE;
    if (o->njobs == o->jobs_cap) {
        uint32_t cap = o->jobs_cap ? o->jobs_cap * 2 : 8;
        pk_jobrec *j = pk_realloc(k, o->jobs, o->jobs_cap * sizeof *j, cap * sizeof *j);
        if (!j) return PK_ERR_NO_MEMORY;
        o->jobs = j;
        o->jobs_cap = cap;
    }
    o->jobs[o->njobs] = (pk_jobrec){ parent, 0, max_procs, max_handles, 0, 0 };
    *job_out = o->njobs++;
    return PK_OK;
}

int pk_jobobj_check_spawn(pk_kernel *k, uint32_t job) {
    int s = job_ok(k, job);
    if (s) return s;
    for (uint32_t j = job + 1; j; j = job_at(k, j)->parent) {
        if (job_at(k, j)->killed) return PK_ERR_BAD_STATE;
        if (job_at(k, j)->procs >= job_at(k, j)->max_procs) return PK_ERR_NO_MEMORY;
    }
    return PK_OK;
}

int pk_jobobj_add(pk_kernel *k, uint32_t job, uint32_t pid) {
    int s = job_ok(k, job);
    if (s || (s = pk_caller_ok(k, pid)) || (s = pk_jobobj_check_spawn(k, job))) return s;
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    if (x->job) return PK_ERR_BAD_STATE;
    for (uint32_t j = job + 1; j; j = job_at(k, j)->parent)
        if (job_at(k, j)->handles + x->count > job_at(k, j)->max_handles) return PK_ERR_NO_MEMORY;
    x->job = job + 1;
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) {
        job_at(k, j)->procs++;
        job_at(k, j)->handles += x->count;
    }
    return PK_OK;
}

/* Is job+1 `j` in the subtree of job+1 `root`? */
static bool in_subtree(pk_kernel *k, uint32_t j, uint32_t root) {
    for (; j; j = job_at(k, j)->parent)
        if (j == root) return true;
    return false;
}

int pk_jobobj_kill(pk_kernel *k, uint32_t job) {
    int s = job_ok(k, job);
    if (s) return s;
    for (uint32_t j = 1; j <= k->objs->njobs; j++)
        if (in_subtree(k, j, job + 1)) job_at(k, j)->killed = 1;
    for (uint32_t pid = 0; pid < k->procs.count; pid++) {
        pk_proc *p = pk_proc_at(k, pid);
        uint32_t e = pk_proc_ext(p);
        if (!e || p->state == PK_PS_EXITED || p->state == PK_PS_KILLED) continue;
        if (in_subtree(k, k->objs->ext[e].job, job + 1))
            pk_thread_exit(k, pk_thread_at(k, p->first_tid), -1, PK_KILL_HOST);
    }
    return PK_OK;
}

int pk_jobobj_info_get(pk_kernel *k, uint32_t job, pk_jobobj_info *out) {
    if (!k || !out || !k->objs || job >= k->objs->njobs) return PK_ERR_INVALID_ARGS;
    const pk_jobrec *j = &k->objs->jobs[job];
    *out = (pk_jobobj_info){ j->parent, j->killed, j->max_procs, j->max_handles, j->procs, j->handles };
    return PK_OK;
}

int pk_jobobj_of(pk_kernel *k, uint32_t pid, uint32_t *job_plus1) {
    if (!k || !job_plus1 || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
    *job_plus1 = e ? k->objs->ext[e].job : 0;
    return PK_OK;
}
