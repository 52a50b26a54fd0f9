"""``chatlens analyze``: one source in, one self-describing run directory out.

The run directory (DESIGN.md) holds everything a run produced and enough provenance to reproduce
it: ``conversations.parquet`` (with the per-conversation behaviour columns), ``messages.parquet``
(detector columns; message text only with ``keep_text``), ``quarantine.parquet`` (records set
aside, with file, row and reason), ``summary.json``, ``tables/*.csv`` (corpus counts and the
behaviour tables with confidence intervals, :mod:`chatlens.report.tables`), ``figures/*.png``,
``report.html`` and ``manifest.json`` (command, configuration, package versions, input
fingerprint, row counts in / analysed / quarantined, timings).

With no source, the built-in demo corpus (the synthetic LMSYS-shaped corpus with ground truth) is
generated into ``DIR/input/`` and analysed, so a fresh clone has something real to look at.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import polars as pl

from chatlens import __version__
from chatlens._progress import status
from chatlens.corpus.api import SourceLike, SourceOptions, iter_batches
from chatlens.corpus.canonical import CanonicalBatch
from chatlens.corpus.schema import CONVERSATIONS_SCHEMA, MESSAGES_SCHEMA, QUARANTINE_SCHEMA
from chatlens.corpus.sink import BackgroundWriter, ParquetSink
from chatlens.corpus.summary import CorpusSummary, RowCounts, SummaryAccumulator
from chatlens.errors import InvalidParameterError
from chatlens.pipeline.features import features_stage, stage_schemas
from chatlens.pipeline.signals import signals_stage
from chatlens.report.figures import behaviour_figures
from chatlens.report.html import write_run_report
from chatlens.report.tables import BehaviourTables, behaviour_tables, legacy_tables
from chatlens.report.truth import truth_agreement

DEMO_CONVERSATIONS = 20_000
DEMO_SEED = 0
_FINGERPRINT_CHUNK = 1 << 20


@dataclass(frozen=True)
class RunResult(RowCounts):
    """What :func:`analyze` produced: where, how much, and the summary."""

    out: Path
    summary: CorpusSummary
    manifest: dict[str, Any]
    behaviour: BehaviourTables | None = None



def analyze(
    source: SourceLike | None = None,
    *,
    out: str | Path,
    keep_text: bool = False,
    detect: bool = True,
    profile: Literal["default", "legacy"] = "default",
    overwrite: bool = True,
    command: Sequence[str] | None = None,
    demo_conversations: int = DEMO_CONVERSATIONS,
    engine: Literal["local", "process", "dask"] = "local",
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
        Run the detectors (refusal on assistant messages, jailbreak on user messages). Off, the
        run only builds the canonical corpus.
    profile
        ``default`` (chatlens's definitions) or ``legacy`` (the original study's, so its numbers
        can be reproduced; adds ``refusal_type_legacy``).
    command
        The command line to record in the manifest (the CLI passes ``sys.argv``).
    engine, workers, address
        ``local`` streams in this process (reading overlapped with writing); ``process`` spreads
        partitions of the input over ``workers`` processes; ``dask`` over a Dask cluster
        (``address`` of its scheduler, or a local cluster). All three give identical tables
        (:mod:`chatlens.engine`).
    **options
        :class:`~chatlens.corpus.api.SourceOptions` fields.
    """
    t0 = time.perf_counter()
    out = Path(out)
    if out.exists() and not out.is_dir():
        msg = f"The run directory {out} exists and is not a directory."
        raise InvalidParameterError(msg)
    if out.exists() and any(out.iterdir()) and not overwrite:
        msg = f"The run directory {out} is not empty; pass overwrite=True (--overwrite) to reuse it."
        raise InvalidParameterError(msg)
    (out / "tables").mkdir(parents=True, exist_ok=True)

    demo = source is None
    timings: dict[str, float] = {}
    if demo:
        from chatlens.synth import synth

        t = time.perf_counter()
        source = out / "input" / "demo.parquet"
        source.parent.mkdir(parents=True, exist_ok=True)
        status(f"generating the demo corpus: {demo_conversations:,} synthetic conversations")
        synth(demo_conversations, seed=DEMO_SEED, out=source)
        timings["synth_demo"] = round(time.perf_counter() - t, 3)

    opts = SourceOptions(**options)
    t = time.perf_counter()
    if engine == "local":
        summary, files = _ingest_local(source, out, opts, detect=detect, profile=profile, keep_text=keep_text)
        engine_account = None
    else:
        summary, files, engine_account = _ingest_engine(
            source, out, opts, detect=detect, profile=profile, keep_text=keep_text,
            engine=engine, workers=workers, address=address,
        )
    timings["read_detect_write" if detect else "read_canonicalize_write"] = round(time.perf_counter() - t, 3)

    _write_tables(out / "tables", summary)
    behaviour: BehaviourTables | None = None
    figures: list[Path] = []
    if detect and summary.conversations:
        t = time.perf_counter()
        behaviour = legacy_tables(out) if profile == "legacy" else behaviour_tables(out)
        if demo and profile == "default":
            agreement = truth_agreement(out, Path(source).with_name("demo.truth.parquet"))
            behaviour.tables["demo_truth_agreement"] = agreement
            behaviour.headline["demo_truth_agreement"] = agreement.to_dicts()
        behaviour.write(out / "tables")
        if profile == "default":
            figures = behaviour_figures(behaviour.tables, out / "figures")
        timings["statistics_tables_figures"] = round(time.perf_counter() - t, 3)
    summary_json = summary.to_dict()
    if behaviour is not None:
        summary_json["behaviour"] = behaviour.headline
    (out / "summary.json").write_text(json.dumps(summary_json, indent=2, ensure_ascii=False, default=str))
    timings["total"] = round(time.perf_counter() - t0, 3)
    manifest = _manifest(
        source=source,
        demo=demo,
        demo_conversations=demo_conversations,
        files=files,
        engine_account=engine_account,
        options=opts,
        keep_text=keep_text,
        detect=detect,
        profile=profile,
        summary=summary,
        timings=timings,
        command=command,
        out=out,
    )
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    write_run_report(out, summary_json, manifest, behaviour=behaviour, figures=figures)
    return RunResult(out=out, summary=summary, manifest=manifest, behaviour=behaviour)


