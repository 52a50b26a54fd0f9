"""``chatlens audit``: a reader's sample of a run, and the run's rates corrected by it.

Why: held out, the default refusal detector's precision and recall on a log from a new source are
both about 0.65, and its count is off by a factor that differs from log to log (0.78 to 1.70 over
the sources of ``chatlens validate``). A rate to publish needs the log's *own* error. This module
is the two-phase design that gives it (:mod:`chatlens.stats.two_phase`):

1. :func:`draw_audit_sample` draws messages of a finished run at random within each cell
   (group × flagged / not flagged), equal numbers per cell, and attaches their text and the
   messages around them — from the run when it kept text, else by reading the run's source again
   (checked against the run's input fingerprint and message lengths). The sample is shuffled and
   carries no detector output, so the reader judges blind; a design file records the draw.
2. A reader labels each row against ``docs/labels.md`` (in the file's order: any prefix of it is
   still a random sample of every cell).
3. :func:`estimate_audit` reads the labels and returns each group's corrected rate with a 95%
   interval, and the detector's precision, recall and flagged ÷ true on this log.

Signals: ``refusal`` and ``jailbreak`` (binary: the corrected rate), ``refusal_type`` (every
assistant message's label of labels.md: none, capability, policy, mixed, partial, unclear) and
``reaction`` (the follow-up after a detected refusal: rephrase, jailbreak, pushback, accept,
new_topic, clarify, unclear) — for these the corrected share of every label. Labels are matched
case-insensitively (spaces and hyphens as ``_``). Binary signals also take ``1``/``0``,
``yes``/``no``, ``true``/``false`` and, for refusal, any refusal label of labels.md; their
``unclear`` leaves the row out. ``skip`` leaves a row out (counted); an empty cell is a row not
read yet.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens._progress import status
from chatlens.corpus.api import SourceLike
from chatlens.engine.rundir import require_complete
from chatlens.errors import InvalidParameterError, SourceError


@dataclass(frozen=True)
class SignalSpec:
    """What an audit of one signal reads: the ``messages.parquet`` column and the role of the
    messages it judges, the labels a reader may give, and which labels' shares are reported
    (binary signals: the positive one, whose share is the rate)."""

    column: str
    role: str
    labels: tuple[str, ...]
    binary: bool = False

    @property
    def reported(self) -> tuple[str, ...]:
        return self.labels[:1] if self.binary else self.labels


SIGNALS = {
    "refusal": SignalSpec("refusal", "assistant", ("refusal", "none"), binary=True),
    "jailbreak": SignalSpec("jailbreak", "user", ("jailbreak", "none"), binary=True),
    "refusal_type": SignalSpec("refusal_type", "assistant",
                               ("none", "capability", "policy", "mixed", "partial", "unclear")),
    "reaction": SignalSpec("reaction", "user", ("rephrase", "jailbreak", "pushback", "accept",
                                                "new_topic", "clarify", "unclear")),
}
#: Extra spellings of a binary signal's two labels.
POSITIVE = frozenset({"1", "true", "yes", "y"})
#: ... and of ``refusal``: any refusal label of labels.md.
REFUSED = frozenset({"refused", "capability", "policy", "mixed", "partial"})
NEGATIVE = frozenset({"0", "false", "no", "n"})
#: Labels that leave a row out (a binary signal's ``unclear`` too).
EXCLUDED = frozenset({"skip"})
#: Characters of each text kept in a sample row (a spreadsheet cell holds at most 32,767).
DEFAULT_MAX_CHARS = 6000
DESIGN_SUFFIX = ".design.json"
KEY = ("conversation_id", "message_index")
TEXT_COLUMNS = ("before", "message", "after")


@dataclass(frozen=True)
class AuditSample:
    """A drawn sample: ``rows`` (shuffled; keys, text, empty ``label`` and ``note``) and
    ``design`` (what :func:`estimate_audit` needs to weigh the labels, as JSON-ready data)."""

    rows: pl.DataFrame
    design: dict[str, Any]

    def write(self, path: str | Path) -> tuple[Path, Path]:
        """Write the rows (CSV, JSONL or Parquet by extension; CSV cells a spreadsheet would run
        as formulas are neutralised) and the design beside them as ``<path>.design.json``."""
        from chatlens.corpus.tablefile import write_table

        out = write_table(self.rows, path)
        design_path = design_path_for(out)
        design_path.write_text(json.dumps(self.design, indent=1, ensure_ascii=False) + "\n",
                               encoding="utf-8")
        return out, design_path


@dataclass(frozen=True)
class AuditEstimate:
    """Corrected rates (:func:`chatlens.stats.two_phase.two_phase_rates` per group and overall;
    one row per reported label: the positive one of a binary signal, every label of a
    categorical one, whose "rate" is its share) and how many sample rows were labelled, left out
    (``skip``, a binary signal's ``unclear``) or not read yet."""

    table: pl.DataFrame
    signal: str
    by: str | None
    drawn: int
    labelled: int
    left_out: int
    unread: int


def design_path_for(sample_path: str | Path) -> Path:
    """Where :meth:`AuditSample.write` puts the design of a sample written to ``sample_path``."""
    p = Path(sample_path)
    return p.with_name(p.name + DESIGN_SUFFIX)


def _run_identity(run_dir: Path) -> dict[str, Any]:
    manifest = _manifest(run_dir)
    return {"created_utc": manifest.get("created_utc"),
            "input_sha256": (manifest.get("input_fingerprint") or {}).get("sha256")}


def _manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"{run_dir} has no manifest.json; expected a run directory written by 'chatlens analyze'."
        raise InvalidParameterError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{path} is not valid JSON ({exc}); expected the manifest 'chatlens analyze' wrote."
        raise InvalidParameterError(msg) from None


def signal_spec(signal: str) -> SignalSpec:
    """The :class:`SignalSpec` of ``signal`` (an unknown name is an error listing the known)."""
    if signal not in SIGNALS:
        msg = f"signal must be one of {sorted(SIGNALS)}. Got {signal!r}."
        raise InvalidParameterError(msg)
    return SIGNALS[signal]


def population(run_dir: str | Path, signal: str = "refusal", by: str | None = "model") -> pl.DataFrame:
    """The messages a signal judged in a finished run: keys, ``predicted`` (the detector's label:
    for a binary signal its name or ``none``) and ``group`` (the ``by`` column of
    ``messages.parquet`` or ``conversations.parquet``; ``"(all)"`` without)."""
    run_dir = Path(run_dir)
    require_complete(run_dir)
    spec = signal_spec(signal)
    messages = pl.scan_parquet(run_dir / "messages.parquet")
    names = messages.collect_schema().names()
    if spec.column not in names:
        msg = (f"{run_dir / 'messages.parquet'} has no {spec.column!r} column: the run was made "
               "without detectors (--no-detect) or with a profile that does not add it.")
        raise InvalidParameterError(msg)
    value = pl.col(spec.column)
    predicted = (pl.when(value).then(pl.lit(spec.labels[0])).otherwise(pl.lit("none")) if spec.binary
                 else value.cast(pl.String))
    frame = messages.filter((pl.col("role") == spec.role) & value.is_not_null())
    frame = frame.select(*KEY, predicted.alias("predicted"),
                         *([by] if by is not None and by in names else []))
    if by is not None and by not in names:
        conversations = pl.scan_parquet(run_dir / "conversations.parquet")
        if by not in conversations.collect_schema().names():
            msg = (f"--by {by!r} is neither a column of messages.parquet nor of "
                   f"conversations.parquet in {run_dir}.")
            raise InvalidParameterError(msg)
        frame = frame.join(conversations.select("conversation_id", by), on="conversation_id", how="left")
    group = pl.lit("(all)") if by is None else pl.col(by).cast(pl.String).fill_null("(unknown)")
    return frame.select(*KEY, "predicted", group.alias("group")).sort(KEY).collect()


def allocate(sizes: list[int], n: int) -> list[int]:
    """Equal sample sizes per cell, capped at each cell's size, the rest shared by the larger cells.

    >>> allocate([5, 1000, 1000], 90)
    [5, 43, 42]
    """
    out = [0] * len(sizes)
    left = n
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    for rank, i in enumerate(order):
        share = -(-left // (len(sizes) - rank))  # ceiling: the remainder goes first
        out[i] = min(sizes[i], share)
        left -= out[i]
    return out


def draw_audit_sample(run_dir: str | Path, *, signal: str = "refusal", by: str | None = "model",
                      n: int = 400, seed: int = 0, source: SourceLike | None = None,
                      max_chars: int = DEFAULT_MAX_CHARS) -> AuditSample:
    """Draw ``n`` messages of a finished run for a reader, at random within each cell.

    Parameters
    ----------
    run_dir
        A run directory written by ``chatlens analyze``.
    signal
        ``refusal`` (assistant messages) or ``jailbreak`` (user messages).
    by
        Column whose groups get their own corrected rate (``model``, ``language``, …; from the
        messages or the conversations table); None for one rate over the whole run. Every group
        × flagged cell gets an equal share of ``n``: more groups need a larger ``n``.
    n, seed
        Sample size and random seed (the same seed draws the same sample).
    source
        Where to read the text when the run did not keep it (``--keep-text``); default: the
        source the run's manifest records.
    max_chars
        Characters kept of each text (longer ones are cut, and the cut is said in the text).
    """
    if n < 1:
        msg = f"n must be at least 1. Got {n}."
        raise InvalidParameterError(msg)
    run_dir = Path(run_dir)
    pop = population(run_dir, signal, by)
    if pop.height == 0:
        msg = f"The run in {run_dir} has no {SIGNALS[signal].role} messages with a {signal!r} verdict."
        raise InvalidParameterError(msg)
    pop = pop.with_row_index("_row")
    cells = pop.group_by("group", "predicted").agg(messages=pl.len()).sort("group", "predicted")
    sizes = cells["messages"].to_list()
    take = allocate(sizes, n)
    rng = np.random.default_rng(seed)
    chosen = [np.sort(rng.choice(pop.filter((pl.col("group") == g) & (pl.col("predicted") == f))["_row"]
                                 .to_numpy(), size=k, replace=False))
              for (g, f), k in zip(cells.select("group", "predicted").rows(), take, strict=True) if k]
    rows = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    sample = pop[rows].sample(fraction=1.0, shuffle=True, seed=seed).drop("_row")
    text = _texts(run_dir, sample.select(KEY), source, max_chars)
    out = (sample.select(KEY).join(text, on=list(KEY), how="left", maintain_order="left")
           .with_row_index("audit_row", offset=1)
           .with_columns(label=pl.lit(None, dtype=pl.String), note=pl.lit(None, dtype=pl.String)))
    keys = sample.select(KEY).rows()
    design = {
        "chatlens_audit": 1,
        "signal": signal,
        "role": SIGNALS[signal].role,
        "labels": list(SIGNALS[signal].labels),
        "by": by,
        "seed": seed,
        "n": int(len(rows)),
        "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run": {"dir": str(run_dir), **_run_identity(run_dir)},
        "cells": [{"group": g, "predicted": f, "messages": s, "drawn": k}
                  for (g, f), s, k in zip(cells.select("group", "predicted").rows(), sizes, take, strict=True)],
        "sample_sha256": _keys_digest(keys),
        "keys": [list(k) for k in keys],
    }
    return AuditSample(out, design)


def _keys_digest(keys: list[tuple[str, int]]) -> str:
    return hashlib.sha256("\n".join(f"{c}\t{i}" for c, i in sorted(keys)).encode()).hexdigest()


def _cut(column: str, max_chars: int) -> pl.Expr:
    c = pl.col(column)
    over = c.str.len_chars().cast(pl.Int64) - max_chars
    return (pl.when(over > 0)
            .then(c.str.slice(0, max_chars) + pl.format(" … [{} more characters cut]", over))
            .otherwise(c).alias(column))


def _texts(run_dir: Path, keys: pl.DataFrame, source: SourceLike | None, max_chars: int) -> pl.DataFrame:
    """``before`` / ``message`` / ``after`` text per sampled key (the messages either side of it
    in its conversation, any role)."""
    wanted = keys["conversation_id"].unique()
    messages = pl.scan_parquet(run_dir / "messages.parquet")
    if source is None and "content" in messages.collect_schema().names():
        found = (messages.filter(pl.col("conversation_id").is_in(wanted.implode()))
                 .select(*KEY, "content").collect())
    else:
        found = _reread(run_dir, wanted, source)
        _check_lengths(run_dir, found, messages, wanted)
    found = found.sort(KEY).with_columns(
        before=pl.col("content").shift(1).over("conversation_id"),
        after=pl.col("content").shift(-1).over("conversation_id"),
    ).rename({"content": "message"})
    return keys.join(found.select(*KEY, *TEXT_COLUMNS), on=list(KEY), how="left").with_columns(
        _cut(c, max_chars) for c in TEXT_COLUMNS)


def _reread(run_dir: Path, wanted: pl.Series, source: SourceLike | None) -> pl.DataFrame:
    """Messages of the ``wanted`` conversations, read again from the run's source."""
    from chatlens.corpus.api import iter_batches

    manifest = _manifest(run_dir)
    config = dict(manifest.get("configuration") or {})
    options = {k: config[k] for k in ("column_map", "layout", "batch_size", "max_message_chars",
                                      "oasst_paths") if config.get(k) is not None}
    options["format"] = (manifest.get("source") or {}).get("format") or config.get("format")
    options["hf_token"] = os.environ.get("HF_TOKEN")
    recorded = manifest.get("input_fingerprint") or {}
    if source is None:
        files = [Path(f["path"]) for f in recorded.get("files") or []]
        given = (manifest.get("source") or {}).get("given")
        source = [str(f) for f in files] if files and all(f.is_file() for f in files) else given
        if source is None or source == "demo":
            msg = (f"The run in {run_dir} kept no text and its source cannot be found; pass the "
                   "source it read (--source).")
            raise SourceError(msg)
    status("reading the run's source again for the sampled conversations' text")
    stream = iter_batches(source, **options)
    local = [Path(f.path) for f in stream.files if Path(f.path).is_file()]
    if local and recorded.get("sha256"):
        from chatlens.report.manifest import fingerprint

        if fingerprint(local)["sha256"] != recorded["sha256"]:
            msg = (f"The source {source!r} is not what the run in {run_dir} read: its input "
                   "fingerprint differs. Pass the source the run read (--source).")
            raise SourceError(msg)
    parts = [b.messages.filter(pl.col("conversation_id").is_in(wanted.implode())).select(*KEY, "content")
             for b in stream]
    return pl.concat(parts) if parts else pl.DataFrame(schema={"conversation_id": pl.String,
                                                              "message_index": pl.Int64, "content": pl.String})


def _check_lengths(run_dir: Path, found: pl.DataFrame, messages: pl.LazyFrame, wanted: pl.Series) -> None:
    """The text read again must be the text the run analysed: same messages, same lengths."""
    if "content_chars" not in messages.collect_schema().names():
        return
    ran = messages.filter(pl.col("conversation_id").is_in(wanted.implode())).select(*KEY, "content_chars").collect()
    got = found.with_columns(pl.col("message_index").cast(ran.schema["message_index"]),
                             chars=pl.col("content").str.len_chars().cast(pl.Int64))
    both = ran.join(got, on=list(KEY), how="full", coalesce=True)
    bad = both.filter(pl.col("content_chars").cast(pl.Int64).ne_missing(pl.col("chars")))
    if bad.height:
        r = bad.row(0, named=True)
        msg = (f"The source read again does not hold the text the run in {run_dir} analysed: "
               f"conversation {r['conversation_id']}, message {r['message_index']} had "
               f"{r['content_chars']} characters in the run and {r['chars']} now "
               f"({bad.height} message(s) differ). Pass the source the run read (--source).")
        raise SourceError(msg)


def read_design(path: str | Path) -> dict[str, Any]:
    """A sample's design file (:meth:`AuditSample.write`)."""
    path = Path(path)
    try:
        design = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (f"The sample's design file {path} does not exist: 'chatlens audit sample' writes it "
               "beside the sample; pass it with --design when the labelled file moved or was renamed.")
        raise InvalidParameterError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{path} is not valid JSON ({exc}); expected a design file of 'chatlens audit sample'."
        raise InvalidParameterError(msg) from None
    if not isinstance(design, dict) or design.get("chatlens_audit") != 1:
        msg = f"{path} is not a design file of 'chatlens audit sample' (no chatlens_audit: 1)."
        raise InvalidParameterError(msg)
    return design


def parse_labels(labels: pl.Series, where: str, rows: pl.Series | None = None, *,
                 signal: str = "refusal") -> pl.Series:
    """Reader labels → the signal's label names (see :data:`SIGNALS`), or None for a row left
    out or not read yet; any other value is an error naming ``where``, the row and the accepted
    labels."""
    spec = signal_spec(signal)
    text = (labels.cast(pl.String).str.strip_chars().str.strip_chars("'").str.strip_chars()
            .str.to_lowercase().str.replace_all(r"[\s-]+", "_"))
    mapping = {label: label for label in spec.labels}
    excluded = set(EXCLUDED)
    if spec.binary:
        positive, negative = spec.labels
        mapping |= dict.fromkeys(POSITIVE, positive) | dict.fromkeys(NEGATIVE, negative)
        if signal == "refusal":
            mapping |= dict.fromkeys(REFUSED, positive)
        excluded.add("unclear")
        mapping.pop("unclear", None)
    bad = (text.is_not_null() & (text != "") & ~text.is_in([*mapping, *excluded])).arg_true()
    if len(bad):
        i = int(bad[0])
        row = int(rows[i]) if rows is not None else i + 1
        msg = (f"{where}, row {row}: label {labels[i]!r} is not a {signal} label: expected one of "
               f"{sorted(set(mapping))}, {sorted(excluded)} to leave the row out, or empty (not "
               f"read yet). {len(bad)} row(s) have such labels.")
        raise InvalidParameterError(msg)
    return text.replace_strict(mapping, default=None, return_dtype=pl.String).alias("truth")


def estimate_audit(run_dir: str | Path, labelled: str | Path | pl.DataFrame, *,
                   design: str | Path | dict[str, Any] | None = None, confidence: float = 0.95,
                   seed: int = 0) -> AuditEstimate:
    """Corrected rates of a run from a reader's labels on its audit sample.

    Parameters
    ----------
    run_dir
        The run the sample was drawn from (checked against the design).
    labelled
        The sample with its ``label`` column filled (a file or a frame with ``conversation_id``,
        ``message_index`` and ``label``).
    design
        The sample's design (a path or the dict); default: ``<labelled>.design.json``.
    confidence, seed
        Interval level, and the seed of the interval's Monte Carlo draws.
    """
    from chatlens.corpus.tablefile import read_table
    from chatlens.stats.two_phase import two_phase_rates

    run_dir = Path(run_dir)
    where = "the labelled frame"
    if not isinstance(labelled, pl.DataFrame):
        where = str(labelled)
        if design is None:
            design = design_path_for(labelled)
        labelled = read_table(labelled, infer_schema=False)
    if design is None:
        msg = "Pass the sample's design (design=...) with a labelled frame."
        raise InvalidParameterError(msg)
    design = read_design(design) if not isinstance(design, dict) else design
    missing = [c for c in (*KEY, "label") if c not in labelled.columns]
    if missing:
        msg = f"{where} lacks the column(s) {missing}; expected the sample 'chatlens audit sample' wrote."
        raise InvalidParameterError(msg)
    identity = _run_identity(run_dir)
    if {k: design["run"].get(k) for k in identity} != identity:
        msg = (f"The sample in {where} was drawn from another run (made {design['run'].get('created_utc')}) "
               f"than the one in {run_dir} (made {identity['created_utc']}).")
        raise InvalidParameterError(msg)
    rows = labelled.select(pl.col("conversation_id").cast(pl.String),
                           pl.col("message_index").cast(pl.String).str.strip_chars("'").cast(pl.Int64, strict=False),
                           pl.col("label")).with_row_index("_line", offset=2)
    drawn = pl.DataFrame([tuple(k) for k in design["keys"]], schema=list(KEY), orient="row").with_columns(
        pl.col("message_index").cast(pl.Int64), _drawn=pl.lit(True))
    outside = rows.join(drawn, on=list(KEY), how="left").filter(pl.col("_drawn").is_null())
    if outside.height:
        r = outside.row(0, named=True)
        msg = (f"{where}, row {r['_line']}: conversation {r['conversation_id']!r}, message "
               f"{r['message_index']} is not in the sample's design; only the rows drawn at random "
               f"can be weighed ({outside.height} row(s) are not).")
        raise InvalidParameterError(msg)
    signal = design["signal"]
    rows = rows.with_columns(parse_labels(rows["label"], where, rows["_line"], signal=signal))
    read = rows["label"].cast(pl.String).str.strip_chars().fill_null("") != ""
    left_out = int((read & rows["truth"].is_null()).sum())
    pop = population(run_dir, signal, design["by"])
    judged = pop.join(rows.filter(pl.col("truth").is_not_null()), on=list(KEY), how="inner")
    sizes = pop.group_by("group", "predicted").agg(messages=pl.len())
    parts = []
    for label in SIGNALS[signal].reported:
        cells = sizes.join(
            judged.group_by("group", "predicted").agg(labelled=pl.len(),
                                                      positives=(pl.col("truth") == label).sum()),
            on=["group", "predicted"], how="left",
        ).with_columns(pl.col("labelled", "positives").fill_null(0),
                       flagged=pl.col("predicted") == label).sort("group", "predicted")
        table = two_phase_rates(cells, confidence=confidence, seed=seed,
                                overall="(all)" if design["by"] is not None else None)
        parts.append(table.select("group", pl.lit(label).alias("label"), pl.exclude("group")))
    return AuditEstimate(pl.concat(parts), signal, design["by"], len(design["keys"]),
                         int(judged.height), left_out, int((~read).sum()))


__all__ = ["SIGNALS", "AuditEstimate", "AuditSample", "SignalSpec", "allocate", "design_path_for",
           "draw_audit_sample", "estimate_audit", "parse_labels", "population", "read_design",
           "signal_spec"]
