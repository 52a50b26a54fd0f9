"""WildChat (``allenai/WildChat``, ``allenai/WildChat-1M``): Parquet on the hub, JSONL accepted.

Record: ``conversation_hash, model, timestamp, conversation[{role, content, language, toxic,
redacted, timestamp, …}], turn, language, openai_moderation, detoxify_moderation, toxic, redacted,
state, country, hashed_ip, header``. ``conversation_hash`` → ``conversation_id``, ``hashed_ip`` →
``user_id``; per-message language/toxic/redacted/timestamp are kept; ``openai_moderation`` (aligned
per message) → per-message moderation fields; ``state, country, header, turn, toxic, redacted``
(conversation level) → ``extra``. ``detoxify_moderation`` is not carried (scores only; chatlens
computes its own toxicity signals).
"""

from __future__ import annotations

from collections.abc import Iterator

from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._pipeline import scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "wildchat"

LAYOUT = conv.ListLayout(
    source=NAME,
    list_col="conversation",
    message_fields={
        "role": "role",
        "content": "content",
        "language": "language",
        "toxic": "toxic",
        "redacted": "redacted",
        "timestamp": "timestamp",
    },
    columns={
        "conversation_id": "conversation_hash",
        "model": "model",
        "language": "language",
        "user_id": "hashed_ip",
        "timestamp": "timestamp",
    },
    extra={
        "turn": "turn",
        "toxic": "toxic",
        "redacted": "redacted",
        "state": "state",
        "country": "country",
        "header": "header",
    },
    moderation="openai_moderation",
)


FORMAT = conv.layout_format(NAME, LAYOUT, parquet=True, id_key="conversation_hash")


def scan_wildchat(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream a WildChat file (Parquet or JSONL) as batches of nested conversations."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """WildChat: a ``conversation`` list keyed by ``conversation_hash``."""
    cols = set(sample.columns)
    if "conversation" in cols and "conversation_hash" in cols:
        return 0.95
    if "conversation" in cols and "hashed_ip" in cols:
        return 0.8
    return 0.0
