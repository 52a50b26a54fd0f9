"""Compiled hyperscan databases are cached on disk and give identical matches when reloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlens.signals.scanner import Scanner

hyperscan = pytest.importorskip("hyperscan")

PATTERNS = [(r"can'?t\s+help", True), (r"as\s+an\s+ai", True), (r"不能", False)]
TEXTS = ["Sorry, I can't help with that.", "As an AI, I think…", "我不能回答", "nothing here", ""]


def _scan(scanner: Scanner) -> list[tuple[int, int, int]]:
    m = scanner.scan(TEXTS)
    return sorted(zip(m.message.tolist(), m.pattern.tolist(), m.offset.tolist(), strict=True))


def test_cache_is_written_then_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(tmp_path))
    first = Scanner(PATTERNS, backend="hyperscan")
    files = list((tmp_path / "hyperscan").glob("*.hsdb"))
    assert files, "compiling should store the database"
    stamps = {f: f.stat().st_mtime_ns for f in files}
    second = Scanner(PATTERNS, backend="hyperscan")
    assert {f: f.stat().st_mtime_ns for f in files} == stamps  # loaded, not rewritten
    assert _scan(first) == _scan(second)
    assert _scan(first)  # the texts do match


def test_corrupt_cache_entry_is_recompiled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(tmp_path))
    reference = _scan(Scanner(PATTERNS, backend="hyperscan"))
    for f in (tmp_path / "hyperscan").glob("*.hsdb"):
        f.write_bytes(b"not a database")
    assert _scan(Scanner(PATTERNS, backend="hyperscan")) == reference


def test_unwritable_cache_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(blocker))  # a file, so mkdir fails
    assert _scan(Scanner(PATTERNS, backend="hyperscan"))


def test_anchor_plan_is_cached_and_a_bad_entry_recomputed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chatlens.signals import scanner as scanner_module

    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(tmp_path))
    reference = _scan(Scanner(PATTERNS, backend="hyperscan"))
    first = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    plans = list((tmp_path / "anchors").glob("*.json"))
    assert len(plans) == 1 and first.anchored  # some patterns run only on candidates
    assert _scan(first) == reference
    calls = []
    monkeypatch.setattr(
        scanner_module, "required_literals", lambda p: calls.append(p) or None
    )  # would change the plan if called
    second = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    assert calls == [] and second.anchored == first.anchored and _scan(second) == reference
    plans[0].write_text('{"not": "a plan"}')
    third = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    assert calls and third.anchored == ()  # recomputed (with the stub: nothing anchored)
    assert _scan(third) == reference  # same matches either way


#: Patterns whose necessary literals come as sets of several strings (their iteration order
#: follows Python's per-process string hashing).
TIERED = [
    (r"(?:cannot|can't|won't|will\s+not)\s+(?:help|assist|provide|comply)", True),
    (r"as\s+an?\s+(?:ai|language\s+model|assistant)", True),
    (r"(?:against|violates?)\s+(?:my|the)\s+(?:guidelines|policy|policies)", True),
]


def test_tiered_databases_are_the_same_in_every_process(tmp_path: Path) -> None:
    """The literal database's pattern order (its cache key) must not depend on the hash seed:
    it did, so every process (each pool worker) compiled it again (0.7 s for the refusal cues)
    and the cache grew by one database per process."""
    import os
    import subprocess
    import sys

    code = (
        "import json, sys\n"
        "from chatlens.signals.scanner import Scanner\n"
        f"s = Scanner({TIERED!r}, backend='hyperscan', prefilter=True)\n"
        "print(json.dumps(s.literals))\n"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "CHATLENS_CACHE_DIR": str(tmp_path)}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert len(list((tmp_path / "hyperscan").glob("*.hsdb"))) == 1 + len(TIERED)
