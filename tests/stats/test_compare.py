from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from chatlens.errors import DegenerateVarianceWarning, InvalidParameterError
from chatlens.stats.compare import compare_proportions, compare_rates
from chatlens.stats.scores import mann_whitney, welch_t


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(30, 100, 15, 100), (400, 1000, 380, 900), (7, 50, 20, 60)])
def test_proportions_match_references(k1: int, n1: int, k2: int, n2: int) -> None:
    c = compare_proportions(k1, n1, k2, n2, exact="never")
    chi = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)
    assert c.test.p_value == pytest.approx(chi.pvalue, abs=1e-8)
    assert c.test.statistic**2 == pytest.approx(chi.statistic, rel=1e-8)
    for name, compare, method in [
        ("risk_difference", "diff", "newcomb"),
        ("odds_ratio", "odds-ratio", "logit-adjusted"),
    ]:
        lo, hi = confint_proportions_2indep(k1, n1, k2, n2, compare=compare, method=method)
        e = c.effect(name)
        assert e.ci_low == pytest.approx(lo, abs=1e-8) and e.ci_high == pytest.approx(hi, abs=1e-8)
    p1, p2 = k1 / n1, k2 / n2
    assert c.effect("risk_difference").value == pytest.approx(p1 - p2)
    assert c.effect("risk_ratio").value == pytest.approx(p1 / p2)
    assert c.effect("odds_ratio").value == pytest.approx(p1 / (1 - p1) / (p2 / (1 - p2)))
    h = c.effect("cohens_h")
    assert h.value == pytest.approx(2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2)))
    assert h.ci_low < h.value < h.ci_high


def _mover_ratio(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Donner & Zou's MOVER-R limits from the two Wilson intervals, written out."""
    from statsmodels.stats.proportion import proportion_confint

    (l1, u1), (l2, u2) = (proportion_confint(k1, n1, method="wilson"),
                          proportion_confint(k2, n2, method="wilson"))
    p1, p2 = k1 / n1, k2 / n2
    low = (p1 * p2 - np.sqrt((p1 * p2) ** 2 - l1 * u2 * (2 * p1 - l1) * (2 * p2 - u2))) / (
        u2 * (2 * p2 - u2))
    high = (p1 * p2 + np.sqrt((p1 * p2) ** 2 - u1 * l2 * (2 * p1 - u1) * (2 * p2 - l2))) / (
        l2 * (2 * p2 - l2))
    return low, high


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), [(30, 100, 15, 100), (7, 50, 20, 60)])
def test_risk_ratio_interval_is_mover_from_wilson(k1: int, n1: int, k2: int, n2: int) -> None:
    rr = compare_proportions(k1, n1, k2, n2).effect("risk_ratio")
    assert (rr.ci_low, rr.ci_high) == pytest.approx(_mover_ratio(k1, n1, k2, n2), abs=1e-10)


def test_risk_ratio_interval_widens_when_a_small_group_always_refused() -> None:
    """Reviewed bug: the log (Katz) interval has variance 1/k - 1/n = 0 at k = n, so 1 of 1,
    5 of 5 and 40 of 40 refused (against 52 of 600) all got 8.8-14.8."""
    lows = [compare_proportions(n, n, 52, 600).effect("risk_ratio").ci_low for n in (1, 5, 40)]
    assert lows[0] < 3 < lows[1] < 7 < lows[2]
    rng = np.random.default_rng(0)
    covered = 0
    for _ in range(300):
        k1, k2 = int(rng.binomial(8, 0.6)), int(rng.binomial(30, 0.3))
        rr = compare_proportions(k1, 8, max(k2, 1), 30).effect("risk_ratio")
        covered += rr.ci_low <= 0.6 / 0.3 <= rr.ci_high
    assert covered / 300 >= 0.92


def test_compare_rates_uses_fisher_for_small_tables() -> None:
    """A 1-conversation model, refused, against 52 of 600: the score test said p = 0.0013."""
    df = pl.DataFrame({"model": ["solo"] + ["a"] * 300 + ["b"] * 300,
                       "y": [True] + ([True] * 26 + [False] * 274) * 2})
    row = compare_rates(df, "y", by="model").filter(pl.col("model") == "solo").row(0, named=True)
    assert row["p_value"] == pytest.approx(stats.fisher_exact([[1, 0], [52, 548]]).pvalue)


