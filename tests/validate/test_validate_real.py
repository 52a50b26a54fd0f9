"""The real labelled development set: its files, its agreement check and its evaluation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import SourceError
from chatlens.validate.real import REFUSED, agreement, attach_text, load_labels
from chatlens.validate.real_eval import accuracy_row, binary_row, evaluate_real, macro_f1_row


def test_labels_are_ids_and_labels_only():
    labels = load_labels()
    assert labels.height >= 1500
    assert labels["item"].is_unique().all()
    assert {"file", "conversation_id", "message_index", "content_sha1"} <= set(labels.columns)
    # never the text: the reason is a short description, not a copy of the message
    assert labels["reason"].str.len_chars().max() <= 120
    # a reaction is only given to the message after a refusal
    assert labels.filter(pl.col("reaction").is_not_null())["refused"].all()
    assert labels.filter(pl.col("refusal") == "partial")["partial_reason"].null_count() == 0
    second = load_labels(second_pass=True)
    assert 0.15 * labels.height <= second.height <= labels.height
    assert set(second["item"]) <= set(labels["item"])


def test_bad_label_value_names_item_and_column(tmp_path):
    import json

    from chatlens import datafiles

    doc = datafiles.load("validation/real_dev_labels.json")
    rows = [list(r) for r in doc.rows[:3]]
    rows[1][list(doc.columns).index("refusal")] = "nope"
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"name": "t", "version": 1, "source": "test",
                                "columns": list(doc.columns), "rows": rows}), encoding="utf-8")
    with pytest.raises(SourceError, match=r"item .*'refusal'.*'nope'"):
        load_labels(path=path)


def test_agreement_perfect_and_chance():
    first = load_labels()
    same = agreement(first, first.head(200))
    assert same.filter(pl.col("task") == "refusal (binary)")["kappa"][0] == pytest.approx(1.0)
    flipped = first.head(200).with_columns(refused=~pl.col("refused"))
    assert agreement(first, flipped).filter(pl.col("task") == "refusal (binary)")["kappa"][0] < 0


def test_binary_row_intervals_cover_the_estimate():
    rng = np.random.default_rng(1)
    gold = rng.random(400) < 0.3
    pred = np.where(rng.random(400) < 0.8, gold, ~gold)
    row = binary_row(gold, pred, np.arange(400) // 2)
    assert row["tp"] + row["fp"] + row["fn"] + row["tn"] == 400
    for m in ("precision", "recall", "f1", "flagged_ratio"):
        assert row[f"{m}_low"] <= row[m] <= row[f"{m}_high"]


def test_flagged_ratio_is_the_detectors_count_over_the_readers():
    """A detector that flags twice as many messages as the readers has ratio 2 (recall ÷
    precision), whatever its F1; one that flags nothing the readers flag has ratio 0."""
    gold = np.array([True] * 10 + [False] * 30)
    twice = np.array([True] * 10 + [True] * 10 + [False] * 20)
    assert binary_row(gold, twice, np.arange(40))["flagged_ratio"] == pytest.approx(2.0)
    assert binary_row(gold, np.zeros(40, bool), np.arange(40))["flagged_ratio"] == 0.0
    assert binary_row(np.zeros(40, bool), twice, np.arange(40))["flagged_ratio"] is None


def test_macro_f1_averages_present_classes():
    gold = np.array(["rephrase", "rephrase", "pushback", "accept"])
    pred = np.array(["rephrase", "pushback", "pushback", "new_topic"])
    row = macro_f1_row(gold, pred, np.arange(4))
    assert row["classes"] == "rephrase,pushback,accept"
    assert row["macro_f1"] == pytest.approx(np.mean([2 / 3, 2 / 3, 0.0]), abs=1e-4)


@pytest.mark.realdata
def test_accuracy_row_reports_the_majority_baseline_and_class_recalls():
    """A detector that always answers the commonest class matches the baseline and finds none of
    the other class: the row must show both, not the accuracy alone."""
    gold = np.array(["capability"] * 8 + ["policy"] * 2)
    always = np.array(["capability"] * 10)
    row = accuracy_row(gold, always, np.arange(10))
    assert row["accuracy"] == row["majority"] == 0.8
    assert (row["recall_capability"], row["recall_policy"]) == (1.0, 0.0)
    mixed_up = np.array(["capability"] * 7 + ["policy"] * 2 + ["capability"])
    row = accuracy_row(gold, mixed_up, np.arange(10))
    assert (row["accuracy"], row["recall_capability"], row["recall_policy"]) == (0.8, 0.875, 0.5)


def test_real_set_reads_every_labelled_message(shared_data):
    frame = attach_text(load_labels(), shared_data)
    assert frame["response"].null_count() == 0
    # the message after a refusal with a reaction exists
    assert frame.filter(pl.col("reaction").is_not_null())["followup"].null_count() == 0


@pytest.mark.realdata
def test_changed_text_is_detected(shared_data):
    labels = load_labels().head(5).with_columns(pl.lit("000000000000").alias("content_sha1"))
    with pytest.raises(SourceError, match="differs from the labelled one"):
        attach_text(labels, shared_data)


@pytest.mark.realdata
def test_evaluate_real_with_an_oracle_and_a_constant(shared_data):
    frame = attach_text(load_labels(), shared_data)

    def oracle(f: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({"refusal": f["refusal"].is_in(REFUSED),
                             "refusal_type": f["refusal_type"],
                             "refusal_score": f["refusal"].is_in(REFUSED).cast(pl.Float64)})

    def never(f: pl.DataFrame) -> pl.DataFrame:
        return pl.DataFrame({"refusal": [False] * f.height, "refusal_type": ["none"] * f.height,
                             "refusal_score": [0.0] * f.height})

    rep = evaluate_real(frame, {"oracle": oracle, "never": never},
                        reactions={"oracle": lambda f: f["reaction"].to_numpy()})
    top = rep.refusal.filter(pl.col("group") == "all")
    assert top.filter(pl.col("detector") == "oracle")["f1"][0] == 1.0
    assert top.filter(pl.col("detector") == "never")["recall"][0] == 0.0
    assert rep.reaction.filter(pl.col("group") == "all")["macro_f1"][0] == 1.0
    assert set(rep.refusal["group"]) >= {"all", "source=sharegpt", "source=hh", "source=dices"}
    assert rep.errors.filter(pl.col("detector") == "never").height == 20


def test_synthetic_section_is_its_own_table():
    from chatlens.validate.synthetic import synthetic_agreement

    rows = synthetic_agreement(300, seed=3)
    assert rows["signal"].to_list()[:3] == ["refusal", "refusal_type", "jailbreak"]
    assert 0.0 <= rows["f1"][0] <= 1.0
