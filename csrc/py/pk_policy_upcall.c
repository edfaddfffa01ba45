/* pk_policy_upcall.c - the calls of the hooks of a policy written in
 * Python (csrc/sched/pk_sched_host.c reaches them through k->host_hook).
 *
 * pk_host_policy_attach gives the kernel a list with one tuple per run
 * queue, the bound methods of its object's hooks by hook id
 * (pykernel/_policy_host.py builds it), and a one-entry list where the
 * first failure is left for HostPolicy.error.  A call takes the
 * interpreter lock: inside pk_kernel_run once for the whole run, shared
 * with the stepping of generator bodies (pk_py.h); from any other entry
 * point (spawn -> enqueue, a change of nice -> changed, kill -> dequeue,
 * ...) around the call.
 *
 * Answers are checked here as the Python side would: a tid (pick_next,
 * steal) is an int from 0 to 2^32 - 1 or None, a slice an int from 0 to
 * PK_MAX_TIME or None, anything operator.index accepts counting as an
 * int, but never a bool; tick and wakeup_preempt answer by their truth.
 * pk_sched_host.c then checks the numbers against the kernel (a tid that
 * names a queued thread, a slice of at least 1 ns).  A hook that raised
 * (KeyboardInterrupt and SystemExit too) is answered PK_HP_RAISED and a
 * refused answer PK_HP_BAD; the first such failure is left in the
 * failure list as (hook name, exception or None, answer or None).  No
 * exception is left set when a call returns to the core. */
#include "pk_py.h"
#include "pk_sched_host.h"

#define MAX_TID 0xFFFFFFFFull

static const char *const hook_names[PK_HOOKS + 1] = {
    [PK_HOOK_ENQUEUE] = "enqueue", [PK_HOOK_DEQUEUE] = "dequeue", [PK_HOOK_PICK] = "pick_next",
    [PK_HOOK_SLICE] = "slice", [PK_HOOK_TICK] = "tick", [PK_HOOK_WAKEUP_PREEMPT] = "wakeup_preempt",
    [PK_HOOK_CHARGE] = "charge", [PK_HOOK_STEAL] = "steal", [PK_HOOK_CHANGED] = "changed",
};

/* why a thread is enqueued or dequeued, as the hooks are told it
 * (PK_ENQ_* in pk_sched.h, in order); made once, under the lock */
static const char *const why_names[] = {
    "new", "wake", "preempt", "slice", "yield", "migrate", "change", "kill",
};
#define NWHY (sizeof why_names / sizeof why_names[0])
static PyObject *why_str[NWHY];

/* Leave (hook, exc, value) in the failure list if it holds no failure
 * yet; steals exc.  Errors while doing so are dropped: the core marks
 * the kernel broken all the same. */
static void record(pk_kernel *k, uint32_t hook, PyObject *exc, PyObject *value) {
    PyObject *failure = k->host_pol.failure;
    if (PyList_GetItem(failure, 0) == Py_None) {
        PyObject *rec = Py_BuildValue("(sOO)", hook_names[hook], exc ? exc : Py_None,
                                      value ? value : Py_None);
        if (!rec || PyList_SetItem(failure, 0, rec)) PyErr_Clear();   /* steals rec */
    }
    Py_XDECREF(exc);
}

/* The pending exception, kept for the hook that raised it. */
static int64_t raised(pk_kernel *k, uint32_t hook) {
    record(k, hook, pk_py_exception(), NULL);
    return PK_HP_RAISED;
}

static int64_t bad(pk_kernel *k, uint32_t hook, PyObject *value) {
    record(k, hook, NULL, value);
    return PK_HP_BAD;
}

/* The answer r of a hook that names a number from 0 to max (a tid, a
 * slice) or None; steals r. */
static int64_t number(pk_kernel *k, uint32_t hook, PyObject *r, uint64_t max) {
    int64_t ret;
    if (r == Py_None) {
        ret = PK_HP_NONE;
    } else if (PyBool_Check(r)) {
        ret = bad(k, hook, r);
    } else {
        PyObject *i = PyNumber_Index(r);            /* operator.index(r) */
        if (!i) {
            if (PyErr_ExceptionMatches(PyExc_TypeError)) {
                PyErr_Clear();
                ret = bad(k, hook, r);
            } else {
                ret = raised(k, hook);              /* __index__ raised something else */
            }
        } else {
            int overflow;
            long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
            Py_DECREF(i);
            ret = !overflow && v >= 0 && (uint64_t)v <= max ? (int64_t)v : bad(k, hook, r);
        }
    }
    Py_DECREF(r);
    return ret;
}

/* the hook `hook` of run queue rq's object: a new reference (Py_None for
 * an optional hook the object does not define), or NULL with an
 * exception set */
static PyObject *method(pk_kernel *k, uint32_t rq, uint32_t hook) {
    PyObject *entry = PyList_GetItem(k->host_pol.queues, rq);         /* borrowed */
    if (!entry) return NULL;
    if (!PyTuple_Check(entry) || PyTuple_Size(entry) != PK_HOOKS) {
        PyErr_Format(PyExc_TypeError, "the hooks of run queue %u are not a tuple of %d", rq, PK_HOOKS);
        return NULL;
    }
    PyObject *m = PyTuple_GetItem(entry, hook - 1);
    Py_XINCREF(m);
    return m;
}

