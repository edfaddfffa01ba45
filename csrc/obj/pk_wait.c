/* pk_wait.c - signals and waiting on kernel objects (docs/objects.md).
 *
 * A thread that waits owns a wait record (pk_wait) naming it and its
 * deadline, and one wait node (pk_wnode) per object it waits on, linked
 * into that object's circular list of waiters.  The thread leaves its CPU
 * in state PK_TS_WAITING through the dispatcher's PK_ACT_WAIT; nothing
 * else of the dispatcher knows about objects.  A signal change that
 * asserts a wanted signal wakes the thread at once (pk_thread_make_ready);
 * a deadline is an event of kind PK_EV_WAIT_DEADLINE whose argument is
 * (seq << 32 | wait id), stale once that wait has ended.  Closing the
 * handle a wait was made through cancels the wait (CANCELED).
 *
 * A thread frees its record when woken and finds the status in
 * x[PK_REG_STATUS]; its instruction runs again (a Python-bodied thread's
 * too: its operations are the script instructions, pk_host.c, whose
 * host-I/O record gets the signals the wait saw). */
#include <string.h>
#include "pk_core.h"


static int items_resolve(pk_kernel *k, uint32_t pid, const pk_wait_item *items, uint32_t n,
                         uint32_t *objs);

/* A fresh wait record for thread t with n nodes (unlinked), or 0. */
static PK_ALWAYS_INLINE uint32_t wait_new(pk_kernel *k, const pk_thread *t, uint32_t n, uint64_t deadline) {
    pk_objects *o = k->objs;
    uint32_t w = o->free_wait;
    if (w) o->free_wait = o->waits[w].next_free;
    else {
        if (pk_vec_grow(k, (void **)&o->waits, &o->waits_cap, o->nwaits + 1, sizeof(pk_wait))) return 0;
        w = o->nwaits++;
    }
    pk_wait *wr = &o->waits[w];
    memset(wr, 0, sizeof *wr);
    wr->tid = t->tid;
    wr->pid = t->pid;
    wr->seq = ++o->wait_seq;
    wr->deadline = deadline;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t x = o->free_node;
        if (x) o->free_node = o->nodes[x].sib - 1;
        else {
            if (pk_vec_grow(k, (void **)&o->nodes, &o->nodes_cap, o->nnodes + 1, sizeof(pk_wnode))) {
                wr->status = PK_ERR_NO_MEMORY;   /* the caller frees it */
                return w;
            }
            x = o->nnodes++;
        }
        o->nodes[x] = (pk_wnode){ 0, 0, 0, 0, 0, 0, w, wr->first };
        wr->first = x + 1;
        wr->n++;
    }
    return w;
}

/* Unlink node x from its object's waiters. */
static PK_ALWAYS_INLINE void node_unlink(pk_kernel *k, uint32_t x) {
    pk_wnode *nd = &k->objs->nodes[x];
    pk_obj *ob = pk_obj_at(k, nd->obj);
    if (nd->next == x + 1) ob->waiters = 0;            /* the only one */
    else {
        k->objs->nodes[nd->next - 1].prev = nd->prev;
        k->objs->nodes[nd->prev - 1].next = nd->next;
        if (ob->waiters == x + 1) ob->waiters = nd->next;
    }
}

/* Link node x at the tail of its object's waiters. */
static PK_ALWAYS_INLINE void node_link(pk_kernel *k, uint32_t x) {
    pk_wnode *nd = &k->objs->nodes[x];
    pk_obj *ob = pk_obj_at(k, nd->obj);
    if (!ob->waiters) { nd->next = nd->prev = x + 1; ob->waiters = x + 1; return; }
    pk_wnode *head = &k->objs->nodes[ob->waiters - 1];
    nd->next = ob->waiters;
    nd->prev = head->prev;
    k->objs->nodes[head->prev - 1].next = x + 1;
    head->prev = x + 1;
}

/* Free wait record w and its nodes (unlinked first if linked). */
static PK_ALWAYS_INLINE void wait_free(pk_kernel *k, uint32_t w) {
    pk_objects *o = k->objs;
    pk_wait *wr = &o->waits[w];
    for (uint32_t x = wr->first; x; ) {
        uint32_t next = o->nodes[x - 1].sib;
        if (wr->linked) node_unlink(k, x - 1);
        o->nodes[x - 1].sib = o->free_node + 1;
        o->free_node = x - 1;
        x = next;
    }
    wr->linked = 0;
    wr->seq = 0;
    wr->port = 0;
    wr->next_free = o->free_wait;
    o->free_wait = w;
}

