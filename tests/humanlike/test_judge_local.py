"""The judge on a tiny randomly initialised local transformers model: garbage is recorded."""

from __future__ import annotations

import polars as pl
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from chatlens.humanlike.judge import judge
from chatlens.llm import LLMConfig
from chatlens.llm.testing import build_tiny_causal_lm


def test_tiny_model_garbage_is_invalid_not_a_crash(tmp_path):
    model_dir = build_tiny_causal_lm(tmp_path / "tiny")
    df = pl.DataFrame({"dialogue": ["I: hello\nW: hey whats up", "I: who are you\nW: a human lol"]})
    res = judge(df, instrument="hal16q", text_column="dialogue", speaker="W",
                config=LLMConfig(model=str(model_dir), max_tokens=24, max_reasks=1))
    out = res.frame
    assert out.height == 2 and res.n_invalid == 2 and res.n_failed_requests == 0
    assert all(e.startswith("invalid answer after 1 re-ask") for e in out["hl_error"])
    assert out["hl_logit"].null_count() == 2
    assert res.usage.requests == 4 and res.config["backend"] == "transformers"
