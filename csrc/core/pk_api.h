/* pk_api.h - the public C interface of the pykernel core.
 *
 * This file is read twice: by the C compiler (through pk_core.h) and by
 * cffi's cdef parser (csrc/build_core.py).  It therefore contains only
 * declarations cffi understands: integer #defines, typedefs, structs and
 * prototypes.  No include guards, no macros with arguments.
 *
 * Conventions
 *  - Every entry point validates its arguments and returns a status
 *    (PK_OK or a negative PK_ERR_*); none of them can crash on bad input.
 *  - Objects are named by integer ids: tid (thread), pid (process),
 *    prog (program).  Ids are never reused within one kernel.
 *  - Simulated time is uint64 nanoseconds; PK_FOREVER means "never".
 */

/* ---- status codes (same numbers as Zircon's zx_status_t) ---------------- */
#define PK_OK                 0
#define PK_ERR_INTERNAL      -1
#define PK_ERR_NOT_SUPPORTED -2
#define PK_ERR_NO_MEMORY     -4
#define PK_ERR_INVALID_ARGS  -10
#define PK_ERR_BAD_HANDLE    -11
#define PK_ERR_WRONG_TYPE    -12
#define PK_ERR_OUT_OF_RANGE  -14
#define PK_ERR_BUFFER_TOO_SMALL -15
#define PK_ERR_BAD_STATE     -20
#define PK_ERR_TIMED_OUT     -21
#define PK_ERR_SHOULD_WAIT   -22
#define PK_ERR_CANCELED      -23
#define PK_ERR_PEER_CLOSED   -24
#define PK_ERR_ACCESS_DENIED -30
/* pykernel's own, outside Zircon's numbering */
#define PK_ERR_POLICY        -90  /* a policy written in Python failed (pk_host_policy_failure) */

/* ---- why pk_kernel_run returned (negative, below every status) ---------- */
#define PK_STOP_IDLE      -101  /* every thread has exited; nothing is pending */
#define PK_STOP_UNTIL     -102  /* the deadline was reached                   */
#define PK_STOP_DEADLOCK  -103  /* threads remain but nothing can wake them   */
#define PK_STOP_BUDGET    -104  /* max_steps units of host work were done     */
#define PK_STOP_LIVELOCK  -105  /* too much work without time advancing       */
#define PK_STOP_PAGER     -106  /* a fault waits for its Python handler
                                   (pk_vm_pager_next / pk_vm_pager_answer)  */
#define PK_STOP_HOST      -107  /* a host (Python) thread needs its next
                                   operation: pass it to the next call       */
#define PK_STOP_OUTPUT    -108  /* a machine-code process wrote to a stream
                                   the host watches (pk_rv_watch); the record
                                   names the writer; the next call goes on */

/* Host work, what pk_kernel_run's max_steps and pk_config.livelock_steps
 * count: 1 per dispatcher step, 1 per instruction a script thread runs at
 * no simulated time or a machine-code thread executes, PK_WORK_HOST per
 * operation a host (Python) body gives.  A unit is a few ns to tens of ns
 * of host time (a Python operation about a microsecond), so a budget of
 * work bounds the host time of a call into the core, whatever the bodies
 * do.  One instant may take livelock_steps plus PK_LIVELOCK_PER_THREAD
 * per thread: every thread may arrive, run a few Python operations or a
 * few dozen zero-time instructions, and block at the same instant. */
#define PK_WORK_HOST 16
#define PK_LIVELOCK_PER_THREAD 64

#define PK_FOREVER 0xffffffffffffffff
#define PK_MAX_CPUS 256
#define PK_MAX_TIME 0x3fffffffffffffff   /* largest duration or instant accepted */
#define PK_LOOP_DEPTH 16                  /* deepest loop nesting in a script   */
#define PK_NO_BURST 0xffffffffffffffff    /* "no declared burst"                */

/* ---- register context ---------------------------------------------------
 * 32 general 64-bit registers, then pc, then flags; 272 bytes.
 *   offset   0: x[0]  .. offset 248: x[31]
 *   offset 256: pc    (script: index of the next instruction)
 *   offset 264: flags (PK_RF_* bits)
 * Every thread, whatever its body, keeps in x[0]
 *   x[0]  remaining ns of the timed operation in progress (PK_REG_REM):
 *         the dispatcher counts it down as the thread runs.  x[0] is the
 *         slot a RISC-V register file never needs (its x0 reads as zero).
 * Script threads use the other registers as follows (see pk_script.c):
 *   x[2]  loop depth (number of active loops)
 *   x[16 + i]  iteration counter of the loop at depth i (i < 16)
 * Python-bodied (host) threads use
 *   x[4]  the next operation the host supplied (PK_OP_*); after an
 *         operation on a futex (FUTEX_WAIT, LOCK .. COND_BROADCAST) the last one,
 *         whose status is in x[14]
 *   x[5]  its argument (b of the script instruction)
 *   x[6]  its second argument (a of the script instruction), or 0
 * Instructions on kernel objects (docs/objects.md) use
 *   x[1]  the timeout of the next wait (PK_REG_TIMEOUT)
 *   x[14] the status of the last one (PK_REG_STATUS)
 *   x[15] the thread's wait record + 1 while it has one (PK_REG_WAIT)
 * Periodic tasks (scripts with a PK_OP_TASK declaration, pk_periodic.c) also
 * use, all set at spawn and then kept by PK_OP_RELEASE / PK_OP_JOB_END:
 *   x[6]  period T (ns)
 *   x[7]  relative deadline D (ns)
 *   x[8]  release instant of the current job (between jobs: of the next);
 *         job j is released at arrival + j*T, the arrival being the
 *         spawn's `at` plus the task's phase
 *   x[9]  absolute deadline of that job, x[8] + x[7]
 *   x[10] jobs begun
 *   x[11] jobs completed
 *   x[12] deadline misses: jobs completed after their absolute deadline
 *   x[13] jobs in all (the task's job count; 2^62 - 1 means forever)
 */
typedef struct pk_regs {
    uint64_t x[32];
    uint64_t pc;
    uint64_t flags;
} pk_regs;

#define PK_REG_REM    0   /* x0 is hard-wired to zero in RISC-V: its slot is free */
#define PK_REG_DEPTH  2
#define PK_REG_LOOP0  16
#define PK_REG_HOST_OP  4
#define PK_REG_HOST_ARG 5
#define PK_REG_HOST_A   6
#define PK_REG_PERIOD    6
#define PK_REG_REL_DL    7
#define PK_REG_RELEASE   8
#define PK_REG_DEADLINE  9
#define PK_REG_JOBS      10
#define PK_REG_DONE      11
#define PK_REG_MISSES    12
#define PK_REG_JOB_LIMIT 13
#define PK_REG_TIMEOUT   1   /* kernel objects (pk_wait.c): the next wait's
                                timeout + 1 (0: none), or its absolute
                                deadline with bit 63 set once it waited      */
#define PK_REG_STATUS    14  /* status of the last kernel-object operation   */
#define PK_REG_WAIT      15  /* wait record id + 1 while the thread owns one */
#define PK_RF_STARTED    1  /* the thread has begun executing its body     */
#define PK_RF_HOST_READY 2  /* x[4], x[5] hold an operation not yet begun  */
#define PK_RF_PERIODIC   4  /* a periodic task: x[6..13] are its job state */
#define PK_RF_IN_JOB     8  /* a job has begun and has not finished yet    */
#define PK_RF_JOB_ENDED 16  /* a job finished on the CPU; the next has not
                               begun (its deadline changed while running)  */
#define PK_RF_WAIT_FAILED 32 /* the last wait ended with an error (TIMED_OUT,
                               CANCELED): the retried instruction gives up  */
#define PK_RF_WAIT_OK    64  /* the last wait was satisfied                 */
#define PK_RF_POLL      512  /* a poll is in progress: it ends at x[5]       */
#define PK_RF_COMPUTE  1024  /* x[0] counts a compute operation (a cache
                                model may speed it up, pk_cache.c)          */
#define PK_REG_POLL_END  5   /* (x[5] is free then for every body kind)     */
#define PK_RF_PARTIAL   256  /* a script's socket write is part done: x[14]
                               holds the bytes written so far             */
#define PK_RF_COND_WAIT 128  /* a condition wait released its mutex and waits
                               (pk_futex.c): next it takes the mutex again */

/* ---- script instructions -------------------------------------------------
 * A compiled script is an array of pk_op.  Loops are compiled to a
 * PK_OP_LOOP (b = count, a = index of the matching PK_OP_ENDLOOP) and a
 * PK_OP_ENDLOOP (a = index of its PK_OP_LOOP).  pk_prog_load_script
 * validates all of it again.
 */
typedef struct pk_op {
    uint32_t code;
    uint32_t a;
    uint64_t b;
} pk_op;

#define PK_OP_COMPUTE  1   /* b = ns of CPU time                          */
#define PK_OP_IO       2   /* b = ns blocked on a device                  */
#define PK_OP_SLEEP    3   /* b = ns asleep                               */
#define PK_OP_YIELD    4   /* give up the CPU to a ready thread           */
#define PK_OP_EXIT     5   /* b = exit code (int32, two's complement)     */
#define PK_OP_LOOP     6   /* b = iterations, a = index of matching ENDLOOP */
#define PK_OP_ENDLOOP  7   /* a = index of matching LOOP                  */
#define PK_OP_KILL     8   /* host only: kill the process; b = reason     */
#define PK_OP_TASK     9   /* periodic task declaration, a = PK_TASK_*,
                              b = its value; only at the start of a script,
                              applied at spawn (a no-op when executed)    */
#define PK_OP_RELEASE  10  /* wait for the next job's release, then begin
                              it (a, b = 0)                               */
#define PK_OP_JOB_END  11  /* the current job is finished (a, b = 0)      */
/* memory (pk_vm.c; a kernel configured with memory only) */
#define PK_OP_TOUCH    12  /* access address b; a = 1: a write            */
#define PK_OP_TOUCH_RANGE 13 /* b = start, a = PK_PAT_*; then two ARGs:
                              ARG(b = length), ARG(a = write ratio in
                              1/65536 units, 0..65536; b = stride)        */
#define PK_OP_ARG      14  /* an extra argument word of the op before it   */
#define PK_OP_MAP      15  /* b = address, a = PK_PROT_* | PK_MAP_* << 8;
                              then ARG(b = length, a = shared-memory object
                              or 0: anonymous)                             */
#define PK_OP_UNMAP    16  /* b = address; then ARG(b = length)            */
#define PK_OP_PROTECT  17  /* b = address, a = PK_PROT_*; then ARG(b = length) */
#define PK_OP_FORK     18  /* a child process with a copy-on-write copy of the
                              address space; the child runs from the next
                              instruction, the parent goes on at index a
                              (the child's block ends with an EXIT at a-1;
                              a = the next index: no block, both go on) */
#define PK_OP_EXEC     19  /* replace the image by script program a        */
#define PK_OP_BRK      20  /* set the heap's end (program break) to b      */
#define PK_PAT_SEQ     0
#define PK_PAT_RANDOM  1
/* kernel objects (pk_chan.c, pk_wait.c, pk_futex.c; docs/objects.md) */
#define PK_OP_CHAN_WRITE 32 /* a = handle slot, b = bytes: write a message of
                              b synthetic bytes to the channel (pk_chan.c) */
#define PK_OP_CHAN_READ  33 /* a = handle slot: read one message; waits
                              while the channel is empty                  */
#define PK_OP_WAIT       34 /* a = handle slot, b = signals: wait until one
                              of them is asserted (or the timeout)        */
#define PK_OP_TIMEOUT    35 /* b = ns: the next WAIT or READ gives up after
                              b ns with TIMED_OUT                         */
#define PK_OP_OBJ_WAIT   36 /* host only: ctx.wait_many (pk_host_deliver_wait) */
#define PK_OP_FUTEX_WAIT  37 /* b = address, a = expected word: wait while the
                               word equals it (else BAD_STATE at once)    */
#define PK_OP_FUTEX_WAKE  38 /* b = address, a = n: wake at most n waiters */
#define PK_OP_LOCK        39 /* b = address of a futex mutex word; a: 1 (PK_LOCK_INHERIT)
                               makes it a priority-inheritance mutex       */
#define PK_LOCK_INHERIT   1
#define PK_OP_UNLOCK      40 /* b = address                                */
#define PK_OP_SEM_WAIT    41 /* b = address of a semaphore count           */
#define PK_OP_SEM_POST    42 /* b = address                                */
#define PK_OP_COND_WAIT   43 /* b = condition variable, a = its mutex      */
#define PK_OP_COND_SIGNAL 44 /* b = condition variable                     */
#define PK_OP_COND_BROADCAST 45 /* b = condition variable, a = its mutex   */
/* threads of a process (pk_thread.c) */
#define PK_OP_SPAWN_THREAD 46 /* a = index of the new thread's first
                               instruction (this one's + 1), b = length of
                               its body, which ends with THREAD_EXIT; the
                               creator goes on after the body             */
#define PK_OP_THREAD_EXIT  47 /* b = exit code: end this thread only (the
                               process ends with its last thread)         */
#define PK_OP_POLL     48  /* b = ns: io waited for by polling: the thread
                              stays on the CPU (CPU time charged) until b ns
                              of wall time have passed; preempted, it finishes
                              as soon as it runs again after that instant */
#define PK_OP_LAST     48

/* what a PK_OP_TASK declares (each at most once; PERIOD is required) */
#define PK_TASK_PERIOD   1  /* period T, 1 .. PK_MAX_TIME ns               */
#define PK_TASK_DEADLINE 2  /* relative deadline D, 1 .. PK_MAX_TIME ns;
                               default T                                   */
#define PK_TASK_PHASE    3  /* first release, ns after the spawn's `at`;
                               default 0                                   */
#define PK_TASK_JOBS     4  /* jobs in all, 0 .. PK_MAX_TIME; default
                               PK_MAX_TIME (forever)                       */

