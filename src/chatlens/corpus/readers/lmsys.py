"""LMSYS-Chat-1M (``lmsys/lmsys-chat-1m``): Parquet on the hub, JSONL accepted too.

Record: ``conversation_id, model, conversation[{role, content}], turn, language,
openai_moderation[{categories{...: bool}, category_scores{...: float}, flagged}], redacted``.
``openai_moderation`` is aligned one entry per message and becomes the per-message moderation
fields (see :mod:`chatlens.corpus.readers._conversations`); ``turn`` and the conversation-level
``redacted`` flag (PII was redacted somewhere in the conversation) go to ``extra``. The Parquet path
is Arrow-native: record batch → polars → flatten/align/re-nest, no per-row Python.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._pipeline import scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "lmsys"

LAYOUT = conv.ListLayout(
    source=NAME,
    list_col="conversation",
    columns={"conversation_id": "conversation_id", "model": "model", "language": "language"},
    extra={"turn": "turn", "redacted": "redacted"},
    moderation="openai_moderation",
)


FORMAT = conv.layout_format(NAME, LAYOUT, parquet=True)


def scan_lmsys(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream an LMSYS-Chat-1M file (Parquet or JSONL) as batches of nested conversations."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """LMSYS: a ``conversation`` message list with ``conversation_id`` (WildChat has
    ``conversation_hash`` instead)."""
    cols = set(sample.columns)
    if "conversation" in cols and "conversation_id" in cols and "conversation_hash" not in cols:
        return 0.9 if {"openai_moderation", "model"} & cols else 0.6
    return 0.0
