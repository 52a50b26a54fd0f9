"""Corpus commands: ``analyze``, ``info`` and ``query``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import (
    cli_wording,
    escape,
    handle_errors,
    more_rows,
    name_column,
    no_result,
    out_console,
    warn,
    write_data,
)
from chatlens.errors import InvalidParameterError

FORMAT_HELP = "Input format (default: detected). One of: lmsys, wildchat, sharegpt, openai, arena, hh, oasst, dices, table."


def _source_options(
    format: str | None,
    column_map: str | None,
    layout: str | None,
    batch_size: int,
    max_message_chars: int,
    oasst_paths: str,
) -> dict[str, object]:
    import os

    from chatlens.corpus.readers.table import parse_column_map

    return {
        "format": format,
        "column_map": parse_column_map(column_map) if column_map else None,
        "layout": layout,
        "batch_size": batch_size,
        "max_message_chars": max_message_chars,
        "oasst_paths": oasst_paths,
        "hf_token": os.environ.get("HF_TOKEN") or None,
    }


def _counts_table(title: str, counts: dict[str, int], key: str, limit: int = 12) -> Table:
    table = Table(title=title, title_justify="left")
    name_column(table, key)
    table.add_column("count", justify="right")
    for name, count in list(counts.items())[:limit]:
        table.add_row(escape(str(name)), f"{count:,}")
    more_rows(table, limit, len(counts))
    return table


def print_summary(summary: object, *, counts: bool = True) -> None:
    """Print a corpus summary (used by both ``info`` and ``analyze``).

    ``counts=False`` leaves out the model / language / turn count tables (``analyze`` prints the
    behaviour tables instead, which carry the same counts as ``n``).
    """
    s = summary
    out_console.print(
        f"[bold]format[/] {escape(s.format)}   [bold]files[/] {s.files:,}   [bold]bytes[/] {s.bytes:,}"
    )
    out_console.print(
        f"[bold]rows in[/] {s.records_in:,} = [bold]analysed[/] {s.conversations:,} + "
        f"[bold]quarantined[/] {s.quarantined:,}   [bold]source records[/] {s.source_records:,}   "
        f"[bold]messages[/] {s.messages:,}   "
        f"[bold]mean turns[/] {f'{s.mean_turns:.2f}' if s.mean_turns is not None else '-'}"
    )
    if s.repairs:
        out_console.print("[bold]repairs[/] " + ", ".join(f"{escape(k)}={v:,}" for k, v in s.repairs.items()))
    if counts:
        out_console.print(_counts_table("models", s.models, "model"))
        out_console.print(_counts_table("languages", s.languages, "language"))
        out_console.print(_counts_table("turns per conversation", s.turns_histogram, "turns"))
    if s.quarantine_reasons:
        out_console.print(_counts_table("quarantine reasons", s.quarantine_reasons, "reason", limit=8))


def check_rows(summary: object, *, format: str | None) -> None:
    """Warn when an auto-detected format quarantined most rows; exit with
    :attr:`~chatlens.cli._common.ExitCode.NO_RESULT` when nothing was analysed."""
    note = summary.detection_warning(detected=format is None)
    if note:
        warn(cli_wording(note, {"--format"}))
    empty = summary.nothing_analysed()
    if empty:
        no_result(cli_wording(empty, {"--format"}))


def _pct(value: object) -> str:
    """A share as the report prints it (:func:`chatlens.report.formatting.pct`: one decimal,
    ``<0.1%`` for a tiny non-zero share), so the terminal and report.html never disagree."""
    from chatlens.report.formatting import pct

    return "-" if value is None else pct(float(value))


def _ci(low: object, high: object) -> str:
    """A share's interval as the report prints it (:func:`chatlens.report.formatting.ci_pct`)."""
    from chatlens.report.formatting import ci_pct

    return "-" if low is None or high is None else ci_pct(float(low), float(high))


def _reaction_shares(behaviour: object) -> tuple[dict[str, float], int | None]:
    """The shares of each reaction after the first refusal and their number of refused
    conversations, from the ``(all)`` rows of ``reaction_by_refusal_type`` (the table the
    report's sentence cites).

    Why the table: it also gives the shares' base (n), and it is what the report cites (when
    ``summary.json``'s ``reactions_after_first_refusal`` was rounded to four decimals, rounding
    that again printed 12/63 as 19.1% where the table and report.html say 19.0%)."""
    from chatlens.vocabulary import ALL_LABEL

    frame = behaviour.tables.get("reaction_by_refusal_type")
    if frame is None:
        return dict(behaviour.headline["reactions_after_first_refusal"]), None
    rows = frame.filter(frame.get_column("first_refusal_type") == ALL_LABEL)
    shares = {r["outcome"]: r["rate"] for r in rows.iter_rows(named=True)}
    n = max(rows.get_column("n").to_list(), default=None)
    return shares, n