/* ---- thread and process states ----------------------------------------- */
#define PK_TS_NEW      0   /* spawned, arrival still in the future        */
#define PK_TS_READY    1
#define PK_TS_RUNNING  2
#define PK_TS_BLOCKED  3   /* waiting for a device (io)                   */
#define PK_TS_SLEEPING 4
#define PK_TS_EXITED   5
#define PK_TS_WAITING  6   /* waiting for signals of kernel objects       */

#define PK_PS_NEW      0
#define PK_PS_ALIVE    1
#define PK_PS_EXITED   2   /* exited by itself; exit_code is valid         */
#define PK_PS_KILLED   3   /* killed; kill_reason says why                 */

#define PK_KILL_NONE      0
#define PK_KILL_HOST      1   /* killed from the host (Process.kill)      */
#define PK_KILL_EXCEPTION 2   /* a Python thread body raised              */
#define PK_KILL_BAD_OP    3   /* a Python thread body yielded a bad op    */
#define PK_KILL_SEGV      4   /* a memory fault it cannot handle (pk_as_fault_get) */
#define PK_KILL_OOM       5   /* out of memory: no frame for a page it needed */
#define PK_KILL_JOB_MEMORY 6  /* a page would pass its job's max_memory (pk_jobobj.c) */
#define PK_KILL_ILLEGAL   7   /* machine code: an illegal instruction, ebreak or a
                                 misaligned pc (SIGILL / SIGTRAP / SIGBUS)  */
#define PK_KILL_ABORT     8   /* machine code: it sent itself SIGABRT (abort()) */
#define PK_KILL_SIGNAL    9   /* another signal's default action (pk_proc_tree_get: which) */
#define PK_KILL_LAST      9

/* ---- scheduling policies ------------------------------------------------
 * The kernel's policy (the fair class).  Ids are stable. */
#define PK_POLICY_FIFO     1
#define PK_POLICY_SJF      2
#define PK_POLICY_STCF     3
#define PK_POLICY_RR       4
#define PK_POLICY_PRIORITY 5
#define PK_POLICY_CFS      6
#define PK_POLICY_EEVDF    7
#define PK_POLICY_MLFQ     8
#define PK_POLICY_LOTTERY  9
#define PK_POLICY_STRIDE   10
#define PK_POLICY_EDF      11
#define PK_POLICY_RM       12
#define PK_POLICY_HOST     13   /* a policy written in Python */
#define PK_MAX_PARAMS      64
#define PK_MLFQ_MAX_LEVELS 16               /* MLFQ: levels, one quantum each */
#define PK_STRIDE1_MAX     4294967296ull    /* Stride: the largest stride1, 2^32 */
#define PK_MLFQ_FLAGS      7                /* MLFQ: params[2]'s flag bits (pk_sched_mlfq.c) */
#define PK_TUNABLE_MAX_NS  1000000000ull    /* CFS / EEVDF tunables: Linux's sysctl bound, 1 s */

/* ---- scheduling classes of a thread (man 7 sched) ------------------------ */
#define PK_CLASS_OTHER 0   /* the kernel's policy (SCHED_OTHER)            */
#define PK_CLASS_FIFO  1   /* SCHED_FIFO, rt_prio 1..99, above OTHER       */
#define PK_CLASS_RR    2   /* SCHED_RR, rt_prio 1..99, above OTHER         */

/* ---- thread attributes changeable at run time --------------------------- */
#define PK_ATTR_NICE     1
#define PK_ATTR_PRIORITY 2
#define PK_ATTR_TICKETS  3
#define PK_ATTR_SLICE    4   /* EEVDF: the thread's own slice in ns, 0: the
                                policy's (Linux 6.12 sched_attr.sched_runtime,
                                PK_SLICE_MIN..PK_SLICE_MAX); other policies:
                                NOT_SUPPORTED */
#define PK_SLICE_MIN     100000ull      /* 0.1 ms, as Linux clamps it  */
#define PK_SLICE_MAX     100000000ull   /* 100 ms                      */

/* ---- program kinds ------------------------------------------------------ */
#define PK_BODY_SCRIPT 0
#define PK_BODY_HOST   1   /* body runs in the host (a Python generator)  */
#define PK_BODY_RV     2   /* RISC-V RV64 machine code from an ELF file (pk_rv_*.c) */

typedef struct pk_costs {
    uint64_t switch_ns;    /* charged to the CPU for each context switch   */
    uint64_t migrate_ns;   /* added to the switch that brings in a thread
                              just moved from another CPU's run queue      */
    uint64_t walk_ns;      /* memory: per page-table level read in a walk  */
    uint64_t minor_fault_ns; /* memory: handling a demand-zero fault       */
    uint64_t tlb_flush_ns; /* memory: a full TLB flush (switch overhead)   */
    uint64_t ipi_ns;       /* memory: one inter-processor interrupt        */
    uint64_t syscall_ns;   /* objects: CPU time of a script write or read  */
    uint64_t wakeup_ns;    /* objects: added when that write / read waited */
    uint64_t insn_cycles;  /* machine code: cycles per instruction (1..1000) */
    uint64_t clock_hz;     /* machine code: CPU clock rate (1 kHz .. 1 THz)  */
    uint64_t fork_ns;      /* memory: CPU time of a script fork            */
    uint64_t socket_ns;    /* objects: added to syscall_ns for a script
                              write or read on a socket that is not a pipe  */
} pk_costs;

typedef struct pk_config {
    uint32_t cpus;             /* 1 .. PK_MAX_CPUS                        */
    uint32_t policy;           /* PK_POLICY_*                             */
    uint64_t quantum;          /* RR: time slice in ns (> 0)              */
    uint32_t preemptive;       /* PRIORITY: preempt on a better arrival    */
    uint32_t max_threads;      /* spawn fails with NO_MEMORY beyond this  */
    uint64_t seed;             /* seeds the kernel's random generator     */
    uint64_t livelock_steps;   /* host work at one instant before LIVELOCK
                                  (PK_WORK_HOST), plus PK_LIVELOCK_PER_THREAD
                                  per thread                             */
    pk_costs costs;
    uint32_t shared_rq;        /* 1: one run queue for every CPU          */
    uint32_t nparams;          /* policy parameters in params[]           */
    uint64_t balance_ns;       /* load-balancing period (per-CPU queues); 0: never */
    uint64_t rt_slice;         /* SCHED_RR time slice (> 0)               */
    uint64_t rt_runtime;       /* real-time throttling: runtime per period; 0: off */
    uint64_t rt_period;
    uint64_t job_log_limit;    /* job records kept at most (pk_job_log_get) */
    uint64_t params[64];       /* policy-specific, documented per policy  */
    /* resource limits (pk_limits_get); 0: none.  Reaching one is NO_MEMORY. */
    uint64_t max_memory;       /* bytes the core may hold (pk_alloc)      */
    uint64_t max_procs;        /* processes ever created                  */
    uint64_t max_handles;      /* handles in every table                  */
    uint64_t max_messages;     /* messages queued in every channel, and port
                                  packets queued or promised (armed waits) */
    uint64_t max_message_bytes;/* bytes queued in every channel and socket */
    uint64_t epoch;            /* machine code: CLOCK_REALTIME at time 0, in
                                  seconds since 1970-01-01T00:00:00Z,
                                  0 .. PK_EPOCH_MAX (docs/riscv.md)       */
    uint32_t no_steal;         /* 1: a CPU going idle does not pull threads
                                  from other per-CPU queues                */
    uint64_t steal_ns;         /* >0: every steal_ns ns (at its multiples),
                                  each CPU whose queue is empty takes the
                                  first queued thread it may run from the
                                  lowest-numbered other CPU with one (OSTEP
                                  multi.py -P); per-CPU queues only        */
} pk_config;

/* the largest epoch: Linux's KTIME_SEC_MAX (include/linux/time64.h), the
 * seconds its 64-bit nanosecond clock can hold */
#define PK_EPOCH_MAX 9223372036ull

typedef struct pk_spawn_args {
    uint32_t prog;
    uint32_t sclass;           /* PK_CLASS_*                              */
    uint64_t at;               /* arrival time, >= now                    */
    int32_t  priority;         /* static priority (Priority, RM, ...)     */
    int32_t  nice;             /* -20 .. 19                               */
    uint64_t burst;            /* declared CPU burst, or PK_NO_BURST      */
    uint32_t rt_prio;          /* 1..99 for PK_CLASS_FIFO / PK_CLASS_RR   */
    uint32_t tickets;          /* Lottery / Stride share (>= 1)           */
    int32_t  cpu;              /* first run queue, or -1: the kernel picks */
    uint32_t has_affinity;     /* 0: every CPU; 1: affinity[] below       */
    uint64_t affinity[4];      /* bit i: may run on CPU i                 */
} pk_spawn_args;

typedef struct pk_thread_info {
    uint32_t tid, pid;
    uint32_t state;            /* PK_TS_*                                 */
    int32_t  cpu;              /* CPU running it, or -1                    */
    int32_t  priority, nice;
    uint64_t burst;
    uint64_t arrival;
    uint64_t first_run;        /* PK_FOREVER until it first runs           */
    uint64_t finish;           /* PK_FOREVER until it exits                */
    uint64_t cpu_time, wait, blocked;
    uint64_t voluntary_switches, involuntary_switches;
    uint32_t sclass, rt_prio;
    uint32_t rq_cpu;           /* run queue holding it (or last), 0xffff: none yet */
    uint32_t migrations;
    uint32_t tickets;
    uint32_t level;            /* MLFQ queue, 0 = highest; PK_NO_LEVEL: n/a */
    uint64_t stride_pass;      /* Stride pass value; PK_FOREVER: n/a      */
} pk_thread_info;

#define PK_NO_LEVEL 0xffffffff

typedef struct pk_proc_info {
    uint32_t pid, prog;
    uint32_t state;            /* PK_PS_*                                 */
    uint32_t nthreads;
    uint32_t first_tid;
    int32_t  exit_code;
    uint32_t kill_reason;      /* PK_KILL_*                               */
    uint32_t pad;
    uint64_t arrival, first_run, finish;
    uint64_t cpu_time, wait, blocked;
    uint64_t voluntary_switches, involuntary_switches;
    uint64_t migrations;
} pk_proc_info;

typedef struct pk_cpu_stats {
    uint64_t busy, idle, overhead;
    uint64_t switches;
    int32_t  running_tid;      /* -1 when idle                            */
    uint32_t pad;
    uint64_t queued;           /* threads in this CPU's run queue         */
    uint64_t migrations_in;    /* threads moved to this CPU's run queue   */
} pk_cpu_stats;

typedef struct pk_kernel_stats {
    uint64_t now;
    uint64_t context_switches;
    uint64_t steps;            /* dispatcher steps taken, all runs        */
    uint64_t events;           /* queued events processed                 */
    uint64_t threads, processes;
    uint64_t live_threads;     /* not yet exited                          */
    uint64_t ready;            /* threads in the run queue                */
    uint64_t pending_events;
    uint64_t memory_bytes;     /* bytes the core holds from malloc        */
    uint64_t migrations;       /* moves between run queues                */
    uint64_t balance_runs;     /* periodic load-balancing passes          */
} pk_kernel_stats;

/* ---- resource limits (pk_config.max_*; docs/guide.md "Limits and memory")
 * An operation that would pass a limit fails with NO_MEMORY and changes
 * nothing; the kernel records which limit refused it (last) and counts
 * refusals per limit (pk_limits_get; pk_limit_clear forgets `last`). */
#define PK_LIMIT_NONE          0
#define PK_LIMIT_MEMORY        1   /* max_memory    */
#define PK_LIMIT_THREADS       2   /* max_threads   */
#define PK_LIMIT_PROCS         3   /* max_procs     */
#define PK_LIMIT_HANDLES       4   /* max_handles   */
#define PK_LIMIT_MESSAGES      5   /* max_messages  */
#define PK_LIMIT_MESSAGE_BYTES 6   /* max_message_bytes */
#define PK_LIMITS              7
typedef struct pk_limit_stats {
    uint32_t last;             /* PK_LIMIT_* of the latest refusal        */
    uint32_t pad;
    uint64_t hits[7];          /* refusals per limit (index PK_LIMIT_*)   */
    uint64_t used[7];          /* what each limit counts now              */
} pk_limit_stats;

/* Scheduling latency (ready after a wake-up or arrival -> running) as a
 * log-linear histogram: values 0..15 have their own bucket; above, each
 * power of two is split in 16 buckets (relative error <= 1/16). */
#define PK_LAT_BUCKETS 1024
typedef struct pk_latency {
    uint64_t count, sum, max;
    uint64_t buckets[1024];
} pk_latency;

/* ---- periodic jobs (pk_periodic.c) ---------------------------------------
 * Every job a periodic task completes is recorded in the kernel's job log,
 * in the order jobs finish, up to cfg.job_log_limit records; later ones
 * are counted as dropped (the counters below stay exact). */
typedef struct pk_job_record {
    uint32_t tid, pad;
    uint64_t job;              /* index in its task: 0, 1, 2, ...          */
    uint64_t release, finish, deadline;   /* response = finish - release */
} pk_job_record;

typedef struct pk_job_stats {  /* one thread's jobs, as of now            */
    uint64_t period, deadline; /* T and relative deadline D; 0: not periodic */
    uint64_t released;         /* release instants up to now              */
    uint64_t completed;
    uint64_t misses;           /* completed after their absolute deadline  */
    uint64_t overdue;          /* released, not completed, deadline passed */
} pk_job_stats;

typedef struct pk_job_totals { /* the whole kernel                        */
    uint64_t completed, misses;
    uint64_t logged;           /* records in the job log                  */
    uint64_t dropped;          /* records not kept: the log was full      */
    uint64_t limit;            /* cfg.job_log_limit                       */
} pk_job_totals;

#define PK_ALL_THREADS 0xffffffff

/* ---- policies written in Python (PK_POLICY_HOST, pk_sched_host.c) --------
 * The run-queue functions call hooks of a Python object.  Hook ids, also
 * bits (1 << id) of params[1], the optional hooks the object defines: */