/* Call hook `hook` with arguments args (n of them, each a new reference,
 * stolen; NULL if making it failed): the result, or NULL with an
 * exception set. */
static PyObject *call(pk_kernel *k, uint32_t rq, uint32_t hook, PyObject **args, int n) {
    PyObject *m = method(k, rq, hook), *r = NULL;
    bool ok = m != NULL;
    for (int i = 0; i < n; i++) ok = ok && args[i];
    if (ok) {
        switch (n) {
        case 0: r = PyObject_CallNoArgs(m); break;
        case 1: r = PyObject_CallFunctionObjArgs(m, args[0], NULL); break;
        default: r = PyObject_CallFunctionObjArgs(m, args[0], args[1], NULL); break;
        }
    }
    Py_XDECREF(m);
    for (int i = 0; i < n; i++) Py_XDECREF(args[i]);
    return r;
}

static PyObject *why(uint64_t w) {
    if (w >= NWHY) {
        PyErr_Format(PyExc_SystemError, "no enqueue or dequeue reason %llu", (unsigned long long)w);
        return NULL;
    }
    if (!why_str[w]) why_str[w] = PyUnicode_InternFromString(why_names[w]);   /* kept */
    Py_XINCREF(why_str[w]);
    return why_str[w];
}

/* A hook without a result (its answer is dropped), or one asked yes/no. */
static int64_t done(pk_kernel *k, uint32_t hook, PyObject *r) {
    if (!r) return raised(k, hook);
    Py_DECREF(r);
    return 0;
}

static int64_t yes_no(pk_kernel *k, uint32_t hook, PyObject *r) {
    if (!r) return raised(k, hook);
    int y = PyObject_IsTrue(r);
    Py_DECREF(r);
    return y < 0 ? raised(k, hook) : y;
}

static int64_t tid_answer(pk_kernel *k, uint32_t hook, PyObject *r) {
    return r ? number(k, hook, r, MAX_TID) : raised(k, hook);
}

static int64_t dispatch(pk_kernel *k, uint32_t rq, uint32_t hook, uint64_t a, uint64_t b) {
    PyObject *args[2];
    switch (hook) {
    case PK_HOOK_ENQUEUE: case PK_HOOK_DEQUEUE:
        args[0] = PyLong_FromUnsignedLongLong(a), args[1] = why(b);
        return done(k, hook, call(k, rq, hook, args, 2));
    case PK_HP_ENQUEUE_PICK:
        args[0] = PyLong_FromUnsignedLongLong(a), args[1] = why(b);
        if (done(k, PK_HOOK_ENQUEUE, call(k, rq, PK_HOOK_ENQUEUE, args, 2)) < 0) return PK_HP_RAISED;
        return tid_answer(k, PK_HOOK_PICK, call(k, rq, PK_HOOK_PICK, args, 0));
    case PK_HOOK_PICK:
        return tid_answer(k, hook, call(k, rq, hook, args, 0));
    case PK_HOOK_STEAL:
        args[0] = PyLong_FromUnsignedLongLong(a);
        return tid_answer(k, hook, call(k, rq, hook, args, 1));
    case PK_HOOK_SLICE: {
        args[0] = PyLong_FromUnsignedLongLong(a);
        PyObject *r = call(k, rq, hook, args, 1);
        return r ? number(k, hook, r, PK_MAX_TIME) : raised(k, hook);
    }
    case PK_HOOK_TICK:
        args[0] = PyLong_FromUnsignedLongLong(a);
        return yes_no(k, hook, call(k, rq, hook, args, 1));
    case PK_HOOK_CHANGED:
        args[0] = PyLong_FromUnsignedLongLong(a);
        return done(k, hook, call(k, rq, hook, args, 1));
    case PK_HOOK_WAKEUP_PREEMPT:
        args[0] = PyLong_FromUnsignedLongLong(a), args[1] = PyLong_FromUnsignedLongLong(b);
        return yes_no(k, hook, call(k, rq, hook, args, 2));
    case PK_HOOK_CHARGE:
        args[0] = PyLong_FromUnsignedLongLong(a), args[1] = PyLong_FromUnsignedLongLong(b);
        return done(k, hook, call(k, rq, hook, args, 2));
    }
    return PK_HP_RAISED;                /* no such hook: pk_sched_host.c never asks */
}

static int64_t policy_hook(pk_kernel *k, uint32_t rq, uint32_t hook, uint64_t a, uint64_t b) {
    if (k->host_run) {                  /* kept until pk_kernel_run ends (host_leave) */
        pk_py_hold(k);
        return dispatch(k, rq, hook, a, b);
    }
    PyGILState_STATE g = PyGILState_Ensure();
    int64_t r = dispatch(k, rq, hook, a, b);
    PyGILState_Release(g);
    return r;
}

/* Are the hooks in `queues` those the configuration says (params[0]:
 * the optional ones defined), each callable? */
