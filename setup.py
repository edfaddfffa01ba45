"""Build of pykernel-sim: the C core through cffi (csrc/build_core.py).

The extension is built for Python's limited API (Py_LIMITED_API, set by
csrc/build_core.py), so the wheel is tagged cp310-abi3: one wheel for
every CPython from 3.10 on. The long description is the README with its
links into the source tree made plain text, since a package index shows
it without those files.
"""
import re
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def long_description(readme: str) -> str:
    """The README for a package index: a link to a file of the source tree
    ("[docs/guide.md](docs/guide.md)") becomes its text, followed by the
    path when the two differ; absolute links and anchors stay."""
    def plain(m):
        text, target = m.group(1), m.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#", target):
            return m.group(0)
        path = target.lstrip("./")
        return text if text.strip("`/") == path.strip("/") else f"{text} ({path})"
    note = ("\n\nThe files named in this description (docs/, examples/, tests/) are in "
            "the source distribution of pykernel-sim.\n")
    return _LINK.sub(plain, readme).rstrip("\n") + note


def limited_api() -> bool:
    """Whether this interpreter can build for the limited API (not a debug
    or free-threaded build)."""
    return not hasattr(sys, "gettotalrefcount") and not sysconfig.get_config_var("Py_GIL_DISABLED")


def _pep639_for_old_setuptools() -> None:
    """Let a setuptools older than 77, which predates PEP 639, build in
    place (``python setup.py build_ext --inplace`` in an existing
    environment): it reads pyproject.toml's ``license = "MIT"`` as the
    older ``{text = "MIT"}`` and ignores ``license-files``. Builds through
    pip or ``python -m build`` get setuptools >= 77 (build-system.requires)
    and never need this."""
    import setuptools
    if int(setuptools.__version__.split(".")[0]) >= 77:
        return
    from setuptools.config import pyprojecttoml
    load = pyprojecttoml.load_file

    def load_file(filepath):
        data = load(filepath)
        project = data.get("project", {})
        if isinstance(project.get("license"), str):
            project["license"] = {"text": project["license"]}
        project.pop("license-files", None)
        return data
    pyprojecttoml.load_file = load_file


if __name__ == "__main__":
    from setuptools import setup

    _pep639_for_old_setuptools()

    setup(
        cffi_modules=["csrc/build_core.py:ffibuilder"],
        long_description=long_description((HERE / "README.md").read_text(encoding="utf-8")),
        long_description_content_type="text/markdown",
        options={"bdist_wheel": {"py_limited_api": "cp310"}} if limited_api() else {},
    )
