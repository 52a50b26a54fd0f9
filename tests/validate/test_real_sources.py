"""The real labelled set is never skipped silently: every source it names must be found (files and
folders alike), and a run that asks for it by name fails with the missing sources named."""

from __future__ import annotations

import shutil

import pytest

from chatlens.errors import SourceError
from chatlens.validate.real import load_labels, missing_sources
from chatlens.validate.run import REAL_SET, validate


@pytest.mark.realdata
def test_every_labelled_source_is_in_the_shared_data(shared_data) -> None:
    assert missing_sources(shared_data) == []
    # the OASST sample is a folder: a file-only check once skipped the whole real set silently
    assert any(not (shared_data / f).is_file() for f in load_labels()["file"].unique())


@pytest.mark.realdata
def test_asking_for_the_real_set_without_its_sources_names_them(shared_data, tmp_path) -> None:
    shutil.copytree(shared_data / "xstest-dev", tmp_path / "xstest-dev")
    missing = missing_sources(tmp_path)
    assert "oasst-sample" in missing and "real-logs-dev/lmsys_dev.jsonl" in missing
    with pytest.raises(SourceError, match="oasst-sample"):
        validate(tmp_path, datasets=[REAL_SET], synthetic=0)
