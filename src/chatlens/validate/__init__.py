"""Validation of the detectors against labelled data (``chatlens validate``)."""

from __future__ import annotations

from chatlens.stats.metrics import BinaryMetrics, binary_metrics
from chatlens.validate.baseline import XSTEST_PREFIXES, xstest_strmatch
from chatlens.validate.run import TARGETS, Target, TargetCheck, ValidationReport, validate

__all__ = [
    "TARGETS",
    "XSTEST_PREFIXES",
    "BinaryMetrics",
    "Target",
    "TargetCheck",
    "ValidationReport",
    "binary_metrics",
    "validate",
    "xstest_strmatch",
]
