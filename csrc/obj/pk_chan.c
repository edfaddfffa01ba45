/* pk_chan.c - channels, events and event pairs, and the script
 * instructions that use them (docs/objects.md).
 *
 * A channel is two endpoint objects, each the other's peer.  A message
 * written through one endpoint is queued on its peer, which reads it; a
 * non-empty queue asserts READABLE on the reader.  Handles sent in a
 * message leave the writer's table at once, whether or not the write
 * succeeds, and travel as references (pk_xfer) until a read installs
 * them in the reader's table.  Message records are recycled. */
#include <string.h>
#include "pk_core.h"

/* A new object of kind with one reference, or -1. */
static int64_t obj_made(pk_kernel *k, uint8_t kind) {
    int64_t id = pk_obj_new(k, kind);
    if (id >= 0) pk_obj_at(k, (uint32_t)id)->refs = 1;
    return id;
}

/* Give process pid a new object (pair: two peers) with `rights`. */
static int make_objects(pk_kernel *k, uint32_t pid, uint8_t kind, uint32_t rights, bool pair,
                        uint32_t *h0, uint32_t *h1) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!h0 || (pair && !h1)) return PK_ERR_INVALID_ARGS;
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    int64_t a = obj_made(k, kind), b = pair ? obj_made(k, kind) : 0;
    s = a < 0 || b < 0 ? PK_ERR_NO_MEMORY : PK_OK;
    if (!s && pair) {
        pk_obj *oa = pk_obj_at(k, (uint32_t)a), *ob = pk_obj_at(k, (uint32_t)b);
        oa->peer = (uint32_t)b;
        ob->peer = (uint32_t)a;
        if (kind == PK_OBJ_CHANNEL) oa->signals = ob->signals = PK_SIG_WRITABLE;
    }
    bool got_a = !s && pk_handle_add(k, x, (uint32_t)a, rights, h0) == PK_OK;
    bool got_b = got_a && pair && pk_handle_add(k, x, (uint32_t)b, rights, h1) == PK_OK;
    if (got_a && (got_b || !pair)) return PK_OK;
    if (got_a) { pk_hent *e; pk_handle_get(k, pid, *h0, &e); pk_handle_drop(k, x, e, pid); }
    else if (a >= 0) pk_obj_unref(k, (uint32_t)a);
    if (b > 0) pk_obj_unref(k, (uint32_t)b);
    pk_obj_reap(k);
    return PK_ERR_NO_MEMORY;
}

/* default rights, as Zircon's ZX_DEFAULT_*_RIGHTS (zircon/rights.h) */
#define RIGHTS_BASIC (PK_RIGHT_TRANSFER | PK_RIGHT_DUPLICATE | PK_RIGHT_WAIT | PK_RIGHT_INSPECT)
#define RIGHTS_CHANNEL ((RIGHTS_BASIC & ~PK_RIGHT_DUPLICATE) | PK_RIGHT_READ | PK_RIGHT_WRITE \
                        | PK_RIGHT_SIGNAL | PK_RIGHT_SIGNAL_PEER)
#define RIGHTS_EVENT (RIGHTS_BASIC | PK_RIGHT_SIGNAL)
#define RIGHTS_EVENTPAIR (RIGHTS_BASIC | PK_RIGHT_SIGNAL | PK_RIGHT_SIGNAL_PEER)

int pk_channel_create(pk_kernel *k, uint32_t pid, uint32_t *h0, uint32_t *h1) {
    return make_objects(k, pid, PK_OBJ_CHANNEL, RIGHTS_CHANNEL, true, h0, h1);
}

int pk_event_create(pk_kernel *k, uint32_t pid, uint32_t *out) {
    return make_objects(k, pid, PK_OBJ_EVENT, RIGHTS_EVENT, false, out, NULL);
}

int pk_eventpair_create(pk_kernel *k, uint32_t pid, uint32_t *h0, uint32_t *h1) {
    return make_objects(k, pid, PK_OBJ_EVENTPAIR, RIGHTS_EVENTPAIR, true, h0, h1);
}

/* ---- messages ------------------------------------------------------------ */

static pk_msg *msg_new(pk_kernel *k) {
    pk_objects *o = k->objs;
    pk_msg *m = o->free_msgs;
    if (m) { o->free_msgs = m->next; return m; }
    return pk_alloc(k, sizeof *m);
}

/* Return m to the free list; its handles must have been moved or dropped
 * (inline here: every read recycles one). */