def print_behaviour(behaviour: object, limit: int = 15) -> None:
    """Print the headline behaviour tables of a run (the rest are in tables/ and report.html)."""
    from chatlens.report.formatting import ci_ratio, estimable, finite, presentation, ratio

    tables = behaviour.tables
    if "refusal_by_model" in tables:
        by_model = tables["refusal_by_model"]
        table = Table(title="conversations with a refusal, by model (95% Wilson CI)", title_justify="left")
        name_column(table, "model")
        for name in ("n", "refusal rate", "95% CI"):
            table.add_column(name, justify="right", no_wrap=True)
        if "small_sample" in by_model.columns:  # as the report: small groups never ranked on top
            by_model = by_model.sort("small_sample", maintain_order=True)
        for row in by_model.head(limit).iter_rows(named=True):
            small = bool(row.get("small_sample"))
            table.add_row(
                escape(str(row["model"])) + (" [dim](small group)[/]" if small else ""),
                f"{row['n']:,}", _pct(row["rate"]),
                _ci(row["ci_low"], row["ci_high"]),
                style="dim" if small else None,
            )
        more_rows(table, limit, by_model.height, "tables/refusal_by_model.csv")
        out_console.print(table)
    head = behaviour.headline
    if "refusal_rate" in head:
        r = head["refusal_rate"]
        out_console.print(
            f"[bold]refusal rate[/] {_pct(r['value'])} ({_ci(r['ci_low'], r['ci_high'])}, n={r['n']:,})"
        )
        out_console.print("[dim](these intervals cover sampling, not the detector's errors; to publish a "
                          "rate, correct it with a reader's labels on a random sample: chatlens audit "
                          "sample RUN --by model --out audit.csv, docs/audit.md)[/]")
    if "reactions_after_first_refusal" in head:
        shares, n = _reaction_shares(behaviour)
        parts = ", ".join(f"{escape(k)} {_pct(v)}" for k, v in shares.items())
        if "abandoned" not in shares:  # HH-RLHF / DICES: every transcript ends at a rated response
            parts += " (of users who wrote again; leaving cannot be seen in this source)"
        if n is not None and n < presentation().small_group_n:  # as report.html's headline
            out_console.print(f"[bold]after the first refusal[/] [dim]{parts} (small group: only {n:,} "
                              "refused conversations, not estimable in report.html)[/]")
        else:
            if "abandoned" in shares and n is not None:  # the shares' base
                parts += f" (of {n:,} conversations with a refusal)"
            out_console.print(f"[bold]after the first refusal[/] {parts}")
    if "ending_after_refusal_vs_answer" in head:
        rr = head["ending_after_refusal_vs_answer"]["risk_ratio"]
        # the report's rules (formatting.ratio, formatting.estimable, the "no clear difference"
        # verdict), so the two never disagree
        if rr.get("estimable", True) and estimable(rr["ci_low"], rr["ci_high"], rr["value"]):
            verdict = escape(presentation().headline["no_clear_difference"]) if rr["ci_low"] <= 1.0 <= rr["ci_high"] else ""
            out_console.print(
                f"[bold]ending after a refusal vs after an answer[/] risk ratio {ratio(rr['value'])} "
                f"({ci_ratio(rr['ci_low'], rr['ci_high'])}, Mantel–Haenszel over turns){verdict}"
            )
        else:
            width = ("with a zero-width interval" if finite(rr["ci_low"], rr["ci_high"])
                     else "with no interval")
            out_console.print(
                "[bold]ending after a refusal vs after an answer[/] [yellow]not estimable[/] "
                f"(risk ratio {ratio(rr['value'])} {width} over n={rr['n']:,}: "
                "the data cannot tell the two apart, e.g. every conversation ends at the same turn)"
            )
    if "demo_truth_agreement" in tables:
        parts = []
        for row in tables["demo_truth_agreement"].iter_rows(named=True):
            if row["f1"] is not None:
                parts.append(f"{escape(row['signal'])} P {row['precision']:.3f} R {row['recall']:.3f}")
            elif row["accuracy"] is not None:
                parts.append(f"{escape(row['signal'])} accuracy {row['accuracy']:.3f}")
        out_console.print("[bold]detectors vs the synthetic demo corpus's ground truth[/] "
                          + "; ".join(parts)
                          + " [dim](plumbing check, not validity: the generator and the lexicons "
                          "were written together; accuracy on real logs: chatlens validate)[/]")
    if "study1_summary_table" in tables:
        out_console.print("[bold]legacy profile[/]: the original study's CSVs are in tables/study1_*.csv")


_FORMAT_OPT = typer.Option(None, "--format", "-f", help=FORMAT_HELP)
_COLMAP_OPT = typer.Option(
    None, "--column-map", help="For --format table: canonical=source column pairs, e.g. 'conversation_id=chat,role=speaker,content=text'."
)
_LAYOUT_OPT = typer.Option(None, "--layout", help="For --format table: 'message' (one row per message) or 'conversation'.")
_BATCH_OPT = typer.Option(50_000, "--batch-size", min=1, help="Conversations per batch (memory bound).")
_MAXCHARS_OPT = typer.Option(200_000, "--max-message-chars", min=1, help="Truncate longer messages (recorded).")
_OASST_OPT = typer.Option("all", "--oasst-paths", help="OpenAssistant trees: 'all' root-to-leaf paths or the 'best'-ranked path.")


