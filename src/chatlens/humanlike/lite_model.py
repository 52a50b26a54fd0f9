"""HL-lite's fitted model and its data file (``chatlens/data/humanlike/hllite-weights.yaml``).

Why a data file: the weights are reviewable (one mean, scale and weight per named feature) and
carry their provenance — the lexicon version, the training rows and the grouped-CV AUC they were
measured with — so a score can always say which model produced it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chatlens import _yaml
from chatlens.errors import InstrumentError
from chatlens.humanlike.lite_features import FEATURES

__all__ = ["LiteModel", "load_lite_model", "save_lite_model"]


@dataclass(frozen=True)
class LiteModel:
    """Standardised-logistic HL-lite model: ``logit = sum(w * (x - mean) / scale) + intercept``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    name: str = "hl-lite"
    version: str = "1.0.0"
    info: dict[str, Any] = field(default_factory=dict)

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Logits for an (n, k) feature matrix in :attr:`features` order (NaN rows stay NaN)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.intercept


def _weights_resource() -> Any:
    return resources.files("chatlens").joinpath("data", "humanlike", "hllite-weights.yaml")


def load_lite_model(path: str | Path | None = None) -> LiteModel:
    """Load HL-lite weights (bundled by default); malformed files raise InstrumentError."""

    if path is None:
        res = _weights_resource()
        if not res.is_file():
            msg = ("HL-lite weights file hllite-weights.yaml is missing from the package; "
                   "regenerate it with scripts/train_hllite.py")
            raise InstrumentError(msg)
        text, where = res.read_text(encoding="utf-8"), "<bundled>/humanlike/hllite-weights.yaml"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    data = _yaml.safe_load(text)
    try:
        feats = data["features"]
        names = tuple(str(f["name"]) for f in feats)
        mean = tuple(float(f["mean"]) for f in feats)
        scale = tuple(float(f["scale"]) for f in feats)
        weights = tuple(float(f["weight"]) for f in feats)
        intercept = float(data["intercept"])
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"HL-lite weights file {where}: malformed ({type(exc).__name__}: {exc})"
        raise InstrumentError(msg) from None
    unknown = sorted(set(names) - set(FEATURES))
    if unknown:
        msg = f"HL-lite weights file {where}: unknown features {unknown}; known: {list(FEATURES)}"
        raise InstrumentError(msg)
    if any(s <= 0 or not math.isfinite(s) for s in scale):
        msg = f"HL-lite weights file {where}: every feature scale must be a positive number"
        raise InstrumentError(msg)
    return LiteModel(names, mean, scale, weights, intercept, str(data.get("name", "hl-lite")),
                     str(data.get("version", "0")), dict(data.get("source", {}) or {}))


def save_lite_model(model: LiteModel, path: str | Path) -> Path:
    """Write the model as the YAML data file :func:`load_lite_model` reads."""
    import yaml

    doc = {
        "name": model.name,
        "version": model.version,
        "description": ("HL-lite: standardised text features of the rated speaker's turns and a "
                        "logistic regression (human vs AI witness). logit = sum(weight * "
                        "(x - mean) / scale) + intercept."),
        "source": model.info,
        "intercept": float(model.intercept),
        "features": [
            {"name": n, "mean": float(m), "scale": float(s), "weight": float(w)}
            for n, m, s, w in zip(model.features, model.mean, model.scale, model.weights, strict=True)
        ],
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p
