"""Every bundled data file is registered, carries its provenance and passes its kind's full check.

The registry (:mod:`chatlens.datafiles.registry`) is swept, not a hand-kept list: a file added
under ``chatlens/data`` without a registration, or outside the one data root, fails here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import chatlens
from chatlens import datafiles

PACKAGE = Path(chatlens.__file__).resolve().parent
DATA = PACKAGE / "data"
BUNDLED = datafiles.bundled()


def test_bundled_files_are_found() -> None:
    assert len(BUNDLED) >= 40
    assert len(datafiles.bundled("cue-lexicon")) >= 14


def test_every_file_under_the_data_root_is_registered() -> None:
    on_disk = {
        p.relative_to(DATA).as_posix()
        for p in DATA.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert on_disk - set(BUNDLED) == set(), "register these in chatlens/datafiles/registry.py"


def test_data_files_live_under_the_one_data_root() -> None:
    outside = [
        p.relative_to(PACKAGE).as_posix()
        for suffix in ("*.yaml", "*.yml", "*.json")
        for p in PACKAGE.rglob(suffix)
        if DATA not in p.parents
    ]
    assert outside == []


@pytest.mark.parametrize("name", BUNDLED)
def test_file_has_provenance_and_passes_its_kind(name: str) -> None:
    record = datafiles.check_file(name)
    doc = datafiles.load(name)
    source = doc["source"] if isinstance(doc, dict) else doc.source
    assert record.name and record.version and source, f"{name}: name, version and source are required"
    assert record.kind == datafiles.registry.bundled_kind(name)
    assert record.sha256 == hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert record in datafiles.used()


def test_every_kind_has_a_bundled_file() -> None:
    assert {datafiles.registry.bundled_kind(n) for n in BUNDLED} == set(datafiles.KINDS)


def test_loaders_accept_every_bundled_file() -> None:
    from chatlens.corpus.canonical import role_map
    from chatlens.humanlike.instruments import list_instruments, load_instrument
    from chatlens.signals.lexicon import lexicons_for
    from chatlens.synth.bank import load_bank, load_common
    from chatlens.synth.config import load_config

    assert role_map()["human"] == "user"
    for name in list_instruments():
        assert load_instrument(name).items
    assert load_instrument(DATA / "instruments/examples/ipip-bfm-10.yaml").items
    for family in ("refusal", "jailbreak"):
        assert lexicons_for(family)
    config = load_config()
    assert load_common() is not None
    for path in sorted((DATA / "synth").glob("??.yaml")):
        assert load_bank(path.stem) is not None, path.name
    assert config is not None
