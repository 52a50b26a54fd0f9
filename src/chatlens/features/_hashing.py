"""scikit-learn's ``HashingVectorizer`` word n-gram features, bit for bit, without importing it.

Why: the reaction model was trained on ``HashingVectorizer(ngram_range=(1, 2), binary=True,
norm="l2", alternate_sign=False)`` features, and importing scikit-learn costs about 1.3 s in
every process that scores reactions (each ``analyze`` worker), more than the model's work on a
batch. Re-hashing differently would change the model's features and its validated numbers; this
module reproduces the same matrix instead (tested against scikit-learn on hostile text):

* the analyzer: ``str.lower``, the token regex's ``findall`` (Python :mod:`re`, as scikit-learn
  does, so word boundaries are Python's), unigrams then space-joined bigrams;
* MurmurHash3 (x86, 32-bit, seed 0) of each n-gram's UTF-8 bytes, vectorised in numpy over all
  n-grams of the batch (one pass per 4-byte block position, not per n-gram);
* the column ``abs(h) % n_features`` (scikit-learn's special case for ``h == -2**31``), summed
  duplicates set to 1, rows scaled to unit Euclidean length.

Only the texts' short openings go through the per-text Python (tokenising), as before.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import numpy as np

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_INT32_MIN = -(2**31)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _scramble(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def murmurhash3_32(keys: list[bytes]) -> np.ndarray:
    """Signed 32-bit MurmurHash3 (x86, seed 0) of each byte string, as
    ``sklearn.utils.murmurhash3_32(key, seed=0)`` returns it.

    Examples
    --------
    >>> murmurhash3_32([b"", b"foo", b"hello world"]).tolist()
    [0, -156908512, 1586663183]
    """
    n = len(keys)
    lens = np.fromiter(map(len, keys), dtype=np.int64, count=n)
    data = np.frombuffer(b"".join(keys) + b"\0\0\0\0", dtype=np.uint8).astype(np.uint32)
    starts = np.cumsum(lens) - lens
    blocks = lens // 4
    h = np.zeros(n, dtype=np.uint32)
    for j in range(int(blocks.max(initial=0))):
        rows = np.flatnonzero(blocks > j)
        at = starts[rows] + 4 * j
        k = data[at] | (data[at + 1] << np.uint32(8)) | (data[at + 2] << np.uint32(16)) | (
            data[at + 3] << np.uint32(24))
        mixed = _rotl(h[rows] ^ _scramble(k), 13)
        h[rows] = mixed * np.uint32(5) + np.uint32(0xE6546B64)
    rest = lens & 3
    tail_at = starts + 4 * blocks
    k = np.zeros(n, dtype=np.uint32)
    for t in (2, 1, 0):  # the reference's switch falls through from the last tail byte
        has = rest > t
        k[has] ^= data[tail_at[has] + t] << np.uint32(8 * t)
    has = rest > 0
    h[has] ^= _scramble(k[has])
    h ^= lens.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


@cache
def _tokenizer(token_pattern: str) -> Any:
    return re.compile(token_pattern).findall


def hashed_word_ngrams(texts: list[str], n_features: int, token_pattern: str) -> Any:
    """``HashingVectorizer(n_features=n_features, token_pattern=token_pattern,
    ngram_range=(1, 2), binary=True, norm="l2", alternate_sign=False).transform(texts)``.

    Examples
    --------
    >>> x = hashed_word_ngrams(["No, I won't!", ""], 16, r"(?u)\\b\\w[\\w']*\\b|[?!]")
    >>> x.shape, int(x[0].getnnz()) <= 7, int(x[1].getnnz())
    ((2, 16), True, 0)
    """
    from scipy import sparse

    findall = _tokenizer(token_pattern)
    grams: list[str] = []
    counts = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        tokens = findall(text.lower())
        grams += tokens
        grams += [" ".join(pair) for pair in zip(tokens[:-1], tokens[1:], strict=True)]
        counts[i] = 2 * len(tokens) - 1 if tokens else 0
    h = murmurhash3_32([g.encode("utf-8") for g in grams]).astype(np.int64)
    cols = np.where(h == _INT32_MIN, (2**31 - 1 - (n_features - 1)) % n_features,
                    np.abs(h) % n_features)
    rows = np.repeat(np.arange(len(texts)), counts)
    x = sparse.csr_matrix((np.ones(len(cols)), (rows, cols)), shape=(len(texts), n_features))
    x.sum_duplicates()
    x.data.fill(1.0)
    nnz = np.diff(x.indptr)
    x.data /= np.repeat(np.sqrt(nnz, dtype=np.float64), nnz)
    return x
