"""Fixtures of the alignment tests: personas, a fake LLM server that writes biographies and
dialogues in three styles (and judges), and a tiny randomly initialised chat LM built here."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from chatlens.align.testing import build_tiny_chat_lm  # noqa: F401 - re-exported for tests
from chatlens.humanlike.instruments import load_instrument
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

HAL16Q = load_instrument("hal16q")

SECRET = "sk-align-SECRET-5d1e9f7a3b"

PERSONAS = [
    {
        "age": 20 + 7 * i,
        "sex": "Female" if i % 2 else "Male",
        "occupation": occ,
        "education": edu,
        "marital_status": ms,
        "place_of_birth": pob,
        "household_language": "English only",
        "income": str(20000 + 9000 * i),
        "veteran_status": "Not Applicable",
        "religion": rel,
        "lifestyle": life,
        "ideology": ide,
    }
    for i, (occ, edu, ms, pob, rel, life, ide) in enumerate(
        [
            ("nurse", "Bachelor's", "Married", "Ohio", "Catholic", "active", "moderate"),
            ("welder", "High school", "Single", "Texas", "None", "outdoorsy", "conservative"),
            ("teacher", "Master's", "Widowed", "New York", "Jewish", "bookish", "liberal"),
            ("cashier", "Some college", "Divorced", "Florida", "Baptist", "busy", "moderate"),
            (
                "farmer",
                "High school",
                "Married",
                "Iowa",
                "Methodist",
                "early riser",
                "conservative",
            ),
            ("coder", "PhD", "Single", "California", "None", "night owl", "liberal"),
        ]
    )
]

CASUAL = [
    "ya my {c} is acting up lol",
    "like a week i guess",
    "idk its kinda bad",
    "ok cool thx",
    "nah not really",
    "yeah i can do that",
]
FORMAL = [
    "Good afternoon, Doctor. I have been experiencing considerable discomfort related to my "
    "{c}, and I would appreciate your professional assessment of the situation.",
    "It began approximately one week ago. Could you please explain what might be causing it?",
    "I understand. What treatment options would you recommend, and are there side effects?",
    "Thank you very much for your thorough explanation. I will follow your advice carefully.",
]
PLAIN = [
    "Hi doctor, my {c} has been bothering me.",
    "About a week now.",
    "It hurts more at night.",
    "Okay, I will try that. Thanks.",
]
DOCTOR = [
    "What brings you in today?",
    "How long has this been going on?",
    "Does anything make it better or worse?",
    "Let's try rest and a follow-up in two weeks.",
]


def _n(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def dialogue_for(model: str, prompt: str) -> str:
    """A P:/D: dialogue in the generator's style, varied by the prompt (so rewards differ)."""
    cond = re.search(r"Medical condition: (.*)", prompt)
    c = cond.group(1).strip() if cond else "knee"
    n = _n(model + prompt)
    style = {"casual-gen": CASUAL, "formal-gen": FORMAL}.get(model, PLAIN)
    k = 2 + n % 3
    lines = []
    for i in range(k):
        lines.append("D: " + DOCTOR[i % len(DOCTOR)])
        lines.append("P: " + style[(i + n) % len(style)].format(c=c))
    return "\n".join(lines)


def handler(body: dict, n: int) -> FakeReply:
    msgs = body["messages"]
    text = "\n".join(m["content"] for m in msgs)
    if "likert_evaluation" in text:  # an HAL16Q judge request
        rating = {k: 1 + (_n(text) + int(k)) % 5 for k in HAL16Q.keys}
        return FakeReply(content=json.dumps({"likert_evaluation": rating}))
    if "biographies" in text or "Invent a realistic person" in text:
        occ = re.search(r"occupation: (\w+)", text)
        conds = ["knee pain", "migraine", "back pain", "insomnia", "cough"]
        return FakeReply(
            content=json.dumps(
                {
                    "firstname": "Sam",
                    "lastname": f"Lee{_n(text) % 100}",
                    "interests": ["walks"],
                    "values": ["family"],
                    "biography": f"Sam works as a {occ.group(1) if occ else 'clerk'} and likes walks.",
                    "medical_condition": conds[_n(text) % len(conds)],
                    "reason_for_visit": "Wants advice on the symptoms.",
                }
            ),
            completion_tokens=60,
        )
    return FakeReply(content=dialogue_for(body["model"], text), completion_tokens=80)


@pytest.fixture
def align_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(handler) as server:
        yield server


@pytest.fixture
def personas_file(tmp_path: Path) -> Path:
    p = tmp_path / "personas.json"
    p.write_text(json.dumps(PERSONAS), encoding="utf-8")
    return p


def tiny_train_config(model: str | Path, **overrides: object) -> dict:
    """The training config of the tests' tiny runs: LoRA on ``q_proj`` only, short lengths, no
    evaluation on the pairs (``overrides`` replace or add keys)."""
    return {"model": str(model), "lora": {"r": 2, "alpha": 4, "target_modules": ["q_proj"]},
            "max_length": 128, "max_prompt_length": 64, "batch_size": 2, "eval_on_pairs": False,
            **overrides}