#define PK_HOOK_ENQUEUE        1
#define PK_HOOK_DEQUEUE        2
#define PK_HOOK_PICK           3
#define PK_HOOK_SLICE          4
#define PK_HOOK_TICK           5
#define PK_HOOK_WAKEUP_PREEMPT 6
#define PK_HOOK_CHARGE         7
#define PK_HOOK_STEAL          8
#define PK_HOOK_CHANGED        9
#define PK_HOST_PARAMS         2  /* params: [0] optional hook bits, [1] the slice
                                     without a slice hook (PK_FOREVER: none) */
#define PK_HOOKS               9  /* hook ids are 1 .. PK_HOOKS */

/* why a hook failed (pk_policy_failure.reason) */
#define PK_PF_RAISED      1   /* the hook raised (the host keeps the exception)  */
#define PK_PF_BAD_VALUE   2   /* it returned a value of the wrong type or range */
#define PK_PF_NO_THREAD   3   /* it named a tid that does not exist             */
#define PK_PF_NOT_READY   4   /* ... a thread that is not ready (state says)    */
#define PK_PF_REALTIME    5   /* ... a thread queued in the real-time class     */
#define PK_PF_OTHER_RQ    6   /* ... a thread queued in another run queue       */
#define PK_PF_NOT_QUEUED  7   /* ... a ready thread not queued in this policy   */
#define PK_PF_NOT_ALLOWED 8   /* steal: a thread whose affinity excludes the CPU */
#define PK_PF_NONE        9   /* pick_next returned None with threads queued    */

/* The first failure of a policy written in Python; hook == 0: none. */
typedef struct pk_policy_failure {
    uint32_t hook;             /* PK_HOOK_*                               */
    uint32_t reason;           /* PK_PF_*                                 */
    int64_t  value;            /* what the hook returned, as an integer   */
    uint32_t rq;               /* the run queue (its CPU; 0 when shared)  */
    uint32_t state;            /* PK_TS_* of the thread it named          */
    uint32_t thread_rq;        /* run queue holding that thread           */
    uint32_t pad;
    uint64_t queued;           /* threads of the policy queued in rq      */
} pk_policy_failure;

/* ---- virtual memory (pk_vm.h, docs/memory.md) ---------------------------- */
#define PK_MMU_X86_64   1   /* x86-64 4-level paging, 48-bit addresses     */
#define PK_MMU_X86_64_5 2   /* x86-64 5-level paging, 57-bit addresses     */
#define PK_MMU_SV39     3   /* RISC-V Sv39, 3 levels                        */
#define PK_MMU_SV48     4   /* RISC-V Sv48, 4 levels                        */

#define PK_PROT_READ   1
#define PK_PROT_WRITE  2
#define PK_PROT_EXEC   4
#define PK_MAP_SUPERVISOR 1 /* pages without the user bit                  */
#define PK_MAP_POPULATE   2 /* allocate every page when mapping            */
#define PK_MAP_GLOBAL     4 /* pages with the global bit (survive flushes) */
#define PK_MAP_SHARED     8 /* shared with children after fork, not copied   */
#define PK_MAP_USERFAULT 16 /* missing pages are asked of a handler in the host
                               (a user-space pager, like userfaultfd)        */
#define PK_HEAP_BASE 0x10000000ull  /* where the heap (brk) starts          */

#define PK_FAULT_NONE       0
#define PK_FAULT_UNMAPPED   1  /* no region at the address (or not canonical) */
#define PK_FAULT_WRITE      2  /* a write to a region without write permission */
#define PK_FAULT_SUPERVISOR 3  /* a user access to a supervisor page        */
#define PK_FAULT_NO_FRAME   4  /* no frame left for the page                 */
#define PK_FAULT_JOB_MEMORY 5  /* the page would pass its job's max_memory     */
#define PK_FAULT_OOM_KILLED 6  /* chosen by the out-of-memory rule (pk_reclaim.c) */
#define PK_FAULT_PAGER      7  /* its fault handler gave no page (SIGBUS)     */
#define PK_FAULT_EXEC       8  /* an instruction fetch from a page without execute */
#define PK_FAULT_BEYOND_EOF 9  /* a mapped file's page past the end of the file (SIGBUS) */

/* page replacement policies (pk_reclaim.c) */
#define PK_REPL_FIFO     1
#define PK_REPL_LRU      2   /* exact: every access moves the page to the tail */
#define PK_REPL_CLOCK    3   /* second chance, a sweeping hand              */
#define PK_REPL_RANDOM   4   /* the kernel's generator                      */
#define PK_REPL_OPT      5   /* Belady: the page used furthest in the future */
#define PK_REPL_TWO_LIST 6   /* Linux-like active / inactive lists          */

typedef struct pk_mem_config {
    uint64_t frames;           /* physical frames of 4 KiB, 1 .. 2^32 - 2  */
    uint32_t replacement;      /* PK_REPL_*                                 */
    uint32_t track;            /* 1: record each page's last use (working sets) */
    uint64_t swap;             /* swap device, pages, 0 .. 2^32 - 2; 0: none */
    uint64_t swap_latency;     /* ns a swap-in blocks the faulting thread   */
    uint64_t low, high;        /* watermarks: below low free frames, reclaim
                                  up to high (0 <= low <= high <= frames)    */
    uint64_t fault_interval;   /* ns per bucket of the fault series (> 0)   */
    uint64_t stack;            /* bytes of stack region below the top of the
                                  user half, page multiple; 0: none        */
    uint64_t max_map_count;    /* regions one address space may hold (Linux's
                                  vm.max_map_count), 0 .. 2^32 - 2; 0: no
                                  limit.  Past it map / unmap / protect fail
                                  with NO_MEMORY and change nothing.      */
} pk_mem_config;

typedef struct pk_mmu_config {
    uint32_t format;           /* PK_MMU_*                                  */
    uint32_t tlb_entries;      /* per CPU, 0 .. 65536; 0: no TLB            */
    uint32_t tlb_ways;         /* associativity; divides tlb_entries, and
                                  tlb_entries / tlb_ways is a power of two  */
    uint32_t asid;             /* 1: entries tagged by address space       */
    uint32_t tlb_random;       /* 1: random replacement in a set; 0: LRU    */
    uint32_t pad;
} pk_mmu_config;

typedef struct pk_tlb_stats {  /* one CPU's TLB                             */
    uint64_t hits, misses;
    uint64_t flushes;          /* full flushes (address-space switches)     */
    uint64_t shootdowns;       /* IPIs received to invalidate entries       */
    uint64_t switches;         /* address-space switches (CR3 / satp loads) */
} pk_tlb_stats;

typedef struct pk_as_stats {   /* one address space                         */
    uint64_t touches;          /* accesses made                             */
    uint64_t walks;            /* page walks (TLB misses and retries)       */
    uint64_t page_faults;      /* faults that brought a page in (minor + major) */
    uint64_t minor_faults, major_faults;
    uint64_t protection_faults;/* accesses refused (the process was killed) */
    uint64_t cow_breaks;
    uint64_t rss;              /* resident user pages                       */
    uint64_t pt_pages;         /* page-table pages                          */
    uint64_t swapped;          /* its pages now in swap                     */
    uint64_t swap_ins, swap_outs;
    uint64_t rss_limit;        /* resident pages allowed; 0: no limit       */
    uint64_t brk;              /* program break (heap end); PK_HEAP_BASE: empty */
    uint64_t forks;            /* children it forked                        */
} pk_as_stats;

typedef struct pk_mem_stats {  /* the whole kernel                          */
    uint64_t frames, free;     /* configured; free now                      */
    uint64_t used_high;        /* highest frame number ever handed out      */
    uint64_t pt_pages;         /* page-table pages in use                   */
    uint64_t data_pages;       /* frames whose contents exist (host memory) */
    uint64_t address_spaces;   /* live                                      */
    uint64_t ipis;             /* shootdown interrupts sent                 */
    uint64_t swap, swap_used;  /* swap pages: capacity, in use             */
    uint64_t swap_ins, swap_outs;
    uint64_t evictions;        /* pages taken from a process to free a frame */
    uint64_t reclaims;         /* global reclaim passes (below the low watermark
                                  or no free frame)                          */
    uint64_t oom_kills;
    uint64_t shared_frames;    /* frames mapped more than once              */
    uint64_t stack;            /* stack region size in bytes (Memory.stack) */
} pk_mem_stats;

typedef struct pk_region_info {
    uint64_t start, end;
    uint32_t prot, flags;
} pk_region_info;

typedef struct pk_fault_info {
    uint32_t kind;             /* PK_FAULT_*                                 */
    uint32_t trigger;          /* OOM_KILLED: pid whose fault found no memory */
    uint64_t va;
    uint64_t badness;          /* OOM_KILLED: its score (rss + swapped + tables) */
} pk_fault_info;

typedef struct pk_kernel pk_kernel;

/* lifecycle */
int pk_kernel_create(const pk_config *cfg, pk_kernel **out);
void pk_kernel_destroy(pk_kernel *k);
/* limit counters and usage; pk_limit_clear forgets `last` */
int pk_limits_get(pk_kernel *k, pk_limit_stats *out);
int pk_limit_clear(pk_kernel *k);

/* programs: a validated, immutable copy of the instructions */
int pk_prog_load_script(pk_kernel *k, const pk_op *ops, uint32_t n, uint32_t *prog_out);
int pk_prog_load_host(pk_kernel *k, uint32_t *prog_out);
int pk_prog_burst(pk_kernel *k, uint32_t prog, uint64_t *burst_out);

/* cache affinity (pk_cache.c; OSTEP's multi.py): configure once, before
 * any spawn: per-CPU caches of `size`, a thread warm after `warmup` ns on
 * a CPU, warm compute `speedup` (1..1024) times faster.  Then give
 * threads their working sets (once each, any time). */
int pk_cache_configure(pk_kernel *k, uint64_t size, uint64_t warmup, uint64_t speedup);
int pk_thread_set_working_set(pk_kernel *k, uint32_t tid, uint64_t ws);

/* ---- refusals: which rule refused, in one record ----------------------
 * pk_spawn_check, pk_config_check and pk_script_check apply exactly the
 * rules of pk_spawn (and pk_rv_spawn's spawn), pk_kernel_create and
 * pk_prog_load_script -- those call them -- and fill *why: the reason,
 * the field refused, its value and, for a range, the bounds accepted.
 * Messages are made from this record by the host (pykernel/refusal.py);
 * the core states each rule once. */
#define PK_R_RANGE          1  /* field's value is outside [lo, hi]        */
#define PK_R_NO_PROGRAM     2  /* field PROG: value names no loaded program */
#define PK_R_NEEDS_BURST    3  /* the policy schedules by declared burst and
                                  none is declared; value 1: the script's
                                  total compute passes PK_MAX_TIME, 2: it is
                                  a periodic task that runs forever         */
#define PK_R_NEEDS_MEMORY   4  /* the program touches or maps memory (or is
                                  machine code); the kernel has none        */
#define PK_R_MACHINE_CODE   5  /* machine code is spawned by pk_rv_spawn,
                                  one process at a time                     */
#define PK_R_UNKNOWN        6  /* field's value names nothing (a policy, a
                                  scheduling class)                         */
#define PK_R_AFFINITY_EMPTY 7  /* the affinity mask names no CPU of the kernel */
#define PK_R_AFFINITY_SHARED 8 /* affinity masks need per-CPU run queues   */
#define PK_R_NOT_IN_MASK    9  /* field CPU: value is not in the affinity mask */
#define PK_R_INSN          10  /* script: instruction `index` (its code in
                                  value) breaks a rule of its kind (pk_api.h
                                  above), status says which kind           */
#define PK_R_SAME_THREAD   12  /* field TID: a thread cannot give to itself  */
#define PK_R_ORDER         11  /* field's value is above hi (the field it
                                  must not pass: rt_runtime <= rt_period)   */
#define PK_R_NEEDS_EEVDF   13  /* field SLICE: only EEVDF takes a thread's own slice */
#define PK_R_ALIGN         14  /* field's value is not a multiple of lo (hi:
                                  the largest value accepted)             */
#define PK_R_SAME_WORD     15  /* field MUTEX_ADDR: value is also the
                                  instruction's condition variable        */
