/* pk_upcall.c - the one path from C into Python: the core steps a Python
 * thread body (a generator) itself.
 *
 * The rest of the core never touches a Python object; it reaches this
 * file through k->host_step / k->host_leave, set by pk_host_attach.  When
 * a host thread needs its next operation inside pk_kernel_run, host_step
 * takes the interpreter lock (once per pk_kernel_run call: cffi released
 * it around the call, host_leave gives it back when the call returns),
 * sends the last operation's result into the generator (PyIter_Send),
 * decodes the yielded tuple (op, b), (op, b, a) or (op, b, a, deadline), checks that the
 * context made it (the "made but never yielded" rule: its _made list,
 * context.py) and
 * gives it to the thread through its body kind's deliver (pk_host.c).
 *
 * What the body's yield gives is made here too, in one place
 * (host_result): None, or the value its finished read, wait, socket write
 * or wake left in the thread's host-I/O record (pk_host.c): a Message
 * with its Handles, bytes, a Packet, Signals, a list of Signals, a count;
 * or, when the operation failed, its status, which the yield raises.  The
 * Python classes come once, as the `makers` tuple of pk_host_attach.
 *
 * Everything else is left to the Python stepping (Kernel._host_step in
 * pykernel/run.py), after a stop with PK_STOP_HOST: a body not yet
 * started, anything yielded that is not an operation as ctx makes them, a
 * return, an exception, an operation that failed; the Python stepping
 * asks pk_host_result for what to send when nothing is left here.  What
 * this file already did is left in the `sent` dict, tid -> record, so
 * that the Python stepping goes on from exactly there:
 *   (0, y)          the body yielded y
 *   (1, value)      the body returned value (StopIteration)
 *   (2, exc)        the body raised exc (KeyboardInterrupt too)
 *   (3, status, op) operation op ended with error status: the body's
 *                   yield raises it (pykernel.errors); op |
 *                   PK_HOST_NAME_ALT for a read that is a call, a wake
 *                   that is a requeue
 * Both dicts belong to the Kernel object, which outlives every call. */
#include "pk_py.h"
#include "pk_obj.h"

#define SENT_YIELD  0
#define SENT_RETURN 1
#define SENT_RAISE  2
#define SENT_STATUS 3
#define SENT_VALUE  4   /* pk_host_result only: (4, value), what the yield gives */

/* Leave record (kind, a[, b]) for tid; steals nothing.  -1 on failure
 * (a Python error is then set and cleared: the run breaks the kernel). */
static int leave(pk_kernel *k, PyObject *key, PyObject *rec) {
    if (!rec) return -1;
    int s = PyDict_SetItem((PyObject *)k->host_py.sent, key, rec);
    Py_DECREF(rec);
    return s;
}

static int leave_obj(pk_kernel *k, PyObject *key, int kind, PyObject *v) {
    return leave(k, key, Py_BuildValue("(iO)", kind, v ? v : Py_None));
}


/* a uint64 from a Python int: 0 and *ok = 0 if it is not one */
static uint64_t u64_of(PyObject *o, int *ok) {
    if (!PyLong_Check(o)) { *ok = 0; return 0; }
    uint64_t v = PyLong_AsUnsignedLongLong(o);
    if (v == (uint64_t)-1 && PyErr_Occurred()) { PyErr_Clear(); *ok = 0; }
    return v;
}

/* Is y the operation the context made last, with none made before it
 * still unyielded?  `made` is its _made list [op, at, older]
 * (pykernel/context.py); then forget the operation (op = None): the
 * Python stepping's common case.  0: something else, for the Python
 * stepping to judge. */
static int made_by(PyObject *made, PyObject *y) {
    if (!PyList_Check(made) || PyList_Size(made) != 3) return 0;
    if (PyList_GetItem(made, 2) != Py_None) return 0;
    PyObject *op = PyList_GetItem(made, 0);
    if (op == y) {
        Py_INCREF(Py_None);
        PyList_SetItem(made, 0, Py_None);          /* drops the list's reference to y */
    } else if (op != Py_None) {
        return 0;
    }
    return 1;
}

/* Decode y, a tuple of n items whose first is `code`, as ctx makes the
 * operations: (op, b) for the timed ones, (op, b, a) for the script
 * instructions on futexes, a channel write's cost and a wake,
 * (op, b, a, deadline) for a futex wait, a read and a wait.  PK_OK;
 * PK_ERR_WRONG_TYPE if y is not one of them (another code or length);
 * PK_ERR_OUT_OF_RANGE if a field is not a uint64. */
