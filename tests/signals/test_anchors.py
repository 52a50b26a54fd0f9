"""Necessary literals of a regex: every match contains one (checked on generated matches)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlens.signals.anchors import SPACE_TABLE, expand, local, required_literals
from chatlens.signals.lexicon import lexicons_for

PATTERNS = sorted({p for lex in lexicons_for("refusal") for c in lex.cues for p in c.patterns})
ANCHORED = [p for p in PATTERNS if local(p) and required_literals(p) is not None]


def _translated(text: str) -> str:
    return text.encode("utf-8").translate(SPACE_TABLE).decode("utf-8")


def test_examples():
    assert required_literals(r"as\s+an\s+ai\s+model") == {
        "as an ai model", "  an ai model", "  ai model", "  model"}
    # The run of whitespace is read as one space, or (two or more) as two spaces before the rest.
    assert expand("i\ue000can't") == {"i can't", "  can't"}
    assert expand("i\ue001can't") == {"i can't", "ican't", "  can't"}
    assert required_literals(r"\w+\s+\w+") is None  # nothing literal
    assert required_literals(r"(?:ab|cdefgh)") is None  # "ab" is too short to filter
    assert required_literals(r"[[:alpha:]]+ing") is None  # read differently by hyperscan
    assert required_literals(r"(?i)refuse") is None
    assert local(r"i\s+can't") and not local(r"sorry[^.]{0,9}i") and not local(r"a.b")


def test_most_refusal_patterns_get_literals():
    # Not a speed assertion: a regression guard that the derivation keeps working on the
    # lexicons (if it silently returned None everywhere the prefilter would do nothing).
    assert len(ANCHORED) >= 0.6 * len(PATTERNS)


@pytest.mark.slow
@pytest.mark.parametrize("pattern", ANCHORED)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_matches_contain_a_literal(pattern, data):
    # ASCII semantics for \s and \w, as hyperscan reads them in the scanner.
    compiled = re.compile(pattern, re.ASCII)
    text = data.draw(st.from_regex(compiled, fullmatch=True))
    literals = required_literals(pattern)
    translated = _translated(text)
    assert any(lit in translated for lit in literals), (pattern, text)
    assert "\x00" not in text or not local(pattern)
