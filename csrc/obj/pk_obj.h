/* pk_obj.h - kernel objects: the object arena, per-process handle
 * tables, channel messages and wait records (docs/objects.md).
 *
 * Everything here hangs off k->objs, allocated the first time a process
 * uses a handle; a kernel that never does pays nothing.  A process that
 * uses handles gets an extension record (pk_pext: its handle table, later
 * its credentials), named by the 24-bit id in pk_proc.ext (pk_proc_ext;
 * 0: none): three bytes that were padding, so processes did not grow. */
#ifndef PK_OBJ_H
#define PK_OBJ_H

/* one handle-table entry; obj == 0: free */
typedef struct pk_hent {
    uint32_t obj;                 /* object id (>= 1)                       */
    uint32_t rights;
    uint32_t gen;                 /* bumped when the slot is freed          */
} pk_hent;

typedef struct pk_pext {          /* a process's kernel-object state        */
    pk_hent  *ents;               /* slots 0 .. cap-1                       */
    uint64_t *used;               /* bit i: slot i holds a handle           */
    uint32_t  cap, top;           /* allocated; 1 + highest slot ever used  */
    uint32_t  count;              /* handles held                           */
    uint32_t  hint;               /* no free slot below word `hint` of used */
    uint32_t  self_obj;           /* the process's own object (0: none yet)  */
    uint32_t  uid, gid;           /* credentials; a process without a record
                                     is root (0, 0)                         */
    uint64_t *fkeys;              /* futexes: open addressing, address + 1  */
    uint32_t *fobjs;              /*   -> object id                          */
    uint32_t  fcap, fn;
    uint32_t  fdom;               /* pid + 1 of the process whose futexes this
                                     one uses (shared memory), 0: its own    */
    uint32_t  fsharers;           /* processes that use this one's futexes   */
    uint32_t  job;                /* its job + 1 (pk_jobobj.c), 0: none      */
    uint32_t *xtids;              /* threads created after the first         */
    uint32_t  nx, xcap;
    uint64_t  mem_pages;          /* resident pages charged to its jobs      */
} pk_pext;

typedef struct pk_jobrec {        /* a job: a node of the tree of jobs       */
    uint32_t parent;              /* job + 1, 0: a root                      */
    uint32_t killed;              /* 1 once killed: no new processes         */
    uint64_t max_procs, max_handles;   /* limits over its subtree (PK_FOREVER: none) */
    uint64_t procs, handles;      /* live processes and their handles, subtree */
    uint64_t max_pages;           /* resident user pages of the subtree, at most */
    uint64_t pages;               /* charged to the subtree (pk_jobobj_mem_charge) */
} pk_jobrec;

typedef struct pk_xfer {          /* a handle in flight inside a message   */
    uint32_t obj, rights;
} pk_xfer;

typedef struct pk_msg {
    struct pk_msg *next;
    uint8_t  *data;               /* NULL: synthetic (script) bytes         */
    pk_xfer  *handles;
    uint32_t  nbytes, nhandles;
    uint32_t  txid, pad;
} pk_msg;

/* a kernel object; ids index k->objs->arena, id 0 is never used */
typedef struct pk_obj {
    uint8_t  kind;                /* PK_OBJ_*, 0: free                       */
    uint8_t  fflags;              /* a futex: PK_FUTEX_* bits                */
    uint8_t  pad[2];
    uint32_t signals;
    uint32_t refs;                /* handles to it, in tables or in flight   */
    uint32_t waiters;             /* first wait node + 1 (0: none)           */
    uint64_t koid;
    uint32_t peer;                /* channel, eventpair: the other end (0: closed) */
    union {
        uint32_t next_free;       /* free objects                            */
        uint32_t target;          /* a process object: its pid; a thread
                                     object: its tid; a futex: the tid + 1
                                     of the mutex owner (0: none)            */
    };
    pk_msg  *head, *tail;         /* channel: messages to read, FIFO         */
    union {
        uint64_t queued;          /* channel: messages in the queue           */
        uint64_t word;            /* futex: the 32-bit word                   */
    };
} pk_obj;                         /* 56 bytes */

