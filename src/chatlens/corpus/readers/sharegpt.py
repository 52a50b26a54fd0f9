"""ShareGPT: a JSON array (or JSONL) of ``{id?, conversations: [{from, value}], model?, ...}``.

Roles are kept raw (``human``, ``gpt``, ``system``, ``bing``…; normalised later). Files that use
``role/content`` inside ``conversations`` are read too. Every other top-level key (``lang``,
``markdown``, …) goes to ``extra``; ``lang`` also fills ``language``.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatlens.corpus.readers import _conversations as conv
from chatlens.corpus.readers._pipeline import scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "sharegpt"

LAYOUT = conv.ListLayout(
    source=NAME,
    list_col="conversations",
    message_fields={"role": ("from", "role"), "content": ("value", "content")},
    columns={"conversation_id": "id", "model": "model", "language": "lang"},
    extra_rest=True,
)


FORMAT = conv.layout_format(NAME, LAYOUT, id_key="id")


def scan_sharegpt(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream a ShareGPT JSON array / JSONL file as batches of nested conversations."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """ShareGPT: a ``conversations`` list whose items have ``from``/``value``."""
    if "conversations" not in sample.columns:
        return 0.0
    for r in sample.dict_records():
        items = r.get("conversations")
        if isinstance(items, list) and items and isinstance(items[0], dict):
            return 0.95 if {"from", "value"} & set(items[0]) else 0.7
    return 0.5
