"""The pipeline steps as functions that write their artefacts (each with a provenance sidecar).

The CLI commands call these; scripts and notebooks can too. Layout of an output folder:

* synthesize: ``dialogues.parquet``, ``synthesis.json`` (counts, usage and cost per model);
* pairs: ``pairs.jsonl`` (TRL conversational format), ``pairs_meta.parquet`` (the same rows with
  persona, dialogue ids, generators, rewards, gap, lengths), ``heldout_prompts.parquet``,
  ``scored.parquet``, ``data_card.json`` and ``data_card.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatlens.align.pairs import PairRule, PairsResult, build_pairs, card_markdown
from chatlens.align.provenance import Provenance, config_hash, file_sha256
from chatlens.align.rewards import score_dialogues
from chatlens.align.synthesize import SynthesisResult, synthesize
from chatlens.align.tables import (
    read_dialogues,
    write_artefact,
    write_json_artefact,
    write_jsonl_artefact,
    write_text_artefact,
)


def synthesize_to(out: str | Path, personas: str | Path, **kwargs: Any) -> SynthesisResult:
    """:func:`~chatlens.align.synthesize.synthesize` and write its artefacts to ``out``."""
    out = Path(out)
    res = synthesize(personas, **kwargs)
    prov = Provenance(
        "dialogues",
        model=",".join(g["model"] for g in res.config["generators"]),
        config_hash=config_hash(res.config),
        inputs={"personas": file_sha256(personas)},
        extra={"config": res.config},
    )
    write_artefact(res.frame, out / "dialogues.parquet", prov)
    write_json_artefact(
        {
            "personas": res.n_personas,
            "sub_personas": res.n_sub_personas,
            "dialogues": res.frame.height,
            "failed": res.n_failed,
            "cost_usd": res.cost_usd,
            "usage": res.usage,
            "config": res.config,
        },
        out / "synthesis.json",
        prov,
    )
    return res


def pairs_to(
    out: str | Path,
    inputs: list[str | Path],
    *,
    reward: str = "hllite",
    rule: PairRule | None = None,
    speaker: str = "P",
    text_column: str = "dialogue",
    prompt_column: str = "prompt",
    persona_column: str = "persona_id",
    generator_column: str = "generator",
    id_column: str | None = None,
    split_column: str | None = None,
    judge_config: Any = None,
    judge_client: Any = None,
    instrument: str = "hal16q",
) -> PairsResult:
    """Score the dialogue tables, build pairs, write them (see module docstring)."""
    out = Path(out)
    rule = rule or PairRule()
    frame = read_dialogues(list(inputs), generator_column=generator_column)
    if split_column is None and "split" in frame.columns:
        split_column = "split"
    if id_column is None and "dialogue_id" in frame.columns and persona_column != "dialogue_id":
        id_column = "dialogue_id"
    # synthesize's parent persona: the held-out prompts keep it, so evaluate's intervals
    # resample people, not their correlated sub-personas
    parent_column = (
        "parent_id" if "parent_id" in frame.columns and persona_column != "parent_id" else None
    )
    failed = 0
    if "error" in frame.columns:  # synthesize's failed rows have no dialogue: left out, counted
        failed = int(frame["error"].is_not_null().sum())
        frame = frame.filter(frame["error"].is_null())
    scored = score_dialogues(
        frame,
        reward=reward,
        text_column=text_column,
        speaker=speaker,
        judge_config=judge_config,
        judge_client=judge_client,
        instrument=instrument,
    )
    res = build_pairs(
        scored.frame,
        rule=rule,
        persona_column=persona_column,
        prompt_column=prompt_column,
        text_column=text_column,
        generator_column=generator_column,
        id_column=id_column,
        split_column=split_column,
        parent_column=parent_column,
    )
    card = {
        **res.card,
        "counts": {"dialogues_failed_in_synthesis": failed, **res.card["counts"]},
        "reward": scored.info,
    }
    judge_llm = judge_config or getattr(judge_client, "config", None)
    settings = {
        "reward": reward,
        "speaker": speaker,
        "rule": res.card["rule"],
        "instrument": instrument if reward != "hllite" else None,
        # which columns were the persona, prompt, ... and which judge scored: either changes
        # the pairs, so it is part of the hash (credential-free: LLMConfig.describe())
        "columns": {
            "persona": persona_column,
            "prompt": prompt_column,
            "text": text_column,
            "generator": generator_column,
            "id": id_column,
            "split": split_column,
            "parent": parent_column,
        },
        "judge": judge_llm.describe() if judge_llm is not None and reward != "hllite" else None,
    }
    prov = Provenance(
        "pairs",
        config_hash=config_hash(settings),
        inputs={str(p): file_sha256(p) for p in inputs},
        extra={"settings": settings},
    )
    write_artefact(scored.frame, out / "scored.parquet", prov)
    write_jsonl_artefact(res.trl_rows(), out / "pairs.jsonl", prov)
    write_artefact(res.pairs.drop("prompt", "chosen", "rejected"), out / "pairs_meta.parquet", prov)
    write_artefact(res.heldout, out / "heldout_prompts.parquet", prov)
    write_json_artefact(card, out / "data_card.json", prov)
    write_text_artefact(card_markdown(card), out / "data_card.md", prov)
    return PairsResult(res.pairs, res.heldout, card)
