"""The result of :func:`chatlens.engine.run`: where the tables are, and the run's account.

Why its own module: the result is what callers keep (``analyze`` compacts from it and records
:meth:`EngineResult.public` in the manifest), separate from how a run is driven
(:mod:`chatlens.engine.api`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import polars as pl

from chatlens import datafiles
from chatlens._repr import short_repr
from chatlens.corpus.summary import CorpusSummary, RowCounts
from chatlens.engine.duplicates import DuplicateReport
from chatlens.engine.stages import StageSpec
from chatlens.engine.worker import TABLES, PartitionResult
from chatlens.errors import InvalidParameterError

Layout = Literal["parts", "single"]


@dataclass(frozen=True)
class EngineResult(RowCounts):
    """What :func:`run` produced.

    Attributes
    ----------
    out : the output directory; tables are ``out/<table>/part-*.parquet``.
    engine, workers : how it ran (``workers``: as configured; ``workers_used``: distinct
        ``host:pid`` that ran partitions).
    summary : the merged corpus summary (``records_in == conversations + quarantined``).
    partitions : per-partition counts and timings, in partition order.
    duplicates : conversation ids found in more than one partition (and how many were moved to
        quarantine with ``duplicates="quarantine"``). ``partitions`` counts are as processed,
        before that move; ``summary`` is after it.
    stages : the stages applied, in order.
    wall_s : wall time of the whole run (planning to duplicate check).
    layout : ``parts`` (``out/<table>/part-*.parquet``) or ``single`` (``out/<table>.parquet``).
    files : the resolved input files, in reading order.
    """

    out: Path
    engine: str
    workers: int
    summary: CorpusSummary
    partitions: tuple[PartitionResult, ...]
    duplicates: DuplicateReport
    stages: tuple[StageSpec, ...]
    wall_s: float
    timings: dict[str, float] = field(default_factory=dict)
    layout: Layout = "parts"
    files: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        return short_repr(self, rows_in=self.rows_in, rows_analysed=self.rows_analysed,
                          rows_quarantined=self.rows_quarantined)

    @property
    def workers_used(self) -> int:
        return len({p.worker for p in self.partitions})

    @property
    def data_files(self) -> tuple[datafiles.DataFileRecord, ...]:
        """Every data file the partitions used, once each, in partition order: what a manifest lists whatever the engine (a pool or Dask worker loads
        the stages' models where the driver never sees them)."""
        seen: dict[tuple[str, str], datafiles.DataFileRecord] = {}
        for part in self.partitions:
            for record in part.data_files:
                seen.setdefault((record.file, record.sha256), record)
        return tuple(seen.values())


    def table(self, name: str) -> Path:
        """Where one output table is: its folder of parts, or its file (``single`` layout)."""
        if name not in TABLES:
            msg = f"Unknown table {name!r}; expected one of {', '.join(TABLES)}."
            raise InvalidParameterError(msg)
        return self.out / (f"{name}.parquet" if self.layout == "single" else name)

    def scan(self, name: str) -> pl.LazyFrame:
        """A lazy frame over one table, in partition order.

        The files are named, not globbed (``glob=False``): ``out`` is the user's path, and
        polars read the '[2024]' of 'runs/[2024] lmsys' as a character class and found no file.
        """
        if self.layout == "single":
            return pl.scan_parquet(self.table(name), glob=False)
        return pl.scan_parquet(sorted(self.table(name).glob("part-*.parquet")), glob=False)

    def compact(self, name: str, dest: str | Path) -> Path:
        """Write one table as a single Parquet file ``dest``, in partition order.

        Streams through polars (``sink_parquet``), so memory stays bounded; for run directories
        that keep one file per table (``messages.parquet``).
        """
        dest = Path(dest)
        self.scan(name).sink_parquet(dest, compression="zstd")
        return dest

    def partition_frame(self) -> pl.DataFrame:
        """Per-partition counts and timings as a frame (one row per partition)."""
        rows = [
            {
                "partition": p.index,
                "label": p.label,
                "records_in": p.records_in,
                "conversations": p.conversations,
                "messages": p.messages,
                "quarantined": p.quarantined,
                "worker": p.worker,
                **{f"{k}_s": v for k, v in p.seconds.items()},
            }
            for p in self.partitions
        ]
        return pl.DataFrame(rows)

    def public(self) -> dict[str, Any]:
        """A JSON-ready account of the run (for a manifest)."""
        return {
            "engine": self.engine,
            "layout": self.layout,
            "workers": self.workers,
            "workers_used": self.workers_used,
            "partitions": len(self.partitions),
            "stages": [s.public() for s in self.stages],
            "duplicates_across_partitions": self.duplicates.to_dict(),
            "wall_s": self.wall_s,
            "timings_s": self.timings,
            "partition_timings_s": [{"partition": p.index, **p.seconds} for p in self.partitions],
        }


__all__ = ["EngineResult", "Layout"]
