"""``chatlens humanlike score|fit|lite|instruments|validate`` and ``chatlens turing eval``.

Thin shell: every command parses options, calls the same-named function of
:mod:`chatlens.humanlike` and prints a short summary. ``humanlike_app`` is exported so that other
command modules (``cli/judge.py``) can attach commands to the same group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from chatlens._json import strict_json
from chatlens.cli._common import escape, handle_errors, no_result, out_console, printable, warn

if TYPE_CHECKING:
    from chatlens.humanlike.turing import TuringEval

humanlike_app = typer.Typer(
    name="humanlike",
    help="Human-likeness: questionnaire instruments (HAL16Q/HAL32Q), scoring, fitting, HL-lite.",
    no_args_is_help=True,
)
turing_app = typer.Typer(
    name="turing", help="Two-witness Turing-test evaluation.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Attach the ``humanlike`` and ``turing`` groups to the root app."""
    app.add_typer(humanlike_app, name="humanlike")
    app.add_typer(turing_app, name="turing")


def _fmt(v: float | None, digits: int = 3) -> str:
    return "n/a" if v is None or v != v else f"{v:.{digits}f}"


@humanlike_app.command("instruments")
@handle_errors
def instruments_cmd() -> None:
    """List the bundled instruments.

    Example: chatlens humanlike instruments
    """
    from chatlens.humanlike.instruments import list_instruments, load_instrument

    table = Table("name", "version", "items", "bias", "description")
    for name in list_instruments():
        inst = load_instrument(name)
        table.add_row(escape(name), escape(inst.version), str(len(inst.items)),
                      _fmt(inst.bias, 4), escape(inst.description[:90]))
    out_console.print(table)


@humanlike_app.command("validate")
@handle_errors
def validate_cmd(path: Path = typer.Argument(..., help="Instrument YAML file or bundled name.")) -> None:
    """Validate an instrument file (exit 1 with the file/key/item on any problem).

    Example: chatlens humanlike validate my_rubric.yaml
    """
    from chatlens.humanlike.instruments import validate_instrument

    inst = validate_instrument(path if path.exists() else str(path))
    out_console.print(f"ok: {escape(inst.name)} {escape(inst.version)} ({len(inst.items)} items)")


@humanlike_app.command("score")
@handle_errors
def score_cmd(
    input: Path = typer.Argument(..., help="CSV/Parquet/JSONL with a ratings column."),
    *,
    instrument: str = typer.Option("hal16q", help="Bundled instrument name or YAML path."),
    ratings_column: str = typer.Option("likert_evaluation", help="Ratings: JSON lists or objects."),
    list_keys: str | None = typer.Option(
        None, help="Item keys of list positions: an instrument name (e.g. hal32q) or 'k1,k2,..'. "
        "Default: the instrument's own items in order."),
    out: Path = typer.Option(..., help="Output file (.csv, .parquet or .jsonl)."),
) -> None:
    """Score existing ratings: adds hl_logit, hl_prob and hl_problem.

    Example: chatlens humanlike score scored.csv --instrument hal16q-published
    --ratings-column likert_evaluation --out rescored.csv
    """
    from chatlens.corpus.tablefile import read_table, write_table
    from chatlens.humanlike.scoring import score

    frame = score(read_table(input), instrument=instrument, ratings_column=ratings_column,
                  list_keys=list_keys)
    write_table(frame, out)
    logit = frame.get_column("hl_logit")
    problems = frame.get_column("hl_problem").drop_nulls()
    out_console.print(
        f"scored {logit.is_not_null().sum()}/{frame.height} rows with {escape(instrument)}; "
        f"mean hl_logit {_fmt(logit.mean())}; {len(problems)} rows with problems -> "
        f"{escape(str(out))}"
    )
    if len(problems):
        out_console.print(f"first problem: {printable(problems[0])}", markup=False)
    if not logit.is_not_null().any():
        first = f" First problem: {problems[0]}" if len(problems) else ""
        no_result(f"No row of {input} was scored (of {frame.height:,}).{first}")


