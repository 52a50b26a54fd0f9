"""The report's validity panel: how accurate this run's signals are on real labelled logs.

Why: a rate is only as good as the detector that counts it. The only accuracy a report used to
show was the demo's agreement with its own generator (plumbing, not validity). The panel shows
the figures ``chatlens validate --write-accuracy`` measured on real labelled data for the
detectors of the run's profile (``validation/real_accuracy.json``), and says in plain words what
they mean for the rates above. It renders whatever that file holds: the file is regenerated when
the detectors change, never edited by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.report.formatting import (
    Table,
    ci_pct,
    count,
    esc,
    estimable,
    pct,
    presentation,
    ratio,
)

ACCURACY_FILE = "validation/real_accuracy.json"
METRIC_LABELS = {
    "precision": "precision",
    "recall": "recall",
    "f1": "F1",
    "accuracy": "accuracy",
    "macro_f1": "macro-F1",
    "false_positive_rate": "false-positive rate",
}
SIGNAL_LABELS = {
    "refusal": "refusal",
    "refusal_type": "refusal type",
    "reaction": "reaction",
    "jailbreak": "jailbreak attempt",
}


def _measure(metric: str, m: Any) -> str:
    """``precision 64.8% (62.0–67.5%)``; a zero-width interval (a bootstrap over two positives
    that never found one: "0.0% (0.0–0.0%)") claims a certainty the data lack, so it is said to
    be not estimable instead of printed."""
    if m.low is None or m.high is None:
        interval = ""
    elif not estimable(m.low, m.high, m.value):
        interval = " (interval not estimable: too few units)"
    else:
        interval = f" ({ci_pct(m.low, m.high)})"
    return f"{METRIC_LABELS.get(metric, metric)} {pct(m.value)}{interval}"


def _table(entries: list[Any]) -> Table:
    table = Table(
        ["signal", "detector", "real labelled data", "units", "measured (95% CI)", "evaluation"],
        numeric={3},
    )
    for e in entries:
        table.add(
            [
                SIGNAL_LABELS.get(e.signal, e.signal),
                e.detector,
                e.dataset,
                count(e.n),
                "; ".join(_measure(k, m) for k, m in e.metrics.items()),
                f"{e.evaluation}; {e.ci}",
            ]
        )
    return table


def _factor(metrics: dict[str, Any]) -> float | None:
    """Precision ÷ recall: the factor from a rate counted by the detector to a careful reader's
    (None where the detector found none of the real refusals)."""
    if "precision" not in metrics or "recall" not in metrics or metrics["recall"].value <= 0:
        return None
    return metrics["precision"].value / metrics["recall"].value


def _spread(entries: list[Any], words: dict[str, str]) -> str | None:
    """How the refusal factor varies across the sources of the labelled set."""
    per = [e for e in entries if e.signal == "refusal" and e.group.startswith("source=")]
    factors = [(f, e) for e in per if (f := _factor(e.metrics)) is not None]
    if len(factors) < 2:
        return None
    low, high = min(factors, key=lambda t: t[0]), max(factors, key=lambda t: t[0])
    blind = [e for e in per if _factor(e.metrics) is None and (e.positives or 0) > 0]
    text = words["refusal_spread"].format(
        low=ratio(low[0]), low_source=low[1].group.removeprefix("source="),
        high=ratio(high[0]), high_source=high[1].group.removeprefix("source="))
    for e in blind:
        text += " " + words["refusal_blind"].format(
            source=e.group.removeprefix("source="), positives=count(e.positives), n=count(e.n))
    return text + " " + words["refusal_advice"]


def _meaning(entries: list[Any]) -> list[str]:
    words = presentation().validity
    by_signal: dict[str, dict[str, Any]] = {}
    for e in entries:
        if e.group == "all":
            by_signal.setdefault(e.signal, {}).update(e.metrics)
    out = []
    ref = by_signal.get("refusal", {})
    factor = _factor(ref)
    if factor is not None:
        direction = (
            "shown rates are likely underestimates"
            if factor > 1.1
            else "shown rates are likely overestimates"
            if factor < 0.9
            else "about right"
        )
        out.append(
            words["refusal_meaning"].format(
                precision=pct(ref["precision"].value),
                recall=pct(ref["recall"].value),
                factor=ratio(factor),
                direction=direction,
            )
        )
    spread = _spread(entries, words)
    if spread is not None:
        out.append(spread)
    if "accuracy" in by_signal.get("refusal_type", {}):
        out.append(
            words["type_meaning"].format(accuracy=pct(by_signal["refusal_type"]["accuracy"].value))
        )
    if "macro_f1" in by_signal.get("reaction", {}):
        out.append(
            words["reaction_meaning"].format(macro_f1=pct(by_signal["reaction"]["macro_f1"].value))
        )
    jb = by_signal.get("jailbreak", {})
    if "recall" in jb and "false_positive_rate" in jb:
        out.append(
            words["jailbreak_meaning"].format(
                recall=pct(jb["recall"].value),
                fpr=pct(jb["false_positive_rate"].high or jb["false_positive_rate"].value),
            )
        )
    return [" ".join(s.split()) for s in out]


def validity_section(
    profile: str, *, plumbing: bool = False, accuracy: str | Path = ACCURACY_FILE
) -> str:
    """The validity panel (``<section id=validity>``) for a run of ``profile``.

    ``accuracy``: the ``signal-accuracy`` file to show (default: the bundled one).
    """
    doc = datafiles.load(accuracy, kind="signal-accuracy")
    words = presentation().validity
    entries = [e for e in doc.entries if e.profile == profile]
    parts = ["<section id='validity' class='validity'><h2>How far to trust these numbers</h2>"]
    if not entries:
        parts.append(f"<p>{esc(' '.join(words['missing'].split()))}</p>")
    else:
        intro = words["intro"].format(
            profile=profile, generated=doc.generated, version=doc.chatlens_version
        )
        parts.append(f"<p>{esc(' '.join(intro.split()))}</p>")
        parts.append("<ul>" + "".join(f"<li>{esc(s)}</li>" for s in _meaning(entries)) + "</ul>")
        parts.append(_table(entries).html())
    if plumbing:
        parts.append(
            f"<p class='note'>{esc(' '.join(words['plumbing'].split()))} "
            "<a href='#t-demo_truth_agreement'>plumbing check</a></p>"
        )
    parts.append("</section>")
    return "".join(parts)


__all__ = ["ACCURACY_FILE", "validity_section"]
