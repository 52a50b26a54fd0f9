"""The detectors' definition sets, by name: ``default`` (chatlens's) and ``legacy`` (the original
study's regexes, ``seed-study.md``).

Why one module: :func:`~chatlens.signals.detect_refusal`, :func:`~chatlens.signals.detect_jailbreak`,
the classify helpers, :func:`~chatlens.features.conversation_features` and the pipeline's signals
stage each take the name of a definition set. They all check it here, with one message that names
the parameter and the function and answers a typo with "Did you mean". Which set a *run* uses is
its profile's choice (``chatlens/data/profiles/*.yaml``), resolved once by ``analyze``.

Examples
--------
>>> definition_set("legacy", where="detect_refusal")
'legacy'
>>> definition_set("legasy", where="detect_refusal")
Traceback (most recent call last):
...
chatlens.errors.InvalidParameterError: The 'profile' parameter of detect_refusal: Unknown definition set 'legasy'. Did you mean 'legacy'? Available: default, legacy.
"""

from __future__ import annotations

from typing import Literal

from chatlens.corpus.readers.base import Registry
from chatlens.errors import InvalidParameterError

#: The names of the definition sets, for type hints.
DefinitionSet = Literal["default", "legacy"]

#: Definition sets and what they are.
DEFINITIONS: Registry[str] = Registry("definition set")
DEFINITIONS.register("default", "chatlens's multilingual cue scorers and behaviour features")
DEFINITIONS.register("legacy", "the original study's substring regexes and per-conversation table")


def definition_set(name: object, *, where: str, parameter: str = "profile") -> str:
    """``name`` if it is a registered definition set, else an :class:`InvalidParameterError`."""
    try:
        DEFINITIONS.get(name)  # type: ignore[arg-type]
    except (InvalidParameterError, TypeError) as exc:
        detail = str(exc) if isinstance(exc, InvalidParameterError) else f"Got {name!r}."
        msg = f"The {parameter!r} parameter of {where}: {detail}"
        raise InvalidParameterError(msg) from None
    return str(name)


__all__ = ["DEFINITIONS", "DefinitionSet", "definition_set"]
