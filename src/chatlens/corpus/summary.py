"""Streaming summary of a corpus: counts that ``info`` prints and ``analyze`` records.

Why an accumulator: a source may be far larger than memory, so per-batch group-bys (a few rows
each) are merged as batches stream past; nothing proportional to the corpus is kept.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import polars as pl

from chatlens.corpus.canonical import CanonicalBatch
from chatlens.vocabulary import PLACEHOLDER_LABELS, UNKNOWN_LABEL, keep_apart_from_placeholders

#: Turn-count histogram buckets: 1..9 exactly, then "10+".
_TURN_BUCKETS = 10


@dataclass(frozen=True)
class CorpusSummary:
    """What a source contains. ``records_in == conversations + quarantined`` always holds.

    ``records_in`` counts conversations as read (a record that fails as a whole counts once);
    ``source_records`` counts the raw records behind them (lines, rows, trees, battles).
    """

    format: str
    files: int
    bytes: int
    records_in: int
    source_records: int
    conversations: int
    messages: int
    quarantined: int
    repairs: dict[str, int]
    quarantine_reasons: dict[str, int]
    models: dict[str, int]
    languages: dict[str, int]
    roles: dict[str, int]
    turns_histogram: dict[str, int]
    mean_turns: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _top_reason(self) -> str:
        if not self.quarantine_reasons:
            return ""
        reason, count = next(iter(self.quarantine_reasons.items()))
        return f" Most common reason ({count:,} rows): {reason}."

    def nothing_analysed(self) -> str | None:
        """Why no conversation was analysed, or ``None`` when some were (the CLI exits non-zero:
        a run of 0 conversations is a failure, not an empty result)."""
        if self.conversations:
            return None
        if not self.records_in:
            return f"No conversation was read from the input (format {self.format}): it holds no records."
        return (f"No conversation was analysed: all {self.records_in:,} input rows were quarantined "
                f"(format {self.format}).{self._top_reason()}")

    def detection_warning(self, *, detected: bool) -> str | None:
        """A warning when the format was auto-detected and more than half the rows were
        quarantined: the detector most likely picked the wrong reader (an export wrapped in
        another container), and an explicit format is the fix; for several files, more likely
        the files mix formats (detection sniffs a sample of them), which no single format
        fixes."""
        if not detected or self.quarantined * 2 <= self.records_in:
            return None
        if self.files > 1:  # detection reads a sample of the files: the others may differ
            return (f"The format was detected as '{self.format}' from a sample of the {self.files:,} "
                    f"input files and {self.quarantined:,} of {self.records_in:,} rows were "
                    "quarantined: the files are probably in different formats (or the detection is "
                    "wrong). Read the files of each format separately (e.g. with a glob), or pass "
                    f"format= explicitly.{self._top_reason()}")
        return (f"The format was detected as '{self.format}' and {self.quarantined:,} of "
                f"{self.records_in:,} rows were quarantined: the detection is probably wrong. "
                f"Pass format= explicitly.{self._top_reason()}")


class RowCounts:
    """``rows_in`` / ``rows_analysed`` / ``rows_quarantined`` of anything holding a ``summary``."""

    summary: CorpusSummary

    @property
    def rows_in(self) -> int:
        return self.summary.records_in

    @property
    def rows_analysed(self) -> int:
        return self.summary.conversations

    @property
    def rows_quarantined(self) -> int:
        return self.summary.quarantined


@dataclass
class SummaryAccumulator:
    """Merges per-batch counts into a :class:`CorpusSummary`."""

    format: str = "unknown"
    files: int = 0
    bytes: int = 0
    records_in: int = 0
    source_records: int = 0
    conversations: int = 0
    messages: int = 0
    quarantined: int = 0
    turn_sum: int = 0
    repairs: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    models: Counter = field(default_factory=Counter)
    languages: Counter = field(default_factory=Counter)
    roles: Counter = field(default_factory=Counter)
    turns: Counter = field(default_factory=Counter)

    def update(self, batch: CanonicalBatch) -> None:
        conv, msgs, quar = batch.conversations, batch.messages, batch.quarantine
        self.records_in += batch.records_in
        self.source_records += batch.source_records if batch.source_records is not None else batch.records_in
        self.conversations += conv.height
        self.messages += msgs.height
        self.quarantined += quar.height
        self.repairs.update(batch.repairs)
        if quar.height:
            reasons = quar.get_column("reason").str.replace(r"^(?:message \d+|CSV line \d+): ", "").str.slice(0, 120)
            self.reasons.update(dict(reasons.value_counts().rows()))
        if conv.height:
            self.models.update(_counts(conv, "model"))
            self.languages.update(_counts(conv, "language"))
            bucket = (
                pl.when(pl.col("n_turns") >= _TURN_BUCKETS)
                .then(pl.lit(f"{_TURN_BUCKETS}+"))
                .otherwise(pl.col("n_turns").cast(pl.String))
            )
            self.turns.update(dict(conv.select(bucket.alias("b")).get_column("b").value_counts().rows()))
            self.turn_sum += int(conv.get_column("n_turns").sum() or 0)
        if msgs.height:
            self.roles.update(_counts(msgs, "role"))

    def add_repairs(self, repairs: dict[str, int]) -> None:
        self.repairs.update(repairs)

    def finish(self) -> CorpusSummary:
        order = [str(i) for i in range(1, _TURN_BUCKETS)] + [f"{_TURN_BUCKETS}+"]
        return CorpusSummary(
            format=self.format,
            files=self.files,
            bytes=self.bytes,
            records_in=self.records_in,
            source_records=self.source_records,
            conversations=self.conversations,
            messages=self.messages,
            quarantined=self.quarantined,
            repairs=dict(sorted(self.repairs.items())),
            quarantine_reasons=_ranked(self.reasons),
            models=_ranked(self.models),
            languages=_ranked(self.languages),
            roles=_ranked(self.roles),
            turns_histogram={k: self.turns[k] for k in order if self.turns.get(k)},
            mean_turns=round(self.turn_sum / self.conversations, 4) if self.conversations else None,
        )


def _ranked(counts: Counter) -> dict[str, int]:
    """Most common first; ties by name, so the order does not depend on how the input was
    split into batches or partitions (``value_counts`` order is a hash order)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def group_labels(expr: pl.Expr) -> pl.Expr:
    """A group column (model, language) as tables show it: a missing value is ``(unknown)``, and
    a value of the log spelled like a placeholder label is ``<label> (as named)``
    (:func:`~chatlens.vocabulary.keep_apart_from_placeholders`), so the two never merge. The
    corpus summary, the behaviour tables and the audit's groups all label groups with it."""
    return (expr.cast(pl.String)
            .replace({p: keep_apart_from_placeholders(p) for p in PLACEHOLDER_LABELS})
            .fill_null(UNKNOWN_LABEL))


def _counts(frame: pl.DataFrame, column: str) -> dict[str, int]:
    values = frame.select(group_labels(pl.col(column))).to_series()
    return dict(values.value_counts().rows())
