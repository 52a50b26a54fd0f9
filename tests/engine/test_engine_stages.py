"""Stages: resolution by name / 'module:attr', the add-columns-only contract, the built-in stage."""

from __future__ import annotations

import pickle

import polars as pl
import pytest

from chatlens.corpus.canonical import CanonicalBatch, canonicalize
from chatlens.engine.stages import (
    StageSpec,
    apply_stages,
    message_length,
    resolve_stage,
    resolve_stages,
)
from chatlens.errors import InvalidParameterError, StageError


def _batch() -> CanonicalBatch:
    nested = pl.DataFrame(
        {
            "conversation_id": ["c1", "c2"],
            "_file": ["f.jsonl", "f.jsonl"],
            "_row": [0, 1],
            "messages": [
                [
                    {"role": "user", "content": "one two three"},
                    {"role": "assistant", "content": "four"},
                ],
                [
                    {"role": "user", "content": None},
                    {"role": "assistant", "content": "a b"},
                    {"role": "user", "content": "ok"},
                ],
            ],
        }
    )
    return canonicalize(nested)


def test_message_length_adds_columns_to_both_tables() -> None:
    batch = _batch()
    out = apply_stages(batch, [resolve_stage("message_length")])
    assert out.messages.get_column("n_words").to_list() == [3, 1, 0, 2, 1]
    assert out.conversations.select("conversation_id", "user_chars", "assistant_chars").rows() == [
        ("c1", 13, 4),
        ("c2", 2, 3),
    ]
    # input unchanged, original columns kept as they were
    assert "n_words" not in batch.messages.columns
    assert out.messages.select(batch.messages.columns).equals(batch.messages)


def test_stage_is_deterministic_and_handles_empty_batch() -> None:
    spec = resolve_stage("message_length")
    assert apply_stages(_batch(), [spec]).messages.equals(apply_stages(_batch(), [spec]).messages)
    empty = apply_stages(CanonicalBatch.empty(), [spec])
    assert empty.messages.height == 0
    assert empty.messages.schema["n_words"] == pl.Int32
    assert empty.conversations.schema["user_chars"] == pl.Int64


def test_resolve_by_module_attr_and_params() -> None:
    spec = resolve_stage("_engine_stages:flag", column="hit", value=7)
    assert spec == StageSpec("flag", "_engine_stages:flag", {"column": "hit", "value": 7})
    out = apply_stages(_batch(), [spec])
    assert out.messages.get_column("hit").unique().to_list() == [7]
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_unknown_name_suggests() -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'message_length'"):
        resolve_stage("message_lenght")


@pytest.mark.parametrize("target", ["no_colon", ":attr", "module:"])
def test_bad_target_form(target: str) -> None:
    with pytest.raises(StageError, match="module:attr"):
        StageSpec("x", target)


def test_unimportable_target() -> None:
    with pytest.raises(StageError, match="cannot import module 'no_such_module_xyz'"):
        StageSpec("x", "no_such_module_xyz:f").load()
    with pytest.raises(StageError, match="has no attribute 'nope'"):
        StageSpec("x", "chatlens.engine.stages:nope").load()


def test_duplicate_stage_names_rejected() -> None:
    with pytest.raises(StageError, match="repeated: message_length"):
        resolve_stages(["message_length", "message_length"])


@pytest.mark.parametrize(
    ("attr", "match"),
    [
        ("drop_content", "removed column 'content'"),
        ("reverse_rows", "reordered or changed rows"),
        ("filter_rows", "expected 5 rows"),
        ("recast", "changed the type of column 'turn'"),
        ("not_a_batch", "must return a CanonicalBatch"),
    ],
)
def test_contract_violations_fail_loudly(attr: str, match: str) -> None:
    with pytest.raises(StageError, match=match):
        apply_stages(_batch(), [resolve_stage(f"_engine_stages:{attr}")])


def test_stage_exception_is_wrapped_with_its_name() -> None:
    nested = pl.DataFrame(
        {
            "conversation_id": ["bad"],
            "_file": ["f"],
            "_row": [0],
            "messages": [[{"role": "user", "content": "x"}]],
        }
    )
    with pytest.raises(
        StageError, match=r"Stage 'boom_on_bad' \(_engine_stages:boom_on_bad\) failed: RuntimeError"
    ):
        apply_stages(canonicalize(nested), [resolve_stage("_engine_stages:boom_on_bad")])


def test_builtin_is_plain_function() -> None:
    assert resolve_stage("message_length").load() is message_length


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("signals", "chatlens.pipeline.signals:signals_stage"),
        ("behaviour", "chatlens.pipeline.features:behaviour_stage"),
        ("legacy_features", "chatlens.pipeline.features:legacy_features_stage"),
    ],
)
def test_analysis_stages_are_registered(name: str, target: str) -> None:
    spec = resolve_stage(name)
    assert spec.target == target
    assert callable(spec.load())


def test_unknown_analysis_stage_suggests() -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'signals'"):
        resolve_stage("signal")
