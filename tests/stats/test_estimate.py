from __future__ import annotations

import dataclasses
import math

import pytest

from chatlens.stats.estimate import Comparison, Estimate, TestResult


def test_estimate_is_frozen_and_flat() -> None:
    e = Estimate(0.3, 0.2, 0.4, n=10, method="wilson")
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.value = 1.0  # type: ignore[misc]
    assert e.to_dict() == {
        "value": 0.3, "ci_low": 0.2, "ci_high": 0.4, "n": 10, "method": "wilson", "confidence": 0.95
    }
    assert e.contains(0.4) and not e.contains(0.41)


def test_test_result_nan_is_not_significant() -> None:
    assert not TestResult(math.nan, math.nan, math.nan, 0, "x").significant()
    assert TestResult(3.0, 0.001, 1.0, 10, "x").significant(0.01)


def test_comparison_effect_lookup_and_flatten() -> None:
    c = Comparison(TestResult(1.0, 0.5, 1.0, 4, "z"), (("h", Estimate(0.1, 0.0, 0.2, 4, "m")),), 2, 2)
    assert c.effect("h").value == 0.1
    with pytest.raises(KeyError, match="Available"):
        c.effect("g")
    flat = c.to_dict()
    assert flat["test_p_value"] == 0.5 and flat["h_ci_high"] == 0.2 and flat["n1"] == 2