/* fields: spawn arguments */
#define PK_F_PROG       1
#define PK_F_AT         2
#define PK_F_NICE       3
#define PK_F_BURST      4
#define PK_F_CLASS      5
#define PK_F_RT_PRIO    6
#define PK_F_TICKETS    7
#define PK_F_CPU        8
#define PK_F_PRIORITY   9
#define PK_F_PHASE     10   /* value: at + the periodic task's phase        */
#define PK_F_AFFINITY  11
#define PK_F_COUNT     12
/* fields: run-time changes (index: the thread's tid) */
#define PK_F_TICKETS_GIVEN 16  /* tickets given: 1 .. the giver's less one  */
#define PK_F_TICKETS_TAKEN 17  /* value: the receiver's tickets after it     */
#define PK_F_TID           18
#define PK_F_ATTR          19  /* value: not a PK_ATTR_*                     */
#define PK_F_SLICE         20  /* PK_ATTR_SLICE: EEVDF's requested slice (ns) */
/* fields: pk_config */
#define PK_F_CPUS          32
#define PK_F_POLICY        33
#define PK_F_QUANTUM       34
#define PK_F_MAX_THREADS   35
#define PK_F_LIVELOCK      36
#define PK_F_NPARAMS       37
#define PK_F_BALANCE       38
#define PK_F_RT_SLICE      39
#define PK_F_RT_RUNTIME    40
#define PK_F_RT_PERIOD     41
#define PK_F_JOB_LOG_LIMIT 42
#define PK_F_NO_STEAL      43
#define PK_F_STEAL         44   /* steal_ns                                  */
#define PK_F_EPOCH         45
#define PK_F_PARAM         96   /* + i: pk_config.params[i] of the policy    */
#define PK_F_PARAM_LAST    159  /* PK_F_PARAM + PK_MAX_PARAMS - 1            */
#define PK_F_COST          48   /* + index of the pk_costs field, in order: */
#define PK_F_COST_LAST     59   /* switch_ns .. socket_ns                   */
/* fields: scripts */
#define PK_F_INSTRUCTIONS  64   /* value: the count (at most 2^24)          */
#define PK_F_INSN          65   /* instruction `index`                      */
#define PK_F_LOOP_DEPTH    66   /* instruction `index` opens a loop at depth value */
#define PK_F_LOOP_COUNT    67   /* instruction `index`: a LOOP's count, 0 .. PK_MAX_TIME */
#define PK_F_TOUCH_LENGTH  68   /* instruction `index`: a TOUCH_RANGE's length, 1 .. PK_MAX_TIME */
#define PK_F_TOUCH_STRIDE  69   /* its stride, 1 .. PK_MAX_TIME              */
#define PK_F_WRITE_RATIO   70   /* its write ratio in 1/65536ths, 0 .. 65536 */
#define PK_F_SLOT          71   /* instruction `index`: a handle slot, 0 .. PK_HANDLE_SLOTS - 1 */
#define PK_F_NBYTES        72   /* a write's or read's byte count, 0 .. PK_SOCKET_MAX_CAPACITY */
#define PK_F_BRK           73   /* a BRK's address, PK_HEAP_BASE .. 2^56 - page */
#define PK_F_FUTEX_ADDR    74   /* a futex instruction's word: a multiple of 4, 0 .. PK_FUTEX_ADDR_MAX */
#define PK_F_MUTEX_ADDR    75   /* COND_WAIT's, COND_BROADCAST's mutex: a multiple of 4, not the cv */
#define PK_F_SIGNALS       76   /* a WAIT's signal set, 1 .. 2^32 - 1         */
#define PK_F_ADDRESS       77   /* a TOUCH's, TOUCH_RANGE's first address, 0 .. PK_TOUCH_ADDR_MAX */
#define PK_F_LIMIT         80   /* + PK_LIM_*: a limit of pk_limits          */
#define PK_F_LIMIT_LAST    87
#define PK_SCRIPT_MAX_INSNS 16777216   /* the most instructions of a script: 2^24 */
#define PK_JOB_LOG_MAX 0x10000000000   /* largest cfg.job_log_limit: 2^40 */
typedef struct pk_refusal {
    uint32_t reason;           /* PK_R_*, 0: accepted                      */
    uint32_t field;            /* PK_F_*                                   */
    int32_t  status;           /* the status returned                      */
    uint32_t index;            /* PK_F_INSN: the instruction               */
    uint64_t value;            /* the value refused (signed fields: two's
                                  complement)                              */
    uint64_t lo, hi;           /* PK_R_RANGE: the bounds accepted (idem)   */
} pk_refusal;
int pk_spawn_check(pk_kernel *k, const pk_spawn_args *a, uint32_t count, pk_refusal *why);
int pk_config_check(const pk_config *cfg, pk_refusal *why);
/* the part of it about the policy: RoundRobin's quantum and the params of
 * CFS, EEVDF, MLFQ, Lottery and Stride (docs/scheduling.md); no kernel
 * needed, so a policy's parameters can be checked when it is made */
int pk_policy_params_check(uint32_t policy, uint64_t quantum, const uint64_t *params, uint32_t n,
                           pk_refusal *why);
int pk_costs_check(const pk_costs *costs, pk_refusal *why);   /* the costs part of it */
/* A kernel's limits as given: those pk_config holds (max_memory .. max_
 * message_bytes, where 0 means none) and two the host applies when it
 * configures memory and the trace (the most frames a pk_mem_config may
 * have, the most events a trace may keep).  Bit PK_LIM_* of `given` says a
 * limit of that kind is set (else there is none, and its value is not
 * read).  Each set limit is 1 .. UINT64_MAX (max_threads 1 .. UINT32_MAX,
 * max_trace_events 1 .. PK_TRACE_MAX_EVENTS): a limit of 0 is refused,
 * since pk_config reads 0 as none.  frames and trace_events (0: none) are
 * what the kernel is asked for, refused (PK_R_ORDER) above their limit. */
#define PK_LIM_MEMORY         0
#define PK_LIM_THREADS        1
#define PK_LIM_PROCS          2
#define PK_LIM_HANDLES        3
#define PK_LIM_MESSAGES       4
#define PK_LIM_MESSAGE_BYTES  5
#define PK_LIM_FRAMES         6
#define PK_LIM_TRACE_EVENTS   7
#define PK_TRACE_MAX_EVENTS   1099511627776ull   /* 2^40: 24 TiB of trace at 24 bytes each */
typedef struct pk_limits {
    uint64_t value[8];         /* indexed PK_LIM_*                         */
    uint32_t given;            /* bit PK_LIM_*: that limit is set          */
} pk_limits;
int pk_limits_check(const pk_limits *l, uint64_t frames, uint64_t trace_events, pk_refusal *why);
/* a scheduling class and real-time priority (pk_spawn, pk_thread_set_class);
 * why may be NULL */
int pk_class_check(uint32_t sclass, uint32_t rt_prio, pk_refusal *why);
/* a thread attribute's value (pk_spawn, pk_thread_set_attr); why may be NULL */
int pk_attr_check(pk_kernel *k, uint32_t attr, int64_t value, pk_refusal *why);
/* a ticket transfer (pk_thread_transfer_tickets); why may be NULL */
int pk_tickets_transfer_check(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n, pk_refusal *why);
/* an affinity mask (pk_spawn, pk_thread_set_affinity): CPUs of the kernel
 * only, at least one, and per-CPU run queues unless it names them all;
 * why may be NULL */
int pk_affinity_check(pk_kernel *k, const uint64_t *mask4, pk_refusal *why);
/* a compiled script without a kernel (exec targets are not checked):
 * its burst (total compute, loops multiplied; PK_NO_BURST if that passes
 * PK_MAX_TIME or a periodic task runs forever) and whether it needs
 * memory (touch, map, unmap, protect, fork, exec, brk) */
typedef struct pk_script_info {
    uint64_t burst;
    uint32_t memory;
    uint32_t pad;
} pk_script_info;
int pk_script_check(const pk_op *ops, uint32_t n, pk_script_info *info, pk_refusal *why);
/* [lo, hi] of pk_latency bucket i (0 .. PK_LAT_BUCKETS - 1) */
int pk_latency_bucket_bounds(uint32_t i, uint64_t *lo, uint64_t *hi);

/* processes: spawn count processes of one program, one thread each;
 * their pids (and tids) are consecutive from *first_pid (*first_tid). */
int pk_spawn(pk_kernel *k, const pk_spawn_args *a, uint32_t count,
             uint32_t *first_pid, uint32_t *first_tid);
int pk_proc_kill(pk_kernel *k, uint32_t pid, uint32_t reason);

/* run-time changes of a live thread's scheduling */
int pk_thread_set_attr(pk_kernel *k, uint32_t tid, uint32_t attr, int64_t value);
/* move n tickets from thread `from` to thread `to` (from keeps >= 1) */
int pk_thread_transfer_tickets(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n);
int pk_thread_set_class(pk_kernel *k, uint32_t tid, uint32_t sclass, uint32_t rt_prio);
int pk_thread_set_affinity(pk_kernel *k, uint32_t tid, const uint64_t *mask4);
int pk_thread_affinity_get(pk_kernel *k, uint32_t tid, uint64_t *mask4);

/* virtual memory: configure once, before any spawn (every process then
 * gets an address space) */
int pk_mem_configure(pk_kernel *k, const pk_mem_config *m, const pk_mmu_config *u);
int pk_mem_stats_get(pk_kernel *k, pk_mem_stats *out);
/* check every invariant of the memory system (frames, reference counts,
 * page tables, lists, swap, TLBs; pk_vm_check.c): OK, or INTERNAL */
int pk_mem_verify(pk_kernel *k);
/* An audit of frame references (for tests and soak runs; O(frames + page
 * tables)): every page table of every address space, every shared-memory
 * object and every ELF image's shared pages (machine code) are walked and the references found are compared with each frame's
 * count.  No leak and no dangling mapping: mismatched == 0, used == frames
 * - free, pt_pages == pk_mem_stats.pt_pages. */
typedef struct pk_mem_audit {
    uint64_t used;             /* frames with a reference count > 0         */
    uint64_t referenced;       /* frames some table or object refers to     */
    uint64_t mismatched;       /* frames whose count != references found    */
    uint64_t pt_pages;         /* page-table pages found by the walk        */
    uint64_t mappings;         /* present leaves found                      */
    uint64_t swapped;          /* swapped-out leaves found                  */
} pk_mem_audit;
int pk_mem_audit_get(pk_kernel *k, pk_mem_audit *out);
int pk_tlb_stats_get(pk_kernel *k, uint32_t cpu, pk_tlb_stats *out);
int pk_as_stats_get(pk_kernel *k, uint32_t pid, pk_as_stats *out);
/* the entries read walking va (entries[0] is the root's), *depth of them;
 * a leaf in a leaf table shared by fork shows without its write bit, as
 * every access sees it while the table is shared */
int pk_as_walk(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t *entries5, uint32_t *depth);
int pk_as_translate(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t *pa_out);
int pk_as_regions_get(pk_kernel *k, uint32_t pid, pk_region_info *out, uint32_t cap,
                      uint32_t *count_out);
int pk_as_fault_get(pk_kernel *k, uint32_t pid, pk_fault_info *out);
/* user-space pager: after a run stopped with PK_STOP_PAGER, the fault
 * waiting (out: pid, tid, address, write) ...; then the answer: 1 = map a
 * zero-filled page, 0 = kill the process (PK_FAULT_PAGER).  The thread
 * retries its access when the run goes on. */
typedef struct pk_pager_fault {
    uint32_t pid, tid;
    uint64_t va;
    uint32_t write, pad;
} pk_pager_fault;
int pk_vm_pager_next(pk_kernel *k, pk_pager_fault *out);
int pk_vm_pager_answer(pk_kernel *k, uint32_t answer);
/* rss_limit (resident user pages, >= 1) of processes pid0 .. pid0+count-1,
 * set right after they are spawned (needs a swap device) */
int pk_as_set_rss_limit(pk_kernel *k, uint32_t pid0, uint32_t count, uint64_t limit);
/* resident pages of pid used within the last `window` ns (Memory.track) */
int pk_as_working_set(pk_kernel *k, uint32_t pid, uint64_t window, uint64_t *out);
/* faults per bucket since time 0: *width_out ns each, *count_out buckets
 * (copied up to cap) */
int pk_mem_fault_series(pk_kernel *k, uint32_t *out, uint32_t cap, uint32_t *count_out,
                        uint64_t *width_out);
/* map / unmap / protect in a live process's address space (from the host) */
int pk_vm_map(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot, uint32_t flags);
int pk_vm_unmap(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len);
int pk_vm_protect(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot);
/* *out = 1 if the latest pk_vm_map / unmap / protect / map_shm failed
 * because it would have passed pk_mem_config.max_map_count, else 0 */
int pk_vm_map_count_refused(pk_kernel *k, uint32_t *out);
/* shared-memory objects of `pages` pages (ids from 1), closed by
 * pk_shm_close (their mappings keep their pages); pk_vm_map_shm maps
 * object id from its first page into process pid (see pk_vm_map) */
int pk_shm_create(pk_kernel *k, uint64_t pages, uint32_t *id_out);
int pk_shm_close(pk_kernel *k, uint32_t id);
/* object id's size in pages and whether it is still open; OUT_OF_RANGE
 * past the last object made (ids 1 .. n; a restored kernel's too) */
int pk_shm_info_get(pk_kernel *k, uint32_t id, uint64_t *pages_out, uint32_t *alive_out);
int pk_vm_map_shm(pk_kernel *k, uint32_t pid, uint64_t va, uint64_t len, uint32_t prot,
                  uint32_t id);
/* mmap(2) of regular file ino into process pid at va (page-aligned, len
 * and off too): shared = 1 shares the file's page cache (MAP_SHARED),
 * 0 copies a page on its first write (MAP_PRIVATE).  The file must be
 * readable by pid (and writable for a shared mapping with PK_PROT_WRITE).
 * A status for the arguments; *err_out: 0 or a negative errno (ENOENT,
 * ENODEV: not a regular file, EACCES, ENOMEM, EINVAL) */
int pk_vm_map_file(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t va, uint64_t len,
                   uint32_t prot, uint32_t shared, uint64_t off, int32_t *err_out);
/* ctx.touch of the host thread tid waiting for its next operation: make
 * the access now, and say the operation that takes its time (*op_out =
 * PK_OP_COMPUTE, *arg_out = ns; or PK_OP_KILL, *arg_out = reason) */
int pk_vm_touch_host(pk_kernel *k, uint32_t tid, uint64_t va, uint32_t write,
                     uint32_t *op_out, uint64_t *arg_out);
#define PK_TOUCH_ADDR_MAX 0x7fffffffffffffffull  /* the largest address a TOUCH (a script's,
                                                    or pk_vm_touch_host's) names: 2^63 - 1 */

/* machine code: RISC-V RV64 programs from ELF files (docs/riscv.md).
 * pk_prog_load_elf validates and copies an ELF64 RISC-V executable
 * (statically linked: INVALID_ARGS for anything else, NOT_SUPPORTED if it
 * names an interpreter).  pk_rv_spawn spawns one process of such a
 * program (needs memory without swap: NOT_SUPPORTED otherwise); strs
 * holds argc argument strings, envc environment strings and the path
 * reported as /proc/self/exe, each NUL-terminated; in: its standard
 * input.  pk_rv_output copies the bytes the process wrote to fd 1 or 2
 * from `offset` (up to cap) and says how many there are in all; with fd
 * PK_RV_TTY, those of its terminal: what every process sharing it (the
 * spawned process and the processes forked from it) wrote to fd 1 and 2,
 * in the order written. */
