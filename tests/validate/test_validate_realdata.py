"""Target numbers on the real labelled sets (issue 3): a regression here fails CI."""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.validate import validate

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def report(shared_data):
    return validate(shared_data, encoder=False)  # the encoder rows are not gated here


def _get(report, dataset, group, task, detector, metric):
    row = report.rows.filter(
        (pl.col("dataset") == dataset) & (pl.col("group") == group)
        & (pl.col("task") == task) & (pl.col("detector") == detector)
    )
    assert row.height == 1, (dataset, group, detector)
    return row[metric].item()


@pytest.mark.parametrize("model", ["gpt4", "llama2new"])
def test_xstest_precision_and_recall_per_model(report, model):
    assert _get(report, "xstest-dev", model, "refusal", "rules", "precision") >= 0.93
    assert _get(report, "xstest-dev", model, "refusal", "rules", "recall") >= 0.93


def test_jailbreak_recall_targets(report):
    assert _get(report, "gptfuzz", "templates", "jailbreak", "rules", "recall") >= 0.95
    assert _get(report, "jailbreakbench-artifacts", "template-style (JBC+GCG+random search)",
                "jailbreak", "rules", "recall") >= 0.95
    for method in ("JBC", "prompt_with_random_search"):
        assert _get(report, "jailbreakbench-artifacts", method, "jailbreak", "rules", "recall") >= 0.95


@pytest.mark.parametrize(
    ("dataset", "group"),
    [("xstest-dev", "prompts (negatives)"), ("coconot", "prompts (negatives)"),
     ("jailbreakbench-artifacts", "goals (negatives)")],
)
def test_false_positive_rate_on_plain_requests(report, dataset, group):
    assert _get(report, dataset, group, "jailbreak", "rules", "fpr") <= 0.02


def test_all_targets_pass_and_beat_legacy(report):
    assert report.all_passed, [t for t in report.targets if not t.passed]
    for model in ("gpt4", "llama2new"):
        ours = _get(report, "xstest-dev", model, "refusal", "rules", "f1")
        assert ours > _get(report, "xstest-dev", model, "refusal", "legacy", "f1")


def test_learned_tier_held_out_on_xstest(report):
    if "learned" not in set(report.rows["detector"]):
        pytest.skip("no learned weights shipped")
    for model in ("gpt4", "llama2new"):
        assert _get(report, "xstest-dev", model, "refusal", "learned", "precision") >= 0.92
        assert _get(report, "xstest-dev", model, "refusal", "learned", "recall") >= 0.92


def test_dataset_selection_fits_only_its_folds_and_prints_the_full_runs_numbers(
        report, shared_data, monkeypatch):
    """``--dataset xstest-dev`` spent minutes fitting every held-out fold of every set (the real
    set's CV, each jailbreak source) before printing anything: it fits only the folds that
    predict xstest-dev's rows, and its rows are the full run's."""
    import chatlens.signals.learned as learned
    import chatlens.validate.jailbreak_cv as jcv
    import chatlens.validate.refusal_model_cv as rcv
    from chatlens.validate.datasets import load_all

    fits = {"refusal": 0, "context": 0, "jailbreak": 0}

    def spy(key, fn):
        def wrapped(*a, **k):
            fits[key] += 1
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(learned.LearnedRefusal, "fit_matrix",
                        spy("refusal", learned.LearnedRefusal.fit_matrix))
    monkeypatch.setattr(rcv, "_fit", spy("context", rcv._fit))
    monkeypatch.setattr(jcv, "_predict_out", spy("jailbreak", jcv._predict_out))
    selected = validate(shared_data, datasets=["xstest-dev"], synthetic=0, encoder=False)
    full = report.rows.filter(pl.col("dataset") == "xstest-dev")
    assert selected.rows.height == full.height > 0
    assert selected.rows.sort("group", "task", "detector").equals(full.sort("group", "task", "detector"))
    xstest_refusal = [s for s in load_all(shared_data) if s.dataset == "xstest-dev" and s.task == "refusal"]
    detectors = set(full["detector"])
    assert fits["refusal"] == (len(xstest_refusal) if "learned" in detectors else 0)
    assert fits["context"] == (1 if rcv.CONTEXT in detectors else 0)  # leave xstest-dev out
    assert fits["jailbreak"] == (1 if "learned" in set(full.filter(pl.col("task") == "jailbreak")["detector"]) else 0)


def test_learned_jailbreak_rows_are_the_held_out_predictions(report, shared_data):
    """The learned jailbreak tier's rows are its held-out predictions (ToxicChat: 5-fold CV),
    never the shipped model scoring the rows it was trained on: a refactor that dropped the
    held-out flags printed in-sample ToxicChat numbers and every target still passed."""
    import chatlens.validate.jailbreak_cv as jcv
    from chatlens.validate.datasets import load_all

    sets = load_all(shared_data)
    flags, _ = jcv.heldout_rows(sets, shared_data, only=["toxicchat-train"])
    gold = {(s.dataset, s.group): s.gold for s in sets if s.task == "jailbreak"}
    checked = 0
    for (dataset, group), pred in flags.items():
        if pred is None or (dataset, group) not in gold:
            continue
        y = gold[(dataset, group)].astype(bool)
        assert _get(report, dataset, group, "jailbreak", "learned", "tp") == int((pred & y).sum())
        assert _get(report, dataset, group, "jailbreak", "learned", "fp") == int((pred & ~y).sum())
        checked += 1
    assert checked >= 1
