"""Fixtures for the ratings tests: small synthetic battle tables written by the tests."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest


def simulate(
    strengths: np.ndarray,
    n: int,
    seed: int,
    *,
    tie_rate: float = 0.1,
) -> pl.DataFrame:
    """Battles from known logit strengths: P(A wins | not tie) = sigmoid(s_A - s_B)."""
    rng = np.random.default_rng(seed)
    m = strengths.shape[0]
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    p = 1.0 / (1.0 + np.exp(-(strengths[a] - strengths[b])))
    win = rng.random(n) < p
    tie = rng.random(n) < tie_rate
    label = np.where(tie, "tie", np.where(win, "model_a", "model_b"))
    names = np.array([f"m{i}" for i in range(m)])
    return pl.DataFrame({"model_a": names[a], "model_b": names[b], "winner": label})


@pytest.fixture
def small_battles() -> pl.DataFrame:
    return simulate(np.array([1.0, 0.3, 0.0, -0.5, -0.8]), 2000, seed=7)
