"""Profiles: bundled data files validated on load, resolved by name or path, errors that say where."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from chatlens.engine.stages import StageSpec
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.pipeline.profile import Profile, bundled_profiles, load_profile, parse_profile

GOOD = """\
name: mine
version: 2
source: a test
stages:
  - stage: signals
    params: {definitions: legacy}
  - stage: legacy_features
    run_options: [keep_text]
tables: legacy
definitions: legacy
figures: [study1_comprehensive_analysis]
"""


def test_bundled_profiles_load_and_match_their_file_names() -> None:
    assert bundled_profiles() == ["default", "encoder", "legacy", "rules"]
    for name in bundled_profiles():
        profile = load_profile(name)
        assert profile.name == name and profile.version >= 1 and profile.source
        assert len(profile.sha256) == 64 and profile.path.endswith(f"profiles/{name}.yaml")
        assert all(isinstance(s, StageSpec) for s in profile.stage_specs(keep_text=False))


def test_default_and_legacy_differ_only_through_their_data() -> None:
    default, legacy = load_profile("default"), load_profile("legacy")
    assert [s.name for s in default.stage_specs(keep_text=True)] == ["signals", "behaviour"]
    assert default.stage_specs(keep_text=True)[0].params == {"definitions": "default"}
    assert (default.tables, default.figures, default.demo_truth) == ("behaviour", ("behaviour",), True)
    assert legacy.stage_specs(keep_text=True)[1].params == {"keep_text": True}
    assert (legacy.tables, legacy.figures, legacy.demo_truth) == (
        "legacy", ("study1_comprehensive_analysis",), False,
    )


def test_unknown_name_suggests() -> None:
    with pytest.raises(InvalidParameterError, match="Did you mean 'default'"):
        load_profile("defualt")


def test_a_profile_file_and_an_object_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(GOOD)
    profile = load_profile(path)
    assert profile.name == "mine" and profile.path == str(path)
    assert load_profile(profile) is profile
    assert isinstance(profile, Profile)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (("version: 2", "version: zero"), r"key 'version': expected a positive integer"),
        (("tables: legacy", "tables: fancy"), r"key 'tables': expected one of \['behaviour', 'legacy'\]"),
        (("source: a test\n", ""), r"key 'source': expected a non-empty string \(a required key\)"),
        (("tables: legacy", "tables: legacy\ncolour: blue"), r"key 'colour': expected one of"),
        (("stage: legacy_features", "stage: legacy_feature"), r"stages\[1\].stage.*Did you mean 'legacy_features'"),
        (("run_options: [keep_text]", "run_options: [fast]"), r"key 'stages\[1\].run_options\[0\]'"),
        (("    params: {definitions: legacy}", "    extra: 1"), r"stages\[0\].extra"),
        (("figures: [study1_comprehensive_analysis]", "figures: [pie]"), r"key 'figures\[0\]'"),
        (("stages:", "stages: []\nold_stages:"), r"key 'old_stages'"),
    ],
)
def test_invalid_files_name_the_file_and_key(change: tuple[str, str], match: str) -> None:
    text = GOOD.replace(*change)
    assert text != GOOD
    with pytest.raises(DataFileError, match=match) as info:
        parse_profile(text.encode(), file="mine.yaml")
    assert str(info.value).startswith("Invalid data file mine.yaml: key ")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(DataFileError, match="expected valid YAML"):
        parse_profile(b"stages: [", file="x.yaml")
    with pytest.raises(DataFileError, match="expected a mapping"):
        parse_profile(b"- a\n- b\n", file="x.yaml")


def test_profile_is_frozen() -> None:
    profile = load_profile("default")
    with pytest.raises(AttributeError):
        profile.name = "other"  # type: ignore[misc]


def test_analyze_with_a_profile_file(tmp_path: Path) -> None:
    """A user's profile file runs end to end: its stages, its tables, its definitions."""
    import json

    import polars as pl

    import chatlens

    path = tmp_path / "signals_only.yaml"
    path.write_text(
        "name: signals_only\nversion: 1\nsource: a test\n"
        "stages:\n  - stage: signals\n    params: {definitions: legacy}\n  - stage: legacy_features\n"
        "tables: legacy\ndefinitions: legacy\n"
    )
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"conversations": [
        {"from": "human", "value": "Write malware"}, {"from": "gpt", "value": "I'm sorry, I cannot do that."}]}) + "\n")
    run = chatlens.analyze(log, out=tmp_path / "run", profile=path)
    assert "refusal_type_legacy" in pl.read_parquet(run.out / "messages.parquet").columns
    assert run.manifest["profile"]["name"] == "signals_only"
    assert run.manifest["profile"]["path"] == str(path)
    assert not (run.out / "figures").exists()  # the file lists no figures
    assert "Definitions (legacy profile)" in (run.out / "report.html").read_text()


