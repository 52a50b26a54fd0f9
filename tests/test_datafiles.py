"""The one validator and loader of data files (:mod:`chatlens.datafiles`) and its CLI."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Annotated, Literal

import pytest
from typer.testing import CliRunner

from chatlens import datafiles
from chatlens.cli import app
from chatlens.datafiles._check import Check, Invalid, parse
from chatlens.errors import DataFileError, InvalidParameterError, LexiconParseError


@dataclass(frozen=True, kw_only=True)
class Inner:
    weight: float = 1.0
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Doc:
    name: str
    mode: Literal["a", "b"] = "a"
    count: Annotated[int, Check("a positive integer", lambda n: n > 0)] = 1
    inner: dict[str, Inner] = field(default_factory=dict)
    note: str | None = None

    def __post_init__(self) -> None:
        if self.mode == "b" and not self.inner:
            raise Invalid(key="inner", expected="entries when mode is b", got=self.inner)


def _error(data: object) -> DataFileError:
    with pytest.raises(DataFileError) as info:
        parse(Doc, data, "f.yaml")
    return info.value


def test_valid_document_is_typed_with_defaults() -> None:
    doc = parse(Doc, {"name": "x", "inner": {"k": {"weight": 2, "tags": None}}, "mode": None}, "f.yaml")
    assert doc == Doc(name="x", inner={"k": Inner(weight=2.0)})
    assert isinstance(doc.inner["k"].weight, float)


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        ([1], "<root>", "a mapping"),
        ({}, "name", "a string (a required key)"),
        ({"name": "x", "colour": 1}, "colour", "one of the keys"),
        ({"name": "x", "mode": "c"}, "mode", "one of ['a', 'b']"),
        ({"name": "x", "count": 0}, "count", "a positive integer"),
        ({"name": "x", "count": True}, "count", "a positive integer"),  # the check says what it wants
        ({"name": "x", "inner": {"k": {"weight": "heavy"}}}, "inner.k.weight", "a number"),
        ({"name": "x", "inner": {"k": {"tags": ["a", 2]}}}, "inner.k.tags[1]", "a string"),
        ({"name": "x", "note": 3}, "note", "a string or null"),
        ({"name": "x", "mode": "b"}, "inner", "entries when mode is b"),
    ],
)
def test_errors_name_file_key_expected_and_got(data: object, key: str, expected: str) -> None:
    err = _error(data)
    assert (err.file, err.key) == ("f.yaml", key)
    assert expected in err.expected
    assert str(err).startswith(f"Invalid data file f.yaml: key {key!r}: expected ")


def test_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(_error({"name": 1})))
    assert isinstance(err, DataFileError) and err.key == "name" and "Got 1 instead" in str(err)


def test_user_file_kind_from_name_or_argument(tmp_path) -> None:
    path = tmp_path / "refusal_xx.yaml"
    path.write_text("name: r\nversion: 1\nlanguage: xx\nsource: me\ndetector: refusal\n"
                    "cues:\n  - {id: a, kind: refuse, phrases: [nope]}\n")
    assert datafiles.check_file(path).kind == "cue-lexicon"
    other = tmp_path / "mine.yaml"
    other.write_text(path.read_text())
    with pytest.raises(DataFileError, match="says its kind"):
        datafiles.load(other)
    assert datafiles.load(other, kind="cue-lexicon").language == "xx"
    assert any(r.file == str(other) for r in datafiles.used())
    with pytest.raises(InvalidParameterError, match="Did you mean 'cue-lexicon'"):
        datafiles.load(other, kind="cue-lexicn")


def test_builder_errors_surface_in_check_file(tmp_path) -> None:
    path = tmp_path / "refusal_xx.yaml"
    path.write_text("name: r\nversion: 1\nlanguage: xx\nsource: me\ndetector: refusal\n"
                    "cues:\n  - {id: a, kind: refuse, regex: ['i(can']}\n")
    datafiles.load(path)  # the shape is fine ...
    with pytest.raises(DataFileError, match=r"'cues\[0\].regex\[0\]': expected a valid regular"):
        datafiles.check_file(path)  # ... the regex is not


def test_cli_validates_data_files(tmp_path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["validate", "--data-file", "ratings/outcomes.yaml"])
    assert res.exit_code == 0 and "ok: pairwise-outcomes 1" in res.output
    bad = tmp_path / "prices.yaml"
    bad.write_text("name: p\nversion: 1\nsource: me\nmodels: {m: {input: -1, output: 2}}\n")
    res = runner.invoke(app, ["validate", "--data-file", str(bad), "--kind", "price-table",
                              "--data-file", "corpus/roles.yaml"])
    assert res.exit_code == 1
    assert "'models.m.input': expected a number >= 0. Got -1" in res.output


def test_cli_checks_that_a_profiles_stages_run_and_feed_its_tables(tmp_path) -> None:
    """A schema-valid profile with a stage parameter its stage rejects, or a table set its
    stages cannot feed, printed "ok" and then failed in analyze (after the run had started)."""
    from pathlib import Path

    import chatlens

    default = (Path(chatlens.__file__).parent / "data" / "profiles" / "default.yaml").read_text()
    runner = CliRunner()
    res = runner.invoke(app, ["validate", "--data-file", "profiles/default.yaml"])
    assert res.exit_code == 0 and "ok: default" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(default.replace("definitions: default}", "definitions: nonsense}"))
    res = runner.invoke(app, ["validate", "--data-file", str(bad), "--kind", "profile"])
    assert res.exit_code == 1 and "nonsense" in res.output


def _tampered(rel: str, edit: object, tmp_path) -> str:
    """A copy of the bundled weights file ``rel`` with ``edit(document)`` applied."""
    import json

    doc = json.loads(datafiles.bundled_bytes(rel))
    edit(doc)  # type: ignore[operator]
    path = tmp_path / rel.rsplit("/", 1)[-1]
    path.write_text(json.dumps(doc))  # a NaN is written as the bare token NaN, which json reads
    return str(path)


def _set(block: str | None, key: str, value: object, i: int | None = None):
    def edit(doc: dict) -> None:
        target = doc if block is None else doc[block]
        if i is None:
            target[key] = value
        else:
            target[key][i] = value
    return edit


@pytest.mark.parametrize(("rel", "edit", "key"), [
    # NaN / infinite weights scored texts NaN (never a refusal or jailbreak) and passed the check
    ("signals/refusal_learned.json", _set(None, "coef_value", float("nan"), 0), "coef_value[0]"),
    ("signals/refusal_learned.json", _set(None, "intercept", float("inf")), "intercept"),
    ("signals/refusal_model.json", _set("refusal", "value", float("nan"), 0), "refusal.value[0]"),
    ("signals/refusal_model.json", _set("type", "intercept", float("inf")), "type.intercept"),
    ("signals/refusal_model.json", _set("screen", "min_rule_score", float("nan")), "screen.min_rule_score"),
    ("signals/jailbreak_learned.json", _set(None, "coef_value", float("nan"), 0), "coef_value[0]"),
    ("signals/jailbreak_learned.json", _set(None, "threshold", float("nan")), "threshold"),
    ("features/reaction_model.json", lambda d: d["coef_value"][2].__setitem__(0, float("nan")), "coef_value[2][0]"),
    # wrong shapes passed, then failed in numpy (or at the first prediction) naming no key
    ("signals/refusal_learned.json", lambda d: d.__setitem__("cue_ids", d["cue_ids"][:-5]), "n_features"),
    ("signals/refusal_model.json", lambda d: d["refusal"]["value"].pop(), "refusal.value"),
    ("signals/refusal_model.json", _set(None, "n_features", 5), "refusal.index"),
    ("signals/jailbreak_learned.json", _set(None, "coef_index", 10**9, 0), "coef_index"),
    ("features/reaction_model.json", lambda d: d["coef_value"][2].pop(), "coef_value[2]"),
    ("features/reaction_model.json", lambda d: d["intercept"].pop(), "intercept"),
    ("features/reaction_model.json", _set(None, "classes", "rephrased", 5), "classes"),
    # layouts the predictor relies on: passed, then failed at the first prediction (numpy's
    # broadcast or matmul message) or scored with misaligned coefficients
    ("signals/refusal_model.json", lambda d: d.__setitem__("cue_ids", d["cue_ids"][:-5]),
     "cue_ids/n_features"),
    ("signals/refusal_model.json", lambda d: d["cue_ids"].__setitem__(1, d["cue_ids"][0]), "cue_ids"),
    ("signals/jailbreak_learned.json", lambda d: d.__setitem__("n_features", d["n_features"] + 5),
     "n_features"),
    ("signals/jailbreak_learned.json", lambda d: d["feature_names"].reverse(), "feature_names"),
    ("features/reaction_model.json", lambda d: d.__setitem__("n_features", d["n_features"] + 7),
     "n_features"),
    ("signals/refusal_encoder.json", _set(None, "top_layers", 3), "top_layers/tensors"),
    ("signals/refusal_encoder.json",
     lambda d: d["tensors"]["head.weight"].__setitem__("data", d["tensors"]["head.weight"]["data"][:-8]),
     "tensors.head.weight.data"),
])
def test_tampered_weights_files_are_data_file_errors_naming_the_key(tmp_path, rel: str, edit: object,
                                                                    key: str) -> None:
    kind = datafiles.check_file(rel).kind
    with pytest.raises(DataFileError) as info:
        datafiles.check_file(_tampered(rel, edit, tmp_path), kind=kind)
    assert info.value.key == key, str(info.value)


_LEXICON = """name: refusal-zz
version: "1"
language: zz
detector: refusal
source: test
cues:
  - id: refuse.test
    kind: refuse
    regex:
      - "{regex}"
