"""A self-contained HTML report of a run's summary.

Conversation text is hostile (HTML, scripts, prompt injections): every value that reaches the page
goes through :func:`html.escape`, the page loads nothing from the network, and it carries a
Content-Security-Policy that forbids scripts.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem;color:#222}
table{border-collapse:collapse;margin:0 0 1.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.bar{background:#4c78a8;height:.7rem;display:inline-block}
code{background:#f4f4f4;padding:0 .2rem}
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


def render_run_report(summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> str:
    """The HTML page for a run directory (summary.json + manifest.json)."""
    counts = manifest.get("counts", {})
    source = manifest.get("source", {})
    head = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
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
    return head + intro + body + "</body></html>"


def write_run_report(out: Path, summary: Mapping[str, Any], manifest: Mapping[str, Any]) -> Path:
    """Write ``out/report.html`` and return its path."""
    path = out / "report.html"
    path.write_text(render_run_report(summary, manifest), encoding="utf-8")
    return path