def test_small_counts_use_fisher() -> None:
    c = compare_proportions(3, 5, 0, 6)
    ref = stats.fisher_exact([[3, 2], [0, 6]])
    assert c.test.method.startswith("fisher")
    assert c.test.p_value == pytest.approx(ref.pvalue, abs=1e-12)
    # zero cell: odds ratio is infinite, its adjusted interval finite
    assert np.isinf(c.effect("odds_ratio").value)
    assert np.isfinite(c.effect("odds_ratio").ci_high)


def test_all_successes_both_groups() -> None:
    c = compare_proportions(10, 10, 10, 10)
    assert c.effect("risk_difference").value == 0.0
    assert c.test.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("args", "match"), [((1, 0, 1, 2), "n >= 1"), ((3, 2, 1, 2), "0 <= k <= n")])
def test_proportions_bad_counts(args: tuple[int, ...], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        compare_proportions(*args)


def _models(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    model = rng.choice(["a", "b", "c", "d"], size=4000)
    p = pl.Series(model).replace_strict({"a": 0.2, "b": 0.25, "c": 0.1, "d": 0.2}).to_numpy()
    return pl.DataFrame({"model": model, "refused": rng.random(4000) < p})


def test_compare_rates_matches_pairwise_function() -> None:
    df = _models()
    out = compare_rates(df, "refused", "model", reference="a")
    assert out["model"].to_list() == ["b", "c", "d"]
    for row in out.iter_rows(named=True):
        c = compare_proportions(row["k"], row["n"], row["ref_k"], row["ref_n"], exact="never")
        assert row["p_value"] == pytest.approx(c.test.p_value, abs=1e-10)
        assert row["rd_ci_low"] == pytest.approx(c.effect("risk_difference").ci_low, abs=1e-10)
        assert row["or_ci_high"] == pytest.approx(c.effect("odds_ratio").ci_high, abs=1e-10)
        assert row["risk_ratio"] == pytest.approx(c.effect("risk_ratio").value, abs=1e-10)
    from statsmodels.stats.multitest import multipletests

    np.testing.assert_allclose(out["p_adjusted"], multipletests(out["p_value"], method="fdr_bh")[1])


def test_compare_rates_one_vs_rest() -> None:
    df = _models()
    out = compare_rates(df, "refused", "model")
    assert out.height == 4
    assert (out["n"] + out["ref_n"] == df.height).all()
    assert (out["k"] + out["ref_k"] == int(df["refused"].sum())).all()


def test_compare_rates_errors() -> None:
    df = _models()
    with pytest.raises(InvalidParameterError, match="reference group 'zz' not found"):
        compare_rates(df, "refused", "model", reference="zz")
    with pytest.raises(InvalidParameterError, match="one value per 'by' column"):
        compare_rates(df, "refused", "model", reference=("a", "en"))
    with pytest.raises(InvalidParameterError, match="at least one 'by'"):
        compare_rates(df, "refused", [])


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.1, 1.0, 80), rng.normal(-0.2, 2.0, 50)
    c = welch_t(a, b, confidence=0.9)
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert c.test.statistic == pytest.approx(ref.statistic, abs=1e-8)
    assert c.test.p_value == pytest.approx(ref.pvalue, abs=1e-8)
    assert c.test.df == pytest.approx(ref.df, abs=1e-8)
    md = c.effect("mean_difference")
    assert (md.ci_low, md.ci_high) == pytest.approx((ci.low, ci.high), abs=1e-8)
    n1, n2 = a.size, b.size
    sp = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
    g = (1 - 3 / (4 * (n1 + n2) - 9)) * (a.mean() - b.mean()) / sp
    assert c.effect("hedges_g").value == pytest.approx(g, abs=1e-10)


def test_hedges_g_interval_covers_by_simulation() -> None:
    rng = np.random.default_rng(9)
    hits = 0
    reps = 400
    for _ in range(reps):
        g = welch_t(rng.normal(0.5, 1, 30), rng.normal(0, 1, 30)).effect("hedges_g")
        hits += g.ci_low <= 0.5 <= g.ci_high
    assert 0.91 <= hits / reps <= 0.98


def test_welch_degenerate_and_small() -> None:
    with pytest.warns(DegenerateVarianceWarning):
        c = welch_t([1.0, 1.0, 1.0], [2.0, 2.0])
    assert np.isnan(c.test.p_value) and c.effect("mean_difference").value == -1.0
    with pytest.raises(InvalidParameterError, match="at least 2"):
        welch_t([1.0], [1.0, 2.0, float("nan")])
    with pytest.raises(InvalidParameterError, match="numeric"):
        welch_t(["x", "y"], [1.0, 2.0])


def test_mann_whitney_matches_scipy() -> None:
    rng = np.random.default_rng(4)
    a = np.round(rng.normal(0.2, 1, 70), 1)  # ties on purpose
    b = np.round(rng.normal(0.0, 1, 60), 1)
    c = mann_whitney(a, b)
    ref = stats.mannwhitneyu(a, b, alternative="two-sided")
    assert c.test.statistic == pytest.approx(ref.statistic, abs=1e-8)
    assert c.test.p_value == pytest.approx(ref.pvalue, abs=1e-8)
    # rank-biserial from its definition: P(a > b) − P(a < b)
    diff = np.sign(a[:, None] - b[None, :])
    rb = c.effect("rank_biserial")
    assert rb.value == pytest.approx(diff.mean(), abs=1e-10)
    assert rb.ci_low < rb.value < rb.ci_high


def test_mann_whitney_complete_separation() -> None:
    c = mann_whitney([5, 6, 7], [1, 2, 3])
    assert c.effect("rank_biserial").value == 1.0
    assert c.effect("rank_biserial").ci_high == 1.0


def test_mann_whitney_interval_keeps_width_when_samples_do_not_overlap() -> None:
    """The Wald form A ± z·√V(A) gave [1, 1] here (V(1) = 0) while p was 0.1 or 1."""
    from chatlens.stats import mann_whitney

    three = mann_whitney([5, 6, 7], [1, 2, 3]).effect("common_language")
    one = mann_whitney([5], [1]).effect("common_language")
    assert three.value == one.value == 1.0 == three.ci_high
    assert 0.45 < three.ci_low < 0.55 and one.ci_low < three.ci_low
    assert mann_whitney([1, 2, 3], [5, 6, 7]).effect("common_language").ci_high > 0.45


def test_mann_whitney_interval_coverage() -> None:
    from scipy import stats as st

    from chatlens.stats import mann_whitney

    rng = np.random.default_rng(0)
    truth = st.norm.cdf(1.0 / np.sqrt(2))  # P(a > b) for a ~ N(1, 1), b ~ N(0, 1)
    hits = 0
    for _ in range(200):
        e = mann_whitney(rng.normal(1, 1, 12), rng.normal(0, 1, 8)).effect("common_language")
        hits += e.ci_low <= truth <= e.ci_high
    assert 0.91 <= hits / 200 <= 0.995


def test_compare_rates_says_which_test_gave_each_p() -> None:
    """A small table's p is Fisher's while z stays the score statistic: the vs-rest CSV showed
    z = -0.45 beside p = 1.0 (lmsys dev, a 2-conversation model) with nothing saying why."""
    df = pl.DataFrame({"model": ["tiny"] * 2 + ["big"] * 600 + ["other"] * 600,
                       "refused": [False] * 2 + [True] * 60 + [False] * 540 + [True] * 52 + [False] * 548})
    out = compare_rates(df, "refused", "model")
    tests = dict(zip(out["model"], out["test"], strict=True))
    assert tests == {"big": "score", "other": "score", "tiny": "fisher"}
    tiny = out.filter(pl.col("model") == "tiny").row(0, named=True)
    assert tiny["p_value"] == pytest.approx(1.0) and abs(tiny["z"]) > 0