def _ingest_local(
    source: SourceLike, out: Path, opts: SourceOptions, *, detect: bool, profile: str, keep_text: bool
) -> tuple[CorpusSummary, list[Path]]:
    """Stream the source through the stages in this process; writes overlap the next read."""
    stream = iter_batches(source, **vars(opts))
    acc = SummaryAccumulator(format=stream.format, files=len(stream.files), bytes=stream.total_bytes)
    if detect:
        message_schema, conversation_schema = stage_schemas(profile=profile, keep_text=keep_text)
    else:
        message_schema, conversation_schema = dict(MESSAGES_SCHEMA), dict(CONVERSATIONS_SCHEMA)
    if not keep_text:
        del message_schema["content"]
    with (
        ParquetSink(out / "messages.parquet", message_schema) as messages_sink,
        ParquetSink(out / "conversations.parquet", conversation_schema) as conversations_sink,
        ParquetSink(out / "quarantine.parquet", QUARANTINE_SCHEMA) as quarantine_sink,
        BackgroundWriter() as writer,
    ):
        for batch in stream:
            acc.update(batch)
            if detect:
                batch = signals_stage(batch, profile=profile)
                batch = features_stage(batch, profile=profile, keep_text=keep_text)
            messages = batch.messages if keep_text else batch.messages.drop("content")

            def write(messages: pl.DataFrame = messages, batch: CanonicalBatch = batch) -> None:
                messages_sink.write(messages)
                conversations_sink.write(batch.conversations)
                quarantine_sink.write(batch.quarantine)

            writer.submit(write)
    files = [Path(str(getattr(f, "path", f))) for f in stream.files]
    return acc.finish(), files


