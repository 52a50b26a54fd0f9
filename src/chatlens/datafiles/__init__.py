"""One data layer: every data file chatlens reads is loaded, validated and recorded here.

Why: lexicons, questionnaires, weights, prompts and price tables are research instruments. A
result must say which file (and which bytes) produced it, and a bad file must fail once, in one
error style. So all of them live under one root (``chatlens/data/``), each bundled file is
registered with its kind (:mod:`chatlens.datafiles.registry`), each kind has a typed schema
(:mod:`chatlens.datafiles.schemas`) checked by one validator, and every load is recorded for the
run manifest (:func:`used`; one run's own files: :func:`recording`).

Examples
--------
>>> from chatlens import datafiles
>>> roles = datafiles.load("corpus/roles.yaml")
>>> roles.name, "human" in roles.roles["user"]
('roles', True)
>>> record = datafiles.check_file("ratings/outcomes.yaml")
>>> record.kind, record.name
('outcome-scale', 'pairwise-outcomes')
>>> any(r.file == "<bundled>/corpus/roles.yaml" for r in datafiles.used())
True
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from chatlens import _yaml
from chatlens.datafiles._check import parse as _parse_schema
from chatlens.datafiles.registry import BUNDLED, KINDS, Kind, bundled_kind, get_kind, infer_kind
from chatlens.errors import DataFileError

BUNDLED_PREFIX = "<bundled>/"


@dataclass(frozen=True)
class DataFileRecord:
    """One data file a process used: what a run manifest lists to make a result reproducible."""

    file: str  # "<bundled>/features/reactions.yaml" or the user's path
    kind: str
    name: str
    version: str
    sha256: str  # of the file's bytes


_USED: dict[tuple[str, str], DataFileRecord] = {}
#: The open :func:`recording` scopes (every one gets every record noted while it is open).
_SCOPES: list[tuple[set[tuple[str, str]], list[DataFileRecord]]] = []
_SCOPES_LOCK = threading.Lock()


def _root() -> Any:
    return resources.files("chatlens").joinpath("data")


@cache
def bundled(kind: str | None = None) -> tuple[str, ...]:
    """Paths (under ``chatlens/data``) of the registered bundled files, optionally of one kind.

    Sorted by path. Files under the data root that no pattern registers are left out (the
    bundled-data test fails on them).
    """
    out = []
    stack = [(_root(), "")]
    while stack:
        node, prefix = stack.pop()
        for entry in node.iterdir():
            rel = prefix + entry.name
            if entry.is_dir():
                stack.append((entry, rel + "/"))
            elif (found := bundled_kind(rel)) is not None and kind in (None, found):
                out.append(rel)
    return tuple(sorted(out))


def _decode(raw: bytes, file: str) -> Any:
    try:
        if file.endswith(".json"):
            return json.loads(raw)
        return _yaml.safe_load(raw)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = getattr(exc, "lineno", None) or (mark.line + 1 if mark is not None else None)
        got = f"a syntax error at line {line}" if line else str(exc)
        expected = "valid JSON" if file.endswith(".json") else "valid YAML"
        raise DataFileError(file, "<root>", expected, got) from None


def _validate(kind: Kind, data: Any, file: str) -> Any:
    data = kind.prepared(data, file)
    if kind.schema is not None:
        return _parse_schema(kind.schema, data, file)
    if not isinstance(data, dict):
        raise DataFileError(file, "<root>", "a mapping", type(data).__name__)
    for key in ("name", "version", "source"):
        if data.get(key) in (None, ""):
            raise DataFileError(file, key, "a value (name, version and source are required)", None)
    return data


def _record(kind: Kind, doc: Any, raw: bytes, file: str) -> DataFileRecord:
    def meta(key: str) -> str:
        value = doc.get(key) if isinstance(doc, dict) else getattr(doc, key, None)
        return "" if value is None else str(value)

    return DataFileRecord(file, kind.name, meta("name"), meta("version"), hashlib.sha256(raw).hexdigest())


@cache
def _load_bundled(relative: str) -> tuple[Any, DataFileRecord]:
    kind = KINDS[bundled_kind(relative) or ""]
    file = BUNDLED_PREFIX + relative
    raw = _root().joinpath(*relative.split("/")).read_bytes()
    doc = _validate(kind, _decode(raw, file), file)
    return doc, _record(kind, doc, raw, file)


def _resolve(name_or_path: str | Path, kind: str | None) -> tuple[Kind, Any, DataFileRecord]:
    """(kind, validated document, record) for a bundled name or a file on disk; records the use."""
    if _is_bundled(name_or_path):
        doc, record = _load_bundled(str(name_or_path))
        if kind is not None and kind != record.kind:
            raise DataFileError(record.file, "<root>", f"a file of kind {kind!r}", record.kind)
        spec = KINDS[record.kind]
    else:
        spec, doc, record = _load_path(Path(name_or_path), kind)
    _note(record)
    return spec, doc, record


def _note(record: DataFileRecord) -> None:
    """Record a use for the process (:func:`used`) and for every open :func:`recording`."""
    key = (record.file, record.sha256)
    _USED.setdefault(key, record)
    with _SCOPES_LOCK:
        for keys, found in _SCOPES:
            if key not in keys:
                keys.add(key)
                found.append(record)


@contextmanager
def recording() -> Iterator[list[DataFileRecord]]:
    """The data files used while the block runs, so far (a list, in first-use order).

    Why: :func:`used` is process-wide, so in a long-lived process (two ``analyze`` calls, a Dask
    worker) a run's manifest listed the files an earlier run had loaded. A run records its
    own files here. Loaders that keep what they loaded cache it with :func:`cached`, which
    notes the file again on every call, so a second run that finds a model already loaded
    still records it. Scopes nest; every open scope sees every use (also from other threads,
    which the helper threads of one run are).
    """
    scope: tuple[set[tuple[str, str]], list[DataFileRecord]] = (set(), [])
    with _SCOPES_LOCK:
        _SCOPES.append(scope)
    try:
        yield scope[1]
    finally:
        with _SCOPES_LOCK:  # by identity: two scopes may hold equal records
            del _SCOPES[next(i for i, open_ in enumerate(_SCOPES) if open_ is scope)]


def cached(load: Callable[..., Any]) -> Callable[..., Any]:
    """``functools.cache`` for a function that loads data files (directly or through another
    loader), noting those files again each time the cached value is returned.

    Why: with a plain cache only the first call in a process reaches :func:`load`, so only the
    first run's :func:`recording` would list the file (see there).
    """
    memo: dict[Any, tuple[Any, tuple[DataFileRecord, ...]]] = {}

    @functools.wraps(load)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        hit = memo.get(key)
        if hit is None:
            with recording() as records:
                value = load(*args, **kwargs)
            hit = memo[key] = (value, tuple(records))
        else:
            for record in hit[1]:
                _note(record)
        return hit[0]

    wrapper.cache_clear = memo.clear  # type: ignore[attr-defined]
    return wrapper


def _is_bundled(name_or_path: str | Path) -> bool:
    return isinstance(name_or_path, str) and bundled_kind(name_or_path) is not None \
        and _root().joinpath(*name_or_path.split("/")).is_file()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataFileError(str(path), "<root>", "a readable file", exc.strerror) from None


def _load_path(path: Path, kind: str | None) -> tuple[Kind, Any, DataFileRecord]:
    file, raw = str(path), _read(path)
    found = kind or infer_kind(list(path.resolve().parts))
    if found is None:
        expected = f"a file name that says its kind, or kind= (--kind): one of {sorted(KINDS)}"
        raise DataFileError(file, "<root>", expected, None)
    spec = get_kind(found)
    doc = _validate(spec, _decode(raw, file), file)
    return spec, doc, _record(spec, doc, raw, file)


def load(name_or_path: str | Path, *, kind: str | None = None) -> Any:
    """The validated document of a data file (a schema dataclass of its kind).

    Parameters
    ----------
    name_or_path
        A bundled file's path under ``chatlens/data`` (``"features/reactions.yaml"``; loaded
        once per process through :mod:`importlib.resources`) or a file on disk.
    kind
        The file's kind (see :data:`KINDS`). Needed for a user file whose name does not say it.

    Raises
    ------
    DataFileError
        The file cannot be read or parsed, or breaks its kind's schema.
    """
    return _resolve(name_or_path, kind)[1]


def load_with_record(name_or_path: str | Path, *, kind: str | None = None) -> tuple[Any, DataFileRecord]:
    """Like :func:`load`, with the file's record (its label for error messages and provenance)."""
    _, doc, record = _resolve(name_or_path, kind)
    return doc, record


