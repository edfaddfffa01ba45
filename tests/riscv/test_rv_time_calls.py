"""The wall clock of machine-code processes (``Kernel(epoch=...)``),
sched_getaffinity and mremap: what only pykernel can be asked, the values
themselves (tests/riscv/test_programs.py compares the same program,
tests/riscv/progs/timemap.c, with qemu-riscv64 on relations that hold on
any Linux).
"""

from __future__ import annotations

import datetime
import re

import pytest

from rvrun import program  # noqa: F401 (a fixture)

import pykernel as pk
from pykernel._ffi import lib

UTC = datetime.timezone.utc


def run_raw(path, **kernel):
    """timemap's "raw" readings, and the kernel it ran on."""
    spawn = {"affinity": kernel.pop("affinity")} if "affinity" in kernel else {}
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"), **kernel)
    p = k.spawn(pk.Program.elf(str(path)), argv=["timemap", "raw"], **spawn)
    k.run()
    assert (p.state, p.exit_code) == ("exited", 0)
    out = bytes(p.stdout).decode()
    return {m[0]: m[1].split() for m in re.findall(r"^([a-z ]+?) (-?\d.*)$", out, re.M)}, k


def test_default_epoch_is_2000_01_01():
    assert pk.Kernel().epoch == 946_684_800 == pk.riscv.DEFAULT_EPOCH
    assert datetime.datetime.fromtimestamp(946_684_800, UTC) == datetime.datetime(2000, 1, 1, tzinfo=UTC)


def test_time_reads_the_default_epoch_plus_simulated_time(program):
    """The program runs for less than a second of simulated time, so
    time(2) and CLOCK_REALTIME read the epoch's second, CLOCK_MONOTONIC
    second 0."""
    got, k = run_raw(program("timemap"))
    assert k.now < 1_000_000_000
    assert got["time"] == ["946684800"]
    assert got["realtime"][0] == "946684800"
    assert got["monotonic"][0] == "0"
    assert got["tai"] == ["946684800"]          # Linux starts the TAI offset at 0
    assert got["gettimeofday"][0] == "946684800"


def test_realtime_and_monotonic_share_the_nanoseconds(program):
    """Both clocks advance with simulated time and the epoch is whole
    seconds: the realtime reading (taken first) has nanoseconds no later
    than the monotonic one; gettimeofday's microseconds come after both."""
    got, _ = run_raw(program("timemap"))
    rt, mono = int(got["realtime"][1]), int(got["monotonic"][1])
    assert 0 < rt <= mono < 1_000_000_000
    assert mono // 1000 <= int(got["gettimeofday"][1])


def test_epoch_as_int(program):
    got, k = run_raw(program("timemap"), epoch=1_700_000_000)
    assert k.epoch == 1_700_000_000
    assert got["time"] == ["1700000000"]


def test_epoch_as_datetime(program):
    when = datetime.datetime(2024, 2, 29, 12, 30, tzinfo=UTC)       # 1709209800
    got, k = run_raw(program("timemap"), epoch=when)
    assert k.epoch == 1_709_209_800
    assert got["time"] == ["1709209800"]


def test_epoch_in_another_time_zone_is_the_same_instant():
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    assert pk.Kernel(epoch=datetime.datetime(2000, 1, 1, 2, 0, tzinfo=plus2)).epoch == 946_684_800


@pytest.mark.parametrize("bad,exc", [
    (-1, ValueError),                         # clock_settime(2): EINVAL for a negative time
    (lib.PK_EPOCH_MAX + 1, ValueError),       # past Linux's KTIME_SEC_MAX
    (datetime.datetime(2000, 1, 1), ValueError),                 # no time zone
    (datetime.datetime(2000, 1, 1, 0, 0, 0, 5, tzinfo=UTC), ValueError),
    (1.5, TypeError), (True, TypeError), ("2000", TypeError),
])
def test_epoch_refused(bad, exc):
    with pytest.raises(exc, match="epoch"):
        pk.Kernel(epoch=bad)


def test_largest_epoch_is_ktime_sec_max():
    assert lib.PK_EPOCH_MAX == (2**63 - 1) // 10**9
    assert pk.Kernel(epoch=lib.PK_EPOCH_MAX).epoch == lib.PK_EPOCH_MAX


def test_epoch_survives_a_snapshot(program):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"), epoch=1_234_567_890)
    p = k.spawn(pk.Program.elf(str(program("timemap"))), argv=["timemap", "raw"])
    k2 = pk.Kernel.restore(k.snapshot())
    assert k2.epoch == 1_234_567_890
    k2.run()
    q = k2.process(p.pid)
    assert bytes(q.stdout).startswith(b"time 1234567890\n")


def test_absolute_realtime_waits_end_in_simulated_milliseconds(program):
    """clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME) and sem_timedwait
    (a futex wait with FUTEX_CLOCK_REALTIME) measure their deadlines on the
    wall clock: 1 ms and 2 ms ahead, not epoch seconds."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    p = k.spawn(pk.Program.elf(str(program("timemap"))), argv=["timemap"])
    k.run()
    assert (p.state, p.exit_code) == ("exited", 0)
    assert 3_000_000 <= k.now < 1_000_000_000


def test_sched_getaffinity_gives_the_threads_cpus(program):
    """kernel/sched/core.c: the mask is the thread's allowed CPUs, written
    in min(len, cpumask_size()) bytes, and that count is returned; here
    cpumask_size() is nr_cpu_ids bits rounded to longs (4 CPUs: 8 bytes)."""
    got, _ = run_raw(program("timemap"), cpus=4, runqueues="per-cpu", affinity={1, 3})
    assert got["affinity bytes"] == ["8", "mask", "000000000000000a"]


def test_sched_getaffinity_size_follows_the_cpu_count(program):
    got, _ = run_raw(program("timemap"), cpus=100, runqueues="per-cpu")
    assert got["affinity bytes"] == ["16", "mask", "ffffffffffffffff", "0000000fffffffff"]


def test_mremap_new_size_zero_is_einval(program):
    """mremap(2): EINVAL when new_size is zero (qemu-riscv64 7.2 answers
    ENOMEM itself, so this is checked here, not against it)."""
    got, _ = run_raw(program("timemap"))
    assert got["mremap new size"] == ["0", "-22"]


def test_mremap_dontunmap_leaves_the_old_range_empty(program):
    """mremap(2), MREMAP_DONTUNMAP (Linux 5.7): the pages move, the old
    range stays mapped and reads zero."""
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    p = k.spawn(pk.Program.elf(str(program("timemap"))), argv=["timemap", "raw"])
    k.run()
    assert b"dontunmap moved 1 keeps 1 old range mapped and zero 1\n" in bytes(p.stdout)


def test_new_calls_are_no_longer_unknown(program):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39"))
    p = k.spawn(pk.Program.elf(str(program("timemap"))), argv=["timemap"])
    k.run()
    assert not {123, 169, 216} & set(p.syscalls_unknown)
