"""``humanlike.judge`` against a local fake OpenAI-compatible server: by-key parsing, invalid
answers recorded with reasons, failures that never crash the run."""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl
import pytest

from chatlens.humanlike.instruments import load_instrument, score_ratings
from chatlens.humanlike.judge import judge
from chatlens.llm import LLMConfig, MockTransport, make_client
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

INST = load_instrument("hal16q")


def rating_for(key: str, row: int) -> int:
    return (int(key) + row) % 5 + 1


def good_answer(row: int, *, reverse_order: bool = True) -> str:
    keys = list(INST.keys)[::-1] if reverse_order else list(INST.keys)
    return json.dumps({"likert_evaluation": {k: rating_for(k, row) for k in keys}})


def handler(body, n):
    """Behaviour is chosen by a marker in the dialogue: 'W: <mode> <row>'."""
    prompt = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
    mode, row = re.search(r"W: (\w[\w-]*) (\d+)", prompt).groups()
    row = int(row)
    reasked = sum(m["role"] == "assistant" for m in body["messages"])
    if mode == "good":
        return FakeReply(content=good_answer(row))
    if mode == "prose":
        return FakeReply(content="Sure! Here is my rating:\n" + good_answer(row) + "\nThanks.")
    if mode == "reaskonce":
        return FakeReply(content="{oops" if reasked == 0 else good_answer(row))
    if mode == "badjson":
        return FakeReply(content="{'likert_evaluation': {1: 5,}")
    if mode == "missing":
        ans = json.loads(good_answer(row))
        del ans["likert_evaluation"]["5"]
        return FakeReply(content=json.dumps(ans))
    if mode == "range":
        return FakeReply(content=good_answer(row).replace(": 1,", ": 9,", 1))
    if mode == "refuse":
        return FakeReply(content='{"error": "transcript unusable"}')
    if mode == "down":
        return FakeReply(status=500, content="internal")
    if mode == "html":
        return FakeReply(raw_body=b"<html>proxy login</html>")
    raise AssertionError(mode)


@pytest.fixture
def server():
    with FakeOpenAIServer(handler) as s:
        yield s


def config(server, **kw):
    base = {"model": "gpt-4o-mini", "base_url": server.base_url, "max_reasks": 2,
            "max_retries": 1, "backoff_initial_s": 0.001, "timeout_s": 2}
    base.update(kw)
    return LLMConfig(**base)


def frame(modes):
    return pl.DataFrame({
        "game": list(range(len(modes))),
        "dialogue": [None if m is None else f"I: hi there\nW: {m} {i}\nI: ok" for i, m in enumerate(modes)],
    })


def test_good_answers_are_parsed_by_key_and_scored(server):
    res = judge(frame(["good", "good", "prose"]), instrument=INST, text_column="dialogue",
                speaker="W", config=config(server))
    out = res.frame
    assert out.columns[:2] == ["game", "dialogue"]
    cols = list(INST.item_columns().values())
    assert cols[0] == "hl_item_1"
    for row in range(3):
        expected = [rating_for(k, row) for k in INST.keys]
        assert out.select(cols).row(row) == tuple(expected)
    logit, prob = score_ratings(out.select(cols).to_numpy().astype(float), INST)
    np.testing.assert_allclose(out["hl_logit"].to_numpy(), logit)
    np.testing.assert_allclose(out["hl_prob"].to_numpy(), 1 / (1 + np.exp(-logit)))
    assert out["hl_error"].null_count() == 3 and res.n_valid == 3
    assert out["hl_item_1"].dtype == pl.Int64
    # the prompt named the rated speaker and contained the dialogue
    assert "Witness W" in server.bodies[0]["messages"][1]["content"]


def test_bad_answers_are_recorded_with_reasons_never_raised(server):
    modes = ["badjson", "missing", "range", "refuse", "reaskonce", None, "down", "good"]
    res = judge(frame(modes), instrument=INST, text_column="dialogue", speaker="W",
                config=config(server))
    out = res.frame
    err = dict(zip(modes, out["hl_error"].to_list(), strict=True))
    assert "invalid answer after 2 re-ask(s)" in err["badjson"]
    assert "missing items 5" in err["missing"]
    assert "outside 1-5" in err["range"]
    assert "judge returned error: transcript unusable" in err["refuse"]
    assert err["reaskonce"] is None and err["good"] is None
    assert err[None] == "empty dialogue"
    assert err["down"].startswith("request failed") and "Gave up after 1 retries" in err["down"]
    assert (res.n_rows, res.n_valid, res.n_invalid, res.n_failed_requests) == (8, 2, 6, 1)
    # invalid rows have null items and scores, and keep the raw answer for auditing
    bad = out.filter(pl.col("hl_error").is_not_null())
    assert bad["hl_logit"].null_count() == 6 and bad["hl_item_1"].null_count() == 6
    assert out.filter(pl.col("game") == 0)["hl_raw"][0].startswith("{'likert")
    assert out["hl_n_reasks"].to_list() == [2, 2, 2, 0, 1, 0, 0, 0]
    # the judge's own refusal is not re-asked; bad answers are re-asked exactly max_reasks times
    summary = res.summary()
    assert summary["invalid"] == 6 and summary["usage"]["reasks"] == 7
    assert {r["reason"][:20] for r in summary["top_invalid_reasons"]} >= {"empty dialogue"}


