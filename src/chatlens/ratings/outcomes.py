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
from pathlib import Path
from types import MappingProxyType

from chatlens import datafiles
from chatlens.datafiles.schemas import OutcomeLabels
from chatlens.errors import DataFileError

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


def scale_from_file(doc: OutcomeLabels, where: str) -> OutcomeScale:
    """The scale of a validated outcomes file; labels equal after normalising must agree."""
    labels: dict[str, float] = {}
    for section in ("winner_labels", "preference_scale"):
        for label, value in (getattr(doc, section) or {}).items():
            norm = normalize_label(label)
            if norm in labels and labels[norm] != value:
                raise DataFileError(where, f"{section}.{label}",
                                    f"a score consistent with the earlier {labels[norm]}", value)
            labels[norm] = value
    return OutcomeScale(
        name=doc.name,
        version=doc.version,
        source=str(doc.source),
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
    DataFileError
        Naming the file and the key when the file is malformed.

    Examples
    --------
    >>> scale = load_outcome_scale()
    >>> scale.score_of("Likely B"), scale.score_of("tie (bothbad)"), scale.score_of("maybe")
    (0.25, 0.5, None)
    """
    source = "ratings/outcomes.yaml" if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="outcome-scale")
    return scale_from_file(doc, record.file)
