"""The legacy profile's 8-panel figure (seed-study.md §8.4), drawn from the legacy tables."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import chatlens
from chatlens.report.study1 import FILE, MAJOR_MODELS, study1_figure


def _detailed(n: int = 240) -> pl.DataFrame:
    kinds = ["none", "instrumental", "value_based", "mixed"]
    return pl.DataFrame({
        "model": [MAJOR_MODELS[i % 3] if i % 5 else r"m-$\nosuchcmd$" for i in range(n)],
        "refusal_type": [kinds[i % 4] for i in range(n)],
        "has_jailbreak_attempt": [i % 7 == 0 for i in range(n)],
        "conversation_abandoned": [i % 4 != 0 and i % 3 == 0 for i in range(n)],
        "user_sentiment_after_refusal": [None if i % 3 == 0 else (i % 11 - 5) / 5 for i in range(n)],
        "profanity_count_after_refusal": [i % 8 for i in range(n)],
    })


def test_figure_is_drawn_with_plain_text_data_strings(tmp_path: Path) -> None:
    written = study1_figure({"study1_detailed_results": _detailed()}, tmp_path)
    assert written == [tmp_path / FILE]
    assert written[0].stat().st_size > 50_000  # 20x14 in at 300 dpi, eight panels


def test_no_table_no_figure(tmp_path: Path) -> None:
    assert study1_figure({}, tmp_path) == []
    empty = _detailed().head(0)
    assert study1_figure({"study1_detailed_results": empty}, tmp_path) == []


def test_legacy_run_draws_it_and_default_does_not(tmp_path: Path) -> None:
    from chatlens.synth import synth

    src = tmp_path / "c.parquet"
    synth(300, seed=5, out=src)
    legacy = chatlens.analyze(src, out=tmp_path / "legacy", profile="legacy")
    assert (legacy.out / "figures" / FILE).is_file()
    assert f"figures/{FILE}" in legacy.manifest["outputs"]
    default = chatlens.analyze(src, out=tmp_path / "default")
    assert not (default.out / "figures" / FILE).exists()
