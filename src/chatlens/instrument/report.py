"""The discovery report: one self-contained HTML page per run directory.

What a researcher needs to judge a discovered questionnaire before using it: where the
statements came from (and how often the model's own verdict was right), how they clustered
(sizes, noise, the representatives), which items the condense step wrote, and, once the items
are rated and fitted, each weight with its interval, the cross-validated AUC and the scale's
reliability. Statements are model output or user data, so every value is HTML-escaped (control
and bidi-override characters become U+FFFD), the page loads nothing and its
Content-Security-Policy forbids scripts (as the run report does).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.instrument.steps import read_manifest
from chatlens.vocabulary import UNSAFE_CHARS

__all__ = ["render_report", "write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5rem 2rem;max-width:72rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem} h2{font-size:1.2rem;margin:1.8rem 0 .4rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.4rem 0;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:.88rem;max-width:60rem} .bar{background:#4c78a8;height:.65rem;display:inline-block}
"""


#: The characters a reader never sees as themselves (``vocabulary.UNSAFE_CHARS``): a U+202E in a
#: model's statement reverses the text after it.
_UNSAFE = re.compile(UNSAFE_CHARS)


def esc(value: object) -> str:
    """HTML-escaped text of any value (None as an empty cell), unsafe characters shown as U+FFFD."""
    return "" if value is None else html.escape(_UNSAFE.sub("\ufffd", str(value)), quote=True)


def _num(v: Any, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and v != v) else f"{v:.{digits}f}"


def _est(e: dict[str, Any] | None, digits: int = 3) -> str:
    if not e:
        return "n/a"
    return f"{_num(e.get('value'), digits)} [{_num(e.get('ci_low'), digits)}, {_num(e.get('ci_high'), digits)}]"


def _resamples(fit: dict[str, Any]) -> str:
    """The weight intervals' replicates, and the resamples drawn when some gave no fit (one class)."""
    used, drawn = fit["n_boot"], fit.get("n_boot_requested", fit["n_boot"])
    if used == drawn:
        return f"{used:,} resamples"
    return f"{used:,} of {drawn:,} resamples; the others held one class only and have no fit"


