"""A reader's labels on an audit sample → the run's corrected rates and label shares.

The labelled file is checked before anything is weighed, because the estimate is only as good as
its random sample: rows must come from the draw (no row added, none twice), the run must be the
one sampled, and the rows read should be a prefix of the file's order (labelling a sorted or
filtered view picks rows by their content). Rows deleted from the file count as not read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.audit.paths import design_path_for
from chatlens.audit.run import identity, manifest, population
from chatlens.audit.sample import DESIGN_VERSION, design_digest, keys_digest
from chatlens.audit.signals import KEY, SIGNALS, left_out, left_out_labels, normalise, parse_labels
from chatlens.corpus.tablefile import restore_formulas
from chatlens.errors import InvalidParameterError

#: Keys a design file must hold.
_DESIGN_KEYS = ("signal", "by", "run", "cells", "keys", "keys_sha256", "design_sha256")


@dataclass(frozen=True)
class AuditEstimate:
    """Corrected rates (:func:`chatlens.stats.two_phase.two_phase_rates` per group and overall;
    one row per reported label: the positive one of a binary signal, every label of a categorical
    one, whose "rate" is its share), the sample's bookkeeping (rows drawn, labelled, left out as
    ``skip`` or a binary signal's ``unclear``, not read yet or no longer in the file) and
    warnings about how the labels were given."""

    table: pl.DataFrame
    signal: str
    by: str | None
    drawn: int
    labelled: int
    left_out: int
    unread: int
    warnings: list[str] = field(default_factory=list)


def read_design(path: str | Path) -> dict[str, Any]:
    """A sample's design file, checked (written by :meth:`~chatlens.audit.AuditSample.write`)."""
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
    return check_design(design, str(path))


def check_design(design: Any, where: str = "the design") -> dict[str, Any]:
    """``design`` if it is a whole, unedited design of this version (else a clear error)."""
    if not isinstance(design, dict) or design.get("chatlens_audit") != DESIGN_VERSION:
        msg = f"{where} is not a design file of 'chatlens audit sample' (no chatlens_audit: {DESIGN_VERSION})."
        raise InvalidParameterError(msg)
    missing = [k for k in _DESIGN_KEYS if k not in design]
    if missing:
        msg = f"{where} lacks {missing}; write the sample again with 'chatlens audit sample'."
        raise InvalidParameterError(msg)
    if (design["signal"] not in SIGNALS or keys_digest(design["keys"]) != design["keys_sha256"]
            or design_digest(design) != design["design_sha256"]):
        msg = (f"{where} was edited (its signal, --by, cells, run or drawn keys no longer match "
               "its checksum); estimate from the design 'chatlens audit sample' wrote.")
        raise InvalidParameterError(msg)
    return design


def _labelled_rows(labelled: pl.DataFrame, design: dict[str, Any], where: str) -> pl.DataFrame:
    """The labelled file's rows with their key, label and draw position (``order``); refuses rows
    that were not drawn, rows given twice and unreadable message indexes."""
    missing = [c for c in (*KEY, "label") if c not in labelled.columns]
    if missing:
        msg = f"{where} lacks the column(s) {missing}; expected the sample 'chatlens audit sample' wrote."
        raise InvalidParameterError(msg)
    text = {c: restore_formulas(labelled[c]) for c in KEY}
    row = (labelled["audit_row"].cast(pl.String) if "audit_row" in labelled.columns
           else pl.Series([str(i) for i in range(1, labelled.height + 1)]))
    rows = pl.DataFrame({"conversation_id": text["conversation_id"],
                         "message_index": text["message_index"].str.strip_chars().cast(pl.Int64, strict=False),
                         "label": labelled["label"].cast(pl.String), "_row": row}).with_row_index("_pos", offset=1)
    unreadable = rows.filter(pl.col("message_index").is_null())
    if unreadable.height:
        i = rows["_row"].to_list().index(unreadable["_row"][0])
        msg = (f"{where}, row {unreadable['_row'][0]}: message_index {text['message_index'][i]!r} is "
               "not a whole number; the sample's key columns must stay as written.")
        raise InvalidParameterError(msg)
    drawn = pl.DataFrame(design["keys"], schema=list(KEY), orient="row").with_columns(
        pl.col("message_index").cast(pl.Int64)).with_row_index("order")
    rows = rows.join(drawn, on=list(KEY), how="left")
    outside = rows.filter(pl.col("order").is_null())
    if outside.height:
        r = outside.row(0, named=True)
        msg = (f"{where}, row {r['_row']}: conversation {r['conversation_id']!r}, message "
               f"{r['message_index']} is not in the sample's design; only the rows drawn at random "
               f"can be weighed ({outside.height} row(s) are not).")
        raise InvalidParameterError(msg)
    twice = rows.filter(pl.col("order").is_duplicated()).sort("order")
    if twice.height:
        first = twice.filter(pl.col("order") == twice["order"][0])["_pos"].to_list()
        msg = (f"{where}: data rows {first[0]} and {first[1]} are the same message (conversation "
               f"{twice['conversation_id'][0]!r}, message {twice['message_index'][0]}); each drawn "
               f"row may be labelled once ({twice['order'].n_unique()} message(s) appear twice or more).")
        raise InvalidParameterError(msg)
    return rows


