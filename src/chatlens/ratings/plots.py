"""Figures: ratings with their intervals, and the win-rate heatmap.

matplotlib is imported inside the functions with the Agg backend, so importing chatlens never
loads it and the figures render on headless machines.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from chatlens._plot import pyplot, save_figure

#: above this many models the heatmap drops its per-cell numbers.
_ANNOTATE_MAX = 15



def plot_ratings(table: pl.DataFrame, path: str | Path) -> Path:
    """One panel per method: models sorted by rating, points with interval bars."""
    plt = pyplot()
    methods = table["method"].unique(maintain_order=True).to_list()
    n_models = table["model"].n_unique()
    ncols = min(2, len(methods))
    nrows = -(-len(methods) // ncols)
    height = max(2.4, 0.9 + 0.3 * n_models)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5.5 * ncols, height * nrows), squeeze=False
    )
    flat = axes.ravel()
    for ax in flat[len(methods) :]:
        ax.set_visible(False)
    for ax, method in zip(flat, methods, strict=False):
        sub = table.filter(pl.col("method") == method).sort("rating", nulls_last=True)
        y = np.arange(sub.height)
        rating = sub["rating"].to_numpy().astype(float)
        lo = sub["ci_low"].fill_null(float("nan")).to_numpy().astype(float)
        hi = sub["ci_high"].fill_null(float("nan")).to_numpy().astype(float)
        err = np.vstack([np.clip(rating - lo, 0, None), np.clip(hi - rating, 0, None)])
        err = np.nan_to_num(err)
        ax.errorbar(rating, y, xerr=err, fmt="o", color="#1f77b4", ecolor="#7f7f7f", capsize=3)
        ax.set_yticks(y)
        ax.set_yticklabels(sub["model"].to_list(), fontsize=8)
        ax.set_title(method)
        ax.grid(axis="x", alpha=0.3)
        interval = sub["interval"].drop_nulls()
        if interval.len():
            ax.set_xlabel(str(interval[0]), fontsize=7)
    return save_figure(fig, path, dpi=120)


def plot_winrate(matrix: pl.DataFrame, path: str | Path) -> Path:
    """Heatmap of the pairwise win-rate matrix (row model's mean soft score vs column)."""
    plt = pyplot()
    models = matrix.get_column(matrix.columns[0]).to_list()  # the row labels (matrix_key)
    values = matrix.select(models).fill_null(float("nan")).to_numpy().astype(float)
    size = 1.5 + 0.45 * len(models)
    fig, ax = plt.subplots(figsize=(size + 1.5, size))
    image = ax.imshow(values, cmap="RdBu", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(models)))
    ax.set_yticklabels(models, fontsize=8)
    ax.set_xlabel("opponent")
    ax.set_ylabel("model")
    if len(models) <= _ANNOTATE_MAX:
        for i in range(len(models)):
            for j in range(len(models)):
                if not np.isnan(values[i, j]):
                    ax.text(j, i, f"{values[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, label="win rate of row vs column")
    return save_figure(fig, path, dpi=120)
