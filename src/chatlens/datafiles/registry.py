"""Which kinds of data file exist, and which kind each bundled file is.

Why a registry: "is this file valid?" needs to know what the file is. A kind names a schema
(:mod:`chatlens.datafiles.schemas`) and, where the file's meaning needs a higher layer to check
(regexes compiled, macros expanded, a JSON schema understood), that layer's builder as a
``"module:attr"`` string, imported only when a file is validated: the base layer never imports
the layers above it. Every file under ``chatlens/data/`` matches exactly one entry of
:data:`BUNDLED` (``tests/test_bundled_data.py`` fails on a file nobody registered).

Adding a data file: put it under ``chatlens/data/<layer>/``, add a ``(pattern, kind)`` line to
:data:`BUNDLED`, and, for a new kind, a schema in ``schemas.py`` and a :class:`Kind` here.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from types import MappingProxyType
from typing import Any

from chatlens._lazy import import_target
from chatlens.datafiles import schemas as s
from chatlens.errors import InvalidParameterError


@dataclass(frozen=True)
class Kind:
    """A kind of data file: its schema and, optionally, the builder that gives it meaning.

    ``schema`` is ``None`` only for kinds whose module has not moved onto a schema yet (their
    builder still validates the raw mapping by hand). The builder is called as
    ``builder(document, file)`` and raises a ChatlensError on a bad file.
    """

    name: str
    schema: type[s.DataFile] | None
    description: str
    builder: str | None = None
    prepare: str | None = None

    def build(self, document: Any, file: str) -> Any:
        """Run the kind's builder (the domain-level checks); the document when there is none."""
        if self.builder is None:
            return document
        return import_target(self.builder)(document, file)

    def prepared(self, data: Any, file: str) -> Any:
        """The parsed file as its schema sees it: after the kind's ``prepare`` hook, if any.

        A hook (``"module:attr"``, called as ``hook(data, file)``) resolves what must be merged
        before a file can be checked on its own, such as an instrument's ``extends:``.
        """
        return data if self.prepare is None else import_target(self.prepare)(data, file)


_KINDS = (
    Kind("roles", s.RoleNames, "raw role names per canonical role"),
    Kind("cue-lexicon", s.CueLexiconFile, "refusal / jailbreak cue lexicon",
         "chatlens.signals.lexicon:check_lexicon"),
    Kind("word-list", s.WordList, "a plain list of words"),
    Kind("jailbreak-templates", s.JailbreakTemplates, "reference jailbreak templates"),
    Kind("learned-refusal-weights", s.LearnedRefusalWeights, "learned refusal model (JSON)",
         "chatlens.signals.learned:LearnedRefusal.from_file"),
    Kind("regex-list", s.RegexList, "regex features of a learned tier",
         "chatlens.signals.refusal_context:regex_list_from_file"),
    Kind("persona-tags", s.PersonaTags, "voice tags of multi-persona replies"),
    Kind("refusal-model-weights", s.RefusalModelWeights, "context refusal model (JSON)",
         "chatlens.signals.refusal_model:RefusalModel.from_file"),
    Kind("refusal-encoder-weights", None, "fine-tuned refusal encoder and data card (JSON)",
         "chatlens.signals.refusal_encoder:EncoderWeights.from_file"),
    Kind("jailbreak-model-weights", None, "learned jailbreak model (JSON)",
         "chatlens.signals.jailbreak_learned:LearnedJailbreak.from_file"),
    Kind("labelled-set", s.LabelledSetFile, "ids and labels of a labelled development set"),
    Kind("reaction-cues", s.ReactionCues, "reaction cue phrases per language"),
    Kind("reaction-model-cues", s.ReactionModelCues, "context cues of the learned reaction model"),
    Kind("reaction-model-weights", s.ReactionModelWeights, "learned reaction model and data card (JSON)",
         "chatlens.features.reaction_model:ReactionModel.from_file"),
    Kind("profanity-lexicon", s.ProfanityWords, "profanity words and stems per language"),
    Kind("sentiment-lexicon", s.SentimentWords, "sentiment thresholds and word lists"),
    Kind("language-names", s.LanguageNames, "language name -> ISO 639 code"),
    Kind("hllite-lexicons", s.HlliteLexicons, "HL-lite word lists"),
    Kind("hllite-weights", s.HlliteWeights, "HL-lite model weights",
         "chatlens.humanlike.lite_model:model_from_file"),
    Kind("instrument", s.InstrumentFile, "questionnaire instrument (HAL16Q, HAL32Q, ...)",
         "chatlens.humanlike.instrument_schema:instrument_from_document",
         prepare="chatlens.humanlike.instruments:resolve_extends"),
    Kind("discovery-prompt", s.DiscoveryPrompt, "LLM prompt of instrument discovery",
         "chatlens.instrument.prompts:prompt_from_file"),
    Kind("discovery-defaults", s.DiscoveryDefaults, "instrument discovery parameters and template"),
    Kind("price-table", s.PriceList, "LLM token prices"),
    Kind("label-prompt", s.LabelPromptFile, "LLM labelling prompt",
         "chatlens.llm.labels:label_prompt_from_file"),
    Kind("reask-prompt", s.ReaskPrompt, "LLM re-ask message"),
    Kind("outcome-scale", s.OutcomeLabels, "pairwise outcome label -> score of A",
         "chatlens.ratings.outcomes:scale_from_file"),
    Kind("style-features", s.StylePatterns, "markdown style feature regexes",
         "chatlens.ratings.style:style_from_file"),
    Kind("profile", s.ProfileFile, "analysis profile: stages, tables, figures, definitions",
         "chatlens.pipeline.profile:profile_from_document"),
    Kind("report-definitions", s.ReportDefinitions, "definitions printed in reports"),
    Kind("report-presentation", s.ReportPresentation, "report thresholds, labels and wording"),
    Kind("signal-accuracy", s.SignalAccuracyFile, "signals' measured accuracy on real labelled data"),
    Kind("synth-config", s.SynthConfigFile, "synthetic corpus generator configuration",
         "chatlens.synth.config:parse_config"),
    Kind("synth-common", s.SynthCommonFile, "synthetic corpus shared slots and templates",
         "chatlens.synth.bank:parse_bank"),
    Kind("synth-bank", s.SynthBankFile, "synthetic corpus phrase bank of one language",
         "chatlens.synth.bank:parse_bank"),
    Kind("align-prompts", s.AlignPrompts, "persona biography, dialogue and training prompts"),
    Kind("align-oversampling", s.AlignOversampling, "sub-persona oversampling rule parameters"),
    Kind("align-train-config", s.AlignTrainConfig, "alignment training run (DPO/GRPO, LoRA)"),
)
KINDS: Mapping[str, Kind] = MappingProxyType({k.name: k for k in _KINDS})

