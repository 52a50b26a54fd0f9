"""Shared fixtures. Real labelled data lives in ../shared/data (never copied into the project)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real labelled data; tests using it skip (with the reason) where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real labelled data not found at {SHARED_DATA} (present in CI, absent in a user's clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def modules_loaded_by() -> Callable[[str, Sequence[str]], list[str]]:
    """``probe(imports, modules)``: which of ``modules`` a fresh interpreter has loaded after
    running the ``imports`` statement (the import-cost tests: what a command pays before work)."""

    def probe(imports: str, modules: Sequence[str]) -> list[str]:
        code = f"import sys\n{imports}\nprint(','.join(m for m in {tuple(modules)!r} if m in sys.modules))"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        return [m for m in out.stdout.strip().split(",") if m]

    return probe