#define PK_FUTEX_PI 1
#define PK_SOCK_PIPE 0x80         /* a socket's pad[0]: with its mode, a pipe  */
#define PK_SOCK_FD 0x40           /* a pipe end held by an open file description
                                     (pk_fd.c), not by handles: refs 1          */             /* a priority-inheritance mutex (pk_pi.c)  */

/* one object a waiting thread waits on */
typedef struct pk_wnode {
    uint32_t obj, handle;         /* handle: the value waited through        */
    uint32_t waitfor, pending;
    uint32_t next, prev;          /* the object's waiters (node + 1)         */
    uint32_t wait;                /* its wait record                          */
    uint32_t sib;                 /* the record's next node + 1 / free list  */
} pk_wnode;

typedef struct pk_wait {
    uint32_t tid, seq;            /* seq: tells a stale deadline event apart */
    uint32_t first, n;            /* its nodes (first + 1, chained by sib)   */
    uint64_t deadline;
    int32_t  status;
    uint8_t  linked, done, pad[2];   /* linked: nodes are in wait queues     */
    uint32_t pid;
    uint32_t next_free;
    uint32_t port;                /* an asynchronous wait: the port (+ a
                                     reference) its packet goes to; 0: a
                                     thread's wait                           */
    uint32_t pad2;
    uint64_t key;                 /* the packet's key                        */
} pk_wait;

typedef struct pk_piboost {      /* a boosted thread's own parameters       */
    uint32_t tid;
    uint8_t  sclass, rt_prio, pad[2];
    int32_t  priority;
} pk_piboost;

typedef struct pk_pi {            /* priority inheritance (pk_pi.c)           */
    uint32_t   *held;             /* PI mutexes that have an owner            */
    pk_piboost *boosts;           /* threads running boosted                  */
    uint32_t    nheld, nboosts;
    uint32_t    marked, cap;      /* PI mutexes; room in held and boosts      */
} pk_pi;

typedef struct pk_objects {
    pk_arena  arena;              /* of pk_obj                                */
    uint32_t  free_obj;           /* free list of object ids (0: none)        */
    uint32_t  *dead;              /* objects whose last reference went        */
    uint32_t  ndead, dead_cap;
    pk_pext  *ext;                /* process extensions; ext[0] unused        */
    uint32_t  next, next_cap;
    pk_wnode *nodes;              /* wait nodes; index 0 unused               */
    uint32_t  nnodes, nodes_cap, free_node;
    pk_wait  *waits;              /* wait records; index 0 unused             */
    uint32_t  nwaits, waits_cap, free_wait;
    pk_msg   *free_msgs;          /* recycled message records                 */
    uint64_t  msgs_allocated;
    uint64_t  koid;               /* last koid given                          */
    uint32_t  txid;               /* last transaction id given                */
    uint32_t  wait_seq;
    uint64_t  deadlines;          /* deadline events in the event queue       */
    pk_jobrec *jobs;              /* jobs (pk_jobobj.c)                        */
    uint32_t  njobs, jobs_cap;
    pk_pi    *pi;                 /* priority inheritance; NULL until used    */
    uint32_t *tkeys, *tobjs;      /* thread objects: tid + 1 -> object id     */
    uint32_t  tcap, tn;           /*   (pk_thread_obj.c)                      */
    struct pk_vfmap *vf;          /* futexes by memory key (pk_vfutex.c), NULL until used */
    pk_obj_stats st;
    uint64_t  qbytes;             /* bytes queued in channels and sockets     */
    uint64_t  packets;            /* port packets queued, or promised by armed
                                     asynchronous waits (max_messages counts them) */
} pk_objects;

