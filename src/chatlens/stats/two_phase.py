"""A detector's rate corrected by a reader's labels on a stratified random sample (two-phase sampling).

Why: a detector that is right 65% of the time on a log it was not tuned on gives per-model
refusal rates that are off by tens of percent, and in a direction that differs from log to log
(``chatlens validate`` prints how far, per source). No pooled correction factor transports to a
new log. What does is reading a random sample *of that log*: phase one is the detector on every
message (cheap, exact counts per cell), phase two a reader's labels on a random sample drawn
within each cell. The detector then only has to sort messages into cells whose true rates
differ; the rate itself comes from the reader.

The estimator, per group ``g``: ``rate_g = sum_c (N_c / N_g) * p_c`` over the cells ``c`` of ``g``
(flagged and not flagged, times any sampling strata), where ``N_c`` is the cell's message count
(known exactly) and ``p_c`` the share of the cell's sampled messages the reader judged positive.
Sampling within a cell is uniform, so the point estimate is unbiased. Its interval is Bayesian:
each ``p_c`` is drawn from its Jeffreys posterior ``Beta(x + 1/2, n - x + 1/2)`` (a census cell,
``n = N``, is exact), and the 2.5th and 97.5th percentiles of ``rate_g`` over the draws are the
95% interval. Why Jeffreys draws instead of a normal approximation: the unflagged cell of a good
detector has few or no positives among its sampled messages, yet holds most messages, so its
uncertainty dominates and is far from normal; the Jeffreys interval is the one Brown, Cai &
DasGupta (2001) recommend at such counts, and it stays finite at ``x = 0``.

From the same draws: the detector's precision (the share of flagged messages that are true), its
recall (the share of true messages it flags) and ``flagged / true`` (1 = an unbiased count) on
this log — the accuracy numbers ``chatlens validate`` can only forecast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.stats._validate import check_confidence

#: Columns of the cell frame :func:`two_phase_rates` reads.
CELL_COLUMNS = ("group", "flagged", "messages", "labelled", "positives")
DEFAULT_DRAWS = 20_000


def _check_cells(cells: pl.DataFrame) -> None:
    missing = [c for c in CELL_COLUMNS if c not in cells.columns]
    if missing:
        msg = f"two_phase_rates needs the columns {list(CELL_COLUMNS)}; missing {missing}."
        raise InvalidParameterError(msg)
    bad = cells.filter(
        (pl.col("messages") < 0) | (pl.col("labelled") < 0) | (pl.col("positives") < 0)
        | (pl.col("labelled") > pl.col("messages")) | (pl.col("positives") > pl.col("labelled"))
    )
    if bad.height:
        r = bad.row(0, named=True)
        msg = (f"Cell {r['group']!r} (flagged={r['flagged']}) has messages={r['messages']}, "
               f"labelled={r['labelled']}, positives={r['positives']}: expected "
               "0 <= positives <= labelled <= messages.")
        raise InvalidParameterError(msg)


def _cell_draws(cells: pl.DataFrame, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws of each cell's true rate, shape (cells, draws): plain, and modified
    downwards and upwards for the limits (Brown, Cai & DasGupta's modified Jeffreys interval: a
    cell with no positive counts as 0 at its lower end, one with only positives as 1 at its
    upper end, so the point estimate is never outside its interval)."""
    rng = np.random.default_rng(seed)
    n = cells["labelled"].to_numpy().astype(np.float64)
    x = cells["positives"].to_numpy().astype(np.float64)
    big_n = cells["messages"].to_numpy()
    out = rng.beta(x[:, None] + 0.5, (n - x)[:, None] + 0.5, size=(len(n), draws))
    census = (n == big_n) & (n > 0)
    out[census] = (x[census] / n[census])[:, None]
    low, high = out, out.copy()
    low[(x == 0) & (n > 0)] = 0.0
    high[(x == n) & (n > 0) & ~census] = 1.0
    return low, high


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    """Equal-tailed limits over the draws (NaN where every draw is NaN: the measure is undefined)."""
    if np.isnan(values).all():
        return np.nan, np.nan
    tail = (1 - confidence) / 2 * 100
    return np.nanpercentile(values, tail), np.nanpercentile(values, 100 - tail)


