"""VADER (vaderSentiment 3.3.2, MIT licence) with stock scores at a fraction of its cost.

Why: most texts are scored in column operations (:mod:`chatlens.features._vader_columns`); this
per-text scorer takes the rest (non-ASCII text, "but", multi-word idioms) and is the reference
the column path is tested against. Stock VADER spends its time on work that cannot change the
score:

* ``_negation_check`` and ``_special_idioms_check`` lower-case the *whole* message's word list on
  every call (up to three times per sentiment word): quadratic in the message length. Both read
  only the words ``i-3 .. i+2`` around word ``i``, so they get that window.
* a text without emoji goes through a character-by-character emoji pass that returns it unchanged.
* the compound is the normalised sum of the word scores, and a word outside the lexicon (or a
  booster, or "kind" before "of") scores 0, so :meth:`WindowedVader.compound` scores only the
  lexicon words, with the words lower-cased once (``str.lower`` is idempotent, so the stock
  code's repeated ``lower()`` of a lower-cased word changes nothing), and the idiom check runs
  only where a word of an idiom is in the window.

Every rule is the stock one, in the stock order; tests compare both entry points with stock VADER
on hand-picked and random sentences built to hit every rule.
"""

from __future__ import annotations

import string
from functools import cache
from typing import Any

_PUNCTUATION = string.punctuation