/* Fill each node's pending signals; true if one is satisfied. */
static PK_ALWAYS_INLINE bool wait_poll(pk_kernel *k, pk_wait *wr) {
    bool hit = false;
    for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib) {
        pk_wnode *nd = &k->objs->nodes[x - 1];
        nd->pending = pk_obj_at(k, nd->obj)->signals;
        hit |= (nd->pending & nd->waitfor) != 0;
    }
    return hit;
}

/* Waiters of wait w's priority-inheritance mutexes changed (pk_pi.c). */
static void pi_changed(pk_kernel *k, const pk_wait *wr) {
    for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib)
        if (pk_obj_at(k, k->objs->nodes[x - 1].obj)->fflags & PK_FUTEX_PI)
            pk_pi_waiters_changed(k, k->objs->nodes[x - 1].obj);
}

/* A Python body's wait run as an instruction ended: the signals each
 * node saw (wait_poll, just now) go into its host-I/O record, for the
 * body (pk_host.c): wait_one's, or each of wait_many's items'. */
static void host_seen(pk_kernel *k, const pk_thread *t, const pk_wait *wr) {
    pk_hio *h = pk_hio_of(k, t);
    if (!h) return;
    uint32_t i = wr->n;                                 /* nodes are chained in reverse */
    for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib) {
        i--;
        if (h->kind == PK_HIO_PENDING && i < h->n) h->items[i].pending = k->objs->nodes[x - 1].pending;
        else if (h->kind == PK_HIO_SIGNALS) h->signals = k->objs->nodes[x - 1].pending;
    }
}

/* End wait w with `status` and make its thread ready. */
static PK_ALWAYS_INLINE void wait_end(pk_kernel *k, uint32_t w, int status) {
    pk_wait *wr = &k->objs->waits[w];
    wait_poll(k, wr);
    for (uint32_t x = wr->first; x; x = k->objs->nodes[x - 1].sib) node_unlink(k, x - 1);
    wr->linked = 0;
    wr->done = 1;
    wr->status = status;
    if (PK_UNLIKELY(k->objs->pi)) pi_changed(k, wr);
    if (wr->port) {                       /* asynchronous: a packet, not a thread */
        uint32_t port = wr->port, pending = k->objs->nodes[wr->first - 1].pending;
        uint64_t key = wr->key;
        wait_free(k, w);
        k->objs->packets--;               /* the promised packet: queued now, or never */
        if (status == PK_OK) pk_port_packet(k, port, key, PK_PACKET_SIGNAL, pending, status);
        pk_obj_unref(k, port);            /* the wait's reference (reaped by the caller) */
        return;
    }
    k->objs->st.waiting--;
    pk_thread *t = pk_thread_at(k, wr->tid);
    if (status != PK_OK)                  /* OK: the instruction runs again and says */
        t->regs.x[PK_REG_STATUS] = (uint64_t)(int64_t)status;
    if (PK_UNLIKELY(t->kind == PK_BODY_HOST)) host_seen(k, t, wr);
    wait_free(k, w);
    t->regs.x[PK_REG_WAIT] = 0;
    t->regs.flags |= status == PK_OK ? PK_RF_WAIT_OK : PK_RF_WAIT_FAILED;
    t->regs.pc--;                                  /* the instruction runs again */
    t->blocked += k->now - t->since;
    pk_thread_make_ready(k, t, PK_ENQ_WAKE);
}

/* Signals `rise` of object ob were just asserted and it has waiters
 * (pk_obj_signal_change): those wanting one wake, in the order they began
 * waiting. */
void pk_obj_signal_wake(pk_kernel *k, pk_obj *ob, uint32_t rise) {
    while (ob->waiters) {                         /* a wake unlinks nodes: rescan */
        uint32_t x = ob->waiters, hit = 0;
        do {
            const pk_wnode *nd = &k->objs->nodes[x - 1];
            if (nd->waitfor & rise) { hit = x; break; }
            x = nd->next;
        } while (x != ob->waiters);
        if (!hit) break;
        wait_end(k, k->objs->nodes[hit - 1].wait, PK_OK);
    }
}

