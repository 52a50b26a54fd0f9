"""The provenance every data file carries (:class:`DataFile`) and the value types schemas share."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.vocabulary import (
    JAILBREAK_FAMILIES,
)

NonEmpty = Annotated[str, Check("a non-empty string", lambda s: bool(s.strip()))]
Version = Annotated[str | int | float, Check("a non-empty version", lambda v: bool(str(v).strip()))]
Source = Annotated[str | dict[str, Any], Check("a non-empty citation", bool)]
Phrases = tuple[NonEmpty, ...]
Boundaries = Literal["word", "none"]
Unit = Annotated[float, Check("a number in [0, 1]", lambda v: 0.0 <= v <= 1.0)]
NonNegative = Annotated[float, Check("a number >= 0", lambda v: v >= 0)]
Finite = Annotated[float, Check("a finite number", math.isfinite)]
Positive = Annotated[float, Check("a positive finite number", lambda v: 0 < v < float("inf"))]
IsoCode = Annotated[str, Check("an ISO 639 code", lambda s: re.fullmatch(r"[a-z]{2,3}", s) is not None)]
Family = Annotated[str, Check(f"one of {list(JAILBREAK_FAMILIES)}", lambda f: f in JAILBREAK_FAMILIES)]
CueId = Annotated[str, Check("a dotted lower-case identifier",
                             lambda s: re.match(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$", s) is not None)]


@dataclass(frozen=True, kw_only=True)
class DataFile:
    """Provenance every data file carries."""

    name: NonEmpty
    version: Version
    source: Source


def check_sparse(index: tuple[int, ...], value: tuple[Any, ...], n_features: int,
                 index_key: str, value_key: str) -> None:
    """A sparse coefficient vector of a weights file: one value per index, every index a column
    of the model (``n_features``). Why: a short or out-of-range vector was accepted and failed
    later with numpy's broadcast or index message, naming no key."""
    if len(index) != len(value):
        raise Invalid(key=value_key, expected=f"{len(index)} values (one per {index_key})",
                      got=len(value))
    bad = next((i for i in index if not 0 <= i < n_features), None)
    if bad is not None:
        raise Invalid(key=index_key, expected=f"indices in [0, {n_features}) (n_features)", got=bad)
