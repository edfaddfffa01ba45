"""Run pykernel's fuzz targets (fuzz/targets.py) for a bounded time.

    python fuzz/run.py --minutes 10            # every target, time split evenly
    python fuzz/run.py --seconds 60 --targets api,script
    python fuzz/run.py --replay                # run the committed corpus once
    python fuzz/run.py --merge                 # keep the work inputs that add coverage

Each target runs in its own process (libFuzzer ends the process it runs
in).  The engine is atheris (``pip install 'pykernel-sim[fuzz]'``), which
mutates inputs guided by the coverage of pykernel's Python code; without
atheris, or with ``--engine random``, a plain random engine runs the same
targets: every known input once as it is, then random bytes and
byte-level mutations of them, seeded.  With GCC's AddressSanitizer
preloaded the default is the random engine (that runtime takes over the
coverage hooks atheris needs), so a sanitizer run replays and mutates
the corpus a coverage-guided run grew in the same ``--work``.

Inputs start from fuzz/corpus/<target>/ (committed; the scenario corpus
holds examples/*.toml) and grow in a work directory (``--work``, default
$TMPDIR/pykernel-fuzz/<target>), so a later run continues from there.  An
input that makes a target fail is written to ``--crashes`` (default
fuzz/crashes/) as <target>-crash-<sha1>; the run then stops with status 1
after printing the traceback.  To keep a finding as a regression test,
fix it, then move the file into fuzz/corpus/<target>/, where
tests/test_fuzz_corpus.py replays it.

For the C core under AddressSanitizer and UBSan, run this with the
sanitizer build installed and its runtime preloaded (docs/trust.md).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"


def _targets():
    sys.path.insert(0, str(HERE))
    import targets
    return targets


def corpus_files(target: str) -> list[Path]:
    """The committed inputs of a target, sorted."""
    d = CORPUS / target
    return sorted(p for p in d.iterdir() if p.is_file()) if d.is_dir() else []


# ---- one target, in this process ------------------------------------------------------

def _save_crash(crashes: Path, target: str, data: bytes) -> Path:
    crashes.mkdir(parents=True, exist_ok=True)
    path = crashes / f"{target}-crash-{hashlib.sha1(data).hexdigest()}"
    path.write_bytes(data)
    return path


def _worker_random(target: str, seconds: float, work: Path, crashes: Path, seed: int) -> int:
    """The random engine: fresh random inputs and mutations of known ones."""
    fn = _targets().TARGETS[target]
    pool = [p.read_bytes() for p in corpus_files(target)]
    pool += [p.read_bytes() for p in sorted(work.iterdir()) if p.is_file()][:5000]
    rnd = random.Random(seed)
    start, n = time.monotonic(), 0
    for data in pool:                               # first every known input as it is
        if time.monotonic() - start >= seconds:
            break
        n += 1
        try:
            fn(data)
        except Exception:  # noqa: BLE001 - a finding
            path = _save_crash(crashes, target, data)
            traceback.print_exc()
            print(f"finding: {path}", file=sys.stderr)
            print(f"stat::number_of_executed_units: {n}", file=sys.stderr)
            return 1
    while time.monotonic() - start < seconds:
        if pool and rnd.random() < 0.7:
            data = bytearray(rnd.choice(pool))
            for _ in range(rnd.randrange(1, 8)):
                i = rnd.randrange(len(data) + 1)
                c = rnd.random()
                if c < 0.4 and i < len(data):
                    data[i] = rnd.randrange(256)
                elif c < 0.7:
                    data[i:i] = rnd.randbytes(rnd.randrange(1, 9))
                else:
                    del data[i:i + rnd.randrange(1, 9)]
            data = bytes(data)
        else:
            data = rnd.randbytes(rnd.randrange(0, 512))
        n += 1
        try:
            fn(data)
        except Exception:  # noqa: BLE001 - a finding
            path = _save_crash(crashes, target, data)
            traceback.print_exc()
            print(f"finding: {path}", file=sys.stderr)
            print(f"stat::number_of_executed_units: {n}", file=sys.stderr)
            return 1
    print(f"stat::number_of_executed_units: {n}", file=sys.stderr)
    return 0


def _lines(fn, data: bytes) -> set:
    """The lines of pykernel and the targets that fn(data) runs."""
    seen = set()

    def tracer(frame, event, arg):
        f = frame.f_code.co_filename
        if "pykernel" not in f and "targets" not in f:
            return None
        if event == "line":
            seen.add((f, frame.f_lineno))
        return tracer

    sys.settrace(tracer)
    try:
        fn(data)
    except Exception:  # noqa: BLE001 - a finding: kept all the same
        pass
    finally:
        sys.settrace(None)
    return seen


def merge(target: str, work: Path) -> int:
    """Copy into fuzz/corpus/<target>/ the work inputs (smallest first)
    that run a line of Python no committed input runs; how many."""
    fn = _targets().TARGETS[target]
    dest = CORPUS / target
    dest.mkdir(parents=True, exist_ok=True)
    covered = set()
    for p in corpus_files(target):
        covered |= _lines(fn, p.read_bytes())
    added = 0
    for p in sorted((p for p in work.iterdir() if p.is_file()), key=lambda p: p.stat().st_size):
        data = p.read_bytes()
        new = _lines(fn, data) - covered
        if new:
            covered |= new
            (dest / hashlib.sha1(data).hexdigest()).write_bytes(data)
            added += 1
    return added


def _worker_atheris(target: str, seconds: float, work: Path, crashes: Path, seed: int) -> int:
    import atheris
    with atheris.instrument_imports(include=["pykernel", "targets"]):
        fn = _targets().TARGETS[target]
    crashes.mkdir(parents=True, exist_ok=True)
    args = [sys.argv[0], str(work)]
    if (CORPUS / target).is_dir():
        args.append(str(CORPUS / target))
    args += [f"-max_total_time={max(1, int(seconds))}", "-timeout=20", "-rss_limit_mb=3072",
             "-max_len=4096", f"-seed={seed}", "-print_final_stats=1",
             f"-artifact_prefix={crashes}/{target}-"]
    atheris.Setup(args, fn)
    atheris.Fuzz()                                  # exits the process
    return 0


# ---- the driver -------------------------------------------------------------------------

def _engine(requested: str) -> str:
    if requested != "auto":
        return requested
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        # GCC's ASan runtime defines the coverage hooks libFuzzer needs, so
        # atheris would run without coverage: use the random engine, which
        # replays and mutates the corpus a coverage-guided run has grown
        return "random"
    try:
        import atheris  # noqa: F401
        return "atheris"
    except ImportError:
        return "random"


def replay() -> int:
    """Run every committed corpus input through its target once."""
    t = _targets()
    bad = 0
    for target, fn in t.TARGETS.items():
        files = corpus_files(target)
        for p in files:
            try:
                fn(p.read_bytes())
            except Exception:  # noqa: BLE001
                bad += 1
                print(f"{target}: {p.name} fails:", file=sys.stderr)
                traceback.print_exc()
        print(f"{target:10s} {len(files):5d} inputs replayed")
    return 1 if bad else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, help="total time for all targets")
    ap.add_argument("--seconds", type=float, help="total time for all targets")
    ap.add_argument("--targets", default="all", help="comma-separated: script,scenario,api,snapshot,elf,nesting,zerotime,rvinsn")
    ap.add_argument("--engine", default="auto", choices=("auto", "atheris", "random"))
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pykernel-fuzz")
    ap.add_argument("--crashes", type=Path, default=HERE / "crashes")
    ap.add_argument("--seed", type=int, default=None, help="engine seed (default: from the clock)")
    ap.add_argument("--replay", action="store_true", help="replay fuzz/corpus once and stop")
    ap.add_argument("--merge", action="store_true",
                    help="add the work inputs that run new lines of Python to fuzz/corpus")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.replay:
        return replay()
    engine = _engine(a.engine)
    seed = a.seed if a.seed is not None else int(time.time()) & 0x7FFFFFFF
    if a.worker:
        work = a.work / a.worker
        work.mkdir(parents=True, exist_ok=True)
        run = _worker_atheris if engine == "atheris" else _worker_random
        return run(a.worker, a.seconds, work, a.crashes, seed)
    if a.merge:
        for n in _targets().TARGETS:
            if (a.work / n).is_dir():
                added = merge(n, a.work / n)
                print(f"{n:10s} {added:5d} added, {len(corpus_files(n)):5d} in fuzz/corpus/{n}")
        return 0

    t = _targets()
    names = list(t.TARGETS) if a.targets == "all" else a.targets.split(",")
    for n in names:
        if n not in t.TARGETS:
            ap.error(f"unknown target {n!r}; expected {', '.join(t.TARGETS)}")
    if "snapshot" in names and not t.snapshot_available():
        print("snapshot: skipped (this pykernel has no Kernel.restore)")
        names.remove("snapshot")
    total = a.seconds if a.seconds is not None else 60 * (a.minutes if a.minutes else 1)
    each = max(1.0, total / max(1, len(names)))
    print(f"engine {engine}, {each:.0f} s per target, seed {seed}")
    rows, status = [], 0
    for n in names:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", n, "--seconds",
               str(each), "--engine", engine, "--work", str(a.work), "--crashes", str(a.crashes),
               "--seed", str(seed)]
        start = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        took = time.monotonic() - start
        m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", p.stderr)
        execs = int(m[-1]) if m else 0
        found = p.returncode != 0
        rows.append((n, execs, execs / took if took else 0.0, "FINDING" if found else "ok"))
        if found:
            status = 1
            print(p.stdout[-4000:])
            print(p.stderr[-8000:], file=sys.stderr)
    print(f"{'target':10s} {'execs':>10s} {'execs/s':>9s}  result")
    for n, execs, rate, res in rows:
        print(f"{n:10s} {execs:10d} {rate:9.0f}  {res}")
    return status


if __name__ == "__main__":
    sys.exit(main())
