"""Discovery on HAL's own statements (FS_output run 7, development half): no LLM, TF-IDF."""

from __future__ import annotations

import json

import polars as pl
import pytest

from chatlens.humanlike.instruments import load_instrument
from chatlens.instrument import DiscoveryConfig, PairColumns, discover
from chatlens.instrument.compare import match_instrument
from chatlens.instrument.embed import TfidfEmbedder

pytestmark = pytest.mark.realdata


def test_fs_output_statements_cluster_into_an_instrument(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLENS_QUIET", "1")
    frame = pl.read_csv(
        shared_data / "hal" / "FS_output" / "run_7_gpt-5.csv", infer_schema_length=0
    )
    cols = PairColumns(
        a="conversation_A_transcript",
        b="conversation_B_transcript",
        label="who_is_human",
        id="game_id",
        statements="human_characteristics",
        verdict="aijudge_verdict",
    )
    cfg = DiscoveryConfig.from_defaults(cols, condense="nearest", distance_threshold=0.7)
    res = discover(frame, tmp_path, cfg, source="run_7_gpt-5.csv")
    ch = json.loads((tmp_path / "characteristics.json").read_text())
    assert ch["pairs"] == 286 and ch["statements"] == 1402
    # GPT-5's own verdicts on this half of the games (HAL reports 0.648 on all 557)
    assert ch["verdict_accuracy"]["value"] == pytest.approx(0.6573, abs=1e-4)
    clusters = json.loads((tmp_path / "clusters.json").read_text())
    assert clusters["n_clusters"] >= 30
    inst = load_instrument(res.instrument_path)
    assert len(inst.items) == 32 and inst.source["provenance"]["statements"] == "given"
    table = match_instrument(tmp_path, "hal32q", TfidfEmbedder(**cfg.tfidf))
    assert table.height == 32 and table["matched"].sum() >= 15
