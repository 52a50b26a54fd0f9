"""Source-format readers: one module per format, all registered in :data:`READERS`.

Each module ``readers/<fmt>.py`` exposes ``scan_<fmt>(file, *, batch_size, options)`` (an iterator
of :class:`~chatlens.corpus.readers.base.ReaderBatch`) and ``sniff(sample) -> float`` (used by
format detection). See :mod:`chatlens.corpus.readers.base` for the contract.

========  ===========================================  ===============================================
format    records                                      conversation id / what goes to ``extra``
========  ===========================================  ===============================================
lmsys     ``conversation[{role, content}]`` + aligned  ``conversation_id``; extra: turn, redacted
          ``openai_moderation`` (per-message fields)
wildchat  ``conversation[...]`` with per-message       ``conversation_hash`` (``hashed_ip`` → user_id);
          language/toxic/redacted/timestamp            extra: turn, toxic, redacted, state, country,
                                                       header
sharegpt  ``conversations[{from, value}]``             ``id``; extra: every other key
openai    ``messages[{role, content}]`` (content text  ``id``; extra: every other key (+ counts of
          or parts) or ``prompt`` + ``completion``     non-text parts)
arena     ``conversation_a`` / ``conversation_b``      ``<question_id>:a`` / ``:b`` (no id:
          (or the human-preference layout)             ``<file>#<row>:a``); extra: battle_id, side,
                                                       opponent, winner, judge, anony, turn
hh        ``chosen`` / ``rejected`` transcripts        ``<file>:<row>:chosen`` / ``:rejected``; extra:
                                                       pair_id, side
oasst     message trees (or the flat message table)    ``<tree id>:<leaf id>``; extra: tree id/state,
                                                       path message ids, ranks, synthetic
dices     ``instances[{id, instance{user_prompt,       ``id``; extra: majority/gold safety labels
          response}}]``
table     any CSV/JSONL/Parquet + ``column_map``       mapped ``conversation_id``
========  ===========================================  ===============================================

Roles are kept as found (``human``/``gpt``, ``Human``/``Assistant``, ``prompter``), except DICES,
whose ``A``/``B`` and ``USER``/``LAMDA`` letters are mapped to ``user``/``assistant`` by the reader.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatlens.corpus.readers import (
    _pipeline,
    arena,
    dices,
    hh,
    lmsys,
    oasst,
    openai,
    sharegpt,
    table,
    wildchat,
)
from chatlens.corpus.readers.base import (
    ReaderBatch,
    ReaderOptions,
    ReaderSpec,
    Registry,
    ResolvedFile,
    Sample,
)

READERS: Registry[ReaderSpec] = Registry("source format")

for _spec in (
    ReaderSpec("lmsys", lmsys.scan_lmsys, lmsys.sniff, "LMSYS-Chat-1M (conversation + openai_moderation)", 5),
    ReaderSpec("wildchat", wildchat.scan_wildchat, wildchat.sniff, "WildChat / WildChat-1M", 6),
    ReaderSpec("sharegpt", sharegpt.scan_sharegpt, sharegpt.sniff, "ShareGPT conversations[{from, value}]", 4),
    ReaderSpec("openai", openai.scan_openai, openai.sniff, "OpenAI chat messages[{role, content}]", 3),
    ReaderSpec("arena", arena.scan_arena, arena.sniff, "Chatbot Arena battles (conversation_a/b)", 7),
    ReaderSpec("hh", hh.scan_hh, hh.sniff, "Anthropic HH-RLHF chosen/rejected transcripts", 6,
               rated_end=True),
    ReaderSpec("oasst", oasst.scan_oasst, oasst.sniff, "OpenAssistant message trees", 7),
    ReaderSpec("dices", dices.scan_dices, dices.sniff, "DICES adversarial conversations (JSON)", 7,
               rated_end=True),
    ReaderSpec("table", table.scan_table, table.sniff, "generic CSV/JSONL/Parquet with a column map", 0),
):
    READERS.register(_spec.name, _spec)

_MODULES = {m.NAME: m for m in (arena, dices, hh, lmsys, oasst, openai, sharegpt, table, wildchat)}


def get_reader(name: str) -> ReaderSpec:
    """The registered reader ``name`` (unknown names get "Did you mean … / Available: …")."""
    return READERS.get(name)


def available_formats() -> list[str]:
    """Names of every registered source format."""
    return READERS.names()


def rated_end_sources() -> tuple[str, ...]:
    """Source formats whose transcripts always end at a rated response (``ReaderSpec.rated_end``):
    the ``source`` values whose conversation ends are an artefact of the dataset."""
    return tuple(name for name, spec in READERS.items() if spec.rated_end)


__all__ = [
    "READERS",
    "ReaderBatch",
    "ReaderOptions",
    "ReaderSpec",
    "Registry",
    "ResolvedFile",
    "Sample",
    "available_formats",
    "file_groups",
    "get_reader",
    "rated_end_sources",
    "record_format",
    "scan_group",
]


def record_format(name: str) -> _pipeline.RecordFormat | None:
    """The shared-pipeline :class:`~chatlens.corpus.readers._pipeline.RecordFormat` of format
    ``name``, or ``None`` for formats with their own reading code (``table``)."""
    fmt = getattr(_MODULES.get(name), "FORMAT", None)
    return fmt if isinstance(fmt, _pipeline.RecordFormat) else None


def file_groups(name: str, files: list[ResolvedFile]) -> list[list[ResolvedFile]]:
    """``files`` in reading groups: runs of small JSON files of a vectorised format together
    (see :func:`~chatlens.corpus.readers._pipeline.group_files`), every other file alone."""
    return _pipeline.group_files(record_format(name), files)


def scan_group(
    name: str, files: list[ResolvedFile], *, batch_size: int, options: ReaderOptions
) -> Iterator[ReaderBatch]:
    """Read one group from :func:`file_groups`: a file that is not groupable through its reader,
    small JSON files (also one alone) as one stream of batches across files.

    Why a small file alone takes the group path too: a folder's truncated JSON file was
    quarantined when a small neighbour shared its group, and stopped the whole run (a
    SchemaError) when its neighbours were large files, so the same file's outcome depended on
    the files beside it."""
    fmt = record_format(name)
    if len(files) == 1 and not _pipeline.groupable(fmt, files[0]):
        yield from READERS.get(name).scan(files[0], batch_size=batch_size, options=options)
        return
    assert fmt is not None
    yield from _pipeline.scan_record_files(fmt, files, batch_size=batch_size, options=options)
