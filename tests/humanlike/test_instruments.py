"""Instruments: bundled files validate, HAL16Q alignment, parsing by key, invalid user files."""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from chatlens.errors import DataFileError, InstrumentError, InvalidParameterError
from chatlens.humanlike.instruments import (
    clean_dialogue,
    list_instruments,
    load_instrument,
    score_ratings,
)

PUBLISHED_W = [1.3736384489893014, -0.24738157296361998, -0.5005891551603044, 0.4703058300432663,
               0.7078845677748485, 0.31244681344661834, -0.7265659134887993, -0.42661166749050544,
               -0.3120257940100131, 0.12171378121001732, -0.35617663877855, -0.21888734401878768,
               0.3429129573313462, -0.18188883104647133, 0.2563284785689093, -0.1905080475475561]
PUBLISHED_B = -2.662356527104765
SELECTED_IDX = [0, 1, 2, 3, 4, 5, 6, 11, 14, 16, 19, 20, 23, 25, 27, 31]  # hal.md section 1.4
EXAMPLE = resources.files("chatlens").joinpath("data", "instruments", "examples", "ipip-bfm-10.yaml")


def test_bundled_names():
    assert {"hal16q", "hal16q-published", "hal32q"} <= set(list_instruments())


@pytest.mark.parametrize("name", list_instruments())
def test_every_bundled_instrument_validates_and_round_trips(name):
    inst = load_instrument(name)
    assert inst.name == name
    assert len(set(inst.keys)) == len(inst.items) > 0
    assert inst.source.get("url") and inst.version
    messages = inst.render_prompt("I: hi\nW: hey", "W")
    assert sum("hey" in m["content"] for m in messages) == 1
    # a perfect answer in the instrument's own output format parses cleanly
    values = {k: inst.scale.max for k in inst.keys}
    if inst.output_grouped:
        body = {g.key: {i.key: inst.scale.max for i in inst.items if i.group == g.key}
                for g in inst.groups}
    else:
        body = values
    parsed = inst.parse_answer(json.dumps({inst.output_root_key: body}))
    assert parsed.ok, parsed.reason
    assert dict(parsed.values) == values


def test_example_big_five_file_loads_and_has_reverse_items():
    inst = load_instrument(Path(str(EXAMPLE)))
    assert inst.bias is None and inst.reverse_mask.sum() == 5
    assert "the assistant" in inst.render_prompt("user: hi\nassistant: hello", "assistant")[0]["content"]
    with pytest.raises(InvalidParameterError, match="no scoring weights"):
        score_ratings({k: 3 for k in inst.keys}, inst)


def test_hal16q_published_reproduces_weights_and_deployed_prompt():
    inst = load_instrument("hal16q-published")
    assert inst.keys == tuple(str(i) for i in range(1, 17))
    np.testing.assert_array_equal(inst.weights, PUBLISHED_W)
    assert inst.bias == PUBLISHED_B
    msgs = inst.render_prompt("P: hello   there\n\n\nD: hi\n---\nP: bye", "P")
    assert [m["role"] for m in msgs] == ["system", "user", "system"]
    assert msgs[0]["content"] == "Keep the total tokens under (thinking + output): 10072"
    assert msgs[2]["content"] == "Reply must be JSON format."
    user = msgs[1]["content"]
    assert user.startswith("# Human vs. AI Speaking-Style Likert-Type Numeric Rating Scale\n\n"
                           "The 16 statements below")
    assert "Please rate the speaking style of Patient P," in user
    assert "Only consider Patient P's dialogue; ignore all statements or actions by Doctor D." in user
    assert "\n1. Keeps replies brief and casual without over-explaining.\n2. Uses emojis," in user
    assert user.endswith("## Input dialogue:\n<dialogue>\nP: hello there\nD: hi\nP: bye\n\n")


def test_hal16q_attaches_published_weights_to_the_statements_they_were_fitted_on():
    h16, h32 = load_instrument("hal16q"), load_instrument("hal32q")
    assert h16.keys == tuple(str(i + 1) for i in SELECTED_IDX)
    np.testing.assert_array_equal(h16.weights, PUBLISHED_W)
    assert h16.bias == PUBLISHED_B
    by_key = {i.key: i.statement for i in h32.items}
    for item in h16.items:
        assert item.statement == by_key[item.key]
    pub = load_instrument("hal16q-published")
    same = [a.statement.split()[0:3] == b.statement.split()[0:3] for a, b in zip(h16.items, pub.items,
                                                                                   strict=True)]
    assert sum(same) < 16  # the published file pairs most weights with other statements


def test_hal32q_weights_match_dossier():
    inst = load_instrument("hal32q")
    assert len(inst.items) == 32 and inst.output_grouped
    assert inst.weights[0] == pytest.approx(1.4056) and inst.weights[6] == pytest.approx(-0.7162)
    assert inst.bias == pytest.approx(-2.127295108480979)


