"""A self-contained HTML report of a run's summary.

Conversation text is hostile (HTML, scripts, prompt injections): every value that reaches the page
goes through :func:`html.escape`, the page loads nothing from the network, and it carries a
Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from chatlens import datafiles
from chatlens.report.excerpts import excerpts_section
from chatlens.report.formatting import esc, finite, presentation
from chatlens.report.headline import Finding, findings
from chatlens.report.validity import validity_section
from chatlens.report.views import view

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:1.5rem 2rem;
 max-width:78rem;color:#1f2328;line-height:1.45}
h1{font-size:1.7rem;margin:.2rem 0 .4rem} h2{font-size:1.25rem;margin:2rem 0 .4rem;border-bottom:1px solid #ddd}
h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
.meta{color:#555;font-size:.9rem} nav{font-size:.9rem;margin:.6rem 0 1rem} nav a{margin-right:.8rem}
.headline{background:#f3f7fc;border-left:4px solid #4c78a8;padding:.6rem 1.2rem .6rem 1rem;margin:1rem 0}
.headline h2{border:0;margin-top:.3rem} .headline li{margin:.35rem 0}
.headline a, a.tbl{font-size:.85rem;white-space:nowrap}
.notest{color:#666;font-size:.9rem}
.validity{background:#fbf8ef;border-left:4px solid #c9a227;padding:.4rem 1.2rem .8rem 1rem;margin:1rem 0}
.validity h2{border:0}
table{border-collapse:collapse;margin:.4rem 0 .6rem 0;max-width:100%;font-size:.9rem}
td,th{border:1px solid #d0d7de;padding:.25rem .55rem;text-align:left;vertical-align:top;overflow-wrap:break-word}
th{background:#f6f8fa;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.small td{color:#777;background:#f4f4f4}
.small-mark{display:inline-block;margin-left:.4rem;padding:0 .3rem;border:1px solid #aaa;border-radius:3px;
 font-size:.72rem;color:#666;background:#fff}
.note{color:#555;font-size:.88rem;margin:.2rem 0 .4rem;max-width:60rem}
.more{color:#666;font-size:.85rem}
figure{margin:.8rem 0} figure img{max-width:min(100%,50rem);height:auto} figure.wide img{max-width:100%}
figcaption{color:#555;font-size:.85rem}
.excerpts{display:grid;grid-template-columns:repeat(auto-fill,minmax(22rem,1fr));gap:.4rem 1.4rem}
.excerpts ul{padding-left:1.1rem;margin:.2rem 0} .excerpts li{font-size:.86rem;margin:.3rem 0;overflow-wrap:anywhere}
.excerpts h4{margin:.4rem 0 0} .ctx{color:#777}
.corpus{display:grid;grid-template-columns:repeat(auto-fill,minmax(24rem,1fr));gap:0 2rem}
.bar{background:#4c78a8;height:.65rem;display:inline-block}
code{background:#f4f4f4;padding:0 .2rem;overflow-wrap:anywhere}
"""

#: Where each figure goes: before the table it draws.
FIGURE_TABLE = {
    "refusal_by_model": "refusal_by_model",
    "refusal_by_language": "refusal_by_language",
    "refusal_type_by_model": "refusal_type_by_model",
    "reactions": "reaction_by_refusal_type",
    "sentiment": "sentiment_after_refusal_vs_answer",
    "jailbreak_around_refusal": "jailbreak_around_refusal_by_model",
    "ending_hazard": "ending_hazard_by_turn",
    "study1_comprehensive_analysis": "study1_summary_table",
}
#: Multi-panel figures shown at full width.
WIDE_FIGURES = ("study1_comprehensive_analysis",)
#: Tables written to CSV but not shown (the per-conversation legacy table).
HIDDEN = ("study1_detailed_results",)


def _turns(mean: object) -> str:
    """Mean turns for a reader: two decimals (summary.json keeps four for scripts)."""
    return f"{mean:.2f}" if finite(mean) else "–"


