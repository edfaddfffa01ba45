"""RISC-V interpretation speed (docs/riscv.md, "Performance").

One compute-heavy static glibc program (bench/riscv_compute.c, compiled
here with riscv64-linux-gnu-gcc) runs as a pykernel process through the
simulated Sv39 page tables and TLB, and in the same run:

- under ``qemu-riscv64`` (user-mode emulation with a JIT): wall time of
  the same binary, same arguments;
- in pykernel with the TLB disabled (``MMU(tlb_entries=0)``): every fetch,
  load and store walks the page table.

Reported, for scale 16 and the median of PK_BENCH_ROUNDS rounds:
interpreted instructions per second of CPU time of the process
that runs them (target >= 200 M/s with the TLB on; CPU time rather than
wall-clock time because the machines are shared: a busy neighbour
stretches wall time, not CPU time), and the ratios pykernel / qemu (CPU
time of the same binary; target <= 4) and TLB on / TLB off.
The outputs of all three runs must be equal.  Costs are the defaults
(instruction time does not change the interpreter's speed).  Skipped
without the cross compiler; the qemu ratio is omitted without qemu-user.
No timing assertions."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import pykernel as pk

HERE = Path(__file__).resolve().parent
CC, QEMU = "riscv64-linux-gnu-gcc", "qemu-riscv64"
ROUNDS = int(os.environ.get("PK_BENCH_ROUNDS", "3"))


@pytest.fixture(scope="module")
def binary():
    if shutil.which(CC) is None:
        pytest.skip(f"{CC} not found (Debian package gcc-riscv64-linux-gnu)")
    out = Path(tempfile.mkdtemp()) / "riscv_compute"
    subprocess.run([CC, "-O2", "-static", "-o", str(out), str(HERE / "riscv_compute.c")],
                   check=True)
    return out


def run_pykernel(path, scale, tlb_entries=64):
    k = pk.Kernel(memory=pk.Memory(), mmu=pk.MMU(format="sv39", tlb_entries=tlb_entries))
    p = k.spawn(pk.Program.elf(path), argv=["riscv_compute", str(scale)])
    t0 = time.process_time()
    k.run()
    cpu = time.process_time() - t0
    assert p.exit_code == 0
    return cpu, p.instructions, p.stdout


def best(fn, *args):
    """The median run (by CPU time) of ROUNDS runs."""
    runs = sorted((fn(*args) for _ in range(ROUNDS)), key=lambda r: r[0])
    return runs[len(runs) // 2]


def test_riscv_instructions_per_second(benchmark, binary):
    scale = 16
    wall, insns, out = benchmark.pedantic(best, args=(run_pykernel, binary, scale),
                                          rounds=1, iterations=1)
    rate = insns / wall
    info = {"instructions": insns, "pykernel_cpu_seconds": wall, "instructions_per_second": rate}
    lines = [f"\nRISC-V: {insns:,} instructions in {wall:.3f} s of CPU = {rate / 1e6:.0f} M/s "
             f"through the MMU and TLB (target >= 200 M/s)"]
    if shutil.which(QEMU):
        def qemu():
            def used():
                u = resource.getrusage(resource.RUSAGE_CHILDREN)
                return u.ru_utime + u.ru_stime
            t0 = used()
            r = subprocess.run([QEMU, str(binary), str(scale)], capture_output=True, check=True)
            return used() - t0, 0, r.stdout
        qwall, _, qout = best(qemu)
        assert qout == out
        info["qemu_cpu_seconds"] = qwall
        lines.append(f"qemu-riscv64, same binary: {qwall:.3f} s; pykernel / qemu CPU time = "
                     f"{wall / qwall:.2f} (target <= 4)")
    nwall, ninsns, nout = best(run_pykernel, binary, 1, 0)
    assert nout.split()[0] != b"" and ninsns > 0
    nrate = ninsns / nwall
    info["no_tlb_instructions_per_second"] = nrate
    lines.append(f"TLB disabled (every access walks): {nrate / 1e6:.0f} M/s; "
                 f"TLB on / TLB off = {rate / nrate:.1f}")
    benchmark.extra_info.update(info)
    print("\n".join(lines))
