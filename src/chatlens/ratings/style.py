"""Style features of an answer (length and markdown elements) for style-controlled BT.

Why: Chatbot Arena found that longer, more formatted answers win votes regardless of content;
its style control adds the A-vs-B difference of such features as covariates. The regexes live in
``chatlens/data/ratings/style_features.yaml`` (FastChat's ``count_markdown_elements``) and are
evaluated with polars' vectorised ``str.count_matches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import polars as pl

from chatlens import datafiles
from chatlens.datafiles.schemas import StylePatterns
from chatlens.errors import DataFileError


@dataclass(frozen=True)
class StyleFeatures:
    """Named regex groups: a feature's value is the total match count of its patterns."""

    name: str
    version: int | str
    source: str
    features: MappingProxyType[str, tuple[str, ...]]


def style_from_file(doc: StylePatterns, where: str) -> StyleFeatures:
    """The features of a validated style file; every pattern must compile as a polars regex."""
    for feat, patterns in doc.features.items():
        for i, pattern in enumerate(patterns):
            try:
                pl.Series([""]).str.count_matches(pattern)
            except pl.exceptions.PolarsError as exc:
                raise DataFileError(where, f"features.{feat}[{i}]", "a valid regex",
                                    f"{pattern!r} ({exc})") from None
    return StyleFeatures(
        name=doc.name,
        version=doc.version,
        source=str(doc.source),
        features=MappingProxyType({str(k): v for k, v in doc.features.items()}),
    )


def load_style_features() -> StyleFeatures:
    """Load and validate the bundled markdown style features."""
    doc, record = datafiles.load_with_record("ratings/style_features.yaml")
    return style_from_file(doc, record.file)


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