def bundled_bytes(name: str) -> bytes:
    """The bytes of a bundled file (for cache keys that must change when the file does)."""
    if bundled_kind(name) is None:
        raise DataFileError(BUNDLED_PREFIX + name, "<root>", "a registered bundled file", None)
    return _root().joinpath(*name.split("/")).read_bytes()


def parse(data: Any, *, kind: str, file: str = "<dict>") -> Any:
    """Validate an already parsed mapping as a document of ``kind`` (nothing is recorded)."""
    return _validate(get_kind(kind), data, file)


def parse_bytes(raw: bytes, *, kind: str, file: str) -> Any:
    """Parse and validate a file's bytes as a document of ``kind`` (nothing is recorded)."""
    return _validate(get_kind(kind), _decode(raw, file), file)


def read_document(name_or_path: str | Path) -> tuple[Any, str]:
    """A data file parsed but *not* validated, with its label for messages.

    For a kind's ``prepare`` hook that merges one file into another (an instrument's
    ``extends:``) before the merged document is validated. ``name_or_path`` is a bundled path
    under ``chatlens/data`` or a file on disk.
    """
    if _is_bundled(name_or_path):
        file = BUNDLED_PREFIX + str(name_or_path)
        return _decode(_root().joinpath(*str(name_or_path).split("/")).read_bytes(), file), file
    return _decode(_read(Path(name_or_path)), str(name_or_path)), str(name_or_path)


def check_file(name_or_path: str | Path, *, kind: str | None = None) -> DataFileRecord:
    """Fully validate a bundled or user data file: its schema, then its kind's builder.

    This is ``chatlens validate --data-file``. Returns the file's record; raises a
    :class:`~chatlens.errors.ChatlensError` (a DataFileError for schema problems) naming the file
    and the key.
    """
    spec, doc, record = _resolve(name_or_path, kind)
    spec.build(doc, record.file)
    return record


def used() -> list[DataFileRecord]:
    """Every data file this process has loaded so far, in first-use order."""
    return list(_USED.values())


__all__ = [
    "BUNDLED",
    "KINDS",
    "DataFileRecord",
    "bundled",
    "bundled_bytes",
    "cached",
    "check_file",
    "load",
    "load_with_record",
    "parse",
    "parse_bytes",
    "read_document",
    "recording",
    "used",
]
