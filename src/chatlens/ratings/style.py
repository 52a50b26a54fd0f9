"""Style features of an answer (length and markdown elements) for style-controlled BT.

Why: Chatbot Arena found that longer, more formatted answers win votes regardless of content;
its style control adds the A-vs-B difference of such features as covariates. The regexes live in
``chatlens/data/ratings/style_features.yaml`` (FastChat's ``count_markdown_elements``) and are
evaluated with polars' vectorised ``str.count_matches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import polars as pl

from chatlens import _yaml
from chatlens.errors import InstrumentError

_WHERE = "<bundled>/data/ratings/style_features.yaml"


@dataclass(frozen=True)
class StyleFeatures:
    """Named regex groups: a feature's value is the total match count of its patterns."""

    name: str
    version: int | str
    source: str
    features: MappingProxyType[str, tuple[str, ...]]


def _check_pattern(pattern: Any, item: str) -> str:
    if not isinstance(pattern, str) or not pattern:
        msg = f"Invalid style features {_WHERE}: {item!r} must be a regex string. Got {pattern!r}."
        raise InstrumentError(msg)
    try:
        pl.Series([""]).str.count_matches(pattern)
    except pl.exceptions.PolarsError as exc:
        msg = f"Invalid style features {_WHERE}: {item!r} is not a valid regex ({exc})."
        raise InstrumentError(msg) from exc
    return pattern


def load_style_features() -> StyleFeatures:
    """Load and validate the bundled markdown style features."""
    ref = resources.files("chatlens").joinpath("data", "ratings", "style_features.yaml")
    raw = _yaml.safe_load(ref.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("features"), dict):
        msg = f"Invalid style features {_WHERE}: key 'features' must be a mapping. Got {raw!r}."
        raise InstrumentError(msg)
    for key in ("name", "version", "source"):
        if key not in raw:
            msg = f"Invalid style features {_WHERE}: key {key!r} is missing."
            raise InstrumentError(msg)
    features: dict[str, tuple[str, ...]] = {}
    for feat, patterns in raw["features"].items():
        if not isinstance(patterns, list) or not patterns:
            msg = f"Invalid style features {_WHERE}: 'features.{feat}' must be a list of regexes."
            raise InstrumentError(msg)
        features[str(feat)] = tuple(
            _check_pattern(p, f"features.{feat}[{i}]") for i, p in enumerate(patterns)
        )
    return StyleFeatures(
        name=str(raw["name"]),
        version=raw["version"],
        source=str(raw["source"]),
        features=MappingProxyType(features),
    )


def answer_text(col: str, dtype: pl.DataType) -> pl.Expr | None:
    """The answer text of one side: a text column, or the assistant turns of a conversation.

    Returns ``None`` for columns that hold neither (e.g. numbers).
    """
    if dtype == pl.String:
        return pl.col(col)
    if isinstance(dtype, pl.List) and isinstance(dtype.inner, pl.Struct):
        names = {f.name for f in dtype.inner.fields}
        if "content" not in names:
            return None
        content = pl.element().struct.field("content").cast(pl.String).fill_null("")
        if "role" in names:
            content = pl.when(pl.element().struct.field("role") == "assistant").then(
                content
            ).otherwise(pl.lit(""))
        return pl.col(col).list.eval(content).list.join("\n")
    return None


def markdown_counts(text: pl.Expr, features: StyleFeatures) -> dict[str, pl.Expr]:
    """One float expression per feature: total regex matches in ``text``."""
    out: dict[str, pl.Expr] = {}
    for name, patterns in features.features.items():
        total = pl.lit(0, dtype=pl.UInt32)
        for pattern in patterns:
            total = total + text.str.count_matches(pattern).fill_null(0)
        out[name] = total.cast(pl.Float64)
    return out
