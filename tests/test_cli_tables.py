"""Console tables never truncate silently: "… N more" rows, and names folded, not cut."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest

from chatlens.cli import _common
from chatlens.cli._common import out_console
from chatlens.cli.corpus import print_behaviour


@pytest.fixture
def narrow_console():
    saved = out_console._width
    out_console.width = 60
    yield out_console
    out_console._width = saved


def test_refusal_by_model_says_how_many_more_and_keeps_names_whole(narrow_console):
    models = [f"guanaco-{n}b-merged-{i}" for i, n in enumerate([7, 13, 33, 65] * 4 + [7, 13, 33])]
    frame = pl.DataFrame(
        {
            "model": models,
            "n": [100] * 19,
            "rate": [0.1] * 19,
            "ci_low": [0.05] * 19,
            "ci_high": [0.2] * 19,
        }
    )
    behaviour = SimpleNamespace(tables={"refusal_by_model": frame}, headline={})
    with narrow_console.capture() as cap:
        print_behaviour(behaviour)
    text = cap.get()
    flat = text.replace("│", "").replace("\n", "").replace(" ", "")
    assert "…4more(allintables/refusal_by_model.csv)" in flat
    for name in models[:15]:  # folded across lines at 60 columns, never cut to "guanaco…"
        assert name in flat
    assert flat.count("…") == 1


def test_output_to_a_pipe_is_wide(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    assert _common._wide_when_piped() >= _common.PIPED_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert _common._wide_when_piped() is None  # the user's COLUMNS wins (rich reads it)


def _reaction_table(n: int, ks: dict[str, int]) -> pl.DataFrame:
    from chatlens.stats import proportion

    rows = []
    for outcome, k in ks.items():
        est = proportion(k, n)
        rows.append({"outcome": outcome, "first_refusal_type": "(all)", "n": n, "k": k,
                     "rate": est.value, "ci_low": est.ci_low, "ci_high": est.ci_high})
    return pl.DataFrame(rows)


def _printed(behaviour: object) -> str:
    with out_console.capture() as cap:
        print_behaviour(behaviour)
    return " ".join(cap.get().split())


def test_reaction_shares_in_the_terminal_are_the_reports_not_a_rounded_rounding():
    # 12 of 63 = 19.0476%: the report and the CSV say 19.0%; the terminal printed summary.json's
    # 4-decimal 0.1905 again rounded, 19.1%
    frame = _reaction_table(63, {"rephrase": 51, "abandoned": 12})
    head = {"reactions_after_first_refusal": {"rephrase": round(51 / 63, 4), "abandoned": round(12 / 63, 4)}}
    text = _printed(SimpleNamespace(tables={"reaction_by_refusal_type": frame}, headline=head))
    assert "abandoned 19.0%" in text and "rephrase 81.0%" in text
    assert "small group" not in text


def test_reaction_shares_of_a_small_group_are_flagged_as_in_the_report():
    frame = _reaction_table(11, {"rephrase": 8, "abandoned": 3})
    head = {"reactions_after_first_refusal": {"rephrase": 0.7273, "abandoned": 0.2727}}
    text = _printed(SimpleNamespace(tables={"reaction_by_refusal_type": frame}, headline=head))
    assert "small group: only 11 refused conversations" in text


def test_ending_risk_ratio_uses_the_reports_digits_and_verdict():
    rr = {"value": 12.345, "ci_low": 0.8, "ci_high": 20.5, "n": 500, "estimable": True}
    head = {"ending_after_refusal_vs_answer": {"risk_ratio": rr}}
    text = _printed(SimpleNamespace(tables={}, headline=head))
    assert "risk ratio 12.3 (0.80–20.5" in text  # report.html: formatting.ratio
    assert "no clear difference" in text  # the interval includes 1, as the report says


def test_tiny_nonzero_rate_is_not_printed_as_zero():
    frame = pl.DataFrame({"model": ["m"], "n": [10_000], "rate": [0.0003],
                          "ci_low": [0.0001], "ci_high": [0.0009]})
    head = {"refusal_rate": {"value": 0.0003, "ci_low": 0.0001, "ci_high": 0.0009, "n": 10_000}}
    text = _printed(SimpleNamespace(tables={"refusal_by_model": frame}, headline=head))
    assert "0.0%" not in text.replace("0.0–", "")  # the report's "<0.1%", not "0.0%"
    assert "refusal rate <0.1% (0.0–0.1%, n=10,000)" in text
