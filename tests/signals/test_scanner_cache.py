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


def test_anchor_plan_is_cached_and_a_bad_entry_recomputed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chatlens.signals import scanner as scanner_module

    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(tmp_path))
    reference = _scan(Scanner(PATTERNS, backend="hyperscan"))
    first = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    plans = list((tmp_path / "anchors").glob("*.json"))
    assert len(plans) == 1 and first.anchored  # some patterns run only on candidates
    assert _scan(first) == reference
    calls = []
    monkeypatch.setattr(scanner_module, "required_literals",
                        lambda p: calls.append(p) or None)  # would change the plan if called
    second = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    assert calls == [] and second.anchored == first.anchored and _scan(second) == reference
    plans[0].write_text('{"not": "a plan"}')
    third = Scanner(PATTERNS, backend="hyperscan", prefilter=True)
    assert calls and third.anchored == ()  # recomputed (with the stub: nothing anchored)
    assert _scan(third) == reference  # same matches either way