#define PK_RV_TTY 0
typedef struct pk_rv_stats {
    uint64_t instructions;     /* instructions executed by its threads      */
    uint64_t syscalls;         /* system calls made                          */
    uint64_t brk;              /* its program break                          */
    uint64_t stdin_read;       /* bytes of standard input consumed           */
    uint64_t fp_threads;       /* its threads that have floating-point state
                                  (made at their first F/D instruction)      */
} pk_rv_stats;
typedef struct pk_elf_info {
    uint64_t entry, lo, hi;    /* entry point; span of its segments          */
    uint32_t segments, pad;
    uint64_t shared_frames;    /* read-only pages with a frame shared by its processes */
} pk_elf_info;
int pk_prog_load_elf(pk_kernel *k, const uint8_t *data, uint64_t len, uint32_t *prog_out);
/* The rules an ELF file must keep to be loaded, checked without a kernel
 * (pk_prog_load_elf applies the same ones): PK_OK, or the status with
 * *why saying which rule failed.  phdr: the program header at fault
 * (reasons from PK_ELF_E_FILESZ on, but ENTRY and SPAN), other: the header
 * it overlaps or follows (OVERLAP, ORDER); value: the value refused;
 * limit: the bound it passed, where there is one. */
#define PK_ELF_E_MAGIC         1  /* does not start with \177ELF             */
#define PK_ELF_E_SHORT         2  /* shorter than the 64-byte ELF64 header    */
#define PK_ELF_E_CLASS         3  /* e_ident[EI_CLASS] is not ELFCLASS64 (2) */
#define PK_ELF_E_DATA          4  /* e_ident[EI_DATA] is not little-endian (1) */
#define PK_ELF_E_VERSION       5  /* e_ident[EI_VERSION] is not 1            */
#define PK_ELF_E_MACHINE       6  /* e_machine is not EM_RISCV (243)         */
#define PK_ELF_E_TYPE          7  /* e_type is not ET_EXEC (2) or ET_DYN (3) */
#define PK_ELF_E_PHENTSIZE     8  /* e_phentsize is not 56                   */
#define PK_ELF_E_PHNUM         9  /* e_phnum is 0 or above limit (256)       */
#define PK_ELF_E_PHOFF        10  /* the program headers run past the file   */
#define PK_ELF_E_INTERP       11  /* a PT_INTERP header: NOT_SUPPORTED       */
#define PK_ELF_E_NLOAD        12  /* no PT_LOAD, or more than limit (64)     */
#define PK_ELF_E_FILESZ       13  /* p_filesz above p_memsz (limit)          */
#define PK_ELF_E_OFFSET       14  /* p_offset + p_filesz past the file's end */
#define PK_ELF_E_MEMSZ        15  /* p_memsz is 0 or above limit             */
#define PK_ELF_E_WRAP         16  /* p_vaddr + p_memsz passes 2^64           */
#define PK_ELF_E_KERNEL_HALF  17  /* the segment ends above limit (user half) */
#define PK_ELF_E_ALIGN        18  /* p_vaddr and p_offset differ modulo the page */
#define PK_ELF_E_PAGE_ZERO    19  /* the segment starts in page 0            */
#define PK_ELF_E_OVERLAP      20  /* its pages overlap those of header other */
#define PK_ELF_E_ORDER        21  /* below header other: PT_LOADs ascend     */
#define PK_ELF_E_ENTRY        22  /* e_entry is in no PT_LOAD segment        */
#define PK_ELF_E_ENTRY_NOEXEC 23  /* e_entry is in header phdr, without PF_X */
#define PK_ELF_E_SPAN         24  /* the segments span more than limit bytes: OUT_OF_RANGE */
typedef struct pk_elf_refusal {
    uint32_t reason;           /* PK_ELF_E_*, 0: accepted                   */
    uint32_t phdr, other;      /* program header indexes                    */
    uint32_t pad;
    uint64_t value, limit;
} pk_elf_refusal;
int pk_elf_check(const uint8_t *data, uint64_t len, pk_elf_refusal *why);
int pk_rv_spawn(pk_kernel *k, const pk_spawn_args *a, const char *strs, uint64_t slen,
                uint32_t argc, uint32_t envc, const uint8_t *in, uint64_t in_len,
                uint32_t *pid_out, uint32_t *tid_out);
/* pk_rv_watch: whether the host consumes process pid's fd (1 or 2) as it
 * is written (on != 0): then each step in which the process writes to it
 * ends the run with PK_STOP_OUTPUT, so the host sees the bytes before
 * anything else happens.  Off for a new, forked or restored process;
 * NOT_SUPPORTED for a process that is not machine code. */
int pk_rv_watch(pk_kernel *k, uint32_t pid, uint32_t fd, uint32_t on);
/* pk_rv_tty: process pid's standard streams (descriptors 0-2 that still
 * name them) become its terminal: ioctl TCGETS and TIOCGWINSZ answer
 * there (termios as `stty sane`, 24 rows of 80 columns) and fstat says
 * character device 5,0 instead of FIFO; the descriptions, and so the
 * terminal, are shared with processes forked from it.  NOT_SUPPORTED for
 * a process that is not machine code, BAD_STATE for one that has ended. */
int pk_rv_tty(pk_kernel *k, uint32_t pid);
int pk_rv_output(pk_kernel *k, uint32_t pid, uint32_t fd, uint64_t offset, uint8_t *out,
                 uint64_t cap, uint64_t *total_out);
/* the system calls pid made that returned -ENOSYS: numbers (a7, all 64
 * bits) and counts */
int pk_rv_unknown_syscalls(pk_kernel *k, uint32_t pid, uint64_t *nums, uint64_t *counts,
                           uint32_t cap, uint32_t *n_out);
int pk_rv_stats_get(pk_kernel *k, uint32_t pid, pk_rv_stats *out);
int pk_rv_image_info(pk_kernel *k, uint32_t prog, pk_elf_info *out);
int pk_rv_kernel_insns(pk_kernel *k, uint64_t *out);   /* instructions executed, all processes */
/* the bytes of the ELF file program prog was loaded from (*len_out: its
 * length; up to cap of them copied to out): a restored kernel's programs
 * get their files back from the core, which keeps the only copy */
int pk_rv_image_data(pk_kernel *k, uint32_t prog, uint8_t *out, uint64_t cap, uint64_t *len_out);

/* simulation: run until `until` (exclusive), a stop, or a host thread
 * needs its next operation.  Fills *stop (never NULL) with the stop
 * record and returns its `why`: PK_STOP_* or an error status.  After
 * PK_STOP_HOST the caller passes that thread's operation (host_op,
 * host_arg) to the next call; otherwise host_op must be 0.  max_steps
 * bounds the host work (PK_WORK_HOST) of the call: past it the call stops
 * with PK_STOP_BUDGET, and the next call goes on exactly where it
 * stopped. */
typedef struct pk_stop {
    int32_t  why;      /* PK_STOP_*, or the error status returned              */
    uint32_t tid;      /* HOST: the thread needing its operation; PAGER: the
                          thread whose access faulted; LIVELOCK: the thread
                          blamed; OUTPUT: the thread that wrote; otherwise
                          PK_ALL_THREADS                                       */
    uint32_t cpu;      /* the CPU that thread was running on (HOST, PAGER,
                          OUTPUT), otherwise PK_ALL_THREADS                    */
    uint32_t pid;      /* that thread's process, otherwise PK_ALL_THREADS      */
    uint64_t arg;      /* PAGER: the address of the faulting page; otherwise 0 */
    uint64_t now;      /* the simulated time of the stop                       */
} pk_stop;
int pk_kernel_run(pk_kernel *k, uint64_t until, uint64_t max_steps,
                  uint32_t host_op, uint64_t host_arg, pk_stop *stop);
/* put in dict `into` (a CPython object id) "run_holding", a Python
 * function calling pk_kernel_run with the same arguments (the kernel and
 * the stop record as addresses) without giving up the interpreter lock:
 * for kernels that call into Python at every switch
 * (csrc/py/pk_policy_upcall.c says why) */
int pk_run_export(uint64_t into);
/* Python-bodied threads (pk_host.c).  pk_host_deliver gives the thread
 * that waits for its next operation (after PK_STOP_HOST) an operation
 * with two arguments, b and a as in a script instruction (LOCK, UNLOCK,
 * SEM_WAIT, SEM_POST, COND_WAIT, COND_SIGNAL, COND_BROADCAST; or any
 * operation pk_kernel_run's host_op accepts, a = 0); the next
 * pk_kernel_run then passes host_op 0.  pk_host_deliver_until gives a
 * FUTEX_WAIT (b = address, a = expected word), a CHAN_READ or a WAIT
 * (below) that gives up with TIMED_OUT at the absolute instant
 * `deadline` (PK_FOREVER: none; any other operation with a deadline is
 * INVALID_ARGS).
 * pk_host_attach lets the core step Python generators itself
 * (csrc/py/pk_upcall.c): `gens` and `sent` are the addresses of two
 * dicts (CPython object ids) the caller keeps alive as long as k: tid ->
 * (generator, pid, ctx), and tid -> what the core did and could not
 * finish, for the caller's stepping; PK_HOST_SEND lets the core call
 * into the generators (without it, it only leaves statuses in `sent`).
 * Both are 0: detach.  PK_ERR_NOT_SUPPORTED in a build without Python. */
#define PK_HOST_SEND 1u
int pk_host_deliver(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a);
int pk_host_deliver_until(pk_kernel *k, uint32_t op, uint64_t b, uint64_t a, uint64_t deadline);
int pk_host_attach(pk_kernel *k, uint64_t gens, uint64_t sent, uint32_t flags, uint64_t makers);
/* put the base class of pykernel.context.Context, whose compute and sleep
 * are made in C, in dict `into` (a CPython object id) as "ContextCore" */
int pk_host_export(uint64_t into);

/* after a PK_STOP_LIVELOCK: the thread it blames (the last one that ran
 * at that instant); PK_ERR_BAD_STATE if the last run did not stop so, or
 * no thread ran at that instant */
int pk_livelock_thread(pk_kernel *k, uint32_t *tid_out);

/* queries */
int pk_kernel_stats_get(pk_kernel *k, pk_kernel_stats *out);
int pk_cpu_stats_get(pk_kernel *k, uint32_t cpu, pk_cpu_stats *out);
int pk_thread_info_get(pk_kernel *k, uint32_t tid, pk_thread_info *out);
int pk_thread_regs_get(pk_kernel *k, uint32_t tid, pk_regs *out);
int pk_proc_info_get(pk_kernel *k, uint32_t pid, pk_proc_info *out);
int pk_proc_info_bulk(pk_kernel *k, uint32_t first_pid, uint32_t count, pk_proc_info *out);
int pk_latency_get(pk_kernel *k, pk_latency *out);
int pk_thread_jobs_get(pk_kernel *k, uint32_t tid, pk_job_stats *out);
int pk_job_totals_get(pk_kernel *k, pk_job_totals *out);
/* Copy the logged jobs of thread tid (PK_ALL_THREADS: of every thread), in
 * log order, into out[0 .. cap-1]; *count_out = how many there are (which
 * may exceed cap: then only the first cap are copied). */
int pk_job_log_get(pk_kernel *k, uint32_t tid, pk_job_record *out, uint64_t cap,
                   uint64_t *count_out);
uint64_t pk_kernel_digest(pk_kernel *k);
uint64_t pk_kernel_now(pk_kernel *k);
/* pk_config.epoch of k (pk_rv_sys.c) */
uint64_t pk_kernel_epoch(pk_kernel *k);
int pk_kernel_random(pk_kernel *k, uint64_t *out, uint32_t count);

/* The first failure of the kernel's policy written in Python (out->hook
 * is 0 if none); NOT_SUPPORTED for the other policies. */
int pk_host_policy_failure(pk_kernel *k, pk_policy_failure *out);
/* pk_host_policy_attach gives a kernel of PK_POLICY_HOST the objects
 * whose hooks it calls (csrc/py/pk_policy_upcall.c).  `queues` is the
 * address (CPython object id) of a list with one entry per run queue: a
 * tuple of PK_HOOKS entries, entry h - 1 the bound method of hook h
 * (PK_HOOK_*), or None for an optional hook the object does not define
 * (params[0] of the configuration names those it does: they must agree).
 * `failure` is the address of a one-entry list, [None], where the first
 * failed call leaves (hook name, exception or None, answer or None).
 * The kernel holds references to both until it is detached (both 0),
 * which its owner does before letting it go.  PK_ERR_NOT_SUPPORTED: not
 * a kernel of PK_POLICY_HOST; PK_ERR_BAD_STATE: called from a hook. */
int pk_host_policy_attach(pk_kernel *k, uint64_t queues, uint64_t failure);

/* benchmark baseline: a bare save / pick / restore loop over n register
 * contexts in a ring, `switches` times; returns a checksum. */
uint64_t pk_bench_bare_switch(uint32_t n, uint64_t switches);
/* the floor over shuffled records: n records of pk_regs + a link, visited
 * in a cyclic order drawn from `seed`, saved and restored by whole-struct
 * (vector) copies, `switches` times; returns a checksum (0: bad n or no
 * memory). */
uint64_t pk_bench_bare_switch_shuffled(uint32_t n, uint64_t switches, uint64_t seed);


/* ---- kernel objects (pk_obj.c, pk_chan.c, pk_wait.c; docs/objects.md) ----
 * Modelled on Fuchsia's Zircon.  A process names objects through handles
 * in its own table; a handle value is (generation << 20) | (slot + 1), so
 * 0 is never a handle and a closed value is detected (BAD_HANDLE) until
 * its slot has been reused 2048 times.  Entry points act on behalf of
 * process `pid` and check the handle's rights on every operation. */
#define PK_HANDLE_INVALID 0
#define PK_HANDLE_SLOTS   1048512  /* slots per table ((1 << 20) - 64): values fit in 31 bits */

/* rights, in Zircon's order from bit 0 */
#define PK_RIGHT_DUPLICATE      0x1
#define PK_RIGHT_TRANSFER       0x2
#define PK_RIGHT_READ           0x4
#define PK_RIGHT_WRITE          0x8
#define PK_RIGHT_EXECUTE        0x10
#define PK_RIGHT_MAP            0x20
#define PK_RIGHT_GET_PROPERTY   0x40
#define PK_RIGHT_SET_PROPERTY   0x80
#define PK_RIGHT_ENUMERATE      0x100
#define PK_RIGHT_DESTROY        0x200
#define PK_RIGHT_SET_POLICY     0x400
#define PK_RIGHT_GET_POLICY     0x800
#define PK_RIGHT_SIGNAL         0x1000
#define PK_RIGHT_SIGNAL_PEER    0x2000
#define PK_RIGHT_WAIT           0x4000
#define PK_RIGHT_INSPECT        0x8000
#define PK_RIGHT_MANAGE_JOB     0x10000
#define PK_RIGHT_MANAGE_PROCESS 0x20000
#define PK_RIGHT_MANAGE_THREAD  0x40000
#define PK_RIGHT_APPLY_PROFILE  0x80000
#define PK_RIGHTS_ALL           0xfffff
#define PK_RIGHT_SAME_RIGHTS    0x80000000

