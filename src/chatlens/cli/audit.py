"""``chatlens audit sample`` / ``chatlens audit estimate``: a reader's sample of a run, and the
run's rates corrected by it (:mod:`chatlens.audit`)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.audit.paths import (
    DEFAULT_MAX_CHARS,
    DEFAULT_N,
    refuse_existing,
    refuse_sample_as_out,
    sheet_path_for,
)
from chatlens.cli._common import escape, handle_errors, name_column, out_console, warn
from chatlens.errors import InvalidParameterError

audit_app = typer.Typer(help="Correct a run's rates with a reader's labels on a random sample of it.",
                        no_args_is_help=True)


@handle_errors
def sample_cmd(
    run_dir: Path = typer.Argument(..., help="A run directory written by 'chatlens analyze'."),
    out: Path = typer.Option(..., "--out", "-o", help="The sample to label (.csv, .jsonl or .parquet); its design goes beside it as <out>.design.json."),
    signal: str = typer.Option("refusal", "--signal", help="refusal or jailbreak (a rate), refusal_type or reaction (the share of every label)."),
    by: str = typer.Option("model", "--by", help="Column whose groups each get a corrected rate (model, language, …); 'none' for one rate over the run."),
    n: int = typer.Option(DEFAULT_N, "--n", help="Messages to draw, shared by every group × detector verdict cell (at least one each)."),
    allocation: str = typer.Option("sqrt", "--allocation", help="How --n is shared by the cells: sqrt (in proportion to the square root of their sizes: the tighter rate) or equal (more labels in the flagged cells: the tighter precision)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same seed draws the same sample)."),
    source: str | None = typer.Option(None, "--source", help="Where to read the text when the run did not keep it (default: the source its manifest records)."),
    max_chars: int = typer.Option(DEFAULT_MAX_CHARS, "--max-chars", help="Characters kept of each text (longer ones are cut, saying so)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing sample (and its labels) at --out."),
    sheet: bool = typer.Option(True, "--sheet/--no-sheet", help="Also write <out>.html, the rows as an escaped page to read them by."),
) -> None:
    """Draw a random sample of a run's messages for a reader to label, blind to the detector.

    Messages are drawn at random from every group × detector verdict cell and shuffled; each row has
    the message, the messages before and after it, and empty label and note columns. Label in the
    file's order against docs/labels.md, then run 'chatlens audit estimate'.

    Example: chatlens audit sample runs/lmsys --by model --n 600 --out audit.csv
    """
    from chatlens.audit import SIGNALS, draw_audit_sample
    from chatlens.audit.sample import ALLOCATIONS
    from chatlens.audit.signals import left_out_labels, signal_spec

    # Options first, then --out, then the draw (which may read a large source again).
    signal_spec(signal)
    if allocation not in ALLOCATIONS:
        msg = f"--allocation must be one of {list(ALLOCATIONS)}. Got {allocation!r}."
        raise InvalidParameterError(msg)
    refuse_existing(out, overwrite=overwrite, sheet=sheet)
    sample = draw_audit_sample(run_dir, signal=signal, by=None if by.lower() == "none" else by,
                               n=n, seed=seed, source=source, max_chars=max_chars, allocation=allocation)
    path, design = sample.write(out, overwrite=overwrite, sheet=sheet)
    cells = sample.design["cells"]
    skips = " or ".join(f"'{label}'" for label in left_out_labels(signal).split(" / "))
    out_console.print(
        f"wrote {sample.rows.height:,} rows to {escape(path)} (design: {escape(design)}"
        + (f"; read them in {escape(sheet_path_for(path))}" if sheet else "") + "), drawn from "
        f"{len(cells)} cells of {sum(c['messages'] for c in cells):,} {sample.design['role']} messages.\n"
        f"Fill the 'label' column in the file's order with one of {', '.join(SIGNALS[signal].labels)} "
        f"(docs/labels.md; {skips} leaves a row out), then: chatlens audit estimate {escape(run_dir)} "
        f"{escape(path)}",
        soft_wrap=True)


@handle_errors
def estimate_cmd(
    run_dir: Path = typer.Argument(..., help="The run the sample was drawn from."),
    labelled: Path = typer.Argument(..., help="The sample with its 'label' column filled."),
    design: Path | None = typer.Option(None, "--design", help="The sample's design file (default: <labelled>.design.json)."),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of the intervals."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the estimates (.csv, .jsonl or .parquet)."),
) -> None:
    """Corrected rates (or label shares) per group from a reader's labels on an audit sample, with
    intervals, and the detector's precision, recall and flagged ÷ true on this log.

    Example: chatlens audit estimate runs/lmsys audit.csv --out corrected.csv
    """
    from chatlens.audit import estimate_audit
    from chatlens.audit.signals import left_out_labels
    from chatlens.corpus.tablefile import write_table

    if out is not None:
        refuse_sample_as_out(out, labelled, design)
    est = estimate_audit(run_dir, labelled, design=design, confidence=confidence)
    if out is not None:
        write_table(est.table, out)
    several = est.table["label"].n_unique() > 1
    grouped = est.table["vs_rest"].drop_nulls().len() > 0
    what = "label shares" if several else f"{est.signal} rate"
    table = Table(title=f"{what} corrected by the reader's labels ({confidence:.0%} intervals)")
    name_column(table, escape(est.by or "group"))
    if several:
        name_column(table, "label")
    headers = ["messages", "detector", "labelled", "corrected", *(["vs rest, points"] if grouped else []),
               "precision", "recall", "flagged ÷ true"]
    for header in headers:
        table.add_column(header, justify="right")
    for r in est.table.iter_rows(named=True):
        table.add_row(escape(r["group"]), *([escape(r["label"])] if several else []), f"{r['messages']:,}",
                      _pct(r["flagged_rate"]), f"{r['labelled']:,}", _with_ci(r, "rate", pct=True),
                      *([_with_ci(r, "vs_rest", pct=True, signed=True)] if grouped else []),
                      _with_ci(r, "precision", pct=True), _with_ci(r, "recall", pct=True),
                      _with_ci(r, "flagged_per_true", pct=False))
    out_console.print(table)
    out_console.print(f"{est.labelled:,} of {est.drawn:,} drawn rows labelled; {est.left_out:,} left out "
                      f"({left_out_labels(est.signal)}); {est.unread:,} not read yet.")
    for warning in est.warnings:
        warn(warning)


def _pct(v: float | None, *, signed: bool = False) -> str:
    return "-" if v is None else f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}%"


def _with_ci(row: dict, key: str, *, pct: bool, signed: bool = False) -> str:
    """``value (low–high)``; ``-`` for an estimate a cell without labels leaves open (``signed``:
    a difference in percentage points, with its sign)."""
    fmt = (lambda v: _pct(v, signed=signed)) if pct else (lambda v: "-" if v is None else f"{v:.2f}")
    low, high = row[f"{key}_low"], row[f"{key}_high"]
    interval = "" if low is None or high is None else f" ({fmt(low)}–{fmt(high)})"
    return fmt(row[key]) + interval


def register(app: typer.Typer) -> None:
    audit_app.command("sample")(sample_cmd)
    audit_app.command("estimate")(estimate_cmd)
    app.add_typer(audit_app, name="audit")
