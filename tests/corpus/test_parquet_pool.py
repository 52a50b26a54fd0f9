"""Parquet batches are decoded into jemalloc, unless the user chose a pool (``_io.use_parquet_pool``).

Each case runs in a fresh interpreter: the pool is process-wide state.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

SCRIPT = """
import sys
import pyarrow as pa
import pyarrow.parquet as pq
from chatlens.corpus.api import read
path = sys.argv[1]
pq.write_table(pa.table({"conversations": [[{"from": "human", "value": "hi"},
                                            {"from": "gpt", "value": "hello"}]]}), path)
corpus = read(path)
assert corpus.messages.height == 2
print(pa.default_memory_pool().backend_name)
"""


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


def _pool_after_reading(tmp_path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    environ.update(env)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "chats.parquet")],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.skipif(not _has_jemalloc(), reason="pyarrow built without jemalloc")
def test_reading_parquet_switches_to_jemalloc(tmp_path):
    assert _pool_after_reading(tmp_path) == "jemalloc"


def test_a_pool_chosen_by_the_user_is_kept(tmp_path):
    assert _pool_after_reading(tmp_path, ARROW_DEFAULT_MEMORY_POOL="system") == "system"
