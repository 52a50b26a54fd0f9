"""Units of the alignment pipeline: personas, pairs rules, configs, provenance, export, rewards,
and the bad inputs (empty persona file, missing columns, unknown reward, bad config key)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from chatlens.align.export import export_human_eval, unblind
from chatlens.align.grpo_reward import hllite_rewards
from chatlens.align.pairs import PairRule, build_pairs
from chatlens.align.personas import expand_personas, read_personas, split_personas
from chatlens.align.provenance import Provenance, verify_artefact, write_provenance
from chatlens.align.rewards import check_reward, score_dialogues
from chatlens.align.synthesize import GeneratorSpec
from chatlens.align.train import load_pairs
from chatlens.align.train_config import load_train_config, quantization
from chatlens.errors import (
    DataFileError,
    InvalidParameterError,
    MissingColumnError,
    ProvenanceError,
    SchemaError,
)

from .conftest import PERSONAS


def test_empty_or_malformed_persona_files_name_the_file_and_row(tmp_path):
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(SchemaError, match="empty.json holds no personas"):
        read_personas(empty)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"age": 3}, "not a persona"]))
    with pytest.raises(SchemaError, match="bad.json, persona 1: expected an object"):
        read_personas(bad)
    csv = tmp_path / "p.csv"
    pl.DataFrame(PERSONAS).drop("lifestyle").write_csv(csv)
    assert len(read_personas(csv)) == len(PERSONAS)


def test_oversampling_is_seeded_and_follows_the_rule():
    a = expand_personas(PERSONAS, seed=7)
    assert a == expand_personas(PERSONAS, seed=7)
    assert a != expand_personas(PERSONAS, seed=8)
    for sub in a:
        assert {"age", "sex"} <= set(sub)  # always kept
        assert "veteran_status" not in sub  # "Not Applicable" dropped
        assert len(sub) - 4 == 4  # windows of 2 * (9 // 4) attributes besides age/sex and ids
        parent_age = PERSONAS[sub["parent_id"]]["age"]
        assert abs(sub["age"] - parent_age) <= round(0.1 * parent_age) + 1
    many = [{**PERSONAS[0], **{f"x{i}": i for i in range(10)}}]
    assert len(expand_personas(many, seed=0)) == 4  # enough attributes: HAL's 4 buckets
    split = split_personas(a, test_fraction=0.34, seed=1)
    assert split == split_personas(a, test_fraction=0.34, seed=1)
    test_parents = {s["parent_id"] for s in a if split[s["persona_id"]] == "test"}
    assert len(test_parents) == 2


def test_generator_spec_errors():
    with pytest.raises(InvalidParameterError, match="not key=value"):
        GeneratorSpec.parse("gpt-5:temperature=0.7,oops")
    with pytest.raises(InvalidParameterError, match="MODEL"):
        GeneratorSpec.parse(":x=1")


def _scored(rows):
    frame = pl.DataFrame(rows)
    return score_dialogues(frame, reward="hllite", text_column="dialogue", speaker="P").frame


def _dialogues():
    casual = "D: how are you?\nP: ya im ok lol\nD: pain?\nP: kinda idk"
    formal = (
        "D: How are you?\nP: Good afternoon, Doctor. I have been experiencing considerable "
        "discomfort in my knee for approximately one week.\nD: Pain?\nP: Yes, I would "
        "describe it as a persistent, aching sensation that worsens in the evening."
    )
    plain = "D: How are you?\nP: My knee hurts a bit.\nD: Pain?\nP: Yes, mostly at night."
    rows = []
    for p in range(8):
        for g, text in (("casual", casual), ("formal", formal), ("plain", plain)):
            rows.append(
                {
                    "persona_id": p,
                    "prompt": f"visit {p}",
                    "dialogue": text + "\n" * p,
                    "generator": g,
                }
            )
    return rows


def test_pairs_rules_length_control_balance_cap_and_heldout():
    scored = _scored(_dialogues())
    none = build_pairs(
        scored,
        rule=PairRule(
            length_control="none", balance=False, cap_per_persona=None, heldout_fraction=0.25
        ),
    )
    assert none.card["counts"]["heldout_personas"] == 2
    assert not set(none.heldout["persona_id"]) & set(none.pairs["persona_id"])
    # one generator wins every pair under HAL's rule: a pure generator-style signal
    assert none.pairs["generator_chosen"].n_unique() == 1
    assert none.pairs.height == 6 * 2
    ratio = build_pairs(
        scored,
        rule=PairRule(
            length_control="ratio",
            ratio_bounds=(0.8, 1.25),
            balance=False,
            cap_per_persona=None,
            heldout_fraction=0.25,
        ),
    )
    r = ratio.pairs["words_chosen"] / ratio.pairs["words_rejected"]
    assert ((r >= 0.8) & (r <= 1.25)).all()
    assert ratio.pairs.height < none.pairs.height
    bal = build_pairs(
        scored,
        rule=PairRule(
            length_control="none", balance=True, cap_per_persona=None, heldout_fraction=0.25
        ),
    )
    n = bal.pairs.group_by("generator_chosen", "generator_rejected").len()
    assert n.height == 0 or n["len"].max() <= 1  # one-sided wins cut to ceil(1 * max(0, 1))
    cap = build_pairs(
        scored,
        rule=PairRule(
            length_control="none", balance=False, cap_per_persona=1, heldout_fraction=0.25
        ),
    )
    assert cap.pairs.group_by("persona_id").len()["len"].max() == 1
    gaps = cap.pairs["gap"].to_numpy()
    assert (
        gaps >= none.pairs.group_by("persona_id").agg(pl.col("gap").max())["gap"].min() - 1e-9
    ).all()
    rows = cap.trl_rows()
    assert rows[0]["prompt"] == [{"role": "user", "content": cap.pairs["prompt"][0]}]


def test_residual_length_control_ranks_within_length():
    scored = _scored(_dialogues())
    res = build_pairs(
        scored,
        rule=PairRule(
            length_control="residual", balance=False, cap_per_persona=None, heldout_fraction=0.0
        ),
    )
    assert res.card["residualisation"]["slope_per_log_word"] != 0
    raw = build_pairs(
        scored,
        rule=PairRule(
            length_control="none", balance=False, cap_per_persona=None, heldout_fraction=0.0
        ),
    )
    short = lambda p: float((p["words_chosen"] < p["words_rejected"]).mean())  # noqa: E731
    assert short(res.pairs) < short(raw.pairs)


def test_bad_pair_inputs_raise_clear_errors():
    with pytest.raises(InvalidParameterError, match="Unknown reward 'hl'.*hllite"):
        check_reward("hl")
    with pytest.raises(InvalidParameterError, match="Unknown reward"):
        score_dialogues(pl.DataFrame({"dialogue": ["P: hi"]}), reward="gpt")
    with pytest.raises(MissingColumnError, match=r"\['generator'\] not found"):
        build_pairs(_scored(_dialogues()).drop("generator"))
    with pytest.raises(InvalidParameterError, match="needs a judge model"):
        score_dialogues(pl.DataFrame({"dialogue": ["P: hi"]}), reward="judge")
    with pytest.raises(InvalidParameterError, match="ratio_bounds"):
        PairRule(ratio_bounds=(1.2, 2.0))


def test_train_config_validation(tmp_path):
    hal = load_train_config("align/configs/hal-dpo.yaml")
    assert (hal.beta, hal.learning_rate, hal.epochs, hal.lora.r, hal.lora.alpha) == (
        0.1,
        5e-5,
        10,
        16,
        32,
    )
    bad = tmp_path / "run.yaml"
    bad.write_text("model: m\nlearning_rte: 0.1\n")
    with pytest.raises(DataFileError, match="learning_rte"):
        load_train_config(bad)
    with pytest.raises(DataFileError, match="max_prompt_length"):
        load_train_config({"model": "m", "max_length": 100, "max_prompt_length": 200})
    with pytest.raises(DataFileError, match="method"):
        load_train_config({"model": "m", "method": "ppo"})
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():  # 4-bit without a GPU: a clear stop, not a silent fallback
        with pytest.raises(InvalidParameterError, match="needs a CUDA GPU and the bitsandbytes"):
            quantization(hal)


def test_pairs_file_errors_name_the_line(tmp_path):
    p = tmp_path / "pairs.jsonl"
    good = {
        "prompt": [{"role": "user", "content": "x"}],
        "chosen": [{"role": "assistant", "content": "a"}],
        "rejected": [{"role": "assistant", "content": "b"}],
    }
    p.write_text(json.dumps(good) + "\n" + json.dumps({**good, "chosen": "text"}) + "\n")
    with pytest.raises(SchemaError, match="line 2: 'chosen' must be a list"):
        load_pairs(p)
    with pytest.raises(SchemaError, match="does not exist"):
        load_pairs(tmp_path / "nope.jsonl")


def test_provenance_detects_edits_and_missing_records(tmp_path):
    f = tmp_path / "t.csv"
    f.write_text("a\n1\n")
    with pytest.raises(ProvenanceError, match="no provenance record"):
        verify_artefact(f)
    write_provenance(f, Provenance("table", model="m", config_hash="abc"))
    assert verify_artefact(f)["config_hash"] == "abc"
    f.write_text("a\n2\n")
    with pytest.raises(ProvenanceError, match="changed after it was written"):
        verify_artefact(f)


def test_export_human_eval_is_ratings_input(tmp_path):
    from chatlens.ratings import rate

    for name, text in (("a", "P: ya ok lol"), ("b", "P: Good afternoon, Doctor.")):
        pl.DataFrame(
            {
                "prompt_id": [str(i) for i in range(40)],
                "prompt": ["x"] * 40,
                "completion": [f"{text} {i}" for i in range(40)],
            }
        ).write_parquet(tmp_path / f"{name}.parquet")
    export = export_human_eval(
        tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="base", name_b="dpo", seed=3
    )
    frame = unblind(export.sheet, export.key)
    assert frame.height == 40 and 10 < (frame["model_a"] == "base").sum() < 30
    again = export_human_eval(
        tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="base", name_b="dpo", seed=3
    )
    assert export.sheet.equals(again.sheet) and export.key.equals(again.key)
    row = frame.row(0, named=True)
    want = "P: ya ok lol" if row["model_a"] == "base" else "P: Good afternoon, Doctor."
    assert row["dialogue_a"].startswith(want)
    rated = frame.with_columns(pl.lit("model_b").alias("winner"))  # a rater who always picks B
    rated.write_csv(tmp_path / "rated.csv")
    result = rate(tmp_path / "rated.csv", method="winrate", bootstrap=0)
    wr = dict(zip(result.table["model"], result.table["rating"], strict=True))
    assert wr["base"] + wr["dpo"] == pytest.approx(1.0)
    with pytest.raises(SchemaError, match="Both sides are named"):
        export_human_eval(tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="x", name_b="x")


def test_grpo_reward_floor_and_length_penalty():
    short = "D: hi\nP: ya my knee hurts lol"
    long = "D: hi\nP: " + " ".join(["ya my knee hurts lol"] * 20)
    base = hllite_rewards([short, long, "no turns"], length_penalty=0.0)
    pen = hllite_rewards([short, long, "no turns"], length_penalty=1.0, length_target_words=5)
    assert base[2] == pen[2] == -10.0
    assert pen[1] < base[1] - 1.0  # 100 words per turn against a target of 5
    assert abs(pen[0] - base[0]) < 0.01  # 5 words per turn: on target, no penalty
    assert np.isfinite(base[:2]).all()


def test_judge_and_both_rewards_through_the_llm_client(align_server, tmp_path):
    from chatlens.llm import LLMConfig

    cfg = LLMConfig(model="judge", base_url=align_server.base_url, cache_dir=tmp_path / "c")
    frame = pl.DataFrame(_dialogues()[:6])
    judged = score_dialogues(frame, reward="judge", judge_config=cfg)
    assert judged.frame["reward"].null_count() == 0
    assert judged.frame["reward"].to_list() == judged.frame["reward_judge"].to_list()
    assert "hl_item_1" in judged.frame.columns and judged.info["judge"]["valid"] == 6
    both = score_dialogues(frame, reward="both", judge_config=cfg)
    z = both.frame["reward"].to_numpy()
    assert abs(z.mean()) < 1e-9  # mean of two standardised rewards
    # 3 distinct transcripts (personas 0 and 1 differ by trailing newlines only): 3 requests,
    # everything else, and the whole second pass, from the cache
    assert align_server.n_requests == 3


def test_align_imports_stay_light(modules_loaded_by):
    imports = ("import chatlens.cli, chatlens.align.steps, chatlens.align.evaluate, "
               "chatlens.align.train")
    heavy = ("torch", "transformers", "trl", "peft", "datasets")
    assert modules_loaded_by(imports, heavy) == []


def test_length_control_per_turn():
    scored = _scored(_dialogues())
    rule = PairRule(
        length_control="ratio",
        length_measure="turn",
        ratio_bounds=(0.5, 2.0),
        balance=False,
        cap_per_persona=None,
        heldout_fraction=0.0,
    )
    res = build_pairs(scored, rule=rule)
    r = res.pairs["wpt_chosen"] / res.pairs["wpt_rejected"]
    assert res.pairs.height and ((r >= 0.5) & (r <= 2.0)).all()
    # the formal generator's turns are ~4x longer: never paired with the short-turn ones
    assert "formal" not in set(res.pairs["generator_chosen"]) | set(res.pairs["generator_rejected"])
    assert res.card["rule"]["length_measure"] == "turn"
    with pytest.raises(InvalidParameterError, match="length_measure"):
        PairRule(length_measure="token")


def test_a_scored_table_can_be_paired_again(tmp_path):
    """``scored.parquet`` fed back to ``pairs`` (another rule, same scores) is rescored, not a
    DuplicateError on ``n_words``."""
    from chatlens.align.steps import pairs_to

    pl.DataFrame(_dialogues()).write_parquet(tmp_path / "d.parquet")
    rule = PairRule(length_control="none", balance=False, cap_per_persona=None)
    first = pairs_to(tmp_path / "p1", [tmp_path / "d.parquet"], rule=rule)
    again = pairs_to(tmp_path / "p2", [tmp_path / "p1" / "scored.parquet"], rule=rule)
    assert again.pairs.drop("dialogue_id_chosen", "dialogue_id_rejected").equals(
        first.pairs.drop("dialogue_id_chosen", "dialogue_id_rejected")
    )
    assert "reward" in again.card["reward"]["recomputed_columns"]
    rescored = pl.read_parquet(tmp_path / "p2" / "scored.parquet")
    assert rescored.columns.count("n_words") == 1


def test_a_split_value_other_than_train_or_test_stops_pairs():
    """A split column saying "eval" (or null) used to send those personas into training pairs
    with 0 personas held out; now it is an error naming the column and the values."""
    rows = [{**r, "split": "eval" if r["persona_id"] < 2 else "train"} for r in _dialogues()]
    scored = _scored(rows)
    with pytest.raises(SchemaError, match=r"split column 'split' must be 'train' or 'test'.*'eval'"):
        build_pairs(scored, split_column="split")
    nulls = scored.with_columns(pl.when(pl.col("persona_id") == 0).then(None)
                                .otherwise(pl.lit("train")).alias("split"))
    with pytest.raises(SchemaError, match=r"3 rows hold \['null'\]"):
        build_pairs(nulls, split_column="split")
    ok = build_pairs(scored.with_columns(pl.col("split").replace("eval", "test")),
                     split_column="split", rule=PairRule(length_control="none"))
    assert set(ok.heldout["persona_id"]) == {0, 1}
    assert not {0, 1} & set(ok.pairs["persona_id"])


def test_export_leaves_out_failed_completions_and_rejects_repeated_prompts(tmp_path):
    """A failed server request (completion None) used to become a rating row with one empty
    side, a free win for the other model; a repeated prompt_id was rated once per copy."""
    a, b, c = (tmp_path / f"{n}.parquet" for n in "abc")
    pl.DataFrame(
        {"prompt_id": ["1", "2", "3"], "prompt": ["p"] * 3, "completion": ["P: x", None, "P: z"]}
    ).write_parquet(a)
    pl.DataFrame(
        {"prompt_id": ["1", "2", "3"], "prompt": ["p"] * 3, "completion": ["P: y", "P: w", "P: v"]}
    ).write_parquet(b)
    frame = export_human_eval(a, b, name_a="base", name_b="dpo").sheet
    assert frame["prompt_id"].to_list() == ["1", "3"]
    assert frame["dialogue_a"].null_count() == frame["dialogue_b"].null_count() == 0
    pl.DataFrame(
        {"prompt_id": ["1", "2", "2"], "prompt": ["p"] * 3, "completion": ["a", "b", "c"]}
    ).write_parquet(c)
    with pytest.raises(SchemaError, match=r"c.parquet: prompt_id \['2'\] occurs more than once"):
        export_human_eval(c, b, name_a="base", name_b="dpo")


def test_heldout_prompts_repeating_a_persona_are_refused(tmp_path):
    """Epochs are paired by persona_id: two prompts of one persona gave n = 8 from 4 prompts and
    a CI of [-16, 13] around a zero difference between identical outputs."""
    from chatlens.align.evaluate import load_heldout

    f = tmp_path / "held.csv"
    pl.DataFrame({"persona_id": [7, 7, 8], "prompt": ["a", "b", "c"]}).write_csv(f)
    with pytest.raises(SchemaError, match=r"held.csv: persona_id \['7'\] occurs more than once"):
        load_heldout(f)
    pl.DataFrame({"persona_id": [7, 8], "prompt": ["a", "c"]}).write_csv(f)
    assert load_heldout(f)["prompt_id"].to_list() == ["7", "8"]


def test_a_dialogue_given_twice_is_paired_once():
    """The same table twice (overlapping inputs, a cached synthesis rerun) gave 21 pairs of which
    7 distinct: each persona's cap of 3 filled with copies of one pair."""
    scored = _scored(_dialogues())
    rule = PairRule(length_control="none", balance=False, cap_per_persona=3, heldout_fraction=0.25)
    once = build_pairs(scored, rule=rule)
    twice = build_pairs(pl.concat([scored, scored]), rule=rule)
    assert twice.card["counts"]["dialogues_duplicate"] == scored.height
    assert twice.pairs.select("chosen", "rejected").unique().height == twice.pairs.height
    ids = ["dialogue_id_chosen", "dialogue_id_rejected"]
    assert twice.pairs.drop(ids).equals(once.pairs.drop(ids))
    assert twice.heldout.equals(once.heldout)


