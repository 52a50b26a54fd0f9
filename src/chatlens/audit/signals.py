"""What an audit of each signal reads, and the labels a reader may give it.

Binary signals (``refusal``, ``jailbreak``) are audited for their rate; categorical ones
(``refusal_type``, ``reaction``) for the share of every label. A reader's labels follow
``docs/labels.md``; a partial refusal's type is its reason there, so ``refusal_type`` has no
``partial`` label (the reader gives the reason, as the detector does).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from chatlens.errors import InvalidParameterError

#: The columns that identify a message in a run.
KEY = ("conversation_id", "message_index")


@dataclass(frozen=True)
class SignalSpec:
    """One audited signal: the ``messages.parquet`` column and the role of the messages it judges,
    the labels a reader may give (for a binary signal: positive, then ``none``), and whether it
    is binary."""

    column: str
    role: str
    labels: tuple[str, ...]
    binary: bool = False

    @property
    def reported(self) -> tuple[str, ...]:
        """The labels whose share is reported: a binary signal's positive one (its rate), else all."""
        return self.labels[:1] if self.binary else self.labels


SIGNALS = {
    "refusal": SignalSpec("refusal", "assistant", ("refusal", "none"), binary=True),
    "jailbreak": SignalSpec("jailbreak", "user", ("jailbreak", "none"), binary=True),
    "refusal_type": SignalSpec("refusal_type", "assistant",
                               ("none", "capability", "policy", "mixed", "unclear")),
    "reaction": SignalSpec("reaction", "user", ("rephrase", "jailbreak", "pushback", "accept",
                                                "new_topic", "clarify", "unclear")),
}
#: Extra spellings of a binary signal's positive and negative label.
POSITIVE = frozenset({"1", "true", "yes", "y"})
NEGATIVE = frozenset({"0", "false", "no", "n"})
#: ... and of ``refusal``'s positive one: any refusal label of labels.md.
REFUSED = frozenset({"refused", "capability", "policy", "mixed", "partial"})
#: Labels that leave a row out (a binary signal's ``unclear`` too): counted, not weighed.
SKIP = "skip"


def signal_spec(signal: str) -> SignalSpec:
    """The :class:`SignalSpec` of ``signal`` (an unknown name is an error listing the known)."""
    if signal not in SIGNALS:
        msg = f"signal must be one of {sorted(SIGNALS)}. Got {signal!r}."
        raise InvalidParameterError(msg)
    return SIGNALS[signal]


def normalise(labels: pl.Series) -> pl.Series:
    """Labels as compared: text, trimmed, without the apostrophe a spreadsheet-safe CSV puts before
    a formula-like cell, lower case, runs of spaces and hyphens as ``_`` ("" when empty)."""
    return (labels.cast(pl.String).fill_null("").str.strip_chars().str.strip_prefix("'")
            .str.strip_chars().str.to_lowercase().str.replace_all(r"[\s-]+", "_"))


def _mapping(signal: str) -> tuple[dict[str, str], set[str]]:
    """(accepted spelling → label, spellings that leave a row out) for ``signal``."""
    spec = signal_spec(signal)
    mapping = {label: label for label in spec.labels}
    left_out = {SKIP}
    if spec.binary:
        positive, negative = spec.labels
        mapping |= dict.fromkeys(POSITIVE, positive) | dict.fromkeys(NEGATIVE, negative)
        if signal == "refusal":
            mapping |= dict.fromkeys(REFUSED, positive)
        left_out.add("unclear")
    return mapping, left_out


def parse_labels(labels: pl.Series, where: str, rows: pl.Series | None = None, *,
                 signal: str = "refusal") -> pl.Series:
    """Reader labels → the signal's label names, or None for a row left out or not read yet.

    Any other value is an error naming ``where``, the row (``rows``: the row numbers to name,
    default 1, 2, …) and the accepted labels.

    >>> parse_labels(pl.Series(["Refusal", "no", "skip", None]), "x").to_list()
    ['refusal', 'none', None, None]
    """
    mapping, left_out = _mapping(signal)
    text = normalise(labels)
    bad = ((text != "") & ~text.is_in([*mapping, *left_out])).arg_true()
    if len(bad):
        i = int(bad[0])
        row = int(rows[i]) if rows is not None else i + 1
        hint = " (a partial refusal's type is its reason: capability, policy or mixed)" \
            if signal == "refusal_type" and text[i] == "partial" else ""
        msg = (f"{where}, row {row}: label {labels[i]!r} is not a {signal} label{hint}: expected one "
               f"of {sorted(set(mapping))}, {sorted(left_out)} to leave the row out, or empty (not "
               f"read yet). {len(bad)} row(s) have such labels.")
        raise InvalidParameterError(msg)
    return text.replace_strict(mapping, default=None, return_dtype=pl.String).alias("truth")


def left_out_labels(signal: str) -> str:
    """The labels that leave a row out, as said to the reader: ``skip / unclear`` for a binary
    signal, ``skip`` for a categorical one (whose ``unclear`` is a label with its own share)."""
    return " / ".join(sorted(_mapping(signal)[1]))


def left_out(labels: pl.Series, signal: str) -> pl.Series:
    """Whether each label leaves its row out (``skip``, a binary signal's ``unclear``)."""
    return normalise(labels).is_in(list(_mapping(signal)[1]))


__all__ = ["KEY", "SIGNALS", "SignalSpec", "left_out", "left_out_labels", "normalise", "parse_labels",
           "signal_spec"]
