"""Per-message signals: refusal and jailbreak detectors, their lexicons and the legacy profile.

Detectors are pure batch functions over polars Series (one output row per input, input
unchanged, deterministic, null-safe):

* :func:`detect_refusal` — ``refusal, refusal_type, refusal_partial, refusal_score,
  refusal_cues, disclaimer`` for assistant messages (``profile="legacy"`` adds
  ``refusal_type_legacy``);
* :func:`detect_jailbreak` — ``jailbreak, jailbreak_score, jailbreak_family, jailbreak_cues`` for
  user messages;
* :func:`classify_refusal` / :func:`classify_jailbreak` — the same on CSV/JSONL/Parquet files;
  :func:`classify_file` with :func:`refusal_detector` / :func:`jailbreak_detector` streams
  files larger than memory.

Names resolve lazily so that ``import chatlens.signals`` stays light.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "detect_refusal": "chatlens.signals.refusal:detect_refusal",
    "detect_jailbreak": "chatlens.signals.jailbreak:detect_jailbreak",
    "classify_refusal": "chatlens.signals.classify:classify_refusal",
    "classify_jailbreak": "chatlens.signals.classify:classify_jailbreak",
    "classify_file": "chatlens.signals.classify:classify_file",
    "refusal_detector": "chatlens.signals.classify:refusal_detector",
    "jailbreak_detector": "chatlens.signals.classify:jailbreak_detector",
    "legacy_refusal_labels": "chatlens.signals.legacy:legacy_refusal_labels",
    "legacy_profanity_count": "chatlens.signals.legacy:legacy_profanity_count",
    "load_lexicon": "chatlens.signals.lexicon:load_lexicon",
    "bundled_lexicons": "chatlens.signals.lexicon:bundled_lexicons",
    "Scanner": "chatlens.signals.scanner:Scanner",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports("chatlens.signals", globals(), _LAZY)
