"""Numbers and tables for people: the HTML report's formatting (never the machine tables').

Why a module of its own: the CSVs keep every digit and their column names (``ci_low``,
``small_sample``) so scripts can read them; a reader needs ``29.1%``, ``26.7–31.6%``, ``1,317``,
``<0.001`` and a header that says "conversations". One set of rules here keeps every table and
every headline sentence consistent: shares to one decimal as percentages, ratios to two decimals,
sentiment means to two decimals with a sign, p-values to three decimals (or ``<0.001``), integers
with thousands separators; a value that rounds to zero has no sign (``0.00``, never ``−0.00``). Labels and thresholds come from ``report/presentation.yaml``.

Examples
--------
>>> pct(0.290812), ci_pct(0.266922, 0.31592), count(1317), pvalue(2e-9), signed(-0.0109)
('29.1%', '26.7–31.6%', '1,317', '<0.001', '−0.01')
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

from chatlens import datafiles


@datafiles.cached
def presentation() -> Any:
    """The parsed ``report/presentation.yaml`` (labels, thresholds, wording)."""
    return datafiles.load("report/presentation.yaml")


#: Control characters (but tab, newline, carriage return) and the bidirectional embeddings,
#: overrides and isolates. HTML escaping leaves them alone, yet a U+202E in a model name turns
#: the rest of its table cell around ("gpt-4\u202e-terces" reads as "gpt-4secret-"), and a C0
#: control can garble a copy-paste: they are shown as U+FFFD so a reader sees that something
#: was there.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def esc(value: object) -> str:
    r"""HTML-escape any value (conversation text and model names are hostile).

    >>> esc('<b>gpt-4\u202e</b>')
    '&lt;b&gt;gpt-4\ufffd&lt;/b&gt;'
    """
    return html.escape(_INVISIBLE.sub("\ufffd", str(value)), quote=True)


def finite(*values: object) -> bool:
    """Whether every value is a real, finite number."""
    return all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )


def _fixed(value: float, spec: str) -> str:
    """``format(value, spec)`` without the sign of a value that rounds to zero: −0.004 to two
    decimals printed "−0.00" (and −0.0 "-0.0%"), a negative nothing beside a real "−0.01". The
    format spec's ``z`` option does this from Python 3.11; the project supports 3.10."""
    text = format(value, spec)
    if text[:1] in "+-" and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def pct(rate: float | None) -> str:
    """A share as a percentage with one decimal (``<0.1%`` for tiny non-zero shares, ``>99.9%``
    for shares short of all: 9,999 of 10,000 refused printed "100.0%", which reads as every one).

    >>> pct(0.0003), pct(0.9999), pct(1.0)
    ('<0.1%', '>99.9%', '100.0%')
    """
    if not finite(rate):
        return "–"
    if 0 < rate < 0.0005:
        return "<0.1%"
    if 0.9995 <= rate < 1:
        return ">99.9%"
    return _fixed(100 * rate, ".1f") + "%"


def ci_pct(low: float | None, high: float | None) -> str:
    """A share's interval, ``26.7–31.6%``; a bound short of 0 or 1 by less than the last digit
    says so (``0.0–<0.1%``), as :func:`pct` does: 1 of 20,000 printed ``<0.1% (0.0–0.0%)``, an
    interval that reads as exactly zero (and the same as 0 of 20,000's).

    >>> ci_pct(0.266922, 0.31592), ci_pct(8.8e-06, 0.00028), ci_pct(0.99972, 0.999991), ci_pct(0.0, 1.0)
    ('26.7–31.6%', '0.0–<0.1%', '>99.9–100.0%', '0.0–100.0%')
    """
    if not finite(low, high):
        return "–"
    low, high = max(low, 0.0), min(high, 1.0)
    # the bound that would read as the end it is short of: a lower one "100.0", an upper one "0.0"
    lo = ">99.9" if 0.9995 <= low < 1 else _fixed(100 * low, ".1f")
    hi = "<0.1" if 0 < high < 0.0005 else _fixed(100 * high, ".1f")
    return f"{lo}–{hi}%"


def ratio(value: float | None) -> str:
    """A ratio to three significant digits, trailing zeros kept (two decimals below 1).

    >>> ratio(9.32), ratio(9.996), ratio(99.96), ratio(0.5)
    ('9.32', '10.0', '100', '0.50')
    """
    if not finite(value):
        return "–"
    # the size after rounding picks the digits: 9.996 is "10.0", not "10.00" (four digits)
    size = abs(value)
    return _fixed(value, ".2f" if round(size, 2) < 10 else ".1f" if round(size, 1) < 100 else ",.0f")


