"""Small record writers shared by the engine tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path


def write_jsonl(path: Path, records: list[object], *, extra_lines: Sequence[str] = ()) -> Path:
    lines = [json.dumps(r) for r in records] + list(extra_lines)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sharegpt(cid: str | None, *texts: str) -> dict[str, object]:
    roles = ["human", "gpt"]
    record: dict[str, object] = {
        "conversations": [{"from": roles[i % 2], "value": t} for i, t in enumerate(texts)]
    }
    if cid is not None:
        record["id"] = cid
    return record
