"""Every input in fuzz/corpus/<target>/ replays through its fuzz target
(fuzz/targets.py) without a finding: pykernel either runs it or refuses
it with a documented error.  The corpus holds the seeds (the example
scenarios) and every input a fuzzer ever found a problem with, so each
finding stays a regression test (docs/trust.md)."""

import re
import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parent.parent / "fuzz"
sys.path.insert(0, str(FUZZ))
import targets  # noqa: E402

INPUTS = sorted((t, p) for t in targets.TARGETS for p in (FUZZ / "corpus" / t).glob("*")
                if p.is_file())


@pytest.mark.parametrize("target,path", INPUTS, ids=[f"{t}/{p.name}" for t, p in INPUTS])
def test_corpus_input_replays_without_a_finding(target, path):
    targets.TARGETS[target](path.read_bytes())


def test_every_target_has_committed_inputs():
    for t in ("script", "scenario", "api", "elf", "nesting", "zerotime", "rvinsn"):
        assert any((FUZZ / "corpus" / t).glob("*")), t


def test_an_unexpected_exception_is_a_finding():
    # the filter lets documented refusals through and nothing else
    assert targets.expected(ValueError("bad"))
    assert targets.expected(targets.pk.BadHandle("closed"))
    assert not targets.expected(targets.pk.InternalError("invariant"))
    assert not targets.expected(OverflowError("cannot convert"))
    assert not targets.expected(SystemError("cffi"))


def test_no_refusal_the_corpus_reaches_shows_a_bare_status_name(monkeypatch):
    # messages say what went wrong in words; a status name such as
    # ERR_INVALID_ARGS alone tells the reader nothing (pykernel/errors.py)
    caught = []
    monkeypatch.setattr(targets, "CAUGHT", caught)
    for target, path in INPUTS:
        targets.TARGETS[target](path.read_bytes())
    bare = sorted({f"{type(e).__name__}: {e}" for e in caught
                   if re.search(r"\bERR_[A-Z_]+", str(e))})
    assert len(caught) > 100
    assert bare == []