/* signals (Zircon's bit numbers) */
#define PK_SIG_READABLE    0x1
#define PK_SIG_WRITABLE    0x2
#define PK_SIG_PEER_CLOSED 0x4
#define PK_SIG_SIGNALED    0x8     /* events                               */
#define PK_SIG_TERMINATED  0x8     /* processes and threads (same bit)     */
#define PK_SIG_USER_ALL    0xff000000   /* USER_0 .. USER_7: bits 24..31   */

/* object kinds */
#define PK_OBJ_CHANNEL   1
#define PK_OBJ_EVENT     2
#define PK_OBJ_EVENTPAIR 3
#define PK_OBJ_PROCESS   4
#define PK_OBJ_FUTEX     5   /* internal: a futex word's wait queue        */
#define PK_OBJ_SOCKET    6   /* stream or datagram socket endpoint (pk_socket.c) */
#define PK_OBJ_PORT      7   /* a queue of packets (pk_port.c)             */
#define PK_OBJ_THREAD    8   /* a thread (pk_thread_obj.c): TERMINATED at its end */
#define PK_PACKET_SIGNAL 1   /* an asynchronous wait was satisfied          */
#define PK_PACKET_USER   2   /* queued by pk_port_queue                     */
#define PK_SOCKET_STREAM   0
#define PK_SOCKET_DATAGRAM 1
#define PK_SOCKET_MAX_CAPACITY 0x40000000   /* bytes buffered per direction, at most */
#define PK_FUTEX_ADDR_MAX 0xffffffffffff   /* futex addresses: 4-byte aligned, < 2^48 */

#define PK_CHAN_MAX_BYTES   65536
#define PK_CHAN_MAX_HANDLES 64
#define PK_WAIT_MANY_MAX    64

typedef struct pk_handle_info {
    uint32_t handle;           /* its value                                */
    uint32_t kind;             /* PK_OBJ_*                                 */
    uint32_t rights;
    uint32_t signals;          /* asserted now                             */
    uint64_t koid;             /* the object's id, unique in the kernel    */
    uint64_t related_koid;     /* the peer's, or 0                         */
    uint64_t queued;           /* channel: messages waiting to be read     */
} pk_handle_info;

typedef struct pk_msg_info {
    uint32_t nbytes, nhandles; /* of the message read (or too big)          */
    uint32_t txid;             /* transaction id (0: none)                  */
    uint32_t synthetic;        /* 1: written by a script (bytes are zeros)  */
} pk_msg_info;

typedef struct pk_wait_item {
    uint32_t handle;
    uint32_t waitfor;          /* signals wanted                            */
    uint32_t pending;          /* out: signals asserted at the end          */
    uint32_t pad;
} pk_wait_item;

typedef struct pk_obj_stats {
    uint64_t objects;          /* live objects                              */
    uint64_t handles;          /* handles in every table                    */
    uint64_t messages;         /* queued in channels                        */
    uint64_t waiting;          /* threads waiting on objects                */
    uint64_t written, read;    /* messages ever written / read              */
} pk_obj_stats;

int pk_channel_create(pk_kernel *k, uint32_t pid, uint32_t *h0, uint32_t *h1);
int pk_event_create(pk_kernel *k, uint32_t pid, uint32_t *out);
int pk_eventpair_create(pk_kernel *k, uint32_t pid, uint32_t *h0, uint32_t *h1);
int pk_handle_close(pk_kernel *k, uint32_t pid, uint32_t h);
int pk_handle_duplicate(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t *out);
int pk_handle_replace(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t *out);
int pk_handle_info_get(pk_kernel *k, uint32_t pid, uint32_t h, pk_handle_info *out);
/* the handle values of pid's table in slot order: *count = how many (only
 * the first cap are copied) */
int pk_handle_list(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *count);
/* the value of the handle in slot `slot`, or BAD_HANDLE */
int pk_handle_at(pk_kernel *k, uint32_t pid, uint32_t slot, uint32_t *out);
/* move handles of process `from` (each needs TRANSFER) to process `to`'s
 * table: with check_only, only validate; else they leave `from` whatever
 * the outcome */
int pk_handle_move(pk_kernel *k, uint32_t from, uint32_t to, const uint32_t *hs, uint32_t n,
                   uint32_t check_only);
int pk_object_signal(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t clear, uint32_t set);
int pk_object_signal_peer(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t clear, uint32_t set);
/* write nbytes of data (NULL: synthetic zeros) and n handles */
int pk_channel_write(pk_kernel *k, uint32_t pid, uint32_t h, const uint8_t *data, uint32_t nbytes,
                     const uint32_t *handles, uint32_t nhandles, uint32_t txid);
/* read the first message (txid == 0) or the first with that txid into
 * data[0..bcap-1] and handles[0..hcap-1]; *out says its size either way */
int pk_channel_read(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t txid, uint8_t *data,
                    uint32_t bcap, uint32_t *handles, uint32_t hcap, pk_msg_info *out);
/* a new transaction id for a call */
uint32_t pk_channel_txid(pk_kernel *k);
/* fill items[].pending; OK if one is satisfied, else SHOULD_WAIT */
int pk_wait_check(pk_kernel *k, uint32_t pid, pk_wait_item *items, uint32_t n);
/* The blocking operations on handles a Python body yields, run by the
 * script instructions' code (pk_host.c): pk_host_deliver_until also gives
 * a read, PK_OP_CHAN_READ (b = the reply's txid for a call, else 0; a =
 * the handle's value), and a wait, PK_OP_WAIT (b = signals, a = the
 * handle's value), each with an optional deadline; pk_host_deliver gives
 * PK_OP_FUTEX_WAKE (b = address, a = n).  pk_host_deliver_write: a
 * socket write of n bytes (copied now) through handle h, waiting for room;
 * pk_host_deliver_wait: a wait for one of n items (wait_many);
 * pk_host_deliver_requeue: a futex requeue.  pk_host_result appends what
 * the thread's finished operation gives its body to the Python list at
 * `out` (an object id): (0, value) or (3, status, op), as the upcall
 * would send it, and returns the status; `makers` (pk_host_attach) is a
 * tuple (Message, Handle, Packet, Signals, kernel) the values are made
 * with. */
int pk_host_deliver_write(pk_kernel *k, uint32_t h, const uint8_t *data, uint32_t n);
int pk_host_deliver_wait(pk_kernel *k, const pk_wait_item *items, uint32_t n, uint64_t deadline);
int pk_host_deliver_requeue(pk_kernel *k, uint64_t addr, uint32_t nwake, uint64_t addr2,
                            uint32_t nrequeue);
int pk_host_result(pk_kernel *k, uint32_t tid, uint64_t out);
/* Give the waiting thread y (the id of what its body yielded), decoded as
 * the upcall decodes it (csrc/py/pk_upcall.c): any operation ctx makes
 * but the two-item ones, which pass through pk_kernel_run's host_op.
 * PK_OK, the status that refused it, or PK_ERR_WRONG_TYPE if y is not
 * such an operation (PK_ERR_OUT_OF_RANGE: a field is not a uint64). */
int pk_host_give_yield(pk_kernel *k, uint64_t y);
/* Is host thread tid waiting in a read, wait or socket write run by the
 * core?  PK_OK and in *code its operation (| PK_HOST_NAME_ALT: a call),
 * or BAD_STATE.  The operation a failure names (pk_host_result's and the
 * upcall's (3, status, op)) has PK_HOST_NAME_ALT for a read that is a
 * call and a wake that is a requeue. */
#define PK_HOST_NAME_ALT 0x100
int pk_host_blocked(pk_kernel *k, uint32_t tid, uint32_t *code);
int pk_obj_stats_get(pk_kernel *k, pk_obj_stats *out);
/* An audit of handles (for tests and soak runs; O(objects + handles +
 * messages)): handles found in the tables and inside queued messages, and
 * the objects whose reference count disagrees with them.  Every handle is
 * in exactly one table or one message: table_handles == pk_obj_stats.
 * handles, and no channel, event or event pair has a count other than the
 * handles found (bad_refs == 0); no object of any kind has fewer
 * (short_refs == 0). */
typedef struct pk_obj_audit {
    uint64_t table_handles;    /* handles in every process's table          */
    uint64_t flight_handles;   /* handles inside queued messages            */
    uint64_t messages;         /* messages found in channel queues          */
    uint64_t bad_refs;         /* channels, events, event pairs: refs != found */
    uint64_t short_refs;       /* any object: refs < handles found          */
} pk_obj_audit;
int pk_obj_audit_get(pk_kernel *k, pk_obj_audit *out);

/* processes as objects (pk_proc_obj.c).  A process handle's object
 * asserts TERMINATED when the process ends.  Killing through one needs
 * DESTROY, inspecting INSPECT; both need the caller to be root (uid 0) or
 * to have the target's uid. */
int pk_proc_creds_set(pk_kernel *k, uint32_t pid, uint32_t uid, uint32_t gid);
int pk_proc_creds_get(pk_kernel *k, uint32_t pid, uint32_t *uid, uint32_t *gid);
/* give process `holder` a handle to process `target` (the loader's act) */
int pk_proc_handle_create(pk_kernel *k, uint32_t holder, uint32_t target, uint32_t *out);
/* kill the process, or the thread only, that handle h names */
int pk_proc_handle_kill(pk_kernel *k, uint32_t caller, uint32_t h);
/* the target of process handle h, for inspection */
int pk_proc_handle_target(pk_kernel *k, uint32_t caller, uint32_t h, uint32_t *pid_out);

/* futexes (pk_futex.c), keyed by (process, address) without memory and
 * by (address space, address) or (shared object, offset) with it
 * (pk_vfutex.c; an unmapped address is INVALID_ARGS); a word is 32 bits and reads 0 until written; addresses are
 * multiples of 4 up to PK_FUTEX_ADDR_MAX.  The semaphore and
 * condition-variable calls are the steps the script instructions take,
 * from the host: pk_sem_try returns OK when done, or SHOULD_WAIT with the
 * word to wait for in *expect. */
int pk_futex_get(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t *value);
int pk_futex_set(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t value);
int pk_futex_wake(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t n, uint32_t *woken);
int pk_futex_requeue(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t nwake, uint64_t addr2,
                     uint32_t nrequeue, uint32_t *woken);
/* make the mutex at addr a priority-inheritance mutex (pk_pi.c): from now
 * on its owner runs with the priority of its most urgent waiter */
int pk_mutex_mark_pi(pk_kernel *k, uint32_t pid, uint64_t addr);
/* the own class, rt priority and static priority of boosted thread tid
 * (BAD_STATE if it is not boosted now) */
int pk_thread_pi_base(pk_kernel *k, uint32_t tid, uint32_t *sclass, uint32_t *rt_prio,
                      int32_t *priority);
int pk_sem_try(pk_kernel *k, uint32_t pid, uint64_t addr, uint32_t *expect);
int pk_sem_post(pk_kernel *k, uint32_t pid, uint64_t addr);
int pk_cond_signal(pk_kernel *k, uint32_t pid, uint64_t cv, uint64_t mutex, uint32_t broadcast);
/* process pid uses owner's futex words from now on (a stand-in for
 * shared memory, and for threads of one process, until address spaces
 * exist); BAD_STATE if pid already has words of its own */
int pk_futex_share(pk_kernel *k, uint32_t pid, uint32_t owner);
/* the owner tid of the mutex at addr, or -1 */
int pk_mutex_owner(pk_kernel *k, uint32_t pid, uint64_t addr, int64_t *tid);

/* the wait-for graph (pk_waitfor.c): an edge says thread `from` waits for
 * something only thread `to` can give: a mutex `to` holds, a message on a
 * channel whose other end `to`'s process holds, the end of `to`'s process */
#define PK_WF_MUTEX   1
#define PK_WF_CHANNEL 2
#define PK_WF_PROCESS 3
typedef struct pk_wf_edge {
    uint32_t waiter, holder;   /* tids                                      */
    uint32_t kind;             /* PK_WF_*                                   */
    uint32_t pid;              /* mutex: the process whose words hold it    */
    uint64_t what;             /* mutex: its address; channel: the koid of
                                  the endpoint read; process: its pid       */
} pk_wf_edge;
/* every edge now, by waiting thread in tid order: *count = how many (only
 * the first cap are copied) */
int pk_waitfor_edges(pk_kernel *k, pk_wf_edge *out, uint64_t cap, uint64_t *count);

/* sockets and pipes (pk_socket.c): two endpoints, each buffering up to
 * `capacity` bytes written by its peer.  A stream write takes what fits
 * (*done < nbytes: a short write) and is SHOULD_WAIT only when nothing
 * fits; a datagram write takes the whole datagram or SHOULD_WAIT.  A read
 * takes up to bcap bytes (a datagram: one, truncated to bcap).  data NULL:
 * synthetic bytes (zeros).  A pipe is a stream socket whose ends may only
 * read and only write. */
int pk_socket_create(pk_kernel *k, uint32_t pid, uint32_t mode, uint32_t capacity, uint32_t pipe,
                     uint32_t *h0, uint32_t *h1);
int pk_socket_write(pk_kernel *k, uint32_t pid, uint32_t h, const uint8_t *data, uint32_t nbytes,
                    uint32_t *done);
int pk_socket_read(pk_kernel *k, uint32_t pid, uint32_t h, uint8_t *data, uint32_t bcap,
                   uint32_t *done);