def test_parse_is_by_key_not_by_order():
    inst = load_instrument("hal16q-published")
    values = {k: (int(k) % 5) + 1 for k in inst.keys}
    keys = list(values)
    random.Random(3).shuffle(keys)
    shuffled = {"likert_evaluation": {k: values[k] for k in keys}}
    parsed = inst.parse_answer(json.dumps(shuffled))
    assert parsed.ok and dict(parsed.values) == values
    a = score_ratings(dict(parsed.values), inst)
    b = score_ratings(values, inst)
    assert a == b


def test_parse_reports_problems_and_never_shifts_values():
    inst = load_instrument("hal16q")
    answer = {"likert_evaluation": {"1": 5, "2": 9, "3": "4", "4": 2.5, "99": 1, "5": True}}
    parsed = inst.parse_answer("Sure! ```json\n" + json.dumps(answer) + "\n```")
    assert parsed.values["1"] == 5 and parsed.values["3"] == 4
    assert parsed.values["2"] is None and parsed.values["4"] is None and parsed.values["5"] is None
    assert parsed.values["6"] is None  # missing stays missing: key "99" does not fill it
    assert not parsed.ok
    text = "; ".join(parsed.problems)
    assert "unexpected key '99'" in text and "outside 1-5" in text and "missing items 6" in text


@pytest.mark.parametrize(
    ("answer", "needle"),
    [(None, "empty"), ("not json at all", "not a JSON object"),
     ('{"error": "cannot rate"}', "judge returned error: cannot rate"), ("[1, 2, 3]", "JSON object"),
     ('{"likert_evaluation": 3}', "not an object"), ("{" * 10, "not a JSON object"),
     # nested past the parser's stack: a RecursionError stopped the whole batch
     ("[" * 20_000 + "]" * 20_000, "nested too deeply")],
)
def test_parse_bad_answers_give_reasons(answer, needle):
    parsed = load_instrument("hal16q").parse_answer(answer)
    assert not parsed.ok and needle in (parsed.reason or "")


def test_parse_grouped_and_duplicate_keys():
    inst = load_instrument("hal32q")
    body = {f"Group {g}": {} for g in range(1, 7)}
    for item in inst.items:
        body[item.group][item.key] = 3
    body["Group 6"]["1"] = 4  # duplicate of item 1
    parsed = inst.parse_answer({"likert_evaluation": body})
    assert parsed.values["1"] is None and "duplicate key '1'" in parsed.reason


def test_placeholders_inside_dialogue_are_not_expanded():
    inst = load_instrument("hal16q")
    out = inst.render_prompt("W: my {speaker} {statements} {dialogue} {\"a\": 1}", "W")[1]["content"]
    assert "W: my {speaker} {statements} {dialogue} {\"a\": 1}" in out


def test_unknown_speaker_gets_neutral_wording():
    out = load_instrument("hal16q").render_prompt("X: hi", "X")[1]["content"]
    assert "Speaker X" in out


def test_clean_dialogue():
    assert clean_dialogue("a  \t b\n\n\n---\nc\r\n") == "a b\nc"


def test_score_ratings_shapes_and_all_ones():
    inst = load_instrument("hal16q-published")
    logit, prob = score_ratings({k: 1 for k in inst.keys}, inst)
    assert logit == pytest.approx(sum(PUBLISHED_W) + PUBLISHED_B)
    assert prob == pytest.approx(1 / (1 + np.exp(-logit)))
    arr = np.ones((3, 16))
    arr[1, 0] = np.nan
    lo, _ = score_ratings(arr, inst)
    assert np.isnan(lo[1]) and lo[0] == pytest.approx(logit)
    frame = pl.DataFrame({f"hl_item_{k}": [1, 5] for k in inst.keys})
    scored = score_ratings(frame, inst)
    assert scored["hl_logit"][0] == pytest.approx(logit)
    with pytest.raises(InvalidParameterError, match="16 columns"):
        score_ratings(np.ones((2, 5)), inst)
    with pytest.raises(InvalidParameterError, match="lack items"):
        score_ratings({"1": 3}, inst)


def test_reverse_items_are_flipped(tmp_path):
    p = tmp_path / "rev.yaml"
    p.write_text(_minimal_yaml(items='  - {key: a, statement: A, weight: 1.0}\n'
                                     '  - {key: b, statement: B, weight: 1.0, reverse: true}\n'))
    inst = load_instrument(p)
    assert score_ratings({"a": 5, "b": 5}, inst)[0] == pytest.approx(5 + 1 + 0.5)


def _minimal_yaml(*, items: str = "  - {key: a, statement: A thing., weight: 1.0}\n",
                  extra: str = "", content: str = "Rate {speaker}: {statements}\\n{dialogue}") -> str:
    return (
        "name: mine\nversion: '1'\nscale: {min: 1, max: 5, anchors: {5: high, 1: low}}\n"
        "scoring: {bias: 0.5}\n" + extra +
        f"prompt:\n  messages:\n    - {{role: user, content: \"{content}\"}}\n"
        "items:\n" + items
    )


