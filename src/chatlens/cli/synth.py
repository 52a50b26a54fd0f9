"""The ``synth`` command: write the synthetic LMSYS-shaped corpus with its ground truth."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from chatlens.cli._common import escape, handle_errors, out_console


@handle_errors
def synth_cmd(
    conversations: int = typer.Option(10_000, "--conversations", "-n", min=1, help="Number of conversations."),
    seed: int = typer.Option(0, "--seed", "-s", min=0, help="Random seed (same seed -> identical files)."),
    out: Path = typer.Option(..., "--out", "-o", help="Corpus file (.parquet, or .jsonl); sidecars go next to it."),
    format: str | None = typer.Option(None, "--format", "-f", help="parquet or jsonl (default: from the extension)."),
    models: int = typer.Option(12, "--models", min=1, help="Number of simulated models (1-18, Zipf-like popularity)."),
    language: list[str] | None = typer.Option(
        None, "--language", "-l", help="ISO code to include (repeatable; default: all ten: en zh es ru pt fr de it ja ko)."
    ),
    chunk_size: int = typer.Option(50_000, "--chunk-size", min=1, help="Conversations per written chunk (memory bound)."),
) -> None:
    """Write a synthetic LMSYS-Chat-1M-shaped corpus plus ground-truth sidecars.

    Example: chatlens synth --conversations 100000 --seed 1 --out data/synth.parquet
    """
    from chatlens.synth import synth

    result = synth(
        conversations,
        seed=seed,
        out=out,
        n_models=models,
        languages=language or None,
        format=format,  # type: ignore[arg-type]
        chunk_size=chunk_size,
    )
    out_console.print(
        f"[bold]wrote[/] {result.conversations:,} conversations, {result.messages:,} messages "
        f"({result.bytes_written / 1e6:,.1f} MB)"
    )
    files = Table(title="files", title_justify="left")
    files.add_column("what")
    files.add_column("path")
    for what, path in (
        ("corpus", result.path),
        ("truth (per message)", result.truth_path),
        ("truth (per conversation)", result.conversations_truth_path),
        ("manifest", result.manifest_path),
    ):
        files.add_row(what, escape(str(path)))
    out_console.print(files)
    table = Table(title="models (configured)", title_justify="left")
    for col in ("model", "popularity", "refusal rate", "capability share"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for row in result.models.iter_rows(named=True):
        table.add_row(
            escape(row["model"]),
            f"{row['popularity']:.1%}",
            f"{row['refusal_rate']:.1%}",
            f"{row['capability_share']:.0%}",
        )
    out_console.print(table)


def register(app: typer.Typer) -> None:
    """Add ``synth`` to the ``chatlens`` command."""
    app.command("synth")(synth_cmd)
