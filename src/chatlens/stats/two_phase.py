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


def _check_cells(cells: pl.DataFrame, overall: str | None) -> None:
    """Refuse cells that cannot come from a sample: missing columns, nulls, impossible counts, or
    a group named like the overall row."""
    missing = [c for c in CELL_COLUMNS if c not in cells.columns]
    if missing:
        msg = f"two_phase_rates needs the columns {list(CELL_COLUMNS)}; missing {missing}."
        raise InvalidParameterError(msg)
    if cells.height == 0:
        msg = "two_phase_rates needs at least one cell."
        raise InvalidParameterError(msg)
    nulls = [c for c in CELL_COLUMNS if cells[c].null_count()]
    if nulls:
        msg = f"two_phase_rates: the column(s) {nulls} hold nulls; every cell needs every value."
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
    if overall is not None and (cells["group"].cast(pl.String) == overall).any():
        msg = f"A group is named {overall!r}, the label of the overall row; pass another overall=."
        raise InvalidParameterError(msg)


def _cell_draws(cells: pl.DataFrame, draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Posterior draws of each cell's true rate, shape (cells, draws), modified downwards and
    upwards for the lower and upper limits.

    Brown, Cai & DasGupta's modified Jeffreys interval: a cell with no positive counts as 0 at its
    lower end, one with only positives as 1 at its upper end, so the point estimate is never
    outside its interval. A cell with no label at all counts as 0 and as 1 (the worst cases): its
    group's interval then says what the unread messages could change, instead of a prior's guess.
    """
    rng = np.random.default_rng(seed)
    n = cells["labelled"].to_numpy().astype(np.float64)
    x = cells["positives"].to_numpy().astype(np.float64)
    big_n = cells["messages"].to_numpy()
    low = rng.beta(x[:, None] + 0.5, (n - x)[:, None] + 0.5, size=(len(n), draws))
    census = (n == big_n) & (n > 0)
    low[census] = (x[census] / n[census])[:, None]
    high = low.copy()
    low[x == 0] = 0.0
    high[(x == n) & ~census] = 1.0
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
        ``flagged_per_true`` on this log with their intervals, ``vs_rest`` (the group's corrected
        rate minus that of every other group's messages together, with its interval; null for the
        overall row and a lone group), and ``complete`` (every non-empty
        cell has at least one labelled message; otherwise the point estimates are null and the
        interval spans what the unread cells could hold, from none to all of them positive).

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
    _check_cells(cells, overall)
    cells = (cells.select(pl.col("group").cast(pl.String), pl.col("flagged").cast(pl.Boolean),
                          *(pl.col(c).cast(pl.Int64) for c in CELL_COLUMNS[2:]))
             .filter(pl.col("messages") > 0).with_row_index("_cell"))
    if cells.height == 0:
        msg = "two_phase_rates: no cell holds a message."
        raise InvalidParameterError(msg)
    # groups in order of first appearance, each group's cells together
    cells = cells.sort(pl.col("_cell").min().over("group"), "_cell")
    low, high = _cell_draws(cells, draws, seed)
    sums = _GroupSums(cells, low, high, overall)
    rows = []
    for g, name in enumerate(sums.names):
        row = {"group": name, "messages": int(sums.total[g]), "flagged": int(sums.flagged[g]),
               "flagged_rate": sums.flagged[g] / sums.total[g], "labelled": int(sums.labelled[g]),
               "positives": int(sums.positives[g])}
        for key, (value, for_low, for_high) in sums.measures(g).items():
            lo, hi = _interval(for_low, confidence)[0], _interval(for_high, confidence)[1]
            row[key], row[f"{key}_low"], row[f"{key}_high"] = _finite(value), _finite(lo), _finite(hi)
        row["complete"] = bool(sums.complete[g])
        rows.append(row)
    return pl.DataFrame(rows, schema=_SCHEMA)


class _GroupSums:
    """Per-group sums over the cells (sorted by group) — sizes, counts and the expected number of
    true positives, as points and per draw — computed once for all groups (one ``reduceat`` per
    array, so the cost grows with cells × draws, not groups × cells × draws)."""

    def __init__(self, cells: pl.DataFrame, low: np.ndarray, high: np.ndarray, overall: str | None) -> None:
        group = cells["group"].to_numpy()
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        self.names = [*group[starts].tolist(), *([overall] if overall is not None else [])]
        big_n = cells["messages"].to_numpy().astype(np.float64)
        n = cells["labelled"].to_numpy()
        x = cells["positives"].to_numpy().astype(np.float64)
        flag = cells["flagged"].to_numpy()
        point = np.divide(x, n, out=np.full(len(n), np.nan), where=n > 0)

        def per_group(values: np.ndarray) -> np.ndarray:
            summed = np.add.reduceat(values, starts, axis=0)
            return np.concatenate([summed, values.sum(axis=0, keepdims=True)]) if overall is not None else summed

        self.total, self.flagged = per_group(big_n), per_group(big_n * flag)
        self.labelled, self.positives = per_group(n), per_group(x)
        self.complete = per_group((n == 0).astype(np.int64)) == 0
        self.true_all = per_group(big_n * point)  # NaN while a cell of the group is unread
        self.true_flag = per_group(np.where(flag, big_n * point, 0.0))
        weighted = {name: big_n[:, None] * draw for name, draw in
                    (("low", low), ("high", high),
                     ("flag_low", np.where(flag[:, None], low, high)),
                     ("flag_high", np.where(flag[:, None], high, low)))}
        self.all = {k: per_group(v) for k, v in weighted.items()}
        # on the flagged cells the flag_* draws are the low / high ones: two sums serve all four
        self.on = {k: per_group(weighted[k] * flag[:, None]) for k in ("low", "high")}
        # over every cell (whether or not an overall row is asked for): a group vs the rest
        self.groups = len(starts)
        self.grand = {"total": big_n.sum(), "true": (big_n * point).sum(),
                      "low": weighted["low"].sum(axis=0), "high": weighted["high"].sum(axis=0)}

    def measures(self, g: int) -> dict[str, tuple[Any, Any, Any]]:
        """(point, draws for the lower limit, draws for the upper limit) of each measure of group
        ``g``. Each limit is read from the draws that push the measure its way: the rate and the
        precision rise with every cell's rate, flagged / true falls with it, and the recall rises
        with the flagged cells' rates and falls with the others'."""
        total, flagged, a, on = self.total[g], self.flagged[g], self.all, self.on
        return {
            "rate": (self.true_all[g] / total, a["low"][g] / total, a["high"][g] / total),
            "precision": (_ratio(self.true_flag[g], flagged), _ratio(on["low"][g], flagged),
                          _ratio(on["high"][g], flagged)),
            "recall": (_ratio(self.true_flag[g], self.true_all[g]),
                       _ratio(on["low"][g], a["flag_low"][g]),
                       _ratio(on["high"][g], a["flag_high"][g])),
            "flagged_per_true": (_ratio(flagged, self.true_all[g]), _ratio(flagged, a["high"][g]),
                                 _ratio(flagged, a["low"][g])),
            "vs_rest": self._vs_rest(g),
        }

    def _vs_rest(self, g: int) -> tuple[Any, Any, Any]:
        """Group ``g``'s rate minus the rate of all other groups' messages together (NaN for the
        overall row and a lone group): it rises with the group's cells and falls with the rest's."""
        if g >= self.groups or self.groups < 2:
            return np.nan, np.full(1, np.nan), np.full(1, np.nan)
        total, a, grand = self.total[g], self.all, self.grand
        rest = grand["total"] - total
        return ((self.true_all[g] / total) - (grand["true"] - self.true_all[g]) / rest,
                a["low"][g] / total - (grand["high"] - a["high"][g]) / rest,
                a["high"][g] / total - (grand["low"] - a["low"][g]) / rest)

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
    "flagged_per_true_high": pl.Float64, "vs_rest": pl.Float64, "vs_rest_low": pl.Float64,
    "vs_rest_high": pl.Float64, "complete": pl.Boolean,
}

__all__ = ["CELL_COLUMNS", "two_phase_rates"]