def _warnings(rows: pl.DataFrame, read: pl.Series, skipped: int, drawn: int, signal: str) -> list[str]:
    """How the labels were given, where it weakens the random sample."""
    out = []
    ordered = rows.with_columns(_read=read).sort("order")["_read"]
    first_unread = int(ordered.arg_min()) if not ordered.all() else ordered.len()
    if ordered.slice(first_unread).any():
        out.append("The rows read are not the first ones of the file's order (by audit_row): rows "
                   "picked by reading, sorting or filtering are not a random sample of their cell. "
                   "Label in order, from row 1.")
    if skipped:
        out.append(f"{skipped} row(s) left out ({left_out_labels(signal)}): the estimate assumes "
                   "they are like the rows read in their cell; if hard cases were skipped, it is "
                   "biased.")
    if rows.height < drawn:
        out.append(f"{drawn - rows.height} drawn row(s) are no longer in the file; they count as not "
                   "read.")
    return out


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
        design = design_path_for(labelled) if design is None else design
        labelled = read_table(labelled, infer_schema=False)
    if design is None:
        msg = "Pass the sample's design (design=...) with a labelled frame."
        raise InvalidParameterError(msg)
    design = read_design(design) if not isinstance(design, dict) else check_design(design)
    run = identity(manifest(run_dir))
    if {k: design["run"].get(k) for k in run} != run:
        msg = (f"The sample in {where} was drawn from another run (made {design['run'].get('created_utc')}) "
               f"than the one in {run_dir} (made {run['created_utc']}).")
        raise InvalidParameterError(msg)
    signal = design["signal"]
    rows = _labelled_rows(labelled, design, where)
    rows = rows.with_columns(parse_labels(rows["label"], where, rows["_row"], signal=signal))
    read = normalise(rows["label"]) != ""
    skipped = int(left_out(rows["label"], signal).sum())
    pop = population(run_dir, signal, design["by"])
    judged = pop.join(rows.filter(pl.col("truth").is_not_null()), on=list(KEY), how="inner")
    sizes = pop.group_by("group", "predicted").agg(messages=pl.len())
    counts = judged.group_by("group", "predicted").agg(
        labelled=pl.len(), **{f"_{k}": (pl.col("truth") == k).sum() for k in SIGNALS[signal].reported})
    cells = sizes.join(counts, on=["group", "predicted"], how="left").fill_null(0).sort("group", "predicted")
    parts = []
    for label in SIGNALS[signal].reported:
        table = two_phase_rates(
            cells.select("group", flagged=pl.col("predicted") == label, messages="messages",
                         labelled="labelled", positives=f"_{label}"),
            confidence=confidence, seed=seed, overall="(all)" if design["by"] is not None else None)
        parts.append(table.select("group", pl.lit(label).alias("label"), pl.exclude("group")))
    drawn = len(design["keys"])
    return AuditEstimate(pl.concat(parts), signal, design["by"], drawn, judged.height, skipped,
                         drawn - int(read.sum()), _warnings(rows, read, skipped, drawn, signal))


__all__ = ["AuditEstimate", "check_design", "estimate_audit", "read_design"]
