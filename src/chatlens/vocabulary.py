"""The shared vocabulary of chatlens: label sets and names that several layers must spell alike.

Why one module: a label set written out in two places drifts (``developer_mode`` in the detector,
``dev_mode`` in the generator; the reaction labels typed out three times). Every layer may import
this module (it is part of the base, see ``tests/test_layers.py``), and the data-file schemas in
:mod:`chatlens.datafiles` check files against these same sets, so a detector, a lexicon and a
report table cannot disagree on a name.

Word lists themselves (cues, phrases, weights) are data files, never Python lists; this module
holds only the closed sets of *names* those files and the code refer to.
"""

from __future__ import annotations

from typing import Literal

#: Canonical message roles (``messages.role``).
Role = Literal["user", "assistant", "system", "tool"]
ROLES: tuple[str, ...] = ("user", "assistant", "system", "tool")

#: Definition sets (a detector's or feature's ``profile=``, a profile file's ``definitions``):
#: ``default`` (chatlens' definitions) or ``legacy`` (the original study's). Not the analysis
#: profiles of ``data/profiles/*.yaml`` (``default``, ``rules``, ``encoder``, ``legacy``), which
#: choose stages, tables and figures and name one of these two sets.
Profile = Literal["default", "legacy"]
PROFILES: tuple[str, ...] = ("default", "legacy")

#: What a profile file (``data/profiles/*.yaml``) may ask of the report and of a stage: the
#: table set, the figures, and the run options a stage may receive.
TableSet = Literal["behaviour", "legacy"]
Figure = Literal["behaviour", "study1_comprehensive_analysis"]
RunOption = Literal["keep_text"]

#: What a user did next after a refusal, in report order; ``abandoned`` (no next user message)
#: comes from conversation structure, not from a message, so it is kept apart.
REACTIONS: tuple[str, ...] = ("rephrase", "jailbreak", "pushback", "accept", "new_topic", "clarify")
ABANDONED = "abandoned"
#: Reactions that keep asking for what was refused: a refusal followed by one of them and then by
#: an assistant reply that is not a refusal is ``overturned`` (docs/labels.md).
PERSISTENT_REACTIONS: tuple[str, ...] = ("rephrase", "jailbreak", "pushback", "clarify")

#: The reaction categories with lexical cues (``data/features/reactions.yaml``); rephrase and
#: topic change are also decided by overlap with the refused request, jailbreak by its detector.
ReactionCueCategory = Literal["pushback", "accept", "rephrase", "topic_change"]
REACTION_CUE_CATEGORIES: tuple[str, ...] = ("pushback", "accept", "rephrase", "topic_change")

#: Detector families a cue lexicon (``data/signals/patterns/*.yaml``) may belong to.
Detector = Literal["refusal", "jailbreak", "legacy-refusal", "legacy-jailbreak"]
DETECTORS: tuple[str, ...] = ("refusal", "jailbreak", "legacy-refusal", "legacy-jailbreak")

#: Jailbreak families: the values of ``jailbreak_family`` (besides ``none``), the cue kinds of
#: jailbreak lexicons and the ``family`` of reference templates.
JAILBREAK_FAMILIES: tuple[str, ...] = (
    "adversarial_suffix",
    "authority_claim",
    "developer_mode",
    "encoding",
    "fictional_framing",
    "instruction_override",
    "other",
    "persona",
    "refusal_suppression",
)

#: Evidence kinds a cue may carry, per detector family.
CUE_KINDS: dict[str, frozenset[str]] = {
    "refusal": frozenset(
        {
            "refuse",  # a direct statement of not doing the task ("i can't help with that")
            "apology",  # an apology lead-in ("i'm sorry, but")
            "policy",  # an ethics / safety / law / policy reason
            "capability",  # a limit of the system (no internet, no body, knowledge cutoff...)
            "disclaimer",  # an "as an ai / language model" self-disclaimer
            "lecture",  # moralising / "it's important to note" / "i must point out"
            "redirect",  # offering something else instead, pointing to professionals
            "withhold",  # explicitly withholding part of an otherwise given answer
            "comply",  # evidence of compliance ("sure, here is", "certainly!")
            "lookalike",  # looks like a refusal but is not ("i'm sorry to hear that")
        }
    ),
    "jailbreak": frozenset({*JAILBREAK_FAMILIES, "benign"}),  # benign: negative evidence
    "legacy-refusal": frozenset({"instrumental", "value_based"}),
    "legacy-jailbreak": frozenset({"jailbreak"}),
}

#: Refusal type a cue points to (``none`` for cues that only say "refusal").
CueType = Literal["none", "capability", "policy"]
CUE_TYPES: tuple[str, ...] = ("none", "capability", "policy")

__all__ = [
    "ABANDONED",
    "CUE_KINDS",
    "CUE_TYPES",
    "DETECTORS",
    "JAILBREAK_FAMILIES",
    "PROFILES",
    "REACTIONS",
    "PERSISTENT_REACTIONS",
    "REACTION_CUE_CATEGORIES",
    "ROLES",
    "CueType",
    "Detector",
    "Figure",
    "Profile",
    "ReactionCueCategory",
    "Role",
    "RunOption",
    "TableSet",
]

#: Labels chatlens writes into a group column of its tables: ``(unknown)`` for a missing model
#: or language, ``(all)`` for the pooled row. A log's own value spelled like one of them is shown
#: as ``<label> (as named)`` (:func:`keep_apart_from_placeholders`), so it is never merged with
#: the placeholder's rows.
UNKNOWN_LABEL = "(unknown)"
ALL_LABEL = "(all)"
PLACEHOLDER_LABELS: tuple[str, ...] = (UNKNOWN_LABEL, ALL_LABEL)


def keep_apart_from_placeholders(value: str | None) -> str | None:
    """A group value as tables show it: a value equal to a placeholder label gets ``(as named)``
    appended (null stays null; the caller decides what a null shows as).

    >>> keep_apart_from_placeholders("(all)"), keep_apart_from_placeholders("gpt-4")
    ('(all) (as named)', 'gpt-4')
    """
    return f"{value} (as named)" if value in PLACEHOLDER_LABELS else value


#: Characters a reader never sees as themselves: C0/C1 controls (tab and newline kept), zero-width
#: marks and joiners, bidirectional embeddings, overrides and isolates, the byte-order mark. A
#: regex class (polars and ``re``): the report's excerpts, the audit's reading sheet and the
#: instrument report remove or mark them, since HTML escaping leaves them alone and a U+202E
#: reverses the text after it.
UNSAFE_CHARS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"

#: Characters that act instead of showing where text is drawn or printed: C0/C1 controls but tab
#: and newline (terminal escape sequences; in an SVG not even allowed) and the bidirectional
#: embeddings, overrides and isolates. A regex class: the terminal's ``printable`` and the
#: figures' labels show each as U+FFFD (the zero-width marks of :data:`UNSAFE_CHARS` stay).
CONTROL_AND_BIDI_CHARS = r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