static inline void msg_recycle(pk_kernel *k, pk_msg *m) {
    if (m->data) pk_free(k, m->data, m->nbytes);
    if (m->handles) pk_free(k, m->handles, m->nhandles * sizeof(pk_xfer));
    memset(m, 0, sizeof *m);
    m->next = k->objs->free_msgs;
    k->objs->free_msgs = m;
}

/* Return m to the free list; its handles must have been moved or dropped. */
void pk_msg_free(pk_kernel *k, pk_msg *m) { msg_recycle(k, m); }

/* Endpoint o (id) is destroyed: its queued messages are discarded and the
 * handles inside them closed. */
void pk_chan_destroy(pk_kernel *k, pk_obj *o, uint32_t id) {
    (void)id;
    while (o->head) {
        pk_msg *m = o->head;
        o->head = m->next;
        for (uint32_t i = 0; i < m->nhandles; i++) pk_obj_unref(k, m->handles[i].obj);
        k->objs->st.messages--;
        k->objs->qbytes -= m->nbytes;
        pk_msg_free(k, m);
    }
    o->tail = NULL;
    o->queued = 0;
}

/* Queue a message on the peer of endpoint e's object; the caller has
 * checked WRITE.  xf (nx handle references) is owned by the message on
 * success; on failure the references are dropped. */
static int enqueue(pk_kernel *k, pk_obj *ob, const uint8_t *data, uint32_t nbytes,
                   pk_xfer *xf, uint32_t nx, uint32_t txid) {
    pk_objects *os = k->objs;
    int st = ob->peer ? PK_OK : PK_ERR_PEER_CLOSED;
    if (!st && PK_UNLIKELY(pk_limit_over(os->st.messages + os->packets, 1, k->cfg.max_messages)))
        st = pk_limit_hit(k, PK_LIMIT_MESSAGES);
    else if (!st && PK_UNLIKELY(pk_limit_over(os->qbytes, nbytes, k->cfg.max_message_bytes)))
        st = pk_limit_hit(k, PK_LIMIT_MESSAGE_BYTES);
    pk_msg *m = st ? NULL : msg_new(k);
    if (!st && !m) st = PK_ERR_NO_MEMORY;
    if (!st && data && nbytes) {
        m->data = pk_alloc(k, nbytes);
        if (!m->data) st = PK_ERR_NO_MEMORY;
        else memcpy(m->data, data, nbytes);
    }
    if (!st && nx) {
        m->handles = pk_alloc(k, nx * sizeof(pk_xfer));
        if (!m->handles) st = PK_ERR_NO_MEMORY;
        else memcpy(m->handles, xf, nx * sizeof(pk_xfer));
    }
    if (st) {
        if (m) { if (m->handles) m->nhandles = nx; if (m->data) m->nbytes = nbytes; pk_msg_free(k, m); }
        for (uint32_t i = 0; i < nx; i++) pk_obj_unref(k, xf[i].obj);
        return st;
    }
    m->nbytes = nbytes;
    m->nhandles = nx;
    m->txid = txid;
    m->next = NULL;
    uint32_t pid = ob->peer;
    pk_obj *peer = pk_obj_at(k, pid);
    if (peer->tail) peer->tail->next = m; else peer->head = m;
    peer->tail = m;
    peer->queued++;
    PK_TRACE_OP(k, PK_TR_SEND, 0, (uint64_t)pid << 32 | nbytes);
    os->st.messages++;
    os->st.written++;
    os->qbytes += nbytes;
    if (peer->queued == 1) pk_obj_signal_change(k, pid, 0, PK_SIG_READABLE);
    return PK_OK;
}

