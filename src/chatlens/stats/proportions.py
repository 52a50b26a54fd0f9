"""Confidence intervals for rates (binomial proportions), vectorised over groups.

Why not the textbook Wald interval: at the small counts and extreme rates typical of per-model
refusal rates (a few refusals in a few hundred conversations) it collapses to zero width at k = 0
and under-covers badly. The default is Wilson's score interval (Brown, Cai & DasGupta 2001
recommend it or Jeffreys); Clopper–Pearson is the conservative "exact" choice.

All intervals come from :func:`statsmodels.stats.proportion.proportion_confint`, which is
vectorised: one call covers thousands of groups with no Python loop. Groups with ``n = 0`` get a
NaN rate and NaN bounds (documented, not an error: an empty cell is a fact about the data).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from statsmodels.stats.proportion import proportion_confint

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import check_choice, check_confidence
from chatlens.stats.estimate import Estimate

RateMethod = Literal["wilson", "clopper-pearson", "agresti-coull", "jeffreys", "wald"]

#: chatlens method name -> statsmodels ``proportion_confint`` method name.
_SM_METHOD: dict[str, str] = {
    "wilson": "wilson",
    "clopper-pearson": "beta",
    "agresti-coull": "agresti_coull",
    "jeffreys": "jeffreys",
    "wald": "normal",
}
RATE_METHODS: tuple[str, ...] = tuple(_SM_METHOD)


def _counts(k: object, n: object, func: str, *, allow_fractional: bool = False) -> tuple[np.ndarray, np.ndarray]:
    k_arr = np.atleast_1d(np.asarray(k, dtype=np.float64))
    n_arr = np.atleast_1d(np.asarray(n, dtype=np.float64))
    if k_arr.shape != n_arr.shape:
        msg = f"{func}: 'k' and 'n' must have the same shape. Got {k_arr.shape} and {n_arr.shape}."
        raise InvalidParameterError(msg)
    if k_arr.ndim != 1:
        msg = f"{func}: 'k' and 'n' must be scalars or 1-D. Got shape {k_arr.shape}."
        raise InvalidParameterError(msg)
    finite = np.isfinite(k_arr) & np.isfinite(n_arr)
    bad = ~finite | (k_arr < 0) | (n_arr < 0) | (k_arr > n_arr)
    if not allow_fractional:
        bad |= k_arr != np.round(k_arr)
    bad |= n_arr != np.round(n_arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"{func}: counts must be {'numbers' if allow_fractional else 'integers'} with 0 <= k <= n. "
            f"Got k={k_arr[i]!r}, n={n_arr[i]!r} at position {i}."
        )
        raise InvalidParameterError(msg)
    return k_arr, n_arr


def proportion_ci(
    k: object,
    n: object,
    *,
    method: RateMethod = "wilson",
    confidence: float = 0.95,
    allow_fractional: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rates and their confidence intervals for arrays of successes ``k`` out of ``n``.

    Parameters
    ----------
    k, n
        Scalars or 1-D integer arrays of equal length, ``0 <= k <= n``.
    method
        ``"wilson"`` (default), ``"clopper-pearson"`` (exact, conservative),
        ``"agresti-coull"``, ``"jeffreys"`` or ``"wald"`` (for comparison only).
    confidence
        Two-sided coverage level in (0, 1).
    allow_fractional
        Accept non-integer ``k`` (a paired comparison that counts a tie as half a success);
        ``n`` stays a whole number.

    Returns
    -------
    rate, ci_low, ci_high
        float64 arrays; NaN where ``n == 0``.

    Notes
    -----
    Computed by ``statsmodels.stats.proportion.proportion_confint`` in one vectorised call.

    Examples
    --------
    >>> rate, lo, hi = proportion_ci([0, 3, 0], [10, 10, 0])
    >>> rate.round(2).tolist(), lo.round(3).tolist()[:2], hi.round(3).tolist()[:2]
    ([0.0, 0.3, nan], [0.0, 0.108], [0.278, 0.603])

    Clopper–Pearson is wider:

    >>> proportion_ci(3, 10, method="clopper-pearson")[1].round(3).tolist()
    [0.067]
    """
    check_choice(method, RATE_METHODS, "method", "proportion_ci")
    check_confidence(confidence, "proportion_ci")
    k_arr, n_arr = _counts(k, n, "proportion_ci", allow_fractional=allow_fractional)
    rate = np.full(k_arr.shape, np.nan)
    lo = np.full(k_arr.shape, np.nan)
    hi = np.full(k_arr.shape, np.nan)
    ok = n_arr > 0
    if ok.any():
        rate[ok] = k_arr[ok] / n_arr[ok]
        lo[ok], hi[ok] = confint(k_arr[ok], n_arr[ok], confidence, method)
    return rate, lo, hi


def confint(k: np.ndarray, n: np.ndarray, confidence: float, method: RateMethod,
            ) -> tuple[np.ndarray, np.ndarray]:
    """``proportion_confint``'s bounds (n > 0), clipped to [0, 1]; Jeffreys with Brown, Cai &
    DasGupta's (2001) modification: lower bound 0 at k = 0 and upper bound 1 at k = n. Why: the
    plain Jeffreys interval of 0 of 10 is [0.00005, 0.22], which excludes its own rate."""
    low, high = proportion_confint(k, n, alpha=1.0 - confidence, method=_SM_METHOD[method])
    low, high = np.clip(low, 0.0, 1.0), np.clip(high, 0.0, 1.0)
    if method == "jeffreys":
        low = np.where(np.asarray(k) <= 0, 0.0, low)
        high = np.where(np.asarray(k) >= np.asarray(n), 1.0, high)
    return low, high


def proportion(
    k: float,
    n: int,
    *,
    method: RateMethod = "wilson",
    confidence: float = 0.95,
    allow_fractional: bool = False,
) -> Estimate:
    """One rate ``k / n`` with its confidence interval, as an :class:`Estimate`.

    Parameters
    ----------
    k, n
        Successes and trials, ``0 <= k <= n``.
    method, confidence, allow_fractional
        As in :func:`proportion_ci`.

    Returns
    -------
    Estimate
        ``value`` is NaN (and so are the bounds) when ``n == 0``.

    Examples
    --------
    >>> e = proportion(12, 40)
    >>> round(e.value, 2), round(e.ci_low, 3), round(e.ci_high, 3), e.method
    (0.3, 0.181, 0.454, 'wilson')
    >>> proportion(0, 0).n
    0
    """
    if np.ndim(k) or np.ndim(n):
        msg = f"proportion takes scalar k and n; use proportion_ci for arrays. Got k={k!r}, n={n!r}."
        raise InvalidParameterError(msg)
    rate, lo, hi = proportion_ci(k, n, method=method, confidence=confidence,
                                 allow_fractional=allow_fractional)
    return Estimate(
        float(rate[0]), float(lo[0]), float(hi[0]), n=int(n), method=method, confidence=confidence
    )
