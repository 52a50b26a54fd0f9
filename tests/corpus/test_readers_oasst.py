from __future__ import annotations

import json
from collections import Counter

import pytest

from chatlens.corpus.sources import open_batches


def msg(mid: str, role: str, text: str, replies=(), rank=None, deleted=False) -> dict:
    return {"message_id": mid, "text": text, "role": role, "lang": "en", "rank": rank, "deleted": deleted,
            "synthetic": False, "replies": list(replies)}


def tree() -> dict:
    #       p
    #   a1(r1)   a0(r0)   ad(deleted)
    #   |        |   \
    #   u1      u2   u3
    #            |
    #           a2
    root = msg("p", "prompter", "root", [
        msg("a1", "assistant", "second best", [msg("u1", "prompter", "thanks")], rank=1),
        msg("a0", "assistant", "best", [msg("u2", "prompter", "more?", [msg("a2", "assistant", "sure", rank=0)]),
                                        msg("u3", "prompter", "why?")], rank=0),
        msg("ad", "assistant", "deleted", [msg("ux", "prompter", "orphan")], rank=2, deleted=True),
    ])
    return {"message_tree_id": "t1", "tree_state": "ready_for_export", "prompt": root}


def test_oasst_all_paths(kit, write_jsonl):
    scan = open_batches(write_jsonl("trees.jsonl", [tree()]))
    assert scan.format == "oasst"
    nested, quarantine, repairs, batches = kit.collect(scan)
    assert nested["conversation_id"].to_list() == ["t1:u1", "t1:a2", "t1:u3"]
    texts = [[m["content"] for m in ms] for ms in nested["messages"].to_list()]
    assert texts == [["root", "second best", "thanks"], ["root", "best", "more?", "sure"], ["root", "best", "why?"]]
    assert repairs == {"oasst_deleted_skipped": 2}  # the deleted reply and its subtree
    assert batches[0].records_in == 3 and batches[0].source_records == 1
    extra = json.loads(nested["extra"][1])
    assert extra["message_ids"] == ["p", "a0", "u2", "a2"] and extra["message_tree_id"] == "t1"
    assert nested["messages"][0].to_list()[0]["role"] == "prompter"


def test_oasst_best_path(kit, write_jsonl):
    nested, _, _, _ = kit.collect(open_batches(write_jsonl("trees.jsonl", [tree()]), format="oasst", oasst_paths="best"))
    assert nested["conversation_id"].to_list() == ["t1:a2"]


def test_oasst_deleted_root_is_quarantined(kit, write_jsonl):
    t = tree()
    t["prompt"]["deleted"] = True
    nested, quarantine, _, _ = kit.collect(open_batches(write_jsonl("trees.jsonl", [t, {"prompt": "x", "message_tree_id": "t2"}]), format="oasst"))
    assert nested.height == 0
    assert quarantine["row"].to_list() == [0, 1]
    assert "no messages" in quarantine["reason"][0]
    assert "'prompt' must be the root message object" in quarantine["reason"][1]


def _independent_leaf_depths(path) -> Counter:
    depths: Counter = Counter()
    n_messages = 0
    for line in path.read_text().splitlines():
        stack = [(json.loads(line)["prompt"], 1)]
        while stack:
            m, d = stack.pop()
            n_messages += 1
            kids = m.get("replies") or []
            if not kids:
                depths[d] += 1
            stack.extend((k, d + 1) for k in kids)
    depths["_messages"] = n_messages
    return depths


@pytest.mark.realdata
def test_oasst_sample(kit, shared_data):
    path = shared_data / "oasst-sample" / "en_100_tree.jsonl"
    expected = _independent_leaf_depths(path)
    # PROVENANCE: 100 trees, 1,167 messages, leaf depths [(2, 94), (3, 180), (4, 298), (5, 46), (6, 8)]
    assert expected.pop("_messages") == 1167
    assert dict(expected) == {2: 94, 3: 180, 4: 298, 5: 46, 6: 8}
    scan = open_batches(path)
    assert scan.format == "oasst"
    nested, quarantine, _, batches = kit.collect(scan)
    assert sum(b.source_records for b in batches) == 100
    assert quarantine.height == 0
    assert nested.height == sum(expected.values()) == 626
    assert Counter(nested["messages"].list.len().to_list()) == expected
    assert nested["conversation_id"].n_unique() == 626
    best, _, _, _ = kit.collect(open_batches(path, oasst_paths="best"))
    assert best.height == 100


def _flatten_tree(record: dict) -> list[dict]:
    rows, stack = [], [(record["prompt"], None)]
    while stack:
        m, parent = stack.pop()
        rows.append({**{k: v for k, v in m.items() if k not in ("replies", "emojis", "labels")},
                     "parent_id": parent, "message_tree_id": record["message_tree_id"], "tree_state": record["tree_state"]})
        stack.extend((r, m["message_id"]) for r in reversed(m.get("replies") or []))
    return rows


