"""``chatlens instrument discover|dialogues|fit|report``: questionnaire discovery as a resumable run.

Thin shell over :mod:`chatlens.instrument`: options in, one library call, a short summary out.
The run directory holds every step's artefact and a manifest; rerunning ``discover`` with the
same options resumes (finished steps are reused, answered LLM requests come from the cache).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chatlens.cli._common import escape, handle_errors, out_console

instrument_app = typer.Typer(
    name="instrument",
    help="Discover a questionnaire from contrasting dialogues, fit and report it.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Attach the ``instrument`` group to the root app."""
    app.add_typer(instrument_app, name="instrument")


def _columns(
    a_column: str,
    b_column: str,
    label_column: str,
    id_column: str | None,
    statements_column: str | None = None,
    verdict_column: str | None = None,
) -> Any:
    from chatlens.instrument import PairColumns

    return PairColumns(
        a=a_column,
        b=b_column,
        label=label_column,
        id=id_column,
        statements=statements_column,
        verdict=verdict_column,
    )


@instrument_app.command("discover")
@handle_errors
def discover_cmd(
    input: Path = typer.Argument(
        ..., help="CSV/Parquet/JSONL, one pair of contrasting dialogues per row."
    ),
    *,
    a_column: str = typer.Option(..., help="Column with dialogue A."),
    b_column: str = typer.Option(..., help="Column with dialogue B."),
    label_column: str = typer.Option(
        ..., help="Column saying which dialogue (A or B) has the property."
    ),
    id_column: str | None = typer.Option(None, help="Pair id column (default: row number)."),
    statements_column: str | None = typer.Option(
        None,
        help="Existing characteristics per pair (JSON list or one per line): skips the LLM step.",
    ),
    verdict_column: str | None = typer.Option(
        None, help="With --statements-column: the verdict (A/B) of whoever wrote them."
    ),
    target: str | None = typer.Option(
        None, "--property", help="The property in words (default: the witness is the human)."
    ),
    model: str | None = typer.Option(None, help="LLM for the characteristics and condense steps."),
    base_url: str | None = typer.Option(
        None, help="OpenAI-compatible base URL (default: $CHATLENS_BASE_URL)."
    ),
    api_key_env: str = typer.Option(
        "OPENAI_API_KEY", help="Environment variable holding the API key."
    ),
    concurrency: int = typer.Option(8, help="LLM requests in flight."),
    timeout: float = typer.Option(120.0, help="Per-request timeout in seconds."),
    max_retries: int = typer.Option(5, help="Retries on 429/5xx/timeouts."),
    cache: Path | None = typer.Option(None, help="LLM response cache (default: OUT/llm-cache)."),
    embedder: str | None = typer.Option(
        None, help="tfidf (core), minilm (extra 'embed') or a sentence-transformers directory."
    ),
    method: str | None = typer.Option(None, help="Clustering: hdbscan or agglomerative."),
    min_cluster_size: int | None = typer.Option(
        None, help="Smallest cluster (smaller ones are noise)."
    ),
    distance_threshold: float | None = typer.Option(
        None, help="Agglomerative: cosine distance at which to cut."
    ),
    n_clusters: int | None = typer.Option(
        None, help="Agglomerative: cut into this many clusters instead."
    ),
    reduce: str | None = typer.Option(None, help="Reduction before clustering: none, svd or pca."),
    n_components: int | None = typer.Option(None, help="Dimensions kept by --reduce."),
    n_representatives: int | None = typer.Option(None, help="Statements nearest each centroid."),
    n_items: int | None = typer.Option(None, help="Most items in the questionnaire."),
    n_themes: int | None = typer.Option(None, help="Most themes."),
    condense: str = typer.Option(
        "auto",
        help="llm, nearest (no LLM: each cluster's most central statement) or auto (llm when --model is set).",
    ),
    name: str | None = typer.Option(None, help="Name of the written instrument."),
    from_step: str | None = typer.Option(
        None,
        help="Rerun from this step: statements, embed, cluster, represent, condense, instrument.",
    ),
    out: Path = typer.Option(..., help="Run directory (created; rerun to resume)."),
) -> None:
    """Discover a questionnaire: characteristics -> embed -> cluster -> representatives -> items -> instrument.

    Example: chatlens instrument discover pairs.csv --a-column conversation_A_transcript
    --b-column conversation_B_transcript --label-column who_is_human --model gpt-5 --out disc/
    """
    from chatlens.corpus.tablefile import read_table
    from chatlens.instrument import DiscoveryConfig, discover
    from chatlens.instrument.report import write_report
    from chatlens.llm.config import LLMConfig

    llm = None
    if model is not None:
        llm = LLMConfig.from_env(
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout_s=timeout,
            max_retries=max_retries,
            cache_dir=cache or out / "llm-cache",
        )
    cfg = DiscoveryConfig.from_defaults(
        _columns(a_column, b_column, label_column, id_column, statements_column, verdict_column),
        target=target,
        llm=llm,
        embedder=embedder,
        method=method,
        min_cluster_size=min_cluster_size,
        distance_threshold=distance_threshold,
        n_clusters=n_clusters,
        reduce=reduce,
        n_components=n_components,
        n_representatives=n_representatives,
        n_items=n_items,
        n_themes=n_themes,
        condense=("llm" if model else "nearest") if condense == "auto" else condense,
        name=name,
    )
    res = discover(
        read_table(input),
        out,
        cfg,
        source=str(input),
        input_sha256=hashlib.sha256(input.read_bytes()).hexdigest(),
        from_step=from_step,
    )
    report = write_report(out)
    table = Table(
        "step",
        "result",
        "seconds",
        title=f"instrument discover -> {escape(out)}",
        title_justify="left",
    )
    for step, rec in res.manifest["steps"].items():
        said = {k: v for k, v in rec["summary"].items() if not isinstance(v, dict)}
        table.add_row(
            escape(step),
            escape(json.dumps(said)),
            "reused" if step in res.reused else f"{rec['seconds']:.1f}",
        )
    out_console.print(table)
    out_console.print(f"instrument: {escape(res.instrument_path)}; report: {escape(report)}")