def _table(head: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='n'>{c}</td>" if j in numeric else f"<td>{c}</td>" for j, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _statements_section(ch: dict[str, Any]) -> str:
    acc = ch.get("verdict_accuracy")
    acc_text = (
        f"The model's own verdict (which dialogue has the property) matched the label in "
        f"{_est(acc)} of {acc['n']} pairs (Wilson 95% CI; "
        "for reference, GPT-5 on HAL's Turing games: 0.648)."
        if acc
        else "No verdicts to check (statements were given without a verdict column)."
    )
    excluded = ch.get("excluded_pairs") or []
    ex = (
        f"<p class='note'>{len(excluded)} pair(s) excluded (answer invalid after re-asks), e.g. pair "
        f"{esc(excluded[0]['pair_id'])}: {esc(excluded[0]['reason'])}</p>"
        if excluded
        else ""
    )
    # pairs that were answered (or given) but left no statement: counted in characteristics.json
    # (pairs_without_statements, which includes the excluded ones) and said here too
    empty = int(ch.get("pairs_without_statements") or 0) - len(excluded)
    if empty > 0:
        ex += (
            f"<p class='note'>{empty:,} pair(s) gave no statement (an empty list, or only blank "
            "statements).</p>"
        )
    return (
        f"<h2>Statements</h2><p>{ch['statements']:,} statements from {ch['pairs']:,} pairs "
        f"({_num(ch['statements_per_pair'], 2)} per pair; source: {esc(ch['source'])}). {esc(acc_text)}</p>{ex}"
    )


def _zero_note(cl: dict[str, Any]) -> str:
    zero = cl.get("zero_vectors") or 0
    return f" ({zero:,} of them with a zero vector: nothing the embedder knows)" if zero else ""


def _clusters_section(cl: dict[str, Any], reps: pl.DataFrame) -> str:
    sizes = {int(k): v for k, v in cl["sizes"].items()}
    top = max(sizes.values()) if sizes else 1
    rows = []
    for (cid, size), group in reps.group_by(["cluster", "size"], maintain_order=True):
        statements = "<br>".join(
            f"{esc(s)} <span class='note'>({_num(sim, 2)})</span>"
            for s, sim in group.sort("rank").select("statement", "similarity").rows()
        )
        rows.append(
            [
                str(cid),
                f"{size:,}",
                f"<span class='bar' style='width:{int(120 * size / top)}px'></span>",
                statements,
            ]
        )
    method = ", ".join(f"{esc(k)}={esc(v)}" for k, v in cl["method"].items() if v is not None)
    return (
        f"<h2>Clusters</h2><p>{cl['n_clusters']} clusters over {cl['n_statements']:,} statements; "
        f"{cl['noise']:,} left as noise{_zero_note(cl)}. Method: {method}.</p>"
        "<p class='note'>Representatives are the statements nearest each cluster's centroid "
        "(cosine similarity in brackets).</p>"
        + _table(["cluster", "size", "", "representatives"], rows, {1})
    )


def _dropped_note(items: dict[str, Any]) -> str:
    dropped = items.get("dropped") or []
    if not dropped:
        return ""
    first = dropped[0]
    return (
        f"<p class='note'>{len(dropped)} statement(s) of the condense step left out, e.g. "
        f"{esc(first['statement'])} ({esc(first['reason'])}); all are listed in items.json.</p>"
    )


def _items_section(items: dict[str, Any], weights: dict[str, dict[str, Any]] | None) -> str:
    titles = {t["key"]: t["title"] for t in items["themes"]}
    head = ["theme", "key", "statement", "clusters"]
    if weights:
        head += ["weight [95% CI]", "selected in folds"]
    rows = []
    for it in items["items"]:
        row = [
            esc(titles.get(it["theme"], it["theme"])),
            esc(it["key"]),
            esc(it["statement"]),
            esc(", ".join(str(c) for c in it["clusters"])),
        ]
        if weights:
            w = weights.get(it["key"], {})
            row += [
                f"{_num(w.get('weight'))} [{_num(w.get('ci_low'), 2)}, {_num(w.get('ci_high'), 2)}]",
                _num(w.get("selection_frequency"), 2),
            ]
        rows.append(row)
    return (
        f"<h2>Items</h2><p>{len(items['items'])} items in {len(items['themes'])} themes "
        f"(condense method: {esc(items['method'])}).</p>{_dropped_note(items)}"
        + _table(head, rows)
    )


def _fit_section(fit: dict[str, Any] | None) -> str:
    if fit is None:
        return (
            "<h2>Validity</h2><p class='note'>Not fitted yet: rate labelled dialogues with "
            "<code>chatlens humanlike judge --instrument instrument.yaml</code>, then run "
            "<code>chatlens instrument fit</code>.</p>"
        )
    rel = fit["reliability"]
    rows = [
        ["cross-validated AUC", _est(fit["cv_auc"]), esc(fit["cv_auc"]["method"])],
        ["cross-validated accuracy", _est(fit["cv_accuracy"]), esc(fit["cv_accuracy"]["method"])],
        [
            "paired accuracy",
            _est(fit["cv_paired_accuracy"]),
            esc(fit["cv_paired_accuracy"]["method"]),
        ],
        ["Cronbach's alpha", _est(rel["cronbach_alpha"]), "pair bootstrap"],
        ["split-half (Spearman-Brown)", _est(rel["split_half"]), "pair bootstrap"],
    ]
    return (
        f"<h2>Validity</h2><p>{fit['n_rows']:,} rated dialogues in {fit['n_groups']:,} pairs; "
        f"{len(fit['selected'])} of {rel['n_items']} items kept. {esc(fit['settings'].get('cv'))}.</p>"
        + _table(["measure", "value [95% CI]", "method"], rows)
        + f"<p class='note'>Weight intervals: {esc(fit['weight_ci_method'])} ({_resamples(fit)}).</p>"
    )


def render_report(run_dir: str | Path) -> str:
    """The report page of a discovery run directory (whatever steps have finished)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    ch = _read_json(run_dir / "characteristics.json")
    cl = _read_json(run_dir / "clusters.json")
    items = _read_json(run_dir / "items.json")
    fit = _read_json(run_dir / "fit.json")
    parts = [
        f"<h1>Instrument discovery: {esc(run_dir.name)}</h1>",
        f"<p class='note'>Data fingerprint {esc(manifest.get('input', {}).get('data_fingerprint', '')[:16])}; "
        f"steps done: {esc(', '.join(manifest.get('steps', {})))}.</p>",
    ]
    if ch:
        parts.append(_statements_section(ch))
    if cl and (run_dir / "representatives.parquet").is_file():
        parts.append(_clusters_section(cl, pl.read_parquet(run_dir / "representatives.parquet", glob=False)))
    if items:
        weights = {w["key"]: w for w in fit["weights"]} if fit else None
        parts.append(_items_section(items, weights))
    parts.append(_fit_section(fit))
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">"
        f"<title>chatlens instrument discovery</title><style>{_STYLE}</style></head><body>"
        + "".join(parts)
        + "</body></html>\n"
    )


def write_report(run_dir: str | Path) -> Path:
    """Write ``report.html`` into the run directory."""
    path = Path(run_dir) / "report.html"
    path.write_text(render_report(run_dir), encoding="utf-8")
    return path
