"""Instrument discovery: from contrasting dialogues to a validated questionnaire (``chatlens instrument``).

HAL found its 32 statements once, in notebooks (hal.md 1.1): an LLM named what made the human
witness human in each Turing game, the statements were embedded, clustered and condensed, then
rated and weighted. This package does the same for any contrast (human vs AI, satisfied vs
frustrated users, model A vs model B, a persona that stays in character vs one that drifts) as
one resumable run whose every step leaves an artefact:

statements (:mod:`~chatlens.instrument.characteristics`) → embeddings
(:mod:`~chatlens.instrument.embed`) → clusters and representatives
(:mod:`~chatlens.instrument.cluster`) → items (:mod:`~chatlens.instrument.condense`) →
instrument YAML (:mod:`~chatlens.instrument.build`), orchestrated by
:mod:`~chatlens.instrument.steps`. The instrument is rated with ``chatlens humanlike judge`` and
weighted with grouped cross-validation by :mod:`~chatlens.instrument.validity` (which uses
:func:`chatlens.humanlike.fit.fit`); :mod:`~chatlens.instrument.report` writes the HTML report.
"""

from __future__ import annotations

from chatlens.instrument.config import DiscoveryConfig
from chatlens.instrument.inputs import PairColumns, read_pairs
from chatlens.instrument.steps import STEPS, DiscoveryResult, discover, read_manifest

__all__ = [
    "STEPS",
    "DiscoveryConfig",
    "DiscoveryResult",
    "PairColumns",
    "discover",
    "read_manifest",
    "read_pairs",
]