def _ingest_engine(
    source: SourceLike,
    out: Path,
    opts: SourceOptions,
    *,
    detect: bool,
    profile: str,
    keep_text: bool,
    engine: str,
    workers: int | None,
    address: str | None,
) -> tuple[CorpusSummary, list[Path], dict[str, Any]]:
    """Run the same stages through :func:`chatlens.engine.run`, then compact its parts."""
    import shutil

    from chatlens.engine import StageSpec
    from chatlens.engine import run as engine_run

    stages = []
    if detect:
        stages = [
            StageSpec("signals", "chatlens.pipeline.signals:signals_stage", {"profile": profile}),
            StageSpec(
                "features",
                "chatlens.pipeline.features:features_stage",
                {"profile": profile, "keep_text": keep_text},
            ),
        ]
    parts = out / "_parts"
    result = engine_run(
        source,
        stages,
        out=parts,
        engine=engine,  # type: ignore[arg-type]
        workers=workers,
        address=address,
        options=opts,
        keep_text=keep_text,
        duplicates="quarantine",
    )
    for table in ("messages", "conversations", "quarantine"):
        result.compact(table, out / f"{table}.parquet")
    shutil.rmtree(parts, ignore_errors=True)
    from chatlens.corpus.sources import resolve

    files = [Path(str(getattr(f, "path", f))) for f in resolve(source, hf_token=opts.hf_token)]
    return result.summary, files, result.public()


def _write_tables(tables: Path, summary: CorpusSummary) -> None:
    for name, counts, key in (
        ("models", summary.models, "model"),
        ("languages", summary.languages, "language"),
        ("turns", summary.turns_histogram, "n_turns"),
        ("roles", summary.roles, "role"),
        ("quarantine_reasons", summary.quarantine_reasons, "reason"),
        ("repairs", summary.repairs, "repair"),
    ):
        frame = pl.DataFrame(
            {key: list(counts), "count": list(counts.values())},
            schema={key: pl.String, "count": pl.Int64},
        )
        frame.write_csv(tables / f"{name}.csv")


def fingerprint(files: Sequence[Path]) -> dict[str, Any]:
    """A quick, stable fingerprint of the input files.

    Hashes each file's name, size and its first and last MiB (not the whole file: a 10 GB log
    would take longer to hash than to analyse). Any edit that changes a file's size or either end
    changes the hash; the method is recorded next to it.
    """
    digest = hashlib.sha256()
    listed = []
    for path in sorted(files, key=str):
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        digest.update(f"{path.name}\0{size}\0".encode())
        if size > 0:
            with path.open("rb") as fh:
                digest.update(fh.read(_FINGERPRINT_CHUNK))
                if size > 2 * _FINGERPRINT_CHUNK:
                    fh.seek(-_FINGERPRINT_CHUNK, 2)
                    digest.update(fh.read(_FINGERPRINT_CHUNK))
        listed.append({"path": str(path), "bytes": size})
    return {
        "method": "sha256(name, size, first MiB, last MiB) per file",
        "sha256": digest.hexdigest(),
        "files": listed,
    }


def _git_hash() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "chatlens": __version__}
    for dist in ("polars", "pyarrow", "duckdb", "numpy", "scipy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _manifest(
    *,
    source: SourceLike,
    demo: bool,
    demo_conversations: int,
    files: list[Path],
    options: SourceOptions,
    keep_text: bool,
    detect: bool,
    profile: str,
    summary: CorpusSummary,
    timings: dict[str, float],
    command: Sequence[str] | None,
    out: Path,
    engine_account: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "chatlens_version": __version__,
        "git_hash": _git_hash(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "python_executable": sys.executable,
        "source": {
            "given": "demo" if demo else str(source),
            "demo": {"generator": "chatlens.synth", "conversations": demo_conversations, "seed": DEMO_SEED}
            if demo
            else None,
            "format": summary.format,
        },
        "configuration": {**options.public(), "keep_text": keep_text, "detect": detect, "profile": profile},
        "packages": _versions(),
        "input_fingerprint": fingerprint(files),
        "counts": {
            "rows_in": summary.records_in,
            "source_records": summary.source_records,
            "rows_analysed": summary.conversations,
            "rows_quarantined": summary.quarantined,
            "messages": summary.messages,
            "repairs": summary.repairs,
        },
        "timings_s": timings,
        "engine": engine_account or {"engine": "local"},
        "outputs": sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
        + ["manifest.json", "report.html"],
    }
