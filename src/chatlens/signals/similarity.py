"""Near-duplicate similarity to known jailbreak templates (MinHash over word shingles).

Why: jailbreak templates circulate and are pasted with small edits (a new persona name, a changed
sentence). Cue lexicons catch the tell-tale phrases; this catches the template as a whole. The
reference templates are written by the project itself (``data/signals/patterns/templates_jailbreak.yaml``,
paraphrased archetypes), never copied from an evaluation set.

How, without a Python loop over messages: the similarity is the MinHash estimate of the Jaccard
index of word-3-gram sets (64 permutations; SHA-1 32-bit shingle hashes, the MurmurHash3
finalizer and odd affine maps modulo 2^32 — the ``affine32`` scheme of datasketch 2, so the
numbers are the ones the project validated with datasketch). A permutation can only agree with a
template's if the message contains one of the template's *minimum shingles* for it (the maps are
bijections, so two different shingles can agree only through a 32-bit SHA-1 collision). So one
Aho-Corasick pass over the batch (polars ``extract_many``) counts, per message and template, the
permutations whose minimum shingle the message contains: an upper bound of the agreeing
permutations. Only messages whose bound reaches :data:`THRESHOLD` (pasted templates, a handful in
a real log) get their exact signature; every other message is below the threshold whatever its
exact value, and reports 0.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import polars as pl
import scipy.sparse as sp

from chatlens import datafiles
from chatlens.datafiles.schemas import TemplateSpec as Template

NUM_PERM = 64
SHINGLE = 3
SEED = 1
#: Jaccard estimate from which a message counts as a (lightly edited) copy of a template.
THRESHOLD = 0.3
#: Messages shorter than this are not compared (templates are long).
MIN_CHARS = 200
_WORD = re.compile(r"[a-z0-9']+")
_MAX32 = np.uint32(0xFFFFFFFF)
#: The characters whose Unicode case folding (Python's ``str.casefold``, what the shingles use)
#: yields other ASCII letters than lower-casing (polars ``to_lowercase``) does. Derived from the
#: Unicode tables (``tests/signals/test_similarity.py`` re-derives it over every code point).
_FOLD_ONLY = {
    "\xdf": "ss",
    "\u0149": "\u02bcn",
    "\u017f": "s",
    "\u01f0": "j\u030c",
    "\u1e96": "h\u0331",
    "\u1e97": "t\u0308",
    "\u1e98": "w\u030a",
    "\u1e99": "y\u030a",
    "\u1e9a": "a\u02be",
    "\u1e9e": "ss",
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}


def _shingles(text: str) -> set[bytes]:
    words = _WORD.findall(text.casefold())
    if len(words) < SHINGLE:
        return {" ".join(words).encode()} if words else set()
    return {" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)}


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The 64 affine maps ``a*x + b`` (``a`` odd) of datasketch's ``affine32`` scheme, seed 1."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _permuted(shingles: list[bytes]) -> np.ndarray:
    """(len(shingles), NUM_PERM) permuted hash values (uint32, wrapping arithmetic)."""
    hv = np.fromiter(
        (int.from_bytes(hashlib.sha1(s).digest()[:4], "little") for s in shingles),
        dtype=np.uint32,
        count=len(shingles),
    ).reshape(-1, 1)
    hv = hv ^ (hv >> np.uint32(16))  # MurmurHash3 fmix32: a bijection that mixes the bits
    hv = hv * np.uint32(0x85EBCA6B)
    hv = hv ^ (hv >> np.uint32(13))
    hv = hv * np.uint32(0xC2B2AE35)
    hv = hv ^ (hv >> np.uint32(16))
    a, b = _permutations()
    return hv * a + b


def signature(text: str) -> np.ndarray:
    """The MinHash signature (``NUM_PERM`` uint32 values) of a text's word-3-gram set."""
    sh = sorted(_shingles(text))
    if not sh:
        return np.full(NUM_PERM, _MAX32, dtype=np.uint32)
    return _permuted(sh).min(axis=0)