def test_failed_synthesis_rows_are_counted_on_the_data_card(tmp_path):
    """synthesize's failed rows (error set, no dialogue) were dropped by pairs with no count."""
    from chatlens.align.steps import pairs_to

    rows = [{**r, "error": None} for r in _dialogues()]
    rows[0] = {**rows[0], "dialogue": None, "error": "dialogue: HTTP 500"}
    rows[1] = {**rows[1], "dialogue": None, "error": "biography: bad JSON"}
    pl.DataFrame(rows).write_parquet(tmp_path / "d.parquet")
    res = pairs_to(tmp_path / "p", [tmp_path / "d.parquet"], rule=PairRule(length_control="none"))
    c = res.card["counts"]
    assert c["dialogues_failed_in_synthesis"] == 2 and c["dialogues_in"] == len(rows) - 2
    card = json.loads((tmp_path / "p" / "data_card.json").read_text())
    assert card["counts"]["dialogues_failed_in_synthesis"] == 2
    assert "| dialogues failed in synthesis | 2 |" in (tmp_path / "p" / "data_card.md").read_text()


def test_generator_names_are_plain_text_on_the_data_card(tmp_path):
    """Generator names went raw into data_card.md inside backticks: a name holding a backtick
    closed the code span and its ``<img onerror>`` was live HTML, a newline started a heading,
    ``[x](url)`` a link. Rendered as CommonMark (HTML allowed), the card now holds the names as
    text only."""
    from markdown_it import MarkdownIt

    from chatlens.align.steps import pairs_to

    evil = {
        "casual": "a`<img src=x onerror=alert(1)>`|x",
        "formal": "*bold* [link](http://e.x)\n# H\u202e",
        "plain": "plain & <b>",
    }
    rows = [{**r, "generator": evil[r["generator"]]} for r in _dialogues()]
    pl.DataFrame(rows).write_parquet(tmp_path / "d.parquet")
    pairs_to(tmp_path / "p", [tmp_path / "d.parquet"], rule=PairRule(length_control="none"))
    text = (tmp_path / "p" / "data_card.md").read_text(encoding="utf-8")
    html = MarkdownIt("commonmark", {"html": True}).render(text)
    for tag in ("<img", "<a ", "<b>", "<em>", "<h1>H", "<code>"):
        assert tag not in html, tag
    assert html.count("<h1>") == 1 and "\u202e" not in text
    items = [line for line in text.splitlines() if line.startswith("* ")]
    assert len(items) == 3  # one line per generator, none split by its newline
    assert "<li>a`&lt;img src=x onerror=alert(1)&gt;`|x: " in html
    assert "<li>plain &amp; &lt;b&gt;: " in html