int pk_channel_write(pk_kernel *k, uint32_t pid, uint32_t h, const uint8_t *data, uint32_t nbytes,
                     const uint32_t *handles, uint32_t nhandles, uint32_t txid) {
    int st = pk_caller_ok(k, pid);
    if (st) return st;
    if (nhandles && !handles) return PK_ERR_INVALID_ARGS;
    pk_hent *ch;                                  /* NULL: h names no handle */
    st = pk_handle_use(k, pid, h, PK_RIGHT_WRITE, PK_OBJ_KIND(PK_OBJ_CHANNEL), &ch);
    pk_obj *ob = ch ? pk_obj_at(k, ch->obj) : NULL;
    if (!st && (nbytes > PK_CHAN_MAX_BYTES || nhandles > PK_CHAN_MAX_HANDLES))
        st = PK_ERR_OUT_OF_RANGE;
    pk_pext *x = pk_pext_of(k, pid, false);
    pk_xfer xf[PK_CHAN_MAX_HANDLES];
    uint32_t nx = 0;
    for (uint32_t i = 0; i < nhandles; i++) {   /* every handle sent leaves the table */
        pk_hent *e;
        int s2 = PK_OK;
        if (ch && handles[i] == h) s2 = PK_ERR_NOT_SUPPORTED;
        else if (pk_handle_get(k, pid, handles[i], &e)) s2 = PK_ERR_BAD_HANDLE;
        else {
            s2 = pk_hent_check(k, e, PK_RIGHT_TRANSFER, 0);
            if (!s2 && nx < PK_CHAN_MAX_HANDLES) {
                xf[nx++] = (pk_xfer){ e->obj, e->rights };
                pk_obj_at(k, e->obj)->refs++;   /* the message's reference */
            }
            pk_handle_drop(k, x, e, pid);       /* the table's goes */
        }
        if (!st) st = s2;
    }
    if (!st) st = enqueue(k, ob, data, nbytes, xf, nx, txid);
    else for (uint32_t i = 0; i < nx; i++) pk_obj_unref(k, xf[i].obj);
    pk_obj_reap(k);
    return st;
}

uint32_t pk_channel_txid(pk_kernel *k) {
    if (!k || (!k->objs && pk_objects_init(k))) return 0;
    if (++k->objs->txid >= 0x80000000u) k->objs->txid = 1;
    return 0x80000000u | k->objs->txid;      /* kernel-made ids have the top bit */
}

/* The message to read from ob: the first, or the first with txid. */
static pk_msg *msg_find(pk_obj *ob, uint32_t txid, pk_msg **prev) {
    *prev = NULL;
    for (pk_msg *m = ob->head; m; *prev = m, m = m->next)
        if (!txid || m->txid == txid) return m;
    return NULL;
}

/* Take message m (after prev) off ob's queue. */
static void msg_unlink(pk_kernel *k, uint32_t id, pk_obj *ob, pk_msg *m, pk_msg *prev) {
    if (prev) prev->next = m->next; else ob->head = m->next;
    if (ob->tail == m) ob->tail = prev;
    ob->queued--;
    k->objs->st.messages--;
    k->objs->qbytes -= m->nbytes;
    k->objs->st.read++;
    if (!ob->queued) pk_obj_signal_change(k, id, PK_SIG_READABLE, 0);
}

/* Read for process pid through entry e (READ checked here). */
static PK_ALWAYS_INLINE int chan_read(pk_kernel *k, uint32_t pid, pk_hent *e, uint32_t txid, uint8_t *data,
                     uint32_t bcap, uint32_t *handles, uint32_t hcap, pk_msg_info *out) {
    uint32_t id = e->obj;
    pk_obj *ob = pk_obj_at(k, id);
    int s = pk_hent_check(k, e, PK_RIGHT_READ, PK_OBJ_KIND(PK_OBJ_CHANNEL));
    if (s) return s;
    pk_msg *prev, *m = msg_find(ob, txid, &prev);
    if (!m) return ob->peer ? PK_ERR_SHOULD_WAIT : PK_ERR_PEER_CLOSED;
    if (out) *out = (pk_msg_info){ m->nbytes, m->nhandles, m->txid, m->data == NULL };
    if (m->nbytes > bcap || m->nhandles > hcap) return PK_ERR_BUFFER_TOO_SMALL;
    if (m->nhandles) {
        pk_pext *x = pk_pext_of(k, pid, true);
        if (!x) return PK_ERR_NO_MEMORY;
        for (uint32_t i = 0; i < m->nhandles; i++) {
            if (pk_handle_add(k, x, m->handles[i].obj, m->handles[i].rights, &handles[i]) == PK_OK) continue;
            for (uint32_t j = 0; j < i; j++) {      /* undo: the message stays */
                pk_hent *u;
                pk_handle_get(k, pid, handles[j], &u);
                pk_obj_at(k, u->obj)->refs++;
                pk_handle_drop(k, x, u, pid);
            }
            return PK_ERR_NO_MEMORY;
        }
    }
    if (data && m->nbytes) {
        if (m->data) memcpy(data, m->data, m->nbytes);
        else memset(data, 0, m->nbytes);
    }
    PK_TRACE_OP(k, PK_TR_RECV, 0, (uint64_t)id << 32 | m->nbytes);
    msg_unlink(k, id, ob, m, prev);
    if (m->handles) {                 /* references moved to the table */
        pk_free(k, m->handles, m->nhandles * sizeof(pk_xfer));
        m->handles = NULL;
        m->nhandles = 0;
    }
    msg_recycle(k, m);
    return PK_OK;
}