@datafiles.cached
def load_templates() -> tuple[Template, ...]:
    """The bundled reference templates (validated)."""
    doc = datafiles.load("signals/patterns/templates_jailbreak.yaml")
    return doc.templates


@dataclass(frozen=True)
class _Index:
    """The templates' signatures and, per minimum shingle, the (template, permutation) slots."""

    signatures: np.ndarray  # (templates, NUM_PERM)
    patterns: list[str]  # " w1 w2 w3 " per minimum shingle
    slots: sp.csr_matrix  # (patterns, templates * NUM_PERM) 0/1: the shingle is that slot's minimum


@cache
def _index() -> _Index:
    sigs, rows, cols, vocab = [], [], [], {}
    for t, template in enumerate(load_templates()):
        sh = sorted(_shingles(template.text))
        phv = _permuted(sh)
        low = phv.min(axis=0)
        sigs.append(low)
        for i, k in zip(*np.nonzero(phv == low[None, :]), strict=True):
            rows.append(vocab.setdefault(sh[i].decode(), len(vocab)))
            cols.append(t * NUM_PERM + int(k))
    slots = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, cols)),
        shape=(len(vocab), len(sigs) * NUM_PERM),
    )
    return _Index(np.stack(sigs), [f" {s} " for s in vocab], slots)


def _words(texts: pl.Series) -> pl.Series:
    """Each text as its ``_WORD`` tokens after case folding, space-joined and space-padded."""
    folded = texts.str.replace_many(list(_FOLD_ONLY), list(_FOLD_ONLY.values())).str.to_lowercase()
    return " " + folded.str.replace_all(r"[^a-z0-9']+", " ").str.strip_chars(" ") + " "


def _upper_bounds(texts: pl.Series, index: _Index) -> np.ndarray:
    """(len(texts), templates): permutations whose template minimum shingle each text contains."""
    n_templates = index.signatures.shape[0]
    found = (
        _words(texts)
        .str.extract_many(index.patterns, overlapping=True)
        .to_frame("p")
        .with_row_index("row")
        .explode("p")
        .drop_nulls("p")
        .unique()
        .with_columns(
            pl.col("p").replace_strict(
                index.patterns, range(len(index.patterns)), return_dtype=pl.Int64
            )
        )
    )
    rows, pats = found["row"].to_numpy(), found["p"].to_numpy()
    contains = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.int32), (rows, pats)), shape=(len(texts), len(index.patterns))
    )
    hit = (contains @ index.slots).tocoo()  # nonzero: the text holds that slot's minimum shingle
    return np.bincount(
        hit.row * n_templates + hit.col // NUM_PERM, minlength=len(texts) * n_templates
    ).reshape(len(texts), n_templates)


def template_similarity(texts: pl.Series | list[str | None]) -> tuple[np.ndarray, np.ndarray]:
    """Best template match per text: (MinHash Jaccard estimate, template index or -1).

    Where the estimate reaches :data:`THRESHOLD` it is exact (datasketch's ``affine32`` number);
    every other text, and every text under :data:`MIN_CHARS` characters, gets ``(0.0, -1)``.
    """
    series = pl.Series(texts, dtype=pl.String) if isinstance(texts, list) else texts
    n = len(series)
    best = np.zeros(n, dtype=np.float64)
    which = np.full(n, -1, dtype=np.int64)
    long_rows = np.flatnonzero(series.str.len_chars().fill_null(0).to_numpy() >= MIN_CHARS)
    if not len(long_rows):
        return best, which
    index = _index()
    bound = _upper_bounds(series.gather(long_rows), index).max(axis=1)
    # only a pasted template can reach the threshold; its exact signature is a few µs per shingle
    for i in long_rows[bound / NUM_PERM >= THRESHOLD].tolist():
        sim = (index.signatures == signature(series[i])[None, :]).mean(axis=1)
        j = int(sim.argmax())
        if sim[j] >= THRESHOLD:
            best[i], which[i] = sim[j], j
    return best, which
