"""``chatlens analyze``: one source in, one self-describing run directory out.

The run directory (DESIGN.md) holds everything a run produced and enough provenance to reproduce
it: ``conversations.parquet`` (with the per-conversation behaviour columns), ``messages.parquet``
(detector columns; message text only with ``keep_text``), ``quarantine.parquet`` (records set
aside, with file, row and reason), ``summary.json``, ``tables/*.csv`` (corpus counts and the
behaviour tables with confidence intervals, :mod:`chatlens.report.tables`), ``figures/*.png``,
``report.html`` and ``manifest.json`` (:mod:`chatlens.report.manifest`: command, configuration,
profile, data files, package versions, input fingerprint, row counts in / analysed /
quarantined, timings).

A run directory is marked incomplete (``.chatlens-incomplete``) from the start of the run until
its report is written, and a rerun first removes the previous run's outputs, so a failed or killed
run never leaves old and new files side by side looking like one run; ``chatlens query`` refuses
a marked directory (:mod:`chatlens.engine.rundir`).

One run path: the profile (:mod:`chatlens.pipeline.profile`) is resolved once, here, into the
stages it lists, and every engine runs them through :func:`chatlens.engine.run`, so a local run
checks the same contracts as a pool or Dask run (stages only add columns; rows in = analysed +
quarantined per partition). What the report builds (table set, figures, ground-truth check) is
looked up by the names the profile gives.

With no source, the built-in demo corpus (the synthetic LMSYS-shaped corpus with ground truth) is
generated into ``DIR/input/`` and analysed, so a fresh clone has something real to look at.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from chatlens import datafiles
from chatlens._json import strict_json
from chatlens._lazy import import_target
from chatlens._progress import status
from chatlens._repr import short_repr
from chatlens.corpus.api import SourceLike, SourceOptions
from chatlens.corpus.summary import CorpusSummary, RowCounts
from chatlens.corpus.tablefile import neutralise_formulas
from chatlens.datafiles import DataFileRecord
from chatlens.engine.api import preflight
from chatlens.engine.result import EngineResult
from chatlens.engine.rundir import (
    MARKER,
    begin_run,
    claim,
    finish_run,
    lock_run,
    terminate_as_exit,
)
from chatlens.errors import (
    AccountingError,
    ChatlensError,
    InvalidParameterError,
    RunDirectoryError,
    StageError,
)
from chatlens.pipeline.profile import Profile, load_profile
from chatlens.report.html import write_run_report
from chatlens.report.manifest import RunRecord, build_manifest
from chatlens.report.validity import validity_section

if TYPE_CHECKING:
    from chatlens.corpus.sources import SourceScan
    from chatlens.report.tables import BehaviourTables

DEMO_CONVERSATIONS = 20_000
#: Rows per partition for the pooled engines: small enough that two or more workers share even a
#: 100k-conversation file and the last partition leaves little idle time, and that the process
#: tree stays under 2 GB on 1M LMSYS-shaped conversations with the learned tiers (50k: 2.8 GB,
#: 25k: 2.03 GB, 20k: 1.78 GB; ``benchmarks/bench_analyze.py``); the tables do not depend on it
#: (they are compacted in partition order).
PARTITION_ROWS = 20_000
#: At most this many records go through the stages at once (a reader batch), whatever the row
#: groups: a partition is whole row groups, so a file written in 50k-row groups (``chatlens
#: synth``) made 50k-record batches and a 2.64 GB process tree on 1M synthetic conversations.
#: The tables do not depend on it (batches hold whole conversations; tested).
STAGE_BATCH_ROWS = PARTITION_ROWS
DEMO_SEED = 0
#: Codec of the pooled engines' temporary part files (compacted into zstd tables, then deleted).
PART_COMPRESSION = "snappy"

#: The report's table sets and figures, by the names a profile file uses (``"module:attr"``,
#: imported when a run gets there). A table set is called as
#: ``build(run_dir, messages=<the run's messages as a LazyFrame>)``, a figure as
#: ``draw(tables, directory)`` (returns the PNG files written).
TABLE_SETS: dict[str, str] = {
    "behaviour": "chatlens.report.tables:behaviour_tables",
    "legacy": "chatlens.report.tables:legacy_tables",
}
#: Conversation columns each table set reads (checked against the stages' output before a run).
TABLE_SET_COLUMNS: dict[str, tuple[str, ...]] = {
    "behaviour": ("has_refusal",),
    "legacy": ("conversation_abandoned",),
}
FIGURES: dict[str, str] = {
    "behaviour": "chatlens.report.figures:behaviour_figures",
    "study1_comprehensive_analysis": "chatlens.report.study1:study1_figure",
}
#: What the run's last steps import (statistics, matplotlib, the report): about a second of
#: start-up, loaded on a helper thread while pool or cluster workers run the partitions,
#: instead of before them.
REPORT_MODULES = (
    *TABLE_SETS.values(),
    *FIGURES.values(),
    "chatlens.report.truth:truth_agreement",
)


def _check_table_set(profile: Profile, conversations: dict[str, Any]) -> None:
    """Refuse a profile whose table set reads columns its stages do not add (it used to fail
    after the whole run, blaming the detection)."""
    missing = [c for c in TABLE_SET_COLUMNS.get(profile.tables, ()) if c not in conversations]
    if missing:
        stages = ", ".join(s.name for s in profile.stage_specs(keep_text=False)) or "none"
        msg = (f"Profile {profile.name!r} ({profile.source}): its table set {profile.tables!r} "
               f"reads the conversation column(s) {missing}, which its stages ({stages}) do not "
               "add. Expected the stages that add them (e.g. signals and behaviour for "
               "'behaviour') or another table set.")
        raise InvalidParameterError(msg)


def check_profile(profile: str | Path | Profile) -> Profile:
    """Load a profile and check what a run would find only once it ran: that its stages accept
    their parameters (run on an empty batch) and add the columns its table set reads. ``chatlens
    validate --data-file P --kind profile`` calls it (a schema-valid file used to print "ok" and
    then fail in ``analyze``)."""
    resolved = load_profile(profile)
    _preflight(resolved, None, resolved.stage_specs(keep_text=False), tables=True, engine="local")
    return resolved


def _preflight(profile: Profile, source: SourceLike | None, stages: Sequence[Any], *,
               tables: bool, **engine: Any) -> tuple[Path, ...]:
    """:func:`~chatlens.engine.api.preflight` (``engine``: its keyword arguments) with a stage
    error naming ``profile``, then, with ``tables``, :func:`_check_table_set`. Returns the input
    files."""
    try:
        inputs, schemas = preflight(source, stages, **engine)
    except StageError as exc:  # name the profile that set the stage up
        msg = f"Profile {profile.name!r} ({profile.source}): {exc}"
        raise StageError(msg) from exc
    if tables:
        _check_table_set(profile, schemas["conversations"])
    return inputs


def _import_report() -> None:
    for target in REPORT_MODULES:
        import_target(target)


@dataclass(frozen=True)
class RunResult(RowCounts):
    """What :func:`analyze` produced: where, how much, and the summary."""

    out: Path
    summary: CorpusSummary
    manifest: dict[str, Any]
    behaviour: BehaviourTables | None = None

    def __repr__(self) -> str:
        return short_repr(self, rows_in=self.rows_in, rows_analysed=self.rows_analysed,
                          rows_quarantined=self.rows_quarantined)


def analyze(
    source: SourceLike | None = None,
    *,
    out: str | Path,
    keep_text: bool = False,
    detect: bool = True,
    profile: str | Path | Profile = "default",
    overwrite: bool = False,
    command: Sequence[str] | None = None,
    demo_conversations: int = DEMO_CONVERSATIONS,
    engine: Literal["local", "process", "dask"] | None = None,
    workers: int | None = None,
    address: str | None = None,
    **options: Any,
) -> RunResult:
    """Analyse a source into the run directory ``out``.

    Parameters
    ----------
    source
        File, directory, glob, list, or Hugging Face dataset id. ``None`` analyses the built-in
        demo corpus (``demo_conversations`` synthetic conversations, seed 0).
    out
        The run directory (created).
    keep_text
        Keep message text in ``messages.parquet`` (off by default: run directories get shared,
        and conversation text is personal data).
    detect
        Run the profile's stages (detectors and features). Off, the run only builds the
        canonical corpus.
    profile
        ``default`` (chatlens's definitions), ``legacy`` (the original study's, so its numbers
        can be reproduced; adds ``refusal_type_legacy``, its CSVs and its 8-panel figure), a
        profile YAML file, or a :class:`~chatlens.pipeline.profile.Profile`. Resolved once, here.
    overwrite
        Replace files named like a run's outputs in an ``out`` that is not a chatlens run
        directory (refused otherwise: they may be the user's own). A rerun into a chatlens run
        directory always replaces that run; a source file at a run output's path is always
        refused (:func:`~chatlens.engine.rundir.claim`).
    command
        The command line to record in the manifest (the CLI passes ``sys.argv``).
    engine, workers, address
        ``local`` runs the partitions in this process, appending to the run's tables as it goes
        (streaming, reading overlapped with writing); ``process`` spreads them over ``workers``
        processes; ``dask`` over a Dask cluster (``address`` of its scheduler, or a local
        cluster). All three run the same worker code, check the same contracts and give
        identical tables (:mod:`chatlens.engine`). ``None`` (the default) uses every core:
        ``process`` when ``workers`` (default: the usable cores) is more than 1 and the
        source splits into more than one partition (files, or whole row groups of about
        :data:`PARTITION_ROWS` rows of a Parquet file of at least 1.5 times that), else ``local`` — so ``workers=1`` is one process. In a script, call it under
        ``if __name__ == "__main__":`` (the pool's workers re-import the main module).
    **options
        :class:`~chatlens.corpus.api.SourceOptions` fields.
    """
    # the manifest lists the data files this run used, not those an earlier run in this
    # process loaded (datafiles.used() is process-wide); SIGTERM cleans up as an error does
    with datafiles.recording() as used, terminate_as_exit():
        return _analyze(source, out=out, keep_text=keep_text, detect=detect, profile=profile,
                        overwrite=overwrite, command=command, demo_conversations=demo_conversations,
                        engine=engine, workers=workers, address=address, used=used, **options)


def _analyze(
    source: SourceLike | None,
    *,
    out: str | Path,
    keep_text: bool,
    detect: bool,
    profile: str | Path | Profile,
    overwrite: bool,
    command: Sequence[str] | None,
    demo_conversations: int,
    engine: Literal["local", "process", "dask"] | None,
    workers: int | None,
    address: str | None,
    used: Sequence[DataFileRecord],
    **options: Any,
) -> RunResult:
    t0 = time.perf_counter()
    resolved = load_profile(profile)
    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"The run directory {out} exists and is not a directory."
        raise InvalidParameterError(msg)
    demo = source is None
    opts = SourceOptions(**options)
    stages = resolved.stage_specs(keep_text=keep_text) if detect else ()
    # the source is resolved and its format detected once, here: choosing the engine, the
    # preflight and the run each opened it again (a folder of 5,000 JSON files: 0.5 s each;
    # an in-memory table written to a temporary Parquet file three times)
    scan = None if demo else opts.open(source)
    # everything that can fail on the arguments fails here, before the previous run goes
    if not demo and engine is None:
        engine = default_engine(scan, opts, workers)
    inputs = _preflight(resolved, scan, stages, tables=detect,
                        engine=engine or "local", workers=workers, address=address, options=opts,
                        keep_text=keep_text)
    client = None
    if engine == "dask" and isinstance(address, str):
        from chatlens.engine import dask as dask_engine

        # connected before the previous run goes: a mistyped or unreachable --address fails
        # with that run intact
        client = dask_engine.connect(address)
    claimed, lock = False, None
    try:
        try:
            lock = lock_run(out)  # held until this run ends: a second run into out is refused
            claim(out, inputs, overwrite=overwrite)
            claimed = True
            begin_run(out, command)  # marked incomplete until the end; the previous run's outputs go
            (out / "tables").mkdir(parents=True, exist_ok=True)

            timings: dict[str, float] = {}
            if demo:
                from chatlens.synth import synth

                t = time.perf_counter()
                source = out / "input" / "demo.parquet"
                source.parent.mkdir(parents=True, exist_ok=True)
                status(f"generating the demo corpus: {demo_conversations:,} synthetic conversations")
                synth(demo_conversations, seed=DEMO_SEED, out=source)
                timings["synth_demo"] = round(time.perf_counter() - t, 3)
                scan = opts.open(source)
                engine = default_engine(scan, opts, workers) if engine is None else engine

            t = time.perf_counter()
            with ThreadPoolExecutor(1) as importer:
                # only while other processes do the work: this thread then waits and imports nothing,
                # so two threads never import the same (circular) packages at once
                importing = importer.submit(_import_report) if engine != "local" else None
                result = _run_stages(
                    scan, out, opts, stages, keep_text=keep_text, engine=engine, workers=workers,
                    address=address if client is None else client,
                )
                if importing is not None:
                    importing.result()
        finally:
            if client is not None:
                client.close()
        summary = result.summary
        behaviour: BehaviourTables | None = None
        validity: str | None = None
        figures: list[Path] = []
        # messages.parquet (the largest table) is compacted from the parts on a helper thread while
        # the tables and figures are built from the other tables and the parts themselves: polars
        # releases the GIL, so this serial step uses the second core
        with ThreadPoolExecutor(1) as compactor:
            compacting = None if result.layout == "single" else compactor.submit(
                result.compact, "messages", out / "messages.parquet"
            )
            check_written(out, summary)
            timings["read_detect_write" if detect else "read_canonicalize_write"] = round(time.perf_counter() - t, 3)

            _write_tables(out / "tables", summary)
            if detect and summary.conversations:
                t = time.perf_counter()
                behaviour = import_target(TABLE_SETS[resolved.tables])(out, messages=result.scan("messages"))
                if demo and resolved.demo_truth:
                    if compacting is not None:  # the check reads messages.parquet
                        compacting.result()
                    truth_agreement = import_target("chatlens.report.truth:truth_agreement")
                    agreement = truth_agreement(out, Path(source).with_name("demo.truth.parquet"))
                    behaviour.tables["demo_truth_agreement"] = agreement
                    behaviour.headline["demo_truth_agreement"] = agreement.to_dicts()
                behaviour.write(out / "tables")
                # the report's validity panel reads validation/real_accuracy.json: read now, so
                # the manifest (built below) lists it
                validity = validity_section(resolved.name, plumbing="demo_truth_agreement" in behaviour.tables)
                for figure in resolved.figures:
                    figures += import_target(FIGURES[figure])(behaviour.tables, out / "figures")
                timings["statistics_tables_figures"] = round(time.perf_counter() - t, 3)
            if compacting is not None:
                compacting.result()
        if result.layout != "single":
            shutil.rmtree(out / "_parts", ignore_errors=True)
        summary_json = summary.to_dict()
        if behaviour is not None:
            summary_json["behaviour"] = behaviour.headline
        (out / "summary.json").write_text(json.dumps(strict_json(summary_json), indent=2, ensure_ascii=False,
                                                     default=str, allow_nan=False))
        timings["total"] = round(time.perf_counter() - t0, 3)
        record = RunRecord(
            source="demo" if demo else _given(source, scan),
            demo={"generator": "chatlens.synth", "conversations": demo_conversations, "seed": DEMO_SEED}
            if demo
            else None,
            files=result.files,
            configuration={**opts.public(), "keep_text": keep_text, "detect": detect, "profile": resolved.name},
            profile=resolved.public(),
            engine=result.public(),
            command=command,
            data_files=(*result.data_files, *used),
        )
        manifest = build_manifest(record, summary, timings=timings, out=out)
        from chatlens.corpus.sources import release

        release(scan.files)  # an in-memory table's temporary copy (fingerprinted by now)
        (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        excerpts = _excerpts(out, source if demo else None) if behaviour is not None and (demo or keep_text) else None
        write_run_report(out, summary_json, manifest, behaviour=behaviour, figures=figures, excerpts=excerpts,
                         validity=validity)
        finish_run(out)
    except BaseException as exc:
        if claimed:
            _abandon_run(out, exc)
        raise
    finally:
        if lock is not None:
            lock.release()
    return RunResult(out=out, summary=summary, manifest=manifest, behaviour=behaviour)


def _abandon_run(out: Path, exc: BaseException) -> None:
    """After a run into ``out`` failed or was interrupted (``out`` stays marked incomplete):
    remove its parts, and raise an error reading or writing files there as a
    :class:`~chatlens.errors.RunDirectoryError` naming the directory.

    Why: the pooled engines' parts (``out/_parts``, a snappy copy of the whole corpus, deleted
    once compacted) stayed after any failure, Ctrl-C included, until the next run there: on a
    full disk the very files that had filled it (10 MB of parts on a 10 MB filesystem), and the
    error was a raw ``OSError: No space left on device (os error 28)`` traceback that named no
    file. Only called once :func:`~chatlens.engine.rundir.claim` has accepted ``out``, so
    ``_parts`` is a run's output there, never the user's.
    """
    shutil.rmtree(out / "_parts", ignore_errors=True)
    if isinstance(exc, OSError) and not isinstance(exc, ChatlensError):
        state = ("it stays marked incomplete until a run there finishes" if (out / MARKER).exists()
                 else "the run there before, if any, is unchanged")
        msg = (f"Cannot write the run directory {out}: {exc}. Free space there or choose a "
               f"writable --out, then rerun; {state}.")
        raise RunDirectoryError(msg) from exc


def _given(source: SourceLike, scan: SourceScan) -> str:
    """The source as the manifest and the report name it: what the user gave, or for an
    in-memory table its provenance name (``<polars.DataFrame>``).

    Why: ``str()`` of a DataFrame is its printed head, so the manifest and report.html of a run
    without ``keep_text`` held the first messages' text."""
    from chatlens.corpus.sources import in_memory_table

    return scan.files[0].name if in_memory_table(source) else str(source)


def default_engine(source: SourceLike, opts: SourceOptions, workers: int | None = None) -> Literal["local", "process"]:
    """The engine that uses every core: ``process`` when there are several workers and several
    partitions to share, else ``local`` (a pool for one partition is only start-up cost).

    ``workers`` defaults to the usable cores (``os.sched_getaffinity`` where it exists).
    """
    from chatlens.engine.partitions import plan_partitions

    if workers is None:
        from chatlens.engine.pool import usable_cores

        workers = usable_cores()
    if workers <= 1:
        return "local"
    scan = opts.open(source)
    plan = plan_partitions(scan.files, scan.format, partition_rows=PARTITION_ROWS)
    return "process" if len(plan) > 1 else "local"


def _run_stages(
    source: SourceScan,
    out: Path,
    opts: SourceOptions,
    stages: Sequence[Any],
    *,
    keep_text: bool,
    engine: str,
    workers: int | None,
    address: str | Any | None,
) -> EngineResult:
    """The source through the stages on the engine, into ``out/<table>.parquet``.

    The local engine appends to the run's tables as it goes (``single`` layout, one partition
    per file, like one stream over the source); the others write parts, with ids repeated
    across partitions quarantined, so every engine gives the same tables. The parts of
    ``conversations`` and ``quarantine`` are compacted here; ``messages`` and the removal of the
    parts are left to the caller.
    """
    from chatlens.engine import run as engine_run

    single = engine == "local"
    result = engine_run(
        source,
        stages,
        out=out if single else out / "_parts",
        engine=engine,  # type: ignore[arg-type]
        workers=workers,
        address=address,
        options=opts,
        keep_text=keep_text,
        duplicates="quarantine",
        layout="single" if single else "parts",
        partition_rows=None if single else PARTITION_ROWS,
        batch_size=min(opts.batch_size, STAGE_BATCH_ROWS),
        # the parts are compacted into zstd tables and deleted: encoding them with zstd first
        # cost the workers ~0.4 CPU s per million messages more than snappy, for nothing
        part_compression=PART_COMPRESSION,
    )
    if not single:  # messages: by the caller, beside the tables (see analyze)
        for table in ("conversations", "quarantine"):
            result.compact(table, out / f"{table}.parquet")
    _in_source_order(out / "quarantine.parquet", [f.name for f in source.files])
    return result


def _in_source_order(path: Path, files: Sequence[str]) -> None:
    """Sort the quarantine by file (in reading order: ``files``, the names its ``file`` column
    shows) and source row, in place.

    Why: each batch lists the rows its reader set aside before the repeated ids it found, so the
    order depended on where batches and partitions were cut, and a 1-worker and a 2-worker run
    of one file listed the same rows in different orders. The files' order is the source's, not
    that of their first row in the quarantine: a folder of small JSON files lists its broken
    files after the other rows of their batch, so the batch size changed it. The quarantine is
    small (the exception path), so rewriting it costs nothing that shows."""
    quarantine = pl.read_parquet(path, glob=False)
    if quarantine.height < 2:
        return
    order = pl.DataFrame({"file": list(files)}, schema={"file": pl.String}).unique(
        "file", keep="first", maintain_order=True).with_row_index("_first")
    ordered = (quarantine.with_row_index("_i").join(order, on="file", how="left")
               .sort("_first", "row", "_i", nulls_last=True).drop("_i", "_first"))
    if not ordered.equals(quarantine):
        tmp = path.with_name(f".{path.name}.sorted.tmp")
        ordered.write_parquet(tmp, compression="zstd")
        tmp.replace(path)


def _excerpts(out: Path, demo_source: SourceLike | None) -> dict[str, pl.DataFrame] | None:
    """Example excerpts for the report: from the run's kept text, or from the (synthetic) demo input.

    Real text reaches the report only when the user kept it (``--keep-text``); the demo corpus is
    synthetic, so its examples are always shown.
    """
    from chatlens.report.excerpts import sample_excerpts

    wanted = ["conversation_id", "message_index", "role", "refusal", "refusal_type", "reaction"]
    messages = pl.scan_parquet(out / "messages.parquet", glob=False)
    names = messages.collect_schema().names()
    if not {"refusal", "refusal_type"} <= set(names):
        return None
    signals = messages.select([c for c in wanted if c in names]).collect()
    if "content" in names:
        text = messages.select("conversation_id", "message_index", "content").collect()
    elif demo_source is not None:
        from chatlens.corpus.api import read

        text = read(demo_source).messages.select("conversation_id", "message_index", "content")
    else:
        return None
    return sample_excerpts(signals.join(text, on=["conversation_id", "message_index"], how="inner"))


def check_written(out: Path, summary: CorpusSummary) -> None:
    """Rows in = analysed + quarantined, against the rows the run's files actually hold.

    Why three counts: ``records_in`` is summed from what the readers consumed (each reader checks
    its rows read against what came out), the summary counts conversations and quarantine rows
    as they were emitted, and the Parquet footers count what was written. Any disagreement is
    an :class:`~chatlens.errors.AccountingError` (issue 11 item 3), never a smaller corpus.
    """
    import pyarrow.parquet as pq

    written = {t: pq.ParquetFile(out / f"{t}.parquet").metadata.num_rows for t in ("conversations", "quarantine")}
    problems = []
    if summary.records_in != summary.conversations + summary.quarantined:
        problems.append(f"{summary.records_in:,} rows in, {summary.conversations:,} analysed + "
                        f"{summary.quarantined:,} quarantined")
    if written["conversations"] != summary.conversations:
        problems.append(f"conversations.parquet holds {written['conversations']:,} rows, "
                        f"{summary.conversations:,} were analysed")
    if written["quarantine"] != summary.quarantined:
        problems.append(f"quarantine.parquet holds {written['quarantine']:,} rows, "
                        f"{summary.quarantined:,} were quarantined")
    if problems:
        msg = (f"The run in {out} does not add up: {'; '.join(problems)}. This is a chatlens bug; "
               "please report it with the input.")
        raise AccountingError(msg)


def _write_tables(tables: Path, summary: CorpusSummary) -> None:
    for name, counts, key in (
        ("models", summary.models, "model"),
        ("languages", summary.languages, "language"),
        ("turns", summary.turns_histogram, "n_turns"),
        ("roles", summary.roles, "role"),
        ("quarantine_reasons", summary.quarantine_reasons, "reason"),
        ("repairs", summary.repairs, "repair"),
    ):
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))  # ties: stable order
        frame = pl.DataFrame(
            {key: [k for k, _ in ordered], "count": [v for _, v in ordered]},
            schema={key: pl.String, "count": pl.Int64},
        )
        neutralise_formulas(frame).write_csv(tables / f"{name}.csv")
