"""The torch half of the refusal encoder tier: model, batching, training and scoring.

Why a module of its own: importing torch costs seconds and the core install has none, so
:mod:`chatlens.signals.refusal_encoder` (the public API, the weights file and its data card)
imports this module only when an encoder actually runs. Training (``scripts/``) and scoring
share :class:`TopLayers` and :func:`batches`, so the model that was validated is the model that
scores.

The design: all-MiniLM-L6-v2 reads "request [SEP] reply"; only its top ``k`` transformer layers
and a linear head are fine-tuned. The lower layers stay the packaged model's, so (1) their
output can be computed once and cached while training, which makes a fold ~3x cheaper, and
(2) the weights file holds only the changed layers.
"""

from __future__ import annotations

import base64
import copy
import math
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from transformers.masking_utils import create_bidirectional_mask

from chatlens.signals.encoder_tensors import stored_arrays

#: Replies per forward pass when scoring. Small batches are faster on CPU (activations stay in
#: cache; length-sorted batches waste little padding): 8 read ~10% more replies/s than 32 on
#: two cores, with the same probabilities to 1e-6.
SCORING_BATCH = 8


class TopLayers(torch.nn.Module):
    """The fine-tuned part: the top ``k`` layers of ``base`` (copied), mean pooling, a head."""

    def __init__(self, base: Any, k: int) -> None:
        super().__init__()
        n = len(base.encoder.layer)
        if not 1 <= k <= n:
            msg = f"top_layers must be between 1 and {n} for this base model. Got {k}."
            raise ValueError(msg)
        self.config = base.config
        self.layers = torch.nn.ModuleList([copy.deepcopy(base.encoder.layer[i])
                                           for i in range(n - k, n)])
        self.head = torch.nn.Linear(base.config.hidden_size, 1)
        self.drop = torch.nn.Dropout(0.1)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits from the hidden states below the top layers (``mask``: 1 on real tokens)."""
        hidden = _run_layers(self.layers, self.config, hidden, mask)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return self.head(self.drop(pooled)).squeeze(-1)


def tokenize(tokenizer: Any, requests: Sequence[str], responses: Sequence[str],
             max_length: int) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids and token types of each "request [SEP] reply" pair, truncated longest first
    (a reply's opening, where a decline usually is, survives)."""
    enc = tokenizer(list(requests), list(responses), truncation="longest_first",
                    max_length=max_length)
    return enc["input_ids"], enc["token_type_ids"]


def batches(lengths: np.ndarray, size: int, rng: np.random.Generator | None = None
            ) -> list[np.ndarray]:
    """Row batches of similar length (little padding). With ``rng``: shuffled for training
    (sorted within chunks of 50 batches, batch order shuffled); without: sorted by length."""
    rows = np.arange(len(lengths))
    if rng is None:
        rows = rows[np.argsort(lengths, kind="stable")]
        return [rows[i:i + size] for i in range(0, len(rows), size)]
    rows = rows[rng.permutation(len(rows))]
    chunk = size * 50
    rows = np.concatenate([c[np.argsort(lengths[c], kind="stable")]
                           for c in (rows[i:i + chunk] for i in range(0, len(rows), chunk))]
                          ) if len(rows) else rows
    out = [rows[i:i + size] for i in range(0, len(rows), size)]
    rng.shuffle(out)
    return out