static bool hooks_agree(const pk_kernel *k, PyObject *queues) {
    if (!PyList_Check(queues) || PyList_Size(queues) != (Py_ssize_t)k->nrqs) return false;
    uint64_t bits = k->cfg.params[0];
    for (uint32_t i = 0; i < k->nrqs; i++) {
        PyObject *entry = PyList_GetItem(queues, i);
        if (!PyTuple_Check(entry) || PyTuple_Size(entry) != PK_HOOKS) return false;
        for (uint32_t h = 1; h <= PK_HOOKS; h++) {
            PyObject *m = PyTuple_GetItem(entry, h - 1);
            bool wanted = h <= PK_HOOK_PICK || (bits & (1ull << h));
            if (wanted ? !PyCallable_Check(m) : m != Py_None) return false;
        }
    }
    return true;
}

int pk_host_policy_attach(pk_kernel *k, uint64_t queues, uint64_t failure) {
    if (!k || (!queues) != (!failure)) return PK_ERR_INVALID_ARGS;
    if (k->cfg.policy != PK_POLICY_HOST) return PK_ERR_NOT_SUPPORTED;
    if (k->in_hook || k->host_py.held) return PK_ERR_BAD_STATE;
    PyObject *q = (PyObject *)(uintptr_t)queues, *f = (PyObject *)(uintptr_t)failure;
    PyGILState_STATE g = PyGILState_Ensure();
    int s = PK_OK;
    if (q && (!hooks_agree(k, q) || !PyList_Check(f) || PyList_Size(f) != 1)) {
        s = PK_ERR_INVALID_ARGS;
    } else {
        PyObject *old_q = k->host_pol.queues, *old_f = k->host_pol.failure;
        Py_XINCREF(q);
        Py_XINCREF(f);
        k->host_pol.queues = q;
        k->host_pol.failure = f;
        k->host_hook = q ? policy_hook : NULL;
        if (q) k->host_leave = pk_py_leave;
        Py_XDECREF(old_q);                  /* may run Python code: last */
        Py_XDECREF(old_f);
    }
    PyErr_Clear();
    PyGILState_Release(g);
    return s;
}

/* ---- a run that keeps the interpreter lock ---------------------------------
 * A kernel whose policy is written in Python calls into Python at every
 * switch, so pk_kernel_run takes the lock at once anyway.  Called through
 * cffi, the lock would be given up and taken back twice per slice of the
 * run (by cffi around the call, by pk_py_hold/pk_py_leave inside it), a
 * few milliseconds apart: each time counts as a switch of the lock, so a
 * second host thread waiting for it never waits a whole switch interval
 * (sys.getswitchinterval()) and never asks for it, and gets it only by
 * winning a race it mostly loses.  run_holding calls pk_kernel_run with
 * the lock held throughout; the hooks' Python code then gives it up at
 * the interval as any Python code does, and the waiting thread gets in
 * (to wait for the kernel's lock, which the run lets it take between
 * slices: pykernel/_lock.py). */

static int arg_u64(PyObject *o, uint64_t max, uint64_t *out) {
    uint64_t v = PyLong_AsUnsignedLongLong(o);        /* TypeError, OverflowError */
    if (v == (uint64_t)-1 && PyErr_Occurred()) return -1;
    if (v > max) {
        PyErr_SetString(PyExc_OverflowError, "integer out of range");
        return -1;
    }
    *out = v;
    return 0;
}

static PyObject *run_holding(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *o[6];
    if (!PyArg_UnpackTuple(args, "run_holding", 6, 6, &o[0], &o[1], &o[2], &o[3], &o[4], &o[5]))
        return NULL;
    uint64_t v[6];
    static const uint64_t max[6] = { UINTPTR_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX, UINT64_MAX,
                                     UINTPTR_MAX };
    for (int i = 0; i < 6; i++)
        if (arg_u64(o[i], max[i], &v[i])) return NULL;
    pk_kernel *k = (pk_kernel *)(uintptr_t)v[0];
    pk_stop *stop = (pk_stop *)(uintptr_t)v[5];
    if (!k || !stop) {
        PyErr_SetString(PyExc_ValueError, "run_holding needs a kernel and a stop record");
        return NULL;
    }
    return PyLong_FromLong(pk_kernel_run(k, v[1], v[2], (uint32_t)v[3], v[4], stop));
}

static PyMethodDef run_holding_def = {
    "run_holding", run_holding, METH_VARARGS,
    "run_holding(kernel, until, max_steps, op, arg, stop)\n--\n\n"
    "pk_kernel_run with the interpreter lock held throughout (addresses as ints).",
};

int pk_run_export(uint64_t into) {
    if (!into) return PK_ERR_INVALID_ARGS;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *fn = PyCFunction_NewEx(&run_holding_def, NULL, NULL);
    int s = fn && !PyDict_SetItemString((PyObject *)(uintptr_t)into, "run_holding", fn)
            ? PK_OK : PK_ERR_NO_MEMORY;
    Py_XDECREF(fn);
    PyErr_Clear();
    PyGILState_Release(g);
    return s;
}