static int decode(PyObject *y, Py_ssize_t n, uint64_t code, uint32_t *op, uint64_t *b, uint64_t *a,
                  uint64_t *deadline) {
    switch (code) {
    case PK_OP_COMPUTE: case PK_OP_IO: case PK_OP_SLEEP: case PK_OP_YIELD: case PK_OP_EXIT:
    case PK_OP_KILL: case PK_OP_POLL:
        if (n != 2) return PK_ERR_WRONG_TYPE;
        break;
    case PK_OP_LOCK: case PK_OP_UNLOCK: case PK_OP_SEM_WAIT: case PK_OP_SEM_POST:
    case PK_OP_COND_WAIT: case PK_OP_COND_SIGNAL: case PK_OP_COND_BROADCAST: case PK_OP_CHAN_WRITE:
    case PK_OP_FUTEX_WAKE:
        if (n != 3) return PK_ERR_WRONG_TYPE;
        break;
    case PK_OP_FUTEX_WAIT: case PK_OP_CHAN_READ: case PK_OP_WAIT:
        if (n != 4) return PK_ERR_WRONG_TYPE;
        break;
    default: return PK_ERR_WRONG_TYPE;
    }
    int ok = 1;
    *b = u64_of(PyTuple_GetItem(y, 1), &ok);
    *a = n >= 3 ? u64_of(PyTuple_GetItem(y, 2), &ok) : 0;
    *deadline = n == 4 ? u64_of(PyTuple_GetItem(y, 3), &ok) : PK_FOREVER;
    if (!ok) return PK_ERR_OUT_OF_RANGE;
    *op = (uint32_t)code;
    return PK_OK;
}

/* the items of a wait on several handles, a sequence of (handle,
 * signals) pairs: their number, or -1 if they are not such pairs of
 * uint32s (no Python error is left set) */
static Py_ssize_t wait_items(PyObject *its, pk_wait_item *items) {
    if (!PyTuple_Check(its) && !PyList_Check(its)) return -1;
    Py_ssize_t m = PySequence_Size(its);
    for (Py_ssize_t i = 0; i < m; i++) {
        PyObject *it = PySequence_GetItem(its, i);
        int ok = it && (PyTuple_Check(it) || PyList_Check(it)) && PySequence_Size(it) == 2;
        uint64_t v[2] = { 0, 0 };
        for (Py_ssize_t j = 0; ok && j < 2; j++) {
            PyObject *x = PySequence_GetItem(it, j);
            v[j] = x ? u64_of(x, &ok) : (ok = 0);
            Py_XDECREF(x);
        }
        Py_XDECREF(it);
        if (!ok || v[0] > UINT32_MAX || v[1] > UINT32_MAX) {
            PyErr_Clear();
            return -1;
        }
        if (i < PK_WAIT_MANY_MAX) items[i] = (pk_wait_item){ (uint32_t)v[0], (uint32_t)v[1], 0, 0 };
    }
    return m;
}

/* Give y, an operation as ctx makes them, to the waiting thread: PK_OK,
 * or the status that refused it (PK_ERR_WRONG_TYPE: y is not such an
 * operation; PK_ERR_OUT_OF_RANGE: a field is not a uint64).  Besides
 * decode's: (PK_OP_CHAN_WRITE, h, bytes), a socket write;
 * (PK_OP_OBJ_WAIT, ((h, signals), ...), deadline), a wait on several
 * handles; (PK_OP_FUTEX_WAKE, addr, nwake, addr2, nrequeue), a requeue.
 * The upcall and the Python stepping (pk_host_give_yield) both give
 * through here. */
