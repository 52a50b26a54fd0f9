"""Every bundled data file (lexicons, questionnaires, weights, prompts, price tables) carries
its provenance, and the package's own loaders accept it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import chatlens

PACKAGE = Path(chatlens.__file__).resolve().parent
FILES = sorted(PACKAGE.rglob("*.yaml"))


def test_bundled_files_are_found() -> None:
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(PACKAGE)) for p in FILES])
def test_has_name_version_source(path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), "a data file is a mapping"
    for key in ("name", "version", "source"):
        assert data.get(key) not in (None, ""), f"{path.name}: missing '{key}'"


def test_loaders_accept_every_bundled_file() -> None:
    from chatlens.corpus.canonical import role_map
    from chatlens.humanlike.instruments import list_instruments, load_instrument
    from chatlens.signals.lexicon import lexicons_for
    from chatlens.synth.bank import load_bank, load_common
    from chatlens.synth.config import load_config

    assert role_map()["human"] == "user"
    for name in list_instruments():
        assert load_instrument(name).items
    assert load_instrument(PACKAGE / "data/instruments/examples/ipip-bfm-10.yaml").items
    for family in ("refusal", "jailbreak"):
        assert lexicons_for(family)
    config = load_config()
    assert load_common() is not None
    for path in sorted((PACKAGE / "data" / "synth").glob("??.yaml")):
        assert load_bank(path.stem) is not None, path.name
    assert config is not None
