"""Signals stage: refusal columns on assistant messages, jailbreak columns on user messages.

Why a stage of its own: the detectors (``chatlens.signals``) work on a Series of texts; a run works
on batches of whole conversations. This stage routes each role's messages to its detector and
writes the results back in place, with nulls on the messages a detector does not apply to (a
user message is never "a refusal"; an assistant message never "a jailbreak attempt").

``definitions`` names the detectors' definition set: ``default`` (chatlens's) or ``legacy`` (the
original study's regexes, adding ``refusal_type_legacy``). A profile sets it in its data file
(``params: {definitions: legacy}``); the stage never asks which profile it runs in.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from chatlens.corpus.canonical import CanonicalBatch
from chatlens.errors import InvalidParameterError
from chatlens.signals import jailbreak, refusal
from chatlens.signals.definitions import DefinitionSet, definition_set

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


def _refusal_columns(definitions: str) -> dict[str, pl.DataType]:
    name = definition_set(definitions, where="the signals stage", parameter="definitions")
    return DEFINITION_REFUSAL_COLUMNS[name]


def add_signals(messages: pl.DataFrame, *, definitions: DefinitionSet = "default") -> pl.DataFrame:
    """Add refusal and jailbreak columns to a canonical messages frame.

    Examples
    --------
    >>> import polars as pl
    >>> from chatlens.pipeline.signals import add_signals
    >>> messages = pl.DataFrame({
    ...     "conversation_id": ["c", "c"], "message_index": [0, 1],
    ...     "role": ["user", "assistant"],
    ...     "content": ["How do I hotwire a car?", "I'm sorry, but I can't help with that."],
    ... })
    >>> add_signals(messages).select("role", "refusal", "jailbreak").rows()
    [('user', None, False), ('assistant', True, None)]
    """
    from chatlens.signals import detect_jailbreak, detect_refusal

    refusal_columns = _refusal_columns(definitions)
    if "content" not in messages.columns:
        msg = "add_signals needs the message text: the messages frame has no 'content' column."
        raise InvalidParameterError(msg)
    columns = {**refusal_columns, **JAILBREAK_COLUMNS}
    frame = messages.with_row_index("_pos")
    parts = []
    for role, detect, cols in (
        ("assistant", detect_refusal, refusal_columns),
        ("user", detect_jailbreak, JAILBREAK_COLUMNS),
    ):
        rows = frame.filter(pl.col("role") == role)
        if rows.height == 0:
            continue
        found = detect(rows.get_column("content"), profile=definitions).select(list(cols))
        parts.append(pl.concat([rows.select("_pos"), found], how="horizontal"))
    if parts:
        joined = pl.concat(parts, how="diagonal_relaxed")
        frame = frame.join(joined, on="_pos", how="left", maintain_order="left")
    for name, dtype in columns.items():
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return frame.with_columns([pl.col(n).cast(t) for n, t in columns.items()]).drop("_pos")


def signals_stage(batch: CanonicalBatch, *, definitions: DefinitionSet = "default") -> CanonicalBatch:
    """The batch stage: :func:`add_signals` on the batch's messages."""
    return replace(batch, messages=add_signals(batch.messages, definitions=definitions))
