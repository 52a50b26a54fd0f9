"""Lexicon files: every bundled file validates; bad files fail loudly, naming file/key/item."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatlens.errors import DataFileError
from chatlens.signals.jailbreak import function_words
from chatlens.signals.legacy import legacy_profanity_words
from chatlens.signals.lexicon import bundled_lexicons, lexicons_for, load_lexicon
from chatlens.signals.similarity import load_templates

LANGUAGES = {"en", "zh", "es", "fr", "de", "ru", "pt", "it", "ja", "ko",
             "nl", "sv", "pl", "cs", "uk", "tr", "id", "vi", "ar", "fa", "hi"}

GOOD = """\
name: test-lex
version: "1.0"
language: en
source: test
detector: refusal
macros:
  V: "(?:help|assist)"
cues:
  - id: refuse.x
    kind: refuse
    weight: 2
    phrases: ["i can't help"]
    regex: ["i\\\\s+cannot\\\\s+{{V}}"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lex.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_bundled_lexicon_validates_and_compiles():
    lexicons = bundled_lexicons()
    assert {lex.detector for lex in lexicons} == {
        "refusal", "jailbreak", "legacy-refusal", "legacy-jailbreak"
    }
    assert {lex.language for lex in lexicons_for("refusal")} == LANGUAGES
    for lex in lexicons:
        assert lex.name and lex.version and lex.source
        ids = [c.id for c in lex.cues]
        assert len(ids) == len(set(ids))
    assert len(lexicons_for("legacy-refusal")[0].cues) == 10
    assert len(lexicons_for("legacy-jailbreak")[0].cues) == 7
    assert len(legacy_profanity_words()) == 16
    assert len(load_templates()) >= 5
    words = function_words()
    assert {"the", "no", "on", "off"} <= words and all(isinstance(w, str) for w in words)


def test_good_file_parses_with_macros_and_phrases(tmp_path):
    lex = load_lexicon(_write(tmp_path, GOOD))
    cue = lex.cues[0]
    assert cue.id == "en.refuse.x"
    assert cue.patterns[0] == r"i\s+can't\s+help"
    assert "(?:help|assist)" in cue.patterns[1]


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        ("    weight: 2\n", "    weight: 2\n    colour: red\n", "cues[0].colour"),
        ('    regex: ["i\\\\s+cannot\\\\s+{{V}}"]', '    regex: ["i(can"]', "cues[0].regex[0]"),
        ("{{V}}", "{{NOPE}}", "NOPE"),
        ("kind: refuse", "kind: shouting", "cues[0].kind"),
        ("weight: 2", "weight: heavy", "cues[0].weight"),
        ('phrases: ["i can\'t help"]', 'phrases: ["I Can\'t Help"]', "cues[0].phrases[0]"),
        ("detector: refusal", "detector: sentiment", "'detector'"),
        ('version: "1.0"\n', "", "'version'"),
        ('regex: ["i\\\\s+cannot\\\\s+{{V}}"]', 'regex: ["i\\\\s+cannot\\\\s+"]', "whitespace"),
    ],
)
def test_bad_files_name_file_key_and_item(tmp_path, old, new, fragment):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(DataFileError) as info:
        load_lexicon(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_duplicate_cue_id_and_yaml_syntax_error(tmp_path):
    dup = GOOD + "  - id: refuse.x\n    kind: refuse\n    phrases: [\"no\"]\n"
    with pytest.raises(DataFileError, match="refuse.x"):
        load_lexicon(_write(tmp_path, dup))
    with pytest.raises(DataFileError, match="expected valid YAML. Got 'a syntax error at line"):
        load_lexicon(_write(tmp_path, "name: [unclosed\n"))
