"""``chatlens validate``: every detector on every labelled set, next to XSTest's baseline.

Why: a detector whose precision and recall nobody measured cannot support a refusal *rate*. This
runs each refusal detector (the cue scorer, the original study's legacy regexes, the learned tier
when its weights are shipped, and XSTest's own prefix matcher as the baseline) and each jailbreak
detector (cue scorer, legacy) on every labelled slice found in the data directory, per set and per
model/method, and checks the targets of issue 3:

* xstest-dev: precision and recall >= 0.93 for each model (refusal = full or partial);
* gptfuzz templates and the template-style JailbreakBench prompts (JBC/AIM, GCG, random search):
  jailbreak recall >= 0.95 (PAIR and DSN reported separately);
* plain requests that are not jailbreaks (XSTest prompts, CoCoNot prompts, JailbreakBench goals):
  false-positive rate <= 2%.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from chatlens._json import strict_json
from chatlens._progress import status
from chatlens.errors import InvalidParameterError, MissingExtraError, SourceError
from chatlens.signals.refusal_encoder import EXTRA as ENCODER_EXTRA
from chatlens.signals.refusal_encoder import encoder_installed
from chatlens.stats.metrics import BinaryMetrics, binary_metrics
from chatlens.validate.baseline import xstest_strmatch
from chatlens.validate.datasets import LabelledSet, load_all
from chatlens.validate.jailbreak_cv import FAMILY_CV_DETECTOR
from chatlens.validate.real_eval import RealReport
from chatlens.validate.refusal_model_cv import (
    CONTEXT,
    ENCODER,
    ContextHeldout,
    encoder_outside_pool,
)

DEFAULT_DATA_DIR = Path("..") / "shared" / "data"
#: Name of the real labelled development set in ``--dataset`` (labels in the package, text in
#: the data folder's real-logs-dev, hh-rlhf and dices sets).
REAL_SET = "real-dev"


@dataclass(frozen=True)
class Target:
    """One pass/fail criterion on a (dataset, group, task, detector) row.

    ``gate``: a regression gate, which ``--strict`` (and CI) requires to pass; otherwise an open
    issue target, printed with its verdict so nobody mistakes it for met, but not gated.
    """

    dataset: str
    group: str
    task: str
    detector: str
    metric: str  # precision | recall | fpr
    op: str  # ">=" | "<="
    threshold: float
    gate: bool = True


TARGETS: tuple[Target, ...] = (
    Target("xstest-dev", "gpt4", "refusal", "rules", "precision", ">=", 0.93),
    Target("xstest-dev", "gpt4", "refusal", "rules", "recall", ">=", 0.93),
    Target("xstest-dev", "llama2new", "refusal", "rules", "precision", ">=", 0.93),
    Target("xstest-dev", "llama2new", "refusal", "rules", "recall", ">=", 0.93),
    Target("gptfuzz", "templates", "jailbreak", "rules", "recall", ">=", 0.95),
    Target("jailbreakbench-artifacts", "template-style (JBC+GCG+random search)", "jailbreak",
           "rules", "recall", ">=", 0.95),
    Target("xstest-dev", "prompts (negatives)", "jailbreak", "rules", "fpr", "<=", 0.02),
    Target("coconot", "prompts (negatives)", "jailbreak", "rules", "fpr", "<=", 0.02),
    Target("jailbreakbench-artifacts", "goals (negatives)", "jailbreak", "rules", "fpr", "<=", 0.02),
    # issue 10's jailbreak targets for the default (learned) tier, held out: in-the-wild recall
    # cross-validated by family, ToxicChat precision and FPR by 5-fold CV (not gates: open)
    Target("jailbreak-inthewild-2023-05", "prompts (May 2023)", "jailbreak",
           FAMILY_CV_DETECTOR, "recall", ">=", 0.95, gate=False),
    Target("toxicchat-train", "prompts", "jailbreak", "learned", "precision", ">=", 0.70,
           gate=False),
    Target("toxicchat-train", "prompts", "jailbreak", "learned", "fpr", "<=", 0.01, gate=False),
)


@dataclass(frozen=True)
class TargetCheck:
    """A target and the value measured for it (``passed`` is None when the row is absent)."""

    target: Target
    value: float | None
    passed: bool | None


@dataclass(frozen=True)
class ValidationReport:
    """All measured rows (one per dataset × group × task × detector) plus target checks."""

    rows: pl.DataFrame
    targets: tuple[TargetCheck, ...]
    data_dir: str
    detectors: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    real: RealReport | None = None
    agreement: pl.DataFrame | None = None
    #: Agreement with chatlens's own synthetic corpus: plumbing, not validity (never mixed in).
    synthetic: pl.DataFrame | None = None

    @property
    def all_passed(self) -> bool:
        """Whether every regression gate that could be measured passed (open issue targets are
        reported, not gated)."""
        return all(t.passed for t in self.targets if t.passed is not None and t.target.gate)

    @property
    def gates_measured(self) -> tuple[int, int]:
        """(regression gates measured, regression gates in all): ``--strict`` refuses to pass
        when the first is 0, since a gate whose set is absent passes by not being checked."""
        gates = [t for t in self.targets if t.target.gate]
        return sum(t.passed is not None for t in gates), len(gates)

    def to_dict(self) -> dict:
        """A JSON-safe record of the whole report."""
        return {
            "data_dir": self.data_dir,
            "detectors": self.detectors,
            "results": self.rows.to_dicts(),
            "targets": [
                {**asdict(t.target), "value": t.value, "passed": t.passed} for t in self.targets
            ],
            "all_targets_passed": self.all_passed,
            "notes": list(self.notes),
            "real": None if self.real is None else {
                "refusal": self.real.refusal.to_dicts(),
                "refusal_type": self.real.refusal_type.to_dicts(),
                "reaction": self.real.reaction.to_dicts(),
                "overturned": self.real.overturned.to_dicts(),
                "most_confident_errors": self.real.errors.to_dicts(),
                "labelling_agreement": None if self.agreement is None else self.agreement.to_dicts(),
            },
            "synthetic_plumbing_check_not_validity": (
                None if self.synthetic is None else self.synthetic.to_dicts()),
        }

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as indented, strict JSON: an undefined metric (NaN, e.g. the
        precision of a detector that flagged nothing) is ``null``, not the bare token ``NaN``
        that ``JSON.parse`` and ``jq`` reject (as in ``summary.json``)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(strict_json(self.to_dict()), indent=2, ensure_ascii=False, allow_nan=False),
                     encoding="utf-8")
        return p


def _refusal_detectors() -> dict[str, Callable[[pl.Series], np.ndarray]]:
    from chatlens.signals.refusal import detect_refusal

    out: dict[str, Callable[[pl.Series], np.ndarray]] = {
        "rules": lambda t: detect_refusal(t)["refusal"].to_numpy(),
        "legacy": lambda t: detect_refusal(t, profile="legacy")["refusal"].to_numpy(),
        "xstest-strmatch (baseline)": lambda t: xstest_strmatch(t).to_numpy(),
    }
    try:
        from chatlens.signals.learned import detect_refusal_learned, weights_available
    except ImportError:
        return out
    if weights_available():
        out["learned"] = lambda t: detect_refusal_learned(t)["refusal"].to_numpy()
    return out


def _jailbreak_detectors() -> dict[str, Callable[[pl.Series], np.ndarray]]:
    from chatlens.signals.jailbreak import detect_jailbreak
    from chatlens.signals.jailbreak_learned import detect_jailbreak_learned, weights_available

    out: dict[str, Callable[[pl.Series], np.ndarray]] = {
        "rules": lambda t: detect_jailbreak(t)["jailbreak"].to_numpy(),
        "legacy": lambda t: detect_jailbreak(t, profile="legacy")["jailbreak"].to_numpy(),
    }
    if weights_available():
        out["learned"] = lambda t: detect_jailbreak_learned(t)["jailbreak"].to_numpy()
    return out


def _row(s: LabelledSet, detector: str, m: BinaryMetrics) -> dict:
    return {"dataset": s.dataset, "group": s.group, "task": s.task, "detector": detector,
            "gold": s.gold_kind, **m.to_dict()}


def _check(target: Target, rows: pl.DataFrame) -> TargetCheck:
    hit = rows.filter(
        (pl.col("dataset") == target.dataset) & (pl.col("group") == target.group)
        & (pl.col("task") == target.task) & (pl.col("detector") == target.detector)
    )
    if hit.height == 0:
        return TargetCheck(target, None, None)
    value = hit[target.metric][0]
    if value is None:
        return TargetCheck(target, None, False)
    ok = value >= target.threshold if target.op == ">=" else value <= target.threshold
    return TargetCheck(target, float(value), bool(ok))


def _real(frame: pl.DataFrame, context: ContextHeldout | None, root: Path
          ) -> tuple[RealReport, pl.DataFrame]:
    """The real labelled development set's report and the labelling agreement."""
    from dataclasses import replace

    from chatlens.validate.overturned import evaluate_overturned
    from chatlens.validate.real import agreement, load_labels
    from chatlens.validate.real_detectors import reaction_detectors, refusal_detectors
    from chatlens.validate.real_eval import evaluate_real

    status("validate: real labelled development set (LMSYS, ShareGPT, HH-RLHF, DICES, OASST)")
    detectors = refusal_detectors()
    if context is not None:
        detectors |= context.real_detectors()
    report = evaluate_real(frame, detectors, reactions=reaction_detectors())
    status("validate: refusal_overturned on the labelled real conversations")
    return replace(report, overturned=evaluate_overturned(load_labels(), root, frame)), agreement()