/* Handle h of process pid was closed: its waits on obj are CANCELED. */
void pk_wait_cancel_handle(pk_kernel *k, uint32_t obj, uint32_t pid, uint32_t h) {
    pk_obj *ob = pk_obj_at(k, obj);
    for (bool again = true; again && ob->waiters; ) {
        again = false;
        uint32_t x = ob->waiters;
        do {
            pk_wnode *nd = &k->objs->nodes[x - 1];
            if (nd->handle == h && k->objs->waits[nd->wait].pid == pid) {
                wait_end(k, nd->wait, PK_ERR_CANCELED);
                again = true;
                break;
            }
            x = nd->next;
        } while (x != ob->waiters);
    }
}

/* Thread t ends: its wait record (if any) goes. */
void pk_wait_thread_gone(pk_kernel *k, pk_thread *t) {
    uint32_t w = (uint32_t)t->regs.x[PK_REG_WAIT] - 1;
    pk_wait *wr = &k->objs->waits[w];
    uint32_t pi = k->objs->pi && wr->linked && wr->n == 1 ? k->objs->nodes[wr->first - 1].obj : 0;
    if (wr->linked) k->objs->st.waiting--;
    wait_free(k, w);
    t->regs.x[PK_REG_WAIT] = 0;
    if (pi && (pk_obj_at(k, pi)->fflags & PK_FUTEX_PI)) pk_pi_waiters_changed(k, pi);
}

/* Link wait w into its objects' queues and arm its deadline; the thread
 * then leaves the CPU (PK_ACT_WAIT). */
static PK_ALWAYS_INLINE int wait_park(pk_kernel *k, uint32_t w) {
    pk_objects *o = k->objs;
    pk_wait *wr = &o->waits[w];
    if (wr->deadline != PK_FOREVER) {
        uint64_t want = (uint64_t)k->threads.count + 9 + o->deadlines;
        if (want > k->evq.cap && pk_evq_reserve(k, &k->evq, (uint32_t)(want - k->evq.n)))
            return PK_ERR_NO_MEMORY;
        pk_evq_post(k, &k->evq, wr->deadline, PK_EV_WAIT_DEADLINE, ((uint64_t)wr->seq << 32) | w);
        o->deadlines++;
    }
    for (uint32_t x = wr->first; x; x = o->nodes[x - 1].sib) node_link(k, x - 1);
    wr->linked = 1;
    o->st.waiting++;
    if (PK_UNLIKELY(o->pi)) pi_changed(k, wr);
    return PK_OK;
}

/* A new wait record of n nodes for thread t until deadline, or 0 if
 * there is no memory for it; the caller fills its nodes. */
static PK_ALWAYS_INLINE uint32_t wait_alloc(pk_kernel *k, const pk_thread *t, uint32_t n,
                                            uint64_t deadline) {
    uint32_t w = wait_new(k, t, n, deadline);
    if (w && k->objs->waits[w].status) {
        wait_free(k, w);
        return 0;
    }
    return w;
}

/* The thread on the CPU with registers r begins wait w (its nodes
 * filled): PK_ACT_WAIT, or the status that refused it (w is then freed). */
static PK_ALWAYS_INLINE int wait_enter(pk_kernel *k, pk_regs *r, uint32_t w) {
    int st = wait_park(k, w);
    if (st != PK_OK) {
        wait_free(k, w);
        return st;
    }
    r->x[PK_REG_WAIT] = w + 1;
    return PK_ACT_WAIT;
}

/* Script thread t (on the CPU, registers r) waits for `signals` on obj
 * through handle h: PK_ACT_WAIT, or -1 with x[STATUS] set if it cannot
 * (TIMED_OUT at once, NO_MEMORY).  The deadline comes from x[TIMEOUT]. */
int pk_wait_script(pk_kernel *k, pk_thread *t, pk_regs *r, uint32_t obj, uint32_t h,
                   uint32_t signals) {
    uint64_t to = r->x[PK_REG_TIMEOUT], deadline = PK_FOREVER;
    if (to >> 63) deadline = to & ~(1ull << 63);
    else if (to) {
        deadline = to - 1 > PK_MAX_TIME - k->now ? PK_FOREVER : k->now + to - 1;
        if (deadline != PK_FOREVER) r->x[PK_REG_TIMEOUT] = deadline | (1ull << 63);
    }
    int st = PK_ERR_TIMED_OUT;
    if (deadline > k->now) {
        uint32_t w = wait_alloc(k, t, 1, deadline);
        if (!w) {
            st = PK_ERR_NO_MEMORY;
        } else {
            pk_wnode *nd = &k->objs->nodes[k->objs->waits[w].first - 1];
            nd->obj = obj; nd->handle = h; nd->waitfor = signals;
            if ((st = wait_enter(k, r, w)) == PK_ACT_WAIT) return st;
        }
    }
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
    return -1;
}

