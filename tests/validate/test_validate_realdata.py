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
