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
    assert nested["conversation_id"].to_list() == ["350:7"]  # USER:/LAMDA: prefixes: DICES-350
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


def test_dices_ids_namespaced_by_set(tmp_path):
    """Both DICES sets number their items from 0: read together, item 3 of DICES-990 (A:/B:) and
    item 3 of DICES-350 (USER:/LAMDA:) are different conversations and both are analysed, while
    the second copy of a DICES-350 item (the expert file repeats the crowd file) is a duplicate."""
    import chatlens

    def doc(prompt: str) -> dict:
        return {"instances": [{"id": 3, "instance": {"user_prompt": prompt, "response": "r"}}]}

    folder = tmp_path / "dices"
    folder.mkdir()
    for name, prompt in [("dices_990.json", "A: hi\\nB: yo\\nA: ok"),
                         ("dices_350_crowdsourced.json", "USER: hello"),
                         ("dices_350_expert.json", "USER: hello")]:
        (folder / name).write_text(json.dumps(doc(prompt)))
    corpus = chatlens.read(folder)
    assert sorted(corpus.conversations["conversation_id"].to_list()) == ["350:3", "990:3"]
    assert corpus.quarantine.height == 1
    assert "duplicate" in corpus.quarantine["reason"][0]
    extras = [json.loads(e)["item_id"] for e in corpus.conversations["extra"]]
    assert extras == ["3", "3"]  # the upstream item id, for joining with DICES' own files
