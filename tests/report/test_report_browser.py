"""The demo report in a real browser (headless Chromium, 1400 px wide), as a reader sees it.

Checks what only a layout engine can decide: the headline is the first section and its findings
link to their tables, the validity panel shows the real-data accuracy file, no table scrolls or
overflows horizontally, and small groups are marked and never ranked above the others. The
browser is installed by ``make test`` (``scripts/ensure_browser.sh``); the test skips, saying so,
only where none is found.
"""

from __future__ import annotations

import re

import pytest

import chatlens
from chatlens import datafiles
from chatlens.report.browser import find_browser, measure
from chatlens.report.formatting import pct

WIDTH = 1400

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="no Chromium-family browser on PATH (run `make browser`, or apt-get install chromium)",
)


def _check_layout(page: dict) -> None:
    assert page["viewport"] == WIDTH and page["pageWidth"] <= WIDTH, "the page scrolls sideways"
    assert page["scrollers"] == 0, "an element scrolls horizontally"
    for table in page["tables"]:
        where = table["section"] or "corpus"
        assert table["right"] <= WIDTH, f"table in {where} overflows the window: {table}"
        assert table["scroll"] <= table["client"] + 1, f"table in {where} scrolls: {table}"
        assert table["marked"] == table["small"], f"unmarked small group in {where}"
        assert not table["smallOnTop"], f"a small group is ranked above a larger one in {where}"


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo-report")
    chatlens.analyze(out=out)
    assert (out / "figures" / "refusal_type_by_model.svg").exists()
    return measure(out / "report.html", width=WIDTH)


def test_headline_comes_first_with_estimates_cis_and_table_links(demo_page):
    findings, links = demo_page["findings"], demo_page["findingLinks"]
    assert len(findings) >= 6
    assert demo_page["headlineTop"] < 400, "the headline is not at the top of the page"
    assert findings[0].startswith("Assistants refused in ")
    for text in findings:
        assert re.search(r"\d\.\d[^()]{0,8}\([^)]*\d", text), f"no estimate with its CI: {text}"
        assert "not estimable" not in text
    assert any("refuses most often" in t and "×" in t for t in findings)
    assert any("ratio" in t and "Mantel" in t for t in findings)
    assert all(link.startswith("#t-") for link in links)


def test_validity_panel_shows_real_accuracy_from_validate(demo_page):
    text = demo_page["validity"]
    doc = datafiles.load("validation/real_accuracy.json")
    refusal = next(e for e in doc.entries if e.profile == "default" and e.signal == "refusal")
    assert "How far to trust these numbers" in text
    assert pct(refusal.metrics["precision"].value) in text and refusal.detector in text
    assert doc.generated in text
    assert "plumbing check, not validity" in text


def test_no_table_scrolls_and_small_groups_are_marked(demo_page):
    _check_layout(demo_page)
    assert sum(t["small"] for t in demo_page["tables"]) > 0, "the demo has small groups to mark"


@pytest.mark.realdata
def test_real_log_report_layout(shared_data, tmp_path):
    """A real LMSYS sample: 17 models, most with n = 1–12 (the issue's '100% with n = 2')."""
    out = tmp_path / "run"
    chatlens.analyze(shared_data / "real-logs-dev" / "lmsys_dev.jsonl", out=out)
    page = measure(out / "report.html", width=WIDTH)
    _check_layout(page)
    by_model = next(t for t in page["tables"] if t["section"] == "t-refusal_by_model")
    assert by_model["small"] >= 10