static int give(pk_kernel *k, PyObject *y) {
    if (!PyTuple_Check(y)) return PK_ERR_WRONG_TYPE;
    Py_ssize_t n = PyTuple_Size(y);
    if (n < 2) return PK_ERR_WRONG_TYPE;
    int ok = 1;
    uint64_t code = u64_of(PyTuple_GetItem(y, 0), &ok);
    if (!ok) return PK_ERR_WRONG_TYPE;
    uint32_t op;
    uint64_t b, a, deadline;
    if (n == 2 || n == 4 || (n == 3 && code != PK_OP_OBJ_WAIT
                             && !(code == PK_OP_CHAN_WRITE && PyBytes_Check(PyTuple_GetItem(y, 2))))) {
        int s = decode(y, n, code, &op, &b, &a, &deadline);
        return s ? s : pk_host_give(k, op, b, a, deadline);
    }
    if (code == PK_OP_CHAN_WRITE) {                 /* n == 3, bytes */
        PyObject *data = PyTuple_GetItem(y, 2);
        uint64_t h = u64_of(PyTuple_GetItem(y, 1), &ok);
        Py_ssize_t len = PyBytes_Size(data);
        if (!ok || h > UINT32_MAX) return PK_ERR_OUT_OF_RANGE;
        if ((uint64_t)len > UINT32_MAX) return PK_ERR_INVALID_ARGS;
        return pk_host_deliver_write(k, (uint32_t)h, (const uint8_t *)PyBytes_AsString(data),
                                     (uint32_t)len);
    }
    if (code == PK_OP_OBJ_WAIT && n == 3) {
        pk_wait_item items[PK_WAIT_MANY_MAX];
        Py_ssize_t m = wait_items(PyTuple_GetItem(y, 1), items);
        deadline = u64_of(PyTuple_GetItem(y, 2), &ok);
        if (!ok || m < 0) return PK_ERR_OUT_OF_RANGE;
        if (m < 1 || m > PK_WAIT_MANY_MAX) return PK_ERR_INVALID_ARGS;
        return pk_host_deliver_wait(k, items, (uint32_t)m, deadline);
    }
    if (code == PK_OP_FUTEX_WAKE && n == 5) {
        uint64_t v[4];
        for (int i = 0; i < 4; i++) v[i] = u64_of(PyTuple_GetItem(y, i + 1), &ok);
        if (!ok || v[1] > UINT32_MAX || v[3] > UINT32_MAX) return PK_ERR_OUT_OF_RANGE;
        return pk_host_deliver_requeue(k, v[0], (uint32_t)v[1], v[2], (uint32_t)v[3]);
    }
    return PK_ERR_WRONG_TYPE;
}

int pk_host_give_yield(pk_kernel *k, uint64_t y) {
    if (!k || !y) return PK_ERR_INVALID_ARGS;
    if (k->in_hook || k->broken || !k->host_wait) return PK_ERR_BAD_STATE;
    PyGILState_STATE g = PyGILState_Ensure();
    int s = give(k, (PyObject *)(uintptr_t)y);
    PyErr_Clear();
    PyGILState_Release(g);
    return s;
}

/* the operations on futexes the core ran for a body: FUTEX_WAIT, LOCK ..
 * COND_BROADCAST (pk_host.c) */
static inline int futex_op(uint64_t op) {
    return op == PK_OP_FUTEX_WAIT || (op >= PK_OP_LOCK && op <= PK_OP_COND_BROADCAST);
}

/* makers[i] (pk_host_attach), borrowed */
enum { MK_MESSAGE, MK_HANDLE, MK_PACKET, MK_SIGNALS, MK_KERNEL, MK_N };

static PyObject *make_signals(PyObject *mk, uint32_t sig) {
    return PyObject_CallFunction(PyTuple_GetItem(mk, MK_SIGNALS), "k", (unsigned long)sig);
}

/* The value of host-I/O record h (kind PK_HIO_*) for the body of thread
 * t, a new reference (NULL: a Python error is set). */
static PyObject *hio_value(pk_kernel *k, const pk_thread *t, const pk_hio *h) {
    PyObject *mk = (PyObject *)k->host_makers;
    if (h->kind != PK_HIO_COUNT && (!mk || !PyTuple_Check(mk) || PyTuple_Size(mk) != MK_N)) {
        PyErr_SetString(PyExc_RuntimeError, "pk_host_attach was given no makers");
        return NULL;
    }
    switch (h->kind) {
    case PK_HIO_MSG: {
        PyObject *data = PyBytes_FromStringAndSize((const char *)h->data, h->nbytes);
        PyObject *hs = data ? PyTuple_New(h->nhandles) : NULL;
        for (uint32_t i = 0; hs && i < h->nhandles; i++) {
            PyObject *one = PyObject_CallFunction(PyTuple_GetItem(mk, MK_HANDLE), "Okk",
                                                  PyTuple_GetItem(mk, MK_KERNEL),
                                                  (unsigned long)t->pid, (unsigned long)h->handles[i]);
            if (!one) { Py_CLEAR(hs); break; }
            PyTuple_SetItem(hs, i, one);
        }
        PyObject *msg = hs ? PyObject_CallFunction(PyTuple_GetItem(mk, MK_MESSAGE), "OOk", data, hs,
                                                   (unsigned long)h->txid) : NULL;
        Py_XDECREF(data);
        Py_XDECREF(hs);
        return msg;
    }
    case PK_HIO_BYTES: return PyBytes_FromStringAndSize((const char *)h->data, h->nbytes);
    case PK_HIO_PACKET: {
        PyObject *sig = make_signals(mk, h->signals);
        PyObject *pkt = sig ? PyObject_CallFunction(PyTuple_GetItem(mk, MK_PACKET), "KsO",
                                                    (unsigned long long)h->key,
                                                    h->ptype == PK_PACKET_SIGNAL ? "signal" : "user",
                                                    sig) : NULL;
        Py_XDECREF(sig);
        return pkt;
    }
    case PK_HIO_SIGNALS: return make_signals(mk, h->signals);
    case PK_HIO_PENDING: {
        PyObject *list = PyList_New(h->n);
        for (uint32_t i = 0; list && i < h->n; i++) {
            PyObject *one = make_signals(mk, h->items[i].pending);
            if (!one) { Py_CLEAR(list); break; }
            PyList_SetItem(list, i, one);
        }
        return list;
    }
    case PK_HIO_COUNT: return PyLong_FromUnsignedLongLong(h->count);
    default: Py_RETURN_NONE;
    }
}

