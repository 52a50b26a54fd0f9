from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.proportion import proportion_confint

from chatlens.errors import InvalidParameterError
from chatlens.stats.grouped import grouped_rate
from chatlens.stats.proportions import proportion, proportion_ci

SM = {"wilson": "wilson", "clopper-pearson": "beta", "agresti-coull": "agresti_coull",
      "jeffreys": "jeffreys", "wald": "normal"}


@pytest.mark.parametrize("method", list(SM))
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_matches_statsmodels(method: str, confidence: float) -> None:
    rng = np.random.default_rng(1)
    n = rng.integers(1, 500, size=300)
    k = rng.binomial(n, rng.uniform(0, 1, size=300))
    k[:5] = 0
    k[5:10] = n[5:10]
    rate, lo, hi = proportion_ci(k, n, method=method, confidence=confidence)
    ref_lo, ref_hi = proportion_confint(k, n, alpha=1 - confidence, method=SM[method])
    if method == "jeffreys":  # Brown, Cai & DasGupta's modification at k = 0 and k = n
        ref_lo, ref_hi = np.where(k == 0, 0.0, ref_lo), np.where(k == n, 1.0, ref_hi)
    np.testing.assert_allclose(rate, k / n, atol=1e-12)
    np.testing.assert_allclose(lo, np.clip(ref_lo, 0, 1), atol=1e-8)
    np.testing.assert_allclose(hi, np.clip(ref_hi, 0, 1), atol=1e-8)


def test_zero_trials_give_nan_not_error() -> None:
    rate, lo, hi = proportion_ci([0, 2], [0, 4])
    assert np.isnan(rate[0]) and np.isnan(lo[0]) and np.isnan(hi[0])
    assert rate[1] == 0.5
    e = proportion(0, 0)
    assert np.isnan(e.value) and e.n == 0


def test_all_successes_upper_bound_is_one() -> None:
    e = proportion(20, 20)
    assert e.value == 1.0 and e.ci_high == 1.0 and 0.8 < e.ci_low < 1.0
    e0 = proportion(0, 20, method="clopper-pearson")
    assert e0.ci_low == 0.0 and e0.ci_high == pytest.approx(1 - 0.025 ** (1 / 20))


@pytest.mark.parametrize(
    ("k", "n", "match"),
    [(5, 3, "0 <= k <= n"), (-1, 3, "0 <= k <= n"), (1.5, 3, "integers"), (np.nan, 3, "integers")],
)
def test_bad_counts_raise(k: float, n: int, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        proportion_ci(k, n)


def test_bad_method_and_confidence() -> None:
    with pytest.raises(InvalidParameterError, match="'method'.*wilson.*Got 'exact'"):
        proportion_ci(1, 2, method="exact")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"confidence.*\(0, 1\).*1.5"):
        proportion(1, 2, confidence=1.5)
    with pytest.raises(InvalidParameterError, match="same shape"):
        proportion_ci([1, 2], [3])


def test_wilson_coverage_by_simulation() -> None:
    """Wilson at 95 % covers about 95 % (averaged over p), Wald clearly less at small n."""
    rng = np.random.default_rng(7)
    n, reps = 40, 4000
    cover = {"wilson": [], "wald": []}
    for p in (0.05, 0.1, 0.2, 0.3, 0.5):
        k = rng.binomial(n, p, size=reps)
        for method in cover:
            _, lo, hi = proportion_ci(k, np.full(reps, n), method=method)
            cover[method].append(np.mean((lo <= p) & (p <= hi)))
    wilson = float(np.mean(cover["wilson"]))
    assert 0.93 <= wilson <= 0.97
    assert min(cover["wilson"]) > 0.90
    assert float(np.mean(cover["wald"])) < wilson - 0.02


def test_jeffreys_interval_holds_its_rate_at_zero_and_all() -> None:
    """Brown, Cai & DasGupta's modification: plain Jeffreys gives 0/10 the interval
    [0.00005, 0.22], which excludes the rate 0."""
    rate, lo, hi = proportion_ci([0, 10, 3], [10, 10, 10], method="jeffreys")
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert (lo <= rate).all() and (rate <= hi).all()
    ref_lo, ref_hi = proportion_confint(3, 10, method="jeffreys")
    assert lo[2] == pytest.approx(ref_lo) and hi[2] == pytest.approx(ref_hi)
    g = grouped_rate(pl.DataFrame({"y": [False] * 10 + [True] * 10, "g": ["a"] * 10 + ["b"] * 10}),
                     "y", by="g", method="jeffreys", min_n=1)
    assert g["ci_low"].to_list()[0] == 0.0 and g["ci_high"].to_list()[1] == 1.0
