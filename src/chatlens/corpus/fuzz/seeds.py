"""The seed files of the reader fuzzer: one small valid input per reader format and container.

Why small: a check reads the mutated file whole, and the property tests and the benchmark run
thousands of them; six records are enough to have a middle, an end and a neighbour to damage.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any


def _conv(
    i: int, user: str = "user", bot: str = "assistant", text: str = "content"
) -> list[dict[str, Any]]:
    return [
        {"role": user, text: f"how do I do thing {i}?"},
        {"role": bot, text: "I'm sorry, I can't help."},
        {"role": user, text: "why not??"},
    ]


def _lines(records: list[Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _csv_rows(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


N = 6  # records per seed: small, so one check takes milliseconds

_TREE = {
    "message_id": "m0",
    "role": "prompter",
    "text": "hi",
    "replies": [
        {
            "message_id": "m1",
            "role": "assistant",
            "text": "hello",
            "rank": 0,
            "replies": [{"message_id": "m2", "role": "prompter", "text": "thanks", "replies": []}],
        },
        {"message_id": "m3", "role": "assistant", "text": "no", "rank": 1, "replies": []},
    ],
}


@dataclass(frozen=True)
class Seed:
    """A valid input of one format: its file name, content and read options."""

    name: str
    format: str
    filename: str
    data: bytes = b""
    rows: list[dict[str, Any]] = field(default_factory=list)  # Parquet seeds: the rows
    options: dict[str, Any] = field(default_factory=dict)


CMAP = {"conversation_id": "chat", "role": "speaker", "content": "text"}
_MSG_ROWS = [
    [f"c{i}", r, f"text {i}.{j}"] for i in range(N) for j, r in enumerate(["user", "assistant"])
]

SEEDS: dict[str, Seed] = {
    s.name: s
    for s in (
        Seed(
            "lmsys-jsonl",
            "lmsys",
            "d.jsonl",
            _lines(
                [
                    {
                        "conversation_id": f"c{i}",
                        "model": "vicuna",
                        "language": "English",
                        "conversation": _conv(i),
                        "openai_moderation": [
                            {
                                "flagged": False,
                                "categories": {"hate": False},
                                "category_scores": {"hate": 0.01},
                            }
                        ]
                        * 3,
                        "turn": 2,
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "wildchat-jsonl",
            "wildchat",
            "d.jsonl",
            _lines(
                [
                    {
                        "conversation_hash": f"h{i}",
                        "model": "gpt-4",
                        "language": "English",
                        "hashed_ip": "ip",
                        "timestamp": "2023-04-09T00:00:00+00:00",
                        "toxic": False,
                        "turn": 2,
                        "conversation": [
                            dict(m, language="English", toxic=False) for m in _conv(i)
                        ],
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "sharegpt-json",
            "sharegpt",
            "d.json",
            json.dumps(
                [
                    {"id": f"s{i}", "conversations": _conv(i, "human", "gpt", "value")}
                    for i in range(N)
                ]
            ).encode(),
        ),
        Seed(
            "sharegpt-jsonl",
            "sharegpt",
            "d.jsonl",
            _lines(
                [
                    {
                        "id": f"s{i}",
                        "conversations": [
                            {"from": m["role"], "value": m["value"]}
                            for m in _conv(i, "human", "gpt", "value")
                        ],
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "openai-jsonl",
            "openai",
            "d.jsonl",
            _lines([{"id": f"o{i}", "model": "gpt", "messages": _conv(i)} for i in range(N)]),
        ),
        Seed(
            "arena-jsonl",
            "arena",
            "d.jsonl",
            _lines(
                [
                    {
                        "question_id": f"q{i}",
                        "model_a": "a",
                        "model_b": "b",
                        "winner": "model_a",
                        "conversation_a": _conv(i),
                        "conversation_b": _conv(i),
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "hh-jsonl",
            "hh",
            "d.jsonl",
            _lines(
                [
                    {
                        "chosen": f"\n\nHuman: q{i}\n\nAssistant: sure",
                        "rejected": f"\n\nHuman: q{i}\n\nAssistant: no",
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "oasst-jsonl",
            "oasst",
            "d.jsonl",
            _lines(
                [
                    {"message_tree_id": f"t{i}", "tree_state": "ready_for_export", "prompt": _TREE}
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "dices-json",
            "dices",
            "d.json",
            json.dumps(
                {
                    "instances": [
                        {
                            "id": i,
                            "instance": {
                                "user_prompt": f"USER: q{i}\nLAMDA: hi\nUSER: more",
                                "response": "no",
                            },
                            "annotations": {"safety": {"majority_human": "unsafe"}},
                        }
                        for i in range(N)
                    ]
                }
            ).encode(),
        ),
        Seed(
            "table-csv",
            "table",
            "d.csv",
            _csv_rows([["chat", "speaker", "text"], *_MSG_ROWS]),
            options={"column_map": CMAP},
        ),
        Seed(
            "table-jsonl",
            "table",
            "d.jsonl",
            _lines([dict(zip(["chat", "speaker", "text"], r, strict=True)) for r in _MSG_ROWS]),
            options={"column_map": CMAP},
        ),
        Seed(
            "table-conversation-csv",
            "table",
            "d.csv",
            _csv_rows([["id", "messages"], *[[f"c{i}", json.dumps(_conv(i))] for i in range(N)]]),
            options={
                "column_map": {"conversation_id": "id", "messages": "messages"},
                "layout": "conversation",
            },
        ),
        Seed(
            "oasst-csv",
            "oasst",
            "d.csv",
            _csv_rows(
                [
                    ["message_id", "parent_id", "message_tree_id", "role", "text"],
                    *[
                        [
                            f"t{i}m{j}",
                            f"t{i}m{j - 1}" if j else "",
                            f"t{i}",
                            "prompter" if j % 2 == 0 else "assistant",
                            f"text {j}",
                        ]
                        for i in range(N)
                        for j in range(3)
                    ],
                ]
            ),
        ),
        Seed(
            "table-parquet",
            "table",
            "d.parquet",
            rows=[dict(zip(["chat", "speaker", "text"], r, strict=True)) for r in _MSG_ROWS],
            options={"column_map": CMAP},
        ),
    )
}
SEEDS["openai-jsonl-gz"] = Seed(
    "openai-jsonl-gz", "openai", "d.jsonl.gz", SEEDS["openai-jsonl"].data
)