@humanlike_app.command("fit")
@handle_errors
def fit_cmd(
    input: Path = typer.Argument(..., help="Per-speaker rows, or the two-witness Turing layout."),
    *,
    ratings_column: str = typer.Option("likert_evaluation", help="Ratings column (or its _A/_B pair)."),
    label_column: str = typer.Option("is_human", help="True/1/human for human speakers."),
    group_column: str = typer.Option("game_id", help="Folds never split a group."),
    instrument: str = typer.Option("hal32q", help="Instrument whose items are fitted."),
    list_keys: str | None = typer.Option(None, help="Item keys of list positions (see score)."),
    c: float = typer.Option(1.0, "--C", help="Inverse L1 strength (HAL: 1.0)."),
    threshold: float = typer.Option(0.2, help="Keep items with |w| > threshold (in each fold)."),
    select: bool = typer.Option(True, help="Do the |w| selection (--no-select keeps all items)."),
    folds: int = typer.Option(10, help="GroupKFold splits."),
    seed: int = typer.Option(0, help="Shuffling seed for the folds and bootstrap."),
    name: str | None = typer.Option(None, help="Name of the written instrument."),
    out: Path = typer.Option(..., help="Weights YAML (an instrument file extending the base)."),
) -> None:
    """Fit L1 logistic weights with game-grouped CV; writes an instrument-compatible YAML.

    Example: chatlens humanlike fit run_1_Turing_data_gpt-5.csv --ratings-column
    likert_evaluation --group-column game_id --out hal32q-fit.yaml
    """
    from chatlens.corpus.tablefile import read_table
    from chatlens.humanlike.fit import fit, write_weights_yaml

    res = fit(read_table(input), ratings_column=ratings_column, label_column=label_column,
              group_column=group_column, instrument=instrument, list_keys=list_keys, c=c,
              threshold=threshold if select else None, n_splits=folds, seed=seed)
    write_weights_yaml(res, out, name=name)
    if res.settings["dropped_rows"]:
        warn(printable(f"{res.settings['dropped_rows']:,} rows left out (ratings not readable), "
                       f"first reason: {res.settings['first_dropped_reason']}"))
    table = Table("metric (out-of-fold)", "value [95% CI]", "n", "CI method")
    for label, est in (("accuracy", res.accuracy), ("AUC", res.auc),
                       ("paired accuracy", res.paired_accuracy)):
        table.add_row(label, escape(est.fmt()), str(est.n), escape(est.method))
    out_console.print(table)
    out_console.print(f"{len(res.selected)} items kept: {escape(', '.join(res.selected))}; "
                      f"bias {res.bias:.4f} -> {escape(str(out))}")


@humanlike_app.command("lite")
@handle_errors
def lite_cmd(
    input: Path = typer.Argument(..., help="Table with transcripts (text or role lists)."),
    *,
    text_column: str = typer.Option(..., help="Transcript column (I:/W:, P:/D: lines or role list)."),
    speaker: str = typer.Option("W", help="Label or role of the rated speaker (W, P, assistant...)."),
    model: Path | None = typer.Option(None, help="HL-lite weights YAML (default: bundled)."),
    keep_features: bool = typer.Option(False, help="Also write the feature columns."),
    out: Path = typer.Option(..., help="Output file (.csv, .parquet or .jsonl)."),
) -> None:
    """HL-lite, a judge without an LLM: adds hl_lite_logit, hl_lite_prob, hl_lite_n_turns.

    Example: chatlens humanlike lite turing_test_data_full.csv --text-column conversation
    --speaker W --out lite.csv
    """
    from chatlens.corpus.tablefile import read_table, write_table
    from chatlens.humanlike.lite import lite

    frame = lite(read_table(input), text_column=text_column, speaker=speaker, model=model,
                 keep_features=keep_features)
    write_table(frame, out)
    logit = frame.get_column("hl_lite_logit")
    out_console.print(
        f"scored {logit.is_not_null().sum()}/{frame.height} rows "
        f"({(frame.get_column('hl_lite_n_turns') == 0).sum()} without a '{escape(speaker)}' turn); "
        f"mean hl_lite_prob {_fmt(frame.get_column('hl_lite_prob').mean())} -> {escape(str(out))}"
    )
    if not logit.is_not_null().any():
        no_result(
            f"No row of {input} was scored: none of its {frame.height:,} transcripts has a turn by "
            f"speaker {speaker!r}. Check --speaker (the label before ':' in the transcript, "
            "e.g. W or P, or a role such as assistant)."
        )


def _no_turing_result(res: TuringEval) -> str | None:
    """Why an evaluation has nothing to report, or None.

    Why: without both a human and an AI witness, or without one game scored on both witnesses,
    every figure is n/a or describes a single class; printing them with exit 0 reads as a result.
    """
    labels = res.scores.get_column("is_human")
    if not labels.any():
        return f"none of its {labels.len():,} witnesses is human (check who_is_human / is_human)"
    if labels.all():
        return f"all of its {labels.len():,} witnesses are human (check who_is_human / is_human)"
    if not (res.results.get_column("n_games") > 0).any():
        return ("no game has both witnesses scored by any scorer "
                "(no game with one human and one AI witness, or no readable scores)")
    return None


