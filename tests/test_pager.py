"""Virtual memory, layer 5: a page-fault handler written in Python, a
user-space pager in the manner of Linux's userfaultfd (man 2
userfaultfd: faults on registered ranges are delivered to a handler,
which resolves them, e.g. UFFDIO_ZEROPAGE) (docs/memory.md, "A pager in
Python")."""

import pytest

import pykernel as pk

S = pk.op
PAGE = 4096
BASE = 0x10000


def kernel():
    return pk.Kernel(costs=pk.Costs.zero(), memory=pk.Memory(), scheduler=pk.sched.FIFO())


def test_handler_sees_each_missing_page_once_and_grants_it():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 4 * PAGE, userfault=True),
                                        S.touch_range(BASE, 4 * PAGE), S.touch(BASE, write=True),
                                        S.compute(5)]))
    seen = []
    p.aspace.set_fault_handler(lambda req: seen.append((req.address, req.write, req.tid)))
    assert k.run().reason == "idle"
    assert seen == [(BASE + i * PAGE, False, 0) for i in range(4)]
    assert p.state == "exited" and p.aspace.stats.minor_faults == 4


def test_handler_runs_at_the_instant_of_the_fault():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, userfault=True), S.compute(700),
                                        S.touch(BASE)]))
    times = []
    p.aspace.set_fault_handler(lambda req: times.append(k.now))
    k.run()
    assert times == [700]


def test_refusing_a_page_kills_only_that_process():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, 2 * PAGE, userfault=True), S.touch(BASE),
                                        S.touch(BASE + PAGE)]))
    q = k.spawn(pk.Program.script("q", [S.compute(10)]))
    p.aspace.set_fault_handler(lambda req: req.address == BASE)
    k.run()
    assert p.kill_reason == "segmentation fault"
    assert p.aspace.fault == pk.Fault("no page from the fault handler", BASE + PAGE)
    assert q.state == "exited"


def test_no_handler_means_the_fault_kills():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, userfault=True), S.touch(BASE)]))
    k.run()
    assert p.aspace.fault.kind == "no page from the fault handler"


def test_handler_exception_kills_and_propagates():
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, userfault=True), S.touch(BASE)]))

    def bad(req):
        raise RuntimeError("pager crashed")
    p.aspace.set_fault_handler(bad)
    with pytest.raises(RuntimeError, match="pager crashed"):
        k.run()
    k.run()
    assert p.kill_reason == "segmentation fault"


def test_handler_may_change_the_kernel_between_faults():
    # the handler runs outside the core: it may map more memory, spawn...
    k = kernel()
    p = k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, userfault=True), S.touch(BASE),
                                        S.touch(BASE + 8 * PAGE)]))

    def pager(req):
        req.process.aspace.map(BASE + 8 * PAGE, PAGE)
    p.aspace.set_fault_handler(pager)
    k.run()
    assert p.state == "exited"


def test_two_threads_of_one_process_faulting_on_two_cpus_are_told_apart():
    # userfaultfd reports the faulting thread (man 2 userfaultfd: the
    # uffd_msg's pagefault.feat.ptid): the stop record carries the thread
    # whose access faulted and its CPU, whatever else runs the process.
    # Thread 1 (tid 1, made by spawn_thread) runs on CPU 1 and faults at
    # 100 ns while tid 0 computes on CPU 0; tid 0 faults at 200 ns.
    k = pk.Kernel(cpus=2, costs=pk.Costs.zero(), memory=pk.Memory(), scheduler=pk.sched.FIFO())
    p = k.spawn(pk.Program.script("p", [
        S.map(BASE, 2 * PAGE, userfault=True),
        S.spawn_thread([S.compute(100), S.touch(BASE + PAGE)]),
        S.compute(200), S.touch(BASE)]))
    seen = []
    p.aspace.set_fault_handler(lambda req: seen.append((k.now, req.address, req.tid, req.cpu)))
    assert k.run().reason == "idle"
    assert seen == [(100, BASE + PAGE, 1, 1), (200, BASE, 0, 0)]


def test_a_run_stopped_for_the_pager_says_so_in_its_stop_record():
    # pk_kernel_run's stop record (csrc/core/pk_api.h, pk_stop): PK_STOP_PAGER,
    # the thread, its CPU and process, the page's address, the instant
    from pykernel._ffi import ffi, lib
    k = kernel()
    k.spawn(pk.Program.script("p", [S.map(BASE, PAGE, userfault=True), S.compute(300),
                                    S.touch(BASE + 5)]))
    stop = ffi.new("pk_stop *")
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_STOP_PAGER
    assert (stop.why, stop.tid, stop.cpu, stop.pid, stop.arg, stop.now) == (
        lib.PK_STOP_PAGER, 0, 0, 0, BASE, 300)
    # unanswered, the next run reports the same fault again
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_STOP_PAGER
    assert (stop.tid, stop.pid, stop.arg) == (0, 0, BASE)
    f = ffi.new("pk_pager_fault *")
    assert lib.pk_vm_pager_next(k._kp, f) == 0 and (f.tid, f.va) == (0, BASE)
    # read but unanswered: the run refuses until the answer
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_ERR_BAD_STATE
    assert lib.pk_vm_pager_answer(k._kp, 1) == 0
    assert lib.pk_kernel_run(k._kp, 10**9, 1 << 20, 0, 0, stop) == lib.PK_STOP_IDLE
    assert (stop.why, stop.tid, stop.arg) == (lib.PK_STOP_IDLE, lib.PK_ALL_THREADS, 0)


def test_pager_core_entry_points_refuse_bad_state():
    from pykernel._ffi import ffi, lib
    k = kernel()
    f = ffi.new("pk_pager_fault *")
    assert lib.pk_vm_pager_next(k._kp, f) == lib.PK_ERR_BAD_STATE
    assert lib.pk_vm_pager_answer(k._kp, 1) == lib.PK_ERR_BAD_STATE
    assert lib.pk_vm_pager_answer(k._kp, 7) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_vm_pager_next(k._kp, ffi.NULL) == lib.PK_ERR_INVALID_ARGS


def test_python_threads_get_demand_zero_pages_in_userfault_regions():
    def body(ctx):
        yield ctx.compute(1)
        yield ctx.touch(BASE)
        return 0
    k = kernel()
    p = k.spawn(pk.Program.python("py", body))
    p.aspace.map(BASE, PAGE, userfault=True)
    p.aspace.set_fault_handler(lambda req: False)
    k.run()
    assert p.state == "exited"
