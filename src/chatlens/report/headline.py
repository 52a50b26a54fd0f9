"""The report's headline: plain-language findings, each with its estimate, 95% CI and table link.

Why: a reader decides from the first screen whether a result is worth their time; the numbers
they need (the overall refusal rate, which model refuses most and by how much, what users do
after a refusal, whether a refusal ends conversations) were only in the console and
``summary.json``. Each finding is computed from the run's tables (small groups excluded), worded
from ``report/presentation.yaml`` and linked to the table it comes from. A statistic whose
interval is degenerate (zero width, infinite, or from too few units) becomes a "not estimable"
line, never a finding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from chatlens.report.formatting import (
    ci_pct,
    ci_points,
    ci_ratio,
    ci_signed,
    count,
    estimable,
    pct,
    points,
    presentation,
    ratio,
    signed,
)


@dataclass(frozen=True)
class Finding:
    """One sentence of the headline and the table (anchor name) it comes from."""

    text: str
    table: str
    estimable: bool = True


def _say(key: str, **values: object) -> str:
    return " ".join(presentation().headline[key].format(**values).split())


def _verdict(low: float, high: float, null: float) -> str:
    """A clause saying the interval includes no effect (``null``), else nothing."""
    return presentation().headline["no_clear_difference"] if low <= null <= high else ""


def _not(what: str, why: str, table: str) -> Finding:
    return Finding(_say("not_estimable", what=what, why=why), table, estimable=False)


def _rate(k: int, n: int) -> tuple[float, float, float]:
    from chatlens.stats import proportion

    est = proportion(k, n)
    return est.value, est.ci_low, est.ci_high


def _overall(head: Mapping[str, Any]) -> list[Finding]:
    est = head.get("refusal_rate")
    if not est:
        return []
    if not estimable(est["ci_low"], est["ci_high"], est["value"]):
        return [
            _not(
                "Overall refusal rate",
                "no variation: every or no conversation refused",
                "refusal_by_model",
            )
        ]
    return [
        Finding(
            _say(
                "refusal_rate",
                rate=pct(est["value"]),
                ci=ci_pct(est["ci_low"], est["ci_high"]),
                n=count(est["n"]),
            ),
            "refusal_by_model",
        )
    ]


def _top_model(frame: pl.DataFrame | None, small_n: int) -> list[Finding]:
    if frame is None or frame.height < 2:
        return []
    big = frame.filter(pl.col("n") >= small_n).sort("rate", descending=True)
    what = "Highest vs lowest refusing model"
    if big.height < 2:
        return [
            _not(
                what,
                f"fewer than two models with at least {small_n} conversations",
                "refusal_by_model",
            )
        ]
    top, bottom = big.row(0, named=True), big.row(big.height - 1, named=True)
    if bottom["k"] == 0 or top["k"] == bottom["k"] == 0:
        return [
            _not(
                what,
                f"{bottom['model']} has no refusals, so the ratio is unbounded",
                "refusal_by_model",
            )
        ]
    from chatlens.stats import compare_proportions

    rr = compare_proportions(top["k"], top["n"], bottom["k"], bottom["n"]).effect("risk_ratio")
    if not estimable(rr.ci_low, rr.ci_high, rr.value):
        return [_not(what, "degenerate interval", "refusal_by_model")]
    return [
        Finding(
            _say(
                "top_model",
                top=top["model"],
                top_rate=pct(top["rate"]),
                top_ci=ci_pct(top["ci_low"], top["ci_high"]),
                ratio=ratio(rr.value),
                bottom=bottom["model"],
                bottom_rate=pct(bottom["rate"]),
                bottom_ci=ci_pct(bottom["ci_low"], bottom["ci_high"]),
                ratio_ci=ci_ratio(rr.ci_low, rr.ci_high),
            ),
            "refusal_by_model",
        )
    ]


def _models_differ(frame: pl.DataFrame | None, small_n: int) -> list[Finding]:
    if frame is None or frame.height < 2:
        return []
    big = frame.filter(pl.col("n") >= small_n)
    if big.height < 2:
        return []
    k = int((big.get_column("p_adjusted") < 0.05).sum())
    gap = big.sort(pl.col("risk_difference").abs(), descending=True).row(0, named=True)
    lo, hi, diff = gap["rd_ci_low"], gap["rd_ci_high"], gap["risk_difference"]
    if not estimable(lo, hi, diff):
        return [_not("Differences between models", "degenerate interval", "refusal_model_vs_rest")]
    text = _say(
        "models_differ",
        k=k,
        m=big.height,
        model=gap["model"],
        diff=points(diff),
        diff_ci=ci_points(lo, hi),
    )
    return [Finding(text, "refusal_model_vs_rest")]


def _pooled(frame: pl.DataFrame, outcomes: list[str]) -> dict[str, tuple[float, float, float]]:
    sums = frame.group_by("outcome").agg(pl.col("k").sum(), pl.col("n").sum())
    found = {r["outcome"]: (r["k"], r["n"]) for r in sums.iter_rows(named=True)}
    return {o: _rate(*found[o]) for o in outcomes if o in found and found[o][1] > 0}


def _types(frame: pl.DataFrame | None, small_n: int) -> list[Finding]:
    if frame is None or frame.height == 0:
        return []
    refused = int(
        frame.filter(pl.col("outcome") == frame.get_column("outcome")[0]).get_column("n").sum()
    )
    if refused < small_n:
        return [
            _not("Refusal types", f"only {refused} refused conversations", "refusal_type_by_model")
        ]
    shares = _pooled(frame, ["policy", "capability", "mixed"])
    text = ", ".join(
        f"{name} in {pct(v)} ({ci_pct(lo, hi)})"
        for name, (v, lo, hi) in sorted(shares.items(), key=lambda kv: -kv[1][0])
    )
    return [Finding(_say("refusal_types", types=text), "refusal_type_by_model")] if text else []


def _reactions(frame: pl.DataFrame | None, small_n: int) -> list[Finding]:
    if frame is None:
        return []
    rows = {
        r["outcome"]: r
        for r in frame.filter(pl.col("first_refusal_type") == "(all)").iter_rows(named=True)
    }
    ab = rows.pop("abandoned", None)
    if ab is None and not rows:
        return []
    n = ab["n"] if ab is not None else max(r["n"] for r in rows.values())
    if n < small_n:
        return [
            _not(
                "Reactions after a refusal",
                f"only {n} refused conversations",
                "reaction_by_refusal_type",
            )
        ]
    words = presentation().headline
    others = "; ".join(
        f"{pct(r['rate'])} ({ci_pct(r['ci_low'], r['ci_high'])}) {words.get(f'reaction.{name}', name)}"
        for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["rate"])
    )
    if ab is None:  # leaving cannot be observed (transcripts that end at a rated response)
        return [Finding(_say("reactions_no_leaving", others=others), "reaction_by_refusal_type")]
    return [
        Finding(
            _say(
                "reactions",
                abandoned=pct(ab["rate"]),
                abandoned_ci=ci_pct(ab["ci_low"], ab["ci_high"]),
                others=others,
            ),
            "reaction_by_refusal_type",
        )
    ]


def _ending(head: Mapping[str, Any]) -> list[Finding]:
    ending = head.get("ending_after_refusal_vs_answer")
    if not ending:
        return []
    rr = ending["risk_ratio"]
    if not estimable(rr["ci_low"], rr["ci_high"], rr["value"]):
        return [
            _not(
                "Ending after a refusal vs after an answer (risk ratio)",
                f"degenerate interval {ratio(rr['value'])} ({ci_ratio(rr['ci_low'], rr['ci_high'])})",
                "ending_hazard_by_turn",
            )
        ]
    return [
        Finding(
            _say(
                "ending",
                rr=ratio(rr["value"]),
                rr_ci=ci_ratio(rr["ci_low"], rr["ci_high"]),
                verdict=_verdict(rr["ci_low"], rr["ci_high"], 1.0),
            ),
            "ending_hazard_by_turn",
        )
    ]


def _sentiment(frame: pl.DataFrame | None, head: Mapping[str, Any], small_n: int) -> list[Finding]:
    diff = head.get("sentiment_after_refusal_minus_answer")
    if frame is None or not diff:
        return []
    rows = {r["follows"]: r for r in frame.iter_rows(named=True)}
    refused, answered = rows.get("a refusal (any type)"), rows.get("an ordinary answer")
    table = "sentiment_after_refusal_vs_answer"
    if refused is None or answered is None:
        return []
    if min(refused["n"], answered["n"]) < small_n or not estimable(
        diff["ci_low"], diff["ci_high"], diff["value"]
    ):
        return [
            _not(
                "Sentiment after a refusal vs after an answer",
                "too few follow-ups or no variation",
                table,
            )
        ]
    return [
        Finding(
            _say(
                "sentiment",
                refused=signed(refused["mean"]),
                refused_ci=ci_signed(refused["ci_low"], refused["ci_high"]),
                answered=signed(answered["mean"]),
                answered_ci=ci_signed(answered["ci_low"], answered["ci_high"]),
                diff=signed(diff["value"]),
                diff_ci=ci_signed(diff["ci_low"], diff["ci_high"]),
                verdict=_verdict(diff["ci_low"], diff["ci_high"], 0.0),
            ),
            table,
        )
    ]


def _jailbreak(frame: pl.DataFrame | None, small_n: int) -> list[Finding]:
    if frame is None:
        return []
    rows = {r["outcome"]: r for r in frame.filter(pl.col("model") == "(all)").iter_rows(named=True)}
    if "before" not in rows or "after" not in rows:
        return []
    b, a = rows["before"], rows["after"]
    if a["n"] < small_n:  # said, as for the reactions and types, not silently left out
        return [_not("Jailbreak attempts around the first refusal",
                     f"only {count(a['n'])} refused conversations", "jailbreak_around_refusal_by_model")]
    return [
        Finding(
            _say(
                "jailbreak",
                after=pct(a["rate"]),
                after_ci=ci_pct(a["ci_low"], a["ci_high"]),
                before=pct(b["rate"]),
                before_ci=ci_pct(b["ci_low"], b["ci_high"]),
            ),
            "jailbreak_around_refusal_by_model",
        )
    ]


def _legacy(detailed: pl.DataFrame) -> list[Finding]:
    n = detailed.height
    refused = detailed.filter(pl.col("refusal_type") != "none")
    out = []
    if n:
        v, lo, hi = _rate(refused.height, n)
        out.append(
            Finding(
                _say("legacy_rate", rate=pct(v), ci=ci_pct(lo, hi), n=count(n)),
                "study1_summary_table",
            )
        )
    if refused.height:
        for key, column in (
            ("legacy_abandoned", "conversation_abandoned"),
            ("legacy_jailbreak", "has_jailbreak_attempt"),
        ):
            v, lo, hi = _rate(int(refused.get_column(column).sum() or 0), refused.height)
            out.append(Finding(_say(key, rate=pct(v), ci=ci_pct(lo, hi)), "study1_summary_table"))
    return out


def findings(tables: Mapping[str, pl.DataFrame], head: Mapping[str, Any]) -> list[Finding]:
    """The headline findings of a run, in reading order (default or legacy table set)."""
    small_n = presentation().small_group_n
    if "study1_detailed_results" in tables:
        return _legacy(tables["study1_detailed_results"])
    return [
        *_overall(head),
        *_top_model(tables.get("refusal_by_model"), small_n),
        *_models_differ(tables.get("refusal_model_vs_rest"), small_n),
        *_types(tables.get("refusal_type_by_model"), small_n),
        *_reactions(tables.get("reaction_by_refusal_type"), small_n),
        *_ending(head),
        *_sentiment(tables.get("sentiment_after_refusal_vs_answer"), head, small_n),
        *_jailbreak(tables.get("jailbreak_around_refusal_by_model"), small_n),
        *[
            _not(name.replace("_", " ").capitalize(), str(why), name)
            for name, why in head.get("notes", {}).items()
        ],
    ]


__all__ = ["Finding", "findings"]
