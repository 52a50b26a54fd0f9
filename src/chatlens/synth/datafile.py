"""Reading the generator's bundled YAML files, with one error style for every problem in them.

Why: the phrase banks and the configuration are validated by hand-written checks
(:mod:`chatlens.synth.bank`, :mod:`chatlens.synth.config`); each problem raises
:class:`~chatlens.errors.InstrumentError` naming the file, the key and what was expected.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from chatlens import _yaml
from chatlens.errors import InstrumentError


def fail(file: str, key: str, expected: str, got: object) -> InstrumentError:
    """The error for one bad value: which file, which key, what was expected, what was found."""
    got_s = repr(got)
    if len(got_s) > 120:
        got_s = got_s[:117] + "..."
    msg = f"Invalid synthetic-corpus data file {file}, key {key}: expected {expected}; got {got_s}."
    return InstrumentError(msg)


def read_yaml(filename: str) -> dict[str, Any]:
    """One bundled file of ``chatlens/data/synth/``, parsed (a missing file is an InstrumentError)."""
    ref = resources.files("chatlens.data.synth").joinpath(filename)
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"Synthetic-corpus data file {filename} is missing from chatlens/data/synth/."
        raise InstrumentError(msg) from None
    return parse_yaml(text, filename)


def parse_yaml(text: str, file: str) -> dict[str, Any]:
    """Parse YAML text into a mapping, turning syntax errors into InstrumentError."""
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"Synthetic-corpus data file {file} is not valid YAML: {exc}"
        raise InstrumentError(msg) from None
    if not isinstance(data, dict):
        raise fail(file, "<top level>", "a mapping", type(data).__name__)
    return data


def check_keys(data: dict[str, Any], allowed: frozenset[str], file: str, where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise fail(file, f"{where}{unknown[0]}", f"one of {sorted(allowed)}", unknown[0])


def require(data: dict[str, Any], key: str, typ: type | tuple[type, ...], file: str) -> Any:
    if key not in data:
        raise fail(file, key, "a value (the key is required)", None)
    value = data[key]
    if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool:
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise fail(file, key, name, value)
    return value


__all__ = ["check_keys", "fail", "parse_yaml", "read_yaml", "require"]
