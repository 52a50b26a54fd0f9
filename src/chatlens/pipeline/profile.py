"""Analysis profiles: which stages a run applies, which tables and figures it reports.

Why a data file: a profile (``default``: chatlens's definitions; ``legacy``: the original study's)
used to be a string compared in a dozen places. Now each is one YAML file under
``chatlens/data/profiles/`` that lists its stages by their registered name
(:data:`chatlens.engine.stages.STAGES`) with their parameters, the table set and figures the
report builds, and whether the demo corpus's ground truth is compared. ``analyze`` resolves the
profile once, at the top, and passes the :class:`Profile` object down; a stage receives only its
own parameters and never asks which profile it runs in.

The schema is self-contained in this module (a frozen dataclass and one validator, every error
an :class:`~chatlens.errors.InstrumentError` naming the file, the key and what was expected), so
a common data-file registry can register it as is.

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
chatlens.errors.InvalidParameterError: Unknown profile 'legasy'. Did you mean 'legacy'? Available: context, default, legacy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from chatlens import _yaml, datafiles
from chatlens.corpus.readers.base import Registry
from chatlens.engine.stages import STAGES, StageSpec
from chatlens.errors import InstrumentError, InvalidParameterError

TableSet = Literal["behaviour", "legacy"]
Figure = Literal["behaviour", "study1_comprehensive_analysis"]
RunOption = Literal["keep_text"]

_KEYS = {
    "name", "version", "source", "description", "stages", "tables", "figures", "definitions",
    "demo_truth",
}
_REQUIRED = ("name", "version", "source", "stages", "tables", "definitions")
_STAGE_KEYS = {"stage", "params", "run_options"}


@dataclass(frozen=True)
class ProfileStage:
    """One stage of a profile: its registered name, parameters and the run options it receives."""

    stage: str
    params: Mapping[str, Any] = field(default_factory=dict)
    run_options: tuple[RunOption, ...] = ()


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
    folder = resources.files("chatlens").joinpath("data", "profiles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(profile: str | Path | Profile) -> Profile:
    """Resolve a profile: a bundled name (``default``, ``legacy``), a YAML file, or a Profile.

    Unknown names are answered with "Did you mean ..."; an invalid file raises
    :class:`~chatlens.errors.InstrumentError` naming the file and key.
    """
    if isinstance(profile, Profile):
        return profile
    path = Path(profile)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return parse_profile(path.read_bytes(), file=str(path))
    known: Registry[str] = Registry("profile")
    for name in bundled_profiles():
        known.register(name, name)
    known.get(str(profile))  # unknown: "Did you mean ..."
    doc, record = datafiles.load_with_record(f"profiles/{profile}.yaml", kind="profile")
    loaded = profile_from_document(doc, f"chatlens/data/profiles/{profile}.yaml", sha256=record.sha256)
    if loaded.name != str(profile):
        raise _fail(loaded.path, "name", f"the file name {str(profile)!r}", loaded.name)
    return loaded


def parse_profile(raw: bytes, *, file: str) -> Profile:
    """Validate one profile file's bytes into a :class:`Profile`."""
    try:
        data = _yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        msg = f"Profile {file!r} is not valid YAML: {exc}"
        raise InstrumentError(msg) from exc
    return profile_from_document(data, file, sha256=hashlib.sha256(raw).hexdigest())


def profile_from_document(data: object, file: str, *, sha256: str = "") -> Profile:
    """Validate a parsed profile mapping (the data layer's builder for kind ``profile``)."""
    if not isinstance(data, dict):
        raise _fail(file, "<root>", "a mapping", type(data).__name__)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _fail(file, unknown[0], f"one of {', '.join(sorted(_KEYS))}", unknown[0])
    for key in _REQUIRED:
        if key not in data:
            raise _fail(file, key, "a value (it is required)", None)
    name, version, source = data["name"], data["version"], data["source"]
    if not isinstance(name, str) or not name:
        raise _fail(file, "name", "a non-empty string", name)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _fail(file, "version", "a positive integer", version)
    if not isinstance(source, str) or not source:
        raise _fail(file, "source", "a non-empty string", source)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _fail(file, "description", "a string", description)
    stages = data["stages"]
    if not isinstance(stages, list) or not stages:
        raise _fail(file, "stages", "a non-empty list of {stage, params, run_options}", stages)
    tables = data["tables"]
    if tables not in get_args(TableSet):
        raise _fail(file, "tables", f"one of {', '.join(get_args(TableSet))}", tables)
    figures = data.get("figures", [])
    if not isinstance(figures, list) or any(f not in get_args(Figure) for f in figures):
        raise _fail(file, "figures", f"a list of {', '.join(get_args(Figure))}", figures)
    definitions = data["definitions"]
    if not isinstance(definitions, str) or not definitions:
        raise _fail(file, "definitions", "the name of a report definitions entry", definitions)
    demo_truth = data.get("demo_truth", False)
    if not isinstance(demo_truth, bool):
        raise _fail(file, "demo_truth", "true or false", demo_truth)
    return Profile(
        name=name,
        version=version,
        source=source,
        stages=tuple(_stage(file, i, s) for i, s in enumerate(stages)),
        tables=tables,
        definitions=definitions,
        figures=tuple(figures),
        demo_truth=demo_truth,
        description=description.strip(),
        path=file,
        sha256=sha256,
    )


def _stage(file: str, index: int, entry: object) -> ProfileStage:
    key = f"stages[{index}]"
    if not isinstance(entry, dict):
        raise _fail(file, key, "a mapping {stage, params, run_options}", entry)
    unknown = sorted(set(entry) - _STAGE_KEYS)
    if unknown:
        raise _fail(file, f"{key}.{unknown[0]}", f"one of {', '.join(sorted(_STAGE_KEYS))}", unknown[0])
    name = entry.get("stage")
    if not isinstance(name, str):
        raise _fail(file, f"{key}.stage", "a registered stage name", name)
    try:
        STAGES.get(name)
    except InvalidParameterError as exc:
        raise _fail(file, f"{key}.stage", "a registered stage", f"{name} ({exc})") from None
    params = entry.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
        raise _fail(file, f"{key}.params", "a mapping of parameter names to values", params)
    run_options = entry.get("run_options") or []
    allowed = get_args(RunOption)
    if not isinstance(run_options, list) or any(o not in allowed for o in run_options):
        raise _fail(file, f"{key}.run_options", f"a list of {', '.join(allowed)}", run_options)
    clash = sorted(set(params) & set(run_options))
    if clash:
        raise _fail(file, f"{key}.params", "no key that is also a run option", clash[0])
    return ProfileStage(name, dict(params), tuple(run_options))


def _fail(file: str, key: str, expected: str, got: object) -> InstrumentError:
    msg = f"Invalid profile {file!r} at key {key!r}: expected {expected}, got {got!r}."
    return InstrumentError(msg)


__all__ = ["Profile", "ProfileStage", "bundled_profiles", "load_profile", "parse_profile",
           "profile_from_document"]
