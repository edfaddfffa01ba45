/* pk_periodic.h - periodic tasks and their jobs (pk_periodic.c): the job
 * state kept in a thread's registers (layout in pk_api.h), the kernel's job log,
 * and the two script instructions that begin and end jobs. */
#ifndef PK_PERIODIC_H
#define PK_PERIODIC_H

typedef struct pk_joblog {
    pk_job_record *rec;           /* in the order jobs finished            */
    uint64_t n, cap;              /* records kept; capacity of rec         */
    uint64_t dropped;             /* records not kept: the limit was reached */
    uint64_t completed, misses;   /* every job, logged or not              */
} pk_joblog;

/* what PK_OP_RELEASE asks of the interpreter */
enum pk_job_step {
    PK_JOB_GO,      /* the job has begun (or one was in progress): go on     */
    PK_JOB_YIELD,   /* it has begun on the CPU with a new deadline: go on
                       after the policy has chosen again (PK_ACT_YIELD)     */
    PK_JOB_WAIT,    /* sleep *wait_ns until its release, then run RELEASE
                       again                                                */
};

struct pk_kernel;
void pk_task_start(pk_thread *t, const pk_task *task);        /* at spawn */
int  pk_job_release(struct pk_kernel *k, pk_regs *r, uint64_t *wait_ns);
void pk_job_end(struct pk_kernel *k, pk_regs *r, uint32_t tid);
void pk_joblog_fini(struct pk_kernel *k);
#endif
