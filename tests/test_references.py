"""Citations point at sources that are part of the project.

Every source file and document that cites ``docs/references.md [KEY]`` (or
links ``[KEY](references.md)``) names a key that docs/references.md lists,
and none cites a reference file that is not in the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCES = ROOT / "docs" / "references.md"
SKIP_DIRS = {".git", "build", "dist", "__pycache__", ".hypothesis", ".pytest_cache"}
TEXT_SUFFIXES = {".py", ".md", ".c", ".h", ".toml", ".txt", ".in", ".cfg", ".S", ".s"}
# ``docs/references.md [A], [B]``: the keys after the file name, possibly
# across a line break and a comment marker
CITED_AFTER = re.compile(r"references\.md((?:[\s#*,]*\[[^\]\s]+\])+)")
KEY = re.compile(r"\[([^\]\s]+)\]")
LINKED = re.compile(r"\[([^\]\s]+)\]\(references\.md\)")
SELF = {Path("docs/references.md"), Path("tests/test_references.py")}


def project_files():
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or rel.parts[0] == ".ci"):
            yield rel, path.read_text(errors="replace")


def listed_keys() -> set[str]:
    return set(re.findall(r"^- \*\*\[([^\]]+)\]\*\*", REFERENCES.read_text(), re.M))


def cited_keys(text: str) -> set[str]:
    keys = set(LINKED.findall(text))
    for group in CITED_AFTER.findall(text):
        keys.update(KEY.findall(group))
    return keys


def test_the_bibliography_lists_its_keys_once():
    text = REFERENCES.read_text()
    keys = re.findall(r"^- \*\*\[([^\]]+)\]\*\*", text, re.M)
    assert len(keys) == len(set(keys))
    assert {"Linux-core", "sched(7)", "Zircon-channel", "Intel-SDM-3A", "RISCV-Priv",
            "SGG10", "pk-host"} <= set(keys)


def test_every_cited_key_is_in_the_bibliography():
    listed = listed_keys()
    cited = {(str(rel), key) for rel, text in project_files() if rel not in SELF
             for key in cited_keys(text)}
    assert {key for _, key in cited} >= {"SGG10", "Zircon-errors", "pk-host"}
    assert {(rel, key) for rel, key in cited if key not in listed} == set()


def test_the_citation_pattern_finds_keys_across_lines_and_links():
    text = ("see docs/references.md [SGG10], [Belady69]; x = [1, 2]\n"
            "    # docs/references.md\n    # [Zircon-handles], [kill(2)]: text [not-cited]\n"
            "| 2.7 ([pk-host](references.md)) |")
    assert cited_keys(text) == {"SGG10", "Belady69", "Zircon-handles", "kill(2)", "pk-host"}


def test_no_file_cites_a_reference_file_outside_the_repository():
    missing = "REFERENCE" + ".md"   # spelt in two parts so this file does not cite it
    assert [str(rel) for rel, text in project_files() if missing in text] == []
