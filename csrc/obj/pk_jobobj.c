/* pk_jobobj.c - jobs: a tree of groups of processes, killed together and
 * bounded by limits (docs/objects.md), after Zircon's jobs.  (Periodic
 * real-time jobs are another thing: pk_periodic.c.)
 *
 * A job counts the live processes of its subtree and the handles they
 * hold; a process belongs to at most one job, named in its extension
 * (pk_pext.job).  Charging a handle walks up the chain and refuses
 * (NO_MEMORY) if any ancestor is at its limit; nothing is charged for
 * processes outside jobs.
 *
 * Memory (a kernel with pk.Memory only) counts the resident user pages of
 * the subtree's processes (their address spaces' rss; page-table pages
 * are the kernel's and do not count).  The truth is each address space's
 * rss: a process's charge (pk_pext.mem_pages) catches up with it at each
 * of its page-ins, which are charged before they happen, so a job's
 * count is never below the truth; when a page-in would pass a limit the
 * counts of that job's whole subtree are caught up first (pages freed
 * meanwhile), so the limit is exact. */
#include "pk_core.h"

static pk_jobrec *job_at(pk_kernel *k, uint32_t id1) { return &k->objs->jobs[id1 - 1]; }

int pk_jobobj_handle_charge(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent)
        if (job_at(k, j)->handles >= job_at(k, j)->max_handles)
            return pk_nomem_note(k, PK_NOMEM_JOB_HANDLES, j - 1);
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->handles++;
    return PK_OK;
}

void pk_jobobj_handle_release(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->handles--;
}

/* The process of x ended: it leaves its jobs' process and page counts
 * (its handles leave as they close). */
void pk_jobobj_proc_exit(pk_kernel *k, pk_pext *x) {
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) {
        job_at(k, j)->procs--;
        job_at(k, j)->pages -= x->mem_pages;
    }
    x->mem_pages = 0;
}

static bool in_subtree(pk_kernel *k, uint32_t j, uint32_t root);

/* Bring process pid's charge (extension x) up to its resident pages. */
static void mem_sync(pk_kernel *k, uint32_t pid, pk_pext *x) {
    pk_as *as = pk_as_of(k, pid);
    uint64_t rss = as ? as->st.rss : 0;
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->pages += rss - x->mem_pages;
    x->mem_pages = rss;
}

/* Bring every live process of job+1 `root`'s subtree up to date. */
static void mem_sync_subtree(pk_kernel *k, uint32_t root) {
    for (uint32_t pid = 0; pid < k->procs.count; pid++) {
        pk_proc *p = pk_proc_at(k, pid);
        uint32_t e = pk_proc_ext(p);
        if (e && p->state != PK_PS_EXITED && p->state != PK_PS_KILLED
            && in_subtree(k, k->objs->ext[e].job, root))
            mem_sync(k, pid, &k->objs->ext[e]);
    }
}

/* Process pid is about to bring one page in: charge it to its jobs, or
 * NO_MEMORY if a job's subtree already holds max_pages resident pages. */
int pk_jobobj_mem_charge(pk_kernel *k, uint32_t pid) {
    uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
    pk_pext *x = e ? &k->objs->ext[e] : NULL;
    if (!x || !x->job) return PK_OK;
    mem_sync(k, pid, x);
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) {
        if (job_at(k, j)->pages < job_at(k, j)->max_pages) continue;
        mem_sync_subtree(k, j);
        if (job_at(k, j)->pages >= job_at(k, j)->max_pages)
            return pk_nomem_note(k, PK_NOMEM_JOB_MEMORY, j - 1);
    }
    for (uint32_t j = x->job; j; j = job_at(k, j)->parent) job_at(k, j)->pages++;
    x->mem_pages++;
    return PK_OK;
}


/* Process pid gave pages back (a populating map that failed): its jobs'
 * counts follow its resident pages again. */
void pk_jobobj_mem_sync(pk_kernel *k, uint32_t pid) {
    uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
    pk_pext *x = e ? &k->objs->ext[e] : NULL;
    if (x && x->job) mem_sync(k, pid, x);
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
    o->jobs[o->njobs] = (pk_jobrec){ parent, 0, max_procs, max_handles, 0, 0, PK_FOREVER, 0 };
    *job_out = o->njobs++;
    return PK_OK;
}

int pk_jobobj_check_spawn(pk_kernel *k, uint32_t job, uint64_t handles) {
    int s = job_ok(k, job);
    if (s) return s;
    for (uint32_t j = job + 1; j; j = job_at(k, j)->parent) {
        if (job_at(k, j)->killed) return PK_ERR_BAD_STATE;
        if (job_at(k, j)->procs >= job_at(k, j)->max_procs)
            return pk_nomem_note(k, PK_NOMEM_JOB_PROCS, j - 1);
        if (handles > job_at(k, j)->max_handles - job_at(k, j)->handles)  /* handles <= max */
            return pk_nomem_note(k, PK_NOMEM_JOB_HANDLES, j - 1);
    }
    return PK_OK;
}

int pk_jobobj_add(pk_kernel *k, uint32_t job, uint32_t pid) {
    int s = job_ok(k, job);
    if (s || (s = pk_caller_ok(k, pid)) || (s = pk_jobobj_check_spawn(k, job, 0))) return s;
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    if (x->job) return PK_ERR_BAD_STATE;
    if ((s = pk_jobobj_check_spawn(k, job, x->count))) return s;   /* with its handles */
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
    *out = (pk_jobobj_info){ j->parent, j->killed, j->max_procs, j->max_handles, j->procs, j->handles,
                             j->max_pages == PK_FOREVER ? PK_FOREVER : j->max_pages * PK_PAGE_SIZE,
                             j->pages * PK_PAGE_SIZE };
    return PK_OK;
}

int pk_jobobj_of(pk_kernel *k, uint32_t pid, uint32_t *job_plus1) {
    if (!k || !job_plus1 || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    uint32_t e = pk_proc_ext(pk_proc_at(k, pid));
    *job_plus1 = e ? k->objs->ext[e].job : 0;
    return PK_OK;
}

/* Bound the resident user pages of job's subtree (bytes, rounded down
 * to pages); only for a kernel with memory, before the job has processes. */
int pk_jobobj_limit_memory(pk_kernel *k, uint32_t job, uint64_t max_bytes) {
    int s = job_ok(k, job);
    if (s) return s;
    if (!k->mem) return PK_ERR_NOT_SUPPORTED;
    pk_jobrec *j = &k->objs->jobs[job];
    if (j->procs || j->max_pages != PK_FOREVER) return PK_ERR_BAD_STATE;
    j->max_pages = max_bytes / PK_PAGE_SIZE;
    return PK_OK;
}
