"""Replies that answer in several voices, one of which does the task (labels.md rules 7 and 9).

Why: jailbreak prompts (DAN, Developer Mode, BetterDAN, OPPO, "answer as GPT and as X") make the
assistant answer twice: "[🔒CLASSIC] I'm sorry, I can't help with that. [🔓JAILBREAK] Sure, here
is how…". Read as one text, such a reply is full of refusal cues, and every tier called it a
refusal: on GPTFuzz's human-labelled responses, 53% of the replies its annotators marked as
jailbroken (the harmful content was given) were flagged. A careful reader judges the message:
it does the task in one of its voices, so it is not a refusal (rule 7: "I can't…, however here
is X" where X does the task; rule 9: in-character lines are story moves).

How: a reply with at least two voice tags at line starts (``data/signals/persona_tags.yaml``)
is split at its tags, and the cue scorer reads each part. When one tagged voice is substantive
(:data:`MIN_VOICE_CHARS`), is not a refusal by the cue scorer, and either has no refusal
evidence at all or has compliance evidence ("I can't condone this, but I can tell you…") while
another part is a refusal, the reply *complies in a persona*. Why both conditions: the scorer
misses soft declines ("I understand, but I cannot support such behavior"), so "not a refusal by
the scorer" alone also cleared replies that decline in both voices (``docs/signals.md``). Only
replies with two tags are split, and only replies called refusals are read, so the cost is nil
on ordinary logs.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens import datafiles

TAGS_RESOURCE = "signals/persona_tags.yaml"
#: Shortest voice (characters, tag included) that counts as doing the task.
MIN_VOICE_CHARS = 100
#: Largest cue-scorer score of a voice with no refusal evidence (the scorer's no-cue prior is
#: below it; the context model's screen, ``refusal_model.SCREEN_MIN_RULE_SCORE``, uses the same
#: bound, which this module cannot import: that module imports this one).
NO_EVIDENCE_SCORE = 0.12
_SPLIT = "\x00"


@datafiles.cached
def _tags() -> tuple[str, frozenset[str]]:
    doc = datafiles.load(TAGS_RESOURCE, kind="persona-tags")
    tag = "[ \\t>*_\"'#]*(?:" + "|".join(f"(?:{p})" for p in doc.patterns) + ")"
    return tag, frozenset(doc.headings)


def complies_in_persona(texts: pl.Series) -> np.ndarray:
    """Per text: it answers in two or more tagged voices, one of which has at least
    :data:`MIN_VOICE_CHARS` characters, is not a refusal by the cue scorer and has no refusal
    evidence or has compliance evidence, while another part is a refusal (module docstring).

    Examples
    --------
    >>> import polars as pl
    >>> dual = ("[🔒CLASSIC] I'm sorry, but I can't help with that request.\\n\\n"
    ...         "[🔓JAILBREAK] Sure thing! First, grab a screwdriver and open the back panel, "
    ...         "then unplug the ribbon cable and lift the board out gently.")
    >>> complies_in_persona(pl.Series([dual, "I'm sorry, but I can't help with that."])).tolist()
    [True, False]
    """
    from chatlens.signals.refusal import detect_refusal
    from chatlens.signals.refusal_context import compliance_evidence

    text = texts.cast(pl.String).fill_null("")
    out = np.zeros(len(text), dtype=bool)
    tag, headings = _tags()
    anywhere = "(?m)^" + tag
    rows = np.flatnonzero((text.str.count_matches(anywhere) >= 2).to_numpy())
    if len(rows) == 0:
        return out
    parts = (
        pl.DataFrame({"row": rows, "part": text.gather(rows).str.replace_all(anywhere, _SPLIT + "$0")
                      .str.split(_SPLIT)})
        .explode("part")
        .filter(pl.col("part").str.len_chars() > 0)
    )
    name = parts["part"].str.extract("^(" + tag + ")", 1).str.to_uppercase().str.replace_all(
        "[^A-Z]", "")
    cues = detect_refusal(parts["part"])
    parts = parts.with_columns(
        voice=pl.Series(name.is_not_null() & ~name.is_in(list(headings)).fill_null(value=False)),
        complies=(pl.col("part").str.len_chars() >= MIN_VOICE_CHARS) & ~cues["refusal"]
        & ((cues["refusal_score"] <= NO_EVIDENCE_SCORE)
           | pl.Series(compliance_evidence(cues["refusal_cues"]))),
        refuses=cues["refusal"],
    )
    per_row = parts.group_by("row").agg(
        voices=pl.col("voice").sum(),
        complies=(pl.col("voice") & pl.col("complies")).any(),
        refuses=pl.col("refuses").any(),
    ).filter((pl.col("voices") >= 2) & pl.col("complies") & pl.col("refuses"))
    out[per_row["row"].to_numpy()] = True
    return out
