"""``chatlens align …``: persona dialogues → preference pairs → DPO/GRPO → evaluation.

Each command is a thin shell over a function of :mod:`chatlens.align` (docs/align.md). LLM keys
come from the environment variable named by ``--api-key-env`` and are never written anywhere.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from chatlens.cli._common import escape, handle_errors, no_result, out_console

align_app = typer.Typer(
    name="align",
    help="Alignment toward human-likeness: synthesize, pairs, train (DPO/GRPO), evaluate, export.",
    no_args_is_help=True,
)

# LLM options shared by the commands that call a model (typer reads these as defaults).
BASE_URL = typer.Option(
    None,
    "--base-url",
    help="OpenAI-compatible base URL (default: $CHATLENS_BASE_URL, else $OPENAI_BASE_URL, else api.openai.com).",
)
API_KEY_ENV = typer.Option(
    "OPENAI_API_KEY", "--api-key-env", help="Environment variable holding the API key."
)
CONCURRENCY = typer.Option(8, "--concurrency", help="Requests in flight at once (per model).")
TIMEOUT = typer.Option(120.0, "--timeout", help="Per-request timeout in seconds.")
MAX_RETRIES = typer.Option(5, "--max-retries", help="Retries on 429/5xx/timeouts.")
CACHE = typer.Option(
    None,
    "--cache",
    help="Response cache directory (default: ~/.cache/chatlens/llm); a rerun resumes from it.",
)
NO_CACHE = typer.Option(False, "--no-cache", help="Do not read or write the response cache.")
PRICES = typer.Option(None, "--prices", help="YAML price table overriding the bundled one.")


def llm_config(
    model: str,
    *,
    base_url: str | None,
    api_key_env: str,
    concurrency: int,
    timeout: float,
    max_retries: int,
    cache: Path | None,
    no_cache: bool,
    prices: Path | None,
    temperature: float | None = 0.0,
    max_tokens: int | None = 1024,
) -> Any:
    from chatlens.cli.judge import default_cache_dir
    from chatlens.llm.config import LLMConfig

    return LLMConfig.from_env(
        model=model,
        base_url=base_url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout_s=timeout,
        max_retries=max_retries,
        temperature=temperature,
        max_tokens=max_tokens,
        cache_dir=None if no_cache else (cache or default_cache_dir()),
        prices_path=prices,
    )


LLM_OPTIONS = (
    "base_url",
    "api_key_env",
    "concurrency",
    "timeout",
    "max_retries",
    "cache",
    "no_cache",
    "prices",
)


def llm_options(values: dict[str, Any]) -> dict[str, Any]:
    """The shared LLM options out of a command's arguments (``llm_options(locals())``)."""
    return {k: values[k] for k in LLM_OPTIONS}


def _cost(usage: dict[str, Any]) -> str:
    c = usage.get("cost_usd")
    return "unknown (no price)" if c is None else f"${c:.4f}"


