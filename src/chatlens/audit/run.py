"""The run directory an audit reads: its manifest and the messages a signal judged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.audit.signals import KEY, signal_spec
from chatlens.corpus.summary import group_labels
from chatlens.engine.rundir import require_complete
from chatlens.errors import InvalidParameterError
from chatlens.vocabulary import ALL_LABEL


def checked_run(run_dir: str | Path) -> Path:
    """``run_dir`` as a Path, if it is a finished run directory of ``chatlens analyze``."""
    run_dir = Path(run_dir)
    if not (run_dir / "messages.parquet").is_file():
        msg = f"{run_dir} holds no messages.parquet; expected a run directory written by 'chatlens analyze'."
        raise InvalidParameterError(msg)
    require_complete(run_dir)
    return run_dir


def manifest(run_dir: Path) -> dict[str, Any]:
    """The run's ``manifest.json``."""
    path = run_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{run_dir} has no manifest.json; expected a run directory written by 'chatlens analyze'."
        raise InvalidParameterError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{path} is not valid JSON ({exc}); expected the manifest 'chatlens analyze' wrote."
        raise InvalidParameterError(msg) from None


def identity(doc: dict[str, Any]) -> dict[str, Any]:
    """What tells one run from another: its creation time and input fingerprint (a rerun into the
    same directory, or another source, changes them)."""
    return {"created_utc": doc.get("created_utc"),
            "input_sha256": (doc.get("input_fingerprint") or {}).get("sha256")}


def population(run_dir: str | Path, signal: str = "refusal", by: str | None = "model") -> pl.DataFrame:
    """The messages a signal judged in a finished run, sorted by key: ``conversation_id``,
    ``message_index``, ``predicted`` (the detector's label; a binary signal's name or ``none``)
    and ``group`` (the ``by`` column of ``conversations.parquet``, else of ``messages.parquet``;
    ``"(all)"`` without)."""
    run_dir = checked_run(run_dir)
    spec = signal_spec(signal)
    if by in KEY:
        msg = f"--by {by!r} names a message: give a column that groups messages (model, language, …)."
        raise InvalidParameterError(msg)
    messages = pl.scan_parquet(run_dir / "messages.parquet", glob=False)
    names = messages.collect_schema().names()
    if spec.column not in names:
        msg = (f"{run_dir / 'messages.parquet'} has no {spec.column!r} column: the run was made "
               "without detectors (--no-detect) or with a profile that does not add it.")
        raise InvalidParameterError(msg)
    value = pl.col(spec.column)
    predicted = (pl.when(value).then(pl.lit(spec.labels[0])).otherwise(pl.lit("none")) if spec.binary
                 else value.cast(pl.String))
    frame = messages.filter((pl.col("role") == spec.role) & value.is_not_null())
    conversations = pl.scan_parquet(run_dir / "conversations.parquet", glob=False)
    # a group is a property of the conversation (model, language, source): its table first
    if by is not None and by in conversations.collect_schema().names():
        frame = frame.select(*KEY, predicted.alias("predicted")).join(
            conversations.select("conversation_id", by), on="conversation_id", how="left")
    elif by is None or by in names:
        frame = frame.select(*KEY, predicted.alias("predicted"), *([by] if by is not None else []))
    else:
        msg = f"--by {by!r} is neither a column of conversations.parquet nor of messages.parquet in {run_dir}."
        raise InvalidParameterError(msg)
    # a group called "(all)" or "(unknown)" is kept apart from the pooled and missing rows
    group = pl.lit(ALL_LABEL) if by is None else group_labels(pl.col(by))
    return frame.select(*KEY, "predicted", group.alias("group")).sort(KEY).collect()


def in_conversations(frame: pl.LazyFrame | pl.DataFrame, ids: pl.Series) -> pl.LazyFrame | pl.DataFrame:
    """The rows of ``frame`` in the conversations ``ids``."""
    return frame.filter(pl.col("conversation_id").is_in(ids.implode()))


__all__ = ["checked_run", "identity", "in_conversations", "manifest", "population"]
