"""File-level reaction classification: ``chatlens classify reaction``'s Python function.

Why here and not next to ``classify refusal`` in :mod:`chatlens.signals.classify`: a reaction
needs the request, the refused response and the follow-up, and the reaction model lives in the
features layer (it uses the signals layer's refusal and jailbreak detectors). The streaming,
atomic-write machinery is the signals layer's :func:`~chatlens.signals.classify.classify_columns`.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from chatlens.signals.classify import BATCH_ROWS, classify_columns


def reaction_file_columns(
    prompt_column: str, response_column: str, followup_column: str,
    refusal_type_column: str | None = None,
) -> dict[str, tuple[str, str]]:
    """The reaction model's inputs as ``classify_columns`` wants them: role → (file column, the
    CLI option that names it)."""
    out = {"request": (prompt_column, "--prompt-column"),
           "response": (response_column, "--response-column"),
           "followup": (followup_column, "--followup-column")}
    if refusal_type_column is not None:
        out["refusal_type"] = (refusal_type_column, "--refusal-type-column")
    return out


def classify_reaction(
    input_path: str | Path,
    *,
    prompt_column: str,
    response_column: str,
    followup_column: str,
    out: str | Path,
    refusal_type_column: str | None = None,
    batch_size: int = BATCH_ROWS,
) -> pl.DataFrame:
    """Add ``reaction`` (rephrase, jailbreak, pushback, accept, new_topic, clarify) and
    ``reaction_score`` (its calibrated probability) to every row and write the result to ``out``.

    Each row is one exchange: the user's request, the assistant's refused response and the user's
    next message. Rows with an empty follow-up get nulls (no reaction: the user left). The refusal
    type, when not given in ``refusal_type_column``, comes from the rule tier. Returns the written
    rows; for files larger than memory use :func:`~chatlens.signals.classify.classify_columns`
    with :func:`reaction_file_columns` (what the CLI does), which only counts.
    """
    from chatlens.features.reaction_model import detect_reaction

    columns = reaction_file_columns(prompt_column, response_column, followup_column,
                                    refusal_type_column)
    _, result = classify_columns(input_path, columns=columns, out=out, detect=detect_reaction,
                                 flag=None, label="reaction", batch_size=batch_size, collect=True)
    assert result is not None
    return result
