"""A reading sheet for an audit sample: the rows as one self-contained, escaped HTML page.

Why: a reader judges a reply in its context, and a spreadsheet cell is a poor place to read a
6,000-character reply with code in it. The sheet shows each row's message between the one before
and the one after it, in the sample's order, with its ``audit_row`` to label in the sample file.
The text is hostile: every string is HTML-escaped, control and bidirectional-override characters
are shown as U+FFFD, and the page carries a Content-Security-Policy that allows no script and
loads nothing.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from chatlens.audit.text import TEXT_COLUMNS
from chatlens.report.formatting import esc
from chatlens.vocabulary import UNSAFE_CHARS

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#222}
.row{border:1px solid #ccc;border-radius:6px;margin:1.2rem 0;padding:.2rem 1rem .8rem}
.row h2{font-size:1rem;margin:.6rem 0}
.key{color:#777;font-weight:normal;font-size:.85rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;margin:.3rem 0;padding:.4rem .6rem;border-radius:4px}
.before,.after{background:#f4f4f4;color:#555}
.message{background:#fff8e0;border-left:4px solid #c9a227}
.what{font-size:.8rem;color:#777;margin-top:.5rem}
"""


def _text(value: str | None) -> str:
    return "<em>(none: the conversation starts or ends here)</em>" if value is None else esc(value)


def reading_sheet(rows: pl.DataFrame, design: dict[str, Any]) -> str:
    """The HTML page of a sample's ``rows`` (with ``audit_row``, keys and the text columns)."""
    signal, role = design["signal"], design["role"]
    before = "the user's request" if role == "assistant" else "the assistant's message before it"
    head = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        f"<title>chatlens audit: {esc(signal)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Audit sample: {esc(signal)} ({len(rows)} rows)</h1>"
        f"<p>Judge the highlighted {esc(role)} message of each row against docs/labels.md, reading "
        f"{esc(before)} above it and the next message below it. Write the label in the sample "
        f"file's <code>label</code> column, on the row with the same <code>audit_row</code>, in "
        f"order from row 1: {esc(', '.join(design['labels']))} (or <code>skip</code>).</p>"
    )
    shown = rows.with_columns(pl.col(c).str.replace_all(UNSAFE_CHARS, "\ufffd") for c in TEXT_COLUMNS)
    cards = []
    for r in shown.iter_rows(named=True):
        cards.append(
            f"<div class='row'><h2>audit_row {r['audit_row']} <span class='key'>conversation "
            f"{esc(r['conversation_id'])}, message {r['message_index']}</span></h2>"
            f"<div class='what'>before</div><div class='text before'>{_text(r['before'])}</div>"
            f"<div class='what'>{esc(role)} message to judge</div>"
            f"<div class='text message'>{_text(r['message'])}</div>"
            f"<div class='what'>after</div><div class='text after'>{_text(r['after'])}</div></div>"
        )
    return head + "".join(cards) + "</body></html>"


__all__ = ["reading_sheet"]
