"""HL-lite as GRPO's reward function: on-policy training with no judge call.

TRL calls ``reward(prompts=..., completions=..., **columns)`` with a batch of completions (text,
or message lists for conversational prompts) and wants one float each. HL-lite scores the batch in
one vectorised pass. A completion with no turn of the rated speaker (a model that stopped writing
``P:`` lines) gets ``no_turn_reward``, a floor, rather than NaN.

The optional length penalty, ``length_penalty · |log(words per turn / length_target_words)|``,
pulls the patient's turns toward a target length from both sides, so the policy cannot buy reward
with ever shorter turns (HAL's DPO halved words per turn, hal.md §5.3).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from chatlens.align.rewards import length_columns, normalise_transcript
from chatlens.humanlike.lite import lite_score


def completion_text(c: Any) -> str:
    """A completion's text: a string, or the concatenated contents of a message list."""
    if isinstance(c, str):
        return c
    if isinstance(c, list):
        return "\n".join(str(m.get("content", "")) for m in c if isinstance(m, dict))
    return str(c)


def hllite_rewards(
    texts: list[str],
    *,
    speaker: str = "P",
    length_penalty: float = 0.0,
    length_target_words: float = 20.0,
    no_turn_reward: float = -10.0,
) -> np.ndarray:
    """HL-lite logit per text, minus the length penalty; ``no_turn_reward`` where unscorable.

    >>> r = hllite_rewards(["P: ya my knee hurts lol\\nD: ok", "no speaker here"])
    >>> bool(np.isfinite(r[0])), float(r[1])
    (True, -10.0)
    """
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String}).select(
        normalise_transcript(pl.col("t")).alias("t")
    )
    scored = lite_score(frame, text_column="t", speaker=speaker)
    logit = scored["hl_lite_logit"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    if length_penalty > 0:
        wpt = length_columns(frame, text_column="t", speaker=speaker)["words_per_turn"]
        w = wpt.cast(pl.Float64).fill_null(np.nan).to_numpy()
        logit = logit - length_penalty * np.abs(np.log(np.maximum(w, 1.0) / length_target_words))
    return np.where(np.isfinite(logit), logit, no_turn_reward)


def make_reward_function(
    *,
    speaker: str = "P",
    length_penalty: float = 0.0,
    length_target_words: float = 20.0,
    no_turn_reward: float = -10.0,
) -> Any:
    """The function TRL's ``GRPOTrainer`` calls (named ``hllite`` in its logs)."""

    def hllite(prompts: Any = None, completions: Any = None, **_: Any) -> list[float]:
        texts = [completion_text(c) for c in (completions or [])]
        return hllite_rewards(
            texts,
            speaker=speaker,
            length_penalty=length_penalty,
            length_target_words=length_target_words,
            no_turn_reward=no_turn_reward,
        ).tolist()

    return hllite
