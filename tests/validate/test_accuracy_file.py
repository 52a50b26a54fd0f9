"""``chatlens validate --write-accuracy``: the report's validity numbers come from validate, not by hand."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from chatlens import datafiles
from chatlens.errors import ChatlensError
from chatlens.validate.accuracy import accuracy_document, write_accuracy
from chatlens.validate.real_eval import RealReport
from chatlens.validate.run import ValidationReport


def _report(real: bool = True) -> ValidationReport:
    refusal = pl.DataFrame(
        [
            {
                "detector": d,
                "group": g,
                "n": 100,
                "positives": 20,
                "precision": p,
                "precision_low": round(p - 0.1, 2),
                "precision_high": round(p + 0.1, 2),
                "recall": 0.5,
                "recall_low": 0.4,
                "recall_high": 0.6,
                "f1": 0.6,
                "f1_low": 0.5,
                "f1_high": 0.7,
            }
            for d, p in (("rules", 0.8), ("legacy", 0.3))
            for g in ("all", "source=hh")
        ]
    )
    kinds = pl.DataFrame(
        [
            {
                "detector": "rules",
                "group": "all",
                "n": 20,
                "accuracy": 0.7,
                "accuracy_low": 0.5,
                "accuracy_high": 0.85,
            }
        ]
    )
    rows = pl.DataFrame(
        [
            {
                "dataset": "jailbreak-inthewild-2023-05",
                "group": "prompts (May 2023)",
                "task": "jailbreak",
                "detector": "rules",
                "tp": 80,
                "fp": 0,
                "fn": 20,
                "tn": 0,
            }
        ]
    )
    return ValidationReport(
        rows=rows,
        targets=(),
        data_dir="data",
        real=RealReport(
            refusal=refusal, refusal_type=kinds, reaction=pl.DataFrame(), errors=pl.DataFrame()
        )
        if real
        else None,
    )


def test_document_holds_measured_figures_per_profile_detector(tmp_path):
    doc = accuracy_document(_report(), today=dt.date(2030, 5, 6))
    entries = {(e["profile"], e["signal"]): e for e in doc["entries"] if e["group"] == "all"}
    per_source = [e for e in doc["entries"] if e["group"] != "all"]
    # refusal is also written per source of the real set (the rate's error depends on the log)
    assert {(e["profile"], e["signal"], e["group"]) for e in per_source} == {
        ("rules", "refusal", "source=hh"), ("legacy", "refusal", "source=hh")}
    assert all(e["dataset"].endswith(": hh only") for e in per_source)
    # the fake report has rows of the rule and legacy detectors only: the rules profile's entries
    assert entries[("rules", "refusal")]["metrics"]["precision"] == {
        "value": 0.8,
        "low": 0.7,
        "high": 0.9,
    }
    assert entries[("legacy", "refusal")]["metrics"]["precision"]["value"] == 0.3
    assert entries[("rules", "refusal_type")]["metrics"]["accuracy"]["value"] == 0.7
    assert ("default", "refusal") not in entries  # no row of its detector: nothing is invented
    jail = entries[("rules", "jailbreak")]["metrics"]["recall"]
    assert jail["value"] == 0.8 and jail["low"] < 0.8 < jail["high"]  # Wilson from the counts
    assert doc["generated"] == "2030-05-06"
    path = write_accuracy(_report(), tmp_path / "acc.json")
    parsed = datafiles.load(path, kind="signal-accuracy")
    assert len(parsed.entries) == len(json.loads(path.read_text())["entries"])


def test_no_real_set_is_an_error():
    with pytest.raises(ChatlensError, match="no real labelled set"):
        accuracy_document(_report(real=False))