/* pk_obj.c: objects, references, handle tables */
int      pk_objects_init(pk_kernel *k);
void     pk_objects_fini(pk_kernel *k);
int64_t  pk_obj_new(pk_kernel *k, uint8_t kind);            /* id, or -1 */
static inline pk_obj *pk_obj_at(pk_kernel *k, uint32_t id) {
    return (pk_obj *)pk_arena_at(&k->objs->arena, id);
}
void     pk_obj_unref(pk_kernel *k, uint32_t id);   /* destroys it at 0 refs */
void     pk_obj_reap_dead(pk_kernel *k);            /* finish pending destroys */
/* Finish pending destroys, if any (the common case, none, costs a test). */
static inline void pk_obj_reap(pk_kernel *k) {
    if (k->objs->ndead) pk_obj_reap_dead(k);
}
pk_pext *pk_pext_of(pk_kernel *k, uint32_t pid, bool create);
int      pk_handle_add(pk_kernel *k, pk_pext *x, uint32_t obj, uint32_t rights, uint32_t *out);
int      pk_handle_get(pk_kernel *k, uint32_t pid, uint32_t h, pk_hent **out);
/* Rights: the one place they are checked (pk_obj.c).  A use of entry e
 * needs every bit of `rights` and an object of one of `kinds` (a mask of
 * PK_OBJ_KIND(kind); 0: any): WRONG_TYPE, else ACCESS_DENIED, else OK.
 * pk_handle_use looks handle value h up first (BAD_HANDLE); *out is the
 * entry whenever the lookup succeeds, NULL otherwise. */
#define PK_OBJ_KIND(kind) (1u << (kind))
int      pk_hent_check(pk_kernel *k, const pk_hent *e, uint32_t rights, uint32_t kinds);
int      pk_handle_use(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t rights, uint32_t kinds,
                       pk_hent **out);
/* The entry in slot `slot` of t's process's table, or NULL (scripts name
 * handles by slot; inline: every script object instruction asks). */
static inline pk_hent *pk_handle_slot(pk_kernel *k, const pk_thread *t, uint64_t slot) {
    uint32_t ext = pk_proc_ext(pk_proc_at(k, t->pid));
    if (!ext) return NULL;
    pk_pext *x = &k->objs->ext[ext];
    if (slot >= x->top || !x->ents[slot].obj) return NULL;
    return &x->ents[slot];
}
void     pk_handle_drop(pk_kernel *k, pk_pext *x, pk_hent *e, uint32_t pid);
int      pk_caller_ok(pk_kernel *k, uint32_t pid);
void     pk_proc_objects_release(pk_kernel *k, pk_proc *p, uint32_t pid);

/* pk_proc_obj.c: process objects and credentials */
void     pk_proc_obj_terminated(pk_kernel *k, pk_pext *x);

/* pk_vfutex.c: futex keys when the kernel has memory */
int      pk_vfutex_key(pk_kernel *k, uint32_t pid, uint64_t addr, uint64_t *hi, uint64_t *lo);
uint32_t pk_vfutex_of(pk_kernel *k, uint64_t hi, uint64_t lo, bool create);
uint64_t pk_vfutex_addr(pk_kernel *k, uint32_t pid, uint32_t f);
void     pk_vfutex_fini(pk_kernel *k);
/* pk_futex.c */
void     pk_futex_release(pk_kernel *k, pk_pext *x);
int      pk_script_futex_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, bool woke);

/* pk_thread_obj.c: threads as objects */
void     pk_thread_obj_terminated(pk_kernel *k, const pk_thread *t);
void     pk_thread_obj_forget(pk_kernel *k, uint32_t tid);
/* pk_dispatch.c: end thread t only (a kill through a thread handle) */
void     pk_thread_terminate(pk_kernel *k, pk_thread *t, int32_t code, uint32_t reason);

