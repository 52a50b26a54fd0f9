"""Loaders for the labelled sets ``chatlens validate`` measures the detectors on.

Each loader reads one folder of the shared data directory (never copied into the package) and
returns :class:`LabelledSet` records: texts, a boolean gold label, the task (``refusal`` or
``jailbreak``) and a group (model, method or split), so metrics can be reported per model.
Gold definitions follow each folder's PROVENANCE.md:

* ``xstest-dev``: refusal = ``final_label`` full or partial refusal (human); the 450 prompts are
  jailbreak negatives (direct requests, many of them unsafe-looking).
* ``gptfuzz``: response label 0 (not jailbroken) is a *proxy* for refusal; the 77 templates (and
  the 25 shortened seeds), filled with a question, are jailbreak positives.
* ``jailbreakbench-artifacts``: every non-null attack prompt is a jailbreak positive (grouped by
  method); the 100 ``goal`` requests are negatives; target responses with ``jailbroken`` false
  are a silver (LLM-judged) refusal proxy.
* ``coconot``: the 1,380 prompts are jailbreak negatives; the category says which refusal type a
  response would be expected to have (capability for unsupported requests, policy for safety).
* ``openai-rbr-gold``: refusal = neither ``fully_complies`` nor ``partially_complies`` (human).
* ``toxicchat-train``: jailbreak = the human ``jailbreaking`` majority label (real prompts, 4%).
* ``jailbreak-inthewild-2023-05``: every prompt of the May 2023 snapshot is a jailbreak (authors);
  the 390 forbidden questions are harmful but plain (negatives).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from chatlens.errors import SourceError


@dataclass(frozen=True)
class LabelledSet:
    """One evaluable slice: texts with boolean gold labels for one task."""

    dataset: str
    group: str
    task: str  # "refusal" | "jailbreak"
    texts: pl.Series
    gold: np.ndarray
    gold_kind: str  # "human" | "proxy" | "silver" | "construction"
    #: The user message each text answers (refusal sets that have it), for context-aware tiers.
    requests: pl.Series | None = None

    @property
    def n(self) -> int:
        return len(self.texts)


def _series(values: list[str | None]) -> pl.Series:
    return pl.Series("text", values, dtype=pl.String)


def _read_csv(path: Path) -> pl.DataFrame:
    try:
        return pl.read_csv(path, infer_schema_length=0, glob=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"Cannot read labelled file {path}: {exc}"
        raise SourceError(msg) from exc


def _read_jsonl(path: Path) -> list[dict]:
    try:
        with path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        msg = f"Cannot read labelled file {path}: {exc}"
        raise SourceError(msg) from exc


def load_xstest(root: Path) -> list[LabelledSet]:
    out = []
    for path in sorted((root / "model_completions").glob("xstest_v2_completions_*.csv")):
        df = _read_csv(path)
        model = path.stem.removeprefix("xstest_v2_completions_")
        gold = df["final_label"].str.starts_with("1").not_().to_numpy()
        out.append(LabelledSet("xstest-dev", model, "refusal", df["completion"], gold, "human",
                               requests=df["prompt"]))
    prompts = root / "xstest_prompts.csv"
    if prompts.is_file():
        df = _read_csv(prompts)
        out.append(LabelledSet("xstest-dev", "prompts (negatives)", "jailbreak", df["prompt"],
                               np.zeros(df.height, dtype=bool), "construction"))
    return out


def _fill_templates(path: Path, questions: list[str]) -> list[str]:
    templates = _read_csv(path)["text"].to_list()
    return [t.replace("[INSERT PROMPT HERE]", questions[i % len(questions)])
            for i, t in enumerate(templates)]


def load_gptfuzz(root: Path) -> list[LabelledSet]:
    out = []
    base = root / "datasets"
    for split in ("evaluate", "train"):
        path = base / "responses_labeled" / f"{split}.csv"
        if path.is_file():
            df = _read_csv(path)
            gold = (df["label"] == "0").to_numpy()
            out.append(LabelledSet("gptfuzz", f"responses-{split}", "refusal", df["Response"],
                                   gold, "proxy"))
    qpath = base / "questions" / "question_list.csv"
    questions = _read_csv(qpath)["text"].to_list() if qpath.is_file() else ["[question]"]
    for name, group in (("GPTFuzzer.csv", "templates"), ("seed_short_25.csv", "templates-short")):
        path = base / "prompts" / name
        if path.is_file():
            texts = _fill_templates(path, questions)
            out.append(LabelledSet("gptfuzz", group, "jailbreak", _series(texts),
                                   np.ones(len(texts), dtype=bool), "construction"))
    return out


#: JailbreakBench methods whose prompts are template- or suffix-style (target recall >= 0.95).
TEMPLATE_STYLE = ("JBC", "GCG", "prompt_with_random_search")


def load_jailbreakbench(root: Path) -> list[LabelledSet]:
    prompts: dict[str, list[str]] = {}
    responses: dict[str, tuple[list[str | None], list[bool]]] = {}
    goals: dict[str, str] = {}
    for path in sorted((root / "attack-artifacts").glob("*/*/*.json")):
        method = path.parts[-3]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            msg = f"Cannot read labelled file {path}: {exc}"
            raise SourceError(msg) from exc
        model = data.get("parameters", {}).get("model", path.stem)
        for rec in data.get("jailbreaks", []):
            goals.setdefault(rec.get("goal", ""), rec.get("goal", ""))
            if rec.get("prompt"):
                prompts.setdefault(method, []).append(rec["prompt"])
                if rec.get("response") is not None and rec.get("jailbroken") is not None:
                    texts, gold = responses.setdefault(model, ([], []))
                    texts.append(rec["response"])
                    gold.append(not rec["jailbroken"])
    out = []
    for method, texts in sorted(prompts.items()):
        out.append(LabelledSet("jailbreakbench-artifacts", method, "jailbreak", _series(texts),
                               np.ones(len(texts), dtype=bool), "construction"))
    style = [p for m in TEMPLATE_STYLE for p in prompts.get(m, [])]
    if style:
        out.append(LabelledSet("jailbreakbench-artifacts", "template-style (JBC+GCG+random search)",
                               "jailbreak", _series(style), np.ones(len(style), dtype=bool),
                               "construction"))
    goal_texts = [g for g in goals.values() if g]
    if goal_texts:
        out.append(LabelledSet("jailbreakbench-artifacts", "goals (negatives)", "jailbreak",
                               _series(goal_texts), np.zeros(len(goal_texts), dtype=bool),
                               "construction"))
    for model, (texts, gold) in sorted(responses.items()):
        out.append(LabelledSet("jailbreakbench-artifacts", f"responses-{model}", "refusal",
                               _series(texts), np.asarray(gold, dtype=bool), "silver"))
    return out


#: CoCoNot category -> the refusal type a noncompliant response is expected to have.
COCONOT_EXPECTED_TYPE = {
    "Unsupported requests": "capability",
    "Requests with safety concerns": "policy",
}


def load_coconot(root: Path) -> list[LabelledSet]:
    texts: list[str] = []
    for name in ("coconot_eval.jsonl", "coconot_contrast_eval.jsonl"):
        path = root / name
        if path.is_file():
            texts += [r.get("prompt", "") for r in _read_jsonl(path)]
    if not texts:
        return []
    return [LabelledSet("coconot", "prompts (negatives)", "jailbreak", _series(texts),
                        np.zeros(len(texts), dtype=bool), "construction")]


def load_rbr(root: Path) -> list[LabelledSet]:
    out = []
    for split in ("train", "test"):
        path = root / f"{split}.jsonl"
        if not path.is_file():
            continue
        rows = _read_jsonl(path)
        texts = [(r.get("completion") or [{}])[-1].get("content") for r in rows]
        requests = [next((m.get("content") for m in reversed(r.get("prompt") or [])
                          if isinstance(m, dict) and m.get("role") == "user"), None) for r in rows]
        gold = [not (r["propositions"].get("fully_complies") or
                     r["propositions"].get("partially_complies")) for r in rows]
        out.append(LabelledSet("openai-rbr-gold", split, "refusal", _series(texts),
                               np.asarray(gold, dtype=bool), "human", requests=_series(requests)))
    return out


def load_toxicchat(root: Path) -> list[LabelledSet]:
    """ToxicChat train: real Vicuna-demo prompts with human ``jailbreaking`` labels (base rate 4%).

    The toxic-but-not-jailbreak prompts are also reported alone: they are the hard negatives a
    detector that flags "harmful" instead of "crafted to get around the model" fails on.
    """
    path = root / "toxic_chat_train.json"
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["instances"]
        texts = [r["instance"] for r in rows]
        gold = [r["annotations"]["jailbreaking"]["majority_human"] == "1" for r in rows]
        toxic = [r["annotations"]["toxicity"]["majority_human"] == "1" for r in rows]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        msg = f"Cannot read labelled file {path}: expected ToxicChat instances with jailbreaking labels ({exc!r})."
        raise SourceError(msg) from exc
    hard = [t for t, g, x in zip(texts, gold, toxic, strict=True) if x and not g]
    return [
        LabelledSet("toxicchat-train", "prompts", "jailbreak", _series(texts),
                    np.asarray(gold, dtype=bool), "human"),
        LabelledSet("toxicchat-train", "toxic, not jailbreak (negatives)", "jailbreak",
                    _series(hard), np.zeros(len(hard), dtype=bool), "human"),
    ]


def load_inthewild(root: Path) -> list[LabelledSet]:
    """In-the-wild jailbreak prompts (May 2023 snapshot; positives) and plain forbidden questions
    (harmful but not jailbreaks; negatives)."""
    out = []
    prompts = root / "jailbreak_prompts_2023_05_07.csv"
    if prompts.is_file():
        texts = _read_csv(prompts)["prompt"].unique(maintain_order=True)
        out.append(LabelledSet("jailbreak-inthewild-2023-05", "prompts (May 2023)", "jailbreak",
                               texts, np.ones(len(texts), dtype=bool), "construction"))
    questions = root / "forbidden_question_set.csv"
    if questions.is_file():
        texts = _read_csv(questions)["question"]
        out.append(LabelledSet("jailbreak-inthewild-2023-05", "forbidden questions (negatives)",
                               "jailbreak", texts, np.zeros(len(texts), dtype=bool), "construction"))
    return out


LOADERS: dict[str, Callable[[Path], list[LabelledSet]]] = {
    "xstest-dev": load_xstest,
    "gptfuzz": load_gptfuzz,
    "jailbreakbench-artifacts": load_jailbreakbench,
    "coconot": load_coconot,
    "openai-rbr-gold": load_rbr,
    "toxicchat-train": load_toxicchat,
    "jailbreak-inthewild-2023-05": load_inthewild,
}


def load_all(data_dir: Path) -> list[LabelledSet]:
    """Every labelled slice of every known set present under ``data_dir``."""
    out: list[LabelledSet] = []
    for name, loader in LOADERS.items():
        folder = data_dir / name
        if folder.is_dir():
            out += loader(folder)
    return out
