"""`chatlens info` and `chatlens analyze` on every supported format (fixtures written here)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.cli import app

runner = CliRunner()

MSGS = [{"role": "user", "content": "How do I bake bread?"}, {"role": "assistant", "content": "Mix flour, water, yeast."}]


def _jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def make_lmsys(tmp: Path, kit) -> tuple[Path, list[str], int]:
    return _jsonl(tmp / "lmsys.jsonl", [kit.lmsys_record("l1", 2), kit.lmsys_record("l2", 1)]), [], 2


def make_wildchat(tmp: Path, kit) -> tuple[Path, list[str], int]:
    conv = [{**m, "language": "English", "toxic": False, "redacted": False, "timestamp": None} for m in MSGS]
    rec = {"conversation_hash": "w1", "model": "gpt-4", "timestamp": "2023-05-01T10:00:00Z", "conversation": conv,
           "turn": 1, "language": "English", "openai_moderation": [kit.moderation(), kit.moderation()],
           "detoxify_moderation": [{}, {}], "toxic": False, "redacted": False, "state": "CA", "country": "US",
           "hashed_ip": "abc123", "header": {"user-agent": "x"}}
    return _jsonl(tmp / "wildchat.jsonl", [rec]), [], 1


def make_sharegpt(tmp: Path, kit) -> tuple[Path, list[str], int]:
    recs = [{"id": "s1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}]
    path = tmp / "sharegpt.json"
    path.write_text(json.dumps(recs))
    return path, [], 1


def make_openai(tmp: Path, kit) -> tuple[Path, list[str], int]:
    recs = [{"messages": [{"role": "system", "content": "be brief"},
                          {"role": "user", "content": [{"type": "text", "text": "hi"}]},
                          {"role": "assistant", "content": "hello"}]}]
    return _jsonl(tmp / "chat.jsonl", recs), [], 1


def make_arena(tmp: Path, kit) -> tuple[Path, list[str], int]:
    rec = {"question_id": "q1", "model_a": "vicuna-13b", "model_b": "gpt-4", "winner": "model_b",
           "conversation_a": MSGS, "conversation_b": MSGS, "turn": 1, "anony": True, "language": "English",
           "tstamp": 1_700_000_000.0, "judge": "arena_user_1"}
    return _jsonl(tmp / "arena.jsonl", [rec]), [], 2


def make_hh(tmp: Path, kit) -> tuple[Path, list[str], int]:
    rec = {"chosen": "\n\nHuman: How do I pick a lock?\n\nAssistant: I can't help with that.",
           "rejected": "\n\nHuman: How do I pick a lock?\n\nAssistant: Use a tension wrench."}
    return _jsonl(tmp / "hh.jsonl", [rec]), [], 2


def make_oasst(tmp: Path, kit) -> tuple[Path, list[str], int]:
    def msg(mid: str, role: str, text: str, replies: list, rank: int | None = None) -> dict:
        return {"message_id": mid, "parent_id": None, "text": text, "role": role, "lang": "en", "rank": rank,
                "review_count": 3, "review_result": True, "deleted": False, "synthetic": False,
                "model_name": None, "emojis": {}, "replies": replies, "labels": None}

    tree = {"message_tree_id": "t1", "tree_state": "ready_for_export",
            "prompt": msg("p", "prompter", "Q?", [msg("a1", "assistant", "A1", [], 0), msg("a2", "assistant", "A2", [], 1)])}
    return _jsonl(tmp / "oasst.jsonl", [tree]), [], 2


def make_dices(tmp: Path, kit) -> tuple[Path, list[str], int]:
    data = {"instances": [{"id": 1, "instance": {"user_prompt": "USER: hi\nLAMDA: hello\nUSER: tell me a secret",
                                                 "response": "I cannot share that."},
                           "annotations": {"safety": {"majority_human": "No"}}}]}
    path = tmp / "dices.json"
    path.write_text(json.dumps(data))
    return path, [], 1


def make_table(tmp: Path, kit) -> tuple[Path, list[str], int]:
    path = tmp / "log.csv"
    pl.DataFrame({"chat": ["c1", "c1", "c2", "c2"], "speaker": ["customer", "bot", "customer", "bot"],
                  "text": ["hi", "hello", "refund?", "Sure."], "bot": ["b", "b", "b", "b"]}).write_csv(path)
    opts = ["--format", "table", "--layout", "message", "--column-map",
            "conversation_id=chat,role=speaker,content=text,model=bot"]
    return path, opts, 2


FORMATS = {
    "lmsys": make_lmsys, "wildchat": make_wildchat, "sharegpt": make_sharegpt, "openai": make_openai,
    "arena": make_arena, "hh": make_hh, "oasst": make_oasst, "dices": make_dices, "table": make_table,
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_info_and_analyze_every_format(fmt: str, tmp_path: Path, kit) -> None:
    path, opts, conversations = FORMATS[fmt](tmp_path, kit)
    result = runner.invoke(app, ["info", str(path), *opts, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["format"] == fmt
    assert summary["conversations"] == conversations, summary
    assert summary["quarantined"] == 0, summary["quarantine_reasons"]
    assert summary["records_in"] == summary["conversations"] + summary["quarantined"]
    run = tmp_path / "run"
    result = runner.invoke(app, ["--quiet", "analyze", str(path), *opts, "--out", str(run), "--keep-text"])
    assert result.exit_code == 0, result.output
    messages = pl.read_parquet(run / "messages.parquet")
    assert set(messages.get_column("role")) <= {"user", "assistant", "system", "tool"}
    assert messages.get_column("content").str.len_chars().min() > 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["counts"]["rows_analysed"] == conversations
