"""Step 1: what distinguishes the dialogue that has the property (an LLM per pair, or given).

For each pair of contrasting dialogues the model says which one has the target property and
lists 3-5 general characteristics that distinguish it (prompt: ``instrument/characteristics.yaml``).
Its own verdict is checked against the label: a model that cannot tell the dialogues apart
writes characteristics of the wrong one (HAL reports 0.648 for GPT-5 on its games, hal.md 1.1),
so the accuracy is part of the result, with a Wilson interval.

Requests go through :mod:`chatlens.llm` (cache, retries, bounded re-asks): a killed run resumes
from the cache. A pair whose request failed for good makes the step fail (the answered pairs
stay cached, so a rerun sends only the missing ones); a pair whose answer stayed invalid after
the re-asks is excluded and counted with its reason, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from chatlens.errors import LLMError
from chatlens.instrument.prompts import Prompt
from chatlens.llm.client import make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig
from chatlens.llm.jsonout import complete_json, json_validator
from chatlens.stats.metrics import accuracy

__all__ = ["CharacteristicsResult", "find_characteristics", "given_characteristics"]

STATEMENT_SCHEMA = {"pair_id": pl.String, "statement_index": pl.Int64, "statement": pl.String}


@dataclass(frozen=True)
class CharacteristicsResult:
    """Statements (one row each) and per-pair verdicts, with the verdict accuracy."""

    statements: pl.DataFrame
    verdicts: pl.DataFrame
    source: str
    usage: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe counts and the verdict accuracy (null when there are no verdicts)."""
        v = self.verdicts
        judged = v.filter(pl.col("verdict").is_not_null())
        acc = None
        if judged.height:
            est = accuracy(float((judged["verdict"] == judged["label"]).sum()), judged.height)
            acc = {
                "value": round(est.value, 4),
                "ci_low": round(est.ci_low, 4),
                "ci_high": round(est.ci_high, 4),
                "n": est.n,
                "method": est.method,
            }
        errors = v.filter(pl.col("error").is_not_null())
        return {
            "source": self.source,
            "pairs": v.height,
            "statements": self.statements.height,
            "statements_per_pair": round(self.statements.height / max(v.height, 1), 3),
            "pairs_without_statements": int(v.height - self.statements["pair_id"].n_unique()),
            "verdict_accuracy": acc,
            "excluded_pairs": [
                {"pair_id": p, "reason": e} for p, e in errors.select("pair_id", "error").rows()
            ],
            "usage": self.usage,
        }


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines and Unicode line separators included) made
    one space.

    Why: a statement is one line wherever it goes next. The condense prompt lists statements as
    ``- ...`` lines under ``Cluster N (size statements):`` headings and the judge prompt lists
    items as ``N. ...`` lines, so a newline inside a model's statement would write headings or
    items of its own (a statement read from a hostile dialogue can carry one on purpose).
    """
    return " ".join(text.split())


def _statement_frame(pair_ids: list[str], lists: list[list[str]]) -> pl.DataFrame:
    cleaned = [[t for t in (one_line(s) for s in lst) if t] for lst in lists]
    rows = [(p, i, s) for p, lst in zip(pair_ids, cleaned, strict=True) for i, s in enumerate(lst)]
    return pl.DataFrame(rows, schema=STATEMENT_SCHEMA, orient="row")


def given_characteristics(pairs: pl.DataFrame) -> CharacteristicsResult:
    """Statements from the input's statements column (``--statements-column``): no LLM call.

    A ``verdict`` column (``--verdict-column``), when present, gives the verdict accuracy of
    whoever wrote the statements.
    """
    verdict = (
        pairs["verdict"]
        if "verdict" in pairs.columns
        else pl.Series([None] * pairs.height, dtype=pl.String)
    )
    verdicts = pl.DataFrame(
        {
            "pair_id": pairs["pair_id"],
            "label": pairs["label"],
            "verdict": verdict.cast(pl.String),
            "error": pl.Series([None] * pairs.height, dtype=pl.String),
        }
    )
    lists = pairs["statements"].to_list()
    return CharacteristicsResult(
        _statement_frame(pairs["pair_id"].to_list(), lists), verdicts, "given"
    )


def find_characteristics(
    pairs: pl.DataFrame,
    *,
    prompt: Prompt,
    target: str,
    config: LLMConfig | None = None,
    client: Any = None,
) -> CharacteristicsResult:
    """Ask the model, for every pair, which dialogue has ``target`` and what distinguishes it.

    Parameters
    ----------
    pairs
        From :func:`~chatlens.instrument.inputs.read_pairs` (``pair_id, a, b, label``).
    prompt
        The characteristics prompt (placeholders ``property``, ``a``, ``b``).
    target
        The property in words (e.g. "the witness in this dialogue is the human").
    config, client
        LLM settings, or a ready client (closed by the caller).

    Raises
    ------
    LLMError
        Some requests failed for good; answered pairs are cached and a rerun resumes.
    """
    validate = json_validator(prompt.output)
    rows = list(zip(pairs["a"].to_list(), pairs["b"].to_list(), strict=True))

    async def run() -> tuple[list[Any], dict[str, Any]]:
        own = client is None
        c = make_client(config) if own else client  # type: ignore[arg-type]

        async def one(pair: tuple[str, str]) -> Any:
            messages = prompt.render({"property": target, "a": pair[0], "b": pair[1]})
            return await complete_json(c, messages, validate)

        try:
            results = await map_async(one, rows, description="characteristics per pair")
        finally:
            if own:
                await c.aclose()
        return results, c.usage.report().to_dict()

    results, usage = run_sync(run())
    failed = [
        p for p, r in zip(pairs["pair_id"].to_list(), results, strict=True) if r.failed_request
    ]
    if failed:
        msg = (
            f"{len(failed)} of {len(results)} pairs got no answer (first: pair {failed[0]!r}: "
            f"{next(r.error for r in results if r.failed_request)}). Answered pairs are cached: "
            "rerun the same command to resume."
        )
        raise LLMError(msg)
    lists = [r.value["characteristics"] if r.ok else [] for r in results]
    verdicts = pl.DataFrame(
        {
            "pair_id": pairs["pair_id"],
            "label": pairs["label"],
            "verdict": pl.Series(
                [r.value["verdict"] if r.ok else None for r in results], dtype=pl.String
            ),
            "error": pl.Series([None if r.ok else r.error for r in results], dtype=pl.String),
        }
    )
    return CharacteristicsResult(
        _statement_frame(pairs["pair_id"].to_list(), lists), verdicts, "llm", usage
    )
