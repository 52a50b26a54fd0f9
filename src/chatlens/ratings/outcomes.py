"""Outcome labels: which text label means what score for model A.

Why a data file: the meaning of "Likely A" or "tie (bothbad)" is a measurement choice, not code.
The bundled file (``chatlens/data/ratings/outcomes.yaml``) holds Chatbot Arena's winner labels and
HAL's five-point preference scale; a study with another scale passes its own YAML file with the
same keys instead of editing Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import yaml

from chatlens import _yaml
from chatlens.errors import InstrumentError

_SECTIONS = ("winner_labels", "preference_scale")
_ALLOWED_KEYS = {"name", "version", "source", *_SECTIONS}
_SPACES = re.compile(r"\s+")


def normalize_label(label: str) -> str:
    """Lower-case, trim and collapse inner whitespace, so ``" Likely  A"`` matches ``likely a``."""
    return _SPACES.sub(" ", label.strip().lower())


@dataclass(frozen=True)
class OutcomeScale:
    """A validated label → score-of-A mapping loaded from a YAML file.

    Attributes
    ----------
    name, version, source
        Provenance recorded in every result built from this scale.
    labels
        Normalised label (see :func:`normalize_label`) → score of model A in [0, 1].
    path
        The file it came from (``"<bundled>"`` for the packaged default).
    """

    name: str
    version: int | str
    source: str
    labels: Mapping[str, float] = field(repr=False)
    path: str = "<bundled>"

    def score_of(self, label: str) -> float | None:
        """Score of model A for one raw label, or ``None`` when the label is unknown."""
        return self.labels.get(normalize_label(label))


def _fail(where: str, key: str, expected: str, got: object) -> InstrumentError:
    msg = f"Invalid outcome scale {where}: key {key!r} must be {expected}. Got {got!r} instead."
    return InstrumentError(msg)


def _parse(raw: object, where: str) -> OutcomeScale:
    if not isinstance(raw, dict):
        raise _fail(where, "<root>", "a mapping", type(raw).__name__)
    unknown = sorted(set(raw) - _ALLOWED_KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"one of {sorted(_ALLOWED_KEYS)}", unknown[0])
    for key in ("name", "version", "source"):
        if key not in raw:
            raise _fail(where, key, "present", None)
    if not any(s in raw for s in _SECTIONS):
        raise _fail(where, "|".join(_SECTIONS), "present (at least one)", None)
    labels: dict[str, float] = {}
    for section in _SECTIONS:
        block = raw.get(section, {})
        if not isinstance(block, dict):
            raise _fail(where, section, "a mapping of label -> score", type(block).__name__)
        for label, value in block.items():
            item = f"{section}.{label}"
            if not isinstance(label, str) or not label.strip():
                raise _fail(where, item, "a non-empty string label", label)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _fail(where, item, "a number in [0, 1]", value)
            if not 0.0 <= float(value) <= 1.0:
                raise _fail(where, item, "a number in [0, 1]", value)
            norm = normalize_label(label)
            if norm in labels and labels[norm] != float(value):
                raise _fail(where, item, f"consistent with the earlier {labels[norm]}", value)
            labels[norm] = float(value)
    return OutcomeScale(
        name=str(raw["name"]),
        version=raw["version"],
        source=str(raw["source"]),
        labels=MappingProxyType(labels),
        path=where,
    )


def load_outcome_scale(path: str | Path | None = None) -> OutcomeScale:
    """Load and validate an outcome scale (the bundled one when ``path`` is ``None``).

    Parameters
    ----------
    path
        A YAML file with ``name``, ``version``, ``source`` and one or both of ``winner_labels``
        and ``preference_scale`` (label → score of A in [0, 1]).

    Raises
    ------
    InstrumentError
        Naming the file and the key when the file is malformed.

    Examples
    --------
    >>> scale = load_outcome_scale()
    >>> scale.score_of("Likely B"), scale.score_of("tie (bothbad)"), scale.score_of("maybe")
    (0.25, 0.5, None)
    """
    if path is None:
        ref = resources.files("chatlens").joinpath("data", "ratings", "outcomes.yaml")
        text, where = ref.read_text(encoding="utf-8"), "<bundled>/data/ratings/outcomes.yaml"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            msg = f"Cannot read outcome scale file {where}: {exc.strerror}."
            raise InstrumentError(msg) from exc
    try:
        raw = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"Outcome scale file {where} is not valid YAML: {exc}"
        raise InstrumentError(msg) from exc
    return _parse(raw, where)