@handle_errors
def analyze_cmd(
    source: str | None = typer.Argument(None, help="File, directory, glob or HF dataset id. Omit for the built-in demo corpus."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write."),
    format: str | None = _FORMAT_OPT,
    column_map: str | None = _COLMAP_OPT,
    layout: str | None = _LAYOUT_OPT,
    batch_size: int = _BATCH_OPT,
    max_message_chars: int = _MAXCHARS_OPT,
    oasst_paths: str = _OASST_OPT,
    keep_text: bool = typer.Option(False, "--keep-text", help="Keep message text in messages.parquet."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace files named like a run's outputs (tables/, figures/, report.html, …) in an --out that is not a chatlens run directory (a rerun into a run directory always replaces that run)."),
    detect: bool = typer.Option(True, "--detect/--no-detect", help="Run the refusal and jailbreak detectors (off: corpus tables only)."),
    profile: str = typer.Option("default", "--profile", help="'default' definitions, 'rules' (cue scorers only), 'encoder' (default with the slower, more accurate refusal encoder tier; extra 'encoder'), 'legacy' (the original study's, to reproduce its numbers), or a profile YAML file."),
    demo_conversations: int = typer.Option(20_000, "--demo-conversations", min=1, help="Size of the demo corpus when no source is given."),
    engine: str | None = typer.Option(None, "--engine", help="local (this process), process (a process pool) or dask (a Dask cluster). Default: every core (process), or local with --workers 1."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="Worker processes (default: the usable cores; 1 = this process only)."),
    address: str | None = typer.Option(None, "--address", help="Dask scheduler address (e.g. tcp://head:8786) for --engine dask."),
) -> None:
    """Analyse a conversation log into a run directory (tables, summary, manifest).

    Example: chatlens analyze lmsys/lmsys-chat-1m --out runs/lmsys
    """
    from chatlens.run import analyze

    result = analyze(
        source,
        out=out,
        keep_text=keep_text,
        detect=detect,
        profile=profile,
        overwrite=overwrite,
        command=sys.argv,
        demo_conversations=demo_conversations,
        engine=engine,
        workers=workers,
        address=address,
        **_source_options(format, column_map, layout, batch_size, max_message_chars, oasst_paths),
    )
    print_summary(result.summary, counts=result.behaviour is None)
    if result.behaviour is not None:
        print_behaviour(result.behaviour)
    timing = result.manifest["timings_s"].get("total")
    out_console.print(f"[green]run directory[/] {escape(str(result.out))}  ({timing} s)")
    check_rows(result.summary, format=format if source is not None else "demo")


@handle_errors
def info_cmd(
    source: str = typer.Argument(..., help="File, directory, glob or HF dataset id."),
    format: str | None = _FORMAT_OPT,
    column_map: str | None = _COLMAP_OPT,
    layout: str | None = _LAYOUT_OPT,
    batch_size: int = _BATCH_OPT,
    max_message_chars: int = _MAXCHARS_OPT,
    oasst_paths: str = _OASST_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Show what a source contains: format, counts, models, languages, turns histogram.

    Example: chatlens info data/sharegpt.json
    """
    from chatlens.corpus.api import info

    summary = info(source, **_source_options(format, column_map, layout, batch_size, max_message_chars, oasst_paths))
    if as_json:
        write_data(json.dumps(summary.to_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        print_summary(summary)
    check_rows(summary, format=format)


@handle_errors
def query_cmd(
    run_dir: Path = typer.Argument(..., help="A run directory written by 'chatlens analyze'."),
    sql: str = typer.Argument(..., help="DuckDB SQL over the run's tables (conversations, messages, quarantine, …)."),
    output: str = typer.Option("table", "--output", help="table, csv or json."),
    limit: int = typer.Option(50, "--limit", min=0, help="Rows to print in table mode (>= 0)."),
    allow_external: bool = typer.Option(False, "--allow-external", help="Let the SQL read or write files other than the run's tables, and load extensions (off by default: run directories and pasted SQL are untrusted)."),
) -> None:
    """Run DuckDB SQL over a run directory's Parquet tables.

    A run directory whose 'chatlens analyze' run failed or was killed is refused (exit code 1).

    Example: chatlens query runs/demo "select model, count(*) from conversations group by 1"
    """
    from chatlens.query import query, to_csv

    frame = query(run_dir, sql, allow_external=allow_external)
    if output == "csv":
        write_data(to_csv(frame))
    elif output == "json":
        write_data(frame.write_json() + "\n")
    elif output == "table":
        table = Table()
        for name in frame.columns:
            name_column(table, escape(name))
        for row in frame.head(limit).iter_rows():
            table.add_row(*(escape("" if v is None else str(v)[:200]) for v in row))
        more_rows(table, limit, frame.height, hint="--limit N shows more, --output csv all")
        out_console.print(table)
    else:
        msg = f"--output must be table, csv or json. Got {output!r}."
        raise InvalidParameterError(msg)


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze_cmd)
    app.command("info")(info_cmd)
    app.command("query")(query_cmd)
