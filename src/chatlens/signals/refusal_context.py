"""Features of an assistant message *in context* (the request it answers), for the learned tier.

Why: on real logs the response-only cue scorer misses most refusals that are not phrased as a
decline — a clarification question standing in for the task, "I don't know", "I'm not sure what
you mean" (labels.md, rule 2) — and flags in-character or cautionary lines of answers that do the
task. Whether a reply does the task depends on what was asked, so these features add the request:
how much of it the reply takes up, whether it is a question to the assistant itself, whether the
reply is mostly a question back.

Feature blocks (all deterministic and stateless — hashing, no stored vocabulary):

* the rule tier's evidence: per cue (position-weighted), per cue kind split into opening/body, its
  logit, refusal/partial/disclaimer flags (:func:`chatlens.signals.refusal.analyse_refusal`);
* structure: length bands, list items, code fences, question marks and their share of sentences
  in the opening, a final question mark;
* context: word overlap (Jaccard) of reply and request, request length, an empty request, a
  request addressed to "you";
* stand-in phrases (``data/signals/refusal_context_cues.yaml``) in the opening;
* hashed word 1–2-grams of the normalised opening (300 chars), hashed character 3–5-grams of the
  opening (250 chars, any script) and hashed words of the request (400 chars), all hashed in numpy
  (:mod:`chatlens.signals.ngrams`: deterministic, no per-text Python).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.signals.blocks import BlockMatrix
from chatlens.signals.ngrams import char_ngrams, word_ngrams
from chatlens.signals.refusal import BODY_FACTOR, OPENING_BYTES, RefusalAnalysis, analyse_refusal

CUES_RESOURCE = "signals/refusal_context_cues.yaml"
#: Bump when any feature changes: weights record it and refuse to load under another version.
FEATURE_VERSION = 2
N_WORDS, N_CHARS, N_REQUEST = 2**13, 2**13, 2**10
OPENING_CHARS, CHAR_CHARS, REQUEST_CHARS, CUE_CHARS = 300, 250, 400, 400


@cache
def context_patterns() -> tuple[str, ...]:
    """The stand-in phrase regexes (``data/signals/refusal_context_cues.yaml``)."""
    return tuple(datafiles.load(CUES_RESOURCE, kind="regex-list").patterns)


def _opening(texts: pl.Series) -> pl.Series:
    """The lower-cased opening the stand-in phrases are matched in."""
    return texts.str.slice(0, CUE_CHARS).str.to_lowercase().str.replace_all("’", "'", literal=True)


@cache
def _any_stand_in() -> str:
    return "|".join(f"(?:{p})" for p in context_patterns())


def stand_in_hits(texts: pl.Series) -> np.ndarray:
    """Whether a stand-in phrase occurs in each text's opening (the model's screen uses it)."""
    return _opening(texts.cast(pl.String).fill_null("")).str.contains(_any_stand_in()).to_numpy()


def _word_sets(texts: pl.Series) -> pl.Series:
    return texts.str.to_lowercase().str.extract_all(r"\w+").list.unique()


def _overlap(responses: pl.Series, requests: pl.Series) -> np.ndarray:
    frame = pl.DataFrame({"a": _word_sets(responses.str.slice(0, 600)),
                          "b": _word_sets(requests.str.slice(0, 600))})
    counts = frame.select(
        i=pl.col("a").list.set_intersection("b").list.len(),
        u=pl.col("a").list.len() + pl.col("b").list.len(),
    )
    inter = counts["i"].to_numpy().astype(float)
    union = counts["u"].to_numpy().astype(float) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def context_features(responses: pl.Series, requests: pl.Series | None = None, *,
                     analysis: RefusalAnalysis | None = None,
                     stacked: bool = True) -> tuple[Any, list[str]]:
    """Sparse feature matrix (rows = messages) and the cue-id order of its per-cue block
    (``stacked=False``: a :class:`BlockMatrix`, enough for scoring).

    ``requests`` is the user message each response answers (null where unknown: a first message
    of a ShareGPT chunk, a bare response file); the context block then says "no request".
    ``analysis`` is the cue scorer's analysis of exactly these responses when the caller already
    has it (:meth:`~chatlens.signals.refusal.RefusalAnalysis.take`), so they are not scanned twice.
    """
    from scipy import sparse

    resp = responses.cast(pl.String).fill_null("")
    req = (pl.Series([None] * len(resp), dtype=pl.String) if requests is None
           else requests.cast(pl.String)).fill_null("")
    n = len(resp)
    a = analyse_refusal(resp) if analysis is None else analysis
    kinds = np.asarray([c.kind for c in a.cues.cues], dtype=object)
    body = np.asarray([BODY_FACTOR[k] for k in kinds], dtype=np.float64)
    hits = a.hits
    opening = hits.offset <= OPENING_BYTES
    eff = np.abs(a.cues.weight[hits.cue] * np.where(opening, 1.0, body[hits.cue]))
    per_cue = sparse.csr_matrix((eff, (hits.message, hits.cue)), shape=(n, len(kinds)))
    per_kind = []
    for kind in sorted(set(kinds)):
        of_kind = kinds[hits.cue] == kind
        for where in (opening, ~opening):
            sel = of_kind & where
            per_kind.append(np.bincount(hits.message[sel], weights=eff[sel], minlength=n))
    head = resp.str.slice(0, CUE_CHARS)
    n_chars = resp.str.len_chars().to_numpy().astype(float)
    marks = head.str.count_matches(r"[?？]").to_numpy().astype(float)
    sentences = head.str.count_matches(r"[.!?。！？](?:\s|$)").to_numpy() + 1.0
    dense = np.column_stack([
        np.clip(a.scores["logit"], -10, 10) / 5.0,
        a.scores["refusal"].astype(float), a.scores["disclaimer"].astype(float),
        a.scores["partial"].astype(float),
        np.log1p(n_chars) / 8.0, n_chars < 150, n_chars < 400, n_chars > 1500,
        np.minimum(a.features["n_items"].to_numpy(), 10) / 10.0,
        resp.str.contains("```", literal=True).to_numpy(),
        np.minimum(marks, 4) / 4.0, marks / sentences,
        resp.str.strip_chars().str.ends_with("?").to_numpy(),
        _overlap(resp, req),
        np.log1p(req.str.len_chars().to_numpy()) / 8.0,
        req.str.len_chars().to_numpy() == 0,
        req.str.contains(r"(?i)\b(?:you|your|yourself)\b").to_numpy(),
        np.column_stack(per_kind) / 3.0,
    ]).astype(np.float64)
    lowered = _opening(resp)
    stand_in = np.column_stack(
        [lowered.str.count_matches(p).to_numpy() for p in context_patterns()]).astype(np.float64)
    blocks = [
        per_cue, sparse.csr_matrix(dense), sparse.csr_matrix(np.minimum(stand_in, 2) / 2.0),
        word_ngrams(a.prepared.str.slice(0, OPENING_CHARS), N_WORDS),
        char_ngrams(resp.str.slice(0, CHAR_CHARS).str.to_lowercase(), N_CHARS),
        word_ngrams(req.str.slice(0, REQUEST_CHARS), N_REQUEST, pattern=r"\w\w+", bigrams=False),
    ]
    matrix = sparse.hstack(blocks).tocsr() if stacked else BlockMatrix(blocks)
    return matrix, list(a.cues.ids)