/* What the finished operation of host thread t (registers r) gives its
 * body: PK_OK and *out, a new reference (None for most operations); or
 * the status it failed with, and in *name the operation (| 0x100: a call,
 * a requeue), for the yield to raise; or PK_ERR_NO_MEMORY with a Python
 * error set.  A record's value is taken once. */
static int host_result(pk_kernel *k, const pk_thread *t, const pk_regs *r, PyObject **out,
                       unsigned *name) {
    uint64_t last = r->x[PK_REG_HOST_OP], a = r->x[PK_REG_HOST_A];
    *out = NULL;
    *name = (unsigned)last;
    bool io = pk_host_waiting_op(last, a) || last == PK_OP_FUTEX_WAKE;
    if (!(r->flags & PK_RF_STARTED) || (!io && !futex_op(last))) {
        Py_INCREF(Py_None);
        *out = Py_None;
        return PK_OK;
    }
    pk_hio *h = io ? pk_hio_of(k, t) : NULL;
    if (io) *name = pk_host_op_name(k, t, last, a);
    int st = (int)(int64_t)r->x[PK_REG_STATUS];
    if (st) return st;
    if (!h) {
        Py_INCREF(Py_None);
        *out = Py_None;
        return PK_OK;
    }
    *out = hio_value(k, t, h);
    h->kind = PK_HIO_NONE;
    return *out ? PK_OK : PK_ERR_NO_MEMORY;
}

int pk_host_result(pk_kernel *k, uint32_t tid, uint64_t out) {
    if (!k || !out) return PK_ERR_INVALID_ARGS;
    if (!k->host_wait || k->host_wait->tid != tid || !k->host_cpu) return PK_ERR_BAD_STATE;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *v;
    unsigned name;
    int st = host_result(k, k->host_wait, &k->host_cpu->regs, &v, &name);
    PyObject *rec = st == PK_OK ? Py_BuildValue("(iN)", SENT_VALUE, v)
                  : st == PK_ERR_NO_MEMORY && PyErr_Occurred() ? NULL
                  : Py_BuildValue("(iiI)", SENT_STATUS, st, name);
    if (!rec || PyList_Append((PyObject *)(uintptr_t)out, rec)) st = PK_ERR_NO_MEMORY;
    Py_XDECREF(rec);
    PyErr_Clear();
    PyGILState_Release(g);
    return st;
}

/* Is the kernel as a fresh pk_kernel_run would find it? */
static inline bool kernel_plain(const pk_kernel *k, const pk_thread *t) {
    return k->host_wait == t && !k->broken && !k->stop_req && !(k->mem && k->mem->pager_pending);
}

