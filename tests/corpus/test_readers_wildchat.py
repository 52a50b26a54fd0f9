from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from chatlens.corpus.sources import open_batches


def wildchat_record(kit, h: str) -> dict:
    return {
        "conversation_hash": h,
        "model": "gpt-4-0314",
        "timestamp": "2023-04-09T00:02:53+00:00",
        "conversation": [
            {"role": "user", "content": "hola", "language": "Spanish", "toxic": False, "redacted": False,
             "timestamp": None, "country": "Spain", "hashed_ip": "ip1", "turn_identifier": 1},
            {"role": "assistant", "content": "¡Hola!", "language": "Spanish", "toxic": True, "redacted": True,
             "timestamp": "2023-04-09T00:02:55+00:00", "country": None, "hashed_ip": None, "turn_identifier": 1},
        ],
        "turn": 1,
        "language": "Spanish",
        "openai_moderation": [kit.moderation(None), kit.moderation("harassment")],
        "detoxify_moderation": [{"toxicity": 0.1}, {"toxicity": 0.9}],
        "toxic": True,
        "redacted": True,
        "state": "Madrid",
        "country": "Spain",
        "hashed_ip": "ip1",
        "header": {"accept-language": "es", "user-agent": "Mozilla"},
    }


def _as_datetimes(rec: dict) -> dict:
    """The hub's Parquet stores timestamps as timestamp[us, UTC], not text."""
    rec = dict(rec, timestamp=datetime.fromisoformat(rec["timestamp"]))
    rec["conversation"] = [
        {**m, "timestamp": datetime.fromisoformat(m["timestamp"]) if m["timestamp"] else None}
        for m in rec["conversation"]
    ]
    return rec


@pytest.mark.parametrize("kind", ["jsonl", "parquet", "parquet-datetime"])
def test_wildchat_fields(kit, kind, write_jsonl, write_parquet):
    recs = [wildchat_record(kit, "h1"), wildchat_record(kit, "h2")]
    if kind == "parquet-datetime":
        recs = [_as_datetimes(r) for r in recs]
    path = write_jsonl("w.jsonl", recs) if kind == "jsonl" else write_parquet("w.parquet", recs)
    scan = open_batches(path)
    assert scan.format == "wildchat"
    nested, quarantine, _, _ = kit.collect(scan)
    assert quarantine.height == 0
    row = nested.row(0, named=True)
    assert row["conversation_id"] == "h1"
    assert row["user_id"] == "ip1"
    assert row["timestamp"] == datetime(2023, 4, 9, 0, 2, 53, tzinfo=timezone.utc)
    assert row["moderation_flagged"] is True
    extra = json.loads(row["extra"])
    assert extra["state"] == "Madrid" and extra["country"] == "Spain"
    assert extra["header"]["user-agent"] == "Mozilla"
    m = row["messages"]
    assert [x["language"] for x in m] == ["Spanish", "Spanish"]
    assert [x["toxic"] for x in m] == [False, True]
    assert [x["redacted"] for x in m] == [False, True]
    assert m[0]["timestamp"] is None
    assert m[1]["timestamp"] == datetime(2023, 4, 9, 0, 2, 55, tzinfo=timezone.utc)
    assert m[1]["moderation_categories"] == ["harassment"]
