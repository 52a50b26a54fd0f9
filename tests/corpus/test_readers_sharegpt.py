from __future__ import annotations

import json

import pytest

from chatlens.corpus.sources import open_batches

RECORDS = [
    {"id": "s1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}], "lang": "en"},
    {"id": "s2", "conversations": [{"from": "system", "value": "be nice"}, {"from": "human", "value": "q"}],
     "markdown": {"answer": "x"}},
]


def test_sharegpt_json_array(kit, write_json):
    scan = open_batches(write_json("sg.json", RECORDS))
    assert scan.format == "sharegpt"
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["s1", "s2"]
    assert quarantine.height == 0
    roles = [[m["role"] for m in ms] for ms in nested["messages"].to_list()]
    assert roles == [["human", "gpt"], ["system", "human"]]  # raw roles kept
    assert nested["language"][0] == "en"
    assert json.loads(nested["extra"][1]) == {"markdown": {"answer": "x"}}


def test_sharegpt_jsonl_and_role_content_variant(kit, write_jsonl):
    recs = [*RECORDS, {"id": "s3", "conversations": [{"role": "user", "content": "hey"}]}]
    nested, _, _, _ = kit.collect(open_batches(write_jsonl("sg.jsonl", recs), format="sharegpt"))
    assert nested["messages"][2].to_list()[0]["content"] == "hey"
    assert nested["messages"][0].to_list()[1]["content"] == "yo"


def test_sharegpt_large_json_array_is_streamed(kit, write_json, monkeypatch):
    from chatlens.corpus.readers import _io

    monkeypatch.setattr(_io, "JSON_EAGER_BYTES", 10)  # force the ijson streaming path
    path = write_json("sg.json", RECORDS * 50)
    batches = list(open_batches(path, format="sharegpt", batch_size=40))
    nested, _, _, _ = kit.collect(batches)
    assert nested.height == 100
    assert [b.nested.height for b in batches] == [40, 40, 20]
    assert nested["_row"].to_list() == list(range(100))


@pytest.mark.parametrize("fmt", [None, "sharegpt"])
def test_records_under_a_key_of_a_json_object(tmp_path, fmt):
    import chatlens

    conv = [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"version": 1, "data": [{"id": f"s{i}", "conversations": conv} for i in range(3)]}))
    corpus = chatlens.read(path, format=fmt)
    assert corpus.quarantine.height == 0
    assert corpus.conversations["conversation_id"].to_list() == ["s0", "s1", "s2"]
    # an object that is itself one conversation (its list holds the messages) stays one record
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"id": "c1", "conversations": conv}))
    assert chatlens.read(one, format=fmt).conversations["conversation_id"].to_list() == ["c1"]
