/* pk_py.h - what the C files of csrc/py/ share: the interpreter lock of
 * one pk_kernel_run.
 *
 * cffi releases the lock around every call into the core.  Inside
 * pk_kernel_run (k->host_run), the first path into Python that needs it
 * (a generator step, pk_upcall.c; a policy hook, pk_policy_upcall.c)
 * takes it with pk_py_hold and keeps it; pk_kernel_run gives it back at
 * its end through k->host_leave (pk_py_leave), so that one run takes it
 * once however many times it calls into Python. */
#ifndef PK_PY_H
#define PK_PY_H
#include <Python.h>
#include "pk_core.h"

static inline void pk_py_hold(pk_kernel *k) {
    if (!k->host_py.held) {
        k->host_py.gil = (int)PyGILState_Ensure();
        k->host_py.held = 1;
    }
}

static inline void pk_py_leave(pk_kernel *k) {
    if (!k->host_py.held) return;
    k->host_py.held = 0;
    PyGILState_Release((PyGILState_STATE)k->host_py.gil);
}

/* The pending exception, normalized with its traceback, as a new
 * reference; the error indicator is cleared. */
static inline PyObject *pk_py_exception(void) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value && tb) PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
}

#endif
