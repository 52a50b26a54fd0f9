"""End to end on HAL's published judge outputs: replaying GPT-5's recorded answers through the
fake server, ``judge`` with ``hal16q-published`` reproduces the published ``hal16_score``."""

from __future__ import annotations

import json
import random

import numpy as np
import polars as pl
import pytest

from chatlens.humanlike.instruments import load_instrument
from chatlens.humanlike.judge import judge
from chatlens.llm import LLMConfig
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

SCORED = "hal/HAL16_output/Qwen/Qwen2.5-14B-Instruct/scored/samples_epoch_00_scored_gpt-5.csv"


@pytest.mark.realdata
def test_replayed_gpt5_answers_reproduce_published_scores(shared_data, tmp_path):
    df = pl.read_csv(shared_data / SCORED).head(40)
    inst = load_instrument("hal16q-published")
    rng = random.Random(0)
    replies: dict[str, str] = {}
    for dialogue, ratings in zip(df["dialogue"], df["likert_evaluation"], strict=True):
        values = json.loads(ratings)
        keyed = list(zip(inst.keys, values, strict=True))
        rng.shuffle(keyed)  # answers arrive in any key order: parsing is by key
        prompt = inst.render_prompt(dialogue, "P")[1]["content"]
        replies[prompt] = json.dumps({"likert_evaluation": dict(keyed)})

    def handler(body, n):
        return FakeReply(content=replies[body["messages"][1]["content"]])

    with FakeOpenAIServer(handler) as server:
        config = LLMConfig(model="gpt-5", base_url=server.base_url, concurrency=8,
                           cache_dir=tmp_path)
        res = judge(df, instrument=inst, text_column="dialogue", speaker="P", config=config)
    assert res.n_valid == df.height
    np.testing.assert_allclose(res.frame["hl_logit"].to_numpy(),
                               df["hal16_score"].cast(pl.Float64).to_numpy(), atol=1e-6)
    assert res.usage.requests == df.height
