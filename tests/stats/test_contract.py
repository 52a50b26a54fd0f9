"""Contracts over the whole public surface of chatlens.stats."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import polars as pl
import pytest

import chatlens.stats as st
from chatlens.errors import InvalidParameterError, SmallSampleWarning


def test_all_names_resolve_and_are_documented_with_examples() -> None:
    for name in st.__all__:
        obj = getattr(st, name)
        doc = inspect.getdoc(obj) or ""
        assert doc, name
        if inspect.isfunction(obj):
            assert "Examples" in doc, f"{name} has no Examples section"


@pytest.mark.parametrize("name", ["grouped_rate", "grouped_mean", "chi_square", "compare_rates"])
def test_confidence_is_validated_everywhere(name: str) -> None:
    df = pl.DataFrame({"g": ["a", "b"] * 20, "y": [True, False, False, True] * 10, "x": np.arange(40.0)})
    fn = getattr(st, name)
    args = {"grouped_rate": ("y", "g"), "grouped_mean": ("x", "g"), "chi_square": ("g", "y"),
            "compare_rates": ("y", "g")}[name]
    with pytest.raises(InvalidParameterError, match="confidence"):
        fn(df, *args, confidence=0.0)


def test_single_group_edge_cases() -> None:
    df = pl.DataFrame({"g": ["a"] * 40, "y": [True, False] * 20})
    out = st.grouped_rate(df, "y", "g")
    assert out.height == 1 and out["rate"][0] == 0.5
    with pytest.warns(SmallSampleWarning, match="no observations"):
        vs_rest = st.compare_rates(df, "y", "g")
    assert vs_rest.height == 0 and "p_adjusted" in vs_rest.columns
    with pytest.raises(InvalidParameterError, match="at least 2 observed levels"):
        st.chi_square(df, "g", "y")


def test_empty_frames() -> None:
    empty = pl.DataFrame(schema={"g": pl.String, "y": pl.Boolean, "x": pl.Float64})
    assert st.compare_rates(empty, "y", "g").height == 0
    assert st.grouped_mean(empty, "x", "g").height == 0
    with pytest.raises(InvalidParameterError, match="both values"):
        st.logistic_regression(empty, "y", categorical="g")
    with pytest.raises(InvalidParameterError, match="at least 2 observed levels"):
        st.chi_square(empty, "g", "y")


def test_inputs_are_not_mutated_and_results_deterministic() -> None:
    rng = np.random.default_rng(0)
    df = pl.DataFrame({"g": rng.choice(["a", "b", "c"], 300), "u": rng.integers(0, 50, 300),
                       "y": rng.random(300) < 0.3, "x": rng.normal(size=300)})
    before = df.clone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = st.chi_square(df, "g", "y")
        r2 = st.chi_square(df, "g", "y")
        st.grouped_rate(df, "y", "g", cluster="u")
        st.logistic_regression(df, "y", categorical="g", cluster="u")
    assert r1.cramers_v == r2.cramers_v
    assert df.equals(before)