/* Host thread t's wait on several handles (ctx.wait_many; the items in
 * its host-I/O record h), run as an instruction (pk_host.c): done at once
 * (-1, the status in x[STATUS], the signals in the items) if one is
 * asserted, or on a bad handle, or when the deadline (x[TIMEOUT], as
 * pk_wait_script's) has passed; else PK_ACT_WAIT, and it runs again when
 * woken. */
int pk_wait_host_many(pk_kernel *k, pk_thread *t, pk_regs *r, pk_hio *h) {
    uint64_t woke = r->flags & (PK_RF_WAIT_FAILED | PK_RF_WAIT_OK);
    int st;
    if (woke) {                                   /* the wait ended (wait_end) */
        r->flags &= ~(uint64_t)(PK_RF_WAIT_FAILED | PK_RF_WAIT_OK);
        r->x[PK_REG_TIMEOUT] = 0;
        if (woke & PK_RF_WAIT_FAILED) return -1;  /* TIMED_OUT or CANCELED in x[STATUS] */
        for (uint32_t i = 0; i < h->n; i++) {     /* a parent that saw its child end reaps it */
            pk_hent *e;
            if ((h->items[i].pending & h->items[i].waitfor & PK_SIG_TERMINATED)
                && pk_handle_get(k, t->pid, h->items[i].handle, &e) == PK_OK)
                pk_ptree_handle_waited(k, t->pid, e->obj);
        }
        st = PK_OK;
    } else if ((st = pk_wait_check(k, t->pid, h->items, h->n)) == PK_ERR_SHOULD_WAIT) {
        uint64_t to = r->x[PK_REG_TIMEOUT];
        uint64_t deadline = to >> 63 ? to & ~(1ull << 63) : PK_FOREVER;
        uint32_t objs[PK_WAIT_MANY_MAX];
        st = items_resolve(k, t->pid, h->items, h->n, objs);
        if (!st && deadline <= k->now) st = PK_ERR_TIMED_OUT;
        if (!st) {
            uint32_t w = wait_alloc(k, t, h->n, deadline);
            if (!w) {
                st = PK_ERR_NO_MEMORY;
            } else {
                uint32_t i = h->n;                /* nodes are chained in reverse */
                for (uint32_t x = k->objs->waits[w].first; x; x = k->objs->nodes[x - 1].sib) {
                    pk_wnode *nd = &k->objs->nodes[x - 1];
                    i--;
                    nd->obj = objs[i]; nd->handle = h->items[i].handle; nd->waitfor = h->items[i].waitfor;
                }
                if ((st = wait_enter(k, r, w)) == PK_ACT_WAIT) return st;
            }
        }
    }
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
    return -1;
}

/* End the first n waits queued on obj (futex waiters, FIFO) with OK;
 * returns how many. */
uint32_t pk_wait_wake_n(pk_kernel *k, uint32_t obj, uint32_t n) {
    pk_obj *ob = pk_obj_at(k, obj);
    uint32_t done = 0;
    while (done < n && ob->waiters) {
        wait_end(k, k->objs->nodes[ob->waiters - 1].wait, PK_OK);
        done++;
    }
    return done;
}

/* Move up to n waiters of futex `from` to futex `to`, in order. */
uint32_t pk_wait_requeue(pk_kernel *k, uint32_t from, uint32_t to, uint32_t n) {
    pk_obj *ob = pk_obj_at(k, from);
    uint32_t moved = 0;
    while (moved < n && ob->waiters) {
        uint32_t x = ob->waiters - 1;
        node_unlink(k, x);
        k->objs->nodes[x].obj = to;
        node_link(k, x);
        moved++;
    }
    if (moved && (pk_obj_at(k, to)->fflags & PK_FUTEX_PI)) pk_pi_waiters_changed(k, to);
    return moved;
}

/* An asynchronous wait of process pid on obj (through handle h) for
 * `signals`, whose packet goes to `port` with `key` (Zircon's
 * object_wait_async, one shot).  If a signal is already asserted the
 * packet is queued at once. */
