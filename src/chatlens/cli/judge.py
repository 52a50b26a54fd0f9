"""``chatlens humanlike judge``: rate dialogues with an LLM judge on a questionnaire.

Attaches the ``judge`` command to the ``humanlike`` group (``chatlens.cli.humanlike``). Example
against a local vLLM server::

    chatlens humanlike judge games.csv --instrument hal16q --text-column transcript \\
        --speaker W --model Qwen/Qwen2.5-14B-Instruct --base-url http://localhost:8000/v1 \\
        --concurrency 16 --cache .llm-cache --out rated.parquet

The key comes from the environment variable named by ``--api-key-env`` (``OPENAI_API_KEY`` by
default); it is never written anywhere. A killed run, rerun with the same options, resumes from
the cache. Invalid answers are kept (column ``hl_error``) and counted, never fatal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chatlens._cache import cache_root
from chatlens._json import strict_json
from chatlens.cli._common import escape, handle_errors, no_result, out_console, printable
from chatlens.cli.humanlike import humanlike_app
from chatlens.errors import InvalidParameterError


def default_cache_dir() -> Path:
    """``<cache root>/llm`` (``~/.cache/chatlens/llm`` unless ``CHATLENS_CACHE_DIR`` is set)."""
    return cache_root() / "llm"


def summary_path(out: Path) -> Path:
    """The JSON summary written beside ``OUT`` (``rated.parquet`` -> ``rated.judge.json``)."""
    return out.with_name(out.stem + ".judge.json")


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``["top_p=1", "stop=[\"\\n\"]"]`` -> ``{"top_p": 1, "stop": ["\\n"]}`` (JSON, else text)."""
    out: dict[str, Any] = {}
    for text in pairs:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            msg = f"--param expects KEY=VALUE such as 'top_p=0.9'. Got {text!r}."
            raise InvalidParameterError(msg)
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


@humanlike_app.command("judge")
@handle_errors
def judge_command(
    input: Path = typer.Argument(..., help="CSV / JSONL / JSON / Parquet file, one dialogue per row."),
    *,
    instrument: str = typer.Option("hal16q", "--instrument", help="Instrument name or YAML file."),
    text_column: str = typer.Option("dialogue", "--text-column", help="Column with the transcript."),
    speaker: str = typer.Option(None, "--speaker", help="Label of the rated speaker (W, P, ...)."),
    model: str = typer.Option(None, "--model", help="Model name, or a local model directory (default: $CHATLENS_MODEL)."),
    base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible base URL (default: $CHATLENS_BASE_URL, else $OPENAI_BASE_URL, else api.openai.com)."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."),
    backend: str = typer.Option("auto", "--backend", help="auto | openai | transformers."),
    concurrency: int = typer.Option(8, "--concurrency", help="Requests in flight at once."),
    timeout: float = typer.Option(120.0, "--timeout", help="Per-request timeout in seconds."),
    max_retries: int = typer.Option(5, "--max-retries", help="Retries on 429/5xx/timeouts."),
    max_reasks: int = typer.Option(2, "--max-reasks", help="Re-asks after an invalid answer."),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature."),
    max_tokens: int = typer.Option(1024, "--max-tokens", help="Max answer tokens (0 = server default)."),
    param: list[str] = typer.Option(
        [], "--param",
        help="Extra request parameter KEY=VALUE (VALUE as JSON; null = do not send), repeatable: "
        "e.g. --param top_p=1, or for reasoning models --param max_tokens=null "
        "--param temperature=null --param max_completion_tokens=8000.",
    ),
    samples: int = typer.Option(1, "--samples", help="Answers per dialogue, averaged (use with --temperature > 0)."),
    cache: Path = typer.Option(None, "--cache", help="Response cache directory (default: ~/.cache/chatlens/llm); a rerun resumes from it."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the response cache."),
    prices: Path = typer.Option(None, "--prices", help="YAML price table overriding the bundled one."),
    out: Path = typer.Option(..., "--out", help="Output table (.csv, .jsonl, .parquet)."),
) -> None:
    """Rate each dialogue with an LLM judge; adds hl_item_<key>, hl_logit, hl_prob, hl_error.

    Example: chatlens humanlike judge games.csv --instrument hal16q --text-column transcript
    --speaker W --model gpt-4o-mini --concurrency 16 --out rated.parquet
    """
    from chatlens.corpus.tablefile import read_table, write_table
    from chatlens.humanlike.judge import judge
    from chatlens.llm.config import LLMConfig

    config = LLMConfig.from_env(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        backend=backend,  # type: ignore[arg-type]
        timeout_s=timeout,
        max_retries=max_retries,
        max_reasks=max_reasks,
        concurrency=concurrency,
        temperature=temperature,
        max_tokens=max_tokens or None,
        params=parse_params(param),
        cache_dir=None if no_cache else (cache or default_cache_dir()),
        prices_path=prices,
    )
    frame = read_table(input)
    result = judge(
        frame, instrument=instrument, text_column=text_column, speaker=speaker,
        config=config, samples=samples,
    )
    write_table(result.frame, out)
    summary = result.summary()
    summary["input"] = {"path": str(input), "rows": frame.height}
    summary["output"] = str(out)
    summary_path(out).write_text(json.dumps(strict_json(summary), indent=2, allow_nan=False),
                                 encoding="utf-8")

    usage = result.usage
    table = Table(title=f"humanlike judge: {escape(result.instrument)} {escape(result.instrument_version)}",
                  title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")
    cost = "unknown (no price)" if usage.cost_usd is None else f"${usage.cost_usd:.4f}"
    rows = [
        ("dialogues", f"{result.n_rows:,}"),
        ("valid ratings", f"{result.n_valid:,}"),
        ("invalid (see hl_error)", f"{result.n_invalid:,}"),
        ("  of which failed requests", f"{result.n_failed_requests:,}"),
    ]
    if result.samples > 1:
        rows += [
            ("valid answers / asked", f"{result.n_valid_samples:,} / {result.n_asked_samples:,}"),
            (f"  dialogues with 1-{result.samples - 1} valid", f"{result.n_partial:,}"),
        ]
    for name, value in [
        *rows,
        ("requests sent", f"{usage.requests:,}"),
        ("cache hits", f"{usage.cache_hits:,}"),
        ("retries / re-asks", f"{usage.retries:,} / {usage.reasks:,}"),
        ("tokens in / out", f"{usage.prompt_tokens:,} / {usage.completion_tokens:,}"),
        ("cost", cost),
    ]:
        table.add_row(name, value)
    out_console.print(table)
    out_console.print(printable(f"wrote {out} and {summary_path(out)}"), markup=False)
    if result.n_valid == 0:
        no_result(f"No dialogue of {input} got a valid rating (of {result.n_rows:,}; "
                        f"{result.n_failed_requests:,} failed requests): see hl_error in {out}.")


def register(app: typer.Typer) -> None:
    """Nothing to add at the top level: ``judge`` lives in the ``humanlike`` group."""
    del app
