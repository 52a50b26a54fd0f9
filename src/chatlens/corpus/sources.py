"""Where conversations come from: files, directories, globs, compressed files, Hugging Face ids.

:func:`resolve` turns what the user typed into concrete :class:`ResolvedFile` objects;
:func:`~chatlens.corpus.detect.detect_format` picks a reader; :func:`open_batches` ties both to a
reader and returns a :class:`SourceScan`, an iterable of
:class:`~chatlens.corpus.readers.base.ReaderBatch` in file order.

Source rules
------------
* a file: read as is; ``.gz`` / ``.zst`` are decompressed while streaming;
* a directory: every data file below it (recursive, sorted), hidden files and folders skipped;
  data files end in ``.jsonl .ndjson .json .parquet .csv .tsv`` (optionally ``.gz``/``.zst``);
* a glob (``data/*.jsonl.gz``, ``**`` allowed): the matching data files, sorted;
* in a directory or glob, files named by a ``.chatlensignore`` in their own folder are skipped:
  one pattern per line (shell-style, ``fnmatch``, matched against the file name; blank lines and
  ``#`` comments ignored), as in ``.gitignore``. Tools that write non-data files beside a corpus
  list them there; a file named explicitly is always read;
* a Hugging Face dataset id (``lmsys/lmsys-chat-1m``, ``allenai/WildChat-1M`` or
  ``hf://datasets/<id>[/<pattern>]``): the dataset's data files are downloaded with
  ``huggingface_hub.snapshot_download`` into the standard HF cache (reused on later runs) with the
  token from ``hf_token`` or ``$HF_TOKEN``. The token is passed to the hub client only; it is never
  printed, logged or stored by chatlens. A plain ``owner/name`` is taken as a hub id only when no
  such local path exists.
* a list of any of these.
"""

from __future__ import annotations

import glob as _glob
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Literal

from chatlens._progress import status
from chatlens.corpus.detect import detect_format
from chatlens.corpus.readers import READERS, ReaderSpec, _io
from chatlens.corpus.readers.base import (
    Compression,
    Container,
    ReaderBatch,
    ReaderOptions,
    ResolvedFile,
)
from chatlens.corpus.readers.table import parse_column_map, validate_column_map
from chatlens.errors import HubAccessError, InvalidParameterError, SourceError

DATA_SUFFIXES: dict[str, Container] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
}
COMPRESSIONS: dict[str, Compression] = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
HUB_PATTERN_GROUPS = [
    [f"*{suffix}{comp}" for suffix in group for comp in ("", ".gz", ".zst")]
    for group in ((".parquet",), (".jsonl", ".ndjson"), (".json",), (".csv", ".tsv"))
]
#: A folder's ignore file: directory and glob expansion skip the files it names (see above).
IGNORE_FILE = ".chatlensignore"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_GLOB_CHARS = re.compile(r"[*?\[]")


# ---- resolving ---------------------------------------------------------------------------------


def resolve(
    source: str | Path | Sequence[str | Path], *, hf_token: str | None = None
) -> list[ResolvedFile]:
    """Expand a source (file, directory, glob, hub id, or a list of them) into files, in order.

    Raises
    ------
    SourceError
        A path does not exist or a directory/glob holds no data files.
    HubAccessError
        A hub dataset cannot be downloaded (gated without token, unknown, offline).
    """
    if in_memory_table(source):
        return [table_file(source)]
    items = [source] if isinstance(source, (str, Path)) else list(source)
    if not items:
        msg = "No source given: expected a file, directory, glob, hub dataset id or a list of them."
        raise SourceError(msg)
    out: list[ResolvedFile] = []
    for item in items:
        out.extend(_resolve_one(item, hf_token))
    unique: dict[Path, ResolvedFile] = {}
    for f in out:
        # the same file named twice (two items, or a link): realpath only where that can happen,
        # as it costs a system call per path component (a folder may hold 20,000 files)
        same = f.path.resolve() if len(items) > 1 or f.path.is_symlink() else f.path.absolute()
        unique.setdefault(same, f)
    return _distinct_id_names(list(unique.values()))


