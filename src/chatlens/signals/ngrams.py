"""Hashed character and word n-grams of many texts at once, in numpy (no per-text Python).

Why not scikit-learn's ``HashingVectorizer(analyzer="char_wb")``: it runs a Python analyzer per
text, which made character n-grams about two thirds of the context refusal model's cost. Here the
texts are joined into one array of code points, every n-gram of every text is hashed in a few
vectorised passes (a polynomial hash, then a multiplicative mix), and the CSR matrix is built
directly from the row counts, so nothing is sorted. Word tokens are found the same way, as runs
of word characters in the code point array (:func:`word_ngrams`), not as one string per token.

The features are deterministic and independent of library versions (the hash is ours), so stored
model weights stay valid across numpy/scikit-learn upgrades. Each row is scaled by
``1/sqrt(number of n-grams)``, the L2 norm the row would have if no n-gram repeated; repeated
n-grams stay as duplicate CSR entries, which every sparse product sums.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing constant
_BASE = np.uint64(1000003)


def code_points(texts: pl.Series) -> np.ndarray:
    """The code points of all (non-null) texts, concatenated, as ``uint64``.

    Why not ``"".join(texts.to_list())``: that builds one Python string per text (millions of
    words); here the Arrow UTF-8 buffer is decoded once, so the cost does not depend on the
    number of texts.
    """
    arr = texts.cast(pl.String).fill_null("").rechunk().to_arrow().cast(pa.large_string())
    if len(arr) == 0:
        return np.zeros(0, dtype=np.uint64)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[
        arr.offset : arr.offset + len(arr) + 1
    ]
    data = arr.buffers()[2]
    raw = b"" if data is None else data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]
    return np.frombuffer(raw.decode("utf-8").encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)


def char_ngrams(texts: pl.Series, n_features: int, sizes: tuple[int, ...] = (3, 4, 5)) -> Any:
    """CSR matrix (rows = texts) of hashed character n-grams; whitespace runs count as one space.

    Examples
    --------
    >>> import polars as pl
    >>> x = char_ngrams(pl.Series(["abcde", "", None]), 64)
    >>> x.shape, int(x[0].getnnz()), int(x[1].getnnz()), round(float(x[0].sum()) ** 2, 6)
    ((3, 64), 6, 0, 6.0)
    """
    from scipy import sparse

    s = texts.cast(pl.String).fill_null("").str.replace_all(r"\s+", " ")
    lens = s.str.len_chars().to_numpy().astype(np.int64)
    n, top = len(s), max(sizes)
    # the texts' code points, each text followed by a 0 separator, then padding for the last
    flat = code_points(s)
    cp = np.zeros(len(flat) + n + top, dtype=np.uint64)
    cp[np.arange(len(flat)) + np.repeat(np.arange(n), lens)] = flat
    starts = int(lens.sum()) + n  # every character and separator starts an n-gram candidate
    if n == 0:
        return sparse.csr_matrix((n, n_features))
    sep = cp == 0
    h = np.zeros(starts, dtype=np.uint64)
    crosses = np.zeros(starts, dtype=bool)
    # one row per start position, one column per size (ascending): the CSR order of before,
    # written in place instead of stacking 64-bit columns
    n_sizes = len(set(sizes))
    col = np.empty((starts, n_sizes), dtype=np.int32)
    ok = np.empty((starts, n_sizes), dtype=bool)
    k = 0
    for j in range(top):
        h *= _BASE
        h += cp[j : j + starts]
        crosses |= sep[j : j + starts]
        if j + 1 in sizes:
            col[:, k] = _bucket(((h + np.uint64(j)) * _MIX) >> np.uint64(40), n_features)
            np.logical_not(crosses, out=ok[:, k])
            k += 1
    # n-grams per text: the valid ones of its start positions (its characters and separator);
    # without a NUL inside a text, the len - size + 1 windows of each size (no per-start sum)
    if flat.all():
        counts = sum(np.maximum(lens - size + 1, 0) for size in sorted(set(sizes)))
    else:
        counts = np.add.reduceat(ok.sum(axis=1), np.concatenate([[0], np.cumsum(lens + 1)[:-1]]))
    indptr = np.concatenate([[0], np.cumsum(counts)])
    data = np.repeat(1.0 / np.sqrt(np.maximum(counts, 1)), counts)
    return sparse.csr_matrix((data, col[ok], indptr), shape=(n, n_features))


def _mix(h: np.ndarray, n_features: int) -> np.ndarray:
    return _bucket((h * _MIX) >> np.uint64(40), n_features).astype(np.int32)


def _bucket(h: np.ndarray, n_features: int) -> np.ndarray:
    """``h % n_features``; a mask when ``n_features`` is a power of two (every model's is:
    the same buckets without a 64-bit division per n-gram)."""
    if n_features & (n_features - 1) == 0:
        return h & np.uint64(n_features - 1)
    return h % np.uint64(n_features)


#: The token patterns :func:`word_ngrams` finds without a regex per token: for each, how a
#: maximal run of word characters (and apostrophes, if ``apostrophes``) yields its token.
#: ``apostrophes``: part of a run; ``trail``: a run's trailing apostrophes belong to its token;
#: ``min_len``: shortest token.
_FAST_TOKENS: dict[str, tuple[bool, bool, int]] = {
    r"\w[\w']*": (True, True, 1),  # from the first word character to the run's end
    r"\w(?:[\w']*\w)?": (True, False, 1),  # first to last word character of the run
    r"\w\w+": (False, False, 2),  # runs of 2+ word characters (apostrophes separate)
}
_APOSTROPHE = np.uint64(ord("'"))
#: Texts are hashed in chunks of about this many code points (bounds the power tables).
_CHUNK_CHARS = 1 << 18


@cache
def _inverse_base() -> np.uint64:
    return np.uint64(pow(int(_BASE), -1, 1 << 64))


_POWERS: dict[str, np.ndarray] = {}


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``BASE**k`` and ``BASE**-k`` (mod 2**64) for ``k < n``, grown on demand and kept."""
    have = _POWERS.get("base")
    if have is None or len(have) < n:
        size = max(n, _CHUNK_CHARS)
        with np.errstate(over="ignore"):
            _POWERS["base"] = np.concatenate(
                [[np.uint64(1)], np.cumprod(np.full(size - 1, _BASE, dtype=np.uint64))]
            )
            _POWERS["inv"] = np.concatenate(
                [[np.uint64(1)], np.cumprod(np.full(size - 1, _inverse_base(), dtype=np.uint64))]
            )
    return _POWERS["base"][:n], _POWERS["inv"][:n]


