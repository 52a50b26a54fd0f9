"""Benchmark a folder of small ShareGPT JSON files (one conversation each) against the same
conversations in one JSONL file: ``chatlens.info`` over each, wall and CPU seconds.

Why: such folders are how ShareGPT scrapes are shared; reading them one batch per file was two
orders of magnitude slower than one file. Prints ONE JSON object.

    python benchmarks/bench_folder.py [--files 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _util import emit, peak_rss_mb

WORDS = "the a model answer question please help code python write story explain why how".split()


def _write(root: Path, n: int) -> tuple[Path, Path]:
    rng = random.Random(0)
    folder = root / "sharegpt"
    folder.mkdir()
    with (root / "one.jsonl").open("w") as one:
        for i in range(n):
            turns = []
            for _ in range(rng.randint(1, 3)):
                turns.append({"from": "human", "value": " ".join(rng.choices(WORDS, k=20))})
                turns.append({"from": "gpt", "value": " ".join(rng.choices(WORDS, k=60))})
            record = json.dumps({"id": f"c{i}", "model": "gpt-4", "conversations": turns})
            (folder / f"{i:06d}.json").write_text(record)
            one.write(record + "\n")
    return folder, root / "one.jsonl"


def _timed(source: Path) -> dict[str, float]:
    import chatlens

    wall, cpu = time.perf_counter(), time.process_time()
    summary = chatlens.info(source)
    return {
        "conversations": summary.conversations,
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, one = _write(Path(tmp), args.files)
        _timed(one)  # warm imports and the page cache
        single = _timed(one)
        many = _timed(folder)
    emit(
        {
            "benchmark": "sharegpt folder vs one file (chatlens.info)",
            "files": args.files,
            "one_jsonl": single,
            "folder": many,
            "folder_over_one_file_wall": round(many["wall_s"] / max(single["wall_s"], 1e-9), 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
