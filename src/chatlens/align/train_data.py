"""Training data: TRL preference files, the chat template, and the examples over the limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chatlens._progress import status
from chatlens.datafiles.schemas import AlignTrainConfig
from chatlens.errors import InvalidParameterError, SchemaError


def pairs_file(path: str | Path) -> Path:
    """``pairs.jsonl`` of a pairs directory, or the file itself."""
    p = Path(path)
    return p / "pairs.jsonl" if p.is_dir() else p


def load_pairs(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a TRL conversational preference file; errors name the line and what is wrong."""
    p = pairs_file(path)
    if not p.is_file():
        msg = f"Pairs file {p} does not exist (write it with `chatlens align pairs`)."
        raise SchemaError(msg)
    rows = []
    # split on "\n" only: str.splitlines() also breaks at U+2028, U+2029 and U+0085, which
    # json.dumps(ensure_ascii=False) leaves raw inside strings (a dialogue holding one would be
    # cut in two and its pair read as invalid JSON)
    for i, line in enumerate(p.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            msg = f"Pairs file {p}, line {i}: not valid JSON ({exc})."
            raise SchemaError(msg) from None
        for key in ("prompt", "chosen", "rejected"):
            v = row.get(key) if isinstance(row, dict) else None
            if not (
                isinstance(v, list)
                and v
                and all(isinstance(m, dict) and "role" in m and "content" in m for m in v)
            ):
                msg = (
                    f"Pairs file {p}, line {i}: {key!r} must be a list of {{role, content}} "
                    f"messages (TRL conversational format). Got {str(v)[:80]!r}."
                )
                raise SchemaError(msg)
        rows.append({k: row[k] for k in ("prompt", "chosen", "rejected")})
    if not rows:
        msg = f"Pairs file {p} holds no pairs."
        raise SchemaError(msg)
    return rows


def load_tokenizer(cfg: AlignTrainConfig) -> Any:
    """The model's tokenizer with a chat template (the config's, else the model's own)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(cfg.model)
    if cfg.chat_template:
        tok.chat_template = cfg.chat_template
    if not getattr(tok, "chat_template", None):
        msg = (
            f"The tokenizer of {cfg.model} has no chat template. Set chat_template in the "
            "training config (a Jinja template) so prompts are formatted as the model expects."
        )
        raise InvalidParameterError(msg)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def control_token_kwargs(tok: Any) -> dict[str, bool]:
    """``apply_chat_template`` keywords that encode the control tokens found *in message text*
    (``<|im_start|>``, ``</s>``, ``<|eot_id|>``) as ordinary text.

    Why: rendered and tokenised as is, a dialogue holding ``<|end|><|user|>…`` is read as turn
    markers, so the text writes turns of its own into a training example or a prompt. Only the
    template's own markers are control tokens then. A transformers without the switch gets
    ``{}`` and a warning (the text is tokenised as before).
    """
    import inspect

    if "sanitize_control_tokens" in inspect.signature(tok.apply_chat_template).parameters:
        return {"sanitize_control_tokens": True}
    status(
        "this transformers version cannot encode control tokens inside message text as text "
        "(apply_chat_template has no sanitize_control_tokens): a dialogue holding e.g. "
        "'<|im_start|>' is tokenised as that control token"
    )
    return {}


def _n_tokens(tok: Any, messages: list[dict[str, str]], *, generation: bool) -> int:
    ids = tok.apply_chat_template(
        messages, add_generation_prompt=generation, tokenize=True, **control_token_kwargs(tok)
    )
    if hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def apply_length_limits(
    tok: Any, rows: list[dict[str, Any]], cfg: AlignTrainConfig
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows to train on, and the counts of what the length limits did to the input.

    Per input row: prompt over ``max_prompt_length``, chosen/rejected sequence (prompt +
    completion) over ``max_length``, prompt alone filling ``max_length`` (a preference row; TRL's
    DPO drops such an example unannounced: no room is left for an answer, so it is dropped here,
    counted). Rows over a limit are dropped with ``drop_truncated``, otherwise TRL truncates them.

    Why the two totals: ``examples_dropped`` (not trained on) and ``examples_truncated`` (trained
    on, cut by TRL) are disjoint, and ``examples_truncated`` used to count the dropped rows too
    (with ``drop_truncated`` every row it counted was dropped, none truncated). The per-limit
    counts are over the input rows, dropped or not.
    """
    over: list[bool] = []
    fills: list[bool] = []
    counts = {
        "prompt_over_max_prompt_length": 0,
        "chosen_over_max_length": 0,
        "rejected_over_max_length": 0,
        "prompt_fills_max_length": 0,
    }
    for r in rows:
        p = _n_tokens(tok, r["prompt"], generation=True)
        flags = [p > cfg.max_prompt_length]
        counts["prompt_over_max_prompt_length"] += flags[0]
        fills.append("chosen" in r and p >= cfg.max_length)
        counts["prompt_fills_max_length"] += fills[-1]
        for side in ("chosen", "rejected"):
            if side in r:
                n = _n_tokens(tok, r["prompt"] + r[side], generation=False)
                flags.append(n > cfg.max_length)
                counts[f"{side}_over_max_length"] += flags[-1]
        over.append(any(flags))
    drop = over if cfg.drop_truncated else fills
    counts["examples_over_limits"] = sum(over)
    counts["examples_dropped"] = sum(drop)
    counts["examples_truncated"] = sum(o and not d for o, d in zip(over, drop, strict=True))
    return [r for r, d in zip(rows, drop, strict=True) if not d], counts
