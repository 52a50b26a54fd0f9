"""Composition and comparison figures of a run: stacked shares, means with intervals, paired bars.

Why apart from :mod:`chatlens.report.figures`: those draw one rate per group; these draw several
outcomes per group (refusal type by model, reactions by refusal type), a score against its
baseline (sentiment after a refusal vs after an answer) and a before/after pair (jailbreak
attempts around the first refusal). The same rules hold: small groups (``small_sample``) are
greyed, marked "(small)" and drawn below the others, intervals are shown where the table has
them, and every figure is also written as SVG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens._plot import pyplot, save_figure

PALETTE = ("#4c78a8", "#e45756", "#f58518", "#54a24b", "#b279a2", "#9d9d9d", "#72b7b2")
BLUE, ORANGE, GREY = "#4c78a8", "#e45756", "#b8b8b8"


def percent_axis(ax: Any, axis: str = "x") -> None:
    """Tick labels as percentages (shares are stored as 0–1), with as many decimals as the axis
    range needs: whole percents labelled an axis of rates near zero "0% 0% 0% …"."""
    from matplotlib.ticker import PercentFormatter

    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(PercentFormatter(1.0, decimals=None))


def _order(frame: pl.DataFrame, key: str, sort_outcome: str | None) -> tuple[list[str], list[bool]]:
    """Groups bottom to top: small groups lowest, the rest by ``sort_outcome``'s share, the pooled
    row ``(all)`` on top."""
    first = (
        frame.group_by(key, maintain_order=True)
        .agg(
            pl.col("small_sample").fill_null(value=False).any().alias("_small"),
            (
                pl.col("rate").filter(pl.col("outcome") == sort_outcome).first()
                if sort_outcome
                else pl.col("n").first()
            )
            .fill_null(0.0)
            .alias("_sort"),
        )
        .with_columns(_all=pl.col(key).cast(pl.String) == "(all)")
        .sort(["_all", "_small", "_sort"], descending=[False, True, False])
    )
    return [str(g) for g in first.get_column(key).to_list()], first.get_column("_small").to_list()


def _mark_small(names: list[str], small: list[bool]) -> list[str]:
    return [f"{n} (small)" if s else n for n, s in zip(names, small, strict=True)]


def stacked_shares(
    frame: pl.DataFrame,
    key: str,
    outcomes: Sequence[str],
    *,
    title: str,
    xlabel: str,
    path: Path,
    labels: dict[str, str] | None = None,
) -> Path:
    """One 100% bar per group, one segment per outcome (a long ``outcome × key`` rate table)."""
    plt = pyplot()
    present = [o for o in outcomes if o in set(frame.get_column("outcome").to_list())]
    groups, small = _order(frame, key, present[0] if present else None)
    wide = frame.pivot(on="outcome", index=key, values="rate").fill_null(0.0)
    rows = {str(r[key]): r for r in wide.iter_rows(named=True)}
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(groups) + 2.0))
    left = np.zeros(len(groups))
    for i, outcome in enumerate(present):
        values = np.array([rows[g].get(outcome, 0.0) for g in groups])
        bars = ax.barh(
            _mark_small(groups, small),
            values,
            left=left,
            color=PALETTE[i % len(PALETTE)],
            label=(labels or {}).get(outcome, outcome.replace("_", " ")),
        )
        for bar, s in zip(bars, small, strict=True):
            if s:
                bar.set_alpha(0.35)
        left += values
    for tick, s in zip(ax.get_yticklabels(), small, strict=True):
        if s:
            tick.set_color("#777777")
    percent_axis(ax)
    ax.set_xlim(0, 1)
    ax.set_xlabel(xlabel + ("; faded: small group, drawn last" if any(small) else ""))
    ax.set_title(title, pad=24)
    ax.legend(
        ncols=len(present), fontsize=8, loc="lower left", bbox_to_anchor=(0.0, 1.0), frameon=False
    )
    return save_figure(fig, path, dpi=110, svg=True)


def means_with_ci(
    frame: pl.DataFrame,
    key: str,
    *,
    title: str,
    xlabel: str,
    path: Path,
    baseline: str | None = None,
) -> Path:
    """Means with their intervals, one row per group; ``baseline`` drawn in blue, the rest orange."""
    plt = pyplot()
    # the table's order top to bottom (baseline first), small groups last
    ordered = (
        frame.with_columns(_small=pl.col("small_sample").fill_null(value=False))
        .sort("_small", maintain_order=True)
        .reverse()
    )
    names = [str(x) for x in ordered.get_column(key).to_list()]
    small = ordered.get_column("_small").to_list()
    mean = ordered.get_column("mean").to_numpy()
    err = [
        np.maximum(mean - ordered.get_column("ci_low").to_numpy(), 0.0),
        np.maximum(ordered.get_column("ci_high").to_numpy() - mean, 0.0),
    ]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(names) + 1.6))
    labels = _mark_small(
        [f"{n} (n={c:,})" for n, c in zip(names, ordered.get_column("n").to_list(), strict=True)],
        small,
    )
    for i, (_, m) in enumerate(zip(names, mean, strict=True)):
        colour = GREY if small[i] else (BLUE if names[i] == baseline else ORANGE)
        ax.errorbar(
            [m],
            [i],
            xerr=[[err[0][i]], [err[1][i]]],
            fmt="o",
            color=colour,
            capsize=3,
            markerfacecolor="white" if small[i] else colour,
        )
    ax.set_yticks(range(len(names)), labels)
    ax.axvline(0.0, color="#999999", linewidth=0.8, linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return save_figure(fig, path, dpi=110, svg=True)


def paired_rates(
    frame: pl.DataFrame,
    key: str,
    pair: tuple[str, str],
    *,
    labels: tuple[str, str],
    title: str,
    xlabel: str,
    path: Path,
    limit: int = 20,
    table: str | None = None,
) -> Path:
    """Two rates per group side by side (e.g. before / after), with Wilson intervals.

    ``table``: the CSV the figure draws (named in the title when only ``limit`` groups fit;
    default: the figure's name)."""
    plt = pyplot()
    groups, small = _order(frame.filter(pl.col("outcome").is_in(pair)), key, pair[1])
    if len(groups) > limit:  # said on the figure: the table beside it lists every group
        title += f"\n({limit} of {len(groups):,} rows, the highest '{pair[1]}'; all in tables/{table or path.stem}.csv)"
    groups, small = groups[-limit:], small[-limit:]
    rows = {(str(r[key]), r["outcome"]): r for r in frame.iter_rows(named=True)}
    y = np.arange(len(groups))
    fig, ax = plt.subplots(figsize=(8.5, 0.45 * len(groups) + 1.8))
    for j, (outcome, name, colour) in enumerate(zip(pair, labels, (BLUE, ORANGE), strict=True)):
        r = [rows.get((g, outcome)) for g in groups]
        rate = np.array([x["rate"] if x else 0.0 for x in r])
        lo = np.array([x["ci_low"] if x else 0.0 for x in r])
        hi = np.array([x["ci_high"] if x else 0.0 for x in r])
        bars = ax.barh(
            y + (0.2 if j == 0 else -0.2),
            rate,
            height=0.38,
            color=colour,
            label=name,
            xerr=[np.maximum(rate - lo, 0), np.maximum(hi - rate, 0)],
            ecolor="#333333",
            capsize=2,
        )
        for bar, s in zip(bars, small, strict=True):
            if s:
                bar.set_alpha(0.35)
    ax.set_yticks(y, _mark_small(groups, small))
    for tick, s in zip(ax.get_yticklabels(), small, strict=True):
        if s:
            tick.set_color("#777777")
    percent_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    return save_figure(fig, path, dpi=110, svg=True)


__all__ = [
    "BLUE",
    "GREY",
    "ORANGE",
    "means_with_ci",
    "paired_rates",
    "percent_axis",
    "stacked_shares",
]
