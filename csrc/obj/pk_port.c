/* pk_port.c - ports: queues of packets for asynchronous waits
 * (docs/objects.md), after Zircon's ports.  A packet is a recycled message
 * record: txid and pad hold the key's halves, nbytes the signals, nhandles
 * the type; the port's `queued` counts them and READABLE says it is
 * non-empty.  Asynchronous waits are wait records with a port (pk_wait.c):
 * when satisfied they queue a packet instead of waking a thread. */
#include <string.h>
#include "pk_core.h"

/* default rights, as Zircon's ports (TRANSFER, DUPLICATE, INSPECT, READ,
 * WRITE) plus WAIT, so that a port's READABLE can be waited on here */
#define RIGHTS_PORT (PK_RIGHT_TRANSFER | PK_RIGHT_DUPLICATE | PK_RIGHT_INSPECT | PK_RIGHT_READ \
                     | PK_RIGHT_WRITE | PK_RIGHT_WAIT)

/* Queue a packet on port (no memory: the packet is lost and the kernel
 * marked broken, as for other allocations in a run). */
void pk_port_packet(pk_kernel *k, uint32_t port, uint64_t key, uint32_t type, uint32_t signals,
                    int status) {
    pk_obj *p = pk_obj_at(k, port);
    pk_msg *m = k->objs->free_msgs;
    if (m) k->objs->free_msgs = m->next;
    else if (!(m = pk_alloc(k, sizeof *m))) { k->broken = PK_ERR_NO_MEMORY; return; }
    memset(m, 0, sizeof *m);
    m->txid = (uint32_t)key;
    m->pad = (uint32_t)(key >> 32);
    m->nbytes = signals;
    m->nhandles = type;
    m->data = NULL;
    (void)status;
    if (p->tail) p->tail->next = m; else p->head = m;
    p->tail = m;
    k->objs->packets++;
    if (++p->queued == 1) pk_obj_signal_change(k, port, 0, PK_SIG_READABLE);
}

/* Would one more message or packet pass max_messages?  (Then it is
 * recorded as refused.) */
static bool packets_full(pk_kernel *k) {
    const pk_objects *o = k->objs;
    if (!pk_limit_over(o->st.messages + o->packets, 1, k->cfg.max_messages)) return false;
    pk_limit_hit(k, PK_LIMIT_MESSAGES);
    return true;
}

void pk_port_destroy(pk_kernel *k, pk_obj *o) {
    k->objs->packets -= o->queued;
    while (o->head) {
        pk_msg *m = o->head;
        o->head = m->next;
        m->nhandles = 0;                            /* no handle array: a type */
        m->nbytes = 0;
        pk_msg_free(k, m);
    }
    o->tail = NULL;
    o->queued = 0;
}

int pk_port_create(pk_kernel *k, uint32_t pid, uint32_t *out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!out) return PK_ERR_INVALID_ARGS;
    pk_pext *x = pk_pext_of(k, pid, true);
    if (!x) return PK_ERR_NO_MEMORY;
    int64_t id = pk_obj_new(k, PK_OBJ_PORT);
    if (id < 0) return PK_ERR_NO_MEMORY;
    pk_obj_at(k, (uint32_t)id)->refs = 1;
    if ((s = pk_handle_add(k, x, (uint32_t)id, RIGHTS_PORT, out))) {
        pk_obj_unref(k, (uint32_t)id);
        pk_obj_reap(k);
    }
    return s;
}

/* pid's port handle `port` with `right`. */
static int port_entry(pk_kernel *k, uint32_t pid, uint32_t port, uint32_t right, pk_hent **e) {
    return pk_handle_use(k, pid, port, right, PK_OBJ_KIND(PK_OBJ_PORT), e);
}

int pk_wait_async(pk_kernel *k, uint32_t pid, uint32_t h, uint32_t port, uint64_t key,
                  uint32_t signals) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!signals) return PK_ERR_INVALID_ARGS;
    pk_hent *e, *pe;
    if ((s = pk_handle_use(k, pid, h, PK_RIGHT_WAIT, 0, &e))) return s;
    uint32_t obj = e->obj;
    if ((s = port_entry(k, pid, port, PK_RIGHT_WRITE, &pe))) return s;
    if (packets_full(k)) return PK_ERR_NO_MEMORY;   /* its packet is promised now */
    return pk_wait_async_new(k, pid, obj, h, signals, pe->obj, key);
}

int pk_port_queue(pk_kernel *k, uint32_t pid, uint32_t port, uint64_t key, uint32_t signals) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    pk_hent *pe;
    if ((s = port_entry(k, pid, port, PK_RIGHT_WRITE, &pe))) return s;
    if (packets_full(k)) return PK_ERR_NO_MEMORY;
    pk_port_packet(k, pe->obj, key, PK_PACKET_USER, signals, PK_OK);
    return k->broken ? k->broken : PK_OK;
}

/* Take port object id's first packet into *out; SHOULD_WAIT if none. */
static int port_take(pk_kernel *k, uint32_t id, pk_packet *out) {
    pk_obj *p = pk_obj_at(k, id);
    pk_msg *m = p->head;
    if (!m) return PK_ERR_SHOULD_WAIT;
    if (out) *out = (pk_packet){ (uint64_t)m->pad << 32 | m->txid, m->nhandles, m->nbytes, PK_OK, 0 };
    p->head = m->next;
    if (!p->head) p->tail = NULL;
    k->objs->packets--;
    if (--p->queued == 0) pk_obj_signal_change(k, id, PK_SIG_READABLE, 0);
    m->nhandles = 0;
    m->nbytes = 0;
    pk_msg_free(k, m);
    return PK_OK;
}

int pk_port_read(pk_kernel *k, uint32_t pid, uint32_t port, pk_packet *out) {
    int s = pk_caller_ok(k, pid);
    if (s) return s;
    if (!out) return PK_ERR_INVALID_ARGS;
    pk_hent *pe;
    if ((s = port_entry(k, pid, port, PK_RIGHT_READ, &pe))) return s;
    return port_take(k, pe->obj, out);
}

/* A script's read(slot) on a port: take a packet, waiting while empty. */
int pk_script_port_read(pk_kernel *k, pk_thread *t, pk_regs *r, pk_hent *e, uint32_t h) {
    int st = pk_hent_check(k, e, PK_RIGHT_READ, 0);
    pk_hio *hr = PK_UNLIKELY(t->kind == PK_BODY_HOST) ? pk_hio_of(k, t) : NULL;
    if (!st && hr && hr->rtxid) st = PK_ERR_WRONG_TYPE;    /* a call: channels only */
    if (!st && hr) {                                        /* a body's read: the packet, kept */
        pk_packet pkt;
        if (!(st = port_take(k, e->obj, &pkt))) {
            hr->kind = PK_HIO_PACKET;
            hr->key = pkt.key;
            hr->ptype = pkt.type;
            hr->signals = pkt.signals;
        }
    } else if (!st) st = port_take(k, e->obj, NULL);
    if (st == PK_ERR_SHOULD_WAIT) return pk_wait_script(k, t, r, e->obj, h, PK_SIG_READABLE);
    r->x[PK_REG_STATUS] = (uint64_t)(int64_t)st;
    r->x[PK_REG_TIMEOUT] = 0;
    return -1;
}