int pk_channel_read(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t txid, uint8_t *data,
                    uint32_t bcap, uint32_t *handles, uint32_t hcap, pk_msg_info *out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if ((bcap && !data) || (hcap && !handles)) return PK_ERR_INVALID_ARGS;
    pk_hent *e;
    if ((s = pk_handle_get(k, pid, h, &e))) return s;
    return chan_read(k, pid, e, txid, data, bcap, handles, hcap, out);
}

/* A Python body's read through e (a channel, object ob; kind checked):
 * the message (or, for a call, the reply: the record's rtxid) goes into
 * the thread's host-I/O record, its handles into the table (pk_host.c).
 * A call whose reply is not there while another message is queued is
 * BAD_STATE: that message must be read first. */
static int host_read(pk_kernel *k, pk_thread *t, pk_hent *e, pk_obj *ob) {
    pk_hio *hr = pk_hio_of(k, t);
    if (!hr) return PK_ERR_INTERNAL;
    int s = pk_hent_check(k, e, PK_RIGHT_READ, 0);
    if (s) return s;
    pk_msg *prev, *m = msg_find(ob, hr->rtxid, &prev);
    if (!m) {
        if (!ob->peer) return PK_ERR_PEER_CLOSED;
        return hr->rtxid && ob->queued ? PK_ERR_BAD_STATE : PK_ERR_SHOULD_WAIT;
    }
    if (m->nbytes && !pk_hio_room(k, hr, m->nbytes)) return PK_ERR_NO_MEMORY;
    pk_msg_info info;
    s = chan_read(k, t->pid, e, hr->rtxid, hr->data, m->nbytes, hr->handles, PK_CHAN_MAX_HANDLES, &info);
    if (s) return s;
    hr->kind = PK_HIO_MSG;
    hr->nbytes = info.nbytes;
    hr->nhandles = info.nhandles;
    hr->txid = info.txid;
    return PK_OK;
}

/* ---- script instructions ---------------------------------------------------
 * They name handles by slot (op->a) in the thread's process table and
 * leave their status in x[PK_REG_STATUS].  A read that finds the channel
 * empty waits for READABLE or PEER_CLOSED; a WAIT waits for its signals.
 * Either runs again when woken: PK_RF_WAIT_OK says the wait was
 * satisfied (a WAIT is then done, a read tries again), PK_RF_WAIT_FAILED
 * that it ended in TIMED_OUT or CANCELED (the instruction gives up with
 * that status).  A TIMEOUT before it bounds the wait. */

static void op_done(pk_regs *r, int st) {
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
}

