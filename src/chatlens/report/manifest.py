"""A run's ``manifest.json``: what ran, on what input, with which data files and code.

Why its own module: a report that cannot say which lexicon version produced it cannot be
reproduced (STYLE.md §8). The manifest records the command, the resolved configuration and
profile, package versions and git hash, an input fingerprint, every data file the run used
(name, version, sha256), row counts in / analysed / quarantined, the engine's account and the
timings.

:func:`data_files_used` is the one place that answers "which data files did this run use"; it
lists the bundled data files of the layers an analysis reads (see :data:`RUN_DATA_FOLDERS`), the
ones the caller names (the profile), the ones the engine's workers loaded (returned with each
partition, :attr:`~chatlens.engine.result.EngineResult.data_files`: a pool or Dask worker loads
the stages' models where this process never does) and the files this process loaded for the run
(its :func:`~chatlens.datafiles.recording`, not every file the process ever loaded: a second run
in one process listed the first run's models). So the list is the same whatever the engine and
worker count, and whatever ran before in the process.
"""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from chatlens import __version__, datafiles
from chatlens.corpus.summary import CorpusSummary
from chatlens.datafiles import DataFileRecord
from chatlens.engine.rundir import MARKER, RUN_OUTPUTS

_FINGERPRINT_CHUNK = 1 << 20

#: Package folders (under ``chatlens/``) whose data files an analysis reads: canonical roles,
#: detector lexicons, feature lexicons and the report's definitions.
RUN_DATA_FOLDERS = ("corpus/", "signals/patterns/", "features/", "report/")


@dataclass(frozen=True)
class RunRecord:
    """What :func:`build_manifest` needs to know about a run, apart from its counts.

    ``source`` is what the user gave (``"demo"`` for the built-in corpus, with ``demo`` saying
    how it was generated), ``files`` the resolved input files, ``configuration`` the resolved
    options (source options, ``keep_text``, ``detect``, profile name), ``profile`` the profile's
    name, version, file and hash, ``engine`` the engine's account, ``data_files`` the data files
    the run used: its partitions' (:attr:`~chatlens.engine.result.EngineResult.data_files`) and
    the driver's own (:func:`chatlens.datafiles.recording` around the run).
    """

    source: str
    demo: Mapping[str, Any] | None
    files: Sequence[Path]
    configuration: Mapping[str, Any]
    profile: Mapping[str, Any] | None
    engine: Mapping[str, Any]
    command: Sequence[str] | None
    data_files: Sequence[DataFileRecord] = ()


def build_manifest(
    run: RunRecord, summary: CorpusSummary, *, timings: Mapping[str, float], out: Path
) -> dict[str, Any]:
    """The manifest of a run directory ``out`` (whose outputs are already written)."""
    return {
        "chatlens_version": __version__,
        "git_hash": git_hash(),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": list(run.command) if run.command is not None else None,
        "python_executable": sys.executable,
        "source": {"given": run.source, "demo": dict(run.demo) if run.demo else None, "format": summary.format},
        "configuration": dict(run.configuration),
        "profile": dict(run.profile) if run.profile else None,
        "packages": package_versions(),
        "input_fingerprint": fingerprint(run.files),
        "data_files": data_files_used([run.profile] if run.profile else [], loaded=run.data_files),
        "counts": {
            "rows_in": summary.records_in,
            "source_records": summary.source_records,
            "rows_analysed": summary.conversations,
            "rows_quarantined": summary.quarantined,
            "messages": summary.messages,
            "repairs": summary.repairs,
        },
        "timings_s": dict(timings),
        "engine": dict(run.engine),
        "outputs": outputs(out, demo=run.demo is not None),
    }


