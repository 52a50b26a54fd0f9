"""The text a reader needs for each sampled message: the message and the ones either side of it.

A run keeps no text unless ``analyze --keep-text`` (run directories get shared; conversation text
is personal data). Then the text is read again from the source, only for the sampled
conversations, and checked: the manifest's own files must still have the run's input
fingerprint, and every message of those conversations must be there with the length the run
recorded (``content_chars``, the length before any ``--max-message-chars`` cut), so a changed or
different source can never put another text beside a message's verdict. A source given by hand
(``--source``, e.g. a renamed copy) is checked by the lengths alone.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl

from chatlens._progress import status
from chatlens.audit.run import in_conversations
from chatlens.audit.signals import KEY
from chatlens.corpus.api import SourceLike
from chatlens.errors import SourceError

#: Columns of a sample row's text: the message before, the judged message, the message after.
TEXT_COLUMNS = ("before", "message", "after")
#: Source options of a run that a re-read must reuse (recorded in its manifest's configuration).
_OPTIONS = ("column_map", "layout", "batch_size", "max_message_chars", "oasst_paths")


def sample_texts(run_dir: Path, doc: dict[str, Any], keys: pl.DataFrame, source: SourceLike | None,
                 max_chars: int) -> pl.DataFrame:
    """``before`` / ``message`` / ``after`` per key of ``keys`` (any role either side), each cut to
    ``max_chars`` characters with the cut said in the text. ``doc``: the run's manifest."""
    wanted = keys["conversation_id"].unique()
    messages = pl.scan_parquet(run_dir / "messages.parquet", glob=False)
    if source is None and "content" in messages.collect_schema().names():
        found = in_conversations(messages, wanted).select(*KEY, "content").collect()
    else:
        found = _reread(run_dir, doc, wanted, source)
        _check_lengths(run_dir, found, in_conversations(messages, wanted).select(*KEY, "content_chars").collect())
    found = found.sort(KEY).with_columns(
        before=pl.col("content").shift(1).over("conversation_id"),
        after=pl.col("content").shift(-1).over("conversation_id"),
    ).rename({"content": "message"})
    return keys.join(found.select(*KEY, *TEXT_COLUMNS), on=list(KEY), how="left").with_columns(
        _cut(c, max_chars) for c in TEXT_COLUMNS)


def _cut(column: str, max_chars: int) -> pl.Expr:
    c = pl.col(column)
    over = c.str.len_chars().cast(pl.Int64) - max_chars
    return (pl.when(over > 0)
            .then(c.str.slice(0, max_chars) + pl.format(" … [{} more characters cut]", over))
            .otherwise(c).alias(column))


def _recorded_file(entry: dict[str, Any]) -> Path:
    """A file the run's manifest lists: its resolved path when that exists (the run may have
    been analysed from another directory, with a relative path), else the path as given."""
    resolved = entry.get("resolved")
    if resolved and Path(resolved).is_file():
        return Path(resolved)
    return Path(entry["path"])


def _reread(run_dir: Path, doc: dict[str, Any], wanted: pl.Series, source: SourceLike | None) -> pl.DataFrame:
    """Messages (keys, ``content``, ``content_chars``) of the ``wanted`` conversations, read again
    from ``source`` or from the source the run's manifest records."""
    from chatlens.corpus.api import iter_batches

    config = doc.get("configuration") or {}
    options = {k: config[k] for k in _OPTIONS if config.get(k) is not None}
    options["format"] = (doc.get("source") or {}).get("format") or config.get("format")
    options["hf_token"] = os.environ.get("HF_TOKEN")
    recorded = doc.get("input_fingerprint") or {}
    by_hand = source is not None
    if source is None:
        files = [_recorded_file(f) for f in recorded.get("files") or []]
        given = (doc.get("source") or {}).get("given")
        source = [str(f) for f in files] if files and all(f.is_file() for f in files) else given
        if source is None or source == "demo":
            msg = (f"The run in {run_dir} kept no text and its source cannot be found; pass the "
                   "source it read (--source).")
            raise SourceError(msg)
    status(f"reading the sampled conversations' text again from {source}")
    try:
        stream = iter_batches(source, **options)
    except SourceError as exc:
        if by_hand:
            raise
        msg = (f"The source the run in {run_dir} read cannot be opened from here ({exc}); pass "
               "the source it read (--source).")
        raise SourceError(msg) from exc
    local = [Path(f.path) for f in stream.files if Path(f.path).is_file()]
    if not by_hand and local and recorded.get("sha256"):
        from chatlens.report.manifest import fingerprint

        if fingerprint(local)["sha256"] != recorded["sha256"]:
            msg = (f"The source {source!r} is not what the run in {run_dir} read: its input "
                   "fingerprint differs. Pass the source the run read (--source).")
            raise SourceError(msg)
    parts = [_detached(in_conversations(b.messages, wanted).select(*KEY, "content", "content_chars"))
             for b in stream]
    schema = {"conversation_id": pl.String, "message_index": pl.Int32, "content": pl.String,
              "content_chars": pl.Int64}
    return pl.concat(parts, how="vertical_relaxed") if parts else pl.DataFrame(schema=schema)


def _detached(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` copied into its own buffers.

    Why: polars keeps strings as views into the buffers of the frame they were filtered from, so
    a few rows kept from each batch would keep every batch's text alive (3.3 GB instead of 1.1 GB
    peak for a sample over a 1.5 GB source, ``benchmarks/bench_audit.py``). Going through Arrow
    copies the kept strings alone.
    """
    return pl.from_arrow(frame.to_arrow())  # type: ignore[return-value]


def _check_lengths(run_dir: Path, found: pl.DataFrame, ran: pl.DataFrame) -> None:
    """Every message of the sampled conversations, read again, has the length the run recorded."""
    both = ran.join(found.select(*KEY, pl.col("content_chars").alias("now")).with_columns(
        pl.col("message_index").cast(ran.schema["message_index"])), on=list(KEY), how="full", coalesce=True)
    bad = both.filter(pl.col("content_chars").cast(pl.Int64).ne_missing(pl.col("now").cast(pl.Int64)))
    if bad.height:
        r = bad.row(0, named=True)
        msg = (f"The source read again does not hold the text the run in {run_dir} analysed: "
               f"conversation {r['conversation_id']}, message {r['message_index']} had "
               f"{r['content_chars']} characters in the run and {r['now']} now ({bad.height} "
               "message(s) differ). Pass the source the run read (--source).")
        raise SourceError(msg)


__all__ = ["TEXT_COLUMNS", "sample_texts"]
