/* pk_socket.c - sockets and pipes (docs/objects.md), after Zircon's
 * sockets: two endpoints, each buffering up to `capacity` bytes that its
 * peer wrote.  READABLE: the buffer holds data; WRITABLE: the peer's
 * buffer has room (and the peer is open); PEER_CLOSED as for channels.
 *
 * The buffer is a queue of segments (pk_msg records, recycled): a
 * datagram is one segment; a stream appends to the last segment when both
 * are synthetic (script bytes, not stored), so a script stream costs no
 * allocation per write.  A stream read may take part of the first
 * segment: pk_msg.pad counts the bytes of it already read.
 *
 * Object fields: queued = bytes buffered, target = capacity,
 * pad[0] = mode (PK_SOCKET_*), | PK_SOCK_PIPE for a pipe's ends. */
#include <string.h>
#include "pk_core.h"

#define RIGHTS_SOCKET (PK_RIGHT_TRANSFER | PK_RIGHT_DUPLICATE | PK_RIGHT_WAIT | PK_RIGHT_INSPECT \
    | PK_RIGHT_READ | PK_RIGHT_WRITE | PK_RIGHT_SIGNAL | PK_RIGHT_SIGNAL_PEER \
    | PK_RIGHT_GET_PROPERTY | PK_RIGHT_SET_PROPERTY)

static pk_msg *seg_new(pk_kernel *k) {
    pk_msg *m = k->objs->free_msgs;
    if (m) { k->objs->free_msgs = m->next; return m; }
    return pk_alloc(k, sizeof *m);
}

/* Free the buffered segments of socket endpoint o (its destruction). */
void pk_socket_destroy(pk_kernel *k, pk_obj *o) {
    k->objs->qbytes -= o->queued;
    while (o->head) {
        pk_msg *m = o->head;
        o->head = m->next;
        pk_msg_free(k, m);
    }
    o->tail = NULL;
    o->queued = 0;
}

/* Two connected socket objects, one reference each, with room for
 * capacity bytes and mode bits `flags` (PK_SOCKET_* | PK_SOCK_*): the
 * endpoints of a socket pair, a pipe or a descriptor pipe. */
static int pair_new(pk_kernel *k, uint32_t capacity, uint32_t flags, uint32_t *a_out,
                    uint32_t *b_out) {
    int64_t a = pk_obj_new(k, PK_OBJ_SOCKET), b = a < 0 ? -1 : pk_obj_new(k, PK_OBJ_SOCKET);
    if (b < 0) {
        if (a >= 0) { pk_obj_at(k, (uint32_t)a)->refs = 1; pk_obj_unref(k, (uint32_t)a); pk_obj_reap(k); }
        return PK_ERR_NO_MEMORY;
    }
    pk_obj *oa = pk_obj_at(k, (uint32_t)a), *ob = pk_obj_at(k, (uint32_t)b);
    oa->refs = ob->refs = 1;
    oa->peer = (uint32_t)b; ob->peer = (uint32_t)a;
    oa->target = ob->target = capacity;
    oa->pad[0] = ob->pad[0] = (uint8_t)flags;
    oa->signals = ob->signals = PK_SIG_WRITABLE;
    *a_out = (uint32_t)a;
    *b_out = (uint32_t)b;
    return PK_OK;
}

int pk_socket_create(pk_kernel *k, uint32_t pid, uint32_t mode, uint32_t capacity, uint32_t pipe,
                     uint32_t *h0, uint32_t *h1) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!h0 || !h1 || mode > PK_SOCKET_DATAGRAM || pipe > 1 || (pipe && mode)) return PK_ERR_INVALID_ARGS;
    if (capacity == 0 || capacity > PK_SOCKET_MAX_CAPACITY) return PK_ERR_OUT_OF_RANGE;
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    uint32_t a, b;
    if (pair_new(k, capacity, mode | (pipe ? PK_SOCK_PIPE : 0), &a, &b)) return PK_ERR_NO_MEMORY;
    uint32_t ra = pipe ? RIGHTS_SOCKET & ~PK_RIGHT_WRITE : RIGHTS_SOCKET;   /* pipe: a reads */
    uint32_t rb = pipe ? RIGHTS_SOCKET & ~PK_RIGHT_READ : RIGHTS_SOCKET;    /*       b writes */
    bool got_a = pk_handle_add(k, x, a, ra, h0) == PK_OK;
    if (got_a && pk_handle_add(k, x, b, rb, h1) == PK_OK) return PK_OK;
    if (got_a) { pk_hent *e; pk_handle_get(k, pid, *h0, &e); pk_handle_drop(k, x, e, pid); }
    else pk_obj_unref(k, a);
    pk_obj_unref(k, b);
    pk_obj_reap(k);
    return PK_ERR_NO_MEMORY;
}

