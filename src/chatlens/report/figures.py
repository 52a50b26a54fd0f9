"""Static figures of a run (matplotlib, Agg backend, imported only when figures are drawn).

Each figure shows uncertainty: rates carry their confidence intervals as error bars, so a model
with 40 conversations is not read as precisely as one with 40,000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from chatlens._plot import pyplot, save_figure
from chatlens.report.charts import (
    BLUE,
    GREY,
    means_with_ci,
    paired_rates,
    percent_axis,
    stacked_shares,
)


def small_first_last(frame: pl.DataFrame, value: str) -> pl.DataFrame:
    """Rows for a horizontal bar chart, bottom to top: small groups lowest (never ranked on top),
    then the others by ``value`` ascending, so the largest well-measured value is drawn on top."""
    small = (
        pl.col("small_sample").fill_null(value=False)
        if "small_sample" in frame.columns
        else pl.lit(value=False)
    )
    return frame.with_columns(_small=small).sort(["_small", value], descending=[True, False])


def _rate_bars(frame: pl.DataFrame, label: str, title: str, path: Path, limit: int = 25) -> Path:
    plt = pyplot()
    top = small_first_last(frame.sort("n", descending=True).head(limit), "rate")
    small = top.get_column("_small").to_list()
    names = [
        f"{x} (n={n:,}, small)" if s else str(x)
        for x, n, s in zip(
            top.get_column(label).to_list(), top.get_column("n").to_list(), small, strict=True
        )
    ]
    rate = top.get_column("rate").to_numpy()
    # Clip: float rounding can put a Wilson bound a hair beyond the rate when k = 0 or k = n.
    low = np.maximum(rate - top.get_column("ci_low").to_numpy(), 0.0)
    high = np.maximum(top.get_column("ci_high").to_numpy() - rate, 0.0)
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1.5))
    bars = ax.barh(
        names,
        rate,
        xerr=[low, high],
        color=[GREY if s else BLUE for s in small],
        ecolor="#333333",
        capsize=2,
    )
    for bar, s in zip(bars, small, strict=True):
        if s:
            bar.set_hatch("//")
    for tick, s in zip(ax.get_yticklabels(), small, strict=True):
        if s:
            tick.set_color("#777777")
    percent_axis(ax)
    ax.set_xlabel(
        "share of conversations (95% Wilson CI)"
        + ("; grey: small group, drawn last" if any(small) else "")
    )
    if frame.height > limit:  # said on the figure: the table beside it lists every group
        title += f"\n(the {limit} largest of {frame.height:,}; all in tables/{path.stem}.csv)"
    ax.set_title(title)
    return save_figure(fig, path, dpi=110, svg=True)


def _hazard(frame: pl.DataFrame, path: Path) -> Path:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for exposed, colour, name in (
        (True, "#e45756", "after a refusal"),
        (False, "#4c78a8", "after an answer"),
    ):
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
        small = part.get_column("small_sample").fill_null(value=False).to_numpy()
        if small.any():  # small groups: hollow grey markers
            ax.plot(turn[small], rate[small], "o", color=GREY, markerfacecolor="white", zorder=3)
    if frame.get_column("small_sample").any():
        ax.plot([], [], "o", color=GREY, markerfacecolor="white", label="small group (hollow)")
    percent_axis(ax, "y")
    from chatlens.report.views import pooled_turn

    last = pooled_turn()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= last and float(t).is_integer()]
    ax.set_xticks(ticks, [f"{int(t)}+" if t == last else str(int(t)) for t in ticks])
    ax.set_xlabel("turn")
    ax.set_ylabel("P(conversation ends)")
    ax.set_title("Does a refusal end the conversation? (95% Wilson CIs)")
    ax.legend()
    return save_figure(fig, path, dpi=110, svg=True)


REACTION_ORDER = ("abandoned", "rephrase", "clarify", "new_topic", "pushback", "accept", "jailbreak")


def behaviour_figures(tables: dict[str, pl.DataFrame], directory: Path) -> list[Path]:
    """Draw the figures the tables support; returns the PNG files written (an SVG beside each)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    def has(name: str) -> bool:
        return name in tables and tables[name].height > 0

    if has("refusal_by_model"):
        written.append(
            _rate_bars(
                tables["refusal_by_model"],
                "model",
                "Conversations with a refusal, by model",
                directory / "refusal_by_model.png",
            )
        )
    if has("refusal_by_language"):
        written.append(
            _rate_bars(
                tables["refusal_by_language"],
                "language",
                "Conversations with a refusal, by language",
                directory / "refusal_by_language.png",
            )
        )
    if has("refusal_type_by_model"):
        written.append(
            stacked_shares(
                tables["refusal_type_by_model"],
                "model",
                ("policy", "capability", "mixed"),
                title="Type of the first refusal, by model",
                xlabel="share of the model's refused conversations",
                path=directory / "refusal_type_by_model.png",
            )
        )
    if has("reaction_by_refusal_type"):
        written.append(
            stacked_shares(
                tables["reaction_by_refusal_type"],
                "first_refusal_type",
                REACTION_ORDER,
                title="What the user did after the first refusal",
                xlabel="share of refused conversations",
                path=directory / "reactions.png",
            )
        )
    if has("sentiment_after_refusal_vs_answer"):
        written.append(
            means_with_ci(
                tables["sentiment_after_refusal_vs_answer"],
                "follows",
                baseline="an ordinary answer",
                title="Sentiment of the user's next message (95% CI)",
                xlabel="mean sentiment, −1 (negative) to +1 (positive)",
                path=directory / "sentiment.png",
            )
        )
    if has("jailbreak_around_refusal_by_model"):
        written.append(
            paired_rates(
                tables["jailbreak_around_refusal_by_model"],
                "model",
                ("before", "after"),
                labels=("before the first refusal", "after the first refusal"),
                title="Jailbreak attempts around the first refusal (95% Wilson CI)",
                xlabel="share of refused conversations",
                path=directory / "jailbreak_around_refusal.png",
                table="jailbreak_around_refusal_by_model",
            )
        )
    if has("ending_hazard_by_turn"):
        written.append(_hazard(tables["ending_hazard_by_turn"], directory / "ending_hazard.png"))
    return written