def _warn_unscored(res: TuringEval) -> None:
    """One warning per scorer that left witnesses unscored: how many, and the first reason."""
    total = res.scores.height
    for r in res.results.iter_rows(named=True):
        if r["n_unscored"]:
            warn(printable(f"{r['scorer']}: {r['n_unscored']:,} of {total:,} witnesses unscored "
                           f"(left out of its figures), first reason: {r['first_unscored']}"))


@turing_app.command("eval")
@handle_errors
def turing_eval_cmd(
    input: Path = typer.Argument(..., help="Turing games: per-game (A/B) or per-witness layout."),
    *,
    scorer: list[str] = typer.Option(
        [], "--scorer", "-s",
        help="Scorer spec, repeatable: instrument name (fixed weights), fit:<inst>, "
        "fit-select:<inst>, lite, fit:lite, column:<name>[@threshold]. Default: all that apply."),
    ratings_column: str = typer.Option("likert_evaluation", help="Ratings column (or _A/_B pair)."),
    ratings_instrument: str = typer.Option("hal32q", help="Instrument the rating lists follow."),
    speaker: str = typer.Option("W", help="Witness label in transcripts (for HL-lite)."),
    folds: int = typer.Option(10, help="Grouped CV splits for fit:* scorers."),
    seed: int = typer.Option(0, help="Seed for folds and bootstrap."),
    out: Path | None = typer.Option(None, help="Write results as JSON to this file."),
    scores_out: Path | None = typer.Option(None, help="Write per-witness scores to this file."),
) -> None:
    """Per-witness accuracy/AUC, paired accuracy and per-opponent results vs interrogators.

    Example: chatlens turing eval run_1_Turing_data_gpt-5.csv -s hal16q -s fit-select:hal32q
    """
    from chatlens.corpus.tablefile import read_table, write_table
    from chatlens.humanlike.turing import turing_eval

    res = turing_eval(read_table(input), scorers=scorer or None, ratings_column=ratings_column,
                      ratings_instrument=ratings_instrument, speaker=speaker, n_splits=folds,
                      seed=seed)
    empty = _no_turing_result(res)
    if empty:
        no_result(f"No result for {input}: {empty}")
    table = Table("scorer", "accuracy", "AUC", "paired acc.", "witnesses", "games",
                  "interrogators (same games)", "note",
                  title="Human-vs-AI witness (95% CI: Wilson; AUC: cluster bootstrap by game)")
    for r in res.results.iter_rows(named=True):
        table.add_row(
            escape(r["scorer"]),
            # "[n/a, n/a]" (no interval) would be read as a markup tag and vanish
            escape(f"{_fmt(r['accuracy'])} [{_fmt(r['accuracy_ci_low'], 2)}, {_fmt(r['accuracy_ci_high'], 2)}]"),
            escape(f"{_fmt(r['auc'])} [{_fmt(r['auc_ci_low'], 2)}, {_fmt(r['auc_ci_high'], 2)}]"),
            escape(f"{_fmt(r['paired_accuracy'])} [{_fmt(r['paired_ci_low'], 2)}, "
                   f"{_fmt(r['paired_ci_high'], 2)}]"),
            str(r["n_witnesses"]), str(r["n_games"]), _fmt(r["interrogators"]), escape(r["note"]),
        )
    out_console.print(table)
    _warn_unscored(res)
    out_console.print(f"human interrogators: {escape(res.interrogators.fmt())} correct "
                      f"(on the games every scorer scored); {escape(res.interrogators_note)}")
    opp = Table(*[escape(c) for c in res.by_opponent.columns], title="Paired accuracy by AI opponent")
    for row in res.by_opponent.iter_rows():
        opp.add_row(*[escape(v) if not isinstance(v, float) else _fmt(v) for v in row])
    out_console.print(opp)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(strict_json({  # undefined figures (NaN) as null: strict JSON
            "results": res.results.to_dicts(), "by_opponent": res.by_opponent.to_dicts(),
            "interrogators": {**{k: v for k, v in res.interrogators.to_dict().items()
                                 if k != "confidence"},  # the level is in the method text
                              "note": res.interrogators_note},
        }), indent=2, default=str, allow_nan=False), encoding="utf-8")
    if scores_out is not None:
        write_table(res.scores, scores_out)
