"""Contrasting dialogues, a rule-following fake LLM and a tiny embedding, all written here.

The pairs: in each, one witness texts like a person (lowercase, slang, typos, short, personal
details) and the other like an assistant (formal, long, generic). The fake LLM follows rules a
reader can check: it picks the dialogue with more lowercase-slang cues as the human one (and is
wrong on purpose for every seventh pair), names the traits it sees in several paraphrases, and
for the condense prompt turns each listed cluster's first representative into an item
(at most the N items in at most the M themes the prompt asks for).
"""

from __future__ import annotations

import json
import re

import numpy as np
import polars as pl

from chatlens.llm.testing import FakeReply

HUMAN_LINES = [
    "lol yeah im from ohio, just got off work at the diner",
    "idk tbh, prob pizza again lol",
    "haha no way, my sister does that too",
    "ugh mondays. gonna grab coffee at the corner place",
    "teh bus was late again smh",
    "yea i play guitar, badly lol",
]
AI_LINES = [
    "Hello! I am happy to help you with any questions you might have today.",
    "That is an excellent question. There are several factors to consider here.",
    "As a language model, I can provide a comprehensive overview of this topic.",
    "Certainly! Here is a detailed explanation of the main points involved.",
    "I appreciate your curiosity. Let me explain this in a structured manner.",
    "It is important to note that preferences vary widely among individuals.",
]
#: Trait -> paraphrases the fake model writes (the embedding stand-in maps each to its trait).
TRAITS = {
    "slang": [
        "Uses slang like lol and idk naturally.",
        "Relies on casual slang and abbreviations.",
        "Drops in internet slang such as lol or tbh.",
    ],
    "typos": [
        "Leaves small typos uncorrected.",
        "Shows typos and uneven spelling.",
        "Makes quick typing mistakes and typos.",
    ],
    "lowercase": [
        "Writes in an all lowercase texting style.",
        "Skips capital letters, lowercase texting.",
        "Types everything in lowercase.",
    ],
    "personal": [
        "Shares concrete personal details about daily life.",
        "Mentions specific personal routines and places.",
        "Gives personal, everyday details about work and family.",
    ],
    "brief": [
        "Keeps replies brief and casual.",
        "Answers in short, casual bursts.",
        "Replies are short rather than exhaustive.",
    ],
}
CONCEPTS = tuple(TRAITS)
#: The CLI options naming the columns of :func:`make_pairs`.
PAIR_OPTIONS = (
    "--a-column",
    "dialogue_a",
    "--b-column",
    "dialogue_b",
    "--label-column",
    "which",
    "--id-column",
    "game",
)


def make_pairs(n: int = 24) -> pl.DataFrame:
    rows = []
    for i in range(n):
        opener = f"I: hi there, game {i}\nW: "
        human = opener + HUMAN_LINES[i % 6] + "\nI: what do you do\nW: " + HUMAN_LINES[(i + 1) % 6]
        ai = opener + AI_LINES[i % 6] + "\nI: what do you do\nW: " + AI_LINES[(i + 2) % 6]
        human_is_a = i % 2 == 0
        rows.append(
            {
                "game": f"g{i:02d}",
                "dialogue_a": human if human_is_a else ai,
                "dialogue_b": ai if human_is_a else human,
                "which": "A" if human_is_a else "B",
            }
        )
    return pl.DataFrame(rows)


def _humanness(text: str) -> int:
    return sum(text.count(w) for w in ("lol", "idk", "haha", "ugh", "yea", "smh", "im "))


def _pair_index(text: str) -> int:
    return sum(map(ord, text)) % 97


def _characteristics(content: str) -> str:
    a = content.split("<dialogue_a>")[1].split("</dialogue_a>")[0]
    b = content.split("<dialogue_b>")[1].split("</dialogue_b>")[0]
    verdict = "A" if _humanness(a) >= _humanness(b) else "B"
    k = _pair_index(a + b)
    if k % 7 == 0:  # the model is wrong sometimes: the accuracy must show it
        verdict = "B" if verdict == "A" else "A"
    picks = [CONCEPTS[(k + j) % len(CONCEPTS)] for j in range(3 + k % 3)]
    chars = [TRAITS[c][(k + j) % 3] for j, c in enumerate(picks)]
    return json.dumps({"verdict": verdict, "characteristics": chars})


def _condense(content: str) -> str:
    """One item per listed cluster (at most the prompt's N), in at most the prompt's M themes."""
    clusters = re.findall(r"Cluster (\d+) \(\d+ statements\):\n- (.+)", content)
    n_items = int(re.search(r"at most (\d+) distinct statements", content).group(1))
    n_themes = int(re.search(r"at most (\d+) themes", content).group(1))
    themes: dict[int, dict] = {}
    for j, (c, s) in enumerate(clusters[:n_items]):
        theme = themes.setdefault(j % n_themes, {"title": f"Theme {j % n_themes + 1}", "items": []})
        theme["items"].append({"statement": f"{s.rstrip('.')} (as a trait).", "clusters": [int(c)]})
    return json.dumps({"themes": list(themes.values())})


def _ratings(content: str) -> str:
    dialogue = content.split("<dialogue>")[1].split("</dialogue>")[0]
    keys = re.findall(r'"(\d+)": INT', content)
    h = _humanness(dialogue)
    k = _pair_index(dialogue)
    ratings = {key: max(1, min(5, (4 if h else 2) + ((k + int(key)) % 3) - 1)) for key in keys}
    return json.dumps({"likert_evaluation": ratings})


def fake_llm(body: dict, n: int) -> FakeReply:
    """Route by prompt: characteristics, condense, or a questionnaire rating."""
    content = "\n".join(m["content"] for m in body.get("messages", []))
    if "<dialogue_a>" in content:
        return FakeReply(content=_characteristics(content))
    if "Cluster 1 (" in content:
        return FakeReply(content=_condense(content))
    if "## Input dialogue" in content:
        return FakeReply(content=_ratings(content))
    return FakeReply(content='{"error": "unknown prompt"}')


def tiny_embedder(texts: list[str]) -> np.ndarray:
    """One axis per trait (the paraphrases of a trait share it) plus a small per-text offset."""
    out = np.zeros((len(texts), len(CONCEPTS) + 2))
    for i, t in enumerate(texts):
        for j, c in enumerate(CONCEPTS):
            if t in TRAITS[c]:
                out[i, j] = 1.0
        out[i, -2] = 0.05 * (sum(map(ord, t)) % 5)
        out[i, -1] = 0.05 * (len(t) % 3)
    return out