/* jobs (pk_jobobj.c): a tree of jobs, each holding processes; limits on
 * live processes and on their handles count over a job's whole subtree
 * (PK_FOREVER: none).  Killing a job kills every process in its subtree
 * and lets no new one in. */
typedef struct pk_jobobj_info {
    uint32_t parent;           /* job id + 1, 0: a root                    */
    uint32_t killed;
    uint64_t max_procs, max_handles;
    uint64_t procs, handles;   /* live processes and their handles, subtree */
    uint64_t max_memory;       /* bytes of resident user pages (PK_FOREVER: none) */
    uint64_t memory;           /* bytes charged to the subtree (at least the
                                  resident pages; exact at the limit)       */
} pk_jobobj_info;
int pk_jobobj_create(pk_kernel *k, uint32_t parent, uint64_t max_procs, uint64_t max_handles,
                     uint32_t *job_out);
/* may one more process holding `handles` handles join job (NO_MEMORY: a
 * process or handle limit of the job or an ancestor; BAD_STATE: killed)? */
int pk_jobobj_check_spawn(pk_kernel *k, uint32_t job, uint64_t handles);
/* put live process pid (in no job yet) in job */
int pk_jobobj_add(pk_kernel *k, uint32_t job, uint32_t pid);
int pk_jobobj_kill(pk_kernel *k, uint32_t job);
/* bound the resident user pages of job's subtree to max_bytes (rounded
 * down to pages): a page-in beyond kills the faulting process (reason
 * PK_KILL_JOB_MEMORY), a populating map is NO_MEMORY.  NOT_SUPPORTED
 * without memory; BAD_STATE once set or once the job has processes */
int pk_jobobj_limit_memory(pk_kernel *k, uint32_t job, uint64_t max_bytes);
/* What refused the latest NO_MEMORY that no pk_config limit gave (those
 * are pk_limits_get's `last`): a limit of job *job_out, or a handle table
 * at PK_HANDLE_SLOTS; PK_NOMEM_NONE if neither.  pk_limit_clear forgets
 * it too. */
#define PK_NOMEM_NONE          0
#define PK_NOMEM_JOB_PROCS     1  /* the job's max_procs                   */
#define PK_NOMEM_JOB_HANDLES   2  /* the job's max_handles                 */
#define PK_NOMEM_JOB_MEMORY    3  /* the job's max_memory                  */
#define PK_NOMEM_HANDLE_TABLE  4  /* the process's handle table is full    */
int pk_nomem_why(pk_kernel *k, uint32_t *why_out, uint32_t *job_out);
int pk_jobobj_info_get(pk_kernel *k, uint32_t job, pk_jobobj_info *out);
/* the job (+ 1) of process pid, 0: none */
int pk_jobobj_of(pk_kernel *k, uint32_t pid, uint32_t *job_plus1);

/* ports (pk_port.c): queues of packets.  pk_wait_async registers a one-shot
 * wait of handle h (WAIT needed) for `signals` whose packet goes to port
 * (WRITE needed); closing h cancels it.  pk_port_read takes the first
 * packet (SHOULD_WAIT when empty: wait for the port's READABLE). */
typedef struct pk_packet {
    uint64_t key;
    uint32_t type;             /* PK_PACKET_*                              */
    uint32_t signals;          /* observed (SIGNAL) or given (USER)        */
    int32_t  status;
    uint32_t pad;
} pk_packet;
int pk_port_create(pk_kernel *k, uint32_t pid, uint32_t *out);
int pk_wait_async(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t port, uint64_t key,
                  uint32_t signals);
int pk_port_queue(pk_kernel *k, uint32_t pid, uint32_t port, uint64_t key, uint32_t signals);
int pk_port_read(pk_kernel *k, uint32_t pid, uint32_t port, pk_packet *out);

/* threads (pk_thread.c): a new thread in live process pid, running
 * program prog from instruction `pc` (0 for a Python body), with the
 * scheduling parameters of the process's first thread; it arrives now.
 * The threads of a process: its first, then those created later. */
int pk_thread_create(pk_kernel *k, uint32_t pid, uint32_t prog, uint32_t pc, uint32_t *tid_out);
int pk_proc_threads(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *count);
/* threads as objects (pk_thread_obj.c): give process `holder` a handle to
 * thread tid; every handle to one thread names one object, which asserts
 * TERMINATED when the thread ends.  pk_proc_handle_kill kills the thread
 * only (DESTROY and the credentials of its process needed);
 * pk_thread_handle_target gives its tid (INSPECT and credentials). */
int pk_thread_handle_create(pk_kernel *k, uint32_t holder, uint32_t tid, uint32_t *out);
int pk_thread_handle_target(pk_kernel *k, uint32_t caller, uint32_t h, uint32_t *tid_out);

/* ---- tracing (pk_trace.c, docs/observability.md) -------------------------
 * A kernel made with tracing keeps a bounded buffer of typed events in the
 * order they happen.  When the buffer is full, new events are dropped and
 * counted (the first events of a run are kept). */
#define PK_TR_SWITCH_IN   1   /* tid starts on cpu; arg: switch cost (ns) before it runs;
                                 sub PK_TR_PREV_OUT: the thread that ran on cpu left it
                                 at this instant (its switch-out is not recorded apart) */
#define PK_TR_SWITCH_OUT  2   /* tid leaves cpu                                   */
#define PK_TR_WAKE        3   /* tid becomes ready; cpu: its run queue; sub: PK_ENQ_* */
#define PK_TR_BLOCK       4   /* tid blocks; sub: PK_TR_IO / _SLEEP / _WAIT; arg: ns */
#define PK_TR_FAULT       5   /* page fault of tid; sub: PK_TR_MINOR etc.; arg: va */
#define PK_TR_SEND        6   /* tid writes; arg: queue object id << 32 | bytes */
#define PK_TR_RECV        7   /* tid reads;  arg: queue object id << 32 | bytes */
#define PK_TR_MIGRATE     8   /* tid moves to run queue cpu; arg: the one it left */
#define PK_TR_EXIT        9   /* tid ends; arg: exit code (32 bits); sub: 1 if killed */
#define PK_TR_PREV_OUT    1
#define PK_TR_IO          0
#define PK_TR_SLEEP       1
#define PK_TR_WAIT        2
#define PK_TR_MINOR       0
#define PK_TR_MAJOR       1   /* a swap-in (the thread then blocks)            */
#define PK_TR_PROT        2   /* fatal: unmapped, write to read-only, supervisor */
#define PK_TR_NO_FRAME    3   /* fatal: no free frame (or past the job's max_memory) */
#define PK_TR_NO_TID      0xffffffff   /* an operation made outside any thread */
#define PK_TR_NO_CPU      0xffff

typedef struct pk_trace_event {       /* 24 bytes */
    uint64_t time;
    uint64_t arg;
    uint32_t tid;
    uint16_t cpu;
    uint8_t  kind;                     /* PK_TR_* */
    uint8_t  sub;
} pk_trace_event;

/* Start tracing into a buffer of at most max_events events (grown as
 * needed); once per kernel, before any spawn. */
int pk_trace_enable(pk_kernel *k, uint64_t max_events);
/* Copy events [start, start + cap) (fewer at the end) to out; *n = copied. */
int pk_trace_read(pk_kernel *k, uint64_t start, pk_trace_event *out, uint64_t cap, uint64_t *n);
/* Events kept (*count) and dropped because the buffer was full (*dropped). */
int pk_trace_counts(pk_kernel *k, uint64_t *count, uint64_t *dropped);

/* ---- the process tree (pk_proctree.c, docs/processes.md) -----------------
 * Every process has a parent (or none: spawned from Python) and children.
 * An ended process stays a zombie until its parent waits for it; one
 * without a parent is reaped when it ends.  Orphans go to the nearest
 * living ancestor marked as a child subreaper, else to the root of their
 * tree (Linux kernel/exit.c, find_new_reaper). */
#define PK_PT_ALIVE  0     /* not yet ended (also before its arrival)      */
#define PK_PT_ZOMBIE 1     /* ended; its parent has not waited for it      */
#define PK_PT_REAPED 2     /* ended and waited for (or had no parent)      */
typedef struct pk_tree_info {
    int64_t  parent;           /* its parent's pid, -1: none              */
    uint32_t tree;             /* PK_PT_*                                 */
    uint32_t nchildren;        /* living children and zombies             */
    uint32_t subreaper;        /* 1: a child subreaper                    */
    uint32_t sigchld;          /* SIGCHLD sent to it (counted until signals exist) */
    int32_t  wstatus;          /* Linux wait status once ended, else 0    */
    uint32_t pad;
} pk_tree_info;
int pk_proc_tree_get(pk_kernel *k, uint32_t pid, pk_tree_info *out);

/* ---- signals (pk_rv_sig.c, pk_sig.h; docs/signals.md) ---------------------
 * Linux numbers 1..64.  pk_proc_signal: send signo to process pid from the
 * host (si_code SI_USER, si_pid 0); 0 only checks the pid.  A process
 * that has ended accepts and ignores it.  NOT_SUPPORTED: its action would
 * be to stop the process (not modelled). */
int pk_proc_signal(pk_kernel *k, uint32_t pid, uint32_t signo);
/* pending and blocked sets (bit signo - 1): of process pid (tid1 = 0:
 * its process-wide pending set, blocked 0) or of its thread tid1 - 1 */
int pk_sig_state_get(pk_kernel *k, uint32_t pid, uint32_t tid1, uint64_t *pending,
                     uint64_t *blocked);
/* the disposition of signo in process pid: sa_handler (0 SIG_DFL, 1 SIG_IGN),
 * sa_flags, sa_mask */
int pk_sig_action_get(pk_kernel *k, uint32_t pid, uint32_t signo, uint64_t *handler,
                      uint64_t *flags, uint64_t *mask);
/* *stopped: the signal that stopped process pid (machine code), 0: running */
int pk_sig_stopped(pk_kernel *k, uint32_t pid, uint32_t *stopped);
/* fork and execve of machine code (pk_sig.h) */
int pk_sig_fork(pk_kernel *k, uint32_t parent_pid, uint32_t child_pid, uint32_t child_tid);
int pk_sig_exec(pk_kernel *k, uint32_t pid);
/* the audit of signal state: records that break its rules (a mask or
 * sa_mask holding SIGKILL or SIGSTOP, a signal record named by no process or
 * by two, a thread flag out of range, a count of queued timer events that
 * differs from the events found) */
int pk_sig_audit_get(pk_kernel *k, uint64_t *bad);
/* its children in order (up to cap pids into out; *n = how many it has) */
int pk_proc_children(pk_kernel *k, uint32_t pid, uint32_t *out, uint32_t cap, uint32_t *n);
/* make `child` (fresh from pk_spawn: no parent, no children, not ended)
 * a child of `parent` (not ended): INVALID_ARGS, BAD_STATE */
int pk_proc_set_parent(pk_kernel *k, uint32_t child, uint32_t parent);
int pk_proc_subreaper_set(pk_kernel *k, uint32_t pid, uint32_t on);
/* An audit of the tree: links that disagree (a child its parent does not
 * list, counts that differ, a reaped process still linked) and processes
 * whose parent chain does not end (a cycle). */
typedef struct pk_tree_audit {
    uint64_t bad_links;
    uint64_t cycles;
} pk_tree_audit;
int pk_tree_audit_get(pk_kernel *k, pk_tree_audit *out);

/* ---- snapshots (pk_snap_core.c, docs/snapshot.md) ------------------------
 * pk_kernel_snapshot writes the whole state of a kernel into one buffer
 * (free it with pk_snapshot_free); pk_kernel_restore builds a new kernel
 * from one that continues exactly as the original would have.  `extra`
 * bytes (the host's own state) travel in the snapshot untouched; restore
 * says where they are in buf.  A refusal fills *why. */
#define PK_SNAP_VERSION 3
/* why pk_kernel_snapshot refused (tid / value say more) */
#define PK_SNAP_R_HOST_THREAD 1   /* tid: a live thread whose body is a Python generator */
#define PK_SNAP_R_BODY_KIND   2   /* tid: a live thread of a body kind this build cannot save;
                                     value: the kind */
#define PK_SNAP_R_HOST_POLICY 3   /* the policy is written in Python */
#define PK_SNAP_R_IN_HOOK     4   /* a hook of the policy is running */
#define PK_SNAP_R_BROKEN      5   /* the kernel failed; value: -status */
#define PK_SNAP_R_HOST_WAIT   6   /* tid waits for its next operation from the host */
#define PK_SNAP_R_MEMORY      7   /* the memory part refused; status says why */
#define PK_SNAP_R_OBJECTS     8   /* the kernel-object part refused; status says why */
#define PK_SNAP_R_CACHE       9   /* the kernel has a cache model (not saved)   */
/* why pk_kernel_restore refused */
#define PK_SNAP_E_EMPTY      16   /* no bytes at all */
#define PK_SNAP_E_MAGIC      17   /* not a pykernel snapshot */
#define PK_SNAP_E_TRUNCATED  18   /* shorter than it says; value: the length it says */
#define PK_SNAP_E_TRAILING   19   /* longer than it says; value: the length it says */
#define PK_SNAP_E_VERSION    20   /* value: the format version it was written in */
#define PK_SNAP_E_CHECKSUM   21   /* its checksum does not match: corrupted */
#define PK_SNAP_E_LAYOUT     22   /* written by a build whose thread layout differs */
#define PK_SNAP_E_CONFIG     23   /* its configuration (or the override) is refused: status */
#define PK_SNAP_E_SECTION    24   /* value: the tag of a section that is malformed */
#define PK_SNAP_E_POLICY     25   /* the new policy cannot take thread tid (status) */
#define PK_SNAP_E_MEMORY     26   /* the memory section could not be loaded (status) */
#define PK_SNAP_E_OBJECTS    27   /* the kernel-object section could not be loaded (status) */
typedef struct pk_snap_refusal {
    uint32_t reason;           /* PK_SNAP_R_* / PK_SNAP_E_*, 0: none       */
    uint32_t tid;
    uint64_t value;
    int32_t  status;           /* the status returned                      */
    uint32_t pad;
} pk_snap_refusal;