def outputs(out: Path, *, demo: bool = False) -> list[str]:
    """The files the run wrote into ``out``, relative to it: under the names a run writes
    (:data:`~chatlens.engine.rundir.RUN_OUTPUTS`, and ``input/`` for the demo corpus), plus the
    manifest and report written after this list.

    Why not every file in ``out``: a run may write beside the user's own files (``--out .``),
    which were listed as the run's outputs (the input data, notes, a ``.git`` folder: 337
    'outputs' for a run of 36 files), and the whole tree under ``out`` was walked to list them.
    """
    last = ["manifest.json", "report.html"]
    files: set[str] = set()
    for name in [*RUN_OUTPUTS, "input"] if demo else RUN_OUTPUTS:
        path = out / name
        if path.is_file():
            files.add(name)
        elif path.is_dir() and not path.is_symlink():
            files.update(str(f.relative_to(out)) for f in path.rglob("*") if f.is_file())
    return sorted(files - {MARKER, *last}) + last


def data_files_used(
    extra: Sequence[Mapping[str, Any]] = (), *, loaded: Sequence[DataFileRecord] = ()
) -> list[dict[str, Any]]:
    """Name, version, kind, path and sha256 of every data file an analysis reads.

    ``extra`` are files the caller resolved itself (the profile), already as
    ``{name, version, path, sha256}``; they come first, each listed once: as the data layer
    recorded it when the run loaded it too (same sha256), else as given. Then, sorted by path: every registered
    bundled file of the folders an analysis reads (:data:`RUN_DATA_FOLDERS`) and the files the
    run loaded (``loaded``: the engine's partitions' records and the driver's, e.g. a user
    lexicon, the context refusal model). Files this process loaded for anything else (an
    earlier run) are not listed.

    Examples
    --------
    >>> files = data_files_used()
    >>> entry = next(f for f in files if f["path"] == "signals/patterns/refusal_en.yaml")
    >>> entry["name"], sorted(entry)
    ('refusal-en', ['kind', 'name', 'path', 'sha256', 'version'])
    """
    with datafiles.recording() as bundled:
        for name in datafiles.bundled():
            if name.startswith(RUN_DATA_FOLDERS):
                datafiles.load(name)
    records = sorted([*bundled, *loaded], key=lambda r: r.file)
    # a file the caller names that the run also loaded is listed once, as the data layer
    # records it: a bundled profile was listed twice ('chatlens/data/profiles/default.yaml'
    # from the profile, 'profiles/default.yaml' as loaded)
    by_hash = {rec.sha256: rec for rec in records}
    found = [_entry(by_hash[e["sha256"]]) if e.get("sha256") in by_hash else dict(e) for e in extra]
    seen = {f.get("path") for f in found}
    for rec in records:
        entry = _entry(rec)
        if entry["path"] in seen:
            continue
        seen.add(entry["path"])
        found.append(entry)
    return found


def _entry(rec: DataFileRecord) -> dict[str, Any]:
    """A manifest's ``data_files`` entry for a file the data layer loaded."""
    return {"name": rec.name, "version": rec.version, "kind": rec.kind,
            "path": rec.file.removeprefix("<bundled>/"), "sha256": rec.sha256}


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
        # "path" as given (often relative to where analyze ran); "resolved" lets a later command
        # run elsewhere (audit sample) find the file again
        listed.append({"path": str(path), "resolved": str(path.resolve()), "bytes": size})
    return {
        "method": "sha256(name, size, first MiB, last MiB) per file",
        "sha256": digest.hexdigest(),
        "files": listed,
    }


def git_hash() -> str | None:
    """The commit of the chatlens checkout this code runs from, if it is a git checkout."""
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


def package_versions() -> dict[str, str]:
    """Python, chatlens and the versions of the packages that shape a run's numbers."""
    versions = {"python": platform.python_version(), "chatlens": __version__}
    for dist in ("polars", "pyarrow", "duckdb", "numpy", "scipy", "vaderSentiment"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions


__all__ = [
    "RUN_DATA_FOLDERS",
    "RunRecord",
    "build_manifest",
    "data_files_used",
    "fingerprint",
    "git_hash",
    "outputs",
    "package_versions",
]
