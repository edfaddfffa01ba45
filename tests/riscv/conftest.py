"""Fixtures of the RISC-V tests; the machinery is in rvrun.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build  # noqa: E402  (tests/riscv/build.py)
import rvrun  # noqa: E402


@pytest.fixture(scope="session")
def program():
    """``program(name)`` -> path of the compiled test program ``name``."""
    def get(name: str) -> Path:
        rvrun.need_toolchain()
        return build.build(name)
    return get
