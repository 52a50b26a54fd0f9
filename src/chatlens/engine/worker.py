"""What one worker does with one partition: read → canonicalise → stages → write its parts.

The same function runs in-process (``local``), in a pool process (``process``) and on a Dask
worker (``dask``); only :class:`PartitionTask` (paths and options) travels, never data. Each
partition writes its own ``part-<index>.parquet`` in ``messages/``, ``conversations/`` and
``quarantine/`` (written to a temporary name, renamed when complete, so a retried or failed task
never leaves a half part behind) and returns small counts plus a summary accumulator.

The local engine may instead append every partition, in order, to one open file per table (the
``single`` layout, :class:`RunFiles`): ``chatlens analyze`` runs that way, so a local run is the
same worker code and checks the same contracts as a pool or Dask run without writing twice.

Duplicate conversation ids are quarantined *within* a partition (as the single-process reader
does); duplicates *across* partitions are found after the run (see :mod:`chatlens.engine.api`),
except in the ``single`` layout, where the ids of earlier partitions are known in-process.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from chatlens import datafiles
from chatlens.corpus.api import canonical_batch
from chatlens.corpus.canonical import CanonicalBatch
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions
from chatlens.corpus.schema import QUARANTINE_SCHEMA, quarantine_without_text
from chatlens.corpus.sink import BackgroundWriter, ParquetSink
from chatlens.corpus.summary import SummaryAccumulator
from chatlens.engine._malloc import tune_malloc
from chatlens.engine.partitions import Partition, read_partition
from chatlens.engine.stages import StageSpec, apply_stages

TABLES = ("messages", "conversations", "quarantine")
#: Fewest digits of a part's index in its name (``part-00003.parquet``).
PART_DIGITS = 5


@dataclass(frozen=True)
class PartitionTask:
    """Everything a worker needs for one partition (small and picklable)."""

    partition: Partition
    format: str
    reader_options: ReaderOptions
    batch_size: int
    max_message_chars: int
    stages: tuple[StageSpec, ...]
    out: str
    keep_text: bool = True
    #: Parquet codec of the partition's part files (``parts`` layout).
    compression: str = "zstd"
    #: Digits of the partition's part names (:func:`part_digits` of the run's partition count).
    part_digits: int = PART_DIGITS
    #: The run's token file (``parts`` layout): the parts are committed only while it exists, so
    #: a partition still running when its run has failed never writes into the directory.
    run_token: str | None = None


@dataclass(frozen=True)
class PartitionResult:
    """Counts and timings of one finished partition.

    ``records_in == conversations + quarantined`` holds for every partition (checked).
    ``seconds`` splits the partition's wall time into ``read`` (reading + canonicalising),
    ``stages`` (and each stage's share, ``stage:<name>``) and ``write`` (encoding + compression,
    on a background thread) plus ``wall``.
    ``worker`` is ``host:pid`` of the process that ran it. ``data_files`` are the data files
    the partition used (lexicons, models; :func:`chatlens.datafiles.recording`): a stage may load
    them only in a pool or Dask worker, so the driver merges them into the run's manifest
    (:attr:`EngineResult.data_files`) instead of listing only what it loaded itself.
    """

    index: int
    label: str
    records_in: int
    source_records: int
    conversations: int
    messages: int
    quarantined: int
    repairs: dict[str, int]
    seconds: dict[str, float]
    worker: str
    accumulator: SummaryAccumulator = field(repr=False, compare=False)
    data_files: tuple[datafiles.DataFileRecord, ...] = field(default=(), repr=False,
                                                            compare=False)


def part_digits(partitions: int) -> int:
    """Digits of every part name of a run of ``partitions`` partitions: :data:`PART_DIGITS`, or
    more when the run has more partitions than that many digits number. Why: the parts must
    sort by name in partition order (``pl.scan_parquet("messages/*.parquet")``, DuckDB, the
    compaction), and with a fixed width ``part-100000`` sorted before ``part-10001``."""
    return max(PART_DIGITS, len(str(max(partitions - 1, 0))))


def part_name(index: int, digits: int = PART_DIGITS) -> str:
    return f"part-{index:0{digits}d}.parquet"


def output_schemas(
    stages: tuple[StageSpec, ...], *, keep_text: bool, loaded: list | None = None
) -> dict[str, dict[str, pl.DataType]]:
    """Schemas of the three output tables: the canonical ones plus the stages' columns.

    Found by running the stages on an empty batch, so every part of a run has the same schema
    (even a partition with no rows), whatever values its batches hold.
    """
    empty = apply_stages(CanonicalBatch.empty(), stages, loaded=loaded)
    messages = dict(empty.messages.schema)
    if not keep_text:
        messages.pop("content", None)
    return {
        "messages": messages,
        "conversations": dict(empty.conversations.schema),
        "quarantine": dict(QUARANTINE_SCHEMA),
    }


class PartFiles:
    """The three ``part-<index>.parquet`` files of one partition (``parts`` layout).

    Written under a temporary name and renamed by :meth:`commit`, so a retried or failed task
    never leaves a half part behind.
    """

    def __init__(
        self,
        out: Path,
        index: int,
        schemas: dict[str, dict[str, pl.DataType]],
        *,
        compression: str = "zstd",
        token: str | None = None,
        label: str = "",
        digits: int = PART_DIGITS,
    ) -> None:
        self._token, self._label = token, label or f"partition {index}"
        final = {t: out / t / part_name(index, digits) for t in TABLES}
        self._moves = {
            t: (p.with_name(f".{p.name}.{os.getpid()}.tmp"), p) for t, p in final.items()
        }
        self.sinks = {
            t: ParquetSink(tmp, schemas[t], compression=compression)
            for t, (tmp, _) in self._moves.items()
        }

    def commit(self) -> None:
        """Close the parts and rename them to their final names, unless the run has ended.

        Why the check: a run that failed (another partition raised, a worker died) returns
        while this partition may still be running (a cancelled Dask task runs to its end);
        its parts would otherwise appear after the failure, or in a rerun's directory.
        """
        for sink in self.sinks.values():
            sink.close()
        if self._token is not None and not os.path.exists(self._token):
            from chatlens.errors import PartitionError

            self.abort()
            msg = (f"{self._label}: its run ended (another partition failed, or the run was "
                   "cancelled) before it finished; its parts were not written.")
            raise PartitionError(msg)
        for tmp, final in self._moves.values():
            tmp.replace(final)

    def abort(self) -> None:
        for sink in self.sinks.values():
            try:
                sink.close()
            except Exception:
                pass
        for tmp, _ in self._moves.values():
            tmp.unlink(missing_ok=True)


class RunFiles:
    """One Parquet file per table (``single`` layout), shared by every partition of a run.

    Why: the local engine runs partitions one after another in one process, so it can append
    each partition to the final ``<table>.parquet`` in partition order, the same tables the
    ``parts`` layout gives after compaction, without writing everything twice. ``seen`` holds the
    conversation ids of every partition so far (a repeat is quarantined as it is read, as one
    stream over the whole source does); ``advance`` is given each reader batch (progress).
    """

    def __init__(
        self,
        out: Path,
        schemas: dict[str, dict[str, pl.DataType]],
        *,
        advance: Callable[[ReaderBatch], None] | None = None,
    ) -> None:
        self.paths = {t: out / f"{t}.parquet" for t in TABLES}
        self.sinks = {t: ParquetSink(self.paths[t], schemas[t]) for t in TABLES}
        self.seen: set[str] = set()
        self.advance = advance

    def close(self) -> None:
        """Close every table's file (each one, even when an earlier one fails; the first error
        is raised)."""
        errors = []
        for sink in self.sinks.values():
            try:
                sink.close()
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def abort(self) -> None:
        """Close every table's file after the run has failed, ignoring their own errors.

        Why: the run's error is the one to report. On a full disk the partition's write failed
        (a :class:`~chatlens.errors.PartitionError` naming the partition and ``No space left on
        device``), and closing the files then failed too, writing their footers: that second
        ``OSError`` replaced the first, and ``chatlens analyze`` ended in a traceback.
        """
        try:
            self.close()
        except Exception:
            pass


def run_partition(task: PartitionTask, *, into: RunFiles | None = None) -> PartitionResult:
    """Process one partition and write its tables. Raises ChatlensError subclasses.

    By default (every engine) the partition writes its own three parts. The local engine's
    ``single`` layout passes ``into``, the run's open files (see :class:`RunFiles`).
    ``data_files`` of the result are the files this partition used (not every file the
    worker process loaded for earlier runs: a Dask worker outlives a run).
    """
    with datafiles.recording() as used:
        result = _run_partition(task, into)
    return replace(result, data_files=tuple(used))


def _run_partition(task: PartitionTask, into: RunFiles | None) -> PartitionResult:
    t0 = time.perf_counter()
    tune_malloc()  # every engine's partition processes (chatlens.engine._malloc says why)
    part = task.partition
    loaded = [s.load() for s in task.stages]
    files: PartFiles | None = None
    if into is None:
        schemas = output_schemas(task.stages, keep_text=task.keep_text, loaded=loaded)
        files = PartFiles(Path(task.out), part.index, schemas, compression=task.compression,
                          token=task.run_token, label=part.label, digits=task.part_digits)
        sinks = files.sinks
    else:
        sinks = into.sinks
    acc = SummaryAccumulator()
    seen = set() if into is None else into.seen
    advance = into.advance if into is not None else None
    timing = Counter[str]()
    try:
        with BackgroundWriter() as writer:
            t = time.perf_counter()
            for raw in read_partition(
                part, task.format, batch_size=task.batch_size, options=task.reader_options
            ):
                batch = canonical_batch(raw, seen, max_message_chars=task.max_message_chars)
                timing["read"] += time.perf_counter() - t
                t = time.perf_counter()
                batch = apply_stages(batch, task.stages, loaded=loaded, seconds=timing)
                timing["stages"] += time.perf_counter() - t
                acc.update(batch)
                messages = batch.messages if task.keep_text else batch.messages.drop("content")
                quarantine = (batch.quarantine if task.keep_text
                              else quarantine_without_text(batch.quarantine))

                def write(m: pl.DataFrame = messages, b: CanonicalBatch = batch,
                          q: pl.DataFrame = quarantine) -> None:
                    tw = time.perf_counter()
                    sinks["messages"].write(m)
                    sinks["conversations"].write(b.conversations)
                    sinks["quarantine"].write(q)
                    timing["write"] += time.perf_counter() - tw

                writer.submit(write)
                if advance is not None:
                    advance(raw)
                t = time.perf_counter()
        if files is not None:
            files.commit()
    except BaseException:
        if files is not None:
            files.abort()
        raise
    if acc.records_in != acc.conversations + acc.quarantined:
        from chatlens.errors import AccountingError

        msg = (
            f"{part.label}: counts do not add up: {acc.records_in} records in, "
            f"{acc.conversations} analysed + {acc.quarantined} quarantined. This is a chatlens "
            "bug; please report it with the input."
        )
        raise AccountingError(msg)
    seconds = {k: round(v, 4) for k, v in sorted(timing.items())}
    seconds["wall"] = round(time.perf_counter() - t0, 4)
    return PartitionResult(
        index=part.index,
        label=part.label,
        records_in=acc.records_in,
        source_records=acc.source_records,
        conversations=acc.conversations,
        messages=acc.messages,
        quarantined=acc.quarantined,
        repairs=dict(sorted(acc.repairs.items())),
        seconds=seconds,
        worker=f"{socket.gethostname()}:{os.getpid()}",
        accumulator=acc,
    )


__all__ = [
    "PART_DIGITS",
    "TABLES",
    "PartitionResult",
    "PartFiles",
    "PartitionTask",
    "RunFiles",
    "output_schemas",
    "part_digits",
    "part_name",
    "run_partition",
]
