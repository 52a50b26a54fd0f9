"""``chatlens validate``: measure every detector on every labelled set present, or check data files.

Example::

    chatlens validate --data ../shared/data --json validation.json
    chatlens validate --data-file my_refusal_cues.yaml --kind cue-lexicon
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import (
    ExitCode,
    err_console,
    escape,
    handle_errors,
    out_console,
    printable,
)


def _fmt(value: object) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ci(r: dict, name: str) -> str:
    lo, hi = r.get(f"{name}_low"), r.get(f"{name}_high")
    return "" if lo is None else f" ({lo:.2f}-{hi:.2f})"


#: Groups smaller than this are left out of the console tables (they stay in --json).
MIN_GROUP_SHOWN = 10


def _shown() -> object:
    import polars as pl

    return (pl.col("group") == "all") | (pl.col("n") >= MIN_GROUP_SHOWN)


def _print_real(report: object) -> None:
    """The real labelled development set: agreement, refusal, type, reaction, errors."""
    real, kappa = report.real, report.agreement
    out_console.print("[bold]Real logs: labelled development set (LMSYS, ShareGPT, HH-RLHF, DICES, OASST)"
                      " — rule tiers never trained on it; 95% CIs by conversation bootstrap[/]")
    if kappa is not None:
        t = Table(title="labelling agreement (independent second pass, 20%)", title_justify="left")
        for col in ("task", "n", "agreement", "Cohen's kappa"):
            t.add_column(col, justify="left" if col == "task" else "right")
        for r in kappa.iter_rows(named=True):
            t.add_row(escape(r["task"]), str(r["n"]), _fmt(r["agreement"]), _fmt(r["kappa"]))
        out_console.print(t)
    t = Table(title="refusal (binary) on real logs; flagged ÷ true: the detector's count over the "
              "readers' (1 = an unbiased rate)", title_justify="left")
    for col in ("detector", "group", "n", "refusals", "precision", "recall", "F1 (95% CI)",
                "flagged ÷ true"):
        t.add_column(col, justify="left" if col in ("detector", "group") else "right")
    for r in real.refusal.filter(_shown()).iter_rows(named=True):
        t.add_row(escape(r["detector"]), escape(r["group"]), f"{r['n']:,}", str(r["positives"]),
                  _fmt(r["precision"]) + _ci(r, "precision"), _fmt(r["recall"]) + _ci(r, "recall"),
                  _fmt(r["f1"]) + _ci(r, "f1"),
                  _fmt(r.get("flagged_ratio")) + _ci(r, "flagged_ratio"))
    out_console.print(t)
    t = Table(title="refusal type (capability vs policy) on detected real refusals", title_justify="left")
    for col in ("detector", "group", "n", "accuracy (95% CI)", "always the commonest",
                "recall capability / policy"):
        t.add_column(col, justify="left" if col in ("detector", "group") else "right")
    for r in real.refusal_type.filter(_shown()).iter_rows(named=True):
        t.add_row(escape(r["detector"]), escape(r["group"]), str(r["n"]),
                  _fmt(r["accuracy"]) + _ci(r, "accuracy"), _fmt(r.get("majority")),
                  f"{_fmt(r.get('recall_capability'))} / {_fmt(r.get('recall_policy'))}")
    out_console.print(t)
    if real.reaction.height:
        t = Table(title="reaction after a (gold) refusal on real logs (learned: out of fold, 5-fold "
                  "CV grouped by conversation, and out of source)", title_justify="left")
        for col in ("detector", "group", "n", "macro-F1 (95% CI)", "per-class F1"):
            t.add_column(col, justify="left" if col in ("detector", "group", "per-class F1") else "right")
        for r in real.reaction.filter(_shown()).iter_rows(named=True):
            per = " ".join(f"{c}={_fmt(r.get(f'f1_{c}'))}" for c in r["classes"].split(","))
            t.add_row(escape(r["detector"]), escape(r["group"]), str(r["n"]),
                      _fmt(r["macro_f1"]) + _ci(r, "macro_f1"), per)
        out_console.print(t)
    if real.overturned.height:
        t = Table(title="refusal_overturned on real conversations (a later assistant reply does what "
                  "was refused; judged by readers over the whole conversation)", title_justify="left")
        for col in ("detector", "group", "n", "overturned", "precision", "recall", "F1 (95% CI)"):
            t.add_column(col, justify="left" if col in ("detector", "group") else "right")
        for r in real.overturned.filter(_shown()).iter_rows(named=True):
            t.add_row(escape(r["detector"]), escape(r["group"]), f"{r['n']:,}", str(r["positives"]),
                      _fmt(r["precision"]), _fmt(r["recall"]), _fmt(r["f1"]) + _ci(r, "f1"))
        out_console.print(t)
    out_console.print("[bold]most confident errors per task and detector[/] (excerpt of the judged text)")
    for r in real.errors.iter_rows(named=True):
        score = "" if r["score"] is None else f" score {r['score']:.3f}"
        out_console.print(
            f"  {escape(r['task'])} {escape(r['detector'])} {escape(r['item'])} ({escape(r['source'])}): "
            f"gold {escape(r['gold'])}, predicted {escape(r['predicted'])}{score} | {escape(r['excerpt'])}",
            soft_wrap=True, highlight=False, markup=True)


@handle_errors
def validate_cmd(
    data: Path = typer.Option(None, "--data", help="Labelled-data folder (default: ../shared/data)."),
    json_out: Path = typer.Option(None, "--json", help="Also write the full report as JSON here."),
    dataset: list[str] = typer.Option(None, "--dataset", help="Only this set (repeatable), e.g. xstest-dev."),
    strict: bool = typer.Option(
        False, "--strict",
        help="Exit with code 1 when a regression gate fails or none could be measured (open "
             "issue targets are reported, not gated)."),
    synthetic: int = typer.Option(5000, "--synthetic", min=0, help="Conversations of the synthetic corpus for the plumbing check (0: skip)."),
    lexicon: list[Path] = typer.Option(None, "--lexicon", help="Only check these lexicon YAML files (schema + compile), repeatable."),
    data_file: list[str] = typer.Option(None, "--data-file", help="Only check these data files (a path, or a bundled name such as features/reactions.yaml), repeatable."),
    kind: str = typer.Option(None, "--kind", help="Kind of the --data-file files (default: from the file name), e.g. cue-lexicon."),
    encoder: bool = typer.Option(
        None, "--encoder/--no-encoder",
        help="Run the encoder refusal tier on the refusal sets it never trained on (GPTFuzz, "
             "JailbreakBench responses). Default: when the 'encoder' extra is installed."),
    write_accuracy: Path = typer.Option(None, "--write-accuracy", help="Also write the real-data accuracy file the report's validity panel shows (e.g. src/chatlens/data/validation/real_accuracy.json)."),
) -> None:
    """Precision, recall, F1 and confusion matrix of every detector, per set and per model.

    Example: chatlens validate --data ../shared/data --json validation.json

    With --write-accuracy PATH, also writes the accuracy file of the report's validity panel:
    chatlens validate --synthetic 0 --write-accuracy src/chatlens/data/validation/real_accuracy.json

    With --lexicon FILE, checks a lexicon file instead (keys, regexes, compilation):
    chatlens validate --lexicon my_refusal_cues.yaml

    With --data-file FILE, checks any bundled or user data file against its kind's schema and
    prints "ok: name version" or the error (exit code 1):
    chatlens validate --data-file my_prices.yaml --kind price-table
    """
    if data_file:
        _check_data_files(data_file, kind)
        return
    if lexicon:
        from chatlens import datafiles
        from chatlens.signals.lexicon import check_lexicon

        for path in lexicon:
            doc, record = datafiles.load_with_record(Path(path), kind="cue-lexicon")
            lex = check_lexicon(doc, record.file)
            out_console.print(f"ok: {escape(str(path))} ({escape(lex.label)}, {len(lex.cues)} cues)")
        return
    from chatlens.validate import validate

    report = validate(data, datasets=dataset or None, synthetic=synthetic, encoder=encoder)
    rows = report.rows
    for (ds, group, task), part in rows.group_by(["dataset", "group", "task"], maintain_order=True):
        first = part.row(0, named=True)
        table = Table(
            title=escape(f"{ds} / {group} — {task} (n={first['n']:,}, gold: {first['gold']})"),
            title_justify="left",
        )
        for col in ("detector", "precision", "recall", "F1", "FPR", "TP", "FP", "FN", "TN"):
            table.add_column(col, justify="left" if col == "detector" else "right")
        for r in part.iter_rows(named=True):
            table.add_row(escape(r["detector"]), _fmt(r["precision"]), _fmt(r["recall"]),
                          _fmt(r["f1"]), _fmt(r["fpr"]), str(r["tp"]), str(r["fp"]),
                          str(r["fn"]), str(r["tn"]))
        out_console.print(table)
    if report.real is not None:
        _print_real(report)
    targets = Table(title="targets", title_justify="left")
    for col in ("dataset", "group", "detector", "metric", "target", "measured", "result", "kind"):
        targets.add_column(col)
    for t in report.targets:
        verdict = "-" if t.passed is None else ("[green]pass[/]" if t.passed else "[red]FAIL[/]")
        targets.add_row(escape(t.target.dataset), escape(t.target.group), escape(t.target.detector),
                        escape(t.target.metric), f"{t.target.op} {t.target.threshold}", _fmt(t.value), verdict,
                        "gate" if t.target.gate else "issue target")
    out_console.print(targets)
    if report.synthetic is not None:
        t = Table(title="SYNTHETIC corpus (chatlens's own generator): a plumbing check, NOT validity —"
                  " its phrase banks and the lexicons were written together", title_justify="left")
        for col in ("signal", "n", "precision", "recall", "F1", "accuracy"):
            t.add_column(col, justify="left" if col == "signal" else "right")
        for r in report.synthetic.iter_rows(named=True):
            t.add_row(escape(r["signal"]), f"{r['n']:,}", _fmt(r["precision"]), _fmt(r["recall"]),
                      _fmt(r["f1"]), _fmt(r["accuracy"]))
        out_console.print(t)
    for note in report.notes:
        out_console.print(f"[dim]note: {escape(note)}[/]")
    if json_out is not None:
        out_console.print(f"wrote {escape(str(report.write_json(json_out)))}")
    if write_accuracy is not None:
        from chatlens.validate.accuracy import write_accuracy as write

        out_console.print(f"wrote {escape(str(write(report, write_accuracy)))}")
    if strict:
        _strict_verdict(report)


def _strict_verdict(report: object) -> None:
    """Exit 1 when a measured regression gate failed, or when none could be measured: a CI
    pointed at a data folder without the gated sets would otherwise pass having checked nothing.
    Gates left unmeasured beside measured ones (a ``--dataset`` selection) are named in a note."""
    measured, total = report.gates_measured  # type: ignore[attr-defined]
    if measured < total:
        out_console.print(f"[dim]note: --strict: {total - measured} of {total} regression gates "
                          "were not measured (their sets are absent or not selected)[/]")
    if measured == 0 and total:
        err_console.print(f"[bold red]error:[/] --strict: none of the {total} regression gates "
                          "could be measured: their labelled sets are absent from the data folder "
                          "or not selected with --dataset", soft_wrap=True)
        raise typer.Exit(code=ExitCode.ERROR)
    if not report.all_passed:  # type: ignore[attr-defined]
        raise typer.Exit(code=ExitCode.ERROR)


def _check_data_files(files: list[str], kind: str | None) -> None:
    """Check every file (a bad one does not hide the next); exit 1 when any failed."""
    from chatlens.datafiles import check_file
    from chatlens.errors import ChatlensError

    failed = 0
    for given in files:
        target: str | Path = Path(given) if Path(given).exists() else given
        try:
            record = check_file(target, kind=kind)
            if record.kind == "profile":  # and that its stages run and feed its tables
                from chatlens.run import check_profile

                bundled = Path(given).stem if not Path(given).exists() else None
                check_profile(bundled or target)
        except ChatlensError as exc:
            failed += 1
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
            err_console.print(printable(str(exc)), markup=False, soft_wrap=True)  # names a file
            continue
        out_console.print(f"ok: {escape(record.name)} {escape(record.version)} "
                          f"({escape(record.kind)}, {escape(record.file)})")
    if failed:
        raise typer.Exit(code=ExitCode.ERROR)


def register(app: typer.Typer) -> None:
    app.command("validate")(validate_cmd)
