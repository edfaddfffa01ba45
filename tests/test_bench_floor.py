"""The shuffled benchmark floor, pk_bench_bare_switch_shuffled (csrc/core/pk_bench.c):
its argument checks and its checksum, which bench/ relies on being a real
computation over every record."""

from pykernel._ffi import lib


def test_zero_records_is_refused_with_checksum_0():
    assert lib.pk_bench_bare_switch_shuffled(0, 100, 1) == 0


def test_more_than_2_pow_24_records_is_refused():
    assert lib.pk_bench_bare_switch_shuffled((1 << 24) + 1, 1, 1) == 0


def test_one_record_counts_every_switch_twice():
    # one record: each switch saves live (x1 incremented) into it and
    # reloads it, so after s switches live.x1 == record.x1 == s and the
    # checksum live.x1 + 1 * record.x1 is 2 s.
    assert lib.pk_bench_bare_switch_shuffled(1, 1000, 7) == 2000


def test_two_records_alternate():
    # n = 2 has one cycle, 0 -> 1 -> 0.  Switch 1 stores x1 = 1 into
    # record 0 and loads record 1 (x1 = 0); switch 2 stores x1 = 1 into
    # record 1 and loads record 0 (x1 = 1).  Checksum: live.x1 + 1 * 1 + 2 * 1.
    assert lib.pk_bench_bare_switch_shuffled(2, 2, 123) == 4


def test_same_seed_same_checksum():
    a = lib.pk_bench_bare_switch_shuffled(1000, 5000, 42)
    assert a == lib.pk_bench_bare_switch_shuffled(1000, 5000, 42)
