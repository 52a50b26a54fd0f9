"""Analysis profiles: which stages a run applies, which tables and figures it reports.

Why a data file: a profile (``default``: chatlens's definitions; ``legacy``: the original study's)
used to be a string compared in a dozen places. Now each is one YAML file under
``chatlens/data/profiles/`` that lists its stages by their registered name
(:data:`chatlens.engine.stages.STAGES`) with their parameters, the table set and figures the
report builds, and whether the demo corpus's ground truth is compared. ``analyze`` resolves the
profile once, at the top, and passes the :class:`Profile` object down; a stage receives only its
own parameters and never asks which profile it runs in.

The file's schema is :class:`~chatlens.datafiles.schemas.ProfileFile`, checked by the one data
layer (:mod:`chatlens.datafiles`, every error a :class:`~chatlens.errors.DataFileError` naming
the file, the key and what was expected); :func:`profile_from_document` adds what only this
layer can check (each stage name is registered) and builds the :class:`Profile`.

File format::

    name: legacy                      # required, must equal the file name (bundled profiles)
    version: 1                        # required, positive integer
    source: seed-study.md             # required, where the definitions come from
    description: ...                  # optional
    stages:                           # required, at least one, run in order
      - stage: signals                # a registered stage name ("Did you mean ...")
        params: {definitions: legacy} # optional keyword parameters (plain values)
      - stage: legacy_features
        run_options: [keep_text]      # optional run options the stage receives
    tables: legacy                    # behaviour | legacy
    figures: [study1_comprehensive_analysis]  # behaviour | study1_comprehensive_analysis
    definitions: legacy               # the report's definitions (data/report/definitions.yaml)
    demo_truth: false                 # compare the demo corpus with its ground truth

Examples
--------
>>> profile = load_profile("legacy")
>>> [s.name for s in profile.stage_specs(keep_text=False)]
['signals', 'legacy_features']
>>> profile.stage_specs(keep_text=True)[1].params
{'keep_text': True}
>>> load_profile("legasy")
Traceback (most recent call last):
...
chatlens.errors.InvalidParameterError: Unknown profile 'legasy'. Did you mean 'legacy'? Available: default, encoder, legacy, rules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.corpus.readers.base import Registry
from chatlens.datafiles.schemas import ProfileFile, ProfileStage
from chatlens.engine.stages import STAGES, StageSpec
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.vocabulary import Figure, TableSet


@dataclass(frozen=True)
class Profile:
    """A validated profile (see the module docstring for the file format).

    ``definitions`` names the entry of ``data/report/definitions.yaml`` the report prints;
    ``path`` and ``sha256`` say which file it was read from, for the run's manifest.
    """

    name: str
    version: int
    source: str
    stages: tuple[ProfileStage, ...]
    tables: TableSet
    definitions: str
    figures: tuple[Figure, ...] = ()
    demo_truth: bool = False
    description: str = ""
    path: str = ""
    sha256: str = ""

    def stage_specs(self, *, keep_text: bool) -> tuple[StageSpec, ...]:
        """The stages as the engine runs them, with the run options each one asked for."""
        options = {"keep_text": keep_text}
        return tuple(
            StageSpec(
                s.stage,
                STAGES.get(s.stage),
                {**s.params, **{o: options[o] for o in s.run_options}},
            )
            for s in self.stages
        )

    def public(self) -> dict[str, Any]:
        """Name, version, file and hash, as recorded in a manifest."""
        return {
            "name": self.name,
            "version": self.version,
            "definitions": self.definitions,
            "path": self.path,
            "sha256": self.sha256,
        }


def bundled_profiles() -> list[str]:
    """Names of the profiles shipped in ``chatlens/data/profiles/``."""
    return [p.removeprefix("profiles/").removesuffix(".yaml") for p in datafiles.bundled("profile")]


def load_profile(profile: str | Path | Profile) -> Profile:
    """Resolve a profile: a bundled name (``default``, ``legacy``), a YAML file, or a Profile.

    Unknown names are answered with "Did you mean ..."; an invalid file raises
    :class:`~chatlens.errors.DataFileError` naming the file and key.
    """
    if isinstance(profile, Profile):
        return profile
    path = Path(profile)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        doc, record = datafiles.load_with_record(path, kind="profile")
        return profile_from_document(doc, str(path), sha256=record.sha256)
    known: Registry[str] = Registry("profile")
    for name in bundled_profiles():
        known.register(name, name)
    known.get(str(profile))  # unknown: "Did you mean ..."
    doc, record = datafiles.load_with_record(f"profiles/{profile}.yaml", kind="profile")
    loaded = profile_from_document(doc, f"chatlens/data/profiles/{profile}.yaml", sha256=record.sha256)
    if loaded.name != str(profile):
        raise DataFileError(loaded.path, "name", f"the file name {str(profile)!r}", loaded.name)
    return loaded


def parse_profile(raw: bytes, *, file: str) -> Profile:
    """Validate one profile file's bytes into a :class:`Profile` (nothing is recorded as used)."""
    doc = datafiles.parse_bytes(raw, kind="profile", file=file)
    return profile_from_document(doc, file, sha256=hashlib.sha256(raw).hexdigest())


def profile_from_document(doc: ProfileFile, file: str, *, sha256: str = "") -> Profile:
    """A :class:`Profile` from a schema-checked file (the data layer's builder for kind ``profile``).

    The one check the schema cannot make, because the stage registry is above the data layer:
    every stage is registered (unknown names get "Did you mean ...").
    """
    for i, stage in enumerate(doc.stages):
        try:
            STAGES.get(stage.stage)
        except InvalidParameterError as exc:
            raise DataFileError(file, f"stages[{i}].stage", "a registered stage", f"{stage.stage} ({exc})") from None
    return Profile(
        name=doc.name,
        version=doc.version,
        source=doc.source,
        stages=doc.stages,
        tables=doc.tables,
        definitions=doc.definitions,
        figures=doc.figures,
        demo_truth=doc.demo_truth,
        description=doc.description.strip(),
        path=file,
        sha256=sha256,
    )


__all__ = ["Profile", "ProfileStage", "bundled_profiles", "load_profile", "parse_profile",
           "profile_from_document"]
