"""Packaging: the license (SPDX expression, PEP 639), the long
description an index shows, the type-hint marker (PEP 561) and the
limited-API build that one cp310-abi3 wheel relies on (PEP 384,
PEP 425). CI (.ci/run) also builds the wheel and checks its file name,
and runs the unpacked sdist's own tests."""

import importlib.resources
import re
import runpy
import sys
from pathlib import Path

import pytest

from pykernel.scenario import tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _setup_module():
    return runpy.run_path(str(ROOT / "setup.py"), run_name="pykernel_setup_under_test")


def test_license_is_an_spdx_expression_with_its_file():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the pykernel authors\n")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND" in text


def test_no_license_classifier_beside_the_expression():
    # PEP 639: with a license expression, "License ::" classifiers are refused
    assert not [c for c in PYPROJECT["project"]["classifiers"] if c.startswith("License ::")]


def test_build_needs_a_setuptools_that_reads_pep_639():
    # setuptools 77.0.0 is the first to accept license = "..." and license-files
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]


def test_python_classifiers_follow_requires_python():
    project = PYPROJECT["project"]
    assert project["requires-python"] == ">=3.10"
    versions = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions[0] == "3.10" and versions == sorted(versions, key=lambda v: int(v[2:]))


def test_long_description_has_no_links_into_the_source_tree():
    desc = _setup_module()["long_description"]((ROOT / "README.md").read_text())
    targets = re.findall(r"\]\(([^)\s]+)\)", desc)
    assert [t for t in targets if not re.match(r"^(https?:|#)", t)] == []
    assert "- docs/guide.md: the user guide" in desc


def test_long_description_keeps_absolute_links_and_names_differing_paths():
    f = _setup_module()["long_description"]
    assert f("[site](https://example.org/x) [a](#b)").startswith(
        "[site](https://example.org/x) [a](#b)")
    assert f("see [the guide](docs/guide.md)").startswith("see the guide (docs/guide.md)")


def test_long_description_keeps_the_readme_command_blocks():
    readme = (ROOT / "README.md").read_text()
    desc = _setup_module()["long_description"](readme)
    for tag in ("<!-- demo-command -->", "<!-- test-command -->"):
        block = readme[readme.index(tag):].split("```")[1]
        assert tag in desc and block in desc


def test_the_package_ships_its_type_hint_marker():
    assert (importlib.resources.files("pykernel") / "py.typed").is_file()


@pytest.mark.skipif(hasattr(sys, "gettotalrefcount"), reason="a debug Python has no limited API")
def test_the_core_is_built_for_the_limited_api():
    import pykernel._core as core
    assert core.__file__.endswith(".abi3.so")

