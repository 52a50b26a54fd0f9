"""What ``rate`` returns: :class:`RatingResult` and the schemas of its tables.

Result table (:attr:`RatingResult.table`), one row per model and method::

    model     str
    method    str   winrate | elo | bt | bt-controlled
    rating    f64   win rate; Elo mean over random orders; BT MLE on the Elo scale
    ci_low    f64   interval bounds (see ``interval``); null when none was computed
    ci_high   f64
    sd        f64   SD over bootstrap rounds (winrate, bt) or over random orders (elo)
    rank      i64   1 + #models whose ci_low > this ci_high (ordinal when no CI; this rating
                    when this model has none); null without a rating
    games     i64
    wins      i64   strict wins (score > 0.5 from the model's side)
    losses    i64
    ties      i64   score exactly 0.5
    win_rate  f64   mean soft score
    interval  str   what ci_low/ci_high are
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens._repr import short_repr
from chatlens.ratings.bootstrap import ordinal_rank, separation_rank

__all__ = ["COEF_SCHEMA", "TABLE_SCHEMA", "RatingResult", "rating_rows"]

TABLE_SCHEMA: dict[str, Any] = {
    "model": pl.String,
    "method": pl.String,
    "rating": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "sd": pl.Float64,
    "rank": pl.Int64,
    "games": pl.Int64,
    "wins": pl.Int64,
    "losses": pl.Int64,
    "ties": pl.Int64,
    "win_rate": pl.Float64,
    "interval": pl.String,
}
COEF_SCHEMA: dict[str, Any] = {
    "covariate": pl.String,
    "coef": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "sd_before_scaling": pl.Float64,
    "method": pl.String,
}


@dataclass(frozen=True)
class RatingResult:
    """Everything one ``rate`` call produces (schemas in the module docstring)."""

    table: pl.DataFrame
    coefficients: pl.DataFrame
    winrate_matrix: pl.DataFrame
    count_matrix: pl.DataFrame
    pairs: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    rows_filtered: int
    rows_used: int
    rows_quarantined: int
    config: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return short_repr(self)

    def write(self, out: str | Path, *, figures: bool = True) -> dict[str, Path]:
        """Write OUT.csv and its companions; see :func:`chatlens.ratings.io.write_result`."""
        from chatlens.ratings.io import write_result

        return write_result(self, out, figures=figures)


def rating_rows(
    models: tuple[str, ...],
    method: str,
    rating: np.ndarray,
    lo: np.ndarray | None,
    hi: np.ndarray | None,
    sd: np.ndarray | None,
    interval: str | None,
    tal: Any,
    *,
    rank_by_ci: bool = True,
) -> pl.DataFrame:
    """One method's rows of the result table, ranked by interval separation when it has CIs."""
    m = len(models)
    if rank_by_ci and lo is not None and hi is not None:
        # a model without an interval (won or lost every game) was ranked 1 beside the others,
        # a model that lost all its games included: its own rating stands in for its upper
        # bound, and without a lower bound it moves no one else down
        rank = separation_rank(lo, np.where(np.isnan(hi), rating, hi))
    else:
        rank = ordinal_rank(rating)
    # no rating, no rank (a BT model without a finite estimate)
    ranks = pl.Series("rank", rank.astype(np.int64)).scatter(
        np.flatnonzero(np.isnan(np.asarray(rating, dtype=np.float64))), None
    )
    nan = np.full(m, np.nan)
    frame = pl.DataFrame(
        {
            "model": list(models),
            "method": [method] * m,
            "rating": pl.Series(rating.astype(np.float64), nan_to_null=True),
            "ci_low": pl.Series((nan if lo is None else lo).astype(np.float64), nan_to_null=True),
            "ci_high": pl.Series((nan if hi is None else hi).astype(np.float64), nan_to_null=True),
            "sd": pl.Series((nan if sd is None else sd).astype(np.float64), nan_to_null=True),
            "rank": ranks,
            "games": np.rint(tal.games).astype(np.int64),
            "wins": np.rint(tal.wins).astype(np.int64),
            "losses": np.rint(tal.losses).astype(np.int64),
            "ties": np.rint(tal.ties).astype(np.int64),
            "win_rate": pl.Series(tal.win_rate.astype(np.float64), nan_to_null=True),
            "interval": [interval] * m,
        },
        schema=TABLE_SCHEMA,
    )
    return frame.sort(["rank", "rating"], descending=[False, True], nulls_last=True)
