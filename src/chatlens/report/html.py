"""A self-contained HTML report of a run's summary.

Conversation text is hostile (HTML, scripts, prompt injections): every value that reaches the page
goes through :func:`html.escape`, the page loads nothing from the network, and it carries a
Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from chatlens import datafiles

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
table{border-collapse:collapse;margin:0 0 1.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#4c78a8;height:.7rem;display:inline-block}
code{background:#f4f4f4;padding:0 .2rem}
.wide{overflow-x:auto;max-width:100%}
.wide td{white-space:nowrap}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _count_table(title: str, counts: Mapping[str, int], key: str, limit: int = 30) -> str:
    if not counts:
        return ""
    top = max(counts.values()) or 1
    rows = "".join(
        f"<tr><td>{_esc(name)}</td><td class='n'>{count:,}</td>"
        f"<td><span class='bar' style='width:{int(200 * count / top)}px'></span></td></tr>"
        for name, count in list(counts.items())[:limit]
    )
    more = f"<p>… and {len(counts) - limit} more</p>" if len(counts) > limit else ""
    return f"<h2>{_esc(title)}</h2><table><tr><th>{_esc(key)}</th><th>count</th><th></th></tr>{rows}</table>{more}"


def _cell(value: object) -> str:
    """One ``<td>``: numbers right-aligned (floats to 4 significant digits), text escaped."""
    if isinstance(value, bool) or value is None:
        return f"<td>{_esc('' if value is None else value)}</td>"
    if isinstance(value, float):
        return f"<td class='n'>{value:.4g}</td>"
    if isinstance(value, int):
        return f"<td class='n'>{value:,}</td>"
    if isinstance(value, list):
        return f"<td>{_esc(', '.join(map(str, value)))}</td>"
    return f"<td>{_esc(value)}</td>"


def _frame_table(title: str, frame: pl.DataFrame, note: str = "", limit: int = 40) -> str:
    """An escaped HTML table of a polars frame (first ``limit`` rows)."""
    head = "".join(f"<th>{_esc(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame.head(limit).iter_rows()
    )
    more = f"<p>… {frame.height - limit} more rows in the CSV</p>" if frame.height > limit else ""
    intro = f"<p>{_esc(note)}</p>" if note else ""
    return f"<h2>{_esc(title)}</h2>{intro}<div class='wide'><table><tr>{head}</tr>{rows}</table></div>{more}"


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<p><img alt='{_esc(path.stem)}' style='max-width:100%' src='data:image/png;base64,{data}'></p>"


_TABLE_NOTES = {
    "refusal_by_model": "Share of conversations with at least one refusal; 95% Wilson intervals.",
    "refusal_model_vs_rest": "Each model against all other conversations; p-values adjusted by Benjamini–Hochberg.",
    "reaction_by_refusal_type": "What the user did right after the first refusal (abandoned = the conversation ended there).",
    "ending_hazard_by_turn": "Probability that the conversation ends after the assistant's turn, after a refusal (exposed) vs after a normal answer.",
    "study1_summary_table": "The original study's summary sheet, reproduced with its own definitions (--profile legacy).",
    "demo_truth_agreement": ("The demo corpus is synthetic with planted ground truth: how far the detectors "
                             "agree with it. A plumbing check, not validity: the generator's phrase banks "
                             "and the detectors' lexicons were written together. Accuracy on real logs: "
                             "chatlens validate (README, docs/labels.md)."),
}


def definitions(profile: str) -> list[dict[str, str]]:
    """The definitions of a profile (``data/report/definitions.yaml``) shown in every report."""
    from chatlens.errors import DataFileError

    doc, record = datafiles.load_with_record("report/definitions.yaml")
    if profile not in doc.profiles:
        raise DataFileError(record.file, f"profiles.{profile}", "a list of {term, text} entries", None)
    return [{"term": d.term, "text": d.text} for d in doc.profiles[profile]]


def _definitions_section(profile: str) -> str:
    items = "".join(f"<dt><b>{_esc(e['term'])}</b></dt><dd>{_esc(e['text'])}</dd>" for e in definitions(profile))
    return f"<h2>Definitions ({_esc(profile)} profile)</h2><dl>{items}</dl>"


def _behaviour_section(tables: Mapping[str, pl.DataFrame], figures: Sequence[Path]) -> str:
    parts = ["<h1>Behaviour</h1>"]
    parts += [_figure(p) for p in figures]
    for name, frame in tables.items():
        if name == "study1_detailed_results":
            continue
        parts.append(_frame_table(name.replace("_", " "), frame, _TABLE_NOTES.get(name, "")))
    return "".join(parts)


def render_run_report(
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    behaviour: Any = None,
    figures: Sequence[Path] = (),
) -> str:
    """The HTML page for a run directory (summary + manifest, and behaviour tables if any)."""
    counts = manifest.get("counts", {})
    source = manifest.get("source", {})
    head = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>chatlens run — {_esc(source.get('given', ''))}</title><style>{_STYLE}</style></head><body>"
    )
    intro = (
        f"<h1>chatlens run</h1><p>source <code>{_esc(source.get('given', ''))}</code> "
        f"(format <code>{_esc(source.get('format', ''))}</code>), chatlens {_esc(manifest.get('chatlens_version', ''))}, "
        f"created {_esc(manifest.get('created_utc', ''))}.</p>"
        f"<p><b>rows in</b> {counts.get('rows_in', 0):,} = <b>analysed</b> {counts.get('rows_analysed', 0):,} + "
        f"<b>quarantined</b> {counts.get('rows_quarantined', 0):,}; <b>messages</b> {counts.get('messages', 0):,}; "
        f"mean turns {_esc(summary.get('mean_turns'))}.</p>"
    )
    body = "".join(
        [
            _count_table("Models", summary.get("models", {}), "model"),
            _count_table("Languages", summary.get("languages", {}), "language"),
            _count_table("Turns per conversation", summary.get("turns_histogram", {}), "turns"),
            _count_table("Roles", summary.get("roles", {}), "role"),
            _count_table("Repairs (documented rules, see docs/corpus.md)", summary.get("repairs", {}), "repair"),
            _count_table("Quarantine reasons", summary.get("quarantine_reasons", {}), "reason"),
        ]
    )
    extra = ""
    if behaviour is not None:
        profile = manifest.get("profile") or {}
        name = profile.get("definitions") or manifest.get("configuration", {}).get("profile", "default")
        extra = _behaviour_section(behaviour.tables, figures) + _definitions_section(str(name))
    return head + intro + extra + "<h1>Corpus</h1>" + body + "</body></html>"


def write_run_report(
    out: Path,
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    behaviour: Any = None,
    figures: Sequence[Path] = (),
) -> Path:
    """Write ``out/report.html`` and return its path."""
    path = out / "report.html"
    page = render_run_report(summary, manifest, behaviour=behaviour, figures=figures)
    path.write_text(page, encoding="utf-8")
    return path