@cache
def _run_chars(apostrophes: bool) -> np.ndarray:  # noqa: FBT001
    """Which code points a token run is made of (``[\\w']`` or ``\\w``), as decided by the
    regex engine the patterns run on (polars'): every code point, in one string, has each
    character of the class replaced by NUL (NUL itself is in neither class)."""
    every = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
    text = pl.Series([every.tobytes().decode("utf-32-le")])
    marked = text.str.replace_all(r"[\w']" if apostrophes else r"\w", "\x00")
    table = np.zeros(0x110000, dtype=bool)
    table[every] = code_points(marked) == 0
    table[0] = False
    return table


def _token_hashes(texts: pl.Series, pattern: str) -> tuple[np.ndarray, np.ndarray]:
    """Per text, the number of ``pattern`` tokens of its lower-cased text, and every token's
    hash (the polynomial hash of :func:`_word_hashes`), in text order.

    Why not ``extract_all`` then a hash per word: materialising every token as a string (tens
    of millions per batch) cost more than the hashing. Here each code point is looked up in
    :func:`_run_chars`, the token spans follow from the runs (:func:`_spans`), and the hash of a
    span is read off one prefix sum: with ``C[i] = sum(cp[j] * BASE**-j, j < i)``, the hash of
    ``cp[a:b]`` is ``BASE**(b-1) * (C[b] - C[a]) + 1`` (mod 2**64; ``BASE`` is odd, so it is
    invertible).
    """
    apostrophes, trail, min_len = _FAST_TOKENS[pattern]
    table = _run_chars(apostrophes)
    # every text ends in a character no run holds, so no run crosses texts
    marked = texts.to_frame("t").select(pl.col("t").fill_null("").str.to_lowercase() + "\x00")["t"]
    lens = marked.str.len_chars().to_numpy().astype(np.int64)
    ends = np.cumsum(lens)
    counts = np.zeros(len(lens), dtype=np.int64)
    hashes = []
    start = 0
    while start < len(lens):
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + _CHUNK_CHARS, side="right")), start + 1)
        cp = code_points(marked.slice(start, stop - start))
        a, b = _spans(cp, table[cp], apostrophes=apostrophes, trail=trail, min_len=min_len)
        pw, inv = _powers(len(cp) + 1)
        with np.errstate(over="ignore"):
            c = np.zeros(len(cp) + 1, dtype=np.uint64)
            np.cumsum(cp * inv[: len(cp)], out=c[1:])
            hashes.append(pw[b - 1] * (c[b] - c[a]) + np.uint64(1))
        counts[start:stop] = np.bincount(
            np.searchsorted(ends[start:stop] - base, a, side="right"), minlength=stop - start
        )
        start = stop
    return counts, (np.concatenate(hashes) if hashes else np.zeros(0, dtype=np.uint64))


