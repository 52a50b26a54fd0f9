"""``chatlens classify``: add refusal, jailbreak or reaction columns to a file of messages.

Examples::

    chatlens classify refusal replies.parquet --text-column content --out labelled.parquet
    chatlens classify refusal replies.csv --text-column content --out legacy.csv --profile legacy
    chatlens classify refusal pairs.csv --text-column response --prompt-column prompt --detector context --out typed.csv
    chatlens classify jailbreak prompts.jsonl --text-column prompt --out flagged.jsonl
    chatlens classify reaction exchanges.csv --prompt-column request --response-column reply \
        --followup-column next_user --out reactions.csv
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import (
    escape,
    handle_errors,
    no_result,
    out_console,
    printable,
    warn,
)

classify_app = typer.Typer(
    name="classify",
    help="Add refusal / jailbreak / reaction columns to a CSV, JSONL or Parquet file of messages.",
    no_args_is_help=True,
)


def _summary(summary: object, flag: str, kind: str, what: str = "flagged",
             *, labelled: bool = False) -> None:
    """Print the label counts and the flagged share of the classified rows; exit 3 when no row
    was classified (an empty file, every LLM request failed, or, for a ``labelled`` count such
    as reactions, no row got a label: every follow-up was empty)."""
    from chatlens.signals.classify import ClassifySummary

    assert isinstance(summary, ClassifySummary)
    n, k = summary.classified, summary.flagged
    table = Table(title=f"classify {flag}", title_justify="left")
    table.add_column(kind)
    table.add_column("messages", justify="right")
    table.add_column("share", justify="right")
    for value, count in sorted(summary.labels.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        table.add_row(escape(str(value)), f"{count:,}", f"{count / n:.1%}" if n else "-")
    out_console.print(table)
    of = f"{n:,} classified" if summary.unclassified else f"{n:,}"
    out_console.print(f"{k:,} of {of} messages {what} ({(k / n if n else 0):.1%}); "
                      f"wrote {escape(str(summary.out))}")
    if summary.repaired:
        warn(f"{summary.repaired:,} invalid character(s) of the input file (bytes that are not "
             "UTF-8, or JSON escapes of lone surrogates such as \\ud800) were replaced by U+FFFD "
             "(\ufffd) before classifying, in the output too. A CSV that is not UTF-8 (a Latin-1 "
             "or Windows-1252 export?): convert it to UTF-8 and run again.")
    if summary.unclassified:
        _report_unclassified(summary)
    if summary.rows == 0:
        no_result("No message was classified: the input file has no rows.")
    if summary.blank == summary.rows and not summary.unclassified:
        no_result(f"No message was classified: the text of all {summary.rows:,} rows is empty "
                  "(the wrong text column?).")
    if summary.blank and not summary.unclassified:
        warn(f"{summary.blank:,} of {summary.rows:,} messages have empty text: they are counted "
             f"as not {what} (nothing to classify).")
    if labelled and k == 0:
        no_result(f"No row was classified: none of the {summary.rows:,} rows has a {flag} "
                  "(every follow-up is empty).")


def _report_unclassified(summary: object) -> None:
    """Say how many rows the detector could not decide and why (their flag is null, not
    "not flagged"); exit 3 when that is every row: there is no rate to report."""
    from chatlens.signals.classify import ClassifySummary

    assert isinstance(summary, ClassifySummary)
    why = f" First error: {printable(summary.first_error)}" if summary.first_error else ""
    message = (f"{summary.unclassified:,} of {summary.rows:,} messages were not classified "
               f"(left null; see llm_error in {printable(summary.out)}).{why}")
    if summary.classified == summary.blank:
        verb = "has" if summary.blank == 1 else "have"
        blanks = f" The other {summary.blank:,} {verb} empty text." if summary.blank else ""
        no_result(f"No message was classified: {message}{blanks}")
    warn(f"{message} The share above is of the {summary.classified:,} classified messages.")


@classify_app.command("refusal")
@handle_errors
def refusal_cmd(
    input: Path = typer.Argument(..., help="CSV, JSONL or Parquet file of assistant messages."),
    text_column: str = typer.Option(..., "--text-column", help="Column holding the message text."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv, .jsonl or .parquet)."),
    profile: str = typer.Option("default", "--profile", help="default | legacy (the original study's 10 regexes; adds refusal_type_legacy)."),
    detector: str = typer.Option(None, "--detector", help="context (default; rules under --profile legacy): cue scorer + context model, reads --prompt-column | encoder: context blended with a fine-tuned transformer, best on real logs, ~800 replies/s on 2 cores, extra 'encoder' | rules (cue scorer alone) | learned | llm (LLM judge; needs --model or $CHATLENS_MODEL)."),
    prompt_column: str = typer.Option(None, "--prompt-column", help="Column holding the user request each message answers (detectors context, encoder)."),
    model: str = typer.Option(None, "--model", help="LLM judge model (detector llm; default: $CHATLENS_MODEL)."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible base URL (detector llm; default: $CHATLENS_BASE_URL)."),
    batch_size: int = typer.Option(100_000, "--batch-size", min=1, help="Rows per batch (memory is bounded by the batch, not the file)."),
) -> None:
    """Classify assistant messages: refusal, refusal_type, refusal_partial, refusal_score, refusal_cues, disclaimer.

    Example: chatlens classify refusal replies.parquet --text-column content --out labelled.parquet
    """
    from chatlens.signals.classify import check_prompt_column, classify_file, refusal_detector

    check_prompt_column(prompt_column, detector, profile)
    config = None
    if detector == "llm":
        from chatlens.llm.config import LLMConfig

        config = LLMConfig.from_env(model=model, base_url=base_url)
    detect = refusal_detector(profile=profile, detector=detector, llm_config=config)  # type: ignore[arg-type]
    summary, _ = classify_file(input, text_column=text_column, out=out, detect=detect,
                               flag="refusal", label="refusal_type", batch_size=batch_size,
                               prompt_column=prompt_column)
    _summary(summary, "refusal", "refusal_type")


@classify_app.command("jailbreak")
@handle_errors
def jailbreak_cmd(
    input: Path = typer.Argument(..., help="CSV, JSONL or Parquet file of user messages."),
    text_column: str = typer.Option(..., "--text-column", help="Column holding the message text."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv, .jsonl or .parquet)."),
    profile: str = typer.Option("default", "--profile", help="default | legacy (the original study's 7 regexes)."),
    detector: str = typer.Option(None, "--detector", help="learned (default; rules under --profile legacy): screened logistic regression united with the rules' instruction overrides | rules."),
    batch_size: int = typer.Option(100_000, "--batch-size", min=1, help="Rows per batch (memory is bounded by the batch, not the file)."),
) -> None:
    """Flag jailbreak attempts: jailbreak, jailbreak_score, jailbreak_family, jailbreak_cues.

    Example: chatlens classify jailbreak prompts.jsonl --text-column prompt --out flagged.jsonl
    """
    from chatlens.signals.classify import classify_file, jailbreak_detector

    detect = jailbreak_detector(profile=profile, detector=detector)  # type: ignore[arg-type]
    summary, _ = classify_file(input, text_column=text_column, out=out, detect=detect,
                               flag="jailbreak", label="jailbreak_family", batch_size=batch_size)
    _summary(summary, "jailbreak", "jailbreak_family")


@classify_app.command("reaction")
@handle_errors
def reaction_cmd(
    input: Path = typer.Argument(..., help="CSV, JSONL or Parquet file, one row per refused exchange."),
    prompt_column: str = typer.Option(..., "--prompt-column", help="Column holding the user's request."),
    response_column: str = typer.Option(..., "--response-column", help="Column holding the assistant's refused response."),
    followup_column: str = typer.Option(..., "--followup-column", help="Column holding the user's next message (empty: no reaction)."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv, .jsonl or .parquet)."),
    refusal_type_column: str = typer.Option(None, "--refusal-type-column", help="Optional column with the refusal type (capability | policy | …); default: the rule tier's."),
    batch_size: int = typer.Option(100_000, "--batch-size", min=1, help="Rows per batch (memory is bounded by the batch, not the file)."),
) -> None:
    """Classify the user's reaction to a refusal: reaction (rephrase, jailbreak, pushback, accept, new_topic, clarify), reaction_score.

    Example: chatlens classify reaction exchanges.csv --prompt-column request --response-column reply --followup-column next_user --out reactions.csv
    """
    from chatlens.features.classify import reaction_file_columns
    from chatlens.features.reaction_model import detect_reaction
    from chatlens.signals.classify import classify_columns

    columns = reaction_file_columns(prompt_column, response_column, followup_column,
                                    refusal_type_column)
    summary, _ = classify_columns(input, columns=columns, out=out, detect=detect_reaction,
                                  flag=None, label="reaction", batch_size=batch_size)
    _summary(summary, "reaction", "reaction", what="with a reaction", labelled=True)


def register(app: typer.Typer) -> None:
    app.add_typer(classify_app, name="classify")
