"""A transport that runs a local ``transformers`` causal LM from a model directory.

For users without a server: ``--model /path/to/model`` (no ``--base-url``) loads the directory
with ``local_files_only=True`` (never a hub download). torch and transformers are imported only
here, on first use; without them the user gets :class:`MissingExtraError` naming ``chatlens[ml]``.

Generation runs in a worker thread (it is blocking) behind a lock: one model, one generation at a
time, whatever the client's concurrency. Prompts longer than the model's context keep their last
tokens (``finish_reason = "prompt_truncated"``) rather than crashing; whatever the model then
writes goes through the same JSON validation as a server's answer, so garbage is recorded as an
invalid answer, not an exception.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from pathlib import Path
from typing import Any

from chatlens.errors import LLMError, MissingExtraError
from chatlens.llm.types import ChatRequest, ChatResponse


def _import_ml() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:
        extra, feature = "ml", "The local transformers LLM backend"
        raise MissingExtraError(extra, feature) from exc
    return torch, transformers


class TransformersTransport:
    """Chat completions from a local model directory.

    Parameters
    ----------
    model_dir
        A directory saved with ``save_pretrained`` (model and tokenizer).
    max_new_tokens
        Default generation length when the request has no ``max_tokens``.
    device
        torch device (``cpu`` by default).
    """

    def __init__(self, model_dir: str | Path, *, max_new_tokens: int = 256, device: str = "cpu") -> None:
        if any(importlib.util.find_spec(m) is None for m in ("torch", "transformers")):
            extra, feature = "ml", "The local transformers LLM backend"
            raise MissingExtraError(extra, feature)
        self.model_dir = Path(model_dir).resolve()
        if not self.model_dir.is_dir():
            msg = f"The local model directory {self.model_dir} does not exist."
            raise LLMError(msg)
        self.endpoint_id = f"transformers://{self.model_dir}"
        self.max_new_tokens = max_new_tokens
        self.device = device
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TransformersTransport({str(self.model_dir)!r})"

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            _torch, transformers = _import_ml()
            hf_logging = transformers.utils.logging
            bars = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()  # the library never prints (chatlens._progress)
            try:
                tok = transformers.AutoTokenizer.from_pretrained(
                    str(self.model_dir), local_files_only=True
                )
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    str(self.model_dir), local_files_only=True
                )
            except (OSError, ValueError) as exc:
                msg = f"Cannot load a causal LM and tokenizer from {self.model_dir}: {exc}"
                raise LLMError(msg) from None
            finally:
                if bars:
                    hf_logging.enable_progress_bar()
            model.to(self.device)
            model.eval()
            self._tokenizer, self._model = tok, model
        return self._tokenizer, self._model

    def _prompt_ids(self, tok: Any, messages: list[dict[str, str]]) -> list[int]:
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return list(ids)
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant:"
        return list(tok(text)["input_ids"])

    def _generate(self, request: ChatRequest) -> ChatResponse:
        torch, _ = _import_ml()
        with self._lock:
            tok, model = self._load()
            ids = self._prompt_ids(tok, [dict(m) for m in request.messages])
            new = int(request.params.get("max_tokens") or self.max_new_tokens)
            limit = getattr(model.config, "max_position_embeddings", None) or getattr(
                model.config, "n_positions", None
            )
            finish = None
            if limit is not None:
                new = max(1, min(new, int(limit) - 1))
                keep = int(limit) - new
                if len(ids) > keep:
                    ids, finish = ids[-keep:], "prompt_truncated"
            temperature = float(request.params.get("temperature", 0) or 0)
            pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
            kwargs: dict[str, Any] = {"max_new_tokens": new, "pad_token_id": pad}
            if temperature > 0:
                torch.manual_seed(request.sample_index)
                kwargs.update(do_sample=True, temperature=temperature)
            else:
                kwargs["do_sample"] = False
            input_ids = torch.tensor([ids], dtype=torch.long, device=self.device)
            with torch.no_grad():
                out = model.generate(
                    input_ids, attention_mask=torch.ones_like(input_ids), **kwargs
                )
            gen = out[0, input_ids.shape[1]:].tolist()
            text = tok.decode(gen, skip_special_tokens=True)
        return ChatResponse(
            text=text,
            prompt_tokens=len(ids),
            completion_tokens=len(gen),
            finish_reason=finish or ("length" if len(gen) >= new else "stop"),
            model=request.model,
        )

    async def send(self, request: ChatRequest) -> ChatResponse:
        return await asyncio.to_thread(self._generate, request)

    async def aclose(self) -> None:
        return None