def _count_table(title: str, counts: Mapping[str, int], key: str, limit: int = 30) -> str:
    if not counts:
        return ""
    top = max(counts.values()) or 1
    rows = "".join(
        f"<tr><td>{esc(name)}</td><td class='n'>{count:,}</td>"
        f"<td><span class='bar' style='width:{int(160 * count / top)}px'></span></td></tr>"
        for name, count in list(counts.items())[:limit]
    )
    more = f"<p class='more'>… and {len(counts) - limit:,} more</p>" if len(counts) > limit else ""
    return (
        f"<div><h3>{esc(title)}</h3><table><thead><tr><th>{esc(key)}</th><th class='n'>count</th><th></th>"
        f"</tr></thead><tbody>{rows}</tbody></table>{more}</div>"
    )


def _figure(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    svg = path.with_suffix(".svg")
    also = f" Also as <code>figures/{esc(svg.name)}</code>." if svg.exists() else ""
    wide = " class='wide'" if path.stem in WIDE_FIGURES else ""
    return (
        f"<figure id='f-{esc(path.stem)}'{wide}><img alt='{esc(path.stem.replace('_', ' '))}' "
        f"src='data:image/png;base64,{data}'><figcaption><code>figures/{esc(path.name)}</code>.{also}"
        "</figcaption></figure>"
    )


def _table_section(name: str, frame: pl.DataFrame, figures: Sequence[str]) -> str:
    doc = presentation()
    text = doc.tables.get(name)
    title = text.title if text else name.replace("_", " ")
    note = f"<p class='note'>{esc(' '.join(text.note.split()))}</p>" if text and text.note else ""
    table = view(name, frame)
    small = any(table.small)
    where = "" if table.keep_order else "shown last, "
    small_note = (
        (
            f"<p class='note'>Rows marked <span class='small-mark'>small group</span> have fewer than "
            f"{doc.small_group_n} units: {where}greyed, never singled out or ranked in the key "
            "findings (totals and pooled shares there include them).</p>"
        )
        if small
        else ""
    )
    return (
        f"<section id='t-{esc(name)}'><h2>{esc(title)}</h2>{''.join(figures)}{note}"
        f"{table.html(doc.table_rows)}{small_note}<p class='more'><code>tables/{esc(name)}.csv</code></p></section>"
    )


def _headline_section(findings: Sequence[Finding], tables: Mapping[str, pl.DataFrame]) -> str:
    if not findings:
        return ""
    doc = presentation()
    shown = [f for f in findings if f.estimable]
    notes = [f for f in findings if not f.estimable]

    def item(f: Finding) -> str:
        link = f" <a href='#t-{esc(f.table)}'>table&nbsp;→</a>" if f.table in tables else ""
        return f"<li>{esc(f.text)}{link}</li>"

    items = "".join(item(f) for f in shown)
    rest = "".join(item(f) for f in notes)
    rest = (
        f"<p class='notest'>Not estimable from this corpus:</p><ul class='notest'>{rest}</ul>"
        if notes
        else ""
    )
    return (
        f"<section id='headline' class='headline'><h2>Key findings</h2><ol>{items}</ol>{rest}"
        f"<p class='note'>Estimates with 95% confidence intervals. A group (model, language, "
        f"refusal type, turn) under {doc.small_group_n} units is never singled out or ranked in "
        "these sentences; totals and pooled shares include its conversations.</p></section>"
    )


def definitions(profile: str) -> list[dict[str, str]]:
    """The definitions of a profile (``data/report/definitions.yaml``) shown in every report."""
    from chatlens.errors import DataFileError

    doc, record = datafiles.load_with_record("report/definitions.yaml")
    if profile not in doc.profiles:
        raise DataFileError(
            record.file, f"profiles.{profile}", "a list of {term, text} entries", None
        )
    return [{"term": d.term, "text": d.text} for d in doc.profiles[profile]]


def _definitions_section(profile: str) -> str:
    items = "".join(
        f"<dt><b>{esc(e['term'])}</b></dt><dd>{esc(e['text'])}</dd>" for e in definitions(profile)
    )
    return f"<section id='definitions'><h2>Definitions ({esc(profile)} profile)</h2><dl>{items}</dl></section>"


def _behaviour_section(tables: Mapping[str, pl.DataFrame], figures: Sequence[Path]) -> str:
    """Every shown table in the order of ``report/presentation.yaml``, each after its figure."""
    by_table: dict[str, list[str]] = {}
    for path in figures:
        by_table.setdefault(FIGURE_TABLE.get(path.stem, path.stem), []).append(_figure(path))
    order = [n for n in presentation().tables if n in tables] + [
        n for n in tables if n not in presentation().tables
    ]
    parts = [_table_section(n, tables[n], by_table.pop(n, [])) for n in order if n not in HIDDEN]
    parts += [f for fs in by_table.values() for f in fs]  # a figure without a shown table
    return "<h1 id='results'>Results</h1>" + "".join(parts)


def render_run_report(
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    behaviour: Any = None,
    figures: Sequence[Path] = (),
    excerpts: Mapping[str, pl.DataFrame] | None = None,
    validity: str | None = None,
) -> str:
    """The HTML page for a run directory: headline, validity, results, examples, definitions, corpus.

    ``validity``: the validity panel (:func:`~chatlens.report.validity.validity_section`) if the
    caller built it already; ``analyze`` does, before its manifest, so the manifest lists the
    accuracy file the panel reads (built here, it was read after the manifest was written)."""
    counts = manifest.get("counts", {})
    source = manifest.get("source", {})
    profile = manifest.get("profile") or {}
    profile_name = str(
        profile.get("name") or manifest.get("configuration", {}).get("profile", "default")
    )
    head = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
        f"<title>chatlens report — {esc(source.get('given', ''))}</title><style>{_STYLE}</style></head><body>"
    )
    intro = (
        f"<h1>chatlens report</h1><p class='meta'>source <code>{esc(source.get('given', ''))}</code> "
        f"(format <code>{esc(source.get('format', ''))}</code>), {esc(profile_name)} profile, "
        f"chatlens {esc(manifest.get('chatlens_version', ''))}, created {esc(manifest.get('created_utc', ''))}. "
        f"Rows in {counts.get('rows_in', 0):,} = analysed {counts.get('rows_analysed', 0):,} + "
        f"quarantined {counts.get('rows_quarantined', 0):,}; {counts.get('messages', 0):,} messages, "
        f"mean {_turns(summary.get('mean_turns'))} turns per conversation.</p>"
    )
    corpus = "".join(
        [
            _count_table("Models", summary.get("models", {}), "model"),
            _count_table("Languages", summary.get("languages", {}), "language"),
            _count_table("Turns per conversation", summary.get("turns_histogram", {}), "turns"),
            _count_table("Roles", summary.get("roles", {}), "role"),
            _count_table(
                "Repairs (documented rules, see docs/corpus.md)",
                summary.get("repairs", {}),
                "repair",
            ),
            _count_table("Quarantine reasons", summary.get("quarantine_reasons", {}), "reason"),
        ]
    )
    body = ""
    nav = ["<a href='#corpus'>Corpus</a>"]
    if behaviour is not None:
        tables = behaviour.tables
        body = (
            _headline_section(findings(tables, behaviour.headline), tables)
            + (validity if validity is not None
               else validity_section(profile_name, plumbing="demo_truth_agreement" in tables))
            + _behaviour_section(tables, figures)
            + (
                excerpts_section(excerpts)
                if "study1_detailed_results" not in tables or excerpts
                else ""
            )
            + _definitions_section(str(profile.get("definitions") or profile_name))
        )
        nav = [
            "<a href='#headline'>Key findings</a>",
            "<a href='#validity'>How far to trust them</a>",
            "<a href='#results'>Results</a>",
            "<a href='#examples'>Examples</a>",
            "<a href='#definitions'>Definitions</a>",
            *nav,
        ]
    return (
        head
        + intro
        + f"<nav>{''.join(nav)}</nav>"
        + body
        + f"<h1 id='corpus'>Corpus</h1><div class='corpus'>{corpus}</div></body></html>"
    )


def write_run_report(
    out: Path,
    summary: Mapping[str, Any],
    manifest: Mapping[str, Any],
    *,
    behaviour: Any = None,
    figures: Sequence[Path] = (),
    excerpts: Mapping[str, pl.DataFrame] | None = None,
    validity: str | None = None,
) -> Path:
    """Write ``out/report.html`` and return its path (see :func:`render_run_report`)."""
    path = out / "report.html"
    page = render_run_report(
        summary, manifest, behaviour=behaviour, figures=figures, excerpts=excerpts,
        validity=validity,
    )
    path.write_text(page, encoding="utf-8")
    return path
