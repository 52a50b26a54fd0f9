"""The original study's 8-panel figure, ``study1_comprehensive_analysis.png`` (legacy profile).

Why reproduce a figure with known defects: the legacy profile exists so the original numbers can
be checked against the same corpus, and readers compare figures before tables. Every panel is
drawn from ``study1_detailed_results`` (the legacy per-conversation table) as ``seed-study.md``
§8.4 describes it, defects included: panel B shows raw refusal counts (traffic volume, not a
rate), panel G a hard-coded list of eight open models, and no panel carries an interval.

Layout as the original: 20×14 in at 300 dpi, a 4×3 grid (hspace 0.35, wspace 0.3). Data strings
(model names, labels) are drawn as plain text, never as matplotlib math (``text.parse_math``
off), so a ``$`` in a model name cannot garble the figure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

FILE = "study1_comprehensive_analysis.png"
TYPES = ("instrumental", "mixed", "value_based")  # alphabetical, as pandas groupby orders them
BOX_ORDER = ("instrumental", "value_based", "mixed")
COLOURS = {"none": "#2ca02c", "value_based": "#d62728", "instrumental": "#1f77b4", "mixed": "#ff7f0e"}
#: Panel G's models, hard-coded in the original (only those with > 100 conversations are drawn).
MAJOR_MODELS = (
    "vicuna-13b",
    "llama-2-13b-chat",
    "koala-13b",
    "chatglm-6b",
    "fastchat-t5-3b",
    "vicuna-33b",
    "alpaca-13b",
    "llama-2-7b-chat",
)
PROFANITY_BINS = (("0", 0, 0), ("1-2", 1, 2), ("3-5", 3, 5), (">5", 6, None))
NEGATIVE = -0.05


def study1_figure(tables: dict[str, pl.DataFrame], directory: Path) -> list[Path]:
    """Draw the 8-panel figure from the legacy tables; returns the file written (or nothing).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> detailed = pl.DataFrame({
    ...     "model": ["m1", "m1", "m2", "m2"],
    ...     "refusal_type": ["none", "value_based", "instrumental", "mixed"],
    ...     "has_jailbreak_attempt": [False, True, False, False],
    ...     "conversation_abandoned": [False, False, True, False],
    ...     "user_sentiment_after_refusal": [None, -0.4, None, 0.3],
    ...     "profanity_count_after_refusal": [0, 2, 0, 0]})
    >>> [p.name for p in study1_figure({"study1_detailed_results": detailed},
    ...                                pathlib.Path(tempfile.mkdtemp()))]
    ['study1_comprehensive_analysis.png']
    """
    detailed = tables.get("study1_detailed_results")
    if detailed is None or detailed.height == 0:
        return []
    from chatlens._plot import pyplot

    plt = pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    refused = detailed.filter(pl.col("refusal_type") != "none")
    follow = refused.filter(~pl.col("conversation_abandoned"))
    with plt.rc_context({"text.parse_math": False}):
        fig = plt.figure(figsize=(20, 14), facecolor="white")
        grid = fig.add_gridspec(4, 3, hspace=0.35, wspace=0.3)
        _types(fig.add_subplot(grid[0, 0:2]), detailed)
        _top_models(fig.add_subplot(grid[0, 2]), refused)
        _share_by_type(fig.add_subplot(grid[1, 0]), refused, "has_jailbreak_attempt",
                       "C. Jailbreak Attempts by Refusal Type", "jailbreak attempts (%)")
        _share_by_type(fig.add_subplot(grid[1, 1]), refused, "conversation_abandoned",
                       "D. Session Abandonment by Refusal Type", "abandoned (%)")
        _sentiment(fig.add_subplot(grid[1, 2]), follow)
        _profanity(fig.add_subplot(grid[2, :]), follow)
        _major_models(fig.add_subplot(grid[3, 0:2]), detailed)
        _backlash(fig.add_subplot(grid[3, 2]), refused, follow)
        path = directory / FILE
        fig.savefig(path, dpi=300, bbox_inches="tight", facecolor="white")
        with plt.rc_context({"svg.hashsalt": "chatlens", "svg.fonttype": "none"}):  # a vector copy for papers, reproducible
            fig.savefig(path.with_suffix(".svg"), format="svg", bbox_inches="tight", facecolor="white",
                        metadata={"Date": None})
        plt.close(fig)
    return [path]


def _pct(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _types(ax: Any, detailed: pl.DataFrame) -> None:
    counts = detailed.get_column("refusal_type").value_counts(sort=True)
    names = [str(x) for x in counts.get_column("refusal_type").to_list()]
    values = counts.get_column("count").to_list()
    bars = ax.bar(names, values, color=[COLOURS.get(n, "#7f7f7f") for n in names])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{value:,}\n({_pct(value, detailed.height):.1f}%)",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=10)
    ax.margins(y=0.15)  # room for the labels above the bars
    ax.set_title(f"A. Refusal Type Distribution (N={detailed.height:,})", fontweight="bold")
    ax.set_ylabel("conversations")


def _top_models(ax: Any, refused: pl.DataFrame) -> None:
    top = (
        refused.group_by("model").len().sort(["len", "model"], descending=[True, False]).head(10)
        .reverse()
    )
    ax.barh([str(m) for m in top.get_column("model").to_list()], top.get_column("len").to_list(),
            color="#1f77b4")
    ax.set_title("B. Top 10 Models by Refusals", fontweight="bold")
    ax.set_xlabel("refusals")


def _share_by_type(ax: Any, refused: pl.DataFrame, column: str, title: str, label: str) -> None:
    shares = []
    for kind in TYPES:
        rows = refused.filter(pl.col("refusal_type") == kind)
        shares.append(_pct(int(rows.get_column(column).sum() or 0), rows.height))
    ax.bar(TYPES, shares, color=[COLOURS[t] for t in TYPES])
    ax.set_title(title, fontweight="bold")
    ax.set_ylabel(label)


def _sentiment(ax: Any, follow: pl.DataFrame) -> None:
    data, labels = [], []
    for kind in BOX_ORDER:
        values = follow.filter(pl.col("refusal_type") == kind).get_column(
            "user_sentiment_after_refusal").drop_nulls().to_numpy()
        if values.size:
            data.append(values)
            labels.append(kind)
    if data:
        ax.boxplot(data, tick_labels=labels)
    ax.axhline(0.0, color="red", linestyle="--", linewidth=1)
    ax.set_title("E. User Sentiment After Refusal", fontweight="bold")
    ax.set_ylabel("VADER compound")


def _profanity(ax: Any, follow: pl.DataFrame) -> None:
    x = np.arange(len(PROFANITY_BINS))
    width = 0.8 / len(TYPES)
    for i, kind in enumerate(TYPES):
        counts = follow.filter(pl.col("refusal_type") == kind).get_column("profanity_count_after_refusal")
        shares = []
        for _, low, high in PROFANITY_BINS:
            hit = (counts >= low) if high is None else ((counts >= low) & (counts <= high))
            shares.append(_pct(int(hit.sum()), counts.len()))
        ax.bar(x + (i - 1) * width, shares, width, label=kind, color=COLOURS[kind])
    ax.set_xticks(x, [f"{name} words" for name, _, _ in PROFANITY_BINS])
    ax.set_ylabel("follow-up messages (%)")
    ax.set_title(f"F. Profanity Usage Distribution After Refusal (N={follow.height:,})", fontweight="bold")
    ax.legend()


def _major_models(ax: Any, detailed: pl.DataFrame) -> None:
    per_model = detailed.filter(pl.col("model").is_in(MAJOR_MODELS)).group_by("model").agg(
        pl.len().alias("n"), (pl.col("refusal_type") != "none").sum().alias("refused")
    )
    rates = {
        str(row["model"]): _pct(row["refused"], row["n"])
        for row in per_model.iter_rows(named=True)
        if row["n"] > 100
    }
    shown = [m for m in MAJOR_MODELS if m in rates]
    ax.barh(shown, [rates[m] for m in shown], color="#9467bd")
    ax.set_title("G. Refusal Rates by Major AI Models", fontweight="bold")
    ax.set_xlabel("refusal rate (% of the model's conversations)")


def _backlash(ax: Any, refused: pl.DataFrame, follow: pl.DataFrame) -> None:
    sentiment = follow.get_column("user_sentiment_after_refusal").drop_nulls()
    values = [
        _pct(int(refused.get_column("has_jailbreak_attempt").sum() or 0), refused.height),
        _pct(int(refused.get_column("conversation_abandoned").sum() or 0), refused.height),
        _pct(int((sentiment < NEGATIVE).sum()), sentiment.len()),
        _pct(int((follow.get_column("profanity_count_after_refusal") > 0).sum()), follow.height),
    ]
    names = ["Jailbreak", "Abandonment", "Negative\nsentiment", "Profanity"]
    bars = ax.bar(names, values, color=["#d62728", "#ff7f0e", "#9467bd", "#8c564b"])
    for bar, value in zip(bars, values, strict=True):
        ax.annotate(f"{value:.1f}%", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom")
    ax.margins(y=0.15)
    ax.set_title("H. Backlash Behaviors Overview", fontweight="bold")
    ax.set_ylabel("%")


__all__ = ["FILE", "MAJOR_MODELS", "study1_figure"]
