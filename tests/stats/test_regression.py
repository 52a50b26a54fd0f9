from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import statsmodels.api as sm

from chatlens.errors import InvalidParameterError, SmallSampleWarning
from chatlens.stats.regression import logistic_regression


def _data(n: int = 6000, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    model = rng.choice(["vicuna", "gpt-4", "llama", "koala"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    turns = rng.integers(1, 6, size=n)
    user = rng.integers(0, 600, size=n)
    lang = rng.choice(["en", "de", "zh"], size=600)[user]  # a user writes in one language
    u_eff = rng.normal(0, 0.8, 600)
    lp = (
        -1.5
        + pl.Series(model).replace_strict({"vicuna": 0.0, "gpt-4": 0.8, "llama": 0.4, "koala": -0.3}).to_numpy()
        + (lang == "zh") * 0.5
        + 0.1 * turns
        + u_eff[user]
    )
    y = rng.random(n) < 1 / (1 + np.exp(-lp))
    return pl.DataFrame({"model": model, "language": lang, "n_turns": turns, "user_id": user, "refused": y})


def _reference_design(df: pl.DataFrame) -> np.ndarray:
    cols = [np.ones(df.height)]
    for lv in ["gpt-4", "koala", "llama"]:
        cols.append((df["model"] == lv).to_numpy().astype(float))
    for lv in ["de", "zh"]:
        cols.append((df["language"] == lv).to_numpy().astype(float))
    cols.append(df["n_turns"].to_numpy().astype(float))
    return np.column_stack(cols)


def test_aggregated_fit_equals_statsmodels_logit() -> None:
    df = _data()
    r = logistic_regression(df, "refused", categorical=["model", "language"], numeric="n_turns",
                            reference={"language": "en"})
    assert "GLM" in r.method and r.cov_type == "nonrobust"
    assert r.coefficients["term"].to_list() == [
        "Intercept", "model[gpt-4]", "model[koala]", "model[llama]", "language[de]", "language[zh]", "n_turns"
    ]
    assert dict(r.references) == {"model": "vicuna", "language": "en"}
    ref = sm.Logit(df["refused"].to_numpy().astype(float), _reference_design(df)).fit(disp=0)
    np.testing.assert_allclose(r.coefficients["coef"], ref.params, atol=1e-8)
    np.testing.assert_allclose(r.coefficients["se"], ref.bse, atol=1e-8)
    np.testing.assert_allclose(r.coefficients["p_value"], ref.pvalues, atol=1e-8)
    np.testing.assert_allclose(r.log_likelihood, ref.llf, atol=1e-6)
    np.testing.assert_allclose(r.pseudo_r2, ref.prsquared, atol=1e-8)
    ci = np.exp(ref.conf_int())
    np.testing.assert_allclose(r.coefficients["or_ci_low"], ci[:, 0], rtol=1e-8)
    est = r.odds_ratio("model[gpt-4]")
    assert est.value == pytest.approx(np.exp(ref.params[1]))
    assert r.n == df.height and r.n_events == int(df["refused"].sum())


def test_cluster_robust_equals_statsmodels_and_is_wider() -> None:
    df = _data()
    r = logistic_regression(df, "refused", categorical=["model", "language"], numeric="n_turns",
                            reference={"language": "en"}, cluster="user_id")
    ref = sm.Logit(df["refused"].to_numpy().astype(float), _reference_design(df)).fit(
        disp=0, cov_type="cluster", cov_kwds={"groups": df["user_id"].to_numpy()}, use_t=True
    )
    np.testing.assert_allclose(r.coefficients["coef"], ref.params, atol=1e-8)
    np.testing.assert_allclose(r.coefficients["se"], ref.bse, atol=1e-8)
    # intervals and p-values from t(G - 1), as statsmodels' use_t gives them
    np.testing.assert_allclose(r.coefficients["p_value"], ref.pvalues, atol=1e-10)
    np.testing.assert_allclose(r.coefficients["or_ci_low"], np.exp(ref.conf_int()[:, 0]), rtol=1e-8)
    assert r.n_clusters == df["user_id"].n_unique() and r.cov_type == "cluster"
    naive = logistic_regression(df, "refused", categorical=["model", "language"], numeric="n_turns")
    # language is constant within a user: its clustered SE must be clearly wider
    ratio = (r.coefficients["se"] / naive.coefficients["se"]).to_list()
    assert ratio[4] > 1.3 and ratio[5] > 1.3, ratio


def test_glm_fallback_on_many_patterns_equals_logit() -> None:
    rng = np.random.default_rng(4)
    df = pl.DataFrame({"x": rng.normal(size=500), "y": rng.random(500) < 0.4})
    r = logistic_regression(df, "y", numeric="x")
    assert "Logit" in r.method
    ref = sm.Logit(df["y"].to_numpy().astype(float), sm.add_constant(df["x"].to_numpy())).fit(disp=0)
    np.testing.assert_allclose(r.coefficients["coef"], ref.params, atol=1e-8)


def test_missing_rows_dropped_and_counted() -> None:
    df = _data(2000).with_columns(
        pl.when(pl.int_range(pl.len()) < 10).then(None).otherwise(pl.col("model")).alias("model")
    )
    r = logistic_regression(df, "refused", categorical="model")
    assert r.n_dropped == 10 and r.n == 1990


def test_separation_raises_clear_error() -> None:
    df = pl.DataFrame({"model": ["a"] * 50 + ["b"] * 50 + ["c"] * 5 + ["d"] * 5,
                       "y": [True, False] * 50 + [False] * 5 + [True, True, True, False, False]})
    with pytest.raises(InvalidParameterError, match=r"separation.*'model'.*\('c', '0/5 events'\)"):
        logistic_regression(df, "y", categorical="model")
    # pooling the rare levels c and d into "(other)" gives 3/10 events: estimable
    r = logistic_regression(df, "y", categorical="model", min_level_n=10, min_events_per_param=1)
    assert r.coefficients["term"].to_list() == ["Intercept", "model[(other)]", "model[b]"]


def test_numeric_separation_raises() -> None:
    x = np.arange(40, dtype=float)
    df = pl.DataFrame({"x": x, "y": x > 19.5})
    with pytest.raises(InvalidParameterError, match="separation"):
        logistic_regression(df, "y", numeric="x", min_events_per_param=1)


def test_too_few_events_and_no_variation() -> None:
    rng = np.random.default_rng(1)
    df = pl.DataFrame({"m": rng.choice(list("abcdefgh"), 200), "y": np.arange(200) < 3})
    with pytest.raises(InvalidParameterError, match="too few events"):
        logistic_regression(df, "y", categorical="m")
    with pytest.raises(InvalidParameterError, match="both values"):
        logistic_regression(df.with_columns(pl.lit(False).alias("y")), "y", categorical="m")
    df2 = pl.DataFrame({"m": rng.choice(["a", "b"], 200), "y": rng.random(200) < 0.1})
    with pytest.warns(SmallSampleWarning, match="per parameter"):
        logistic_regression(df2, "y", categorical="m", min_events_per_param=100)


def test_parameter_errors() -> None:
    df = _data(500)
    with pytest.raises(InvalidParameterError, match="reference level 'bard'"):
        logistic_regression(df, "refused", categorical="model", reference={"model": "bard"})
    with pytest.raises(InvalidParameterError, match="not in categorical"):
        logistic_regression(df, "refused", categorical="model", reference={"language": "en"})
    with pytest.raises(InvalidParameterError, match="constant"):
        logistic_regression(df.with_columns(pl.lit(1).alias("k")), "refused", numeric="k")
    with pytest.raises(InvalidParameterError, match="must be numeric"):
        logistic_regression(df, "refused", numeric="model")
    with pytest.raises(InvalidParameterError, match="No term"):
        logistic_regression(df, "refused", categorical="model").odds_ratio("model[bard]")


def test_boolean_and_integer_categoricals_accept_native_references() -> None:
    rng = np.random.default_rng(0)
    df = pl.DataFrame({"flag": rng.random(400) < 0.5, "lvl": rng.integers(1, 4, 400), "y": rng.random(400) < 0.3})
    r = logistic_regression(df, "y", categorical=["flag", "lvl"], reference={"flag": False, "lvl": 1})
    assert r.coefficients["term"].to_list() == ["Intercept", "flag[true]", "lvl[2]", "lvl[3]"]
    assert dict(r.references) == {"flag": "false", "lvl": "1"}


def test_collinear_covariates_are_refused_naming_the_aliased_terms() -> None:
    rng = np.random.default_rng(5)
    model = rng.choice(["a", "b", "c", "d"], 2000)
    df = pl.DataFrame({
        "model": model,
        "provider": np.where(np.isin(model, ["a", "b"]), "openai", "meta"),  # model decides it
        "t": rng.integers(1, 100, 2000).astype(float),
        "y": rng.random(2000) < np.where(model == "b", 0.4, 0.2),
    })
    with pytest.raises(InvalidParameterError, match=r"collinear: \['model\[d\]'\]"):
        logistic_regression(df, "y", categorical=["model", "provider"], reference={"model": "a"})
    with pytest.raises(InvalidParameterError, match="collinear"):
        logistic_regression(df.with_columns(t2=pl.col("t") * 2), "y", numeric=["t", "t2"])
    # independent covariates still fit
    assert logistic_regression(df, "y", categorical="model", numeric="t").converged


def test_one_cluster_is_refused_and_few_clusters_warn() -> None:
    df = _data(2000)
    with pytest.raises(InvalidParameterError, match="at least 2 clusters"):
        logistic_regression(df.with_columns(u=pl.lit("x")), "refused", categorical="model",
                            cluster="u")
    with pytest.warns(SmallSampleWarning, match="only 5 clusters"):
        r = logistic_regression(df.with_columns(u=pl.int_range(pl.len()) % 5), "refused",
                                categorical="model", cluster="u")
    assert "t(4)" in r.method


def test_pooled_level_never_merges_with_a_real_level_named_other() -> None:
    rng = np.random.default_rng(2)
    df = pl.DataFrame({
        "m": ["a"] * 400 + ["(other)"] * 200 + [f"rare{i}" for i in range(40) for _ in range(5)],
        "y": np.concatenate([rng.random(400) < 0.2, rng.random(200) < 0.6, rng.random(200) < 0.2]),
    })
    r = logistic_regression(df, "y", categorical="m", min_level_n=10, reference={"m": "a"})
    assert set(r.coefficients["term"]) == {"Intercept", "m[(other)]", "m[(other 2)]"}
    alone = logistic_regression(df.filter(pl.col("m").is_in(["a", "(other)"])), "y",
                                categorical="m", reference={"m": "a"})
    assert r.odds_ratio("m[(other)]").value == pytest.approx(alone.odds_ratio("m[(other)]").value)
