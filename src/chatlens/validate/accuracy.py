"""The signals' measured accuracy on real labelled data, as a small data file the report shows.

Why a data file: every run's report carries a "validity" panel (how accurate the signals behind its
rates are on real logs), but a run must not re-run the two-minute validation, and the numbers
must never be typed by hand. ``chatlens validate --write-accuracy PATH`` turns the current
validation report into ``validation/real_accuracy.json`` (kind ``signal-accuracy``); the
coordinator regenerates it whenever the default detectors change, and the report renders
whatever the file holds.

What goes in: for each profile's detectors (:data:`PROFILE_DETECTORS`), refusal precision /
recall / F1 and refusal-type accuracy on the real labelled development set (conversation
bootstrap CIs, as ``validate`` measures them), the reaction macro-F1 on real follow-ups, and
jailbreak recall on real in-the-wild jailbreak prompts and false-positive rate on real user
messages (Wilson CIs from the counts; the latter is an upper bound: a few of those messages are
real jailbreaks). Agreement with the synthetic generator is never included: that is plumbing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.validate.run import ValidationReport

FILE = "validation/real_accuracy.json"

#: Which validate detector each profile's signal uses, and how that row was evaluated.
PROFILE_DETECTORS: dict[str, dict[str, tuple[str, str]]] = {
    "default": {
        "refusal": ("learned-context (leave-source-out)",
                    "cue scorer + context model, leave-one-source-out"),
        "refusal_type": ("learned-context (leave-source-out)",
                         "cue scorer + context model, leave-one-source-out"),
        "reaction": ("learned (leave-source-out)",
                     "learned reaction model, leave-one-source-out"),
        "jailbreak": ("learned", "learned tier + rule overrides, leave-one-source-out"),
    },
    "encoder": {
        "refusal": ("context+encoder (leave-source-out)",
                    "cue scorer + context model blended with the encoder, leave-one-source-out"),
        "refusal_type": ("context+encoder (leave-source-out)",
                         "cue scorer + context model blended with the encoder, leave-one-source-out"),
        "reaction": ("learned (leave-source-out)",
                     "learned reaction model, leave-one-source-out"),
        "jailbreak": ("learned", "learned tier + rule overrides, leave-one-source-out"),
    },
    "rules": {
        "refusal": ("rules", "rules, held out (never fitted to these sets)"),
        "refusal_type": ("rules", "rules, held out"),
        "reaction": ("rules", "rules, held out"),
        "jailbreak": ("rules", "rules, held out"),
    },
    "legacy": {
        "refusal": ("legacy", "the original study's regexes, held out"),
        "refusal_type": ("legacy", "the original study's regexes, held out"),
        "jailbreak": ("legacy", "the original study's regexes, held out"),
    },
}
#: Jailbreak rows: (dataset, group) → (metric, what the set is).
JAILBREAK_SETS = {
    ("jailbreak-inthewild-2023-05", "prompts (May 2023)"): (
        "recall",
        "real jailbreak prompts collected in the wild (May 2023)",
    ),
    ("real-logs-dev/lmsys", "user messages (weak negatives)"): (
        "false_positive_rate",
        "real LMSYS user messages (upper bound: a few are real jailbreaks)",
    ),
}
REAL_SET = "real labelled development set (LMSYS, ShareGPT, HH-RLHF, DICES, OASST; docs/labels.md)"


def _metric(
    row: dict[str, Any], name: str, key: str | None = None
) -> dict[str, float | None] | None:
    key = key or name
    value = row.get(key)
    if value is None:
        return None
    return {"value": value, "low": row.get(f"{key}_low"), "high": row.get(f"{key}_high")}


def _wilson(k: int, n: int) -> dict[str, float] | None:
    from chatlens.stats.proportions import proportion_ci

    if n <= 0:
        return None
    rate, low, high = proportion_ci(k, n)
    return {
        "value": round(float(rate[0]), 4),
        "low": round(float(low[0]), 4),
        "high": round(float(high[0]), 4),
    }


#: Signals whose entries are also written per source of the real set. Why refusal: a refusal
#: rate's error depends on what kind of log it is (out of source the default tier doubles the
#: refusals of DICES-like chit-chat and under-counts HH-RLHF), which the headline hides.
PER_SOURCE = ("refusal",)


def _real_entries(
    frame: pl.DataFrame, signal: str, detector: str, metrics: tuple[str, ...]
) -> list[dict]:
    groups = pl.col("group") == "all"
    if signal in PER_SOURCE:
        groups = groups | pl.col("group").str.starts_with("source=")
    rows = frame.filter((pl.col("detector") == detector) & groups).to_dicts()
    out = []
    for row in rows:
        measured = {m: v for m in metrics if (v := _metric(row, m)) is not None}
        if not measured:
            continue
        source = row["group"].removeprefix("source=")
        out.append(
            {
                "signal": signal,
                "detector": detector,
                "dataset": REAL_SET if row["group"] == "all" else f"{REAL_SET}: {source} only",
                "group": row["group"],
                "n": row["n"],
                "positives": row.get("positives"),
                "ci": "95% conversation bootstrap",
                "metrics": measured,
            }
        )
    return out


def _jailbreak_entries(rows: pl.DataFrame, detector: str) -> list[dict]:
    out = []
    for (dataset, group), (metric, what) in JAILBREAK_SETS.items():
        part = rows.filter(
            (pl.col("dataset") == dataset)
            & (pl.col("group") == group)
            & (pl.col("task") == "jailbreak")
            & (pl.col("detector") == detector)
        )
        for row in part.to_dicts():
            k, n = (
                (row["tp"], row["tp"] + row["fn"])
                if metric == "recall"
                else (row["fp"], row["fp"] + row["tn"])
            )
            measured = _wilson(k, n)
            if measured is not None:
                out.append(
                    {
                        "signal": "jailbreak",
                        "detector": detector,
                        "dataset": what,
                        "group": "all",
                        "n": n,
                        "positives": row["tp"] + row["fn"],
                        "ci": "95% Wilson",
                        "metrics": {metric: measured},
                    }
                )
    return out


def accuracy_document(report: ValidationReport, *, today: dt.date | None = None) -> dict[str, Any]:
    """The ``signal-accuracy`` document of a validation report (no real set: an error)."""
    from chatlens import __version__
    from chatlens.errors import ChatlensError

    if report.real is None:
        msg = (
            f"validate found no real labelled set under {report.data_dir}; the accuracy file "
            "needs it (pass --data with the shared data folder)."
        )
        raise ChatlensError(msg)
    real = report.real
    tasks = {
        "refusal": (real.refusal, ("precision", "recall", "f1")),
        "refusal_type": (real.refusal_type, ("accuracy",)),
        "reaction": (real.reaction, ("macro_f1",)),
    }
    entries: list[dict[str, Any]] = []
    for profile, signals in PROFILE_DETECTORS.items():
        for signal, (detector, evaluation) in signals.items():
            if signal == "jailbreak":
                found = _jailbreak_entries(report.rows, detector)
            else:
                frame, metrics = tasks[signal]
                found = _real_entries(frame, signal, detector, metrics) if frame.height else []
            entries += [{**e, "profile": profile, "evaluation": evaluation} for e in found]
    date = (today or dt.date.today()).isoformat()
    return {
        "name": "real-accuracy",
        "version": date,
        "source": f"chatlens validate --write-accuracy (chatlens {__version__}, data {report.data_dir})",
        "generated": date,
        "chatlens_version": __version__,
        "entries": entries,
    }


def write_accuracy(report: ValidationReport, path: str | Path) -> Path:
    """Write :func:`accuracy_document` as JSON to ``path`` (checked against its schema first)."""
    from chatlens import datafiles

    doc = accuracy_document(report)
    datafiles.parse(doc, kind="signal-accuracy", file=str(path))
    path = Path(path)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


__all__ = ["FILE", "PER_SOURCE", "PROFILE_DETECTORS", "accuracy_document", "write_accuracy"]
