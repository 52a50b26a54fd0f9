"""Per-conversation behaviour: reactions to refusals, abandonment with a baseline, affect.

Layer 4 of the one-way flow (source → corpus → signals → **features** → statistics → report).
Input: the canonical messages frame *with* the signals columns (``refusal``, ``refusal_type``,
``refusal_partial`` on assistant rows; ``jailbreak`` on user rows) and optionally the
conversations table. Everything is a pure batch function over polars frames (window operations
over ``(conversation_id, message_index)``; input unchanged; deterministic):

* :func:`user_reactions` — rephrase / jailbreak / pushback / accept / new_topic / clarify for each user
  message right after a refusal, with similarity and cue evidence;
* :func:`turn_endings` — per assistant message: did the conversation end right after it (the
  baseline for abandonment);
* :func:`conversation_features` — one row per conversation (``profile="legacy"`` reproduces the
  original study's table);
* :func:`sentiment`, :func:`profanity_count`, :func:`legacy_profanity_count` — affect scorers;
* :func:`validate_on_synth`, :func:`validate_on_tweeteval` — measured quality.

Names resolve lazily so ``import chatlens.features`` stays light.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "user_reactions": "chatlens.features.reactions:user_reactions",
    "ReactionRules": "chatlens.features.reactions:ReactionRules",
    "REACTIONS": "chatlens.features.reactions:REACTIONS",
    "turn_endings": "chatlens.features.abandonment:turn_endings",
    "conversation_features": "chatlens.features.conversation:conversation_features",
    "legacy_conversation_features": "chatlens.features.legacy:legacy_conversation_features",
    "sentiment": "chatlens.features.affect:sentiment",
    "vader_compound": "chatlens.features.affect:vader_compound",
    "profanity_count": "chatlens.features.affect:profanity_count",
    "legacy_profanity_count": "chatlens.signals.legacy:legacy_profanity_count",
    "text_similarity": "chatlens.features.similarity:text_similarity",
    "validate_on_synth": "chatlens.features.validate:validate_on_synth",
    "validate_on_tweeteval": "chatlens.features.validate:validate_on_tweeteval",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports("chatlens.features", globals(), _LAZY)
