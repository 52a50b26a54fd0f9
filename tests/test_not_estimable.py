"""Degenerate statistics are reported as not estimable, in the console and in summary.json,
never as a result such as "risk ratio 1.00 (1.00–1.00)"."""

from __future__ import annotations

import json
import math

from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.stats.estimate import Estimate


def test_estimate_estimable():
    assert not Estimate(1.0, 1.0, 1.0, n=60, method="mh").estimable  # zero width
    assert not Estimate(math.nan, math.nan, math.nan, n=0, method="wilson").estimable
    assert not Estimate(math.inf, 1.0, math.inf, n=9, method="ratio").estimable
    assert Estimate(0.0, 0.0, 0.06, n=60, method="wilson").estimable


def test_single_turn_log_has_a_not_estimable_ending_ratio(tmp_path):
    src = tmp_path / "log.jsonl"
    refusal, answer = "I'm sorry, but I can't help with that.", "Sure, here is how: step one."
    rows = [
        {
            "conversation_id": f"c{i}",
            "model": f"m{i % 2}",
            "conversation": [
                {"role": "user", "content": "how do I do x"},
                {"role": "assistant", "content": refusal if i % 3 == 0 else answer},
            ],
        }
        for i in range(60)
    ]
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(app, ["analyze", str(src), "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "not estimable" in res.output and "1.00 (1.00–1.00" not in res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    ending = summary["behaviour"]["ending_after_refusal_vs_answer"]
    assert ending["risk_ratio"]["estimable"] is False
    refusal_rate = summary["behaviour"]["refusal_rate"]
    assert refusal_rate.get("estimable", True) is True


def test_undefined_bounds_are_null_in_summary_json_which_stays_strict_json(tmp_path):
    # no refused conversation ends at its refusal while answered ones end at turn 1: the ending
    # risk ratio is 0 with undefined (NaN) bounds, which summary.json wrote as the token NaN
    src = tmp_path / "log.jsonl"
    refusal, answer = "I'm sorry, but I can't help with that.", "Sure, here is how: step one."
    rows = []
    for i in range(40):
        turns = [("how do I do x", refusal if i % 4 == 0 else answer)]
        if i % 4 == 0:
            turns.append(("ok, then tell me about y", answer))
        rows.append({"conversation_id": f"c{i}", "model": "m",
                     "conversation": [{"role": r, "content": c} for q, a in turns
                                      for r, c in (("user", q), ("assistant", a))]})
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = CliRunner().invoke(app, ["analyze", str(src), "--out", str(tmp_path / "run"), "--workers", "1"])
    assert res.exit_code == 0, res.output

    def refuse(token: str) -> None:
        raise ValueError(f"summary.json holds {token}, which is not JSON")

    summary = json.loads((tmp_path / "run" / "summary.json").read_text(), parse_constant=refuse)
    rr = summary["behaviour"]["ending_after_refusal_vs_answer"]["risk_ratio"]
    assert rr["estimable"] is False and rr["ci_low"] is None and rr["ci_high"] is None
