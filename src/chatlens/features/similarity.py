"""Vectorised text similarity between two string columns (character shingles).

Why character shingles: the similarity of a user's follow-up to the request that was refused is
what separates a *rephrase* (same request, new wording or a justification prepended) from a
*topic change*. It must work for ten languages, including Chinese and Japanese where there are
no spaces, and over hundreds of thousands of pairs without a Python loop. Character k-grams of
the case-folded, punctuation-stripped text do both: they are language-agnostic, tolerate small
edits and inflections, and polars computes them as flat columns (explode, shift, join) — no
per-row Python and no per-row list kernels.

Three scores are returned, all in [0, 1]:

* ``jaccard``: |A ∩ B| / |A ∪ B| (symmetric);
* ``containment``: |A ∩ B| / |B| — how much of the *reference* ``b`` (the refused request)
  reappears in ``a`` (the follow-up); robust to a prepended "Let me rephrase:" or "It's for a
  novel." that dilutes Jaccard;
* ``containment_rev``: |A ∩ B| / |A| — how much of ``a`` is taken from ``b`` (a shortened retry,
  "then just explain how …").

Null or empty text on either side gives 0.0. Texts are truncated to ``max_chars`` (default 2000)
so pasted documents cannot blow up memory.

Shingles are integers: each character of the batch gets a small id (its rank among the
characters present), a shingle packs its k ids, and the pair index goes into the high bits, so
set sizes and intersections are one-column hash operations (:func:`_packed_shingles`); nothing
is hashed lossily, so the result is exact. Where the bits do not fit in 64 (a huge k, or
millions of pairs with thousands of distinct characters) the string formulation
(:func:`_shingles`) runs instead; the two agree (tested).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.signals.ngrams import code_points

#: One past the largest Unicode code point.
_UNICODE = 0x110000

SIMILARITY_SCHEMA: dict[str, pl.DataType] = {
    "jaccard": pl.Float64,
    "containment": pl.Float64,
    "containment_rev": pl.Float64,
}


def _clean(expr: pl.Expr, max_chars: int) -> pl.Expr:
    return (
        expr.fill_null("")
        .str.slice(0, max_chars)
        .str.to_lowercase()
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
    )


def _shingles(frame: pl.DataFrame, col: str, k: int, max_chars: int) -> pl.DataFrame:
    """Unique (``_p``, ``g``) rows: the character k-grams of ``col`` per pair id ``_p``."""
    clean = frame.select(pl.col("_p"), _clean(pl.col(col), max_chars).alias("t"))
    short = clean.filter((pl.col("t").str.len_chars() > 0) & (pl.col("t").str.len_chars() < k))
    chars = clean.filter(pl.col("t").str.len_chars() >= k).select(
        pl.col("_p"), pl.col("t").str.split("").alias("c")
    ).explode("c")
    parts = [pl.col("c").shift(-i) for i in range(k)]
    grams = chars.with_columns(
        g=pl.concat_str(parts), ok=(pl.col("_p").shift(-(k - 1)) == pl.col("_p"))
    ).filter(pl.col("ok"))
    return pl.concat(
        [grams.select("_p", "g"), short.select(pl.col("_p"), pl.col("t").alias("g"))]
    ).unique()


def text_similarity(a: pl.Series, b: pl.Series, *, k: int = 3, max_chars: int = 2000) -> pl.DataFrame:
    """Pairwise similarity of two aligned string Series (:data:`SIMILARITY_SCHEMA`), one row per pair.

    Examples
    --------
    >>> import polars as pl
    >>> out = text_similarity(pl.Series(["Let me rephrase: how to pick a lock?", None]),
    ...                       pl.Series(["How to pick a lock?", "anything"]))
    >>> out["containment"].to_list()
    [1.0, 0.0]
    """
    if len(a) != len(b):
        msg = f"text_similarity needs two Series of equal length. Got {len(a)} and {len(b)}."
        raise InvalidParameterError(msg)
    if not isinstance(k, int) or k < 1:
        msg = f"The 'k' parameter of text_similarity must be a positive int. Got {k!r} instead."
        raise InvalidParameterError(msg)
    packed = _packed_similarity(a, b, k, max_chars) if k > 1 else None  # k = 1: strings are as fast
    if packed is not None:
        return packed
    frame = pl.DataFrame({"a": a.cast(pl.String), "b": b.cast(pl.String)}).with_row_index("_p")
    sa = _shingles(frame, "a", k, max_chars)
    sb = _shingles(frame, "b", k, max_chars)
    na = sa.group_by("_p").len("na")
    nb = sb.group_by("_p").len("nb")
    inter = sa.join(sb, on=["_p", "g"], how="inner").group_by("_p").len("ni")
    out = (
        frame.select("_p")
        .join(na, on="_p", how="left")
        .join(nb, on="_p", how="left")
        .join(inter, on="_p", how="left")
        .sort("_p")
        .with_columns(pl.col("na", "nb", "ni").fill_null(0).cast(pl.Float64))
    )
    union = pl.col("na") + pl.col("nb") - pl.col("ni")
    return out.select(
        pl.when(union > 0).then(pl.col("ni") / union).otherwise(0.0).alias("jaccard"),
        pl.when(pl.col("nb") > 0).then(pl.col("ni") / pl.col("nb")).otherwise(0.0).alias("containment"),
        pl.when(pl.col("na") > 0).then(pl.col("ni") / pl.col("na")).otherwise(0.0).alias("containment_rev"),
    )


def _packed_shingles(ids: np.ndarray, lens: np.ndarray, k: int, bits: int) -> pl.Series:
    """Distinct ``pair << (k * bits) | shingle`` keys (uint64) of texts given as character ids
    (``ids``, all texts concatenated, ids >= 1) and their lengths ``lens``.

    Each text is followed by k zero ids, so a window of k whose first and last ids are non-zero
    lies inside one text; a text of 1..k-1 characters is one shingle, itself padded with zeros
    (as :func:`_shingles` keeps it whole).
    """
    n = len(lens)
    total = int(lens.sum()) + k * n
    stream = np.zeros(total + k, dtype=np.uint64)
    stream[np.arange(len(ids)) + k * np.repeat(np.arange(n), lens)] = ids
    gram = np.zeros(total, dtype=np.uint64)
    for j in range(k):
        gram = (gram << np.uint64(bits)) | stream[j:j + total]
    valid = (stream[:total] != 0) & (stream[k - 1:k - 1 + total] != 0)
    first = np.concatenate([[0], np.cumsum(lens + k)[:-1]]).astype(np.int64)
    short = (lens > 0) & (lens < k)
    valid[first[short]] = True
    pair = np.repeat(np.arange(n, dtype=np.uint64), lens + k)
    return pl.Series((pair[valid] << np.uint64(k * bits)) | gram[valid]).unique()


def _packed_similarity(a: pl.Series, b: pl.Series, k: int, max_chars: int) -> pl.DataFrame | None:
    """:func:`text_similarity` on packed integer shingles; ``None`` when they do not fit 64 bits."""
    n = len(a)
    clean = [s.cast(pl.String).to_frame("t").select(_clean(pl.col("t"), max_chars))["t"] for s in (a, b)]
    lens = [c.str.len_chars().to_numpy().astype(np.int64) for c in clean]
    cps = [code_points(c).astype(np.int64) for c in clean]
    present = np.zeros(_UNICODE, dtype=bool)
    for cp in cps:
        present[cp] = True
    rank = np.cumsum(present)  # id of a present character: 1, 2, ... (0 pads)
    bits = max(1, int(rank[-1]).bit_length())
    shift = k * bits
    if shift + max(1, (n - 1).bit_length()) > 64:
        return None
    sa, sb = (_packed_shingles(rank[cp].astype(np.uint64), ln, k, bits) for cp, ln in zip(cps, lens, strict=True))
    to_pair = np.uint64(shift)
    na = np.bincount((sa.to_numpy() >> to_pair).astype(np.int64), minlength=n).astype(np.float64)
    nb = np.bincount((sb.to_numpy() >> to_pair).astype(np.int64), minlength=n).astype(np.float64)
    both = sa.filter(sa.is_in(sb.implode())).to_numpy() >> to_pair
    ni = np.bincount(both.astype(np.int64), minlength=n).astype(np.float64)
    union = na + nb - ni
    with np.errstate(divide="ignore", invalid="ignore"):
        return pl.DataFrame({
            "jaccard": np.where(union > 0, ni / union, 0.0),
            "containment": np.where(nb > 0, ni / nb, 0.0),
            "containment_rev": np.where(na > 0, ni / na, 0.0),
        })


__all__ = ["SIMILARITY_SCHEMA", "text_similarity"]
