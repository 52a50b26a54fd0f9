"""chatlens.align: alignment toward human-likeness, one reproducible pipeline (docs/align.md).

personas → :mod:`~chatlens.align.synthesize` (dialogues through :mod:`chatlens.llm`) →
:mod:`~chatlens.align.pairs` (HL-lite and/or an LLM judge as reward; length control, generator
balance, cap, held-out personas; TRL's conversational format and a data card) →
:mod:`~chatlens.align.train` (TRL DPO or GRPO with LoRA, a checkpoint per epoch, resume) →
:mod:`~chatlens.align.evaluate` (the curve over epochs against the base, paired bootstrap CIs,
what moved) → :mod:`~chatlens.align.export` (side-by-side pairs for ``chatlens ratings``).
Every artefact carries its provenance (:mod:`~chatlens.align.provenance`).

Names load lazily: torch/transformers/TRL/PEFT are imported only when training or generating.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "GeneratorSpec": "chatlens.align.synthesize:GeneratorSpec",
    "PairRule": "chatlens.align.pairs:PairRule",
    "build_pairs": "chatlens.align.pairs:build_pairs",
    "evaluate": "chatlens.align.evaluate:evaluate",
    "expand_personas": "chatlens.align.personas:expand_personas",
    "export_human_eval": "chatlens.align.export:export_human_eval",
    "load_train_config": "chatlens.align.train_config:load_train_config",
    "pairs_to": "chatlens.align.steps:pairs_to",
    "score_dialogues": "chatlens.align.rewards:score_dialogues",
    "split_personas": "chatlens.align.personas:split_personas",
    "synthesize": "chatlens.align.synthesize:synthesize",
    "synthesize_to": "chatlens.align.steps:synthesize_to",
    "train": "chatlens.align.train:train",
    "unblind": "chatlens.align.export:unblind",
    "verify_artefact": "chatlens.align.provenance:verify_artefact",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_exports("chatlens.align", globals(), _LAZY)