def padded(seqs: Sequence[Sequence[int]], rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(ids, mask) tensors of ``rows`` of ``seqs``, right-padded with 0."""
    width = max(len(seqs[r]) for r in rows)
    ids = np.zeros((len(rows), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for k, r in enumerate(rows):
        ids[k, :len(seqs[r])] = seqs[r]
        mask[k, :len(seqs[r])] = 1
    return torch.from_numpy(ids), torch.from_numpy(mask)


def _run_layers(layers: Any, config: Any, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``hidden`` through BERT ``layers`` under the padding ``mask`` (1 on real tokens)."""
    attention = create_bidirectional_mask(config=config, inputs_embeds=hidden, attention_mask=mask)
    for layer in layers:
        hidden = layer(hidden, attention_mask=attention)
        if isinstance(hidden, tuple):  # older transformers return (hidden, ...)
            hidden = hidden[0]
    return hidden


def _below_top(base: Any, ids: list[list[int]], types: list[list[int]], rows: np.ndarray,
               k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(hidden states entering the top ``k`` layers, mask) of a padded batch of ``rows``.

    Runs the embeddings and the lower layers only: the base's own top ``k`` layers would be
    replaced by the fine-tuned ones anyway (a quarter of the work for MiniLM's 6 layers, k=2).
    Same arithmetic as the base's ``hidden_states[n - k]``."""
    x, mask = padded(ids, rows)
    t, _ = padded(types, rows)
    hidden = base.embeddings(input_ids=x, token_type_ids=t)
    lower = base.encoder.layer[:len(base.encoder.layer) - k]
    return _run_layers(lower, base.config, hidden, mask), mask


def lower_states(base: Any, ids: list[list[int]], types: list[list[int]], k: int,
                 *, batch_size: int = 64, advance: Callable[[int], None] | None = None
                 ) -> list[torch.Tensor]:
    """Hidden states entering the top ``k`` layers, per text (float16, unpadded): computed once,
    reused by every fold of a cross-validation."""
    lengths = np.asarray([len(i) for i in ids])
    out: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    with torch.no_grad():
        for rows in batches(lengths, batch_size):
            states, _ = _below_top(base, ids, types, rows, k)
            for j, r in enumerate(rows):
                out[r] = states[j, :lengths[r]].to(torch.float16).clone()
            if advance is not None:
                advance(len(rows))
    return out


def _stack(states: Sequence[torch.Tensor], rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(states[r]) for r in rows)
    hidden = torch.zeros(len(rows), width, states[rows[0]].shape[-1])
    mask = torch.zeros(len(rows), width, dtype=torch.long)
    for j, r in enumerate(rows):
        hidden[j, :len(states[r])] = states[r].float()
        mask[j, :len(states[r])] = 1
    return hidden, mask


def train_top(base: Any, states: Sequence[torch.Tensor], y: np.ndarray, *, k: int,
              epochs: int = 3, lr: float = 1e-4, batch_size: int = 16, seed: int = 0,
              advance: Callable[[int], None] | None = None) -> TopLayers:
    """Fine-tune a :class:`TopLayers` on cached lower states: AdamW, linear warm-up (6%) and
    decay, class-balanced logistic loss, gradient clipping at 1."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = TopLayers(base, k)
    model.train()
    target = torch.from_numpy(np.asarray(y, dtype=np.float32))
    positive = float(target.mean())
    if not 0.0 < positive < 1.0:
        msg = "train_top needs both classes among the training labels."
        raise ValueError(msg)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor((1 - positive) / positive))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    steps = epochs * math.ceil(len(y) / batch_size)
    warm = max(1.0, 0.06 * steps)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, s / warm) * max(0.0, (steps - s) / steps))
    lengths = np.asarray([len(s) for s in states])
    for _ in range(epochs):
        for rows in batches(lengths, batch_size, rng):
            hidden, mask = _stack(states, rows)
            loss = loss_fn(model(hidden, mask), target[rows])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            if advance is not None:
                advance(len(rows))
    return model.eval()


def predict_states(model: TopLayers, states: Sequence[torch.Tensor], *,
                   batch_size: int = 64) -> np.ndarray:
    """Probabilities from cached lower states, in input order."""
    out = np.zeros(len(states))
    lengths = np.asarray([len(s) for s in states])
    model.eval()
    with torch.no_grad():
        for rows in batches(lengths, batch_size):
            hidden, mask = _stack(states, rows)
            out[rows] = torch.sigmoid(model(hidden, mask)).numpy()
    return out


def predict_texts(base: Any, model: TopLayers, ids: list[list[int]], types: list[list[int]],
                  *, batch_size: int = SCORING_BATCH, advance: Callable[[int], None] | None = None
                  ) -> np.ndarray:
    """Probabilities of tokenised pairs, in input order: the base's lower layers, then ``model``
    (the same arithmetic as training on cached states, without keeping them)."""
    lengths = np.asarray([len(i) for i in ids])
    out = np.zeros(len(ids))
    model.eval()
    with torch.no_grad():
        for rows in batches(lengths, batch_size):
            hidden, mask = _below_top(base, ids, types, rows, len(model.layers))
            out[rows] = torch.sigmoid(model(hidden, mask)).numpy()
            if advance is not None:
                advance(len(rows))
    return out


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def encode_tensors(model: TopLayers, base: Any) -> dict[str, dict[str, Any]]:
    """The fine-tuned parameters as JSON-safe arrays (shape + base64 bytes).

    Why deltas: the fine-tuned layers' matrices are stored as their change from ``base``'s
    (which every user has, packaged), quantised to int8 per row and zlib-compressed; that keeps
    the weights file a few MB instead of ten. Everything else (biases, layer norms, the head) is
    float16. A row's rounding error is at most half its scale (max |change| / 127).
    """
    reference = TopLayers(base, len(model.layers)).state_dict()
    out: dict[str, dict[str, Any]] = {}
    for name, t in model.state_dict().items():
        t = t.detach().float()
        if name.startswith("layers.") and t.dim() == 2:
            delta = (t - reference[name]).numpy()
            scale = np.abs(delta).max(axis=1) / 127.0
            scale[scale == 0] = 1.0
            q = np.clip(np.rint(delta / scale[:, None]), -127, 127).astype(np.int8)
            out[name] = {"shape": list(t.shape), "encoding": "int8-delta",
                         "scale": _b64(scale.astype(np.float32).tobytes()),
                         "data": _b64(zlib.compress(q.tobytes(), 9))}
        else:
            out[name] = {"shape": list(t.shape), "encoding": "float16",
                         "data": _b64(t.to(torch.float16).numpy().tobytes())}
    return out


def decode_tensors(model: TopLayers, tensors: dict[str, dict[str, Any]], where: str) -> TopLayers:
    """Load :func:`encode_tensors` output into ``model``, a fresh :class:`TopLayers` of the same
    base (whose layers are the reference of the int8 deltas); every parameter must be present."""
    reference = model.state_dict()
    missing = set(reference) - set(tensors)
    if missing:
        msg = f"{where}: the encoder weights lack {sorted(missing)[:3]} (a different top_layers?)"
        raise ValueError(msg)
    state = {}
    for name, spec in tensors.items():
        values, scale = stored_arrays(spec)
        values = values.astype(np.float32).reshape(spec["shape"])
        if scale is not None:  # an int8 delta from the base's parameter
            state[name] = reference[name] + torch.from_numpy(values * scale[:, None])
        else:
            state[name] = torch.from_numpy(values)
    model.load_state_dict(state)
    return model.eval()