@cache
def vader() -> Any:
    """The shared :class:`WindowedVader` (the lexicon is read once per process)."""
    from vaderSentiment.vaderSentiment import (
        BOOSTER_DICT,
        C_INCR,
        N_SCALAR,
        NEGATE,
        SPECIAL_CASES,
        SentimentIntensityAnalyzer,
        SentiText,
        normalize,
        scalar_inc_dec,
    )

    negate = frozenset(NEGATE)
    # every word of an idiom or a multi-word booster: a window without one of them cannot match
    idiom_words = frozenset(
        w for key in (*SPECIAL_CASES, *BOOSTER_DICT) if " " in key for w in key.split(" ")
    )

    def negated(word: str) -> bool:
        """Stock ``negated([word])`` for an already lower-cased word."""
        return word in negate or "n't" in word

    class WindowedVader(SentimentIntensityAnalyzer):
        """Stock VADER scores; see the module docstring for what is skipped and why."""

        def polarity_scores(self, text: str) -> dict[str, float]:
            if not self._emoji_chars.isdisjoint(text):
                return super().polarity_scores(text)
            # vaderSentiment 3.3.2's polarity_scores after its emoji pass
            text = text.strip()
            sentitext = SentiText(text)
            sentiments: list[float] = []
            words = sentitext.words_and_emoticons
            for i, item in enumerate(words):
                if item.lower() in BOOSTER_DICT or (
                    i < len(words) - 1 and item.lower() == "kind" and words[i + 1].lower() == "of"
                ):
                    sentiments.append(0)
                    continue
                sentiments = self.sentiment_valence(0, sentitext, item, i, sentiments)
            return self.score_valence(self._but_check(words, sentiments), text)

        def compound(self, text: str) -> float:
            """``polarity_scores(text)["compound"]``, scoring only the words in the lexicon.

            ``_but_check`` (which rewrites the scores in place, by value) still gets the full
            list with its zeros; without "but" the zeros add nothing to the sum (x + 0 == x).
            """
            if not self._emoji_chars.isdisjoint(text):
                return super().polarity_scores(text)["compound"]
            # SentiText's words: split on whitespace, strip punctuation unless <= 2 chars remain
            words = [s if len(s := w.strip(_PUNCTUATION)) > 2 else w for w in text.split()]
            lower = [w.lower() for w in words]
            lexicon = self.lexicon
            if lexicon.keys().isdisjoint(lower):
                return 0.0
            n = len(words)
            allcaps = sum(map(str.isupper, words))
            cap_diff = 0 < n - allcaps < n
            hits: dict[int, float] = {}
            for i, w in enumerate(lower):
                if (
                    w not in lexicon
                    or w in BOOSTER_DICT
                    or (w == "kind" and i < n - 1 and lower[i + 1] == "of")
                ):
                    continue
                hits[i] = self._valence(words, lower, i, cap_diff=cap_diff)
            if "but" in lower:
                sentiments: list[float] = [0] * n
                for i, v in hits.items():
                    sentiments[i] = v
                total = float(sum(self._but_check(words, sentiments)))
            else:
                total = float(sum(hits.values()))
            if total > 0:
                total += self._punctuation_emphasis(text)
            elif total < 0:
                total -= self._punctuation_emphasis(text)
            return round(normalize(total), 4)

        def _valence(self, words: list[str], lower: list[str], i: int, *, cap_diff: bool) -> float:
            """Stock ``sentiment_valence`` of lexicon word ``i`` (its checks inlined over
            ``lower``, the lower-cased words)."""
            lexicon = self.lexicon
            n = len(words)
            valence = lexicon[lower[i]]
            if lower[i] == "no" and i != n - 1 and lower[i + 1] in lexicon:
                valence = 0.0
            if (
                (i > 0 and lower[i - 1] == "no")
                or (i > 1 and lower[i - 2] == "no")
                or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor"))
            ):
                valence = lexicon[lower[i]] * N_SCALAR
            if words[i].isupper() and cap_diff:
                valence = valence + C_INCR if valence > 0 else valence - C_INCR
            for start_i in range(3):
                j = i - (start_i + 1)
                if i > start_i and lower[j] not in lexicon:
                    s = scalar_inc_dec(words[j], valence, cap_diff) if lower[j] in BOOSTER_DICT else 0.0
                    if start_i == 1 and s != 0:
                        s = s * 0.95
                    if start_i == 2 and s != 0:
                        s = s * 0.9
                    valence = valence + s
                    valence = _negation(valence, lower, start_i, i)
                    if start_i == 2 and not idiom_words.isdisjoint(lower[i - 3 : i + 3]):
                        valence = SentimentIntensityAnalyzer._special_idioms_check(
                            valence, lower[i - 3 : i + 3], 3
                        )
            # _least_check
            if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
                if lower[i - 2] != "at" and lower[i - 2] != "very":
                    valence = valence * N_SCALAR
            elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
                valence = valence * N_SCALAR
            return valence

        def _negation_check(self, valence: float, words: list, start_i: int, i: int) -> float:
            lo = max(0, i - 3)
            return SentimentIntensityAnalyzer._negation_check(
                valence, words[lo : i + 3], start_i, i - lo
            )

        def _special_idioms_check(self, valence: float, words: list, i: int) -> float:
            lo = max(0, i - 3)
            return SentimentIntensityAnalyzer._special_idioms_check(
                valence, words[lo : i + 3], i - lo
            )

    def _negation(valence: float, lower: list[str], start_i: int, i: int) -> float:
        """Stock ``_negation_check`` over the lower-cased words."""
        if start_i == 0:
            if negated(lower[i - 1]):
                valence = valence * N_SCALAR
        elif start_i == 1:
            if lower[i - 2] == "never" and (lower[i - 1] == "so" or lower[i - 1] == "this"):
                valence = valence * 1.25
            elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
                pass
            elif negated(lower[i - 2]):
                valence = valence * N_SCALAR
        elif (lower[i - 3] == "never" and (lower[i - 2] == "so" or lower[i - 2] == "this")) or (
            lower[i - 1] == "so" or lower[i - 1] == "this"
        ):
            valence = valence * 1.25
        elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
            pass
        elif negated(lower[i - 3]):
            valence = valence * N_SCALAR
        return valence

    analyzer = WindowedVader()
    analyzer._emoji_chars = frozenset(analyzer.emojis)
    return analyzer


__all__ = ["vader"]
