"""Conversation ids repeated across partitions: found after the run, reported, optionally moved.

Why after the run: each worker quarantines repeats *within* its partition (as the single-process
reader does), but no worker sees another's ids. Once every part is written, polars reads only the
``conversation_id`` column of ``conversations/part-*.parquet`` and finds the ids seen in more
than one part (a fraction of a second per million conversations).

What then happens is the caller's choice (``run(duplicates=...)``):

* ``"report"`` — the ids are reported in :class:`DuplicateReport` (count, extra rows, a sample),
  and the tables are left as written;
* ``"quarantine"`` — the first occurrence (lowest partition index, i.e. input order) is kept and
  every later one is moved from ``conversations``/``messages`` into that partition's
  ``quarantine`` part with the reason the single-process reader uses. The tables then equal a
  single-process read. Only the affected parts are rewritten, one at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens.corpus.api import canonical_batch
from chatlens.corpus.canonical import CanonicalBatch
from chatlens.corpus.schema import QUARANTINE_SCHEMA, conform, empty_frame, quarantine_without_text
from chatlens.corpus.summary import SummaryAccumulator
from chatlens.engine.partitions import read_partition
from chatlens.engine.worker import PartitionTask, part_name
from chatlens.errors import AccountingError

#: The reason text the single-process reader gives a repeated id (chatlens.corpus.canonical).
DUPLICATE_REASON = "duplicate conversation_id (an earlier record has the same id)"
DUPLICATE_SAMPLE = 20
_PART = re.compile(r"part-(\d+)\.parquet$")


@dataclass(frozen=True)
class DuplicateReport:
    """Conversation ids that occurred in more than one partition.

    ``count``: distinct duplicated ids; ``extra_rows``: conversation rows beyond the first
    occurrence of each; ``sample``: up to 20 ids (sorted); ``quarantined``: rows moved to
    quarantine (``duplicates="quarantine"``), else 0.
    """

    count: int = 0
    extra_rows: int = 0
    sample: tuple[str, ...] = ()
    quarantined: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "extra_rows": self.extra_rows,
            "sample": list(self.sample),
            "quarantined": self.quarantined,
        }


_OCCURRENCES = {"conversation_id": pl.String, "partition": pl.Int64}


def no_occurrences() -> pl.DataFrame:
    """The empty result of :func:`occurrences` (a run whose repeats were quarantined as read)."""
    return empty_frame(_OCCURRENCES)


#: Seed of the 64-bit hashes :func:`occurrences` compares first (any fixed value: the hashes
#: only live within one call).
_HASH_SEED = 0x636C


def _id_hashes(ids: pl.Series) -> pl.Series:
    """64-bit hashes of conversation ids (polars' hash: stable within a process)."""
    return ids.hash(_HASH_SEED)


def occurrences(out: str | Path) -> pl.DataFrame:
    """``(conversation_id, partition)`` for every id found in more than one conversations part.

    In two passes, so the ids are never all held at once: the first reads the parts one at a
    time and keeps only their ids' 64-bit hashes (8 bytes an id), sorted together to find the
    hashes seen more than once; the second reads the actual ids of only those hashes, and an id
    counts when it itself is in more than one part. Why: grouping the ids themselves peaked at
    1.0 GB RSS for 5M ids (32 hex characters, 10 parts), this at 0.30 GB (0.13 GB of it
    imports). Two distinct ids whose hashes collide are only candidates, never duplicates, so a
    collision cannot quarantine a conversation.

    The parts are named one by one, never by a glob pattern: ``out`` is the user's path, and a
    glob read '[' as a character class, so a run into 'runs/[2024] lmsys' failed after all its
    partitions with DuckDB's "No files found" (and a '*' in it could match other folders).
    """
    files = sorted((Path(out) / "conversations").glob("part-*.parquet"))
    if not files:
        return no_occurrences()
    indexes = [int(m.group(1)) if (m := _PART.search(f.name)) else 0 for f in files]

    def ids(file: Path) -> pl.Series:
        return pl.read_parquet(file, columns=["conversation_id"], glob=False).get_column(
            "conversation_id").cast(pl.String)

    # pass 1: one part at a time, only its ids' hashes kept (8 bytes an id), sorted together
    hashes = np.sort(np.concatenate([_id_hashes(ids(f)).to_numpy() for f in files]))
    repeated = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    del hashes
    if len(repeated) == 0:
        return no_occurrences()
    # pass 2: the actual ids of the repeated hashes (few), with their part
    wanted = pl.Series("_hash", repeated, dtype=pl.UInt64).implode()
    parts = []
    for file, index in zip(files, indexes, strict=True):
        part = ids(file)
        hit = part.filter(_id_hashes(part).is_in(wanted))
        parts.append(pl.DataFrame({"conversation_id": hit, "partition": [index] * hit.len()},
                                  schema=_OCCURRENCES))
    candidates = pl.concat(parts)
    found = candidates.filter(pl.col("partition").n_unique().over("conversation_id") > 1)
    return found.pipe(conform, _OCCURRENCES).sort("conversation_id", "partition")


def report(
    found: pl.DataFrame, *, quarantined: int = 0, sample: int = DUPLICATE_SAMPLE
) -> DuplicateReport:
    """Summarise :func:`occurrences` as a :class:`DuplicateReport`."""
    if found.height == 0:
        return DuplicateReport()
    ids = found.get_column("conversation_id").unique().sort()
    return DuplicateReport(
        count=ids.len(),
        extra_rows=found.height - ids.len(),
        sample=tuple(ids.head(sample).to_list()),
        quarantined=quarantined,
    )


def find_duplicates(out: str | Path, *, sample: int = DUPLICATE_SAMPLE) -> DuplicateReport:
    """Ids that appear more than once in ``out/conversations/part-*.parquet``."""
    return report(occurrences(out), sample=sample)


def quarantine_later(
    out: str | Path,
    found: pl.DataFrame,
    tasks: Sequence[PartitionTask],
    repairs: Mapping[int, Mapping[str, int]] | None = None,
) -> SummaryAccumulator:
    """Move every occurrence after the first of each duplicated id into quarantine.

    The partition's quarantine part is made again by reading the partition once more and
    canonicalising it (no stages) with the ids first seen in earlier partitions already "seen":
    exactly what one process reading the whole source in order would have quarantined there, with
    each duplicate's source row and raw record, in reading order. (Built from the written tables
    instead, the rows lost their source row and raw record and came last.) Only partitions that
    hold a later occurrence are read again; duplicates are rare, so that is rarely more than a few.

    Returns an accumulator of what was removed (its ``conversations`` rows, ``messages``, models,
    languages, roles, turns, and the repairs counted on them), for :func:`subtract` to take out
    of the run's summary. ``repairs`` are the partitions' repair counts as their workers made them
    (``PartitionResult.repairs``, by partition index): the repairs of a moved conversation (a
    truncated or null message, non-alternating roles) are those minus what the partition's
    second reading counts. Why: one process never repairs a repeated id's messages (it is set
    aside first), so they were counted by the pooled engines only.
    """
    out = Path(out)
    removed = SummaryAccumulator()
    later = found.filter(pl.col("partition") > pl.col("partition").min().over("conversation_id"))
    by_index = {t.partition.index: t for t in tasks}
    for (index,), group in sorted(later.group_by("partition"), key=lambda g: g[0]):
        ids = group.get_column("conversation_id")
        name = part_name(int(index), by_index[int(index)].part_digits)
        conv_path, msg_path, q_path = (
            out / t / name for t in ("conversations", "messages", "quarantine")
        )
        conversations = pl.read_parquet(conv_path, glob=False)
        messages = pl.read_parquet(msg_path, glob=False)
        hit_c = pl.col("conversation_id").is_in(ids.implode())
        gone_c, gone_m = conversations.filter(hit_c), messages.filter(hit_c)
        before = pl.read_parquet(q_path, glob=False).height
        quarantine, reread = _quarantine_as_read(by_index[int(index)], set(ids.to_list()))
        if repairs is not None:
            removed.repairs.update(Counter(repairs.get(int(index), {})) - reread)
        if quarantine.height != before + gone_c.height:
            msg = (f"Partition {index}: reading it again quarantined {quarantine.height} rows, "
                   f"expected {before} + {gone_c.height} repeated ids. This is a chatlens bug.")
            raise AccountingError(msg)
        for path, frame in (
            (conv_path, conversations.filter(~hit_c)),
            (msg_path, messages.filter(~hit_c)),
            (q_path, quarantine),
        ):
            tmp = path.with_name(f".{path.name}.dup.tmp")
            frame.write_parquet(tmp, compression="zstd")
            tmp.replace(path)
        removed.update(CanonicalBatch(gone_m, gone_c, empty_frame(QUARANTINE_SCHEMA)))
    return removed


def _quarantine_as_read(task: PartitionTask, earlier: set[str]) -> tuple[pl.DataFrame, Counter]:
    """The quarantine of ``task``'s partition canonicalised with ``earlier`` ids already seen
    (without text unless the run keeps it, as the worker wrote it), and the repairs counted."""
    seen = set(earlier)
    parts, repairs = [], Counter[str]()
    for raw in read_partition(task.partition, task.format, batch_size=task.batch_size,
                              options=task.reader_options):
        batch = canonical_batch(raw, seen, max_message_chars=task.max_message_chars)
        parts.append(batch.quarantine)
        repairs.update(batch.repairs)
    quarantine = (pl.concat(parts, how="vertical_relaxed") if parts
                  else empty_frame(QUARANTINE_SCHEMA)).pipe(conform, QUARANTINE_SCHEMA)
    return (quarantine if task.keep_text else quarantine_without_text(quarantine)), repairs


def subtract(total: SummaryAccumulator, removed: SummaryAccumulator) -> None:
    """Take conversations moved to quarantine out of ``total`` (``records_in`` is unchanged, so
    ``records_in == conversations + quarantined`` still holds)."""
    moved = removed.conversations
    if not moved:
        return
    total.conversations -= moved
    total.messages -= removed.messages
    total.turn_sum -= removed.turn_sum
    total.quarantined += moved
    total.reasons[DUPLICATE_REASON] += moved
    for name in ("repairs", "models", "languages", "roles", "turns"):
        counter: Counter = getattr(total, name)
        counter.subtract(getattr(removed, name))
        setattr(total, name, Counter({k: v for k, v in counter.items() if v > 0}))


__all__ = [
    "DUPLICATE_REASON",
    "DuplicateReport",
    "find_duplicates",
    "occurrences",
    "quarantine_later",
    "report",
    "subtract",
]