def _distinct_id_names(files: list[ResolvedFile]) -> list[ResolvedFile]:
    """``files`` with an ``id_name`` of their own each.

    Why: within one folder, glob or hub dataset the paths relative to its root differ, but a list
    may name ``a/train.jsonl`` and ``b/train.jsonl``, which both have the id name
    ``train.jsonl``; their id-less conversations would then share ids and one file's would be
    quarantined as duplicates. Files whose id names collide take their displayed names without
    the leading folders the colliding names share (``a/train.jsonl``, ``b/train.jsonl``).
    """
    groups: dict[str, list[int]] = {}
    for i, f in enumerate(files):
        groups.setdefault(f.id_name, []).append(i)
    out = list(files)
    for indexes in (g for g in groups.values() if len(g) > 1):
        parts = [PurePosixPath(files[i].name).parts for i in indexes]
        shared = 0
        while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
            shared += 1
        for i, p in zip(indexes, parts, strict=True):
            out[i] = replace(files[i], id_name="/".join(p[shared:]))
    return out


def in_memory_table(source: object) -> bool:
    """Whether ``source`` is a polars (Lazy)Frame, a pandas DataFrame or a pyarrow Table."""
    cls = type(source)
    lib = cls.__module__.split(".")[0]
    return (lib == "polars" and cls.__name__ in ("DataFrame", "LazyFrame")) or (
        lib == "pandas" and cls.__name__ == "DataFrame") or (
        lib == "pyarrow" and cls.__name__ in ("Table", "RecordBatch"))


def table_file(table: object) -> ResolvedFile:
    """An in-memory table as a temporary Parquet file (removed at exit), so it is read, detected
    and quarantined exactly like a file; provenance names it ``<polars.DataFrame>`` etc."""
    import atexit
    import shutil
    import tempfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    cls = type(table)
    name = f"<{cls.__module__.split('.')[0]}.{cls.__name__}>"
    folder = Path(tempfile.mkdtemp(prefix="chatlens-table-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "table.parquet"
    _TABLE_FOLDERS[path] = folder
    if cls.__module__.startswith("polars"):
        frame = table.collect() if cls.__name__ == "LazyFrame" else table  # type: ignore[attr-defined]
        frame.write_parquet(path)  # type: ignore[attr-defined]
    elif cls.__module__.startswith("pandas"):
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), path)
    else:
        pq.write_table(pa.table(table) if cls.__name__ == "RecordBatch" else table, path)
    return ResolvedFile(path, "parquet", None, name)


#: The temporary folders of in-memory tables (:func:`table_file`), by the file in each.
_TABLE_FOLDERS: dict[Path, Path] = {}


