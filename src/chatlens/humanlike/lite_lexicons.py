"""HL-lite's word lists (slang, hedges, talk about being an AI, ...) as a validated data file.

Why a data file: the lists are what a reader must check to trust a feature, and what a user
changes for another register or language. They ship as ``chatlens/data/humanlike/lexicons.yaml``
and are validated on load; a malformed file raises :class:`~chatlens.errors.LexiconParseError`
naming the file, the category and the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from chatlens import datafiles

__all__ = ["WB", "Lexicons", "load_lexicons"]


#: ASCII word boundary: keeps the regex engine on its fast DFA path.
WB = r"(?-u:\b)"


@dataclass(frozen=True)
class Lexicons:
    """Named phrase lists (see ``lexicons.yaml``); ``literal`` categories match case-sensitively."""

    name: str
    version: str
    categories: dict[str, tuple[str, ...]]
    literal: frozenset[str] = frozenset()

    def regex(self, category: str) -> str:
        """One alternation regex for a category (phrases escaped, longest first)."""
        phrases = sorted(self.categories[category], key=len, reverse=True)
        if category in self.literal:
            return "(?:" + "|".join(re.escape(p) for p in phrases) + ")"
        alts = []
        for p in phrases:
            body = r"\s+".join(re.escape(w) for w in p.split())
            lead = WB if re.match(r"\w", p) else ""
            tail = WB if re.search(r"\w$", p) else ""
            alts.append(f"{lead}{body}{tail}")
        return "(?i)(?:" + "|".join(alts) + ")"


def load_lexicons(path: str | Path | None = None) -> Lexicons:
    """Load and validate the HL-lite word lists (bundled file by default)."""
    doc = datafiles.load("humanlike/lexicons.yaml" if path is None else Path(path), kind="hllite-lexicons")
    cats = {str(name): tuple(dict.fromkeys(str(p).strip() for p in spec.phrases))
            for name, spec in doc.categories.items()}
    literal = frozenset(str(name) for name, spec in doc.categories.items() if spec.match == "literal")
    return Lexicons(doc.name, str(doc.version), cats, literal)
