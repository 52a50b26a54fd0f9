"""The one validator: parsed YAML/JSON → a frozen dataclass, checked against its type hints.

Why one generic checker instead of a parser per file: eight hand-written validators each had their
own error wording and their own gaps (one accepted unknown keys, one a bool as a number). Here a
schema is only a frozen dataclass; its type hints *are* the schema, and every problem becomes one
:class:`~chatlens.errors.DataFileError` naming the file, the key path, what was expected and what
was found.

Supported hints: ``str``, ``int``, ``float`` (an int is accepted), ``bool``, ``Any``,
``Literal[...]``, unions (``X | None``), ``tuple[X, ...]`` (from a list; a null list is empty),
``dict[K, V]``, nested dataclasses (unknown keys rejected, missing keys without a default are
errors, a null value means "use the default" unless the field's metadata says
``NULL_IS_A_VALUE``) and ``Annotated[X, Check(...)]`` for value checks.
Cross-field rules go in a dataclass's ``__post_init__``, raising :class:`Invalid` with a key path
relative to that object.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints

from chatlens.errors import DataFileError

#: ``field(metadata={NULL_IS_A_VALUE: True})``: an explicit null is kept, not read as "default".
NULL_IS_A_VALUE = "null_is_a_value"


class Invalid(Exception):  # an internal signal: parse() turns it into a DataFileError
    """A value does not fit; ``key`` is relative to the object being built."""

    def __init__(self, key: str, expected: str, got: object) -> None:
        super().__init__(key, expected, got)
        self.key, self.expected, self.got = key, expected, got


@dataclass(frozen=True)
class Check:
    """A value rule for ``Annotated[T, Check(...)]``: ``test(value)`` must be true."""

    expected: str
    test: Callable[[Any], bool]


def _join(prefix: str, key: str) -> str:
    if not key:
        return prefix
    if not prefix:
        return key
    return prefix + key if key.startswith("[") else f"{prefix}.{key}"


def describe(tp: Any) -> str:
    """How a type hint reads in an error message ("a list of strings", "one of [...]")."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        return next((a.expected for a in args[1:] if isinstance(a, Check)), describe(args[0]))
    if origin is Literal:
        return f"one of {list(args)}"
    if origin in (Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is tuple:
        return f"a list of {_plural(describe(args[0]))}"
    if origin is dict:
        return f"a mapping of {_plural(describe(args[0]))} to {_plural(describe(args[1]))}"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            type(None): "null", Any: "a value", object: "a value"}.get(tp, getattr(tp, "__name__", str(tp)))


def _plural(text: str) -> str:
    for article in ("a ", "an "):
        if text.startswith(article) and " or " not in text:
            noun, _, rest = text[len(article):].partition(" ")
            return f"{noun}s" + (f" {rest}" if rest else "")
    return text


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls, include_extras=True)


def build(tp: Any, value: Any, key: str = "") -> Any:  # one branch per kind of hint
    """Check ``value`` against the hint ``tp`` and return it in typed form; raises Invalid."""
    origin, args = get_origin(tp), get_args(tp)
    if origin is Annotated:
        try:
            out = build(args[0], value, key)
        except Invalid as exc:  # the value's type is wrong: say what the check expects
            if exc.key != key:
                raise
            raise Invalid(key, describe(tp), value) from None
        for check in args[1:]:
            if isinstance(check, Check) and not check.test(out):
                raise Invalid(key, check.expected, value)
        return out
    if tp is Any or tp is object:
        return value
    if origin is Literal:
        if isinstance(value, bool) or value not in args:
            raise Invalid(key, describe(tp), value)
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arm in args:
            if arm is type(None):
                continue
            try:
                return build(arm, value, key)
            except Invalid as exc:
                if exc.key != key:  # the value fits this arm's shape but fails inside it
                    raise
        raise Invalid(key, describe(tp), value)
    if origin is tuple:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise Invalid(key, describe(tp), value)
        return tuple(build(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise Invalid(key, describe(tp), value)
        out = {}
        for k, v in value.items():
            where = _join(key, str(k))
            out[build(args[0], k, where)] = build(args[1], v, where)
        return out
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(key, "a number", value)
        return float(value)
    if tp is int and isinstance(value, bool):
        raise Invalid(key, "an integer", value)
    if not isinstance(value, tp):
        raise Invalid(key, describe(tp), value)
    return value


def _build_dataclass(cls: Any, value: Any, key: str) -> Any:
    if not isinstance(value, dict):
        raise Invalid(key, "a mapping", value)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(str(k) for k in set(value) - set(fields))
    if unknown:
        raise Invalid(_join(key, unknown[0]), f"one of the keys {sorted(fields)}", value[unknown[0]])
    hints = _hints(cls)
    kwargs = {}
    for name, f in fields.items():
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        raw = value.get(name)
        if raw is None and has_default and not (name in value and f.metadata.get(NULL_IS_A_VALUE)):
            continue
        if name not in value:
            raise Invalid(_join(key, name), f"{describe(hints[name])} (a required key)", None)
        kwargs[name] = build(hints[name], raw, _join(key, name))
    try:
        return cls(**kwargs)
    except Invalid as exc:
        raise Invalid(_join(key, exc.key), exc.expected, exc.got) from None


def parse(schema: type, data: Any, file: str) -> Any:
    """``data`` (parsed YAML/JSON) as an instance of the dataclass ``schema``.

    Raises
    ------
    DataFileError
        Naming ``file``, the key path, the expectation and the value found.
    """
    try:
        return build(schema, data)
    except Invalid as exc:
        raise DataFileError(file, exc.key or "<root>", exc.expected, exc.got) from None


__all__ = ["NULL_IS_A_VALUE", "Check", "Invalid", "build", "describe", "parse"]
