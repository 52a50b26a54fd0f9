"""Shared fixtures. Real labelled data lives in ../shared/data (never copied into the project)."""

from __future__ import annotations

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
