"""LLM-judge labels for the log analysis: refusal type and user reaction (``--detector llm``).

For users with a strong model on a server: the lexical detectors are fast and validated, an LLM
judge can be more accurate on hard cases. Prompts are data files
(``chatlens/data/llm/<task>.yaml``: ``messages`` with ``{{text}}``/``{{context}}`` placeholders
and an ``output`` JSON schema); a user's YAML file with the same keys works the same way. Every
property of the output schema becomes a column ``llm_<name>``; invalid answers are re-asked
(bounded) and then recorded in ``llm_error``, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from chatlens import datafiles
from chatlens.datafiles.schemas import LabelPromptFile
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.llm.client import make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig
from chatlens.llm.delimit import delimiter_tags, neutralise_tags
from chatlens.llm.jsonout import JsonSchema, complete_json, json_validator

LabelTask = Literal["refusal_type", "reaction"]
TASKS: tuple[str, ...] = ("refusal_type", "reaction")
_PLACEHOLDERS = ("{{text}}", "{{context}}")
#: ``llm_error`` of an empty or null text: no request was sent (there is nothing to label).
EMPTY_TEXT = "empty text"
_POLARS_TYPES = {"string": pl.String, "boolean": pl.Boolean, "integer": pl.Int64,
                 "number": pl.Float64}


@dataclass(frozen=True)
class LabelPrompt:
    """A labelling prompt: chat message templates and the JSON schema of the answer."""

    name: str
    version: str
    messages: tuple[tuple[str, str], ...]
    output: dict[str, Any]
    path: str

    @property
    def fields(self) -> dict[str, Any]:
        """Answer property -> polars dtype (the ``llm_<name>`` columns)."""
        props = self.output.get("properties", {})
        return {k: _POLARS_TYPES.get(v.get("type"), pl.String) for k, v in props.items()}

    def render(self, text: str, context: str | None = None) -> list[dict[str, str]]:
        """Fill the placeholders in one pass (text containing ``{{…}}`` is never re-expanded, and
        cannot close the template's tags early: :mod:`chatlens.llm.delimit`)."""
        tags = delimiter_tags(template for _, template in self.messages)
        values = {"{{text}}": neutralise_tags(text, tags),
                  "{{context}}": neutralise_tags(context or "", tags)}
        out = []
        for role, template in self.messages:
            parts = []
            rest = template
            while True:
                hits = [(rest.find(p), p) for p in _PLACEHOLDERS if p in rest]
                if not hits:
                    parts.append(rest)
                    break
                pos, ph = min(hits)
                parts.append(rest[:pos] + values[ph])
                rest = rest[pos + len(ph):]
            out.append({"role": role, "content": "".join(parts)})
        return out


def load_label_prompt(task: str | Path) -> LabelPrompt:
    """A bundled prompt by task name (``refusal_type``, ``reaction``) or a user YAML file."""
    if isinstance(task, str) and task in TASKS:
        source: str | Path = f"llm/{task}.yaml"
    else:
        source = Path(task)
        if not source.is_file():
            msg = f"Unknown label task {str(task)!r}: expected one of {list(TASKS)} or a YAML file."
            raise InvalidParameterError(msg)
    doc, record = datafiles.load_with_record(source, kind="label-prompt")
    return label_prompt_from_file(doc, record.file)


def label_prompt_from_file(doc: LabelPromptFile, where: str) -> LabelPrompt:
    """The prompt of a validated prompt file; its ``output`` must be a JSON schema we support."""
    try:
        JsonSchema(doc.output)
    except InvalidParameterError as exc:
        raise DataFileError(where, "output", "a supported JSON schema", str(exc)) from None
    return LabelPrompt(doc.name if doc.name is not None else where, str(doc.version),
                       tuple((m.role, m.content) for m in doc.messages), doc.output, where)


def llm_label(
    texts: Sequence[str | None],
    task: LabelTask | str | Path = "refusal_type",
    *,
    context: Sequence[str | None] | None = None,
    client: Any = None,
    config: LLMConfig | None = None,
) -> pl.DataFrame:
    """Label each text with an LLM judge; one output row per input text, in order.

    Parameters
    ----------
    texts
        Assistant messages (``refusal_type``) or user follow-ups (``reaction``).
    task
        ``refusal_type``, ``reaction`` or the path of a user prompt file.
    context
        Per text, the message it reacts to (``{{context}}``; used by ``reaction``).
    client, config
        A ready client (closed by the caller), or a config to build one from.

    Returns
    -------
    polars.DataFrame
        ``llm_<field>`` per answer field (``llm_label``; ``llm_partial`` for refusal_type),
        ``llm_error`` (why there is no label; null when labelled) and ``llm_n_reasks``.
        Empty or null texts get ``llm_error = "empty text"`` without a request.

    Examples
    --------
    >>> from chatlens.llm import MockTransport, make_client
    >>> stub = MockTransport(lambda r: '{"label": "policy", "partial": false}')
    >>> client = make_client(LLMConfig(model="stub"), transport=stub)
    >>> llm_label(["I can't help with that.", ""], "refusal_type", client=client).rows()
    [('policy', False, None, 0), (None, None, 'empty text', 0)]
    """
    prompt = load_label_prompt(task)
    if context is not None and len(context) != len(texts):
        msg = f"context has {len(context)} entries but texts has {len(texts)}; they must match."
        raise InvalidParameterError(msg)
    if client is None and config is None:
        msg = "llm_label needs an LLMConfig (config=...) or a ready client (client=...)."
        raise InvalidParameterError(msg)
    validate = json_validator(prompt.output)
    ctx = list(context) if context is not None else [None] * len(texts)

    async def run() -> list[Any]:
        own = client is None
        c = make_client(config) if own else client  # type: ignore[arg-type]

        async def one(pair: tuple[str | None, str | None]) -> Any:
            text, before = pair
            if text is None or not str(text).strip():
                return None
            return await complete_json(c, prompt.render(str(text), before), validate)

        try:
            return await map_async(one, list(zip(texts, ctx, strict=True)), description=f"LLM labels ({prompt.name})")
        finally:
            if own:
                await c.aclose()

    results = run_sync(run())
    fields = prompt.fields
    data: dict[str, list[Any]] = {f"llm_{k}": [] for k in fields}
    errors: list[str | None] = []
    reasks: list[int] = []
    for r in results:
        ok = r is not None and r.ok
        for k in fields:
            data[f"llm_{k}"].append(r.value.get(k) if ok else None)
        errors.append(None if ok else (EMPTY_TEXT if r is None else r.error))
        reasks.append(0 if r is None else r.n_reasks)
    columns = [pl.Series(f"llm_{k}", data[f"llm_{k}"], dtype=dt) for k, dt in fields.items()]
    columns += [pl.Series("llm_error", errors, dtype=pl.String),
                pl.Series("llm_n_reasks", reasks, dtype=pl.Int64)]
    return pl.DataFrame(columns)
