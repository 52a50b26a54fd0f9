"""HL-lite's word lists (slang, hedges, talk about being an AI, ...) as a validated data file.

Why a data file: the lists are what a reader must check to trust a feature, and what a user
changes for another register or language. They ship as ``chatlens/data/humanlike/lexicons.yaml``
and are validated on load; a malformed file raises :class:`~chatlens.errors.LexiconParseError`
naming the file, the category and the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from chatlens import _yaml
from chatlens.errors import LexiconParseError

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
    import yaml

    if path is None:
        res = resources.files("chatlens").joinpath("data", "humanlike", "lexicons.yaml")
        text, where = res.read_text(encoding="utf-8"), "<bundled>/humanlike/lexicons.yaml"
    else:
        text, where = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"lexicon file {where}: not valid YAML ({exc})"
        raise LexiconParseError(msg) from None
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        msg = f"lexicon file {where}: expected a mapping with 'categories'"
        raise LexiconParseError(msg)
    cats: dict[str, tuple[str, ...]] = {}
    literal = set()
    for name, spec in data["categories"].items():
        if not isinstance(spec, dict) or not isinstance(spec.get("phrases"), list):
            msg = f"lexicon file {where}: category {name!r} needs a 'phrases' list"
            raise LexiconParseError(msg)
        bad = sorted(set(spec) - {"description", "phrases", "match"})
        if bad:
            msg = f"lexicon file {where}: category {name!r} has unknown keys {bad}"
            raise LexiconParseError(msg)
        match = spec.get("match", "words")
        if match not in ("words", "literal"):
            msg = f"lexicon file {where}: category {name!r}: match must be words/literal, got {match!r}"
            raise LexiconParseError(msg)
        phrases = []
        for j, p in enumerate(spec["phrases"]):
            if not isinstance(p, (str, int)) or not str(p).strip():
                msg = f"lexicon file {where}: category {name!r} item {j}: expected text, got {p!r}"
                raise LexiconParseError(msg)
            phrases.append(str(p).strip())
        cats[str(name)] = tuple(dict.fromkeys(phrases))
        if match == "literal":
            literal.add(str(name))
    return Lexicons(str(data.get("name", "lexicons")), str(data.get("version", "0")), cats,
                    frozenset(literal))
