"""The corpus API: any supported source → canonical batches, an eager corpus, or a summary.

``iter_batches`` is the streaming core (bounded memory whatever the input size); ``read`` collects
it for corpora that fit in memory; ``info`` summarises a source without keeping it. All three take
the same source options, which they hand to :func:`chatlens.corpus.sources.open_batches`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from chatlens._repr import short_repr
from chatlens.corpus.canonical import (
    DEFAULT_MAX_MESSAGE_CHARS,
    CanonicalBatch,
    assign_ids,
    canonicalize,
)
from chatlens.corpus.readers.base import ReaderBatch
from chatlens.corpus.schema import (
    CONVERSATIONS_SCHEMA,
    MESSAGES_SCHEMA,
    NESTED_SCHEMA,
    QUARANTINE_SCHEMA,
    conform,
    empty_frame,
)
from chatlens.corpus.summary import CorpusSummary, SummaryAccumulator
from chatlens.errors import AccountingError

if TYPE_CHECKING:
    from chatlens.corpus.sources import SourceScan

#: A file, directory, glob, hub id, a list of them, or an in-memory table (polars / pandas
#: DataFrame, pyarrow Table: read like a Parquet file of the same columns).
SourceLike = str | Path | Sequence[str | Path] | object


@dataclass(frozen=True)
class SourceOptions:
    """How to read a source. One value object shared by ``read``, ``info`` and ``analyze``."""

    format: str | None = None
    column_map: Mapping[str, str] | None = None
    layout: Literal["message", "conversation"] | None = None
    batch_size: int = 50_000
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    oasst_paths: Literal["all", "best"] = "all"
    hf_token: str | None = None

    def open(self, source: SourceLike) -> SourceScan:
        """The lazy scan of ``source`` read with these options (resolve files, pick the reader).

        A :class:`~chatlens.corpus.sources.SourceScan` is returned as it is: a caller that
        opened the source once (``analyze``) hands the scan on instead of resolving the files
        and detecting the format again in every step.
        """
        from chatlens.corpus.sources import SourceScan, open_batches

        if isinstance(source, SourceScan):
            return source

        return open_batches(
            source,
            format=self.format,
            column_map=self.column_map,
            layout=self.layout,
            batch_size=self.batch_size,
            oasst_paths=self.oasst_paths,
            hf_token=self.hf_token,
        )

    def public(self) -> dict[str, object]:
        """The options as recorded in a manifest (never the token)."""
        return {
            "format": self.format,
            "column_map": dict(self.column_map) if self.column_map else None,
            "layout": self.layout,
            "batch_size": self.batch_size,
            "max_message_chars": self.max_message_chars,
            "oasst_paths": self.oasst_paths,
            "hf_token": "(set)" if self.hf_token else None,
        }


class CanonicalStream:
    """Iterates canonical batches of a source; exposes format and files once opened."""

    def __init__(self, source: SourceLike, options: SourceOptions) -> None:
        self.options = options
        self._scan = options.open(source)
        self.format: str = self._scan.format
        self.files = list(self._scan.files)

    @property
    def total_bytes(self) -> int:
        return sum(int(getattr(f, "size", 0) or 0) for f in self.files)

    def __iter__(self) -> Iterator[CanonicalBatch]:
        from chatlens.corpus.progress import iter_with_progress

        seen: set[str] = set()
        for raw in iter_with_progress(self._scan, f"reading {self.format}"):
            yield canonical_batch(raw, seen, max_message_chars=self.options.max_message_chars)


def canonical_batch(raw: ReaderBatch, seen: set[str], *, max_message_chars: int) -> CanonicalBatch:
    """One reader batch → one canonical batch, merging the reader's quarantine and repairs.

    ``seen`` holds the ids already emitted by this stream (updated in place): a Python set keeps
    the duplicate check O(batch); the (rare) overlapping ids are handed to ``canonicalize``, which
    quarantines them with a reason. The engine calls this per partition too.
    """
    nested = assign_ids(conform(raw.nested, NESTED_SCHEMA))  # compare the ids kept, not raw ones
    ids = nested.get_column("conversation_id").to_list() if nested.height else []
    overlap = seen.intersection(ids)
    batch = canonicalize(
        nested,
        max_message_chars=max_message_chars,
        seen_ids=pl.Series("conversation_id", sorted(overlap), dtype=pl.String) if overlap else None,
    )
    if batch.conversations.height + batch.quarantine.height != raw.nested.height:
        msg = (f"canonicalising {raw.nested.height:,} conversation(s) gave "
               f"{batch.conversations.height:,} analysed + {batch.quarantine.height:,} quarantined. "
               "This is a chatlens bug; please report it with the input.")
        raise AccountingError(msg)
    seen.update(batch.conversations.get_column("conversation_id").to_list())
    quarantine = batch.quarantine
    if raw.quarantine.height:
        quarantine = pl.concat([conform(raw.quarantine, QUARANTINE_SCHEMA), quarantine], how="vertical")
    repairs = dict(batch.repairs)
    for key, value in raw.repairs.items():
        repairs[key] = repairs.get(key, 0) + int(value)
    return CanonicalBatch(
        batch.messages,
        batch.conversations,
        quarantine,
        repairs,
        records_in=raw.records_in,
        # 0 is a count (a batch that only closes conversations read earlier), not "unknown"
        source_records=int(raw.source_records if raw.source_records is not None else raw.records_in),
    )


def iter_batches(source: SourceLike, **options: object) -> CanonicalStream:
    """Stream a source as canonical batches of whole conversations.

    Parameters
    ----------
    source
        A file, directory, glob, list of those, or a Hugging Face dataset id
        (``lmsys/lmsys-chat-1m``, ``hf://datasets/allenai/WildChat-1M``).
    **options
        Fields of :class:`SourceOptions` (``format``, ``column_map``, ``layout``, ``batch_size``,
        ``max_message_chars``, ``oasst_paths``, ``hf_token``).
    """
    return CanonicalStream(source, SourceOptions(**options))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Corpus:
    """A whole corpus in memory: the canonical tables, what was set aside, and a summary."""

    messages: pl.DataFrame
    conversations: pl.DataFrame
    quarantine: pl.DataFrame
    summary: CorpusSummary

    def __repr__(self) -> str:
        return short_repr(self)

    def conversation(self, conversation_id: str) -> pl.DataFrame:
        """The messages of one conversation, in order (a read-only view for debugging)."""
        return self.messages.filter(pl.col("conversation_id") == conversation_id).sort(
            "message_index"
        )


def read(source: SourceLike, **options: object) -> Corpus:
    """Read a whole source into a :class:`Corpus` (use :func:`iter_batches` for huge inputs).

    Examples
    --------
    >>> import json, tempfile, pathlib, chatlens
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "chats.jsonl"
    >>> _ = path.write_text(json.dumps({"conversations": [
    ...     {"from": "human", "value": "Hi!"}, {"from": "gpt", "value": "Hello."}]}) + "\\n")
    >>> corpus = chatlens.read(path)
    >>> corpus.messages.select("role", "content").rows()
    [('user', 'Hi!'), ('assistant', 'Hello.')]
    """
    from chatlens.corpus.sources import release

    stream = iter_batches(source, **options)
    acc = SummaryAccumulator(format=stream.format, files=len(stream.files), bytes=stream.total_bytes)
    parts: dict[str, list[pl.DataFrame]] = {"m": [], "c": [], "q": []}
    try:
        for batch in stream:
            acc.update(batch)
            parts["m"].append(batch.messages)
            parts["c"].append(batch.conversations)
            parts["q"].append(batch.quarantine)
    finally:
        release(stream.files)  # an in-memory table's temporary copy

    def cat(frames: list[pl.DataFrame], schema: dict) -> pl.DataFrame:
        return pl.concat(frames, how="vertical") if frames else empty_frame(schema)

    return Corpus(
        messages=cat(parts["m"], MESSAGES_SCHEMA),
        conversations=cat(parts["c"], CONVERSATIONS_SCHEMA),
        quarantine=cat(parts["q"], QUARANTINE_SCHEMA),
        summary=acc.finish(),
    )


def info(source: SourceLike, **options: object) -> CorpusSummary:
    """Summarise a source (format, counts, models, languages, turns) in one streaming pass."""
    from chatlens.corpus.sources import release

    stream = iter_batches(source, **options)
    acc = SummaryAccumulator(format=stream.format, files=len(stream.files), bytes=stream.total_bytes)
    try:
        for batch in stream:
            acc.update(batch)
    finally:
        release(stream.files)  # an in-memory table's temporary copy
    return acc.finish()
