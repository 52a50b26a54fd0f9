"""Each machine table as a reader sees it: readable headers, formatted numbers, long tables pivoted.

Why: ``refusal_type_by_model`` is 36 long-format rows in its CSV (one per model × type); a reader
wants one row per model and one column per type. Every view keeps the numbers of the CSV (only
rounded), puts each estimate and its interval in one cell, moves small groups below the others and
marks them. :func:`view` picks the view by table name, then by the columns a table has.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from chatlens.report.formatting import (
    Table,
    ci_pct,
    ci_points,
    ci_ratio,
    ci_signed,
    count,
    estimable,
    finite,
    label,
    number,
    pct,
    points,
    pvalue,
    ratio,
    signed,
)

RATE_COLUMNS = {"n", "k", "rate", "ci_low", "ci_high"}
MEAN_COLUMNS = {"n", "mean", "sd", "ci_low", "ci_high"}
REFUSAL_TYPES = ("policy", "capability", "mixed")  # the order of the figure


def _small(row: dict) -> bool:
    return bool(row.get("small_sample"))


def rate_cell(row: dict) -> str:
    """``29.1% (26.7–31.6%)``."""
    return f"{pct(row['rate'])} ({ci_pct(row['ci_low'], row['ci_high'])})"


def rate_view(
    frame: pl.DataFrame, key: str, *, n_label: str | None = None, k_label: str | None = None
) -> Table:
    """A grouped rate table: group, n, k, share, 95% CI."""
    table = Table(
        [label(key), n_label or label("n"), k_label or label("k"), label("rate"), label("ci")],
        numeric={1, 2, 3, 4},
    )
    for row in frame.iter_rows(named=True):
        table.add(
            [
                str(row[key]),
                count(row["n"]),
                count(row["k"]),
                pct(row["rate"]),
                ci_pct(row["ci_low"], row["ci_high"]),
            ],
            small=_small(row),
        )
    return table


def mean_view(frame: pl.DataFrame, key: str) -> Table:
    table = Table(
        [label(key), label("n"), label("mean"), label("ci"), label("sd")], numeric={1, 2, 3, 4}
    )
    for row in frame.iter_rows(named=True):
        table.add(
            [
                str(row[key]),
                count(row["n"]),
                signed(row["mean"]),
                ci_signed(row["ci_low"], row["ci_high"])
                if estimable(row["ci_low"], row["ci_high"], row["mean"])
                else "not estimable",
                f"{row['sd']:.2f}" if finite(row["sd"]) else "–",  # one value: SD NaN, not "nan"
            ],
            small=_small(row),
        )
    return table


def pivot_view(
    frame: pl.DataFrame,
    key: str,
    columns: Sequence[str],
    *,
    n_label: str | None = None,
    column_labels: dict[str, str] | None = None,
) -> Table:
    """Long ``outcome × key`` rates as one row per ``key`` and one ``share (CI)`` cell per outcome."""
    labels = column_labels or {}
    present = [c for c in columns if c in set(frame.get_column("outcome").to_list())]
    table = Table(
        [label(key), n_label or label("n"), *[labels.get(c, c.replace("_", " ")) for c in present]],
        numeric=set(range(1, len(present) + 2)),
    )
    for (group,), part in frame.group_by(key, maintain_order=True):
        rows = {r["outcome"]: r for r in part.iter_rows(named=True)}
        first = next(iter(rows.values()))
        table.add(
            [
                str(group),
                count(first["n"]),
                # an outcome over fewer units than the row's n (jailbreak after the refusal where
                # transcripts are cut at it) says its own n, or the share reads as of all of them
                *[
                    "–" if c not in rows
                    else rate_cell(rows[c]) if rows[c]["n"] == first["n"]
                    else f"{rate_cell(rows[c])}, n={count(rows[c]['n'])}"
                    for c in present
                ],
            ],
            small=_small(first),
        )
    return table


def vs_rest_view(frame: pl.DataFrame) -> Table:
    """Model vs the rest: rates, difference, ratios with intervals, adjusted p."""
    table = Table(
        [
            "model",
            "conversations",
            "refusal share",
            "rest of corpus",
            "difference (95% CI)",
            "risk ratio (95% CI)",
            "odds ratio (95% CI)",
            "adjusted p",
        ],
        numeric=set(range(1, 8)),
    )
    for row in frame.sort("risk_difference", descending=True).iter_rows(named=True):

        def ratio_cell(v: str, lo: str, hi: str, row: dict = row) -> str:
            # a zero cell gives a sample odds ratio of 0 (or inf) beside the 0.5-adjusted
            # interval: "0.00 (0.12–84.0)" put the estimate outside its own interval
            if not estimable(row[lo], row[hi], row[v]) or not row[lo] <= row[v] <= row[hi]:
                return "not estimable"
            return f"{ratio(row[v])} ({ci_ratio(row[lo], row[hi])})"

        diff = (
            f"{points(row['risk_difference'])} ({ci_points(row['rd_ci_low'], row['rd_ci_high'])})"
            if estimable(row["rd_ci_low"], row["rd_ci_high"], row["risk_difference"])
            else "not estimable"
        )
        table.add(
            [
                str(row["model"]),
                count(row["n"]),
                pct(row["rate"]),
                pct(row["ref_rate"]),
                diff,
                ratio_cell("risk_ratio", "rr_ci_low", "rr_ci_high"),
                ratio_cell("odds_ratio", "or_ci_low", "or_ci_high"),
                pvalue(row["p_adjusted"]),
            ],
            small=_small(row),
        )
    return table


def pooled_turn() -> int:
    """The ending hazard's last stratum, which pools every later turn (``max_turn`` of
    :func:`chatlens.stats.ending_hazard`, as the run computes it)."""
    import inspect

    from chatlens.stats.hazard import ending_hazard

    return int(inspect.signature(ending_hazard).parameters["max_turn"].default)


def hazard_view(frame: pl.DataFrame) -> Table:
    """The ending hazard as one row per turn: after an answer vs after a refusal."""
    table = Table(
        ["turn", "assistant answers", "ended after an answer", "refusals", "ended after a refusal"],
        numeric={1, 2, 3, 4},
        keep_order=True,
    )
    for (turn,), part in frame.sort("turn").group_by("turn", maintain_order=True):
        rows = {bool(r["exposed"]): r for r in part.iter_rows(named=True)}
        cells = [f"{turn}+" if turn == pooled_turn() else str(turn)]
        small = False
        for exposed in (False, True):
            row = rows.get(exposed)
            cells += [count(row["n"]), rate_cell(row)] if row else ["0", "–"]
            small = small or (row is not None and _small(row))
        table.add(cells, small=small)
    return table


def truth_view(frame: pl.DataFrame) -> Table:
    metrics = ("precision", "recall", "f1", "accuracy")
    table = Table(["signal", "messages", *[label(m) for m in metrics]], numeric={1, 2, 3, 4, 5})
    for row in frame.iter_rows(named=True):
        table.add(
            [
                str(row["signal"]).replace("_", " "),
                count(row["n"]),
                *[pct(row.get(m)) for m in metrics],
            ]
        )
    return table


def generic_view(frame: pl.DataFrame) -> Table:
    """Any other table: labelled headers, numbers formatted, helper columns dropped."""
    keep = [c for c in frame.columns if c not in ("method", "small_sample", "n_missing")]
    dtypes = frame.schema
    table = Table(
        [label(c) for c in keep], numeric={i for i, c in enumerate(keep) if dtypes[c].is_numeric()}
    )
    for row in frame.iter_rows(named=True):
        table.add(
            [
                number(row[c])
                if dtypes[c].is_numeric()
                else str(row[c] if row[c] is not None else "")
                for c in keep
            ],
            small=_small(row),
        )
    return table


def sheet_view(frame: pl.DataFrame) -> Table:
    """A Metric/Value sheet (the original study's summary): spacer rows dropped."""
    return generic_view(frame.filter(pl.col(frame.columns[0]).str.strip_chars() != ""))


REACTION_LABELS = {"new_topic": "new topic"}
VIEWS: dict[str, Callable[[pl.DataFrame], Table]] = {
    "refusal_by_model": lambda f: rate_view(f, "model", k_label="with a refusal"),
    "refusal_by_language": lambda f: rate_view(f, "language", k_label="with a refusal"),
    "jailbreak_after_refusal_by_model": lambda f: rate_view(
        f, "model", n_label="refused conversations", k_label="with a later jailbreak attempt"
    ),
    "refusal_model_vs_rest": vs_rest_view,
    "refusal_type_by_model": lambda f: pivot_view(
        f, "model", REFUSAL_TYPES, n_label="refused conversations"
    ),
    "reaction_by_refusal_type": lambda f: pivot_view(
        f,
        "first_refusal_type",
        f.get_column("outcome").unique(maintain_order=True).to_list(),
        n_label="refused conversations",
        column_labels=REACTION_LABELS,
    ),
    "jailbreak_around_refusal_by_model": lambda f: pivot_view(
        f,
        "model",
        ("before", "after"),
        n_label="refused conversations",
        column_labels={
            "before": "attempt before the refusal",
            "after": "attempt after the refusal",
        },
    ),
    "followup_sentiment_by_type": lambda f: mean_view(f, "first_refusal_type"),
    "sentiment_after_refusal_vs_answer": lambda f: mean_view(f, "follows"),
    "ending_hazard_by_turn": hazard_view,
    "demo_truth_agreement": truth_view,
    "study1_summary_table": sheet_view,
}


def view(name: str, frame: pl.DataFrame) -> Table:
    """The reader's view of the machine table ``name``."""
    return VIEWS.get(name, generic_view)(frame)


__all__ = ["VIEWS", "pivot_view", "rate_cell", "rate_view", "view"]