static int upcall_step(pk_kernel *k, pk_thread *t) {
    pk_py_hold(k);
    const pk_regs *r = &k->host_cpu->regs;
    PyObject *gens = (PyObject *)k->host_py.gens;
    PyObject *key = PyLong_FromUnsignedLong(t->tid);
    if (!key) { PyErr_Clear(); return PK_STOP_HOST; }
    int ret = PK_STOP_HOST;
    PyObject *entry = PyDict_GetItem(gens, key);       /* borrowed; NULL: not started */
    if (!entry || !(r->flags & PK_RF_STARTED)) goto out;
    if (!(k->host_py.flags & PK_HOST_SEND) || !PyTuple_Check(entry) || PyTuple_Size(entry) != 4)
        goto out;                        /* the Python stepping asks pk_host_result */
    PyObject *v;
    unsigned name;
    int st = host_result(k, t, r, &v, &name);
    if (st) {                            /* the yield raises */
        if (st == PK_ERR_NO_MEMORY && PyErr_Occurred()) PyErr_Clear();
        if (leave(k, key, Py_BuildValue("(iiI)", SENT_STATUS, st, name))) PyErr_Clear();
        goto out;
    }
    Py_INCREF(entry);                    /* the body may drop it from gens */
    PyObject *gen = PyTuple_GetItem(entry, 0), *made = PyTuple_GetItem(entry, 3);
    PyObject *y = NULL;
    PySendResult sr = PyIter_Send(gen, v, &y);
    Py_DECREF(v);
    if (sr == PYGEN_NEXT) {
        if (kernel_plain(k, t) && made_by(made, y) && give(k, y) == PK_OK) {
            ret = PK_OK;
        } else {
            if (PyErr_Occurred()) PyErr_Clear();
            if (leave_obj(k, key, SENT_YIELD, y)) PyErr_Clear();
        }
        Py_DECREF(y);
    } else if (sr == PYGEN_RETURN) {
        if (leave_obj(k, key, SENT_RETURN, y)) PyErr_Clear();
        Py_XDECREF(y);
    } else {
        PyObject *exc = pk_py_exception();
        if (leave_obj(k, key, SENT_RAISE, exc)) PyErr_Clear();
        Py_XDECREF(exc);
    }
    Py_DECREF(entry);
out:
    Py_DECREF(key);
    return ret;
}

int pk_host_attach(pk_kernel *k, uint64_t gens, uint64_t sent, uint32_t flags, uint64_t makers) {
    if (!k || (!gens) != (!sent) || (flags & ~PK_HOST_SEND)) return PK_ERR_INVALID_ARGS;
    if (k->in_hook || k->host_py.held) return PK_ERR_BAD_STATE;
    if (!gens) {
        k->host_step = NULL;            /* host_leave stays: a policy's hooks may need it */
        k->host_py.gens = k->host_py.sent = NULL;
        k->host_makers = NULL;
        return PK_OK;
    }
    k->host_py.gens = (void *)(uintptr_t)gens;
    k->host_py.sent = (void *)(uintptr_t)sent;
    k->host_makers = (void *)(uintptr_t)makers;   /* kept alive by the caller, as gens */
    k->host_py.flags = flags;
    k->host_step = upcall_step;
    k->host_leave = pk_py_leave;
    return PK_OK;
}

/* ---- the context's timed operations ---------------------------------------
 * ctx.compute(ns) and ctx.sleep(ns) are the operations a body makes most
 * (one per generator switch in a CPU-bound body); the base class of
 * pykernel.context.Context makes them here: validate ns, build the tuple
 * (op, ns), record it as made at the body frame's f_lasti in _made
 * (context.py).  Anything unusual (ns not a plain int in range, an
 * operation already pending, no frame yet) goes to the Python
 * Context._timed_slow, which says what is wrong. */
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *made;                     /* [op, at, older] */
    PyObject *frame;                    /* the body's frame (or a stand-in) */
} ctx_core;

static PyObject *s_f_lasti, *code_obj[PK_OP_LAST + 1];

/* frame.f_lasti, through the getter found once (the attribute lookup
 * would cost as much as the rest of ctx.compute) */
static PyObject *lasti_descr;
static descrgetfunc lasti_get;
static PyTypeObject *frame_type;

static PyObject *frame_lasti(PyObject *frame) {
    if (Py_TYPE(frame) == frame_type && lasti_get)
        return lasti_get(lasti_descr, frame, (PyObject *)frame_type);
    if (!lasti_descr) {                     /* a data descriptor of the type: what the
                                               attribute lookup would call */
        PyObject *d = PyObject_GetAttr((PyObject *)Py_TYPE(frame), s_f_lasti);
        descrgetfunc get = d ? (descrgetfunc)PyType_GetSlot(Py_TYPE(d), Py_tp_descr_get) : NULL;
        if (get && !PyType_GetSlot(Py_TYPE(d), Py_tp_descr_set)) get = NULL;
        if (get) {
            lasti_descr = d;                /* kept for the process */
            lasti_get = get;
            frame_type = Py_TYPE(frame);
            Py_INCREF(frame_type);
            return get(d, frame, (PyObject *)frame_type);
        }
        Py_XDECREF(d);
        PyErr_Clear();
    }
    return PyObject_GetAttr(frame, s_f_lasti);
}

