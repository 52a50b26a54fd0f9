"""HL-lite's fitted model and its data file (``chatlens/data/humanlike/hllite-weights.yaml``).

Why a data file: the weights are reviewable (one mean, scale and weight per named feature) and
carry their provenance — the lexicon version, the training rows and the grouped-CV AUC they were
measured with — so a score can always say which model produced it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from chatlens import datafiles
from chatlens.datafiles.schemas import HlliteWeights
from chatlens.errors import DataFileError
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


def load_lite_model(path: str | Path | None = None) -> LiteModel:
    """Load HL-lite weights (bundled by default); malformed files raise DataFileError."""
    source = "humanlike/hllite-weights.yaml" if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="hllite-weights")
    return model_from_file(doc, record.file)


def model_from_file(doc: HlliteWeights, where: str) -> LiteModel:
    """The model of a validated weights file; every feature must be one HL-lite computes."""
    names = tuple(f.name for f in doc.features)
    unknown = sorted(set(names) - set(FEATURES))
    if unknown:
        raise DataFileError(where, "features", f"features among {list(FEATURES)}", unknown)
    return LiteModel(names, tuple(f.mean for f in doc.features), tuple(f.scale for f in doc.features),
                     tuple(f.weight for f in doc.features), doc.intercept, doc.name,
                     str(doc.version), dict(doc.source) if isinstance(doc.source, dict) else {})


def save_lite_model(model: LiteModel, path: str | Path) -> Path:
    """Write the model as the YAML data file :func:`load_lite_model` reads."""
    import yaml

    doc = {
        "name": model.name,
        "version": model.version,
        "description": ("HL-lite: standardised text features of the rated speaker's turns and a "
                        "logistic regression (human vs AI witness). logit = sum(weight * "
                        "(x - mean) / scale) + intercept."),
        # every data file carries its provenance; a model fitted in memory says where it came from
        "source": model.info or {"trained_by": "chatlens.humanlike (fitted in memory; no data recorded)"},
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
