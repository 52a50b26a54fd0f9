from __future__ import annotations

import json

import pytest

from chatlens.corpus.readers.dices import split_context
from chatlens.corpus.sources import open_batches


def test_dices_split_both_layouts():
    msgs = split_context("USER: hi\nLAMDA: hello there\nmore of it\nUSER: bye\n")
    assert [(m["role"], m["content"]) for m in msgs] == [
        ("user", "hi"), ("assistant", "hello there\nmore of it"), ("user", "bye")]
    msgs = split_context("A: hi\\nB: yo\\nA: ok\\n")  # literal backslash-n separators
    assert [(m["role"], m["content"]) for m in msgs] == [("user", "hi"), ("assistant", "yo"), ("user", "ok")]


def test_dices_file(kit, write_json):
    doc = {"dataset": "Dices", "annotations": [{"metric": "safety"}], "instances": [
        {"id": 7, "instance": {"user_prompt": "USER: q1\nLAMDA: r1\nUSER: q2", "response": "final"},
         "annotations": {"safety": {"majority_human": "Yes", "individual_human_scores": ["Yes", "No"]}}},
        {"id": 8, "instance": "broken"},
    ]}
    scan = open_batches(write_json("d.json", doc))
    assert scan.format == "dices"
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["7"]
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["q1", "r1", "q2", "final"]
    assert json.loads(nested["extra"][0]) == {"item_id": "7", "majority_human": "Yes"}
    assert quarantine["row"].to_list() == [1]


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "n", "yes"), [("dices_990.json", 990, 160), ("dices_350_expert.json", 350, None)])
def test_dices_real(kit, shared_data, name, n, yes):
    scan = open_batches(shared_data / "dices" / name)
    assert scan.format == "dices"
    nested, quarantine, _, _ = kit.collect(scan)
    assert nested.height == n and quarantine.height == 0  # PROVENANCE counts
    assert nested["conversation_id"].n_unique() == n
    msgs = nested["messages"]
    assert (msgs.list.last().struct.field("role") == "assistant").all()
    assert (msgs.list.first().struct.field("role") == "user").all()
    roles = msgs.explode().struct.field("role")
    assert set(roles) == {"user", "assistant"}
    if yes is not None:  # PROVENANCE majority counts: Yes 160 / No 830
        labels = [json.loads(e)["majority_human"] for e in nested["extra"]]
        assert labels.count("Yes") == yes
