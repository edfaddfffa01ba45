"""Futexes on address spaces (docs/objects.md, "Futexes on address
spaces"): with memory, a futex in a private mapping is keyed by (address
space, virtual address) and one in shared memory by (object, offset), as
Linux keys private and shared futexes (futex(2), "FUTEX_PRIVATE_FLAG";
Drepper, "Futexes Are Tricky", 2011, section 2)."""

import pytest

import pykernel as pk

S = pk.op
PAGE = 4096
LONG = 10**9
INVALID_ARGS = -10   # ZX_ERR_INVALID_ARGS (zircon/errors.h); zx_futex_wait: not a valid user pointer


def kernel():
    return pk.Kernel(scheduler=pk.sched.RoundRobin(quantum=10), costs=pk.Costs.zero(),
                     memory=pk.Memory(frames=1 << 12))


def test_processes_mapping_one_object_at_different_addresses_share_a_futex():
    k = kernel()
    shm = k.shared_memory(PAGE)
    waiter = k.spawn(pk.Program.script("w", [S.map(0x10000, PAGE, shared=shm),
                                             S.futex_wait(0x10008, 0), S.compute(5)]))
    waker = k.spawn(pk.Program.script("k", [S.map(0x70000, PAGE, shared=shm), S.compute(50),
                                            S.futex_wake(0x70008, 1)]))
    r = k.run(until=LONG)
    assert r.reason == "idle"
    assert waiter.threads[0].registers.x[14] == 0          # woken: OK


def test_shared_word_set_in_one_process_is_read_in_the_other():
    k = kernel()
    shm = k.shared_memory(PAGE)
    a = k.spawn(pk.Program.script("a", [S.map(0x10000, PAGE, shared=shm), S.sleep(LONG)]))
    b = k.spawn(pk.Program.script("b", [S.map(0x30000, PAGE, shared=shm), S.sleep(LONG)]))
    k.run(until=100)
    a.futex_set(0x10004, 7)
    assert b.futex_get(0x30004) == 7


def test_private_mappings_at_one_address_do_not_share_a_futex():
    k = kernel()
    waiter = k.spawn(pk.Program.script("w", [S.map(0x10000, PAGE),
                                             S.futex_wait(0x10008, 0, timeout=1000)]))
    k.spawn(pk.Program.script("k", [S.map(0x10000, PAGE), S.compute(50),
                                    S.futex_wake(0x10008, 1)]))
    k.run(until=LONG)
    assert waiter.threads[0].registers.x[14] - 2**64 == -21   # TIMED_OUT, not woken


def test_futex_wait_on_an_unmapped_address_is_invalid_args():
    k = kernel()
    p = k.spawn(pk.Program.script("w", [S.futex_wait(0x500000, 0), S.compute(5)]))
    k.run(until=LONG)
    assert p.threads[0].registers.x[14] - 2**64 == INVALID_ARGS


def test_futex_set_on_an_unmapped_address_raises():
    k = kernel()
    p = k.spawn(pk.Program.script("w", [S.sleep(LONG)]))
    with pytest.raises(pk.InvalidArgs):
        p.futex_set(0x500000, 1)


def test_share_futexes_is_not_supported_with_memory():
    k = kernel()
    a = k.spawn(pk.Program.script("a", [S.sleep(LONG)]))
    b = k.spawn(pk.Program.script("b", [S.sleep(LONG)]))
    with pytest.raises(pk.NotSupported):
        b.share_futexes(a)


def test_without_memory_futexes_stay_per_process():
    k = pk.Kernel(costs=pk.Costs.zero())
    a = k.spawn(pk.Program.script("a", [S.sleep(LONG)]))
    b = k.spawn(pk.Program.script("b", [S.sleep(LONG)]))
    a.futex_set(0x500000, 3)
    assert (a.futex_get(0x500000), b.futex_get(0x500000)) == (3, 0)