/* pk_pi.c: priority inheritance for futex mutexes */
int      pk_pi_mark(pk_kernel *k, uint32_t f);
void     pk_pi_acquired(pk_kernel *k, pk_thread *t, uint32_t f);
void     pk_pi_released(pk_kernel *k, pk_thread *t, uint32_t f);
void     pk_pi_waiters_changed(pk_kernel *k, uint32_t f);
void     pk_pi_forget(pk_kernel *k, uint32_t f);
bool     pk_pi_rebase(pk_kernel *k, pk_thread *t, int64_t a, int64_t b);
/* pk_control.c: set a thread's class, rt priority and static priority at
 * once through the run-time change path */
void     pk_thread_sched_apply(pk_kernel *k, pk_thread *t, uint32_t sclass, uint32_t rt_prio,
                               int32_t priority);

/* pk_jobobj.c: jobs */
int      pk_jobobj_handle_charge(pk_kernel *k, pk_pext *x);   /* NO_MEMORY at a limit */
void     pk_jobobj_handle_release(pk_kernel *k, pk_pext *x);
void     pk_jobobj_proc_exit(pk_kernel *k, pk_pext *x);
int      pk_jobobj_mem_charge(pk_kernel *k, uint32_t pid);   /* NO_MEMORY at a limit */
void     pk_jobobj_mem_sync(pk_kernel *k, uint32_t pid);     /* charges follow rss again */

/* pk_port.c */
void     pk_port_packet(pk_kernel *k, uint32_t port, uint64_t key, uint32_t type,
                        uint32_t signals, int status);
void     pk_port_destroy(pk_kernel *k, pk_obj *o);
int      pk_script_port_read(pk_kernel *k, pk_thread *t, pk_regs *r, pk_hent *e, uint32_t h);
int      pk_wait_async_new(pk_kernel *k, uint32_t pid, uint32_t obj, uint32_t h, uint32_t signals,
                           uint32_t port, uint64_t key);

/* pk_thread.c: threads created in a running process */
const uint32_t *pk_proc_xtids(pk_kernel *k, const pk_proc *p, uint32_t *n);
int      pk_script_thread_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, uint64_t *arg);

/* pk_socket.c */
void     pk_socket_destroy(pk_kernel *k, pk_obj *o);
int      pk_script_socket_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, pk_hent *e,
                             uint32_t h);

/* pk_chan.c: channels */
void     pk_chan_destroy(pk_kernel *k, pk_obj *o, uint32_t id);
void     pk_msg_free(pk_kernel *k, pk_msg *m);

/* pk_wait.c: signals and waiting */
void     pk_obj_signal_wake(pk_kernel *k, pk_obj *ob, uint32_t rise);   /* pk_wait.c */
/* Signals of object id change: clear, then set.  Waiters wanting a newly
 * asserted signal wake, in the order they began waiting (pk_wait.c);
 * inline: with no waiter or nothing asserted it is only the update. */
static inline void pk_obj_signal_change(pk_kernel *k, uint32_t id, uint32_t clear, uint32_t set) {
    pk_obj *ob = pk_obj_at(k, id);
    uint32_t old = ob->signals;
    ob->signals = (old & ~clear) | set;
    uint32_t rise = ob->signals & ~old;
    if (rise && ob->waiters) pk_obj_signal_wake(k, ob, rise);
}
void     pk_wait_cancel_handle(pk_kernel *k, uint32_t obj, uint32_t pid, uint32_t h);
void     pk_wait_thread_gone(pk_kernel *k, pk_thread *t);
int      pk_wait_script(pk_kernel *k, pk_thread *t, pk_regs *r, uint32_t obj, uint32_t h,
                        uint32_t signals);
uint32_t pk_wait_wake_n(pk_kernel *k, uint32_t obj, uint32_t n);
uint32_t pk_wait_requeue(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n);
bool     pk_wait_deadline_stale(pk_kernel *k, const pk_event *e);
void     pk_wait_deadline_fire(pk_kernel *k, const pk_event *e);
void     pk_wait_deadline_dropped(pk_kernel *k);