static PK_ALWAYS_INLINE int obj_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op) {
    if (op->code == PK_OP_TIMEOUT) { r->x[PK_REG_TIMEOUT] = op->b + 1; return -1; }
    uint64_t woke = r->flags & (PK_RF_WAIT_FAILED | PK_RF_WAIT_OK);
    if (woke) {                                   /* this instruction waited */
        r->flags &= ~(uint64_t)(PK_RF_WAIT_FAILED | PK_RF_WAIT_OK);
        if (woke & PK_RF_WAIT_FAILED) {
            r->x[PK_REG_TIMEOUT] = 0;
            r->flags &= ~(uint64_t)(PK_RF_COND_WAIT | PK_RF_PARTIAL);
            return -1;
        }
        if (op->code == PK_OP_WAIT || op->code == PK_OP_FUTEX_WAIT) {
            pk_hent *w = op->code == PK_OP_WAIT && (op->b & PK_SIG_TERMINATED) && k->objs
                       ? pk_handle_slot(k, t, op->a) : NULL;
            if (w) pk_ptree_handle_waited(k, t->pid, w->obj);   /* a parent reaps its child */
            op_done(r, PK_OK);
            return -1;
        }
    }
    if (op->code >= PK_OP_FUTEX_WAIT) return pk_script_futex_op(k, t, r, op, woke != 0);
    pk_hent *e = k->objs ? pk_handle_slot(k, t, op->a) : NULL;
    if (!e) { op_done(r, PK_ERR_BAD_HANDLE); return -1; }
    pk_obj *ob = pk_obj_at(k, e->obj);
    uint32_t h = ((e->gen & 0x7ffu) << 20) | (op->a + 1);
    int st;
    if (ob->kind == PK_OBJ_SOCKET && op->code != PK_OP_WAIT)
        return pk_script_socket_op(k, t, r, op, e, h);      /* pk_socket.c */
    if (ob->kind == PK_OBJ_PORT && op->code == PK_OP_CHAN_READ)
        return pk_script_port_read(k, t, r, e, h);           /* pk_port.c */
    switch (op->code) {
    case PK_OP_CHAN_WRITE:
        st = pk_hent_check(k, e, 0, PK_OBJ_KIND(PK_OBJ_CHANNEL));
        if (!st && op->b > PK_CHAN_MAX_BYTES) st = PK_ERR_OUT_OF_RANGE;
        if (!st) st = pk_hent_check(k, e, PK_RIGHT_WRITE, 0);
        if (!st) st = enqueue(k, ob, NULL, (uint32_t)op->b, NULL, 0, 0);
        pk_obj_reap(k);
        break;
    case PK_OP_CHAN_READ:
        if ((st = pk_hent_check(k, e, 0, PK_OBJ_KIND(PK_OBJ_CHANNEL)))) break;
        if (op->b) { st = PK_ERR_INVALID_ARGS; break; }     /* a byte count: sockets only */
        if (PK_UNLIKELY(t->kind == PK_BODY_HOST)) {         /* the message, for the body */
            st = host_read(k, t, e, ob);
            if (st == PK_ERR_SHOULD_WAIT)
                return pk_wait_script(k, t, r, e->obj, h, PK_SIG_READABLE | PK_SIG_PEER_CLOSED);
            break;
        }
        st = chan_read(k, t->pid, e, 0, NULL, PK_CHAN_MAX_BYTES, NULL, 0, NULL);
        if (st == PK_ERR_BUFFER_TOO_SMALL) {      /* it carries handles: take them */
            uint32_t hs[PK_CHAN_MAX_HANDLES];
            st = chan_read(k, t->pid, e, 0, NULL, PK_CHAN_MAX_BYTES, hs, PK_CHAN_MAX_HANDLES, NULL);
        }
        if (st == PK_ERR_SHOULD_WAIT)
            return pk_wait_script(k, t, r, e->obj, h, PK_SIG_READABLE | PK_SIG_PEER_CLOSED);
        break;
    default:                                     /* PK_OP_WAIT */
        st = pk_hent_check(k, e, PK_RIGHT_WAIT, 0);
        if (st) break;
        if (!(ob->signals & (uint32_t)op->b)) return pk_wait_script(k, t, r, e->obj, h, (uint32_t)op->b);
        if (PK_UNLIKELY(t->kind == PK_BODY_HOST)) {         /* the signals seen, for the body */
            pk_hio *hr = pk_hio_of(k, t);
            if (hr) hr->signals = ob->signals;
        }
        if (op->b & PK_SIG_TERMINATED) pk_ptree_handle_waited(k, t->pid, e->obj);
        break;
    }
    op_done(r, st);
    return -1;
}

/* Whether slot `slot` of t's process names a socket that is not a pipe. */
static bool on_socket(pk_kernel *k, pk_thread *t, uint64_t slot) {
    pk_hent *e = k->objs ? pk_handle_slot(k, t, slot) : NULL;
    if (!e) return false;
    const pk_obj *ob = pk_obj_at(k, e->obj);
    return ob->kind == PK_OBJ_SOCKET && !(ob->pad[0] & PK_SOCK_PIPE);
}

/* The CPU time a write or read through slot `slot` of t's process takes
 * once it is done (whatever its status): costs.syscall_ns, plus
 * costs.socket_ns on a socket that is not a pipe, plus costs.wakeup_ns if
 * it waited on the way (the kernel's work of the system call and of the
 * wake-up, charged like a compute).  Scripts' and Python bodies' (pk_host.c). */
pk_time pk_obj_op_cost(pk_kernel *k, pk_thread *t, uint64_t slot, bool woke) {
    pk_time cost = k->cfg.costs.syscall_ns + (woke ? k->cfg.costs.wakeup_ns : 0);
    if (k->cfg.costs.socket_ns && on_socket(k, t, slot)) cost += k->cfg.costs.socket_ns;
    return cost;
}

/* Run one object instruction; a write or read that is done then takes
 * pk_obj_op_cost. An action, or -1 to go on. */
int pk_script_obj_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op) {
    int woke = (r->flags & (PK_RF_WAIT_FAILED | PK_RF_WAIT_OK)) != 0;
    int a = obj_op(k, t, r, op);
    if (a >= 0 || (op->code != PK_OP_CHAN_WRITE && op->code != PK_OP_CHAN_READ)) return a;
    pk_time cost = pk_obj_op_cost(k, t, op->a, woke);
    if (!cost) return -1;
    r->x[PK_REG_REM] = cost;
    return PK_ACT_RUN;
}
