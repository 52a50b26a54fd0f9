from __future__ import annotations

import pytest

from chatlens.errors import InstrumentError
from chatlens.ratings.outcomes import load_outcome_scale, normalize_label


def test_bundled_scale_maps_winner_and_five_point_labels():
    scale = load_outcome_scale()
    assert scale.score_of("model_a") == 1.0
    assert scale.score_of("model_b") == 0.0
    assert scale.score_of("tie (bothbad)") == 0.5
    assert scale.score_of("Certainly A") == 1.0
    assert scale.score_of("  likely   A ") == 0.75
    assert scale.score_of("Likely B") == 0.25
    assert scale.score_of("Certainly B") == 0.0
    assert scale.score_of("equal") == 0.5
    assert scale.score_of("maybe") is None
    assert scale.version == 1 and "HAL" in scale.source


def test_normalize_label():
    assert normalize_label("  Tie  (BothBad) ") == "tie (bothbad)"


def test_custom_scale_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "name: seven\nversion: 2\nsource: test\npreference_scale:\n  much better: 1\n"
        "  better: 0.8\n  same: 0.5\n"
    )
    scale = load_outcome_scale(path)
    assert scale.score_of("Better") == 0.8
    assert scale.score_of("model_a") is None  # only what the file defines


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("name: x\nversion: 1\nsource: s\npreference_scale:\n  a: 1.5\n", "preference_scale.a"),
        ("name: x\nversion: 1\nsource: s\npreference_scale:\n  a: yes\n", "preference_scale.a"),
        ("name: x\nversion: 1\nsource: s\nlabels:\n  a: 1\n", "labels"),
        ("name: x\nversion: 1\npreference_scale:\n  a: 1\n", "source"),
        ("name: x\nversion: 1\nsource: s\n", "winner_labels|preference_scale"),
        (
            "name: x\nversion: 1\nsource: s\nwinner_labels:\n  tie: 0.5\n"
            "preference_scale:\n  Tie: 0.4\n",
            "preference_scale.Tie",
        ),
        ("- a\n- b\n", "<root>"),
    ],
)
def test_invalid_scale_names_file_and_key(tmp_path, body, key):
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(InstrumentError) as err:
        load_outcome_scale(path)
    assert str(path) in str(err.value)
    assert repr(key) in str(err.value)


def test_missing_and_unparsable_scale_file(tmp_path):
    with pytest.raises(InstrumentError, match="a readable file"):
        load_outcome_scale(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    with pytest.raises(InstrumentError, match="expected valid YAML"):
        load_outcome_scale(bad)