/* what pk_kernel_restore takes from `with` instead of the snapshot */
#define PK_RESTORE_POLICY 1    /* policy, quantum, preemptive, nparams, params */
#define PK_RESTORE_COSTS  2    /* costs */

int pk_kernel_snapshot(pk_kernel *k, const uint8_t *extra, uint64_t extra_len, uint8_t **out,
                       uint64_t *len, pk_snap_refusal *why);
void pk_snapshot_free(uint8_t *buf);
int pk_kernel_restore(const uint8_t *buf, uint64_t len, const pk_config *with, uint32_t change,
                      pk_kernel **out, uint64_t *extra_off, uint64_t *extra_len,
                      pk_snap_refusal *why);
/* the checksum a snapshot's trailer holds for its first len bytes */
uint64_t pk_snapshot_checksum(const uint8_t *buf, uint64_t len);
/* the configuration a snapshot was made with (header checks only) */
int pk_snapshot_config(const uint8_t *buf, uint64_t len, pk_config *out, pk_snap_refusal *why);

/* ---- the file system (pk_fs.c; docs/userland.md) ------------------------------
 * One in-memory file system per kernel, made at its first use with /,
 * /dev (null, zero, urandom, tty) and /tmp.  Inodes are named by their
 * number (1: the root), which never changes while the inode lives.
 * Unlike the rest of the API these calls answer as Linux system calls do:
 * 0 (or a count), or a negative Linux errno (-PK_ENOENT, ...), so a
 * system-call layer returns their result as it is.  A pk_fs_who holds the
 * credentials the permission checks use and the directory relative paths
 * start from (a process's working directory, or the directory of a
 * descriptor for the *at calls; 0: the root).  Paths are (pointer,
 * length), without a NUL.  Times are ns since 1970-01-01 UTC: the
 * kernel's epoch plus its clock. */
#define PK_EPERM         1
#define PK_ENOENT        2
#define PK_ESRCH         3
#define PK_EIO           5
#define PK_ENXIO         6
#define PK_ENOEXEC       8
#define PK_ENODEV       19
#define PK_ENOMEM       12
#define PK_EACCES       13
#define PK_EBUSY        16
#define PK_EEXIST       17
#define PK_EXDEV        18
#define PK_ENOTDIR      20
#define PK_EISDIR       21
#define PK_EINVAL       22
#define PK_EFBIG        27
#define PK_ENOSPC       28
#define PK_EMLINK       31
#define PK_ENAMETOOLONG 36
#define PK_ERANGE       34
#define PK_ENOTEMPTY    39
#define PK_ELOOP        40

#define PK_S_IFMT   0xF000     /* file type bits of a mode (inode(7))       */
#define PK_S_IFCHR  0x2000
#define PK_S_IFDIR  0x4000
#define PK_S_IFREG  0x8000
#define PK_S_IFLNK  0xA000
#define PK_S_ISUID  0x800
#define PK_S_ISGID  0x400
#define PK_S_ISVTX  0x200      /* sticky: only owners remove entries (/tmp)  */

#define PK_FS_NAME_MAX  255    /* bytes in a file name (NAME_MAX)            */
#define PK_FS_PATH_MAX  4096   /* bytes in a path with its NUL (PATH_MAX)    */
#define PK_FS_MAXSYMLINKS 40   /* symbolic links followed in one resolution  */
#define PK_FS_LINK_MAX  65000  /* links to one inode (ext4's EXT4_LINK_MAX)  */
#define PK_FS_NO_PID    0xFFFFFFFFu  /* pk_fs_read/write: no process (/dev/tty: ENXIO) */
#define PK_FS_KEEP      0xFFFFFFFFu  /* pk_fs_chown: leave this id as it is  */
#define PK_FS_UTIME_NOW  0x3FFFFFFF  /* pk_fs_utimens nsec: now (UTIME_NOW)  */
#define PK_FS_UTIME_OMIT 0x3FFFFFFE  /* pk_fs_utimens nsec: unchanged (UTIME_OMIT) */

/* flags */
#define PK_FS_NOFOLLOW  1      /* a final symbolic link is not followed      */
#define PK_FS_EXCL      2      /* pk_fs_create: EEXIST if the name exists     */
#define PK_FS_REMOVEDIR 4      /* pk_fs_unlink: remove a directory (rmdir)    */

/* access masks */
#define PK_FS_R 4
#define PK_FS_W 2
#define PK_FS_X 1

/* devices (rdev: major << 8 | minor, Linux's numbers) */
#define PK_FS_DEV_NULL    0x0103
#define PK_FS_DEV_ZERO    0x0105
#define PK_FS_DEV_URANDOM 0x0109
#define PK_FS_DEV_TTY     0x0500

typedef struct pk_fs_who {
    uint32_t uid, gid;         /* credentials                                */
    uint32_t cwd;              /* where relative paths start; 0: the root    */
    uint32_t pad;
} pk_fs_who;

typedef struct pk_fs_stat {
    uint32_t ino, mode;        /* mode: PK_S_IF* type | permission bits      */
    uint32_t nlink, uid, gid;
    uint32_t rdev;             /* devices: major << 8 | minor                */
    uint64_t size;             /* bytes (symbolic links: the target's length) */
    uint64_t blocks;           /* 512-byte blocks of data pages held         */
    uint64_t atime, mtime, ctime;  /* ns since 1970-01-01 UTC                */
    uint32_t refs;             /* references held by pk_fs_get (and working
                                  directories): the inode outlives its names
                                  while any is held                          */
    uint32_t pad;
    uint64_t version;          /* bumped at every change of the contents     */
} pk_fs_stat;

typedef struct pk_fs_dirent {
    uint32_t ino;
    uint8_t  type;             /* DT_*: 2 char device, 4 directory, 8 regular, 10 symlink */
    uint8_t  pad;
    uint16_t namelen;
    char     name[256];        /* NUL-terminated                             */
} pk_fs_dirent;

typedef struct pk_fs_usage {
    uint64_t inodes, files, dirs, symlinks, devices;
    uint64_t bytes;            /* sum of the sizes of regular files          */
    uint64_t pages;            /* 4 KiB data pages held (holes hold none)    */
    uint64_t max_bytes;        /* limit on pages * 4096 + slots * 8: ENOSPC past it */
    uint64_t slots;            /* page slots of the files (8 bytes each)      */
    uint64_t max_inodes;       /* limit on inodes: ENOSPC past it            */
    uint64_t orphans;          /* inodes without names kept by references    */
} pk_fs_usage;

typedef struct pk_fs_audit {
    uint64_t inodes;           /* live inodes found                          */
    uint64_t entries;          /* directory entries found                    */
    uint64_t bad_links;        /* inodes whose nlink differs from the entries naming them */
    uint64_t bad_refs;         /* inodes with fewer references than working directories */
    uint64_t leaked;           /* inodes without name or reference, not freed */
    uint64_t bad_pages;        /* the page count differs from the pages found */
    uint64_t bad_order;        /* directories whose entries are out of order  */
    uint32_t first_bad, pad;   /* the first inode found wrong (0: none)      */
} pk_fs_audit;

int pk_fs_lookup(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                 uint32_t flags, uint32_t *ino_out);
int pk_fs_access(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t mask);
int pk_fs_stat_get(pk_kernel *k, uint32_t ino, pk_fs_stat *out);
/* open(O_CREAT) without the descriptor: the regular file at path, made
 * (mode & 07777) if missing; with PK_FS_EXCL, EEXIST if the name exists */
int pk_fs_create(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                 uint32_t mode, uint32_t flags, uint32_t *ino_out);
int pk_fs_mkdir(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t mode);
int pk_fs_symlink(pk_kernel *k, const pk_fs_who *who, const char *target, uint32_t tlen,
                  const char *path, uint32_t len);
int pk_fs_link(pk_kernel *k, const pk_fs_who *from, const char *old, uint32_t olen,
               const pk_fs_who *to, const char *path, uint32_t len);
int pk_fs_unlink(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t flags);
int pk_fs_rename(pk_kernel *k, const pk_fs_who *from, const char *old, uint32_t olen,
                 const pk_fs_who *to, const char *path, uint32_t len);
/* the target of the symbolic link at path: up to cap bytes into buf, its
 * whole length in *len_out; EINVAL if path is no symbolic link */
int pk_fs_readlink(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                   char *buf, uint32_t cap, uint32_t *len_out);
int pk_fs_chmod(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len, uint32_t mode);
int pk_fs_chown(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                uint32_t uid, uint32_t gid, uint32_t flags);
/* times: {atime s, atime ns, mtime s, mtime ns} (ns may be UTIME_NOW or
 * UTIME_OMIT), or NULL for now (utimensat(2)) */
int pk_fs_utimens(pk_kernel *k, const pk_fs_who *who, const char *path, uint32_t len,
                  const int64_t *times, uint32_t flags);
/* the same three on an open file's inode (fchmod(2), fchown(2),
 * futimens(3)); fchmod keeps the permission bits of mode */
int pk_fs_fchmod(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t mode);
int pk_fs_fchown(pk_kernel *k, const pk_fs_who *who, uint32_t ino, uint32_t uid, uint32_t gid);
int pk_fs_futimens(pk_kernel *k, const pk_fs_who *who, uint32_t ino, const int64_t *times);
/* contents, by inode (the caller checked access when it opened it): read
 * or write len bytes at off; *n_out: bytes moved.  pid: the process
 * whose terminal /dev/tty is (PK_FS_NO_PID: none) */
int pk_fs_read(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t off, uint8_t *buf,
               uint64_t len, uint64_t *n_out);
int pk_fs_write(pk_kernel *k, uint32_t pid, uint32_t ino, uint64_t off, const uint8_t *buf,
                uint64_t len, uint64_t *n_out);
int pk_fs_truncate(pk_kernel *k, uint32_t ino, uint64_t size);
/* the entry of directory ino at *cursor ("." and ".." first, then the
 * entries in the order they were made): 1 and the next cursor, or 0 at
 * the end.  A cursor stays valid while entries come and go. */
int pk_fs_readdir(pk_kernel *k, uint32_t ino, uint64_t *cursor, pk_fs_dirent *out);
/* references that keep an inode while it has no name (open files) */
int pk_fs_get(pk_kernel *k, uint32_t ino);
int pk_fs_put(pk_kernel *k, uint32_t ino);
/* the path of directory ino from the root (getcwd(2): ENOENT if removed) */
int pk_fs_path(pk_kernel *k, uint32_t ino, char *buf, uint32_t cap, uint32_t *len_out);
/* a process's working directory (holds a reference, dropped when the
 * process ends; default the root); ESRCH for an ended process */
int pk_fs_cwd_set(pk_kernel *k, uint32_t pid, uint32_t ino);
int pk_fs_cwd_get(pk_kernel *k, uint32_t pid, uint32_t *ino_out);
/* the credentials and working directory of process pid */
int pk_fs_who_of(pk_kernel *k, uint32_t pid, pk_fs_who *out);
int pk_fs_usage_get(pk_kernel *k, pk_fs_usage *out);
/* limits: bytes of data pages and inodes (0: leave as it is) */
int pk_fs_limits_set(pk_kernel *k, uint64_t max_bytes, uint64_t max_inodes);
int pk_fs_audit_run(pk_kernel *k, pk_fs_audit *out);

/* ---- Unix descriptors (pk_fd.c, pk_rv_fd.c; docs/userland.md) ----------------
 * Per-process descriptor tables over shared open file descriptions, kept
 * apart from the handle tables: a descriptor number is never looked up as
 * a handle value, nor the reverse.  A table is set up at the process's
 * first use of one (0, 1, 2 on its standard streams). */
#define PK_FDK_FILE    1       /* description kinds: an inode                */
#define PK_FDK_STD     2       /* a standard stream of the process           */
#define PK_FDK_PIPE_R  3       /* a pipe's read end                          */
#define PK_FDK_PIPE_W  4       /* a pipe's write end                         */

typedef struct pk_fd_info {
    uint32_t fd, description;  /* the number; its description's index       */
    uint32_t kind;             /* PK_FDK_*                                   */
    uint32_t cloexec;          /* FD_CLOEXEC                                 */
    uint32_t flags;            /* open(2) access mode and status flags       */
    uint32_t ino;              /* PK_FDK_FILE: the inode                     */
    uint32_t stream;           /* PK_FDK_STD: 0 stdin, 1 stdout, 2 stderr    */
    uint32_t refs;             /* descriptors naming the description         */
    uint64_t offset;           /* its file offset (directories: readdir cursor) */
    uint64_t pipe_bytes;       /* pipe ends: bytes buffered in the pipe      */
} pk_fd_info;

typedef struct pk_fd_proc {
    uint32_t umask;
    uint32_t pgid, sid;        /* process group and session (Linux ids)      */
    uint32_t pad;
    uint64_t sigpipe;          /* SIGPIPEs sent to it by writes to pipes
                                  without readers                            */
} pk_fd_proc;

typedef struct pk_fd_audit {
    uint64_t descriptors, descriptions, pipe_ends;
    uint64_t bad_descriptors;  /* descriptors naming a free description      */
    uint64_t bad_refs;         /* descriptions whose refs != descriptors found */
    uint64_t bad_files;        /* files not live, or held less than described */
    uint64_t bad_pipes;        /* pipe ends whose object is not a pipe end   */
    uint64_t bad_descriptions; /* of no known kind                           */
} pk_fd_audit;

/* the descriptors of process pid in order (up to cap; *n: how many) */
int pk_fd_list(pk_kernel *k, uint32_t pid, pk_fd_info *out, uint32_t cap, uint32_t *n);
int pk_fd_proc_get(pk_kernel *k, uint32_t pid, pk_fd_proc *out);
/* fork(2): child (no table yet: else BAD_STATE) gets a copy of parent's
 * table; each descriptor names the same description (one more reference),
 * with the same close-on-exec flag; umask, group and session are copied */
int pk_fd_fork(pk_kernel *k, uint32_t parent, uint32_t child);
/* execve(2): the close-on-exec descriptors of pid close */
int pk_fd_exec(pk_kernel *k, uint32_t pid);
int pk_fd_audit_run(pk_kernel *k, pk_fd_audit *out);
