"""chatlens.stats: rates, tests, effect sizes, multiple-testing control and regression.

The statistics layer of the one-way flow (conversation features → **statistics** → report). Every
function takes a polars frame (or arrays) plus column names, validates its parameters, and
returns a typed record (:class:`Estimate`, :class:`TestResult`, :class:`Comparison`, …) or a
polars frame with a documented schema. Modules, one job each:

* ``estimate``     — the result records;
* ``proportions``  — Wilson / Clopper–Pearson / Agresti–Coull / Jeffreys intervals (vectorised);
* ``grouped``      — rates and means per group with intervals, minimum-n flags, cluster design
  effects; ``rate_table`` for several behaviours at once;
* ``compare``      — two-proportion tests with risk difference / ratio / odds ratio / Cohen's h;
  Welch t + Hedges' g; Mann–Whitney + rank-biserial; every group vs a reference;
* ``paired``       — McNemar for paired rates (one prompt, two models);
* ``contingency``  — χ², Fisher's exact test, Cramér's V with a bootstrap interval;
* ``multitest``    — Benjamini–Hochberg, Holm (statsmodels ``multipletests``);
* ``bootstrap``    — seeded (cluster) bootstrap of means and of any statistic;
* ``regression``   — logistic regression with cluster-robust errors, odds ratios;
* ``hazard``       — per-turn hazard of ending after a refusal vs a normal answer;
* ``legacy``       — the original study's exact tests and labels.
* ``two_phase``    — a detector's rate corrected by a reader's labels on a stratified random sample.
"""

from __future__ import annotations

from chatlens._lazy import lazy_exports

_LAZY: dict[str, str] = {
    "Estimate": "chatlens.stats.estimate:Estimate",
    "TestResult": "chatlens.stats.estimate:TestResult",
    "Comparison": "chatlens.stats.estimate:Comparison",
    "proportion": "chatlens.stats.proportions:proportion",
    "proportion_ci": "chatlens.stats.proportions:proportion_ci",
    "grouped_rate": "chatlens.stats.grouped:grouped_rate",
    "grouped_mean": "chatlens.stats.grouped:grouped_mean",
    "compare_proportions": "chatlens.stats.compare:compare_proportions",
    "compare_rates": "chatlens.stats.compare:compare_rates",
    "welch_t": "chatlens.stats.scores:welch_t",
    "mann_whitney": "chatlens.stats.scores:mann_whitney",
    "compare_paired": "chatlens.stats.paired:compare_paired",
    "rate_table": "chatlens.stats.grouped:rate_table",
    "chi_square": "chatlens.stats.contingency:chi_square",
    "crosstab": "chatlens.stats.contingency:crosstab",
    "cramers_v_interval": "chatlens.stats.contingency:cramers_v_interval",
    "ContingencyResult": "chatlens.stats.contingency:ContingencyResult",
    "adjust_pvalues": "chatlens.stats.multitest:adjust_pvalues",
    "adjust_frame": "chatlens.stats.multitest:adjust_frame",
    "bootstrap_mean": "chatlens.stats.bootstrap:bootstrap_mean",
    "cluster_bootstrap": "chatlens.stats.bootstrap:cluster_bootstrap",
    "logistic_regression": "chatlens.stats.regression:logistic_regression",
    "LogitResult": "chatlens.stats.regression:LogitResult",
    "ending_hazard": "chatlens.stats.hazard:ending_hazard",
    "turns_from_messages": "chatlens.stats.hazard:turns_from_messages",
    "HazardResult": "chatlens.stats.hazard:HazardResult",
    "legacy_ttest": "chatlens.stats.legacy:legacy_ttest",
    "legacy_chi2": "chatlens.stats.legacy:legacy_chi2",
    "legacy_tests": "chatlens.stats.legacy:legacy_tests",
    "legacy_effect_label": "chatlens.stats.legacy:legacy_effect_label",
    "two_phase_rates": "chatlens.stats.two_phase:two_phase_rates",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports("chatlens.stats", globals(), _LAZY)