def test_rows_without_a_persona_are_an_error():
    """Null personas were left out of pairs uncounted, and one drawn as held out was counted
    among the held-out personas (2) while the held-out prompts had 1 row."""
    scored = _scored(_dialogues()).with_columns(
        pl.when(pl.col("persona_id") == 3).then(None).otherwise(pl.col("persona_id"))
        .alias("persona_id")
    )
    with pytest.raises(SchemaError, match=r"3 rows have no persona \('persona_id' is null\)"):
        build_pairs(scored, rule=PairRule(heldout_fraction=0.3, seed=1))


def test_pairs_provenance_names_the_columns_and_the_judge(align_server, tmp_path, monkeypatch):
    """Pairs built on another persona column (8 vs 12 pairs) or by another judge model had the
    same provenance config_hash: the sidecar did not record either."""
    from chatlens.align.provenance import read_provenance
    from chatlens.align.steps import pairs_to
    from chatlens.llm import LLMConfig

    from .conftest import SECRET

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    rows = [
        {**r, "visit": r["persona_id"] // 2, "prompt": f"visit {r['persona_id'] // 2}"}
        for r in _dialogues()
    ]
    pl.DataFrame(rows).write_parquet(tmp_path / "d.parquet")
    rule = PairRule(length_control="none", balance=False, heldout_fraction=0.0)
    a = pairs_to(tmp_path / "a", [tmp_path / "d.parquet"], rule=rule)
    b = pairs_to(tmp_path / "b", [tmp_path / "d.parquet"], rule=rule, persona_column="visit")
    assert a.pairs.height != b.pairs.height
    pa, pb = (read_provenance(tmp_path / x / "pairs.jsonl") for x in "ab")
    assert pa["config_hash"] != pb["config_hash"]
    assert pb["extra"]["settings"]["columns"]["persona"] == "visit"
    hashes = []
    for model in ("judge-a", "judge-b"):
        cfg = LLMConfig(model=model, base_url=align_server.base_url, cache_dir=tmp_path / "c")
        pairs_to(tmp_path / model, [tmp_path / "d.parquet"], rule=rule, reward="judge",
                 judge_config=cfg)
        rec = read_provenance(tmp_path / model / "pairs.jsonl")
        assert rec["extra"]["settings"]["judge"]["model"] == model
        assert SECRET not in json.dumps(rec)
        hashes.append(rec["config_hash"])
    assert hashes[0] != hashes[1]


def test_a_persona_with_two_prompts_is_not_paired_across_them():
    """Two runs numbering personas from 0: a dialogue written for run B's prompt was trained as
    the rejected answer to run A's prompt (the pair takes the chosen side's prompt)."""
    rows = _dialogues()
    other = [{**r, "prompt": "another run's " + r["prompt"], "dialogue": r["dialogue"] + " x"}
             for r in rows]
    with pytest.raises(SchemaError, match=r"8 personas have more than one prompt \(persona 0: 2"):
        build_pairs(_scored(rows + other))
    pairs = build_pairs(_scored(rows), rule=PairRule(length_control="none")).pairs
    assert pairs.height > 0


def test_text_with_unicode_line_separators_round_trips_through_pairs_and_personas(tmp_path):
    """A dialogue holding U+2028 or U+0085 (kept raw by json.dumps(ensure_ascii=False)) was cut
    in two by str.splitlines(): `align train` read the pairs file `align pairs` wrote as invalid
    JSON, and a persona JSONL value holding one failed the same way."""
    from chatlens.align.steps import pairs_to

    rows = [{**r, "dialogue": r["dialogue"].replace("P: ", "P: \u2028", 1) + "\x85"}
            for r in _dialogues()]
    pl.DataFrame(rows).write_parquet(tmp_path / "d.parquet")
    res = pairs_to(tmp_path / "p", [tmp_path / "d.parquet"], rule=PairRule(length_control="none"))
    loaded = load_pairs(tmp_path / "p")
    assert len(loaded) == res.pairs.height > 0
    assert [r["chosen"][0]["content"] for r in loaded] == res.pairs["chosen"].to_list()
    people = tmp_path / "personas.jsonl"
    people.write_text(
        "\n".join(json.dumps({**p, "lifestyle": "busy\u2028tired"}, ensure_ascii=False)
                  for p in PERSONAS) + "\n",
        encoding="utf-8",
    )
    assert [p["lifestyle"] for p in read_personas(people)] == ["busy\u2028tired"] * len(PERSONAS)


def test_a_user_checkpoint_copy_does_not_break_listing(tmp_path):
    """A `checkpoint-best` copy in checkpoints/ stopped train (resume) and evaluate with
    ValueError: invalid literal for int() with base 10: 'best'."""
    from chatlens.align.checkpoints import CHECKPOINT_RECORD, list_checkpoints

    for name, step in (("checkpoint-12", 12), ("checkpoint-6", 6), ("checkpoint-best", 12)):
        (tmp_path / "checkpoints" / name).mkdir(parents=True)
        rec = {"epoch": step // 6, "step": step}
        (tmp_path / "checkpoints" / name / CHECKPOINT_RECORD).write_text(json.dumps(rec))
    assert [c["step"] for c in list_checkpoints(tmp_path)] == [6, 12]


def test_export_refuses_files_answering_other_prompts_under_one_id(tmp_path):
    """Generations from two held-out files sharing persona ids were joined on the id alone: the
    rater saw A's prompt ("nurse") above B's answer to another prompt ("farmer")."""
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    pl.DataFrame(
        {"prompt_id": ["1", "2"], "prompt": ["nurse", "welder"], "completion": ["P: a", "P: b"]}
    ).write_parquet(a)
    pl.DataFrame(
        {"prompt_id": ["1", "2"], "prompt": ["farmer", "welder"], "completion": ["P: c", "P: d"]}
    ).write_parquet(b)
    with pytest.raises(SchemaError, match=r"other prompts under 1 shared prompt_ids \(\['1'\]\)"):
        export_human_eval(a, b, name_a="base", name_b="dpo")


def test_generator_spec_keeps_a_model_tag():
    """Ollama names (``qwen2.5:7b``) were cut at the first ':': "parameter '7b' is not
    key=value", and ``llama3.1:8b-q4:temperature=0.7|1.0`` silently became model ``llama3.1``
    with a parameter named ``8b-q4:temperature``."""
    assert GeneratorSpec.parse("qwen2.5:7b") == GeneratorSpec("qwen2.5:7b")
    spec = GeneratorSpec.parse("llama3.1:8b-q4:temperature=0.7|1.0")
    assert spec == GeneratorSpec("llama3.1:8b-q4", {}, {"temperature": [0.7, 1.0]})
    assert GeneratorSpec.parse("gpt-5-mini:top_p=0.9").model == "gpt-5-mini"


def test_grpo_kl_coefficient_is_its_own_setting(tmp_path):
    pytest.importorskip("trl", reason="needs the 'train' extra")
    from chatlens.align.train_config import dpo_args, grpo_args

    # DPO's beta (preference sharpness) reached GRPOConfig as the KL coefficient: 0.1 → 0.1
    grpo = load_train_config({"model": "m", "method": "grpo", "batch_size": 4})
    assert grpo_args(grpo, tmp_path, use_cpu=True)[0].beta == 0.04
    grpo = load_train_config(
        {"model": "m", "method": "grpo", "batch_size": 4, "grpo": {"beta": 0.0}}
    )
    assert grpo_args(grpo, tmp_path, use_cpu=True)[0].beta == 0.0
    dpo = load_train_config({"model": "m", "beta": 0.3, "grpo": {"beta": 0.5}})
    assert dpo_args(dpo, tmp_path, use_cpu=True)[0].beta == 0.3
    with pytest.raises(DataFileError, match="grpo.beta"):  # a DPO beta in a GRPO run
        load_train_config({"model": "m", "method": "grpo", "beta": 0.5})
    from chatlens.align.train_config import train_config_hash

    # a DPO run's hash ignores grpo.beta: the hash of a run started before the setting existed
    # (146420a1b8cbca66 for {"model": "m"}) is unchanged, so its checkpoints still resume
    plain = load_train_config({"model": "m"})
    assert train_config_hash(plain) == "146420a1b8cbca66"
    assert train_config_hash(load_train_config({"model": "m", "grpo": {"beta": 0.5}})) == (
        train_config_hash(plain)
    )
    grpo = {"model": "m", "method": "grpo"}
    assert train_config_hash(load_train_config({**grpo, "grpo": {"beta": 0.5}})) != (
        train_config_hash(load_train_config(grpo))
    )


def test_the_raters_sheet_is_blind_and_unblinds_only_with_its_key(tmp_path):
    from chatlens.align.export import blind

    for name, text in (("a", "P: ya ok lol"), ("b", "P: Good afternoon, Doctor.")):
        pl.DataFrame(
            {
                "prompt_id": [str(i) for i in range(6)],
                "prompt": ["x"] * 6,
                "completion": [f"{text} {i}" for i in range(6)],
            }
        ).write_parquet(tmp_path / f"{name}.parquet")
    export = export_human_eval(
        tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="base", name_b="dpo", seed=1
    )
    # the Python API is blind too: it returned one table with model_a/model_b beside the
    # dialogues (only the CLI split it), so a notebook user could hand raters the names
    sheet, key = export.sheet, export.key
    assert not {"model_a", "model_b", "position"} & set(sheet.columns)
    assert "base" not in str(sheet.rows()) and "dpo" not in str(sheet.rows())
    assert set(key["model_a"]) | set(key["model_b"]) == {"base", "dpo"}
    rated = sheet.with_columns(pl.lit("model_a").alias("winner"))
    back = unblind(rated, key)
    resheet, rekey = blind(back.with_columns(pl.lit(None, pl.String).alias("winner")))
    assert resheet.equals(sheet) and rekey.equals(key)
    assert back["winner"].to_list() == ["model_a"] * 6
    base_a = back.filter(pl.col("model_a") == "base")["dialogue_a"]
    assert base_a.str.starts_with("P: ya ok lol").all()
    # written apart: the sheet file names no model, the key goes beside it
    sheet_path, key_path = export.write(tmp_path / "to_rate.csv")
    assert key_path == tmp_path / "to_rate.key.csv"
    assert "base" not in sheet_path.read_text() and "base" in key_path.read_text()
    with pytest.raises(InvalidParameterError, match="the sheet itself"):
        export.write(tmp_path / "x.csv", key=tmp_path / "x.csv")
    # the key of another export (another seed swaps sides) would credit the other model
    other = export_human_eval(
        tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="base", name_b="dpo", seed=2
    ).key
    with pytest.raises(SchemaError, match="not the ones"):
        unblind(rated, other)
    with pytest.raises(SchemaError, match="no entry"):
        unblind(rated, key.head(3))


def test_the_exported_position_column_is_one_ratings_reads(tmp_path):
    from chatlens.ratings import rate

    for name, text in (("a", "P: ya ok lol"), ("b", "P: Good afternoon, Doctor.")):
        pl.DataFrame(
            {
                "prompt_id": [str(i) for i in range(30)],
                "prompt": ["x"] * 30,
                "completion": [f"{text} {i}" for i in range(30)],
            }
        ).write_parquet(tmp_path / f"{name}.parquet")
    export = export_human_eval(
        tmp_path / "a.parquet", tmp_path / "b.parquet", name_a="base", name_b="dpo", seed=3
    )
    winners = ["model_a" if i % 3 else "model_b" for i in range(30)]
    rated = export.sheet.with_columns(pl.Series("winner", winners))
    unblind(rated, export.key).write_csv(tmp_path / "rated.csv")
    # "left=model_a" was no position ratings knows: 30 of 30 rows quarantined
    result = rate(tmp_path / "rated.csv", method="bt", bootstrap=0, position="position")
    assert set(result.table["model"]) == {"base", "dpo"}


def test_a_held_out_persona_keeps_its_prompt_and_a_missing_prompt_is_named(tmp_path):
    from chatlens.align.evaluate import load_heldout

    rows = [
        {
            "persona_id": p,
            # persona 0's first row has no prompt; persona 1 has none at all
            "prompt": None if (p == 0 and g == "a") or p == 1 else f"prompt {p}",
            "dialogue": f"P: hi {p} {g}",
            "generator": g,
            "reward": float((p + ord(g)) % 5),
            "n_words": 10.0,
            "words_per_turn": 5.0,
            "split": "test" if p < 2 else "train",
        }
        for p in range(6)
        for g in "ab"
    ]
    res = build_pairs(pl.DataFrame(rows), split_column="split")
    # was [None, None]: the first row's null became the persona's prompt, and evaluate
    # stopped in the chat template ("'dict object' has no attribute 'content'")
    assert res.heldout["prompt"].to_list() == ["prompt 0"]
    assert res.card["counts"]["heldout_personas_without_prompt"] == 1
    p = tmp_path / "held.parquet"
    pl.DataFrame({"persona_id": [7, 8], "prompt": ["Write 7", None]}).write_parquet(p)
    with pytest.raises(
        SchemaError, match=r"held.parquet: 1 rows have no prompt \(persona_id \['8'\]\)"
    ):
        load_heldout(p)


def test_a_persona_attribute_named_like_a_sub_persona_id_is_refused():
    people = [{**p, "persona_id": f"P{j}"} for j, p in enumerate(PERSONAS[:2])]
    # it overwrote the numbering where dealt: sub-personas (0, 'P0', 'P0', 3) of parent 0
    with pytest.raises(SchemaError, match="Persona 0 has an attribute named 'persona_id'"):
        expand_personas(people, seed=1)
    with pytest.raises(SchemaError, match="'parent_id'"):
        expand_personas([{**PERSONAS[0], "parent_id": 9}], seed=1)
    assert len(expand_personas(PERSONAS[:2], seed=1)) > 2
