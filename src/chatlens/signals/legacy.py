"""The original study's definitions, unchanged (``--profile legacy``).

Why keep known-defective definitions: so that the original numbers can be reproduced and every
improvement can be shown side by side with what it replaces. Everything here follows
``specs/seed-study.md`` §3-§6 exactly: the 10 refusal regexes (5 instrumental, 5 value-based),
lower-cased text searched case-insensitively, no word boundaries, ASCII apostrophes only (a curly
``’`` never matches), label ``mixed`` when both groups fire; the 7 jailbreak regexes; the 16-word
substring profanity count. The patterns live in ``data/signals/patterns/legacy_*.yaml``.

One documented nuance: the scanner's ``\\s`` is ASCII whitespace, Python's ``re`` also matches
Unicode spaces (e.g. U+00A0) — the only way the two can differ.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.signals.cues import CueHits, CueSet, cue_list_column, cue_set
from chatlens.signals.lexicon import lexicons_for

_TYPE_MAP = {"none": "none", "instrumental": "capability", "value_based": "policy", "mixed": "mixed"}


def _legacy_hits(texts: pl.Series, detector: str, backend: str) -> tuple[CueSet, CueHits]:
    cues = cue_set(lexicons_for(detector), True, backend)
    lowered = texts.fill_null("").str.to_lowercase()
    return cues, cues.hits(lowered)


def legacy_refusal_labels(texts: pl.Series, *, backend: str = "auto") -> pl.Series:
    """The original label per message: ``none``, ``instrumental``, ``value_based`` or ``mixed``."""
    cues, hits = _legacy_hits(texts, "legacy-refusal", backend)
    return _labels(cues, hits, len(texts))


def _labels(cues: CueSet, hits: CueHits, n: int) -> pl.Series:
    kinds = np.asarray([c.kind for c in cues.cues], dtype=object)
    inst = np.bincount(hits.message[kinds[hits.cue] == "instrumental"], minlength=n) > 0
    val = np.bincount(hits.message[kinds[hits.cue] == "value_based"], minlength=n) > 0
    label = np.where(inst & val, "mixed", np.where(inst, "instrumental",
                                                   np.where(val, "value_based", "none")))
    return pl.Series("refusal_type_legacy", label.astype(str), dtype=pl.String)


def legacy_refusal(texts: pl.Series, *, backend: str = "auto") -> pl.DataFrame:
    """Legacy refusal columns in the default schema plus ``refusal_type_legacy``.

    ``refusal`` = any pattern matched; ``refusal_type`` maps instrumental→capability,
    value_based→policy, mixed→mixed; ``refusal_partial`` and ``disclaimer`` are always False
    (the original has no such notion); ``refusal_score`` is 1.0 or 0.0.
    """
    n = len(texts)
    cues, hits = _legacy_hits(texts, "legacy-refusal", backend)
    labels = _labels(cues, hits, n)
    refusal = labels != "none"
    return pl.DataFrame(
        {
            "refusal": refusal,
            "refusal_type": labels.replace_strict(_TYPE_MAP, return_dtype=pl.String),
            "refusal_partial": pl.Series([False] * n, dtype=pl.Boolean),
            "refusal_score": refusal.cast(pl.Float64),
        }
    ).with_columns(
        cue_list_column(hits, cues.ids, n, "refusal_cues"),
        pl.Series("disclaimer", [False] * n, dtype=pl.Boolean),
        labels,
    )


def legacy_jailbreak(texts: pl.Series, *, backend: str = "auto") -> pl.DataFrame:
    """The original ``any()`` over 7 jailbreak regexes, in the default jailbreak schema."""
    n = len(texts)
    cues, hits = _legacy_hits(texts, "legacy-jailbreak", backend)
    flagged = np.bincount(hits.message, minlength=n) > 0
    return pl.DataFrame(
        {
            "jailbreak": flagged,
            "jailbreak_score": flagged.astype(np.float64),
            "jailbreak_family": np.where(flagged, "other", "none").astype(str),
        }
    ).with_columns(cue_list_column(hits, cues.ids, n, "jailbreak_cues"))


@datafiles.cached
def legacy_profanity_words() -> tuple[str, ...]:
    """The original 16 profanity strings (``data/signals/patterns/legacy_profanity.yaml``)."""
    return datafiles.load("signals/patterns/legacy_profanity.yaml").words


def legacy_profanity_expr(text: pl.Expr) -> pl.Expr:
    """The original study's count as an expression: Σ over the 16 words of non-overlapping
    substring counts of the lower-cased text (Int32, as the whole-word ``profanity_count``).

    The one definition: the features layer's legacy columns use it too, so both layers
    reproduce the original from one file and one dtype."""
    lowered = text.fill_null("").str.to_lowercase()
    return pl.sum_horizontal(
        [lowered.str.count_matches(w, literal=True) for w in legacy_profanity_words()]
    ).cast(pl.Int32)


def legacy_profanity_count(texts: pl.Series) -> pl.Series:
    """Σ over the 16 words of ``lower_text.count(word)``: raw substring counts, as the original,
    defects included (Int32, named ``profanity_count_legacy``).

    Examples
    --------
    >>> import polars as pl
    >>> legacy_profanity_count(pl.Series(["Hello, can you help with my class assignment?"])).item()
    3
    """
    frame = pl.DataFrame({"t": texts.cast(pl.String)})
    return frame.select(legacy_profanity_expr(pl.col("t")).alias("profanity_count_legacy")).to_series()
