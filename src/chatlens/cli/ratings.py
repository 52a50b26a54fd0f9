"""``chatlens ratings``: win rate, Elo and Bradley–Terry with intervals from pairwise ratings.

Example (HAL's human evaluation)::

    chatlens ratings hal_prolific_final.csv --model-a-column left_model \\
        --model-b-column right_model --winner-column hl_score --keep-if is_completed \\
        --method all --bootstrap 1000 --seed 42 --out hal_ratings.csv
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import escape, handle_errors, out_console
from chatlens.errors import InvalidParameterError


def _parse_style(pairs: list[str]) -> list[tuple[str, str]]:
    out = []
    for text in pairs:
        a, sep, b = text.partition(":")
        if not sep or not a.strip() or not b.strip():
            msg = f"--style expects A_COLUMN:B_COLUMN such as 'len_a:len_b'. Got {text!r}."
            raise InvalidParameterError(msg)
        out.append((a.strip(), b.strip()))
    return out


def _fmt(value: object, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def ratings(
    input: Path = typer.Argument(
        ..., metavar="INPUT", help="CSV / JSONL / JSON / Parquet file, one comparison per row."
    ),
    *,
    model_a_column: str = typer.Option("model_a", "--model-a-column", help="Column naming model A."),
    model_b_column: str = typer.Option("model_b", "--model-b-column", help="Column naming model B."),
    winner_column: str = typer.Option(
        None, "--winner-column",
        help="Outcome labels: model_a|model_b|tie|tie (bothbad) or Certainly A … Certainly B.",
    ),
    score_column: str = typer.Option(None, "--score-column", help="Numeric score of A in [0, 1]."),
    out: Path = typer.Option(..., "--out", help="OUT.csv; companions are written beside it."),
    method: str = typer.Option("all", "--method", help="winrate | elo | bt | all."),
    bootstrap: int = typer.Option(100, "--bootstrap", help="Bootstrap rounds for intervals (0 = none)."),
    seed: int = typer.Option(42, "--seed", help="Seed for orders and bootstrap."),
    orders: int = typer.Option(500, "--orders", help="Random orders for Elo (0 = given order)."),
    confidence: float = typer.Option(0.95, "--confidence", help="Interval level."),
    keep_if: str = typer.Option(None, "--keep-if", help="Use only rows where this boolean column is true."),
    scale: Path = typer.Option(None, "--scale", help="YAML outcome scale (label -> score of A)."),
    rater_column: str = typer.Option(None, "--rater-column", help="Rater id column."),
    prompt_column: str = typer.Option(None, "--prompt-column", help="Prompt id column."),
    cluster: str = typer.Option(None, "--cluster", help="Cluster bootstrap by 'rater' or 'prompt'."),
    position_column: str = typer.Option(
        None, "--position-column", help="Where A was shown (left/right): a BT covariate."
    ),
    a_side: bool = typer.Option(
        False, "--a-side", help="Add an 'A side' covariate (position bias when A is always left)."
    ),
    style: list[str] = typer.Option(
        [], "--style", help="A_COL:B_COL style feature pair (text = length); repeatable."
    ),
    style_transform: str = typer.Option("ratio", "--style-transform", help="ratio | diff."),
    style_markdown: bool = typer.Option(
        False, "--style-markdown", help="Also control for header / list / bold counts of text pairs."
    ),
    covariate: list[str] = typer.Option(
        [], "--covariate", help="Numeric A-minus-B covariate column; repeatable."
    ),
    k: float = typer.Option(32.0, "--k", help="Elo K factor."),
    elo_init: float = typer.Option(1500.0, "--elo-init", help="Elo starting rating."),
    elo_scale: float = typer.Option(400.0, "--elo-scale", help="Elo scale (400)."),
    elo_base: float = typer.Option(10.0, "--elo-base", help="Elo base (10)."),
    bt_init: float = typer.Option(1500.0, "--bt-init", help="BT centre rating."),
    anchor: str = typer.Option(None, "--anchor", help="BT anchor model (pinned at --anchor-rating)."),
    anchor_rating: float = typer.Option(None, "--anchor-rating", help="Rating of the anchor model."),
    reg: float = typer.Option(0.0, "--reg", help="L2 penalty on BT strengths (0 = plain MLE)."),
    pair_bootstrap: int = typer.Option(2000, "--pair-bootstrap", help="Rounds for head-to-head CIs."),
    figures: bool = typer.Option(True, "--figures/--no-figures", help="Write OUT.png and OUT.winrate.png."),
) -> None:
    """Rate models from pairwise comparisons: win rate, Elo, Bradley–Terry with CIs.

    Writes OUT.csv (one row per model and method: model, rating, ci_low, ci_high, rank, games,
    wins, ties, win_rate, method …), OUT.winrate.csv, OUT.counts.csv, OUT.pairs.csv,
    OUT.quarantine.csv (bad rows with row number and reason), OUT.png and OUT.winrate.png.

    Example: chatlens ratings battles.json --winner-column winner --method bt --out bt.csv
    """
    from chatlens.ratings.api import BTConfig, rate
    from chatlens.ratings.elo import EloConfig

    if winner_column is not None and score_column is not None:
        msg = "Give either --winner-column or --score-column, not both."
        raise InvalidParameterError(msg)
    if style_transform not in ("ratio", "diff"):
        msg = f"--style-transform must be 'ratio' or 'diff'. Got {style_transform!r}."
        raise InvalidParameterError(msg)
    if cluster is not None and cluster not in ("rater", "prompt"):
        msg = f"--cluster must be 'rater' or 'prompt'. Got {cluster!r}."
        raise InvalidParameterError(msg)
    result = rate(
        input,
        model_a=model_a_column,
        model_b=model_b_column,
        winner=winner_column,
        score=score_column,
        scale=scale,
        keep_if=keep_if,
        rater=rater_column,
        prompt=prompt_column,
        position=position_column,
        a_side=a_side,
        style=_parse_style(style),
        style_transform=style_transform,  # type: ignore[arg-type]
        style_markdown=style_markdown,
        covariates=covariate,
        method=method,  # type: ignore[arg-type]
        bootstrap=bootstrap,
        seed=seed,
        orders=orders,
        confidence=confidence,
        cluster=cluster,  # type: ignore[arg-type]
        elo=EloConfig(k=k, init=elo_init, scale=elo_scale, base=elo_base),
        bt=BTConfig(init=bt_init, anchor=anchor, anchor_rating=anchor_rating, reg=reg),
        pair_bootstrap=pair_bootstrap,
    )
    written = result.write(out, figures=figures)

    out_console.print(
        f"[bold]rows in[/] {result.rows_in:,}  [bold]filtered[/] {result.rows_filtered:,}  "
        f"[bold]used[/] {result.rows_used:,}  [bold]quarantined[/] {result.rows_quarantined:,}"
    )
    table = Table(title="ratings", title_justify="left")
    for col, justify in (
        ("method", "left"), ("rank", "right"), ("model", "left"), ("rating", "right"),
        ("interval", "right"), ("games", "right"), ("W/L/T", "right"), ("win rate", "right"),
    ):
        table.add_column(col, justify=justify, overflow="fold" if col == "model" else "ellipsis")  # type: ignore[arg-type]
    for row in result.table.iter_rows(named=True):
        digits = 3 if row["method"] == "winrate" else 1
        interval = (
            f"{_fmt(row['ci_low'], digits)} – {_fmt(row['ci_high'], digits)}"
            if row["ci_low"] is not None else "-"
        )
        table.add_row(
            row["method"], "-" if row["rank"] is None else str(row["rank"]), escape(row["model"]), _fmt(row["rating"], digits),
            interval, f"{row['games']:,}", f"{row['wins']}/{row['losses']}/{row['ties']}",
            _fmt(row["win_rate"], 3),
        )
    out_console.print(table)
    if result.coefficients.height:
        coef = Table(title="covariates (bt-controlled, logit units)", title_justify="left")
        for col in ("covariate", "coef", "interval"):
            coef.add_column(col)
        for row in result.coefficients.iter_rows(named=True):
            coef.add_row(
                escape(row["covariate"]), _fmt(row["coef"], 3),
                f"{_fmt(row['ci_low'], 3)} – {_fmt(row['ci_high'], 3)}",
            )
        out_console.print(coef)
    for note in result.notes:
        out_console.print(f"[yellow]note:[/] {escape(note)}")
    out_console.print("[bold]wrote[/] " + ", ".join(escape(str(p)) for p in written.values()))


def register(app: typer.Typer) -> None:
    """Add ``chatlens ratings`` to the app."""
    app.command(name="ratings")(handle_errors(ratings))
