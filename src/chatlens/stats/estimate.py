"""Typed result records shared by every statistics function.

Every estimate chatlens reports carries its interval, its sample size and the name of the method
that produced it, so a table cell can always say *how* a number was obtained. Records are frozen
dataclasses (hashable, immutable); ``to_dict`` gives a flat mapping for JSON/CSV writers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval.

    Attributes
    ----------
    value
        The point estimate (NaN when undefined, e.g. a rate over zero observations).
    ci_low, ci_high
        Bounds of the two-sided interval at ``confidence`` (NaN when not computable).
    n
        Number of observations (or clusters, where ``method`` says so) behind the estimate.
    method
        How the value and interval were computed, e.g. ``"wilson"``.
    confidence
        Coverage level of the interval.

    Examples
    --------
    >>> e = Estimate(0.25, 0.1, 0.5, n=20, method="wilson")
    >>> e.contains(0.3), round(e.width, 2)
    (True, 0.4)
    """

    value: float
    ci_low: float
    ci_high: float
    n: int
    method: str
    confidence: float = 0.95

    @property
    def width(self) -> float:
        """Width of the interval (``ci_high - ci_low``)."""
        return self.ci_high - self.ci_low

    @property
    def estimable(self) -> bool:
        """Whether the data could estimate anything: a finite value and a finite interval of
        positive width. (Not whether the value lies inside it: an odds ratio beside a
        0.5-corrected interval may not; ``report.views`` shows that case as not estimable.) A ratio of two constant outcomes ("risk ratio 1.00 (1.00–1.00)"), an
        estimate from zero variance or over no observations is *not estimable* and must be shown
        as such, never as a result.

        >>> Estimate(1.0, 1.0, 1.0, n=500, method="mantel-haenszel").estimable
        False
        >>> Estimate(0.0, 0.0, 0.07, n=50, method="wilson").estimable
        True
        """
        bounds = (self.value, self.ci_low, self.ci_high)
        return all(math.isfinite(b) for b in bounds) and self.ci_high > self.ci_low

    def fmt(self, digits: int = 3) -> str:
        """``0.853 [0.807, 0.889] (n=286)`` for tables and logs; ``n/a`` when the value is NaN."""
        if math.isnan(self.value):
            return "n/a"
        return (f"{self.value:.{digits}f} [{self.ci_low:.{digits}f}, {self.ci_high:.{digits}f}]"
                f" (n={self.n})")

    def contains(self, x: float) -> bool:
        """Whether ``x`` lies inside the closed interval."""
        return bool(self.ci_low <= x <= self.ci_high)

    def to_dict(self) -> dict[str, float | int | str]:
        """Flat mapping for JSON / CSV writers."""
        return asdict(self)


@dataclass(frozen=True)
class TestResult:
    """A hypothesis test: statistic, p-value and (where defined) degrees of freedom.

    Attributes
    ----------
    statistic
        The test statistic (t, z, chi², U, or the odds ratio for Fisher's 2×2 test).
    p_value
        Two-sided p-value unless ``method`` says otherwise.
    df
        Degrees of freedom (NaN where the test has none).
    n
        Number of observations used.
    method
        The test and the library function behind it.

    Examples
    --------
    >>> TestResult(2.1, 0.04, 18.0, n=20, method="welch t").significant(0.05)
    True
    """

    __test__ = False  # not a pytest test class despite the name

    statistic: float
    p_value: float
    df: float
    n: int
    method: str

    def significant(self, alpha: float = 0.05) -> bool:
        """Whether ``p_value < alpha`` (False when the p-value is NaN)."""
        return bool(not math.isnan(self.p_value) and self.p_value < alpha)

    def to_dict(self) -> dict[str, float | int | str]:
        """Flat mapping for JSON / CSV writers."""
        return asdict(self)


@dataclass(frozen=True)
class Comparison:
    """A two-group comparison: one test plus named effect sizes, each with its interval.

    Attributes
    ----------
    test
        The hypothesis test.
    effects
        Effect sizes by name (e.g. ``"risk_difference"``, ``"hedges_g"``), each an
        :class:`Estimate`, in a fixed documented order.
    n1, n2
        Sizes of the two groups.

    Examples
    --------
    >>> t = TestResult(1.0, 0.3, 1.0, n=10, method="z")
    >>> c = Comparison(t, (("d", Estimate(0.1, -0.2, 0.4, 10, "x")),), n1=5, n2=5)
    >>> c.effect("d").value
    0.1
    """

    test: TestResult
    effects: tuple[tuple[str, Estimate], ...] = field(default_factory=tuple)
    n1: int = 0
    n2: int = 0

    def effect(self, name: str) -> Estimate:
        """The effect size called ``name``; KeyError naming the available ones otherwise."""
        for key, est in self.effects:
            if key == name:
                return est
        msg = f"No effect size {name!r} in this comparison. Available: {[k for k, _ in self.effects]}."
        raise KeyError(msg)

    def to_dict(self) -> dict[str, float | int | str]:
        """Flat mapping: ``test_*`` fields, then ``<effect>_value/_ci_low/_ci_high`` per effect."""
        out: dict[str, float | int | str] = {f"test_{k}": v for k, v in self.test.to_dict().items()}
        out["n1"], out["n2"] = self.n1, self.n2
        for name, est in self.effects:
            out[f"{name}_value"] = est.value
            out[f"{name}_ci_low"] = est.ci_low
            out[f"{name}_ci_high"] = est.ci_high
            out[f"{name}_method"] = est.method
        return out
