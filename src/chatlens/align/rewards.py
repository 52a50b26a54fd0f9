"""Rewards for pairs, GRPO and evaluation: HL-lite (free, local), an LLM judge, or both.

``reward`` is the column the pair builder ranks on: HL-lite's logit, the judge's ``hl_logit``
(any instrument), or for ``both`` the mean of the two after each is standardised over the scored
rows (so neither scale dominates). Words per dialogue and per rated-speaker turn are added too:
the length control and the data card need them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.humanlike.lite import lite_score
from chatlens.humanlike.turns import speaker_turns

REWARDS = ("hllite", "judge", "both")


@dataclass(frozen=True)
class Scored:
    """The scored frame and what scoring cost (judge usage; empty for HL-lite)."""

    frame: pl.DataFrame
    reward: str
    info: dict[str, Any] = field(default_factory=dict)


def check_reward(reward: str) -> str:
    """``reward`` if known, else :class:`InvalidParameterError` listing the choices."""
    if reward not in REWARDS:
        msg = f"Unknown reward {reward!r}. Expected one of {list(REWARDS)}."
        raise InvalidParameterError(msg)
    return reward


def length_columns(frame: pl.DataFrame, *, text_column: str, speaker: str) -> pl.DataFrame:
    """Add ``n_words`` (whole dialogue), ``speaker_turns`` and ``words_per_turn`` (rated speaker)."""
    turns = speaker_turns(frame, text_column=text_column, speaker=speaker)
    per_row = (
        turns.with_columns(pl.col("turn").str.count_matches(r"\S+").alias("_w"))
        .group_by("_row")
        .agg(pl.len().alias("speaker_turns"), pl.col("_w").mean().alias("words_per_turn"))
    )
    base = frame.with_columns(
        pl.col(text_column).fill_null("").str.count_matches(r"\S+").cast(pl.Int64).alias("n_words"),
        pl.int_range(0, pl.len(), dtype=pl.UInt32).alias("_row"),
    )
    return (
        base.join(per_row, on="_row", how="left")
        .with_columns(pl.col("speaker_turns").fill_null(0).cast(pl.Int64))
        .drop("_row")
    )


#: A numbered or quoted turn label (``2. D: "…"``, ``- P: …``): the format drift of HAL's DPO'd
#: models (hal.md §5.3), which would otherwise glue the doctor's lines into the patient's turn.
_DRIFT = r"(?m)^[ \t]*(?:\d+[.)]|[-*•])[ \t]*(\**[A-Z]{1,3}\**[ \t]*:)"


def normalise_transcript(col: pl.Expr) -> pl.Expr:
    r"""Turn labels restored to line starts (enumeration/bullets before ``P:``/``D:`` removed).

    >>> pl.select(normalise_transcript(pl.lit("1. P: hi\n2. D: yes"))).item()
    'P: hi\nD: yes'
    """
    return col.str.replace_all(_DRIFT, "$1")


#: The columns :func:`score_dialogues` writes (the judge's items are ``hl_item_*``).
SCORE_COLUMNS = (
    "n_words",
    "speaker_turns",
    "words_per_turn",
    "reward_hllite",
    "reward_judge",
    "judge_error",
    "reward",
)


def _is_score_column(name: str) -> bool:
    return name in SCORE_COLUMNS or name.startswith("hl_item_")


def _z(x: np.ndarray) -> np.ndarray:
    ok = np.isfinite(x)
    sd = float(np.std(x[ok])) if ok.sum() > 1 else 0.0
    return (x - float(np.mean(x[ok]))) / sd if sd > 0 else np.where(ok, 0.0, np.nan)


def score_dialogues(
    frame: pl.DataFrame,
    *,
    reward: str = "hllite",
    text_column: str = "dialogue",
    speaker: str = "P",
    judge_config: Any = None,
    instrument: str = "hal16q",
    judge_client: Any = None,
) -> Scored:
    """Add ``reward_hllite`` and/or ``reward_judge`` (+ the judge's item columns), ``reward``
    and the length columns. Unscored rows (no turn of ``speaker``, invalid judge answer) get a
    null ``reward`` and are left out of pairs by the caller, counted."""
    check_reward(reward)
    if text_column not in frame.columns:
        msg = f"text column {text_column!r} not found; columns are {frame.columns}"
        raise MissingColumnError(msg)
    # A table scored before (``scored.parquet``, fed back to pair under another rule) already
    # has the columns scoring adds: they are recomputed, not duplicated.
    stale = [c for c in frame.columns if c != text_column and _is_score_column(c)]
    frame = frame.drop(stale)
    scored_text = frame.select(normalise_transcript(pl.col(text_column).cast(pl.String)))
    lengths = length_columns(scored_text, text_column=text_column, speaker=speaker)
    out = pl.concat([frame, lengths.drop(text_column)], how="horizontal")
    info: dict[str, Any] = {
        "reward": reward,
        "speaker": speaker,
        "normalised": "numbered/bulleted turn labels restored before scoring",
    }
    if stale:
        info["recomputed_columns"] = stale
    if reward in ("hllite", "both"):
        lite = lite_score(scored_text, text_column=text_column, speaker=speaker)
        out = out.with_columns(lite["hl_lite_logit"].alias("reward_hllite"))
        info["hllite"] = "chatlens HL-lite (data/humanlike/hllite-weights.yaml)"
    if reward in ("judge", "both"):
        from chatlens.humanlike.judge import judge

        if judge_config is None and judge_client is None:
            msg = f"reward {reward!r} needs a judge model (--judge-model) or a client."
            raise InvalidParameterError(msg)
        res = judge(
            out.select(text_column),
            instrument=instrument,
            text_column=text_column,
            speaker=speaker,
            config=judge_config,
            client=judge_client,
        )
        items = [c for c in res.frame.columns if c.startswith("hl_item_")]
        judged = res.frame.select(
            [
                *items,
                pl.col("hl_logit").alias("reward_judge"),
                pl.col("hl_error").alias("judge_error"),
            ]
        )
        out = pl.concat([out, judged], how="horizontal")
        info["judge"] = res.summary()
    if reward == "hllite":
        out = out.with_columns(pl.col("reward_hllite").alias("reward"))
    elif reward == "judge":
        out = out.with_columns(pl.col("reward_judge").alias("reward"))
    else:
        a = out["reward_hllite"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        b = out["reward_judge"].cast(pl.Float64).fill_null(np.nan).to_numpy()
        out = out.with_columns(pl.Series("reward", (_z(a) + _z(b)) / 2.0).fill_nan(None))
    return Scored(out, reward, info)
