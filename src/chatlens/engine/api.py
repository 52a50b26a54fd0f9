"""``run``: a source through stages into partitioned Parquet, on one of three engines.

One API for three engines, one result whatever the engine:

* ``local`` — partitions one after another in this process (streaming, bounded memory);
* ``process`` — a process pool on this machine (``workers`` processes);
* ``dask`` — a ``dask.distributed`` cluster (``address``) or a ``LocalCluster``.

Determinism: the partition plan depends only on the input and ``partition_rows`` (never on the
engine or worker count), each partition writes ``part-<index>.parquet``, and the merged summary is
built from per-partition accumulators merged in partition order. So the same input gives the same
tables, byte for byte in content and in part order, on every engine.

Duplicate conversation ids: within a partition they are quarantined (as the single-process reader
does). Across partitions no worker can see them; after the run the written conversations are
checked (their ids hashed first, see :mod:`chatlens.engine.duplicates`) and every duplicated id is reported in :attr:`EngineResult.duplicates`
(count and a sample), never silently; ``duplicates="quarantine"`` also moves every later
occurrence to quarantine (see :mod:`chatlens.engine.duplicates`).

Layouts: ``parts`` (every engine) writes ``out/<table>/part-<index>.parquet``; ``single`` (local
engine only, what ``chatlens analyze`` uses) appends every partition, in order, to
``out/<table>.parquet`` and quarantines repeated ids as it reads, so the tables equal a
single-process read with nothing to compact or move afterwards.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from chatlens._progress import progress_bar
from chatlens.corpus.api import SourceLike, SourceOptions
from chatlens.corpus.progress import reading_progress
from chatlens.corpus.readers.base import ReaderOptions
from chatlens.corpus.summary import CorpusSummary, SummaryAccumulator
from chatlens.engine import duplicates as dup
from chatlens.engine.duplicates import DuplicateReport, find_duplicates
from chatlens.engine.partitions import DEFAULT_PARTITION_ROWS, Partition, plan_partitions
from chatlens.engine.pool import usable_cores
from chatlens.engine.result import EngineResult, Layout
from chatlens.engine.rundir import lock_run, terminate_as_exit
from chatlens.engine.stages import StageSpec, resolve_stages
from chatlens.engine.worker import (
    TABLES,
    PartitionResult,
    PartitionTask,
    RunFiles,
    output_schemas,
    part_digits,
)
from chatlens.errors import InvalidParameterError

if TYPE_CHECKING:
    import polars as pl

Engine = Literal["local", "process", "dask"]
ENGINES: tuple[str, ...] = ("local", "process", "dask")
Duplicates = Literal["report", "quarantine"]


def run(
    source: SourceLike,
    stages: Iterable[StageSpec | str] = (),
    *,
    out: str | Path,
    engine: Engine = "local",
    workers: int | None = None,
    address: str | Any | None = None,
    batch_size: int | None = None,
    options: SourceOptions | None = None,
    partition_rows: int | None = DEFAULT_PARTITION_ROWS,
    keep_text: bool = True,
    processes: bool = True,
    duplicates: Duplicates = "report",
    layout: Layout = "parts",
    part_compression: str = "zstd",
) -> EngineResult:
    """Read ``source``, apply ``stages`` and write partitioned Parquet tables into ``out``.

    Parameters
    ----------
    source
        A file, directory, glob, list, or Hugging Face dataset id (resolved on this machine).
    stages
        :class:`StageSpec` objects, registered stage names or ``"module:attr"`` strings.
    out
        Output directory: ``messages/``, ``conversations/`` and ``quarantine/`` each hold one
        ``part-<partition>.parquet`` per partition. Earlier ``part-*.parquet`` files in those
        folders are removed first (nothing else is touched). Locked while the run writes: a
        second run into it is refused (:func:`~chatlens.engine.rundir.lock_run`).
    engine
        ``"local"``, ``"process"`` or ``"dask"``.
    workers
        Worker processes for ``process`` / ``LocalCluster`` workers for ``dask`` (default: the
        usable cores, ``os.sched_getaffinity``). Ignored by ``local`` and when ``address`` is given.
    address
        A Dask scheduler address (``tcp://host:8786``) or an open ``distributed.Client`` (left
        open); only with ``engine="dask"``. See ``docs/engine.md`` for SLURM and Kubernetes.
    batch_size
        Records per batch inside a partition (overrides ``options.batch_size``).
    options
        How to read the source (:class:`~chatlens.corpus.api.SourceOptions`).
    partition_rows
        Target rows per partition when large Parquet files are split by row groups; ``None``
        keeps one partition per file. Part of the output's identity (not the worker count).
    keep_text
        Keep message ``content`` in ``messages`` (stages always see it).
    processes
        For a ``dask`` ``LocalCluster``: worker processes (``True``) or threads (``False``).
    duplicates
        Conversation ids found in more than one partition: ``"report"`` them only, or also
        ``"quarantine"`` every occurrence after the first (the tables then equal a
        single-process read). Reported in :attr:`EngineResult.duplicates` either way.
    layout
        ``"parts"`` (one part per partition and table) or ``"single"`` (local engine only: one
        ``<table>.parquet`` per table, repeated ids quarantined as they are read, whatever
        ``duplicates`` says).
    part_compression
        Parquet codec of the part files (``parts`` layout): ``zstd`` (small files to keep) or,
        for parts that are compacted and deleted right after the run, a cheaper one (``snappy``).

    Returns
    -------
    EngineResult
        Merged summary, per-partition counts and timings, cross-partition duplicates.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = [{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}]
    >>> _ = (d / "chats.jsonl").write_text("\\n".join(json.dumps(r) for r in rows) + "\\n{oops\\n")
    >>> result = run(d / "chats.jsonl", ["message_length"], out=d / "run")
    >>> (result.rows_in, result.rows_analysed, result.rows_quarantined)
    (2, 1, 1)
    >>> result.scan("messages").select("role", "n_words").collect().rows()
    [('user', 1), ('assistant', 1)]
    >>> import shutil; shutil.rmtree(d)
    """
    t0 = time.perf_counter()
    opts = _check(engine, workers, address, batch_size, options)
    if duplicates not in ("report", "quarantine"):
        msg = f"The 'duplicates' parameter of run must be 'report' or 'quarantine'. Got {duplicates!r} instead."
        raise InvalidParameterError(msg)
    if layout not in ("parts", "single") or (layout == "single" and engine != "local"):
        msg = (
            "The 'layout' parameter of run must be 'parts', or 'single' with engine='local'. "
            f"Got layout={layout!r}, engine={engine!r} instead."
        )
        raise InvalidParameterError(msg)
    specs = resolve_stages(stages)
    schemas = output_schemas(specs, keep_text=keep_text)  # fail fast on a broken stage
    scan = opts.open(source)
    plan = plan_partitions(scan.files, scan.format, partition_rows=partition_rows)
    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"The output directory {out} exists and is not a directory."
        raise InvalidParameterError(msg)
    client = None
    if engine == "dask" and isinstance(address, str):
        from chatlens.engine import dask as dask_engine

        # before the output directory is created (lock_run creates it) and the previous parts
        # go: a mistyped or unreachable address leaves no trace (it used to leave a new, empty
        # directory)
        client = address = dask_engine.connect(address)
    try:
        lock = lock_run(out)
    except BaseException:
        if client is not None:
            client.close()
        raise
    # the directory is locked where it is written (a second run into it is refused), and
    # SIGTERM cleans up as an error does (chatlens.engine.rundir)
    with terminate_as_exit(), lock:
        token = None
        try:
            token = _prepare(out, layout)
            tasks = [
                _task(p, scan.format, scan.options, opts, specs, out, keep_text, part_compression,
                      token, part_digits(len(plan)))
                for p in plan
            ]
            timings = {"plan": round(time.perf_counter() - t0, 4)}
            n_workers = 1 if engine == "local" else workers or usable_cores()

            t = time.perf_counter()
            single = layout == "single"  # progress in rows or bytes (one partition may be the whole input)
            with (
                reading_progress(f"reading {scan.format}", scan.format, scan.files)
                if single
                else progress_bar(description=f"{engine}: partitions", total=len(tasks))
            ) as advance:

                def on_done(done: PartitionResult) -> None:
                    if single:
                        part = plan[done.index]
                        advance.files_done([part.file, *part.more_files])
                    else:
                        advance(1)

                if single:
                    from chatlens.engine import local

                    files = RunFiles(out, schemas, advance=advance.batch)
                    try:
                        results = local.execute(tasks, on_done=on_done, into=files)
                    except BaseException:
                        files.abort()  # the partition's error, not a second one from the footers
                        raise
                    files.close()
                elif engine == "local":
                    from chatlens.engine import local

                    results = local.execute(tasks, on_done=on_done)
                elif engine == "process":
                    from chatlens.engine import pool

                    results = pool.execute(tasks, workers=n_workers, on_done=on_done)
                else:
                    from chatlens.engine import dask

                    results = dask.execute(
                        tasks, workers=workers, address=address, processes=processes, on_done=on_done
                    )
            timings["partitions"] = round(time.perf_counter() - t, 4)
        except BaseException:
            _abandon(out, token)
            raise
        finally:
            if client is not None:
                client.close()
        if token is not None:  # the run has all its parts: a straggler must not replace one now
            token.unlink(missing_ok=True)
            _remove_tmp_parts(out)
        if engine == "dask" and address is not None:  # an existing cluster: count who did the work
            n_workers = len({r.worker for r in results}) or 1

        t = time.perf_counter()
        total = merge_accumulators(
            [r.accumulator for r in results],
            format=scan.format,
            files=len(scan.files),
            bytes=sum(f.size for f in scan.files),
        )
        found = dup.occurrences(out) if layout == "parts" else dup.no_occurrences()
        moved = 0
        if duplicates == "quarantine" and found.height:
            removed = dup.quarantine_later(out, found, tasks, {r.index: r.repairs for r in results})
            dup.subtract(total, removed)
            moved = removed.conversations
        summary = total.finish()
        dup_report = dup.report(found, quarantined=moved)
        timings["merge"] = round(time.perf_counter() - t, 4)
        return EngineResult(
            out=out,
            engine=engine,
            workers=n_workers,
            summary=summary,
            partitions=tuple(results),
            duplicates=dup_report,
            stages=specs,
            wall_s=round(time.perf_counter() - t0, 4),
            timings=timings,
            layout=layout,
            files=tuple(Path(str(f.path)) for f in scan.files),
        )


def preflight(
    source: SourceLike | None,
    stages: Iterable[StageSpec | str] | None,
    *,
    engine: str,
    workers: int | None = None,
    address: str | None = None,
    options: SourceOptions | None = None,
    keep_text: bool = False,
) -> tuple[tuple[Path, ...], dict[str, dict[str, pl.DataType]]]:
    """What :func:`run` checks before it writes anything: the engine arguments (and that the
    Dask extra is installed for ``engine="dask"``), the stages (run on an empty batch) and the
    source (resolved). Returns the local input files and the output
    schemas. Why separate: ``analyze`` calls it before it clears the run directory, so a typo in
    the source, a bad ``--engine`` or a broken profile leaves the previous run as it was."""
    opts = _check(engine, workers, address, None, options)
    if engine == "dask":  # a missing extra fails here, not once the previous run is gone
        from chatlens.engine import dask as dask_engine

        dask_engine.require()
    schemas = output_schemas(resolve_stages(stages), keep_text=keep_text)
    if source is None:  # the stages and arguments only (the source is not written yet)
        return (), schemas
    return tuple(f.path for f in opts.open(source).files), schemas


def _check(
    engine: str,
    workers: int | None,
    address: object,
    batch_size: int | None,
    options: SourceOptions | None,
) -> SourceOptions:
    if engine not in ENGINES:
        msg = f"The 'engine' parameter of run must be one of {', '.join(ENGINES)}. Got {engine!r} instead."
        raise InvalidParameterError(msg)
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        msg = f"The 'workers' parameter of run must be a positive integer or None. Got {workers!r} instead."
        raise InvalidParameterError(msg)
    if address is not None and engine != "dask":
        msg = (
            f"The 'address' parameter of run applies to engine='dask' only; got engine={engine!r}."
        )
        raise InvalidParameterError(msg)
    opts = options or SourceOptions()
    if not isinstance(opts, SourceOptions):
        msg = f"The 'options' parameter of run must be a SourceOptions. Got {type(opts).__name__} instead."
        raise InvalidParameterError(msg)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            msg = f"The 'batch_size' parameter of run must be a positive integer. Got {batch_size!r} instead."
            raise InvalidParameterError(msg)
        opts = SourceOptions(**{**vars(opts), "batch_size": batch_size})
    return opts


#: A ``parts`` run's token file in ``out`` (``.chatlens-run-<id>``): a worker commits its parts only
#: while the token exists (see :class:`~chatlens.engine.worker.PartFiles`).
RUN_TOKEN = ".chatlens-run-"
#: Temporary names of parts being written (``.part-00003.parquet.<pid>.tmp``).
TMP_PARTS = ".part-*.tmp"


def _prepare(out: Path, layout: Layout) -> Path | None:
    """Clear the previous run's parts (``parts`` layout) and create this run's token file.

    Why the token: a failed run returns while partitions may still be running (a Dask cluster
    given by ``address`` goes on with a cancelled task; a ``LocalCluster``'s threads cannot be
    stopped), and such a partition used to commit its parts seconds later, into a directory the
    caller had been told had failed, or that a rerun had already cleared. Temporary parts of
    workers that were killed (never renamed, never removed) are removed here too.
    """
    if layout == "single":
        out.mkdir(parents=True, exist_ok=True)
        return None
    for table in TABLES:
        folder = out / table
        folder.mkdir(parents=True, exist_ok=True)
        for stale in [*folder.glob("part-*.parquet"), *folder.glob(TMP_PARTS)]:
            stale.unlink(missing_ok=True)
    for stale in out.glob(f"{RUN_TOKEN}*"):
        stale.unlink(missing_ok=True)
    token = out / f"{RUN_TOKEN}{uuid.uuid4().hex}"
    token.touch()
    return token


def _abandon(out: Path, token: Path | None) -> None:
    """After a failed run: withdraw its token (partitions still running do not commit) and
    remove the temporary parts it leaves (of workers that died, or are still writing)."""
    if token is None:
        return
    token.unlink(missing_ok=True)
    _remove_tmp_parts(out)


def _remove_tmp_parts(out: Path) -> None:
    """Remove the temporary parts in ``out`` (once no partition of the run can write any more).

    Why also after a run that succeeded: a Dask worker that dies in the middle of a partition
    leaves its temporary parts, and the scheduler runs the task again on another worker (or the
    restarted one), so the run succeeds beside them (one ``.part-<index>.parquet.<pid>.tmp`` per
    table, as large as the partition had got).
    """
    for table in TABLES:
        for tmp in (out / table).glob(TMP_PARTS):
            tmp.unlink(missing_ok=True)


def _task(
    partition: Partition,
    format: str,
    reader_options: ReaderOptions,
    opts: SourceOptions,
    stages: tuple[StageSpec, ...],
    out: Path,
    keep_text: bool,  # noqa: FBT001
    compression: str,
    token: Path | None,
    digits: int,
) -> PartitionTask:
    return PartitionTask(
        partition=_absolute(partition),
        format=format,
        reader_options=reader_options,
        batch_size=opts.batch_size,
        max_message_chars=opts.max_message_chars,
        stages=stages,
        out=str(out.resolve()),
        keep_text=keep_text,
        compression=compression,
        run_token=None if token is None else str(token.resolve()),
        part_digits=digits,
    )


def _absolute(partition: Partition) -> Partition:
    """``partition`` with its files' paths made absolute (their ``name``, what provenance
    columns show, stays as the user gave it).

    Why: a task is opened by a worker, and a Dask worker's working directory is where the
    worker was started, not the driver's: a relative source ('data/a.jsonl') was read relative
    to the worker's directory (a missing file, or silently another file of the same name),
    while ``out`` was already resolved.
    """
    files = [partition.file, *partition.more_files]
    if all(f.path.is_absolute() for f in files):
        return partition
    first, *more = [replace(f, path=f.path.absolute()) for f in files]
    return replace(partition, file=first, more_files=tuple(more))


def merge_accumulators(
    parts: Sequence[SummaryAccumulator], *, format: str, files: int, bytes: int
) -> SummaryAccumulator:
    """Merge per-partition accumulators, in partition order (so tie order is deterministic)."""
    total = SummaryAccumulator(format=format, files=files, bytes=bytes)
    for acc in parts:
        for name in (
            "records_in",
            "source_records",
            "conversations",
            "messages",
            "quarantined",
            "turn_sum",
        ):
            setattr(total, name, getattr(total, name) + getattr(acc, name))
        for name in ("repairs", "reasons", "models", "languages", "roles", "turns"):
            getattr(total, name).update(getattr(acc, name))
    return total


def merge_summaries(
    parts: Sequence[SummaryAccumulator], *, format: str, files: int, bytes: int
) -> CorpusSummary:
    """Merge per-partition accumulators, in partition order, into one summary."""
    return merge_accumulators(parts, format=format, files=files, bytes=bytes).finish()


__all__ = [
    "ENGINES",
    "DuplicateReport",
    "Engine",
    "EngineResult",
    "Layout",
    "find_duplicates",
    "merge_accumulators",
    "merge_summaries",
    "run",
]