@instrument_app.command("dialogues")
@handle_errors
def dialogues_cmd(
    input: Path = typer.Argument(..., help="The pairs file given to discover."),
    *,
    a_column: str = typer.Option(..., help="Column with dialogue A."),
    b_column: str = typer.Option(..., help="Column with dialogue B."),
    label_column: str = typer.Option(
        ..., help="Column saying which dialogue (A or B) has the property."
    ),
    id_column: str | None = typer.Option(None, help="Pair id column (default: row number)."),
    out: Path = typer.Option(..., help="Output table: pair_id, side, dialogue, has_property."),
) -> None:
    """One row per dialogue, ready for `humanlike judge` and then `instrument fit`.

    Example: chatlens instrument dialogues pairs.csv --a-column a --b-column b --label-column which
    --out dialogues.csv
    """
    from chatlens.corpus.tablefile import read_table, write_table
    from chatlens.instrument.inputs import dialogue_table, read_pairs

    pairs = read_pairs(
        read_table(input), _columns(a_column, b_column, label_column, id_column), source=str(input)
    )
    frame = dialogue_table(pairs)
    write_table(frame, out)
    out_console.print(f"{frame.height:,} dialogues from {pairs.height:,} pairs -> {escape(out)}")


@instrument_app.command("fit")
@handle_errors
def fit_cmd(
    run_dir: Path = typer.Argument(..., help="The discovery run directory."),
    ratings: Path = typer.Argument(
        ..., help="Output of `humanlike judge` with the discovered instrument."
    ),
    *,
    label_column: str = typer.Option(
        "has_property", help="True when the dialogue has the property."
    ),
    group_column: str = typer.Option("pair_id", help="Folds never split a group (the pair)."),
    c: float = typer.Option(1.0, "--C", help="Inverse L1 strength."),
    threshold: float = typer.Option(
        0.2, help="Keep items with |w| > threshold (inside each fold)."
    ),
    select: bool = typer.Option(True, help="Do the |w| selection (--no-select keeps all items)."),
    folds: int = typer.Option(10, help="GroupKFold splits."),
    boot: int = typer.Option(
        200, help="Bootstrap resamples for the weight and reliability intervals."
    ),
    seed: int = typer.Option(0, help="Seed for folds and bootstrap."),
) -> None:
    """Fit weights with pair-grouped CV; writes instrument-fit.yaml, fit.json and the report.

    Example: chatlens instrument fit disc/ rated.csv --label-column has_property --group-column pair_id
    """
    from chatlens.corpus.tablefile import read_table
    from chatlens.instrument.report import write_report
    from chatlens.instrument.validity import fit_discovered

    res = fit_discovered(
        run_dir,
        read_table(ratings),
        label_column=label_column,
        group_column=group_column,
        c=c,
        threshold=threshold if select else None,
        n_splits=folds,
        seed=seed,
        n_boot=boot,
    )
    table = Table("item", "weight [95% CI]", "kept", "statement")
    for w in res["weights"]:
        table.add_row(
            escape(w["key"]),
            escape(f"{w['weight']:.3f} [{w['ci_low']:.2f}, {w['ci_high']:.2f}]"),  # [nan, nan]
            "yes" if w["selected"] else "",
            escape(w["statement"]),
        )
    out_console.print(table)
    rel, cv = res["reliability"], res["cv_auc"]
    auc = f"{cv['value']:.3f} [{cv['ci_low']:.3f}, {cv['ci_high']:.3f}]"  # "[nan, nan]" is a tag
    out_console.print(
        f"CV AUC {escape(auc)}; Cronbach's alpha {rel['cronbach_alpha']['value']:.3f}; "
        f"split-half {rel['split_half']['value']:.3f} -> {escape(run_dir / 'instrument-fit.yaml')}, "
        f"{escape(write_report(run_dir))}"
    )


