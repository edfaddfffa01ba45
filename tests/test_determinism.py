"""Determinism: the same inputs give the same run, bit for bit.

Kernel.digest: "Two runs with the same inputs and seed have the same
digest." Kernel.random: xoshiro256** seeded by splitmix64 from ``seed``
(Blackman & Vigna, "Scrambled linear pseudorandom number generators",
2018; reference C code at https://prng.di.unimi.it/xoshiro256starstar.c
and https://prng.di.unimi.it/splitmix64.c). The reference implementation
below is written from that published code, independently of pykernel.
"""

import pykernel as pk
from conftest import make_kernel

S = pk.op
MASK = (1 << 64) - 1


# ---- independent reference implementation -----------------------------------

def splitmix64_stream(seed):
    """splitmix64.c: x += 0x9e3779b97f4a7c15, then the mix function."""
    x = seed
    while True:
        x = (x + 0x9E3779B97F4A7C15) & MASK
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def xoshiro256starstar(seed, n):
    """xoshiro256starstar.c next(), state s[0..3] from four splitmix64 outputs."""
    sm = splitmix64_stream(seed)
    s = [next(sm) for _ in range(4)]
    out = []
    for _ in range(n):
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        out.append(result)
    return out


def test_reference_splitmix64_matches_published_first_output():
    # The first splitmix64 output for seed 0 is 0xe220a8397b1dcdaf (the
    # value quoted with Vigna's splitmix64.c and in many ports' test
    # vectors); this checks the reference, not pykernel.
    assert next(splitmix64_stream(0)) == 0xE220A8397B1DCDAF


# ---- the generator ------------------------------------------------------------

def test_random_matches_reference_xoshiro256starstar():
    for seed in (0, 1, 42, 2**63, 2**64 - 1):
        assert pk.Kernel(seed=seed).random(5) == xoshiro256starstar(seed, 5), seed


def test_random_seed_0_first_values():
    # Literal values of the reference above for seed 0.
    assert pk.Kernel(seed=0).random(3) == [
        0x99EC5F36CB75F2B4, 0xBF6E1F784956452A, 0x1A5F849D4933E6E0]


def test_random_same_seed_same_sequence():
    assert pk.Kernel(seed=7).random(10) == pk.Kernel(seed=7).random(10)


def test_random_different_seed_different_sequence():
    assert pk.Kernel(seed=7).random(10) != pk.Kernel(seed=8).random(10)


def test_random_continues_the_stream_across_calls():
    k = pk.Kernel(seed=3)
    assert k.random(2) + k.random(3) == xoshiro256starstar(3, 5)


def test_random_zero_draws_is_empty():
    assert pk.Kernel(seed=3).random(0) == []


def test_random_values_are_64_bit():
    assert all(0 <= v <= MASK for v in pk.Kernel(seed=5).random(100))


# ---- digests ---------------------------------------------------------------------

def mixed_workload(k, io_ns=7):
    """Scripts and Python bodies that compute, block, sleep and yield."""
    def worker(ctx, n):
        for i in range(n):
            yield ctx.compute(3 + i)
            yield ctx.io(io_ns)
            yield ctx.yield_()
        return n

    k.spawn(pk.Program.script("cpu", [S.compute(25)]))
    k.spawn(pk.Program.script("io", [S.loop(4, [S.compute(2), S.io(io_ns)])]), at=3)
    k.spawn(pk.Program.script("nap", [S.compute(1), S.sleep(11), S.compute(6)]), at=5)
    k.spawn(pk.Program.python("py", worker), args=(3,), burst=12)
    k.spawn(pk.Program.python("py", worker), args=(2,), at=4, burst=7)


def digest_of(policy, cpus=1, io_ns=7, costs=None):
    k = make_kernel(policy, cpus=cpus, costs=costs)
    mixed_workload(k, io_ns=io_ns)
    r = k.run()
    assert r.reason == "idle"
    return k.digest()


def test_fresh_kernel_digest_is_reproducible():
    assert make_kernel().digest() == make_kernel().digest()


def test_identical_runs_have_identical_digests():
    for policy in (pk.sched.FIFO(), pk.sched.SJF(), pk.sched.STCF(),
                   pk.sched.RoundRobin(quantum=4), pk.sched.Priority(preemptive=True)):
        assert digest_of(policy) == digest_of(policy), policy


def test_identical_multicpu_runs_with_switch_costs_have_identical_digests():
    costs = pk.Costs(switch=2)
    assert (digest_of(pk.sched.RoundRobin(quantum=3), cpus=3, costs=costs)
            == digest_of(pk.sched.RoundRobin(quantum=3), cpus=3, costs=costs))


def test_identical_runs_have_identical_statistics():
    def table():
        k = make_kernel(pk.sched.RoundRobin(quantum=4), cpus=2)
        mixed_workload(k)
        k.run()
        return k.processes.table(), k.stats
    assert table() == table()


def test_changing_one_duration_changes_the_digest():
    rr = pk.sched.RoundRobin(quantum=4)
    assert digest_of(rr, io_ns=7) != digest_of(rr, io_ns=8)


def test_changing_the_policy_changes_the_digest():
    assert digest_of(pk.sched.FIFO()) != digest_of(pk.sched.RoundRobin(quantum=4))


def test_changing_the_cpu_count_changes_the_digest():
    rr = pk.sched.RoundRobin(quantum=4)
    assert digest_of(rr, cpus=1) != digest_of(rr, cpus=2)


def test_digest_advances_as_the_run_proceeds():
    k = make_kernel(pk.sched.FIFO())
    k.spawn(pk.Program.script("cpu", [S.compute(10)]))
    d0 = k.digest()
    k.run(until=5)
    d1 = k.digest()
    k.run()
    assert len({d0, d1, k.digest()}) == 3
