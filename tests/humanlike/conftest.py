"""Fixtures shared by the humanlike tests (data are generated, never copied from shared/)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest


def _make_games(n: int = 120, seed: int = 0) -> pl.DataFrame:
    """Two-witness games with HAL32Q-shaped lists where items 1 and 5 reveal the human."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(n):
        human = "A" if rng.random() < 0.5 else "B"
        lists = {}
        for slot in "AB":
            r = rng.integers(1, 6, 32)
            if slot == human:
                r[0] = rng.integers(4, 6)
                r[4] = rng.integers(3, 6)
            else:
                r[0] = rng.integers(1, 4)
                r[4] = rng.integers(1, 4)
            lists[slot] = json.dumps(r.tolist())
        rows.append({
            "game_id": g, "who_is_human": human, "human_verdict": "A" if g % 3 else "B",
            "ai_model": ["eliza", "gpt-4o_minimal"][g % 2],
            "label_A": "Human" if human == "A" else "bot", "label_B": "Human" if human == "B" else "bot",
            "likert_evaluation_A": lists["A"], "likert_evaluation_B": lists["B"],
            "conversation_A_transcript": "I: hi\nW: " + ("hey lol" if human == "A" else "Hello! How are you?"),
            "conversation_B_transcript": "I: hi\nW: " + ("hey lol" if human == "B" else "Hello! How are you?"),
        })
    return pl.DataFrame(rows)



@pytest.fixture
def make_games():
    """Factory for synthetic two-witness games in the HAL Turing_output layout."""
    return _make_games