def test_samples_average_item_by_item():
    calls = {"n": 0}

    def answer(req):
        calls["n"] += 1
        base = 1 if req.sample_index == 0 else 3
        return json.dumps({"likert_evaluation": {k: base for k in INST.keys}})

    client = make_client(LLMConfig(model="m", temperature=1.0), transport=MockTransport(answer))
    res = judge(frame(["x"]), instrument=INST, text_column="dialogue", speaker="W",
                client=client, samples=2)
    assert calls["n"] == 2
    assert res.frame["hl_item_1"].dtype == pl.Float64 and res.frame["hl_item_1"][0] == 2.0


def test_samples_record_how_many_answers_were_valid():
    """With --samples N, a row's mean over fewer valid answers looked like a full one: nothing
    said dialogue 1 was rated from 1 answer of 3 (review item: judge --samples valid counts)."""

    def answer(req):
        text = "\n".join(m["content"] for m in req.messages if m["role"] == "user")
        if req.sample_index == 1 or ("W: b" in text and req.sample_index == 2):
            return "{not json"
        return json.dumps({"likert_evaluation": {k: 1 + req.sample_index for k in INST.keys}})

    config = LLMConfig(model="m", temperature=1.0, max_reasks=0)
    client = make_client(config, transport=MockTransport(answer))
    df = pl.DataFrame({"dialogue": ["I: hi\nW: a", "I: hi\nW: b", None]})
    res = judge(df, instrument=INST, speaker="W", client=client, samples=3)
    assert res.frame["hl_item_1"].to_list() == [2.0, 1.0, None]  # the valid samples' mean
    assert res.frame["hl_n_valid_samples"].to_list() == [2, 1, 0]
    assert (res.n_asked_samples, res.n_valid_samples, res.n_partial) == (6, 3, 2)
    assert res.summary()["samples"] == {"per_dialogue": 3, "answers_asked": 6,
                                        "answers_valid": 3, "dialogues_with_fewer_valid": 2}


def test_missing_column_and_bad_samples():
    from chatlens.errors import InvalidParameterError, MissingColumnError

    client = make_client(LLMConfig(model="m"), transport=MockTransport(lambda r: "{}"))
    with pytest.raises(MissingColumnError, match="text_col"):
        judge(frame(["x"]), text_column="text_col", client=client)
    with pytest.raises(InvalidParameterError, match="samples"):
        judge(frame(["x"]), text_column="dialogue", client=client, samples=0)


def test_a_server_answering_200_with_html_is_recorded_per_row(server):
    res = judge(frame(["html", "good"]), instrument=INST, text_column="dialogue", speaker="W",
                config=config(server))
    err = res.frame["hl_error"].to_list()
    assert err[0].startswith("request failed") and "not a JSON chat completion" in err[0]
    assert err[1] is None and res.n_failed_requests == 1


def test_a_role_list_column_is_sent_as_transcript_lines():
    """A JSONL role-list column (the transcript form HL-lite reads) crashed judge with a polars
    cast traceback (review repro 06)."""
    from chatlens.errors import InvalidParameterError

    seen = []

    def reply(request):
        seen.extend(m["content"] for m in request.messages)
        return json.dumps({"likert_evaluation": dict.fromkeys(INST.keys, 2)})

    client = make_client(LLMConfig(model="stub"), transport=MockTransport(reply))
    df = pl.DataFrame({"dialogue": [[{"role": "user", "content": "hi"},
                                     {"role": "assistant", "content": "hey lol"}], []]})
    res = judge(df, instrument=INST, speaker="assistant", client=client)
    assert res.frame["hl_error"].to_list() == [None, "empty dialogue"]
    assert any("user: hi\nassistant: hey lol" in m for m in seen)
    with pytest.raises(InvalidParameterError, match=r"text column 'dialogue' must hold transcripts"):
        judge(pl.DataFrame({"dialogue": [1, 2]}), instrument=INST, client=client)
    bad = pl.DataFrame({"dialogue": [[{"who": "user", "what": "hi"}]]})
    with pytest.raises(InvalidParameterError, match="role/content"):
        judge(bad, instrument=INST, client=client)
