"""Fixtures for the engine tests: small synthetic corpora written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlens.synth import synth


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two LMSYS-shaped Parquet files of 1,200 conversations, row groups of 300 (distinct seeds)."""
    root = tmp_path_factory.mktemp("synth")
    paths = []
    for seed in (1, 2):
        res = synth(1200, seed=seed, out=root / f"part{seed}.parquet", chunk_size=300)
        paths.append(Path(res.path))
    return paths
