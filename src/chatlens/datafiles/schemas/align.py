"""Schemas of the alignment pipeline's files: prompt templates, the persona oversampling rule and
training configurations (HAL's recipe ships as one; users write their own ``run.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import DataFile, NonEmpty, Positive, Source, Unit, Version

PositiveInt = Annotated[int, Check("an integer >= 1", lambda v: v >= 1)]
NonNegativeInt = Annotated[int, Check("an integer >= 0", lambda v: v >= 0)]


@dataclass(frozen=True, kw_only=True)
class AlignTemplate:
    """One chat prompt: an optional system message and a user message with ``{{slots}}``."""

    user: NonEmpty
    system: str = ""


@dataclass(frozen=True, kw_only=True)
class AlignPrompts(DataFile):
    """``align/prompts.yaml``: biography, dialogue and training prompts and the negative traits.

    Slots: ``{{persona}}`` (the sub-persona's attributes as ``key: value`` lines),
    ``{{negative_trait}}`` (the instruction below, or empty), ``{{biography}}``,
    ``{{medical_condition}}``, ``{{reason_for_visit}}``.
    """

    biography: AlignTemplate
    dialogue: AlignTemplate
    training: AlignTemplate
    biography_fields: tuple[NonEmpty, ...]
    negative_traits: tuple[NonEmpty, ...]
    negative_trait_probability: Unit
    negative_trait_instruction: Annotated[
        str, Check("text containing {{trait}}", lambda t: "{{trait}}" in t)
    ]


@dataclass(frozen=True, kw_only=True)
class AlignOversampling(DataFile):
    """``align/oversampling.yaml``: HAL's 4-bucket sub-persona rule, as parameters."""

    n_buckets: PositiveInt
    min_attributes: PositiveInt
    always_keep: tuple[NonEmpty, ...]
    drop_values: tuple[str, ...]
    age_key: NonEmpty
    age_jitter: Unit


@dataclass(frozen=True, kw_only=True)
class LoraSpec:
    r: PositiveInt = 16
    alpha: Positive = 32
    dropout: Unit = 0.1
    bias: Literal["none", "all", "lora_only"] = "none"
    target_modules: tuple[NonEmpty, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True, kw_only=True)
class GrpoSpec:
    """On-policy GRPO with HL-lite as the reward (no judge calls)."""

    num_generations: Annotated[int, Check("an integer >= 2", lambda v: v >= 2)] = 4
    max_completion_length: PositiveInt = 512
    temperature: Positive = 1.0
    speaker: NonEmpty = "P"
    length_penalty: Annotated[float, Check("a number >= 0", lambda v: v >= 0)] = 0.0
    length_target_words: Positive = 20.0
    no_turn_reward: float = -10.0
    #: KL coefficient toward the reference (the base, LoRA adapter disabled), GRPO's own
    #: setting: DPO's ``beta`` is another quantity (the preference sharpness) and is not used
    #: here. 0.04 is the GRPO paper's value (Shao et al. 2024); 0 drops the KL term (TRL's
    #: default) and with it the reference model.
    beta: Annotated[float, Check("a number >= 0", lambda v: v >= 0)] = 0.04


#: DPO's default beta (TRL's and HAL's).
DPO_BETA = 0.1


@dataclass(frozen=True, kw_only=True)
class AlignTrainConfig(DataFile):
    """A training run (``chatlens align train --config run.yaml``); documented in docs/align.md."""

    name: str = "run"
    version: Version = 1
    source: Source = "user"
    model: NonEmpty
    method: Literal["dpo", "grpo"] = "dpo"
    chat_template: str = ""
    lora: LoraSpec = field(default_factory=LoraSpec)
    load_in_4bit: bool = False
    max_length: PositiveInt = 2048
    max_prompt_length: PositiveInt = 1024
    drop_truncated: bool = False
    #: DPO's beta (``method: dpo``); GRPO's KL coefficient is ``grpo.beta``.
    beta: Positive = DPO_BETA
    loss_type: NonEmpty = "sigmoid"
    learning_rate: Positive = 5e-5
    lr_scheduler: NonEmpty = "linear"
    warmup_ratio: Annotated[float, Check("a number in [0, 1)", lambda v: 0 <= v < 1)] = 0.1
    weight_decay: Annotated[float, Check("a number >= 0", lambda v: v >= 0)] = 0.0
    optim: NonEmpty = "adamw_torch"
    epochs: PositiveInt = 1
    batch_size: PositiveInt = 2
    grad_accum: PositiveInt = 1
    seed: NonNegativeInt = 42
    bf16: bool = False
    gradient_checkpointing: bool = False
    #: DPO: after each epoch, the DPO loss over all training pairs (dropout off), logged as
    #: ``eval_loss`` — the measure "the loss falls on the training pairs" is read from.
    eval_on_pairs: bool = True
    grpo: GrpoSpec = field(default_factory=GrpoSpec)

    def __post_init__(self) -> None:
        if self.max_prompt_length >= self.max_length:
            raise Invalid(
                key="max_prompt_length",
                expected="less than max_length",
                got=(self.max_prompt_length, self.max_length),
            )
        if self.method == "grpo" and self.beta != DPO_BETA:
            # GRPO used to take this as its KL coefficient; a value set here for a GRPO run
            # would now be ignored silently
            raise Invalid(
                key="beta",
                expected=(
                    f"left at {DPO_BETA} with method grpo (it is DPO's beta; GRPO's KL "
                    "coefficient is grpo.beta)"
                ),
                got=self.beta,
            )
