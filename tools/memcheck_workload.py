"""The workload tools/memcheck.sh runs under valgrind: a little of every
part of pykernel (a few seconds natively, a minute or two under
memcheck).  It must end with every kernel destroyed, so that anything
the C core still holds at exit is a leak."""

import gc
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "fuzz"))

import pykernel as pk  # noqa: E402
import soak  # noqa: E402
import targets  # noqa: E402


def main() -> None:
    k = soak.steady_kernel(1)
    k.run(until=3_000_000)
    k.audit().check()
    del k
    switches, problems = soak.churn(2, 20)
    assert not problems, problems
    for t, fn in targets.TARGETS.items():         # the fuzz corpus: errors and odd inputs
        for p in sorted((HERE.parent / "fuzz" / "corpus" / t).glob("*")):
            fn(p.read_bytes())
    sc = pk.scenario.load(HERE.parent / "examples" / "demo.toml")
    sc.run(until=2_000_000)
    k = pk.Kernel(cpus=2, trace=1000)
    body = pk.Program.python("py", lambda ctx: (yield ctx.compute(100)))
    k.spawn(body)
    k.spawn(pk.Program.script("s", [pk.op.compute(50)]))
    k.run()
    list(k.trace)
    del k, sc
    gc.collect()
    print("memcheck workload done:", switches, "churn switches")


if __name__ == "__main__":
    main()
