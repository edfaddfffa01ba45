"""CoreMark under pykernel and under qemu-riscv64 (docs/riscv.md, "Performance").

EEMBC CoreMark with its posix port (sources outside the repository:
``$PK_COREMARK``, else ``../shared/riscv/coremark`` from the repository's
root) is compiled here with riscv64-linux-gnu-gcc as its README says
(``-O2 -static``, ``PERFORMANCE_RUN``) and run with the seeds of a
performance run (0, 0, 0x66) and ITERATIONS iterations, as one pykernel
process through Sv39 page tables and a 64-entry TLB, and in the same run
under ``qemu-riscv64``.  CoreMark's CRC lines (seedcrc, crclist,
crcmatrix, crcstate, crcfinal) and its iteration count must be equal in
both; its timing lines differ (pykernel's clock is simulated time), and
both say a run this short is not a valid CoreMark score (under 10 s).

Reported: guest instructions per second of CPU time (user + system) of
the process that runs them, the median of PK_BENCH_ROUNDS rounds each,
and the ratio of CPU times pykernel / qemu.  Skipped, with the reason,
without the cross compiler, qemu-user or the sources.  No timing
assertions."""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import pykernel as pk

ROOT = Path(__file__).resolve().parents[1]
CC, QEMU = "riscv64-linux-gnu-gcc", "qemu-riscv64"
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "3"))
ITERATIONS = 10_000          # qemu-riscv64 takes about 1-2 s of CPU
ARGS = ["0x0", "0x0", "0x66", str(ITERATIONS)]   # seeds of a performance run, iterations


def sources() -> Path:
    env = os.environ.get("PK_COREMARK")
    return Path(env) if env else ROOT.parent / "shared" / "riscv" / "coremark"


@pytest.fixture(scope="module")
def coremark():
    if shutil.which(CC) is None:
        pytest.skip(f"{CC} not found (Debian package gcc-riscv64-linux-gnu)")
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} not found (Debian package qemu-user)")
    src = sources()
    if not (src / "core_main.c").is_file() or not (src / "posix" / "core_portme.c").is_file():
        pytest.skip(f"CoreMark sources not found at {src}: set PK_COREMARK")
    out = Path(tempfile.mkdtemp()) / "coremark"
    subprocess.run([CC, "-O2", "-static", f"-I{src / 'posix'}", f"-I{src}",
                    '-DFLAGS_STR="-O2 -static"', f"-DITERATIONS={ITERATIONS}",
                    "-DPERFORMANCE_RUN=1", *sorted(str(p) for p in src.glob("core_*.c")),
                    str(src / "posix" / "core_portme.c"), "-lrt", "-o", str(out)], check=True)
    return out


def crc_lines(stdout: bytes) -> list[bytes]:
    """CoreMark's results that do not depend on time."""
    return [ln for ln in stdout.splitlines() if b"crc" in ln or ln.startswith(b"Iterations  ")]


def run_pykernel(path):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39", tlb_entries=64))
    p = k.spawn(pk.Program.elf(path), argv=["coremark", *ARGS])
    t0 = time.process_time()
    k.run()
    cpu = time.process_time() - t0
    assert p.exit_code == 0
    return cpu, p.instructions, p.stdout


def run_qemu(path):
    def used():
        u = resource.getrusage(resource.RUSAGE_CHILDREN)
        return u.ru_utime + u.ru_stime
    t0 = used()
    r = subprocess.run([QEMU, str(path), *ARGS], capture_output=True, check=True)
    return used() - t0, 0, r.stdout


def test_coremark_instructions_per_second(benchmark, coremark):
    def rounds():
        pk_runs = [run_pykernel(coremark) for _ in range(ROUNDS)]
        q_runs = [run_qemu(coremark) for _ in range(ROUNDS)]
        return pk_runs, q_runs
    pk_runs, q_runs = benchmark.pedantic(rounds, rounds=1, iterations=1)
    insns, out = pk_runs[0][1], pk_runs[0][2]
    assert all(r[1] == insns and r[2] == out for r in pk_runs)    # deterministic
    crc = crc_lines(out)
    assert len(crc) == 6 and crc == crc_lines(q_runs[0][2])
    cpu = statistics.median(r[0] for r in pk_runs)
    qcpu = statistics.median(r[0] for r in q_runs)
    rate = insns / cpu
    benchmark.extra_info.update({"iterations": ITERATIONS, "instructions": insns,
                                 "pykernel_cpu_seconds": cpu, "qemu_cpu_seconds": qcpu,
                                 "instructions_per_second": rate, "qemu_ratio": cpu / qcpu})
    print(f"\nCoreMark, {ITERATIONS:,} iterations: {insns:,} instructions in {cpu:.2f} s of "
          f"CPU = {rate / 1e6:.0f} M/s through the MMU and TLB; qemu-riscv64, same binary: "
          f"{qcpu:.2f} s = {insns / qcpu / 1e6:.0f} M/s; pykernel / qemu CPU time = "
          f"{cpu / qcpu:.2f} (target <= 4); median of {ROUNDS} rounds each; CRC lines equal")