/* pk_host.c: what a Python body's read, wait or socket write, run by the
 * script instructions' code, leaves for the body (the results a script
 * drops), in a record per thread made on first use and freed when the
 * thread ends (pk_hio_thread_gone) or the kernel goes (pk_hio_fini).
 * `kind` says which fields hold the result (PK_HIO_*); the upcall
 * (csrc/py/pk_upcall.c) turns it into the value the body's yield gives. */
#define PK_HIO_NONE    0
#define PK_HIO_MSG     1   /* a channel message: data, handles, txid     */
#define PK_HIO_BYTES   2   /* a socket's bytes: data                     */
#define PK_HIO_PACKET  3   /* a port's packet: key, ptype, signals       */
#define PK_HIO_SIGNALS 4   /* wait_one: the signals observed             */
#define PK_HIO_PENDING 5   /* wait_many: items[i].pending                */
#define PK_HIO_COUNT   6   /* a socket write's bytes, futex_wake's woken: count */
/* x[HOST_A] of a host thread's operation, beyond a script instruction's a */
#define PK_HOST_COST (1ull << 40)     /* CHAN_WRITE: a channel write the host did; its cost */
#define PK_HOST_MANY 1u               /* OBJ_WAIT: ctx.wait_many, the items in the record */
#define PK_HOST_REQUEUE (1ull << 40)  /* FUTEX_WAKE: a requeue to the record's key, count */
typedef struct pk_hio {
    uint32_t kind;         /* PK_HIO_*                                   */
    uint32_t txid;         /* the message's transaction id               */
    uint32_t rtxid;        /* a call's reply id (0: a plain read)        */
    uint32_t nbytes, nhandles;
    uint32_t signals, ptype;
    uint64_t key, count;
    uint8_t *data;         /* nbytes (out), or a socket write's bytes (in) */
    uint32_t cap;          /* bytes allocated at data                    */
    uint32_t n;            /* wait_many: items                           */
    uint32_t handles[PK_CHAN_MAX_HANDLES];
    pk_wait_item items[PK_WAIT_MANY_MAX];
} pk_hio;
pk_hio  *pk_hio_of(pk_kernel *k, const pk_thread *t);          /* NULL: none, or not a host body */
pk_hio  *pk_hio_make(pk_kernel *k, const pk_thread *t);        /* NULL: no memory */
uint8_t *pk_hio_room(pk_kernel *k, pk_hio *h, uint32_t n);    /* data with room for n; NULL: no memory */
void     pk_hio_thread_gone(pk_kernel *k, pk_thread *t);
void     pk_hio_fini(pk_kernel *k);
int      pk_wait_host_many(pk_kernel *k, pk_thread *t, pk_regs *r, pk_hio *h);
/* Is host operation op (x[HOST_A] = a) one that may wait, run by the
 * script instructions' code: a read, a wait on one or several handles, a
 * socket write?  Its value then comes from the thread's record. */
bool     pk_host_waiting_op(uint64_t op, uint64_t a);
/* The code by which the errors of thread t's operation op name it: op,
 * | PK_HOST_NAME_ALT (pk_api.h) for a call or a requeue. */
uint32_t pk_host_op_name(pk_kernel *k, const pk_thread *t, uint64_t op, uint64_t a);

/* pk_obj_snap.c: a restored kernel's events are loaded (the core's
 * event loader calls it): the deadline events are counted again */
void     pk_obj_snap_events_loaded(pk_kernel *k);

/* script instructions on objects (pk_chan.c), run by pk_script.c: an
 * action (PK_ACT_*) or -1 to go on with the next instruction */
int      pk_script_obj_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op);
pk_time  pk_obj_op_cost(pk_kernel *k, pk_thread *t, uint64_t slot, bool woke);
#endif
