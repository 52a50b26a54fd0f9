"""``chatlens align …``: persona dialogues → preference pairs → DPO/GRPO → evaluation.

Each command is a thin shell over a function of :mod:`chatlens.align` (docs/align.md). LLM keys
come from the environment variable named by ``--api-key-env`` and are never written anywhere.
"""

from __future__ import annotations

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
    help="OpenAI-compatible base URL (default: $CHATLENS_BASE_URL, else api.openai.com).",
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


def _llm(
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

    config = _llm(
        generator[0].partition(":")[0],
        base_url=base_url,
        api_key_env=api_key_env,
        concurrency=concurrency,
        timeout=timeout,
        max_retries=max_retries,
        cache=cache,
        no_cache=no_cache,
        prices=prices,
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

    check_reward(reward)
    try:
        lo, hi = (float(x) for x in ratio_bounds.split(","))
    except ValueError:
        msg = f"--ratio-bounds expects LOW,HIGH such as 0.67,1.5. Got {ratio_bounds!r}."
        raise InvalidParameterError(msg) from None
    rule = PairRule(
        k=k,
        length_control=length_control,
        ratio_bounds=(lo, hi),  # type: ignore[arg-type]
        balance=not no_balance,
        balance_ratio=balance_ratio,
        cap_per_persona=cap or None,
        heldout_fraction=heldout_fraction,
        seed=seed,
    )
    judge_config = None
    if reward != "hllite":
        judge_config = _llm(
            judge_model,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout=timeout,
            max_retries=max_retries,
            cache=cache,
            no_cache=no_cache,
            prices=prices,
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
    table = Table(title=f"align train ({res.method})", title_justify="left")
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
        f"examples {res.n_examples:,}; over the length limits: "
        f"{res.truncation.get('examples_truncated', 0):,}; resumed from "
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

    judge_config = None
    if judge_model:
        judge_config = _llm(
            judge_model,
            base_url=base_url,
            api_key_env=api_key_env,
            concurrency=concurrency,
            timeout=timeout,
            max_retries=max_retries,
            cache=cache,
            no_cache=no_cache,
            prices=prices,
        )
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
    )
    table = Table(
        title="align evaluate: change vs base (95% CI over prompts)", title_justify="left"
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
        table.add_row(str(row["epoch"]), escape(row["measure"]), mean, delta, ci)
    out_console.print(table)
    out_console.print(f"{s['prompts']} prompts; wrote {escape(out)}/curve.csv and summary.json")


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
    out: Path = typer.Option(..., "--out", help="Output table (.csv, .jsonl, .parquet)."),
) -> None:
    """Side-by-side pairs for human rating, in `chatlens ratings` input format.

    Example: chatlens align export-human-eval eval/generations/epoch_00.parquet
    eval/generations/epoch_06.parquet --name-a base --name-b dpo-e6 --out to_rate.csv
    """
    from chatlens.align.export import export_human_eval
    from chatlens.corpus.tablefile import neutralise_formulas, write_table

    frame = export_human_eval(a, b, name_a=name_a, name_b=name_b, seed=seed)
    write_table(neutralise_formulas(frame) if out.suffix.lower() == ".csv" else frame, out)
    left = frame["model_a"].value_counts().sort("model_a")
    sides = ", ".join(f"{escape(m)} left {n}" for m, n in left.iter_rows())
    out_console.print(
        f"{frame.height:,} side-by-side pairs ({sides}); fill the winner column, then: "
        f"chatlens ratings {escape(out)} --out ratings.csv"
    )


def register(app: typer.Typer) -> None:
    """Attach the ``align`` group to the root app."""
    app.add_typer(align_app, name="align")