def two_phase_rates(cells: pl.DataFrame, *, confidence: float = 0.95, draws: int = DEFAULT_DRAWS,
                    seed: int = 0, overall: str | None = "(all)") -> pl.DataFrame:
    """Corrected rates per group from detector cells and a reader's labels on samples of them.

    Parameters
    ----------
    cells
        One row per cell: ``group`` (any label), ``flagged`` (bool: the detector's verdict on the
        cell's messages), ``messages`` (how many messages the cell holds), ``labelled`` (how many
        of them, drawn uniformly at random from the cell, a reader judged) and ``positives`` (how
        many of those the reader judged positive). A group may have several cells of each verdict
        (e.g. one per sampling stratum).
    confidence
        Level of the intervals.
    draws, seed
        Monte Carlo draws of the cells' posteriors (seeded: the same input gives the same
        intervals).
    overall
        Label of an extra row over all groups (None: no such row).

    Returns
    -------
    polars.DataFrame
        Per group: ``messages``, ``flagged`` (count) and ``flagged_rate`` (the detector's rate),
        ``labelled``, ``rate`` (the corrected rate; null while a non-empty cell has no labelled
        message) with ``rate_low`` / ``rate_high``, the detector's ``precision``, ``recall`` and
        ``flagged_per_true`` on this log with their intervals, and ``complete`` (every non-empty
        cell has at least one labelled message; otherwise the interval still covers the
        unlabelled cells through their uniform-ish prior and is wide).

    Examples
    --------
    >>> import polars as pl
    >>> cells = pl.DataFrame({"group": ["a", "a"], "flagged": [True, False],
    ...                       "messages": [100, 900], "labelled": [50, 50], "positives": [40, 1]})
    >>> out = two_phase_rates(cells, overall=None)
    >>> round(out["rate"][0], 3), round(out["precision"][0], 2), round(out["flagged_rate"][0], 2)
    (0.098, 0.8, 0.1)
    """
    check_confidence(confidence, "two_phase_rates")
    if draws < 100:
        msg = f"draws must be at least 100 for stable intervals. Got {draws}."
        raise InvalidParameterError(msg)
    _check_cells(cells)
    cells = cells.select(pl.col("group").cast(pl.String), pl.col("flagged").cast(pl.Boolean),
                         *(pl.col(c).cast(pl.Int64) for c in CELL_COLUMNS[2:]))
    cells = cells.filter(pl.col("messages") > 0)
    p_low, p_high = _cell_draws(cells, draws, seed)
    groups = cells["group"].unique(maintain_order=True).to_list()
    member = [(cells["group"] == g).to_numpy() for g in groups]
    if overall is not None:
        groups, member = [*groups, overall], [*member, np.ones(cells.height, dtype=bool)]
    big_n = cells["messages"].to_numpy().astype(np.float64)
    n = cells["labelled"].to_numpy()
    x = cells["positives"].to_numpy().astype(np.float64)
    point = np.divide(x, n, out=np.full(len(n), np.nan), where=n > 0)
    flag = cells["flagged"].to_numpy()
    rows = []
    for name, m in zip(groups, member, strict=True):
        on = m & flag
        total, flagged = big_n[m].sum(), big_n[on].sum()
        measures = _measures(big_n, point, (p_low, p_high), m, on, flag)
        row = {"group": name, "messages": int(total), "flagged": int(flagged),
               "flagged_rate": flagged / total, "labelled": int(n[m].sum()),
               "positives": int(x[m].sum())}
        for key, (value, for_low, for_high) in measures.items():
            low, high = _interval(for_low, confidence)[0], _interval(for_high, confidence)[1]
            row[key], row[f"{key}_low"], row[f"{key}_high"] = _finite(value), _finite(low), _finite(high)
        row["complete"] = bool((n[m] > 0).all())
        rows.append(row)
    return pl.DataFrame(rows, schema=_SCHEMA)


def _measures(big_n: np.ndarray, point: np.ndarray, draws: tuple[np.ndarray, np.ndarray],
              m: np.ndarray, on: np.ndarray, flag: np.ndarray) -> dict[str, tuple[Any, Any, Any]]:
    """(point, draws for the lower limit, draws for the upper limit) of each measure of the cells
    ``m`` of one group (``on``: its flagged cells).

    Each limit is read from the modified draws that push the measure its way: the rate and the
    precision rise with every cell's rate, flagged / true falls with it, and the recall rises
    with the flagged cells' rates and falls with the others'.
    """
    low, high = draws
    total, flagged = big_n[m].sum(), big_n[on].sum()
    true_all, true_flag = (big_n[m] * point[m]).sum(), (big_n[on] * point[on]).sum()

    def total_true(draw: np.ndarray, cells: np.ndarray) -> np.ndarray:
        return (big_n[cells, None] * draw[cells]).sum(axis=0)

    def recall(up: np.ndarray, down: np.ndarray) -> np.ndarray:
        draw = np.where(flag[:, None], up, down)
        return _ratio(total_true(draw, on), total_true(draw, m))

    return {
        "rate": (true_all / total, total_true(low, m) / total, total_true(high, m) / total),
        "precision": (_ratio(true_flag, flagged), _ratio(total_true(low, on), flagged),
                      _ratio(total_true(high, on), flagged)),
        "recall": (_ratio(true_flag, true_all), recall(low, high), recall(high, low)),
        "flagged_per_true": (_ratio(flagged, true_all), _ratio(flagged, total_true(high, m)),
                             _ratio(flagged, total_true(low, m))),
    }


def _ratio(a: float | np.ndarray, b: float | np.ndarray) -> float | np.ndarray:
    """``a / b``, NaN where ``b`` is 0 (no flagged or no true messages: the ratio is undefined)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.full(np.broadcast(a, b).shape, np.nan), where=b > 0)


def _finite(v: float | np.ndarray) -> float | None:
    """A float, or None for NaN (an undefined or not yet estimable value)."""
    return float(v) if np.isfinite(v) else None


_SCHEMA = {
    "group": pl.String, "messages": pl.Int64, "flagged": pl.Int64, "flagged_rate": pl.Float64,
    "labelled": pl.Int64, "positives": pl.Int64,
    "rate": pl.Float64, "rate_low": pl.Float64, "rate_high": pl.Float64,
    "precision": pl.Float64, "precision_low": pl.Float64, "precision_high": pl.Float64,
    "recall": pl.Float64, "recall_low": pl.Float64, "recall_high": pl.Float64,
    "flagged_per_true": pl.Float64, "flagged_per_true_low": pl.Float64,
    "flagged_per_true_high": pl.Float64, "complete": pl.Boolean,
}

__all__ = ["CELL_COLUMNS", "two_phase_rates"]