#: Bundled files (paths under ``chatlens/data``; ``*`` never crosses a ``/``) and their kinds.
#: The first matching pattern wins.
BUNDLED: tuple[tuple[str, str], ...] = (
    ("align/prompts.yaml", "align-prompts"),
    ("align/oversampling.yaml", "align-oversampling"),
    ("align/configs/*.yaml", "align-train-config"),
    ("corpus/roles.yaml", "roles"),
    ("features/languages.yaml", "language-names"),
    ("features/profanity.yaml", "profanity-lexicon"),
    ("features/reactions.yaml", "reaction-cues"),
    ("features/reaction_model.yaml", "reaction-model-cues"),
    ("features/reaction_model.json", "reaction-model-weights"),
    ("features/sentiment.yaml", "sentiment-lexicon"),
    ("humanlike/hllite-weights.yaml", "hllite-weights"),
    ("humanlike/lexicons.yaml", "hllite-lexicons"),
    ("instruments/*.yaml", "instrument"),
    ("instruments/examples/*.yaml", "instrument"),
    ("instrument/defaults.yaml", "discovery-defaults"),
    ("instrument/*.yaml", "discovery-prompt"),
    ("llm/prices.yaml", "price-table"),
    ("llm/reask.yaml", "reask-prompt"),
    ("llm/reaction.yaml", "label-prompt"),
    ("llm/refusal_type.yaml", "label-prompt"),
    ("profiles/*.yaml", "profile"),
    ("ratings/outcomes.yaml", "outcome-scale"),
    ("ratings/style_features.yaml", "style-features"),
    ("report/definitions.yaml", "report-definitions"),
    ("report/presentation.yaml", "report-presentation"),
    ("signals/refusal_learned.json", "learned-refusal-weights"),
    ("signals/refusal_model.json", "refusal-model-weights"),
    ("signals/refusal_encoder.json", "refusal-encoder-weights"),
    ("signals/jailbreak_learned.json", "jailbreak-model-weights"),
    ("signals/refusal_context_cues.yaml", "regex-list"),
    ("signals/request_openers.yaml", "regex-list"),
    ("signals/request_intents.yaml", "regex-list"),
    ("signals/self_questions.yaml", "regex-list"),
    ("signals/persona_tags.yaml", "persona-tags"),
    ("validation/real_accuracy.json", "signal-accuracy"),
    ("validation/*.json", "labelled-set"),
    ("signals/patterns/refusal_*.yaml", "cue-lexicon"),
    ("signals/patterns/jailbreak_*.yaml", "cue-lexicon"),
    ("signals/patterns/legacy_refusal.yaml", "cue-lexicon"),
    ("signals/patterns/legacy_jailbreak.yaml", "cue-lexicon"),
    ("signals/patterns/legacy_profanity.yaml", "word-list"),
    ("signals/patterns/wordlist_*.yaml", "word-list"),
    ("signals/patterns/templates_*.yaml", "jailbreak-templates"),
    ("synth/config.yaml", "synth-config"),
    ("synth/common.yaml", "synth-common"),
    ("synth/*.yaml", "synth-bank"),
)


def _matches(parts: list[str], pattern: str) -> bool:
    want = pattern.split("/")
    return len(parts) == len(want) and all(fnmatchcase(p, w) for p, w in zip(parts, want, strict=True))


def bundled_kind(relative: str) -> str | None:
    """The kind of a file at ``relative`` (posix path under the data root), or ``None``."""
    parts = relative.split("/")
    return next((kind for pattern, kind in BUNDLED if _matches(parts, pattern)), None)


def infer_kind(parts: list[str]) -> str | None:
    """The kind of a file on disk, from its path: trailing segments that match a bundled pattern
    (``.../signals/patterns/refusal_xx.yaml``), else a file name only one kind uses
    (``refusal_xx.yaml``, ``prices.yaml``); ``None`` when the path does not say."""
    for pattern, kind in BUNDLED:
        n = pattern.count("/") + 1
        if len(parts) >= n and _matches(parts[-n:], pattern):
            return kind
    names = {kind for pattern, kind in BUNDLED
             if not (last := pattern.rsplit("/", 1)[-1]).startswith("*") and fnmatchcase(parts[-1], last)}
    return names.pop() if len(names) == 1 else None


def get_kind(name: str) -> Kind:
    """The registered kind ``name``; unknown names get suggestions."""
    if name in KINDS:
        return KINDS[name]
    close = difflib.get_close_matches(name, list(KINDS), n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    msg = f"Unknown data file kind {name!r}.{hint} Available: {sorted(KINDS)}."
    raise InvalidParameterError(msg)


__all__ = ["BUNDLED", "KINDS", "Kind", "bundled_kind", "get_kind", "infer_kind"]
