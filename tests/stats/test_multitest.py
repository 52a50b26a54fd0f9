from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from statsmodels.stats.multitest import multipletests

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.stats.multitest import adjust_frame, adjust_pvalues


@pytest.mark.parametrize("method", ["fdr_bh", "holm", "bonferroni", "fdr_by", "hommel"])
def test_matches_statsmodels(method: str) -> None:
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 1, 200), rng.uniform(0, 0.001, 20)])
    np.testing.assert_allclose(adjust_pvalues(p, method=method), multipletests(p, method=method)[1], atol=1e-12)


def test_nan_kept_and_not_counted() -> None:
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = adjust_pvalues(p, method="holm")
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests(p[[0, 2, 3]], method="holm")[1])


def test_bh_controls_fdr_by_simulation() -> None:
    rng = np.random.default_rng(3)
    fdp = []
    for _ in range(200):
        null = rng.uniform(size=90)
        alt = rng.beta(0.1, 5, size=10)
        q = adjust_pvalues(np.concatenate([null, alt]))
        rej = q <= 0.1
        fdp.append(rej[:90].sum() / max(rej.sum(), 1))
    assert np.mean(fdp) <= 0.1 + 0.02


def test_errors_and_empty() -> None:
    assert adjust_pvalues([]).shape == (0,)
    with pytest.raises(InvalidParameterError, match=r"\[0, 1\]"):
        adjust_pvalues([0.5, 1.2])
    with pytest.raises(InvalidParameterError, match="'method'"):
        adjust_pvalues([0.5], method="sidak")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="1-D"):
        adjust_pvalues([[0.1, 0.2]])


def test_adjust_frame() -> None:
    df = pl.DataFrame({"t": ["a", "b", "c"], "p": [0.001, None, 0.2]})
    out = adjust_frame(df, "p", method="holm", alpha=0.01, output="q")
    assert out["q"].to_list()[0] == pytest.approx(0.002)
    assert out["reject"].to_list() == [True, None, False]
    with pytest.raises(MissingColumnError):
        adjust_frame(df, "p_value")