/* Append nbytes (data or synthetic) to endpoint o's buffer (room checked). */
static int seg_append(pk_kernel *k, pk_obj *o, const uint8_t *data, uint32_t nbytes) {
    pk_msg *t = o->tail;
    if (!data && t && !t->data && (o->pad[0] & ~PK_SOCK_PIPE) == PK_SOCKET_STREAM) {
        t->nbytes += nbytes;                        /* synthetic stream: coalesce */
        return PK_OK;
    }
    pk_msg *m = seg_new(k);
    if (!m) return PK_ERR_NO_MEMORY;
    memset(m, 0, sizeof *m);
    if (data) {
        m->data = pk_alloc(k, nbytes);
        if (!m->data) { m->next = k->objs->free_msgs; k->objs->free_msgs = m; return PK_ERR_NO_MEMORY; }
        memcpy(m->data, data, nbytes);
    }
    m->nbytes = nbytes;
    if (t) t->next = m; else o->head = m;
    o->tail = m;
    return PK_OK;
}

/* Write through endpoint ob (WRITE checked by the caller). */
static int sock_write(pk_kernel *k, pk_obj *ob, const uint8_t *data, uint32_t nbytes, uint32_t *done) {
    *done = 0;
    if (!ob->peer) return PK_ERR_PEER_CLOSED;
    uint32_t pid = ob->peer;
    pk_obj *peer = pk_obj_at(k, pid);
    uint64_t room = peer->target - peer->queued;
    bool dgram = (ob->pad[0] & ~PK_SOCK_FD) == PK_SOCKET_DATAGRAM;
    if (dgram && (nbytes == 0 || nbytes > peer->target)) return nbytes ? PK_ERR_OUT_OF_RANGE : PK_ERR_INVALID_ARGS;
    if (nbytes == 0) return PK_OK;
    if (room == 0) return PK_ERR_SHOULD_WAIT;
    if (dgram && nbytes > room) {                    /* writable again after a read */
        pk_obj_signal_change(k, peer->peer, PK_SIG_WRITABLE, 0);
        return PK_ERR_SHOULD_WAIT;
    }
    uint32_t n = nbytes < room ? nbytes : (uint32_t)room;
    if (PK_UNLIKELY(pk_limit_over(k->objs->qbytes, n, k->cfg.max_message_bytes))) {
        uint64_t left = k->objs->qbytes < k->cfg.max_message_bytes    /* max_message_bytes: */
                      ? k->cfg.max_message_bytes - k->objs->qbytes : 0;   /* a short write */
        if (dgram || left == 0) return pk_limit_hit(k, PK_LIMIT_MESSAGE_BYTES);
        n = (uint32_t)left;
    }
    int s = seg_append(k, peer, data, n);
    if (s) return s;
    bool was_empty = peer->queued == 0;
    peer->queued += n;
    k->objs->qbytes += n;
    *done = n;
    PK_TRACE_OP(k, PK_TR_SEND, 1, (uint64_t)pid << 32 | n);
    if (was_empty) pk_obj_signal_change(k, pid, 0, PK_SIG_READABLE);
    if (peer->queued == peer->target) pk_obj_signal_change(k, peer->peer, PK_SIG_WRITABLE, 0);
    return PK_OK;
}

/* Read through endpoint ob (id; READ checked by the caller). */
static int sock_read(pk_kernel *k, uint32_t id, pk_obj *ob, uint8_t *data, uint32_t bcap, uint32_t *done) {
    *done = 0;
    if (!ob->queued) return ob->peer ? PK_ERR_SHOULD_WAIT : PK_ERR_PEER_CLOSED;
    bool dgram = (ob->pad[0] & ~PK_SOCK_FD) == PK_SOCKET_DATAGRAM;
    uint64_t got = 0;
    while (ob->head && got < bcap) {
        pk_msg *m = ob->head;
        uint32_t avail = m->nbytes - m->pad, take = avail;
        if (take > bcap - got) take = (uint32_t)(bcap - got);
        if (data) {
            if (m->data) memcpy(data + got, m->data + m->pad, take);
            else memset(data + got, 0, take);
        }
        got += take;
        if (dgram || take == avail) {               /* a datagram goes whole */
            ob->queued -= avail;
            k->objs->qbytes -= avail;
            ob->head = m->next;
            if (!ob->head) ob->tail = NULL;
            pk_msg_free(k, m);
            if (dgram) break;
        } else {
            m->pad += take;
            ob->queued -= take;
            k->objs->qbytes -= take;
        }
    }
    *done = (uint32_t)got;
    PK_TRACE_OP(k, PK_TR_RECV, 1, (uint64_t)id << 32 | (uint32_t)got);
    if (!ob->queued) pk_obj_signal_change(k, id, PK_SIG_READABLE, 0);
    if (ob->peer) pk_obj_signal_change(k, ob->peer, 0, PK_SIG_WRITABLE);
    return PK_OK;
}

static int sock_entry(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t right, pk_hent **e) {
    int s = pk_caller_ok(k, pid);
    return s ? s : pk_handle_use(k, pid, h, right, PK_OBJ_KIND(PK_OBJ_SOCKET), e);
}

