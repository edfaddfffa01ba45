"""The README, the guide and the examples say what the code does.

Every ```python block in README.md and docs/*.md runs; where a print(...)
line carries a trailing comment, or is followed by comment-only lines, the
printed lines must be what those comments say (a comment may go on with an
explanation after the printed text)."""

import io
import re
import runpy
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCKS = [(doc, i, block) for doc in DOCS
          for i, block in enumerate(re.findall(r"```python\n(.*?)```", doc.read_text(), re.S))]


def expected_lines(block: str) -> list[str]:
    """Comments that state printed output, in order."""
    out, after_print = [], False
    for line in block.splitlines():
        code, _, comment = line.partition("#")
        if "print(" in code:
            after_print = True
            if comment.strip():
                out.append(comment.strip())
        elif not code.strip() and comment.strip() and after_print:
            out.append(comment.strip())
        elif code.strip():
            after_print = after_print and code.startswith((" ", "\t"))
    return out


def matches(printed: str, stated: str) -> bool:
    return stated == printed or (stated.startswith(printed) and stated[len(printed)] in " ,(")


def busybox_missing(block: str) -> str | None:
    """Why a block that runs BusyBox cannot run here, or None."""
    if "PK_BUSYBOX" not in block:
        return None
    import os
    path = Path(os.environ.get("PK_BUSYBOX", "../shared/riscv/busybox"))
    return None if path.is_file() else f"BusyBox not found at {path}: set PK_BUSYBOX"


@pytest.mark.parametrize("doc,index,block", BLOCKS,
                         ids=[f"{d.name}-{i}" for d, i, _ in BLOCKS])
def test_doc_example_prints_what_it_says(doc, index, block):
    missing = busybox_missing(block)
    if missing:
        import os
        if os.environ.get("PK_REQUIRE_RISCV") == "1":
            pytest.fail("PK_REQUIRE_RISCV=1 but " + missing)
        pytest.skip(missing)
    buf = io.StringIO()
    with redirect_stdout(buf):
        exec(compile(block, f"{doc.name}[{index}]", "exec"), {"__name__": "__doc_example__"})
    printed = [line.strip() for line in buf.getvalue().splitlines()]
    stated = expected_lines(block)
    assert len(printed) >= len(stated)
    for p, s in zip(printed, stated):
        assert matches(p, s), f"printed {p!r}, the text says {s!r}"


def test_readme_first_example_is_examples_first_py():
    readme = (ROOT / "README.md").read_text()
    first = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    assert first.strip() in (ROOT / "examples" / "first.py").read_text()


EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(path, monkeypatch):
    # million.py takes its size from argv; a small one keeps the suite fast
    monkeypatch.setattr(sys, "argv", [str(path), "2000"])
    buf = io.StringIO()
    with redirect_stdout(buf):
        runpy.run_path(str(path), run_name="__main__")
    assert buf.getvalue().strip()


def cli(*argv, cwd):
    """Run `python -m pykernel ARGV` from cwd (not the source tree, so that
    the installed package is the one imported)."""
    return subprocess.run([sys.executable, "-m", "pykernel", *argv], capture_output=True,
                          text=True, cwd=cwd)


def test_cli_demo_prints_a_table_for_every_policy(tmp_path):
    r = cli("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for policy in ("FIFO", "SJF", "STCF", "RoundRobin(4 ms)", "MLFQ(1/4/16 ms, boost 50 ms)",
                   "CFS", "EEVDF"):
        assert policy in out
    assert "avg turnaround" in out


def test_cli_help_for_every_command(tmp_path):
    for argv in (["--help"], ["demo", "--help"], ["run", "--help"], ["bench", "--help"]):
        r = cli(*argv, cwd=tmp_path)
        assert r.returncode == 0 and "usage: pykernel" in r.stdout


def test_cli_bad_argument_is_an_error_message_not_a_traceback(tmp_path):
    r = cli("demo", "--cpus", "0", cwd=tmp_path)
    assert r.returncode == 2
    assert "cpus must be between 1 and 256" in r.stderr
    assert "Traceback" not in r.stderr


SCENARIOS = sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_example_scenario_runs_from_the_command_line(path, tmp_path):
    r = cli("run", str(path), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("machine\n") and "top processes by CPU time" in r.stdout
