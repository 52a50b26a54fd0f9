"""Golden test: ``analyze`` on a fixed synthetic corpus must give the same tables, byte for byte.

A deterministic corpus (the synthetic generator, fixed size and seed) is analysed under every
bundled profile; each output table is reduced to a content hash (Parquet tables as NDJSON of their
rows, CSV tables as their sorted lines — ties in count tables have no fixed order — and
``summary.json`` without timings) and compared with ``tests/golden/fingerprints.json``. Any change
in behaviour (a detector, a feature, a table, the reader) fails here loudly, naming the table.

Updating the fingerprints deliberately (only when a behaviour change is intended, and say why in
the commit message)::

    CHATLENS_UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden.py
    git diff tests/golden/fingerprints.json   # review which tables changed

The test then rewrites the file and skips (so an update never passes silently as a green run).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import polars as pl
import pytest

import chatlens
from chatlens.pipeline.profile import bundled_profiles

GOLDEN = Path(__file__).parent / "golden" / "fingerprints.json"
CONVERSATIONS = 2_000
SEED = 11
#: Keys holding timings: whole words of a snake_case key ("time", "wall_s"), so "sentiment"
#: (which contains "time") is still fingerprinted.
_TIMING = re.compile(r"(?:^|_)(?:time|times|timings|elapsed|wall|duration|seconds)(?:_|$)")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _strip_timings(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_timings(v) for k, v in value.items() if not _TIMING.search(k)}
    if isinstance(value, list):
        return [_strip_timings(v) for v in value]
    return value


def content_hashes(run: Path) -> dict[str, str]:
    """Content hash of every table of a run directory (independent of Parquet encoding)."""
    hashes = {}
    for path in sorted(run.glob("*.parquet")):
        hashes[path.name] = _sha(pl.read_parquet(path).write_ndjson().encode())
    for path in sorted((run / "tables").glob("*.csv")):
        lines = sorted(path.read_text(encoding="utf-8").splitlines())
        hashes[f"tables/{path.name}"] = _sha("\n".join(lines).encode())
    summary = _strip_timings(json.loads((run / "summary.json").read_text(encoding="utf-8")))
    hashes["summary.json"] = _sha(json.dumps(summary, sort_keys=True).encode())
    return hashes


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from chatlens.synth import synth

    path = tmp_path_factory.mktemp("golden") / "synth.parquet"
    synth(CONVERSATIONS, seed=SEED, out=path)
    return path


#: Profiles whose output depends on floating-point kernels that differ between CPUs (the encoder
#: tier's transformer: a score at the 4th decimal can move with the machine's SIMD width), so a
#: byte-for-byte fingerprint would test the machine, not chatlens. Their wiring is tested in
#: tests/signals/test_refusal_encoder.py.
NOT_BYTE_STABLE = ("encoder",)


@pytest.mark.parametrize("profile", [p for p in bundled_profiles() if p not in NOT_BYTE_STABLE])
def test_analyze_output_matches_the_golden_fingerprints(
    corpus: Path, tmp_path: Path, profile: str
) -> None:
    run = chatlens.analyze(corpus, out=tmp_path / profile, profile=profile)
    got = content_hashes(run.out)
    golden = json.loads(GOLDEN.read_text(encoding="utf-8")) if GOLDEN.exists() else {}
    if os.environ.get("CHATLENS_UPDATE_GOLDEN"):
        golden[profile] = got
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip(f"rewrote the {profile!r} fingerprints in {GOLDEN}; review the diff")
    assert profile in golden, f"no fingerprints for profile {profile!r}: see this module's docstring"
    want = golden[profile]
    changed = sorted(name for name in want.keys() | got.keys() if want.get(name) != got.get(name))
    assert not changed, (
        f"analyze --profile {profile} changed these outputs: {changed}. If intended, update the "
        "fingerprints (CHATLENS_UPDATE_GOLDEN=1, see tests/test_golden.py) and say why."
    )


def test_content_hash_sees_a_changed_value(tmp_path: Path) -> None:
    """The hash is of content: one changed cell changes it, a re-encoding does not."""
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    (run / "summary.json").write_text('{"wall_s": 1.0, "conversations": 2}')
    frame = pl.DataFrame({"id": ["a", "b"], "cues": [["x"], []]})
    frame.write_parquet(run / "t.parquet", compression="zstd")
    first = content_hashes(run)
    frame.write_parquet(run / "t.parquet", compression="snappy")
    (run / "summary.json").write_text('{"wall_s": 9.0, "conversations": 2}')
    assert content_hashes(run) == first
    frame.with_columns(pl.Series("cues", [["x"], ["y"]])).write_parquet(run / "t.parquet")
    assert content_hashes(run)["t.parquet"] != first["t.parquet"]