def release(files: Sequence[ResolvedFile]) -> None:
    """Remove the temporary copies of in-memory tables among ``files`` (others are untouched).

    Why: each ``read``/``info``/``analyze`` of a DataFrame wrote the table to a new temporary
    Parquet file kept until the process exited, so a notebook that read a 1 GB frame ten times
    held ten copies on disk. The callers that consume a source whole release it when done; a
    lazy :func:`~chatlens.corpus.api.iter_batches` stream keeps its copy until exit.
    """
    import shutil

    for file in files:
        folder = _TABLE_FOLDERS.pop(file.path, None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _resolve_one(item: str | Path, hf_token: str | None) -> list[ResolvedFile]:
    text = str(item)
    if text.startswith("hf://"):
        return hub_files(text, token=hf_token)
    path = Path(text).expanduser()
    if path.is_dir():
        files = _without_ignored(
            [p for p in sorted(path.rglob("*"), key=lambda q: q.parts)  # Path order, without its cost
             if _is_data(p) and not _hidden(p, path) and p.is_file()])
        if not files:
            msg = f"Directory {text} holds no data files (expected {', '.join(DATA_SUFFIXES)}, optionally .gz/.zst)."
            raise SourceError(msg)
        return [classify(p, id_name=p.relative_to(path).as_posix()) for p in files]
    if path.is_file():
        return [classify(path, name=text)]
    if _GLOB_CHARS.search(text):
        matches = [Path(m) for m in sorted(_glob.glob(os.path.expanduser(text), recursive=True))]
        files = _without_ignored(
            [m for m in matches if m.is_file() and _is_data(m) and not any(p.startswith(".") for p in m.parts[-1:])])
        if not files:
            msg = f"The pattern {text} matches no data files."
            raise SourceError(msg)
        root = _glob_root(text)
        return [classify(m, id_name=_relative_name(m, root)) for m in files]
    if isinstance(item, str) and _HUB_ID.match(text):
        return hub_files(text, token=hf_token)
    msg = f"Source not found: {text} (not a file, directory, glob or Hugging Face dataset id)."
    raise SourceError(msg)


def _glob_root(pattern: str) -> Path:
    """The folder a glob starts from: its leading components without glob characters
    (``data/*/train.jsonl`` → ``data``); ids of the files it matches are relative to it."""
    fixed = []
    for part in Path(os.path.expanduser(pattern)).parts:
        if _GLOB_CHARS.search(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def _relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in ``/`` form (its file name if it is not below ``root``)."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def _without_ignored(files: list[Path]) -> list[Path]:
    """``files`` minus those named by an :data:`IGNORE_FILE` in their own folder.

    Why: a folder of data often holds files that are not conversations (ground truth, labels,
    manifests), written beside the data by a tool or by hand. Whoever writes them can list them
    once in the folder's ignore file, so a directory or glob reads the data only, and no reader
    has to know the tools that wrote them.
    """
    patterns: dict[Path, list[str]] = {}
    for parent in sorted({f.parent for f in files}):
        ignore = parent / IGNORE_FILE
        if ignore.is_file():
            # utf-8-sig: Notepad starts the file with a byte-order mark, which made the first
            # pattern never match
            lines = (line.strip() for line in ignore.read_text(encoding="utf-8-sig").splitlines())
            patterns[parent] = [line for line in lines if line and not line.startswith("#")]
    kept = [f for f in files if not any(fnmatchcase(f.name, p) for p in patterns.get(f.parent, ()))]
    if len(kept) < len(files):
        status(f"Skipping {len(files) - len(kept)} file(s) listed in {IGNORE_FILE}.")
    return kept


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _split_suffix(path: Path) -> tuple[str, Compression | None]:
    name = path.name.lower()
    for ext, comp in COMPRESSIONS.items():
        if name.endswith(ext):
            return Path(name[: -len(ext)]).suffix, comp
    return path.suffix.lower(), None


def _is_data(path: Path) -> bool:
    return _split_suffix(path)[0] in DATA_SUFFIXES


def classify(path: Path, *, name: str | None = None, id_name: str | None = None) -> ResolvedFile:
    """A :class:`ResolvedFile` for ``path``: compression from the suffix, container from the
    suffix and, for ``.json`` and unknown suffixes, from the first bytes (a ``.json`` file holding
    one object per line is JSONL, also when its first line is malformed or longer than the 1 MiB
    sniffed: a later line that is an object on its own tells). ``id_name``: the path relative to the source root (default:
    the file name)."""
    suffix, compression = _split_suffix(path)
    container = DATA_SUFFIXES.get(suffix)
    probe = ResolvedFile(path, container or "jsonl", compression, name or str(path))
    if container in (None, "json"):
        container = _container_from_bytes(probe, fallback=container)
    return ResolvedFile(path, container, compression, name or str(path), id_name or path.name)


#: Bytes sniffed to tell a file's container.
HEAD_BYTES = 1 << 20


def _container_from_bytes(file: ResolvedFile, fallback: Container | None) -> Container:
    head = _io.peek_bytes(file, HEAD_BYTES)
    if head[:4] == b"PAR1":
        return "parquet"
    stripped = head.lstrip()
    if stripped[:1] == b"[":
        return "json"
    if stripped[:1] == b"{":
        first, sep, rest = stripped.partition(b"\n")
        if sep and rest.strip()[:1] == b"{":
            try:
                if isinstance(json.loads(first), dict):
                    return "jsonl"
            except ValueError:
                pass
            except RecursionError:  # a first line nested too deep to parse: one record per line
                return "jsonl"
        # the first line is malformed, or longer than the head: JSON lines if a later line is
        # an object on its own (the JSONL reader then quarantines a bad first line)
        whole = head if len(head) < HEAD_BYTES else None
        return "jsonl" if _io.object_line_after_first(file, whole) else "json"
    if not stripped:
        return fallback or "jsonl"
    return fallback or "csv"


# ---- Hugging Face hub --------------------------------------------------------------------------


def hub_files(spec: str, *, token: str | None = None) -> list[ResolvedFile]:
    """Download (or reuse from the HF cache) a hub dataset's data files and resolve them.

    ``spec`` is ``owner/name`` or ``hf://datasets/owner/name[/pattern]``. The download goes through
    ``huggingface_hub.snapshot_download(repo_type="dataset")`` and fetches only data files of one
    kind, tried in order: Parquet (what the hub serves for LMSYS-Chat-1M and WildChat), then JSONL,
    then JSON, then CSV/TSV, so metadata JSON files next to Parquet shards are never mistaken
    for data. A ``pattern`` in the spec replaces this choice.
    """
    repo_id, pattern = _parse_hub_spec(spec)
    token = token or os.environ.get("HF_TOKEN") or None
    groups = [[pattern]] if pattern else HUB_PATTERN_GROUPS
    for patterns in groups:
        root = Path(_download(repo_id, patterns, token))
        files = [
            p
            for p in sorted(root.rglob("*"))
            if p.is_file()
            and not _hidden(p, root)
            and _is_data(p)
            and any(p.relative_to(root).match(pat) for pat in patterns)
        ]
        if files:
            return [
                classify(p, name=f"hf://datasets/{repo_id}/{rel}", id_name=rel)
                for p in files
                for rel in [p.relative_to(root).as_posix()]
            ]
    wanted = pattern or ", ".join(p for g in HUB_PATTERN_GROUPS for p in g)
    msg = f"Hugging Face dataset '{repo_id}' has no data files matching {wanted}."
    raise HubAccessError(msg)


def _parse_hub_spec(spec: str) -> tuple[str, str | None]:
    text = spec.removeprefix("hf://").removeprefix("datasets/")
    parts = text.strip("/").split("/")
    if len(parts) < 2 or not all(parts[:2]):
        msg = f"Not a Hugging Face dataset id: {spec!r} (expected owner/name or hf://datasets/owner/name)."
        raise SourceError(msg)
    repo_id = "/".join(parts[:2])
    pattern = "/".join(parts[2:])
    return repo_id, pattern or None


def _download(repo_id: str, patterns: list[str], token: str | None) -> str:
    import huggingface_hub
    from huggingface_hub import errors as hf_errors

    page = f"https://huggingface.co/datasets/{repo_id}"
    try:
        local = huggingface_hub.snapshot_download(
            repo_id=repo_id, repo_type="dataset", allow_patterns=patterns, token=token
        )
    except hf_errors.GatedRepoError as exc:
        msg = (
            f"The Hugging Face dataset '{repo_id}' is gated: accept its license on {page} with your "
            "account, then set HF_TOKEN to a token of that account (or pass hf_token=)."
            + ("" if token else " No token is set now.")
        )
        raise HubAccessError(msg) from exc
    except hf_errors.RepositoryNotFoundError as exc:
        msg = (
            f"Hugging Face dataset '{repo_id}' was not found or is private ({page}). Check the id; "
            "for a private dataset set HF_TOKEN. (A plain owner/name is looked up on the hub only "
            "when no local file or folder of that name exists.)"
        )
        raise HubAccessError(msg) from exc
    except (hf_errors.OfflineModeIsEnabled, hf_errors.LocalEntryNotFoundError) as exc:
        msg = (
            f"Cannot reach the Hugging Face hub to download '{repo_id}' and no cached copy exists "
            "(no network, or HF_HUB_OFFLINE is set). Connect and retry, or pass local files."
        )
        raise HubAccessError(msg) from exc
    except hf_errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        msg = f"Downloading Hugging Face dataset '{repo_id}' failed with HTTP status {status}."
        if status in (401, 403):
            msg += f" Accept the dataset's terms on {page} and set HF_TOKEN."
        raise HubAccessError(msg) from exc
    except Exception as exc:  # the hub client's own connection/transport errors, disk full, ...
        msg = (
            f"Downloading Hugging Face dataset '{repo_id}' failed ({type(exc).__name__}). "
            "Check the network connection and the dataset id, or pass local files."
        )
        raise HubAccessError(msg) from exc
    if not isinstance(local, (str, Path)):
        msg = f"Unexpected answer from huggingface_hub for '{repo_id}'."
        raise HubAccessError(msg)
    return str(local)


# ---- opening -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceScan:
    """A resolved, format-detected source; iterate it for :class:`ReaderBatch` objects in file
    order (each batch holds whole conversations from one file)."""

    format: str
    files: list[ResolvedFile]
    options: ReaderOptions
    batch_size: int

    @property
    def reader(self) -> ReaderSpec:
        return READERS.get(self.format)

    def groups(self) -> Iterator[tuple[list[ResolvedFile], Iterator[ReaderBatch]]]:
        """The files in reading groups (small JSON files together), each with its batches."""
        from chatlens.corpus.readers import file_groups, scan_group

        for group in file_groups(self.format, self.files):
            yield group, scan_group(self.format, group, batch_size=self.batch_size, options=self.options)

    def __iter__(self) -> Iterator[ReaderBatch]:
        for _, batches in self.groups():
            yield from batches


def open_batches(
    source: str | Path | Sequence[str | Path],
    *,
    format: str | None = None,
    column_map: Mapping[str, str] | None = None,
    layout: Literal["message", "conversation"] | None = None,
    batch_size: int = 50_000,
    oasst_paths: Literal["all", "best"] = "all",
    hf_token: str | None = None,
) -> SourceScan:
    """Resolve ``source``, pick its reader and return a lazy :class:`SourceScan`.

    Parameters
    ----------
    source : a file, directory, glob, Hugging Face dataset id, or a list of them.
    format : a registered format name (``lmsys``, ``wildchat``, ``sharegpt``, ``openai``,
        ``arena``, ``hh``, ``oasst``, ``dices``, ``table``); ``None`` detects it from the first
        records. Explicit always wins. A ``column_map`` or ``layout`` without ``format`` means
        ``table``.
    column_map : for ``table``: chatlens name → source column, e.g. ``{"role": "speaker"}``.
    layout : for ``table``: ``"message"`` (row per message) or ``"conversation"`` (row per
        conversation with a list column).
    batch_size : records per batch (a conversation is never split).
    oasst_paths : for ``oasst``: every root-to-leaf path (``"all"``) or the best-ranked one.
    hf_token : Hugging Face token for gated datasets (default: ``$HF_TOKEN``); never stored.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "chats.jsonl"
    >>> _ = path.write_text(json.dumps({"conversations": [{"from": "human", "value": "hi"}]}) + "\\n{oops\\n")
    >>> scan = open_batches(path)
    >>> scan.format
    'sharegpt'
    >>> [(batch.nested.height, batch.quarantine.height) for batch in scan]
    [(1, 1)]
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        msg = f"The 'batch_size' parameter of open_batches must be a positive integer. Got {batch_size!r} instead."
        raise InvalidParameterError(msg)
    if oasst_paths not in ("all", "best"):
        msg = f"The 'oasst_paths' parameter of open_batches must be 'all' or 'best'. Got {oasst_paths!r} instead."
        raise InvalidParameterError(msg)
    if layout not in (None, "message", "conversation"):
        msg = f"The 'layout' parameter of open_batches must be 'message' or 'conversation'. Got {layout!r} instead."
        raise InvalidParameterError(msg)
    if format is not None:
        READERS.get(format)  # unknown names: "Did you mean ..."
    elif column_map is not None or layout is not None:
        format = "table"
    if format != "table" and (column_map is not None or layout is not None):
        msg = f"column_map/layout apply to format='table' only; got format={format!r}."
        raise InvalidParameterError(msg)
    if format == "table":
        validate_column_map(column_map)
    files = resolve(source, hf_token=hf_token)
    if format is None:
        format = detect_format(files)
    options = ReaderOptions(
        column_map=dict(column_map) if column_map else None, layout=layout, oasst_paths=oasst_paths
    )
    return SourceScan(format=format, files=files, options=options, batch_size=batch_size)


__all__ = [
    "DATA_SUFFIXES",
    "IGNORE_FILE",
    "ResolvedFile",
    "SourceScan",
    "classify",
    "hub_files",
    "open_batches",
    "parse_column_map",
    "release",
    "resolve",
]
