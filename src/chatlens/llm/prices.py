"""Token prices as a user-editable data file, and the cost of a run.

The bundled table (``chatlens/data/llm/prices.yaml``) is a convenience, not a truth: prices
change. A user file (``--prices FILE`` or ``CHATLENS_PRICES``) overrides it model by model. A
model with no price gets cost ``None`` ("unknown"), never a guess.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path

from chatlens import datafiles
from chatlens.datafiles.schemas import PriceList

ENV_PRICES = "CHATLENS_PRICES"


@dataclass(frozen=True)
class Price:
    """US dollars per 1M input and output tokens."""

    input: float
    output: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.input + completion_tokens * self.output) / 1_000_000


@dataclass(frozen=True)
class PriceTable:
    """Model name (or wildcard pattern) -> :class:`Price`."""

    name: str
    version: str
    currency: str
    models: dict[str, Price] = field(default_factory=dict)
    sources: tuple[str, ...] = ()

    def lookup(self, model: str) -> Price | None:
        """Exact name first, then the longest matching wildcard pattern."""
        if model in self.models:
            return self.models[model]
        hits = [p for p in self.models if any(c in p for c in "*?[") and fnmatch.fnmatchcase(model, p)]
        if not hits:
            return None
        return self.models[max(hits, key=len)]

    def merged(self, other: PriceTable) -> PriceTable:
        """This table with ``other``'s entries taking precedence."""
        return PriceTable(
            name=other.name,
            version=other.version,
            currency=other.currency,
            models={**self.models, **other.models},
            sources=self.sources + other.sources,
        )


def _table(doc: PriceList, where: str) -> PriceTable:
    return PriceTable(
        name=doc.name if doc.name is not None else where,
        version=str(doc.version),
        currency=doc.currency,
        models={str(m): Price(p.input, p.output) for m, p in doc.models.items()},
        sources=(where,),
    )


def load_prices(path: str | Path | None = None) -> PriceTable:
    """The bundled table, overridden by ``path`` (or ``$CHATLENS_PRICES``) when given.

    Examples
    --------
    >>> table = load_prices()
    >>> table.lookup("gpt-4o-mini").input
    0.15
    """
    doc, record = datafiles.load_with_record("llm/prices.yaml")
    table = _table(doc, record.file)
    user = path if path is not None else os.environ.get(ENV_PRICES) or None
    if user is not None:
        doc, record = datafiles.load_with_record(Path(user), kind="price-table")
        table = table.merged(_table(doc, record.file))
    return table
