"""report/manifest.py: the manifest records the profile and every data file with version and hash."""

from __future__ import annotations

import hashlib
import json
import re
from importlib import resources
from pathlib import Path

import chatlens
from chatlens.report.manifest import RUN_DATA_FOLDERS, data_files_used, fingerprint


def _log(path: Path) -> Path:
    rows = [{"conversations": [{"from": "human", "value": "How do I pick a lock?"},
                               {"from": "gpt", "value": "I'm sorry, but I can't help with that."}]}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_data_files_have_name_version_and_the_hash_of_their_bytes() -> None:
    files = data_files_used()
    paths = {f["path"] for f in files}
    assert "signals/patterns/refusal_en.yaml" in paths
    assert "features/reactions.yaml" in paths
    assert all(any(p.startswith(folder) for p in paths) for folder in RUN_DATA_FOLDERS)
    for f in files:
        if Path(f["path"]).is_absolute():  # a user's file another test loaded, and may since have
            assert re.fullmatch(r"[0-9a-f]{64}", f["sha256"])  # rewritten (the record keeps the old hash)
            continue
        raw = resources.files("chatlens").joinpath("data", *f["path"].split("/")).read_bytes()
        assert f["sha256"] == hashlib.sha256(raw).hexdigest()
        assert f["name"]
    assert {"name": "refusal-en", "version": "1.3"}.items() <= next(
        f for f in files if f["path"] == "signals/patterns/refusal_en.yaml").items()


def test_analyze_manifest_records_profile_data_files_and_engine(tmp_path: Path) -> None:
    src = _log(tmp_path / "log.jsonl")
    manifest = chatlens.analyze(src, out=tmp_path / "run", profile="legacy").manifest
    assert manifest["profile"]["name"] == "legacy" and len(manifest["profile"]["sha256"]) == 64
    assert manifest["data_files"][0]["name"] == "legacy"  # the profile comes first
    assert any(f["path"] == "signals/patterns/legacy_refusal.yaml" for f in manifest["data_files"])
    assert manifest["engine"]["engine"] == "local" and manifest["engine"]["layout"] == "single"
    assert [s["name"] for s in manifest["engine"]["stages"]] == ["signals", "legacy_features"]
    assert manifest["input_fingerprint"] == fingerprint([src])
    on_disk = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert on_disk["data_files"] == manifest["data_files"]


def test_fingerprint_changes_with_content(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("one")
    first = fingerprint([path])
    path.write_text("two")
    assert fingerprint([path])["sha256"] != first["sha256"]
    assert first["files"] == [{"path": str(path), "resolved": str(path.resolve()), "bytes": 3}]


def _analyze_in_a_fresh_process(src: Path, out: Path, options: str) -> dict:
    """``chatlens.analyze`` in a new interpreter: this test process has already loaded most data
    files, which would hide a file that only an engine worker loaded."""
    import os
    import subprocess
    import sys

    code = f"import chatlens; chatlens.analyze({str(src)!r}, out={str(out)!r}, {options})"
    env = {**os.environ, "CHATLENS_QUIET": "1"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=600)
    return json.loads((out / "manifest.json").read_text())


def test_manifest_lists_the_same_data_files_whatever_the_engine(tmp_path: Path) -> None:
    # the process engine's manifest left out the models only its workers loaded
    # (signals/refusal_model.json, signals/jailbreak_learned.json, the context cue files, ...)
    from chatlens.synth import synth

    src = tmp_path / "s.parquet"
    synth(1000, seed=1, out=src)
    one = _analyze_in_a_fresh_process(src, tmp_path / "one", "workers=1")
    two = _analyze_in_a_fresh_process(src, tmp_path / "two", "engine='process', workers=2")
    assert (one["engine"]["engine"], two["engine"]["engine"]) == ("local", "process")
    paths = [f["path"] for f in one["data_files"]]
    assert "signals/refusal_model.json" in paths and "signals/jailbreak_learned.json" in paths
    assert two["data_files"] == one["data_files"]


def test_a_second_run_in_one_process_lists_only_its_own_data_files(tmp_path: Path) -> None:
    # datafiles.used() is process-wide: a 'rules' run after a 'default' run listed the default
    # profile and the models only the default profile loads (signals/refusal_model.json, ...)
    src = _log(tmp_path / "log.jsonl")

    def paths(profile: str, out: str) -> set[str]:
        manifest = chatlens.analyze(src, out=tmp_path / out, profile=profile, engine="local").manifest
        return {f["path"] for f in manifest["data_files"]}

    first = paths("default", "a")
    rules = paths("rules", "b")
    again = paths("default", "c")
    assert {"signals/refusal_model.json", "profiles/default.yaml"} <= first
    assert not {"signals/refusal_model.json", "signals/jailbreak_learned.json",
                "profiles/default.yaml"} & rules
    assert again == first  # models already loaded (cached) are still listed


def test_recording_sees_files_a_cached_loader_returns_again() -> None:
    from chatlens import datafiles

    @datafiles.cached
    def roles() -> object:
        return datafiles.load("corpus/roles.yaml")

    with datafiles.recording() as first:
        roles()
    with datafiles.recording() as outer, datafiles.recording() as inner:
        roles()
    with datafiles.recording() as none:
        pass
    assert [r.file for r in first] == [r.file for r in outer] == [r.file for r in inner] \
        == ["<bundled>/corpus/roles.yaml"]
    assert none == []


def test_the_manifest_lists_every_data_file_the_run_read_once(tmp_path: Path) -> None:
    """Reviewed bugs: the report's validity panel read validation/real_accuracy.json after the
    manifest was written, so no manifest listed it; and a bundled profile was listed twice
    ('chatlens/data/profiles/default.yaml' as the profile gave it, 'profiles/default.yaml' as
    loaded). Every file the data layer recorded during the run is listed, each once."""
    from chatlens import datafiles

    src = _log(tmp_path / "log.jsonl")
    with datafiles.recording() as read:
        manifest = chatlens.analyze(src, out=tmp_path / "run", engine="local").manifest
    listed = [f["path"] for f in manifest["data_files"]]
    assert len(listed) == len(set(listed))
    assert len({f["sha256"] for f in manifest["data_files"]}) == len(listed)  # no file twice by another name
    assert {r.file.removeprefix("<bundled>/") for r in read} <= set(listed)
    assert "validation/real_accuracy.json" in listed
    assert manifest["data_files"][0] == {**manifest["data_files"][0], "path": "profiles/default.yaml", "kind": "profile"}
    on_disk = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert on_disk["data_files"] == manifest["data_files"]