def test_oasst_flat_message_table(kit, write_parquet):
    rows = _flatten_tree(tree())
    rows.append({**rows[1], "message_id": "orphan", "parent_id": "missing-parent"})
    path = write_parquet("oasst1.parquet", rows)
    scan = open_batches(path)
    assert scan.format == "oasst"
    nested, quarantine, repairs, batches = kit.collect(scan)
    assert sorted(nested["conversation_id"]) == ["t1:a2", "t1:u1", "t1:u3"]
    assert quarantine["reason"].to_list() == ["parent message 'missing-parent' of message 'orphan' is not in the file"]
    assert repairs["oasst_deleted_skipped"] == 2
    assert sum(b.source_records for b in batches) == len(rows)


@pytest.mark.realdata
def test_oasst_sample_as_flat_table(kit, shared_data, write_parquet):
    lines = (shared_data / "oasst-sample" / "en_100_tree.jsonl").read_text().splitlines()
    rows = [r for line in lines for r in _flatten_tree(json.loads(line))]
    assert len(rows) == 1167
    path = write_parquet("flat.parquet", rows)
    nested, quarantine, _, _ = kit.collect(open_batches(path, batch_size=100))
    assert nested.height == 626 and quarantine.height == 0
    tree_nested, _, _, _ = kit.collect(open_batches(shared_data / "oasst-sample" / "en_100_tree.jsonl"))
    assert sorted(nested["conversation_id"]) == sorted(tree_nested["conversation_id"])


def _write_flat_csv(path, rows) -> None:
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["message_id", "parent_id", "message_tree_id", "role", "text", "deleted"])
        w.writerows(rows)


def test_oasst_flat_table_quarantines_every_message_without_a_root(kit, tmp_path):
    path = tmp_path / "flat.csv"
    _write_flat_csv(path, [
        ("m1", "", "T1", "prompter", "root q", "False"), ("m2", "m1", "T1", "assistant", "answer", "False"),
        ("m2", "m1", "T1", "assistant", "other answer, same id", "False"),
        ("o1", "missing", "T2", "prompter", "orphan", "False"), ("o2", "o1", "T2", "assistant", "child", "False"),
        ("o3", "o2", "T2", "prompter", "grandchild", "False"),
        ("c1", "c2", "T3", "prompter", "cycle a", "False"), ("c2", "c1", "T3", "assistant", "cycle b", "False"),
        ("s1", "s1", "T4", "prompter", "self parent", "False"),
    ])
    nested, quarantine, _, batches = kit.collect(open_batches(path, format="oasst"))
    assert nested["conversation_id"].to_list() == ["T1:m2"]
    assert [m["content"] for m in nested["messages"][0].to_list()] == ["root q", "answer"]  # the first m2
    reasons = dict(zip(quarantine["row"], quarantine["reason"], strict=True))
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8]  # rows read 9 = 2 on a path + 7 quarantined
    assert "repeats the message of row 1" in reasons[2]
    assert reasons[3] == "parent message 'missing' of message 'o1' is not in the file"
    assert "descends from message 'o1'" in reasons[4] and "descends from message 'o1'" in reasons[5]
    assert "parent cycle (c1 -> c2 -> c1)" in reasons[6] and "parent cycle" in reasons[7]
    assert "its own parent" in reasons[8]
    assert sum(b.source_records for b in batches) == 9


def test_oasst_flat_csv_deleted_text_flag(kit, tmp_path):
    path = tmp_path / "flat.csv"
    _write_flat_csv(path, [("m1", "", "T1", "prompter", "root", "False"),
                           ("m2", "m1", "T1", "assistant", "gone", "True"),
                           ("m3", "m1", "T1", "assistant", "kept", "false")])
    nested, quarantine, repairs, _ = kit.collect(open_batches(path, format="oasst"))
    assert nested["conversation_id"].to_list() == ["T1:m3"] and quarantine.height == 0
    assert repairs["oasst_deleted_skipped"] == 1


def test_oasst_flat_table_checks_its_rows(tmp_path, monkeypatch):
    from chatlens.corpus.readers import oasst
    from chatlens.errors import AccountingError

    path = tmp_path / "flat.csv"
    _write_flat_csv(path, [("m1", "", "T1", "prompter", "q", "False"), ("o1", "gone", "T2", "prompter", "q", "False")])
    monkeypatch.setattr(oasst, "_unreached", lambda *a: {})  # the bug this guards: a row lost silently
    with pytest.raises(AccountingError, match="2 message rows read, 1 below a root message"):
        list(open_batches(path, format="oasst"))
