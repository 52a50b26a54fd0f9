"""Refusal and jailbreak columns on a frame of canonical messages, routed by role.

Why here, in the signals package: the detectors work on a Series of texts, a run (and the
validation of per-conversation signals) works on whole conversations. :func:`add_signals` routes
each role's messages to its detector — with, for the context refusal model, the user message each
reply answers — and writes the results back in place, with nulls on the messages a detector does
not apply to (a user message is never "a refusal"; an assistant message never "a jailbreak
attempt"). The ``signals`` stage of a run (:mod:`chatlens.pipeline.signals`) and ``chatlens
validate``'s ``refusal_overturned`` check both call it, so they cannot route differently.

``definitions`` names the detectors' definition set: ``default`` (chatlens's) or ``legacy`` (the
original study's regexes, adding ``refusal_type_legacy``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.signals import jailbreak, refusal
from chatlens.signals.definitions import DefinitionSet, definition_set
from chatlens.signals.inputs import distinct_texts

#: Columns this stage adds to ``messages`` (null where the detector does not apply): the
#: detectors' own output schemas, so a detector and its stage cannot disagree on a column.
REFUSAL_COLUMNS: dict[str, pl.DataType] = dict(refusal.OUTPUT_SCHEMA)
LEGACY_COLUMNS: dict[str, pl.DataType] = {"refusal_type_legacy": pl.String}
JAILBREAK_COLUMNS: dict[str, pl.DataType] = dict(jailbreak.OUTPUT_SCHEMA)


#: The refusal columns of each definition set (the jailbreak columns are the same in both).
DEFINITION_REFUSAL_COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "default": REFUSAL_COLUMNS,
    "legacy": {**REFUSAL_COLUMNS, **LEGACY_COLUMNS},
}


RefusalModel = Literal["rules", "context", "encoder"]
JailbreakModel = Literal["rules", "learned"]
#: Refusal models that read the user message each reply answers.
CONTEXT_MODELS = ("context", "encoder")


def _tier(value: str | None, allowed: object, parameter: str, definitions: DefinitionSet,
          best: str) -> str:
    """The detector tier: ``None`` means the most accurate tier of the definition set (the learned
    tiers implement chatlens's definitions only; the legacy set is its regexes)."""
    if value is None:
        return best if definitions == "default" else "rules"
    if value not in get_args(allowed):
        msg = (f"The {parameter!r} parameter of the signals stage must be one of "
               f"{', '.join(get_args(allowed))}. Got {value!r}.")
        raise InvalidParameterError(msg)
    if value != "rules" and definitions != "default":
        msg = (f"The learned tiers implement chatlens's definitions only; "
               f"definitions={definitions!r} needs {parameter}='rules'.")
        raise InvalidParameterError(msg)
    return value


def _with_requests(frame: pl.DataFrame) -> pl.DataFrame:
    """``_request``: the user message right before each message in its conversation, else null."""
    order = frame.sort("conversation_id", "message_index")
    same = pl.col("conversation_id").shift(1) == pl.col("conversation_id")
    prev_user = same & (pl.col("role").shift(1) == "user")
    order = order.with_columns(
        _request=pl.when(prev_user).then(pl.col("content").shift(1)).otherwise(None))
    return frame.join(order.select("_pos", "_request"), on="_pos", how="left", maintain_order="left")


def _detector(role: str, refusal_model: str, jailbreak_model: str,
              definitions: DefinitionSet) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """rows (with ``content`` and, for the context model, ``_request``) → the role's columns."""
    if role == "assistant" and refusal_model in CONTEXT_MODELS:
        from chatlens.signals.refusal_model import detect_refusal_in_context

        encoder = refusal_model == "encoder"
        return lambda rows: detect_refusal_in_context(rows.get_column("content"),
                                                      rows.get_column("_request"), encoder=encoder)
    if role == "user" and jailbreak_model == "learned":
        from chatlens.signals.jailbreak_learned import detect_jailbreak_learned

        return lambda rows: once_per_text(detect_jailbreak_learned, rows.get_column("content"))
    detect = refusal.detect_refusal if role == "assistant" else jailbreak.detect_jailbreak
    return lambda rows: once_per_text(lambda t: detect(t, profile=definitions),
                                      rows.get_column("content"))


def once_per_text(detect: Callable[[pl.Series], pl.DataFrame], texts: pl.Series) -> pl.DataFrame:
    """``detect(texts)`` computed once per distinct text (:func:`~chatlens.signals.inputs.
    distinct_texts`), row for row the same frame: in LMSYS-shaped partitions a quarter of the
    user messages, a fifth of their bytes, are exact repeats."""
    distinct, index = distinct_texts(texts)
    return detect(texts) if index is None else detect(distinct)[index]


def add_signals(messages: pl.DataFrame, *, definitions: DefinitionSet = "default",
                refusal_model: RefusalModel | None = None,
                jailbreak_model: JailbreakModel | None = None) -> pl.DataFrame:
    """Add refusal and jailbreak columns to a canonical messages frame.

    ``refusal_model``: ``context`` (the default for chatlens's definitions: the cue scorer united
    with the context model, :mod:`chatlens.signals.refusal_model`, which also reads the user
    message each reply answers — the most accurate tier on real logs that fits the speed budget,
    ``chatlens validate``), ``encoder`` (``context`` blended with a fine-tuned transformer,
    :mod:`chatlens.signals.refusal_encoder`: more accurate out of source, about 800 replies a
    second, needs the ``encoder`` extra) or ``rules`` (the cue scorer alone, on the reply; the
    only tier of the legacy definitions).
    ``jailbreak_model``: ``learned`` (default for chatlens's definitions:
    :mod:`chatlens.signals.jailbreak_learned`) or ``rules``.

    Examples
    --------
    >>> import polars as pl
    >>> from chatlens.signals.messages import add_signals
    >>> messages = pl.DataFrame({
    ...     "conversation_id": ["c", "c"], "message_index": [0, 1],
    ...     "role": ["user", "assistant"],
    ...     "content": ["How do I hotwire a car?", "I'm sorry, but I can't help with that."],
    ... })
    >>> add_signals(messages).select("role", "refusal", "jailbreak").rows()
    [('user', None, False), ('assistant', True, None)]
    """
    definitions = definition_set(definitions, where="the signals stage", parameter="definitions")
    refusal_columns = DEFINITION_REFUSAL_COLUMNS[definitions]
    refusal_model = _tier(refusal_model, RefusalModel, "refusal_model", definitions, "context")
    jailbreak_model = _tier(jailbreak_model, JailbreakModel, "jailbreak_model", definitions,
                            "learned")
    if "content" not in messages.columns:
        msg = "add_signals needs the message text: the messages frame has no 'content' column."
        raise InvalidParameterError(msg)
    columns = {**refusal_columns, **JAILBREAK_COLUMNS}
    frame = messages.with_row_index("_pos")
    if refusal_model in CONTEXT_MODELS:
        frame = _with_requests(frame)
    parts = []
    for role, cols in (("assistant", refusal_columns), ("user", JAILBREAK_COLUMNS)):
        rows = frame.filter(pl.col("role") == role)
        if rows.height == 0:
            continue
        detect = _detector(role, refusal_model, jailbreak_model, definitions)
        found = detect(rows).select(list(cols))
        parts.append(pl.concat([rows.select("_pos"), found], how="horizontal"))
    if parts:
        joined = pl.concat(parts, how="diagonal_relaxed")
        frame = frame.join(joined, on="_pos", how="left", maintain_order="left")
    for name, dtype in columns.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    # a fixed column order, whichever roles the batch holds (a prompts-only batch used to put the
    # jailbreak columns first and break the run's Parquet schema)
    kept = [c for c in messages.columns if c not in columns]
    return frame.with_columns([pl.col(n).cast(t) for n, t in columns.items()]).select(
        *kept, *columns)
