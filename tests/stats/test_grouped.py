from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from chatlens.errors import (
    DegenerateVarianceWarning,
    InvalidParameterError,
    MissingColumnError,
    SmallSampleWarning,
)
from chatlens.stats.grouped import MEAN_COLUMNS, RATE_COLUMNS, grouped_mean, grouped_rate


def _frame(n: int = 3000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    model = rng.choice(["gpt-4", "vicuna", "llama"], size=n)
    lang = rng.choice(["en", "de"], size=n)
    p = np.where(model == "vicuna", 0.1, 0.3)
    return pl.DataFrame({"model": model, "language": lang, "refused": rng.random(n) < p,
                         "sentiment": rng.normal(0, 0.3, n)})


def test_rates_match_statsmodels_per_group() -> None:
    df = _frame()
    out = grouped_rate(df, "refused", ["model", "language"], method="clopper-pearson")
    assert out.columns == ["model", "language", *RATE_COLUMNS]
    assert out.height == 6 and out["n"].sum() == df.height
    for row in out.iter_rows(named=True):
        sub = df.filter((pl.col("model") == row["model"]) & (pl.col("language") == row["language"]))
        k, n = int(sub["refused"].sum()), sub.height
        lo, hi = proportion_confint(k, n, method="beta")
        assert (row["n"], row["k"]) == (n, k)
        assert row["ci_low"] == pytest.approx(lo, abs=1e-8)
        assert row["ci_high"] == pytest.approx(hi, abs=1e-8)
        assert row["method"] == "clopper-pearson"


def test_lazyframe_and_integer_outcome() -> None:
    df = _frame().with_columns(pl.col("refused").cast(pl.Int8))
    a = grouped_rate(df.lazy(), "refused", "model")
    b = grouped_rate(df.with_columns(pl.col("refused").cast(pl.Boolean)), "refused", "model")
    assert a.equals(b)


def test_nulls_and_nan_counted_as_missing() -> None:
    df = pl.DataFrame({"g": ["a"] * 4, "y": [1.0, 0.0, None, float("nan")]})
    out = grouped_rate(df, "y", "g", min_n=0)
    assert out.select("n", "k", "n_missing").row(0) == (2, 1, 2)


def test_group_with_all_missing_outcomes_has_nan_rate() -> None:
    df = pl.DataFrame({"g": ["a", "a", "b"], "y": [True, False, None]})
    with pytest.warns(SmallSampleWarning):
        out = grouped_rate(df, "y", "g", min_n=1)
    b = out.filter(pl.col("g") == "b")
    assert b["n"][0] == 0 and np.isnan(b["rate"][0]) and np.isnan(b["ci_low"][0])


def test_null_group_key_is_its_own_group() -> None:
    df = pl.DataFrame({"g": ["a", None, None], "y": [True, False, True]})
    out = grouped_rate(df, "y", "g", min_n=0)
    assert out["g"].to_list() == ["a", None] and out["n"].to_list() == [1, 2]


def test_small_sample_flag_and_warning() -> None:
    df = _frame(100)
    with pytest.warns(SmallSampleWarning, match="fewer than 50"):
        out = grouped_rate(df, "refused", ["model", "language"], min_n=50)
    assert out["small_sample"].to_list() == (out["n"] < 50).to_list()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grouped_rate(df, "refused", min_n=50)


def test_empty_frame() -> None:
    empty = pl.DataFrame({"model": [], "refused": []}, schema={"model": pl.String, "refused": pl.Boolean})
    out = grouped_rate(empty, "refused", "model")
    assert out.height == 0 and out.columns == ["model", *RATE_COLUMNS]
    with pytest.warns(SmallSampleWarning):
        overall = grouped_rate(empty, "refused")
    assert overall["n"][0] == 0 and np.isnan(overall["rate"][0])


def test_bad_inputs() -> None:
    df = _frame(50)
    with pytest.raises(MissingColumnError, match="nope"):
        grouped_rate(df, "refused", "nope")
    with pytest.raises(InvalidParameterError, match="boolean or 0/1"):
        grouped_rate(df, "sentiment", "model")
    with pytest.raises(InvalidParameterError, match="boolean or 0/1"):
        grouped_rate(df, "model", "language")
    with pytest.raises(InvalidParameterError, match="min_n"):
        grouped_rate(df, "refused", min_n=-1)
    with pytest.raises(InvalidParameterError, match="polars DataFrame"):
        grouped_rate({"refused": [True]}, "refused")  # type: ignore[arg-type]


def test_many_groups_vectorised() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    df = pl.DataFrame({"g": rng.integers(0, 5000, n), "y": rng.random(n) < 0.2})
    out = grouped_rate(df, "y", "g", min_n=0)
    assert out.height == 5000 and out["n"].sum() == n
    assert (out["ci_low"] <= out["rate"]).all() and (out["rate"] <= out["ci_high"]).all()


def test_grouped_mean_matches_scipy_t_interval() -> None:
    df = _frame()
    out = grouped_mean(df, "sentiment", "model", confidence=0.9)
    assert out.columns == ["model", *MEAN_COLUMNS]
    for row in out.iter_rows(named=True):
        x = df.filter(pl.col("model") == row["model"])["sentiment"].to_numpy()
        lo, hi = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert row["mean"] == pytest.approx(x.mean(), abs=1e-12)
        assert row["sd"] == pytest.approx(x.std(ddof=1), abs=1e-12)
        assert row["ci_low"] == pytest.approx(lo, abs=1e-8)
        assert row["ci_high"] == pytest.approx(hi, abs=1e-8)


def test_grouped_mean_degenerate_and_single() -> None:
    df = pl.DataFrame({"g": ["a", "a", "b"], "x": [0.5, 0.5, 1.0]})
    with pytest.warns(DegenerateVarianceWarning):
        out = grouped_mean(df, "x", "g", min_n=0)
    a, b = out.row(0, named=True), out.row(1, named=True)
    assert a["ci_low"] == a["ci_high"] == 0.5
    assert b["n"] == 1 and np.isnan(b["ci_low"]) and np.isnan(b["sd"])
    with pytest.raises(InvalidParameterError, match="numeric"):
        grouped_mean(df, "g")


def _clustered(n_users: int, per_user: int, icc_sd: float, rng: np.random.Generator) -> pl.DataFrame:
    """Users with their own refusal propensity: rows within a user are correlated."""
    logit = -1.0 + rng.normal(0, icc_sd, n_users)
    p_user = 1 / (1 + np.exp(-logit))
    users = np.repeat(np.arange(n_users), per_user)
    y = rng.random(users.size) < p_user[users]
    return pl.DataFrame({"user": users, "y": y})


def test_cluster_design_effect_widens_and_restores_coverage() -> None:
    rng = np.random.default_rng(11)
    # true rate: E[expit(-1 + N(0, 1.5))], by a large Monte Carlo draw
    z = rng.normal(0, 1.5, 2_000_000)
    truth = float(np.mean(1 / (1 + np.exp(1.0 - z))))
    naive_cover, clus_cover, deffs = [], [], []
    for _ in range(300):
        df = _clustered(60, 10, 1.5, rng)
        a = grouped_rate(df, "y", min_n=0)
        b = grouped_rate(df, "y", min_n=0, cluster="user")
        naive_cover.append(a["ci_low"][0] <= truth <= a["ci_high"][0])
        clus_cover.append(b["ci_low"][0] <= truth <= b["ci_high"][0])
        deffs.append(b["deff"][0])
    assert np.mean(deffs) > 2.0
    assert np.mean(naive_cover) < 0.85  # rows-as-independent under-covers badly
    assert np.mean(clus_cover) > 0.90


def test_cluster_without_clustering_is_close_to_wilson() -> None:
    rng = np.random.default_rng(2)
    df = pl.DataFrame({"user": np.arange(5000), "y": rng.random(5000) < 0.3})
    b = grouped_rate(df, "y", cluster="user")
    a = grouped_rate(df, "y")
    assert b["deff"][0] == pytest.approx(1.0, abs=1e-3)
    assert b["ci_low"][0] == pytest.approx(a["ci_low"][0], abs=1e-4)


def test_cluster_single_cluster_gives_nan_bounds() -> None:
    df = pl.DataFrame({"g": ["a"] * 5, "user": ["u"] * 5, "y": [True, False, True, True, False]})
    out = grouped_rate(df, "y", "g", cluster="user", min_n=0)
    assert out["n_clusters"][0] == 1 and np.isnan(out["ci_low"][0]) and out["rate"][0] == 0.6


def test_rate_table_stacks_outcomes() -> None:
    from chatlens.stats.grouped import rate_table

    df = _frame(600).with_columns((pl.col("sentiment") > 0).alias("positive"))
    out = rate_table(df, ["refused", "positive"], "model", min_n=0)
    assert out.columns[:2] == ["outcome", "model"] and out.height == 6
    a = grouped_rate(df, "positive", "model", min_n=0)
    assert out.filter(pl.col("outcome") == "positive").drop("outcome").equals(a)
    with pytest.raises(InvalidParameterError, match="at least one"):
        rate_table(df, [], "model")