@align_app.command("synthesize")
@handle_errors
def synthesize_command(
    personas: Path = typer.Argument(..., help="Personas: JSON array, JSONL or CSV (one per row)."),
    *,
    generator: list[str] = typer.Option(
        ...,
        "--generator",
        help="Generator model, repeatable: MODEL or MODEL:key=v1|v2 (a value per dialogue drawn from v1|v2).",
    ),
    biography_model: str = typer.Option(
        None,
        "--biography-model",
        help="Model writing the biographies (default: the first generator).",
    ),
    dialogues_per_persona: int = typer.Option(
        4,
        "--dialogues-per-persona",
        help="Dialogues per sub-persona, each by a generator drawn at random.",
    ),
    test_fraction: float = typer.Option(
        0.1, "--test-fraction", help="Share of personas (by parent) held out as test."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    max_personas: int = typer.Option(None, "--max-personas", help="Use the first N personas only."),
    rule: Path = typer.Option(
        None, "--rule", help="Oversampling rule YAML (default: HAL's 4 buckets)."
    ),
    prompts: Path = typer.Option(None, "--prompts", help="Prompt templates YAML (default: HAL's)."),
    temperature: float = typer.Option(
        0.7, "--temperature", help="Sampling temperature of the generators."
    ),
    max_tokens: int = typer.Option(2048, "--max-tokens", help="Max tokens per answer."),
    base_url: str = BASE_URL,
    api_key_env: str = API_KEY_ENV,
    concurrency: int = CONCURRENCY,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    cache: Path = CACHE,
    no_cache: bool = NO_CACHE,
    prices: Path = PRICES,
    out: Path = typer.Option(
        ..., "--out", help="Output folder (dialogues.parquet, synthesis.json)."
    ),
) -> None:
    """Expand personas into sub-personas, write biographies and dialogues with several models.

    Example: chatlens align synthesize personas.json --generator gpt-4.1-mini
    --generator "gpt-5-mini:reasoning_effort=low|medium|high" --base-url http://localhost:8000/v1
    --out synth/
    """
    from chatlens.align.steps import synthesize_to
    from chatlens.align.synthesize import GeneratorSpec

    config = llm_config(
        GeneratorSpec.parse(generator[0]).model,
        **llm_options(locals()),
        temperature=temperature,
        max_tokens=max_tokens,
    )
    res = synthesize_to(
        out,
        personas,
        generators=list(generator),
        config=config,
        biography_model=biography_model,
        dialogues_per_persona=dialogues_per_persona,
        test_fraction=test_fraction,
        seed=seed,
        rule=rule,
        prompts=prompts,
        max_personas=max_personas,
    )
    table = Table(title="align synthesize", title_justify="left")
    for col in ("model", "requests", "cache hits", "failures", "tokens in / out", "cost"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for model, u in res.usage.items():
        table.add_row(
            escape(model),
            f"{u['requests']:,}",
            f"{u['cache_hits']:,}",
            f"{u['failures']:,}",
            f"{u['prompt_tokens']:,} / {u['completion_tokens']:,}",
            _cost(u),
        )
    out_console.print(table)
    total = "unknown (a model has no price)" if res.cost_usd is None else f"${res.cost_usd:.4f}"
    out_console.print(
        f"{res.n_personas} personas → {res.n_sub_personas} sub-personas → "
        f"{res.frame.height:,} dialogues ({res.n_failed:,} failed, see column error); "
        f"cost {total}; wrote {escape(out)}"
    )
    if res.n_failed == res.frame.height:
        no_result("Every biography or dialogue request failed: see the error column.")


@align_app.command("pairs")
@handle_errors
def pairs_command(
    inputs: list[Path] = typer.Argument(
        ..., help="Dialogue tables (synthesize's dialogues.parquet, or HAL's scored CSVs)."
    ),
    *,
    reward: str = typer.Option("hllite", "--reward", help="hllite | judge | both."),
    speaker: str = typer.Option("P", "--speaker", help="Label of the rated speaker's lines."),
    k: float = typer.Option(0.5, "--k", help="Pair when the reward gap exceeds k·SD (HAL: 0.5)."),
    length_control: str = typer.Option(
        "ratio", "--length-control", help="ratio | residual | none."
    ),
    length_measure: str = typer.Option(
        "dialogue", "--length-measure", help="dialogue (words) | turn (words per speaker turn)."
    ),
    ratio_bounds: str = typer.Option(
        "0.67,1.5", "--ratio-bounds", help="LOW,HIGH bounds of words(chosen)/words(rejected)."
    ),
    no_balance: bool = typer.Option(
        False, "--no-balance", help="Do not balance wins across generators."
    ),
    balance_ratio: float = typer.Option(
        1.0, "--balance-ratio", help="Max A-over-B pairs per B-over-A pair."
    ),
    cap: int = typer.Option(3, "--cap", help="Max pairs per persona (0 = no cap)."),
    heldout_fraction: float = typer.Option(
        0.1, "--heldout-fraction", help="Personas held out when there is no split column."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the held-out draw."),
    persona_column: str = typer.Option(
        "persona_id", "--persona-column", help="Persona id column (HAL's samples: dialogue_id)."
    ),
    prompt_column: str = typer.Option("prompt", "--prompt-column", help="Prompt column."),
    text_column: str = typer.Option("dialogue", "--text-column", help="Dialogue column."),
    generator_column: str = typer.Option(
        "generator",
        "--generator-column",
        help="Generator column (absent: the file's path names it).",
    ),
    split_column: str = typer.Option(
        None, "--split-column", help="train/test column (default: 'split' when present)."
    ),
    judge_model: str = typer.Option(
        None, "--judge-model", help="Judge model for --reward judge|both."
    ),
    instrument: str = typer.Option("hal16q", "--instrument", help="Judge instrument."),
    base_url: str = BASE_URL,
    api_key_env: str = API_KEY_ENV,
    concurrency: int = CONCURRENCY,
    timeout: float = TIMEOUT,
    max_retries: int = MAX_RETRIES,
    cache: Path = CACHE,
    no_cache: bool = NO_CACHE,
    prices: Path = PRICES,
    out: Path = typer.Option(..., "--out", help="Output folder (pairs.jsonl, data_card.md, ...)."),
) -> None:
    """Score dialogues and build preference pairs within a persona, with length control.

    Example: chatlens align pairs HAL16_output/*/*/scored/*.csv --persona-column dialogue_id
    --reward hllite --length-control residual --out pairs/
    """
    from chatlens.align.pairs import PairRule
    from chatlens.align.rewards import check_reward
    from chatlens.align.steps import pairs_to
    from chatlens.errors import InvalidParameterError
    from chatlens.llm.config import ENV_MODEL

    check_reward(reward)
    try:
        lo, hi = (float(x) for x in ratio_bounds.split(","))
    except ValueError:
        msg = f"--ratio-bounds expects LOW,HIGH such as 0.67,1.5. Got {ratio_bounds!r}."
        raise InvalidParameterError(msg) from None
    rule = PairRule(
        k=k,
        length_control=length_control,
        ratio_bounds=(lo, hi),
        length_measure=length_measure,  # type: ignore[arg-type]
        balance=not no_balance,
        balance_ratio=balance_ratio,
        cap_per_persona=cap or None,
        heldout_fraction=heldout_fraction,
        seed=seed,
    )
    judge_config = None
    if reward != "hllite":
        if not (judge_model or os.environ.get(ENV_MODEL)):
            # LLMConfig's own message names --model, which this command does not have
            msg = f"--reward {reward} needs a judge model: pass --judge-model (or set {ENV_MODEL})."
            raise InvalidParameterError(msg)
        judge_config = llm_config(
            judge_model,
            **llm_options(locals()),
        )
    res = pairs_to(
        out,
        list(inputs),
        reward=reward,
        rule=rule,
        speaker=speaker,
        text_column=text_column,
        prompt_column=prompt_column,
        persona_column=persona_column,
        generator_column=generator_column,
        split_column=split_column,
        judge_config=judge_config,
        instrument=instrument,
    )
    card = res.card
    table = Table(title="align pairs", title_justify="left")
    table.add_column("step")
    table.add_column("count", justify="right")
    for key, value in card["counts"].items():
        table.add_row(key.replace("_", " "), f"{value:,}")
    out_console.print(table)
    side = Table(title="chosen vs rejected", title_justify="left")
    for col in ("", "HAL rule: chosen", "rejected", "final: chosen", "rejected"):
        side.add_column(col, justify="right")
    b, a = card["before_length_control"], card["after"]
    for key in ("mean_reward", "mean_words", "mean_words_per_turn"):
        side.add_row(
            key.replace("_", " "),
            *(str(s.get(x, {}).get(key, "–")) for s in (b, a) for x in ("chosen", "rejected")),
        )
    out_console.print(side)
    out_console.print(f"wrote {escape(out)}/pairs.jsonl (TRL conversational), data_card.md")
    if res.pairs.height == 0:
        no_result("No pair passed the rules: see data_card.md for the count after each step.")


def register(app: typer.Typer) -> None:
    """Attach the ``align`` group to the root app."""
    app.add_typer(align_app, name="align")
