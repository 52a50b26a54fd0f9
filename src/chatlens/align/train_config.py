"""Training configurations: the YAML file → TRL/PEFT arguments, hashed for provenance.

A config is a data file of kind ``align-train-config`` (schema
:class:`~chatlens.datafiles.schemas.AlignTrainConfig`), so a typo'd key or a bad value is a
:class:`~chatlens.errors.DataFileError` naming the file and key before anything loads. HAL's
recipe ships as ``align/configs/hal-dpo.yaml``.

TRL's argument names move between versions (``max_prompt_length`` left ``DPOConfig`` in 1.x,
``warmup_ratio`` became a fractional ``warmup_steps`` in transformers 5): :func:`trl_args` keeps
the arguments the installed class has, maps the renamed ones, and reports the rest, so the run
manifest says exactly what was applied.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.align.provenance import config_hash
from chatlens.datafiles.schemas import AlignTrainConfig
from chatlens.errors import InvalidParameterError

HAL_CONFIG = "align/configs/hal-dpo.yaml"


def load_train_config(config: str | Path | AlignTrainConfig | dict[str, Any]) -> AlignTrainConfig:
    """A validated training config from a YAML file, a bundled name, a mapping or itself."""
    if isinstance(config, AlignTrainConfig):
        return config
    if isinstance(config, dict):
        return datafiles.parse(config, kind="align-train-config", file="<config>")
    return datafiles.load(config, kind="align-train-config")


def as_dict(cfg: AlignTrainConfig) -> dict[str, Any]:
    """The config as plain JSON-able data (tuples as lists)."""
    return dataclasses.asdict(cfg)


def train_config_hash(cfg: AlignTrainConfig) -> str:
    """Hash of everything that changes the trained weights (the config's name/source do not)."""
    d = as_dict(cfg)
    for key in ("name", "version", "source"):
        d.pop(key, None)
    if cfg.method == "dpo":
        # GRPO's KL coefficient does not touch a DPO run: left out, so the hash of a DPO run
        # started before the setting existed is unchanged (its checkpoints still resume)
        d["grpo"].pop("beta", None)
    return config_hash(d)


def _fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def trl_args(cls: type, wanted: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """``cls(**wanted)`` with renamed keys mapped and unknown ones left out (returned)."""
    have = _fields(cls)
    kwargs = dict(wanted)
    if "warmup_ratio" in kwargs and "warmup_ratio" not in have:
        ratio = kwargs.pop("warmup_ratio")
        if ratio:
            kwargs["warmup_steps"] = float(ratio)  # transformers >= 5: a fraction in [0, 1)
    if "eval_strategy" in kwargs and "eval_strategy" not in have and "evaluation_strategy" in have:
        kwargs["evaluation_strategy"] = kwargs.pop("eval_strategy")
    dropped = {k: kwargs.pop(k) for k in list(kwargs) if k not in have}
    return cls(**kwargs), dropped


def common_args(cfg: AlignTrainConfig, output_dir: Path, *, use_cpu: bool) -> dict[str, Any]:
    """Arguments shared by DPO and GRPO (a checkpoint every epoch, logging every step)."""
    return {
        "output_dir": str(output_dir),
        "num_train_epochs": cfg.epochs,
        "per_device_train_batch_size": cfg.batch_size,
        "gradient_accumulation_steps": cfg.grad_accum,
        "learning_rate": cfg.learning_rate,
        "lr_scheduler_type": cfg.lr_scheduler,
        "warmup_ratio": cfg.warmup_ratio,
        "weight_decay": cfg.weight_decay,
        "optim": cfg.optim,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "bf16": cfg.bf16,
        "gradient_checkpointing": cfg.gradient_checkpointing,
        "save_strategy": "epoch",
        "logging_steps": 1,
        "report_to": [],
        "disable_tqdm": True,
        "use_cpu": use_cpu,
    }


def dpo_args(
    cfg: AlignTrainConfig, output_dir: Path, *, use_cpu: bool
) -> tuple[Any, dict[str, Any]]:
    from trl import DPOConfig

    wanted = common_args(cfg, output_dir, use_cpu=use_cpu)
    have = _fields(DPOConfig)
    wanted["beta"] = cfg.beta
    wanted["max_length"] = cfg.max_length
    wanted["max_prompt_length"] = cfg.max_prompt_length  # TRL < 1.0 only; counted here anyway
    loss = dataclasses.fields(DPOConfig)
    is_list = any(f.name == "loss_type" and "list" in str(f.type) for f in loss)
    wanted["loss_type"] = [cfg.loss_type] if is_list else cfg.loss_type
    if "max_prompt_length" not in have:
        wanted.pop("max_prompt_length")
    if cfg.eval_on_pairs:
        wanted["eval_strategy"] = "epoch"
        wanted["per_device_eval_batch_size"] = cfg.batch_size
    return trl_args(DPOConfig, wanted)


def grpo_args(
    cfg: AlignTrainConfig,
    output_dir: Path,
    *,
    use_cpu: bool,
    chat_template_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any]]:
    from trl import GRPOConfig

    g = cfg.grpo
    if (cfg.batch_size * cfg.grad_accum) % g.num_generations:
        msg = (
            f"GRPO config: batch_size × grad_accum ({cfg.batch_size} × {cfg.grad_accum}) must be "
            f"a multiple of grpo.num_generations ({g.num_generations})."
        )
        raise InvalidParameterError(msg)
    wanted = common_args(cfg, output_dir, use_cpu=use_cpu)
    wanted.update(
        num_generations=g.num_generations,
        max_completion_length=g.max_completion_length,
        temperature=g.temperature,
        beta=g.beta,  # the KL coefficient: GRPO's own setting, not DPO's beta
        chat_template_kwargs=chat_template_kwargs or None,
        max_prompt_length=cfg.max_prompt_length,
    )
    if "max_prompt_length" not in _fields(GRPOConfig):
        wanted.pop("max_prompt_length")
    return trl_args(GRPOConfig, wanted)


def lora_config(cfg: AlignTrainConfig) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        bias=cfg.lora.bias,
        target_modules=list(cfg.lora.target_modules),
        task_type="CAUSAL_LM",
    )


def quantization(cfg: AlignTrainConfig) -> dict[str, Any]:
    """``from_pretrained`` keywords for 4-bit NF4 loading (HAL's QLoRA), when asked for.

    Needs a CUDA GPU and bitsandbytes; without them the run stops with a message saying so
    rather than silently training in full precision (which would change the experiment).
    """
    if not cfg.load_in_4bit:
        return {}
    import importlib.util

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        msg = (
            "load_in_4bit: true needs a CUDA GPU and the bitsandbytes package "
            f"(cuda available: {torch.cuda.is_available()}, bitsandbytes installed: "
            f"{importlib.util.find_spec('bitsandbytes') is not None}). Set load_in_4bit: false "
            "to train in full precision."
        )
        raise InvalidParameterError(msg)
    from transformers import BitsAndBytesConfig

    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )
    }
