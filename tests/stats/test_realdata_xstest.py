"""The statistics layer on real human labels: XSTest (GPT-4 vs Llama-2 on the same 450 prompts).

Each prompt is answered by both models, like a Chatbot Arena battle: two correlated rows per
prompt. This is the situation the cluster options exist for.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from chatlens.stats import (
    chi_square,
    compare_proportions,
    grouped_rate,
    logistic_regression,
)

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def xstest(shared_data: Path) -> pl.DataFrame:
    root = shared_data / "xstest-dev"
    prompts = pl.read_csv(root / "xstest_prompts.csv").select(
        pl.format("v2-{}", pl.col("id")).alias("id"), pl.col("label").alias("prompt_label")
    )
    frames = []
    for model in ("gpt4", "llama2new"):
        f = pl.read_csv(root / "model_completions" / f"xstest_v2_completions_{model}.csv")
        frames.append(f.select("id", "type", "final_label").with_columns(pl.lit(model).alias("model")))
    return (
        pl.concat(frames)
        .join(prompts, on="id", how="left")
        .with_columns(pl.col("final_label").str.contains("refusal").alias("refused"))
    )


def test_refusal_rates_match_provenance_counts(xstest: pl.DataFrame) -> None:
    out = grouped_rate(xstest, "refused", "model")
    assert out.select("model", "n", "k").rows() == [("gpt4", 450, 220), ("llama2new", 450, 274)]
    gpt4 = out.row(0, named=True)
    assert gpt4["ci_low"] < 220 / 450 < gpt4["ci_high"]


def test_llama2_over_refuses_safe_prompts(xstest: pl.DataFrame) -> None:
    safe = grouped_rate(xstest.filter(pl.col("prompt_label") == "safe"), "refused", "model")
    (g_n, g_k), (l_n, l_k) = safe.select("n", "k").rows()
    assert g_n == l_n == 250
    c = compare_proportions(l_k, l_n, g_k, g_n)
    assert c.effect("risk_difference").ci_low > 0 and c.test.p_value < 0.01


def test_label_distribution_differs_by_model(xstest: pl.DataFrame) -> None:
    r = chi_square(xstest, "model", "final_label")
    assert r.test.df == 2.0 and r.test.p_value < 1e-3
    assert 0.05 < r.cramers_v.ci_low < r.cramers_v.value < r.cramers_v.ci_high < 0.5


def test_prompt_clustered_regression(xstest: pl.DataFrame) -> None:
    """Both models see the same prompt: clustering by prompt changes the model SE."""
    kwargs = {"categorical": ["model", "prompt_label"], "reference": {"model": "gpt4", "prompt_label": "safe"}}
    naive = logistic_regression(xstest, "refused", **kwargs)
    clus = logistic_regression(xstest, "refused", cluster="id", **kwargs)
    assert clus.n_clusters == 450
    or_llama = clus.odds_ratio("model[llama2new]")
    assert or_llama.ci_low > 1.0
    assert naive.coefficients["coef"].to_list() == pytest.approx(clus.coefficients["coef"].to_list(), abs=1e-6)
    # within-prompt pairing: the model contrast is estimated within prompts, so its clustered SE
    # is smaller than the naive one (as a paired test is more powerful than an unpaired one).
    naive_se = dict(zip(naive.coefficients["term"], naive.coefficients["se"], strict=True))
    clus_se = dict(zip(clus.coefficients["term"], clus.coefficients["se"], strict=True))
    assert clus_se["model[llama2new]"] < 0.95 * naive_se["model[llama2new]"]


def test_paired_mcnemar_on_shared_prompts(xstest: pl.DataFrame) -> None:
    from chatlens.stats import compare_paired

    safe = xstest.filter(pl.col("prompt_label") == "safe")
    c = compare_paired(safe, "refused", by="model", pair="id", levels=("llama2new", "gpt4"))
    assert c.n1 == 250
    assert c.effect("risk_difference").value == pytest.approx((74 - 21) / 250)
    assert c.test.p_value < 1e-6 and c.effect("conditional_odds_ratio").ci_low > 1.0
