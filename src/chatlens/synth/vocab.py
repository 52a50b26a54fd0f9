"""The generator's vocabulary: the kinds of text it composes and the labels it plants.

Why one module: the phrase banks (:mod:`chatlens.synth.bank`), the configuration
(:mod:`chatlens.synth.config`), the renderer and the simulator all index into these tuples, and
the ground-truth columns store their values, so they must be defined once.
"""

from __future__ import annotations

from chatlens import vocabulary

#: The OpenAI moderation categories of LMSYS-Chat-1M, in the dataset's order.
MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

JAILBREAK_FAMILIES: tuple[str, ...] = (
    "instruction_override",
    "persona",
    "dev_mode",
    "fictional",
    "authority",
    "prefix_suppression",
    "adversarial_suffix",
    "obfuscation",
    "other",
)

#: Every language file must define templates for each of these kinds (the generator composes
#: messages from them; see :mod:`chatlens.synth.simulate`). ``user`` kinds are user text.
USER_KINDS: tuple[str, ...] = (
    "ask",
    "ask_code",
    "ask_greet",
    "ask_trap",
    "ask_edgy",
    "ask_harm",
    "ask_cap",
    "ask_suffix",
    "followup",
    "topic_change",
    "rephrase_harm",
    "rephrase_cap",
    "pushback",
    "accept",
    *(f"jailbreak.{f}" for f in JAILBREAK_FAMILIES),
)
ASSISTANT_KINDS: tuple[str, ...] = (
    "intro",
    "body",
    "list_intro",
    "list_item",
    "closing",
    "code_intro",
    "code_outro",
    "greet_reply",
    "disclaimer_intro",
    "cap_answer",
    "edgy_answer",
    "trap_answer",
    "lookalike_lead",
    "lookalike_inline",
    "lookalike_story",
    "lookalike_code",
    "refusal_direct",
    "refusal_lecture",
    "refusal_redirect",
    "safety_body",
    "refusal_cap",
    "refusal_mixed",
    "refusal_repeat",
    "partial_lead_policy",
    "partial_tail_policy",
    "partial_lead_cap",
    "cap_body",
    "comply_harm",
    "jailbreak_prefix",
    "concede",
    "accept_reply",
)
#: Model-family refusal signatures: optional kinds (a language may omit them; models whose config
#: names a signature use it only where the language has it).
SIGNATURES: tuple[str, ...] = ("llama2", "claude", "vicuna", "gpt")
OPTIONAL_KINDS: tuple[str, ...] = tuple(f"refusal_signature.{s}" for s in SIGNATURES)
KINDS: tuple[str, ...] = USER_KINDS + ASSISTANT_KINDS + OPTIONAL_KINDS
KIND_ID: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

SENTIMENTS: tuple[str, ...] = ("neg", "neu", "pos")
LANGUAGE_FILES: tuple[str, ...] = ("en", "zh", "es", "ru", "pt", "fr", "de", "it", "ja", "ko")

#: Refusal types of the ground truth (``refusal_type``), with their integer codes.
REFUSAL_TYPES: tuple[str, ...] = ("none", "capability", "policy", "mixed")
NONE, CAP, POLICY, MIXED = 0, 1, 2, 3
#: What a user did right after a refusal (``reaction``): the detectors' vocabulary, less
#: ``clarify`` (the generator's refusals never ask the user for anything, so it never writes one).
REACTIONS = tuple(r for r in vocabulary.REACTIONS if r != "clarify")
#: The kinds of a fresh request, in the order of the simulator's request codes.
REQUEST_KINDS: tuple[str, ...] = ("ask", "ask_code", "ask_greet", "ask_trap", "ask_edgy", "ask_cap", "ask_harm")

#: Value of the ground-truth ``kind`` column: what generated the message.
LABELS: tuple[str, ...] = (
    *REQUEST_KINDS,
    "followup",
    "rephrase",
    "jailbreak",
    "pushback",
    "accept",
    "answer",
    "answer_code",
    "answer_greeting",
    "answer_cap",
    "answer_edgy",
    "answer_trap",
    "comply_harm",
    "concede",
    "accept_reply",
    "refusal_direct",
    "refusal_signature",
    "refusal_lecture",
    "refusal_redirect",
    "refusal_late",
    "refusal_partial",
    "refusal_cap",
    "refusal_mixed",
    "refusal_repeat",
)
LABEL_ID = {k: i for i, k in enumerate(LABELS)}


__all__ = [
    "ASSISTANT_KINDS",
    "CAP",
    "JAILBREAK_FAMILIES",
    "KINDS",
    "KIND_ID",
    "LABELS",
    "LABEL_ID",
    "LANGUAGE_FILES",
    "MIXED",
    "MODERATION_CATEGORIES",
    "NONE",
    "OPTIONAL_KINDS",
    "POLICY",
    "REACTIONS",
    "REFUSAL_TYPES",
    "REQUEST_KINDS",
    "SENTIMENTS",
    "SIGNATURES",
    "USER_KINDS",
]
