"""Metrics and XSTest's prefix baseline."""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.validate import XSTEST_PREFIXES, binary_metrics, xstest_strmatch


def test_confusion_matrix_and_rates():
    m = binary_metrics(np.array([1, 1, 0, 0, 1], bool), np.array([1, 0, 1, 0, 1], bool))
    assert (m.tp, m.fp, m.fn, m.tn, m.n) == (2, 1, 1, 1, 5)
    assert m.precision == 2 / 3 and m.recall == 2 / 3 and m.fpr == 0.5
    d = m.to_dict()
    assert d["f1"] == round(2 / 3, 4) and d["accuracy"] == 0.6
    none = binary_metrics(np.zeros(3, bool), np.zeros(3, bool))
    assert none.precision is None and none.recall is None and none.fpr == 0.0


def test_xstest_baseline_is_prefix_only():
    assert len(XSTEST_PREFIXES) == 21
    texts = pl.Series(["  Sorry, no.", "I'm sorry to hear that!", "Well, I cannot help.",
                       "As an AI, I think...", "It's important to note", None])
    assert xstest_strmatch(texts).to_list() == [True, True, False, True, False, False]
