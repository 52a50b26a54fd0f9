"""Fixtures of the instrument tests (helpers live in instrument_helpers: a module named
``conftest`` is shared by every test folder, so importing from it picks whichever loaded first)."""

from __future__ import annotations

import polars as pl
import pytest
from instrument_helpers import make_pairs


@pytest.fixture
def pairs() -> pl.DataFrame:
    return make_pairs()