static PyObject *ctx_timed(PyObject *self, PyObject *ns, uint32_t code, const char *name) {
    ctx_core *c = (ctx_core *)self;
    if (!PyLong_CheckExact(ns)) goto slow;
    uint64_t v = PyLong_AsUnsignedLongLong(ns);
    if (v == (uint64_t)-1 && PyErr_Occurred()) { PyErr_Clear(); goto slow; }
    if (v > PK_MAX_TIME || !c->made || !c->frame || !PyList_CheckExact(c->made) ||
        PyList_Size(c->made) != 3 || PyList_GetItem(c->made, 0) != Py_None)
        goto slow;
    PyObject *at = frame_lasti(c->frame);
    if (!at) return NULL;
    PyObject *op = PyTuple_New(2);
    if (!op) { Py_DECREF(at); return NULL; }
    Py_INCREF(code_obj[code]);
    PyTuple_SetItem(op, 0, code_obj[code]);
    Py_INCREF(ns);
    PyTuple_SetItem(op, 1, ns);
    Py_INCREF(op);
    PyList_SetItem(c->made, 0, op);     /* steals: the list's reference */
    PyList_SetItem(c->made, 1, at);
    return op;
slow:
    return PyObject_CallMethod(self, "_timed_slow", "sO", name, ns);
}

static PyObject *ctx_compute(PyObject *self, PyObject *ns) {
    return ctx_timed(self, ns, PK_OP_COMPUTE, "compute");
}

static PyObject *ctx_sleep(PyObject *self, PyObject *ns) {
    return ctx_timed(self, ns, PK_OP_SLEEP, "sleep");
}

static int ctx_traverse(PyObject *self, visitproc visit, void *arg) {
    ctx_core *c = (ctx_core *)self;
    Py_VISIT(c->made);
    Py_VISIT(c->frame);
    Py_VISIT((PyObject *)Py_TYPE(self));
    return 0;
}

static int ctx_clear(PyObject *self) {
    ctx_core *c = (ctx_core *)self;
    Py_CLEAR(c->made);
    Py_CLEAR(c->frame);
    return 0;
}

static void ctx_dealloc(PyObject *self) {
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    ctx_clear(self);
    freefunc free_ = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    free_(self);
    Py_DECREF(tp);
}

static PyMethodDef ctx_methods[] = {
    {"compute", ctx_compute, METH_O,
     "compute(ns)\n--\n\nRun on the CPU for ``ns`` ns (see :func:`pykernel.op.compute`)."},
    {"sleep", ctx_sleep, METH_O,
     "sleep(ns)\n--\n\nSleep for ``ns`` ns (see :func:`pykernel.op.sleep`)."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef ctx_members[] = {
    {"_made", T_OBJECT_EX, offsetof(ctx_core, made), 0, NULL},
    {"_frame", T_OBJECT_EX, offsetof(ctx_core, frame), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot ctx_slots[] = {
    {Py_tp_doc, (void *)"The operations of a Python body's context made in C (context.py's Context)."},
    {Py_tp_methods, ctx_methods},
    {Py_tp_members, ctx_members},
    {Py_tp_traverse, (void *)ctx_traverse},
    {Py_tp_clear, (void *)ctx_clear},
    {Py_tp_dealloc, (void *)ctx_dealloc},
    {0, NULL},
};

static PyType_Spec ctx_spec = {
    "pykernel._core.ContextCore", sizeof(ctx_core), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, ctx_slots,
};

static PyObject *ctx_type;

int pk_host_export(uint64_t into) {
    if (!into) return PK_ERR_INVALID_ARGS;
    PyGILState_STATE g = PyGILState_Ensure();
    int s = PK_OK;
    if (!ctx_type) {
        s_f_lasti = PyUnicode_InternFromString("f_lasti");
        for (uint32_t i = 1; i <= PK_OP_LAST && s_f_lasti; i++)
            if (!(code_obj[i] = PyLong_FromUnsignedLong(i))) s = PK_ERR_NO_MEMORY;
        ctx_type = s_f_lasti && !s ? PyType_FromSpec(&ctx_spec) : NULL;
    }
    if (!ctx_type || PyDict_SetItemString((PyObject *)(uintptr_t)into, "ContextCore", ctx_type))
        s = PK_ERR_NO_MEMORY;
    PyErr_Clear();
    PyGILState_Release(g);
    return s;
}