@instrument_app.command("compare")
@handle_errors
def compare_cmd(
    run_dir: Path = typer.Argument(..., help="The discovery run directory."),
    *,
    instrument: str = typer.Option(
        "hal32q", help="Reference instrument: bundled name or YAML path."
    ),
    embedder: str | None = typer.Option(None, help="Default: the run's own embedder (embed.json)."),
    out: Path | None = typer.Option(None, help="Also write the table (.csv, .parquet or .jsonl)."),
) -> None:
    """Which items of an existing instrument the run's clusters cover (nearest cluster, matched?).

    Example: chatlens instrument compare disc/ --instrument hal32q
    """
    from chatlens.corpus.tablefile import write_table
    from chatlens.instrument.compare import match_instrument, run_embedder
    from chatlens.instrument.embed import make_embedder

    emb = make_embedder(embedder) if embedder is not None else run_embedder(run_dir)
    table = match_instrument(run_dir, instrument, emb)
    shown = Table(
        "key",
        "statement",
        "cluster",
        "cosine",
        "bar",
        "matched",
        "nearest cluster's representative",
    )
    for r in table.iter_rows(named=True):
        shown.add_row(
            escape(r["key"]),
            escape(r["statement"]),
            str(r["cluster"]),
            f"{r['cosine']:.3f}",
            f"{r['bar']:.3f}",
            "yes" if r["matched"] else ("in range" if r["in_range"] else ""),
            escape(r["representative"]),
        )
    out_console.print(shown)
    out_console.print(
        f"{int(table['matched'].sum())} of {table.height} items of {escape(instrument)} match a "
        f"cluster ({int(table['in_range'].sum())} in range; "
        f"{table.filter('matched')['cluster'].n_unique()} distinct clusters)"
    )
    if out is not None:
        write_table(table, out)


@instrument_app.command("report")
@handle_errors
def report_cmd(run_dir: Path = typer.Argument(..., help="The discovery run directory.")) -> None:
    """(Re)write the run's HTML report from its artefacts.

    Example: chatlens instrument report disc/
    """
    from chatlens.instrument.report import write_report

    out_console.print(f"report: {escape(write_report(run_dir))}")