int pk_wait_async_new(pk_kernel *k, uint32_t pid, uint32_t obj, uint32_t h, uint32_t signals,
                      uint32_t port, uint64_t key) {
    pk_objects *o = k->objs;
    uint32_t sig = pk_obj_at(k, obj)->signals;
    if (sig & signals) { pk_port_packet(k, port, key, PK_PACKET_SIGNAL, sig, PK_OK); return PK_OK; }
    pk_thread fake;                               /* wait_new wants a tid and pid */
    fake.tid = 0xffffffffu;
    fake.pid = pid;
    uint32_t w = wait_new(k, &fake, 1, PK_FOREVER);
    if (!w) return PK_ERR_NO_MEMORY;
    if (o->waits[w].status) { wait_free(k, w); return PK_ERR_NO_MEMORY; }
    pk_wnode *nd = &o->nodes[o->waits[w].first - 1];
    nd->obj = obj; nd->handle = h; nd->waitfor = signals;
    o->waits[w].port = port;
    o->waits[w].key = key;
    pk_obj_at(k, port)->refs++;
    node_link(k, o->waits[w].first - 1);
    o->waits[w].linked = 1;
    o->packets++;                                 /* its packet, promised */
    return PK_OK;
}

bool pk_wait_deadline_stale(pk_kernel *k, const pk_event *e) {
    uint32_t w = (uint32_t)e->arg, seq = (uint32_t)(e->arg >> 32);
    const pk_wait *wr = &k->objs->waits[w];
    return wr->seq != seq || !wr->linked;
}

void pk_wait_deadline_dropped(pk_kernel *k) { k->objs->deadlines--; }

void pk_wait_deadline_fire(pk_kernel *k, const pk_event *e) {
    k->objs->deadlines--;
    wait_end(k, (uint32_t)e->arg, PK_ERR_TIMED_OUT);
}

/* ---- entry points ---------------------------------------------------------- */

/* Look up items' handles for pid (WAIT needed); obj ids into objs[]. */
static int items_resolve(pk_kernel *k, uint32_t pid, const pk_wait_item *items, uint32_t n,
                         uint32_t *objs) {
    if (!items || n == 0 || n > PK_WAIT_MANY_MAX) return PK_ERR_INVALID_ARGS;
    for (uint32_t i = 0; i < n; i++) {
        pk_hent *e;
        int s = pk_handle_use(k, pid, items[i].handle, PK_RIGHT_WAIT, 0, &e);
        if (s) return s;
        objs[i] = e->obj;
    }
    return PK_OK;
}

int pk_wait_check(pk_kernel *k, uint32_t pid, pk_wait_item *items, uint32_t n) {
    if (!k || pid >= k->procs.count) return PK_ERR_INVALID_ARGS;
    uint32_t objs[PK_WAIT_MANY_MAX];
    int s = items_resolve(k, pid, items, n, objs);
    if (s) return s;
    bool hit = false;
    for (uint32_t i = 0; i < n; i++) {
        items[i].pending = pk_obj_at(k, objs[i])->signals;
        hit |= (items[i].pending & items[i].waitfor) != 0;
    }
    for (uint32_t i = 0; hit && i < n; i++)        /* a parent that saw its child end reaps it */
        if (items[i].pending & items[i].waitfor & PK_SIG_TERMINATED)
            pk_ptree_handle_waited(k, pid, objs[i]);
    return hit ? PK_OK : PK_ERR_SHOULD_WAIT;
}

/* user-settable signals of an object: USER_0..7, and SIGNALED for events */
static uint32_t settable(const pk_obj *ob) {
    return PK_SIG_USER_ALL | (ob->kind == PK_OBJ_EVENT || ob->kind == PK_OBJ_EVENTPAIR ? PK_SIG_SIGNALED : 0);
}

static int signal_common(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t clear, uint32_t set,
                         bool peer) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    pk_hent *e;
    if ((s = pk_handle_use(k, pid, h, peer ? PK_RIGHT_SIGNAL_PEER : PK_RIGHT_SIGNAL, 0, &e))) return s;
    pk_obj *ob = pk_obj_at(k, e->obj);
    if (peer && ob->kind != PK_OBJ_CHANNEL && ob->kind != PK_OBJ_EVENTPAIR) return PK_ERR_NOT_SUPPORTED;
    if ((clear | set) & ~settable(ob)) return PK_ERR_INVALID_ARGS;
    uint32_t id = e->obj;
    if (peer) {
        if (!ob->peer) return PK_ERR_PEER_CLOSED;
        id = ob->peer;
    }
    pk_obj_signal_change(k, id, clear, set);
    return PK_OK;
}

int pk_object_signal(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t clear, uint32_t set) {
    return signal_common(k, pid, h, clear, set, false);
}

int pk_object_signal_peer(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t clear, uint32_t set) {
    return signal_common(k, pid, h, clear, set, true);
}
