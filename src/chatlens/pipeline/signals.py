"""Signals stage: refusal columns on assistant messages, jailbreak columns on user messages.

Why a stage of its own: a run works on batches of whole conversations; the stage hands each
batch's messages to :func:`chatlens.signals.messages.add_signals`, which routes each role's
messages to its detector (nulls where a detector does not apply). The routing lives in the
signals package so that ``chatlens validate`` uses the very same code.

``definitions`` names the detectors' definition set: ``default`` (chatlens's) or ``legacy`` (the
original study's regexes, adding ``refusal_type_legacy``). A profile sets it in its data file
(``params: {definitions: legacy}``); the stage never asks which profile it runs in.
"""

from __future__ import annotations

from dataclasses import replace

from chatlens.corpus.canonical import CanonicalBatch
from chatlens.signals.definitions import DefinitionSet
from chatlens.signals.messages import (
    DEFINITION_REFUSAL_COLUMNS,
    JAILBREAK_COLUMNS,
    LEGACY_COLUMNS,
    REFUSAL_COLUMNS,
    JailbreakModel,
    RefusalModel,
    add_signals,
)

__all__ = ["DEFINITION_REFUSAL_COLUMNS", "JAILBREAK_COLUMNS", "LEGACY_COLUMNS", "REFUSAL_COLUMNS",
           "add_signals", "signals_stage"]


def signals_stage(batch: CanonicalBatch, *, definitions: DefinitionSet = "default",
                  refusal_model: RefusalModel | None = None,
                  jailbreak_model: JailbreakModel | None = None) -> CanonicalBatch:
    """The batch stage: :func:`add_signals` on the batch's messages."""
    return replace(batch, messages=add_signals(batch.messages, definitions=definitions,
                                               refusal_model=refusal_model,
                                               jailbreak_model=jailbreak_model))