def _context_model(root: Path, datasets: Sequence[str] | None,
                   real: pl.DataFrame | None) -> ContextHeldout | None:
    """Held-out predictions of the context refusal model, when its weights ship and the real
    labelled set it trains on was read (never in-sample: see refusal_model_cv)."""
    from chatlens.signals.refusal_model import model_available

    if real is None or not model_available() or datasets is not None and not (
            set(datasets) & {REAL_SET, "xstest-dev", "openai-rbr-gold"}):
        return None
    status("validate: context refusal model, held-out predictions (grouped CV, leave one source/set out)")
    return ContextHeldout.compute(root, real, only=datasets)


def validate(
    data_dir: str | Path | None = None,
    *,
    datasets: Sequence[str] | None = None,
    synthetic: int = 5000,
    encoder: bool | None = None,
) -> ValidationReport:
    """Measure every detector on every labelled set present in ``data_dir``.

    Parameters
    ----------
    data_dir
        The shared data folder (default ``../shared/data`` relative to the working directory).
    datasets
        Restrict to these folder names (default: all known sets that are present); ``real-dev``
        names the real labelled development set.
    synthetic
        Conversations of chatlens's own synthetic corpus to check the plumbing on (reported
        apart, never as validity); 0 skips it.
    encoder
        Also run the encoder refusal tier on the refusal sets outside its training pool
        (GPTFuzz, JailbreakBench responses; a minute or so on two cores). None: when the
        ``encoder`` extra is installed. Its rows on the real set, XSTest and RBR come from
        recorded held-out probabilities and need no torch either way.

    Returns
    -------
    ValidationReport
        ``rows`` has one row per dataset × group × task × detector with ``n, tp, fp, fn, tn,
        precision, recall, f1, fpr, accuracy`` and ``gold`` (human / proxy / silver /
        construction); ``targets`` holds the issue's pass/fail checks.
    """
    root = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if not root.is_dir():
        msg = f"Labelled-data folder {root} does not exist: expected a directory (use --data DIR)."
        raise SourceError(msg)
    sets = load_all(root)
    if datasets is not None:
        unknown = set(datasets) - {s.dataset for s in sets} - {REAL_SET}
        if unknown:
            msg = (
                f"The 'datasets' parameter (--dataset) names sets not present in {root}: "
                f"{sorted(unknown)}. Present: {sorted({s.dataset for s in sets})}, and "
                f"{REAL_SET!r} (the real labelled set, read from its sources there)."
            )
            raise InvalidParameterError(msg)
        sets = [s for s in sets if s.dataset in datasets]
    if not sets and (datasets is None or REAL_SET not in datasets):
        msg = f"No known labelled set found in {root}: expected folders such as xstest-dev, gptfuzz."
        raise SourceError(msg)
    detectors = {"refusal": _refusal_detectors(), "jailbreak": _jailbreak_detectors()}
    heldout: dict[tuple[str, str], np.ndarray | None] = {}
    # The held-out fits are the slow part: each runs only when a selected set has its task (a
    # refusal-only selection such as openai-rbr-gold spent a minute on the jailbreak folds).
    tasks = {s.task for s in sets}
    if "learned" in detectors["refusal"] and "refusal" in tasks:
        from chatlens.validate.learned_cv import heldout_predictions

        status("validate: learned tier, leave-one-group-out predictions on its training pool")
        heldout = heldout_predictions(load_all(root) if datasets is not None else sets, only=datasets)
    from chatlens.validate.real import labelled_set, missing_sources

    # the real labelled set (text read from root) is read once, for its report and the context
    # model's held-out predictions
    wants_real = datasets is None or bool(set(datasets) & {REAL_SET, "xstest-dev", "openai-rbr-gold"})
    missing = missing_sources(root) if wants_real else []
    if missing:
        msg = (f"The real labelled development set reads its text from {root}, which lacks "
               f"{missing}: expected the shared data folder with every source the labels name.")
        if datasets is not None and REAL_SET in datasets:
            raise SourceError(msg)
        status(f"validate: real labelled set SKIPPED. {msg}")
    real_frame = labelled_set(root) if wants_real and not missing else None
    context = _context_model(root, datasets, real_frame)
    if datasets is None:
        from chatlens.validate.jailbreak_cv import real_user_sets

        sets = [*sets, *real_user_sets(root)]
    extra: list = []
    if "learned" in detectors["jailbreak"] and "jailbreak" in {s.task for s in sets}:
        from chatlens.validate.jailbreak_cv import heldout_rows as jailbreak_heldout

        status("validate: learned jailbreak tier, leave-one-source-out / ToxicChat 5-fold CV "
               "predictions on its training pool")
        # with a --dataset selection the whole pool trains, but only the selected sets' folds
        # are fitted (the fits are independent: the same numbers as a full run)
        flags, extra = jailbreak_heldout(load_all(root) if datasets is not None else
                                         [s for s in sets if s.gold_kind != "weak"], root,
                                         only=datasets)
        heldout |= flags  # the learned rows of every jailbreak slice are these, never in-sample
    run_encoder = encoder if encoder is not None else encoder_installed()
    if encoder and not encoder_installed():  # asked for: fail now, not after the other sets
        raise MissingExtraError(ENCODER_EXTRA, "validate's encoder rows (torch, transformers)")
    if run_encoder and any(s.task == "refusal" for s in sets):
        status("validate: encoder refusal tier on the refusal sets outside its training pool")
    records = []
    for s in sets:
        status(f"validate: {s.dataset} / {s.group} ({s.task}, n={s.n})")
        for name, fn in detectors[s.task].items():
            if name == "learned" and (s.dataset, s.group) in heldout:
                pred = heldout[(s.dataset, s.group)]
                if pred is None:  # trained on, and no held-out model could be fitted: no row
                    continue
            else:
                pred = fn(s.texts)
            records.append(_row(s, name, binary_metrics(s.gold, pred)))
        if s.task == "refusal" and context is not None:
            records.append(_row(s, CONTEXT, binary_metrics(s.gold, context.predict_set(s))))
            if (encoded := context.encoder_set(s)) is not None:
                records.append(_row(s, ENCODER, binary_metrics(s.gold, encoded)))
        if run_encoder and (encoded := encoder_outside_pool(s)) is not None:
            records.append(_row(s, ENCODER, binary_metrics(s.gold, encoded)))
    records += [_row(s, name, binary_metrics(s.gold, pred)) for s, name, pred in extra]
    columns = ("dataset", "group", "task", "detector", "gold", "n", "tp", "fp", "fn", "tn",
               "precision", "recall", "f1", "fpr", "accuracy")
    rows = pl.DataFrame(records) if records else pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    from chatlens.signals.lexicon import bundled_lexicons

    notes = (
        "gptfuzz responses: label 0 (not jailbroken) is a refusal *proxy*; it also contains "
        "non-answers that are not refusals.",
        "jailbreakbench responses: refusal = not jailbroken by JailbreakBench's LLM judge (silver).",
        "coconot: the set ships prompts only (empty responses), so response-level refusal-type "
        "expectations (capability for unsupported, policy for safety requests) cannot be scored "
        "here; its prompts are used as jailbreak negatives.",
        "jailbreakbench PAIR (persuasion rewrites) and DSN are reported separately, without target.",
        "learned tier: on its training pool (xstest-dev models, openai-rbr-gold, jailbreakbench "
        "responses) the rows are leave-one-group-out predictions (a model fitted without that "
        "model/set); elsewhere the shipped weights, which never saw those sets.",
        "learned jailbreak tier: on its training pool (every jailbreak set here and real ShareGPT, "
        "LMSYS and HH-RLHF user messages) the rows are leave-one-source-out predictions; "
        "toxicchat-train rows are stratified 5-fold cross-validated. Real user messages are weak "
        "negatives (unlabelled; a few are real jailbreaks): their FPR is an upper bound. The "
        "in-the-wild prompts also have a family-grouped 5-fold CV row (each fold's jailbreak "
        "families unseen in training) and a time-split row (trained without the latest 30% by "
        "date: the closest stand-in for prompts collected after the snapshot).",
    )
    real, kappa = (_real(real_frame, context, root)
                   if real_frame is not None and (datasets is None or REAL_SET in datasets)
                   else (None, None))
    synth_rows = None
    if synthetic > 0:
        from chatlens.validate.synthetic import synthetic_agreement

        status(f"validate: synthetic corpus ({synthetic:,} conversations; plumbing, not validity)")
        synth_rows = synthetic_agreement(synthetic)
    return ValidationReport(
        synthetic=synth_rows,
        real=real,
        agreement=kappa,
        rows=rows,
        targets=tuple(_check(t, rows) for t in TARGETS),
        data_dir=str(root),
        detectors={lex.name: lex.version for lex in bundled_lexicons()},
        notes=notes,
    )