def test_default_profile_takes_refusals_from_the_context_model(tmp_path):
    import json

    import chatlens
    from chatlens.signals.refusal_model import detect_refusal_in_context

    rows = [
        {"conversation_id": "a", "model": "m", "conversation": [
            {"role": "user", "content": "how do I get back at NAME_1"},
            {"role": "assistant", "content": "I'm not sure what you mean. Who is that?"}]},
        {"conversation_id": "b", "model": "m", "conversation": [
            {"role": "user", "content": "What is the capital of France?"},
            {"role": "assistant", "content": "Paris is the capital of France."}]},
    ]
    src = tmp_path / "log.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    chatlens.analyze(src, out=tmp_path / "run", keep_text=True)
    msgs = pl.read_parquet(tmp_path / "run" / "messages.parquet").sort("conversation_id", "message_index")
    replies = msgs.filter(pl.col("role") == "assistant")
    expected = detect_refusal_in_context(replies["content"], pl.Series([r["conversation"][0]["content"] for r in rows]))
    assert replies["refusal"].to_list() == expected["refusal"].to_list()
    assert replies["refusal_score"].to_list() == expected["refusal_score"].to_list()
    assert msgs.filter(pl.col("role") == "user")["refusal"].null_count() == 2
    assert replies["refusal"].to_list() == [True, False]
    # the rules profile reads the reply alone: the stand-in for the task is not a refusal there
    chatlens.analyze(src, out=tmp_path / "rules", profile="rules", keep_text=True)
    rules = pl.read_parquet(tmp_path / "rules" / "messages.parquet").sort("conversation_id", "message_index")
    assert rules.filter(pl.col("role") == "assistant")["refusal"].to_list() == [False, False]


def test_context_model_rejects_legacy_definitions():
    from chatlens.errors import InvalidParameterError
    from chatlens.pipeline.signals import add_signals

    msgs = pl.DataFrame({"conversation_id": ["c", "c"], "message_index": [0, 1],
                         "role": ["user", "assistant"], "content": ["hi", "hello"]})
    with pytest.raises(InvalidParameterError, match="refusal_model"):
        add_signals(msgs, definitions="legacy", refusal_model="context")
    with pytest.raises(InvalidParameterError, match="refusal_model"):
        add_signals(msgs, refusal_model="magic")
    with pytest.raises(InvalidParameterError, match="jailbreak_model"):
        add_signals(msgs, definitions="legacy", jailbreak_model="learned")


def test_learned_tiers_are_the_default_for_chatlens_definitions_only():
    from chatlens.pipeline.signals import add_signals
    from chatlens.signals.jailbreak_learned import detect_jailbreak_learned

    prompt = "print([x for x in range(10)])  \\(^o^)/ ;;; }}} {{{"
    msgs = pl.DataFrame({"conversation_id": ["c", "c"], "message_index": [0, 1],
                         "role": ["user", "assistant"], "content": [prompt, "Here you go."]})
    out = add_signals(msgs)
    assert out["jailbreak_score"][0] == detect_jailbreak_learned([prompt])["jailbreak_score"][0]
    legacy = add_signals(msgs, definitions="legacy")
    assert "refusal_type_legacy" in legacy.columns
