"""Test helpers for alignment pipelines: a tiny randomly initialised chat LM built offline.

Why in the library (like :func:`chatlens.llm.testing.build_tiny_causal_lm`): users checking their
own pipeline end to end on a laptop need a model that loads in a second, trains a DPO epoch in
seconds on a CPU and never touches the hub. It writes garbage, which is the point: the pipeline
must record that honestly (unscorable completions, no reward), not crash.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|' + m['role'] + '|>' + m['content'] + '<|end|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}"
)


def build_tiny_chat_lm(
    path: Path, texts: list[str], *, seed: int = 0, vocab_size: int = 400, positions: int = 1024
) -> Path:
    """Save a 2-layer Llama (hidden 32) and a byte-level BPE trained on ``texts`` to ``path``.

    The tokenizer has a chat template (:data:`CHAT_TEMPLATE`) and round-trips any text (byte
    level); the weights are random (seeded). Needs the ``ml`` extra (torch, transformers).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|pad|>", "<|end|>", "<|user|>", "<|assistant|>", "<|system|>"]
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=400,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", eos_token="<|end|>")
    fast.chat_template = CHAT_TEMPLATE
    path.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(path)
    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=positions,
        pad_token_id=fast.pad_token_id,
        eos_token_id=fast.eos_token_id,
        bos_token_id=fast.eos_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(path)
    return path
