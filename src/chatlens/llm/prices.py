"""Token prices as a user-editable data file, and the cost of a run.

The bundled table (``chatlens/data/llm/prices.yaml``) is a convenience, not a truth: prices
change. A user file (``--prices FILE`` or ``CHATLENS_PRICES``) overrides it model by model. A
model with no price gets cost ``None`` ("unknown"), never a guess.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from chatlens import _yaml
from chatlens.errors import InstrumentError

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


def _parse(data: Any, where: str) -> PriceTable:
    if not isinstance(data, dict):
        msg = f"Price table {where}: expected a mapping at the top level, got {type(data).__name__}."
        raise InstrumentError(msg)
    allowed = {"name", "version", "source", "currency", "unit", "models"}
    unknown = set(data) - allowed
    if unknown:
        msg = f"Price table {where}: unknown key(s) {sorted(unknown)}; expected some of {sorted(allowed)}."
        raise InstrumentError(msg)
    unit = data.get("unit", "per_1m_tokens")
    if unit != "per_1m_tokens":
        msg = f"Price table {where}: key 'unit' must be 'per_1m_tokens', got {unit!r}."
        raise InstrumentError(msg)
    models_raw = data.get("models")
    if not isinstance(models_raw, dict):
        msg = f"Price table {where}: key 'models' must map model names to {{input, output}}."
        raise InstrumentError(msg)
    models: dict[str, Price] = {}
    for model, entry in models_raw.items():
        if not isinstance(entry, dict) or set(entry) != {"input", "output"}:
            msg = (
                f"Price table {where}: model {model!r} must have exactly the keys input and "
                f"output (USD per 1M tokens), got {entry!r}."
            )
            raise InstrumentError(msg)
        try:
            price = Price(float(entry["input"]), float(entry["output"]))
        except (TypeError, ValueError):
            msg = f"Price table {where}: model {model!r} has a non-numeric price: {entry!r}."
            raise InstrumentError(msg) from None
        if price.input < 0 or price.output < 0:
            msg = f"Price table {where}: model {model!r} has a negative price: {entry!r}."
            raise InstrumentError(msg)
        models[str(model)] = price
    return PriceTable(
        name=str(data.get("name", where)),
        version=str(data.get("version", "")),
        currency=str(data.get("currency", "USD")),
        models=models,
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
    ref = resources.files("chatlens").joinpath("data/llm/prices.yaml")
    table = _parse(_yaml.safe_load(ref.read_text(encoding="utf-8")), "chatlens/data/llm/prices.yaml")
    user = path if path is not None else os.environ.get(ENV_PRICES) or None
    if user is not None:
        user_path = Path(user)
        try:
            text = user_path.read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"Price table {user_path}: cannot be read ({exc.strerror})."
            raise InstrumentError(msg) from None
        try:
            data = _yaml.safe_load(text)
        except yaml.YAMLError as exc:
            msg = f"Price table {user_path}: not valid YAML ({exc})."
            raise InstrumentError(msg) from None
        table = table.merged(_parse(data, str(user_path)))
    return table
