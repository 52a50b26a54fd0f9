"""``chatlens align train | evaluate | export-human-eval`` (the ``align`` group is in
:mod:`chatlens.cli.align`, with ``synthesize`` and ``pairs``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import escape, handle_errors, out_console
from chatlens.cli.align import (
    API_KEY_ENV,
    BASE_URL,
    CACHE,
    CONCURRENCY,
    MAX_RETRIES,
    NO_CACHE,
    PRICES,
    TIMEOUT,
    align_app,
    llm_config,
    llm_options,
)


@align_app.command("train")
@handle_errors
def train_command(
    config: Path = typer.Option(
        ..., "--config", help="Training config YAML (see align/configs/hal-dpo.yaml)."
    ),
    pairs: Path = typer.Option(
        ..., "--pairs", help="Pairs folder or pairs.jsonl (GRPO uses its prompts)."
    ),
    out: Path = typer.Option(..., "--out", help="Run folder: checkpoints/, train_manifest.json."),
    no_resume: bool = typer.Option(
        False, "--no-resume", help="Do not resume from the last checkpoint."
    ),
) -> None:
    """Train with DPO (or GRPO with HL-lite as reward) and LoRA; a checkpoint per epoch.

    Example: chatlens align train --config run.yaml --pairs pairs/ --out runs/llama-1b
    """
    from chatlens.align.train import train

    res = train(config, pairs=pairs, out=out, resume=not no_resume)
    table = Table(title=f"align train ({escape(res.method)})", title_justify="left")
    for col in ("epoch", "checkpoint", "train loss", "loss on pairs"):
        table.add_column(col, justify="right")
    losses, on_pairs = res.losses_by_epoch(), res.eval_loss_by_epoch()
    for c in res.checkpoints:
        e = c["epoch"]
        table.add_row(
            str(e),
            escape(Path(c["path"]).name),
            f"{losses.get(e, float('nan')):.4f}",
            "–" if e not in on_pairs else f"{on_pairs[e]:.4f}",
        )
    out_console.print(table)
    out_console.print(
        f"examples {res.n_examples:,} (over the length limits: "
        f"{res.truncation.get('examples_dropped', 0):,} dropped, "
        f"{res.truncation.get('examples_truncated', 0):,} trained on truncated); resumed from "
        f"{escape(res.resumed_from or 'nothing')}; {res.runtime_s:.1f} s; "
        f"wrote {escape(out)}/train_manifest.json"
    )


@align_app.command("evaluate")
@handle_errors
def evaluate_command(
    run: Path = typer.Argument(..., help="Run folder written by `chatlens align train`."),
    *,
    heldout: Path = typer.Option(
        ..., "--heldout", help="Held-out prompts (pairs' heldout_prompts.parquet)."
    ),
    speaker: str = typer.Option("P", "--speaker", help="Label of the rated speaker's lines."),
    judge_model: str = typer.Option(None, "--judge-model", help="Also score with this LLM judge."),
    instrument: str = typer.Option("hal16q", "--instrument", help="Judge instrument."),
    max_new_tokens: int = typer.Option(
        512, "--max-new-tokens", help="Tokens generated per prompt."
    ),
    temperature: float = typer.Option(
        0.7, "--temperature", help="Sampling temperature (0 = greedy)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of sampling and bootstrap."),
    batch_size: int = typer.Option(8, "--batch-size", help="Prompts per generation batch."),
    n_boot: int = typer.Option(2000, "--n-boot", help="Bootstrap rounds for the CIs."),
    max_prompts: int = typer.Option(
        None, "--max-prompts", help="Use the first N held-out prompts."
    ),
    server_base_url: str = typer.Option(
        None,
        "--server-base-url",
        help="Generate through this OpenAI-compatible server (vLLM) instead of locally.",
    ),
    served_name: list[str] = typer.Option(
        [],
        "--served-name",
        help="EPOCH=NAME: the server's name of a checkpoint (default epoch-N; base: the model), repeatable.",
    ),
    base_url: str = BASE_URL,
    api_key_env: str = API_KEY_ENV,
    concurrency: int = CONCURRENCY,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    cache: Path = CACHE,
    no_cache: bool = NO_CACHE,
    prices: Path = PRICES,
    out: Path = typer.Option(
        ..., "--out", help="Output folder (generations/, scores/, curve.csv)."
    ),
) -> None:
    """Generate from the base and every checkpoint; the reward curve with CIs and what moved.

    Example: chatlens align evaluate runs/llama-1b --heldout pairs/heldout_prompts.parquet
    --judge-model gpt-5-mini --out runs/llama-1b/eval
    """
    from chatlens.align.evaluate import evaluate
    from chatlens.errors import InvalidParameterError

    judge_config = None
    if judge_model:
        judge_config = llm_config(
            judge_model,
            **llm_options(locals()),
        )
    server = None
    names: dict[int, str] = {}
    if served_name and not server_base_url:
        # without a server the checkpoints are generated locally: the names would be ignored
        msg = "--served-name names a checkpoint on a server: give --server-base-url too."
        raise InvalidParameterError(msg)
    if server_base_url:
        server = llm_config("served", **{**llm_options(locals()), "base_url": server_base_url})
        for item in served_name:
            epoch, sep, name = item.partition("=")
            if not sep or not epoch.strip().isdigit() or not name.strip():
                msg = f"--served-name expects EPOCH=NAME such as 2=hal-epoch2. Got {item!r}."
                raise InvalidParameterError(msg)
            names[int(epoch)] = name.strip()
    s = evaluate(
        run,
        heldout=heldout,
        out=out,
        speaker=speaker,
        judge_config=judge_config,
        instrument=instrument,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        seed=seed,
        batch_size=batch_size,
        n_boot=n_boot,
        max_prompts=max_prompts,
        server=server,
        served_names=names,
    )
    table = Table(
        title=f"align evaluate: change vs base (95% CI, resampling {s['ci_resamples']})",
        title_justify="left",
    )
    for col in ("epoch", "measure", "mean", "Δ vs base", "CI"):
        table.add_column(col, justify="right")
    shown = {
        "hl_lite_logit",
        "hl_logit",
        "words_per_turn",
        "question_share",
        "informal_spelling",
        "scorable",
    }
    for row in s["curve"]:
        if row["measure"] not in shown:
            continue
        ci = "–" if row["ci_low"] is None else f"[{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
        mean = "–" if row["mean"] is None else f"{row['mean']:.3f}"
        delta = "–" if row["delta_vs_base"] is None else f"{row['delta_vs_base']:+.3f}"
        table.add_row(str(row["epoch"]), escape(row["measure"]), mean, delta, escape(ci))
    out_console.print(table)
    failed = {e: n for e, n in s["failed_generations"].items() if n}
    lost = (
        "; failed generations, left out: " + ", ".join(f"epoch {e}: {n}" for e, n in failed.items())
        if failed
        else ""
    )
    out_console.print(
        f"{s['prompts']} prompts{lost}; wrote {escape(out)}/curve.csv and summary.json"
    )
    if s["ci_note"]:
        out_console.print(f"note: {escape(s['ci_note'])}")


@align_app.command("export-human-eval")
@handle_errors
def export_command(
    a: Path = typer.Argument(
        ..., help="Generations of model A (evaluate's generations/epoch_NN.parquet)."
    ),
    b: Path = typer.Argument(..., help="Generations of model B."),
    *,
    name_a: str = typer.Option(None, "--name-a", help="Name of model A (default: its checkpoint)."),
    name_b: str = typer.Option(None, "--name-b", help="Name of model B."),
    seed: int = typer.Option(0, "--seed", help="Seed of the left/right assignment."),
    out: Path = typer.Option(
        ..., "--out", help="The raters' sheet, no model names (.csv, .jsonl, .parquet)."
    ),
    key: Path = typer.Option(
        None, "--key", help="Which model is on which side (default: OUT's name + .key)."
    ),
) -> None:
    """Side-by-side pairs for human rating: a blind sheet for raters and a separate key.

    Example: chatlens align export-human-eval eval/generations/epoch_00.parquet
    eval/generations/epoch_06.parquet --name-a base --name-b dpo-e6 --out to_rate.csv
    """
    from chatlens.align.export import export_human_eval

    export = export_human_eval(a, b, name_a=name_a, name_b=name_b, seed=seed)
    out, key = export.write(out, key=key)
    left = export.key["model_a"].value_counts().sort("model_a")
    lefts = ", ".join(f"{escape(m)} left {n}" for m, n in left.iter_rows())
    out_console.print(
        f"{export.key.height:,} side-by-side pairs ({lefts}); raters get {escape(out)} (no model "
        f"names), keep {escape(key)} from them. Once the winner column is filled in: "
        f"chatlens align unblind {escape(out)} --key {escape(key)} --out rated.csv, then "
        "chatlens ratings rated.csv --out ratings.csv"
    )


@align_app.command("unblind")
@handle_errors
def unblind_command(
    sheet: Path = typer.Argument(..., help="The raters' sheet with the winner column filled in."),
    *,
    key: Path = typer.Option(..., "--key", help="The key export-human-eval wrote with it."),
    out: Path = typer.Option(..., "--out", help="`chatlens ratings` input (.csv, .jsonl, ...)."),
) -> None:
    """Join a rated sheet with its key: model names back on each side, for `chatlens ratings`.

    Example: chatlens align unblind to_rate.csv --key to_rate.key.csv --out rated.csv
    """
    import polars as pl

    from chatlens.align.export import unblind
    from chatlens.corpus.tablefile import (
        neutralise_formulas,
        read_table,
        restore_formulas,
        write_table,
    )

    def read(path: Path) -> pl.DataFrame:
        f = read_table(path)
        if path.suffix.lower() != ".csv":
            return f
        return f.with_columns(restore_formulas(f[c]) for c, t in f.schema.items() if t == pl.String)

    frame = unblind(read(sheet), read(key), sheet_name=str(sheet), key_name=str(key))
    write_table(neutralise_formulas(frame) if out.suffix.lower() == ".csv" else frame, out)
    rated = int(frame["winner"].is_not_null().sum())
    out_console.print(
        f"{frame.height:,} rows ({rated:,} with a winner); wrote {escape(out)}: "
        f"chatlens ratings {escape(out)} --out ratings.csv"
    )


def register(app: typer.Typer) -> None:
    """Nothing to add at the top level: these commands live in the ``align`` group."""
    del app
