"""Nested reader output → the canonical ``messages`` and ``conversations`` tables.

Every reader hands over one row per conversation with its messages nested (``NESTED_SCHEMA``).
The work that is the same for every format happens here, once, vectorised over the whole batch
(no Python loop over rows):

* **ids** — a conversation without an id gets ``<file>#<row>``: stable across runs. Readers
  build it from the file's path relative to the source root (``train/data.jsonl#0``,
  ``test/data.jsonl#0``); for a frame that did not come from a reader, :func:`assign_ids` takes
  the last component of ``_file``.
* **roles** — raw names (``human``, ``gpt``, ``Human:``, ``bot``, ``prompter`` …) map to
  ``user|assistant|system|tool`` through the data file ``data/corpus/roles.yaml``.
* **turns** — ``turn`` is the 1-based user→assistant round: a new round starts at a user message
  that follows a non-user message. Messages before the first user message (a system prompt, an
  assistant greeting) belong to round 1.

Documented repairs (counted in ``repairs``, never silent):

* ``empty_content`` — a null content becomes ``""``; the message is kept (an empty assistant
  reply is itself a behaviour worth counting).
* ``non_alternating`` — two consecutive messages with the same role are kept as they are; turns
  are numbered by the rule above. Counted per conversation.
* ``truncated`` — content longer than ``max_message_chars`` is cut to that length;
  ``content_chars`` keeps the original length and ``truncated`` marks the message.

Quarantined (whole conversation, with file, row and reason), the first that applies: no messages;
a message whose role is missing or unknown; a conversation id already seen on a kept conversation
(in this batch or an earlier one: only kept ids cross batches and partitions, so the rule and the
reason are the same within one).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from chatlens import datafiles
from chatlens.corpus.schema import (
    CONVERSATIONS_SCHEMA,
    MESSAGES_SCHEMA,
    NESTED_SCHEMA,
    QUARANTINE_SCHEMA,
    ROLES,
    conform,
    empty_frame,
)
from chatlens.errors import InvalidParameterError

#: Default cap on one message's length (characters). A 50 MB paste would otherwise dominate
#: memory and every downstream scan; 200k characters is far beyond any real chat turn.
DEFAULT_MAX_MESSAGE_CHARS = 200_000
RAW_PREVIEW_CHARS = 2_000


@lru_cache(maxsize=1)
def role_map() -> dict[str, str]:
    """Raw role name (normalised: trimmed, lower-case, no trailing ':') → canonical role."""
    mapping: dict[str, str] = {}
    for canonical, names in datafiles.load("corpus/roles.yaml").roles.items():
        for name in names:
            mapping[str(name).strip().lower()] = canonical
    for canonical in ROLES:
        mapping[canonical] = canonical
    return mapping


def normalise_role(expr: pl.Expr) -> pl.Expr:
    """Map a raw role column to canonical roles; unknown or missing roles become null."""
    key = expr.str.strip_chars().str.to_lowercase().str.strip_chars_end(":").str.strip_chars()
    return key.replace_strict(role_map(), default=None, return_dtype=pl.String)


@dataclass(frozen=True)
class CanonicalBatch:
    """One batch of whole conversations in canonical form."""

    messages: pl.DataFrame
    conversations: pl.DataFrame
    quarantine: pl.DataFrame
    repairs: dict[str, int] = field(default_factory=dict)
    #: conversations that entered this batch (= conversations + quarantined rows)
    records_in: int = 0
    #: raw source records behind them (lines, rows, trees); an HH pair or an Arena battle is one
    #: record but two conversations, an OASST tree one record but many paths
    source_records: int | None = None

    @classmethod
    def empty(cls) -> CanonicalBatch:
        return cls(
            empty_frame(MESSAGES_SCHEMA),
            empty_frame(CONVERSATIONS_SCHEMA),
            empty_frame(QUARANTINE_SCHEMA),
        )


def _quarantine_rows(nested: pl.DataFrame, reason: pl.Expr) -> pl.DataFrame:
    """Quarantine rows for (a filtered) nested frame, with the raw record as truncated JSON.

    Columns starting with ``_`` (provenance, helpers) are not part of the raw record.
    """
    payload = [c for c in nested.columns if not c.startswith("_")]
    return nested.select(
        pl.col("_file").alias("file"),
        pl.col("_row").alias("row"),
        pl.col("conversation_id"),
        reason.alias("reason"),
        pl.struct(payload).struct.json_encode().str.slice(0, RAW_PREVIEW_CHARS).alias("raw"),
    ).pipe(conform, QUARANTINE_SCHEMA)


def assign_ids(nested: pl.DataFrame) -> pl.DataFrame:
    """``nested`` (``NESTED_SCHEMA``) with every missing ``conversation_id`` set to
    ``<file name>#<row>`` (the last component of ``_file``).

    Why separate: duplicate checks must compare the ids conversations end up with, and a reader
    batch's id-less records only get theirs here; readers already fill them from the path
    relative to the source root, so this fallback serves frames built by hand.
    """
    if nested.get_column("conversation_id").null_count() == 0:
        return nested
    file_name = pl.col("_file").fill_null("input").str.split("/").list.last()
    return nested.with_columns(
        pl.coalesce(
            pl.col("conversation_id"),
            pl.format("{}#{}", file_name, pl.col("_row").fill_null(pl.int_range(pl.len()))),
        ).alias("conversation_id"),
    )


def canonicalize(
    nested: pl.DataFrame,
    *,
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    seen_ids: pl.Series | None = None,
) -> CanonicalBatch:
    """Turn one nested reader batch into canonical messages and conversations.

    Parameters
    ----------
    nested
        A frame following ``NESTED_SCHEMA`` (missing columns are added as nulls).
    max_message_chars
        Longer messages are truncated (``truncated=True``, ``content_chars`` = original length).
    seen_ids
        Conversation ids already emitted by earlier batches of the same run; a repeat is
        quarantined as a duplicate.

    Examples
    --------
    >>> import polars as pl
    >>> from chatlens.corpus.canonical import canonicalize
    >>> nested = pl.DataFrame({
    ...     "conversation_id": ["c1"], "_file": ["f.jsonl"], "_row": [0],
    ...     "messages": [[{"role": "Human:", "content": "hi"}, {"role": "gpt", "content": "hello"}]],
    ... })
    >>> batch = canonicalize(nested)
    >>> batch.messages.select("role", "turn").rows()
    [('user', 1), ('assistant', 1)]
    """
    if max_message_chars < 1:
        msg = f"max_message_chars must be >= 1. Got {max_message_chars} instead."
        raise InvalidParameterError(msg)
    records_in = nested.height
    nested = conform(nested, NESTED_SCHEMA)
    if nested.height == 0:
        return CanonicalBatch.empty()

    nested = assign_ids(nested).with_columns(
        pl.col("messages").list.len().alias("_n"), pl.int_range(pl.len()).alias("_i")
    )

    quarantined: list[pl.DataFrame] = []

    # A message whose role is missing or unknown sets its whole conversation aside. Found per
    # record before the duplicate check, because whether a record is kept decides whether a
    # later record with its id is a repeat.
    roles = (  # the roles only: the texts are not copied
        nested.filter(pl.col("_n") > 0)
        .select(
            "_i",
            pl.col("messages").list.eval(pl.element().struct.field("role")).alias("role"),
            pl.int_ranges(0, pl.col("_n"), dtype=pl.Int32).alias("message_index"),
        )
        .explode(["role", "message_index"])
    )
    first_bad = (
        roles.filter(normalise_role(pl.col("role")).is_null())
        .group_by("_i", maintain_order=True)
        .agg(
            pl.format(
                "message {}: role {} is missing or not a known role (expected one of {} or a name in data/corpus/roles.yaml)",
                pl.col("message_index").first(),
                pl.when(pl.col("role").is_null())
                .then(pl.lit("(null)"))
                .otherwise(pl.format("'{}'", pl.col("role").first().str.slice(0, 40)))
                .first(),
                pl.lit("/".join(ROLES)),
            ).alias("_role_reason")
        )
    )
    nested = nested.join(first_bad, on="_i", how="left", maintain_order="left")

    # A record is set aside for its own defects first (no messages, a bad role), and only an
    # otherwise valid one for its id: a duplicate is a record whose id an earlier *kept* record
    # has (in this batch, or ``seen_ids``). Why: across batches and partitions only the ids of
    # kept conversations are known, and a worker cannot know that a record with a bad role
    # repeats a kept id of another partition; with any other rule the tables and the quarantine
    # reasons depended on the batch size and on the engine.
    kept = (pl.col("_n") > 0) & pl.col("_role_reason").is_null()
    first_kept = pl.col("_i").filter(kept).min().over("conversation_id")
    dup = first_kept.is_not_null() & (first_kept < pl.col("_i"))
    if seen_ids is not None and seen_ids.len() > 0:
        dup = dup | pl.col("conversation_id").is_in(seen_ids.implode())
    nested = nested.with_columns(
        pl.when(pl.col("_n") == 0)
        .then(pl.lit("conversation has no messages"))
        .when(pl.col("_role_reason").is_not_null())
        .then(pl.col("_role_reason"))
        .when(dup)
        .then(pl.lit("duplicate conversation_id (an earlier record has the same id)"))
        .alias("_reason")
    )
    bad = nested.filter(pl.col("_reason").is_not_null())
    if bad.height:
        quarantined.append(_quarantine_rows(bad, pl.col("_reason")))
        nested = nested.filter(pl.col("_reason").is_null())
    nested = nested.drop("_reason", "_role_reason", "_i")

    # Explode to one row per message, with 0-based message_index, no group-by needed.
    exploded = (
        nested.select(
            "conversation_id",
            "_n",
            pl.col("messages"),
            pl.int_ranges(0, pl.col("_n"), dtype=pl.Int32).alias("message_index"),
        )
        .explode(["messages", "message_index"])
        .unnest("messages")
        .with_columns(normalise_role(pl.col("role")).alias("_role_norm"))
    )
    exploded = exploded.with_columns(pl.col("_role_norm").alias("role")).drop("_role_norm")
    messages, repairs = _number_and_repair(exploded, max_message_chars)

    last = messages.filter(pl.col("message_index") == pl.col("_n") - 1).select(
        "conversation_id", pl.col("turn").alias("n_turns")
    )
    conversations = (
        nested.drop("messages")
        .with_columns(pl.col("_n").alias("n_messages"))
        .join(last, on="conversation_id", how="left", maintain_order="left")
        .pipe(conform, CONVERSATIONS_SCHEMA)
    )
    messages = conform(messages, MESSAGES_SCHEMA)
    quarantine = (
        pl.concat(quarantined, how="vertical") if quarantined else empty_frame(QUARANTINE_SCHEMA)
    )
    return CanonicalBatch(messages, conversations, quarantine, repairs, records_in, records_in)


def round_starts(first: pl.Expr) -> pl.Expr:
    """Where a user→assistant round (``turn``) begins: a user message that opens its conversation
    (``first``) or follows a non-user message. One rule for the corpus's numbering and for the
    features' round count without a conversations table (:func:`chatlens.features._frame.rounds`).
    """
    return (pl.col("role") == "user") & (first | (pl.col("role").shift(1) != "user"))


def _number_and_repair(
    exploded: pl.DataFrame, max_message_chars: int
) -> tuple[pl.DataFrame, dict[str, int]]:
    """Turn numbering and content repairs on contiguous per-conversation message rows."""
    first = pl.col("message_index") == 0
    starts = round_starts(first).cast(pl.Int32)
    same_as_prev = (~first) & (pl.col("role") == pl.col("role").shift(1)) & pl.col("role").is_in(["user", "assistant"])
    frame = exploded.with_columns(
        starts.alias("_start"),
        same_as_prev.alias("_same"),
        pl.col("content").is_null().alias("_null"),
        pl.col("content").fill_null("").str.len_chars().cast(pl.Int64).alias("content_chars"),
    ).with_columns(pl.col("_start").cum_sum().alias("_cum"))
    offset = pl.when(first).then(pl.col("_cum") - pl.col("_start")).otherwise(None).forward_fill()
    frame = frame.with_columns(
        (pl.col("_cum") - offset).clip(lower_bound=1).cast(pl.Int32).alias("turn"),
        (pl.col("content_chars") > max_message_chars).alias("truncated"),
        pl.col("content").fill_null("").str.slice(0, max_message_chars).alias("content"),
    )
    counts = frame.select(
        pl.col("_null").sum().alias("empty_content"),
        pl.col("truncated").sum().alias("truncated"),
        pl.col("conversation_id").filter(pl.col("_same")).n_unique().alias("non_alternating"),
    ).row(0, named=True)
    repairs = {k: int(v) for k, v in counts.items() if v}
    return frame.drop("_start", "_same", "_null", "_cum"), repairs


def merge_repairs(parts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Sum repair counters from several batches."""
    total: dict[str, int] = {}
    for part in parts:
        for key, value in part.items():
            total[key] = total.get(key, 0) + int(value)
    return dict(sorted(total.items()))
