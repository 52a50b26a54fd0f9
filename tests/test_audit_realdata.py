"""``chatlens audit`` on a real log (the ShareGPT development sample in ../shared/data).

The run keeps no text, so the sample's text is read again from the source. Where the real
labelled set holds a sampled message, its text must be the one the readers labelled (the sha1
prefix the labels record), and the gold labels, entered as a reader would, must go through the
estimate. Only the pipeline is checked, not the number: the labelled messages are enriched with
cue hits, not a random sample of the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
import pytest

import chatlens
from chatlens.audit import KEY, draw_audit_sample, estimate_audit
from chatlens.validate.real import load_labels

pytestmark = pytest.mark.realdata

SOURCE = "real-logs-dev/sharegpt_dev.jsonl"


def test_a_real_log_round_trips_through_the_audit(shared_data: Path, tmp_path: Path) -> None:
    run = chatlens.analyze(shared_data / SOURCE, out=tmp_path / "run", workers=1).out
    sample = draw_audit_sample(run, n=300, by=None, seed=3)
    assert sample.rows.height == 300 and sample.rows["message"].null_count() == 0
    labels = load_labels().filter(pl.col("file") == SOURCE).select(
        "conversation_id", pl.col("message_index").cast(pl.Int64), "content_sha1", "refusal")
    joined = sample.rows.with_columns(pl.col("message_index").cast(pl.Int64)).join(labels, on=list(KEY))
    assert joined.height >= 100  # about half the replies of the sample file are labelled
    sha = [hashlib.sha1(t.encode("utf-8")).hexdigest()[:12] for t in joined["message"].to_list()]
    assert sha == joined["content_sha1"].to_list()  # the re-read text is the text the readers saw
    path, _ = sample.write(tmp_path / "audit.csv")
    gold = dict(zip(joined["conversation_id"] + "|" + joined["message_index"].cast(pl.String),
                    joined["refusal"], strict=True))
    frame = pl.read_csv(path, infer_schema=False)
    keys = (frame["conversation_id"].str.strip_prefix("'") + "|" + frame["message_index"]).to_list()
    frame.with_columns(label=pl.Series([gold.get(k) for k in keys], dtype=pl.String)).write_csv(path)
    est = estimate_audit(run, path)
    assert est.labelled == joined.filter(pl.col("refusal") != "unclear").height
    assert est.unread == 300 - joined.height
    r = est.table.row(0, named=True)
    assert r["rate_low"] <= r["rate_high"] and r["messages"] > 3000
