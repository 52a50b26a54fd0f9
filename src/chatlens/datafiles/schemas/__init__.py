"""Typed schemas of every kind of bundled data file: frozen dataclasses checked by ``_check``.

Why here, in the base layer: a schema says what a *valid file* is (keys, types, closed label
sets from :mod:`chatlens.vocabulary`), which ``chatlens validate --data-file`` must check without
running the analysis. What a file *means* (regexes compiled, macros expanded, labels normalised)
stays with the layer that uses it, in the builder the registry names for each kind.

Every schema derives from :class:`DataFile` (``name``, ``version``, ``source``: the provenance a
run manifest records). A key absent or null takes the field's default; a key not declared here
is an error.

One module per layer whose files they describe (``corpus_signals``, ``features``, ``humanlike``,
``instrument``, ``llm``, ``synth``, ``report``), sharing the value types of ``_base``; import them from here.
"""

from __future__ import annotations

from chatlens.datafiles.schemas._base import DataFile
from chatlens.datafiles.schemas.align import (
    AlignOversampling,
    AlignPrompts,
    AlignTemplate,
    AlignTrainConfig,
    GrpoSpec,
    LoraSpec,
)
from chatlens.datafiles.schemas.corpus_signals import (
    CueLexiconFile,
    CueSpec,
    JailbreakTemplates,
    LabelledSetFile,
    LearnedRefusalWeights,
    PersonaTags,
    RefusalModelWeights,
    RegexList,
    RoleNames,
    TemplateSpec,
    WordList,
)
from chatlens.datafiles.schemas.features import (
    LanguageNames,
    ProfanityLanguage,
    ProfanityWords,
    ReactionCues,
    ReactionModelCues,
    ReactionModelWeights,
    SentimentLanguage,
    SentimentThresholds,
    SentimentWords,
    Thresholds,
)
from chatlens.datafiles.schemas.humanlike import (
    GroupSpec,
    HlliteLexicons,
    HlliteWeights,
    InstrumentFile,
    InstrumentPrompt,
    ItemSpec,
    OutputSpec,
    PhraseCategory,
    RoleSpec,
    RolesSpec,
    ScaleSpec,
    ScoringSpec,
    WeightedFeature,
)
from chatlens.datafiles.schemas.instrument import DiscoveryDefaults, DiscoveryPrompt
from chatlens.datafiles.schemas.llm import (
    LabelPromptFile,
    ModelPrice,
    PriceList,
    PromptMessage,
    ReaskPrompt,
)
from chatlens.datafiles.schemas.report import (
    AccuracyEntry,
    Definition,
    MeasuredValue,
    OutcomeLabels,
    ProfileFile,
    ProfileStage,
    ReportDefinitions,
    ReportPresentation,
    SignalAccuracyFile,
    StylePatterns,
    TableText,
)
from chatlens.datafiles.schemas.synth import (
    SynthAnswer,
    SynthBankFile,
    SynthCommonFile,
    SynthConfigFile,
    SynthFlow,
    SynthLanguage,
    SynthModel,
    SynthPhrases,
    SynthTurns,
)

__all__ = [
    "AlignOversampling",
    "AlignPrompts",
    "AlignTemplate",
    "AlignTrainConfig",
    "GrpoSpec",
    "LoraSpec",
    "AccuracyEntry",
    "MeasuredValue",
    "ReportPresentation",
    "SignalAccuracyFile",
    "TableText",
    "ReactionModelCues",
    "ReactionModelWeights",
    "CueLexiconFile",
    "CueSpec",
    "DataFile",
    "Definition",
    "DiscoveryDefaults",
    "DiscoveryPrompt",
    "GroupSpec",
    "HlliteLexicons",
    "HlliteWeights",
    "InstrumentFile",
    "InstrumentPrompt",
    "ItemSpec",
    "JailbreakTemplates",
    "LabelPromptFile",
    "LabelledSetFile",
    "LanguageNames",
    "LearnedRefusalWeights",
    "ModelPrice",
    "OutcomeLabels",
    "OutputSpec",
    "PhraseCategory",
    "PriceList",
    "ProfanityLanguage",
    "ProfanityWords",
    "ProfileFile",
    "ProfileStage",
    "PromptMessage",
    "ReactionCues",
    "ReaskPrompt",
    "RefusalModelWeights",
    "PersonaTags",
    "RegexList",
    "ReportDefinitions",
    "RoleNames",
    "RoleSpec",
    "RolesSpec",
    "ScaleSpec",
    "ScoringSpec",
    "SentimentLanguage",
    "SentimentThresholds",
    "SentimentWords",
    "StylePatterns",
    "SynthAnswer",
    "SynthBankFile",
    "SynthCommonFile",
    "SynthConfigFile",
    "SynthFlow",
    "SynthLanguage",
    "SynthModel",
    "SynthPhrases",
    "SynthTurns",
    "TemplateSpec",
    "Thresholds",
    "WeightedFeature",
    "WordList",
]