@pytest.mark.parametrize(
    ("text", "key", "needle"),
    [
        (_minimal_yaml(extra="colour: red\n"), "colour", "one of the keys"),
        (_minimal_yaml(items="  - {key: a, statement: A}\n  - {key: a, statement: B}\n"),
         "items[1].key", "no other item has"),
        (_minimal_yaml(items="  - {key: a, statement: A, weight: heavy}\n"), "items[0].weight", "a finite number"),
        (_minimal_yaml(items="  - {key: a, statement: A, wieght: 1}\n"), "items[0].wieght", "one of the keys"),
        (_minimal_yaml(items="  - {key: a, statement: A, group: G}\n"), "items[0].group", "declared under 'groups'"),
        (_minimal_yaml(content="Rate {speeker}: {dialogue}"), "prompt.messages[0].content", "only the placeholders"),
        (_minimal_yaml(content="Rate {speaker}"), "prompt.messages", "exactly once"),
        (_minimal_yaml(items=""), "items", "a non-empty list"),
        ("name: [unclosed", "<root>", "valid YAML"),
        ("- just a list", "<root>", "a mapping"),
    ],
)
def test_invalid_user_files_name_file_key_and_item(tmp_path, text, key, needle):
    p = tmp_path / "bad.yaml"
    p.write_text(text)
    with pytest.raises(DataFileError) as info:
        load_instrument(p)
    assert (info.value.file, info.value.key) == (str(p), key)
    assert needle in info.value.expected
    assert str(info.value).startswith(f"Invalid data file {p}: key {key!r}: expected ")


def test_minimal_user_file_loads(tmp_path):
    p = tmp_path / "ok.yaml"
    p.write_text(_minimal_yaml())
    inst = load_instrument(p)
    assert inst.keys == ("a",) and inst.role(None).speaker == "the rated speaker"


def test_unknown_name_suggests():
    with pytest.raises(InstrumentError, match="Did you mean 'hal16q'"):
        load_instrument("hal16")
    with pytest.raises(DataFileError, match="expected a readable file"):
        load_instrument("missing.yaml")


def test_extends_with_weights(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text("extends: hal32q\nname: mine\nscoring: {bias: 0.1}\nweights: {'1': 2.0, '7': -1.0}\n")
    inst = load_instrument(p)
    assert inst.keys == ("1", "7") and list(inst.weights) == [2.0, -1.0] and inst.bias == 0.1
    assert "Replies are brief and casual" in inst.render_prompt("W: x")[1]["content"]
    p.write_text("extends: hal32q\nname: mine\nweights: {'77': 1.0}\n")
    with pytest.raises(DataFileError, match=r"key 'weights': .* Got \['77'\]"):
        load_instrument(p)


def test_output_schema_lists_every_key():
    inst = load_instrument("hal32q")
    schema = inst.output_schema()
    groups = schema["anyOf"][0]["properties"]["likert_evaluation"]["properties"]
    keys = [k for g in groups.values() for k in g["properties"]]
    assert sorted(keys, key=int) == list(inst.keys)
    assert schema["anyOf"][1]["required"] == ["error"]


@pytest.mark.realdata
def test_hal16q_published_matches_published_weights_file(shared_data):
    data = json.loads((shared_data / "hal" / "HAL16_judge_weights.json").read_text())
    inst = load_instrument("hal16q-published")
    assert list(inst.weights) == data["w"] and inst.bias == data["b"]


def test_output_root_key_null_puts_ratings_at_the_top_level(tmp_path):
    """``root_key: null`` is a value (no wrapper object), not "use the default"."""
    p = tmp_path / "flat.yaml"
    p.write_text(_minimal_yaml(extra="output: {root_key: null}\n"))
    flat = load_instrument(p)
    assert flat.output_root_key is None and flat.parse_answer('{"a": 4}').values == {"a": 4}
    p.write_text(_minimal_yaml())
    assert load_instrument(p).output_root_key == "likert_evaluation"


def test_a_key_repeated_inside_one_json_object_is_a_problem():
    """json.loads kept the last of two values of item 1 silently: the answer read as valid
    (review repro 08). Repeats of an item or of the root key are now problems; other repeated
    keys are left alone, as other extra keys are."""
    inst = load_instrument("hal16q")
    body = ", ".join(f'"{k}": 3' for k in inst.keys)
    parsed = inst.parse_answer('{"likert_evaluation": {"1": 5, ' + body + '}}')
    assert not parsed.ok and parsed.values["1"] is None and parsed.values["2"] == 3
    assert parsed.problems == ("duplicate key '1'",)
    twice = inst.parse_answer('{"likert_evaluation": {' + body + '}, "likert_evaluation": {'
                              + body + '}}')
    assert "duplicate key 'likert_evaluation'" in twice.problems
    noted = inst.parse_answer('{"likert_evaluation": {' + body + '}, "note": 1, "note": 2}')
    assert noted.ok
