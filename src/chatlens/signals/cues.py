"""From lexicons to per-message cue hits: one compiled scanner per lexicon set.

Why a separate step: both detectors need the same thing — which cues fired in which message, and
where (byte offset of the first match, so the scorer can tell an opening refusal from a caveat
buried in a long answer). Compilation is cached, so repeated batches pay it once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from chatlens.signals.lexicon import Cue, Lexicon
from chatlens.signals.scanner import Backend, Scanner, resolve_backend


@dataclass(frozen=True)
class CueHits:
    """Distinct (message, cue) hits with the earliest end offset in bytes."""

    message: np.ndarray
    cue: np.ndarray
    offset: np.ndarray

    def take(self, rows: np.ndarray, n: int) -> tuple[CueHits, np.ndarray]:
        """The hits of messages ``rows`` (ascending positions among ``n``), renumbered from 0,
        and the mask of the hits kept (for arrays aligned with the hits)."""
        new = np.full(n, -1, dtype=np.int64)
        new[rows] = np.arange(len(rows))
        keep = new[self.message] >= 0
        return CueHits(new[self.message[keep]], self.cue[keep], self.offset[keep]), keep


class CueSet:
    """The cues of several lexicons, compiled into one scanner."""

    def __init__(self, lexicons: Sequence[Lexicon], *, caseless: bool = False,
                 backend: Backend = "auto", prefilter: bool = False) -> None:
        self.lexicons = tuple(lexicons)
        self.cues: tuple[Cue, ...] = tuple(c for lex in lexicons for c in lex.cues)
        patterns: list[tuple[str, bool]] = []
        names: list[str] = []
        owner: list[int] = []
        for ci, cue in enumerate(self.cues):
            for p in cue.patterns:
                patterns.append((p, cue.boundaries))
                names.append(cue.id)
                owner.append(ci)
        self.pattern_cue = np.asarray(owner, dtype=np.int64)
        self.scanner = Scanner(patterns, names=names, caseless=caseless, backend=backend,
                               prefilter=prefilter)
        self.weight = np.asarray([c.weight for c in self.cues], dtype=np.float64)
        self.ids = np.asarray([c.id for c in self.cues], dtype=object)

    @property
    def versions(self) -> tuple[str, ...]:
        """``name@version`` of every lexicon, for provenance."""
        return tuple(lex.label for lex in self.lexicons)

    def kind_mask(self, *kinds: str) -> np.ndarray:
        """Boolean mask over cues whose kind is one of ``kinds``."""
        return np.asarray([c.kind in kinds for c in self.cues], dtype=bool)

    def type_mask(self, ctype: str) -> np.ndarray:
        """Boolean mask over cues of refusal type ``ctype``."""
        return np.asarray([c.type == ctype for c in self.cues], dtype=bool)

    def hits(self, texts: Sequence[str | None] | pl.Series) -> CueHits:
        """Which cues fired in which text; one row per (text, cue), earliest offset."""
        m = self.scanner.scan(texts)
        return _dedupe(m.message, self.pattern_cue[m.pattern], m.offset)


def _dedupe(msg: np.ndarray, cue: np.ndarray, off: np.ndarray) -> CueHits:
    if len(msg) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return CueHits(empty, empty.copy(), empty.copy())
    order = np.lexsort((off, cue, msg))
    msg, cue, off = msg[order], cue[order], off[order]
    first = np.ones(len(msg), dtype=bool)
    first[1:] = (msg[1:] != msg[:-1]) | (cue[1:] != cue[:-1])
    return CueHits(msg[first], cue[first], off[first])


@lru_cache(maxsize=16)
def cue_set(lexicons: tuple[Lexicon, ...], caseless: bool = False,  # noqa: FBT001
            backend: str = "auto", prefilter: bool = False) -> CueSet:  # noqa: FBT001
    """A cached :class:`CueSet` (compile once per process per lexicon set, backend and tiering).

    ``prefilter=True`` compiles the two-tier scanner (same hits, see
    :mod:`chatlens.signals.scanner`).
    """
    return CueSet(lexicons, caseless=caseless, backend=resolve_backend(backend),  # type: ignore[arg-type]
                  prefilter=prefilter)


def cue_lists(hits: CueHits, ids: np.ndarray, n: int) -> list[list[str]]:
    """The sorted cue ids that fired, one list per text (empty list where none fired)."""
    out: list[list[str]] = [[] for _ in range(n)]
    for msg, cue in zip(hits.message.tolist(), hits.cue.tolist(), strict=True):
        out[msg].append(ids[cue])
    for lst in out:
        if len(lst) > 1:
            lst.sort()
    return out


def cue_list_column(hits: CueHits, ids: np.ndarray, n: int, name: str,
                    extra: tuple[np.ndarray, np.ndarray] | None = None) -> pl.Series:
    """A list[str] column of fired cue ids per text (sorted), built without a Python loop over
    texts. ``extra`` adds (text index, label) pairs that are not scanner cues."""
    rows = [hits.message.astype(np.int64)]
    labels = [ids[hits.cue].astype(str)]
    if extra is not None:
        rows.append(np.asarray(extra[0], dtype=np.int64))
        labels.append(np.asarray(extra[1], dtype=str))
    fired = pl.DataFrame({"i": np.concatenate(rows), "c": np.concatenate(labels)},
                         schema={"i": pl.Int64, "c": pl.String})
    grouped = fired.sort(["i", "c"]).group_by("i", maintain_order=True).agg(pl.col("c"))
    full = pl.DataFrame({"i": np.arange(n, dtype=np.int64)}).join(grouped, on="i", how="left")
    return full["c"].fill_null(pl.lit([], dtype=pl.List(pl.String))).alias(name)
