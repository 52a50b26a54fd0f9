"""Generate completions for held-out prompts from a base model or a LoRA checkpoint.

Locally with transformers (batched, left padding, the chat template applied, seeded sampling) or
through any OpenAI-compatible server (vLLM serving the merged model or the adapter under a name)
with :mod:`chatlens.llm` — cached and concurrent like every other LLM call.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatlens._progress import progress_bar
from chatlens.errors import LLMError
from chatlens.llm.client import make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig

Messages = list[dict[str, str]]


def transformers_logging() -> Any:
    import transformers

    return transformers.utils.logging


def generate_local(
    base_model: str,
    prompts: list[Messages],
    *,
    adapter: str | Path | None = None,
    chat_template: str = "",
    max_new_tokens: int = 256,
    temperature: float = 0.7,
    seed: int = 0,
    batch_size: int = 8,
) -> list[str]:
    """Completions of ``prompts`` by ``base_model`` (+ the LoRA ``adapter``), in order."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from chatlens.align.train_data import control_token_kwargs

    transformers_logging().disable_progress_bar()
    tok = AutoTokenizer.from_pretrained(base_model)
    if chat_template:
        tok.chat_template = chat_template
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    sanitize = control_token_kwargs(tok)
    model = AutoModelForCausalLM.from_pretrained(base_model)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    limit = getattr(model.config, "max_position_embeddings", None)
    texts: list[str] = []
    torch.manual_seed(seed)
    with progress_bar(
        description=f"generating ({Path(str(adapter or base_model)).name})", total=len(prompts)
    ) as advance:
        for start in range(0, len(prompts), batch_size):
            chunk = prompts[start : start + batch_size]
            # control tokens inside a prompt's text are encoded as text (see control_token_kwargs)
            enc = tok.apply_chat_template(
                chunk,
                add_generation_prompt=True,
                tokenize=True,
                return_dict=True,
                padding=True,
                return_tensors="pt",
                **sanitize,
            )
            new = max_new_tokens
            if limit is not None:
                new = max(1, min(new, int(limit) - enc["input_ids"].shape[1]))
            kwargs: dict[str, Any] = {"max_new_tokens": new, "pad_token_id": tok.pad_token_id}
            if temperature > 0:
                kwargs.update(do_sample=True, temperature=temperature)
            else:
                kwargs["do_sample"] = False
            with torch.no_grad():
                out = model.generate(**enc, **kwargs)
            gen = out[:, enc["input_ids"].shape[1] :]
            texts += tok.batch_decode(gen, skip_special_tokens=True)
            advance(len(chunk))
    return texts


def generate_server(
    config: LLMConfig, prompts: list[Messages]
) -> tuple[list[str | None], dict[str, Any]]:
    """Completions through an OpenAI-compatible server (``config.model`` = the served name);
    failed requests give ``None``. Returns the texts and the usage report."""

    async def run() -> tuple[list[str | None], dict[str, Any]]:
        client = make_client(config)
        try:

            async def one(m: Messages) -> str | None:
                try:
                    return (await client.complete(client.request(m))).text
                except LLMError:  # failed after its retries: recorded as missing
                    return None

            texts = await map_async(one, prompts, description=f"generating with {config.model}")
        finally:
            await client.aclose()
        return texts, client.usage.report().to_dict()

    return run_sync(run())
