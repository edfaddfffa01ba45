"""Output of machine code as a stop of the run (docs/architecture.md,
"The stop record"; docs/riscv.md, "Spawning, output, input").

A stream the host consumes as it is written (``spawn(stdout=fn)``,
``Process.on_stdout``) is watched by the core (``pk_rv_watch``): each
step in which the process writes to it ends ``pk_kernel_run`` with
``PK_STOP_OUTPUT``, whose record names the writer, and the run loop hands
the bytes over then.  So callables get chunks in the order they were
written (write(2): the bytes are in the stream when the call returns),
and a stream nobody watches never stops the run.

The programs are assembled here (rvasm): no cross compiler needed.
"""

from __future__ import annotations

from rvasm import Asm

import pykernel as pk
from pykernel._ffi import FOREVER, ffi, lib

SYS_WRITE, SYS_CLONE, SYS_YIELD = 64, 220, 124
SIGCHLD = 17


def kernel() -> pk.Kernel:
    return pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"), scheduler=pk.sched.FIFO(),
                     costs=pk.Costs.zero())


def writer(*chunks: tuple[int, bytes], yield_between: bool = True) -> pk.Program:
    """write(fd, chunk) for each (fd, chunk), with sched_yield between."""
    a = Asm()
    for i, (fd, data) in enumerate(chunks):
        at = a.data(data)
        a.li("a0", fd)
        a.li("a1", at)
        a.li("a2", len(data))
        a.syscall(SYS_WRITE)
        if yield_between and i + 1 < len(chunks):
            a.syscall(SYS_YIELD)
    a.exit(0)
    return pk.Program.elf(a.elf())


def stops(k: pk.Kernel) -> list[tuple[int, int, int]]:
    """(why, pid, tid) of every stop of a run to the end, calling the core
    directly."""
    stop = ffi.new("pk_stop *")
    seen = []
    while True:
        r = lib.pk_kernel_run(k._kp, FOREVER, 1 << 30, 0, 0, stop)
        seen.append((r, stop.pid, stop.tid))
        if r != lib.PK_STOP_OUTPUT:
            return seen


def test_a_write_to_a_watched_stream_stops_the_run_naming_the_writer():
    k = kernel()
    p = k.spawn(writer((1, b"ab")))
    assert lib.pk_rv_watch(k._kp, p.pid, 1, 1) == 0
    stop = ffi.new("pk_stop *")
    assert lib.pk_kernel_run(k._kp, FOREVER, 1 << 30, 0, 0, stop) == lib.PK_STOP_OUTPUT
    assert (stop.why, stop.pid, stop.tid) == (lib.PK_STOP_OUTPUT, p.pid, p.threads[0].tid)
    assert p.stdout == b"ab"                      # the bytes are there when the run stops
    assert p.state == "alive"                     # and the process has not gone on to exit
    assert lib.pk_kernel_run(k._kp, FOREVER, 1 << 30, 0, 0, stop) == lib.PK_STOP_IDLE
    assert p.exit_code == 0


def test_a_stream_nobody_watches_never_stops_the_run():
    k = kernel()
    p = k.spawn(writer((1, b"ab"), (2, b"cd")))
    assert [why for why, _, _ in stops(k)] == [lib.PK_STOP_IDLE]
    assert (p.stdout, p.stderr) == (b"ab", b"cd")


def test_only_the_watched_stream_of_a_process_stops_the_run():
    k = kernel()
    p = k.spawn(writer((1, b"out"), (2, b"err"), (1, b"put")))
    assert lib.pk_rv_watch(k._kp, p.pid, 2, 1) == 0
    assert [why for why, _, _ in stops(k)] == [lib.PK_STOP_OUTPUT, lib.PK_STOP_IDLE]


