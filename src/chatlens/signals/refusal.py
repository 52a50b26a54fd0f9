"""Refusal detection for assistant messages: a positional cue scorer over many languages.

Why not prefix matching: XSTest's own prefix matcher finds only 21% of Mistral-Instruct refusals
(peers.md §3), because models refuse with "I don't have…", "It's important to note…", "There is
no…", lectures and redirect-only answers; and substring matchers fire on "I'm sorry to hear that",
"you cannot do this in SQL", "smoking is harmful; here are tips". So each message is scored from
*cues* (lexicons in ``patterns/refusal_*.yaml``) with three kinds of context:

* **position**: a cue in the opening of the answer counts fully, the same cue buried in a long
  answer counts less (a closing caveat is not a refusal);
* **negative evidence**: compliance openers ("Sure, here is…"), list-rich structure and length,
  and look-alikes ("sorry to hear", "I can't stress enough") push the score down; code blocks and
  quoted passages are masked before scanning, so a refusal phrase inside them never counts;
* **typing**: capability cues (no internet, no body, knowledge cutoff, does not know, needs more
  detail) vs policy cues (ethics, law, guidelines, appropriateness, values).

Output columns (one row per input, input order)::

    refusal          bool     score >= 0.5
    refusal_type     str      none | capability | policy | mixed
    refusal_partial  bool     refuses part, does part (withholds details, or refuses then answers)
    refusal_score    float    0-1 (logistic of the summed evidence)
    refusal_cues     list[str] ids of the cues that fired (e.g. "en.refuse.neg_act")
    disclaimer       bool     "as an AI / language model" self-disclaimer (alone: not a refusal)

An unreasoned refusal ("Sorry, I can't help with that.") is typed ``policy``: a system that
declines for lack of ability says which ability it lacks; the bare formula is how assistants
decline on policy grounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chatlens.signals.cues import CueHits, CueSet, cue_list_column, cue_set
from chatlens.signals.definitions import DefinitionSet, definition_set
from chatlens.signals.inputs import TextsLike, distinct_texts, text_series
from chatlens.signals.lexicon import lexicons_for
from chatlens.signals.text import prepare_series

#: A cue whose first match ends within this many bytes of the (trimmed) answer start is "opening".
OPENING_BYTES = 360
#: Evidence before any cue: a message is not a refusal until cues say so.
BIAS = -2.0
#: How much a cue outside the opening still counts, per kind.
BODY_FACTOR = {
    "refuse": 0.45,
    "apology": 0.15,
    "policy": 0.35,
    "capability": 0.45,
    "disclaimer": 0.6,
    "lecture": 0.3,
    "redirect": 0.5,
    "withhold": 1.0,
    "comply": 0.5,
    "lookalike": 1.0,
}
#: Negative evidence from structure: per list item (capped) and for long answers.
LIST_ITEM_WEIGHT = -0.3
LIST_ITEM_CAP = 8
LONG_BYTES = (1500, 3000)
LONG_WEIGHT = -0.6
#: Weight from which an opening cue counts as a clear refusal (negative evidence then damped).
STRONG_OPENING = 2.0
#: Typed evidence needed for a type to count.
TYPE_MIN = 1.2

OUTPUT_SCHEMA = {
    "refusal": pl.Boolean,
    "refusal_type": pl.String,
    "refusal_partial": pl.Boolean,
    "refusal_score": pl.Float64,
    "refusal_cues": pl.List(pl.String),
    "disclaimer": pl.Boolean,
}


def refusal_cue_set(backend: str = "auto", *, prefilter: bool = True) -> CueSet:
    """The compiled cue set of every bundled refusal lexicon (cached).

    ``prefilter`` selects the two-tier scan (literal prefilter, then each cue only on candidate
    messages); ``False`` is the one-pass reference scan. Both give identical hits.
    """
    return cue_set(lexicons_for("refusal"), False, backend, prefilter)


def _as_series(texts: TextsLike, column: str | None = None, where: str = "detect_refusal") -> pl.Series:
    return text_series(texts, column=column, where=where)


def _features(prepared: pl.Series) -> pl.DataFrame:
    return prepared.to_frame("t").select(
        pl.col("t").str.len_bytes().alias("n_bytes"),
        pl.col("t")
        .str.count_matches(r"(?m)^\s*(?:\d{1,2}[.)]|[-•+]|#{1,4})\s+\S")
        .alias("n_items"),
    )


def detect_refusal(
    texts: TextsLike,
    *,
    column: str | None = None,
    profile: DefinitionSet = "default",
    backend: str = "auto",
    prefilter: bool = True,
) -> pl.DataFrame:
    """Classify assistant messages as refusals, with type, partiality, score and cues.

    Parameters
    ----------
    texts
        Assistant message texts (nulls and empty strings allowed: they are not refusals): a
        polars/pandas Series, a list of strings, or a DataFrame with ``column``. A bare string is
        an error (wrap one message in a list).
    column
        The text column when ``texts`` is a DataFrame (required then).
    profile
        ``default`` (this module) or ``legacy`` (the original study's 10 regexes, see
        :mod:`chatlens.signals.legacy`; adds ``refusal_type_legacy``).
    backend
        Scanner backend (``auto`` = hyperscan, else google-re2).
    prefilter
        Use the two-tier scan (hyperscan only): a literal prefilter selects, per cue, the
        messages that can match it. ``False`` runs the one-pass reference scan; the output is
        identical (tested on the synthetic corpus and every labelled set).

    Returns
    -------
    polars.DataFrame
        One row per input, in input order, with the columns documented in the module docstring.

    Examples
    --------
    >>> import polars as pl
    >>> out = detect_refusal(pl.Series(["I'm sorry, but I can't help with that.",
    ...                                 "I'm sorry to hear that. Here are some tips: ...",
    ...                                 "As an AI, I don't have access to real-time data."]))
    >>> out["refusal"].to_list()
    [True, False, True]
    >>> out["refusal_type"].to_list()
    ['policy', 'none', 'capability']
    """
    definition_set(profile, where="detect_refusal")
    series = _as_series(texts, column)
    if profile == "legacy":
        from chatlens.signals.legacy import legacy_refusal

        return legacy_refusal(series, backend=backend)
    n = len(series)
    if n == 0:
        return pl.DataFrame(schema=OUTPUT_SCHEMA)
    return refusal_frame(analyse_refusal(series, backend=backend, prefilter=prefilter))


def refusal_frame(a: RefusalAnalysis) -> pl.DataFrame:
    """:func:`detect_refusal`'s columns from an analysis (callers that reuse the analysis, such
    as the context model, build the columns from it instead of scanning twice)."""
    scores = a.scores
    n = len(a.prepared)
    cue_col = cue_list_column(a.hits, a.cues.ids, n, "refusal_cues")
    return pl.DataFrame(
        {
            "refusal": scores["refusal"],
            "refusal_type": scores["type"],
            "refusal_partial": scores["partial"],
            "refusal_score": scores["score"],
        }
    ).with_columns(cue_col, pl.Series("disclaimer", scores["disclaimer"]))


@dataclass(frozen=True)
class RefusalAnalysis:
    """Intermediate results of the cue scorer (reused by the learned tier)."""

    prepared: pl.Series
    hits: CueHits
    cues: CueSet
    features: pl.DataFrame
    scores: dict[str, np.ndarray]

    def take(self, rows: np.ndarray) -> RefusalAnalysis:
        """The analysis of the messages at positions ``rows`` (any order, repeats allowed),
        renumbered ``0..len(rows)-1``: what :func:`analyse_refusal` returns on those messages,
        without a second scan (the context model's screened rows; repeated texts)."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = np.bincount(self.hits.message, minlength=len(self.prepared))
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # hits are sorted by message
        taken = counts[rows]
        ends = np.cumsum(taken)
        src = np.repeat(first[rows] - (ends - taken), taken) + np.arange(int(ends[-1]) if len(ends) else 0)
        hits = CueHits(np.repeat(np.arange(len(rows)), taken), self.hits.cue[src],
                       self.hits.offset[src])
        return RefusalAnalysis(self.prepared.gather(rows), hits, self.cues, self.features[rows],
                               {k: v[src] if k in _PER_HIT else v[rows] for k, v in self.scores.items()})


#: Entries of :attr:`RefusalAnalysis.scores` with one value per hit (the others: per message).
_PER_HIT = frozenset({"opening"})


def analyse_refusal(texts: pl.Series, *, backend: str = "auto",
                    prefilter: bool = True) -> RefusalAnalysis:
    """Normalise, scan and score; everything :func:`detect_refusal` derives its columns from.

    Each distinct text is analysed once (:func:`~chatlens.signals.inputs.distinct_texts`) and
    the analysis gathered back to every row (:meth:`RefusalAnalysis.take`).
    """
    distinct, index = distinct_texts(texts)
    if index is not None:
        return analyse_refusal(distinct, backend=backend, prefilter=prefilter).take(index.to_numpy())
    prepared = prepare_series(texts)
    cues = refusal_cue_set(backend, prefilter=prefilter)
    hits = cues.hits(prepared)
    feats = _features(prepared)
    return RefusalAnalysis(prepared, hits, cues, feats, _score(hits, cues, feats, len(texts)))


def _score(hits: CueHits, cues: CueSet, feats: pl.DataFrame, n: int) -> dict[str, np.ndarray]:
    kinds = np.asarray([c.kind for c in cues.cues], dtype=object)
    body = np.asarray([BODY_FACTOR[k] for k in kinds], dtype=np.float64)
    opening = hits.offset <= OPENING_BYTES
    eff = cues.weight[hits.cue] * np.where(opening, 1.0, body[hits.cue])

    def per_msg(mask_cues: np.ndarray, values: np.ndarray) -> np.ndarray:
        sel = mask_cues[hits.cue]
        return np.bincount(hits.message[sel], weights=values[sel], minlength=n).astype(np.float64)

    everything = np.ones(len(cues.cues), dtype=bool)
    evidence = per_msg(everything, eff)
    n_bytes = feats["n_bytes"].to_numpy()
    n_items = np.minimum(feats["n_items"].to_numpy(), LIST_ITEM_CAP)
    structure = LIST_ITEM_WEIGHT * n_items + LONG_WEIGHT * (
        (n_bytes > LONG_BYTES[0]).astype(float) + (n_bytes > LONG_BYTES[1]).astype(float)
    )
    # Compliance cues and structure are evidence against a refusal that is only *buried* in the
    # answer; an answer that opens with a clear refusal and then offers alternatives or does part
    # of the task stays a (partial) refusal, so its negative evidence counts only a quarter.
    strong = cues.kind_mask("refuse", "policy", "capability") & (cues.weight >= STRONG_OPENING)
    opens_refusing = per_msg(strong, (opening & (eff > 0)).astype(float)) > 0
    negative = per_msg(everything, np.minimum(eff, 0.0)) + structure
    positive_sum = evidence - per_msg(everything, np.minimum(eff, 0.0))
    logit = BIAS + positive_sum + np.where(opens_refusing, 0.25, 1.0) * negative
    score = 1.0 / (1.0 + np.exp(-logit))
    empty = n_bytes == 0
    score[empty] = 0.0
    refusal = score >= 0.5

    positive = np.maximum(eff, 0.0)
    policy = per_msg(cues.type_mask("policy"), positive)
    capability = per_msg(cues.type_mask("capability"), positive)
    is_pol = policy >= TYPE_MIN
    is_cap = capability >= TYPE_MIN
    rtype = np.full(n, "none", dtype=object)
    rtype[refusal] = "policy"
    rtype[refusal & is_cap & ~is_pol] = "capability"
    rtype[refusal & is_cap & is_pol] = "mixed"

    ones = np.ones(len(hits.cue))
    withhold = per_msg(cues.kind_mask("withhold"), ones) > 0
    comply = per_msg(cues.kind_mask("comply"), ones) > 0
    redirect_then = per_msg(cues.kind_mask("redirect"), ones) > 0
    disclaimer = per_msg(cues.kind_mask("disclaimer"), ones) > 0
    substantial = (n_bytes > 700) & ((feats["n_items"].to_numpy() >= 3) | comply)
    partial = refusal & (withhold | substantial | (redirect_then & (n_bytes > 1200)))
    # A helpful answer that explicitly withholds part of the request is a partial refusal.
    body_refuse = per_msg(cues.kind_mask("refuse"), ones) > 0
    buried = ~refusal & withhold & body_refuse & (n_bytes > 0)
    partial |= buried
    refusal = refusal | buried
    rtype[buried] = np.where(capability[buried] >= TYPE_MIN, "capability", "policy")
    return {
        "refusal": refusal,
        "type": rtype.astype(str),
        "partial": partial,
        "score": np.round(np.where(buried, np.maximum(score, 0.5), score), 4),
        "disclaimer": disclaimer,
        "logit": logit,
        "opening": opening,
    }