int pk_socket_write(pk_kernel *k, uint32_t pid, uint32_t h, const uint8_t *data, uint32_t nbytes,
                    uint32_t *done) {
    pk_hent *e;
    if (!done) return PK_ERR_INVALID_ARGS;
    int s = sock_entry(k, pid, h, PK_RIGHT_WRITE, &e);
    if (s) return s;
    return sock_write(k, pk_obj_at(k, e->obj), data, nbytes, done);
}

int pk_socket_read(pk_kernel *k, uint32_t pid, uint32_t h, uint8_t *data, uint32_t bcap,
                   uint32_t *done) {
    pk_hent *e;
    if (!done) return PK_ERR_INVALID_ARGS;
    int s = sock_entry(k, pid, h, PK_RIGHT_READ, &e);
    if (s) return s;
    return sock_read(k, e->obj, pk_obj_at(k, e->obj), data, bcap, done);
}

/* Script instructions on a socket endpoint (entry e, through handle h):
 * write(slot, n) writes all n bytes, waiting for room as needed (the bytes
 * done so far sit in x[STATUS] while PK_RF_PARTIAL is set); read(slot, n)
 * reads up to n bytes (n = 0: all there is), waiting while it is empty.
 * An action, or -1 to go on. */
int pk_script_socket_op(pk_kernel *k, pk_thread *t, pk_regs *r, const pk_op *op, pk_hent *e,
                        uint32_t h) {
    pk_obj *ob = pk_obj_at(k, e->obj);
    uint32_t done;
    int st;
    if (op->code == PK_OP_CHAN_WRITE) {
        st = pk_hent_check(k, e, PK_RIGHT_WRITE, 0);
        if (!st) {
            uint64_t sofar = r->flags & PK_RF_PARTIAL ? r->x[PK_REG_STATUS] : 0;
            pk_hio *hr = PK_UNLIKELY(t->kind == PK_BODY_HOST) ? pk_hio_of(k, t) : NULL;
            const uint8_t *src = hr && hr->data ? hr->data + sofar : NULL;   /* a body's bytes */
            st = sock_write(k, ob, src, (uint32_t)(op->b - sofar), &done);
            sofar += done;
            if ((st == PK_OK && sofar < op->b) || st == PK_ERR_SHOULD_WAIT) {
                r->flags |= PK_RF_PARTIAL;
                r->x[PK_REG_STATUS] = sofar;
                return pk_wait_script(k, t, r, e->obj, h, PK_SIG_WRITABLE | PK_SIG_PEER_CLOSED);
            }
        }
    } else {
        st = pk_hent_check(k, e, PK_RIGHT_READ, 0);
        if (!st) {
            pk_hio *hr = PK_UNLIKELY(t->kind == PK_BODY_HOST) ? pk_hio_of(k, t) : NULL;
            if (hr) {                                   /* a body's read: the bytes, kept */
                if (hr->rtxid) st = PK_ERR_WRONG_TYPE;  /* a call: channels only */
                else {
                    uint32_t cap = op->b ? (uint32_t)op->b : PK_CHAN_MAX_BYTES;
                    uint32_t want = ob->queued < cap ? (uint32_t)ob->queued : cap;
                    st = want && !pk_hio_room(k, hr, want) ? PK_ERR_NO_MEMORY
                       : sock_read(k, e->obj, ob, hr->data, cap, &done);
                    hr->kind = PK_HIO_BYTES;
                    hr->nbytes = st ? 0 : done;
                }
            } else
                st = sock_read(k, e->obj, ob, NULL, op->b ? (uint32_t)op->b : PK_SOCKET_MAX_CAPACITY, &done);
            if (st == PK_ERR_SHOULD_WAIT)
                return pk_wait_script(k, t, r, e->obj, h, PK_SIG_READABLE | PK_SIG_PEER_CLOSED);
        }
    }
    r->flags &= ~(uint64_t)PK_RF_PARTIAL;
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
    return -1;
}

/* ---- pipes of Unix descriptors (pk_fd.c) --------------------------------------
 * The same pipe objects, held by open file descriptions instead of
 * handles: each end has one reference, its description's. */

int pk_pipe_objs(pk_kernel *k, uint32_t capacity, uint32_t *rd, uint32_t *wr) {
    if (pk_objects_init(k)) return PK_ERR_NO_MEMORY;
    return pair_new(k, capacity, PK_SOCKET_STREAM | PK_SOCK_PIPE | PK_SOCK_FD, rd, wr);
}

int pk_pipe_obj_read(pk_kernel *k, uint32_t rd, uint8_t *buf, uint32_t cap, uint32_t *done) {
    return sock_read(k, rd, pk_obj_at(k, rd), buf, cap, done);
}

int pk_pipe_obj_write(pk_kernel *k, uint32_t wr, const uint8_t *buf, uint32_t n, uint32_t *done) {
    return sock_write(k, pk_obj_at(k, wr), buf, n, done);
}