def test_unwatching_a_stream_ends_its_stops():
    k = kernel()
    p = k.spawn(writer((1, b"a"), (1, b"b")))
    assert lib.pk_rv_watch(k._kp, p.pid, 1, 1) == 0
    assert lib.pk_rv_watch(k._kp, p.pid, 1, 0) == 0
    assert [why for why, _, _ in stops(k)] == [lib.PK_STOP_IDLE]


def test_callables_of_two_processes_get_chunks_in_the_order_written():
    # FIFO on one CPU: sched_yield(2) puts the caller at the end of the
    # queue, so the writes alternate A1, B1, A2, B2
    k = kernel()
    got = []
    k.spawn(writer((1, b"A1"), (1, b"A2")), stdout=lambda b: got.append(("A", b)))
    k.spawn(writer((2, b"B1"), (2, b"B2")), stderr=lambda b: got.append(("B", b)))
    k.run()
    assert got == [("A", b"A1"), ("B", b"B1"), ("A", b"A2"), ("B", b"B2")]


def test_a_process_s_two_streams_reach_their_callables_in_the_order_written():
    k = kernel()
    got = []
    k.spawn(writer((1, b"x"), (2, b"y"), (1, b"z"), yield_between=False),
            stdout=lambda b: got.append((1, b)), stderr=lambda b: got.append((2, b)))
    k.run()
    assert got == [(1, b"x"), (2, b"y"), (1, b"z")]


def test_output_callables_do_not_change_the_run():
    def run(watch: bool):
        k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"), cpus=2, seed=3)
        kw = dict(stdout=[].append, stderr=[].append) if watch else {}
        for i in range(3):
            k.spawn(writer((1, b"o%d" % i), (2, b"e%d" % i), (1, b"p%d" % i)), **kw)
        k.run()
        return k.now, k.digest(), [(p.stdout, p.stderr) for p in k.processes]
    assert run(True) == run(False)


def test_a_forked_child_does_not_inherit_the_watch():
    # clone(SIGCHLD, 0, ...) is fork(2): the child (a0 == 0) writes "c",
    # the parent "p"; only the parent's stdout is watched
    a = Asm()
    child, parent = a.data(b"c"), a.data(b"p")
    a.li("a0", SIGCHLD)
    for reg in ("a1", "a2", "a3", "a4"):
        a.li(reg, 0)
    a.syscall(SYS_CLONE)
    a.bne("a0", "zero", "parent")
    a.write_out(child, 1)
    a.exit(0)
    a.label("parent")
    a.write_out(parent, 1)
    a.exit(0)
    k = kernel()
    p = k.spawn(pk.Program.elf(a.elf()))
    assert lib.pk_rv_watch(k._kp, p.pid, 1, 1) == 0
    seen = stops(k)
    c = k.process(p.pid + 1)                      # pids in order of creation
    assert (p.stdout, c.stdout) == (b"p", b"c")
    assert [(why, pid) for why, pid, _ in seen[:-1]] == [(lib.PK_STOP_OUTPUT, p.pid)]


def test_a_restored_kernel_watches_nothing_until_a_callable_is_attached():
    k = kernel()
    p = k.spawn(writer((1, b"a"), (1, b"b")), stdout=[].append)
    k2 = pk.Kernel.restore(k.snapshot())
    assert [why for why, _, _ in stops(k2)] == [lib.PK_STOP_IDLE]
    assert k2.process(p.pid).stdout == b"ab"


def test_watch_refuses_other_descriptors_and_script_processes():
    k = kernel()
    p = k.spawn(writer((1, b"a")))
    s = k.spawn(pk.Program.script("s", [pk.op.compute(10)]))
    assert lib.pk_rv_watch(k._kp, p.pid, 0, 1) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_rv_watch(k._kp, p.pid, 3, 1) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_rv_watch(k._kp, p.pid, 1, 2) == lib.PK_ERR_INVALID_ARGS
    assert lib.pk_rv_watch(k._kp, s.pid, 1, 1) == lib.PK_ERR_NOT_SUPPORTED
