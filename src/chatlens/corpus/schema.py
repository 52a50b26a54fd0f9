"""The canonical corpus: two Arrow tables with declared schemas, plus the reader contract.

Why a reader contract separate from the canonical tables: every source format looks different,
but once a reader has turned a record into *one conversation with a list of messages* the rest
(role normalisation, turn numbering, repairs, quarantine, explode into one row per message) is the
same for all of them. Readers therefore emit :data:`NESTED_SCHEMA` frames and
:func:`chatlens.corpus.canonical.canonicalize` does the shared work once, vectorised.

Tables
------
``messages``       one row per message (:data:`MESSAGES_SCHEMA`)
``conversations``  one row per conversation (:data:`CONVERSATIONS_SCHEMA`)
``quarantine``     one row per record set aside, with file, row and reason (:data:`QUARANTINE_SCHEMA`)
"""

from __future__ import annotations

import re

import polars as pl

from chatlens.vocabulary import ROLES

#: Per-message fields a reader may fill (all optional except role/content).
MESSAGE_STRUCT = pl.Struct(
    {
        "role": pl.String,  # raw role as found in the source; normalised later
        "content": pl.String,
        "language": pl.String,
        "timestamp": pl.Datetime("us", "UTC"),
        "moderation_flagged": pl.Boolean,
        "moderation_categories": pl.List(pl.String),  # categories flagged True
        "moderation_max_score": pl.Float64,
        "toxic": pl.Boolean,
        "redacted": pl.Boolean,
    }
)

#: What every reader yields: one row per conversation, messages nested, provenance attached.
NESTED_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,  # none in the source -> "<file>#<row>" (file relative to the source root)
    "source": pl.String,  # format name, e.g. "lmsys", "wildchat", "sharegpt"
    "model": pl.String,
    "language": pl.String,
    "user_id": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "moderation_flagged": pl.Boolean,
    "extra": pl.String,  # JSON object with source-specific fields (battle id, vote, ...)
    "messages": pl.List(MESSAGE_STRUCT),
    "_file": pl.String,  # provenance: the file the record came from
    "_row": pl.Int64,  # provenance: 0-based record index in that file
}

MESSAGES_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "message_index": pl.Int32,  # 0-based position in the conversation
    "turn": pl.Int32,  # 1-based user->assistant round
    "role": pl.String,  # one of ROLES
    "content": pl.String,
    "language": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "moderation_flagged": pl.Boolean,
    "moderation_categories": pl.List(pl.String),
    "moderation_max_score": pl.Float64,
    "toxic": pl.Boolean,
    "redacted": pl.Boolean,
    "content_chars": pl.Int64,  # length before any truncation
    "truncated": pl.Boolean,
}

CONVERSATIONS_SCHEMA: dict[str, pl.DataType] = {
    "conversation_id": pl.String,
    "source": pl.String,
    "model": pl.String,
    "language": pl.String,
    "n_turns": pl.Int32,
    "n_messages": pl.Int32,
    "user_id": pl.String,
    "timestamp": pl.Datetime("us", "UTC"),
    "moderation_flagged": pl.Boolean,
    "extra": pl.String,
}

QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.String,
    "row": pl.Int64,
    "conversation_id": pl.String,
    "reason": pl.String,
    "raw": pl.String,  # the offending record, truncated to a few kB
}


#: A JSON string token (or one cut off by the end of a truncated record) and, when a colon
#: follows it, that colon (the token is then a key); else a bare run between JSON's
#: structural characters (group 2: a number, true/false/null, or text outside any string).
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*(?:"(\s*:)?|$)|([^\s{}\[\],:"]+)')
_JSON_BARE_VALUE = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


def _sketch(raw: str) -> str:
    """A raw record without its text: JSON string values become ``"<N chars>"`` (keys, numbers,
    booleans and the nesting stay, so the shape that got it quarantined still shows); anything
    that is not a JSON object or array (a CSV line, a cut record) is only its length. A record
    that opens like JSON but has text outside double quotes (a Python repr with single quotes,
    free text after a ``{``) is not JSON: every bare run is sketched, its numbers too."""
    if not raw.lstrip().startswith(("{", "[")):
        return f"<{len(raw)} characters>"
    json_like = all(
        _JSON_BARE_VALUE.fullmatch(m.group(2))
        for m in _JSON_TOKEN.finditer(raw)
        if m.group(2) is not None
    )

    def value(m: re.Match[str]) -> str:
        token = m.group(0)
        if m.group(2) is not None:
            return token if json_like else f"<{len(token)} chars>"
        if m.group(1):
            return token
        closed = len(token) > 1 and token.endswith('"')
        return f'"<{len(token) - 2} chars>"' if closed else f'"<{len(token) - 1} chars, cut>'

    return _JSON_TOKEN.sub(value, raw)


def quarantine_without_text(quarantine: pl.DataFrame) -> pl.DataFrame:
    """The quarantine of a run that keeps no text (the default: run directories get shared, and
    conversation text is personal data): ``raw`` sketched by :func:`_sketch`, so a malformed
    record's messages do not survive in ``quarantine.parquet`` when every other table drops them.
    Quarantined rows are the exception path, so a per-row regex is affordable here."""
    if quarantine.height == 0:
        return quarantine
    return quarantine.with_columns(
        pl.col("raw").map_elements(_sketch, return_dtype=pl.String, skip_nulls=True))


def empty_frame(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with exactly ``schema`` (used for empty inputs and batches)."""
    return pl.DataFrame(schema=schema)


def conform(df: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Add missing columns as nulls, cast to the declared types and order columns as declared.

    Readers fill only what their format has; this makes their output match the contract. Extra
    columns are dropped (they belong in ``extra``).
    """
    exprs = []
    for name, dtype in schema.items():
        if name in df.columns:
            exprs.append(pl.col(name).cast(dtype, strict=False))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return df.select(exprs)


def messages_from_list(column: str | pl.Expr, **fields: pl.Expr) -> pl.Expr:
    """Build a ``List(MESSAGE_STRUCT)`` column from a source list column, vectorised.

    ``fields`` maps :data:`MESSAGE_STRUCT` field names to expressions over ``pl.element()`` (one
    source list element); fields not given become null. Example, for ShareGPT's
    ``conversations[{from, value}]``::

        messages_from_list(
            "conversations",
            role=pl.element().struct.field("from"),
            content=pl.element().struct.field("value"),
        )
    """
    unknown = set(fields) - set(MESSAGE_STRUCT.to_schema())
    if unknown:
        msg = f"messages_from_list got unknown message fields {sorted(unknown)}; expected a subset of {list(MESSAGE_STRUCT.to_schema())}."
        raise ValueError(msg)
    parts = [
        (fields[name].cast(dtype, strict=False) if name in fields else pl.lit(None, dtype=dtype)).alias(name)
        for name, dtype in MESSAGE_STRUCT.to_schema().items()
    ]
    col = pl.col(column) if isinstance(column, str) else column
    return col.list.eval(pl.struct(parts)).cast(pl.List(MESSAGE_STRUCT))


__all__ = [
    "CONVERSATIONS_SCHEMA",
    "MESSAGES_SCHEMA",
    "MESSAGE_STRUCT",
    "NESTED_SCHEMA",
    "QUARANTINE_SCHEMA",
    "ROLES",
    "conform",
    "empty_frame",
    "messages_from_list",
]
