"""The real labelled development set: ids and labels in the package, text read from the data folder.

Why: agreement with chatlens's own synthetic corpus proves the plumbing, never validity. A signal
is as good as its agreement with a careful reading of *real* logs, so the project keeps a labelled
development set of real assistant messages (LMSYS-Chat-1M and ShareGPT samples, Anthropic HH-RLHF,
DICES), each judged in context against ``docs/labels.md``. Licences forbid shipping the text: the
data files hold only where a message is (source file, conversation id, message index), a short
hash of its text (so a changed copy is detected, not silently mislabelled) and the labels with a
short reason. The text is read at validation time from the shared data folder through the same
readers ``analyze`` uses.

Files (``chatlens/data/validation/``, kind ``labelled-set``: provenance, sampling and annotation
notes, then one row per message)

* ``real_dev_labels.json`` — the first pass: every assistant message labelled with
  ``refusal`` (none | capability | policy | mixed | partial | unclear), ``partial_reason``,
  ``disclaimer``, ``reaction`` of the next user message when the message is a refusal, and
  ``overturned`` (a later assistant message did what was refused) where judged;
* ``real_dev_labels_second_pass.json`` — an independent second pass over a random 20%, for
  Cohen's kappa per task.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.errors import SourceError

FIRST_PASS = "validation/real_dev_labels.json"
SECOND_PASS = "validation/real_dev_labels_second_pass.json"
REFUSAL_LABELS = ("none", "capability", "policy", "mixed", "partial", "unclear")
REFUSED = ("capability", "policy", "mixed", "partial")
REACTION_LABELS = ("rephrase", "jailbreak", "pushback", "accept", "new_topic", "clarify", "unclear")
#: The classes reaction macro-F1 averages over (``unclear`` is a reader's abstention).
REACTION_CLASSES = REACTION_LABELS[:-1]

_SCHEMA = {
    "item": pl.String, "file": pl.String, "conversation_id": pl.String,
    "message_index": pl.Int32, "content_sha1": pl.String, "source": pl.String,
    "sample": pl.String, "refusal": pl.String, "partial_reason": pl.String,
    "disclaimer": pl.Boolean, "reaction": pl.String, "overturned": pl.Boolean, "reason": pl.String,
}


def load_labels(*, second_pass: bool = False, path: str | Path | None = None) -> pl.DataFrame:
    """The labels (no text), one row per labelled assistant message, checked against the vocabulary.

    ``refusal_type`` is derived: the label itself for capability/policy/mixed, the reason of a
    ``partial``, ``none`` otherwise (``unclear`` stays ``unclear``).
    """
    source = (SECOND_PASS if second_pass else FIRST_PASS) if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="labelled-set")
    where = record.file
    missing = [c for c in _SCHEMA if c not in doc.columns]
    if missing:
        msg = f"Labels file {where}: missing column(s) {missing}; expected {list(_SCHEMA)}."
        raise SourceError(msg)
    frame = pl.DataFrame([dict(zip(doc.columns, row, strict=True)) for row in doc.rows],
                         schema={c: _SCHEMA.get(c, pl.String) for c in doc.columns})
    for col, allowed in (("refusal", REFUSAL_LABELS), ("reaction", REACTION_LABELS),
                         ("partial_reason", ("capability", "policy", "mixed"))):
        bad = frame.filter(pl.col(col).is_not_null() & ~pl.col(col).is_in(allowed))
        if bad.height:
            row = bad.row(0, named=True)
            msg = (f"Labels file {where}: item {row['item']}: column {col!r} must be one of "
                   f"{list(allowed)}. Got {row[col]!r}.")
            raise SourceError(msg)
    return frame.with_columns(
        refused=pl.col("refusal").is_in(REFUSED),
        refusal_type=pl.when(pl.col("refusal") == "partial").then(pl.col("partial_reason"))
        .otherwise(pl.col("refusal")),
    )


def _messages(data_dir: Path, file: str) -> pl.DataFrame:
    from chatlens.corpus.api import read

    path = data_dir / file
    if not path.exists():  # a file, or a folder a reader takes whole (the OASST sample)
        msg = f"Labelled messages come from {path}, which does not exist: expected the shared data folder."
        raise SourceError(msg)
    m = read(str(path)).messages
    m = m.collect() if isinstance(m, pl.LazyFrame) else m
    return m.select("conversation_id", "message_index", "role", "content").sort(
        "conversation_id", "message_index")


def _sha1(text: str | None) -> str:
    return hashlib.sha1((text or "").encode("utf-8")).hexdigest()[:12]


def attach_text(labels: pl.DataFrame, data_dir: str | Path) -> pl.DataFrame:
    """Add ``response`` (the labelled message), ``request`` (the user message before it) and
    ``followup`` (the user message after it) read from ``data_dir``; a changed text is an error."""
    root = Path(data_dir)
    parts = []
    for file in labels["file"].unique(maintain_order=True).to_list():
        m = _messages(root, file)
        same = pl.col("conversation_id").shift(1) == pl.col("conversation_id")
        same_next = pl.col("conversation_id").shift(-1) == pl.col("conversation_id")
        m = m.with_columns(
            request=pl.when(same & (pl.col("role").shift(1) == "user")).then(pl.col("content").shift(1)),
            followup=pl.when(same_next & (pl.col("role").shift(-1) == "user")).then(pl.col("content").shift(-1)),
        ).rename({"content": "response"})
        part = labels.filter(pl.col("file") == file).join(
            m.drop("role"), on=["conversation_id", "message_index"], how="left")
        parts.append(part)
    out = pl.concat(parts).sort("item")
    sha = out["response"].map_elements(_sha1, return_dtype=pl.String)
    for bad, problem in (
        (out.filter(pl.col("response").is_null()),
         f"is not in the data folder {root}; expected the copy of the data the labels were made on"),
        (out.filter(pl.col("response").is_not_null() & (sha != pl.col("content_sha1"))),
         "holds a text that differs from the labelled one (its sha1 prefix does not match)"),
    ):
        if bad.height:
            r = bad.row(0, named=True)
            msg = (f"Labelled item {r['item']} ({r['file']}, conversation {r['conversation_id']}, "
                   f"message {r['message_index']}) {problem}; {bad.height} item(s) affected.")
            raise SourceError(msg)
    return out


def missing_sources(data_dir: str | Path) -> list[str]:
    """The source files (or folders, like the OASST sample) the labels point into that are not
    in ``data_dir``."""
    return [f for f in load_labels()["file"].unique().sort().to_list()
            if not (Path(data_dir) / f).exists()]



def labelled_set(data_dir: str | Path) -> pl.DataFrame:
    """First-pass labels with their text (see :func:`attach_text`)."""
    return attach_text(load_labels(), data_dir)


def agreement(first: pl.DataFrame | None = None, second: pl.DataFrame | None = None) -> pl.DataFrame:
    """Cohen's kappa and raw agreement between the two labelling passes, per task.

    Tasks: binary refusal, the six refusal labels, refusal type (where both passes call the
    message a refusal), disclaimer, reaction (where both passes labelled one) and overturned.
    """
    from sklearn.metrics import cohen_kappa_score

    first = load_labels() if first is None else first
    second = load_labels(second_pass=True) if second is None else second
    both = second.join(first, on="item", suffix="_1", how="inner")

    def row(task: str, a: pl.Series, b: pl.Series) -> dict:
        a_list, b_list = a.cast(pl.String).to_list(), b.cast(pl.String).to_list()
        same = float(np.mean(np.asarray(a_list) == np.asarray(b_list))) if a_list else None
        kappa = float(cohen_kappa_score(a_list, b_list)) if len(set(a_list) | set(b_list)) > 1 else None
        return {"task": task, "n": len(a_list), "agreement": same, "kappa": kappa}

    rows = [
        row("refusal (binary)", both["refused_1"], both["refused"]),
        row("refusal (6 labels)", both["refusal_1"], both["refusal"]),
    ]
    t = both.filter(pl.col("refused") & pl.col("refused_1"))
    rows.append(row("refusal type (both refusals)", t["refusal_type_1"], t["refusal_type"]))
    rows.append(row("disclaimer", both["disclaimer_1"], both["disclaimer"]))
    r = both.filter(pl.col("reaction").is_not_null() & pl.col("reaction_1").is_not_null())
    rows.append(row("reaction (both labelled)", r["reaction_1"], r["reaction"]))
    if "overturned" in both.columns and "overturned_1" in both.columns:
        o = both.filter(pl.col("overturned").is_not_null() & pl.col("overturned_1").is_not_null())
        rows.append(row("overturned (both judged)", o["overturned_1"], o["overturned"]))
    return pl.DataFrame(rows, schema={"task": pl.String, "n": pl.Int64, "agreement": pl.Float64,
                                      "kappa": pl.Float64})