def _spans(
    cp: np.ndarray, in_run: np.ndarray, *, apostrophes: bool, trail: bool, min_len: int
) -> tuple[np.ndarray, np.ndarray]:
    """Token spans ``[a, b)`` in code points ``cp``: maximal runs of ``in_run`` (each followed
    by a position outside any run), cut as :data:`_FAST_TOKENS` says."""
    edge = np.flatnonzero(np.diff(in_run.view(np.int8), prepend=np.int8(0)))
    a, b = edge[0::2], edge[1::2]
    if apostrophes:  # a token starts at its run's first word character ...
        a = _skip(cp, a, 1)
        keep = a < b  # (runs of apostrophes alone hold no token)
        a, b = a[keep], b[keep]
        if not trail:  # ... and, unless it keeps them, ends at the last one
            b = _skip(cp, b - 1, -1) + 1
    if min_len > 1:
        keep = b - a >= min_len
        a, b = a[keep], b[keep]
    return a, b


def _skip(cp: np.ndarray, at: np.ndarray, step: int) -> np.ndarray:
    """``at`` moved by ``step`` past apostrophes: to the first word character, or to the
    position after the run (forward over a run of apostrophes alone). Apostrophe runs are rare: one
    vectorised step per apostrophe of the longest run."""
    at = at.copy()
    todo = np.flatnonzero(cp[at] == _APOSTROPHE)
    while len(todo):
        at[todo] += step
        todo = todo[cp[at[todo]] == _APOSTROPHE]
    return at


def _word_hashes(words: pl.Series) -> np.ndarray:
    """A polynomial hash of each word's code points (uint64, wrapping), in one pass."""
    lens = words.str.len_chars().to_numpy().astype(np.int64)
    if len(lens) == 0:
        return np.zeros(0, dtype=np.uint64)
    cp = code_points(words)
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    rev = np.repeat(starts + lens - 1, lens) - np.arange(len(cp))  # position from the word's end
    powers = np.concatenate(
        [np.ones(1, dtype=np.uint64), np.cumprod(np.full(int(lens.max()), _BASE, dtype=np.uint64))]
    )
    return np.add.reduceat(cp * powers[rev], starts) + np.uint64(1)


def word_ngrams(
    texts: pl.Series, n_features: int, *, pattern: str = r"\w[\w']*", bigrams: bool = True
) -> Any:
    """CSR matrix of hashed lower-cased word unigrams (and bigrams within a text), scaled like
    :func:`char_ngrams`; ``pattern`` is the token regex.

    Examples
    --------
    >>> import polars as pl
    >>> x = word_ngrams(pl.Series(["I can't help", "", "Help"]), 64)
    >>> [int(x[i].getnnz()) for i in range(3)]
    [5, 0, 1]
    """
    from scipy import sparse

    if pattern in _FAST_TOKENS:
        counts, h = _token_hashes(texts.cast(pl.String), pattern)
    else:
        toks = texts.cast(pl.String).fill_null("").str.to_lowercase().str.extract_all(pattern)
        counts = toks.list.len().fill_null(0).to_numpy().astype(np.int64)
        h = _word_hashes(toks.explode().drop_nulls())
    n = len(counts)
    row = np.repeat(np.arange(n), counts)
    first = np.cumsum(counts) - counts  # each text's first token
    # per text: its unigrams in order, then its bigrams in order (placed, not sorted)
    n_bi = np.maximum(counts - 1, 0) if bigrams and len(h) > 1 else np.zeros(n, dtype=np.int64)
    per_row = counts + n_bi
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    col = np.empty(int(indptr[-1]), dtype=np.int32)
    col[np.arange(len(h)) + np.repeat(indptr[:-1] - first, counts)] = _mix(h, n_features)
    if n_bi.any():
        at = np.flatnonzero(row[1:] == row[:-1])  # token i and i + 1 are in the same text
        col[at + (indptr[:-1] + counts - first)[row[at]]] = _mix(
            h[at] * _BASE * _BASE + h[at + 1] + np.uint64(7), n_features
        )
    data = np.repeat(1.0 / np.sqrt(np.maximum(per_row, 1)), per_row)
    return sparse.csr_matrix((data, col, indptr), shape=(n, n_features))