"""


@pytest.mark.parametrize(("regex", "error", "says"), [
    # matched the empty string: the scanners report that match, so the cue fired on every message
    ("(?:please)?", DataFileError, "matches the empty string"),
    ("x{0,3}", DataFileError, "matches the empty string"),
    # Python's re compiles these, hyperscan and RE2 do not: 'ok' here, then a failed analysis
    ("(?<=foo)bar", LexiconParseError, "cannot be compiled"),
    ("(ab)\\\\1", LexiconParseError, "cannot be compiled"),
])
def test_cue_lexicon_check_compiles_what_the_scanner_runs(tmp_path, regex: str, error: type,
                                                         says: str) -> None:
    path = tmp_path / "refusal_zz.yaml"
    path.write_text(_LEXICON.format(regex=regex))
    with pytest.raises(error, match=says):
        datafiles.check_file(path)
    path.write_text(_LEXICON.format(regex="sorry"))
    assert datafiles.check_file(path).kind == "cue-lexicon"


@pytest.mark.parametrize(("pattern", "says"), [
    ("(unclosed", "unclosed group"),  # stopped every analysis with a polars ComputeError
    ("(?<=a)b", "look-around"),
    ("(?:please )?", "matches the empty string"),  # every request would read as a task
])
def test_regex_list_patterns_must_run_in_polars(tmp_path, pattern: str, says: str) -> None:
    path = tmp_path / "request_openers.yaml"
    path.write_text(f'name: x\nversion: 1\nsource: t\npatterns:\n  - "{pattern}"\n')
    with pytest.raises(DataFileError, match=says) as info:
        datafiles.check_file(path, kind="regex-list")
    assert info.value.key == "patterns[0]"
