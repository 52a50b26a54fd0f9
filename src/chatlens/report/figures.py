"""Static figures of a run (matplotlib, Agg backend, imported only when figures are drawn).

Each figure shows uncertainty: rates carry their confidence intervals as error bars, so a model
with 40 conversations is not read as precisely as one with 40,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from chatlens._plot import pyplot, save_figure


def _rate_bars(frame: pl.DataFrame, label: str, title: str, path: Path, limit: int = 25) -> Path:
    plt = pyplot()
    top = frame.sort("n", descending=True).head(limit).sort("rate")
    names = [str(x) for x in top.get_column(label).to_list()]
    rate = top.get_column("rate").to_numpy()
    # Clip: float rounding can put a Wilson bound a hair beyond the rate when k = 0 or k = n.
    low = np.maximum(rate - top.get_column("ci_low").to_numpy(), 0.0)
    high = np.maximum(top.get_column("ci_high").to_numpy() - rate, 0.0)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    ax.barh(names, rate, xerr=[low, high], color="#4c78a8", ecolor="#333333", capsize=2)
    ax.set_xlabel("share of conversations (95% Wilson CI)")
    ax.set_title(title)
    return save_figure(fig, path, dpi=110)


def _reactions(frame: pl.DataFrame, path: Path) -> Path:
    plt = pyplot()
    wide = frame.pivot(on="outcome", index="first_refusal_type", values="rate").fill_null(0.0)
    groups = [str(g) for g in wide.get_column("first_refusal_type").to_list()]
    outcomes = [c for c in wide.columns if c != "first_refusal_type"]
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(groups) + 1.8))
    left = [0.0] * len(groups)
    colours = ["#4c78a8", "#e45756", "#f58518", "#54a24b", "#b279a2", "#9d9d9d"]
    for i, outcome in enumerate(outcomes):
        values = wide.get_column(outcome).to_list()
        ax.barh(groups, values, left=left, label=outcome, color=colours[i % len(colours)])
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("share of refused conversations")
    ax.set_title("What the user did after the first refusal")
    ax.legend(ncols=3, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return save_figure(fig, path, dpi=110)


def _hazard(frame: pl.DataFrame, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for exposed, colour, name in ((True, "#e45756", "after a refusal"), (False, "#4c78a8", "after an answer")):
        part = frame.filter(pl.col("exposed") == exposed).sort("turn")
        if part.height == 0:
            continue
        turn = part.get_column("turn").to_numpy()
        rate = part.get_column("rate").to_numpy()
        ax.errorbar(
            turn,
            rate,
            yerr=[
                np.maximum(rate - part.get_column("ci_low").to_numpy(), 0.0),
                np.maximum(part.get_column("ci_high").to_numpy() - rate, 0.0),
            ],
            label=name,
            color=colour,
            marker="o",
            capsize=3,
        )
    ax.set_xlabel("turn")
    ax.set_ylabel("P(conversation ends)")
    ax.set_title("Does a refusal end the conversation? (95% Wilson CIs)")
    ax.legend()
    return save_figure(fig, path, dpi=110)


def behaviour_figures(tables: dict[str, pl.DataFrame], directory: Path) -> list[Path]:
    """Draw the figures the tables support; returns the files written."""
    # data strings (model names with "$") are plain text, never matplotlib math
    with pyplot().rc_context({"text.parse_math": False}):
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        if "refusal_by_model" in tables and tables["refusal_by_model"].height:
            written.append(
                _rate_bars(tables["refusal_by_model"], "model", "Conversations with a refusal, by model",
                           directory / "refusal_by_model.png")
            )
        if "refusal_by_language" in tables and tables["refusal_by_language"].height:
            written.append(
                _rate_bars(tables["refusal_by_language"], "language", "Conversations with a refusal, by language",
                           directory / "refusal_by_language.png")
            )
        if "reaction_by_refusal_type" in tables and tables["reaction_by_refusal_type"].height:
            written.append(_reactions(tables["reaction_by_refusal_type"], directory / "reactions.png"))
        if "ending_hazard_by_turn" in tables and tables["ending_hazard_by_turn"].height:
            written.append(_hazard(tables["ending_hazard_by_turn"], directory / "ending_hazard.png"))
        return written
