"""Fixtures for the source-reader tests: small files written by the tests themselves."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import zstandard

from chatlens.corpus.readers.base import ReaderBatch
from chatlens.corpus.schema import NESTED_SCHEMA, QUARANTINE_SCHEMA
from chatlens.synth.vocab import MODERATION_CATEGORIES

CATEGORIES = list(MODERATION_CATEGORIES)


def moderation(flag: str | None = None, *, flagged: bool | None = None, score: float = 0.9) -> dict[str, Any]:
    """An OpenAI moderation entry with category ``flag`` true (or none)."""
    return {
        "categories": {c: c == flag for c in CATEGORIES},
        "category_scores": {c: (score if c == flag else 0.001) for c in CATEGORIES},
        "flagged": bool(flag) if flagged is None else flagged,
    }


def lmsys_record(cid: str, n_turns: int = 1, *, flag_at: int | None = None, **over: Any) -> dict[str, Any]:
    conv, mods = [], []
    for t in range(n_turns):
        conv += [{"role": "user", "content": f"q{t} of {cid}"}, {"role": "assistant", "content": f"a{t} of {cid}"}]
    for i in range(len(conv)):
        mods.append(moderation("hate" if i == flag_at else None))
    rec = {
        "conversation_id": cid,
        "model": "vicuna-13b",
        "conversation": conv,
        "turn": n_turns,
        "language": "English",
        "openai_moderation": mods,
        "redacted": False,
    }
    rec.update(over)
    return rec


def encode_lines(records: Iterable[Any]) -> bytes:
    return b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n" for r in records)


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """Write records (dicts, or raw bytes lines) as JSONL; ``compress`` in {None, 'gz', 'zst'}."""

    def write(name: str, records: Iterable[Any], compress: str | None = None) -> Path:
        data = encode_lines(records)
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if compress == "gz":
            data = gzip.compress(data)
        elif compress == "zst":
            data = zstandard.ZstdCompressor().compress(data)
        path.write_bytes(data)
        return path

    return write


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, Any], Path]:
    def write(name: str, doc: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))
        return path

    return write


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[[str, list[dict[str, Any]]], Path]:
    def write(name: str, records: list[dict[str, Any]]) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pl.DataFrame(records, infer_schema_length=None).write_parquet(path)
        return path

    return write


def collect(batches: Iterable[ReaderBatch]) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int], list[ReaderBatch]]:
    """All batches' nested rows, quarantine rows and summed repairs; checks the contract on each."""
    batches = list(batches)
    for b in batches:
        assert_batch_contract(b)
    nested = pl.concat([b.nested for b in batches]) if batches else pl.DataFrame(schema=NESTED_SCHEMA)
    quarantine = pl.concat([b.quarantine for b in batches]) if batches else pl.DataFrame(schema=QUARANTINE_SCHEMA)
    repairs: dict[str, int] = {}
    for b in batches:
        for k, v in b.repairs.items():
            repairs[k] = repairs.get(k, 0) + v
    return nested, quarantine, repairs, batches


def assert_batch_contract(b: ReaderBatch) -> None:
    assert dict(b.nested.schema) == NESTED_SCHEMA
    assert dict(b.quarantine.schema) == QUARANTINE_SCHEMA
    assert b.records_in == b.nested.height + b.quarantine.height
    assert b.nested["_file"].null_count() == 0
    assert b.nested["_row"].null_count() == 0
    assert (b.nested["messages"].list.len() > 0).all()
    assert (b.quarantine["raw"].str.len_chars().max() or 0) <= 2000


class _Kit:
    """Helpers shared by the reader tests (conftest modules are not importable by name)."""

    collect = staticmethod(collect)
    lmsys_record = staticmethod(lmsys_record)
    moderation = staticmethod(moderation)
    encode_lines = staticmethod(encode_lines)
    categories = CATEGORIES


@pytest.fixture
def kit() -> _Kit:
    return _Kit()
