"""``chatlens align synthesize``: personas → sub-personas → biographies → dialogues.

Every LLM call goes through :mod:`chatlens.llm` (one client per generator model, all sharing the
response cache): concurrent up to ``concurrency``, cached, so a killed run resumes at no cost,
and costed from the price table. Every random choice (sub-persona buckets, the train/test split,
negative traits, which generators write each persona's dialogues and with which parameters) is
drawn from seeded generators, so the same inputs give the same rows.

Output: one row per dialogue (schema in :data:`COLUMNS`); rows whose biography or dialogue call
failed for good are kept with ``error`` set, never dropped silently.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens.align.personas import describe_persona, expand_personas, read_personas, split_personas
from chatlens.align.prompts import load_prompts, prompt_hash, render
from chatlens.errors import BadLLMResponse, InvalidParameterError, LLMError
from chatlens.llm.client import make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig
from chatlens.llm.jsonout import complete_json, extract_json

#: Output columns, in order.
COLUMNS = (
    "dialogue_id",
    "persona_id",
    "parent_id",
    "split",
    "generator",
    "params",
    "prompt_hash",
    "prompt",
    "dialogue",
    "error",
    "finish_reason",
    "persona",
    "biography",
)


#: Where a generator's parameters begin: a ``:`` followed by ``key=`` (not a model tag's ``:7b``).
_PARAMS = re.compile(r":(?=[A-Za-z_][\w.-]*=)")


@dataclass(frozen=True)
class GeneratorSpec:
    """A generator model; ``choices`` are drawn per dialogue (HAL: a random reasoning effort).

    Parsed from ``MODEL`` or ``MODEL:key=v1|v2,key2=v`` (values as JSON where they parse). The
    parameters start at the first ``:`` followed by ``key=``, so a model name with a tag (Ollama's
    ``qwen2.5:7b``) stays whole.

    >>> GeneratorSpec.parse("gpt-5-mini:reasoning_effort=low|high,top_p=0.9")
    GeneratorSpec(model='gpt-5-mini', fixed={'top_p': 0.9}, choices={'reasoning_effort': ['low', 'high']})
    >>> GeneratorSpec.parse("qwen2.5:7b:temperature=0.7").model
    'qwen2.5:7b'
    """

    model: str
    fixed: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> GeneratorSpec:
        start = _PARAMS.search(text)
        model, rest = (text[: start.start()], text[start.end() :]) if start else (text, "")
        if not model.strip():
            msg = f"Generator {text!r}: expected MODEL or MODEL:key=value|value,... ."
            raise InvalidParameterError(msg)
        fixed: dict[str, Any] = {}
        choices: dict[str, list[Any]] = {}
        for part in filter(None, rest.split(",")):
            key, sep, value = part.partition("=")
            if not sep or not key.strip():
                msg = f"Generator {text!r}: parameter {part!r} is not key=value."
                raise InvalidParameterError(msg)
            values = [_json_or_text(v) for v in value.split("|")]
            if len(values) > 1:
                choices[key.strip()] = values
            else:
                fixed[key.strip()] = values[0]
        return cls(model.strip(), fixed, choices)


def _json_or_text(v: str) -> Any:
    try:
        return json.loads(v)
    except ValueError:
        return v


@dataclass(frozen=True)
class SynthesisResult:
    """The dialogues and what they cost."""

    frame: pl.DataFrame
    n_personas: int
    n_sub_personas: int
    n_failed: int
    usage: dict[str, dict[str, Any]]
    config: dict[str, Any]

    @property
    def cost_usd(self) -> float | None:
        costs = [u.get("cost_usd") for u in self.usage.values()]
        return None if any(c is None for c in costs) else float(sum(costs))


def _bio_validator(fields: tuple[str, ...]) -> Any:
    def validate(text: str) -> dict[str, Any]:
        try:
            obj = extract_json(text)
        except ValueError as exc:
            raise BadLLMResponse(str(exc)) from None
        if not isinstance(obj, dict):
            msg = "expected one JSON object"
            raise BadLLMResponse(msg)
        missing = [f for f in fields if not str(obj.get(f) or "").strip()]
        if missing:
            msg = f"missing keys {missing}"
            raise BadLLMResponse(msg)
        return obj

    return validate


def clean_dialogue(text: str) -> str:
    """The dialogue without surrounding whitespace and ``<dialogue>`` tags (HAL cleaned likewise).

    >>> clean_dialogue("<dialogue>\\nP: hi\\nD: hello\\n</dialogue>")
    'P: hi\\nD: hello'
    """
    t = text.strip()
    for tag in ("<dialogue>", "</dialogue>"):
        t = t.replace(tag, "")
    return t.strip()


def _draw_jobs(
    subs: list[dict[str, Any]], gens: list[GeneratorSpec], per_persona: int, seed: int
) -> list[tuple[int, int, GeneratorSpec, dict[str, Any]]]:
    """(sub index, k, generator, params) per dialogue: generators without replacement while
    there are enough, parameter choices uniform — all from one seeded stream."""
    rng = np.random.default_rng([seed, 1])
    jobs = []
    for i, _ in enumerate(subs):
        idx = rng.choice(len(gens), size=per_persona, replace=per_persona > len(gens))
        for k, g in enumerate(idx):
            spec = gens[int(g)]
            params = dict(spec.fixed)
            for key, values in spec.choices.items():
                params[key] = values[int(rng.integers(len(values)))]
            jobs.append((i, k, spec, params))
    return jobs


def synthesize(
    personas: list[dict[str, Any]] | str | Path,
    *,
    generators: list[str | GeneratorSpec],
    config: LLMConfig,
    biography_model: str | None = None,
    dialogues_per_persona: int = 4,
    test_fraction: float = 0.1,
    seed: int = 0,
    rule: str | Path | None = None,
    prompts: str | Path | None = None,
    max_personas: int | None = None,
) -> SynthesisResult:
    """Generate persona dialogues (see the module docstring).

    ``config`` gives the endpoint, cache, concurrency and sampling settings; its ``model`` is
    replaced by each generator's (and by ``biography_model`` for the biographies, default: the
    first generator).
    """
    if dialogues_per_persona < 1:
        msg = f"The 'dialogues_per_persona' parameter of synthesize must be >= 1. Got {dialogues_per_persona}."
        raise InvalidParameterError(msg)
    gens = [g if isinstance(g, GeneratorSpec) else GeneratorSpec.parse(g) for g in generators]
    if not gens:
        msg = "synthesize needs at least one generator model (--generator)."
        raise InvalidParameterError(msg)
    people = read_personas(personas) if isinstance(personas, (str, Path)) else list(personas)
    if max_personas is not None:
        people = people[:max_personas]
    pr = load_prompts(prompts)
    subs = expand_personas(people, rule=rule, seed=seed)
    split = split_personas(subs, test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng([seed, 2])
    traits = [
        str(pr.negative_traits[int(rng.integers(len(pr.negative_traits)))])
        if rng.random() < pr.negative_trait_probability
        else ""
        for _ in subs
    ]
    bio_model = biography_model or gens[0].model
    jobs = _draw_jobs(subs, gens, dialogues_per_persona, seed)
    rows, usage = run_sync(_run(subs, traits, jobs, pr, config, bio_model))
    frame = pl.DataFrame(
        [{**r, "split": split[r["persona_id"]]} for r in rows],
        schema={c: pl.Int64 if c in ("persona_id", "parent_id") else pl.String for c in COLUMNS},
    ).select(COLUMNS)
    return SynthesisResult(
        frame=frame,
        n_personas=len(people),
        n_sub_personas=len(subs),
        n_failed=int(frame["error"].is_not_null().sum()),
        usage=usage,
        config={
            "llm": config.describe(),
            "generators": [
                {"model": g.model, "fixed": g.fixed, "choices": g.choices} for g in gens
            ],
            "biography_model": bio_model,
            "dialogues_per_persona": dialogues_per_persona,
            "test_fraction": test_fraction,
            "seed": seed,
            "prompts": f"{pr.name} {pr.version}",
        },
    )


async def _run(
    subs: list[dict[str, Any]],
    traits: list[str],
    jobs: list[Any],
    pr: Any,
    config: LLMConfig,
    bio_model: str,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    models = {bio_model, *(j[2].model for j in jobs)}
    clients = {m: make_client(config.with_(model=m)) for m in sorted(models)}
    validate = _bio_validator(tuple(pr.biography_fields))
    try:

        async def bio(i: int) -> Any:
            neg = pr.negative_trait_instruction.replace("{{trait}}", traits[i]) if traits[i] else ""
            msgs = render(
                pr.biography, {"persona": describe_persona(subs[i]), "negative_trait": neg}
            )
            return await complete_json(clients[bio_model], msgs, validate)

        bios = await map_async(bio, range(len(subs)), description="biographies")

        async def dialogue(job: Any) -> dict[str, Any]:
            i, k, spec, params = job
            sub, res = subs[i], bios[i]
            row: dict[str, Any] = {
                "dialogue_id": f"{sub['persona_id']}-{k}",
                "persona_id": sub["persona_id"],
                "parent_id": sub["parent_id"],
                "generator": spec.model,
                "params": json.dumps(params, sort_keys=True),
                "persona": json.dumps(sub, ensure_ascii=False, default=str),
                "prompt_hash": None,
                "prompt": None,
                "dialogue": None,
                "error": None,
                "finish_reason": None,
                "biography": None
                if res.value is None
                else json.dumps(res.value, ensure_ascii=False),
            }
            if res.value is None:
                row["error"] = f"biography: {res.error}"
                return row
            slots = {
                key: str(res.value.get(key, ""))
                for key in ("biography", "medical_condition", "reason_for_visit")
            }
            msgs = render(pr.dialogue, slots)
            row["prompt"] = render(pr.training, slots)[-1]["content"]
            row["prompt_hash"] = prompt_hash(msgs)
            client = clients[spec.model]
            try:
                resp = await client.complete(client.request(msgs, sample_index=k, **params))
            except LLMError as exc:  # failed after its retries: recorded, not fatal
                row["error"] = f"dialogue: {exc}"
                return row
            row["dialogue"], row["finish_reason"] = clean_dialogue(resp.text), resp.finish_reason
            return row

        rows = await map_async(dialogue, jobs, description="dialogues")
    finally:
        for c in clients.values():
            await c.aclose()
    return rows, {m: c.usage.report().to_dict() for m, c in clients.items()}