def ci_ratio(low: float | None, high: float | None) -> str:
    return f"{ratio(low)}–{ratio(high)}" if finite(low, high) else "–"


def signed(value: float | None, digits: int = 2) -> str:
    """A signed score (sentiment, differences) with a typographic minus; a value that rounds to
    zero has no sign.

    >>> signed(0.213), signed(-0.0109), signed(-0.004), signed(0.0)
    ('+0.21', '−0.01', '0.00', '0.00')
    """
    if not finite(value):
        return "–"
    return _fixed(value, f"+.{digits}f").replace("-", "−")


def ci_signed(low: float | None, high: float | None, digits: int = 2) -> str:
    return f"{signed(low, digits)} to {signed(high, digits)}" if finite(low, high) else "–"


def points(value: float | None) -> str:
    """A risk difference in percentage points."""
    return "–" if not finite(value) else signed(100 * value, 1) + " pp"


def ci_points(low: float | None, high: float | None) -> str:
    return f"{signed(100 * low, 1)} to {signed(100 * high, 1)}" if finite(low, high) else "–"


def pvalue(p: float | None) -> str:
    if not finite(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def count(value: object) -> str:
    """An integer with thousands separators."""
    return f"{int(value):,}" if finite(value) else "–"


def number(value: object) -> str:
    """Any other number: integers with separators, floats to three significant digits."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "–" if not math.isfinite(value) else _fixed(value, ".3g")
    return str(value)


def label(column: str) -> str:
    """The readable header of a machine column (``columns`` of ``report/presentation.yaml``)."""
    return presentation().columns.get(column, column.replace("_", " "))


def estimable(low: object, high: object, value: object = 0.0) -> bool:
    """An interval that says something: finite bounds of non-zero width around a finite value.

    A degenerate statistic (``1.00 (1.00–1.00)``, zero variance, an infinite ratio) is reported
    as "not estimable", never as a finding.
    """
    return finite(value, low, high) and high > low


@dataclass
class Table:
    """A table ready for HTML: headers, rows of already formatted cells, and small-group flags."""

    headers: list[str]
    rows: list[list[str]] = field(default_factory=list)
    small: list[bool] = field(default_factory=list)
    numeric: set[int] = field(default_factory=set)
    #: Rows in a natural order (turns) keep it; ranked rows (models) put small groups last.
    keep_order: bool = False

    def add(self, cells: list[str], *, small: bool = False) -> None:
        self.rows.append(cells)
        self.small.append(small)

    def ordered(self) -> Table:
        """Small groups moved below the others (never ranked on top), order otherwise kept."""
        order = sorted(range(len(self.rows)), key=lambda i: 0 if self.keep_order else self.small[i])
        return Table(
            self.headers,
            [self.rows[i] for i in order],
            [self.small[i] for i in order],
            self.numeric,
            self.keep_order,
        )

    def html(self, limit: int | None = None) -> str:
        """The escaped ``<table>``; small groups greyed and marked."""
        head = "".join(
            f"<th{' class=n' if i in self.numeric else ''}>{esc(h)}</th>"
            for i, h in enumerate(self.headers)
        )
        body = []
        shown = self.ordered()
        limit = limit or len(shown.rows)
        for cells, small in zip(shown.rows[:limit], shown.small[:limit], strict=True):
            tds = []
            for i, cell in enumerate(cells):
                cls = "n" if i in self.numeric else ""
                mark = (
                    "<span class='small-mark' title='small group'>small group</span>"
                    if small and i == 0
                    else ""
                )
                tds.append(f"<td class='{cls}'>{esc(cell)}{mark}</td>")
            body.append(f"<tr{' class=small' if small else ''}>{''.join(tds)}</tr>")
        more = len(shown.rows) - limit
        tail = f"<p class='more'>… {more:,} more rows in the CSV</p>" if more > 0 else ""
        order = " data-order='natural'" if self.keep_order else ""
        return f"<table{order}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{tail}"


__all__ = [
    "Table",
    "ci_pct",
    "ci_points",
    "ci_ratio",
    "ci_signed",
    "count",
    "esc",
    "estimable",
    "finite",
    "label",
    "number",
    "pct",
    "points",
    "presentation",
    "pvalue",
    "ratio",
    "signed",
]
